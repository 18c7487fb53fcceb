/*
 * test_mimeparam.c - the parameters of one field (milter/mimeparam.c) as
 * the MIME scanner receives them: which boundary comes back and when,
 * where reading stops, which damage is noted and which limits are hit.
 * How names are decoded is covered end to end in test_mime.c.
 */
#include <stdio.h>

#include "../../milter/mimeparam.h"
#include "unit.h"

/* A literal that may hold NUL bytes, with its length. */
#define MSG(s)	s, sizeof(s) - 1

#define X16	"xxxxxxxxxxxxxxxx"
#define X64	X16 X16 X16 X16
#define X256	X64 X64 X64 X64

#define TYPE	MIMEPARAM_TYPE
#define BOUND	(MIMEPARAM_TYPE | MIMEPARAM_BOUNDARY)
#define BAD	MIME_NOTE_BAD_PARAM

/* p (n bytes) as a C string for messages, a NUL byte written "\0". */
static const char *
shown(const char *p, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < n && o + 3 < outlen; i++) {
		if (p[i] == '\0') {
			out[o++] = '\\';
			out[o++] = '0';
		} else
			out[o++] = p[i];
	}
	out[o] = '\0';
	return out;
}

static const struct {
	const char	*name;
	const char	*params;
	size_t		 len;
	unsigned	 flags;
	const char	*want_boundary;	/* NULL: none */
	const char	*want_name;	/* NULL: no refused name */
	size_t		 want_nlen;
	const char	*want_ext;
	unsigned	 want_notes;
	const char	*want_reason;
} cases[] = {
	{ "boundary returned", MSG("; boundary=\"b1\""), BOUND,
	    "b1", NULL, 0, NULL, 0, "" },
	{ "boundary known already: not returned", MSG("; boundary=b1"),
	    TYPE, NULL, NULL, 0, NULL, 0, "" },
	{ "boundary known already: damage still noted",
	    MSG("; boundary*0=a; boundary*0=b"), TYPE,
	    NULL, NULL, 0, NULL, BAD, "" },
	{ "boundary not a Content-Disposition parameter",
	    MSG("; boundary=b1; boundary*0=a; boundary*0=b"), 0,
	    NULL, NULL, 0, NULL, 0, "" },
	{ "first usable boundary counts", MSG("; boundary=b1; boundary=b2"),
	    BOUND, "b1", NULL, 0, NULL, 0, "" },
	{ "empty boundary passed over", MSG("; boundary=\"\"; boundary=b2"),
	    BOUND, "b2", NULL, 0, NULL, 0, "" },
	{ "boundary of 256 bytes", MSG("; boundary=" X256), BOUND,
	    X256, NULL, 0, NULL, 0, "" },
	{ "boundary of 257 bytes, then a usable one",
	    MSG("; boundary=" X256 "x; boundary=ok"), BOUND,
	    "ok", NULL, 0, NULL, 0, "boundary longer than 256 bytes" },
	{ "boundary of 257 bytes when one is known",
	    MSG("; boundary=" X256 "x"), TYPE, NULL, NULL, 0, NULL, 0, "" },
	{ "boundary in sections", MSG("; boundary*1=cd; boundary*0=ab"),
	    BOUND, "abcd", NULL, 0, NULL, 0, "" },
	{ "boundary with a gap: whole only",
	    MSG("; boundary*0=ab; boundary*2=ef"), BOUND,
	    "abef", NULL, 0, NULL, BAD, "" },
	{ "plain boundary before sections",
	    MSG("; boundary*0=ab; boundary=cd"), BOUND,
	    "cd", NULL, 0, NULL, 0, "" },
	{ "text before the first ';' skipped",
	    MSG("filename=a.exe; size=3"), 0, NULL, NULL, 0, NULL, 0, "" },
	{ "other parameters skipped", MSG("; size=a.exe; x-name=b.exe"), 0,
	    NULL, NULL, 0, NULL, 0, "" },
	{ "allowed name", MSG("; filename=\"report.pdf\""), 0,
	    NULL, NULL, 0, NULL, 0, "" },
	{ "refused name", MSG("; filename=\"setup.exe\""), 0,
	    NULL, MSG("setup.exe"), "exe", 0, "" },
	{ "name in a Content-Type", MSG("; name=run.bat; boundary=b1"),
	    BOUND, NULL, MSG("run.bat"), "bat", 0, "" },
	{ "boundary before the hit returned",
	    MSG("; boundary=b1; name=run.bat"), BOUND,
	    "b1", MSG("run.bat"), "bat", 0, "" },
	{ "reading stops at the first hit",
	    MSG("; filename=a.exe; name*x=1; name=\"b.com"), 0,
	    NULL, MSG("a.exe"), "exe", 0, "" },
	{ "second reading of a gap found",
	    MSG("; filename*0=\"a.exe\"; filename*2=\".txt\""), 0,
	    NULL, MSG("a.exe"), "exe", BAD, "" },
	{ "name with a NUL byte: up to it too",
	    MSG("; filename=\"evil.exe\0.pdf\""), 0,
	    NULL, MSG("evil.exe\0.pdf"), "exe", 0, "" },
	{ "unterminated quote", MSG("; filename=\"tail.wsf"), 0,
	    NULL, MSG("tail.wsf"), "wsf", BAD, "" },
	{ "extended value without charset''", MSG("; filename*=a.exe"), 0,
	    NULL, MSG("a.exe"), "exe", BAD, "" },
	{ "bad section number", MSG("; filename*x=a.exe; name*1*2=b.exe"), 0,
	    NULL, NULL, 0, NULL, BAD, "" },
	{ "section given twice", MSG("; name*0=a.exe; name*0=b.txt"), 0,
	    NULL, MSG("a.exe"), "exe", BAD, "" },
	{ "section 63 read", MSG("; filename*63=x.exe"), 0,
	    NULL, MSG("x.exe"), "exe", BAD, "" },
	{ "section 64 a limit", MSG("; filename*64=x.exe"), 0,
	    NULL, NULL, 0, NULL, 0, "parameter in more than 64 sections" },
	{ "section number past any integer",
	    MSG("; filename*99999999999999999999=x.exe"), 0,
	    NULL, NULL, 0, NULL, 0, "parameter in more than 64 sections" },
	{ "first limit kept", MSG("; name*64=a; boundary=" X256 "x"), BOUND,
	    NULL, NULL, 0, NULL, 0, "parameter in more than 64 sections" },
	{ "encoded words in plain values only",
	    MSG("; filename*=UTF-8''%3D%3FUTF-8%3FB%3FYS5leGU%3D%3F%3D"), 0,
	    NULL, NULL, 0, NULL, 0, "" },
	{ "encoded word decoded", MSG("; filename=\"=?UTF-8?B?YS5leGU=?=\""),
	    0, NULL, MSG("a.exe"), "exe", 0, "" },
	{ "utf-16 converted", MSG("; filename*=utf-16le''a%00.%00b%00a%00t%00"),
	    0, NULL, MSG("a.bat"), "bat", 0, "" },
};

START_TEST(test_cases)
{
	struct mimeparam	*mp = mimeparam_new();
	struct mimeparam_result	 r;
	char			 got[512], want[512];
	const char		*name = cases[_i].name;

	mimeparam_parse(mp, cases[_i].params, cases[_i].len, cases[_i].flags,
	    &r);
	EXPECT_STR("mimeparam_parse", name,
	    shown(r.boundary, r.blen, got, sizeof(got)),
	    cases[_i].want_boundary);
	EXPECT_STR("mimeparam_parse", name,
	    shown(r.name, r.namelen, got, sizeof(got)),
	    shown(cases[_i].want_name, cases[_i].want_nlen, want,
	    sizeof(want)));
	EXPECT_STR("mimeparam_parse", name, r.ext, cases[_i].want_ext);
	EXPECT_INT("mimeparam_parse", name, r.notes, cases[_i].want_notes);
	EXPECT_STR("mimeparam_parse", name, r.reason, cases[_i].want_reason);
	mimeparam_free(&mp);
	ck_assert_msg(mp == NULL, "mimeparam_free: pointer not cleared");
	mimeparam_free(&mp);
}
END_TEST

/* One parser serves every field of a message: nothing of one field is
   left in the next one's answer. */
START_TEST(test_reuse)
{
	struct mimeparam	*mp = mimeparam_new();
	struct mimeparam_result	 r;

	mimeparam_parse(mp, MSG("; boundary=b1; name*0=a; name*1=\"\""),
	    BOUND, &r);
	EXPECT_STR("mimeparam_parse", "first field", r.boundary, "b1");
	mimeparam_parse(mp, MSG("; name*1=.exe; name*64=x"), BOUND, &r);
	EXPECT_STR("mimeparam_parse", "sections do not carry over",
	    r.name, ".exe");
	EXPECT_INT("mimeparam_parse", "sections do not carry over", r.notes,
	    BAD);
	EXPECT_STR("mimeparam_parse", "no boundary this time", r.boundary,
	    NULL);
	mimeparam_parse(mp, MSG(""), BOUND, &r);
	EXPECT_STR("mimeparam_parse", "empty field", r.name, NULL);
	EXPECT_INT("mimeparam_parse", "empty field", r.namelen, 0);
	EXPECT_INT("mimeparam_parse", "empty field", r.notes, 0);
	EXPECT_STR("mimeparam_parse", "empty field", r.reason, "");
	mimeparam_free(&mp);
}
END_TEST

START_TEST(test_ext_find)
{
	static const struct {
		const char	*name;
		const char	*in;
		size_t		 len;
		const char	*want;
	} ecases[] = {
		{ "whole name", MSG("a.exe"), "exe" },
		{ "length bounds the name", "a.exe.txt", 5, "exe" },
		{ "NUL byte at the end is debris", MSG("a.exe\0"), "exe" },
		{ "NUL byte before the extension", MSG("a\0.exe"), "exe" },
		{ "NUL byte inside the name", MSG("a.exe\0.pdf"), NULL },
		{ "empty", "", 0, NULL },
	};

	for (size_t i = 0; i < NELEM(ecases); i++)
		EXPECT_STR("mimeparam_ext_find", ecases[i].name,
		    mimeparam_ext_find(ecases[i].in, ecases[i].len),
		    ecases[i].want);
}
END_TEST

Suite *
mimeparam_suite(void)
{
	Suite	*s = suite_create("mimeparam");
	TCase	*tc = tcase_create("mimeparam");

	tcase_add_loop_test(tc, test_cases, 0, (int)NELEM(cases));
	tcase_add_test(tc, test_reuse);
	tcase_add_test(tc, test_ext_find);
	suite_add_tcase(s, tc);
	return s;
}
