/*
 * sesevent.c - reads one Amazon SES event notification (see sesevent.h)
 * with json-c into a struct sesevent that owns copies of the strings it
 * keeps; the json-c tree lives only inside sesevent_parse(). Field names
 * and forms follow the SES Developer Guide pages "notification-contents"
 * and "event-publishing-retrieving-sns-contents". No state; safe in any
 * thread.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "mem.h"
#include "sesevent.h"
#include "str.h"

/* How much of a network value an error message quotes. */
#define SESEVENT_QUOTE_MAX	40
/* Room for a quoted value: quotes, the value, "...", NUL. */
#define SESEVENT_QUOTE_BUFSZ	(SESEVENT_QUOTE_MAX + 8)
/* Room for a field's name in error messages, such as
   `deliveryDelay.delayedRecipients[999].diagnosticCode` or
   `mail.tags["<quoted>"][0]`; names are built from ours and quoted
   values, so they fit and str_fmt()'s truncation report is not needed. */
#define SESEVENT_NAME_BUFSZ	(SESEVENT_QUOTE_BUFSZ + 64)

enum sesevent_cap {
	SESEVENT_CAP_TEXT,	/* cut at SESEVENT_TEXT_MAX */
	SESEVENT_CAP_ID,	/* refused past SESEVENT_ID_MAX, empty or
				   holding a control character */
	SESEVENT_CAP_ADDR,	/* refused past SESEVENT_ADDR_MAX, empty or
				   holding a control character */
};

enum sesevent_rcptform {
	SESEVENT_RCPT_NONE,
	SESEVENT_RCPT_OBJECTS,	/* [{"emailAddress": ..., ...}, ...] */
	SESEVENT_RCPT_STRINGS,	/* ["a@example.com", ...] */
};

/* Indexed by enum sesevent_kind. `object` is the member that carries the
   kind's details; SES names it after the kind ("failure" for Rendering
   Failure), but only the four kinds with recipients need it here. */
static const struct sesevent_kindinfo {
	const char		*name;
	bool			 feedback;	/* also a notificationType */
	const char		*object;
	const char		*list;
	enum sesevent_rcptform	 form;
} sesevent_kinds[] = {
	[SESEVENT_BOUNCE] = { "Bounce", true, "bounce", "bouncedRecipients",
	    SESEVENT_RCPT_OBJECTS },
	[SESEVENT_COMPLAINT] = { "Complaint", true, "complaint",
	    "complainedRecipients", SESEVENT_RCPT_OBJECTS },
	[SESEVENT_DELIVERY] = { "Delivery", true, "delivery", "recipients",
	    SESEVENT_RCPT_STRINGS },
	[SESEVENT_SEND] = { "Send", false, NULL, NULL, SESEVENT_RCPT_NONE },
	[SESEVENT_REJECT] = { "Reject", false, NULL, NULL,
	    SESEVENT_RCPT_NONE },
	[SESEVENT_DELIVERY_DELAY] = { "DeliveryDelay", false, "deliveryDelay",
	    "delayedRecipients", SESEVENT_RCPT_OBJECTS },
	[SESEVENT_OPEN] = { "Open", false, NULL, NULL, SESEVENT_RCPT_NONE },
	[SESEVENT_CLICK] = { "Click", false, NULL, NULL, SESEVENT_RCPT_NONE },
	[SESEVENT_RENDERING_FAILURE] = { "Rendering Failure", false, NULL,
	    NULL, SESEVENT_RCPT_NONE },
	[SESEVENT_SUBSCRIPTION] = { "Subscription", false, NULL, NULL,
	    SESEVENT_RCPT_NONE },
};

#define SESEVENT_NKINDS	(sizeof(sesevent_kinds) / sizeof(sesevent_kinds[0]))

static const char *const sesevent_bounces[] = {
	[SESEVENT_BOUNCE_NONE] = "",
	[SESEVENT_BOUNCE_PERMANENT] = "Permanent",
	[SESEVENT_BOUNCE_TRANSIENT] = "Transient",
	[SESEVENT_BOUNCE_UNDETERMINED] = "Undetermined",
};

#define SESEVENT_NBOUNCES \
	(sizeof(sesevent_bounces) / sizeof(sesevent_bounces[0]))

static int	sesevent_err(char *errbuf, size_t errlen, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/* Fill errbuf (when there is one) and return -1. */
static int
sesevent_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errbuf == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* A network value for an error message: in double quotes, printable
   ASCII only ('?' for anything else, and for '"' and '\'), cut at
   SESEVENT_QUOTE_MAX bytes with "..." after. */
static void
sesevent_quote(const char *s, char out[SESEVENT_QUOTE_BUFSZ])
{
	size_t	i, o = 0;

	out[o++] = '"';
	for (i = 0; i < SESEVENT_QUOTE_MAX && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ?
		    '?' : (char)c;
	}
	if (s[i] != '\0') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* A copy of the n bytes at s, cut to SESEVENT_TEXT_MAX bytes without
   splitting a UTF-8 sequence (json-c has checked the encoding). */
static char *
sesevent_cut(const char *s, size_t n)
{
	if (n > SESEVENT_TEXT_MAX) {
		n = SESEVENT_TEXT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return xstrndup(s, n);
}

/* Member key of obj, or NULL when it is absent or JSON null. */
static struct json_object *
sesevent_member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* Copy string value v, called `name` in errors, into *out under cap.
   0, or -1 with errbuf. */
static int
sesevent_value(struct json_object *v, const char *name, enum sesevent_cap cap,
    char **out, char *errbuf, size_t errlen)
{
	const char	*s;
	size_t		 n, max;

	if (!json_object_is_type(v, json_type_string))
		return sesevent_err(errbuf, errlen, "%s is not a string", name);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	/* "\u0000" is valid JSON, but would silently cut a C string. */
	if (memchr(s, '\0', n) != NULL)
		return sesevent_err(errbuf, errlen, "%s holds a NUL byte",
		    name);
	switch (cap) {
	case SESEVENT_CAP_TEXT:
		*out = sesevent_cut(s, n);
		return 0;
	case SESEVENT_CAP_ID:
	case SESEVENT_CAP_ADDR:
		max = cap == SESEVENT_CAP_ID ? SESEVENT_ID_MAX :
		    SESEVENT_ADDR_MAX;
		if (n > max)
			return sesevent_err(errbuf, errlen,
			    "%s is longer than %zu bytes", name, max);
		/* These end up in Redis keys and at the start of log
		   lines. */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return sesevent_err(errbuf, errlen,
				    "%s holds a control character", name);
		break;
	}
	if (n == 0)
		return sesevent_err(errbuf, errlen, "%s is empty", name);
	*out = xstrndup(s, n);
	return 0;
}

/* Copy string member `key` of obj (named prefix.key in errors) into *out.
   An absent optional member gives "". 0, or -1 with errbuf. */
static int
sesevent_string(struct json_object *obj, const char *prefix, const char *key,
    bool required, enum sesevent_cap cap, char **out, char *errbuf,
    size_t errlen)
{
	struct json_object	*v = sesevent_member(obj, key);
	char			 name[SESEVENT_NAME_BUFSZ];

	(void)str_fmt(name, sizeof(name), "%s.%s", prefix, key);
	if (v == NULL) {
		if (required)
			return sesevent_err(errbuf, errlen, "no %s", name);
		*out = xstrdup("");
		return 0;
	}
	return sesevent_value(v, name, cap, out, errbuf, errlen);
}

/* The kind named by notificationType and eventType. 0, or -1 with
   errbuf. */
static int
sesevent_kind(struct json_object *root, enum sesevent_kind *kind_out,
    char *errbuf, size_t errlen)
{
	struct json_object	*nt = sesevent_member(root, "notificationType");
	struct json_object	*et = sesevent_member(root, "eventType");
	char			*ntype = NULL, *etype = NULL;
	const char		*type, *field;
	char			 q1[SESEVENT_QUOTE_BUFSZ];
	char			 q2[SESEVENT_QUOTE_BUFSZ];
	size_t			 k;
	int			 rc = -1;

	if (nt == NULL && et == NULL)
		return sesevent_err(errbuf, errlen,
		    "no notificationType or eventType");
	if (nt != NULL && sesevent_value(nt, "notificationType",
	    SESEVENT_CAP_ID, &ntype, errbuf, errlen) == -1)
		goto out;
	if (et != NULL && sesevent_value(et, "eventType", SESEVENT_CAP_ID,
	    &etype, errbuf, errlen) == -1)
		goto out;
	if (ntype != NULL && etype != NULL && strcmp(ntype, etype) != 0) {
		sesevent_quote(ntype, q1);
		sesevent_quote(etype, q2);
		sesevent_err(errbuf, errlen,
		    "notificationType %s and eventType %s disagree", q1, q2);
		goto out;
	}
	type = etype != NULL ? etype : ntype;
	field = etype != NULL ? "eventType" : "notificationType";
	for (k = 0; k < SESEVENT_NKINDS; k++)
		if (strcmp(type, sesevent_kinds[k].name) == 0)
			break;
	/* Feedback notifications only ever carry the first three; anything
	   else there (SES's own "AmazonSnsSubscriptionSucceeded" note, sent
	   once when a topic is set up, for one) is not an event. */
	if (k == SESEVENT_NKINDS || (etype == NULL &&
	    !sesevent_kinds[k].feedback)) {
		sesevent_quote(type, q1);
		sesevent_err(errbuf, errlen, "unknown %s %s", field, q1);
		goto out;
	}
	*kind_out = (enum sesevent_kind)k;
	rc = 0;
out:
	free(ntype);
	free(etype);
	return rc;
}

/* bounce.bounceType into e->bounce_type. 0, or -1 with errbuf. */
static int
sesevent_bounce_type(struct json_object *bounce, struct sesevent *e,
    char *errbuf, size_t errlen)
{
	char	*type;
	size_t	 b;

	if (sesevent_string(bounce, "bounce", "bounceType", true,
	    SESEVENT_CAP_ID, &type, errbuf, errlen) == -1)
		return -1;
	for (b = SESEVENT_BOUNCE_NONE + 1; b < SESEVENT_NBOUNCES; b++)
		if (strcmp(type, sesevent_bounces[b]) == 0)
			break;
	if (b == SESEVENT_NBOUNCES) {
		char q[SESEVENT_QUOTE_BUFSZ];

		sesevent_quote(type, q);
		free(type);
		return sesevent_err(errbuf, errlen, "unknown bounceType %s", q);
	}
	free(type);
	e->bounce_type = (enum sesevent_bounce)b;
	return 0;
}

/* One entry of a recipient list, named `name` in errors. */
static int
sesevent_rcpt(struct json_object *v, const char *name,
    enum sesevent_rcptform form, struct sesevent_rcpt *r, char *errbuf,
    size_t errlen)
{
	if (form == SESEVENT_RCPT_STRINGS) {
		if (sesevent_value(v, name, SESEVENT_CAP_ADDR, &r->addr, errbuf,
		    errlen) == -1)
			return -1;
		r->status = xstrdup("");
		r->diagnostic = xstrdup("");
		return 0;
	}
	if (!json_object_is_type(v, json_type_object))
		return sesevent_err(errbuf, errlen, "%s is not an object",
		    name);
	if (sesevent_string(v, name, "emailAddress", true, SESEVENT_CAP_ADDR,
	    &r->addr, errbuf, errlen) == -1 ||
	    sesevent_string(v, name, "status", false, SESEVENT_CAP_TEXT,
	    &r->status, errbuf, errlen) == -1 ||
	    sesevent_string(v, name, "diagnosticCode", false,
	    SESEVENT_CAP_TEXT, &r->diagnostic, errbuf, errlen) == -1)
		return -1;
	return 0;
}

/* The recipient list `list` of the kind's object `detail` (named `oname`
   in errors) into e->rcpts. 0, or -1 with errbuf; e->nrcpts always counts
   the slots allocated, so sesevent_clear() frees a partial list. */
static int
sesevent_rcpts(struct json_object *detail, const char *oname,
    const char *list, enum sesevent_rcptform form, struct sesevent *e,
    char *errbuf, size_t errlen)
{
	struct json_object	*arr = sesevent_member(detail, list);
	char			 lname[SESEVENT_NAME_BUFSZ];
	char			 name[SESEVENT_NAME_BUFSZ];
	size_t			 n;

	(void)str_fmt(lname, sizeof(lname), "%s.%s", oname, list);
	if (arr == NULL)
		return sesevent_err(errbuf, errlen, "no %s", lname);
	if (!json_object_is_type(arr, json_type_array))
		return sesevent_err(errbuf, errlen, "%s is not an array",
		    lname);
	n = json_object_array_length(arr);
	if (n > SESEVENT_RCPTS_MAX)
		return sesevent_err(errbuf, errlen,
		    "%s: more than %d recipients", lname, SESEVENT_RCPTS_MAX);
	if (n == 0)
		return 0;
	e->rcpts = xcalloc(n, sizeof(e->rcpts[0]));
	e->nrcpts = n;
	for (size_t i = 0; i < n; i++) {
		(void)str_fmt(name, sizeof(name), "%s[%zu]", lname, i);
		if (sesevent_rcpt(json_object_array_get_idx(arr, i), name,
		    form, &e->rcpts[i], errbuf, errlen) == -1)
			return -1;
	}
	return 0;
}

/* mail.tags, {"name": ["value", ...], ...}, into e->tags. 0, or -1 with
   errbuf. */
static int
sesevent_tags(struct json_object *mail, struct sesevent *e, char *errbuf,
    size_t errlen)
{
	struct json_object		*tags = sesevent_member(mail, "tags");
	struct json_object_iterator	 it, end;
	char				 name[SESEVENT_NAME_BUFSZ];
	char				 q[SESEVENT_QUOTE_BUFSZ];
	size_t				 n;

	if (tags == NULL)
		return 0;
	if (!json_object_is_type(tags, json_type_object))
		return sesevent_err(errbuf, errlen,
		    "mail.tags is not an object");
	n = (size_t)json_object_object_length(tags);
	if (n > SESEVENT_TAGS_MAX)
		return sesevent_err(errbuf, errlen,
		    "mail.tags: more than %d tags", SESEVENT_TAGS_MAX);
	if (n == 0)
		return 0;
	e->tags = xcalloc(n, sizeof(e->tags[0]));
	it = json_object_iter_begin(tags);
	end = json_object_iter_end(tags);
	for (; !json_object_iter_equal(&it, &end) && e->ntags < n;
	    json_object_iter_next(&it)) {
		const char		*key = json_object_iter_peek_name(&it);
		struct json_object	*val = json_object_iter_peek_value(&it);
		struct sesevent_tag	*t = &e->tags[e->ntags++];
		struct json_object	*first;

		sesevent_quote(key, q);
		(void)str_fmt(name, sizeof(name), "mail.tags[%s]", q);
		t->name = sesevent_cut(key, strlen(key));
		if (!json_object_is_type(val, json_type_array))
			return sesevent_err(errbuf, errlen,
			    "%s is not an array", name);
		first = json_object_array_get_idx(val, 0);
		if (first == NULL) {
			t->value = xstrdup("");
			continue;
		}
		(void)str_fmt(name, sizeof(name), "mail.tags[%s][0]", q);
		if (sesevent_value(first, name, SESEVENT_CAP_TEXT, &t->value,
		    errbuf, errlen) == -1)
			return -1;
	}
	return 0;
}

/* The mail object: message ID, source, timestamp, tags. */
static int
sesevent_mail(struct json_object *root, struct sesevent *e, char *errbuf,
    size_t errlen)
{
	struct json_object *mail = sesevent_member(root, "mail");

	if (mail == NULL)
		return sesevent_err(errbuf, errlen, "no mail object");
	if (!json_object_is_type(mail, json_type_object))
		return sesevent_err(errbuf, errlen, "mail is not an object");
	if (sesevent_string(mail, "mail", "messageId", true, SESEVENT_CAP_ID,
	    &e->ses_message_id, errbuf, errlen) == -1 ||
	    sesevent_string(mail, "mail", "source", false, SESEVENT_CAP_TEXT,
	    &e->source, errbuf, errlen) == -1 ||
	    sesevent_string(mail, "mail", "timestamp", false,
	    SESEVENT_CAP_TEXT, &e->timestamp, errbuf, errlen) == -1)
		return -1;
	return sesevent_tags(mail, e, errbuf, errlen);
}

/* The kind's own object: bounce type and subtype, feedback ID and type,
   recipients. Strings the kind does not have are left NULL. */
static int
sesevent_detail(struct json_object *root, struct sesevent *e, char *errbuf,
    size_t errlen)
{
	const struct sesevent_kindinfo	*ki = &sesevent_kinds[e->kind];
	struct json_object		*detail;

	if (ki->form == SESEVENT_RCPT_NONE)
		return 0;
	detail = sesevent_member(root, ki->object);
	if (detail == NULL)
		return sesevent_err(errbuf, errlen, "no %s object", ki->object);
	if (!json_object_is_type(detail, json_type_object))
		return sesevent_err(errbuf, errlen, "%s is not an object",
		    ki->object);
	if (e->kind == SESEVENT_BOUNCE && (sesevent_bounce_type(detail, e,
	    errbuf, errlen) == -1 || sesevent_string(detail, "bounce",
	    "bounceSubType", false, SESEVENT_CAP_TEXT, &e->bounce_subtype,
	    errbuf, errlen) == -1))
		return -1;
	if (e->kind == SESEVENT_COMPLAINT && sesevent_string(detail,
	    "complaint", "complaintFeedbackType", false, SESEVENT_CAP_TEXT,
	    &e->feedback_type, errbuf, errlen) == -1)
		return -1;
	if ((e->kind == SESEVENT_BOUNCE || e->kind == SESEVENT_COMPLAINT) &&
	    sesevent_string(detail, ki->object, "feedbackId", false,
	    SESEVENT_CAP_TEXT, &e->feedback_id, errbuf, errlen) == -1)
		return -1;
	return sesevent_rcpts(detail, ki->object, ki->list, ki->form, e,
	    errbuf, errlen);
}

/* "" for a string the kind does not have. */
static void
sesevent_default(char **sp)
{
	if (*sp == NULL)
		*sp = xstrdup("");
}

static bool
sesevent_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(" \t\r\n", s[i]) == NULL)
			return false;
	return true;
}

/* The JSON text as a json-c object; NULL with errbuf if it is not JSON or
   not an object. The caller drops it with json_object_put(). */
static struct json_object *
sesevent_json(const char *json, size_t len, char *errbuf, size_t errlen)
{
	struct json_tokener		*tok;
	struct json_object		*root;
	enum json_tokener_error		 jerr;
	const char			*nul;

	if (len > INT_MAX) {
		sesevent_err(errbuf, errlen, "JSON longer than %d bytes",
		    INT_MAX);
		return NULL;
	}
	if ((nul = memchr(json, '\0', len)) != NULL) {
		sesevent_err(errbuf, errlen, "NUL byte in the JSON at byte %zu",
		    (size_t)(nul - json));
		return NULL;
	}
	if (sesevent_blank(json, len)) {
		sesevent_err(errbuf, errlen, "not JSON: empty");
		return NULL;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	/* A top-level number may go on in a later chunk, so json-c waits;
	   this is the whole text, so a space ends it. */
	if (root == NULL && jerr == json_tokener_continue) {
		root = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		if (root == NULL && jerr == json_tokener_continue) {
			sesevent_err(errbuf, errlen,
			    "not JSON: ends early at byte %zu", len);
			json_tokener_free(tok);
			return NULL;
		}
	}
	if (root == NULL)
		sesevent_err(errbuf, errlen, "not JSON: %s at byte %zu",
		    json_tokener_error_desc(jerr),
		    json_tokener_get_parse_end(tok));
	json_tokener_free(tok);
	if (root != NULL && !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		sesevent_err(errbuf, errlen, "not a JSON object");
		return NULL;
	}
	return root;
}

int
sesevent_parse(const char *json, size_t len, struct sesevent *out,
    char *errbuf, size_t errlen)
{
	struct json_object	*root;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	if ((root = sesevent_json(json, len, errbuf, errlen)) == NULL)
		return -1;
	if (sesevent_kind(root, &out->kind, errbuf, errlen) == -1 ||
	    sesevent_mail(root, out, errbuf, errlen) == -1 ||
	    sesevent_detail(root, out, errbuf, errlen) == -1) {
		sesevent_clear(out);
	} else {
		sesevent_default(&out->bounce_subtype);
		sesevent_default(&out->feedback_type);
		sesevent_default(&out->feedback_id);
		rc = 0;
	}
	json_object_put(root);
	return rc;
}

void
sesevent_clear(struct sesevent *e)
{
	if (e == NULL)
		return;
	free(e->bounce_subtype);
	free(e->feedback_type);
	free(e->feedback_id);
	free(e->ses_message_id);
	free(e->source);
	free(e->timestamp);
	for (size_t i = 0; i < e->nrcpts; i++) {
		free(e->rcpts[i].addr);
		free(e->rcpts[i].status);
		free(e->rcpts[i].diagnostic);
	}
	free(e->rcpts);
	for (size_t i = 0; i < e->ntags; i++) {
		free(e->tags[i].name);
		free(e->tags[i].value);
	}
	free(e->tags);
	memset(e, 0, sizeof(*e));
}

const char *
sesevent_kind_name(enum sesevent_kind k)
{
	if ((size_t)k >= SESEVENT_NKINDS)
		return "";
	return sesevent_kinds[k].name;
}

const char *
sesevent_bounce_name(enum sesevent_bounce b)
{
	if ((size_t)b >= SESEVENT_NBOUNCES)
		return "";
	return sesevent_bounces[b];
}

const char *
sesevent_tag(const struct sesevent *e, const char *name)
{
	for (size_t i = 0; i < e->ntags; i++)
		if (strcmp(e->tags[i].name, name) == 0)
			return e->tags[i].value;
	return NULL;
}
