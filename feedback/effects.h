/*
 * effects.h - what one SES event does to the Redis store: a permanent
 * bounce or a complaint (other than not-spam) puts each recipient on the
 * suppression list with the feedback it came from, and every event is
 * counted (feedbackd:<kind>, per recipient where the event has
 * recipients) in the statistics hash and in the SES event counters of
 * the levels it is attributed to (effects_levels()). Each SNS message takes effect once: its
 * MessageId is remembered for dedupe_ttl. Built on store.h; one struct
 * store per thread.
 */
#ifndef SESGATE_EFFECTS_H
#define SESGATE_EFFECTS_H

#include <stddef.h>

#include "addr.h"
#include "config.h"
#include "sesevent.h"
#include "schema.h"
#include "store.h"

/* A level an event is attributed to; id "" for the account. */
struct effects_level {
	enum schema_level	level;
	char			id[ADDR_BUFSZ];
};

#define EFFECTS_MAX_LEVELS	4

/* The levels event e counts for: the account; the envelope sender
   (mail.source) and its domain, when it is an address; the SASL user
   named by cf's user_tag among the event's tags, when set. Their number;
   out has room for EFFECTS_MAX_LEVELS. */
size_t	effects_levels(const struct config *cf, const struct sesevent *e,
	    struct effects_level *out);

/* What applying an event did, for the log line. */
struct effects_out {
	size_t	suppressed;	/* recipients put on the suppression list */
	size_t	skipped;	/* recipients whose address was refused */
};

/* Apply e, carried by the SNS message sns_id, unless that message took
   effect already (within cf's dedupe_ttl), then the reputation it leaves
   (reputation.h). 1 applied, 0 a repeat (nothing done), -1 Redis failed
   (errbuf; the message may be offered again). */
int	effects_apply(struct store *st, const struct config *cf,
	    const struct sesevent *e, const char *sns_id,
	    struct effects_out *out, char *errbuf, size_t errlen);

/* The log line of an event applied (rc 1) or repeated (rc 0), starting
   with its SES message ID; `from` names the message it came in
   ("sns=ID", "mail ID"). */
void	effects_log(const struct sesevent *e, const char *from,
	    const struct effects_out *out, int rc);

/* The statistics field of an event: "feedbackd:bounce_permanent", ...;
   into out (64 bytes). */
void	effects_counter(const struct sesevent *e, char *out, size_t outlen);

#endif
