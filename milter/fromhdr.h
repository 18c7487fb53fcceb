/*
 * fromhdr.h - the addresses of a From header field (RFC 5322 section
 * 3.6.2 and 3.4: an address list of mailboxes and groups, with display
 * names, quoted strings and comments). No state; safe in any thread.
 */
#ifndef SESGATE_FROMHDR_H
#define SESGATE_FROMHDR_H

#include <stddef.h>

#include "addr.h"

#define FROMHDR_MAX	8	/* addresses kept; more are counted */

struct fromhdr {
	size_t	n;			/* addresses found (may exceed MAX) */
	size_t	bad;			/* mailboxes that are no address */
	char	addr[FROMHDR_MAX][ADDR_BUFSZ];	/* normalised */
};

/* Parse the value of a From field into out. Returns the number of
   addresses found (out->n); out->bad counts elements that are not an
   address (an empty group counts as nothing). */
size_t	fromhdr_parse(const char *value, struct fromhdr *out);

#endif
