/*
 * effects.h - what one SES event does to the Redis store: a permanent
 * bounce or a complaint (other than not-spam) puts each recipient on the
 * suppression list with the feedback it came from, and every event is
 * counted (feedbackd:<kind>, per recipient where the event has
 * recipients) in the statistics hash and in the SES event counters of
 * the account, of the envelope sender (mail.source) and of its domain. Each SNS message takes effect once: its
 * MessageId is remembered for dedupe_ttl. Built on store.h; one struct
 * store per thread.
 */
#ifndef SESGATE_EFFECTS_H
#define SESGATE_EFFECTS_H

#include <stddef.h>

#include "config.h"
#include "sesevent.h"
#include "store.h"

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
