/*
 * reputation.h - bounce and complaint rates, as SES keeps them, for the
 * account, each envelope sender and each sender domain, and the
 * automatic sending pause.
 * Bounces (permanent) and complaints (not not-spam) are counted in time
 * buckets over the policy service's quota_window; sends are the
 * recipients the policy service accepted in that window (its usage
 * counters). Once a level has sent reputation_min_sends, a rate at its
 * review threshold is logged, and at its pause threshold the level is
 * paused (sesgate-policyd then answers 454 4.7.0 with the reason) until
 * an administrator resumes it. One struct store per thread.
 */
#ifndef SESGATE_REPUTATION_H
#define SESGATE_REPUTATION_H

#include <stddef.h>

#include "config.h"
#include "sesevent.h"
#include "store.h"

/* Count e, which took effect just now, and act on the rates it leaves.
   0, or -1 with errbuf when Redis failed (the rates are looked at again
   with the next event). */
int	reputation_update(struct store *st, const struct config *cf,
	    const struct sesevent *e, char *errbuf, size_t errlen);

#endif
