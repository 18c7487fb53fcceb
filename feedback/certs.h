/*
 * certs.h - the certificates SNS signs with, by SigningCertURL: taken from
 * the configured directory of trusted certificates, where each is stored
 * under the last path segment of its URL (for example
 * SimpleNotificationService-<id>.pem), or fetched from the URL over HTTPS
 * when it is not there; its key decoded once and kept. Not
 * thread-safe: one per event loop.
 */
#ifndef SESGATE_CERTS_H
#define SESGATE_CERTS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "config.h"

struct certs;

/* Why certs_key() found no key. */
enum certs_miss {
	CERTS_MISSING,		/* not in the directory, fetching is off */
	CERTS_UNUSABLE,		/* not a certificate OpenSSL can read */
	CERTS_UNAVAILABLE,	/* fetching it failed; may work later */
};

/* The certificates of cf's cert_dir, and fetched ones when cf's fetch is
   on (cf's fetch settings are copied). */
struct certs	*certs_new(const struct config *cf);
void		 certs_free(struct certs **cp);

/* The public key of the certificate of url (already checked with
   snsmsg_url_ok()): from the directory under its file name, else (with
   fetch on) fetched from url over HTTPS; decoded once and borrowed until
   certs_free(). NULL with errbuf and *why_out when there is none. */
EVP_PKEY	*certs_key(struct certs *c, const char *url,
		    enum certs_miss *why_out, char *errbuf, size_t errlen);

#endif
