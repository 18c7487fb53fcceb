/*
 * fbmail.c - reads one feedback e-mail (see fbmail.h) into a struct
 * sesevent. fbmime.c walks the MIME tree and hands over the report's
 * delivery status or feedback report part and the attached original
 * (decoded when base64 or quoted-printable); this file reads the two
 * report kinds and the IDs and addresses they carry. Everything is freed
 * before fbmail_parse() returns; no state, safe in any thread.
 *
 * RFC 6522 (multipart/report), RFC 3464 (delivery status fields),
 * RFC 5965 (feedback report fields), RFC 5322 3.4 (address lists).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fbmail.h"
#include "fbmime.h"
#include "mem.h"
#include "str.h"

struct fbmail_rcpts {
	struct sesevent_rcpt	*v;
	size_t			 n, cap;
};

/* The parse: the walk, and the report's parts it found (.p NULL: none). */
struct fbmail_ctx {
	struct fbmime		*m;
	struct fbmime_text	 dsn, arf, orig;
};

static bool
fbmail_wsp(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Which slot of the struct fbmail_ctx at arg a report's part fills, by
   its type; NULL for none (an fbmime_slot_fn). */
static struct fbmime_text *
fbmail_slot(void *arg, const char *type)
{
	struct fbmail_ctx *c = arg;

	if (strcmp(type, "message/delivery-status") == 0 ||
	    strcmp(type, "message/global-delivery-status") == 0 ||
	    strcmp(type, "text/delivery-status") == 0)
		return &c->dsn;
	if (strcmp(type, "message/feedback-report") == 0 ||
	    strcmp(type, "text/feedback-report") == 0)
		return &c->arf;
	if (strcmp(type, "message/rfc822") == 0 ||
	    strcmp(type, "message/global") == 0 ||
	    strcmp(type, "text/rfc822-headers") == 0 ||
	    strcmp(type, "message/global-headers") == 0)
		return &c->orig;
	return NULL;
}

/* --- addresses and IDs ----------------------------------------------- */

/* Whether s is usable as a kept value: not empty, at most max bytes, no
   control character, and (ids) no white space. */
static bool
fbmail_usable(const char *s, size_t max, bool id)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    (id && s[i] == ' '))
			return false;
	return true;
}

/* A copy of the address in a DSN or ARF address field ("rfc822;
   <a@example.net>", "<a@example.net>", "a@example.net"): the type before
   the first ';' removed when it holds no '@' or '"', then one pair of
   angle brackets and white space. NULL when what is left is not usable. */
static char *
fbmail_addr(const char *v)
{
	const char	*semi = strchr(v, ';'), *p = v, *e;
	char		*a;

	if (semi != NULL && memchr(v, '@', (size_t)(semi - v)) == NULL &&
	    memchr(v, '"', (size_t)(semi - v)) == NULL)
		p = semi + 1;
	e = p + strlen(p);
	for (int pass = 0; pass < 2; pass++) {
		while (p < e && fbmail_wsp(*p))
			p++;
		while (e > p && fbmail_wsp(e[-1]))
			e--;
		if (pass == 0 && e - p >= 2 && *p == '<' && e[-1] == '>') {
			p++;
			e--;
		}
	}
	a = xstrndup(p, (size_t)(e - p));
	if (!fbmail_usable(a, SESEVENT_ADDR_MAX, false)) {
		free(a);
		return NULL;
	}
	return a;
}

/* A Message-ID value without white space and angle brackets, and with
   only its local part when ses_form and the domain is SES's. NULL when
   v is NULL, or the ID is unusable, or ses_form and it is not SES's. */
static char *
fbmail_msgid(const char *v, bool ses_form)
{
	const char	*p, *e, *at;
	char		*id;

	if (v == NULL)
		return NULL;
	if ((p = strchr(v, '<')) != NULL && (e = strchr(p, '>')) != NULL)
		p++;
	else {
		p = v;
		e = v + strlen(v);
	}
	id = xstrndup(p, (size_t)(e - p));
	if (!fbmail_usable(id, SESEVENT_ID_MAX, true)) {
		free(id);
		return NULL;
	}
	at = strrchr(id, '@');
	if (!ses_form)
		return id;
	if (at == NULL || at == id || !str_iendswith(at, ".amazonses.com")) {
		free(id);
		return NULL;
	}
	id[at - id] = '\0';
	return id;
}

/* ses_message_id, by the rule in fbmail.h: the first SES-form one of
   the candidates (NULL ones skipped), else candidate 0 as it is, else "". */
static char *
fbmail_ses_id(const char *const cand[], size_t ncand)
{
	char *id;

	for (size_t i = 0; i < ncand; i++)
		if ((id = fbmail_msgid(cand[i], true)) != NULL)
			return id;
	if ((id = fbmail_msgid(cand[0], false)) != NULL)
		return id;
	return xstrdup("");
}

/* source: the first candidate that yields a usable address, else "". */
static char *
fbmail_source(const char *const cand[], size_t ncand)
{
	char *a;

	for (size_t i = 0; i < ncand; i++)
		if (cand[i] != NULL && (a = fbmail_addr(cand[i])) != NULL)
			return a;
	return xstrdup("");
}

static void
fbmail_rcpts_add(struct fbmail_rcpts *r, char *addr, char *status,
    char *diag)
{
	if (r->n == r->cap) {
		r->cap = r->cap == 0 ? 8 : r->cap * 2;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n].addr = addr;
	r->v[r->n].status = status;
	r->v[r->n++].diagnostic = diag;
}

static void
fbmail_rcpts_free(struct fbmail_rcpts *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].addr);
		free(r->v[i].status);
		free(r->v[i].diagnostic);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* The end of an item of an address list: its address, the text in its
   angle brackets (when *hasangle) or else the item without comments, is
   added to r when it has an '@'; plain, angle and *hasangle are reset for
   the next item. */
static void
fbmail_addrlist_item(struct buf *plain, struct buf *angle, bool *hasangle,
    struct fbmail_rcpts *r)
{
	char *a = fbmail_addr(*hasangle ? angle->data : plain->data);

	if (a != NULL && strchr(a, '@') != NULL && r->n < FBMAIL_MAX_RCPTS + 1)
		fbmail_rcpts_add(r, a, xstrdup(""), xstrdup(""));
	else
		free(a);
	buf_reset(plain);
	buf_reset(angle);
	*hasangle = false;
}

/* The character at p inside a comment *cmt deep, where a backslash
   quotes the next one; returns the last character taken. */
static const char *
fbmail_comment(const char *p, int *cmt)
{
	if (*p == '\\' && p[1] != '\0')
		p++;
	else if (*p == '(')
		(*cmt)++;
	else if (*p == ')')
		(*cmt)--;
	return p;
}

/* Add each address of an RFC 5322 address list (the original's To) to
   r: the text in angle brackets, else the item without comments; group
   names are skipped, items without '@' and unusable ones dropped. */
static void
fbmail_addrlist(const char *v, struct fbmail_rcpts *r)
{
	struct buf	 plain = BUF_INIT, angle = BUF_INIT;
	bool		 inq = false, inangle = false, hasangle = false;
	int		 cmt = 0;

	buf_append(&plain, NULL, 0);
	buf_append(&angle, NULL, 0);
	for (const char *p = v;; p++) {
		if (*p == '\0' || (!inq && cmt == 0 && !inangle &&
		    (*p == ',' || *p == ';'))) {
			fbmail_addrlist_item(&plain, &angle, &hasangle, r);
			if (*p == '\0')
				break;
			continue;
		}
		if (cmt > 0) {
			p = fbmail_comment(p, &cmt);
		} else if (inangle) {
			if (*p == '>')
				inangle = false;
			else
				buf_append(&angle, p, 1);
		} else if (inq) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				inq = false;
			buf_append(&plain, p, 1);
		} else if (*p == '"') {
			inq = true;
			buf_append(&plain, p, 1);
		} else if (*p == '(') {
			cmt = 1;
		} else if (*p == '<') {
			inangle = hasangle = true;
			buf_reset(&angle);
		} else if (*p == ':') {
			buf_reset(&plain);	/* a group's name */
		} else {
			buf_append(&plain, p, 1);
		}
	}
	buf_free(&plain);
	buf_free(&angle);
}

/* --- the two reports ------------------------------------------------- */

/* Skip empty and blank lines at the start of t. */
static struct fbmime_text
fbmail_skip_blank(struct fbmime_text t)
{
	const char *p = t.p, *end = t.p + t.n, *s;

	while (p < end) {
		for (s = p; s < end && fbmail_wsp(*s); s++)
			;
		if (s < end && *s != '\n')
			break;
		p = s < end ? s + 1 : end;
	}
	return (struct fbmime_text){ p, (size_t)(end - p) };
}

/* How many (at most 3) digits start s. */
static size_t
fbmail_digits(const char *s)
{
	size_t n;

	for (n = 0; n < 3 && s[n] >= '0' && s[n] <= '9'; n++)
		;
	return n;
}

/* The class digit of the status code "c.s.d" (RFC 3463: class 2, 4 or
   5, then 1 to 3 digits twice) that starts v, '0' when v is NULL or does
   not start with one; *code_out is a copy of the code, "" when none. */
static char
fbmail_status(const char *v, char **code_out)
{
	size_t	i = 0, d;

	if (v != NULL && (v[0] == '2' || v[0] == '4' || v[0] == '5') &&
	    v[1] == '.' && (d = fbmail_digits(v + 2)) > 0 &&
	    v[2 + d] == '.' && (i = fbmail_digits(v + 3 + d)) > 0) {
		i += 3 + d;
		/* Comments or other text may follow after a space. */
		if (v[i] != '\0' && !fbmail_wsp(v[i]) && v[i] != '(' &&
		    v[i] != ';')
			i = 0;
	} else {
		i = 0;
	}
	*code_out = xstrndup(v != NULL ? v : "", i);
	return i > 0 ? v[0] : '0';
}

/* A copy of s cut to SESEVENT_TEXT_MAX bytes, not inside a UTF-8
   sequence. */
static char *
fbmail_cut(const char *s)
{
	size_t n = strlen(s);

	if (n > SESEVENT_TEXT_MAX) {
		n = SESEVENT_TEXT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return xstrndup(s, n);
}

/* What the recipient groups of a DSN add up to. */
struct fbmail_dsnsum {
	struct fbmail_rcpts	perm, trans;	/* the failed ones */
	size_t			nrcpt;		/* groups read */
	/* The recipients that are not failures, for the 0 answer. */
	size_t			delayed, delivered, other;
};

/* One recipient group, number s->nrcpt: added to s->perm or s->trans
   when it failed, else counted. 0, or -1 with errbuf. */
static int
fbmail_dsn_rcpt(struct fbmail_ctx *c, const struct fbmime_hdr *h,
    struct fbmail_dsnsum *s)
{
	const char	*fr = fbmime_hdr_get(h, "final-recipient");
	const char	*orr = fbmime_hdr_get(h, "original-recipient");
	const char	*act = fbmime_hdr_get(h, "action");
	const char	*diag = fbmime_hdr_get(h, "diagnostic-code");
	const char	*av = act != NULL ? act : "";
	char		 q[FBMIME_QUOTE_BUFSZ], cls, *status;
	char		*addr = NULL;
	size_t		 n;

	if (fr == NULL && orr == NULL)
		return fbmime_err(c->m, "recipient %zu of the delivery status "
		    "has no Final-Recipient or Original-Recipient", s->nrcpt);
	if ((fr == NULL || (addr = fbmail_addr(fr)) == NULL) &&
	    (orr == NULL || (addr = fbmail_addr(orr)) == NULL)) {
		fbmime_quote(fr != NULL ? fr : orr, q);
		return fbmime_err(c->m, "recipient %zu of the delivery status: "
		    "%s %s is not a usable address", s->nrcpt, fr != NULL ?
		    "Final-Recipient" : "Original-Recipient", q);
	}
	for (n = 0; av[n] != '\0' && !fbmail_wsp(av[n]) && av[n] != '(' &&
	    av[n] != ';'; n++)
		;
	cls = fbmail_status(fbmime_hdr_get(h, "status"), &status);
	/* RFC 3464 2.3.3: "failed" is final whatever the Status says; a
	   missing Action is read from a permanent Status alone. */
	if (str_ieq_n(av, n, "failed") || (act == NULL && cls == '5')) {
		fbmail_rcpts_add(cls == '4' ? &s->trans : &s->perm, addr,
		    status, fbmail_cut(diag != NULL ? diag : ""));
		return 0;
	}
	if (str_ieq_n(av, n, "delayed"))
		s->delayed++;
	else if (str_ieq_n(av, n, "delivered") ||
	    str_ieq_n(av, n, "relayed") || str_ieq_n(av, n, "expanded"))
		s->delivered++;
	else
		s->other++;
	free(addr);
	free(status);
	return 0;
}

/* Read the groups of the delivery status t into *s; the per-message
   fields go to *permsg, which the caller frees. 0, or -1 with errbuf. */
static int
fbmail_dsn_groups(struct fbmail_ctx *c, struct fbmime_text t,
    struct fbmime_hdr *permsg, struct fbmail_dsnsum *s)
{
	struct fbmime_hdr	h;
	bool			first = true;
	int			rc;

	memset(permsg, 0, sizeof(*permsg));
	for (t = fbmail_skip_blank(t); t.n > 0; t = fbmail_skip_blank(t)) {
		fbmime_hdr_parse(t, true, &h, &t);
		/* The per-message group comes first (RFC 3464 2.1); a
		   report that starts with a recipient has none. */
		if (first && fbmime_hdr_get(&h, "final-recipient") == NULL &&
		    fbmime_hdr_get(&h, "original-recipient") == NULL &&
		    fbmime_hdr_get(&h, "action") == NULL) {
			*permsg = h;
			first = false;
			continue;
		}
		first = false;
		if (++s->nrcpt > FBMAIL_MAX_RCPTS) {
			fbmime_hdr_free(&h);
			return fbmime_err(c->m, "more than %d recipients in "
			    "the delivery status", FBMAIL_MAX_RCPTS);
		}
		rc = fbmail_dsn_rcpt(c, &h, s);
		fbmime_hdr_free(&h);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* Read the delivery status t: 1 with *rcpts_out and *btype_out, 0 or -1
   with errbuf. The per-message fields go to *permsg, which the caller
   frees. */
static int
fbmail_dsn(struct fbmail_ctx *c, struct fbmime_text t,
    struct fbmime_hdr *permsg, struct fbmail_rcpts *rcpts_out,
    enum sesevent_bounce *btype_out)
{
	struct fbmail_dsnsum	s;
	int			rc;

	memset(&s, 0, sizeof(s));
	if (fbmail_dsn_groups(c, t, permsg, &s) == -1) {
		rc = -1;
	} else if (s.nrcpt == 0) {
		rc = fbmime_err(c->m, "the delivery status names no "
		    "recipient");
	} else if (s.perm.n == 0 && s.trans.n == 0) {
		(void)fbmime_err(c->m, "no failed recipient in the delivery "
		    "status (%zu delayed, %zu delivered, relayed or "
		    "expanded, %zu other)", s.delayed, s.delivered, s.other);
		rc = 0;
	} else {
		*btype_out = s.perm.n > 0 ? SESEVENT_BOUNCE_PERMANENT :
		    SESEVENT_BOUNCE_TRANSIENT;
		*rcpts_out = s.perm.n > 0 ? s.perm : s.trans;
		memset(s.perm.n > 0 ? &s.perm : &s.trans, 0, sizeof(s.perm));
		rc = 1;
	}
	fbmail_rcpts_free(&s.perm);
	fbmail_rcpts_free(&s.trans);
	return rc;
}

/* Read the feedback report t, with the original's To as the fallback
   recipients: 1 with *rcpts_out and *ftype_out (a copy), or -1 with
   errbuf. The report's fields go to *fields, which the caller frees. */
static int
fbmail_arf(struct fbmail_ctx *c, struct fbmime_text t, const char *orig_to,
    struct fbmime_hdr *fields, struct fbmail_rcpts *rcpts_out,
    char **ftype_out)
{
	const char	*ft;
	char		*a, q[FBMIME_QUOTE_BUFSZ];
	size_t		 n;

	fbmime_hdr_parse(fbmail_skip_blank(t), true, fields, &t);
	if ((ft = fbmime_hdr_get(fields, "feedback-type")) == NULL ||
	    *ft == '\0')
		return fbmime_err(c->m, "the feedback report has no "
		    "Feedback-Type");
	n = strcspn(ft, " \t(;");
	for (size_t i = 0; i < fields->n; i++) {
		if (strcmp(fields->f[i].name, "original-rcpt-to") != 0)
			continue;
		if (rcpts_out->n == FBMAIL_MAX_RCPTS)
			return fbmime_err(c->m, "more than %d recipients in "
			    "the feedback report", FBMAIL_MAX_RCPTS);
		if ((a = fbmail_addr(fields->f[i].value)) == NULL) {
			fbmime_quote(fields->f[i].value, q);
			return fbmime_err(c->m, "the feedback report's "
			    "Original-Rcpt-To %s is not a usable address", q);
		}
		fbmail_rcpts_add(rcpts_out, a, xstrdup(""), xstrdup(""));
	}
	if (rcpts_out->n == 0 && orig_to != NULL)
		fbmail_addrlist(orig_to, rcpts_out);
	if (rcpts_out->n == 0)
		return fbmime_err(c->m, "the feedback report names no "
		    "recipient: no Original-Rcpt-To and no address in the "
		    "original's To");
	if (rcpts_out->n > FBMAIL_MAX_RCPTS)
		return fbmime_err(c->m, "more than %d recipients in the "
		    "feedback report", FBMAIL_MAX_RCPTS);
	*ftype_out = str_lower(xstrndup(ft, n));
	return 1;
}

/* --- the whole message ----------------------------------------------- */

/* Which report c found: 'd' (DSN), 'a' (ARF), or -1 with errbuf. */
static int
fbmail_kind(struct fbmail_ctx *c, const char *top_type)
{
	const char	*rtype = fbmime_report_type(c->m);
	char		 q[FBMIME_QUOTE_BUFSZ];

	if (rtype == NULL)
		return fbmime_err(c->m, "not a DSN or feedback report: no "
		    "multipart/report (the message is %s)", top_type);
	if (strcmp(rtype, "delivery-status") == 0) {
		if (c->dsn.p == NULL)
			return fbmime_err(c->m, "the multipart/report "
			    "(delivery-status) has no "
			    "message/delivery-status part");
		return 'd';
	}
	if (strcmp(rtype, "feedback-report") == 0) {
		if (c->arf.p == NULL)
			return fbmime_err(c->m, "the multipart/report "
			    "(feedback-report) has no "
			    "message/feedback-report part");
		return 'a';
	}
	/* No report-type or another one: the parts decide. */
	if (c->dsn.p != NULL)
		return 'd';
	if (c->arf.p != NULL)
		return 'a';
	if (rtype[0] == '\0')
		return fbmime_err(c->m, "the multipart/report has no "
		    "report-type and no report part");
	fbmime_quote(rtype, q);
	return fbmime_err(c->m, "the multipart/report's report-type %s is "
	    "neither delivery-status nor feedback-report", q);
}

/* The feedback_id, ses_message_id and source of *out, by the rules in
   fbmail.h, from the report's own header top, the report part's fields
   and the original's header orig. */
static void
fbmail_ids(struct sesevent *out, const struct fbmime_hdr *top,
    const struct fbmime_hdr *fields, const struct fbmime_hdr *orig)
{
	const char *ids[] = {
		fbmime_hdr_get(orig, "message-id"),
		fbmime_hdr_get(fields, "x-original-message-id"),
		fbmime_hdr_get(top, "x-original-message-id"),
	};
	const char *srcs[] = {
		fbmime_hdr_get(orig, "return-path"),
		fbmime_hdr_get(fields, "original-mail-from"),
		fbmime_hdr_get(fields, "x-postfix-sender"),
	};
	const char *tid = fbmime_hdr_get(top, "message-id");
	char *fid = fbmail_msgid(tid, true);

	if (fid == NULL)
		fid = fbmail_msgid(tid, false);
	out->feedback_id = fid != NULL ? fid : xstrdup("");
	out->ses_message_id = fbmail_ses_id(ids, sizeof(ids) / sizeof(ids[0]));
	out->source = fbmail_source(srcs, sizeof(srcs) / sizeof(srcs[0]));
}

/* Parse the report found in c into *out. 1, 0 or -1 as fbmail_parse(). */
static int
fbmail_report(struct fbmail_ctx *c, const struct fbmime_hdr *top,
    const char *top_type, struct sesevent *out)
{
	struct fbmime_hdr	orig = { NULL, 0, 0 }, fields = { NULL, 0, 0 };
	struct fbmail_rcpts	rcpts = { NULL, 0, 0 };
	struct fbmime_text	rest;
	enum sesevent_bounce	btype = SESEVENT_BOUNCE_NONE;
	char			*ftype = NULL;
	int			 kind, rc = -1;

	if ((kind = fbmail_kind(c, top_type)) == -1)
		return -1;
	if (c->orig.p != NULL)
		fbmime_hdr_parse(c->orig, false, &orig, &rest);
	if (kind == 'd')
		rc = fbmail_dsn(c, c->dsn, &fields, &rcpts, &btype);
	else
		rc = fbmail_arf(c, c->arf, fbmime_hdr_get(&orig, "to"),
		    &fields, &rcpts, &ftype);
	if (rc == 1) {
		out->kind = kind == 'd' ? SESEVENT_BOUNCE :
		    SESEVENT_COMPLAINT;
		out->bounce_type = btype;
		out->bounce_subtype = xstrdup("");
		out->feedback_type = ftype != NULL ? ftype : xstrdup("");
		ftype = NULL;
		fbmail_ids(out, top, &fields, &orig);
		out->timestamp = xstrdup("");
		out->rcpts = rcpts.v;
		out->nrcpts = rcpts.n;
		memset(&rcpts, 0, sizeof(rcpts));
	}
	free(ftype);
	fbmail_rcpts_free(&rcpts);
	fbmime_hdr_free(&fields);
	fbmime_hdr_free(&orig);
	return rc;
}

int
fbmail_parse(const char *msg, size_t len, struct sesevent *out,
    char *errbuf, size_t errlen)
{
	struct fbmail_ctx	c;
	struct fbmime_hdr	top;
	char			type[FBMIME_TYPE_BUFSZ];
	int			rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	c.m = fbmime_new(fbmail_slot, &c, errbuf, errlen);
	if (len > FBMAIL_MAX_SIZE) {
		rc = fbmime_err(c.m, "the message is larger than %d bytes",
		    FBMAIL_MAX_SIZE);
	} else {
		rc = fbmime_walk(c.m, msg, len, &top, type);
		if (rc == 0)
			rc = fbmail_report(&c, &top, type, out);
		fbmime_hdr_free(&top);
	}
	fbmime_free(&c.m);
	return rc;
}
