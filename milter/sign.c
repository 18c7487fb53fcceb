/*
 * sign.c - DKIM signing with libopendkim. A keyset owns one DKIM_LIB (the
 * header lists and flags are library-wide options in libopendkim, so a
 * reload that changes them builds a new one) and the loaded keys; it is
 * never written after keyset_new() returns, so any number of threads may
 * sign with it. A signer holds the DKIM handles of one message and
 * belongs to that message's thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "buf.h"
#include "dkimkey.h"
#include "hdrfield.h"
#include "keycache.h"
#include "mem.h"
#include "sign.h"
#include "str.h"

struct signkey {
	char		*domain;
	char		*selector;
	char		*path;
	struct dkimkey	*key;
};

struct keyset {
	DKIM_LIB	*lib;
	struct signkey	*keys;
	size_t		 nkeys;
	bool		 dual;
	bool		 subdomains;
	int		 hcanon, bcanon;
};

struct signer {
	DKIM		*dkim[2];
	size_t		 n;
	char		 describe[300];
	struct buf	 hdr;		/* "Name: value" being fed */
};

/* A list option of cf as libopendkim takes it: NULL-terminated, the
   strings borrowed. */
static int
keyset_set_list(DKIM_LIB *lib, int opt, char **list)
{
	static const char *empty[] = { NULL };
	const char **l = list != NULL ? (const char **)list : empty;

	/* The list itself goes as the option's pointer, with the size of
	   a pointer (what opendkim itself passes). */
	return dkim_options(lib, DKIM_OP_SETOPT, opt, (void *)l,
	    sizeof(l)) == DKIM_STAT_OK ? 0 : -1;
}

struct keyset *
keyset_new(const struct config *cf, char *errbuf, size_t errlen)
{
	struct keyset	*ks = xcalloc(1, sizeof(*ks));
	struct buf	 errs = BUF_INIT;
	unsigned int	 flags;
	size_t		 n = 0;

	for (char **l = cf->milter_dkim_keys; l != NULL && *l != NULL; l++)
		n++;
	ks->keys = xcalloc(n + 1, sizeof(*ks->keys));
	ks->dual = cf->milter_dual_sign;
	ks->subdomains = cf->milter_sign_subdomains;
	ks->hcanon = cf->milter_canon.header == CANON_SIMPLE ?
	    DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
	ks->bcanon = cf->milter_canon.body == CANON_SIMPLE ?
	    DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
	for (size_t i = 0; i < n; i++) {
		char	d[256], s[256], p[4096], err[512];
		struct dkimkey *k;

		/* config.c has checked the form of the line. */
		if (sscanf(cf->milter_dkim_keys[i], "%255s %255s %4095s", d,
		    s, p) != 3)
			continue;
		k = dkimkey_load(p, err, sizeof(err));
		if (k == NULL) {
			buf_printf(&errs, "%s\n", err);
			continue;
		}
		ks->keys[ks->nkeys].domain = xstrdup(d);
		ks->keys[ks->nkeys].selector = xstrdup(s);
		ks->keys[ks->nkeys].path = xstrdup(p);
		ks->keys[ks->nkeys++].key = k;
		/* On failure libopendkim parses the key itself. */
		(void)keycache_add(k);
	}
	ks->lib = dkim_init(NULL, NULL);
	if (ks->lib == NULL) {
		buf_puts(&errs, "libopendkim: cannot initialise\n");
	} else {
		/* Postfix hands header values over with bare LF folding;
		   FIXCRLF makes libopendkim canonicalize them as the CRLF
		   they are on the wire. */
		flags = DKIM_LIBFLAGS_FIXCRLF;
		if (dkim_options(ks->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS,
		    &flags, sizeof(flags)) != DKIM_STAT_OK ||
		    keyset_set_list(ks->lib, DKIM_OPTS_SIGNHDRS,
		    cf->milter_sign_headers) < 0 ||
		    keyset_set_list(ks->lib, DKIM_OPTS_OVERSIGNHDRS,
		    cf->milter_oversign_headers) < 0)
			buf_puts(&errs, "libopendkim: cannot set the "
			    "signing options\n");
	}
	if (errs.len > 0) {
		if (errs.data[errs.len - 1] == '\n')
			errs.data[--errs.len] = '\0';
		(void)str_copy(errbuf, errlen, errs.data);
		buf_free(&errs);
		keyset_free(&ks);
		return NULL;
	}
	buf_free(&errs);
	return ks;
}

size_t
keyset_count(const struct keyset *ks)
{
	return ks->nkeys;
}

void
keyset_fix_time(struct keyset *ks, long long t)
{
	uint64_t fixed = (uint64_t)t;

	(void)dkim_options(ks->lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME,
	    &fixed, sizeof(fixed));
}

void
keyset_free(struct keyset **ksp)
{
	struct keyset *ks = *ksp;

	if (ks == NULL)
		return;
	*ksp = NULL;
	for (size_t i = 0; i < ks->nkeys; i++) {
		free(ks->keys[i].domain);
		free(ks->keys[i].selector);
		free(ks->keys[i].path);
		keycache_remove(ks->keys[i].key);
		dkimkey_free(&ks->keys[i].key);
	}
	free(ks->keys);
	if (ks->lib != NULL)
		dkim_close(ks->lib);
	free(ks);
}

/* The keys that sign for exactly `domain`: the last line of each kind,
   so that a new selector added below the old one takes over (rotation).
   Fills pick[DKIMKEY_RSA] and pick[DKIMKEY_ED25519]; false if none. */
static bool
keyset_pick(const struct keyset *ks, const char *domain,
    const struct signkey *pick[2])
{
	pick[0] = pick[1] = NULL;
	for (size_t i = 0; i < ks->nkeys; i++)
		if (strcmp(ks->keys[i].domain, domain) == 0)
			pick[ks->keys[i].key->alg == DKIMKEY_RSA ? 0 : 1] =
			    &ks->keys[i];
	return pick[0] != NULL || pick[1] != NULL;
}

struct signer *
signer_new(const struct keyset *ks, const char *domain, const char *qid,
    char *errbuf, size_t errlen)
{
	const struct signkey	*pick[2], *use[2];
	const char		*d = domain;
	struct signer		*s;
	size_t			 n = 0, off = 0;

	*errbuf = '\0';
	while (!keyset_pick(ks, d, pick)) {
		const char *dot = strchr(d, '.');

		/* A parent has at least two labels: never a bare TLD. */
		if (!ks->subdomains || dot == NULL ||
		    strchr(dot + 1, '.') == NULL)
			return NULL;
		d = dot + 1;
	}
	/* One signature unless asked for two: SES lets a message carry one
	   DKIM-Signature before adding its own. RSA first, as every
	   verifier knows it. */
	if (pick[0] != NULL)
		use[n++] = pick[0];
	if (pick[1] != NULL && (n == 0 || ks->dual))
		use[n++] = pick[1];
	s = xcalloc(1, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		const struct dkimkey	*k = use[i]->key;
		DKIM_STAT		 st;

		/* XXX libopendkim 2.11's Ed25519 signatures over "simple"
		   canonicalized header fields do not verify (independent
		   verifiers disagree with its header hash), so Ed25519 signs
		   the header relaxed whatever is configured; the proper fix
		   is in libopendkim's Ed25519 path. */
		int hcanon = k->alg == DKIMKEY_ED25519 ? DKIM_CANON_RELAXED :
		    ks->hcanon;

		s->dkim[i] = dkim_sign(ks->lib, (const unsigned char *)(
		    qid != NULL && *qid != '\0' ? qid : "NOQUEUE"), NULL,
		    (dkim_sigkey_t)k->secret,
		    (const unsigned char *)use[i]->selector,
		    (const unsigned char *)use[i]->domain, hcanon,
		    ks->bcanon, k->alg == DKIMKEY_RSA ? DKIM_SIGN_RSASHA256 :
		    DKIM_SIGN_ED25519SHA256, -1, &st);
		if (s->dkim[i] == NULL) {
			snprintf(errbuf, errlen, "libopendkim: cannot sign "
			    "with %s: %s", use[i]->path,
			    dkim_getresultstr(st));
			signer_free(&s);
			return NULL;
		}
		s->n++;
		off += (size_t)snprintf(s->describe + off,
		    sizeof(s->describe) - off, "%sd=%s s=%s a=%s",
		    i ? ", " : "", use[i]->domain, use[i]->selector,
		    k->alg == DKIMKEY_RSA ? "rsa-sha256" : "ed25519-sha256");
		if (off >= sizeof(s->describe))
			off = sizeof(s->describe) - 1;
	}
	return s;
}

const char *
signer_describe(const struct signer *s)
{
	return s->describe;
}

/* dkim_*() of every handle; -1 and errbuf at the first failure. */
static int
signer_check(struct signer *s, DKIM_STAT st, size_t i, const char *what,
    char *errbuf, size_t errlen)
{
	const char *e;

	if (st == DKIM_STAT_OK)
		return 0;
	e = dkim_geterror(s->dkim[i]);
	snprintf(errbuf, errlen, "libopendkim: %s: %s%s%s", what,
	    dkim_getresultstr(st), e != NULL ? ": " : "", e != NULL ? e : "");
	return -1;
}

int
signer_header(struct signer *s, const char *name, const char *value,
    bool lead_space, char *errbuf, size_t errlen)
{
	hdrfield_build(&s->hdr, name, value, lead_space);
	for (size_t i = 0; i < s->n; i++)
		if (signer_check(s, dkim_header(s->dkim[i],
		    (u_char *)s->hdr.data, s->hdr.len), i, "header", errbuf,
		    errlen) < 0)
			return -1;
	return 0;
}

int
signer_eoh(struct signer *s, char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < s->n; i++)
		if (signer_check(s, dkim_eoh(s->dkim[i]), i, "end of header",
		    errbuf, errlen) < 0)
			return -1;
	return 0;
}

int
signer_body(struct signer *s, const unsigned char *p, size_t n,
    char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < s->n; i++)
		if (signer_check(s, dkim_body(s->dkim[i], (u_char *)p, n), i,
		    "body", errbuf, errlen) < 0)
			return -1;
	return 0;
}

int
signer_eom(struct signer *s, char **sigs_out, char *errbuf, size_t errlen)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		u_char	*hdr = NULL;
		size_t	 len = 0;

		sigs_out[i] = NULL;
		if (signer_check(s, dkim_eom(s->dkim[i], NULL), i,
		    "end of message", errbuf, errlen) < 0 ||
		    signer_check(s, dkim_getsighdr_d(s->dkim[i],
		    sizeof("DKIM-Signature: ") - 1, &hdr, &len), i,
		    "signature", errbuf, errlen) < 0) {
			while (i-- > 0)
				free(sigs_out[i]);
			return -1;
		}
		/* The buffer belongs to the handle: copy it out, folded with
		   LF alone, as the milter protocol carries header values (the
		   MTA writes CRLF; a CR left in would reach the wire as a
		   stray character and break the signature). */
		sigs_out[i] = xmalloc(len + 1);
		{
			size_t o = 0;

			for (size_t k = 0; k < len; k++)
				if (!(hdr[k] == '\r' && k + 1 < len &&
				    hdr[k + 1] == '\n'))
					sigs_out[i][o++] = (char)hdr[k];
			sigs_out[i][o] = '\0';
		}
	}
	return (int)i;
}

/* XXX Debian 12's libopendkim (2.11.0~beta2) does not free the key state
   of an Ed25519 handle in dkim_free(). The key itself is the cached one
   (keycache.c hands it out without a reference for that reason), but
   the 64-byte signature buffer of each message signed with Ed25519 is
   lost (RSA is not affected). The fix belongs in libopendkim (dkim_free()
   freeing the signature buffer of the Ed25519 path); until then
   sesgate-milter(8) says to restart a milter that signs much with
   Ed25519 now and then, and the sanitizer run of the tests suppresses
   that one leak (tests/lsan.supp). */
void
signer_free(struct signer **sp)
{
	struct signer *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	for (size_t i = 0; i < 2; i++)
		if (s->dkim[i] != NULL)
			dkim_free(s->dkim[i]);
	buf_free(&s->hdr);
	free(s);
}
