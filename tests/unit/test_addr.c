/* Unit tests for address parsing and formatting. */
#include "turnpike/addr.h"
#include "unit.h"

static bool
fmt_is(const char *in, uint16_t defport, const char *want)
{
	struct sockaddr_storage ss;
	const char *err = NULL;
	char out[ADDR_STRLEN];

	if (addr_parse(in, defport, &ss, &err) == -1)
		return false;
	addr_fmt((struct sockaddr *)&ss, true, out, sizeof(out));
	return strcmp(out, want) == 0;
}

static bool
parse_fails(const char *in)
{
	struct sockaddr_storage ss;
	const char *err = NULL;

	return addr_parse(in, 1, &ss, &err) == -1 && err != NULL;
}

static void
test_parse(void)
{
	CHECK(fmt_is("127.0.0.1", 3478, "127.0.0.1:3478"));
	CHECK(fmt_is("127.0.0.1:5", 3478, "127.0.0.1:5"));
	CHECK(fmt_is("::1", 3478, "[::1]:3478"));
	CHECK(fmt_is("[::1]:9", 3478, "[::1]:9"));
	CHECK(fmt_is("[2001:db8::1]", 7, "[2001:db8::1]:7"));
	CHECK(fmt_is("::ffff:1.2.3.4", 1, "[::ffff:1.2.3.4]:1"));
	CHECK(parse_fails(""));
	CHECK(parse_fails("localhost"));
	CHECK(parse_fails("1.2.3.4:"));
	CHECK(parse_fails("1.2.3.4:65536"));
	CHECK(parse_fails("1.2.3.4:-1"));
	CHECK(parse_fails("1.2.3.256"));
	CHECK(parse_fails("[::1"));
	CHECK(parse_fails("[::1]x"));
	CHECK(parse_fails("[::1]:"));
	CHECK(parse_fails("[1.2.3.4:5"));
}

static void
test_compare(void)
{
	struct sockaddr_storage a, b, c;
	const char *err;
	char ip[ADDR_STRLEN];

	addr_parse("10.0.0.1:1", 0, &a, &err);
	addr_parse("10.0.0.1:2", 0, &b, &err);
	addr_parse("[::1]:1", 0, &c, &err);
	CHECK(addr_equal_ip((struct sockaddr *)&a, (struct sockaddr *)&b));
	CHECK(!addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	CHECK(!addr_equal_ip((struct sockaddr *)&a, (struct sockaddr *)&c));
	CHECK(addr_hash((struct sockaddr *)&a, 1) != addr_hash((struct sockaddr *)&b, 1));
	CHECK(addr_hash((struct sockaddr *)&a, 1) == addr_hash((struct sockaddr *)&a, 1));
	addr_set_port((struct sockaddr *)&b, 1);
	CHECK(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	CHECK(addr_port((struct sockaddr *)&c) == 1);
	CHECK(addr_len((struct sockaddr *)&c) == sizeof(struct sockaddr_in6));
	CHECK(addr_is_v6((struct sockaddr *)&c) && !addr_is_v6((struct sockaddr *)&a));
	CHECK(strcmp(addr_fmt((struct sockaddr *)&c, false, ip, sizeof(ip)), "::1") == 0);
	CHECK(addr_parse_ip("0.0.0.0", &a, &err) == 0 && addr_is_any((struct sockaddr *)&a));
	CHECK(addr_parse_ip("::", &a, &err) == 0 && addr_is_any((struct sockaddr *)&a));
	CHECK(addr_parse_ip("::1", &a, &err) == 0 && !addr_is_any((struct sockaddr *)&a));
	CHECK(addr_parse_ip("1.2.3.4:5", &a, &err) == -1);
}

static void
test_unmap(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	const struct sockaddr *out;
	const char *err;
	char buf[ADDR_STRLEN];

	addr_parse("[::ffff:192.0.2.7]:4000", 0, &ss, &err);
	out = addr_unmap_v4((struct sockaddr *)&ss, &sin);
	CHECKM(out == (struct sockaddr *)&sin &&
		strcmp(addr_fmt(out, true, buf, sizeof(buf)), "192.0.2.7:4000") == 0,
	    "IPv4-mapped address unmapped with its port");
	addr_parse("[2001:db8::1]:5", 0, &ss, &err);
	CHECK(addr_unmap_v4((struct sockaddr *)&ss, &sin) == (struct sockaddr *)&ss);
	addr_parse("10.0.0.1:5", 0, &ss, &err);
	CHECK(addr_unmap_v4((struct sockaddr *)&ss, &sin) == (struct sockaddr *)&ss);
}

/* The key per-source limits count under (issue 17). */
static void
test_limit_key(void)
{
	struct sockaddr_storage a, b;
	uint8_t ka[ADDR_LIMIT_KEY_MAX], kb[ADDR_LIMIT_KEY_MAX];
	const char *errstr;

	addr_parse("192.0.2.1:5", 0, &a, &errstr);
	addr_parse("[::ffff:192.0.2.1]:6", 0, &b, &errstr);
	CHECKM(addr_limit_key((struct sockaddr *)&a, ka) == 4 &&
		addr_limit_key((struct sockaddr *)&b, kb) == 4 && memcmp(ka, kb, 4) == 0,
	    "IPv4 and its mapped form: one key of 4 bytes");
	addr_parse("[2001:db8:1:2::1]:5", 0, &a, &errstr);
	addr_parse("[2001:db8:1:2:ffff::9]:5", 0, &b, &errstr);
	CHECKM(addr_limit_key((struct sockaddr *)&a, ka) == 8 &&
		addr_limit_key((struct sockaddr *)&b, kb) == 8 && memcmp(ka, kb, 8) == 0,
	    "IPv6: the /64");
	a.ss_family = AF_UNIX;
	CHECK(addr_limit_key((struct sockaddr *)&a, ka) == 0);
}

int
main(void)
{
	test_parse();
	test_compare();
	test_unmap();
	test_limit_key();
	return unit_done();
}
