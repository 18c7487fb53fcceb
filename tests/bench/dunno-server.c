/*
 * dunno-server.c - the policy delegation protocol's ceiling: a server that
 * frames every request like a real one (attribute lines up to the empty
 * line) and answers "action=DUNNO" without looking at it. The bench runs
 * the same load against it and against sesgate-policyd, so the difference
 * is what deciding costs. One libevent loop, like sesgate-policyd; many
 * connections, many requests per connection, pipelining allowed.
 *
 *   dunno-server PORT      listen on 127.0.0.1:PORT until SIGTERM or SIGINT
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* Postfix's own limit on a policy request is far below this. */
#define DUNNO_MAX_REQUEST	(64 * 1024)

static const char dunno_reply[] = "action=DUNNO\n\n";

static unsigned long long dunno_requests;

/*
 * Length of the first complete request in data[0..len), up to and
 * including the empty line ("\n" or "\r\n") that ends it; 0 if it is not
 * complete yet.
 */
static size_t
dunno_frame(const unsigned char *data, size_t len)
{
	size_t line = 0;

	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i == line || (i == line + 1 && data[line] == '\r'))
			return i + 1;
		line = i + 1;
	}
	return 0;
}

/* Answer every complete request in the input; close a connection whose
   request grows past the limit. */
static void
dunno_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct evbuffer	*out = bufferevent_get_output(bev);
	size_t		 len, n;
	unsigned char	*data;

	(void)arg;
	for (;;) {
		len = evbuffer_get_length(in);
		if (len == 0)
			return;
		data = evbuffer_pullup(in, -1);
		n = dunno_frame(data, len);
		if (n == 0) {
			if (len > DUNNO_MAX_REQUEST)
				bufferevent_free(bev);
			return;
		}
		evbuffer_drain(in, n);
		evbuffer_add(out, dunno_reply, sizeof(dunno_reply) - 1);
		dunno_requests++;
	}
}

/* The peer closed, or the connection failed: forget it. */
static void
dunno_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

/* A new client: one bufferevent, no Nagle delay on replies. */
static void
dunno_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct event_base	*base = arg;
	struct bufferevent	*bev;
	int			 one = 1;

	(void)l;
	(void)sa;
	(void)salen;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, dunno_read, NULL, dunno_event, NULL);
	if (bufferevent_enable(bev, EV_READ | EV_WRITE) < 0)
		bufferevent_free(bev);
}

static void
dunno_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	/* EMFILE and friends: keep serving the connections we have. */
	fprintf(stderr, "dunno-server: accept: %s\n", strerror(errno));
}

/* SIGTERM, SIGINT: leave the loop. */
static void
dunno_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	struct event_base	*base;
	struct evconnlistener	*l;
	struct event		*ev_term, *ev_int;
	struct sockaddr_in	 sin;
	char			*end;
	long			 port;

	if (argc != 2) {
		fprintf(stderr, "usage: dunno-server port\n");
		return EX_USAGE;
	}
	port = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "dunno-server: bad port: %s\n", argv[1]);
		return EX_USAGE;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "dunno-server: event_base_new failed\n");
		return EX_OSERR;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = evconnlistener_new_bind(base, dunno_accept, base,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL) {
		fprintf(stderr, "dunno-server: 127.0.0.1:%ld: %s\n", port,
		    strerror(errno));
		return EX_UNAVAILABLE;
	}
	evconnlistener_set_error_cb(l, dunno_accept_error);
	ev_term = evsignal_new(base, SIGTERM, dunno_signal, base);
	ev_int = evsignal_new(base, SIGINT, dunno_signal, base);
	if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term,
	    NULL) < 0 || evsignal_add(ev_int, NULL) < 0) {
		fprintf(stderr, "dunno-server: cannot catch signals\n");
		return EX_OSERR;
	}
	(void)event_base_dispatch(base);
	fprintf(stderr, "dunno-server: %llu requests answered\n",
	    dunno_requests);
	/* Open connections die with the process. */
	event_free(ev_term);
	event_free(ev_int);
	evconnlistener_free(l);
	event_base_free(base);
	return EX_OK;
}
