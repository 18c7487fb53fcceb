/*
 * fetch.c - HTTPS GETs with libcurl (see fetch.h). One easy handle per
 * call: these are rare (a subscription, a new certificate now and then).
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "fetch.h"
#include "str.h"

struct fetch_sink {
	struct buf	*out;
	size_t		 max;
	int		 too_big;
};

static size_t
fetch_write(char *p, size_t size, size_t n, void *arg)
{
	struct fetch_sink *s = arg;

	if (s->out->len + n > s->max) {
		s->too_big = 1;
		return 0;	/* libcurl stops with a write error */
	}
	buf_append(s->out, p, n);
	(void)size;
	return n;
}

int
fetch_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
fetch_cleanup(void)
{
	curl_global_cleanup();
}

int
fetch_get(const char *url, const struct fetch_opts *o, size_t max,
    struct buf *out, char *errbuf, size_t errlen)
{
	struct fetch_sink	 sink = { out, max, 0 };
	struct curl_slist	*ct = NULL;
	char			 cerr[CURL_ERROR_SIZE] = "";
	CURL			*c = curl_easy_init();
	CURLcode		 rc;
	long			 status = 0;

	if (c == NULL) {
		(void)str_copy(errbuf, errlen, "libcurl: cannot start");
		return -1;
	}
	for (char **l = o->connect_to; l != NULL && *l != NULL; l++)
		ct = curl_slist_append(ct, *l);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sesgate-feedbackd");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	if (o->ca_file != NULL && *o->ca_file != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if (ct != NULL)
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, ct);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(ct);
	if (sink.too_big) {
		snprintf(errbuf, errlen, "GET %s: larger than %zu bytes", url,
		    max);
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(errbuf, errlen, "GET %s: %s", url,
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
		return -1;
	}
	if (status != 200) {
		snprintf(errbuf, errlen, "GET %s: HTTP status %ld", url,
		    status);
		return -1;
	}
	return 0;
}
