/*
 * certs.h - the certificates SNS signs with, by SigningCertURL: taken from
 * the configured directory of trusted certificates, where each is stored
 * under the last path segment of its URL (for example
 * SimpleNotificationService-<id>.pem), and kept in memory once read. Not
 * thread-safe: one per event loop.
 */
#ifndef SESGATE_CERTS_H
#define SESGATE_CERTS_H

#include <stddef.h>

struct certs;

struct certs	*certs_new(const char *dir);
void		 certs_free(struct certs **cp);

/* The PEM text of the certificate of url (already checked with
   snsmsg_url_ok()), borrowed until certs_free(); its length in *len_out.
   NULL with errbuf when there is none (a name that is not a plain file
   name, no such file, unreadable, over 64 KB). */
const char	*certs_get(struct certs *c, const char *url, size_t *len_out,
		    char *errbuf, size_t errlen);

#endif
