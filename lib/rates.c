/*
 * rates.c - reputation rates (see rates.h). A level's counts are one
 * hash, fields "BUCKET:b" and "BUCKET:c", BUCKET the number of whole
 * bucket lengths since the epoch.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rates.h"

long long
rates_bucket(const struct config *cf, long long now_ms,
    long long *bucket_ms_out)
{
	long long bucket_ms = cf->policyd_quota_window_ms / RATES_BUCKETS;

	if (bucket_ms < 1000)
		bucket_ms = 1000;
	*bucket_ms_out = bucket_ms;
	return now_ms / bucket_ms;
}

int
rates_read(struct store *st, const struct config *cf,
    enum schema_level level, const char *id, bool prune, struct rates *out,
    char *errbuf, size_t errlen)
{
	char			 key[SCHEMA_KEY_MAX];
	struct store_reply	*r;
	struct admin_usage	 u;
	struct timespec		 ts;
	long long		 bucket, bucket_ms;
	int			 rc;

	memset(out, 0, sizeof(*out));
	clock_gettime(CLOCK_REALTIME, &ts);
	bucket = rates_bucket(cf, (long long)ts.tv_sec * 1000 +
	    ts.tv_nsec / 1000000, &bucket_ms);
	if ((rc = admin_key(st, key, sizeof(key), SCHEMA_REPUTATION, level,
	    id, errbuf, errlen)) < 0)
		return rc;
	if ((r = admin_cmd(st, errbuf, errlen, 2, "HGETALL", key)) == NULL)
		return -1;
	for (size_t i = 0; i + 1 < r->nelem; i += 2) {
		const char	*f = r->elem[i]->str, *colon = strchr(f, ':');
		long long	 v = strtoll(r->elem[i + 1]->str, NULL, 10);

		if (colon == NULL ||
		    strtoll(f, NULL, 10) <= bucket - RATES_BUCKETS) {
			if (prune) {
				struct store_reply *d = admin_cmd(st, errbuf,
				    errlen, 3, "HDEL", key, f);

				store_reply_free(&d);
			}
			continue;
		}
		if (colon[1] == 'b')
			out->bounces += v;
		else if (colon[1] == 'c')
			out->complaints += v;
	}
	store_reply_free(&r);
	if ((rc = admin_usage(st, level, id, &u, errbuf, errlen)) != 0)
		return rc;
	out->sends = u.count;
	if (out->sends > 0) {
		out->bounce_rate = 100.0 * (double)out->bounces /
		    (double)out->sends;
		out->complaint_rate = 100.0 * (double)out->complaints /
		    (double)out->sends;
	}
	return 0;
}

enum rates_state
rates_judge(const struct config *cf, const struct rates *r)
{
	if (r->sends <= 0 || r->sends < cf->feedbackd_min_sends)
		return RATES_LOW_VOLUME;
	if (r->bounce_rate >= cf->feedbackd_bounce_pause ||
	    r->complaint_rate >= cf->feedbackd_complaint_pause)
		return RATES_PAUSE;
	if (r->bounce_rate >= cf->feedbackd_bounce_review ||
	    r->complaint_rate >= cf->feedbackd_complaint_review)
		return RATES_REVIEW;
	return RATES_OK;
}

const char *
rates_state_name(enum rates_state s)
{
	switch (s) {
	case RATES_LOW_VOLUME:
		return "low volume";
	case RATES_OK:
		return "ok";
	case RATES_REVIEW:
		return "under review";
	case RATES_PAUSE:
		return "pause threshold reached";
	}
	return "ok";
}
