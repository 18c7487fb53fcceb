/*
 * privs.h - who a daemon runs as. Started as root, a daemon binds its
 * sockets, hands its unix sockets to its user and socket group, then
 * becomes [global] user for good; it runs as root only when told to
 * ([global] allow_root). Call from the main thread before any other
 * thread exists (setuid applies to the calling thread's credentials
 * under glibc to every thread, but keep it simple).
 */
#ifndef SESGATE_PRIVS_H
#define SESGATE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct privs {
	bool	drop;		/* started as root, becoming uid/gid */
	uid_t	uid;
	gid_t	gid;
	uid_t	sock_uid;	/* owner and group given to unix sockets */
	gid_t	sock_gid;
	char	name[64];	/* the user's name, for initgroups() */
};

/* Resolve [global] user, allow_root and socket_group into p. 0, or an
   exit status (EX_NOUSER: no such user or group; EX_CONFIG: root not
   allowed) with errbuf saying why. */
int	privs_resolve(const struct config *cf, struct privs *p, char *errbuf,
	    size_t errlen);
/* Give the unix socket at path to the socket owner and group, with mode.
   0, or -1 with errbuf. */
int	privs_socket(const struct privs *p, const char *path, mode_t mode,
	    char *errbuf, size_t errlen);
/* A listening unix socket at path (any old socket there removed), given
   as privs_socket() says. The descriptor (non-blocking, close-on-exec),
   or -1 with errbuf naming the path. */
int	privs_unix_listener(const struct privs *p, const char *path,
	    mode_t mode, char *errbuf, size_t errlen);
/* Become the user (groups, gid, uid), for good. 0 (also when there is
   nothing to drop), or -1 with errbuf; a caller must not go on after
   -1. */
int	privs_drop(const struct privs *p, char *errbuf, size_t errlen);

#endif
