/*
 * ctl.h - what the parts of sesgatectl share: the run's context (config,
 * the Redis connection opened on first use, the output), the command
 * table's entry, and the helpers every command uses to parse its
 * arguments and report failures. Single-threaded.
 */
#ifndef SESGATE_CTL_H
#define SESGATE_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "admin.h"
#include "config.h"
#include "output.h"
#include "schema.h"
#include "store.h"

struct ctl;

/* One command: its usage line (literal words first, which select it),
   what it does, and the handler, which gets the arguments after the
   literal words and returns a sysexits.h code. */
struct ctl_cmd {
	const char	*usage;
	const char	*help;
	int		(*fn)(struct ctl *c, int argc, char **argv);
};

struct ctl {
	const char		*conf_path;
	struct config		*cf;
	struct store		*st;
	struct output		*out;
	const struct ctl_cmd	*cmd;
};

/* The configuration, loaded on first use; on failure prints every
   problem and exits EX_CONFIG. */
const struct config *ctl_config(struct ctl *c);
/* The store; on failure prints why (with the URL, password hidden) and
   exits EX_UNAVAILABLE. */
struct store	*ctl_store(struct ctl *c);
/* Report an admin_* or suppression_* failure (rc -1 or ADMIN_EINPUT)
   and return the exit code: EX_TEMPFAIL for Redis, EX_DATAERR for bad
   input. */
int		 ctl_fail(struct ctl *c, int rc, const char *errbuf);
/* Print "sesgatectl: <message>" and the command's usage on stderr;
   returns EX_USAGE. */
int		 ctl_usage_error(struct ctl *c, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Print "sesgatectl: <message>" on stderr; returns status. */
int		 ctl_error(int status, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* The configured Redis URL with any password replaced by "***", into
   out. */
void		 ctl_url(const struct ctl *c, char *out, size_t outlen);

/* Options of a command: "--name VALUE" or "--name=VALUE". */
struct ctl_opt {
	const char	*name;		/* without the dashes */
	const char	**value;	/* set when given */
};

/* Split argv into options (opts, NULL-terminated by name) and up to
   maxpos positional arguments. 0, or EX_USAGE after printing why. */
int		 ctl_getopts(struct ctl *c, int argc, char **argv,
		    const struct ctl_opt *opts, char **pos, int maxpos,
		    int *npos_out);
/* The level named at pos[*i] ("account", "domain D", "sender ID"),
   advancing *i; *id_out is NULL for the account. 0, or EX_USAGE after
   printing why. */
int		 ctl_level(struct ctl *c, char **pos, int npos, int *i,
		    enum schema_level *level_out, const char **id_out);
/* Output the fields "level" and "id" (normalised as stored; "" for the
   account) of the current record. */
void		 ctl_output_level(struct ctl *c, enum schema_level level,
		    const char *id);

/* A DATE: "2026-01-31", "2026-01-31T12:00:00Z" (UTC) or unix seconds.
   0 and *t_out, or -1. */
int		 ctl_parse_date(const char *s, long long *t_out);
/* t as "2026-01-31T12:00:00Z" into out. */
void		 ctl_fmt_time(long long t, char *out, size_t outlen);
/* A duration in ms as "1d2h3m4s" into out. */
void		 ctl_fmt_duration(long long ms, char *out, size_t outlen);

/* The commands. */
int	cmd_suppression_list(struct ctl *c, int argc, char **argv);
int	cmd_suppression_get(struct ctl *c, int argc, char **argv);
int	cmd_suppression_add(struct ctl *c, int argc, char **argv);
int	cmd_suppression_remove(struct ctl *c, int argc, char **argv);
int	cmd_suppression_import(struct ctl *c, int argc, char **argv);
int	cmd_suppression_export(struct ctl *c, int argc, char **argv);
int	cmd_identity_add(struct ctl *c, int argc, char **argv);
int	cmd_identity_remove(struct ctl *c, int argc, char **argv);
int	cmd_identity_list(struct ctl *c, int argc, char **argv);
int	cmd_quota_set(struct ctl *c, int argc, char **argv);
int	cmd_quota_show(struct ctl *c, int argc, char **argv);
int	cmd_quota_usage(struct ctl *c, int argc, char **argv);
int	cmd_pause(struct ctl *c, int argc, char **argv);
int	cmd_resume(struct ctl *c, int argc, char **argv);
int	cmd_status(struct ctl *c, int argc, char **argv);
int	cmd_stats(struct ctl *c, int argc, char **argv);
int	cmd_dkim_keygen(struct ctl *c, int argc, char **argv);
int	cmd_dns_records(struct ctl *c, int argc, char **argv);
int	cmd_smtp_password(struct ctl *c, int argc, char **argv);
int	cmd_check_config(struct ctl *c, int argc, char **argv);
int	cmd_postfix_config(struct ctl *c, int argc, char **argv);

#endif
