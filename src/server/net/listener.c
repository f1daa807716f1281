/* TCP and TLS listening sockets; accepted connections go to a callback. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "turnpike/addr.h"
#include "turnpike/listener.h"
#include "turnpike/log.h"
#include "turnpike/portowner.h"

#define LISTENER_BACKLOG 511

/* After accept() fails (out of descriptors), pause this long instead of spinning. */
#define LISTENER_PAUSE_MS 1000
/* Receive and send buffer of each UDP listening socket (bytes; the kernel doubles it). */
#define LISTENER_UDP_BUFFER (4 * 1024 * 1024)

struct listener {
	struct evconnlistener *evl;
	struct event *pause;
	unsigned flags;
	void (*fn)(int, const struct sockaddr *, unsigned, void *);
	void *arg;
	char name[ADDR_STRLEN + 8];
};

/* The option that sets a listener's port, by the name its messages use. */
static const struct {
	const char *proto;
	const char *option;
} listener_port_options[] = {
    {"UDP", "listening-port"},
    {"TCP", "listening-port"},
    {"TLS", "tls-listening-port"},
    {"metrics HTTP", "prometheus-port"},
};

/*
 * EADDRINUSE: who holds the port, when it can be seen, and how to choose
 * another one. "" for other errors.
 */
static char *
listener_in_use(const char *proto, const struct sockaddr *sa)
{
	const char *option = "listening-port";
	uint16_t port = addr_port(sa);
	char comm[64], *s;
	size_t i;
	pid_t pid;
	int rc;

	for (i = 0; i < sizeof listener_port_options / sizeof listener_port_options[0]; i++)
		if (strcmp(proto, listener_port_options[i].proto) == 0)
			option = listener_port_options[i].option;
	if (portowner_find(strcmp(proto, "UDP") != 0, port, &pid, comm, sizeof comm) == 0)
		rc = asprintf(&s,
		    " (process %ld, %s, holds port %u: stop it, or choose a free port with %s=PORT "
		    "in the configuration or --%s PORT)",
		    (long)pid, comm[0] != '\0' ? comm : "name unknown", port, option, option);
	else
		rc = asprintf(&s,
		    " (another process holds port %u; `ss -lnptu 'sport = :%u'` as root shows "
		    "which: "
		    "stop it, or choose a free port with %s=PORT in the configuration or --%s "
		    "PORT)",
		    port, port, option, option);
	return rc == -1 ? NULL : s;
}

static int
listener_fail(char **cause, const char *what, const char *proto, const struct sockaddr *sa)
{
	char buf[ADDR_STRLEN], *extra = NULL;
	int saved = errno;

	if (saved == EADDRINUSE)
		extra = listener_in_use(proto, sa);
	if (asprintf(cause, "cannot %s %s %s: %s%s", what, proto,
		addr_fmt(sa, true, buf, sizeof buf), strerror(saved),
		extra != NULL ? extra : "") == -1)
		*cause = NULL;
	free(extra);
	return -1;
}

static int
listener_setopt(int fd, int level, int name)
{
	int one = 1;

	return setsockopt(fd, level, name, &one, sizeof one);
}

/*
 * UDP listeners take every client's datagrams: 4 MiB buffers (as coturn's) ride
 * out bursts that the default 208 KiB would drop. Past net.core.rmem_max only
 * with CAP_NET_ADMIN (the FORCE options); otherwise what the limit allows.
 */
static void
listener_udp_buffers(int fd)
{
	int size = LISTENER_UDP_BUFFER;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

int
listener_socket(const struct sockaddr *sa, int type, bool reuseport, const char *proto,
    char **cause)
{
	int fd, saved;

	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return listener_fail(cause, "open", proto, sa);
	/* Not on UDP: there it would let another process share the port. */
	if ((type == SOCK_STREAM && listener_setopt(fd, SOL_SOCKET, SO_REUSEADDR) != 0) ||
	    (reuseport && listener_setopt(fd, SOL_SOCKET, SO_REUSEPORT) != 0) ||
	    (sa->sa_family == AF_INET6 && listener_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY) != 0)) {
		saved = errno;
		close(fd);
		errno = saved;
		return listener_fail(cause, "set options on", proto, sa);
	}
	if (type == SOCK_DGRAM)
		listener_udp_buffers(fd);
	if (bind(fd, sa, addr_len(sa)) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return listener_fail(cause, "bind", proto, sa);
	}
	return fd;
}

static void
listener_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *peer, int len,
    void *arg)
{
	struct listener *l = arg;

	l->fn(fd, peer, l->flags, l->arg);
}

static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	evconnlistener_enable(l->evl);
}

/* accept() failed: EMFILE and friends would fire again at once, so pause. */
static void
listener_error(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = {LISTENER_PAUSE_MS / 1000, 0};

	log_warn("accept on %s", l->name);
	evconnlistener_disable(l->evl);
	event_add(l->pause, &tv);
}

int
listener_create(struct event_base *base, const struct sockaddr *sa, unsigned flags,
    void (*fn)(int, const struct sockaddr *, unsigned, void *), void *arg, struct listener **lp,
    char **cause)
{
	struct listener *l;
	const char *proto = (flags & LISTENER_PROXY) ? "PROXY"
	    : (flags & LISTENER_TLS)                 ? "TLS"
						     : "TCP";
	char buf[ADDR_STRLEN];
	int fd;

	*lp = NULL;
	if ((fd = listener_socket(sa, SOCK_STREAM, false, proto, cause)) == -1)
		return -1;
	if (listen(fd, LISTENER_BACKLOG) != 0) {
		listener_fail(cause, "listen on", proto, sa);
		close(fd);
		return -1;
	}
	if ((l = calloc(1, sizeof *l)) == NULL) {
		close(fd);
		return listener_fail(cause, "allocate listener for", proto, sa);
	}
	l->flags = flags;
	l->fn = fn;
	l->arg = arg;
	snprintf(l->name, sizeof l->name, "%s %s", proto, addr_fmt(sa, true, buf, sizeof buf));
	l->pause = evtimer_new(base, listener_resume, l);
	l->evl = evconnlistener_new(base, listener_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd); /* listening */
	if (l->pause == NULL || l->evl == NULL) {
		if (l->evl == NULL)
			close(fd);
		listener_free(l);
		errno = ENOMEM;
		return listener_fail(cause, "listen on", proto, sa);
	}
	evconnlistener_set_error_cb(l->evl, listener_error);
	*lp = l;
	return 0;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	if (l->pause != NULL)
		event_free(l->pause);
	free(l);
}
