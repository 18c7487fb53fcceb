/*
 * storeev.c - asynchronous Redis client of the policy daemon. Owns one
 * hiredis async context attached to the daemon's libevent loop; not
 * thread-safe (one per loop). A request carries its own timer: when Redis
 * does not answer in time the caller is answered with a failure at once,
 * the connection is dropped (a server that stalls one reply stalls all
 * that follow), and a reconnect is scheduled with exponential backoff.
 * Replies that arrive for requests already answered are discarded.
 * With a Sentinel URL, the Sentinels are asked in turn, asynchronously,
 * where the master is before every connect; until one answers, requests
 * are answered as failures at once rather than waiting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "buf.h"
#include "log.h"
#include "mem.h"
#include "redisurl.h"
#include "store.h"
#include "storeev.h"
#include "str.h"

#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	2000

enum storeev_state {
	STOREEV_DOWN,		/* waiting to reconnect */
	STOREEV_CONNECTING,
	STOREEV_UP,
};

struct storeev {
	struct event_base	*base;
	const struct config	*cf;
	struct redisurl		*url;
	char			*url_text;
	redisAsyncContext	*ac;
	enum storeev_state	 state;
	struct event		*retry;		/* reconnect timer */
	struct event		*conn_timer;	/* connect timeout */
	long long		 backoff_ms;
	bool			 outage;	/* logged as down */
	char			 where[300];	/* server, for log lines */
	char			 sha[SCHEMA_SHA_BUFSZ];
	size_t			 pending;
	redisAsyncContext	*sac;		/* to a Sentinel, while asked */
	size_t			 sidx;		/* which Sentinel */
	char			 serr[300];	/* why the last one failed */
	struct buf		 cmd;		/* command being sent */
	struct event		*flush;		/* writes what was queued */
	bool			 flush_pending;
};

struct storeev_req {
	struct storeev			*se;
	const struct schema_argv	*args;
	storeev_cb			*cb;
	void				*arg;
	struct event			*timer;
	bool				 answered;
	bool				 retried;	/* after NOSCRIPT */
};

static void storeev_connect(struct storeev *se);
static void storeev_resolve(struct storeev *se, size_t i);

/* Names of the setup commands, handed to their reply callback. */
static char setup_auth[] = "AUTH", setup_select[] = "SELECT",
    setup_role[] = "ROLE", setup_script[] = "SCRIPT LOAD";


static void
storeev_outage(struct storeev *se, const char *why)
{
	if (se->outage)
		return;
	se->outage = true;
	log_err(NULL, "redis: %s unavailable: %s; answering requests with "
	    "on_store_error = %s until it is back", se->where, why,
	    config_store_action_name(se->cf->policyd_on_store_error));
}

static void
storeev_schedule(struct storeev *se)
{
	struct timeval tv = store_timeval(se->backoff_ms);

	se->state = STOREEV_DOWN;
	evtimer_add(se->retry, &tv);
	se->backoff_ms *= 2;
	if (se->backoff_ms > BACKOFF_MAX_MS)
		se->backoff_ms = BACKOFF_MAX_MS;
}

/* Free the data server's and the Sentinel's contexts, if any; hiredis
   answers their pending callbacks with NULL. */
static void
storeev_disconnect(struct storeev *se)
{
	redisAsyncContext *ac = se->ac, *sac = se->sac;

	se->ac = NULL;
	se->sac = NULL;
	if (ac != NULL)
		redisAsyncFree(ac);
	if (sac != NULL)
		redisAsyncFree(sac);
}

/* Drop the connection and schedule a reconnect. */
static void
storeev_drop(struct storeev *se, const char *why)
{
	storeev_outage(se, why);
	evtimer_del(se->conn_timer);
	storeev_disconnect(se);
	if (!evtimer_pending(se->retry, NULL))
		storeev_schedule(se);
}

static void
storeev_answer(struct storeev_req *rq, const struct schema_result *res,
    const char *err)
{
	if (rq->answered)
		return;
	rq->answered = true;
	evtimer_del(rq->timer);
	rq->cb(rq->arg, res, err);
}

static void
storeev_req_free(struct storeev_req *rq)
{
	rq->se->pending--;
	event_free(rq->timer);
	free(rq);
}

static int storeev_send(struct storeev_req *rq, bool eval);

static void
storeev_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct storeev_req	*rq = privdata;
	struct storeev		*se = rq->se;
	redisReply		*r = reply;
	const char		*elems[8];
	struct schema_result	 res;
	size_t			 n;

	(void)ac;
	if (r == NULL) {
		storeev_answer(rq, NULL, "connection lost");
		storeev_req_free(rq);
		return;
	}
	if (rq->answered) {
		storeev_req_free(rq);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		char err[256];

		if (strncmp(r->str, "NOSCRIPT", 8) == 0 && !rq->retried) {
			/* Flushed, restarted, or a new master after failover:
			   EVAL runs it and caches it under the same SHA. */
			rq->retried = true;
			if (storeev_send(rq, true) == 0)
				return;
		}
		snprintf(err, sizeof(err), "script error: %s", r->str);
		storeev_answer(rq, NULL, err);
		storeev_req_free(rq);
		if (strncmp(r->str, "READONLY", 8) == 0 ||
		    strncmp(r->str, "LOADING", 7) == 0 ||
		    strncmp(r->str, "MASTERDOWN", 10) == 0)
			storeev_drop(se, r->str);
		return;
	}
	n = 0;
	if (r->type == REDIS_REPLY_ARRAY && r->elements <= 8) {
		for (; n < r->elements; n++) {
			if (r->element[n]->type != REDIS_REPLY_STRING)
				break;
			elems[n] = r->element[n]->str;
		}
	}
	if (r->type != REDIS_REPLY_ARRAY || n != r->elements ||
	    schema_check_result(n, elems, &res) < 0) {
		storeev_answer(rq, NULL, "unexpected reply from the script");
		storeev_req_free(rq);
		return;
	}
	storeev_answer(rq, &res, NULL);
	storeev_req_free(rq);
}

static void
storeev_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct storeev_req	*rq = arg;
	struct storeev		*se = rq->se;

	(void)fd;
	(void)what;
	storeev_answer(rq, NULL, "timeout");
	/* rq is freed by its reply callback when the context goes. */
	storeev_drop(se, "no reply within the timeout");
}

/* Append a decimal number and CRLF to the command being built. */
static void
storeev_resp_num(struct buf *b, char type, size_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);

	*--p = '\n';
	*--p = '\r';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	*--p = type;
	buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void
storeev_resp_arg(struct buf *b, const char *s, size_t n)
{
	storeev_resp_num(b, '$', n);
	buf_append(b, s, n);
	buf_append(b, "\r\n", 2);
}

/* The command is written in the Redis protocol here rather than by
   hiredis's printf-like formatter: it is the daemon's hottest path. */
static int
storeev_send(struct storeev_req *rq, bool eval)
{
	struct storeev	*se = rq->se;
	const char	*script = eval ? schema_script() : se->sha;

	if (se->ac == NULL)
		return -1;
	buf_reset(&se->cmd);
	storeev_resp_num(&se->cmd, '*', (size_t)rq->args->argc + 2);
	storeev_resp_arg(&se->cmd, eval ? "EVAL" : "EVALSHA",
	    eval ? 4 : 7);
	storeev_resp_arg(&se->cmd, script, strlen(script));
	for (int i = 0; i < rq->args->argc; i++)
		storeev_resp_arg(&se->cmd, rq->args->argv[i], rq->args->len[i]);
	if (redisAsyncFormattedCommand(se->ac, storeev_reply, rq,
	    se->cmd.data, se->cmd.len) != REDIS_OK)
		return -1;
	/* hiredis writes when the socket is next reported writable, one
	   loop iteration later; write instead once the requests handled in
	   this iteration have all queued theirs. */
	if (!se->flush_pending && se->state == STOREEV_UP) {
		se->flush_pending = true;
		event_active(se->flush, EV_TIMEOUT, 0);
	}
	return 0;
}

static void
storeev_flush(evutil_socket_t fd, short what, void *arg)
{
	struct storeev *se = arg;

	(void)fd;
	(void)what;
	se->flush_pending = false;
	if (se->ac != NULL && se->state == STOREEV_UP)
		redisAsyncHandleWrite(se->ac);
}

void
storeev_check(struct storeev *se, const struct schema_argv *args,
    storeev_cb *cb, void *arg)
{
	struct storeev_req	*rq;
	struct timeval		 tv;

	if (se->state == STOREEV_DOWN || se->ac == NULL) {
		cb(arg, NULL, "not connected");
		return;
	}
	rq = xcalloc(1, sizeof(*rq));
	rq->se = se;
	rq->args = args;
	rq->cb = cb;
	rq->arg = arg;
	rq->timer = evtimer_new(se->base, storeev_timeout, rq);
	se->pending++;
	if (storeev_send(rq, false) < 0) {
		storeev_req_free(rq);
		cb(arg, NULL, "cannot send");
		return;
	}
	tv = store_timeval(se->cf->redis_timeout_ms);
	evtimer_add(rq->timer, &tv);
}

static void
storeev_on_connect(const redisAsyncContext *ac, int status)
{
	struct storeev *se = ac->data;

	if (se == NULL || se->ac != ac)
		return;
	evtimer_del(se->conn_timer);
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		se->ac = NULL;
		storeev_outage(se, ac->errstr);
		storeev_schedule(se);
		return;
	}
	se->state = STOREEV_UP;
	se->backoff_ms = BACKOFF_MIN_MS;
	if (se->outage) {
		se->outage = false;
		log_info(NULL, "redis: %s reachable again; answering requests "
		    "normally", se->where);
	} else {
		LOG_DEBUGF(NULL, "redis: connected to %s", se->where);
	}
}

static void
storeev_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct storeev *se = ac->data;

	(void)status;
	if (se == NULL || se->ac != ac)
		return;
	se->ac = NULL;
	storeev_outage(se, ac->errstr[0] != '\0' ? ac->errstr :
	    "connection closed");
	storeev_schedule(se);
}

/* Replies to the setup commands: AUTH and SELECT must succeed, and a
   server found through Sentinel must be a master. */
static void
storeev_setup_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct storeev	*se = ac->data;
	redisReply	*r = reply;
	const char	*what = privdata;

	if (r == NULL || se == NULL || se->ac != ac)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		char why[300];

		snprintf(why, sizeof(why), "%s failed: %s", what, r->str);
		storeev_drop(se, why);
		return;
	}
	if (what == setup_role && (r->type != REDIS_REPLY_ARRAY ||
	    r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "master") != 0))
		storeev_drop(se, "Sentinel named a server that is not a "
		    "master (failover in progress)");
}

static void
storeev_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct storeev		*se = arg;
	redisAsyncContext	*sac = se->sac;

	(void)fd;
	(void)what;
	if (sac != NULL) {
		/* This Sentinel is silent: ask the next one. */
		se->sac = NULL;
		redisAsyncFree(sac);
		storeev_resolve(se, se->sidx + 1);
		return;
	}
	storeev_drop(se, "connect timeout");
}

/* Connect to the data server at host:port (TCP) or u->path (unix). */
static void
storeev_connect_server(struct storeev *se, const char *host, int port)
{
	const struct redisurl	*u = se->url;
	char			 dbuf[16];
	redisAsyncContext	*ac;
	struct timeval		 tv;

	if (u->kind == REDISURL_UNIX) {
		snprintf(se->where, sizeof(se->where), "unix:%s", u->path);
		ac = redisAsyncConnectUnix(u->path);
	} else {
		if (u->kind == REDISURL_SENTINEL)
			snprintf(se->where, sizeof(se->where), "%s:%d "
			    "(master \"%s\")", host, port, u->master);
		else
			snprintf(se->where, sizeof(se->where), "%s:%d", host,
			    port);
		ac = redisAsyncConnect(host, port);
	}
	if (ac == NULL || ac->err) {
		storeev_outage(se, ac != NULL ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		storeev_schedule(se);
		return;
	}
	ac->data = se;
	se->ac = ac;
	redisLibeventAttach(ac, se->base);
	redisAsyncSetConnectCallback(ac, storeev_on_connect);
	redisAsyncSetDisconnectCallback(ac, storeev_on_disconnect);
	/* Setup commands go first on the wire; requests queue behind them. */
	if (u->password != NULL) {
		if (u->user != NULL)
			redisAsyncCommand(ac, storeev_setup_reply, setup_auth,
			    "AUTH %s %s", u->user, u->password);
		else
			redisAsyncCommand(ac, storeev_setup_reply, setup_auth,
			    "AUTH %s", u->password);
	}
	if (u->db != 0) {
		snprintf(dbuf, sizeof(dbuf), "%d", u->db);
		redisAsyncCommand(ac, storeev_setup_reply, setup_select,
		    "SELECT %s", dbuf);
	}
	if (u->kind == REDISURL_SENTINEL)
		redisAsyncCommand(ac, storeev_setup_reply, setup_role,
		    "ROLE");
	redisAsyncCommand(ac, storeev_setup_reply, setup_script,
	    "SCRIPT LOAD %s", schema_script());
	tv = store_timeval(se->cf->redis_connect_timeout_ms);
	evtimer_add(se->conn_timer, &tv);
}

static void
storeev_sentinel_reply(redisAsyncContext *sac, void *reply, void *privdata)
{
	struct storeev	*se = privdata;
	redisReply	*r = reply;
	long long	 port;

	if (se->sac != sac)
		return;		/* given up on already */
	se->sac = NULL;
	evtimer_del(se->conn_timer);
	redisAsyncFree(sac);	/* deferred by hiredis until we return */
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    str_to_ll(r->element[1]->str, 1, 65535, &port) == 0) {
		storeev_connect_server(se, r->element[0]->str, (int)port);
		return;
	}
	if (r != NULL && r->type == REDIS_REPLY_NIL)
		snprintf(se->serr, sizeof(se->serr), "Sentinel %s:%d does "
		    "not know master \"%s\"", se->url->sentinels[se->sidx].host,
		    se->url->sentinels[se->sidx].port, se->url->master);
	else
		snprintf(se->serr, sizeof(se->serr), "Sentinel %s:%d: %s",
		    se->url->sentinels[se->sidx].host,
		    se->url->sentinels[se->sidx].port,
		    r == NULL ? "connection failed" :
		    r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply");
	storeev_resolve(se, se->sidx + 1);
}

/* Ask Sentinel number i (and, failing that, the ones after it) where the
   master is; connects to it when one answers. */
static void
storeev_resolve(struct storeev *se, size_t i)
{
	const struct redisurl	*u = se->url;
	redisAsyncContext	*sac;
	struct timeval		 tv;

	for (; i < u->nsentinels; i++) {
		sac = redisAsyncConnect(u->sentinels[i].host,
		    u->sentinels[i].port);
		if (sac == NULL || sac->err) {
			snprintf(se->serr, sizeof(se->serr), "Sentinel "
			    "%s:%d: %s", u->sentinels[i].host,
			    u->sentinels[i].port, sac != NULL ? sac->errstr :
			    "out of memory");
			if (sac != NULL)
				redisAsyncFree(sac);
			continue;
		}
		se->sidx = i;
		se->sac = sac;
		redisLibeventAttach(sac, se->base);
		redisAsyncCommand(sac, storeev_sentinel_reply, se,
		    "SENTINEL get-master-addr-by-name %s", u->master);
		tv = store_timeval(se->cf->redis_connect_timeout_ms);
		evtimer_add(se->conn_timer, &tv);
		return;
	}
	snprintf(se->where, sizeof(se->where), "master \"%s\"", u->master);
	storeev_outage(se, se->serr[0] != '\0' ? se->serr :
	    "no Sentinel answered");
	storeev_schedule(se);
}

static void
storeev_connect(struct storeev *se)
{
	se->state = STOREEV_CONNECTING;
	se->serr[0] = '\0';
	if (se->url->kind == REDISURL_SENTINEL)
		storeev_resolve(se, 0);
	else
		storeev_connect_server(se, se->url->host, se->url->port);
}

static void
storeev_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	storeev_connect(arg);
}

struct storeev *
storeev_new(struct event_base *base, const struct config *cf, char *errbuf,
    size_t errlen)
{
	struct storeev *se = xcalloc(1, sizeof(*se));

	se->url = redisurl_parse(cf->redis_url, errbuf, errlen);
	if (se->url == NULL) {
		free(se);
		return NULL;
	}
	se->base = base;
	se->cf = cf;
	se->url_text = xstrdup(cf->redis_url);
	se->backoff_ms = BACKOFF_MIN_MS;
	se->retry = evtimer_new(base, storeev_retry, se);
	se->conn_timer = evtimer_new(base, storeev_connect_timeout, se);
	se->flush = event_new(base, -1, 0, storeev_flush, se);
	schema_script_sha(se->sha);
	storeev_connect(se);
	return se;
}

void
storeev_set_config(struct storeev *se, const struct config *cf)
{
	char			 err[256];
	struct redisurl		*u;

	se->cf = cf;
	if (strcmp(se->url_text, cf->redis_url) == 0)
		return;
	u = redisurl_parse(cf->redis_url, err, sizeof(err));
	if (u == NULL)
		return;		/* config_load() has checked it already */
	redisurl_free(&se->url);
	se->url = u;
	free(se->url_text);
	se->url_text = xstrdup(cf->redis_url);
	log_info(NULL, "redis: server changed; reconnecting");
	se->outage = true;	/* the reconnect logs "reachable again" */
	storeev_drop(se, "reconfigured");
	evtimer_del(se->retry);
	storeev_connect(se);
}

size_t
storeev_pending(const struct storeev *se)
{
	return se->pending;
}

void
storeev_free(struct storeev **sep)
{
	struct storeev *se = *sep;

	if (se == NULL)
		return;
	*sep = NULL;
	storeev_disconnect(se);
	event_free(se->retry);
	event_free(se->conn_timer);
	event_free(se->flush);
	redisurl_free(&se->url);
	free(se->url_text);
	buf_free(&se->cmd);
	free(se);
}
