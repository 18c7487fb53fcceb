/*
 * sdnotify.c - the daemons' state for systemd, with libsystemd's
 * sd_notify(). RELOADING=1 carries MONOTONIC_USEC, as systemd wants it
 * for Type=notify-reload, so the same messages serve both unit types.
 */
#include <time.h>

#include <systemd/sd-daemon.h>

#include "sdnotify.h"

void
sdnotify_ready(const char *status)
{
	(void)sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
sdnotify_reloading(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
sdnotify_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1");
}
