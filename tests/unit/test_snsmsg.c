/*
 * test_snsmsg.c - SNS envelopes (feedback/snsmsg.c): parsing each message
 * type and each kind of malformed body, the exact string AWS signs, the
 * SigningCertURL/SubscribeURL rule, and signature checks against an
 * RSA key and self-signed certificate made in memory when the suite
 * starts (no network, no clock: the certificate's dates are fixed).
 * The keys are made once, before Check forks the tests.
 */
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "../../feedback/snsmsg.h"
#include "buf.h"
#include "mem.h"
#include "unit.h"

/* Envelopes after the examples in the SNS developer guide. */
#define CERT_URL	"https://sns.us-west-2.amazonaws.com/" \
	    "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
#define UNSUB_URL	"https://sns.us-west-2.amazonaws.com/" \
	    "?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:" \
	    "us-west-2:123456789012:MyTopic:c9135db0"
#define SUB_URL		"https://sns.us-west-2.amazonaws.com/" \
	    "?Action=ConfirmSubscription&TopicArn=arn:aws:sns:" \
	    "us-west-2:123456789012:MyTopic&Token=2336412f37"
#define TOPIC		"arn:aws:sns:us-west-2:123456789012:MyTopic"

#define J_NOTE_HEAD	"{\"Type\":\"Notification\"," \
	    "\"MessageId\":\"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\"," \
	    "\"TopicArn\":\"" TOPIC "\","
#define J_NOTE_TAIL	"\"Message\":\"Hello world!\"," \
	    "\"Timestamp\":\"2012-05-02T00:54:06.655Z\"," \
	    "\"SignatureVersion\":\"1\"," \
	    "\"Signature\":\"EXAMPLEw6JRN\"," \
	    "\"SigningCertURL\":\"" CERT_URL "\"," \
	    "\"UnsubscribeURL\":\"" UNSUB_URL "\"}"
#define J_SUB		"{\"Type\":\"SubscriptionConfirmation\"," \
	    "\"MessageId\":\"165545c9-2a5c-472c-8df2-7ff2be2b3b1b\"," \
	    "\"Token\":\"2336412f37\"," \
	    "\"TopicArn\":\"" TOPIC "\"," \
	    "\"Message\":\"You have chosen to subscribe to the " \
	    "topic " TOPIC ".\\nTo confirm the subscription, " \
	    "visit the SubscribeURL included in this message.\"," \
	    "\"SubscribeURL\":\"" SUB_URL "\"," \
	    "\"Timestamp\":\"2012-04-26T20:45:04.751Z\"," \
	    "\"SignatureVersion\":\"1\"," \
	    "\"Signature\":\"EXAMPLEpH+DcEw==\"," \
	    "\"SigningCertURL\":\"" CERT_URL "\"}"
#define J_UNSUB		"{\"Type\":\"UnsubscribeConfirmation\"," \
	    "\"MessageId\":\"47138184-6831-46b8-8f7c-afc488602d7d\"," \
	    "\"Token\":\"2336412f37\"," \
	    "\"TopicArn\":\"" TOPIC "\"," \
	    "\"Message\":\"You have chosen to deactivate " \
	    "subscription " TOPIC ":2bcfbf39\"," \
	    "\"SubscribeURL\":\"" SUB_URL "\"," \
	    "\"Timestamp\":\"2012-04-26T20:06:41.581Z\"," \
	    "\"SignatureVersion\":\"2\"," \
	    "\"Signature\":\"EXAMPLEHXgJm\"," \
	    "\"SigningCertURL\":\"" CERT_URL "\"}"

/* The fields of a struct snsmsg in declaration order, for comparing. */
enum { NFIELDS = 11 };
static const char *const field_names[NFIELDS] = {
	"message_id", "topic_arn", "subject", "message", "timestamp",
	"signature_version", "signature", "signing_cert_url",
	"subscribe_url", "unsubscribe_url", "token",
};

static void
fields_of(const struct snsmsg *m, const char *out[NFIELDS])
{
	out[0] = m->message_id;
	out[1] = m->topic_arn;
	out[2] = m->subject;
	out[3] = m->message;
	out[4] = m->timestamp;
	out[5] = m->signature_version;
	out[6] = m->signature;
	out[7] = m->signing_cert_url;
	out[8] = m->subscribe_url;
	out[9] = m->unsubscribe_url;
	out[10] = m->token;
}

static const struct {
	const char		*name;
	const char		*body;
	enum snsmsg_type	 want_type;
	const char		*want[NFIELDS];
} good_cases[] = {
	{ "Notification with Subject",
	    J_NOTE_HEAD "\"Subject\":\"My First Message\"," J_NOTE_TAIL,
	    SNSMSG_NOTIFICATION,
	    { "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TOPIC,
	    "My First Message", "Hello world!", "2012-05-02T00:54:06.655Z",
	    "1", "EXAMPLEw6JRN", CERT_URL, NULL, UNSUB_URL, NULL } },
	{ "Notification without Subject", J_NOTE_HEAD J_NOTE_TAIL,
	    SNSMSG_NOTIFICATION,
	    { "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TOPIC, NULL,
	    "Hello world!", "2012-05-02T00:54:06.655Z", "1", "EXAMPLEw6JRN",
	    CERT_URL, NULL, UNSUB_URL, NULL } },
	{ "Notification, Subject null",
	    J_NOTE_HEAD "\"Subject\":null," J_NOTE_TAIL,
	    SNSMSG_NOTIFICATION,
	    { "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TOPIC, NULL,
	    "Hello world!", "2012-05-02T00:54:06.655Z", "1", "EXAMPLEw6JRN",
	    CERT_URL, NULL, UNSUB_URL, NULL } },
	{ "Notification, empty Subject",
	    J_NOTE_HEAD "\"Subject\":\"\"," J_NOTE_TAIL,
	    SNSMSG_NOTIFICATION,
	    { "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TOPIC, "",
	    "Hello world!", "2012-05-02T00:54:06.655Z", "1", "EXAMPLEw6JRN",
	    CERT_URL, NULL, UNSUB_URL, NULL } },
	{ "Notification, unknown fields and Token ignored",
	    J_NOTE_HEAD "\"MessageAttributes\":{\"a\":[1,2]},\"Token\":7,"
	    "\"SubscribeURL\":false," J_NOTE_TAIL,
	    SNSMSG_NOTIFICATION,
	    { "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TOPIC, NULL,
	    "Hello world!", "2012-05-02T00:54:06.655Z", "1", "EXAMPLEw6JRN",
	    CERT_URL, NULL, UNSUB_URL, NULL } },
	{ "Notification without UnsubscribeURL",
	    "{\"Type\":\"Notification\",\"MessageId\":\"m\",\"TopicArn\":\"t\","
	    "\"Message\":\"x\",\"Timestamp\":\"ts\",\"SignatureVersion\":\"2\","
	    "\"Signature\":\"s\",\"SigningCertURL\":\"c\"}",
	    SNSMSG_NOTIFICATION,
	    { "m", "t", NULL, "x", "ts", "2", "s", "c", NULL, NULL, NULL } },
	{ "escapes undone",
	    " \r\n{\"Type\":\"Notification\",\"MessageId\":\"m\","
	    "\"TopicArn\":\"t\",\"Subject\":\"caf\\u00e9 \\ud83d\\ude00\","
	    "\"Message\":\"{\\\"notificationType\\\":\\\"Bounce\\\"}\\n\\t"
	    "\\/\\\\\",\"Timestamp\":\"ts\",\"SignatureVersion\":\"1\","
	    "\"Signature\":\"s\",\"SigningCertURL\":\"c\"}\n ",
	    SNSMSG_NOTIFICATION,
	    { "m", "t", "caf\xc3\xa9 \xf0\x9f\x98\x80",
	    "{\"notificationType\":\"Bounce\"}\n\t/\\", "ts", "1", "s", "c",
	    NULL, NULL, NULL } },
	{ "SubscriptionConfirmation", J_SUB,
	    SNSMSG_SUBSCRIPTION_CONFIRMATION,
	    { "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", TOPIC, NULL,
	    "You have chosen to subscribe to the topic " TOPIC ".\nTo "
	    "confirm the subscription, visit the SubscribeURL included in "
	    "this message.", "2012-04-26T20:45:04.751Z", "1",
	    "EXAMPLEpH+DcEw==", CERT_URL, SUB_URL, NULL, "2336412f37" } },
	{ "UnsubscribeConfirmation", J_UNSUB,
	    SNSMSG_UNSUBSCRIBE_CONFIRMATION,
	    { "47138184-6831-46b8-8f7c-afc488602d7d", TOPIC, NULL,
	    "You have chosen to deactivate subscription " TOPIC ":2bcfbf39",
	    "2012-04-26T20:06:41.581Z", "2", "EXAMPLEHXgJm", CERT_URL,
	    SUB_URL, NULL, "2336412f37" } },
	{ "confirmation, Subject ignored",
	    "{\"Type\":\"SubscriptionConfirmation\",\"Subject\":\"s\","
	    "\"MessageId\":\"m\",\"Token\":\"k\",\"TopicArn\":\"t\","
	    "\"Message\":\"x\",\"SubscribeURL\":\"u\",\"Timestamp\":\"ts\","
	    "\"SignatureVersion\":\"1\",\"Signature\":\"g\","
	    "\"SigningCertURL\":\"c\"}",
	    SNSMSG_SUBSCRIPTION_CONFIRMATION,
	    { "m", "t", NULL, "x", "ts", "1", "g", "c", "u", NULL, "k" } },
};

START_TEST(test_parse_good)
{
	struct snsmsg	 m;
	char		 err[256] = "";
	const char	*got[NFIELDS];
	size_t		 i;

	ck_assert_msg(snsmsg_parse(good_cases[_i].body,
	    strlen(good_cases[_i].body), &m, err, sizeof(err)) == 0,
	    "snsmsg_parse: \"%s\": got -1 (%s), want 0", good_cases[_i].name,
	    err);
	EXPECT_STR("snsmsg_parse", good_cases[_i].name,
	    snsmsg_type_name(m.type),
	    snsmsg_type_name(good_cases[_i].want_type));
	fields_of(&m, got);
	for (i = 0; i < NFIELDS; i++)
		ck_assert_msg(got[i] == good_cases[_i].want[i] ||
		    (got[i] != NULL && good_cases[_i].want[i] != NULL &&
		    strcmp(got[i], good_cases[_i].want[i]) == 0),
		    "snsmsg_parse: \"%s\": %s: got \"%s\", want \"%s\"",
		    good_cases[_i].name, field_names[i],
		    got[i] != NULL ? got[i] : "(null)",
		    good_cases[_i].want[i] != NULL ? good_cases[_i].want[i] :
		    "(null)");
	snsmsg_clear(&m);
	fields_of(&m, got);
	for (i = 0; i < NFIELDS; i++)
		ck_assert_msg(got[i] == NULL, "snsmsg_clear: \"%s\": %s left",
		    good_cases[_i].name, field_names[i]);
	snsmsg_clear(&m);
}
END_TEST

/* want_err ending in "*" is a prefix: json-c words its own errors. */
static const struct {
	const char	*name;
	const char	*body;
	size_t		 len;		/* 0: strlen(body) */
	const char	*want_err;
} bad_cases[] = {
	{ "empty body", "", 0, "not JSON: empty body" },
	{ "white space only", " \n", 0, "not JSON: *" },
	{ "not JSON", "Type=Notification", 0, "not JSON: *" },
	{ "truncated", "{\"Type\":\"Notification\"", 0, "not JSON: *" },
	{ "trailing data", "{\"Type\":\"Notification\"} x", 0,
	    "not JSON: *" },
	{ "two objects", "{} {}", 0, "not JSON: *" },
	{ "trailing comma", "{\"Type\":\"Notification\",}", 0,
	    "not JSON: *" },
	{ "array", "[" J_SUB "]", 0, "not a JSON object" },
	{ "string", "\"Notification\"", 0, "not a JSON object" },
	{ "number", "42", 0, "not a JSON object" },
	{ "null", "null", 0, "not a JSON object" },
	{ "NUL inside", "{\"Type\":\"Noti\0fication\"}", 24,
	    "NUL byte in body" },
	{ "NUL after the object", "{}\0", 3, "NUL byte in body" },
	{ "escaped NUL in Message",
	    "{\"Type\":\"Notification\",\"MessageId\":\"m\",\"TopicArn\":\"t\","
	    "\"Message\":\"a\\u0000b\",\"Timestamp\":\"ts\","
	    "\"SignatureVersion\":\"1\",\"Signature\":\"s\","
	    "\"SigningCertURL\":\"c\"}", 0,
	    "field Message holds a NUL byte" },
	{ "empty object", "{}", 0, "missing field Type" },
	{ "Type a number", "{\"Type\":1}", 0, "field Type is not a string" },
	{ "Type null", "{\"Type\":null}", 0, "field Type is not a string" },
	{ "unknown Type", "{\"Type\":\"Bogus\"}", 0, "unknown Type <Bogus>" },
	{ "Type in lower case", "{\"Type\":\"notification\"}", 0,
	    "unknown Type <notification>" },
	{ "Type with a control character", "{\"Type\":\"A\\u0007B\\n\"}", 0,
	    "unknown Type <A?B?>" },
	{ "Type cut in error text",
	    "{\"Type\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", 0,
	    "unknown Type <xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxx>" },
	{ "Subject a number", J_NOTE_HEAD "\"Subject\":5," J_NOTE_TAIL, 0,
	    "field Subject is not a string" },
	{ "Subject an object", J_NOTE_HEAD "\"Subject\":{}," J_NOTE_TAIL, 0,
	    "field Subject is not a string" },
	{ "UnsubscribeURL an array",
	    "{\"Type\":\"Notification\",\"MessageId\":\"m\",\"TopicArn\":\"t\","
	    "\"Message\":\"x\",\"Timestamp\":\"ts\",\"SignatureVersion\":\"1\","
	    "\"Signature\":\"s\",\"SigningCertURL\":\"c\","
	    "\"UnsubscribeURL\":[\"u\"]}", 0,
	    "field UnsubscribeURL is not a string" },
	{ "Message an object (not a JSON string)",
	    "{\"Type\":\"Notification\",\"MessageId\":\"m\",\"TopicArn\":\"t\","
	    "\"Message\":{\"notificationType\":\"Bounce\"},"
	    "\"Timestamp\":\"ts\",\"SignatureVersion\":\"1\","
	    "\"Signature\":\"s\",\"SigningCertURL\":\"c\"}", 0,
	    "field Message is not a string" },
};

START_TEST(test_parse_bad)
{
	struct snsmsg	 m;
	char		 err[256] = "";
	const char	*got[NFIELDS], *want = bad_cases[_i].want_err;
	size_t		 len = bad_cases[_i].len, wl = strlen(want), i;

	if (len == 0)
		len = strlen(bad_cases[_i].body);
	memset(&m, 0xa5, sizeof(m));
	EXPECT_INT("snsmsg_parse", bad_cases[_i].name,
	    snsmsg_parse(bad_cases[_i].body, len, &m, err, sizeof(err)), -1);
	if (want[wl - 1] == '*')
		ck_assert_msg(strncmp(err, want, wl - 1) == 0,
		    "snsmsg_parse: \"%s\": got \"%s\", want \"%s\"",
		    bad_cases[_i].name, err, want);
	else
		EXPECT_STR("snsmsg_parse", bad_cases[_i].name, err, want);
	fields_of(&m, got);
	for (i = 0; i < NFIELDS; i++)
		ck_assert_msg(got[i] == NULL, "snsmsg_parse: \"%s\": %s not "
		    "NULL after failure", bad_cases[_i].name, field_names[i]);
}
END_TEST

/* Envelopes as key/value lists, to leave out or retype each field. */
struct kv {
	const char	*key;
	const char	*value;
};
static const struct kv note_kv[] = {
	{ "Type", "Notification" }, { "MessageId", "m" },
	{ "TopicArn", "t" }, { "Message", "x" }, { "Timestamp", "ts" },
	{ "SignatureVersion", "1" }, { "Signature", "s" },
	{ "SigningCertURL", "c" }, { NULL, NULL },
};
static const struct kv sub_kv[] = {
	{ "Type", "SubscriptionConfirmation" }, { "MessageId", "m" },
	{ "Token", "k" }, { "TopicArn", "t" }, { "Message", "x" },
	{ "SubscribeURL", "u" }, { "Timestamp", "ts" },
	{ "SignatureVersion", "1" }, { "Signature", "s" },
	{ "SigningCertURL", "c" }, { NULL, NULL },
};
static const struct kv unsub_kv[] = {
	{ "Type", "UnsubscribeConfirmation" }, { "MessageId", "m" },
	{ "Token", "k" }, { "TopicArn", "t" }, { "Message", "x" },
	{ "SubscribeURL", "u" }, { "Timestamp", "ts" },
	{ "SignatureVersion", "1" }, { "Signature", "s" },
	{ "SigningCertURL", "c" }, { NULL, NULL },
};

/* The object of fields, without `drop`, and with `retype` given the raw
   JSON value `raw`. */
static void
kv_body(struct buf *b, const struct kv *f, const char *drop,
    const char *retype, const char *raw)
{
	const char *sep = "{";

	for (; f->key != NULL; f++) {
		if (drop != NULL && strcmp(f->key, drop) == 0)
			continue;
		if (retype != NULL && strcmp(f->key, retype) == 0)
			buf_printf(b, "%s\"%s\":%s", sep, f->key, raw);
		else
			buf_printf(b, "%s\"%s\":\"%s\"", sep, f->key, f->value);
		sep = ",";
	}
	buf_puts(b, "}");
}

START_TEST(test_parse_each_field)
{
	static const struct kv *const sets[] = { note_kv, sub_kv, unsub_kv };
	static const char *const raws[] = { "42", "null", "true", "[\"x\"]",
	    "{}" };
	struct snsmsg	 m;
	char		 err[256], name[128], want[128];
	size_t		 s, r;
	const struct kv	*f;

	for (s = 0; s < NELEM(sets); s++) {
		struct buf b = BUF_INIT;

		kv_body(&b, sets[s], NULL, NULL, NULL);
		ck_assert_msg(snsmsg_parse(b.data, b.len, &m, err,
		    sizeof(err)) == 0, "snsmsg_parse: \"%s complete\": "
		    "got -1 (%s), want 0", sets[s]->value, err);
		snsmsg_clear(&m);
		buf_free(&b);
		for (f = sets[s]; f->key != NULL; f++) {
			snprintf(name, sizeof(name), "%s without %s",
			    sets[s]->value, f->key);
			snprintf(want, sizeof(want), "missing field %s",
			    f->key);
			kv_body(&b, sets[s], f->key, NULL, NULL);
			err[0] = '\0';
			EXPECT_INT("snsmsg_parse", name, snsmsg_parse(b.data,
			    b.len, &m, err, sizeof(err)), -1);
			EXPECT_STR("snsmsg_parse", name, err, want);
			buf_free(&b);
			for (r = 0; r < NELEM(raws); r++) {
				snprintf(name, sizeof(name), "%s with %s %s",
				    sets[s]->value, f->key, raws[r]);
				snprintf(want, sizeof(want),
				    "field %s is not a string", f->key);
				kv_body(&b, sets[s], NULL, f->key, raws[r]);
				err[0] = '\0';
				EXPECT_INT("snsmsg_parse", name,
				    snsmsg_parse(b.data, b.len, &m, err,
				    sizeof(err)), -1);
				EXPECT_STR("snsmsg_parse", name, err, want);
				buf_free(&b);
			}
		}
	}
}
END_TEST

START_TEST(test_type_name)
{
	EXPECT_STR("snsmsg_type_name", "notification",
	    snsmsg_type_name(SNSMSG_NOTIFICATION), "Notification");
	EXPECT_STR("snsmsg_type_name", "subscription",
	    snsmsg_type_name(SNSMSG_SUBSCRIPTION_CONFIRMATION),
	    "SubscriptionConfirmation");
	EXPECT_STR("snsmsg_type_name", "unsubscribe",
	    snsmsg_type_name(SNSMSG_UNSUBSCRIBE_CONFIRMATION),
	    "UnsubscribeConfirmation");
}
END_TEST

static const struct {
	const char	*name;
	const char	*body;
	const char	*want;
} sign_cases[] = {
	{ "Notification with Subject",
	    J_NOTE_HEAD "\"Subject\":\"My First Message\"," J_NOTE_TAIL,
	    "Message\nHello world!\n"
	    "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
	    "Subject\nMy First Message\n"
	    "Timestamp\n2012-05-02T00:54:06.655Z\n"
	    "TopicArn\n" TOPIC "\n"
	    "Type\nNotification\n" },
	{ "Notification without Subject", J_NOTE_HEAD J_NOTE_TAIL,
	    "Message\nHello world!\n"
	    "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
	    "Timestamp\n2012-05-02T00:54:06.655Z\n"
	    "TopicArn\n" TOPIC "\n"
	    "Type\nNotification\n" },
	{ "Notification with empty Subject",
	    J_NOTE_HEAD "\"Subject\":\"\"," J_NOTE_TAIL,
	    "Message\nHello world!\n"
	    "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
	    "Subject\n\n"
	    "Timestamp\n2012-05-02T00:54:06.655Z\n"
	    "TopicArn\n" TOPIC "\n"
	    "Type\nNotification\n" },
	{ "SubscriptionConfirmation", J_SUB,
	    "Message\nYou have chosen to subscribe to the topic " TOPIC
	    ".\nTo confirm the subscription, visit the SubscribeURL included "
	    "in this message.\n"
	    "MessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\n"
	    "SubscribeURL\n" SUB_URL "\n"
	    "Timestamp\n2012-04-26T20:45:04.751Z\n"
	    "Token\n2336412f37\n"
	    "TopicArn\n" TOPIC "\n"
	    "Type\nSubscriptionConfirmation\n" },
	{ "UnsubscribeConfirmation", J_UNSUB,
	    "Message\nYou have chosen to deactivate subscription " TOPIC
	    ":2bcfbf39\n"
	    "MessageId\n47138184-6831-46b8-8f7c-afc488602d7d\n"
	    "SubscribeURL\n" SUB_URL "\n"
	    "Timestamp\n2012-04-26T20:06:41.581Z\n"
	    "Token\n2336412f37\n"
	    "TopicArn\n" TOPIC "\n"
	    "Type\nUnsubscribeConfirmation\n" },
	{ "escapes undone before signing",
	    "{\"Type\":\"Notification\",\"MessageId\":\"m\",\"TopicArn\":\"t\","
	    "\"Subject\":\"caf\\u00e9\",\"Message\":\"{\\\"a\\\":\\\"b\\\"}"
	    "\\r\\n\\/\",\"Timestamp\":\"ts\",\"SignatureVersion\":\"1\","
	    "\"Signature\":\"s\",\"SigningCertURL\":\"c\"}",
	    "Message\n{\"a\":\"b\"}\r\n/\nMessageId\nm\n"
	    "Subject\ncaf\xc3\xa9\nTimestamp\nts\nTopicArn\nt\n"
	    "Type\nNotification\n" },
};

START_TEST(test_string_to_sign)
{
	struct snsmsg	 m;
	char		 err[256] = "", *got;

	ck_assert_msg(snsmsg_parse(sign_cases[_i].body,
	    strlen(sign_cases[_i].body), &m, err, sizeof(err)) == 0,
	    "snsmsg_parse: \"%s\": %s", sign_cases[_i].name, err);
	got = snsmsg_string_to_sign(&m);
	EXPECT_STR("snsmsg_string_to_sign", sign_cases[_i].name, got,
	    sign_cases[_i].want);
	free(got);
	snsmsg_clear(&m);
}
END_TEST

static const struct {
	const char	*url;
	bool		 pem;
	bool		 want;
} url_cases[] = {
	{ "https://sns.us-east-1.amazonaws.com/"
	    "SimpleNotificationService-abc.pem", true, true },
	{ "https://sns.cn-north-1.amazonaws.com.cn/x.pem", true, true },
	{ "https://sns.us-gov-west-1.amazonaws.com/x.pem", true, true },
	{ "https://SNS.US-EAST-1.AMAZONAWS.COM/x.pem", true, true },
	{ "HTTPS://sns.us-east-1.amazonaws.com/x.pem", true, true },
	{ "https://sns.us-east-1.amazonaws.com:443/x.pem", true, true },
	{ "https://sns.abc.amazonaws.com/x.pem", true, true },
	{ "https://sns.xn--9ca.amazonaws.com/x.pem", true, true },
	{ "https://sns.us-east-1.amazonaws.com/a/b/x.pem", true, true },
	{ "https://sns.us-east-1.amazonaws.com.evil.example/x.pem", true,
	    false },
	{ "https://sns.us-east-1.amazonaws.com@evil.example/x.pem", true,
	    false },
	{ "https://evil.example@sns.us-east-1.amazonaws.com/x.pem", true,
	    false },
	{ "https://u:p@sns.us-east-1.amazonaws.com/x.pem", true, false },
	{ "http://sns.us-east-1.amazonaws.com/x.pem", true, false },
	{ "ftp://sns.us-east-1.amazonaws.com/x.pem", true, false },
	{ "//sns.us-east-1.amazonaws.com/x.pem", true, false },
	{ "https:/sns.us-east-1.amazonaws.com/x.pem", true, false },
	{ "https:sns.us-east-1.amazonaws.com/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com:8443/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com:444/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com:/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com:0443/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com:443:443/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.pem?y", true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.pem?", true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.pem?a.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com?x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.pem#y", true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.pem.txt", true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.crt", true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.PEM", true, false },
	{ "https://sns.us-east-1.amazonaws.com/", true, false },
	{ "https://sns.us-east-1.amazonaws.com", true, false },
	{ "https://sns.us-east-1.amazonaws.com.pem", true, false },
	{ "https://evil.example/sns.us-east-1.amazonaws.com/x.pem", true,
	    false },
	{ "https://evil.example?sns.us-east-1.amazonaws.com/x.pem", true,
	    false },
	{ "https://sns.ab.amazonaws.com/x.pem", true, false },
	{ "https://sns..amazonaws.com/x.pem", true, false },
	{ "https://sns.amazonaws.com/x.pem", true, false },
	{ "https://sns.us.east.amazonaws.com/x.pem", true, false },
	{ "https://sns.us_east.amazonaws.com/x.pem", true, false },
	{ "https://s3.us-east-1.amazonaws.com/x.pem", true, false },
	{ "https://xsns.us-east-1.amazonaws.com/x.pem", true, false },
	{ "https://bucket.sns.us-east-1.amazonaws.com/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com./x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.co/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com.cn.evil/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.cn/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws%2ecom/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com\\@evil.example/x.pem", true,
	    false },
	{ "https://evil.example\\sns.us-east-1.amazonaws.com/x.pem", true,
	    false },
	{ "https://sns.us-\xc3\xa9" "ast-1.amazonaws.com/x.pem", true, false },
	{ "https://sns.us-east-1.amazon\xef\xbc\x8e" "aws.com/x.pem", true,
	    false },
	{ "https://sns.us-east-1.amazonaws.com/x y.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com/a\\b.pem", true, false },
	{ " https://sns.us-east-1.amazonaws.com/x.pem", true, false },
	{ "https://sns.us-east-1.amazonaws.com/x.pem\n", true, false },
	{ "https://sns.us-east-1.amazonaws.com\t/x.pem", true, false },
	{ "https://[::1]/x.pem", true, false },
	{ "https:///x.pem", true, false },
	{ "", true, false },
	{ "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"
	    "&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic"
	    "&Token=2336412f37", false, true },
	{ "https://sns.cn-north-1.amazonaws.com.cn?Action=x", false, true },
	{ "https://sns.us-west-2.amazonaws.com/", false, true },
	{ "https://sns.us-west-2.amazonaws.com", false, true },
	{ "http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription",
	    false, false },
	{ "https://evil.example/?Action=ConfirmSubscription", false, false },
	{ "https://sns.us-west-2.amazonaws.com@evil.example/?Action=x",
	    false, false },
	{ "https://sns.us-west-2.amazonaws.com:80/?Action=x", false, false },
	{ "https://sns.us-west-2.amazonaws.com/?Action=x#f", false, false },
	{ "https://sns.us-west-2.amazonaws.com.evil.example?Action=x", false,
	    false },
};

START_TEST(test_url)
{
	char name[512];

	snprintf(name, sizeof(name), "%s%s", url_cases[_i].url,
	    url_cases[_i].pem ? "" : " (not pem)");
	EXPECT_INT("snsmsg_url_ok", name,
	    snsmsg_url_ok(url_cases[_i].url, url_cases[_i].pem),
	    url_cases[_i].want);
}
END_TEST

START_TEST(test_url_null)
{
	EXPECT_INT("snsmsg_url_ok", "NULL", snsmsg_url_ok(NULL, true), false);
	EXPECT_INT("snsmsg_url_ok", "NULL", snsmsg_url_ok(NULL, false), false);
}
END_TEST

/* Keys and certificates for the signature cases, made by the unchecked
   fixture before the tests fork. */
static EVP_PKEY	*key_a, *key_b, *key_ec;
static char	*cert_a, *cert_b, *cert_ec;
static size_t	 cert_a_len, cert_b_len, cert_ec_len;

static char *
make_cert(EVP_PKEY *k, size_t *len_out)
{
	X509		*x = X509_new();
	X509_NAME	*name;
	BIO		*bio = BIO_new(BIO_s_mem());
	char		*data, *pem;
	long		 n;

	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(bio);
	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	/* Fixed dates: the unit tests read no clock. */
	ck_assert_int_eq(ASN1_TIME_set_string(X509_getm_notBefore(x),
	    "200101000000Z"), 1);
	ck_assert_int_eq(ASN1_TIME_set_string(X509_getm_notAfter(x),
	    "400101000000Z"), 1);
	ck_assert_int_eq(X509_set_pubkey(x, k), 1);
	name = X509_get_subject_name(x);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"sns.us-east-1.amazonaws.com", -1, -1, 0),
	    1);
	ck_assert_int_eq(X509_set_issuer_name(x, name), 1);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	ck_assert_int_eq(PEM_write_bio_X509(bio, x), 1);
	n = BIO_get_mem_data(bio, &data);
	ck_assert_int_gt(n, 0);
	pem = xstrndup(data, (size_t)n);
	*len_out = (size_t)n;
	BIO_free(bio);
	X509_free(x);
	return pem;
}

static void
keys_setup(void)
{
	key_a = EVP_RSA_gen(2048);
	key_b = EVP_RSA_gen(2048);
	key_ec = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(key_a);
	ck_assert_ptr_nonnull(key_b);
	ck_assert_ptr_nonnull(key_ec);
	cert_a = make_cert(key_a, &cert_a_len);
	cert_b = make_cert(key_b, &cert_b_len);
	cert_ec = make_cert(key_ec, &cert_ec_len);
}

static void
keys_teardown(void)
{
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	EVP_PKEY_free(key_ec);
	free(cert_a);
	free(cert_b);
	free(cert_ec);
	key_a = key_b = key_ec = NULL;
	cert_a = cert_b = cert_ec = NULL;
}

/* Base64 of key k's signature over text with digest md; caller frees. */
static char *
sign_text(EVP_PKEY *k, const EVP_MD *md, const char *text)
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	unsigned char	 sig[1024];
	size_t		 siglen = sizeof(sig);
	char		*b64;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, md, NULL, k), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &siglen,
	    (const unsigned char *)text, strlen(text)), 1);
	EVP_MD_CTX_free(ctx);
	b64 = xmalloc((siglen + 2) / 3 * 4 + 1);
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	return b64;
}

/* Replace string field *fp with a copy of s (NULL: remove it). */
static void
set_field(char **fp, const char *s)
{
	free(*fp);
	*fp = xstrdup(s);
}

enum change {
	CH_NONE,
	CH_MESSAGE,		/* one character of Message */
	CH_ADD_SUBJECT,
	CH_DROP_SUBJECT,
	CH_SUBJECT,
	CH_MESSAGE_ID,
	CH_TIMESTAMP,
	CH_TOPIC,
	CH_TYPE,		/* Subscription <-> Unsubscribe */
	CH_TOKEN,
	CH_SUBSCRIBE_URL,
	CH_UNSUBSCRIBE_URL,	/* not part of the signed text */
	CH_CERT_URL,		/* not part of the signed text */
	CH_SIG_BIT,		/* one bit of the signature */
	CH_SIG_GARBAGE,
	CH_SIG_NO_PADDING,
	CH_SIG_BAD_PADDING,
	CH_SIG_LOOSE_BITS,	/* "==" after a character with bits left over */
	CH_SIG_NEWLINE,
	CH_SIG_SHORT,
	CH_SIG_EMPTY,
	CH_SIG_NULL,
};

enum which_cert {
	CERT_A,
	CERT_B,
	CERT_EC,
	CERT_GARBAGE,
	CERT_EMPTY,
	CERT_HALF,
	CERT_KEY_NOT_CERT,
};

static const struct {
	const char	*name;
	const char	*body;
	const char	*sign_version;	/* the digest used to sign */
	const char	*claim_version;	/* SignatureVersion as delivered */
	enum change	 change;
	enum which_cert	 cert;
	int		 want;
	const char	*want_err;	/* "*" ends a prefix; NULL: any */
} verify_cases[] = {
	{ "v1 valid", J_NOTE_HEAD J_NOTE_TAIL, "1", "1", CH_NONE, CERT_A, 1,
	    NULL },
	{ "v2 valid", J_NOTE_HEAD J_NOTE_TAIL, "2", "2", CH_NONE, CERT_A, 1,
	    NULL },
	{ "v1 valid with Subject", J_NOTE_HEAD "\"Subject\":\"s\","
	    J_NOTE_TAIL, "1", "1", CH_NONE, CERT_A, 1, NULL },
	{ "v2 valid with Subject", J_NOTE_HEAD "\"Subject\":\"s\","
	    J_NOTE_TAIL, "2", "2", CH_NONE, CERT_A, 1, NULL },
	{ "v1 SubscriptionConfirmation", J_SUB, "1", "1", CH_NONE, CERT_A, 1,
	    NULL },
	{ "v2 SubscriptionConfirmation", J_SUB, "2", "2", CH_NONE, CERT_A, 1,
	    NULL },
	{ "v2 UnsubscribeConfirmation", J_UNSUB, "2", "2", CH_NONE, CERT_A,
	    1, NULL },
	{ "UnsubscribeURL is not signed", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_UNSUBSCRIBE_URL, CERT_A, 1, NULL },
	{ "SigningCertURL is not signed", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_CERT_URL, CERT_A, 1, NULL },
	{ "v1 tampered Message", J_NOTE_HEAD J_NOTE_TAIL, "1", "1",
	    CH_MESSAGE, CERT_A, 0, "signature does not match" },
	{ "v2 tampered Message", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_MESSAGE, CERT_A, 0, "signature does not match" },
	{ "Subject added after signing", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_ADD_SUBJECT, CERT_A, 0, "signature does not match" },
	{ "Subject dropped after signing", J_NOTE_HEAD "\"Subject\":\"s\","
	    J_NOTE_TAIL, "2", "2", CH_DROP_SUBJECT, CERT_A, 0,
	    "signature does not match" },
	{ "Subject changed", J_NOTE_HEAD "\"Subject\":\"s\"," J_NOTE_TAIL,
	    "1", "1", CH_SUBJECT, CERT_A, 0, "signature does not match" },
	{ "MessageId changed", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_MESSAGE_ID, CERT_A, 0, "signature does not match" },
	{ "Timestamp changed", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_TIMESTAMP, CERT_A, 0, "signature does not match" },
	{ "TopicArn changed", J_NOTE_HEAD J_NOTE_TAIL, "2", "2", CH_TOPIC,
	    CERT_A, 0, "signature does not match" },
	{ "Type changed", J_SUB, "2", "2", CH_TYPE, CERT_A, 0,
	    "signature does not match" },
	{ "Token changed", J_SUB, "2", "2", CH_TOKEN, CERT_A, 0,
	    "signature does not match" },
	{ "SubscribeURL changed", J_SUB, "2", "2", CH_SUBSCRIBE_URL, CERT_A,
	    0, "signature does not match" },
	{ "signature bit flipped", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_SIG_BIT, CERT_A, 0, "signature does not match" },
	{ "other key's certificate, v1", J_NOTE_HEAD J_NOTE_TAIL, "1", "1",
	    CH_NONE, CERT_B, 0, "signature does not match" },
	{ "other key's certificate, v2", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_NONE, CERT_B, 0, "signature does not match" },
	{ "signed SHA1, claims v2", J_NOTE_HEAD J_NOTE_TAIL, "1", "2",
	    CH_NONE, CERT_A, 0, "signature does not match" },
	{ "signed SHA256, claims v1", J_NOTE_HEAD J_NOTE_TAIL, "2", "1",
	    CH_NONE, CERT_A, 0, "signature does not match" },
	{ "SignatureVersion 3", J_NOTE_HEAD J_NOTE_TAIL, "2", "3", CH_NONE,
	    CERT_A, 0, "unsupported SignatureVersion <3>" },
	{ "SignatureVersion empty", J_NOTE_HEAD J_NOTE_TAIL, "2", "", CH_NONE,
	    CERT_A, 0, "unsupported SignatureVersion <>" },
	{ "SignatureVersion 01", J_NOTE_HEAD J_NOTE_TAIL, "1", "01", CH_NONE,
	    CERT_A, 0, "unsupported SignatureVersion <01>" },
	{ "SignatureVersion 2 with space", J_NOTE_HEAD J_NOTE_TAIL, "2",
	    "2 ", CH_NONE, CERT_A, 0, "unsupported SignatureVersion <2 >" },
	{ "SignatureVersion 3, garbage certificate", J_NOTE_HEAD J_NOTE_TAIL,
	    "2", "3", CH_NONE, CERT_GARBAGE, 0,
	    "unsupported SignatureVersion <3>" },
	{ "bad base64", J_NOTE_HEAD J_NOTE_TAIL, "2", "2", CH_SIG_GARBAGE,
	    CERT_A, 0, "Signature is not valid base64" },
	{ "base64 without padding", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_SIG_NO_PADDING, CERT_A, 0, "Signature is not valid base64" },
	{ "base64 with extra padding", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_SIG_BAD_PADDING, CERT_A, 0, "Signature is not valid base64" },
	{ "base64 with bits after the last byte", J_NOTE_HEAD J_NOTE_TAIL,
	    "2", "2", CH_SIG_LOOSE_BITS, CERT_A, 0,
	    "Signature is not valid base64" },
	{ "base64 with a newline", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_SIG_NEWLINE, CERT_A, 0, "Signature is not valid base64" },
	{ "empty signature", J_NOTE_HEAD J_NOTE_TAIL, "2", "2", CH_SIG_EMPTY,
	    CERT_A, 0, "Signature is not valid base64" },
	{ "no signature", J_NOTE_HEAD J_NOTE_TAIL, "2", "2", CH_SIG_NULL,
	    CERT_A, 0, "Signature is not valid base64" },
	{ "signature too short", J_NOTE_HEAD J_NOTE_TAIL, "2", "2",
	    CH_SIG_SHORT, CERT_A, 0, "signature does not match" },
	{ "EC certificate", J_NOTE_HEAD J_NOTE_TAIL, "2", "2", CH_NONE,
	    CERT_EC, 0, "certificate key is not RSA" },
	{ "garbage certificate", J_NOTE_HEAD J_NOTE_TAIL, "2", "2", CH_NONE,
	    CERT_GARBAGE, -1, "cannot read certificate: *" },
	{ "empty certificate", J_NOTE_HEAD J_NOTE_TAIL, "2", "2", CH_NONE,
	    CERT_EMPTY, -1, "cannot read certificate: empty" },
	{ "half a certificate", J_NOTE_HEAD J_NOTE_TAIL, "2", "2", CH_NONE,
	    CERT_HALF, -1, "cannot read certificate: *" },
	{ "private key, not a certificate", J_NOTE_HEAD J_NOTE_TAIL, "1", "1",
	    CH_NONE, CERT_KEY_NOT_CERT, -1, "cannot read certificate: *" },
};

static void
apply_change(struct snsmsg *m, enum change c)
{
	size_t n;

	switch (c) {
	case CH_NONE:
		break;
	case CH_MESSAGE:
		m->message[0] ^= 0x01;
		break;
	case CH_ADD_SUBJECT:
		ck_assert_ptr_null(m->subject);
		set_field(&m->subject, "s");
		break;
	case CH_DROP_SUBJECT:
		ck_assert_ptr_nonnull(m->subject);
		free(m->subject);
		m->subject = NULL;
		break;
	case CH_SUBJECT:
		set_field(&m->subject, "S");
		break;
	case CH_MESSAGE_ID:
		set_field(&m->message_id,
		    "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf325");
		break;
	case CH_TIMESTAMP:
		set_field(&m->timestamp, "2012-05-02T00:54:06.656Z");
		break;
	case CH_TOPIC:
		set_field(&m->topic_arn,
		    "arn:aws:sns:us-west-2:123456789012:Other");
		break;
	case CH_TYPE:
		m->type = SNSMSG_UNSUBSCRIBE_CONFIRMATION;
		break;
	case CH_TOKEN:
		set_field(&m->token, "2336412f38");
		break;
	case CH_SUBSCRIBE_URL:
		set_field(&m->subscribe_url,
		    "https://sns.us-west-2.amazonaws.com/?Action=Other");
		break;
	case CH_UNSUBSCRIBE_URL:
		set_field(&m->unsubscribe_url, "https://evil.example/");
		break;
	case CH_CERT_URL:
		set_field(&m->signing_cert_url, "https://evil.example/x.pem");
		break;
	case CH_SIG_BIT:
		/* a middle character, away from the padding */
		n = strlen(m->signature) / 2;
		m->signature[n] = m->signature[n] == 'A' ? 'B' : 'A';
		break;
	case CH_SIG_GARBAGE:
		set_field(&m->signature, "!!!!not*base64??");
		break;
	case CH_SIG_NO_PADDING:
		/* 256 bytes encode to 344 characters ending in "=" */
		n = strlen(m->signature);
		ck_assert_int_eq(m->signature[n - 1], '=');
		m->signature[n - 1] = '\0';
		break;
	case CH_SIG_BAD_PADDING:
		n = strlen(m->signature);
		m->signature[n - 2] = '=';
		m->signature[n - 3] = '=';
		break;
	case CH_SIG_LOOSE_BITS:
		/* the last byte's 4 unused bits must be zero: "B" is 000001 */
		n = strlen(m->signature);
		m->signature[n - 3] = 'B';
		break;
	case CH_SIG_NEWLINE:
		m->signature[64] = '\n';
		break;
	case CH_SIG_SHORT:
		m->signature[100] = '\0';
		break;
	case CH_SIG_EMPTY:
		set_field(&m->signature, "");
		break;
	case CH_SIG_NULL:
		free(m->signature);
		m->signature = NULL;
		break;
	}
}

/* The certificate bytes for a case; *len_out is its length. */
static const char *
cert_for(enum which_cert w, size_t *len_out)
{
	static const char garbage[] = "-----BEGIN CERTIFICATE-----\n"
	    "bm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
	static const char key[] = "-----BEGIN PRIVATE KEY-----\n"
	    "MC4CAQAwBQYDK2VwBCIEIBmJ5J1mPu0w1VnWbGRyhfDuoo2GjmCaI1+0wJO7Rq8c\n"
	    "-----END PRIVATE KEY-----\n";

	switch (w) {
	case CERT_A:
		*len_out = cert_a_len;
		return cert_a;
	case CERT_B:
		*len_out = cert_b_len;
		return cert_b;
	case CERT_EC:
		*len_out = cert_ec_len;
		return cert_ec;
	case CERT_GARBAGE:
		*len_out = sizeof(garbage) - 1;
		return garbage;
	case CERT_EMPTY:
		*len_out = 0;
		return "";
	case CERT_HALF:
		*len_out = cert_a_len / 2;
		return cert_a;
	case CERT_KEY_NOT_CERT:
		*len_out = sizeof(key) - 1;
		return key;
	}
	return NULL;
}

START_TEST(test_verify)
{
	struct snsmsg	 m;
	char		 err[256] = "", *tbs;
	const char	*cert, *want = verify_cases[_i].want_err;
	size_t		 certlen = 0;

	ck_assert_msg(snsmsg_parse(verify_cases[_i].body,
	    strlen(verify_cases[_i].body), &m, err, sizeof(err)) == 0,
	    "snsmsg_parse: \"%s\": %s", verify_cases[_i].name, err);
	tbs = snsmsg_string_to_sign(&m);
	set_field(&m.signature, NULL);
	m.signature = sign_text(key_a,
	    strcmp(verify_cases[_i].sign_version, "1") == 0 ? EVP_sha1() :
	    EVP_sha256(), tbs);
	free(tbs);
	ck_assert_int_eq(strlen(m.signature), 344);
	set_field(&m.signature_version, verify_cases[_i].claim_version);
	apply_change(&m, verify_cases[_i].change);
	cert = cert_for(verify_cases[_i].cert, &certlen);
	EXPECT_INT("snsmsg_verify", verify_cases[_i].name,
	    snsmsg_verify(&m, cert, certlen, err, sizeof(err)),
	    verify_cases[_i].want);
	if (want != NULL && want[strlen(want) - 1] == '*')
		ck_assert_msg(strncmp(err, want, strlen(want) - 1) == 0 &&
		    strlen(err) > strlen(want),
		    "snsmsg_verify: \"%s\": got \"%s\", want \"%s\"",
		    verify_cases[_i].name, err, want);
	else if (want != NULL)
		EXPECT_STR("snsmsg_verify", verify_cases[_i].name, err, want);
	snsmsg_clear(&m);
}
END_TEST

/* The whole path: a body as SNS would POST it, with JSON escapes in the
   signed values, parsed, then verified. */
START_TEST(test_verify_body)
{
	static const char *const versions[] = { "1", "2" };
	struct snsmsg	 m;
	char		 err[256] = "", *tbs, *sig;
	size_t		 v;

	for (v = 0; v < NELEM(versions); v++) {
		struct buf b = BUF_INIT;

		buf_printf(&b,
		    "{\"Type\":\"Notification\",\"MessageId\":\"m1\","
		    "\"TopicArn\":\"" TOPIC "\",\"Subject\":\"Bounce \\u00e9\","
		    "\"Message\":\"{\\\"notificationType\\\":\\\"Bounce\\\","
		    "\\\"mail\\\":{\\\"source\\\":\\\"a\\/b\\\"}}\\n\","
		    "\"Timestamp\":\"2012-05-02T00:54:06.655Z\","
		    "\"SignatureVersion\":\"%s\",\"Signature\":\"x\","
		    "\"SigningCertURL\":\"" CERT_URL "\"}", versions[v]);
		ck_assert_msg(snsmsg_parse(b.data, b.len, &m, err,
		    sizeof(err)) == 0, "snsmsg_parse: body: %s", err);
		tbs = snsmsg_string_to_sign(&m);
		sig = sign_text(key_a, v == 0 ? EVP_sha1() : EVP_sha256(),
		    tbs);
		free(tbs);
		snsmsg_clear(&m);
		buf_reset(&b);
		buf_printf(&b,
		    "{\"Type\":\"Notification\",\"MessageId\":\"m1\","
		    "\"TopicArn\":\"" TOPIC "\",\"Subject\":\"Bounce \\u00e9\","
		    "\"Message\":\"{\\\"notificationType\\\":\\\"Bounce\\\","
		    "\\\"mail\\\":{\\\"source\\\":\\\"a/b\\\"}}\\u000a\","
		    "\"Timestamp\":\"2012-05-02T00:54:06.655Z\","
		    "\"SignatureVersion\":\"%s\",\"Signature\":\"%s\","
		    "\"SigningCertURL\":\"" CERT_URL "\"}", versions[v], sig);
		free(sig);
		ck_assert_msg(snsmsg_parse(b.data, b.len, &m, err,
		    sizeof(err)) == 0, "snsmsg_parse: signed body: %s", err);
		EXPECT_INT("snsmsg_verify", versions[v], snsmsg_verify(&m,
		    cert_a, cert_a_len, err, sizeof(err)), 1);
		EXPECT_INT("snsmsg_url_ok", versions[v],
		    snsmsg_url_ok(m.signing_cert_url, true), true);
		snsmsg_clear(&m);
		buf_free(&b);
	}
}
END_TEST

Suite *
snsmsg_suite(void)
{
	Suite	*s = suite_create("snsmsg");
	TCase	*tc = tcase_create("snsmsg");

	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_loop_test(tc, test_parse_good, 0, (int)NELEM(good_cases));
	tcase_add_loop_test(tc, test_parse_bad, 0, (int)NELEM(bad_cases));
	tcase_add_test(tc, test_parse_each_field);
	tcase_add_test(tc, test_type_name);
	tcase_add_loop_test(tc, test_string_to_sign, 0,
	    (int)NELEM(sign_cases));
	tcase_add_loop_test(tc, test_url, 0, (int)NELEM(url_cases));
	tcase_add_test(tc, test_url_null);
	tcase_add_loop_test(tc, test_verify, 0, (int)NELEM(verify_cases));
	tcase_add_test(tc, test_verify_body);
	suite_add_tcase(s, tc);
	return s;
}
