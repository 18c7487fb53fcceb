/*
 * sign.h - DKIM signing of outbound mail with libopendkim: the signing
 * keys of a configuration (a keyset, built at start and on every reload
 * and shared read-only by all milter threads), and the signing of one
 * message (a signer, owned by that message's thread).
 */
#ifndef SESGATE_SIGN_H
#define SESGATE_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct keyset;
struct signer;

/* Load every key of cf's dkim_key lines and set up libopendkim with cf's
   header lists and canonicalization. The keyset, or NULL with every
   problem, one per line, in errbuf (a key file missing, unreadable, not a
   key, or readable by others, named). Safe to call from one thread while
   others use an older keyset. */
struct keyset	*keyset_new(const struct config *cf, char *errbuf,
		    size_t errlen);
/* Number of keys loaded. */
size_t		 keyset_count(const struct keyset *ks);
/* Sign every message as if at this Unix time (tests); 0: the real clock.
   Only before the keyset is used. */
void		 keyset_fix_time(struct keyset *ks, long long t);
void		 keyset_free(struct keyset **ksp);

/* A signer for mail whose header From domain is `domain` (lower case):
   the domain's key (or, with sign_subdomains, its nearest parent's), both
   of its keys with dual_sign. NULL and errbuf "" when no key applies; NULL
   and errbuf set when libopendkim refused. qid names the message in
   libopendkim's logs. */
struct signer	*signer_new(const struct keyset *ks, const char *domain,
		    const char *qid, char *errbuf, size_t errlen);
/* "d=example.com s=sel a=rsa-sha256" for each key, for the log. */
const char	*signer_describe(const struct signer *s);
/* Feed one header field as the MTA passes it: its name, and its value
   with any leading white space the MTA kept (lead_space true) or with
   none (a single space is then assumed after the colon). */
int		 signer_header(struct signer *s, const char *name,
		    const char *value, bool lead_space, char *errbuf,
		    size_t errlen);
int		 signer_eoh(struct signer *s, char *errbuf, size_t errlen);
int		 signer_body(struct signer *s, const unsigned char *p,
		    size_t n, char *errbuf, size_t errlen);
/* Finish: the values of the DKIM-Signature fields to add (without the
   field name; folded with LF), at most two, in *sigs_out; the caller frees each.
   Their number, or -1 with errbuf. */
int		 signer_eom(struct signer *s, char **sigs_out, char *errbuf,
		    size_t errlen);
void		 signer_free(struct signer **sp);

#endif
