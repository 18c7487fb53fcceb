/*
 * authres.h - the verdicts of the inbound checks and the one
 * Authentication-Results field (RFC 8601) that carries them. No state;
 * safe in any milter thread.
 */
#ifndef SESGATE_AUTHRES_H
#define SESGATE_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* RFC 8601 section 2.7's result words (the order is ours). */
enum auth_result {
	AUTH_NONE,
	AUTH_PASS,
	AUTH_FAIL,
	AUTH_SOFTFAIL,
	AUTH_NEUTRAL,
	AUTH_TEMPERROR,
	AUTH_PERMERROR,
};

/* "pass", "fail", ... */
const char	*authres_name(enum auth_result r);

/* The SPF verdict of a message: the identity checked (MAIL FROM, or the
   HELO name when MAIL FROM is null). */
struct authres_spf {
	enum auth_result	 result;
	bool			 helo;		/* the HELO identity */
	char			 identity[320];	/* address or HELO name */
	char			 domain[256];	/* its domain */
	char			 received[1024];	/* Received-SPF value */
};

/* One DKIM signature's verdict; fields a broken signature lacks are "". */
struct authres_dkim {
	enum auth_result	 result;
	const char		*reason;	/* "body hash mismatch" or NULL */
	char			 d[256];
	char			 s[128];
	char			 a[32];
	char			 b[16];		/* first 8 characters of b= */
};

/* What DMARC applied: dis= of Authentication-Results. */
enum authres_disposition {
	DISP_NONE,
	DISP_QUARANTINE,
	DISP_REJECT,
};

struct authres_dmarc {
	enum auth_result	 result;	/* none pass fail temperror
						   permerror */
	char			 from[256];	/* header From domain, "" if
						   none or several */
	enum authres_disposition policy;	/* p= (or sp=) that applied */
	enum authres_disposition dis;		/* what was done */
};

/* "none", "quarantine", "reject". */
const char	*authres_disposition_name(enum authres_disposition d);

/* Append to out the value of the Authentication-Results field: authserv
   then spf, every dkim (dkim=none when n is 0) and dmarc, one resinfo a
   line (folded with LF and a tab). */
void	authres_format(struct buf *out, const char *authserv,
	    const struct authres_spf *spf, const struct authres_dkim *dkim,
	    size_t n, const struct authres_dmarc *dmarc);
/* Whether an Authentication-Results value names authserv as its
   authserv-id (compared without case; a version after it allowed). */
bool	authres_is_ours(const char *value, const char *authserv);

#endif
