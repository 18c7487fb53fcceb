/*
 * fromhdr.c - From field parsing. One pass splits the value into the
 * elements of its address list at the commas that are outside quoted
 * strings, comments and angle brackets; the address of an element is the
 * text of its angle brackets (name-addr) or the element itself without
 * comments (addr-spec). Group names ("undisclosed: a@b, c@d;") are
 * dropped. No state; safe in any thread.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "fromhdr.h"

/* An addr-spec: outside quoted strings, none of the specials that cannot
   stand in one (RFC 5322 section 3.2.3), and every quote closed. */
static bool
fromhdr_addr_ok(const char *a)
{
	bool quoted = false;

	for (; *a != '\0'; a++) {
		if (quoted) {
			if (*a == '\\' && a[1] != '\0')
				a++;
			else if (*a == '"')
				quoted = false;
		} else if (*a == '"') {
			quoted = true;
		} else if (strchr("<>(),;:\\", *a) != NULL) {
			return false;
		}
	}
	return !quoted;
}

/* Keep one element's address candidate in out, dropping comments and
   folding white space, keeping quoted strings with their quotes. */
static void
fromhdr_element(const char *p, size_t n, struct fromhdr *out)
{
	struct buf	 plain = BUF_INIT, angle = BUF_INIT;
	bool		 in_angle = false, had_angle = false;
	int		 comment = 0;
	const char	*a;
	char		 norm[ADDR_BUFSZ];

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (comment > 0) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '(')
				comment++;
			else if (c == ')')
				comment--;
			continue;
		}
		if (c == '"') {
			/* A quoted string: kept as is (a quoted local part
			   is part of the address). */
			size_t j = i + 1;

			while (j < n && p[j] != '"') {
				if (p[j] == '\\' && j + 1 < n)
					j++;
				j++;
			}
			buf_append(in_angle ? &angle : &plain, p + i,
			    (j < n ? j + 1 : n) - i);
			i = j;
			continue;
		}
		if (c == '(') {
			comment = 1;
			continue;
		}
		if (c == '<') {
			in_angle = had_angle = true;
			buf_reset(&angle);
			continue;
		}
		if (c == '>') {
			in_angle = false;
			continue;
		}
		if (isspace((unsigned char)c))
			continue;
		buf_append(in_angle ? &angle : &plain, &c, 1);
	}
	a = had_angle ? (angle.data != NULL ? angle.data : "") :
	    (plain.data != NULL ? plain.data : "");
	/* An obsolete source route (<@a.example,@b.example:u@c.example>)
	   precedes the address (RFC 5322 section 4.4). */
	if (had_angle && *a == '@' && strchr(a, ':') != NULL)
		a = strchr(a, ':') + 1;
	if (*a == '\0' && !had_angle) {
		/* Nothing but white space or comments: not an element. */
	} else if (fromhdr_addr_ok(a) &&
	    addr_normalise(a, norm, sizeof(norm)) == 0) {
		if (out->n < FROMHDR_MAX)
			memcpy(out->addr[out->n], norm, sizeof(norm));
		out->n++;
	} else {
		out->bad++;
	}
	buf_free(&plain);
	buf_free(&angle);
}

size_t
fromhdr_parse(const char *value, struct fromhdr *out)
{
	const char	*p = value, *start = value;
	int		 comment = 0;
	bool		 quoted = false, in_angle = false;

	memset(out, 0, sizeof(*out));
	for (; *p != '\0'; p++) {
		if (quoted) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				quoted = false;
			continue;
		}
		if (comment > 0) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				comment++;
			else if (*p == ')')
				comment--;
			continue;
		}
		switch (*p) {
		case '"':
			quoted = true;
			break;
		case '(':
			comment = 1;
			break;
		case '<':
			in_angle = true;
			break;
		case '>':
			in_angle = false;
			break;
		case ':':
			/* "group-name:" starts a group; a colon inside angle
			   brackets belongs to a source route. */
			if (!in_angle)
				start = p + 1;
			break;
		case ',':
		case ';':
			if (!in_angle) {
				fromhdr_element(start, (size_t)(p - start),
				    out);
				start = p + 1;
			}
			break;
		default:
			break;
		}
	}
	fromhdr_element(start, (size_t)(p - start), out);
	return out->n;
}
