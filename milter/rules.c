/*
 * rules.c - receipt rules on inbound mail (see rules.h). The notify
 * action appends to a Redis stream with XADD, trimmed to about
 * receipt_stream_maxlen entries (MAXLEN ~).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "receipt.h"
#include "rules.h"
#include "schema.h"
#include "store.h"
#include "str.h"

struct rules {
	struct receipt_rule	*r;
	size_t			 n;
};

struct rules_hit {
	bool		 hit;
	struct buf	 rcpts;		/* "a@x,b@y" */
};

struct rules_msg {
	const struct rules	*set;
	struct rules_hit	*hits;		/* one per rule */
	char			**stopped;
	size_t			 nstopped;
	size_t			 naccepted;
};

struct rules *
rules_new(char **lines, char *errbuf, size_t errlen)
{
	struct rules	*set = xcalloc(1, sizeof(*set));
	size_t		 n = 0;

	while (lines != NULL && lines[n] != NULL)
		n++;
	set->r = xcalloc(n + 1, sizeof(*set->r));
	for (size_t i = 0; i < n; i++) {
		char why[256];

		if (receipt_rule_parse(lines[i], &set->r[i], why,
		    sizeof(why)) < 0) {
			snprintf(errbuf, errlen, "receipt_rule %s: %s",
			    lines[i], why);
			rules_free(&set);
			return NULL;
		}
		set->n++;
	}
	return set;
}

size_t
rules_count(const struct rules *set)
{
	return set->n;
}

void
rules_free(struct rules **setp)
{
	struct rules *set = *setp;

	if (set == NULL)
		return;
	*setp = NULL;
	for (size_t i = 0; i < set->n; i++)
		receipt_rule_clear(&set->r[i]);
	free(set->r);
	free(set);
}

struct rules_msg *
rules_msg_new(const struct rules *set)
{
	struct rules_msg *rm = xcalloc(1, sizeof(*rm));

	rm->set = set;
	rm->hits = xcalloc(set->n + 1, sizeof(*rm->hits));
	return rm;
}

void
rules_msg_free(struct rules_msg **rmp)
{
	struct rules_msg *rm = *rmp;

	if (rm == NULL)
		return;
	*rmp = NULL;
	for (size_t i = 0; i < rm->set->n; i++)
		buf_free(&rm->hits[i].rcpts);
	for (size_t i = 0; i < rm->nstopped; i++)
		free(rm->stopped[i]);
	free(rm->stopped);
	free(rm->hits);
	free(rm);
}

/* The address without angle brackets, for the notify entry. */
static void
rules_bare(const char *rcpt, struct buf *out)
{
	size_t n = strlen(rcpt);

	if (n >= 2 && rcpt[0] == '<' && rcpt[n - 1] == '>')
		buf_append(out, rcpt + 1, n - 2);
	else
		buf_puts(out, rcpt);
}

void
rules_rcpt(struct rules_msg *rm, const char *rcpt, struct verdict *v)
{
	const struct rules	*set = rm->set;
	size_t			*took = xcalloc(set->n + 1, sizeof(*took));
	size_t			 ntook = 0;
	bool			 stopped = false;

	msg_verdict(v, VERDICT_CONTINUE, "", "", "%s", "");
	for (size_t i = 0; i < set->n && !stopped; i++) {
		const struct receipt_rule *r = &set->r[i];
		bool matched_here = false;

		if (!receipt_rule_matches(r, rcpt))
			continue;
		for (size_t k = 0; k < r->nact && !stopped; k++) {
			const struct receipt_action *a = &r->act[k];

			switch (a->type) {
			case RECEIPT_BOUNCE:
				/* Refused: nothing of the rules applies to
				   this recipient. */
				msg_verdict(v, a->rcode[0] == '4' ?
				    VERDICT_TEMPFAIL : VERDICT_REJECT,
				    a->rcode, a->xcode, "%s", a->text);
				free(took);
				return;
			case RECEIPT_STOP:
				stopped = true;
				break;
			case RECEIPT_ADD_HEADER:
			case RECEIPT_NOTIFY:
				if (!matched_here)
					took[ntook++] = i;
				matched_here = true;
				break;
			}
		}
	}
	for (size_t k = 0; k < ntook; k++) {
		struct rules_hit *h = &rm->hits[took[k]];

		if (h->hit)
			buf_puts(&h->rcpts, ",");
		rules_bare(rcpt, &h->rcpts);
		h->hit = true;
	}
	free(took);
	rm->naccepted++;
	if (stopped) {
		rm->stopped = xrealloc(rm->stopped, (rm->nstopped + 1) *
		    sizeof(*rm->stopped));
		rm->stopped[rm->nstopped++] = xstrdup(rcpt);
	}
}

void
rules_headers(const struct rules_msg *rm,
    void (*add)(void *, const char *, const char *), void *arg)
{
	for (size_t i = 0; i < rm->set->n; i++) {
		const struct receipt_rule *r = &rm->set->r[i];

		if (!rm->hits[i].hit)
			continue;
		for (size_t k = 0; k < r->nact; k++)
			if (r->act[k].type == RECEIPT_ADD_HEADER)
				add(arg, r->act[k].name, r->act[k].text);
	}
}

bool
rules_notifies(const struct rules_msg *rm)
{
	for (size_t i = 0; i < rm->set->n; i++) {
		const struct receipt_rule *r = &rm->set->r[i];

		for (size_t k = 0; rm->hits[i].hit && k < r->nact; k++)
			if (r->act[k].type == RECEIPT_NOTIFY)
				return true;
	}
	return false;
}

/* XADD KEY MAXLEN ~ N * rule NAME recipients LIST field value ... */
static int
rules_xadd(struct store *st, const char *prefix, long long maxlen,
    const char *stream, const char *rule, const char *rcpts,
    const struct rules_field *fields, size_t n, char *errbuf,
    size_t errlen)
{
	struct schema_argv	 cmd;
	struct store_reply	*r;
	char			 key[SCHEMA_KEY_MAX];
	int			 bad = 0;

	if (schema_key(key, sizeof(key), prefix, SCHEMA_RECEIPT,
	    SCHEMA_ACCOUNT, stream) < 0) {
		(void)str_copy(errbuf, errlen, "stream key too long");
		return -1;
	}
	schema_argv_init(&cmd);
	bad |= schema_argv_add(&cmd, "XADD", 4);
	bad |= schema_argv_add(&cmd, key, strlen(key));
	bad |= schema_argv_add(&cmd, "MAXLEN", 6);
	bad |= schema_argv_add(&cmd, "~", 1);
	bad |= schema_argv_addf(&cmd, "%lld", maxlen);
	bad |= schema_argv_add(&cmd, "*", 1);
	bad |= schema_argv_add(&cmd, "rule", 4);
	bad |= schema_argv_add(&cmd, rule, strlen(rule));
	bad |= schema_argv_add(&cmd, "recipients", 10);
	bad |= schema_argv_add(&cmd, rcpts, strlen(rcpts));
	for (size_t i = 0; i < n; i++) {
		bad |= schema_argv_add(&cmd, fields[i].name,
		    strlen(fields[i].name));
		bad |= schema_argv_add(&cmd, fields[i].value,
		    strlen(fields[i].value));
	}
	if (bad) {
		(void)str_copy(errbuf, errlen, "notify entry too long");
		return -1;
	}
	r = store_command(st, &cmd, errbuf, errlen);
	if (r == NULL)
		return -1;
	if (r->type == STORE_ERROR) {
		snprintf(errbuf, errlen, "XADD %s: %s", key, r->str);
		store_reply_free(&r);
		return -1;
	}
	store_reply_free(&r);
	return 0;
}

int
rules_notify(const struct rules_msg *rm, struct store *st,
    const char *prefix, long long maxlen, const struct rules_field *fields,
    size_t n, char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < rm->set->n; i++) {
		const struct receipt_rule *r = &rm->set->r[i];

		if (!rm->hits[i].hit)
			continue;
		for (size_t k = 0; k < r->nact; k++)
			if (r->act[k].type == RECEIPT_NOTIFY &&
			    rules_xadd(st, prefix, maxlen, r->act[k].name,
			    r->name, rm->hits[i].rcpts.data, fields, n,
			    errbuf, errlen) < 0)
				return -1;
	}
	return 0;
}

size_t
rules_stopped(const struct rules_msg *rm, char *const **list_out)
{
	*list_out = rm->stopped;
	return rm->nstopped;
}

bool
rules_all_stopped(const struct rules_msg *rm)
{
	return rm->naccepted > 0 && rm->nstopped == rm->naccepted;
}
