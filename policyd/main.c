/*
 * main.c - sesgate-policyd: command line, configuration, logging, then the
 * event loop (server.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "progopt.h"
#include "server.h"

int
main(int argc, char **argv)
{
	struct progopt	 o;
	struct config	*cf;
	char		*errors = NULL;
	int		 status;

	progopt_parse("sesgate-policyd", "stay in the foreground and log to "
	    "stderr", "check the configuration, print it and exit", argc, argv,
	    &o);
	cf = config_load(o.conf, &errors);
	if (cf == NULL) {
		fprintf(stderr, "sesgate-policyd: configuration errors:\n%s",
		    errors);
		free(errors);
		return EX_CONFIG;
	}
	if (o.check) {
		config_print(cf, stdout);
		config_free(&cf);
		return EX_OK;
	}
	log_open("sesgate-policyd", cf->log_facility, o.foreground,
	    cf->log_level);
	if (!o.foreground && daemon(0, 0) < 0)
		die(EX_OSERR, "policyd: cannot detach: %m");
	if (o.pidfile != NULL)
		progopt_write_pid(o.pidfile);
	status = server_run(cf, o.conf);
	if (o.pidfile != NULL)
		(void)unlink(o.pidfile);
	return status;
}
