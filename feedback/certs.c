/*
 * certs.c - certificates by SigningCertURL (see certs.h): a short list of
 * the public keys read, searched by file name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
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
};

struct certs *
certs_new(const char *dir)
{
	struct certs *c = xcalloc(1, sizeof(*c));

	c->dir = xstrdup(dir);
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

EVP_PKEY *
certs_key(struct certs *c, const char *url, bool *unusable_out,
    char *errbuf, size_t errlen)
{
	char		 name[256], path[4096];
	char		*pem;
	size_t		 n;
	FILE		*fp;
	EVP_PKEY	*key;

	*unusable_out = false;
	if (certs_name(url, name, sizeof(name)) < 0) {
		snprintf(errbuf, errlen, "no certificate file name in the URL");
		return NULL;
	}
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return c->v[i].key;
	if (str_fmt(path, sizeof(path), "%s/%s", c->dir, name) < 0) {
		snprintf(errbuf, errlen, "certificate path too long");
		return NULL;
	}
	fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(errbuf, errlen, "certificate %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	pem = xmalloc(CERTS_MAX_SIZE + 1);
	n = fread(pem, 1, CERTS_MAX_SIZE + 1, fp);
	fclose(fp);
	if (n == 0 || n > CERTS_MAX_SIZE) {
		snprintf(errbuf, errlen, "certificate %s: %s", path,
		    n == 0 ? "empty or unreadable" : "larger than 64 KB");
		free(pem);
		return NULL;
	}
	key = snsmsg_cert_key(pem, n, errbuf, errlen);
	free(pem);
	if (key == NULL) {
		*unusable_out = true;
		return NULL;
	}
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n].name = xstrdup(name);
	c->v[c->n].key = key;
	return c->v[c->n++].key;
}
