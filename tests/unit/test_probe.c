/* Unit tests for src/client/probe.c: the response check, without sockets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/netio.h"
#include "turnpike/probe.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"
#include "unit.h"

static const uint8_t tid[STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* A response of that class with XOR-MAPPED-ADDRESS (mapped) and/or FINGERPRINT. */
static size_t
make_response(uint8_t *out, size_t cap, const uint8_t *t, uint8_t cls, bool mapped, bool fp)
{
	struct sockaddr_storage ss;
	struct stun_build b;
	const char *errstr;
	size_t len = 0;

	addr_parse("192.0.2.7:40000", 0, &ss, &errstr);
	stun_build_init(&b, out, cap, STUN_BINDING, cls, t);
	if (cls == STUN_ERROR)
		stun_build_error(&b, 400, NULL);
	if (mapped)
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&ss);
	if (fp)
		stun_build_fingerprint(&b);
	stun_build_finish(&b, &len);
	return len;
}

/* Runs the check, frees the cause, returns the outcome. */
static int
check(const uint8_t *p, size_t len, bool require_fp, struct probe_result *res)
{
	char *cause = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = probe_check_response(tid, p, len, require_fp, res, &cause);
	CHECKM((rc == PROBE_CHECK_BAD) == (cause != NULL), "a cause exactly when refused");
	free(cause);
	return rc;
}

static void
test_success(void)
{
	uint8_t buf[256];
	char text[ADDR_STRLEN];
	struct probe_result res;
	size_t len;

	len = make_response(buf, sizeof(buf), tid, STUN_SUCCESS, true, false);
	CHECK(check(buf, len, false, &res) == PROBE_CHECK_OK);
	CHECK(strcmp(addr_fmt((struct sockaddr *)&res.mapped, true, text, sizeof(text)),
		  "192.0.2.7:40000") == 0);
	CHECK(!res.fingerprint);
	CHECKM(check(buf, len, true, &res) == PROBE_CHECK_BAD,
	    "no FINGERPRINT refused when required");

	len = make_response(buf, sizeof(buf), tid, STUN_SUCCESS, true, true);
	CHECK(check(buf, len, true, &res) == PROBE_CHECK_OK);
	CHECK(res.fingerprint);
	buf[len - 1] ^= 1;
	CHECKM(check(buf, len, false, &res) == PROBE_CHECK_BAD, "bad FINGERPRINT refused");
}

static void
test_refused(void)
{
	uint8_t buf[256], other[STUN_TID_LEN] = {9};
	struct probe_result res;
	size_t len;

	len = make_response(buf, sizeof(buf), other, STUN_SUCCESS, true, false);
	CHECKM(check(buf, len, false, &res) == PROBE_CHECK_OTHER, "another transaction ignored");
	len = make_response(buf, sizeof(buf), tid, STUN_ERROR, false, false);
	CHECKM(check(buf, len, false, &res) == PROBE_CHECK_BAD, "error response refused");
	len = make_response(buf, sizeof(buf), tid, STUN_SUCCESS, false, false);
	CHECKM(check(buf, len, false, &res) == PROBE_CHECK_BAD, "no XOR-MAPPED-ADDRESS refused");
	len = make_response(buf, sizeof(buf), tid, STUN_INDICATION, true, false);
	CHECKM(check(buf, len, false, &res) == PROBE_CHECK_BAD, "indication refused");
	len = make_response(buf, sizeof(buf), tid, STUN_SUCCESS, true, false);
	CHECKM(check(buf, len + 4, false, &res) == PROBE_CHECK_BAD, "trailing bytes refused");
	CHECKM(check(buf, len - 4, false, &res) == PROBE_CHECK_BAD, "truncated answer refused");
	CHECKM(check(buf, 10, false, &res) == PROBE_CHECK_OTHER, "short datagram ignored");
	CHECKM(check(buf, 0, false, &res) == PROBE_CHECK_OTHER, "empty datagram ignored");
}

static void
test_names(void)
{
	enum probe_transport t;

	CHECK(probe_transport_parse("tls", &t) == 0 && t == PROBE_TLS);
	CHECK(probe_transport_parse("udp", &t) == 0 && t == PROBE_UDP);
	CHECK(probe_transport_parse("sctp", &t) == -1);
	CHECK(strcmp(probe_transport_name(PROBE_TCP), "tcp") == 0);
}

static void
test_parse_number(void)
{
	unsigned long v = 0;

	CHECK(netio_parse_number("42", 1, 100, &v) == 0 && v == 42);
	CHECK(netio_parse_number("0", 0, 0, &v) == 0 && v == 0);
	CHECKM(netio_parse_number("101", 1, 100, &v) == -1, "above max refused");
	CHECKM(netio_parse_number("0", 1, 100, &v) == -1, "below min refused");
	CHECKM(netio_parse_number("-1", 0, 100, &v) == -1, "sign refused");
	CHECKM(netio_parse_number(" 1", 0, 100, &v) == -1, "leading space refused");
	CHECKM(netio_parse_number("1x", 0, 100, &v) == -1, "trailing text refused");
	CHECK(netio_parse_number("", 0, 100, &v) == -1);
	CHECKM(netio_parse_number("99999999999999999999999", 0, (unsigned long)-1, &v) == -1,
	    "overflow refused");
}

int
main(void)
{
	test_success();
	test_refused();
	test_names();
	test_parse_number();
	return unit_done();
}
