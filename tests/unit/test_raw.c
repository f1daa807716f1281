/* Unit tests for src/bench/raw.c: the seeded garbage generator (no sockets). */
#include <stdint.h>
#include <string.h>

#include "turnpike/raw.h"
#include "turnpike/stun.h"
#include "unit.h"

/* The same seed replays the same datagrams. */
static void
test_replay(void)
{
	uint8_t a[1500], b[1500];
	uint64_t s1 = 42, s2 = 42;
	size_t i, la, lb;
	bool same = true;

	for (i = 0; i < 500; i++) {
		la = raw_garbage(&s1, a, sizeof(a));
		lb = raw_garbage(&s2, b, sizeof(b));
		if (la != lb || memcmp(a, b, la) != 0)
			same = false;
	}
	CHECKM(same, "a seed replays its datagrams");
}

/* Bounded sizes, and the kinds the robustness test relies on all show up. */
static void
test_variety(void)
{
	uint8_t p[1500];
	uint64_t s = 7;
	size_t i, len, empty = 0, one = 0, stunlike = 0, chan = 0, big = 0;
	bool bounded = true;

	for (i = 0; i < 5000; i++) {
		len = raw_garbage(&s, p, sizeof(p));
		bounded = bounded && len <= sizeof(p);
		empty += len == 0;
		one += len == 1;
		big += len > 1000;
		stunlike += len >= STUN_HEADER_LEN && stun_is_stun(p, len);
		chan += len >= 4 && (p[0] & 0xc0) == 0x40;
	}
	CHECKM(bounded, "no datagram beyond 1500 bytes");
	CHECKM(empty > 0, "empty datagrams");
	CHECKM(one > 0, "one-byte datagrams");
	CHECKM(big > 0, "large datagrams");
	CHECKM(stunlike > 1000, "many STUN-looking datagrams");
	CHECKM(chan > 0, "ChannelData-looking datagrams");
}

static void
test_small_cap(void)
{
	uint8_t p[40];
	uint64_t s = 1;
	size_t i;
	bool ok = true;

	for (i = 0; i < 1000; i++)
		ok = ok && raw_garbage(&s, p, sizeof(p)) <= sizeof(p);
	CHECKM(ok, "never writes past a small buffer");
}

int
main(void)
{
	test_replay();
	test_variety();
	test_small_cap();
	return unit_done();
}
