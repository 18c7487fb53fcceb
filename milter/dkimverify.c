/*
 * dkimverify.c - DKIM verification with libopendkim. A dkimverify_lib owns
 * one DKIM_LIB whose DNS callbacks ask the milter's resolver: the query
 * is made, with its time limit, when libopendkim starts it, and the
 * answer packet is handed over when it waits for it. The library is
 * never written after it is built, so any number of threads verify with
 * it; a dkimverify holds the handle of one message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "buf.h"
#include "dkimverify.h"
#include "hdrfield.h"
#include "log.h"
#include "mem.h"
#include "str.h"

struct dkimverify_lib {
	DKIM_LIB	*lib;
};

struct dkimverify {
	DKIM		*dkim;
	bool		 nosig;		/* none in the header */
	struct buf	 hdr;
	char		 qid[64];
};

/* One key query: made at once, its answer kept until libopendkim asks. */
struct dkimverify_query {
	bool	 failed;
	size_t	 len;
};

static int
dkimverify_dns_start(void *srv, int type, unsigned char *query,
    unsigned char *buf, size_t buflen, void **qh)
{
	struct dkimverify_query	*q = xcalloc(1, sizeof(*q));
	struct resolver_answer	*a;
	char			 err[256];

	if (resolver_query(srv, (const char *)query, type, &a, err,
	    sizeof(err)) < 0 || a->packet == NULL) {
		if (a == NULL)
			LOG_DEBUGF(NULL, "dkimverify: %s: %s", query, err);
		q->failed = true;
	} else {
		/* A longer answer would be cut; libopendkim then finds it
		   corrupt, a temporary error. */
		q->len = a->packetlen < buflen ? a->packetlen : buflen;
		memcpy(buf, a->packet, q->len);
	}
	resolver_answer_free(&a);
	*qh = q;
	return DKIM_DNS_SUCCESS;
}

static int
dkimverify_dns_wait(void *srv, void *qh, struct timeval *to, size_t *bytes,
    int *error, int *dnssec)
{
	struct dkimverify_query *q = qh;

	(void)srv;
	(void)to;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	if (q->failed) {
		if (error != NULL)
			*error = 0;
		return DKIM_DNS_ERROR;
	}
	*bytes = q->len;
	return DKIM_DNS_SUCCESS;
}

/* libopendkim calls this after every query, answered or not. */
static int
dkimverify_dns_cancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return DKIM_DNS_SUCCESS;
}

/* Only the first DKIMVERIFY_MAX_SIGS signatures are verified: each
   costs a key lookup and a hash of the message, and a message may carry
   any number (RFC 6376 section 6.1 lets a verifier limit them). */
static DKIM_CBSTAT
dkimverify_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	(void)dkim;
	for (int i = DKIMVERIFY_MAX_SIGS; i < nsigs; i++)
		dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* The resolver is ours to set up and shut down; libopendkim's defaults
   would treat it as a res_state. */
static int
dkimverify_dns_init(void **srv)
{
	(void)srv;
	return 0;
}

static void
dkimverify_dns_close(void *srv)
{
	(void)srv;
}

struct dkimverify_lib *
dkimverify_lib_new(struct resolver *r, char *errbuf, size_t errlen)
{
	struct dkimverify_lib	*l = xcalloc(1, sizeof(*l));
	/* FIXCRLF: Postfix folds header values with bare LF.
	   BADSIGHANDLES: a signature that does not parse is reported too,
	   not dropped. */
	unsigned int		 flags = DKIM_LIBFLAGS_FIXCRLF |
	    DKIM_LIBFLAGS_BADSIGHANDLES;

	l->lib = dkim_init(NULL, NULL);
	if (l->lib == NULL ||
	    dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK) {
		(void)str_copy(errbuf, errlen, "libopendkim: cannot set up "
		    "the verifier");
		dkimverify_lib_free(&l);
		return NULL;
	}
	(void)dkim_set_prescreen(l->lib, dkimverify_prescreen);
	dkim_dns_set_init(l->lib, dkimverify_dns_init);
	dkim_dns_set_close(l->lib, dkimverify_dns_close);
	(void)dkim_dns_set_query_service(l->lib, r);
	dkim_dns_set_query_start(l->lib, dkimverify_dns_start);
	dkim_dns_set_query_waitreply(l->lib, dkimverify_dns_wait);
	dkim_dns_set_query_cancel(l->lib, dkimverify_dns_cancel);
	return l;
}

void
dkimverify_lib_free(struct dkimverify_lib **lp)
{
	struct dkimverify_lib *l = *lp;

	if (l == NULL)
		return;
	*lp = NULL;
	if (l->lib != NULL)
		dkim_close(l->lib);
	free(l);
}

struct dkimverify *
dkimverify_new(struct dkimverify_lib *l, const char *qid, char *errbuf,
    size_t errlen)
{
	struct dkimverify	*v = xcalloc(1, sizeof(*v));
	DKIM_STAT		 st;

	(void)str_copy(v->qid, sizeof(v->qid), qid);
	v->dkim = dkim_verify(l->lib, (const unsigned char *)v->qid, NULL,
	    &st);
	if (v->dkim == NULL) {
		snprintf(errbuf, errlen, "libopendkim: %s",
		    dkim_getresultstr(st));
		free(v);
		return NULL;
	}
	return v;
}

void
dkimverify_header(struct dkimverify *v, const char *name, const char *value,
    bool lead_space)
{
	hdrfield_build(&v->hdr, name, value, lead_space);
	if (dkim_header(v->dkim, (u_char *)v->hdr.data, v->hdr.len) !=
	    DKIM_STAT_OK)
		LOG_DEBUGF(v->qid, "dkimverify: header %s: %s", name,
		    dkim_geterror(v->dkim));
}

void
dkimverify_eoh(struct dkimverify *v)
{
	DKIM_STAT st = dkim_eoh(v->dkim);

	if (st == DKIM_STAT_NOSIG)
		v->nosig = true;
	else if (st != DKIM_STAT_OK)
		LOG_DEBUGF(v->qid, "dkimverify: end of header: %s",
		    dkim_getresultstr(st));
}

void
dkimverify_body(struct dkimverify *v, const unsigned char *p, size_t n)
{
	if (v->nosig)
		return;
	/* A failure here shows in each signature's verdict at the end. */
	(void)dkim_body(v->dkim, (u_char *)p, n);
}

/* Whether SELECTOR._domainkey.DOMAIN can be asked for at all. */
static bool
dkimverify_name_ok(const char *s, const char *d)
{
	char name[600];

	return str_fmt(name, sizeof(name), "%s._domainkey.%s", s, d) == 0 &&
	    resolver_name_ok(name);
}

/* RFC 8601 section 2.7.1's result, and why, for one signature. */
static void
dkimverify_verdict(DKIM_SIGINFO *sig, struct authres_dkim *out)
{
	unsigned int	flags = dkim_sig_getflags(sig);
	int		err = dkim_sig_geterror(sig);
	int		bh = dkim_sig_getbh(sig);

	out->reason = NULL;
	/* libopendkim reports a body that no longer matches bh= as a bad
	   signature too; the body hash says which part changed. */
	if (bh == DKIM_SIGBH_MISMATCH &&
	    (err == DKIM_SIGERROR_OK || err == DKIM_SIGERROR_BADSIG)) {
		out->result = AUTH_FAIL;
		out->reason = "body hash mismatch";
		return;
	}
	switch (err) {
	case DKIM_SIGERROR_OK:
		if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH) {
			out->result = AUTH_PASS;
		} else {
			out->result = AUTH_NEUTRAL;
			out->reason = "not checked";
		}
		return;
	case DKIM_SIGERROR_BADSIG:
		out->result = AUTH_FAIL;
		out->reason = "signature mismatch";
		return;
	case DKIM_SIGERROR_EXPIRED:
		out->result = AUTH_NEUTRAL;
		out->reason = "signature expired";
		return;
	case DKIM_SIGERROR_NOKEY:
		out->result = AUTH_PERMERROR;
		out->reason = "no key";
		return;
	case DKIM_SIGERROR_KEYREVOKED:
		out->result = AUTH_PERMERROR;
		out->reason = "key revoked";
		return;
	case DKIM_SIGERROR_KEYFAIL:
		/* A name DNS cannot carry has no key; anything else is a
		   lookup that failed. */
		if (!dkimverify_name_ok(out->s, out->d)) {
			out->result = AUTH_PERMERROR;
			out->reason = "no key";
		} else {
			out->result = AUTH_TEMPERROR;
			out->reason = "key lookup failed";
		}
		return;
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_MULTIREPLY:
	case DKIM_SIGERROR_KEYVERSION:
	case DKIM_SIGERROR_KEYUNKNOWNHASH:
	case DKIM_SIGERROR_KEYHASHMISMATCH:
	case DKIM_SIGERROR_NOTEMAILKEY:
	case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
	case DKIM_SIGERROR_KEYDECODE:
	case DKIM_SIGERROR_KEYTOOSMALL:
		out->result = AUTH_PERMERROR;
		out->reason = "bad key";
		return;
	default:
		out->result = AUTH_NEUTRAL;
		out->reason = "bad signature";
		return;
	}
}

static void
dkimverify_tag(DKIM_SIGINFO *sig, const char *tag, char *out, size_t outlen,
    size_t max)
{
	const u_char	*v = dkim_sig_gettagvalue(sig, false, (u_char *)tag);
	size_t		 o = 0;

	out[0] = '\0';
	if (v == NULL)
		return;
	/* Folding white space inside a tag value (b=) is not part of it. */
	for (; *v != '\0' && o + 1 < outlen && o < max; v++)
		if (*v > ' ' && *v < 127)
			out[o++] = (char)*v;
	out[o] = '\0';
}

size_t
dkimverify_eom(struct dkimverify *v, struct authres_dkim *out, size_t max)
{
	DKIM_SIGINFO	**sigs = NULL;
	int		  nsigs = 0;
	size_t		  n = 0;

	if (v->nosig)
		return 0;
	(void)dkim_eom(v->dkim, NULL);
	if (dkim_getsiglist(v->dkim, &sigs, &nsigs) != DKIM_STAT_OK)
		return 0;
	for (int i = 0; i < nsigs && n < max && n < DKIMVERIFY_MAX_SIGS;
	    i++, n++) {
		struct authres_dkim *o = &out[n];

		memset(o, 0, sizeof(*o));
		dkimverify_tag(sigs[i], "d", o->d, sizeof(o->d), 255);
		str_lower(o->d);
		dkimverify_tag(sigs[i], "s", o->s, sizeof(o->s), 127);
		dkimverify_tag(sigs[i], "a", o->a, sizeof(o->a), 31);
		/* RFC 6008 section 2: the first 8 characters of b=. */
		dkimverify_tag(sigs[i], "b", o->b, sizeof(o->b), 8);
		dkimverify_verdict(sigs[i], o);
	}
	return n;
}

void
dkimverify_free(struct dkimverify **vp)
{
	struct dkimverify *v = *vp;

	if (v == NULL)
		return;
	*vp = NULL;
	if (v->dkim != NULL)
		dkim_free(v->dkim);
	buf_free(&v->hdr);
	free(v);
}
