/*
 * dmarcverify.h - the DMARC verdict (RFC 7489) of one message with
 * libopendmarc: the _dmarc record of the header From domain, or of its
 * organizational domain, looked up through the milter's resolver and
 * handed to libopendmarc with the SPF and DKIM verdicts. Safe in any
 * milter thread once dmarcverify_init() has run.
 */
#ifndef SESGATE_DMARCVERIFY_H
#define SESGATE_DMARCVERIFY_H

#include <stddef.h>

#include "authres.h"
#include "resolver.h"

/* Load the public suffix list at `path` into libopendmarc, once per
   process. 0, or -1 with errbuf (the file named) when it cannot be read,
   or when a different path is asked for later (that takes a restart). */
int	dmarcverify_init(const char *path, char *errbuf, size_t errlen);

/* The verdict for a message from client address `ip` whose header From
   domain is `from` ("" when it has no From address, or several), given
   its SPF verdict and the verdicts of its n DKIM signatures. out->policy
   is the policy that applies and out->dis what pct= leaves of it (the
   caller then applies its own settings). */
void	dmarcverify_check(struct resolver *r, const char *ip,
	    const char *from, const struct authres_spf *spf,
	    const struct authres_dkim *dkim, size_t n,
	    struct authres_dmarc *out);

#endif
