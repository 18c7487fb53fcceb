/*
 * progopt.c - the daemons' shared command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "progopt.h"

void
progopt_parse(const char *prog, const char *fdesc, const char *ndesc,
    int argc, char **argv, struct progopt *out)
{
	int ch;

	out->conf = CONFIG_DEFAULT_PATH;
	out->pidfile = NULL;
	out->foreground = out->check = false;
	while ((ch = getopt(argc, argv, "c:fnp:h")) != -1) {
		switch (ch) {
		case 'c':
			out->conf = optarg;
			break;
		case 'f':
			out->foreground = true;
			break;
		case 'n':
			out->check = true;
			break;
		case 'p':
			out->pidfile = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind == argc)
		return;
usage:
	fprintf(stderr, "usage: %s [-fn] [-c file] [-p pidfile]\n"
	    "  -c file     configuration (default %s)\n"
	    "  -f          %s\n"
	    "  -n          %s\n"
	    "  -p pidfile  write the process ID to pidfile\n", prog,
	    CONFIG_DEFAULT_PATH, fdesc, ndesc);
	exit(EX_USAGE);
}

void
progopt_write_pid(const char *path)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		die(EX_CANTCREAT, "%s: %m", path);
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) != 0)
		die(EX_CANTCREAT, "%s: %m", path);
}
