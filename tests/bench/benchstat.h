/*
 * benchstat.h - what the load generators share: the run's clock and its
 * worker threads, a latency histogram and the replies seen (kept per
 * worker thread and merged at the end), and the report lines. A
 * bench_stats belongs to one thread until it is merged; the clock is
 * written once, before the workers pass bench_ready().
 */
#ifndef SESGATE_BENCHSTAT_H
#define SESGATE_BENCHSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addrinfo;

/* Log-linear histogram of nanoseconds: exact below 2 * HALF, then HALF
   buckets per power of two (about 1.6 % wide). */
#define BENCH_HIST_HALF_BITS	6
#define BENCH_HIST_HALF		(1 << BENCH_HIST_HALF_BITS)
#define BENCH_HIST_BUCKETS	(2 * BENCH_HIST_HALF + 58 * BENCH_HIST_HALF)
#define BENCH_MAX_ACTIONS	16
#define BENCH_ACTION_MAX	120

struct bench_action {
	char		 text[BENCH_ACTION_MAX];
	long long	 n;
};

struct bench_stats {
	uint64_t		 hist[BENCH_HIST_BUCKETS];
	long long		 done;
	uint64_t		 max_ns;
	double			 sum_ns;
	int64_t			 last_done_ns;	/* monotonic */
	struct bench_action	 actions[BENCH_MAX_ACTIONS];
	int			 nactions;
	long long		 other_actions;	/* beyond the table */
};

/* Monotonic clock in nanoseconds. */
int64_t	bench_now(void);

/* The run: started when every worker is ready; no new work after
   bench_end_ns, nothing awaited after bench_hard_end_ns. */
extern int64_t	bench_start_ns, bench_end_ns, bench_hard_end_ns;

/* Run nthreads threads of fn, the i-th given (char *)args + i * size;
   each calls bench_ready() once it is set up, and the clock starts when
   all have: it runs duration_s, and timeout_ns and a second more for
   the last answers. Returns once every thread is done; exits naming prog
   if a thread cannot start. */
void	bench_run(const char *prog, int nthreads, void *(*fn)(void *),
	    void *args, size_t size, double duration_s, int64_t timeout_ns);

/* In a worker of bench_run(): wait until the clock is set. */
void	bench_ready(void);

/* The addresses of host and port (TCP); exits with EX_NOHOST naming
   prog when there are none. */
struct addrinfo *bench_resolve(const char *prog, const char *host,
	    const char *port);

/* Count one answer that took ns nanoseconds. */
void	bench_latency(struct bench_stats *st, int64_t ns);

/* Count n answers whose action is text[0..len) (cut to fit). */
void	bench_action(struct bench_stats *st, const char *text, size_t len,
	    long long n);

/* Add a worker's figures to the total. */
void	bench_merge(struct bench_stats *to, const struct bench_stats *from);

/* Latency at quantile q (0..1), in microseconds. */
double	bench_quantile(const struct bench_stats *st, double q);

/* "latency us: p50 .. p99 .. p99.9 .. max .. mean .." (nothing if no
   answer was counted), then `heading`: and the actions, most frequent
   first, the overflow counted as `other`. Sorts st->actions. */
void	bench_print(struct bench_stats *st, const char *heading,
	    const char *other);

/* The options both load generators take. */
struct bench_opts {
	const char	*host;		/* -H, default 127.0.0.1 */
	const char	*port;		/* -p */
	const char	*unix_path;	/* -u */
	int		 conc;		/* -c, default 1 */
	int		 threads;	/* -t, default 1 */
	long long	 count;		/* -n; 0: no limit but the duration */
	double		 duration_s;	/* -d */
	long long	 timeout_ns;	/* -T, in milliseconds */
	const char	*domain;	/* -D, default bench.example */
	int		 max_conns;	/* the bound of -c */
};

/* Take option ch (of "H:p:u:c:t:n:d:T:D:") into o; false if it is none
   of them. */
bool	bench_opt(const char *prog, int ch, const char *arg,
	    struct bench_opts *o);

/* After the options: check that exactly one of -p and -u was given
   (false if not), bound the duration (5 s, or 60 s with -n, unless -d)
   and the threads (no more than connections). */
bool	bench_opts_done(const char *prog, struct bench_opts *o);

/* A numeric option in [min, max]; exits with EX_USAGE, naming prog, on
   anything else. */
double	bench_opt_num(const char *prog, const char *s, double min,
	    double max);

#endif
