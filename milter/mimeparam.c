/*
 * mimeparam.c - the parameters of a Content-Type or Content-Disposition
 * field: values unquoted, RFC 2231 sections put together, RFC 2047
 * encoded words and wide charsets decoded, and each name tested against
 * SES's list. It owns the buffers the values are decoded in and the
 * RFC 2231 sections of the field being read; all of it hangs off struct
 * mimeparam and there is no static mutable state: safe in any milter
 * thread, one struct per message.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "str.h"
#include "mem.h"
#include "mimeparam.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* SES-REFERENCE.md 1.9, in SES's order, without the dots. */
static const char *const mimeparam_ses_ext[] = {
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

enum mimeparam_pname { MP_BOUNDARY, MP_NAME, MP_FILENAME, MP_COUNT };

enum mimeparam_cs {
	CS_BYTES, CS_UTF16, CS_UTF16BE, CS_UTF16LE, CS_UTF32, CS_UTF32BE,
	CS_UTF32LE, CS_UTF7
};

struct mimeparam_section {	/* one RFC 2231 section, in mp->scratch */
	size_t	 off;
	size_t	 len;
	bool	 set;
	bool	 encoded;
};

struct mimeparam {
	/* the field's values without quotes, a name being decoded, decoded
	   bytes before charset conversion */
	struct buf		 scratch;
	struct buf		 name;
	struct buf		 raw;
	struct mimeparam_section sec[MP_COUNT][MIMEPARAM_SECTIONS];
	unsigned		 nsec[MP_COUNT];

	/* what mimeparam_parse() returns: res points into these */
	struct buf		 boundary;
	struct buf		 hit;
	unsigned		 flags;
	struct mimeparam_result	 res;
};

static bool
mimeparam_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static void
mimeparam_limit(struct mimeparam *mp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first limit hit of this field. */
static void
mimeparam_limit(struct mimeparam *mp, const char *fmt, ...)
{
	va_list ap;

	if (mp->res.reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(mp->res.reason, sizeof(mp->res.reason), fmt, ap);
	va_end(ap);
}

/* --- the extension test ---------------------------------------------- */

const char *
mimeparam_ext_find(const char *p, size_t n)
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
	for (size_t i = 0; i < NELEM(mimeparam_ses_ext); i++)
		if (str_ieq_n(p + dot, elen, mimeparam_ses_ext[i]))
			return mimeparam_ses_ext[i];
	return NULL;
}

/* Test a decoded name and keep the first hit. A name with a NUL byte is
   also tested up to the NUL, where C-string code cuts it. */
static void
mimeparam_check_name(struct mimeparam *mp, const char *p, size_t n)
{
	const char *ext, *nul;

	if (mp->res.ext != NULL)
		return;
	ext = mimeparam_ext_find(p, n);
	if (ext == NULL && (nul = memchr(p, '\0', n)) != NULL)
		ext = mimeparam_ext_find(p, (size_t)(nul - p));
	if (ext == NULL)
		return;
	buf_reset(&mp->hit);
	buf_append(&mp->hit, p, n);
	mp->res.name = mp->hit.data;
	mp->res.namelen = mp->hit.len;
	mp->res.ext = ext;
}

/* --- decoding names -------------------------------------------------- */

static int
mimeparam_hex(int c)
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
mimeparam_b64(int c)
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
static enum mimeparam_cs
mimeparam_charset(const char *cs, size_t n)
{
	static const struct {
		const char		*name;
		enum mimeparam_cs	 cs;
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
		if (str_ieq_n(cs, n, tab[i].name))
			return tab[i].cs;
	return CS_BYTES;
}

/* One UTF-16 code unit; *hi holds a pending high surrogate (RFC 2781). */
static void
mimeparam_put_unit(struct buf *out, unsigned long *hi, unsigned long u)
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
mimeparam_put_wide(struct buf *out, const unsigned char *p, size_t n,
    size_t width, enum mimeparam_cs cs)
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
			mimeparam_put_unit(out, &hi, u);
		else
			buf_put_utf8(out, u);
	}
	if (hi != 0)
		buf_put_utf8(out, 0xfffd);
}

/* UTF-7 (RFC 2152) to UTF-8: "+AC4-" is a '.', so it must be decoded. */
static void
mimeparam_put_utf7(struct buf *out, const unsigned char *p, size_t n)
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
		if ((v = mimeparam_b64(p[i])) >= 0) {
			bits = (bits << 6 | (unsigned long)v) & 0x3fffff;
			if ((nbits += 6) >= 16) {
				nbits -= 16;
				mimeparam_put_unit(out, &hi,
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
mimeparam_put_text(struct buf *out, const char *cs, size_t cslen,
    const char *p, size_t n)
{
	const unsigned char	*u = (const unsigned char *)p;
	enum mimeparam_cs	 c = mimeparam_charset(cs, cslen);

	switch (c) {
	case CS_UTF16:
	case CS_UTF16BE:
	case CS_UTF16LE:
		mimeparam_put_wide(out, u, n, 2, c);
		break;
	case CS_UTF32:
	case CS_UTF32BE:
	case CS_UTF32LE:
		mimeparam_put_wide(out, u, n, 4, c);
		break;
	case CS_UTF7:
		mimeparam_put_utf7(out, u, n);
		break;
	default:
		buf_append(out, p, n);
		break;
	}
}

/* %XX escapes (RFC 2231 4); a '%' without two hex digits stays. */
static void
mimeparam_put_percent(struct buf *out, const char *p, size_t n)
{
	const char *end = p + n, *pct;

	while ((pct = memchr(p, '%', (size_t)(end - p))) != NULL) {
		buf_append(out, p, (size_t)(pct - p));
		if (end - pct >= 3 && mimeparam_hex(pct[1]) >= 0 &&
		    mimeparam_hex(pct[2]) >= 0) {
			char c = (char)(mimeparam_hex(pct[1]) << 4 |
			    mimeparam_hex(pct[2]));

			buf_append(out, &c, 1);
			p = pct + 3;
		} else {
			buf_append(out, "%", 1);
			p = pct + 1;
		}
	}
	buf_append(out, p, (size_t)(end - p));
}

/* One RFC 2047 encoded word's text decoded into out: B is base64, Q is
   quoted-printable with '_' for space (RFC 2047 4.2). */
static void
mimeparam_put_word(struct buf *out, int enc, const char *p, size_t n)
{
	unsigned long	bits = 0;
	int		nbits = 0, v;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (enc == 'q') {
			if (c == '_')
				c = ' ';
			else if (c == '=' && i + 2 < n &&
			    mimeparam_hex(p[i + 1]) >= 0 &&
			    mimeparam_hex(p[i + 2]) >= 0) {
				c = (char)(mimeparam_hex(p[i + 1]) << 4 |
				    mimeparam_hex(p[i + 2]));
				i += 2;
			}
			buf_append(out, &c, 1);
			continue;
		}
		if ((v = mimeparam_b64(c)) < 0)
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
mimeparam_put_words(struct mimeparam *mp, struct buf *out, const char *p,
    size_t n)
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
				buf_reset(&mp->raw);
				mimeparam_put_word(&mp->raw, enc, text,
				    (size_t)(q - text));
				mimeparam_put_text(out, cs,
				    (size_t)(text - 3 - cs), mp->raw.data,
				    mp->raw.len);
				p = q + 2;
				word = true;
				pend = NULL;
				continue;
			}
		}
		if (word && mimeparam_wsp(*p)) {
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

/* The first boundary that is neither empty nor too long counts. */
static void
mimeparam_set_boundary(struct mimeparam *mp, const char *p, size_t n)
{
	if ((mp->flags & MIMEPARAM_BOUNDARY) == 0 ||
	    mp->res.boundary != NULL || n == 0)
		return;
	if (n > MIME_BOUNDARY_MAX) {
		mimeparam_limit(mp, "boundary longer than %d bytes",
		    MIME_BOUNDARY_MAX);
		return;
	}
	buf_reset(&mp->boundary);
	buf_append(&mp->boundary, p, n);
	mp->res.boundary = mp->boundary.data;
	mp->res.blen = mp->boundary.len;
}

/* A decoded value in mp->name: a name to test or the boundary. */
static void
mimeparam_value(struct mimeparam *mp, enum mimeparam_pname which)
{
	if (which == MP_BOUNDARY)
		mimeparam_set_boundary(mp, mp->name.data, mp->name.len);
	else
		mimeparam_check_name(mp, mp->name.data, mp->name.len);
}

/* An RFC 2231 extended value, charset'language'%XX..., into mp->raw; the
   charset is returned through cs and cslen (empty when missing). */
static void
mimeparam_ext_value(struct mimeparam *mp, const char *p, size_t n,
    const char **cs, size_t *cslen)
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
		mp->res.notes |= MIME_NOTE_BAD_PARAM;
	mimeparam_put_percent(&mp->raw, p, n);
}

/* The sections of one parameter put together in order (RFC 2231 3); with
   a gap, also read up to the gap, as a client that stops there would. */
static void
mimeparam_assemble(struct mimeparam *mp, enum mimeparam_pname which)
{
	struct mimeparam_section	*s = mp->sec[which];
	const char			*cs = "", *v;
	size_t				 cslen = 0, gap = 0;
	bool				 has_gap = false;

	buf_reset(&mp->raw);
	for (unsigned i = 0; i < mp->nsec[which]; i++) {
		if (!s[i].set) {
			if (!has_gap)
				gap = mp->raw.len;
			has_gap = true;
			mp->res.notes |= MIME_NOTE_BAD_PARAM;
			continue;
		}
		v = mp->scratch.data + s[i].off;
		if (!s[i].encoded)
			buf_append(&mp->raw, v, s[i].len);
		else if (i == 0)
			mimeparam_ext_value(mp, v, s[i].len, &cs, &cslen);
		else
			mimeparam_put_percent(&mp->raw, v, s[i].len);
	}
	buf_reset(&mp->name);
	mimeparam_put_text(&mp->name, cs, cslen, mp->raw.data, mp->raw.len);
	mimeparam_value(mp, which);
	if (has_gap && which != MP_BOUNDARY) {
		buf_reset(&mp->name);
		mimeparam_put_text(&mp->name, cs, cslen, mp->raw.data, gap);
		mimeparam_value(mp, which);
	}
}

/* One parameter, attribute a (alen), value at mp->scratch + off (n). */
static void
mimeparam_param(struct mimeparam *mp, const char *a, size_t alen,
    size_t off, size_t n)
{
	static const char *const pnames[MP_COUNT] = {
		"boundary", "name", "filename"
	};
	const char			*star = memchr(a, '*', alen);
	const char			*end = a + alen, *v, *cs, *q;
	size_t				 blen = alen, cslen;
	unsigned			 sn = 0;
	int				 which = -1;
	struct mimeparam_section	*s;

	if (star != NULL)
		blen = (size_t)(star - a);
	for (int i = 0; i < MP_COUNT; i++)
		if (str_ieq_n(a, blen, pnames[i]))
			which = i;
	if (which < 0 ||
	    (which == MP_BOUNDARY && (mp->flags & MIMEPARAM_TYPE) == 0))
		return;
	v = mp->scratch.data + off;
	if (star == NULL) {
		buf_reset(&mp->name);
		if (which == MP_BOUNDARY)
			buf_append(&mp->name, v, n);
		else
			mimeparam_put_words(mp, &mp->name, v, n);
		mimeparam_value(mp, (enum mimeparam_pname)which);
		return;
	}
	if (star + 1 == end) {			/* name*= (RFC 2231 4) */
		buf_reset(&mp->raw);
		mimeparam_ext_value(mp, v, n, &cs, &cslen);
		buf_reset(&mp->name);
		mimeparam_put_text(&mp->name, cs, cslen, mp->raw.data,
		    mp->raw.len);
		mimeparam_value(mp, (enum mimeparam_pname)which);
		return;
	}
	for (q = star + 1; q < end && *q >= '0' && *q <= '9'; q++)
		if (sn < MIMEPARAM_SECTIONS)
			sn = sn * 10 + (unsigned)(*q - '0');
	if (q == star + 1 || (q != end && (*q != '*' || q + 1 != end))) {
		mp->res.notes |= MIME_NOTE_BAD_PARAM;
		return;
	}
	if (sn >= MIMEPARAM_SECTIONS) {
		mimeparam_limit(mp, "parameter in more than %d sections",
		    MIMEPARAM_SECTIONS);
		return;
	}
	s = &mp->sec[which][sn];
	if (s->set) {
		mp->res.notes |= MIME_NOTE_BAD_PARAM;
		return;
	}
	s->set = true;
	s->off = off;
	s->len = n;
	s->encoded = q != end;
	if (mp->nsec[which] < sn + 1)
		mp->nsec[which] = sn + 1;
}

/* A quoted-string's content without its escapes (RFC 5322 3.2.4) onto
   mp->scratch; returns where parsing goes on. */
static const char *
mimeparam_quoted(struct mimeparam *mp, const char *p, const char *end)
{
	const char *s = p;

	for (; p < end; p++) {
		if (*p == '"') {
			buf_append(&mp->scratch, s, (size_t)(p - s));
			return p + 1;
		}
		if (*p == '\\' && p + 1 < end) {
			buf_append(&mp->scratch, s, (size_t)(p - s));
			s = ++p;
		}
	}
	buf_append(&mp->scratch, s, (size_t)(end - s));
	mp->res.notes |= MIME_NOTE_BAD_PARAM;
	return end;
}

/* --- the interface --------------------------------------------------- */

struct mimeparam *
mimeparam_new(void)
{
	struct mimeparam	*mp = xcalloc(1, sizeof(*mp));
	struct buf		*bufs[] = { &mp->scratch, &mp->name, &mp->raw,
				    &mp->boundary, &mp->hit };

	/* Never a NULL data pointer, so that empty ranges are safe. */
	for (size_t i = 0; i < NELEM(bufs); i++)
		buf_append(bufs[i], "", 0);
	return mp;
}

/* The parameters after the media type or disposition type (RFC 2045 5.1,
   RFC 2183 2). An unquoted value runs to the next ';', spaces and all,
   the way mail clients read a broken one. Plain values are acted on as
   they come; RFC 2231 sections once the field has been read. */
void
mimeparam_parse(struct mimeparam *mp, const char *p, size_t n,
    unsigned flags, struct mimeparam_result *out)
{
	const char	*end = p + n, *a, *v;
	size_t		 alen, off, vn;

	memset(&mp->res, 0, sizeof(mp->res));
	mp->flags = flags;
	buf_reset(&mp->scratch);
	for (int i = 0; i < MP_COUNT; i++) {
		memset(mp->sec[i], 0, mp->nsec[i] * sizeof(mp->sec[i][0]));
		mp->nsec[i] = 0;
	}
	while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
		for (p++; p < end && mimeparam_wsp(*p); p++)
			;
		for (a = p; p < end && *p != '=' && *p != ';' &&
		    !mimeparam_wsp(*p); p++)
			;
		alen = (size_t)(p - a);
		while (p < end && mimeparam_wsp(*p))
			p++;
		if (p == end || *p != '=' || alen == 0)
			continue;
		for (p++; p < end && mimeparam_wsp(*p); p++)
			;
		off = mp->scratch.len;
		if (p < end && *p == '"')
			p = mimeparam_quoted(mp, p + 1, end);
		else {
			v = p;
			if ((p = memchr(p, ';', (size_t)(end - p))) == NULL)
				p = end;
			for (vn = (size_t)(p - v);
			    vn > 0 && mimeparam_wsp(v[vn - 1]);)
				vn--;
			buf_append(&mp->scratch, v, vn);
		}
		mimeparam_param(mp, a, alen, off, mp->scratch.len - off);
		if (mp->res.ext != NULL)
			break;
	}
	for (int i = 0; i < MP_COUNT && mp->res.ext == NULL; i++)
		if (mp->nsec[i] > 0 &&
		    (i != MP_BOUNDARY || (flags & MIMEPARAM_TYPE) != 0))
			mimeparam_assemble(mp, (enum mimeparam_pname)i);
	*out = mp->res;
}

void
mimeparam_free(struct mimeparam **mpp)
{
	struct mimeparam *mp = *mpp;

	if (mp == NULL)
		return;
	*mpp = NULL;
	buf_free(&mp->scratch);
	buf_free(&mp->name);
	buf_free(&mp->raw);
	buf_free(&mp->boundary);
	buf_free(&mp->hit);
	free(mp);
}
