/*
 * suppression.h - the account-level suppression list in Redis, as
 * sesgatectl and the feedback daemon write and read it: one hash per
 * entry plus the time-ordered index, kept together by the script ops
 * "suppress" and "unsuppress". Addresses are normalised (addr.h), or
 * hashed in privacy mode, before a key is built from them. Built on the
 * command helpers of admin.h; same results: 0 (or 1/0 for "changed"/
 * "found"), -1 when Redis failed, ADMIN_EINPUT when an argument is
 * refused (nothing written then), errbuf saying why. One struct store
 * per thread; no state of its own.
 */
#ifndef SESGATE_SUPPRESSION_H
#define SESGATE_SUPPRESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "admin.h"
#include "store.h"

/* One suppression entry to write. addr is a plain address (hashed here
   in privacy mode; there a 64-hex hash is also taken as is). reason is
   BOUNCE or COMPLAINT (any case), source feedback, import or admin;
   optional strings may be NULL or ""; expires 0 means never. */
struct suppression_in {
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
struct suppression_entry {
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
struct suppression_filter {
	const char	*reason;
	long long	 since;
	long long	 until;
};

/* The member that stands for addr: its normalised form, or its hash in
   privacy mode, into out (ADDR_BUFSZ). 0, or ADMIN_EINPUT. */
int	suppression_member(struct store *st, const char *addr, char *out,
	    size_t outlen, char *errbuf, size_t errlen);
/* Write one entry (replacing any earlier one) with the script op
   "suppress". 0, -1 or ADMIN_EINPUT. */
int	suppression_add(struct store *st, const struct suppression_in *in,
	    char *errbuf, size_t errlen);
/* Remove one entry with the script op "unsuppress". 1 removed, 0 there
   was none, -1 or ADMIN_EINPUT. */
int	suppression_remove(struct store *st, const char *addr, char *errbuf,
	    size_t errlen);
/* Read one entry into *out (free with suppression_entry_clear). 1 found,
   0 not, -1 or ADMIN_EINPUT. */
int	suppression_get(struct store *st, const char *addr,
	    struct suppression_entry *out, char *errbuf, size_t errlen);
/* Call fn for every entry that matches f, oldest first; entries whose
   hash has expired are skipped and removed from the index afterwards. fn
   returns 0 to go on, anything else to stop (list then returns that).
   0, -1 on a Redis failure, or fn's value. *stale_out (may be NULL) is
   the number of stale index members removed. */
int	suppression_list(struct store *st, const struct suppression_filter *f,
	    int (*fn)(const struct suppression_entry *, void *), void *arg,
	    size_t *stale_out, char *errbuf, size_t errlen);
/* Free the strings of e and zero it; e itself is the caller's. */
void	suppression_entry_clear(struct suppression_entry *e);
/* True when reason names a suppression reason; *canon_out gets the
   stored spelling ("BOUNCE"/"COMPLAINT"). */
bool	suppression_reason_parse(const char *reason, const char **canon_out);

#endif
