/* The Binding core: what each kind of input is answered with. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/binding.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"
#include "unit.h"

static const uint8_t tid[STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const struct binding_config plain = {NULL, NULL};
static const struct binding_config with_software = {"turnpike test", NULL};

static struct sockaddr_storage src4, src6, mapped;
static uint8_t out[2048];
static size_t outlen;
static struct stun_msg resp;

static void
make_sources(void)
{
	struct sockaddr_in *a = (struct sockaddr_in *)&src4;
	struct sockaddr_in6 *b = (struct sockaddr_in6 *)&src6;
	struct sockaddr_in6 *c = (struct sockaddr_in6 *)&mapped;

	a->sin_family = AF_INET;
	a->sin_port = htons(40000);
	inet_pton(AF_INET, "192.0.2.7", &a->sin_addr);
	b->sin6_family = AF_INET6;
	b->sin6_port = htons(40001);
	inet_pton(AF_INET6, "2001:db8::7", &b->sin6_addr);
	c->sin6_family = AF_INET6;
	c->sin6_port = htons(40002);
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &c->sin6_addr);
}

/* A request of method/class with an optional extra attribute and FINGERPRINT. */
static size_t
request(uint8_t *buf, uint16_t method, uint8_t cls, uint16_t extra, bool fp)
{
	struct stun_build b;
	size_t len = 0;

	stun_build_init(&b, buf, 512, method, cls, tid);
	if (extra != 0)
		stun_build_u32(&b, extra, 0);
	if (fp)
		stun_build_fingerprint(&b);
	stun_build_finish(&b, &len);
	return len;
}

/* Runs the core; on a reply, decodes it into resp. */
static int
run(const struct binding_config *cfg, const uint8_t *in, size_t len,
    const struct sockaddr_storage *src)
{
	const char *errstr;
	int rc;

	rc = binding_process(cfg, in, len, (const struct sockaddr *)src, out, sizeof out, &outlen);
	if (rc == BINDING_REPLY && stun_decode(&resp, out, outlen, &errstr) != 0)
		return -100;
	return rc;
}

static bool
mapped_is(const struct sockaddr_storage *want_ss)
{
	const struct stun_attr *a = stun_find(&resp, STUN_ATTR_XOR_MAPPED_ADDRESS);
	struct sockaddr_storage got;
	const struct sockaddr *want = (const struct sockaddr *)want_ss;

	if (a == NULL || stun_get_xor_addr(&resp, a, &got) != 0 || got.ss_family != want->sa_family)
		return false;
	if (want->sa_family == AF_INET) {
		const struct sockaddr_in *g = (const struct sockaddr_in *)&got;
		const struct sockaddr_in *w = (const struct sockaddr_in *)want_ss;
		return g->sin_port == w->sin_port && g->sin_addr.s_addr == w->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *g6 = (const struct sockaddr_in6 *)&got;
	const struct sockaddr_in6 *w6 = (const struct sockaddr_in6 *)want_ss;
	return g6->sin6_port == w6->sin6_port && memcmp(&g6->sin6_addr, &w6->sin6_addr, 16) == 0;
}

static int
error_code(void)
{
	const struct stun_attr *a = stun_find(&resp, STUN_ATTR_ERROR_CODE);
	const uint8_t *reason;
	size_t rlen;
	int code;

	if (a == NULL || stun_get_error(&resp, a, &code, &reason, &rlen) != 0)
		return -1;
	return code;
}

static void
test_success(void)
{
	struct sockaddr_storage want;
	struct sockaddr_in *w = (struct sockaddr_in *)&want;
	uint8_t req[512];
	size_t len = request(req, STUN_BINDING, STUN_REQUEST, 0, false);

	CHECK(run(&plain, req, len, &src4) == BINDING_REPLY);
	CHECK(resp.method == STUN_BINDING && resp.cls == STUN_SUCCESS);
	CHECK(memcmp(resp.tid, tid, sizeof tid) == 0);
	CHECKM(mapped_is(&src4), "IPv4 source mapped");
	CHECKM(resp.fingerprint == -1, "no FINGERPRINT when the request had none");
	CHECKM(stun_find(&resp, STUN_ATTR_SOFTWARE) == NULL, "SOFTWARE off by default");

	CHECK(run(&plain, req, len, &src6) == BINDING_REPLY);
	CHECKM(mapped_is(&src6), "IPv6 source mapped");

	memset(&want, 0, sizeof want);
	w->sin_family = AF_INET;
	w->sin_port = htons(40002);
	inet_pton(AF_INET, "198.51.100.9", &w->sin_addr);
	CHECK(run(&plain, req, len, &mapped) == BINDING_REPLY);
	CHECKM(mapped_is(&want), "IPv4-mapped IPv6 source reported as IPv4");

	len = request(req, STUN_BINDING, STUN_REQUEST, 0, true);
	CHECK(run(&plain, req, len, &src4) == BINDING_REPLY);
	CHECKM(resp.fingerprint >= 0 && integrity_fingerprint_ok(&resp),
	    "FINGERPRINT echoed and valid");

	len = request(req, STUN_BINDING, STUN_REQUEST, 0x8030, false);
	CHECKM(run(&with_software, req, len, &src4) == BINDING_REPLY && resp.cls == STUN_SUCCESS,
	    "unknown optional attribute ignored");
	const struct stun_attr *sw = stun_find(&resp, STUN_ATTR_SOFTWARE);
	CHECKM(sw != NULL && sw->len == 13 &&
		memcmp(stun_attr_value(&resp, sw), "turnpike test", 13) == 0,
	    "SOFTWARE when configured");
}

static void
test_errors(void)
{
	uint8_t req[512];
	const struct stun_attr *a;
	const uint8_t *v;
	size_t len;

	/* Two unknown comprehension-required attributes. */
	struct stun_build b;
	stun_build_init(&b, req, sizeof req, STUN_BINDING, STUN_REQUEST, tid);
	stun_build_u32(&b, 0x0030, 0);
	stun_build_u32(&b, 0x0031, 0);
	stun_build_fingerprint(&b);
	stun_build_finish(&b, &len);
	CHECK(run(&plain, req, len, &src4) == BINDING_REPLY);
	CHECKM(resp.cls == STUN_ERROR && error_code() == 420, "420 for unknown");
	a = stun_find(&resp, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	v = a != NULL ? stun_attr_value(&resp, a) : NULL;
	CHECKM(a != NULL && a->len == 4 && v[0] == 0x00 && v[1] == 0x30 && v[2] == 0x00 &&
		v[3] == 0x31,
	    "UNKNOWN-ATTRIBUTES lists the types");
	CHECK(stun_find(&resp, STUN_ATTR_XOR_MAPPED_ADDRESS) == NULL);
	CHECKM(resp.fingerprint >= 0, "error keeps the FINGERPRINT rule");

	/* Valid header, attribute running past the end: 400. */
	len = request(req, STUN_BINDING, STUN_REQUEST, STUN_ATTR_SOFTWARE, false);
	req[STUN_HEADER_LEN + 3] = 40;
	CHECK(run(&plain, req, len, &src4) == BINDING_REPLY);
	CHECKM(resp.cls == STUN_ERROR && error_code() == 400 && resp.method == STUN_BINDING &&
		memcmp(resp.tid, tid, 12) == 0,
	    "400 for a malformed request");

	len = request(req, STUN_ALLOCATE, STUN_REQUEST, 0, false);
	CHECK(run(&plain, req, len, &src4) == BINDING_REPLY);
	CHECKM(resp.method == STUN_ALLOCATE && error_code() == 400, "TURN methods: 400 for now");
}

static void
test_ignored(void)
{
	static const uint8_t garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t req[512];
	size_t len;

	len = request(req, STUN_BINDING, STUN_INDICATION, 0, false);
	CHECKM(run(&plain, req, len, &src4) == BINDING_IGNORE, "indication ignored");
	len = request(req, STUN_BINDING, STUN_SUCCESS, 0, false);
	CHECKM(run(&plain, req, len, &src4) == BINDING_IGNORE, "response ignored");
	len = request(req, STUN_BINDING, STUN_ERROR, 0, false);
	CHECKM(run(&plain, req, len, &src4) == BINDING_IGNORE, "error ignored");
	len = request(req, STUN_BINDING, STUN_INDICATION, STUN_ATTR_SOFTWARE, false);
	req[STUN_HEADER_LEN + 3] = 40;
	CHECKM(run(&plain, req, len, &src4) == BINDING_IGNORE, "malformed indication ignored");

	CHECKM(run(&plain, garbage, sizeof garbage - 1, &src4) == BINDING_NOT_STUN,
	    "garbage is not STUN");
	CHECK(run(&plain, garbage, 0, &src4) == BINDING_NOT_STUN);
	len = request(req, STUN_BINDING, STUN_REQUEST, 0, false);
	CHECKM(run(&plain, req, 12, &src4) == BINDING_NOT_STUN, "short header");
	req[4] ^= 1; /* magic cookie */
	CHECK(run(&plain, req, len, &src4) == BINDING_NOT_STUN);
	len = request(req, STUN_BINDING, STUN_REQUEST, 0, true);
	req[len - 1] ^= 1;
	CHECKM(run(&plain, req, len, &src4) == BINDING_NOT_STUN, "wrong FINGERPRINT: not STUN");
	len = request(req, STUN_BINDING, STUN_REQUEST, 0, false);
	CHECKM(binding_process(&plain, req, len, (const struct sockaddr *)&src4, out, 24,
		   &outlen) == BINDING_IGNORE,
	    "no room: nothing sent");
}

/* RFC 5780 on 192.0.2.1 and 192.0.2.2, ports 3478 and 3479. */
static struct sockaddr_storage ips5780[2], local5780, client5780;
static struct binding_rfc5780 rfc = {3478, 3479, ips5780, 2};
static const struct binding_config cfg5780 = {NULL, &rfc};
static struct binding_route route;

static struct sockaddr_storage
ss(const char *text)
{
	struct sockaddr_storage parsed;
	const char *errstr;

	if (addr_parse(text, 0, &parsed, &errstr) != 0)
		abort();
	return parsed;
}

/* A Binding request from client5780 to local5780 with the given RFC 5780 attributes. */
static int
run5780(const struct binding_config *cfg, bool udp, int change, int rport, size_t pad)
{
	static uint8_t big[4096];
	static const uint8_t zeros[4000];
	struct stun_build b;
	struct stun_msg m;
	const char *errstr;
	size_t len;
	int rc;

	stun_build_init(&b, big, sizeof big, STUN_BINDING, STUN_REQUEST, tid);
	if (change >= 0)
		stun_build_u32(&b, STUN_ATTR_CHANGE_REQUEST, (uint32_t)change);
	if (rport >= 0)
		stun_build_u16(&b, STUN_ATTR_RESPONSE_PORT, (uint16_t)rport);
	if (pad > 0)
		stun_build_attr(&b, STUN_ATTR_PADDING, zeros, pad);
	if (stun_build_finish(&b, &len) != 0 || stun_decode(&m, big, len, &errstr) != 0)
		abort();
	memset(&route, 0, sizeof route);
	route.client = (const struct sockaddr *)&client5780;
	route.local = (const struct sockaddr *)&local5780;
	route.udp = udp;
	rc = binding_respond(cfg, &m, &route, out, sizeof out, &outlen);
	if (rc == BINDING_REPLY && stun_decode(&resp, out, outlen, &errstr) != 0)
		return -100;
	return rc;
}

static int
code(void)
{
	const struct stun_attr *a = stun_find(&resp, STUN_ATTR_ERROR_CODE);
	const uint8_t *r;
	size_t rl;
	int c = 0;

	if (a != NULL && stun_get_error(&resp, a, &c, &r, &rl) != 0)
		return -1;
	return c;
}

static bool
addr_attr_is(uint16_t type, const char *want)
{
	const struct stun_attr *a = stun_find(&resp, type);
	struct sockaddr_storage got, w = ss(want);

	return a != NULL && stun_get_addr(&resp, a, &got) == 0 &&
	    addr_equal((const struct sockaddr *)&got, (const struct sockaddr *)&w);
}

static bool
route_is(const char *from, const char *to)
{
	struct sockaddr_storage f = ss(from), t = ss(to);

	return addr_equal((const struct sockaddr *)&route.from, (const struct sockaddr *)&f) &&
	    addr_equal((const struct sockaddr *)&route.to, (const struct sockaddr *)&t);
}

static void
test_rfc5780(void)
{
	const struct stun_attr *a;
	int flags;

	ips5780[0] = ss("192.0.2.1");
	ips5780[1] = ss("192.0.2.2");
	local5780 = ss("192.0.2.1:3478");
	client5780 = ss("198.51.100.7:40000");
	CHECK(run5780(&cfg5780, true, -1, -1, 0) == BINDING_REPLY && code() == 0);
	CHECKM(addr_attr_is(STUN_ATTR_RESPONSE_ORIGIN, "192.0.2.1:3478") &&
		addr_attr_is(STUN_ATTR_OTHER_ADDRESS, "192.0.2.2:3479") &&
		route_is("192.0.2.1:3478", "198.51.100.7:40000") && !route.rerouted,
	    "RESPONSE-ORIGIN is where it arrived, OTHER-ADDRESS the other IP and port");
	CHECK(run5780(&cfg5780, true, STUN_CHANGE_IP | STUN_CHANGE_PORT, -1, 0) == BINDING_REPLY &&
	    code() == 0);
	CHECKM(route_is("192.0.2.2:3479", "198.51.100.7:40000") && route.rerouted &&
		addr_attr_is(STUN_ATTR_RESPONSE_ORIGIN, "192.0.2.2:3479"),
	    "change IP and port: sent from 192.0.2.2:3479, RESPONSE-ORIGIN says so");
	CHECK(run5780(&cfg5780, true, STUN_CHANGE_PORT, -1, 0) == BINDING_REPLY &&
	    route_is("192.0.2.1:3479", "198.51.100.7:40000"));
	CHECK(run5780(&cfg5780, true, STUN_CHANGE_IP, -1, 0) == BINDING_REPLY &&
	    route_is("192.0.2.2:3478", "198.51.100.7:40000"));
	for (flags = 0; flags < 8; flags++) {
		run5780(&cfg5780, true, flags << 1, -1, 0);
		if (!addr_equal_ip((const struct sockaddr *)&route.to,
			(const struct sockaddr *)&client5780) ||
		    addr_port((const struct sockaddr *)&route.to) != 40000)
			break;
	}
	CHECKM(flags == 8, "no CHANGE-REQUEST value sends the answer anywhere but the source");
	CHECK(run5780(&cfg5780, true, -1, 5000, 0) == BINDING_REPLY && code() == 0);
	CHECKM(route_is("192.0.2.1:3478", "198.51.100.7:5000") && route.rerouted,
	    "RESPONSE-PORT: the source IP at that port, nothing else");
	CHECKM(run5780(&cfg5780, true, -1, 0, 0) == BINDING_REPLY && code() == 400,
	    "RESPONSE-PORT 0: 400");
	CHECK(run5780(&cfg5780, true, -1, -1, 200) == BINDING_REPLY && code() == 0);
	CHECKM((a = stun_find(&resp, STUN_ATTR_PADDING)) != NULL && a->len == 200,
	    "PADDING is echoed with the request's length");
	CHECK(run5780(&cfg5780, true, -1, -1, 4000) == BINDING_REPLY && code() == 0);
	CHECKM((a = stun_find(&resp, STUN_ATTR_PADDING)) != NULL && a->len <= 1500 &&
		outlen <= sizeof out,
	    "a longer PADDING is echoed at most 1500 bytes long");

	CHECK(run5780(&cfg5780, false, STUN_CHANGE_IP, -1, 0) == BINDING_REPLY);
	CHECKM(code() == 400 && !route.rerouted, "over TCP or TLS, CHANGE-REQUEST is a 400");
	CHECK(run5780(&cfg5780, false, -1, -1, 0) == BINDING_REPLY && code() == 0);
	CHECKM(stun_find(&resp, STUN_ATTR_OTHER_ADDRESS) == NULL,
	    "over TCP or TLS no OTHER-ADDRESS (RFC 5780 runs over UDP)");

	CHECK(run5780(&plain, true, STUN_CHANGE_IP, -1, 0) == BINDING_REPLY);
	CHECKM(code() == 420 && stun_find(&resp, STUN_ATTR_UNKNOWN_ATTRIBUTES) != NULL &&
		!route.rerouted,
	    "RFC 5780 off: CHANGE-REQUEST gets 420 Unknown Attribute");
	CHECK(run5780(&plain, true, -1, 5000, 64) == BINDING_REPLY && code() == 420 &&
	    !route.rerouted);
	CHECK(run5780(&plain, true, -1, -1, 0) == BINDING_REPLY && code() == 0);
	CHECKM(stun_find(&resp, STUN_ATTR_OTHER_ADDRESS) == NULL &&
		stun_find(&resp, STUN_ATTR_RESPONSE_ORIGIN) == NULL,
	    "RFC 5780 off: no OTHER-ADDRESS, no RESPONSE-ORIGIN");

	rfc.nips = 1;
	CHECK(run5780(&cfg5780, true, -1, -1, 0) == BINDING_REPLY &&
	    addr_attr_is(STUN_ATTR_OTHER_ADDRESS, "192.0.2.1:3479"));
	CHECKM(run5780(&cfg5780, true, STUN_CHANGE_IP, -1, 0) == BINDING_REPLY && code() == 420 &&
		!route.rerouted,
	    "one address: OTHER-ADDRESS differs in port only, change IP gets 420");
	CHECK(run5780(&cfg5780, true, STUN_CHANGE_PORT, -1, 0) == BINDING_REPLY &&
	    route_is("192.0.2.1:3479", "198.51.100.7:40000"));
	rfc.nips = 2;
	local5780 = ss("192.0.2.1:4000");
	CHECKM(run5780(&cfg5780, true, STUN_CHANGE_IP, -1, 0) == BINDING_REPLY && code() == 420,
	    "a request to another port (not the two of RFC 5780) is not served by it");
}

int
main(void)
{
	make_sources();
	test_success();
	test_errors();
	test_ignored();
	test_rfc5780();
	return unit_done();
}
