/*
 * log.c - the one place that writes log lines. The settings are written at
 * start and on reload (between requests, by the thread that owns them) and
 * read everywhere; a line is formatted into a stack buffer and written with
 * one syslog() or write() call, so lines from threads never interleave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048

static struct {
	char	prog[64];
	bool	to_stderr;
	int	level;
} log_state = { "sesgate", true, LOG_INFO };

void
log_open(const char *prog, int facility, bool to_stderr, int level)
{
	snprintf(log_state.prog, sizeof(log_state.prog), "%s", prog);
	log_state.to_stderr = to_stderr;
	log_state.level = level;
	if (!to_stderr)
		openlog(log_state.prog, LOG_PID | LOG_NDELAY, facility);
}

void
log_reconfigure(int facility, int level)
{
	log_state.level = level;
	if (!log_state.to_stderr) {
		closelog();
		openlog(log_state.prog, LOG_PID | LOG_NDELAY, facility);
	}
}

bool
log_enabled(int level)
{
	return level <= log_state.level;
}

static const char *
log_level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
		return "fatal";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
log_vmsg(int level, const char *qid, const char *fmt, va_list ap)
{
	char	line[LOG_LINE_MAX];
	size_t	n = 0;
	int	r;

	if (!log_enabled(level))
		return;
	if (qid != NULL) {
		r = snprintf(line, sizeof(line), "%s: ",
		    *qid != '\0' ? qid : LOG_QID_NONE);
		n = r > 0 ? (size_t)r : 0;
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
	}
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r;
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	if (log_state.to_stderr) {
		char	out[LOG_LINE_MAX + 96];
		int	m;

		m = snprintf(out, sizeof(out), "%s[%ld]: %s: %.*s\n",
		    log_state.prog, (long)getpid(), log_level_name(level),
		    (int)n, line);
		if (m > 0)
			(void)!write(STDERR_FILENO, out,
			    (size_t)m < sizeof(out) ? (size_t)m :
			    sizeof(out) - 1);
	} else {
		syslog(level, "%.*s", (int)n, line);
	}
}

void
log_msg(int level, const char *qid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, qid, fmt, ap);
	va_end(ap);
}

void
log_lines(int level, const char *qid, const char *prefix, const char *text)
{
	const char *p = text, *nl;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		if (nl != p)
			log_msg(level, qid, "%s: %.*s", prefix, nl != NULL ?
			    (int)(nl - p) : (int)strlen(p), p);
		p = nl != NULL ? nl + 1 : NULL;
	}
}

char *
log_clean(const char *in, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (outlen == 0)
		return out;
	for (i = 0; in != NULL && in[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (o + 1 >= outlen) {
			if (outlen > 4)
				memcpy(out + outlen - 4, "...", 3);
			o = outlen - 1;
			break;
		}
		out[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	out[o] = '\0';
	return out;
}

void
die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(status);
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	abort();
}
