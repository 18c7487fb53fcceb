/*
 * certs.c - certificates by SigningCertURL (see certs.h): a short list of
 * the public keys read or fetched, searched by file name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "fetch.h"
#include "mem.h"
#include "snsmsg.h"
#include "str.h"

#define CERTS_MAX_SIZE	(64 * 1024)

struct cert {
	char		*name;
	EVP_PKEY	*key;
};

struct certs {
	char		*dir;
	struct cert	*v;
	size_t		 n;
	bool		 fetch;
	char		*ca_file;
	char		**connect_to;
	long long	 timeout_ms;
};

struct certs *
certs_new(const struct config *cf)
{
	struct certs	*c = xcalloc(1, sizeof(*c));
	size_t		 n = 0;

	c->dir = xstrdup(cf->feedbackd_cert_dir);
	c->fetch = cf->feedbackd_fetch;
	c->ca_file = xstrdup(cf->feedbackd_fetch_ca_file);
	c->timeout_ms = cf->feedbackd_fetch_timeout_ms;
	while (cf->feedbackd_fetch_connect_to != NULL &&
	    cf->feedbackd_fetch_connect_to[n] != NULL)
		n++;
	c->connect_to = xcalloc(n + 1, sizeof(*c->connect_to));
	for (size_t i = 0; i < n; i++)
		c->connect_to[i] = xstrdup(cf->feedbackd_fetch_connect_to[i]);
	return c;
}

void
certs_free(struct certs **cp)
{
	struct certs *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		EVP_PKEY_free(c->v[i].key);
	}
	free(c->v);
	free(c->dir);
	free(c->ca_file);
	for (size_t i = 0; c->connect_to[i] != NULL; i++)
		free(c->connect_to[i]);
	free(c->connect_to);
	free(c);
}

/* The file name a URL's certificate is stored under: its last path
   segment, letters, digits, '.', '-' and '_' only. */
static int
certs_name(const char *url, char *out, size_t outlen)
{
	const char *slash = strrchr(url, '/');

	if (slash == NULL || slash[1] == '\0' || slash[1] == '.' ||
	    strspn(slash + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
	    "TUVWXYZ0123456789.-_") != strlen(slash + 1))
		return -1;
	return str_copy(out, outlen, slash + 1);
}

/* The PEM text of the certificate: from the directory, else fetched.
   The text (caller frees) and *len_out, or NULL with *why_out. */
static char *
certs_text(struct certs *c, const char *url, const char *name,
    size_t *len_out, enum certs_miss *why_out, char *errbuf, size_t errlen)
{
	char	 path[4096];
	char	*pem;
	size_t	 n;
	FILE	*fp;

	if (str_fmt(path, sizeof(path), "%s/%s", c->dir, name) < 0) {
		snprintf(errbuf, errlen, "certificate path too long");
		*why_out = CERTS_MISSING;
		return NULL;
	}
	fp = fopen(path, "r");
	if (fp == NULL && c->fetch) {
		struct fetch_opts	o = { c->ca_file, c->connect_to,
					    c->timeout_ms };
		struct buf		b = BUF_INIT;

		if (fetch_get(url, &o, CERTS_MAX_SIZE, &b, errbuf,
		    errlen) < 0) {
			buf_free(&b);
			*why_out = CERTS_UNAVAILABLE;
			return NULL;
		}
		*len_out = b.len;
		return b.data != NULL ? b.data : xstrdup("");
	}
	if (fp == NULL) {
		snprintf(errbuf, errlen, "certificate %s: %s", path,
		    strerror(errno));
		*why_out = CERTS_MISSING;
		return NULL;
	}
	pem = xmalloc(CERTS_MAX_SIZE + 1);
	n = fread(pem, 1, CERTS_MAX_SIZE + 1, fp);
	fclose(fp);
	if (n == 0 || n > CERTS_MAX_SIZE) {
		snprintf(errbuf, errlen, "certificate %s: %s", path,
		    n == 0 ? "empty or unreadable" : "larger than 64 KB");
		free(pem);
		*why_out = CERTS_UNUSABLE;
		return NULL;
	}
	*len_out = n;
	return pem;
}

EVP_PKEY *
certs_key(struct certs *c, const char *url, enum certs_miss *why_out,
    char *errbuf, size_t errlen)
{
	char		 name[256];
	char		*pem;
	size_t		 n = 0;
	EVP_PKEY	*key;

	if (certs_name(url, name, sizeof(name)) < 0) {
		snprintf(errbuf, errlen, "no certificate file name in the URL");
		*why_out = CERTS_MISSING;
		return NULL;
	}
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return c->v[i].key;
	pem = certs_text(c, url, name, &n, why_out, errbuf, errlen);
	if (pem == NULL)
		return NULL;
	key = snsmsg_cert_key(pem, n, errbuf, errlen);
	free(pem);
	if (key == NULL) {
		*why_out = CERTS_UNUSABLE;
		return NULL;
	}
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n].name = xstrdup(name);
	c->v[c->n].key = key;
	return c->v[c->n++].key;
}
