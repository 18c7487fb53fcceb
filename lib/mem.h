/* mem.h - allocation that never returns NULL: on exhaustion it logs and
   aborts, so callers do not test the result. Safe in any thread. */
#ifndef SESGATE_MEM_H
#define SESGATE_MEM_H

#include <stddef.h>

void	*xmalloc(size_t n);
void	*xcalloc(size_t nmemb, size_t size);
void	*xrealloc(void *p, size_t n);
/* Copy of s (NULL gives NULL). */
char	*xstrdup(const char *s);
/* Copy of the first n bytes of s, NUL-terminated. */
char	*xstrndup(const char *s, size_t n);

#endif
