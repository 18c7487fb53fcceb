/*
 * fbmime.c - the MIME walk of one feedback e-mail (see fbmime.h) for
 * fbmail.c. The message is copied once with its line ends made LF; the
 * tree is walked over that copy without copying parts, except the report
 * parts the caller takes when they are base64 or quoted-printable, which
 * are decoded into buffers the struct fbmime owns until fbmime_free().
 * Attached messages (message/rfc822) are not entered. No static state;
 * safe in any thread.
 *
 * RFC 2045 5.2 (default type), 6.7/6.8 (transfer encodings), RFC 2046
 * 5.1.1 (boundaries), RFC 5322 2.2 and 2.2.3 (fields, folding).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fbmail.h"
#include "fbmime.h"
#include "mem.h"
#include "str.h"

struct fbmime {
	size_t		 parts;
	bool		 report;	/* multipart/report seen */
	char		 rtype[FBMIME_TYPE_BUFSZ];
	fbmime_slot_fn	*slot;
	void		*arg;
	char		**owned;	/* copies, decoded parts */
	size_t		 nowned;
	char		*errbuf;
	size_t		 errlen;
};

static int	fbmime_part(struct fbmime *m, struct fbmime_text t,
		    int depth, bool in_report);

struct fbmime *
fbmime_new(fbmime_slot_fn *slot, void *arg, char *errbuf, size_t errlen)
{
	struct fbmime *m = xcalloc(1, sizeof(*m));

	m->slot = slot;
	m->arg = arg;
	m->errbuf = errbuf;
	m->errlen = errlen;
	return m;
}

void
fbmime_free(struct fbmime **mp)
{
	struct fbmime *m = *mp;

	if (m == NULL)
		return;
	*mp = NULL;
	for (size_t i = 0; i < m->nowned; i++)
		free(m->owned[i]);
	free(m->owned);
	free(m);
}

int
fbmime_err(struct fbmime *m, const char *fmt, ...)
{
	va_list	ap;

	if (m->errbuf == NULL || m->errlen == 0)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(m->errbuf, m->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void
fbmime_quote(const char *s, char out[FBMIME_QUOTE_BUFSZ])
{
	size_t	i, o = 0;

	out[o++] = '"';
	for (i = 0; i < FBMIME_QUOTE_MAX && s[i] != '\0'; i++) {
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
fbmime_wsp(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Keep p (from xmalloc) until m is freed; returns it. */
static char *
fbmime_own(struct fbmime *m, char *p)
{
	m->owned = xrealloc(m->owned, (m->nowned + 1) * sizeof(*m->owned));
	m->owned[m->nowned++] = p;
	return p;
}

/* A copy of n bytes at p with CRLF made LF and NUL bytes made spaces, so
   that the rest reads LF lines and C strings. Owned by m. */
static struct fbmime_text
fbmime_lf(struct fbmime *m, const char *p, size_t n)
{
	char	*d = fbmime_own(m, xmalloc(n + 1));
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		d[o++] = p[i] == '\0' ? ' ' : p[i];
	}
	d[o] = '\0';
	return (struct fbmime_text){ d, o };
}

/* --- header blocks -------------------------------------------------- */

void
fbmime_hdr_free(struct fbmime_hdr *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->f[i].name);
		free(h->f[i].value);
	}
	free(h->f);
	memset(h, 0, sizeof(*h));
}

/* When the line from p to eol is a field, add it to h with its value so
   far in val and return true; else false. */
static bool
fbmime_hdr_start(struct fbmime_hdr *h, const char *p, const char *eol,
    struct buf *val)
{
	const char *colon = memchr(p, ':', (size_t)(eol - p));
	const char *ne = colon;

	while (ne != NULL && ne > p && fbmime_wsp(ne[-1]))
		ne--;
	/* A field name has no white space (RFC 5322 2.2). */
	if (ne == NULL || ne == p || memchr(p, ' ', (size_t)(ne - p)) !=
	    NULL || memchr(p, '\t', (size_t)(ne - p)) != NULL)
		return false;
	if (h->n == h->cap) {
		h->cap = h->cap == 0 ? 16 : h->cap * 2;
		h->f = xrealloc(h->f, h->cap * sizeof(*h->f));
	}
	h->f[h->n].name = str_lower(xstrndup(p, (size_t)(ne - p)));
	h->f[h->n++].value = NULL;
	buf_reset(val);
	buf_append(val, colon + 1, (size_t)(eol - colon - 1));
	return true;
}

/* The block ends at an empty line, and with `fields` (the groups of a
   report part) at a line of white space alone too, since a report's
   groups are read by people. A continuation line joins the field before
   it with one space (RFC 5322 2.2.3 removes only the line break; the
   white space of the fold is made one space so that values read the same
   however they were folded). */
void
fbmime_hdr_parse(struct fbmime_text t, bool fields, struct fbmime_hdr *h,
    struct fbmime_text *rest_out)
{
	const char	*p = t.p, *end = t.p + t.n;
	struct buf	 val = BUF_INIT;
	bool		 open = false;

	memset(h, 0, sizeof(*h));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		const char *next = nl != NULL ? nl + 1 : end;
		const char *s;

		if (eol == p) {
			p = next;
			break;
		}
		if (fbmime_wsp(*p)) {
			for (s = p; s < eol && fbmime_wsp(*s); s++)
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
		open = fbmime_hdr_start(h, p, eol, &val);
		p = next;
	}
	if (open)
		h->f[h->n - 1].value = xstrdup(str_trim(val.data));
	buf_free(&val);
	rest_out->p = p;
	rest_out->n = (size_t)(end - p);
}

const char *
fbmime_hdr_get(const struct fbmime_hdr *h, const char *lname)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->f[i].name, lname) == 0)
			return h->f[i].value;
	return NULL;
}

/* --- Content-Type ---------------------------------------------------- */

/* Copy at most outlen - 1 bytes of the n at p, lowercased. */
static void
fbmime_copy_lower(char *out, size_t outlen, const char *p, size_t n)
{
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	str_lower(out);
}

/* Read the parameter value at p, a token or a quoted-string, into val;
   returns where it ends. */
static const char *
fbmime_param_value(const char *p, struct buf *val)
{
	const char *s;

	buf_reset(val);
	buf_append(val, NULL, 0);
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			buf_append(val, p, 1);
		}
	} else {
		for (s = p; *p != '\0' && *p != ';' && !fbmime_wsp(*p); p++)
			;
		buf_append(val, s, (size_t)(p - s));
	}
	return p;
}

/* Read a Content-Type value (NULL: absent, which is text/plain, RFC 2045
   5.2): type (lowercased "type/subtype"), the boundary (a copy, NULL when
   absent or empty) and the report-type (lowercased, "" when absent).
   Parameter values are tokens or quoted-strings; comments are not
   expected in these fields and are not removed. */
static void
fbmime_ctype(const char *v, char type[FBMIME_TYPE_BUFSZ], char **boundary,
    char rtype[FBMIME_TYPE_BUFSZ])
{
	const char	*p, *s;
	struct buf	 val = BUF_INIT;

	*boundary = NULL;
	rtype[0] = '\0';
	if (v == NULL || *v == '\0') {
		(void)str_copy(type, FBMIME_TYPE_BUFSZ, "text/plain");
		return;
	}
	for (p = v; *p != '\0' && *p != ';' && !fbmime_wsp(*p) &&
	    *p != '('; p++)
		;
	fbmime_copy_lower(type, FBMIME_TYPE_BUFSZ, v, (size_t)(p - v));
	while ((p = strchr(p, ';')) != NULL) {
		for (p++; fbmime_wsp(*p); p++)
			;
		for (s = p; *s != '\0' && *s != '=' && *s != ';'; s++)
			;
		if (*s != '=') {
			p = s;
			continue;
		}
		const char *an = p, *ae = s;

		while (ae > an && fbmime_wsp(ae[-1]))
			ae--;
		for (p = s + 1; fbmime_wsp(*p); p++)
			;
		p = fbmime_param_value(p, &val);
		if (str_ieq_n(an, (size_t)(ae - an), "boundary") &&
		    *boundary == NULL && val.len > 0)
			*boundary = xstrdup(val.data);
		else if (str_ieq_n(an, (size_t)(ae - an), "report-type") &&
		    rtype[0] == '\0')
			fbmime_copy_lower(rtype, FBMIME_TYPE_BUFSZ, val.data,
			    val.len);
	}
	buf_free(&val);
}

/* --- transfer encodings ---------------------------------------------- */

static int
fbmime_b64val(char ch)
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
fbmime_hexval(char ch)
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
fbmime_decode_into(char *d, const char *p, size_t n, bool b64)
{
	size_t		i, o = 0;
	unsigned long	acc = 0;
	int		bits = 0, hi, lo;

	for (i = 0; i < n; i++) {
		if (b64) {
			int v = fbmime_b64val(p[i]);

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
		    (hi = fbmime_hexval(p[i + 1])) >= 0 &&
		    (lo = fbmime_hexval(p[i + 2])) >= 0) {
			d[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			d[o++] = p[i];
		}
	}
	return o;
}

/* The body of a leaf part, decoded when its Content-Transfer-Encoding is
   base64 or quoted-printable; a decoded body is owned by m. */
static struct fbmime_text
fbmime_decode(struct fbmime *m, const struct fbmime_hdr *h,
    struct fbmime_text body)
{
	const char		*cte;
	bool			 b64;
	char			*d;
	size_t			 n;
	struct fbmime_text	 t;

	cte = fbmime_hdr_get(h, "content-transfer-encoding");
	if (cte == NULL)
		return body;
	if (str_ieq(cte, "base64"))
		b64 = true;
	else if (str_ieq(cte, "quoted-printable"))
		b64 = false;
	else
		return body;
	d = xmalloc(body.n + 1);
	n = fbmime_decode_into(d, body.p, body.n, b64);
	t = fbmime_lf(m, d, n);
	free(d);
	return t;
}

/* --- the MIME tree --------------------------------------------------- */

/* 0: the line (n bytes at p) is not a delimiter of boundary b, 1: it is,
   2: it is the closing one. Trailing white space is allowed after the
   boundary (RFC 2046 5.1.1), and anything after a closing one. */
static int
fbmime_delim(const char *p, size_t n, const char *b, size_t blen)
{
	size_t i;

	if (n < blen + 2 || p[0] != '-' || p[1] != '-' ||
	    memcmp(p + 2, b, blen) != 0)
		return 0;
	i = blen + 2;
	if (n - i >= 2 && p[i] == '-' && p[i + 1] == '-')
		return 2;
	for (; i < n; i++)
		if (!fbmime_wsp(p[i]))
			return 0;
	return 1;
}

/* Walk each body part of a multipart entity of the given type. */
static int
fbmime_multipart(struct fbmime *m, struct fbmime_text body,
    const char *boundary, const char *type, int depth, bool report)
{
	const char	*p = body.p, *end = body.p + body.n, *part = NULL;
	size_t		 blen = strlen(boundary);
	char		 q[FBMIME_QUOTE_BUFSZ];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		const char *next = nl != NULL ? nl + 1 : end;
		int kind = fbmime_delim(p, (size_t)(eol - p), boundary, blen);

		if (kind != 0) {
			if (part != NULL) {
				/* The line break before a delimiter belongs
				   to it, not to the part. */
				const char *pe = p > part ? p - 1 : part;

				if (++m->parts > FBMAIL_MAX_PARTS)
					return fbmime_err(m, "more than %d "
					    "MIME parts", FBMAIL_MAX_PARTS);
				if (fbmime_part(m, (struct fbmime_text){ part,
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
		fbmime_quote(boundary, q);
		return fbmime_err(m, "%s: the boundary %s never occurs", type,
		    q);
	}
	return fbmime_err(m, "%s ends without its closing boundary "
	    "(truncated?)", type);
}

/* One entity, headers h and body: a multipart is entered (the first
   multipart/report becomes the report); a leaf that is a direct part of
   the report fills the slot its type names, the first such part
   winning. depth is the number of multiparts around the entity. */
static int
fbmime_entity(struct fbmime *m, const struct fbmime_hdr *h,
    struct fbmime_text body, int depth, bool in_report)
{
	char			 type[FBMIME_TYPE_BUFSZ];
	char			 rtype[FBMIME_TYPE_BUFSZ];
	char			*boundary;
	struct fbmime_text	*slot;
	bool			 report;
	int			 rc;

	fbmime_ctype(fbmime_hdr_get(h, "content-type"), type, &boundary,
	    rtype);
	if (strncmp(type, "multipart/", 10) == 0) {
		if (depth >= FBMAIL_MAX_DEPTH) {
			free(boundary);
			return fbmime_err(m, "multipart nested more than %d "
			    "deep", FBMAIL_MAX_DEPTH);
		}
		if (boundary == NULL)
			return fbmime_err(m, "%s without a boundary", type);
		report = !m->report && strcmp(type, "multipart/report") == 0;
		if (report) {
			m->report = true;
			(void)str_copy(m->rtype, sizeof(m->rtype), rtype);
		}
		rc = fbmime_multipart(m, body, boundary, type, depth, report);
		free(boundary);
		return rc;
	}
	free(boundary);
	if (in_report && (slot = m->slot(m->arg, type)) != NULL &&
	    slot->p == NULL)
		*slot = fbmime_decode(m, h, body);
	return 0;
}

/* One body part t, depth multiparts deep. */
static int
fbmime_part(struct fbmime *m, struct fbmime_text t, int depth,
    bool in_report)
{
	struct fbmime_hdr	h;
	struct fbmime_text	body;
	int			rc;

	fbmime_hdr_parse(t, false, &h, &body);
	rc = fbmime_entity(m, &h, body, depth, in_report);
	fbmime_hdr_free(&h);
	return rc;
}

int
fbmime_walk(struct fbmime *m, const char *msg, size_t len,
    struct fbmime_hdr *top_out, char type_out[FBMIME_TYPE_BUFSZ])
{
	struct fbmime_text	 t, body;
	char			 rtype[FBMIME_TYPE_BUFSZ];
	char			*boundary;

	t = fbmime_lf(m, msg, len);
	fbmime_hdr_parse(t, false, top_out, &body);
	fbmime_ctype(fbmime_hdr_get(top_out, "content-type"), type_out,
	    &boundary, rtype);
	free(boundary);
	return fbmime_entity(m, top_out, body, 0, false);
}

const char *
fbmime_report_type(const struct fbmime *m)
{
	return m->report ? m->rtype : NULL;
}

