/*
 * Relay sockets: the I/O side of the TURN core for one worker. Opening picks
 * a relay address and a pool port and binds; reading hands peer datagrams to
 * the core in batches; sending never blocks, and its errors are counted, not
 * fatal. A socket closed by the core while its own read callback runs is freed
 * when the callback returns.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "turnpike/addr.h"
#include "turnpike/allocation.h"
#include "turnpike/limits.h"
#include "turnpike/log.h"
#include "turnpike/portpool.h"
#include "turnpike/proxymap.h"
#include "turnpike/relay.h"
#include "turnpike/relayaddr.h"
#include "turnpike/relayfast.h"
#include "turnpike/relayshared.h"
#include "turnpike/statsdb.h"
#include "turnpike/tbucket.h"
#include "turnpike/tcpconn.h"
#include "turnpike/tcprelay.h"
#include "turnpike/udpio.h"

/* Peer datagrams larger than this are dropped (media stays far below). */
#define RELAY_DGRAM_MAX 8192
/* Batches per wakeup before yielding to other sockets. */
#define RELAY_BATCHES 4
/*
 * Datagrams to clients leave at the end of the loop pass, in one sendmmsg, when
 * the pass before read at least this many relay sockets; under that (a light
 * load, little to batch) each socket's datagrams leave as soon as it is read.
 */
#define RELAY_EAGER_READS 4
/* Ports tried per relay address when bind finds one taken by another process. */
#define RELAY_BIND_TRIES 8
/* Relay addresses tried per request. */
#define RELAY_ADDRS_MAX 16
/* User names in log lines are cut to this. */
#define RELAY_USER_MAX 64

struct relay_sock {
	struct relay *rl;
	int fd;
	struct event *ev;
	size_t addr; /* pool address index */
	uint16_t port;
	bool counted;                   /* holds one unit of the process-wide allocation count */
	bool tcp;                       /* RFC 6062: a listening TCP socket */
	bool shared;                    /* no socket: its port is steered to the shared one */
	struct limits_user *quota;      /* idem, of its user's count (when counted) */
	struct tbucket bps_in, bps_out; /* max-bps: from peers, to peers */
	struct sockaddr_storage local;  /* bound address and port */
	struct turn_relay *tr;          /* lives in the core's allocation */
	struct turn_allocation *alloc;
	struct relay_conn *conn;
	struct sockaddr_storage client;
	uint8_t transport; /* the client's, enum turn_transport */
	char user[RELAY_USER_MAX + 1];
	char realm[RELAY_USER_MAX + 1]; /* its allocation's realm, for the logs */
	uint64_t id;
	uint64_t opened_ms;
	uint64_t in_pkts, in_bytes, out_pkts, out_bytes;
	bool df;                /* DONT-FRAGMENT: it sets DF */
	uint64_t bps;           /* its max-bps, 0: none */
	struct relayfast *fast; /* its channels in the kernel fast path */
	bool in_cb;             /* its read callback is running */
	bool dead;              /* closed inside the callback: free when it returns */
	/* redis-statsdb: what was last reported (st_expires 0: nothing yet). */
	uint64_t st_expires, st_traffic_ms;
	uint64_t st_rcvp, st_rcvb, st_sentp, st_sentb;
	LIST_ENTRY(relay_sock) entry;
};

struct relay {
	struct relay_setup setup;
	struct turn *turn;
	struct udpio_rx *rx;
	struct udpio_tx *tx_client;           /* datagrams to clients, sent at relay_flush */
	struct udpio_tx *tx_peer;             /* datagrams to peers, idem */
	struct tcprelay *tcp;                 /* RFC 6062 peer connections */
	struct relayshared *shared;           /* relay-sockets=shared; NULL: a socket each */
	bool shared_refused;                  /* the kernel refused a shared port: logged once */
	unsigned pass_reads;                  /* relay sockets read in this loop pass */
	unsigned last_pass_reads;             /* and in the one before */
	struct relay_conn *cur_conn;          /* between relay_begin and relay_end */
	struct turn_allocation *last_counted; /* idem: the allocation counted last */
	uint64_t last_bps;                    /* idem: its max-bps */
	struct tbucket capacity_out;          /* this worker's share of bps-capacity to peers */
	struct tbucket capacity_in;           /* and its share from peers, apart (as coturn) */
	char user[RELAY_USER_MAX + 1];        /* idem: the user name looked up */
	uint64_t next_id;
	size_t rotate;
	LIST_HEAD(, relay_sock) socks;
	struct relay_stats stats;
};

int
relay_bind(const struct sockaddr_storage *ip, uint16_t port)
{
	struct sockaddr_storage ss = *ip;
	int fd, one = 1, saved;

	addr_set_port((struct sockaddr *)&ss, port);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if ((ss.ss_family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
	    bind(fd, (const struct sockaddr *)&ss, addr_len((const struct sockaddr *)&ss)) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* RFC 8656 §14: DF only with DONT-FRAGMENT; IPv6 then refuses to fragment locally. */
static void
relay_set_df(int fd, int family, bool df)
{
	int v4 = df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT, v6 = df ? 1 : 0;

	if (family == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof v4);
	else
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &v6, sizeof v6);
}

/* Descriptors or memory ran out: no other port or address will do better. */
static bool
relay_is_exhausted(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS;
}

/* A printable copy of len bytes of src, cut to RELAY_USER_MAX (dst: RELAY_USER_MAX + 1). */
static void
relay_printable(char *dst, const char *src, size_t len)
{
	size_t i, n = len < RELAY_USER_MAX ? len : RELAY_USER_MAX;

	for (i = 0; i < n; i++)
		dst[i] = isprint((unsigned char)src[i]) && src[i] != '"' ? src[i] : '?';
	dst[n] = '\0';
}

static void
relay_log_open(const struct relay_sock *s)
{
	static const char *const names[] = {"UDP", "TCP", "TLS", "DTLS"};
	char local[ADDR_STRLEN], adv[ADDR_STRLEN], client[ADDR_STRLEN], session[48];

	addr_fmt((const struct sockaddr *)&s->local, true, local, sizeof local);
	addr_fmt((const struct sockaddr *)&s->tr->relayed, true, adv, sizeof adv);
	addr_fmt((const struct sockaddr *)&s->client, true, client, sizeof client);
	snprintf(session, sizeof session, "w%d.r%llu", s->rl->setup.worker_id,
	    (unsigned long long)s->id);
	log_session(LOG_LEVEL_INFO, session, client,
	    "%s %s%s%s for %s client %s, realm \"%s\", user \"%s\"", s->tcp ? "TCP relay" : "relay",
	    local, strcmp(local, adv) != 0 ? " advertised as " : "",
	    strcmp(local, adv) != 0 ? adv : "",
	    s->transport <= TURN_DTLS ? names[s->transport] : "?", client, s->realm, s->user);
}

static void relay_read(evutil_socket_t fd, short what, void *arg);
static void relay_accept(evutil_socket_t fd, short what, void *arg);

/* Wraps a bound socket into a relay for req; fills out. -1 when out of memory. */
static int
relay_sock_start(struct relay *rl, const struct turn_relay_req *req, int fd, size_t addr,
    uint16_t port, struct turn_relay *out)
{
	const struct relayaddr_entry *e = &rl->setup.addrs->v[addr];
	struct turn_now now;
	struct relay_sock *s;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return -1;
	if (fd != -1) {
		s->ev = event_new(rl->setup.base, fd, EV_READ | EV_PERSIST,
		    req->tcp ? relay_accept : relay_read, s);
		if (s->ev == NULL || event_add(s->ev, NULL) != 0) {
			if (s->ev != NULL)
				event_free(s->ev);
			free(s);
			return -1;
		}
	}
	relay_now(&now);
	if (!req->tcp && fd != -1)
		relay_set_df(fd, e->local.ss_family, req->dont_fragment);
	s->shared = fd == -1;
	s->tcp = req->tcp;
	s->df = req->dont_fragment;
	s->rl = rl;
	s->fd = fd;
	s->addr = addr;
	s->port = port;
	s->local = e->local;
	addr_set_port((struct sockaddr *)&s->local, port);
	s->tr = out;
	s->alloc = req->alloc;
	s->client = req->client->client;
	s->transport = req->client->transport;
	memcpy(s->user, rl->user, sizeof s->user);
	if (req->alloc != NULL && req->alloc->realm != NULL)
		relay_printable(s->realm, req->alloc->realm, req->alloc->realmlen);
	s->id = ++rl->next_id;
	s->opened_ms = now.mono_ms;
	if (req->client->transport != TURN_UDP && rl->cur_conn != NULL) {
		s->conn = rl->cur_conn;
		s->conn->allocs++;
	}
	memset(out, 0, sizeof *out);
	out->handle = s;
	out->local = s->local;
	out->relayed = e->advertised;
	addr_set_port((struct sockaddr *)&out->relayed, port);
	LIST_INSERT_HEAD(&rl->socks, s, entry);
	rl->stats.opened++;
	rl->stats.active++;
	if (s->shared)
		rl->stats.shared_active++;
	relay_log_open(s);
	return 0;
}

/* Binds port+1 too and holds it for a RESERVATION-TOKEN. */
static int
relay_reserve_next(struct relay *rl, size_t addr, uint16_t port, uint64_t *token)
{
	struct turn_now now;
	int fd;

	if ((fd = relay_bind(&rl->setup.addrs->v[addr].local, (uint16_t)(port + 1))) == -1)
		return -1;
	relay_now(&now);
	if (portpool_reserve(rl->setup.pool, addr, (uint16_t)(port + 1), fd, now.mono_ms, token) !=
	    0) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/*
 * One try with relay-sockets=shared: a port steered to the worker's shared
 * socket; 0, or -1 with errno (EADDRINUSE: try another port).
 */
static int
relay_try_shared(struct relay *rl, const struct turn_relay_req *req, size_t addr,
    struct turn_relay *out)
{
	uint16_t port;
	int saved;

	if (portpool_get(rl->setup.pool, addr, req->even_port, false, &port) != 0) {
		errno = EAGAIN; /* this address is full */
		return -1;
	}
	if (relayshared_claim(rl->shared, addr, port, NULL) != 0)
		goto fail;
	if (relay_sock_start(rl, req, -1, addr, port, out) == 0) {
		relayshared_claim_set(rl->shared, addr, port, out->handle);
		return 0;
	}
	relayshared_release(rl->shared, addr, port);
	errno = ENOMEM;
fail:
	saved = errno;
	portpool_put(rl->setup.pool, addr, port);
	errno = saved;
	return -1;
}

/* One try on pool address addr: 0, or -1 with errno (EADDRINUSE: try another port). */
static int
relay_try_port(struct relay *rl, const struct turn_relay_req *req, size_t addr,
    struct turn_relay *out, uint64_t *token)
{
	struct portpool *pool = rl->setup.pool;
	bool reserved = false;
	uint16_t port;
	int fd, saved;

	/* A RESERVATION-TOKEN holds a socket on port+1: such relays keep a socket each. */
	if (rl->shared != NULL && !req->tcp && !req->reserve) {
		if (relay_try_shared(rl, req, addr, out) == 0)
			return 0;
		if (errno != EPERM)
			return -1;
		/* The kernel refuses the map update (before Linux 6.5, after the privilege drop). */
		if (!rl->shared_refused)
			log_warnx("worker %d: shared relay port refused (%s): a socket per "
				  "allocation",
			    rl->setup.worker_id, strerror(errno));
		rl->shared_refused = true;
	}
	if (portpool_get(pool, addr, req->even_port || req->reserve, req->reserve, &port) != 0) {
		errno = EAGAIN; /* this address is full */
		return -1;
	}
	if (req->tcp)
		fd = tcprelay_bind(&rl->setup.addrs->v[addr].local, port, true);
	else
		fd = relay_bind(&rl->setup.addrs->v[addr].local, port);
	if (fd == -1)
		goto fail;
	if (req->reserve && relay_reserve_next(rl, addr, port, token) != 0)
		goto fail_close;
	reserved = req->reserve; /* port+1 now waits for its token or its expiry */
	if (relay_sock_start(rl, req, fd, addr, port, out) == 0)
		return 0;
	errno = ENOMEM;
fail_close:
	saved = errno;
	close(fd);
	errno = saved;
fail:
	saved = errno;
	portpool_put(pool, addr, port);
	if (req->reserve && !reserved)
		portpool_put(pool, addr, (uint16_t)(port + 1));
	errno = saved;
	return -1;
}

/* Tries the relay addresses in order; the STUN error code on failure. */
static int
relay_open_new(struct relay *rl, const struct turn_relay_req *req, struct turn_relay *out,
    uint64_t *token)
{
	size_t order[RELAY_ADDRS_MAX], n, i;
	int tries;

	n = relayaddr_order(rl->setup.addrs, req->family,
	    (const struct sockaddr *)&req->client->server, rl->rotate++, order, RELAY_ADDRS_MAX);
	if (n == 0)
		return 440;
	for (i = 0; i < n; i++) {
		for (tries = 0; tries < RELAY_BIND_TRIES; tries++) {
			if (relay_try_port(rl, req, order[i], out, token) == 0)
				return 0;
			if (relay_is_exhausted(errno))
				return 508;
			if (errno != EADDRINUSE)
				break; /* full or unusable: the next address */
		}
	}
	return 508;
}

/* A RESERVATION-TOKEN from an earlier EVEN-PORT R: the held port, from any worker. */
static int
relay_open_claim(struct relay *rl, const struct turn_relay_req *req, struct turn_relay *out)
{
	struct turn_now now;
	size_t addr;
	uint16_t port;
	int fd;

	relay_now(&now);
	if (portpool_claim(rl->setup.pool, req->token, now.mono_ms, &addr, &port, &fd) != 0)
		return 508;
	if (relay_sock_start(rl, req, fd, addr, port, out) != 0) {
		close(fd);
		portpool_put(rl->setup.pool, addr, port);
		return 508;
	}
	return 0;
}

/* The process's capacity (capacity.h) reached by the n allocations before this one. */
static bool
relay_over_capacity(const struct relay *rl, size_t n)
{
	size_t cap = rl->setup.capacity != NULL ? atomic_load(rl->setup.capacity) : 0;

	return cap != 0 && n >= cap;
}

/*
 * Quotas across workers: the first relay of an allocation takes one unit of
 * the total and of its user's count; 0 or 486. *bps is the session's max-bps.
 */
static int
relay_quota_take(struct relay *rl, const struct turn_relay_req *req, struct limits_user **h,
    uint64_t *bps)
{
	const struct turn_allocation *a = req->alloc;
	struct limits_req lr = {
	    .realm = a != NULL ? a->realm : NULL,
	    .realmlen = a != NULL && a->realm != NULL ? a->realmlen : 0,
	    .user = a != NULL ? a->user : NULL,
	    .userlen = a != NULL && a->user != NULL ? a->userlen : 0,
	};
	size_t n;
	int rc;

	*h = NULL;
	*bps = 0;
	if (req->alloc == rl->last_counted && req->alloc != NULL) {
		*bps = rl->last_bps;
		return 0; /* the second address family of the same allocation */
	}
	n = atomic_fetch_add(rl->setup.allocations, 1);
	if (relay_over_capacity(rl, n))
		rc = 508; /* keeps descriptors for control, metrics and stream clients */
	else if (rl->setup.limits != NULL)
		rc = limits_take(rl->setup.limits, &lr, h, bps);
	else
		rc = rl->setup.total_quota > 0 && n >= rl->setup.total_quota ? 486 : 0;
	if (rc != 0)
		atomic_fetch_sub(rl->setup.allocations, 1);
	return rc;
}

/* Gives back what relay_quota_take took for a first relay. */
static void
relay_quota_put(struct relay *rl, struct limits_user *h)
{
	atomic_fetch_sub(rl->setup.allocations, 1);
	if (rl->setup.limits != NULL)
		limits_release(rl->setup.limits, h);
}

/* A second of a rate, but never less than one datagram (or a tiny rate passes nothing). */
static uint64_t
relay_burst(uint64_t rate)
{
	return rate > RELAY_DGRAM_MAX ? rate : RELAY_DGRAM_MAX;
}

static int
relay_open(void *ctx, const struct turn_relay_req *req, struct turn_relay *out, uint64_t *token_out)
{
	struct relay *rl = ctx;
	bool first = req->alloc != rl->last_counted || req->alloc == NULL;
	struct limits_user *h;
	struct relay_sock *s;
	struct turn_now now;
	uint64_t bps;
	int rc;

	if ((rc = relay_quota_take(rl, req, &h, &bps)) != 0) {
		rl->stats.open_failures++;
		return rc;
	}
	if (req->token != 0)
		rc = relay_open_claim(rl, req, out);
	else
		rc = relay_open_new(rl, req, out, token_out);
	if (rc != 0) {
		rl->stats.open_failures++;
		if (first)
			relay_quota_put(rl, h);
		return rc;
	}
	s = out->handle;
	s->counted = first;
	s->quota = h;
	/* coturn's max-bps: bytes per second each way, with a burst of about a second. */
	relay_now(&now);
	tbucket_init(&s->bps_in, bps, relay_burst(bps), now.mono_ms);
	tbucket_init(&s->bps_out, bps, relay_burst(bps), now.mono_ms);
	s->bps = bps;
	rl->last_counted = req->alloc;
	rl->last_bps = bps;
	return 0;
}

static void
relay_sock_free(struct relay_sock *s)
{
	if (s->ev != NULL)
		event_free(s->ev);
	free(s);
}

static void
relay_log_close(const struct relay_sock *s)
{
	struct turn_now now;
	char local[ADDR_STRLEN], client[ADDR_STRLEN], session[48];

	relay_now(&now);
	snprintf(session, sizeof session, "w%d.r%llu", s->rl->setup.worker_id,
	    (unsigned long long)s->id);
	addr_fmt((const struct sockaddr *)&s->client, true, client, sizeof client);
	log_session(LOG_LEVEL_INFO, session, client,
	    "relay %s of user \"%s\" closed after %llu s, realm \"%s\": from peers %llu "
	    "packets %llu bytes, to peers %llu packets %llu bytes",
	    addr_fmt((const struct sockaddr *)&s->local, true, local, sizeof local), s->user,
	    (unsigned long long)((now.mono_ms - s->opened_ms) / 1000), s->realm,
	    (unsigned long long)s->in_pkts, (unsigned long long)s->in_bytes,
	    (unsigned long long)s->out_pkts, (unsigned long long)s->out_bytes);
}

/* Counts relayed by the kernel fast path, into the socket's and the core's counters. */
static void
relay_fast_count(struct relay *rl, struct relay_sock *s, const struct turn_counts *n)
{
	s->out_pkts += n->to_peer_packets;
	s->out_bytes += n->to_peer_bytes;
	s->in_pkts += n->to_client_packets;
	s->in_bytes += n->to_client_bytes;
	rl->stats.fast_packets += n->to_peer_packets + n->to_client_packets;
	if (rl->turn != NULL && s->alloc != NULL)
		turn_count_relayed(rl->turn, s->alloc, n);
}

/* Closes the socket and gives back its port and count; frees it unless in its callback. */
#define RELAY_TRAFFIC_EVERY_MS 5000 /* redis-statsdb traffic events, per allocation */

/* Whether s speaks for its allocation in redis-statsdb (its first relay; the core is alive). */
static bool
relay_reports(const struct relay_sock *s)
{
	return s->rl->setup.statsdb != NULL && s->rl->turn != NULL && s->alloc != NULL &&
	    s->tr == &s->alloc->relays[0];
}

static void
relay_stat_key(const struct relay_sock *s, const char *what, char *key, size_t cap)
{
	uint64_t id = ((uint64_t)(s->rl->setup.worker_id + 1) << 40) | s->alloc->id;

	statsdb_key(key, cap, s->realm, s->user, id, what);
}

static void
relay_stat_status(struct relay_sock *s, uint64_t now_ms)
{
	const struct turn_allocation *a = s->alloc;
	uint64_t left = a->expires_ms > now_ms ? (a->expires_ms - now_ms + 999) / 1000 : 1;
	char key[STATSDB_KEY_MAX], val[64], ttl[24];
	const char *set[] = {"SET", key, val, "EX", ttl};
	const char *pub[] = {"PUBLISH", key, val};

	relay_stat_key(s, "status", key, sizeof key);
	snprintf(val, sizeof val, "%s lifetime=%llu", s->st_expires == 0 ? "new" : "refreshed",
	    (unsigned long long)left);
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)left);
	statsdb_send(s->rl->setup.statsdb, 5, set);
	statsdb_send(s->rl->setup.statsdb, 3, pub);
	s->st_expires = a->expires_ms;
}

/* Publishes what was relayed since the last report (what: "traffic"), or in all. */
static void
relay_stat_traffic(struct relay_sock *s, const char *what, bool total)
{
	const struct turn_allocation *a = s->alloc;
	char key[STATSDB_KEY_MAX], val[128];
	const char *pub[] = {"PUBLISH", key, val};

	relay_stat_key(s, what, key, sizeof key);
	/* coturn's rcv: from the client (to peers); sent: to the client. */
	snprintf(val, sizeof val, "rcvp=%llu, rcvb=%llu, sentp=%llu, sentb=%llu",
	    (unsigned long long)(a->to_peer_packets - (total ? 0 : s->st_rcvp)),
	    (unsigned long long)(a->to_peer_bytes - (total ? 0 : s->st_rcvb)),
	    (unsigned long long)(a->to_client_packets - (total ? 0 : s->st_sentp)),
	    (unsigned long long)(a->to_client_bytes - (total ? 0 : s->st_sentb)));
	statsdb_send(s->rl->setup.statsdb, 3, pub);
	s->st_rcvp = a->to_peer_packets;
	s->st_rcvb = a->to_peer_bytes;
	s->st_sentp = a->to_client_packets;
	s->st_sentb = a->to_client_bytes;
}

static bool
relay_stat_moved(const struct relay_sock *s)
{
	const struct turn_allocation *a = s->alloc;

	return a->to_peer_packets != s->st_rcvp || a->to_client_packets != s->st_sentp;
}

void
relay_report(struct relay *rl, const struct turn_now *now)
{
	struct relay_sock *s;

	LIST_FOREACH(s, &rl->socks, entry)
	{
		if (!relay_reports(s) || s->alloc->expires_ms == 0)
			continue;
		if (s->alloc->expires_ms != s->st_expires)
			relay_stat_status(s, now->mono_ms);
		if (now->mono_ms - s->st_traffic_ms >= RELAY_TRAFFIC_EVERY_MS) {
			if (relay_stat_moved(s))
				relay_stat_traffic(s, "traffic", false);
			s->st_traffic_ms = now->mono_ms;
		}
	}
}

/* The allocation ends: its status key goes, "deleted" and its totals are published. */
static void
relay_stat_close(struct relay_sock *s)
{
	char key[STATSDB_KEY_MAX];
	const char *del[] = {"DEL", key};
	const char *pub[] = {"PUBLISH", key, "deleted"};

	if (!relay_reports(s) || s->st_expires == 0)
		return;
	relay_stat_key(s, "status", key, sizeof key);
	statsdb_send(s->rl->setup.statsdb, 2, del);
	statsdb_send(s->rl->setup.statsdb, 3, pub);
	if (relay_stat_moved(s))
		relay_stat_traffic(s, "traffic", false);
	relay_stat_traffic(s, "total_traffic", true);
}

static void
relay_sock_close(struct relay *rl, struct relay_sock *s)
{
	struct turn_counts n = {0};

	if (s->fast != NULL) {
		rl->stats.fast_channels -= relayfast_count(s->fast);
		relayfast_clear(rl->setup.fastpath, &s->fast, &n);
		relay_fast_count(rl, s, &n);
	}
	relay_stat_close(s);
	relay_log_close(s);
	if (s->shared) {
		relayshared_release(rl->shared, s->addr, s->port);
		rl->stats.shared_active--;
	} else {
		event_del(s->ev);
		relay_flush_peers(rl); /* its datagrams leave before the socket closes */
		close(s->fd);
	}
	portpool_put(rl->setup.pool, s->addr, s->port);
	if (s->counted)
		relay_quota_put(rl, s->quota);
	if (s->conn != NULL)
		s->conn->allocs--;
	if (rl->last_counted == s->alloc)
		rl->last_counted = NULL;
	LIST_REMOVE(s, entry);
	rl->stats.active--;
	if (s->in_cb)
		s->dead = true;
	else
		relay_sock_free(s);
}

static void
relay_close(void *ctx, struct turn_relay *r)
{
	struct relay_sock *s = r->handle;

	if (s == NULL)
		return;
	r->handle = NULL;
	relay_sock_close(ctx, s);
}

/*
 * Whether len bytes fit the session's bucket and the worker's one for that
 * direction (to peers or from them); drops are counted, by direction too.
 */
static bool
relay_bps_pass(struct relay *rl, struct tbucket *session, bool to_peer, size_t len, uint64_t now_ms)
{
	struct tbucket *capacity = to_peer ? &rl->capacity_out : &rl->capacity_in;

	/* Both or neither: a packet the worker's bucket drops costs the session nothing. */
	if (tbucket_take_both(session, capacity, len, now_ms))
		return true;
	rl->stats.bps_dropped_packets++;
	rl->stats.bps_dropped_bytes += len;
	if (to_peer)
		rl->stats.bps_dropped_to_peer++;
	else
		rl->stats.bps_dropped_to_client++;
	return false;
}

static int
relay_send(void *ctx, const struct turn_relay *r, const struct sockaddr *peer, const void *data,
    size_t len)
{
	struct relay *rl = ctx;
	struct relay_sock *s = r->handle;
	struct turn_now now;

	if (s != NULL && (s->bps_out.rate != 0 || rl->capacity_out.rate != 0)) {
		relay_now(&now);
		if (!relay_bps_pass(rl, &s->bps_out, true, len, now.mono_ms))
			return 0; /* dropped by a bandwidth limit, counted there */
	}
	/* EAGAIN, EMSGSIZE (DF), ENETUNREACH, EHOSTUNREACH, ECONNREFUSED...: a lost packet. */
	if (s == NULL ||
	    (s->shared ? relayshared_send(rl->shared, s->addr, s->port, peer, data, len, s->df)
		       : udpio_tx_queue(rl->tx_peer, s->fd, NULL, peer, data, len)) != 0) {
		rl->stats.send_errors++;
		return -1;
	}
	s->out_pkts++;
	s->out_bytes += len;
	return 0;
}

/* The worker socket bound to the address the client reached (or its wildcard). */
static const struct relay_client_sock *
relay_client_sock(const struct relay *rl, const struct sockaddr *server, bool *wildcard)
{
	const struct relay_client_sock *u, *any = NULL;
	size_t i;

	for (i = 0; i < rl->setup.nudp; i++) {
		u = &rl->setup.udp[i];
		if (addr_equal((const struct sockaddr *)&u->addr, server)) {
			*wildcard = false;
			return u;
		}
		if (any == NULL && u->addr.ss_family == server->sa_family &&
		    addr_is_any((const struct sockaddr *)&u->addr) &&
		    addr_port((const struct sockaddr *)&u->addr) == addr_port(server))
			any = u;
	}
	*wildcard = true;
	return any;
}

static int
relay_client_send(void *ctx, void *conn, const struct turn_5tuple *t, const void *data, size_t len)
{
	struct relay *rl = ctx;
	const struct relay_client_sock *u;
	struct relay_conn *c = conn;
	struct evbuffer *outbuf;
	const struct sockaddr *to;
	bool wildcard;

	if (t->transport == TURN_UDP) {
		u = relay_client_sock(rl, (const struct sockaddr *)&t->server, &wildcard);
		if ((to = proxymap_get(rl->setup.proxied, (const struct sockaddr *)&t->client)) ==
		    NULL)
			to = (const struct sockaddr *)&t->client;
		if (u != NULL &&
		    udpio_tx_queue(rl->tx_client, u->fd,
			wildcard ? (const struct sockaddr *)&t->server : NULL, to, data, len) == 0)
			return 0;
	} else if (c != NULL && c->send != NULL) {
		if (c->send(c, data, len) == 0)
			return 0;
	} else if (c != NULL && c->bev != NULL) {
		outbuf = bufferevent_get_output(c->bev);
		if (evbuffer_get_length(outbuf) + len <= rl->setup.conn_output_max &&
		    bufferevent_write(c->bev, data, len) == 0)
			return 0;
	}
	rl->stats.client_dropped++;
	return -1;
}

/* One datagram from a peer to the core; false when the relay went away. */
static bool
relay_peer_datagram(struct relay_sock *s, const struct sockaddr *src, const uint8_t *data,
    size_t len, const struct turn_now *now)
{
	struct relay *rl = s->rl;

	rl->stats.peer_in++;
	if (len == 0) {
		rl->stats.peer_dropped++;
		return true;
	}
	if (!relay_bps_pass(rl, &s->bps_in, false, len, now->mono_ms))
		return true;
	s->in_pkts++;
	s->in_bytes += len;
	turn_handle_peer_data(rl->turn, s->alloc, s->tr, src, data, len, now);
	return !s->dead;
}

/* One batch from a relay socket to the core; false when the socket went away. */
static bool
relay_read_batch(struct relay_sock *s, const struct turn_now *now, int *count)
{
	struct relay *rl = s->rl;
	const uint8_t *data;
	size_t len;
	int i;

	*count = udpio_recv(rl->rx, s->fd, (const struct sockaddr *)&s->local);
	for (i = 0; i < *count; i++) {
		data = udpio_data(rl->rx, i, &len);
		if (!relay_peer_datagram(s, udpio_src(rl->rx, i), data, len, now))
			return false;
	}
	return true;
}

/* A datagram on a shared socket, to the relay that holds its port. */
static void
relay_shared_deliver(void *arg, void *handle, const struct sockaddr *src, const uint8_t *data,
    size_t len)
{
	struct relay_sock *s = handle;
	struct turn_now now;

	relay_now(&now);
	s->in_cb = true;
	relay_peer_datagram(s, src, data, len, &now);
	s->in_cb = false;
	if (s->dead)
		relay_sock_free(s);
}

/* After a batch from a shared socket, as after a relay socket's read. */
static void
relay_shared_batch_end(void *arg)
{
	struct relay *rl = arg;

	rl->pass_reads++;
	if (rl->last_pass_reads < RELAY_EAGER_READS)
		relay_flush(rl);
}

/* A peer connects to a TCP relay (RFC 6062 §5.3). */
static void
relay_accept(evutil_socket_t fd, short what, void *arg)
{
	struct relay_sock *s = arg;

	tcprelay_accept(s->rl->tcp, fd, s->alloc, s->tr, s->bps_in.rate);
}

static int
relay_tcp_connect(void *ctx, const struct turn_relay *r, const struct sockaddr *peer,
    struct tcpconn *c)
{
	struct relay *rl = ctx;
	struct relay_sock *s = r != NULL ? r->handle : NULL;

	if (s == NULL || !s->tcp)
		return -1;
	return tcprelay_connect(rl->tcp, &s->local, peer, c, s->bps_out.rate);
}

static void
relay_tcp_close(void *ctx, struct tcpconn *c)
{
	struct relay *rl = ctx;

	tcprelay_close(rl->tcp, c);
}

void
relay_splice(struct relay *rl, struct tcpconn *c, struct bufferevent *client)
{
	tcprelay_splice(rl->tcp, c, client);
}

static void
relay_read(evutil_socket_t fd, short what, void *arg)
{
	struct relay_sock *s = arg;
	struct turn_now now;
	int round, n;

	relay_now(&now);
	s->in_cb = true;
	for (round = 0; round < RELAY_BATCHES; round++) {
		if (!relay_read_batch(s, &now, &n) || n < UDPIO_BATCH)
			break;
	}
	s->in_cb = false;
	s->rl->pass_reads++;
	if (s->rl->last_pass_reads < RELAY_EAGER_READS)
		relay_flush(s->rl); /* a light load: no wait for the end of the pass */
	if (s->dead)
		relay_sock_free(s);
}

static int
relay_create_shared(struct relay *rl, char **cause)
{
	struct relayshared_setup ss = {
	    .worker_id = rl->setup.worker_id,
	    .base = rl->setup.base,
	    .sklookup = rl->setup.sklookup,
	    .addrs = rl->setup.addrs,
	    .pool = rl->setup.pool,
	    .min_port = rl->setup.min_port,
	    .max_port = rl->setup.max_port,
	    .deliver = relay_shared_deliver,
	    .batch_end = relay_shared_batch_end,
	    .arg = rl,
	};

	return relayshared_create(&ss, &rl->shared, cause);
}

int
relay_create(const struct relay_setup *setup, struct relay **rlp, char **cause)
{
	struct relay *rl;
	struct turn_now now;

	*rlp = NULL;
	if ((rl = calloc(1, sizeof *rl)) == NULL ||
	    (rl->rx = udpio_rx_create(RELAY_DGRAM_MAX)) == NULL ||
	    (rl->tx_client = udpio_tx_create(true)) == NULL ||
	    (rl->tx_peer = udpio_tx_create(true)) == NULL ||
	    (rl->tcp = tcprelay_create(setup->base, setup->worker_id)) == NULL) {
		if (rl != NULL) {
			udpio_rx_free(rl->rx);
			udpio_tx_free(rl->tx_client);
			udpio_tx_free(rl->tx_peer);
		}
		free(rl);
		if (asprintf(cause, "worker %d: cannot allocate relay buffers", setup->worker_id) ==
		    -1)
			*cause = NULL;
		return -1;
	}
	rl->setup = *setup;
	relay_now(&now);
	/* bps-capacity: input and output are limited separately, as coturn does. */
	tbucket_init(&rl->capacity_out, setup->bps_capacity, relay_burst(setup->bps_capacity),
	    now.mono_ms);
	tbucket_init(&rl->capacity_in, setup->bps_capacity, relay_burst(setup->bps_capacity),
	    now.mono_ms);
	LIST_INIT(&rl->socks);
	if (setup->sklookup != NULL && relay_create_shared(rl, cause) != 0) {
		relay_free(rl);
		return -1;
	}
	*rlp = rl;
	return 0;
}

void
relay_set_turn(struct relay *rl, struct turn *t)
{
	rl->turn = t;
	tcprelay_set_turn(rl->tcp, t);
}

/*
 * A ChannelBind succeeded: its channel goes to the kernel fast path when the
 * fast path runs and nothing here must see each packet (UDP client, not
 * behind PROXY v2, no max-bps or bps-capacity, addresses known).
 */
static void
relay_channel_bound(void *ctx, const struct turn_relay *r, struct turn_allocation *alloc,
    uint16_t number, const struct sockaddr *peer, uint64_t until_ms)
{
	struct relay *rl = ctx;
	struct relay_sock *s = r->handle;
	struct fastpath_binding b;
	size_t before;
	char *cause = NULL, session[48];

	if (rl->setup.fastpath == NULL || s == NULL || s->tcp || s->transport != TURN_UDP ||
	    s->bps != 0 || rl->setup.bps_capacity != 0 ||
	    proxymap_get(rl->setup.proxied, (const struct sockaddr *)&alloc->tuple.client) !=
		NULL ||
	    addr_is_any((const struct sockaddr *)&alloc->tuple.server))
		return;
	memset(&b, 0, sizeof b);
	b.client = alloc->tuple.client;
	b.server = alloc->tuple.server;
	b.relay = s->local;
	memcpy(&b.peer, peer, addr_len(peer));
	b.channel = number;
	b.dont_fragment = s->df;
	before = relayfast_count(s->fast);
	if (relayfast_bind(rl->setup.fastpath, &s->fast, &b, until_ms, &cause) != 0) {
		snprintf(session, sizeof session, "w%d.r%llu", rl->setup.worker_id,
		    (unsigned long long)s->id);
		log_session(LOG_LEVEL_DEBUG, session, "-",
		    "channel 0x%04x stays off the fast path: %s", number,
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return;
	}
	rl->stats.fast_channels += relayfast_count(s->fast) - before;
}

/*
 * RFC 8016: alloc's client moved to a new 5-tuple. Its fast-path channels
 * name the old client address: they go, and the core announces them again.
 */
static void
relay_moved(void *ctx, struct turn_allocation *alloc)
{
	struct relay *rl = ctx;
	struct relay_sock *s;
	struct turn_counts n;
	size_t i;

	if (rl->setup.fastpath == NULL)
		return;
	for (i = 0; i < ALLOCATION_MAX_RELAYS; i++) {
		if (!alloc->live[i] || (s = alloc->relays[i].handle) == NULL || s->fast == NULL)
			continue;
		memset(&n, 0, sizeof n);
		rl->stats.fast_channels -= relayfast_count(s->fast);
		relayfast_clear(rl->setup.fastpath, &s->fast, &n);
		relay_fast_count(rl, s, &n);
	}
}

static uint64_t
relay_fast_until(void *arg, uint16_t number, const struct sockaddr *peer)
{
	struct relay_sock *s = arg;
	struct turn_now now;

	relay_now(&now);
	return turn_channel_until(s->alloc, number, peer, now.mono_ms);
}

void
relay_fast_sync(struct relay *rl)
{
	struct relay_sock *s;
	struct turn_counts n;
	size_t before;

	if (rl->setup.fastpath == NULL)
		return;
	LIST_FOREACH(s, &rl->socks, entry)
	{
		if (s->fast == NULL)
			continue;
		memset(&n, 0, sizeof n);
		before = relayfast_count(s->fast);
		relayfast_sync(rl->setup.fastpath, &s->fast, relay_fast_until, s, &n);
		rl->stats.fast_channels -= before - relayfast_count(s->fast);
		relay_fast_count(rl, s, &n);
	}
}

void
relay_io(struct relay *rl, struct turn_io *io)
{
	io->ctx = rl;
	io->relay_open = relay_open;
	io->relay_close = relay_close;
	io->relay_send = relay_send;
	io->client_send = relay_client_send;
	io->tcp_connect = relay_tcp_connect;
	io->tcp_close = relay_tcp_close;
	io->channel_bound = relay_channel_bound;
	io->moved = relay_moved;
}

/* A printable copy of the request's user name, for the logs. */
static void
relay_note_user(struct relay *rl, const char *user, size_t userlen)
{
	relay_printable(rl->user, user, userlen);
}

/* Forwards to the server's credentials, keeping a printable copy of the name. */
static int
relay_creds_lookup(void *ctx, const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint64_t now_unix, struct creds_result *out)
{
	struct relay *rl = ctx;

	relay_note_user(rl, user, userlen);
	return creds_lookup(rl->setup.creds, user, userlen, realm, realmlen, now_unix, out);
}

/* RFC 7635 keys: the kid is the session's user name. */
static int
relay_creds_oauth_key(void *ctx, const char *kid, size_t kidlen, struct oauth_key *out)
{
	struct relay *rl = ctx;

	relay_note_user(rl, kid, kidlen);
	return creds_oauth_key(rl->setup.creds, kid, kidlen, out);
}

static int
relay_creds_find_hash(void *ctx, const uint8_t *hash, const char *realm, size_t realmlen,
    char *name, size_t *namelen)
{
	struct relay *rl = ctx;

	return creds_find_hash(rl->setup.creds, hash, realm, realmlen, name, namelen);
}

static int
relay_creds_origin_realm(void *ctx, const char *origin, size_t originlen, char *realm,
    size_t *realmlen)
{
	struct relay *rl = ctx;

	return creds_origin_realm(rl->setup.creds, origin, originlen, realm, realmlen);
}

static const struct creds_ops relay_creds_ops = {relay_creds_lookup, relay_creds_oauth_key,
    relay_creds_find_hash, relay_creds_origin_realm};

void
relay_set_creds(struct relay *rl, const struct creds *creds, size_t total_quota)
{
	rl->setup.creds = creds;
	rl->setup.total_quota = total_quota;
}

void
relay_creds(struct relay *rl, struct creds *out)
{
	out->ops = &relay_creds_ops;
	out->ctx = rl;
}

void
relay_begin(struct relay *rl, struct relay_conn *conn)
{
	rl->cur_conn = conn;
	rl->last_counted = NULL;
	rl->user[0] = '\0';
}

void
relay_end(struct relay *rl)
{
	rl->cur_conn = NULL;
	rl->last_counted = NULL;
}

void
relay_conn_gone(struct relay *rl, struct relay_conn *conn)
{
	struct relay_sock *s;

	if (conn->allocs == 0)
		return;
	LIST_FOREACH(s, &rl->socks, entry)
	{
		if (s->conn == conn)
			s->conn = NULL;
	}
	conn->allocs = 0;
}

void
relay_stats(const struct relay *rl, struct relay_stats *st)
{
	struct udpio_tx_stats tc, tp;
	struct relayshared_stats ss;

	*st = rl->stats;
	udpio_tx_get_stats(rl->tx_client, &tc);
	udpio_tx_get_stats(rl->tx_peer, &tp);
	st->client_dropped += tc.dropped;
	st->send_errors += tp.dropped;
	st->send_calls = tc.calls + tp.calls;
	st->gso_messages = tc.gso + tp.gso;
	tcprelay_stats(rl->tcp, &st->tcp);
	if (rl->shared != NULL) {
		relayshared_stats(rl->shared, &ss);
		st->shared_unclaimed = ss.unclaimed;
	}
}

void
relay_flush_peers(struct relay *rl)
{
	udpio_tx_flush(rl->tx_peer);
}

void
relay_pass_end(struct relay *rl)
{
	rl->last_pass_reads = rl->pass_reads;
	rl->pass_reads = 0;
	relay_flush(rl);
}

void
relay_flush(struct relay *rl)
{
	relay_flush_peers(rl);
	udpio_tx_flush(rl->tx_client);
}

void
relay_free(struct relay *rl)
{
	struct relay_sock *s;

	if (rl == NULL)
		return;
	tcprelay_free(rl->tcp); /* after the core, which closed what it knew */
	rl->turn = NULL;        /* nor may its allocations be reported */
	while ((s = LIST_FIRST(&rl->socks)) != NULL)
		relay_sock_close(rl, s); /* the core is gone: its relay pointers with it */
	relayshared_free(rl->shared);
	udpio_rx_free(rl->rx);
	udpio_tx_free(rl->tx_client);
	udpio_tx_free(rl->tx_peer);
	free(rl);
}

void
relay_now(struct turn_now *now)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now->mono_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	now->unix_s = (uint64_t)time(NULL);
}
