/*
 * metrics.c - the Prometheus exposition (see metrics.h). Counters kept in
 * the statistics hash become one family per program: fields
 * "policyd:<decision>" sesgate_policy_decisions_total{decision=...}, and
 * "feedbackd:<event>" sesgate_ses_events_total{event=...}; counts by
 * recipient, as they are stored.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "metrics.h"
#include "rates.h"

static const char *const metrics_refusal_names[METRICS_NREFUSALS] = {
	[METRICS_NOT_SNS] = "not_sns",
	[METRICS_TOPIC] = "topic",
	[METRICS_CERT_URL] = "url",
	[METRICS_UNKNOWN_CERT] = "unknown_certificate",
	[METRICS_BAD_SIGNATURE] = "bad_signature",
	[METRICS_NOT_SES] = "not_ses",
	[METRICS_UNAVAILABLE] = "unavailable",
};

/* A label value, with '\\', '"' and line feeds escaped as the text
   format wants them. */
static void
metrics_label(struct buf *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			buf_puts(out, "\\n");
		else
			buf_append(out, v, 1);
	}
}

/* One family from the statistics fields starting with prefix. */
static void
metrics_family(struct buf *out, char **pairs, const char *prefix,
    const char *name, const char *label, const char *help)
{
	size_t plen = strlen(prefix);

	buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2)
		if (strncmp(pairs[i], prefix, plen) == 0) {
			buf_printf(out, "%s{%s=\"", name, label);
			metrics_label(out, pairs[i] + plen);
			buf_printf(out, "\"} %s\n", pairs[i + 1]);
		}
}

static int
metrics_redis(struct buf *out, struct store *st, const struct config *cf,
    char *errbuf, size_t errlen)
{
	struct rates		 rt;
	char			**pairs = NULL, key[SCHEMA_KEY_MAX];
	struct admin_pause	*p = NULL;
	size_t			 np = 0;
	long long		 n;

	if (admin_stats(st, &pairs, errbuf, errlen) < 0 ||
	    admin_key(st, key, sizeof(key), SCHEMA_SUPPRESSION_INDEX,
	    SCHEMA_ACCOUNT, NULL, errbuf, errlen) < 0 ||
	    (n = admin_int_reply(admin_cmd(st, errbuf, errlen, 2, "ZCARD",
	    key), errbuf, errlen)) < 0 ||
	    admin_pause_list(st, &p, &np, errbuf, errlen) < 0) {
		admin_strv_free(&pairs);
		return -1;
	}
	metrics_family(out, pairs, "policyd:",
	    "sesgate_policy_decisions_total", "decision",
	    "Recipients decided by sesgate-policyd, by decision.");
	metrics_family(out, pairs, "feedbackd:", "sesgate_ses_events_total",
	    "event", "SES events applied, by recipient (one for events "
	    "without recipients).");
	buf_printf(out, "# HELP sesgate_suppressed Addresses on the "
	    "suppression list.\n# TYPE sesgate_suppressed gauge\n"
	    "sesgate_suppressed %lld\n", n);
	if (rates_read(st, cf, SCHEMA_ACCOUNT, NULL, false, &rt, errbuf,
	    errlen) == 0)
		buf_printf(out, "# HELP sesgate_bounce_rate_percent The "
		    "account's bounce rate over the quota window.\n"
		    "# TYPE sesgate_bounce_rate_percent gauge\n"
		    "sesgate_bounce_rate_percent %.4f\n"
		    "# HELP sesgate_complaint_rate_percent The account's "
		    "complaint rate over the quota window.\n"
		    "# TYPE sesgate_complaint_rate_percent gauge\n"
		    "sesgate_complaint_rate_percent %.4f\n"
		    "# HELP sesgate_reputation_review Whether a rate of the "
		    "account is at its review threshold or above.\n"
		    "# TYPE sesgate_reputation_review gauge\n"
		    "sesgate_reputation_review %d\n", rt.bounce_rate,
		    rt.complaint_rate, rates_judge(cf, &rt) >= RATES_REVIEW);
	buf_printf(out, "# HELP sesgate_paused Pauses in force (1 each).\n"
	    "# TYPE sesgate_paused gauge\n");
	for (size_t i = 0; i < np; i++) {
		buf_printf(out, "sesgate_paused{level=\"%s\",id=\"",
		    schema_level_name(p[i].level));
		metrics_label(out, p[i].id);
		buf_puts(out, "\"} 1\n");
	}
	admin_pause_list_free(&p, np);
	admin_strv_free(&pairs);
	return 0;
}

int
metrics_render(struct buf *out, struct store *st, const struct config *cf,
    const struct metrics_own *own, char *errbuf, size_t errlen)
{
	int rc = st != NULL ? metrics_redis(out, st, cf, errbuf, errlen) : -1;

	if (st == NULL)
		snprintf(errbuf, errlen, "no connection to Redis");
	buf_printf(out, "# HELP sesgate_redis_up Whether Redis answered "
	    "this scrape.\n# TYPE sesgate_redis_up gauge\n"
	    "sesgate_redis_up %d\n", rc == 0);
	buf_printf(out, "# HELP sesgate_feedbackd_notifications_total "
	    "Notifications taken since start, by outcome.\n"
	    "# TYPE sesgate_feedbackd_notifications_total counter\n"
	    "sesgate_feedbackd_notifications_total{outcome=\"stored\"} %llu\n"
	    "sesgate_feedbackd_notifications_total{outcome=\"spooled\"} %llu\n"
	    "sesgate_feedbackd_notifications_total{outcome=\"repeat\"} %llu\n",
	    own->stored, own->spooled, own->repeats);
	buf_printf(out, "# HELP sesgate_feedbackd_refused_total Messages "
	    "refused since start, by reason.\n"
	    "# TYPE sesgate_feedbackd_refused_total counter\n");
	for (size_t i = 0; i < METRICS_NREFUSALS; i++)
		buf_printf(out, "sesgate_feedbackd_refused_total{reason=\"%s\"} "
		    "%llu\n", metrics_refusal_names[i], own->refused[i]);
	buf_printf(out, "# HELP sesgate_feedbackd_spool_pending Notifications "
	    "waiting in the spool for Redis.\n"
	    "# TYPE sesgate_feedbackd_spool_pending gauge\n"
	    "sesgate_feedbackd_spool_pending %zu\n", own->spool_pending);
	return rc;
}
