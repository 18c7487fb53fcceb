/*
 * sesgatectl.c - the admin command: global options, the command table
 * (usage strings and handlers; usage is printed from it), dispatch, and
 * the helpers the commands share (configuration and Redis on first use,
 * option and level parsing, dates, error reporting). Single-threaded.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "buf.h"
#include "ctl.h"
#include "log.h"
#include "mem.h"
#include "str.h"

static const struct ctl_cmd ctl_cmds[] = {
	{ "suppression list [--reason BOUNCE|COMPLAINT] [--since DATE] "
	    "[--until DATE]", "list suppressed addresses, oldest first",
	    cmd_suppression_list },
	{ "suppression get ADDR", "show the suppression entry of an address",
	    cmd_suppression_get },
	{ "suppression add ADDR BOUNCE|COMPLAINT [--expires DURATION|DATE]",
	    "suppress an address", cmd_suppression_add },
	{ "suppression remove ADDR", "remove an address from the list",
	    cmd_suppression_remove },
	{ "suppression import FILE|-",
	    "add the addresses of a CSV or JSON-lines file",
	    cmd_suppression_import },
	{ "suppression export [FILE|-] [--format csv|json]",
	    "write the list in a form import reads", cmd_suppression_export },
	{ "identity add ADDR|DOMAIN", "mark an address or domain verified",
	    cmd_identity_add },
	{ "identity remove ADDR|DOMAIN", "forget a verified identity",
	    cmd_identity_remove },
	{ "identity list", "list the verified identities",
	    cmd_identity_list },
	{ "quota set account|domain D|sender ID max_24h|max_rate|burst "
	    "VALUE", "override a limit (VALUE: number, unlimited, default)",
	    cmd_quota_set },
	{ "quota show account|domain D|sender ID",
	    "effective limits and where they come from", cmd_quota_show },
	{ "quota usage account|domain D|sender ID",
	    "recipients counted in the current window", cmd_quota_usage },
	{ "pause [account|sender ID|domain D] [--reason TEXT] "
	    "[--for DURATION]", "stop sending (temporary refusals)",
	    cmd_pause },
	{ "resume [account|sender ID|domain D]", "lift a pause", cmd_resume },
	{ "status", "pauses in force, sandbox mode and region", cmd_status },
	{ "stats", "decision counters of the policy service", cmd_stats },
	{ "dkim keygen DOMAIN SELECTOR [--ed25519] [--bits N] [--out FILE]",
	    "create a DKIM key and print the DNS record to publish",
	    cmd_dkim_keygen },
	{ "dns-records DOMAIN [--region R] [--mail-from SUBDOMAIN] "
	    "[--token TOKEN]", "the DNS records the domain needs for SES",
	    cmd_dns_records },
	{ "smtp-password [--region R] [--secret-env NAME]",
	    "the SES SMTP password of an IAM secret access key (from "
	    "standard input, or the variable NAME)", cmd_smtp_password },
	{ "postfix-config --user KEYID [--region R] [--secret-env NAME]",
	    "the postconf commands and sasl_passwd line that relay to SES",
	    cmd_postfix_config },
	{ "check-config [FILE]", "check the configuration, the key files and "
	    "files it names, Redis and the decision script",
	    cmd_check_config },
};
#define NCMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

/* Number of literal words at the start of a usage string: words of
   lowercase letters, with inner '-' ("dns-records"); "account|domain",
   "[...]" and "ADDR" are not. */
static int
ctl_literals(const char *usage, char words[][32], int max)
{
	int n = 0;

	while (*usage != '\0' && n < max) {
		size_t len = strcspn(usage, " ");

		for (size_t i = 0; i < len; i++)
			if (!islower((unsigned char)usage[i]) &&
			    !(usage[i] == '-' && i > 0 && i + 1 < len))
				return n;
		if (len >= sizeof(words[0]))
			return n;
		memcpy(words[n], usage, len);
		words[n++][len] = '\0';
		usage += len;
		while (*usage == ' ')
			usage++;
	}
	return n;
}

static void
ctl_print_usage(FILE *fp, const char *group)
{
	fprintf(fp, "usage: sesgatectl [-c FILE] [--json] COMMAND ...\n\n"
	    "commands:\n");
	for (size_t i = 0; i < NCMDS; i++) {
		char words[4][32];

		if (group != NULL && (ctl_literals(ctl_cmds[i].usage, words,
		    4) < 1 || strcmp(words[0], group) != 0))
			continue;
		fprintf(fp, "  %s\n      %s\n", ctl_cmds[i].usage,
		    ctl_cmds[i].help);
	}
	fprintf(fp, "\nDATE: 2026-01-31, 2026-01-31T12:00:00Z or unix "
	    "seconds; DURATION: 90s, 30m, 12h, 7d, 2w.\n"
	    "See sesgatectl(8).\n");
}

int
ctl_error(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("sesgatectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int
ctl_usage_error(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	fputs("sesgatectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c->cmd != NULL)
		fprintf(stderr, "usage: sesgatectl [-c FILE] [--json] %s\n",
		    c->cmd->usage);
	return EX_USAGE;
}

void
ctl_url(const struct ctl *c, char *out, size_t outlen)
{
	const char	*url = c->cf != NULL ? c->cf->redis_url : "";
	const char	*auth = strstr(url, "://");
	const char	*end, *at = NULL, *colon;
	struct buf	 b = BUF_INIT;

	if (auth == NULL) {
		(void)str_copy(out, outlen, url);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL) {
		(void)str_copy(out, outlen, url);
		return;
	}
	colon = memchr(auth, ':', (size_t)(at - auth));
	buf_append(&b, url, (size_t)(auth - url));
	if (colon != NULL)
		buf_append(&b, auth, (size_t)(colon - auth + 1));
	buf_puts(&b, "***");
	buf_puts(&b, at);
	(void)str_copy(out, outlen, b.data);
	buf_free(&b);
}

const struct config *
ctl_config(struct ctl *c)
{
	char *errors = NULL;

	if (c->cf != NULL)
		return c->cf;
	c->cf = config_load(c->conf_path, &errors);
	if (c->cf == NULL) {
		fprintf(stderr, "sesgatectl: %s: configuration errors (fix "
		    "them, or name another file with -c):\n%s", c->conf_path,
		    errors != NULL ? errors : "");
		free(errors);
		exit(EX_CONFIG);
	}
	return c->cf;
}

struct store *
ctl_store(struct ctl *c)
{
	char err[512], url[512];

	if (c->st != NULL)
		return c->st;
	(void)ctl_config(c);
	c->st = store_open(c->cf, err, sizeof(err));
	if (c->st == NULL) {
		ctl_url(c, url, sizeof(url));
		output_free(&c->out);
		ctl_error(EX_UNAVAILABLE, "cannot reach Redis at %s: %s; check "
		    "that the server runs and [redis] url in %s", url, err,
		    c->conf_path);
		exit(EX_UNAVAILABLE);
	}
	return c->st;
}

int
ctl_fail(struct ctl *c, int rc, const char *errbuf)
{
	char url[512];

	if (rc == ADMIN_EINPUT)
		return ctl_error(EX_DATAERR, "%s", errbuf);
	ctl_url(c, url, sizeof(url));
	return ctl_error(EX_TEMPFAIL, "Redis at %s: %s; nothing more was "
	    "done, try again when it answers", url, errbuf);
}

int
ctl_getopts(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts,
    char **pos, int maxpos, int *npos_out)
{
	int npos = 0;

	for (int i = 0; i < argc; i++) {
		const char	*a = argv[i], *eq;
		size_t		 len;
		size_t		 k;

		if (strcmp(a, "--") == 0) {
			while (++i < argc) {
				if (npos == maxpos)
					return ctl_usage_error(c, "too many "
					    "arguments");
				pos[npos++] = argv[i];
			}
			break;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (npos == maxpos)
				return ctl_usage_error(c, "unexpected argument "
				    "\"%s\"", a);
			pos[npos++] = argv[i];
			continue;
		}
		a += 2;
		eq = strchr(a, '=');
		len = eq != NULL ? (size_t)(eq - a) : strlen(a);
		for (k = 0; opts != NULL && opts[k].name != NULL; k++)
			if (strlen(opts[k].name) == len &&
			    strncmp(opts[k].name, a, len) == 0)
				break;
		if (opts == NULL || opts[k].name == NULL)
			return ctl_usage_error(c, "unknown option \"%s\"",
			    argv[i]);
		if (eq != NULL) {
			*opts[k].value = eq + 1;
		} else {
			if (i + 1 >= argc)
				return ctl_usage_error(c, "option \"--%s\" "
				    "wants a value", opts[k].name);
			*opts[k].value = argv[++i];
		}
	}
	*npos_out = npos;
	return 0;
}

int
ctl_level(struct ctl *c, char **pos, int npos, int *i,
    enum schema_level *level_out, const char **id_out)
{
	if (*i >= npos)
		return ctl_usage_error(c, "name a level: account, domain D or "
		    "sender ID");
	if (schema_level_parse(pos[*i], level_out) < 0)
		return ctl_usage_error(c, "\"%s\" is not a level: want "
		    "account, domain D or sender ID", pos[*i]);
	(*i)++;
	*id_out = NULL;
	if (*level_out == SCHEMA_ACCOUNT)
		return 0;
	if (*i >= npos)
		return ctl_usage_error(c, "%s wants a %s",
		    schema_level_name(*level_out),
		    *level_out == SCHEMA_DOMAIN ? "domain name" :
		    "sender ID (SASL user name or address)");
	*id_out = pos[(*i)++];
	return 0;
}

void
ctl_output_level(struct ctl *c, enum schema_level level, const char *id)
{
	char norm[ADDR_BUFSZ] = "", err[128];

	if (level != SCHEMA_ACCOUNT)
		(void)admin_level_id(level, id, norm, sizeof(norm), err,
		    sizeof(err));
	output_str(c->out, "level", schema_level_name(level));
	output_str(c->out, "id", norm);
}

int
ctl_parse_date(const char *s, long long *t_out)
{
	struct tm	tm, back;
	int		y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	time_t		t;
	bool		digits = *s != '\0';

	for (const char *p = s; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			digits = false;
	if (digits)
		return str_to_ll(s, 0, 253402300799LL, t_out);
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	if (s[n] == 'T') {
		int m = 0;

		if (sscanf(s + n, "T%2d:%2d:%2d%n", &h, &mi, &sec, &m) != 3 ||
		    m != 9)
			return -1;
		n += m;
		if (s[n] == 'Z')
			n++;
	}
	if (s[n] != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm() moves 2026-02-31 into March: refuse what it changed. */
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL ||
	    back.tm_year != y - 1900 || back.tm_mon != mo - 1 ||
	    back.tm_mday != d || back.tm_hour != h || back.tm_min != mi ||
	    back.tm_sec != sec)
		return -1;
	*t_out = (long long)t;
	return 0;
}

void
ctl_fmt_time(long long t, char *out, size_t outlen)
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)str_fmt(out, outlen, "%lld", t);
}

void
ctl_fmt_duration(long long ms, char *out, size_t outlen)
{
	static const struct {
		char		unit;
		long long	ms;
	} units[] = {
		{ 'd', 86400000 }, { 'h', 3600000 }, { 'm', 60000 },
		{ 's', 1000 },
	};
	size_t	n = 0;
	long long s = (ms + 999) / 1000 * 1000;

	if (outlen > 0)
		*out = '\0';
	if (s == 0) {
		(void)str_copy(out, outlen, "0s");
		return;
	}
	for (size_t i = 0; i < 4; i++) {
		long long q = s / units[i].ms;

		if (q == 0)
			continue;
		s -= q * units[i].ms;
		if (n < outlen)
			n += (size_t)snprintf(out + n, outlen - n, "%lld%c", q,
			    units[i].unit);
	}
}

/* The command argv names, or NULL; *nwords_out literal words used. */
static const struct ctl_cmd *
ctl_find(int argc, char **argv, int *nwords_out, bool *group_out)
{
	*group_out = false;
	for (size_t i = 0; i < NCMDS; i++) {
		char	words[4][32];
		int	n = ctl_literals(ctl_cmds[i].usage, words, 4), k;

		if (n > 0 && argc > 0 && strcmp(argv[0], words[0]) == 0)
			*group_out = true;
		for (k = 0; k < n; k++)
			if (k >= argc || strcmp(argv[k], words[k]) != 0)
				break;
		if (k == n) {
			*nwords_out = n;
			return &ctl_cmds[i];
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct ctl	 c = { CONFIG_DEFAULT_PATH, NULL, NULL, NULL, NULL };
	bool		 json = false, group;
	char		**rest;
	int		 nrest = 0, nwords = 0, status;

	log_open("sesgatectl", LOG_USER, true, LOG_WARNING);
	rest = xcalloc((size_t)argc + 1, sizeof(*rest));
	/* Global options come before the command; --json may also follow
	   it, as long as it is not the value of an option. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (nrest == 0 && strcmp(argv[i], "-c") == 0) {
			if (++i >= argc) {
				free(rest);
				ctl_print_usage(stderr, NULL);
				return ctl_error(EX_USAGE, "-c wants a file");
			}
			c.conf_path = argv[i];
		} else if (nrest == 0 && (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)) {
			free(rest);
			ctl_print_usage(stdout, NULL);
			return EX_OK;
		} else if (nrest == 0 && argv[i][0] == '-') {
			free(rest);
			ctl_print_usage(stderr, NULL);
			return ctl_error(EX_USAGE, "unknown option \"%s\"",
			    argv[i]);
		} else {
			rest[nrest++] = argv[i];
			if (strcmp(argv[i], "--") == 0)
				while (++i < argc)
					rest[nrest++] = argv[i];
		}
	}
	c.cmd = ctl_find(nrest, rest, &nwords, &group);
	if (c.cmd == NULL) {
		ctl_print_usage(stderr, group ? rest[0] : NULL);
		if (nrest == 0)
			status = ctl_error(EX_USAGE, "name a command");
		else
			status = ctl_error(EX_USAGE,
			    "unknown command \"%s%s%s\"",
			    rest[0], nrest > 1 && group ? " " : "",
			    nrest > 1 && group ? rest[1] : "");
		free(rest);
		return status;
	}
	c.out = output_new(json);
	status = c.cmd->fn(&c, nrest - nwords, rest + nwords);
	output_free(&c.out);
	store_close(&c.st);
	config_free(&c.cf);
	free(rest);
	return status;
}
