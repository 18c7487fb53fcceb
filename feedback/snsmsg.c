/*
 * snsmsg.c - the Amazon SNS envelope of an HTTP(S) delivery: parsed with
 * json-c into a struct snsmsg whose strings the caller owns, the string
 * AWS signs, the rule for SigningCertURL and SubscribeURL hosts (the one
 * in aws/aws-php-sns-message-validator), and the RSA signature check with
 * OpenSSL. No state; safe in any thread (OpenSSL 3 keeps its error queue
 * per thread).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "mem.h"
#include "snsmsg.h"
#include "str.h"

#define TY(t)		(1u << (t))
#define TY_NOTE		TY(SNSMSG_NOTIFICATION)
#define TY_CONF		(TY(SNSMSG_SUBSCRIPTION_CONFIRMATION) |		\
			 TY(SNSMSG_UNSUBSCRIBE_CONFIRMATION))
#define TY_ALL		(TY_NOTE | TY_CONF)
#define OFF(f)		offsetof(struct snsmsg, f)

/* The envelope fields besides Type, from SES-REFERENCE 1.7: which types
   must carry each one, and for which types it is kept at all (a field a
   type does not use is ignored like any unknown field). */
static const struct snsmsg_field {
	const char	*key;
	size_t		 off;
	unsigned	 required;
	unsigned	 kept;
} snsmsg_fields[] = {
	{ "MessageId",		OFF(message_id),	TY_ALL,	TY_ALL },
	{ "TopicArn",		OFF(topic_arn),		TY_ALL,	TY_ALL },
	{ "Subject",		OFF(subject),		0,	TY_NOTE },
	{ "Message",		OFF(message),		TY_ALL,	TY_ALL },
	{ "Timestamp",		OFF(timestamp),		TY_ALL,	TY_ALL },
	{ "SignatureVersion",	OFF(signature_version),	TY_ALL,	TY_ALL },
	{ "Signature",		OFF(signature),		TY_ALL,	TY_ALL },
	{ "SigningCertURL",	OFF(signing_cert_url),	TY_ALL,	TY_ALL },
	{ "SubscribeURL",	OFF(subscribe_url),	TY_CONF, TY_CONF },
	{ "UnsubscribeURL",	OFF(unsubscribe_url),	0,	TY_ALL },
	{ "Token",		OFF(token),		TY_CONF, TY_CONF },
};

static const char *const snsmsg_type_names[] = {
	[SNSMSG_NOTIFICATION] = "Notification",
	[SNSMSG_SUBSCRIPTION_CONFIRMATION] = "SubscriptionConfirmation",
	[SNSMSG_UNSUBSCRIBE_CONFIRMATION] = "UnsubscribeConfirmation",
};

static void	snsmsg_err(char *errbuf, size_t errlen, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

static void
snsmsg_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);	/* truncation is harmless */
	va_end(ap);
}

/* A value from the network made fit for an error text: printable ASCII
   only, at most 64 characters. */
static void
snsmsg_sanitize(char *dst, size_t dstlen, const char *s)
{
	size_t i;

	for (i = 0; i < 64 && i + 1 < dstlen && s[i] != '\0'; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (dstlen > 0)
		dst[i] = '\0';
}

/* 0 and *value_out (NULL when an optional field is absent or null), or
   -1 with errbuf. */
static int
snsmsg_get(struct json_object *root, const char *key, bool required,
    const char **value_out, char *errbuf, size_t errlen)
{
	struct json_object	*v;
	const char		*s;

	*value_out = NULL;
	if (!json_object_object_get_ex(root, key, &v) ||
	    (!required && json_object_is_type(v, json_type_null))) {
		if (!required)
			return 0;
		snsmsg_err(errbuf, errlen, "missing field %s", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snsmsg_err(errbuf, errlen, "field %s is not a string", key);
		return -1;
	}
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		snsmsg_err(errbuf, errlen, "field %s holds a NUL byte", key);
		return -1;
	}
	*value_out = s;
	return 0;
}

static int
snsmsg_fill(struct json_object *root, struct snsmsg *out, char *errbuf,
    size_t errlen)
{
	const char	*type, *value;
	char		 shown[80];
	size_t		 i;
	unsigned	 bit;

	if (snsmsg_get(root, "Type", true, &type, errbuf, errlen) == -1)
		return -1;
	for (i = 0; i < sizeof(snsmsg_type_names) /
	    sizeof(snsmsg_type_names[0]); i++)
		if (strcmp(type, snsmsg_type_names[i]) == 0)
			break;
	if (i == sizeof(snsmsg_type_names) / sizeof(snsmsg_type_names[0])) {
		snsmsg_sanitize(shown, sizeof(shown), type);
		snsmsg_err(errbuf, errlen, "unknown Type <%s>", shown);
		return -1;
	}
	out->type = (enum snsmsg_type)i;
	bit = TY(out->type);
	for (i = 0; i < sizeof(snsmsg_fields) / sizeof(snsmsg_fields[0]); i++) {
		const struct snsmsg_field *f = &snsmsg_fields[i];

		if ((f->kept & bit) == 0)
			continue;
		if (snsmsg_get(root, f->key, (f->required & bit) != 0, &value,
		    errbuf, errlen) == -1)
			return -1;
		*(char **)((char *)out + f->off) = xstrdup(value);
	}
	return 0;
}

int
snsmsg_parse(const char *body, size_t len, struct snsmsg *out,
    char *errbuf, size_t errlen)
{
	struct json_tokener	*tok;
	struct json_object	*root;
	enum json_tokener_error	 jerr;
	char			*copy;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		snsmsg_err(errbuf, errlen, "not JSON: empty body");
		return -1;
	}
	if (memchr(body, '\0', len) != NULL) {
		snsmsg_err(errbuf, errlen, "NUL byte in body");
		return -1;
	}
	if (len >= INT_MAX) {
		snsmsg_err(errbuf, errlen, "body too large");
		return -1;
	}
	if ((tok = json_tokener_new()) == NULL) {
		snsmsg_err(errbuf, errlen, "json-c: cannot allocate a parser");
		return -1;
	}
	/* The terminating NUL is handed to json-c as the end of input, so
	   that a bare "null" or number at the top ends there instead of
	   waiting for more; strict mode rejects trailing data. */
	copy = xstrndup(body, len);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, copy, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success)
		snsmsg_err(errbuf, errlen, "not JSON: %s at byte %zu",
		    json_tokener_error_desc(jerr),
		    json_tokener_get_parse_end(tok));
	else if (!json_object_is_type(root, json_type_object))
		snsmsg_err(errbuf, errlen, "not a JSON object");
	else
		rc = snsmsg_fill(root, out, errbuf, errlen);
	json_object_put(root);
	json_tokener_free(tok);
	free(copy);
	if (rc == -1)
		snsmsg_clear(out);
	return rc;
}

void
snsmsg_clear(struct snsmsg *m)
{
	size_t i;

	for (i = 0; i < sizeof(snsmsg_fields) / sizeof(snsmsg_fields[0]); i++)
		free(*(char **)((char *)m + snsmsg_fields[i].off));
	memset(m, 0, sizeof(*m));
}

const char *
snsmsg_type_name(enum snsmsg_type t)
{
	if ((size_t)t < sizeof(snsmsg_type_names) /
	    sizeof(snsmsg_type_names[0]))
		return snsmsg_type_names[t];
	return "unknown";
}

static void
snsmsg_sign_put(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return;
	buf_puts(b, key);
	buf_puts(b, "\n");
	buf_puts(b, value);
	buf_puts(b, "\n");
}

char *
snsmsg_string_to_sign(const struct snsmsg *m)
{
	struct buf	b = BUF_INIT;
	bool		note = m->type == SNSMSG_NOTIFICATION;

	/* Keys in byte order, as the SNS documentation lists them. */
	snsmsg_sign_put(&b, "Message", m->message);
	snsmsg_sign_put(&b, "MessageId", m->message_id);
	if (note)
		snsmsg_sign_put(&b, "Subject", m->subject);
	else
		snsmsg_sign_put(&b, "SubscribeURL", m->subscribe_url);
	snsmsg_sign_put(&b, "Timestamp", m->timestamp);
	if (!note)
		snsmsg_sign_put(&b, "Token", m->token);
	snsmsg_sign_put(&b, "TopicArn", m->topic_arn);
	snsmsg_sign_put(&b, "Type", snsmsg_type_name(m->type));
	return b.data != NULL ? b.data : xstrdup("");
}

static bool
snsmsg_hostchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/* ^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$ without regex(3), on the
   n bytes at h, ignoring case. */
static bool
snsmsg_host_ok(const char *h, size_t n)
{
	static const char *const suffixes[] = {
		".amazonaws.com.cn", ".amazonaws.com"
	};
	size_t i, sl, mid;

	if (n < 4 || !str_ieq_n(h, 4, "sns."))
		return false;
	for (i = 0; i < 2; i++) {
		sl = strlen(suffixes[i]);
		if (n >= 4 + 3 + sl && str_ieq_n(h + n - sl, sl, suffixes[i]))
			break;
	}
	if (i == 2)
		return false;
	for (mid = 4; mid < n - sl; mid++)
		if (!snsmsg_hostchar(h[mid]))
			return false;
	return true;
}

bool
snsmsg_url_ok(const char *url, bool pem)
{
	const char	*p, *auth, *auth_end, *colon, *path, *path_end;

	if (url == NULL)
		return false;
	/* A byte that URL parsers disagree about (white space, controls,
	   "\" which WHATWG reads as "/", "#", non-ASCII that IDNA would map)
	   could make the fetcher see another host than we checked. */
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '\\' || *p == '#')
			return false;
	if (!str_ieq_n(url, 8, "https://"))
		return false;
	/* RFC 3986 §3.2: the authority ends at the first "/", "?" or "#". */
	auth = url + 8;
	auth_end = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
		return false;
	colon = memchr(auth, ':', (size_t)(auth_end - auth));
	if (colon != NULL && (auth_end - colon != 4 ||
	    memcmp(colon, ":443", 4) != 0))
		return false;
	if (!snsmsg_host_ok(auth, (size_t)((colon != NULL ? colon : auth_end) -
	    auth)))
		return false;
	if (!pem)
		return true;
	/* A certificate: a path ending in ".pem" (as AWS's validator, case
	   matters) and no query. */
	path = auth_end;
	path_end = path + strlen(path);
	return *path == '/' && strchr(path, '?') == NULL &&
	    path_end - path > 4 && memcmp(path_end - 4, ".pem", 4) == 0;
}

/* Standard base64 (RFC 4648 §4), all of it: length a multiple of 4, at
   most two "=" at the end, unused bits zero. 0 with *out_out (caller
   frees) and *len_out, or -1. */
static int
snsmsg_base64_decode(const char *s, unsigned char **out_out,
    size_t *len_out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t		 n = strlen(s), pad = 0, i;
	unsigned char	*out;
	const char	*last;
	int		 r;

	if (n == 0 || n % 4 != 0 || n > INT_MAX)
		return -1;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n - pad; i++)
		if (strchr(alphabet, s[i]) == NULL)
			return -1;
	if (pad > 0) {
		last = strchr(alphabet, s[n - pad - 1]);
		if (((last - alphabet) & (pad == 1 ? 0x3 : 0xf)) != 0)
			return -1;
	}
	out = xmalloc(n / 4 * 3);
	r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (r < 0 || (size_t)r != n / 4 * 3) {
		free(out);
		return -1;
	}
	*out_out = out;
	*len_out = (size_t)r - pad;
	return 0;
}

/* The OpenSSL error queue as a short text; the queue is then empty. */
static void
snsmsg_ossl_err(char *dst, size_t dstlen)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		str_copy(dst, dstlen, "no detail");
	else
		ERR_error_string_n(e, dst, dstlen);
	ERR_clear_error();
}

EVP_PKEY *
snsmsg_cert_key(const char *cert_pem, size_t certlen, char *errbuf,
    size_t errlen)
{
	BIO		*bio;
	X509		*cert;
	EVP_PKEY	*pkey = NULL;
	char		 detail[256];

	if (certlen == 0 || certlen > INT_MAX) {
		snsmsg_err(errbuf, errlen, "cannot read certificate: %s",
		    certlen == 0 ? "empty" : "too large");
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(cert_pem, (int)certlen)) == NULL) {
		snsmsg_ossl_err(detail, sizeof(detail));
		snsmsg_err(errbuf, errlen, "OpenSSL: %s", detail);
		return NULL;
	}
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (cert == NULL || (pkey = X509_get_pubkey(cert)) == NULL) {
		snsmsg_ossl_err(detail, sizeof(detail));
		snsmsg_err(errbuf, errlen, "cannot read certificate: %s",
		    detail);
	}
	X509_free(cert);
	return pkey;
}

int
snsmsg_verify_key(const struct snsmsg *m, EVP_PKEY *pkey, char *errbuf,
    size_t errlen)
{
	const EVP_MD	*md;
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	*sig = NULL;
	size_t		 siglen;
	char		*tbs = NULL, shown[80], detail[256];
	int		 rc = 0;

	ERR_clear_error();
	if (m->signature_version != NULL &&
	    strcmp(m->signature_version, "1") == 0)
		md = EVP_sha1();
	else if (m->signature_version != NULL &&
	    strcmp(m->signature_version, "2") == 0)
		md = EVP_sha256();
	else {
		snsmsg_sanitize(shown, sizeof(shown),
		    m->signature_version != NULL ? m->signature_version : "");
		snsmsg_err(errbuf, errlen, "unsupported SignatureVersion <%s>",
		    shown);
		return 0;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		snsmsg_err(errbuf, errlen, "certificate key is not RSA");
		goto out;
	}
	if (m->signature == NULL ||
	    snsmsg_base64_decode(m->signature, &sig, &siglen) == -1) {
		snsmsg_err(errbuf, errlen, "Signature is not valid base64");
		goto out;
	}
	tbs = snsmsg_string_to_sign(m);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) != 1) {
		snsmsg_ossl_err(detail, sizeof(detail));
		snsmsg_err(errbuf, errlen, "OpenSSL: %s", detail);
		rc = -1;
		goto out;
	}
	/* 0 is a mismatch; a negative answer (a signature of the wrong
	   length for the key, say) is no better. */
	if (EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)tbs,
	    strlen(tbs)) == 1)
		rc = 1;
	else
		snsmsg_err(errbuf, errlen, "signature does not match");
	ERR_clear_error();
out:
	EVP_MD_CTX_free(ctx);
	free(sig);
	free(tbs);
	return rc;
}

int
snsmsg_verify(const struct snsmsg *m, const char *cert_pem, size_t certlen,
    char *errbuf, size_t errlen)
{
	EVP_PKEY	*pkey;
	int		 rc;

	/* The version first: an unknown one is not the certificate's
	   fault. */
	if (m->signature_version == NULL ||
	    (strcmp(m->signature_version, "1") != 0 &&
	    strcmp(m->signature_version, "2") != 0))
		return snsmsg_verify_key(m, NULL, errbuf, errlen);
	if ((pkey = snsmsg_cert_key(cert_pem, certlen, errbuf, errlen)) ==
	    NULL)
		return -1;
	rc = snsmsg_verify_key(m, pkey, errbuf, errlen);
	EVP_PKEY_free(pkey);
	return rc;
}
