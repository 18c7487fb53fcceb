/*
 * keycache.c - the parsed private keys (see keycache.h). A short list
 * under one mutex, changed on start and reload, read once per signature.
 *
 * A cache hit returns the cached key with its reference count raised, so
 * the values OpenSSL computes on a key's first use (RSA blinding and
 * Montgomery forms) serve every later signature. libopendkim frees an RSA
 * key after the signature. Up to 2.11 (Debian 12's) it never frees an
 * Ed25519 one (see sign.c): with those versions an Ed25519 key is handed
 * out without a new reference, so that the count stays one and
 * keycache_remove() frees the key; with a later version, which may free
 * it, the reference is raised as for RSA. keycache_remove() runs only
 * once no message of the key set is left, and a newer key set with the
 * same key has its own entry, found first. Since a key handed out without
 * a reference must never be freed by its taker, everything of ours that
 * parses a key calls the _ex form, which the cache does not serve.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <opendkim/dkim.h>

#include "keycache.h"
#include "mem.h"

struct keycache_entry {
	const struct dkimkey	*key;
	EVP_PKEY		*pkey;
	struct keycache_entry	*next;
};

/* The last libopendkim version known never to free an Ed25519 key. */
#define KEYCACHE_ED25519_KEPT	0x020B0000

static pthread_mutex_t		 keycache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct keycache_entry	*keycache_list;

int
keycache_add(const struct dkimkey *k)
{
	struct keycache_entry	*e;
	EVP_PKEY		*pkey;
	BIO			*bio;

	bio = BIO_new_mem_buf(k->secret, (int)k->secretlen);
	if (bio == NULL)
		return -1;
	pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, NULL, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return -1;
	e = xcalloc(1, sizeof(*e));
	e->key = k;
	e->pkey = pkey;
	pthread_mutex_lock(&keycache_lock);
	e->next = keycache_list;
	keycache_list = e;
	pthread_mutex_unlock(&keycache_lock);
	return 0;
}

void
keycache_remove(const struct dkimkey *k)
{
	struct keycache_entry **ep, *e = NULL;

	pthread_mutex_lock(&keycache_lock);
	for (ep = &keycache_list; *ep != NULL; ep = &(*ep)->next) {
		if ((*ep)->key == k) {
			e = *ep;
			*ep = e->next;
			break;
		}
	}
	pthread_mutex_unlock(&keycache_lock);
	if (e != NULL) {
		EVP_PKEY_free(e->pkey);
		free(e);
	}
}

/* The cached key whose PEM text is data[0..n), as the caller may keep and
   free it; NULL if there is none. */
static EVP_PKEY *
keycache_find(const char *data, size_t n)
{
	EVP_PKEY *pkey = NULL;

	pthread_mutex_lock(&keycache_lock);
	for (struct keycache_entry *e = keycache_list; e != NULL;
	    e = e->next) {
		if (e->key->secretlen != n ||
		    memcmp(e->key->secret, data, n) != 0)
			continue;
		if ((e->key->alg == DKIMKEY_ED25519 &&
		    dkim_libversion() <= KEYCACHE_ED25519_KEPT) ||
		    EVP_PKEY_up_ref(e->pkey) == 1)
			pkey = e->pkey;
		break;
	}
	pthread_mutex_unlock(&keycache_lock);
	return pkey;
}

/* Takes the place of OpenSSL's function of that name for the whole
   process; what the cache does not hold goes to OpenSSL's _ex form,
   which the plain one calls too. */
EVP_PKEY *
PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
	EVP_PKEY	*pkey;
	char		*data;
	long		 n;

	if (x == NULL && bp != NULL && BIO_method_type(bp) == BIO_TYPE_MEM &&
	    (n = BIO_get_mem_data(bp, &data)) > 0 &&
	    (pkey = keycache_find(data, (size_t)n)) != NULL)
		return pkey;
	return PEM_read_bio_PrivateKey_ex(bp, x, cb, u, NULL, NULL);
}
