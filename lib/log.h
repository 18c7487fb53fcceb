/*
 * log.h - logging to syslog (facility mail by default) or, in the
 * foreground, to stderr. A line about a message starts with its queue ID
 * (or NOQUEUE), then the module, then key=value fields. Safe in any thread
 * once log_open() has run.
 */
#ifndef SESGATE_LOG_H
#define SESGATE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#define LOG_QID_NONE	"NOQUEUE"

/* Start logging as `prog`: to stderr when `to_stderr`, else to syslog with
   the given facility (LOG_MAIL...). Messages above `level` are dropped. */
void	log_open(const char *prog, int facility, bool to_stderr, int level);
/* Change facility and level after a reload. */
void	log_reconfigure(int facility, int level);
/* True when messages at `level` are written. */
bool	log_enabled(int level);

/* One line at the given level. `qid` may be NULL (no queue-ID prefix) or
   "" (written as NOQUEUE). */
void	log_msg(int level, const char *qid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_vmsg(int level, const char *qid, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));

/* Each line of text (lines end with a newline, the last may not) as a
   log line of its own: "PREFIX: LINE". For lists of problems, which
   syslog would otherwise write as one line with #012 for each newline. */
void	log_lines(int level, const char *qid, const char *prefix,
	    const char *text);

#define log_err(qid, ...)	log_msg(LOG_ERR, (qid), __VA_ARGS__)
#define log_warning(qid, ...)	log_msg(LOG_WARNING, (qid), __VA_ARGS__)
#define log_info(qid, ...)	log_msg(LOG_INFO, (qid), __VA_ARGS__)
/* Tests the level before any argument is evaluated. */
#define LOG_DEBUGF(qid, ...)						\
	do {								\
		if (log_enabled(LOG_DEBUG))				\
			log_msg(LOG_DEBUG, (qid), __VA_ARGS__);		\
	} while (0)

/* Copy a value from the network into out for a log line: control
   characters become '?', the result is cut to outlen-1 bytes with "..." at
   the end when cut. Returns out. */
char	*log_clean(const char *in, char *out, size_t outlen);

/* Bad configuration or start-up failure: log at LOG_ERR and exit with the
   sysexits.h code `status`. */
void	die(int status, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
/* A broken invariant: log and abort for a core. */
void	panic(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
