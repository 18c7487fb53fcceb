/* fbmime.h - the MIME walk under fbmail.c: header blocks, Content-Type,
   the base64 and quoted-printable transfer encodings, multipart
   boundaries and the FBMAIL_MAX_PARTS and FBMAIL_MAX_DEPTH limits. It
   finds the first multipart/report of a message and hands each leaf part
   directly inside it to the caller; what the report says is fbmail.c's.
   No static state; safe in any thread. */
#ifndef SESGATE_FBMIME_H
#define SESGATE_FBMIME_H

#include <stdbool.h>
#include <stddef.h>

/* Room for a network value quoted by fbmime_quote(). */
#define FBMIME_QUOTE_MAX	40
#define FBMIME_QUOTE_BUFSZ	(FBMIME_QUOTE_MAX + 8)
/* "type/subtype" and report-type values kept; longer ones are cut, which
   makes them unknown types. */
#define FBMIME_TYPE_BUFSZ	128

struct fbmime;

/* A stretch of the message's LF copy or of a decoded part, borrowed from
   the struct fbmime that made it; not NUL-terminated. */
struct fbmime_text {
	const char	*p;
	size_t		 n;
};

struct fbmime_field {
	char	*name;		/* lowercased */
	char	*value;		/* unfolded, trimmed */
};

/* One header block (or one group of report fields); fields in order. */
struct fbmime_hdr {
	struct fbmime_field	*f;
	size_t			 n, cap;
};

/* Where the body of a leaf part directly inside the report goes, given
   its type (lowercased "type/subtype"): one of the caller's slots, or
   NULL to pass the part by. */
typedef struct fbmime_text *fbmime_slot_fn(void *arg, const char *type);

/* A walk that reports errors into errbuf (errlen bytes; NULL or 0 for
   none) and gives report parts to slot(arg, type). Free it with
   fbmime_free(), which frees every text it made. */
struct fbmime	*fbmime_new(fbmime_slot_fn *slot, void *arg, char *errbuf,
		    size_t errlen);
/* Free m and the texts it made; *mp becomes NULL. Accepts NULL. */
void		 fbmime_free(struct fbmime **mp);

/* Walk the message (len bytes, CRLF or LF lines; NUL bytes read as
   spaces): its header block goes to *top_out, which the caller frees with
   fbmime_hdr_free(), and its type (lowercased "type/subtype", text/plain
   without Content-Type) to type_out. The first multipart/report becomes
   the report; attached messages are not entered. A leaf part directly
   inside the report fills the slot its type names when that slot's .p
   is still NULL, with its body decoded when its Content-Transfer-Encoding
   is base64 or quoted-printable. 0, or -1 with errbuf: a multipart
   without a boundary, whose boundary never occurs or without its closing
   boundary; more than FBMAIL_MAX_PARTS parts or FBMAIL_MAX_DEPTH levels.
   *top_out is filled either way. */
int		 fbmime_walk(struct fbmime *m, const char *msg, size_t len,
		    struct fbmime_hdr *top_out,
		    char type_out[FBMIME_TYPE_BUFSZ]);
/* The report-type of the report fbmime_walk() found (lowercased, "" when
   it has none), borrowed from m; NULL when it found no
   multipart/report. */
const char	*fbmime_report_type(const struct fbmime *m);

/* Read the header block at the start of t into *h (the caller frees it
   with fbmime_hdr_free()); *rest_out is what follows the empty line
   (nothing when there is none). With `fields` (the groups of a report
   part) a line of white space alone ends the block too. Folded fields
   are joined with one space; a line that is not a field, such as an mbox
   "From " line, is skipped. */
void		 fbmime_hdr_parse(struct fbmime_text t, bool fields,
		    struct fbmime_hdr *h, struct fbmime_text *rest_out);
/* The value of the first field called lname (lower case), borrowed from
   h; NULL if there is none. */
const char	*fbmime_hdr_get(const struct fbmime_hdr *h, const char *lname);
/* Free what h holds and zero it. */
void		 fbmime_hdr_free(struct fbmime_hdr *h);

/* Fill m's errbuf (when it has one) from fmt and return -1. */
int		 fbmime_err(struct fbmime *m, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Write s into out for an error message: in double quotes, printable
   ASCII only ('?' for anything else and for '"' and '\'), cut at
   FBMIME_QUOTE_MAX bytes with "..." after. */
void		 fbmime_quote(const char *s, char out[FBMIME_QUOTE_BUFSZ]);

#endif
