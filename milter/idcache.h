/*
 * idcache.h - the milter's memory of header From addresses found to be
 * verified identities: a "yes" from Redis is kept for [milter]
 * identity_cache (5 s by default), so that a sender's next messages in
 * that time need no Redis round trip. Only "yes" is kept: an identity
 * added takes effect at once, one removed within that time. Bounded
 * (IDCACHE_MAX addresses; when full, the expired ones go, or all).
 * Thread-safe.
 */
#ifndef SESGATE_IDCACHE_H
#define SESGATE_IDCACHE_H

#include <stdbool.h>
#include <stddef.h>

#define IDCACHE_MAX	4096

struct idcache;

/* A cache keeping answers ttl_ms milliseconds; NULL when ttl_ms is 0 (the
   functions below accept NULL: nothing is kept). */
struct idcache	*idcache_new(long long ttl_ms);
void		 idcache_free(struct idcache **cp);
/* True when addr was found verified less than ttl_ms before now_ms
   (monotime_ms()). */
bool		 idcache_verified(struct idcache *c, const char *addr,
		    long long now_ms);
/* Remember that addr was found verified at now_ms. */
void		 idcache_put(struct idcache *c, const char *addr,
		    long long now_ms);
/* Addresses held (for the tests). */
size_t		 idcache_count(struct idcache *c);

#endif
