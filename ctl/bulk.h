/*
 * bulk.h - the two forms of SES's bulk suppression files, one entry a
 * line: CSV "emailAddress,reason" and newline-delimited JSON
 * {"emailAddress":"a@example.com","reason":"BOUNCE"}. Reading and writing
 * of single lines; no state; safe in any thread.
 */
#ifndef SESGATE_BULK_H
#define SESGATE_BULK_H

#include <stddef.h>
#include <stdio.h>

enum bulk_format {
	BULK_CSV,
	BULK_JSON,
};

/* Parse one line (without or with its "\n" / "\r\n"). 1 and *addr_out,
   *reason_out (caller frees both), 0 for a line that holds no entry (blank,
   or the CSV header "emailAddress,reason"), or -1 with errbuf saying what
   is wrong. */
int	bulk_parse_line(enum bulk_format fmt, const char *line,
	    char **addr_out, char **reason_out, char *errbuf, size_t errlen);
/* Write one entry as a line of fmt. */
void	bulk_write(FILE *fp, enum bulk_format fmt, const char *addr,
	    const char *reason);

#endif
