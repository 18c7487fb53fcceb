/*
 * request.c - framing and parsing of policy delegation requests. A request
 * is copied into its own buffer and split in place, so the attribute
 * pointers live as long as the struct request. Not shared between threads.
 */
#include <stdio.h>
#include <string.h>

#include "request.h"

static const char *const request_known[REQUEST_NKNOWN] = {
	"request", "protocol_state", "sender", "recipient",
	"sasl_username", "client_address", "instance", "queue_id",
};

/* Slot of a name in request_known, or -1; one comparison per name. */
static int
request_known_slot(const char *name)
{
	int i;

	switch (name[0]) {
	case 'r':
		i = name[1] != '\0' && name[2] == 'q' ? 0 : 3;
		break;
	case 'p':
		i = 1;
		break;
	case 's':
		i = name[1] == 'e' ? 2 : 4;
		break;
	case 'c':
		i = 5;
		break;
	case 'i':
		i = 6;
		break;
	case 'q':
		i = 7;
		break;
	default:
		return -1;
	}
	return strcmp(name, request_known[i]) == 0 ? i : -1;
}

int
request_frame(const char *data, size_t len, size_t *len_out)
{
	size_t		 limit = len < REQUEST_MAX_BYTES ? len :
			    REQUEST_MAX_BYTES;
	const char	*p = data, *end = data + limit, *nl;

	/* An empty line ends the request; "\r" alone counts as empty so
	   that a client writing CRLF is understood. */
	if (limit > 0 && data[0] == '\n') {
		*len_out = 1;
		return 1;
	}
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		const char *next = nl + 1;

		if (next < end && *next == '\n') {
			*len_out = (size_t)(next - data) + 1;
			return 1;
		}
		if (next + 1 < end && next[0] == '\r' && next[1] == '\n') {
			*len_out = (size_t)(next - data) + 2;
			return 1;
		}
		p = next;
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
	memset(req->known, 0, sizeof(req->known));
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
		{
			int slot = request_known_slot(p);

			if (slot >= 0)
				req->known[slot] = eq + 1;
		}
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
	int slot = request_known_slot(name);

	if (slot >= 0)
		return req->known[slot];
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
	memset(req->known, 0, sizeof(req->known));
}
