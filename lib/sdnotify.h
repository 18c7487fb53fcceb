/*
 * sdnotify.h - telling systemd (Type=notify) where a daemon is: ready to
 * serve, reloading its configuration, stopping. Nothing happens when the
 * daemon was not started by systemd (no NOTIFY_SOCKET).
 */
#ifndef SESGATE_SDNOTIFY_H
#define SESGATE_SDNOTIFY_H

/* Listening and serving; status is a line for `systemctl status`. */
void	sdnotify_ready(const char *status);
/* A reload has begun; sdnotify_ready() says it is over. */
void	sdnotify_reloading(void);
/* Stopping: no new work is taken. */
void	sdnotify_stopping(void);

#endif
