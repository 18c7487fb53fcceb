/*
 * reputation.c - counting and judging (see reputation.h); the counts'
 * layout and the rates are lib/rates.c's. A level's hash expires one
 * bucket past a window after its last write.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "admin.h"
#include "effects.h"
#include "log.h"
#include "rates.h"
#include "reputation.h"

/* Add n to field kind ('b' or 'c') of the bucket now is in. */
static int
reputation_count(struct store *st, const struct config *cf,
    const char *key, char kind, size_t n, char *errbuf, size_t errlen)
{
	char		field[40], num[24], ttl[24];
	struct timespec	ts;
	long long	bucket, bucket_ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	bucket = rates_bucket(cf, (long long)ts.tv_sec * 1000 +
	    ts.tv_nsec / 1000000, &bucket_ms);
	snprintf(field, sizeof(field), "%lld:%c", bucket, kind);
	snprintf(num, sizeof(num), "%zu", n);
	snprintf(ttl, sizeof(ttl), "%lld", bucket_ms * (RATES_BUCKETS + 1));
	if (admin_int_reply(admin_cmd(st, errbuf, errlen, 4, "HINCRBY", key,
	    field, num), errbuf, errlen) < 0 ||
	    admin_int_reply(admin_cmd(st, errbuf, errlen, 3, "PEXPIRE", key,
	    ttl), errbuf, errlen) < 0)
		return -1;
	return 0;
}

/* Log, or pause the level, as its rates say; a level paused already is
   left as it is. */
static int
reputation_judge(struct store *st, const struct config *cf,
    enum schema_level level, const char *id, const struct rates *r,
    char *errbuf, size_t errlen)
{
	enum rates_state	 state = rates_judge(cf, r);
	char			 what[300], reason[200], key[SCHEMA_KEY_MAX];
	const char		*name = id != NULL ? id : "account";
	bool			 bounces;
	long long		 paused;

	if (state == RATES_LOW_VOLUME || state == RATES_OK)
		return 0;
	snprintf(what, sizeof(what), "bounce rate %.2f%% (%lld of %lld), "
	    "complaint rate %.2f%% (%lld)", r->bounce_rate, r->bounces,
	    r->sends, r->complaint_rate, r->complaints);
	if (state == RATES_REVIEW) {
		log_warning(NULL, "feedbackd: reputation: %s under review: "
		    "%s", name, what);
		return 0;
	}
	if (admin_key(st, key, sizeof(key), SCHEMA_PAUSE, level, id, errbuf,
	    errlen) < 0 ||
	    (paused = admin_int_reply(admin_cmd(st, errbuf, errlen, 2,
	    "EXISTS", key), errbuf, errlen)) < 0)
		return -1;
	if (paused > 0)
		return 0;
	bounces = r->bounce_rate >= cf->feedbackd_bounce_pause;
	snprintf(reason, sizeof(reason), "%s rate %.2f%% reached %g%%",
	    bounces ? "bounce" : "complaint",
	    bounces ? r->bounce_rate : r->complaint_rate,
	    bounces ? cf->feedbackd_bounce_pause :
	    cf->feedbackd_complaint_pause);
	if (admin_pause_set(st, level, id, reason, 0, errbuf, errlen) != 0)
		return -1;
	log_err(NULL, "feedbackd: reputation: %s paused: %s (resume with "
	    "sesgatectl resume)", name, what);
	return 0;
}

int
reputation_update(struct store *st, const struct config *cf,
    const struct sesevent *e, char *errbuf, size_t errlen)
{
	struct effects_level	 lv[EFFECTS_MAX_LEVELS];
	char			 key[SCHEMA_KEY_MAX];
	struct rates		 r;
	size_t			 n;
	char			 kind;

	if (e->kind == SESEVENT_BOUNCE &&
	    e->bounce_type == SESEVENT_BOUNCE_PERMANENT)
		kind = 'b';
	else if (e->kind == SESEVENT_COMPLAINT &&
	    strcmp(e->feedback_type, "not-spam") != 0)
		kind = 'c';
	else
		return 0;
	n = effects_levels(cf, e, lv);
	for (size_t i = 0; i < n; i++) {
		const char *id = lv[i].level == SCHEMA_ACCOUNT ? NULL :
		    lv[i].id;

		if (admin_key(st, key, sizeof(key), SCHEMA_REPUTATION,
		    lv[i].level, id, errbuf, errlen) < 0 ||
		    reputation_count(st, cf, key, kind, e->nrcpts, errbuf,
		    errlen) < 0 ||
		    rates_read(st, cf, lv[i].level, id, true, &r, errbuf,
		    errlen) != 0 ||
		    reputation_judge(st, cf, lv[i].level, id, &r, errbuf,
		    errlen) < 0)
			return -1;
	}
	return 0;
}
