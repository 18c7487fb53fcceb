/*
 * test_redisurl.c - the three forms of [redis] url (lib/redisurl.c):
 * redis://, unix: and sentinel://, their defaults, escapes in user and
 * password, and every kind of error.
 */
#include <stdio.h>

#include "redisurl.h"
#include "unit.h"

/* sentinels: "host:port" joined by ","; NULL where there are none. */
static const struct {
	const char		*url;
	enum redisurl_kind	 kind;
	const char		*user;
	const char		*password;
	const char		*host;
	int			 port;
	const char		*path;
	const char		*master;
	const char		*sentinels;
	int			 db;
} good_cases[] = {
	{ "redis://127.0.0.1:6379/0", REDISURL_TCP, NULL, NULL, "127.0.0.1",
	    6379, NULL, NULL, NULL, 0 },
	{ "redis://localhost", REDISURL_TCP, NULL, NULL, "localhost", 6379,
	    NULL, NULL, NULL, 0 },
	{ "redis://localhost/", REDISURL_TCP, NULL, NULL, "localhost", 6379,
	    NULL, NULL, NULL, 0 },
	{ "redis://redis.example.org:6380/3", REDISURL_TCP, NULL, NULL,
	    "redis.example.org", 6380, NULL, NULL, NULL, 3 },
	{ "redis://localhost?db=4", REDISURL_TCP, NULL, NULL, "localhost",
	    6379, NULL, NULL, NULL, 4 },
	{ "redis://:secret@localhost", REDISURL_TCP, NULL, "secret",
	    "localhost", 6379, NULL, NULL, NULL, 0 },
	{ "redis://secret@localhost:7000", REDISURL_TCP, NULL, "secret",
	    "localhost", 7000, NULL, NULL, NULL, 0 },
	{ "redis://alice:s3cret@localhost/1", REDISURL_TCP, "alice", "s3cret",
	    "localhost", 6379, NULL, NULL, NULL, 1 },
	{ "redis://al%69ce:p%40ss%3Aw%2Frd%25@localhost:6379/2", REDISURL_TCP,
	    "alice", "p@ss:w/rd%", "localhost", 6379, NULL, NULL, NULL, 2 },
	{ "redis://alice:p@ss@localhost", REDISURL_TCP, "alice", "p@ss",
	    "localhost", 6379, NULL, NULL, NULL, 0 },
	{ "redis://:bad%zzescape@localhost", REDISURL_TCP, NULL,
	    "bad%zzescape", "localhost", 6379, NULL, NULL, NULL, 0 },
	{ "redis://[::1]:6380", REDISURL_TCP, NULL, NULL, "::1", 6380, NULL,
	    NULL, NULL, 0 },
	{ "redis://[::1]", REDISURL_TCP, NULL, NULL, "::1", 6379, NULL, NULL,
	    NULL, 0 },
	{ "redis://:pw@[2001:db8::7]:6390/5", REDISURL_TCP, NULL, "pw",
	    "2001:db8::7", 6390, NULL, NULL, NULL, 5 },
	{ "redis://localhost:65535/65535", REDISURL_TCP, NULL, NULL,
	    "localhost", 65535, NULL, NULL, NULL, 65535 },
	{ "unix:/run/redis/redis.sock", REDISURL_UNIX, NULL, NULL, NULL, 0,
	    "/run/redis/redis.sock", NULL, NULL, 0 },
	{ "unix:/run/redis/redis.sock?db=2", REDISURL_UNIX, NULL, NULL, NULL,
	    0, "/run/redis/redis.sock", NULL, NULL, 2 },
	{ "unix:///run/redis.sock", REDISURL_UNIX, NULL, NULL, NULL, 0,
	    "/run/redis.sock", NULL, NULL, 0 },
	{ "sentinel://s1.example:26379/mymaster", REDISURL_SENTINEL, NULL,
	    NULL, NULL, 0, NULL, "mymaster", "s1.example:26379", 0 },
	{ "sentinel://s1:26379,s2:26380,[::1]:26381/mymaster?db=1",
	    REDISURL_SENTINEL, NULL, NULL, NULL, 0, NULL, "mymaster",
	    "s1:26379,s2:26380,::1:26381", 1 },
	{ "sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster?db=2",
	    REDISURL_SENTINEL, NULL, "pw", NULL, 0, NULL, "mymaster",
	    "10.0.0.1:26379,10.0.0.2:26379", 2 },
	{ "sentinel://app:p%40w@s1:26379/cache-1", REDISURL_SENTINEL, "app",
	    "p@w", NULL, 0, NULL, "cache-1", "s1:26379", 0 },
	/* A Sentinel address without a port: Sentinel's 26379. */
	{ "sentinel://s1/mymaster", REDISURL_SENTINEL, NULL, NULL, NULL, 0,
	    NULL, "mymaster", "s1:26379", 0 },
	{ "sentinel://s1,s2:26380,[::1],[2001:db8::2]:5000/m?db=3",
	    REDISURL_SENTINEL, NULL, NULL, NULL, 0, NULL, "m",
	    "s1:26379,s2:26380,::1:26379,2001:db8::2:5000", 3 },
	{ "sentinel://:pw@10.0.0.1/mymaster", REDISURL_SENTINEL, NULL, "pw",
	    NULL, 0, NULL, "mymaster", "10.0.0.1:26379", 0 },
};

START_TEST(test_good_cases)
{
	const char	*url = good_cases[_i].url;
	char		 err[256] = "", hosts[256] = "";
	struct redisurl	*u = redisurl_parse(url, err, sizeof(err));
	size_t		 o = 0;

	ck_assert_msg(u != NULL, "redisurl_parse: \"%s\": got NULL (%s), "
	    "want a URL", url, err);
	EXPECT_INT("redisurl_parse", url, u->kind, good_cases[_i].kind);
	EXPECT_STR("redisurl_parse (user)", url, u->user, good_cases[_i].user);
	EXPECT_STR("redisurl_parse (password)", url, u->password,
	    good_cases[_i].password);
	EXPECT_INT("redisurl_parse (db)", url, u->db, good_cases[_i].db);
	switch (good_cases[_i].kind) {
	case REDISURL_TCP:
		EXPECT_STR("redisurl_parse (host)", url, u->host,
		    good_cases[_i].host);
		EXPECT_INT("redisurl_parse (port)", url, u->port,
		    good_cases[_i].port);
		break;
	case REDISURL_UNIX:
		EXPECT_STR("redisurl_parse (path)", url, u->path,
		    good_cases[_i].path);
		break;
	case REDISURL_SENTINEL:
		EXPECT_STR("redisurl_parse (master)", url, u->master,
		    good_cases[_i].master);
		for (size_t i = 0; i < u->nsentinels; i++)
			o += (size_t)snprintf(hosts + o, sizeof(hosts) - o,
			    "%s%s:%d", i ? "," : "", u->sentinels[i].host,
			    u->sentinels[i].port);
		EXPECT_STR("redisurl_parse (sentinels)", url, hosts,
		    good_cases[_i].sentinels);
		break;
	}
	redisurl_free(&u);
	ck_assert_ptr_null(u);
	redisurl_free(&u);
}
END_TEST

static const struct {
	const char	*url;
	const char	*want_err;
} bad_cases[] = {
	{ "http://localhost", "not a redis://, unix: or sentinel:// URL" },
	{ "", "not a redis://, unix: or sentinel:// URL" },
	{ "REDIS://localhost", "not a redis://, unix: or sentinel:// URL" },
	{ "localhost:6379", "not a redis://, unix: or sentinel:// URL" },
	{ "redis://", "bad host or port in the redis:// URL" },
	{ "redis:///1", "bad host or port in the redis:// URL" },
	{ "redis://:6379", "bad host or port in the redis:// URL" },
	{ "redis://localhost:", "bad host or port in the redis:// URL" },
	{ "redis://localhost:0", "bad host or port in the redis:// URL" },
	{ "redis://localhost:65536", "bad host or port in the redis:// URL" },
	{ "redis://localhost:63x9", "bad host or port in the redis:// URL" },
	{ "redis://[::1", "bad host or port in the redis:// URL" },
	{ "redis://[]:6379", "bad host or port in the redis:// URL" },
	{ "redis://[::1]6379", "bad host or port in the redis:// URL" },
	{ "redis://localhost/db1", "bad database number in the redis:// URL" },
	{ "redis://localhost/-1", "bad database number in the redis:// URL" },
	{ "redis://localhost/65536", "bad database number in the redis:// "
	    "URL" },
	{ "redis://localhost?database=1", "bad query: only ?db=N is "
	    "understood" },
	{ "redis://localhost?db=x", "bad query: only ?db=N is "
	    "understood" },
	{ "unix:", "unix: needs an absolute socket path, as "
	    "unix:/run/redis/redis.sock" },
	{ "unix:run/redis.sock", "unix: needs an absolute socket path, as "
	    "unix:/run/redis/redis.sock" },
	{ "unix:/?db=1", "unix: needs an absolute socket path, as "
	    "unix:/run/redis/redis.sock" },
	{ "unix:/run/redis.sock?db=", "bad query: only ?db=N is "
	    "understood" },
	{ "unix:/run/redis.sock?timeout=1", "bad query: only ?db=N is "
	    "understood" },
	{ "sentinel://s1:26379", "sentinel:// needs /mastername after the "
	    "Sentinel addresses" },
	{ "sentinel://s1:26379/", "sentinel:// needs /mastername after the "
	    "Sentinel addresses" },
	{ "sentinel:///mymaster", "no Sentinel address in the sentinel:// "
	    "URL" },
	{ "sentinel://s1:26379,,s2:26379/m", "bad Sentinel address in the "
	    "sentinel:// URL" },
	{ "sentinel://s1:x/m", "bad Sentinel address in the sentinel:// "
	    "URL" },
	{ "sentinel://s1:0/m", "bad Sentinel address in the sentinel:// "
	    "URL" },
	{ "sentinel://[::1/m", "bad Sentinel address in the sentinel:// "
	    "URL" },
	{ "sentinel://s1:26379/a/b", "bad master name \"a/b\"" },
	{ "sentinel://s1:26379/m?db=99999", "bad query: only ?db=N is "
	    "understood" },
};

START_TEST(test_bad_cases)
{
	char		 err[256] = "";
	struct redisurl	*u = redisurl_parse(bad_cases[_i].url, err,
			    sizeof(err));

	ck_assert_msg(u == NULL, "redisurl_parse: \"%s\": got a URL, want "
	    "NULL", bad_cases[_i].url);
	EXPECT_STR("redisurl_parse", bad_cases[_i].url, err,
	    bad_cases[_i].want_err);
}
END_TEST

/* The error of a URL that holds a password ends up in the log at start-up
   (store_open), so it must not repeat the password. */
START_TEST(test_error_hides_password)
{
	static const char *const urls[] = {
		"redis://:hunter2@localhost:99999",
		"redis://alice:hunter2@localhost/x",
		"sentinel://:hunter2@s1:x/m",
		"sentinel://:hunter2@/m",
		"redis://:hunter2@",
		"redis://alice:hunter2@[::1",
		"sentinel://alice:hunter2@s1,,s2/m",
		"unix:run/redis.sock",
		"rediss://:hunter2@localhost",
		"redis://alice:hun?ter2@localhost",
	};

	for (size_t i = 0; i < NELEM(urls); i++) {
		char		 err[256] = "";
		struct redisurl	*u = redisurl_parse(urls[i], err,
				    sizeof(err));

		ck_assert_msg(u == NULL, "redisurl_parse: \"%s\": got a URL, "
		    "want NULL", urls[i]);
		ck_assert_msg(strstr(err, "hunter2") == NULL &&
		    strstr(err, "ter2") == NULL,
		    "redisurl_parse: \"%s\": error \"%s\" shows the password",
		    urls[i], err);
		ck_assert_msg(*err != '\0', "redisurl_parse: \"%s\": empty "
		    "error", urls[i]);
	}
}
END_TEST

Suite *
redisurl_suite(void)
{
	Suite	*s = suite_create("redisurl");
	TCase	*tc = tcase_create("redisurl");

	tcase_add_loop_test(tc, test_good_cases, 0, (int)NELEM(good_cases));
	tcase_add_loop_test(tc, test_bad_cases, 0, (int)NELEM(bad_cases));
	tcase_add_test(tc, test_error_hides_password);
	suite_add_tcase(s, tc);
	return s;
}
