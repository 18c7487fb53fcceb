/*
 * resolver.h - the milter's one caching DNS resolver (libunbound), which
 * every DNS question of the inbound checks goes through: SPF records and
 * the names they point at, DKIM keys, DMARC records. Upstream is
 * /etc/resolv.conf or one configured server; the cache is bounded and
 * keeps records for their TTL; every query has a time limit. One
 * resolver serves all milter threads at once.
 */
#ifndef SESGATE_RESOLVER_H
#define SESGATE_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>

struct resolver;

/* An answer. rr[i] is the rdata of record i in wire format, names in it
   uncompressed; packet is the whole DNS message (NULL for a name that
   cannot be asked for, which counts as one that does not exist). */
struct resolver_answer {
	int		  nxdomain;	/* the name does not exist */
	size_t		  n;		/* records of the type asked */
	unsigned char	**rr;
	size_t		 *rrlen;
	unsigned char	 *packet;
	size_t		  packetlen;
};

/* A resolver asking `upstream` ("ADDR" or "ADDR@PORT"; "" for the
   servers of /etc/resolv.conf), giving up a query after timeout_ms, its
   cache bounded to about cache_bytes. With `prev` (the resolver of the
   configuration being replaced, or NULL) asking the same upstream with
   the same bound, the answers prev keeps are kept on (a reload does not
   empty the cache). NULL with errbuf on failure. */
struct resolver	*resolver_new(const char *upstream, long long timeout_ms,
		    long long cache_bytes, const struct resolver *prev,
		    char *errbuf, size_t errlen);
/* Stop the resolver and free it; *rp becomes NULL. Accepts NULL. No
   query may be running. */
void		 resolver_free(struct resolver **rp);

/* Ask for records of `rrtype` (class IN) at `name`. 1: records found,
   *ans_out set; 0: none (the name does not exist, is not a valid domain
   name, or has no such records), *ans_out set; -1: no answer (timeout,
   server failure), errbuf says which and *ans_out is NULL. The caller
   frees the answer with resolver_answer_free(). */
int		 resolver_query(struct resolver *r, const char *name,
		    int rrtype, struct resolver_answer **ans_out,
		    char *errbuf, size_t errlen);
void		 resolver_answer_free(struct resolver_answer **ap);
/* A copy of an answer, to free with resolver_answer_free(). */
struct resolver_answer *resolver_answer_copy(const struct resolver_answer *a);

/* Whether `name` can be written in DNS: labels of 1 to 63 bytes, 253 in
   all, a final dot allowed (RFC 1035 section 2.3.4). */
bool		 resolver_name_ok(const char *name);

/* The character-strings of a TXT rdata joined into one string (RFC 7208
   section 3.3, RFC 6376 section 3.6.2.2); the caller frees it. NULL when
   the rdata is malformed. */
char		*resolver_txt(const unsigned char *rdata, size_t len);
/* The domain name in wire format at rdata[off] (uncompressed) as text,
   without the final dot ("" for the root), in out. 0, or -1 when it is
   malformed or does not fit. */
int		 resolver_name(const unsigned char *rdata, size_t len,
		    size_t off, char *out, size_t outlen);

#endif
