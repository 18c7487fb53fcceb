/*
 * test_cidr.c - network lists (lib/cidr.c): IPv4, IPv6, IPv4-mapped
 * addresses from dual-stack sockets, /0, bad entries and the list's text.
 */
#include "cidr.h"
#include "unit.h"

static const struct {
	const char	*name;
	const char	*list;
	const char	*addr;
	int		 want;
} match_cases[] = {
	{ "IPv4 inside", "192.0.2.0/24", "192.0.2.1", 1 },
	{ "IPv4 last", "192.0.2.0/24", "192.0.2.255", 1 },
	{ "IPv4 outside", "192.0.2.0/24", "192.0.3.1", 0 },
	{ "IPv4 /25 upper half", "192.0.2.128/25", "192.0.2.128", 1 },
	{ "IPv4 /25 lower half", "192.0.2.128/25", "192.0.2.127", 0 },
	{ "IPv4 host bits ignored", "192.0.2.77/24", "192.0.2.3", 1 },
	{ "IPv4 /1", "128.0.0.0/1", "200.1.1.1", 1 },
	{ "IPv4 /1 outside", "128.0.0.0/1", "100.1.1.1", 0 },
	{ "IPv4 bare address", "192.0.2.1", "192.0.2.1", 1 },
	{ "IPv4 bare address, other", "192.0.2.1", "192.0.2.2", 0 },
	{ "IPv4 /32", "192.0.2.1/32", "192.0.2.1", 1 },
	{ "IPv4 /0", "0.0.0.0/0", "203.0.113.9", 1 },
	{ "IPv4 /0 and mapped", "0.0.0.0/0", "::ffff:203.0.113.9", 1 },
	{ "IPv4 /0 not IPv6", "0.0.0.0/0", "2001:db8::1", 0 },
	{ "IPv4 net and IPv6 loopback", "127.0.0.0/8", "::1", 0 },
	{ "mapped inside", "192.0.2.0/24", "::ffff:192.0.2.7", 1 },
	{ "mapped outside", "192.0.2.0/24", "::ffff:192.0.3.7", 0 },
	{ "mapped loopback", "127.0.0.0/8", "::ffff:127.0.0.1", 1 },
	{ "IPv6 inside", "2001:db8::/32", "2001:db8:1::5", 1 },
	{ "IPv6 outside", "2001:db8::/32", "2001:db9::1", 0 },
	{ "IPv6 /65 inside", "2001:db8::/65",
	    "2001:db8::7fff:ffff:ffff:ffff", 1 },
	{ "IPv6 /65 outside", "2001:db8::/65", "2001:db8::8000:0:0:0", 0 },
	{ "IPv6 bare", "::1", "::1", 1 },
	{ "IPv6 bare, other", "::1", "::2", 0 },
	{ "IPv6 /0", "::/0", "2001:db8::1", 1 },
	{ "IPv6 upper case", "2001:DB8::/32", "2001:db8::1", 1 },
	{ "several, second", "10.0.0.0/8, 2001:db8::/32 192.168.0.0/16",
	    "2001:db8::9", 1 },
	{ "several, third", "10.0.0.0/8, 2001:db8::/32 192.168.0.0/16",
	    "192.168.4.4", 1 },
	{ "several, none", "10.0.0.0/8, 2001:db8::/32 192.168.0.0/16",
	    "172.16.0.1", 0 },
	{ "empty list", "", "127.0.0.1", 0 },
	{ "unparsable address", "0.0.0.0/0", "localhost", 0 },
	{ "empty address", "0.0.0.0/0", "", 0 },
	{ "address with prefix length", "0.0.0.0/0", "10.0.0.1/8", 0 },
};

START_TEST(test_match_cases)
{
	char			 err[128] = "";
	struct cidr_list	*l = cidr_list_parse(match_cases[_i].list,
				    err, sizeof(err));

	ck_assert_msg(l != NULL, "cidr_list_parse: \"%s\": %s",
	    match_cases[_i].name, err);
	EXPECT_INT("cidr_list_match", match_cases[_i].name,
	    cidr_list_match(l, match_cases[_i].addr), match_cases[_i].want);
	cidr_list_free(&l);
	ck_assert_ptr_null(l);
}
END_TEST

static const struct {
	const char	*list;
	const char	*want_err;
} bad_cases[] = {
	{ "10.0.0.0/33", "not an address or network: \"10.0.0.0/33\"" },
	{ "::/129", "not an address or network: \"::/129\"" },
	{ "10.0.0.0/-1", "not an address or network: \"10.0.0.0/-1\"" },
	{ "10.0.0.0/", "not an address or network: \"10.0.0.0/\"" },
	{ "10.0.0.0/8x", "not an address or network: \"10.0.0.0/8x\"" },
	{ "10.0.0.0/8/9", "not an address or network: \"10.0.0.0/8/9\"" },
	{ "10.0.0.256", "not an address or network: \"10.0.0.256\"" },
	{ "10.0.0", "not an address or network: \"10.0.0\"" },
	{ "localhost", "not an address or network: \"localhost\"" },
	{ "/8", "not an address or network: \"/8\"" },
	{ "2001:db8:::/32", "not an address or network: \"2001:db8:::/32\"" },
	{ "127.0.0.1, ::1; 10.0.0.0/8",
	    "not an address or network: \"::1;\"" },
};

START_TEST(test_bad_cases)
{
	char			 err[128] = "";
	struct cidr_list	*l = cidr_list_parse(bad_cases[_i].list, err,
				    sizeof(err));

	ck_assert_msg(l == NULL, "cidr_list_parse: \"%s\": got a list, want "
	    "NULL", bad_cases[_i].list);
	EXPECT_STR("cidr_list_parse", bad_cases[_i].list, err,
	    bad_cases[_i].want_err);
}
END_TEST

START_TEST(test_text)
{
	static const struct {
		const char	*list;
		size_t		 want_count;
		const char	*want_text;
	} cases[] = {
		{ "", 0, "" },
		{ " , ", 0, "" },
		{ "127.0.0.0/8", 1, "127.0.0.0/8" },
		{ "127.0.0.0/8, ::1", 2, "127.0.0.0/8, ::1" },
		{ "  10.0.0.0/8,172.16.0.0/12\t192.168.0.0/16 ", 3,
		    "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char			 err[128] = "";
		struct cidr_list	*l = cidr_list_parse(cases[i].list,
					    err, sizeof(err));

		ck_assert_msg(l != NULL, "cidr_list_parse: \"%s\": %s",
		    cases[i].list, err);
		EXPECT_INT("cidr_list_count", cases[i].list,
		    cidr_list_count(l), cases[i].want_count);
		EXPECT_STR("cidr_list_text", cases[i].list,
		    cidr_list_text(l), cases[i].want_text);
		cidr_list_free(&l);
	}
	EXPECT_INT("cidr_list_count", "NULL", cidr_list_count(NULL), 0);
	EXPECT_STR("cidr_list_text", "NULL", cidr_list_text(NULL), "");
	EXPECT_INT("cidr_list_match", "NULL", cidr_list_match(NULL,
	    "127.0.0.1"), 0);
}
END_TEST

Suite *
cidr_suite(void)
{
	Suite	*s = suite_create("cidr");
	TCase	*tc = tcase_create("cidr");

	tcase_add_loop_test(tc, test_match_cases, 0, (int)NELEM(match_cases));
	tcase_add_loop_test(tc, test_bad_cases, 0, (int)NELEM(bad_cases));
	tcase_add_test(tc, test_text);
	suite_add_tcase(s, tc);
	return s;
}
