/*
 * msg.h - one message passing through the milter, and the outbound
 * decisions made on it: SES's submission rules (verified header From,
 * size, headers allowed once, unsupported attachments, recipients per
 * message), DKIM signing and the configuration set. The milter glue
 * feeds the stages in order and maps each verdict to its reply. A msg
 * belongs to the thread of its connection.
 */
#ifndef SESGATE_MSG_H
#define SESGATE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fromhdr.h"
#include "gen.h"

enum verdict_act {
	VERDICT_CONTINUE,	/* go on with the message */
	VERDICT_ACCEPT,		/* pass it without further checks */
	VERDICT_REJECT,		/* 5xx with rcode, xcode, text */
	VERDICT_TEMPFAIL,	/* 4xx with rcode, xcode, text */
	VERDICT_DISCARD,	/* accept and throw away (receipt rule stop) */
};

struct verdict {
	enum verdict_act	act;
	char			rcode[4];	/* "554" */
	char			xcode[8];	/* "5.7.1" */
	char			text[512];
};

/* A header field the milter adds at the end of the message. */
struct msg_edit {
	const char	*name;
	char		*value;
	bool		 at_top;	/* insert before the first field */
};

#define MSG_MAX_EDITS	16

struct inbound;

struct msg {
	struct gen	*g;		/* borrowed from the connection */
	char		 qid[64];
	char		 auth[256];	/* SASL user, "" if none */
	char		 sender[ADDR_BUFSZ + 2];	/* MAIL FROM, "" for <> */
	bool		 active;	/* between MAIL FROM and the end */
	bool		 lead_space;	/* MTA keeps the space after ':' */
	size_t		 nrcpt;
	long long	 size;		/* bytes as sent over SMTP, so far */
	uint64_t	 once_seen;	/* SES's once-only fields seen */
	size_t		 nfrom;		/* From fields */
	struct fromhdr	 from;		/* of the first From field */
	bool		 has_dkim;	/* carries a DKIM-Signature */
	bool		 has_confset;	/* carries X-SES-CONFIGURATION-SET */
	struct buf	 hdrs;		/* "name\0value\0" in order */
	struct signer	*signer;
	struct mime	*mime;
	struct msg_edit	 edits[MSG_MAX_EDITS];
	size_t		 nedits;
	char		 signed_by[300];	/* for the log line */
	/* A refusal found at a stage the MTA does not wait on (a header
	   field or body chunk under SMFIP_NR_HDR / SMFIP_NR_BODY), given
	   at the next stage it does: end of header or end of message. */
	struct verdict	 held;
	const char	*held_stage;
	/* Inbound mail (see inbound.h); in is NULL for outbound. */
	struct inbound	*in;
	size_t		*ar_del;	/* Authentication-Results fields to
					   remove, numbered from 1 */
	size_t		 nar_del;
	char		 quarantine[256];	/* hold the message: why */
};

/* Start a message after MAIL FROM: g is the connection's generation. */
void	msg_start(struct msg *m, struct gen *g, const char *qid,
	    const char *auth, bool lead_space);
/* The queue ID, once the MTA has one (re-read at each stage). */
void	msg_set_qid(struct msg *m, const char *qid);
/* Forget the message and free what it holds (end, abort, new MAIL). */
void	msg_reset(struct msg *m);

/* The SIZE= the client announced at MAIL FROM (-1 if none). */
void	msg_mail(struct msg *m, long long size, struct verdict *v);
void	msg_rcpt(struct msg *m, struct verdict *v);
void	msg_header(struct msg *m, const char *name, const char *value,
	    struct verdict *v);
void	msg_eoh(struct msg *m, struct verdict *v);
void	msg_body(struct msg *m, const unsigned char *p, size_t n,
	    struct verdict *v);
/* The last stage: on VERDICT_CONTINUE, m->edits are the fields to add. */
void	msg_eom(struct msg *m, struct verdict *v);

/* Add a header field at the end of the message (value taken over; at
   most MSG_MAX_EDITS, more are dropped). */
void	msg_add_edit(struct msg *m, const char *name, char *value,
	    bool at_top);

/* Set *v; rcode, xcode and the formatted text as the reply. */
void	msg_verdict(struct verdict *v, enum verdict_act act, const char *rcode,
	    const char *xcode, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* Something on our side broke (Redis, libopendkim): log `what` and set
   *v to the configured on_store_error (451 4.3.0, or go on). */
void	msg_trouble(struct msg *m, struct verdict *v, const char *what);

/* The index of a field SES allows only once, or -1 (exposed for tests). */
int	msg_once_index(const char *name);

#endif
