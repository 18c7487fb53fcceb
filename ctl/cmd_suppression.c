/*
 * cmd_suppression.c - sesgatectl suppression list/get/add/remove/import/
 * export: the account-level suppression list as SES manages it (entries
 * with reason BOUNCE or COMPLAINT, the time they were added and where
 * they came from), and SES's two bulk file forms. Single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bulk.h"
#include "ctl.h"
#include "mem.h"
#include "str.h"
#include "suppression.h"

/* The name of the entry's first column: a hash in privacy mode. */
static const char *
cmd_supp_idname(struct ctl *c)
{
	return *ctl_config(c)->suppression_hash_key != '\0' ? "hash" :
	    "address";
}

static int
cmd_supp_record(const struct suppression_entry *e, void *arg)
{
	struct ctl	*c = arg;
	char		 t[32], x[32];

	output_begin(c->out);
	output_str(c->out, cmd_supp_idname(c), e->member);
	output_str(c->out, "reason", e->reason);
	if (output_is_json(c->out)) {
		output_int(c->out, "time", e->time);
		output_str(c->out, "source", e->source);
		output_int(c->out, "expires", e->expires);
		if (*e->bounce_type != '\0')
			output_str(c->out, "bounce_type", e->bounce_type);
		if (*e->bounce_subtype != '\0')
			output_str(c->out, "bounce_subtype",
			    e->bounce_subtype);
		if (*e->feedback_type != '\0')
			output_str(c->out, "feedback_type", e->feedback_type);
		if (*e->diagnostic != '\0')
			output_str(c->out, "diagnostic", e->diagnostic);
		if (*e->feedback_id != '\0')
			output_str(c->out, "feedback_id", e->feedback_id);
		if (*e->message_id != '\0')
			output_str(c->out, "message_id", e->message_id);
	} else {
		ctl_fmt_time(e->time, t, sizeof(t));
		output_str(c->out, "added", t);
		output_str(c->out, "source", e->source);
		if (e->expires > 0)
			ctl_fmt_time(e->expires, x, sizeof(x));
		else
			(void)str_copy(x, sizeof(x), "never");
		output_str(c->out, "expires", x);
	}
	output_end(c->out);
	return 0;
}

int
cmd_suppression_list(struct ctl *c, int argc, char **argv)
{
	const char		*reason = NULL, *since = NULL, *until = NULL;
	const struct ctl_opt	 opts[] = {
		{ "reason", &reason }, { "since", &since },
		{ "until", &until }, { NULL, NULL }
	};
	struct suppression_filter f = { NULL, 0, 0 };
	char			*pos[1], err[512];
	size_t			 stale;
	int			 npos, rc;

	if ((rc = ctl_getopts(c, argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (reason != NULL && !suppression_reason_parse(reason, &f.reason))
		return ctl_error(EX_DATAERR, "--reason \"%s\": want BOUNCE or "
		    "COMPLAINT", reason);
	if (since != NULL && ctl_parse_date(since, &f.since) < 0)
		return ctl_error(EX_DATAERR, "--since \"%s\": want a date such "
		    "as 2026-01-31 or 2026-01-31T12:00:00Z, or unix seconds",
		    since);
	if (until != NULL && ctl_parse_date(until, &f.until) < 0)
		return ctl_error(EX_DATAERR, "--until \"%s\": want a date such "
		    "as 2026-01-31 or 2026-01-31T12:00:00Z, or unix seconds",
		    until);
	rc = suppression_list(ctl_store(c), &f, cmd_supp_record, c,
	    &stale, err, sizeof(err));
	if (rc < 0)
		return ctl_fail(c, rc, err);
	return EX_OK;
}

int
cmd_suppression_get(struct ctl *c, int argc, char **argv)
{
	struct suppression_entry e;
	char			 err[512], t[32];
	int			 rc;

	if (argc != 1)
		return ctl_usage_error(c, "name one address");
	rc = suppression_get(ctl_store(c), argv[0], &e, err, sizeof(err));
	if (rc < 0)
		return ctl_fail(c, rc, err);
	if (rc == 0)
		return ctl_error(EX_NOINPUT, "%s is not on the suppression "
		    "list", argv[0]);
	if (output_is_json(c->out)) {
		cmd_supp_record(&e, c);
	} else {
		const struct {
			const char	*name;
			const char	*value;
		} opt[] = {
			{ "bounce_type", e.bounce_type },
			{ "bounce_subtype", e.bounce_subtype },
			{ "feedback_type", e.feedback_type },
			{ "diagnostic", e.diagnostic },
			{ "feedback_id", e.feedback_id },
			{ "message_id", e.message_id },
		};

		printf("%s: %s\n", cmd_supp_idname(c), e.member);
		printf("reason: %s\n", e.reason);
		ctl_fmt_time(e.time, t, sizeof(t));
		printf("added: %s\n", t);
		printf("source: %s\n", e.source);
		if (e.expires > 0)
			ctl_fmt_time(e.expires, t, sizeof(t));
		printf("expires: %s\n", e.expires > 0 ? t : "never");
		for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
			if (*opt[i].value == '\0')
				continue;
			printf("%s: ", opt[i].name);
			for (const char *p = opt[i].value; *p != '\0'; p++)
				putchar((unsigned char)*p < 0x20 ? '?' : *p);
			putchar('\n');
		}
	}
	suppression_entry_clear(&e);
	return EX_OK;
}

/* --expires: a duration with a unit from now, or a DATE. */
static int
cmd_supp_expires(const char *s, long long *t_out)
{
	long long ms;

	if (strspn(s, "0123456789") != strlen(s) &&
	    str_to_duration_ms(s, &ms) == 0) {
		if (ms < 1000)
			return -1;
		*t_out = (long long)time(NULL) + (ms + 999) / 1000;
		return 0;
	}
	return ctl_parse_date(s, t_out);
}

int
cmd_suppression_add(struct ctl *c, int argc, char **argv)
{
	const char		*expires = NULL;
	const struct ctl_opt	 opts[] = {
		{ "expires", &expires }, { NULL, NULL }
	};
	struct suppression_in in;
	const char		*reason;
	char			*pos[2], err[512], member[ADDR_BUFSZ];
	int			 npos, rc;

	if ((rc = ctl_getopts(c, argc, argv, opts, pos, 2, &npos)) != 0)
		return rc;
	if (npos != 2)
		return ctl_usage_error(c, "name an address and a reason");
	memset(&in, 0, sizeof(in));
	in.addr = pos[0];
	in.reason = pos[1];
	in.source = "admin";
	if (expires != NULL && cmd_supp_expires(expires, &in.expires) < 0)
		return ctl_error(EX_DATAERR, "--expires \"%s\": want a "
		    "duration such as 30d or a date such as 2026-01-31",
		    expires);
	if ((rc = suppression_add(ctl_store(c), &in, err, sizeof(err))) < 0)
		return ctl_fail(c, rc, err);
	(void)suppression_reason_parse(pos[1], &reason);
	(void)suppression_member(ctl_store(c), pos[0], member, sizeof(member),
	    err, sizeof(err));
	if (output_is_json(c->out)) {
		output_begin(c->out);
		output_str(c->out, cmd_supp_idname(c), member);
		output_str(c->out, "reason", reason);
		output_int(c->out, "expires", in.expires);
		output_end(c->out);
	} else {
		printf("suppressed %s (%s)\n", member, reason);
	}
	return EX_OK;
}

int
cmd_suppression_remove(struct ctl *c, int argc, char **argv)
{
	char	err[512], member[ADDR_BUFSZ];
	int	rc;

	if (argc != 1)
		return ctl_usage_error(c, "name one address");
	if ((rc = suppression_remove(ctl_store(c), argv[0], err,
	    sizeof(err))) < 0)
		return ctl_fail(c, rc, err);
	(void)suppression_member(ctl_store(c), argv[0], member, sizeof(member),
	    err, sizeof(err));
	if (output_is_json(c->out)) {
		output_begin(c->out);
		output_str(c->out, cmd_supp_idname(c), member);
		output_bool(c->out, "changed", rc == 1);
		output_end(c->out);
	} else {
		printf(rc == 1 ? "removed %s\n" :
		    "%s was not on the suppression list\n", member);
	}
	return EX_OK;
}

static int
cmd_supp_import_summary(struct ctl *c, long long ok, long long failed)
{
	if (output_is_json(c->out)) {
		output_begin(c->out);
		output_int(c->out, "imported", ok);
		output_int(c->out, "failed", failed);
		output_end(c->out);
	} else {
		printf("imported %lld, failed %lld\n", ok, failed);
	}
	return 0;
}

int
cmd_suppression_import(struct ctl *c, int argc, char **argv)
{
	const char		*name;
	FILE			*fp;
	char			*line = NULL, err[512];
	size_t			 cap = 0;
	ssize_t			 len;
	long long		 lineno = 0, ok = 0, failed = 0;
	enum bulk_format	 fmt = BULK_CSV;
	bool			 detected = false;
	int			 status = EX_OK;

	if (argc != 1)
		return ctl_usage_error(c, "name one file, or - for standard "
		    "input");
	if (strcmp(argv[0], "-") == 0) {
		fp = stdin;
		name = "<stdin>";
	} else if ((fp = fopen(argv[0], "r")) == NULL) {
		return ctl_error(EX_NOINPUT, "%s: %s", argv[0],
		    strerror(errno));
	} else {
		name = argv[0];
	}
	(void)ctl_store(c);
	while ((len = getline(&line, &cap, fp)) >= 0) {
		struct suppression_in in;
		char	*p = line, *addr = NULL, *reason = NULL;
		int	 rc;

		lineno++;
		if ((size_t)len != strlen(line)) {
			fprintf(stderr, "%s:%lld: NUL byte in line\n", name,
			    lineno);
			failed++;
			continue;
		}
		/* A byte order mark some tools write first. */
		if (lineno == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
			p += 3;
		if (!detected) {
			const char *q = p + strspn(p, " \t\r\n");

			if (*q == '\0')
				continue;
			fmt = *q == '{' ? BULK_JSON : BULK_CSV;
			detected = true;
		}
		rc = bulk_parse_line(fmt, p, &addr, &reason, err,
		    sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "%s:%lld: %s\n", name, lineno, err);
			failed++;
			continue;
		}
		if (rc == 0)
			continue;
		memset(&in, 0, sizeof(in));
		in.addr = addr;
		in.reason = reason;
		in.source = "import";
		rc = suppression_add(c->st, &in, err, sizeof(err));
		free(addr);
		free(reason);
		if (rc == ADMIN_EINPUT) {
			fprintf(stderr, "%s:%lld: %s\n", name, lineno, err);
			failed++;
		} else if (rc < 0) {
			status = ctl_fail(c, rc, err);
			fprintf(stderr, "sesgatectl: %s: stopped at line %lld; "
			    "the lines before it were imported\n", name,
			    lineno);
			break;
		} else {
			ok++;
		}
	}
	if (status == EX_OK && ferror(fp)) {
		status = ctl_error(EX_IOERR, "%s: read error: %s", name,
		    strerror(errno));
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	cmd_supp_import_summary(c, ok, failed);
	if (status == EX_OK && failed > 0) {
		fprintf(stderr, "sesgatectl: %s: %lld line(s) failed (see "
		    "above); the other entries were imported\n", name,
		    failed);
		status = EX_DATAERR;
	}
	return status;
}

struct cmd_supp_export {
	FILE			*fp;
	enum bulk_format	 fmt;
	long long		 n;
};

static int
cmd_supp_export_one(const struct suppression_entry *e, void *arg)
{
	struct cmd_supp_export *x = arg;

	bulk_write(x->fp, x->fmt, e->member, e->reason);
	x->n++;
	return ferror(x->fp) ? 1 : 0;
}

int
cmd_suppression_export(struct ctl *c, int argc, char **argv)
{
	const char		*format = NULL;
	const struct ctl_opt	 opts[] = {
		{ "format", &format }, { NULL, NULL }
	};
	struct suppression_filter f = { NULL, 0, 0 };
	struct cmd_supp_export	 x = { stdout, BULK_CSV, 0 };
	char			*pos[1], err[512], tmp[4096];
	const char		*path = NULL;
	int			 npos, rc;

	if ((rc = ctl_getopts(c, argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (format != NULL && strcmp(format, "json") == 0)
		x.fmt = BULK_JSON;
	else if (format != NULL && strcmp(format, "csv") != 0)
		return ctl_usage_error(c, "--format \"%s\": want csv or json",
		    format);
	if (npos == 1 && strcmp(pos[0], "-") != 0)
		path = pos[0];
	(void)ctl_store(c);
	/* A file is written beside its final name and renamed when
	   complete, so a failure never leaves half a list under it. */
	if (path != NULL) {
		if (str_fmt(tmp, sizeof(tmp), "%s.tmp%ld", path,
		    (long)getpid()) < 0)
			return ctl_error(EX_USAGE, "%s: name too long", path);
		if ((x.fp = fopen(tmp, "w")) == NULL)
			return ctl_error(EX_CANTCREAT, "%s: %s", tmp,
			    strerror(errno));
	}
	rc = suppression_list(c->st, &f, cmd_supp_export_one, &x, NULL,
	    err, sizeof(err));
	if (fflush(x.fp) != 0 || ferror(x.fp))
		rc = 1;
	if (path != NULL) {
		if (fclose(x.fp) != 0)
			rc = 1;
		if (rc == 0 && rename(tmp, path) < 0) {
			rc = ctl_error(EX_CANTCREAT, "%s: %s", path,
			    strerror(errno));
			(void)unlink(tmp);
			return rc;
		}
		if (rc != 0)
			(void)unlink(tmp);
	}
	if (rc < 0)
		return ctl_fail(c, rc, err);
	if (rc > 0)
		return ctl_error(EX_IOERR, "%s: write error: %s",
		    path != NULL ? path : "<stdout>", strerror(errno));
	if (path != NULL) {
		if (output_is_json(c->out)) {
			output_begin(c->out);
			output_str(c->out, "file", path);
			output_int(c->out, "exported", x.n);
			output_end(c->out);
		} else {
			printf("exported %lld to %s\n", x.n, path);
		}
	}
	return EX_OK;
}
