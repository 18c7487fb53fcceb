/*
 * endpoint.c - the SNS endpoint (see endpoint.h). What SNS is answered:
 *   200  applied, a repeat, or a (un)subscription confirmation logged;
 *   400  not an SNS message, a bad SigningCertURL, a signature that does
 *        not parse; 403 a signature that does not verify, or a topic not
 *        allowed; 404 another path; 405 not POST; 413 too large (evhttp);
 *   503  Redis cannot take the effects now, or the signing certificate
 *        cannot be had now (SNS retries).
 * SNS counts every 4xx as delivered and never retries it: nothing
 * refused is stored. Single-threaded; Redis is asked synchronously, with
 * the [redis] timeout, between events.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <event2/bufferevent_ssl.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "admin.h"
#include "certs.h"
#include "effects.h"
#include "endpoint.h"
#include "fetch.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "sdnotify.h"
#include "sesevent.h"
#include "snsmsg.h"
#include "spool.h"
#include "store.h"
#include "str.h"

struct endpoint {
	struct event_base	*base;
	struct evhttp		*http;
	struct config		*cf;
	const char		*conf_path;
	struct certs		*certs;
	struct store		*st;
	struct spool		*spool;		/* NULL while it cannot open */
	struct event		*replay;	/* retries the spool */
	struct evhttp		*metrics;	/* GET /metrics */
	SSL_CTX			*tls;		/* NULL: plain HTTP */
	struct metrics_own	 own;
};

/* How often the spool is tried again while Redis is down. */
#define ENDPOINT_REPLAY_SECONDS	1

static void
endpoint_reply(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b != NULL)
		evbuffer_add_printf(b, "%s\n", text);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain");
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

static bool
endpoint_topic_ok(const struct config *cf, const char *arn)
{
	char **l = cf->feedbackd_topic_arns;

	if (l == NULL || l[0] == NULL)
		return true;
	for (; *l != NULL; l++)
		if (strcmp(*l, arn) == 0)
			return true;
	return false;
}

/* The connection to Redis, opened when needed. */
static struct store *
endpoint_store(struct endpoint *ep, char *errbuf, size_t errlen)
{
	if (ep->st == NULL)
		ep->st = store_open(ep->cf, errbuf, errlen);
	return ep->st;
}

static void
endpoint_log_event(const struct sesevent *e, const char *sns_id,
    const struct effects_out *out, int rc)
{
	char from[128];

	snprintf(from, sizeof(from), "sns=%s", ADMIN_QUOTE(sns_id));
	effects_log(e, from, out, rc);
}

/* Apply one event now. 1 applied, 0 a repeat, -1 Redis failed (logged;
   the connection is dropped and opened again next time). */
static int
endpoint_apply_event(struct endpoint *ep, const struct sesevent *e,
    const char *sns_id, struct effects_out *out, char *errbuf,
    size_t errlen)
{
	struct store	*st = endpoint_store(ep, errbuf, errlen);
	int		 rc;

	rc = st != NULL ? effects_apply(st, ep->cf, e, sns_id, out, errbuf,
	    errlen) : -1;
	if (rc < 0) {
		log_warning(e->ses_message_id, "feedbackd: sns=%s: Redis: %s",
		    ADMIN_QUOTE(sns_id), errbuf);
		store_close(&ep->st);
	}
	return rc;
}

static bool
endpoint_spool_pending(struct endpoint *ep)
{
	return ep->spool != NULL && spool_pending(ep->spool) > 0;
}

/* A spooled record: the SES event again, applied. */
static int
endpoint_replay_one(void *arg, const char *id, const char *data,
    size_t len)
{
	struct endpoint		*ep = arg;
	struct sesevent		 e;
	struct effects_out	 out;
	char			 err[512];
	int			 rc;

	if (sesevent_parse(data, len, &e, err, sizeof(err)) < 0) {
		/* It parsed when it was spooled; a damaged file. */
		log_err(NULL, "feedbackd: spool: sns=%s: %s; skipped",
		    ADMIN_QUOTE(id), err);
		return 0;
	}
	rc = endpoint_apply_event(ep, &e, id, &out, err, sizeof(err));
	if (rc >= 0)
		endpoint_log_event(&e, id, &out, rc);
	sesevent_clear(&e);
	return rc < 0 ? -1 : 0;
}

/* Apply what the spool holds, in order, as far as Redis takes it. */
static void
endpoint_replay(struct endpoint *ep)
{
	char	err[512];
	int	n;

	if (!endpoint_spool_pending(ep))
		return;
	n = spool_replay(ep->spool, endpoint_replay_one, ep, err,
	    sizeof(err));
	if (n < 0)
		log_err(NULL, "feedbackd: %s", err);
	else if (n > 0)
		log_info(NULL, "feedbackd: spool: %d notification(s) applied, "
		    "%zu waiting", n, spool_pending(ep->spool));
	if (endpoint_spool_pending(ep)) {
		struct timeval tv = { ENDPOINT_REPLAY_SECONDS, 0 };

		evtimer_add(ep->replay, &tv);
	}
}

static void
endpoint_replay_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	endpoint_replay(arg);
}

/* Put a notification Redis could not take into the spool, durably, then
   try the spool at once (older ones first). 0 (in the spool, or applied
   by the replay), -1 with errbuf when it cannot be spooled either. */
static int
endpoint_spool(struct endpoint *ep, const struct snsmsg *m,
    const struct sesevent *e, char *errbuf, size_t errlen)
{
	if (ep->spool == NULL)
		ep->spool = spool_open(ep->cf->feedbackd_spool, errbuf,
		    errlen);
	if (ep->spool == NULL || spool_append(ep->spool, m->message_id,
	    m->message, strlen(m->message), errbuf, errlen) < 0)
		return -1;
	log_warning(e->ses_message_id, "feedbackd: sns=%s: spooled (%zu "
	    "waiting for Redis)", ADMIN_QUOTE(m->message_id),
	    spool_pending(ep->spool));
	endpoint_replay(ep);
	return 0;
}

/* A SubscriptionConfirmation of an allowed topic: confirmed by fetching
   its SubscribeURL, or (with fetch off) logged for the administrator. */
static void
endpoint_subscribe(struct endpoint *ep, struct evhttp_request *req,
    const struct snsmsg *m)
{
	struct fetch_opts	 o = { ep->cf->feedbackd_fetch_ca_file,
				    ep->cf->feedbackd_fetch_connect_to,
				    ep->cf->feedbackd_fetch_timeout_ms };
	struct buf		 b = BUF_INIT;
	char			 err[512];

	if (!ep->cf->feedbackd_fetch) {
		log_warning(NULL, "feedbackd: sns=%s: subscription to %s; "
		    "confirm it by fetching %s", ADMIN_QUOTE(m->message_id),
		    ADMIN_QUOTE(m->topic_arn), ADMIN_QUOTE(m->subscribe_url));
		endpoint_reply(req, 200, "OK", "logged");
		return;
	}
	if (fetch_get(m->subscribe_url, &o, 64 * 1024, &b, err,
	    sizeof(err)) < 0) {
		log_err(NULL, "feedbackd: sns=%s: subscription to %s not "
		    "confirmed: %s; answering 503", ADMIN_QUOTE(m->message_id),
		    ADMIN_QUOTE(m->topic_arn), err);
		endpoint_reply(req, 503, "Service Unavailable",
		    "cannot confirm now");
	} else {
		log_info(NULL, "feedbackd: sns=%s: subscription to %s "
		    "confirmed", ADMIN_QUOTE(m->message_id),
		    ADMIN_QUOTE(m->topic_arn));
		endpoint_reply(req, 200, "OK", "confirmed");
	}
	buf_free(&b);
}

/* An SES notification: its effects, then the answer. */
static void
endpoint_notification(struct endpoint *ep, struct evhttp_request *req,
    const struct snsmsg *m)
{
	struct sesevent		 e;
	struct effects_out	 out;
	char			 err[512];
	int			 rc;

	if (sesevent_parse(m->message, strlen(m->message), &e, err,
	    sizeof(err)) < 0) {
		/* SES's own note when a topic is attached to an identity. */
		if (strstr(err, "\"AmazonSnsSubscriptionSucceeded\"") !=
		    NULL) {
			log_info(NULL, "feedbackd: sns=%s: SES is now "
			    "publishing to topic %s",
			    ADMIN_QUOTE(m->message_id),
			    ADMIN_QUOTE(m->topic_arn));
			endpoint_reply(req, 200, "OK", "logged");
			return;
		}
		log_warning(NULL, "feedbackd: sns=%s: not an SES event: %s; "
		    "answering 400", ADMIN_QUOTE(m->message_id), err);
		ep->own.refused[METRICS_NOT_SES]++;
		endpoint_reply(req, 400, "Bad Request", "not an SES event");
		return;
	}
	rc = endpoint_spool_pending(ep) ? -1 : endpoint_apply_event(ep, &e,
	    m->message_id, &out, err, sizeof(err));
	if (rc < 0) {
		/* Redis cannot take it now, or older notifications wait in
		   the spool: this one goes after them, durably, first. */
		rc = endpoint_spool(ep, m, &e, err, sizeof(err));
		if (rc < 0) {
			log_err(e.ses_message_id, "feedbackd: sns=%s: %s; "
			    "answering 503", ADMIN_QUOTE(m->message_id), err);
			ep->own.refused[METRICS_UNAVAILABLE]++;
			endpoint_reply(req, 503, "Service Unavailable",
			    "cannot store now");
		} else {
			ep->own.spooled++;
			endpoint_reply(req, 200, "OK", "spooled");
		}
	} else {
		endpoint_log_event(&e, m->message_id, &out, rc);
		if (rc == 0)
			ep->own.repeats++;
		else
			ep->own.stored++;
		endpoint_reply(req, 200, "OK", rc == 0 ? "repeat" : "stored");
	}
	sesevent_clear(&e);
}

/* Check one SNS message: true when it may be acted on, else false and
   the answer given. */
static bool
endpoint_check(struct endpoint *ep, struct evhttp_request *req,
    const struct snsmsg *m)
{
	EVP_PKEY	*key;
	enum certs_miss	 why = CERTS_MISSING;
	char		 err[512];

	if (!endpoint_topic_ok(ep->cf, m->topic_arn)) {
		log_warning(NULL, "feedbackd: sns=%s: topic %s not in "
		    "topic_arns; answering 403", ADMIN_QUOTE(m->message_id),
		    ADMIN_QUOTE(m->topic_arn));
		ep->own.refused[METRICS_TOPIC]++;
		endpoint_reply(req, 403, "Forbidden", "topic not allowed");
		return false;
	}
	if (!snsmsg_url_ok(m->signing_cert_url, true)) {
		log_warning(NULL, "feedbackd: sns=%s: SigningCertURL %s is not "
		    "an https URL of an SNS host; answering 400",
		    ADMIN_QUOTE(m->message_id),
		    ADMIN_QUOTE(m->signing_cert_url));
		ep->own.refused[METRICS_CERT_URL]++;
		endpoint_reply(req, 400, "Bad Request",
		    "bad SigningCertURL");
		return false;
	}
	key = certs_key(ep->certs, m->signing_cert_url, &why, err,
	    sizeof(err));
	if (key == NULL && why == CERTS_UNAVAILABLE) {
		/* Fetching it failed; SNS tries again. */
		log_err(NULL, "feedbackd: sns=%s: %s; answering 503",
		    ADMIN_QUOTE(m->message_id), err);
		ep->own.refused[METRICS_UNAVAILABLE]++;
		endpoint_reply(req, 503, "Service Unavailable",
		    "cannot fetch the signing certificate now");
		return false;
	}
	if (key == NULL && why == CERTS_MISSING) {
		/* Not in cert_dir, with fetching off: a certificate AWS has
		   newly put in use, most likely. SNS tries again, which gives
		   the administrator the retry policy's time to add it; a 400
		   would lose the notification. */
		log_err(NULL, "feedbackd: sns=%s: %s; answering 503 (put the "
		    "certificate in cert_dir)", ADMIN_QUOTE(m->message_id),
		    err);
		ep->own.refused[METRICS_UNKNOWN_CERT]++;
		endpoint_reply(req, 503, "Service Unavailable",
		    "unknown signing certificate");
		return false;
	}
	switch (key != NULL ? snsmsg_verify_key(m, key, err, sizeof(err)) :
	    -1) {
	case 1:
		return true;
	case 0:
		log_warning(NULL, "feedbackd: sns=%s: signature: %s; "
		    "answering 403", ADMIN_QUOTE(m->message_id), err);
		ep->own.refused[METRICS_BAD_SIGNATURE]++;
		endpoint_reply(req, 403, "Forbidden", "bad signature");
		return false;
	default:
		log_err(NULL, "feedbackd: sns=%s: %s; answering 400",
		    ADMIN_QUOTE(m->message_id), err);
		ep->own.refused[METRICS_UNKNOWN_CERT]++;
		endpoint_reply(req, 400, "Bad Request",
		    "unusable signing certificate");
		return false;
	}
}

static void
endpoint_request(struct evhttp_request *req, void *arg)
{
	struct endpoint	*ep = arg;
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	struct snsmsg	 m;
	size_t		 n = evbuffer_get_length(in);
	char		 err[512];
	const char	*body;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "POST");
		endpoint_reply(req, 405, "Method Not Allowed", "POST only");
		return;
	}
	body = (const char *)evbuffer_pullup(in, -1);
	if (body == NULL || n == 0 ||
	    snsmsg_parse(body, n, &m, err, sizeof(err)) < 0) {
		log_warning(NULL, "feedbackd: not an SNS message (%zu bytes): "
		    "%s; answering 400", n, n == 0 ? "empty" : err);
		ep->own.refused[METRICS_NOT_SNS]++;
		endpoint_reply(req, 400, "Bad Request",
		    "not an SNS message");
		return;
	}
	if (endpoint_check(ep, req, &m)) {
		switch (m.type) {
		case SNSMSG_NOTIFICATION:
			endpoint_notification(ep, req, &m);
			break;
		case SNSMSG_SUBSCRIPTION_CONFIRMATION:
			if (!snsmsg_url_ok(m.subscribe_url, false)) {
				log_warning(NULL, "feedbackd: sns=%s: "
				    "SubscribeURL %s is not an https URL of "
				    "an SNS host; answering 400",
				    ADMIN_QUOTE(m.message_id),
				    ADMIN_QUOTE(m.subscribe_url));
				ep->own.refused[METRICS_CERT_URL]++;
				endpoint_reply(req, 400, "Bad Request",
				    "bad SubscribeURL");
				break;
			}
			endpoint_subscribe(ep, req, &m);
			break;
		case SNSMSG_UNSUBSCRIBE_CONFIRMATION:
			log_warning(NULL, "feedbackd: sns=%s: unsubscribed "
			    "from %s", ADMIN_QUOTE(m.message_id),
			    ADMIN_QUOTE(m.topic_arn));
			endpoint_reply(req, 200, "OK", "logged");
			break;
		}
	}
	snsmsg_clear(&m);
}

static void
endpoint_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	endpoint_reply(req, 404, "Not Found", "not here");
}

/* GET /metrics on the metrics listener. */
static void
endpoint_metrics(struct evhttp_request *req, void *arg)
{
	struct endpoint	*ep = arg;
	struct buf	 out = BUF_INIT;
	struct evbuffer	*b;
	char		 err[512];

	if (strcmp(evhttp_request_get_uri(req), "/metrics") != 0) {
		endpoint_reply(req, 404, "Not Found", "not here");
		return;
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		endpoint_reply(req, 405, "Method Not Allowed", "GET only");
		return;
	}
	ep->own.spool_pending = ep->spool != NULL ?
	    spool_pending(ep->spool) : 0;
	if (metrics_render(&out, endpoint_store(ep, err, sizeof(err)),
	    ep->cf, &ep->own, err, sizeof(err)) < 0) {
		log_warning(NULL, "feedbackd: metrics: Redis: %s", err);
		store_close(&ep->st);
	}
	b = evbuffer_new();
	if (b != NULL)
		evbuffer_add(b, out.data, out.len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	if (b != NULL)
		evbuffer_free(b);
	buf_free(&out);
}

/* Each connection of the SNS listener in TLS (tls_cert_file). */
static struct bufferevent *
endpoint_tls_bev(struct event_base *base, void *arg)
{
	struct endpoint	*ep = arg;
	SSL		*ssl = SSL_new(ep->tls);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

/* The TLS context of tls_cert_file and tls_key_file; NULL with errbuf. */
static SSL_CTX *
endpoint_tls_ctx(const struct config *cf, char *errbuf, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cf->feedbackd_tls_cert)
	    != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, cf->feedbackd_tls_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(errbuf, errlen, "TLS: %s, %s: %s",
		    cf->feedbackd_tls_cert, cf->feedbackd_tls_key,
		    ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Listen on one "inet:HOST:PORT" or "unix:/path" spec. */
static int
endpoint_listen(struct endpoint *ep, struct evhttp *http, const char *spec,
    const struct privs *pv, char *errbuf, size_t errlen)
{
	struct evconnlistener	*l = NULL;
	unsigned		 flags = LEV_OPT_CLOSE_ON_FREE |
				    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

	if (strncmp(spec, "unix:", 5) == 0) {
		evutil_socket_t fd = privs_unix_listener(pv, spec + 5, 0660,
		    errbuf, errlen);

		if (fd < 0)
			return -1;
		l = evconnlistener_new(ep->base, NULL, NULL,
		    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	} else {
		struct sockaddr_storage	ss;
		int			sslen = sizeof(ss);

		memset(&ss, 0, sizeof(ss));
		if (strncmp(spec, "inet:", 5) != 0 ||
		    evutil_parse_sockaddr_port(spec + 5,
		    (struct sockaddr *)&ss, &sslen) < 0) {
			snprintf(errbuf, errlen, "%s: want inet:ADDRESS:PORT "
			    "or unix:/path", spec);
			return -1;
		}
		l = evconnlistener_new_bind(ep->base, NULL, NULL, flags, 128,
		    (struct sockaddr *)&ss, sslen);
	}
	if (l == NULL || evhttp_bind_listener(http, l) == NULL) {
		snprintf(errbuf, errlen, "%s: cannot listen: %s", spec,
		    strerror(errno));
		if (l != NULL)
			evconnlistener_free(l);
		return -1;
	}
	log_info(NULL, "feedbackd: listening on %s%s%s", spec,
	    http == ep->http ? ", path " : " for ", http == ep->http ?
	    ep->cf->feedbackd_path : "/metrics");
	return 0;
}

static void
endpoint_stop(evutil_socket_t sig, short what, void *arg)
{
	struct endpoint *ep = arg;

	(void)what;
	log_info(NULL, "feedbackd: signal %d, stopping", (int)sig);
	sdnotify_stopping();
	event_base_loopexit(ep->base, NULL);
}

/* The configuration again; the listeners stay as they are. On any
   error the running configuration stays. */
static void
endpoint_reload_file(struct endpoint *ep)
{
	struct config *cf = config_reload(ep->conf_path, "feedbackd");

	if (cf == NULL)
		return;
	evhttp_del_cb(ep->http, ep->cf->feedbackd_path);
	config_free(&ep->cf);
	ep->cf = cf;
	evhttp_set_cb(ep->http, cf->feedbackd_path, endpoint_request, ep);
	evhttp_set_max_body_size(ep->http, (ev_ssize_t)cf->feedbackd_max_body);
	certs_free(&ep->certs);
	ep->certs = certs_new(cf);
	store_close(&ep->st);
	log_reconfigure(cf->log_facility, cf->log_level);
	log_info(NULL, "feedbackd: reloaded %s (listeners unchanged)",
	    ep->conf_path);
}

/* SIGHUP. */
static void
endpoint_reload(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	sdnotify_reloading();
	endpoint_reload_file(arg);
	sdnotify_ready("serving");
}

int
endpoint_run(struct config *cf, const char *conf_path,
    const struct privs *pv)
{
	struct endpoint	 ep = { .cf = cf, .conf_path = conf_path };
	struct event	*ev[3] = { NULL, NULL, NULL };
	char		 err[512];
	int		 status = EX_OK;

	signal(SIGPIPE, SIG_IGN);
	ep.base = event_base_new();
	ep.http = ep.base != NULL ? evhttp_new(ep.base) : NULL;
	if (ep.http == NULL)
		die(EX_OSERR, "feedbackd: cannot set up libevent");
	/* Before the first socket opens: a SIGTERM sent as soon as the
	   port answers is taken at the loop's start, an orderly stop. */
	ev[0] = evsignal_new(ep.base, SIGTERM, endpoint_stop, &ep);
	ev[1] = evsignal_new(ep.base, SIGINT, endpoint_stop, &ep);
	ev[2] = evsignal_new(ep.base, SIGHUP, endpoint_reload, &ep);
	for (size_t i = 0; i < 3; i++)
		if (ev[i] == NULL || event_add(ev[i], NULL) < 0)
			die(EX_OSERR, "feedbackd: cannot watch signals");
	evhttp_set_allowed_methods(ep.http, EVHTTP_REQ_POST | EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_max_body_size(ep.http, (ev_ssize_t)cf->feedbackd_max_body);
	evhttp_set_timeout(ep.http, 30);
	evhttp_set_cb(ep.http, cf->feedbackd_path, endpoint_request, &ep);
	evhttp_set_gencb(ep.http, endpoint_other, &ep);
	if (fetch_init() < 0)
		die(EX_OSERR, "feedbackd: cannot set up libcurl");
	ep.replay = evtimer_new(ep.base, endpoint_replay_timer, &ep);
	if (cf->feedbackd_tls_cert[0] != '\0' ||
	    cf->feedbackd_tls_key[0] != '\0') {
		ep.tls = endpoint_tls_ctx(cf, err, sizeof(err));
		if (ep.tls == NULL) {
			log_err(NULL, "feedbackd: %s", err);
			status = EX_CONFIG;
			goto out;
		}
		evhttp_set_bevcb(ep.http, endpoint_tls_bev, &ep);
	}
	ep.metrics = evhttp_new(ep.base);
	if (ep.metrics == NULL)
		die(EX_OSERR, "feedbackd: cannot set up libevent");
	evhttp_set_allowed_methods(ep.metrics, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_gencb(ep.metrics, endpoint_metrics, &ep);
	for (char **l = cf->feedbackd_listen; l != NULL && *l != NULL; l++) {
		if (endpoint_listen(&ep, ep.http, *l, pv, err,
		    sizeof(err)) < 0) {
			log_err(NULL, "feedbackd: %s", err);
			status = EX_UNAVAILABLE;
			goto out;
		}
	}
	for (char **l = cf->feedbackd_metrics_listen; l != NULL && *l != NULL;
	    l++) {
		if (endpoint_listen(&ep, ep.metrics, *l, pv, err,
		    sizeof(err)) < 0) {
			log_err(NULL, "feedbackd: metrics: %s", err);
			status = EX_UNAVAILABLE;
			goto out;
		}
	}
	/* The TLS key was read as root; the spool and the certificates
	   are the user's. */
	if (privs_drop(pv, err, sizeof(err)) < 0) {
		log_err(NULL, "feedbackd: %s", err);
		status = EX_OSERR;
		goto out;
	}
	ep.certs = certs_new(cf);
	ep.spool = spool_open(cf->feedbackd_spool, err, sizeof(err));
	if (ep.spool == NULL)
		log_err(NULL, "feedbackd: %s; notifications Redis cannot take "
		    "are answered 503", err);
	else if (spool_pending(ep.spool) > 0)
		log_info(NULL, "feedbackd: spool: %zu notification(s) waiting",
		    spool_pending(ep.spool));
	endpoint_replay(&ep);
	sdnotify_ready("serving");
	event_base_dispatch(ep.base);
out:
	for (size_t i = 0; i < 3; i++)
		if (ev[i] != NULL)
			event_free(ev[i]);
	evhttp_free(ep.http);
	if (ep.metrics != NULL)
		evhttp_free(ep.metrics);
	if (ep.replay != NULL)
		event_free(ep.replay);
	spool_close(&ep.spool);
	certs_free(&ep.certs);
	if (ep.tls != NULL)
		SSL_CTX_free(ep.tls);
	store_close(&ep.st);
	event_base_free(ep.base);
	config_free(&ep.cf);
	fetch_cleanup();
	return status;
}
