/* The STUN Binding service (RFC 8489 §6.3, RFC 5780 §6.1): decide and build the answer. */
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/binding.h"
#include "turnpike/buf.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"

/* The largest PADDING echoed (RFC 5780 §7.6: about an MTU); bounded by the room left too. */
#define BINDING_PADDING_MAX 1500

/* RFC 5780 attributes: 420 while RFC 5780 is off. */
static const uint16_t binding_rfc5780_attrs[] = {
    STUN_ATTR_CHANGE_REQUEST,
    STUN_ATTR_PADDING,
    STUN_ATTR_RESPONSE_PORT,
};

/* What a request is answered with; filled by a method handler. */
struct binding_answer {
	int error; /* 0 for a success response, else the ERROR-CODE */
	const uint16_t *unknown;
	size_t nunknown;
	uint16_t unknown_own[3];       /* RFC 5780 attributes refused while it is off */
	const struct sockaddr *mapped; /* XOR-MAPPED-ADDRESS of a success, or NULL */
	bool rfc5780;                  /* RESPONSE-ORIGIN and OTHER-ADDRESS */
	struct sockaddr_storage other; /* OTHER-ADDRESS */
	size_t padding;                /* PADDING bytes to echo */
};

/* One request being answered. */
struct binding_req {
	const struct binding_config *cfg;
	const struct stun_msg *m;
	struct binding_route *route;
};

struct binding_method {
	uint16_t method;
	void (*handle)(const struct binding_req *, struct binding_answer *);
};

static void binding_handle_binding(const struct binding_req *, struct binding_answer *);

/* TURN methods are answered by the TURN core (turn.c). */
static const struct binding_method binding_methods[] = {
    {STUN_BINDING, binding_handle_binding},
};

/* The port that is not p among the two of RFC 5780; 0 when p is neither. */
static uint16_t
binding_other_port(const struct binding_rfc5780 *r, uint16_t p)
{
	if (p == r->port)
		return r->alt_port;
	if (p == r->alt_port)
		return r->port;
	return 0;
}

/* Another listening IP of local's family, or NULL. */
static const struct sockaddr *
binding_other_ip(const struct binding_rfc5780 *r, const struct sockaddr *local)
{
	size_t i;

	for (i = 0; i < r->nips; i++) {
		const struct sockaddr *ip = (const struct sockaddr *)&r->ips[i];
		if (ip->sa_family == local->sa_family && !addr_is_any(ip) &&
		    !addr_equal_ip(ip, local))
			return ip;
	}
	return NULL;
}

/*
 * local with its IP and/or port changed to the other ones; -1 when the IP
 * must change and there is no other (RFC 5780 §6.1: 420 then).
 */
static int
binding_move(const struct binding_rfc5780 *r, const struct sockaddr *local, bool ip, bool port,
    struct sockaddr_storage *out)
{
	const struct sockaddr *other = binding_other_ip(r, local);
	uint16_t p = addr_port(local);

	if (ip && other == NULL)
		return -1;
	memcpy(out, ip ? other : local, addr_len(ip ? other : local));
	addr_set_port((struct sockaddr *)out, port ? binding_other_port(r, p) : p);
	return 0;
}

/* Whether RFC 5780 serves this request: on, over UDP, to one of its two ports. */
static bool
binding_is_rfc5780(const struct binding_req *q)
{
	const struct binding_rfc5780 *r = q->cfg->rfc5780;

	return r != NULL && q->route->udp && q->route->local != NULL &&
	    !addr_is_any(q->route->local) && binding_other_port(r, addr_port(q->route->local)) != 0;
}

/* RFC 5780 attributes of a request RFC 5780 does not serve: 420 (off) or 400 (not UDP). */
static bool
binding_refuse_rfc5780(const struct binding_req *q, struct binding_answer *a)
{
	size_t i;

	for (i = 0; i < sizeof binding_rfc5780_attrs / sizeof binding_rfc5780_attrs[0]; i++) {
		if (stun_find(q->m, binding_rfc5780_attrs[i]) != NULL)
			a->unknown_own[a->nunknown++] = binding_rfc5780_attrs[i];
	}
	if (a->nunknown == 0)
		return false;
	if (q->cfg->rfc5780 != NULL && !q->route->udp) {
		a->nunknown = 0;
		a->error = 400; /* RFC 5780 §6.1: these are for UDP */
		return true;
	}
	a->error = 420;
	a->unknown = a->unknown_own;
	return true;
}

/* RFC 5780 §6.1 over UDP: where the answer goes, and what it says about the server. */
static void
binding_serve_rfc5780(const struct binding_req *q, struct binding_answer *a)
{
	const struct binding_rfc5780 *r = q->cfg->rfc5780;
	const struct stun_attr *cr = stun_find(q->m, STUN_ATTR_CHANGE_REQUEST);
	const struct stun_attr *rp = stun_find(q->m, STUN_ATTR_RESPONSE_PORT);
	const struct stun_attr *pad = stun_find(q->m, STUN_ATTR_PADDING);
	struct binding_route *route = q->route;
	bool ip = false, port = false;
	uint16_t to_port;

	if (cr != NULL && stun_get_change_request(q->m, cr, &ip, &port) == -1) {
		a->error = 400;
		return;
	}
	if (binding_move(r, route->local, ip, port, &route->from) == -1) {
		a->error = 420;
		a->unknown_own[0] = STUN_ATTR_CHANGE_REQUEST;
		a->unknown = a->unknown_own;
		a->nunknown = 1;
		return;
	}
	if (rp != NULL) {
		/* RFC 5780 §7.5: the request's source IP, only the port chosen. */
		if (stun_get_u16(q->m, rp, &to_port) == -1 || to_port == 0) {
			a->error = 400;
			return;
		}
		addr_set_port((struct sockaddr *)&route->to, to_port);
	}
	/* OTHER-ADDRESS: the other IP (or ours) at the other port. */
	binding_move(r, route->local, binding_other_ip(r, route->local) != NULL, true, &a->other);
	a->rfc5780 = true;
	if (pad != NULL)
		a->padding = pad->len < BINDING_PADDING_MAX ? pad->len : BINDING_PADDING_MAX;
}

static void
binding_handle_binding(const struct binding_req *q, struct binding_answer *a)
{
	if (binding_is_rfc5780(q))
		binding_serve_rfc5780(q, a);
	else
		binding_refuse_rfc5780(q, a);
	if (a->error == 0)
		a->mapped = q->route->client;
}

/* PADDING of up to n zero bytes, as many as leave room for what follows (reserve). */
static void
binding_build_padding(struct stun_build *b, size_t n, size_t reserve)
{
	static const uint8_t zeros[BINDING_PADDING_MAX];
	size_t room = b->w.cap > b->w.len + 4 + reserve ? b->w.cap - b->w.len - 4 - reserve : 0;

	if (n > room)
		n = room & ~(size_t)3;
	if (n > 0)
		stun_build_attr(b, STUN_ATTR_PADDING, zeros, n);
}

static int
binding_build(const struct binding_config *cfg, const struct stun_msg *m,
    const struct binding_answer *a, const struct binding_route *route, uint8_t *out, size_t outcap,
    size_t *outlen)
{
	struct stun_build b;
	uint8_t cls = a->error != 0 ? STUN_ERROR : STUN_SUCCESS;

	if (stun_build_init(&b, out, outcap, m->method, cls, m->tid) != 0)
		return -1;
	if (a->error != 0)
		stun_build_error(&b, a->error, NULL);
	if (a->nunknown > 0)
		stun_build_unknown(&b, a->unknown, a->nunknown);
	if (a->mapped != NULL)
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, a->mapped);
	if (a->rfc5780 && route != NULL) {
		stun_build_addr(&b, STUN_ATTR_RESPONSE_ORIGIN,
		    (const struct sockaddr *)&route->from);
		stun_build_addr(&b, STUN_ATTR_OTHER_ADDRESS, (const struct sockaddr *)&a->other);
	}
	if (cfg->software != NULL)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, cfg->software);
	if (a->padding > 0)
		binding_build_padding(&b, a->padding, m->fingerprint >= 0 ? 8 : 0);
	/* RFC 8489 §7.3.1: answer with FINGERPRINT when the request used it. */
	if (m->fingerprint >= 0)
		stun_build_fingerprint(&b);
	return stun_build_finish(&b, outlen);
}

/* A request whose attributes are malformed: 400 from the header alone. */
static int
binding_bad_request(const struct binding_config *cfg, const uint8_t *in, uint8_t *out,
    size_t outcap, size_t *outlen)
{
	struct stun_msg m;
	struct binding_answer a = {.error = 400};

	memset(&m, 0, sizeof m);
	stun_type_split(buf_load_u16(in) & 0x3fff, &m.method, &m.cls);
	if (m.cls != STUN_REQUEST)
		return BINDING_IGNORE;
	memcpy(m.tid, in + 8, STUN_TID_LEN);
	m.fingerprint = -1;
	if (binding_build(cfg, &m, &a, NULL, out, outcap, outlen) != 0)
		return BINDING_IGNORE;
	return BINDING_REPLY;
}

static void
binding_dispatch(const struct binding_req *q, struct binding_answer *a)
{
	size_t i;

	/* RFC 8489 §6.3.1: unknown comprehension-required attributes come first. */
	if (q->m->nunknown > 0) {
		a->error = 420;
		a->unknown = q->m->unknown;
		a->nunknown = q->m->nunknown;
		return;
	}
	for (i = 0; i < sizeof binding_methods / sizeof binding_methods[0]; i++) {
		if (binding_methods[i].method == q->m->method) {
			binding_methods[i].handle(q, a);
			return;
		}
	}
	a->error = 400; /* TURN methods are answered by the TURN core */
}

int
binding_respond(const struct binding_config *cfg, const struct stun_msg *m,
    struct binding_route *route, uint8_t *out, size_t outcap, size_t *outlen)
{
	struct binding_req q = {cfg, m, route};
	struct binding_answer a;
	struct sockaddr_in sin;
	const struct sockaddr *client = route->client;

	if (m->cls != STUN_REQUEST)
		return BINDING_IGNORE;
	memset(&a, 0, sizeof a);
	memcpy(&route->to, client, addr_len(client));
	memset(&route->from, 0, sizeof route->from);
	if (route->local != NULL)
		memcpy(&route->from, route->local, addr_len(route->local));
	/* RFC 8489 §14.2: an IPv4-mapped source is reported as IPv4. */
	route->client = addr_unmap_v4(client, &sin);
	binding_dispatch(&q, &a);
	route->client = client;
	route->rerouted = a.error == 0 && a.rfc5780 &&
	    (!addr_equal((const struct sockaddr *)&route->to, client) ||
		!addr_equal((const struct sockaddr *)&route->from, route->local));
	if (binding_build(cfg, m, &a, route, out, outcap, outlen) != 0)
		return BINDING_IGNORE;
	return BINDING_REPLY;
}

int
binding_process(const struct binding_config *cfg, const uint8_t *in, size_t inlen,
    const struct sockaddr *src, uint8_t *out, size_t outcap, size_t *outlen)
{
	struct binding_route route = {.client = src};
	struct stun_msg m;
	const char *errstr;
	int rc;

	rc = stun_decode(&m, in, inlen, &errstr);
	if (rc == STUN_DECODE_MALFORMED)
		return binding_bad_request(cfg, in, out, outcap, outlen);
	if (rc != STUN_DECODE_OK)
		return BINDING_NOT_STUN;
	/* RFC 8489 §7.3: a wrong FINGERPRINT means the message is not STUN. */
	if (m.fingerprint >= 0 && !integrity_fingerprint_ok(&m))
		return BINDING_NOT_STUN;
	return binding_respond(cfg, &m, &route, out, outcap, outlen);
}
