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
#include "server.h"

static void
usage(void)
{
	fprintf(stderr, "usage: sesgate-policyd [-fn] [-c file] [-p pidfile]\n"
	    "  -c file     configuration (default %s)\n"
	    "  -f          stay in the foreground and log to stderr\n"
	    "  -n          check the configuration, print it and exit\n"
	    "  -p pidfile  write the process ID to pidfile\n",
	    CONFIG_DEFAULT_PATH);
	exit(EX_USAGE);
}

int
main(int argc, char **argv)
{
	const char	*path = CONFIG_DEFAULT_PATH, *pidfile = NULL;
	bool		 foreground = false, check = false;
	struct config	*cf;
	char		*errors = NULL;
	int		 ch, status;

	while ((ch = getopt(argc, argv, "c:fnp:h")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'p':
			pidfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	cf = config_load(path, &errors);
	if (cf == NULL) {
		fprintf(stderr, "sesgate-policyd: configuration errors:\n%s",
		    errors);
		free(errors);
		return EX_CONFIG;
	}
	if (check) {
		config_print(cf, stdout);
		config_free(&cf);
		return EX_OK;
	}
	log_open("sesgate-policyd", cf->log_facility, foreground,
	    cf->log_level);
	if (!foreground && daemon(0, 0) < 0)
		die(EX_OSERR, "policyd: cannot detach: %m");
	if (pidfile != NULL) {
		FILE *fp = fopen(pidfile, "w");

		if (fp == NULL)
			die(EX_CANTCREAT, "policyd: %s: %m", pidfile);
		fprintf(fp, "%ld\n", (long)getpid());
		fclose(fp);
	}
	status = server_run(cf, path);
	if (pidfile != NULL)
		(void)unlink(pidfile);
	return status;
}
