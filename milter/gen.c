/*
 * gen.c - generations of configuration. One mutex guards which
 * generation is current and every reference count; each generation's
 * pool of Redis connections has a mutex of its own, held only to push or
 * pop a connection (commands run outside it).
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "dkimverify.h"
#include "dmarcverify.h"
#include "gen.h"
#include "idcache.h"
#include "log.h"
#include "mem.h"
#include "resolver.h"
#include "rules.h"
#include "store.h"
#include "str.h"

/* Idle Redis connections kept per generation; more are closed when given
   back. Postfix runs at most default_process_limit (100) smtpd processes
   per service, each with one milter connection at a time. */
#define GEN_POOL_MAX	32

struct genpriv {
	int		 refs;
	pthread_mutex_t	 pool_lock;
	struct store	*pool[GEN_POOL_MAX];
	size_t		 npool;
};

static pthread_mutex_t	 gen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gen	*gen_current;

static void
gen_free(struct gen *g)
{
	for (size_t i = 0; i < g->priv->npool; i++)
		store_close(&g->priv->pool[i]);
	pthread_mutex_destroy(&g->priv->pool_lock);
	keyset_free(&g->ks);
	dkimverify_lib_free(&g->dkv);
	rules_free(&g->rules);
	idcache_free(&g->ids);
	resolver_free(&g->res);
	config_free(&g->cf);
	free(g->priv);
	free(g);
}

/* The resolver (keeping prev's answers where its DNS settings are the
   same), the DKIM verifier and the public suffix list of the inbound
   checks. 0, or -1 with errbuf. */
static int
gen_inbound(struct gen *g, const struct gen *prev, char *errbuf,
    size_t errlen)
{
	const struct config *cf = g->cf;

	if (dmarcverify_init(cf->milter_public_suffix_list, errbuf,
	    errlen) < 0)
		return -1;
	g->res = resolver_new(cf->milter_dns_resolver,
	    cf->milter_dns_timeout_ms, cf->milter_dns_cache_size,
	    prev != NULL ? prev->res : NULL, errbuf, errlen);
	if (g->res == NULL)
		return -1;
	g->dkv = dkimverify_lib_new(g->res, errbuf, errlen);
	if (g->dkv == NULL)
		return -1;
	g->rules = rules_new(cf->milter_receipt_rules, errbuf, errlen);
	if (g->rules == NULL)
		return -1;
	if (cf->milter_authserv_id[0] != '\0')
		(void)str_copy(g->authserv, sizeof(g->authserv),
		    cf->milter_authserv_id);
	else if (gethostname(g->authserv, sizeof(g->authserv) - 1) < 0 ||
	    g->authserv[0] == '\0')
		(void)str_copy(g->authserv, sizeof(g->authserv), "localhost");
	return 0;
}

int
gen_install(struct config *cf, char *errbuf, size_t errlen)
{
	struct gen	*g, *old, *prev;
	struct keyset	*ks = keyset_new(cf, errbuf, errlen);
	int		 rc;

	if (ks == NULL) {
		config_free(&cf);
		return -1;
	}
	g = xcalloc(1, sizeof(*g));
	g->priv = xcalloc(1, sizeof(*g->priv));
	g->cf = cf;
	g->ks = ks;
	g->ids = idcache_new(cf->milter_identity_cache_ms);
	pthread_mutex_init(&g->priv->pool_lock, NULL);
	prev = gen_acquire();
	rc = gen_inbound(g, prev, errbuf, errlen);
	gen_release(&prev);
	if (rc < 0) {
		gen_free(g);
		return -1;
	}
	g->priv->refs = 1;		/* being current */
	pthread_mutex_lock(&gen_lock);
	old = gen_current;
	gen_current = g;
	pthread_mutex_unlock(&gen_lock);
	gen_release(&old);
	return 0;
}

struct gen *
gen_acquire(void)
{
	struct gen *g;

	pthread_mutex_lock(&gen_lock);
	g = gen_current;
	if (g != NULL)
		g->priv->refs++;
	pthread_mutex_unlock(&gen_lock);
	return g;
}

void
gen_release(struct gen **gp)
{
	struct gen	*g = *gp;
	bool		 last;

	if (g == NULL)
		return;
	*gp = NULL;
	pthread_mutex_lock(&gen_lock);
	last = --g->priv->refs == 0;
	pthread_mutex_unlock(&gen_lock);
	if (last)
		gen_free(g);
}

void
gen_shutdown(void)
{
	struct gen *g;

	pthread_mutex_lock(&gen_lock);
	g = gen_current;
	gen_current = NULL;
	pthread_mutex_unlock(&gen_lock);
	gen_release(&g);
}

struct store *
gen_store_get(struct gen *g, char *errbuf, size_t errlen)
{
	struct store *st = NULL;

	pthread_mutex_lock(&g->priv->pool_lock);
	if (g->priv->npool > 0)
		st = g->priv->pool[--g->priv->npool];
	pthread_mutex_unlock(&g->priv->pool_lock);
	if (st == NULL)
		st = store_open(g->cf, errbuf, errlen);
	return st;
}

void
gen_store_put(struct gen *g, struct store **stp, bool broken)
{
	struct store *st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	if (!broken) {
		pthread_mutex_lock(&g->priv->pool_lock);
		if (g->priv->npool < GEN_POOL_MAX) {
			g->priv->pool[g->priv->npool++] = st;
			st = NULL;
		}
		pthread_mutex_unlock(&g->priv->pool_lock);
	}
	store_close(&st);
}
