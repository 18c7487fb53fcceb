/*
 * hdrfield.c - header fields for libopendkim, signing and verifying
 * alike. No state; safe in any thread.
 */
#include <string.h>

#include "hdrfield.h"

void
hdrfield_build(struct buf *b, const char *name, const char *value,
    bool lead_space)
{
	buf_reset(b);
	buf_puts(b, name);
	buf_puts(b, lead_space ? ":" : ": ");
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			buf_append(b, "\r", 1);
		buf_append(b, p, 1);
	}
}
