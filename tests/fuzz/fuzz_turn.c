/*
 * Fuzz target for the TURN core: the input is a script of operations on one
 * struct turn with a fake turn_io and an advancing fake clock. Operations feed
 * raw messages, requests built and signed with valid credentials (so the deep
 * states are reached), retransmissions, Send indications, ChannelData, peer
 * datagrams, time, expiry and disconnects, and RFC 6062's CONNECT outcomes,
 * peer connections, CONNECTION-BINDs and closes. Checked: every answer is a
 * STUN response to the request, relays and TCP connections are closed exactly
 * once, a bind names a live connection, and turn_free leaves nothing open.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/alternate.h"
#include "turnpike/binding.h"
#include "turnpike/auth.h"
#include "turnpike/creds.h"
#include "turnpike/integrity.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/stun_build.h"
#include "turnpike/tcpconn.h"
#include "turnpike/turn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REALM "example.org"
#define FUZZ_RELAYS 256
#define FUZZ_OPS 200
#define FUZZ_CONNS 256

/* The input, read with bounds: past the end every byte is 0. */
struct script {
	const uint8_t *p;
	size_t len, off;
};

struct fuzz_relay {
	struct turn_allocation *alloc;
	struct turn_relay *relay;
	bool live;
};

/* A TCP relay connection the core asked for or was given (RFC 6062). */
struct fuzz_conn {
	struct tcpconn *c;
	uint32_t id;
	bool live;
};

struct fuzz {
	struct turn *turn;
	struct fuzz_conn conns[FUZZ_CONNS];
	size_t nconns, live_conns;
	int connect_rc;
	struct turn_config cfg;
	struct turn_now now;
	struct turn_5tuple tuples[4];
	struct fuzz_relay relays[FUZZ_RELAYS];
	size_t nrelays;
	size_t live;
	int open_rc;
	uint16_t port;
	uint8_t req[2048];
	size_t reqlen;
	uint8_t out[TURN_RESPONSE_MAX];
	uint8_t pad[1600];
	struct alternate_set *alternates;
	struct sockaddr_storage ips[2];
	struct binding_rfc5780 rfc5780;
};

/* 192.0.2.1 is the server: its relay ports are peers, its other ports are refused. */
static const char *const fuzz_peers[] = {"203.0.113.9:7000", "203.0.113.10:7001", "8.8.8.8:53",
    "10.0.0.1:1", "[2001:db8::9]:7000", "[::ffff:127.0.0.1]:1", "192.0.2.1:50002",
    "[2001:4860::1]:1", "192.0.2.1:22", "127.0.0.1:9"};

static uint8_t
next(struct script *s)
{
	return s->off < s->len ? s->p[s->off++] : 0;
}

static uint16_t
next16(struct script *s)
{
	uint16_t hi = next(s);

	return (uint16_t)(hi << 8 | next(s));
}

static int
fuzz_open(void *ctx, const struct turn_relay_req *r, struct turn_relay *o, uint64_t *token)
{
	struct fuzz *f = ctx;
	const char *errstr;
	char text[64];
	int family = r->family == AF_UNSPEC ? AF_INET : r->family;

	if (f->open_rc != 0 && (f->open_rc != 440 || family == AF_INET6))
		return f->open_rc;
	if (f->nrelays == FUZZ_RELAYS)
		return 508;
	f->port = (uint16_t)(f->port + 2);
	snprintf(text, sizeof text, family == AF_INET ? "192.0.2.1:%u" : "[2001:db8::1]:%u",
	    f->port);
	if (addr_parse(text, 0, &o->relayed, &errstr) == -1)
		abort();
	o->local = o->relayed;
	o->handle = f;
	if (r->reserve)
		*token = 0x0102030405060708ull;
	f->relays[f->nrelays].alloc = r->alloc;
	f->relays[f->nrelays].relay = o;
	f->relays[f->nrelays].live = true;
	f->nrelays++;
	f->live++;
	return 0;
}

static void
fuzz_close(void *ctx, struct turn_relay *r)
{
	struct fuzz *f = ctx;
	size_t i;

	for (i = 0; i < f->nrelays; i++) {
		if (f->relays[i].live && f->relays[i].relay == r) {
			f->relays[i].live = false;
			f->live--;
			return;
		}
	}
	abort(); /* closing a relay that is not open */
}

static int
fuzz_send(void *ctx, const struct turn_relay *r, const struct sockaddr *peer, const void *data,
    size_t len)
{
	return len % 7 == 3 ? -1 : 0;
}

static int
fuzz_client(void *ctx, void *conn, const struct turn_5tuple *t, const void *data, size_t len)
{
	if (len == 0)
		abort();
	return len % 11 == 5 ? -1 : 0;
}

/* Records c as open (the I/O layer's side); false when the table is full. */
static bool
fuzz_conn_add(struct fuzz *f, struct tcpconn *c)
{
	if (f->nconns == FUZZ_CONNS)
		return false;
	f->conns[f->nconns].c = c;
	f->conns[f->nconns].id = c->id;
	f->conns[f->nconns].live = true;
	f->nconns++;
	f->live_conns++;
	return true;
}

static struct fuzz_conn *
fuzz_conn_find(struct fuzz *f, const struct tcpconn *c)
{
	size_t i;

	for (i = 0; i < f->nconns; i++) {
		if (f->conns[i].live && f->conns[i].c == c)
			return &f->conns[i];
	}
	return NULL;
}

static int
fuzz_tcp_connect(void *ctx, const struct turn_relay *r, const struct sockaddr *peer,
    struct tcpconn *c)
{
	struct fuzz *f = ctx;

	if (r == NULL || c->state != TCPCONN_CONNECTING)
		abort();
	if (f->connect_rc != 0 || !fuzz_conn_add(f, c))
		return -1;
	c->handle = f;
	return 0;
}

static void
fuzz_tcp_close(void *ctx, struct tcpconn *c)
{
	struct fuzz *f = ctx;
	struct fuzz_conn *fc = fuzz_conn_find(f, c);

	if (fc == NULL)
		abort(); /* closing a connection that is not open */
	fc->live = false;
	f->live_conns--;
}

static struct sockaddr_storage
fuzz_peer(struct script *s)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (addr_parse(fuzz_peers[next(s) % (sizeof fuzz_peers / sizeof fuzz_peers[0])], 0, &ss,
		&errstr) == -1)
		abort();
	return ss;
}

/* Feeds req[0..reqlen) from one of the tuples and checks what comes back. */
static void
fuzz_feed(struct fuzz *f, uint8_t which)
{
	const struct turn_5tuple *t = &f->tuples[which % 4];
	struct stun_msg m, r;
	const char *errstr;
	struct turn_reply reply;
	size_t outlen;
	int rc;

	if (stun_decode(&m, f->req, f->reqlen, &errstr) != STUN_DECODE_OK)
		return;
	rc = turn_handle_message(f->turn, t, (void *)f, &m, &f->now, f->out, sizeof f->out, &outlen,
	    &reply);
	if (rc == -1 && t->transport == TURN_UDP)
		abort();
	if (outlen == 0)
		return;
	/* RFC 5780: an answer may leave from another of our addresses, never to another IP. */
	if (reply.rerouted &&
	    (!addr_equal_ip((const struct sockaddr *)&reply.to,
		 (const struct sockaddr *)&t->client) ||
		t->transport != TURN_UDP || m.method != STUN_BINDING))
		abort();
	if (stun_decode(&r, f->out, outlen, &errstr) != STUN_DECODE_OK ||
	    memcmp(r.tid, m.tid, STUN_TID_LEN) != 0 || r.method != m.method ||
	    (r.cls != STUN_SUCCESS && r.cls != STUN_ERROR) || m.cls != STUN_REQUEST ||
	    (reply.unauthenticated && r.cls != STUN_ERROR) ||
	    (reply.auth_failed && !reply.unauthenticated))
		abort();
	/* A bind names a live connection, now bound, from a stream without allocation. */
	if (reply.bound != NULL &&
	    (fuzz_conn_find(f, reply.bound) == NULL || reply.bound->state != TCPCONN_BOUND ||
		t->transport == TURN_UDP || r.cls != STUN_SUCCESS ||
		m.method != STUN_CONNECTION_BIND))
		abort();
}

/* One attribute of a built request, chosen and filled from the script. */
static void
fuzz_attr(struct fuzz *f, struct script *s, struct stun_build *b)
{
	static const uint8_t algs[] = {0, 2, 0, 0, 0, 1, 0, 0};
	struct sockaddr_storage peer;
	uint8_t v[8];

	switch (next(s) % 17) {
	case 16:
		stun_build_u32(b, STUN_ATTR_CONNECTION_ID,
		    f->nconns > 0 && next(s) % 4 != 0 ? f->conns[next(s) % f->nconns].id
						      : (uint32_t)next16(s) << 8);
		break;
	case 12:
		stun_build_u32(b, STUN_ATTR_CHANGE_REQUEST, next(s));
		break;
	case 13:
		stun_build_u16(b, STUN_ATTR_RESPONSE_PORT, next16(s));
		break;
	case 14:
		memset(f->pad, 'z', sizeof f->pad);
		stun_build_attr(b, STUN_ATTR_PADDING, f->pad, next16(s) % sizeof f->pad);
		break;
	case 15:
		stun_build_attr(b, STUN_ATTR_ALTERNATE_DOMAIN, "turn.example.org", next(s) % 17);
		break;
	case 0:
		stun_build_u32(b, STUN_ATTR_LIFETIME, (uint32_t)next16(s) * (next(s) & 3));
		break;
	case 1:
		peer = fuzz_peer(s);
		stun_build_xor_addr(b, STUN_ATTR_XOR_PEER_ADDRESS, (const struct sockaddr *)&peer);
		break;
	case 2:
		stun_build_u16(b, STUN_ATTR_CHANNEL_NUMBER, (uint16_t)(0x3ffe + next(s)));
		break;
	case 3:
		stun_build_u8(b, STUN_ATTR_REQUESTED_TRANSPORT, next(s) & 1 ? 17 : 6);
		break;
	case 4:
		stun_build_u8(b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, next(s) % 4);
		break;
	case 5:
		stun_build_u8(b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, next(s) % 4);
		break;
	case 6:
		stun_build_u8(b, STUN_ATTR_EVEN_PORT, next(s) & 0x80);
		break;
	case 7:
		memset(v, 0, sizeof v);
		v[7] = next(s);
		if (v[7] & 1)
			memcpy(v, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
		stun_build_attr(b, STUN_ATTR_RESERVATION_TOKEN, v, sizeof v);
		break;
	case 8:
		stun_build_attr(b, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
		break;
	case 9:
		stun_build_u32(b, (uint16_t)(0x7000 + next(s)), 0);
		break;
	case 10:
		stun_build_attr(b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, next(s) & 1 ? 8 : 4);
		break;
	default:
		stun_build_u32(b, STUN_ATTR_PASSWORD_ALGORITHM, (uint32_t)(next(s) % 3) << 16);
		break;
	}
}

/* Credentials: mostly alice's valid ones, sometimes another user, a wrong key or none. */
static void
fuzz_sign(struct fuzz *f, struct script *s, struct stun_build *b, uint8_t which)
{
	uint8_t how = next(s), key[32];
	/* bob has his own allocations (441 on alice's); carol is a 0xKEY (MD5-only) user. */
	const char *user = how & 0x10 ? "bob" : (how & 0x03) == 0x03 ? "carol" : "alice";
	char nonce[AUTH_NONCE_MAX];
	size_t keylen, len;

	if ((how & 0x0f) == 0x0f)
		return;
	len = auth_nonce_make(&f->cfg, &f->tuples[which % 4],
	    f->now.unix_s - (how & 0x20 ? 700 : 0), nonce);
	if (f->cfg.userhash && next(s) & 1) {
		integrity_userhash(user, strlen(user), REALM, strlen(REALM), key);
		stun_build_attr(b, STUN_ATTR_USERHASH, key, 32);
	} else
		stun_build_string(b, STUN_ATTR_USERNAME, user);
	stun_build_string(b, STUN_ATTR_REALM, REALM);
	stun_build_attr(b, STUN_ATTR_NONCE, nonce, len);
	integrity_key_long_term(how & 0x40 ? STUN_PWALG_SHA256 : STUN_PWALG_MD5, user, strlen(user),
	    REALM, strlen(REALM), how & 0x08 ? "wrong" : "s3cret", how & 0x08 ? 5 : 6, key,
	    &keylen);
	if (how & 0x80)
		stun_build_integrity_sha256(b, key, keylen);
	else
		stun_build_integrity(b, key, keylen);
	if (how & 0x04)
		stun_build_fingerprint(b);
}

static void
fuzz_request(struct fuzz *f, struct script *s)
{
	static const uint16_t methods[] = {STUN_ALLOCATE, STUN_REFRESH, STUN_CREATE_PERMISSION,
	    STUN_CHANNEL_BIND, STUN_BINDING, STUN_CONNECT, STUN_CONNECTION_BIND};
	uint8_t tid[STUN_TID_LEN] = {0}, which = next(s), n;
	struct stun_build b;

	tid[0] = next(s);
	tid[1] = next(s);
	stun_build_init(&b, f->req, sizeof f->req, methods[next(s) % 7], STUN_REQUEST, tid);
	for (n = next(s) % 6; n > 0; n--)
		fuzz_attr(f, s, &b);
	fuzz_sign(f, s, &b, which);
	if (stun_build_finish(&b, &f->reqlen) == -1)
		f->reqlen = 0;
	fuzz_feed(f, which);
}

static void
fuzz_raw(struct fuzz *f, struct script *s)
{
	uint8_t which = next(s);
	size_t len = next16(s) % sizeof f->req;

	if (len > s->len - s->off)
		len = s->len - s->off;
	memcpy(f->req, s->p + s->off, len);
	s->off += len;
	f->reqlen = len;
	fuzz_feed(f, which);
}

static void
fuzz_send_indication(struct fuzz *f, struct script *s)
{
	uint8_t tid[STUN_TID_LEN] = {1}, which = next(s), data[64];
	struct sockaddr_storage peer = fuzz_peer(s);
	struct stun_build b;
	size_t len = next(s) % sizeof data;

	memset(data, 'x', sizeof data);
	stun_build_init(&b, f->req, sizeof f->req, STUN_SEND, STUN_INDICATION, tid);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (const struct sockaddr *)&peer);
	stun_build_attr(&b, STUN_ATTR_DATA, data, len);
	if (stun_build_finish(&b, &f->reqlen) == 0)
		fuzz_feed(f, which);
}

static void
fuzz_peer_data(struct fuzz *f, struct script *s)
{
	struct fuzz_relay *r;
	struct sockaddr_storage peer;
	uint8_t data[600];
	size_t len;

	if (f->nrelays == 0)
		return;
	r = &f->relays[next(s) % f->nrelays];
	peer = fuzz_peer(s);
	len = (size_t)next16(s) % sizeof data;
	memset(data, 'p', sizeof data);
	if (r->live)
		turn_handle_peer_data(f->turn, r->alloc, r->relay, (const struct sockaddr *)&peer,
		    data, len, &f->now);
}

/* RFC 6062 events from the I/O layer: a CONNECT's outcome, a peer connecting, a close. */
static void
fuzz_tcp_event(struct fuzz *f, struct script *s)
{
	struct fuzz_conn *fc = f->nconns > 0 ? &f->conns[next(s) % f->nconns] : NULL;
	struct fuzz_relay *r = f->nrelays > 0 ? &f->relays[next(s) % f->nrelays] : NULL;
	struct sockaddr_storage peer = fuzz_peer(s);
	struct tcpconn *c;
	uint8_t what = next(s);

	switch (what % 4) {
	case 0:
		if (fc != NULL && fc->live && fc->c->state == TCPCONN_CONNECTING)
			turn_handle_tcp_connected(f->turn, fc->c, (what & 0x10) != 0, &f->now);
		break;
	case 1:
		if (r == NULL || !r->live)
			break;
		c = turn_handle_peer_connect(f->turn, r->alloc, r->relay,
		    (const struct sockaddr *)&peer, f, &f->now);
		if (c != NULL && (c->state != TCPCONN_PENDING || !fuzz_conn_add(f, c)))
			abort();
		break;
	case 2:
		if (fc != NULL && fc->live && fc->c->state != TCPCONN_CONNECTING) {
			fc->live = false;
			f->live_conns--;
			turn_handle_tcp_closed(f->turn, fc->c);
		}
		break;
	default:
		if (fc != NULL && fc->live && fc->c->state == TCPCONN_BOUND)
			turn_tcp_count(f->turn, fc->c, (what & 0x10) != 0, what);
		f->connect_rc = (what & 0x30) == 0x30 ? -1 : 0;
		break;
	}
}

static void
fuzz_op(struct fuzz *f, struct script *s)
{
	uint8_t data[64] = {0};
	struct turn_stats st;
	uint16_t n;

	switch (next(s) % 12) {
	case 10:
	case 11:
		fuzz_tcp_event(f, s);
		break;
	case 0:
		fuzz_raw(f, s);
		break;
	case 1:
	case 2:
		fuzz_request(f, s);
		break;
	case 3:
		fuzz_feed(f, next(s)); /* a retransmission, or the same bytes elsewhere */
		break;
	case 4:
		fuzz_send_indication(f, s);
		break;
	case 5:
		turn_handle_chandata(f->turn, &f->tuples[next(s) % 4], (uint16_t)(0x3fff + next(s)),
		    data, next(s) % sizeof data, &f->now);
		break;
	case 6:
		fuzz_peer_data(f, s);
		break;
	case 7:
		n = next16(s);
		f->now.mono_ms += (uint64_t)(n >> 1) * 100;
		f->now.unix_s = 1800000000 + f->now.mono_ms / 1000;
		if (n & 1)
			turn_expire(f->turn, &f->now);
		break;
	case 8:
		turn_handle_disconnect(f->turn, &f->tuples[next(s) % 4]);
		break;
	default:
		f->open_rc = next(s) & 1 ? (next(s) & 1 ? 440 : 508) : 0;
		turn_stats(f->turn, &st);
		if (st.allocations_active > st.allocations_created ||
		    st.allocations_active > f->live)
			abort();
		break;
	}
}

/* ALTERNATE-SERVER, USERHASH, RFC 5780 and RFC 8016, chosen by a second flag byte. */
static void
fuzz_setup_extensions(struct fuzz *f, uint8_t flags2)
{
	const char *errstr;
	char *cause = NULL;

	f->cfg.userhash = (flags2 & 1) != 0;
	f->cfg.alternate_preauth = (flags2 & 2) != 0;
	f->cfg.mobility = (flags2 & 32) != 0; /* RFC 8016 tickets and moves */
	if (flags2 & 4) {
		if ((f->alternates = alternate_set_create()) == NULL ||
		    alternate_set_add(f->alternates, ALTERNATE_PLAIN, "192.0.2.50", &cause) != 0 ||
		    alternate_set_add(f->alternates, ALTERNATE_TLS, "192.0.2.51/turn.example.org",
			&cause) != 0)
			abort();
		f->cfg.alternates = f->alternates;
	}
	if (flags2 & 8) {
		if (addr_parse("192.0.2.1", 0, &f->ips[0], &errstr) == -1 ||
		    addr_parse("192.0.2.2", 0, &f->ips[1], &errstr) == -1)
			abort();
		f->rfc5780 = (struct binding_rfc5780){3478, 3479, f->ips, flags2 & 16 ? 1 : 2};
		f->cfg.rfc5780 = &f->rfc5780;
	}
}

static void
fuzz_setup(struct fuzz *f, uint8_t flags, uint8_t flags2, const struct peerpolicy *policy)
{
	static const char *const clients[] = {"198.51.100.1:40000", "198.51.100.2:40000",
	    "[2001:db8::99]:40000", "198.51.100.1:40000"};
	const char *errstr;
	size_t i;

	f->cfg.realm = REALM;
	f->cfg.auth = (flags & 0x80) == 0;
	f->cfg.sha256 = (flags & 1) != 0;
	f->cfg.default_lifetime = 600;
	f->cfg.txcache_entries = 64; /* small: a script of 200 ops wraps it (eviction too) */
	f->cfg.max_lifetime = 3600;
	f->cfg.permission_lifetime = 300;
	f->cfg.channel_lifetime = 600;
	f->cfg.stale_nonce = 600;
	f->cfg.max_permissions = flags & 2 ? 2 : 0;
	f->cfg.max_channels = flags & 4 ? 2 : 0;
	f->cfg.user_quota = flags & 8 ? 1 : 0;
	f->cfg.total_quota = flags & 16 ? 2 : 0;
	f->cfg.software = flags & 32 ? "fuzz" : NULL;
	f->cfg.policy = flags & 64 ? policy : NULL;
	f->cfg.tcp_relay = true;
	memset(f->cfg.nonce_key, 7, sizeof f->cfg.nonce_key);
	fuzz_setup_extensions(f, flags2);
	f->now.mono_ms = 1000000;
	f->now.unix_s = 1800000000 + f->now.mono_ms / 1000;
	f->port = 50000;
	for (i = 0; i < 4; i++) {
		if (addr_parse(clients[i], 0, &f->tuples[i].client, &errstr) == -1 ||
		    addr_parse(i == 2 ? "[2001:db8::1]:3478" : "192.0.2.1:3478", 0,
			&f->tuples[i].server, &errstr) == -1)
			abort();
		f->tuples[i].transport = i == 3 ? TURN_TCP : TURN_UDP;
		if (i == 1 && (flags & 0x10) != 0)
			f->tuples[i].transport =
			    TURN_TLS; /* a second stream, for CONNECTION-BIND */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct creds_static *cs;
	static struct creds creds;
	static struct peerpolicy *pp;
	struct sockaddr_storage own;
	const char *errstr;
	struct script s = {data, size, 0};
	struct turn_io io;
	struct fuzz *f;
	char *cause = NULL;
	int ops;

	if (cs == NULL) {
		if ((cs = creds_static_create(REALM)) == NULL ||
		    creds_static_add_user(cs, "alice:s3cret", &cause) == -1 ||
		    creds_static_add_user(cs, "bob:s3cret", &cause) == -1 ||
		    creds_static_add_user(cs, "carol:0x00112233445566778899aabbccddeeff", &cause) ==
			-1)
			abort();
		creds_static_iface(cs, &creds);
		if ((pp = peerpolicy_create()) == NULL ||
		    addr_parse("192.0.2.1:3478", 0, &own, &errstr) == -1 ||
		    peerpolicy_add_own(pp, (const struct sockaddr *)&own) == -1)
			abort();
		peerpolicy_set_relay_ports(pp, 49152, 65535);
		peerpolicy_set_allow_loopback(pp, true);
	}
	if ((f = calloc(1, sizeof *f)) == NULL)
		return 0;
	/* The extensions' flags are the last byte, so older seeds keep their script. */
	fuzz_setup(f, next(&s), size > 0 ? data[size - 1] : 0, pp);
	io = (struct turn_io){f, fuzz_open, fuzz_close, fuzz_send, fuzz_client, fuzz_tcp_connect,
	    fuzz_tcp_close, NULL, NULL};
	if ((f->turn = turn_create(&f->cfg, &creds, &io)) == NULL) {
		free(f);
		return 0;
	}
	for (ops = 0; ops < FUZZ_OPS && s.off < s.len; ops++)
		fuzz_op(f, &s);
	turn_free(f->turn);
	if (f->live != 0 || f->live_conns != 0)
		abort(); /* turn_free must close every relay and TCP connection */
	alternate_set_free(f->alternates);
	free(f);
	return 0;
}
