/*
 * unit.h - what the unit test files share: one suite constructor per
 * module and the assertions that print failures as
 * `function: "case": got X, want Y`. Each test runs in its own process
 * (Check's fork mode), so a test may leave memory behind on failure.
 */
#ifndef SESGATE_UNIT_H
#define SESGATE_UNIT_H

#include <check.h>
#include <string.h>

#include "../../policyd/request.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Integers: the function under test, the case's name, got and want. */
#define EXPECT_INT(fn, name, got, want) do {				\
	long long got_ = (long long)(got), want_ = (long long)(want);	\
	ck_assert_msg(got_ == want_, "%s: \"%s\": got %lld, want %lld",	\
	    (fn), (name), got_, want_);					\
} while (0)

/* Strings; NULL shows as (null) and equals only NULL. */
#define EXPECT_STR(fn, name, got, want) do {				\
	const char *got_ = (got), *want_ = (want);			\
	ck_assert_msg(got_ == want_ ||					\
	    (got_ != NULL && want_ != NULL && strcmp(got_, want_) == 0), \
	    "%s: \"%s\": got \"%s\", want \"%s\"", (fn), (name),	\
	    got_ != NULL ? got_ : "(null)",				\
	    want_ != NULL ? want_ : "(null)");				\
} while (0)

/* Parse a request literal that must be valid; the test fails if not. */
void	unit_request(struct request *req, const char *text);

Suite	*request_suite(void);
Suite	*config_suite(void);
Suite	*addr_suite(void);
Suite	*cidr_suite(void);
Suite	*redisurl_suite(void);
Suite	*schema_suite(void);
Suite	*decide_suite(void);
Suite	*fromhdr_suite(void);
Suite	*mime_suite(void);
Suite	*mimeparam_suite(void);
Suite	*dkimkey_suite(void);
Suite	*receipt_suite(void);
Suite	*authres_suite(void);
Suite	*sesevent_suite(void);
Suite	*snsmsg_suite(void);
Suite	*fbmail_suite(void);
Suite	*dnscache_suite(void);
Suite	*idcache_suite(void);

#endif
