/*
 * schema.h - the Redis schema: every key name, the Lua script that makes
 * the decisions (lib/sesgate.lua), and the arguments it takes. The key
 * layout is a documented interface (sesgate-redis(7)); change both
 * together. Nothing here talks to Redis; safe in any thread.
 */
#ifndef SESGATE_SCHEMA_H
#define SESGATE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "config.h"

/* Longest key: prefix (64) + kind + level + a 320-byte address. */
#define SCHEMA_KEY_MAX	512
#define SCHEMA_SHA_BUFSZ 41

enum schema_kind {
	SCHEMA_IDENTITIES,	/* SET of verified addresses and domains */
	SCHEMA_SUPPRESSION_INDEX, /* ZSET index: member -> time added */
	SCHEMA_SUPPRESSION,	/* HASH per suppressed address (id) */
	SCHEMA_STATS,		/* HASH of decision counters */
	SCHEMA_PAUSE,		/* STRING reason; per level */
	SCHEMA_LIMITS,		/* HASH overrides; per level */
	SCHEMA_USAGE,		/* STRING (BITFIELD) window state; per level */
	SCHEMA_RECEIPT,		/* STREAM of a receipt rule's notify action;
				   id: the stream name */
	SCHEMA_FEEDBACK_SEEN,	/* STRING: an SNS message already applied;
				   id: its MessageId */
	SCHEMA_FEEDBACK,	/* HASH of SES event counters; per level */
	SCHEMA_REPUTATION,	/* HASH of bounces and complaints by time
				   bucket; per level */
	SCHEMA_SOFT_BOUNCES,	/* STRING count of an address's soft
				   bounces; id: its suppression member */
};

enum schema_level {
	SCHEMA_ACCOUNT,
	SCHEMA_DOMAIN,
	SCHEMA_SENDER,
};

/* The key of `kind` for `level` and `id` (id unused for the account level
   and for IDENTITIES, SUPPRESSED, STATS; level unused for SUPPRESSION,
   RECEIPT, FEEDBACK_SEEN and SOFT_BOUNCES) into out. 0, or -1 when it does
   not fit (never truncated). */
int	schema_key(char *out, size_t outlen, const char *prefix,
	    enum schema_kind kind, enum schema_level level, const char *id);
/* Name of a level as used in keys and messages: "account"... */
const char *schema_level_name(enum schema_level level);
/* Level from its name; 0 and *out, or -1. */
int	schema_level_parse(const char *name, enum schema_level *out);

/* The member that stands for a normalised address in the suppression
   list: the address, or its HMAC-SHA256 when hash_key is not empty. */
void	schema_suppression_id(const char *hash_key, const char *addr,
	    char *out, size_t outlen);

/* Bucket length and count of the rolling window: buckets of window/1440
   (one minute for 24 h), at least one second. */
void	schema_window(long long window_ms, long long *bucket_ms_out,
	    long long *nbuckets_out);

/* The script's text, and its SHA1 in hex into out (SCHEMA_SHA_BUFSZ). */
const char *schema_script(void);
void	schema_script_sha(char *out);

/* A command or the arguments of one, built without allocation. */
#define SCHEMA_ARGV_MAX	48
struct schema_argv {
	int	 argc;
	char	*argv[SCHEMA_ARGV_MAX];
	size_t	 len[SCHEMA_ARGV_MAX];
	char	 mem[24 * SCHEMA_KEY_MAX];
	size_t	 used;
};

/* What one RCPT decision needs to know. */
struct schema_check {
	const char	*sender;	/* normalised; "" for null sender */
	const char	*sender_id;	/* quota/pause identity of sender */
	const char	*rcpt;		/* normalised */
	const char	*instance;	/* Postfix message instance or "" */
	bool		 count_daily;	/* false for the mailbox simulator */
	long		 msg_rcpts;	/* recipients of it accepted so far */
};

/* The check operation decides a batch of recipients in one script run:
 *   EVALSHA sha 13*N  keys(1) ... keys(N)  consts  args(1) ... args(N)
 * where keys(i) and args(i) are recipient i's SCHEMA_CHECK_NKEYS keys and
 * SCHEMA_CHECK_NARGS arguments (schema_check_argv builds both, keys
 * first), and consts the SCHEMA_CHECK_NCONST arguments every recipient
 * shares (schema_check_consts). The reply is one result per recipient,
 * in order: a result schema_check_result() parses, or "error" and a
 * message when a key of that recipient could not be read. */
#define SCHEMA_CHECK_NKEYS	13
#define SCHEMA_CHECK_NARGS	6
#define SCHEMA_CHECK_NCONST	17

/* Recipient in's keys, then its arguments. 0, or -1 when a key or
   argument does not fit. */
int	schema_check_argv(const struct config *cf,
	    const struct schema_check *in, struct schema_argv *out);
/* The arguments shared by a batch, from cf. 0, or -1 when one does not
   fit (a prefix too long). */
int	schema_check_consts(const struct config *cf, struct schema_argv *out);

enum schema_status {
	SCHEMA_ACCEPT,
	SCHEMA_PAUSED,
	SCHEMA_UNVERIFIED_SENDER,
	SCHEMA_UNVERIFIED_RECIPIENT,
	SCHEMA_SUPPRESSED,
	SCHEMA_TOO_MANY_RECIPIENTS,
	SCHEMA_QUOTA,
	SCHEMA_RATE,
};

/* The script's answer to check. Strings point into the reply that was
   parsed and live as long as it. */
struct schema_result {
	enum schema_status	 status;
	const char		*arg1;	/* level, reason, address, count */
	const char		*arg2;	/* pause reason, suppression time */
};

/* Parse the check reply given as its n string elements. 0, or -1 when the
   reply is not one the script gives. */
int	schema_check_result(size_t n, const char *const *elems,
	    struct schema_result *out);

/* Generic argv builder: start a command, append arguments. -1 when the
   argument does not fit in out->mem or argv. */
void	schema_argv_init(struct schema_argv *out);
int	schema_argv_add(struct schema_argv *out, const char *s, size_t n);
int	schema_argv_addf(struct schema_argv *out, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
