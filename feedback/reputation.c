/*
 * reputation.c - rates and the pause (see reputation.h). A level's
 * counts are one hash, fields "BUCKET:b" (bounced recipients) and
 * "BUCKET:c" (complaining recipients), BUCKET the window's 24th part
 * since the epoch; fields that left the window are deleted when the hash
 * is read, and the hash expires one window after its last write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "admin.h"
#include "log.h"
#include "reputation.h"
#include "str.h"

#define REPUTATION_BUCKETS	24

struct reputation_sum {
	long long	bounces;
	long long	complaints;
};

/* Add n to field kind ('b' or 'c') of the current bucket, then sum the
   window and drop what left it. */
static int
reputation_count(struct store *st, const char *key, long long bucket,
    long long bucket_ms, char kind, size_t n, struct reputation_sum *sum,
    char *errbuf, size_t errlen)
{
	char			 field[40], num[24], ttl[24];
	struct store_reply	*r;

	snprintf(field, sizeof(field), "%lld:%c", bucket, kind);
	snprintf(num, sizeof(num), "%zu", n);
	snprintf(ttl, sizeof(ttl), "%lld", bucket_ms * (REPUTATION_BUCKETS +
	    1));
	if (admin_int_reply(admin_cmd(st, errbuf, errlen, 4, "HINCRBY", key,
	    field, num), errbuf, errlen) < 0 ||
	    admin_int_reply(admin_cmd(st, errbuf, errlen, 3, "PEXPIRE", key,
	    ttl), errbuf, errlen) < 0)
		return -1;
	r = admin_cmd(st, errbuf, errlen, 2, "HGETALL", key);
	if (r == NULL)
		return -1;
	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i + 1 < r->nelem; i += 2) {
		const char	*f = r->elem[i]->str, *colon = strchr(f, ':');
		long long	 b = strtoll(f, NULL, 10);
		long long	 v = strtoll(r->elem[i + 1]->str, NULL, 10);

		if (colon == NULL || b <= bucket - REPUTATION_BUCKETS) {
			struct store_reply *d = admin_cmd(st, errbuf, errlen,
			    3, "HDEL", key, f);

			store_reply_free(&d);
			continue;
		}
		if (colon[1] == 'b')
			sum->bounces += v;
		else if (colon[1] == 'c')
			sum->complaints += v;
	}
	store_reply_free(&r);
	return 0;
}

/* The rates of one level against its thresholds: log, and pause at the
   pause threshold unless the level is paused already. */
static int
reputation_judge(struct store *st, const struct config *cf,
    enum schema_level level, const char *id, const struct reputation_sum *s,
    char *errbuf, size_t errlen)
{
	struct admin_usage	 u;
	char			 what[400], reason[220], key[SCHEMA_KEY_MAX];
	double			 br, cr;
	const char		*name = level == SCHEMA_ACCOUNT ? "account" :
				    id;
	long long		 paused;

	if (admin_usage(st, level, id, &u, errbuf, errlen) != 0)
		return -1;
	if (u.count < cf->feedbackd_min_sends || u.count <= 0)
		return 0;
	br = 100.0 * (double)s->bounces / (double)u.count;
	cr = 100.0 * (double)s->complaints / (double)u.count;
	snprintf(what, sizeof(what), "bounce rate %.2f%% (%lld of %lld), "
	    "complaint rate %.2f%% (%lld)", br, s->bounces, u.count, cr,
	    s->complaints);
	if (br < cf->feedbackd_bounce_pause &&
	    cr < cf->feedbackd_complaint_pause) {
		if (br >= cf->feedbackd_bounce_review ||
		    cr >= cf->feedbackd_complaint_review)
			log_warning(NULL, "feedbackd: reputation: %s under "
			    "review: %s", name, what);
		return 0;
	}
	if (admin_key(st, key, sizeof(key), SCHEMA_PAUSE, level, id, errbuf,
	    errlen) < 0 ||
	    (paused = admin_int_reply(admin_cmd(st, errbuf, errlen, 2,
	    "EXISTS", key), errbuf, errlen)) < 0)
		return -1;
	if (paused > 0)
		return 0;
	snprintf(reason, sizeof(reason), "%s rate %.2f%% reached %g%%",
	    br >= cf->feedbackd_bounce_pause ? "bounce" : "complaint",
	    br >= cf->feedbackd_bounce_pause ? br : cr,
	    br >= cf->feedbackd_bounce_pause ? cf->feedbackd_bounce_pause :
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
	long long		 window = cf->policyd_quota_window_ms;
	long long		 bucket_ms = window / REPUTATION_BUCKETS;
	char			 sender[ADDR_BUFSZ], key[SCHEMA_KEY_MAX];
	struct reputation_sum	 sum;
	struct timespec		 ts;
	long long		 now, bucket;
	char			 kind;

	if (e->kind == SESEVENT_BOUNCE &&
	    e->bounce_type == SESEVENT_BOUNCE_PERMANENT)
		kind = 'b';
	else if (e->kind == SESEVENT_COMPLAINT &&
	    strcmp(e->feedback_type, "not-spam") != 0)
		kind = 'c';
	else
		return 0;
	if (bucket_ms < 1000)
		bucket_ms = 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	bucket = now / bucket_ms;
	for (int lv = 0; lv < 3; lv++) {
		static const enum schema_level levels[] = {
			SCHEMA_ACCOUNT, SCHEMA_SENDER, SCHEMA_DOMAIN
		};
		enum schema_level	 level = levels[lv];
		const char		*id = NULL;

		if (level != SCHEMA_ACCOUNT) {
			if (addr_normalise(e->source, sender,
			    sizeof(sender)) < 0)
				break;
			id = level == SCHEMA_SENDER ? sender :
			    addr_domain(sender);
		}
		if (admin_key(st, key, sizeof(key), SCHEMA_REPUTATION, level,
		    id, errbuf, errlen) < 0 ||
		    reputation_count(st, key, bucket, bucket_ms, kind,
		    e->nrcpts, &sum, errbuf, errlen) < 0 ||
		    reputation_judge(st, cf, level, id, &sum, errbuf,
		    errlen) < 0)
			return -1;
	}
	return 0;
}
