/*
 * The TURN core with an injected clock and a fake turn_io that records every
 * call: methods, error codes, lifetimes, retransmissions, the data path.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/alternate.h"
#include "turnpike/auth.h"
#include "turnpike/chandata.h"
#include "turnpike/creds.h"
#include "turnpike/integrity.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/stun_build.h"
#include "turnpike/tcpconn.h"
#include "turnpike/turn.h"
#include "turnpike/mobility.h"
#include "unit.h"

#define REALM "example.org"
#define TOKEN 0x0102030405060708ull

/* The fake I/O layer: scripted relay_open results, recorded calls. */
struct fake {
	int rc_v4, rc_v6; /* relay_open answers by family, 0 for success */
	uint64_t valid_token;
	uint16_t port;
	size_t opens, closes;
	struct turn_relay_req req[8];
	size_t nreq;
	struct turn_allocation *alloc;
	struct turn_relay *relay; /* the last one opened */
	const struct turn_relay *closed;
	int send_rc;
	size_t peer_sends;
	struct sockaddr_storage peer;
	const struct turn_relay *send_relay;
	uint8_t pdata[512];
	size_t plen;
	size_t client_sends;
	void *conn;
	struct turn_5tuple ctuple;
	uint8_t cdata[1024];
	size_t clen;
	int tcp_rc; /* tcp_connect's answer */
	size_t tcp_connects, tcp_closes;
	struct tcpconn *tcp_conn; /* the last one connected */
	struct tcpconn *tcp_closed;
	struct sockaddr_storage tcp_peer;
	size_t bounds; /* channel_bound calls */
	struct turn_allocation *bound_alloc;
	uint16_t bound_number;
	uint64_t bound_until;
	size_t moves; /* moved calls */
};

static struct fake io;
static struct turn_config cfg;
static struct creds_static *cs;
static struct creds creds;
static struct turn *turn;
static struct turn_now now;
static struct turn_5tuple c1, c2, c6, ctcp;
static uint8_t out[TURN_RESPONSE_MAX];
static size_t outlen;
static struct stun_msg resp;
static struct turn_reply reply; /* what the core told of its last answer */
static uint8_t reqbuf[2048];
static struct stun_msg req;
static struct stun_build bld;
static uint32_t tid_counter;

static struct sockaddr_storage
sa(const char *text)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (addr_parse(text, 0, &ss, &errstr) == -1)
		abort();
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

static int
fake_open(void *ctx, const struct turn_relay_req *r, struct turn_relay *o, uint64_t *token)
{
	struct fake *f = ctx;
	int family = r->family;
	char text[64];

	if (f->nreq < 8)
		f->req[f->nreq++] = *r;
	f->alloc = r->alloc;
	if (r->token != 0) {
		if (r->token != f->valid_token)
			return 508;
		family = AF_INET;
	}
	if ((family == AF_INET && f->rc_v4 != 0) || (family == AF_INET6 && f->rc_v6 != 0))
		return family == AF_INET ? f->rc_v4 : f->rc_v6;
	f->port += 2;
	snprintf(text, sizeof text, family == AF_INET ? "192.0.2.1:%u" : "[2001:db8::1]:%u",
	    f->port);
	o->handle = f;
	o->relayed = sa(text);
	o->local = o->relayed;
	if (r->reserve)
		*token = TOKEN;
	f->relay = o;
	f->opens++;
	return 0;
}

static void
fake_close(void *ctx, struct turn_relay *r)
{
	struct fake *f = ctx;

	f->closes++;
	f->closed = r;
}

static int
fake_send(void *ctx, const struct turn_relay *r, const struct sockaddr *peer, const void *data,
    size_t len)
{
	struct fake *f = ctx;

	f->peer_sends++;
	f->send_relay = r;
	memset(&f->peer, 0, sizeof f->peer);
	memcpy(&f->peer, peer, addr_len(peer));
	f->plen = len < sizeof f->pdata ? len : sizeof f->pdata;
	memcpy(f->pdata, data, f->plen);
	return f->send_rc;
}

static int
fake_client(void *ctx, void *conn, const struct turn_5tuple *t, const void *data, size_t len)
{
	struct fake *f = ctx;

	f->client_sends++;
	f->conn = conn;
	f->ctuple = *t;
	f->clen = len < sizeof f->cdata ? len : sizeof f->cdata;
	memcpy(f->cdata, data, f->clen);
	return 0;
}

static int
fake_tcp_connect(void *ctx, const struct turn_relay *r, const struct sockaddr *peer,
    struct tcpconn *c)
{
	struct fake *f = ctx;

	if (r == NULL)
		abort();
	f->tcp_connects++;
	f->tcp_conn = c;
	memset(&f->tcp_peer, 0, sizeof f->tcp_peer);
	memcpy(&f->tcp_peer, peer, addr_len(peer));
	if (f->tcp_rc == 0)
		c->handle = f;
	return f->tcp_rc;
}

static void
fake_tcp_close(void *ctx, struct tcpconn *c)
{
	struct fake *f = ctx;

	f->tcp_closes++;
	f->tcp_closed = c;
}

static void
fake_channel_bound(void *ctx, const struct turn_relay *r, struct turn_allocation *alloc,
    uint16_t number, const struct sockaddr *peer, uint64_t until_ms)
{
	struct fake *f = ctx;

	f->bounds++;
	f->bound_alloc = alloc;
	f->bound_number = number;
	f->bound_until = until_ms;
}

static void
fake_moved(void *ctx, struct turn_allocation *alloc)
{
	struct fake *f = ctx;

	(void)alloc;
	f->moves++;
}

static const struct turn_io fake_io = {&io, fake_open, fake_close, fake_send, fake_client,
    fake_tcp_connect, fake_tcp_close, fake_channel_bound, fake_moved};

static struct turn_5tuple
tuple(const char *client, uint8_t transport)
{
	struct turn_5tuple t;

	memset(&t, 0, sizeof t);
	t.client = sa(client);
	t.server = sa(strchr(client, '[') != NULL ? "[2001:db8::1]:3478" : "192.0.2.1:3478");
	t.transport = transport;
	return t;
}

/*
 * The peers these tests relay to are documentation and benchmarking addresses,
 * refused by default (special-purpose): opened here as an operator would.
 */
static const struct peerpolicy *
doc_peers(void)
{
	static struct peerpolicy *pp;
	char *cause = NULL;

	if (pp == NULL &&
	    ((pp = peerpolicy_create()) == NULL ||
		peerpolicy_allow(pp, "203.0.113.0/24", &cause) != 0 ||
		peerpolicy_allow(pp, "198.18.0.0/15", &cause) != 0 ||
		peerpolicy_allow(pp, "2001:db8::/32", &cause) != 0))
		abort();
	return pp;
}

/* A fresh core with the default configuration (overridable before restart()). */
static void
defaults(void)
{
	memset(&cfg, 0, sizeof cfg);
	cfg.policy = doc_peers();
	cfg.realm = REALM;
	cfg.software = "turnpike test";
	cfg.auth = true;
	cfg.default_lifetime = 600;
	cfg.max_lifetime = 3600;
	cfg.permission_lifetime = 300;
	cfg.channel_lifetime = 600;
	cfg.stale_nonce = 600;
	memset(cfg.nonce_key, 0x33, sizeof cfg.nonce_key);
}

static void
restart(void)
{
	turn_free(turn);
	memset(&io, 0, sizeof io);
	io.port = 50000;
	io.valid_token = TOKEN;
	turn = turn_create(&cfg, &creds, &fake_io);
	if (turn == NULL)
		abort();
}

static void
begin(uint16_t method, uint8_t cls)
{
	uint8_t tid[STUN_TID_LEN] = {0xaa, 0xbb};

	tid_counter++;
	memcpy(tid + 8, &tid_counter, 4);
	stun_build_init(&bld, reqbuf, sizeof reqbuf, method, cls, tid);
}

/* Adds credentials (and integrity) for user, then decodes the request into req. */
static void
finish_as(const char *user, const char *password, const struct turn_5tuple *t, bool fp)
{
	char nonce[AUTH_NONCE_MAX];
	const char *errstr;
	uint8_t key[32];
	size_t keylen, len;

	if (user != NULL) {
		auth_nonce_make(&cfg, t, now.unix_s, nonce);
		stun_build_string(&bld, STUN_ATTR_USERNAME, user);
		stun_build_string(&bld, STUN_ATTR_REALM, REALM);
		stun_build_string(&bld, STUN_ATTR_NONCE, nonce);
		integrity_key_long_term(STUN_PWALG_MD5, user, strlen(user), REALM, strlen(REALM),
		    password, strlen(password), key, &keylen);
		stun_build_integrity(&bld, key, keylen);
	}
	if (fp)
		stun_build_fingerprint(&bld);
	if (stun_build_finish(&bld, &len) == -1 || stun_decode(&req, reqbuf, len, &errstr) != 0)
		abort();
}

/* As finish_as, naming the user by USERHASH only (RFC 8489 §14.4; needs cfg.userhash). */
static void
finish_hashed(const char *user, const char *password, const struct turn_5tuple *t)
{
	char nonce[AUTH_NONCE_MAX];
	const char *errstr;
	uint8_t key[32], hash[32];
	size_t keylen, len;

	auth_nonce_make(&cfg, t, now.unix_s, nonce);
	integrity_userhash(user, strlen(user), REALM, strlen(REALM), hash);
	stun_build_attr(&bld, STUN_ATTR_USERHASH, hash, sizeof hash);
	stun_build_string(&bld, STUN_ATTR_REALM, REALM);
	stun_build_string(&bld, STUN_ATTR_NONCE, nonce);
	integrity_key_long_term(STUN_PWALG_MD5, user, strlen(user), REALM, strlen(REALM), password,
	    strlen(password), key, &keylen);
	stun_build_integrity(&bld, key, keylen);
	if (stun_build_finish(&bld, &len) == -1 || stun_decode(&req, reqbuf, len, &errstr) != 0)
		abort();
}

static void
finish(const struct turn_5tuple *t)
{
	finish_as("alice", "s3cret", t, false);
}

/* Feeds req from t; returns turn_handle_message's result; decodes any answer into resp. */
static int
feed(const struct turn_5tuple *t, void *conn)
{
	const char *errstr;
	int rc;

	memset(&reply, 0xff, sizeof reply); /* the core must fill every field */
	rc = turn_handle_message(turn, t, conn, &req, &now, out, sizeof out, &outlen, &reply);
	memset(&resp, 0, sizeof resp);
	if (outlen > 0 && stun_decode(&resp, out, outlen, &errstr) != 0)
		return -100;
	return rc;
}

/* The answer's error code, 0 for a success, -1 for no answer. */
static int
answer(void)
{
	const struct stun_attr *a;
	const uint8_t *reason;
	size_t rlen;
	int code;

	if (outlen == 0)
		return -1;
	if (resp.cls == STUN_SUCCESS)
		return 0;
	if ((a = stun_find(&resp, STUN_ATTR_ERROR_CODE)) == NULL ||
	    stun_get_error(&resp, a, &code, &reason, &rlen) == -1)
		return -2;
	return code;
}

static bool
has(uint16_t type)
{
	return outlen > 0 && stun_find(&resp, type) != NULL;
}

static bool
mi_ok(const char *user, const char *password)
{
	uint8_t key[32];
	size_t keylen;

	integrity_key_long_term(STUN_PWALG_MD5, user, strlen(user), REALM, strlen(REALM), password,
	    strlen(password), key, &keylen);
	return integrity_verify(&resp, false, key, keylen);
}

static uint32_t
lifetime(void)
{
	const struct stun_attr *a = stun_find(&resp, STUN_ATTR_LIFETIME);
	uint32_t v = 0;

	if (a == NULL || stun_get_u32(&resp, a, &v) == -1)
		return UINT32_MAX;
	return v;
}

static size_t
count_attr(uint16_t type)
{
	size_t i, n = 0;

	for (i = 0; i < resp.nattrs; i++)
		n += resp.attrs[i].type == type;
	return n;
}

static struct turn_stats
stats(void)
{
	struct turn_stats s;

	turn_stats(turn, &s);
	return s;
}

static void
add_transport(uint8_t proto)
{
	stun_build_u8(&bld, STUN_ATTR_REQUESTED_TRANSPORT, proto);
}

/* An Allocate from t as alice; returns the answer's code. */
static int
allocate(const struct turn_5tuple *t)
{
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish(t);
	feed(t, NULL);
	return answer();
}

static int
refresh(const struct turn_5tuple *t, int64_t lt)
{
	begin(STUN_REFRESH, STUN_REQUEST);
	if (lt >= 0)
		stun_build_u32(&bld, STUN_ATTR_LIFETIME, (uint32_t)lt);
	finish(t);
	feed(t, NULL);
	return answer();
}

static int
permit(const struct turn_5tuple *t, const char *peer)
{
	struct sockaddr_storage p = sa(peer);

	begin(STUN_CREATE_PERMISSION, STUN_REQUEST);
	stun_build_xor_addr(&bld, STUN_ATTR_XOR_PEER_ADDRESS, SA(p));
	finish(t);
	feed(t, NULL);
	return answer();
}

static int
bind_channel(const struct turn_5tuple *t, uint16_t ch, const char *peer)
{
	struct sockaddr_storage p = sa(peer);

	begin(STUN_CHANNEL_BIND, STUN_REQUEST);
	stun_build_u16(&bld, STUN_ATTR_CHANNEL_NUMBER, ch);
	stun_build_xor_addr(&bld, STUN_ATTR_XOR_PEER_ADDRESS, SA(p));
	finish(t);
	feed(t, NULL);
	return answer();
}

static void
send_ind(const struct turn_5tuple *t, const char *peer, const char *data)
{
	struct sockaddr_storage p = sa(peer);

	begin(STUN_SEND, STUN_INDICATION);
	stun_build_xor_addr(&bld, STUN_ATTR_XOR_PEER_ADDRESS, SA(p));
	stun_build_attr(&bld, STUN_ATTR_DATA, data, strlen(data));
	finish_as(NULL, NULL, t, false);
	feed(t, NULL);
}

static void
from_peer(const char *peer, const char *data)
{
	struct sockaddr_storage p = sa(peer);

	turn_handle_peer_data(turn, io.alloc, io.relay, SA(p), (const uint8_t *)data, strlen(data),
	    &now);
}

static void
test_binding(void)
{
	begin(STUN_BINDING, STUN_REQUEST);
	finish_as(NULL, NULL, &c1, true);
	CHECK(feed(&c1, NULL) == 0 && answer() == 0);
	CHECKM(has(STUN_ATTR_XOR_MAPPED_ADDRESS) && has(STUN_ATTR_FINGERPRINT),
	    "Binding answered without credentials");
	CHECK(!has(STUN_ATTR_MESSAGE_INTEGRITY) && stats().allocations_active == 0);
}

static void
test_challenge(void)
{
	const struct stun_attr *n;

	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as(NULL, NULL, &c1, true);
	feed(&c1, NULL);
	CHECKM(answer() == 401, "Allocate without credentials: 401");
	CHECKM(reply.unauthenticated && !reply.auth_failed,
	    "the core reports its 401; without credentials it is no failed login");
	CHECK(has(STUN_ATTR_REALM) && has(STUN_ATTR_NONCE) && has(STUN_ATTR_FINGERPRINT));
	CHECK(!has(STUN_ATTR_MESSAGE_INTEGRITY) && !has(STUN_ATTR_PASSWORD_ALGORITHMS));
	n = stun_find(&resp, STUN_ATTR_NONCE);
	CHECKM(auth_nonce_valid(&cfg, &c1, stun_attr_value(&resp, n), n->len, now.unix_s),
	    "the 401's nonce is valid for this client");
	CHECKM(io.nreq == 0 && stats().allocations_active == 0 && stats().auth_failures == 0,
	    "no state before credentials; a bare 401 is not a failure");
	feed(&c1, NULL);
	CHECKM(answer() == 401, "nothing cached for unauthenticated requests");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as("alice", "wrong", &c1, false);
	feed(&c1, NULL);
	CHECK(answer() == 401 && has(STUN_ATTR_NONCE) && !has(STUN_ATTR_MESSAGE_INTEGRITY));
	CHECK(stats().auth_failures == 1);
	CHECKM(reply.unauthenticated && reply.auth_failed,
	    "a 401 to wrong credentials is reported as a failed login");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as("mallory", "x", &c1, false);
	feed(&c1, NULL);
	CHECK(answer() == 401 && stats().auth_failures == 2 && io.nreq == 0);
}

static void
test_allocate(void)
{
	uint8_t first[TURN_RESPONSE_MAX];
	size_t firstlen;
	struct sockaddr_storage relayed;

	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as("alice", "s3cret", &c1, true);
	feed(&c1, NULL);
	CHECK(answer() == 0 && lifetime() == 600);
	CHECKM(!reply.unauthenticated && !reply.auth_failed, "a success is not reported as a 401");
	CHECK(has(STUN_ATTR_XOR_RELAYED_ADDRESS) && has(STUN_ATTR_XOR_MAPPED_ADDRESS));
	CHECKM(mi_ok("alice", "s3cret") && has(STUN_ATTR_FINGERPRINT) && has(STUN_ATTR_SOFTWARE),
	    "success carries MESSAGE-INTEGRITY with alice's key and FINGERPRINT");
	CHECK(stun_get_xor_addr(&resp, stun_find(&resp, STUN_ATTR_XOR_RELAYED_ADDRESS), &relayed) ==
		0 &&
	    addr_equal(SA(relayed), SA(io.relay->relayed)));
	CHECK(io.nreq == 1 && io.req[0].family == AF_INET && !io.req[0].even_port &&
	    io.req[0].token == 0 && io.req[0].alloc != NULL &&
	    addr_equal(SA(io.req[0].client->client), SA(c1.client)));
	CHECK(stats().allocations_active == 1 && stats().allocations_created == 1);
	memcpy(first, out, outlen);
	firstlen = outlen;
	now.mono_ms += 1500;
	feed(&c1, NULL);
	CHECKM(outlen == firstlen && memcmp(out, first, outlen) == 0 && io.nreq == 1,
	    "retransmitted Allocate: the same success, byte for byte");
	CHECKM(allocate(&c1) == 437 && mi_ok("alice", "s3cret"),
	    "a new Allocate on an allocated 5-tuple: 437 with integrity");
	now.mono_ms += 60000;
	feed(&c1, NULL);
	CHECKM(answer() == 437, "the 437 is cached for its own retransmissions too");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as("bob", "hunter2", &c1, false);
	feed(&c1, NULL);
	CHECKM(answer() == 441 && mi_ok("bob", "hunter2"), "another user's credentials: 441");
	CHECKM(refresh(&c1, 1200) == 0 && lifetime() == 1200, "alice's allocation untouched");
}

static void
test_retransmit_after_cache(void)
{
	uint8_t tid[STUN_TID_LEN];

	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish(&c1);
	feed(&c1, NULL);
	memcpy(tid, req.tid, sizeof tid);
	now.mono_ms += 45000;
	feed(&c1, NULL);
	CHECKM(answer() == 0 && lifetime() == 555 && io.nreq == 1,
	    "Allocate retransmitted after the cache window: success from the allocation");
}

static void
test_lifetimes(void)
{
	static const uint32_t asked[] = {0, 100, 600, 601, 1200, 3600, 99999};
	static const uint32_t got[] = {600, 600, 600, 601, 1200, 3600, 3600};
	char msg[64];
	size_t i;

	for (i = 0; i < sizeof asked / sizeof asked[0]; i++) {
		restart();
		begin(STUN_ALLOCATE, STUN_REQUEST);
		add_transport(17);
		stun_build_u32(&bld, STUN_ATTR_LIFETIME, asked[i]);
		finish(&c1);
		feed(&c1, NULL);
		snprintf(msg, sizeof msg, "Allocate LIFETIME %u gets %u", asked[i], got[i]);
		CHECKM(answer() == 0 && lifetime() == got[i], msg);
		CHECK(refresh(&c1, asked[i] == 0 ? 100 : asked[i]) == 0 &&
		    lifetime() == (asked[i] == 0 ? 600 : got[i]));
	}
	CHECK(refresh(&c1, -1) == 0 && lifetime() == 600);
	now.mono_ms += 599999;
	turn_expire(turn, &now);
	CHECK(stats().allocations_active == 1 && io.closes == 0);
	now.mono_ms += 1;
	turn_expire(turn, &now);
	CHECKM(stats().allocations_active == 0 && io.closes == 1, "expired after 600 s");
	CHECKM(refresh(&c1, 600) == 437, "Refresh after expiry: 437");
}

static void
test_refresh_delete(void)
{
	uint8_t first[TURN_RESPONSE_MAX];
	size_t firstlen;

	restart();
	CHECKM(refresh(&c1, 600) == 437 && mi_ok("alice", "s3cret"), "Refresh without allocation");
	CHECK(allocate(&c1) == 0);
	CHECK(refresh(&c1, 0) == 0 && lifetime() == 0);
	CHECKM(io.closes == 1 && io.closed == io.relay && stats().allocations_active == 0,
	    "Refresh 0 deletes the allocation and closes its relay");
	memcpy(first, out, outlen);
	firstlen = outlen;
	feed(&c1, NULL);
	CHECKM(outlen == firstlen && memcmp(out, first, outlen) == 0,
	    "retransmitted Refresh 0: the same success, never 437");
	CHECK(refresh(&c1, 0) == 437);
	CHECKM(allocate(&c1) == 0, "the 5-tuple can allocate again");
}

static void
session_count(void *arg, const struct turn_session *s)
{
	struct turn_session *seen = arg;

	if (strcmp(s->user, "alice") == 0 && s->remaining_s > 0 && s->relayed.ss_family != 0)
		seen[seen[0].id == 0 ? 0 : 1] = *s;
}

static void
test_sessions_kill(void)
{
	struct turn_session seen[2];

	restart();
	memset(seen, 0, sizeof seen);
	CHECK(allocate(&c1) == 0 && allocate(&c2) == 0);
	turn_foreach_session(turn, &now, session_count, seen);
	CHECKM(seen[0].id != 0 && seen[1].id != 0 && seen[0].id != seen[1].id,
	    "turn_foreach_session: both allocations, distinct ids");
	CHECKM(turn_kill(turn, seen[0].id, NULL) == 1 && io.closes == 1 &&
		stats().allocations_active == 1,
	    "turn_kill by id deletes one allocation and closes its relay");
	CHECK(turn_kill(turn, seen[0].id, NULL) == 0 && turn_kill(turn, 0, "bob") == 0);
	CHECKM(turn_kill(turn, 0, "alice") == 1 && stats().allocations_active == 0,
	    "turn_kill by user deletes the rest");
	CHECKM(refresh(&c1, 600) == 437 && refresh(&c2, 600) == 437,
	    "a killed allocation's Refresh gets 437");
}

struct ended {
	struct turn_session last;
	char user[32]; /* last.user is valid during the callback only */
	int calls;
};

static void
session_ended(void *arg, const struct turn_session *s)
{
	struct ended *e = arg;

	e->last = *s;
	snprintf(e->user, sizeof e->user, "%s", s->user);
	e->calls++;
}

static void
test_session_end_and_binding_stats(void)
{
	struct ended e;

	restart();
	memset(&e, 0, sizeof e);
	turn_set_session_end(turn, session_ended, &e);
	CHECK(allocate(&c1) == 0 && permit(&c1, "203.0.113.9") == 0);
	send_ind(&c1, "203.0.113.9:7000", "hello");
	CHECKM(e.calls == 0, "no session end while the allocation lives");
	CHECK(refresh(&c1, 0) == 0);
	CHECKM(e.calls == 1 && strcmp(e.user, "alice") == 0 && e.last.to_peer_packets == 1 &&
		e.last.to_peer_bytes == 5,
	    "the session-end hook gets the deleted allocation's final counters");
	CHECKM(allocate(&c2) == 0 && turn_kill(turn, 0, "alice") == 1 && e.calls == 2,
	    "a killed allocation ends too");
	begin(STUN_BINDING, STUN_REQUEST);
	finish_as(NULL, NULL, &c1, true);
	feed(&c1, NULL);
	CHECKM(stats().binding_requests == 1 && stats().binding_responses == 1 &&
		stats().binding_errors == 0,
	    "Binding requests and responses are counted");
	turn_set_session_end(turn, NULL, NULL);
}

static void
test_allocate_errors(void)
{
	static const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 400 && mi_ok("alice", "s3cret"), "no REQUESTED-TRANSPORT: 400");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(6);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 442, "REQUESTED-TRANSPORT TCP: 442");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_u8(&bld, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 1);
	stun_build_u8(&bld, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 400, "REQUESTED- and ADDITIONAL-ADDRESS-FAMILY: 400");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_u8(&bld, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 1);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 400, "ADDITIONAL-ADDRESS-FAMILY IPv4: 400");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_u8(&bld, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 3);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 440, "an unknown address family: 440");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_attr(&bld, STUN_ATTR_RESERVATION_TOKEN, token, sizeof token);
	stun_build_u8(&bld, STUN_ATTR_EVEN_PORT, 0x80);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 400, "RESERVATION-TOKEN with EVEN-PORT: 400");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_attr(&bld, STUN_ATTR_RESERVATION_TOKEN, token, sizeof token);
	stun_build_u8(&bld, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 1);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 400, "RESERVATION-TOKEN with REQUESTED-ADDRESS-FAMILY: 400");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_u8(&bld, STUN_ATTR_EVEN_PORT, 0x80);
	stun_build_u8(&bld, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 400, "EVEN-PORT R with ADDITIONAL-ADDRESS-FAMILY: 400");
	CHECK(io.nreq == 0 && stats().allocations_active == 0);
	io.rc_v4 = 508;
	CHECKM(allocate(&c1) == 508 && stats().allocations_active == 0, "relay_open 508: 508");
	io.rc_v4 = 440;
	CHECKM(allocate(&c1) == 440 && stats().allocations_active == 0, "relay_open 440: 440");
	io.rc_v4 = -1;
	CHECKM(allocate(&c1) == 508, "relay_open failing otherwise: 508");
	io.rc_v4 = 0;
	CHECK(allocate(&c1) == 0);
}

static void
test_allocate_options(void)
{
	const struct stun_attr *a;
	static const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_u8(&bld, STUN_ATTR_EVEN_PORT, 0x80);
	stun_build_attr(&bld, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	finish(&c1);
	feed(&c1, NULL);
	CHECK(answer() == 0 && io.req[0].even_port && io.req[0].reserve && io.req[0].dont_fragment);
	CHECKM((a = stun_find(&resp, STUN_ATTR_RESERVATION_TOKEN)) != NULL && a->len == 8 &&
		memcmp(stun_attr_value(&resp, a), token, 8) == 0,
	    "EVEN-PORT R: RESERVATION-TOKEN in the answer");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_attr(&bld, STUN_ATTR_RESERVATION_TOKEN, token, sizeof token);
	finish(&c2);
	feed(&c2, NULL);
	CHECKM(answer() == 0 && io.req[1].token == TOKEN && io.req[1].family == AF_UNSPEC,
	    "RESERVATION-TOKEN claimed through relay_open");
	CHECK(!has(STUN_ATTR_RESERVATION_TOKEN));
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_u8(&bld, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 2);
	finish(&c6);
	feed(&c6, NULL);
	CHECKM(answer() == 0 && io.req[2].family == AF_INET6 &&
		io.relay->relayed.ss_family == AF_INET6,
	    "REQUESTED-ADDRESS-FAMILY IPv6");
	CHECKM(permit(&c6, "8.8.8.8") == 443, "IPv4 peer on an IPv6 allocation: 443");
	CHECK(permit(&c6, "2001:4860::1") == 0);
}

static void
test_dual(void)
{
	const struct stun_attr *a;
	int code;
	const uint8_t *reason;
	size_t rlen;

	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_u8(&bld, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 0 && count_attr(STUN_ATTR_XOR_RELAYED_ADDRESS) == 2 &&
		!has(STUN_ATTR_ADDRESS_ERROR_CODE),
	    "dual allocation: two XOR-RELAYED-ADDRESS");
	CHECK(io.nreq == 2 && io.req[0].family == AF_INET && io.req[1].family == AF_INET6);
	CHECK(permit(&c1, "8.8.8.8") == 0 && permit(&c1, "2001:4860::1") == 0);
	begin(STUN_REFRESH, STUN_REQUEST);
	stun_build_u32(&bld, STUN_ATTR_LIFETIME, 0);
	stun_build_u8(&bld, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 2);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 0 && io.closes == 1 && stats().allocations_active == 1,
	    "Refresh 0 with REQUESTED-ADDRESS-FAMILY IPv6 drops only that relay");
	CHECK(permit(&c1, "2001:4860::1") == 443 && permit(&c1, "8.8.8.8") == 0);
	begin(STUN_REFRESH, STUN_REQUEST);
	stun_build_u8(&bld, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 2);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 443, "Refresh for a family the allocation lacks: 443");

	io.rc_v6 = 440;
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_u8(&bld, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	finish(&c2);
	feed(&c2, NULL);
	CHECKM(answer() == 0 && count_attr(STUN_ATTR_XOR_RELAYED_ADDRESS) == 1,
	    "IPv6 unavailable: the IPv4 relay alone");
	CHECKM((a = stun_find(&resp, STUN_ATTR_ADDRESS_ERROR_CODE)) != NULL &&
		stun_attr_value(&resp, a)[0] == 2 &&
		stun_get_error(&resp, a, &code, &reason, &rlen) == 0 && code == 440,
	    "ADDRESS-ERROR-CODE IPv6 440");
}

static void
test_permissions(void)
{
	struct sockaddr_storage p1 = sa("203.0.113.9:7000"), p2 = sa("203.0.113.10:7000");

	restart();
	CHECK(permit(&c1, "8.8.8.8:1") == 437);
	CHECK(allocate(&c1) == 0);
	begin(STUN_CREATE_PERMISSION, STUN_REQUEST);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 400, "CreatePermission without XOR-PEER-ADDRESS: 400");
	CHECKM(permit(&c1, "10.0.0.1:9") == 403 && stats().peer_refused == 1 &&
		mi_ok("alice", "s3cret"),
	    "private peer refused: 403");
	CHECKM(permit(&c1, "[::ffff:127.0.0.1]:9") == 443, "IPv6 peer on an IPv4 allocation: 443");
	CHECK(permit(&c1, "203.0.113.9:1") == 0);
	send_ind(&c1, "203.0.113.9:7000", "hello");
	CHECKM(io.peer_sends == 1 && addr_equal(SA(io.peer), SA(p1)) && io.plen == 5 &&
		memcmp(io.pdata, "hello", 5) == 0 && io.send_relay == io.relay,
	    "Send indication relayed: permissions are per IP, any port");
	CHECK(outlen == 0);
	send_ind(&c1, "203.0.113.10:7000", "nope");
	CHECKM(io.peer_sends == 1 && stats().no_permission_drops == 1, "no permission: dropped");
	send_ind(&c2, "203.0.113.9:7000", "stranger");
	CHECKM(io.peer_sends == 1 && stats().data_drops == 1, "no allocation: dropped");
	from_peer("203.0.113.9:7000", "pong");
	CHECKM(io.client_sends == 1 && io.conn == NULL && io.ctuple.transport == TURN_UDP &&
		addr_equal(SA(io.ctuple.client), SA(c1.client)),
	    "peer data to the allocation's client");
	{
		struct stun_msg d;
		const char *errstr;
		struct sockaddr_storage peer;
		const struct stun_attr *a;
		CHECK(stun_decode(&d, io.cdata, io.clen, &errstr) == 0 && d.method == STUN_DATA &&
		    d.cls == STUN_INDICATION);
		CHECK((a = stun_find(&d, STUN_ATTR_XOR_PEER_ADDRESS)) != NULL &&
		    stun_get_xor_addr(&d, a, &peer) == 0 && addr_equal(SA(peer), SA(p1)));
		CHECK((a = stun_find(&d, STUN_ATTR_DATA)) != NULL && a->len == 4 &&
		    memcmp(stun_attr_value(&d, a), "pong", 4) == 0);
	}
	from_peer("203.0.113.10:7000", "unwanted");
	CHECKM(io.client_sends == 1 && stats().no_permission_drops == 2,
	    "peer without permission: dropped");
	CHECK(stats().peer_to_client_packets == 1 && stats().peer_to_client_bytes == 4);
	CHECK(stats().client_to_peer_packets == 1 && stats().client_to_peer_bytes == 5);
	now.mono_ms += 299999;
	send_ind(&c1, "203.0.113.9:7000", "late");
	CHECK(io.peer_sends == 2);
	now.mono_ms += 1;
	send_ind(&c1, "203.0.113.9:7000", "too late");
	from_peer("203.0.113.9:7000", "too late");
	CHECKM(io.peer_sends == 2 && io.client_sends == 1, "permission expired after 300 s");
	(void)p2;
}

static void
test_permission_all_or_none(void)
{
	struct sockaddr_storage good = sa("198.18.0.1:1"), bad = sa("192.168.0.1:1");

	restart();
	CHECK(allocate(&c1) == 0);
	begin(STUN_CREATE_PERMISSION, STUN_REQUEST);
	stun_build_xor_addr(&bld, STUN_ATTR_XOR_PEER_ADDRESS, SA(good));
	stun_build_xor_addr(&bld, STUN_ATTR_XOR_PEER_ADDRESS, SA(bad));
	finish(&c1);
	feed(&c1, NULL);
	CHECK(answer() == 403);
	send_ind(&c1, "198.18.0.1:1", "x");
	CHECKM(io.peer_sends == 0, "one refused peer: no permission installed at all");
	cfg.max_permissions = 2;
	restart();
	CHECK(allocate(&c1) == 0);
	CHECK(permit(&c1, "198.18.0.1") == 0 && permit(&c1, "198.18.0.2") == 0);
	CHECKM(permit(&c1, "198.18.0.3") == 508, "max_permissions reached: 508");
	CHECK(permit(&c1, "198.18.0.2:99") == 0);
	cfg.max_permissions = 0;
	cfg.max_channels = 2;
	restart();
	CHECK(allocate(&c1) == 0);
	CHECK(bind_channel(&c1, 0x4000, "198.18.0.1:1") == 0);
	CHECK(bind_channel(&c1, 0x4001, "198.18.0.2:1") == 0);
	CHECKM(bind_channel(&c1, 0x4002, "198.18.0.3:1") == 508, "max_channels reached: 508");
	CHECKM(bind_channel(&c1, 0x4001, "198.18.0.2:1") == 0, "refreshing a bound channel fits");
	cfg.max_channels = 0;
}

/*
 * Issue 17, amplification: the 401 to a minimal request is as small as RFC
 * 8489 allows (no reason phrase, a short nonce with the cookie and the feature
 * bits), at most 100 bytes for realm example.org.
 */
static void
test_challenge_size(void)
{
	static const uint16_t methods[] = {STUN_ALLOCATE, STUN_REFRESH, STUN_CREATE_PERMISSION,
	    STUN_CHANNEL_BIND};
	const struct stun_attr *a, *n;
	const uint8_t *reason;
	size_t i, reqlen, rlen;
	char msg[128];
	int code;

	defaults();
	cfg.software = NULL; /* software-attribute is off by default */
	cfg.sha256 = true;
	restart();
	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		begin(methods[i], STUN_REQUEST);
		if (methods[i] == STUN_ALLOCATE)
			add_transport(17);
		finish_as(NULL, NULL, &c1, false);
		reqlen = req.len;
		feed(&c1, NULL);
		a = stun_find(&resp, STUN_ATTR_ERROR_CODE);
		n = stun_find(&resp, STUN_ATTR_NONCE);
		snprintf(msg, sizeof msg, "%s: 401 without a reason phrase",
		    stun_method_name(methods[i]));
		CHECKM(answer() == 401 && a != NULL &&
			stun_get_error(&resp, a, &code, &reason, &rlen) == 0 && rlen == 0,
		    msg);
		snprintf(msg, sizeof msg,
		    "%s: the nonce keeps the cookie and the password-algorithms bit",
		    stun_method_name(methods[i]));
		CHECKM(n != NULL && n->len == 29 &&
			memcmp(stun_attr_value(&resp, n), "obMatJos2AAAB", 13) == 0 &&
			has(STUN_ATTR_PASSWORD_ALGORITHMS),
		    msg);
		snprintf(msg, sizeof msg, "%s request of %zu bytes: 401 of %zu bytes (at most 100)",
		    stun_method_name(methods[i]), reqlen, outlen);
		CHECKM(outlen <= 100, msg);
		if (methods[i] == STUN_ALLOCATE)
			CHECKM(reqlen == 28 && outlen == 92,
			    "a 28-byte Allocate gets a 92-byte 401 (was 140)");
	}
	cfg.challenge_reason = true;
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	a = stun_find(&resp, STUN_ATTR_ERROR_CODE);
	CHECKM(answer() == 401 && a != NULL &&
		stun_get_error(&resp, a, &code, &reason, &rlen) == 0 && rlen == 15 &&
		memcmp(reason, "Unauthenticated", 15) == 0,
	    "challenge-reason-phrase: the phrase is back");
	defaults();
	restart();
}

/* The failed-authentication hooks, as authguard plugs them in. */
static struct {
	bool allow;
	int asked, failed;
	bool mine;
	char user[16];
} hook;

static bool
hook_allowed(void *ctx, const struct sockaddr *client, const char *user, size_t userlen, bool mine,
    uint64_t now_ms)
{
	(void)ctx;
	(void)client;
	(void)now_ms;
	hook.asked++;
	hook.mine = mine;
	snprintf(hook.user, sizeof hook.user, "%.*s", (int)userlen, user);
	return hook.allow || mine;
}

static void
hook_failed(void *ctx, const struct sockaddr *client, const char *user, size_t userlen,
    uint64_t now_ms)
{
	(void)ctx;
	(void)client;
	(void)now_ms;
	hook.failed++;
	snprintf(hook.user, sizeof hook.user, "%.*s", (int)userlen, user);
}

/* A store still looking every user up. */
static int
pending_lookup(void *ctx, const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint64_t now_unix, struct creds_result *res)
{
	(void)ctx, (void)user, (void)userlen, (void)realm, (void)realmlen, (void)now_unix;
	(void)res;
	return CREDS_PENDING;
}

static int
pending_hash(void *ctx, const uint8_t hash[32], const char *realm, size_t realmlen, char *name,
    size_t *namelen)
{
	(void)ctx, (void)hash, (void)realm, (void)realmlen, (void)name, (void)namelen;
	return CREDS_PENDING;
}

static void
test_auth_throttle_hooks(void)
{
	static const struct creds_ops pending_ops = {pending_lookup, NULL, pending_hash, NULL};
	struct creds saved = creds;

	defaults();
	cfg.auth_allowed = hook_allowed;
	cfg.auth_failed = hook_failed;
	restart();
	memset(&hook, 0, sizeof hook);
	hook.allow = true;
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	CHECKM(answer() == 401 && hook.asked == 0 && hook.failed == 0,
	    "no credentials: the throttle is neither asked nor told");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as("alice", "wrong", &c1, false);
	feed(&c1, NULL);
	CHECKM(answer() == 401 && hook.asked == 1 && hook.failed == 1 &&
		strcmp(hook.user, "alice") == 0 && !hook.mine,
	    "a wrong password: asked first, then told of the failure");
	hook.allow = false;
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as("alice", "s3cret", &c1, false);
	feed(&c1, NULL);
	CHECKM(outlen == 0 && reply.throttled && stats().auth_throttled == 1 &&
		stats().allocations_active == 0,
	    "throttled: even the right password is not checked, nothing is answered");
	hook.allow = true;
	CHECK(allocate(&c1) == 0);
	hook.allow = false;
	CHECKM(refresh(&c1, 600) == 0 && hook.mine,
	    "the holder of an allocation of that user is never throttled");
	creds.ops = &pending_ops;
	restart();
	memset(&hook, 0, sizeof hook);
	hook.allow = true;
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as("mallory", "guess", &c1, false);
	feed(&c1, NULL);
	CHECKM(answer() == 438 && hook.failed == 0 && stats().auth_failures == 0,
	    "a user name the store must look up: 438, the throttle not charged");
	cfg.userhash = true;
	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_hashed("mallory", "guess", &c1);
	feed(&c1, NULL);
	CHECKM(answer() == 438 && hook.failed == 1 && stats().auth_failures == 0 &&
		!reply.auth_failed,
	    "a USERHASH the store must look up: 438, charged to the throttle, not a failure");
	cfg.userhash = false;
	creds = saved;
	cfg.auth_allowed = NULL;
	cfg.auth_failed = NULL;
	defaults();
	restart();
}

static void
test_channels(void)
{
	struct sockaddr_storage p = sa("203.0.113.9:7000");
	const uint8_t *data;
	uint16_t ch;
	size_t dlen, used;
	const char *errstr;

	restart();
	CHECK(bind_channel(&c1, 0x4000, "203.0.113.9:7000") == 437);
	CHECK(allocate(&c1) == 0);
	CHECKM(bind_channel(&c1, 0x3fff, "203.0.113.9:7000") == 400, "channel 0x3FFF: 400");
	CHECKM(bind_channel(&c1, 0x8000, "203.0.113.9:7000") == 400, "channel 0x8000: 400");
	CHECKM(bind_channel(&c1, 0x5000, "203.0.113.11:7000") == 400,
	    "RFC 8656 §12: channel 0x5000 is reserved: 400");
	CHECKM(bind_channel(&c1, 0x4fff, "203.0.113.12:7000") == 0, "channel 0x4FFF: the last one");
	cfg.rfc5766_channels = true;
	CHECKM(bind_channel(&c1, 0x5000, "203.0.113.11:7000") == 0 &&
		bind_channel(&c1, 0x7fff, "203.0.113.13:7000") == 0 &&
		bind_channel(&c1, 0x8000, "203.0.113.14:7000") == 400,
	    "rfc5766-channel-numbers: 0x5000-0x7FFF as coturn's clients pick them");
	cfg.rfc5766_channels = false;
	io.bounds = 0;
	CHECKM(bind_channel(&c1, 0x4000, "10.1.1.1:7000") == 403 && io.bounds == 0,
	    "refused peer: 403, and the fast path hears nothing of it");
	CHECK(bind_channel(&c1, 0x4000, "203.0.113.9:7000") == 0 && mi_ok("alice", "s3cret"));
	CHECKM(io.bounds == 1 && io.bound_number == 0x4000 &&
		io.bound_until == now.mono_ms + (uint64_t)cfg.permission_lifetime * 1000,
	    "a bound channel is announced until its permission's end (the first to end)");
	CHECKM(turn_channel_until(io.bound_alloc, 0x4000, SA(p), now.mono_ms) == io.bound_until &&
		turn_channel_until(io.bound_alloc, 0x4001, SA(p), now.mono_ms) == 0 &&
		turn_channel_until(io.bound_alloc, 0x4000, SA(p), io.bound_until) == 0,
	    "turn_channel_until: the same end; 0 for another channel or once it passed");
	CHECKM(bind_channel(&c1, 0x4000, "203.0.113.10:7000") == 400,
	    "channel bound to another peer: 400");
	CHECKM(bind_channel(&c1, 0x4001, "203.0.113.9:7000") == 400,
	    "peer bound to another channel: 400");
	CHECKM(bind_channel(&c1, 0x4ffe, "203.0.113.9:7001") == 0, "same IP, other port: ok");
	CHECKM(bind_channel(&c1, 0x4000, "203.0.113.9:7000") == 0, "refreshing a binding");
	send_ind(&c1, "203.0.113.9:9", "via permission");
	CHECKM(io.peer_sends == 1, "ChannelBind installs the permission");
	turn_handle_chandata(turn, &c1, 0x4000, (const uint8_t *)"chan", 4, &now);
	CHECKM(io.peer_sends == 2 && addr_equal(SA(io.peer), SA(p)) && io.plen == 4,
	    "ChannelData relayed to the bound peer");
	turn_handle_chandata(turn, &c1, 0x4002, (const uint8_t *)"chan", 4, &now);
	CHECKM(io.peer_sends == 2 && stats().no_permission_drops == 1, "unbound channel: dropped");
	CHECKM(turn_handle_chandata(turn, &c2, 0x4000, (const uint8_t *)"chan", 4, &now) == -1 &&
		io.peer_sends == 2 && stats().data_drops == 0,
	    "no allocation for the 5-tuple: -1, nothing relayed or counted");
	turn_drop_unowned(turn);
	CHECK(stats().data_drops == 1);
	from_peer("203.0.113.9:7000", "abcde");
	CHECKM(io.client_sends == 1 &&
		chandata_decode(io.cdata, io.clen, false, &ch, &data, &dlen, &used, &errstr) == 0 &&
		ch == 0x4000 && dlen == 5 && io.clen == 9,
	    "peer data through a channel: ChannelData, unpadded over UDP");
	from_peer("203.0.113.9:7002", "abcde");
	CHECKM(io.client_sends == 2 && io.cdata[0] == 0x00 && io.cdata[1] == 0x17,
	    "same IP, unbound port: Data indication");
	now.mono_ms += 250000;
	CHECK(refresh(&c1, 3600) == 0);
	CHECK(bind_channel(&c1, 0x4ffe, "203.0.113.9:7001") == 0);
	now.mono_ms += 250000;
	turn_handle_chandata(turn, &c1, 0x4000, (const uint8_t *)"chan", 4, &now);
	CHECKM(io.peer_sends == 3, "refreshing the other channel refreshed the IP's permission");
	CHECK(permit(&c1, "203.0.113.9") == 0);
	now.mono_ms += 100000;
	turn_expire(turn, &now);
	turn_handle_chandata(turn, &c1, 0x4000, (const uint8_t *)"chan", 4, &now);
	CHECKM(io.peer_sends == 3, "channel expired after 600 s");
	CHECKM(bind_channel(&c1, 0x4000, "203.0.113.10:7000") == 0,
	    "an expired channel can be bound to another peer");
	io.send_rc = -1;
	turn_handle_chandata(turn, &c1, 0x4000, (const uint8_t *)"chan", 4, &now);
	CHECKM(stats().relay_send_errors == 1 && stats().allocations_active == 1,
	    "relay_send error counted, allocation kept");
}

static void
test_stream(void)
{
	int conn = 7;
	const uint8_t *data;
	uint16_t ch;
	size_t dlen, used;
	const char *errstr;

	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish(&ctcp);
	CHECK(feed(&ctcp, &conn) == 0 && answer() == 0);
	CHECK(bind_channel(&ctcp, 0x4001, "203.0.113.9:7000") == 0);
	from_peer("203.0.113.9:7000", "abcde");
	CHECKM(io.client_sends == 1 && io.conn == &conn && io.ctuple.transport == TURN_TCP,
	    "peer data to a stream client through its conn");
	CHECKM(io.clen == 12 &&
		chandata_decode(io.cdata, io.clen, true, &ch, &data, &dlen, &used, &errstr) == 0 &&
		used == 12 && io.cdata[9] == 0 && io.cdata[11] == 0,
	    "ChannelData to a stream client padded to 4 bytes");
	turn_handle_disconnect(turn, &ctcp);
	CHECKM(stats().allocations_active == 0 && io.closes == 1,
	    "a stream disconnect deletes the allocation");
	turn_handle_disconnect(turn, &ctcp);
	CHECK(io.closes == 1);
}

static void
test_unknown_and_fingerprint(void)
{
	const struct stun_attr *a;
	uint8_t v[4] = {0};

	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_attr(&bld, 0x7777, v, sizeof v);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 420 && mi_ok("alice", "s3cret"), "unknown required attribute: 420");
	CHECK((a = stun_find(&resp, STUN_ATTR_UNKNOWN_ATTRIBUTES)) != NULL && a->len == 2 &&
	    stun_attr_value(&resp, a)[0] == 0x77);
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_attr(&bld, 0x7777, v, sizeof v);
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	CHECKM(answer() == 401, "unauthenticated: 401 before 420");
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as("alice", "s3cret", &c1, true);
	reqbuf[req.len - 1] ^= 1;
	CHECKM(feed(&c1, NULL) == 0 && outlen == 0, "bad FINGERPRINT over UDP: silence");
	CHECKM(feed(&ctcp, NULL) == -1 && outlen == 0, "bad FINGERPRINT on a stream: close");
	CHECK(stats().allocations_active == 0);
	begin(0x0f0, STUN_REQUEST);
	finish(&c1);
	feed(&c1, NULL);
	CHECKM(answer() == 400, "unknown method: 400");
	CHECKM(!reply.unauthenticated && !reply.auth_failed, "a 400 is not reported as a 401");
	begin(STUN_ALLOCATE, STUN_SUCCESS);
	finish(&c1);
	CHECKM(feed(&c1, NULL) == 0 && outlen == 0, "responses are ignored");
}

static void
test_stale_nonce(void)
{
	const struct stun_attr *n;
	char nonce[AUTH_NONCE_MAX];
	uint64_t issued = now.unix_s;

	restart();
	auth_nonce_make(&cfg, &c1, issued, nonce);
	now.unix_s += 600;
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish(&c1);
	now.unix_s = issued + 600;
	{
		/* Re-sign with the old nonce: finish() made a fresh one, so build by hand. */
		uint8_t key[32];
		size_t keylen, len;
		const char *errstr;
		begin(STUN_ALLOCATE, STUN_REQUEST);
		add_transport(17);
		stun_build_string(&bld, STUN_ATTR_USERNAME, "alice");
		stun_build_string(&bld, STUN_ATTR_REALM, REALM);
		stun_build_string(&bld, STUN_ATTR_NONCE, nonce);
		integrity_key_long_term(STUN_PWALG_MD5, "alice", 5, REALM, strlen(REALM), "s3cret",
		    6, key, &keylen);
		stun_build_integrity(&bld, key, keylen);
		stun_build_finish(&bld, &len);
		stun_decode(&req, reqbuf, len, &errstr);
	}
	feed(&c1, NULL);
	CHECKM(answer() == 438 && has(STUN_ATTR_REALM) && !has(STUN_ATTR_MESSAGE_INTEGRITY),
	    "expired nonce: 438");
	CHECKM(!reply.unauthenticated && !reply.auth_failed, "a 438 is not reported as a 401");
	n = stun_find(&resp, STUN_ATTR_NONCE);
	CHECKM(n != NULL &&
		auth_nonce_valid(&cfg, &c1, stun_attr_value(&resp, n), n->len, now.unix_s),
	    "438 carries a fresh nonce");
	CHECK(allocate(&c1) == 0);
}

static void
test_sha256(void)
{
	static const uint8_t algs[] = {0, 2, 0, 0, 0, 1, 0, 0};
	const struct stun_attr *n;
	char nonce[AUTH_NONCE_MAX];
	uint8_t key[32];
	size_t keylen, len;
	const char *errstr;

	cfg.sha256 = true;
	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	CHECK(answer() == 401 && has(STUN_ATTR_PASSWORD_ALGORITHMS));
	n = stun_find(&resp, STUN_ATTR_NONCE);
	CHECKM(n != NULL && n->len < sizeof nonce &&
		memcmp(stun_attr_value(&resp, n), "obMatJos2AAAB", 13) == 0,
	    "nonce cookie with the password-algorithms bit");
	memcpy(nonce, stun_attr_value(&resp, n), n->len);
	nonce[n->len] = '\0';
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_string(&bld, STUN_ATTR_USERNAME, "alice");
	stun_build_string(&bld, STUN_ATTR_REALM, REALM);
	stun_build_string(&bld, STUN_ATTR_NONCE, nonce);
	stun_build_attr(&bld, STUN_ATTR_PASSWORD_ALGORITHMS, algs, sizeof algs);
	stun_build_u32(&bld, STUN_ATTR_PASSWORD_ALGORITHM, 0x00020000);
	integrity_key_long_term(STUN_PWALG_SHA256, "alice", 5, REALM, strlen(REALM), "s3cret", 6,
	    key, &keylen);
	stun_build_integrity_sha256(&bld, key, keylen);
	stun_build_fingerprint(&bld);
	stun_build_finish(&bld, &len);
	stun_decode(&req, reqbuf, len, &errstr);
	feed(&c1, NULL);
	CHECKM(answer() == 0 && integrity_verify(&resp, true, key, keylen) &&
		!has(STUN_ATTR_MESSAGE_INTEGRITY) && has(STUN_ATTR_FINGERPRINT),
	    "SHA-256 request: success with MESSAGE-INTEGRITY-SHA256 under the SHA-256 key");
	CHECKM(refresh(&c1, 600) == 0 && mi_ok("alice", "s3cret"),
	    "an MD5 (RFC 5389) request on the same server keeps working");
	cfg.sha256 = false;
}

static void
test_quota(void)
{
	cfg.user_quota = 1;
	restart();
	CHECK(allocate(&c1) == 0);
	CHECKM(allocate(&c2) == 486 && mi_ok("alice", "s3cret"), "user quota: 486");
	CHECK(refresh(&c1, 0) == 0 && allocate(&c2) == 0);
	cfg.user_quota = 0;
	cfg.total_quota = 2;
	restart();
	CHECK(allocate(&c1) == 0 && allocate(&c2) == 0);
	CHECKM(allocate(&c6) == 486, "total quota: 486");
	cfg.total_quota = 0;
}

/* Drain refuses new allocations only; a new config applies to later requests. */
static void
test_drain_and_reconfigure(void)
{
	struct turn_config next = cfg;

	restart();
	CHECK(allocate(&c1) == 0);
	turn_set_draining(turn, true);
	CHECKM(allocate(&c2) == 508 && mi_ok("alice", "s3cret") && io.nreq == 1,
	    "draining: a new Allocate gets 508 and opens no relay");
	CHECKM(refresh(&c1, 900) == 0 && lifetime() == 900 && permit(&c1, "8.8.8.8") == 0 &&
		bind_channel(&c1, 0x4000, "8.8.8.8:5000") == 0,
	    "draining: the old allocation refreshes, permits and binds");
	next.max_lifetime = 1200;
	CHECK(turn_set_config(turn, &next) == 0);
	CHECKM(refresh(&c1, 3600) == 0 && lifetime() == 1200,
	    "after turn_set_config a Refresh is clamped to the new max-allocate-lifetime");
	CHECKM(stats().allocations_active == 1, "the allocation survives the new config");
	turn_set_draining(turn, false);
	CHECK(allocate(&c2) == 0);
	CHECK(turn_set_config(turn, &cfg) == 0);
}

/* The ALTERNATE-SERVER of the last answer, and its ALTERNATE-DOMAIN ("" when none). */
static bool
alternate_is(const char *addr, const char *domain)
{
	const struct stun_attr *a = stun_find(&resp, STUN_ATTR_ALTERNATE_SERVER);
	const struct stun_attr *d = stun_find(&resp, STUN_ATTR_ALTERNATE_DOMAIN);
	struct sockaddr_storage got, want = sa(addr);
	char name[STUN_DOMAIN_MAX] = "";

	if (a == NULL || stun_get_addr(&resp, a, &got) != 0 || !addr_equal(SA(got), SA(want)))
		return false;
	if (d != NULL && stun_get_domain(&resp, d, name, sizeof name) != 0)
		return false;
	return strcmp(name, domain) == 0;
}

/* RFC 8489 §10: 300 Try Alternate to authenticated Allocates, round-robin, by family. */
static void
test_alternate(void)
{
	struct alternate_set *set = alternate_set_create();
	struct turn_5tuple tls = tuple("198.51.100.30:6000", TURN_TLS);
	char *cause = NULL;
	int ten = 0, eleven = 0;

	CHECK(alternate_set_add(set, ALTERNATE_PLAIN, "192.0.2.10:3478", &cause) == 0 &&
	    alternate_set_add(set, ALTERNATE_PLAIN, "192.0.2.11", &cause) == 0 &&
	    alternate_set_add(set, ALTERNATE_PLAIN, "[2001:db8::10]:3479", &cause) == 0 &&
	    alternate_set_add(set, ALTERNATE_TLS, "192.0.2.20:5350/turn-b.example.org", &cause) ==
		0);
	cfg.alternates = set;
	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	CHECKM(answer() == 401, "by default an Allocate without credentials is challenged first");
	CHECKM(allocate(&c1) == 300 && alternate_is("192.0.2.10:3478", "") &&
		mi_ok("alice", "s3cret"),
	    "an authenticated Allocate gets 300 with ALTERNATE-SERVER and MESSAGE-INTEGRITY");
	CHECKM(io.nreq == 0 && stats().allocations_active == 0 && stats().redirects == 1,
	    "a redirect opens no relay and is counted");
	CHECKM(allocate(&c2) == 300 && alternate_is("192.0.2.11:3478", ""),
	    "round-robin: the next Allocate goes to the next entry (default port 3478)");
	CHECKM(allocate(&c1) == 300 && alternate_is("192.0.2.10:3478", ""),
	    "round-robin skips the IPv6 entry for an IPv4 client (RFC 8489 §14.15)");
	CHECKM(allocate(&c6) == 300 && alternate_is("[2001:db8::10]:3479", ""),
	    "an IPv6 client is sent to the IPv6 alternate");
	CHECKM(allocate(&tls) == 300 && alternate_is("192.0.2.20:5350", "turn-b.example.org"),
	    "TLS: tls-alternate-server, with ALTERNATE-DOMAIN for the certificate check");
	CHECKM(refresh(&c1, 600) == 437, "nothing was allocated here");

	cfg.alternate_preauth = true;
	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	CHECKM(answer() == 300 && alternate_is("192.0.2.10:3478", "") &&
		!has(STUN_ATTR_MESSAGE_INTEGRITY) && !has(STUN_ATTR_NONCE),
	    "alternate-server-preauth: redirected before the challenge, without integrity");
	CHECKM(allocate(&c1) == 300 && mi_ok("alice", "s3cret"),
	    "with credentials the 300 is still authenticated");
	cfg.alternate_preauth = false;

	/* A weight: an entry given twice is taken twice as often. */
	alternate_set_free(set);
	set = alternate_set_create();
	alternate_set_add(set, ALTERNATE_PLAIN, "192.0.2.10", &cause);
	alternate_set_add(set, ALTERNATE_PLAIN, "192.0.2.10", &cause);
	alternate_set_add(set, ALTERNATE_PLAIN, "192.0.2.11", &cause);
	cfg.alternates = set;
	restart();
	for (int i = 0; i < 30; i++) {
		if (allocate(&c1) != 300)
			break;
		ten += alternate_is("192.0.2.10:3478", "");
		eleven += alternate_is("192.0.2.11:3478", "");
	}
	CHECKM(ten == 20 && eleven == 10,
	    "weights: 20 of 30 to the entry listed twice, 10 to the other");
	CHECKM(allocate(&tls) == 0, "no tls-alternate-server: a TLS client is served here");

	/* Drain: 300 when an alternate exists for the client, 508 when none. */
	turn_set_draining(turn, true);
	CHECKM(allocate(&c2) == 300, "draining with an alternate: 300 instead of 508");
	CHECKM(allocate(&c6) == 508, "draining, no alternate of the client's family: 508");
	cfg.alternates = NULL;
	restart();
	alternate_set_free(set);
}

static void
test_noauth_and_policy(void)
{
	struct peerpolicy *pp = peerpolicy_create();

	peerpolicy_set_allow_loopback(pp, true);
	cfg.auth = false;
	cfg.policy = pp;
	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	CHECKM(answer() == 0 && !has(STUN_ATTR_MESSAGE_INTEGRITY), "no-auth: Allocate succeeds");
	begin(STUN_CREATE_PERMISSION, STUN_REQUEST);
	{
		struct sockaddr_storage p = sa("127.0.0.1:5000");
		stun_build_xor_addr(&bld, STUN_ATTR_XOR_PEER_ADDRESS, SA(p));
	}
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	CHECKM(answer() == 0, "allow-loopback-peers through the configured policy");
	cfg.auth = true;
	cfg.policy = doc_peers();
	turn_free(turn);
	turn = NULL;
	peerpolicy_free(pp);
	restart();
}

/* turn_config.peer_check, when set, decides instead of the policy (the daemon's live ranges). */
static int peer_check_calls;

static bool
deny_5000(void *ctx, const struct sockaddr *peer, const char **reason)
{
	(void)ctx;
	peer_check_calls++;
	*reason = "test";
	return addr_port(peer) != 5000;
}

static int
permission_to(const char *peer)
{
	struct sockaddr_storage p = sa(peer);

	begin(STUN_CREATE_PERMISSION, STUN_REQUEST);
	stun_build_xor_addr(&bld, STUN_ATTR_XOR_PEER_ADDRESS, SA(p));
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	return answer();
}

static void
test_peer_check_hook(void)
{
	cfg.auth = false;
	cfg.peer_check = deny_5000;
	restart();
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	finish_as(NULL, NULL, &c1, false);
	feed(&c1, NULL);
	CHECK(answer() == 0);
	CHECKM(permission_to("127.0.0.1:5001") == 0,
	    "peer_check allows: loopback no longer refused");
	CHECKM(permission_to("198.51.100.1:5000") == 403, "peer_check refuses: 403");
	CHECKM(peer_check_calls == 2, "peer_check asked once per peer");
	cfg.auth = true;
	cfg.peer_check = NULL;
	turn_free(turn);
	turn = NULL;
	restart();
}

/* Two clients of one server reach each other's relays; other ports of the server stay shut. */
static void
test_own_address(void)
{
	struct peerpolicy *pp = peerpolicy_create();
	struct sockaddr_storage own = sa("192.0.2.1:3478");

	peerpolicy_add_own(pp, SA(own));
	peerpolicy_set_relay_ports(pp, 49152, 65535);
	cfg.policy = pp;
	restart();
	CHECK(allocate(&c1) == 0);
	CHECKM(permit(&c1, "192.0.2.1:50004") == 0, "the server's relay address as a peer");
	CHECKM(permit(&c1, "192.0.2.1:22") == 403, "but not its other ports");
	send_ind(&c1, "192.0.2.1:50004", "to another client");
	CHECK(io.peer_sends == 1);
	send_ind(&c1, "192.0.2.1:22", "to ssh");
	CHECKM(io.peer_sends == 1 && stats().peer_refused == 2,
	    "Send indication to the server's own non-relay port: dropped by policy");
	from_peer("192.0.2.1:22", "from ssh");
	CHECKM(io.client_sends == 0 && stats().peer_refused == 3,
	    "datagram from the server's own non-relay port: dropped by policy");
	from_peer("192.0.2.1:50004", "from another client");
	CHECK(io.client_sends == 1);
	cfg.policy = doc_peers();
	turn_free(turn);
	turn = NULL;
	peerpolicy_free(pp);
	restart();
}

static void
test_free(void)
{
	restart();
	CHECK(allocate(&c1) == 0);
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_u8(&bld, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	finish(&c2);
	feed(&c2, NULL);
	turn_free(turn);
	turn = NULL;
	CHECKM(io.closes == 3, "turn_free closes every relay");
	turn_free(NULL);
}

/* The last message the core sent to the client through client_send, decoded. */
static bool
client_msg(struct stun_msg *m)
{
	const char *errstr;

	return io.clen > 0 && stun_decode(m, io.cdata, io.clen, &errstr) == 0;
}

static uint32_t
connection_id(const struct stun_msg *m)
{
	const struct stun_attr *a = stun_find(m, STUN_ATTR_CONNECTION_ID);
	uint32_t v = 0;

	if (a == NULL || stun_get_u32(m, a, &v) == -1)
		return 0;
	return v;
}

/* An Allocate asking for a TCP relay from t as alice, with an extra attribute type. */
static int
allocate_tcp(const struct turn_5tuple *t, uint16_t extra)
{
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(6);
	if (extra == STUN_ATTR_EVEN_PORT)
		stun_build_u8(&bld, STUN_ATTR_EVEN_PORT, 0);
	else if (extra != 0)
		stun_build_attr(&bld, extra, NULL, 0);
	finish(t);
	feed(t, NULL);
	return answer();
}

static int
connect_peer(const struct turn_5tuple *t, const char *peer)
{
	struct sockaddr_storage p = sa(peer);

	begin(STUN_CONNECT, STUN_REQUEST);
	stun_build_xor_addr(&bld, STUN_ATTR_XOR_PEER_ADDRESS, SA(p));
	finish(t);
	feed(t, NULL);
	return answer();
}

static int
connection_bind(const struct turn_5tuple *t, const char *user, const char *pass, uint32_t id)
{
	begin(STUN_CONNECTION_BIND, STUN_REQUEST);
	if (id != 0)
		stun_build_u32(&bld, STUN_ATTR_CONNECTION_ID, id);
	finish_as(user, pass, t, false);
	feed(t, NULL);
	return answer();
}

/* RFC 6062 §5.1: who may ask for a TCP relay. */
static void
test_tcp_allocate(void)
{
	restart();
	CHECKM(allocate_tcp(&ctcp, 0) == 442, "no-tcp-relay: a TCP relay is a 442");
	cfg.tcp_relay = true;
	CHECKM(allocate_tcp(&c1, 0) == 400, "RFC 6062 §5.1: a TCP relay over UDP is a 400");
	CHECKM(allocate_tcp(&ctcp, STUN_ATTR_EVEN_PORT) == 400, "TCP with EVEN-PORT: 400");
	CHECKM(allocate_tcp(&ctcp, STUN_ATTR_DONT_FRAGMENT) == 400, "TCP with DONT-FRAGMENT: 400");
	CHECKM(io.opens == 0, "no relay opened for refused TCP Allocates");
	CHECKM(allocate_tcp(&ctcp, 0) == 0 && has(STUN_ATTR_XOR_RELAYED_ADDRESS) && io.nreq == 1 &&
		io.req[0].tcp,
	    "a TCP relay over TCP: the I/O layer is asked for a TCP socket");
	CHECK(stats().tcp_allocations == 1);
	CHECKM(bind_channel(&ctcp, 0x4001, "203.0.113.9:7000") == 400,
	    "RFC 6062 §5.1: no ChannelBind on a TCP allocation");
	send_ind(&ctcp, "203.0.113.9:7000", "x");
	CHECKM(io.peer_sends == 0, "Send indications on a TCP allocation are dropped");
	cfg.tcp_relay = false;
}

/* RFC 6062 §5.2: CONNECT and its deferred answer. */
static void
test_tcp_connect(void)
{
	struct sockaddr_storage want;
	uint8_t tid[STUN_TID_LEN];
	struct stun_msg m;
	struct tcpconn *c;
	uint8_t tag;

	memset(&m, 0, sizeof m);
	cfg.tcp_relay = true;
	restart();
	turn_set_tag(turn, 0x2a);
	CHECKM(allocate(&c1) == 0 && connect_peer(&c1, "203.0.113.9:80") == 400,
	    "CONNECT on a UDP allocation: 400");
	CHECK(connect_peer(&c2, "203.0.113.9:80") == 437);
	CHECK(allocate_tcp(&ctcp, 0) == 0);
	CHECKM(connect_peer(&ctcp, "127.0.0.1:80") == 403 && io.tcp_connects == 0,
	    "CONNECT to a refused peer: 403 and no SYN");
	CHECKM(connect_peer(&ctcp, "10.1.2.3:80") == 403 && io.tcp_connects == 0,
	    "CONNECT to a private peer: 403 and no SYN");
	CHECKM(connect_peer(&ctcp, "[2001:db8::9]:80") == 443, "CONNECT to the other family: 443");
	want = sa("203.0.113.9:80");
	CHECKM(connect_peer(&ctcp, "203.0.113.9:80") == -1 && io.tcp_connects == 1 &&
		addr_equal(SA(io.tcp_peer), SA(want)),
	    "CONNECT: no answer until the outcome, a connection asked for");
	c = io.tcp_conn;
	CHECKM((c->id & 0xff) == 0x2a && (c->id >> 8) != 0, "CONNECTION-ID ends in the core's tag");
	CHECKM(connect_peer(&ctcp, "203.0.113.9:80") == 446,
	    "a second CONNECT to the same peer: 446");
	io.client_sends = 0;
	turn_handle_tcp_connected(turn, c, true, &now);
	CHECKM(io.client_sends == 1 && client_msg(&m) && m.method == STUN_CONNECT &&
		m.cls == STUN_SUCCESS && connection_id(&m) == c->id && m.mi >= 0,
	    "connected: success with CONNECTION-ID and integrity, to the control connection");
	resp = m;
	CHECK(mi_ok("alice", "s3cret"));
	CHECK(stats().tcp_connects == 1 && stats().tcp_conns_active == 1);

	begin(STUN_CONNECTION_BIND, STUN_REQUEST);
	stun_build_u32(&bld, STUN_ATTR_CONNECTION_ID, c->id);
	finish(&c2);
	CHECKM(turn_connection_tag(&req, &tag) == 0 && tag == 0x2a,
	    "turn_connection_tag reads the owner of a CONNECTION-BIND");
	CHECK(turn_connection_tag(&m, &tag) == -1);

	io.tcp_rc = -1;
	CHECKM(connect_peer(&ctcp, "203.0.113.10:80") == 447 && stats().tcp_conns_active == 1,
	    "CONNECT failing at once: 447");
	io.tcp_rc = 0;
	CHECK(connect_peer(&ctcp, "203.0.113.11:80") == -1);
	c = io.tcp_conn;
	turn_handle_tcp_connected(turn, c, false, &now);
	CHECKM(client_msg(&m) && m.cls == STUN_ERROR && io.tcp_closes == 1 && io.tcp_closed == c &&
		stats().tcp_conns_active == 1,
	    "CONNECT refused by the peer: 447 later, the connection closed");
	resp = m;
	outlen = io.clen;
	CHECK(answer() == 447);

	CHECK(connect_peer(&ctcp, "203.0.113.12:80") == -1);
	memcpy(tid, req.tid, sizeof tid);
	now.mono_ms += 29000;
	turn_expire(turn, &now);
	CHECK(io.tcp_closes == 1);
	now.mono_ms += 1000;
	turn_expire(turn, &now);
	CHECKM(io.tcp_closes == 3 && client_msg(&m) && m.cls == STUN_ERROR &&
		memcmp(m.tid, tid, STUN_TID_LEN) == 0 && stats().tcp_connect_failures == 3 &&
		stats().tcp_bind_timeouts == 1 && stats().tcp_conns_active == 0,
	    "CONNECT without an outcome for 30 s: 447 and closed (and the unbound one too)");
	now.mono_ms -= 30000;
	cfg.tcp_relay = false;
}

/* RFC 6062 §5.3 and §5.4: CONNECTION-ATTEMPT, CONNECTION-BIND, the 30 s bind timeout. */
static void
test_tcp_bind(void)
{
	struct turn_5tuple d1 = tuple("198.51.100.1:40001", TURN_TCP);
	struct turn_5tuple d2 = tuple("198.51.100.1:40002", TURN_TLS);
	struct sockaddr_storage p;
	struct stun_msg m;
	struct tcpconn *c;
	uint32_t id;
	int handle = 1;

	memset(&m, 0, sizeof m);
	cfg.tcp_relay = true;
	restart();
	CHECK(allocate_tcp(&ctcp, 0) == 0);
	p = sa("203.0.113.9:5555");
	CHECKM(turn_handle_peer_connect(turn, io.alloc, io.relay, SA(p), &handle, &now) == NULL &&
		stats().tcp_peer_refused == 1,
	    "a peer without a permission is refused");
	CHECK(permit(&ctcp, "203.0.113.9") == 0);
	io.client_sends = 0;
	c = turn_handle_peer_connect(turn, io.alloc, io.relay, SA(p), &handle, &now);
	CHECKM(c != NULL && c->handle == &handle && io.client_sends == 1 && client_msg(&m) &&
		m.method == STUN_CONNECTION_ATTEMPT && m.cls == STUN_INDICATION &&
		connection_id(&m) == c->id && stun_find(&m, STUN_ATTR_XOR_PEER_ADDRESS) != NULL,
	    "a permitted peer: CONNECTION-ATTEMPT with its address and CONNECTION-ID");
	id = c->id;
	CHECKM(connection_bind(&c1, "alice", "s3cret", id) == 400, "CONNECTION-BIND over UDP: 400");
	CHECKM(connection_bind(&d1, "alice", "s3cret", id ^ 0x100) == 400,
	    "CONNECTION-BIND with an unknown id: 400");
	CHECKM(connection_bind(&d1, "alice", "s3cret", 0) == 400,
	    "CONNECTION-BIND without CONNECTION-ID: 400");
	CHECKM(connection_bind(&ctcp, "alice", "s3cret", id) == 400,
	    "CONNECTION-BIND on the control connection: 400");
	CHECKM(connection_bind(&d1, "bob", "hunter2", id) == 441,
	    "CONNECTION-BIND by another user: 441");
	CHECKM(connection_bind(&d1, NULL, NULL, id) == 401 && reply.bound == NULL,
	    "CONNECTION-BIND without credentials: 401");
	CHECKM(connection_bind(&d1, "alice", "s3cret", id) == 0 && reply.bound == c &&
		c->state == TCPCONN_BOUND && has(STUN_ATTR_MESSAGE_INTEGRITY),
	    "CONNECTION-BIND: success, and the I/O layer is told to splice");
	CHECKM(connection_bind(&d2, "alice", "s3cret", id) == 400 && reply.bound == NULL,
	    "a second CONNECTION-BIND for the same id: 400");
	CHECK(stats().tcp_binds == 1 && stats().tcp_bind_failures == 6);
	now.mono_ms += 31000;
	turn_expire(turn, &now);
	CHECKM(io.tcp_closes == 0, "a bound connection does not time out");
	turn_tcp_count(turn, c, true, 100);
	turn_tcp_count(turn, c, false, 40);
	CHECK(stats().client_to_peer_bytes == 100 && stats().peer_to_client_bytes == 40);
	turn_handle_tcp_closed(turn, c);
	CHECKM(stats().tcp_conns_active == 0 && io.tcp_closes == 0,
	    "closed by the I/O layer: forgotten, not closed twice");

	p = sa("203.0.113.9:5556");
	CHECK(permit(&ctcp, "203.0.113.9") == 0);
	c = turn_handle_peer_connect(turn, io.alloc, io.relay, SA(p), &handle, &now);
	CHECK(c != NULL);
	id = c->id;
	now.mono_ms += 29000;
	turn_expire(turn, &now);
	CHECK(io.tcp_closes == 0);
	now.mono_ms += 1000;
	turn_expire(turn, &now);
	CHECKM(io.tcp_closes == 1 && io.tcp_closed == c && stats().tcp_bind_timeouts == 1,
	    "RFC 6062 §5.3: unbound for 30 s, the connection is closed");
	CHECKM(connection_bind(&d2, "alice", "s3cret", id) == 400,
	    "CONNECTION-BIND after the timeout: 400");

	p = sa("203.0.113.9:5557");
	CHECK(permit(&ctcp, "203.0.113.9") == 0);
	CHECK(turn_handle_peer_connect(turn, io.alloc, io.relay, SA(p), &handle, &now) != NULL);
	turn_handle_disconnect(turn, &ctcp);
	CHECKM(io.tcp_closes == 2 && stats().tcp_conns_active == 0,
	    "the control connection's end closes its TCP connections");
	now.mono_ms -= 61000;
	cfg.tcp_relay = false;
}

/* A Refresh from t as user carrying MOBILITY-TICKET (len bytes of ticket). */
static int
refresh_ticket(const struct turn_5tuple *t, const char *user, const char *password,
    const char *ticket, size_t len)
{
	begin(STUN_REFRESH, STUN_REQUEST);
	stun_build_attr(&bld, STUN_ATTR_MOBILITY_TICKET, ticket, len);
	finish_as(user, password, t, false);
	feed(t, NULL);
	return answer();
}

/* An Allocate from t as alice asking for mobility (ticket of len bytes, empty per RFC 8016). */
static int
allocate_mobile(const struct turn_5tuple *t, size_t len)
{
	begin(STUN_ALLOCATE, STUN_REQUEST);
	add_transport(17);
	stun_build_attr(&bld, STUN_ATTR_MOBILITY_TICKET, "xxxxxxxx", len);
	finish(t);
	feed(t, NULL);
	return answer();
}

/* The answer's MOBILITY-TICKET into out (MOBILITY_TICKET_LEN + 1); false without one. */
static bool
ticket_of(char *dst)
{
	const struct stun_attr *a = stun_find(&resp, STUN_ATTR_MOBILITY_TICKET);

	if (outlen == 0 || a == NULL || a->len != MOBILITY_TICKET_LEN)
		return false;
	memcpy(dst, stun_attr_value(&resp, a), a->len);
	dst[a->len] = '\0';
	return true;
}

static void
test_mobility(void)
{
	struct turn_5tuple c3 = tuple("198.51.100.3:41000", TURN_UDP);
	struct sockaddr_storage p = sa("203.0.113.9:7000");
	char t1[MOBILITY_TICKET_LEN + 1], t2[MOBILITY_TICKET_LEN + 1], bad[MOBILITY_TICKET_LEN + 1];
	struct turn_stats st;
	uint8_t tag = 9;

	restart();
	CHECKM(allocate_mobile(&c1, 0) == 405 && stats().allocations_active == 0,
	    "RFC 8016: mobility off, an Allocate asking for it gets 405");
	cfg.mobility = true;
	restart();
	CHECKM(allocate_mobile(&c1, 8) == 400,
	    "RFC 8016 §3.1: a non-empty ticket in an Allocate: 400");
	CHECK(allocate(&c1) == 0 && !has(STUN_ATTR_MOBILITY_TICKET));
	CHECK(refresh(&c1, 0) == 0);
	CHECKM(allocate_mobile(&c1, 0) == 0 && ticket_of(t1) && mi_ok("alice", "s3cret"),
	    "an Allocate asking for mobility gets a 32-character ticket");
	CHECK(permit(&c1, "203.0.113.9:1") == 0 &&
	    bind_channel(&c1, 0x4000, "203.0.113.9:7000") == 0);
	io.bounds = 0;
	CHECK(refresh_ticket(&c2, "alice", "s3cret", t1, MOBILITY_TICKET_LEN) == 0 &&
	    ticket_of(t2) && strcmp(t1, t2) != 0 && mi_ok("alice", "s3cret"));
	CHECKM(reply.moved && addr_equal(SA(reply.moved_from.client), SA(c1.client)) &&
		io.moves == 1 && io.bounds == 1 && io.bound_number == 0x4000,
	    "a ticket from a new 5-tuple moves the allocation; its channel is announced again");
	CHECKM(refresh(&c1, -1) == 437, "the old 5-tuple no longer owns it: 437");
	turn_handle_chandata(turn, &c2, 0x4000, (const uint8_t *)"chan", 4, &now);
	CHECKM(io.peer_sends == 1 && addr_equal(SA(io.peer), SA(p)), "the channel moved along");
	from_peer("203.0.113.9:7000", "abcde");
	CHECKM(io.client_sends == 1 && addr_equal(SA(io.ctuple.client), SA(c2.client)),
	    "peer data goes to the new 5-tuple");
	CHECKM(refresh_ticket(&c3, "alice", "s3cret", t1, MOBILITY_TICKET_LEN) == 400,
	    "a used ticket is refused (400)");
	memcpy(bad, t2, sizeof bad);
	bad[20] = bad[20] == 'A' ? 'B' : 'A';
	CHECKM(refresh_ticket(&c3, "alice", "s3cret", bad, MOBILITY_TICKET_LEN) == 400,
	    "a forged ticket is refused (400)");
	CHECKM(refresh_ticket(&c3, "alice", "s3cret", t2, 12) == 400, "a short ticket: 400");
	CHECKM(refresh_ticket(&c3, "bob", "hunter2", t2, MOBILITY_TICKET_LEN) == 441,
	    "another user's ticket: 441");
	CHECKM(refresh(&c3, -1) == 437 && refresh(&c2, -1) == 0 && stats().allocations_active == 1,
	    "refused tickets changed nothing");
	st = stats();
	CHECK(st.mobility_moves == 1 && st.mobility_refused == 4 && st.mobility_tickets == 2);
	CHECK(refresh_ticket(&c2, "alice", "s3cret", t2, MOBILITY_TICKET_LEN) == 0 &&
	    !reply.moved && ticket_of(t1) && strcmp(t1, t2) != 0);
	CHECKM(turn_mobility_tag(turn, &req, &tag) == 0 && tag == 0,
	    "turn_mobility_tag names the worker that sealed it");
	now.unix_s += 600 + 3600 + 1;
	now.mono_ms += 1000;
	CHECKM(refresh_ticket(&c3, "alice", "s3cret", t1, MOBILITY_TICKET_LEN) == 400,
	    "an expired ticket is refused (400)");
	now.unix_s -= 600 + 3600 + 1;
	CHECK(allocate_mobile(&c3, 0) == 0 && ticket_of(t2));
	CHECKM(refresh_ticket(&c3, "alice", "s3cret", t1, MOBILITY_TICKET_LEN) == 437,
	    "a 5-tuple holding its own allocation does not take another: 437");
	CHECK(allocate_mobile(&ctcp, 0) == 0 && !has(STUN_ATTR_MOBILITY_TICKET));
	cfg.mobility = false;
	CHECKM(refresh_ticket(&c3, "alice", "s3cret", t2, MOBILITY_TICKET_LEN) == 405,
	    "mobility turned off: 405");
	CHECK(turn_mobility_tag(turn, &req, &tag) == -1);
	restart();
}

static void
setup(void)
{
	char *cause = NULL;

	cs = creds_static_create(REALM);
	if (creds_static_add_user(cs, "alice:s3cret", &cause) == -1 ||
	    creds_static_add_user(cs, "bob:hunter2", &cause) == -1)
		abort();
	creds_static_iface(cs, &creds);
	now.mono_ms = 5000000;
	now.unix_s = 1800000000;
	c1 = tuple("198.51.100.1:40000", TURN_UDP);
	c2 = tuple("198.51.100.2:40000", TURN_UDP);
	c6 = tuple("[2001:db8::99]:40000", TURN_UDP);
	ctcp = tuple("198.51.100.1:40000", TURN_TCP);
	defaults();
	restart();
}

int
main(void)
{
	setup();
	test_binding();
	test_challenge();
	test_allocate();
	test_retransmit_after_cache();
	test_lifetimes();
	test_refresh_delete();
	test_sessions_kill();
	test_session_end_and_binding_stats();
	test_allocate_errors();
	test_allocate_options();
	test_dual();
	test_permissions();
	test_permission_all_or_none();
	test_channels();
	test_challenge_size();
	test_auth_throttle_hooks();
	test_stream();
	test_unknown_and_fingerprint();
	test_stale_nonce();
	test_sha256();
	test_quota();
	test_drain_and_reconfigure();
	test_alternate();
	test_noauth_and_policy();
	test_peer_check_hook();
	test_own_address();
	test_tcp_allocate();
	test_tcp_connect();
	test_tcp_bind();
	test_mobility();
	test_free();
	creds_static_free(cs);
	return unit_done();
}
