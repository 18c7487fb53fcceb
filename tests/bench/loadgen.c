/*
 * loadgen.c - load generator for a Postfix SMTP access policy server.
 * Holds persistent connections and uses each the way Postfix's smtpd
 * does: one request, wait for the reply, then the next. Requests are RCPT
 * requests from an authenticated client, as Postfix 3 writes them, with
 * distinct senders (u<i>@bench.example, SASL user u<i>) and a distinct
 * recipient per request (r<n>@dest.example), grouped into messages of a
 * few recipients each (one "instance" per message).
 *
 * Closed loop (default): every connection sends its next request as soon
 * as the reply arrives; latency runs from the send. Paced (-r): requests
 * are scheduled at a fixed total rate whether or not the server keeps up,
 * handed to whichever connection is idle, and latency runs from the
 * scheduled time, so it includes the queueing (no coordinated omission).
 *
 * Always bounded: by -n requests and by -d seconds (default 5 s, or 60 s
 * when -n is given), and every request by -T milliseconds.
 *
 * Each worker thread runs one epoll loop over its share of the
 * connections and keeps its own histogram and counters; they are merged
 * when all threads are done. Nothing else is shared but the request
 * budget (an atomic counter).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "benchstat.h"

#define LG_MAX_CONNS		10000
#define LG_REQ_MAX		2048
#define LG_REPLY_MAX		4096

enum lg_err {
	LG_ERR_CONNECT,
	LG_ERR_CLOSED,
	LG_ERR_TIMEOUT,
	LG_ERR_REPLY,
	LG_ERR_UNSENT,
	LG_NERR
};

static const char *const lg_err_names[LG_NERR] = {
	"connect", "closed", "timeout", "bad-reply", "unsent"
};

struct lg_opts {
	struct bench_opts c;
	double		 rate;		/* 0: closed loop */
	long		 senders;
	int		 rcpts_per_msg;
	const char	*rcpt_domain;
};

struct lg_stats {
	struct bench_stats b;
	long long	 errs[LG_NERR];
};

enum lg_state {
	CONN_DOWN,
	CONN_IDLE,
	CONN_BUSY,	/* request written or being written, reply awaited */
};

struct lg_conn {
	int		 fd;
	int		 id;		/* global connection number */
	enum lg_state	 state;
	int64_t		 t_sched;	/* latency runs from here */
	int64_t		 t_sent;	/* the timeout runs from here */
	char		 out[LG_REQ_MAX];
	size_t		 outlen, outoff;
	char		 in[LG_REPLY_MAX];
	size_t		 inlen;
	long		 sender;	/* sender of the current message */
	unsigned long	 msgno;
	int		 rcpt_in_msg;	/* recipients sent in this message */
	int		 reconnects;
};

struct lg_worker {
	pthread_t	 thread;
	int		 tid;
	int		 epfd;
	int		 tfd;		/* paced mode: next scheduled send */
	struct lg_conn	*conns;
	int		 nconns;
	long long	 next_k;	/* paced: next schedule slot */
	unsigned long	 rcpt_seq;
	unsigned long	 sender_seq;
	struct lg_stats	 st;
};

static struct lg_opts	 opts;
static struct addrinfo	*lg_addr;
static atomic_llong	 lg_tickets;

/* Build the next RCPT request of connection c into c->out. */
static void
conn_build(struct lg_worker *w, struct lg_conn *c)
{
	unsigned long	rcpt;
	int		n;

	if (c->rcpt_in_msg == 0 || c->rcpt_in_msg >= opts.rcpts_per_msg) {
		c->rcpt_in_msg = 0;
		c->msgno++;
		c->sender = (long)((w->sender_seq++ * (unsigned long)
		    opts.c.threads + (unsigned long)w->tid) %
		    (unsigned long)opts.senders);
	}
	rcpt = w->rcpt_seq++ * (unsigned long)opts.c.threads +
	    (unsigned long)w->tid;
	n = snprintf(c->out, sizeof(c->out),
	    "request=smtpd_access_policy\n"
	    "protocol_state=RCPT\n"
	    "protocol_name=ESMTP\n"
	    "client_address=192.0.2.%d\n"
	    "client_name=client%d.bench.example\n"
	    "client_port=%d\n"
	    "reverse_client_name=client%d.bench.example\n"
	    "server_address=127.0.0.1\n"
	    "server_port=587\n"
	    "helo_name=client%d.bench.example\n"
	    "sender=u%ld@%s\n"
	    "recipient=r%lu@%s\n"
	    "recipient_count=%d\n"
	    "queue_id=\n"
	    "instance=%x.%x.%lx.0\n"
	    "size=4096\n"
	    "etrn_domain=\n"
	    "stress=\n"
	    "sasl_method=PLAIN\n"
	    "sasl_username=u%ld\n"
	    "sasl_sender=\n"
	    "ccert_subject=\n"
	    "ccert_issuer=\n"
	    "ccert_fingerprint=\n"
	    "ccert_pubkey_fingerprint=\n"
	    "encryption_protocol=TLSv1.3\n"
	    "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
	    "encryption_keysize=256\n"
	    "policy_context=\n"
	    "compatibility_level=3.6\n"
	    "mail_version=3.7.11\n"
	    "\n",
	    1 + c->id % 250, c->id, 40000 + c->id % 20000, c->id, c->id,
	    c->sender, opts.c.domain, rcpt, opts.rcpt_domain, c->rcpt_in_msg,
	    (unsigned)getpid(), (unsigned)c->id, c->msgno, c->sender);
	if (n < 0 || (size_t)n >= sizeof(c->out)) {
		fprintf(stderr, "loadgen: request too long\n");
		exit(EX_SOFTWARE);
	}
	c->outlen = (size_t)n;
	c->outoff = 0;
	c->rcpt_in_msg++;
}

/* 0, or -1 if fd cannot be made non-blocking. */
static int
lg_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/* Close c (if open) and forget its message; it may be reopened. */
static void
conn_close(struct lg_worker *w, struct lg_conn *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = CONN_DOWN;
	c->inlen = 0;
	c->rcpt_in_msg = 0;
}

/* Blocking connect (loopback: immediate), then non-blocking use. */
static int
conn_open(struct lg_worker *w, struct lg_conn *c)
{
	struct epoll_event	ev;
	int			fd, one = 1;

	if (opts.c.unix_path != NULL) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(opts.c.unix_path) >= sizeof(sun.sun_path))
			return -1;
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
		fd = socket(lg_addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0);
		if (fd < 0)
			return -1;
		if (connect(fd, lg_addr->ai_addr, lg_addr->ai_addrlen) < 0) {
			close(fd);
			return -1;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	if (lg_nonblock(fd) < 0) {
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

/* Count error e against the run and close c. */
static void
conn_fail(struct lg_worker *w, struct lg_conn *c, enum lg_err e)
{
	w->st.errs[e]++;
	conn_close(w, c);
}

/* Reopen a dead connection, a few times at most over the run. */
static bool
conn_revive(struct lg_worker *w, struct lg_conn *c)
{
	if (c->state != CONN_DOWN)
		return true;
	if (c->reconnects >= 5)
		return false;
	c->reconnects++;
	if (conn_open(w, c) < 0) {
		w->st.errs[LG_ERR_CONNECT]++;
		return false;
	}
	return true;
}

/* Ask epoll for writability of c while a request is half written. */
static void
conn_want_write(struct lg_worker *w, struct lg_conn *c, bool on)
{
	struct epoll_event ev;

	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	(void)epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is left of c->out; the connection may die. */
static void
conn_flush(struct lg_worker *w, struct lg_conn *c)
{
	bool was_partial = c->outoff > 0;

	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff,
		    c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!was_partial)
				conn_want_write(w, c, true);
			return;
		}
		if (n <= 0) {
			conn_fail(w, c, LG_ERR_CLOSED);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (was_partial)
		conn_want_write(w, c, false);
}

/* Start c's next request; latency will run from t_sched, or from now
   when t_sched is 0. */
static void
conn_send(struct lg_worker *w, struct lg_conn *c, int64_t t_sched)
{
	conn_build(w, c);
	c->state = CONN_BUSY;
	c->t_sent = bench_now();
	c->t_sched = t_sched != 0 ? t_sched : c->t_sent;
	conn_flush(w, c);
}

/*
 * Read what the server sent. Returns true when a whole reply arrived and
 * the connection is idle again.
 */
static bool
conn_input(struct lg_worker *w, struct lg_conn *c)
{
	ssize_t	 n;
	char	*end, *nl;
	size_t	 framelen;

	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return false;
	if (n <= 0) {
		conn_fail(w, c, LG_ERR_CLOSED);
		return false;
	}
	if (c->state != CONN_BUSY) {
		conn_fail(w, c, LG_ERR_REPLY);	/* unasked-for output */
		return false;
	}
	c->inlen += (size_t)n;
	end = memmem(c->in, c->inlen, "\n\n", 2);
	if (end == NULL) {
		if (c->inlen == sizeof(c->in))
			conn_fail(w, c, LG_ERR_REPLY);
		return false;
	}
	framelen = (size_t)(end - c->in) + 2;
	if (framelen != c->inlen || strncmp(c->in, "action=", 7) != 0) {
		conn_fail(w, c, LG_ERR_REPLY);
		return false;
	}
	nl = memchr(c->in, '\n', c->inlen);
	w->st.b.last_done_ns = bench_now();
	bench_latency(&w->st.b, w->st.b.last_done_ns - c->t_sched);
	bench_action(&w->st.b, c->in + 7, (size_t)(nl - c->in) - 7, 1);
	c->inlen = 0;
	c->state = CONN_IDLE;
	return true;
}

/* May this worker start one more request in closed-loop mode? */
static bool
lg_ticket(void)
{
	if (bench_now() >= bench_end_ns)
		return false;
	if (opts.c.count == 0)
		return true;
	return atomic_fetch_add(&lg_tickets, 1) < opts.c.count;
}

/* Fail every request that has waited longer than the timeout. */
static void
worker_timeouts(struct lg_worker *w, int64_t now, bool all)
{
	for (int i = 0; i < w->nconns; i++) {
		struct lg_conn *c = &w->conns[i];

		if (c->state == CONN_BUSY &&
		    (all || now - c->t_sent > opts.c.timeout_ns))
			conn_fail(w, c, LG_ERR_TIMEOUT);
	}
}

/* Has the worker a connection, or one it may still reopen? */
static bool
worker_alive(const struct lg_worker *w)
{
	for (int i = 0; i < w->nconns; i++)
		if (w->conns[i].state != CONN_DOWN ||
		    w->conns[i].reconnects < 5)
			return true;
	return false;
}

/* Requests of this worker awaiting their replies. */
static int
worker_busy(const struct lg_worker *w)
{
	int n = 0;

	for (int i = 0; i < w->nconns; i++)
		n += w->conns[i].state == CONN_BUSY;
	return n;
}

/*
 * Wait for events and handle them; connections whose reply arrived are
 * passed to idle_cb. Returns after one epoll_wait.
 */
static void
worker_poll(struct lg_worker *w, int timeout_ms,
    void (*idle_cb)(struct lg_worker *, struct lg_conn *))
{
	struct epoll_event	evs[256];
	int			n;

	n = epoll_wait(w->epfd, evs, 256, timeout_ms);
	for (int i = 0; i < n; i++) {
		struct lg_conn *c = evs[i].data.ptr;

		if (c == NULL) {		/* the schedule's timer */
			uint64_t ticks;

			(void)read(w->tfd, &ticks, sizeof(ticks));
			continue;
		}
		if (c->fd < 0)
			continue;
		if ((evs[i].events & EPOLLOUT) && c->state == CONN_BUSY)
			conn_flush(w, c);
		if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLERR |
		    EPOLLHUP)) && conn_input(w, c) && idle_cb != NULL)
			idle_cb(w, c);
	}
}

/* Closed loop: the reply came, send the next if the budget allows. */
static void
closed_next(struct lg_worker *w, struct lg_conn *c)
{
	if (lg_ticket())
		conn_send(w, c, 0);
}

/* Closed loop until the budget or the time is used up and every
   request has its reply (or failed). */
static void
worker_closed(struct lg_worker *w)
{
	bool	 exhausted = false;
	int64_t	 now;

	for (int i = 0; i < w->nconns && !exhausted; i++) {
		if (w->conns[i].state != CONN_IDLE)
			continue;
		if (lg_ticket())
			conn_send(w, &w->conns[i], 0);
		else
			exhausted = true;
	}
	for (;;) {
		worker_poll(w, 50, closed_next);
		now = bench_now();
		worker_timeouts(w, now, now >= bench_hard_end_ns);
		if (now >= bench_end_ns || (opts.c.count > 0 &&
		    atomic_load(&lg_tickets) >= opts.c.count) ||
		    !worker_alive(w))
			exhausted = true;
		if (!exhausted) {
			/* Dead connections come back and carry on. */
			for (int i = 0; i < w->nconns; i++) {
				struct lg_conn *c = &w->conns[i];

				if (c->state == CONN_DOWN &&
				    conn_revive(w, c) && lg_ticket())
					conn_send(w, c, 0);
			}
		}
		if (exhausted && worker_busy(w) == 0)
			break;
	}
}

/* When schedule slot k is due. */
static int64_t
paced_time(long long k)
{
	return bench_start_ns + (int64_t)((double)k * 1e9 / opts.rate);
}

/* Is slot k inside the run (count and duration)? */
static bool
paced_valid(long long k)
{
	return (opts.c.count == 0 || k < opts.c.count) &&
	    paced_time(k) < bench_end_ns;
}

/* An idle connection, taken in turn from *rot on (reopening dead
   ones); NULL if all are busy or dead. */
static struct lg_conn *
worker_idle(struct lg_worker *w, int *rot)
{
	for (int j = 0; j < w->nconns; j++) {
		struct lg_conn *c = &w->conns[(*rot + j) % w->nconns];

		if (c->state == CONN_DOWN && !conn_revive(w, c))
			continue;
		if (c->state == CONN_IDLE) {
			*rot = (*rot + j + 1) % w->nconns;
			return c;
		}
	}
	return NULL;
}

/* Paced: this worker serves slots tid, tid + threads, ...; a due slot
   waits for an idle connection, and its latency includes that wait. */
static void
worker_paced(struct lg_worker *w)
{
	struct itimerspec	its;
	int			rot = 0;
	int64_t			now, t;

	memset(&its, 0, sizeof(its));
	w->next_k = w->tid;
	for (;;) {
		now = bench_now();
		while (paced_valid(w->next_k) &&
		    (t = paced_time(w->next_k)) <= now) {
			struct lg_conn *c = worker_idle(w, &rot);

			if (c == NULL)
				break;
			conn_send(w, c, t);
			w->next_k += opts.c.threads;
		}
		if (paced_valid(w->next_k) &&
		    (t = paced_time(w->next_k)) > now) {
			its.it_value.tv_sec = t / 1000000000;
			its.it_value.tv_nsec = t % 1000000000;
			(void)timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its,
			    NULL);
		}
		worker_poll(w, 50, NULL);
		now = bench_now();
		worker_timeouts(w, now, now >= bench_hard_end_ns);
		if (now >= bench_hard_end_ns || !worker_alive(w)) {
			while (paced_valid(w->next_k)) {
				w->st.errs[LG_ERR_UNSENT]++;
				w->next_k += opts.c.threads;
			}
		}
		if (!paced_valid(w->next_k) && worker_busy(w) == 0)
			break;
	}
}

/* One worker thread: open its connections, meet the others at the
   start line, run, close. */
static void *
worker_main(void *arg)
{
	struct lg_worker	*w = arg;
	struct epoll_event	 ev;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->tfd < 0) {
		fprintf(stderr, "loadgen: epoll/timerfd: %s\n",
		    strerror(errno));
		exit(EX_OSERR);
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	(void)epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev);
	/* The default 50 us of timer slack would be counted as latency. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	for (int i = 0; i < w->nconns; i++) {
		w->conns[i].fd = -1;
		if (conn_open(w, &w->conns[i]) < 0) {
			w->st.errs[LG_ERR_CONNECT]++;
			w->conns[i].reconnects = 5;	/* give up on it */
		}
	}
	bench_ready();
	if (opts.rate > 0)
		worker_paced(w);
	else
		worker_closed(w);
	for (int i = 0; i < w->nconns; i++)
		conn_close(w, &w->conns[i]);
	close(w->tfd);
	close(w->epfd);
	return NULL;
}

/* Add a worker's figures to the total. */
static void
stats_merge(struct lg_stats *to, const struct lg_stats *from)
{
	bench_merge(&to->b, &from->b);
	for (int e = 0; e < LG_NERR; e++)
		to->errs[e] += from->errs[e];
}

/* The report, and one "result:" line of key=value for scripts. */
static void
stats_print(struct lg_stats *st, int64_t end_ns)
{
	double		secs = (double)(end_ns - bench_start_ns) / 1e9;
	double		rps = secs > 0 ? (double)st->b.done / secs : 0;
	long long	errors = 0;

	for (int e = 0; e < LG_NERR; e++)
		errors += st->errs[e];
	printf("requests %lld in %.3f s: %.1f decisions/s\n", st->b.done,
	    secs, rps);
	printf("errors %lld", errors);
	for (int e = 0; e < LG_NERR; e++)
		printf("%s%s %lld", e == 0 ? " (" : ", ", lg_err_names[e],
		    st->errs[e]);
	printf(")\n");
	bench_print(&st->b, "actions", "other actions");
	/* One line for scripts. */
	printf("result: mode=%s conc=%d threads=%d requests=%lld seconds=%.3f "
	    "rps=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
	    "errors=%lld\n", opts.rate > 0 ? "paced" : "closed", opts.c.conc,
	    opts.c.threads, st->b.done, secs, rps, bench_quantile(&st->b, 0.50),
	    bench_quantile(&st->b, 0.99), bench_quantile(&st->b, 0.999),
	    (double)st->b.max_ns / 1000.0, errors);
}

/* A numeric option in [min, max]; exits with usage on anything else. */
static double
opt_num(const char *s, double min, double max)
{
	return bench_opt_num("loadgen", s, min, max);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen [-H host] -p port | -u socket [-c conns] "
	    "[-t threads]\n"
	    "               [-n count] [-d seconds] [-r rate] [-s senders]\n"
	    "               [-m rcpts-per-message] [-T timeout-ms] "
	    "[-D sender-domain]\n"
	    "  -c conns    persistent connections (default 1)\n"
	    "  -t threads  epoll loops sharing the connections (default 1)\n"
	    "  -n count    stop after count requests\n"
	    "  -d seconds  stop sending after this long (default 5, or 60 "
	    "with -n)\n"
	    "  -r rate     paced: requests per second in all, open loop\n"
	    "  -s senders  distinct senders u<i>@domain (default 1000)\n"
	    "  -m n        recipients per message (default 5)\n"
	    "  -T ms       per-request timeout (default 5000)\n"
	    "  -D domain   sender domain (default bench.example)\n");
	exit(EX_USAGE);
}

int
main(int argc, char **argv)
{
	struct lg_worker	*ws;
	struct lg_conn		*conns;
	struct lg_stats		*total;
	int			 ch, r;

	opts.c.host = "127.0.0.1";
	opts.c.max_conns = LG_MAX_CONNS;
	opts.c.conc = 1;
	opts.c.threads = 1;
	opts.senders = 1000;
	opts.rcpts_per_msg = 5;
	opts.c.timeout_ns = 5000LL * 1000000;
	opts.c.domain = "bench.example";
	opts.rcpt_domain = "dest.example";
	while ((ch = getopt(argc, argv, "H:p:u:c:t:n:d:r:s:m:T:D:")) != -1) {
		switch (ch) {
		case 'r':
			opts.rate = opt_num(optarg, 0.1, 1e7);
			break;
		case 's':
			opts.senders = (long)opt_num(optarg, 1, 1e9);
			break;
		case 'm':
			opts.rcpts_per_msg = (int)opt_num(optarg, 1, 1000);
			break;
		default:
			if (!bench_opt("loadgen", ch, optarg, &opts.c))
				usage();
		}
	}
	if (optind != argc || !bench_opts_done("loadgen", &opts.c))
		usage();
	if (opts.c.port != NULL)
		lg_addr = bench_resolve("loadgen", opts.c.host,
		    opts.c.port);
	(void)signal(SIGPIPE, SIG_IGN);

	ws = calloc((size_t)opts.c.threads, sizeof(*ws));
	conns = calloc((size_t)opts.c.conc, sizeof(*conns));
	total = calloc(1, sizeof(*total));
	if (ws == NULL || conns == NULL || total == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		return EX_OSERR;
	}
	for (int i = 0; i < opts.c.conc; i++)
		conns[i].id = i;
	printf("loadgen: %s%s%s %s conns=%d threads=%d",
	    opts.c.unix_path ? opts.c.unix_path : opts.c.host,
	    opts.c.unix_path ? "" : ":", opts.c.unix_path ? "" : opts.c.port,
	    opts.rate > 0 ? "paced" : "closed-loop", opts.c.conc,
	    opts.c.threads);
	if (opts.rate > 0)
		printf(" rate=%.0f/s", opts.rate);
	if (opts.c.count > 0)
		printf(" count=%lld", opts.c.count);
	printf(" duration=%.2fs\n", opts.c.duration_s);
	fflush(stdout);

	for (int t = 0, first = 0; t < opts.c.threads; t++) {
		int n = opts.c.conc / opts.c.threads +
		    (t < opts.c.conc % opts.c.threads);

		ws[t].tid = t;
		ws[t].conns = conns + first;
		ws[t].nconns = n;
		first += n;
	}
	bench_run("loadgen", opts.c.threads, worker_main, ws, sizeof(*ws),
	    opts.c.duration_s, opts.c.timeout_ns);
	for (int t = 0; t < opts.c.threads; t++)
		stats_merge(total, &ws[t].st);
	/* The run lasts until its last reply. */
	stats_print(total, total->b.last_done_ns > 0 ? total->b.last_done_ns :
	    bench_now());
	if (lg_addr != NULL)
		freeaddrinfo(lg_addr);
	r = total->b.done > 0 ? EX_OK : EX_UNAVAILABLE;
	free(total);
	free(conns);
	free(ws);
	return r;
}
