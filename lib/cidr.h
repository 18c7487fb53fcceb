/* cidr.h - lists of IPv4/IPv6 networks ("192.0.2.0/24", "2001:db8::/32",
   a bare address) and membership tests. A list is immutable once built;
   safe to read from any thread. */
#ifndef SESGATE_CIDR_H
#define SESGATE_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct cidr_list;

/* Parse a list separated by commas and/or white space. The list, or NULL
   with errbuf naming the bad entry. An empty string gives an empty list. */
struct cidr_list *cidr_list_parse(const char *s, char *errbuf, size_t errlen);
/* True when the textual address is inside one of the networks; false for
   an unparsable address. */
bool	cidr_list_match(const struct cidr_list *l, const char *addr);
size_t	cidr_list_count(const struct cidr_list *l);
/* The list as it was given, entries separated by ", "; borrowed. */
const char *cidr_list_text(const struct cidr_list *l);
/* Free; *lp becomes NULL. Accepts NULL. */
void	cidr_list_free(struct cidr_list **lp);

#endif
