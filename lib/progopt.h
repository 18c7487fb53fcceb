/*
 * progopt.h - the command line the sesgate daemons share: -c file, -f,
 * -n, -p pidfile. No state; call from main() only.
 */
#ifndef SESGATE_PROGOPT_H
#define SESGATE_PROGOPT_H

#include <stdbool.h>

struct progopt {
	const char	*conf;		/* -c, else CONFIG_DEFAULT_PATH */
	const char	*pidfile;	/* -p, else NULL */
	bool		 foreground;	/* -f */
	bool		 check;		/* -n */
};

/* Parse argv into out. Anything else prints the usage (prog's name, and
   fdesc and ndesc saying what -f and -n do) and exits with EX_USAGE. */
void	progopt_parse(const char *prog, const char *fdesc, const char *ndesc,
	    int argc, char **argv, struct progopt *out);
/* Write the process ID to path; dies (EX_CANTCREAT) when it cannot. */
void	progopt_write_pid(const char *path);

struct config;

/* -n, after the file has loaded: check what it names (confcheck.h's
   parts; extra, when not NULL, holds more problems, one per line), then
   print the configuration on stdout and return EX_OK, or every problem
   on stderr and return EX_CONFIG. */
int	progopt_check(const char *prog, const char *path,
	    const struct config *cf, unsigned int parts, const char *extra);

/* The main() of an event-loop daemon named prog: the command line, the
   configuration (errors to stderr: EX_CONFIG), -n (progopt_check() of
   parts), the user to run as (privs.h; errors to stderr), logging,
   detaching unless -f, the pid file, then run(cf, path of the file, the
   user), which takes cf over and drops privileges once it listens. The
   exit status. */
struct privs;
int	progopt_daemon(const char *prog, int argc, char **argv,
	    unsigned int parts,
	    int (*run)(struct config *, const char *, const struct privs *));

#endif
