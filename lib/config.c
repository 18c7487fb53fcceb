/*
 * config.c - reads sesgate.conf with libinih. One table types, defaults
 * and validates every key; defaults go through the same parsers as the
 * file, so a default can never be a value the file could not hold. The
 * result is immutable; building one is not thread-safe (libinih's settings
 * are global), so programs load from one thread.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <ini.h>

#include "buf.h"
#include "cidr.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "receipt.h"
#include "redisurl.h"
#include "str.h"

enum opt_type {
	OPT_STR,
	OPT_LIST,
	OPT_BOOL,
	OPT_COUNT,	/* integer >= 0, or "unlimited" */
	OPT_INT,	/* integer in [min, max] */
	OPT_RATE,	/* number > 0, or "unlimited" */
	OPT_DURATION,	/* with unit, stored in ms */
	OPT_MODE,	/* octal file mode */
	OPT_FACILITY,
	OPT_LOGLEVEL,
	OPT_CIDRS,
	OPT_ENUM,
	OPT_REGION,
	OPT_PREFIX,
	OPT_URL,
	OPT_LISTEN,	/* list of unix:/path and inet:host:port */
	OPT_SOCKET,	/* libmilter: unix:/path, inet:port@host, inet6: */
	OPT_NAMESERVER,	/* "" or ADDR[@PORT] */
	OPT_SIZE,	/* bytes, with k, M, G (binary) suffixes */
	OPT_HEADERS,	/* list of header names that may be signed */
	OPT_CANON,	/* DKIM canonicalization header/body */
	OPT_DKIMKEY,	/* repeatable: domain selector keyfile */
	OPT_CONFSET,	/* repeatable: domain-or-user:NAME set [tags] */
	OPT_RECEIPT,	/* repeatable: a receipt rule (receipt.h) */
	OPT_PERCENT,	/* "5%": stored as 5.0 */
};

/* Options that may be given on several lines, each adding an entry. */
#define OPT_REPEATS(t)	((t) == OPT_DKIMKEY || (t) == OPT_CONFSET || \
			    (t) == OPT_RECEIPT)

struct config_opt {
	const char		*section;
	const char		*name;
	enum opt_type		 type;
	size_t			 off;
	const char		*def;
	long long		 min, max;
	const char *const	*names;	/* OPT_ENUM */
	bool			 secret;
};

static const char *const store_actions[] = {
	"defer_if_permit", "defer", "dunno", NULL
};
static const char *const sender_identities[] = { "sasl", "envelope", NULL };
static const char *const milter_actions[] = { "tempfail", "accept", NULL };
/* In the order of enum config_inbound_action. */
static const char *const spf_actions[] = { "record", "reject", NULL };
static const char *const dmarc_actions[] = {
	"record", "reject", "quarantine", NULL
};

#define OFF(f)	offsetof(struct config, f)
#define LIMITS(sec, lvl, f, d24, drate)					\
	{ sec, #lvl "_max_24h", OPT_COUNT, OFF(f.max_24h), d24, 0, 0,	\
	    NULL, false },						\
	{ sec, #lvl "_max_rate", OPT_RATE, OFF(f.max_rate), drate, 0, 0, \
	    NULL, false },						\
	{ sec, #lvl "_burst", OPT_INT, OFF(f.burst), "0", 0, 1000000000, \
	    NULL, false }

static const struct config_opt config_opts[] = {
	{ "global", "region", OPT_REGION, OFF(region), "us-east-1",
	    0, 0, NULL, false },
	{ "global", "log_facility", OPT_FACILITY, OFF(log_facility), "mail",
	    0, 0, NULL, false },
	{ "global", "log_level", OPT_LOGLEVEL, OFF(log_level), "info",
	    0, 0, NULL, false },
	{ "global", "internal_hosts", OPT_CIDRS, OFF(internal_hosts),
	    "127.0.0.0/8, ::1", 0, 0, NULL, false },
	{ "global", "user", OPT_STR, OFF(user), "sesgate", 0, 0, NULL,
	    false },
	{ "global", "allow_root", OPT_BOOL, OFF(allow_root), "no", 0, 0,
	    NULL, false },
	{ "global", "socket_group", OPT_STR, OFF(socket_group), "", 0, 0,
	    NULL, false },

	{ "redis", "url", OPT_URL, OFF(redis_url), "redis://127.0.0.1:6379/0",
	    0, 0, NULL, true },
	{ "redis", "prefix", OPT_PREFIX, OFF(redis_prefix), "sesgate:",
	    0, 0, NULL, false },
	{ "redis", "connect_timeout", OPT_DURATION,
	    OFF(redis_connect_timeout_ms), "1s", 1, 60000, NULL, false },
	{ "redis", "timeout", OPT_DURATION, OFF(redis_timeout_ms), "250ms",
	    1, 60000, NULL, false },
	{ "redis", "suppression_hash_key", OPT_STR,
	    OFF(suppression_hash_key), "", 0, 0, NULL, true },

	{ "policyd", "listen", OPT_LISTEN, OFF(policyd_listen),
	    "inet:127.0.0.1:10031", 0, 0, NULL, false },
	{ "policyd", "socket_mode", OPT_MODE, OFF(policyd_socket_mode),
	    "0660", 0, 0777, NULL, false },
	{ "policyd", "max_connections", OPT_INT,
	    OFF(policyd_max_connections), "1000", 1, 100000, NULL, false },
	{ "policyd", "idle_timeout", OPT_DURATION,
	    OFF(policyd_idle_timeout_ms), "10m", 1000, 86400000, NULL,
	    false },
	{ "policyd", "on_store_error", OPT_ENUM,
	    OFF(policyd_on_store_error), "defer_if_permit", 0, 0,
	    store_actions, false },
	{ "policyd", "verify_sender", OPT_BOOL, OFF(policyd_verify_sender),
	    "yes", 0, 0, NULL, false },
	{ "policyd", "sender_identity", OPT_ENUM,
	    OFF(policyd_sender_identity), "sasl", 0, 0, sender_identities,
	    false },
	{ "policyd", "max_recipients", OPT_INT, OFF(policyd_max_recipients),
	    "50", 1, 100000, NULL, false },
	{ "policyd", "quota_window", OPT_DURATION,
	    OFF(policyd_quota_window_ms), "24h", 1000, 366LL * 86400000,
	    NULL, false },
	{ "policyd", "sandbox", OPT_BOOL, OFF(policyd_sandbox), "no",
	    0, 0, NULL, false },
	LIMITS("policyd", sandbox, policyd_sandbox_limits, "200", "1"),
	LIMITS("policyd", account, policyd_account, "50000", "14"),
	LIMITS("policyd", domain, policyd_domain, "unlimited", "unlimited"),
	LIMITS("policyd", sender, policyd_sender, "unlimited", "unlimited"),

	{ "feedbackd", "listen", OPT_LISTEN, OFF(feedbackd_listen),
	    "inet:127.0.0.1:8025", 0, 0, NULL, false },
	{ "feedbackd", "path", OPT_STR, OFF(feedbackd_path), "/sns",
	    0, 0, NULL, false },
	{ "feedbackd", "tls_cert_file", OPT_STR, OFF(feedbackd_tls_cert), "",
	    0, 0, NULL, false },
	{ "feedbackd", "tls_key_file", OPT_STR, OFF(feedbackd_tls_key), "",
	    0, 0, NULL, false },
	{ "feedbackd", "metrics_listen", OPT_LISTEN,
	    OFF(feedbackd_metrics_listen), "inet:127.0.0.1:9125", 0, 0, NULL,
	    false },
	{ "feedbackd", "cert_dir", OPT_STR, OFF(feedbackd_cert_dir),
	    SYSCONFDIR "/sesgate/sns-certs", 0, 0, NULL, false },
	{ "feedbackd", "topic_arns", OPT_LIST, OFF(feedbackd_topic_arns), "",
	    0, 0, NULL, false },
	{ "feedbackd", "fetch", OPT_BOOL, OFF(feedbackd_fetch), "yes",
	    0, 0, NULL, false },
	{ "feedbackd", "fetch_ca_file", OPT_STR, OFF(feedbackd_fetch_ca_file),
	    "", 0, 0, NULL, false },
	{ "feedbackd", "fetch_connect_to", OPT_LIST,
	    OFF(feedbackd_fetch_connect_to), "", 0, 0, NULL, false },
	{ "feedbackd", "fetch_timeout", OPT_DURATION,
	    OFF(feedbackd_fetch_timeout_ms), "10s", 100, 120000, NULL,
	    false },
	{ "feedbackd", "max_body_size", OPT_SIZE, OFF(feedbackd_max_body),
	    "1M", 16LL << 10, 16LL << 20, NULL, false },
	{ "feedbackd", "dedupe_ttl", OPT_DURATION, OFF(feedbackd_dedupe_ttl_ms),
	    "7d", 60000, 366LL * 86400000, NULL, false },
	{ "feedbackd", "spool", OPT_STR, OFF(feedbackd_spool),
	    "/var/spool/sesgate/feedbackd.spool", 0, 0, NULL, false },
	{ "feedbackd", "bounce_review", OPT_PERCENT,
	    OFF(feedbackd_bounce_review), "5%", 0, 0, NULL, false },
	{ "feedbackd", "bounce_pause", OPT_PERCENT, OFF(feedbackd_bounce_pause),
	    "10%", 0, 0, NULL, false },
	{ "feedbackd", "complaint_review", OPT_PERCENT,
	    OFF(feedbackd_complaint_review), "0.1%", 0, 0, NULL, false },
	{ "feedbackd", "complaint_pause", OPT_PERCENT,
	    OFF(feedbackd_complaint_pause), "0.5%", 0, 0, NULL, false },
	{ "feedbackd", "user_tag", OPT_STR, OFF(feedbackd_user_tag), "",
	    0, 0, NULL, false },
	{ "feedbackd", "soft_bounce_limit", OPT_INT,
	    OFF(feedbackd_soft_limit), "0", 0, 1000, NULL, false },
	{ "feedbackd", "soft_bounce_window", OPT_DURATION,
	    OFF(feedbackd_soft_window_ms), "7d", 60000, 366LL * 86400000,
	    NULL, false },
	{ "feedbackd", "reputation_min_sends", OPT_INT,
	    OFF(feedbackd_min_sends), "200", 1, 1000000000, NULL, false },

	{ "milter", "listen", OPT_SOCKET, OFF(milter_listen),
	    "inet:8891@127.0.0.1", 0, 0, NULL, false },
	{ "milter", "outbound_daemon_names", OPT_LIST,
	    OFF(milter_outbound_daemons), "ORIGINATING", 0, 0, NULL, false },
	{ "milter", "dkim_key", OPT_DKIMKEY, OFF(milter_dkim_keys), "",
	    0, 0, NULL, false },
	{ "milter", "dual_sign", OPT_BOOL, OFF(milter_dual_sign), "no",
	    0, 0, NULL, false },
	{ "milter", "sign_subdomains", OPT_BOOL, OFF(milter_sign_subdomains),
	    "no", 0, 0, NULL, false },
	{ "milter", "canonicalization", OPT_CANON, OFF(milter_canon),
	    "relaxed/relaxed", 0, 0, NULL, false },
	/* RFC 6376 section 5.4.1's list, less Date, which SES rewrites. */
	{ "milter", "sign_headers", OPT_HEADERS, OFF(milter_sign_headers),
	    "From, Reply-To, Subject, To, Cc, Resent-Date, Resent-From, "
	    "Resent-To, Resent-Cc, In-Reply-To, References, List-Id, "
	    "List-Help, List-Unsubscribe, List-Subscribe, List-Post, "
	    "List-Owner, List-Archive", 0, 0, NULL, false },
	{ "milter", "oversign_headers", OPT_HEADERS,
	    OFF(milter_oversign_headers), "From", 0, 0, NULL, false },
	{ "milter", "max_message_size", OPT_SIZE,
	    OFF(milter_max_message_size), "10M", 1024, 40LL << 20, NULL,
	    false },
	{ "milter", "verify_from", OPT_BOOL, OFF(milter_verify_from), "yes",
	    0, 0, NULL, false },
	{ "milter", "identity_cache", OPT_DURATION,
	    OFF(milter_identity_cache_ms), "5s", 0, 3600000, NULL, false },
	{ "milter", "max_recipients", OPT_INT, OFF(milter_max_recipients),
	    "50", 1, 100000, NULL, false },
	{ "milter", "configuration_set", OPT_CONFSET,
	    OFF(milter_configuration_sets), "", 0, 0, NULL, false },
	{ "milter", "policy_checks", OPT_BOOL, OFF(milter_policy_checks), "no",
	    0, 0, NULL, false },
	{ "milter", "on_store_error", OPT_ENUM, OFF(milter_on_store_error),
	    "tempfail", 0, 0, milter_actions, false },
	{ "milter", "authserv_id", OPT_STR, OFF(milter_authserv_id), "",
	    0, 0, NULL, false },
	{ "milter", "dns_resolver", OPT_NAMESERVER, OFF(milter_dns_resolver),
	    "", 0, 0, NULL, false },
	{ "milter", "dns_timeout", OPT_DURATION, OFF(milter_dns_timeout_ms),
	    "5s", 100, 120000, NULL, false },
	{ "milter", "dns_cache_size", OPT_SIZE, OFF(milter_dns_cache_size),
	    "4M", 64LL << 10, 1LL << 30, NULL, false },
	{ "milter", "public_suffix_list", OPT_STR,
	    OFF(milter_public_suffix_list),
	    "/usr/share/publicsuffix/public_suffix_list.dat", 0, 0, NULL,
	    false },
	{ "milter", "received_spf", OPT_BOOL, OFF(milter_received_spf), "no",
	    0, 0, NULL, false },
	{ "milter", "on_spf_fail", OPT_ENUM, OFF(milter_on_spf_fail),
	    "record", 0, 0, spf_actions, false },
	{ "milter", "on_dmarc_reject", OPT_ENUM, OFF(milter_on_dmarc_reject),
	    "reject", 0, 0, dmarc_actions, false },
	{ "milter", "on_dmarc_quarantine", OPT_ENUM,
	    OFF(milter_on_dmarc_quarantine), "quarantine", 0, 0,
	    dmarc_actions, false },
	{ "milter", "on_dns_error", OPT_ENUM, OFF(milter_on_dns_error),
	    "tempfail", 0, 0, milter_actions, false },
	{ "milter", "ip_filter_allow", OPT_CIDRS, OFF(milter_ip_allow), "",
	    0, 0, NULL, false },
	{ "milter", "ip_filter_block", OPT_CIDRS, OFF(milter_ip_block), "",
	    0, 0, NULL, false },
	{ "milter", "receipt_rule", OPT_RECEIPT, OFF(milter_receipt_rules),
	    "", 0, 0, NULL, false },
	{ "milter", "receipt_stream_maxlen", OPT_INT,
	    OFF(milter_receipt_stream_maxlen), "100000", 1, 100000000, NULL,
	    false },
	{ NULL, NULL, OPT_STR, 0, NULL, 0, 0, NULL, false }
};

struct config_name {
	const char	*name;
	int		 value;
};

static const struct config_name facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
}, levels[] = {
	{ "err", LOG_ERR }, { "error", LOG_ERR }, { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

#define NOPTS	(sizeof(config_opts) / sizeof(config_opts[0]) - 1)

struct config_parse {
	struct config	*cf;
	struct buf	 errors;
	const char	*path;
	FILE		*fp;
	int		 lineno;
	bool		 mid_line;	/* the last chunk ended no line */
	bool		 seen[NOPTS];
};

static void *
config_field(struct config *cf, const struct config_opt *o)
{
	return (char *)cf + o->off;
}

static void
config_free_field(struct config *cf, const struct config_opt *o)
{
	void *f = config_field(cf, o);

	switch (o->type) {
	case OPT_STR:
	case OPT_REGION:
	case OPT_PREFIX:
	case OPT_URL:
	case OPT_SOCKET:
	case OPT_NAMESERVER:
		free(*(char **)f);
		*(char **)f = NULL;
		break;
	case OPT_LIST:
	case OPT_LISTEN:
	case OPT_HEADERS:
	case OPT_DKIMKEY:
	case OPT_CONFSET:
	case OPT_RECEIPT: {
		char **l = *(char ***)f;

		for (size_t i = 0; l != NULL && l[i] != NULL; i++)
			free(l[i]);
		free(l);
		*(char ***)f = NULL;
		break;
	}
	case OPT_CIDRS:
		cidr_list_free((struct cidr_list **)f);
		break;
	default:
		break;
	}
}

static int
config_lookup_name(const char *v, const struct config_name *t, size_t n,
    int *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(v, t[i].name) == 0) {
			*out = t[i].value;
			return 0;
		}
	}
	return -1;
}

bool
config_region_ok(const char *v)
{
	/* AWS region names: lowercase words joined by '-', ending in a
	   number (us-east-1, us-gov-west-1, ap-southeast-5). AWS's own lists
	   disagree, so the form is checked, not the name. */
	const char	*p = v;
	int		 words = 0;

	while (*p >= 'a' && *p <= 'z') {
		while (*p >= 'a' && *p <= 'z')
			p++;
		words++;
		if (*p != '-')
			return false;
		p++;
	}
	if (words < 2 || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == '\0';
}

/* A DNS name of n bytes: labels of letters, digits, '-' and '_' (DKIM
   selectors and _dmarc use it), joined by single dots. */
static bool
config_dns_name_ok(const char *v, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253 || v[0] == '.' || v[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' &&
		    v[i] != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

bool
config_header_signable(const char *name)
{
	/* SES rewrites Message-ID and Date, and its documentation says not
	   to sign Return-Path and Bounces-To; it strips every X-SES-*
	   header before delivery. A signature over them would break. */
	static const char *const never[] = {
		"Message-ID", "Date", "Return-Path", "Bounces-To",
	};

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (str_ieq(name, never[i]))
			return false;
	return strncasecmp(name, "X-SES-", 6) != 0;
}

/* A header field name (RFC 5322 section 3.6.8: printable ASCII but ':'). */
static bool
config_header_name_ok(const char *v)
{
	if (*v == '\0')
		return false;
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 33 || (unsigned char)*v > 126 ||
		    *v == ':')
			return false;
	return true;
}

/* libmilter's socket forms. */
static const char *
config_socket_check(const char *v)
{
	const char *at;

	if (strncmp(v, "unix:/", 6) == 0 || strncmp(v, "local:/", 7) == 0)
		return NULL;
	if (strncmp(v, "inet:", 5) != 0 && strncmp(v, "inet6:", 6) != 0)
		return "want unix:/path, inet:port@host or inet6:port@host";
	at = strchr(v, '@');
	if (at == NULL || at == strchr(v, ':') + 1 || at[1] == '\0')
		return "want inet:port@host (such as inet:8891@127.0.0.1)";
	return NULL;
}

/* A DNS server: "" (the system's), or an IPv4 or IPv6 address with an
   optional @PORT. */
static const char *
config_nameserver_check(const char *v)
{
	char		 addr[INET6_ADDRSTRLEN];
	const char	*at = strchr(v, '@');
	size_t		 n = at != NULL ? (size_t)(at - v) : strlen(v);
	unsigned char	 bin[sizeof(struct in6_addr)];
	long long	 port;

	if (*v == '\0')
		return NULL;
	if (n >= sizeof(addr))
		return "want an IP address, optionally with @PORT";
	memcpy(addr, v, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 &&
	    inet_pton(AF_INET6, addr, bin) != 1)
		return "want an IP address, optionally with @PORT";
	if (at != NULL && str_to_ll(at + 1, 1, 65535, &port) < 0)
		return "want a port from 1 to 65535 after @";
	return NULL;
}

/* Bytes with an optional binary suffix: 10485760, 10240k, 10M, 1G. */
static int
config_size(const char *v, long long *out)
{
	char		*end;
	long long	 n, mult = 1;

	if (!isdigit((unsigned char)*v))
		return -1;
	n = strtoll(v, &end, 10);
	if (str_ieq(end, "k") || str_ieq(end, "KiB"))
		mult = 1LL << 10;
	else if (str_ieq(end, "M") || str_ieq(end, "MiB"))
		mult = 1LL << 20;
	else if (str_ieq(end, "G") || str_ieq(end, "GiB"))
		mult = 1LL << 30;
	else if (*end != '\0')
		return -1;
	if (n > (1LL << 40) / mult)
		return -1;
	*out = n * mult;
	return 0;
}

/* Append entry e to the NULL-terminated list at f. */
static void
config_list_append(void *f, char *e)
{
	char	**l = *(char ***)f;
	size_t	 n = 0;

	while (l != NULL && l[n] != NULL)
		n++;
	l = xrealloc(l, (n + 2) * sizeof(*l));
	l[n] = e;
	l[n + 1] = NULL;
	*(char ***)f = l;
}

/* "DOMAIN SELECTOR /path/to/key": checked and stored as one line with
   the domain in lower case. The key file itself is read by the milter. */
static const char *
config_dkimkey(void *f, const char *v, char *why, size_t whylen)
{
	char	d[256], s[256], path[4096], extra[2];
	int	n = sscanf(v, "%255s %255s %4095s %1s", d, s, path, extra);

	if (*v == '\0')
		return NULL;	/* the default: no key */
	if (n != 3)
		return "want DOMAIN SELECTOR /path/to/keyfile";
	if (!config_dns_name_ok(d, strlen(d)) || strchr(d, '_') != NULL)
		return "not a domain name";
	if (!config_dns_name_ok(s, strlen(s)))
		return "not a DKIM selector (letters, digits, '-', '_', "
		    "dots)";
	if (path[0] != '/')
		return "the key file must be an absolute path";
	for (char *p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	for (char **l = *(char ***)f; l != NULL && *l != NULL; l++) {
		size_t dl = strlen(d), sl = strlen(s);

		if (strncmp(*l, d, dl) == 0 && (*l)[dl] == ' ' &&
		    strncmp(*l + dl + 1, s, sl) == 0 && (*l)[dl + 1 + sl] ==
		    ' ') {
			(void)why;
			(void)whylen;
			return "this domain and selector are given twice";
		}
	}
	{
		struct buf b = BUF_INIT;

		buf_printf(&b, "%s %s %s", d, s, path);
		config_list_append(f, b.data);
	}
	return NULL;
}

/* "WHO SET [TAG=VALUE,...]", WHO a domain or user:NAME (a SASL user):
   the X-SES-CONFIGURATION-SET (and X-SES-MESSAGE-TAGS) the milter adds.
   SES allows 0-9 A-Z a-z - _ in set names, tag names and tag values. */
static const char *
config_confset(void *f, const char *v)
{
	char		 who[400], set[128], tags[1024], extra[2];
	int		 n = sscanf(v, "%399s %127s %1023s %1s", who, set,
			    tags, extra);
	const char	*ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_";
	struct buf	 b = BUF_INIT;

	if (*v == '\0')
		return NULL;
	if (n < 2 || n > 3)
		return "want DOMAIN-or-user:NAME SET [TAG=VALUE,...]";
	if (strncmp(who, "user:", 5) == 0) {
		if (who[5] == '\0')
			return "user: without a name";
	} else if (!config_dns_name_ok(who, strlen(who))) {
		return "want a domain or user:NAME before the set";
	}
	if (strlen(set) > 64 || set[strspn(set, ok)] != '\0')
		return "a configuration set name has at most 64 letters, "
		    "digits, '-' and '_'";
	if (n == 3) {
		char *save = NULL, *copy = xstrdup(tags);

		for (char *t = strtok_r(copy, ",", &save); t != NULL;
		    t = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(t, '=');

			if (eq == NULL || eq == t || eq[1] == '\0' ||
			    t[strspn(t, ok)] != '=' ||
			    eq[1 + strspn(eq + 1, ok)] != '\0') {
				free(copy);
				return "tags are NAME=VALUE pairs joined by "
				    "',', of letters, digits, '-' and '_'";
			}
		}
		free(copy);
	}
	if (strncmp(who, "user:", 5) != 0)
		for (char *p = who; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	buf_printf(&b, "%s %s%s%s", who, set, n == 3 ? " " : "",
	    n == 3 ? tags : "");
	config_list_append(f, b.data);
	return NULL;
}

/* Parse value v for option o into cf; NULL, or what is wrong. */
static const char *
config_set(struct config *cf, const struct config_opt *o, const char *v,
    char *why, size_t whylen)
{
	void		*f = config_field(cf, o);
	long long	 ll;
	double		 d;
	int		 iv;

	switch (o->type) {
	case OPT_STR:
		config_free_field(cf, o);
		*(char **)f = xstrdup(v);
		return NULL;
	case OPT_URL: {
		struct redisurl *u = redisurl_parse(v, why, whylen);

		if (u == NULL)
			return why;
		redisurl_free(&u);
		config_free_field(cf, o);
		*(char **)f = xstrdup(v);
		return NULL;
	}
	case OPT_SOCKET:
	case OPT_NAMESERVER: {
		const char *e = o->type == OPT_SOCKET ?
		    config_socket_check(v) : config_nameserver_check(v);

		if (e != NULL)
			return e;
		config_free_field(cf, o);
		*(char **)f = xstrdup(v);
		return NULL;
	}
	case OPT_SIZE:
		if (config_size(v, &ll) < 0)
			return "want a size in bytes, or with k, M or G";
		if (ll < o->min || ll > o->max) {
			snprintf(why, whylen, "want a size from %lld to %lld "
			    "bytes", o->min, o->max);
			return why;
		}
		*(long long *)f = ll;
		return NULL;
	case OPT_CANON: {
		struct config_canon_pair	*c = f;
		char				 h[16] = "", b[16] = "";
		int				 i;

		i = sscanf(v, "%15[a-z]/%15[a-z]", h, b);
		if (i < 1 || strlen(h) + (i == 2 ? strlen(b) + 1 : 0) !=
		    strlen(v) || (!str_ieq(h, "relaxed") &&
		    !str_ieq(h, "simple")) || (i == 2 &&
		    !str_ieq(b, "relaxed") && !str_ieq(b, "simple")))
			return "want relaxed/relaxed, relaxed/simple, "
			    "simple/relaxed or simple/simple";
		c->header = str_ieq(h, "simple") ? CANON_SIMPLE :
		    CANON_RELAXED;
		/* RFC 6376 section 3.5: a lone algorithm is the header's,
		   and the body's is then simple. */
		c->body = i == 2 && str_ieq(b, "relaxed") ? CANON_RELAXED :
		    CANON_SIMPLE;
		return NULL;
	}
	case OPT_DKIMKEY:
		return config_dkimkey(f, v, why, whylen);
	case OPT_CONFSET:
		return config_confset(f, v);
	case OPT_RECEIPT: {
		struct receipt_rule r;

		if (*v == '\0')
			return NULL;
		if (receipt_rule_parse(v, &r, why, whylen) < 0)
			return why;
		receipt_rule_clear(&r);
		config_list_append(f, xstrdup(v));
		return NULL;
	}
	case OPT_PREFIX:
		for (const char *p = v; *p != '\0'; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return "no white space or control characters "
				    "in a key prefix";
		if (strlen(v) > 64)
			return "at most 64 characters";
		config_free_field(cf, o);
		*(char **)f = xstrdup(v);
		return NULL;
	case OPT_REGION:
		if (!config_region_ok(v))
			return "not an AWS region name such as us-east-1";
		config_free_field(cf, o);
		*(char **)f = xstrdup(v);
		return NULL;
	case OPT_LIST:
	case OPT_LISTEN:
	case OPT_HEADERS: {
		char	*copy = xstrdup(v), *save = NULL, *tok;
		char	**l = xcalloc(1, sizeof(*l));
		size_t	 n = 0;

		for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &save)) {
			if (o->type == OPT_HEADERS &&
			    (!config_header_name_ok(tok) ||
			    !config_header_signable(tok))) {
				snprintf(why, whylen, config_header_name_ok(
				    tok) ? "%s is rewritten or removed by SES "
				    "and must not be signed" : "\"%s\" is not "
				    "a header name", tok);
				for (size_t i = 0; i < n; i++)
					free(l[i]);
				free(l);
				free(copy);
				return why;
			}
			if (o->type == OPT_LISTEN &&
			    strncmp(tok, "unix:/", 6) != 0 &&
			    strncmp(tok, "inet:", 5) != 0) {
				snprintf(why, whylen, "\"%s\" is neither "
				    "unix:/path nor inet:host:port", tok);
				for (size_t i = 0; i < n; i++)
					free(l[i]);
				free(l);
				free(copy);
				return why;
			}
			l = xrealloc(l, (n + 2) * sizeof(*l));
			l[n++] = xstrdup(tok);
			l[n] = NULL;
		}
		free(copy);
		if (o->type == OPT_LISTEN && n == 0) {
			free(l);
			return "no socket given";
		}
		config_free_field(cf, o);
		*(char ***)f = l;
		return NULL;
	}
	case OPT_BOOL:
		if (str_ieq(v, "yes") || str_ieq(v, "true") ||
		    str_ieq(v, "on") || strcmp(v, "1") == 0)
			*(bool *)f = true;
		else if (str_ieq(v, "no") || str_ieq(v, "false") ||
		    str_ieq(v, "off") || strcmp(v, "0") == 0)
			*(bool *)f = false;
		else
			return "want yes or no";
		return NULL;
	case OPT_COUNT:
		if (str_ieq(v, "unlimited")) {
			*(long long *)f = CONFIG_UNLIMITED;
			return NULL;
		}
		if (str_to_ll(v, 0, 1000000000000LL, &ll) < 0)
			return "want a whole number >= 0 or \"unlimited\"";
		*(long long *)f = ll;
		return NULL;
	case OPT_INT:
		if (str_to_ll(v, o->min, o->max, &ll) < 0) {
			snprintf(why, whylen, "want a whole number from %lld "
			    "to %lld", o->min, o->max);
			return why;
		}
		*(long long *)f = ll;
		return NULL;
	case OPT_PERCENT: {
		char	num[32];
		size_t	n = strlen(v);

		if (n < 2 || n >= sizeof(num) || v[n - 1] != '%')
			return "want a percentage such as 5% or 0.1%";
		memcpy(num, v, n - 1);
		num[n - 1] = '\0';
		if (str_to_double(num, 0.001, 100, &d) < 0)
			return "want a percentage from 0.001% to 100%";
		*(double *)f = d;
		return NULL;
	}
	case OPT_RATE:
		if (str_ieq(v, "unlimited")) {
			*(double *)f = CONFIG_UNLIMITED;
			return NULL;
		}
		if (str_to_double(v, 0.001, 1e9, &d) < 0)
			return "want a number of messages per second "
			    "(0.001 or more) or \"unlimited\"";
		*(double *)f = d;
		return NULL;
	case OPT_DURATION:
		if (str_to_duration_ms(v, &ll) < 0)
			return "want a duration such as 250ms, 30s, 10m, "
			    "24h or 7d";
		if (ll < o->min || ll > o->max) {
			snprintf(why, whylen, "want a duration from %lldms "
			    "to %lldms", o->min, o->max);
			return why;
		}
		*(long long *)f = ll;
		return NULL;
	case OPT_MODE: {
		char *end;

		ll = strtoll(v, &end, 8);
		if (*v == '\0' || *end != '\0' || ll < 0 || ll > o->max)
			return "want an octal mode such as 0660";
		*(long long *)f = ll;
		return NULL;
	}
	case OPT_FACILITY:
		if (config_lookup_name(v, facilities,
		    sizeof(facilities) / sizeof(facilities[0]), &iv) < 0)
			return "want mail, daemon, user or local0..local7";
		*(int *)f = iv;
		return NULL;
	case OPT_LOGLEVEL:
		if (config_lookup_name(v, levels,
		    sizeof(levels) / sizeof(levels[0]), &iv) < 0)
			return "want err, warning, notice, info or debug";
		*(int *)f = iv;
		return NULL;
	case OPT_CIDRS: {
		struct cidr_list *l = cidr_list_parse(v, why, whylen);

		if (l == NULL)
			return why;
		config_free_field(cf, o);
		*(struct cidr_list **)f = l;
		return NULL;
	}
	case OPT_ENUM:
		for (int i = 0; o->names[i] != NULL; i++) {
			if (str_ieq(v, o->names[i])) {
				*(int *)f = i;
				return NULL;
			}
		}
		{
			struct buf b = BUF_INIT;

			buf_puts(&b, "want one of");
			for (int i = 0; o->names[i] != NULL; i++)
				buf_printf(&b, "%s %s", i ? "," : "",
				    o->names[i]);
			snprintf(why, whylen, "%s", b.data);
			buf_free(&b);
		}
		return why;
	}
	return "unknown option type";
}

static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parse	*p = stream;
	char			*r = fgets(str, num, p->fp);

	/* libinih reads a long line in several chunks (its buffer grows):
	   a line starts only after a chunk that ended one. */
	if (r != NULL && !p->mid_line)
		p->lineno++;
	if (r != NULL)
		p->mid_line = strchr(r, '\n') == NULL;
	return r;
}

static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_parse	*p = user;
	bool			 known_section = false;
	char			 why[256];
	const char		*err;

	for (size_t i = 0; i < NOPTS; i++) {
		const struct config_opt *o = &config_opts[i];

		if (strcmp(o->section, section) != 0)
			continue;
		known_section = true;
		if (strcmp(o->name, name) != 0)
			continue;
		if (p->seen[i] && !OPT_REPEATS(o->type)) {
			buf_printf(&p->errors, "%s:%d: [%s] %s: given twice\n",
			    p->path, p->lineno, section, name);
			return 1;
		}
		p->seen[i] = true;
		err = config_set(p->cf, o, value, why, sizeof(why));
		if (err != NULL)
			buf_printf(&p->errors, "%s:%d: [%s] %s: bad value "
			    "\"%s\": %s\n", p->path, p->lineno, section, name,
			    o->secret ? "(hidden)" : value, err);
		return 1;
	}
	if (!known_section)
		buf_printf(&p->errors, "%s:%d: [%s] %s: unknown section "
		    "\"[%s]\"\n", p->path, p->lineno, section, name,
		    section);
	else
		buf_printf(&p->errors, "%s:%d: [%s] %s: unknown key\n",
		    p->path, p->lineno, section, name);
	return 1;
}

struct config *
config_defaults(void)
{
	struct config	*cf = xcalloc(1, sizeof(*cf));
	char		 why[256];

	for (size_t i = 0; i < NOPTS; i++) {
		const char *err = config_set(cf, &config_opts[i],
		    config_opts[i].def, why, sizeof(why));

		if (err != NULL) {
			fprintf(stderr, "default of %s: %s\n",
			    config_opts[i].name, err);
			abort();
		}
	}
	return cf;
}

struct config *
config_load(const char *path, char **errors_out)
{
	struct config_parse	p;
	int			r;

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.cf = config_defaults();
	p.cf->path = xstrdup(path);
	*errors_out = NULL;
	p.fp = fopen(path, "r");
	if (p.fp == NULL) {
		buf_printf(&p.errors, "%s: cannot read: %m\n", path);
		goto fail;
	}
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = 65536;
	ini_allow_multiline = false;
	ini_allow_inline_comments = true;
	ini_stop_on_first_error = false;
	r = ini_parse_stream(config_reader, &p, config_handler, &p);
	fclose(p.fp);
	if (r > 0)
		buf_printf(&p.errors, "%s:%d: not a [section] or key = value "
		    "line\n", path, r);
	else if (r < 0)
		buf_printf(&p.errors, "%s: cannot parse (%d)\n", path, r);
	if (p.errors.len > 0)
		goto fail;
	return p.cf;
fail:
	config_free(&p.cf);
	*errors_out = p.errors.data;
	return NULL;
}

/* A Redis URL with its password, if any, shown as "(set)". */
static void
config_print_url(const char *url, FILE *fp)
{
	const char *auth = strstr(url, "://"), *at, *colon, *end;

	if (auth == NULL) {
		fputs(url, fp);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (at == NULL) {
		fputs(url, fp);
		return;
	}
	colon = memchr(auth, ':', (size_t)(at - auth));
	fprintf(fp, "%.*s(set)%s", (int)((colon != NULL ? colon + 1 : auth) -
	    url), url, at);
}

static void
config_print_value(const struct config *cf, const struct config_opt *o,
    FILE *fp)
{
	const void *f = (const char *)cf + o->off;

	switch (o->type) {
	case OPT_URL:
		config_print_url(*(char *const *)f, fp);
		break;
	case OPT_SOCKET:
	case OPT_NAMESERVER:
		fputs(*(char *const *)f, fp);
		break;
	case OPT_SIZE: {
		long long n = *(const long long *)f;

		if (n != 0 && n % (1LL << 30) == 0)
			fprintf(fp, "%lldG", n >> 30);
		else if (n != 0 && n % (1LL << 20) == 0)
			fprintf(fp, "%lldM", n >> 20);
		else if (n != 0 && n % (1LL << 10) == 0)
			fprintf(fp, "%lldk", n >> 10);
		else
			fprintf(fp, "%lld", n);
		break;
	}
	case OPT_CANON: {
		const struct config_canon_pair *c = f;

		fprintf(fp, "%s/%s", c->header == CANON_SIMPLE ? "simple" :
		    "relaxed", c->body == CANON_SIMPLE ? "simple" : "relaxed");
		break;
	}
	case OPT_DKIMKEY:
	case OPT_CONFSET:
	case OPT_RECEIPT:
		break;		/* one line per entry: config_print() */
	case OPT_STR:
	case OPT_REGION:
	case OPT_PREFIX:
		if (o->secret && **(char *const *)f != '\0')
			fputs("(set)", fp);
		else
			fputs(*(char *const *)f, fp);
		break;
	case OPT_LIST:
	case OPT_LISTEN:
	case OPT_HEADERS: {
		char *const *l = *(char **const *)f;

		for (size_t i = 0; l[i] != NULL; i++)
			fprintf(fp, "%s%s", i ? ", " : "", l[i]);
		break;
	}
	case OPT_BOOL:
		fputs(*(const bool *)f ? "yes" : "no", fp);
		break;
	case OPT_COUNT:
		if (*(const long long *)f == CONFIG_UNLIMITED)
			fputs("unlimited", fp);
		else
			fprintf(fp, "%lld", *(const long long *)f);
		break;
	case OPT_INT:
		fprintf(fp, "%lld", *(const long long *)f);
		break;
	case OPT_PERCENT:
		fprintf(fp, "%g%%", *(const double *)f);
		break;
	case OPT_RATE:
		if (*(const double *)f == CONFIG_UNLIMITED)
			fputs("unlimited", fp);
		else
			fprintf(fp, "%g", *(const double *)f);
		break;
	case OPT_DURATION:
		fprintf(fp, "%lldms", *(const long long *)f);
		break;
	case OPT_MODE:
		fprintf(fp, "0%03llo", *(const long long *)f);
		break;
	case OPT_FACILITY:
		for (size_t i = 0; i < sizeof(facilities) /
		    sizeof(facilities[0]); i++)
			if (facilities[i].value == *(const int *)f) {
				fputs(facilities[i].name, fp);
				break;
			}
		break;
	case OPT_LOGLEVEL:
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]);
		    i++)
			if (levels[i].value == *(const int *)f) {
				fputs(levels[i].name, fp);
				break;
			}
		break;
	case OPT_CIDRS:
		fputs(cidr_list_text(*(struct cidr_list *const *)f), fp);
		break;
	case OPT_ENUM:
		fputs(o->names[*(const int *)f], fp);
		break;
	}
}

void
config_print(const struct config *cf, FILE *fp)
{
	const char *section = "";

	for (size_t i = 0; i < NOPTS; i++) {
		const struct config_opt *o = &config_opts[i];

		if (strcmp(section, o->section) != 0) {
			fprintf(fp, "%s[%s]\n", i ? "\n" : "", o->section);
			section = o->section;
		}
		if (OPT_REPEATS(o->type)) {
			char *const *l = *(char **const *)((const char *)cf +
			    o->off);

			if (l == NULL || l[0] == NULL)
				fprintf(fp, "# %s: none\n", o->name);
			for (size_t k = 0; l != NULL && l[k] != NULL; k++)
				fprintf(fp, "%s = %s\n", o->name, l[k]);
			continue;
		}
		fprintf(fp, "%s = ", o->name);
		config_print_value(cf, o, fp);
		fputc('\n', fp);
	}
}

bool
config_option(size_t i, const char **section_out, const char **name_out)
{
	if (i >= NOPTS)
		return false;
	*section_out = config_opts[i].section;
	*name_out = config_opts[i].name;
	return true;
}

const char *
config_store_action_name(int action)
{
	return store_actions[action];
}

void
config_free(struct config **cfp)
{
	struct config *cf = *cfp;

	if (cf == NULL)
		return;
	*cfp = NULL;
	for (size_t i = 0; i < NOPTS; i++)
		config_free_field(cf, &config_opts[i]);
	free(cf->path);
	free(cf);
}

struct config *
config_reload(const char *path, const char *who)
{
	char		*errors = NULL;
	struct config	*cf = config_load(path, &errors);

	if (cf == NULL) {
		char prefix[64];

		log_err(NULL, "%s: reload: configuration errors; keeping the "
		    "running one", who);
		(void)snprintf(prefix, sizeof(prefix), "%s: reload", who);
		log_lines(LOG_ERR, NULL, prefix, errors);
		free(errors);
	}
	return cf;
}
