/*
 * rules.h - SES-style receipt rules applied to inbound mail. A rule set
 * is built from the configuration with each generation and shared
 * read-only by all threads; the state of one message (which rules its
 * recipients matched, which recipients were stopped) belongs to that
 * message's thread.
 *
 * Rules run in order for each recipient at RCPT; within a rule its
 * actions run in order. bounce refuses the recipient with its reply;
 * stop accepts the recipient, ends the evaluation for it and discards
 * the message for it; add_header and notify take effect at the end of
 * the message, once per rule, with the recipients that matched.
 */
#ifndef SESGATE_RULES_H
#define SESGATE_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "msg.h"

struct rules;
struct rules_msg;
struct store;

/* A field of a notify entry. */
struct rules_field {
	const char	*name;
	const char	*value;
};

/* The rule set of the NULL-terminated receipt_rule lines (checked by
   config.c already). NULL with errbuf if one does not parse. */
struct rules	*rules_new(char **lines, char *errbuf, size_t errlen);
size_t		 rules_count(const struct rules *set);
void		 rules_free(struct rules **setp);

struct rules_msg *rules_msg_new(const struct rules *set);
void		 rules_msg_free(struct rules_msg **rmp);

/* Run the rules for recipient rcpt (as the MTA gave it). *v refuses it
   (VERDICT_REJECT or VERDICT_TEMPFAIL) when a bounce action applies. */
void		 rules_rcpt(struct rules_msg *rm, const char *rcpt,
		    struct verdict *v);
/* Call add(arg, name, value) for each add_header action of the rules
   matched, in rule order. */
void		 rules_headers(const struct rules_msg *rm,
		    void (*add)(void *, const char *, const char *),
		    void *arg);
/* Append an entry to the stream of each notify action of the rules
   matched: the rule, its recipients, then fields[0..n). 0, or -1 with
   errbuf when Redis failed. */
int		 rules_notify(const struct rules_msg *rm, struct store *st,
		    const char *prefix, long long maxlen,
		    const struct rules_field *fields, size_t n,
		    char *errbuf, size_t errlen);
/* Whether any notify action applies. */
bool		 rules_notifies(const struct rules_msg *rm);
/* The recipients stopped (discarded), as the MTA gave them; borrowed. */
size_t		 rules_stopped(const struct rules_msg *rm,
		    char *const **list_out);
/* Whether every accepted recipient was stopped. */
bool		 rules_all_stopped(const struct rules_msg *rm);

#endif
