/*
 * test_mime.c - the streaming MIME scanner (milter/mime.c, which has
 * milter/mimeparam.c read the names): which file names it finds and
 * decodes, how it follows nested entities, and what it says about
 * malformed or oversized input. Every table case is fed with
 * LF and with CRLF line endings, all at once and in chunks of 1, 2, 3, 5,
 * 13 and 64 bytes, and must give the same answer each time.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../milter/mime.h"
#include "buf.h"
#include "unit.h"

/* A literal that may hold NUL bytes, with its length. */
#define MSG(s)	s, sizeof(s) - 1
#define SP16	"                "
#define SP64	SP16 SP16 SP16 SP16

static const char *
verdict_name(enum mime_verdict v)
{
	switch (v) {
	case MIME_OK:
		return "MIME_OK";
	case MIME_UNSUPPORTED:
		return "MIME_UNSUPPORTED";
	case MIME_TOO_COMPLEX:
		return "MIME_TOO_COMPLEX";
	}
	return "(bad verdict)";
}

/* Top-level header fields go to mime_header() the way libmilter hands
   them over: the name, and the value after the colon and its white space
   with folded lines kept. Returns the start of the body. */
static size_t
feed_headers(struct mime *m, const char *msg, size_t len)
{
	size_t	 o = 0, e, v, c;
	char	*name, *value;

	while (o < len) {
		for (e = o; e < len && msg[e] != '\n'; e++)
			;
		if (e == o || (e == o + 1 && msg[o] == '\r'))
			return e < len ? e + 1 : len;
		/* take in the folded lines */
		while (e + 1 < len && (msg[e + 1] == ' ' || msg[e + 1] == '\t'))
			for (e++; e < len && msg[e] != '\n'; e++)
				;
		for (c = o; c < e && msg[c] != ':'; c++)
			;
		if (c < e) {
			for (v = c + 1; v < e && (msg[v] == ' ' ||
			    msg[v] == '\t'); v++)
				;
			name = strndup(msg + o, c - o);
			value = strndup(msg + v, e - v - (msg[e - 1] == '\r'));
			mime_header(m, name, value);
			free(name);
			free(value);
		}
		o = e + 1;
	}
	return len;
}

/* Scan msg (len bytes) whole, feeding the body chunk bytes at a time (0:
   at once). */
static enum mime_verdict
scan(const char *msg, size_t len, size_t chunk, const struct mime_limits *lim,
    struct mime_result *res)
{
	struct mime		*m = mime_new(lim);
	size_t			 o = feed_headers(m, msg, len), n;
	enum mime_verdict	 v;

	mime_eoh(m);
	if (chunk == 0)
		chunk = len;
	for (; o < len; o += n) {
		n = len - o < chunk ? len - o : chunk;
		mime_body(m, (const unsigned char *)msg + o, n);
	}
	v = mime_end(m, res);
	mime_free(&m);
	ck_assert_msg(m == NULL, "mime_free: pointer not cleared");
	return v;
}

/* msg with every bare LF made CRLF; the caller frees it. */
static char *
to_crlf(const char *msg, size_t len, size_t *len_out)
{
	char	*out = malloc(2 * len + 1);
	size_t	 o = 0;

	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = msg[i];
	}
	out[o] = '\0';
	*len_out = o;
	return out;
}

/* Check a result against what a case wants; `name` is printed. */
static void
expect(const char *name, const struct mime_result *res,
    enum mime_verdict want, const char *want_file, const char *want_ext,
    const char *want_notes)
{
	char notes[256];

	EXPECT_STR("mime_end", name, verdict_name(res->verdict),
	    verdict_name(want));
	if (want == MIME_UNSUPPORTED) {
		EXPECT_STR("mime_end", name, res->file, want_file);
		EXPECT_STR("mime_end", name, res->ext, want_ext);
	} else if (want == MIME_TOO_COMPLEX)
		EXPECT_STR("mime_end", name, res->reason, want_file);
	if (want_notes != NULL)
		EXPECT_STR("mime_end", name, mime_format_notes(res->notes,
		    notes, sizeof(notes)), want_notes);
}

static const struct {
	const char		*name;
	const char		*msg;
	size_t			 len;
	enum mime_verdict	 want;
	const char		*want_file;	/* or the reason */
	const char		*want_ext;
	const char		*want_notes;
} cases[] = {
	{ "no attachment", MSG(
	    "From: a@example.org\n"
	    "Subject: hello\n"
	    "\n"
	    "Just text.\n"
	    "filename=evil.exe\n"),
	    MIME_OK, NULL, NULL, "" },
	{ "simple attachment", MSG(
	    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "hello\n"
	    "--b1\n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename=\"setup.exe\"\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "TVqQAAMAAAAEAAAA\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "setup.exe", "exe", "" },
	{ "allowed extension", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: application/pdf; name=\"report.pdf\"\n"
	    "Content-Disposition: attachment; filename=\"report.pdf\"\n"
	    "\n"
	    "JVBERi0=\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "" },
	{ "Content-Type name only", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: application/octet-stream; name=\"run.bat\"\n"
	    "\n"
	    "@echo off\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "run.bat", "bat", "" },
	{ "name in Content-Type, other filename", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: application/octet-stream; name=bad.com\n"
	    "Content-Disposition: attachment; filename=ok.txt\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "bad.com", "com", "" },
	{ "upper-case extension", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=INVOICE.EXE\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "INVOICE.EXE", "exe", "" },
	{ "mixed-case extension, long one", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=Tpl.VSMacros\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "Tpl.VSMacros", "vsmacros", "" },
	{ "inline disposition with file name", MSG(
	    "Content-Type: multipart/related; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: inline; filename=shortcut.lnk\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "shortcut.lnk", "lnk", "" },
	{ "parameter names in any case", MSG(
	    "content-type: MULTIPART/MIXED; BOUNDARY=b1\n"
	    "\n"
	    "--b1\n"
	    "CONTENT-DISPOSITION: ATTACHMENT; FILENAME=\"x.ps1\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "x.ps1", "ps1", "" },
	{ "rfc2231 with charset", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment;\n"
	    " filename*=UTF-8'ja'%E6%97%A5%E6%9C%AC.exe\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "\xe6\x97\xa5\xe6\x9c\xac.exe", "exe", "" },
	{ "rfc2231 continuation", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment;\n"
	    " filename*0=\"very long name \";\n"
	    " filename*1=\"part two.cmd\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "very long name part two.cmd", "cmd", "" },
	{ "rfc2231 encoded continuation", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment;\n"
	    "\tfilename*0*=UTF-8''na%C3%AFve;\n"
	    "\tfilename*1*=%2Ej;\n"
	    "\tfilename*2=s\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "na\xc3\xafve.js", "js", "" },
	{ "rfc2231 sections out of order", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename*1=\".scr\";\n"
	    " filename*0=photo\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "photo.scr", "scr", "" },
	{ "rfc2231 gap: read up to it too", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename*0=\"a.exe\";\n"
	    " filename*2=\".txt\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "a.exe", "exe", "bad-param" },
	{ "rfc2231 value beside a plain one", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"notes.txt\";\n"
	    " filename*=us-ascii''notes.hta\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "notes.hta", "hta", "" },
	{ "rfc2231 utf-16", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment;\n"
	    " filename*=utf-16be''%00a%00%2E%00j%00s%00e\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "a.jse", "jse", "" },
	{ "rfc2231 utf-32le", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename*=UTF-32LE'en'"
	    "a%00%00%00.%00%00%00b%00%00%00a%00%00%00t%00%00%00\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "a.bat", "bat", "" },
	{ "rfc2231 utf-7 hides the dot", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename*=UTF-7''evil+AC4-exe\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "evil.exe", "exe", "" },
	{ "rfc2047 B", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment;"
	    " filename=\"=?UTF-8?B?w7xiZXIuZXhl?=\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "\xc3\xbc" "ber.exe", "exe", "" },
	{ "rfc2047 Q", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: application/octet-stream;\n"
	    "  name=\"=?iso-8859-1?Q?r=E9sum=E9_final.hta?=\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "r\xe9sum\xe9 final.hta", "hta", "" },
	{ "rfc2047 words joined, folded between", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"=?UTF-8?Q?my_?=\n"
	    " =?UTF-8?q?file.?=  =?utf-8?B?cmVn?=\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "my file.reg", "reg", "" },
	{ "rfc2047 utf-16 with byte order mark", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment;"
	    " filename=\"=?UTF-16?B?//54AC4AZQB4AGUA?=\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "x.exe", "exe", "" },
	{ "rfc2047 allowed name", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment;"
	    " filename=\"=?UTF-8?B?0J7RgtGH0ZHRgi5wZGY=?=\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "" },
	{ "malformed encoded word kept as text", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"=?UTF-8?X?ab?=.vbs\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "=?UTF-8?X?ab?=.vbs", "vbs", "" },
	{ "quoted-string escapes", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"a\\\"b;c\\.pif\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "a\"b;c.pif", "pif", "" },
	{ "trailing dot and space", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"game.exe. \"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "game.exe. ", "exe", "" },
	{ "stray quotes around an unquoted name", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=prog.cpl\"'\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "prog.cpl\"'", "cpl", "" },
	{ "unquoted name with spaces", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=my tool.msc ; size=3\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "my tool.msc", "msc", "" },
	{ "unterminated quoted name", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"tail.wsf\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "tail.wsf", "wsf", "bad-param" },
	{ "double extension, allowed last", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"invoice.exe.pdf\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "" },
	{ "dot in a directory name only", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"tools.exe/README\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "" },
	{ "right-to-left override, real extension allowed", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment;"
	    " filename=\"photo\xe2\x80\xae" "exe.jpg\"\n"
	    "\n"
	    "\x89PNG\xff\xfe 8-bit content\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "" },
	{ "top-level attachment", MSG(
	    "Content-Type: application/x-msdownload; name=\"a.msi\"\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "0M8R4KGxGuE=\n"),
	    MIME_UNSUPPORTED, "a.msi", "msi", "" },
	{ "folded top-level header", MSG(
	    "Content-Disposition: attachment;\n"
	    "\tfilename=\n"
	    "  \"fold.exe\"\n"
	    "Content-Type: application/octet-stream\n"
	    "\n"
	    "x\n"),
	    MIME_UNSUPPORTED, "fold.exe", "exe", "" },
	{ "comment after the media type", MSG(
	    "Content-Type: multipart/mixed (a comment); boundary=\"b 1\"\n"
	    "\n"
	    "--b 1\n"
	    "Content-Disposition: attachment; filename=c.bas\n"
	    "\n"
	    "x\n"
	    "--b 1--\n"),
	    MIME_UNSUPPORTED, "c.bas", "bas", "" },
	{ "boundary in rfc2231 sections", MSG(
	    "Content-Type: multipart/mixed; boundary*0=ab; boundary*1=cd\n"
	    "\n"
	    "--abcd\n"
	    "Content-Disposition: attachment; filename=d.chm\n"
	    "\n"
	    "x\n"
	    "--abcd--\n"),
	    MIME_UNSUPPORTED, "d.chm", "chm", "" },
	{ "nested multipart 3 levels", MSG(
	    "Content-Type: multipart/mixed; boundary=L1\n"
	    "\n"
	    "preamble\n"
	    "--L1\n"
	    "Content-Type: multipart/alternative; boundary=L2\n"
	    "\n"
	    "--L2\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "plain\n"
	    "--L2\n"
	    "Content-Type: multipart/related; boundary=L3\n"
	    "\n"
	    "--L3\n"
	    "Content-Type: text/html\n"
	    "\n"
	    "<p>html</p>\n"
	    "--L3\n"
	    "Content-Type: application/octet-stream; name=deep.vbe\n"
	    "\n"
	    "x\n"
	    "--L3--\n"
	    "--L2--\n"
	    "--L1--\n"
	    "epilogue\n"),
	    MIME_UNSUPPORTED, "deep.vbe", "vbe", "" },
	{ "nested multipart 3 levels, clean", MSG(
	    "Content-Type: multipart/mixed; boundary=L1\n"
	    "\n"
	    "--L1\n"
	    "Content-Type: multipart/alternative; boundary=L2\n"
	    "\n"
	    "--L2\n"
	    "Content-Type: multipart/related; boundary=L3\n"
	    "\n"
	    "--L3\n"
	    "Content-Type: image/png; name=a.png\n"
	    "\n"
	    "x\n"
	    "--L3--\n"
	    "--L2--\n"
	    "--L1\n"
	    "Content-Type: text/plain; name=notes.txt\n"
	    "\n"
	    "--L3\n"
	    "Content-Disposition: attachment; filename=stale.exe\n"
	    "--L1--\n"),
	    MIME_OK, NULL, NULL, "" },
	{ "attachment after a closed inner multipart", MSG(
	    "Content-Type: multipart/mixed; boundary=L1\n"
	    "\n"
	    "--L1\n"
	    "Content-Type: multipart/alternative; boundary=L2\n"
	    "\n"
	    "--L2\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "x\n"
	    "--L2--\n"
	    "inner epilogue\n"
	    "--L1\n"
	    "Content-Disposition: attachment; filename=late.sys\n"
	    "\n"
	    "x\n"
	    "--L1--\n"),
	    MIME_UNSUPPORTED, "late.sys", "sys", "" },
	{ "message/rfc822 containing an attachment", MSG(
	    "Content-Type: multipart/mixed; boundary=outer\n"
	    "\n"
	    "--outer\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "see attached\n"
	    "--outer\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "From: x@example.com\n"
	    "Subject: inner\n"
	    "Content-Type: multipart/mixed; boundary=inner\n"
	    "\n"
	    "--inner\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "hi\n"
	    "--inner\n"
	    "Content-Disposition: attachment; filename=\"inner.js\"\n"
	    "\n"
	    "alert(1)\n"
	    "--inner--\n"
	    "--outer--\n"),
	    MIME_UNSUPPORTED, "inner.js", "js", "" },
	{ "message/rfc822 whose header names the file", MSG(
	    "Content-Type: multipart/mixed; boundary=outer\n"
	    "\n"
	    "--outer\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: single part\n"
	    "Content-Type: application/octet-stream; name=\"one.mde\"\n"
	    "\n"
	    "x\n"
	    "--outer--\n"),
	    MIME_UNSUPPORTED, "one.mde", "mde", "" },
	{ "message/rfc822 then an attachment outside it", MSG(
	    "Content-Type: multipart/mixed; boundary=outer\n"
	    "\n"
	    "--outer\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: inner\n"
	    "Content-Type: multipart/mixed; boundary=inner\n"
	    "\n"
	    "--inner\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "x\n"
	    "--inner--\n"
	    "--outer\n"
	    "Content-Disposition: attachment; filename=after.wsh\n"
	    "\n"
	    "x\n"
	    "--outer--\n"),
	    MIME_UNSUPPORTED, "after.wsh", "wsh", "" },
	{ "digest parts default to message/rfc822", MSG(
	    "Content-Type: multipart/digest; boundary=d\n"
	    "\n"
	    "--d\n"
	    "\n"
	    "Subject: first\n"
	    "Content-Disposition: attachment; filename=dig.prg\n"
	    "\n"
	    "x\n"
	    "--d--\n"),
	    MIME_UNSUPPORTED, "dig.prg", "prg", "" },
	{ "non-digest parts default to text/plain", MSG(
	    "Content-Type: multipart/mixed; boundary=d\n"
	    "\n"
	    "--d\n"
	    "\n"
	    "Content-Disposition: attachment; filename=body-text.prg\n"
	    "\n"
	    "x\n"
	    "--d--\n"),
	    MIME_OK, NULL, NULL, "" },
	{ "encoded message/rfc822 not scanned", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "U3ViamVjdDogeA0KDQp4DQo=\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "encoded" },
	{ "mixed line endings", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\r\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "x\n"
	    "--b1\r\n"
	    "Content-Disposition: attachment; filename=m.ins\n"
	    "\r\n"
	    "x\r\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "m.ins", "ins", "" },
	{ "transport padding after boundary", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1 \t \n"
	    "Content-Disposition: attachment; filename=pad.ksh\n"
	    "\n"
	    "x\n"
	    "--b1--\t\n"),
	    MIME_UNSUPPORTED, "pad.ksh", "ksh", "" },
	{ "boundary line followed by text is content", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1 garbage\n"
	    "Content-Disposition: attachment; filename=txt.isp\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "boundary-text" },
	{ "boundary padded past the line cap", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1" SP64 SP64 SP64 SP64 SP64 SP64 SP64 SP64 SP64 SP64 "\n"
	    "Content-Disposition: attachment; filename=wide.its\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "wide.its", "its", "" },
	{ "boundary padded past the line cap, then text", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1" SP64 SP64 SP64 SP64 SP64 SP64 SP64 SP64 SP64 SP64 "x\n"
	    "Content-Disposition: attachment; filename=wide.its\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "boundary-text" },
	{ "similar boundaries nested", MSG(
	    "Content-Type: multipart/mixed; boundary==_a\n"
	    "\n"
	    "--=_a\n"
	    "Content-Type: multipart/alternative; boundary==_a_b\n"
	    "\n"
	    "--=_a_b\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "x\n"
	    "--=_a_b--\n"
	    "--=_a\n"
	    "Content-Disposition: attachment; filename=s.url\n"
	    "\n"
	    "x\n"
	    "--=_a--\n"),
	    MIME_UNSUPPORTED, "s.url", "url", "" },
	{ "outer boundary extends an open inner one", MSG(
	    "Content-Type: multipart/mixed; boundary==_a_b\n"
	    "\n"
	    "--=_a_b\n"
	    "Content-Type: multipart/alternative; boundary==_a\n"
	    "\n"
	    "--=_a\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "x\n"
	    "--=_a_b\n"
	    "Content-Disposition: attachment; filename=s.sct\n"
	    "\n"
	    "x\n"
	    "--=_a_b--\n"),
	    MIME_UNSUPPORTED, "s.sct", "sct", "implicit-end" },
	{ "empty part without a header section end", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=x.tmp\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "x.tmp", "tmp", "" },
	{ "missing boundary", MSG(
	    "Content-Type: multipart/mixed\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=hidden.exe\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "no-boundary" },
	{ "empty boundary", MSG(
	    "Content-Type: multipart/mixed; boundary=\"\"\n"
	    "\n"
	    "--\n"
	    "x\n"),
	    MIME_OK, NULL, NULL, "no-boundary" },
	{ "unterminated multipart", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "no end\n"),
	    MIME_OK, NULL, NULL, "unterminated" },
	{ "unterminated multipart with attachment", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=x.mst\n"
	    "\n"
	    "no end\n"),
	    MIME_UNSUPPORTED, "x.mst", "mst", "" },
	{ "outer boundary ends inner multipart", MSG(
	    "Content-Type: multipart/mixed; boundary=L1\n"
	    "\n"
	    "--L1\n"
	    "Content-Type: multipart/alternative; boundary=L2\n"
	    "\n"
	    "--L2\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "x\n"
	    "--L1\n"
	    "Content-Disposition: attachment; filename=o.scf\n"
	    "\n"
	    "x\n"
	    "--L1--\n"),
	    MIME_UNSUPPORTED, "o.scf", "scf", "implicit-end" },
	{ "truncated inside part headers", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"cut.e"),
	    MIME_OK, NULL, NULL, "unterminated truncated bad-param" },
	{ "truncated after attachment headers", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"cut.exe\"\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "TVqQAAMA"),
	    MIME_UNSUPPORTED, "cut.exe", "exe", "" },
	{ "truncated at a header without final newline", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Disposition: attachment; filename=\"end.reg\""),
	    MIME_UNSUPPORTED, "end.reg", "reg", "" },
	{ "close boundary without final newline", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "x\n"
	    "--b1--"),
	    MIME_OK, NULL, NULL, "" },
	{ "header line without colon", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "garbage line\n"
	    "Content-Disposition: attachment; filename=g.gadget\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "g.gadget", "gadget", "bad-header" },
	{ "second Content-Type in a part", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: text/plain\n"
	    "Content-Type: application/octet-stream; name=\"dup.crt\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "dup.crt", "crt", "duplicate" },
	{ "NUL bytes in content", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: application/octet-stream; name=data.bin\n"
	    "\n"
	    "\0\0--b1\0\n"
	    "\0\n"
	    "--b1--\n"),
	    MIME_OK, NULL, NULL, "" },
	{ "NUL byte in a file name", MSG(
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "X-Junk: a\0b\n"
	    "Content-Disposition: attachment; filename=\"evil.exe\0.pdf\"\n"
	    "\n"
	    "x\n"
	    "--b1--\n"),
	    MIME_UNSUPPORTED, "evil.exe?.pdf", "exe", "nul" },
	{ "long boundary", MSG(
	    "Content-Type: multipart/mixed; boundary="
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "x\n"
	    "\n"
	    "x\n"),
	    MIME_TOO_COMPLEX, "boundary longer than 256 bytes", NULL,
	    "no-boundary" },
};

static const struct {
	const char	*what;
	bool		 crlf;
	size_t		 chunk;
} variants[] = {
	{ "LF, at once", false, 0 },
	{ "CRLF, at once", true, 0 },
	{ "LF, 1-byte chunks", false, 1 },
	{ "CRLF, 1-byte chunks", true, 1 },
	{ "CRLF, 2-byte chunks", true, 2 },
	{ "LF, 3-byte chunks", false, 3 },
	{ "CRLF, 5-byte chunks", true, 5 },
	{ "LF, 13-byte chunks", false, 13 },
	{ "CRLF, 64-byte chunks", true, 64 },
};

START_TEST(test_cases)
{
	struct mime_result	 res;
	char			 name[200], *msg;
	size_t			 len;

	for (size_t i = 0; i < NELEM(variants); i++) {
		snprintf(name, sizeof(name), "%s (%s)", cases[_i].name,
		    variants[i].what);
		if (variants[i].crlf)
			msg = to_crlf(cases[_i].msg, cases[_i].len, &len);
		else {
			msg = malloc(cases[_i].len + 1);
			memcpy(msg, cases[_i].msg, cases[_i].len + 1);
			len = cases[_i].len;
		}
		scan(msg, len, variants[i].chunk, NULL, &res);
		expect(name, &res, cases[_i].want, cases[_i].want_file,
		    cases[_i].want_ext, cases[_i].want_notes);
		free(msg);
	}
}
END_TEST

/* Every cut of a message into two chunks, inside boundary lines and
   between CR and LF included, gives the whole message's answer. */
START_TEST(test_split_everywhere)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=\"=_split_\"\r\n"
	    "\r\n"
	    "--=_split_\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "--=_split_x is not a boundary of ours? it is a prefix\r\n"
	    "--=_split_\r\n"
	    "Content-Type: application/octet-stream;\r\n"
	    " name*0=\"sp\"; name*1=\"lit.exe\"\r\n"
	    "\r\n"
	    "x\r\n"
	    "--=_split_--\r\n";
	struct mime_result	 res;
	struct mime		*m;
	size_t			 body, len = sizeof(msg) - 1;
	char			 name[64];

	for (size_t cut = 0; cut <= len; cut++) {
		m = mime_new(NULL);
		body = feed_headers(m, msg, len);
		mime_eoh(m);
		if (cut > body) {
			mime_body(m, (const unsigned char *)msg + body,
			    cut - body);
			mime_body(m, (const unsigned char *)msg + cut,
			    len - cut);
		} else
			mime_body(m, (const unsigned char *)msg + body,
			    len - body);
		mime_end(m, &res);
		mime_free(&m);
		snprintf(name, sizeof(name), "boundary split at byte %zu", cut);
		expect(name, &res, MIME_UNSUPPORTED, "split.exe", "exe",
		    "boundary-text");
	}
}
END_TEST

/* n multiparts, each inside the last, the innermost holding an .exe. */
static char *
nested(unsigned n, size_t *len_out)
{
	struct buf b = BUF_INIT;

	/* "n3_" is no prefix of "n32_" (RFC 2046 5.1.2) */
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=n0_\n\n");
	for (unsigned i = 1; i < n; i++)
		buf_printf(&b, "--n%u_\nContent-Type: multipart/mixed;"
		    " boundary=n%u_\n\n", i - 1, i);
	buf_printf(&b, "--n%u_\nContent-Disposition: attachment;"
	    " filename=deep.exe\n\nx\n", n - 1);
	for (unsigned i = n; i-- > 0;)
		buf_printf(&b, "--n%u_--\n", i);
	*len_out = b.len;
	return b.data;
}

START_TEST(test_depth)
{
	static const struct {
		const char		*name;
		unsigned		 levels;
		unsigned		 max_depth;	/* 0: default */
		enum mime_verdict	 want;
		const char		*want_reason;
	} dcases[] = {
		{ "depth 32 nesting", 32, 0, MIME_UNSUPPORTED, NULL },
		{ "depth 33 nesting", 33, 0, MIME_TOO_COMPLEX,
		    "nesting deeper than 32 levels" },
		{ "depth 1000 nesting", 1000, 0, MIME_TOO_COMPLEX,
		    "nesting deeper than 32 levels" },
		{ "depth 4 under a limit of 3", 4, 3, MIME_TOO_COMPLEX,
		    "nesting deeper than 3 levels" },
	};
	struct mime_limits	 lim;
	struct mime_result	 res;
	size_t			 len;
	char			*msg;

	for (size_t i = 0; i < NELEM(dcases); i++) {
		memset(&lim, 0, sizeof(lim));
		lim.max_depth = dcases[i].max_depth;
		msg = nested(dcases[i].levels, &len);
		scan(msg, len, 0, &lim, &res);
		if (dcases[i].want == MIME_UNSUPPORTED)
			expect(dcases[i].name, &res, dcases[i].want,
			    "deep.exe", "exe", "");
		else
			expect(dcases[i].name, &res, dcases[i].want,
			    dcases[i].want_reason, NULL, "");
		scan(msg, len, 7, &lim, &res);
		EXPECT_STR("mime_end", dcases[i].name,
		    verdict_name(res.verdict), verdict_name(dcases[i].want));
		free(msg);
	}
}
END_TEST

/* n parts; the last one is named `last`. */
static char *
many_parts(unsigned n, const char *last, size_t *len_out)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (unsigned i = 1; i < n; i++)
		buf_printf(&b, "--p\nContent-Type: text/plain;"
		    " name=part%u.txt\n\nbody %u\n", i, i);
	buf_printf(&b, "--p\nContent-Disposition: attachment;"
	    " filename=%s\n\nx\n--p--\n", last);
	*len_out = b.len;
	return b.data;
}

START_TEST(test_parts)
{
	static const struct {
		const char		*name;
		unsigned		 parts;
		unsigned		 max_parts;	/* 0: default */
		const char		*last;
		enum mime_verdict	 want;
		const char		*want_what;
	} pcases[] = {
		{ "10,000 parts", 10000, 0, "last.txt", MIME_OK, NULL },
		{ "10,000 parts, the last an .exe", 10000, 0, "last.exe",
		    MIME_UNSUPPORTED, "last.exe" },
		{ "10,001 parts", 10001, 0, "last.exe", MIME_TOO_COMPLEX,
		    "more than 10000 parts" },
		{ "101 parts under a limit of 100", 101, 100, "last.txt",
		    MIME_TOO_COMPLEX, "more than 100 parts" },
	};
	struct mime_limits	 lim;
	struct mime_result	 res;
	size_t			 len;
	char			*msg;

	for (size_t i = 0; i < NELEM(pcases); i++) {
		memset(&lim, 0, sizeof(lim));
		lim.max_parts = pcases[i].max_parts;
		msg = many_parts(pcases[i].parts, pcases[i].last, &len);
		scan(msg, len, 0, &lim, &res);
		expect(pcases[i].name, &res, pcases[i].want,
		    pcases[i].want_what, "exe", "");
		if (pcases[i].want == MIME_OK)
			EXPECT_INT("mime_end", pcases[i].name, res.parts,
			    pcases[i].parts);
		free(msg);
	}
}
END_TEST

/* Header lines of a megabyte: skipped when the field does not matter, a
   reason to give up when it does, the same fed at once or in chunks. */
START_TEST(test_long_header)
{
	static const struct {
		const char		*name;
		const char		*top;	/* a long top field */
		const char		*part;	/* a long part field */
		const char		*tail;	/* after the value */
		bool			 after;	/* then after.exe */
		enum mime_verdict	 want;
		const char		*want_what;
		const char		*want_notes;
	} lcases[] = {
		{ "1 MB top-level Subject", "Subject", NULL, "", true,
		    MIME_UNSUPPORTED, "after.exe", "" },
		{ "1 MB top-level Content-Type", "Content-Type", NULL, "",
		    false, MIME_TOO_COMPLEX,
		    "Content-Type field longer than 16384 bytes", "" },
		{ "1 MB part header line skipped", NULL, "X-Long", "", true,
		    MIME_UNSUPPORTED, "after.exe", "long-header" },
		{ "1 MB Content-Disposition hides the name", NULL,
		    "Content-Disposition", "; filename=hidden.exe", false,
		    MIME_TOO_COMPLEX,
		    "Content-Disposition field longer than 16384 bytes",
		    "long-header" },
	};
	const size_t		 big = 1024 * 1024;
	struct buf		 b = BUF_INIT;
	struct mime		*m;
	struct mime_result	 res;
	char			*value = malloc(big + 1), name[128];
	bool			 top_ct;

	memset(value, 'v', big);
	value[0] = 'x';
	value[1] = ';';
	value[big] = '\0';
	for (size_t i = 0; i < NELEM(lcases); i++) {
		top_ct = lcases[i].top != NULL &&
		    strcmp(lcases[i].top, "Content-Type") == 0;
		buf_reset(&b);
		buf_puts(&b, "--p\n");
		if (lcases[i].part != NULL)
			buf_printf(&b, "%s: %s%s\n", lcases[i].part, value,
			    lcases[i].tail);
		if (lcases[i].after)
			buf_puts(&b, "Content-Disposition: attachment;"
			    " filename=after.exe\n");
		buf_puts(&b, "\nx\n--p--\n");
		for (size_t chunk = 0; chunk <= 4096; chunk += 4096) {
			snprintf(name, sizeof(name), "%s (%s)",
			    lcases[i].name, chunk ? "4 KB chunks" : "at once");
			m = mime_new(NULL);
			if (!top_ct)
				mime_header(m, "Content-Type",
				    "multipart/mixed; boundary=p");
			if (lcases[i].top != NULL)
				mime_header(m, lcases[i].top, value);
			mime_eoh(m);
			for (size_t o = 0, n; o < b.len; o += n) {
				n = chunk != 0 && b.len - o > chunk ? chunk :
				    b.len - o;
				mime_body(m, (const unsigned char *)b.data + o,
				    n);
			}
			mime_end(m, &res);
			mime_free(&m);
			expect(name, &res, lcases[i].want,
			    lcases[i].want_what, "exe", lcases[i].want_notes);
		}
	}
	buf_free(&b);
	free(value);
}
END_TEST

/* A 2 MB message with a 2 MB line in a part's headers, a 1 MB content
   line and 20,000 content lines keeps little more than its limits. */
START_TEST(test_memory_bounded)
{
	struct buf		 b = BUF_INIT;
	struct mime		*m;
	struct mime_result	 res;
	struct mallinfo2	 before, after;
	size_t			 grew;

	buf_puts(&b, "--p\nX-Long: ");
	for (int i = 0; i < 2 * 1024; i++)
		buf_puts(&b, "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef");
	buf_puts(&b, "\n\n");
	for (int i = 0; i < 20000; i++)
		buf_puts(&b, "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAA\n");
	buf_puts(&b, "--p--\n");

	m = mime_new(NULL);
	mime_header(m, "Content-Type", "multipart/mixed; boundary=p");
	mime_eoh(m);
	before = mallinfo2();
	for (size_t o = 0; o < b.len; o += 1000)
		mime_body(m, (const unsigned char *)b.data + o,
		    b.len - o < 1000 ? b.len - o : 1000);
	after = mallinfo2();
	mime_end(m, &res);
	mime_free(&m);
	grew = after.uordblks > before.uordblks ?
	    after.uordblks - before.uordblks : 0;
	ck_assert_msg(grew < 128 * 1024,
	    "mime_body: \"2 MB message\": grew by %zu bytes, want < 128 KB",
	    grew);
	expect("2 MB message", &res, MIME_OK, NULL, NULL, "long-header");
	buf_free(&b);
}
END_TEST

/* The corpus in tests/milter/mime: messages as real clients write them. */
START_TEST(test_corpus)
{
	static const struct {
		const char		*file;
		enum mime_verdict	 want;
		const char		*want_file;
		const char		*want_ext;
	} ccases[] = {
		{ "outlook-rfc2047.eml", MIME_UNSUPPORTED,
		    "Rechnung M\xe4rz.scr", "scr" },
		{ "thunderbird-rfc2231.eml", MIME_UNSUPPORTED,
		    "\xc3\x9c" "berweisungsvorlage f\xc3\xbcr das erste"
		    " Quartal 2024.vbs", "vbs" },
		{ "forwarded-rfc822.eml", MIME_UNSUPPORTED, "Setup.MSI",
		    "msi" },
		{ "clean-newsletter.eml", MIME_OK, NULL, NULL },
	};
	struct mime_result	 res;
	char			 path[256], buf[64 * 1024], *crlf;
	size_t			 len, clen;
	FILE			*fp;

	for (size_t i = 0; i < NELEM(ccases); i++) {
		snprintf(path, sizeof(path), "tests/milter/mime/%s",
		    ccases[i].file);
		fp = fopen(path, "rb");
		ck_assert_msg(fp != NULL, "%s: cannot open (run from the top"
		    " of the tree)", path);
		len = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		scan(buf, len, 0, NULL, &res);
		expect(ccases[i].file, &res, ccases[i].want,
		    ccases[i].want_file, ccases[i].want_ext, "");
		crlf = to_crlf(buf, len, &clen);
		scan(crlf, clen, 1, NULL, &res);
		expect(ccases[i].file, &res, ccases[i].want,
		    ccases[i].want_file, ccases[i].want_ext, "");
		free(crlf);
	}
}
END_TEST

/* The 90 extensions exactly as SES-REFERENCE.md 1.9 lists them. */
static const char ses_list[] =
    ".ade .adp .app .asp .bas .bat .cer .chm .cmd .com .cpl .crt .csh .der"
    " .exe .fxp .gadget .hlp .hta .inf .ins .isp .its"
    " .js .jse .ksh .lib .lnk .mad .maf .mag .mam .maq .mar .mas .mat .mau"
    " .mav .maw .mda .mdb .mde .mdt .mdw .mdz .msc .msh"
    " .msh1 .msh2 .mshxml .msh1xml .msh2xml .msi .msp .mst .ops .pcd .pif"
    " .plg .prf .prg .reg .scf .scr .sct .shb .shs .sys"
    " .ps1 .ps1xml .ps2 .ps2xml .psc1 .psc2 .tmp .url .vb .vbe .vbs .vps"
    " .vsmacros .vss .vst .vsw .vxd .ws .wsc .wsf .wsh .xnk";

START_TEST(test_ses_list)
{
	char		 list[sizeof(ses_list)], file[64], *tok;
	char		*save = NULL;
	const char	*ext;
	int		 n = 0;

	memcpy(list, ses_list, sizeof(list));
	for (tok = strtok_r(list, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		n++;
		snprintf(file, sizeof(file), "file%s", tok);
		EXPECT_INT("mime_ext_unsupported", file,
		    mime_ext_unsupported(file, &ext), 1);
		EXPECT_STR("mime_ext_unsupported", file, ext, tok + 1);
		snprintf(file, sizeof(file), "file%sx", tok);
		EXPECT_INT("mime_ext_unsupported", file,
		    mime_ext_unsupported(file, &ext), 0);
		EXPECT_STR("mime_ext_unsupported", file, ext, NULL);
	}
	EXPECT_INT("mime_ext_unsupported", "SES list length", n, 90);
}
END_TEST

START_TEST(test_ext)
{
	static const struct {
		const char	*name;
		const char	*in;
		const char	*want;	/* NULL: allowed */
	} ecases[] = {
		{ "plain", "a.exe", "exe" },
		{ "upper case", "A.EXE", "exe" },
		{ "only the last extension counts", "a.exe.txt", NULL },
		{ "last of two", "a.txt.exe", "exe" },
		{ "no dot", "exe", NULL },
		{ "dot file", ".exe", "exe" },
		{ "empty extension", "a.", NULL },
		{ "prefix of one", "a.ex", NULL },
		{ "longer than one", "a.exes", NULL },
		{ "trailing dot", "a.exe.", "exe" },
		{ "trailing dots and spaces", "a.exe . .", "exe" },
		{ "trailing quote", "a.exe\"", "exe" },
		{ "trailing tab and CR", "a.exe\t\r", "exe" },
		{ "dot in a directory", "dir.exe/readme", NULL },
		{ "dot in a Windows directory", "dir.exe\\readme", NULL },
		{ "path to a program", "C:\\tmp\\x.com", "com" },
		{ "8-bit name", "\xc3\xa9t\xc3\xa9.msi", "msi" },
		{ "8-bit extension", "a.\xc3\xa9xe", NULL },
		{ "empty", "", NULL },
		{ "only dots", "...", NULL },
	};
	const char *ext = "unchanged";

	for (size_t i = 0; i < NELEM(ecases); i++) {
		EXPECT_INT("mime_ext_unsupported", ecases[i].name,
		    mime_ext_unsupported(ecases[i].in, &ext),
		    ecases[i].want != NULL);
		EXPECT_STR("mime_ext_unsupported", ecases[i].name, ext,
		    ecases[i].want);
	}
	EXPECT_INT("mime_ext_unsupported", "NULL name",
	    mime_ext_unsupported(NULL, &ext), 0);
	EXPECT_STR("mime_ext_unsupported", "NULL name", ext, NULL);
	EXPECT_INT("mime_ext_unsupported", "NULL ext_out",
	    mime_ext_unsupported("x.bat", NULL), 1);
}
END_TEST

START_TEST(test_notes)
{
	char	out[64], small[20];

	EXPECT_STR("mime_format_notes", "none", mime_format_notes(0, out,
	    sizeof(out)), "");
	EXPECT_STR("mime_format_notes", "two", mime_format_notes(
	    MIME_NOTE_NUL | MIME_NOTE_NO_BOUNDARY, out, sizeof(out)),
	    "no-boundary nul");
	EXPECT_STR("mime_format_notes", "cut to fit", mime_format_notes(
	    MIME_NOTE_NO_BOUNDARY | MIME_NOTE_UNTERMINATED |
	    MIME_NOTE_ENCODED, small, sizeof(small)), "no-boundary");
}
END_TEST

/* A long decoded name is shortened in the middle; the extension stays. */
START_TEST(test_long_name)
{
	struct buf		b = BUF_INIT;
	struct mime_result	res;
	char			want[MIME_FILE_MAX];

	buf_puts(&b, "Content-Type: multipart/mixed; boundary=b1\n\n--b1\n"
	    "Content-Disposition: attachment; filename=\"");
	for (int i = 0; i < 100; i++)
		buf_puts(&b, "0123456789");
	buf_puts(&b, ".exe\"\n\nx\n--b1--\n");
	scan(b.data, b.len, 0, NULL, &res);
	memset(want, 0, sizeof(want));
	for (int i = 0; i < 126; i++)
		want[i] = (char)('0' + i % 10);
	memcpy(want + 126, "...", 3);
	for (int i = 0; i < 122; i++)
		want[129 + i] = (char)('0' + (i + 8) % 10);
	memcpy(want + 251, ".exe", 4);
	expect("1000-byte name", &res, MIME_UNSUPPORTED, want, "exe", "");
	EXPECT_INT("mime_end", "1000-byte name", strlen(res.file),
	    MIME_FILE_MAX - 1);
	buf_free(&b);
}
END_TEST

/* Input after the verdict, mime_body before mime_eoh, and mime_end with
   nothing fed are all harmless. */
START_TEST(test_api_edges)
{
	struct mime		*m;
	struct mime_result	 res;
	static const char	 body[] = "x\n";

	m = mime_new(NULL);
	mime_end(m, &res);
	mime_free(&m);
	expect("empty message", &res, MIME_OK, NULL, NULL, "");

	m = mime_new(NULL);
	mime_header(m, "Content-Disposition", "attachment; filename=a.exe");
	mime_header(m, "Content-Type", "multipart/mixed; boundary=b");
	mime_body(m, (const unsigned char *)body, sizeof(body) - 1);
	mime_header(m, "Content-Type", "text/plain; name=b.bat");
	mime_end(m, &res);
	mime_free(&m);
	expect("verdict before the body", &res, MIME_UNSUPPORTED, "a.exe",
	    "exe", "");

	m = mime_new(NULL);
	mime_body(m, (const unsigned char *)body, sizeof(body) - 1);
	mime_header(m, "Content-Type", "text/plain; name=late.bat");
	mime_end(m, &res);
	mime_free(&m);
	expect("header after the body", &res, MIME_OK, NULL, NULL, "");
	mime_free(&m);
}
END_TEST

Suite *
mime_suite(void)
{
	Suite	*s = suite_create("mime");
	TCase	*tc = tcase_create("mime");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cases, 0, (int)NELEM(cases));
	tcase_add_test(tc, test_split_everywhere);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_parts);
	tcase_add_test(tc, test_long_header);
	tcase_add_test(tc, test_memory_bounded);
	tcase_add_test(tc, test_corpus);
	tcase_add_test(tc, test_ses_list);
	tcase_add_test(tc, test_ext);
	tcase_add_test(tc, test_notes);
	tcase_add_test(tc, test_long_name);
	tcase_add_test(tc, test_api_edges);
	suite_add_tcase(s, tc);
	return s;
}
