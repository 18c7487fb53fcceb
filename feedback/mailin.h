/*
 * mailin.h - sesgate-feedbackd --mail: one feedback e-mail on standard
 * input (a Postfix pipe transport), applied as the SNS path applies a
 * notification, answered with an exit status Postfix acts on.
 */
#ifndef SESGATE_MAILIN_H
#define SESGATE_MAILIN_H

#include <stdio.h>

#include "config.h"

/* Read one message from in and apply it. EX_OK (applied, a repeat, or
   nothing to act on), EX_DATAERR (not a DSN or feedback report, or too
   large; Postfix bounces or keeps it as configured), EX_TEMPFAIL (Redis
   cannot take it now; Postfix tries again later). Logs one line. */
int	mailin_run(const struct config *cf, FILE *in);

#endif
