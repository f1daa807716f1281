/* One client connection to a STUN/TURN server over UDP, TCP or TLS. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "turnpike/addr.h"
#include "turnpike/framing.h"
#include "turnpike/netio.h"
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

static const char *
turnconn_ssl_err(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		return fallback;
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static int
turnconn_tls_ctx(struct turnconn *c, const struct turnconn_config *cfg, char **cause)
{
	char ebuf[256];

	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return netio_fail(cause, "SSL_CTX_new: %s",
		    turnconn_ssl_err(ebuf, sizeof(ebuf), "failed"));
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(c->ctx, cfg->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (cfg->insecure)
		return 0;
	if (cfg->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(c->ctx, cfg->ca_file, NULL) != 1)
			return netio_fail(cause, "%s: %s", cfg->ca_file,
			    turnconn_ssl_err(ebuf, sizeof(ebuf), "cannot load CA file"));
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
		return netio_fail(cause, "cannot load the system CA store");
	return 0;
}

/* After an SSL call returned rc: waits for what it wants, or fails saying why. */
static int
turnconn_tls_wait(struct turnconn *c, int rc, uint64_t deadline, const char *what, char **cause)
{
	char ebuf[256];
	long vr;
	int err = SSL_get_error(c->ssl, rc), w;

	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		w = netio_wait(c->fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w == 1)
			return 0;
		return netio_fail(cause, "%s: %s", what, w == 0 ? "timed out" : strerror(errno));
	}
	if ((vr = SSL_get_verify_result(c->ssl)) != X509_V_OK)
		return netio_fail(cause, "%s: certificate verification failed: %s", what,
		    X509_verify_cert_error_string(vr));
	if (err == SSL_ERROR_ZERO_RETURN)
		return netio_fail(cause, "%s: server closed the connection", what);
	if (err == SSL_ERROR_SYSCALL && errno != 0)
		return netio_fail(cause, "%s: %s", what, strerror(errno));
	return netio_fail(cause, "%s: %s", what,
	    turnconn_ssl_err(ebuf, sizeof(ebuf), "connection closed"));
}

/* SNI for names (never IP literals, RFC 6066 §3) and the name or IP to check. */
static int
turnconn_tls_names(struct turnconn *c, const struct turnconn_config *cfg, char **cause)
{
	struct sockaddr_storage ss;
	const char *name = cfg->server_name != NULL ? cfg->server_name : cfg->host;
	const char *errstr;
	bool is_ip;

	if (name == NULL)
		return 0;
	is_ip = addr_parse_ip(name, &ss, &errstr) == 0;
	if (!is_ip &&
	    SSL_ctrl(c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
		(void *)(uintptr_t)name) != 1)
		return netio_fail(cause, "cannot set SNI %s", name);
	if (cfg->insecure)
		return 0;
	if (is_ip && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) != 1)
		return netio_fail(cause, "cannot check IP %s", name);
	if (!is_ip && SSL_set1_host(c->ssl, name) != 1)
		return netio_fail(cause, "cannot check name %s", name);
	return 0;
}

static int
turnconn_tls_handshake(struct turnconn *c, const struct turnconn_config *cfg, uint64_t deadline,
    char **cause)
{
	int rc;

	if (turnconn_tls_ctx(c, cfg, cause) == -1)
		return -1;
	ERR_clear_error();
	if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return netio_fail(cause, "cannot create a TLS session");
	if (turnconn_tls_names(c, cfg, cause) == -1)
		return -1;
	while ((rc = SSL_connect(c->ssl)) != 1) {
		if (turnconn_tls_wait(c, rc, deadline, "TLS handshake", cause) == -1)
			return -1;
	}
	return 0;
}

struct turnconn *
turnconn_open(const struct turnconn_config *cfg, uint64_t deadline, char **cause)
{
	struct turnconn *c;
	int type = cfg->transport == PROBE_UDP ? SOCK_DGRAM : SOCK_STREAM;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		netio_fail(cause, "out of memory");
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
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl); /* best effort close_notify; never waits */
		SSL_free(c->ssl);
	}
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
turnconn_local(const struct turnconn *c, struct sockaddr_storage *out)
{
	socklen_t sl = sizeof(*out);

	memset(out, 0, sizeof(*out));
	return getsockname(c->fd, (struct sockaddr *)out, &sl);
}

int
turnconn_send(struct turnconn *c, const void *p, size_t len, uint64_t deadline, char **cause)
{
	const uint8_t *q = p;
	size_t done = 0;
	int rc;

	if (c->transport == PROBE_UDP) {
		if (send(c->fd, p, len, 0) == -1 && errno != EAGAIN && errno != ENOBUFS)
			return netio_fail(cause, "send: %s", strerror(errno));
		return 0;
	}
	if (c->ssl == NULL)
		return netio_send_all(c->fd, p, len, deadline, cause);
	while (done < len) {
		ERR_clear_error();
		if ((rc = SSL_write(c->ssl, q + done, (int)(len - done))) > 0)
			done += (size_t)rc;
		else if (turnconn_tls_wait(c, rc, deadline, "TLS write", cause) == -1)
			return -1;
	}
	return 0;
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
			return netio_fail(cause, "nothing listens there (ICMP port unreachable)");
		if (errno != EAGAIN && errno != EINTR)
			return netio_fail(cause, "recv: %s", strerror(errno));
		if ((rc = netio_wait(c->fd, POLLIN, deadline)) <= 0)
			return rc == 0 ? 0 : netio_fail(cause, "poll: %s", strerror(errno));
	}
}

/* Stream: appends what arrives to rbuf; >0 bytes, 0 on deadline, -1 on EOF or error. */
static int
turnconn_fill(struct turnconn *c, uint64_t deadline, char **cause)
{
	size_t room = sizeof(c->rbuf) - c->rlen;
	ssize_t n;
	int rc;

	for (;;) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			if ((rc = SSL_read(c->ssl, c->rbuf + c->rlen, (int)room)) > 0)
				return rc;
			if (SSL_get_error(c->ssl, rc) != SSL_ERROR_WANT_READ) {
				if (turnconn_tls_wait(c, rc, deadline, "TLS read", cause) == -1)
					return -1;
				continue;
			}
			if ((rc = netio_wait(c->fd, POLLIN, deadline)) <= 0)
				return rc == 0 ? 0 : netio_fail(cause, "poll: %s", strerror(errno));
			continue;
		}
		if ((n = recv(c->fd, c->rbuf + c->rlen, room, 0)) > 0)
			return (int)n;
		if (n == 0)
			return netio_fail(cause, "server closed the connection");
		if (errno != EAGAIN && errno != EINTR)
			return netio_fail(cause, "recv: %s", strerror(errno));
		if ((rc = netio_wait(c->fd, POLLIN, deadline)) <= 0)
			return rc == 0 ? 0 : netio_fail(cause, "poll: %s", strerror(errno));
	}
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
			return netio_fail(cause, "server sent a bad frame: %s", errstr);
		if (need > sizeof(c->rbuf))
			return netio_fail(cause, "server frame of %zu bytes is too large", need);
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
