/*
 * cidr.c - network lists for internal_hosts and address filters. IPv4
 * addresses are kept as IPv4-mapped IPv6 so that one comparison serves
 * both families, and "::ffff:192.0.2.1" from a dual-stack socket matches
 * "192.0.2.0/24". Immutable once built; safe in any thread.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cidr.h"
#include "mem.h"
#include "str.h"

struct cidr {
	uint8_t	addr[16];
	int	bits;
};

struct cidr_list {
	struct cidr	*v;
	size_t		 n;
	struct buf	 text;
};

static int
cidr_addr_parse(const char *s, uint8_t out[16], int *maxbits_out)
{
	struct in_addr	v4;
	struct in6_addr	v6;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &v4, 4);
		*maxbits_out = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &v6) == 1) {
		memcpy(out, &v6, 16);
		*maxbits_out = 128;
		return 0;
	}
	return -1;
}

static void
cidr_mask(uint8_t a[16], int bits)
{
	for (int i = 0; i < 16; i++) {
		int keep = bits - 8 * i;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

struct cidr_list *
cidr_list_parse(const char *s, char *errbuf, size_t errlen)
{
	struct cidr_list	*l = xcalloc(1, sizeof(*l));
	char			*copy = xstrdup(s), *save = NULL, *tok;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		struct cidr	 c;
		char		*slash = strchr(tok, '/');
		int		 maxbits;
		long long	 bits;

		if (slash != NULL)
			*slash = '\0';
		if (cidr_addr_parse(tok, c.addr, &maxbits) < 0)
			goto bad;
		bits = maxbits;
		if (slash != NULL &&
		    str_to_ll(slash + 1, 0, maxbits, &bits) < 0)
			goto bad;
		c.bits = (int)bits + (maxbits == 32 ? 96 : 0);
		cidr_mask(c.addr, c.bits);
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = c;
		if (slash != NULL)
			*slash = '/';
		buf_printf(&l->text, "%s%s", l->n > 1 ? ", " : "", tok);
		continue;
bad:
		if (slash != NULL)
			*slash = '/';
		snprintf(errbuf, errlen, "not an address or network: \"%s\"",
		    tok);
		free(copy);
		cidr_list_free(&l);
		return NULL;
	}
	free(copy);
	if (l->text.data == NULL)
		buf_puts(&l->text, "");
	return l;
}

bool
cidr_list_match(const struct cidr_list *l, const char *addr)
{
	uint8_t	a[16];
	int	maxbits;

	if (l == NULL || cidr_addr_parse(addr, a, &maxbits) < 0)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		uint8_t m[16];

		memcpy(m, a, 16);
		cidr_mask(m, l->v[i].bits);
		if (memcmp(m, l->v[i].addr, 16) == 0)
			return true;
	}
	return false;
}

size_t
cidr_list_count(const struct cidr_list *l)
{
	return l == NULL ? 0 : l->n;
}

const char *
cidr_list_text(const struct cidr_list *l)
{
	return l == NULL || l->text.data == NULL ? "" : l->text.data;
}

void
cidr_list_free(struct cidr_list **lp)
{
	if (*lp == NULL)
		return;
	buf_free(&(*lp)->text);
	free((*lp)->v);
	free(*lp);
	*lp = NULL;
}
