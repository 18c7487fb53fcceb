/*
 * addr.c - normalisation of addresses, domains and identities, and the
 * keyed hash of the suppression list's privacy mode. Every key that holds
 * an address is built from the output of this file, so two spellings of
 * one address always meet in one key. No state; safe in any thread.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "addr.h"
#include "str.h"

static int
addr_strip(const char *in, char *out, size_t outlen)
{
	size_t	n;
	char	tmp[ADDR_MAX + 8];

	while (*in == ' ' || *in == '\t')
		in++;
	n = strlen(in);
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	if (n >= 2 && in[0] == '<' && in[n - 1] == '>') {
		in++;
		n -= 2;
	}
	if (n == 0 || n > ADDR_MAX || n >= outlen)
		return -1;
	memcpy(tmp, in, n);
	tmp[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)tmp[i];

		if (ch < 0x20 || ch == 0x7f)
			return -1;
	}
	memcpy(out, tmp, n + 1);
	str_lower(out);
	return 0;
}

int
addr_normalise(const char *in, char *out, size_t outlen)
{
	char	*at;
	size_t	 n;

	if (addr_strip(in, out, outlen) < 0)
		return -1;
	at = strrchr(out, '@');
	if (at == NULL || at == out || at[1] == '\0')
		return -1;
	n = strlen(out);
	if (out[n - 1] == '.')
		out[--n] = '\0';
	if (at[1] == '\0' || at[1] == '.')
		return -1;
	return 0;
}

int
addr_normalise_domain(const char *in, char *out, size_t outlen)
{
	size_t	n, label = 0;

	if (addr_strip(in, out, outlen) < 0)
		return -1;
	n = strlen(out);
	if (out[n - 1] == '.')
		out[--n] = '\0';
	if (n == 0 || n > 253)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = out[i];

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_'))
			return -1;
		if (++label > 63)
			return -1;
	}
	return label == 0 ? -1 : 0;
}

int
addr_normalise_identity(const char *in, char *out, size_t outlen)
{
	if (strchr(in, '@') != NULL)
		return addr_normalise(in, out, outlen);
	return addr_normalise_domain(in, out, outlen);
}

const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}

void
addr_hash(const char *key, const char *addr, char *out)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		md[EVP_MAX_MD_SIZE];
	unsigned int		mdlen = 0;

	HMAC(EVP_sha256(), key, (int)strlen(key),
	    (const unsigned char *)addr, strlen(addr), md, &mdlen);
	for (unsigned int i = 0; i < mdlen && i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

bool
addr_is_hash(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}
