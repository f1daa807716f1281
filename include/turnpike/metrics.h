/*
 * Prometheus metrics: a snapshot of the counters the workers and the main
 * loop report, and its rendering in the text exposition format 0.0.4
 * (# HELP, # TYPE, escaped label values, cumulative histogram buckets).
 * Pure: no sockets, no event loop, no locks; the HTTP side is httpd.c.
 */
#ifndef TURNPIKE_METRICS_H
#define TURNPIKE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "turnpike/preamble.h"
#include "turnpike/relay.h"
#include "turnpike/turn.h"

/* Allocate latency bucket upper bounds in microseconds; +Inf follows them. */
#define METRICS_LATENCY_BUCKETS 12
extern const uint64_t metrics_latency_bounds_us[METRICS_LATENCY_BUCKETS];

/* Observations per bucket (not cumulative: the renderer sums them), the last one +Inf. */
struct metrics_histogram {
	uint64_t bucket[METRICS_LATENCY_BUCKETS + 1];
	uint64_t count;
	uint64_t sum_us;
};

void metrics_histogram_observe(struct metrics_histogram *h, uint64_t us);
void metrics_histogram_add(struct metrics_histogram *dst, const struct metrics_histogram *src);

/* Transports of turn_total_allocations{type=...}, indexed by enum turn_transport. */
#define METRICS_TRANSPORTS 4

/* One worker's counters, read on its own thread. */
struct metrics_worker {
	uint64_t udp_in, udp_out, udp_dropped;
	uint64_t conns, conns_dropped;
	uint64_t tls_handshake_failures;
	uint64_t dtls_hello_verify, dtls_bad_cookie, dtls_dropped;
	uint64_t dtls_handshakes, dtls_handshake_failures, dtls_evicted, dtls_refused;
	uint64_t dtls_closed_idle, dtls_send_dropped;
	uint64_t dtls_sessions, dtls_half_open; /* gauges */
	uint64_t unauth_dropped;                /* 401s not sent over unauth-rate-limit */
	uint64_t unauth_budget_dropped;
	uint64_t conns_refused_per_ip, conns_refused_fds;
	uint64_t conns_deadline, conns_idle, conns_input_budget;
	uint64_t proxy_refused[PREAMBLE_NSTATUS]; /* by enum preamble_status */
	struct turn_stats turn;
	struct relay_stats relay;
	struct metrics_histogram allocate_latency;
	uint64_t allocations[METRICS_TRANSPORTS]; /* live, by transport */
};

/* Users in the per-user series (prometheus-username-labels); the rest are counted. */
#define METRICS_USERS_MAX 1000

/* One user's live allocations and relayed traffic (prometheus-username-labels). */
struct metrics_user {
	char *realm; /* the realm its credentials verified in; NULL: the server's */
	char *name;
	uint64_t allocations;
	uint64_t to_peer_packets, to_peer_bytes;
	uint64_t to_client_packets, to_client_bytes;
};

/* A worker's per-user traffic totals of ended allocations. */
struct metrics_usertab {
	struct metrics_user *v;
	size_t n, cap;
	uint64_t dropped; /* ended sessions of users past METRICS_USERS_MAX */
};

/*
 * Adds an ended session's traffic (allocations unused) to the totals of user
 * in realm (NULL: the server's); -1 out of memory.
 */
int metrics_usertab_add(struct metrics_usertab *tab, const char *realm, const char *user,
    const struct metrics_user *traffic);
void metrics_usertab_free(struct metrics_usertab *tab);

/* Relayed traffic, both ways. */
struct metrics_counts {
	uint64_t to_peer_packets, to_peer_bytes;
	uint64_t to_client_packets, to_client_bytes;
};

/* One realm's relayed traffic, ended and live sessions (realmstats.h). */
struct metrics_realm_traffic {
	char *name;
	struct metrics_counts c;
};

/* Live allocations of one realm (the realm their credentials verified in). */
struct metrics_realm {
	char *name;
	uint64_t allocations;
};

struct metrics_snapshot {
	const char *realm;
	/* Every realm holding allocations; the server realm is always listed. */
	struct metrics_realm *realms;
	size_t nrealms;
	/* Traffic per realm (at most REALMSTATS_MAX and "_other"); NULL: none. */
	struct metrics_realm_traffic *realm_traffic;
	size_t nrealm_traffic;
	struct metrics_worker *worker;
	size_t nworkers;
	uint64_t ports_used, ports_total;
	bool ready;
	bool draining;
	/* NULL without username labels; else live and ended traffic per user. */
	struct metrics_user *user;
	size_t nusers;
	size_t users_dropped; /* beyond the cap: counted in no user series */
};

/*
 * Sorts v (one entry per live allocation, realms and names from malloc) by
 * realm and name and sums the entries of each user of a realm; keeps the first
 * cap users, frees the realms and names of the rest and counts them in
 * *dropped. Returns how many entries remain.
 */
size_t metrics_users_collapse(struct metrics_user *v, size_t n, size_t cap, size_t *dropped);
/* Writes a label value escaped as the format asks: \\, \" and \n. */
void metrics_escape(FILE *f, const char *value);
/* The whole exposition; -1 when writing to f failed. */
int metrics_render(FILE *f, const struct metrics_snapshot *snap);

#endif
