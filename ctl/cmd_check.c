/*
 * cmd_check.c - sesgatectl check-config: the whole configuration checked
 * before a reload or a start. The file's syntax and values (config.c),
 * then what it names (lib/confcheck.c): DKIM key files and their
 * permissions, the files and directories of the daemons, Redis and the
 * decision script. Every problem is printed; the exit status says
 * whether there was one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "buf.h"
#include "confcheck.h"
#include "ctl.h"

int
cmd_check_config(struct ctl *c, int argc, char **argv)
{
	const struct ctl_opt	 opts[] = { { NULL, NULL } };
	char			*pos[1];
	struct buf		 problems = BUF_INIT;
	const struct config	*cf;
	int			 npos, rc, n;

	if ((rc = ctl_getopts(c, argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (npos == 1)
		c->conf_path = pos[0];
	cf = ctl_config(c);
	n = confcheck(cf, CONFCHECK_ALL, &problems);
	if (n > 0) {
		fprintf(stderr, "sesgatectl: %s: %d problem%s:\n%s",
		    c->conf_path, n, n == 1 ? "" : "s", problems.data);
		buf_free(&problems);
		return EX_CONFIG;
	}
	printf("%s: the configuration, the files it names, Redis and the "
	    "decision script are in order\n", c->conf_path);
	return EX_OK;
}
