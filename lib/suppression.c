/*
 * suppression.c - the suppression list in Redis: write, remove, read and
 * list entries (a hash per address or hash, plus the index ZSET), with
 * the script ops "suppress"/"unsuppress" keeping the two together and
 * listing cleaning index members whose hash has expired. Commands go
 * through the helpers of admin.c. No state of its own; use one struct
 * store per thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "mem.h"
#include "str.h"
#include "suppression.h"

/* Suppression entries kept from feedback can carry a long diagnostic;
   it is cut here so that one entry always fits in one command. */
#define SUPPRESSION_FIELD_MAX	1000
/* Index members fetched per ZRANGEBYSCORE while listing. */
#define SUPPRESSION_LIST_BATCH	500

bool
suppression_reason_parse(const char *reason, const char **canon_out)
{
	if (reason == NULL)
		return false;
	if (str_ieq(reason, "BOUNCE"))
		*canon_out = "BOUNCE";
	else if (str_ieq(reason, "COMPLAINT"))
		*canon_out = "COMPLAINT";
	else
		return false;
	return true;
}

int
suppression_member(struct store *st, const char *addr, char *out,
    size_t outlen, char *errbuf, size_t errlen)
{
	const char	*hkey = store_config(st)->suppression_hash_key;
	char		 norm[ADDR_BUFSZ];

	if (addr == NULL)
		addr = "";
	if (*hkey != '\0' && strlen(addr) == 64) {
		(void)str_copy(norm, sizeof(norm), addr);
		str_lower(norm);
		if (addr_is_hash(norm))
			return str_copy(out, outlen, norm) == 0 ? 0 :
			    ADMIN_EINPUT;
	}
	if (addr_normalise(addr, norm, sizeof(norm)) < 0) {
		snprintf(errbuf, errlen, "\"%s\" is not an e-mail address "
		    "(want local@domain, without control characters, at most "
		    "%d characters)", ADMIN_QUOTE(addr), ADDR_MAX);
		return ADMIN_EINPUT;
	}
	schema_suppression_id(hkey, norm, out, outlen);
	return 0;
}

/* Append a field/value pair to a suppress command; a too long value is
   cut (on a UTF-8 character boundary). */
static int
suppression_add_pair(struct schema_argv *cmd, const char *name,
    const char *value)
{
	size_t n;

	if (value == NULL)
		value = "";
	n = strlen(value);
	if (n > SUPPRESSION_FIELD_MAX) {
		n = SUPPRESSION_FIELD_MAX;
		while (n > 0 && ((unsigned char)value[n] & 0xc0) == 0x80)
			n--;
	}
	if (schema_argv_add(cmd, name, strlen(name)) < 0)
		return -1;
	return schema_argv_add(cmd, value, n);
}

/* Start the script call of `op` ("suppress", "unsuppress") on member:
   numkeys, the entry and index keys, op, member. 0, or -1/ADMIN_EINPUT
   with errbuf. */
static int
suppression_cmd(struct store *st, const char *op, const char *member,
    struct schema_argv *cmd, char *errbuf, size_t errlen)
{
	char	hkey[SCHEMA_KEY_MAX], ikey[SCHEMA_KEY_MAX];
	int	rc, bad = 0;

	if ((rc = admin_key(st, hkey, sizeof(hkey), SCHEMA_SUPPRESSION,
	    SCHEMA_ACCOUNT, member, errbuf, errlen)) < 0 ||
	    (rc = admin_key(st, ikey, sizeof(ikey),
	    SCHEMA_SUPPRESSION_INDEX, SCHEMA_ACCOUNT, NULL, errbuf,
	    errlen)) < 0)
		return rc;
	schema_argv_init(cmd);
	bad |= schema_argv_add(cmd, "2", 1);
	bad |= schema_argv_add(cmd, hkey, strlen(hkey));
	bad |= schema_argv_add(cmd, ikey, strlen(ikey));
	bad |= schema_argv_add(cmd, op, strlen(op));
	bad |= schema_argv_add(cmd, member, strlen(member));
	if (bad) {
		snprintf(errbuf, errlen, "address too long");
		return ADMIN_EINPUT;
	}
	return 0;
}

int
suppression_add(struct store *st, const struct suppression_in *in,
    char *errbuf, size_t errlen)
{
	static const char *const sources[] = { "feedback", "import", "admin" };
	char			 member[ADDR_BUFSZ];
	const char		*reason;
	long long		 now = (long long)time(NULL);
	long long		 t = in->time > 0 ? in->time : now;
	struct schema_argv	 cmd;
	struct store_reply	*r;
	bool			 source_ok = false;
	int			 rc, bad = 0;

	if ((rc = suppression_member(st, in->addr, member,
	    sizeof(member), errbuf, errlen)) < 0)
		return rc;
	if (!suppression_reason_parse(in->reason, &reason)) {
		snprintf(errbuf, errlen, "reason \"%s\": want BOUNCE or "
		    "COMPLAINT", ADMIN_QUOTE(in->reason));
		return ADMIN_EINPUT;
	}
	for (size_t i = 0; i < 3; i++)
		if (in->source != NULL && strcmp(in->source, sources[i]) == 0)
			source_ok = true;
	if (!source_ok) {
		snprintf(errbuf, errlen, "source \"%s\": want feedback, import "
		    "or admin", ADMIN_QUOTE(in->source));
		return ADMIN_EINPUT;
	}
	if (in->expires < 0 || (in->expires > 0 && in->expires <= now)) {
		snprintf(errbuf, errlen, "expiry time %lld is not in the "
		    "future", in->expires);
		return ADMIN_EINPUT;
	}
	if ((rc = suppression_cmd(st, "suppress", member, &cmd, errbuf,
	    errlen)) < 0)
		return rc;
	bad |= schema_argv_addf(&cmd, "%lld", t);
	bad |= schema_argv_addf(&cmd, "%lld", in->expires);
	bad |= suppression_add_pair(&cmd, "reason", reason);
	bad |= suppression_add_pair(&cmd, "source", in->source);
	bad |= suppression_add_pair(&cmd, "bounce_type", in->bounce_type);
	bad |= suppression_add_pair(&cmd, "bounce_subtype", in->bounce_subtype);
	bad |= suppression_add_pair(&cmd, "feedback_type", in->feedback_type);
	bad |= suppression_add_pair(&cmd, "diagnostic", in->diagnostic);
	bad |= suppression_add_pair(&cmd, "feedback_id", in->feedback_id);
	bad |= suppression_add_pair(&cmd, "message_id", in->message_id);
	if (bad) {
		snprintf(errbuf, errlen, "suppression entry too long");
		return ADMIN_EINPUT;
	}
	r = admin_eval(st, &cmd, errbuf, errlen);
	return admin_int_reply(r, errbuf, errlen) < 0 ? -1 : 0;
}

int
suppression_remove(struct store *st, const char *addr, char *errbuf,
    size_t errlen)
{
	char			 member[ADDR_BUFSZ];
	struct schema_argv	 cmd;
	int			 rc;
	long long		 n;

	if ((rc = suppression_member(st, addr, member, sizeof(member),
	    errbuf, errlen)) < 0)
		return rc;
	if ((rc = suppression_cmd(st, "unsuppress", member, &cmd, errbuf,
	    errlen)) < 0)
		return rc;
	n = admin_int_reply(admin_eval(st, &cmd, errbuf, errlen), errbuf,
	    errlen);
	return n < 0 ? -1 : n > 0 ? 1 : 0;
}

void
suppression_entry_clear(struct suppression_entry *e)
{
	free(e->member);
	free(e->reason);
	free(e->source);
	free(e->bounce_type);
	free(e->bounce_subtype);
	free(e->feedback_type);
	free(e->diagnostic);
	free(e->feedback_id);
	free(e->message_id);
	memset(e, 0, sizeof(*e));
}

/* Fill e from a HGETALL reply of member's hash. 1, or 0 when the hash is
   gone. */
static int
suppression_entry_fill(const char *member, const struct store_reply *r,
    struct suppression_entry *e)
{
	struct {
		const char	*name;
		char		**field;
	} fields[] = {
		{ "reason", &e->reason }, { "source", &e->source },
		{ "bounce_type", &e->bounce_type },
		{ "bounce_subtype", &e->bounce_subtype },
		{ "feedback_type", &e->feedback_type },
		{ "diagnostic", &e->diagnostic },
		{ "feedback_id", &e->feedback_id },
		{ "message_id", &e->message_id },
	};
	const size_t nfields = sizeof(fields) / sizeof(fields[0]);

	memset(e, 0, sizeof(*e));
	if (r->type != STORE_ARRAY || r->nelem < 2)
		return 0;
	e->member = xstrdup(member);
	for (size_t i = 0; i + 1 < r->nelem; i += 2) {
		const char	*k = r->elem[i]->str;
		const char	*v = r->elem[i + 1]->str;

		if (k == NULL || v == NULL)
			continue;
		if (strcmp(k, "time") == 0)
			(void)str_to_ll(v, 0, (long long)1 << 40, &e->time);
		else if (strcmp(k, "expires") == 0)
			(void)str_to_ll(v, 0, (long long)1 << 40, &e->expires);
		for (size_t j = 0; j < nfields; j++)
			if (strcmp(k, fields[j].name) == 0 &&
			    *fields[j].field == NULL)
				*fields[j].field = xstrdup(v);
	}
	for (size_t j = 0; j < nfields; j++)
		if (*fields[j].field == NULL)
			*fields[j].field = xstrdup("");
	return 1;
}

int
suppression_get(struct store *st, const char *addr,
    struct suppression_entry *out, char *errbuf, size_t errlen)
{
	char			 member[ADDR_BUFSZ], key[SCHEMA_KEY_MAX];
	struct store_reply	*r;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if ((rc = suppression_member(st, addr, member, sizeof(member),
	    errbuf, errlen)) < 0)
		return rc;
	if ((rc = admin_key(st, key, sizeof(key), SCHEMA_SUPPRESSION,
	    SCHEMA_ACCOUNT, member, errbuf, errlen)) < 0)
		return rc;
	if ((r = admin_cmd(st, errbuf, errlen, 2, "HGETALL", key)) == NULL)
		return -1;
	rc = suppression_entry_fill(member, r, out);
	store_reply_free(&r);
	return rc;
}

/* Drop index members whose hash is gone. Each is checked again just
   before, so that an entry written meanwhile keeps its place.
   XXX: check and ZREM are two commands; a script op "prune" would make
   this atomic. */
static int
suppression_prune(struct store *st, const char *ikey, char **stale, size_t n,
    size_t *removed_out, char *errbuf, size_t errlen)
{
	char key[SCHEMA_KEY_MAX];

	for (size_t i = 0; i < n; i++) {
		long long e;

		if (admin_key(st, key, sizeof(key), SCHEMA_SUPPRESSION,
		    SCHEMA_ACCOUNT, stale[i], errbuf, errlen) < 0)
			continue;
		e = admin_int_reply(admin_cmd(st, errbuf, errlen, 2, "EXISTS",
		    key), errbuf, errlen);
		if (e < 0)
			return -1;
		if (e > 0)
			continue;
		e = admin_int_reply(admin_cmd(st, errbuf, errlen, 3, "ZREM",
		    ikey, stale[i]), errbuf, errlen);
		if (e < 0)
			return -1;
		*removed_out += (size_t)e;
	}
	return 0;
}

int
suppression_list(struct store *st,
    const struct suppression_filter *f,
    int (*fn)(const struct suppression_entry *, void *), void *arg,
    size_t *stale_out, char *errbuf, size_t errlen)
{
	char			 ikey[SCHEMA_KEY_MAX], key[SCHEMA_KEY_MAX];
	char			 min[32], max[32], off[32], cnt[32];
	char			**stale = NULL;
	size_t			 nstale = 0, removed = 0;
	long long		 offset = 0;
	int			 rc = 0;

	if (admin_key(st, ikey, sizeof(ikey), SCHEMA_SUPPRESSION_INDEX,
	    SCHEMA_ACCOUNT, NULL, errbuf, errlen) < 0)
		return -1;
	if (f->since > 0)
		snprintf(min, sizeof(min), "%lld", f->since);
	else
		snprintf(min, sizeof(min), "-inf");
	if (f->until > 0)
		snprintf(max, sizeof(max), "(%lld", f->until);
	else
		snprintf(max, sizeof(max), "+inf");
	snprintf(cnt, sizeof(cnt), "%d", SUPPRESSION_LIST_BATCH);
	for (;;) {
		struct store_reply *r;

		snprintf(off, sizeof(off), "%lld", offset);
		r = admin_cmd(st, errbuf, errlen, 7, "ZRANGEBYSCORE", ikey,
		    min, max, "LIMIT", off, cnt);
		if (r == NULL) {
			rc = -1;
			break;
		}
		for (size_t i = 0; rc == 0 && i < r->nelem; i++) {
			const char		*m = r->elem[i]->str;
			struct store_reply	*h;
			struct suppression_entry e;
			const char		*canon;

			if (m == NULL || admin_key(st, key, sizeof(key),
			    SCHEMA_SUPPRESSION, SCHEMA_ACCOUNT, m, errbuf,
			    errlen) < 0)
				continue;
			h = admin_cmd(st, errbuf, errlen, 2, "HGETALL", key);
			if (h == NULL) {
				rc = -1;
				break;
			}
			if (suppression_entry_fill(m, h, &e) == 0) {
				stale = xrealloc(stale, (nstale + 1) *
				    sizeof(*stale));
				stale[nstale++] = xstrdup(m);
			} else if (f->reason == NULL ||
			    (suppression_reason_parse(f->reason, &canon) &&
			    strcmp(e.reason, canon) == 0)) {
				rc = fn(&e, arg);
			}
			suppression_entry_clear(&e);
			store_reply_free(&h);
		}
		offset += (long long)r->nelem;
		if (r->nelem < SUPPRESSION_LIST_BATCH) {
			store_reply_free(&r);
			break;
		}
		store_reply_free(&r);
		if (rc != 0)
			break;
	}
	if (rc != -1 && nstale > 0 &&
	    suppression_prune(st, ikey, stale, nstale, &removed, errbuf,
	    errlen) < 0)
		rc = -1;
	for (size_t i = 0; i < nstale; i++)
		free(stale[i]);
	free(stale);
	if (stale_out != NULL)
		*stale_out = removed;
	return rc;
}
