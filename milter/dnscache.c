/*
 * dnscache.c - answers kept for their TTL (see dnscache.h): a hash table
 * of (name, type) with a list in order of last use, under one mutex held
 * only to look up, link or unlink; answers are copied outside it where
 * they can be. Safe in any milter thread.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnscache.h"
#include "mem.h"

struct dnscache_entry {
	struct dnscache_entry	*hnext;		/* same bucket */
	struct dnscache_entry	*newer, *older;	/* by last use */
	struct resolver_answer	*ans;
	long long		 expires_ms;
	size_t			 bytes;
	uint32_t		 hash;
	int			 rrtype;
	char			 name[];	/* lower case, no final dot */
};

struct dnscache {
	pthread_mutex_t		 lock;
	struct dnscache_entry	**bucket;
	size_t			 nbucket;	/* a power of two */
	struct dnscache_entry	*newest, *oldest;
	size_t			 count, bytes, max_bytes;
	int			 refs;		/* under lock */
};

/* About the size of a small answer with its entry: one bucket each. */
#define DNSCACHE_BYTES_PER_BUCKET	256

struct dnscache *
dnscache_new(size_t max_bytes)
{
	struct dnscache	*c = xcalloc(1, sizeof(*c));
	size_t		 want = max_bytes / DNSCACHE_BYTES_PER_BUCKET;

	c->nbucket = 64;
	while (c->nbucket < want && c->nbucket < 65536)
		c->nbucket *= 2;
	c->bucket = xcalloc(c->nbucket, sizeof(*c->bucket));
	c->max_bytes = max_bytes;
	c->refs = 1;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

struct dnscache *
dnscache_ref(struct dnscache *c)
{
	pthread_mutex_lock(&c->lock);
	c->refs++;
	pthread_mutex_unlock(&c->lock);
	return c;
}

static void
dnscache_entry_free(struct dnscache_entry *e)
{
	resolver_answer_free(&e->ans);
	free(e);
}

void
dnscache_free(struct dnscache **cp)
{
	struct dnscache	*c = *cp;
	int		 refs;

	if (c == NULL)
		return;
	*cp = NULL;
	pthread_mutex_lock(&c->lock);
	refs = --c->refs;
	pthread_mutex_unlock(&c->lock);
	if (refs > 0)
		return;
	while (c->newest != NULL) {
		struct dnscache_entry *e = c->newest;

		c->newest = e->older;
		dnscache_entry_free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->bucket);
	free(c);
}

/* The key of a name: lower case, no final dot, in out (at least 254
   bytes). 0, or -1 for a name too long to be one. */
static int
dnscache_key(const char *name, char *out, size_t outlen, uint32_t *hash_out,
    int rrtype)
{
	size_t		 n = strlen(name);
	uint32_t	 h = 2166136261u;	/* FNV-1a */

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		out[i] = (char)tolower((unsigned char)name[i]);
		h = (h ^ (unsigned char)out[i]) * 16777619u;
	}
	out[n] = '\0';
	*hash_out = (h ^ (uint32_t)rrtype) * 16777619u;
	return 0;
}

static struct dnscache_entry **
dnscache_find(struct dnscache *c, const char *key, uint32_t hash,
    int rrtype)
{
	struct dnscache_entry **ep = &c->bucket[hash & (c->nbucket - 1)];

	for (; *ep != NULL; ep = &(*ep)->hnext)
		if ((*ep)->hash == hash && (*ep)->rrtype == rrtype &&
		    strcmp((*ep)->name, key) == 0)
			break;
	return ep;
}

static void
dnscache_unlist(struct dnscache *c, struct dnscache_entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
dnscache_list_first(struct dnscache *c, struct dnscache_entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest != NULL)
		c->newest->newer = e;
	c->newest = e;
	if (c->oldest == NULL)
		c->oldest = e;
}

/* Unlink the entry *ep points at from the table and the list. */
static struct dnscache_entry *
dnscache_remove(struct dnscache *c, struct dnscache_entry **ep)
{
	struct dnscache_entry *e = *ep;

	*ep = e->hnext;
	dnscache_unlist(c, e);
	c->count--;
	c->bytes -= e->bytes;
	return e;
}

struct resolver_answer *
dnscache_get(struct dnscache *c, const char *name, int rrtype,
    long long now_ms)
{
	struct dnscache_entry	**ep, *gone = NULL;
	struct resolver_answer	*copy = NULL;
	char			  key[256];
	uint32_t		  hash;

	if (dnscache_key(name, key, sizeof(key), &hash, rrtype) < 0)
		return NULL;
	pthread_mutex_lock(&c->lock);
	ep = dnscache_find(c, key, hash, rrtype);
	if (*ep != NULL && (*ep)->expires_ms <= now_ms) {
		gone = dnscache_remove(c, ep);
	} else if (*ep != NULL) {
		dnscache_unlist(c, *ep);
		dnscache_list_first(c, *ep);
		copy = resolver_answer_copy((*ep)->ans);
	}
	pthread_mutex_unlock(&c->lock);
	if (gone != NULL)
		dnscache_entry_free(gone);
	return copy;
}

static size_t
dnscache_answer_bytes(const struct resolver_answer *a)
{
	size_t n = sizeof(*a) + a->packetlen +
	    (a->n + 1) * (sizeof(*a->rr) + sizeof(*a->rrlen));

	for (size_t i = 0; i < a->n; i++)
		n += a->rrlen[i] + 1;
	return n;
}

void
dnscache_put(struct dnscache *c, const char *name, int rrtype,
    const struct resolver_answer *ans, unsigned int ttl, long long now_ms)
{
	struct dnscache_entry	**ep, *e, *gone = NULL;
	char			  key[256];
	uint32_t		  hash;
	size_t			  klen;

	if (ttl == 0 || dnscache_key(name, key, sizeof(key), &hash,
	    rrtype) < 0)
		return;
	klen = strlen(key);
	e = xmalloc(sizeof(*e) + klen + 1);
	memcpy(e->name, key, klen + 1);
	e->hash = hash;
	e->rrtype = rrtype;
	e->expires_ms = now_ms + (long long)ttl * 1000;
	e->newer = e->older = e->hnext = NULL;
	e->bytes = sizeof(*e) + klen + 1 + dnscache_answer_bytes(ans);
	if (e->bytes > c->max_bytes) {
		free(e);
		return;
	}
	e->ans = resolver_answer_copy(ans);
	pthread_mutex_lock(&c->lock);
	ep = dnscache_find(c, key, hash, rrtype);
	if (*ep != NULL) {
		struct dnscache_entry *old = dnscache_remove(c, ep);

		old->hnext = gone;
		gone = old;
	}
	e->hnext = c->bucket[hash & (c->nbucket - 1)];
	c->bucket[hash & (c->nbucket - 1)] = e;
	dnscache_list_first(c, e);
	c->count++;
	c->bytes += e->bytes;
	while (c->bytes > c->max_bytes) {
		struct dnscache_entry *old = c->oldest;

		ep = dnscache_find(c, old->name, old->hash, old->rrtype);
		(void)dnscache_remove(c, ep);
		old->hnext = gone;
		gone = old;
	}
	pthread_mutex_unlock(&c->lock);
	while (gone != NULL) {
		e = gone->hnext;
		dnscache_entry_free(gone);
		gone = e;
	}
}

size_t
dnscache_count(struct dnscache *c, size_t *bytes_out)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	if (bytes_out != NULL)
		*bytes_out = c->bytes;
	pthread_mutex_unlock(&c->lock);
	return n;
}
