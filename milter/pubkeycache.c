/*
 * pubkeycache.c - decoded DKIM public keys (see pubkeycache.h): a ring of
 * PUBKEYCACHE_MAX entries under one mutex, each the DER bytes and the key
 * OpenSSL made of them. A hit hands out another reference to the key;
 * concurrent verifications with one key are fine in OpenSSL 3, and the
 * values computed on its first use (the legacy RSA form libopendkim asks
 * for, Montgomery forms) serve every later message.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mem.h"
#include "pubkeycache.h"

struct pubkeycache_entry {
	unsigned char	*der;
	size_t		 len;
	EVP_PKEY	*pkey;
};

static pthread_mutex_t		 pubkeycache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pubkeycache_entry	 pubkeycache_ring[PUBKEYCACHE_MAX];
static size_t			 pubkeycache_next;

/* Another reference to the key of der[0..len), or NULL. */
static EVP_PKEY *
pubkeycache_find(const unsigned char *der, size_t len)
{
	EVP_PKEY *pkey = NULL;

	pthread_mutex_lock(&pubkeycache_lock);
	for (size_t i = 0; i < PUBKEYCACHE_MAX; i++) {
		struct pubkeycache_entry *e = &pubkeycache_ring[i];

		if (e->pkey == NULL || e->len != len ||
		    memcmp(e->der, der, len) != 0)
			continue;
		if (EVP_PKEY_up_ref(e->pkey) == 1)
			pkey = e->pkey;
		break;
	}
	pthread_mutex_unlock(&pubkeycache_lock);
	return pkey;
}

/* Keep a reference to pkey, made of der[0..len). */
static void
pubkeycache_add(const unsigned char *der, size_t len, EVP_PKEY *pkey)
{
	struct pubkeycache_entry	*e, old;

	if (EVP_PKEY_up_ref(pkey) != 1)
		return;
	pthread_mutex_lock(&pubkeycache_lock);
	e = &pubkeycache_ring[pubkeycache_next];
	pubkeycache_next = (pubkeycache_next + 1) % PUBKEYCACHE_MAX;
	old = *e;
	e->der = xmalloc(len);
	memcpy(e->der, der, len);
	e->len = len;
	e->pkey = pkey;
	pthread_mutex_unlock(&pubkeycache_lock);
	free(old.der);
	EVP_PKEY_free(old.pkey);
}

/* OpenSSL's own function, for what the cache does not handle. */
static EVP_PKEY			*(*pubkeycache_real)(BIO *, EVP_PKEY **);
static pthread_once_t		 pubkeycache_once = PTHREAD_ONCE_INIT;

static void
pubkeycache_resolve(void)
{
	*(void **)&pubkeycache_real = dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
}

static EVP_PKEY *
pubkeycache_openssl(BIO *bp, EVP_PKEY **a)
{
	pthread_once(&pubkeycache_once, pubkeycache_resolve);
	return pubkeycache_real != NULL ? pubkeycache_real(bp, a) : NULL;
}

/* Takes the place of OpenSSL's function of that name for the whole
   process. Only a memory BIO with no key to fill (libopendkim's call) is
   cached; anything else goes to OpenSSL. */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	EVP_PKEY		*pkey;
	char			*data;
	const unsigned char	*p;
	long			 n;

	if (a != NULL || bp == NULL || BIO_method_type(bp) != BIO_TYPE_MEM ||
	    (n = BIO_get_mem_data(bp, &data)) <= 0)
		return pubkeycache_openssl(bp, a);
	pkey = pubkeycache_find((const unsigned char *)data, (size_t)n);
	if (pkey != NULL)
		return pkey;
	p = (const unsigned char *)data;
	pkey = d2i_PUBKEY_ex(NULL, &p, n, NULL, NULL);
	if (pkey != NULL)
		pubkeycache_add((const unsigned char *)data, (size_t)n, pkey);
	return pkey;
}
