/*
 * fbmail.c - reads one feedback e-mail (see fbmail.h) into a struct
 * sesevent. The message is copied once with its line ends made LF; the
 * MIME tree is walked over that copy without copying parts, except the
 * report and original parts when they are base64 or quoted-printable,
 * which are decoded into buffers the parse owns. Attached messages
 * (message/rfc822) are not entered, so a bounce of a bounce is read as
 * the outer one. Everything is freed before fbmail_parse() returns; no
 * state, safe in any thread.
 *
 * RFC 6522 (multipart/report), RFC 3464 (delivery status fields),
 * RFC 5965 (feedback report fields), RFC 2045 6.7/6.8 (transfer
 * encodings), RFC 2046 5.1.1 (boundaries), RFC 5322 2.2.3 (folding).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fbmail.h"
#include "mem.h"
#include "str.h"

/* How much of a network value an error message quotes. */
#define FBMAIL_QUOTE_MAX	40
#define FBMAIL_QUOTE_BUFSZ	(FBMAIL_QUOTE_MAX + 8)
/* "type/subtype" and report-type values kept; longer ones are cut, which
   makes them unknown types. */
#define FBMAIL_TYPE_BUFSZ	128

/* A stretch of the LF copy (or of a decoded part); not NUL-terminated. */
struct fbmail_text {
	const char	*p;
	size_t		 n;
};

struct fbmail_field {
	char	*name;		/* lowercased */
	char	*value;		/* unfolded, trimmed */
};

/* One header block (or one group of DSN fields). */
struct fbmail_hdr {
	struct fbmail_field	*f;
	size_t			 n, cap;
};

struct fbmail_rcpts {
	struct sesevent_rcpt	*v;
	size_t			 n, cap;
};

struct fbmail_ctx {
	size_t			 parts;
	bool			 report;	/* multipart/report seen */
	char			 rtype[FBMAIL_TYPE_BUFSZ];
	struct fbmail_text	 dsn, arf, orig;	/* .p NULL: none */
	char			**owned;	/* copies, decoded parts */
	size_t			 nowned;
	char			*errbuf;
	size_t			 errlen;
};

/* The strings of a result until they go into the struct sesevent. */
struct fbmail_ids {
	char	*feedback_id;
	char	*ses_message_id;
	char	*source;
};

static int	fbmail_err(struct fbmail_ctx *c, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static int	fbmail_walk(struct fbmail_ctx *c, struct fbmail_text t,
		    int depth, bool in_report);

/* Fill errbuf and return -1. */
static int
fbmail_err(struct fbmail_ctx *c, const char *fmt, ...)
{
	va_list	ap;

	if (c->errbuf == NULL || c->errlen == 0)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(c->errbuf, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* A network value for an error message: in double quotes, printable
   ASCII only ('?' for anything else and for '"' and '\'), cut at
   FBMAIL_QUOTE_MAX bytes with "..." after. */
static void
fbmail_quote(const char *s, char out[FBMAIL_QUOTE_BUFSZ])
{
	size_t	i, o = 0;

	out[o++] = '"';
	for (i = 0; i < FBMAIL_QUOTE_MAX && s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[o++] = (ch < 0x20 || ch > 0x7e || ch == '"' ||
		    ch == '\\') ? '?' : (char)ch;
	}
	if (s[i] != '\0') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static bool
fbmail_wsp(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Keep p (from xmalloc) until the parse ends; returns it. */
static char *
fbmail_own(struct fbmail_ctx *c, char *p)
{
	c->owned = xrealloc(c->owned, (c->nowned + 1) * sizeof(*c->owned));
	c->owned[c->nowned++] = p;
	return p;
}

/* A copy of n bytes at p with CRLF made LF and NUL bytes made spaces, so
   that the rest reads LF lines and C strings. Owned by c. */
static struct fbmail_text
fbmail_lf(struct fbmail_ctx *c, const char *p, size_t n)
{
	char	*d = fbmail_own(c, xmalloc(n + 1));
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		d[o++] = p[i] == '\0' ? ' ' : p[i];
	}
	d[o] = '\0';
	return (struct fbmail_text){ d, o };
}

/* --- header blocks -------------------------------------------------- */

static void
fbmail_hdr_free(struct fbmail_hdr *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->f[i].name);
		free(h->f[i].value);
	}
	free(h->f);
	memset(h, 0, sizeof(*h));
}

/* Read the header block at the start of t into h; *rest_out is what
   follows the empty line (nothing when there is none); with `fields`
   (the groups of a report part) a line of white space alone ends the
   block too, since a report's groups are read by people. A continuation
   line joins the field before it with one space (RFC 5322 2.2.3 removes
   only the line break; the white space of the fold is made one space so
   that values read the same however they were folded). A line that is
   not a field, such as an mbox "From " line, is skipped. */
static void
fbmail_hdr_parse(struct fbmail_text t, bool fields, struct fbmail_hdr *h,
    struct fbmail_text *rest_out)
{
	const char	*p = t.p, *end = t.p + t.n;
	struct buf	 val = BUF_INIT;
	bool		 open = false;

	memset(h, 0, sizeof(*h));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		const char *next = nl != NULL ? nl + 1 : end;
		const char *colon, *s;

		if (eol == p) {
			p = next;
			break;
		}
		if (fbmail_wsp(*p)) {
			for (s = p; s < eol && fbmail_wsp(*s); s++)
				;
			if (fields && s == eol) {
				p = next;
				break;
			}
			if (open && s < eol) {
				buf_append(&val, " ", 1);
				buf_append(&val, s, (size_t)(eol - s));
			}
			p = next;
			continue;
		}
		if (open)
			h->f[h->n - 1].value = xstrdup(str_trim(val.data));
		open = false;
		colon = memchr(p, ':', (size_t)(eol - p));
		const char *ne = colon;

		while (ne != NULL && ne > p && fbmail_wsp(ne[-1]))
			ne--;
		/* A field name has no white space (RFC 5322 2.2). */
		if (ne != NULL && ne > p && memchr(p, ' ', (size_t)(ne - p)) ==
		    NULL && memchr(p, '\t', (size_t)(ne - p)) == NULL) {
			if (h->n == h->cap) {
				h->cap = h->cap == 0 ? 16 : h->cap * 2;
				h->f = xrealloc(h->f, h->cap * sizeof(*h->f));
			}
			h->f[h->n].name = str_lower(xstrndup(p,
			    (size_t)(ne - p)));
			h->f[h->n++].value = NULL;
			buf_reset(&val);
			buf_append(&val, colon + 1, (size_t)(eol - colon - 1));
			open = true;
		}
		p = next;
	}
	if (open)
		h->f[h->n - 1].value = xstrdup(str_trim(val.data));
	buf_free(&val);
	rest_out->p = p;
	rest_out->n = (size_t)(end - p);
}

/* The first field called lname (lower case), borrowed; NULL if none. */
static const char *
fbmail_hdr_get(const struct fbmail_hdr *h, const char *lname)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->f[i].name, lname) == 0)
			return h->f[i].value;
	return NULL;
}

/* --- Content-Type ---------------------------------------------------- */

/* Copy at most outlen - 1 bytes of the n at p, lowercased. */
static void
fbmail_copy_lower(char *out, size_t outlen, const char *p, size_t n)
{
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	str_lower(out);
}

/* Read a Content-Type value (NULL: absent, which is text/plain, RFC 2045
   5.2): type (lowercased "type/subtype"), the boundary (a copy, NULL when
   absent or empty) and the report-type (lowercased, "" when absent).
   Parameter values are tokens or quoted-strings; comments are not
   expected in these fields and are not removed. */
static void
fbmail_ctype(const char *v, char type[FBMAIL_TYPE_BUFSZ], char **boundary,
    char rtype[FBMAIL_TYPE_BUFSZ])
{
	const char	*p, *s;
	struct buf	 val = BUF_INIT;

	*boundary = NULL;
	rtype[0] = '\0';
	if (v == NULL || *v == '\0') {
		(void)str_copy(type, FBMAIL_TYPE_BUFSZ, "text/plain");
		return;
	}
	for (p = v; *p != '\0' && *p != ';' && !fbmail_wsp(*p) &&
	    *p != '('; p++)
		;
	fbmail_copy_lower(type, FBMAIL_TYPE_BUFSZ, v, (size_t)(p - v));
	while ((p = strchr(p, ';')) != NULL) {
		for (p++; fbmail_wsp(*p); p++)
			;
		for (s = p; *s != '\0' && *s != '=' && *s != ';'; s++)
			;
		if (*s != '=') {
			p = s;
			continue;
		}
		const char *an = p, *ae = s;

		while (ae > an && fbmail_wsp(ae[-1]))
			ae--;
		for (p = s + 1; fbmail_wsp(*p); p++)
			;
		buf_reset(&val);
		buf_append(&val, NULL, 0);
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				buf_append(&val, p, 1);
			}
		} else {
			for (s = p; *p != '\0' && *p != ';' &&
			    !fbmail_wsp(*p); p++)
				;
			buf_append(&val, s, (size_t)(p - s));
		}
		if (str_ieq_n(an, (size_t)(ae - an), "boundary") &&
		    *boundary == NULL && val.len > 0)
			*boundary = xstrdup(val.data);
		else if (str_ieq_n(an, (size_t)(ae - an), "report-type") &&
		    rtype[0] == '\0')
			fbmail_copy_lower(rtype, FBMAIL_TYPE_BUFSZ, val.data,
			    val.len);
	}
	buf_free(&val);
}

/* --- transfer encodings ---------------------------------------------- */

static int
fbmail_b64val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

static int
fbmail_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Decode base64 (characters outside the alphabet ignored, RFC 2045 6.8,
   up to the first '=') or quoted-printable (RFC 2045 6.7: "=" at a line
   end is a soft break, "=XX" a byte, any other "=" kept) into d, which
   has room for n bytes. Returns the length. */
static size_t
fbmail_decode_into(char *d, const char *p, size_t n, bool b64)
{
	size_t		i, o = 0;
	unsigned long	acc = 0;
	int		bits = 0, hi, lo;

	for (i = 0; i < n; i++) {
		if (b64) {
			int v = fbmail_b64val(p[i]);

			if (p[i] == '=')
				break;
			if (v < 0)
				continue;
			acc = (acc << 6 | (unsigned long)v) & 0xffffff;
			if ((bits += 6) >= 8) {
				bits -= 8;
				d[o++] = (char)(acc >> bits & 0xff);
			}
		} else if (p[i] == '=' && i + 1 < n && p[i + 1] == '\n') {
			i++;
		} else if (p[i] == '=' && i + 2 < n &&
		    (hi = fbmail_hexval(p[i + 1])) >= 0 &&
		    (lo = fbmail_hexval(p[i + 2])) >= 0) {
			d[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			d[o++] = p[i];
		}
	}
	return o;
}

/* The body of a leaf part, decoded when its Content-Transfer-Encoding is
   base64 or quoted-printable; a decoded body is owned by c. */
static struct fbmail_text
fbmail_decode(struct fbmail_ctx *c, const struct fbmail_hdr *h,
    struct fbmail_text body)
{
	const char		*cte;
	bool			 b64;
	char			*d;
	size_t			 n;
	struct fbmail_text	 t;

	cte = fbmail_hdr_get(h, "content-transfer-encoding");
	if (cte == NULL)
		return body;
	if (str_ieq(cte, "base64"))
		b64 = true;
	else if (str_ieq(cte, "quoted-printable"))
		b64 = false;
	else
		return body;
	d = xmalloc(body.n + 1);
	n = fbmail_decode_into(d, body.p, body.n, b64);
	t = fbmail_lf(c, d, n);
	free(d);
	return t;
}

/* --- the MIME tree --------------------------------------------------- */

/* 0: the line (n bytes at p) is not a delimiter of boundary b, 1: it is,
   2: it is the closing one. Trailing white space is allowed after the
   boundary (RFC 2046 5.1.1), and anything after a closing one. */
static int
fbmail_delim(const char *p, size_t n, const char *b, size_t blen)
{
	size_t i;

	if (n < blen + 2 || p[0] != '-' || p[1] != '-' ||
	    memcmp(p + 2, b, blen) != 0)
		return 0;
	i = blen + 2;
	if (n - i >= 2 && p[i] == '-' && p[i + 1] == '-')
		return 2;
	for (; i < n; i++)
		if (!fbmail_wsp(p[i]))
			return 0;
	return 1;
}

/* Walk each body part of a multipart entity of the given type. */
static int
fbmail_multipart(struct fbmail_ctx *c, struct fbmail_text body,
    const char *boundary, const char *type, int depth, bool report)
{
	const char	*p = body.p, *end = body.p + body.n, *part = NULL;
	size_t		 blen = strlen(boundary);
	char		 q[FBMAIL_QUOTE_BUFSZ];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		const char *next = nl != NULL ? nl + 1 : end;
		int kind = fbmail_delim(p, (size_t)(eol - p), boundary, blen);

		if (kind != 0) {
			if (part != NULL) {
				/* The line break before a delimiter belongs
				   to it, not to the part. */
				const char *pe = p > part ? p - 1 : part;

				if (++c->parts > FBMAIL_MAX_PARTS)
					return fbmail_err(c, "more than %d "
					    "MIME parts", FBMAIL_MAX_PARTS);
				if (fbmail_walk(c, (struct fbmail_text){ part,
				    (size_t)(pe - part) }, depth + 1,
				    report) == -1)
					return -1;
			}
			if (kind == 2)
				return 0;
			part = next;
		}
		p = next;
	}
	if (part == NULL) {
		fbmail_quote(boundary, q);
		return fbmail_err(c, "%s: the boundary %s never occurs", type,
		    q);
	}
	return fbmail_err(c, "%s ends without its closing boundary "
	    "(truncated?)", type);
}

/* Which slot of c a report's part fills, by its type; NULL for none. */
static struct fbmail_text *
fbmail_slot(struct fbmail_ctx *c, const char *type)
{
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

/* One entity, headers h and body: a multipart is entered (the first
   multipart/report becomes the report); a leaf that is a direct part of
   the report fills the slot its type names, the first such part
   winning. depth is the number of multiparts around the entity. */
static int
fbmail_entity(struct fbmail_ctx *c, const struct fbmail_hdr *h,
    struct fbmail_text body, int depth, bool in_report)
{
	char			 type[FBMAIL_TYPE_BUFSZ];
	char			 rtype[FBMAIL_TYPE_BUFSZ];
	char			*boundary;
	struct fbmail_text	*slot;
	bool			 report;
	int			 rc;

	fbmail_ctype(fbmail_hdr_get(h, "content-type"), type, &boundary,
	    rtype);
	if (strncmp(type, "multipart/", 10) == 0) {
		if (depth >= FBMAIL_MAX_DEPTH) {
			free(boundary);
			return fbmail_err(c, "multipart nested more than %d "
			    "deep", FBMAIL_MAX_DEPTH);
		}
		if (boundary == NULL)
			return fbmail_err(c, "%s without a boundary", type);
		report = !c->report && strcmp(type, "multipart/report") == 0;
		if (report) {
			c->report = true;
			(void)str_copy(c->rtype, sizeof(c->rtype), rtype);
		}
		rc = fbmail_multipart(c, body, boundary, type, depth, report);
		free(boundary);
		return rc;
	}
	free(boundary);
	if (in_report && (slot = fbmail_slot(c, type)) != NULL &&
	    slot->p == NULL)
		*slot = fbmail_decode(c, h, body);
	return 0;
}

static int
fbmail_walk(struct fbmail_ctx *c, struct fbmail_text t, int depth,
    bool in_report)
{
	struct fbmail_hdr	h;
	struct fbmail_text	body;
	int			rc;

	fbmail_hdr_parse(t, false, &h, &body);
	rc = fbmail_entity(c, &h, body, depth, in_report);
	fbmail_hdr_free(&h);
	return rc;
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

/* Add each address of an RFC 5322 address list (the original's To) to
   r: the text in angle brackets, else the item without comments; group
   names are skipped, items without '@' and unusable ones dropped. */
static void
fbmail_addrlist(const char *v, struct fbmail_rcpts *r)
{
	struct buf	 plain = BUF_INIT, angle = BUF_INIT;
	bool		 inq = false, inangle = false, hasangle = false;
	int		 cmt = 0;
	char		*a;

	buf_append(&plain, NULL, 0);
	buf_append(&angle, NULL, 0);
	for (const char *p = v;; p++) {
		if (*p == '\0' || (!inq && cmt == 0 && !inangle &&
		    (*p == ',' || *p == ';'))) {
			a = fbmail_addr(hasangle ? angle.data : plain.data);
			if (a != NULL && strchr(a, '@') != NULL &&
			    r->n < FBMAIL_MAX_RCPTS + 1)
				fbmail_rcpts_add(r, a, xstrdup(""),
				    xstrdup(""));
			else
				free(a);
			buf_reset(&plain);
			buf_reset(&angle);
			hasangle = false;
			if (*p == '\0')
				break;
			continue;
		}
		if (cmt > 0) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				cmt++;
			else if (*p == ')')
				cmt--;
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
static struct fbmail_text
fbmail_skip_blank(struct fbmail_text t)
{
	const char *p = t.p, *end = t.p + t.n, *s;

	while (p < end) {
		for (s = p; s < end && fbmail_wsp(*s); s++)
			;
		if (s < end && *s != '\n')
			break;
		p = s < end ? s + 1 : end;
	}
	return (struct fbmail_text){ p, (size_t)(end - p) };
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

/* Counts of the recipients that are not failures, for the 0 answer. */
struct fbmail_dsncount {
	size_t	delayed, delivered, other;
};

/* One recipient group (number i): added to perm or trans when it failed,
   else counted. 0, or -1 with errbuf. */
static int
fbmail_dsn_rcpt(struct fbmail_ctx *c, const struct fbmail_hdr *h, size_t i,
    struct fbmail_rcpts *perm, struct fbmail_rcpts *trans,
    struct fbmail_dsncount *cnt)
{
	const char	*fr = fbmail_hdr_get(h, "final-recipient");
	const char	*orr = fbmail_hdr_get(h, "original-recipient");
	const char	*act = fbmail_hdr_get(h, "action");
	const char	*diag = fbmail_hdr_get(h, "diagnostic-code");
	char		 action[16], q[FBMAIL_QUOTE_BUFSZ], cls, *status;
	char		*addr = NULL;
	size_t		 n;

	if (fr == NULL && orr == NULL)
		return fbmail_err(c, "recipient %zu of the delivery status has "
		    "no Final-Recipient or Original-Recipient", i);
	if ((fr == NULL || (addr = fbmail_addr(fr)) == NULL) &&
	    (orr == NULL || (addr = fbmail_addr(orr)) == NULL)) {
		fbmail_quote(fr != NULL ? fr : orr, q);
		return fbmail_err(c, "recipient %zu of the delivery status: "
		    "%s %s is not a usable address", i, fr != NULL ?
		    "Final-Recipient" : "Original-Recipient", q);
	}
	for (n = 0; act != NULL && act[n] != '\0' && !fbmail_wsp(act[n]) &&
	    act[n] != '(' && act[n] != ';'; n++)
		;
	fbmail_copy_lower(action, sizeof(action), act != NULL ? act : "", n);
	cls = fbmail_status(fbmail_hdr_get(h, "status"), &status);
	/* RFC 3464 2.3.3: "failed" is final whatever the Status says; a
	   missing Action is read from a permanent Status alone. */
	if (strcmp(action, "failed") == 0 || (act == NULL && cls == '5')) {
		fbmail_rcpts_add(cls == '4' ? trans : perm, addr, status,
		    fbmail_cut(diag != NULL ? diag : ""));
		return 0;
	}
	if (strcmp(action, "delayed") == 0)
		cnt->delayed++;
	else if (strcmp(action, "delivered") == 0 ||
	    strcmp(action, "relayed") == 0 ||
	    strcmp(action, "expanded") == 0)
		cnt->delivered++;
	else
		cnt->other++;
	free(addr);
	free(status);
	return 0;
}

/* Read the delivery status t: 1 with *rcpts_out and *btype_out, 0 or -1
   with errbuf. The per-message fields go to *permsg, which the caller
   frees. */
static int
fbmail_dsn(struct fbmail_ctx *c, struct fbmail_text t,
    struct fbmail_hdr *permsg, struct fbmail_rcpts *rcpts_out,
    enum sesevent_bounce *btype_out)
{
	struct fbmail_rcpts	perm = { NULL, 0, 0 };
	struct fbmail_rcpts	trans = { NULL, 0, 0 };
	struct fbmail_dsncount	cnt = { 0, 0, 0 };
	struct fbmail_hdr	h;
	size_t			nrcpt = 0;
	bool			first = true;
	int			rc = -1;

	memset(permsg, 0, sizeof(*permsg));
	for (t = fbmail_skip_blank(t); t.n > 0; t = fbmail_skip_blank(t)) {
		fbmail_hdr_parse(t, true, &h, &t);
		/* The per-message group comes first (RFC 3464 2.1); a
		   report that starts with a recipient has none. */
		if (first && fbmail_hdr_get(&h, "final-recipient") == NULL &&
		    fbmail_hdr_get(&h, "original-recipient") == NULL &&
		    fbmail_hdr_get(&h, "action") == NULL) {
			*permsg = h;
			first = false;
			continue;
		}
		first = false;
		if (++nrcpt > FBMAIL_MAX_RCPTS) {
			fbmail_hdr_free(&h);
			rc = fbmail_err(c, "more than %d recipients in the "
			    "delivery status", FBMAIL_MAX_RCPTS);
			goto out;
		}
		rc = fbmail_dsn_rcpt(c, &h, nrcpt, &perm, &trans, &cnt);
		fbmail_hdr_free(&h);
		if (rc == -1)
			goto out;
	}
	rc = -1;
	if (nrcpt == 0) {
		fbmail_err(c, "the delivery status names no recipient");
		goto out;
	}
	if (perm.n == 0 && trans.n == 0) {
		fbmail_err(c, "no failed recipient in the delivery status "
		    "(%zu delayed, %zu delivered, relayed or expanded, "
		    "%zu other)", cnt.delayed, cnt.delivered, cnt.other);
		rc = 0;
		goto out;
	}
	*btype_out = perm.n > 0 ? SESEVENT_BOUNCE_PERMANENT :
	    SESEVENT_BOUNCE_TRANSIENT;
	*rcpts_out = perm.n > 0 ? perm : trans;
	memset(perm.n > 0 ? &perm : &trans, 0, sizeof(perm));
	rc = 1;
out:
	fbmail_rcpts_free(&perm);
	fbmail_rcpts_free(&trans);
	return rc;
}

/* Read the feedback report t, with the original's To as the fallback
   recipients: 1 with *rcpts_out and *ftype_out (a copy), or -1 with
   errbuf. The report's fields go to *fields, which the caller frees. */
static int
fbmail_arf(struct fbmail_ctx *c, struct fbmail_text t, const char *orig_to,
    struct fbmail_hdr *fields, struct fbmail_rcpts *rcpts_out,
    char **ftype_out)
{
	const char	*ft;
	char		*a, q[FBMAIL_QUOTE_BUFSZ];
	size_t		 n;

	fbmail_hdr_parse(fbmail_skip_blank(t), true, fields, &t);
	if ((ft = fbmail_hdr_get(fields, "feedback-type")) == NULL ||
	    *ft == '\0')
		return fbmail_err(c, "the feedback report has no "
		    "Feedback-Type");
	n = strcspn(ft, " \t(;");
	for (size_t i = 0; i < fields->n; i++) {
		if (strcmp(fields->f[i].name, "original-rcpt-to") != 0)
			continue;
		if (rcpts_out->n == FBMAIL_MAX_RCPTS)
			return fbmail_err(c, "more than %d recipients in the "
			    "feedback report", FBMAIL_MAX_RCPTS);
		if ((a = fbmail_addr(fields->f[i].value)) == NULL) {
			fbmail_quote(fields->f[i].value, q);
			return fbmail_err(c, "the feedback report's "
			    "Original-Rcpt-To %s is not a usable address", q);
		}
		fbmail_rcpts_add(rcpts_out, a, xstrdup(""), xstrdup(""));
	}
	if (rcpts_out->n == 0 && orig_to != NULL)
		fbmail_addrlist(orig_to, rcpts_out);
	if (rcpts_out->n == 0)
		return fbmail_err(c, "the feedback report names no recipient: "
		    "no Original-Rcpt-To and no address in the original's To");
	if (rcpts_out->n > FBMAIL_MAX_RCPTS)
		return fbmail_err(c, "more than %d recipients in the feedback "
		    "report", FBMAIL_MAX_RCPTS);
	*ftype_out = str_lower(xstrndup(ft, n));
	return 1;
}

/* --- the whole message ----------------------------------------------- */

/* Which report c found: 'd' (DSN), 'a' (ARF), or -1 with errbuf. */
static int
fbmail_kind(struct fbmail_ctx *c, const char *top_type)
{
	char q[FBMAIL_QUOTE_BUFSZ];

	if (!c->report)
		return fbmail_err(c, "not a DSN or feedback report: no "
		    "multipart/report (the message is %s)", top_type);
	if (strcmp(c->rtype, "delivery-status") == 0) {
		if (c->dsn.p == NULL)
			return fbmail_err(c, "the multipart/report "
			    "(delivery-status) has no "
			    "message/delivery-status part");
		return 'd';
	}
	if (strcmp(c->rtype, "feedback-report") == 0) {
		if (c->arf.p == NULL)
			return fbmail_err(c, "the multipart/report "
			    "(feedback-report) has no "
			    "message/feedback-report part");
		return 'a';
	}
	/* No report-type or another one: the parts decide. */
	if (c->dsn.p != NULL)
		return 'd';
	if (c->arf.p != NULL)
		return 'a';
	if (c->rtype[0] == '\0')
		return fbmail_err(c, "the multipart/report has no report-type "
		    "and no report part");
	fbmail_quote(c->rtype, q);
	return fbmail_err(c, "the multipart/report's report-type %s is "
	    "neither delivery-status nor feedback-report", q);
}

/* Parse the report found in c into *out. 1, 0 or -1 as fbmail_parse(). */
static int
fbmail_report(struct fbmail_ctx *c, const struct fbmail_hdr *top,
    const char *top_type, struct sesevent *out)
{
	struct fbmail_hdr	orig = { NULL, 0, 0 }, fields = { NULL, 0, 0 };
	struct fbmail_rcpts	rcpts = { NULL, 0, 0 };
	struct fbmail_text	rest;
	enum sesevent_bounce	btype = SESEVENT_BOUNCE_NONE;
	char			*ftype = NULL;
	int			 kind, rc = -1;

	if ((kind = fbmail_kind(c, top_type)) == -1)
		return -1;
	if (c->orig.p != NULL)
		fbmail_hdr_parse(c->orig, false, &orig, &rest);
	if (kind == 'd')
		rc = fbmail_dsn(c, c->dsn, &fields, &rcpts, &btype);
	else
		rc = fbmail_arf(c, c->arf, fbmail_hdr_get(&orig, "to"),
		    &fields, &rcpts, &ftype);
	if (rc == 1) {
		const char *ids[] = {
			fbmail_hdr_get(&orig, "message-id"),
			fbmail_hdr_get(&fields, "x-original-message-id"),
			fbmail_hdr_get(top, "x-original-message-id"),
		};
		const char *srcs[] = {
			fbmail_hdr_get(&orig, "return-path"),
			fbmail_hdr_get(&fields, "original-mail-from"),
			fbmail_hdr_get(&fields, "x-postfix-sender"),
		};
		const char *tid = fbmail_hdr_get(top, "message-id");
		char *fid = fbmail_msgid(tid, true);

		if (fid == NULL)
			fid = fbmail_msgid(tid, false);
		out->kind = kind == 'd' ? SESEVENT_BOUNCE :
		    SESEVENT_COMPLAINT;
		out->bounce_type = btype;
		out->bounce_subtype = xstrdup("");
		out->feedback_type = ftype != NULL ? ftype : xstrdup("");
		ftype = NULL;
		out->feedback_id = fid != NULL ? fid : xstrdup("");
		out->ses_message_id = fbmail_ses_id(ids,
		    sizeof(ids) / sizeof(ids[0]));
		out->source = fbmail_source(srcs,
		    sizeof(srcs) / sizeof(srcs[0]));
		out->timestamp = xstrdup("");
		out->rcpts = rcpts.v;
		out->nrcpts = rcpts.n;
		memset(&rcpts, 0, sizeof(rcpts));
	}
	free(ftype);
	fbmail_rcpts_free(&rcpts);
	fbmail_hdr_free(&fields);
	fbmail_hdr_free(&orig);
	return rc;
}

int
fbmail_parse(const char *msg, size_t len, struct sesevent *out,
    char *errbuf, size_t errlen)
{
	struct fbmail_ctx	c;
	struct fbmail_hdr	top;
	struct fbmail_text	t, body;
	char			type[FBMAIL_TYPE_BUFSZ];
	char			rtype[FBMAIL_TYPE_BUFSZ];
	char			*boundary;
	int			rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.errbuf = errbuf;
	c.errlen = errlen;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (len > FBMAIL_MAX_SIZE)
		return fbmail_err(&c, "the message is larger than %d bytes",
		    FBMAIL_MAX_SIZE);
	t = fbmail_lf(&c, msg, len);
	fbmail_hdr_parse(t, false, &top, &body);
	fbmail_ctype(fbmail_hdr_get(&top, "content-type"), type, &boundary,
	    rtype);
	free(boundary);
	rc = fbmail_entity(&c, &top, body, 0, false);
	if (rc == 0)
		rc = fbmail_report(&c, &top, type, out);
	fbmail_hdr_free(&top);
	for (size_t i = 0; i < c.nowned; i++)
		free(c.owned[i]);
	free(c.owned);
	return rc;
}
