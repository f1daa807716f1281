/*
 * A worker's TCP and TLS client connections (RFC 8656 §12.5): admission
 * against the connection limits, the preamble (PROXY header, TLS or plain),
 * a bufferevent each, framing of STUN and ChannelData, the input budget,
 * deadlines and idle closes, closing without losing queued answers, and the
 * RFC 6062 hand-off of a connection to the worker that issued its
 * CONNECTION-ID. What a frame means is the worker's (its TURN core): the ops
 * below. One set per worker, touched by its thread only.
 */
#ifndef TURNPIKE_CLIENTCONN_H
#define TURNPIKE_CLIENTCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "turnpike/preamble.h"
#include "turnpike/worker_job.h"

struct bufferevent;
struct clientconn;
struct clientconns;
struct connlimit;
struct event_base;
struct peerpolicy_range;
struct relay_conn;
struct turn_5tuple;
struct turn_now;

/* What a worker does for its connections; arg is the one given to clientconns_create. */
struct clientconn_ops {
	/* Bytes arrived on a connection: the clock of the Allocate latency starts. */
	void (*input)(void *arg);
	/*
	 * One complete STUN frame from c, answered through clientconn_write or
	 * ended through clientconn_finish, _handoff or _bound. -1 when c must not
	 * be read any more (it may be freed), 0 to go on.
	 */
	int (*stun)(void *arg, struct clientconn *c, const uint8_t *p, size_t len,
	    const struct turn_now *now);
	/* ChannelData for channel ch from c (a STUN message came first). */
	void (*chandata)(void *arg, struct clientconn *c, uint16_t ch, const uint8_t *data,
	    size_t len, const struct turn_now *now);
	/* c's allocation ends with it (RFC 8656 §3.1); stun: a STUN message reached the core. */
	void (*gone)(void *arg, const struct turn_5tuple *t, struct relay_conn *rc, bool stun);
	/* From this worker's thread: queue job for worker n's (never this one). */
	void (*post)(void *arg, size_t n, struct worker_job *job);
};

/* What the connections read of the worker's setup; a reload gives a new one. */
struct clientconn_config {
	bool verbose;                /* a log line per connection */
	size_t input_budget;         /* bytes of incomplete frames the set holds */
	struct connlimit *connlimit; /* shared; NULL: connections unbounded */
	SSL_CTX *ssl_ctx;            /* NULL without TLS */
	/* proxy-protocol-from: the sources a PROXY header is taken from */
	const struct peerpolicy_range *proxy_from;
	size_t nproxy_from;
};

/* Counters, read on the worker's thread or after it stopped. */
struct clientconn_stats {
	uint64_t conns;                /* TCP and TLS connections served */
	uint64_t conns_dropped;        /* closed for garbage, size, timeout or errors */
	uint64_t conns_refused_per_ip; /* closed at open: over max-connections-per-ip */
	uint64_t conns_refused_fds;    /* closed at open: stream clients' descriptor share */
	uint64_t conns_deadline;       /* closed: frame or TLS handshake not done in time */
	uint64_t conns_idle;           /* closed: no frame and no allocation for 60 s */
	uint64_t conns_input_budget;   /* closed: over the input budget */
	uint64_t tls_handshake_failures;
	/* PROXY headers refused, by enum preamble_status (untrusted, malformed, timeout) */
	uint64_t proxy_refused[PREAMBLE_NSTATUS];
};

/* Worker id's, on its base; NULL: no memory. */
struct clientconns *clientconns_create(int id, struct event_base *base,
    const struct clientconn_config *cfg, const struct clientconn_ops *ops, void *arg);
/* After clientconns_close_all; clientconns_free(NULL) is a no-op. */
void clientconns_free(struct clientconns *cs);
/* Before the threads start: every worker's, by id. -1: no memory. */
int clientconns_set_peers(struct clientconns *cs, struct clientconns *const *all, size_t n);
/* New connections and frames read *cfg (copied; its pointers must outlive its use). */
void clientconns_configure(struct clientconns *cs, const struct clientconn_config *cfg);
/* An accepted socket from peer: admitted, then its preamble; closed on refusal. */
void clientconns_accept(struct clientconns *cs, int fd, const struct sockaddr *peer, bool tls,
    bool proxy);
/* Once a second: handshake, frame and idle deadlines. */
void clientconns_sweep(struct clientconns *cs, uint64_t now_ms);
/* Closes every connection (their allocations end through ops->gone). */
void clientconns_close_all(struct clientconns *cs, const char *reason);
const struct clientconn_stats *clientconns_stats(const struct clientconns *cs);

/* The connection's 5-tuple and the TURN core's conn, for ops->stun. */
const struct turn_5tuple *clientconn_tuple(const struct clientconn *c);
struct relay_conn *clientconn_relay(struct clientconn *c);
/* "w0.c12": the worker and connection, for per-session log lines. */
void clientconn_session(const struct clientconn *c, char *buf, size_t len);
/* A STUN message reaches the core: ChannelData may follow; the allocation ends with c. */
void clientconn_set_stun(struct clientconn *c);
/* Queues an answer; -1 when out of memory: c is closed (freed). */
int clientconn_write(struct clientconn *c, const void *p, size_t len);
/* Ends c once its queued answers are written (fault: counted as dropped). */
void clientconn_finish(struct clientconn *c, const char *reason, bool fault);
/*
 * RFC 6062 §5.4: a CONNECTION-BIND whose CONNECTION-ID worker tag issued: 0
 * when c goes there (or was closed trying), -1 when this worker handles it.
 */
int clientconn_handoff(struct clientconn *c, uint8_t tag);
/*
 * RFC 6062 §5.4: the CONNECTION-BIND (len bytes at the head of the input) got
 * an answer of outlen bytes: c is freed and its bufferevent, now the
 * caller's, is returned for the splice. NULL (c closed) without an answer.
 */
struct bufferevent *clientconn_bound(struct clientconn *c, size_t len, size_t outlen);

#endif
