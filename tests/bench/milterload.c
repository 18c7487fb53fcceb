/*
 * milterload.c - load generator for a milter: plays the MTA's side of the
 * milter protocol (version 6, the constants of libmilter's mfdef.h) the
 * way Postfix plays it for mail from an authenticated client, one whole
 * session per message on a fresh connection, as Postfix's smtpd mostly
 * does (it opens a milter connection per SMTP session, and a submission
 * session mostly carries one message):
 *
 *   option negotiation, connect (macros j, {daemon_name}, {client_addr}),
 *   HELO, MAIL FROM (macro {auth_authen}, so the message is outbound),
 *   one RCPT, DATA, the header fields, end of header, the body in chunks
 *   of 65535 bytes, end of body, then the modifications and the final
 *   answer, and QUIT.
 *
 * With -I it plays mail from a remote client instead: no {auth_authen},
 * the client address of -A in the connect step, the HELO name of -E and
 * the MAIL FROM of -F, so that the milter checks the message as inbound
 * (SPF, DKIM, DMARC). -m replays the message of a file, byte for byte
 * (a message signed once up front keeps its signature), and -R names the
 * results that the Authentication-Results field inserted at end of body
 * must carry (e.g. spf=pass,dkim=pass,dmarc=pass); a message without
 * them is an error. -W holds every connection at the end of the header
 * until the run's time is up, then finishes its message: the milter then
 * has that many transactions open at once, which is what its memory is
 * measured with.
 *
 * Every command waits for its answer before the next is sent, as Postfix
 * does; stages the milter negotiated away (SMFIP_NO*) are not sent and
 * those it asked not to answer (SMFIP_NR_*) are not waited for.
 *
 * The message is plain text of about the size asked for (-s): From in the
 * sender domain, To, Subject, Date, Message-ID, MIME-Version, Content-Type,
 * then body lines of 76 characters. Every message must come back with a
 * DKIM-Signature insert (-k, -a); one that does not, or that is refused,
 * is an error.
 *
 * Closed loop: every connection slot starts its next message as soon as
 * the last one is done. Latency runs from the connect to the final answer
 * at end of body, which is what the MTA waits for before it answers the
 * client's end of DATA. Always bounded: by -n messages and by -d seconds
 * (default 5 s, or 60 s when -n is given), and every message by -T
 * milliseconds.
 *
 * Each worker thread runs one epoll loop over its share of the slots and
 * keeps its own histogram and counters; they are merged when all threads
 * are done. Nothing else is shared but the message budget (an atomic
 * counter) and the body, built before the threads start and only read.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#include "benchstat.h"
#include "buf.h"
#include "mem.h"

#define ML_MAX_CONNS		4096
#define ML_MAX_SIZE		(40L * 1024 * 1024)
/* A reply packet: a modification or an SMTP reply text is far smaller. */
#define ML_REPLY_MAX		16384
#define ML_ACTION_MAX		BENCH_ACTION_MAX
#define ML_LINE			76	/* body line, CRLF not counted */
/* Failed connects in a row before a slot gives up. */
#define ML_CONNECT_TRIES	5


enum ml_err {
	ML_ERR_CONNECT,
	ML_ERR_CLOSED,
	ML_ERR_TIMEOUT,
	ML_ERR_REPLY,
	ML_ERR_REFUSED,
	ML_ERR_UNSIGNED,
	ML_ERR_UNVERIFIED,
	ML_NERR
};

static const char *const ml_err_names[ML_NERR] = {
	"connect", "closed", "timeout", "bad-reply", "refused", "unsigned",
	"unverified"
};

/* The stages of a session in the order the MTA plays them. */
enum ml_step {
	STEP_OPTNEG,
	STEP_CONNECT,
	STEP_HELO,
	STEP_MAIL,
	STEP_RCPT,
	STEP_DATA,
	STEP_HEADER,
	STEP_EOH,
	STEP_BODY,
	STEP_EOB,
	STEP_QUIT
};

/* Per step: the SMFIP_NO* bit that skips it and the SMFIP_NR_* bit that
   leaves it unanswered (0: none). */
static const struct {
	unsigned long	no, nr;
} ml_step_bits[] = {
	[STEP_OPTNEG] =	{ 0, 0 },
	[STEP_CONNECT] = { SMFIP_NOCONNECT, SMFIP_NR_CONN },
	[STEP_HELO] =	{ SMFIP_NOHELO, SMFIP_NR_HELO },
	[STEP_MAIL] =	{ SMFIP_NOMAIL, SMFIP_NR_MAIL },
	[STEP_RCPT] =	{ SMFIP_NORCPT, SMFIP_NR_RCPT },
	[STEP_DATA] =	{ SMFIP_NODATA, SMFIP_NR_DATA },
	[STEP_HEADER] =	{ SMFIP_NOHDRS, SMFIP_NR_HDR },
	[STEP_EOH] =	{ SMFIP_NOEOH, SMFIP_NR_EOH },
	[STEP_BODY] =	{ SMFIP_NOBODY, SMFIP_NR_BODY },
	[STEP_EOB] =	{ 0, 0 },
	[STEP_QUIT] =	{ 0, 0 },
};

static const char *const ml_step_names[] = {
	"optneg", "connect", "helo", "mail", "rcpt", "data", "header", "eoh",
	"body", "eob", "quit"
};

#define ML_NHDRS	7
/* Results -R may ask for. */
#define ML_MAX_RESULTS	8

/* A method and the result the Authentication-Results field must give
   it ("spf", "pass"). */
struct ml_result {
	char		 method[32];
	char		 want[32];
};

struct ml_opts {
	struct bench_opts c;
	long		 size;
	const char	*rcpt_domain;
	bool		 quickack;	/* ACK every reply at once */
	int		 sigs;		/* DKIM-Signature inserts wanted */
	const char	*alg;		/* their a= tag, or NULL for any */
	bool		 inbound;	/* -I: no SMTP AUTH */
	const char	*client_addr;	/* -A, or NULL: 192.0.2.x per slot */
	const char	*helo;		/* -E, or NULL: per slot */
	const char	*mail_from;	/* -F, or NULL: per slot */
	const char	*msg_path;	/* -m, or NULL: a generated message */
	bool		 hold;		/* -W */
	struct ml_result results[ML_MAX_RESULTS];	/* -R */
	int		 nresults;
};

/* A header field of the message file: the name, and the value as the MTA
   passes it (what follows the colon, folded lines joined by "\n"). */
struct ml_field {
	char		*name;
	char		*value;
};

struct ml_stats {
	struct bench_stats b;
	long long	 errs[ML_NERR];
	double		 bytes;		/* of the messages done */
};

enum ml_state {
	SLOT_IDLE,		/* between messages */
	SLOT_CONNECTING,
	SLOT_BUSY,		/* in a session */
	SLOT_DEAD,		/* the milter cannot be reached: given up */
};

struct ml_slot {
	int		 fd;
	int		 id;		/* global slot number */
	enum ml_state	 state;
	int		 fails;		/* failed connects in a row */
	bool		 want_out;	/* EPOLLOUT asked for */
	int64_t		 t_start;	/* latency and timeout run from here */
	/* The session. */
	enum ml_step	 step;		/* being sent, or awaiting its answer */
	bool		 await;		/* the step's answer is expected */
	unsigned long	 prot;		/* SMFIP_* the milter negotiated */
	unsigned long	 msgno;
	int		 hdr_i;
	size_t		 body_off, chunk;
	double		 msg_bytes;
	int		 nsigs;
	bool		 bad_sig;
	bool		 results_ok;	/* an A-R field with the results */
	bool		 held;		/* -W: waiting at end of header */
	char		 outcome[ML_ACTION_MAX];
	/* Output: the packets in out, then `ext` (a body chunk, borrowed
	   from the shared body). */
	struct buf	 out;
	const char	*ext;
	size_t		 extlen, outoff;
	unsigned char	 in[ML_REPLY_MAX];
	size_t		 inlen;
};

struct ml_worker {
	pthread_t	 thread;
	int		 tid;
	int		 epfd;
	struct ml_slot	*slots;
	int		 nslots;
	unsigned long	 msg_seq;
	struct ml_stats	 st;
};

static struct ml_opts	 opts;
static struct addrinfo	*ml_addr;
static atomic_llong	 ml_tickets;
/* Written by main() before the threads start, then only read. */
static char		*ml_body;
static size_t		 ml_bodylen;
static char		 ml_date[64];
/* The message file (-m), or NULL; its header fields and their number. */
static struct ml_field	*ml_fields;
static int		 ml_nhdrs = ML_NHDRS;
static size_t		 ml_filelen;
/* Connections held at the end of the header (-W), and how many make
   all. */
static atomic_int	 ml_held;
static int		 ml_hold_all;

/*
 * The message: header fields, then the body.
 */

/* Header field i of message msgno from slot id: its name, and its value
   (no leading space) in val. */
static const char *
msg_field(int i, int id, unsigned long msgno, char *val, size_t len)
{
	switch (i) {
	case 0:
		snprintf(val, len, "Bench Sender %d <u%d@%s>", id, id,
		    opts.c.domain);
		return "From";
	case 1:
		snprintf(val, len, "r%lu@%s", msgno, opts.rcpt_domain);
		return "To";
	case 2:
		snprintf(val, len, "Bench message %lu of the milter load "
		    "generator", msgno);
		return "Subject";
	case 3:
		snprintf(val, len, "%s", ml_date);
		return "Date";
	case 4:
		snprintf(val, len, "<%lu.%d.%u@%s>", msgno, id,
		    (unsigned)getpid(), opts.c.domain);
		return "Message-ID";
	case 5:
		snprintf(val, len, "1.0");
		return "MIME-Version";
	default:
		snprintf(val, len, "text/plain; charset=us-ascii");
		return "Content-Type";
	}
}

/* Bytes of the header as the message has it on the wire: "Name: value"
   and CRLF per field, then the empty line. */
static size_t
msg_header_bytes(int id, unsigned long msgno)
{
	char	val[512];
	size_t	n = 2;

	if (ml_fields != NULL)
		return ml_filelen - ml_bodylen;
	for (int i = 0; i < ML_NHDRS; i++) {
		const char *name = msg_field(i, id, msgno, val, sizeof(val));

		n += strlen(name) + 2 + strlen(val) + 2;
	}
	return n;
}

/* The body: lines of exactly ML_LINE characters of words and CRLF, as
   many as fit in `len` (at least one), from a fixed pseudo-random
   sequence so that every run sends the same text. */
static char *
msg_body(size_t len, size_t *len_out)
{
	/* Words of 1 to 11 letters to fill a line, and one of each length
	   from 1 to 12 to end it exactly at ML_LINE. */
	static const char *const words[] = {
		"the", "message", "relay", "service", "delivery", "sender",
		"a", "of", "to", "and", "domain", "signature", "quota",
		"reputation", "bounce", "complaint", "recipient", "header",
		"body", "with", "for", "on", "is", "was", "this", "that",
		"account", "configuration", "sending", "limit", "rate",
		"verified", "identity", "policy", "mail", "server", "report",
		"weekly", "summary", "invoice", "order", "shipped", "customer",
		"thanks", "please", "reply", "before", "friday", "meeting",
		"schedule", "notes", "attached", "review", "update", "release",
	};
	static const char *const fill[] = {
		NULL, "a", "of", "the", "mail", "quota", "sender", "message",
		"delivery", "signature", "reputation", "transmitted",
		"acknowledged",
	};
	const size_t	nwords = sizeof(words) / sizeof(words[0]);
	size_t		lines = len / (ML_LINE + 2), o = 0;
	uint32_t	seed = 2463534242u;
	char		*b;

	if (lines == 0)
		lines = 1;
	b = xmalloc(lines * (ML_LINE + 2) + 1);
	for (size_t l = 0; l < lines; l++) {
		size_t at = 0;

		for (;;) {
			size_t		 rem = ML_LINE - at - (at > 0);
			const char	*w;
			size_t		 wl;

			if (rem <= 12) {
				w = fill[rem];
			} else {
				do {
					seed ^= seed << 13;
					seed ^= seed >> 17;
					seed ^= seed << 5;
					w = words[seed % nwords];
				} while (strlen(w) > 11);
			}
			wl = strlen(w);
			if (at > 0)
				b[o + at++] = ' ';
			memcpy(b + o + at, w, wl);
			at += wl;
			if (at == ML_LINE)
				break;
		}
		o += ML_LINE;
		b[o++] = '\r';
		b[o++] = '\n';
	}
	b[o] = '\0';
	*len_out = o;
	return b;
}

/*
 * Packets. Each is a 4-byte length in network order (the command byte
 * included), the command byte, and its data.
 */

/* Start a packet of command cmd in b; returns where it starts. */
static size_t
pkt_begin(struct buf *b, char cmd)
{
	size_t at = b->len;

	buf_append(b, "\0\0\0\0", 4);
	buf_append(b, &cmd, 1);
	return at;
}

/* Append s and its NUL. */
static void
pkt_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s) + 1);
}

static void
pkt_u32(struct buf *b, uint32_t v)
{
	uint32_t n = htonl(v);

	buf_append(b, &n, 4);
}

/* Close the packet started at `at` (extra: bytes that follow it
   elsewhere). */
static void
pkt_end(struct buf *b, size_t at, size_t extra)
{
	uint32_t n = htonl((uint32_t)(b->len - at - 4 + extra));

	memcpy(b->data + at, &n, 4);
}

/* SMFIC_MACRO for the command cmd: pairs name, value, ..., NULL. */
static void
pkt_macros(struct buf *b, char cmd, ...)
{
	size_t		 at = pkt_begin(b, SMFIC_MACRO);
	const char	*s;
	va_list		 ap;

	buf_append(b, &cmd, 1);
	va_start(ap, cmd);
	while ((s = va_arg(ap, const char *)) != NULL)
		pkt_str(b, s);
	va_end(ap);
	pkt_end(b, at, 0);
}

/* The queue ID Postfix would show for slot c's message: hex, like
   Postfix's short IDs. */
static void
slot_qid(const struct ml_slot *c, char *qid, size_t len)
{
	snprintf(qid, len, "%04X%06lX", (unsigned)c->id & 0xffff,
	    c->msgno & 0xffffff);
}

/* Is step s skipped in this session? */
static bool
step_skipped(const struct ml_slot *c, enum ml_step s)
{
	if (s == STEP_BODY && ml_bodylen == 0)
		return true;
	return (c->prot & ml_step_bits[s].no) != 0;
}

/* The step after c->step (the header and the body repeat). */
static void
step_advance(struct ml_slot *c)
{
	if (c->step == STEP_HEADER && ++c->hdr_i < ml_nhdrs)
		return;
	if (c->step == STEP_BODY) {
		c->body_off += c->chunk;
		if (c->body_off < ml_bodylen)
			return;
	}
	c->step++;
}

/* The SMFIC_HEADER packet of field c->hdr_i of the message file into b.
   With SMFIP_HDR_LEADSPC the value goes as it follows the colon, else
   without the whitespace that starts it. */
static void
field_build(const struct ml_slot *c, struct buf *b)
{
	const struct ml_field	*f = &ml_fields[c->hdr_i];
	const char		*val = f->value;
	size_t			 at;

	if ((c->prot & SMFIP_HDR_LEADSPC) == 0)
		val += strspn(val, " \t");
	at = pkt_begin(b, SMFIC_HEADER);
	pkt_str(b, f->name);
	pkt_str(b, val);
	pkt_end(b, at, 0);
}

/* Put the packets of c->step (the first step not skipped from there on)
   into c->out, and whether an answer is expected into c->await. */
static void
step_build(struct ml_slot *c)
{
	struct buf	*b = &c->out;
	char		 v[512], a[520], qid[32], port[2];
	const char	*name;
	size_t		 at;
	uint16_t	 p;

	while (c->step != STEP_QUIT && step_skipped(c, c->step))
		c->step = c->step == STEP_HEADER ? STEP_EOH :
		    c->step == STEP_BODY ? STEP_EOB : c->step + 1;
	buf_reset(b);
	c->outoff = 0;
	c->ext = NULL;
	c->extlen = 0;
	c->await = c->step != STEP_QUIT &&
	    (c->prot & ml_step_bits[c->step].nr) == 0;
	slot_qid(c, qid, sizeof(qid));
	switch (c->step) {
	case STEP_OPTNEG:
		/* Offer every action and protocol step of version 6, as
		   Postfix does. */
		at = pkt_begin(b, SMFIC_OPTNEG);
		pkt_u32(b, SMFI_PROT_VERSION);
		pkt_u32(b, SMFI_CURR_ACTS);
		pkt_u32(b, SMFI_CURR_PROT);
		pkt_end(b, at, 0);
		break;
	case STEP_CONNECT:
		if (opts.client_addr != NULL)
			snprintf(a, sizeof(a), "%s", opts.client_addr);
		else
			snprintf(a, sizeof(a), "192.0.2.%d", 1 + c->id % 250);
		snprintf(v, sizeof(v), "client%d.bench.example", c->id);
		pkt_macros(b, SMFIC_CONNECT, "j", "mta.bench.example",
		    "{daemon_name}", "smtpd", "{client_addr}", a,
		    "{client_name}", v, "v", "Postfix 3.7.11", (char *)NULL);
		at = pkt_begin(b, SMFIC_CONNECT);
		pkt_str(b, v);
		/* SMFIA_INET or SMFIA_INET6 */
		buf_append(b, strchr(a, ':') != NULL ? "6" : "4", 1);
		p = htons((uint16_t)(40000 + c->id % 20000));
		memcpy(port, &p, 2);
		buf_append(b, port, 2);
		pkt_str(b, a);
		pkt_end(b, at, 0);
		break;
	case STEP_HELO:
		if (opts.helo != NULL)
			snprintf(v, sizeof(v), "%s", opts.helo);
		else
			snprintf(v, sizeof(v), "client%d.bench.example", c->id);
		at = pkt_begin(b, SMFIC_HELO);
		pkt_str(b, v);
		pkt_end(b, at, 0);
		break;
	case STEP_MAIL:
		if (opts.mail_from != NULL)
			snprintf(v, sizeof(v), "%s", opts.mail_from);
		else
			snprintf(v, sizeof(v), "u%d@%s", c->id, opts.c.domain);
		snprintf(a, sizeof(a), "u%d", c->id);
		/* An authenticated client: the milter signs its mail. A
		   remote one (-I): the milter checks it. */
		if (opts.inbound)
			pkt_macros(b, SMFIC_MAIL, "{mail_addr}", v,
			    (char *)NULL);
		else
			pkt_macros(b, SMFIC_MAIL, "{auth_type}", "PLAIN",
			    "{auth_authen}", a, "{mail_addr}", v,
			    (char *)NULL);
		at = pkt_begin(b, SMFIC_MAIL);
		snprintf(a, sizeof(a), "<%s>", v);
		pkt_str(b, a);
		snprintf(a, sizeof(a), "SIZE=%.0f", c->msg_bytes);
		pkt_str(b, a);
		pkt_end(b, at, 0);
		break;
	case STEP_RCPT:
		snprintf(v, sizeof(v), "r%lu@%s", c->msgno, opts.rcpt_domain);
		pkt_macros(b, SMFIC_RCPT, "i", qid, "{rcpt_addr}", v,
		    (char *)NULL);
		snprintf(a, sizeof(a), "<%s>", v);
		at = pkt_begin(b, SMFIC_RCPT);
		pkt_str(b, a);
		pkt_end(b, at, 0);
		break;
	case STEP_DATA:
		pkt_macros(b, SMFIC_DATA, "i", qid, (char *)NULL);
		at = pkt_begin(b, SMFIC_DATA);
		pkt_end(b, at, 0);
		break;
	case STEP_HEADER:
		if (ml_fields != NULL) {
			field_build(c, b);
			break;
		}
		/* With SMFIP_HDR_LEADSPC the value goes as it follows the
		   colon, its leading space included. */
		v[0] = ' ';
		name = msg_field(c->hdr_i, c->id, c->msgno, v + 1,
		    sizeof(v) - 1);
		at = pkt_begin(b, SMFIC_HEADER);
		pkt_str(b, name);
		pkt_str(b, c->prot & SMFIP_HDR_LEADSPC ? v : v + 1);
		pkt_end(b, at, 0);
		break;
	case STEP_EOH:
		pkt_macros(b, SMFIC_EOH, "i", qid, (char *)NULL);
		at = pkt_begin(b, SMFIC_EOH);
		pkt_end(b, at, 0);
		break;
	case STEP_BODY:
		c->chunk = ml_bodylen - c->body_off;
		if (c->chunk > MILTER_CHUNK_SIZE)
			c->chunk = MILTER_CHUNK_SIZE;
		at = pkt_begin(b, SMFIC_BODY);
		pkt_end(b, at, c->chunk);
		c->ext = ml_body + c->body_off;
		c->extlen = c->chunk;
		break;
	case STEP_EOB:
		pkt_macros(b, SMFIC_BODYEOB, "i", qid, (char *)NULL);
		at = pkt_begin(b, SMFIC_BODYEOB);
		pkt_end(b, at, 0);
		break;
	case STEP_QUIT:
		at = pkt_begin(b, SMFIC_QUIT);
		pkt_end(b, at, 0);
		break;
	}
}

/*
 * Connection slots.
 */

/* Ask epoll for writability of c or stop asking. */
static void
slot_want_out(struct ml_worker *w, struct ml_slot *c, bool on)
{
	struct epoll_event ev;

	if (c->want_out == on)
		return;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	(void)epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_out = on;
}

/* Close c (if open); it starts a new message later. */
static void
slot_close(struct ml_worker *w, struct ml_slot *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	if (c->state != SLOT_DEAD)
		c->state = SLOT_IDLE;
	c->inlen = 0;
	c->want_out = false;
}

/* Count error e against the run and close c. */
static void
slot_fail(struct ml_worker *w, struct ml_slot *c, enum ml_err e)
{
	w->st.errs[e]++;
	slot_close(w, c);
}

/* Write what is left of the output. true when all of it is written,
   false when the socket is full (EPOLLOUT asked for) or c failed. */
static bool
slot_flush(struct ml_worker *w, struct ml_slot *c)
{
	size_t total = c->out.len + c->extlen;

	while (c->outoff < total) {
		struct iovec	iov[2];
		int		n = 0;
		ssize_t		r;

		if (c->outoff < c->out.len) {
			iov[n].iov_base = c->out.data + c->outoff;
			iov[n++].iov_len = c->out.len - c->outoff;
			if (c->extlen > 0) {
				iov[n].iov_base = (void *)c->ext;
				iov[n++].iov_len = c->extlen;
			}
		} else {
			iov[n].iov_base = (void *)(c->ext + (c->outoff -
			    c->out.len));
			iov[n++].iov_len = total - c->outoff;
		}
		r = writev(c->fd, iov, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			slot_want_out(w, c, true);
			return false;
		}
		if (r <= 0) {
			slot_fail(w, c, ML_ERR_CLOSED);
			return false;
		}
		c->outoff += (size_t)r;
	}
	slot_want_out(w, c, false);
	return true;
}

/* Send steps from c->step on until one awaits its answer, the socket is
   full, or the session is over (QUIT written: closed). */
static void
slot_pump(struct ml_worker *w, struct ml_slot *c)
{
	while (c->fd >= 0) {
		if (!slot_flush(w, c) || c->await)
			return;
		if (c->step == STEP_QUIT) {
			slot_close(w, c);
			return;
		}
		step_advance(c);
		step_build(c);
	}
}

/* A new session on c's fresh connection: negotiate first. */
static void
slot_session(struct ml_worker *w, struct ml_slot *c)
{
	c->state = SLOT_BUSY;
	c->fails = 0;
	c->step = STEP_OPTNEG;
	c->prot = 0;
	c->hdr_i = 0;
	c->body_off = 0;
	c->chunk = 0;
	c->nsigs = 0;
	c->bad_sig = false;
	c->results_ok = false;
	c->held = false;
	c->outcome[0] = '\0';
	c->inlen = 0;
	step_build(c);
	slot_pump(w, c);
}

/* A connect that failed: count it, and give up on the slot after a few
   in a row. */
static void
slot_connect_failed(struct ml_worker *w, struct ml_slot *c)
{
	slot_fail(w, c, ML_ERR_CONNECT);
	if (++c->fails >= ML_CONNECT_TRIES)
		c->state = SLOT_DEAD;
}

/* Start message number msgno on slot c: a non-blocking connect (on
   loopback it mostly completes at once). */
static void
slot_start(struct ml_worker *w, struct ml_slot *c)
{
	struct epoll_event	 ev;
	const struct sockaddr	*sa;
	struct sockaddr_un	 sun;
	socklen_t		 salen;
	int			 fd, one = 1, r;

	c->msgno = w->msg_seq++ * (unsigned long)opts.c.threads +
	    (unsigned long)w->tid;
	c->msg_bytes = (double)(msg_header_bytes(c->id, c->msgno) +
	    ml_bodylen);
	c->t_start = bench_now();
	if (opts.c.unix_path != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, opts.c.unix_path,
		    strlen(opts.c.unix_path) + 1);
		sa = (const struct sockaddr *)&sun;
		salen = sizeof(sun);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
	} else {
		sa = ml_addr->ai_addr;
		salen = ml_addr->ai_addrlen;
		fd = socket(ml_addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
	}
	if (fd < 0) {
		slot_connect_failed(w, c);
		return;
	}
	if (opts.c.unix_path == NULL)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	c->fd = fd;
	r = connect(fd, sa, salen);
	if (r < 0 && errno != EINPROGRESS) {
		slot_connect_failed(w, c);
		return;
	}
	ev.events = EPOLLIN | (r < 0 ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		slot_connect_failed(w, c);
		return;
	}
	c->want_out = r < 0;
	if (r < 0) {
		c->state = SLOT_CONNECTING;
		return;
	}
	slot_session(w, c);
}

/* The connect in progress finished, one way or the other. */
static void
slot_connected(struct ml_worker *w, struct ml_slot *c)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
	    err != 0) {
		slot_connect_failed(w, c);
		return;
	}
	slot_session(w, c);
}

/* Append s to the text in dst (size len), cut at its size: an outcome
   line need not be whole. */
static void
text_append(char *dst, size_t len, const char *s)
{
	size_t at = strnlen(dst, len - 1), n = strlen(s);

	if (n > len - 1 - at)
		n = len - 1 - at;
	memcpy(dst + at, s, n);
	dst[at + n] = '\0';
}

/* The message got its final answer, `verdict`: count it, then QUIT and
   close. c->outcome holds the modifications noted so far. */
static void
slot_done(struct ml_worker *w, struct ml_slot *c, const char *verdict,
    bool refused)
{
	char mods[ML_ACTION_MAX];

	memcpy(mods, c->outcome, sizeof(mods));
	c->outcome[0] = '\0';
	text_append(c->outcome, sizeof(c->outcome), verdict);
	text_append(c->outcome, sizeof(c->outcome), mods);
	w->st.b.last_done_ns = bench_now();
	bench_latency(&w->st.b, w->st.b.last_done_ns - c->t_start);
	w->st.bytes += c->msg_bytes;
	bench_action(&w->st.b, c->outcome, strlen(c->outcome), 1);
	if (refused)
		w->st.errs[ML_ERR_REFUSED]++;
	else if (opts.sigs >= 0 && (c->nsigs != opts.sigs || c->bad_sig))
		w->st.errs[ML_ERR_UNSIGNED]++;
	else if (opts.nresults > 0 && !c->results_ok)
		w->st.errs[ML_ERR_UNVERIFIED]++;
	c->step = STEP_QUIT;
	step_build(c);
	slot_pump(w, c);
}

/* The value of tag `tag` (e.g. "a=") in a DKIM-Signature value, into
   out. */
static void
sig_tag(const char *sig, const char *tag, char *out, size_t len)
{
	const char	*p = sig;
	size_t		 tl = strlen(tag), n = 0;

	out[0] = '\0';
	while ((p = strstr(p, tag)) != NULL) {
		if (p == sig || p[-1] == ';' || p[-1] == ' ' ||
		    p[-1] == '\t' || p[-1] == '\n') {
			p += tl;
			while (p[n] != '\0' && p[n] != ';' && n + 1 < len) {
				out[n] = p[n];
				n++;
			}
			out[n] = '\0';
			return;
		}
		p += tl;
	}
}

/* The result that an Authentication-Results value gives method (e.g.
   "spf"): the word after "spf=" where that starts a resinfo (RFC 8601
   section 2.2), into out; "" if the value has none. */
static void
ar_result(const char *ar, const char *method, char *out, size_t len)
{
	const char	*p = ar;
	size_t		 ml = strlen(method), n = 0;

	out[0] = '\0';
	while ((p = strcasestr(p, method)) != NULL) {
		if ((p == ar || strchr("; \t\n", p[-1]) != NULL) &&
		    p[ml] == '=') {
			p += ml + 1;
			while (n + 1 < len && (isalpha((unsigned char)p[n]) ||
			    p[n] == '-'))
				n++;
			memcpy(out, p, n);
			out[n] = '\0';
			return;
		}
		p += ml;
	}
}

/* An Authentication-Results field at end of body: note the results -R
   asks about, and whether each is the one wanted. */
static void
slot_authres(struct ml_slot *c, const char *value)
{
	bool ok = true;

	text_append(c->outcome, sizeof(c->outcome), "(");
	for (int i = 0; i < opts.nresults; i++) {
		const struct ml_result	*r = &opts.results[i];
		char			 got[32];

		ar_result(value, r->method, got, sizeof(got));
		if (strcasecmp(got, r->want) != 0)
			ok = false;
		text_append(c->outcome, sizeof(c->outcome), i > 0 ? "," : "");
		text_append(c->outcome, sizeof(c->outcome), r->method);
		text_append(c->outcome, sizeof(c->outcome), "=");
		text_append(c->outcome, sizeof(c->outcome),
		    got[0] != '\0' ? got : "?");
	}
	text_append(c->outcome, sizeof(c->outcome), ")");
	if (ok)
		c->results_ok = true;
}

/* A modification at end of body: note it, and check a signature and the
   Authentication-Results field. data holds n bytes. false if it is
   malformed. */
static bool
slot_modification(struct ml_slot *c, char cmd, const char *data, size_t n)
{
	const char	*name, *value;
	size_t		 off = cmd == SMFIR_ADDHEADER ? 0 : 4;
	char		 alg[40], what[3] = { ' ', cmd, '\0' };

	if (cmd == SMFIR_PROGRESS)
		return true;
	if (cmd != SMFIR_INSHEADER && cmd != SMFIR_ADDHEADER &&
	    cmd != SMFIR_CHGHEADER) {
		/* Envelope and body changes: noted by their command. */
		text_append(c->outcome, sizeof(c->outcome), what);
		return true;
	}
	/* [index] name NUL value NUL */
	if (n < off + 2 || data[n - 1] != '\0')
		return false;
	name = data + off;
	if (memchr(name, '\0', n - off - 1) == NULL)
		return false;
	value = name + strlen(name) + 1;
	text_append(c->outcome, sizeof(c->outcome), " +");
	text_append(c->outcome, sizeof(c->outcome), name);
	if (cmd != SMFIR_CHGHEADER && opts.nresults > 0 &&
	    strcasecmp(name, "Authentication-Results") == 0) {
		slot_authres(c, value);
		return true;
	}
	if (cmd != SMFIR_INSHEADER || strcasecmp(name, "DKIM-Signature") !=
	    0) {
		text_append(c->outcome, sizeof(c->outcome),
		    cmd == SMFIR_INSHEADER ? "(insert)" :
		    cmd == SMFIR_ADDHEADER ? "(add)" : "(change)");
		return true;
	}
	c->nsigs++;
	sig_tag(value, "a=", alg, sizeof(alg));
	if (opts.alg != NULL && strcmp(alg, opts.alg) != 0)
		c->bad_sig = true;
	text_append(c->outcome, sizeof(c->outcome), "(");
	text_append(c->outcome, sizeof(c->outcome), alg);
	text_append(c->outcome, sizeof(c->outcome), ")");
	return true;
}

/* -W: leave c at the end of its header until the run's time is up;
   say so once every connection waits. */
static void
slot_hold(struct ml_slot *c)
{
	c->held = true;
	if (atomic_fetch_add(&ml_held, 1) + 1 == ml_hold_all) {
		printf("held: %d connections at end of header\n",
		    ml_hold_all);
		fflush(stdout);
	}
}

/* One packet from the milter. false if c failed (and is closed). */
static bool
slot_reply(struct ml_worker *w, struct ml_slot *c, char cmd,
    const char *data, size_t n)
{
	char text[ML_ACTION_MAX];

	if (c->state != SLOT_BUSY || !c->await) {
		slot_fail(w, c, ML_ERR_REPLY);	/* unasked-for output */
		return false;
	}
	if (c->step == STEP_OPTNEG) {
		uint32_t v[3];

		if (cmd != SMFIC_OPTNEG || n < 12) {
			slot_fail(w, c, ML_ERR_REPLY);
			return false;
		}
		/* Version, actions, protocol steps; any macro lists the
		   milter asks for follow and are not needed here. */
		memcpy(v, data, 12);
		c->prot = ntohl(v[2]);
		c->await = false;
		slot_pump(w, c);
		return c->fd >= 0;
	}
	switch (cmd) {
	case SMFIR_CONTINUE:
		if (c->step == STEP_EOB) {
			slot_done(w, c, "continue", false);
			return false;
		}
		c->await = false;
		if (c->step == STEP_EOH && opts.hold &&
		    bench_now() < bench_end_ns) {
			slot_hold(c);
			return true;
		}
		slot_pump(w, c);
		return c->fd >= 0;
	case SMFIR_PROGRESS:
		return true;
	case SMFIR_SKIP:
		if (c->step != STEP_BODY) {
			slot_fail(w, c, ML_ERR_REPLY);
			return false;
		}
		c->chunk = ml_bodylen - c->body_off;	/* the rest */
		c->await = false;
		slot_pump(w, c);
		return c->fd >= 0;
	case SMFIR_ACCEPT:
	case SMFIR_DISCARD:
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_REPLYCODE:
	case SMFIR_CONN_FAIL:
	case SMFIR_SHUTDOWN:
		/* The message is decided here: accepted without the rest
		   (unsigned), or refused. */
		if (cmd == SMFIR_REPLYCODE && n > 0 && data[n - 1] == '\0')
			snprintf(text, sizeof(text), "%s at %s: %.80s",
			    "replycode", ml_step_names[c->step], data);
		else
			snprintf(text, sizeof(text), "%s at %s",
			    cmd == SMFIR_ACCEPT ? "accept" :
			    cmd == SMFIR_DISCARD ? "discard" :
			    cmd == SMFIR_REJECT ? "reject" :
			    cmd == SMFIR_TEMPFAIL ? "tempfail" :
			    cmd == SMFIR_CONN_FAIL ? "conn_fail" : "shutdown",
			    ml_step_names[c->step]);
		slot_done(w, c, text, cmd != SMFIR_ACCEPT);
		return false;
	default:
		if (c->step == STEP_EOB && slot_modification(c, cmd, data, n))
			return true;
		slot_fail(w, c, ML_ERR_REPLY);
		return false;
	}
}

/* Read what the milter sent and handle each whole packet. */
static void
slot_input(struct ml_worker *w, struct ml_slot *c)
{
	ssize_t	n;
	size_t	off = 0;

	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		slot_fail(w, c, ML_ERR_CLOSED);
		return;
	}
	c->inlen += (size_t)n;
	if (opts.quickack) {
		int one = 1;

		/* Linux turns quick ACKs off again by itself: ask after
		   every read. */
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));
	}
	while (c->inlen - off >= 4) {
		uint32_t	len;

		memcpy(&len, c->in + off, 4);
		len = ntohl(len);
		if (len == 0 || len > sizeof(c->in) - 4) {
			slot_fail(w, c, ML_ERR_REPLY);
			return;
		}
		if (c->inlen - off < 4 + (size_t)len)
			break;
		if (!slot_reply(w, c, (char)c->in[off + 4],
		    (const char *)c->in + off + 5, len - 1))
			return;		/* closed, or the session is over */
		off += 4 + (size_t)len;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
}

/* May this worker start one more message? */
static bool
ml_ticket(void)
{
	if (bench_now() >= bench_end_ns)
		return false;
	if (opts.c.count == 0)
		return true;
	return atomic_fetch_add(&ml_tickets, 1) < opts.c.count;
}

/* Fail every message that has run longer than the timeout. */
static void
worker_timeouts(struct ml_worker *w, int64_t now, bool all)
{
	for (int i = 0; i < w->nslots; i++) {
		struct ml_slot *c = &w->slots[i];

		if ((c->state == SLOT_BUSY || c->state == SLOT_CONNECTING) &&
		    (all || now - c->t_start > opts.c.timeout_ns))
			slot_fail(w, c, ML_ERR_TIMEOUT);
	}
}

/* Messages of this worker in flight. */
static int
worker_busy(const struct ml_worker *w)
{
	int n = 0;

	for (int i = 0; i < w->nslots; i++)
		n += w->slots[i].state == SLOT_BUSY ||
		    w->slots[i].state == SLOT_CONNECTING;
	return n;
}

/* Has the worker a slot it has not given up on? */
static bool
worker_alive(const struct ml_worker *w)
{
	for (int i = 0; i < w->nslots; i++)
		if (w->slots[i].state != SLOT_DEAD)
			return true;
	return false;
}

/* Wait for events and handle them. Returns after one epoll_wait. */
static void
worker_poll(struct ml_worker *w, int timeout_ms)
{
	struct epoll_event	evs[256];
	int			n;

	n = epoll_wait(w->epfd, evs, 256, timeout_ms);
	for (int i = 0; i < n; i++) {
		struct ml_slot	*c = evs[i].data.ptr;
		uint32_t	 e = evs[i].events;

		if (c->fd < 0)
			continue;
		if (c->state == SLOT_CONNECTING) {
			if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				slot_connected(w, c);
			continue;
		}
		if ((e & EPOLLOUT) && c->state == SLOT_BUSY)
			slot_pump(w, c);
		if (c->fd >= 0 && (e & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			slot_input(w, c);
	}
}

/* -W: the run's time is up; finish the messages held. */
static void
worker_release(struct ml_worker *w)
{
	for (int i = 0; i < w->nslots; i++) {
		struct ml_slot *c = &w->slots[i];

		if (c->state == SLOT_BUSY && c->held) {
			c->held = false;
			slot_pump(w, c);
		}
	}
}

/* Closed loop until the budget or the time is used up and every message
   has its answer (or failed). */
static void
worker_run(struct ml_worker *w)
{
	bool	 exhausted = false;
	int64_t	 now;

	for (;;) {
		for (int i = 0; i < w->nslots && !exhausted; i++) {
			struct ml_slot *c = &w->slots[i];

			if (c->state != SLOT_IDLE)
				continue;
			if (ml_ticket())
				slot_start(w, c);
			else
				exhausted = true;
		}
		if (!worker_alive(w))
			exhausted = true;
		if (exhausted && worker_busy(w) == 0)
			break;
		worker_poll(w, 50);
		now = bench_now();
		if (now >= bench_end_ns)
			worker_release(w);
		worker_timeouts(w, now, now >= bench_hard_end_ns);
		if (now >= bench_end_ns || (opts.c.count > 0 &&
		    atomic_load(&ml_tickets) >= opts.c.count))
			exhausted = true;
	}
}

/* One worker thread: meet the others at the start line, run, close. */
static void *
worker_main(void *arg)
{
	struct ml_worker *w = arg;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		fprintf(stderr, "milterload: epoll: %s\n", strerror(errno));
		exit(EX_OSERR);
	}
	for (int i = 0; i < w->nslots; i++)
		w->slots[i].fd = -1;
	bench_ready();
	worker_run(w);
	for (int i = 0; i < w->nslots; i++) {
		slot_close(w, &w->slots[i]);
		buf_free(&w->slots[i].out);
	}
	close(w->epfd);
	return NULL;
}

/* Add a worker's figures to the total. */
static void
stats_merge(struct ml_stats *to, const struct ml_stats *from)
{
	bench_merge(&to->b, &from->b);
	for (int e = 0; e < ML_NERR; e++)
		to->errs[e] += from->errs[e];
	to->bytes += from->bytes;
}

/* The report, and one "result:" line of key=value for scripts. */
static void
stats_print(struct ml_stats *st, int64_t end_ns, size_t msg_size)
{
	double		secs = (double)(end_ns - bench_start_ns) / 1e9;
	double		mps = secs > 0 ? (double)st->b.done / secs : 0;
	double		bps = secs > 0 ? st->bytes / secs : 0;
	long long	errors = 0;

	for (int e = 0; e < ML_NERR; e++)
		errors += st->errs[e];
	printf("messages %lld in %.3f s: %.1f messages/s, %.2f MB/s of "
	    "message\n", st->b.done, secs, mps, bps / 1e6);
	printf("errors %lld", errors);
	for (int e = 0; e < ML_NERR; e++)
		printf("%s%s %lld", e == 0 ? " (" : ", ", ml_err_names[e],
		    st->errs[e]);
	printf(")\n");
	bench_print(&st->b, "outcomes", "other outcomes");
	/* One line for scripts. */
	printf("result: mode=closed conc=%d threads=%d size=%zu "
	    "messages=%lld seconds=%.3f mps=%.1f bps=%.0f p50_us=%.1f "
	    "p99_us=%.1f p999_us=%.1f max_us=%.1f errors=%lld\n", opts.c.conc,
	    opts.c.threads, msg_size, st->b.done, secs, mps, bps,
	    bench_quantile(&st->b, 0.50), bench_quantile(&st->b, 0.99),
	    bench_quantile(&st->b, 0.999), (double)st->b.max_ns / 1000.0,
	    errors);
}

/* A numeric option in [min, max]; exits with usage on anything else. */
static double
opt_num(const char *s, double min, double max)
{
	return bench_opt_num("milterload", s, min, max);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: milterload [-H host] -p port | -u socket [-c conns] "
	    "[-t threads]\n"
	    "                  [-n count] [-d seconds] [-T timeout-ms] "
	    "[-s size]\n"
	    "                  [-D sender-domain] [-k signatures] "
	    "[-a algorithm]\n"
	    "                  [-q] [-I] [-A addr] [-E helo] [-F sender] "
	    "[-m file]\n"
	    "                  [-R results] [-W]\n"
	    "  -c conns    messages in flight, each on its own connection "
	    "(default 1)\n"
	    "  -t threads  epoll loops sharing them (default 1)\n"
	    "  -n count    stop after count messages\n"
	    "  -d seconds  stop starting messages after this long "
	    "(default 5, or 60 with -n)\n"
	    "  -T ms       per-message timeout (default 10000)\n"
	    "  -s size     message size in bytes, or with k or m "
	    "(default 2k)\n"
	    "  -D domain   sender and From domain (default bench.example)\n"
	    "  -k n        DKIM-Signature inserts each message must get "
	    "(default 1;\n"
	    "              -1: do not check)\n"
	    "  -a alg      their a= tag must be alg (rsa-sha256, "
	    "ed25519-sha256)\n"
	    "  -q          ACK every reply at once\n"
	    "  -I          a remote client (no SMTP AUTH): inbound mail\n"
	    "  -A addr     client address (default 192.0.2.x per "
	    "connection)\n"
	    "  -E name     HELO name (default clientN.bench.example)\n"
	    "  -F addr     MAIL FROM address (default uN@sender-domain)\n"
	    "  -m file     replay this message (-s ignored)\n"
	    "  -R results  the Authentication-Results field each message "
	    "gets must\n"
	    "              give them, e.g. spf=pass,dkim=pass,dmarc=pass\n"
	    "  -W          hold every connection at end of header until the "
	    "time is up\n");
	exit(EX_USAGE);
}

/* -R: method=result pairs separated by commas. */
static void
opt_results(const char *s)
{
	char	*copy = xstrdup(s), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		struct ml_result	*r = &opts.results[opts.nresults];
		char			*eq = strchr(t, '=');

		if (eq == NULL || eq == t || eq[1] == '\0' ||
		    opts.nresults == ML_MAX_RESULTS ||
		    (size_t)(eq - t) >= sizeof(r->method) ||
		    strlen(eq + 1) >= sizeof(r->want)) {
			fprintf(stderr, "milterload: -R %s: want up to %d "
			    "method=result pairs\n", s, ML_MAX_RESULTS);
			exit(EX_USAGE);
		}
		memcpy(r->method, t, (size_t)(eq - t));
		r->method[eq - t] = '\0';
		memcpy(r->want, eq + 1, strlen(eq + 1) + 1);
		opts.nresults++;
	}
	free(copy);
}

/* The bytes of file path with every line ending in CRLF, as the milter
   protocol carries a message; exits if it cannot be read. */
static char *
msg_file_read(const char *path, size_t *len_out)
{
	struct buf	 b = BUF_INIT;
	FILE		*f = fopen(path, "rb");
	int		 ch, prev = 0;

	if (f == NULL) {
		fprintf(stderr, "milterload: %s: %s\n", path, strerror(errno));
		exit(EX_NOINPUT);
	}
	while ((ch = getc(f)) != EOF) {
		char cr = '\r', c8 = (char)ch;

		if (ch == '\n' && prev != '\r')
			buf_append(&b, &cr, 1);
		buf_append(&b, &c8, 1);
		prev = ch;
		if (b.len > ML_MAX_SIZE) {
			fprintf(stderr, "milterload: %s: larger than %ld "
			    "bytes\n", path, ML_MAX_SIZE);
			exit(EX_DATAERR);
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "milterload: %s: %s\n", path, strerror(errno));
		exit(EX_IOERR);
	}
	fclose(f);
	*len_out = b.len;
	return b.data != NULL ? b.data : xstrdup("");
}

/* -m: the header fields of the message in file path into ml_fields, the
   body into ml_body. A line that is neither a field nor the continuation
   of one ends the header, as an empty line does. */
static void
msg_file_load(const char *path)
{
	char	*text = msg_file_read(path, &ml_filelen);
	char	*p = text, *end = text + ml_filelen;
	int	 cap = 0;

	ml_nhdrs = 0;
	while (p < end) {
		char	*eol = strstr(p, "\r\n"), *colon, *v;
		size_t	 n;

		if (eol == NULL)
			eol = end;
		n = (size_t)(eol - p);
		if ((*p == ' ' || *p == '\t') && ml_nhdrs > 0) {
			/* Folded: the MTA joins the lines with LF. */
			struct ml_field *f = &ml_fields[ml_nhdrs - 1];

			v = xmalloc(strlen(f->value) + 1 + n + 1);
			memcpy(v, f->value, strlen(f->value));
			v[strlen(f->value)] = '\n';
			memcpy(v + strlen(f->value) + 1, p, n);
			v[strlen(f->value) + 1 + n] = '\0';
			free(f->value);
			f->value = v;
		} else if (n > 0 && (colon = memchr(p, ':', n)) != NULL &&
		    colon > p) {
			if (ml_nhdrs == cap) {
				cap = cap > 0 ? cap * 2 : 16;
				ml_fields = xrealloc(ml_fields, (size_t)cap *
				    sizeof(*ml_fields));
			}
			ml_fields[ml_nhdrs].name = xstrndup(p,
			    (size_t)(colon - p));
			ml_fields[ml_nhdrs++].value = xstrndup(colon + 1,
			    (size_t)(eol - colon - 1));
		} else {
			break;
		}
		p = eol < end ? eol + 2 : end;
	}
	if (ml_nhdrs == 0) {
		fprintf(stderr, "milterload: %s: no header field\n", path);
		exit(EX_DATAERR);
	}
	/* The empty line that ends the header is not the body's. */
	if (p + 2 <= end && p[0] == '\r' && p[1] == '\n')
		p += 2;
	ml_bodylen = (size_t)(end - p);
	ml_body = xstrndup(p, ml_bodylen);
	free(text);
}

/* Free what msg_file_load() made. */
static void
msg_file_free(void)
{
	for (int i = 0; ml_fields != NULL && i < ml_nhdrs; i++) {
		free(ml_fields[i].name);
		free(ml_fields[i].value);
	}
	free(ml_fields);
	ml_fields = NULL;
}

/* A size: bytes, or kB or MB (1024-based) with the suffix k or m. */
static long
opt_size(const char *s)
{
	char	 num[32];
	size_t	 len = strlen(s);
	double	 mult = 1;

	if (len == 0 || len >= sizeof(num))
		usage();
	memcpy(num, s, len + 1);
	if (num[len - 1] == 'k' || num[len - 1] == 'K')
		mult = 1024;
	else if (num[len - 1] == 'm' || num[len - 1] == 'M')
		mult = 1024 * 1024;
	if (mult > 1)
		num[len - 1] = '\0';
	return (long)(opt_num(num, 1, (double)ML_MAX_SIZE / mult) * mult);
}

int
main(int argc, char **argv)
{
	struct ml_worker	*ws;
	struct ml_slot		*slots;
	struct ml_stats		*total;
	struct tm		 tm;
	time_t			 t;
	size_t			 hdr, size;
	int			 ch, r;

	opts.c.host = "127.0.0.1";
	opts.c.max_conns = ML_MAX_CONNS;
	opts.c.conc = 1;
	opts.c.threads = 1;
	opts.c.timeout_ns = 10000LL * 1000000;
	opts.size = 2048;
	opts.c.domain = "bench.example";
	opts.rcpt_domain = "dest.example";
	opts.sigs = 1;
	while ((ch = getopt(argc, argv,
	    "H:p:u:c:t:n:d:T:s:D:k:a:qIA:E:F:m:R:W")) != -1) {
		switch (ch) {
		case 'I':
			opts.inbound = true;
			break;
		case 'A':
			opts.client_addr = optarg;
			break;
		case 'E':
			opts.helo = optarg;
			break;
		case 'F':
			opts.mail_from = optarg;
			break;
		case 'm':
			opts.msg_path = optarg;
			break;
		case 'R':
			opt_results(optarg);
			break;
		case 'W':
			opts.hold = true;
			break;
		case 's':
			opts.size = opt_size(optarg);
			break;
		case 'k':
			opts.sigs = (int)opt_num(optarg, -1, 2);
			break;
		case 'a':
			opts.alg = optarg;
			break;
		case 'q':
			opts.quickack = true;
			break;
		default:
			if (!bench_opt("milterload", ch, optarg, &opts.c))
				usage();
		}
	}
	if (optind != argc || !bench_opts_done("milterload", &opts.c))
		usage();
	if (opts.c.port != NULL)
		ml_addr = bench_resolve("milterload", opts.c.host,
		    opts.c.port);
	(void)signal(SIGPIPE, SIG_IGN);

	/* RFC 5322 section 3.3 date; every message carries the same. */
	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(ml_date, sizeof(ml_date), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm);
	if (opts.msg_path != NULL) {
		msg_file_load(opts.msg_path);
		hdr = msg_header_bytes(0, 0);
	} else {
		hdr = msg_header_bytes(0, 0);
		ml_body = msg_body((size_t)opts.size > hdr ?
		    (size_t)opts.size - hdr : 0, &ml_bodylen);
	}
	size = hdr + ml_bodylen;
	ml_hold_all = opts.c.count > 0 && opts.c.count < opts.c.conc ?
	    (int)opts.c.count : opts.c.conc;

	ws = xcalloc((size_t)opts.c.threads, sizeof(*ws));
	slots = xcalloc((size_t)opts.c.conc, sizeof(*slots));
	total = xcalloc(1, sizeof(*total));
	for (int i = 0; i < opts.c.conc; i++)
		slots[i].id = i;
	printf("milterload: %s%s%s closed-loop conns=%d threads=%d "
	    "size=%zu (header %zu, body %zu)",
	    opts.c.unix_path ? opts.c.unix_path : opts.c.host,
	    opts.c.unix_path ? "" : ":", opts.c.unix_path ? "" : opts.c.port,
	    opts.c.conc, opts.c.threads, size, hdr, ml_bodylen);
	if (opts.c.count > 0)
		printf(" count=%lld", opts.c.count);
	printf(" duration=%.2fs\n", opts.c.duration_s);
	fflush(stdout);

	for (int th = 0, first = 0; th < opts.c.threads; th++) {
		int n = opts.c.conc / opts.c.threads +
		    (th < opts.c.conc % opts.c.threads);

		ws[th].tid = th;
		ws[th].slots = slots + first;
		ws[th].nslots = n;
		first += n;
	}
	bench_run("milterload", opts.c.threads, worker_main, ws, sizeof(*ws),
	    opts.c.duration_s, opts.c.timeout_ns);
	for (int th = 0; th < opts.c.threads; th++)
		stats_merge(total, &ws[th].st);
	/* The run lasts until its last answer. */
	stats_print(total, total->b.last_done_ns > 0 ? total->b.last_done_ns :
	    bench_now(), size);
	if (ml_addr != NULL)
		freeaddrinfo(ml_addr);
	r = total->b.done > 0 ? EX_OK : EX_UNAVAILABLE;
	free(total);
	free(slots);
	free(ws);
	free(ml_body);
	msg_file_free();
	return r;
}
