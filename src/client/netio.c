/* Deadline-bounded socket helpers for the probe and bench client. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/addr.h"
#include "turnpike/cause.h"
#include "turnpike/netio.h"

uint64_t
netio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
netio_parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Splits "name:port" / "[v6]:port" / "name" into host and port text. */
static int
netio_split(const char *text, char host[NETIO_HOSTLEN], const char **port)
{
	const char *colon, *close;
	size_t hlen;

	*port = NULL;
	if (text[0] == '[') {
		if ((close = strchr(text, ']')) == NULL)
			return -1;
		hlen = (size_t)(close - text - 1);
		text++;
		if (close[1] == ':')
			*port = close + 2;
		else if (close[1] != '\0')
			return -1;
	} else if ((colon = strchr(text, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - text);
		*port = colon + 1;
	} else
		hlen = strlen(text);
	if (hlen == 0 || hlen >= NETIO_HOSTLEN)
		return -1;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	return 0;
}

int
netio_resolve(const char *text, uint16_t defport, struct sockaddr_storage *out,
    char host[NETIO_HOSTLEN], char **cause)
{
	struct addrinfo hints, *res;
	const char *port, *errstr;
	char *end;
	long pv = defport;
	int rc;

	if (netio_split(text, host, &port) == -1)
		return cause_fail(cause, "%s: not a host or host:port", text);
	if (port != NULL) {
		errno = 0;
		pv = strtol(port, &end, 10);
		if (*port == '\0' || *end != '\0' || errno != 0 || pv < 1 || pv > 65535)
			return cause_fail(cause, "%s: bad port", text);
	}
	if (addr_parse_ip(host, out, &errstr) == 0) {
		addr_set_port((struct sockaddr *)out, (uint16_t)pv);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0)
		return cause_fail(cause, "%s: %s", host, gai_strerror(rc));
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	addr_set_port((struct sockaddr *)out, (uint16_t)pv);
	return 0;
}

int
netio_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	uint64_t now;
	int rc;

	for (;;) {
		now = netio_now_ms();
		if (now >= deadline)
			return 0;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc > 0)
			return 1;
		if (rc == -1 && errno != EINTR)
			return -1;
	}
}

/* Completes a non-blocking connect: 0 connected, -1 with errno set. */
static int
netio_finish_connect(int fd, uint64_t deadline)
{
	socklen_t len = sizeof(int);
	int err = 0, rc;

	if ((rc = netio_wait(fd, POLLOUT, deadline)) <= 0) {
		errno = rc == 0 ? ETIMEDOUT : errno;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

int
netio_connect(const struct sockaddr *sa, int type, uint64_t deadline, char **cause)
{
	char abuf[ADDR_STRLEN];
	int fd;

	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return cause_fail(cause, "socket: %s", strerror(errno));
	if (connect(fd, sa, addr_len(sa)) == 0 ||
	    (errno == EINPROGRESS && netio_finish_connect(fd, deadline) == 0))
		return fd;
	cause_fail(cause, "connect to %s: %s", addr_fmt(sa, true, abuf, sizeof(abuf)),
	    strerror(errno));
	close(fd);
	return -1;
}

int
netio_send_all(int fd, const void *p, size_t n, uint64_t deadline, char **cause)
{
	const uint8_t *q = p;
	ssize_t w;
	int rc;

	while (n > 0) {
		w = send(fd, q, n, MSG_NOSIGNAL);
		if (w > 0) {
			q += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return cause_fail(cause, "send: %s", strerror(errno));
		if ((rc = netio_wait(fd, POLLOUT, deadline)) <= 0)
			return cause_fail(cause, "send: %s",
			    rc == 0 ? "timed out" : strerror(errno));
	}
	return 0;
}

int
netio_recv(int fd, void *buf, size_t n, uint64_t deadline, char **cause)
{
	ssize_t r;
	int rc;

	for (;;) {
		if ((r = recv(fd, buf, n, 0)) > 0)
			return (int)r;
		if (r == 0)
			return cause_fail(cause, "server closed the connection");
		if (errno != EAGAIN && errno != EINTR)
			return cause_fail(cause, "recv: %s", strerror(errno));
		if ((rc = netio_wait(fd, POLLIN, deadline)) <= 0)
			return rc == 0 ? 0 : cause_fail(cause, "poll: %s", strerror(errno));
	}
}
