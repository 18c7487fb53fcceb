/*
 * addr.h - how sesgate writes an e-mail address or domain before it is
 * compared or used in a Redis key: surrounding white space and one pair of
 * angle brackets removed, ASCII letters lowercased in the whole address, a
 * trailing dot of the domain removed. No state; safe in any thread.
 */
#ifndef SESGATE_ADDR_H
#define SESGATE_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Longest address accepted: 64 (local part) + 1 + 255 (domain), RFC 5321. */
#define ADDR_MAX	320
/* Buffer size that holds any normalised address. */
#define ADDR_BUFSZ	(ADDR_MAX + 1)
/* Hex HMAC-SHA256 plus NUL. */
#define ADDR_HASH_BUFSZ	65

/* Normalise an address "local@domain" into out (ADDR_BUFSZ bytes).
   0, or -1 when it is empty, has no '@' with text on both sides, is longer
   than ADDR_MAX, or holds a control character. */
int	addr_normalise(const char *in, char *out, size_t outlen);
/* Normalise a domain name: letters, digits, '-', '_' and dots, no empty
   label, at most 253 characters. 0, or -1. */
int	addr_normalise_domain(const char *in, char *out, size_t outlen);
/* Normalise an identity: an address when it holds '@', else a domain.
   0, or -1. */
int	addr_normalise_identity(const char *in, char *out, size_t outlen);
/* The domain part of a normalised address (after the last '@'); borrowed
   from addr. */
const char *addr_domain(const char *addr);
/* HMAC-SHA256 of a normalised address under key, as 64 lowercase hex
   digits into out (ADDR_HASH_BUFSZ bytes). */
void	addr_hash(const char *key, const char *addr, char *out);
/* True when s is 64 lowercase hex digits (a hashed address). */
bool	addr_is_hash(const char *s);

#endif
