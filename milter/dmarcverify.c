/*
 * dmarcverify.c - DMARC with libopendmarc. libopendmarc would look the
 * record up itself with the system resolver; we look it up through ours
 * (RFC 7489 section 6.6.3: the From domain, then its organizational
 * domain) and hand it over with opendmarc_policy_store_dmarc(). The
 * public suffix list is global to libopendmarc: loaded once, read-only
 * after. A policy context is made per message, so any thread may check.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendmarc/dmarc.h>

#include "dmarcverify.h"
#include "log.h"
#include "str.h"

/* Exported by libopendmarc, though its header does not declare it: the
   organizational domain of a domain by the loaded suffix list. */
int	opendmarc_get_tld(u_char *domain, u_char *buf, size_t buflen);

static pthread_mutex_t	 dmarcverify_lock = PTHREAD_MUTEX_INITIALIZER;
static char		*dmarcverify_psl;

int
dmarcverify_init(const char *path, char *errbuf, size_t errlen)
{
	OPENDMARC_LIB_T	lib;
	FILE		*fp;
	int		 rc = 0;

	pthread_mutex_lock(&dmarcverify_lock);
	if (dmarcverify_psl != NULL) {
		if (strcmp(dmarcverify_psl, path) != 0) {
			snprintf(errbuf, errlen, "public_suffix_list: %s: a "
			    "new list takes a restart (%s is loaded)", path,
			    dmarcverify_psl);
			rc = -1;
		}
		goto out;
	}
	/* libopendmarc does not say when the file cannot be read. */
	fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(errbuf, errlen, "public_suffix_list: %s: %m", path);
		rc = -1;
		goto out;
	}
	fclose(fp);
	memset(&lib, 0, sizeof(lib));
	lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	if (str_copy((char *)lib.tld_source_file,
	    sizeof(lib.tld_source_file), path) < 0 ||
	    opendmarc_policy_library_init(&lib) != DMARC_PARSE_OKAY) {
		snprintf(errbuf, errlen, "public_suffix_list: %s: "
		    "libopendmarc cannot load it", path);
		rc = -1;
		goto out;
	}
	dmarcverify_psl = strdup(path);
	if (dmarcverify_psl == NULL)
		rc = -1;
out:
	pthread_mutex_unlock(&dmarcverify_lock);
	return rc;
}

/* The one DMARC record at _dmarc.DOMAIN (section 6.6.3: records not
   starting with v=DMARC1 are dropped; more than one counts as none).
   1 and *record_out (caller frees), 0 none, -1 DNS failure. */
static int
dmarcverify_lookup(struct resolver *r, const char *domain,
    char **record_out)
{
	struct resolver_answer	*a;
	char			 name[300], err[256];
	int			 rc, found = 0;

	*record_out = NULL;
	if (str_fmt(name, sizeof(name), "_dmarc.%s", domain) < 0)
		return 0;
	rc = resolver_query(r, name, 16 /* TXT */, &a, err, sizeof(err));
	if (rc < 0) {
		LOG_DEBUGF(NULL, "dmarcverify: %s: %s", name, err);
		return -1;
	}
	for (size_t i = 0; i < a->n; i++) {
		char *txt = resolver_txt(a->rr[i], a->rrlen[i]);

		if (txt == NULL || strncmp(txt, "v=DMARC1", 8) != 0 ||
		    (txt[8] != ';' && txt[8] != ' ' && txt[8] != '\t' &&
		    txt[8] != '\0')) {
			free(txt);
			continue;
		}
		found++;
		free(*record_out);
		*record_out = txt;
	}
	resolver_answer_free(&a);
	if (found != 1) {
		free(*record_out);
		*record_out = NULL;
		return 0;
	}
	return 1;
}

static int
dmarcverify_spf_outcome(enum auth_result r)
{
	switch (r) {
	case AUTH_PASS:
		return DMARC_POLICY_SPF_OUTCOME_PASS;
	case AUTH_NONE:
		return DMARC_POLICY_SPF_OUTCOME_NONE;
	case AUTH_TEMPERROR:
		return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	default:
		return DMARC_POLICY_SPF_OUTCOME_FAIL;
	}
}

static int
dmarcverify_dkim_outcome(enum auth_result r)
{
	switch (r) {
	case AUTH_PASS:
		return DMARC_POLICY_DKIM_OUTCOME_PASS;
	case AUTH_TEMPERROR:
		return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	default:
		return DMARC_POLICY_DKIM_OUTCOME_FAIL;
	}
}

static enum authres_disposition
dmarcverify_policy(int p)
{
	switch (p) {
	case DMARC_RECORD_P_REJECT:
		return DISP_REJECT;
	case DMARC_RECORD_P_QUARANTINE:
		return DISP_QUARANTINE;
	default:
		return DISP_NONE;
	}
}

/* Hand the record and the verdicts to libopendmarc; its answer in out.
   org is the organizational domain the record came from, or NULL. */
static void
dmarcverify_evaluate(const char *ip, const char *from, const char *org,
    char *record, const struct authres_spf *spf,
    const struct authres_dkim *dkim, size_t n, struct authres_dmarc *out)
{
	DMARC_POLICY_T	*pctx;
	int		 p = 0, sp = 0, pct = 100;

	pctx = opendmarc_policy_connect_init((u_char *)ip,
	    strchr(ip, ':') != NULL);
	if (pctx == NULL) {
		out->result = AUTH_TEMPERROR;
		return;
	}
	(void)opendmarc_policy_store_from_domain(pctx, (u_char *)from);
	if (spf->domain[0] != '\0')
		(void)opendmarc_policy_store_spf(pctx, (u_char *)spf->domain,
		    dmarcverify_spf_outcome(spf->result), spf->helo ?
		    DMARC_POLICY_SPF_ORIGIN_HELO :
		    DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	for (size_t i = 0; i < n; i++)
		if (dkim[i].d[0] != '\0')
			(void)opendmarc_policy_store_dkim(pctx,
			    (u_char *)dkim[i].d, (u_char *)dkim[i].s,
			    dmarcverify_dkim_outcome(dkim[i].result), NULL);
	if (opendmarc_policy_store_dmarc(pctx, (u_char *)record,
	    (u_char *)from, (u_char *)org) != DMARC_PARSE_OKAY) {
		out->result = AUTH_PERMERROR;
		goto done;
	}
	(void)opendmarc_policy_fetch_p(pctx, &p);
	(void)opendmarc_policy_fetch_sp(pctx, &sp);
	(void)opendmarc_policy_fetch_pct(pctx, &pct);
	/* Section 6.6.3: sp= is for a subdomain whose policy came from its
	   organizational domain; without sp=, p= applies. */
	out->policy = dmarcverify_policy(org != NULL &&
	    sp != DMARC_RECORD_P_UNSPECIFIED ? sp : p);
	out->result = opendmarc_get_policy_to_enforce(pctx) ==
	    DMARC_POLICY_PASS ? AUTH_PASS : AUTH_FAIL;
	out->dis = out->result == AUTH_PASS ? DISP_NONE : out->policy;
	/* Section 6.6.4: a message outside the pct= sample gets the next
	   less strict policy. */
	if (out->dis != DISP_NONE && pct >= 0 && pct < 100 &&
	    (int)arc4random_uniform(100) >= pct)
		out->dis = out->dis == DISP_REJECT ? DISP_QUARANTINE :
		    DISP_NONE;
done:
	(void)opendmarc_policy_connect_shutdown(pctx);
}

/* The organizational domain of `domain` (RFC 7489 section 3.2): by the
   public suffix list, whose default rule "*" makes the last label the
   suffix of a name the list does not know (libopendmarc then has no
   answer). False when the name has no registered domain. */
static bool
dmarcverify_org(const char *domain, char *out, size_t outlen)
{
	const char *p;

	out[0] = '\0';
	if (opendmarc_get_tld((u_char *)domain, (u_char *)out, outlen) == 0 &&
	    out[0] != '\0')
		return true;
	p = strrchr(domain, '.');
	if (p == NULL || p == domain)
		return false;
	while (p > domain && p[-1] != '.')
		p--;
	return str_copy(out, outlen, p) == 0;
}

void
dmarcverify_check(struct resolver *r, const char *ip, const char *from,
    const struct authres_spf *spf, const struct authres_dkim *dkim,
    size_t n, struct authres_dmarc *out)
{
	char	*record = NULL;
	char	 org[256];
	int	 rc;

	memset(out, 0, sizeof(*out));
	out->result = AUTH_NONE;
	if (*from == '\0') {
		out->result = AUTH_PERMERROR;
		return;
	}
	(void)str_copy(out->from, sizeof(out->from), from);
	rc = dmarcverify_lookup(r, from, &record);
	if (rc == 0 && dmarcverify_org(from, org, sizeof(org)) &&
	    strcasecmp(org, from) != 0)
		rc = dmarcverify_lookup(r, org, &record);
	else
		org[0] = '\0';
	if (rc < 0) {
		out->result = AUTH_TEMPERROR;
		return;
	}
	if (rc == 0)
		return;
	dmarcverify_evaluate(ip, from, org[0] != '\0' ? org : NULL,
	    record, spf, dkim, n, out);
	free(record);
}
