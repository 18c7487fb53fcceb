/*
 * certs.h - the certificates SNS signs with, by SigningCertURL: taken from
 * the configured directory of trusted certificates, where each is stored
 * under the last path segment of its URL (for example
 * SimpleNotificationService-<id>.pem), its key decoded once and kept. Not
 * thread-safe: one per event loop.
 */
#ifndef SESGATE_CERTS_H
#define SESGATE_CERTS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

struct certs;

struct certs	*certs_new(const char *dir);
void		 certs_free(struct certs **cp);

/* The public key of the certificate of url (already checked with
   snsmsg_url_ok()), decoded once and borrowed until certs_free(). NULL
   with errbuf when there is none (a name that is not a plain file name,
   no such file, unreadable, over 64 KB; *unusable_out false) or it
   cannot be read as a certificate (*unusable_out true). */
EVP_PKEY	*certs_key(struct certs *c, const char *url, bool *unusable_out,
		    char *errbuf, size_t errlen);

#endif
