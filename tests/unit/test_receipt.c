/*
 * test_receipt.c - receipt rules (lib/receipt.c): the forms SES allows,
 * each kind of bad line with its reason, and recipient matching by
 * address, domain, .domain and *.
 */
#include <stdio.h>

#include "receipt.h"
#include "unit.h"

static const struct {
	const char	*name;
	const char	*line;
	size_t		 nrcpts;
	size_t		 nact;
} good_cases[] = {
	{ "bounce", "gone old@example.com bounce 550 5.1.1 Mailbox does "
	    "not exist", 1, 1 },
	{ "temporary bounce", "later * bounce 450 4.0.0 Try later", 0, 1 },
	{ "several actions", "support support@example.com,example.org "
	    "add_header X-Team: support; notify inbound; stop", 2, 3 },
	{ "subdomains", "drop .lists.example.com stop", 1, 1 },
	{ "name with dot and dash", "a.b-c_d * stop", 0, 1 },
	{ "ten actions", "ten * stop; stop; stop; stop; stop; stop; stop; "
	    "stop; stop; stop", 0, 10 },
	{ "header value with colon", "h * add_header X-Url: http://x.example/",
	    0, 1 },
	{ "stream with colon", "n * notify team:inbound", 0, 1 },
};

START_TEST(test_good_cases)
{
	struct receipt_rule	r;
	char			why[256] = "";

	EXPECT_INT("receipt_rule_parse", good_cases[_i].name,
	    receipt_rule_parse(good_cases[_i].line, &r, why, sizeof(why)), 0);
	EXPECT_STR("receipt_rule_parse", good_cases[_i].name, why, "");
	EXPECT_INT("receipt_rule_parse nrcpts", good_cases[_i].name,
	    r.nrcpts, good_cases[_i].nrcpts);
	EXPECT_INT("receipt_rule_parse nact", good_cases[_i].name, r.nact,
	    good_cases[_i].nact);
	receipt_rule_clear(&r);
	EXPECT_INT("receipt_rule_clear", good_cases[_i].name, r.nact, 0);
}
END_TEST

START_TEST(test_parsed_fields)
{
	struct receipt_rule	r;
	char			why[256] = "";

	ck_assert_int_eq(receipt_rule_parse("Gone OLD@Example.COM bounce 550 "
	    "5.1.1  Mailbox  does not exist ; add_header X-A:  v ; notify s1",
	    &r, why, sizeof(why)), 0);
	EXPECT_STR("receipt_rule_parse", "name", r.name, "Gone");
	EXPECT_STR("receipt_rule_parse", "recipient lower case", r.rcpts[0],
	    "old@example.com");
	EXPECT_INT("receipt_rule_parse", "bounce", r.act[0].type,
	    RECEIPT_BOUNCE);
	EXPECT_STR("receipt_rule_parse", "rcode", r.act[0].rcode, "550");
	EXPECT_STR("receipt_rule_parse", "xcode", r.act[0].xcode, "5.1.1");
	EXPECT_STR("receipt_rule_parse", "text", r.act[0].text,
	    "Mailbox  does not exist");
	EXPECT_STR("receipt_rule_parse", "header name", r.act[1].name, "X-A");
	EXPECT_STR("receipt_rule_parse", "header value", r.act[1].text, "v");
	EXPECT_STR("receipt_rule_parse", "stream", r.act[2].name, "s1");
	receipt_rule_clear(&r);
}
END_TEST

static const struct {
	const char	*line;
	const char	*want;
} bad_cases[] = {
	{ "", "want NAME RECIPIENTS ACTION [; ACTION ...]" },
	{ "r *", "want NAME RECIPIENTS ACTION [; ACTION ...]" },
	{ "-r * stop", "want a rule name of letters, digits, '_', '-' and '.', "
	    "starting and ending with a letter or digit, at most 64" },
	{ "r/1 * stop", "want a rule name of letters, digits, '_', '-' and "
	    "'.', starting and ending with a letter or digit, at most 64" },
	{ "r a@ stop", "want recipients as *, or addresses, domains and "
	    ".domains separated by commas" },
	{ "r localhost stop", "want recipients as *, or addresses, domains "
	    "and .domains separated by commas" },
	{ "r a@b@example.com stop", "want recipients as *, or addresses, "
	    "domains and .domains separated by commas" },
	{ "r , stop", "want recipients as *, or addresses, domains and "
	    ".domains separated by commas" },
	{ "r a.example,,b.example stop", "want recipients as *, or "
	    "addresses, domains and .domains separated by commas" },
	{ "r a.example, stop", "want recipients as *, or addresses, domains "
	    "and .domains separated by commas" },
	{ "r * reject", "unknown action (want bounce, add_header, stop or "
	    "notify)" },
	{ "r * bounce 250 2.0.0 ok", "bounce: want a 4xx or 5xx reply code" },
	{ "r * bounce 55 5.1.1 x", "bounce: want a 4xx or 5xx reply code" },
	{ "r * bounce 550 4.1.1 x", "bounce: want an enhanced status code of "
	    "the reply code's class (such as 550 5.1.1)" },
	{ "r * bounce 550 5.1 x", "bounce: want an enhanced status code of "
	    "the reply code's class (such as 550 5.1.1)" },
	{ "r * bounce 550 5.1.1", "bounce: want a reply text (printable, at "
	    "most 400 characters)" },
	{ "r * add_header X-A", "add_header: want NAME: VALUE" },
	{ "r * add_header X_A: v", "add_header: want a header name of 1 to "
	    "50 letters, digits and '-'" },
	{ "r * add_header : v", "add_header: want a header name of 1 to 50 "
	    "letters, digits and '-'" },
	{ "r * stop now", "stop takes no argument" },
	{ "r * notify", "notify: want a stream name (letters, digits, '_', "
	    "'-', '.', ':'; at most 64)" },
	{ "r * notify a b", "notify: want a stream name (letters, digits, "
	    "'_', '-', '.', ':'; at most 64)" },
	{ "r * ;", "want NAME RECIPIENTS ACTION [; ACTION ...]" },
	{ "r * stop; ; stop", "empty action" },
	{ "r * stop; stop; stop; stop; stop; stop; stop; stop; stop; stop; "
	    "stop", "more than 10 actions" },
};

START_TEST(test_bad_cases)
{
	struct receipt_rule	r;
	char			why[256] = "";

	EXPECT_INT("receipt_rule_parse", bad_cases[_i].line,
	    receipt_rule_parse(bad_cases[_i].line, &r, why, sizeof(why)), -1);
	EXPECT_STR("receipt_rule_parse", bad_cases[_i].line, why,
	    bad_cases[_i].want);
	EXPECT_INT("receipt_rule_parse: left empty", bad_cases[_i].line,
	    r.nact + r.nrcpts, 0);
}
END_TEST

static const struct {
	const char	*rcpts;
	const char	*rcpt;
	bool		 want;
} match_cases[] = {
	{ "*", "<anyone@anywhere.example>", true },
	{ "a@example.com", "<A@Example.COM>", true },
	{ "a@example.com", "a@example.com", true },
	{ "a@example.com", "<b@example.com>", false },
	{ "example.com", "<b@example.com>", true },
	{ "example.com", "<b@sub.example.com>", false },
	{ ".example.com", "<b@sub.example.com>", true },
	{ ".example.com", "<b@a.b.example.com>", true },
	{ ".example.com", "<b@example.com>", false },
	{ ".example.com", "<b@badexample.com>", false },
	{ "example.com", "<b@badexample.com>", false },
	{ "x@y.example,example.com", "<q@example.com>", true },
	{ "example.com", "<>", false },
	{ "example.com", "no-at-sign", false },
};

START_TEST(test_match_cases)
{
	struct receipt_rule	r;
	char			line[256], why[256] = "";

	snprintf(line, sizeof(line), "r %s stop", match_cases[_i].rcpts);
	ck_assert_int_eq(receipt_rule_parse(line, &r, why, sizeof(why)), 0);
	EXPECT_INT("receipt_rule_matches", match_cases[_i].rcpt,
	    receipt_rule_matches(&r, match_cases[_i].rcpt),
	    match_cases[_i].want);
	receipt_rule_clear(&r);
}
END_TEST

Suite *
receipt_suite(void)
{
	Suite	*s = suite_create("receipt");
	TCase	*tc = tcase_create("receipt");

	tcase_add_loop_test(tc, test_good_cases, 0, (int)NELEM(good_cases));
	tcase_add_test(tc, test_parsed_fields);
	tcase_add_loop_test(tc, test_bad_cases, 0, (int)NELEM(bad_cases));
	tcase_add_loop_test(tc, test_match_cases, 0, (int)NELEM(match_cases));
	suite_add_tcase(s, tc);
	return s;
}
