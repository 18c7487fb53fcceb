/*
 * mime.h - a streaming MIME scanner that finds the first attachment whose
 * file name ends in an extension SES refuses (SES-REFERENCE.md 1.9). It
 * is fed a message the way libmilter hands it over: the top-level header
 * fields, end of headers, the body in chunks cut anywhere, end. Memory is
 * bounded by struct mime_limits, not by the size of the message. One
 * struct mime per message; it is not shared between threads, and the
 * module has no other state, so any number run at once.
 *
 * Which names are looked at: every Content-Disposition `filename` and
 * every Content-Type `name` of every entity (the top level, each body
 * part, each message/rfc822 or message/global part's own headers), and
 * the other of the two names in either field, since mailers mix them up.
 * mimeparam.h says how each is decoded (quoted strings, RFC 2231, RFC 2047,
 * UTF-16, UTF-32 and UTF-7 made UTF-8, every reading where clients could
 * disagree) and gives the extension test: the part after the last '.',
 * without regard to ASCII case, trailing dots, white space, quotes and
 * control characters removed as Windows does when it saves a file.
 *
 * Structure: multipart entities are followed through their boundary
 * lines (RFC 2046 5.1.1: the boundary, "--" to close, white space, read
 * exactly, as mail clients do), message/rfc822 and message/global parts
 * as whole messages, multipart/digest parts as messages by default. What
 * is too big to follow gives MIME_TOO_COMPLEX: nesting past max_depth
 * (that entity is taken as content and the scan goes on), more than
 * max_parts entities (the scan stops), a Content-Type or
 * Content-Disposition field past max_field (what fits is still read), a
 * boundary past MIME_BOUNDARY_MAX, a name in more than 64 RFC 2231
 * sections. Other damage is noted (MIME_NOTE_*) and read the way that
 * misses least. Not looked into: base64 or quoted-printable encoded
 * message/rfc822 parts, uuencoded text, TNEF (winmail.dat), archives.
 */
#ifndef SESGATE_MIME_H
#define SESGATE_MIME_H

#include <stdbool.h>
#include <stddef.h>

/* Limits; a zero field takes the default shown. */
struct mime_limits {
	/* multipart and message entities open at once (32) */
	unsigned	max_depth;
	/* body parts and embedded messages in the whole message (10000) */
	unsigned	max_parts;
	/* bytes kept of one Content-Type, Content-Disposition or
	   Content-Transfer-Encoding field, unfolded (16384; at least 256) */
	size_t		max_field;
};

#define MIME_DEFAULT_DEPTH	32
#define MIME_DEFAULT_PARTS	10000
#define MIME_DEFAULT_FIELD	16384
/* Longest boundary followed; RFC 2046 5.1.1 allows 70. */
#define MIME_BOUNDARY_MAX	256

enum mime_verdict {
	MIME_OK,		/* nothing SES would refuse was found */
	MIME_UNSUPPORTED,	/* file and ext name the first one found */
	MIME_TOO_COMPLEX	/* a limit was hit first; reason says which */
};

/*
 * Malformed input that was handled, as bits in mime_result.notes:
 * NO_BOUNDARY	multipart without a boundary: its body was skipped
 * UNTERMINATED	multipart still open at the end
 * IMPLICIT_END	multipart ended by an outer boundary (RFC 2046 5.1.2)
 * BOUNDARY_TEXT a line began with a boundary and went on: content
 * TRUNCATED	input ended inside a header section
 * LONG_HEADER	a part's header line over max_field: skipped or cut
 * BAD_HEADER	a part's header line without a colon: skipped
 * NUL		NUL byte in a part's header section
 * BAD_PARAM	unterminated quote, charset'' missing, RFC 2231 gap or
 *		section given twice
 * DUPLICATE	second Content-Type in one entity: the first counts
 * ENCODED	base64 or quoted-printable message/rfc822 (not scanned)
 *		or multipart (RFC 2045 6.4)
 */
#define MIME_NOTE_NO_BOUNDARY	0x0001
#define MIME_NOTE_UNTERMINATED	0x0002
#define MIME_NOTE_IMPLICIT_END	0x0004
#define MIME_NOTE_BOUNDARY_TEXT	0x0008
#define MIME_NOTE_TRUNCATED	0x0010
#define MIME_NOTE_LONG_HEADER	0x0020
#define MIME_NOTE_BAD_HEADER	0x0040
#define MIME_NOTE_NUL		0x0080
#define MIME_NOTE_BAD_PARAM	0x0100
#define MIME_NOTE_DUPLICATE	0x0200
#define MIME_NOTE_ENCODED	0x0400

#define MIME_FILE_MAX	256
#define MIME_EXT_MAX	16
#define MIME_REASON_MAX	96

struct mime_result {
	enum mime_verdict verdict;
	/* MIME_UNSUPPORTED: the decoded file name, bytes as sent (not
	   cleaned for logs or SMTP replies), a NUL byte written as '?',
	   shortened in the middle with "..." past MIME_FILE_MAX - 1 bytes;
	   else "". */
	char		file[MIME_FILE_MAX];
	/* MIME_UNSUPPORTED: the extension as SES lists it, lower case
	   without the dot ("exe"); else "". */
	char		ext[MIME_EXT_MAX];
	/* MIME_TOO_COMPLEX: which limit, e.g. "nesting deeper than 32
	   levels"; else "". */
	char		reason[MIME_REASON_MAX];
	/* MIME_NOTE_* */
	unsigned	notes;
	/* body parts and embedded messages seen */
	unsigned	parts;
};

struct mime;

/* A scanner for one message; lim NULL means the defaults. Never NULL. */
struct mime *mime_new(const struct mime_limits *lim);
/* One top-level header field as libmilter gives it: value may be folded
   (CRLF or LF followed by white space). Only Content-Type,
   Content-Disposition and Content-Transfer-Encoding are looked at;
   ignored after mime_eoh(). */
void	mime_header(struct mime *m, const char *name, const char *value);
/* End of the top-level header section. */
void	mime_eoh(struct mime *m);
/* The next n bytes of the body; lines may end in CRLF or LF, any byte may
   occur, and a chunk may end anywhere. Implies mime_eoh() when that was not
   called. Cheap once the verdict is known. */
void	mime_body(struct mime *m, const unsigned char *p, size_t n);
/* Finish: fills *out and returns out->verdict. MIME_UNSUPPORTED wins over
   MIME_TOO_COMPLEX when both apply. Call once; feeding stops here. */
enum mime_verdict mime_end(struct mime *m, struct mime_result *out);
/* Free; *mp becomes NULL. Accepts NULL. */
void	mime_free(struct mime **mp);

/* True when filename ends in an extension SES refuses, by the rule in
   mimeparam.h; *ext_out (when ext_out is not NULL) is then that extension
   as SES lists it, without the dot ("exe"), else NULL. */
bool	mime_ext_unsupported(const char *filename, const char **ext_out);
/* The notes as words separated by spaces ("no-boundary unterminated"),
   "" for none, cut to fit outlen. Returns out. */
char	*mime_format_notes(unsigned notes, char *out, size_t outlen);

#endif
