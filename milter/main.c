/*
 * main.c - sesgate-milter: command line, configuration, logging, the
 * reload thread, then libmilter's loop (glue.c). libmilter stops on
 * SIGHUP, SIGTERM and SIGINT, so a reload is asked for with SIGUSR1,
 * taken by a thread of ours with sigwait(): SIGUSR1 is blocked in every
 * thread before any is started.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "confcheck.h"
#include "config.h"
#include "dmarcverify.h"
#include "gen.h"
#include "glue.h"
#include "log.h"
#include "progopt.h"
#include "sdnotify.h"
#include "sign.h"

/* malloc arenas for all of libmilter's threads. */
#define MILTER_ARENAS	2

static const char *conf_path = CONFIG_DEFAULT_PATH;

/* Read the file again and make it current; on any error keep the running
   configuration and keys. */
static void
reload_file(void)
{
	struct config	*cf = config_reload(conf_path, "milter");
	char		 err[4096];
	int		 facility, level;

	if (cf == NULL)
		return;
	facility = cf->log_facility;
	level = cf->log_level;
	if (gen_install(cf, err, sizeof(err)) < 0) {
		log_err(NULL, "milter: reload: keeping the running "
		    "configuration and keys");
		log_lines(LOG_ERR, NULL, "milter: reload", err);
		return;
	}
	log_reconfigure(facility, level);
	log_info(NULL, "milter: reloaded %s", conf_path);
}

static void
reload(void)
{
	sdnotify_reloading();
	reload_file();
	sdnotify_ready("serving");
}

static void *
reload_thread(void *arg)
{
	sigset_t	*set = arg;
	int		 sig;

	for (;;) {
		if (sigwait(set, &sig) == 0 && sig == SIGUSR1)
			reload();
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct progopt	 o;
	struct config	*cf;
	char		*errors = NULL, err[4096], *listen;
	static sigset_t	 usr1;
	sigset_t	 blocked;
	struct privs	 pv;
	pthread_t	 tid;
	int		 status;

	progopt_parse("sesgate-milter", "log to stderr", "check the "
	    "configuration and the keys, print it and exit", argc, argv, &o);
	conf_path = o.conf;
	cf = config_load(conf_path, &errors);
	if (cf == NULL) {
		fprintf(stderr, "sesgate-milter: configuration errors:\n%s",
		    errors);
		free(errors);
		return EX_CONFIG;
	}
	if (o.check) {
		/* The list's content too, when confcheck finds it readable. */
		char extra[sizeof(err) + 2] = "";

		if (access(cf->milter_public_suffix_list, R_OK) == 0 &&
		    dmarcverify_init(cf->milter_public_suffix_list, err,
		    sizeof(err)) < 0)
			snprintf(extra, sizeof(extra), "%s\n", err);
		status = progopt_check("sesgate-milter", conf_path, cf,
		    CONFCHECK_MILTER | CONFCHECK_REDIS, extra);
		config_free(&cf);
		return status;
	}
	if ((status = privs_resolve(cf, &pv, err, sizeof(err))) != 0) {
		fprintf(stderr, "sesgate-milter: %s\n", err);
		config_free(&cf);
		return status;
	}
	log_open("sesgate-milter", cf->log_facility, o.foreground,
	    cf->log_level);
	/* libmilter serves each connection in a thread of its own, and
	   glibc would give each busy thread a malloc arena of its own (up
	   to 8 per core), each keeping freed memory: with 32 connections
	   that is 3 MB more resident memory for no gain in speed. Unless
	   the environment says otherwise (MALLOC_ARENA_MAX). */
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		(void)mallopt(M_ARENA_MAX, MILTER_ARENAS);
	/* Before any thread exists, so that all inherit the mask: SIGUSR1
	   for the reload thread, and the signals libmilter's own signal
	   thread waits for. libmilter blocks those only in the thread
	   that calls smfi_main(); a thread started before (ours, the
	   resolver's) would otherwise take SIGTERM and die of it, without
	   libmilter's orderly stop. */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGHUP);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	listen = strdup(cf->milter_listen);
	if (listen == NULL)
		die(EX_OSERR, "milter: out of memory");
	if (o.pidfile != NULL)
		progopt_write_pid(o.pidfile);
	/* The MTA's user must be able to connect to a unix socket; others
	   must not. */
	umask(007);
	/* The keys are read once the daemon is its user, at the start as
	   on a reload: a key that user cannot read stops the start, not a
	   later reload. (Under its unit, root lacks CAP_DAC_OVERRIDE and
	   could not read the user's keys anyway.) */
	if ((status = glue_listen(listen, &pv)) != EX_OK)
		goto out;
	if (gen_install(cf, err, sizeof(err)) < 0) {
		log_lines(LOG_ERR, NULL, "milter", err);
		status = EX_CONFIG;
		goto out;
	}
	if (pthread_create(&tid, NULL, reload_thread, &usr1) != 0)
		die(EX_OSERR, "milter: cannot start the reload thread");
	status = glue_serve();
	sdnotify_stopping();
	log_info(NULL, "milter: stopped");
out:
	free(listen);
	if (o.pidfile != NULL)
		(void)unlink(o.pidfile);
	gen_shutdown();
	return status;
}
