/*
 * dkimverify.h - DKIM verification of inbound mail (RFC 6376, RFC 8463)
 * with libopendkim, the keys fetched through the milter's resolver: a
 * verifier library (built with a configuration generation, shared by all
 * milter threads) and the verification of one message (owned by that
 * message's thread).
 */
#ifndef SESGATE_DKIMVERIFY_H
#define SESGATE_DKIMVERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "authres.h"
#include "resolver.h"

/* Signatures verified and reported per message; any more are ignored. */
#define DKIMVERIFY_MAX_SIGS	8

struct dkimverify_lib;
struct dkimverify;

/* A libopendkim set up to verify with keys from r (borrowed; it must
   outlive the library). NULL with errbuf on failure. */
struct dkimverify_lib	*dkimverify_lib_new(struct resolver *r, char *errbuf,
			    size_t errlen);
void			 dkimverify_lib_free(struct dkimverify_lib **lp);

/* Start verifying a message; qid names it in libopendkim's messages. NULL
   with errbuf when libopendkim refused. */
struct dkimverify	*dkimverify_new(struct dkimverify_lib *l,
			    const char *qid, char *errbuf, size_t errlen);
/* Feed one header field as the MTA passes it (see signer_header()). */
void			 dkimverify_header(struct dkimverify *v,
			    const char *name, const char *value,
			    bool lead_space);
void			 dkimverify_eoh(struct dkimverify *v);
void			 dkimverify_body(struct dkimverify *v,
			    const unsigned char *p, size_t n);
/* Finish: the verdict of each signature, in header order, in out (at most
   max). Their number; 0 when the message has none. */
size_t			 dkimverify_eom(struct dkimverify *v,
			    struct authres_dkim *out, size_t max);
void			 dkimverify_free(struct dkimverify **vp);

#endif
