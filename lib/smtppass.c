/*
 * smtppass.c - the SES SMTP password (see smtppass.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mem.h"
#include "smtppass.h"

/* out = HMAC-SHA256(key, data): 32 bytes. */
static void
smtppass_hmac(const unsigned char *key, size_t keylen, const char *data,
    unsigned char out[32])
{
	unsigned int n = 32;

	(void)HMAC(EVP_sha256(), key, (int)keylen,
	    (const unsigned char *)data, strlen(data), out, &n);
}

void
smtppass_derive(const char *secret, size_t len, const char *region,
    char out[SMTPPASS_BUFSZ])
{
	static const char *const steps[] = {
		"11111111", NULL, "ses", "aws4_request", "SendRawEmail"
	};
	unsigned char	 k[32], raw[33];
	unsigned char	*key = xmalloc(len + 4);

	memcpy(key, "AWS4", 4);
	memcpy(key + 4, secret, len);
	smtppass_hmac(key, len + 4, steps[0], k);
	OPENSSL_cleanse(key, len + 4);
	free(key);
	for (size_t i = 1; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unsigned char next[32];

		smtppass_hmac(k, sizeof(k), steps[i] != NULL ? steps[i] :
		    region, next);
		memcpy(k, next, sizeof(k));
		OPENSSL_cleanse(next, sizeof(next));
	}
	raw[0] = 0x04;
	memcpy(raw + 1, k, sizeof(k));
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(raw, sizeof(raw));
}
