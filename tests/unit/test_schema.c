/*
 * test_schema.c - the Redis schema (lib/schema.c): every key name, the
 * rolling window's buckets, suppression ids, the arguments of the check
 * operation in the order lib/sesgate.lua reads them, and the parsing of
 * its answers.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/sha.h>

#include "config.h"
#include "mem.h"
#include "schema.h"
#include "unit.h"

static const struct {
	const char		*name;
	enum schema_kind	 kind;
	enum schema_level	 level;
	const char		*id;
	const char		*want;
} key_cases[] = {
	{ "identities", SCHEMA_IDENTITIES, SCHEMA_ACCOUNT, NULL,
	    "sesgate:identities" },
	{ "suppression index", SCHEMA_SUPPRESSION_INDEX, SCHEMA_ACCOUNT,
	    NULL, "sesgate:suppressed" },
	{ "stats", SCHEMA_STATS, SCHEMA_ACCOUNT, NULL, "sesgate:stats" },
	{ "identities ignore level and id", SCHEMA_IDENTITIES, SCHEMA_SENDER,
	    "x", "sesgate:identities" },
	{ "suppression entry", SCHEMA_SUPPRESSION, SCHEMA_ACCOUNT,
	    "user@example.com", "sesgate:suppression:user@example.com" },
	{ "pause account", SCHEMA_PAUSE, SCHEMA_ACCOUNT, NULL,
	    "sesgate:pause:account" },
	{ "pause account ignores id", SCHEMA_PAUSE, SCHEMA_ACCOUNT, "x",
	    "sesgate:pause:account" },
	{ "pause domain", SCHEMA_PAUSE, SCHEMA_DOMAIN, "example.com",
	    "sesgate:pause:domain:example.com" },
	{ "pause sender", SCHEMA_PAUSE, SCHEMA_SENDER, "alice",
	    "sesgate:pause:sender:alice" },
	{ "limits account", SCHEMA_LIMITS, SCHEMA_ACCOUNT, NULL,
	    "sesgate:limits:account" },
	{ "limits domain", SCHEMA_LIMITS, SCHEMA_DOMAIN, "example.com",
	    "sesgate:limits:domain:example.com" },
	{ "limits sender", SCHEMA_LIMITS, SCHEMA_SENDER, "alice@example.com",
	    "sesgate:limits:sender:alice@example.com" },
	{ "usage account", SCHEMA_USAGE, SCHEMA_ACCOUNT, NULL,
	    "sesgate:usage:account" },
	{ "usage domain", SCHEMA_USAGE, SCHEMA_DOMAIN, "example.com",
	    "sesgate:usage:domain:example.com" },
	{ "usage sender", SCHEMA_USAGE, SCHEMA_SENDER, "alice",
	    "sesgate:usage:sender:alice" },
};

START_TEST(test_key_cases)
{
	char	out[SCHEMA_KEY_MAX] = "";
	int	r = schema_key(out, sizeof(out), "sesgate:", key_cases[_i].kind,
		    key_cases[_i].level, key_cases[_i].id);

	EXPECT_INT("schema_key", key_cases[_i].name, r, 0);
	EXPECT_STR("schema_key", key_cases[_i].name, out, key_cases[_i].want);
}
END_TEST

START_TEST(test_key_limits)
{
	char	out[SCHEMA_KEY_MAX], id[600];
	char	exact[sizeof("sesgate:pause:sender:alice")];

	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	EXPECT_INT("schema_key", "600-byte id", schema_key(out, sizeof(out),
	    "sesgate:", SCHEMA_PAUSE, SCHEMA_SENDER, id), -1);
	EXPECT_INT("schema_key", "600-byte id, suppression", schema_key(out,
	    sizeof(out), "sesgate:", SCHEMA_SUPPRESSION, SCHEMA_ACCOUNT, id),
	    -1);
	EXPECT_INT("schema_key", "exact fit", schema_key(exact, sizeof(exact),
	    "sesgate:", SCHEMA_PAUSE, SCHEMA_SENDER, "alice"), 0);
	EXPECT_STR("schema_key", "exact fit", exact,
	    "sesgate:pause:sender:alice");
	EXPECT_INT("schema_key", "one byte short", schema_key(exact,
	    sizeof(exact) - 1, "sesgate:", SCHEMA_PAUSE, SCHEMA_SENDER,
	    "alice"), -1);
	/* The longest id the programs use: a 320-byte address under a
	   64-byte prefix. */
	memset(id, 'p', 64);
	id[64] = '\0';
	{
		char addr[ADDR_MAX + 1];

		memset(addr, 'a', ADDR_MAX);
		addr[ADDR_MAX] = '\0';
		EXPECT_INT("schema_key", "longest prefix and address",
		    schema_key(out, sizeof(out), id, SCHEMA_LIMITS,
		    SCHEMA_SENDER, addr), 0);
		EXPECT_INT("schema_key", "longest prefix and address: length",
		    strlen(out), 64 + strlen("limits:sender:") + ADDR_MAX);
	}
	EXPECT_INT("schema_key", "other prefix", schema_key(out, sizeof(out),
	    "mail:", SCHEMA_STATS, SCHEMA_ACCOUNT, NULL), 0);
	EXPECT_STR("schema_key", "other prefix", out, "mail:stats");
	EXPECT_INT("schema_key", "empty prefix", schema_key(out, sizeof(out),
	    "", SCHEMA_USAGE, SCHEMA_DOMAIN, "example.com"), 0);
	EXPECT_STR("schema_key", "empty prefix", out,
	    "usage:domain:example.com");
}
END_TEST

START_TEST(test_levels)
{
	static const char *const names[] = { "account", "domain", "sender" };
	enum schema_level	 l;

	for (int i = 0; i < 3; i++) {
		EXPECT_STR("schema_level_name", names[i],
		    schema_level_name((enum schema_level)i), names[i]);
		l = SCHEMA_ACCOUNT;
		EXPECT_INT("schema_level_parse", names[i],
		    schema_level_parse(names[i], &l), 0);
		EXPECT_INT("schema_level_parse", names[i], l, i);
	}
	EXPECT_INT("schema_level_parse", "Account",
	    schema_level_parse("Account", &l), -1);
	EXPECT_INT("schema_level_parse", "global",
	    schema_level_parse("global", &l), -1);
	EXPECT_INT("schema_level_parse", "empty", schema_level_parse("", &l),
	    -1);
}
END_TEST

START_TEST(test_window)
{
	static const struct {
		const char	*name;
		long long	 window_ms;
		long long	 want_bucket_ms;
		long long	 want_n;
	} cases[] = {
		{ "24h", 86400000, 60000, 1440 },
		{ "1h", 3600000, 2500, 1440 },
		{ "10s", 10000, 1000, 10 },
		{ "1s", 1000, 1000, 1 },
		{ "7d", 604800000, 420000, 1440 },
		{ "1500ms", 1500, 1000, 2 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		long long b = -1, n = -1;

		schema_window(cases[i].window_ms, &b, &n);
		EXPECT_INT("schema_window (bucket_ms)", cases[i].name, b,
		    cases[i].want_bucket_ms);
		EXPECT_INT("schema_window (n)", cases[i].name, n,
		    cases[i].want_n);
	}
}
END_TEST

START_TEST(test_suppression_id)
{
	char out[ADDR_BUFSZ];

	schema_suppression_id("", "user@example.com", out, sizeof(out));
	EXPECT_STR("schema_suppression_id", "no key", out, "user@example.com");
	schema_suppression_id(NULL, "user@example.com", out, sizeof(out));
	EXPECT_STR("schema_suppression_id", "NULL key", out,
	    "user@example.com");
	schema_suppression_id("secret", "user@example.com", out, sizeof(out));
	EXPECT_STR("schema_suppression_id", "key \"secret\"", out,
	    "febca656b1fa2234083628d174f250dd"
	    "85728259017890916cb6ffc0712340de");
}
END_TEST

START_TEST(test_script)
{
	const char	*s = schema_script();
	unsigned char	 md[SHA_DIGEST_LENGTH];
	char		 want[SCHEMA_SHA_BUFSZ], got[SCHEMA_SHA_BUFSZ];

	ck_assert_msg(strstr(s, "if op == 'check' then") != NULL,
	    "schema_script: \"check\": no check operation");
	ck_assert_msg(strstr(s, "op == 'usage'") != NULL,
	    "schema_script: \"usage\": no usage operation");
	ck_assert_msg(strstr(s, "op == 'suppress'") != NULL,
	    "schema_script: \"suppress\": no suppress operation");
	ck_assert_msg(strstr(s, "op == 'unsuppress'") != NULL,
	    "schema_script: \"unsuppress\": no unsuppress operation");
	SHA1((const unsigned char *)s, strlen(s), md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	schema_script_sha(got);
	EXPECT_STR("schema_script_sha", "SHA1 of the script", got, want);
}
END_TEST

/* --- schema_check_argv ------------------------------------------------ */

static void
cf_set(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

static void
argv_expect(const char *name, const struct schema_argv *a,
    const char *const *want, size_t nwant)
{
	for (size_t i = 0; i < nwant && i < (size_t)a->argc; i++) {
		char what[128];

		snprintf(what, sizeof(what), "%s: argv[%zu]", name, i);
		EXPECT_STR("schema_check_argv", what, a->argv[i], want[i]);
		EXPECT_INT("schema_check_argv (len)", what, a->len[i],
		    strlen(want[i]));
	}
	EXPECT_INT("schema_check_argv (argc)", name, a->argc, nwant);
}

/* What a batch of one recipient sends after numkeys: its keys, the shared
   arguments, its own arguments; see the comment at the "check" operation
   of lib/sesgate.lua. */
static void
wire_argv(const char *name, const struct config *cf,
    const struct schema_check *in, struct schema_argv *out)
{
	struct schema_argv r, c;

	EXPECT_INT("schema_check_argv", name, schema_check_argv(cf, in, &r),
	    0);
	EXPECT_INT("schema_check_argv (argc)", name, r.argc,
	    SCHEMA_CHECK_NKEYS + SCHEMA_CHECK_NARGS);
	EXPECT_INT("schema_check_consts", name, schema_check_consts(cf, &c),
	    0);
	EXPECT_INT("schema_check_consts (argc)", name, c.argc,
	    SCHEMA_CHECK_NCONST);
	schema_argv_init(out);
	for (int i = 0; i < SCHEMA_CHECK_NKEYS; i++)
		ck_assert_int_eq(schema_argv_add(out, r.argv[i], r.len[i]), 0);
	for (int i = 0; i < c.argc; i++)
		ck_assert_int_eq(schema_argv_add(out, c.argv[i], c.len[i]), 0);
	for (int i = SCHEMA_CHECK_NKEYS; i < r.argc; i++)
		ck_assert_int_eq(schema_argv_add(out, r.argv[i], r.len[i]), 0);
}

START_TEST(test_check_argv_default)
{
	static const char *const want[] = {
		/* KEYS 1-4: pause of account, sender id, envelope sender,
		   sender domain */
		"sesgate:pause:account",
		"sesgate:pause:sender:alice",
		"sesgate:pause:sender:alice@example.com",
		"sesgate:pause:domain:example.com",
		/* 5 identities, 6 suppression entry, 7 stats */
		"sesgate:identities",
		"sesgate:suppression:bob@example.net",
		"sesgate:stats",
		/* 8-10 limits, 11-13 usage: sender, domain, account */
		"sesgate:limits:sender:alice",
		"sesgate:limits:domain:example.com",
		"sesgate:limits:account",
		"sesgate:usage:sender:alice",
		"sesgate:usage:domain:example.com",
		"sesgate:usage:account",
		/* ARGV 1 op, 2 verify_sender, 3 sandbox, 4 max_recipients,
		   5 window, 6 bucket, 7 buckets */
		"check", "1", "0", "50", "86400000", "60000", "1440",
		/* 8-16 max_24h, max_rate, burst of sender, domain, account */
		"-1", "-1", "0",
		"-1", "-1", "0",
		/* (max_rate in millionths of a message per second) */
		"50000", "14000000", "0",
		/* 17 the name that stands for a key that does not apply */
		"sesgate:none",
		/* the recipient's: sender, its domain, recipient, its domain,
		   count_daily, recipients of the message so far */
		"alice@example.com", "example.com",
		"bob@example.net", "example.net", "1", "3",
	};
	struct config		*cf = config_defaults();
	struct schema_check	 in = {
		"alice@example.com", "alice", "bob@example.net",
		"8a3c.6651f2e4.9d1c2.0", true, 3
	};
	struct schema_argv	 a;

	wire_argv("defaults", cf, &in, &a);
	argv_expect("defaults", &a, want, NELEM(want));
	config_free(&cf);
}
END_TEST

START_TEST(test_check_argv_variants)
{
	static const char *const want[] = {
		"x:pause:account",
		"x:pause:sender:carol@example.org",
		"x:none",		/* envelope sender is the identity */
		"x:pause:domain:example.org",
		"x:identities",
		"x:suppression:ae8d942c626be48b0249875ca2e372dc"
		    "3ea45fe46e38cc7747906329f4e01f1d",
		"x:stats",
		"x:limits:sender:carol@example.org",
		"x:limits:domain:example.org",
		"x:limits:account",
		"x:usage:sender:carol@example.org",
		"x:usage:domain:example.org",
		"x:usage:account",
		"check", "0", "1", "10", "10000", "1000", "10",
		"500", "500000", "2",
		"-1", "3000000", "0",
		"200", "1000000", "0",		/* sandbox, not account */
		"x:none",
		"carol@example.org", "example.org",
		"bob@example.net", "example.net",
		"0", "-1",			/* no message instance */
	};
	struct config		*cf = config_defaults();
	struct schema_check	 in = {
		"carol@example.org", "carol@example.org", "bob@example.net",
		"", false, 7
	};
	struct schema_argv	 a;

	cf_set(&cf->redis_prefix, "x:");
	cf_set(&cf->suppression_hash_key, "secret");
	cf->policyd_verify_sender = false;
	cf->policyd_sandbox = true;
	cf->policyd_max_recipients = 10;
	cf->policyd_quota_window_ms = 10000;
	cf->policyd_sender.max_24h = 500;
	cf->policyd_sender.max_rate = 0.5;
	cf->policyd_sender.burst = 2;
	cf->policyd_domain.max_rate = 3;
	wire_argv("variants", cf, &in, &a);
	argv_expect("variants", &a, want, NELEM(want));
	config_free(&cf);
}
END_TEST

/* A bounce (null sender) from an internal host: no envelope sender pause
   and no sender domain pause to look up, and the domain level's limits
   and usage are kept under "<>", which no domain can be. */
START_TEST(test_check_argv_null_sender)
{
	static const char *const want[] = {
		"sesgate:pause:account",
		"sesgate:pause:sender:<>",
		"sesgate:none",		/* no envelope sender */
		"sesgate:none",		/* no sender domain */
		"sesgate:identities",
		"sesgate:suppression:bob@example.net",
		"sesgate:stats",
		"sesgate:limits:sender:<>",
		"sesgate:limits:domain:<>",
		"sesgate:limits:account",
		"sesgate:usage:sender:<>",
		"sesgate:usage:domain:<>",
		"sesgate:usage:account",
		"check", "1", "0", "50", "86400000", "60000", "1440",
		"-1", "-1", "0",
		"-1", "-1", "0",
		"50000", "14000000", "0",
		"sesgate:none",
		"", "", "bob@example.net", "example.net", "1", "-1",
	};
	struct config		*cf = config_defaults();
	struct schema_check	 in = { "", "<>", "bob@example.net", "", true,
				    0 };
	struct schema_argv	 a;

	wire_argv("null sender", cf, &in, &a);
	argv_expect("null sender", &a, want, NELEM(want));
	config_free(&cf);
}
END_TEST

/* A SASL user sending a bounce: the user's pause and quota, the null
   sender's domain level "<>". */
START_TEST(test_check_argv_null_sender_sasl)
{
	struct config		*cf = config_defaults();
	struct schema_check	 in = { "", "alice", "bob@example.net", "Q1",
				    true, 0 };
	struct schema_argv	 a;

	/* Argument i (0-based: keys, then the recipient's arguments). */
	static const struct {
		int		 i;
		const char	*want;
	} picks[] = {
		{ 1, "sesgate:pause:sender:alice" },
		{ 2, "sesgate:none" },
		{ 3, "sesgate:none" },
		{ 7, "sesgate:limits:sender:alice" },
		{ 8, "sesgate:limits:domain:<>" },
		{ 11, "sesgate:usage:domain:<>" },
		{ 18, "0" },
	};

	EXPECT_INT("schema_check_argv", "null sender, SASL user",
	    schema_check_argv(cf, &in, &a), 0);
	for (size_t k = 0; k < NELEM(picks); k++) {
		char what[64];

		snprintf(what, sizeof(what), "null sender, SASL user: [%d]",
		    picks[k].i);
		EXPECT_STR("schema_check_argv", what, a.argv[picks[k].i],
		    picks[k].want);
	}
	config_free(&cf);
}
END_TEST

/* max_rate goes to the script as an integer count of millionths of a
   message per second (shared ARGV 9, 12, 15). */
START_TEST(test_check_argv_rates)
{
	static const struct {
		const char	*name;
		double		 rate;
		const char	*want;
	} cases[] = {
		{ "14", 14, "14000000" },
		{ "0.5", 0.5, "500000" },
		{ "0.1", 0.1, "100000" },
		{ "1.5", 1.5, "1500000" },
		{ "0.000001", 0.000001, "1" },
		{ "one in a day", 1.0 / 86400, "12" },
		{ "0", 0, "0" },
		{ "1000", 1000, "1000000000" },
		{ "unlimited", CONFIG_UNLIMITED, "-1" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct config		*cf = config_defaults();
		struct schema_argv	 a;
		char			 what[128];

		cf->policyd_sender.max_rate = cases[i].rate;
		cf->policyd_domain.max_rate = cases[i].rate;
		cf->policyd_account.max_rate = cases[i].rate;
		EXPECT_INT("schema_check_consts", cases[i].name,
		    schema_check_consts(cf, &a), 0);
		ck_assert_int_eq(a.argc, SCHEMA_CHECK_NCONST);
		snprintf(what, sizeof(what), "rate %s: sender", cases[i].name);
		EXPECT_STR("schema_check_consts", what, a.argv[8],
		    cases[i].want);
		snprintf(what, sizeof(what), "rate %s: domain", cases[i].name);
		EXPECT_STR("schema_check_consts", what, a.argv[11],
		    cases[i].want);
		snprintf(what, sizeof(what), "rate %s: account", cases[i].name);
		EXPECT_STR("schema_check_consts", what, a.argv[14],
		    cases[i].want);
		config_free(&cf);
	}
}
END_TEST

START_TEST(test_check_argv_too_long)
{
	struct config		*cf = config_defaults();
	char			 id[SCHEMA_KEY_MAX + 1];
	struct schema_check	 in = { "a@example.com", id, "b@example.net",
				    "", true, 0 };
	struct schema_argv	 a;

	/* The longest SASL name decide_request() passes fits... */
	memset(id, 'i', ADDR_MAX);
	id[ADDR_MAX] = '\0';
	EXPECT_INT("schema_check_argv", "320-byte sender id",
	    schema_check_argv(cf, &in, &a), 0);
	EXPECT_INT("schema_check_argv", "320-byte sender id: key length",
	    strlen(a.argv[1]), strlen("sesgate:pause:sender:") + ADDR_MAX);
	/* ...and a key that would be longer than SCHEMA_KEY_MAX is refused,
	   never cut. */
	memset(id, 'i', SCHEMA_KEY_MAX);
	id[SCHEMA_KEY_MAX] = '\0';
	EXPECT_INT("schema_check_argv", "sender id longer than a key",
	    schema_check_argv(cf, &in, &a), -1);
	config_free(&cf);
}
END_TEST

START_TEST(test_argv_builder)
{
	struct schema_argv	a;
	char			big[SCHEMA_KEY_MAX + 8];
	int			i;

	schema_argv_init(&a);
	for (i = 0; i < SCHEMA_ARGV_MAX; i++)
		EXPECT_INT("schema_argv_addf", "within SCHEMA_ARGV_MAX",
		    schema_argv_addf(&a, "%d", i), 0);
	EXPECT_INT("schema_argv_add", "past SCHEMA_ARGV_MAX",
	    schema_argv_add(&a, "x", 1), -1);
	EXPECT_INT("schema_argv_add", "argc", a.argc, SCHEMA_ARGV_MAX);
	EXPECT_STR("schema_argv_add", "argv[47]", a.argv[47], "47");

	schema_argv_init(&a);
	EXPECT_INT("schema_argv_add", "binary", schema_argv_add(&a, "a\0b", 3),
	    0);
	EXPECT_INT("schema_argv_add", "binary: len", a.len[0], 3);
	ck_assert_msg(memcmp(a.argv[0], "a\0b", 4) == 0,
	    "schema_argv_add: \"binary\": bytes differ");
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	EXPECT_INT("schema_argv_addf", "longer than a key",
	    schema_argv_addf(&a, "%s", big), -1);
	EXPECT_INT("schema_argv_addf", "argc after a refusal", a.argc, 1);
}
END_TEST

/* --- schema_check_result ---------------------------------------------- */

static const struct {
	const char		*name;
	size_t			 n;
	const char		*e[4];
	int			 want;
	enum schema_status	 status;
	const char		*arg1, *arg2;
} result_cases[] = {
	{ "accept", 2, { "accept", "3" }, 0, SCHEMA_ACCEPT, "3", "" },
	{ "paused", 3, { "paused", "domain", "abuse report" }, 0,
	    SCHEMA_PAUSED, "domain", "abuse report" },
	{ "unverified_sender", 2, { "unverified_sender", "a@b.example" }, 0,
	    SCHEMA_UNVERIFIED_SENDER, "a@b.example", "" },
	{ "unverified_recipient", 2, { "unverified_recipient",
	    "r@x.example" }, 0, SCHEMA_UNVERIFIED_RECIPIENT, "r@x.example",
	    "" },
	{ "suppressed", 3, { "suppressed", "BOUNCE", "1767323045" }, 0,
	    SCHEMA_SUPPRESSED, "BOUNCE", "1767323045" },
	{ "too_many_recipients", 2, { "too_many_recipients", "50" }, 0,
	    SCHEMA_TOO_MANY_RECIPIENTS, "50", "" },
	{ "quota", 2, { "quota", "sender" }, 0, SCHEMA_QUOTA, "sender", "" },
	{ "rate", 2, { "rate", "account" }, 0, SCHEMA_RATE, "account", "" },
	{ "accept without count", 1, { "accept" }, -1, 0, NULL, NULL },
	{ "paused without reason", 2, { "paused", "account" }, -1, 0, NULL,
	    NULL },
	{ "suppressed without time", 2, { "suppressed", "BOUNCE" }, -1, 0,
	    NULL, NULL },
	{ "quota with two", 3, { "quota", "sender", "x" }, -1, 0, NULL, NULL },
	{ "rate without level", 1, { "rate" }, -1, 0, NULL, NULL },
	{ "unknown", 2, { "reject", "x" }, -1, 0, NULL, NULL },
	{ "upper case", 2, { "ACCEPT", "1" }, -1, 0, NULL, NULL },
	{ "empty reply", 0, { NULL }, -1, 0, NULL, NULL },
	{ "NULL status", 2, { NULL, "x" }, -1, 0, NULL, NULL },
};

START_TEST(test_result_cases)
{
	struct schema_result	r = { SCHEMA_RATE, NULL, NULL };
	int			got = schema_check_result(result_cases[_i].n,
				    result_cases[_i].e, &r);

	EXPECT_INT("schema_check_result", result_cases[_i].name, got,
	    result_cases[_i].want);
	if (got != 0)
		return;
	EXPECT_INT("schema_check_result (status)", result_cases[_i].name,
	    r.status, result_cases[_i].status);
	EXPECT_STR("schema_check_result (arg1)", result_cases[_i].name,
	    r.arg1, result_cases[_i].arg1);
	EXPECT_STR("schema_check_result (arg2)", result_cases[_i].name,
	    r.arg2, result_cases[_i].arg2);
}
END_TEST

Suite *
schema_suite(void)
{
	Suite	*s = suite_create("schema");
	TCase	*tc = tcase_create("schema");

	tcase_add_loop_test(tc, test_key_cases, 0, (int)NELEM(key_cases));
	tcase_add_test(tc, test_key_limits);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_suppression_id);
	tcase_add_test(tc, test_script);
	tcase_add_test(tc, test_check_argv_default);
	tcase_add_test(tc, test_check_argv_variants);
	tcase_add_test(tc, test_check_argv_null_sender);
	tcase_add_test(tc, test_check_argv_null_sender_sasl);
	tcase_add_test(tc, test_check_argv_rates);
	tcase_add_test(tc, test_check_argv_too_long);
	tcase_add_test(tc, test_argv_builder);
	tcase_add_loop_test(tc, test_result_cases, 0, (int)NELEM(result_cases));
	suite_add_tcase(s, tc);
	return s;
}
