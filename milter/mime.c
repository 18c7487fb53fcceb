/*
 * mime.c - streaming MIME scanner for the attachment types SES refuses.
 * It keeps the start of the line a chunk ended in, the header field being
 * read, the stack of open multipart and message entities and what the
 * current entity's Content-Type said; content passes by without a copy.
 * Everything it owns hangs off struct mime and there is no static mutable
 * state: safe in any milter thread, one struct per message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "mime.h"
#include "str.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* RFC 2231 sections of one parameter that are put together; more make
   the message too complex rather than let a late section go unseen. */
#define MIME_SECTIONS	64

/* SES-REFERENCE.md 1.9, in SES's order, without the dots. */
static const char *const mime_ses_ext[] = {
	"ade", "adp", "app", "asp", "bas", "bat", "cer", "chm", "cmd", "com",
	"cpl", "crt", "csh", "der", "exe", "fxp", "gadget", "hlp", "hta",
	"inf", "ins", "isp", "its", "js", "jse", "ksh", "lib", "lnk", "mad",
	"maf", "mag", "mam", "maq", "mar", "mas", "mat", "mau", "mav", "maw",
	"mda", "mdb", "mde", "mdt", "mdw", "mdz", "msc", "msh", "msh1", "msh2",
	"mshxml", "msh1xml", "msh2xml", "msi", "msp", "mst", "ops", "pcd",
	"pif", "plg", "prf", "prg", "reg", "scf", "scr", "sct", "shb", "shs",
	"sys", "ps1", "ps1xml", "ps2", "ps2xml", "psc1", "psc2", "tmp", "url",
	"vb", "vbe", "vbs", "vps", "vsmacros", "vss", "vst", "vsw", "vxd",
	"ws", "wsc", "wsf", "wsh", "xnk",
};

enum mime_state {
	MS_TOP,		/* top-level fields, through mime_header() */
	MS_HEADERS,	/* a part's or embedded message's header section */
	MS_BODY,	/* content, preamble, epilogue: boundaries count */
	MS_DONE		/* verdict known or scanning given up */
};

enum mime_field { MF_NONE, MF_TYPE, MF_DISPOSITION, MF_ENCODING };

enum mime_pname { MP_BOUNDARY, MP_NAME, MP_FILENAME, MP_COUNT };

enum mime_cs {
	CS_BYTES, CS_UTF16, CS_UTF16BE, CS_UTF16LE, CS_UTF32, CS_UTF32BE,
	CS_UTF32LE, CS_UTF7
};

struct mime_level {
	char	*boundary;	/* NULL for an embedded message */
	size_t	 blen;
	bool	 digest;	/* parts default to message/rfc822 */
};

struct mime_section {		/* one RFC 2231 section, in m->scratch */
	size_t	 off;
	size_t	 len;
	bool	 set;
	bool	 encoded;
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

	/* parameter values, a name being decoded, decoded bytes */
	struct buf		 scratch;
	struct buf		 name;
	struct buf		 raw;
	struct mime_section	 sec[MP_COUNT][MIME_SECTIONS];
	unsigned		 nsec[MP_COUNT];

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

/* p (n bytes) equals lower, ignoring ASCII case. */
static bool
mime_ieq(const char *p, size_t n, const char *lower)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (lower[i] == '\0' || c != lower[i])
			return false;
	}
	return lower[i] == '\0';
}

/* buf_append that accepts an empty range at a NULL pointer. */
static void
mime_append(struct buf *b, const void *p, size_t n)
{
	if (n > 0)
		buf_append(b, p, n);
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

/* --- the extension test ------------------------------------------------ */

/* The SES extension that name p (n bytes) ends in, or NULL. */
static const char *
mime_ext_find(const char *p, size_t n)
{
	size_t dot, elen;

	/* Windows drops trailing dots and spaces when it saves a file; a
	   stray quote or control character is debris, not extension. */
	while (n > 0) {
		unsigned char c = (unsigned char)p[n - 1];

		if (c != '.' && c != ' ' && c != '"' && c != '\'' &&
		    c >= 0x20 && c != 0x7f)
			break;
		n--;
	}
	for (dot = n; dot > 0; dot--) {
		if (p[dot - 1] == '.')
			break;
		if (p[dot - 1] == '/' || p[dot - 1] == '\\')
			return NULL;
	}
	elen = n - dot;
	if (dot == 0 || elen == 0 || elen >= MIME_EXT_MAX)
		return NULL;
	for (size_t i = 0; i < NELEM(mime_ses_ext); i++)
		if (mime_ieq(p + dot, elen, mime_ses_ext[i]))
			return mime_ses_ext[i];
	return NULL;
}

/* Test a decoded name; on a hit remember it and stop scanning. A name with
   a NUL byte is also tested up to the NUL, where C-string code cuts it. */
static void
mime_check_name(struct mime *m, const char *p, size_t n)
{
	const char	*ext, *nul;
	size_t		 head, tail, o;

	if (m->found)
		return;
	ext = mime_ext_find(p, n);
	if (ext == NULL && (nul = memchr(p, '\0', n)) != NULL)
		ext = mime_ext_find(p, (size_t)(nul - p));
	if (ext == NULL)
		return;
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

/* --- decoding names -------------------------------------------------- */

static int
mime_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
mime_b64(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Charsets in which an ASCII letter is not one ASCII byte; the rest are
   left as bytes, which shows the extension of any ASCII-compatible one.
   A "*language" suffix (RFC 2231 5) is ignored. */
static enum mime_cs
mime_charset(const char *cs, size_t n)
{
	static const struct {
		const char	*name;
		enum mime_cs	 cs;
	} tab[] = {
		{ "utf-16", CS_UTF16 }, { "utf-16be", CS_UTF16BE },
		{ "utf-16le", CS_UTF16LE }, { "ucs-2", CS_UTF16 },
		{ "ucs-2be", CS_UTF16BE }, { "ucs-2le", CS_UTF16LE },
		{ "utf-32", CS_UTF32 }, { "utf-32be", CS_UTF32BE },
		{ "utf-32le", CS_UTF32LE }, { "ucs-4", CS_UTF32 },
		{ "ucs-4be", CS_UTF32BE }, { "ucs-4le", CS_UTF32LE },
		{ "utf-7", CS_UTF7 }, { "unicode-1-1-utf-7", CS_UTF7 },
	};
	const char *star = memchr(cs, '*', n);

	if (star != NULL)
		n = (size_t)(star - cs);
	for (size_t i = 0; i < NELEM(tab); i++)
		if (mime_ieq(cs, n, tab[i].name))
			return tab[i].cs;
	return CS_BYTES;
}


/* One UTF-16 code unit; *hi holds a pending high surrogate (RFC 2781). */
static void
mime_put_unit(struct buf *out, unsigned long *hi, unsigned long u)
{
	if (*hi != 0) {
		if (u >= 0xdc00 && u <= 0xdfff) {
			buf_put_utf8(out, 0x10000 + ((*hi - 0xd800) << 10) +
			    (u - 0xdc00));
			*hi = 0;
			return;
		}
		buf_put_utf8(out, 0xfffd);
		*hi = 0;
	}
	if (u >= 0xd800 && u <= 0xdbff)
		*hi = u;
	else
		buf_put_utf8(out, u);
}

/* UTF-16 or UTF-32 (width 2 or 4) to UTF-8: big-endian unless a byte
   order mark or the charset says otherwise (RFC 2781 4.3). */
static void
mime_put_wide(struct buf *out, const unsigned char *p, size_t n,
    size_t width, enum mime_cs cs)
{
	bool		 le = cs == CS_UTF16LE || cs == CS_UTF32LE;
	unsigned long	 hi = 0, u = 0;
	size_t		 i = 0;

	if ((cs == CS_UTF16 || cs == CS_UTF32) && n >= width) {
		for (size_t k = 0; k < width; k++)
			u = u << 8 | p[k];
		if (u == 0xfeff)
			i = width;
		else if (u == (width == 2 ? 0xfffeUL : 0xfffe0000UL)) {
			le = true;
			i = width;
		}
	}
	for (; i + width <= n; i += width) {
		u = 0;
		for (size_t k = 0; k < width; k++)
			u = u << 8 | p[i + (le ? width - 1 - k : k)];
		if (width == 2)
			mime_put_unit(out, &hi, u);
		else
			buf_put_utf8(out, u);
	}
	if (hi != 0)
		buf_put_utf8(out, 0xfffd);
}

/* UTF-7 (RFC 2152) to UTF-8: "+AC4-" is a '.', so it must be decoded. */
static void
mime_put_utf7(struct buf *out, const unsigned char *p, size_t n)
{
	unsigned long	bits = 0, hi = 0;
	int		nbits = 0, v;
	bool		shifted = false;

	for (size_t i = 0; i < n; i++) {
		if (!shifted) {
			if (p[i] != '+')
				buf_append(out, p + i, 1);
			else if (i + 1 < n && p[i + 1] == '-')
				buf_append(out, p + i++, 1);
			else {
				shifted = true;
				bits = 0;
				nbits = 0;
			}
			continue;
		}
		if ((v = mime_b64(p[i])) >= 0) {
			bits = (bits << 6 | (unsigned long)v) & 0x3fffff;
			if ((nbits += 6) >= 16) {
				nbits -= 16;
				mime_put_unit(out, &hi,
				    (bits >> nbits) & 0xffff);
			}
			continue;
		}
		shifted = false;
		if (p[i] != '-')
			buf_append(out, p + i, 1);
	}
	if (hi != 0)
		buf_put_utf8(out, 0xfffd);
}

/* Bytes p (n) in charset cs (cslen) appended to out as described above. */
static void
mime_put_text(struct buf *out, const char *cs, size_t cslen,
    const char *p, size_t n)
{
	const unsigned char	*u = (const unsigned char *)p;
	enum mime_cs		 c = mime_charset(cs, cslen);

	switch (c) {
	case CS_UTF16:
	case CS_UTF16BE:
	case CS_UTF16LE:
		mime_put_wide(out, u, n, 2, c);
		break;
	case CS_UTF32:
	case CS_UTF32BE:
	case CS_UTF32LE:
		mime_put_wide(out, u, n, 4, c);
		break;
	case CS_UTF7:
		mime_put_utf7(out, u, n);
		break;
	default:
		mime_append(out, p, n);
		break;
	}
}

/* %XX escapes (RFC 2231 4); a '%' without two hex digits stays. */
static void
mime_put_percent(struct buf *out, const char *p, size_t n)
{
	const char *end = p + n, *pct;

	while ((pct = memchr(p, '%', (size_t)(end - p))) != NULL) {
		mime_append(out, p, (size_t)(pct - p));
		if (end - pct >= 3 && mime_hex(pct[1]) >= 0 &&
		    mime_hex(pct[2]) >= 0) {
			char c = (char)(mime_hex(pct[1]) << 4 |
			    mime_hex(pct[2]));

			buf_append(out, &c, 1);
			p = pct + 3;
		} else {
			buf_append(out, "%", 1);
			p = pct + 1;
		}
	}
	mime_append(out, p, (size_t)(end - p));
}

/* One RFC 2047 encoded word's text decoded into out: B is base64, Q is
   quoted-printable with '_' for space (RFC 2047 4.2). */
static void
mime_put_word(struct buf *out, int enc, const char *p, size_t n)
{
	unsigned long	bits = 0;
	int		nbits = 0, v;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (enc == 'q') {
			if (c == '_')
				c = ' ';
			else if (c == '=' && i + 2 < n &&
			    mime_hex(p[i + 1]) >= 0 &&
			    mime_hex(p[i + 2]) >= 0) {
				c = (char)(mime_hex(p[i + 1]) << 4 |
				    mime_hex(p[i + 2]));
				i += 2;
			}
			buf_append(out, &c, 1);
			continue;
		}
		if ((v = mime_b64(c)) < 0)
			continue;
		bits = (bits << 6 | (unsigned long)v) & 0xffff;
		if ((nbits += 6) >= 8) {
			nbits -= 8;
			c = (char)((bits >> nbits) & 0xff);
			buf_append(out, &c, 1);
		}
	}
}

/* Decode the RFC 2047 encoded words of p (n) into out; anything else is
   copied. White space between two encoded words goes (RFC 2047 6.2); a
   malformed word stays as it is (RFC 2047 6.3). */
static void
mime_put_words(struct mime *m, struct buf *out, const char *p, size_t n)
{
	const char	*end = p + n, *cs, *q, *text, *pend = NULL;
	bool		 word = false;
	int		 enc;

	while (p < end) {
		if (end - p >= 8 && p[0] == '=' && p[1] == '?' &&
		    (q = memchr(p + 2, '?', (size_t)(end - p - 2))) != NULL &&
		    q > p + 2 && end - q >= 5 && q[2] == '?' &&
		    q[1] != '\0' && strchr("BbQq", q[1]) != NULL) {
			cs = p + 2;
			enc = q[1] | 0x20;
			text = q + 3;
			q = memchr(text, '?', (size_t)(end - text));
			if (q != NULL && q + 1 < end && q[1] == '=') {
				buf_reset(&m->raw);
				mime_put_word(&m->raw, enc, text,
				    (size_t)(q - text));
				mime_put_text(out, cs, (size_t)(text - 3 - cs),
				    m->raw.data, m->raw.len);
				p = q + 2;
				word = true;
				pend = NULL;
				continue;
			}
		}
		if (word && mime_wsp(*p)) {
			if (pend == NULL)
				pend = p;
			p++;
			continue;
		}
		if (pend != NULL)
			buf_append(out, pend, (size_t)(p - pend));
		pend = NULL;
		word = false;
		buf_append(out, p++, 1);
	}
	if (pend != NULL)
		buf_append(out, pend, (size_t)(end - pend));
}

/* --- parameters ------------------------------------------------------ */

static void
mime_set_boundary(struct mime *m, const char *p, size_t n)
{
	if (m->has_boundary || n == 0)
		return;
	if (n > MIME_BOUNDARY_MAX) {
		mime_complex(m, "boundary longer than %d bytes",
		    MIME_BOUNDARY_MAX);
		return;
	}
	buf_reset(&m->boundary);
	buf_append(&m->boundary, p, n);
	m->has_boundary = true;
}

/* A decoded value in m->name: a name to test or the boundary. */
static void
mime_param_value(struct mime *m, enum mime_pname which)
{
	if (which == MP_BOUNDARY)
		mime_set_boundary(m, m->name.data, m->name.len);
	else
		mime_check_name(m, m->name.data, m->name.len);
}

/* An RFC 2231 extended value, charset'language'%XX..., into m->raw; the
   charset is returned through cs and cslen (empty when missing). */
static void
mime_ext_value(struct mime *m, const char *p, size_t n, const char **cs,
    size_t *cslen)
{
	const char *q1 = memchr(p, '\'', n), *q2 = NULL;

	if (q1 != NULL)
		q2 = memchr(q1 + 1, '\'', (size_t)(p + n - q1 - 1));
	*cs = p;
	*cslen = 0;
	if (q2 != NULL) {
		*cslen = (size_t)(q1 - p);
		n -= (size_t)(q2 + 1 - p);
		p = q2 + 1;
	} else
		m->notes |= MIME_NOTE_BAD_PARAM;
	mime_put_percent(&m->raw, p, n);
}

/* The sections of one parameter put together in order (RFC 2231 3); with
   a gap, also read up to the gap, as a client that stops there would. */
static void
mime_assemble(struct mime *m, enum mime_pname which)
{
	struct mime_section	*s = m->sec[which];
	const char		*cs = "", *v;
	size_t			 cslen = 0, gap = 0;
	bool			 has_gap = false;

	buf_reset(&m->raw);
	for (unsigned i = 0; i < m->nsec[which]; i++) {
		if (!s[i].set) {
			if (!has_gap)
				gap = m->raw.len;
			has_gap = true;
			m->notes |= MIME_NOTE_BAD_PARAM;
			continue;
		}
		v = m->scratch.data + s[i].off;
		if (!s[i].encoded)
			mime_append(&m->raw, v, s[i].len);
		else if (i == 0)
			mime_ext_value(m, v, s[i].len, &cs, &cslen);
		else
			mime_put_percent(&m->raw, v, s[i].len);
	}
	buf_reset(&m->name);
	mime_put_text(&m->name, cs, cslen, m->raw.data, m->raw.len);
	mime_param_value(m, which);
	if (has_gap && which != MP_BOUNDARY) {
		buf_reset(&m->name);
		mime_put_text(&m->name, cs, cslen, m->raw.data, gap);
		mime_param_value(m, which);
	}
}

/* One parameter, attribute a (alen), value at m->scratch + off (n). */
static void
mime_param(struct mime *m, enum mime_field kind, const char *a,
    size_t alen, size_t off, size_t n)
{
	static const char *const pnames[MP_COUNT] = {
		"boundary", "name", "filename"
	};
	const char		*star = memchr(a, '*', alen), *v, *cs, *q;
	const char		*end = a + alen;
	size_t			 blen = alen, cslen;
	unsigned		 sn = 0;
	int			 which = -1;
	struct mime_section	*s;

	if (star != NULL)
		blen = (size_t)(star - a);
	for (int i = 0; i < MP_COUNT; i++)
		if (mime_ieq(a, blen, pnames[i]))
			which = i;
	if (which < 0 || (which == MP_BOUNDARY && kind != MF_TYPE))
		return;
	v = m->scratch.data + off;
	if (star == NULL) {
		buf_reset(&m->name);
		if (which == MP_BOUNDARY)
			mime_append(&m->name, v, n);
		else
			mime_put_words(m, &m->name, v, n);
		mime_param_value(m, (enum mime_pname)which);
		return;
	}
	if (star + 1 == end) {			/* name*= (RFC 2231 4) */
		buf_reset(&m->raw);
		mime_ext_value(m, v, n, &cs, &cslen);
		buf_reset(&m->name);
		mime_put_text(&m->name, cs, cslen, m->raw.data, m->raw.len);
		mime_param_value(m, (enum mime_pname)which);
		return;
	}
	for (q = star + 1; q < end && *q >= '0' && *q <= '9'; q++)
		if (sn < MIME_SECTIONS)
			sn = sn * 10 + (unsigned)(*q - '0');
	if (q == star + 1 || (q != end && (*q != '*' || q + 1 != end))) {
		m->notes |= MIME_NOTE_BAD_PARAM;
		return;
	}
	if (sn >= MIME_SECTIONS) {
		mime_complex(m, "parameter in more than %d sections",
		    MIME_SECTIONS);
		return;
	}
	s = &m->sec[which][sn];
	if (s->set) {
		m->notes |= MIME_NOTE_BAD_PARAM;
		return;
	}
	s->set = true;
	s->off = off;
	s->len = n;
	s->encoded = q != end;
	if (m->nsec[which] < sn + 1)
		m->nsec[which] = sn + 1;
}

/* A quoted-string's content without its escapes (RFC 5322 3.2.4) onto
   m->scratch; returns where parsing goes on. */
static const char *
mime_quoted(struct mime *m, const char *p, const char *end)
{
	const char *s = p;

	for (; p < end; p++) {
		if (*p == '"') {
			mime_append(&m->scratch, s, (size_t)(p - s));
			return p + 1;
		}
		if (*p == '\\' && p + 1 < end) {
			mime_append(&m->scratch, s, (size_t)(p - s));
			s = ++p;
		}
	}
	mime_append(&m->scratch, s, (size_t)(end - s));
	m->notes |= MIME_NOTE_BAD_PARAM;
	return end;
}

/* The parameters after the media type or disposition type (RFC 2045 5.1,
   RFC 2183 2). An unquoted value runs to the next ';', spaces and all,
   the way mail clients read a broken one. */
static void
mime_params(struct mime *m, enum mime_field kind, const char *p,
    const char *end)
{
	const char	*a, *v;
	size_t		 alen, off, n;

	buf_reset(&m->scratch);
	for (int i = 0; i < MP_COUNT; i++) {
		memset(m->sec[i], 0, m->nsec[i] * sizeof(m->sec[i][0]));
		m->nsec[i] = 0;
	}
	while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
		for (p++; p < end && mime_wsp(*p); p++)
			;
		for (a = p; p < end && *p != '=' && *p != ';' &&
		    !mime_wsp(*p); p++)
			;
		alen = (size_t)(p - a);
		while (p < end && mime_wsp(*p))
			p++;
		if (p == end || *p != '=' || alen == 0)
			continue;
		for (p++; p < end && mime_wsp(*p); p++)
			;
		off = m->scratch.len;
		if (p < end && *p == '"')
			p = mime_quoted(m, p + 1, end);
		else {
			v = p;
			if ((p = memchr(p, ';', (size_t)(end - p))) == NULL)
				p = end;
			for (n = (size_t)(p - v); n > 0 && mime_wsp(v[n - 1]);)
				n--;
			mime_append(&m->scratch, v, n);
		}
		mime_param(m, kind, a, alen, off, m->scratch.len - off);
		if (m->found)
			return;
	}
	for (int i = 0; i < MP_COUNT && !m->found; i++)
		if (m->nsec[i] > 0 && (i != MP_BOUNDARY || kind == MF_TYPE))
			mime_assemble(m, (enum mime_pname)i);
}

/* --- header fields --------------------------------------------------- */

static enum mime_field
mime_field_kind(const char *name, size_t n)
{
	if (mime_ieq(name, n, "content-type"))
		return MF_TYPE;
	if (mime_ieq(name, n, "content-disposition"))
		return MF_DISPOSITION;
	if (mime_ieq(name, n, "content-transfer-encoding"))
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
	mime_append(&m->field, p, n);
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
		if (n > 0 && !mime_ieq(t, n, "7bit") &&
		    !mime_ieq(t, n, "8bit") && !mime_ieq(t, n, "binary"))
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
	mime_append(&m->line, p, n);
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
	struct buf	*bufs[] = { &m->boundary, &m->line, &m->field,
			    &m->scratch, &m->name, &m->raw };

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
	buf_free(&m->scratch);
	buf_free(&m->name);
	buf_free(&m->raw);
	free(m);
}

bool
mime_ext_unsupported(const char *filename, const char **ext_out)
{
	const char *ext = NULL;

	if (filename != NULL)
		ext = mime_ext_find(filename, strlen(filename));
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
