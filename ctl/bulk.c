/*
 * bulk.c - SES's bulk suppression file forms: CSV lines
 * "emailAddress,reason" (fields may be double-quoted, "" inside quotes is
 * one quote) and newline-delimited JSON objects whose values are strings.
 * The JSON reader takes exactly that one-object-per-line form, with the
 * string escapes of RFC 8259 section 7. No state; safe in any thread.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bulk.h"
#include "mem.h"
#include "output.h"
#include "str.h"

static const char *
bulk_skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* One CSV field from *pp into b; *pp moves to the comma or end after it. */
static int
bulk_csv_field(const char **pp, struct buf *b, char *errbuf, size_t errlen)
{
	const char *p = *pp;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"') {
		for (p++;; p++) {
			if (*p == '\0' || *p == '\r' || *p == '\n') {
				snprintf(errbuf, errlen, "unterminated "
				    "quoted field");
				return -1;
			}
			if (*p == '"') {
				if (p[1] != '"')
					break;
				p++;
			}
			buf_append(b, p, 1);
		}
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0' && *p != '\r' && *p != '\n') {
			snprintf(errbuf, errlen, "text after a quoted field");
			return -1;
		}
	} else {
		size_t n = strcspn(p, ",\r\n");

		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (memchr(p, '"', n) != NULL) {
			snprintf(errbuf, errlen, "a quote inside an unquoted "
			    "field");
			return -1;
		}
		buf_append(b, p, n);
		p += strcspn(p, ",\r\n");
	}
	buf_append(b, "", 0);
	*pp = p;
	return 0;
}

static int
bulk_parse_csv(const char *line, char **addr_out, char **reason_out,
    char *errbuf, size_t errlen)
{
	struct buf	 f[2] = { BUF_INIT, BUF_INIT };
	const char	*p = line;
	int		 n = 0, rc = -1;

	for (;;) {
		if (n == 2) {
			snprintf(errbuf, errlen, "more than two fields (want "
			    "emailAddress,reason)");
			goto out;
		}
		if (bulk_csv_field(&p, &f[n], errbuf, errlen) < 0)
			goto out;
		n++;
		if (*p != ',')
			break;
		p++;
	}
	if (n < 2) {
		snprintf(errbuf, errlen, "want emailAddress,reason");
	} else if (str_ieq(f[0].data, "emailAddress") &&
	    str_ieq(f[1].data, "reason")) {
		rc = 0;
	} else {
		*addr_out = xstrdup(f[0].data);
		*reason_out = xstrdup(f[1].data);
		rc = 1;
	}
out:
	buf_free(&f[0]);
	buf_free(&f[1]);
	return rc;
}

static int
bulk_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i];

		if (!isxdigit(c))
			return -1;
		v = v * 16 + (unsigned)(isdigit(c) ? c - '0' :
		    tolower(c) - 'a' + 10);
	}
	*out = v;
	return 0;
}


/* A JSON string at *pp (which points at its opening quote) into b. */
static int
bulk_json_string(const char **pp, struct buf *b, char *errbuf,
    size_t errlen)
{
	const char *p = *pp;

	for (p++; *p != '"'; p++) {
		unsigned cp, lo;

		if (*p == '\0' || (unsigned char)*p < 0x20) {
			snprintf(errbuf, errlen, *p == '\0' ?
			    "unterminated string" :
			    "control character in a string");
			return -1;
		}
		if (*p != '\\') {
			buf_append(b, p, 1);
			continue;
		}
		switch (*++p) {
		case '"':
		case '\\':
		case '/':
			buf_append(b, p, 1);
			break;
		case 'b':
			buf_puts(b, "\b");
			break;
		case 'f':
			buf_puts(b, "\f");
			break;
		case 'n':
			buf_puts(b, "\n");
			break;
		case 'r':
			buf_puts(b, "\r");
			break;
		case 't':
			buf_puts(b, "\t");
			break;
		case 'u':
			if (bulk_hex4(p + 1, &cp) < 0) {
				snprintf(errbuf, errlen, "bad \\u escape");
				return -1;
			}
			p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				snprintf(errbuf, errlen, "lone low surrogate "
				    "in \\u escape");
				return -1;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p[1] != '\\' || p[2] != 'u' ||
				    bulk_hex4(p + 3, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff) {
					snprintf(errbuf, errlen, "high "
					    "surrogate without its low half "
					    "in \\u escape");
					return -1;
				}
				p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			if (cp == 0) {
				snprintf(errbuf, errlen, "\\u0000 in a string");
				return -1;
			}
			buf_put_utf8(b, cp);
			break;
		default:
			snprintf(errbuf, errlen, "bad escape \"\\%c\"",
			    *p != '\0' ? *p : '0');
			return -1;
		}
	}
	*pp = p + 1;
	return 0;
}

static int
bulk_parse_json(const char *line, char **addr_out, char **reason_out,
    char *errbuf, size_t errlen)
{
	struct buf	 key = BUF_INIT, val = BUF_INIT;
	char		*addr = NULL, *reason = NULL;
	const char	*p = bulk_skip_ws(line);

	if (*p != '{') {
		snprintf(errbuf, errlen, "want one JSON object a line, "
		    "{\"emailAddress\":\"...\",\"reason\":\"BOUNCE\"}");
		return -1;
	}
	p = bulk_skip_ws(p + 1);
	if (*p == '}')
		goto end;
	for (;;) {
		char **slot;

		buf_reset(&key);
		buf_reset(&val);
		if (*p != '"') {
			snprintf(errbuf, errlen, "want a quoted field name");
			goto fail;
		}
		if (bulk_json_string(&p, &key, errbuf, errlen) < 0)
			goto fail;
		p = bulk_skip_ws(p);
		if (*p != ':') {
			snprintf(errbuf, errlen, "want ':' after \"%s\"",
			    key.data);
			goto fail;
		}
		p = bulk_skip_ws(p + 1);
		if (*p != '"') {
			snprintf(errbuf, errlen, "the value of \"%s\" must be "
			    "a string", key.data);
			goto fail;
		}
		if (bulk_json_string(&p, &val, errbuf, errlen) < 0)
			goto fail;
		buf_append(&val, "", 0);
		if (strcmp(key.data, "emailAddress") == 0) {
			slot = &addr;
		} else if (strcmp(key.data, "reason") == 0) {
			slot = &reason;
		} else {
			snprintf(errbuf, errlen, "unknown field \"%s\" (want "
			    "emailAddress and reason)", key.data);
			goto fail;
		}
		if (*slot != NULL) {
			snprintf(errbuf, errlen, "field \"%s\" given twice",
			    key.data);
			goto fail;
		}
		*slot = xstrdup(val.data);
		p = bulk_skip_ws(p);
		if (*p == '}')
			break;
		if (*p != ',') {
			snprintf(errbuf, errlen, "want ',' or '}'");
			goto fail;
		}
		p = bulk_skip_ws(p + 1);
	}
end:
	p = bulk_skip_ws(p + 1);
	if (*p != '\0') {
		snprintf(errbuf, errlen, "text after the object");
		goto fail;
	}
	if (addr == NULL || reason == NULL) {
		snprintf(errbuf, errlen, "missing field \"%s\"",
		    addr == NULL ? "emailAddress" : "reason");
		goto fail;
	}
	buf_free(&key);
	buf_free(&val);
	*addr_out = addr;
	*reason_out = reason;
	return 1;
fail:
	buf_free(&key);
	buf_free(&val);
	free(addr);
	free(reason);
	return -1;
}

int
bulk_parse_line(enum bulk_format fmt, const char *line, char **addr_out,
    char **reason_out, char *errbuf, size_t errlen)
{
	if (errlen > 0)
		*errbuf = '\0';
	if (*bulk_skip_ws(line) == '\0')
		return 0;
	if (fmt == BULK_JSON)
		return bulk_parse_json(line, addr_out, reason_out, errbuf,
		    errlen);
	return bulk_parse_csv(line, addr_out, reason_out, errbuf, errlen);
}

void
bulk_write(FILE *fp, enum bulk_format fmt, const char *addr,
    const char *reason)
{
	if (fmt == BULK_JSON) {
		fputs("{\"emailAddress\":", fp);
		output_json_string(fp, addr);
		fputs(",\"reason\":", fp);
		output_json_string(fp, reason);
		fputs("}\n", fp);
		return;
	}
	if (strpbrk(addr, ",\" \t") == NULL) {
		fprintf(fp, "%s,%s\n", addr, reason);
		return;
	}
	fputc('"', fp);
	for (const char *p = addr; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', fp);
		fputc(*p, fp);
	}
	fprintf(fp, "\",%s\n", reason);
}
