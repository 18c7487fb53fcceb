/*
 * rates.h - bounce and complaint rates of a level (the account, a domain,
 * a sender) as sesgate-feedbackd keeps them (sesgate-redis(7),
 * reputation keys) against the recipients sesgate-policyd accepted over
 * its quota_window, and where they stand against the thresholds of
 * sesgate.conf. Built on admin.h; one struct store per thread.
 */
#ifndef SESGATE_RATES_H
#define SESGATE_RATES_H

#include <stdbool.h>
#include <stddef.h>

#include "admin.h"
#include "config.h"

/* Reputation counts are kept in this many buckets of a window. */
#define RATES_BUCKETS	24

struct rates {
	long long	sends;		/* recipients accepted in the window */
	long long	bounces;	/* permanently bounced recipients */
	long long	complaints;
	double		bounce_rate;	/* percent; 0 without sends */
	double		complaint_rate;
};

enum rates_state {
	RATES_LOW_VOLUME,	/* fewer sends than reputation_min_sends */
	RATES_OK,
	RATES_REVIEW,		/* a review threshold reached */
	RATES_PAUSE,		/* a pause threshold reached */
};

/* The bucket length of cf's window (ms) and the bucket now is in. */
long long	rates_bucket(const struct config *cf, long long now_ms,
		    long long *bucket_ms_out);
/* Read the level's counts and sends into *out; with prune, delete the
   counts that left the window. 0, -1 or ADMIN_EINPUT (errbuf). */
int		rates_read(struct store *st, const struct config *cf,
		    enum schema_level level, const char *id, bool prune,
		    struct rates *out, char *errbuf, size_t errlen);
enum rates_state rates_judge(const struct config *cf, const struct rates *r);
/* "low volume", "ok", "under review", "pause threshold reached". */
const char	*rates_state_name(enum rates_state s);

#endif
