/* Live stream connections per source address and in total (issue 17). */
#include "config.h"

#include "turnpike/addr.h"
#include "turnpike/connlimit.h"
#include "unit.h"

static struct sockaddr_storage
sa(const char *text)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (addr_parse(text, 1, &ss, &errstr) != 0)
		abort();
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void
test_per_ip(void)
{
	struct connlimit *cl = connlimit_create(3, 0);
	struct sockaddr_storage a = sa("127.0.0.2:1000"), a2 = sa("127.0.0.2:2000");
	struct sockaddr_storage b = sa("127.0.0.3:1000");
	size_t from, i;

	CHECK(cl != NULL);
	for (i = 0; i < 3; i++)
		CHECK(connlimit_take(cl, i == 1 ? SA(a2) : SA(a)) == CONNLIMIT_OK);
	CHECKM(connlimit_take(cl, SA(a)) == CONNLIMIT_PER_IP, "the 4th from one address: refused");
	CHECKM(connlimit_take(cl, SA(b)) == CONNLIMIT_OK, "another address still connects");
	CHECKM(connlimit_count(cl, SA(a), &from) == 4 && from == 3, "3 from it, 4 in all");
	connlimit_release(cl, SA(a2));
	CHECKM(connlimit_take(cl, SA(a)) == CONNLIMIT_OK, "a place given back is taken again");
	for (i = 0; i < 3; i++)
		connlimit_release(cl, SA(a));
	connlimit_release(cl, SA(b));
	CHECKM(connlimit_count(cl, SA(a), &from) == 0 && from == 0, "all given back");
	connlimit_free(cl);
	connlimit_free(NULL);
}

static void
test_v6_prefix(void)
{
	struct connlimit *cl = connlimit_create(1, 0);
	struct sockaddr_storage a = sa("[2001:db8:1:2::1]:5"), b = sa("[2001:db8:1:2::ffff]:5");
	struct sockaddr_storage c = sa("[2001:db8:1:3::1]:5"), m = sa("[::ffff:192.0.2.1]:5");
	struct sockaddr_storage v4 = sa("192.0.2.1:6");

	CHECK(connlimit_take(cl, SA(a)) == CONNLIMIT_OK);
	CHECKM(connlimit_take(cl, SA(b)) == CONNLIMIT_PER_IP, "IPv6: one /64 is one source");
	CHECKM(connlimit_take(cl, SA(c)) == CONNLIMIT_OK, "another /64 is another");
	CHECK(connlimit_take(cl, SA(v4)) == CONNLIMIT_OK);
	CHECKM(connlimit_take(cl, SA(m)) == CONNLIMIT_PER_IP,
	    "an IPv4-mapped address counts as its IPv4 address");
	connlimit_free(cl);
}

static void
test_total(void)
{
	struct connlimit *cl = connlimit_create(0, 2);
	struct sockaddr_storage a = sa("127.0.0.2:1"), b = sa("127.0.0.3:1");
	size_t from;

	CHECK(
	    connlimit_take(cl, SA(a)) == CONNLIMIT_OK && connlimit_take(cl, SA(a)) == CONNLIMIT_OK);
	CHECKM(connlimit_take(cl, SA(b)) == CONNLIMIT_TOTAL,
	    "the stream clients' share is taken: refused from any address");
	connlimit_set_total(cl, 3);
	CHECKM(connlimit_take(cl, SA(b)) == CONNLIMIT_OK, "a larger share lets one more in");
	CHECKM(connlimit_count(cl, SA(a), &from) == 3 && from == 2, "per_ip 0: unlimited");
	connlimit_free(cl);
}

int
main(void)
{
	test_per_ip();
	test_v6_prefix();
	test_total();
	return unit_done();
}
