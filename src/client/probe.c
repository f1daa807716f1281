/* Blocking STUN Binding client over UDP, TCP and TLS. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "turnpike/cause.h"
#include "turnpike/framing.h"
#include "turnpike/integrity.h"
#include "turnpike/netio.h"
#include "turnpike/probe.h"
#include "turnpike/random.h"
#include "turnpike/stun_build.h"
#include "turnpike/tlsclient.h"

/* Room for the largest framed STUN message: 20 + 65532, rounded up. */
#define PROBE_RBUF (STUN_HEADER_LEN + 65536)
/* RFC 8489 §6.2.1: after the last transmission wait Rm times the RTO. */
#define PROBE_RM 16

struct probe {
	struct probe_config cfg;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	size_t rlen;
	uint8_t rbuf[PROBE_RBUF];
};

static const char *const probe_transport_names[] = {
    [PROBE_UDP] = "udp",
    [PROBE_TCP] = "tcp",
    [PROBE_TLS] = "tls",
};

void
probe_config_defaults(struct probe_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->transport = PROBE_UDP;
	cfg->timeout_ms = 5000;
	cfg->rto_ms = 500;
	cfg->max_sends = 7;
}

const char *
probe_transport_name(enum probe_transport t)
{
	if ((size_t)t >= sizeof(probe_transport_names) / sizeof(probe_transport_names[0]))
		return "unknown";
	return probe_transport_names[t];
}

int
probe_transport_parse(const char *s, enum probe_transport *out)
{
	size_t i;

	for (i = 0; i < sizeof(probe_transport_names) / sizeof(probe_transport_names[0]); i++) {
		if (strcmp(s, probe_transport_names[i]) == 0) {
			*out = (enum probe_transport)i;
			return 0;
		}
	}
	return -1;
}

struct probe *
probe_create(const struct probe_config *cfg, char **cause)
{
	struct probe *p;

	if (cfg->timeout_ms == 0 || cfg->max_sends == 0 || cfg->rto_ms == 0) {
		cause_fail(cause, "timeout, RTO and transmission count must be positive");
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		cause_fail(cause, "out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	p->fd = -1;
	if (cfg->transport == PROBE_TLS &&
	    (p->ctx = tlsclient_ctx_create(&cfg->tls, cause)) == NULL) {
		probe_free(p);
		return NULL;
	}
	return p;
}

void
probe_reset(struct probe *p)
{
	tlsclient_close(p->ssl);
	p->ssl = NULL;
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	p->rlen = 0;
}

void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	probe_reset(p);
	SSL_CTX_free(p->ctx);
	free(p);
}

/* Checks a decoded answer to our transaction: class, method, attributes. */
static int
probe_check_msg(const struct stun_msg *m, bool require_fingerprint, struct probe_result *res,
    char **cause)
{
	const struct stun_attr *a;
	const uint8_t *reason;
	size_t rlen;
	int code;

	if (m->fingerprint >= 0 && !integrity_fingerprint_ok(m))
		return cause_fail(cause, "response FINGERPRINT does not match");
	if (m->method != STUN_BINDING)
		return cause_fail(cause, "response is a %s, not Binding",
		    stun_method_name(m->method));
	if (m->cls == STUN_ERROR) {
		a = stun_find(m, STUN_ATTR_ERROR_CODE);
		if (a == NULL || stun_get_error(m, a, &code, &reason, &rlen) == -1)
			return cause_fail(cause, "error response without a valid ERROR-CODE");
		return cause_fail(cause, "error response %d %.*s", code, (int)rlen,
		    (const char *)reason);
	}
	if (m->cls != STUN_SUCCESS)
		return cause_fail(cause, "answer is not a success response (class %u)", m->cls);
	if (m->nunknown > 0)
		return cause_fail(cause, "response has unknown required attribute 0x%04x",
		    m->unknown[0]);
	if (require_fingerprint && m->fingerprint < 0)
		return cause_fail(cause, "response has no FINGERPRINT");
	if ((a = stun_find(m, STUN_ATTR_XOR_MAPPED_ADDRESS)) == NULL)
		return cause_fail(cause, "response has no XOR-MAPPED-ADDRESS");
	if (stun_get_xor_addr(m, a, &res->mapped) == -1)
		return cause_fail(cause, "response has a malformed XOR-MAPPED-ADDRESS");
	res->fingerprint = m->fingerprint >= 0;
	return 0;
}

int
probe_check_response(const uint8_t tid[STUN_TID_LEN], const uint8_t *p, size_t len,
    bool require_fingerprint, struct probe_result *res, char **cause)
{
	struct stun_msg m;
	const char *errstr;
	bool ours;

	ours = len >= STUN_HEADER_LEN && memcmp(p + 8, tid, STUN_TID_LEN) == 0;
	if (stun_decode(&m, p, len, &errstr) != 0) {
		if (!ours)
			return PROBE_CHECK_OTHER;
		cause_fail(cause, "malformed response: %s", errstr);
		return PROBE_CHECK_BAD;
	}
	if (!ours)
		return PROBE_CHECK_OTHER;
	if (m.len != len) {
		cause_fail(cause, "%zu bytes after the response", len - m.len);
		return PROBE_CHECK_BAD;
	}
	if (probe_check_msg(&m, require_fingerprint, res, cause) == -1)
		return PROBE_CHECK_BAD;
	return PROBE_CHECK_OK;
}

static int
probe_build_request(const struct probe *p, const uint8_t *tid, uint8_t *out, size_t cap,
    size_t *len, char **cause)
{
	struct stun_build b;

	if (stun_build_init(&b, out, cap, STUN_BINDING, STUN_REQUEST, tid) == -1 ||
	    (p->cfg.fingerprint && stun_build_fingerprint(&b) == -1) ||
	    stun_build_finish(&b, len) == -1)
		return cause_fail(cause, "cannot build the Binding request");
	return 0;
}

static void
probe_local_addr(const struct probe *p, struct probe_result *res)
{
	socklen_t sl = sizeof(res->local);

	if (getsockname(p->fd, (struct sockaddr *)&res->local, &sl) == -1)
		memset(&res->local, 0, sizeof(res->local));
}

/* Handles one datagram: 1 when it was our valid answer, 0 to keep waiting, -1 error. */
static int
probe_udp_recv(struct probe *p, const uint8_t *tid, struct probe_result *res, char **cause)
{
	ssize_t n;
	int rc;

	n = recv(p->fd, p->rbuf, sizeof(p->rbuf), 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == -1 && errno == ECONNREFUSED)
		return cause_fail(cause, "nothing listens there (ICMP port unreachable)");
	if (n == -1)
		return cause_fail(cause, "recv: %s", strerror(errno));
	rc = probe_check_response(tid, p->rbuf, (size_t)n, p->cfg.require_fingerprint, res, cause);
	if (rc == PROBE_CHECK_BAD)
		return -1;
	return rc == PROBE_CHECK_OK;
}

/* RFC 8489 §6.2.1: RTO doubles per retransmission, Rc sends, then Rm * RTO. */
static int
probe_udp_binding(struct probe *p, const uint8_t *req, size_t reqlen, const uint8_t *tid,
    struct probe_result *res, char **cause)
{
	uint64_t start = netio_now_ms(), now, next = start, end, until;
	uint64_t rto = p->cfg.rto_ms;
	int rc;

	end = start + p->cfg.timeout_ms;
	for (;;) {
		now = netio_now_ms();
		if (res->sends < p->cfg.max_sends && now >= next) {
			if (send(p->fd, req, reqlen, 0) == -1 && errno != EAGAIN)
				return cause_fail(cause, "send: %s", strerror(errno));
			if (++res->sends == p->cfg.max_sends &&
			    now + PROBE_RM * (uint64_t)p->cfg.rto_ms < end)
				end = now + PROBE_RM * (uint64_t)p->cfg.rto_ms;
			next = now + rto;
			rto *= 2;
		}
		if (now >= end)
			return cause_fail(cause, "no answer after %u transmissions in %llu ms",
			    res->sends, (unsigned long long)(now - start));
		until = res->sends < p->cfg.max_sends && next < end ? next : end;
		if ((rc = netio_wait(p->fd, POLLIN, until)) == -1)
			return cause_fail(cause, "poll: %s", strerror(errno));
		if (rc == 0)
			continue;
		if ((rc = probe_udp_recv(p, tid, res, cause)) != 0)
			break;
	}
	if (rc == 1)
		res->rtt_ms = netio_now_ms() - start;
	return rc == 1 ? 0 : -1;
}

static int
probe_stream_open(struct probe *p, uint64_t deadline, char **cause)
{
	if ((p->fd = netio_connect((struct sockaddr *)&p->cfg.server, SOCK_STREAM, deadline,
		 cause)) == -1)
		return -1;
	if (p->cfg.transport == PROBE_TLS &&
	    (p->ssl = tlsclient_connect(p->ctx, p->fd, &p->cfg.tls, deadline, cause)) == NULL)
		return -1;
	return 0;
}

static int
probe_stream_write(struct probe *p, const uint8_t *buf, size_t len, uint64_t deadline, char **cause)
{
	if (p->ssl == NULL)
		return netio_send_all(p->fd, buf, len, deadline, cause);
	return tlsclient_write(p->ssl, p->fd, buf, len, deadline, cause);
}

/* Appends what the server sends to rbuf: >0 bytes read, -1 on EOF, error or deadline. */
static int
probe_stream_read(struct probe *p, uint64_t deadline, char **cause)
{
	size_t room = sizeof(p->rbuf) - p->rlen;
	int n;

	if (p->ssl != NULL)
		n = tlsclient_read(p->ssl, p->fd, p->rbuf + p->rlen, room, deadline, cause);
	else
		n = netio_recv(p->fd, p->rbuf + p->rlen, room, deadline, cause);
	if (n == 0)
		return cause_fail(cause, "%s: timed out",
		    p->ssl != NULL ? "TLS read" : "no answer");
	return n;
}

/* Reads frames until our answer: 0 with res filled, -1 otherwise. */
static int
probe_stream_answer(struct probe *p, const uint8_t *tid, uint64_t deadline,
    struct probe_result *res, char **cause)
{
	const char *errstr;
	size_t need;
	int kind, rc, n;

	for (;;) {
		if (framing_next(p->rbuf, p->rlen, &need, &kind, &errstr) == -1)
			return cause_fail(cause, "server sent a bad frame: %s", errstr);
		if (need > sizeof(p->rbuf))
			return cause_fail(cause, "server frame of %zu bytes is too large", need);
		if (need == 0 || p->rlen < need) {
			if ((n = probe_stream_read(p, deadline, cause)) == -1)
				return -1;
			p->rlen += (size_t)n;
			continue;
		}
		if (kind != FRAMING_STUN)
			return cause_fail(cause, "server sent ChannelData");
		rc = probe_check_response(tid, p->rbuf, need, p->cfg.require_fingerprint, res,
		    cause);
		p->rlen -= need;
		memmove(p->rbuf, p->rbuf + need, p->rlen);
		if (rc != PROBE_CHECK_OTHER)
			return rc == PROBE_CHECK_OK ? 0 : -1;
	}
}

static int
probe_stream_binding(struct probe *p, const uint8_t *req, size_t reqlen, const uint8_t *tid,
    struct probe_result *res, char **cause)
{
	uint64_t start = netio_now_ms(), deadline = start + p->cfg.timeout_ms;

	if (p->fd == -1 && probe_stream_open(p, deadline, cause) == -1)
		return -1;
	start = netio_now_ms();
	if (probe_stream_write(p, req, reqlen, deadline, cause) == -1)
		return -1;
	res->sends = 1;
	if (probe_stream_answer(p, tid, deadline, res, cause) == -1)
		return -1;
	res->rtt_ms = netio_now_ms() - start;
	return 0;
}

int
probe_binding(struct probe *p, struct probe_result *res, char **cause)
{
	uint8_t tid[STUN_TID_LEN], req[128];
	size_t reqlen;
	int rc;

	memset(res, 0, sizeof(*res));
	if (random_bytes(tid, sizeof(tid)) == -1)
		return cause_fail(cause, "no randomness for a transaction ID");
	if (probe_build_request(p, tid, req, sizeof(req), &reqlen, cause) == -1)
		return -1;
	if (p->cfg.transport == PROBE_UDP) {
		if (p->fd == -1 &&
		    (p->fd = netio_connect((struct sockaddr *)&p->cfg.server, SOCK_DGRAM,
			 netio_now_ms() + p->cfg.timeout_ms, cause)) == -1)
			return -1;
		rc = probe_udp_binding(p, req, reqlen, tid, res, cause);
	} else
		rc = probe_stream_binding(p, req, reqlen, tid, res, cause);
	if (rc == -1) {
		probe_reset(p);
		return -1;
	}
	probe_local_addr(p, res);
	return 0;
}
