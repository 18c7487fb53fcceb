/*
 * mimeparam.h - the parameters of one Content-Type or Content-Disposition
 * field (RFC 2045 5.1, RFC 2183 2) read the way the MIME scanner (mime.h)
 * needs them: the boundary, and every file name decoded and tested for an
 * extension SES refuses (SES-REFERENCE.md 1.9). One struct mimeparam per
 * struct mime; it is not shared between threads, and the module has no
 * other state, so any number run at once.
 *
 * Which parameters: `boundary` (Content-Type only), `name` and
 * `filename` in either field, since mailers mix them up; attribute names
 * without regard to ASCII case. A value is a token, which runs to the
 * next ';', spaces and all, the way mail clients read a broken one, or a
 * quoted-string without its escapes (RFC 5322 3.2.4).
 *
 * How a name is decoded: RFC 2231 extended values (charset'language'
 * and %XX escapes) and continuations, put together in section order
 * whatever the order they came in (RFC 2231 3); RFC 2047 encoded words in
 * plain values, which clients send although RFC 2047 5 does not allow
 * it, white space between two of them dropped (RFC 2047 6.2) and a
 * malformed one kept as text (RFC 2047 6.3). Decoded bytes are kept as
 * they are (treated as UTF-8) except for charsets whose ASCII letters are
 * not single ASCII bytes (UTF-16, UTF-32, UCS-2, UCS-4, UTF-7), which are
 * converted to UTF-8 so that the extension can be seen. Where clients
 * could disagree on the name, every reading is tested: a plain and an
 * RFC 2231 value of one parameter, continuations with a gap read up to
 * the gap and as a whole, a name holding a NUL byte whole and up to the
 * NUL.
 *
 * Extension test: the part after the last '.', compared without regard
 * to ASCII case, once trailing dots, white space, quotes (" and ') and
 * control characters are removed, because Windows drops trailing dots and
 * spaces when it saves a file ("x.exe. " is saved as "x.exe") and a stray
 * quote is a broken quoted-string, not part of the extension. A '.' before
 * the last '/' or '\' does not start an extension.
 */
#ifndef SESGATE_MIMEPARAM_H
#define SESGATE_MIMEPARAM_H

#include <stddef.h>

#include "mime.h"

/* RFC 2231 sections of one parameter that are put together; a higher
   section number is a limit hit rather than a section left unseen. */
#define MIMEPARAM_SECTIONS	64

/* Flags for mimeparam_parse(). MIMEPARAM_TYPE: the field is a
   Content-Type, of which `boundary` is a parameter (RFC 2046 5.1.1); in a
   Content-Disposition it is ignored. MIMEPARAM_BOUNDARY, with
   MIMEPARAM_TYPE: the entity has no boundary yet, so return the first
   usable one; without it boundary parameters are still read and their
   damage noted, but none is returned. */
#define MIMEPARAM_TYPE		0x1
#define MIMEPARAM_BOUNDARY	0x2

struct mimeparam_result {
	/* MIMEPARAM_BOUNDARY: the first boundary value that is neither empty
	   nor longer than MIME_BOUNDARY_MAX bytes, unquoted and its RFC 2231
	   sections put together; else NULL. */
	const char	*boundary;
	size_t		 blen;
	/* The first name found that ends in an extension SES refuses, bytes
	   as sent and decoded, NUL bytes included (namelen), and that
	   extension as SES lists it, lower case without the dot ("exe");
	   both NULL when there is none. The parameters after it are not
	   read. */
	const char	*name;
	size_t		 namelen;
	const char	*ext;
	/* MIME_NOTE_BAD_PARAM when a quote was not closed, the charset''
	   of an extended value was missing, or an RFC 2231 section number
	   was malformed, missing or given twice; else 0. */
	unsigned	 notes;
	/* The first limit hit, e.g. "boundary longer than 256 bytes" or
	   "parameter in more than 64 sections"; "" when none. */
	char		 reason[MIME_REASON_MAX];
};

struct mimeparam;

/* A parser, whose buffers are reused from one field to the next. Never
   NULL. */
struct mimeparam *mimeparam_new(void);
/* Read the parameters in p (n bytes: what follows the media type or
   disposition type, the field unfolded; text before the first ';' is
   skipped) with flags MIMEPARAM_*, and fill *out. The pointers in *out
   are borrowed from mp and stay valid until its next mimeparam_parse()
   or mimeparam_free(); ext points to a constant. */
void	mimeparam_parse(struct mimeparam *mp, const char *p, size_t n,
	    unsigned flags, struct mimeparam_result *out);
/* Free; *mpp becomes NULL. Accepts NULL. */
void	mimeparam_free(struct mimeparam **mpp);

/* The extension SES refuses that name (n bytes, taken whole, NUL bytes
   and all) ends in by the rule above, as SES lists it ("exe"), or NULL.
   Safe in any thread. */
const char *mimeparam_ext_find(const char *name, size_t n);

#endif
