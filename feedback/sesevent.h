/* sesevent.h - one Amazon SES event notification (the JSON SES puts in an
   SNS message's Message field), in either form: identity feedback
   notifications ("notificationType") and configuration-set event
   publishing ("eventType"). json-c; unknown fields ignored. No state;
   safe in any thread. */
#ifndef SESGATE_SESEVENT_H
#define SESGATE_SESEVENT_H

#include <stddef.h>

enum sesevent_kind {
	SESEVENT_BOUNCE, SESEVENT_COMPLAINT, SESEVENT_DELIVERY, SESEVENT_SEND,
	SESEVENT_REJECT, SESEVENT_DELIVERY_DELAY, SESEVENT_OPEN,
	SESEVENT_CLICK, SESEVENT_RENDERING_FAILURE, SESEVENT_SUBSCRIPTION,
};

enum sesevent_bounce {
	SESEVENT_BOUNCE_NONE, SESEVENT_BOUNCE_PERMANENT,
	SESEVENT_BOUNCE_TRANSIENT, SESEVENT_BOUNCE_UNDETERMINED,
};

/* Longest recipient address accepted: 64 + 1 + 255 (RFC 5321). */
#define SESEVENT_ADDR_MAX	320
/* Longest mail.messageId accepted; SES's are about 60 bytes. */
#define SESEVENT_ID_MAX		255
/* Other strings are cut to this many bytes, on a UTF-8 boundary. */
#define SESEVENT_TEXT_MAX	1000
#define SESEVENT_RCPTS_MAX	1000
#define SESEVENT_TAGS_MAX	100

struct sesevent_rcpt {
	char	*addr;		/* emailAddress (bounced/complained) or
				   the delivery/delay recipients, as SES
				   wrote it: not normalised */
	char	*status;	/* "" when absent */
	char	*diagnostic;	/* diagnosticCode, "" when absent */
};

struct sesevent_tag {
	char	*name;
	char	*value;		/* first value of the tag's array, "" when
				   the array is empty */
};

/* Every string is non-NULL after a successful parse. */
struct sesevent {
	enum sesevent_kind	 kind;
	enum sesevent_bounce	 bounce_type;	/* BOUNCE only */
	char			*bounce_subtype;	/* "" when none */
	char			*feedback_type;	/* complaintFeedbackType, "" */
	char			*feedback_id;	/* bounce/complaint feedbackId,
						   "" */
	char			*ses_message_id;	/* mail.messageId */
	char			*source;	/* mail.source, "" */
	char			*timestamp;	/* mail.timestamp, "" */
	struct sesevent_rcpt	*rcpts;
	size_t			 nrcpts;
	struct sesevent_tag	*tags;		/* mail.tags, in no set order */
	size_t			 ntags;
};

/* Parse json (len bytes) into *out. 0, or -1 with errbuf (not JSON, no
   notificationType/eventType, an unknown kind, a bounce without
   bounceType or with an unknown one, no mail object or mail.messageId,
   a recipient without emailAddress, ...); *out is then all zero, and
   sesevent_clear() on it does nothing. For Delivery the recipients are
   delivery.recipients (status ""), for DeliveryDelay
   deliveryDelay.delayedRecipients, for Bounce bounce.bouncedRecipients,
   for Complaint complaint.complainedRecipients; other kinds have none.
   Those four need their object and its recipient array (which may be
   empty). notificationType is only Bounce, Complaint or Delivery;
   eventType is any kind, "Rendering Failure" (with the space) for
   SESEVENT_RENDERING_FAILURE; when both are present they must agree.
   JSON null counts as absent. Caps: at most 1,000 recipients and 100
   tags (more is an error that says so); mail.messageId and the type
   fields refused when longer than 255 bytes, addresses when longer than
   320, either when empty or holding a control character; any kept
   string holding a NUL ("\u0000") refused; other strings cut at 1,000
   bytes. Values quoted in errbuf are cut and stripped of
   control characters. The caller frees *out with sesevent_clear(). */
int	sesevent_parse(const char *json, size_t len, struct sesevent *out,
	    char *errbuf, size_t errlen);
/* Free what *e holds and zero it. Accepts NULL and an all-zero struct. */
void	sesevent_clear(struct sesevent *e);
/* "Bounce", "Complaint", ... as SES spells them ("Rendering Failure");
   "" for a value outside the enum. Static storage. */
const char *sesevent_kind_name(enum sesevent_kind k);
/* "Permanent", "Transient", "Undetermined", or "" for
   SESEVENT_BOUNCE_NONE and values outside the enum. Static storage. */
const char *sesevent_bounce_name(enum sesevent_bounce b);
/* The first value of tag `name` (exact, case-sensitive), borrowed from
   *e, or NULL when there is no such tag. */
const char *sesevent_tag(const struct sesevent *e, const char *name);

#endif
