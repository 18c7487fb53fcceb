/*
 * spool.h - the durable queue of notifications that could not be applied
 * because Redis was down: appended and fsync'd before SNS is answered,
 * replayed in order once Redis is back. One file of records
 *
 *     ID TAB LENGTH LF DATA LF
 *
 * and beside it PATH.offset, the byte offset up to which records have
 * been applied, written (and fdatasync'd) after each. A crash after a
 * record was applied but before its offset was written replays it; the
 * caller's effects take each ID once, so nothing is applied twice and
 * nothing acknowledged is lost. A record cut short by a crash during its
 * append was never acknowledged and is dropped. Not thread-safe: one per
 * event loop.
 */
#ifndef SESGATE_SPOOL_H
#define SESGATE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct spool;

/* Open (creating) the spool at path; a torn last record is cut off. NULL
   with errbuf when the file cannot be opened, read or written. */
struct spool	*spool_open(const char *path, char *errbuf, size_t errlen);
void		 spool_close(struct spool **sp);

/* Records appended and not yet applied. */
size_t		 spool_pending(const struct spool *s);

/* Append one record and make it durable (fsync). id has no white space;
   0, or -1 with errbuf (nothing usable was added). */
int		 spool_append(struct spool *s, const char *id, const char *data,
		    size_t len, char *errbuf, size_t errlen);

/* Apply the pending records in order: apply(arg, id, data, len) returns
   0 when the record took effect (or had before), -1 to stop (it stays
   pending). The number applied, or -1 with errbuf on an I/O error. When
   every record is applied the file is emptied. */
int		 spool_replay(struct spool *s,
		    int (*apply)(void *, const char *, const char *, size_t),
		    void *arg, char *errbuf, size_t errlen);

#endif
