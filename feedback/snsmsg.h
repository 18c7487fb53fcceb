/* snsmsg.h - one Amazon SNS message as POSTed to an HTTP(S) endpoint:
   parsing the JSON envelope (json-c), the string AWS signs for each
   message type, the SigningCertURL rule, and the signature check
   (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA, OpenSSL). No state;
   safe in any thread. */
#ifndef SESGATE_SNSMSG_H
#define SESGATE_SNSMSG_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

enum snsmsg_type {
	SNSMSG_NOTIFICATION,
	SNSMSG_SUBSCRIPTION_CONFIRMATION,
	SNSMSG_UNSUBSCRIBE_CONFIRMATION,
};

/* Every string is owned by the struct and freed by snsmsg_clear(). */
struct snsmsg {
	enum snsmsg_type type;
	char	*message_id, *topic_arn, *subject /* NULL when absent */,
		*message, *timestamp, *signature_version, *signature,
		*signing_cert_url, *subscribe_url /* NULL unless a
		(un)subscription */, *unsubscribe_url /* NULL when absent */,
		*token /* NULL unless a (un)subscription */;
};

/* Parse the body (len bytes, not NUL-terminated necessarily) into *out.
   0, or -1 with errbuf saying what is wrong (not JSON, not an object, a
   required field missing or not a string, unknown Type, a NUL byte);
   *out is then empty. Fields of the wrong JSON type are errors; unknown
   fields are ignored. JSON null for the optional Subject or
   UnsubscribeURL counts as absent, as in AWS's own validator. Values are
   JSON-unescaped; a value holding U+0000 is an error. */
int	snsmsg_parse(const char *body, size_t len, struct snsmsg *out,
	    char *errbuf, size_t errlen);
/* Free every string of m and zero it. Accepts an already empty struct. */
void	snsmsg_clear(struct snsmsg *m);
/* "Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation". */
const char *snsmsg_type_name(enum snsmsg_type t);
/* The string AWS signs (SNS docs "Verifying the signatures of Amazon SNS
   messages"): for Notification the keys Message, MessageId, Subject (only
   when present), Timestamp, TopicArn, Type; for the two confirmations
   Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type;
   each as "Key\nvalue\n". A NULL field is left out. Never NULL; caller
   frees. */
char	*snsmsg_string_to_sign(const struct snsmsg *m);
/* Whether url may be a SigningCertURL or SubscribeURL host: https only,
   host (case-insensitive, no userinfo, no port other than none/443)
   matching ^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$ ; for a cert
   (pem true) the path must end in ".pem" and there may be no query.
   A fragment, white space, a control character, a backslash or a byte
   outside ASCII anywhere makes it false. */
bool	snsmsg_url_ok(const char *url, bool pem);
/* Check m's signature with the certificate in cert_pem (PEM, certlen
   bytes). 1 valid; 0 not valid (bad base64, wrong key, tampered text,
   SignatureVersion other than "1" or "2", a key that is not RSA, errbuf
   says which); -1 the certificate cannot be read or OpenSSL failed
   (errbuf). The certificate's chain and dates are not checked: trust
   comes from fetching it over HTTPS from a URL that passed
   snsmsg_url_ok(). */
int	snsmsg_verify(const struct snsmsg *m, const char *cert_pem,
	    size_t certlen, char *errbuf, size_t errlen);
/* The public key of the certificate in cert_pem (certlen bytes), for
   snsmsg_verify_key(); the caller frees it with EVP_PKEY_free(). NULL
   with errbuf when the certificate cannot be read. */
EVP_PKEY *snsmsg_cert_key(const char *cert_pem, size_t certlen,
	    char *errbuf, size_t errlen);
/* snsmsg_verify() with the certificate's key decoded already (the
   decoding costs several times the verification): 1, 0 or -1 as there.
   pkey is borrowed. */
int	snsmsg_verify_key(const struct snsmsg *m, EVP_PKEY *pkey,
	    char *errbuf, size_t errlen);

#endif
