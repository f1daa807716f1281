/* The Binding core: what each kind of input is answered with. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "turnpike/binding.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"
#include "unit.h"

static const uint8_t tid[STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const struct binding_config plain = {NULL};
static const struct binding_config with_software = {"turnpike test", NULL};

static struct sockaddr_storage src4, src6, mapped;
static uint8_t out[1024];
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

int
main(void)
{
	make_sources();
	test_success();
	test_errors();
	test_ignored();
	return unit_done();
}
