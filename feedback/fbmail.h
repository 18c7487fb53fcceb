/* fbmail.h - one feedback e-mail as SES forwards it (Email Feedback
   Forwarding) or another MTA sends it: an RFC 3464 delivery status
   notification (multipart/report; report-type=delivery-status) or an
   RFC 5965 abuse report (multipart/report; report-type=feedback-report),
   read into the event the SNS path uses (sesevent.h). No state; safe in
   any thread. */
#ifndef SESGATE_FBMAIL_H
#define SESGATE_FBMAIL_H

#include <stddef.h>

#include "sesevent.h"

/* Largest message read, in bytes. */
#define FBMAIL_MAX_SIZE		(10 * 1024 * 1024)
/* Body parts in the whole MIME tree, attached messages not entered. */
#define FBMAIL_MAX_PARTS	64
/* multipart entities nested in one another, the top-level one counting. */
#define FBMAIL_MAX_DEPTH	8
/* Recipient groups of a DSN, or recipients of a feedback report. */
#define FBMAIL_MAX_RCPTS	1000

/* Parse the message (len bytes, CRLF or LF lines, a leading mbox "From "
   line allowed; NUL bytes read as spaces). The report is the first
   multipart/report found in the MIME tree (it may sit inside a
   multipart/mixed); its report-type, or failing that the report part it
   holds, says which kind it is. The report part may be base64 or
   quoted-printable.

   1 and *out filled; the caller frees it with sesevent_clear():
   - A DSN (report part message/delivery-status, message/global-delivery-
     status or text/delivery-status) with a failed recipient: a
     SESEVENT_BOUNCE. A DSN reports one kind of bounce, so a mixed one is
     cut down: the recipients with Action "failed" whose Status is not
     4.x.x (5.x.x, or absent or unreadable: "failed" is final) make a
     Permanent bounce; only when there are none do the "failed" ones with
     4.x.x make a Transient bounce. A recipient without Action counts as
     failed when its Status is 5.x.x. Each recipient: addr from
     Final-Recipient, else Original-Recipient, the address type ("rfc822;")
     and one pair of angle brackets removed, not otherwise normalised;
     status the Status code without comments ("" when absent or not a
     code); diagnostic the Diagnostic-Code field as written, type and all
     ("smtp; 550 5.1.1 ..."), folds made single spaces, cut at
     SESEVENT_TEXT_MAX bytes. bounce_subtype and feedback_type are "".
     Recipient groups are separated by empty lines or lines of white
     space alone.
   - A feedback report (message/feedback-report, or text/feedback-report as
     some older senders label it): a SESEVENT_COMPLAINT, feedback_type the
     Feedback-Type lowercased (abuse, fraud, virus, other, not-spam, ...;
     not-spam is returned like the others); recipients the
     Original-Rcpt-To fields, else the addresses in the To field of the
     attached original, status and diagnostic "".
   Both: feedback_id the report's own Message-ID without angle brackets,
   only its local part when its domain is SES's (as below), which is
   then the feedbackId the SNS path would carry;
   ses_message_id from the attached original (message/rfc822 or
   text/rfc822-headers): the local part of the first of its Message-ID,
   the DSN's X-Original-Message-ID and the report's X-Original-Message-ID
   whose domain ends in ".amazonses.com" (SES's own IDs,
   "<ID@email.amazonses.com>", "<ID@eu-west-1.amazonses.com>"), else the
   original's Message-ID without brackets; source the original's
   Return-Path, else the report's Original-Mail-From (ARF) or
   X-Postfix-Sender (DSN), type and brackets removed. Each of the three is
   "" when absent, and an ID that is empty, longer than SESEVENT_ID_MAX
   or holds white space or a control character counts as absent.
   timestamp is "", there are no tags.

   0 and *out all zero: a well-formed DSN that carries no feedback to act
   on (every recipient delivered, relayed, expanded, delayed or with an
   Action not known); errbuf says so with the counts.

   -1 and *out all zero, errbuf says why: larger than FBMAIL_MAX_SIZE; no
   multipart/report (a plain-text bounce is not read); a multipart without
   a boundary, whose boundary never occurs or without its closing boundary
   (truncated); more than FBMAIL_MAX_PARTS parts or FBMAIL_MAX_DEPTH
   levels; a report-type other than the two and no report part; the
   named report part missing; a DSN recipient group without a usable
   Final-Recipient or Original-Recipient (empty, longer than
   SESEVENT_ADDR_MAX or holding a control character); no recipient group;
   more than FBMAIL_MAX_RCPTS recipients; a feedback report without
   Feedback-Type, with a bad Original-Rcpt-To, or naming no recipient.
   Values quoted in errbuf are cut and stripped of control characters. */
int	fbmail_parse(const char *msg, size_t len, struct sesevent *out,
	    char *errbuf, size_t errlen);

#endif
