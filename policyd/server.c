/*
 * server.c - libevent loop of sesgate-policyd. Owns the listeners, every
 * connection and its queue of requests, and the configuration in use.
 * A client may pipeline: its requests are read ahead and answered in the
 * order they came, but decided one after another, as Postfix sends them,
 * so that the recipients of a message (all asked about on one connection,
 * SMTPD_POLICY_README says) are counted here, exactly, per connection.
 * A request holds a reference to the configuration it was decided with,
 * so a reload (SIGHUP) swaps the pointer between requests and the old
 * configuration dies with its last request. Single threaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "buf.h"
#include "decide.h"
#include "log.h"
#include "mem.h"
#include "request.h"
#include "sdnotify.h"
#include "server.h"
#include "store.h"
#include "storeev.h"
#include "str.h"

/* A client that pipelines more than this stops being read until replies
   drain; so does one that does not read its replies. */
#define CONN_MAX_INFLIGHT	64
#define CONN_MAX_OUTPUT		(256 * 1024)

struct cfref {
	struct config	*cf;
	int		 refs;
};

struct server;

struct pend {
	struct pend		*next;
	struct conn		*c;
	struct cfref		*cfr;
	struct request		 req;
	struct decision		 d;
	struct schema_argv	 args;
	bool			 done;
};

struct conn {
	struct conn		*prev, *next;
	struct server		*srv;
	evutil_socket_t		 fd;
	struct event		*ev_read, *ev_write, *ev_idle;
	struct buf		 in, out;	/* bytes read, bytes to send */
	size_t			 in_off, out_off;	/* consumed, sent */
	struct timeval		 last_active;
	struct pend		*head, *tail;	/* requests, oldest first */
	struct pend		*spare;		/* one kept for reuse */
	size_t			 inflight;
	bool			 deciding;	/* a request is with Redis */
	struct buf		 msg;		/* instance of the message */
	long			 msg_rcpts;	/* its recipients accepted */
	bool			 eof;		/* peer closed or error */
	bool			 in_read;	/* conn_read() flushes */
	bool			 stop_reading;
	char			 peer[64];
};

struct listener {
	struct evconnlistener	*l;
	char			*unix_path;	/* unlinked at exit */
};

struct server {
	struct event_base	*base;
	struct cfref		*cfr;
	const char		*conf_path;
	struct storeev		*se;
	struct listener		*ls;
	size_t			 nls;
	struct conn		*conns;
	size_t			 nconns;
	bool			 stopping;
	bool			 full_logged;
	struct event		*sig_hup, *sig_term, *sig_int, *stop_timer;
};


static struct cfref *
cfref_new(struct config *cf)
{
	struct cfref *r = xcalloc(1, sizeof(*r));

	r->cf = cf;
	r->refs = 1;
	return r;
}

static void
cfref_release(struct cfref **rp)
{
	struct cfref *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	if (--r->refs == 0) {
		config_free(&r->cf);
		free(r);
	}
}

static void
server_maybe_exit(struct server *srv)
{
	if (srv->stopping && srv->nconns == 0)
		event_base_loopexit(srv->base, NULL);
}

static void
conn_free(struct conn *c)
{
	struct server *srv = c->srv;

	while (c->head != NULL) {
		struct pend *p = c->head;

		c->head = p->next;
		request_free(&p->req);
		cfref_release(&p->cfr);
		free(p);
	}
	if (c->spare != NULL) {
		request_free(&c->spare->req);
		free(c->spare);
	}
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_idle);
	evutil_closesocket(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->msg);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	free(c);
	server_maybe_exit(srv);
}

static size_t
conn_out_pending(const struct conn *c)
{
	return c->out.len - c->out_off;
}

/* Stop reading a client that pipelines too far ahead or does not read
   its replies; start again when it caught up. */
static void
conn_update_reading(struct conn *c)
{
	bool stop = c->inflight >= CONN_MAX_INFLIGHT ||
	    conn_out_pending(c) > CONN_MAX_OUTPUT;

	if (stop && !c->stop_reading) {
		event_del(c->ev_read);
	} else if (!stop && c->stop_reading && !c->eof) {
		event_add(c->ev_read, NULL);
		/* Requests already read but left waiting raise no new read
		   event: run the reader for them. */
		if (c->in.len > c->in_off)
			event_active(c->ev_read, EV_READ, 0);
	}
	c->stop_reading = stop;
}

/* Send what is queued, now: most replies go out in this one write(), with
   no wait for the socket to be reported writable. The rest waits for
   ev_write. */
static void
conn_send(struct conn *c)
{
	while (conn_out_pending(c) > 0) {
		ssize_t n = send(c->fd, c->out.data + c->out_off,
		    conn_out_pending(c), MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(c->ev_write, NULL);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		c->eof = true;		/* the client went away */
		break;
	}
	buf_reset(&c->out);
	c->out_off = 0;
	event_del(c->ev_write);
}

static void
pend_log(const struct pend *p)
{
	const struct request	*req = &p->req;
	char			 client[64], sasl[128], sender[160], rcpt[160];

	if (!log_enabled(LOG_INFO))
		return;
	log_info(request_str(req, "queue_id"), "policyd: client=%s "
	    "sasl_username=<%s> sender=<%s> recipient=<%s> decision=%s%s%s "
	    "action=\"%s\"",
	    log_clean(request_str(req, "client_address"), client,
	    sizeof(client)),
	    log_clean(request_str(req, "sasl_username"), sasl, sizeof(sasl)),
	    log_clean(request_str(req, "sender"), sender, sizeof(sender)),
	    log_clean(request_str(req, "recipient"), rcpt, sizeof(rcpt)),
	    p->d.why, *p->d.level != '\0' ? " level=" : "", p->d.level,
	    p->d.action);
}

/* Write the replies that are ready, oldest first; stop at the first
   request still waiting for Redis. May free c. */
static void
conn_flush(struct conn *c)
{
	while (c->head != NULL && c->head->done) {
		struct pend *p = c->head;

		c->head = p->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->inflight--;
		if (!c->eof) {
			buf_append(&c->out, "action=", 7);
			buf_puts(&c->out, p->d.action);
			buf_append(&c->out, "\n\n", 2);
		}
		cfref_release(&p->cfr);
		if (c->spare == NULL) {
			c->spare = p;
		} else {
			request_free(&p->req);
			free(p);
		}
	}
	if (!c->eof)
		conn_send(c);
	if (c->eof && c->head == NULL) {
		conn_free(c);
		return;
	}
	if (c->srv->stopping && c->head == NULL) {
		/* Let the replies reach the client, then close. */
		event_del(c->ev_read);
		if (conn_out_pending(c) == 0)
			conn_free(c);
		return;
	}
	conn_update_reading(c);
}

static void
pend_answered(void *arg, const struct schema_result *res, const char *err)
{
	struct pend	*p = arg;
	struct conn	*c = p->c;
	const struct config *cf = p->cfr->cf;

	c->deciding = false;
	if (res != NULL) {
		if (res->status == SCHEMA_ACCEPT && *p->d.check.instance != '\0')
			c->msg_rcpts++;
		decide_result(cf, res, &p->d);
	} else {
		decide_store_error(cf, &p->d);
		/* An outage is logged once, by storeev; what the script
		   refused is about this request. */
		if (strncmp(err, "script error", 12) == 0)
			log_warning(request_str(&p->req, "queue_id"), "policyd: "
			    "redis: %s", err);
		else
			LOG_DEBUGF(request_str(&p->req, "queue_id"), "policyd: "
			    "redis: %s", err);
	}
	p->done = true;
	pend_log(p);
	/* Inside conn_read() (storeev answered at once) the reader goes on
	   and flushes when it is done with the connection. Otherwise
	   requests read ahead are decided next. */
	if (c->in_read)
		return;
	if (!c->eof && c->in.len > c->in_off)
		event_active(c->ev_read, EV_READ, 0);
	conn_flush(c);
}

/* The recipients of ck's message accepted on this connection so far;
   a new instance is a new message. */
static void
conn_msg(struct conn *c, struct schema_check *ck)
{
	size_t n = strlen(ck->instance);

	if (n != c->msg.len || (n > 0 &&
	    memcmp(c->msg.data, ck->instance, n) != 0)) {
		buf_reset(&c->msg);
		buf_append(&c->msg, ck->instance, n);
		c->msg_rcpts = 0;
	}
	ck->msg_rcpts = c->msg_rcpts;
}

static struct pend *
conn_new_pend(struct conn *c)
{
	struct pend *p = c->spare;

	if (p != NULL)
		c->spare = NULL;
	else
		p = xcalloc(1, sizeof(*p));
	p->next = NULL;
	p->c = c;
	p->done = false;
	p->cfr = c->srv->cfr;
	p->cfr->refs++;
	if (c->tail != NULL)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	c->inflight++;
	return p;
}

static void
conn_request(struct conn *c, const char *data, size_t len)
{
	struct pend		*p = conn_new_pend(c);
	const struct config	*cf = p->cfr->cf;
	char			 err[128], clean[64];

	if (request_parse(&p->req, data, len, err, sizeof(err)) < 0) {
		decide_malformed(&p->d);
		p->done = true;
		log_warning(LOG_QID_NONE, "policyd: client=%s malformed "
		    "request: %s; answering %s", log_clean(c->peer, clean,
		    sizeof(clean)), err, p->d.action);
		return;
	}
	if (!decide_request(cf, &p->req, &p->d)) {
		p->done = true;
		if (strcmp(p->d.why, "not-rcpt") != 0 &&
		    strcmp(p->d.why, "inbound") != 0)
			pend_log(p);
		else
			LOG_DEBUGF(request_str(&p->req, "queue_id"),
			    "policyd: %s: DUNNO", p->d.why);
		return;
	}
	conn_msg(c, &p->d.check);
	if (schema_check_argv(cf, &p->d.check, &p->args) < 0) {
		decide_store_error(cf, &p->d);
		p->done = true;
		log_warning(request_str(&p->req, "queue_id"), "policyd: "
		    "request too large for a Redis key; answering %s",
		    p->d.action);
		return;
	}
	c->deciding = true;
	storeev_check(c->srv->se, &p->args, pend_answered, p);
}

/* Take the peer's end of the connection: answer what is in flight (to
   nobody), then free. */
static void
conn_close(struct conn *c)
{
	c->eof = true;
	event_del(c->ev_read);
	event_del(c->ev_write);
	conn_flush(c);
}

static void
conn_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	char		 clean[64];
	bool		 closed = false;

	(void)what;
	if (c->in.len - c->in_off < REQUEST_MAX_BYTES) {
		char	chunk[16384];
		ssize_t	n = recv(fd, chunk, sizeof(chunk), 0);

		if (n > 0) {
			buf_append(&c->in, chunk, (size_t)n);
			event_base_gettimeofday_cached(c->srv->base,
			    &c->last_active);
		} else if (n == 0 || (errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR)) {
			closed = true;
		}
	}
	c->in_read = true;
	while (!c->eof && !c->deciding && c->inflight < CONN_MAX_INFLIGHT &&
	    c->in.len > c->in_off) {
		const char	*data = c->in.data + c->in_off;
		size_t		 avail = c->in.len - c->in_off, len;
		int		 r = request_frame(data, avail, &len);

		if (r == 0)
			break;
		if (r < 0) {
			log_warning(LOG_QID_NONE, "policyd: client=%s request "
			    "longer than %d bytes; closing the connection",
			    log_clean(c->peer, clean, sizeof(clean)),
			    REQUEST_MAX_BYTES);
			closed = true;
			c->in_off = c->in.len;
			break;
		}
		conn_request(c, data, len);
		c->in_off += len;
	}
	c->in_read = false;
	if (c->in_off == c->in.len) {
		buf_reset(&c->in);
		c->in_off = 0;
	} else if (c->in_off > 0) {
		memmove(c->in.data, c->in.data + c->in_off,
		    c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	if (closed) {
		if (c->in.len > 0)
			log_warning(LOG_QID_NONE, "policyd: client=%s closed "
			    "the connection inside a request (%zu bytes "
			    "unanswered)", log_clean(c->peer, clean,
			    sizeof(clean)), c->in.len);
		conn_close(c);
		return;
	}
	conn_flush(c);
}

static void
conn_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_flush(arg);
}

/* Idle check: the timer is set once per idle period, not per request;
   when it fires early it is set again for the rest. */
static void
conn_idle(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	long long	 idle_ms = c->srv->cfr->cf->policyd_idle_timeout_ms;
	struct timeval	 now, left;
	long long	 quiet_ms;
	char		 clean[64];

	(void)fd;
	(void)what;
	event_base_gettimeofday_cached(c->srv->base, &now);
	quiet_ms = (long long)(now.tv_sec - c->last_active.tv_sec) * 1000 +
	    (now.tv_usec - c->last_active.tv_usec) / 1000;
	if (c->head != NULL || quiet_ms < idle_ms) {
		left = store_timeval(c->head != NULL ? idle_ms :
		    idle_ms - quiet_ms);
		evtimer_add(c->ev_idle, &left);
		return;
	}
	LOG_DEBUGF(NULL, "policyd: client=%s idle; closing",
	    log_clean(c->peer, clean, sizeof(clean)));
	conn_close(c);
}

static void
server_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server	*srv = arg;
	const struct config *cf = srv->cfr->cf;
	struct conn	*c;
	struct timeval	 idle;

	(void)l;
	(void)salen;
	if (srv->nconns >= (size_t)cf->policyd_max_connections) {
		if (!srv->full_logged)
			log_warning(NULL, "policyd: %zu connections, the "
			    "max_connections limit; refusing more",
			    srv->nconns);
		srv->full_logged = true;
		evutil_closesocket(fd);
		return;
	}
	srv->full_logged = false;
	/* A reply is one small write answering one small request: Nagle's
	   algorithm would hold it back for the client's delayed ACK. */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		int one = 1;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
		    c->peer, sizeof(c->peer));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    c->peer, sizeof(c->peer));
	else
		(void)str_copy(c->peer, sizeof(c->peer), "unix");
	c->fd = fd;
	evutil_make_socket_nonblocking(fd);
	c->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_read,
	    c);
	c->ev_write = event_new(srv->base, fd, EV_WRITE | EV_PERSIST,
	    conn_write, c);
	c->ev_idle = evtimer_new(srv->base, conn_idle, c);
	event_base_gettimeofday_cached(srv->base, &c->last_active);
	idle = store_timeval(cf->policyd_idle_timeout_ms);
	evtimer_add(c->ev_idle, &idle);
	event_add(c->ev_read, NULL);
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
}

static void
server_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_warning(NULL, "policyd: accept: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* "inet:host:port", "inet:[v6]:port" or "unix:/path". */
static int
server_listen_one(struct server *srv, const char *spec,
    const struct privs *pv, char *errbuf, size_t errlen)
{
	const struct config	*cf = srv->cfr->cf;
	struct sockaddr_storage	 ss;
	int			 sslen = sizeof(ss);
	struct evconnlistener	*l;
	struct listener		*out;
	char			*unix_path = NULL;
	unsigned		 flags = LEV_OPT_CLOSE_ON_FREE |
				    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

	memset(&ss, 0, sizeof(ss));
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;
		evutil_socket_t fd = privs_unix_listener(pv, path,
		    (mode_t)cf->policyd_socket_mode, errbuf, errlen);

		if (fd < 0)
			return -1;
		l = evconnlistener_new(srv->base, server_accept, srv,
		    LEV_OPT_CLOSE_ON_FREE, -1, fd);
		unix_path = xstrdup(path);
	} else {
		const char *hp = spec + 5;

		if (strncmp(spec, "inet:", 5) != 0 ||
		    evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss,
		    &sslen) < 0 || (ss.ss_family == AF_INET &&
		    ((struct sockaddr_in *)&ss)->sin_port == 0) ||
		    (ss.ss_family == AF_INET6 &&
		    ((struct sockaddr_in6 *)&ss)->sin6_port == 0)) {
			snprintf(errbuf, errlen, "%s: want inet:ADDRESS:PORT",
			    spec);
			return -1;
		}
		l = evconnlistener_new_bind(srv->base, server_accept, srv,
		    flags, 128, (struct sockaddr *)&ss, sslen);
		if (l == NULL) {
			snprintf(errbuf, errlen, "%s: %s", spec,
			    strerror(errno));
			return -1;
		}
	}
	if (l == NULL) {
		snprintf(errbuf, errlen, "%s: cannot listen", spec);
		free(unix_path);
		return -1;
	}
	evconnlistener_set_error_cb(l, server_accept_error);
	srv->ls = xrealloc(srv->ls, (srv->nls + 1) * sizeof(*srv->ls));
	out = &srv->ls[srv->nls++];
	out->l = l;
	out->unix_path = unix_path;
	log_info(NULL, "policyd: listening on %s", spec);
	return 0;
}

static void
server_close_listeners(struct server *srv)
{
	for (size_t i = 0; i < srv->nls; i++) {
		evconnlistener_free(srv->ls[i].l);
		if (srv->ls[i].unix_path != NULL)
			(void)unlink(srv->ls[i].unix_path);
		free(srv->ls[i].unix_path);
	}
	free(srv->ls);
	srv->ls = NULL;
	srv->nls = 0;
}

static bool
server_same_list(char **a, char **b)
{
	size_t i;

	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return a[i] == NULL && b[i] == NULL;
}

/* The file again; on any error the running configuration stays. */
static void
server_reload_file(struct server *srv)
{
	struct config *cf = config_reload(srv->conf_path, "policyd");

	if (cf == NULL)
		return;
	if (!server_same_list(cf->policyd_listen,
	    srv->cfr->cf->policyd_listen))
		log_warning(NULL, "policyd: reload: listen changed; a restart "
		    "is needed to apply it");
	log_reconfigure(cf->log_facility, cf->log_level);
	cfref_release(&srv->cfr);
	srv->cfr = cfref_new(cf);
	storeev_set_config(srv->se, cf);
	log_info(NULL, "policyd: configuration reloaded from %s",
	    srv->conf_path);
}

static void
server_reload(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sdnotify_reloading();
	server_reload_file(arg);
	sdnotify_ready("serving");
}

static void
server_force_exit(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	log_warning(NULL, "policyd: %zu connections still busy at shutdown; "
	    "exiting anyway", srv->nconns);
	event_base_loopexit(srv->base, NULL);
}

static void
server_stop(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	struct conn	*c, *next;
	struct timeval	 tv;

	(void)what;
	if (srv->stopping)
		return;
	log_info(NULL, "policyd: signal %d: finishing %zu connections and "
	    "exiting", (int)fd, srv->nconns);
	sdnotify_stopping();
	srv->stopping = true;
	server_close_listeners(srv);
	/* Every request in flight is answered within the Redis timeout. */
	tv.tv_sec = (time_t)(srv->cfr->cf->redis_timeout_ms / 1000 + 2);
	tv.tv_usec = 0;
	evtimer_add(srv->stop_timer, &tv);
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		conn_flush(c);
	}
	server_maybe_exit(srv);
}

int
server_run(struct config *cf, const char *conf_path, const struct privs *pv)
{
	struct server		 srv;
	struct event_config	*cfg;
	char			 err[512];
	int			 status = EX_OK;

	memset(&srv, 0, sizeof(srv));
	signal(SIGPIPE, SIG_IGN);
	/* With the change list, a write interest added and dropped within
	   one loop iteration (every reply, every Redis command) costs no
	   epoll_ctl() at all. */
	cfg = event_config_new();
	if (cfg != NULL)
		event_config_set_flag(cfg,
		    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	srv.base = cfg != NULL ? event_base_new_with_config(cfg) : NULL;
	event_config_free(cfg);
	if (srv.base == NULL)
		die(EX_OSERR, "policyd: cannot create the event loop");
	srv.cfr = cfref_new(cf);
	srv.conf_path = conf_path;
	/* Before the first socket opens: a SIGTERM sent as soon as the
	   port answers is taken at the loop's start, an orderly stop. */
	srv.sig_hup = evsignal_new(srv.base, SIGHUP, server_reload, &srv);
	srv.sig_term = evsignal_new(srv.base, SIGTERM, server_stop, &srv);
	srv.sig_int = evsignal_new(srv.base, SIGINT, server_stop, &srv);
	srv.stop_timer = evtimer_new(srv.base, server_force_exit, &srv);
	evsignal_add(srv.sig_hup, NULL);
	evsignal_add(srv.sig_term, NULL);
	evsignal_add(srv.sig_int, NULL);
	for (size_t i = 0; cf->policyd_listen[i] != NULL; i++) {
		if (server_listen_one(&srv, cf->policyd_listen[i], pv, err,
		    sizeof(err)) < 0) {
			log_err(NULL, "policyd: cannot listen: %s", err);
			status = EX_OSERR;
			goto out;
		}
	}
	if (privs_drop(pv, err, sizeof(err)) < 0) {
		log_err(NULL, "policyd: %s", err);
		status = EX_OSERR;
		goto out;
	}
	srv.se = storeev_new(srv.base, cf, err, sizeof(err));
	if (srv.se == NULL) {
		log_err(NULL, "policyd: [redis] url: %s", err);
		status = EX_CONFIG;
		goto out;
	}
	log_info(NULL, "policyd: ready (region %s, sandbox %s)", cf->region,
	    cf->policyd_sandbox ? "yes" : "no");
	sdnotify_ready("serving");
	event_base_dispatch(srv.base);
	log_info(NULL, "policyd: stopped");
out:
	/* Answer what Redis still owes (as failures), then drop clients. */
	for (struct conn *c = srv.conns; c != NULL; c = c->next)
		c->eof = true;
	storeev_free(&srv.se);
	while (srv.conns != NULL)
		conn_free(srv.conns);
	server_close_listeners(&srv);
	if (srv.sig_hup != NULL) {
		event_free(srv.sig_hup);
		event_free(srv.sig_term);
		event_free(srv.sig_int);
		event_free(srv.stop_timer);
	}
	cfref_release(&srv.cfr);
	event_base_free(srv.base);
	return status;
}
