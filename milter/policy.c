/*
 * policy.c - sesgate-policyd's recipient checks inside the milter. The
 * envelope is put in the form of a policy request so that the policy
 * service's own code (policyd/request.c, policyd/decide.c) reads it and
 * words the answer, and the decision is made by the same Redis script,
 * as a batch of one. The answer is an SMTP reply ("454 4.7.0 ...") or
 * DUNNO.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../policyd/decide.h"
#include "../policyd/request.h"
#include "buf.h"
#include "log.h"
#include "policy.h"
#include "schema.h"
#include "store.h"

/* Run the check of one recipient; 0 and *res (its strings in *reply_out,
   which the caller frees), or -1 with errbuf. */
static int
policy_eval(struct store *st, const struct config *cf,
    const struct schema_argv *args, struct schema_result *res,
    struct store_reply **reply_out, char *errbuf, size_t errlen)
{
	struct schema_argv	 cmd, consts;
	struct store_reply	*r, *e;
	const char		*elems[4];
	int			 bad = 0;

	*reply_out = NULL;
	if (schema_check_consts(cf, &consts) < 0) {
		snprintf(errbuf, errlen, "prefix too long");
		return -1;
	}
	schema_argv_init(&cmd);
	bad |= schema_argv_addf(&cmd, "%d", SCHEMA_CHECK_NKEYS);
	for (int i = 0; i < SCHEMA_CHECK_NKEYS; i++)
		bad |= schema_argv_add(&cmd, args->argv[i], args->len[i]);
	for (int i = 0; i < consts.argc; i++)
		bad |= schema_argv_add(&cmd, consts.argv[i], consts.len[i]);
	for (int i = SCHEMA_CHECK_NKEYS; i < args->argc; i++)
		bad |= schema_argv_add(&cmd, args->argv[i], args->len[i]);
	if (bad) {
		snprintf(errbuf, errlen, "request too large for the script");
		return -1;
	}
	r = store_eval(st, &cmd, errbuf, errlen);
	if (r == NULL)
		return -1;
	*reply_out = r;
	if (r->type == STORE_ERROR) {
		snprintf(errbuf, errlen, "script error: %s", r->str);
		return -1;
	}
	e = r->type == STORE_ARRAY && r->nelem == 1 ? r->elem[0] : NULL;
	if (e == NULL || e->type != STORE_ARRAY || e->nelem > 4) {
		snprintf(errbuf, errlen, "unexpected reply from the script");
		return -1;
	}
	for (size_t i = 0; i < e->nelem; i++) {
		if (e->elem[i]->type != STORE_STRING) {
			snprintf(errbuf, errlen, "unexpected reply from the "
			    "script");
			return -1;
		}
		elems[i] = e->elem[i]->str;
	}
	if (e->nelem == 2 && strcmp(elems[0], "error") == 0) {
		snprintf(errbuf, errlen, "script error: %s", elems[1]);
		return -1;
	}
	if (schema_check_result(e->nelem, elems, res) < 0) {
		snprintf(errbuf, errlen, "unexpected reply from the script");
		return -1;
	}
	return 0;
}

/* An action of the policy service as a verdict: DUNNO goes on, "CODE
   X.Y.Z text" is refused with that reply. */
static void
policy_verdict(const char *action, struct verdict *v)
{
	char rcode[4], xcode[8];
	int n = 0;

	if (strcmp(action, "DUNNO") == 0 ||
	    sscanf(action, "%3[0-9] %7[0-9.] %n", rcode, xcode, &n) != 2 ||
	    n == 0) {
		msg_verdict(v, VERDICT_CONTINUE, "", "", "%s", "");
		return;
	}
	msg_verdict(v, rcode[0] == '4' ? VERDICT_TEMPFAIL : VERDICT_REJECT,
	    rcode, xcode, "%s", action + n);
}

void
policy_rcpt(struct msg *m, const char *client, const char *sender,
    const char *rcpt, struct verdict *v)
{
	const struct config	*cf = m->g->cf;
	struct buf		 text = BUF_INIT;
	struct request		 req;
	struct decision		 d;
	struct schema_argv	 args;
	struct schema_result	 res;
	struct store_reply	*reply = NULL;
	struct store		*st;
	char			 err[512];

	msg_verdict(v, VERDICT_CONTINUE, "", "", "%s", "");
	memset(&req, 0, sizeof(req));
	memset(&d, 0, sizeof(d));
	/* The envelope as Postfix would send it to sesgate-policyd; the
	   MTA's addresses hold no line breaks. */
	buf_printf(&text, "request=smtpd_access_policy\nprotocol_state=RCPT\n"
	    "client_address=%s\nsasl_username=%s\nsender=%s\nrecipient=%s\n"
	    "instance=%s\n\n", client, m->auth, sender, rcpt, m->qid);
	if (request_parse(&req, text.data, text.len, err, sizeof(err)) < 0) {
		buf_free(&text);
		msg_verdict(v, VERDICT_REJECT, "501", "5.5.4", "Bad envelope");
		return;
	}
	buf_free(&text);
	if (!decide_request(cf, &req, &d)) {
		policy_verdict(d.action, v);
		request_free(&req);
		return;
	}
	d.check.msg_rcpts = (long)m->nrcpt;
	if (schema_check_argv(cf, &d.check, &args) < 0) {
		request_free(&req);
		msg_trouble(m, v, "request too large for a Redis key");
		return;
	}
	st = gen_store_get(m->g, err, sizeof(err));
	if (st == NULL || policy_eval(st, cf, &args, &res, &reply, err,
	    sizeof(err)) < 0) {
		char what[600];

		gen_store_put(m->g, &st, true);
		store_reply_free(&reply);
		request_free(&req);
		snprintf(what, sizeof(what), "redis: %s", err);
		msg_trouble(m, v, what);
		return;
	}
	gen_store_put(m->g, &st, false);
	decide_result(cf, &res, &d);
	store_reply_free(&reply);
	request_free(&req);
	log_info(m->qid, "milter: policy: sender=<%s> recipient=<%s> "
	    "decision=%s%s%s", d.sender, d.rcpt, d.why,
	    *d.level != '\0' ? " level=" : "", d.level);
	policy_verdict(d.action, v);
}
