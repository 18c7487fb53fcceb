/*
 * test_dnscache.c - the milter's answer cache: kept for the TTL and no
 * longer, names without regard to case or a final dot, one answer per
 * name and type, copies that outlive the cache, the byte bound.
 */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"
#include "../../milter/dnscache.h"
#include "../../milter/resolver.h"
#include "../../lib/mem.h"

/* An answer with one record holding `text` (or none, NXDOMAIN). */
static struct resolver_answer *
answer(const char *text)
{
	struct resolver_answer *a = xcalloc(1, sizeof(*a));

	a->rr = xcalloc(2, sizeof(*a->rr));
	a->rrlen = xcalloc(2, sizeof(*a->rrlen));
	if (text == NULL) {
		a->nxdomain = 1;
		return a;
	}
	a->n = 1;
	a->rrlen[0] = strlen(text);
	a->rr[0] = (unsigned char *)xstrdup(text);
	a->packetlen = 12;
	a->packet = xcalloc(1, 12);
	return a;
}

/* Put an answer of one record `text` (NULL: NXDOMAIN) in the cache. */
static void
keep(struct dnscache *c, const char *name, const char *text,
    unsigned int ttl, long long now_ms)
{
	struct resolver_answer *a = answer(text);

	dnscache_put(c, name, 16, a, ttl, now_ms);
	resolver_answer_free(&a);
}

static const char *
record(const struct resolver_answer *a)
{
	return a != NULL && a->n == 1 ? (const char *)a->rr[0] : NULL;
}

START_TEST(test_kept_for_its_ttl)
{
	struct dnscache		*c = dnscache_new(1 << 20);
	struct resolver_answer	*got;

	keep(c, "Example.COM.", "v=spf1 -all", 300, 1000);
	got = dnscache_get(c, "example.com", 16, 1000 + 299999);
	EXPECT_STR("dnscache_get", "case and final dot", record(got),
	    "v=spf1 -all");
	resolver_answer_free(&got);
	got = dnscache_get(c, "example.com", 1, 2000);
	ck_assert_msg(got == NULL, "dnscache_get: another type answered");
	got = dnscache_get(c, "example.com", 16, 1000 + 300000);
	ck_assert_msg(got == NULL, "dnscache_get: answered past its TTL");
	EXPECT_INT("dnscache_count", "expired entry dropped",
	    dnscache_count(c, NULL), 0);
	dnscache_free(&c);
	ck_assert(c == NULL);
}
END_TEST

START_TEST(test_nxdomain_and_replace)
{
	struct dnscache		*c = dnscache_new(1 << 20);
	struct resolver_answer	*got;

	keep(c, "gone.example", NULL, 60, 0);
	got = dnscache_get(c, "gone.example", 16, 10);
	ck_assert_msg(got != NULL && got->nxdomain && got->n == 0,
	    "dnscache_get: NXDOMAIN not kept");
	resolver_answer_free(&got);
	keep(c, "gone.example", "new", 60, 20);
	got = dnscache_get(c, "gone.example", 16, 30);
	EXPECT_STR("dnscache_get", "replaced", record(got), "new");
	resolver_answer_free(&got);
	EXPECT_INT("dnscache_count", "one per question",
	    dnscache_count(c, NULL), 1);
	/* A TTL of 0 is not kept. */
	keep(c, "zero.example", "zero", 0, 0);
	ck_assert(dnscache_get(c, "zero.example", 16, 0) == NULL);
	dnscache_free(&c);
}
END_TEST

START_TEST(test_bounded_oldest_use_first)
{
	struct dnscache		*c = dnscache_new(4096);
	struct resolver_answer	*got;
	char			 name[32];
	size_t			 bytes, n;

	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		keep(c, name, "0123456789", 60, 0);
		/* n0 used all along: never the oldest. */
		got = dnscache_get(c, "n0.example", 16, 0);
		ck_assert_msg(got != NULL, "dnscache_get: n0 evicted at %d",
		    i);
		resolver_answer_free(&got);
	}
	n = dnscache_count(c, &bytes);
	ck_assert_msg(n > 1 && n < 200 && bytes <= 4096,
	    "dnscache_count: %zu answers, %zu bytes for a 4096-byte bound",
	    n, bytes);
	ck_assert(dnscache_get(c, "n1.example", 16, 0) == NULL);
	got = dnscache_get(c, "n199.example", 16, 0);
	EXPECT_STR("dnscache_get", "newest kept", record(got), "0123456789");
	resolver_answer_free(&got);
	/* A cache of 0 bytes keeps nothing. */
	dnscache_free(&c);
	c = dnscache_new(0);
	keep(c, "x.example", "x", 60, 0);
	ck_assert(dnscache_get(c, "x.example", 16, 0) == NULL);
	dnscache_free(&c);
}
END_TEST

START_TEST(test_copies_outlive_the_cache)
{
	struct dnscache		*c = dnscache_new(1 << 20);
	struct resolver_answer	*got;
	char			 longname[300];

	keep(c, "copy.example", "kept", 60, 0);
	got = dnscache_get(c, "copy.example", 16, 0);
	dnscache_free(&c);
	EXPECT_STR("dnscache_get", "after free", record(got), "kept");
	EXPECT_INT("dnscache_get", "packet copied", got->packetlen, 12);
	resolver_answer_free(&got);
	/* A name longer than DNS allows is neither kept nor found. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	c = dnscache_new(1 << 20);
	keep(c, longname, "long", 60, 0);
	ck_assert(dnscache_get(c, longname, 16, 0) == NULL);
	EXPECT_INT("dnscache_count", "long name", dnscache_count(c, NULL), 0);
	dnscache_free(&c);
}
END_TEST

/* A cache held twice (two configurations' resolvers) lives until both
   let go. */
START_TEST(test_shared_until_the_last_holder)
{
	struct dnscache		*c = dnscache_new(1 << 20), *c2;
	struct resolver_answer	*got;

	keep(c, "s.example", "shared", 60, 0);
	c2 = dnscache_ref(c);
	ck_assert(c2 == c);
	dnscache_free(&c);
	ck_assert(c == NULL);
	got = dnscache_get(c2, "s.example", 16, 0);
	EXPECT_STR("dnscache_get", "after one holder let go", record(got),
	    "shared");
	resolver_answer_free(&got);
	dnscache_free(&c2);
}
END_TEST

Suite *
dnscache_suite(void)
{
	Suite *s = suite_create("dnscache");
	TCase *tc = tcase_create("dnscache");

	tcase_add_test(tc, test_kept_for_its_ttl);
	tcase_add_test(tc, test_nxdomain_and_replace);
	tcase_add_test(tc, test_bounded_oldest_use_first);
	tcase_add_test(tc, test_copies_outlive_the_cache);
	tcase_add_test(tc, test_shared_until_the_last_holder);
	suite_add_tcase(s, tc);
	return s;
}
