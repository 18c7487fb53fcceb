/*
 * cmd_quota.c - sesgatectl quota set/show/usage: per-level overrides of
 * the configured limits (max_24h, max_rate, burst) and the recipients
 * counted in the rolling window, as the policy service's script sees
 * them. Single-threaded.
 */
#include <stdio.h>
#include <sysexits.h>

#include "addr.h"
#include "ctl.h"
#include "str.h"

/* Parse "LEVEL [ID]" from pos and require that nothing else but `extra`
   arguments follow; *next_out is the index after the level. */
static int
cmd_quota_args(struct ctl *c, char **pos, int npos, int extra,
    enum schema_level *level, const char **id, int *next_out)
{
	int i = 0, rc;

	if ((rc = ctl_level(c, pos, npos, &i, level, id)) != 0)
		return rc;
	if (npos - i != extra)
		return ctl_usage_error(c, npos - i < extra ?
		    "missing arguments" : "too many arguments");
	*next_out = i;
	return 0;
}

static void
cmd_quota_field(struct ctl *c, enum schema_level level, const char *id,
    const struct admin_limits *l, enum admin_limit_field f)
{
	output_begin(c->out);
	ctl_output_level(c, level, id);
	output_str(c->out, "field", admin_limit_field_name(f));
	if (f == ADMIN_BURST && l->value[f] == 0 && !output_is_json(c->out))
		output_str(c->out, "value", "0 (one second's worth)");
	else
		output_limit(c->out, "value", l->value[f]);
	output_str(c->out, "source", l->override[f] ? "override" : "config");
	output_end(c->out);
}

int
cmd_quota_set(struct ctl *c, int argc, char **argv)
{
	char			*pos[5], err[512];
	const char		*id;
	enum schema_level	 level;
	enum admin_limit_field	 f;
	struct admin_limits	 l;
	int			 npos, i = 0, rc;

	if ((rc = ctl_getopts(c, argc, argv, NULL, pos, 5, &npos)) != 0)
		return rc;
	if ((rc = cmd_quota_args(c, pos, npos, 2, &level, &id, &i)) != 0)
		return rc;
	if (admin_limit_field_parse(pos[i], &f) < 0)
		return ctl_usage_error(c, "\"%s\" is not a limit: want "
		    "max_24h, max_rate or burst", pos[i]);
	if ((rc = admin_limits_set(ctl_store(c), level, id, f, pos[i + 1],
	    err, sizeof(err))) < 0)
		return ctl_fail(c, rc, err);
	if ((rc = admin_limits_get(ctl_store(c), level, id, &l, err,
	    sizeof(err))) < 0)
		return ctl_fail(c, rc, err);
	cmd_quota_field(c, level, id, &l, f);
	return EX_OK;
}

int
cmd_quota_show(struct ctl *c, int argc, char **argv)
{
	char			*pos[3], err[512];
	const char		*id;
	enum schema_level	 level;
	struct admin_limits	 l;
	int			 npos, i = 0, rc;

	if ((rc = ctl_getopts(c, argc, argv, NULL, pos, 3, &npos)) != 0)
		return rc;
	if ((rc = cmd_quota_args(c, pos, npos, 0, &level, &id, &i)) != 0)
		return rc;
	if ((rc = admin_limits_get(ctl_store(c), level, id, &l, err,
	    sizeof(err))) < 0)
		return ctl_fail(c, rc, err);
	for (int f = 0; f < ADMIN_NFIELDS; f++)
		cmd_quota_field(c, level, id, &l, (enum admin_limit_field)f);
	return EX_OK;
}

int
cmd_quota_usage(struct ctl *c, int argc, char **argv)
{
	char			*pos[3], err[512], w[64];
	const char		*id;
	enum schema_level	 level;
	struct admin_limits	 l;
	struct admin_usage	 u;
	int			 npos, i = 0, rc;

	if ((rc = ctl_getopts(c, argc, argv, NULL, pos, 3, &npos)) != 0)
		return rc;
	if ((rc = cmd_quota_args(c, pos, npos, 0, &level, &id, &i)) != 0)
		return rc;
	if ((rc = admin_limits_get(ctl_store(c), level, id, &l, err,
	    sizeof(err))) < 0 ||
	    (rc = admin_usage(ctl_store(c), level, id, &u, err,
	    sizeof(err))) < 0)
		return ctl_fail(c, rc, err);
	output_begin(c->out);
	ctl_output_level(c, level, id);
	output_int(c->out, "recipients", u.count);
	output_limit(c->out, "max_24h", l.value[ADMIN_MAX_24H]);
	if (output_is_json(c->out)) {
		output_int(c->out, "window_ms", u.window_ms);
	} else {
		ctl_fmt_duration(u.window_ms, w, sizeof(w));
		output_str(c->out, "window", w);
	}
	output_limit(c->out, "max_rate", l.value[ADMIN_MAX_RATE]);
	output_bool(c->out, "rate_state", u.rate_state);
	output_end(c->out);
	return EX_OK;
}
