/*
 * gen.h - the configuration the milter runs with, as one generation: the
 * parsed sesgate.conf, the DKIM keys it names, a pool of Redis
 * connections, and the DNS resolver, DKIM verifier and receipt rules of
 * the inbound checks. A reload (SIGUSR1) builds a new generation and
 * makes it current; connections keep the one they started with until
 * they close, and a generation is freed with its last user. Thread-safe.
 */
#ifndef SESGATE_GEN_H
#define SESGATE_GEN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "sign.h"

struct dkimverify_lib;
struct idcache;
struct resolver;
struct rules;
struct store;

struct gen {
	struct config	*cf;
	struct keyset	*ks;
	/* Inbound checks: the caching resolver, the DKIM verifier and the
	   authserv-id of Authentication-Results. */
	struct resolver	*res;
	struct dkimverify_lib *dkv;
	struct rules	*rules;		/* receipt rules */
	struct idcache	*ids;		/* verified From addresses seen */
	char		 authserv[256];
	/* The rest is gen.c's. */
	struct genpriv	*priv;
};

/* Build a generation from cf (taken over: freed on failure too) and make
   it current. 0, or -1 with every problem in errbuf (keys named); the
   current generation is then left in place. */
int		 gen_install(struct config *cf, char *errbuf, size_t errlen);
/* The current generation, with a reference the caller gives back with
   gen_release(). NULL before the first gen_install(). */
struct gen	*gen_acquire(void);
/* Drop a reference; *gp becomes NULL. Accepts NULL. */
void		 gen_release(struct gen **gp);
/* Drop the current generation (at exit). */
void		 gen_shutdown(void);

/* A Redis connection of g's pool, or a new one; NULL with errbuf when
   Redis cannot be reached. Give it back with gen_store_put(). */
struct store	*gen_store_get(struct gen *g, char *errbuf, size_t errlen);
/* Return st to the pool, or close it when `broken` (a command on it
   failed); *stp becomes NULL. */
void		 gen_store_put(struct gen *g, struct store **stp, bool broken);

#endif
