/*
 * The fast path's BPF program on crafted packets (BPF_PROG_TEST_RUN): good
 * ChannelData both ways over IPv4 and IPv6, and what must pass up unchanged
 * (truncated, padded, wrong channel, fragments, IP options, indications).
 * Needs root and BPF; otherwise the whole file is skipped with the reason.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <unistd.h>

#include "turnpike/fastpath.h"
#include "turnpike/relayfast.h"
#include "unit.h"

#ifdef HAVE_FASTPATH
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#define ETH_LEN 14
#define MAXPKT 1600

struct pkt {
	unsigned char b[MAXPKT];
	size_t len;
};

struct addrs {
	const char *src, *dst;
	uint16_t sport, dport;
};

static uint32_t
sum16(uint32_t s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The UDP checksum of the datagram at l4 (RFC 768, RFC 8200 §8.1), computed from scratch. */
static uint16_t
udp_sum(const unsigned char *src, const unsigned char *dst, size_t alen, const unsigned char *l4,
    size_t ulen)
{
	unsigned char ph[4] = {0, 17, (unsigned char)(ulen >> 8), (unsigned char)ulen};
	uint32_t s = sum16(sum16(sum16(0, src, alen), dst, alen), ph, 4);

	return (uint16_t)~fold(sum16(s, l4, ulen));
}

static bool
is_v6(const char *a)
{
	return strchr(a, ':') != NULL;
}

/* Ethernet + IP + UDP around the payload, with correct checksums. */
static void
build(struct pkt *p, const struct addrs *a, const unsigned char *pl, size_t n)
{
	bool v6 = is_v6(a->src);
	size_t ihl = v6 ? 40 : 20, alen = v6 ? 16 : 4, ulen = 8 + n;
	unsigned char *ip = p->b + ETH_LEN, *udp = ip + ihl, *src, *dst;
	uint16_t c;

	memset(p->b, 0, sizeof(p->b));
	p->b[12] = v6 ? 0x86 : 0x08;
	p->b[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		ip[0] = 0x60;
		ip[4] = (unsigned char)(ulen >> 8);
		ip[5] = (unsigned char)ulen;
		ip[6] = 17;
		ip[7] = 9;
		src = ip + 8;
		dst = ip + 24;
	} else {
		ip[0] = 0x45;
		ip[2] = (unsigned char)((ulen + 20) >> 8);
		ip[3] = (unsigned char)(ulen + 20);
		ip[6] = 0x40; /* DF */
		ip[8] = 9;
		ip[9] = 17;
		src = ip + 12;
		dst = ip + 16;
	}
	inet_pton(v6 ? AF_INET6 : AF_INET, a->src, src);
	inet_pton(v6 ? AF_INET6 : AF_INET, a->dst, dst);
	if (!v6) {
		c = (uint16_t)~fold(sum16(0, ip, 20));
		ip[10] = (unsigned char)(c >> 8);
		ip[11] = (unsigned char)c;
	}
	udp[0] = (unsigned char)(a->sport >> 8);
	udp[1] = (unsigned char)a->sport;
	udp[2] = (unsigned char)(a->dport >> 8);
	udp[3] = (unsigned char)a->dport;
	udp[4] = (unsigned char)(ulen >> 8);
	udp[5] = (unsigned char)ulen;
	memcpy(udp + 8, pl, n);
	c = udp_sum(src, dst, alen, udp, ulen);
	c = c == 0 ? 0xffff : c;
	udp[6] = (unsigned char)(c >> 8);
	udp[7] = (unsigned char)c;
	p->len = ETH_LEN + ihl + ulen;
}

/* ChannelData: channel, length, data and pad bytes of zero beyond the length. */
static size_t
chandata(unsigned char *out, uint16_t ch, const char *data, size_t claimed, size_t pad)
{
	size_t n = strlen(data);

	out[0] = (unsigned char)(ch >> 8);
	out[1] = (unsigned char)ch;
	out[2] = (unsigned char)(claimed >> 8);
	out[3] = (unsigned char)claimed;
	memcpy(out + 4, data, n);
	memset(out + 4 + n, 0, pad);
	return 4 + n + pad;
}

static int
run(int prog, const struct pkt *in, struct pkt *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (__u32)in->len,
	    .data_out = out->b, .data_size_out = sizeof(out->b), .repeat = 1);

	memset(out->b, 0, sizeof(out->b));
	if (bpf_prog_test_run_opts(prog, &o) != 0)
		return -1;
	out->len = o.data_size_out;
	return (int)o.retval;
}

static void
set_sa(struct sockaddr_storage *ss, const char *a, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (is_v6(a)) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, a, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, a, &s4->sin_addr);
	}
}

/* Checks an output datagram: addresses, ports, TTL, checksums and payload. */
static void
check_out(const struct pkt *o, const struct addrs *a, const unsigned char *pl, size_t n,
    const char *what)
{
	bool v6 = is_v6(a->src);
	size_t ihl = v6 ? 40 : 20, alen = v6 ? 16 : 4;
	const unsigned char *ip = o->b + ETH_LEN, *udp = ip + ihl;
	unsigned char src[16], dst[16];
	char msg[160];
	bool ok = o->len == ETH_LEN + ihl + 8 + n;

	inet_pton(v6 ? AF_INET6 : AF_INET, a->src, src);
	inet_pton(v6 ? AF_INET6 : AF_INET, a->dst, dst);
	ok = ok && memcmp(ip + (v6 ? 8 : 12), src, alen) == 0 &&
	    memcmp(ip + (v6 ? 24 : 16), dst, alen) == 0;
	ok = ok && (udp[0] << 8 | udp[1]) == a->sport && (udp[2] << 8 | udp[3]) == a->dport;
	ok = ok && (size_t)(udp[4] << 8 | udp[5]) == 8 + n && memcmp(udp + 8, pl, n) == 0;
	ok = ok && (v6 ? ip[7] : ip[8]) == 64;
	if (v6)
		ok = ok && (size_t)(ip[4] << 8 | ip[5]) == 8 + n;
	else
		ok = ok && (size_t)(ip[2] << 8 | ip[3]) == 28 + n &&
		    fold(sum16(0, ip, 20)) == 0xffff;
	snprintf(msg, sizeof(msg), "%s: headers and payload rewritten", what);
	CHECKM(ok, msg);
	snprintf(msg, sizeof(msg), "%s: UDP checksum verifies", what);
	CHECKM(udp[6] | udp[7]
		? fold(sum16(sum16(sum16(0, src, alen), dst, alen),
			   (const unsigned char[]){0, 17, (unsigned char)((8 + n) >> 8),
			       (unsigned char)(8 + n)},
			   4) +
		      sum16(0, udp, 8 + n)) == 0xffff
		: !v6,
	    msg);
}

struct lab {
	const char *client, *server, *relay, *peer;
};

static void
test_family(struct fastpath *fp, int prog, const struct lab *l)
{
	struct fastpath_binding b = {.channel = 0x4001,
	    .client_ifindex = 1,
	    .peer_ifindex = 1,
	    .expires_ns = UINT64_MAX};
	struct addrs c2s = {l->client, l->server, 40000, 3478},
		     r2p = {l->relay, l->peer, 50000, 9000};
	struct addrs p2r = {l->peer, l->relay, 9000, 50000},
		     s2c = {l->server, l->client, 3478, 40000};
	struct fastpath_counters cnt;
	unsigned char pl[MAXPKT], cd[MAXPKT];
	const char *data = "hello, peer: fast path";
	size_t dn = strlen(data), n;
	struct pkt in, out;
	char *cause = NULL;
	bool v6 = is_v6(l->client);

	set_sa(&b.client, l->client, 40000);
	set_sa(&b.server, l->server, 3478);
	set_sa(&b.relay, l->relay, 50000);
	set_sa(&b.peer, l->peer, 9000);

	n = chandata(cd, 0x4001, data, dn, 0);
	build(&in, &c2s, cd, n);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && out.len == in.len &&
		memcmp(out.b, in.b, in.len) == 0,
	    v6 ? "v6: no entry: passes unchanged" : "v4: no entry: passes unchanged");
	CHECK(fastpath_add(fp, &b, &cause) == 0);
	free(cause);

	CHECKM(run(prog, &in, &out) == TC_ACT_REDIRECT,
	    v6 ? "v6 client->peer redirected" : "v4 client->peer redirected");
	check_out(&out, &r2p, (const unsigned char *)data, dn,
	    v6 ? "v6 client->peer" : "v4 client->peer");

	memcpy(pl, "odd", 3);
	n = chandata(cd, 0x4001, "odd", 3, 0);
	build(&in, &c2s, cd, n);
	CHECK(run(prog, &in, &out) == TC_ACT_REDIRECT);
	check_out(&out, &r2p, pl, 3, v6 ? "v6 odd length" : "v4 odd length");

	build(&in, &p2r, (const unsigned char *)data, dn);
	CHECKM(run(prog, &in, &out) == TC_ACT_REDIRECT,
	    v6 ? "v6 peer->client redirected" : "v4 peer->client redirected");
	n = chandata(cd, 0x4001, data, dn, 0);
	check_out(&out, &s2c, cd, n, v6 ? "v6 peer->client" : "v4 peer->client");

	CHECK(fastpath_read(fp, &b, &cnt) == 0);
	CHECKM(cnt.to_peer_packets == 2 && cnt.to_peer_bytes == dn + 3 &&
		cnt.to_client_packets == 1 && cnt.to_client_bytes == dn,
	    "counters: packets and application bytes per direction");

	n = chandata(cd, 0x4001, data, dn, 0);
	build(&in, &c2s, cd, n);
	if (!v6) {
		CHECK(run(prog, &in, &out) == TC_ACT_REDIRECT);
		CHECKM(out.b[ETH_LEN + 6] == 0, "v4 without DONT-FRAGMENT: DF cleared");
		b.dont_fragment = true;
		CHECK(fastpath_add(fp, &b, &cause) == 0);
		CHECK(run(prog, &in, &out) == TC_ACT_REDIRECT);
		CHECKM(out.b[ETH_LEN + 6] == 0x40, "v4 with DONT-FRAGMENT: DF set");
		b.dont_fragment = false;
	}
	b.expires_ns = 1;
	CHECK(fastpath_add(fp, &b, &cause) == 0);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "expired: passes unchanged");
	build(&in, &p2r, (const unsigned char *)data, dn);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "expired: peer passes unchanged");
	b.expires_ns = UINT64_MAX;
	CHECK(fastpath_add(fp, &b, &cause) == 0);
	CHECK(fastpath_read(fp, &b, &cnt) == 0);
	CHECKM(cnt.to_peer_packets == (v6 ? 2 : 4), "a refresh keeps the counters");

	n = chandata(cd, 0x4001, data, dn + 4, 0);
	build(&in, &c2s, cd, n);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "truncated: passes unchanged");
	n = chandata(cd, 0x4001, data, dn, 2);
	build(&in, &c2s, cd, n);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "padded: passes unchanged");
	n = chandata(cd, 0x4002, data, dn, 0);
	build(&in, &c2s, cd, n);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "wrong channel: passes unchanged");
	memcpy(cd, "\x00\x16\x00\x08\x21\x12\xa4\x42", 8);
	build(&in, &c2s, cd, 8 + 12 + 8);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "Send indication: passes unchanged");
	p2r.sport = 9001;
	build(&in, &p2r, (const unsigned char *)data, dn);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "peer port without a channel: passes unchanged");
	p2r.sport = 9000;

	n = chandata(cd, 0x4001, data, dn, 0);
	build(&in, &c2s, cd, n);
	if (v6) {
		in.b[ETH_LEN + 6] = 44; /* a fragment header: not UDP directly */
		CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
		    "v6 extension header: passes unchanged");
		build(&in, &c2s, cd, n);
		in.b[ETH_LEN + 40 + 6] = 0;
		in.b[ETH_LEN + 40 + 7] = 0;
		CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
		    "v6 zero UDP checksum: passes unchanged");
	} else {
		in.b[ETH_LEN + 6] |= 0x20; /* more fragments */
		CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
		    "v4 first fragment: passes unchanged");
		build(&in, &c2s, cd, n);
		in.b[ETH_LEN + 7] = 1; /* a fragment offset */
		CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
		    "v4 later fragment: passes unchanged");
		build(&in, &c2s, cd, n);
		in.b[ETH_LEN] = 0x46; /* IP options */
		CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
		    "v4 IP options: passes unchanged");
		build(&in, &c2s, cd, n);
		in.b[ETH_LEN + 20 + 6] = 0;
		in.b[ETH_LEN + 20 + 7] = 0;
		CHECKM(run(prog, &in, &out) == TC_ACT_REDIRECT && out.b[ETH_LEN + 26] == 0 &&
			out.b[ETH_LEN + 27] == 0,
		    "v4 without a UDP checksum: relayed without one");
	}
	build(&in, &c2s, cd, n);
	in.len -= 3; /* the IP length says more than arrived */
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "short datagram: passes unchanged");

	fastpath_remove(fp, &b);
	build(&in, &c2s, cd, n);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "removed: passes unchanged");
	build(&in, &p2r, (const unsigned char *)data, dn);
	CHECKM(run(prog, &in, &out) == TC_ACT_OK && memcmp(out.b, in.b, in.len) == 0,
	    "removed: peer passes unchanged");
	CHECK(fastpath_read(fp, &b, &cnt) == -1);
}

static uint64_t relay_until;

static uint64_t
fake_until(void *arg, uint16_t number, const struct sockaddr *peer)
{
	(void)arg;
	(void)number;
	(void)peer;
	return relay_until;
}

/* relayfast: deltas once, refresh, removal when the core says 0, the last counts at clear. */
static void
test_relayfast(struct fastpath *fp, int prog)
{
	struct fastpath_binding b = {.channel = 0x4002, .client_ifindex = 1, .peer_ifindex = 1};
	struct addrs c2s = {"192.0.2.20", "198.51.100.1", 40001, 3478};
	struct relayfast *list = NULL;
	struct turn_counts d = {0};
	unsigned char cd[64];
	struct pkt in, out;
	char *cause = NULL;
	size_t n = chandata(cd, 0x4002, "data", 4, 0);

	set_sa(&b.client, c2s.src, 40001);
	set_sa(&b.server, c2s.dst, 3478);
	set_sa(&b.relay, "198.51.100.2", 50002);
	set_sa(&b.peer, "203.0.113.8", 9002);
	build(&in, &c2s, cd, n);
	relay_until = UINT64_MAX / 1000000;
	CHECK(
	    relayfast_bind(fp, &list, &b, relay_until, &cause) == 0 && relayfast_count(list) == 1);
	CHECK(run(prog, &in, &out) == TC_ACT_REDIRECT && run(prog, &in, &out) == TC_ACT_REDIRECT);
	relayfast_sync(fp, &list, fake_until, NULL, &d);
	CHECKM(d.to_peer_packets == 2 && d.to_peer_bytes == 8 && d.to_client_packets == 0,
	    "relayfast_sync: the counts since the binding");
	memset(&d, 0, sizeof d);
	relayfast_sync(fp, &list, fake_until, NULL, &d);
	CHECKM(d.to_peer_packets == 0, "relayfast_sync: each count is handed back once");
	relay_until--;
	relayfast_sync(fp, &list, fake_until, NULL, &d);
	CHECKM(relayfast_count(list) == 1 && run(prog, &in, &out) == TC_ACT_REDIRECT,
	    "a refreshed end: the entry stays and relays");
	relay_until = 0;
	relayfast_sync(fp, &list, fake_until, NULL, &d);
	CHECKM(list == NULL && d.to_peer_packets == 1 && run(prog, &in, &out) == TC_ACT_OK,
	    "the core says the channel ended: its last count, then the entry is gone");
	relay_until = UINT64_MAX / 1000000;
	CHECK(relayfast_bind(fp, &list, &b, relay_until, &cause) == 0);
	CHECK(run(prog, &in, &out) == TC_ACT_REDIRECT);
	memset(&d, 0, sizeof d);
	relayfast_clear(fp, &list, &d);
	CHECKM(list == NULL && d.to_peer_packets == 1 && run(prog, &in, &out) == TC_ACT_OK,
	    "relayfast_clear: the last counts, and nothing relays after");
	free(cause);
}

#endif

int
main(void)
{
#ifdef HAVE_FASTPATH
	static const struct lab v4 = {"192.0.2.10", "198.51.100.1", "198.51.100.2", "203.0.113.7"};
	static const struct lab v6 = {"2001:db8:c::10", "2001:db8:5::1", "2001:db8:5::2",
	    "2001:db8:f::7"};
	struct fastpath_binding mixed = {.channel = 0x4000, .client_ifindex = 1, .peer_ifindex = 1};
	struct fastpath *fp;
	char *cause = NULL;

	if (geteuid() != 0) {
		printf("1..0 # SKIP not root: BPF_PROG_TEST_RUN needs CAP_BPF\n");
		return 0;
	}
	if (fastpath_open(&fp, &cause) != 0) {
		printf("1..0 # SKIP %s\n", cause ? cause : "cannot load");
		free(cause);
		return 0;
	}
	test_family(fp, fastpath_prog_fd(fp), &v4);
	test_family(fp, fastpath_prog_fd(fp), &v6);
	test_relayfast(fp, fastpath_prog_fd(fp));
	set_sa(&mixed.client, v4.client, 1);
	set_sa(&mixed.server, v4.server, 2);
	set_sa(&mixed.relay, v6.relay, 3);
	set_sa(&mixed.peer, v6.peer, 4);
	CHECKM(fastpath_add(fp, &mixed, &cause) == -1 && cause != NULL,
	    "mixed families: refused with a cause");
	free(cause);
	fastpath_free(fp);
	return unit_done();
#else
	printf("1..0 # SKIP built without the BPF fast path\n");
	return 0;
#endif
}
