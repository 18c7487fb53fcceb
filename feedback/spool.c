/*
 * spool.c - the durable queue of notifications (see spool.h). Records are
 * read with pread() one at a time, so a long outage's spool is never held
 * in memory at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "spool.h"
#include "str.h"

/* A record's data is at most this long (an SNS message is 256 KB). */
#define SPOOL_DATA_MAX	(64 * 1024 * 1024)
#define SPOOL_HEAD_MAX	512
#define SPOOL_OFF_LEN	20

struct spool {
	int	 fd;
	int	 ofd;		/* PATH.offset */
	off_t	 applied;	/* records before this took effect */
	off_t	 end;		/* end of the last whole record */
	size_t	 pending;
};

/* The record at off: its id (into id), data offset and length, and the
   offset of the next. 1, 0 at the end or at a record cut short, -1 on a
   read error. */
static int
spool_head(int fd, off_t off, off_t size, char *id, size_t idlen,
    off_t *data_out, size_t *len_out, off_t *next_out)
{
	char		 head[SPOOL_HEAD_MAX + 1], *tab, *nl;
	ssize_t		 n;
	long long	 len;

	if (off >= size)
		return 0;
	n = pread(fd, head, SPOOL_HEAD_MAX, off);
	if (n < 0)
		return -1;
	head[n] = '\0';
	nl = memchr(head, '\n', (size_t)n);
	tab = memchr(head, '\t', (size_t)n);
	if (nl == NULL || tab == NULL || tab > nl)
		return 0;
	*nl = *tab = '\0';
	if (str_to_ll(tab + 1, 0, SPOOL_DATA_MAX, &len) < 0 ||
	    str_copy(id, idlen, head) < 0)
		return 0;
	*data_out = off + (nl - head) + 1;
	*len_out = (size_t)len;
	*next_out = *data_out + len + 1;
	return *next_out <= size ? 1 : 0;
}

static int
spool_write_offset(struct spool *s, off_t off)
{
	char buf[SPOOL_OFF_LEN + 1];

	snprintf(buf, sizeof(buf), "%0*lld", SPOOL_OFF_LEN, (long long)off);
	if (pwrite(s->ofd, buf, SPOOL_OFF_LEN, 0) != SPOOL_OFF_LEN ||
	    fdatasync(s->ofd) < 0)
		return -1;
	s->applied = off;
	return 0;
}

struct spool *
spool_open(const char *path, char *errbuf, size_t errlen)
{
	struct spool	*s = xcalloc(1, sizeof(*s));
	char		 opath[4096], buf[SPOOL_OFF_LEN + 1], id[SPOOL_HEAD_MAX];
	struct stat	 st;
	long long	 applied = 0;
	off_t		 off, data, next;
	size_t		 len;
	ssize_t		 n;
	int		 rc;

	s->fd = s->ofd = -1;
	if (str_fmt(opath, sizeof(opath), "%s.offset", path) < 0) {
		snprintf(errbuf, errlen, "spool %s: path too long", path);
		goto fail;
	}
	s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	s->ofd = open(opath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd < 0 || s->ofd < 0 || fstat(s->fd, &st) < 0) {
		snprintf(errbuf, errlen, "spool %s: %s", s->fd < 0 ? path :
		    opath, strerror(errno));
		goto fail;
	}
	n = pread(s->ofd, buf, SPOOL_OFF_LEN, 0);
	buf[n > 0 ? n : 0] = '\0';
	/* An offset past the end: the file was emptied after the last
	   record took effect, before the offset was reset. */
	if (n != SPOOL_OFF_LEN || str_to_ll(buf, 0, st.st_size, &applied) < 0)
		applied = 0;
	s->applied = applied;
	for (off = applied; (rc = spool_head(s->fd, off, st.st_size, id,
	    sizeof(id), &data, &len, &next)) == 1; off = next)
		s->pending++;
	if (rc < 0) {
		snprintf(errbuf, errlen, "spool %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	s->end = off;
	/* A record cut short by a crash while it was written was never
	   acknowledged: drop it. */
	if (off < st.st_size && (ftruncate(s->fd, off) < 0 ||
	    fsync(s->fd) < 0)) {
		snprintf(errbuf, errlen, "spool %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	return s;
fail:
	spool_close(&s);
	return NULL;
}

void
spool_close(struct spool **sp)
{
	struct spool *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	if (s->fd >= 0)
		close(s->fd);
	if (s->ofd >= 0)
		close(s->ofd);
	free(s);
}

size_t
spool_pending(const struct spool *s)
{
	return s->pending;
}

int
spool_append(struct spool *s, const char *id, const char *data, size_t len,
    char *errbuf, size_t errlen)
{
	char	head[SPOOL_HEAD_MAX];
	size_t	hl;
	char	*rec;
	ssize_t	n;

	if (*id == '\0' || strpbrk(id, " \t\r\n") != NULL ||
	    str_fmt(head, sizeof(head), "%s\t%zu\n", id, len) < 0 ||
	    len > SPOOL_DATA_MAX) {
		(void)str_copy(errbuf, errlen, "spool: record refused (bad "
		    "ID or too long)");
		return -1;
	}
	hl = strlen(head);
	rec = xmalloc(hl + len + 1);
	memcpy(rec, head, hl);
	memcpy(rec + hl, data, len);
	rec[hl + len] = '\n';
	n = pwrite(s->fd, rec, hl + len + 1, s->end);
	free(rec);
	if (n != (ssize_t)(hl + len + 1) || fsync(s->fd) < 0) {
		int t;

		snprintf(errbuf, errlen, "spool: %s", n >= 0 &&
		    n != (ssize_t)(hl + len + 1) ? "short write" :
		    strerror(errno));
		/* Nothing partial may stay for a later append to follow;
		   if even this fails, spool_open() cuts it off. */
		t = ftruncate(s->fd, s->end);
		(void)t;
		return -1;
	}
	s->end += (off_t)(hl + len + 1);
	s->pending++;
	return 0;
}

int
spool_replay(struct spool *s,
    int (*apply)(void *, const char *, const char *, size_t), void *arg,
    char *errbuf, size_t errlen)
{
	char	id[SPOOL_HEAD_MAX];
	off_t	data, next;
	size_t	len;
	int	done = 0, rc;

	while ((rc = spool_head(s->fd, s->applied, s->end, id, sizeof(id),
	    &data, &len, &next)) == 1) {
		char *buf = xmalloc(len + 1);

		if (pread(s->fd, buf, len, data) != (ssize_t)len) {
			free(buf);
			snprintf(errbuf, errlen, "spool: %s", strerror(errno));
			return -1;
		}
		buf[len] = '\0';
		rc = apply(arg, id, buf, len);
		free(buf);
		if (rc < 0)
			return done;
		if (spool_write_offset(s, next) < 0) {
			snprintf(errbuf, errlen, "spool offset: %s",
			    strerror(errno));
			return -1;
		}
		s->pending--;
		done++;
	}
	if (rc < 0) {
		snprintf(errbuf, errlen, "spool: %s", strerror(errno));
		return -1;
	}
	if (s->pending == 0 && s->end > 0) {
		/* Everything took effect: start the file again. */
		if (ftruncate(s->fd, 0) < 0 || fsync(s->fd) < 0 ||
		    spool_write_offset(s, 0) < 0) {
			snprintf(errbuf, errlen, "spool: %s", strerror(errno));
			return -1;
		}
		s->end = 0;
	}
	return done;
}
