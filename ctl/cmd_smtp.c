/*
 * cmd_smtp.c - sesgatectl smtp-password and postfix-config: the SES SMTP
 * password of an IAM secret access key (lib/smtppass.c), the SMTP endpoint
 * of its region, and the Postfix settings and sasl_passwd line that relay
 * to it. The key comes from standard input or an environment variable,
 * never from the command line, where other users could read it.
 */
#include <netdb.h>
#include <stdbool.h>
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

/* AWS's region lists disagree, so no list is kept here: a region of the
   right form whose endpoint host does not resolve gets a warning (on a
   host without DNS, every region does). */
static void
cmd_smtp_check_endpoint(const char *region, const char *host)
{
	struct addrinfo	 hints = { .ai_socktype = SOCK_STREAM }, *res;
	int		 rc;

	rc = getaddrinfo(host, "587", &hints, &res);
	if (rc == 0) {
		freeaddrinfo(res);
		return;
	}
	fprintf(stderr, "sesgatectl: warning: %s does not resolve (%s): "
	    "check that %s is a region where SES takes SMTP mail; the "
	    "password is derived for it all the same\n", host,
	    gai_strerror(rc), region);
}

/* The region (checked) and the password of the key read as --secret-env
   says, into pw; host the endpoint. 0, or an exit status. */
static int
cmd_smtp_derive(struct ctl *c, const char **region, const char *env,
    char pw[SMTPPASS_BUFSZ], char *host, size_t hostlen)
{
	char	secret[CMD_SMTP_SECRET_MAX];
	int	rc;

	if (*region == NULL)
		*region = ctl_config(c)->region;
	else if (!config_region_ok(*region))
		return ctl_error(EX_DATAERR, "--region \"%s\": not an AWS "
		    "region name such as us-east-1", *region);
	rc = cmd_smtp_secret(env, secret, sizeof(secret));
	if (rc == 0)
		smtppass_derive(secret, strlen(secret), *region, pw);
	OPENSSL_cleanse(secret, sizeof(secret));
	snprintf(host, hostlen, "email-smtp.%s.amazonaws.com", *region);
	if (rc == 0)
		cmd_smtp_check_endpoint(*region, host);
	return rc;
}

int
cmd_smtp_password(struct ctl *c, int argc, char **argv)
{
	const char		*region = NULL, *env = NULL;
	const struct ctl_opt	 opts[] = {
		{ "region", &region }, { "secret-env", &env }, { NULL, NULL }
	};
	char			 pw[SMTPPASS_BUFSZ], host[128], *pos[1];
	int			 npos, rc;

	if ((rc = ctl_getopts(c, argc, argv, opts, pos, 0, &npos)) != 0 ||
	    (rc = cmd_smtp_derive(c, &region, env, pw, host,
	    sizeof(host))) != 0)
		return rc;
	output_begin(c->out);
	output_str(c->out, "password", pw);
	output_str(c->out, "endpoint", host);
	output_str(c->out, "region", region);
	output_end(c->out);
	OPENSSL_cleanse(pw, sizeof(pw));
	return EX_OK;
}

/* An IAM access key ID: AKIA or ASIA and 16 upper-case letters or
   digits (its form, as AWS documents it, is all that is checked). */
static bool
cmd_smtp_key_id_ok(const char *id)
{
	return strlen(id) == 20 && (strncmp(id, "AKIA", 4) == 0 ||
	    strncmp(id, "ASIA", 4) == 0) &&
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == 20;
}

int
cmd_postfix_config(struct ctl *c, int argc, char **argv)
{
	const char		*region = NULL, *env = NULL, *user = NULL;
	const struct ctl_opt	 opts[] = {
		{ "region", &region }, { "user", &user },
		{ "secret-env", &env }, { NULL, NULL }
	};
	char			 pw[SMTPPASS_BUFSZ], host[128], *pos[1];
	int			 npos, rc;

	if ((rc = ctl_getopts(c, argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (user == NULL)
		return ctl_usage_error(c, "name the IAM access key ID with "
		    "--user");
	if (!cmd_smtp_key_id_ok(user))
		return ctl_error(EX_DATAERR, "--user \"%s\": not an IAM "
		    "access key ID (AKIA and 16 letters or digits)", user);
	if ((rc = cmd_smtp_derive(c, &region, env, pw, host,
	    sizeof(host))) != 0)
		return rc;
	printf("# Relay through Amazon SES in %s (INSTALL, 4.1). As root:\n"
	    "postconf -e \\\n"
	    "    'relayhost = [%s]:587' \\\n"
	    "    'smtp_sasl_auth_enable = yes' \\\n"
	    "    'smtp_sasl_security_options = noanonymous' \\\n"
	    "    'smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd' "
	    "\\\n"
	    "    'smtp_tls_security_level = encrypt' \\\n"
	    "    'smtp_tls_CAfile = /etc/ssl/certs/ca-certificates.crt' \\\n"
	    "    'smtp_tls_note_starttls_offer = yes' \\\n"
	    "    'smtp_connection_reuse_count_limit = 100' \\\n"
	    "    'smtp_destination_concurrency_limit = 5' \\\n"
	    "    'smtp_destination_recipient_limit = 50' \\\n"
	    "    'message_size_limit = 10485760'\n"
	    "# The line of /etc/postfix/sasl_passwd; then chmod 600 it, "
	    "postmap it,\n# and postfix reload:\n"
	    "[%s]:587 %s:%s\n", region, host, host, user, pw);
	OPENSSL_cleanse(pw, sizeof(pw));
	return EX_OK;
}
