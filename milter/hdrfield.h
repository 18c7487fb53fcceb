/*
 * hdrfield.h - a header field as libopendkim wants it from what the MTA
 * hands a milter. No state; safe in any thread.
 */
#ifndef SESGATE_HDRFIELD_H
#define SESGATE_HDRFIELD_H

#include <stdbool.h>

#include "buf.h"

/* Put "Name:value" in b (emptied first): the value with any leading
   white space the MTA kept (lead_space true) or with one space assumed
   after the colon (false), and each line break as CRLF (Postfix folds
   the values it passes with a bare LF; the signature covers CRLF). */
void	hdrfield_build(struct buf *b, const char *name, const char *value,
	    bool lead_space);

#endif
