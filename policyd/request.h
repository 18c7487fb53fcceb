/*
 * request.h - the Postfix SMTP access policy delegation protocol
 * (SMTPD_POLICY_README): a request is "name=value" lines ended by an empty
 * line. Framing and parsing only; no I/O. A struct request belongs to one
 * connection.
 */
#ifndef SESGATE_REQUEST_H
#define SESGATE_REQUEST_H

#include <stddef.h>

#include "buf.h"

/* Longest request accepted, in bytes, and most attributes in one. Postfix
   sends about 30 attributes in well under 4 KB. */
#define REQUEST_MAX_BYTES	(64 * 1024)
#define REQUEST_MAX_ATTRS	256

struct request_attr {
	const char	*name;
	const char	*value;
};

/* The attributes the decisions read, found once while parsing. */
#define REQUEST_NKNOWN	8

struct request {
	struct buf		 text;	/* owns the strings below */
	struct request_attr	 attrs[REQUEST_MAX_ATTRS];
	size_t			 nattrs;
	const char		*known[REQUEST_NKNOWN];
};

/* Look for the end of one request at the start of data. 1 and *len_out =
   bytes up to and including the empty line; 0 when more input is needed;
   -1 when no end was found within REQUEST_MAX_BYTES. */
int	request_frame(const char *data, size_t len, size_t *len_out);
/* Parse one framed request (as found by request_frame) into req, which
   keeps a copy. 0, or -1 with errbuf saying what is wrong: a line without
   '=', an empty name, a NUL or control byte, too many attributes. */
int	request_parse(struct request *req, const char *data, size_t len,
	    char *errbuf, size_t errlen);
/* The value of attribute name (the last one if repeated), or NULL. */
const char *request_get(const struct request *req, const char *name);
/* Like request_get, but "" when absent. */
const char *request_str(const struct request *req, const char *name);
/* Release the copy; the struct can be used again. */
void	request_free(struct request *req);

#endif
