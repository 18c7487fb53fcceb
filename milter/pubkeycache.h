/*
 * pubkeycache.h - the public keys of DKIM verification, decoded once.
 * libopendkim decodes the key of every signature it checks from the DER
 * bytes of the key record (d2i_PUBKEY_bio()), and with OpenSSL 3 that
 * decode costs several times the RSA-2048 verification itself.
 * pubkeycache.c defines d2i_PUBKEY_bio() for the whole process, so
 * libopendkim's calls reach it: the same bytes seen again give back the
 * key decoded the first time (another reference to it), for as long as
 * it stays among the PUBKEYCACHE_MAX most recently added. A changed key
 * record is other bytes, so a key rotation is seen at once. Nothing to
 * call: the cache fills itself. Safe in any thread.
 */
#ifndef SESGATE_PUBKEYCACHE_H
#define SESGATE_PUBKEYCACHE_H

/* Keys kept; the oldest goes when another is added. */
#define PUBKEYCACHE_MAX	256

#endif
