/*
 * test_authres.c - the Authentication-Results field (milter/authres.c):
 * its exact form for SPF, each DKIM signature and DMARC, values that must
 * be quoted, and which existing fields count as ours.
 */
#include "../../milter/authres.h"
#include "unit.h"

START_TEST(test_format)
{
	struct authres_spf	spf = { .result = AUTH_PASS,
				    .identity = "a@example.org" };
	struct authres_dkim	dk[2] = {
		{ .result = AUTH_PASS, .d = "example.org", .s = "sel",
		  .a = "rsa-sha256", .b = "AbCd/+12" },
		{ .result = AUTH_FAIL, .reason = "body hash mismatch",
		  .d = "x.example", .s = "s2", .a = "ed25519-sha256",
		  .b = "zz" },
	};
	struct authres_dmarc	dm = { .result = AUTH_FAIL,
				    .from = "example.org",
				    .policy = DISP_REJECT,
				    .dis = DISP_QUARANTINE };
	struct buf		b = BUF_INIT;

	authres_format(&b, "mx.example.net", &spf, dk, 2, &dm);
	EXPECT_STR("authres_format", "full", b.data, "mx.example.net;\n"
	    "\tspf=pass smtp.mailfrom=a@example.org;\n"
	    "\tdkim=pass header.d=example.org header.s=sel "
	    "header.a=rsa-sha256 header.b=AbCd/+12;\n"
	    "\tdkim=fail (body hash mismatch) header.d=x.example header.s=s2 "
	    "header.a=ed25519-sha256 header.b=zz;\n"
	    "\tdmarc=fail (p=reject dis=quarantine) header.from=example.org");
	buf_free(&b);
}
END_TEST

START_TEST(test_format_none)
{
	struct authres_spf	spf = { .result = AUTH_NONE, .helo = true,
				    .identity = "mail.example.org" };
	struct authres_dmarc	dm = { .result = AUTH_PERMERROR };
	struct buf		b = BUF_INIT;

	authres_format(&b, "mx", &spf, NULL, 0, &dm);
	EXPECT_STR("authres_format", "helo, no signature, no From", b.data,
	    "mx;\n\tspf=none smtp.helo=mail.example.org;\n\tdkim=none;\n"
	    "\tdmarc=permerror");
	buf_free(&b);
}
END_TEST

START_TEST(test_format_quotes)
{
	struct authres_spf	spf = { .result = AUTH_FAIL,
				    .identity = "\"a; dkim=pass\"@x.example" };
	struct authres_dkim	dk = { .result = AUTH_NEUTRAL,
				    .reason = "bad signature",
				    .d = "x.example\r\nX-Evil: 1" };
	struct authres_dmarc	dm = { .result = AUTH_NONE,
				    .from = "x.example" };
	struct buf		b = BUF_INIT;

	authres_format(&b, "mx", &spf, &dk, 1, &dm);
	EXPECT_STR("authres_format", "quoted", b.data, "mx;\n"
	    "\tspf=fail smtp.mailfrom=\"\\\"a; dkim=pass\\\"@x.example\";\n"
	    "\tdkim=neutral (bad signature) header.d=\"x.exampleX-Evil: 1\";\n"
	    "\tdmarc=none header.from=x.example");
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*value;
	bool		 want;
} ours_cases[] = {
	{ "mx.example.net; spf=pass", true },
	{ " MX.Example.NET ; dkim=pass", true },
	{ "mx.example.net 1; spf=pass", true },
	{ "\r\n\tmx.example.net;\r\n\tspf=pass", true },
	{ "mx.example.net", true },
	{ "mx.example.network; spf=pass", false },
	{ "other.example; spf=pass", false },
	{ "x.mx.example.net; spf=pass", false },
	{ "", false },
};

START_TEST(test_is_ours)
{
	EXPECT_INT("authres_is_ours", ours_cases[_i].value,
	    authres_is_ours(ours_cases[_i].value, "mx.example.net"),
	    ours_cases[_i].want);
}
END_TEST

Suite *
authres_suite(void)
{
	Suite	*s = suite_create("authres");
	TCase	*tc = tcase_create("authres");

	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_none);
	tcase_add_test(tc, test_format_quotes);
	tcase_add_loop_test(tc, test_is_ours, 0, (int)NELEM(ours_cases));
	suite_add_tcase(s, tc);
	return s;
}
