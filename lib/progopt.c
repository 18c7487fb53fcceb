/*
 * progopt.c - the daemons' shared command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "confcheck.h"
#include "config.h"
#include "log.h"
#include "privs.h"
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

int
progopt_check(const char *prog, const char *path, const struct config *cf,
    unsigned int parts, const char *extra)
{
	struct buf	problems = BUF_INIT;
	int		n = confcheck(cf, parts, &problems);

	for (const char *p = extra; p != NULL && *p != '\0'; p++)
		n += *p == '\n';
	if (n > 0) {
		fprintf(stderr, "%s: %s: %d problem%s:\n%s%s", prog, path, n,
		    n == 1 ? "" : "s", problems.len > 0 ? problems.data : "",
		    extra != NULL ? extra : "");
		buf_free(&problems);
		return EX_CONFIG;
	}
	config_print(cf, stdout);
	return EX_OK;
}

int
progopt_daemon(const char *prog, int argc, char **argv, unsigned int parts,
    int (*run)(struct config *, const char *, const struct privs *))
{
	struct progopt	 o;
	struct config	*cf;
	struct privs	 pv;
	char		*errors = NULL, err[512];
	int		 status;

	progopt_parse(prog, "stay in the foreground and log to stderr",
	    "check the configuration, what it names and Redis, print it "
	    "and exit", argc, argv, &o);
	cf = config_load(o.conf, &errors);
	if (cf == NULL) {
		fprintf(stderr, "%s: configuration errors:\n%s", prog, errors);
		free(errors);
		return EX_CONFIG;
	}
	if (o.check) {
		status = progopt_check(prog, o.conf, cf, parts, NULL);
		config_free(&cf);
		return status;
	}
	if ((status = privs_resolve(cf, &pv, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		config_free(&cf);
		return status;
	}
	log_open(prog, cf->log_facility, o.foreground, cf->log_level);
	if (!o.foreground && daemon(0, 0) < 0)
		die(EX_OSERR, "%s: cannot detach: %m", prog);
	if (o.pidfile != NULL)
		progopt_write_pid(o.pidfile);
	status = run(cf, o.conf, &pv);
	if (o.pidfile != NULL)
		(void)unlink(o.pidfile);
	return status;
}
