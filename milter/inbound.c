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
#include "spfverify.h"
#include "str.h"

/* Signatures reported; more are not verified (RFC 6376 section 6.1
   allows a verifier to limit them). */
#define INBOUND_MAX_SIGS	8

struct inbound {
	char			 ip[64];
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

void
inbound_header(struct msg *m, const char *name, const char *value)
{
	struct inbound *in = m->in;

	if (in == NULL)
		return;
	if (in->dkim != NULL)
		dkimverify_header(in->dkim, name, value, m->lead_space);
	if (strcasecmp(name, "From") == 0 && in->nfrom++ == 0)
		(void)fromhdr_parse(value, &in->from);
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
	default:
		return m->quarantine[0] != '\0' ? "quarantine" : "accept";
	}
}

void
inbound_eom(struct msg *m, struct verdict *v)
{
	struct inbound		*in = m->in;
	struct authres_dkim	 sigs[INBOUND_MAX_SIGS];
	struct authres_dmarc	 dmarc;
	struct buf		 ar = BUF_INIT, dk = BUF_INIT;
	char			 from[256];
	size_t			 n = 0;

	inbound_continue(v);
	if (in == NULL)
		return;
	if (in->dkim != NULL)
		n = dkimverify_eom(in->dkim, sigs, INBOUND_MAX_SIGS);
	inbound_from_domain(in, from, sizeof(from));
	dmarcverify_check(m->g->res, in->ip, from, &in->spf, sigs, n,
	    &dmarc);
	if (!inbound_dns_error(m, sigs, n, &dmarc, v))
		inbound_dmarc_action(m, &dmarc, v);
	for (size_t i = 0; i < n; i++)
		buf_printf(&dk, "%s%s", i > 0 ? "," : "",
		    authres_name(sigs[i].result));
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

void
inbound_free(struct inbound **ip)
{
	struct inbound *in = *ip;

	if (in == NULL)
		return;
	*ip = NULL;
	dkimverify_free(&in->dkim);
	free(in);
}
