/*
 * store.h - a blocking connection to the Redis server named in
 * sesgate.conf, for sesgatectl and the tests (the policy daemon uses
 * storeev.h). Handles the three URL forms, AUTH, SELECT, Sentinel master
 * discovery, timeouts, and the decision script (EVALSHA, loaded again on
 * NOSCRIPT). One struct store per thread.
 */
#ifndef SESGATE_STORE_H
#define SESGATE_STORE_H

#include <stddef.h>
#include <sys/time.h>

#include "config.h"
#include "redisurl.h"
#include "schema.h"

struct store;

enum store_reply_type {
	STORE_NIL,
	STORE_INTEGER,
	STORE_STRING,	/* bulk string or status */
	STORE_ARRAY,
	STORE_ERROR,	/* an error reply; str holds its text */
};

/* A reply, copied out of hiredis so that callers need not include it. */
struct store_reply {
	enum store_reply_type	  type;
	long long		  integer;
	char			 *str;	/* NUL-terminated; len bytes */
	size_t			  len;
	struct store_reply	**elem;
	size_t			  nelem;
};

/* Connect as cf says. The store, or NULL with errbuf saying why (bad URL,
   no Sentinel knows the master, refused, timeout, AUTH failed). */
struct store	*store_open(const struct config *cf, char *errbuf,
		    size_t errlen);
/* Run one command given as argv (argument 0 is the command name). The
   reply (an error reply is a reply: type STORE_ERROR), or NULL when the
   connection failed or timed out (errbuf says which); the next call
   reconnects. */
struct store_reply *store_command(struct store *st,
		    const struct schema_argv *cmd, char *errbuf, size_t errlen);
/* Run the decision script: cmd holds numkeys, the keys and the arguments
   (everything after the script's SHA). Like store_command. */
struct store_reply *store_eval(struct store *st,
		    const struct schema_argv *cmd, char *errbuf, size_t errlen);
/* Free; *rp becomes NULL. Accepts NULL. */
void		 store_reply_free(struct store_reply **rp);
/* Load the decision script (SCRIPT LOAD) and check the server knows it
   by the SHA1 the clients run it with. 0, or -1 with errbuf saying why
   (the connection, or the server's error: no scripting, ACL). */
int		 store_check_script(struct store *st, char *errbuf,
		    size_t errlen);
/* Prefix every key of this store starts with. Borrowed. */
const char	*store_prefix(const struct store *st);
const struct config *store_config(const struct store *st);
/* Disconnect and free; *stp becomes NULL. Accepts NULL. */
void		 store_close(struct store **stp);

/* A duration in milliseconds as a struct timeval. */
struct timeval	 store_timeval(long long ms);

/* Ask the Sentinels of u, in order, for the address of the master; each
   is given timeout_ms. 0 and *host_out (caller frees), *port_out; or -1
   with errbuf. Blocking. */
int		 store_sentinel_master(const struct redisurl *u,
		    long long timeout_ms, char **host_out, int *port_out,
		    char *errbuf, size_t errlen);

#endif
