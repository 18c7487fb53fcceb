/*
 * request.c - framing and parsing of policy delegation requests. A request
 * is copied into its own buffer and split in place, so the attribute
 * pointers live as long as the struct request. Not shared between threads.
 */
#include <stdio.h>
#include <string.h>

#include "request.h"

int
request_frame(const char *data, size_t len, size_t *len_out)
{
	size_t limit = len < REQUEST_MAX_BYTES ? len : REQUEST_MAX_BYTES;
	size_t line = 0;

	/* An empty line ends the request; "\r" alone counts as empty so
	   that a client writing CRLF is understood. */
	for (size_t i = 0; i < limit; i++) {
		if (data[i] != '\n')
			continue;
		if (i == line || (i == line + 1 && data[line] == '\r')) {
			*len_out = i + 1;
			return 1;
		}
		line = i + 1;
	}
	return len >= REQUEST_MAX_BYTES ? -1 : 0;
}

int
request_parse(struct request *req, const char *data, size_t len,
    char *errbuf, size_t errlen)
{
	char	*p, *end;
	size_t	 lineno = 0;

	req->nattrs = 0;
	buf_reset(&req->text);
	buf_append(&req->text, data, len);
	p = req->text.data;
	end = p + req->text.len;
	while (p < end) {
		char	*nl = memchr(p, '\n', (size_t)(end - p));
		char	*eol = nl != NULL ? nl : end;
		char	*eq;

		lineno++;
		if (eol > p && eol[-1] == '\r')
			eol--;
		*eol = '\0';
		if (eol == p)
			break;		/* the empty line that ends it */
		for (char *q = p; q < eol; q++) {
			unsigned char ch = (unsigned char)*q;

			if (ch < 0x20 && ch != '\t') {
				snprintf(errbuf, errlen, "line %zu: control "
				    "byte 0x%02x", lineno, ch);
				return -1;
			}
		}
		eq = strchr(p, '=');
		if (eq == NULL) {
			snprintf(errbuf, errlen, "line %zu: no '=' in "
			    "attribute line", lineno);
			return -1;
		}
		if (eq == p) {
			snprintf(errbuf, errlen, "line %zu: empty attribute "
			    "name", lineno);
			return -1;
		}
		if (req->nattrs >= REQUEST_MAX_ATTRS) {
			snprintf(errbuf, errlen, "more than %d attributes",
			    REQUEST_MAX_ATTRS);
			return -1;
		}
		*eq = '\0';
		req->attrs[req->nattrs].name = p;
		req->attrs[req->nattrs].value = eq + 1;
		req->nattrs++;
		p = nl != NULL ? nl + 1 : end;
	}
	if (req->nattrs == 0) {
		snprintf(errbuf, errlen, "empty request");
		return -1;
	}
	return 0;
}

const char *
request_get(const struct request *req, const char *name)
{
	for (size_t i = req->nattrs; i > 0; i--)
		if (strcmp(req->attrs[i - 1].name, name) == 0)
			return req->attrs[i - 1].value;
	return NULL;
}

const char *
request_str(const struct request *req, const char *name)
{
	const char *v = request_get(req, name);

	return v != NULL ? v : "";
}

void
request_free(struct request *req)
{
	buf_free(&req->text);
	req->nattrs = 0;
}
