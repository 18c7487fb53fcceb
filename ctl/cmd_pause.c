/*
 * cmd_pause.c - sesgatectl pause, resume, status and stats: the pause
 * keys the policy service reads first (account, sender, domain; a TTL is
 * an automatic resume), the mode the configuration names, and the
 * decision counters. Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "addr.h"
#include "ctl.h"
#include "rates.h"
#include "str.h"

/* The level of pause/resume: account when none is named. */
static int
cmd_pause_level(struct ctl *c, char **pos, int npos,
    enum schema_level *level, const char **id)
{
	int i = 0, rc;

	*level = SCHEMA_ACCOUNT;
	*id = NULL;
	if (npos == 0)
		return 0;
	if ((rc = ctl_level(c, pos, npos, &i, level, id)) != 0)
		return rc;
	if (i != npos)
		return ctl_usage_error(c, "unexpected argument \"%s\"",
		    pos[i]);
	return 0;
}

/* "account", "sender alice" or "domain example.com", normalised. */
static void
cmd_pause_name(enum schema_level level, const char *id, char *out,
    size_t outlen)
{
	char norm[ADDR_BUFSZ], err[128];

	if (level == SCHEMA_ACCOUNT) {
		(void)str_copy(out, outlen, "account");
		return;
	}
	if (admin_level_id(level, id, norm, sizeof(norm), err,
	    sizeof(err)) < 0)
		(void)str_copy(norm, sizeof(norm), id);
	(void)str_fmt(out, outlen, "%s %s", schema_level_name(level), norm);
}

int
cmd_pause(struct ctl *c, int argc, char **argv)
{
	const char		*reason = NULL, *dur = NULL, *id;
	const struct ctl_opt	 opts[] = {
		{ "reason", &reason }, { "for", &dur }, { NULL, NULL }
	};
	char			*pos[2], err[512], name[ADDR_BUFSZ + 16];
	char			 d[64];
	enum schema_level	 level;
	long long		 ttl_ms = 0;
	int			 npos, rc;

	if ((rc = ctl_getopts(c, argc, argv, opts, pos, 2, &npos)) != 0)
		return rc;
	if ((rc = cmd_pause_level(c, pos, npos, &level, &id)) != 0)
		return rc;
	if (dur != NULL && (str_to_duration_ms(dur, &ttl_ms) < 0 ||
	    ttl_ms < 1000))
		return ctl_error(EX_DATAERR, "--for \"%s\": want a duration "
		    "of a second or more, such as 90s, 30m, 12h or 7d", dur);
	if (reason == NULL)
		reason = "paused by the administrator";
	rc = admin_pause_set(ctl_store(c), level, id, reason, ttl_ms, err,
	    sizeof(err));
	if (rc < 0)
		return ctl_fail(c, rc, err);
	cmd_pause_name(level, id, name, sizeof(name));
	ctl_fmt_duration(ttl_ms, d, sizeof(d));
	if (output_is_json(c->out)) {
		output_begin(c->out);
		ctl_output_level(c, level, id);
		output_str(c->out, "reason", reason);
		output_int(c->out, "ttl_ms", ttl_ms > 0 ? ttl_ms : -1);
		output_end(c->out);
	} else {
		printf("paused %s %s%s: %s\n", name, ttl_ms > 0 ? "for " :
		    "until resumed", ttl_ms > 0 ? d : "", reason);
	}
	return EX_OK;
}

int
cmd_resume(struct ctl *c, int argc, char **argv)
{
	const char		*id;
	char			*pos[2], err[512], name[ADDR_BUFSZ + 16];
	enum schema_level	 level;
	int			 npos, rc;

	if ((rc = ctl_getopts(c, argc, argv, NULL, pos, 2, &npos)) != 0)
		return rc;
	if ((rc = cmd_pause_level(c, pos, npos, &level, &id)) != 0)
		return rc;
	rc = admin_pause_clear(ctl_store(c), level, id, err, sizeof(err));
	if (rc < 0)
		return ctl_fail(c, rc, err);
	cmd_pause_name(level, id, name, sizeof(name));
	if (output_is_json(c->out)) {
		output_begin(c->out);
		ctl_output_level(c, level, id);
		output_bool(c->out, "changed", rc == 1);
		output_end(c->out);
	} else {
		printf(rc == 1 ? "resumed %s\n" : "%s was not paused\n", name);
	}
	return EX_OK;
}

int
cmd_status(struct ctl *c, int argc, char **argv)
{
	const struct config	*cf;
	struct admin_pause	*list;
	struct rates		 rt;
	size_t			 n;
	char			 err[512], d[64], br[32], cr[32];
	int			 rc;

	(void)argv;
	if (argc != 0)
		return ctl_usage_error(c, "status takes no arguments");
	cf = ctl_config(c);
	if ((rc = admin_pause_list(ctl_store(c), &list, &n, err,
	    sizeof(err))) < 0)
		return ctl_fail(c, rc, err);
	if ((rc = rates_read(ctl_store(c), cf, SCHEMA_ACCOUNT, NULL, false,
	    &rt, err, sizeof(err))) != 0) {
		admin_pause_list_free(&list, n);
		return ctl_fail(c, rc, err);
	}
	snprintf(br, sizeof(br), "%.2f", rt.bounce_rate);
	snprintf(cr, sizeof(cr), "%.2f", rt.complaint_rate);
	ctl_fmt_duration(cf->policyd_quota_window_ms, d, sizeof(d));
	if (output_is_json(c->out)) {
		output_begin(c->out);
		output_str(c->out, "region", cf->region);
		output_bool(c->out, "sandbox", cf->policyd_sandbox);
		output_int(c->out, "pauses", (long long)n);
		output_int(c->out, "sends", rt.sends);
		output_int(c->out, "bounces", rt.bounces);
		output_int(c->out, "complaints", rt.complaints);
		output_str(c->out, "bounce_rate", br);
		output_str(c->out, "complaint_rate", cr);
		output_str(c->out, "reputation",
		    rates_state_name(rates_judge(cf, &rt)));
		output_end(c->out);
	} else {
		printf("region: %s\nsandbox: %s\n", cf->region,
		    cf->policyd_sandbox ? "yes" : "no");
		printf("bounce rate: %s%% (%lld of %lld recipients in %s)\n"
		    "complaint rate: %s%% (%lld)\nreputation: %s\n", br,
		    rt.bounces, rt.sends, d, cr, rt.complaints,
		    rates_state_name(rates_judge(cf, &rt)));
		printf(n == 0 ? "sending: not paused\n" : "paused:\n");
	}
	for (size_t i = 0; i < n; i++) {
		output_begin(c->out);
		output_str(c->out, "level", schema_level_name(list[i].level));
		output_str(c->out, "id", list[i].id);
		if (output_is_json(c->out)) {
			output_int(c->out, "remaining_ms", list[i].ttl_ms);
		} else {
			if (list[i].ttl_ms < 0)
				(void)str_copy(d, sizeof(d), "until resumed");
			else
				ctl_fmt_duration(list[i].ttl_ms, d, sizeof(d));
			output_str(c->out, "remaining", d);
		}
		output_str(c->out, "reason", list[i].reason);
		output_end(c->out);
	}
	admin_pause_list_free(&list, n);
	return EX_OK;
}

int
cmd_stats(struct ctl *c, int argc, char **argv)
{
	char	  err[512];
	char	**pairs;
	int	  rc;

	(void)argv;
	if (argc != 0)
		return ctl_usage_error(c, "stats takes no arguments");
	if ((rc = admin_stats(ctl_store(c), &pairs, err, sizeof(err))) < 0)
		return ctl_fail(c, rc, err);
	for (size_t i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2) {
		long long v = 0;

		output_begin(c->out);
		output_str(c->out, "counter", pairs[i]);
		(void)str_to_ll(pairs[i + 1], 0, (long long)1 << 62, &v);
		output_int(c->out, "value", v);
		output_end(c->out);
	}
	admin_strv_free(&pairs);
	return EX_OK;
}
