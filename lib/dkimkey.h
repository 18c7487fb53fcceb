/*
 * dkimkey.h - DKIM private keys on disk: read and check one for signing,
 * create a new one, and write its public half as the DNS TXT record
 * publishes it (RFC 6376 section 3.6.1, RFC 8463 section 4). Shared by
 * sesgate-milter and sesgatectl. No static state; safe in any thread, and
 * a loaded key may be read by many threads at once.
 */
#ifndef SESGATE_DKIMKEY_H
#define SESGATE_DKIMKEY_H

#include <stddef.h>

/* RFC 8301 section 3.2: verifiers must handle RSA keys of 1024 to 4096
   bits and may ignore others; SES wants at least 1024. */
#define DKIMKEY_RSA_MIN_BITS		1024
#define DKIMKEY_RSA_MAX_BITS		4096
#define DKIMKEY_RSA_DEFAULT_BITS	2048

/* The signing algorithm follows from the key: DKIMKEY_RSA signs
   rsa-sha256 (libopendkim's DKIM_SIGN_RSASHA256), DKIMKEY_ED25519 signs
   ed25519-sha256 (DKIM_SIGN_ED25519SHA256). libopendkim does not check
   that the two agree: an RSA key given DKIM_SIGN_ED25519SHA256 yields a
   header that claims ed25519-sha256 and never verifies. */
enum dkimkey_alg {
	DKIMKEY_RSA,
	DKIMKEY_ED25519,
};

/* A key as loaded; never written after dkimkey_load() returns it. */
struct dkimkey {
	enum dkimkey_alg	 alg;
	/* The RSA modulus size; 256 for Ed25519. */
	int			 bits;
	/* The private key as libopendkim's dkim_sign() takes it as
	   `secretkey`: NUL-terminated PKCS#8 PEM text ("-----BEGIN PRIVATE
	   KEY-----"), whatever form the file had. secretlen is its length
	   without the NUL. dkim_sign() copies it, so one key serves every
	   message and thread. */
	unsigned char		*secret;
	size_t			 secretlen;
	/* The p= value of the key's TXT record: base64 of the DER
	   SubjectPublicKeyInfo for RSA, of the raw 32-byte public key for
	   Ed25519 (RFC 8463 section 4). */
	char			*pub_b64;
};

/* Read the private key in the PEM file at path and check that sesgate may
   sign with it. The key (free with dkimkey_free()), or NULL with errbuf
   naming the file and what to do when the file is missing or unreadable,
   is not a regular file, may be read or written by group or others (mode
   & 077), holds no PEM private key (garbage, a public key, a key with a
   pass phrase), holds a key that is neither RSA nor Ed25519, or an RSA
   key outside DKIMKEY_RSA_MIN_BITS..DKIMKEY_RSA_MAX_BITS. */
struct dkimkey	*dkimkey_load(const char *path, char *errbuf,
		    size_t errlen);

/* Create a new key and write it to path as PKCS#8 PEM, mode 0600. For
   DKIMKEY_RSA bits is the modulus size, DKIMKEY_RSA_MIN_BITS to
   DKIMKEY_RSA_MAX_BITS, or 0 for DKIMKEY_RSA_DEFAULT_BITS; Ed25519
   ignores it. Never replaces a file: a path that exists (even as a
   dangling symbolic link) is an error. 0, or -1 with errbuf saying why
   and nothing left at path. The directory must exist. */
int		 dkimkey_generate(const char *path, enum dkimkey_alg alg,
		    int bits, char *errbuf, size_t errlen);

/* The key's DNS TXT record value, "v=DKIM1; k=rsa; p=..." or "v=DKIM1;
   k=ed25519; p=...", in one string (the caller splits it into strings of
   at most 255 bytes for DNS). Caller frees. */
char		*dkimkey_txt(const struct dkimkey *k);

/* The k= name of an algorithm: "rsa" or "ed25519". */
const char	*dkimkey_alg_name(enum dkimkey_alg alg);

/* Wipe the private key from memory and free; *kp becomes NULL. Accepts
   NULL. */
void		 dkimkey_free(struct dkimkey **kp);

#endif
