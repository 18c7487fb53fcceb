/*
 * msg.c - the outbound decisions on one message. SES refuses a message
 * after the whole of it has been sent (554 at end of data) or, worse,
 * accepts it and bounces it later; refusing here, at the stage where the
 * problem shows, lets the sender's MTA tell the user at once.
 * Header fields are kept until the end of the header, because the
 * signing key depends on the From field, which may come last; the body is
 * streamed to the signer and the MIME scanner and never kept.
 * A msg belongs to one thread; the generation it borrows is read-only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "admin.h"
#include "log.h"
#include "mem.h"
#include "idcache.h"
#include "inbound.h"
#include "mime.h"
#include "monotime.h"
#include "msg.h"
#include "sign.h"
#include "store.h"
#include "str.h"

/* Header fields SES allows only once per message (its documentation's
   list, "Header fields" of the SES developer guide); a second one makes
   SES refuse the message with "Duplicate header". At most 64. */
static const char *const once_only[] = {
	"Accept-Language", "acceptLanguage", "Archived-At", "Auto-Submitted",
	"Bounces-to", "Comments", "Content-Alternative", "Content-Base",
	"Content-Class", "Content-Description", "Content-Disposition",
	"Content-Duration", "Content-ID", "Content-Language",
	"Content-Length", "Content-Location", "Content-MD5",
	"Content-Transfer-Encoding", "Content-Type", "Date", "Delivered-To",
	"Disposition-Notification-Options", "Disposition-Notification-To",
	"DKIM-Signature", "DomainKey-Signature", "Errors-To", "From",
	"Importance", "In-Reply-To", "Keywords", "List-Archive", "List-Help",
	"List-Id", "List-Owner", "List-Post", "List-Subscribe",
	"List-Unsubscribe", "Message-Context", "Message-ID", "MIME-Version",
	"Organization", "Original-From", "Original-Message-ID",
	"Original-Recipient", "Original-Subject", "Precedence", "Priority",
	"References", "Reply-To", "Return-Path", "Return-Receipt-To",
	"Sender", "Solicitation", "Sensitivity", "Subject", "Thread-Index",
	"Thread-Topic", "User-Agent", "VBR-Info",
};

int
msg_once_index(const char *name)
{
	for (size_t i = 0; i < sizeof(once_only) / sizeof(once_only[0]); i++)
		if (strcasecmp(name, once_only[i]) == 0)
			return (int)i;
	return -1;
}

void
msg_verdict(struct verdict *v, enum verdict_act act, const char *rcode,
    const char *xcode, const char *fmt, ...)
{
	va_list ap;

	v->act = act;
	(void)str_copy(v->rcode, sizeof(v->rcode), rcode);
	(void)str_copy(v->xcode, sizeof(v->xcode), xcode);
	va_start(ap, fmt);
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
}

static void
verdict_continue(struct verdict *v)
{
	msg_verdict(v, VERDICT_CONTINUE, "", "", "%s", "");
}

/* Something on our side broke (a key libopendkim refused, Redis down):
   the configured action, never a silent pass of what should be checked. */
void
msg_trouble(struct msg *m, struct verdict *v, const char *what)
{
	if (m->g->cf->milter_on_store_error == MILTER_ACTION_ACCEPT) {
		log_warning(m->qid, "milter: %s; accepting (on_store_error = "
		    "accept)", what);
		verdict_continue(v);
		return;
	}
	log_warning(m->qid, "milter: %s; answering 451 4.3.0", what);
	msg_verdict(v, VERDICT_TEMPFAIL, "451", "4.3.0", "Sending checks "
	    "cannot be made now; try again later");
}

void
msg_start(struct msg *m, struct gen *g, const char *qid, const char *auth,
    bool lead_space)
{
	msg_reset(m);
	m->g = g;
	m->active = true;
	m->lead_space = lead_space;
	msg_set_qid(m, qid);
	(void)str_copy(m->auth, sizeof(m->auth), auth != NULL ? auth : "");
	m->mime = mime_new(NULL);
}

void
msg_set_qid(struct msg *m, const char *qid)
{
	if (qid != NULL && *qid != '\0')
		log_clean(qid, m->qid, sizeof(m->qid));
	else if (m->qid[0] == '\0')
		(void)str_copy(m->qid, sizeof(m->qid), LOG_QID_NONE);
}

void
msg_reset(struct msg *m)
{
	signer_free(&m->signer);
	mime_free(&m->mime);
	buf_free(&m->hdrs);
	for (size_t i = 0; i < m->nedits; i++)
		free(m->edits[i].value);
	inbound_free(&m->in);
	free(m->ar_del);
	memset(m, 0, sizeof(*m));
}

static void
msg_too_big(struct msg *m, struct verdict *v)
{
	msg_verdict(v, VERDICT_REJECT, "552", "5.3.4", "Message size "
	    "exceeds fixed limit of %lld bytes", m->g->cf->milter_max_message_size);
}

void
msg_mail(struct msg *m, long long size, struct verdict *v)
{
	verdict_continue(v);
	if (size > m->g->cf->milter_max_message_size)
		msg_too_big(m, v);
}

void
msg_rcpt(struct msg *m, struct verdict *v)
{
	verdict_continue(v);
	if (m->nrcpt >= (size_t)m->g->cf->milter_max_recipients) {
		msg_verdict(v, VERDICT_TEMPFAIL, "452", "4.5.3", "Too many "
		    "recipients");
		return;
	}
	m->nrcpt++;
}

/* Bytes a field takes on the wire: "Name:" (and the space the MTA left
   out), the value with its line breaks as CRLF, and CRLF. */
static long long
msg_field_size(const struct msg *m, const char *name, const char *value)
{
	long long n = (long long)strlen(name) + 1 + (m->lead_space ? 0 : 1) +
	    2;

	for (const char *p = value; *p != '\0'; p++)
		n += *p == '\n' && (p == value || p[-1] != '\r') ? 2 : 1;
	return n;
}

void
msg_header(struct msg *m, const char *name, const char *value,
    struct verdict *v)
{
	int i = msg_once_index(name);

	verdict_continue(v);
	m->size += msg_field_size(m, name, value);
	if (m->size > m->g->cf->milter_max_message_size) {
		msg_too_big(m, v);
		return;
	}
	if (i >= 0) {
		if (m->once_seen & (UINT64_C(1) << i)) {
			msg_verdict(v, VERDICT_REJECT, "554", "5.6.0",
			    "Transaction failed: Duplicate header '%s'.",
			    once_only[i]);
			return;
		}
		m->once_seen |= UINT64_C(1) << i;
	}
	if (strcasecmp(name, "From") == 0 && m->nfrom++ == 0)
		fromhdr_parse(value, &m->from);
	else if (strcasecmp(name, "DKIM-Signature") == 0)
		m->has_dkim = true;
	else if (strcasecmp(name, "X-SES-CONFIGURATION-SET") == 0)
		m->has_confset = true;
	buf_append(&m->hdrs, name, strlen(name) + 1);
	buf_append(&m->hdrs, value, strlen(value) + 1);
	if (m->mime != NULL)
		mime_header(m->mime, name, value);
}

/* Every address of the From field must be a verified identity. Those
   found verified a moment ago (idcache.h) are not asked again. */
static void
msg_check_from(struct msg *m, struct verdict *v)
{
	struct store	*st;
	char		 err[256], list[512] = "";
	size_t		 off = 0, n = m->from.n < FROMHDR_MAX ? m->from.n :
			    FROMHDR_MAX, known = 0;
	bool		 broken = false;
	long long	 now = monotime_ms();

	for (size_t i = 0; i < n; i++)
		if (idcache_verified(m->g->ids, m->from.addr[i], now))
			known++;
	if (known == n)
		return;
	st = gen_store_get(m->g, err, sizeof(err));
	if (st == NULL) {
		char what[300];

		snprintf(what, sizeof(what), "redis: %s", err);
		msg_trouble(m, v, what);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int r = admin_identity_verified(st, m->from.addr[i], err,
		    sizeof(err));

		if (r < 0) {
			char what[300];

			broken = true;
			snprintf(what, sizeof(what), "redis: %s", err);
			msg_trouble(m, v, what);
			break;
		}
		if (r == 1)
			idcache_put(m->g->ids, m->from.addr[i], now);
		if (r == 0) {
			int k = snprintf(list + off, sizeof(list) - off, "%s%s",
			    off > 0 ? ", " : "", m->from.addr[i]);

			if (k > 0 && (size_t)k < sizeof(list) - off)
				off += (size_t)k;
		}
	}
	gen_store_put(m->g, &st, broken);
	if (!broken && off > 0)
		msg_verdict(v, VERDICT_REJECT, "554", "5.7.1", "Message "
		    "rejected: Email address is not verified. The following "
		    "identities failed the check in region %s: %s",
		    m->g->cf->region, list);
}

/* Start signing: the key of the From domain, then every field kept. */
static void
msg_start_signer(struct msg *m, struct verdict *v)
{
	char		 err[512];
	const char	*p, *end;

	if (m->has_dkim) {
		/* SES takes one DKIM-Signature before adding its own. */
		log_info(m->qid, "milter: already carries a DKIM-Signature; "
		    "not signed");
		return;
	}
	if (m->nfrom != 1 || m->from.n != 1) {
		log_info(m->qid, "milter: %zu From field(s) with %zu "
		    "address(es); not signed", m->nfrom, m->from.n);
		return;
	}
	m->signer = signer_new(m->g->ks, addr_domain(m->from.addr[0]),
	    m->qid, err, sizeof(err));
	if (m->signer == NULL) {
		if (*err != '\0')
			msg_trouble(m, v, err);
		else
			log_info(m->qid, "milter: no DKIM key for %s; not "
			    "signed", addr_domain(m->from.addr[0]));
		return;
	}
	(void)str_copy(m->signed_by, sizeof(m->signed_by),
	    signer_describe(m->signer));
	end = m->hdrs.data + m->hdrs.len;
	for (p = m->hdrs.data; p != NULL && p < end; ) {
		const char *name = p, *value = p + strlen(p) + 1;

		p = value + strlen(value) + 1;
		if (signer_header(m->signer, name, value, m->lead_space, err,
		    sizeof(err)) < 0) {
			msg_trouble(m, v, err);
			return;
		}
	}
	if (signer_eoh(m->signer, err, sizeof(err)) < 0)
		msg_trouble(m, v, err);
}

void
msg_eoh(struct msg *m, struct verdict *v)
{
	verdict_continue(v);
	m->size += 2;		/* the empty line */
	if (m->mime != NULL)
		mime_eoh(m->mime);
	if (m->g->cf->milter_verify_from && m->from.bad > 0) {
		/* SES checks every From address; one it cannot read is one
		   it refuses. */
		msg_verdict(v, VERDICT_REJECT, "554", "5.1.7", "Message "
		    "rejected: the From field holds an address that cannot be "
		    "read");
		return;
	}
	if (m->g->cf->milter_verify_from && m->from.n > 0) {
		msg_check_from(m, v);
		if (v->act != VERDICT_CONTINUE)
			return;
	}
	msg_start_signer(m, v);
}

void
msg_body(struct msg *m, const unsigned char *p, size_t n, struct verdict *v)
{
	char err[512];

	verdict_continue(v);
	m->size += (long long)n;
	if (m->size > m->g->cf->milter_max_message_size) {
		msg_too_big(m, v);
		return;
	}
	if (m->mime != NULL)
		mime_body(m->mime, p, n);
	if (m->signer != NULL && signer_body(m->signer, p, n, err,
	    sizeof(err)) < 0)
		msg_trouble(m, v, err);
}

/* The configuration set for this sender: a SASL user's line wins over
   the From domain's, which wins over a parent domain's. */
static const char *
msg_confset(const struct msg *m)
{
	const char *best = NULL;
	size_t best_rank = 0;

	for (char **l = m->g->cf->milter_configuration_sets;
	    l != NULL && *l != NULL; l++) {
		const char	*sp = strchr(*l, ' ');
		size_t		 wl = (size_t)(sp - *l), rank = 0;

		if (strncmp(*l, "user:", 5) == 0) {
			if (*m->auth != '\0' && wl - 5 == strlen(m->auth) &&
			    strncmp(*l + 5, m->auth, wl - 5) == 0)
				rank = 1000;
		} else if (m->from.n > 0) {
			const char *d = addr_domain(m->from.addr[0]);

			/* The domain itself or a parent of it; the longer
			   the match, the better. */
			for (const char *s = d; s != NULL; ) {
				if (strlen(s) == wl && strncmp(s, *l, wl) == 0) {
					rank = wl;
					break;
				}
				s = strchr(s, '.');
				if (s != NULL)
					s++;
			}
		}
		if (rank > best_rank) {
			best_rank = rank;
			best = sp + 1;
		}
	}
	return best;
}

void
msg_add_edit(struct msg *m, const char *name, char *value, bool at_top)
{
	if (m->nedits == MSG_MAX_EDITS) {
		free(value);
		return;
	}
	m->edits[m->nedits].name = name;
	m->edits[m->nedits].value = value;
	m->edits[m->nedits++].at_top = at_top;
}

void
msg_eom(struct msg *m, struct verdict *v)
{
	struct mime_result	 mr;
	const char		*cs;
	char			 err[512], *sigs[2];
	int			 n;

	verdict_continue(v);
	if (m->mime != NULL) {
		char notes[200], file[MIME_FILE_MAX];

		switch (mime_end(m->mime, &mr)) {
		case MIME_UNSUPPORTED:
			log_clean(mr.file, file, sizeof(file));
			msg_verdict(v, VERDICT_REJECT, "554", "5.6.1",
			    "Transaction failed: attachment \"%s\": SES does "
			    "not accept files ending in .%s", file, mr.ext);
			return;
		case MIME_TOO_COMPLEX:
			/* The parts not looked at go to SES, which refuses
			   what it refuses: logged, not guessed. */
			log_warning(m->qid, "milter: attachments not all "
			    "checked: %s", mr.reason);
			break;
		default:
			break;
		}
		if (mr.notes != 0)
			log_info(m->qid, "milter: malformed MIME handled: %s",
			    mime_format_notes(mr.notes, notes, sizeof(notes)));
	}
	if (!m->has_confset && (cs = msg_confset(m)) != NULL) {
		const char *sp = strchr(cs, ' ');

		if (sp != NULL) {
			msg_add_edit(m, "X-SES-CONFIGURATION-SET",
			    xstrndup(cs, (size_t)(sp - cs)), false);
			msg_add_edit(m, "X-SES-MESSAGE-TAGS", xstrdup(sp + 1),
			    false);
		} else {
			msg_add_edit(m, "X-SES-CONFIGURATION-SET",
			    xstrdup(cs), false);
		}
	}
	if (m->signer == NULL)
		return;
	n = signer_eom(m->signer, sigs, err, sizeof(err));
	if (n < 0) {
		msg_trouble(m, v, err);
		return;
	}
	/* Each DKIM-Signature goes first, above the fields it covers. */
	for (int i = n - 1; i >= 0; i--)
		msg_add_edit(m, "DKIM-Signature", sigs[i], true);
}
