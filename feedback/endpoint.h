/*
 * endpoint.h - sesgate-feedbackd's HTTP endpoint for Amazon SNS (libevent's
 * evhttp, one event loop): every POST on the configured path is an SNS
 * message, checked (size, JSON, topic, SigningCertURL, signature) and,
 * for a notification of SES, applied to Redis before it is answered.
 */
#ifndef SESGATE_ENDPOINT_H
#define SESGATE_ENDPOINT_H

#include "config.h"
#include "privs.h"

/* Listen as cf says and serve, as the user p names once the sockets are
   open, until SIGTERM or SIGINT; SIGHUP reads conf_path again (a file
   with errors leaves the running configuration). cf is taken over. The
   exit status for main(). */
int	endpoint_run(struct config *cf, const char *conf_path,
	    const struct privs *p);

#endif
