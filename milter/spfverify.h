/*
 * spfverify.h - the SPF verdict (RFC 7208) of one message: libspf2 asks
 * about the client address, the HELO name and the MAIL FROM, its DNS
 * questions answered by the milter's resolver. No state between calls;
 * safe in any milter thread.
 */
#ifndef SESGATE_SPFVERIFY_H
#define SESGATE_SPFVERIFY_H

#include "authres.h"
#include "resolver.h"

/* Check `sender` (the MAIL FROM address, "" for <>, when the HELO
   identity is checked instead) sent from client address `ip` (IPv4 or
   IPv6 text) that greeted with `helo`. Fills *out; its received field is
   the Received-SPF value. Never fails: trouble is temperror or
   permerror. */
void	spfverify_check(struct resolver *r, const char *ip, const char *helo,
	    const char *sender, struct authres_spf *out);

#endif
