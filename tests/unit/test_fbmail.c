/*
 * test_fbmail.c - feedback e-mails (feedback/fbmail.c): each sample in
 * tests/feedback-mail/ read as it is and with CRLF line ends, with its
 * exact event or error; small built messages for the rules the samples
 * do not show; and generated messages past each limit (parts, depth,
 * recipients, size) with their exact errors. Runs from the top of the
 * tree, as tests/run-all does. No network, no clock.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../feedback/fbmail.h"
#include "buf.h"
#include "mem.h"
#include "unit.h"

#define SAMPLES		"tests/feedback-mail/"

struct want_rcpt {
	const char	*addr;
	const char	*status;
	const char	*diagnostic;
};

struct want {
	int			 rc;
	const char		*err;		/* rc 0 and -1 */
	enum sesevent_kind	 kind;
	enum sesevent_bounce	 bounce_type;
	const char		*feedback_type;
	const char		*feedback_id;
	const char		*ses_message_id;
	const char		*source;
	size_t			 nrcpts;
	struct want_rcpt	 rcpts[2];
};

#define PF_DIAG(a)	"smtp; 550 5.1.1 <" a ">: Recipient address "	\
	"rejected: User unknown in virtual mailbox table"
#define SES_ID(x)	\
	"0102018e0e5f7a3b-" x "-aaaa-bbbb-cccc-0123456789ab-000000"

static const struct {
	const char	*file;
	struct want	 want;
} samples[] = {
	{ "postfix-user-unknown.eml", { 1, NULL, SESEVENT_BOUNCE,
	    SESEVENT_BOUNCE_PERMANENT, "",
	    "20240305101524.7C1D02A0F3@mx.example.com", SES_ID("5c1d2e3f"),
	    "news@example.com", 2,
	    { { "alice@example.net", "5.1.1", PF_DIAG("alice@example.net") },
	      { "bob@example.net", "5.1.1", PF_DIAG("bob@example.net") } } } },
	{ "postfix-expired.eml", { 1, NULL, SESEVENT_BOUNCE,
	    SESEVENT_BOUNCE_TRANSIENT, "",
	    "20240308102002.9D44E2A0F3@mx.example.com", SES_ID("9a8b7c6d"),
	    "news@example.com", 1,
	    { { "grace@example.org", "4.4.1", "X-Postfix; connect to "
		"mx.example.org[203.0.113.9]:25: Connection timed out" } } } },
	{ "exim-mailbox-disabled.eml", { 1, NULL, SESEVENT_BOUNCE,
	    SESEVENT_BOUNCE_PERMANENT, "",
	    "E1rhSZa-0003Kd-2x@mail.example.org",
	    "20240305101518.GA12345@mail.example.com", "news@example.com", 1,
	    { { "carol@example.org", "5.0.0", "smtp; 550 5.2.1 The email "
		"account that you tried to reach is disabled." } } } },
	/* One failed and one delayed recipient: the failed one only. */
	{ "sendmail-mixed.eml", { 1, NULL, SESEVENT_BOUNCE,
	    SESEVENT_BOUNCE_PERMANENT, "",
	    "202403051015.425AFNxK012346@mx.example.org", SES_ID("11112222"),
	    "news@example.com", 1,
	    { { "dave@example.org", "5.1.1",
		"SMTP; 550 5.1.1 <dave@example.org>... User unknown" } } } },
	{ "original-recipient-only.eml", { 1, NULL, SESEVENT_BOUNCE,
	    SESEVENT_BOUNCE_PERMANENT, "",
	    "dsn.8842.1709633860@groupware.example.org", SES_ID("33334444"),
	    "news@example.com", 1,
	    { { "heidi@groupware.example.org", "5.2.2",
		"smtp; 552 5.2.2 Mailbox quota exceeded" } } } },
	{ "nested-mixed-qp.eml", { 1, NULL, SESEVENT_BOUNCE,
	    SESEVENT_BOUNCE_PERMANENT, "",
	    "relay-dsn-55102@relay.example.org",
	    "20240305101518.GA12399@mail.example.com", "news@example.com", 1,
	    { { "ivan@example.org", "5.7.1", "smtp; 550 5.7.1 Message "
		"rejected by policy: sender not in allow-list" } } } },
	{ "ses-bounce.eml", { 1, NULL, SESEVENT_BOUNCE,
	    SESEVENT_BOUNCE_PERMANENT, "",
	    "0102018e0e5f9c11-7d8e9fa0-1111-2222-3333-444455556666-000000",
	    SES_ID("5c1d2e3f"), "news@example.com", 1,
	    { { "mallory@example.net", "5.1.1",
		"smtp; 550 5.1.1 user unknown" } } } },
	{ "arf-yahoo-abuse.eml", { 1, NULL, SESEVENT_COMPLAINT,
	    SESEVENT_BOUNCE_NONE, "abuse",
	    "ab7f0e52-1c3d-4e8f-9a0b-1c2d3e4f5a6b@arf.mail.yahoo.com",
	    SES_ID("77778888"), "news@example.com", 1,
	    { { "nina@yahoo.com", "", "" } } } },
	{ "arf-not-spam.eml", { 1, NULL, SESEVENT_COMPLAINT,
	    SESEVENT_BOUNCE_NONE, "not-spam",
	    "fbl-20240306093000-17@mail.example.net", SES_ID("9999aaaa"),
	    "bounces+oscar=example.net@example.com", 1,
	    { { "oscar@example.net", "", "" } } } },
	{ "arf-base64.eml", { 1, NULL, SESEVENT_COMPLAINT,
	    SESEVENT_BOUNCE_NONE, "fraud", "arf-1709722800-42@isp.example",
	    SES_ID("bbbbcccc"), "news@example.com", 2,
	    { { "peggy@isp.example", "", "" },
	      { "quentin@isp.example", "", "" } } } },
	{ "postfix-delayed.eml", { 0, "no failed recipient in the delivery "
	    "status (1 delayed, 0 delivered, relayed or expanded, 0 other)",
	    0, 0, NULL, NULL, NULL, NULL, 0, { { NULL, NULL, NULL } } } },
	{ "postfix-delivered.eml", { 0, "no failed recipient in the delivery "
	    "status (0 delayed, 2 delivered, relayed or expanded, 0 other)",
	    0, 0, NULL, NULL, NULL, NULL, 0, { { NULL, NULL, NULL } } } },
	{ "plain-bounce.eml", { -1, "not a DSN or feedback report: no "
	    "multipart/report (the message is text/plain)",
	    0, 0, NULL, NULL, NULL, NULL, 0, { { NULL, NULL, NULL } } } },
	{ "no-boundary.eml", { -1, "multipart/report without a boundary",
	    0, 0, NULL, NULL, NULL, NULL, 0, { { NULL, NULL, NULL } } } },
	{ "truncated.eml", { -1, "multipart/report ends without its "
	    "closing boundary (truncated?)",
	    0, 0, NULL, NULL, NULL, NULL, 0, { { NULL, NULL, NULL } } } },
	{ "no-report-part.eml", { -1, "the multipart/report "
	    "(delivery-status) has no message/delivery-status part",
	    0, 0, NULL, NULL, NULL, NULL, 0, { { NULL, NULL, NULL } } } },
};

/* Compare fbmail_parse()'s answer on msg with w; name is the case. */
static void
check(const char *name, const char *msg, size_t len, const struct want *w)
{
	struct sesevent	 e;
	char		 err[256] = "";
	int		 rc;

	rc = fbmail_parse(msg, len, &e, err, sizeof(err));
	EXPECT_INT("fbmail_parse", name, rc, w->rc);
	if (rc != 1) {
		EXPECT_STR("fbmail_parse errbuf", name, err, w->err);
		EXPECT_INT("fbmail_parse nrcpts", name, e.nrcpts, 0);
		ck_assert_msg(e.rcpts == NULL && e.source == NULL,
		    "fbmail_parse: \"%s\": *out not zero", name);
		return;
	}
	EXPECT_STR("fbmail_parse kind", name, sesevent_kind_name(e.kind),
	    sesevent_kind_name(w->kind));
	EXPECT_STR("fbmail_parse bounce_type", name,
	    sesevent_bounce_name(e.bounce_type),
	    sesevent_bounce_name(w->bounce_type));
	EXPECT_STR("fbmail_parse bounce_subtype", name, e.bounce_subtype, "");
	EXPECT_STR("fbmail_parse feedback_type", name, e.feedback_type,
	    w->feedback_type);
	EXPECT_STR("fbmail_parse feedback_id", name, e.feedback_id,
	    w->feedback_id);
	EXPECT_STR("fbmail_parse ses_message_id", name, e.ses_message_id,
	    w->ses_message_id);
	EXPECT_STR("fbmail_parse source", name, e.source, w->source);
	EXPECT_STR("fbmail_parse timestamp", name, e.timestamp, "");
	EXPECT_INT("fbmail_parse ntags", name, e.ntags, 0);
	EXPECT_INT("fbmail_parse nrcpts", name, e.nrcpts, w->nrcpts);
	for (size_t i = 0; i < e.nrcpts && i < NELEM(w->rcpts); i++) {
		EXPECT_STR("fbmail_parse addr", name, e.rcpts[i].addr,
		    w->rcpts[i].addr);
		EXPECT_STR("fbmail_parse status", name, e.rcpts[i].status,
		    w->rcpts[i].status);
		EXPECT_STR("fbmail_parse diagnostic", name,
		    e.rcpts[i].diagnostic, w->rcpts[i].diagnostic);
	}
	sesevent_clear(&e);
}

static char *
read_sample(const char *file, size_t *len_out)
{
	char	 path[256];
	FILE	*fp;
	char	*data;
	long	 n;

	snprintf(path, sizeof(path), "%s%s", SAMPLES, file);
	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "cannot open %s (run from the top of the "
	    "tree)", path);
	ck_assert(fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0);
	rewind(fp);
	data = xmalloc((size_t)n + 1);
	ck_assert(fread(data, 1, (size_t)n, fp) == (size_t)n);
	fclose(fp);
	data[n] = '\0';
	*len_out = (size_t)n;
	return data;
}

/* The same text with CRLF line ends. */
static char *
to_crlf(const char *s, size_t len, size_t *len_out)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			buf_append(&b, "\r", 1);
		buf_append(&b, s + i, 1);
	}
	*len_out = b.len;
	return b.data;
}

START_TEST(test_samples)
{
	char	 name[128];
	size_t	 len, clen;
	char	*msg = read_sample(samples[_i].file, &len);
	char	*crlf = to_crlf(msg, len, &clen);

	check(samples[_i].file, msg, len, &samples[_i].want);
	snprintf(name, sizeof(name), "%s (CRLF)", samples[_i].file);
	check(name, crlf, clen, &samples[_i].want);
	free(msg);
	free(crlf);
}
END_TEST

/* Small messages: the top-level header and the report's parts. */
#define TOP(ctype)							\
	"From: MAILER-DAEMON@mx.example.com\n"				\
	"Message-ID: <r1@mx.example.com>\n"				\
	"Content-Type: " ctype "\n\n"
#define DSN_TOP		TOP("multipart/report; "			\
	"report-type=delivery-status; boundary=b")
#define ARF_TOP		TOP("multipart/report; "			\
	"report-type=feedback-report; boundary=b")
#define PART(ctype, body)	"--b\nContent-Type: " ctype "\n\n" body "\n"
#define END		"--b--\n"
#define PERMSG		"Reporting-MTA: dns; mx.example.com\n\n"
#define RCPT(a, act, st)						\
	"Final-Recipient: rfc822; " a "\nAction: " act "\nStatus: " st "\n\n"
#define ORIG_HDRS(extra)						\
	PART("text/rfc822-headers", "From: n@example.com\n" extra)
#define NONE	0, 0, NULL, NULL, NULL, NULL, 0, { { NULL, NULL, NULL } }

static const struct {
	const char	*name;
	const char	*msg;
	struct want	 want;
} built[] = {
	{ "mbox From line, text/feedback-report, To list",
	  "From fbl@isp.example  Wed Mar  6 11:00:00 2024\n" ARF_TOP
	  PART("text/feedback-report", "Feedback-Type: Virus (detected)\n")
	  ORIG_HDRS("To: \"Doe, John\" <j@example.net>, (c) x@example.net,\n"
	      " undisclosed:;, bad\nReturn-Path: <>\n")
	  END,
	  { 1, NULL, SESEVENT_COMPLAINT, SESEVENT_BOUNCE_NONE, "virus",
	    "r1@mx.example.com", "", "", 2,
	    { { "j@example.net", "", "" }, { "x@example.net", "", "" } } } },
	{ "SES ID from X-Original-Message-ID of the DSN",
	  DSN_TOP PART("message/delivery-status", "X-Original-Message-ID: "
	      "<ID-1@email.amazonses.com>\n\n" RCPT("a@example.net",
	      "failed", "5.1.1"))
	  ORIG_HDRS("Message-ID: <own@example.com>\n") END,
	  { 1, NULL, SESEVENT_BOUNCE, SESEVENT_BOUNCE_PERMANENT, "",
	    "r1@mx.example.com", "ID-1", "", 1,
	    { { "a@example.net", "5.1.1", "" } } } },
	{ "no report-type: the part decides; no per-message group",
	  TOP("multipart/report; boundary=\"b\"")
	  PART("message/delivery-status", RCPT("<a@example.net>", "FAILED",
	      "5.1.1 (bad)") "Final-Recipient: rfc822; b@example.net\n"
	      "Status: 5.0.0\n\n" "Final-Recipient: rfc822; c@example.net\n"
	      "Action: failed\nStatus: bogus\n") END,
	  { 1, NULL, SESEVENT_BOUNCE, SESEVENT_BOUNCE_PERMANENT, "",
	    "r1@mx.example.com", "", "", 3,
	    { { "a@example.net", "5.1.1", "" },
	      { "b@example.net", "5.0.0", "" } } } },
	{ "failed 4.x.x beside failed 5.x.x: the 5.x.x only",
	  DSN_TOP PART("message/delivery-status", PERMSG
	      RCPT("t@example.net", "failed", "4.4.7")
	      RCPT("p@example.net", "failed", "5.4.4")) END,
	  { 1, NULL, SESEVENT_BOUNCE, SESEVENT_BOUNCE_PERMANENT, "",
	    "r1@mx.example.com", "", "", 1,
	    { { "p@example.net", "5.4.4", "" } } } },
	{ "white space alone between recipient groups", DSN_TOP
	  PART("message/delivery-status", PERMSG "Final-Recipient: rfc822; "
	      "a@example.net\nAction: failed\nStatus: 5.1.1\n \t\n"
	      RCPT("b@example.net", "failed", "5.1.2")) END,
	  { 1, NULL, SESEVENT_BOUNCE, SESEVENT_BOUNCE_PERMANENT, "",
	    "r1@mx.example.com", "", "", 2,
	    { { "a@example.net", "5.1.1", "" },
	      { "b@example.net", "5.1.2", "" } } } },
	{ "unknown action", DSN_TOP PART("message/delivery-status", PERMSG
	      RCPT("a@example.net", "failure", "5.1.1")) END,
	  { 0, "no failed recipient in the delivery status (0 delayed, "
	    "0 delivered, relayed or expanded, 1 other)", NONE } },
	{ "no recipient group", DSN_TOP
	  PART("message/delivery-status", PERMSG) END,
	  { -1, "the delivery status names no recipient", NONE } },
	{ "recipient without address fields", DSN_TOP
	  PART("message/delivery-status", PERMSG "Action: failed\n"
	      "Status: 5.1.1\n") END,
	  { -1, "recipient 1 of the delivery status has no Final-Recipient "
	    "or Original-Recipient", NONE } },
	{ "empty Final-Recipient", DSN_TOP
	  PART("message/delivery-status", PERMSG RCPT("<>", "failed",
	      "5.1.1")) END,
	  { -1, "recipient 1 of the delivery status: Final-Recipient "
	    "\"rfc822; <>\" is not a usable address", NONE } },
	{ "report-type disposition-notification",
	  TOP("multipart/report; report-type=disposition-notification; "
	      "boundary=b") PART("message/disposition-notification",
	      "Disposition: manual-action/MDN-sent-manually; displayed")
	  END,
	  { -1, "the multipart/report's report-type "
	    "\"disposition-notification\" is neither delivery-status nor "
	    "feedback-report", NONE } },
	{ "no report-type, no report part",
	  TOP("multipart/report; boundary=b") PART("text/plain", "x") END,
	  { -1, "the multipart/report has no report-type and no report "
	    "part", NONE } },
	{ "feedback-report part missing", ARF_TOP PART("text/plain", "x")
	  END,
	  { -1, "the multipart/report (feedback-report) has no "
	    "message/feedback-report part", NONE } },
	{ "no Feedback-Type", ARF_TOP PART("message/feedback-report",
	      "Version: 1\nOriginal-Rcpt-To: a@example.net\n") END,
	  { -1, "the feedback report has no Feedback-Type", NONE } },
	{ "bad Original-Rcpt-To", ARF_TOP PART("message/feedback-report",
	      "Feedback-Type: abuse\nOriginal-Rcpt-To: <>\n") END,
	  { -1, "the feedback report's Original-Rcpt-To \"<>\" is not a "
	    "usable address", NONE } },
	{ "ARF naming no one", ARF_TOP PART("message/feedback-report",
	      "Feedback-Type: abuse\n") ORIG_HDRS("To: undisclosed:;\n") END,
	  { -1, "the feedback report names no recipient: no "
	    "Original-Rcpt-To and no address in the original's To", NONE } },
	{ "boundary never occurs", DSN_TOP "no parts here\n",
	  { -1, "multipart/report: the boundary \"b\" never occurs",
	    NONE } },
	{ "multipart/mixed without report", TOP("multipart/mixed; "
	      "boundary=b") PART("text/plain", "hello") END,
	  { -1, "not a DSN or feedback report: no multipart/report (the "
	    "message is multipart/mixed)", NONE } },
	{ "empty message", "",
	  { -1, "not a DSN or feedback report: no multipart/report (the "
	    "message is text/plain)", NONE } },
};

START_TEST(test_built)
{
	check(built[_i].name, built[_i].msg, strlen(built[_i].msg),
	    &built[_i].want);
}
END_TEST

/* A DSN with nrcpt failed recipients after `parts` - 1 text parts. */
static char *
gen_dsn(size_t parts, size_t nrcpt, size_t *len_out)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, DSN_TOP);
	for (size_t i = 1; i < parts; i++)
		buf_printf(&b, "--b\n\npart %zu\n", i);
	buf_puts(&b, "--b\nContent-Type: message/delivery-status\n\n" PERMSG);
	for (size_t i = 0; i < nrcpt; i++)
		buf_printf(&b, RCPT("r%zu@example.net", "failed", "5.1.1"),
		    i);
	buf_puts(&b, "\n" END);
	*len_out = b.len;
	return b.data;
}

/* A DSN inside depth - 1 multipart/mixed entities. */
static char *
gen_nested(int depth, size_t *len_out)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, "Message-ID: <r1@mx.example.com>\n");
	for (int i = 1; i < depth; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=m%d\n"
		    "\n--m%d\n", i, i);
	buf_puts(&b, "Content-Type: multipart/report; boundary=b\n\n"
	    PART("message/delivery-status", PERMSG RCPT("a@example.net",
	    "failed", "5.1.1")) END);
	for (int i = depth - 1; i >= 1; i--)
		buf_printf(&b, "--m%d--\n", i);
	*len_out = b.len;
	return b.data;
}

START_TEST(test_limits)
{
	struct want	ok = { 1, NULL, SESEVENT_BOUNCE,
	    SESEVENT_BOUNCE_PERMANENT, "", "r1@mx.example.com", "", "", 1,
	    { { "a@example.net", "5.1.1", "" } } };
	struct want	w;
	size_t		len;
	char		*m;

	m = gen_dsn(64, 1000, &len);
	w = ok;
	w.nrcpts = 1000;
	w.rcpts[0].addr = "r0@example.net";
	w.rcpts[1] = (struct want_rcpt){ "r1@example.net", "5.1.1", "" };
	check("64 parts, 1000 recipients", m, len, &w);
	free(m);

	m = gen_dsn(65, 1, &len);
	w = (struct want){ -1, "more than 64 MIME parts", NONE };
	check("65 parts", m, len, &w);
	free(m);

	m = gen_dsn(1, 1001, &len);
	w = (struct want){ -1, "more than 1000 recipients in the delivery "
	    "status", NONE };
	check("1001 recipients", m, len, &w);
	free(m);

	m = gen_nested(8, &len);
	check("depth 8", m, len, &ok);
	free(m);

	m = gen_nested(9, &len);
	w = (struct want){ -1, "multipart nested more than 8 deep", NONE };
	check("depth 9", m, len, &w);
	free(m);
}
END_TEST

START_TEST(test_arf_limit)
{
	struct buf	b = BUF_INIT;
	struct want	w = { -1, "more than 1000 recipients in the "
	    "feedback report", NONE };

	buf_puts(&b, ARF_TOP "--b\nContent-Type: message/feedback-report\n\n"
	    "Feedback-Type: abuse\n");
	for (int i = 0; i < 1001; i++)
		buf_printf(&b, "Original-Rcpt-To: r%d@example.net\n", i);
	buf_puts(&b, "\n" END);
	check("1001 Original-Rcpt-To", b.data, b.len, &w);
	buf_free(&b);
}
END_TEST

START_TEST(test_size)
{
	struct want	 w = { -1,
	    "the message is larger than 10485760 bytes", NONE };
	size_t		 len, n = FBMAIL_MAX_SIZE + 1;
	char		*dsn = gen_dsn(1, 1, &len);
	char		*m = xmalloc(n);
	struct want	 ok = { 1, NULL, SESEVENT_BOUNCE,
	    SESEVENT_BOUNCE_PERMANENT, "", "r1@mx.example.com", "", "", 1,
	    { { "r0@example.net", "5.1.1", "" } } };

	/* The DSN, then padding in the epilogue up to the limit. */
	memset(m, 'x', n);
	memcpy(m, dsn, len);
	m[n - 2] = '\n';
	check("10 MB + 1", m, n, &w);
	check("10 MB", m, n - 1, &ok);
	free(m);
	free(dsn);
}
END_TEST

START_TEST(test_no_errbuf)
{
	struct sesevent	 e;
	const char	*msg = "Subject: hi\n\nhello\n";

	EXPECT_INT("fbmail_parse", "NULL errbuf", fbmail_parse(msg,
	    strlen(msg), &e, NULL, 0), -1);
}
END_TEST

Suite *
fbmail_suite(void)
{
	Suite	*s = suite_create("fbmail");
	TCase	*tc = tcase_create("fbmail");

	tcase_add_loop_test(tc, test_samples, 0, (int)NELEM(samples));
	tcase_add_loop_test(tc, test_built, 0, (int)NELEM(built));
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_arf_limit);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_no_errbuf);
	suite_add_tcase(s, tc);
	return s;
}
