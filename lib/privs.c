/*
 * privs.c - becoming the daemon's user after binding. Root is refused
 * unless [global] allow_root says otherwise; a user or group that does not
 * exist is an error naming the key; once dropped, the daemon checks that
 * it cannot become root again.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "privs.h"
#include "str.h"

int
privs_resolve(const struct config *cf, struct privs *p, char *errbuf,
    size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;

	memset(p, 0, sizeof(*p));
	p->uid = p->sock_uid = geteuid();
	p->gid = p->sock_gid = getegid();
	if (p->uid == 0) {
		pw = getpwnam(cf->user);
		if (pw == NULL) {
			snprintf(errbuf, errlen, "[global] user %s: no such "
			    "user; create it (adduser --system --group "
			    "--no-create-home %s) or name another", cf->user,
			    cf->user);
			return EX_NOUSER;
		}
		if (pw->pw_uid == 0 && !cf->allow_root) {
			snprintf(errbuf, errlen, "[global] user %s: will not "
			    "run as root; name an unprivileged user, or set "
			    "allow_root = yes", cf->user);
			return EX_CONFIG;
		}
		p->drop = pw->pw_uid != 0;
		p->uid = p->sock_uid = pw->pw_uid;
		p->gid = p->sock_gid = pw->pw_gid;
		(void)str_copy(p->name, sizeof(p->name), pw->pw_name);
	}
	if (cf->socket_group[0] != '\0') {
		gr = getgrnam(cf->socket_group);
		if (gr == NULL) {
			snprintf(errbuf, errlen, "[global] socket_group %s: no "
			    "such group", cf->socket_group);
			return EX_NOUSER;
		}
		p->sock_gid = gr->gr_gid;
	}
	return 0;
}

int
privs_socket(const struct privs *p, const char *path, mode_t mode,
    char *errbuf, size_t errlen)
{
	if (chown(path, p->sock_uid, p->sock_gid) < 0 ||
	    chmod(path, mode) < 0) {
		snprintf(errbuf, errlen, "%s: cannot give it to uid %ld gid %ld "
		    "mode %04o: %s", path, (long)p->sock_uid,
		    (long)p->sock_gid, (unsigned int)mode, strerror(errno));
		return -1;
	}
	return 0;
}

int
privs_unix_listener(const struct privs *p, const char *path, mode_t mode,
    char *errbuf, size_t errlen)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path) < 0) {
		snprintf(errbuf, errlen, "unix:%s: path too long", path);
		return -1;
	}
	(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 128) < 0) {
		snprintf(errbuf, errlen, "unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (privs_socket(p, path, mode, errbuf, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
privs_drop(const struct privs *p, char *errbuf, size_t errlen)
{
	if (!p->drop)
		return 0;
	if (initgroups(p->name, p->gid) < 0 || setgid(p->gid) < 0 ||
	    setuid(p->uid) < 0) {
		snprintf(errbuf, errlen, "cannot become %s (uid %ld gid %ld): "
		    "%s", p->name, (long)p->uid, (long)p->gid,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(errbuf, errlen, "could become root again after "
		    "becoming %s", p->name);
		return -1;
	}
	return 0;
}
