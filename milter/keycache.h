/*
 * keycache.h - the private keys of the loaded key sets, parsed once.
 * libopendkim parses the PEM text it is given for every message it signs
 * (PEM_read_bio_PrivateKey()), and with OpenSSL 3 that parse costs more
 * than an RSA-2048 signature. keycache.c defines PEM_read_bio_PrivateKey()
 * itself, so libopendkim's calls reach it: for the text of a key added
 * here it hands back the key parsed when it was added, and passes
 * everything else to OpenSSL. Safe in any thread.
 */
#ifndef SESGATE_KEYCACHE_H
#define SESGATE_KEYCACHE_H

#include "dkimkey.h"

/* Keep k parsed until keycache_remove(k); k must outlive that. 0, or -1
   when OpenSSL cannot parse it (libopendkim then parses it itself, as
   without the cache). */
int	keycache_add(const struct dkimkey *k);

/* Forget k; a no-op for a key never added. */
void	keycache_remove(const struct dkimkey *k);

#endif
