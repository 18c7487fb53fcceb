/*
 * store.c - blocking Redis client for sesgatectl and the tests: connects
 * by URL (TCP, unix socket, or the master named by Sentinel), authenticates,
 * selects the database, and runs the decision script by its SHA1, loading
 * it again when the server answers NOSCRIPT (a restart, SCRIPT FLUSH, or a
 * failover to a server that never saw it). One struct store per thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "mem.h"
#include "store.h"
#include "str.h"

struct store {
	const struct config	*cf;
	struct redisurl		*url;
	redisContext		*c;
	char			 sha[SCHEMA_SHA_BUFSZ];
};

struct timeval
store_timeval(long long ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return tv;
}

int
store_sentinel_master(const struct redisurl *u, long long timeout_ms,
    char **host_out, int *port_out, char *errbuf, size_t errlen)
{
	struct timeval tv = store_timeval(timeout_ms);

	snprintf(errbuf, errlen, "no Sentinel answered");
	for (size_t i = 0; i < u->nsentinels; i++) {
		const struct redisurl_host	*h = &u->sentinels[i];
		redisContext			*c;
		redisReply			*r;

		c = redisConnectWithTimeout(h->host, h->port, tv);
		if (c == NULL || c->err) {
			snprintf(errbuf, errlen, "Sentinel %s:%d: %s", h->host,
			    h->port, c != NULL ? c->errstr : "out of memory");
			redisFree(c);
			continue;
		}
		redisSetTimeout(c, tv);
		r = redisCommand(c, "SENTINEL get-master-addr-by-name %s",
		    u->master);
		if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
		    r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			long long port;

			if (str_to_ll(r->element[1]->str, 1, 65535,
			    &port) == 0) {
				*host_out = xstrdup(r->element[0]->str);
				*port_out = (int)port;
				freeReplyObject(r);
				redisFree(c);
				return 0;
			}
		}
		if (r == NULL)
			snprintf(errbuf, errlen, "Sentinel %s:%d: %s", h->host,
			    h->port, c->errstr);
		else if (r->type == REDIS_REPLY_NIL)
			snprintf(errbuf, errlen, "Sentinel %s:%d does not know "
			    "master \"%s\"", h->host, h->port, u->master);
		else
			snprintf(errbuf, errlen, "Sentinel %s:%d: unexpected "
			    "reply", h->host, h->port);
		if (r != NULL)
			freeReplyObject(r);
		redisFree(c);
	}
	return -1;
}

/* Run a setup command (AUTH, SELECT, ROLE) on a fresh context; 0 or -1. */
static int
store_setup_cmd(redisContext *c, int argc, const char **argv,
    char *errbuf, size_t errlen)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);

	if (r == NULL) {
		snprintf(errbuf, errlen, "%s: %s", argv[0], c->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(errbuf, errlen, "%s: %s", argv[0], r->str);
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

static int
store_connect(struct store *st, char *errbuf, size_t errlen)
{
	const struct redisurl	*u = st->url;
	const struct config	*cf = st->cf;
	struct timeval		 ctv, tv;
	char			*host = NULL, dbuf[16];
	int			 port = 0;
	redisContext		*c;

	ctv = store_timeval(cf->redis_connect_timeout_ms);
	tv = store_timeval(cf->redis_timeout_ms);
	if (u->kind == REDISURL_UNIX) {
		c = redisConnectUnixWithTimeout(u->path, ctv);
	} else {
		if (u->kind == REDISURL_SENTINEL) {
			if (store_sentinel_master(u,
			    cf->redis_connect_timeout_ms, &host, &port,
			    errbuf, errlen) < 0)
				return -1;
		} else {
			host = xstrdup(u->host);
			port = u->port;
		}
		c = redisConnectWithTimeout(host, port, ctv);
	}
	if (c == NULL || c->err) {
		if (u->kind == REDISURL_UNIX)
			snprintf(errbuf, errlen, "%s: %s", u->path,
			    c != NULL ? c->errstr : "out of memory");
		else
			snprintf(errbuf, errlen, "%s:%d: %s", host, port,
			    c != NULL ? c->errstr : "out of memory");
		free(host);
		redisFree(c);
		return -1;
	}
	free(host);
	redisSetTimeout(c, tv);
	if (u->password != NULL) {
		const char *argv[3] = { "AUTH", u->user, u->password };

		if (u->user == NULL) {
			argv[1] = u->password;
			if (store_setup_cmd(c, 2, argv, errbuf, errlen) < 0)
				goto fail;
		} else if (store_setup_cmd(c, 3, argv, errbuf, errlen) < 0) {
			goto fail;
		}
	}
	if (u->db != 0) {
		const char *argv[2] = { "SELECT", dbuf };

		snprintf(dbuf, sizeof(dbuf), "%d", u->db);
		if (store_setup_cmd(c, 2, argv, errbuf, errlen) < 0)
			goto fail;
	}
	st->c = c;
	return 0;
fail:
	redisFree(c);
	return -1;
}

struct store *
store_open(const struct config *cf, char *errbuf, size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));

	st->cf = cf;
	st->url = redisurl_parse(cf->redis_url, errbuf, errlen);
	if (st->url == NULL) {
		free(st);
		return NULL;
	}
	schema_script_sha(st->sha);
	if (store_connect(st, errbuf, errlen) < 0) {
		store_close(&st);
		return NULL;
	}
	return st;
}

static struct store_reply *
store_reply_copy(const redisReply *r)
{
	struct store_reply *out = xcalloc(1, sizeof(*out));

	switch (r->type) {
	case REDIS_REPLY_INTEGER:
		out->type = STORE_INTEGER;
		out->integer = r->integer;
		break;
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		out->type = r->type == REDIS_REPLY_ERROR ? STORE_ERROR :
		    STORE_STRING;
		out->str = xstrndup(r->str, r->len);
		out->len = r->len;
		break;
	case REDIS_REPLY_ARRAY:
		out->type = STORE_ARRAY;
		out->nelem = r->elements;
		out->elem = xcalloc(r->elements, sizeof(*out->elem));
		for (size_t i = 0; i < r->elements; i++)
			out->elem[i] = store_reply_copy(r->element[i]);
		break;
	default:
		out->type = STORE_NIL;
		break;
	}
	return out;
}

/* One round trip; a failed one frees the context so the next call
   reconnects, once. */
static redisReply *
store_roundtrip(struct store *st, int argc, const char **argv,
    const size_t *argvlen, char *errbuf, size_t errlen)
{
	redisReply *r;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (st->c == NULL && store_connect(st, errbuf, errlen) < 0)
			return NULL;
		r = redisCommandArgv(st->c, argc, argv, argvlen);
		if (r != NULL)
			return r;
		if (st->c->err == REDIS_ERR_IO &&
		    (errno == EAGAIN || errno == EWOULDBLOCK))
			snprintf(errbuf, errlen, "no reply within %lldms "
			    "([redis] timeout)", st->cf->redis_timeout_ms);
		else
			snprintf(errbuf, errlen, "%s", st->c->errstr);
		redisFree(st->c);
		st->c = NULL;
	}
	return NULL;
}

int
store_check_script(struct store *st, char *errbuf, size_t errlen)
{
	const char	*argv[3] = { "SCRIPT", "LOAD", schema_script() };
	size_t		 len[3] = { 6, 4, strlen(argv[2]) };
	redisReply	*r = store_roundtrip(st, 3, argv, len, errbuf, errlen);
	int		 rc = -1;

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR)
		snprintf(errbuf, errlen, "SCRIPT LOAD: %s", r->str);
	else if (r->type != REDIS_REPLY_STRING || strcmp(r->str, st->sha) != 0)
		snprintf(errbuf, errlen, "SCRIPT LOAD: unexpected reply");
	else
		rc = 0;
	freeReplyObject(r);
	return rc;
}

struct store_reply *
store_command(struct store *st, const struct schema_argv *cmd, char *errbuf,
    size_t errlen)
{
	redisReply		*r;
	struct store_reply	*out;

	r = store_roundtrip(st, cmd->argc, (const char **)cmd->argv, cmd->len,
	    errbuf, errlen);
	if (r == NULL)
		return NULL;
	out = store_reply_copy(r);
	freeReplyObject(r);
	return out;
}

struct store_reply *
store_eval(struct store *st, const struct schema_argv *cmd, char *errbuf,
    size_t errlen)
{
	const char	*argv[SCHEMA_ARGV_MAX + 2];
	size_t		 len[SCHEMA_ARGV_MAX + 2];
	redisReply	*r;
	struct store_reply *out;

	argv[0] = "EVALSHA";
	len[0] = 7;
	argv[1] = st->sha;
	len[1] = strlen(st->sha);
	for (int i = 0; i < cmd->argc; i++) {
		argv[i + 2] = cmd->argv[i];
		len[i + 2] = cmd->len[i];
	}
	r = store_roundtrip(st, cmd->argc + 2, argv, len, errbuf, errlen);
	if (r != NULL && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0) {
		/* EVAL runs the script and caches it under the same SHA. */
		freeReplyObject(r);
		argv[0] = "EVAL";
		len[0] = 4;
		argv[1] = schema_script();
		len[1] = strlen(argv[1]);
		r = store_roundtrip(st, cmd->argc + 2, argv, len, errbuf,
		    errlen);
	}
	if (r == NULL)
		return NULL;
	out = store_reply_copy(r);
	freeReplyObject(r);
	return out;
}

void
store_reply_free(struct store_reply **rp)
{
	struct store_reply *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	for (size_t i = 0; i < r->nelem; i++)
		store_reply_free(&r->elem[i]);
	free(r->elem);
	free(r->str);
	free(r);
}

const char *
store_prefix(const struct store *st)
{
	return st->cf->redis_prefix;
}

const struct config *
store_config(const struct store *st)
{
	return st->cf;
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	if (st->c != NULL)
		redisFree(st->c);
	redisurl_free(&st->url);
	free(st);
}
