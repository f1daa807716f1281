/* Unit tests for the client-to-balancer table of UDP behind PROXY protocol v2. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "turnpike/proxymap.h"
#include "unit.h"

static struct sockaddr_storage
v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof ss);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void
test_put_get(void)
{
	struct proxymap *m = proxymap_create(4);
	struct sockaddr_storage c1 = v4("192.0.2.1", 1000), c2 = v4("192.0.2.1", 1001);
	struct sockaddr_storage lb1 = v4("10.0.0.1", 40000), lb2 = v4("10.0.0.1", 40001);
	struct sockaddr_storage c[5];
	const struct sockaddr *via;
	int i;

	CHECK(m != NULL);
	CHECKM(proxymap_get(m, SA(c1)) == NULL, "an unknown client came directly");
	CHECK(proxymap_get(NULL, SA(c1)) == NULL);
	CHECK(proxymap_put(m, SA(c1), SA(lb1), 1000) == 0);
	CHECK(proxymap_put(m, SA(c2), SA(lb2), 1000) == 0);
	via = proxymap_get(m, SA(c1));
	CHECKM(via != NULL && memcmp(via, &lb1, sizeof(struct sockaddr_in)) == 0,
	    "the client's answers go to its balancer flow");
	via = proxymap_get(m, SA(c2));
	CHECKM(via != NULL && memcmp(via, &lb2, sizeof(struct sockaddr_in)) == 0,
	    "another port of the same IP is another client");
	CHECK(proxymap_put(m, SA(c1), SA(lb2), 2000) == 0 && proxymap_count(m) == 2);
	via = proxymap_get(m, SA(c1));
	CHECKM(via != NULL && memcmp(via, &lb2, sizeof(struct sockaddr_in)) == 0,
	    "a new flow for the same client replaces the old one");
	for (i = 0; i < 5; i++)
		c[i] = v4("198.51.100.1", (uint16_t)(2000 + i));
	CHECK(proxymap_put(m, SA(c[0]), SA(lb1), 1000) == 0);
	CHECK(proxymap_put(m, SA(c[1]), SA(lb1), 1000) == 0);
	CHECKM(proxymap_put(m, SA(c[2]), SA(lb1), 1000) == -1, "a full table refuses new clients");
	CHECK(proxymap_put(m, SA(c1), SA(lb1), 5000) == 0);
	proxymap_expire(m, 5000, 3000);
	CHECKM(proxymap_count(m) == 1 && proxymap_get(m, SA(c1)) != NULL &&
		proxymap_get(m, SA(c2)) == NULL && proxymap_get(m, SA(c[0])) == NULL,
	    "clients idle for longer than idle_ms are forgotten, others kept");
	for (i = 0; i < 3; i++)
		CHECK(proxymap_put(m, SA(c[i]), SA(lb2), 6000) == 0);
	CHECKM(proxymap_count(m) == 4, "expired slots are reused");
	proxymap_expire(m, 1000000, 1);
	CHECK(proxymap_count(m) == 0);
	proxymap_free(m);
	proxymap_free(NULL);
	CHECK(proxymap_create(0) == NULL);
}

int
main(void)
{
	test_put_get();
	return unit_done();
}
