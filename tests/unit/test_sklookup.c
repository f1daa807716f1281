/*
 * Relay ports without a socket each: the sk_lookup program on crafted
 * lookups (BPF_PROG_TEST_RUN), then shared relay sockets end to end on
 * loopback in a network namespace of the test's own: a claimed port reaches
 * the shared socket with its original destination; a released port does not; datagrams sent from a relay port carry
 * it as their source and a valid checksum, over IPv4 and IPv6; a port held
 * by another socket of the host is refused.
 * Needs root and BPF; otherwise the whole file is skipped with the reason.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "turnpike/addr.h"
#include "turnpike/portpool.h"
#include "turnpike/relayaddr.h"
#include "turnpike/relayshared.h"
#include "turnpike/sklookup.h"
#include "unit.h"

#ifdef HAVE_FASTPATH
#include <linux/bpf.h>
#include <bpf/bpf.h>

#define PORT_MIN 20000
#define PORT_MAX 20063

static void
set_sa(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else {
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
		s6->sin6_port = htons(port);
	}
}

static int
udp_bound(const char *ip, uint16_t port)
{
	struct timeval tv = {2, 0}; /* a lost datagram fails a check instead of hanging */
	struct sockaddr_storage ss;
	int fd, one = 1;

	set_sa(&ss, ip, port);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (fd == -1 || bind(fd, (struct sockaddr *)&ss, addr_len((struct sockaddr *)&ss)) != 0) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static uint64_t
cookie_of(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof c;

	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
	return c;
}

/* One lookup through the program: its verdict, and the chosen socket's cookie in *cookie. */
static int
lookup(int prog, const char *ip, uint16_t port, int proto, uint64_t *cookie)
{
	struct bpf_sk_lookup ctx;
	struct sockaddr_storage ss;

	memset(&ctx, 0, sizeof ctx);
	set_sa(&ss, ip, port);
	ctx.family = ss.ss_family;
	ctx.protocol = (uint32_t)proto;
	ctx.local_port = port;
	ctx.remote_port = htons(5000);
	if (ss.ss_family == AF_INET) {
		memcpy(&ctx.local_ip4, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		inet_pton(AF_INET, "127.0.0.9", &ctx.remote_ip4);
	} else {
		memcpy(ctx.local_ip6, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		inet_pton(AF_INET6, "::1", ctx.remote_ip6);
	}
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof ctx,
	    .ctx_out = &ctx, .ctx_size_out = sizeof ctx);
	if (bpf_prog_test_run_opts(prog, &o) != 0)
		return -1;
	*cookie = ctx.cookie;
	return (int)o.retval;
}

static void
test_program(struct sklookup *sk)
{
	int prog = sklookup_prog_fd(sk), fd4 = udp_bound("127.0.0.1", 0), fd6 = udp_bound("::1", 0);
	struct sockaddr_storage a4, a6;
	uint32_t s4 = 0, s6 = 0;
	uint64_t c;
	char *cause = NULL;

	CHECK(fd4 != -1 && fd6 != -1);
	CHECK(sklookup_add_sock(sk, fd4, &s4, &cause) == 0 &&
	    sklookup_add_sock(sk, fd6, &s6, &cause) == 0);
	CHECKM(lookup(prog, "127.0.0.1", PORT_MIN, IPPROTO_UDP, &c) == SK_PASS && c == 0,
	    "a port not steered: the usual lookup");
	set_sa(&a4, "127.0.0.1", PORT_MIN);
	set_sa(&a6, "::1", PORT_MIN);
	CHECK(sklookup_steer(sk, (struct sockaddr *)&a4, s4) == 0 &&
	    sklookup_steer(sk, (struct sockaddr *)&a6, s6) == 0);
	CHECKM(lookup(prog, "127.0.0.1", PORT_MIN, IPPROTO_UDP, &c) == SK_PASS &&
		c == cookie_of(fd4),
	    "IPv4: a steered port goes to its shared socket");
	CHECKM(lookup(prog, "::1", PORT_MIN, IPPROTO_UDP, &c) == SK_PASS && c == cookie_of(fd6),
	    "IPv6: a steered port goes to its shared socket");
	CHECKM(lookup(prog, "127.0.0.1", PORT_MIN, IPPROTO_TCP, &c) == SK_PASS && c == 0,
	    "TCP to the same port: not steered");
	CHECKM(lookup(prog, "127.0.0.2", PORT_MIN, IPPROTO_UDP, &c) == SK_PASS && c == 0,
	    "another address, same port: not steered");
	CHECKM(lookup(prog, "127.0.0.1", PORT_MIN + 1, IPPROTO_UDP, &c) == SK_PASS && c == 0,
	    "the next port: not steered");
	CHECKM(sklookup_steer(sk, (struct sockaddr *)&a4, s6) == 0 &&
		lookup(prog, "127.0.0.1", PORT_MIN, IPPROTO_UDP, &c) == SK_DROP,
	    "a steered port whose socket cannot take it is dropped, not looked up");
	sklookup_unsteer(sk, (struct sockaddr *)&a4);
	sklookup_unsteer(sk, (struct sockaddr *)&a6);
	CHECKM(lookup(prog, "127.0.0.1", PORT_MIN, IPPROTO_UDP, &c) == SK_PASS && c == 0 &&
		lookup(prog, "::1", PORT_MIN, IPPROTO_UDP, &c) == SK_PASS && c == 0,
	    "unsteered: the usual lookup again");
	close(fd4);
	close(fd6);
	free(cause);
}

struct got {
	void *handle;
	struct sockaddr_storage src;
	char data[64];
	size_t len;
	int n;
};

static void
deliver(void *arg, void *handle, const struct sockaddr *src, const uint8_t *data, size_t len)
{
	struct got *g = arg;

	g->handle = handle;
	memcpy(&g->src, src, addr_len(src));
	g->len = len < sizeof g->data ? len : sizeof g->data;
	memcpy(g->data, data, g->len);
	g->n++;
}

static void
batch_end(void *arg)
{
	(void)arg;
}

/* Runs the loop until a datagram is delivered (bounded). */
static void
pump(struct event_base *base, struct got *g)
{
	for (int i = 0; i < 200 && g->n == 0; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (g->n == 0)
			usleep(1000);
	}
}

/* Through a shared socket of rs both ways, for the relay address ip (pool index addr). */
static void
test_shared_family(struct relayshared *rs, struct portpool *pool, struct event_base *base,
    struct got *g, size_t addr, const char *ip, const char *fam)
{
	struct sockaddr_storage relay, from;
	socklen_t fromlen = sizeof from;
	int cli = udp_bound(ip, 0), squat;
	uint16_t port = 0, other = 0;
	char buf[64], msg[128];
	ssize_t n;
	int handle;

	/* Ports from the pool, as an allocation takes them: the shared socket holds one too. */
	CHECK(portpool_get(pool, addr, false, false, &port) == 0);
	CHECK(portpool_get(pool, addr, false, false, &other) == 0);
	set_sa(&relay, ip, port);
	CHECK(relayshared_claim(rs, addr, port, &handle) == 0);
	memset(g, 0, sizeof *g);
	CHECK(sendto(cli, "hello", 5, 0, (struct sockaddr *)&relay,
		  addr_len((struct sockaddr *)&relay)) == 5);
	pump(base, g);
	snprintf(msg, sizeof msg, "%s: a datagram to a claimed port reaches its handle", fam);
	CHECKM(g->n == 1 && g->handle == &handle && g->len == 5 && memcmp(g->data, "hello", 5) == 0,
	    msg);
	CHECK(relayshared_send(rs, addr, port, (struct sockaddr *)&g->src, "world!", 6, true) == 0);
	n = recvfrom(cli, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
	snprintf(msg, sizeof msg,
	    "%s: sent from the relay port (the raw socket's header and UDP checksum hold)", fam);
	CHECKM(n == 6 && memcmp(buf, "world!", 6) == 0 &&
		addr_equal((struct sockaddr *)&from, (struct sockaddr *)&relay),
	    msg);
	relayshared_release(rs, addr, port);
	CHECK(connect(cli, (struct sockaddr *)&relay, addr_len((struct sockaddr *)&relay)) == 0);
	memset(g, 0, sizeof *g);
	CHECK(send(cli, "again", 5, 0) == 5);
	event_base_loop(base, EVLOOP_NONBLOCK);
	n = recv(cli, buf, sizeof buf, 0);
	snprintf(msg, sizeof msg, "%s: a released port: port unreachable, nothing delivered", fam);
	CHECKM(g->n == 0 && n == -1 && errno == ECONNREFUSED, msg);
	squat = udp_bound(ip, other);
	snprintf(msg, sizeof msg, "%s: a port another socket holds is refused", fam);
	CHECKM(squat != -1 && relayshared_claim(rs, addr, other, &handle) == -1 &&
		errno == EADDRINUSE,
	    msg);
	close(squat);
	close(cli);
	portpool_put(pool, addr, port);
	portpool_put(pool, addr, other);
}

static void
test_shared(struct sklookup *sk)
{
	struct event_base *base = event_base_new();
	struct relayaddr ra = {0};
	struct sockaddr_storage a;
	struct portpool *pool = portpool_create(PORT_MIN, PORT_MAX, 2);
	struct relayshared *rs = NULL;
	struct relayshared_stats st;
	struct got g;
	char *cause = NULL;
	struct relayshared_setup setup = {.base = base,
	    .sklookup = sk,
	    .addrs = &ra,
	    .pool = pool,
	    .min_port = PORT_MIN,
	    .max_port = PORT_MAX,
	    .deliver = deliver,
	    .batch_end = batch_end,
	    .arg = &g};

	set_sa(&a, "127.0.0.1", 0);
	relayaddr_add(&ra, (struct sockaddr *)&a);
	set_sa(&a, "::1", 0);
	relayaddr_add(&ra, (struct sockaddr *)&a);
	CHECKM(relayshared_create(&setup, &rs, &cause) == 0, cause != NULL ? cause : "created");
	if (rs == NULL)
		return;
	CHECKM(portpool_used(pool, 0) == 1 && portpool_used(pool, 1) == 1,
	    "each shared socket holds a port of the pool");
	test_shared_family(rs, pool, base, &g, 0, "127.0.0.1", "IPv4");
	test_shared_family(rs, pool, base, &g, 1, "::1", "IPv6");
	relayshared_stats(rs, &st);
	CHECK(st.unclaimed == 0);
	relayshared_free(rs);
	CHECKM(portpool_used(pool, 0) == 0, "freed: the shared sockets' ports are back");
	portpool_free(pool);
	free(ra.v);
	event_base_free(base);
	free(cause);
}

/* A network namespace of our own with loopback up: nothing here touches the host's. */
static int
own_netns(void)
{
	struct ifreq ifr;
	int fd;

	if (unshare(CLONE_NEWNET) != 0 || (fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

#endif

int
main(void)
{
#ifdef HAVE_FASTPATH
	struct sklookup *sk;
	char *cause = NULL;

	if (geteuid() != 0) {
		printf("1..0 # SKIP not root: sk_lookup needs CAP_BPF and CAP_NET_ADMIN\n");
		return 0;
	}
	if (own_netns() != 0) {
		printf("1..0 # SKIP cannot make a network namespace: %s\n", strerror(errno));
		return 0;
	}
	if (sklookup_open(&sk, &cause) != 0) {
		printf("1..0 # SKIP %s\n", cause ? cause : "cannot load");
		free(cause);
		return 0;
	}
	test_program(sk);
	test_shared(sk);
	sklookup_free(sk);
	return unit_done();
#else
	printf("1..0 # SKIP built without the BPF programs\n");
	return 0;
#endif
}
