/*
 * glue.c - libmilter callbacks. Each is thin: fetch the connection, copy
 * what libmilter hands over, call msg.c, map its verdict to SMFIS_*. A
 * connection's state lives in its private data and takes a reference to
 * the configuration generation current when it connected; libmilter runs
 * each connection in a thread of its own.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "cidr.h"
#include "gen.h"
#include "glue.h"
#include "inbound.h"
#include "log.h"
#include "mem.h"
#include "msg.h"
#include "policy.h"
#include "sdnotify.h"
#include "str.h"

struct conn {
	struct gen	*g;
	char		 client[64];	/* address, for the log */
	bool		 internal;	/* client in internal_hosts */
	bool		 outbound_daemon;	/* {daemon_name} listed */
	bool		 lead_space;	/* negotiated SMFIP_HDR_LEADSPC */
	bool		 nr_hdr;	/* SMFIP_NR_HDR: header not answered */
	bool		 nr_body;	/* SMFIP_NR_BODY: body not answered */
	bool		 nr_helo;	/* SMFIP_NR_HELO: HELO not answered */
	bool		 nr_eoh;	/* SMFIP_NR_EOH: end of header too */
	char		 helo[256];	/* HELO/EHLO name, for SPF */
	struct msg	 msg;
};

/* Listening on a unix socket (not TCP): see glue_negotiate(). */
static bool glue_local_socket;

static struct conn *
glue_conn(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static void
glue_qid(SMFICTX *ctx, struct conn *c)
{
	msg_set_qid(&c->msg, smfi_getsymval(ctx, (char *)"i"));
}

/* A reply text libmilter passes on as is: printable ASCII only (RFC 5321
   section 4.2: replies are US-ASCII), and '%' doubled (smfi_setreply
   reads the text as a format). */
static void
glue_reply_text(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0' && o + 3 < outlen; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch == '%') {
			out[o++] = '%';
			out[o++] = '%';
		} else {
			out[o++] = ch < 32 || ch >= 127 ? '?' : (char)ch;
		}
	}
	out[o] = '\0';
}

static sfsistat
glue_verdict(SMFICTX *ctx, struct conn *c, const struct verdict *v,
    const char *stage)
{
	char text[1100];

	switch (v->act) {
	case VERDICT_CONTINUE:
		return SMFIS_CONTINUE;
	case VERDICT_ACCEPT:
		return SMFIS_ACCEPT;
	case VERDICT_DISCARD:
		log_info(c->msg.qid, "milter: client=%s stage=%s "
		    "action=discard", c->client, stage);
		msg_reset(&c->msg);
		return SMFIS_DISCARD;
	case VERDICT_REJECT:
	case VERDICT_TEMPFAIL:
		break;
	}
	glue_reply_text(v->text, text, sizeof(text));
	log_info(c->msg.qid, "milter: client=%s stage=%s action=\"%s %s %s\"",
	    c->client, stage, v->rcode, v->xcode, text);
	if (smfi_setreply(ctx, (char *)v->rcode, (char *)v->xcode, text) !=
	    MI_SUCCESS)
		log_warning(c->msg.qid, "milter: the MTA did not take the "
		    "reply text");
	if (strcmp(stage, "rcpt") != 0)
		msg_reset(&c->msg);
	return v->act == VERDICT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static sfsistat
glue_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	(void)f2;
	(void)f3;
	*pf0 = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
	    SMFIF_DELRCPT;
	if (f0 & SMFIF_SETSYMLIST)
		*pf0 |= SMFIF_SETSYMLIST;
	*pf0 &= f0;
	/* Unknown commands tell nothing; the HELO name is SPF's second
	   identity. The header value exactly as received (its leading
	   space too) keeps "simple" header canonicalization right. Header
	   fields and body chunks need no answer each (a refusal found
	   there is held for the end of the header or of the message),
	   which spares the MTA a round trip per field: Postfix then sends
	   them all in one write.
	   On a unix socket HELO, DATA and the end of the header need no
	   answer either (nothing is refused there: a refusal found at the
	   end of the header is held for the end of the message, which the
	   SMTP client sees at the same point, its end of DATA). Each is a
	   round trip less per message. On TCP they are answered: Postfix
	   writes a stage it need not wait for in a packet of its own and
	   sets no TCP_NODELAY, so its next command would wait for our ACK
	   of that packet, which our kernel delays for want of an answer
	   to carry it (40 ms on Linux); Postfix even sends the DATA
	   stage's macros when told to skip the stage. */
	*pf1 = (SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC | SMFIP_NR_HDR |
	    SMFIP_NR_BODY) & f1;
	if (glue_local_socket)
		*pf1 |= (SMFIP_NODATA | SMFIP_NR_HELO | SMFIP_NR_EOH) & f1;
	*pf2 = *pf3 = 0;
	c->lead_space = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	c->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
	c->nr_body = (*pf1 & SMFIP_NR_BODY) != 0;
	c->nr_helo = (*pf1 & SMFIP_NR_HELO) != 0;
	c->nr_eoh = (*pf1 & SMFIP_NR_EOH) != 0;
	smfi_setpriv(ctx, c);
	if (*pf0 & SMFIF_SETSYMLIST) {
		/* What Postfix sends by default; Sendmail needs asking. */
		(void)smfi_setsymlist(ctx, SMFIM_CONNECT,
		    (char *)"j {daemon_name}");
		(void)smfi_setsymlist(ctx, SMFIM_ENVFROM,
		    (char *)"i {auth_authen}");
		(void)smfi_setsymlist(ctx, SMFIM_ENVRCPT, (char *)"i");
		(void)smfi_setsymlist(ctx, SMFIM_EOH, (char *)"i");
		(void)smfi_setsymlist(ctx, SMFIM_EOM, (char *)"i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
glue_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct conn	*c = glue_conn(ctx);
	const char	*dn;

	(void)hostname;
	if (c == NULL) {
		/* An MTA that skipped negotiation (old protocol). */
		c = xcalloc(1, sizeof(*c));
		smfi_setpriv(ctx, c);
	}
	c->g = gen_acquire();
	if (c->g == NULL)
		return SMFIS_TEMPFAIL;
	(void)str_copy(c->client, sizeof(c->client), "local");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
		    c->client, sizeof(c->client));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    c->client, sizeof(c->client));
	c->internal = sa == NULL || (sa->sa_family != AF_INET &&
	    sa->sa_family != AF_INET6) ||
	    cidr_list_match(c->g->cf->internal_hosts, c->client);
	dn = smfi_getsymval(ctx, (char *)"{daemon_name}");
	for (char **l = c->g->cf->milter_outbound_daemons;
	    dn != NULL && l != NULL && *l != NULL; l++)
		if (strcmp(*l, dn) == 0)
			c->outbound_daemon = true;
	if (!c->internal && !c->outbound_daemon) {
		struct verdict v;

		if (inbound_ip_blocked(c->g->cf, c->client, &v))
			return glue_verdict(ctx, c, &v, "connect");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
glue_helo(SMFICTX *ctx, char *helo)
{
	struct conn *c = glue_conn(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	(void)str_copy(c->helo, sizeof(c->helo), helo != NULL ? helo : "");
	return c->nr_helo ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* The SIZE= ESMTP parameter of MAIL FROM, or -1. */
static long long
glue_size_param(char **argv)
{
	for (size_t i = 1; argv[i] != NULL; i++) {
		long long n;

		if (strncasecmp(argv[i], "SIZE=", 5) == 0 &&
		    str_to_ll(argv[i] + 5, 0, (1LL << 62), &n) == 0)
			return n;
	}
	return -1;
}

/* The MAIL FROM address without its angle brackets (libmilter passes
   the argument as the client wrote it, Postfix with the brackets). */
static void
glue_sender(const char *arg, char *out, size_t outlen)
{
	size_t n = strlen(arg);

	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>') {
		arg++;
		n -= 2;
	}
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, arg, n);
	out[n] = '\0';
}

static sfsistat
glue_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn	*c = glue_conn(ctx);
	const char	*auth = smfi_getsymval(ctx, (char *)"{auth_authen}");
	struct verdict	 v;
	char		 sender[ADDR_BUFSZ + 2];

	if (c == NULL || c->g == NULL)
		return SMFIS_TEMPFAIL;
	msg_reset(&c->msg);
	if (auth != NULL && *auth == '\0')
		auth = NULL;
	msg_start(&c->msg, c->g, smfi_getsymval(ctx, (char *)"i"), auth,
	    c->lead_space);
	if (argv[0] != NULL && strcmp(argv[0], "<>") != 0)
		(void)str_copy(c->msg.sender, sizeof(c->msg.sender), argv[0]);
	if (auth == NULL && !c->internal && !c->outbound_daemon) {
		glue_sender(c->msg.sender, sender, sizeof(sender));
		inbound_mail(&c->msg, c->client, c->helo, sender, &v);
	} else {
		msg_mail(&c->msg, glue_size_param(argv), &v);
	}
	return glue_verdict(ctx, c, &v, "mail");
}

static sfsistat
glue_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn	*c = glue_conn(ctx);
	struct verdict	 v;

	if (c == NULL || !c->msg.active)
		return SMFIS_CONTINUE;
	glue_qid(ctx, c);
	if (c->msg.in != NULL) {
		inbound_rcpt(&c->msg, argv[0] != NULL ? argv[0] : "", &v);
		return glue_verdict(ctx, c, &v, "rcpt");
	}
	/* Under an MTA without a policy service (Sendmail), the policy
	   service's checks, in its order, before the milter's own count. */
	if (c->g->cf->milter_policy_checks && argv[0] != NULL) {
		policy_rcpt(&c->msg, c->client, c->msg.sender, argv[0], &v);
		if (v.act != VERDICT_CONTINUE)
			return glue_verdict(ctx, c, &v, "rcpt");
	}
	msg_rcpt(&c->msg, &v);
	return glue_verdict(ctx, c, &v, "rcpt");
}

/* The answer to a header field or body chunk: nothing when the MTA was
   told not to wait (no_reply), else "continue". A refusal is held for the
   end of the header or of the message either way, so that the MTA sees
   the same refusal at the same stage whatever was negotiated. */
static sfsistat
glue_hold(struct conn *c, const struct verdict *v, const char *stage,
    bool no_reply)
{
	if (v != NULL && v->act != VERDICT_CONTINUE &&
	    c->msg.held.act == VERDICT_CONTINUE) {
		c->msg.held = *v;
		c->msg.held_stage = stage;
	}
	return no_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* The answer held from an unanswered stage, if there is one: given now,
   at a stage the MTA waits on. */
static bool
glue_held(SMFICTX *ctx, struct conn *c, sfsistat *r)
{
	struct verdict v = c->msg.held;

	if (v.act == VERDICT_CONTINUE)
		return false;
	*r = glue_verdict(ctx, c, &v, c->msg.held_stage);
	return true;
}

static sfsistat
glue_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn	*c = glue_conn(ctx);
	struct verdict	 v;

	if (c == NULL || !c->msg.active)
		return c != NULL && c->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	if (c->msg.in != NULL) {
		inbound_header(&c->msg, name, value != NULL ? value : "");
		return glue_hold(c, NULL, NULL, c->nr_hdr);
	}
	if (c->msg.held.act != VERDICT_CONTINUE)
		return glue_hold(c, NULL, NULL, c->nr_hdr);
	msg_header(&c->msg, name, value != NULL ? value : "", &v);
	return glue_hold(c, &v, "header", c->nr_hdr);
}

static sfsistat
glue_eoh(SMFICTX *ctx)
{
	struct conn	*c = glue_conn(ctx);
	struct verdict	 v;
	sfsistat	 r;

	if (c == NULL || !c->msg.active)
		return c != NULL && c->nr_eoh ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	glue_qid(ctx, c);
	if (c->msg.in != NULL) {
		inbound_eoh(&c->msg);
		return glue_hold(c, NULL, NULL, c->nr_eoh);
	}
	if (c->nr_eoh) {
		if (c->msg.held.act == VERDICT_CONTINUE) {
			msg_eoh(&c->msg, &v);
			return glue_hold(c, &v, "header", true);
		}
		return SMFIS_NOREPLY;
	}
	if (glue_held(ctx, c, &r))
		return r;
	msg_eoh(&c->msg, &v);
	return glue_verdict(ctx, c, &v, "header");
}

static sfsistat
glue_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct conn	*c = glue_conn(ctx);
	struct verdict	 v;

	if (c == NULL || !c->msg.active)
		return c != NULL && c->nr_body ? SMFIS_NOREPLY :
		    SMFIS_CONTINUE;
	if (c->msg.in != NULL) {
		inbound_body(&c->msg, p, n);
		return glue_hold(c, NULL, NULL, c->nr_body);
	}
	if (c->msg.held.act != VERDICT_CONTINUE)
		return glue_hold(c, NULL, NULL, c->nr_body);
	msg_body(&c->msg, p, n, &v);
	return glue_hold(c, &v, "body", c->nr_body);
}

/* Add m's header fields; SMFIS_TEMPFAIL (with the reply set) when the
   MTA refuses one, since a message must not go on without them. */
static sfsistat
glue_add_edits(SMFICTX *ctx, struct msg *m, bool lead_space)
{
	for (size_t i = 0; i < m->nedits; i++) {
		char	*value = m->edits[i].value, *spaced = NULL;
		int	 ok;

		/* With SMFIP_HDR_LEADSPC the MTA adds no space after the
		   colon of a field we add either. */
		if (lead_space) {
			spaced = xmalloc(strlen(value) + 2);
			spaced[0] = ' ';
			memcpy(spaced + 1, value, strlen(value) + 1);
			value = spaced;
		}
		ok = m->edits[i].at_top ?
		    smfi_insheader(ctx, 0, (char *)m->edits[i].name, value) :
		    smfi_addheader(ctx, (char *)m->edits[i].name, value);
		free(spaced);
		if (ok != MI_SUCCESS) {
			log_err(m->qid, "milter: the MTA refused to add %s; "
			    "answering 451 4.3.0", m->edits[i].name);
			(void)smfi_setreply(ctx, (char *)"451",
			    (char *)"4.3.0", (char *)"Message cannot be "
			    "processed now; try again later");
			return SMFIS_TEMPFAIL;
		}
	}
	return SMFIS_CONTINUE;
}

/* Remove the recipients a receipt rule stopped. */
static void
glue_del_stopped(SMFICTX *ctx, struct msg *m)
{
	char *const	*list;
	size_t		 n = m->in != NULL ? inbound_stopped(m, &list) : 0;

	for (size_t i = 0; i < n; i++)
		if (smfi_delrcpt(ctx, list[i]) != MI_SUCCESS)
			log_warning(m->qid, "milter: the MTA did not remove "
			    "recipient %s", list[i]);
}

/* The end of an inbound message: the verdict, then the forged
   Authentication-Results removed (last first, so that the numbers of the
   others hold, and before ours is added under the same name), the
   quarantine, our fields. */
static sfsistat
glue_eom_inbound(SMFICTX *ctx, struct conn *c)
{
	struct msg	*m = &c->msg;
	struct verdict	 v;
	sfsistat	 r;

	inbound_eom(m, &v);
	if (v.act != VERDICT_CONTINUE)
		return glue_verdict(ctx, c, &v, "end");
	for (size_t i = m->nar_del; i > 0; i--)
		if (smfi_chgheader(ctx, (char *)"Authentication-Results",
		    (int)m->ar_del[i - 1], NULL) != MI_SUCCESS)
			log_warning(m->qid, "milter: the MTA did not remove "
			    "a forged Authentication-Results field");
	if (m->quarantine[0] != '\0' &&
	    smfi_quarantine(ctx, m->quarantine) != MI_SUCCESS)
		log_warning(m->qid, "milter: the MTA did not quarantine the "
		    "message");
	glue_del_stopped(ctx, m);
	r = glue_add_edits(ctx, m, c->lead_space);
	msg_reset(m);
	return r;
}

static sfsistat
glue_eom(SMFICTX *ctx)
{
	struct conn	*c = glue_conn(ctx);
	struct msg	*m;
	struct verdict	 v;
	char		 from[ADDR_BUFSZ + 8];
	sfsistat	 r;

	if (c == NULL || !c->msg.active)
		return SMFIS_CONTINUE;
	m = &c->msg;
	glue_qid(ctx, c);
	if (glue_held(ctx, c, &r))
		return r;
	if (m->in != NULL)
		return glue_eom_inbound(ctx, c);
	msg_eom(m, &v);
	if (v.act != VERDICT_CONTINUE)
		return glue_verdict(ctx, c, &v, "end");
	r = glue_add_edits(ctx, m, c->lead_space);
	snprintf(from, sizeof(from), "%s", m->from.n > 0 ? m->from.addr[0] :
	    "");
	log_info(m->qid, "milter: client=%s from=<%s> size=%lld rcpts=%zu "
	    "dkim=%s%s%s action=%s", c->client, from, m->size, m->nrcpt,
	    m->signed_by[0] != '\0' ? "\"" : "",
	    m->signed_by[0] != '\0' ? m->signed_by : "none",
	    m->signed_by[0] != '\0' ? "\"" : "",
	    r == SMFIS_CONTINUE ? "accept" : "tempfail");
	msg_reset(m);
	return r;
}

static sfsistat
glue_abort(SMFICTX *ctx)
{
	struct conn *c = glue_conn(ctx);

	if (c != NULL)
		msg_reset(&c->msg);
	return SMFIS_CONTINUE;
}

static sfsistat
glue_close(SMFICTX *ctx)
{
	struct conn *c = glue_conn(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	smfi_setpriv(ctx, NULL);
	msg_reset(&c->msg);
	gen_release(&c->g);
	free(c);
	return SMFIS_CONTINUE;
}

/* Set TCP_NODELAY on fd if it is a listening TCP socket. */
static void
glue_nodelay_fd(int fd)
{
	int		v = 0, one = 1;
	socklen_t	len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 ||
	    v == 0)
		return;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0 ||
	    v != IPPROTO_TCP)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_warning(NULL, "milter: cannot set TCP_NODELAY: %m");
}

/*
 * libmilter writes each modification and then its answer in packets of
 * their own. On TCP, Nagle's algorithm holds the answer back until the
 * MTA has ACKed the modification, and the MTA, which reads on and sends
 * nothing yet, delays that ACK (about 40 ms on Linux): every signed
 * message would wait that long. libmilter neither sets TCP_NODELAY nor
 * hands out its listening socket, so set it on every TCP listening socket
 * the process has right after smfi_opensocket() (there is no other); on
 * Linux an accepted connection inherits it from its listener. The open
 * descriptors are those of /proc/self/fd (without /proc, every number up
 * to the limit is tried).
 */
static void
glue_nodelay(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*e;
	long		 maxfd;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			int fd = atoi(e->d_name);

			if (e->d_name[0] != '.' && fd != dirfd(d))
				glue_nodelay_fd(fd);
		}
		closedir(d);
		return;
	}
	maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	for (int fd = 0; fd < (int)maxfd; fd++)
		glue_nodelay_fd(fd);
}

static const char *glue_socket;

int
glue_listen(const char *socket, const struct privs *pv)
{
	struct smfiDesc desc = {
		.xxfi_name = (char *)"sesgate-milter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS |
		    SMFIF_QUARANTINE | SMFIF_DELRCPT,
		.xxfi_connect = glue_connect,
		.xxfi_helo = glue_helo,
		.xxfi_envfrom = glue_envfrom,
		.xxfi_envrcpt = glue_envrcpt,
		.xxfi_header = glue_header,
		.xxfi_eoh = glue_eoh,
		.xxfi_body = glue_body,
		.xxfi_eom = glue_eom,
		.xxfi_abort = glue_abort,
		.xxfi_close = glue_close,
		.xxfi_negotiate = glue_negotiate,
	};
	char err[512];

	if (smfi_register(desc) != MI_SUCCESS) {
		log_err(NULL, "milter: libmilter refused to register");
		return EX_SOFTWARE;
	}
	/* A header field arrives in one packet: take up to 1 MB (Postfix's
	   header_size_limit is 100 KB by default; libmilter's own limit,
	   64 KB, would drop the connection on a long header). */
	(void)smfi_setmaxdatasize(1024 * 1024 - 1);
	glue_local_socket = strncmp(socket, "unix:", 5) == 0 ||
	    strncmp(socket, "local:", 6) == 0 || socket[0] == '/';
	if (smfi_setconn((char *)socket) != MI_SUCCESS) {
		log_err(NULL, "milter: bad socket %s", socket);
		return EX_CONFIG;
	}
	/* true: remove a unix socket left by an earlier run. */
	if (smfi_opensocket(true) != MI_SUCCESS) {
		log_err(NULL, "milter: cannot listen on %s", socket);
		return EX_UNAVAILABLE;
	}
	if (!glue_local_socket)
		glue_nodelay();
	if (glue_local_socket && privs_socket(pv, strchr(socket, '/'), 0660,
	    err, sizeof(err)) < 0) {
		log_err(NULL, "milter: %s", err);
		return EX_UNAVAILABLE;
	}
	if (privs_drop(pv, err, sizeof(err)) < 0) {
		log_err(NULL, "milter: %s", err);
		return EX_OSERR;
	}
	glue_socket = socket;
	return EX_OK;
}

int
glue_serve(void)
{
	sdnotify_ready("serving");
	log_info(NULL, "milter: listening on %s", glue_socket);
	return smfi_main() == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
