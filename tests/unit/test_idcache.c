/*
 * test_idcache.c - the milter's memory of verified From addresses: kept
 * for the TTL and no longer, exact addresses only, off at 0, bounded.
 */
#include <stdio.h>

#include "unit.h"
#include "../../milter/idcache.h"

START_TEST(test_kept_for_the_ttl)
{
	struct idcache *c = idcache_new(5000);

	EXPECT_INT("idcache_verified", "unknown", idcache_verified(c,
	    "a@example.com", 1000), 0);
	idcache_put(c, "a@example.com", 1000);
	EXPECT_INT("idcache_verified", "just put", idcache_verified(c,
	    "a@example.com", 1000), 1);
	EXPECT_INT("idcache_verified", "last ms", idcache_verified(c,
	    "a@example.com", 5999), 1);
	EXPECT_INT("idcache_verified", "at the ttl", idcache_verified(c,
	    "a@example.com", 6000), 0);
	EXPECT_INT("idcache_verified", "before it was seen",
	    idcache_verified(c, "a@example.com", 999), 0);
	/* Seen again: the time starts over. */
	idcache_put(c, "a@example.com", 5500);
	EXPECT_INT("idcache_verified", "seen again", idcache_verified(c,
	    "a@example.com", 10499), 1);
	EXPECT_INT("idcache_count", "one address", idcache_count(c), 1);
	idcache_free(&c);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_exact_addresses)
{
	struct idcache *c = idcache_new(5000);

	idcache_put(c, "a@example.com", 0);
	EXPECT_INT("idcache_verified", "other address", idcache_verified(c,
	    "b@example.com", 1), 0);
	EXPECT_INT("idcache_verified", "its domain", idcache_verified(c,
	    "example.com", 1), 0);
	EXPECT_INT("idcache_verified", "prefix", idcache_verified(c,
	    "a@example.co", 1), 0);
	idcache_free(&c);
}
END_TEST

START_TEST(test_off)
{
	struct idcache *c = idcache_new(0);

	ck_assert_ptr_null(c);
	idcache_put(c, "a@example.com", 0);
	EXPECT_INT("idcache_verified", "off", idcache_verified(c,
	    "a@example.com", 0), 0);
	EXPECT_INT("idcache_count", "off", idcache_count(c), 0);
	idcache_free(&c);
}
END_TEST

START_TEST(test_bounded)
{
	struct idcache	*c = idcache_new(1000);
	char		 addr[64];

	for (int i = 0; i < IDCACHE_MAX; i++) {
		snprintf(addr, sizeof(addr), "u%d@example.com", i);
		idcache_put(c, addr, i < 10 ? 0 : 900);
	}
	EXPECT_INT("idcache_count", "full", idcache_count(c), IDCACHE_MAX);
	/* Full at 1000 ms: the ten put at 0 have expired and make room. */
	idcache_put(c, "new@example.com", 1000);
	EXPECT_INT("idcache_count", "expired dropped", idcache_count(c),
	    IDCACHE_MAX - 9);
	EXPECT_INT("idcache_verified", "kept", idcache_verified(c,
	    "u10@example.com", 1000), 1);
	/* Full of fresh ones: all go, the new one stays. */
	for (int i = 0; i < 9; i++) {
		snprintf(addr, sizeof(addr), "v%d@example.com", i);
		idcache_put(c, addr, 1000);
	}
	EXPECT_INT("idcache_count", "full again", idcache_count(c),
	    IDCACHE_MAX);
	idcache_put(c, "last@example.com", 1000);
	EXPECT_INT("idcache_count", "emptied", idcache_count(c), 1);
	EXPECT_INT("idcache_verified", "the last", idcache_verified(c,
	    "last@example.com", 1000), 1);
	idcache_free(&c);
}
END_TEST

Suite *
idcache_suite(void)
{
	Suite	*s = suite_create("idcache");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_kept_for_the_ttl);
	tcase_add_test(tc, test_exact_addresses);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_bounded);
	suite_add_tcase(s, tc);
	return s;
}
