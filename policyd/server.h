/*
 * server.h - the policy daemon's event loop: listeners, connections, the
 * in-order replies of each connection, reload and shutdown. Single
 * threaded.
 */
#ifndef SESGATE_SERVER_H
#define SESGATE_SERVER_H

#include "config.h"
#include "privs.h"

/* Serve with cf (taken over; freed by the server) until SIGTERM or
   SIGINT, reloading conf_path on SIGHUP; after the sockets are open, as
   the user p names. Returns a sysexits.h code: EX_OK after a clean stop,
   EX_OSERR/EX_CONFIG when a socket cannot be opened. */
int	server_run(struct config *cf, const char *conf_path,
	    const struct privs *p);

#endif
