/*
 * test_config.c - sesgate.conf (lib/config.c): the defaults, a complete
 * valid file, every kind of bad value and how its error names the file,
 * line and key, and the printed effective configuration. Files are
 * written under a private mkdtemp() directory and removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "cidr.h"
#include "config.h"
#include "unit.h"

struct conf_tmp {
	char	dir[64];
	char	path[96];
};

static void
conf_write(struct conf_tmp *t, const char *text)
{
	const char	*tmpdir = getenv("TMPDIR");
	FILE		*fp;

	snprintf(t->dir, sizeof(t->dir), "%s/sesgate-unit-XXXXXX",
	    tmpdir != NULL && *tmpdir != '\0' && strlen(tmpdir) < 32 ?
	    tmpdir : "/tmp");
	ck_assert_msg(mkdtemp(t->dir) != NULL, "mkdtemp %s", t->dir);
	snprintf(t->path, sizeof(t->path), "%s/sesgate.conf", t->dir);
	if (text == NULL)
		return;
	fp = fopen(t->path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
conf_remove(struct conf_tmp *t)
{
	(void)unlink(t->path);
	ck_assert_msg(rmdir(t->dir) == 0, "rmdir %s", t->dir);
}

/* Load text as a file; the config or NULL with *errors_out. */
static struct config *
conf_load(const char *text, struct conf_tmp *t, char **errors_out)
{
	struct config *cf;

	conf_write(t, text);
	cf = config_load(t->path, errors_out);
	conf_remove(t);
	return cf;
}

/* --- defaults --------------------------------------------------------- */

static void
conf_expect_defaults(const char *fn, const struct config *cf)
{
	EXPECT_STR(fn, "region", cf->region, "us-east-1");
	EXPECT_INT(fn, "log_facility", cf->log_facility, LOG_MAIL);
	EXPECT_INT(fn, "log_level", cf->log_level, LOG_INFO);
	EXPECT_STR(fn, "internal_hosts", cidr_list_text(cf->internal_hosts),
	    "127.0.0.0/8, ::1");
	EXPECT_INT(fn, "internal_hosts: 127.0.0.1",
	    cidr_list_match(cf->internal_hosts, "127.0.0.1"), 1);
	EXPECT_INT(fn, "internal_hosts: ::1",
	    cidr_list_match(cf->internal_hosts, "::1"), 1);
	EXPECT_INT(fn, "internal_hosts: 192.0.2.1",
	    cidr_list_match(cf->internal_hosts, "192.0.2.1"), 0);
	EXPECT_STR(fn, "url", cf->redis_url, "redis://127.0.0.1:6379/0");
	EXPECT_STR(fn, "prefix", cf->redis_prefix, "sesgate:");
	EXPECT_INT(fn, "connect_timeout", cf->redis_connect_timeout_ms, 1000);
	EXPECT_INT(fn, "timeout", cf->redis_timeout_ms, 250);
	EXPECT_STR(fn, "suppression_hash_key", cf->suppression_hash_key, "");
	EXPECT_STR(fn, "listen[0]", cf->policyd_listen[0],
	    "inet:127.0.0.1:10031");
	EXPECT_STR(fn, "listen[1]", cf->policyd_listen[1], NULL);
	EXPECT_INT(fn, "socket_mode", cf->policyd_socket_mode, 0660);
	EXPECT_INT(fn, "max_connections", cf->policyd_max_connections, 1000);
	EXPECT_INT(fn, "idle_timeout", cf->policyd_idle_timeout_ms, 600000);
	EXPECT_INT(fn, "on_store_error", cf->policyd_on_store_error,
	    STORE_ACTION_DEFER_IF_PERMIT);
	EXPECT_INT(fn, "verify_sender", cf->policyd_verify_sender, 1);
	EXPECT_INT(fn, "sender_identity", cf->policyd_sender_identity,
	    SENDER_IDENTITY_SASL);
	EXPECT_INT(fn, "max_recipients", cf->policyd_max_recipients, 50);
	EXPECT_INT(fn, "quota_window", cf->policyd_quota_window_ms, 86400000);
	EXPECT_INT(fn, "sandbox", cf->policyd_sandbox, 0);
	EXPECT_INT(fn, "sandbox_max_24h", cf->policyd_sandbox_limits.max_24h,
	    200);
	EXPECT_INT(fn, "sandbox_max_rate", cf->policyd_sandbox_limits.max_rate,
	    1);
	EXPECT_INT(fn, "sandbox_burst", cf->policyd_sandbox_limits.burst, 0);
	EXPECT_INT(fn, "account_max_24h", cf->policyd_account.max_24h, 50000);
	EXPECT_INT(fn, "account_max_rate", cf->policyd_account.max_rate, 14);
	EXPECT_INT(fn, "account_burst", cf->policyd_account.burst, 0);
	EXPECT_INT(fn, "domain_max_24h", cf->policyd_domain.max_24h,
	    CONFIG_UNLIMITED);
	EXPECT_INT(fn, "domain_max_rate", cf->policyd_domain.max_rate,
	    CONFIG_UNLIMITED);
	EXPECT_INT(fn, "domain_burst", cf->policyd_domain.burst, 0);
	EXPECT_INT(fn, "sender_max_24h", cf->policyd_sender.max_24h,
	    CONFIG_UNLIMITED);
	EXPECT_INT(fn, "sender_max_rate", cf->policyd_sender.max_rate,
	    CONFIG_UNLIMITED);
	EXPECT_INT(fn, "sender_burst", cf->policyd_sender.burst, 0);
}

START_TEST(test_defaults)
{
	struct config *cf = config_defaults();

	conf_expect_defaults("config_defaults", cf);
	config_free(&cf);
	ck_assert_ptr_null(cf);
	config_free(&cf);
}
END_TEST

START_TEST(test_empty_file)
{
	struct conf_tmp	 t;
	char		*errors = NULL;
	struct config	*cf = conf_load("; nothing but a comment\n\n", &t,
			    &errors);

	ck_assert_msg(cf != NULL, "config_load: \"empty file\": %s", errors);
	EXPECT_STR("config_load", "empty file: errors", errors, NULL);
	EXPECT_STR("config_load", "empty file: path", cf->path, t.path);
	conf_expect_defaults("config_load (empty file)", cf);
	config_free(&cf);
}
END_TEST

/* --- a full valid file ------------------------------------------------ */

static const char full_conf[] =
	"; every key, none at its default\n"
	"[global]\n"
	"region = eu-west-1 ; Ireland\n"
	"log_facility = local3\n"
	"log_level = debug\n"
	"internal_hosts = 10.0.0.0/8, 192.168.1.0/24 2001:db8::/32\n"
	"\n"
	"[redis]\n"
	"url = sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster?db=2\n"
	"prefix = mail:ses:\n"
	"connect_timeout = 2s\n"
	"timeout = 100ms\n"
	"suppression_hash_key = s3cret\n"
	"\n"
	"[policyd]\n"
	"listen = unix:/run/sesgate/policyd.sock, inet:[::1]:10032\n"
	"socket_mode = 0600\n"
	"max_connections = 200\n"
	"idle_timeout = 30s\n"
	"on_store_error = DUNNO\n"
	"verify_sender = off\n"
	"sender_identity = envelope\n"
	"max_recipients = 100\n"
	"quota_window = 1h\n"
	"sandbox = yes\n"
	"sandbox_max_24h = 300\n"
	"sandbox_max_rate = 2\n"
	"sandbox_burst = 3\n"
	"account_max_24h = 100000\n"
	"account_max_rate = 40.5\n"
	"account_burst = 80\n"
	"domain_max_24h = 5000\n"
	"domain_max_rate = 5\n"
	"domain_burst = 10\n"
	"sender_max_24h = 0\n"
	"sender_max_rate = 0.5\n"
	"sender_burst = 1\n"
	"\n"
	"[milter]\n"
	"listen = inet:8891@127.0.0.1\n"
	"outbound_daemon_names = ORIGINATING, submission\n"
	"dkim_key = Example.COM mail2026 /etc/sesgate/keys/example.pem\n"
	"dkim_key = example.com ed2026   /etc/sesgate/keys/example-ed.pem\n"
	"dual_sign = yes\n"
	"sign_subdomains = yes\n"
	"canonicalization = simple\n"
	"sign_headers = From To Subject MIME-Version\n"
	"oversign_headers = From, Subject\n"
	"max_message_size = 40M\n"
	"verify_from = no\n"
	"max_recipients = 20\n"
	"configuration_set = example.com marketing\n"
	"configuration_set = user:alice@example.com app1 team=web,env=prod\n"
	"policy_checks = yes\n"
	"on_store_error = accept\n";

static void
conf_expect_full(const char *fn, const struct config *cf)
{
	EXPECT_STR(fn, "region", cf->region, "eu-west-1");
	EXPECT_INT(fn, "log_facility", cf->log_facility, LOG_LOCAL3);
	EXPECT_INT(fn, "log_level", cf->log_level, LOG_DEBUG);
	EXPECT_STR(fn, "internal_hosts", cidr_list_text(cf->internal_hosts),
	    "10.0.0.0/8, 192.168.1.0/24, 2001:db8::/32");
	EXPECT_INT(fn, "internal_hosts: 127.0.0.1",
	    cidr_list_match(cf->internal_hosts, "127.0.0.1"), 0);
	EXPECT_INT(fn, "internal_hosts: 2001:db8::5",
	    cidr_list_match(cf->internal_hosts, "2001:db8::5"), 1);
	EXPECT_STR(fn, "url", cf->redis_url,
	    "sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster?db=2");
	EXPECT_STR(fn, "prefix", cf->redis_prefix, "mail:ses:");
	EXPECT_INT(fn, "connect_timeout", cf->redis_connect_timeout_ms, 2000);
	EXPECT_INT(fn, "timeout", cf->redis_timeout_ms, 100);
	EXPECT_STR(fn, "suppression_hash_key", cf->suppression_hash_key,
	    "s3cret");
	EXPECT_STR(fn, "listen[0]", cf->policyd_listen[0],
	    "unix:/run/sesgate/policyd.sock");
	EXPECT_STR(fn, "listen[1]", cf->policyd_listen[1], "inet:[::1]:10032");
	EXPECT_STR(fn, "listen[2]", cf->policyd_listen[2], NULL);
	EXPECT_INT(fn, "socket_mode", cf->policyd_socket_mode, 0600);
	EXPECT_INT(fn, "max_connections", cf->policyd_max_connections, 200);
	EXPECT_INT(fn, "idle_timeout", cf->policyd_idle_timeout_ms, 30000);
	EXPECT_INT(fn, "on_store_error", cf->policyd_on_store_error,
	    STORE_ACTION_DUNNO);
	EXPECT_INT(fn, "verify_sender", cf->policyd_verify_sender, 0);
	EXPECT_INT(fn, "sender_identity", cf->policyd_sender_identity,
	    SENDER_IDENTITY_ENVELOPE);
	EXPECT_INT(fn, "max_recipients", cf->policyd_max_recipients, 100);
	EXPECT_INT(fn, "quota_window", cf->policyd_quota_window_ms, 3600000);
	EXPECT_INT(fn, "sandbox", cf->policyd_sandbox, 1);
	EXPECT_INT(fn, "sandbox_max_24h", cf->policyd_sandbox_limits.max_24h,
	    300);
	EXPECT_INT(fn, "sandbox_max_rate", cf->policyd_sandbox_limits.max_rate,
	    2);
	EXPECT_INT(fn, "sandbox_burst", cf->policyd_sandbox_limits.burst, 3);
	EXPECT_INT(fn, "account_max_24h", cf->policyd_account.max_24h, 100000);
	EXPECT_INT(fn, "account_max_rate x 10",
	    cf->policyd_account.max_rate * 10, 405);
	EXPECT_INT(fn, "account_burst", cf->policyd_account.burst, 80);
	EXPECT_INT(fn, "domain_max_24h", cf->policyd_domain.max_24h, 5000);
	EXPECT_INT(fn, "domain_max_rate", cf->policyd_domain.max_rate, 5);
	EXPECT_INT(fn, "domain_burst", cf->policyd_domain.burst, 10);
	EXPECT_INT(fn, "sender_max_24h", cf->policyd_sender.max_24h, 0);
	EXPECT_INT(fn, "sender_max_rate x 10",
	    cf->policyd_sender.max_rate * 10, 5);
	EXPECT_INT(fn, "sender_burst", cf->policyd_sender.burst, 1);
	EXPECT_STR(fn, "milter listen", cf->milter_listen,
	    "inet:8891@127.0.0.1");
	EXPECT_STR(fn, "outbound_daemons[1]", cf->milter_outbound_daemons[1],
	    "submission");
	EXPECT_STR(fn, "dkim_key[0]", cf->milter_dkim_keys[0],
	    "example.com mail2026 /etc/sesgate/keys/example.pem");
	EXPECT_STR(fn, "dkim_key[1]", cf->milter_dkim_keys[1],
	    "example.com ed2026 /etc/sesgate/keys/example-ed.pem");
	EXPECT_STR(fn, "dkim_key[2]", cf->milter_dkim_keys[2], NULL);
	EXPECT_INT(fn, "dual_sign", cf->milter_dual_sign, 1);
	EXPECT_INT(fn, "sign_subdomains", cf->milter_sign_subdomains, 1);
	EXPECT_INT(fn, "canonicalization (header)", cf->milter_canon.header,
	    CANON_SIMPLE);
	EXPECT_INT(fn, "canonicalization (body)", cf->milter_canon.body,
	    CANON_SIMPLE);
	EXPECT_STR(fn, "sign_headers[3]", cf->milter_sign_headers[3],
	    "MIME-Version");
	EXPECT_STR(fn, "oversign_headers[1]", cf->milter_oversign_headers[1],
	    "Subject");
	EXPECT_INT(fn, "max_message_size", cf->milter_max_message_size,
	    40 << 20);
	EXPECT_INT(fn, "verify_from", cf->milter_verify_from, 0);
	EXPECT_INT(fn, "milter max_recipients", cf->milter_max_recipients, 20);
	EXPECT_STR(fn, "configuration_set[1]",
	    cf->milter_configuration_sets[1],
	    "user:alice@example.com app1 team=web,env=prod");
	EXPECT_INT(fn, "policy_checks", cf->milter_policy_checks, 1);
	EXPECT_INT(fn, "milter on_store_error", cf->milter_on_store_error,
	    MILTER_ACTION_ACCEPT);
}

START_TEST(test_full_file)
{
	struct conf_tmp	 t;
	char		*errors = NULL;
	struct config	*cf = conf_load(full_conf, &t, &errors);

	ck_assert_msg(cf != NULL, "config_load: \"full file\": %s", errors);
	conf_expect_full("config_load (full file)", cf);
	config_free(&cf);
}
END_TEST

/* Every way of writing yes and no. */
START_TEST(test_bools)
{
	static const struct {
		const char	*text;
		int		 want;
	} cases[] = {
		{ "yes", 1 }, { "Yes", 1 }, { "true", 1 }, { "ON", 1 },
		{ "1", 1 }, { "no", 0 }, { "NO", 0 }, { "false", 0 },
		{ "off", 0 }, { "0", 0 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct conf_tmp	 t;
		char		 text[128], *errors = NULL;
		struct config	*cf;

		snprintf(text, sizeof(text), "[policyd]\nsandbox = %s\n",
		    cases[i].text);
		cf = conf_load(text, &t, &errors);
		ck_assert_msg(cf != NULL, "config_load: \"sandbox = %s\": %s",
		    cases[i].text, errors);
		EXPECT_INT("config_load", cases[i].text, cf->policyd_sandbox,
		    cases[i].want);
		config_free(&cf);
	}
}
END_TEST

/* Durations: every unit, and a bare number meaning seconds. */
START_TEST(test_durations)
{
	static const struct {
		const char	*text;
		long long	 want;
	} cases[] = {
		{ "1500ms", 1500 }, { "30s", 30000 }, { "30", 30000 },
		{ "10m", 600000 }, { "24h", 86400000 }, { "7d", 604800000 },
		{ "1w", 604800000 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct conf_tmp	 t;
		char		 text[128], *errors = NULL;
		struct config	*cf;

		snprintf(text, sizeof(text), "[policyd]\nquota_window = %s\n",
		    cases[i].text);
		cf = conf_load(text, &t, &errors);
		ck_assert_msg(cf != NULL, "config_load: \"quota_window = "
		    "%s\": %s", cases[i].text, errors);
		EXPECT_INT("config_load", cases[i].text,
		    cf->policyd_quota_window_ms, cases[i].want);
		config_free(&cf);
	}
}
END_TEST

/* --- errors ----------------------------------------------------------- */

/* want is the whole error text after the file name. */
static const struct {
	const char	*name;
	const char	*text;
	const char	*want;
} error_cases[] = {
	{ "bool", "[policyd]\nsandbox = maybe\n",
	    ":2: [policyd] sandbox: bad value \"maybe\": want yes or no\n" },
	{ "count: negative", "[policyd]\naccount_max_24h = -5\n",
	    ":2: [policyd] account_max_24h: bad value \"-5\": want a whole "
	    "number >= 0 or \"unlimited\"\n" },
	{ "count: not a number", "[policyd]\n\ndomain_max_24h = lots\n",
	    ":3: [policyd] domain_max_24h: bad value \"lots\": want a whole "
	    "number >= 0 or \"unlimited\"\n" },
	{ "count: fraction", "[policyd]\nsender_max_24h = 1.5\n",
	    ":2: [policyd] sender_max_24h: bad value \"1.5\": want a whole "
	    "number >= 0 or \"unlimited\"\n" },
	{ "rate: zero", "[policyd]\naccount_max_rate = 0\n",
	    ":2: [policyd] account_max_rate: bad value \"0\": want a number "
	    "of messages per second (0.001 or more) or \"unlimited\"\n" },
	{ "rate: not a number", "[policyd]\nsender_max_rate = fast\n",
	    ":2: [policyd] sender_max_rate: bad value \"fast\": want a number "
	    "of messages per second (0.001 or more) or \"unlimited\"\n" },
	{ "int: below minimum", "[policyd]\nmax_recipients = 0\n",
	    ":2: [policyd] max_recipients: bad value \"0\": want a whole "
	    "number from 1 to 100000\n" },
	{ "int: burst negative", "[policyd]\naccount_burst = -1\n",
	    ":2: [policyd] account_burst: bad value \"-1\": want a whole "
	    "number from 0 to 1000000000\n" },
	{ "duration: unknown unit", "[redis]\ntimeout = 10x\n",
	    ":2: [redis] timeout: bad value \"10x\": want a duration such as "
	    "250ms, 30s, 10m, 24h or 7d\n" },
	{ "duration: no number", "[redis]\ntimeout = soon\n",
	    ":2: [redis] timeout: bad value \"soon\": want a duration such as "
	    "250ms, 30s, 10m, 24h or 7d\n" },
	{ "duration: with unit, too long", "[redis]\ntimeout = 2m\n",
	    ":2: [redis] timeout: bad value \"2m\": want a duration from 1ms "
	    "to 60000ms\n" },
	{ "duration: without unit, too long", "[redis]\ntimeout = 61\n",
	    ":2: [redis] timeout: bad value \"61\": want a duration from 1ms "
	    "to 60000ms\n" },
	{ "duration: quota window too short",
	    "[policyd]\nquota_window = 500ms\n",
	    ":2: [policyd] quota_window: bad value \"500ms\": want a duration "
	    "from 1000ms to 31622400000ms\n" },
	{ "mode: not octal", "[policyd]\nsocket_mode = 0999\n",
	    ":2: [policyd] socket_mode: bad value \"0999\": want an octal "
	    "mode such as 0660\n" },
	{ "mode: too large", "[policyd]\nsocket_mode = 01777\n",
	    ":2: [policyd] socket_mode: bad value \"01777\": want an octal "
	    "mode such as 0660\n" },
	{ "facility", "[global]\nlog_facility = kern\n",
	    ":2: [global] log_facility: bad value \"kern\": want mail, "
	    "daemon, user or local0..local7\n" },
	{ "level", "[global]\nlog_level = loud\n",
	    ":2: [global] log_level: bad value \"loud\": want err, warning, "
	    "notice, info or debug\n" },
	{ "CIDR: prefix too long", "[global]\ninternal_hosts = 10.0.0.0/33\n",
	    ":2: [global] internal_hosts: bad value \"10.0.0.0/33\": not an "
	    "address or network: \"10.0.0.0/33\"\n" },
	{ "CIDR: host name", "[global]\n"
	    "internal_hosts = 127.0.0.1, localhost\n",
	    ":2: [global] internal_hosts: bad value \"127.0.0.1, localhost\": "
	    "not an address or network: \"localhost\"\n" },
	{ "enum: on_store_error", "[policyd]\non_store_error = reject\n",
	    ":2: [policyd] on_store_error: bad value \"reject\": want one of "
	    "defer_if_permit, defer, dunno\n" },
	{ "enum: sender_identity", "[policyd]\nsender_identity = login\n",
	    ":2: [policyd] sender_identity: bad value \"login\": want one of "
	    "sasl, envelope\n" },
	{ "region: upper case", "[global]\nregion = US-EAST-1\n",
	    ":2: [global] region: bad value \"US-EAST-1\": not an AWS region "
	    "name such as us-east-1\n" },
	{ "region: no number", "[global]\nregion = us-east\n",
	    ":2: [global] region: bad value \"us-east\": not an AWS region "
	    "name such as us-east-1\n" },
	{ "region: one word", "[global]\nregion = east-1\n",
	    ":2: [global] region: bad value \"east-1\": not an AWS region "
	    "name such as us-east-1\n" },
	{ "prefix with space", "[redis]\nprefix = ses gate:\n",
	    ":2: [redis] prefix: bad value \"ses gate:\": no white space or "
	    "control characters in a key prefix\n" },
	{ "prefix too long", "[redis]\nprefix = "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    ":2: [redis] prefix: bad value \""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\": at most 64 characters\n" },
	/* [redis] url is parsed when read; its errors are redisurl's and
	   the value, which may hold a password, is not repeated. */
	{ "URL scheme (value hidden)", "[redis]\nurl = http://:pw@localhost\n",
	    ":2: [redis] url: bad value \"(hidden)\": not a redis://, unix: "
	    "or sentinel:// URL\n" },
	{ "URL port (value hidden)",
	    "[redis]\nurl = redis://:pw@localhost:0\n",
	    ":2: [redis] url: bad value \"(hidden)\": bad host or port in the "
	    "redis:// URL\n" },
	{ "URL database (value hidden)",
	    "[redis]\nurl = redis://u:pw@localhost/x\n",
	    ":2: [redis] url: bad value \"(hidden)\": bad database number in "
	    "the redis:// URL\n" },
	{ "URL without master (value hidden)",
	    "[redis]\n\nurl = sentinel://:pw@s1\n",
	    ":3: [redis] url: bad value \"(hidden)\": sentinel:// needs "
	    "/mastername after the Sentinel addresses\n" },
	{ "URL: relative unix path", "[redis]\nurl = unix:redis.sock\n",
	    ":2: [redis] url: bad value \"(hidden)\": unix: needs an absolute "
	    "socket path, as unix:/run/redis/redis.sock\n" },
	/* [policyd] listen is checked on its own line. */
	{ "listen: unknown kind", "[policyd]\nlisten = tcp:1\n",
	    ":2: [policyd] listen: bad value \"tcp:1\": \"tcp:1\" is neither "
	    "unix:/path nor inet:host:port\n" },
	{ "listen: second entry bad", "[global]\nregion = us-east-1\n"
	    "[policyd]\nlisten = inet:127.0.0.1:10031, unix:run.sock\n",
	    ":4: [policyd] listen: bad value \"inet:127.0.0.1:10031, "
	    "unix:run.sock\": \"unix:run.sock\" is neither unix:/path nor "
	    "inet:host:port\n" },
	{ "listen: empty", "[policyd]\nlisten =\n",
	    ":2: [policyd] listen: bad value \"\": no socket given\n" },
	{ "listen: only separators", "[policyd]\nlisten = , ,\n",
	    ":2: [policyd] listen: bad value \", ,\": no socket given\n" },
	{ "milter socket", "[milter]\nlisten = inet:127.0.0.1:8891\n",
	    ":2: [milter] listen: bad value \"inet:127.0.0.1:8891\": want "
	    "inet:port@host (such as inet:8891@127.0.0.1)\n" },
	{ "size: unit", "[milter]\nmax_message_size = 10MB\n",
	    ":2: [milter] max_message_size: bad value \"10MB\": want a size "
	    "in bytes, or with k, M or G\n" },
	{ "size: over SES's 40 MB", "[milter]\nmax_message_size = 41M\n",
	    ":2: [milter] max_message_size: bad value \"41M\": want a size "
	    "from 1024 to 41943040 bytes\n" },
	{ "dns_resolver: a name", "[milter]\ndns_resolver = ns.example\n",
	    ":2: [milter] dns_resolver: bad value \"ns.example\": want an IP "
	    "address, optionally with @PORT\n" },
	{ "dns_resolver: port", "[milter]\ndns_resolver = 127.0.0.1@0\n",
	    ":2: [milter] dns_resolver: bad value \"127.0.0.1@0\": want a "
	    "port from 1 to 65535 after @\n" },
	{ "dns_resolver: IPv6 in brackets",
	    "[milter]\ndns_resolver = [::1]@53\n",
	    ":2: [milter] dns_resolver: bad value \"[::1]@53\": want an IP "
	    "address, optionally with @PORT\n" },
	{ "dns_timeout: zero", "[milter]\ndns_timeout = 0s\n",
	    ":2: [milter] dns_timeout: bad value \"0s\": want a duration "
	    "from 100ms to 120000ms\n" },
	{ "identity_cache: over an hour", "[milter]\nidentity_cache = 2h\n",
	    ":2: [milter] identity_cache: bad value \"2h\": want a duration "
	    "from 0ms to 3600000ms\n" },
	{ "identity_cache: no number", "[milter]\nidentity_cache = off\n",
	    ":2: [milter] identity_cache: bad value \"off\": want a duration "
	    "such as 250ms, 30s, 10m, 24h or 7d\n" },
	{ "on_spf_fail: quarantine", "[milter]\non_spf_fail = quarantine\n",
	    ":2: [milter] on_spf_fail: bad value \"quarantine\": want one of "
	    "record, reject\n" },
	{ "ip_filter_block: bad network",
	    "[milter]\nip_filter_block = 192.0.2.0/33\n",
	    ":2: [milter] ip_filter_block: bad value \"192.0.2.0/33\": not an "
	    "address or network: \"192.0.2.0/33\"\n" },
	{ "line numbers after a long line", "[milter]\n"
	    "receipt_rule = long * add_header X-Long-Header-Name-0: a val"
	    "ue long enough; add_header X-Long-Header-Name-1: a value lon"
	    "g enough; add_header X-Long-Header-Name-2: a value long enou"
	    "gh; add_header X-Long-Header-Name-3: a value long enough; ad"
	    "d_header X-Long-Header-Name-4: a value long enough; add_head"
	    "er X-Long-Header-Name-5: a value long enough\n"
	    "dns_timeout = 0s\n",
	    ":3: [milter] dns_timeout: bad value \"0s\": want a duration "
	    "from 100ms to 120000ms\n" },
	{ "canonicalization", "[milter]\ncanonicalization = loose/simple\n",
	    ":2: [milter] canonicalization: bad value \"loose/simple\": want "
	    "relaxed/relaxed, relaxed/simple, simple/relaxed or "
	    "simple/simple\n" },
	{ "sign_headers: Date", "[milter]\nsign_headers = From, Date\n",
	    ":2: [milter] sign_headers: bad value \"From, Date\": Date is "
	    "rewritten or removed by SES and must not be signed\n" },
	{ "sign_headers: X-SES-", "[milter]\n"
	    "oversign_headers = x-ses-configuration-set\n",
	    ":2: [milter] oversign_headers: bad value "
	    "\"x-ses-configuration-set\": x-ses-configuration-set is "
	    "rewritten or removed by SES and must not be signed\n" },
	{ "dkim_key: two fields", "[milter]\ndkim_key = example.com /k\n",
	    ":2: [milter] dkim_key: bad value \"example.com /k\": want DOMAIN "
	    "SELECTOR /path/to/keyfile\n" },
	{ "dkim_key: relative path", "[milter]\n"
	    "dkim_key = example.com s1 keys/k.pem\n",
	    ":2: [milter] dkim_key: bad value \"example.com s1 keys/k.pem\": "
	    "the key file must be an absolute path\n" },
	{ "dkim_key: same selector twice", "[milter]\n"
	    "dkim_key = example.com s1 /k1\ndkim_key = EXAMPLE.com s1 /k2\n",
	    ":3: [milter] dkim_key: bad value \"EXAMPLE.com s1 /k2\": this "
	    "domain and selector are given twice\n" },
	{ "configuration_set: bad tag", "[milter]\n"
	    "configuration_set = example.com set1 team\n",
	    ":2: [milter] configuration_set: bad value \"example.com set1 "
	    "team\": tags are NAME=VALUE pairs joined by ',', of letters, "
	    "digits, '-' and '_'\n" },
	{ "unknown key", "[policyd]\nmax_rcpt = 10\n",
	    ":2: [policyd] max_rcpt: unknown key\n" },
	{ "unknown section", "[global]\n[milterd]\nsocket = x\n",
	    ":3: [milterd] socket: unknown section \"[milterd]\"\n" },
	{ "key of another section", "[redis]\nregion = us-east-1\n",
	    ":2: [redis] region: unknown key\n" },
	{ "duplicate key", "[global]\nregion = us-east-1\n\n"
	    "region = eu-west-1\n",
	    ":4: [global] region: given twice\n" },
	{ "line without '='", "[global]\nregion\n",
	    ":2: not a [section] or key = value line\n" },
};

START_TEST(test_errors)
{
	struct conf_tmp	 t;
	char		*errors = NULL, want[512];
	struct config	*cf = conf_load(error_cases[_i].text, &t, &errors);

	ck_assert_msg(cf == NULL, "config_load: \"%s\": got a config, want "
	    "an error", error_cases[_i].name);
	snprintf(want, sizeof(want), "%s%s", t.path, error_cases[_i].want);
	EXPECT_STR("config_load", error_cases[_i].name, errors, want);
	free(errors);
}
END_TEST

/* Every problem is reported, in file order, not just the first. */
START_TEST(test_errors_all_reported)
{
	struct conf_tmp	 t;
	char		*errors = NULL, want[512];
	struct config	*cf = conf_load("[global]\nregion = nowhere\n"
			    "[policyd]\nsandbox = perhaps\nbogus = 1\n",
			    &t, &errors);

	ck_assert_ptr_null(cf);
	snprintf(want, sizeof(want),
	    "%1$s:2: [global] region: bad value \"nowhere\": not an AWS "
	    "region name such as us-east-1\n"
	    "%1$s:4: [policyd] sandbox: bad value \"perhaps\": want yes or "
	    "no\n"
	    "%1$s:5: [policyd] bogus: unknown key\n", t.path);
	EXPECT_STR("config_load", "three errors", errors, want);
	free(errors);
}
END_TEST

/* A bad listen entry is reported like any other bad value: with the
   line that holds it, even when more lines follow. */
START_TEST(test_error_listen)
{
	struct conf_tmp	 t;
	char		*errors = NULL, want[512];
	struct config	*cf = conf_load("[policyd]\n"
			    "listen = tcp:127.0.0.1:10031\n"
			    "max_recipients = 10\n\n", &t, &errors);

	ck_assert_ptr_null(cf);
	snprintf(want, sizeof(want), "%s:2: [policyd] listen: bad value "
	    "\"tcp:127.0.0.1:10031\": \"tcp:127.0.0.1:10031\" is neither "
	    "unix:/path nor inet:host:port\n", t.path);
	EXPECT_STR("config_load", "listen = tcp:...", errors, want);
	free(errors);
}
END_TEST

START_TEST(test_missing_file)
{
	struct conf_tmp	 t;
	char		*errors = NULL, want[256];
	struct config	*cf;

	conf_write(&t, NULL);
	cf = config_load(t.path, &errors);
	conf_remove(&t);
	ck_assert_ptr_null(cf);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or "
	    "directory\n", t.path);
	EXPECT_STR("config_load", "missing file", errors, want);
	free(errors);
}
END_TEST

/* --- config_print ----------------------------------------------------- */

static char *
conf_print(const struct config *cf)
{
	char	*out = NULL;
	size_t	 len = 0;
	FILE	*fp = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(fp);
	config_print(cf, fp);
	ck_assert_int_eq(fclose(fp), 0);
	return out;
}

START_TEST(test_print_defaults)
{
	static const char *const want[] = {
		"[global]\nregion = us-east-1\n",
		"internal_hosts = 127.0.0.0/8, ::1\n",
		"\n[redis]\nurl = redis://127.0.0.1:6379/0\n",
		"timeout = 250ms\n",
		"\n[policyd]\n",
		"listen = inet:127.0.0.1:10031\n",
		"socket_mode = 0660\n",
		"on_store_error = defer_if_permit\n",
		"quota_window = 86400000ms\n",
		"sandbox = no\n",
		"account_max_24h = 50000\n",
		"account_max_rate = 14\n",
		"domain_max_24h = unlimited\n",
		"sender_max_rate = unlimited\n",
	};
	struct config	*cf = config_defaults();
	char		*out = conf_print(cf);

	for (size_t i = 0; i < NELEM(want); i++)
		ck_assert_msg(strstr(out, want[i]) != NULL, "config_print: "
		    "\"defaults\": \"%s\" not in:\n%s", want[i], out);
	free(out);
	config_free(&cf);
}
END_TEST

/* What -n prints can be read back and gives the same configuration; the
   hash key is shown as "(set)", never as itself. */
START_TEST(test_print_round_trip)
{
	struct conf_tmp	 t;
	char		*errors = NULL, *out, *out2;
	struct config	*cf = conf_load(full_conf, &t, &errors), *cf2;

	ck_assert_msg(cf != NULL, "config_load: \"full file\": %s", errors);
	out = conf_print(cf);
	ck_assert_msg(strstr(out, "suppression_hash_key = (set)\n") != NULL,
	    "config_print: \"secret\": not shown as (set):\n%s", out);
	ck_assert_msg(strstr(out, "s3cret") == NULL,
	    "config_print: \"secret\": key printed:\n%s", out);
	ck_assert_msg(strstr(out, "url = sentinel://:(set)@10.0.0.1:26379,"
	    "10.0.0.2:26379/mymaster?db=2\n") != NULL,
	    "config_print: \"URL password\": not shown as (set):\n%s", out);
	ck_assert_msg(strstr(out, "quota_window = 3600000ms\n") != NULL,
	    "config_print: \"full file\": no quota_window:\n%s", out);

	cf2 = conf_load(out, &t, &errors);
	ck_assert_msg(cf2 != NULL, "config_load: \"printed full file\": %s",
	    errors);
	out2 = conf_print(cf2);
	EXPECT_STR("config_print", "printed twice", out2, out);
	config_free(&cf);
	config_free(&cf2);
	free(out);
	free(out2);

	cf = config_defaults();
	out = conf_print(cf);
	cf2 = conf_load(out, &t, &errors);
	ck_assert_msg(cf2 != NULL, "config_load: \"printed defaults\": %s",
	    errors);
	conf_expect_defaults("config_load (printed defaults)", cf2);
	config_free(&cf);
	config_free(&cf2);
	free(out);
}
END_TEST

/* -n shows a Redis URL's password as "(set)", and nothing else of it. */
START_TEST(test_print_url)
{
	static const struct {
		const char	*url;
		const char	*want;
	} cases[] = {
		{ "redis://u:pw@127.0.0.1:6379/2",
		    "redis://u:(set)@127.0.0.1:6379/2" },
		{ "redis://:pw@localhost", "redis://:(set)@localhost" },
		{ "redis://pw@localhost:7000", "redis://(set)@localhost:7000" },
		{ "redis://u:p%40w@[::1]:6380/1?db=3",
		    "redis://u:(set)@[::1]:6380/1?db=3" },
		{ "sentinel://app:pw@s1:26379,s2/mymaster?db=1",
		    "sentinel://app:(set)@s1:26379,s2/mymaster?db=1" },
		{ "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0" },
		{ "unix:/run/redis/redis.sock?db=2",
		    "unix:/run/redis/redis.sock?db=2" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct conf_tmp	 t;
		char		 text[256], want[256], *errors = NULL, *out;
		struct config	*cf;

		snprintf(text, sizeof(text), "[redis]\nurl = %s\n",
		    cases[i].url);
		cf = conf_load(text, &t, &errors);
		ck_assert_msg(cf != NULL, "config_load: \"%s\": %s",
		    cases[i].url, errors);
		EXPECT_STR("config_load (url)", cases[i].url, cf->redis_url,
		    cases[i].url);
		out = conf_print(cf);
		snprintf(want, sizeof(want), "\n[redis]\nurl = %s\n",
		    cases[i].want);
		ck_assert_msg(strstr(out, want) != NULL, "config_print: "
		    "\"%s\": want \"url = %s\" in:\n%s", cases[i].url,
		    cases[i].want, out);
		ck_assert_msg(strstr(out, "pw@") == NULL &&
		    strstr(out, "p%40w") == NULL, "config_print: \"%s\": "
		    "password printed:\n%s", cases[i].url, out);
		free(out);
		config_free(&cf);
	}
}
END_TEST

START_TEST(test_option_table)
{
	const char	*section, *name;
	size_t		 i, n[5] = { 0, 0, 0, 0, 0 };

	for (i = 0; config_option(i, &section, &name); i++) {
		if (strcmp(section, "global") == 0)
			n[0]++;
		else if (strcmp(section, "redis") == 0)
			n[1]++;
		else if (strcmp(section, "policyd") == 0)
			n[2]++;
		else if (strcmp(section, "milter") == 0)
			n[3]++;
		else if (strcmp(section, "feedbackd") == 0)
			n[4]++;
		else
			ck_abort_msg("config_option: \"%zu\": section \"%s\"",
			    i, section);
	}
	EXPECT_INT("config_option", "global keys", n[0], 7);
	EXPECT_INT("config_option", "redis keys", n[1], 5);
	EXPECT_INT("config_option", "policyd keys", n[2], 22);
	EXPECT_INT("config_option", "milter keys", n[3], 29);
	EXPECT_INT("config_option", "feedbackd keys", n[4], 22);
	EXPECT_STR("config_store_action_name", "0",
	    config_store_action_name(STORE_ACTION_DEFER_IF_PERMIT),
	    "defer_if_permit");
	EXPECT_STR("config_store_action_name", "1",
	    config_store_action_name(STORE_ACTION_DEFER), "defer");
	EXPECT_STR("config_store_action_name", "2",
	    config_store_action_name(STORE_ACTION_DUNNO), "dunno");
}
END_TEST

Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("config");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_bools);
	tcase_add_test(tc, test_durations);
	tcase_add_loop_test(tc, test_errors, 0, (int)NELEM(error_cases));
	tcase_add_test(tc, test_errors_all_reported);
	tcase_add_test(tc, test_error_listen);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_print_defaults);
	tcase_add_test(tc, test_print_round_trip);
	tcase_add_test(tc, test_print_url);
	tcase_add_test(tc, test_option_table);
	suite_add_tcase(s, tc);
	return s;
}
