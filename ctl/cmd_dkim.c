/*
 * cmd_dkim.c - sesgatectl dkim keygen and dns-records: create a DKIM key
 * and print the TXT record that publishes it, and print every DNS record
 * a domain needs to send through SES (verification token, the DKIM keys
 * of sesgate.conf, SPF, DMARC, custom MAIL FROM). Records are printed in
 * zone-file form with ';' comments, or with --json as one object each.
 * Single-threaded.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "dkimkey.h"
#include "mem.h"
#include "str.h"

#define DKIM_TTL		3600
/* A DNS name of at most 253 bytes and its NUL, with room to spare. */
#define DKIM_NAME_SZ		256
#define DKIM_KEYDIR		SYSCONFDIR "/sesgate/keys"
/* sesgate.conf reads a dkim_key path into 4096 bytes. */
#define DKIM_PATH_MAX		4096
/* RFC 1035 section 3.3: a character-string is at most 255 bytes. */
#define DKIM_TXT_STRING		255
#define DKIM_TOKEN_PLACEHOLDER	"VERIFICATION-TOKEN-FROM-SES"

/* Labels of letters, digits and inner '-' (RFC 1123 section 2.1), at
   most 63 bytes each, joined by single dots; at most 253 bytes. */
static bool
cmd_dkim_labels_ok(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
		if ((label == 0 && s[i] == '-') || ++label > 63)
			return false;
	}
	return true;
}

/* A domain into out in lower case, without a trailing dot. 0, or -1 when
   it is not a host name. */
static int
cmd_dkim_hostname(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (str_copy(out, outlen, in) < 0)
		return -1;
	n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
	str_lower(out);
	return cmd_dkim_labels_ok(out) ? 0 : -1;
}

/* A DKIM selector (RFC 6376 section 3.1: sub-domain labels joined by
   dots); letters keep their case, as in the s= tag. */
static bool
cmd_dkim_selector_ok(const char *s)
{
	return cmd_dkim_labels_ok(s);
}

/* One character-string of a zone file, quoted. */
static void
cmd_dkim_quote(struct buf *b, const char *s, size_t n)
{
	buf_puts(b, "\"");
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_puts(b, "\\");
		buf_append(b, s + i, 1);
	}
	buf_puts(b, "\"");
}

/* A TXT record in zone-file form. A value longer than a character-string
   is split into several, which the reader joins (RFC 7208 section 3.3,
   RFC 6376 section 3.6.2.2): the tags before p= in one, then p= in as
   many as it takes, one per line. */
static void
cmd_dkim_zone_txt(const char *name, const char *value)
{
	struct buf	 b = BUF_INIT;
	const char	*p = strstr(value, "p="), *s;
	size_t		 len = strlen(value), n;

	buf_printf(&b, "%s. %d IN TXT ", name, DKIM_TTL);
	if (len <= DKIM_TXT_STRING) {
		cmd_dkim_quote(&b, value, len);
		printf("%s\n", b.data);
		buf_free(&b);
		return;
	}
	buf_puts(&b, "( ");
	s = value;
	if (p != NULL && p != value) {
		cmd_dkim_quote(&b, value, (size_t)(p - value));
		buf_puts(&b, "\n\t");
		s = p;
	}
	while (*s != '\0') {
		n = strlen(s);
		if (n > DKIM_TXT_STRING)
			n = DKIM_TXT_STRING;
		cmd_dkim_quote(&b, s, n);
		s += n;
		buf_puts(&b, *s != '\0' ? "\n\t" : " )");
	}
	printf("%s\n", b.data);
	buf_free(&b);
}

/* One record: a line of the zone file, or a JSON object. */
static void
cmd_dkim_record(struct ctl *c, const char *purpose, const char *name,
    const char *type, const char *value)
{
	if (output_is_json(c->out)) {
		output_begin(c->out);
		output_str(c->out, "purpose", purpose);
		output_str(c->out, "name", name);
		output_int(c->out, "ttl", DKIM_TTL);
		output_str(c->out, "type", type);
		output_str(c->out, "value", value);
		output_end(c->out);
	} else if (strcmp(type, "TXT") == 0) {
		cmd_dkim_zone_txt(name, value);
	} else {
		printf("%s. %d IN %s %s\n", name, DKIM_TTL, type, value);
	}
}

/* A comment of the zone file; nothing in JSON. */
static void
cmd_dkim_comment(struct ctl *c, const char *text)
{
	if (!output_is_json(c->out))
		printf("%s", text);
}

/* The key file: --out made absolute, or the default under DKIM_KEYDIR,
   whose directory is created (mode 0700) when missing. EX_OK, or an exit
   status after printing why. */
static int
cmd_dkim_keypath(const char *out, const char *domain, const char *selector,
    char *path, size_t pathlen)
{
	char	cwd[DKIM_PATH_MAX];
	int	rc;

	if (out == NULL) {
		if (mkdir(DKIM_KEYDIR, 0700) < 0 && errno != EEXIST)
			return ctl_error(EX_CANTCREAT, "%s: cannot create the "
			    "directory: %s; create it (mode 0700) or name a "
			    "file with --out", DKIM_KEYDIR, strerror(errno));
		rc = str_fmt(path, pathlen, "%s/%s.%s.pem", DKIM_KEYDIR,
		    domain, selector);
	} else if (*out == '/') {
		rc = str_copy(path, pathlen, out);
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return ctl_error(EX_OSERR, "cannot tell the current "
			    "directory: %s; give --out an absolute path",
			    strerror(errno));
		rc = str_fmt(path, pathlen, "%s/%s", cwd, out);
	}
	if (rc < 0)
		return ctl_error(EX_DATAERR, "--out \"%s\": path too long",
		    out != NULL ? out : path);
	/* sesgate.conf reads the path as one word. */
	for (const char *p = path; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return ctl_error(EX_DATAERR, "--out \"%s\": no white "
			    "space or control characters in the key's path: "
			    "sesgate.conf reads it as one word",
			    out != NULL ? out : path);
	return EX_OK;
}

int
cmd_dkim_keygen(struct ctl *c, int argc, char **argv)
{
	const char		*bits_arg = NULL, *out = NULL;
	const struct ctl_opt	 opts[] = {
		{ "bits", &bits_arg }, { "out", &out }, { NULL, NULL }
	};
	enum dkimkey_alg	 alg = DKIMKEY_RSA;
	struct dkimkey		*k;
	char			**args, *pos[2], *txt;
	char			 domain[DKIM_NAME_SZ], path[DKIM_PATH_MAX];
	char			 name[2 * DKIM_NAME_SZ + 16];
	char			 err[DKIM_PATH_MAX + 512];
	long long		 bits = 0;
	int			 nargs = 0, npos, rc;
	bool			 dashdash = false;

	/* --ed25519 takes no value, which ctl_getopts() does not know. */
	args = xcalloc((size_t)argc + 1, sizeof(*args));
	for (int i = 0; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--ed25519") == 0) {
			alg = DKIMKEY_ED25519;
			continue;
		}
		if (strcmp(argv[i], "--") == 0)
			dashdash = true;
		args[nargs++] = argv[i];
	}
	rc = ctl_getopts(c, nargs, args, opts, pos, 2, &npos);
	free(args);
	if (rc != 0)
		return rc;
	if (npos != 2)
		return ctl_usage_error(c, "name a domain and a selector");
	if (cmd_dkim_hostname(pos[0], domain, sizeof(domain)) < 0)
		return ctl_error(EX_DATAERR, "\"%s\" is not a domain name "
		    "(letters, digits and '-' in labels joined by dots)",
		    pos[0]);
	if (!cmd_dkim_selector_ok(pos[1]))
		return ctl_error(EX_DATAERR, "\"%s\" is not a DKIM selector "
		    "(letters, digits and '-' in labels joined by dots, RFC "
		    "6376 section 3.1)", pos[1]);
	if (str_fmt(name, sizeof(name), "%s._domainkey.%s", pos[1],
	    domain) < 0 || strlen(name) > 253)
		return ctl_error(EX_DATAERR, "%s._domainkey.%s: longer than "
		    "the 253 bytes of a DNS name; choose a shorter selector",
		    pos[1], domain);
	if (bits_arg != NULL && alg == DKIMKEY_ED25519)
		return ctl_usage_error(c, "--bits is for RSA keys; an Ed25519 "
		    "key has one size");
	if (bits_arg != NULL && str_to_ll(bits_arg, DKIMKEY_RSA_MIN_BITS,
	    DKIMKEY_RSA_MAX_BITS, &bits) < 0)
		return ctl_error(EX_DATAERR, "--bits \"%s\": want %d to %d "
		    "(%d when not given)", bits_arg, DKIMKEY_RSA_MIN_BITS,
		    DKIMKEY_RSA_MAX_BITS, DKIMKEY_RSA_DEFAULT_BITS);
	if ((rc = cmd_dkim_keypath(out, domain, pos[1], path,
	    sizeof(path))) != EX_OK)
		return rc;
	if (dkimkey_generate(path, alg, (int)bits, err, sizeof(err)) < 0)
		return ctl_error(EX_CANTCREAT, "%s", err);
	if ((k = dkimkey_load(path, err, sizeof(err))) == NULL)
		return ctl_error(EX_SOFTWARE, "the new key does not load: %s",
		    err);
	txt = dkimkey_txt(k);
	if (output_is_json(c->out)) {
		output_begin(c->out);
		output_str(c->out, "domain", domain);
		output_str(c->out, "selector", pos[1]);
		output_str(c->out, "file", path);
		output_str(c->out, "algorithm", dkimkey_alg_name(k->alg));
		output_int(c->out, "bits", k->bits);
		output_str(c->out, "name", name);
		output_int(c->out, "ttl", DKIM_TTL);
		output_str(c->out, "type", "TXT");
		output_str(c->out, "value", txt);
		output_end(c->out);
	} else {
		printf("; DKIM key for %s, selector %s: %s, %d bits,\n"
		    "; written to %s.\n"
		    "; 1. Publish this record in the DNS zone of %s:\n",
		    domain, pos[1], dkimkey_alg_name(k->alg), k->bits, path,
		    domain);
		cmd_dkim_zone_txt(name, txt);
		printf("; 2. Once it resolves (dig +short TXT %s),\n"
		    ";    add this line to the [milter] section of "
		    "sesgate.conf\n"
		    ";    and reload sesgate-milter:\n"
		    "dkim_key = %s %s %s\n", name, domain, pos[1], path);
	}
	free(txt);
	dkimkey_free(&k);
	return EX_OK;
}

/* The keys of sesgate.conf for domain, in the order given, into
   *keys_out (NULL-terminated), with the selector and file of each in
   *selectors_out and *paths_out; the caller frees all three lists and
   their members. EX_OK, or EX_CONFIG after printing which key is
   broken. */
static int
cmd_dkim_domain_keys(struct ctl *c, const char *domain,
    struct dkimkey ***keys_out, char ***selectors_out, char ***paths_out)
{
	const struct config	 *cf = ctl_config(c);
	struct dkimkey		**keys;
	char			**sels, **paths;
	size_t			  n = 0, max = 0;

	for (size_t i = 0; cf->milter_dkim_keys != NULL &&
	    cf->milter_dkim_keys[i] != NULL; i++)
		max++;
	keys = xcalloc(max + 1, sizeof(*keys));
	sels = xcalloc(max + 1, sizeof(*sels));
	paths = xcalloc(max + 1, sizeof(*paths));
	for (size_t i = 0; i < max; i++) {
		const char	*entry = cf->milter_dkim_keys[i];
		char		 d[256], s[256], p[DKIM_PATH_MAX];
		char		 err[DKIM_PATH_MAX + 512];

		/* "domain selector path", as lib/config.c stores it. */
		if (sscanf(entry, "%255s %255s %4095s", d, s, p) != 3 ||
		    strcmp(d, domain) != 0)
			continue;
		keys[n] = dkimkey_load(p, err, sizeof(err));
		if (keys[n] == NULL) {
			ctl_error(EX_CONFIG, "%s (dkim_key %s %s in %s)", err,
			    d, s, cf->path != NULL ? cf->path : c->conf_path);
			for (size_t j = 0; j < n; j++) {
				dkimkey_free(&keys[j]);
				free(sels[j]);
				free(paths[j]);
			}
			free(keys);
			free(sels);
			free(paths);
			return EX_CONFIG;
		}
		sels[n] = xstrdup(s);
		paths[n] = xstrdup(p);
		n++;
	}
	*keys_out = keys;
	*selectors_out = sels;
	*paths_out = paths;
	return EX_OK;
}

/* The DKIM part of dns-records. */
static void
cmd_dkim_records_dkim(struct ctl *c, const char *domain,
    struct dkimkey **keys, char **sels, char **paths)
{
	struct buf b = BUF_INIT;

	if (keys[0] == NULL) {
		buf_printf(&b, "; DKIM: sesgate.conf has no dkim_key for %s; "
		    "create one with\n; sesgatectl dkim keygen %s "
		    "SELECTOR.\n\n", domain, domain);
		cmd_dkim_comment(c, b.data);
		buf_free(&b);
		return;
	}
	for (size_t i = 0; keys[i] != NULL; i++) {
		char	*txt = dkimkey_txt(keys[i]);

		buf_reset(&b);
		buf_printf(&b, "; DKIM key of selector %s: %s, %d bits, in\n"
		    "; %s.\n", sels[i], dkimkey_alg_name(keys[i]->alg),
		    keys[i]->bits, paths[i]);
		cmd_dkim_comment(c, b.data);
		buf_reset(&b);
		buf_printf(&b, "%s._domainkey.%s", sels[i], domain);
		cmd_dkim_record(c, "dkim", b.data, "TXT", txt);
		cmd_dkim_comment(c, "\n");
		free(txt);
	}
	buf_free(&b);
}

/* --mail-from: one label ("bounce") or the whole name
   ("bounce.example.com", any depth) into out. 0, or -1, also for a name
   with dots outside domain, which is more likely a mistake than a
   subdomain several levels deep. */
static int
cmd_dkim_mail_from(const char *arg, const char *domain, char *out,
    size_t outlen)
{
	char	sub[DKIM_NAME_SZ];
	size_t	n, dl = strlen(domain);

	if (cmd_dkim_hostname(arg, sub, sizeof(sub)) < 0)
		return -1;
	n = strlen(sub);
	if (n > dl + 1 && strcmp(sub + n - dl, domain) == 0 &&
	    sub[n - dl - 1] == '.')
		return str_copy(out, outlen, sub);
	if (strchr(sub, '.') != NULL)
		return -1;
	if (str_fmt(out, outlen, "%s.%s", sub, domain) < 0 ||
	    strlen(out) > 253)
		return -1;
	return 0;
}

int
cmd_dns_records(struct ctl *c, int argc, char **argv)
{
	const char		*region = NULL, *mail_from = NULL;
	const char		*token = NULL;
	const struct ctl_opt	 opts[] = {
		{ "region", &region }, { "mail-from", &mail_from },
		{ "token", &token }, { NULL, NULL }
	};
	struct dkimkey		**keys;
	char			**sels, **paths, *pos[1];
	char			 domain[DKIM_NAME_SZ], mf[DKIM_NAME_SZ];
	struct buf		 b = BUF_INIT, v = BUF_INIT;
	int			 npos, rc;

	if ((rc = ctl_getopts(c, argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (npos != 1)
		return ctl_usage_error(c, "name a domain");
	if (cmd_dkim_hostname(pos[0], domain, sizeof(domain)) < 0)
		return ctl_error(EX_DATAERR, "\"%s\" is not a domain name "
		    "(letters, digits and '-' in labels joined by dots)",
		    pos[0]);
	if (region == NULL)
		region = ctl_config(c)->region;
	else if (!config_region_ok(region))
		return ctl_error(EX_DATAERR, "--region \"%s\": not an AWS "
		    "region name such as us-east-1", region);
	if (mail_from != NULL && cmd_dkim_mail_from(mail_from, domain, mf,
	    sizeof(mf)) < 0)
		return ctl_error(EX_DATAERR, "--mail-from \"%s\": want a "
		    "subdomain of %s, such as bounce or bounce.%s", mail_from,
		    domain, domain);
	if (token != NULL && (*token == '\0' || strlen(token) >
	    DKIM_TXT_STRING || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/=-_") != strlen(token)))
		return ctl_error(EX_DATAERR, "--token \"%s\": want the "
		    "VerificationToken SES gave for %s (base64, such as "
		    "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU=)", token,
		    domain);
	if ((rc = cmd_dkim_domain_keys(c, domain, &keys, &sels,
	    &paths)) != EX_OK)
		return rc;

	buf_printf(&b, "; DNS records for %s to send mail through Amazon SES "
	    "in %s,\n; in zone-file form, for the zone of %s.\n\n", domain,
	    region, domain);
	if (token != NULL)
		buf_printf(&b, "; SES domain verification, with the token SES "
		    "gave for %s.\n", domain);
	else
		buf_printf(&b, "; SES domain verification. Replace the "
		    "placeholder with the VerificationToken\n; of: aws ses "
		    "verify-domain-identity --domain %s --region %s\n; (or run "
		    "this command again with --token).\n", domain, region);
	cmd_dkim_comment(c, b.data);
	buf_reset(&b);
	buf_printf(&b, "_amazonses.%s", domain);
	cmd_dkim_record(c, "verification", b.data, "TXT", token != NULL ?
	    token : DKIM_TOKEN_PLACEHOLDER);
	cmd_dkim_comment(c, "\n");

	cmd_dkim_records_dkim(c, domain, keys, sels, paths);

	buf_reset(&b);
	buf_printf(&b, "; SPF (RFC 7208): SES sends for %s. A name has one SPF "
	    "record: if\n; it has one already, add include:amazonses.com to it "
	    "instead.\n", domain);
	cmd_dkim_comment(c, b.data);
	cmd_dkim_record(c, "spf", domain, "TXT",
	    "v=spf1 include:amazonses.com -all");
	cmd_dkim_comment(c, "\n");

	/* A policy that cannot lose mail: p=none only asks receivers for
	   aggregate reports (RFC 7489 section 6.3), sent to postmaster,
	   which every domain has (RFC 5321 section 4.5.1). */
	buf_reset(&b);
	buf_printf(&b, "; DMARC (RFC 7489), a starter policy: p=none only asks "
	    "receivers for\n; reports, sent to postmaster@%s. Once they show "
	    "that all your\n; mail passes, move to p=quarantine, then "
	    "p=reject.\n", domain);
	cmd_dkim_comment(c, b.data);
	buf_reset(&b);
	buf_printf(&b, "_dmarc.%s", domain);
	buf_printf(&v, "v=DMARC1; p=none; rua=mailto:postmaster@%s", domain);
	cmd_dkim_record(c, "dmarc", b.data, "TXT", v.data);

	buf_reset(&b);
	if (mail_from != NULL) {
		buf_printf(&b, "\n; Custom MAIL FROM domain %s: SES takes "
		    "bounces and\n; complaints through this MX, which must be "
		    "the name's only one, and\n; its SPF record lets DMARC "
		    "align on SPF too.\n", mf);
		cmd_dkim_comment(c, b.data);
		buf_reset(&v);
		buf_printf(&v, "10 feedback-smtp.%s.amazonses.com.", region);
		cmd_dkim_record(c, "mail-from-mx", mf, "MX", v.data);
		cmd_dkim_record(c, "mail-from-spf", mf, "TXT",
		    "v=spf1 include:amazonses.com -all");
	} else {
		buf_printf(&b, "\n; Custom MAIL FROM: none; --mail-from "
		    "SUBDOMAIN prints its MX and SPF\n; records.\n");
		cmd_dkim_comment(c, b.data);
	}
	buf_free(&b);
	buf_free(&v);
	for (size_t i = 0; keys[i] != NULL; i++) {
		dkimkey_free(&keys[i]);
		free(sels[i]);
		free(paths[i]);
	}
	free(keys);
	free(sels);
	free(paths);
	return EX_OK;
}
