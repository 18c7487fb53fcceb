/*
 * test_fromhdr.c - the addresses of a From field (milter/fromhdr.c): the
 * address-list forms of RFC 5322, each case naming the form it shows.
 */
#include <stdio.h>

#include "../../milter/fromhdr.h"
#include "unit.h"

static const struct {
	const char	*name;
	const char	*value;
	size_t		 n, bad;
	const char	*first, *second;
} from_cases[] = {
	{ "addr-spec", "alice@example.com", 1, 0, "alice@example.com", NULL },
	{ "leading space and case", " Alice@Example.COM", 1, 0,
	    "alice@example.com", NULL },
	{ "name-addr", "Alice Liddell <alice@example.com>", 1, 0,
	    "alice@example.com", NULL },
	{ "quoted display name with comma and <>",
	    "\"Liddell, Alice <boss>\" <alice@example.com>", 1, 0,
	    "alice@example.com", NULL },
	{ "comment with parentheses", "alice@example.com (Alice (the "
	    "first))", 1, 0, "alice@example.com", NULL },
	{ "comment holding an address", "(bob@evil.example) "
	    "alice@example.com", 1, 0, "alice@example.com", NULL },
	{ "two mailboxes", "a@one.example, B <b@two.example>", 2, 0,
	    "a@one.example", "b@two.example" },
	{ "group", "friends: a@one.example, b@two.example;", 2, 0,
	    "a@one.example", "b@two.example" },
	{ "empty group", "undisclosed-recipients:;", 0, 0, NULL, NULL },
	{ "folded", "Alice\r\n\t<alice@example.com>", 1, 0,
	    "alice@example.com", NULL },
	{ "encoded word display name", "=?utf-8?Q?Al=C3=AFce?= "
	    "<alice@example.com>", 1, 0, "alice@example.com", NULL },
	{ "quoted local part", "\"al ice\"@example.com", 1, 0,
	    "\"al ice\"@example.com", NULL },
	{ "source route", "<@relay.example:alice@example.com>", 1, 0,
	    "alice@example.com", NULL },
	{ "no domain", "alice", 0, 1, NULL, NULL },
	{ "empty angle", "Nobody <>", 0, 1, NULL, NULL },
	{ "empty value", "", 0, 0, NULL, NULL },
	{ "unterminated quote", "\"Alice <alice@example.com>", 0, 1, NULL,
	    NULL },
	{ "unterminated angle", "Alice <alice@example.com", 1, 0,
	    "alice@example.com", NULL },
};

START_TEST(test_from_cases)
{
	struct fromhdr	f;
	size_t		n = fromhdr_parse(from_cases[_i].value, &f);

	EXPECT_INT("fromhdr_parse", from_cases[_i].name, n,
	    from_cases[_i].n);
	EXPECT_INT("fromhdr_parse (bad)", from_cases[_i].name, f.bad,
	    from_cases[_i].bad);
	if (from_cases[_i].first != NULL)
		EXPECT_STR("fromhdr_parse (first)", from_cases[_i].name,
		    f.addr[0], from_cases[_i].first);
	if (from_cases[_i].second != NULL)
		EXPECT_STR("fromhdr_parse (second)", from_cases[_i].name,
		    f.addr[1], from_cases[_i].second);
}
END_TEST

/* More addresses than are kept are still counted. */
START_TEST(test_from_many)
{
	char		v[4096] = "";
	size_t		off = 0;
	struct fromhdr	f;

	for (int i = 0; i < 20; i++)
		off += (size_t)snprintf(v + off, sizeof(v) - off,
		    "%su%d@example.com", i ? ", " : "", i);
	EXPECT_INT("fromhdr_parse", "20 mailboxes", fromhdr_parse(v, &f), 20);
	EXPECT_STR("fromhdr_parse", "20 mailboxes: last kept",
	    f.addr[FROMHDR_MAX - 1], "u7@example.com");
}
END_TEST

Suite *
fromhdr_suite(void)
{
	Suite	*s = suite_create("fromhdr");
	TCase	*tc = tcase_create("fromhdr");

	tcase_add_loop_test(tc, test_from_cases, 0, NELEM(from_cases));
	tcase_add_test(tc, test_from_many);
	suite_add_tcase(s, tc);
	return s;
}
