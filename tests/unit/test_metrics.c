/* Unit tests for the Prometheus text rendering of a metrics snapshot. */
#include <stdint.h>
#include <stdio.h>

#include "turnpike/metrics.h"
#include "unit.h"

static char *
render(const struct metrics_snapshot *snap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	if (metrics_render(f, snap) != 0) {
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	return text;
}

static char *
escaped(const char *value)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	metrics_escape(f, value);
	fclose(f);
	return text;
}

/* The value of the sample line that starts with "series ", or -1. */
static long long
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;
	long long v;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ' && sscanf(p + n + 1, "%lld", &v) == 1)
			return v;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

static void
test_escape(void)
{
	char *e = escaped("a\\b\"c\nd");

	CHECKM(e != NULL && strcmp(e, "a\\\\b\\\"c\\nd") == 0, "backslash, quote, newline escaped");
	free(e);
	e = escaped("plain");
	CHECK(e != NULL && strcmp(e, "plain") == 0);
	free(e);
}

static void
test_histogram(void)
{
	struct metrics_histogram h, sum;

	memset(&h, 0, sizeof h);
	metrics_histogram_observe(&h, 50);      /* first bucket, 100 us */
	metrics_histogram_observe(&h, 100);     /* le is inclusive: still the first */
	metrics_histogram_observe(&h, 101);     /* 250 us */
	metrics_histogram_observe(&h, 2000000); /* past 1 s: +Inf */
	CHECK(h.bucket[0] == 2 && h.bucket[1] == 1 && h.bucket[METRICS_LATENCY_BUCKETS] == 1);
	CHECK(h.count == 4 && h.sum_us == 50 + 100 + 101 + 2000000);
	memset(&sum, 0, sizeof sum);
	metrics_histogram_add(&sum, &h);
	metrics_histogram_add(&sum, &h);
	CHECKM(sum.count == 8 && sum.bucket[0] == 4 && sum.sum_us == 2 * h.sum_us,
	    "histograms add bucket by bucket");
}

static void
test_render(void)
{
	struct metrics_worker w[2];
	struct metrics_user users[2];
	struct metrics_snapshot snap;
	char bob[] = "bob\n", realm_b[] = "b.example";
	char *text;

	memset(w, 0, sizeof w);
	memset(users, 0, sizeof users);
	memset(&snap, 0, sizeof snap);
	w[0].turn.binding_requests = 3;
	w[1].turn.binding_requests = 4;
	w[0].turn.binding_responses = 7;
	w[0].turn.auth_failures = 2;
	w[1].turn.auth_failures_438 = 1;
	w[0].turn.client_to_peer_packets = 10;
	w[1].turn.client_to_peer_bytes = 1000;
	w[1].turn.peer_to_client_packets = 5;
	w[0].allocations[0] = 1;
	w[1].allocations[0] = 2;
	w[1].allocations[2] = 1;
	w[1].allocations[3] = 4;
	w[0].dtls_sessions = 2;
	w[1].dtls_sessions = 3;
	w[1].dtls_hello_verify = 9;
	w[0].udp_in = 11;
	w[1].udp_in = 22;
	w[1].tls_handshake_failures = 6;
	w[0].turn.no_permission_drops = 4;
	w[1].turn.no_permission_drops = 5;
	w[1].relay.bps_dropped_packets = 8;
	w[0].unauth_dropped = 2;
	w[1].turn.auth_throttled = 3;
	metrics_histogram_observe(&w[0].allocate_latency, 200);
	metrics_histogram_observe(&w[1].allocate_latency, 3000);
	metrics_histogram_observe(&w[1].allocate_latency, 5000000);
	snap.realm = "ex\"ample";
	snap.worker = w;
	snap.nworkers = 2;
	snap.ports_used = 30;
	snap.ports_total = 100;
	snap.ready = true;
	text = render(&snap);
	CHECKM(text != NULL, "renders");
	if (text == NULL)
		return;
	CHECK(strstr(text, "# HELP stun_binding_request ") != NULL);
	CHECK(strstr(text, "# TYPE stun_binding_request counter\n") != NULL);
	CHECKM(sample(text, "stun_binding_request") == 7, "workers summed");
	CHECK(sample(text, "stun_binding_response") == 7);
	CHECK(strstr(text, "# TYPE turn_total_allocations gauge\n") != NULL);
	CHECK(sample(text, "turn_total_allocations{type=\"UDP\"}") == 3);
	CHECK(sample(text, "turn_total_allocations{type=\"TCP\"}") == 0);
	CHECK(sample(text, "turn_total_allocations{type=\"TLS/TCP\"}") == 1);
	CHECK(sample(text, "turn_total_allocations{type=\"DTLS\"}") == 4);
	CHECKM(sample(text, "turnpike_dtls_sessions") == 5, "DTLS sessions summed");
	CHECK(sample(text, "turnpike_worker_dtls_hello_verify_total{worker=\"1\"}") == 9);
	CHECKM(sample(text, "turn_traffic_rcvp{realm=\"ex\\\"ample\"}") == 10,
	    "realm label escaped");
	CHECK(sample(text, "turn_traffic_peer_sentb{realm=\"ex\\\"ample\"}") == 1000);
	CHECK(sample(text, "turn_total_traffic_sentp") == 5);
	CHECK(sample(text, "turn_total_traffic_peer_rcvp") == 5);
	CHECK(sample(text, "turnpike_auth_failures_total{code=\"401\"}") == 2);
	CHECK(sample(text, "turnpike_auth_failures_total{code=\"438\"}") == 1);
	CHECK(strstr(text, "# TYPE turnpike_allocate_latency_seconds histogram\n") != NULL);
	CHECK(sample(text, "turnpike_allocate_latency_seconds_bucket{le=\"0.0001\"}") == 0);
	CHECK(sample(text, "turnpike_allocate_latency_seconds_bucket{le=\"0.00025\"}") == 1);
	CHECKM(sample(text, "turnpike_allocate_latency_seconds_bucket{le=\"0.005\"}") == 2,
	    "buckets are cumulative");
	CHECK(sample(text, "turnpike_allocate_latency_seconds_bucket{le=\"1\"}") == 2);
	CHECKM(sample(text, "turnpike_allocate_latency_seconds_bucket{le=\"+Inf\"}") == 3,
	    "+Inf bucket holds every observation");
	CHECK(sample(text, "turnpike_allocate_latency_seconds_count") == 3);
	CHECK(strstr(text, "turnpike_allocate_latency_seconds_sum 5.003200\n") != NULL);
	CHECK(sample(text, "turnpike_relay_ports_used") == 30);
	CHECK(sample(text, "turnpike_relay_ports_free") == 70);
	CHECK(sample(text, "turnpike_tls_handshake_failures_total") == 6);
	CHECK(sample(text, "turnpike_ready") == 1);
	CHECK(sample(text, "turnpike_worker_udp_received_packets_total{worker=\"0\"}") == 11);
	CHECK(sample(text, "turnpike_worker_udp_received_packets_total{worker=\"1\"}") == 22);
	CHECK(strstr(text, "# TYPE turnpike_dropped_packets_total counter\n") != NULL);
	CHECKM(sample(text, "turnpike_dropped_packets_total{reason=\"no_permission\"}") == 9,
	    "drops by reason: workers summed");
	CHECK(sample(text, "turnpike_dropped_packets_total{reason=\"bandwidth_limit\"}") == 8);
	CHECK(sample(text, "turnpike_dropped_packets_total{reason=\"unauth_rate_limit\"}") == 2);
	CHECK(sample(text, "turnpike_dropped_packets_total{reason=\"auth_throttled\"}") == 3);
	CHECK(sample(text, "turnpike_dropped_packets_total{reason=\"peer_too_large\"}") == 0);
	CHECKM(strstr(text, "user=") == NULL, "no user labels without username labels");
	free(text);

	users[0].name = bob;
	users[0].allocations = 2;
	users[0].to_peer_packets = 4;
	users[0].to_peer_bytes = 9;
	users[1] = users[0];
	users[1].realm = realm_b;
	users[1].allocations = 1;
	snap.user = users;
	snap.nusers = 2;
	text = render(&snap);
	CHECK(text != NULL &&
	    sample(text, "turnpike_user_allocations{realm=\"ex\\\"ample\",user=\"bob\\n\"}") == 2);
	CHECKM(text != NULL &&
		sample(text, "turn_traffic_rcvb{realm=\"ex\\\"ample\",user=\"bob\\n\"}") == 9 &&
		sample(text, "turn_traffic_peer_sentp{realm=\"ex\\\"ample\",user=\"bob\\n\"}") == 4,
	    "username labels: coturn's turn_traffic_* per realm and user");
	CHECKM(text != NULL && sample(text, "turn_traffic_rcvb{realm=\"ex\\\"ample\"}") == -1 &&
		sample(text, "turn_total_traffic_peer_sentb") == 1000,
	    "... instead of per realm; the totals stay");
	CHECKM(text != NULL &&
		sample(text, "turnpike_user_allocations{realm=\"b.example\",user=\"bob\\n\"}") ==
		    1 &&
		sample(text, "turn_traffic_rcvb{realm=\"b.example\",user=\"bob\\n\"}") == 9,
	    "a user of another realm: its series carry the realm it verified in");
	free(text);
}

static void
test_collapse(void)
{
	struct metrics_user v[5];
	size_t n, dropped;

	memset(v, 0, sizeof v);
	v[0].name = strdup("carol");
	v[1].name = strdup("alice");
	v[2].name = strdup("carol");
	v[3].name = strdup("bob");
	v[4].name = strdup("carol");
	v[4].realm = strdup("b.example");
	v[0].allocations = v[1].allocations = v[2].allocations = v[3].allocations = 1;
	v[4].allocations = 1;
	v[0].to_peer_bytes = 5;
	v[2].to_peer_bytes = 7;
	n = metrics_users_collapse(v, 5, 10, &dropped);
	CHECK(n == 4 && dropped == 0);
	CHECK(strcmp(v[0].name, "alice") == 0 && strcmp(v[2].name, "carol") == 0);
	CHECKM(v[2].allocations == 2 && v[2].to_peer_bytes == 12, "one user's sessions summed");
	CHECKM(v[2].realm == NULL && v[3].realm != NULL && strcmp(v[3].realm, "b.example") == 0 &&
		strcmp(v[3].name, "carol") == 0 && v[3].allocations == 1,
	    "the same name in another realm is another user");
	n = metrics_users_collapse(v, n, 2, &dropped);
	CHECKM(n == 2 && dropped == 2, "users past the cap are dropped and counted");
	free(v[0].name);
	free(v[1].name);
	CHECK(metrics_users_collapse(v, 0, 2, &dropped) == 0 && dropped == 0);
}

static void
test_usertab(void)
{
	struct metrics_usertab tab;
	struct metrics_user t = {.to_peer_packets = 1, .to_client_bytes = 10};
	char name[32];
	size_t i;
	int rc = 0;

	memset(&tab, 0, sizeof tab);
	CHECK(metrics_usertab_add(&tab, NULL, "alice", &t) == 0 &&
	    metrics_usertab_add(&tab, NULL, "bob", &t) == 0);
	CHECK(metrics_usertab_add(&tab, NULL, "alice", &t) == 0);
	CHECKM(tab.n == 2 && strcmp(tab.v[0].name, "alice") == 0 && tab.v[0].to_peer_packets == 2 &&
		tab.v[0].to_client_bytes == 20 && tab.v[1].to_peer_packets == 1,
	    "ended sessions add up per user");
	CHECK(metrics_usertab_add(&tab, "b.example", "alice", &t) == 0 &&
	    metrics_usertab_add(&tab, "b.example", "alice", &t) == 0);
	CHECKM(tab.n == 3 && tab.v[0].to_peer_packets == 2 && tab.v[2].realm != NULL &&
		strcmp(tab.v[2].realm, "b.example") == 0 && tab.v[2].to_peer_packets == 2,
	    "the same name in another realm adds up apart");
	for (i = 0; i < METRICS_USERS_MAX + 5; i++) {
		snprintf(name, sizeof name, "u%zu", i);
		rc |= metrics_usertab_add(&tab, NULL, name, &t);
	}
	CHECKM(rc == 0 && tab.n == METRICS_USERS_MAX && tab.dropped == 8,
	    "at most METRICS_USERS_MAX users; later ones are counted as dropped");
	metrics_usertab_free(&tab);
	CHECK(tab.n == 0 && tab.v == NULL);
}

int
main(void)
{
	test_escape();
	test_histogram();
	test_render();
	test_collapse();
	test_usertab();
	return unit_done();
}
