/*
 * decide.c - the policy service's decisions and the exact SMTP replies
 * that carry them. The reply texts mirror Amazon SES's own
 * (SES-REFERENCE: SMTP reply codes), with enhanced status codes added so
 * that Postfix logs and bounces say what happened. No state; safe in any
 * thread.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cidr.h"
#include "decide.h"
#include "log.h"
#include "str.h"

#define SIMULATOR_DOMAIN	"simulator.amazonses.com"

static void
decide_set(struct decision *d, const char *why, const char *action)
{
	d->why = why;
	(void)str_copy(d->action, sizeof(d->action), action);
}

bool
decide_request(const struct config *cf, const struct request *req,
    struct decision *d)
{
	const char *rq = request_str(req, "request");
	const char *state = request_str(req, "protocol_state");
	const char *sasl = request_str(req, "sasl_username");
	const char *client = request_str(req, "client_address");
	const char *sender = request_str(req, "sender");

	d->level[0] = '\0';
	if (strcmp(rq, "smtpd_access_policy") != 0) {
		decide_set(d, "not-policy-request", "DUNNO");
		return false;
	}
	if (strcasecmp(state, "RCPT") != 0) {
		decide_set(d, "not-rcpt", "DUNNO");
		return false;
	}
	/* Inbound mail (neither authenticated nor from an internal host)
	   is the milter's business. */
	if (*sasl == '\0' && !cidr_list_match(cf->internal_hosts, client)) {
		decide_set(d, "inbound", "DUNNO");
		return false;
	}
	if (addr_normalise(request_str(req, "recipient"), d->rcpt,
	    sizeof(d->rcpt)) < 0) {
		decide_set(d, "bad-recipient",
		    "501 5.1.3 Bad recipient address syntax");
		return false;
	}
	d->sender[0] = '\0';
	if (*sender != '\0' && addr_normalise(sender, d->sender,
	    sizeof(d->sender)) < 0) {
		decide_set(d, "bad-sender",
		    "501 5.1.7 Bad sender address syntax");
		return false;
	}
	if (*sasl != '\0' &&
	    cf->policyd_sender_identity == SENDER_IDENTITY_SASL) {
		/* A SASL name that is an address is compared as one
		   (sesgatectl writes it normalised); any other is kept as
		   the client gave it. */
		bool as_address = strchr(sasl, '@') != NULL &&
		    addr_normalise(sasl, d->sender_id,
		    sizeof(d->sender_id)) == 0;

		if (!as_address && str_copy(d->sender_id,
		    sizeof(d->sender_id), sasl) < 0) {
			decide_set(d, "bad-sasl-user",
			    "554 5.7.1 SASL user name too long");
			return false;
		}
	} else {
		(void)str_copy(d->sender_id, sizeof(d->sender_id),
		    *d->sender != '\0' ? d->sender : "<>");
	}
	d->check.sender = d->sender;
	d->check.sender_id = d->sender_id;
	d->check.rcpt = d->rcpt;
	d->check.instance = request_str(req, "instance");
	/* SES: the mailbox simulator is held to the sending rate but not
	   counted against the daily quota. */
	d->check.count_daily = strcmp(addr_domain(d->rcpt),
	    SIMULATOR_DOMAIN) != 0;
	return true;
}

/* A value from Redis in an SMTP reply: printable ASCII, bounded. */
static void
decide_clean(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; in[i] != '\0' && o + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)in[i];

		out[o++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
	}
	out[o] = '\0';
}

static void
decide_unverified(const struct config *cf, const char *addr,
    struct decision *d, const char *why)
{
	d->why = why;
	(void)str_fmt(d->action, sizeof(d->action), "554 5.7.1 Message "
	    "rejected: Email address is not verified. The following "
	    "identities failed the check in region %s: %s", cf->region,
	    addr);
}

void
decide_result(const struct config *cf, const struct schema_result *r,
    struct decision *d)
{
	char		clean[256], when[32];
	long long	t;
	time_t		tt;
	struct tm	tm;

	switch (r->status) {
	case SCHEMA_ACCEPT:
		decide_set(d, "accept", "DUNNO");
		return;
	case SCHEMA_PAUSED:
		/* The script names the pause that matched: the account, the
		   sender's quota identity ("user"), the envelope sender, or
		   the sender's domain. */
		(void)str_copy(d->level, sizeof(d->level),
		    strcmp(r->arg1, "user") == 0 ? "sender" : r->arg1);
		decide_clean(r->arg2, clean, sizeof(clean));
		d->why = "paused";
		if (strcmp(r->arg1, "account") == 0)
			(void)str_fmt(d->action, sizeof(d->action), "454 "
			    "4.7.0 Sending paused for this account: %s",
			    *clean ? clean : "paused by the administrator");
		else
			(void)str_fmt(d->action, sizeof(d->action), "454 "
			    "4.7.0 Sending paused for %s %s: %s", d->level,
			    strcmp(r->arg1, "domain") == 0 ?
			    addr_domain(d->sender) :
			    strcmp(r->arg1, "user") == 0 ? d->sender_id :
			    d->sender,
			    *clean ? clean : "paused by the administrator");
		return;
	case SCHEMA_UNVERIFIED_SENDER:
		decide_unverified(cf, d->sender, d, "unverified-sender");
		return;
	case SCHEMA_UNVERIFIED_RECIPIENT:
		decide_unverified(cf, d->rcpt, d, "unverified-recipient");
		return;
	case SCHEMA_SUPPRESSED:
		decide_clean(r->arg1, clean, sizeof(clean));
		if (str_to_ll(r->arg2, 0, (long long)1 << 40, &t) < 0)
			t = 0;
		tt = (time_t)t;
		gmtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		d->why = "suppressed";
		/* Postfix puts "<rcpt>: Recipient address rejected:" before
		   this text. */
		(void)str_fmt(d->action, sizeof(d->action), "550 5.1.1 Address "
		    "is on the suppression list (reason %s, since %s)", clean,
		    when);
		return;
	case SCHEMA_TOO_MANY_RECIPIENTS:
		decide_set(d, "too-many-recipients",
		    "452 4.5.3 Too many recipients");
		return;
	case SCHEMA_QUOTA:
		(void)str_copy(d->level, sizeof(d->level), r->arg1);
		decide_set(d, "quota", "454 4.7.0 Throttling failure: "
		    "Daily message quota exceeded.");
		return;
	case SCHEMA_RATE:
		(void)str_copy(d->level, sizeof(d->level), r->arg1);
		decide_set(d, "rate", "454 4.7.0 Throttling failure: "
		    "Maximum sending rate exceeded.");
		return;
	}
	decide_store_error(cf, d);
}

void
decide_store_error(const struct config *cf, struct decision *d)
{
	switch (cf->policyd_on_store_error) {
	case STORE_ACTION_DUNNO:
		decide_set(d, "store-error", "DUNNO");
		return;
	case STORE_ACTION_DEFER:
		decide_set(d, "store-error", "DEFER 4.3.0 Sending limits "
		    "cannot be checked now; try again later");
		return;
	default:
		decide_set(d, "store-error", "DEFER_IF_PERMIT 4.3.0 Sending "
		    "limits cannot be checked now; try again later");
		return;
	}
}

void
decide_malformed(struct decision *d)
{
	d->level[0] = '\0';
	decide_set(d, "malformed", "DEFER_IF_PERMIT 4.3.5 Malformed policy "
	    "request");
}
