/*
 * mime.c - streaming MIME scanner for the attachment types SES refuses.
 * It keeps the start of the line a chunk ended in, the header field being
 * read, the stack of open multipart and message entities and what the
 * current entity's Content-Type said; content passes by without a copy.
 * The parameters of a field, boundary and file names, are read by
 * mimeparam.c. Everything it owns hangs off struct mime and there is no
 * static mutable state: safe in any milter thread, one struct per message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "mime.h"
#include "mimeparam.h"
#include "str.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

enum mime_state {
	MS_TOP,		/* top-level fields, through mime_header() */
	MS_HEADERS,	/* a part's or embedded message's header section */
	MS_BODY,	/* content, preamble, epilogue: boundaries count */
	MS_DONE		/* verdict known or scanning given up */
};

enum mime_field { MF_NONE, MF_TYPE, MF_DISPOSITION, MF_ENCODING };

struct mime_level {
	char	*boundary;	/* NULL for an embedded message */
	size_t	 blen;
	bool	 digest;	/* parts default to message/rfc822 */
};

struct mime {
	struct mime_limits	 lim;
	enum mime_state		 state;
	struct mime_level	*levels;
	unsigned		 nlevels;
	unsigned		 alevels;
	unsigned		 nbound;	/* levels with a boundary */

	/* what the current entity's header section said so far */
	char			 type[64];
	bool			 has_type;
	bool			 encoded;
	bool			 in_digest;
	bool			 has_boundary;
	struct buf		 boundary;

	/* the line a chunk ended in; line_over: bytes were dropped */
	struct buf		 line;
	bool			 line_open;
	bool			 line_over;

	/* the header field being read, unfolded, without its name */
	struct buf		 field;
	enum mime_field		 fkind;
	bool			 field_over;

	/* reads the parameters of Content-Type and Content-Disposition */
	struct mimeparam	*param;

	unsigned		 parts;
	unsigned		 notes;
	bool			 complex;
	bool			 found;
	char			 reason[MIME_REASON_MAX];
	char			 file[MIME_FILE_MAX];
	char			 ext[MIME_EXT_MAX];
};

static void	mime_entity_body(struct mime *m);

static bool
mime_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static void
mime_complex(struct mime *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first limit hit; the verdict becomes MIME_TOO_COMPLEX unless
   an unsupported attachment is found too. */
static void
mime_complex(struct mime *m, const char *fmt, ...)
{
	va_list ap;

	if (m->complex)
		return;
	m->complex = true;
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
}

/* --- what the parameters said ---------------------------------------- */

/* A refused name was found: keep it for mime_end() and stop scanning. */
static void
mime_found(struct mime *m, const char *p, size_t n, const char *ext)
{
	size_t head, tail, o;

	m->found = true;
	m->state = MS_DONE;
	str_copy(m->ext, sizeof(m->ext), ext);
	if (n < sizeof(m->file)) {
		head = n;
		tail = 0;
	} else {
		head = (sizeof(m->file) - 4) / 2;
		tail = sizeof(m->file) - 4 - head;
	}
	memcpy(m->file, p, head);
	o = head;
	if (tail > 0) {
		memcpy(m->file + o, "...", 3);
		o += 3;
		memcpy(m->file + o, p + n - tail, tail);
		o += tail;
	}
	m->file[o] = '\0';
	for (size_t i = 0; i < o; i++)
		if (m->file[i] == '\0')
			m->file[i] = '?';
}

/* The parameters of a Content-Type or Content-Disposition field, p up to
   end, after the type. The entity's boundary is the first usable one that
   its Content-Type fields name. */
static void
mime_params(struct mime *m, enum mime_field kind, const char *p,
    const char *end)
{
	struct mimeparam_result	 r;
	unsigned		 flags = 0;

	if (kind == MF_TYPE) {
		flags |= MIMEPARAM_TYPE;
		if (!m->has_boundary)
			flags |= MIMEPARAM_BOUNDARY;
	}
	mimeparam_parse(m->param, p, (size_t)(end - p), flags, &r);
	m->notes |= r.notes;
	if (r.reason[0] != '\0')
		mime_complex(m, "%s", r.reason);
	if (r.boundary != NULL) {
		buf_reset(&m->boundary);
		buf_append(&m->boundary, r.boundary, r.blen);
		m->has_boundary = true;
	}
	if (r.ext != NULL)
		mime_found(m, r.name, r.namelen, r.ext);
}

/* --- header fields --------------------------------------------------- */

static enum mime_field
mime_field_kind(const char *name, size_t n)
{
	if (str_ieq_n(name, n, "content-type"))
		return MF_TYPE;
	if (str_ieq_n(name, n, "content-disposition"))
		return MF_DISPOSITION;
	if (str_ieq_n(name, n, "content-transfer-encoding"))
		return MF_ENCODING;
	return MF_NONE;
}

static void
mime_field_start(struct mime *m, enum mime_field kind)
{
	m->fkind = kind;
	buf_reset(&m->field);
	m->field_over = false;
}

static void
mime_field_add(struct mime *m, const char *p, size_t n, bool over)
{
	size_t room = m->lim.max_field - m->field.len;

	if (n > room) {
		n = room;
		over = true;
	}
	buf_append(&m->field, p, n);
	if (over)
		m->field_over = true;
}

/* The field read so far is complete: act on it. */
static void
mime_field_end(struct mime *m)
{
	static const char *const what[] = {
		"", "Content-Type", "Content-Disposition",
		"Content-Transfer-Encoding"
	};
	enum mime_field	 kind = m->fkind;
	const char	*p = m->field.data, *end = p + m->field.len, *t;
	size_t		 n;

	m->fkind = MF_NONE;
	if (kind == MF_NONE)
		return;
	/* A cut field may hide the parameter that matters. */
	if (m->field_over)
		mime_complex(m, "%s field longer than %zu bytes", what[kind],
		    m->lim.max_field);
	while (p < end && mime_wsp(*p))
		p++;
	for (t = p; p < end && *p != ';' && *p != '(' && !mime_wsp(*p); p++)
		;
	n = (size_t)(p - t);
	if (kind == MF_ENCODING) {
		/* RFC 2045 6.1: only these leave the content as it is. */
		if (n > 0 && !str_ieq_n(t, n, "7bit") &&
		    !str_ieq_n(t, n, "8bit") && !str_ieq_n(t, n, "binary"))
			m->encoded = true;
		return;
	}
	if (kind == MF_TYPE) {
		if (m->has_type)
			m->notes |= MIME_NOTE_DUPLICATE;
		else {
			if (n >= sizeof(m->type))
				n = sizeof(m->type) - 1;
			for (size_t i = 0; i < n; i++) {
				char c = t[i];

				if (c >= 'A' && c <= 'Z')
					c = (char)(c - 'A' + 'a');
				m->type[i] = c;
			}
			m->type[n] = '\0';
			m->has_type = true;
		}
	}
	mime_params(m, kind, p, end);
}

/* A new entity's header section begins. */
static void
mime_entity_begin(struct mime *m, bool in_digest)
{
	m->state = MS_HEADERS;
	m->type[0] = '\0';
	m->has_type = false;
	m->encoded = false;
	m->in_digest = in_digest;
	m->has_boundary = false;
	m->fkind = MF_NONE;
}

/* Count one more entity; false (and scanning stops) past the limit. */
static bool
mime_count_part(struct mime *m)
{
	if (++m->parts <= m->lim.max_parts)
		return true;
	mime_complex(m, "more than %u parts", m->lim.max_parts);
	m->state = MS_DONE;
	return false;
}

static bool
mime_push(struct mime *m, const char *boundary, size_t blen, bool digest)
{
	struct mime_level *lv;

	if (m->nlevels >= m->lim.max_depth) {
		mime_complex(m, "nesting deeper than %u levels",
		    m->lim.max_depth);
		return false;
	}
	if (m->nlevels == m->alevels) {
		m->alevels = m->alevels == 0 ? 8 : m->alevels * 2;
		m->levels = xrealloc(m->levels,
		    m->alevels * sizeof(m->levels[0]));
	}
	lv = &m->levels[m->nlevels++];
	lv->boundary = boundary != NULL ? xstrndup(boundary, blen) : NULL;
	lv->blen = blen;
	lv->digest = digest;
	if (boundary != NULL)
		m->nbound++;
	return true;
}

static void
mime_pop(struct mime *m)
{
	struct mime_level *lv = &m->levels[--m->nlevels];

	if (lv->boundary != NULL)
		m->nbound--;
	free(lv->boundary);
}

static bool
mime_is_multipart(const char *t)
{
	return strncmp(t, "multipart", 9) == 0 && (t[9] == '\0' || t[9] == '/');
}

/* The entity's header section ended: decide how to read its body. One
   that cannot be followed is content, and only outer boundaries end it. */
static void
mime_entity_body(struct mime *m)
{
	const char *t = m->type;

	mime_field_end(m);
	if (m->state == MS_DONE)
		return;
	m->state = MS_BODY;
	if (!m->has_type && m->in_digest)
		t = "message/rfc822";		/* RFC 2046 5.1.5 */
	if (mime_is_multipart(t)) {
		if (!m->has_boundary) {
			m->notes |= MIME_NOTE_NO_BOUNDARY;
			return;
		}
		/* RFC 2045 6.4 forbids it; the boundaries may still show. */
		if (m->encoded)
			m->notes |= MIME_NOTE_ENCODED;
		mime_push(m, m->boundary.data, m->boundary.len,
		    strcmp(t, "multipart/digest") == 0);
		return;
	}
	if (strcmp(t, "message/rfc822") != 0 &&
	    strcmp(t, "message/global") != 0)
		return;
	/* XXX an encoded message is not decoded and scanned; a nested
	   scanner fed through a base64 and quoted-printable decoder would. */
	if (m->encoded) {
		m->notes |= MIME_NOTE_ENCODED;
		return;
	}
	if (!mime_push(m, NULL, 0, false) || !mime_count_part(m))
		return;
	mime_entity_begin(m, false);
}

/* --- lines ----------------------------------------------------------- */

/* Which open multipart line p (n bytes, starting "--") is a boundary of,
   innermost first, or -1; *close_out for a close delimiter. RFC 2046
   5.1.1: "--", the boundary, "--" to close, then only white space; the
   mail clients read it exactly so, and so does this. A line that starts
   with a boundary and goes on is content, noted: RFC 2046 forbids it. */
static int
mime_boundary_line(struct mime *m, const char *p, size_t n, bool over,
    bool *close_out)
{
	const struct mime_level	*lv;
	const char		*r;
	size_t			 rn;
	bool			 close, text = false;

	for (unsigned i = m->nlevels; i-- > 0;) {
		lv = &m->levels[i];
		if (lv->boundary == NULL || n - 2 < lv->blen ||
		    memcmp(p + 2, lv->boundary, lv->blen) != 0)
			continue;
		r = p + 2 + lv->blen;
		rn = n - 2 - lv->blen;
		close = rn >= 2 && r[0] == '-' && r[1] == '-';
		if (close) {
			r += 2;
			rn -= 2;
		}
		while (rn > 0 && mime_wsp(*r)) {
			r++;
			rn--;
		}
		if (rn == 0 && !over) {
			*close_out = close;
			return (int)i;
		}
		text = true;
	}
	if (text)
		m->notes |= MIME_NOTE_BOUNDARY_TEXT;
	return -1;
}

/* A boundary of level k: inner entities end (RFC 2046 5.1.2), then the
   multipart closes or a new body part begins. */
static void
mime_boundary(struct mime *m, unsigned k, bool close)
{
	if (m->state == MS_HEADERS)
		mime_field_end(m);
	if (m->state == MS_DONE)
		return;
	while (m->nlevels > k + 1) {
		if (m->levels[m->nlevels - 1].boundary != NULL)
			m->notes |= MIME_NOTE_IMPLICIT_END;
		mime_pop(m);
	}
	if (close) {
		mime_pop(m);
		m->state = MS_BODY;
		return;
	}
	if (mime_count_part(m))
		mime_entity_begin(m, m->levels[k].digest);
}

/* A line of a header section, folded lines joined (RFC 5322 2.2.3). */
static void
mime_header_line(struct mime *m, const char *p, size_t n, bool over)
{
	const char	*colon;
	size_t		 nlen;

	if (n == 0) {
		mime_entity_body(m);
		return;
	}
	if (memchr(p, '\0', n) != NULL)
		m->notes |= MIME_NOTE_NUL;
	if (over)
		m->notes |= MIME_NOTE_LONG_HEADER;
	if (mime_wsp(p[0])) {
		if (m->fkind != MF_NONE)
			mime_field_add(m, p, n, over);
		return;
	}
	mime_field_end(m);
	if (m->state == MS_DONE)
		return;
	if ((colon = memchr(p, ':', n)) == NULL) {
		m->notes |= MIME_NOTE_BAD_HEADER;
		return;
	}
	for (nlen = (size_t)(colon - p); nlen > 0 && mime_wsp(p[nlen - 1]);)
		nlen--;
	mime_field_start(m, mime_field_kind(p, nlen));
	if (m->fkind != MF_NONE)
		mime_field_add(m, colon + 1, n - (size_t)(colon + 1 - p), over);
}

/* Bytes of a line worth keeping: a whole header field, or enough of a
   content line to tell a boundary. */
static size_t
mime_keep(const struct mime *m)
{
	if (m->state == MS_HEADERS)
		return m->lim.max_field + 128;
	return MIME_BOUNDARY_MAX + 8;
}

/* True when p (n bytes) is all white space or CR. */
static bool
mime_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!mime_wsp(p[i]) && p[i] != '\r')
			return false;
	return true;
}

/* One line without its LF; over: text past p + n was dropped. Trailing
   white space beyond what is kept does not count as dropped text. */
static void
mime_line(struct mime *m, const char *p, size_t n, bool over)
{
	size_t	keep = mime_keep(m);
	bool	close;
	int	k;

	if (!over && n > 0 && p[n - 1] == '\r')
		n--;
	if (n > keep) {
		if (!mime_blank(p + keep, n - keep))
			over = true;
		n = keep;
	}
	if (m->nbound > 0 && n >= 2 && p[0] == '-' && p[1] == '-' &&
	    (k = mime_boundary_line(m, p, n, over, &close)) >= 0) {
		mime_boundary(m, (unsigned)k, close);
		return;
	}
	if (m->state == MS_HEADERS)
		mime_header_line(m, p, n, over);
}

/* Part of a line that a chunk ended in, up to one byte more than
   mime_keep() so that a CR at the cut is not taken for dropped text. */
static void
mime_line_add(struct mime *m, const char *p, size_t n)
{
	size_t keep = mime_keep(m) + 1;
	size_t room = m->line.len < keep ? keep - m->line.len : 0;

	m->line_open = true;
	if (n > room) {
		if (!m->line_over && !mime_blank(p + room, n - room))
			m->line_over = true;
		n = room;
	}
	buf_append(&m->line, p, n);
}

static void
mime_line_flush(struct mime *m)
{
	mime_line(m, m->line.data, m->line.len, m->line_over);
	buf_reset(&m->line);
	m->line_open = false;
	m->line_over = false;
}

/* --- the interface --------------------------------------------------- */

struct mime *
mime_new(const struct mime_limits *lim)
{
	struct mime	*m = xcalloc(1, sizeof(*m));
	struct buf	*bufs[] = { &m->boundary, &m->line, &m->field };

	if (lim != NULL)
		m->lim = *lim;
	if (m->lim.max_depth == 0)
		m->lim.max_depth = MIME_DEFAULT_DEPTH;
	if (m->lim.max_parts == 0)
		m->lim.max_parts = MIME_DEFAULT_PARTS;
	if (m->lim.max_field == 0)
		m->lim.max_field = MIME_DEFAULT_FIELD;
	if (m->lim.max_field < 256)
		m->lim.max_field = 256;
	/* Never a NULL data pointer, so that empty ranges are safe. */
	for (size_t i = 0; i < NELEM(bufs); i++)
		buf_append(bufs[i], "", 0);
	m->param = mimeparam_new();
	mime_entity_begin(m, false);
	m->state = MS_TOP;
	return m;
}

void
mime_header(struct mime *m, const char *name, const char *value)
{
	const char *p, *q;

	if (m->state != MS_TOP || name == NULL || value == NULL)
		return;
	mime_field_start(m, mime_field_kind(name, strlen(name)));
	if (m->fkind == MF_NONE)
		return;
	/* Unfold: drop the CR and LF, keep the white space after them. */
	for (p = value; *p != '\0' && !m->field_over; p = q) {
		q = p + strcspn(p, "\r\n");
		mime_field_add(m, p, (size_t)(q - p), false);
		q += strspn(q, "\r\n");
	}
	mime_field_end(m);
}

void
mime_eoh(struct mime *m)
{
	if (m->state != MS_TOP)
		return;
	m->state = MS_HEADERS;
	mime_entity_body(m);
}

void
mime_body(struct mime *m, const unsigned char *data, size_t n)
{
	const char *p = (const char *)data, *end = p + n, *nl;

	if (m->state == MS_TOP)
		mime_eoh(m);
	while (p < end) {
		/* Content outside any multipart holds nothing to find. */
		if (m->state == MS_DONE ||
		    (m->state == MS_BODY && m->nbound == 0))
			return;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			mime_line_add(m, p, (size_t)(end - p));
			return;
		}
		if (m->line_open) {
			mime_line_add(m, p, (size_t)(nl - p));
			mime_line_flush(m);
		} else
			mime_line(m, p, (size_t)(nl - p), false);
		p = nl + 1;
	}
}

enum mime_verdict
mime_end(struct mime *m, struct mime_result *out)
{
	if (m->state == MS_TOP)
		mime_eoh(m);
	if (m->line_open && m->state != MS_DONE)
		mime_line_flush(m);
	if (m->state == MS_HEADERS) {
		mime_field_end(m);
		if (m->state != MS_DONE)
			m->notes |= MIME_NOTE_TRUNCATED;
	}
	if (m->state != MS_DONE && m->nbound > 0)
		m->notes |= MIME_NOTE_UNTERMINATED;
	m->state = MS_DONE;

	memset(out, 0, sizeof(*out));
	if (m->found) {
		out->verdict = MIME_UNSUPPORTED;
		str_copy(out->file, sizeof(out->file), m->file);
		str_copy(out->ext, sizeof(out->ext), m->ext);
	} else if (m->complex) {
		out->verdict = MIME_TOO_COMPLEX;
		str_copy(out->reason, sizeof(out->reason), m->reason);
	} else
		out->verdict = MIME_OK;
	out->notes = m->notes;
	out->parts = m->parts;
	return out->verdict;
}

void
mime_free(struct mime **mp)
{
	struct mime *m = *mp;

	if (m == NULL)
		return;
	*mp = NULL;
	while (m->nlevels > 0)
		mime_pop(m);
	free(m->levels);
	buf_free(&m->boundary);
	buf_free(&m->line);
	buf_free(&m->field);
	mimeparam_free(&m->param);
	free(m);
}

bool
mime_ext_unsupported(const char *filename, const char **ext_out)
{
	const char *ext = NULL;

	if (filename != NULL)
		ext = mimeparam_ext_find(filename, strlen(filename));
	if (ext_out != NULL)
		*ext_out = ext;
	return ext != NULL;
}

char *
mime_format_notes(unsigned notes, char *out, size_t outlen)
{
	static const struct {
		unsigned	 bit;
		const char	*word;
	} tab[] = {
		{ MIME_NOTE_NO_BOUNDARY, "no-boundary" },
		{ MIME_NOTE_UNTERMINATED, "unterminated" },
		{ MIME_NOTE_IMPLICIT_END, "implicit-end" },
		{ MIME_NOTE_BOUNDARY_TEXT, "boundary-text" },
		{ MIME_NOTE_TRUNCATED, "truncated" },
		{ MIME_NOTE_LONG_HEADER, "long-header" },
		{ MIME_NOTE_BAD_HEADER, "bad-header" },
		{ MIME_NOTE_NUL, "nul" },
		{ MIME_NOTE_BAD_PARAM, "bad-param" },
		{ MIME_NOTE_DUPLICATE, "duplicate" },
		{ MIME_NOTE_ENCODED, "encoded" },
	};
	size_t o = 0, n;

	if (outlen == 0)
		return out;
	out[0] = '\0';
	for (size_t i = 0; i < NELEM(tab); i++) {
		if ((notes & tab[i].bit) == 0)
			continue;
		n = strlen(tab[i].word);
		if (o + (o > 0) + n >= outlen)
			break;
		if (o > 0)
			out[o++] = ' ';
		memcpy(out + o, tab[i].word, n + 1);
		o += n;
	}
	return out;
}
