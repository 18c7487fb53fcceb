/*
 * resolver.c - the caching resolver on libunbound. One ub_ctx runs its
 * queries in a thread of libunbound's own (ub_ctx_async); a poller
 * thread of ours waits on the context's descriptor and calls
 * ub_process(), which runs the answer callbacks. A caller waits on its
 * query's condition variable until the answer or its deadline; a query
 * that times out is cancelled, and whichever of the caller and the
 * callback comes last frees it. In front of it, answers are kept in the
 * milter's own memory for their TTL (dnscache.c): a question asked again
 * is answered without the two thread hops. Thread-safe.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <unbound.h>

#include "dnscache.h"
#include "mem.h"
#include "monotime.h"
#include "resolver.h"

#define RCODE_NXDOMAIN	3

struct resolver {
	struct ub_ctx	*ctx;
	long long	 timeout_ms;
	pthread_t	 poller;
	bool		 polling;
	int		 stop[2];	/* self-pipe that ends the poller */
	struct dnscache	*cache;
	char		*upstream;	/* as configured */
	long long	 cache_bytes;
};

/* One query in flight, shared by the asking thread and the callback. */
struct resolver_wait {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 done;
	bool		 abandoned;	/* the caller gave up: callback frees */
	int		 err;		/* UB_* */
	struct ub_result *result;
};

static void
resolver_wait_free(struct resolver_wait *w)
{
	if (w->result != NULL)
		ub_resolve_free(w->result);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void
resolver_done(void *arg, int err, struct ub_result *result)
{
	struct resolver_wait	*w = arg;
	bool			 abandoned;

	pthread_mutex_lock(&w->lock);
	w->err = err;
	w->result = result;
	w->done = true;
	abandoned = w->abandoned;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (abandoned)
		resolver_wait_free(w);
}

static void *
resolver_poll(void *arg)
{
	struct resolver *r = arg;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = ub_fd(r->ctx), .events = POLLIN },
			{ .fd = r->stop[0], .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		if (p[0].revents != 0)
			(void)ub_process(r->ctx);
	}
	return NULL;
}

static int
resolver_option(struct ub_ctx *ctx, const char *opt, const char *val,
    char *errbuf, size_t errlen)
{
	int rc = ub_ctx_set_option(ctx, opt, val);

	if (rc != 0)
		snprintf(errbuf, errlen, "resolver: %s %s: %s", opt, val,
		    ub_strerror(rc));
	return rc == 0 ? 0 : -1;
}

struct resolver *
resolver_new(const char *upstream, long long timeout_ms,
    long long cache_bytes, const struct resolver *prev, char *errbuf,
    size_t errlen)
{
	struct resolver	*r = xcalloc(1, sizeof(*r));
	char		 msg[32], rrset[32];
	int		 rc;

	r->timeout_ms = timeout_ms;
	r->stop[0] = r->stop[1] = -1;
	r->ctx = ub_ctx_create();
	if (r->ctx == NULL) {
		snprintf(errbuf, errlen, "resolver: cannot create the "
		    "libunbound context");
		goto fail;
	}
	/* A quarter of the bound for our answers, the rest libunbound's,
	   in its own proportions: the RRset cache twice the message
	   cache. */
	r->upstream = xstrdup(upstream);
	r->cache_bytes = cache_bytes;
	if (prev != NULL && strcmp(prev->upstream, upstream) == 0 &&
	    prev->cache_bytes == cache_bytes)
		r->cache = dnscache_ref(prev->cache);
	else
		r->cache = dnscache_new((size_t)(cache_bytes / 4));
	cache_bytes -= cache_bytes / 4;
	snprintf(msg, sizeof(msg), "%lld", cache_bytes / 3);
	snprintf(rrset, sizeof(rrset), "%lld", cache_bytes - cache_bytes / 3);
	/* A forwarder on loopback (a local cache, a test server) is
	   allowed. */
	if (resolver_option(r->ctx, "do-not-query-localhost:", "no", errbuf,
	    errlen) < 0 ||
	    resolver_option(r->ctx, "msg-cache-size:", msg, errbuf,
	    errlen) < 0 ||
	    resolver_option(r->ctx, "rrset-cache-size:", rrset, errbuf,
	    errlen) < 0)
		goto fail;
	if (*upstream != '\0')
		rc = ub_ctx_set_fwd(r->ctx, upstream);
	else
		rc = ub_ctx_resolvconf(r->ctx, NULL);
	if (rc != 0) {
		snprintf(errbuf, errlen, "resolver: %s: %s",
		    *upstream != '\0' ? upstream : "/etc/resolv.conf",
		    rc == UB_READFILE ? strerror(errno) : ub_strerror(rc));
		goto fail;
	}
	rc = ub_ctx_async(r->ctx, 1);
	if (rc != 0) {
		snprintf(errbuf, errlen, "resolver: %s", ub_strerror(rc));
		goto fail;
	}
	if (pipe(r->stop) < 0) {
		snprintf(errbuf, errlen, "resolver: pipe: %s",
		    strerror(errno));
		goto fail;
	}
	if (pthread_create(&r->poller, NULL, resolver_poll, r) != 0) {
		snprintf(errbuf, errlen, "resolver: cannot start a thread");
		goto fail;
	}
	r->polling = true;
	return r;
fail:
	resolver_free(&r);
	return NULL;
}

void
resolver_free(struct resolver **rp)
{
	struct resolver *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	if (r->polling) {
		ssize_t n = write(r->stop[1], "x", 1);

		(void)n;
		pthread_join(r->poller, NULL);
	}
	if (r->stop[0] >= 0)
		close(r->stop[0]);
	if (r->stop[1] >= 0)
		close(r->stop[1]);
	if (r->ctx != NULL)
		ub_ctx_delete(r->ctx);
	dnscache_free(&r->cache);
	free(r->upstream);
	free(r);
}

struct resolver_answer *
resolver_answer_copy(const struct resolver_answer *src)
{
	struct resolver_answer *a = xcalloc(1, sizeof(*a));

	a->nxdomain = src->nxdomain;
	a->n = src->n;
	a->rr = xcalloc(a->n + 1, sizeof(*a->rr));
	a->rrlen = xcalloc(a->n + 1, sizeof(*a->rrlen));
	for (size_t i = 0; i < a->n; i++) {
		a->rrlen[i] = src->rrlen[i];
		a->rr[i] = xmalloc(a->rrlen[i] + 1);
		memcpy(a->rr[i], src->rr[i], a->rrlen[i]);
		a->rr[i][a->rrlen[i]] = '\0';
	}
	if (src->packet != NULL) {
		a->packetlen = src->packetlen;
		a->packet = xmalloc(a->packetlen);
		memcpy(a->packet, src->packet, a->packetlen);
	}
	return a;
}

static struct resolver_answer *
resolver_answer_new(const struct ub_result *res)
{
	struct resolver_answer	 view = { 0 }, *a;
	size_t			 n = 0;

	/* libunbound's records seen as an answer, then copied. */
	while (res->havedata && res->data[n] != NULL)
		n++;
	view.nxdomain = res->rcode == RCODE_NXDOMAIN;
	view.n = n;
	view.rr = xcalloc(n + 1, sizeof(*view.rr));
	view.rrlen = xcalloc(n + 1, sizeof(*view.rrlen));
	for (size_t i = 0; i < n; i++) {
		view.rr[i] = (unsigned char *)res->data[i];
		view.rrlen[i] = (size_t)res->len[i];
	}
	if (res->answer_packet != NULL && res->answer_len > 0) {
		view.packet = res->answer_packet;
		view.packetlen = (size_t)res->answer_len;
	}
	a = resolver_answer_copy(&view);
	free(view.rr);
	free(view.rrlen);
	return a;
}

void
resolver_answer_free(struct resolver_answer **ap)
{
	struct resolver_answer *a = *ap;

	if (a == NULL)
		return;
	*ap = NULL;
	for (size_t i = 0; i < a->n; i++)
		free(a->rr[i]);
	free(a->rr);
	free(a->rrlen);
	free(a->packet);
	free(a);
}

static void
resolver_deadline(long long ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int
resolver_query(struct resolver *r, const char *name, int rrtype,
    struct resolver_answer **ans_out, char *errbuf, size_t errlen)
{
	struct resolver_wait	*w;
	pthread_condattr_t	 ca;
	struct timespec		 deadline;
	const struct ub_result	*res;
	int			 id, rc;
	long long		 now = monotime_ms();

	*ans_out = NULL;
	if (!resolver_name_ok(name)) {
		/* No record can exist at a name DNS cannot carry. */
		*ans_out = xcalloc(1, sizeof(**ans_out));
		(*ans_out)->nxdomain = 1;
		return 0;
	}
	if ((*ans_out = dnscache_get(r->cache, name, rrtype, now)) != NULL)
		return (*ans_out)->n > 0 ? 1 : 0;
	w = xcalloc(1, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = ub_resolve_async(r->ctx, name, rrtype, 1, w, resolver_done,
	    &id);
	if (rc == UB_SYNTAX) {
		/* A name that cannot be written in DNS (a label over 63
		   bytes, say) has no records: an answer with no packet. */
		resolver_wait_free(w);
		*ans_out = xcalloc(1, sizeof(**ans_out));
		(*ans_out)->nxdomain = 1;
		return 0;
	}
	if (rc != 0) {
		snprintf(errbuf, errlen, "%s", ub_strerror(rc));
		resolver_wait_free(w);
		return -1;
	}
	resolver_deadline(r->timeout_ms, &deadline);
	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		if (pthread_cond_timedwait(&w->cond, &w->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	}
	if (!w->done) {
		w->abandoned = true;
		pthread_mutex_unlock(&w->lock);
		/* Cancelled: the callback will not run, so the query is ours
		   to free. Not found: the callback runs or has run, and
		   frees it. */
		if (ub_cancel(r->ctx, id) == UB_NOERROR)
			resolver_wait_free(w);
		snprintf(errbuf, errlen, "timed out after %lld ms",
		    r->timeout_ms);
		return -1;
	}
	pthread_mutex_unlock(&w->lock);
	if (w->err != 0) {
		snprintf(errbuf, errlen, "%s", ub_strerror(w->err));
		resolver_wait_free(w);
		return -1;
	}
	res = w->result;
	if (res->rcode != 0 && res->rcode != RCODE_NXDOMAIN) {
		snprintf(errbuf, errlen, "server failure (rcode %d)",
		    res->rcode);
		resolver_wait_free(w);
		return -1;
	}
	*ans_out = resolver_answer_new(res);
	/* The TTL libunbound gives is what is left of it in its cache. */
	if (res->ttl > 0 && !res->bogus)
		dnscache_put(r->cache, name, rrtype, *ans_out,
		    (unsigned int)res->ttl, now);
	resolver_wait_free(w);
	return (*ans_out)->n > 0 ? 1 : 0;
}

bool
resolver_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (label == 0 || label > 63)
				return false;
			label = 0;
		} else {
			label++;
		}
	}
	return true;
}

char *
resolver_txt(const unsigned char *rdata, size_t len)
{
	char	*s = xmalloc(len + 1);
	size_t	 o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = rdata[i++];

		if (i + n > len) {
			free(s);
			return NULL;
		}
		memcpy(s + o, rdata + i, n);
		o += n;
		i += n;
	}
	s[o] = '\0';
	return s;
}

int
resolver_name(const unsigned char *rdata, size_t len, size_t off,
    char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return -1;
	while (off < len) {
		size_t n = rdata[off++];

		if (n == 0) {
			out[o] = '\0';
			return 0;
		}
		/* Names in rdata are uncompressed; a pointer is an error. */
		if (n > 63 || off + n > len || o + n + 2 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, rdata + off, n);
		o += n;
		off += n;
	}
	return -1;
}
