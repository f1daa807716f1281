/* The peer policy: range parsing, secure defaults, IPv4-in-IPv6 forms, precedence. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/peerpolicy.h"
#include "unit.h"

static struct sockaddr_storage ss;

static const struct sockaddr *
sa(const char *ip, uint16_t port)
{
	const char *errstr;

	memset(&ss, 0, sizeof ss);
	if (addr_parse_ip(ip, &ss, &errstr) == -1) {
		printf("# bad test address %s\n", ip);
		abort();
	}
	addr_set_port((struct sockaddr *)&ss, port);
	return (const struct sockaddr *)&ss;
}

static bool
allowed(const struct peerpolicy *pp, const char *ip, uint16_t port)
{
	const char *reason = NULL;
	bool ok = peerpolicy_check(pp, sa(ip, port), &reason);

	if (!ok)
		printf("# %s refused: %s\n", ip, reason != NULL ? reason : "(no reason)");
	return ok;
}

static void
test_parse(void)
{
	struct peerpolicy_range r;
	const char *errstr = NULL;
	uint8_t lo[16], hi[16];

	CHECK(peerpolicy_parse_range("10.1.2.3/8", &r, &errstr) == 0 && r.family == AF_INET);
	memset(lo, 0, sizeof lo);
	memset(hi, 0, sizeof hi);
	lo[0] = 10;
	memcpy(hi, "\x0a\xff\xff\xff", 4);
	CHECKM(memcmp(r.lo, lo, 4) == 0 && memcmp(r.hi, hi, 4) == 0, "CIDR host bits masked");
	CHECK(peerpolicy_parse_range("192.0.2.1-192.0.2.9", &r, &errstr) == 0 && r.lo[3] == 1 &&
	    r.hi[3] == 9);
	CHECK(peerpolicy_parse_range("1.2.3.4", &r, &errstr) == 0 && memcmp(r.lo, r.hi, 4) == 0);
	CHECK(peerpolicy_parse_range("fc00::/7", &r, &errstr) == 0 && r.family == AF_INET6 &&
	    r.lo[0] == 0xfc && r.hi[0] == 0xfd && r.hi[15] == 0xff);
	CHECK(
	    peerpolicy_parse_range("::1-::9", &r, &errstr) == 0 && r.lo[15] == 1 && r.hi[15] == 9);
	CHECK(peerpolicy_parse_range("0.0.0.0/0", &r, &errstr) == 0 && r.hi[0] == 0xff);
	CHECK(peerpolicy_parse_range("10.0.0.0/33", &r, &errstr) == -1 &&
	    strcmp(errstr, "prefix length out of range") == 0);
	CHECK(peerpolicy_parse_range("::/129", &r, &errstr) == -1 &&
	    strcmp(errstr, "prefix length out of range") == 0);
	CHECK(peerpolicy_parse_range("10.0.0.9-10.0.0.1", &r, &errstr) == -1 &&
	    strcmp(errstr, "range start after end") == 0);
	CHECK(peerpolicy_parse_range("10.0.0.1-::1", &r, &errstr) == -1 &&
	    strcmp(errstr, "mixed address families") == 0);
	CHECK(peerpolicy_parse_range("example.org", &r, &errstr) == -1 &&
	    strcmp(errstr, "not an IP address") == 0);
	CHECK(peerpolicy_parse_range("", &r, &errstr) == -1);
	CHECK(peerpolicy_parse_range("10.0.0.0/", &r, &errstr) == -1);
	CHECK(peerpolicy_parse_range("10.0.0.0/8x", &r, &errstr) == -1);
	CHECK(peerpolicy_parse_range("10.0.0.0/-1", &r, &errstr) == -1);
	CHECK(peerpolicy_parse_range("10.0.0.0/0008", &r, &errstr) == -1);
}

static void
test_cause(void)
{
	struct peerpolicy *pp = peerpolicy_create();
	char *cause = NULL;

	CHECK(peerpolicy_deny(pp, "10.0.0.0/33", &cause) == -1 && cause != NULL &&
	    strcmp(cause, "\"10.0.0.0/33\": prefix length out of range") == 0);
	free(cause);
	cause = NULL;
	CHECK(peerpolicy_allow(pp, "1.2.3", &cause) == -1 && cause != NULL &&
	    strstr(cause, "\"1.2.3\"") != NULL);
	free(cause);
	peerpolicy_free(pp);
	peerpolicy_free(NULL);
}

static const char *const refused[] = {"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.255.254",
    "169.254.1.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
    "100.127.255.255", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "::", "::1",
    "fe80::1", "febf::1", "fc00::1", "fdff::1", "fec0::1", "ff02::1", "ff0e::1",
    /* IPv4-mapped, -translated, -compatible, NAT64, local-use NAT64 */
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:0:192.168.0.1", "::10.0.0.1", "::169.254.0.1",
    "64:ff9b::10.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b:1::808:808",
    /* 6to4 of 10.0.0.1 and 192.168.1.1 */
    "2002:a00:1::1", "2002:c0a8:101::",
    /* Teredo: server 10.0.0.1; client 127.0.0.1 (stored inverted: 80ff:fffe) */
    "2001:0:a00:1::f7f7:f7f7", "2001:0:808:808::80ff:fffe"};

static const char *const public_peers[] = {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1",
    "169.253.255.255", "192.0.2.1", "11.0.0.1", "223.255.255.255", "2001:4860:4860::8888",
    "2a00:1450::1", "::ffff:8.8.8.8", "::ffff:0:8.8.8.8", "::8.8.8.8", "64:ff9b::808:808",
    "2002:808:808::1", "2001:0:808:808::f7f7:f7f7", "fbff::1", "fe7f::1"};

static void
test_defaults(void)
{
	struct peerpolicy *pp = peerpolicy_create();
	const char *reason = NULL;
	size_t i;
	char msg[128];

	for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		snprintf(msg, sizeof msg, "%s refused by default", refused[i]);
		CHECKM(!peerpolicy_check(pp, sa(refused[i], 5000), &reason) && reason != NULL, msg);
	}
	for (i = 0; i < sizeof public_peers / sizeof public_peers[0]; i++) {
		snprintf(msg, sizeof msg, "%s allowed by default", public_peers[i]);
		CHECKM(allowed(pp, public_peers[i], 5000), msg);
	}
	peerpolicy_free(pp);
}

static void
test_loopback(void)
{
	struct peerpolicy *pp = peerpolicy_create();

	peerpolicy_set_allow_loopback(pp, true);
	CHECK(allowed(pp, "127.0.0.1", 9));
	CHECK(allowed(pp, "127.1.2.3", 9));
	CHECK(allowed(pp, "::1", 9));
	CHECK(allowed(pp, "::ffff:127.0.0.1", 9));
	CHECK(allowed(pp, "64:ff9b::127.0.0.1", 9));
	CHECK(!allowed(pp, "10.0.0.1", 9));
	CHECK(!allowed(pp, "::", 9));
	peerpolicy_set_allow_loopback(pp, false);
	CHECK(!allowed(pp, "::1", 9));
	peerpolicy_free(pp);
}

static void
test_precedence(void)
{
	struct peerpolicy *pp = peerpolicy_create();
	char *cause = NULL;

	CHECK(peerpolicy_allow(pp, "10.0.0.0/24", &cause) == 0);
	CHECK(peerpolicy_deny(pp, "8.8.8.0/24", &cause) == 0);
	CHECK(peerpolicy_allow(pp, "8.8.8.4", &cause) == 0);
	CHECK(peerpolicy_deny(pp, "10.0.0.5", &cause) == 0);
	CHECK(peerpolicy_deny(pp, "2001:db8::/32", &cause) == 0);
	CHECK(peerpolicy_allow(pp, "fd00::1-fd00::9", &cause) == 0);
	CHECKM(allowed(pp, "10.0.0.7", 1), "allowed-peer-ip opens a private range");
	CHECKM(allowed(pp, "10.0.0.5", 1), "allowed and denied: allowed (coturn)");
	CHECKM(!allowed(pp, "10.0.1.1", 1), "outside the allowed range stays refused");
	CHECKM(!allowed(pp, "8.8.8.8", 1), "denied-peer-ip refuses a public address");
	CHECKM(allowed(pp, "8.8.8.4", 1), "allow wins over deny");
	CHECKM(!allowed(pp, "::ffff:8.8.8.8", 1), "mapped form of a denied address");
	CHECKM(allowed(pp, "::ffff:10.0.0.7", 1), "mapped form of an allowed address");
	CHECKM(!allowed(pp, "2001:db8::1", 1), "IPv6 deny range");
	CHECKM(allowed(pp, "fd00::5", 1), "IPv6 allow range");
	CHECKM(!allowed(pp, "fd00::a", 1), "past the IPv6 allow range");
	peerpolicy_free(pp);
}

static void
test_own(void)
{
	struct peerpolicy *pp = peerpolicy_create();

	CHECK(peerpolicy_add_own(pp, sa("203.0.113.5", 3478)) == 0);
	CHECK(peerpolicy_add_own(pp, sa("10.0.0.1", 3478)) == 0);
	CHECK(peerpolicy_add_own(pp, sa("2001:db8::5", 3478)) == 0);
	CHECKM(!allowed(pp, "203.0.113.5", 50000), "own address refused without relay ports");
	peerpolicy_set_relay_ports(pp, 49152, 65535);
	CHECKM(!allowed(pp, "203.0.113.5", 3478), "own address, listening port: refused");
	CHECKM(!allowed(pp, "203.0.113.5", 22), "own address, port 22: refused");
	CHECKM(allowed(pp, "203.0.113.5", 49152), "own address, first relay port: allowed");
	CHECKM(allowed(pp, "203.0.113.5", 65535), "own address, last relay port: allowed");
	CHECKM(allowed(pp, "10.0.0.1", 50000), "private own address on a relay port: allowed");
	CHECKM(!allowed(pp, "10.0.0.1", 3478), "private own address off the relay ports");
	CHECKM(!allowed(pp, "10.0.0.2", 50000), "another private address on a relay port");
	CHECKM(!allowed(pp, "::ffff:203.0.113.5", 3478), "mapped own address off relay ports");
	CHECKM(allowed(pp, "::ffff:203.0.113.5", 50000), "mapped own address on a relay port");
	CHECKM(!allowed(pp, "2001:db8::5", 80), "own IPv6 address off relay ports");
	CHECKM(allowed(pp, "2001:db8::5", 60000), "own IPv6 address on a relay port");
	CHECKM(allowed(pp, "203.0.113.6", 80), "a neighbour of the own address");
	CHECKM(peerpolicy_port_matters(pp, sa("203.0.113.5", 1)) &&
		peerpolicy_port_matters(pp, sa("2001:db8::5", 1)) &&
		peerpolicy_port_matters(pp, sa("::ffff:198.51.100.7", 1)),
	    "own addresses and IPv4-embedding forms: the port is checked per packet");
	CHECKM(!peerpolicy_port_matters(pp, sa("203.0.113.6", 1)) &&
		!peerpolicy_port_matters(pp, sa("2001:db8::6", 1)),
	    "other peers: the permission alone authorizes");
	peerpolicy_free(pp);
}

/* A copy keeps every rule and takes more ranges without touching the original. */
static void
test_dup(void)
{
	struct peerpolicy *pp = peerpolicy_create(), *c;
	char *cause = NULL;

	CHECK(peerpolicy_allow(pp, "10.0.0.0/24", &cause) == 0);
	CHECK(peerpolicy_deny(pp, "8.8.8.0/24", &cause) == 0);
	CHECK(peerpolicy_add_own(pp, sa("203.0.113.5", 3478)) == 0);
	peerpolicy_set_relay_ports(pp, 49152, 65535);
	c = peerpolicy_dup(pp);
	CHECK(c != NULL);
	CHECKM(allowed(c, "10.0.0.7", 1) && !allowed(c, "8.8.8.8", 1), "copy keeps ranges");
	CHECKM(!allowed(c, "203.0.113.5", 22) && allowed(c, "203.0.113.5", 50000),
	    "copy keeps own addresses and relay ports");
	CHECKM(!allowed(c, "127.0.0.1", 1), "copy keeps the defaults");
	CHECK(peerpolicy_deny(c, "1.1.1.1", &cause) == 0);
	CHECK(peerpolicy_allow(c, "192.168.1.0/24", &cause) == 0);
	CHECKM(!allowed(c, "1.1.1.1", 1) && allowed(pp, "1.1.1.1", 1),
	    "deny added to the copy only");
	CHECKM(allowed(c, "192.168.1.9", 1) && !allowed(pp, "192.168.1.9", 1),
	    "allow added to the copy only");
	peerpolicy_free(c);
	c = peerpolicy_dup(pp);
	peerpolicy_free(pp);
	CHECKM(allowed(c, "10.0.0.7", 1), "copy outlives the original");
	peerpolicy_free(c);
}

int
main(void)
{
	test_parse();
	test_cause();
	test_defaults();
	test_loopback();
	test_precedence();
	test_own();
	test_dup();
	return unit_done();
}
