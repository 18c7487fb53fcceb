/*
 * test_request.c - policy delegation framing and parsing (policyd/request.c):
 * where a request ends, which lines are refused and why, and how
 * attributes are looked up.
 */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

/* A request as Postfix 3.x sends it at RCPT time. */
static const char postfix_rcpt[] =
	"request=smtpd_access_policy\n"
	"protocol_state=RCPT\n"
	"protocol_name=ESMTP\n"
	"client_address=192.0.2.10\n"
	"client_name=client.example.org\n"
	"client_port=52044\n"
	"reverse_client_name=client.example.org\n"
	"server_address=192.0.2.1\n"
	"server_port=587\n"
	"helo_name=client.example.org\n"
	"sender=Alice@Example.org\n"
	"recipient=bob@example.net\n"
	"recipient_count=0\n"
	"queue_id=\n"
	"instance=8a3c.6651f2e4.9d1c2.0\n"
	"size=12345\n"
	"etrn_domain=\n"
	"stress=\n"
	"sasl_method=PLAIN\n"
	"sasl_username=alice\n"
	"sasl_sender=\n"
	"ccert_subject=\n"
	"ccert_issuer=\n"
	"ccert_fingerprint=\n"
	"ccert_pubkey_fingerprint=\n"
	"encryption_protocol=TLSv1.3\n"
	"encryption_cipher=TLS_AES_256_GCM_SHA384\n"
	"encryption_keysize=256\n"
	"policy_context=\n"
	"server_hostname=mx.example.org\n"
	"compatibility_level=3.6\n"
	"mail_version=3.7.11\n"
	"\n";

/* --- request_frame ---------------------------------------------------- */

static const struct {
	const char	*name;
	const char	*data;
	int		 want;
	size_t		 want_len;
} frame_cases[] = {
	{ "complete", "a=b\nc=d\n\n", 1, 9 },
	{ "complete with data after it", "a=b\n\nc=", 1, 5 },
	{ "CRLF", "a=b\r\nc=d\r\n\r\n", 1, 12 },
	{ "CRLF empty line after LF lines", "a=b\n\r\n", 1, 6 },
	{ "only the empty line", "\n", 1, 1 },
	{ "incomplete: no empty line", "a=b\nc=d\n", 0, 0 },
	{ "incomplete: no line end", "a=b", 0, 0 },
	{ "incomplete: nothing", "", 0, 0 },
	{ "incomplete: CR without LF", "a=b\n\r", 0, 0 },
	{ "CR in a value is not an empty line", "a=\r\nb=c\n", 0, 0 },
};

START_TEST(test_frame_cases)
{
	size_t	len = 0;
	int	r;

	r = request_frame(frame_cases[_i].data, strlen(frame_cases[_i].data),
	    &len);
	EXPECT_INT("request_frame", frame_cases[_i].name, r,
	    frame_cases[_i].want);
	if (r == 1)
		EXPECT_INT("request_frame", frame_cases[_i].name, len,
		    frame_cases[_i].want_len);
}
END_TEST

START_TEST(test_frame_back_to_back)
{
	const char	*data = "a=b\n\nc=d\ne=f\n\n";
	size_t		 total = strlen(data), len = 0, len2 = 0;
	struct request	 req;
	char		 err[128];

	EXPECT_INT("request_frame", "first of two", request_frame(data, total,
	    &len), 1);
	EXPECT_INT("request_frame", "first of two: length", len, 5);
	EXPECT_INT("request_frame", "second of two", request_frame(data + len,
	    total - len, &len2), 1);
	EXPECT_INT("request_frame", "second of two: length", len2, 9);

	memset(&req, 0, sizeof(req));
	EXPECT_INT("request_parse", "first of two",
	    request_parse(&req, data, len, err, sizeof(err)), 0);
	EXPECT_INT("request_parse", "first of two: attributes", req.nattrs, 1);
	EXPECT_STR("request_get", "first of two: a", request_get(&req, "a"),
	    "b");
	EXPECT_INT("request_parse", "second of two",
	    request_parse(&req, data + len, len2, err, sizeof(err)), 0);
	EXPECT_INT("request_parse", "second of two: attributes", req.nattrs,
	    2);
	EXPECT_STR("request_get", "second of two: a", request_get(&req, "a"),
	    NULL);
	EXPECT_STR("request_get", "second of two: e", request_get(&req, "e"),
	    "f");
	request_free(&req);
}
END_TEST

/* Lines of "a=b\n" (4 bytes) filling exactly n bytes, n a multiple of 4. */
static char *
frame_lines(size_t n)
{
	char *p = malloc(n);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i += 4)
		memcpy(p + i, "a=b\n", 4);
	return p;
}

START_TEST(test_frame_limits)
{
	size_t	 len = 0;
	char	*p = frame_lines(REQUEST_MAX_BYTES);
	char	*big;

	EXPECT_INT("request_frame", "exactly REQUEST_MAX_BYTES without "
	    "terminator", request_frame(p, REQUEST_MAX_BYTES, &len), -1);
	EXPECT_INT("request_frame", "REQUEST_MAX_BYTES - 4 without "
	    "terminator", request_frame(p, REQUEST_MAX_BYTES - 4, &len), 0);
	/* The empty line as the very last byte allowed. */
	p[REQUEST_MAX_BYTES - 1] = '\n';
	p[REQUEST_MAX_BYTES - 2] = '\n';
	EXPECT_INT("request_frame", "terminator in the last byte",
	    request_frame(p, REQUEST_MAX_BYTES, &len), 1);
	EXPECT_INT("request_frame", "terminator in the last byte: length",
	    len, REQUEST_MAX_BYTES);
	free(p);

	/* The empty line one byte past the limit. */
	p = frame_lines(REQUEST_MAX_BYTES + 4);
	p[REQUEST_MAX_BYTES + 3] = 'b';
	p[REQUEST_MAX_BYTES] = '\n';
	EXPECT_INT("request_frame", "terminator one byte past the limit",
	    request_frame(p, REQUEST_MAX_BYTES + 1, &len), -1);
	free(p);

	/* A 100 KB value never reaches the parser. */
	big = malloc(100 * 1024 + 4);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "a=", 2);
	memset(big + 2, 'x', 100 * 1024);
	memcpy(big + 2 + 100 * 1024, "\n\n", 2);
	EXPECT_INT("request_frame", "100 KB value", request_frame(big,
	    100 * 1024 + 4, &len), -1);
	EXPECT_INT("request_frame", "first 60 KB of a 100 KB value",
	    request_frame(big, 60 * 1024, &len), 0);
	free(big);
}
END_TEST

/* --- request_parse ---------------------------------------------------- */

static const struct {
	const char	*name;
	const char	*data;
	size_t		 len;		/* 0: strlen(data) */
	int		 want;
	const char	*want_err;	/* when want is -1 */
	size_t		 want_nattrs;	/* when want is 0 */
} parse_cases[] = {
	{ "one attribute", "a=b\n\n", 0, 0, NULL, 1 },
	{ "no '='", "request=smtpd_access_policy\nrecipient\n\n", 0, -1,
	    "line 2: no '=' in attribute line", 0 },
	{ "empty name", "=value\n\n", 0, -1, "line 1: empty attribute name",
	    0 },
	{ "NUL byte", "a=b\nc=d\0e\n\n", 11, -1, "line 2: control byte 0x00",
	    0 },
	{ "control byte", "a=\001\n\n", 0, -1, "line 1: control byte 0x01",
	    0 },
	{ "escape byte", "a=\033[1m\n\n", 0, -1, "line 1: control byte 0x1b",
	    0 },
	{ "CR inside a line", "a=b\rc\n\n", 0, -1,
	    "line 1: control byte 0x0d", 0 },
	{ "tab allowed", "a=b\tc\n\n", 0, 0, NULL, 1 },
	{ "UTF-8 allowed", "sender=j\xc3\xb6rg@example.org\n\n", 0, 0, NULL,
	    1 },
	{ "empty request", "\n", 0, -1, "empty request", 0 },
	{ "empty request, CRLF", "\r\n", 0, -1, "empty request", 0 },
	{ "no bytes at all", "", 0, -1, "empty request", 0 },
	{ "empty value", "queue_id=\n\n", 0, 0, NULL, 1 },
	{ "value with '='", "a=b=c\n\n", 0, 0, NULL, 1 },
	{ "CRLF lines", "a=b\r\nc=d\r\n\r\n", 0, 0, NULL, 2 },
	{ "Postfix RCPT request", postfix_rcpt, 0, 0, NULL, 32 },
};

START_TEST(test_parse_cases)
{
	struct request	req;
	char		err[128] = "";
	size_t		len = parse_cases[_i].len != 0 ? parse_cases[_i].len :
			    strlen(parse_cases[_i].data);
	int		r;

	memset(&req, 0, sizeof(req));
	r = request_parse(&req, parse_cases[_i].data, len, err, sizeof(err));
	EXPECT_INT("request_parse", parse_cases[_i].name, r,
	    parse_cases[_i].want);
	if (r < 0)
		EXPECT_STR("request_parse", parse_cases[_i].name, err,
		    parse_cases[_i].want_err);
	else
		EXPECT_INT("request_parse", parse_cases[_i].name, req.nattrs,
		    parse_cases[_i].want_nattrs);
	request_free(&req);
}
END_TEST

/* A lookup in a parsed request and the value it must give (NULL for
   absent). */
struct get_case {
	const char	*name;
	const char	*data;
	const char	*attr;
	const char	*want;
};

static void
get_cases_run(const struct get_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct request req;

		unit_request(&req, cases[i].data);
		EXPECT_STR("request_get", cases[i].name,
		    request_get(&req, cases[i].attr), cases[i].want);
		EXPECT_STR("request_str", cases[i].name,
		    request_str(&req, cases[i].attr),
		    cases[i].want != NULL ? cases[i].want : "");
		request_free(&req);
	}
}

START_TEST(test_parse_values)
{
	static const struct get_case cases[] = {
		{ "tab kept", "a=b\tc\n\n", "a", "b\tc" },
		{ "value with '='", "a=b=c\n\n", "a", "b=c" },
		{ "name stops at the first '='", "a=b=c\n\n", "a=b", NULL },
		{ "CR of CRLF dropped", "a=b\r\nc=d\r\n\r\n", "a", "b" },
		{ "empty value", "queue_id=\n\n", "queue_id", "" },
		{ "repeated: last wins", "a=1\nb=2\na=3\n\n", "a", "3" },
		{ "names are case-sensitive", "Sender=x\n\n", "sender", NULL },
		{ "spaces kept", "a= b \n\n", "a", " b " },
		{ "Postfix: sender", postfix_rcpt, "sender",
		    "Alice@Example.org" },
		{ "Postfix: sasl_username", postfix_rcpt, "sasl_username",
		    "alice" },
		{ "Postfix: last attribute", postfix_rcpt, "mail_version",
		    "3.7.11" },
		{ "Postfix: empty", postfix_rcpt, "queue_id", "" },
		{ "Postfix: absent", postfix_rcpt, "client_hostname", NULL },
	};

	get_cases_run(cases, NELEM(cases));
}
END_TEST

/* The attributes the decisions read are indexed while parsing; a lookup
   must give the same answer as a search of every line: the last value of
   a repeated attribute, NULL when absent, and names that only look like
   known ones (same first letters, longer, shorter) found as themselves. */
START_TEST(test_get_known)
{
	static const char text[] =
		"sender=first@example.org\n"
		"request=smtpd_access_policy\n"
		"recipient=r1@example.net\n"
		"sasl_username=alice\n"
		"sender=second@example.org\n"
		"senders=s\n"
		"sende=x\n"
		"sasl_sender=ss@example.org\n"
		"recipient_count=3\n"
		"recipient=r2@example.net\n"
		"rq=short\n"
		"r=one letter\n"
		"requests=n\n"
		"protocol_name=ESMTP\n"
		"protocol_state=RCPT\n"
		"client_name=c.example.org\n"
		"client_address=192.0.2.10\n"
		"instance=I1\n"
		"instance=I2\n"
		"queue=q\n"
		"queue_id=\n"
		"sender=\n"
		"\n";
	static const struct {
		const char	*attr;
		const char	*want;
	} cases[] = {
		{ "sender", "" },	/* third sender= line, empty */
		{ "request", "smtpd_access_policy" },
		{ "recipient", "r2@example.net" },
		{ "sasl_username", "alice" },
		{ "senders", "s" },
		{ "sende", "x" },
		{ "sasl_sender", "ss@example.org" },
		{ "recipient_count", "3" },
		{ "rq", "short" },
		{ "r", "one letter" },
		{ "requests", "n" },
		{ "protocol_name", "ESMTP" },
		{ "protocol_state", "RCPT" },
		{ "client_name", "c.example.org" },
		{ "client_address", "192.0.2.10" },
		{ "instance", "I2" },
		{ "queue", "q" },
		{ "queue_id", "" },
		{ "s", NULL },
		{ "", NULL },
		{ "re", NULL },
		{ "sasl", NULL },
		{ "client", NULL },
		{ "size", NULL },
		{ "Sender", NULL },
	};
	struct request	req;

	unit_request(&req, text);
	for (size_t i = 0; i < NELEM(cases); i++) {
		char what[64];

		snprintf(what, sizeof(what), "known index: %s", cases[i].attr);
		EXPECT_STR("request_get", what, request_get(&req,
		    cases[i].attr), cases[i].want);
	}
	request_free(&req);
}
END_TEST

/* Two sender= lines: the last one counts, as for any other attribute; a
   known attribute that is not sent is absent even when others are. */
START_TEST(test_get_known_repeated)
{
	static const struct get_case cases[] = {
		{ "two senders", "sender=a@example.org\n"
		    "sender=b@example.org\n\n", "sender", "b@example.org" },
		{ "sender, then empty sender", "sender=a@example.org\n"
		    "sender=\n\n", "sender", "" },
		{ "empty sender, then sender", "sender=\n"
		    "sender=a@example.org\n\n", "sender", "a@example.org" },
		{ "two SASL users", "sasl_username=a\nx=1\n"
		    "sasl_username=b\n\n", "sasl_username", "b" },
		{ "two states", "protocol_state=RCPT\n"
		    "protocol_state=DATA\n\n", "protocol_state", "DATA" },
		{ "two queue ids", "queue_id=A\nqueue_id=B\n\n", "queue_id",
		    "B" },
		{ "known absent", "sender=a@example.org\n\n", "recipient",
		    NULL },
		{ "unknown repeated", "x_attr=1\nsender=s\nx_attr=2\n\n",
		    "x_attr", "2" },
	};

	get_cases_run(cases, NELEM(cases));
}
END_TEST

/* n lines "aN=v" and the empty line. */
static char *
parse_many(size_t n, size_t *len_out)
{
	char	*p = malloc(n * 16 + 2);
	size_t	 o = 0;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(p + o, 16, "a%zu=v\n", i);
	p[o++] = '\n';
	*len_out = o;
	return p;
}

START_TEST(test_parse_max_attrs)
{
	struct request	 req;
	char		 err[128] = "", want[64];
	size_t		 len;
	char		*p;

	memset(&req, 0, sizeof(req));
	p = parse_many(REQUEST_MAX_ATTRS, &len);
	EXPECT_INT("request_parse", "REQUEST_MAX_ATTRS attributes",
	    request_parse(&req, p, len, err, sizeof(err)), 0);
	EXPECT_INT("request_parse", "REQUEST_MAX_ATTRS attributes: count",
	    req.nattrs, REQUEST_MAX_ATTRS);
	free(p);

	p = parse_many(REQUEST_MAX_ATTRS + 1, &len);
	EXPECT_INT("request_parse", "REQUEST_MAX_ATTRS+1 attributes",
	    request_parse(&req, p, len, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "more than %d attributes",
	    REQUEST_MAX_ATTRS);
	EXPECT_STR("request_parse", "REQUEST_MAX_ATTRS+1 attributes", err,
	    want);
	free(p);
	request_free(&req);
}
END_TEST

START_TEST(test_parse_reuse)
{
	struct request	req;
	char		err[128];

	/* A failed parse leaves nothing from the previous request behind
	   that could be mistaken for an answer. */
	unit_request(&req, "a=1\nb=2\n\n");
	EXPECT_INT("request_parse", "reuse after error",
	    request_parse(&req, "c=3\nbad\n\n", 9, err, sizeof(err)), -1);
	EXPECT_INT("request_parse", "reuse", request_parse(&req, "c=3\n\n",
	    5, err, sizeof(err)), 0);
	EXPECT_STR("request_get", "reuse: old attribute gone",
	    request_get(&req, "a"), NULL);
	EXPECT_STR("request_get", "reuse: new attribute",
	    request_get(&req, "c"), "3");
	/* ...and a known attribute of the previous request is gone too. */
	EXPECT_INT("request_parse", "reuse: first known", request_parse(&req,
	    "sender=a@example.org\nrecipient=r@x.example\n\n", 44, err,
	    sizeof(err)), 0);
	EXPECT_STR("request_get", "reuse: first known",
	    request_get(&req, "sender"), "a@example.org");
	EXPECT_INT("request_parse", "reuse: known", request_parse(&req,
	    "recipient=q@x.example\n\n", 23, err, sizeof(err)), 0);
	EXPECT_STR("request_get", "reuse: old known attribute gone",
	    request_get(&req, "sender"), NULL);
	EXPECT_STR("request_get", "reuse: new known attribute",
	    request_get(&req, "recipient"), "q@x.example");
	request_free(&req);
	EXPECT_INT("request_free", "no attributes after free", req.nattrs, 0);
	EXPECT_STR("request_get", "after free", request_get(&req, "c"), NULL);
	EXPECT_STR("request_str", "after free", request_str(&req, "c"), "");
	/* The copy is the request's own: the caller's bytes may go. */
	{
		char	text[] = "k=v\n\n";

		EXPECT_INT("request_parse", "own copy", request_parse(&req,
		    text, strlen(text), err, sizeof(err)), 0);
		memset(text, 'x', sizeof(text) - 1);
		EXPECT_STR("request_get", "own copy", request_get(&req, "k"),
		    "v");
	}
	request_free(&req);
}
END_TEST

Suite *
request_suite(void)
{
	Suite	*s = suite_create("request");
	TCase	*tc = tcase_create("request");

	tcase_add_loop_test(tc, test_frame_cases, 0, (int)NELEM(frame_cases));
	tcase_add_test(tc, test_frame_back_to_back);
	tcase_add_test(tc, test_frame_limits);
	tcase_add_loop_test(tc, test_parse_cases, 0, (int)NELEM(parse_cases));
	tcase_add_test(tc, test_parse_values);
	tcase_add_test(tc, test_get_known);
	tcase_add_test(tc, test_get_known_repeated);
	tcase_add_test(tc, test_parse_max_attrs);
	tcase_add_test(tc, test_parse_reuse);
	suite_add_tcase(s, tc);
	return s;
}
