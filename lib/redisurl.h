/*
 * redisurl.h - the three ways to name a Redis server in sesgate.conf:
 *   redis://[user:password@]host[:port][/db]
 *   unix:/path/to/redis.sock[?db=N]
 *   sentinel://[user:password@]host:port[,host:port...]/mastername[?db=N]
 * (user and password are those of the data server, not of Sentinel).
 * Parsing only; nothing here talks to a server. Safe in any thread.
 */
#ifndef SESGATE_REDISURL_H
#define SESGATE_REDISURL_H

#include <stddef.h>

enum redisurl_kind {
	REDISURL_TCP,
	REDISURL_UNIX,
	REDISURL_SENTINEL,
};

struct redisurl_host {
	char	*host;
	int	 port;
};

struct redisurl {
	enum redisurl_kind	 kind;
	char			*user;		/* NULL: no user */
	char			*password;	/* NULL: no AUTH */
	char			*host;		/* TCP */
	int			 port;		/* TCP */
	char			*path;		/* UNIX */
	char			*master;	/* SENTINEL */
	struct redisurl_host	*sentinels;	/* SENTINEL */
	size_t			 nsentinels;
	int			 db;
};

/* Parse s. The URL (free with redisurl_free), or NULL with errbuf saying
   what is wrong. */
struct redisurl	*redisurl_parse(const char *s, char *errbuf, size_t errlen);
/* Free; *up becomes NULL. Accepts NULL. */
void		 redisurl_free(struct redisurl **up);

#endif
