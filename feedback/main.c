/*
 * main.c - sesgate-feedbackd: the SNS endpoint (endpoint.c) as a daemon,
 * or with --mail one feedback e-mail from standard input (mailin.c), as a
 * Postfix pipe transport runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "confcheck.h"
#include "config.h"
#include "endpoint.h"
#include "log.h"
#include "mailin.h"
#include "progopt.h"

static int
main_mail(int argc, char **argv)
{
	struct progopt	 o;
	struct config	*cf;
	char		*errors = NULL;
	int		 status;

	progopt_parse("sesgate-feedbackd --mail", "log to stderr",
	    "check the configuration, print it and exit", argc, argv, &o);
	cf = config_load(o.conf, &errors);
	if (cf == NULL) {
		fprintf(stderr, "sesgate-feedbackd: configuration errors:\n%s",
		    errors);
		free(errors);
		/* Postfix keeps the message and tries again. */
		return EX_TEMPFAIL;
	}
	log_open("sesgate-feedbackd", cf->log_facility, o.foreground,
	    cf->log_level);
	status = o.check ? progopt_check("sesgate-feedbackd", o.conf, cf,
	    CONFCHECK_REDIS, NULL) : mailin_run(cf, stdin);
	config_free(&cf);
	return status;
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mail") == 0) {
			memmove(&argv[i], &argv[i + 1],
			    (size_t)(argc - i) * sizeof(*argv));
			return main_mail(argc - 1, argv);
		}
	}
	return progopt_daemon("sesgate-feedbackd", argc, argv,
	    CONFCHECK_FEEDBACKD | CONFCHECK_REDIS, endpoint_run);
}
