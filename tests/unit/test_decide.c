/*
 * test_decide.c - the policy service's decisions (policyd/decide.c): which
 * requests go to the store and with what, and the exact reply for every
 * verdict of the store, for a store error and for a malformed request.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../policyd/decide.h"
#include "config.h"
#include "mem.h"
#include "str.h"
#include "unit.h"

/* A RCPT request; fields left NULL are not sent. */
struct rq {
	const char	*request;
	const char	*state;
	const char	*client;
	const char	*sasl;
	const char	*sender;
	const char	*rcpt;
	const char	*instance;
};

static void
rq_parse(struct request *req, const struct rq *q)
{
	char	text[2048];
	size_t	o = 0;

#define RQ_ADD(name, v) do {						\
	if ((v) != NULL)						\
		o += (size_t)snprintf(text + o, sizeof(text) - o,	\
		    "%s=%s\n", (name), (v));				\
} while (0)
	RQ_ADD("request", q->request);
	RQ_ADD("protocol_state", q->state);
	RQ_ADD("protocol_name", "ESMTP");
	RQ_ADD("client_address", q->client);
	RQ_ADD("sasl_username", q->sasl);
	RQ_ADD("sender", q->sender);
	RQ_ADD("recipient", q->rcpt);
	RQ_ADD("instance", q->instance);
#undef RQ_ADD
	ck_assert_uint_lt(o, sizeof(text) - 1);
	text[o++] = '\n';
	text[o] = '\0';
	unit_request(req, text);
}

#define RCPT		"smtpd_access_policy", "RCPT"
#define INTERNAL	"127.0.0.1"
#define OUTSIDE		"203.0.113.5"
/* 336 bytes: longer than any address. */
#define LONG_NAME							\
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"	\
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"	\
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"	\
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"	\
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"	\
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* want_store: decide_request's answer. When true, the inputs of the
   check; when false, the reply. */
static const struct {
	const char	*name;
	struct rq	 q;
	int		 identity;
	bool		 want_store;
	const char	*want_why;
	const char	*want_action;
	const char	*want_sender, *want_sender_id, *want_rcpt;
	const char	*want_instance;
	bool		 want_count_daily;
} request_cases[] = {
	{ "not a policy request", { "junk", "RCPT", INTERNAL, "", "a@b.example",
	    "r@x.example", "" }, SENDER_IDENTITY_SASL, false,
	    "not-policy-request", "DUNNO", NULL, NULL, NULL, NULL, false },
	{ "no request attribute", { NULL, "RCPT", INTERNAL, "", "a@b.example",
	    "r@x.example", "" }, SENDER_IDENTITY_SASL, false,
	    "not-policy-request", "DUNNO", NULL, NULL, NULL, NULL, false },
	{ "DATA, not RCPT", { "smtpd_access_policy", "DATA", INTERNAL, "alice",
	    "a@b.example", "", "" }, SENDER_IDENTITY_SASL, false, "not-rcpt",
	    "DUNNO", NULL, NULL, NULL, NULL, false },
	{ "END-OF-MESSAGE, not RCPT", { "smtpd_access_policy",
	    "END-OF-MESSAGE", INTERNAL, "alice", "a@b.example", "", "" },
	    SENDER_IDENTITY_SASL, false, "not-rcpt", "DUNNO", NULL, NULL, NULL,
	    NULL, false },
	{ "MAIL, not RCPT", { "smtpd_access_policy", "MAIL", INTERNAL, "alice",
	    "a@b.example", "", "" }, SENDER_IDENTITY_SASL, false, "not-rcpt",
	    "DUNNO", NULL, NULL, NULL, NULL, false },
	{ "inbound client", { RCPT, OUTSIDE, "", "a@b.example",
	    "r@x.example", "" }, SENDER_IDENTITY_SASL, false, "inbound",
	    "DUNNO", NULL, NULL, NULL, NULL, false },
	{ "inbound client, no sasl_username", { RCPT, OUTSIDE, NULL,
	    "a@b.example", "r@x.example", "" }, SENDER_IDENTITY_SASL, false,
	    "inbound", "DUNNO", NULL, NULL, NULL, NULL, false },
	{ "inbound client, bad recipient", { RCPT, OUTSIDE, "", "a@b.example",
	    "junk", "" }, SENDER_IDENTITY_SASL, false, "inbound", "DUNNO",
	    NULL, NULL, NULL, NULL, false },
	{ "internal client without SASL", { RCPT, INTERNAL, "",
	    "<A@B.example>", "R@X.example", "8a3c.6651f2e4.9d1c2.0" },
	    SENDER_IDENTITY_SASL, true, NULL, NULL, "a@b.example",
	    "a@b.example", "r@x.example", "8a3c.6651f2e4.9d1c2.0", true },
	{ "internal IPv6 client", { RCPT, "::1", "", "a@b.example",
	    "r@x.example", "" }, SENDER_IDENTITY_SASL, true, NULL, NULL,
	    "a@b.example", "a@b.example", "r@x.example", "", true },
	{ "internal client on a dual-stack socket", { RCPT,
	    "::ffff:127.0.0.1", "", "a@b.example", "r@x.example", "" },
	    SENDER_IDENTITY_SASL, true, NULL, NULL, "a@b.example",
	    "a@b.example", "r@x.example", "", true },
	{ "lower-case state", { "smtpd_access_policy", "rcpt", INTERNAL, "",
	    "a@b.example", "r@x.example", "" }, SENDER_IDENTITY_SASL, true,
	    NULL, NULL, "a@b.example", "a@b.example", "r@x.example", "",
	    true },
	{ "SASL user from outside", { RCPT, OUTSIDE, "alice", "a@b.example",
	    "r@x.example", "Q1" }, SENDER_IDENTITY_SASL, true, NULL, NULL,
	    "a@b.example", "alice", "r@x.example", "Q1", true },
	{ "SASL user that is an address: normalised as one", { RCPT, OUTSIDE,
	    "Alice@Example.COM", "a@b.example", "r@x.example", "Q2" },
	    SENDER_IDENTITY_SASL, true, NULL, NULL, "a@b.example",
	    "alice@example.com", "r@x.example", "Q2", true },
	{ "SASL user name kept as given", { RCPT, OUTSIDE, "Alice",
	    "a@b.example", "r@x.example", "Q3" }, SENDER_IDENTITY_SASL, true,
	    NULL, NULL, "a@b.example", "Alice", "r@x.example", "Q3", true },
	{ "SASL user, identity envelope", { RCPT, OUTSIDE, "alice",
	    "a@b.example", "r@x.example", "" }, SENDER_IDENTITY_ENVELOPE,
	    true, NULL, NULL, "a@b.example", "a@b.example", "r@x.example", "",
	    true },
	{ "null sender, internal", { RCPT, INTERNAL, "", "", "r@x.example",
	    "" }, SENDER_IDENTITY_SASL, true, NULL, NULL, "", "<>",
	    "r@x.example", "", true },
	{ "null sender, identity envelope", { RCPT, OUTSIDE, "alice", "",
	    "r@x.example", "" }, SENDER_IDENTITY_ENVELOPE, true, NULL, NULL,
	    "", "<>", "r@x.example", "", true },
	{ "null sender, SASL user", { RCPT, OUTSIDE, "alice", "",
	    "r@x.example", "" }, SENDER_IDENTITY_SASL, true, NULL, NULL, "",
	    "alice", "r@x.example", "", true },
	{ "bad recipient", { RCPT, INTERNAL, "", "a@b.example", "r.example",
	    "" }, SENDER_IDENTITY_SASL, false, "bad-recipient",
	    "501 5.1.3 Bad recipient address syntax", NULL, NULL, NULL, NULL,
	    false },
	{ "empty recipient", { RCPT, OUTSIDE, "alice", "a@b.example", "",
	    "" }, SENDER_IDENTITY_SASL, false, "bad-recipient",
	    "501 5.1.3 Bad recipient address syntax", NULL, NULL, NULL, NULL,
	    false },
	{ "bad sender", { RCPT, OUTSIDE, "alice", "alice", "r@x.example",
	    "" }, SENDER_IDENTITY_SASL, false, "bad-sender",
	    "501 5.1.7 Bad sender address syntax", NULL, NULL, NULL, NULL,
	    false },
	{ "SASL user name too long", { RCPT, OUTSIDE, LONG_NAME,
	    "a@b.example", "r@x.example", "" }, SENDER_IDENTITY_SASL, false,
	    "bad-sasl-user", "554 5.7.1 SASL user name too long", NULL, NULL,
	    NULL, NULL, false },
	{ "simulator recipient", { RCPT, OUTSIDE, "alice", "a@b.example",
	    "success@simulator.amazonses.com", "" }, SENDER_IDENTITY_SASL,
	    true, NULL, NULL, "a@b.example", "alice",
	    "success@simulator.amazonses.com", "", false },
	{ "simulator recipient, upper case", { RCPT, OUTSIDE, "alice",
	    "a@b.example", "<Bounce@Simulator.AmazonSES.com.>", "" },
	    SENDER_IDENTITY_SASL, true, NULL, NULL, "a@b.example", "alice",
	    "bounce@simulator.amazonses.com", "", false },
	{ "look-alike of the simulator", { RCPT, OUTSIDE, "alice",
	    "a@b.example", "x@notsimulator.amazonses.com", "" },
	    SENDER_IDENTITY_SASL, true, NULL, NULL, "a@b.example", "alice",
	    "x@notsimulator.amazonses.com", "", true },
};

START_TEST(test_request_cases)
{
	const char	*name = request_cases[_i].name;
	struct config	*cf = config_defaults();
	struct request	 req;
	struct decision	 d;
	bool		 got;

	cf->policyd_sender_identity = request_cases[_i].identity;
	rq_parse(&req, &request_cases[_i].q);
	memset(&d, 0, sizeof(d));
	(void)str_copy(d.level, sizeof(d.level), "stale");
	got = decide_request(cf, &req, &d);
	EXPECT_INT("decide_request", name, got, request_cases[_i].want_store);
	EXPECT_STR("decide_request (level)", name, d.level, "");
	if (!got) {
		EXPECT_STR("decide_request (action)", name, d.action,
		    request_cases[_i].want_action);
		EXPECT_STR("decide_request (why)", name, d.why,
		    request_cases[_i].want_why);
	} else {
		EXPECT_STR("decide_request (sender)", name, d.check.sender,
		    request_cases[_i].want_sender);
		EXPECT_STR("decide_request (sender_id)", name,
		    d.check.sender_id, request_cases[_i].want_sender_id);
		EXPECT_STR("decide_request (rcpt)", name, d.check.rcpt,
		    request_cases[_i].want_rcpt);
		EXPECT_STR("decide_request (instance)", name,
		    d.check.instance, request_cases[_i].want_instance);
		EXPECT_INT("decide_request (count_daily)", name,
		    d.check.count_daily, request_cases[_i].want_count_daily);
	}
	request_free(&req);
	config_free(&cf);
}
END_TEST

/* --- decide_result ---------------------------------------------------- */

static const struct {
	const char		*name;
	struct schema_result	 r;
	const char		*want_why;
	const char		*want_level;
	const char		*want_action;
} result_cases[] = {
	{ "accept", { SCHEMA_ACCEPT, "1", "" }, "accept", "", "DUNNO" },
	{ "paused: account", { SCHEMA_PAUSED, "account", "maintenance" },
	    "paused", "account",
	    "454 4.7.0 Sending paused for this account: maintenance" },
	{ "paused: account, no reason", { SCHEMA_PAUSED, "account", "" },
	    "paused", "account", "454 4.7.0 Sending paused for this account: "
	    "paused by the administrator" },
	/* "user": the pause of the quota identity (the SASL user). */
	{ "paused: user", { SCHEMA_PAUSED, "user", "abuse report" },
	    "paused", "sender",
	    "454 4.7.0 Sending paused for sender alice: abuse report" },
	{ "paused: user, no reason", { SCHEMA_PAUSED, "user", "" },
	    "paused", "sender", "454 4.7.0 Sending paused for sender alice: "
	    "paused by the administrator" },
	/* "sender": the pause of the envelope sender when it is not the
	   quota identity. */
	{ "paused: sender", { SCHEMA_PAUSED, "sender", "abuse report" },
	    "paused", "sender",
	    "454 4.7.0 Sending paused for sender a@b.example: abuse report" },
	{ "paused: domain", { SCHEMA_PAUSED, "domain", "DNS broken" },
	    "paused", "domain",
	    "454 4.7.0 Sending paused for domain b.example: DNS broken" },
	{ "paused: domain, no reason", { SCHEMA_PAUSED, "domain", "" },
	    "paused", "domain", "454 4.7.0 Sending paused for domain "
	    "b.example: paused by the administrator" },
	{ "paused: control characters in the reason", { SCHEMA_PAUSED,
	    "account", "line\r\n250 fake\x7f\xc3\xa9" }, "paused", "account",
	    "454 4.7.0 Sending paused for this account: "
	    "line??250 fake???" },
	{ "unverified sender", { SCHEMA_UNVERIFIED_SENDER, "a@b.example",
	    "" }, "unverified-sender", "",
	    "554 5.7.1 Message rejected: Email address is not verified. The "
	    "following identities failed the check in region us-east-1: "
	    "a@b.example" },
	{ "unverified recipient", { SCHEMA_UNVERIFIED_RECIPIENT,
	    "r@x.example", "" }, "unverified-recipient", "",
	    "554 5.7.1 Message rejected: Email address is not verified. The "
	    "following identities failed the check in region us-east-1: "
	    "r@x.example" },
	{ "suppressed: bounce", { SCHEMA_SUPPRESSED, "BOUNCE", "1767323045" },
	    "suppressed", "", "550 5.1.1 Address is on the "
	    "suppression list (reason BOUNCE, since "
	    "2026-01-02T03:04:05Z)" },
	{ "suppressed: complaint", { SCHEMA_SUPPRESSED, "COMPLAINT",
	    "1700000000" }, "suppressed", "", "550 5.1.1 "
	    "Address is on the suppression list (reason COMPLAINT, "
	    "since 2023-11-14T22:13:20Z)" },
	{ "suppressed: no time", { SCHEMA_SUPPRESSED, "BOUNCE", "0" },
	    "suppressed", "", "550 5.1.1 Address is on the "
	    "suppression list (reason BOUNCE, since "
	    "1970-01-01T00:00:00Z)" },
	{ "suppressed: bad time", { SCHEMA_SUPPRESSED, "BOUNCE", "yesterday" },
	    "suppressed", "", "550 5.1.1 Address is on the "
	    "suppression list (reason BOUNCE, since "
	    "1970-01-01T00:00:00Z)" },
	{ "suppressed: control characters in the reason", { SCHEMA_SUPPRESSED,
	    "BOUNCE\r\n", "0" }, "suppressed", "", "550 5.1.1 "
	    "Address is on the suppression list (reason BOUNCE??, "
	    "since 1970-01-01T00:00:00Z)" },
	{ "too many recipients", { SCHEMA_TOO_MANY_RECIPIENTS, "50", "" },
	    "too-many-recipients", "", "452 4.5.3 Too many recipients" },
	{ "quota: sender", { SCHEMA_QUOTA, "sender", "" }, "quota", "sender",
	    "454 4.7.0 Throttling failure: Daily message quota exceeded." },
	{ "quota: account", { SCHEMA_QUOTA, "account", "" }, "quota",
	    "account",
	    "454 4.7.0 Throttling failure: Daily message quota exceeded." },
	{ "rate: domain", { SCHEMA_RATE, "domain", "" }, "rate", "domain",
	    "454 4.7.0 Throttling failure: Maximum sending rate exceeded." },
	{ "rate: account", { SCHEMA_RATE, "account", "" }, "rate", "account",
	    "454 4.7.0 Throttling failure: Maximum sending rate exceeded." },
	{ "status the script never gives", { (enum schema_status)99, "", "" },
	    "store-error", "", "DEFER_IF_PERMIT 4.3.0 Sending limits cannot "
	    "be checked now; try again later" },
};

/* The decision for alice (SASL) sending from a@b.example to r@x.example. */
static void
decide_prepare(const struct config *cf, struct request *req,
    struct decision *d)
{
	static const struct rq q = { RCPT, OUTSIDE, "alice",
	    "<a@b.example>", "<r@x.example>", "Q1" };

	rq_parse(req, &q);
	memset(d, 0, sizeof(*d));
	ck_assert_msg(decide_request(cf, req, d), "decide_request: "
	    "\"result setup\": got false (%s), want true", d->action);
}

START_TEST(test_result_cases)
{
	const char	*name = result_cases[_i].name;
	struct config	*cf = config_defaults();
	struct request	 req;
	struct decision	 d;

	decide_prepare(cf, &req, &d);
	decide_result(cf, &result_cases[_i].r, &d);
	EXPECT_STR("decide_result", name, d.action,
	    result_cases[_i].want_action);
	EXPECT_STR("decide_result (why)", name, d.why,
	    result_cases[_i].want_why);
	EXPECT_STR("decide_result (level)", name, d.level,
	    result_cases[_i].want_level);
	request_free(&req);
	config_free(&cf);
}
END_TEST

START_TEST(test_result_region)
{
	struct config		*cf = config_defaults();
	struct request		 req;
	struct decision		 d;
	struct schema_result	 r = { SCHEMA_UNVERIFIED_SENDER, "a@b.example",
				    "" };

	free(cf->region);
	cf->region = xstrdup("eu-west-1");
	decide_prepare(cf, &req, &d);
	decide_result(cf, &r, &d);
	EXPECT_STR("decide_result", "region eu-west-1", d.action,
	    "554 5.7.1 Message rejected: Email address is not verified. The "
	    "following identities failed the check in region eu-west-1: "
	    "a@b.example");
	request_free(&req);
	config_free(&cf);
}
END_TEST

/* With sender_identity = envelope the quota identity is the envelope
   sender, so the "user" pause names the address. */
START_TEST(test_result_pause_envelope)
{
	struct config		*cf = config_defaults();
	struct request		 req;
	struct decision		 d;
	struct schema_result	 r = { SCHEMA_PAUSED, "user", "bounces" };

	cf->policyd_sender_identity = SENDER_IDENTITY_ENVELOPE;
	decide_prepare(cf, &req, &d);
	decide_result(cf, &r, &d);
	EXPECT_STR("decide_result", "paused sender, identity envelope",
	    d.action, "454 4.7.0 Sending paused for sender a@b.example: "
	    "bounces");
	EXPECT_STR("decide_result (level)", "paused sender, identity envelope",
	    d.level, "sender");
	request_free(&req);
	config_free(&cf);
}
END_TEST

START_TEST(test_store_error)
{
	static const struct {
		const char	*name;
		int		 on_store_error;
		const char	*want;
	} cases[] = {
		{ "defer_if_permit", STORE_ACTION_DEFER_IF_PERMIT,
		    "DEFER_IF_PERMIT 4.3.0 Sending limits cannot be checked "
		    "now; try again later" },
		{ "defer", STORE_ACTION_DEFER, "DEFER 4.3.0 Sending limits "
		    "cannot be checked now; try again later" },
		{ "dunno", STORE_ACTION_DUNNO, "DUNNO" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct config	*cf = config_defaults();
		struct decision	 d;

		cf->policyd_on_store_error = cases[i].on_store_error;
		memset(&d, 0, sizeof(d));
		decide_store_error(cf, &d);
		EXPECT_STR("decide_store_error", cases[i].name, d.action,
		    cases[i].want);
		EXPECT_STR("decide_store_error (why)", cases[i].name, d.why,
		    "store-error");
		config_free(&cf);
	}
}
END_TEST

START_TEST(test_malformed)
{
	struct decision d;

	memset(&d, 0, sizeof(d));
	(void)str_copy(d.level, sizeof(d.level), "sender");
	decide_malformed(&d);
	EXPECT_STR("decide_malformed", "action", d.action,
	    "DEFER_IF_PERMIT 4.3.5 Malformed policy request");
	EXPECT_STR("decide_malformed", "why", d.why, "malformed");
	EXPECT_STR("decide_malformed", "level", d.level, "");
}
END_TEST

Suite *
decide_suite(void)
{
	Suite	*s = suite_create("decide");
	TCase	*tc = tcase_create("decide");

	tcase_add_loop_test(tc, test_request_cases, 0,
	    (int)NELEM(request_cases));
	tcase_add_loop_test(tc, test_result_cases, 0,
	    (int)NELEM(result_cases));
	tcase_add_test(tc, test_result_region);
	tcase_add_test(tc, test_result_pause_envelope);
	tcase_add_test(tc, test_store_error);
	tcase_add_test(tc, test_malformed);
	suite_add_tcase(s, tc);
	return s;
}
