/*
 * confcheck.h - what a configuration names, checked beyond its syntax
 * (config.c checks that): the DKIM key files, the files and directories
 * the daemons read or write, and Redis with the decision script. For
 * sesgatectl check-config and the daemons' -n.
 */
#ifndef SESGATE_CONFCHECK_H
#define SESGATE_CONFCHECK_H

#include "buf.h"
#include "config.h"

/* What to check: each daemon's part, and Redis. */
#define CONFCHECK_REDIS		0x01
#define CONFCHECK_MILTER	0x02
#define CONFCHECK_FEEDBACKD	0x04
#define CONFCHECK_ALL		0x07

/* Check the parts of cf that parts names; append one line per problem to
   problems ("[section] key: what is wrong", or the key file's own
   message). The number of problems. */
int	confcheck(const struct config *cf, unsigned int parts,
	    struct buf *problems);

#endif
