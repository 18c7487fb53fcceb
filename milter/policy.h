/*
 * policy.h - the policy service's per-recipient checks made by the milter
 * itself ([milter] policy_checks), for MTAs without a policy service
 * (Sendmail): the same decisions, replies and Redis script as
 * sesgate-policyd. Safe in any milter thread.
 */
#ifndef SESGATE_POLICY_H
#define SESGATE_POLICY_H

#include "msg.h"

/* Decide recipient rcpt of message m (envelope sender `sender` as the MTA
   gave it, client address `client`); *v says what to answer. The
   recipients of m accepted so far (m->nrcpt) count towards the limit per
   message. */
void	policy_rcpt(struct msg *m, const char *client, const char *sender,
	    const char *rcpt, struct verdict *v);

#endif
