/*
 * spfverify.c - SPF verdict for one message: asks libspf2 about the
 * client address, HELO name and MAIL FROM, through a DNS layer of ours
 * (libspf2's SPF_dns_server_t) that answers from the milter's resolver
 * and counts void lookups, which libspf2 does not limit (RFC 7208
 * section 4.6.4). libspf2's server, request and DNS layer are made per
 * message; nothing is shared but the resolver, so this is safe in any
 * milter thread.
 */
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "log.h"
#include "spfverify.h"
#include "str.h"

/* RFC 7208 section 4.6.4: at most two lookups may find nothing. */
#define SPF_VOID_MAX	2
/* libspf2 1.2.10 evaluates the first 64 mechanisms of a record and
   silently drops the rest. */
#define SPF_MECH_MAX	64

struct spfverify_dns {
	struct resolver	*r;
	int		 voids;
	bool		 dns_error;	/* a lookup got no answer */
	bool		 too_long;	/* a record libspf2 cuts short */
};

static pthread_once_t spfverify_once = PTHREAD_ONCE_INIT;

/* libspf2's messages go to our log, at debug level: its default handlers
   write to stdout and stderr. */
static void
spfverify_log(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	LOG_DEBUGF(NULL, "spfverify: libspf2: %s", msg);
}

static void __attribute__((noreturn))
spfverify_fatal(const char *file, int line, const char *msg)
{
	panic("spfverify: libspf2 %s:%d: %s", file, line, msg);
}

static void
spfverify_setup(void)
{
	SPF_error_handler = spfverify_fatal;
	SPF_warning_handler = spfverify_log;
	SPF_info_handler = spfverify_log;
	SPF_debug_handler = spfverify_log;
}

/* Put one rdata into libspf2's record i; false when it does not fit the
   type (then skipped). */
static bool
spfverify_rr(SPF_dns_rr_t *rr, int i, ns_type type, const unsigned char *d,
    size_t len)
{
	char	 name[256], *txt;
	size_t	 need;

	switch (type) {
	case ns_t_a:
		if (len != 4 || SPF_dns_rr_buf_realloc(rr, i, 4) != SPF_E_SUCCESS)
			return false;
		memcpy(&rr->rr[i]->a, d, 4);
		return true;
	case ns_t_aaaa:
		if (len != 16 ||
		    SPF_dns_rr_buf_realloc(rr, i, 16) != SPF_E_SUCCESS)
			return false;
		memcpy(&rr->rr[i]->aaaa, d, 16);
		return true;
	case ns_t_mx:
	case ns_t_ptr:
		if (resolver_name(d, len, type == ns_t_mx ? 2 : 0, name,
		    sizeof(name)) < 0)
			return false;
		need = strlen(name) + 1;
		if (SPF_dns_rr_buf_realloc(rr, i, need) != SPF_E_SUCCESS)
			return false;
		memcpy(rr->rr[i]->mx, name, need);
		return true;
	case ns_t_txt:
	case ns_t_spf:
		txt = resolver_txt(d, len);
		if (txt == NULL)
			return false;
		need = strlen(txt) + 1;
		if (SPF_dns_rr_buf_realloc(rr, i, need) != SPF_E_SUCCESS) {
			free(txt);
			return false;
		}
		memcpy(rr->rr[i]->txt, txt, need);
		free(txt);
		return true;
	default:
		return false;
	}
}

/* Whether a TXT string is an SPF record with more mechanisms than
   libspf2 evaluates (modifiers, name=value, do not count). */
static bool
spfverify_too_long(const char *txt)
{
	int		 n = 0;
	const char	*p = txt + 6;

	if (strncasecmp(txt, "v=spf1", 6) != 0 || (*p != ' ' && *p != '\0'))
		return false;
	while (*p != '\0') {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len > 0 && memchr(p, '=', len) == NULL)
			n++;
		p += len;
	}
	return n > SPF_MECH_MAX;
}

static SPF_dns_rr_t *
spfverify_lookup(SPF_dns_server_t *layer, const char *domain, ns_type type,
    int should_cache)
{
	struct spfverify_dns	*d = layer->hook;
	struct resolver_answer	*a;
	SPF_dns_rr_t		*rr;
	char			 err[256];
	int			 rc, n = 0;

	(void)should_cache;
	if (d->voids > SPF_VOID_MAX)
		return SPF_dns_rr_new_init(layer, domain, type, 0,
		    HOST_NOT_FOUND);
	rc = resolver_query(d->r, domain, type, &a, err, sizeof(err));
	if (rc < 0) {
		d->dns_error = true;
		LOG_DEBUGF(NULL, "spfverify: %s type %d: %s", domain,
		    (int)type, err);
		return SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
	}
	if (rc == 0) {
		d->voids++;
		rr = SPF_dns_rr_new_init(layer, domain, type, 0,
		    a->nxdomain ? HOST_NOT_FOUND : NO_DATA);
		resolver_answer_free(&a);
		return rr;
	}
	rr = SPF_dns_rr_new_init(layer, domain, type, 0, NETDB_SUCCESS);
	for (size_t i = 0; rr != NULL && i < a->n; i++) {
		if (!spfverify_rr(rr, n, type, a->rr[i], a->rrlen[i]))
			continue;
		if (type == ns_t_txt && spfverify_too_long(rr->rr[n]->txt))
			d->too_long = true;
		n++;
	}
	if (rr != NULL)
		rr->num_rr = n;
	resolver_answer_free(&a);
	return rr;
}

static enum auth_result
spfverify_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return AUTH_PASS;
	case SPF_RESULT_FAIL:
		return AUTH_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return AUTH_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return AUTH_NEUTRAL;
	case SPF_RESULT_NONE:
		return AUTH_NONE;
	case SPF_RESULT_TEMPERROR:
		return AUTH_TEMPERROR;
	default:
		return AUTH_PERMERROR;
	}
}

/* The identity and its domain: the MAIL FROM address, or the HELO name
   for a null sender (RFC 7208 section 2.4). */
static void
spfverify_identity(const char *helo, const char *sender,
    struct authres_spf *out)
{
	const char *at = strrchr(sender, '@');

	out->helo = *sender == '\0';
	(void)str_copy(out->identity, sizeof(out->identity),
	    out->helo ? helo : sender);
	(void)str_copy(out->domain, sizeof(out->domain),
	    out->helo ? helo : at != NULL ? at + 1 : sender);
	str_lower(out->domain);
}

void
spfverify_check(struct resolver *r, const char *ip, const char *helo,
    const char *sender, struct authres_spf *out)
{
	struct spfverify_dns	 d = { .r = r };
	SPF_dns_server_t	 layer = {
		.lookup = spfverify_lookup,
		.name = "sesgate",
		.hook = &d,
	};
	SPF_server_t		*server;
	SPF_request_t		*req;
	SPF_response_t		*resp = NULL;
	const char		*rs;
	bool			 too_long = false;

	pthread_once(&spfverify_once, spfverify_setup);
	memset(out, 0, sizeof(*out));
	spfverify_identity(helo, sender, out);
	/* No name to check (RFC 7208 section 4.3): nothing, an address
	   literal greeting, a malformed name or one not fully qualified. */
	if (!resolver_name_ok(out->domain) ||
	    strchr(out->domain, '.') == NULL) {
		out->result = AUTH_NONE;
		return;
	}
	server = SPF_server_new_dns(&layer, 0);
	if (server == NULL) {
		out->result = AUTH_TEMPERROR;
		return;
	}
	req = SPF_request_new(server);
	if (SPF_request_set_ipv4_str(req, ip) != SPF_E_SUCCESS &&
	    SPF_request_set_ipv6_str(req, ip) != SPF_E_SUCCESS) {
		out->result = AUTH_PERMERROR;
		goto done;
	}
	if (*helo != '\0')
		(void)SPF_request_set_helo_dom(req, helo);
	/* With no sender libspf2 checks postmaster@HELO, the HELO
	   identity. */
	if (SPF_request_set_env_from(req, sender) != 0) {
		out->result = AUTH_PERMERROR;
		goto done;
	}
	(void)SPF_request_query_mailfrom(req, &resp);
	out->result = resp != NULL ?
	    spfverify_result(SPF_response_result(resp)) : AUTH_TEMPERROR;
	rs = resp != NULL ? SPF_response_get_received_spf_value(resp) : NULL;
	if (d.dns_error && (out->result == AUTH_PERMERROR ||
	    out->result == AUTH_NONE)) {
		/* libspf2 reports some lookups that got no answer as a bad
		   or missing record; RFC 7208 section 2.6.6 makes them a
		   temporary error. */
		out->result = AUTH_TEMPERROR;
		rs = NULL;
	} else if (d.voids > SPF_VOID_MAX && out->result != AUTH_NONE) {
		out->result = AUTH_PERMERROR;
		rs = NULL;
	} else if (d.too_long && resp != NULL &&
	    SPF_response_reason(resp) == SPF_REASON_DEFAULT) {
		/* The end was reached without a match, but libspf2 did not
		   look at every mechanism: the answer is not known. */
		out->result = AUTH_PERMERROR;
		rs = NULL;
		too_long = true;
	}
	if (rs == NULL)
		snprintf(out->received, sizeof(out->received),
		    "%s (%s) client-ip=%s; envelope-from=%s; helo=%s;",
		    authres_name(out->result),
		    out->result == AUTH_TEMPERROR ? "DNS lookup failed" :
		    too_long ? "record has more than 64 mechanisms" :
		    out->result == AUTH_PERMERROR ?
		    "more than 2 DNS lookups found nothing" : "not checked",
		    ip, *sender != '\0' ? sender : "<>",
		    *helo != '\0' ? helo : "unknown");
	else
		(void)str_copy(out->received, sizeof(out->received), rs);
done:
	SPF_response_free(resp);
	SPF_request_free(req);
	SPF_server_free(server);
}
