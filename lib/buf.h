/* buf.h - a growable byte buffer, always NUL-terminated. Not shared
   between threads. */
#ifndef SESGATE_BUF_H
#define SESGATE_BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT	{ NULL, 0, 0 }

/* Append n bytes at p (p may be NULL when n is 0). */
void	buf_append(struct buf *b, const void *p, size_t n);
void	buf_puts(struct buf *b, const char *s);
void	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Append code point cp in UTF-8; a surrogate or a value past U+10FFFF
   becomes U+FFFD. */
void	buf_put_utf8(struct buf *b, unsigned long cp);
/* Empty it, keeping the memory. */
void	buf_reset(struct buf *b);
/* Release the memory; the buffer can be used again. */
void	buf_free(struct buf *b);

#endif
