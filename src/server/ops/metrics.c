/*
 * The Prometheus text exposition format 0.0.4 of a metrics snapshot. Names
 * and labels of coturn's exporter are kept where they exist; the rest is
 * prefixed turnpike_.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "turnpike/metrics.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

const uint64_t metrics_latency_bounds_us[METRICS_LATENCY_BUCKETS] = {100, 250, 500, 1000, 2500,
    5000, 10000, 25000, 50000, 100000, 250000, 1000000};

/* coturn's socket type names (socket_type_name), by enum turn_transport. */
static const char *const metrics_transport_names[METRICS_TRANSPORTS] = {"UDP", "TCP", "TLS/TCP",
    "DTLS"};

void
metrics_histogram_observe(struct metrics_histogram *h, uint64_t us)
{
	size_t i;

	for (i = 0; i < METRICS_LATENCY_BUCKETS && us > metrics_latency_bounds_us[i]; i++)
		continue;
	h->bucket[i]++;
	h->count++;
	h->sum_us += us;
}

void
metrics_histogram_add(struct metrics_histogram *dst, const struct metrics_histogram *src)
{
	size_t i;

	for (i = 0; i < nitems(dst->bucket); i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum_us += src->sum_us;
}

void
metrics_escape(FILE *f, const char *value)
{
	const char *p;

	for (p = value; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
}

static void
metrics_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	metrics_head(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* A sample with the realm label. */
static void
metrics_realm(FILE *f, const char *name, const char *realm, uint64_t v)
{
	fprintf(f, "%s{realm=\"", name);
	metrics_escape(f, realm);
	fprintf(f, "\"} %" PRIu64 "\n", v);
}

/* Sums of the workers' counters. */
struct metrics_sum {
	struct turn_stats t;
	struct relay_stats r;
	uint64_t tls_failures;
	uint64_t dtls_sessions, dtls_half_open;
	uint64_t proxy_refused[PREAMBLE_NSTATUS];
	uint64_t allocations[METRICS_TRANSPORTS];
	struct metrics_histogram latency;
};

static void
metrics_sum(const struct metrics_snapshot *snap, struct metrics_sum *s)
{
	size_t i, k;

	memset(s, 0, sizeof *s);
	for (i = 0; i < snap->nworkers; i++) {
		const struct metrics_worker *w = &snap->worker[i];

		s->t.binding_requests += w->turn.binding_requests;
		s->t.binding_responses += w->turn.binding_responses;
		s->t.binding_errors += w->turn.binding_errors;
		s->t.allocations_created += w->turn.allocations_created;
		s->t.auth_failures += w->turn.auth_failures;
		s->t.auth_failures_400 += w->turn.auth_failures_400;
		s->t.auth_failures_438 += w->turn.auth_failures_438;
		s->t.auth_failures_441 += w->turn.auth_failures_441;
		s->t.peer_refused += w->turn.peer_refused;
		s->t.redirects += w->turn.redirects;
		s->t.client_to_peer_packets += w->turn.client_to_peer_packets;
		s->t.client_to_peer_bytes += w->turn.client_to_peer_bytes;
		s->t.peer_to_client_packets += w->turn.peer_to_client_packets;
		s->t.peer_to_client_bytes += w->turn.peer_to_client_bytes;
		s->r.open_failures += w->relay.open_failures;
		s->r.shared_active += w->relay.shared_active;
		s->tls_failures += w->tls_handshake_failures;
		s->dtls_sessions += w->dtls_sessions;
		s->dtls_half_open += w->dtls_half_open;
		for (k = 0; k < PREAMBLE_NSTATUS; k++)
			s->proxy_refused[k] += w->proxy_refused[k];
		for (k = 0; k < METRICS_TRANSPORTS; k++)
			s->allocations[k] += w->allocations[k];
		metrics_histogram_add(&s->latency, &w->allocate_latency);
	}
}

static void
metrics_stun(FILE *f, const struct metrics_sum *s)
{
	metrics_one(f, "stun_binding_request", "counter", "Incoming STUN Binding requests",
	    s->t.binding_requests);
	metrics_one(f, "stun_binding_response", "counter", "Outgoing STUN Binding responses",
	    s->t.binding_responses);
	metrics_one(f, "stun_binding_error", "counter", "STUN Binding errors", s->t.binding_errors);
}

/* coturn's traffic counters; here they include live sessions, not only finished ones. */
struct metrics_traffic {
	const char *suffix;
	const char *help;
	int which; /* 0 client-to-peer packets, 1 bytes, 2 peer-to-client packets, 3 bytes */
};

static const struct metrics_traffic metrics_traffic[] = {
    {"rcvp", "Packets received from clients and relayed to peers", 0},
    {"rcvb", "Payload bytes received from clients and relayed to peers", 1},
    {"sentp", "Packets from peers sent to clients", 2},
    {"sentb", "Payload bytes from peers sent to clients", 3},
    {"peer_rcvp", "Packets received from peers and sent to clients", 2},
    {"peer_rcvb", "Payload bytes received from peers and sent to clients", 3},
    {"peer_sentp", "Packets from clients sent to peers", 0},
    {"peer_sentb", "Payload bytes from clients sent to peers", 1},
};

static uint64_t
metrics_traffic_value(const struct turn_stats *t, int which)
{
	switch (which) {
	case 0:
		return t->client_to_peer_packets;
	case 1:
		return t->client_to_peer_bytes;
	case 2:
		return t->peer_to_client_packets;
	default:
		return t->peer_to_client_bytes;
	}
}

static uint64_t
metrics_user_traffic(const struct metrics_user *u, int which)
{
	switch (which) {
	case 0:
		return u->to_peer_packets;
	case 1:
		return u->to_peer_bytes;
	case 2:
		return u->to_client_packets;
	default:
		return u->to_client_bytes;
	}
}

/* The realm label of a user's series: the realm its credentials verified in. */
static const char *
metrics_user_realm(const struct metrics_snapshot *snap, const struct metrics_user *u)
{
	return u->realm != NULL ? u->realm : snap->realm;
}

/* turn_traffic_X{realm,user}: coturn's labels with prometheus-username-labels. */
static void
metrics_traffic_users(FILE *f, const char *name, const struct metrics_snapshot *snap, int which)
{
	size_t i;

	for (i = 0; i < snap->nusers; i++) {
		fprintf(f, "%s{realm=\"", name);
		metrics_escape(f, metrics_user_realm(snap, &snap->user[i]));
		fputs("\",user=\"", f);
		metrics_escape(f, snap->user[i].name);
		fprintf(f, "\"} %" PRIu64 "\n", metrics_user_traffic(&snap->user[i], which));
	}
}

static void
metrics_traffic_all(FILE *f, const struct metrics_snapshot *snap, const struct metrics_sum *s)
{
	char name[64], help[160];
	size_t i;

	for (i = 0; i < nitems(metrics_traffic); i++) {
		const struct metrics_traffic *m = &metrics_traffic[i];
		uint64_t v = metrics_traffic_value(&s->t, m->which);

		snprintf(name, sizeof name, "turn_traffic_%s", m->suffix);
		snprintf(help, sizeof help, "%s, live sessions included", m->help);
		metrics_head(f, name, "counter", help);
		if (snap->user != NULL)
			metrics_traffic_users(f, name, snap, m->which);
		else
			metrics_realm(f, name, snap->realm, v);
		snprintf(name, sizeof name, "turn_total_traffic_%s", m->suffix);
		snprintf(help, sizeof help, "%s, all realms, live sessions included", m->help);
		metrics_one(f, name, "counter", help, v);
	}
}

static void
metrics_allocations(FILE *f, const struct metrics_sum *s)
{
	size_t k;

	metrics_head(f, "turn_total_allocations", "gauge", "Current allocations by transport");
	for (k = 0; k < METRICS_TRANSPORTS; k++)
		fprintf(f, "turn_total_allocations{type=\"%s\"} %" PRIu64 "\n",
		    metrics_transport_names[k], s->allocations[k]);
	metrics_one(f, "turnpike_allocations_created_total", "counter",
	    "Allocations created since start", s->t.allocations_created);
	metrics_one(f, "turnpike_allocation_failures_total", "counter",
	    "Allocate requests refused for lack of a relay address, port or quota (440, 486, 508)",
	    s->r.open_failures);
}

static void
metrics_auth(FILE *f, const struct metrics_sum *s)
{
	const struct {
		const char *code;
		uint64_t v;
	} codes[] = {
	    {"400", s->t.auth_failures_400},
	    {"401", s->t.auth_failures},
	    {"438", s->t.auth_failures_438},
	    {"441", s->t.auth_failures_441},
	};
	size_t i;

	metrics_head(f, "turnpike_auth_failures_total", "counter",
	    "Requests with credentials refused, by STUN error code (the first 401 "
	    "challenge is not a failure)");
	for (i = 0; i < nitems(codes); i++)
		fprintf(f, "turnpike_auth_failures_total{code=\"%s\"} %" PRIu64 "\n", codes[i].code,
		    codes[i].v);
}

static void
metrics_latency(FILE *f, const struct metrics_histogram *h)
{
	const char *name = "turnpike_allocate_latency_seconds";
	uint64_t cum = 0;
	size_t i;

	metrics_head(f, name, "histogram",
	    "Time from receiving an Allocate request to sending its success response, "
	    "credential lookup included");
	for (i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
		cum += h->bucket[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
		    (double)metrics_latency_bounds_us[i] / 1e6, cum);
	}
	cum += h->bucket[METRICS_LATENCY_BUCKETS];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	fprintf(f, "%s_sum %.6f\n", name, (double)h->sum_us / 1e6);
	fprintf(f, "%s_count %" PRIu64 "\n", name, h->count);
}

/* Connections closed for their PROXY header, by reason. */
static void
metrics_proxy(FILE *f, const struct metrics_sum *s)
{
	static const struct {
		enum preamble_status st;
		const char *reason;
	} reasons[] = {
	    {PREAMBLE_UNTRUSTED, "untrusted"},
	    {PREAMBLE_MALFORMED, "malformed"},
	    {PREAMBLE_TIMEOUT, "timeout"},
	};
	size_t i;

	metrics_head(f, "turnpike_proxy_header_refusals_total", "counter",
	    "Connections closed for a missing, malformed, late or untrusted PROXY header");
	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
		fprintf(f, "turnpike_proxy_header_refusals_total{reason=\"%s\"} %" PRIu64 "\n",
		    reasons[i].reason, s->proxy_refused[reasons[i].st]);
	}
}

static void
metrics_process(FILE *f, const struct metrics_snapshot *snap, const struct metrics_sum *s)
{
	uint64_t free_ports =
	    snap->ports_total > snap->ports_used ? snap->ports_total - snap->ports_used : 0;

	metrics_one(f, "turnpike_relay_ports_used", "gauge",
	    "Relay ports in use or reserved, every relay address", snap->ports_used);
	metrics_one(f, "turnpike_relay_ports_free", "gauge",
	    "Relay ports free, every relay address", free_ports);
	metrics_one(f, "turnpike_shared_relay_allocations", "gauge",
	    "Relays on the shared sockets (relay-sockets=shared), without a socket of their own",
	    s->r.shared_active);
	metrics_one(f, "turnpike_peer_refusals_total", "counter",
	    "Permissions, channels and packets refused by the peer policy", s->t.peer_refused);
	metrics_one(f, "turnpike_redirects_total", "counter",
	    "Allocates answered 300 Try Alternate (alternate-server)", s->t.redirects);
	metrics_one(f, "turnpike_tls_handshake_failures_total", "counter",
	    "TLS connections that ended before the handshake completed", s->tls_failures);
	metrics_one(f, "turnpike_dtls_sessions", "gauge", "Established DTLS sessions",
	    s->dtls_sessions);
	metrics_one(f, "turnpike_dtls_half_open", "gauge",
	    "DTLS handshakes in progress (past the cookie exchange)", s->dtls_half_open);
	metrics_proxy(f, s);
	metrics_one(f, "turnpike_ready", "gauge", "1 when /readyz answers 200", snap->ready);
	metrics_one(f, "turnpike_draining", "gauge", "1 while the server drains", snap->draining);
}

/* A per-worker series: one sample per worker of the value get picks. */
struct metrics_per_worker {
	const char *name;
	const char *help;
	size_t off; /* offset of a uint64_t in struct metrics_worker */
};

#define MW(field) offsetof(struct metrics_worker, field)

static const struct metrics_per_worker metrics_workers[] = {
    {"turnpike_worker_udp_received_packets_total", "UDP datagrams received from clients",
	MW(udp_in)},
    {"turnpike_worker_udp_sent_packets_total", "UDP answers sent to clients", MW(udp_out)},
    {"turnpike_worker_udp_dropped_packets_total",
	"UDP datagrams from clients dropped: not STUN or ChannelData, malformed, or not sent",
	MW(udp_dropped)},
    {"turnpike_worker_connections_total", "TCP and TLS connections served", MW(conns)},
    {"turnpike_worker_connections_dropped_total",
	"TCP and TLS connections closed for garbage, size, timeout or errors", MW(conns_dropped)},
    {"turnpike_worker_peer_received_packets_total", "Datagrams received from peers",
	MW(relay.peer_in)},
    {"turnpike_worker_fastpath_packets_total",
	"Of the packets relayed, those the kernel fast path relayed (both directions)",
	MW(relay.fast_packets)},
    {"turnpike_worker_to_peer_packets_total", "Packets relayed from clients to peers",
	MW(turn.client_to_peer_packets)},
    {"turnpike_worker_to_client_packets_total", "Packets relayed from peers to clients",
	MW(turn.peer_to_client_packets)},
    {"turnpike_worker_no_permission_drops_total",
	"Relayed data dropped for lack of a permission or channel", MW(turn.no_permission_drops)},
    {"turnpike_worker_data_drops_total",
	"Relayed data dropped: no allocation, malformed or too large", MW(turn.data_drops)},
    {"turnpike_worker_peer_send_errors_total", "Sends to peers that failed", MW(relay.send_errors)},
    {"turnpike_worker_peer_dropped_packets_total", "Datagrams from peers too large to relay",
	MW(relay.peer_dropped)},
    {"turnpike_worker_client_dropped_packets_total",
	"Relayed data to clients dropped: full socket or stream buffer", MW(relay.client_dropped)},
    {"turnpike_worker_bps_dropped_packets_total",
	"Relayed packets dropped over max-bps or bps-capacity", MW(relay.bps_dropped_packets)},
    {"turnpike_worker_bps_dropped_bytes_total",
	"Relayed bytes dropped over max-bps or bps-capacity", MW(relay.bps_dropped_bytes)},
    {"turnpike_worker_bps_dropped_to_peer_packets_total",
	"Packets from clients to peers dropped over max-bps or bps-capacity",
	MW(relay.bps_dropped_to_peer)},
    {"turnpike_worker_bps_dropped_to_client_packets_total",
	"Packets from peers to clients dropped over max-bps or bps-capacity",
	MW(relay.bps_dropped_to_client)},
    {"turnpike_worker_udp_send_calls_total",
	"System calls (sendmmsg) that sent relayed UDP datagrams, both directions",
	MW(relay.send_calls)},
    {"turnpike_worker_udp_gso_messages_total",
	"Of them, UDP GSO messages carrying several datagrams to one destination",
	MW(relay.gso_messages)},
    {"turnpike_worker_dtls_hello_verify_total",
	"DTLS HelloVerifyRequests sent (a ClientHello without a valid cookie; no state kept)",
	MW(dtls_hello_verify)},
    {"turnpike_worker_dtls_bad_cookie_total",
	"Of them, answers to a ClientHello with a wrong cookie", MW(dtls_bad_cookie)},
    {"turnpike_worker_dtls_dropped_total",
	"DTLS records from unknown sources that are not a ClientHello, dropped", MW(dtls_dropped)},
    {"turnpike_worker_dtls_handshakes_total", "DTLS handshakes completed", MW(dtls_handshakes)},
    {"turnpike_worker_dtls_handshake_failures_total",
	"DTLS handshakes past the cookie exchange that failed, timed out or were evicted",
	MW(dtls_handshake_failures)},
    {"turnpike_worker_dtls_evicted_total",
	"Half-open DTLS handshakes dropped for newer ones at the per-worker limit",
	MW(dtls_evicted)},
    {"turnpike_worker_dtls_refused_total",
	"DTLS handshakes refused with a valid cookie: session limit or out of memory",
	MW(dtls_refused)},
    {"turnpike_worker_dtls_idle_closed_total", "DTLS sessions ended for idleness",
	MW(dtls_closed_idle)},
    {"turnpike_worker_dtls_send_dropped_total", "DTLS records to clients the socket refused",
	MW(dtls_send_dropped)},
    {"turnpike_worker_unauth_dropped_total",
	"401 answers not sent: over unauth-rate-limit for the source address", MW(unauth_dropped)},
    {"turnpike_worker_unauth_budget_dropped_total",
	"UDP answers to requests without valid credentials not sent: over unauth-answer-budget",
	MW(unauth_budget_dropped)},
    {"turnpike_worker_auth_throttled_total",
	"Requests with credentials dropped unchecked: over auth-failure-limit for the source "
	"address or user name",
	MW(turn.auth_throttled)},
    {"turnpike_worker_connections_refused_per_ip_total",
	"TCP and TLS connections closed at open: over max-connections-per-ip",
	MW(conns_refused_per_ip)},
    {"turnpike_worker_connections_refused_fds_total",
	"TCP and TLS connections closed at open: stream clients hold their share of the "
	"descriptors",
	MW(conns_refused_fds)},
    {"turnpike_worker_connections_deadline_total",
	"TCP and TLS connections closed: a frame or the TLS handshake not completed in 10 s",
	MW(conns_deadline)},
    {"turnpike_worker_connections_idle_total",
	"TCP and TLS connections closed: no complete frame and no allocation for 60 s",
	MW(conns_idle)},
    {"turnpike_worker_connections_input_budget_total",
	"TCP and TLS connections closed over stream-input-budget (the largest incomplete frame)",
	MW(conns_input_budget)},
    {"turnpike_worker_tcp_relay_allocations_total", "TCP relay allocations (RFC 6062) created",
	MW(turn.tcp_allocations)},
    {"turnpike_worker_tcp_connects_total", "CONNECT requests that opened a TCP connection",
	MW(turn.tcp_connects)},
    {"turnpike_worker_tcp_connect_failures_total",
	"CONNECTs answered 447: refused, unreachable or timed out", MW(turn.tcp_connect_failures)},
    {"turnpike_worker_tcp_connection_attempts_total",
	"CONNECTION-ATTEMPT indications sent for peers connecting to a TCP relay",
	MW(turn.tcp_attempts)},
    {"turnpike_worker_tcp_peer_refused_total",
	"Peer connections to a TCP relay closed at once: no permission", MW(turn.tcp_peer_refused)},
    {"turnpike_worker_tcp_binds_total", "CONNECTION-BIND successes", MW(turn.tcp_binds)},
    {"turnpike_worker_tcp_bind_failures_total", "CONNECTION-BIND errors (400, 441)",
	MW(turn.tcp_bind_failures)},
    {"turnpike_worker_tcp_bind_timeouts_total",
	"TCP relay connections closed unbound after 30 seconds", MW(turn.tcp_bind_timeouts)},
    {"turnpike_worker_tcp_to_peer_bytes_total", "Bytes relayed over TCP from clients to peers",
	MW(relay.tcp.to_peer_bytes)},
    {"turnpike_worker_tcp_to_client_bytes_total", "Bytes relayed over TCP from peers to clients",
	MW(relay.tcp.to_client_bytes)},
    {"turnpike_worker_tcp_paused_total",
	"Times a TCP relay side stopped being read because the other side's output was full",
	MW(relay.tcp.paused)},
    {"turnpike_worker_mobility_tickets_total", "MOBILITY-TICKETs issued (RFC 8016)",
	MW(turn.mobility_tickets)},
    {"turnpike_worker_mobility_moves_total",
	"Allocations moved to a new 5-tuple with a MOBILITY-TICKET (RFC 8016)",
	MW(turn.mobility_moves)},
    {"turnpike_worker_mobility_refused_total",
	"MOBILITY-TICKETs refused: forged, expired, replayed or another user's",
	MW(turn.mobility_refused)},
    {"turnpike_worker_shared_relay_unclaimed_total",
	"Datagrams to a shared relay port (relay-sockets=shared) no allocation holds, dropped",
	MW(relay.shared_unclaimed)},
};

static void
metrics_workers_all(FILE *f, const struct metrics_snapshot *snap)
{
	size_t i, k;

	for (i = 0; i < nitems(metrics_workers); i++) {
		metrics_head(f, metrics_workers[i].name, "counter", metrics_workers[i].help);
		for (k = 0; k < snap->nworkers; k++) {
			uint64_t v;

			memcpy(&v, (const char *)&snap->worker[k] + metrics_workers[i].off,
			    sizeof v);
			fprintf(f, "%s{worker=\"%zu\"} %" PRIu64 "\n", metrics_workers[i].name, k,
			    v);
		}
	}
}

/* turnpike_dropped_packets_total{reason}: the drop counters of every worker, summed. */
static const struct metrics_per_worker metrics_drops[] = {
    {"client_malformed", NULL, MW(udp_dropped)},
    {"no_permission", NULL, MW(turn.no_permission_drops)},
    {"invalid_data", NULL, MW(turn.data_drops)},
    {"peer_too_large", NULL, MW(relay.peer_dropped)},
    {"peer_send_error", NULL, MW(relay.send_errors)},
    {"client_buffer_full", NULL, MW(relay.client_dropped)},
    {"bandwidth_limit", NULL, MW(relay.bps_dropped_packets)},
    {"unauth_rate_limit", NULL, MW(unauth_dropped)},
    {"unauth_answer_budget", NULL, MW(unauth_budget_dropped)},
    {"auth_throttled", NULL, MW(turn.auth_throttled)},
};

static void
metrics_drops_all(FILE *f, const struct metrics_snapshot *snap)
{
	size_t i, k;

	metrics_head(f, "turnpike_dropped_packets_total", "counter",
	    "Packets dropped, by reason, all workers (the turnpike_worker_* series split "
	    "them by worker)");
	for (i = 0; i < nitems(metrics_drops); i++) {
		uint64_t v, sum = 0;

		for (k = 0; k < snap->nworkers; k++) {
			memcpy(&v, (const char *)&snap->worker[k] + metrics_drops[i].off, sizeof v);
			sum += v;
		}
		fprintf(f, "turnpike_dropped_packets_total{reason=\"%s\"} %" PRIu64 "\n",
		    metrics_drops[i].name, sum);
	}
}

static void
metrics_users(FILE *f, const struct metrics_snapshot *snap)
{
	size_t i;

	metrics_head(f, "turnpike_user_allocations", "gauge", "Live allocations per user");
	for (i = 0; i < snap->nusers; i++) {
		fputs("turnpike_user_allocations{realm=\"", f);
		metrics_escape(f, metrics_user_realm(snap, &snap->user[i]));
		fputs("\",user=\"", f);
		metrics_escape(f, snap->user[i].name);
		fprintf(f, "\"} %" PRIu64 "\n", snap->user[i].allocations);
	}
	metrics_one(f, "turnpike_user_series_dropped", "gauge",
	    "Users left out of the per-user series (more than 1000), and ended sessions of "
	    "users past that cap",
	    snap->users_dropped);
}

static void
metrics_realms(FILE *f, const struct metrics_snapshot *snap)
{
	bool server = false;
	size_t i;

	metrics_head(f, "turnpike_realm_allocations", "gauge",
	    "Live allocations per realm (the realm their credentials verified in)");
	for (i = 0; i < snap->nrealms; i++) {
		metrics_realm(f, "turnpike_realm_allocations", snap->realms[i].name,
		    snap->realms[i].allocations);
		server = server || strcmp(snap->realms[i].name, snap->realm) == 0;
	}
	if (!server)
		metrics_realm(f, "turnpike_realm_allocations", snap->realm, 0);
}

/* turnpike_realm_relayed_{packets,bytes}_total{realm,direction}. */
static void
metrics_realm_traffic(FILE *f, const struct metrics_snapshot *snap, bool bytes)
{
	const char *name =
	    bytes ? "turnpike_realm_relayed_bytes_total" : "turnpike_realm_relayed_packets_total";
	const struct metrics_counts *c;
	size_t i;

	metrics_head(f, name, "counter",
	    bytes ? "Payload bytes relayed per realm (the first 100 realms seen; the others "
		    "under realm=\"_other\"), live sessions included"
		  : "Packets relayed per realm (the first 100 realms seen; the others under "
		    "realm=\"_other\"), live sessions included");
	for (i = 0; i < snap->nrealm_traffic; i++) {
		c = &snap->realm_traffic[i].c;
		fprintf(f, "%s{realm=\"", name);
		metrics_escape(f, snap->realm_traffic[i].name);
		fprintf(f, "\",direction=\"to_peer\"} %" PRIu64 "\n",
		    bytes ? c->to_peer_bytes : c->to_peer_packets);
		fprintf(f, "%s{realm=\"", name);
		metrics_escape(f, snap->realm_traffic[i].name);
		fprintf(f, "\",direction=\"to_client\"} %" PRIu64 "\n",
		    bytes ? c->to_client_bytes : c->to_client_packets);
	}
}

int
metrics_render(FILE *f, const struct metrics_snapshot *snap)
{
	struct metrics_sum s;

	metrics_sum(snap, &s);
	metrics_stun(f, &s);
	metrics_traffic_all(f, snap, &s);
	metrics_allocations(f, &s);
	metrics_realms(f, snap);
	if (snap->realm_traffic != NULL) {
		metrics_realm_traffic(f, snap, false);
		metrics_realm_traffic(f, snap, true);
	}
	metrics_auth(f, &s);
	metrics_latency(f, &s.latency);
	metrics_process(f, snap, &s);
	metrics_workers_all(f, snap);
	metrics_drops_all(f, snap);
	if (snap->user != NULL)
		metrics_users(f, snap);
	return ferror(f) ? -1 : 0;
}

/* The realm NULL (the server's) sorts first. */
static int
metrics_realm_cmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int
metrics_user_cmp(const void *a, const void *b)
{
	const struct metrics_user *ua = a, *ub = b;
	int c = metrics_realm_cmp(ua->realm, ub->realm);

	return c != 0 ? c : strcmp(ua->name, ub->name);
}

static void
metrics_user_clear(struct metrics_user *u)
{
	free(u->realm);
	free(u->name);
}

size_t
metrics_users_collapse(struct metrics_user *v, size_t n, size_t cap, size_t *dropped)
{
	size_t i, out = 0;

	*dropped = 0;
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, metrics_user_cmp);
	for (i = 1; i < n; i++) {
		if (metrics_user_cmp(&v[i], &v[out]) == 0) {
			v[out].allocations += v[i].allocations;
			v[out].to_peer_packets += v[i].to_peer_packets;
			v[out].to_peer_bytes += v[i].to_peer_bytes;
			v[out].to_client_packets += v[i].to_client_packets;
			v[out].to_client_bytes += v[i].to_client_bytes;
			metrics_user_clear(&v[i]);
		} else
			v[++out] = v[i];
	}
	for (i = ++out; i > cap; i--) {
		metrics_user_clear(&v[i - 1]);
		(*dropped)++;
	}
	return out < cap ? out : cap;
}

int
metrics_usertab_add(struct metrics_usertab *tab, const char *realm, const char *user,
    const struct metrics_user *traffic)
{
	struct metrics_user *u = NULL, *nv;
	size_t i, cap;

	for (i = 0; i < tab->n && u == NULL; i++)
		u = metrics_realm_cmp(tab->v[i].realm, realm) == 0 &&
			strcmp(tab->v[i].name, user) == 0
		    ? &tab->v[i]
		    : NULL;
	if (u == NULL && tab->n == METRICS_USERS_MAX) {
		tab->dropped++;
		return 0;
	}
	if (u == NULL && tab->n == tab->cap) {
		cap = tab->cap == 0 ? 16 : tab->cap * 2;
		if ((nv = reallocarray(tab->v, cap, sizeof *nv)) == NULL)
			return -1;
		tab->v = nv;
		tab->cap = cap;
	}
	if (u == NULL) {
		u = &tab->v[tab->n];
		memset(u, 0, sizeof *u);
		if ((u->name = strdup(user)) == NULL ||
		    (realm != NULL && (u->realm = strdup(realm)) == NULL)) {
			metrics_user_clear(u);
			return -1;
		}
		tab->n++;
	}
	u->to_peer_packets += traffic->to_peer_packets;
	u->to_peer_bytes += traffic->to_peer_bytes;
	u->to_client_packets += traffic->to_client_packets;
	u->to_client_bytes += traffic->to_client_bytes;
	return 0;
}

void
metrics_usertab_free(struct metrics_usertab *tab)
{
	size_t i;

	for (i = 0; i < tab->n; i++)
		metrics_user_clear(&tab->v[i]);
	free(tab->v);
	memset(tab, 0, sizeof *tab);
}
