/* The relay port pool: range, randomness, even ports, pairs, reservations, expiry. */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/portpool.h"
#include "unit.h"

static void
test_range(void)
{
	struct portpool *pp = portpool_create(50000, 50009, 2);
	bool seen[10] = {false};
	uint16_t port, ports[10];
	size_t i;
	int ok = 1;

	CHECK(pp != NULL);
	for (i = 0; i < 10; i++) {
		ok &= portpool_get(pp, 0, false, false, &ports[i]) == 0 && ports[i] >= 50000 &&
		    ports[i] <= 50009 && !seen[ports[i] - 50000];
		if (ports[i] >= 50000 && ports[i] <= 50009)
			seen[ports[i] - 50000] = true;
	}
	CHECKM(ok, "every port of the range once, none outside it");
	CHECKM(portpool_get(pp, 0, false, false, &port) == -1, "a full address has no port");
	CHECK(portpool_used(pp, 0) == 10);
	CHECKM(portpool_get(pp, 1, false, false, &port) == 0, "the other address is separate");
	CHECKM(portpool_get(pp, 2, false, false, &port) == -1, "an unknown address has none");
	portpool_put(pp, 0, ports[3]);
	CHECKM(portpool_get(pp, 0, false, false, &port) == 0 && port == ports[3],
	    "a port given back is found again");
	portpool_put(pp, 0, 40000);
	CHECKM(portpool_used(pp, 0) == 10, "a port outside the range is ignored");
	portpool_free(pp);
	CHECK(portpool_create(6, 5, 1) == NULL);
	portpool_free(NULL);
}

/* Over many draws every port of a small range shows up: picks are random. */
static void
test_random(void)
{
	struct portpool *pp = portpool_create(40000, 40063, 1);
	unsigned int hits[64] = {0};
	uint16_t port;
	int i, ok = 1;

	for (i = 0; i < 6400; i++) {
		if (portpool_get(pp, 0, false, false, &port) != 0)
			ok = 0;
		else {
			hits[port - 40000]++;
			portpool_put(pp, 0, port);
		}
	}
	for (i = 0; i < 64; i++)
		ok &= hits[i] > 20 && hits[i] < 300;
	CHECKM(ok, "6400 draws spread over the 64 ports");
	portpool_free(pp);
}

static void
test_even(void)
{
	struct portpool *pp = portpool_create(49999, 50004, 1);
	uint16_t p1, p2, p3, port;

	CHECK(portpool_get(pp, 0, true, false, &p1) == 0 && p1 % 2 == 0);
	CHECK(portpool_get(pp, 0, true, false, &p2) == 0 && p2 % 2 == 0 && p2 != p1);
	CHECK(portpool_get(pp, 0, true, false, &p3) == 0 && p3 % 2 == 0 && p3 != p1 && p3 != p2);
	CHECKM(portpool_get(pp, 0, true, false, &port) == -1, "three even ports in 49999-50004");
	CHECKM(portpool_get(pp, 0, false, false, &port) == 0 && port % 2 == 1,
	    "odd ports remain for plain requests");
	portpool_free(pp);

	pp = portpool_create(50000, 50004, 1);
	CHECK(portpool_get(pp, 0, true, true, &p1) == 0 && p1 % 2 == 0 && p1 + 1 <= 50004);
	CHECK(portpool_get(pp, 0, true, true, &p2) == 0 && p2 % 2 == 0 && p2 != p1);
	CHECKM(portpool_get(pp, 0, true, true, &port) == -1, "50004 has no successor in range");
	CHECK(portpool_used(pp, 0) == 4);
	CHECKM(portpool_get(pp, 0, false, false, &port) == 0 && port == 50004, "the last one");
	portpool_free(pp);

	pp = portpool_create(50001, 50001, 1);
	CHECKM(portpool_get(pp, 0, true, false, &port) == -1, "no even port in a one-odd range");
	portpool_free(pp);
}

static int
open_fd(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void
test_reservation(void)
{
	struct portpool *pp = portpool_create(50000, 50099, 2);
	uint64_t tok, tok2;
	uint16_t p, port;
	size_t addr;
	int fd = open_fd(), fd2 = open_fd(), got;

	CHECK(portpool_get(pp, 1, true, true, &p) == 0);
	CHECK(portpool_reserve(pp, 1, (uint16_t)(p + 1), fd, 1000, &tok) == 0 && tok != 0);
	CHECK(portpool_reserve(pp, 0, 50050, fd2, 1000, &tok2) == 0 && tok2 != tok);
	CHECKM(portpool_claim(pp, tok ^ 1, 2000, &addr, &port, &got) == -1,
	    "an unknown token is refused");
	CHECKM(portpool_claim(pp, tok, 2000, &addr, &port, &got) == 0 && addr == 1 &&
		port == p + 1 && got == fd,
	    "the token gives the reserved address, port and socket");
	CHECKM(portpool_claim(pp, tok, 2000, &addr, &port, &got) == -1, "only once");
	CHECKM(portpool_used(pp, 1) == 2, "a claimed port stays in use");
	CHECKM(portpool_claim(pp, tok2, 1000 + PORTPOOL_RESERVE_MS, &addr, &port, &got) == -1,
	    "a token past its 30 s is refused");
	portpool_expire(pp, 1000 + PORTPOOL_RESERVE_MS - 1);
	CHECKM(fd_open(fd2), "not expired a millisecond early");
	portpool_expire(pp, 1000 + PORTPOOL_RESERVE_MS);
	CHECKM(!fd_open(fd2), "expiry closes the held socket");
	close(fd);
	portpool_free(pp);

	pp = portpool_create(50000, 50099, 1);
	fd = open_fd();
	CHECK(portpool_get(pp, 0, false, false, &p) == 0);
	CHECK(portpool_reserve(pp, 0, p, fd, 0, &tok) == 0);
	portpool_free(pp);
	CHECKM(!fd_open(fd), "freeing the pool closes what reservations hold");
}

static void
test_expire_frees(void)
{
	struct portpool *pp = portpool_create(50000, 50001, 1);
	uint64_t tok;
	uint16_t p, port;

	CHECK(portpool_get(pp, 0, true, true, &p) == 0 && p == 50000);
	CHECK(portpool_reserve(pp, 0, 50001, open_fd(), 0, &tok) == 0);
	portpool_put(pp, 0, 50000);
	CHECKM(portpool_get(pp, 0, false, false, &port) == 0 && port == 50000,
	    "the reserved port is not handed out");
	CHECK(portpool_get(pp, 0, false, false, &port) == -1);
	portpool_expire(pp, PORTPOOL_RESERVE_MS);
	CHECKM(portpool_get(pp, 0, false, false, &port) == 0 && port == 50001,
	    "an expired reservation gives its port back");
	portpool_free(pp);
}

struct hammer {
	struct portpool *pp;
	int bad;
};

static void *
hammer_run(void *arg)
{
	struct hammer *h = arg;
	uint16_t ports[50];
	int round, i;

	for (round = 0; round < 200; round++) {
		for (i = 0; i < 50; i++) {
			if (portpool_get(h->pp, 0, false, false, &ports[i]) != 0)
				h->bad++;
		}
		for (i = 0; i < 50; i++)
			portpool_put(h->pp, 0, ports[i]);
	}
	return NULL;
}

/* Four threads sharing 200 ports, 50 each at a time: never short, never shared. */
static void
test_threads(void)
{
	struct portpool *pp = portpool_create(50000, 50199, 1);
	struct hammer h[4];
	pthread_t t[4];
	int i, bad = 0;

	for (i = 0; i < 4; i++) {
		h[i].pp = pp;
		h[i].bad = 0;
		pthread_create(&t[i], NULL, hammer_run, &h[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		bad += h[i].bad;
	}
	CHECKM(bad == 0 && portpool_used(pp, 0) == 0, "concurrent get and put stay consistent");
	portpool_free(pp);
}

int
main(void)
{
	test_range();
	test_random();
	test_even();
	test_reservation();
	test_expire_frees();
	test_threads();
	return unit_done();
}
