/*
 * milter_echo.c - a small libmilter filter for testing milter protocol
 * clients: it reports what it was sent in an X-Echo header and answers
 * test addresses and headers in set ways, so a test can check every kind
 * of reply and modification a client must handle.
 *
 *   connect from tempfail-connect.example  tempfail
 *   MAIL FROM reject-sender@...            550 5.7.1 reply
 *   RCPT TO reject@...                     550 5.7.1 reply (that recipient)
 *   RCPT TO tempfail@...                   451 4.7.1 reply (that recipient)
 *   RCPT TO accept@..., discard@...        accept, discard the message
 *   header X-Tempfail: yes                 tempfail (at end of headers
 *                                          with -n: headers get no reply)
 *   header X-Echo-Do: word...              at end of message, per word:
 *	subject (prefix Subject with "[echo] "), delete (remove the first
 *	X-Echo-Delete), chgfrom, addrcpt, addrcpt_par, delrcpt (the first
 *	recipient), quarantine, replbody, reject (550 5.7.0 reply)
 *
 * At every end of message it inserts "X-Echo-First: yes" at index 0 and
 * adds "X-Echo: key=<value> ...": the connect, HELO and MAIL data, the
 * macros j, {daemon_name}, {client_addr}, {auth_authen} and i, and counts
 * of recipients, headers, body bytes and body chunks. Subject is echoed
 * with control characters written as \n, \r, \t.
 *
 *   milter_echo -p unix:/path|inet:port@127.0.0.1 [-n] [-l]
 *	-n  ask not to get HELO and to give no reply to headers
 *	-l  ask for header values with their leading space (HDR_LEADSPC)
 *
 * Runs until SIGTERM. State is per connection (smfi_setpriv); the options
 * are read before smfi_main() and never written after, so the callbacks
 * are safe in libmilter's threads.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "buf.h"
#include "log.h"
#include "mem.h"
#include "str.h"

/* What main() read from the command line; constant once smfi_main() runs. */
struct echo_opts {
	bool	skip_helo_nr_hdr;
	bool	leadspc;
};

static struct echo_opts echo_opts;

/* One SMTP connection; the message part is reset at MAIL, end of message
   and abort. */
struct echo {
	char		*host;
	char		 family;
	char		*client_addr;
	char		*daemon;
	char		*j;
	char		*helo;
	/* The message. */
	char		*from;
	int		 from_args;
	char		*auth;
	char		*first_rcpt;
	char		*subject;
	struct buf	 todo;
	unsigned	 rcpts;
	unsigned	 headers;
	unsigned	 chunks;
	size_t		 body_bytes;
	bool		 tempfail;
};

static void
echo_reset_msg(struct echo *e)
{
	free(e->from);
	free(e->auth);
	free(e->first_rcpt);
	free(e->subject);
	e->from = e->auth = e->first_rcpt = e->subject = NULL;
	e->from_args = 0;
	buf_free(&e->todo);
	e->rcpts = e->headers = e->chunks = 0;
	e->body_bytes = 0;
	e->tempfail = false;
}

static void
echo_free(struct echo **ep)
{
	struct echo *e = *ep;

	if (e == NULL)
		return;
	*ep = NULL;
	echo_reset_msg(e);
	free(e->host);
	free(e->client_addr);
	free(e->daemon);
	free(e->j);
	free(e->helo);
	free(e);
}

/* The connection's state, made on first use: connect may have been
   skipped. */
static struct echo *
echo_priv(SMFICTX *ctx)
{
	struct echo	*e = smfi_getpriv(ctx);

	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->family = 'U';
		smfi_setpriv(ctx, e);
	}
	return e;
}

/* A copy of macro `name`, or NULL when the MTA did not send it. */
static char *
echo_macro(SMFICTX *ctx, const char *name)
{
	char	macro[64];

	if (str_copy(macro, sizeof(macro), name) != 0)
		return NULL;
	return xstrdup(smfi_getsymval(ctx, macro));
}

/* True when the local part of `addr` (after an optional '<', up to '@') is
   `local`, case ignored: the test address checks. */
static bool
echo_local_is(const char *addr, const char *local)
{
	size_t	n = strlen(local);

	if (*addr == '<')
		addr++;
	return strncasecmp(addr, local, n) == 0 && addr[n] == '@';
}

/* Set a custom reply; literals go through copies because libmilter takes
   char *. */
static void
echo_setreply(SMFICTX *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	char	r[8], x[16], t[128];

	if (str_copy(r, sizeof(r), rcode) != 0 ||
	    str_copy(x, sizeof(x), xcode) != 0 ||
	    str_copy(t, sizeof(t), text) != 0)
		panic("milter_echo: reply text too long");
	if (smfi_setreply(ctx, r, x, t) != MI_SUCCESS)
		log_warning(NULL, "milter_echo: smfi_setreply failed");
}

static sfsistat
echo_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long	want = SMFIF_ADDHDRS | SMFIF_CHGHDRS |
			    SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR |
			    SMFIF_DELRCPT | SMFIF_CHGFROM | SMFIF_QUARANTINE |
			    SMFIF_SETSYMLIST;
	unsigned long	steps = 0;
	char		conn[] = "j {daemon_name} {client_addr}";
	char		mail[] = "i {auth_authen} {mail_addr}";
	char		eom[] = "i";

	(void)f2;
	(void)f3;
	if (echo_opts.skip_helo_nr_hdr)
		steps |= SMFIP_NOHELO | SMFIP_NR_HDR;
	if (echo_opts.leadspc)
		steps |= SMFIP_HDR_LEADSPC;
	*pf0 = want & f0;
	*pf1 = steps & f1;
	*pf2 = 0;
	*pf3 = 0;
	/* Only an MTA that offers SETSYMLIST can take the lists. */
	if (f0 & SMFIF_SETSYMLIST) {
		if (smfi_setsymlist(ctx, SMFIM_CONNECT, conn) != MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_ENVFROM, mail) != MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_EOM, eom) != MI_SUCCESS)
			return SMFIS_REJECT;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
echo_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct echo	*e = echo_priv(ctx);

	free(e->host);
	free(e->client_addr);
	free(e->daemon);
	free(e->j);
	e->host = xstrdup(host);
	if (sa == NULL)
		e->family = 'U';
	else if (sa->sa_family == AF_INET)
		e->family = '4';
	else if (sa->sa_family == AF_INET6)
		e->family = '6';
	else
		e->family = 'L';
	e->client_addr = echo_macro(ctx, "{client_addr}");
	e->daemon = echo_macro(ctx, "{daemon_name}");
	e->j = echo_macro(ctx, "j");
	if (strcasecmp(host, "tempfail-connect.example") == 0)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

static sfsistat
echo_helo(SMFICTX *ctx, char *name)
{
	struct echo	*e = echo_priv(ctx);

	free(e->helo);
	e->helo = xstrdup(name);
	return SMFIS_CONTINUE;
}

static sfsistat
echo_envfrom(SMFICTX *ctx, char **argv)
{
	struct echo	*e = echo_priv(ctx);

	echo_reset_msg(e);
	e->from = xstrdup(argv[0]);
	while (argv[1 + e->from_args] != NULL)
		e->from_args++;
	e->auth = echo_macro(ctx, "{auth_authen}");
	if (echo_local_is(argv[0], "reject-sender")) {
		echo_setreply(ctx, "550", "5.7.1",
		    "Sender refused by milter_echo");
		return SMFIS_REJECT;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
echo_envrcpt(SMFICTX *ctx, char **argv)
{
	struct echo	*e = echo_priv(ctx);

	if (echo_local_is(argv[0], "reject")) {
		echo_setreply(ctx, "550", "5.7.1",
		    "Recipient refused by milter_echo");
		return SMFIS_REJECT;
	}
	if (echo_local_is(argv[0], "tempfail")) {
		echo_setreply(ctx, "451", "4.7.1",
		    "Recipient deferred by milter_echo");
		return SMFIS_TEMPFAIL;
	}
	if (echo_local_is(argv[0], "accept"))
		return SMFIS_ACCEPT;
	if (echo_local_is(argv[0], "discard"))
		return SMFIS_DISCARD;
	if (e->first_rcpt == NULL)
		e->first_rcpt = xstrdup(argv[0]);
	e->rcpts++;
	return SMFIS_CONTINUE;
}

static sfsistat
echo_header(SMFICTX *ctx, char *name, char *value)
{
	struct echo	*e = echo_priv(ctx);
	const char	*v = value;

	e->headers++;
	/* Under HDR_LEADSPC the value keeps the space after the colon. */
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(name, "Subject") == 0 && e->subject == NULL)
		e->subject = xstrdup(value);
	else if (strcasecmp(name, "X-Echo-Do") == 0) {
		buf_puts(&e->todo, " ");
		buf_puts(&e->todo, v);
		buf_puts(&e->todo, " ");
	} else if (strcasecmp(name, "X-Tempfail") == 0 &&
	    strcasecmp(v, "yes") == 0)
		e->tempfail = true;
	if (echo_opts.skip_helo_nr_hdr)
		return SMFIS_NOREPLY;
	return e->tempfail ? SMFIS_TEMPFAIL : SMFIS_CONTINUE;
}

static sfsistat
echo_eoh(SMFICTX *ctx)
{
	struct echo	*e = echo_priv(ctx);

	return e->tempfail ? SMFIS_TEMPFAIL : SMFIS_CONTINUE;
}

static sfsistat
echo_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct echo	*e = echo_priv(ctx);

	(void)chunk;
	e->chunks++;
	e->body_bytes += len;
	return SMFIS_CONTINUE;
}

/* True when the X-Echo-Do headers hold `word`. */
static bool
echo_todo(const struct echo *e, const char *word)
{
	char	w[32];

	if (e->todo.data == NULL || str_fmt(w, sizeof(w), " %s ", word) != 0)
		return false;
	return strstr(e->todo.data, w) != NULL;
}

/* `s` with control characters written as \n, \r, \t or \xHH, so that a
   folded value fits on one header line. */
static void
echo_escape(struct buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char	ch = (unsigned char)*s;

		if (ch == '\n')
			buf_puts(b, "\\n");
		else if (ch == '\r')
			buf_puts(b, "\\r");
		else if (ch == '\t')
			buf_puts(b, "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			buf_printf(b, "\\x%02x", ch);
		else
			buf_append(b, s, 1);
	}
}

static void
echo_field(struct buf *b, const char *key, const char *value)
{
	buf_printf(b, " %s=<", key);
	echo_escape(b, value);
	buf_puts(b, ">");
}

/* Modifications asked for by X-Echo-Do; -1 when libmilter refused one. */
static int
echo_modify(SMFICTX *ctx, struct echo *e)
{
	char	subj[] = "Subject", del[] = "X-Echo-Delete";
	char	from[] = "<changed@echo.test>";
	char	rcpt[] = "<added@echo.test>", rcptpar[] = "<par@echo.test>";
	char	args[] = "NOTIFY=NEVER", why[] = "held by milter_echo";
	char	body[] = "replaced body\r\n";
	int	rc = MI_SUCCESS;

	if (echo_todo(e, "subject") && e->subject != NULL) {
		struct buf	v = BUF_INIT;

		buf_printf(&v, "%s[echo] %s", echo_opts.leadspc ? " " : "",
		    e->subject + strspn(e->subject, " \t"));
		rc |= smfi_chgheader(ctx, subj, 1, v.data);
		buf_free(&v);
	}
	if (echo_todo(e, "delete"))
		rc |= smfi_chgheader(ctx, del, 1, NULL);
	if (echo_todo(e, "chgfrom"))
		rc |= smfi_chgfrom(ctx, from, NULL);
	if (echo_todo(e, "addrcpt"))
		rc |= smfi_addrcpt(ctx, rcpt);
	if (echo_todo(e, "addrcpt_par"))
		rc |= smfi_addrcpt_par(ctx, rcptpar, args);
	if (echo_todo(e, "delrcpt") && e->first_rcpt != NULL)
		rc |= smfi_delrcpt(ctx, e->first_rcpt);
	if (echo_todo(e, "quarantine"))
		rc |= smfi_quarantine(ctx, why);
	if (echo_todo(e, "replbody"))
		rc |= smfi_replacebody(ctx, (unsigned char *)body,
		    (int)strlen(body));
	return rc == MI_SUCCESS ? 0 : -1;
}

static sfsistat
echo_eom(SMFICTX *ctx)
{
	struct echo	*e = echo_priv(ctx);
	struct buf	 v = BUF_INIT;
	char		 fam[2] = { e->family, '\0' };
	char		*qid = echo_macro(ctx, "i");
	char		 first[] = "X-Echo-First", echo[] = "X-Echo";
	char		 yes[] = "yes", sp_yes[] = " yes";
	sfsistat	 rv = SMFIS_CONTINUE;

	if (smfi_progress(ctx) != MI_SUCCESS)
		log_warning(NULL, "milter_echo: smfi_progress failed");
	if (echo_opts.leadspc)
		buf_puts(&v, " ");
	buf_printf(&v, "rcpts=%u headers=%u body=%zu chunks=%u args=%d",
	    e->rcpts, e->headers, e->body_bytes, e->chunks, e->from_args);
	echo_field(&v, "host", e->host);
	echo_field(&v, "family", fam);
	echo_field(&v, "client", e->client_addr);
	echo_field(&v, "daemon", e->daemon);
	echo_field(&v, "j", e->j);
	echo_field(&v, "helo", e->helo);
	echo_field(&v, "from", e->from);
	echo_field(&v, "auth", e->auth);
	echo_field(&v, "i", qid);
	echo_field(&v, "subject", e->subject);
	free(qid);
	if (echo_todo(e, "reject")) {
		echo_setreply(ctx, "550", "5.7.0",
		    "Message refused by milter_echo");
		rv = SMFIS_REJECT;
	} else if (smfi_insheader(ctx, 0, first,
	    echo_opts.leadspc ? sp_yes : yes) != MI_SUCCESS ||
	    smfi_addheader(ctx, echo, v.data) != MI_SUCCESS ||
	    echo_modify(ctx, e) != 0) {
		rv = SMFIS_TEMPFAIL;
	}
	buf_free(&v);
	echo_reset_msg(e);
	return rv;
}

static sfsistat
echo_abort(SMFICTX *ctx)
{
	struct echo	*e = smfi_getpriv(ctx);

	if (e != NULL)
		echo_reset_msg(e);
	return SMFIS_CONTINUE;
}

/* close may come without connect: the pointer is then NULL. */
static sfsistat
echo_close(SMFICTX *ctx)
{
	struct echo	*e = smfi_getpriv(ctx);

	echo_free(&e);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static void
echo_usage(void)
{
	fprintf(stderr, "usage: milter_echo -p unix:/path|inet:port@host "
	    "[-n] [-l]\n");
	exit(EX_USAGE);
}

int
main(int argc, char **argv)
{
	char		 name[] = "milter_echo";
	char		*spec = NULL;
	struct smfiDesc	 desc;
	int		 ch;

	while ((ch = getopt(argc, argv, "p:nl")) != -1) {
		switch (ch) {
		case 'p':
			spec = optarg;
			break;
		case 'n':
			echo_opts.skip_helo_nr_hdr = true;
			break;
		case 'l':
			echo_opts.leadspc = true;
			break;
		default:
			echo_usage();
		}
	}
	if (spec == NULL || optind != argc)
		echo_usage();
	log_open("milter_echo", LOG_MAIL, true, LOG_INFO);

	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = name;
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY |
	    SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT | SMFIF_CHGFROM |
	    SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
	desc.xxfi_connect = echo_connect;
	desc.xxfi_helo = echo_helo;
	desc.xxfi_envfrom = echo_envfrom;
	desc.xxfi_envrcpt = echo_envrcpt;
	desc.xxfi_header = echo_header;
	desc.xxfi_eoh = echo_eoh;
	desc.xxfi_body = echo_body;
	desc.xxfi_eom = echo_eom;
	desc.xxfi_abort = echo_abort;
	desc.xxfi_close = echo_close;
	desc.xxfi_negotiate = echo_negotiate;

	if (smfi_setconn(spec) != MI_SUCCESS)
		die(EX_USAGE, "milter_echo: bad socket %s", spec);
	if (smfi_register(desc) != MI_SUCCESS)
		die(EX_SOFTWARE, "milter_echo: smfi_register failed");
	/* true: remove a socket file left by an earlier run. */
	if (smfi_opensocket(true) != MI_SUCCESS)
		die(EX_UNAVAILABLE, "milter_echo: cannot listen on %s", spec);
	return smfi_main() == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
