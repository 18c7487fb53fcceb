/*
 * admin.c - administrative reads and writes of the Redis schema: the
 * operations behind sesgatectl (identities, pauses, quota overrides,
 * usage, counters), built on store.h and schema.h, and the command
 * helpers that suppression.c shares. Every key comes from schema_key()
 * and every address through addr.h first. No state of its own; use one
 * struct store per thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "log.h"
#include "mem.h"
#include "str.h"

static const char *const field_names[ADMIN_NFIELDS] = {
	"max_24h", "max_rate", "burst"
};

struct store_reply *
admin_cmd(struct store *st, char *errbuf, size_t errlen, int n, ...)
{
	struct schema_argv	 cmd;
	struct store_reply	*r;
	va_list			 ap;
	int			 bad = 0;

	schema_argv_init(&cmd);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *s = va_arg(ap, const char *);

		bad |= schema_argv_add(&cmd, s, strlen(s));
	}
	va_end(ap);
	if (bad) {
		snprintf(errbuf, errlen, "command too long");
		return NULL;
	}
	r = store_command(st, &cmd, errbuf, errlen);
	if (r != NULL && r->type == STORE_ERROR) {
		snprintf(errbuf, errlen, "%s: %s", cmd.argv[0], r->str);
		store_reply_free(&r);
	}
	return r;
}

struct store_reply *
admin_eval(struct store *st, const struct schema_argv *cmd, char *errbuf,
    size_t errlen)
{
	struct store_reply *r = store_eval(st, cmd, errbuf, errlen);

	if (r != NULL && r->type == STORE_ERROR) {
		snprintf(errbuf, errlen, "script: %s", r->str);
		store_reply_free(&r);
	}
	return r;
}

long long
admin_int_reply(struct store_reply *r, char *errbuf, size_t errlen)
{
	long long v;

	if (r == NULL)
		return -1;
	if (r->type != STORE_INTEGER) {
		snprintf(errbuf, errlen, "unexpected reply from Redis");
		store_reply_free(&r);
		return -1;
	}
	v = r->integer;
	store_reply_free(&r);
	return v;
}

int
admin_key(struct store *st, char *out, size_t outlen, enum schema_kind kind,
    enum schema_level level, const char *id, char *errbuf, size_t errlen)
{
	if (schema_key(out, outlen, store_prefix(st), kind, level, id) == 0)
		return 0;
	snprintf(errbuf, errlen, "key for \"%s\" is too long",
	    ADMIN_QUOTE(id));
	return ADMIN_EINPUT;
}

/* True when s holds a byte that has no place in an identifier given on
   a command line or in a file: control characters, white space, quotes,
   glob characters. */
static bool
admin_has_bad_char(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= 0x20 || ch == 0x7f || strchr("\"'*?[]\\", ch))
			return true;
	}
	return false;
}

int
admin_level_id(enum schema_level level, const char *in, char *out,
    size_t outlen, char *errbuf, size_t errlen)
{
	switch (level) {
	case SCHEMA_ACCOUNT:
		if (outlen > 0)
			*out = '\0';
		return 0;
	case SCHEMA_DOMAIN:
		if (in == NULL || addr_normalise_domain(in, out, outlen) < 0) {
			snprintf(errbuf, errlen, "\"%s\" is not a domain name "
			    "(letters, digits, '-' and dots, e.g. example.com)",
			    ADMIN_QUOTE(in));
			return ADMIN_EINPUT;
		}
		return 0;
	case SCHEMA_SENDER:
		break;
	}
	if (in == NULL || *in == '\0') {
		snprintf(errbuf, errlen, "empty sender ID");
		return ADMIN_EINPUT;
	}
	if (strchr(in, '@') != NULL) {
		if (addr_normalise(in, out, outlen) < 0 ||
		    admin_has_bad_char(out)) {
			snprintf(errbuf, errlen, "\"%s\" is not a usable "
			    "sender address (local@domain, without white "
			    "space, quotes or glob characters)",
			    ADMIN_QUOTE(in));
			return ADMIN_EINPUT;
		}
		return 0;
	}
	/* A SASL user name: Postfix passes it as the client gave it, and
	   the policy service uses it as is. */
	if (admin_has_bad_char(in) || strlen(in) > ADMIN_ID_MAX ||
	    str_copy(out, outlen, in) < 0) {
		snprintf(errbuf, errlen, "\"%s\" is not a usable sender ID "
		    "(a SASL user name or an address, without white space, "
		    "quotes or glob characters)", ADMIN_QUOTE(in));
		return ADMIN_EINPUT;
	}
	return 0;
}

/* Identities. */

static int
admin_identity_norm(const char *ident, char *out, size_t outlen,
    char *errbuf, size_t errlen)
{
	if (addr_normalise_identity(ident, out, outlen) < 0 ||
	    admin_has_bad_char(out)) {
		snprintf(errbuf, errlen, "\"%s\" is neither an address "
		    "(user@example.com) nor a domain (example.com)",
		    ADMIN_QUOTE(ident));
		return ADMIN_EINPUT;
	}
	return 0;
}

static int
admin_identity_change(struct store *st, const char *cmd, const char *ident,
    char *errbuf, size_t errlen)
{
	char	norm[ADDR_BUFSZ], key[SCHEMA_KEY_MAX];
	int	r;

	if ((r = admin_identity_norm(ident, norm, sizeof(norm), errbuf,
	    errlen)) < 0)
		return r;
	if ((r = admin_key(st, key, sizeof(key), SCHEMA_IDENTITIES,
	    SCHEMA_ACCOUNT, NULL, errbuf, errlen)) < 0)
		return r;
	return (int)admin_int_reply(admin_cmd(st, errbuf, errlen, 3, cmd, key,
	    norm), errbuf, errlen);
}

int
admin_identity_add(struct store *st, const char *ident, char *errbuf,
    size_t errlen)
{
	return admin_identity_change(st, "SADD", ident, errbuf, errlen);
}

int
admin_identity_remove(struct store *st, const char *ident, char *errbuf,
    size_t errlen)
{
	return admin_identity_change(st, "SREM", ident, errbuf, errlen);
}

int
admin_identity_verified(struct store *st, const char *addr, char *errbuf,
    size_t errlen)
{
	char			 key[SCHEMA_KEY_MAX];
	struct store_reply	*r;
	int			 v;

	if (admin_key(st, key, sizeof(key), SCHEMA_IDENTITIES, SCHEMA_ACCOUNT,
	    NULL, errbuf, errlen) < 0)
		return -1;
	/* The address, or its whole domain (SES's two kinds of identity). */
	r = admin_cmd(st, errbuf, errlen, 4, "SMISMEMBER", key, addr,
	    addr_domain(addr));
	if (r == NULL)
		return -1;
	if (r->type != STORE_ARRAY || r->nelem != 2 ||
	    r->elem[0]->type != STORE_INTEGER ||
	    r->elem[1]->type != STORE_INTEGER) {
		snprintf(errbuf, errlen, "unexpected reply to SMISMEMBER%s%s",
		    r->type == STORE_ERROR ? ": " : "",
		    r->type == STORE_ERROR ? r->str : "");
		store_reply_free(&r);
		return -1;
	}
	v = r->elem[0]->integer == 1 || r->elem[1]->integer == 1;
	store_reply_free(&r);
	return v;
}

static int
admin_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copy the string elements of an array reply into a NULL-terminated
   vector. */
static char **
admin_strv(const struct store_reply *r)
{
	char	**v = xcalloc(r->nelem + 1, sizeof(*v));
	size_t	  n = 0;

	for (size_t i = 0; i < r->nelem; i++)
		if (r->elem[i]->type == STORE_STRING)
			v[n++] = xstrdup(r->elem[i]->str);
	return v;
}

int
admin_identity_list(struct store *st, char ***list_out, char *errbuf,
    size_t errlen)
{
	char			 key[SCHEMA_KEY_MAX];
	struct store_reply	*r;
	char			**v;
	size_t			 n;

	if (admin_key(st, key, sizeof(key), SCHEMA_IDENTITIES, SCHEMA_ACCOUNT,
	    NULL, errbuf, errlen) < 0)
		return -1;
	r = admin_cmd(st, errbuf, errlen, 2, "SMEMBERS", key);
	if (r == NULL)
		return -1;
	v = admin_strv(r);
	store_reply_free(&r);
	for (n = 0; v[n] != NULL; n++)
		;
	qsort(v, n, sizeof(*v), admin_strcmp);
	*list_out = v;
	return 0;
}

void
admin_strv_free(char ***vp)
{
	char **v = *vp;

	if (v == NULL)
		return;
	*vp = NULL;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Pauses. */

int
admin_pause_set(struct store *st, enum schema_level level, const char *id,
    const char *reason, long long ttl_ms, char *errbuf, size_t errlen)
{
	char			 norm[ADDR_BUFSZ], key[SCHEMA_KEY_MAX];
	char			 ttl[32];
	struct store_reply	*r;
	int			 rc;

	if ((rc = admin_level_id(level, id, norm, sizeof(norm), errbuf,
	    errlen)) < 0)
		return rc;
	if (reason == NULL || *reason == '\0')
		reason = "paused by the administrator";
	for (const char *p = reason; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(errbuf, errlen, "the reason must be one line "
			    "of text, without control characters");
			return ADMIN_EINPUT;
		}
	}
	if (strlen(reason) > 200) {
		snprintf(errbuf, errlen, "the reason is longer than 200 "
		    "characters");
		return ADMIN_EINPUT;
	}
	if (ttl_ms < 0) {
		snprintf(errbuf, errlen, "negative pause duration");
		return ADMIN_EINPUT;
	}
	if ((rc = admin_key(st, key, sizeof(key), SCHEMA_PAUSE, level, norm,
	    errbuf, errlen)) < 0)
		return rc;
	if (ttl_ms > 0) {
		snprintf(ttl, sizeof(ttl), "%lld", ttl_ms);
		r = admin_cmd(st, errbuf, errlen, 5, "SET", key, reason, "PX",
		    ttl);
	} else {
		r = admin_cmd(st, errbuf, errlen, 3, "SET", key, reason);
	}
	if (r == NULL)
		return -1;
	store_reply_free(&r);
	return 0;
}

int
admin_pause_clear(struct store *st, enum schema_level level, const char *id,
    char *errbuf, size_t errlen)
{
	char	norm[ADDR_BUFSZ], key[SCHEMA_KEY_MAX];
	int	rc;

	if ((rc = admin_level_id(level, id, norm, sizeof(norm), errbuf,
	    errlen)) < 0)
		return rc;
	if ((rc = admin_key(st, key, sizeof(key), SCHEMA_PAUSE, level, norm,
	    errbuf, errlen)) < 0)
		return rc;
	rc = (int)admin_int_reply(admin_cmd(st, errbuf, errlen, 2, "DEL",
	    key), errbuf, errlen);
	return rc < 0 ? -1 : rc > 0 ? 1 : 0;
}

/* A SCAN pattern that matches s literally, then "*". */
static void
admin_glob_prefix(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s != '\0' && n + 3 < outlen; s++) {
		if (strchr("*?[]\\", *s) != NULL)
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '*';
	out[n] = '\0';
}

/* Parse "<prefix>pause:..." into p; 0, or -1 for a key of another
   shape. */
static int
admin_pause_parse(const char *key, size_t plen, struct admin_pause *p)
{
	const char *rest = key + plen;

	memset(p, 0, sizeof(*p));
	if (strcmp(rest, "account") == 0) {
		p->level = SCHEMA_ACCOUNT;
		p->id = xstrdup("");
	} else if (strncmp(rest, "sender:", 7) == 0) {
		p->level = SCHEMA_SENDER;
		p->id = xstrdup(rest + 7);
	} else if (strncmp(rest, "domain:", 7) == 0) {
		p->level = SCHEMA_DOMAIN;
		p->id = xstrdup(rest + 7);
	} else {
		return -1;
	}
	return 0;
}

static int
admin_pause_cmp(const void *a, const void *b)
{
	const struct admin_pause *x = a, *y = b;

	if (x->level != y->level)
		return (int)x->level - (int)y->level;
	return strcmp(x->id, y->id);
}

/* Reason and remaining time of one pause key; 1, 0 when it is gone, -1. */
static int
admin_pause_read(struct store *st, const char *key, struct admin_pause *p,
    char *errbuf, size_t errlen)
{
	struct store_reply	*r;
	long long		 ttl;

	if ((r = admin_cmd(st, errbuf, errlen, 2, "GET", key)) == NULL)
		return -1;
	if (r->type != STORE_STRING) {
		store_reply_free(&r);
		return 0;
	}
	p->reason = xstrdup(r->str);
	store_reply_free(&r);
	ttl = admin_int_reply(admin_cmd(st, errbuf, errlen, 2, "PTTL", key),
	    errbuf, errlen);
	if (ttl == -2)
		return 0;
	if (ttl < -2)
		return -1;
	p->ttl_ms = ttl;
	return 1;
}

int
admin_pause_list(struct store *st, struct admin_pause **list_out,
    size_t *n_out, char *errbuf, size_t errlen)
{
	char			 base[SCHEMA_KEY_MAX], pat[2 * SCHEMA_KEY_MAX];
	char			 cursor[32] = "0";
	struct admin_pause	*list = NULL;
	size_t			 n = 0, plen;
	int			 rc = 0;

	/* The account's key is "<prefix>pause:account"; cut it after
	   "pause:" for the prefix every pause key shares. */
	if (admin_key(st, base, sizeof(base), SCHEMA_PAUSE, SCHEMA_ACCOUNT,
	    NULL, errbuf, errlen) < 0)
		return -1;
	plen = strlen(base) - strlen("account");
	base[plen] = '\0';
	admin_glob_prefix(base, pat, sizeof(pat));
	do {
		struct store_reply *r, *keys;

		r = admin_cmd(st, errbuf, errlen, 6, "SCAN", cursor, "MATCH",
		    pat, "COUNT", "1000");
		if (r == NULL) {
			rc = -1;
			break;
		}
		if (r->type != STORE_ARRAY || r->nelem != 2 ||
		    r->elem[0]->str == NULL) {
			snprintf(errbuf, errlen, "unexpected SCAN reply");
			store_reply_free(&r);
			rc = -1;
			break;
		}
		(void)str_copy(cursor, sizeof(cursor), r->elem[0]->str);
		keys = r->elem[1];
		for (size_t i = 0; rc == 0 && i < keys->nelem; i++) {
			struct admin_pause p;
			int got;

			if (keys->elem[i]->str == NULL ||
			    admin_pause_parse(keys->elem[i]->str, plen,
			    &p) < 0)
				continue;
			got = admin_pause_read(st, keys->elem[i]->str, &p,
			    errbuf, errlen);
			if (got == 1) {
				list = xrealloc(list, (n + 1) * sizeof(*list));
				list[n++] = p;
				continue;
			}
			free(p.id);
			free(p.reason);
			if (got < 0)
				rc = -1;
		}
		store_reply_free(&r);
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	if (rc < 0) {
		admin_pause_list_free(&list, n);
		return -1;
	}
	if (n > 0)
		qsort(list, n, sizeof(*list), admin_pause_cmp);
	*list_out = list;
	*n_out = n;
	return 0;
}

void
admin_pause_list_free(struct admin_pause **listp, size_t n)
{
	struct admin_pause *list = *listp;

	if (list == NULL)
		return;
	*listp = NULL;
	for (size_t i = 0; i < n; i++) {
		free(list[i].id);
		free(list[i].reason);
	}
	free(list);
}

/* Quota limits. */

int
admin_limit_field_parse(const char *name, enum admin_limit_field *out)
{
	for (int i = 0; i < ADMIN_NFIELDS; i++) {
		if (strcmp(name, field_names[i]) == 0) {
			*out = (enum admin_limit_field)i;
			return 0;
		}
	}
	return -1;
}

const char *
admin_limit_field_name(enum admin_limit_field f)
{
	return field_names[f];
}

/* The configured limits of a level: the sandbox's replace the account's
   in sandbox mode, as in the decision script's arguments. */
static const struct config_limits *
admin_config_limits(const struct config *cf, enum schema_level level)
{
	switch (level) {
	case SCHEMA_DOMAIN:
		return &cf->policyd_domain;
	case SCHEMA_SENDER:
		return &cf->policyd_sender;
	case SCHEMA_ACCOUNT:
		break;
	}
	return cf->policyd_sandbox ? &cf->policyd_sandbox_limits :
	    &cf->policyd_account;
}

/* Check value for field; the text to store into out. 0, or ADMIN_EINPUT. */
static int
admin_limit_value(enum admin_limit_field field, const char *value, char *out,
    size_t outlen, char *errbuf, size_t errlen)
{
	long long	n;
	double		d;

	if (field != ADMIN_BURST && str_ieq(value, "unlimited"))
		return str_copy(out, outlen, "-1") == 0 ? 0 : ADMIN_EINPUT;
	switch (field) {
	case ADMIN_MAX_24H:
	case ADMIN_BURST:
		if (str_to_ll(value, 0, 1000000000000LL, &n) < 0)
			break;
		snprintf(out, outlen, "%lld", n);
		return 0;
	case ADMIN_MAX_RATE:
		if (str_to_double(value, 0.001, 1e9, &d) < 0)
			break;
		snprintf(out, outlen, "%.15g", d);
		return 0;
	}
	snprintf(errbuf, errlen, "%s \"%s\": want %s, or \"default\" to use "
	    "the configured value", field_names[field], ADMIN_QUOTE(value),
	    field == ADMIN_MAX_24H ? "a whole number >= 0 or \"unlimited\"" :
	    field == ADMIN_MAX_RATE ? "a number of messages per second "
	    "(0.001 or more) or \"unlimited\"" :
	    "a whole number >= 0 (0: one second's worth)");
	return ADMIN_EINPUT;
}

/* The limits key of a level and a sender ID or domain as given. */
static int
admin_limits_key(struct store *st, enum schema_level level, const char *id,
    char *key, size_t keylen, char *errbuf, size_t errlen)
{
	char	norm[ADDR_BUFSZ];
	int	rc;

	if ((rc = admin_level_id(level, id, norm, sizeof(norm), errbuf,
	    errlen)) < 0)
		return rc;
	return admin_key(st, key, keylen, SCHEMA_LIMITS, level, norm, errbuf,
	    errlen);
}

int
admin_limits_set(struct store *st, enum schema_level level, const char *id,
    enum admin_limit_field field, const char *value, char *errbuf,
    size_t errlen)
{
	char			 key[SCHEMA_KEY_MAX], v[64];
	struct store_reply	*r;
	int			 rc;

	if ((rc = admin_limits_key(st, level, id, key, sizeof(key), errbuf,
	    errlen)) < 0)
		return rc;
	if (value != NULL && strcmp(value, "default") == 0) {
		r = admin_cmd(st, errbuf, errlen, 3, "HDEL", key,
		    field_names[field]);
	} else {
		if ((rc = admin_limit_value(field, value != NULL ? value : "",
		    v, sizeof(v), errbuf, errlen)) < 0)
			return rc;
		r = admin_cmd(st, errbuf, errlen, 4, "HSET", key,
		    field_names[field], v);
	}
	if (r == NULL)
		return -1;
	store_reply_free(&r);
	return 0;
}

int
admin_limits_get(struct store *st, enum schema_level level, const char *id,
    struct admin_limits *out, char *errbuf, size_t errlen)
{
	const struct config_limits *d = admin_config_limits(store_config(st),
	    level);
	char			 key[SCHEMA_KEY_MAX];
	struct store_reply	*r;
	int			 rc;

	if ((rc = admin_limits_key(st, level, id, key, sizeof(key), errbuf,
	    errlen)) < 0)
		return rc;
	r = admin_cmd(st, errbuf, errlen, 5, "HMGET", key, field_names[0],
	    field_names[1], field_names[2]);
	if (r == NULL)
		return -1;
	out->value[ADMIN_MAX_24H] = (double)d->max_24h;
	out->value[ADMIN_MAX_RATE] = d->max_rate;
	out->value[ADMIN_BURST] = (double)d->burst;
	for (size_t i = 0; i < ADMIN_NFIELDS; i++) {
		double v;

		out->override[i] = false;
		if (r->type != STORE_ARRAY || i >= r->nelem ||
		    r->elem[i]->type != STORE_STRING)
			continue;
		/* What the script would make of it: tonumber(). */
		if (str_to_double(r->elem[i]->str, -1, 1e15, &v) == 0) {
			out->value[i] = v;
			out->override[i] = true;
		}
	}
	store_reply_free(&r);
	return 0;
}

int
admin_usage(struct store *st, enum schema_level level, const char *id,
    struct admin_usage *out, char *errbuf, size_t errlen)
{
	const struct config	*cf = store_config(st);
	char			 norm[ADDR_BUFSZ], key[SCHEMA_KEY_MAX];
	struct schema_argv	 cmd;
	struct store_reply	*r;
	long long		 bucket_ms, n;
	int			 rc, bad = 0;
	static const enum schema_kind kinds[] = {
		SCHEMA_LIMITS, SCHEMA_USAGE
	};

	if ((rc = admin_level_id(level, id, norm, sizeof(norm), errbuf,
	    errlen)) < 0)
		return rc;
	schema_window(cf->policyd_quota_window_ms, &bucket_ms, &n);
	schema_argv_init(&cmd);
	bad |= schema_argv_add(&cmd, "2", 1);
	for (size_t i = 0; i < 2; i++) {
		if ((rc = admin_key(st, key, sizeof(key), kinds[i], level,
		    norm, errbuf, errlen)) < 0)
			return rc;
		bad |= schema_argv_add(&cmd, key, strlen(key));
	}
	bad |= schema_argv_add(&cmd, "usage", 5);
	bad |= schema_argv_addf(&cmd, "%lld", bucket_ms);
	bad |= schema_argv_addf(&cmd, "%lld", n);
	if (bad) {
		snprintf(errbuf, errlen, "key too long");
		return ADMIN_EINPUT;
	}
	if ((r = admin_eval(st, &cmd, errbuf, errlen)) == NULL)
		return -1;
	if (r->type != STORE_ARRAY || r->nelem != 2 ||
	    r->elem[0]->type != STORE_INTEGER) {
		snprintf(errbuf, errlen, "unexpected reply to usage");
		store_reply_free(&r);
		return -1;
	}
	out->count = r->elem[0]->integer;
	out->window_ms = cf->policyd_quota_window_ms;
	out->rate_state = r->elem[1]->type == STORE_STRING &&
	    strcmp(r->elem[1]->str, "0") != 0;
	store_reply_free(&r);
	return 0;
}

static int
admin_pair_cmp(const void *a, const void *b)
{
	return strcmp(((char *const *)a)[0], ((char *const *)b)[0]);
}

int
admin_stats(struct store *st, char ***pairs_out, char *errbuf, size_t errlen)
{
	char			 key[SCHEMA_KEY_MAX];
	struct store_reply	*r;
	char			**v;
	size_t			 n;

	if (admin_key(st, key, sizeof(key), SCHEMA_STATS, SCHEMA_ACCOUNT, NULL,
	    errbuf, errlen) < 0)
		return -1;
	if ((r = admin_cmd(st, errbuf, errlen, 2, "HGETALL", key)) == NULL)
		return -1;
	v = admin_strv(r);
	store_reply_free(&r);
	for (n = 0; v[n] != NULL; n++)
		;
	qsort(v, n / 2, 2 * sizeof(*v), admin_pair_cmp);
	*pairs_out = v;
	return 0;
}
