/*
 * test_sesevent.c - SES event notifications (feedback/sesevent.c): both
 * forms (notificationType and configuration-set eventType), every kind,
 * unknown fields, the caps, and each kind of malformed input with its
 * exact message. The JSON follows the field lists of the SES Developer
 * Guide; addresses and IDs are made up.
 */
#include <limits.h>
#include <stdio.h>

#include "../../feedback/sesevent.h"
#include "buf.h"
#include "unit.h"

/* The mail object's fields as SES sends them with headers included. */
#define MAIL_FIELDS(id)							\
	"\"timestamp\":\"2024-03-05T10:15:20.123Z\","			\
	"\"source\":\"news@example.com\","				\
	"\"sourceArn\":\"arn:aws:ses:eu-west-1:111122223333:identity/"	\
	    "example.com\","						\
	"\"sourceIp\":\"192.0.2.10\","					\
	"\"sendingAccountId\":\"111122223333\","			\
	"\"callerIdentity\":\"ses-smtp-user.20240101\","		\
	"\"messageId\":\"" id "\","					\
	"\"destination\":[\"alice@example.net\",\"bob@example.org\"],"	\
	"\"headersTruncated\":false,"					\
	"\"headers\":[{\"name\":\"From\",\"value\":"			\
	    "\"News <news@example.com>\"},"				\
	    "{\"name\":\"Message-ID\",\"value\":"			\
	    "\"<20240305101519.3F2A81C0D4@mx.example.com>\"}],"		\
	"\"commonHeaders\":{\"from\":[\"News <news@example.com>\"],"	\
	    "\"date\":\"Tue, 5 Mar 2024 10:15:19 +0000\","		\
	    "\"to\":[\"alice@example.net\"],"				\
	    "\"messageId\":\"<20240305101519.3F2A81C0D4@mx.example.com>\"," \
	    "\"subject\":\"March newsletter\"}"

#define MSGID	"0102018e0e5f7a3b-5c1d2e3f-aaaa-bbbb-cccc-0123456789ab-000000"
#define MAIL	"\"mail\":{" MAIL_FIELDS(MSGID) "}"
/* Event publishing adds tags: SES's own and a custom one, "user". */
#define MAIL_TAGGED	"\"mail\":{" MAIL_FIELDS(MSGID) ","		\
	"\"tags\":{\"ses:configuration-set\":[\"outbound\"],"		\
	    "\"ses:source-ip\":[\"192.0.2.10\"],"			\
	    "\"ses:from-domain\":[\"example.com\"],"			\
	    "\"ses:caller-identity\":[\"ses-smtp-user\"],"		\
	    "\"user\":[\"alice-sasl\",\"second-value\"]}}"

#define FEEDBACK_ID	\
	"0102018e0e5f9c11-7d8e9fa0-1111-2222-3333-444455556666-000000"

#define BOUNCE_PERMANENT						\
	"\"bounce\":{\"bounceType\":\"Permanent\","			\
	    "\"bounceSubType\":\"General\","				\
	    "\"bouncedRecipients\":["					\
		"{\"emailAddress\":\"alice@example.net\","		\
		    "\"action\":\"failed\",\"status\":\"5.1.1\","	\
		    "\"diagnosticCode\":\"smtp; 550 5.1.1 "		\
		    "<alice@example.net>: Recipient address rejected: "	\
		    "User unknown\"},"					\
		"{\"emailAddress\":\"bob@example.org\","		\
		    "\"action\":\"failed\",\"status\":\"5.2.1\","	\
		    "\"diagnosticCode\":"				\
		    "\"smtp; 550 5.2.1 Mailbox disabled\"}],"		\
	    "\"timestamp\":\"2024-03-05T10:15:21.456Z\","		\
	    "\"feedbackId\":\"" FEEDBACK_ID "\","			\
	    "\"remoteMtaIp\":\"198.51.100.25\","			\
	    "\"reportingMTA\":\"dsn; a1-23.smtp-out.eu-west-1.amazonses.com\"}"

#define COMPLAINT(extra)						\
	"\"complaint\":{\"complainedRecipients\":"			\
		"[{\"emailAddress\":\"alice@example.net\"}],"		\
	    extra							\
	    "\"timestamp\":\"2024-03-05T12:00:00.000Z\","		\
	    "\"feedbackId\":\"" FEEDBACK_ID "\"}"

#define REPORTING_MTA	"\"a1-23.smtp-out.eu-west-1.amazonses.com\""

#define DELIVERY							\
	"\"delivery\":{\"timestamp\":\"2024-03-05T10:15:21.000Z\","	\
	    "\"processingTimeMillis\":812,"				\
	    "\"recipients\":[\"alice@example.net\","			\
		"\"bob@example.org\"],"					\
	    "\"smtpResponse\":\"250 2.0.0 OK 1709633721 q7si1\","	\
	    "\"reportingMTA\":" REPORTING_MTA ","			\
	    "\"remoteMtaIp\":\"198.51.100.25\"}"

#define DELIVERY_DELAY							\
	"\"deliveryDelay\":{"						\
	    "\"timestamp\":\"2024-03-05T11:15:21.000Z\","		\
	    "\"delayType\":\"TransientCommunicationFailure\","		\
	    "\"expirationTime\":\"2024-03-05T22:15:21.000Z\","		\
	    "\"reportingMTA\":" REPORTING_MTA ","			\
	    "\"delayedRecipients\":["					\
		"{\"emailAddress\":\"alice@example.net\","		\
		    "\"status\":\"4.4.1\",\"diagnosticCode\":"		\
		    "\"smtp; 421 4.4.1 Unable to connect to remote "	\
		    "host\"},"						\
		"{\"emailAddress\":\"bob@example.org\","		\
		    "\"status\":\"4.2.2\",\"diagnosticCode\":"		\
		    "\"smtp; 452 4.2.2 Mailbox full\"}]}"

#define NO_RCPTS	{ { NULL, NULL, NULL } }

struct want_rcpt {
	const char	*addr;
	const char	*status;
	const char	*diagnostic;
};

static const struct {
	const char		*name;
	const char		*json;
	enum sesevent_kind	 kind;
	enum sesevent_bounce	 bounce_type;
	const char		*bounce_subtype;
	const char		*feedback_type;
	const char		*feedback_id;
	size_t			 nrcpts;
	struct want_rcpt	 rcpts[2];	/* the first two */
	size_t			 ntags;
	const char		*configset;	/* tag ses:configuration-set */
	const char		*user;		/* tag user */
} good_cases[] = {
	{ "permanent bounce, two recipients",
	    "{\"notificationType\":\"Bounce\"," BOUNCE_PERMANENT "," MAIL "}",
	    SESEVENT_BOUNCE, SESEVENT_BOUNCE_PERMANENT, "General", "",
	    FEEDBACK_ID, 2, {
		{ "alice@example.net", "5.1.1", "smtp; 550 5.1.1 "
		    "<alice@example.net>: Recipient address rejected: User "
		    "unknown" },
		{ "bob@example.org", "5.2.1",
		    "smtp; 550 5.2.1 Mailbox disabled" } },
	    0, NULL, NULL },
	{ "transient bounce",
	    "{\"notificationType\":\"Bounce\",\"bounce\":{"
	    "\"bounceType\":\"Transient\",\"bounceSubType\":\"MailboxFull\","
	    "\"bouncedRecipients\":[{\"emailAddress\":\"carol@example.net\","
	    "\"action\":\"failed\",\"status\":\"4.2.2\",\"diagnosticCode\":"
	    "\"smtp; 552 4.2.2 Mailbox full\"}],"
	    "\"timestamp\":\"2024-03-06T08:00:00.000Z\","
	    "\"feedbackId\":\"fb-transient\"}," MAIL "}",
	    SESEVENT_BOUNCE, SESEVENT_BOUNCE_TRANSIENT, "MailboxFull", "",
	    "fb-transient", 1, {
		{ "carol@example.net", "4.2.2",
		    "smtp; 552 4.2.2 Mailbox full" } },
	    0, NULL, NULL },
	{ "undetermined bounce, no DSN",
	    "{\"notificationType\":\"Bounce\",\"bounce\":{"
	    "\"bounceType\":\"Undetermined\","
	    "\"bounceSubType\":\"Undetermined\","
	    "\"bouncedRecipients\":[{\"emailAddress\":\"dave@example.org\"}],"
	    "\"timestamp\":\"2024-03-06T08:00:00.000Z\","
	    "\"feedbackId\":\"fb-undetermined\"}," MAIL "}",
	    SESEVENT_BOUNCE, SESEVENT_BOUNCE_UNDETERMINED, "Undetermined", "",
	    "fb-undetermined", 1, { { "dave@example.org", "", "" } },
	    0, NULL, NULL },
	{ "bounce, account suppression list",
	    "{\"notificationType\":\"Bounce\",\"bounce\":{"
	    "\"bounceType\":\"Permanent\","
	    "\"bounceSubType\":\"OnAccountSuppressionList\","
	    "\"bouncedRecipients\":[{\"emailAddress\":\"erin@example.org\","
	    "\"action\":\"failed\",\"status\":\"5.1.1\",\"diagnosticCode\":"
	    "\"Amazon SES did not send the message to this address because it "
	    "is on the suppression list for your account.\"}],"
	    "\"timestamp\":\"2024-03-06T08:00:00.000Z\","
	    "\"feedbackId\":\"fb-suppressed\"}," MAIL "}",
	    SESEVENT_BOUNCE, SESEVENT_BOUNCE_PERMANENT,
	    "OnAccountSuppressionList", "", "fb-suppressed", 1, {
		{ "erin@example.org", "5.1.1", "Amazon SES did not send the "
		    "message to this address because it is on the "
		    "suppression list for your account." } },
	    0, NULL, NULL },
	{ "complaint, abuse",
	    "{\"notificationType\":\"Complaint\"," COMPLAINT(
	    "\"complaintFeedbackType\":\"abuse\","
	    "\"arrivalDate\":\"2024-03-05T11:59:58.000Z\",") "," MAIL "}",
	    SESEVENT_COMPLAINT, SESEVENT_BOUNCE_NONE, "", "abuse",
	    FEEDBACK_ID, 1, { { "alice@example.net", "", "" } },
	    0, NULL, NULL },
	{ "complaint, not-spam",
	    "{\"notificationType\":\"Complaint\"," COMPLAINT(
	    "\"complaintFeedbackType\":\"not-spam\","
	    "\"arrivalDate\":\"2024-03-05T11:59:58.000Z\",") "," MAIL "}",
	    SESEVENT_COMPLAINT, SESEVENT_BOUNCE_NONE, "", "not-spam",
	    FEEDBACK_ID, 1, { { "alice@example.net", "", "" } },
	    0, NULL, NULL },
	{ "complaint without feedback report",
	    "{\"notificationType\":\"Complaint\","
	    COMPLAINT("\"complaintSubType\":null,") "," MAIL "}",
	    SESEVENT_COMPLAINT, SESEVENT_BOUNCE_NONE, "", "", FEEDBACK_ID, 1,
	    { { "alice@example.net", "", "" } }, 0, NULL, NULL },
	{ "delivery",
	    "{\"notificationType\":\"Delivery\"," MAIL "," DELIVERY "}",
	    SESEVENT_DELIVERY, SESEVENT_BOUNCE_NONE, "", "", "", 2, {
		{ "alice@example.net", "", "" },
		{ "bob@example.org", "", "" } },
	    0, NULL, NULL },
	{ "event Bounce",
	    "{\"eventType\":\"Bounce\"," BOUNCE_PERMANENT "," MAIL_TAGGED "}",
	    SESEVENT_BOUNCE, SESEVENT_BOUNCE_PERMANENT, "General", "",
	    FEEDBACK_ID, 2, {
		{ "alice@example.net", "5.1.1", "smtp; 550 5.1.1 "
		    "<alice@example.net>: Recipient address rejected: User "
		    "unknown" },
		{ "bob@example.org", "5.2.1",
		    "smtp; 550 5.2.1 Mailbox disabled" } },
	    5, "outbound", "alice-sasl" },
	{ "event Complaint",
	    "{\"eventType\":\"Complaint\"," COMPLAINT(
	    "\"complaintFeedbackType\":\"abuse\",") "," MAIL_TAGGED "}",
	    SESEVENT_COMPLAINT, SESEVENT_BOUNCE_NONE, "", "abuse",
	    FEEDBACK_ID, 1, { { "alice@example.net", "", "" } },
	    5, "outbound", "alice-sasl" },
	{ "event Delivery",
	    "{\"eventType\":\"Delivery\"," MAIL_TAGGED "," DELIVERY "}",
	    SESEVENT_DELIVERY, SESEVENT_BOUNCE_NONE, "", "", "", 2, {
		{ "alice@example.net", "", "" },
		{ "bob@example.org", "", "" } },
	    5, "outbound", "alice-sasl" },
	{ "event Send",
	    "{\"eventType\":\"Send\"," MAIL_TAGGED ",\"send\":{}}",
	    SESEVENT_SEND, SESEVENT_BOUNCE_NONE, "", "", "", 0, NO_RCPTS,
	    5, "outbound", "alice-sasl" },
	{ "event Reject",
	    "{\"eventType\":\"Reject\"," MAIL_TAGGED ","
	    "\"reject\":{\"reason\":\"Bad content\"}}",
	    SESEVENT_REJECT, SESEVENT_BOUNCE_NONE, "", "", "", 0, NO_RCPTS,
	    5, "outbound", "alice-sasl" },
	{ "event Open",
	    "{\"eventType\":\"Open\"," MAIL_TAGGED ",\"open\":{"
	    "\"ipAddress\":\"203.0.113.7\","
	    "\"timestamp\":\"2024-03-05T13:00:00.000Z\"}}",
	    SESEVENT_OPEN, SESEVENT_BOUNCE_NONE, "", "", "", 0, NO_RCPTS,
	    5, "outbound", "alice-sasl" },
	{ "event Click",
	    "{\"eventType\":\"Click\"," MAIL_TAGGED ",\"click\":{"
	    "\"ipAddress\":\"203.0.113.7\","
	    "\"timestamp\":\"2024-03-05T13:01:00.000Z\","
	    "\"link\":\"https://www.example.com/march\","
	    "\"linkTags\":{\"campaign\":[\"march\"]}}}",
	    SESEVENT_CLICK, SESEVENT_BOUNCE_NONE, "", "", "", 0, NO_RCPTS,
	    5, "outbound", "alice-sasl" },
	{ "event Rendering Failure",
	    "{\"eventType\":\"Rendering Failure\"," MAIL_TAGGED ","
	    "\"failure\":{\"templateName\":\"newsletter\","
	    "\"errorMessage\":\"Attribute 'name' is not present in the "
	    "rendering data.\"}}",
	    SESEVENT_RENDERING_FAILURE, SESEVENT_BOUNCE_NONE, "", "", "", 0,
	    NO_RCPTS, 5, "outbound", "alice-sasl" },
	{ "event DeliveryDelay",
	    "{\"eventType\":\"DeliveryDelay\"," MAIL_TAGGED ","
	    DELIVERY_DELAY "}",
	    SESEVENT_DELIVERY_DELAY, SESEVENT_BOUNCE_NONE, "", "", "", 2, {
		{ "alice@example.net", "4.4.1",
		    "smtp; 421 4.4.1 Unable to connect to remote host" },
		{ "bob@example.org", "4.2.2",
		    "smtp; 452 4.2.2 Mailbox full" } },
	    5, "outbound", "alice-sasl" },
	{ "event Subscription",
	    "{\"eventType\":\"Subscription\"," MAIL_TAGGED ","
	    "\"subscription\":{\"contactList\":\"customers\","
	    "\"timestamp\":\"2024-03-05T14:00:00.000Z\","
	    "\"source\":\"UnsubscribeHeader\","
	    "\"newTopicPreferences\":{\"unsubscribeAll\":true,"
	    "\"topicSubscriptionStatus\":[{\"topicName\":\"news\","
	    "\"subscriptionStatus\":\"OptOut\"}]},"
	    "\"oldTopicPreferences\":{\"unsubscribeAll\":false,"
	    "\"topicSubscriptionStatus\":[{\"topicName\":\"news\","
	    "\"subscriptionStatus\":\"OptIn\"}]}}}",
	    SESEVENT_SUBSCRIPTION, SESEVENT_BOUNCE_NONE, "", "", "", 0,
	    NO_RCPTS, 5, "outbound", "alice-sasl" },
	{ "unknown fields ignored",
	    "{\"notificationType\":\"Bounce\",\"futureField\":{\"a\":[1,2]},"
	    "\"bounce\":{\"bounceType\":\"Permanent\","
	    "\"bounceSubType\":\"NoEmail\",\"newThing\":null,"
	    "\"bouncedRecipients\":[{\"emailAddress\":\"frank@example.net\","
	    "\"status\":\"5.1.1\",\"extra\":[true,{\"x\":1.5}]}],"
	    "\"feedbackId\":\"fb-x\"},"
	    "\"mail\":{\"messageId\":\"id-1\",\"unheardOf\":42}}",
	    SESEVENT_BOUNCE, SESEVENT_BOUNCE_PERMANENT, "NoEmail", "", "fb-x",
	    1, { { "frank@example.net", "5.1.1", "" } }, 0, NULL, NULL },
	{ "both type fields, agreeing",
	    "{\"notificationType\":\"Delivery\",\"eventType\":\"Delivery\","
	    MAIL "," DELIVERY "}",
	    SESEVENT_DELIVERY, SESEVENT_BOUNCE_NONE, "", "", "", 2, {
		{ "alice@example.net", "", "" },
		{ "bob@example.org", "", "" } },
	    0, NULL, NULL },
	{ "null optional fields",
	    "{\"notificationType\":\"Bounce\",\"bounce\":{"
	    "\"bounceType\":\"Transient\",\"bounceSubType\":null,"
	    "\"feedbackId\":null,\"bouncedRecipients\":[{\"emailAddress\":"
	    "\"gina@example.org\",\"status\":null,\"diagnosticCode\":null}]},"
	    "\"mail\":{\"messageId\":\"id-2\",\"source\":null,"
	    "\"timestamp\":null,\"tags\":null}}",
	    SESEVENT_BOUNCE, SESEVENT_BOUNCE_TRANSIENT, "", "", "", 1,
	    { { "gina@example.org", "", "" } }, 0, NULL, NULL },
	{ "empty recipient list",
	    "{\"notificationType\":\"Delivery\","
	    "\"delivery\":{\"recipients\":[]},"
	    "\"mail\":{\"messageId\":\"id-3\"}}",
	    SESEVENT_DELIVERY, SESEVENT_BOUNCE_NONE, "", "", "", 0,
	    NO_RCPTS, 0, NULL, NULL },
	{ "tag with no value, white space around",
	    " \r\n\t{\"eventType\":\"Send\",\"mail\":{\"messageId\":\"id-4\","
	    "\"tags\":{\"user\":[],\"ses:configuration-set\":[\"cs\"]}},"
	    "\"send\":{}}\n ",
	    SESEVENT_SEND, SESEVENT_BOUNCE_NONE, "", "", "", 0, NO_RCPTS,
	    2, "cs", "" },
	{ "UTF-8 in strings",
	    "{\"notificationType\":\"Bounce\",\"bounce\":{"
	    "\"bounceType\":\"Permanent\",\"bounceSubType\":\"General\","
	    "\"bouncedRecipients\":[{\"emailAddress\":"
	    "\"j\\u00fcrgen@b\xc3\xbc" "cher.example\",\"diagnosticCode\":"
	    "\"smtp; 550 Benutzer unbekannt \xe2\x80\x93 \\u00e9\"}]},"
	    "\"mail\":{\"messageId\":\"id-5\"}}",
	    SESEVENT_BOUNCE, SESEVENT_BOUNCE_PERMANENT, "General", "", "", 1,
	    { { "j\xc3\xbcrgen@b\xc3\xbc" "cher.example", "",
		"smtp; 550 Benutzer unbekannt \xe2\x80\x93 \xc3\xa9" } },
	    0, NULL, NULL },
};

static void
check_rcpt(const char *name, size_t i, const struct sesevent_rcpt *got,
    const struct want_rcpt *want)
{
	char	label[160];

	(void)snprintf(label, sizeof(label), "%s, recipient %zu", name, i);
	EXPECT_STR("sesevent_parse addr", label, got->addr, want->addr);
	EXPECT_STR("sesevent_parse status", label, got->status, want->status);
	EXPECT_STR("sesevent_parse diagnostic", label, got->diagnostic,
	    want->diagnostic);
}

START_TEST(test_good_cases)
{
	const char		*name = good_cases[_i].name;
	const char		*json = good_cases[_i].json;
	struct sesevent		 e;
	char			 err[256] = "";

	EXPECT_INT("sesevent_parse", name, sesevent_parse(json, strlen(json),
	    &e, err, sizeof(err)), 0);
	EXPECT_STR("sesevent_parse errbuf", name, err, "");
	EXPECT_STR("sesevent_parse kind", name, sesevent_kind_name(e.kind),
	    sesevent_kind_name(good_cases[_i].kind));
	EXPECT_STR("sesevent_parse bounce_type", name,
	    sesevent_bounce_name(e.bounce_type),
	    sesevent_bounce_name(good_cases[_i].bounce_type));
	EXPECT_STR("sesevent_parse bounce_subtype", name, e.bounce_subtype,
	    good_cases[_i].bounce_subtype);
	EXPECT_STR("sesevent_parse feedback_type", name, e.feedback_type,
	    good_cases[_i].feedback_type);
	EXPECT_STR("sesevent_parse feedback_id", name, e.feedback_id,
	    good_cases[_i].feedback_id);
	EXPECT_INT("sesevent_parse nrcpts", name, e.nrcpts,
	    good_cases[_i].nrcpts);
	for (size_t i = 0; i < e.nrcpts && i < 2; i++)
		check_rcpt(name, i, &e.rcpts[i], &good_cases[_i].rcpts[i]);
	EXPECT_INT("sesevent_parse ntags", name, e.ntags,
	    good_cases[_i].ntags);
	EXPECT_STR("sesevent_tag ses:configuration-set", name,
	    sesevent_tag(&e, "ses:configuration-set"),
	    good_cases[_i].configset);
	EXPECT_STR("sesevent_tag user", name, sesevent_tag(&e, "user"),
	    good_cases[_i].user);
	EXPECT_STR("sesevent_tag absent", name, sesevent_tag(&e, "nope"),
	    NULL);
	sesevent_clear(&e);
	EXPECT_INT("sesevent_clear nrcpts", name, e.nrcpts, 0);
	ck_assert_ptr_null(e.ses_message_id);
	sesevent_clear(&e);
}
END_TEST

/* The mail fields of the realistic fixtures. */
START_TEST(test_mail_fields)
{
	static const char	json[] = "{\"eventType\":\"Send\","
				    MAIL_TAGGED ",\"send\":{}}";
	struct sesevent		e;
	char			err[256] = "";

	EXPECT_INT("sesevent_parse", "mail fields", sesevent_parse(json,
	    strlen(json), &e, err, sizeof(err)), 0);
	EXPECT_STR("sesevent_parse ses_message_id", "mail fields",
	    e.ses_message_id, MSGID);
	EXPECT_STR("sesevent_parse source", "mail fields", e.source,
	    "news@example.com");
	EXPECT_STR("sesevent_parse timestamp", "mail fields", e.timestamp,
	    "2024-03-05T10:15:20.123Z");
	EXPECT_STR("sesevent_tag", "ses:from-domain", sesevent_tag(&e,
	    "ses:from-domain"), "example.com");
	EXPECT_STR("sesevent_tag", "case-sensitive", sesevent_tag(&e,
	    "User"), NULL);
	sesevent_clear(&e);
}
END_TEST

static const struct {
	const char	*name;
	const char	*json;
	size_t		 len;		/* 0: strlen(json) */
	const char	*want_err;
} bad_cases[] = {
	{ "not JSON", "Bounce for alice@example.net", 0,
	    "not JSON: unexpected character at byte 0" },
	{ "empty", "", 0, "not JSON: empty" },
	{ "only white space", " \n\t ", 0, "not JSON: empty" },
	{ "cut short", "{\"eventType\":\"Send\",\"mail\":{", 0,
	    "not JSON: ends early at byte 28" },
	{ "trailing data", "{\"eventType\":\"Send\"} x", 0,
	    "not JSON: unexpected character at byte 21" },
	{ "two objects", "{}{}", 0,
	    "not JSON: unexpected character at byte 2" },
	{ "trailing comma", "{\"eventType\":\"Send\",}", 0,
	    "not JSON: unexpected character at byte 20" },
	{ "invalid UTF-8", "{\"eventType\":\"Se\xffnd\"}", 0,
	    "not JSON: invalid utf-8 string at byte 16" },
	{ "NUL byte in the body", "{\"eventType\":\0\"Send\"}", 21,
	    "NUL byte in the JSON at byte 13" },
	/* json-c stops at 32 levels: the object and 31 arrays. */
	{ "nested too deep", "{\"eventType\":\"Send\",\"x\":"
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0,
	    "not JSON: nesting too deep at byte 55" },
	{ "array top level", "[{\"eventType\":\"Send\",\"mail\":"
	    "{\"messageId\":\"id\"}}]", 0, "not a JSON object" },
	{ "number top level", "42", 0, "not a JSON object" },
	{ "string top level", "\"Bounce\"", 0, "not a JSON object" },
	{ "no type", "{" MAIL "," DELIVERY "}", 0,
	    "no notificationType or eventType" },
	{ "null type", "{\"eventType\":null," MAIL "}", 0,
	    "no notificationType or eventType" },
	{ "type not a string", "{\"eventType\":7," MAIL "}", 0,
	    "eventType is not a string" },
	{ "unknown eventType", "{\"eventType\":\"Unsubscribe\"," MAIL "}", 0,
	    "unknown eventType \"Unsubscribe\"" },
	{ "type in lower case", "{\"eventType\":\"bounce\"," MAIL "}", 0,
	    "unknown eventType \"bounce\"" },
	{ "Rendering Failure without the space",
	    "{\"eventType\":\"RenderingFailure\"," MAIL "}", 0,
	    "unknown eventType \"RenderingFailure\"" },
	{ "API enum name", "{\"eventType\":\"DELIVERY_DELAY\"," MAIL "}", 0,
	    "unknown eventType \"DELIVERY_DELAY\"" },
	{ "event kind as notificationType",
	    "{\"notificationType\":\"Open\"," MAIL "}", 0,
	    "unknown notificationType \"Open\"" },
	{ "topic set-up note",
	    "{\"notificationType\":\"AmazonSnsSubscriptionSucceeded\","
	    "\"message\":\"You have successfully subscribed your Amazon SNS "
	    "topic to receive notifications.\"}", 0,
	    "unknown notificationType \"AmazonSnsSubscriptionSucceeded\"" },
	{ "unknown type, quoted safely",
	    "{\"eventType\":\"Bo\\\"unce\\u00e9\\\\ and a very long tail "
	    "that goes on\"," MAIL "}", 0,
	    "unknown eventType "
	    "\"Bo?unce??? and a very long tail that goe...\"" },
	{ "type with a control character",
	    "{\"eventType\":\"Bo\\u0007unce\"," MAIL "}", 0,
	    "eventType holds a control character" },
	{ "types disagree", "{\"notificationType\":\"Bounce\","
	    "\"eventType\":\"Complaint\"," MAIL "}", 0,
	    "notificationType \"Bounce\" and eventType \"Complaint\" "
	    "disagree" },
	{ "missing mail", "{\"notificationType\":\"Bounce\","
	    BOUNCE_PERMANENT "}", 0, "no mail object" },
	{ "mail not an object", "{\"eventType\":\"Send\",\"mail\":[]}", 0,
	    "mail is not an object" },
	{ "missing messageId", "{\"eventType\":\"Send\",\"mail\":{"
	    "\"source\":\"news@example.com\"}}", 0, "no mail.messageId" },
	{ "empty messageId", "{\"eventType\":\"Send\",\"mail\":{"
	    "\"messageId\":\"\"}}", 0, "mail.messageId is empty" },
	{ "messageId not a string", "{\"eventType\":\"Send\",\"mail\":{"
	    "\"messageId\":12345}}", 0, "mail.messageId is not a string" },
	{ "messageId with NUL escape", "{\"eventType\":\"Send\",\"mail\":{"
	    "\"messageId\":\"id\\u0000x\"}}", 0,
	    "mail.messageId holds a NUL byte" },
	{ "messageId with a line break", "{\"eventType\":\"Send\","
	    "\"mail\":{\"messageId\":\"id\\nx\"}}", 0,
	    "mail.messageId holds a control character" },
	{ "source not a string", "{\"eventType\":\"Send\",\"mail\":{"
	    "\"messageId\":\"id\",\"source\":[\"a@example.com\"]}}", 0,
	    "mail.source is not a string" },
	{ "bounce without bounce object",
	    "{\"notificationType\":\"Bounce\"," MAIL "}", 0,
	    "no bounce object" },
	{ "bounce object not an object",
	    "{\"notificationType\":\"Bounce\",\"bounce\":\"Permanent\","
	    MAIL "}", 0, "bounce is not an object" },
	{ "bounce without bounceType", "{\"notificationType\":\"Bounce\","
	    "\"bounce\":{\"bounceSubType\":\"General\",\"bouncedRecipients\":"
	    "[{\"emailAddress\":\"alice@example.net\"}]}," MAIL "}", 0,
	    "no bounce.bounceType" },
	{ "unknown bounceType", "{\"notificationType\":\"Bounce\","
	    "\"bounce\":{\"bounceType\":\"Soft\",\"bouncedRecipients\":"
	    "[{\"emailAddress\":\"alice@example.net\"}]}," MAIL "}", 0,
	    "unknown bounceType \"Soft\"" },
	{ "bounceType in lower case", "{\"notificationType\":\"Bounce\","
	    "\"bounce\":{\"bounceType\":\"permanent\",\"bouncedRecipients\":"
	    "[{\"emailAddress\":\"alice@example.net\"}]}," MAIL "}", 0,
	    "unknown bounceType \"permanent\"" },
	{ "bounceSubType not a string", "{\"notificationType\":\"Bounce\","
	    "\"bounce\":{\"bounceType\":\"Permanent\",\"bounceSubType\":1,"
	    "\"bouncedRecipients\":[]}," MAIL "}", 0,
	    "bounce.bounceSubType is not a string" },
	{ "recipient without emailAddress", "{\"notificationType\":\"Bounce\","
	    "\"bounce\":{\"bounceType\":\"Permanent\",\"bouncedRecipients\":"
	    "[{\"emailAddress\":\"alice@example.net\"},"
	    "{\"status\":\"5.1.1\"}]},"
	    MAIL "}", 0, "no bounce.bouncedRecipients[1].emailAddress" },
	{ "recipient not an object", "{\"notificationType\":\"Complaint\","
	    "\"complaint\":{\"complainedRecipients\":[\"alice@example.net\"]},"
	    MAIL "}", 0, "complaint.complainedRecipients[0] is not an object" },
	{ "recipient address empty", "{\"eventType\":\"DeliveryDelay\","
	    "\"deliveryDelay\":{\"delayedRecipients\":"
	    "[{\"emailAddress\":\"\"}]},"
	    MAIL "}", 0,
	    "deliveryDelay.delayedRecipients[0].emailAddress is empty" },
	{ "recipient address with line break",
	    "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
	    "\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":"
	    "\"alice@example.net\\r\\nX-Evil: 1\"}]}," MAIL "}", 0,
	    "bounce.bouncedRecipients[0].emailAddress holds a control "
	    "character" },
	{ "recipient address with NUL escape",
	    "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
	    "\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":"
	    "\"alice@example.net\\u0000.evil\"}]}," MAIL "}", 0,
	    "bounce.bouncedRecipients[0].emailAddress holds a NUL byte" },
	{ "diagnostic not a string", "{\"notificationType\":\"Bounce\","
	    "\"bounce\":{\"bounceType\":\"Permanent\",\"bouncedRecipients\":"
	    "[{\"emailAddress\":\"alice@example.net\","
	    "\"diagnosticCode\":550}]},"
	    MAIL "}", 0,
	    "bounce.bouncedRecipients[0].diagnosticCode is not a string" },
	{ "delivery recipient not a string", "{\"notificationType\":"
	    "\"Delivery\",\"delivery\":{\"recipients\":[{\"emailAddress\":"
	    "\"alice@example.net\"}]}," MAIL "}", 0,
	    "delivery.recipients[0] is not a string" },
	{ "string where an array is expected",
	    "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
	    "\"Permanent\",\"bouncedRecipients\":\"alice@example.net\"}," MAIL
	    "}", 0, "bounce.bouncedRecipients is not an array" },
	{ "object where an array is expected",
	    "{\"notificationType\":\"Delivery\",\"delivery\":{\"recipients\":"
	    "{\"0\":\"alice@example.net\"}}," MAIL "}", 0,
	    "delivery.recipients is not an array" },
	{ "no recipient list", "{\"notificationType\":\"Complaint\","
	    "\"complaint\":{\"complaintFeedbackType\":\"abuse\"}," MAIL "}", 0,
	    "no complaint.complainedRecipients" },
	{ "delivery without delivery object",
	    "{\"eventType\":\"Delivery\"," MAIL "}", 0, "no delivery object" },
	{ "delay without its object",
	    "{\"eventType\":\"DeliveryDelay\"," MAIL "}", 0,
	    "no deliveryDelay object" },
	{ "tags not an object", "{\"eventType\":\"Send\",\"mail\":{"
	    "\"messageId\":\"id\",\"tags\":[\"user\"]}}", 0,
	    "mail.tags is not an object" },
	{ "tag value a string, not an array", "{\"eventType\":\"Send\","
	    "\"mail\":{\"messageId\":\"id\",\"tags\":{\"user\":\"alice\"}}}", 0,
	    "mail.tags[\"user\"] is not an array" },
	{ "tag name quoted safely", "{\"eventType\":\"Send\","
	    "\"mail\":{\"messageId\":\"id\",\"tags\":{\"us\\u0001er\":{}}}}",
	    0, "mail.tags[\"us?er\"] is not an array" },
	{ "tag value not a string", "{\"eventType\":\"Send\","
	    "\"mail\":{\"messageId\":\"id\",\"tags\":{\"user\":[7]}}}", 0,
	    "mail.tags[\"user\"][0] is not a string" },
};

START_TEST(test_bad_cases)
{
	const char	*name = bad_cases[_i].name;
	const char	*json = bad_cases[_i].json;
	size_t		 len = bad_cases[_i].len != 0 ? bad_cases[_i].len :
			    strlen(json);
	struct sesevent	 e;
	char		 err[256] = "";

	EXPECT_INT("sesevent_parse", name, sesevent_parse(json, len, &e, err,
	    sizeof(err)), -1);
	EXPECT_STR("sesevent_parse", name, err, bad_cases[_i].want_err);
	/* *out is left empty, so clearing it is harmless. */
	EXPECT_INT("sesevent_parse nrcpts", name, e.nrcpts, 0);
	EXPECT_INT("sesevent_parse ntags", name, e.ntags, 0);
	ck_assert_ptr_null(e.rcpts);
	ck_assert_ptr_null(e.ses_message_id);
	ck_assert_ptr_null(e.bounce_subtype);
	sesevent_clear(&e);
}
END_TEST

/* A bounce of `n` recipients, recipient `long_at` (if < n) with an
   address of `addrlen` bytes and every diagnosticCode `diag`. */
static void
build_bounce(struct buf *b, size_t n, size_t long_at, size_t addrlen,
    const char *diag)
{
	buf_puts(b, "{\"notificationType\":\"Bounce\",\"bounce\":{"
	    "\"bounceType\":\"Permanent\",\"bounceSubType\":\"General\","
	    "\"bouncedRecipients\":[");
	for (size_t i = 0; i < n; i++) {
		buf_puts(b, i > 0 ? ",{\"emailAddress\":\"" :
		    "{\"emailAddress\":\"");
		if (i == long_at) {
			for (size_t j = 0; j < addrlen - 12; j++)
				buf_puts(b, "x");
			buf_puts(b, "@example.com");
		} else {
			buf_printf(b, "user%zu@example.com", i);
		}
		buf_printf(b, "\",\"status\":\"5.1.1\",\"diagnosticCode\":"
		    "\"%s\"}", diag);
	}
	buf_puts(b, "]}," MAIL "}");
}

/* Event with `n` tags named t0, t1, ... */
static void
build_tags(struct buf *b, size_t n)
{
	buf_puts(b, "{\"eventType\":\"Send\",\"mail\":{\"messageId\":\"id\","
	    "\"tags\":{");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s\"t%zu\":[\"v%zu\"]", i > 0 ? "," : "", i, i);
	buf_puts(b, "}},\"send\":{}}");
}

START_TEST(test_caps)
{
	struct buf	 b = BUF_INIT;
	struct buf	 diag = BUF_INIT;
	struct sesevent	 e;
	char		 err[256];
	char		 name[64];

	/* Addresses: 320 bytes pass, 321 are refused. */
	build_bounce(&b, 3, 1, 320, "smtp; 550");
	err[0] = '\0';
	EXPECT_INT("sesevent_parse", "address of 320 bytes",
	    sesevent_parse(b.data, b.len, &e, err, sizeof(err)), 0);
	EXPECT_INT("sesevent_parse addr length", "address of 320 bytes",
	    strlen(e.rcpts[1].addr), 320);
	sesevent_clear(&e);
	buf_reset(&b);
	build_bounce(&b, 3, 1, 321, "smtp; 550");
	EXPECT_INT("sesevent_parse", "address of 321 bytes",
	    sesevent_parse(b.data, b.len, &e, err, sizeof(err)), -1);
	EXPECT_STR("sesevent_parse", "address of 321 bytes", err,
	    "bounce.bouncedRecipients[1].emailAddress is longer than 320 "
	    "bytes");
	ck_assert_ptr_null(e.rcpts);

	/* Recipients: 1,000 pass, 1,001 are refused. */
	buf_reset(&b);
	build_bounce(&b, 1000, 1000, 0, "smtp; 550");
	err[0] = '\0';
	EXPECT_INT("sesevent_parse", "1,000 recipients",
	    sesevent_parse(b.data, b.len, &e, err, sizeof(err)), 0);
	EXPECT_INT("sesevent_parse nrcpts", "1,000 recipients", e.nrcpts,
	    1000);
	EXPECT_STR("sesevent_parse addr", "1,000 recipients",
	    e.rcpts[999].addr, "user999@example.com");
	sesevent_clear(&e);
	buf_reset(&b);
	build_bounce(&b, 1001, 1001, 0, "smtp; 550");
	EXPECT_INT("sesevent_parse", "1,001 recipients",
	    sesevent_parse(b.data, b.len, &e, err, sizeof(err)), -1);
	EXPECT_STR("sesevent_parse", "1,001 recipients", err,
	    "bounce.bouncedRecipients: more than 1000 recipients");

	/* Tags: 100 pass, 101 are refused. */
	buf_reset(&b);
	build_tags(&b, 100);
	err[0] = '\0';
	EXPECT_INT("sesevent_parse", "100 tags",
	    sesevent_parse(b.data, b.len, &e, err, sizeof(err)), 0);
	EXPECT_INT("sesevent_parse ntags", "100 tags", e.ntags, 100);
	EXPECT_STR("sesevent_tag", "100 tags", sesevent_tag(&e, "t99"),
	    "v99");
	sesevent_clear(&e);
	buf_reset(&b);
	build_tags(&b, 101);
	EXPECT_INT("sesevent_parse", "101 tags",
	    sesevent_parse(b.data, b.len, &e, err, sizeof(err)), -1);
	EXPECT_STR("sesevent_parse", "101 tags", err,
	    "mail.tags: more than 100 tags");

	/* A diagnostic of 1,200 bytes is cut to 1,000. */
	for (size_t i = 0; i < 1200; i++)
		buf_puts(&diag, "d");
	buf_reset(&b);
	build_bounce(&b, 1, 1, 0, diag.data);
	err[0] = '\0';
	EXPECT_INT("sesevent_parse", "diagnostic of 1,200 bytes",
	    sesevent_parse(b.data, b.len, &e, err, sizeof(err)), 0);
	EXPECT_INT("sesevent_parse diagnostic length",
	    "diagnostic of 1,200 bytes", strlen(e.rcpts[0].diagnostic), 1000);
	sesevent_clear(&e);

	/* ... and never inside a UTF-8 sequence: 999 bytes, then a two-byte
	   character across the cut. */
	buf_reset(&diag);
	for (size_t i = 0; i < 999; i++)
		buf_puts(&diag, "d");
	buf_puts(&diag, "\xc3\xa9tail");
	buf_reset(&b);
	build_bounce(&b, 1, 1, 0, diag.data);
	EXPECT_INT("sesevent_parse", "cut before a UTF-8 sequence",
	    sesevent_parse(b.data, b.len, &e, err, sizeof(err)), 0);
	EXPECT_INT("sesevent_parse diagnostic length",
	    "cut before a UTF-8 sequence", strlen(e.rcpts[0].diagnostic), 999);
	sesevent_clear(&e);

	/* mail.messageId: 255 bytes pass, 256 are refused. */
	for (size_t len = 255; len <= 256; len++) {
		buf_reset(&b);
		buf_puts(&b, "{\"eventType\":\"Send\","
		    "\"mail\":{\"messageId\":\"");
		for (size_t i = 0; i < len; i++)
			buf_puts(&b, "m");
		buf_puts(&b, "\"}}");
		(void)snprintf(name, sizeof(name), "messageId of %zu bytes",
		    len);
		err[0] = '\0';
		EXPECT_INT("sesevent_parse", name, sesevent_parse(b.data, b.len,
		    &e, err, sizeof(err)), len == 255 ? 0 : -1);
		EXPECT_STR("sesevent_parse", name, err, len == 255 ? "" :
		    "mail.messageId is longer than 255 bytes");
		sesevent_clear(&e);
	}

	/* Length beyond json-c's int: refused before a byte is read. */
	EXPECT_INT("sesevent_parse", "length past INT_MAX",
	    sesevent_parse("{}", (size_t)INT_MAX + 1, &e, err, sizeof(err)),
	    -1);
	EXPECT_STR("sesevent_parse", "length past INT_MAX", err,
	    "JSON longer than 2147483647 bytes");

	buf_free(&diag);
	buf_free(&b);
}
END_TEST

/* Only len bytes are read: the text need not be NUL-terminated. */
START_TEST(test_length_bounded)
{
	static const char	text[] = "{\"eventType\":\"Send\",\"mail\":"
				    "{\"messageId\":\"id\"}}GARBAGE";
	struct sesevent		e;
	char			err[256] = "";

	EXPECT_INT("sesevent_parse", "bytes after len", sesevent_parse(text,
	    strlen(text) - strlen("GARBAGE"), &e, err, sizeof(err)), 0);
	EXPECT_STR("sesevent_parse errbuf", "bytes after len", err, "");
	sesevent_clear(&e);
	/* A NULL or zero-sized errbuf is allowed. */
	EXPECT_INT("sesevent_parse", "no errbuf", sesevent_parse("[]", 2, &e,
	    NULL, 0), -1);
}
END_TEST

START_TEST(test_names)
{
	static const struct {
		enum sesevent_kind	 kind;
		const char		*want;
	} kinds[] = {
		{ SESEVENT_BOUNCE, "Bounce" },
		{ SESEVENT_COMPLAINT, "Complaint" },
		{ SESEVENT_DELIVERY, "Delivery" },
		{ SESEVENT_SEND, "Send" },
		{ SESEVENT_REJECT, "Reject" },
		{ SESEVENT_DELIVERY_DELAY, "DeliveryDelay" },
		{ SESEVENT_OPEN, "Open" },
		{ SESEVENT_CLICK, "Click" },
		{ SESEVENT_RENDERING_FAILURE, "Rendering Failure" },
		{ SESEVENT_SUBSCRIPTION, "Subscription" },
		{ (enum sesevent_kind)99, "" },
	};
	static const struct {
		enum sesevent_bounce	 bounce;
		const char		*want;
	} bounces[] = {
		{ SESEVENT_BOUNCE_NONE, "" },
		{ SESEVENT_BOUNCE_PERMANENT, "Permanent" },
		{ SESEVENT_BOUNCE_TRANSIENT, "Transient" },
		{ SESEVENT_BOUNCE_UNDETERMINED, "Undetermined" },
		{ (enum sesevent_bounce)99, "" },
	};

	for (size_t i = 0; i < NELEM(kinds); i++)
		EXPECT_STR("sesevent_kind_name", kinds[i].want,
		    sesevent_kind_name(kinds[i].kind), kinds[i].want);
	for (size_t i = 0; i < NELEM(bounces); i++)
		EXPECT_STR("sesevent_bounce_name", bounces[i].want,
		    sesevent_bounce_name(bounces[i].bounce), bounces[i].want);
	sesevent_clear(NULL);
}
END_TEST

Suite *
sesevent_suite(void)
{
	Suite	*s = suite_create("sesevent");
	TCase	*tc = tcase_create("sesevent");

	tcase_add_loop_test(tc, test_good_cases, 0, (int)NELEM(good_cases));
	tcase_add_test(tc, test_mail_fields);
	tcase_add_loop_test(tc, test_bad_cases, 0, (int)NELEM(bad_cases));
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_length_bounded);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}
