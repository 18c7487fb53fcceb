/*
 * admin.h - the administrative operations on the Redis schema, as
 * sesgatectl and the feedback daemon need them: verified identities,
 * pauses, quota overrides, usage and counters (the suppression list is
 * suppression.h, built on the command helpers below). Built on store.h
 * and schema.h only. Every address or domain is normalised here (addr.h)
 * before a key is built from it, so no input reaches a key other than
 * its own. One struct store per thread; no state of its own.
 *
 * Results: functions return 0 (or 1/0 for "changed"/"found"), -1 when
 * Redis failed (errbuf holds the store's words), or ADMIN_EINPUT when an
 * argument is refused (errbuf says which and why). Nothing is written on
 * ADMIN_EINPUT.
 */
#ifndef SESGATE_ADMIN_H
#define SESGATE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "schema.h"
#include "store.h"

#define ADMIN_EINPUT	(-2)

/* Longest sender ID (SASL user name or address) accepted. */
#define ADMIN_ID_MAX	ADDR_MAX

/* Input quoted in a message: control characters shown as '?', cut to a
   sane length. The buffer lives until the end of the enclosing block. */
#define ADMIN_QUOTE(s)	log_clean((s) != NULL ? (s) : "", (char[96]){ 0 }, 96)

/* Run a command whose arguments are n C strings; the reply (free with
   store_reply_free), or NULL with errbuf (a Redis error reply is turned
   into NULL too). */
struct store_reply *admin_cmd(struct store *st, char *errbuf, size_t errlen,
	    int n, ...);
/* Run the script with cmd; the reply, or NULL with errbuf, like
   admin_cmd. */
struct store_reply *admin_eval(struct store *st, const struct schema_argv *cmd,
	    char *errbuf, size_t errlen);
/* An integer reply's value, or -1 with errbuf for any other reply (also
   for r NULL); frees r in every case. */
long long admin_int_reply(struct store_reply *r, char *errbuf,
	    size_t errlen);
/* Build the key of kind, level and id (schema_key() with the store's
   prefix) into out (SCHEMA_KEY_MAX). 0, or ADMIN_EINPUT with errbuf when
   it does not fit. */
int	admin_key(struct store *st, char *out, size_t outlen,
	    enum schema_kind kind, enum schema_level level, const char *id,
	    char *errbuf, size_t errlen);

/* Normalise the ID of a level into out (ADDR_BUFSZ bytes): nothing for
   the account, a domain for SCHEMA_DOMAIN, and for SCHEMA_SENDER an
   address (normalised when it holds '@') or a SASL user name (as given;
   no white space, quotes or control characters). 0, or ADMIN_EINPUT with
   errbuf. */
int	admin_level_id(enum schema_level level, const char *in, char *out,
	    size_t outlen, char *errbuf, size_t errlen);

/* Verified identities. add/remove: 1 changed, 0 already so, -1, or
   ADMIN_EINPUT. list: 0 and a sorted NULL-terminated array (free with
   admin_strv_free), or -1. */
int	admin_identity_add(struct store *st, const char *ident, char *errbuf,
	    size_t errlen);
int	admin_identity_remove(struct store *st, const char *ident,
	    char *errbuf, size_t errlen);
/* Whether normalised address addr, or its domain, is a verified identity:
   1 yes, 0 no, -1 Redis failed (errbuf). */
int	admin_identity_verified(struct store *st, const char *addr,
	    char *errbuf, size_t errlen);
int	admin_identity_list(struct store *st, char ***list_out,
	    char *errbuf, size_t errlen);
void	admin_strv_free(char ***vp);

/* Pauses. set: 0, -1 or ADMIN_EINPUT (ttl_ms 0: until resumed). clear: 1
   removed, 0 none, -1, ADMIN_EINPUT. */
int	admin_pause_set(struct store *st, enum schema_level level,
	    const char *id, const char *reason, long long ttl_ms,
	    char *errbuf, size_t errlen);
int	admin_pause_clear(struct store *st, enum schema_level level,
	    const char *id, char *errbuf, size_t errlen);

struct admin_pause {
	enum schema_level	 level;
	char			*id;		/* "" for the account */
	char			*reason;
	long long		 ttl_ms;	/* -1: until resumed */
};

/* Every pause in force, account first, then by key (free with
   admin_pause_list_free). 0 and *list_out, *n_out, or -1. */
int	admin_pause_list(struct store *st, struct admin_pause **list_out,
	    size_t *n_out, char *errbuf, size_t errlen);
void	admin_pause_list_free(struct admin_pause **listp, size_t n);

/* Quota limits of a level. */
enum admin_limit_field {
	ADMIN_MAX_24H,
	ADMIN_MAX_RATE,
	ADMIN_BURST,
};
#define ADMIN_NFIELDS	3

/* Field from its name (max_24h, max_rate, burst); 0 and *out, or -1. */
int	admin_limit_field_parse(const char *name,
	    enum admin_limit_field *out);
const char *admin_limit_field_name(enum admin_limit_field f);

/* Set one override. value: a whole number >= 0 (max_24h, burst), a
   number >= 0.001 (max_rate), "unlimited" (max_24h, max_rate), or
   "default" to remove the override. 0, -1 or ADMIN_EINPUT. */
int	admin_limits_set(struct store *st, enum schema_level level,
	    const char *id, enum admin_limit_field field, const char *value,
	    char *errbuf, size_t errlen);

struct admin_limits {
	double	value[ADMIN_NFIELDS];	/* CONFIG_UNLIMITED: no limit */
	bool	override[ADMIN_NFIELDS];	/* from Redis, else config */
};

/* Effective limits of a level. 0, -1 or ADMIN_EINPUT. */
int	admin_limits_get(struct store *st, enum schema_level level,
	    const char *id, struct admin_limits *out, char *errbuf,
	    size_t errlen);

struct admin_usage {
	long long	count;		/* recipients in the window */
	long long	window_ms;
	bool		rate_state;	/* a rate limiter state exists */
};

/* Usage of a level with the script op "usage". 0, -1 or ADMIN_EINPUT. */
int	admin_usage(struct store *st, enum schema_level level,
	    const char *id, struct admin_usage *out, char *errbuf,
	    size_t errlen);

/* Decision counters: a NULL-terminated array of field, value, field,
   value... sorted by field (free with admin_strv_free). 0 or -1. */
int	admin_stats(struct store *st, char ***pairs_out, char *errbuf,
	    size_t errlen);

#endif
