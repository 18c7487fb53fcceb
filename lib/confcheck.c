/*
 * confcheck.c - what a configuration names, checked beyond its syntax:
 * each DKIM key file loads as the milter would load it, the files the
 * daemons read can be read and parse, the directories they write exist
 * and can be written, and Redis answers with the decision script loaded.
 * Every problem is listed; nothing stops at the first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "confcheck.h"
#include "dkimkey.h"
#include "store.h"

/* path can be read: a regular file (what says which key names it). */
static int
confcheck_readable(const char *what, const char *path, struct buf *out)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		buf_printf(out, "%s %s: %s\n", what, path, strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_printf(out, "%s %s: not a regular file\n", what, path);
		return 1;
	}
	if (access(path, R_OK) < 0) {
		buf_printf(out, "%s %s: cannot be read: %s\n", what, path,
		    strerror(errno));
		return 1;
	}
	return 0;
}

/* The directory of path (the file itself may not exist yet) exists and
   can be written; if the file exists, it is a regular file that can be
   written. */
static int
confcheck_writable(const char *what, const char *path, struct buf *out)
{
	char		*dir = strdup(path), *slash;
	struct stat	 st;
	int		 bad = 0;

	if (dir == NULL)
		return 0;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		buf_printf(out, "%s %s: the directory %s does not exist\n",
		    what, path, dir);
		bad = 1;
	} else if (access(dir, W_OK | X_OK) < 0) {
		buf_printf(out, "%s %s: the directory %s cannot be written: "
		    "%s\n", what, path, dir, strerror(errno));
		bad = 1;
	} else if (stat(path, &st) == 0 && (!S_ISREG(st.st_mode) ||
	    access(path, W_OK) < 0)) {
		buf_printf(out, "%s %s: not a regular file that can be "
		    "written\n", what, path);
		bad = 1;
	}
	free(dir);
	return bad;
}

static int
confcheck_milter(const struct config *cf, struct buf *out)
{
	int n = 0;

	for (char **l = cf->milter_dkim_keys; l != NULL && *l != NULL; l++) {
		char		 d[256], s[256], p[4096], err[512];
		struct dkimkey	*k;

		/* config.c has checked the form of the line. */
		if (sscanf(*l, "%255s %255s %4095s", d, s, p) != 3)
			continue;
		k = dkimkey_load(p, err, sizeof(err));
		if (k == NULL) {
			buf_printf(out, "[milter] dkim_key %s %s: %s\n", d, s,
			    err);
			n++;
		}
		dkimkey_free(&k);
	}
	n += confcheck_readable("[milter] public_suffix_list",
	    cf->milter_public_suffix_list, out);
	return n;
}

/* The TLS certificate (chain) and key of the SNS listener, and that the
   two belong together. */
static int
confcheck_tls(const struct config *cf, struct buf *out)
{
	FILE		*f;
	X509		*x = NULL;
	EVP_PKEY	*k = NULL;
	int		 bad = 0;

	if (confcheck_readable("[feedbackd] tls_cert_file",
	    cf->feedbackd_tls_cert, out) +
	    confcheck_readable("[feedbackd] tls_key_file",
	    cf->feedbackd_tls_key, out) > 0)
		return 1;
	if ((f = fopen(cf->feedbackd_tls_cert, "r")) != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if ((f = fopen(cf->feedbackd_tls_key, "r")) != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (x == NULL) {
		buf_printf(out, "[feedbackd] tls_cert_file %s: no PEM "
		    "certificate\n", cf->feedbackd_tls_cert);
		bad = 1;
	}
	if (k == NULL) {
		buf_printf(out, "[feedbackd] tls_key_file %s: no PEM private "
		    "key (or one with a pass phrase)\n",
		    cf->feedbackd_tls_key);
		bad = 1;
	}
	if (!bad && X509_check_private_key(x, k) != 1) {
		buf_printf(out, "[feedbackd] tls_key_file %s: not the key of "
		    "the certificate in %s\n", cf->feedbackd_tls_key,
		    cf->feedbackd_tls_cert);
		bad = 1;
	}
	X509_free(x);
	EVP_PKEY_free(k);
	return bad;
}

static int
confcheck_feedbackd(const struct config *cf, struct buf *out)
{
	struct stat	st;
	int		n = 0;

	if (cf->feedbackd_tls_cert[0] != '\0')
		n += confcheck_tls(cf, out);
	if (cf->feedbackd_fetch_ca_file[0] != '\0')
		n += confcheck_readable("[feedbackd] fetch_ca_file",
		    cf->feedbackd_fetch_ca_file, out);
	if (stat(cf->feedbackd_cert_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode) ||
		    access(cf->feedbackd_cert_dir, R_OK | X_OK) < 0) {
			buf_printf(out, "[feedbackd] cert_dir %s: not a "
			    "directory that can be read\n",
			    cf->feedbackd_cert_dir);
			n++;
		}
	} else if (!cf->feedbackd_fetch) {
		buf_printf(out, "[feedbackd] cert_dir %s: %s, and fetch = no: "
		    "no notification could be verified\n",
		    cf->feedbackd_cert_dir, strerror(errno));
		n++;
	}
	n += confcheck_writable("[feedbackd] spool", cf->feedbackd_spool,
	    out);
	return n;
}

static int
confcheck_redis(const struct config *cf, struct buf *out)
{
	char		 err[1024];
	struct store	*st = store_open(cf, err, sizeof(err));
	int		 bad = 0;

	if (st == NULL || store_check_script(st, err, sizeof(err)) < 0) {
		buf_printf(out, "[redis] url: %s\n", err);
		bad = 1;
	}
	store_close(&st);
	return bad;
}

int
confcheck(const struct config *cf, unsigned int parts, struct buf *problems)
{
	int n = 0;

	if (parts & CONFCHECK_MILTER)
		n += confcheck_milter(cf, problems);
	if (parts & CONFCHECK_FEEDBACKD)
		n += confcheck_feedbackd(cf, problems);
	if (parts & CONFCHECK_REDIS)
		n += confcheck_redis(cf, problems);
	return n;
}
