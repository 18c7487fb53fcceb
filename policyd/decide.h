/*
 * decide.h - what the policy service answers, as plain functions of the
 * request, the store's verdict and the configuration. No I/O, no state;
 * the caller owns the struct decision.
 */
#ifndef SESGATE_DECIDE_H
#define SESGATE_DECIDE_H

#include <stdbool.h>

#include "addr.h"
#include "config.h"
#include "request.h"
#include "schema.h"

#define DECIDE_ACTION_MAX	512

struct decision {
	/* Inputs for the store, valid when decide_request() returns true. */
	char			sender[ADDR_BUFSZ];
	char			sender_id[ADDR_BUFSZ];
	char			rcpt[ADDR_BUFSZ];
	struct schema_check	check;
	/* The reply ("DUNNO", "454 4.7.0 ...") and a short word for the
	   log ("accept", "quota", "not-rcpt"...). */
	char			action[DECIDE_ACTION_MAX];
	const char		*why;
	char			 level[16];	/* quota level, pause scope */
};

/* Look at a request. true when the store must be asked (d->check is
   ready); false when d->action is the answer already (not a RCPT, not an
   outbound client, bad address). */
bool	decide_request(const struct config *cf, const struct request *req,
	    struct decision *d);
/* Turn the store's verdict into d->action. */
void	decide_result(const struct config *cf, const struct schema_result *r,
	    struct decision *d);
/* The answer when the store could not tell (on_store_error). */
void	decide_store_error(const struct config *cf, struct decision *d);
/* The answer to a request that could not be parsed. */
void	decide_malformed(struct decision *d);

#endif
