/*
 * admin.h - the administrative operations on the Redis schema, as
 * sesgatectl and the feedback daemon need them: verified identities, the
 * suppression list, pauses, quota overrides, usage and counters. Built on
 * store.h and schema.h only. Every address or domain is normalised here
 * (addr.h) before a key is built from it, so no input reaches a key other
 * than its own. One struct store per thread; no state of its own.
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

#include "schema.h"
#include "store.h"

#define ADMIN_EINPUT	(-2)

/* Longest sender ID (SASL user name or address) accepted. */
#define ADMIN_ID_MAX	ADDR_MAX

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
int	admin_identity_list(struct store *st, char ***list_out,
	    char *errbuf, size_t errlen);
void	admin_strv_free(char ***vp);

/* One suppression entry to write. addr is a plain address (hashed here
   in privacy mode; there a 64-hex hash is also taken as is). reason is
   BOUNCE or COMPLAINT (any case), source feedback, import or admin;
   optional strings may be NULL or ""; expires 0 means never. */
struct admin_suppress_in {
	const char	*addr;
	const char	*reason;
	const char	*source;
	long long	 time;		/* unix seconds; 0: now */
	long long	 expires;	/* unix seconds; 0: never */
	const char	*bounce_type;
	const char	*bounce_subtype;
	const char	*feedback_type;
	const char	*diagnostic;
	const char	*feedback_id;
	const char	*message_id;
};

/* A stored entry; every string owned by it ("" when absent). */
struct admin_suppression {
	char		*member;	/* address, or its hash */
	char		*reason;
	char		*source;
	long long	 time;
	long long	 expires;	/* 0: never */
	char		*bounce_type;
	char		*bounce_subtype;
	char		*feedback_type;
	char		*diagnostic;
	char		*feedback_id;
	char		*message_id;
};

/* What list returns: reason NULL for both; since/until in unix seconds,
   since inclusive, until exclusive, 0 for no bound. */
struct admin_suppression_filter {
	const char	*reason;
	long long	 since;
	long long	 until;
};

/* The member that stands for addr: its normalised form, or its hash in
   privacy mode, into out (ADDR_BUFSZ). 0, or ADMIN_EINPUT. */
int	admin_suppression_member(struct store *st, const char *addr,
	    char *out, size_t outlen, char *errbuf, size_t errlen);
/* Write one entry (replacing any earlier one) with the script op
   "suppress". 0, -1 or ADMIN_EINPUT. */
int	admin_suppress(struct store *st, const struct admin_suppress_in *in,
	    char *errbuf, size_t errlen);
/* Remove one entry with the script op "unsuppress". 1 removed, 0 there
   was none, -1 or ADMIN_EINPUT. */
int	admin_unsuppress(struct store *st, const char *addr, char *errbuf,
	    size_t errlen);
/* Read one entry into *out (free with admin_suppression_clear). 1 found,
   0 not, -1 or ADMIN_EINPUT. */
int	admin_suppression_get(struct store *st, const char *addr,
	    struct admin_suppression *out, char *errbuf, size_t errlen);
/* Call fn for every entry that matches f, oldest first; entries whose
   hash has expired are skipped and removed from the index afterwards. fn
   returns 0 to go on, anything else to stop (list then returns that).
   0, -1 on a Redis failure, or fn's value. *stale_out (may be NULL) is
   the number of stale index members removed. */
int	admin_suppression_list(struct store *st,
	    const struct admin_suppression_filter *f,
	    int (*fn)(const struct admin_suppression *, void *), void *arg,
	    size_t *stale_out, char *errbuf, size_t errlen);
void	admin_suppression_clear(struct admin_suppression *e);
/* True when reason names a suppression reason; *canon_out gets the
   stored spelling ("BOUNCE"/"COMPLAINT"). */
bool	admin_reason_parse(const char *reason, const char **canon_out);

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
