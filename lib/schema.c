/*
 * schema.c - key names, the decision script and its arguments: the only
 * place that knows how sesgate lays out its data in Redis. The script's
 * text is compiled in from lib/sesgate.lua. No state; safe in any thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "schema.h"
#include "str.h"

static const char schema_lua[] =
#include "sesgate.lua.inc"
    ;

static const char *const level_names[] = { "account", "domain", "sender" };

static const char *const kind_names[] = {
	[SCHEMA_IDENTITIES] = "identities",
	[SCHEMA_SUPPRESSION_INDEX] = "suppressed",
	[SCHEMA_SUPPRESSION] = "suppression",
	[SCHEMA_STATS] = "stats",
	[SCHEMA_PAUSE] = "pause",
	[SCHEMA_LIMITS] = "limits",
	[SCHEMA_USAGE] = "usage",
	[SCHEMA_RECEIPT] = "receipt",
	[SCHEMA_FEEDBACK_SEEN] = "feedback:seen",
	[SCHEMA_FEEDBACK] = "feedback",
	[SCHEMA_REPUTATION] = "reputation",
	[SCHEMA_SOFT_BOUNCES] = "softbounces",
};

int
schema_key(char *out, size_t outlen, const char *prefix, enum schema_kind kind,
    enum schema_level level, const char *id)
{
	switch (kind) {
	case SCHEMA_IDENTITIES:
	case SCHEMA_SUPPRESSION_INDEX:
	case SCHEMA_STATS:
		return str_fmt(out, outlen, "%s%s", prefix, kind_names[kind]);
	case SCHEMA_SUPPRESSION:
	case SCHEMA_RECEIPT:
	case SCHEMA_FEEDBACK_SEEN:
	case SCHEMA_SOFT_BOUNCES:
		return str_fmt(out, outlen, "%s%s:%s", prefix,
		    kind_names[kind], id);
	case SCHEMA_PAUSE:
	case SCHEMA_LIMITS:
	case SCHEMA_USAGE:
	case SCHEMA_FEEDBACK:
	case SCHEMA_REPUTATION:
		if (level == SCHEMA_ACCOUNT)
			return str_fmt(out, outlen, "%s%s:account", prefix,
			    kind_names[kind]);
		return str_fmt(out, outlen, "%s%s:%s:%s", prefix,
		    kind_names[kind], level_names[level], id);
	}
	return -1;
}

const char *
schema_level_name(enum schema_level level)
{
	return level_names[level];
}

int
schema_level_parse(const char *name, enum schema_level *out)
{
	for (int i = 0; i < 3; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum schema_level)i;
			return 0;
		}
	}
	return -1;
}

void
schema_suppression_id(const char *hash_key, const char *addr, char *out,
    size_t outlen)
{
	char h[ADDR_HASH_BUFSZ];

	if (hash_key == NULL || *hash_key == '\0') {
		(void)str_copy(out, outlen, addr);
		return;
	}
	addr_hash(hash_key, addr, h);
	(void)str_copy(out, outlen, h);
}

void
schema_window(long long window_ms, long long *bucket_ms_out,
    long long *nbuckets_out)
{
	long long b = (window_ms + 1439) / 1440;

	if (b < 1000)
		b = 1000;
	*bucket_ms_out = b;
	*nbuckets_out = (window_ms + b - 1) / b;
	if (*nbuckets_out < 1)
		*nbuckets_out = 1;
}

const char *
schema_script(void)
{
	return schema_lua;
}

void
schema_script_sha(char *out)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		md[SHA_DIGEST_LENGTH];

	SHA1((const unsigned char *)schema_lua, strlen(schema_lua), md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[40] = '\0';
}

void
schema_argv_init(struct schema_argv *out)
{
	out->argc = 0;
	out->used = 0;
}

int
schema_argv_add(struct schema_argv *out, const char *s, size_t n)
{
	if (out->argc >= SCHEMA_ARGV_MAX ||
	    out->used + n + 1 > sizeof(out->mem))
		return -1;
	memcpy(out->mem + out->used, s, n);
	out->mem[out->used + n] = '\0';
	out->argv[out->argc] = out->mem + out->used;
	out->len[out->argc++] = n;
	out->used += n + 1;
	return 0;
}

int
schema_argv_addf(struct schema_argv *out, const char *fmt, ...)
{
	char	tmp[SCHEMA_KEY_MAX];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	return schema_argv_add(out, tmp, (size_t)n);
}

/* Append the concatenation of up to four pieces (NULL ends them early) as
   one argument, without formatting: this runs for every key of every
   decision. */
static int
schema_argv_cat(struct schema_argv *out, const char *a, const char *b,
    const char *c, const char *d)
{
	const char	*parts[4] = { a, b, c, d };
	size_t		 start = out->used, len = 0;

	if (out->argc >= SCHEMA_ARGV_MAX)
		return -1;
	for (int i = 0; i < 4 && parts[i] != NULL; i++) {
		size_t n = strlen(parts[i]);

		if (start + len + n + 1 > sizeof(out->mem))
			return -1;
		memcpy(out->mem + start + len, parts[i], n);
		len += n;
	}
	if (len >= SCHEMA_KEY_MAX)
		return -1;
	out->mem[start + len] = '\0';
	out->argv[out->argc] = out->mem + start;
	out->len[out->argc++] = len;
	out->used += len + 1;
	return 0;
}

/* The same key as schema_key() builds, appended as an argument. */
static int
schema_add_key(struct schema_argv *out, const char *prefix,
    enum schema_kind kind, enum schema_level level, const char *id)
{
	switch (kind) {
	case SCHEMA_IDENTITIES:
	case SCHEMA_SUPPRESSION_INDEX:
	case SCHEMA_STATS:
		return schema_argv_cat(out, prefix, kind_names[kind], NULL,
		    NULL);
	case SCHEMA_SUPPRESSION:
	case SCHEMA_RECEIPT:
	case SCHEMA_FEEDBACK_SEEN:
	case SCHEMA_SOFT_BOUNCES:
		return schema_argv_cat(out, prefix, kind_names[kind], ":", id);
	default:
		break;
	}
	if (level == SCHEMA_ACCOUNT)
		return schema_argv_cat(out, prefix, kind_names[kind],
		    ":account", NULL);
	return schema_argv_cat(out, prefix, kind_names[kind],
	    level == SCHEMA_DOMAIN ? ":domain:" : ":sender:", id);
}

static int
schema_argv_addll(struct schema_argv *out, long long v)
{
	char		 tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
			    (unsigned long long)v;

	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	return schema_argv_add(out, p, strlen(p));
}

/* A level's configured limits: max_24h, max_rate in millionths of a
   message per second (an integer, so no float is formatted per request),
   and burst; -1 for unlimited. */
static int
schema_add_limits(struct schema_argv *out, const struct config_limits *l)
{
	long long rate = l->max_rate == CONFIG_UNLIMITED ? -1 :
	    (long long)(l->max_rate * 1e6 + 0.5);

	if (schema_argv_addll(out, l->max_24h) < 0 ||
	    schema_argv_addll(out, rate) < 0)
		return -1;
	return schema_argv_addll(out, l->burst);
}

/* The name given for a key that does not apply: under the prefix, so that
   an ACL limited to the prefix allows it; the script never reads it. */
static int
schema_none(const char *p, char *none, size_t len)
{
	size_t plen = strlen(p);

	if (plen + sizeof("none") > len)
		return -1;
	memcpy(none, p, plen);
	memcpy(none + plen, "none", sizeof("none"));
	return 0;
}

int
schema_check_argv(const struct config *cf, const struct schema_check *in,
    struct schema_argv *out)
{
	static const enum schema_level order[] = {
		SCHEMA_SENDER, SCHEMA_DOMAIN, SCHEMA_ACCOUNT
	};
	const char	*p = cf->redis_prefix;
	const char	*sdomain = *in->sender != '\0' ?
			    addr_domain(in->sender) : "";
	/* The null sender's mail (bounces) is counted under "<>", which
	   no domain can be. */
	const char	*sdomain_id = *sdomain != '\0' ? sdomain : "<>";
	char		 supp[ADDR_BUFSZ], none[SCHEMA_KEY_MAX];
	int		 r = 0;

	schema_suppression_id(cf->suppression_hash_key, in->rcpt, supp,
	    sizeof(supp));
	if (schema_none(p, none, sizeof(none)) < 0)
		return -1;
	schema_argv_init(out);
	/* KEYS 1-4: pause of account, sender identity, envelope sender,
	   sender domain (`none` where there is nothing to look up). */
	r |= schema_add_key(out, p, SCHEMA_PAUSE, SCHEMA_ACCOUNT, NULL);
	r |= schema_add_key(out, p, SCHEMA_PAUSE, SCHEMA_SENDER,
	    in->sender_id);
	if (*in->sender != '\0' && strcmp(in->sender, in->sender_id) != 0)
		r |= schema_add_key(out, p, SCHEMA_PAUSE, SCHEMA_SENDER,
		    in->sender);
	else
		r |= schema_argv_add(out, none, strlen(none));
	if (*sdomain != '\0')
		r |= schema_add_key(out, p, SCHEMA_PAUSE, SCHEMA_DOMAIN,
		    sdomain);
	else
		r |= schema_argv_add(out, none, strlen(none));
	r |= schema_add_key(out, p, SCHEMA_IDENTITIES, SCHEMA_ACCOUNT, NULL);
	r |= schema_add_key(out, p, SCHEMA_SUPPRESSION, SCHEMA_ACCOUNT, supp);
	r |= schema_add_key(out, p, SCHEMA_STATS, SCHEMA_ACCOUNT, NULL);
	for (int kind = SCHEMA_LIMITS; kind <= SCHEMA_USAGE; kind++) {
		for (size_t i = 0; i < 3; i++) {
			const char *id = order[i] == SCHEMA_SENDER ?
			    in->sender_id : order[i] == SCHEMA_DOMAIN ?
			    sdomain_id : NULL;

			r |= schema_add_key(out, p, (enum schema_kind)kind,
			    order[i], id);
		}
	}
	/* This recipient's part of ARGV. */
	r |= schema_argv_add(out, in->sender, strlen(in->sender));
	r |= schema_argv_add(out, sdomain, strlen(sdomain));
	r |= schema_argv_add(out, in->rcpt, strlen(in->rcpt));
	r |= schema_argv_add(out, addr_domain(in->rcpt),
	    strlen(addr_domain(in->rcpt)));
	r |= schema_argv_add(out, in->count_daily ? "1" : "0", 1);
	/* Recipients of the message accepted so far; -1: not counted. */
	r |= schema_argv_addll(out, *in->instance != '\0' ? in->msg_rcpts :
	    -1);
	return r != 0 || out->argc != SCHEMA_CHECK_NKEYS + SCHEMA_CHECK_NARGS ?
	    -1 : 0;
}

int
schema_check_consts(const struct config *cf, struct schema_argv *out)
{
	char		 none[SCHEMA_KEY_MAX];
	long long	 bucket_ms, n;
	int		 r = 0;

	schema_window(cf->policyd_quota_window_ms, &bucket_ms, &n);
	if (schema_none(cf->redis_prefix, none, sizeof(none)) < 0)
		return -1;
	schema_argv_init(out);
	r |= schema_argv_add(out, "check", 5);
	r |= schema_argv_add(out, cf->policyd_verify_sender ? "1" : "0", 1);
	r |= schema_argv_add(out, cf->policyd_sandbox ? "1" : "0", 1);
	r |= schema_argv_addll(out, cf->policyd_max_recipients);
	r |= schema_argv_addll(out, cf->policyd_quota_window_ms);
	r |= schema_argv_addll(out, bucket_ms);
	r |= schema_argv_addll(out, n);
	r |= schema_add_limits(out, &cf->policyd_sender);
	r |= schema_add_limits(out, &cf->policyd_domain);
	r |= schema_add_limits(out, cf->policyd_sandbox ?
	    &cf->policyd_sandbox_limits : &cf->policyd_account);
	r |= schema_argv_add(out, none, strlen(none));
	return r != 0 || out->argc != SCHEMA_CHECK_NCONST ? -1 : 0;
}

int
schema_check_result(size_t n, const char *const *e, struct schema_result *out)
{
	static const struct {
		const char		*name;
		enum schema_status	 status;
		size_t			 nargs;
	} results[] = {
		{ "accept", SCHEMA_ACCEPT, 1 },
		{ "paused", SCHEMA_PAUSED, 2 },
		{ "unverified_sender", SCHEMA_UNVERIFIED_SENDER, 1 },
		{ "unverified_recipient", SCHEMA_UNVERIFIED_RECIPIENT, 1 },
		{ "suppressed", SCHEMA_SUPPRESSED, 2 },
		{ "too_many_recipients", SCHEMA_TOO_MANY_RECIPIENTS, 1 },
		{ "quota", SCHEMA_QUOTA, 1 },
		{ "rate", SCHEMA_RATE, 1 },
	};

	if (n == 0 || e[0] == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		if (strcmp(e[0], results[i].name) != 0)
			continue;
		if (n != results[i].nargs + 1)
			return -1;
		out->status = results[i].status;
		out->arg1 = n > 1 ? e[1] : "";
		out->arg2 = n > 2 ? e[2] : "";
		return 0;
	}
	return -1;
}
