/*
 * Worker threads: each owns an event base, its own SO_REUSEPORT UDP socket per
 * listening address, the TCP/TLS connections handed to it through a queue and
 * a notify pipe (memcached's thread.c pattern), a TURN core with the
 * allocations made through it, and their relay sockets. Nothing it owns is
 * touched by another thread.
 */
#ifndef TURNPIKE_WORKER_H
#define TURNPIKE_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "turnpike/dtls.h"
#include "turnpike/metrics.h"
#include "turnpike/preamble.h"
#include "turnpike/worker_job.h"

struct binding_config;
struct connlimit;
struct creds;
struct limits;
struct realmstats;
struct peerpolicy_range;
struct portpool;
struct relay_stats;
struct relayaddr;
struct turn;
struct turn_config;
struct turn_now;
struct turn_stats;
struct worker;

/*
 * What every worker reads and nobody changes while they run. A reload builds
 * a new one (same sockets, pool and relays) and switches each worker to it.
 */
struct worker_setup {
	const struct binding_config *binding; /* answers 400 to malformed requests */
	const struct turn_config *turn;
	const struct creds *creds;
	struct portpool *pool;          /* shared, locked inside */
	const struct relayaddr *relays; /* the pool's addresses */
	atomic_size_t *allocations;     /* shared count for total-quota */
	const atomic_size_t *capacity;  /* 0 or the allocations the process can hold */
	size_t total_quota;
	struct limits *limits;         /* shared quotas, max-bps and the store's peer ranges */
	uint64_t bps_capacity;         /* bytes per second each way per worker, 0: unlimited */
	uint64_t unauth_rate_limit;    /* 401s per second per UDP source, 0: off */
	uint64_t unauth_answer_budget; /* this worker's bytes/s of them over UDP, 0: off */
	size_t stream_input_budget;    /* bytes of incomplete frames this worker holds */
	struct connlimit *connlimit;   /* shared; NULL: stream connections unbounded */
	SSL_CTX *ssl_ctx;              /* NULL without TLS */
	SSL_CTX *dtls_ctx;             /* NULL without DTLS */
	/* proxy-protocol-from: the sources a PROXY header is taken from */
	const struct peerpolicy_range *proxy_from;
	size_t nproxy_from;
	bool proxy_udp;                     /* each UDP datagram starts with a PROXY v2 header */
	const struct sockaddr_storage *udp; /* UDP addresses, ports set */
	size_t nudp;
	struct fastpath *fastpath;   /* the kernel fast path, NULL: the socket path only */
	struct statsdb *statsdb;     /* redis-statsdb: allocation status and traffic; NULL: none */
	struct sklookup *sklookup;   /* relay-sockets=shared (sklookup.h); NULL: a socket each */
	uint16_t min_port, max_port; /* the relay port range */
	bool verbose;                /* a log line per connection */
	unsigned long generation;    /* a switch to an older setup is ignored */

	/* Keep per-user totals of ended allocations (metrics). */
	bool user_stats;
	/* Ended allocations' traffic per realm (metrics); NULL: not kept. */
	struct realmstats *realm_stats;
};

/*
 * A switch asked of a worker (reload or drain). On the worker's thread the
 * worker reads setup (when not NULL) from its next event on, refuses new
 * allocations when drain is set, then calls done with the setup it no longer
 * reads (NULL when it kept its setup). sw is the caller's and must live until done (or the worker's end).
 */
struct worker_switch {
	struct worker_job job; /* worker.c's */
	struct worker *w;      /* worker.c's */
	const struct worker_setup *setup;
	bool drain;
	void (*done)(struct worker_switch *sw, const struct worker_setup *old);
	void *arg; /* the caller's */
};

/* Counters, read after the worker has stopped or on its thread (a worker_job). */
struct worker_stats {
	uint64_t udp_in;
	uint64_t udp_out;
	uint64_t udp_dropped;           /* not STUN or ChannelData, truncated, or not sent */
	uint64_t conns;                 /* TCP and TLS connections served */
	uint64_t conns_dropped;         /* closed for garbage, size, timeout or errors */
	uint64_t unauth_dropped;        /* 401s not sent: over unauth-rate-limit for the source */
	uint64_t unauth_budget_dropped; /* answers not sent: over unauth-answer-budget */
	uint64_t conns_refused_per_ip;  /* closed at open: over max-connections-per-ip */
	uint64_t conns_refused_fds;     /* closed at open: stream clients' descriptor share */
	uint64_t conns_deadline;        /* closed: frame or TLS handshake not done in time */
	uint64_t conns_idle;            /* closed: no frame and no allocation for 60 s */
	uint64_t conns_input_budget;    /* closed: over stream-input-budget */
	uint64_t tls_handshake_failures;
	struct dtls_stats dtls;
	/* PROXY headers refused, by enum preamble_status (untrusted, malformed, timeout) */
	uint64_t proxy_refused[PREAMBLE_NSTATUS];
	struct metrics_histogram allocate_latency; /* Allocate received to success sent */
};

/* Creates the base, binds the UDP sockets; -1 with *cause naming the address. */
int worker_create(int id, const struct worker_setup *setup, struct worker **wp, char **cause);
/*
 * Before the threads start: every worker, by id, so that a CONNECTION-BIND
 * (RFC 6062) reaching w can move to the worker that issued its id. -1: no memory.
 */
int worker_set_peers(struct worker *w, struct worker *const *all, size_t n);
/* Starts the thread. */
int worker_start(struct worker *w, char **cause);
/* From any thread: hands over an accepted socket; -1 (caller closes) on failure. */
int worker_pass(struct worker *w, int fd, const struct sockaddr *peer, bool tls, bool proxy);
/*
 * From any thread: queues job for the worker's thread. After worker_stop it is
 * never run: its cancel (when set) is called instead, on the worker's thread for
 * a job queued before the stop, on the caller's for one posted after it.
 */
void worker_post(struct worker *w, struct worker_job *job);
/*
 * The systemd watchdog's question, from the main thread: true when the worker
 * ran the previous ping (or none was sent); then sends the next one.
 */
bool worker_ping(struct worker *w);
/* From any thread: queues a switch (not run after worker_stop). */
void worker_post_switch(struct worker *w, struct worker_switch *sw);
/* From any thread: asks the loop to end. */
void worker_stop(struct worker *w);
/* Waits for a started thread to end (after worker_stop); then stats are final. */
void worker_join(struct worker *w);
void worker_stats(const struct worker *w, struct worker_stats *st);
/* The TURN core's and the relay sockets' counters, likewise. */
void worker_turn_stats(const struct worker *w, struct turn_stats *ts, struct relay_stats *rs);
/* On the worker's thread (a worker_job): per-user totals of ended allocations. */
const struct metrics_usertab *worker_ended_users(const struct worker *w);
/* Stops and joins a running thread, closes every socket, frees everything. */
void worker_free(struct worker *w);

#endif
