/*
 * inbound.c - inbound mail: the SPF, DKIM and DMARC verdicts of one
 * message, the Authentication-Results field that carries them, and the
 * action the configuration names for each verdict, chosen here and
 * nowhere else. The state lives in the message (struct msg) and belongs
 * to its connection's thread; the resolver and the DKIM verifier library
 * come from the configuration generation, shared by all threads.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authres.h"
#include "buf.h"
#include "cidr.h"
#include "dkimverify.h"
#include "dmarcverify.h"
#include "fromhdr.h"
#include "gen.h"
#include "inbound.h"
#include "log.h"
#include "mem.h"
#include "rules.h"
#include "spfverify.h"
#include "str.h"

/* A header field kept for the notify entry: cut to this length. */
#define INBOUND_FIELD_MAX	300

struct inbound {
	char			 ip[64];
	char			 helo[256];
	char			 sender[ADDR_BUFSZ + 2];
	char			 to[INBOUND_FIELD_MAX + 1];
	char			 subject[INBOUND_FIELD_MAX + 1];
	char			 message_id[INBOUND_FIELD_MAX + 1];
	char			 date[INBOUND_FIELD_MAX + 1];
	char			 from_raw[INBOUND_FIELD_MAX + 1];
	struct rules_msg	*rules;
	struct authres_spf	 spf;
	struct dkimverify	*dkim;
	size_t			 nfrom;		/* From fields */
	struct fromhdr		 from;		/* of the first */
	size_t			 nar;		/* Authentication-Results seen */
};

static void
inbound_continue(struct verdict *v)
{
	msg_verdict(v, VERDICT_CONTINUE, "", "", "%s", "");
}

bool
inbound_ip_blocked(const struct config *cf, const char *ip,
    struct verdict *v)
{
	/* As SES's receipt filters: an allow entry wins over a block. */
	if (!cidr_list_match(cf->milter_ip_block, ip) ||
	    cidr_list_match(cf->milter_ip_allow, ip))
		return false;
	msg_verdict(v, VERDICT_REJECT, "554", "5.7.1", "Access denied: "
	    "client address %s is blocked by the IP address filter", ip);
	return true;
}

void
inbound_mail(struct msg *m, const char *ip, const char *helo,
    const char *sender, struct verdict *v)
{
	struct inbound	*in = xcalloc(1, sizeof(*in));
	char		 err[256];

	inbound_continue(v);
	inbound_free(&m->in);
	m->in = in;
	(void)str_copy(in->ip, sizeof(in->ip), ip);
	(void)str_copy(in->helo, sizeof(in->helo), helo);
	(void)str_copy(in->sender, sizeof(in->sender), sender);
	if (rules_count(m->g->rules) > 0)
		in->rules = rules_msg_new(m->g->rules);
	spfverify_check(m->g->res, ip, helo, sender, &in->spf);
	in->dkim = dkimverify_new(m->g->dkv, m->qid, err, sizeof(err));
	if (in->dkim == NULL)
		log_warning(m->qid, "milter: %s; DKIM not verified", err);
	if (in->spf.result == AUTH_FAIL &&
	    m->g->cf->milter_on_spf_fail == INBOUND_REJECT) {
		log_info(m->qid, "milter: client=%s inbound spf=fail "
		    "identity=<%s> action=reject", ip, in->spf.identity);
		msg_verdict(v, VERDICT_REJECT, "550", "5.7.23", "SPF check "
		    "failed: %s does not designate %s as a permitted sender",
		    in->spf.domain, ip);
	}
}

/* The first value of a field, unfolded and without control characters,
   cut to INBOUND_FIELD_MAX (out has room for it). */
static void
inbound_keep(char *out, const char *value)
{
	size_t o = 0;

	if (out[0] != '\0')
		return;
	while (*value == ' ' || *value == '\t')
		value++;
	for (; *value != '\0' && o < INBOUND_FIELD_MAX; value++) {
		unsigned char ch = (unsigned char)*value;

		if (ch == '\r' || ch == '\n')
			continue;
		out[o++] = ch < ' ' || ch == 127 ? ' ' : (char)ch;
	}
	out[o] = '\0';
}

void
inbound_rcpt(struct msg *m, const char *rcpt, struct verdict *v)
{
	inbound_continue(v);
	if (m->in != NULL && m->in->rules != NULL)
		rules_rcpt(m->in->rules, rcpt, v);
}

void
inbound_header(struct msg *m, const char *name, const char *value)
{
	struct inbound *in = m->in;

	if (in == NULL)
		return;
	if (in->dkim != NULL)
		dkimverify_header(in->dkim, name, value, m->lead_space);
	if (strcasecmp(name, "From") == 0 && in->nfrom++ == 0) {
		(void)fromhdr_parse(value, &in->from);
		inbound_keep(in->from_raw, value);
	} else if (strcasecmp(name, "To") == 0) {
		inbound_keep(in->to, value);
	} else if (strcasecmp(name, "Subject") == 0) {
		inbound_keep(in->subject, value);
	} else if (strcasecmp(name, "Message-ID") == 0) {
		inbound_keep(in->message_id, value);
	} else if (strcasecmp(name, "Date") == 0) {
		inbound_keep(in->date, value);
	}
	if (strcasecmp(name, "Authentication-Results") == 0) {
		/* libmilter counts fields of one name from 1. */
		in->nar++;
		if (authres_is_ours(value, m->g->authserv)) {
			m->ar_del = xrealloc(m->ar_del, (m->nar_del + 1) *
			    sizeof(*m->ar_del));
			m->ar_del[m->nar_del++] = in->nar;
		}
	}
}

void
inbound_eoh(struct msg *m)
{
	if (m->in != NULL && m->in->dkim != NULL)
		dkimverify_eoh(m->in->dkim);
}

void
inbound_body(struct msg *m, const unsigned char *p, size_t n)
{
	if (m->in != NULL && m->in->dkim != NULL)
		dkimverify_body(m->in->dkim, p, n);
}

/* The From domain DMARC is about: "" unless exactly one From field with
   exactly one address (RFC 7489 section 6.6.1). */
static void
inbound_from_domain(const struct inbound *in, char *out, size_t outlen)
{
	const char *at;

	out[0] = '\0';
	if (in->nfrom != 1 || in->from.n != 1 || in->from.bad != 0)
		return;
	at = strrchr(in->from.addr[0], '@');
	if (at != NULL && at[1] != '\0')
		(void)str_copy(out, outlen, at + 1);
	str_lower(out);
}

/* A DNS failure that leaves the outcome open: the configured action. */
static bool
inbound_dns_error(struct msg *m, const struct authres_dkim *sigs, size_t n,
    const struct authres_dmarc *dmarc, struct verdict *v)
{
	const struct inbound *in = m->in;

	if (dmarc->result == AUTH_PASS ||
	    m->g->cf->milter_on_dns_error == MILTER_ACTION_ACCEPT)
		return false;
	if (in->spf.result == AUTH_TEMPERROR) {
		msg_verdict(v, VERDICT_TEMPFAIL, "451", "4.7.24", "SPF check "
		    "for %s failed temporarily; try again later",
		    in->spf.domain);
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (sigs[i].result != AUTH_TEMPERROR)
			continue;
		msg_verdict(v, VERDICT_TEMPFAIL, "451", "4.7.5", "DKIM key "
		    "for %s._domainkey.%s could not be fetched; try again "
		    "later", sigs[i].s, sigs[i].d);
		return true;
	}
	if (dmarc->result == AUTH_TEMPERROR) {
		msg_verdict(v, VERDICT_TEMPFAIL, "451", "4.7.1", "DMARC record "
		    "for %s could not be fetched; try again later",
		    dmarc->from);
		return true;
	}
	return false;
}

/* What a DMARC failure leads to: on_dmarc_reject or on_dmarc_quarantine
   for the policy pct= left; dmarc->dis becomes what is done. */
static void
inbound_dmarc_action(struct msg *m, struct authres_dmarc *dmarc,
    struct verdict *v)
{
	const struct config	*cf = m->g->cf;
	int			 act = INBOUND_RECORD;

	if (dmarc->result != AUTH_FAIL)
		return;
	if (dmarc->dis == DISP_REJECT)
		act = cf->milter_on_dmarc_reject;
	else if (dmarc->dis == DISP_QUARANTINE)
		act = cf->milter_on_dmarc_quarantine;
	switch (act) {
	case INBOUND_REJECT:
		dmarc->dis = DISP_REJECT;
		msg_verdict(v, VERDICT_REJECT, "550", "5.7.1", "Message "
		    "rejected: DMARC policy of %s (p=%s) is not satisfied",
		    dmarc->from, authres_disposition_name(dmarc->policy));
		break;
	case INBOUND_QUARANTINE:
		dmarc->dis = DISP_QUARANTINE;
		(void)str_fmt(m->quarantine, sizeof(m->quarantine), "DMARC "
		    "policy of %s (p=%s)", dmarc->from,
		    authres_disposition_name(dmarc->policy));
		break;
	default:
		dmarc->dis = DISP_NONE;
		break;
	}
}

static const char *
inbound_action_name(const struct msg *m, const struct verdict *v)
{
	switch (v->act) {
	case VERDICT_REJECT:
		return "reject";
	case VERDICT_TEMPFAIL:
		return "tempfail";
	case VERDICT_DISCARD:
		return "discard";
	default:
		return m->quarantine[0] != '\0' ? "quarantine" : "accept";
	}
}

static void
inbound_add_header(void *arg, const char *name, const char *value)
{
	msg_add_edit(arg, name, xstrdup(value), true);
}

/* The notify entries of the rules matched: the envelope, the fields of
   interest and the verdicts, as SES's receipt notification has them. */
static void
inbound_notify(struct msg *m, const char *dkim,
    const struct authres_dmarc *dmarc, const char *action,
    struct verdict *v)
{
	struct inbound		*in = m->in;
	struct store		*st;
	char			 err[512], now[32];
	struct timespec		 ts;
	int			 rc;
	const struct rules_field fields[] = {
		{ "queue_id", m->qid },
		{ "time", now },
		{ "client_ip", in->ip },
		{ "helo", in->helo },
		{ "mail_from", in->sender },
		{ "from", in->from_raw },
		{ "to", in->to },
		{ "subject", in->subject },
		{ "message_id", in->message_id },
		{ "date", in->date },
		{ "spf", authres_name(in->spf.result) },
		{ "dkim", dkim },
		{ "dmarc", authres_name(dmarc->result) },
		{ "dmarc_policy", dmarc->result == AUTH_FAIL ?
		    authres_disposition_name(dmarc->policy) : "" },
		{ "action", action },
	};

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(now, sizeof(now), "%lld", (long long)ts.tv_sec * 1000 +
	    ts.tv_nsec / 1000000);
	st = gen_store_get(m->g, err, sizeof(err));
	if (st == NULL) {
		msg_trouble(m, v, err);
		return;
	}
	rc = rules_notify(in->rules, st, m->g->cf->redis_prefix,
	    m->g->cf->milter_receipt_stream_maxlen, fields,
	    sizeof(fields) / sizeof(fields[0]), err, sizeof(err));
	gen_store_put(m->g, &st, rc < 0);
	if (rc < 0)
		msg_trouble(m, v, err);
}

/* What the receipt rules do at the end: fields added, notify entries,
   recipients stopped. */
static void
inbound_rules_eom(struct msg *m, const char *dkim,
    const struct authres_dmarc *dmarc, struct verdict *v)
{
	struct rules_msg	*rm = m->in->rules;
	const char		*action;

	if (rm == NULL)
		return;
	if (rules_all_stopped(rm))
		msg_verdict(v, VERDICT_DISCARD, "", "", "%s", "");
	action = inbound_action_name(m, v);
	if (rules_notifies(rm))
		inbound_notify(m, dkim, dmarc, action, v);
	if (v->act != VERDICT_TEMPFAIL)
		rules_headers(rm, inbound_add_header, m);
}

void
inbound_eom(struct msg *m, struct verdict *v)
{
	struct inbound		*in = m->in;
	struct authres_dkim	 sigs[DKIMVERIFY_MAX_SIGS];
	struct authres_dmarc	 dmarc;
	struct buf		 ar = BUF_INIT, dk = BUF_INIT;
	char			 from[256];
	size_t			 n = 0;

	inbound_continue(v);
	if (in == NULL)
		return;
	if (in->dkim != NULL)
		n = dkimverify_eom(in->dkim, sigs, DKIMVERIFY_MAX_SIGS);
	inbound_from_domain(in, from, sizeof(from));
	dmarcverify_check(m->g->res, in->ip, from, &in->spf, sigs, n,
	    &dmarc);
	if (!inbound_dns_error(m, sigs, n, &dmarc, v))
		inbound_dmarc_action(m, &dmarc, v);
	for (size_t i = 0; i < n; i++)
		buf_printf(&dk, "%s%s", i > 0 ? "," : "",
		    authres_name(sigs[i].result));
	if (v->act == VERDICT_CONTINUE)
		inbound_rules_eom(m, n > 0 ? dk.data : "none", &dmarc, v);
	log_info(m->qid, "milter: client=%s inbound spf=%s dkim=%s dmarc=%s "
	    "action=%s", in->ip, authres_name(in->spf.result),
	    n > 0 ? dk.data : "none", authres_name(dmarc.result),
	    inbound_action_name(m, v));
	buf_free(&dk);
	if (v->act != VERDICT_CONTINUE)
		return;
	authres_format(&ar, m->g->authserv, &in->spf, sigs, n, &dmarc);
	msg_add_edit(m, "Authentication-Results", xstrdup(ar.data), true);
	buf_free(&ar);
	if (m->g->cf->milter_received_spf)
		msg_add_edit(m, "Received-SPF", xstrdup(in->spf.received),
		    true);
}

size_t
inbound_stopped(const struct msg *m, char *const **list_out)
{
	if (m->in == NULL || m->in->rules == NULL) {
		*list_out = NULL;
		return 0;
	}
	return rules_stopped(m->in->rules, list_out);
}

void
inbound_free(struct inbound **ip)
{
	struct inbound *in = *ip;

	if (in == NULL)
		return;
	*ip = NULL;
	dkimverify_free(&in->dkim);
	rules_msg_free(&in->rules);
	free(in);
}
