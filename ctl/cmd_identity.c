/*
 * cmd_identity.c - sesgatectl identity add/remove/list: the set of
 * verified addresses and domains the policy service checks senders (and,
 * in the sandbox, recipients) against. Single-threaded.
 */
#include <stdio.h>
#include <sysexits.h>

#include "addr.h"
#include "ctl.h"

/* add or remove: print what changed. */
static int
cmd_identity_change(struct ctl *c, int argc, char **argv, bool add)
{
	char	err[512], norm[ADDR_BUFSZ];
	int	rc;

	if (argc != 1)
		return ctl_usage_error(c, "name one address or domain");
	if (add)
		rc = admin_identity_add(ctl_store(c), argv[0], err,
		    sizeof(err));
	else
		rc = admin_identity_remove(ctl_store(c), argv[0], err,
		    sizeof(err));
	if (rc < 0)
		return ctl_fail(c, rc, err);
	(void)addr_normalise_identity(argv[0], norm, sizeof(norm));
	if (output_is_json(c->out)) {
		output_begin(c->out);
		output_str(c->out, "identity", norm);
		output_bool(c->out, "changed", rc == 1);
		output_end(c->out);
	} else if (rc == 1) {
		printf("%s %s\n", add ? "verified:" : "removed:", norm);
	} else {
		printf("%s %s\n", add ? "already verified:" :
		    "was not verified:", norm);
	}
	return EX_OK;
}

int
cmd_identity_add(struct ctl *c, int argc, char **argv)
{
	return cmd_identity_change(c, argc, argv, true);
}

int
cmd_identity_remove(struct ctl *c, int argc, char **argv)
{
	return cmd_identity_change(c, argc, argv, false);
}

int
cmd_identity_list(struct ctl *c, int argc, char **argv)
{
	char	  err[512];
	char	**list;
	int	  rc;

	(void)argv;
	if (argc != 0)
		return ctl_usage_error(c, "identity list takes no arguments");
	if ((rc = admin_identity_list(ctl_store(c), &list, err,
	    sizeof(err))) < 0)
		return ctl_fail(c, rc, err);
	for (size_t i = 0; list[i] != NULL; i++) {
		output_begin(c->out);
		output_str(c->out, "identity", list[i]);
		output_str(c->out, "kind", addr_domain(list[i]) != list[i] ?
		    "address" : "domain");
		output_end(c->out);
	}
	admin_strv_free(&list);
	return EX_OK;
}
