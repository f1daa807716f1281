/* udpio: batched sends over real loopback sockets, with and without UDP GSO. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include "turnpike/udpio.h"
#include "unit.h"

/* A UDP socket on ip:0 (non-blocking); its address in out. */
static int
sock_on(const char *ip, struct sockaddr_in *out)
{
	socklen_t len = sizeof *out;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &out->sin_addr);
	if (fd == -1 || bind(fd, (struct sockaddr *)out, sizeof *out) != 0 ||
	    getsockname(fd, (struct sockaddr *)out, &len) != 0)
		return -1;
	return fd;
}

/* The next datagram on fd within a second: its length (-1: none), sender in from. */
static ssize_t
recv_one(int fd, uint8_t *buf, size_t cap, struct sockaddr_in *from)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	socklen_t len = sizeof *from;

	if (poll(&p, 1, 1000) != 1)
		return -1;
	return recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)from, &len);
}

/* Whether nothing more is waiting on fd (after a short grace). */
static bool
drained(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 50) == 0;
}

/* Datagram payload: its length and index in every byte, so order and bounds show. */
static void
fill(uint8_t *buf, size_t len, int idx)
{
	memset(buf, (int)(len + (size_t)idx) & 0xff, len);
}

static bool
matches(const uint8_t *buf, ssize_t got, size_t len, int idx)
{
	uint8_t want[4096];

	if (got != (ssize_t)len)
		return false;
	fill(want, len, idx);
	return memcmp(buf, want, len) == 0;
}

struct plan {
	int from; /* 0: sender a, 1: sender b */
	int to;   /* 0: receiver r1, 1: receiver r2 */
	size_t len;
};

/*
 * The same queue twice, with GSO allowed and not: every datagram arrives with
 * its own bounds and bytes, in order per receiver, and GSO merges the runs.
 */
static void
test_mixed(bool gso)
{
	static const struct plan p[] = {
	    {0, 0, 100},
	    {0, 0, 100},
	    {0, 0, 100},
	    {0, 0, 100},
	    {0, 0, 100},
	    {0, 0, 60},
	    {0, 1, 100},
	    {1, 0, 100},
	    {0, 0, 100},
	    {0, 0, 100},
	    {0, 0, 100},
	    {0, 0, 2000},
	    {0, 0, 2000},
	    {0, 0, 0},
	};
	const size_t n = sizeof p / sizeof p[0];
	struct sockaddr_in sa, sb, r[2], from;
	int a = sock_on("127.0.0.1", &sa), b = sock_on("127.0.0.1", &sb), rfd[2];
	struct udpio_tx *tx = udpio_tx_create(gso);
	struct udpio_tx_stats st;
	uint8_t buf[4096];
	bool ok[2] = {true, true};
	int next[2] = {0, 0}, i, k;
	uint64_t calls;
	ssize_t got;

	rfd[0] = sock_on("127.0.0.1", &r[0]);
	rfd[1] = sock_on("127.0.0.1", &r[1]);
	CHECK(a != -1 && b != -1 && rfd[0] != -1 && rfd[1] != -1 && tx != NULL);
	for (i = 0; i < (int)n; i++) {
		fill(buf, p[i].len, i);
		if (udpio_tx_queue(tx, p[i].from == 0 ? a : b, NULL,
			(const struct sockaddr *)&r[p[i].to], buf, p[i].len) != 0)
			ok[0] = false;
	}
	CHECKM(ok[0], "every datagram queued");
	udpio_tx_get_stats(tx, &st);
	CHECKM(st.datagrams == 0 && st.calls == 0, "queued, not yet sent");
	CHECKM(drained(rfd[0]), "nothing leaves before the flush");
	CHECKM(udpio_tx_flush(tx) == 0, "the flush: none refused");
	udpio_tx_get_stats(tx, &st);
	calls = st.calls;
	udpio_tx_flush(tx);
	udpio_tx_get_stats(tx, &st);
	CHECKM(st.calls == calls, "the queue is empty after it: a second flush sends nothing");
	ok[0] = true;
	/* Each receiver gets its datagrams in queue order, one recv each. */
	for (k = 0; k < 2; k++) {
		for (i = 0; i < (int)n; i++) {
			if (p[i].to != k)
				continue;
			got = recv_one(rfd[k], buf, sizeof buf, &from);
			if (!matches(buf, got, p[i].len, i) ||
			    from.sin_port != (p[i].from == 0 ? sa.sin_port : sb.sin_port))
				ok[k] = false;
			next[k]++;
		}
		ok[k] = ok[k] && drained(rfd[k]);
	}
	CHECKM(ok[0] && next[0] == 13,
	    gso ? "GSO on: the 13 datagrams to r1 arrive whole, in order, from their senders"
		: "GSO off: the 13 datagrams to r1 arrive whole, in order, from their senders");
	CHECKM(ok[1] && next[1] == 1, "the one datagram to r2 arrives");
	udpio_tx_get_stats(tx, &st);
	CHECKM(st.datagrams == n && st.dropped == 0, "stats: 14 datagrams handed over, 0 refused");
	/*
	 * Messages: [5x100 + 60] [100 to r2] | [b: 100] | [3x100] [2000] [2000] [0]:
	 * one sendmmsg per change of socket.
	 */
	CHECKM(st.calls == 3, "3 sendmmsg calls: one per run of one socket");
	if (gso)
		CHECKM(st.gso == 2, "GSO on: 2 merged messages (6 and 3 datagrams)");
	else
		CHECKM(st.gso == 0, "GSO off: no merged message");
	udpio_tx_free(tx);
	close(a);
	close(b);
	close(rfd[0]);
	close(rfd[1]);
}

/* More than a queue holds: it flushes itself, and nothing is lost. */
static void
test_full(void)
{
	struct sockaddr_in sa, r, from;
	int a = sock_on("127.0.0.1", &sa), rfd = sock_on("127.0.0.1", &r), i, good = 0;
	struct udpio_tx *tx = udpio_tx_create(true);
	struct udpio_tx_stats st;
	uint8_t buf[256];
	const int n = UDPIO_TX_SLOTS + 10;

	CHECK(a != -1 && rfd != -1 && tx != NULL);
	for (i = 0; i < n; i++) {
		fill(buf, 80 + (size_t)(i % 2), i); /* sizes alternate: runs of at most 2 */
		udpio_tx_queue(tx, a, NULL, (const struct sockaddr *)&r, buf, 80 + (size_t)(i % 2));
	}
	udpio_tx_get_stats(tx, &st);
	CHECKM(st.datagrams == UDPIO_TX_SLOTS, "a full queue was flushed when the next came");
	udpio_tx_flush(tx);
	for (i = 0; i < n; i++)
		if (matches(buf, recv_one(rfd, buf, sizeof buf, &from), 80 + (size_t)(i % 2), i))
			good++;
	CHECKM(good == n, "all 74 datagrams arrive in order");
	udpio_tx_free(tx);
	close(a);
	close(rfd);
}

/* A refused datagram is counted; its neighbours still leave. */
static void
test_refused(void)
{
	struct sockaddr_in sa, r, from;
	int a = sock_on("127.0.0.1", &sa), rfd = sock_on("127.0.0.1", &r), dead;
	struct udpio_tx *tx = udpio_tx_create(true);
	struct udpio_tx_stats st;
	uint8_t buf[256];
	struct sockaddr_in sd;

	dead = sock_on("127.0.0.1", &sd);
	close(dead); /* a descriptor number that is no longer open */
	CHECK(a != -1 && rfd != -1 && tx != NULL);
	fill(buf, 50, 0);
	udpio_tx_queue(tx, a, NULL, (const struct sockaddr *)&r, buf, 50);
	udpio_tx_queue(tx, dead, NULL, (const struct sockaddr *)&r, buf, 50);
	udpio_tx_queue(tx, dead, NULL, (const struct sockaddr *)&r, buf, 50); /* a GSO run */
	fill(buf, 50, 3);
	udpio_tx_queue(tx, a, NULL, (const struct sockaddr *)&r, buf, 50);
	CHECKM(udpio_tx_flush(tx) == 2, "the flush reports 2 refused (bad descriptor)");
	udpio_tx_get_stats(tx, &st);
	CHECKM(st.datagrams == 2 && st.dropped == 2, "stats: 2 sent, 2 refused");
	CHECKM(matches(buf, recv_one(rfd, buf, sizeof buf, &from), 50, 0) &&
		matches(buf, recv_one(rfd, buf, sizeof buf, &from), 50, 3) && drained(rfd),
	    "the two good datagrams arrive");
	errno = 0;
	CHECKM(udpio_tx_queue(tx, a, NULL, (const struct sockaddr *)&r, buf, 65536) == -1 &&
		errno == EMSGSIZE,
	    "a datagram over 65535 bytes is refused with EMSGSIZE");
	udpio_tx_free(tx);
	close(a);
	close(rfd);
}

/* From a wildcard socket with a chosen source address, singly and as a GSO run. */
static void
test_source(void)
{
	struct sockaddr_in any, r, src, from;
	int w = sock_on("0.0.0.0", &any), rfd = sock_on("127.0.0.1", &r), i, good = 0;
	struct udpio_tx *tx = udpio_tx_create(true);
	struct udpio_tx_stats st;
	uint8_t buf[256];

	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.2", &src.sin_addr);
	CHECK(w != -1 && rfd != -1 && tx != NULL);
	for (i = 0; i < 4; i++) {
		fill(buf, 100, i);
		udpio_tx_queue(tx, w, (const struct sockaddr *)&src, (const struct sockaddr *)&r,
		    buf, 100);
	}
	udpio_tx_flush(tx);
	for (i = 0; i < 4; i++)
		if (matches(buf, recv_one(rfd, buf, sizeof buf, &from), 100, i) &&
		    from.sin_addr.s_addr == src.sin_addr.s_addr && from.sin_port == any.sin_port)
			good++;
	CHECKM(good == 4, "4 datagrams from 127.0.0.2 on the wildcard socket's port");
	udpio_tx_get_stats(tx, &st);
	CHECKM(st.gso == 1 && st.calls == 1, "one call, one GSO message with a source address");
	udpio_tx_free(tx);
	close(w);
	close(rfd);
}

int
main(void)
{
	test_mixed(true);
	test_mixed(false);
	test_full();
	test_refused();
	test_source();
	return unit_done();
}
