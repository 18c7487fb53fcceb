/*
 * idcache.c - verified header From addresses kept for a while (see
 * idcache.h): a hash table of addresses with the time each was found
 * verified, under one mutex.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idcache.h"
#include "mem.h"

struct idcache_entry {
	struct idcache_entry	*next;		/* same bucket */
	long long		 seen_ms;
	uint32_t		 hash;
	char			 addr[];
};

/* Twice IDCACHE_MAX buckets: short chains at the most. */
#define IDCACHE_BUCKETS	(2 * IDCACHE_MAX)

struct idcache {
	pthread_mutex_t		 lock;
	long long		 ttl_ms;
	size_t			 count;
	struct idcache_entry	*bucket[IDCACHE_BUCKETS];
};

struct idcache *
idcache_new(long long ttl_ms)
{
	struct idcache *c;

	if (ttl_ms <= 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->ttl_ms = ttl_ms;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

/* Drop the entries seen before `older_than` (all, with INT64_MAX).
   Under the lock. */
static void
idcache_drop(struct idcache *c, long long older_than)
{
	for (size_t i = 0; i < IDCACHE_BUCKETS; i++) {
		struct idcache_entry **ep = &c->bucket[i];

		while (*ep != NULL) {
			struct idcache_entry *e = *ep;

			if (e->seen_ms < older_than) {
				*ep = e->next;
				free(e);
				c->count--;
			} else {
				ep = &e->next;
			}
		}
	}
}

void
idcache_free(struct idcache **cp)
{
	struct idcache *c = *cp;

	if (c == NULL)
		return;
	idcache_drop(c, INT64_MAX);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}

/* FNV-1a. */
static uint32_t
idcache_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The entry for addr, or NULL. Under the lock. */
static struct idcache_entry *
idcache_find(struct idcache *c, const char *addr, uint32_t hash)
{
	struct idcache_entry *e = c->bucket[hash % IDCACHE_BUCKETS];

	for (; e != NULL; e = e->next)
		if (e->hash == hash && strcmp(e->addr, addr) == 0)
			return e;
	return NULL;
}

bool
idcache_verified(struct idcache *c, const char *addr, long long now_ms)
{
	struct idcache_entry	*e;
	uint32_t		 hash;
	bool			 yes;

	if (c == NULL)
		return false;
	hash = idcache_hash(addr);
	pthread_mutex_lock(&c->lock);
	e = idcache_find(c, addr, hash);
	yes = e != NULL && now_ms - e->seen_ms < c->ttl_ms &&
	    now_ms >= e->seen_ms;
	pthread_mutex_unlock(&c->lock);
	return yes;
}

void
idcache_put(struct idcache *c, const char *addr, long long now_ms)
{
	struct idcache_entry	*e;
	uint32_t		 hash;
	size_t			 len;

	if (c == NULL)
		return;
	hash = idcache_hash(addr);
	len = strlen(addr);
	pthread_mutex_lock(&c->lock);
	e = idcache_find(c, addr, hash);
	if (e != NULL) {
		e->seen_ms = now_ms;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (c->count >= IDCACHE_MAX)
		idcache_drop(c, now_ms - c->ttl_ms + 1);
	if (c->count >= IDCACHE_MAX)
		idcache_drop(c, INT64_MAX);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->addr, addr, len + 1);
	e->seen_ms = now_ms;
	e->hash = hash;
	e->next = c->bucket[hash % IDCACHE_BUCKETS];
	c->bucket[hash % IDCACHE_BUCKETS] = e;
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

size_t
idcache_count(struct idcache *c)
{
	size_t n;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}
