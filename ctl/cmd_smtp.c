/*
 * cmd_smtp.c - sesgatectl smtp-password: the SES SMTP password of an IAM
 * secret access key (lib/smtppass.c) and the SMTP endpoint of its region.
 * The key comes from standard input or an environment variable, never
 * from the command line, where other users could read it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/crypto.h>

#include "config.h"
#include "ctl.h"
#include "smtppass.h"

/* An IAM secret access key is 40 characters; a longer line is no key. */
#define CMD_SMTP_SECRET_MAX	128

/* The key from env (a variable's name) or the first line of standard
   input into buf. 0, or an exit status after printing why. */
static int
cmd_smtp_secret(const char *env, char *buf, size_t buflen)
{
	const char	*v = NULL;
	size_t		 n;

	if (env != NULL) {
		v = getenv(env);
		if (v == NULL || *v == '\0')
			return ctl_error(EX_DATAERR, "--secret-env %s: the "
			    "variable is not set or empty", env);
		if (strlen(v) >= buflen)
			return ctl_error(EX_DATAERR, "--secret-env %s: longer "
			    "than a secret access key", env);
		memcpy(buf, v, strlen(v) + 1);
	} else if (fgets(buf, (int)buflen, stdin) == NULL) {
		return ctl_error(EX_DATAERR, "no secret access key on "
		    "standard input");
	}
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == buflen - 1 && env == NULL)
		return ctl_error(EX_DATAERR, "the line on standard input is "
		    "longer than a secret access key");
	buf[n] = '\0';
	if (n == 0)
		return ctl_error(EX_DATAERR, "no secret access key on "
		    "standard input");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f)
			return ctl_error(EX_DATAERR, "the secret access key "
			    "holds white space or a control character");
	return 0;
}

int
cmd_smtp_password(struct ctl *c, int argc, char **argv)
{
	const char		*region = NULL, *env = NULL;
	const struct ctl_opt	 opts[] = {
		{ "region", &region }, { "secret-env", &env }, { NULL, NULL }
	};
	char			 secret[CMD_SMTP_SECRET_MAX], pw[SMTPPASS_BUFSZ];
	char			 host[128], *pos[1];
	int			 npos, rc;

	if ((rc = ctl_getopts(c, argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (region == NULL)
		region = ctl_config(c)->region;
	else if (!config_region_ok(region))
		return ctl_error(EX_DATAERR, "--region \"%s\": not an AWS "
		    "region name such as us-east-1", region);
	if ((rc = cmd_smtp_secret(env, secret, sizeof(secret))) != 0) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return rc;
	}
	smtppass_derive(secret, strlen(secret), region, pw);
	OPENSSL_cleanse(secret, sizeof(secret));
	snprintf(host, sizeof(host), "email-smtp.%s.amazonaws.com", region);
	output_begin(c->out);
	output_str(c->out, "password", pw);
	output_str(c->out, "endpoint", host);
	output_str(c->out, "region", region);
	output_end(c->out);
	OPENSSL_cleanse(pw, sizeof(pw));
	return EX_OK;
}
