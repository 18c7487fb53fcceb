/*
 * config.c - reads sesgate.conf with libinih. One table types, defaults
 * and validates every key; defaults go through the same parsers as the
 * file, so a default can never be a value the file could not hold. The
 * result is immutable; building one is not thread-safe (libinih's settings
 * are global), so programs load from one thread.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <ini.h>

#include "buf.h"
#include "cidr.h"
#include "config.h"
#include "mem.h"
#include "redisurl.h"
#include "str.h"

enum opt_type {
	OPT_STR,
	OPT_LIST,
	OPT_BOOL,
	OPT_COUNT,	/* integer >= 0, or "unlimited" */
	OPT_INT,	/* integer in [min, max] */
	OPT_RATE,	/* number > 0, or "unlimited" */
	OPT_DURATION,	/* with unit, stored in ms */
	OPT_MODE,	/* octal file mode */
	OPT_FACILITY,
	OPT_LOGLEVEL,
	OPT_CIDRS,
	OPT_ENUM,
	OPT_REGION,
	OPT_PREFIX,
	OPT_URL,
	OPT_LISTEN,	/* list of unix:/path and inet:host:port */
};

struct config_opt {
	const char		*section;
	const char		*name;
	enum opt_type		 type;
	size_t			 off;
	const char		*def;
	long long		 min, max;
	const char *const	*names;	/* OPT_ENUM */
	bool			 secret;
};

static const char *const store_actions[] = {
	"defer_if_permit", "defer", "dunno", NULL
};
static const char *const sender_identities[] = { "sasl", "envelope", NULL };

#define OFF(f)	offsetof(struct config, f)
#define LIMITS(sec, lvl, f, d24, drate)					\
	{ sec, #lvl "_max_24h", OPT_COUNT, OFF(f.max_24h), d24, 0, 0,	\
	    NULL, false },						\
	{ sec, #lvl "_max_rate", OPT_RATE, OFF(f.max_rate), drate, 0, 0, \
	    NULL, false },						\
	{ sec, #lvl "_burst", OPT_INT, OFF(f.burst), "0", 0, 1000000000, \
	    NULL, false }

static const struct config_opt config_opts[] = {
	{ "global", "region", OPT_REGION, OFF(region), "us-east-1",
	    0, 0, NULL, false },
	{ "global", "log_facility", OPT_FACILITY, OFF(log_facility), "mail",
	    0, 0, NULL, false },
	{ "global", "log_level", OPT_LOGLEVEL, OFF(log_level), "info",
	    0, 0, NULL, false },
	{ "global", "internal_hosts", OPT_CIDRS, OFF(internal_hosts),
	    "127.0.0.0/8, ::1", 0, 0, NULL, false },

	{ "redis", "url", OPT_URL, OFF(redis_url), "redis://127.0.0.1:6379/0",
	    0, 0, NULL, true },
	{ "redis", "prefix", OPT_PREFIX, OFF(redis_prefix), "sesgate:",
	    0, 0, NULL, false },
	{ "redis", "connect_timeout", OPT_DURATION,
	    OFF(redis_connect_timeout_ms), "1s", 1, 60000, NULL, false },
	{ "redis", "timeout", OPT_DURATION, OFF(redis_timeout_ms), "250ms",
	    1, 60000, NULL, false },
	{ "redis", "suppression_hash_key", OPT_STR,
	    OFF(suppression_hash_key), "", 0, 0, NULL, true },

	{ "policyd", "listen", OPT_LISTEN, OFF(policyd_listen),
	    "inet:127.0.0.1:10031", 0, 0, NULL, false },
	{ "policyd", "socket_mode", OPT_MODE, OFF(policyd_socket_mode),
	    "0660", 0, 0777, NULL, false },
	{ "policyd", "max_connections", OPT_INT,
	    OFF(policyd_max_connections), "1000", 1, 100000, NULL, false },
	{ "policyd", "idle_timeout", OPT_DURATION,
	    OFF(policyd_idle_timeout_ms), "10m", 1000, 86400000, NULL,
	    false },
	{ "policyd", "on_store_error", OPT_ENUM,
	    OFF(policyd_on_store_error), "defer_if_permit", 0, 0,
	    store_actions, false },
	{ "policyd", "verify_sender", OPT_BOOL, OFF(policyd_verify_sender),
	    "yes", 0, 0, NULL, false },
	{ "policyd", "sender_identity", OPT_ENUM,
	    OFF(policyd_sender_identity), "sasl", 0, 0, sender_identities,
	    false },
	{ "policyd", "max_recipients", OPT_INT, OFF(policyd_max_recipients),
	    "50", 1, 100000, NULL, false },
	{ "policyd", "quota_window", OPT_DURATION,
	    OFF(policyd_quota_window_ms), "24h", 1000, 366LL * 86400000,
	    NULL, false },
	{ "policyd", "sandbox", OPT_BOOL, OFF(policyd_sandbox), "no",
	    0, 0, NULL, false },
	LIMITS("policyd", sandbox, policyd_sandbox_limits, "200", "1"),
	LIMITS("policyd", account, policyd_account, "50000", "14"),
	LIMITS("policyd", domain, policyd_domain, "unlimited", "unlimited"),
	LIMITS("policyd", sender, policyd_sender, "unlimited", "unlimited"),
	{ NULL, NULL, OPT_STR, 0, NULL, 0, 0, NULL, false }
};

struct config_name {
	const char	*name;
	int		 value;
};

static const struct config_name facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
}, levels[] = {
	{ "err", LOG_ERR }, { "error", LOG_ERR }, { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

#define NOPTS	(sizeof(config_opts) / sizeof(config_opts[0]) - 1)

struct config_parse {
	struct config	*cf;
	struct buf	 errors;
	const char	*path;
	FILE		*fp;
	int		 lineno;
	bool		 seen[NOPTS];
};

static void *
config_field(struct config *cf, const struct config_opt *o)
{
	return (char *)cf + o->off;
}

static void
config_free_field(struct config *cf, const struct config_opt *o)
{
	void *f = config_field(cf, o);

	switch (o->type) {
	case OPT_STR:
	case OPT_REGION:
	case OPT_PREFIX:
	case OPT_URL:
		free(*(char **)f);
		*(char **)f = NULL;
		break;
	case OPT_LIST:
	case OPT_LISTEN: {
		char **l = *(char ***)f;

		for (size_t i = 0; l != NULL && l[i] != NULL; i++)
			free(l[i]);
		free(l);
		*(char ***)f = NULL;
		break;
	}
	case OPT_CIDRS:
		cidr_list_free((struct cidr_list **)f);
		break;
	default:
		break;
	}
}

static int
config_lookup_name(const char *v, const struct config_name *t, size_t n,
    int *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(v, t[i].name) == 0) {
			*out = t[i].value;
			return 0;
		}
	}
	return -1;
}

static bool
config_region_ok(const char *v)
{
	/* AWS region names: lowercase words joined by '-', ending in a
	   number (us-east-1, us-gov-west-1, ap-southeast-5). AWS's own lists
	   disagree, so the form is checked, not the name. */
	const char	*p = v;
	int		 words = 0;

	while (*p >= 'a' && *p <= 'z') {
		while (*p >= 'a' && *p <= 'z')
			p++;
		words++;
		if (*p != '-')
			return false;
		p++;
	}
	if (words < 2 || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == '\0';
}

/* Parse value v for option o into cf; NULL, or what is wrong. */
static const char *
config_set(struct config *cf, const struct config_opt *o, const char *v,
    char *why, size_t whylen)
{
	void		*f = config_field(cf, o);
	long long	 ll;
	double		 d;
	int		 iv;

	switch (o->type) {
	case OPT_STR:
		config_free_field(cf, o);
		*(char **)f = xstrdup(v);
		return NULL;
	case OPT_URL: {
		struct redisurl *u = redisurl_parse(v, why, whylen);

		if (u == NULL)
			return why;
		redisurl_free(&u);
		config_free_field(cf, o);
		*(char **)f = xstrdup(v);
		return NULL;
	}
	case OPT_PREFIX:
		for (const char *p = v; *p != '\0'; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return "no white space or control characters "
				    "in a key prefix";
		if (strlen(v) > 64)
			return "at most 64 characters";
		config_free_field(cf, o);
		*(char **)f = xstrdup(v);
		return NULL;
	case OPT_REGION:
		if (!config_region_ok(v))
			return "not an AWS region name such as us-east-1";
		config_free_field(cf, o);
		*(char **)f = xstrdup(v);
		return NULL;
	case OPT_LIST:
	case OPT_LISTEN: {
		char	*copy = xstrdup(v), *save = NULL, *tok;
		char	**l = xcalloc(1, sizeof(*l));
		size_t	 n = 0;

		for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &save)) {
			if (o->type == OPT_LISTEN &&
			    strncmp(tok, "unix:/", 6) != 0 &&
			    strncmp(tok, "inet:", 5) != 0) {
				snprintf(why, whylen, "\"%s\" is neither "
				    "unix:/path nor inet:host:port", tok);
				for (size_t i = 0; i < n; i++)
					free(l[i]);
				free(l);
				free(copy);
				return why;
			}
			l = xrealloc(l, (n + 2) * sizeof(*l));
			l[n++] = xstrdup(tok);
			l[n] = NULL;
		}
		free(copy);
		if (o->type == OPT_LISTEN && n == 0) {
			free(l);
			return "no socket given";
		}
		config_free_field(cf, o);
		*(char ***)f = l;
		return NULL;
	}
	case OPT_BOOL:
		if (str_ieq(v, "yes") || str_ieq(v, "true") ||
		    str_ieq(v, "on") || strcmp(v, "1") == 0)
			*(bool *)f = true;
		else if (str_ieq(v, "no") || str_ieq(v, "false") ||
		    str_ieq(v, "off") || strcmp(v, "0") == 0)
			*(bool *)f = false;
		else
			return "want yes or no";
		return NULL;
	case OPT_COUNT:
		if (str_ieq(v, "unlimited")) {
			*(long long *)f = CONFIG_UNLIMITED;
			return NULL;
		}
		if (str_to_ll(v, 0, 1000000000000LL, &ll) < 0)
			return "want a whole number >= 0 or \"unlimited\"";
		*(long long *)f = ll;
		return NULL;
	case OPT_INT:
		if (str_to_ll(v, o->min, o->max, &ll) < 0) {
			snprintf(why, whylen, "want a whole number from %lld "
			    "to %lld", o->min, o->max);
			return why;
		}
		*(long long *)f = ll;
		return NULL;
	case OPT_RATE:
		if (str_ieq(v, "unlimited")) {
			*(double *)f = CONFIG_UNLIMITED;
			return NULL;
		}
		if (str_to_double(v, 0.001, 1e9, &d) < 0)
			return "want a number of messages per second "
			    "(0.001 or more) or \"unlimited\"";
		*(double *)f = d;
		return NULL;
	case OPT_DURATION:
		if (str_to_duration_ms(v, &ll) < 0)
			return "want a duration such as 250ms, 30s, 10m, "
			    "24h or 7d";
		if (ll < o->min || ll > o->max) {
			snprintf(why, whylen, "want a duration from %lldms "
			    "to %lldms", o->min, o->max);
			return why;
		}
		*(long long *)f = ll;
		return NULL;
	case OPT_MODE: {
		char *end;

		ll = strtoll(v, &end, 8);
		if (*v == '\0' || *end != '\0' || ll < 0 || ll > o->max)
			return "want an octal mode such as 0660";
		*(long long *)f = ll;
		return NULL;
	}
	case OPT_FACILITY:
		if (config_lookup_name(v, facilities,
		    sizeof(facilities) / sizeof(facilities[0]), &iv) < 0)
			return "want mail, daemon, user or local0..local7";
		*(int *)f = iv;
		return NULL;
	case OPT_LOGLEVEL:
		if (config_lookup_name(v, levels,
		    sizeof(levels) / sizeof(levels[0]), &iv) < 0)
			return "want err, warning, notice, info or debug";
		*(int *)f = iv;
		return NULL;
	case OPT_CIDRS: {
		struct cidr_list *l = cidr_list_parse(v, why, whylen);

		if (l == NULL)
			return why;
		config_free_field(cf, o);
		*(struct cidr_list **)f = l;
		return NULL;
	}
	case OPT_ENUM:
		for (int i = 0; o->names[i] != NULL; i++) {
			if (str_ieq(v, o->names[i])) {
				*(int *)f = i;
				return NULL;
			}
		}
		{
			struct buf b = BUF_INIT;

			buf_puts(&b, "want one of");
			for (int i = 0; o->names[i] != NULL; i++)
				buf_printf(&b, "%s %s", i ? "," : "",
				    o->names[i]);
			snprintf(why, whylen, "%s", b.data);
			buf_free(&b);
		}
		return why;
	}
	return "unknown option type";
}

static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	char *r = fgets(str, num, p->fp);

	if (r != NULL)
		p->lineno++;
	return r;
}

static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_parse	*p = user;
	bool			 known_section = false;
	char			 why[256];
	const char		*err;

	for (size_t i = 0; i < NOPTS; i++) {
		const struct config_opt *o = &config_opts[i];

		if (strcmp(o->section, section) != 0)
			continue;
		known_section = true;
		if (strcmp(o->name, name) != 0)
			continue;
		if (p->seen[i]) {
			buf_printf(&p->errors, "%s:%d: [%s] %s: given twice\n",
			    p->path, p->lineno, section, name);
			return 1;
		}
		p->seen[i] = true;
		err = config_set(p->cf, o, value, why, sizeof(why));
		if (err != NULL)
			buf_printf(&p->errors, "%s:%d: [%s] %s: bad value "
			    "\"%s\": %s\n", p->path, p->lineno, section, name,
			    o->secret ? "(hidden)" : value, err);
		return 1;
	}
	if (!known_section)
		buf_printf(&p->errors, "%s:%d: [%s] %s: unknown section "
		    "\"[%s]\"\n", p->path, p->lineno, section, name,
		    section);
	else
		buf_printf(&p->errors, "%s:%d: [%s] %s: unknown key\n",
		    p->path, p->lineno, section, name);
	return 1;
}

struct config *
config_defaults(void)
{
	struct config	*cf = xcalloc(1, sizeof(*cf));
	char		 why[256];

	for (size_t i = 0; i < NOPTS; i++) {
		const char *err = config_set(cf, &config_opts[i],
		    config_opts[i].def, why, sizeof(why));

		if (err != NULL) {
			fprintf(stderr, "default of %s: %s\n",
			    config_opts[i].name, err);
			abort();
		}
	}
	return cf;
}

struct config *
config_load(const char *path, char **errors_out)
{
	struct config_parse	p;
	int			r;

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.cf = config_defaults();
	p.cf->path = xstrdup(path);
	*errors_out = NULL;
	p.fp = fopen(path, "r");
	if (p.fp == NULL) {
		buf_printf(&p.errors, "%s: cannot read: %m\n", path);
		goto fail;
	}
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = 65536;
	ini_allow_multiline = false;
	ini_allow_inline_comments = true;
	ini_stop_on_first_error = false;
	r = ini_parse_stream(config_reader, &p, config_handler, &p);
	fclose(p.fp);
	if (r > 0)
		buf_printf(&p.errors, "%s:%d: not a [section] or key = value "
		    "line\n", path, r);
	else if (r < 0)
		buf_printf(&p.errors, "%s: cannot parse (%d)\n", path, r);
	if (p.errors.len > 0)
		goto fail;
	return p.cf;
fail:
	config_free(&p.cf);
	*errors_out = p.errors.data;
	return NULL;
}

/* A Redis URL with its password, if any, shown as "(set)". */
static void
config_print_url(const char *url, FILE *fp)
{
	const char *auth = strstr(url, "://"), *at, *colon, *end;

	if (auth == NULL) {
		fputs(url, fp);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (at == NULL) {
		fputs(url, fp);
		return;
	}
	colon = memchr(auth, ':', (size_t)(at - auth));
	fprintf(fp, "%.*s(set)%s", (int)((colon != NULL ? colon + 1 : auth) -
	    url), url, at);
}

static void
config_print_value(const struct config *cf, const struct config_opt *o,
    FILE *fp)
{
	const void *f = (const char *)cf + o->off;

	switch (o->type) {
	case OPT_URL:
		config_print_url(*(char *const *)f, fp);
		break;
	case OPT_STR:
	case OPT_REGION:
	case OPT_PREFIX:
		if (o->secret && **(char *const *)f != '\0')
			fputs("(set)", fp);
		else
			fputs(*(char *const *)f, fp);
		break;
	case OPT_LIST:
	case OPT_LISTEN: {
		char *const *l = *(char **const *)f;

		for (size_t i = 0; l[i] != NULL; i++)
			fprintf(fp, "%s%s", i ? ", " : "", l[i]);
		break;
	}
	case OPT_BOOL:
		fputs(*(const bool *)f ? "yes" : "no", fp);
		break;
	case OPT_COUNT:
		if (*(const long long *)f == CONFIG_UNLIMITED)
			fputs("unlimited", fp);
		else
			fprintf(fp, "%lld", *(const long long *)f);
		break;
	case OPT_INT:
		fprintf(fp, "%lld", *(const long long *)f);
		break;
	case OPT_RATE:
		if (*(const double *)f == CONFIG_UNLIMITED)
			fputs("unlimited", fp);
		else
			fprintf(fp, "%g", *(const double *)f);
		break;
	case OPT_DURATION:
		fprintf(fp, "%lldms", *(const long long *)f);
		break;
	case OPT_MODE:
		fprintf(fp, "0%03llo", *(const long long *)f);
		break;
	case OPT_FACILITY:
		for (size_t i = 0; i < sizeof(facilities) /
		    sizeof(facilities[0]); i++)
			if (facilities[i].value == *(const int *)f) {
				fputs(facilities[i].name, fp);
				break;
			}
		break;
	case OPT_LOGLEVEL:
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]);
		    i++)
			if (levels[i].value == *(const int *)f) {
				fputs(levels[i].name, fp);
				break;
			}
		break;
	case OPT_CIDRS:
		fputs(cidr_list_text(*(struct cidr_list *const *)f), fp);
		break;
	case OPT_ENUM:
		fputs(o->names[*(const int *)f], fp);
		break;
	}
}

void
config_print(const struct config *cf, FILE *fp)
{
	const char *section = "";

	for (size_t i = 0; i < NOPTS; i++) {
		const struct config_opt *o = &config_opts[i];

		if (strcmp(section, o->section) != 0) {
			fprintf(fp, "%s[%s]\n", i ? "\n" : "", o->section);
			section = o->section;
		}
		fprintf(fp, "%s = ", o->name);
		config_print_value(cf, o, fp);
		fputc('\n', fp);
	}
}

bool
config_option(size_t i, const char **section_out, const char **name_out)
{
	if (i >= NOPTS)
		return false;
	*section_out = config_opts[i].section;
	*name_out = config_opts[i].name;
	return true;
}

const char *
config_store_action_name(int action)
{
	return store_actions[action];
}

void
config_free(struct config **cfp)
{
	struct config *cf = *cfp;

	if (cf == NULL)
		return;
	*cfp = NULL;
	for (size_t i = 0; i < NOPTS; i++)
		config_free_field(cf, &config_opts[i]);
	free(cf->path);
	free(cf);
}
