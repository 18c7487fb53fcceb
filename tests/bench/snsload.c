/*
 * snsload.c - load generator for an SNS HTTP endpoint such as
 * sesgate-feedbackd. Reads a pool of request bodies (one JSON message a
 * line, as SNS would POST them), holds persistent HTTP/1.1 connections
 * and uses each the way SNS delivers: one POST, wait for the answer,
 * then the next. Every body of the pool is sent at most once, in pool
 * order, so that each request carries a MessageId the server has not
 * seen.
 *
 * Closed loop: every connection sends its next request as soon as the
 * answer arrives; latency runs from the first byte sent to the last
 * byte of the answer. Always bounded: by the pool, by -n requests and by
 * -d seconds, and every request by -T milliseconds.
 *
 * Every answer is counted by its status and body ("200 stored"); one
 * that is not -e's text counts as an error, as does a broken or closed
 * connection, so that a script can insist on zero errors.
 *
 * One epoll loop per worker thread over its share of the connections,
 * each with its own figures, merged at the end; they share only the
 * pool (read-only) and the next body's number (an atomic counter).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "benchstat.h"

#define SL_MAX_CONNS		1000
#define SL_HEAD_MAX		512
#define SL_REPLY_MAX		4096
#define SL_MAX_BODY		(256 * 1024)

enum sl_err {
	SL_ERR_CONNECT,
	SL_ERR_CLOSED,
	SL_ERR_TIMEOUT,
	SL_ERR_REPLY,		/* not HTTP, or too long */
	SL_ERR_UNEXPECTED,	/* HTTP, but not the expected answer */
	SL_NERR
};

static const char *const sl_err_names[SL_NERR] = {
	"connect", "closed", "timeout", "bad-reply", "unexpected"
};

struct sl_opts {
	struct bench_opts c;
	const char	*pool_path;	/* -f */
	const char	*path;		/* -P, default /sns */
	const char	*expect;	/* -e, default "200 stored" */
};

struct sl_stats {
	struct bench_stats b;
	long long	 errs[SL_NERR];
	long long	 reconnects;	/* closed by the server, reopened */
};

enum sl_state {
	CONN_DOWN,
	CONN_IDLE,
	CONN_BUSY,	/* request written or being written, answer awaited */
};

struct sl_conn {
	int		 fd;
	enum sl_state	 state;
	int64_t		 t_sent;
	char		 head[SL_HEAD_MAX];
	size_t		 headlen;
	const char	*body;		/* in the pool */
	size_t		 bodylen;
	size_t		 outoff;	/* over head, then body */
	char		 in[SL_REPLY_MAX];
	size_t		 inlen;
	int		 reconnects;
};

struct sl_worker {
	int		 epfd;
	struct sl_conn	*conns;
	int		 nconns;
	struct sl_stats	 st;
};

/* The bodies, one per line of the pool file, NUL-terminated in place. */
struct sl_pool {
	char		*data;
	const char	**body;
	size_t		*len;
	long long	 n;
};

static struct sl_opts	 opts;
static struct sl_pool	 pool;
static struct addrinfo	*sl_addr;
static atomic_llong	 sl_next;	/* next body of the pool */
static long long	 sl_limit;	/* bodies that may be sent */

/* Read the pool file; exits on failure. */
static void
pool_read(const char *path)
{
	struct stat	 sb;
	FILE		*fp;
	char		*p, *end, *nl;
	long long	 cap = 1024;

	if ((fp = fopen(path, "r")) == NULL || fstat(fileno(fp), &sb) < 0) {
		fprintf(stderr, "snsload: %s: %s\n", path, strerror(errno));
		exit(EX_NOINPUT);
	}
	pool.data = malloc((size_t)sb.st_size + 1);
	pool.body = malloc((size_t)cap * sizeof(*pool.body));
	pool.len = malloc((size_t)cap * sizeof(*pool.len));
	if (pool.data == NULL || pool.body == NULL || pool.len == NULL) {
		fprintf(stderr, "snsload: out of memory\n");
		exit(EX_OSERR);
	}
	if (fread(pool.data, 1, (size_t)sb.st_size, fp) !=
	    (size_t)sb.st_size) {
		fprintf(stderr, "snsload: %s: short read\n", path);
		exit(EX_IOERR);
	}
	fclose(fp);
	pool.data[sb.st_size] = '\0';
	end = pool.data + sb.st_size;
	for (p = pool.data; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		*nl = '\0';
		if (nl == p)
			continue;
		if (nl - p > SL_MAX_BODY) {
			fprintf(stderr, "snsload: %s: a body over %d bytes\n",
			    path, SL_MAX_BODY);
			exit(EX_DATAERR);
		}
		if (pool.n == cap) {
			cap *= 2;
			pool.body = realloc(pool.body,
			    (size_t)cap * sizeof(*pool.body));
			pool.len = realloc(pool.len,
			    (size_t)cap * sizeof(*pool.len));
			if (pool.body == NULL || pool.len == NULL) {
				fprintf(stderr, "snsload: out of memory\n");
				exit(EX_OSERR);
			}
		}
		pool.body[pool.n] = p;
		pool.len[pool.n] = (size_t)(nl - p);
		pool.n++;
	}
	if (pool.n == 0) {
		fprintf(stderr, "snsload: %s: no bodies\n", path);
		exit(EX_DATAERR);
	}
}

/* The next body's number, or -1 when the run may send no more. */
static long long
sl_ticket(void)
{
	long long k;

	if (bench_now() >= bench_end_ns)
		return -1;
	k = atomic_fetch_add(&sl_next, 1);
	return k < sl_limit ? k : -1;
}

static bool
sl_exhausted(void)
{
	return bench_now() >= bench_end_ns ||
	    atomic_load(&sl_next) >= sl_limit;
}

static void
conn_close(struct sl_worker *w, struct sl_conn *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = CONN_DOWN;
	c->inlen = 0;
}

/* Blocking connect (loopback: immediate), then non-blocking use. */
static int
conn_open(struct sl_worker *w, struct sl_conn *c)
{
	struct epoll_event	ev;
	int			fd, fl, one = 1;

	if (opts.c.unix_path != NULL) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, opts.c.unix_path,
		    strlen(opts.c.unix_path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			close(fd);
			return -1;
		}
	} else {
		fd = socket(sl_addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0);
		if (fd < 0)
			return -1;
		if (connect(fd, sl_addr->ai_addr, sl_addr->ai_addrlen) < 0) {
			close(fd);
			return -1;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->state = CONN_IDLE;
	c->inlen = 0;
	return 0;
}

static void
conn_fail(struct sl_worker *w, struct sl_conn *c, enum sl_err e)
{
	w->st.errs[e]++;
	conn_close(w, c);
}

/* Reopen a connection the server closed; a few failures at most. */
static bool
conn_revive(struct sl_worker *w, struct sl_conn *c)
{
	if (c->state != CONN_DOWN)
		return true;
	if (c->reconnects >= 5)
		return false;
	if (conn_open(w, c) < 0) {
		c->reconnects++;
		w->st.errs[SL_ERR_CONNECT]++;
		return false;
	}
	return true;
}

static void
conn_want_write(struct sl_worker *w, struct sl_conn *c, bool on)
{
	struct epoll_event ev;

	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	(void)epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is left of the head and body; the connection may die. */
static void
conn_flush(struct sl_worker *w, struct sl_conn *c)
{
	bool	was_partial = c->outoff > 0;
	size_t	total = c->headlen + c->bodylen;

	while (c->outoff < total) {
		struct iovec	iov[2];
		struct msghdr	mh;
		ssize_t		n;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		if (c->outoff < c->headlen) {
			iov[0].iov_base = c->head + c->outoff;
			iov[0].iov_len = c->headlen - c->outoff;
			iov[1].iov_base = (void *)(uintptr_t)c->body;
			iov[1].iov_len = c->bodylen;
			mh.msg_iovlen = 2;
		} else {
			iov[0].iov_base = (void *)(uintptr_t)(c->body +
			    (c->outoff - c->headlen));
			iov[0].iov_len = total - c->outoff;
			mh.msg_iovlen = 1;
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!was_partial)
				conn_want_write(w, c, true);
			return;
		}
		if (n <= 0) {
			conn_fail(w, c, SL_ERR_CLOSED);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (was_partial)
		conn_want_write(w, c, false);
}

/* Send body k of the pool on c, with the headers SNS sends. */
static void
conn_send(struct sl_worker *w, struct sl_conn *c, long long k)
{
	int n;

	c->body = pool.body[k];
	c->bodylen = pool.len[k];
	n = snprintf(c->head, sizeof(c->head),
	    "POST %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "x-amz-sns-message-type: Notification\r\n"
	    "Content-Length: %zu\r\n"
	    "\r\n", opts.path, opts.c.host, c->bodylen);
	if (n < 0 || (size_t)n >= sizeof(c->head)) {
		fprintf(stderr, "snsload: request head too long\n");
		exit(EX_SOFTWARE);
	}
	c->headlen = (size_t)n;
	c->outoff = 0;
	c->state = CONN_BUSY;
	c->t_sent = bench_now();
	conn_flush(w, c);
}

/* The value of header name in the head h[0..len), or NULL; *vlen_out
   set. */
static const char *
http_header(const char *h, size_t len, const char *name, size_t *vlen_out)
{
	size_t		 nl = strlen(name);
	const char	*p = memchr(h, '\n', len), *end = h + len, *eol;

	for (; p != NULL && p + 1 < end; p = eol) {
		p++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' &&
		    strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1, *ve = eol;

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			*vlen_out = (size_t)(ve - v);
			return v;
		}
	}
	return NULL;
}

/*
 * Read what the server sent. Returns true when a whole answer arrived
 * and the connection can take the next request (it may have been
 * reopened when the server asked to close it).
 */
static bool
conn_input(struct sl_worker *w, struct sl_conn *c)
{
	const char	*hend, *v;
	char		 action[BENCH_ACTION_MAX], *endp;
	size_t		 headlen, vlen, bodylen, blen;
	ssize_t		 n;
	long		 status;
	bool		 closing;

	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return false;
	if (n <= 0) {
		conn_fail(w, c, SL_ERR_CLOSED);
		return false;
	}
	if (c->state != CONN_BUSY) {
		conn_fail(w, c, SL_ERR_REPLY);	/* unasked-for output */
		return false;
	}
	c->inlen += (size_t)n;
	hend = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	if (hend == NULL) {
		if (c->inlen == sizeof(c->in))
			conn_fail(w, c, SL_ERR_REPLY);
		return false;
	}
	headlen = (size_t)(hend - c->in) + 4;
	if (c->inlen < 12 || strncmp(c->in, "HTTP/1.1 ", 9) != 0 ||
	    (v = http_header(c->in, headlen, "Content-Length", &vlen)) ==
	    NULL) {
		conn_fail(w, c, SL_ERR_REPLY);
		return false;
	}
	bodylen = (size_t)strtoul(v, &endp, 10);
	if (endp != v + vlen || headlen + bodylen > sizeof(c->in)) {
		conn_fail(w, c, SL_ERR_REPLY);
		return false;
	}
	if (c->inlen < headlen + bodylen)
		return false;
	if (c->inlen > headlen + bodylen) {
		conn_fail(w, c, SL_ERR_REPLY);	/* more than one answer */
		return false;
	}
	w->st.b.last_done_ns = bench_now();
	bench_latency(&w->st.b, w->st.b.last_done_ns - c->t_sent);
	status = strtol(c->in + 9, NULL, 10);
	blen = bodylen;
	while (blen > 0 && (c->in[headlen + blen - 1] == '\n' ||
	    c->in[headlen + blen - 1] == '\r'))
		blen--;
	snprintf(action, sizeof(action), "%ld %.*s", status,
	    (int)(blen < 80 ? blen : 80), c->in + headlen);
	bench_action(&w->st.b, action, strlen(action), 1);
	if (strcmp(action, opts.expect) != 0)
		w->st.errs[SL_ERR_UNEXPECTED]++;
	v = http_header(c->in, headlen, "Connection", &vlen);
	closing = v != NULL && vlen == 5 && strncasecmp(v, "close", 5) == 0;
	c->inlen = 0;
	c->state = CONN_IDLE;
	if (closing) {
		w->st.reconnects++;
		conn_close(w, c);
		return conn_revive(w, c);
	}
	return true;
}

static void
worker_timeouts(struct sl_worker *w, int64_t now, bool all)
{
	for (int i = 0; i < w->nconns; i++) {
		struct sl_conn *c = &w->conns[i];

		if (c->state == CONN_BUSY &&
		    (all || now - c->t_sent > opts.c.timeout_ns))
			conn_fail(w, c, SL_ERR_TIMEOUT);
	}
}

static bool
worker_alive(const struct sl_worker *w)
{
	for (int i = 0; i < w->nconns; i++)
		if (w->conns[i].state != CONN_DOWN ||
		    w->conns[i].reconnects < 5)
			return true;
	return false;
}

static int
worker_busy(const struct sl_worker *w)
{
	int n = 0;

	for (int i = 0; i < w->nconns; i++)
		n += w->conns[i].state == CONN_BUSY;
	return n;
}

/* Send the next body on an idle connection c, if the run allows. */
static void
worker_next(struct sl_worker *w, struct sl_conn *c)
{
	long long k;

	if (c->state == CONN_IDLE && (k = sl_ticket()) >= 0)
		conn_send(w, c, k);
}

/* Closed loop until the pool, the count or the time is used up and
   every request has its answer (or failed). */
static void
worker_loop(struct sl_worker *w)
{
	struct epoll_event	evs[256];
	int64_t			now;
	int			n;

	for (int i = 0; i < w->nconns; i++)
		worker_next(w, &w->conns[i]);
	for (;;) {
		n = epoll_wait(w->epfd, evs, 256, 50);
		for (int i = 0; i < n; i++) {
			struct sl_conn *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue;
			if ((evs[i].events & EPOLLOUT) &&
			    c->state == CONN_BUSY)
				conn_flush(w, c);
			if (c->fd >= 0 && (evs[i].events & (EPOLLIN |
			    EPOLLERR | EPOLLHUP)) && conn_input(w, c))
				worker_next(w, c);
		}
		now = bench_now();
		worker_timeouts(w, now, now >= bench_hard_end_ns);
		if (!sl_exhausted() && worker_alive(w)) {
			/* Dead connections come back and carry on. */
			for (int i = 0; i < w->nconns; i++) {
				struct sl_conn *c = &w->conns[i];

				if (c->state == CONN_DOWN &&
				    conn_revive(w, c))
					worker_next(w, c);
			}
		} else if (worker_busy(w) == 0) {
			break;
		}
	}
}

static void *
worker_main(void *arg)
{
	struct sl_worker *w = arg;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		fprintf(stderr, "snsload: epoll: %s\n", strerror(errno));
		exit(EX_OSERR);
	}
	for (int i = 0; i < w->nconns; i++) {
		w->conns[i].fd = -1;
		if (conn_open(w, &w->conns[i]) < 0) {
			w->st.errs[SL_ERR_CONNECT]++;
			w->conns[i].reconnects = 5;	/* give up on it */
		}
	}
	bench_ready();
	worker_loop(w);
	for (int i = 0; i < w->nconns; i++)
		conn_close(w, &w->conns[i]);
	close(w->epfd);
	return NULL;
}

static void
stats_merge(struct sl_stats *to, const struct sl_stats *from)
{
	bench_merge(&to->b, &from->b);
	for (int e = 0; e < SL_NERR; e++)
		to->errs[e] += from->errs[e];
	to->reconnects += from->reconnects;
}

/* The report, and one "result:" line of key=value for scripts. */
static void
stats_print(struct sl_stats *st, int64_t end_ns)
{
	double		secs = (double)(end_ns - bench_start_ns) / 1e9;
	double		rps = secs > 0 ? (double)st->b.done / secs : 0;
	long long	errors = 0;

	for (int e = 0; e < SL_NERR; e++)
		errors += st->errs[e];
	printf("requests %lld in %.3f s: %.1f/s\n", st->b.done, secs, rps);
	printf("errors %lld", errors);
	for (int e = 0; e < SL_NERR; e++)
		printf("%s%s %lld", e == 0 ? " (" : ", ", sl_err_names[e],
		    st->errs[e]);
	printf("), reopened after Connection: close %lld\n", st->reconnects);
	bench_print(&st->b, "answers", "other answers");
	printf("result: conc=%d threads=%d requests=%lld seconds=%.3f "
	    "rps=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
	    "errors=%lld\n", opts.c.conc, opts.c.threads, st->b.done, secs,
	    rps, bench_quantile(&st->b, 0.50), bench_quantile(&st->b, 0.99),
	    bench_quantile(&st->b, 0.999), (double)st->b.max_ns / 1000.0,
	    errors);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: snsload -f pool [-H host] -p port | -u socket "
	    "[-c conns] [-t threads]\n"
	    "               [-n count] [-d seconds] [-T timeout-ms] "
	    "[-P path] [-e answer]\n"
	    "  -f pool     request bodies, one a line, each sent once\n"
	    "  -c conns    persistent connections (default 1)\n"
	    "  -t threads  epoll loops sharing the connections (default 1)\n"
	    "  -n count    stop after count requests (default: the pool)\n"
	    "  -d seconds  stop sending after this long (default 5, or 60 "
	    "with -n)\n"
	    "  -T ms       per-request timeout (default 5000)\n"
	    "  -P path     request path (default /sns)\n"
	    "  -e answer   the expected status and body (default "
	    "\"200 stored\")\n");
	exit(EX_USAGE);
}

int
main(int argc, char **argv)
{
	struct sl_worker	*ws;
	struct sl_conn		*conns;
	struct sl_stats		*total;
	int			 ch, r;

	opts.c.host = "127.0.0.1";
	opts.c.max_conns = SL_MAX_CONNS;
	opts.c.conc = 1;
	opts.c.threads = 1;
	opts.c.timeout_ns = 5000LL * 1000000;
	opts.c.domain = "unused";
	opts.path = "/sns";
	opts.expect = "200 stored";
	while ((ch = getopt(argc, argv, "f:H:p:u:c:t:n:d:T:P:e:")) != -1) {
		switch (ch) {
		case 'f':
			opts.pool_path = optarg;
			break;
		case 'P':
			opts.path = optarg;
			break;
		case 'e':
			opts.expect = optarg;
			break;
		default:
			if (!bench_opt("snsload", ch, optarg, &opts.c))
				usage();
		}
	}
	if (optind != argc || opts.pool_path == NULL ||
	    strlen(opts.path) > 200 || strlen(opts.c.host) > 200 ||
	    !bench_opts_done("snsload", &opts.c))
		usage();
	pool_read(opts.pool_path);
	sl_limit = opts.c.count > 0 && opts.c.count < pool.n ?
	    opts.c.count : pool.n;
	if (opts.c.port != NULL)
		sl_addr = bench_resolve("snsload", opts.c.host, opts.c.port);
	(void)signal(SIGPIPE, SIG_IGN);

	ws = calloc((size_t)opts.c.threads, sizeof(*ws));
	conns = calloc((size_t)opts.c.conc, sizeof(*conns));
	total = calloc(1, sizeof(*total));
	if (ws == NULL || conns == NULL || total == NULL) {
		fprintf(stderr, "snsload: out of memory\n");
		return EX_OSERR;
	}
	printf("snsload: %s%s%s%s conns=%d threads=%d pool=%lld limit=%lld "
	    "duration=%.2fs\n",
	    opts.c.unix_path ? opts.c.unix_path : opts.c.host,
	    opts.c.unix_path ? "" : ":", opts.c.unix_path ? "" : opts.c.port,
	    opts.path, opts.c.conc, opts.c.threads, pool.n, sl_limit,
	    opts.c.duration_s);
	fflush(stdout);
	for (int t = 0, first = 0; t < opts.c.threads; t++) {
		int n = opts.c.conc / opts.c.threads +
		    (t < opts.c.conc % opts.c.threads);

		ws[t].conns = conns + first;
		ws[t].nconns = n;
		first += n;
	}
	bench_run("snsload", opts.c.threads, worker_main, ws, sizeof(*ws),
	    opts.c.duration_s, opts.c.timeout_ns);
	for (int t = 0; t < opts.c.threads; t++)
		stats_merge(total, &ws[t].st);
	/* The run lasts until its last answer. */
	stats_print(total, total->b.last_done_ns > 0 ? total->b.last_done_ns :
	    bench_now());
	if (sl_addr != NULL)
		freeaddrinfo(sl_addr);
	r = total->b.done > 0 ? EX_OK : EX_UNAVAILABLE;
	free(total);
	free(conns);
	free(ws);
	free(pool.body);
	free(pool.len);
	free(pool.data);
	return r;
}
