/*
 * main.c - runs every unit test suite and exits non-zero when any check
 * failed. Check's summary line ("N%: Checks: N, Failures: F, Errors: E")
 * is what tests/run-all reads.
 */
#include <stdlib.h>

#include "unit.h"

void
unit_request(struct request *req, const char *text)
{
	char err[256] = "";

	memset(req, 0, sizeof(*req));
	ck_assert_msg(request_parse(req, text, strlen(text), err,
	    sizeof(err)) == 0, "request_parse: test request: %s", err);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(request_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, addr_suite());
	srunner_add_suite(sr, cidr_suite());
	srunner_add_suite(sr, redisurl_suite());
	srunner_add_suite(sr, schema_suite());
	srunner_add_suite(sr, decide_suite());
	srunner_add_suite(sr, fromhdr_suite());
	srunner_add_suite(sr, mime_suite());
	srunner_add_suite(sr, mimeparam_suite());
	srunner_add_suite(sr, dkimkey_suite());
	srunner_add_suite(sr, receipt_suite());
	srunner_add_suite(sr, authres_suite());
	srunner_add_suite(sr, sesevent_suite());
	srunner_add_suite(sr, snsmsg_suite());
	srunner_add_suite(sr, fbmail_suite());
	srunner_add_suite(sr, dnscache_suite());
	srunner_add_suite(sr, idcache_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
