/*
 * inbound.h - the checks on inbound mail, stage by stage: SPF at MAIL
 * FROM, DKIM over the header and body, DMARC at the end, then the one
 * Authentication-Results field and what the verdicts lead to (reject,
 * quarantine, tempfail, accept) by the configuration. Also the IP
 * address filter at connect. The state of one message belongs to the
 * thread of its connection.
 */
#ifndef SESGATE_INBOUND_H
#define SESGATE_INBOUND_H

#include <stdbool.h>
#include <stddef.h>

#include "msg.h"

struct inbound;

/* Whether the IP address filter refuses client `ip`; *v is then the
   reply (554 5.7.1). */
bool	inbound_ip_blocked(const struct config *cf, const char *ip,
	    struct verdict *v);

/* At MAIL FROM, after msg_start(): begin the checks of a message from
   client `ip` that greeted with `helo`, MAIL FROM `sender` ("" for <>).
   The SPF verdict is made here; *v refuses it when SPF fails and
   on_spf_fail is reject. */
void	inbound_mail(struct msg *m, const char *ip, const char *helo,
	    const char *sender, struct verdict *v);
/* At RCPT: the receipt rules for this recipient (as the MTA gave it);
   *v refuses it when a bounce action applies. */
void	inbound_rcpt(struct msg *m, const char *rcpt, struct verdict *v);
void	inbound_header(struct msg *m, const char *name, const char *value);
void	inbound_eoh(struct msg *m);
void	inbound_body(struct msg *m, const unsigned char *p, size_t n);
/* The end: DKIM and DMARC verdicts, the receipt rules' fields and
   notify entries, the fields to add (m->edits), the forged
   Authentication-Results to remove (m->ar_del), and *v (VERDICT_DISCARD
   when every recipient was stopped), or m->quarantine set when the
   message is to be held. Logs the verdicts. */
void	inbound_eom(struct msg *m, struct verdict *v);
/* The recipients a receipt rule stopped, to remove from the message
   (borrowed; as the MTA gave them). */
size_t	inbound_stopped(const struct msg *m, char *const **list_out);
/* Free the inbound state; *ip becomes NULL. Accepts NULL. */
void	inbound_free(struct inbound **ip);

#endif
