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
/* Most requests decided in one script run: enough to absorb what many
   clients send in one loop iteration, few enough that Redis is never
   held by one run for long (about 15 us a recipient). */
#define STOREEV_BATCH_MAX 64
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
	struct schema_argv	 consts;	/* of the check operation */
	struct storeev_batch	*gather;	/* requests not sent yet */
	redisAsyncContext	*sac;		/* to a Sentinel, while asked */
	size_t			 sidx;		/* which Sentinel */
	char			 serr[300];	/* why the last one failed */
	struct buf		 cmd;		/* command being sent */
	struct event		*flush;		/* writes what was queued */
	bool			 flush_pending;
};

/* One recipient's request, waiting in a batch. */
struct storeev_req {
	const struct schema_argv	*args;
	storeev_cb			*cb;
	void				*arg;
	bool				 answered;
};

/* Requests sent as one script run: the arguments after the script (its
   SHA or text) are kept, so that the same command can be sent again as
   EVAL after NOSCRIPT. */
struct storeev_batch {
	struct storeev		*se;
	struct event		*timer;
	struct buf		 tail;
	size_t			 nargs;		/* in tail */
	bool			 retried;	/* after NOSCRIPT */
	size_t			 n;
	struct storeev_req	 reqs[STOREEV_BATCH_MAX];
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
	rq->cb(rq->arg, res, err);
}

/* Answer every request of b not answered yet with a failure. */
static void
storeev_fail(struct storeev_batch *b, const char *err)
{
	for (size_t i = 0; i < b->n; i++)
		storeev_answer(&b->reqs[i], NULL, err);
}

static void
storeev_batch_free(struct storeev_batch *b)
{
	if (b->timer != NULL)
		event_free(b->timer);
	buf_free(&b->tail);
	free(b);
}

static int storeev_send(struct storeev_batch *b, bool eval);

/* Answer request rq with r, one element of the script's reply. */
static void
storeev_answer_one(struct storeev_req *rq, const redisReply *r)
{
	const char		*elems[4];
	struct schema_result	 res;
	size_t			 n = 0;
	char			 err[256];

	if (r->type == REDIS_REPLY_ARRAY && r->elements <= 4) {
		for (; n < r->elements; n++) {
			if (r->element[n]->type != REDIS_REPLY_STRING)
				break;
			elems[n] = r->element[n]->str;
		}
	}
	if (r->type != REDIS_REPLY_ARRAY || n != r->elements) {
		storeev_answer(rq, NULL, "unexpected reply from the "
		    "script");
	} else if (n == 2 && strcmp(elems[0], "error") == 0) {
		snprintf(err, sizeof(err), "script error: %s", elems[1]);
		storeev_answer(rq, NULL, err);
	} else if (schema_check_result(n, elems, &res) < 0) {
		storeev_answer(rq, NULL, "unexpected reply from the "
		    "script");
	} else {
		storeev_answer(rq, &res, NULL);
	}
}

static void
storeev_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct storeev_batch	*b = privdata;
	struct storeev		*se = b->se;
	redisReply		*r = reply;

	(void)ac;
	if (r == NULL) {
		storeev_fail(b, "connection lost");
		storeev_batch_free(b);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		char err[256];

		if (strncmp(r->str, "NOSCRIPT", 8) == 0 && !b->retried) {
			/* Flushed, restarted, or a new master after failover:
			   EVAL runs it and caches it under the same SHA. */
			b->retried = true;
			if (storeev_send(b, true) == 0)
				return;
		}
		snprintf(err, sizeof(err), "script error: %s", r->str);
		storeev_fail(b, err);
		storeev_batch_free(b);
		if (strncmp(r->str, "READONLY", 8) == 0 ||
		    strncmp(r->str, "LOADING", 7) == 0 ||
		    strncmp(r->str, "MASTERDOWN", 10) == 0)
			storeev_drop(se, r->str);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != b->n) {
		storeev_fail(b, "unexpected reply from the script");
		storeev_batch_free(b);
		return;
	}
	evtimer_del(b->timer);
	for (size_t i = 0; i < b->n; i++)
		storeev_answer_one(&b->reqs[i], r->element[i]);
	storeev_batch_free(b);
}

static void
storeev_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct storeev_batch	*b = arg;
	struct storeev		*se = b->se;

	(void)fd;
	(void)what;
	storeev_fail(b, "timeout");
	/* b is freed by its reply callback when the context goes. */
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

static void
storeev_resp_args(struct buf *b, const struct schema_argv *a, int from,
    int to)
{
	for (int i = from; i < to; i++)
		storeev_resp_arg(b, a->argv[i], a->len[i]);
}

/* The arguments after the script: numkeys, every request's keys, the
   shared arguments, every request's own. Written in the Redis protocol
   here rather than by hiredis's printf-like formatter: it is the daemon's
   hottest path. */
static void
storeev_build(struct storeev *se, struct storeev_batch *b)
{
	char nk[24];

	snprintf(nk, sizeof(nk), "%zu", b->n * SCHEMA_CHECK_NKEYS);
	buf_reset(&b->tail);
	storeev_resp_arg(&b->tail, nk, strlen(nk));
	for (size_t i = 0; i < b->n; i++)
		storeev_resp_args(&b->tail, b->reqs[i].args, 0,
		    SCHEMA_CHECK_NKEYS);
	storeev_resp_args(&b->tail, &se->consts, 0, se->consts.argc);
	for (size_t i = 0; i < b->n; i++)
		storeev_resp_args(&b->tail, b->reqs[i].args,
		    SCHEMA_CHECK_NKEYS, SCHEMA_CHECK_NKEYS +
		    SCHEMA_CHECK_NARGS);
	b->nargs = 1 + b->n * (SCHEMA_CHECK_NKEYS + SCHEMA_CHECK_NARGS) +
	    (size_t)se->consts.argc;
}

static int
storeev_send(struct storeev_batch *b, bool eval)
{
	struct storeev	*se = b->se;
	const char	*script = eval ? schema_script() : se->sha;

	if (se->ac == NULL)
		return -1;
	buf_reset(&se->cmd);
	storeev_resp_num(&se->cmd, '*', b->nargs + 2);
	storeev_resp_arg(&se->cmd, eval ? "EVAL" : "EVALSHA",
	    eval ? 4 : 7);
	storeev_resp_arg(&se->cmd, script, strlen(script));
	buf_append(&se->cmd, b->tail.data, b->tail.len);
	return redisAsyncFormattedCommand(se->ac, storeev_reply, b,
	    se->cmd.data, se->cmd.len) == REDIS_OK ? 0 : -1;
}

/* Send the requests gathered so far as one batch. */
static void
storeev_send_gathered(struct storeev *se)
{
	struct storeev_batch	*b = se->gather;
	struct timeval		 tv;

	if (b == NULL)
		return;
	se->gather = NULL;
	storeev_build(se, b);
	if (storeev_send(b, false) < 0) {
		storeev_fail(b, "cannot send");
		storeev_batch_free(b);
		return;
	}
	b->timer = evtimer_new(se->base, storeev_timeout, b);
	tv = store_timeval(se->cf->redis_timeout_ms);
	evtimer_add(b->timer, &tv);
}

/* Runs once the requests handled in a loop iteration have all been
   gathered: sends them as one script run and writes at once, where
   hiredis would wait for the socket to be reported writable. */
static void
storeev_flush(evutil_socket_t fd, short what, void *arg)
{
	struct storeev *se = arg;

	(void)fd;
	(void)what;
	se->flush_pending = false;
	storeev_send_gathered(se);
	if (se->ac != NULL && se->state == STOREEV_UP)
		redisAsyncHandleWrite(se->ac);
}

void
storeev_check(struct storeev *se, const struct schema_argv *args,
    storeev_cb *cb, void *arg)
{
	struct storeev_req *rq;

	if (se->state == STOREEV_DOWN || se->ac == NULL) {
		cb(arg, NULL, "not connected");
		return;
	}
	if (se->gather == NULL) {
		se->gather = xcalloc(1, sizeof(*se->gather));
		se->gather->se = se;
	}
	rq = &se->gather->reqs[se->gather->n++];
	rq->args = args;
	rq->cb = cb;
	rq->arg = arg;
	if (se->gather->n == STOREEV_BATCH_MAX)
		storeev_send_gathered(se);
	if (!se->flush_pending) {
		se->flush_pending = true;
		event_active(se->flush, EV_TIMEOUT, 0);
	}
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
	if (schema_check_consts(cf, &se->consts) < 0) {
		snprintf(errbuf, errlen, "prefix too long");
		redisurl_free(&se->url);
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

	/* What was gathered was built for the old configuration. */
	storeev_send_gathered(se);
	se->cf = cf;
	if (schema_check_consts(cf, &se->consts) < 0)
		log_err(NULL, "redis: prefix too long for the decision "
		    "script");
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

void
storeev_free(struct storeev **sep)
{
	struct storeev *se = *sep;

	if (se == NULL)
		return;
	*sep = NULL;
	if (se->gather != NULL) {
		storeev_fail(se->gather, "shutting down");
		storeev_batch_free(se->gather);
	}
	storeev_disconnect(se);
	event_free(se->retry);
	event_free(se->conn_timer);
	event_free(se->flush);
	redisurl_free(&se->url);
	free(se->url_text);
	buf_free(&se->cmd);
	free(se);
}
