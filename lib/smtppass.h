/*
 * smtppass.h - the SES SMTP password of an IAM secret access key, by
 * AWS's algorithm (SigV4 variant): HMAC-SHA256 chained over "AWS4" and
 * the key, the date "11111111", the region, "ses", "aws4_request" and
 * "SendRawEmail", then the version byte 0x04 before it, in base64. No
 * state; safe in any thread.
 */
#ifndef SESGATE_SMTPPASS_H
#define SESGATE_SMTPPASS_H

#include <stddef.h>

/* 44 base64 characters and the NUL. */
#define SMTPPASS_BUFSZ	45

/* The password of secret (len bytes) in region into out. */
void	smtppass_derive(const char *secret, size_t len, const char *region,
	    char out[SMTPPASS_BUFSZ]);

#endif
