/*
 * test_addr.c - address, domain and identity normalisation and the keyed
 * hash of the suppression list (lib/addr.c).
 */
#include "addr.h"
#include "unit.h"

/* 64-byte local part + '@' + a domain of `domain_len` bytes. */
static void
addr_long(char *out, size_t domain_len)
{
	size_t o = 0;

	memset(out, 'a', 64);
	o = 64;
	out[o++] = '@';
	for (size_t i = 0; i < domain_len; i++)
		out[o++] = (i % 10 == 9) ? '.' : 'b';
	out[o - 1] = 'c';
	out[o] = '\0';
}

static const struct {
	const char	*name;
	const char	*in;
	int		 want;
	const char	*want_out;
} normalise_cases[] = {
	{ "plain", "user@example.com", 0, "user@example.com" },
	{ "case", "User.Name@Example.COM", 0, "user.name@example.com" },
	{ "angle brackets", "<user@example.com>", 0, "user@example.com" },
	{ "spaces around", "  <User@Example.com> \t", 0, "user@example.com" },
	{ "trailing dot", "user@example.com.", 0, "user@example.com" },
	{ "trailing dot in brackets", "<user@example.com.>", 0,
	    "user@example.com" },
	{ "quoted local part with space", "\"John Doe\"@Example.com", 0,
	    "\"john doe\"@example.com" },
	{ "wildcard kept", "*@example.com", 0, "*@example.com" },
	{ "plus kept", "user+tag@example.com", 0, "user+tag@example.com" },
	{ "last '@' splits", "\"a@b\"@example.com", 0,
	    "\"a@b\"@example.com" },
	{ "8-bit bytes kept", "J\xc3\xb6rg@Example.com", 0,
	    "j\xc3\xb6rg@example.com" },
	{ "no '@'", "user.example.com", -1, NULL },
	{ "empty", "", -1, NULL },
	{ "only spaces", "   ", -1, NULL },
	{ "null sender", "<>", -1, NULL },
	{ "empty local part", "@example.com", -1, NULL },
	{ "empty domain", "user@", -1, NULL },
	{ "domain only a dot", "user@.", -1, NULL },
	{ "domain starts with a dot", "user@.example.com", -1, NULL },
	{ "control character", "user@exa\001mple.com", -1, NULL },
	{ "tab inside", "us\ter@example.com", -1, NULL },
	{ "DEL", "user\177@example.com", -1, NULL },
	{ "newline", "user@example.com\nX-Injected: 1", -1, NULL },
};

START_TEST(test_normalise_cases)
{
	char	out[ADDR_BUFSZ] = "unchanged";
	int	r = addr_normalise(normalise_cases[_i].in, out, sizeof(out));

	EXPECT_INT("addr_normalise", normalise_cases[_i].name, r,
	    normalise_cases[_i].want);
	if (r == 0)
		EXPECT_STR("addr_normalise", normalise_cases[_i].name, out,
		    normalise_cases[_i].want_out);
}
END_TEST

START_TEST(test_normalise_length)
{
	char	in[400], out[ADDR_BUFSZ];
	char	small[8];

	addr_long(in, 255);			/* 320 bytes */
	EXPECT_INT("addr_normalise", "320 bytes: length", strlen(in), 320);
	EXPECT_INT("addr_normalise", "320 bytes", addr_normalise(in, out,
	    sizeof(out)), 0);
	EXPECT_STR("addr_normalise", "320 bytes", out, in);
	addr_long(in, 256);			/* 321 bytes */
	EXPECT_INT("addr_normalise", "321 bytes", addr_normalise(in, out,
	    sizeof(out)), -1);
	addr_long(in, 300);
	EXPECT_INT("addr_normalise", "365 bytes", addr_normalise(in, out,
	    sizeof(out)), -1);
	/* Brackets and spaces do not count. */
	addr_long(in + 3, 255);
	memcpy(in, "  <", 3);
	memcpy(in + 323, ">  ", 4);
	EXPECT_INT("addr_normalise", "320 bytes in brackets",
	    addr_normalise(in, out, sizeof(out)), 0);
	EXPECT_INT("addr_normalise", "320 bytes in brackets: length",
	    strlen(out), 320);
	EXPECT_INT("addr_normalise", "output buffer too small",
	    addr_normalise("user@example.com", small, sizeof(small)), -1);
}
END_TEST

static const struct {
	const char	*name;
	const char	*in;
	int		 want;
	const char	*want_out;
} domain_cases[] = {
	{ "plain", "example.com", 0, "example.com" },
	{ "case and trailing dot", "Mail.Example.COM.", 0,
	    "mail.example.com" },
	{ "spaces around", " example.com ", 0, "example.com" },
	{ "digits, hyphen, underscore", "_dmarc.mx-1.example", 0,
	    "_dmarc.mx-1.example" },
	{ "single label", "localhost", 0, "localhost" },
	{ "empty", "", -1, NULL },
	{ "only a dot", ".", -1, NULL },
	{ "empty label", "example..com", -1, NULL },
	{ "leading dot", ".example.com", -1, NULL },
	{ "two trailing dots", "example.com..", -1, NULL },
	{ "space inside", "exa mple.com", -1, NULL },
	{ "address", "user@example.com", -1, NULL },
	{ "wildcard", "*.example.com", -1, NULL },
	{ "8-bit", "b\xc3\xbc" "cher.example", -1, NULL },
	{ "control character", "example\001.com", -1, NULL },
};

START_TEST(test_domain_cases)
{
	char	out[ADDR_BUFSZ] = "unchanged";
	int	r = addr_normalise_domain(domain_cases[_i].in, out,
		    sizeof(out));

	EXPECT_INT("addr_normalise_domain", domain_cases[_i].name, r,
	    domain_cases[_i].want);
	if (r == 0)
		EXPECT_STR("addr_normalise_domain", domain_cases[_i].name, out,
		    domain_cases[_i].want_out);
}
END_TEST

START_TEST(test_domain_length)
{
	char	in[300], out[ADDR_BUFSZ];

	/* Labels of 63 and 64 bytes. */
	memset(in, 'a', 63);
	memcpy(in + 63, ".example", 9);
	EXPECT_INT("addr_normalise_domain", "63-byte label",
	    addr_normalise_domain(in, out, sizeof(out)), 0);
	memset(in, 'a', 64);
	memcpy(in + 64, ".example", 9);
	EXPECT_INT("addr_normalise_domain", "64-byte label",
	    addr_normalise_domain(in, out, sizeof(out)), -1);
	/* 253 and 254 bytes in labels of 9 and a dot. */
	for (size_t i = 0; i < 254; i++)
		in[i] = (i % 10 == 9) ? '.' : 'a';
	in[253] = '\0';
	EXPECT_INT("addr_normalise_domain", "253 bytes",
	    addr_normalise_domain(in, out, sizeof(out)), 0);
	in[253] = 'a';
	in[254] = '\0';
	EXPECT_INT("addr_normalise_domain", "254 bytes",
	    addr_normalise_domain(in, out, sizeof(out)), -1);
	/* A trailing dot does not count. */
	in[253] = '.';
	EXPECT_INT("addr_normalise_domain", "253 bytes and a trailing dot",
	    addr_normalise_domain(in, out, sizeof(out)), 0);
	EXPECT_INT("addr_normalise_domain", "253 bytes and a trailing dot: "
	    "length", strlen(out), 253);
}
END_TEST

START_TEST(test_identity)
{
	static const struct {
		const char	*name;
		const char	*in;
		int		 want;
		const char	*want_out;
	} cases[] = {
		{ "address", "<Alice@Example.COM>", 0, "alice@example.com" },
		{ "domain", "Example.COM.", 0, "example.com" },
		{ "bad address", "alice@", -1, NULL },
		{ "bad domain", "exa mple.com", -1, NULL },
		{ "empty", "", -1, NULL },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char	out[ADDR_BUFSZ] = "";
		int	r = addr_normalise_identity(cases[i].in, out,
			    sizeof(out));

		EXPECT_INT("addr_normalise_identity", cases[i].name, r,
		    cases[i].want);
		if (r == 0)
			EXPECT_STR("addr_normalise_identity", cases[i].name,
			    out, cases[i].want_out);
	}
}
END_TEST

START_TEST(test_domain_of)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "user@example.com", "example.com" },
		{ "\"a@b\"@example.org", "example.org" },
		{ "example.net", "example.net" },
		{ "", "" },
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		EXPECT_STR("addr_domain", cases[i].in, addr_domain(cases[i].in),
		    cases[i].want);
}
END_TEST

/* Vectors from `printf '%s' ADDR | openssl dgst -sha256 -hmac KEY`. */
START_TEST(test_hash)
{
	static const struct {
		const char	*key;
		const char	*addr;
		const char	*want;
	} cases[] = {
		{ "secret", "user@example.com",
		    "febca656b1fa2234083628d174f250dd"
		    "85728259017890916cb6ffc0712340de" },
		{ "secret", "bob@example.net",
		    "ae8d942c626be48b0249875ca2e372dc"
		    "3ea45fe46e38cc7747906329f4e01f1d" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char out[ADDR_HASH_BUFSZ];

		memset(out, 'x', sizeof(out));
		addr_hash(cases[i].key, cases[i].addr, out);
		EXPECT_STR("addr_hash", cases[i].addr, out, cases[i].want);
		EXPECT_INT("addr_is_hash", cases[i].addr, addr_is_hash(out),
		    1);
	}
}
END_TEST

START_TEST(test_is_hash)
{
	static const struct {
		const char	*name;
		const char	*in;
		int		 want;
	} cases[] = {
		{ "64 hex digits", "febca656b1fa2234083628d174f250dd"
		    "85728259017890916cb6ffc0712340de", 1 },
		{ "upper case", "FEBCA656B1FA2234083628D174F250DD"
		    "85728259017890916CB6FFC0712340DE", 0 },
		{ "63 digits", "febca656b1fa2234083628d174f250dd"
		    "85728259017890916cb6ffc0712340d", 0 },
		{ "65 digits", "febca656b1fa2234083628d174f250dd"
		    "85728259017890916cb6ffc0712340de0", 0 },
		{ "not hex", "gebca656b1fa2234083628d174f250dd"
		    "85728259017890916cb6ffc0712340de", 0 },
		{ "address", "user@example.com", 0 },
		{ "empty", "", 0 },
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		EXPECT_INT("addr_is_hash", cases[i].name,
		    addr_is_hash(cases[i].in), cases[i].want);
}
END_TEST

Suite *
addr_suite(void)
{
	Suite	*s = suite_create("addr");
	TCase	*tc = tcase_create("addr");

	tcase_add_loop_test(tc, test_normalise_cases, 0,
	    (int)NELEM(normalise_cases));
	tcase_add_test(tc, test_normalise_length);
	tcase_add_loop_test(tc, test_domain_cases, 0, (int)NELEM(domain_cases));
	tcase_add_test(tc, test_domain_length);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_domain_of);
	tcase_add_test(tc, test_hash);
	tcase_add_test(tc, test_is_hash);
	suite_add_tcase(s, tc);
	return s;
}
