/*
 * DTLS 1.2 clients (RFC 7350) on a worker's UDP sockets. A ClientHello from
 * an unknown source gets a stateless HelloVerifyRequest (RFC 6347 §4.2.1,
 * OpenSSL's DTLSv1_listen) with an HMAC cookie; only a ClientHello that
 * returns a valid cookie gets a session: an SSL object keyed by the 5-tuple,
 * fed the datagrams of the shared socket through a BIO of this module, whose
 * decrypted records go to the worker as from a UDP client. Half-open
 * handshakes are capped (the oldest is dropped for a new one) and timed out;
 * idle sessions expire. Everything here belongs to one worker's thread.
 */
#ifndef TURNPIKE_DTLS_H
#define TURNPIKE_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "turnpike/relay.h"
#include "turnpike/turn.h"

/* Half-open handshakes per worker: beyond it the oldest is dropped for the new one. */
#define DTLS_HALF_OPEN_MAX 256
/* Sessions per worker, handshakes included: beyond it new handshakes are refused. */
#define DTLS_SESSIONS_MAX 16384
#define DTLS_HANDSHAKE_MS 10000 /* from the valid cookie to the end of the handshake */
#define DTLS_IDLE_MS 60000      /* a session without allocations and without input ends */

struct dtls;
struct dtls_session;

/* The worker's side, called on its thread. */
struct dtls_hooks {
	void *arg;
	/* One decrypted record from the session's client: STUN or ChannelData. */
	void (*deliver)(void *arg, struct dtls_session *s, const uint8_t *p, size_t len,
	    const struct turn_now *now);
	/* An established session ends: its allocations end with it (as for TCP and TLS). */
	void (*gone)(void *arg, struct dtls_session *s);
};

/* Counters (and two gauges), only ever increased but the gauges. */
struct dtls_stats {
	uint64_t hello_verify;       /* HelloVerifyRequests sent (no cookie or a wrong one) */
	uint64_t bad_cookie;         /* of them, answers to a ClientHello with a wrong cookie */
	uint64_t dropped;            /* from unknown sources and not a ClientHello */
	uint64_t handshakes;         /* completed */
	uint64_t handshake_failures; /* failed or timed out after a valid cookie */
	uint64_t evicted;            /* half-open handshakes dropped for newer ones */
	uint64_t refused;            /* valid cookies refused: DTLS_SESSIONS_MAX or no memory */
	uint64_t closed_idle;        /* sessions ended after DTLS_IDLE_MS without input */
	uint64_t send_dropped;       /* records to clients the socket refused */
	uint64_t sessions;           /* gauge: established sessions */
	uint64_t half_open;          /* gauge: handshakes in progress */
};

/*
 * The DTLS server context: DTLS 1.2 only (a DTLS 1.0 ClientHello gets a
 * protocol_version alert), cookie exchange with this module's cookies, ALPN
 * stun.turn and stun.nat-discovery (RFC 7443; a client offering neither still
 * connects). -1 with *cause naming the file and OpenSSL's reason.
 */
int dtls_ctx_create(const char *cert, const char *pkey, const char *ciphers, SSL_CTX **ctxp,
    char **cause);

/* NULL when out of memory or the CSPRNG fails. */
struct dtls *dtls_create(int worker_id, const struct dtls_hooks *hooks);
/* ctx (NULL: DTLS off) for the handshakes that start from now on; verbose logs each session. */
void dtls_set_ctx(struct dtls *d, SSL_CTX *ctx, bool verbose);
/*
 * A datagram whose first byte says DTLS, from t->client to t->server (its
 * transport TURN_DTLS), received on fd bound to local (a wildcard sends from
 * t->server).
 */
void dtls_input(struct dtls *d, int fd, const struct sockaddr *local, const struct turn_5tuple *t,
    const uint8_t *p, size_t len, const struct turn_now *now);
/* Encrypts one datagram to the session's client; -1 when dropped. */
int dtls_send(struct dtls_session *s, const void *data, size_t len);
const struct turn_5tuple *dtls_session_tuple(const struct dtls_session *s);
/* The conn the core and relay.c see for this session (sends through dtls_send). */
struct relay_conn *dtls_session_conn(struct dtls_session *s);
uint64_t dtls_session_id(const struct dtls_session *s);
/* Once a second: handshake timeouts and retransmissions, idle sessions. */
void dtls_tick(struct dtls *d, const struct turn_now *now);
/* Ends every session (close_notify to established ones), calling gone. */
void dtls_close_all(struct dtls *d, const char *reason);
void dtls_get_stats(const struct dtls *d, struct dtls_stats *st);
/* Frees every session without calling gone (after the core is gone). */
void dtls_free(struct dtls *d);

#endif
