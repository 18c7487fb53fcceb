/*
 * monotime.h - the time that only goes forward (CLOCK_MONOTONIC), in
 * milliseconds, for the timeouts and cache lifetimes of the daemons.
 */
#ifndef SESGATE_MONOTIME_H
#define SESGATE_MONOTIME_H

long long	monotime_ms(void);

#endif
