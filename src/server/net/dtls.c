/*
 * DTLS sessions of one worker over its shared UDP sockets: the stateless
 * cookie exchange, the session table, the BIO that feeds one datagram in and
 * sends each record out, timeouts.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include "turnpike/addr.h"
#include "turnpike/dtls.h"
#include "turnpike/dtlsrec.h"
#include "turnpike/log.h"
#include "turnpike/random.h"
#include "turnpike/tls.h"
#include "turnpike/udpio.h"

#define DTLS_BUCKETS 4096           /* a power of two */
#define DTLS_MTU 1200               /* handshake fragments fit any path (RFC 8656 §3.7) */
#define DTLS_COOKIE_LEN 32          /* HMAC-SHA-256 */
#define DTLS_COOKIE_WINDOW_MS 30000 /* a cookie is good for one to two windows */
#define DTLS_PLAIN_MAX 16384        /* the largest DTLS record's plaintext */

/* The BIO's state: where records go, and the one datagram to read. */
struct dtls_io {
	struct dtls *d;
	int fd;
	bool wildcard; /* send from server, not the socket's own address */
	struct sockaddr_storage client;
	struct sockaddr_storage server;
	const uint8_t *in; /* consumed by one read */
	size_t inlen;
	bool send_failed;
};

struct dtls_session {
	struct dtls *d;
	struct dtls_io io;
	SSL *ssl;
	struct relay_conn rc;
	struct turn_5tuple tuple;
	uint64_t id;
	uint64_t created_ms;
	uint64_t last_ms; /* last datagram from the client */
	bool established;
	LIST_ENTRY(dtls_session) hash;
	TAILQ_ENTRY(dtls_session) order; /* in half_open or live, oldest first */
};

LIST_HEAD(dtls_bucket, dtls_session);
TAILQ_HEAD(dtls_list, dtls_session);

struct dtls {
	int worker_id;
	struct dtls_hooks hooks;
	SSL_CTX *ctx; /* the current setup's; sessions hold their own reference */
	bool verbose;
	BIO_METHOD *meth;
	SSL *listener; /* answers ClientHellos; becomes a session on a valid cookie */
	struct dtls_io lio;
	BIO_ADDR *client; /* DTLSv1_listen's out parameter, unused */
	uint8_t secret[32];
	uint32_t seed;
	struct dtls_bucket buckets[DTLS_BUCKETS];
	struct dtls_list half_open, live;
	size_t nhalf, nlive;
	uint64_t next_id;
	struct turn_now now;
	struct dtls_stats stats;
	uint8_t plain[DTLS_PLAIN_MAX];
};

static void __attribute__((format(printf, 2, 3)))
dtls_log(const struct dtls_session *s, const char *fmt, ...)
{
	char msg[256], addr[ADDR_STRLEN];
	va_list ap;

	if (!s->d->verbose && !log_level_enabled(LOG_LEVEL_DEBUG))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	addr_fmt((const struct sockaddr *)&s->tuple.client, true, addr, sizeof addr);
	if (s->d->verbose)
		log_info("w%d.d%llu DTLS %s: %s", s->d->worker_id, (unsigned long long)s->id, addr,
		    msg);
	else
		log_debug("w%d.d%llu DTLS %s: %s", s->d->worker_id, (unsigned long long)s->id, addr,
		    msg);
}

/* OpenSSL's first reason, and its error queue emptied for the next session. */
static const char *
dtls_ssl_reason(const char *fallback)
{
	unsigned long e = ERR_peek_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : fallback;
}

/* ---- the BIO: one datagram in, one datagram per write out ---- */

static int
dtls_bio_write(BIO *b, const char *data, int len)
{
	struct dtls_io *io = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (udpio_send(io->fd, io->wildcard ? (const struct sockaddr *)&io->server : NULL,
		(const struct sockaddr *)&io->client, data, (size_t)len) != 0) {
		/* Like a lost datagram: DTLS retransmits handshake flights itself. */
		io->d->stats.send_dropped++;
		io->send_failed = true;
	}
	return len;
}

static int
dtls_bio_read(BIO *b, char *out, int len)
{
	struct dtls_io *io = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (io->in == NULL) {
		BIO_set_retry_read(b);
		return -1;
	}
	n = io->inlen < (size_t)len ? io->inlen : (size_t)len;
	memcpy(out, io->in, n);
	io->in = NULL;
	return (int)n;
}

static long
dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct dtls_io *io = BIO_get_data(b);

	(void)num, (void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return DTLS_MTU;
	case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
		/* IP and UDP headers. */
		return io != NULL && io->client.ss_family == AF_INET6 ? 48 : 28;
	default:
		return 0;
	}
}

static int
dtls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO *
dtls_bio_new(struct dtls *d, struct dtls_io *io)
{
	BIO *b = BIO_new(d->meth);

	if (b != NULL)
		BIO_set_data(b, io);
	return b;
}

/* ---- cookies: HMAC(secret, window, client address and port, server port) ---- */

static void
dtls_cookie(const struct dtls *d, const struct dtls_io *io, uint64_t window,
    uint8_t out[DTLS_COOKIE_LEN])
{
	uint8_t in[8 + sizeof(struct sockaddr_storage) + 2];
	unsigned int outlen = DTLS_COOKIE_LEN;
	socklen_t alen = addr_len((const struct sockaddr *)&io->client);
	size_t i;
	uint16_t sport = addr_port((const struct sockaddr *)&io->server);

	for (i = 0; i < 8; i++)
		in[i] = (uint8_t)(window >> (56 - 8 * i));
	memset(in + 8, 0, sizeof in - 8);
	memcpy(in + 8, &io->client, alen);    /* family, port and address, zeroed padding */
	if (io->client.ss_family == AF_INET6) /* flow info and scope say nothing of the client */
		memset(&((struct sockaddr_in6 *)(void *)(in + 8))->sin6_flowinfo, 0, 4);
	in[8 + alen] = (uint8_t)(sport >> 8);
	in[9 + alen] = (uint8_t)sport;
	if (HMAC(EVP_sha256(), d->secret, sizeof d->secret, in, 10 + alen, out, &outlen) == NULL)
		memset(out, 0, DTLS_COOKIE_LEN); /* never matches: see dtls_cookie_verify */
}

static struct dtls_io *
dtls_ssl_io(SSL *ssl)
{
	return BIO_get_data(SSL_get_rbio(ssl));
}

static int
dtls_cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	struct dtls_io *io = dtls_ssl_io(ssl);

	dtls_cookie(io->d, io, io->d->now.mono_ms / DTLS_COOKIE_WINDOW_MS, cookie);
	*len = DTLS_COOKIE_LEN;
	return 1;
}

static int
dtls_cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
	static const uint8_t zero[DTLS_COOKIE_LEN];
	struct dtls_io *io = dtls_ssl_io(ssl);
	uint64_t window = io->d->now.mono_ms / DTLS_COOKIE_WINDOW_MS;
	uint8_t want[DTLS_COOKIE_LEN];
	int k;

	if (len != DTLS_COOKIE_LEN || CRYPTO_memcmp(cookie, zero, len) == 0)
		return 0;
	for (k = 0; k < 2 && window >= (uint64_t)k; k++) {
		dtls_cookie(io->d, io, window - (uint64_t)k, want);
		if (CRYPTO_memcmp(cookie, want, len) == 0)
			return 1;
	}
	return 0;
}

int
dtls_ctx_create(const char *cert, const char *pkey, const char *ciphers, SSL_CTX **ctxp,
    char **cause)
{
	SSL_CTX *ctx;

	*ctxp = NULL;
	if ((ctx = SSL_CTX_new(DTLS_server_method())) == NULL) {
		if (asprintf(cause, "cannot create DTLS context: %s",
			dtls_ssl_reason("out of memory")) == -1)
			*cause = NULL;
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
		SSL_OP_NO_QUERY_MTU | SSL_OP_COOKIE_EXCHANGE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_cookie_generate_cb(ctx, dtls_cookie_generate);
	SSL_CTX_set_cookie_verify_cb(ctx, dtls_cookie_verify);
	tls_ctx_set_alpn(ctx);
	if (tls_ctx_load_keys(ctx, cert, pkey, cause) != 0)
		goto fail;
	if (ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		if (asprintf(cause, "invalid cipher-list %s: %s", ciphers,
			dtls_ssl_reason("no cipher")) == -1)
			*cause = NULL;
		goto fail;
	}
	*ctxp = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -1;
}

/* ---- the session table ---- */

static struct dtls_bucket *
dtls_bucket(struct dtls *d, const struct turn_5tuple *t)
{
	uint32_t h = addr_hash((const struct sockaddr *)&t->client, d->seed);

	h ^= addr_hash((const struct sockaddr *)&t->server, d->seed ^ 0x9e3779b9u) * 31u;
	return &d->buckets[h & (DTLS_BUCKETS - 1)];
}

static struct dtls_session *
dtls_find(struct dtls *d, const struct turn_5tuple *t)
{
	struct dtls_session *s;

	LIST_FOREACH(s, dtls_bucket(d, t), hash)
	{
		if (addr_equal((const struct sockaddr *)&s->tuple.client,
			(const struct sockaddr *)&t->client) &&
		    addr_equal((const struct sockaddr *)&s->tuple.server,
			(const struct sockaddr *)&t->server))
			return s;
	}
	return NULL;
}

/* Ends a session; an established one's allocations end with it. */
static void
dtls_session_close(struct dtls_session *s, const char *reason, bool notify)
{
	struct dtls *d = s->d;

	if (s->established) {
		if (notify)
			(void)SSL_shutdown(s->ssl); /* close_notify, one datagram */
		d->hooks.gone(d->hooks.arg, s);
		TAILQ_REMOVE(&d->live, s, order);
		d->nlive--;
	} else {
		TAILQ_REMOVE(&d->half_open, s, order);
		d->nhalf--;
	}
	dtls_log(s, "closed: %s", reason);
	LIST_REMOVE(s, hash);
	SSL_free(s->ssl);
	ERR_clear_error();
	free(s);
}

/* A handshake ends: established, or failed (the session is freed: false). */
static bool
dtls_session_failed(struct dtls_session *s, int rc, const char *what)
{
	int err = SSL_get_error(s->ssl, rc);
	char reason[160];

	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return true;
	if (!s->established)
		s->d->stats.handshake_failures++;
	if (err == SSL_ERROR_ZERO_RETURN) {
		dtls_session_close(s, "closed by the client (close_notify)", false);
		return false;
	}
	snprintf(reason, sizeof reason, "%s: %s", what, dtls_ssl_reason("error"));
	dtls_session_close(s, reason, false);
	return false;
}

/* Decrypted records to the worker until the datagram is used up; false when s is gone. */
static bool
dtls_session_read(struct dtls_session *s)
{
	struct dtls *d = s->d;
	int n;

	for (;;) {
		n = SSL_read(s->ssl, d->plain, sizeof d->plain);
		if (n <= 0)
			return dtls_session_failed(s, n, "DTLS");
		d->hooks.deliver(d->hooks.arg, s, d->plain, (size_t)n, &d->now);
	}
}

static bool
dtls_session_handshake(struct dtls_session *s)
{
	struct dtls *d = s->d;
	const unsigned char *alpn;
	unsigned int alpnlen;
	int rc;

	if ((rc = SSL_do_handshake(s->ssl)) != 1)
		return dtls_session_failed(s, rc, "DTLS handshake");
	s->established = true;
	TAILQ_REMOVE(&d->half_open, s, order);
	d->nhalf--;
	TAILQ_INSERT_TAIL(&d->live, s, order);
	d->nlive++;
	d->stats.handshakes++;
	SSL_get0_alpn_selected(s->ssl, &alpn, &alpnlen);
	dtls_log(s, "DTLS handshake done (%s, %s, ALPN %.*s)", SSL_get_version(s->ssl),
	    SSL_get_cipher_name(s->ssl), alpnlen > 0 ? (int)alpnlen : 4,
	    alpnlen > 0 ? (const char *)alpn : "none");
	return dtls_session_read(s); /* application data may share the datagram */
}

static int
dtls_rc_send(struct relay_conn *rc, const void *data, size_t len)
{
	struct dtls_session *s =
	    (struct dtls_session *)(void *)((char *)rc - offsetof(struct dtls_session, rc));

	return dtls_send(s, data, len);
}

int
dtls_send(struct dtls_session *s, const void *data, size_t len)
{
	int n;

	if (!s->established || len == 0 || len > DTLS_PLAIN_MAX)
		return -1;
	s->io.send_failed = false;
	if ((n = SSL_write(s->ssl, data, (int)len)) <= 0) {
		ERR_clear_error();
		return -1;
	}
	return s->io.send_failed ? -1 : 0;
}

const struct turn_5tuple *
dtls_session_tuple(const struct dtls_session *s)
{
	return &s->tuple;
}

struct relay_conn *
dtls_session_conn(struct dtls_session *s)
{
	return &s->rc;
}

uint64_t
dtls_session_id(const struct dtls_session *s)
{
	return s->id;
}

/* ---- the listener: cookies for strangers, a session for a valid one ---- */

/* The SSL that answers ClientHellos, from the current context; -1 when out of memory. */
static int
dtls_listener(struct dtls *d)
{
	BIO *b;

	if (d->listener != NULL && SSL_get_SSL_CTX(d->listener) == d->ctx)
		return 0;
	SSL_free(d->listener);
	if ((d->listener = SSL_new(d->ctx)) == NULL || (b = dtls_bio_new(d, &d->lio)) == NULL) {
		SSL_free(d->listener);
		d->listener = NULL;
		ERR_clear_error();
		return -1;
	}
	SSL_set_bio(d->listener, b, b);
	SSL_set_mtu(d->listener, DTLS_MTU);
	return 0;
}

/* Room for one more handshake: the oldest half-open one goes at the cap. */
static bool
dtls_make_room(struct dtls *d)
{
	if (d->nhalf >= DTLS_HALF_OPEN_MAX) {
		d->stats.evicted++;
		d->stats.handshake_failures++;
		dtls_session_close(TAILQ_FIRST(&d->half_open),
		    "handshake dropped for a newer one (half-open limit)", false);
	}
	return d->nhalf + d->nlive < DTLS_SESSIONS_MAX;
}

/* The listener passed the cookie exchange: it becomes the session of t. */
static void
dtls_promote(struct dtls *d, const struct turn_5tuple *t)
{
	struct dtls_session *s;

	if ((s = dtls_find(d, t)) != NULL) /* RFC 6347 §4.2.8: the client started again */
		dtls_session_close(s, "a new handshake from its address", false);
	if (!dtls_make_room(d) || (s = calloc(1, sizeof *s)) == NULL) {
		d->stats.refused++;
		SSL_free(d->listener);
		d->listener = NULL;
		ERR_clear_error();
		return;
	}
	s->d = d;
	s->ssl = d->listener;
	d->listener = NULL;
	s->io = d->lio;
	s->io.in = NULL;
	BIO_set_data(SSL_get_rbio(s->ssl), &s->io);
	s->rc.send = dtls_rc_send;
	s->tuple = *t;
	s->id = ++d->next_id;
	s->created_ms = s->last_ms = d->now.mono_ms;
	LIST_INSERT_HEAD(dtls_bucket(d, t), s, hash);
	TAILQ_INSERT_TAIL(&d->half_open, s, order);
	d->nhalf++;
	dtls_log(s, "cookie valid, handshake started");
	(void)dtls_session_handshake(s); /* the ClientHello is buffered in the SSL */
}

static void
dtls_listen(struct dtls *d, int fd, const struct sockaddr *local, const struct turn_5tuple *t,
    const uint8_t *p, size_t len)
{
	struct dtlsrec_hello h;
	const char *errstr;
	int rc;

	if (dtlsrec_client_hello(p, len, &h, &errstr) != 0 || d->ctx == NULL) {
		d->stats.dropped++; /* RFC 6347 §4.1.2.7: silently discarded */
		return;
	}
	if (dtls_listener(d) != 0) {
		d->stats.refused++;
		return;
	}
	d->lio.fd = fd;
	d->lio.wildcard = addr_is_any(local);
	d->lio.client = t->client;
	d->lio.server = t->server;
	d->lio.in = p;
	d->lio.inlen = len;
	rc = DTLSv1_listen(d->listener, d->client);
	d->lio.in = NULL;
	if (rc == 1) {
		dtls_promote(d, t);
		return;
	}
	ERR_clear_error();
	if (rc < 0) { /* the listener is in no state to go on: a new one next time */
		SSL_free(d->listener);
		d->listener = NULL;
	}
	if (h.cookie_len > 0)
		d->stats.bad_cookie++;
	d->stats.hello_verify++;
}

void
dtls_input(struct dtls *d, int fd, const struct sockaddr *local, const struct turn_5tuple *t,
    const uint8_t *p, size_t len, const struct turn_now *now)
{
	struct dtls_session *s;
	struct dtlsrec_hello h;
	const char *errstr;

	d->now = *now;
	if ((s = dtls_find(d, t)) == NULL ||
	    (s->established && dtlsrec_client_hello(p, len, &h, &errstr) == 0)) {
		/* A new client, or an established one starting again (a cookie first). */
		dtls_listen(d, fd, local, t, p, len);
		return;
	}
	s->io.in = p;
	s->io.inlen = len;
	s->last_ms = now->mono_ms;
	if (s->established ? dtls_session_read(s) : dtls_session_handshake(s))
		s->io.in = NULL;
}

void
dtls_tick(struct dtls *d, const struct turn_now *now)
{
	struct dtls_session *s, *next;

	d->now = *now;
	for (s = TAILQ_FIRST(&d->half_open); s != NULL; s = next) {
		next = TAILQ_NEXT(s, order);
		if (now->mono_ms - s->created_ms >= DTLS_HANDSHAKE_MS) {
			d->stats.handshake_failures++;
			dtls_session_close(s, "handshake timed out", false);
		} else if (DTLSv1_handle_timeout(s->ssl) < 0) {
			d->stats.handshake_failures++;
			dtls_session_close(s, dtls_ssl_reason("retransmission failed"), false);
		}
	}
	for (s = TAILQ_FIRST(&d->live); s != NULL; s = next) {
		next = TAILQ_NEXT(s, order);
		if (s->rc.allocs == 0 && now->mono_ms - s->last_ms >= DTLS_IDLE_MS) {
			d->stats.closed_idle++;
			dtls_session_close(s, "idle", true);
		}
	}
}

void
dtls_close_all(struct dtls *d, const char *reason)
{
	struct dtls_session *s;

	if (d == NULL)
		return;
	while ((s = TAILQ_FIRST(&d->half_open)) != NULL)
		dtls_session_close(s, reason, false);
	while ((s = TAILQ_FIRST(&d->live)) != NULL)
		dtls_session_close(s, reason, true);
}

void
dtls_get_stats(const struct dtls *d, struct dtls_stats *st)
{
	*st = d->stats;
	st->sessions = d->nlive;
	st->half_open = d->nhalf;
}

struct dtls *
dtls_create(int worker_id, const struct dtls_hooks *hooks)
{
	struct dtls *d;
	size_t i;

	if ((d = calloc(1, sizeof *d)) == NULL)
		return NULL;
	d->worker_id = worker_id;
	d->hooks = *hooks;
	d->lio.d = d;
	for (i = 0; i < DTLS_BUCKETS; i++)
		LIST_INIT(&d->buckets[i]);
	TAILQ_INIT(&d->half_open);
	TAILQ_INIT(&d->live);
	if (random_bytes(d->secret, sizeof d->secret) != 0 ||
	    random_bytes(&d->seed, sizeof d->seed) != 0 || (d->client = BIO_ADDR_new()) == NULL ||
	    (d->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "turnpike DTLS")) ==
		NULL ||
	    BIO_meth_set_write(d->meth, dtls_bio_write) != 1 ||
	    BIO_meth_set_read(d->meth, dtls_bio_read) != 1 ||
	    BIO_meth_set_ctrl(d->meth, dtls_bio_ctrl) != 1 ||
	    BIO_meth_set_create(d->meth, dtls_bio_create) != 1) {
		dtls_free(d);
		return NULL;
	}
	return d;
}

void
dtls_set_ctx(struct dtls *d, SSL_CTX *ctx, bool verbose)
{
	d->ctx =
	    ctx; /* the listener follows at its next use: new handshakes get the new certificate */
	d->verbose = verbose;
}

void
dtls_free(struct dtls *d)
{
	struct dtls_session *s;
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < DTLS_BUCKETS; i++) {
		while ((s = LIST_FIRST(&d->buckets[i])) != NULL) {
			LIST_REMOVE(s, hash);
			SSL_free(s->ssl);
			free(s);
		}
	}
	SSL_free(d->listener);
	BIO_ADDR_free(d->client);
	BIO_meth_free(d->meth);
	OPENSSL_cleanse(d->secret, sizeof d->secret);
	ERR_clear_error();
	free(d);
}
