/*
 * fetch.h - HTTPS GETs to SNS hosts with libcurl: confirming a
 * subscription (its SubscribeURL) and fetching a signing certificate (its
 * SigningCertURL). https only, no redirects, the server's certificate
 * verified, bounded in time and size. Blocking; call fetch_init() once
 * before any thread starts.
 */
#ifndef SESGATE_FETCH_H
#define SESGATE_FETCH_H

#include <stddef.h>

#include "buf.h"

/* How to reach SNS: a CA bundle other than the system's ("" for the
   system's), libcurl CONNECT_TO entries ("HOST:PORT:HOST2:PORT2", to
   reach a host through another address: a proxy, a mirror, a test
   server; NULL or empty for none), the time limit. */
struct fetch_opts {
	const char	*ca_file;
	char		**connect_to;
	long long	 timeout_ms;
};

/* Set up libcurl for the process, and release it at the end. 0, or -1. */
int	fetch_init(void);
void	fetch_cleanup(void);

/* GET url (checked with snsmsg_url_ok() already) into out, at most max
   bytes. 0, or -1 with errbuf (no connection, TLS failure, a status other
   than 200, too large, timeout). */
int	fetch_get(const char *url, const struct fetch_opts *o, size_t max,
	    struct buf *out, char *errbuf, size_t errlen);

#endif
