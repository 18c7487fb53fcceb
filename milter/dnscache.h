/*
 * dnscache.h - the answers the resolver had, kept for their TTL in the
 * milter's own memory, so that a question asked again (the same SPF
 * record, DKIM key and DMARC record for every message of a sender) is
 * answered without a trip to libunbound's thread and back. Bounded in
 * bytes, oldest use evicted first. Safe in any milter thread.
 */
#ifndef SESGATE_DNSCACHE_H
#define SESGATE_DNSCACHE_H

#include <stddef.h>

#include "resolver.h"

struct dnscache;

/* A cache holding about max_bytes of answers (0: a cache that keeps
   nothing). */
struct dnscache	*dnscache_new(size_t max_bytes);
/* Another holder of the cache (a resolver of a newer configuration);
   returns c. */
struct dnscache	*dnscache_ref(struct dnscache *c);
/* Let go of it; the last holder frees it and every answer in it. *cp
   becomes NULL. Accepts NULL. */
void		 dnscache_free(struct dnscache **cp);

/* A copy of the answer kept for (name, rrtype) (the name compared without
   regard to case or a final dot) if it is still fresh at now_ms
   (CLOCK_MONOTONIC milliseconds), for the caller to free with
   resolver_answer_free(); else NULL. */
struct resolver_answer *dnscache_get(struct dnscache *c, const char *name,
		    int rrtype, long long now_ms);
/* Keep a copy of ans for (name, rrtype) until now_ms + ttl seconds; a
   ttl of 0, or an answer larger than the cache, is not kept. Replaces
   what was kept for that question. */
void		 dnscache_put(struct dnscache *c, const char *name, int rrtype,
		    const struct resolver_answer *ans, unsigned int ttl,
		    long long now_ms);
/* Answers kept and their bytes, as counted against the bound. */
size_t		 dnscache_count(struct dnscache *c, size_t *bytes_out);

#endif
