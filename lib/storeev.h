/*
 * storeev.h - the policy daemon's connection to Redis: asynchronous
 * (hiredis on the daemon's libevent loop), one per event loop. Every
 * request is answered exactly once, within [redis] timeout: with the
 * script's verdict, or as a failure the caller maps to on_store_error.
 * Reconnects by itself with backoff; a Sentinel URL is resolved again at
 * every reconnect, so a failover is followed.
 */
#ifndef SESGATE_STOREEV_H
#define SESGATE_STOREEV_H

#include <stdbool.h>

#include "config.h"
#include "schema.h"

struct event_base;
struct storeev;

/* Called once per storeev_check(): res is the verdict, or NULL when Redis
   failed or did not answer in time (err then says why). res and its
   strings live only during the call. */
typedef void	storeev_cb(void *arg, const struct schema_result *res,
		    const char *err);

/* A client on base for the Redis server of cf; starts connecting. The
   struct, or NULL with errbuf when the URL is bad. cf must outlive it or
   be replaced with storeev_set_config(). */
struct storeev	*storeev_new(struct event_base *base, const struct config *cf,
		    char *errbuf, size_t errlen);
/* Decide the recipient of args (from schema_check_argv), which must stay
   valid until cb has been called. Requests made in one loop iteration
   are decided together in one script run, in the order made. cb may be
   called before this returns (when Redis is known to be down). */
void		 storeev_check(struct storeev *se,
		    const struct schema_argv *args, storeev_cb *cb, void *arg);
/* Use a new configuration; reconnects when the server changed. */
void		 storeev_set_config(struct storeev *se,
		    const struct config *cf);
/* Disconnect (pending requests are answered as failed) and free; *sep
   becomes NULL. Accepts NULL. */
void		 storeev_free(struct storeev **sep);

#endif
