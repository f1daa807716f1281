/* The peer policy: range parsing, secure defaults, IPv4-in-IPv6 forms, precedence. */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
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
    "2001:0:a00:1::f7f7:f7f7", "2001:0:808:808::80ff:fffe",
    /* issue 17: discard, documentation, benchmarking, IETF, deprecated 6to4 anycast */
    "100::1", "2001:db8::1", "192.0.2.1", "198.51.100.1", "203.0.113.7", "198.18.0.1", "192.0.0.1",
    "192.88.99.1", "3fff::1", "5f00::1", "2001:2::1", "::ffff:8.8.8.8", "64:ff9b::192.0.2.1",
    "2002:c000:201::1", "64:ff9b::203.0.113.7"};

static const char *const public_peers[] = {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1",
    "169.253.255.255", "11.0.0.1", "223.255.255.255", "2001:4860:4860::8888", "192.0.0.9",
    "192.0.0.10", "2001:1::2", "2001:3::1", "2a00:1450::1", "::ffff:0:8.8.8.8", "::8.8.8.8",
    "64:ff9b::808:808", "2002:808:808::1", "2001:0:808:808::f7f7:f7f7", "fbff::1", "fe7f::1"};

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
	CHECKM(!allowed(pp, "::ffff:127.0.0.1", 9), "IPv4-mapped stays refused as a block");
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
	CHECKM(!allowed(pp, "::ffff:10.0.0.7", 1),
	    "mapped form of an allowed address: IPv4-mapped is refused as a block");
	CHECKM(allowed(pp, "64:ff9b::10.0.0.7", 1), "NAT64 form of an allowed address");
	CHECKM(!allowed(pp, "2001:db8::1", 1), "IPv6 deny range");
	CHECKM(allowed(pp, "fd00::5", 1), "IPv6 allow range");
	CHECKM(!allowed(pp, "fd00::a", 1), "past the IPv6 allow range");
	peerpolicy_free(pp);
}

static void
test_own(void)
{
	struct peerpolicy *pp = peerpolicy_create();

	CHECK(peerpolicy_add_own(pp, sa("11.0.0.5", 3478)) == 0);
	CHECK(peerpolicy_add_own(pp, sa("10.0.0.1", 3478)) == 0);
	CHECK(peerpolicy_add_own(pp, sa("2a01:4f8::5", 3478)) == 0);
	CHECKM(!allowed(pp, "11.0.0.5", 50000), "own address refused without relay ports");
	peerpolicy_set_relay_ports(pp, 49152, 65535);
	CHECKM(!allowed(pp, "11.0.0.5", 3478), "own address, listening port: refused");
	CHECKM(!allowed(pp, "11.0.0.5", 22), "own address, port 22: refused");
	CHECKM(allowed(pp, "11.0.0.5", 49152), "own address, first relay port: allowed");
	CHECKM(allowed(pp, "11.0.0.5", 65535), "own address, last relay port: allowed");
	CHECKM(allowed(pp, "10.0.0.1", 50000), "private own address on a relay port: allowed");
	CHECKM(!allowed(pp, "10.0.0.1", 3478), "private own address off the relay ports");
	CHECKM(!allowed(pp, "10.0.0.2", 50000), "another private address on a relay port");
	CHECKM(!allowed(pp, "::ffff:11.0.0.5", 3478) && !allowed(pp, "::ffff:11.0.0.5", 50000),
	    "mapped own address: refused like every IPv4-mapped address");
	CHECKM(!allowed(pp, "2002:b00:5::1", 3478), "6to4 form of the own address off relay ports");
	CHECKM(allowed(pp, "2002:b00:5::1", 50000), "6to4 form of the own address on a relay port");
	CHECKM(!allowed(pp, "2a01:4f8::5", 80), "own IPv6 address off relay ports");
	CHECKM(allowed(pp, "2a01:4f8::5", 60000), "own IPv6 address on a relay port");
	CHECKM(allowed(pp, "11.0.0.6", 80), "a neighbour of the own address");
	CHECKM(peerpolicy_port_matters(pp, sa("11.0.0.5", 1)) &&
		peerpolicy_port_matters(pp, sa("2a01:4f8::5", 1)) &&
		peerpolicy_port_matters(pp, sa("2002:c633:6407::1", 1)),
	    "own addresses and IPv4-embedding forms: the port is checked per packet");
	CHECKM(!peerpolicy_port_matters(pp, sa("11.0.0.6", 1)) &&
		!peerpolicy_port_matters(pp, sa("2a01:4f8::6", 1)),
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
	CHECK(peerpolicy_add_own(pp, sa("11.0.0.5", 3478)) == 0);
	peerpolicy_set_relay_ports(pp, 49152, 65535);
	c = peerpolicy_dup(pp);
	CHECK(c != NULL);
	CHECKM(allowed(c, "10.0.0.7", 1) && !allowed(c, "8.8.8.8", 1), "copy keeps ranges");
	CHECKM(!allowed(c, "11.0.0.5", 22) && allowed(c, "11.0.0.5", 50000),
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

/* One row of tests/data/iana-special-purpose.csv. */
struct iana_row {
	struct peerpolicy_range r;
	char block[64];
	char reach[8];   /* Globally Reachable: True, False or N/A */
	bool terminated; /* a termination date: the block is deprecated */
};

#define IANA_MAX 128

/* Field k (0-based) of a comma-separated line, copied into out. */
static bool
iana_field(const char *line, int k, char *out, size_t len)
{
	const char *p = line, *end;

	while (k-- > 0) {
		if ((p = strchr(p, ',')) == NULL)
			return false;
		p++;
	}
	end = strchr(p, ',');
	if (end == NULL)
		end = p + strcspn(p, "\n");
	if ((size_t)(end - p) >= len)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return true;
}

static int
iana_load(struct iana_row *rows)
{
	FILE *f = fopen(TEST_DATADIR "/iana-special-purpose.csv", "r");
	char line[512], term[32];
	const char *errstr;
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL && n < IANA_MAX) {
		if (strncmp(line, "ipv", 3) != 0)
			continue;
		if (!iana_field(line, 1, rows[n].block, sizeof rows[n].block) ||
		    !iana_field(line, 4, term, sizeof term) ||
		    !iana_field(line, 8, rows[n].reach, sizeof rows[n].reach) ||
		    peerpolicy_parse_range(rows[n].block, &rows[n].r, &errstr) != 0) {
			printf("# bad registry row: %s", line);
			n = -1;
			break;
		}
		rows[n].terminated = strcmp(term, "N/A") != 0;
		n++;
	}
	fclose(f);
	return n;
}

/* The most specific registry row holding the address (prefixes nest or are disjoint). */
static const struct iana_row *
iana_row_of(const struct iana_row *rows, int n, int family, const uint8_t *a)
{
	const struct iana_row *best = NULL;
	size_t len = family == AF_INET ? 4 : 16;
	int i;

	for (i = 0; i < n; i++) {
		const struct peerpolicy_range *r = &rows[i].r;

		if (r->family != family || memcmp(r->lo, a, len) > 0 || memcmp(r->hi, a, len) < 0)
			continue;
		if (best == NULL ||
		    (memcmp(r->lo, best->r.lo, len) >= 0 && memcmp(r->hi, best->r.hi, len) <= 0))
			best = &rows[i];
	}
	return best;
}

static const struct sockaddr *
sa_bytes(int family, const uint8_t *a)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family, a, text, sizeof text);
	return sa(text, 5000);
}

/*
 * What the registry says of one address: 1 allowed, 0 refused, -1 not decided
 * here (Teredo and 6to4 carry an IPv4 address: test_defaults covers them). A
 * NAT64 address (64:ff9b::/96) is decided by the IPv4 address it carries.
 */
static int
iana_expect(const struct iana_row *rows, int n, int family, const uint8_t *a,
    const struct iana_row **rowp)
{
	const struct iana_row *row = iana_row_of(rows, n, family, a), *v4;

	*rowp = row;
	if (row == NULL)
		return 1;
	if (strcmp(row->reach, "N/A") == 0)
		return row->terminated ? 0 : -1;
	if (strcmp(row->block, "64:ff9b::/96") == 0) {
		v4 = iana_row_of(rows, n, AF_INET, a + 12);
		return v4 == NULL || strcmp(v4->reach, "True") == 0;
	}
	return strcmp(row->reach, "True") == 0;
}

static void
iana_check_addr(const struct peerpolicy *pp, const struct iana_row *rows, int n, int family,
    const uint8_t *a)
{
	const struct iana_row *row;
	const char *reason = NULL;
	char text[INET6_ADDRSTRLEN], msg[256];
	int want = iana_expect(rows, n, family, a, &row);
	bool ok;

	if (want == -1 || row == NULL)
		return;
	inet_ntop(family, a, text, sizeof text);
	ok = peerpolicy_check(pp, sa_bytes(family, a), &reason);
	snprintf(msg, sizeof msg, "registry %s (globally reachable %s%s): %s %s", row->block,
	    row->reach, row->terminated ? ", terminated" : "", text, want ? "allowed" : "refused");
	CHECKM(ok == (want == 1), msg);
}

/* Every registry block: its first and last addresses, and for a reachable one an inner one. */
static void
test_registry(void)
{
	static struct iana_row rows[IANA_MAX];
	struct peerpolicy *pp = peerpolicy_create();
	uint8_t a[16];
	int i, n = iana_load(rows), v4 = 0;

	CHECKM(n >= 50, "the registry table has both registries' rows");
	for (i = 0; i < n; i++) {
		const struct peerpolicy_range *r = &rows[i].r;
		size_t len = r->family == AF_INET ? 4 : 16;

		v4 += r->family == AF_INET;
		iana_check_addr(pp, rows, n, r->family, r->lo);
		iana_check_addr(pp, rows, n, r->family, r->hi);
		/* An address inside that carries a public IPv4 (11.0.0.1) in its last bits. */
		memcpy(a, r->lo, len);
		if (len == 16 && memcmp(r->lo, r->hi, 12) == 0 && r->lo[12] != r->hi[12]) {
			memcpy(a + 12, "\x0b\x00\x00\x01", 4);
		} else if (len == 16 && memcmp(r->lo, r->hi, 12) != 0)
			memcpy(a + 12, "\x0b\x00\x00\x01", 4);
		else
			a[len - 1] |= (uint8_t)(r->hi[len - 1] != r->lo[len - 1]);
		iana_check_addr(pp, rows, n, r->family, a);
	}
	CHECKM(v4 > 20 && n - v4 > 20, "IPv4 and IPv6 registries both present");
	peerpolicy_free(pp);
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
	test_registry();
	return unit_done();
}
