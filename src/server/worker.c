/*
 * Worker threads. A worker reads its UDP sockets in batches and hands STUN
 * messages and ChannelData to its TURN core; accepted TCP/TLS sockets arrive
 * through a locked queue and a notify pipe and become clientconn.c's
 * connections, whose frames come back here for the core. Relay sockets live
 * in relay.c.
 * All of a worker's state is touched by its thread only, except the queue
 * (under its lock) and the notify pipe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "turnpike/addr.h"
#include "turnpike/binding.h"
#include "turnpike/chandata.h"
#include "turnpike/clientconn.h"
#include "turnpike/creds.h"
#include "turnpike/dtls.h"
#include "turnpike/dtlsrec.h"
#include "turnpike/integrity.h"
#include "turnpike/listener.h"
#include "turnpike/log.h"
#include "turnpike/mobhandoff.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/portpool.h"
#include "turnpike/preamble.h"
#include "turnpike/proxymap.h"
#include "turnpike/proxyproto.h"
#include "turnpike/realmstats.h"
#include "turnpike/relay.h"
#include "turnpike/stun.h"
#include "turnpike/tbucket.h"
#include "turnpike/turn.h"
#include "turnpike/udpio.h"
#include "turnpike/worker.h"

#define WORKER_DGRAM_MAX 4096 /* larger datagrams are dropped */
#define WORKER_BATCHES 8      /* batches per wakeup before yielding */
/* Relayed data beyond this much unsent output is dropped, leaving room for answers. */
#define WORKER_CONN_RELAY_MAX (192 * 1024)
/* Sources tracked for unauth-rate-limit: bounded memory, least recently used evicted. */
#define WORKER_UNAUTH_SLOTS 4096
/* UDP clients one worker tracks behind PROXY v2 balancers (proxy-protocol=udp). */
#define WORKER_PROXY_CLIENTS 16384
/* At most one authentication failure warning per this many seconds. */
#define WORKER_AUTH_WARN_S 10

/* One accepted socket on its way to the worker. */
struct worker_item {
	int fd;
	bool tls;   /* reached the TLS port (the first byte decides what it speaks) */
	bool proxy; /* the listener takes a PROXY header first */
	struct sockaddr_storage peer;
	struct worker_item *next;
};

struct worker_udp {
	struct worker *w;
	int fd;
	struct sockaddr_storage addr; /* bound; a wildcard learns each local address */
	struct event *ev;
};

/* What became of a message before the core: hand it over, answered, or not STUN. */
enum worker_msg {
	WORKER_MSG_CORE = 0,
	WORKER_MSG_ANSWERED = 1,
	WORKER_MSG_NOT_STUN = -1,
};

struct worker {
	int id;
	const struct worker_setup *setup;
	struct event_base *base;
	pthread_t thread;
	bool started;

	/* The hand-off queue: the only state shared with other threads. */
	pthread_mutex_t lock;
	struct worker_item *head;
	struct worker_item *tail;
	struct worker_job *jobs; /* in reverse order of posting */
	bool stop;
	bool exited; /* the thread took the stop: jobs posted now are cancelled at once */
	struct worker_job ping;
	atomic_bool ping_pending; /* posted and not yet run */
	int notify[2];
	struct event *notify_ev;

	struct worker_udp *udp;
	size_t nudp;
	struct relay_client_sock *csocks; /* the UDP sockets, as relay.c sends to clients */
	struct clientconns *conns;        /* TCP and TLS clients */
	struct proxymap *proxied;         /* proxy-protocol=udp: client to balancer flow */
	struct udpio_rx *rx;
	struct turn *turn;
	struct relay *relay;
	struct dtls *dtls;            /* DTLS sessions on the UDP sockets */
	struct creds creds;           /* the server's, seen through relay.c */
	struct event *tick;           /* once a second: expiry */
	struct iplimit *unauth;       /* 401s per UDP source; NULL: no limit */
	struct tbucket answer_budget; /* unauth-answer-budget's share, when set */
	uint8_t tx[TURN_RESPONSE_MAX];
	uint64_t rx_us; /* when the input being handled was read, monotonic */
	struct worker_stats stats;
	struct metrics_usertab ended; /* with setup->user_stats */
	struct worker **peers;        /* every worker, by id (CONNECTION-BIND handoff) */
	size_t npeers;
	struct mobhandoff *mob; /* RFC 8016 moves across workers */
};

static bool worker_mobility_route(struct worker_udp *, const struct turn_5tuple *,
    const struct stun_msg *, const uint8_t *, size_t);

/*
 * Decodes a message for the core. A request with malformed attributes is
 * answered 400 here (the Binding service builds it from the header); bytes
 * that are not STUN, or fail their FINGERPRINT (RFC 8489 §7.3), are not STUN.
 */
static enum worker_msg
worker_decode(struct worker *w, struct stun_msg *m, const uint8_t *p, size_t len,
    const struct sockaddr *src, size_t *outlen)
{
	const char *errstr;
	int rc;

	*outlen = 0;
	rc = stun_decode(m, p, len, &errstr);
	if (rc == STUN_DECODE_MALFORMED) {
		if (binding_process(w->setup->binding, p, len, src, w->tx, sizeof w->tx, outlen) !=
		    BINDING_REPLY)
			*outlen = 0;
		return WORKER_MSG_ANSWERED;
	}
	if (rc != STUN_DECODE_OK || (m->fingerprint >= 0 && !integrity_fingerprint_ok(m)))
		return WORKER_MSG_NOT_STUN;
	return WORKER_MSG_CORE;
}

/* unauth-rate-limit: false when a 401 to this source is one too many this second. */
static bool
worker_unauth_ok(struct worker *w, const struct sockaddr *src, const struct turn_now *now)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)src;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)src;

	if (src->sa_family == AF_INET)
		return iplimit_take(w->unauth, &sin->sin_addr, 4, now->mono_ms);
	return iplimit_take(w->unauth, &sin6->sin6_addr, 16, now->mono_ms);
}

static uint64_t
worker_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
worker_mono_ms(void)
{
	return worker_now_us() / 1000;
}

/* An Allocate answered with success (RFC 8489 §5: class bits C1 set, C0 clear): its latency. */
static void
worker_allocate_done(struct worker *w, const struct stun_msg *m, const uint8_t *out, size_t len)
{
	if (m->method != STUN_ALLOCATE || m->cls != STUN_REQUEST || len < 2 ||
	    (out[0] & 0x01) == 0 || (out[1] & 0x10) != 0)
		return;
	metrics_histogram_observe(&w->stats.allocate_latency, worker_now_us() - w->rx_us);
}

/*
 * A request with wrong credentials: a warning an operator (or fail2ban) can
 * act on, at most one per WORKER_AUTH_WARN_S so that a guessing client cannot
 * flood the log.
 */
static void
worker_warn_auth(const struct turn_reply *reply, const struct sockaddr *client)
{
	char addr[ADDR_STRLEN];

	if (!reply->auth_failed)
		return;
	log_warnx_limited("auth-failure", WORKER_AUTH_WARN_S,
	    "authentication failed (401: unknown user or bad password) for client %s",
	    addr_fmt(client, true, addr, sizeof addr));
}

/* At debug level, a line per message the core handled: never its attributes. */
static void
worker_log_msg(const char *session, const char *transport, const struct stun_msg *m,
    const struct sockaddr *client, size_t outlen)
{
	char addr[ADDR_STRLEN];

	if (!log_level_enabled(LOG_LEVEL_DEBUG))
		return;
	log_session(LOG_LEVEL_DEBUG, session, addr_fmt(client, true, addr, sizeof addr),
	    "%s %s %s, %zu byte answer", transport, stun_method_name(m->method),
	    m->cls == STUN_REQUEST ? "request" : "indication", outlen);
}

/* RFC 8016: an allocation moved to a new 5-tuple (on this worker, whichever received it). */
static void
worker_log_moved(const struct worker *w, const struct turn_reply *reply,
    const struct turn_5tuple *t)
{
	char from[ADDR_STRLEN], to[ADDR_STRLEN], session[32];

	snprintf(session, sizeof session, "w%d", w->id);
	log_session(LOG_LEVEL_INFO, session,
	    addr_fmt((const struct sockaddr *)&t->client, true, to, sizeof to),
	    "allocation moved here from %s (RFC 8016 mobility)",
	    addr_fmt((const struct sockaddr *)&reply->moved_from.client, true, from, sizeof from));
}

/*
 * A decoded message from a datagram client (UDP, or DTLS with its session as
 * conn) to the core; the answer is in w->tx.
 */
static void
worker_dgram_core(struct worker *w, const struct turn_5tuple *t, struct relay_conn *conn,
    const struct stun_msg *m, const struct turn_now *now, size_t *outlen, struct turn_reply *reply)
{
	char session[32];

	relay_begin(w->relay, conn);
	turn_handle_message(w->turn, t, conn, m, now, w->tx, sizeof w->tx, outlen, reply);
	relay_end(w->relay);
	worker_warn_auth(reply, (const struct sockaddr *)&t->client);
	if (reply->moved)
		worker_log_moved(w, reply, t);
	if (log_level_enabled(LOG_LEVEL_DEBUG)) {
		snprintf(session, sizeof session, "w%d", w->id);
		worker_log_msg(session, t->transport == TURN_DTLS ? "DTLS" : "UDP", m,
		    (const struct sockaddr *)&t->client, *outlen);
	}
}

/*
 * RFC 5780: a Binding answer that leaves from another of our UDP addresses
 * (CHANGE-REQUEST) or goes to another port of the client (RESPONSE-PORT).
 * The core chose from among our listening addresses and to at the client's
 * IP; a socket bound to from (or a wildcard one at its port) sends it.
 */
static void
worker_udp_rerouted(struct worker *w, const struct turn_reply *reply, size_t outlen)
{
	const struct sockaddr *from = (const struct sockaddr *)&reply->from;
	const struct worker_udp *u = NULL;
	size_t i;

	for (i = 0; i < w->nudp && u == NULL; i++) {
		const struct sockaddr *a = (const struct sockaddr *)&w->udp[i].addr;
		if (addr_equal(a, from) ||
		    (addr_is_any(a) && a->sa_family == from->sa_family &&
			addr_port(a) == addr_port(from)))
			u = &w->udp[i];
	}
	if (u == NULL ||
	    udpio_send(u->fd, addr_is_any((const struct sockaddr *)&u->addr) ? from : NULL,
		(const struct sockaddr *)&reply->to, w->tx, outlen) != 0) {
		w->stats.udp_dropped++;
		return;
	}
	w->stats.udp_out++;
}

/*
 * A STUN message from a UDP client: the answer leaves from the address it
 * reached. routed: another worker received it for us (RFC 8016 move).
 */
static void
worker_udp_stun(struct worker_udp *u, const struct turn_5tuple *t, const uint8_t *p, size_t len,
    const struct turn_now *now, bool routed)
{
	struct worker *w = u->w;
	struct stun_msg m;
	size_t outlen;
	enum worker_msg what;
	struct turn_reply reply;
	const struct sockaddr *to;

	what = worker_decode(w, &m, p, len, (const struct sockaddr *)&t->client, &outlen);
	if (what == WORKER_MSG_CORE && !routed && worker_mobility_route(u, t, &m, p, len))
		return;
	if (what == WORKER_MSG_CORE) {
		worker_dgram_core(w, t, NULL, &m, now, &outlen, &reply);
		if (outlen > 0 && w->unauth != NULL && reply.unauthenticated &&
		    !worker_unauth_ok(w, (const struct sockaddr *)&t->client, now)) {
			w->stats.unauth_dropped++;
			return; /* silence: no reflection beyond the limit */
		}
	}
	/* unauth-answer-budget: what anybody may make us send, spoofing any source. */
	if (outlen > 0 && w->setup->unauth_answer_budget > 0 &&
	    (what != WORKER_MSG_CORE || !reply.authenticated) &&
	    !tbucket_take(&w->answer_budget, outlen, now->mono_ms)) {
		w->stats.unauth_budget_dropped++;
		return;
	}
	if (outlen == 0) {
		if (what != WORKER_MSG_CORE)
			w->stats.udp_dropped++; /* not STUN: silence (indications need none) */
		return;
	}
	to = proxymap_get(w->proxied, (const struct sockaddr *)&t->client);
	if (what == WORKER_MSG_CORE && reply.rerouted) {
		/* RFC 5780 behind a PROXY-protocol balancer: our other address is not the client's. */
		if (to != NULL)
			w->stats.udp_dropped++;
		else
			worker_udp_rerouted(w, &reply, outlen);
		return;
	}
	if (to == NULL)
		to = (const struct sockaddr *)&t->client;
	if (udpio_send(u->fd,
		addr_is_any((const struct sockaddr *)&u->addr) ? (const struct sockaddr *)&t->server
							       : NULL,
		to, w->tx, outlen) != 0)
		w->stats.udp_dropped++; /* full socket buffer: like a lost packet */
	else {
		w->stats.udp_out++;
		if (what == WORKER_MSG_CORE)
			worker_allocate_done(w, &m, w->tx, outlen);
	}
}

/*
 * UDP or DTLS ChannelData from t. Only a 5-tuple with no allocation here asks
 * the mobility routes (u: the socket it came in on; NULL when it was handed
 * over already or came over DTLS), so relayed traffic pays no route lookup.
 */
static void
worker_udp_chandata(struct worker *w, struct worker_udp *u, const struct turn_5tuple *t,
    const uint8_t *p, size_t len, const struct turn_now *now)
{
	const uint8_t *data;
	const char *errstr;
	size_t dlen, used;
	uint16_t ch;

	if (chandata_decode(p, len, false, &ch, &data, &dlen, &used, &errstr) != 0) {
		w->stats.udp_dropped++;
		return;
	}
	if (turn_handle_chandata(w->turn, t, ch, data, dlen, now) == 0)
		return;
	if (u == NULL || !mobhandoff_chandata(w->mob, (size_t)(u - w->udp), t, p, len))
		turn_drop_unowned(w->turn);
}

/*
 * proxy-protocol=udp: a datagram from a trusted balancer starts with a PROXY
 * v2 header naming the client. The header is stripped, the client is the
 * header's source, and answers to it go back to the balancer's flow (src).
 * 0: *p, *len and *client set; -1: dropped and counted.
 */
static int
worker_udp_unproxy(struct worker *w, const struct sockaddr *src, const uint8_t **p, size_t *len,
    struct sockaddr_storage *client, const struct turn_now *now)
{
	enum preamble_status why = PREAMBLE_MALFORMED;
	struct proxyproto_hdr h;
	const char *errstr;
	size_t used;

	if (!peerpolicy_range_has(w->setup->proxy_from, w->setup->nproxy_from, src))
		why = PREAMBLE_UNTRUSTED;
	else if (proxyproto_parse(*p, *len, &h, &used, &errstr) == PROXYPROTO_OK &&
	    h.version == 2) {
		if (h.local) /* a health check: the balancer itself */
			memcpy(client, src, addr_len(src));
		else if (proxymap_put(w->proxied, (const struct sockaddr *)&h.src, src,
			     now->mono_ms) != 0) {
			w->stats.udp_dropped++; /* the table is full */
			return -1;
		} else
			*client = h.src;
		*p += used;
		*len -= used;
		return 0;
	}
	w->stats.proxy_refused[why]++;
	w->stats.udp_dropped++;
	return -1;
}

/*
 * One datagram, by its first byte (RFC 7983): STUN, DTLS (with DTLS on) or
 * ChannelData; anything else is dropped.
 */
static void
worker_udp_datagram(struct worker_udp *u, int i, const struct turn_now *now)
{
	struct worker *w = u->w;
	const struct sockaddr *src = udpio_src(w->rx, i), *dst = udpio_dst(w->rx, i);
	struct turn_5tuple t;
	const uint8_t *p;
	size_t len;

	w->stats.udp_in++;
	p = udpio_data(w->rx, i, &len);
	memcpy(&t.client, src, addr_len(src));
	if (w->proxied != NULL && worker_udp_unproxy(w, src, &p, &len, &t.client, now) != 0)
		return;
	memcpy(&t.server, dst, addr_len(dst));
	t.transport = TURN_UDP;
	switch (dtlsrec_classify(p, len)) {
	case DTLSREC_STUN:
		worker_udp_stun(u, &t, p, len, now, false);
		break;
	case DTLSREC_CHANDATA:
		worker_udp_chandata(w, u, &t, p, len, now);
		break;
	case DTLSREC_DTLS:
		/* Not behind proxy-protocol=udp: records would go to the client, not the balancer. */
		if (w->dtls != NULL && w->proxied == NULL) {
			t.transport = TURN_DTLS;
			dtls_input(w->dtls, u->fd, (const struct sockaddr *)&u->addr, &t, p, len,
			    now);
			break;
		}
		/* FALLTHROUGH */
	default:
		w->stats.udp_dropped++;
		break;
	}
}

/*
 * On the worker whose socket received a STUN message m from t: true when it
 * went to the worker serving t (mobhandoff.h). Only with peers is the ticket opened.
 */
static bool
worker_mobility_route(struct worker_udp *u, const struct turn_5tuple *t, const struct stun_msg *m,
    const uint8_t *p, size_t len)
{
	struct worker *w = u->w;
	uint8_t tag;

	return mobhandoff_stun(w->mob, (size_t)(u - w->udp), t,
	    w->npeers > 1 && turn_mobility_tag(w->turn, m, &tag) == 0 ? tag : -1, p, len);
}

/* A job for worker n (RFC 8016 datagrams, RFC 6062 connections). */
static void
worker_peer_post(void *arg, size_t n, struct worker_job *job)
{
	struct worker *w = arg;

	worker_post(w->peers[n], job);
}

/* On the serving worker: a datagram another worker received for us. */
static void
worker_mob_deliver(void *arg, size_t udp, const struct turn_5tuple *t, const uint8_t *p, size_t len,
    const struct turn_now *now)
{
	struct worker *w = arg;

	w->rx_us = worker_now_us();
	if (dtlsrec_classify(p, len) == DTLSREC_STUN)
		worker_udp_stun(&w->udp[udp], t, p, len, now, true);
	else
		worker_udp_chandata(w, NULL, t, p, len, now);
	relay_flush_peers(w->relay);
}

static bool
worker_mob_has_allocation(void *arg, const struct turn_5tuple *t, uint64_t now_ms)
{
	struct worker *w = arg;

	return turn_has_allocation(w->turn, t, now_ms);
}

static void
worker_mob_drop(void *arg)
{
	struct worker *w = arg;

	w->stats.udp_dropped++;
}

static const struct mobhandoff_ops worker_mob_ops = {
    .post = worker_peer_post,
    .deliver = worker_mob_deliver,
    .has_allocation = worker_mob_has_allocation,
    .drop = worker_mob_drop,
};

/* A decrypted record from a DTLS client: handled as from a UDP client, answered in DTLS. */
static void
worker_dtls_deliver(void *arg, struct dtls_session *s, const uint8_t *p, size_t len,
    const struct turn_now *now)
{
	struct worker *w = arg;
	const struct turn_5tuple *t = dtls_session_tuple(s);
	struct stun_msg m;
	struct turn_reply reply;
	size_t outlen;
	enum worker_msg what;

	switch (dtlsrec_classify(p, len)) {
	case DTLSREC_STUN:
		what = worker_decode(w, &m, p, len, (const struct sockaddr *)&t->client, &outlen);
		if (what == WORKER_MSG_CORE)
			worker_dgram_core(w, t, dtls_session_conn(s), &m, now, &outlen, &reply);
		else if (what == WORKER_MSG_NOT_STUN)
			w->stats.udp_dropped++;
		if (outlen > 0 && dtls_send(s, w->tx, outlen) == 0 && what == WORKER_MSG_CORE)
			worker_allocate_done(w, &m, w->tx, outlen);
		break;
	case DTLSREC_CHANDATA:
		worker_udp_chandata(w, NULL, t, p, len, now);
		break;
	default:
		w->stats.udp_dropped++;
		break;
	}
}

/* A DTLS session ended: its allocation ends with it (RFC 8656 §3.1, as over TLS). */
static void
worker_dtls_gone(void *arg, struct dtls_session *s)
{
	struct worker *w = arg;

	turn_handle_disconnect(w->turn, dtls_session_tuple(s));
	relay_conn_gone(w->relay, dtls_session_conn(s));
}

static void
worker_udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct worker_udp *u = arg;
	struct turn_now now;
	int i, n, round;

	relay_now(&now);
	u->w->rx_us = worker_now_us();
	for (round = 0; round < WORKER_BATCHES; round++) {
		if ((n = udpio_recv(u->w->rx, fd, (const struct sockaddr *)&u->addr)) == 0)
			break;
		for (i = 0; i < n; i++)
			worker_udp_datagram(u, i, &now);
		if (n < UDPIO_BATCH)
			break;
	}
	relay_flush_peers(u->w->relay);
}

/* What the connections read of the setup. */
static void
worker_conn_config(const struct worker_setup *setup, struct clientconn_config *cc)
{
	cc->verbose = setup->verbose;
	cc->input_budget = setup->stream_input_budget;
	cc->connlimit = setup->connlimit;
	cc->ssl_ctx = setup->ssl_ctx;
	cc->proxy_from = setup->proxy_from;
	cc->nproxy_from = setup->nproxy_from;
}

static void
worker_conn_input(void *arg)
{
	struct worker *w = arg;

	w->rx_us = worker_now_us();
}

/* One complete STUN frame from a TCP/TLS client: to the core, or close on one that is not STUN. */
static int
worker_conn_stun(void *arg, struct clientconn *c, const uint8_t *p, size_t len,
    const struct turn_now *now)
{
	struct worker *w = arg;
	const struct turn_5tuple *t = clientconn_tuple(c);
	const struct sockaddr *client = (const struct sockaddr *)&t->client;
	struct bufferevent *bev;
	struct stun_msg m;
	size_t outlen;
	struct turn_reply reply;
	char session[32];
	uint8_t tag;
	int rc = 0;
	bool core = false;

	switch (worker_decode(w, &m, p, len, client, &outlen)) {
	case WORKER_MSG_NOT_STUN:
		clientconn_finish(c, "not a STUN message", true);
		return -1;
	case WORKER_MSG_CORE:
		if (turn_connection_tag(&m, &tag) == 0 && clientconn_handoff(c, tag) == 0)
			return -1; /* another worker's CONNECTION-ID: it answers */
		core = true;
		clientconn_set_stun(c);
		relay_begin(w->relay, clientconn_relay(c));
		rc = turn_handle_message(w->turn, t, clientconn_relay(c), &m, now, w->tx,
		    sizeof w->tx, &outlen, &reply);
		relay_end(w->relay);
		worker_warn_auth(&reply, client);
		if (log_level_enabled(LOG_LEVEL_DEBUG)) {
			clientconn_session(c, session, sizeof session);
			worker_log_msg(session, t->transport == TURN_TLS ? "TLS" : "TCP", &m,
			    client, outlen);
		}
		break;
	case WORKER_MSG_ANSWERED:
		break;
	}
	if (outlen > 0 && clientconn_write(c, w->tx, outlen) != 0)
		return -1;
	if (core && outlen > 0 && rc == 0)
		worker_allocate_done(w, &m, w->tx, outlen);
	if (rc != 0) {
		clientconn_finish(c, "ended by the TURN core", true);
		return -1;
	}
	if (core && reply.bound != NULL) {
		/* RFC 6062 §5.4: raw bytes from now on, between the client and its peer. */
		if ((bev = clientconn_bound(c, len, outlen)) != NULL)
			relay_splice(w->relay, reply.bound, bev);
		return -1;
	}
	return 0;
}

static void
worker_conn_chandata(void *arg, struct clientconn *c, uint16_t ch, const uint8_t *data, size_t len,
    const struct turn_now *now)
{
	struct worker *w = arg;

	if (turn_handle_chandata(w->turn, clientconn_tuple(c), ch, data, len, now) != 0)
		turn_drop_unowned(w->turn);
}

/* The allocation of a connection ends with it (RFC 8656 §3.1). */
static void
worker_conn_gone(void *arg, const struct turn_5tuple *t, struct relay_conn *rc, bool stun)
{
	struct worker *w = arg;

	if (stun)
		turn_handle_disconnect(w->turn, t);
	relay_conn_gone(w->relay, rc);
}

static const struct clientconn_ops worker_conn_ops = {
    .input = worker_conn_input,
    .stun = worker_conn_stun,
    .chandata = worker_conn_chandata,
    .gone = worker_conn_gone,
    .post = worker_peer_post,
};
static void
worker_run_jobs(struct worker *w, struct worker_job *job)
{
	struct worker_job *next;
	struct turn_now now;

	relay_now(&now);
	for (; job != NULL; job = next) {
		next = job->next; /* run may hand job back to its owner */
		job->run(job, w->turn, &now);
	}
}

/* Jobs the worker will never run: their owners hear of it. */
static void
worker_cancel_jobs(struct worker_job *job)
{
	struct worker_job *next;

	for (; job != NULL; job = next) {
		next = job->next;
		if (job->cancel != NULL)
			job->cancel(job);
	}
}

/* The notify pipe fired: take the whole queue, open its connections, run its jobs. */
static void
worker_notify_read(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct worker_item *it, *next;
	struct worker_job *jobs;
	char drain[64];
	bool stop;

	while (read(fd, drain, sizeof drain) > 0)
		continue;
	pthread_mutex_lock(&w->lock);
	it = w->head;
	w->head = w->tail = NULL;
	jobs = w->jobs;
	w->jobs = NULL;
	stop = w->stop;
	w->exited = stop;
	pthread_mutex_unlock(&w->lock);
	if (!stop)
		worker_run_jobs(w, jobs);
	else
		worker_cancel_jobs(jobs);
	for (; it != NULL; it = next) {
		next = it->next;
		clientconns_accept(w->conns, it->fd, (const struct sockaddr *)&it->peer, it->tls,
		    it->proxy);
		free(it);
	}
	if (stop)
		event_base_loopbreak(w->base);
}

static void
worker_notify(struct worker *w)
{
	if (write(w->notify[1], "", 1) == -1) {
		/* EAGAIN: the pipe is full, so the worker is awake anyway */
	}
}

int
worker_pass(struct worker *w, int fd, const struct sockaddr *peer, bool tls, bool proxy)
{
	struct worker_item *it;

	if ((it = calloc(1, sizeof *it)) == NULL)
		return -1;
	it->fd = fd;
	it->tls = tls;
	it->proxy = proxy;
	memcpy(&it->peer, peer, addr_len(peer));
	pthread_mutex_lock(&w->lock);
	if (w->tail != NULL)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	pthread_mutex_unlock(&w->lock);
	worker_notify(w);
	return 0;
}

void
worker_post(struct worker *w, struct worker_job *job)
{
	bool exited;

	pthread_mutex_lock(&w->lock);
	exited = w->exited;
	if (!exited) {
		job->next = w->jobs;
		w->jobs = job;
	}
	pthread_mutex_unlock(&w->lock);
	if (!exited)
		worker_notify(w);
	else if (job->cancel != NULL) {
		job->next = NULL;
		job->cancel(job);
	}
}

/* On the worker's thread: it answers. */
static void
worker_ping_run(struct worker_job *job, struct turn *t, const struct turn_now *now)
{
	struct worker *w = (struct worker *)((char *)job - offsetof(struct worker, ping));

	(void)t, (void)now;
	atomic_store(&w->ping_pending, false);
}

bool
worker_ping(struct worker *w)
{
	if (atomic_load(&w->ping_pending))
		return false;
	atomic_store(&w->ping_pending, true);
	w->ping.run = worker_ping_run;
	w->ping.cancel = NULL;
	worker_post(w, &w->ping);
	return true;
}

/* On the worker's thread: new connections, requests and lookups use the new setup. */
static void
worker_switch_run(struct worker_job *job, struct turn *t, const struct turn_now *now)
{
	struct worker_switch *sw = (struct worker_switch *)job;
	struct worker *w = sw->w;
	const struct worker_setup *old = NULL;
	struct clientconn_config cc;

	(void)now;
	if (sw->setup != NULL && sw->setup->generation > w->setup->generation) {
		if (turn_set_config(t, sw->setup->turn) != 0) {
			log_warnx("worker %d: reload: out of memory; the old settings stay", w->id);
			sw->done(sw, NULL);
			return;
		}
		relay_set_creds(w->relay, sw->setup->creds, sw->setup->total_quota);
		if (w->dtls != NULL) /* new handshakes get the new certificate */
			dtls_set_ctx(w->dtls, sw->setup->dtls_ctx, sw->setup->verbose);
		old = w->setup;
		w->setup = sw->setup;
		worker_conn_config(w->setup, &cc);
		clientconns_configure(w->conns, &cc);
	}
	if (sw->drain)
		turn_set_draining(t, true);
	sw->done(sw, old);
}

void
worker_post_switch(struct worker *w, struct worker_switch *sw)
{
	sw->w = w;
	sw->job.run = worker_switch_run;
	worker_post(w, &sw->job);
}

void
worker_stop(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->lock);
	worker_notify(w);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	/* One pass of the loop, then what it relayed over UDP leaves in batches. */
	while (event_base_loop(w->base, EVLOOP_ONCE) == 0 && !event_base_got_break(w->base))
		relay_pass_end(w->relay);
	relay_flush(w->relay);
	clientconns_close_all(w->conns, "server stopping");
	dtls_close_all(w->dtls, "server stopping");
	return NULL;
}

int
worker_start(struct worker *w, char **cause)
{
	int rc;

	char name[16];

	if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		if (asprintf(cause, "cannot start worker %d: %s", w->id, strerror(rc)) == -1)
			*cause = NULL;
		return -1;
	}
	/* "tpworker0": ps -L, top -H and the tests tell the workers apart. */
	snprintf(name, sizeof name, "tpworker%d", w->id);
	pthread_setname_np(w->thread, name);
	w->started = true;
	return 0;
}

void
worker_join(struct worker *w)
{
	if (!w->started)
		return;
	pthread_join(w->thread, NULL);
	w->started = false;
}

void
worker_stats(const struct worker *w, struct worker_stats *st)
{
	const struct clientconn_stats *cs = clientconns_stats(w->conns);
	size_t i;

	*st = w->stats;
	st->conns = cs->conns;
	st->conns_dropped = cs->conns_dropped;
	st->conns_refused_per_ip = cs->conns_refused_per_ip;
	st->conns_refused_fds = cs->conns_refused_fds;
	st->conns_deadline = cs->conns_deadline;
	st->conns_idle = cs->conns_idle;
	st->conns_input_budget = cs->conns_input_budget;
	st->tls_handshake_failures = cs->tls_handshake_failures;
	for (i = 0; i < PREAMBLE_NSTATUS; i++)
		st->proxy_refused[i] += cs->proxy_refused[i]; /* UDP's are the worker's */
	if (w->dtls != NULL)
		dtls_get_stats(w->dtls, &st->dtls);
}

void
worker_turn_stats(const struct worker *w, struct turn_stats *ts, struct relay_stats *rs)
{
	memset(ts, 0, sizeof *ts);
	memset(rs, 0, sizeof *rs);
	if (w->turn != NULL)
		turn_stats(w->turn, ts);
	if (w->relay != NULL)
		relay_stats(w->relay, rs);
}

static int
worker_fail(char **cause, int id, const char *what)
{
	if (asprintf(cause, "worker %d: cannot %s: %s", id, what, strerror(errno)) == -1)
		*cause = NULL;
	return -1;
}

/*
 * One SO_REUSEPORT socket per UDP address; the kernel spreads the load. A
 * wildcard socket learns each datagram's local address (IP_PKTINFO) for the
 * 5-tuple and answers from it.
 */
static int
worker_open_udp(struct worker *w, char **cause)
{
	struct worker_udp *u;
	size_t i;

	w->udp = calloc(w->setup->nudp + 1, sizeof *w->udp);
	w->csocks = calloc(w->setup->nudp + 1, sizeof *w->csocks);
	if (w->udp == NULL || w->csocks == NULL)
		return worker_fail(cause, w->id, "allocate UDP sockets");
	for (i = 0; i < w->setup->nudp; i++) {
		u = &w->udp[i];
		u->w = w;
		u->addr = w->setup->udp[i];
		u->fd = listener_socket((const struct sockaddr *)&u->addr, SOCK_DGRAM, true, "UDP",
		    cause);
		if (u->fd == -1)
			return -1;
		w->nudp++;
		w->csocks[i].fd = u->fd;
		w->csocks[i].addr = u->addr;
		if (addr_is_any((const struct sockaddr *)&u->addr) &&
		    udpio_enable_pktinfo(u->fd, u->addr.ss_family) != 0)
			return worker_fail(cause, w->id, "ask for UDP destination addresses");
		u->ev = event_new(w->base, u->fd, EV_READ | EV_PERSIST, worker_udp_read, u);
		if (u->ev == NULL || event_add(u->ev, NULL) != 0)
			return worker_fail(cause, w->id, "watch a UDP socket");
	}
	return 0;
}

/* Once a second: allocations, permissions, channels and reservations expire. */
static void
worker_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct turn_now now;

	relay_now(&now);
	turn_expire(w->turn, &now);
	mobhandoff_tick(w->mob, now.mono_ms);
	relay_fast_sync(w->relay);
	relay_report(w->relay, &now);
	portpool_expire(w->setup->pool, now.mono_ms);
	if (w->dtls != NULL)
		dtls_tick(w->dtls, &now);
	clientconns_sweep(w->conns, now.mono_ms);
	/* A proxied client refreshes within its allocation's lifetime, or is gone. */
	if (w->proxied != NULL)
		proxymap_expire(w->proxied, now.mono_ms,
		    ((uint64_t)w->setup->turn->max_lifetime + 60) * 1000);
}

/* An allocation ended: its traffic goes to its user's and its realm's totals. */
static void
worker_session_end(void *arg, const struct turn_session *s)
{
	struct worker *w = arg;
	struct metrics_user traffic = {
	    .to_peer_packets = s->to_peer_packets,
	    .to_peer_bytes = s->to_peer_bytes,
	    .to_client_packets = s->to_client_packets,
	    .to_client_bytes = s->to_client_bytes,
	};
	const struct metrics_counts c = {s->to_peer_packets, s->to_peer_bytes, s->to_client_packets,
	    s->to_client_bytes};

	if (w->setup->realm_stats != NULL)
		realmstats_add(w->setup->realm_stats, s->realm, &c);
	if (w->setup->user_stats &&
	    metrics_usertab_add(&w->ended, s->realm, s->user, &traffic) != 0)
		w->ended.dropped++; /* out of memory: counted, never fatal */
}

const struct metrics_usertab *
worker_ended_users(const struct worker *w)
{
	return &w->ended;
}

/* DTLS sessions, when DTLS is on at start (its sockets are bound only then). */
static int
worker_open_dtls(struct worker *w, char **cause)
{
	struct dtls_hooks hooks = {
	    .arg = w,
	    .deliver = worker_dtls_deliver,
	    .gone = worker_dtls_gone,
	};

	if ((w->dtls = dtls_create(w->id, &hooks)) == NULL)
		return worker_fail(cause, w->id, "set up DTLS");
	dtls_set_ctx(w->dtls, w->setup->dtls_ctx, w->setup->verbose);
	return 0;
}

/* The TURN core with its relay sockets, and the timer that expires its state. */
static int
worker_open_turn(struct worker *w, char **cause)
{
	struct timeval second = {1, 0};
	struct relay_setup rs = {
	    .worker_id = w->id,
	    .base = w->base,
	    .pool = w->setup->pool,
	    .creds = w->setup->creds,
	    .addrs = w->setup->relays,
	    .udp = w->csocks,
	    .nudp = w->nudp,
	    .allocations = w->setup->allocations,
	    .capacity = w->setup->capacity,
	    .total_quota = w->setup->total_quota,
	    .limits = w->setup->limits,
	    .bps_capacity = w->setup->bps_capacity,
	    .proxied = w->proxied,
	    .conn_output_max = WORKER_CONN_RELAY_MAX,
	    .fastpath = w->setup->fastpath,
	    .statsdb = w->setup->statsdb,
	    .sklookup = w->setup->sklookup,
	    .min_port = w->setup->min_port,
	    .max_port = w->setup->max_port,
	};
	struct turn_io io;

	if (relay_create(&rs, &w->relay, cause) != 0)
		return -1;
	if (w->setup->unauth_answer_budget > 0)
		tbucket_init(&w->answer_budget, w->setup->unauth_answer_budget,
		    w->setup->unauth_answer_budget, worker_mono_ms());
	if (w->setup->unauth_rate_limit > 0 &&
	    (w->unauth = iplimit_create(WORKER_UNAUTH_SLOTS, w->setup->unauth_rate_limit,
		 w->setup->unauth_rate_limit)) == NULL)
		return worker_fail(cause, w->id, "allocate the unauth-rate-limit table");
	relay_io(w->relay, &io);
	relay_creds(w->relay, &w->creds);
	if ((w->turn = turn_create(w->setup->turn, &w->creds, &io)) == NULL)
		return worker_fail(cause, w->id, "create the TURN core");
	relay_set_turn(w->relay, w->turn);
	if (w->setup->user_stats || w->setup->realm_stats != NULL)
		turn_set_session_end(w->turn, worker_session_end, w);
	turn_set_tag(w->turn, (uint8_t)w->id);
	if (w->setup->dtls_ctx != NULL && worker_open_dtls(w, cause) != 0)
		return -1;
	w->tick = event_new(w->base, -1, EV_PERSIST, worker_tick, w);
	if (w->tick == NULL || event_add(w->tick, &second) != 0)
		return worker_fail(cause, w->id, "start the expiry timer");
	return 0;
}

int
worker_set_peers(struct worker *w, struct worker *const *all, size_t n)
{
	struct mobhandoff **mobs;
	struct clientconns **conns;
	size_t i;
	int rc = -1;

	if ((w->peers = calloc(n, sizeof *w->peers)) == NULL)
		return -1;
	memcpy(w->peers, all, n * sizeof *all);
	w->npeers = n;
	mobs = calloc(n, sizeof *mobs);
	conns = calloc(n, sizeof *conns);
	if (mobs != NULL && conns != NULL) {
		for (i = 0; i < n; i++) {
			mobs[i] = all[i]->mob;
			conns[i] = all[i]->conns;
		}
		if (mobhandoff_set_peers(w->mob, mobs, n) == 0)
			rc = clientconns_set_peers(w->conns, conns, n);
	}
	free(mobs);
	free(conns);
	return rc;
}

int
worker_create(int id, const struct worker_setup *setup, struct worker **wp, char **cause)
{
	struct worker *w;
	struct clientconn_config cc;

	*wp = NULL;
	if ((w = calloc(1, sizeof *w)) == NULL)
		return worker_fail(cause, id, "allocate");
	w->id = id;
	w->setup = setup;
	w->notify[0] = w->notify[1] = -1;
	pthread_mutex_init(&w->lock, NULL);
	if ((w->rx = udpio_rx_create(WORKER_DGRAM_MAX)) == NULL ||
	    (w->base = event_base_new()) == NULL) {
		worker_fail(cause, id, "create an event loop");
		goto fail;
	}
	if (pipe2(w->notify, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    (w->notify_ev = event_new(w->base, w->notify[0], EV_READ | EV_PERSIST,
		 worker_notify_read, w)) == NULL ||
	    event_add(w->notify_ev, NULL) != 0) {
		worker_fail(cause, id, "create the notify pipe");
		goto fail;
	}
	if (setup->proxy_udp && (w->proxied = proxymap_create(WORKER_PROXY_CLIENTS)) == NULL) {
		worker_fail(cause, id, "allocate the PROXY protocol client table");
		goto fail;
	}
	worker_conn_config(setup, &cc);
	if ((w->conns = clientconns_create(id, w->base, &cc, &worker_conn_ops, w)) == NULL) {
		worker_fail(cause, id, "allocate the connection preambles");
		goto fail;
	}
	if (worker_open_udp(w, cause) != 0 || worker_open_turn(w, cause) != 0)
		goto fail;
	if ((w->mob = mobhandoff_create((size_t)id, w->nudp, &worker_mob_ops, w)) == NULL) {
		worker_fail(cause, id, "allocate the mobility hand-off");
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	worker_free(w);
	return -1;
}

void
worker_free(struct worker *w)
{
	struct worker_item *it, *next;
	size_t i;

	if (w == NULL)
		return;
	worker_stop(w);
	worker_join(w);
	turn_free(w->turn); /* closes the relays left through relay.c */
	relay_free(w->relay);
	dtls_free(w->dtls); /* after the relays that counted on its sessions */
	iplimit_free(w->unauth);
	metrics_usertab_free(&w->ended);
	if (w->tick != NULL)
		event_free(w->tick);
	for (i = 0; i < w->nudp; i++) {
		if (w->udp[i].ev != NULL)
			event_free(w->udp[i].ev);
		close(w->udp[i].fd);
	}
	for (it = w->head; it != NULL; it = next) {
		next = it->next;
		close(it->fd); /* never admitted: nothing to give back */
		free(it);
	}
	clientconns_free(w->conns);
	proxymap_free(w->proxied);
	mobhandoff_free(w->mob);
	if (w->notify_ev != NULL)
		event_free(w->notify_ev);
	for (i = 0; i < 2; i++) {
		if (w->notify[i] != -1)
			close(w->notify[i]);
	}
	if (w->base != NULL)
		event_base_free(w->base);
	pthread_mutex_destroy(&w->lock);
	free(w->udp);
	free(w->csocks);
	free(w->peers);
	udpio_rx_free(w->rx);
	free(w);
}
