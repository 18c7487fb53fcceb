/*
 * mailin.c - one feedback e-mail from standard input (see mailin.h). The
 * message's SHA-256 stands for the SNS MessageId in the repeat check, so
 * a delivery Postfix makes again after EX_TEMPFAIL takes effect once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/sha.h>

#include "effects.h"
#include "fbmail.h"
#include "log.h"
#include "mailin.h"
#include "mem.h"
#include "sesevent.h"
#include "store.h"

/* "mail-" and the first 16 bytes of the message's SHA-256 in hex. */
static void
mailin_id(const char *msg, size_t len, char *out, size_t outlen)
{
	unsigned char	md[SHA256_DIGEST_LENGTH];
	size_t		o;

	SHA256((const unsigned char *)msg, len, md);
	o = (size_t)snprintf(out, outlen, "mail-");
	for (size_t i = 0; i < 16 && o + 3 <= outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02x", md[i]);
}

int
mailin_run(const struct config *cf, FILE *in)
{
	char			*msg = xmalloc(FBMAIL_MAX_SIZE + 1);
	char			 err[512], id[64];
	size_t			 len = fread(msg, 1, FBMAIL_MAX_SIZE + 1, in);
	struct sesevent		 e;
	struct effects_out	 out;
	struct store		*st;
	int			 rc, status;

	if (ferror(in)) {
		log_err(NULL, "feedbackd: mail: cannot read the message");
		free(msg);
		return EX_IOERR;
	}
	mailin_id(msg, len, id, sizeof(id));
	rc = fbmail_parse(msg, len, &e, err, sizeof(err));
	free(msg);
	if (rc < 0) {
		log_warning(NULL, "feedbackd: mail %s: %s; refused (EX_DATAERR)",
		    id, err);
		return EX_DATAERR;
	}
	if (rc == 0) {
		log_info(NULL, "feedbackd: mail %s: %s; nothing to do", id,
		    err);
		return EX_OK;
	}
	st = store_open(cf, err, sizeof(err));
	rc = st != NULL ? effects_apply(st, cf, &e, id, &out, err,
	    sizeof(err)) : -1;
	if (rc < 0) {
		log_err(e.ses_message_id, "feedbackd: mail %s: Redis: %s; "
		    "try again later (EX_TEMPFAIL)", id, err);
		status = EX_TEMPFAIL;
	} else {
		char from[80];

		snprintf(from, sizeof(from), "mail %s", id);
		effects_log(&e, from, &out, rc);
		status = EX_OK;
	}
	store_close(&st);
	sesevent_clear(&e);
	return status;
}
