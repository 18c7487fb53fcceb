/* str.h - bounded string helpers that report truncation, and small
   parsers for numbers and durations. No state; safe in any thread. */
#ifndef SESGATE_STR_H
#define SESGATE_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Copy src into dst (size dstlen). 0, or -1 when it did not fit (dst then
   holds a truncated copy). */
int	str_copy(char *dst, size_t dstlen, const char *src);
/* snprintf into dst. 0, or -1 on truncation or format error. */
int	str_fmt(char *dst, size_t dstlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Lowercase ASCII letters in place; returns s. */
char	*str_lower(char *s);
/* Case-insensitive ASCII equality of a and b. */
bool	str_ieq(const char *a, const char *b);
/* Whether the n bytes at p equal `lower` (all lower case), ignoring ASCII
   case. */
bool	str_ieq_n(const char *p, size_t n, const char *lower);
/* True when s ends with suffix (case-insensitive). */
bool	str_iendswith(const char *s, const char *suffix);
/* Strip leading and trailing white space in place; returns the start. */
char	*str_trim(char *s);

/* Whole-string parsers: 0 and *out set, or -1 when s is not entirely a
   number in range. */
int	str_to_ll(const char *s, long long min, long long max,
	    long long *out);
int	str_to_double(const char *s, double min, double max, double *out);
/* A duration with unit: ms, s, m, h, d, w (a bare number is seconds).
   0 and *ms_out, or -1. */
int	str_to_duration_ms(const char *s, long long *ms_out);

#endif
