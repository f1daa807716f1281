/* One client connection to a STUN/TURN server over UDP, TCP or TLS. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "turnpike/cause.h"
#include "turnpike/framing.h"
#include "turnpike/netio.h"
#include "turnpike/tlsclient.h"
#include "turnpike/turnconn.h"

/* Room for the largest datagram or frame: 4 + 65535 rounded up, or 20 + 65532. */
#define TURNCONN_BUF (STUN_HEADER_LEN + 65536)

struct turnconn {
	enum probe_transport transport;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	size_t rlen;  /* bytes buffered in rbuf */
	size_t taken; /* bytes of the frame handed out by the last recv */
	uint8_t rbuf[TURNCONN_BUF];
};

static int
turnconn_tls_handshake(struct turnconn *c, const struct turnconn_config *cfg, uint64_t deadline,
    char **cause)
{
	if ((c->ctx = tlsclient_ctx_create(&cfg->tls, cause)) == NULL ||
	    (c->ssl = tlsclient_connect(c->ctx, c->fd, &cfg->tls, deadline, cause)) == NULL)
		return -1;
	return 0;
}

struct turnconn *
turnconn_open(const struct turnconn_config *cfg, uint64_t deadline, char **cause)
{
	struct turnconn *c;
	int type = cfg->transport == PROBE_UDP ? SOCK_DGRAM : SOCK_STREAM;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cause_fail(cause, "out of memory");
		return NULL;
	}
	c->transport = cfg->transport;
	if ((c->fd = netio_connect((const struct sockaddr *)&cfg->server, type, deadline, cause)) ==
		-1 ||
	    (cfg->transport == PROBE_TLS &&
		turnconn_tls_handshake(c, cfg, deadline, cause) == -1)) {
		turnconn_close(c);
		return NULL;
	}
	return c;
}

void
turnconn_close(struct turnconn *c)
{
	if (c == NULL)
		return;
	tlsclient_close(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

bool
turnconn_is_stream(const struct turnconn *c)
{
	return c->transport != PROBE_UDP;
}

int
turnconn_fd(const struct turnconn *c)
{
	return c->fd;
}

int
turnconn_local(const struct turnconn *c, struct sockaddr_storage *out)
{
	socklen_t sl = sizeof(*out);

	memset(out, 0, sizeof(*out));
	return getsockname(c->fd, (struct sockaddr *)out, &sl);
}

int
turnconn_send(struct turnconn *c, const void *p, size_t len, uint64_t deadline, char **cause)
{
	if (c->transport == PROBE_UDP) {
		if (send(c->fd, p, len, 0) == -1 && errno != EAGAIN && errno != ENOBUFS)
			return cause_fail(cause, "send: %s", strerror(errno));
		return 0;
	}
	if (c->ssl == NULL)
		return netio_send_all(c->fd, p, len, deadline, cause);
	return tlsclient_write(c->ssl, c->fd, p, len, deadline, cause);
}

/* UDP: one datagram, 1 / 0 on deadline / -1. */
static int
turnconn_recv_dgram(struct turnconn *c, uint64_t deadline, const uint8_t **p, size_t *len,
    char **cause)
{
	ssize_t n;
	int rc;

	for (;;) {
		n = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
		if (n >= 0) {
			*p = c->rbuf;
			*len = (size_t)n;
			return 1;
		}
		if (errno == ECONNREFUSED)
			return cause_fail(cause, "nothing listens there (ICMP port unreachable)");
		if (errno != EAGAIN && errno != EINTR)
			return cause_fail(cause, "recv: %s", strerror(errno));
		if ((rc = netio_wait(c->fd, POLLIN, deadline)) <= 0)
			return rc == 0 ? 0 : cause_fail(cause, "poll: %s", strerror(errno));
	}
}

/* Stream: appends what arrives to rbuf; >0 bytes, 0 on deadline, -1 on EOF or error. */
static int
turnconn_fill(struct turnconn *c, uint64_t deadline, char **cause)
{
	size_t room = sizeof(c->rbuf) - c->rlen;

	if (c->ssl != NULL)
		return tlsclient_read(c->ssl, c->fd, c->rbuf + c->rlen, room, deadline, cause);
	return netio_recv(c->fd, c->rbuf + c->rlen, room, deadline, cause);
}

static int
turnconn_recv_frame(struct turnconn *c, uint64_t deadline, const uint8_t **p, size_t *len,
    char **cause)
{
	const char *errstr;
	size_t need;
	int kind, n;

	/* Drop the frame handed out last time. */
	c->rlen -= c->taken;
	memmove(c->rbuf, c->rbuf + c->taken, c->rlen);
	c->taken = 0;
	for (;;) {
		if (framing_next(c->rbuf, c->rlen, &need, &kind, &errstr) == -1)
			return cause_fail(cause, "server sent a bad frame: %s", errstr);
		if (need > sizeof(c->rbuf))
			return cause_fail(cause, "server frame of %zu bytes is too large", need);
		if (need != 0 && c->rlen >= need)
			break;
		if ((n = turnconn_fill(c, deadline, cause)) <= 0)
			return n;
		c->rlen += (size_t)n;
	}
	*p = c->rbuf;
	*len = need;
	c->taken = need;
	return 1;
}

int
turnconn_recv(struct turnconn *c, uint64_t deadline, const uint8_t **p, size_t *len, char **cause)
{
	if (c->transport == PROBE_UDP)
		return turnconn_recv_dgram(c, deadline, p, len, cause);
	return turnconn_recv_frame(c, deadline, p, len, cause);
}
