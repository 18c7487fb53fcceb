/*
 * glue.h - the libmilter side of sesgate-milter: registration, the
 * callbacks and the main loop. The only module that includes libmilter's
 * header.
 */
#ifndef SESGATE_GLUE_H
#define SESGATE_GLUE_H

#include "privs.h"

/* Register the callbacks, open `socket` (libmilter's form; a stale unix
   socket is removed, a new one given to the user and socket group that
   pv names, mode 0660) and become that user. EX_OK, or the exit status
   for main() with a log line. `socket` must outlive glue_serve(). */
int	glue_listen(const char *socket, const struct privs *pv);
/* Serve until libmilter stops (SIGTERM, SIGINT, SIGHUP). The exit status
   for main(). */
int	glue_serve(void);

#endif
