/*
 * receipt.h - receipt rules for inbound mail, as SES's receipt rule set:
 * one line of sesgate.conf each,
 *
 *   receipt_rule = NAME RECIPIENTS ACTION [; ACTION ...]
 *
 * RECIPIENTS is "*" or a comma-separated list of addresses, domains and
 * ".domain" (every subdomain); an ACTION is "bounce CODE X.Y.Z TEXT",
 * "add_header NAME: VALUE", "stop" or "notify STREAM". The parser is
 * config.c's check too. A parsed rule is never written; safe to read
 * from any thread.
 */
#ifndef SESGATE_RECEIPT_H
#define SESGATE_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>

/* SES's limits: actions and recipient conditions per rule. */
#define RECEIPT_MAX_ACTIONS	10
#define RECEIPT_MAX_RCPTS	100
#define RECEIPT_NAME_MAX	64

enum receipt_act {
	RECEIPT_BOUNCE,		/* refuse the recipient with rcode xcode text */
	RECEIPT_ADD_HEADER,	/* add the field name: value */
	RECEIPT_STOP,		/* accept, discard, stop evaluating */
	RECEIPT_NOTIFY,		/* append an entry to stream `name` */
};

struct receipt_action {
	enum receipt_act	 type;
	char			 rcode[4];
	char			 xcode[12];
	char			*name;		/* header or stream name */
	char			*text;		/* bounce text, header value */
};

struct receipt_rule {
	char			 name[RECEIPT_NAME_MAX + 1];
	char			*rcpts[RECEIPT_MAX_RCPTS];	/* lower case */
	size_t			 nrcpts;	/* 0: every recipient */
	struct receipt_action	 act[RECEIPT_MAX_ACTIONS];
	size_t			 nact;
};

/* Parse one rule line into *out. 0, or -1 with why (what is wrong, for
   the configuration error) and *out left empty. */
int	receipt_rule_parse(const char *line, struct receipt_rule *out,
	    char *why, size_t whylen);
/* Free what *r holds; it is then empty. */
void	receipt_rule_clear(struct receipt_rule *r);
/* Whether the rule applies to recipient address `rcpt` (angle brackets
   allowed; compared without case). */
bool	receipt_rule_matches(const struct receipt_rule *r, const char *rcpt);

#endif
