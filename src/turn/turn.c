/*
 * The TURN core (RFC 8656, RFC 6156): requests through a method table,
 * Send/Data indications and ChannelData, lifetimes. Sans-IO: struct turn_io
 * does the sockets.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/allocation.h"
#include "turnpike/alternate.h"
#include "turnpike/auth.h"
#include "turnpike/binding.h"
#include "turnpike/buf.h"
#include "turnpike/chandata.h"
#include "turnpike/integrity.h"
#include "turnpike/random.h"
#include "turnpike/stun_build.h"
#include "turnpike/tcpconn.h"
#include "turnpike/turn.h"
#include "turnpike/txcache.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Answers kept for retransmissions, per core. */
#define TURN_TXCACHE_ENTRIES 8192
/* A Data indication or ChannelData carrying the largest datagram, padding included. */
#define TURN_SCRATCH (STUN_MAX_MSG + 8)
/* REQUESTED-TRANSPORT value for UDP (RFC 8656 §18.7: an IANA protocol number). */
#define TURN_PROTO_UDP 17
/* And for TCP (RFC 6062 §6.1). */
#define TURN_PROTO_TCP 6
/* RFC 6062 §5.3: an unbound connection is closed after 30 s; CONNECT waits as long. */
#define TURN_TCP_BIND_MS 30000
#define TURN_TCP_CONNECT_MS 30000
/* Address family values of REQUESTED-/ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.8). */
#define TURN_FAMILY_IPV4 0x01
#define TURN_FAMILY_IPV6 0x02

struct turn {
	const struct turn_config *cfg;
	struct creds creds;
	struct turn_io io;
	const struct peerpolicy *policy;
	struct peerpolicy *own_policy; /* the defaults, when cfg->policy is NULL */
	struct binding_config binding;
	struct allocation_table *allocs;
	struct txcache *txcache;
	struct tcpconn_table *tcpconns; /* RFC 6062 connections of every allocation */
	uint8_t tag;                    /* low byte of this core's CONNECTION-IDs */
	struct turn_stats stats;
	uint8_t tid_prefix[8]; /* random; a counter follows in indications */
	uint32_t tid_counter;
	uint64_t next_alloc_id;
	bool draining;                 /* new allocations redirected or refused with 508 */
	uint32_t alt_cursor;           /* round-robin over the alternate servers */
	uint8_t scratch[TURN_SCRATCH]; /* outgoing Data indications and ChannelData */
	void (*session_end)(void *, const struct turn_session *);
	void *session_end_arg;
	struct mobility_key mobility; /* RFC 8016 tickets: from cfg->nonce_key */
};

/* One request being answered. */
struct turn_req {
	struct turn *t;
	const struct turn_5tuple *tuple;
	void *conn;
	const struct stun_msg *m;
	const struct turn_now *now;
	struct auth_result auth;
	bool authenticated;
	struct turn_allocation *alloc; /* the 5-tuple's allocation, or NULL */
	struct turn_reply *reply;
	struct alternate_target alternate; /* where a 300 sends the client */
};

/* What a request is answered with; filled by a method handler. */
struct turn_answer {
	int error; /* 0 for success, else ERROR-CODE */
	bool challenge;
	const uint16_t *unknown;
	size_t nunknown;
	const struct turn_allocation *relayed; /* XOR-RELAYED-ADDRESS(es) of an Allocate */
	bool mapped;                           /* XOR-MAPPED-ADDRESS */
	bool has_lifetime;
	uint32_t lifetime;
	uint64_t token;                           /* RESERVATION-TOKEN, 0 for none */
	int addr_error;                           /* ADDRESS-ERROR-CODE for IPv6, 0 for none */
	const struct alternate_target *alternate; /* ALTERNATE-SERVER of a 300 */
	uint32_t connection_id;                   /* CONNECTION-ID (RFC 6062), 0 for none */
	bool deferred;      /* answered later (CONNECT): nothing to send now */
	const char *ticket; /* MOBILITY-TICKET (MOBILITY_TICKET_LEN characters), NULL for none */
};

/* What an Allocate asks for (RFC 8656 §7.2). */
struct turn_alloc_req {
	int family;  /* the first relay; AF_UNSPEC when claiming a token */
	int family2; /* AF_INET6 with ADDITIONAL-ADDRESS-FAMILY, else 0 */
	bool even_port, reserve, dont_fragment;
	bool tcp; /* RFC 6062 */
	uint64_t token;
	uint32_t lifetime;
};

struct turn_method {
	uint16_t method;
	bool needs_alloc; /* RFC 8656 §5: no allocation on the 5-tuple is a 437 */
	void (*handle)(struct turn_req *, struct turn_answer *);
};

static void turn_allocate(struct turn_req *, struct turn_answer *);
static void turn_refresh(struct turn_req *, struct turn_answer *);
static void turn_create_permission(struct turn_req *, struct turn_answer *);
static void turn_channel_bind(struct turn_req *, struct turn_answer *);
static void turn_connect(struct turn_req *, struct turn_answer *);
static void turn_connection_bind(struct turn_req *, struct turn_answer *);
static bool turn_same_credentials(const struct turn_req *);
static bool turn_same_origin(const struct turn_req *);
static void turn_channel_announce(struct turn *, struct turn_allocation *, uint16_t,
    const struct sockaddr *, uint64_t);

static const struct turn_method turn_methods[] = {
    {STUN_ALLOCATE, false, turn_allocate},
    {STUN_REFRESH, true, turn_refresh},
    {STUN_CREATE_PERMISSION, true, turn_create_permission},
    {STUN_CHANNEL_BIND, true, turn_channel_bind},
    {STUN_CONNECT, true, turn_connect},
    {STUN_CONNECTION_BIND, false, turn_connection_bind},
};

static uint64_t
turn_ms(uint32_t seconds)
{
	return (uint64_t)seconds * 1000;
}

struct turn *
turn_create(const struct turn_config *cfg, const struct creds *creds, const struct turn_io *io)
{
	struct turn *t;
	uint32_t seed;

	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	t->cfg = cfg;
	if (creds != NULL)
		t->creds = *creds;
	t->io = *io;
	t->binding.software = cfg->software;
	t->binding.rfc5780 = cfg->rfc5780;
	t->policy = cfg->policy;
	if (t->policy == NULL)
		t->policy = t->own_policy = peerpolicy_create();
	if (random_bytes(&seed, sizeof seed) == -1 ||
	    random_bytes(t->tid_prefix, sizeof t->tid_prefix) == -1 || t->policy == NULL ||
	    (t->allocs = allocation_table_create(seed)) == NULL ||
	    (t->tcpconns = tcpconn_table_create()) == NULL ||
	    (t->txcache = txcache_create(cfg->txcache_entries != 0 ? cfg->txcache_entries
								   : TURN_TXCACHE_ENTRIES,
		 TXCACHE_TTL_MS, ~seed)) == NULL ||
	    mobility_key_init(&t->mobility, cfg->nonce_key, sizeof cfg->nonce_key) == -1) {
		turn_free(t);
		return NULL;
	}
	return t;
}

/* What a session report says of a in any case: who, and its counters. */
static void
turn_session_fill(const struct turn_allocation *a, struct turn_session *s)
{
	memset(s, 0, sizeof *s);
	s->id = a->id;
	s->user = a->user != NULL ? a->user : "";
	s->realm = a->realm != NULL ? a->realm : "";
	s->tuple = a->tuple;
	s->to_peer_packets = a->to_peer_packets;
	s->to_peer_bytes = a->to_peer_bytes;
	s->to_client_packets = a->to_client_packets;
	s->to_client_bytes = a->to_client_bytes;
	s->peers = a->nperms;
}

/* The final counters of a, for turn_set_session_end's hook. */
static void
turn_session_end(struct turn *t, const struct turn_allocation *a)
{
	struct turn_session s;

	turn_session_fill(a, &s);
	t->session_end(t->session_end_arg, &s);
}

/* Closes a's relays through the I/O layer and forgets a. */
static void
turn_delete(struct turn *t, struct turn_allocation *a)
{
	size_t i;

	while (a->tcpconns != NULL) {
		t->io.tcp_close(t->io.ctx, a->tcpconns);
		tcpconn_remove(t->tcpconns, &a->tcpconns, a->tcpconns);
	}
	/* Closing a relay may bring its last counts in (turn_count_relayed): first. */
	for (i = 0; i < ALLOCATION_MAX_RELAYS; i++) {
		if (a->live[i])
			t->io.relay_close(t->io.ctx, &a->relays[i]);
	}
	if (t->session_end != NULL)
		turn_session_end(t, a);
	allocation_remove(t->allocs, a);
}

static void
turn_delete_cb(void *arg, struct turn_allocation *a)
{
	turn_delete(arg, a);
}

void
turn_free(struct turn *t)
{
	if (t == NULL)
		return;
	if (t->allocs != NULL)
		allocation_table_walk(t->allocs, turn_delete_cb, t);
	allocation_table_free(t->allocs);
	tcpconn_table_free(t->tcpconns);
	txcache_free(t->txcache);
	peerpolicy_free(t->own_policy);
	free(t);
}

int
turn_set_config(struct turn *t, const struct turn_config *cfg)
{
	if (cfg->policy == NULL && t->own_policy == NULL &&
	    (t->own_policy = peerpolicy_create()) == NULL)
		return -1;
	t->cfg = cfg;
	t->binding.software = cfg->software;
	t->binding.rfc5780 = cfg->rfc5780;
	t->policy = cfg->policy != NULL ? cfg->policy : t->own_policy;
	/* A new stateless-nonce-secret: tickets sealed before no longer open. */
	if (mobility_key_init(&t->mobility, cfg->nonce_key, sizeof cfg->nonce_key) == -1)
		memset(&t->mobility.key, 0, sizeof t->mobility.key);
	return 0;
}

void
turn_set_draining(struct turn *t, bool draining)
{
	t->draining = draining;
}

/* The 5-tuple's allocation if it has not expired; an expired one is deleted now. */
static struct turn_allocation *
turn_find(struct turn *t, const struct turn_5tuple *tuple, uint64_t now_ms)
{
	struct turn_allocation *a = allocation_find(t->allocs, tuple);

	if (a != NULL && a->expires_ms <= now_ms) {
		turn_delete(t, a);
		return NULL;
	}
	return a;
}

/* ADDRESS-ERROR-CODE for the IPv6 half of a dual allocation (RFC 8656 §18.12). */
static void
turn_build_addr_error(struct stun_build *b, int code)
{
	const char *reason = stun_error_reason(code);
	uint8_t v[4 + 64];
	size_t rlen = strlen(reason);

	if (rlen > sizeof v - 4)
		rlen = sizeof v - 4;
	v[0] = TURN_FAMILY_IPV6;
	v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, rlen);
	stun_build_attr(b, STUN_ATTR_ADDRESS_ERROR_CODE, v, 4 + rlen);
}

static void
turn_build_success(const struct turn_req *r, const struct turn_answer *a, struct stun_build *b)
{
	struct sockaddr_in sin;
	uint8_t token[8];
	size_t i;

	for (i = 0; a->relayed != NULL && i < ALLOCATION_MAX_RELAYS; i++) {
		if (a->relayed->live[i])
			stun_build_xor_addr(b, STUN_ATTR_XOR_RELAYED_ADDRESS,
			    (const struct sockaddr *)&a->relayed->relays[i].relayed);
	}
	if (a->addr_error != 0)
		turn_build_addr_error(b, a->addr_error);
	if (a->has_lifetime)
		stun_build_u32(b, STUN_ATTR_LIFETIME, a->lifetime);
	if (a->token != 0) {
		buf_store_u32(token, (uint32_t)(a->token >> 32));
		buf_store_u32(token + 4, (uint32_t)a->token);
		stun_build_attr(b, STUN_ATTR_RESERVATION_TOKEN, token, sizeof token);
	}
	if (a->mapped)
		stun_build_xor_addr(b, STUN_ATTR_XOR_MAPPED_ADDRESS,
		    addr_unmap_v4((const struct sockaddr *)&r->tuple->client, &sin));
	if (a->connection_id != 0)
		stun_build_u32(b, STUN_ATTR_CONNECTION_ID, a->connection_id);
	if (a->ticket != NULL)
		stun_build_attr(b, STUN_ATTR_MOBILITY_TICKET, a->ticket, MOBILITY_TICKET_LEN);
}

/*
 * RFC 8489 §9.2.4: an authenticated request's answer carries integrity with the
 * same key, MESSAGE-INTEGRITY-SHA256 when the request used it; §7.3.1: FINGERPRINT
 * when the request had one. 401 and 438 answers carry no integrity.
 */
static int
turn_build(const struct turn_req *r, const struct turn_answer *a, uint8_t *out, size_t cap,
    size_t *outlen)
{
	const struct turn_config *cfg = r->t->cfg;
	const struct stun_msg *m = r->m;
	struct stun_build b;

	*outlen = 0;
	stun_build_init(&b, out, cap, m->method, a->error != 0 ? STUN_ERROR : STUN_SUCCESS, m->tid);
	if (a->error != 0)
		stun_build_error(&b, a->error, a->challenge && !cfg->challenge_reason ? "" : NULL);
	if (a->nunknown > 0)
		stun_build_unknown(&b, a->unknown, a->nunknown);
	if (a->alternate != NULL) {
		stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER,
		    (const struct sockaddr *)&a->alternate->addr);
		if (a->alternate->domain[0] != '\0')
			stun_build_string(&b, STUN_ATTR_ALTERNATE_DOMAIN, a->alternate->domain);
	}
	if (a->challenge)
		auth_build_challenge_realm(&b, cfg, r->auth.realm, r->auth.realmlen, r->tuple,
		    r->now->unix_s);
	turn_build_success(r, a, &b);
	if (cfg->software != NULL)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, cfg->software);
	if (r->authenticated && r->auth.keylen > 0 && r->auth.mac_sha256)
		stun_build_integrity_sha256(&b, r->auth.key, r->auth.keylen);
	else if (r->authenticated && r->auth.keylen > 0)
		stun_build_integrity(&b, r->auth.key, r->auth.keylen);
	if (m->fingerprint >= 0)
		stun_build_fingerprint(&b);
	if (stun_build_finish(&b, outlen) == -1) {
		*outlen = 0;
		return -1;
	}
	return 0;
}

/* 0x01 and 0x02 of the address family attributes; AF_UNSPEC otherwise. */
static int
turn_family(const struct stun_msg *m, const struct stun_attr *a)
{
	uint8_t v;

	if (stun_get_u8(m, a, &v) == -1)
		return AF_UNSPEC;
	if (v == TURN_FAMILY_IPV4)
		return AF_INET;
	if (v == TURN_FAMILY_IPV6)
		return AF_INET6;
	return AF_UNSPEC;
}

/*
 * RFC 8656 §7.2 and §7.3: with LIFETIME, min(requested, maximum) if that exceeds
 * the default, else the default; without it, the default. A Refresh asking for 0
 * deletes the allocation; an Allocate asking for 0 gets the default.
 */
static uint32_t
turn_lifetime(const struct turn_config *cfg, const struct stun_msg *m, bool refresh)
{
	const struct stun_attr *a = stun_find(m, STUN_ATTR_LIFETIME);
	uint32_t v;

	if (a == NULL || stun_get_u32(m, a, &v) == -1)
		return cfg->default_lifetime;
	if (v == 0 && refresh)
		return 0;
	if (v > cfg->max_lifetime)
		v = cfg->max_lifetime;
	return v > cfg->default_lifetime ? v : cfg->default_lifetime;
}

/* RFC 7635: an allocation made with an access token ends when the token does. */
static uint32_t
turn_lifetime_cap(const struct turn_req *r, uint32_t v)
{
	uint64_t left;

	if (!r->auth.oauth || v == 0)
		return v;
	left = r->auth.expires_unix > r->now->unix_s ? r->auth.expires_unix - r->now->unix_s : 1;
	return left < v ? (uint32_t)left : v;
}

/* Seconds left before a expires, rounded up. */
static uint32_t
turn_remaining(const struct turn_allocation *a, uint64_t now_ms)
{
	if (a->expires_ms <= now_ms)
		return 0;
	return (uint32_t)((a->expires_ms - now_ms + 999) / 1000);
}

/*
 * RFC 6062 §5.1: TCP only over a TCP or TLS client connection (400 over UDP),
 * without DONT-FRAGMENT, EVEN-PORT or RESERVATION-TOKEN (400); no-tcp-relay
 * answers 442 as coturn does. One address family.
 */
static int
turn_allocate_parse_tcp(const struct turn_req *r, struct turn_alloc_req *ar)
{
	const struct stun_msg *m = r->m;
	const struct stun_attr *raf = stun_find(m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);

	if (!r->t->cfg->tcp_relay)
		return 442;
	if (r->tuple->transport == TURN_UDP || stun_find(m, STUN_ATTR_DONT_FRAGMENT) != NULL ||
	    stun_find(m, STUN_ATTR_EVEN_PORT) != NULL ||
	    stun_find(m, STUN_ATTR_RESERVATION_TOKEN) != NULL ||
	    stun_find(m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY) != NULL)
		return 400;
	if (raf != NULL && (ar->family = turn_family(m, raf)) == AF_UNSPEC)
		return 440;
	ar->tcp = true;
	ar->lifetime = turn_lifetime(r->t->cfg, m, false);
	return 0;
}

/* RFC 8656 §7.2 steps 3-9: the attributes of an Allocate; 0 or the error code. */
static int
turn_allocate_parse(const struct turn_req *r, struct turn_alloc_req *ar)
{
	const struct stun_msg *m = r->m;
	const struct stun_attr *tr = stun_find(m, STUN_ATTR_REQUESTED_TRANSPORT);
	const struct stun_attr *raf = stun_find(m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	const struct stun_attr *aaf = stun_find(m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY);
	const struct stun_attr *even = stun_find(m, STUN_ATTR_EVEN_PORT);
	const struct stun_attr *tok = stun_find(m, STUN_ATTR_RESERVATION_TOKEN);
	uint8_t proto;

	memset(ar, 0, sizeof *ar);
	ar->family = AF_INET;
	if (tr == NULL || stun_get_u8(m, tr, &proto) == -1)
		return 400;
	if (proto == TURN_PROTO_TCP)
		return turn_allocate_parse_tcp(r, ar);
	if (proto != TURN_PROTO_UDP)
		return 442;
	ar->dont_fragment = stun_find(m, STUN_ATTR_DONT_FRAGMENT) != NULL;
	if ((tok != NULL && (even != NULL || raf != NULL || aaf != NULL)) ||
	    (raf != NULL && aaf != NULL))
		return 400;
	if (raf != NULL && (ar->family = turn_family(m, raf)) == AF_UNSPEC)
		return 440;
	if (aaf != NULL) {
		if ((ar->family2 = turn_family(m, aaf)) == AF_INET)
			return 400;
		if (ar->family2 == AF_UNSPEC)
			return 440;
	}
	if (even != NULL) {
		ar->even_port = true;
		ar->reserve = (stun_attr_value(m, even)[0] & 0x80) != 0;
		if (ar->reserve && aaf != NULL)
			return 400;
	}
	if (tok != NULL) {
		const uint8_t *v = stun_attr_value(m, tok);
		ar->token = (uint64_t)buf_load_u32(v) << 32 | buf_load_u32(v + 4);
		if (ar->token == 0)
			return 508; /* never issued: an unknown token */
		ar->family = AF_UNSPEC;
	}
	ar->lifetime = turn_lifetime_cap(r, turn_lifetime(r->t->cfg, m, false));
	return 0;
}

/*
 * RFC 8656 §7.2: 486 beyond the per-user or total allocation quota of this
 * core; 508 (Insufficient Capacity: cannot allocate now) while draining.
 */
static int
turn_quota(const struct turn_req *r)
{
	const struct turn_config *cfg = r->t->cfg;

	if (r->t->draining)
		return 508;
	if (cfg->total_quota != 0 && allocation_table_count(r->t->allocs) >= cfg->total_quota)
		return 486;
	if (cfg->auth && cfg->user_quota != 0 &&
	    allocation_table_user_count(r->t->allocs, r->auth.user, r->auth.userlen) >=
		cfg->user_quota)
		return 486;
	return 0;
}

/*
 * RFC 8489 §10: 300 Try Alternate with ALTERNATE-SERVER (and ALTERNATE-DOMAIN
 * for TLS certificate checks) when alternate_choose says so; true when answered.
 * The fleet steers authenticated Allocates only.
 */
static bool
turn_redirect(struct turn_req *r, struct turn_answer *ans, bool authenticated)
{
	struct sockaddr_in sin;
	struct alternate_query q = {
	    .transport = r->tuple->transport,
	    .family = addr_unmap_v4((const struct sockaddr *)&r->tuple->server, &sin)->sa_family,
	    .draining = r->t->draining,
	};

	if (authenticated && r->t->cfg->fleet_view != NULL)
		r->t->cfg->fleet_view(r->t->cfg->fleet_ctx, &q);
	if (!alternate_choose(r->t->cfg->alternates, &q, &r->t->alt_cursor, &r->alternate))
		return false;
	ans->error = 300;
	ans->alternate = &r->alternate;
	r->t->stats.redirects++;
	return true;
}

/* relay_open's answer as a STUN error code. */
static int
turn_relay_error(int rc)
{
	return rc >= 300 && rc <= 699 ? rc : 508;
}

/* Opens one relay of a; 0 or the error code. */
static int
turn_open_one(struct turn_req *r, struct turn_allocation *a, struct turn_relay_req *req,
    uint64_t *token)
{
	struct turn_relay *rel = allocation_free_relay(a);
	int rc;

	if (rel == NULL)
		return 508;
	req->client = &a->tuple; /* lives as long as the allocation */
	req->alloc = a;
	if ((rc = r->t->io.relay_open(r->t->io.ctx, req, rel, token)) != 0)
		return turn_relay_error(rc);
	allocation_keep_relay(a, rel);
	return 0;
}

/* The relays an Allocate asks for; the IPv6 half of a dual one may fail alone. */
static int
turn_open_relays(struct turn_req *r, struct turn_allocation *a, const struct turn_alloc_req *ar)
{
	struct turn_relay_req req;
	uint64_t token = 0;
	int rc;

	memset(&req, 0, sizeof req);
	req.family = ar->family;
	req.even_port = ar->even_port;
	req.reserve = ar->reserve;
	req.token = ar->token;
	req.dont_fragment = ar->dont_fragment;
	req.tcp = ar->tcp;
	if ((rc = turn_open_one(r, a, &req, &token)) != 0)
		return rc;
	if (ar->reserve)
		a->token = token;
	if (ar->family2 != 0) {
		memset(&req, 0, sizeof req);
		req.family = ar->family2;
		req.dont_fragment = ar->dont_fragment;
		a->addr_error = turn_open_one(r, a, &req, &token);
	}
	return 0;
}

static void
turn_allocate_answer(const struct turn_req *r, const struct turn_allocation *a,
    struct turn_answer *ans)
{
	if (a->mobility_seq != 0)
		ans->ticket = a->mobility_ticket;
	ans->relayed = a;
	ans->has_lifetime = true;
	ans->lifetime = turn_remaining(a, r->now->mono_ms);
	ans->token = a->token;
	ans->addr_error = a->addr_error;
	ans->mapped = true;
}

/*
 * The allocation's realm is the one its credentials verified in (never
 * chosen by an ORIGIN alone); its ORIGIN is kept for check-origin-consistency.
 */
static int
turn_bind_realm(const struct turn_req *r, struct turn_allocation *a)
{
	const struct stun_attr *origin = stun_find(r->m, STUN_ATTR_ORIGIN);
	const char *realm = r->auth.realm != NULL ? r->auth.realm : "";

	return allocation_set_realm(a, realm, r->auth.realm != NULL ? r->auth.realmlen : 0,
	    origin != NULL ? (const char *)stun_attr_value(r->m, origin) : NULL,
	    origin != NULL ? origin->len : 0);
}

/*
 * RFC 8016 §3.1: an Allocate asking for mobility carries an empty
 * MOBILITY-TICKET (else 400); with mobility off it is refused with 405.
 */
static int
turn_mobility_asked(const struct turn_req *r)
{
	const struct stun_attr *ta = stun_find(r->m, STUN_ATTR_MOBILITY_TICKET);

	if (ta == NULL)
		return 0;
	if (!r->t->cfg->mobility)
		return 405;
	return ta->len == 0 ? 0 : 400;
}

/*
 * Seals a's next ticket (UDP allocations only: a stream's allocation ends
 * with its connection). It is good while a lives and no newer one was
 * issued, and at most max-allocate-lifetime past a's expiry at issue.
 * False when none was issued (mobility off, another transport, or a's
 * 24-bit sequence used up).
 */
static bool
turn_mobility_issue(struct turn_req *r, struct turn_allocation *a)
{
	struct turn *t = r->t;
	struct mobility_ticket tk;

	if (!t->cfg->mobility || a->tuple.transport != TURN_UDP || a->tcp ||
	    a->mobility_seq >= MOBILITY_SEQ_MAX)
		return false;
	tk.tag = t->tag;
	tk.id = a->id;
	tk.seq = a->mobility_seq + 1;
	tk.expires_unix =
	    (uint32_t)(r->now->unix_s + turn_remaining(a, r->now->mono_ms) + t->cfg->max_lifetime);
	if (mobility_seal(&t->mobility, &tk, a->mobility_ticket) == -1)
		return false;
	a->mobility_seq = tk.seq;
	t->stats.mobility_tickets++;
	return true;
}

/* RFC 8016 §3.2: a moves to the request's 5-tuple with its relays, permissions and channels. */
static void
turn_mobility_move(struct turn_req *r, struct turn_allocation *a)
{
	struct turn *t = r->t;
	size_t i;

	r->reply->moved = true;
	r->reply->moved_from = a->tuple;
	allocation_move(t->allocs, a, r->tuple);
	a->conn = r->conn;
	t->stats.mobility_moves++;
	if (t->io.moved == NULL)
		return;
	t->io.moved(t->io.ctx, a);
	for (i = 0; i < a->nchans; i++)
		turn_channel_announce(t, a, a->chans[i].number,
		    (const struct sockaddr *)&a->chans[i].peer, r->now->mono_ms);
}

/*
 * RFC 8016 §3.2: a Refresh carrying MOBILITY-TICKET, before the 5-tuple's
 * allocation is looked up. A ticket this core sealed, unexpired and the
 * latest of its allocation, from the user who made that allocation, moves
 * it to this 5-tuple (when it is elsewhere); false when answered with an
 * error, and then nothing changed. Moving never makes an allocation, so a
 * ticket cannot add to a quota; a used ticket is older than the latest.
 */
static bool
turn_mobility_refresh(struct turn_req *r, const struct stun_attr *ta, struct turn_answer *ans)
{
	struct turn *t = r->t;
	struct mobility_ticket tk;
	struct turn_allocation *a, *here;
	const char *errstr;

	if (!t->cfg->mobility) {
		ans->error = 405;
		return false;
	}
	ans->error = 400; /* forged, altered, expired, another server's or replayed */
	if (mobility_open(&t->mobility, stun_attr_value(r->m, ta), ta->len, &tk, &errstr) == -1 ||
	    tk.expires_unix <= r->now->unix_s || tk.tag != t->tag)
		goto refused;
	if ((a = allocation_find_id(t->allocs, tk.id)) == NULL ||
	    a->expires_ms <= r->now->mono_ms) {
		ans->error = 437; /* its allocation is gone */
		goto refused;
	}
	here = turn_find(t, r->tuple, r->now->mono_ms);
	r->alloc = a;
	if (!turn_same_credentials(r) || !turn_same_origin(r)) {
		ans->error = 441; /* another user's ticket: RFC 8656 §5 */
		t->stats.auth_failures_441++;
		goto refused;
	}
	if (tk.seq != a->mobility_seq)
		goto refused;
	if (here != NULL && here != a) {
		ans->error = 437; /* this 5-tuple has an allocation of its own */
		goto refused;
	}
	if (a->tuple.transport != r->tuple->transport) {
		ans->error = 405; /* UDP allocations move to UDP 5-tuples only */
		goto refused;
	}
	if (here == NULL)
		turn_mobility_move(r, a);
	ans->error = 0;
	return true;
refused:
	r->alloc = NULL;
	t->stats.mobility_refused++;
	return false;
}

/* RFC 8656 §7.2. */
static void
turn_allocate(struct turn_req *r, struct turn_answer *ans)
{
	struct turn_alloc_req ar;
	struct turn_allocation *a;

	if (r->alloc != NULL) {
		/* A retransmission the cache no longer holds still gets its success. */
		if (memcmp(r->alloc->tid, r->m->tid, STUN_TID_LEN) == 0)
			turn_allocate_answer(r, r->alloc, ans);
		else
			ans->error = 437;
		return;
	}
	if (turn_redirect(r, ans, true))
		return;
	if ((ans->error = turn_allocate_parse(r, &ar)) != 0 ||
	    (ans->error = turn_mobility_asked(r)) != 0 || (ans->error = turn_quota(r)) != 0)
		return;
	if ((a = allocation_add(r->t->allocs, r->tuple, r->auth.user, r->auth.userlen)) == NULL) {
		ans->error = 508;
		return;
	}
	if (turn_bind_realm(r, a) != 0) {
		turn_delete(r->t, a);
		ans->error = 508;
		return;
	}
	memcpy(a->tid, r->m->tid, STUN_TID_LEN);
	a->oauth = r->auth.oauth;
	a->conn = r->conn;
	a->id = ++r->t->next_alloc_id;
	a->created_ms = r->now->mono_ms;
	a->expires_ms = r->now->mono_ms + turn_ms(ar.lifetime);
	a->tcp = ar.tcp;
	if ((ans->error = turn_open_relays(r, a, &ar)) != 0) {
		turn_delete(r->t, a);
		return;
	}
	r->alloc = a;
	r->t->stats.allocations_created++;
	r->t->stats.tcp_allocations += a->tcp;
	if (stun_find(r->m, STUN_ATTR_MOBILITY_TICKET) != NULL)
		turn_mobility_issue(r, a);
	turn_allocate_answer(r, a, ans);
}

/* RFC 8656 §7.3; REQUESTED-ADDRESS-FAMILY picks one half of a dual allocation. */
static void
turn_refresh(struct turn_req *r, struct turn_answer *ans)
{
	const struct stun_attr *raf = stun_find(r->m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	struct turn_allocation *a = r->alloc;
	struct turn_relay *only = NULL;
	uint32_t lifetime;

	if (raf != NULL && (only = allocation_relay(a, turn_family(r->m, raf))) == NULL) {
		ans->error = 443;
		return;
	}
	lifetime = turn_lifetime_cap(r, turn_lifetime(r->t->cfg, r->m, true));
	ans->has_lifetime = true;
	ans->lifetime = lifetime;
	if (lifetime > 0) {
		a->expires_ms = r->now->mono_ms + turn_ms(lifetime);
		/* RFC 8016 §3.2: a Refresh with the ticket gets the next one. */
		if (stun_find(r->m, STUN_ATTR_MOBILITY_TICKET) != NULL && turn_mobility_issue(r, a))
			ans->ticket = a->mobility_ticket;
		return;
	}
	if (only != NULL && a->nrelays > 1) {
		r->t->io.relay_close(r->t->io.ctx, only);
		allocation_drop_relay(a, only);
		return;
	}
	turn_delete(r->t, a);
	r->alloc = NULL;
}

/* A peer of a CreatePermission or ChannelBind: 443 (RFC 8656 §9.2) or 403 (policy). */
static int
turn_check_peer(struct turn_req *r, const struct sockaddr_storage *peer)
{
	const char *reason;

	if (allocation_relay(r->alloc, peer->ss_family) == NULL)
		return 443;
	if (r->t->cfg->peer_check != NULL
		? !r->t->cfg->peer_check(r->t->cfg->peer_ctx, (const struct sockaddr *)peer,
		      &reason)
		: !peerpolicy_check(r->t->policy, (const struct sockaddr *)peer, &reason)) {
		r->t->stats.peer_refused++;
		return 403;
	}
	return 0;
}

/* Installs or refreshes peer's permission, marked when its port must be checked per packet. */
static int
turn_permit_alloc(struct turn *t, struct turn_allocation *a, const struct sockaddr *peer,
    uint64_t expires, uint64_t now_ms)
{
	struct allocation_permission *p;

	if (allocation_permit(a, peer, expires, 0, now_ms) == -1 ||
	    (p = allocation_permission(a, peer, now_ms)) == NULL)
		return -1;
	p->check_port = peerpolicy_port_matters(t->policy, peer);
	return 0;
}

static int
turn_permit(struct turn_req *r, const struct sockaddr *peer, uint64_t expires)
{
	return turn_permit_alloc(r->t, r->alloc, peer, expires, r->now->mono_ms);
}

/* Whether n peers (some perhaps already permitted or repeated) fit max_permissions. */
static bool
turn_permissions_fit(const struct turn_req *r, const struct sockaddr_storage *peers, size_t n)
{
	size_t max = r->t->cfg->max_permissions, i, j, live = 0, added = 0;
	const struct turn_allocation *a = r->alloc;
	uint64_t now = r->now->mono_ms;

	if (max == 0)
		return true;
	for (i = 0; i < a->nperms; i++)
		live += a->perms[i].expires_ms > now;
	for (i = 0; i < n; i++) {
		const struct sockaddr *p = (const struct sockaddr *)&peers[i];
		bool seen = allocation_is_permitted(a, p, now);
		for (j = 0; j < i && !seen; j++)
			seen = addr_equal_ip((const struct sockaddr *)&peers[j], p);
		added += !seen;
	}
	return live + added <= max;
}

/* RFC 8656 §9.2: every XOR-PEER-ADDRESS is checked before any permission is installed. */
static void
turn_create_permission(struct turn_req *r, struct turn_answer *ans)
{
	struct sockaddr_storage peers[STUN_MAX_ATTRS];
	const struct stun_msg *m = r->m;
	uint64_t expires = r->now->mono_ms + turn_ms(r->t->cfg->permission_lifetime);
	size_t i, n = 0;

	for (i = 0; i < m->nattrs; i++) {
		if (m->attrs[i].type != STUN_ATTR_XOR_PEER_ADDRESS)
			continue;
		if (stun_get_xor_addr(m, &m->attrs[i], &peers[n]) == -1) {
			ans->error = 400;
			return;
		}
		if ((ans->error = turn_check_peer(r, &peers[n++])) != 0)
			return;
	}
	if (n == 0) {
		ans->error = 400;
		return;
	}
	if (!turn_permissions_fit(r, peers, n)) {
		ans->error = 508;
		return;
	}
	for (i = 0; i < n; i++) {
		if (turn_permit(r, (const struct sockaddr *)&peers[i], expires) == -1)
			ans->error = 508;
	}
}

uint64_t
turn_channel_until(struct turn_allocation *a, uint16_t number, const struct sockaddr *peer,
    uint64_t now_ms)
{
	const struct allocation_channel *c = allocation_channel(a, number, now_ms);
	const struct allocation_permission *p;
	uint64_t until;

	if (a->tcp || now_ms >= a->expires_ms || c == NULL ||
	    !addr_equal((const struct sockaddr *)&c->peer, peer))
		return 0;
	p = allocation_permission(a, peer, now_ms);
	if (p == NULL || p->check_port) /* check_port: the policy is asked per packet */
		return 0;
	until = a->expires_ms < c->expires_ms ? a->expires_ms : c->expires_ms;
	return until < p->expires_ms ? until : p->expires_ms;
}

/* Tells the I/O layer of a channel bound or refreshed, before the answer goes out. */
static void
turn_channel_announce(struct turn *t, struct turn_allocation *a, uint16_t number,
    const struct sockaddr *peer, uint64_t now_ms)
{
	const struct turn_relay *rel = allocation_relay(a, peer->sa_family);
	uint64_t until = turn_channel_until(a, number, peer, now_ms);

	if (t->io.channel_bound != NULL && rel != NULL && until != 0)
		t->io.channel_bound(t->io.ctx, rel, a, number, peer, until);
}

/* RFC 8656 §11.2: binds or refreshes, and installs or refreshes the peer's permission. */
static void
turn_channel_bind(struct turn_req *r, struct turn_answer *ans)
{
	const struct turn_config *cfg = r->t->cfg;
	const struct stun_attr *ch = stun_find(r->m, STUN_ATTR_CHANNEL_NUMBER);
	const struct stun_attr *pa = stun_find(r->m, STUN_ATTR_XOR_PEER_ADDRESS);
	uint64_t now = r->now->mono_ms;
	struct sockaddr_storage peer;
	const struct sockaddr *sa = (const struct sockaddr *)&peer;
	uint16_t number;
	int rc;

	/* RFC 8656 §12: 0x4000-0x4FFF; RFC 5766 clients (coturn's) use up to 0x7FFF. */
	if (r->alloc->tcp || ch == NULL || pa == NULL || stun_get_u16(r->m, ch, &number) == -1 ||
	    number < CHANNEL_MIN ||
	    number > (cfg->rfc5766_channels ? CHANNEL_LEGACY_MAX : CHANNEL_MAX) ||
	    stun_get_xor_addr(r->m, pa, &peer) == -1) {
		ans->error = 400;
		return;
	}
	if ((ans->error = turn_check_peer(r, &peer)) != 0)
		return;
	rc = allocation_bind_check(r->alloc, number, sa, cfg->max_channels, now);
	if (rc == ALLOCATION_BIND_CONFLICT) {
		ans->error = 400;
		return;
	}
	if (rc != ALLOCATION_BIND_OK || !turn_permissions_fit(r, &peer, 1) ||
	    turn_permit(r, sa, now + turn_ms(cfg->permission_lifetime)) == -1 ||
	    allocation_bind(r->alloc, number, sa, now + turn_ms(cfg->channel_lifetime),
		cfg->max_channels, now) != ALLOCATION_BIND_OK) {
		ans->error = 508;
		return;
	}
	turn_channel_announce(r->t, r->alloc, number, sa, now);
}

/* RFC 6062 §5.2: the answer waits for the connection's outcome. */
static void
turn_connect(struct turn_req *r, struct turn_answer *ans)
{
	const struct stun_attr *pa = stun_find(r->m, STUN_ATTR_XOR_PEER_ADDRESS);
	struct turn *t = r->t;
	struct turn_allocation *a = r->alloc;
	struct sockaddr_storage peer;
	const struct sockaddr *sa = (const struct sockaddr *)&peer;
	struct tcpconn *c;

	if (!a->tcp || pa == NULL || stun_get_xor_addr(r->m, pa, &peer) == -1) {
		ans->error = 400;
		return;
	}
	/* The policy first: no SYN ever reaches a refused address. */
	if ((ans->error = turn_check_peer(r, &peer)) != 0)
		return;
	if (tcpconn_find_peer(a->tcpconns, sa) != NULL) {
		ans->error = 446;
		return;
	}
	if ((c = tcpconn_add(t->tcpconns, a, &a->tcpconns, sa, t->tag)) == NULL) {
		ans->error = 508;
		return;
	}
	c->state = TCPCONN_CONNECTING;
	c->deadline_ms = r->now->mono_ms + TURN_TCP_CONNECT_MS;
	memcpy(c->answer.tid, r->m->tid, STUN_TID_LEN);
	memcpy(c->answer.key, r->auth.key, r->auth.keylen);
	c->answer.keylen = r->auth.keylen;
	c->answer.mac_sha256 = r->auth.mac_sha256;
	c->answer.fingerprint = r->m->fingerprint >= 0;
	if (t->io.tcp_connect(t->io.ctx, allocation_relay(a, peer.ss_family), sa, c) != 0) {
		tcpconn_remove(t->tcpconns, &a->tcpconns, c);
		t->stats.tcp_connect_failures++;
		ans->error = 447;
		return;
	}
	t->stats.tcp_connects++;
	ans->deferred = true;
}

/*
 * RFC 6062 §5.4: on a new TCP/TLS connection without an allocation, a
 * CONNECTION-ID of a connection waiting for its bind, from the allocation's
 * own user (441 otherwise).
 */
static void
turn_connection_bind(struct turn_req *r, struct turn_answer *ans)
{
	const struct stun_attr *ida = stun_find(r->m, STUN_ATTR_CONNECTION_ID);
	struct tcpconn *c = NULL;
	uint32_t id;

	if (r->tuple->transport == TURN_UDP || r->alloc != NULL || ida == NULL ||
	    stun_get_u32(r->m, ida, &id) == -1 || (c = tcpconn_find(r->t->tcpconns, id)) == NULL ||
	    c->state != TCPCONN_PENDING)
		ans->error = 400;
	else if (!allocation_is_user(c->alloc, r->auth.user, r->auth.userlen) ||
	    !allocation_is_realm(c->alloc, r->auth.realm, r->auth.realmlen))
		ans->error = 441;
	if (ans->error != 0) {
		r->t->stats.tcp_bind_failures++;
		return;
	}
	c->state = TCPCONN_BOUND;
	r->reply->bound = c;
	r->t->stats.tcp_binds++;
}

static const struct turn_method *
turn_method_find(uint16_t method)
{
	size_t i;

	for (i = 0; i < nitems(turn_methods); i++) {
		if (turn_methods[i].method == method)
			return &turn_methods[i];
	}
	return NULL;
}

/*
 * A request naming its user by USERHASH (with userhash on): the user's name,
 * or a label of the hash, in r->auth.userbuf for the throttle; false without one.
 */
static bool
turn_userhash_name(struct turn_req *r, size_t *len)
{
	const struct stun_attr *uh = stun_find(r->m, STUN_ATTR_USERHASH);
	const struct stun_attr *realm = stun_find(r->m, STUN_ATTR_REALM);
	uint8_t hash[STUN_USERHASH_LEN];

	if (!r->t->cfg->userhash || uh == NULL || realm == NULL ||
	    stun_get_userhash(r->m, uh, hash) == -1)
		return false;
	auth_userhash_name(&r->t->creds, hash, (const char *)stun_attr_value(r->m, realm),
	    realm->len, r->auth.userbuf, len);
	return true;
}

/*
 * The failed-authentication throttle: false when a request with credentials
 * from this source or for this user must be dropped without being checked, so
 * that a guesser learns nothing, not even from a good guess.
 */
static bool
turn_auth_allowed(struct turn_req *r)
{
	const struct turn_config *cfg = r->t->cfg;
	const struct stun_attr *user;
	const struct turn_allocation *a;
	const char *name;
	size_t len;
	bool mine;

	if (cfg->auth_allowed == NULL || (r->m->mi < 0 && r->m->mi_sha256 < 0))
		return true;
	if ((user = stun_find(r->m, STUN_ATTR_USERNAME)) != NULL) {
		name = (const char *)stun_attr_value(r->m, user);
		len = user->len;
	} else if (!turn_userhash_name(r, &len))
		return true; /* no user named: auth_check answers 400 */
	else
		name = r->auth.userbuf;
	a = allocation_find(r->t->allocs, r->tuple);
	mine = a != NULL && (a->oauth || allocation_is_user(a, name, len));
	return cfg->auth_allowed(cfg->auth_ctx, (const struct sockaddr *)&r->tuple->client, name,
	    len, mine, r->now->mono_ms);
}

/* Long-term credentials, or nothing to check with no-auth; false when answered already. */
static bool
turn_authenticate(struct turn_req *r, struct turn_answer *ans)
{
	struct turn *t = r->t;
	struct turn_allocation *a;

	if (!t->cfg->auth) {
		r->auth.user = "";
		r->auth.realm = t->cfg->realm != NULL ? t->cfg->realm : "";
		r->auth.realmlen = strlen(r->auth.realm);
		r->authenticated = true;
		return true;
	}
	if (!turn_auth_allowed(r)) {
		t->stats.auth_throttled++;
		r->reply->throttled = true;
		return false;
	}
	a = t->cfg->oauth ? turn_find(t, r->tuple, r->now->mono_ms) : NULL;
	auth_check_session(t->cfg, &t->creds, r->tuple, r->m, r->now->unix_s,
	    a != NULL && a->oauth ? &a->session : NULL, &r->auth);
	if (r->auth.error == 0) {
		r->authenticated = true;
		return true;
	}
	ans->error = r->auth.error;
	ans->challenge = r->auth.challenge;
	if (ans->error == 401 && r->auth.credentials) {
		t->stats.auth_failures++;
		r->reply->auth_failed = true;
		if (t->cfg->auth_failed != NULL && r->auth.user != NULL)
			t->cfg->auth_failed(t->cfg->auth_ctx,
			    (const struct sockaddr *)&r->tuple->client, r->auth.user,
			    r->auth.userlen, r->now->mono_ms);
	} else if (ans->error == 400 && r->auth.credentials)
		t->stats.auth_failures_400++;
	else if (ans->error == 438) {
		t->stats.auth_failures_438++;
		/*
		 * A USERHASH the store must look up (it may scan a realm) is charged
		 * to the throttle like a failure, though not counted as one: made-up
		 * hashes from one source cannot keep the store scanning, while a
		 * real user pays once. Names are indexed lookups and stay free, so
		 * many users behind one NAT are never throttled for a cold cache.
		 */
		if (r->auth.hash_pending && t->cfg->auth_failed != NULL && r->auth.user != NULL)
			t->cfg->auth_failed(t->cfg->auth_ctx,
			    (const struct sockaddr *)&r->tuple->client, r->auth.user,
			    r->auth.userlen, r->now->mono_ms);
	}
	return false;
}

/* alternate-server-preauth: an Allocate without credentials is redirected before the 401. */
static bool
turn_preauth_redirect(struct turn_req *r, struct turn_answer *ans)
{
	if (!r->t->cfg->alternate_preauth || r->m->method != STUN_ALLOCATE || r->m->mi >= 0 ||
	    r->m->mi_sha256 >= 0 || r->m->nunknown > 0 ||
	    allocation_find(r->t->allocs, r->tuple) != NULL)
		return false;
	return turn_redirect(r, ans, false);
}

/*
 * RFC 8656 §5: requests on an allocation use the credentials that made it.
 * RFC 7635 tokens carry the AS's authorization, not a user: an allocation
 * made with a token takes any valid token (coturn's clients change kid per
 * request), never a password, and a password user's never takes a token; its
 * realm stays the one its first token bound, whatever key signs the next.
 */
static bool
turn_same_credentials(const struct turn_req *r)
{
	if (r->alloc->oauth || r->auth.oauth)
		return r->alloc->oauth && r->auth.oauth;
	if (!allocation_is_realm(r->alloc, r->auth.realm, r->auth.realmlen))
		return false; /* the same name in another realm is another user */
	return allocation_is_user(r->alloc, r->auth.user, r->auth.userlen);
}

/*
 * coturn's check-origin-consistency: once an allocation was made with an
 * ORIGIN, every request on it carries the same one.
 */
static bool
turn_same_origin(const struct turn_req *r)
{
	const struct stun_attr *origin;

	if (!r->t->cfg->check_origin || r->alloc->origin == NULL)
		return true;
	origin = stun_find(r->m, STUN_ATTR_ORIGIN);
	return origin != NULL && origin->len == r->alloc->originlen &&
	    memcmp(stun_attr_value(r->m, origin), r->alloc->origin, origin->len) == 0;
}

/* RFC 7635 §7: the allocation keeps the mac_key of the token that last succeeded. */
static void
turn_keep_session(struct turn_req *r, const struct turn_answer *ans)
{
	struct auth_session *s;

	if (ans->error != 0 || r->alloc == NULL || !r->auth.oauth || !r->alloc->oauth ||
	    r->auth.keylen > sizeof s->key)
		return;
	s = &r->alloc->session;
	memcpy(s->key, r->auth.key, r->auth.keylen);
	s->keylen = r->auth.keylen;
	s->expires_unix = r->auth.expires_unix;
	/* The realm its first token bound (coturn keeps the session's realm too). */
	s->realmlen = 0;
	if (r->alloc->realm != NULL && r->alloc->realmlen < sizeof s->realm) {
		memcpy(s->realm, r->alloc->realm, r->alloc->realmlen);
		s->realmlen = r->alloc->realmlen;
	}
}

/* RFC 8489 §6.3.1 420 after authentication, then RFC 8656 §5's 441 and 437. */
static void
turn_dispatch(struct turn_req *r, const struct turn_method *meth, struct turn_answer *ans)
{
	const struct stun_attr *ta;

	if (r->m->nunknown > 0) {
		ans->error = 420;
		ans->unknown = r->m->unknown;
		ans->nunknown = r->m->nunknown;
		return;
	}
	if (r->m->method == STUN_REFRESH &&
	    (ta = stun_find(r->m, STUN_ATTR_MOBILITY_TICKET)) != NULL &&
	    !turn_mobility_refresh(r, ta, ans))
		return;
	r->alloc = turn_find(r->t, r->tuple, r->now->mono_ms);
	if (r->alloc != NULL && (!turn_same_credentials(r) || !turn_same_origin(r))) {
		ans->error = 441; /* another user's allocation: left untouched */
		r->t->stats.auth_failures_441++;
		return;
	}
	if (meth->needs_alloc && r->alloc == NULL) {
		ans->error = 437;
		return;
	}
	meth->handle(r, ans);
	turn_keep_session(r, ans);
}

static void
turn_request(struct turn_req *r, uint8_t *out, size_t cap, size_t *outlen)
{
	struct turn *t = r->t;
	const struct turn_method *meth;
	struct turn_answer ans;
	const uint8_t *cached;
	size_t len;

	if ((cached = txcache_find(t->txcache, r->tuple, r->m, r->now->mono_ms, &len)) != NULL) {
		if (len <= cap) {
			memcpy(out, cached, len);
			*outlen = len;
		}
		return;
	}
	memset(&ans, 0, sizeof ans);
	if ((meth = turn_method_find(r->m->method)) == NULL)
		ans.error = 400; /* a method we do not serve (RFC 6062's among them) */
	else if (turn_preauth_redirect(r, &ans))
		; /* answered without integrity: the client sent none */
	else if (turn_authenticate(r, &ans))
		turn_dispatch(r, meth, &ans);
	if (r->reply->throttled)
		return; /* no answer at all */
	if (ans.deferred)
		return;
	if (turn_build(r, &ans, out, cap, outlen) != 0)
		return;
	r->reply->unauthenticated = ans.error == 401;
	r->reply->authenticated = r->authenticated;
	/* Only answers to authenticated requests are kept: no state before credentials. */
	if (r->authenticated)
		txcache_put(t->txcache, r->tuple, r->m, out, *outlen, r->now->mono_ms);
}

static void
turn_next_tid(struct turn *t, uint8_t tid[STUN_TID_LEN])
{
	memcpy(tid, t->tid_prefix, sizeof t->tid_prefix);
	buf_store_u32(tid + sizeof t->tid_prefix, t->tid_counter++);
}

/*
 * RFC 8656 §9: the permission authorizes; the policy was asked when it was
 * installed. Only the server's own addresses are asked again, for the port.
 */
static bool
turn_peer_permitted(struct turn *t, struct turn_allocation *a, const struct sockaddr *peer,
    uint64_t now_ms)
{
	const struct allocation_permission *p = allocation_permission(a, peer, now_ms);
	const char *reason;

	if (p == NULL) {
		t->stats.no_permission_drops++;
		return false;
	}
	if (p->check_port && !peerpolicy_check(t->policy, peer, &reason)) {
		t->stats.peer_refused++;
		return false;
	}
	return true;
}

/* Client to peer: a live relay of the peer's family and a permission. */
static void
turn_to_peer(struct turn *t, struct turn_allocation *a, const struct sockaddr *peer,
    const uint8_t *data, size_t len, uint64_t now_ms)
{
	const struct turn_relay *rel = allocation_relay(a, peer->sa_family);

	if (rel == NULL || a->tcp) {
		t->stats.data_drops++;
		return;
	}
	if (!turn_peer_permitted(t, a, peer, now_ms))
		return;
	if (t->io.relay_send(t->io.ctx, rel, peer, data, len) == -1) {
		t->stats.relay_send_errors++; /* never fatal to the allocation */
		return;
	}
	t->stats.client_to_peer_packets++;
	t->stats.client_to_peer_bytes += len;
	a->to_peer_packets++;
	a->to_peer_bytes += len;
}

/* RFC 8656 §10.2: a Send indication is relayed or silently dropped. */
static void
turn_send_indication(struct turn *t, const struct turn_5tuple *tuple, const struct stun_msg *m,
    const struct turn_now *now)
{
	const struct stun_attr *pa = stun_find(m, STUN_ATTR_XOR_PEER_ADDRESS);
	const struct stun_attr *data = stun_find(m, STUN_ATTR_DATA);
	struct turn_allocation *a = turn_find(t, tuple, now->mono_ms);
	struct sockaddr_storage peer;

	if (a == NULL || pa == NULL || data == NULL || m->nunknown > 0 ||
	    stun_get_xor_addr(m, pa, &peer) == -1) {
		t->stats.data_drops++;
		return;
	}
	turn_to_peer(t, a, (const struct sockaddr *)&peer, stun_attr_value(m, data), data->len,
	    now->mono_ms);
}

static int
turn_binding(struct turn *t, const struct turn_5tuple *tuple, const struct stun_msg *m,
    uint8_t *out, size_t cap, size_t *outlen, struct turn_reply *reply)
{
	struct binding_route route = {
	    .client = (const struct sockaddr *)&tuple->client,
	    .local = tuple->server.ss_family != AF_UNSPEC ? (const struct sockaddr *)&tuple->server
							  : NULL,
	    .udp = tuple->transport == TURN_UDP,
	};

	t->stats.binding_requests++;
	if (binding_respond(&t->binding, m, &route, out, cap, outlen) != BINDING_REPLY ||
	    *outlen < 2) {
		*outlen = 0;
		return 0;
	}
	if (route.rerouted) {
		reply->rerouted = true;
		reply->from = route.from;
		reply->to = route.to;
	}
	/* RFC 8489 §5: class bits C1 (0x0100) and C0 (0x0010); both set is an error. */
	if ((out[1] & 0x10) != 0)
		t->stats.binding_errors++;
	else
		t->stats.binding_responses++;
	return 0;
}

int
turn_handle_message(struct turn *t, const struct turn_5tuple *tuple, void *conn,
    const struct stun_msg *m, const struct turn_now *now, uint8_t *out, size_t cap, size_t *outlen,
    struct turn_reply *reply)
{
	struct turn_req r;

	*outlen = 0;
	memset(reply, 0, sizeof *reply);
	/* RFC 8489 §7.3: a wrong FINGERPRINT means the message is not STUN. */
	if (m->fingerprint >= 0 && !integrity_fingerprint_ok(m))
		return turn_transport_is_stream(tuple->transport) ? -1 : 0;
	if (m->cls == STUN_INDICATION && m->method == STUN_SEND)
		turn_send_indication(t, tuple, m, now);
	if (m->cls != STUN_REQUEST)
		return 0;
	if (m->method == STUN_BINDING)
		return turn_binding(t, tuple, m, out, cap, outlen, reply);
	memset(&r, 0, sizeof r);
	r.t = t;
	r.tuple = tuple;
	r.conn = conn;
	r.m = m;
	r.now = now;
	r.reply = reply;
	turn_request(&r, out, cap, outlen);
	return 0;
}

int
turn_handle_chandata(struct turn *t, const struct turn_5tuple *tuple, uint16_t channel,
    const uint8_t *data, size_t len, const struct turn_now *now)
{
	struct turn_allocation *a = turn_find(t, tuple, now->mono_ms);
	const struct allocation_channel *c;

	if (a == NULL)
		return -1;
	if ((c = allocation_channel(a, channel, now->mono_ms)) == NULL) {
		t->stats.no_permission_drops++;
		return 0;
	}
	turn_to_peer(t, a, (const struct sockaddr *)&c->peer, data, len, now->mono_ms);
	return 0;
}

void
turn_drop_unowned(struct turn *t)
{
	t->stats.data_drops++;
}

/* RFC 8656 §11.3 and §12.6: ChannelData when a channel is bound to peer, else Data. */
static int
turn_build_to_client(struct turn *t, const struct turn_allocation *a, const struct sockaddr *peer,
    const uint8_t *data, size_t len, uint64_t now_ms, size_t *outlen)
{
	const struct allocation_channel *c = allocation_channel_of(a, peer, now_ms);
	struct stun_build b;
	uint8_t tid[STUN_TID_LEN];
	int n;

	if (c != NULL) {
		/* RFC 8656 §12.5: padded to 4 bytes over streams. */
		n = chandata_encode(t->scratch, sizeof t->scratch, c->number, data, len,
		    turn_transport_is_stream(a->tuple.transport));
		*outlen = n > 0 ? (size_t)n : 0;
		return n > 0 ? 0 : -1;
	}
	turn_next_tid(t, tid);
	stun_build_init(&b, t->scratch, sizeof t->scratch, STUN_DATA, STUN_INDICATION, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	stun_build_attr(&b, STUN_ATTR_DATA, data, len);
	return stun_build_finish(&b, outlen);
}

void
turn_handle_peer_data(struct turn *t, struct turn_allocation *alloc, const struct turn_relay *relay,
    const struct sockaddr *peer, const uint8_t *data, size_t len, const struct turn_now *now)
{
	size_t n;

	if (alloc == NULL || !allocation_has_relay(alloc, relay) ||
	    alloc->expires_ms <= now->mono_ms) {
		t->stats.data_drops++;
		return;
	}
	if (!turn_peer_permitted(t, alloc, peer, now->mono_ms))
		return;
	if (turn_build_to_client(t, alloc, peer, data, len, now->mono_ms, &n) == -1 ||
	    t->io.client_send(t->io.ctx, alloc->conn, &alloc->tuple, t->scratch, n) == -1) {
		t->stats.data_drops++;
		return;
	}
	t->stats.peer_to_client_packets++;
	t->stats.peer_to_client_bytes += len;
	alloc->to_client_packets++;
	alloc->to_client_bytes += len;
}

void
turn_handle_disconnect(struct turn *t, const struct turn_5tuple *tuple)
{
	struct turn_allocation *a = allocation_find(t->allocs, tuple);

	if (a != NULL)
		turn_delete(t, a);
}

/* The deferred answer to c's CONNECT: success with CONNECTION-ID, or 447. */
static void
turn_tcp_answer(struct turn *t, struct tcpconn *c, int error)
{
	const struct tcpconn_answer *q = &c->answer;
	struct turn_allocation *a = c->alloc;
	struct stun_build b;
	size_t n;

	stun_build_init(&b, t->scratch, sizeof t->scratch, STUN_CONNECT,
	    error != 0 ? STUN_ERROR : STUN_SUCCESS, q->tid);
	if (error != 0)
		stun_build_error(&b, error, NULL);
	else
		stun_build_u32(&b, STUN_ATTR_CONNECTION_ID, c->id);
	if (t->cfg->software != NULL)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, t->cfg->software);
	if (q->keylen > 0 && q->mac_sha256)
		stun_build_integrity_sha256(&b, q->key, q->keylen);
	else if (q->keylen > 0)
		stun_build_integrity(&b, q->key, q->keylen);
	if (q->fingerprint)
		stun_build_fingerprint(&b);
	if (stun_build_finish(&b, &n) == 0)
		(void)t->io.client_send(t->io.ctx, a->conn, &a->tuple, t->scratch, n);
}

/* RFC 6062 §5.2 and §5.3: CONNECT and bind waits end after 30 s. */
static void
turn_tcp_expire(struct turn *t, struct turn_allocation *a, uint64_t now_ms)
{
	struct tcpconn *c, *next;

	for (c = a->tcpconns; c != NULL; c = next) {
		next = c->next_alloc;
		if (c->state == TCPCONN_BOUND || c->deadline_ms > now_ms)
			continue;
		if (c->state == TCPCONN_CONNECTING) {
			turn_tcp_answer(t, c, 447);
			t->stats.tcp_connect_failures++;
		} else
			t->stats.tcp_bind_timeouts++;
		t->io.tcp_close(t->io.ctx, c);
		tcpconn_remove(t->tcpconns, &a->tcpconns, c);
	}
}

void
turn_set_tag(struct turn *t, uint8_t tag)
{
	t->tag = tag;
}

int
turn_connection_tag(const struct stun_msg *m, uint8_t *tag)
{
	const struct stun_attr *a;
	uint32_t id;

	if (m->cls != STUN_REQUEST || m->method != STUN_CONNECTION_BIND ||
	    (a = stun_find(m, STUN_ATTR_CONNECTION_ID)) == NULL || stun_get_u32(m, a, &id) == -1)
		return -1;
	*tag = (uint8_t)(id & 0xff);
	return 0;
}

int
turn_mobility_tag(const struct turn *t, const struct stun_msg *m, uint8_t *tag)
{
	const struct stun_attr *ta;
	struct mobility_ticket tk;
	const char *errstr;

	if (!t->cfg->mobility || m->cls != STUN_REQUEST || m->method != STUN_REFRESH ||
	    (ta = stun_find(m, STUN_ATTR_MOBILITY_TICKET)) == NULL ||
	    mobility_open(&t->mobility, stun_attr_value(m, ta), ta->len, &tk, &errstr) == -1)
		return -1;
	*tag = tk.tag;
	return 0;
}

bool
turn_has_allocation(struct turn *t, const struct turn_5tuple *tuple, uint64_t now_ms)
{
	return turn_find(t, tuple, now_ms) != NULL;
}

void
turn_handle_tcp_connected(struct turn *t, struct tcpconn *c, bool ok, const struct turn_now *now)
{
	struct turn_allocation *a = c->alloc;

	if (c->state != TCPCONN_CONNECTING)
		return;
	/* RFC 6062 §5.2: success installs or refreshes the peer's permission. */
	if (ok &&
	    turn_permit_alloc(t, a, (const struct sockaddr *)&c->peer,
		now->mono_ms + turn_ms(t->cfg->permission_lifetime), now->mono_ms) != 0)
		ok = false;
	if (!ok) {
		turn_tcp_answer(t, c, 447);
		t->stats.tcp_connect_failures++;
		t->io.tcp_close(t->io.ctx, c);
		tcpconn_remove(t->tcpconns, &a->tcpconns, c);
		return;
	}
	c->state = TCPCONN_PENDING;
	c->deadline_ms = now->mono_ms + TURN_TCP_BIND_MS;
	turn_tcp_answer(t, c, 0);
	explicit_bzero(&c->answer, sizeof c->answer);
}

/* RFC 6062 §5.3: a ConnectionAttempt indication (no integrity) to the client. */
static int
turn_tcp_attempt(struct turn *t, struct tcpconn *c)
{
	struct turn_allocation *a = c->alloc;
	struct stun_build b;
	uint8_t tid[STUN_TID_LEN];
	size_t n;

	turn_next_tid(t, tid);
	stun_build_init(&b, t->scratch, sizeof t->scratch, STUN_CONNECTION_ATTEMPT, STUN_INDICATION,
	    tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (const struct sockaddr *)&c->peer);
	stun_build_u32(&b, STUN_ATTR_CONNECTION_ID, c->id);
	if (t->cfg->software != NULL)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, t->cfg->software);
	if (stun_build_finish(&b, &n) != 0)
		return -1;
	return t->io.client_send(t->io.ctx, a->conn, &a->tuple, t->scratch, n);
}

struct tcpconn *
turn_handle_peer_connect(struct turn *t, struct turn_allocation *alloc,
    const struct turn_relay *relay, const struct sockaddr *peer, void *handle,
    const struct turn_now *now)
{
	struct tcpconn *c;

	if (alloc == NULL || !alloc->tcp || !allocation_has_relay(alloc, relay) ||
	    alloc->expires_ms <= now->mono_ms || tcpconn_find_peer(alloc->tcpconns, peer) != NULL) {
		t->stats.tcp_peer_refused++;
		return NULL;
	}
	if (!turn_peer_permitted(t, alloc, peer, now->mono_ms)) {
		t->stats.tcp_peer_refused++;
		return NULL;
	}
	if ((c = tcpconn_add(t->tcpconns, alloc, &alloc->tcpconns, peer, t->tag)) == NULL)
		return NULL;
	c->state = TCPCONN_PENDING;
	c->deadline_ms = now->mono_ms + TURN_TCP_BIND_MS;
	c->handle = handle;
	if (turn_tcp_attempt(t, c) != 0) {
		tcpconn_remove(t->tcpconns, &alloc->tcpconns, c);
		return NULL;
	}
	t->stats.tcp_attempts++;
	return c;
}

void
turn_handle_tcp_closed(struct turn *t, struct tcpconn *c)
{
	tcpconn_remove(t->tcpconns, &c->alloc->tcpconns, c);
}

void
turn_count_relayed(struct turn *t, struct turn_allocation *a, const struct turn_counts *n)
{
	t->stats.client_to_peer_packets += n->to_peer_packets;
	t->stats.client_to_peer_bytes += n->to_peer_bytes;
	t->stats.peer_to_client_packets += n->to_client_packets;
	t->stats.peer_to_client_bytes += n->to_client_bytes;
	a->to_peer_packets += n->to_peer_packets;
	a->to_peer_bytes += n->to_peer_bytes;
	a->to_client_packets += n->to_client_packets;
	a->to_client_bytes += n->to_client_bytes;
}

void
turn_tcp_count(struct turn *t, struct tcpconn *c, bool to_peer, size_t len)
{
	struct turn_allocation *a = c->alloc;

	if (to_peer) {
		t->stats.client_to_peer_packets++;
		t->stats.client_to_peer_bytes += len;
		a->to_peer_packets++;
		a->to_peer_bytes += len;
	} else {
		t->stats.peer_to_client_packets++;
		t->stats.peer_to_client_bytes += len;
		a->to_client_packets++;
		a->to_client_bytes += len;
	}
}

struct turn_expiry {
	struct turn *t;
	uint64_t now_ms;
};

static void
turn_expire_cb(void *arg, struct turn_allocation *a)
{
	struct turn_expiry *e = arg;

	if (a->expires_ms <= e->now_ms)
		turn_delete(e->t, a);
	else {
		allocation_purge(a, e->now_ms);
		turn_tcp_expire(e->t, a, e->now_ms);
	}
}

void
turn_expire(struct turn *t, const struct turn_now *now)
{
	struct turn_expiry e = {t, now->mono_ms};

	allocation_table_walk(t->allocs, turn_expire_cb, &e);
}

void
turn_stats(const struct turn *t, struct turn_stats *out)
{
	*out = t->stats;
	out->allocations_active = allocation_table_count(t->allocs);
	out->tcp_conns_active = tcpconn_table_count(t->tcpconns);
}

struct turn_walk {
	struct turn *t;
	const struct turn_now *now;
	void (*fn)(void *, const struct turn_session *);
	void *arg;
	uint64_t id;
	const char *user;
	size_t n;
};

static void
turn_session_cb(void *arg, struct turn_allocation *a)
{
	struct turn_walk *w = arg;
	const struct turn_relay *rel = NULL;
	struct turn_session s;
	size_t i;

	if (a->expires_ms <= w->now->mono_ms)
		return;
	for (i = 0; i < ALLOCATION_MAX_RELAYS && rel == NULL; i++)
		rel = a->live[i] ? &a->relays[i] : NULL;
	turn_session_fill(a, &s);
	if (rel != NULL)
		s.relayed = rel->relayed;
	s.age_s = (w->now->mono_ms - a->created_ms) / 1000;
	s.remaining_s = (a->expires_ms - w->now->mono_ms) / 1000;
	s.perms = a->perms;
	w->fn(w->arg, &s);
}

void
turn_set_session_end(struct turn *t, void (*fn)(void *arg, const struct turn_session *s), void *arg)
{
	t->session_end = fn;
	t->session_end_arg = arg;
}

void
turn_foreach_session(struct turn *t, const struct turn_now *now,
    void (*fn)(void *arg, const struct turn_session *s), void *arg)
{
	struct turn_walk w = {.t = t, .now = now, .fn = fn, .arg = arg};

	allocation_table_walk(t->allocs, turn_session_cb, &w);
}

static void
turn_kill_cb(void *arg, struct turn_allocation *a)
{
	struct turn_walk *w = arg;

	if ((w->id != 0 && a->id == w->id) ||
	    (w->user != NULL && allocation_is_user(a, w->user, strlen(w->user)))) {
		turn_delete(w->t, a);
		w->n++;
	}
}

size_t
turn_kill(struct turn *t, uint64_t id, const char *user)
{
	struct turn_walk w = {.t = t, .id = id, .user = user};

	allocation_table_walk(t->allocs, turn_kill_cb, &w);
	return w.n;
}
