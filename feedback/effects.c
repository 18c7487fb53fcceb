/*
 * effects.c - SES events into Redis (see effects.h). A message already
 * marked as applied is skipped at once. Otherwise its suppression entries
 * are written first (writing one again gives the same entry), then one
 * script op marks the message as applied and adds its counters, together
 * and only if it was not marked in the meantime: a message whose effects
 * were interrupted, or that two daemons take at once, is counted once.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "admin.h"
#include "effects.h"
#include "log.h"
#include "reputation.h"
#include "suppression.h"
#include "str.h"

void
effects_log(const struct sesevent *e, const char *from,
    const struct effects_out *out, int rc)
{
	log_info(e->ses_message_id, "feedbackd: %s event=%s%s%s "
	    "recipients=%zu suppressed=%zu%s", from,
	    sesevent_kind_name(e->kind), e->kind == SESEVENT_BOUNCE ? "/" : "",
	    e->kind == SESEVENT_BOUNCE ? sesevent_bounce_name(e->bounce_type) :
	    "", e->nrcpts, out->suppressed, rc == 0 ? " repeat" : "");
}

void
effects_counter(const struct sesevent *e, char *out, size_t outlen)
{
	const char	*kind = sesevent_kind_name(e->kind);
	size_t		 o;

	o = (size_t)snprintf(out, outlen, "feedbackd:");
	for (const char *p = kind; *p != '\0' && o + 1 < outlen; p++)
		out[o++] = *p == ' ' ? '_' : (char)tolower((unsigned char)*p);
	out[o < outlen ? o : outlen - 1] = '\0';
	if (e->kind == SESEVENT_BOUNCE) {
		char t[32];

		(void)str_copy(t, sizeof(t),
		    sesevent_bounce_name(e->bounce_type));
		(void)str_fmt(out + strlen(out), outlen - strlen(out), "_%s",
		    str_lower(t));
	} else if (e->kind == SESEVENT_COMPLAINT &&
	    strcmp(e->feedback_type, "not-spam") == 0) {
		(void)str_fmt(out + strlen(out), outlen - strlen(out),
		    "_not_spam");
	}
}

/* Whether the event puts its recipients on the suppression list. */
static const char *
effects_reason(const struct sesevent *e)
{
	if (e->kind == SESEVENT_BOUNCE &&
	    e->bounce_type == SESEVENT_BOUNCE_PERMANENT)
		return "BOUNCE";
	/* A recipient who marked the message as not spam takes back a
	   complaint (RFC 5965's not-spam feedback type). */
	if (e->kind == SESEVENT_COMPLAINT &&
	    strcmp(e->feedback_type, "not-spam") != 0)
		return "COMPLAINT";
	return NULL;
}

static int
effects_suppress(struct store *st, const struct sesevent *e,
    const char *reason, struct effects_out *out, char *errbuf,
    size_t errlen)
{
	for (size_t i = 0; i < e->nrcpts; i++) {
		struct suppression_in	in = {
			.addr = e->rcpts[i].addr,
			.reason = reason,
			.source = "feedback",
			.bounce_type = sesevent_bounce_name(e->bounce_type),
			.bounce_subtype = e->bounce_subtype,
			.feedback_type = e->feedback_type,
			.diagnostic = e->rcpts[i].diagnostic,
			.feedback_id = e->feedback_id,
			.message_id = e->ses_message_id,
		};
		char			why[256];
		int			rc;

		rc = suppression_add(st, &in, why, sizeof(why));
		if (rc == ADMIN_EINPUT) {
			log_warning(e->ses_message_id, "feedbackd: recipient "
			    "<%s> not suppressed: %s", ADMIN_QUOTE(in.addr),
			    why);
			out->skipped++;
			continue;
		}
		if (rc < 0) {
			(void)str_copy(errbuf, errlen, why);
			return -1;
		}
		out->suppressed++;
	}
	return 0;
}

/* Soft bounces (transient, undetermined), with soft_bounce_limit set:
   counted per address over soft_bounce_window; the address is suppressed
   (reason BOUNCE, its bounce type) when its count reaches the limit. */
static int
effects_soft(struct store *st, const struct config *cf,
    const struct sesevent *e, struct effects_out *out, char *errbuf,
    size_t errlen)
{
	char		member[ADDR_BUFSZ], key[SCHEMA_KEY_MAX], ttl[24];
	char		diag[160], why[256];
	struct store_reply *r;
	long long	n;

	if (cf->feedbackd_soft_limit == 0 || e->kind != SESEVENT_BOUNCE ||
	    e->bounce_type == SESEVENT_BOUNCE_PERMANENT)
		return 0;
	snprintf(ttl, sizeof(ttl), "%lld", cf->feedbackd_soft_window_ms);
	for (size_t i = 0; i < e->nrcpts; i++) {
		struct suppression_in in = {
			.addr = e->rcpts[i].addr, .reason = "BOUNCE",
			.source = "feedback", .diagnostic = diag,
			.bounce_type = sesevent_bounce_name(e->bounce_type),
			.bounce_subtype = e->bounce_subtype,
			.feedback_id = e->feedback_id,
			.message_id = e->ses_message_id,
		};

		if (suppression_member(st, in.addr, member, sizeof(member),
		    why, sizeof(why)) != 0 ||
		    admin_key(st, key, sizeof(key), SCHEMA_SOFT_BOUNCES,
		    SCHEMA_ACCOUNT, member, why, sizeof(why)) != 0)
			continue;
		n = admin_int_reply(admin_cmd(st, errbuf, errlen, 2, "INCR",
		    key), errbuf, errlen);
		if (n < 0)
			return -1;
		if (n == 1 && admin_int_reply(admin_cmd(st, errbuf, errlen,
		    3, "PEXPIRE", key, ttl), errbuf, errlen) < 0)
			return -1;
		if (n < cf->feedbackd_soft_limit)
			continue;
		snprintf(diag, sizeof(diag), "%lld soft bounces; the last: %s",
		    n, e->rcpts[i].diagnostic);
		if (suppression_add(st, &in, why, sizeof(why)) == -1) {
			(void)str_copy(errbuf, errlen, why);
			return -1;
		}
		out->suppressed++;
		r = admin_cmd(st, why, sizeof(why), 2, "DEL", key);
		store_reply_free(&r);
	}
	return 0;
}

size_t
effects_levels(const struct config *cf, const struct sesevent *e,
    struct effects_level *out)
{
	const char	*user = cf->feedbackd_user_tag[0] != '\0' ?
			    sesevent_tag(e, cf->feedbackd_user_tag) : NULL;
	char		 err[128];
	size_t		 n = 0;

	out[n].level = SCHEMA_ACCOUNT;
	out[n++].id[0] = '\0';
	if (addr_normalise(e->source, out[n].id, sizeof(out[n].id)) == 0) {
		const char *dom = addr_domain(out[n].id);

		out[n++].level = SCHEMA_SENDER;
		out[n].level = SCHEMA_DOMAIN;
		(void)str_copy(out[n].id, sizeof(out[n].id), dom);
		n++;
	}
	/* The SASL user the policy service counts a sender's quota under
	   (sender_identity = sasl), when a tag carries it. */
	if (user != NULL && admin_level_id(SCHEMA_SENDER, user, out[n].id,
	    sizeof(out[n].id), err, sizeof(err)) == 0)
		out[n++].level = SCHEMA_SENDER;
	return n;
}

int
effects_apply(struct store *st, const struct config *cf,
    const struct sesevent *e, const char *sns_id, struct effects_out *out,
    char *errbuf, size_t errlen)
{
	char			 seen[SCHEMA_KEY_MAX], stats[SCHEMA_KEY_MAX];
	char			 field[64], keys[EFFECTS_MAX_LEVELS][SCHEMA_KEY_MAX];
	struct effects_level	 lv[EFFECTS_MAX_LEVELS];
	const char		*reason = effects_reason(e);
	struct schema_argv	 cmd;
	long long		 exists, counted;
	size_t			 nkeys;
	int			 bad = 0;

	memset(out, 0, sizeof(*out));
	if (admin_key(st, seen, sizeof(seen), SCHEMA_FEEDBACK_SEEN,
	    SCHEMA_ACCOUNT, sns_id, errbuf, errlen) < 0 ||
	    admin_key(st, stats, sizeof(stats), SCHEMA_STATS, SCHEMA_ACCOUNT,
	    NULL, errbuf, errlen) < 0)
		return -1;
	exists = admin_int_reply(admin_cmd(st, errbuf, errlen, 2, "EXISTS",
	    seen), errbuf, errlen);
	if (exists < 0)
		return -1;
	if (exists > 0)
		return 0;
	if (reason != NULL &&
	    effects_suppress(st, e, reason, out, errbuf, errlen) < 0)
		return -1;
	effects_counter(e, field, sizeof(field));
	nkeys = effects_levels(cf, e, lv);
	for (size_t i = 0; i < nkeys; i++)
		if (admin_key(st, keys[i], SCHEMA_KEY_MAX, SCHEMA_FEEDBACK,
		    lv[i].level, lv[i].level == SCHEMA_ACCOUNT ? NULL :
		    lv[i].id, errbuf, errlen) < 0)
			return -1;
	schema_argv_init(&cmd);
	bad |= schema_argv_addf(&cmd, "%zu", 2 + nkeys);
	bad |= schema_argv_add(&cmd, seen, strlen(seen));
	bad |= schema_argv_add(&cmd, stats, strlen(stats));
	for (size_t i = 0; i < nkeys; i++)
		bad |= schema_argv_add(&cmd, keys[i], strlen(keys[i]));
	bad |= schema_argv_add(&cmd, "feedback", 8);
	bad |= schema_argv_addf(&cmd, "%lld", cf->feedbackd_dedupe_ttl_ms);
	for (size_t i = 0; i < 1 + nkeys; i++) {
		bad |= schema_argv_add(&cmd, field, strlen(field));
		bad |= schema_argv_addf(&cmd, "%zu",
		    e->nrcpts > 0 ? e->nrcpts : 1);
	}
	if (bad) {
		(void)str_copy(errbuf, errlen, "message ID too long");
		return -1;
	}
	counted = admin_int_reply(admin_eval(st, &cmd, errbuf, errlen),
	    errbuf, errlen);
	if (counted <= 0)
		return counted < 0 ? -1 : 0;
	/* Applied: the soft bounces and the rates it leaves. A failure
	   here leaves the event applied. */
	if (effects_soft(st, cf, e, out, errbuf, errlen) < 0)
		log_warning(e->ses_message_id, "feedbackd: soft bounces: "
		    "Redis: %s", errbuf);
	if (reputation_update(st, cf, e, errbuf, errlen) < 0)
		log_warning(e->ses_message_id, "feedbackd: reputation: "
		    "Redis: %s", errbuf);
	return 1;
}
