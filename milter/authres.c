/*
 * authres.c - the Authentication-Results field (RFC 8601): result words
 * and the field's value from the verdicts of SPF, DKIM and DMARC. Values
 * that come from the message or the client are written as they are when
 * they are a token or an address, else as a quoted-string, so that none
 * can end a resinfo or add one. No state; safe in any thread.
 */
#include <string.h>
#include <strings.h>

#include "authres.h"

const char *
authres_name(enum auth_result r)
{
	switch (r) {
	case AUTH_NONE:
		return "none";
	case AUTH_PASS:
		return "pass";
	case AUTH_FAIL:
		return "fail";
	case AUTH_SOFTFAIL:
		return "softfail";
	case AUTH_NEUTRAL:
		return "neutral";
	case AUTH_TEMPERROR:
		return "temperror";
	case AUTH_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

const char *
authres_disposition_name(enum authres_disposition d)
{
	switch (d) {
	case DISP_NONE:
		return "none";
	case DISP_QUARANTINE:
		return "quarantine";
	case DISP_REJECT:
		return "reject";
	}
	return "none";
}

/* A pvalue (RFC 8601 section 2.2): a token, or local-part@domain, as it
   is; anything else quoted, with control characters dropped. */
static void
authres_value(struct buf *out, const char *v)
{
	bool plain = *v != '\0';

	for (const char *p = v; *p != '\0' && plain; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch <= ' ' || ch >= 127 || strchr("()<>,;:\\\"[]?=", ch))
			plain = false;
	}
	if (plain) {
		buf_puts(out, v);
		return;
	}
	buf_puts(out, "\"");
	for (const char *p = v; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < ' ' || ch == 127)
			continue;
		if (ch == '"' || ch == '\\')
			buf_puts(out, "\\");
		buf_append(out, p, 1);
	}
	buf_puts(out, "\"");
}

static void
authres_prop(struct buf *out, const char *name, const char *v)
{
	if (*v == '\0')
		return;
	buf_printf(out, " %s=", name);
	authres_value(out, v);
}

void
authres_format(struct buf *out, const char *authserv,
    const struct authres_spf *spf, const struct authres_dkim *dkim,
    size_t n, const struct authres_dmarc *dmarc)
{
	authres_value(out, authserv);
	buf_printf(out, ";\n\tspf=%s", authres_name(spf->result));
	authres_prop(out, spf->helo ? "smtp.helo" : "smtp.mailfrom",
	    spf->identity);
	if (n == 0)
		buf_puts(out, ";\n\tdkim=none");
	for (size_t i = 0; i < n; i++) {
		buf_printf(out, ";\n\tdkim=%s", authres_name(dkim[i].result));
		if (dkim[i].reason != NULL)
			buf_printf(out, " (%s)", dkim[i].reason);
		authres_prop(out, "header.d", dkim[i].d);
		authres_prop(out, "header.s", dkim[i].s);
		authres_prop(out, "header.a", dkim[i].a);
		authres_prop(out, "header.b", dkim[i].b);
	}
	buf_printf(out, ";\n\tdmarc=%s", authres_name(dmarc->result));
	if (dmarc->result == AUTH_PASS || dmarc->result == AUTH_FAIL)
		buf_printf(out, " (p=%s dis=%s)",
		    authres_disposition_name(dmarc->policy),
		    authres_disposition_name(dmarc->dis));
	authres_prop(out, "header.from", dmarc->from);
}

bool
authres_is_ours(const char *value, const char *authserv)
{
	size_t n = strlen(authserv);

	while (*value == ' ' || *value == '\t' || *value == '\r' ||
	    *value == '\n')
		value++;
	if (n == 0 || strncasecmp(value, authserv, n) != 0)
		return false;
	value += n;
	/* authserv-id [CFWS version] ";" (RFC 8601 section 2.2) */
	while (*value == ' ' || *value == '\t' || *value == '\r' ||
	    *value == '\n' || (*value >= '0' && *value <= '9'))
		value++;
	return *value == ';' || *value == '\0';
}
