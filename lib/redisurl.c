/*
 * redisurl.c - parser for the Redis server names of sesgate.conf (see
 * redisurl.h). Percent-escapes are decoded in user and password so that a
 * password may hold '@' or ':'. No state; safe in any thread.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "redisurl.h"
#include "str.h"

#define REDIS_DEFAULT_PORT	6379
#define SENTINEL_DEFAULT_PORT	26379

static char *
redisurl_unescape(const char *s, size_t n)
{
	char	*out = xmalloc(n + 1);
	size_t	 o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], '\0' };

			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* "host", "host:port", "[v6]", "[v6]:port" of length n. */
static int
redisurl_hostport(const char *s, size_t n, long long port,
    struct redisurl_host *out)
{
	const char	*colon = NULL, *hend;

	if (n == 0)
		return -1;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (rb == NULL || rb == s + 1)
			return -1;
		out->host = xstrndup(s + 1, (size_t)(rb - s - 1));
		hend = rb + 1;
		if (hend < s + n) {
			if (*hend != ':')
				goto bad;
			colon = hend;
		}
	} else {
		colon = memchr(s, ':', n);
		hend = colon != NULL ? colon : s + n;
		if (hend == s)
			return -1;
		out->host = xstrndup(s, (size_t)(hend - s));
	}
	if (colon != NULL) {
		char pbuf[16];
		size_t plen = (size_t)(s + n - colon - 1);

		if (plen == 0 || plen >= sizeof(pbuf))
			goto bad;
		memcpy(pbuf, colon + 1, plen);
		pbuf[plen] = '\0';
		if (str_to_ll(pbuf, 1, 65535, &port) < 0)
			goto bad;
	}
	out->port = (int)port;
	return 0;
bad:
	free(out->host);
	out->host = NULL;
	return -1;
}

static int
redisurl_query_db(const char *q, int *db_out)
{
	long long db;

	if (q == NULL)
		return 0;
	if (strncmp(q, "db=", 3) != 0 || str_to_ll(q + 3, 0, 65535, &db) < 0)
		return -1;
	*db_out = (int)db;
	return 0;
}

/* "[user:password@]" at the start of *sp; advances *sp past it. */
static void
redisurl_userinfo(const char **sp, const char *end, struct redisurl *u)
{
	const char *s = *sp, *at = NULL, *colon;

	for (const char *p = s; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return;
	colon = memchr(s, ':', (size_t)(at - s));
	if (colon != NULL) {
		if (colon > s)
			u->user = redisurl_unescape(s, (size_t)(colon - s));
		u->password = redisurl_unescape(colon + 1,
		    (size_t)(at - colon - 1));
	} else {
		u->password = redisurl_unescape(s, (size_t)(at - s));
	}
	*sp = at + 1;
}

struct redisurl *
redisurl_parse(const char *s, char *errbuf, size_t errlen)
{
	struct redisurl	*u = xcalloc(1, sizeof(*u));
	const char	*p, *end, *slash, *q;

	if (strncmp(s, "unix:", 5) == 0) {
		u->kind = REDISURL_UNIX;
		p = s + 5;
		while (p[0] == '/' && p[1] == '/')
			p++;
		q = strchr(p, '?');
		if (*p != '/' || (q != NULL && q == p + 1)) {
			snprintf(errbuf, errlen, "unix: needs an absolute "
			    "socket path, as unix:/run/redis/redis.sock");
			goto fail;
		}
		u->path = q != NULL ? xstrndup(p, (size_t)(q - p)) :
		    xstrdup(p);
		if (redisurl_query_db(q != NULL ? q + 1 : NULL, &u->db) < 0) {
			snprintf(errbuf, errlen, "bad query: only ?db=N is "
			    "understood");
			goto fail;
		}
		return u;
	}
	if (strncmp(s, "redis://", 8) == 0) {
		u->kind = REDISURL_TCP;
		p = s + 8;
	} else if (strncmp(s, "sentinel://", 11) == 0) {
		u->kind = REDISURL_SENTINEL;
		p = s + 11;
	} else {
		snprintf(errbuf, errlen, "not a redis://, unix: or "
		    "sentinel:// URL");
		goto fail;
	}
	q = strchr(p, '?');
	end = q != NULL ? q : p + strlen(p);
	slash = memchr(p, '/', (size_t)(end - p));
	redisurl_userinfo(&p, slash != NULL ? slash : end, u);
	slash = memchr(p, '/', (size_t)(end - p));
	if (u->kind == REDISURL_TCP) {
		struct redisurl_host h = { NULL, 0 };
		long long db = 0;

		if (redisurl_hostport(p, (size_t)((slash ? slash : end) - p),
		    REDIS_DEFAULT_PORT, &h) < 0) {
			snprintf(errbuf, errlen, "bad host or port in the "
			    "redis:// URL");
			goto fail;
		}
		u->host = h.host;
		u->port = h.port;
		if (slash != NULL && slash + 1 < end) {
			char dbuf[16];
			size_t n = (size_t)(end - slash - 1);

			if (n >= sizeof(dbuf))
				n = sizeof(dbuf) - 1;
			memcpy(dbuf, slash + 1, n);
			dbuf[n] = '\0';
			if (str_to_ll(dbuf, 0, 65535, &db) < 0) {
				snprintf(errbuf, errlen, "bad database number "
				    "in the redis:// URL");
				goto fail;
			}
		}
		u->db = (int)db;
	} else {
		const char *hp = p;

		if (slash == NULL || slash + 1 >= end) {
			snprintf(errbuf, errlen, "sentinel:// needs "
			    "/mastername after the Sentinel addresses");
			goto fail;
		}
		while (hp < slash) {
			const char *comma = memchr(hp, ',',
			    (size_t)(slash - hp));
			const char *he = comma != NULL ? comma : slash;
			struct redisurl_host h = { NULL, 0 };

			if (redisurl_hostport(hp, (size_t)(he - hp),
			    SENTINEL_DEFAULT_PORT, &h) < 0) {
				snprintf(errbuf, errlen, "bad Sentinel "
				    "address in the sentinel:// URL");
				goto fail;
			}
			u->sentinels = xrealloc(u->sentinels,
			    (u->nsentinels + 1) * sizeof(*u->sentinels));
			u->sentinels[u->nsentinels++] = h;
			hp = he + 1;
		}
		if (u->nsentinels == 0) {
			snprintf(errbuf, errlen, "no Sentinel address in the "
			    "sentinel:// URL");
			goto fail;
		}
		u->master = xstrndup(slash + 1, (size_t)(end - slash - 1));
		if (strchr(u->master, '/') != NULL) {
			snprintf(errbuf, errlen, "bad master name \"%s\"",
			    u->master);
			goto fail;
		}
	}
	if (redisurl_query_db(q != NULL ? q + 1 : NULL, &u->db) < 0) {
		snprintf(errbuf, errlen, "bad query: only ?db=N is "
		    "understood");
		goto fail;
	}
	return u;
fail:
	redisurl_free(&u);
	return NULL;
}

void
redisurl_free(struct redisurl **up)
{
	struct redisurl *u = *up;

	if (u == NULL)
		return;
	*up = NULL;
	free(u->user);
	free(u->password);
	free(u->host);
	free(u->path);
	free(u->master);
	for (size_t i = 0; i < u->nsentinels; i++)
		free(u->sentinels[i].host);
	free(u->sentinels);
	free(u);
}
