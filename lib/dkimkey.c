/*
 * dkimkey.c - DKIM private keys: read and check a PEM file, create one,
 * and derive the public TXT record. libcrypto (OpenSSL 3) does the
 * cryptography. No static state; the OpenSSL calls used here are safe in
 * any thread and its error queue is per thread.
 *
 * What libopendkim 2.11 (Debian 12's 2.11.0~beta2) takes as dkim_sign()'s
 * `secretkey`, read from its source (libopendkim/dkim.c) and confirmed by
 * signing with each key type and verifying the result with dkimpy:
 * - dkim_sign() copies the key with strlen(), so it is NUL-terminated
 *   text, except that text starting "MII" is base64-decoded as DER;
 * - at dkim_eom(), dkim_privkey_load() parses what starts "-----" with
 *   PEM_read_bio_PrivateKey() and anything else with d2i_PrivateKey_bio().
 * PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY") thus works for
 * RSA and Ed25519 alike, base64 DER for RSA only: an Ed25519 key's DER is
 * 48 bytes, its base64 starts "MC4C", and the library hands that text to
 * d2i_PrivateKey_bio(), which fails. So `secret` is always PKCS#8 PEM,
 * written anew from the parsed key whatever form the file had.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "buf.h"
#include "dkimkey.h"
#include "mem.h"
#include "str.h"

/* A 4096-bit RSA key is about 3.3 kB of PEM; anything much larger is not
   a key file. */
#define DKIMKEY_MAX_FILE	(64 * 1024)
#define DKIMKEY_ED25519_LEN	32

const char *
dkimkey_alg_name(enum dkimkey_alg alg)
{
	return alg == DKIMKEY_ED25519 ? "ed25519" : "rsa";
}

/* OpenSSL's pass phrase callback: there is no one to ask, so note that a
   pass phrase was wanted and refuse. */
static int
dkimkey_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

/* The file's bytes, NUL-terminated, into *data_out (wipe and free) and
   *len_out. 0, or -1 with errbuf. The checks go through the open
   descriptor, so what is checked is what is read. */
static int
dkimkey_read(const char *path, char **data_out, size_t *len_out,
    char *errbuf, size_t errlen)
{
	struct stat	 st;
	char		*data;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	/* O_NONBLOCK: a FIFO in the key's place must not hang the open. */
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			(void)str_fmt(errbuf, errlen, "%s: no such file; "
			    "create the key with sesgatectl dkim keygen or "
			    "correct the path", path);
		else if (errno == EACCES)
			(void)str_fmt(errbuf, errlen, "%s: permission denied; "
			    "the key must be readable by the user that signs "
			    "(its owner, mode 0600 or 0400)", path);
		else
			(void)str_fmt(errbuf, errlen, "%s: cannot open: %s",
			    path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		(void)str_fmt(errbuf, errlen, "%s: cannot stat: %s", path,
		    strerror(errno));
		(void)close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)str_fmt(errbuf, errlen, "%s: not a regular file; want "
		    "the PEM file of a private key", path);
		(void)close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		(void)str_fmt(errbuf, errlen, "%s: mode %04o; want 0600 or "
		    "0400, as a private key must not be readable or writable "
		    "by group or others (chmod 600 %s)", path,
		    (unsigned)(st.st_mode & 07777), path);
		(void)close(fd);
		return -1;
	}
	data = xmalloc(DKIMKEY_MAX_FILE + 1);
	while (len < DKIMKEY_MAX_FILE + 1 &&
	    (n = read(fd, data + len, DKIMKEY_MAX_FILE + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void)str_fmt(errbuf, errlen, "%s: read error: %s",
			    path, strerror(errno));
			OPENSSL_cleanse(data, len);
			free(data);
			(void)close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	(void)close(fd);
	if (len > DKIMKEY_MAX_FILE) {
		(void)str_fmt(errbuf, errlen, "%s: larger than %d bytes; not "
		    "a DKIM private key", path, DKIMKEY_MAX_FILE);
		OPENSSL_cleanse(data, len);
		free(data);
		return -1;
	}
	data[len] = '\0';
	*data_out = data;
	*len_out = len;
	return 0;
}

/* The private key in PEM text, or NULL with errbuf. */
static EVP_PKEY *
dkimkey_parse(const char *path, const char *data, size_t len, char *errbuf,
    size_t errlen)
{
	EVP_PKEY	*pkey;
	BIO		*bio;
	bool		 asked = false;

	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL) {
		(void)str_fmt(errbuf, errlen, "%s: out of memory", path);
		return NULL;
	}
	/* The _ex form: in the milter the plain one may answer from the
	   key cache (milter/keycache.c), with a key this function frees. */
	pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, dkimkey_no_passphrase,
	    &asked, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey != NULL)
		return pkey;
	if (asked)
		(void)str_fmt(errbuf, errlen, "%s: the key is protected by a "
		    "pass phrase, which nobody can type for the signer; "
		    "write it without one (openssl pkey -in %s -out NEWFILE)",
		    path, path);
	else if (strstr(data, "-----BEGIN ") != NULL &&
	    strstr(data, " PUBLIC KEY-----") != NULL)
		(void)str_fmt(errbuf, errlen, "%s: a public key; want the "
		    "private key (the public half goes into DNS)", path);
	else
		(void)str_fmt(errbuf, errlen, "%s: not a PEM private key; want "
		    "a file that starts with -----BEGIN PRIVATE KEY----- or "
		    "-----BEGIN RSA PRIVATE KEY-----, as sesgatectl dkim "
		    "keygen or openssl genpkey writes it", path);
	return NULL;
}

/* Algorithm and size of pkey, or -1 with errbuf when DKIM may not sign
   with it. */
static int
dkimkey_check(const char *path, EVP_PKEY *pkey, enum dkimkey_alg *alg_out,
    int *bits_out, char *errbuf, size_t errlen)
{
	const char	*type;
	int		 bits;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < DKIMKEY_RSA_MIN_BITS ||
		    bits > DKIMKEY_RSA_MAX_BITS) {
			(void)str_fmt(errbuf, errlen, "%s: RSA key of %d bits; "
			    "want %d to %d (%d recommended), the sizes every "
			    "verifier checks (RFC 8301 section 3.2)", path,
			    bits, DKIMKEY_RSA_MIN_BITS, DKIMKEY_RSA_MAX_BITS,
			    DKIMKEY_RSA_DEFAULT_BITS);
			return -1;
		}
		*alg_out = DKIMKEY_RSA;
		*bits_out = bits;
		return 0;
	case EVP_PKEY_ED25519:
		*alg_out = DKIMKEY_ED25519;
		*bits_out = 256;
		return 0;
	default:
		/* RSA-PSS, EC, Ed448, DSA...: DKIM defines none of them
		   (RFC 6376 section 3.3, RFC 8463). */
		type = EVP_PKEY_get0_type_name(pkey);
		(void)str_fmt(errbuf, errlen, "%s: a key of type %s; DKIM "
		    "signs with RSA or Ed25519 keys only", path,
		    type != NULL ? type : "unknown");
		return -1;
	}
}

/* pkey's private key as PKCS#8 PEM text, NUL-terminated, into
   k->secret. 0, or -1. */
static int
dkimkey_set_secret(struct dkimkey *k, EVP_PKEY *pkey)
{
	char	*p;
	long	 n;
	BIO	*mem;

	/* A secure-memory BIO wipes the copy OpenSSL makes when freed. */
	if ((mem = BIO_new(BIO_s_secmem())) == NULL)
		return -1;
	if (PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || (n = BIO_get_mem_data(mem, &p)) <= 0) {
		BIO_free(mem);
		ERR_clear_error();
		return -1;
	}
	k->secret = xmalloc((size_t)n + 1);
	memcpy(k->secret, p, (size_t)n);
	k->secret[n] = '\0';
	k->secretlen = (size_t)n;
	BIO_free(mem);
	return 0;
}

/* The p= value into k->pub_b64. 0, or -1. */
static int
dkimkey_set_public(struct dkimkey *k, EVP_PKEY *pkey)
{
	unsigned char	*der, *p;
	size_t		 n;
	int		 len;

	if (k->alg == DKIMKEY_ED25519) {
		/* RFC 8463 section 4: the raw public key, not wrapped in a
		   SubjectPublicKeyInfo as for RSA. */
		n = DKIMKEY_ED25519_LEN;
		der = xmalloc(n);
		if (EVP_PKEY_get_raw_public_key(pkey, der, &n) != 1 ||
		    n != DKIMKEY_ED25519_LEN) {
			free(der);
			ERR_clear_error();
			return -1;
		}
	} else {
		/* The SubjectPublicKeyInfo, the form every DKIM verifier
		   reads for k=rsa (RFC 6376 section 3.6.1). */
		if ((len = i2d_PUBKEY(pkey, NULL)) <= 0) {
			ERR_clear_error();
			return -1;
		}
		der = xmalloc((size_t)len);
		p = der;
		if (i2d_PUBKEY(pkey, &p) != len) {
			free(der);
			ERR_clear_error();
			return -1;
		}
		n = (size_t)len;
	}
	k->pub_b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	(void)EVP_EncodeBlock((unsigned char *)k->pub_b64, der, (int)n);
	free(der);
	return 0;
}

struct dkimkey *
dkimkey_load(const char *path, char *errbuf, size_t errlen)
{
	struct dkimkey	*k;
	EVP_PKEY	*pkey;
	char		*data;
	size_t		 len;

	if (dkimkey_read(path, &data, &len, errbuf, errlen) < 0)
		return NULL;
	pkey = dkimkey_parse(path, data, len, errbuf, errlen);
	OPENSSL_cleanse(data, len);
	free(data);
	if (pkey == NULL)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	if (dkimkey_check(path, pkey, &k->alg, &k->bits, errbuf,
	    errlen) < 0) {
		EVP_PKEY_free(pkey);
		dkimkey_free(&k);
		return NULL;
	}
	if (dkimkey_set_secret(k, pkey) < 0 ||
	    dkimkey_set_public(k, pkey) < 0) {
		(void)str_fmt(errbuf, errlen, "%s: OpenSSL cannot encode the "
		    "key", path);
		EVP_PKEY_free(pkey);
		dkimkey_free(&k);
		return NULL;
	}
	EVP_PKEY_free(pkey);
	return k;
}

/* A new key, or NULL. */
static EVP_PKEY *
dkimkey_keygen(enum dkimkey_alg alg, int bits)
{
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pkey = NULL;

	ctx = EVP_PKEY_CTX_new_from_name(NULL, alg == DKIMKEY_RSA ? "RSA" :
	    "ED25519", NULL);
	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_keygen_init(ctx) <= 0 || (alg == DKIMKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0) ||
	    EVP_PKEY_generate(ctx, &pkey) <= 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return pkey;
}

static void
dkimkey_exists(const char *path, char *errbuf, size_t errlen)
{
	(void)str_fmt(errbuf, errlen, "%s: already exists; a key file is "
	    "never replaced (choose another file, or a new selector to change "
	    "keys)", path);
}

/* Write len bytes to a new file at path, mode 0600. 0, or -1 with errbuf
   and no file left behind. */
static int
dkimkey_write_new(const char *path, const char *data, size_t len,
    char *errbuf, size_t errlen)
{
	size_t	off = 0;
	ssize_t	n;
	int	fd;

	/* O_EXCL: never replace a key, even one created since the check in
	   dkimkey_generate(); with O_CREAT it also refuses a symbolic
	   link. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		if (errno == EEXIST)
			dkimkey_exists(path, errbuf, errlen);
		else
			(void)str_fmt(errbuf, errlen, "%s: cannot create: %s",
			    path, strerror(errno));
		return -1;
	}
	/* The umask may have taken the owner's bits; the mode must be
	   exactly 0600 for the file to load. */
	if (fchmod(fd, 0600) < 0)
		goto fail;
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	(void)str_fmt(errbuf, errlen, "%s: write error: %s", path,
	    strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	(void)unlink(path);
	return -1;
}

int
dkimkey_generate(const char *path, enum dkimkey_alg alg, int bits,
    char *errbuf, size_t errlen)
{
	struct stat	 st;
	EVP_PKEY	*pkey;
	BIO		*mem;
	char		*pem;
	long		 n;
	int		 rc;

	if (alg != DKIMKEY_RSA && alg != DKIMKEY_ED25519) {
		(void)str_fmt(errbuf, errlen, "unknown key algorithm %d",
		    (int)alg);
		return -1;
	}
	if (alg == DKIMKEY_RSA && bits == 0)
		bits = DKIMKEY_RSA_DEFAULT_BITS;
	if (alg == DKIMKEY_RSA && (bits < DKIMKEY_RSA_MIN_BITS ||
	    bits > DKIMKEY_RSA_MAX_BITS)) {
		(void)str_fmt(errbuf, errlen, "RSA key of %d bits; want %d to "
		    "%d (%d recommended)", bits, DKIMKEY_RSA_MIN_BITS,
		    DKIMKEY_RSA_MAX_BITS, DKIMKEY_RSA_DEFAULT_BITS);
		return -1;
	}
	/* Fail before a slow RSA key generation when the name is taken;
	   the O_EXCL open in dkimkey_write_new() has the last word. */
	if (lstat(path, &st) == 0) {
		dkimkey_exists(path, errbuf, errlen);
		return -1;
	}
	if (errno != ENOENT) {
		(void)str_fmt(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((pkey = dkimkey_keygen(alg, bits)) == NULL) {
		(void)str_fmt(errbuf, errlen, "%s: OpenSSL could not generate "
		    "the %s key", path, dkimkey_alg_name(alg));
		return -1;
	}
	if ((mem = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || (n = BIO_get_mem_data(mem, &pem)) <= 0) {
		(void)str_fmt(errbuf, errlen, "%s: OpenSSL could not encode "
		    "the key", path);
		BIO_free(mem);
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return -1;
	}
	rc = dkimkey_write_new(path, pem, (size_t)n, errbuf, errlen);
	BIO_free(mem);
	EVP_PKEY_free(pkey);
	return rc;
}

char *
dkimkey_txt(const struct dkimkey *k)
{
	struct buf b = BUF_INIT;

	/* RFC 6376 section 3.6.1: v= first; k= names the algorithm (rsa is
	   the default, but saying it costs nothing). */
	buf_printf(&b, "v=DKIM1; k=%s; p=%s", dkimkey_alg_name(k->alg),
	    k->pub_b64);
	return b.data;
}

void
dkimkey_free(struct dkimkey **kp)
{
	struct dkimkey *k = *kp;

	if (k == NULL)
		return;
	*kp = NULL;
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, k->secretlen);
		free(k->secret);
	}
	free(k->pub_b64);
	free(k);
}
