/*
 * metrics.h - the Prometheus text exposition (version 0.0.4) that
 * sesgate-feedbackd serves at GET /metrics on its metrics listener: the
 * counters every program keeps in Redis (policy decisions, SES events),
 * the suppression list's size, the pauses in force, and the daemon's own
 * figures (notifications refused by reason, the spool). One event loop.
 */
#ifndef SESGATE_METRICS_H
#define SESGATE_METRICS_H

#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "store.h"

/* Why a notification was refused; the label values of
   sesgate_feedbackd_refused_total. */
enum metrics_refusal {
	METRICS_NOT_SNS,	/* not an SNS message */
	METRICS_TOPIC,		/* topic not allowed */
	METRICS_CERT_URL,	/* bad SigningCertURL or SubscribeURL */
	METRICS_UNKNOWN_CERT,	/* no such certificate */
	METRICS_BAD_SIGNATURE,
	METRICS_NOT_SES,	/* signed, but not an SES event */
	METRICS_UNAVAILABLE,	/* 503: neither Redis nor the spool */
	METRICS_NREFUSALS,
};

/* What the daemon counts itself, since it started. */
struct metrics_own {
	unsigned long long	refused[METRICS_NREFUSALS];
	unsigned long long	stored;		/* applied at once */
	unsigned long long	spooled;
	unsigned long long	repeats;
	size_t			spool_pending;
};

/* Append the exposition to out: Redis's figures read with st (NULL, or a
   failed read, gives sesgate_redis_up 0 and leaves them out), the
   account's rates by cf's window, then own. 0, or -1 with errbuf when
   Redis failed (out is complete all the same). */
int	metrics_render(struct buf *out, struct store *st,
	    const struct config *cf, const struct metrics_own *own,
	    char *errbuf, size_t errlen);

#endif
