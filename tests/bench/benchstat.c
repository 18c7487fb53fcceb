/*
 * benchstat.c - what the load generators share (see benchstat.h). The
 * clock is the only shared state: written by bench_run() between the
 * two barrier waits, read by the workers after them.
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>

#include "benchstat.h"

int64_t
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t			 bench_start_ns, bench_end_ns, bench_hard_end_ns;
/* Workers and bench_run() meet here twice: ready; clock set. */
static pthread_barrier_t bench_barrier;

void
bench_run(const char *prog, int nthreads, void *(*fn)(void *), void *args,
    size_t size, double duration_s, int64_t timeout_ns)
{
	pthread_t *tids = calloc((size_t)nthreads, sizeof(*tids));

	if (tids == NULL || pthread_barrier_init(&bench_barrier, NULL,
	    (unsigned)nthreads + 1) != 0) {
		fprintf(stderr, "%s: cannot set up the threads\n", prog);
		exit(EX_OSERR);
	}
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, fn,
		    (char *)args + (size_t)i * size) != 0) {
			fprintf(stderr, "%s: cannot start a thread\n", prog);
			exit(EX_OSERR);
		}
	}
	pthread_barrier_wait(&bench_barrier);
	bench_start_ns = bench_now();
	bench_end_ns = bench_start_ns + (int64_t)(duration_s * 1e9);
	bench_hard_end_ns = bench_end_ns + timeout_ns + 1000000000;
	pthread_barrier_wait(&bench_barrier);
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	pthread_barrier_destroy(&bench_barrier);
	free(tids);
}

void
bench_ready(void)
{
	pthread_barrier_wait(&bench_barrier);
	pthread_barrier_wait(&bench_barrier);
}

struct addrinfo *
bench_resolve(const char *prog, const char *host, const char *port)
{
	struct addrinfo	 hints, *res;
	int		 r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		fprintf(stderr, "%s: %s port %s: %s\n", prog, host, port,
		    gai_strerror(r));
		exit(EX_NOHOST);
	}
	return res;
}

/* Histogram bucket of v nanoseconds. */
static int
hist_index(uint64_t v)
{
	int msb, shift, idx;

	if (v < 2 * BENCH_HIST_HALF)
		return (int)v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - BENCH_HIST_HALF_BITS;
	idx = 2 * BENCH_HIST_HALF + (shift - 1) * BENCH_HIST_HALF +
	    (int)((v >> shift) - BENCH_HIST_HALF);
	return idx < BENCH_HIST_BUCKETS ? idx : BENCH_HIST_BUCKETS - 1;
}

/* The middle of bucket idx, in nanoseconds. */
static double
hist_value(int idx)
{
	int shift, sub;

	if (idx < 2 * BENCH_HIST_HALF)
		return idx;
	shift = (idx - 2 * BENCH_HIST_HALF) / BENCH_HIST_HALF + 1;
	sub = (idx - 2 * BENCH_HIST_HALF) % BENCH_HIST_HALF + BENCH_HIST_HALF;
	return ((double)sub + 0.5) * (double)(1ULL << shift);
}

void
bench_latency(struct bench_stats *st, int64_t ns)
{
	uint64_t v = ns > 0 ? (uint64_t)ns : 0;

	st->hist[hist_index(v)]++;
	st->sum_ns += (double)v;
	if (v > st->max_ns)
		st->max_ns = v;
	st->done++;
}

void
bench_action(struct bench_stats *st, const char *text, size_t len,
    long long n)
{
	if (len >= BENCH_ACTION_MAX)
		len = BENCH_ACTION_MAX - 1;
	for (int i = 0; i < st->nactions; i++) {
		if (strncmp(st->actions[i].text, text, len) == 0 &&
		    st->actions[i].text[len] == '\0') {
			st->actions[i].n += n;
			return;
		}
	}
	if (st->nactions == BENCH_MAX_ACTIONS) {
		st->other_actions += n;
		return;
	}
	memcpy(st->actions[st->nactions].text, text, len);
	st->actions[st->nactions].text[len] = '\0';
	st->actions[st->nactions].n = n;
	st->nactions++;
}

void
bench_merge(struct bench_stats *to, const struct bench_stats *from)
{
	for (int i = 0; i < BENCH_HIST_BUCKETS; i++)
		to->hist[i] += from->hist[i];
	to->done += from->done;
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
	to->sum_ns += from->sum_ns;
	for (int i = 0; i < from->nactions; i++)
		bench_action(to, from->actions[i].text,
		    strlen(from->actions[i].text), from->actions[i].n);
	to->other_actions += from->other_actions;
	if (from->last_done_ns > to->last_done_ns)
		to->last_done_ns = from->last_done_ns;
}

double
bench_quantile(const struct bench_stats *st, double q)
{
	long long	want = (long long)ceil(q * (double)st->done);
	long long	seen = 0;

	if (st->done == 0)
		return 0;
	if (want < 1)
		want = 1;
	for (int i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += (long long)st->hist[i];
		if (seen >= want)
			return hist_value(i) / 1000.0;
	}
	return (double)st->max_ns / 1000.0;
}

/* qsort: most frequent action first. */
static int
action_cmp(const void *a, const void *b)
{
	const struct bench_action *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

void
bench_print(struct bench_stats *st, const char *heading, const char *other)
{
	if (st->done > 0)
		printf("latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  "
		    "mean %.1f\n", bench_quantile(st, 0.50),
		    bench_quantile(st, 0.99), bench_quantile(st, 0.999),
		    (double)st->max_ns / 1000.0,
		    st->sum_ns / (double)st->done / 1000.0);
	printf("%s:\n", heading);
	qsort(st->actions, (size_t)st->nactions, sizeof(st->actions[0]),
	    action_cmp);
	for (int i = 0; i < st->nactions; i++)
		printf("  %10lld  %s\n", st->actions[i].n, st->actions[i].text);
	if (st->other_actions > 0)
		printf("  %10lld  (%s)\n", st->other_actions, other);
}

double
bench_opt_num(const char *prog, const char *s, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(v >= min) ||
	    !(v <= max)) {
		fprintf(stderr, "%s: %s: not a number in [%g, %g]\n", prog, s,
		    min, max);
		exit(EX_USAGE);
	}
	return v;
}

bool
bench_opt(const char *prog, int ch, const char *arg, struct bench_opts *o)
{
	switch (ch) {
	case 'H':
		o->host = arg;
		break;
	case 'p':
		o->port = arg;
		break;
	case 'u':
		o->unix_path = arg;
		break;
	case 'c':
		o->conc = (int)bench_opt_num(prog, arg, 1, o->max_conns);
		break;
	case 't':
		o->threads = (int)bench_opt_num(prog, arg, 1, 64);
		break;
	case 'n':
		o->count = (long long)bench_opt_num(prog, arg, 1, 1e10);
		break;
	case 'd':
		o->duration_s = bench_opt_num(prog, arg, 0.01, 3600);
		break;
	case 'T':
		o->timeout_ns = (long long)bench_opt_num(prog, arg, 1,
		    600000) * 1000000;
		break;
	case 'D':
		o->domain = arg;
		break;
	default:
		return false;
	}
	return true;
}

bool
bench_opts_done(const char *prog, struct bench_opts *o)
{
	if ((o->port == NULL) == (o->unix_path == NULL))
		return false;
	if (o->unix_path != NULL && strlen(o->unix_path) >=
	    sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		fprintf(stderr, "%s: %s: path too long\n", prog, o->unix_path);
		exit(EX_USAGE);
	}
	if (strlen(o->domain) > 200) {
		fprintf(stderr, "%s: %s: domain too long\n", prog, o->domain);
		exit(EX_USAGE);
	}
	if (o->duration_s == 0)
		o->duration_s = o->count > 0 ? 60 : 5;
	if (o->threads > o->conc)
		o->threads = o->conc;
	return true;
}
