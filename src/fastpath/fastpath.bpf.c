/*
 * Kernel fast path for UDP ChannelData (RFC 8656 §12): a tc ingress program
 * that turns ChannelData from a known client 5-tuple and channel into a UDP
 * datagram from the relay address to the peer, and a UDP datagram from a
 * permitted peer into ChannelData to the client, then redirects it out.
 * User space (the daemon) fills the two maps; anything not understood here
 * (map miss, fragments, IP options, extension headers, padding, GSO,
 * CHECKSUM_PARTIAL, a zero IPv6 UDP checksum) passes up unchanged.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fastpath_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_BINDINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_c2p_key);
	__type(value, struct fp_c2p_val);
} fp_c2p SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_BINDINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_p2c_key);
	__type(value, struct fp_p2c_val);
} fp_p2c SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FP_MAX_BINDINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_c2p_key);
	__type(value, struct fp_count);
} fp_c2p_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FP_MAX_BINDINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_p2c_key);
	__type(value, struct fp_count);
} fp_p2c_count SEC(".maps");

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* Only the field read here; CO-RE finds it in the running kernel. */
struct sk_buff___fp {
	__u8 ip_summed : 2;
} __attribute__((preserve_access_index));

#define FP_CHECKSUM_PARTIAL 3
#define FP_CH_HLEN 4

/* What the programs need of one UDP datagram, in wire byte order. */
struct fp_pkt {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u16 ulen; /* host order */
	__u16 csum;
	__u16 chan;
	__u16 chlen;
	__u8 family;
	__u8 has_ch;
};

static __always_inline int
fp_is_partial(struct __sk_buff *skb)
{
	struct sk_buff___fp *k = bpf_cast_to_kern_ctx(skb);

	return BPF_CORE_READ_BITFIELD(k, ip_summed) == FP_CHECKSUM_PARTIAL;
}

/* One's complement sums over 16-bit words as they lie in memory (RFC 1071). */
static __always_inline __u32
fp_add16(__u32 s, __u16 w)
{
	return s + w;
}

static __always_inline __u32
fp_sub16(__u32 s, __u16 w)
{
	return s + (__u16)~w;
}

static __always_inline __u32
fp_add_addr(__u32 s, const __u32 *a)
{
#pragma unroll
	for (int i = 0; i < 4; i++)
		s += (a[i] & 0xffff) + (a[i] >> 16);
	return s;
}

static __always_inline __u32
fp_sub_addr(__u32 s, const __u32 *a)
{
#pragma unroll
	for (int i = 0; i < 4; i++)
		s = fp_sub16(fp_sub16(s, a[i] & 0xffff), a[i] >> 16);
	return s;
}

static __always_inline __u16
fp_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Reads the UDP header (and a ChannelData header when there is room). */
static __always_inline int
fp_read_udp(struct fp_pkt *p, struct udphdr *udp, void *end)
{
	__u16 *ch = (__u16 *)(udp + 1);

	if ((void *)(udp + 1) > end)
		return -1;
	p->sport = udp->source;
	p->dport = udp->dest;
	p->csum = udp->check;
	if (bpf_ntohs(udp->len) != p->ulen)
		return -1;
	p->has_ch = 0;
	if (p->ulen >= sizeof(*udp) + FP_CH_HLEN && (void *)(ch + 2) <= end) {
		p->chan = ch[0];
		p->chlen = ch[1];
		p->has_ch = (bpf_ntohs(p->chan) & 0xf000) == 0x4000;
	}
	return 0;
}

static __always_inline int
fp_parse_v4(struct __sk_buff *skb, struct fp_pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	__u16 tot;

	if ((void *)(ip + 1) > end)
		return -1;
	if (ip->version != 4 || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return -1;
	if (ip->frag_off & bpf_htons(0x3fff)) /* MF or an offset */
		return -1;
	tot = bpf_ntohs(ip->tot_len);
	if (ETH_HLEN + tot != skb->len || tot < sizeof(*ip) + sizeof(struct udphdr))
		return -1;
	__builtin_memset(p, 0, sizeof(*p));
	p->family = 4;
	p->src[0] = ip->saddr;
	p->dst[0] = ip->daddr;
	p->ulen = tot - sizeof(*ip);
	return fp_read_udp(p, (struct udphdr *)(ip + 1), end);
}

static __always_inline int
fp_parse_v6(struct __sk_buff *skb, struct fp_pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	__u16 plen;

	if ((void *)(ip6 + 1) > end)
		return -1;
	if (ip6->version != 6 || ip6->nexthdr != IPPROTO_UDP) /* no extension headers */
		return -1;
	plen = bpf_ntohs(ip6->payload_len);
	if (ETH_HLEN + sizeof(*ip6) + plen != skb->len || plen < sizeof(struct udphdr))
		return -1;
	__builtin_memset(p, 0, sizeof(*p));
	p->family = 6;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	p->ulen = plen;
	return fp_read_udp(p, (struct udphdr *)(ip6 + 1), end);
}

/* Rewrites the IP header after the payload changed by delta bytes. */
static __always_inline int
fp_write_ip(struct __sk_buff *skb, __u8 family, const __u32 *src, const __u32 *dst, __u16 ulen,
    __u16 frag_off)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (family == 4) {
		struct iphdr *ip = data + ETH_HLEN;
		__u16 *w = (__u16 *)ip;
		__u32 s = 0;

		if ((void *)(ip + 1) > end)
			return -1;
		ip->tot_len = bpf_htons(ulen + sizeof(*ip));
		ip->ttl = FP_TTL;
		ip->frag_off = frag_off;
		ip->saddr = src[0];
		ip->daddr = dst[0];
		ip->check = 0;
#pragma unroll
		for (int i = 0; i < 10; i++)
			s += w[i];
		ip->check = (__u16)~fp_fold(s);
		return 0;
	}
	struct ipv6hdr *ip6 = data + ETH_HLEN;

	if ((void *)(ip6 + 1) > end)
		return -1;
	ip6->payload_len = bpf_htons(ulen);
	ip6->hop_limit = FP_TTL;
	__builtin_memcpy(&ip6->saddr, src, 16);
	__builtin_memcpy(&ip6->daddr, dst, 16);
	return 0;
}

static __always_inline struct udphdr *
fp_udp(struct __sk_buff *skb, __u8 family, int extra)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct udphdr *udp =
	    data + ETH_HLEN + (family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr));

	if ((void *)(udp + 1) + extra > end)
		return 0;
	return udp;
}

static __always_inline __u16
fp_final(__u32 s)
{
	__u16 c = (__u16)~fp_fold(s);

	return c == 0 ? 0xffff : c;
}

static __always_inline void
fp_count(struct fp_count *c, __u64 bytes, __u64 now)
{
	c->packets++;
	c->bytes += bytes;
	c->last_ns = now;
}

/* Client to peer: strip the ChannelData header (RFC 8656 §12.4 and §12.5). */
static __always_inline int
fp_client_to_peer(struct __sk_buff *skb, const struct fp_pkt *p, struct fp_c2p_val *v,
    struct fp_count *cnt, __u64 now)
{
	__u16 dlen = bpf_ntohs(p->chlen), nlen = p->ulen - FP_CH_HLEN, csum = 0;
	__u16 rport = v->relay_port, pport = v->peer_port;
	__u32 relay[4], peer[4], ifindex = v->ifindex, s;
	__u16 frag_off = v->frag_off;
	struct udphdr *udp;

	if (now >= v->expires_ns)
		return TC_ACT_OK;
	if (dlen != p->ulen - sizeof(struct udphdr) - FP_CH_HLEN) /* padded or truncated */
		return TC_ACT_OK;
	if (p->csum == 0 && p->family == 6)
		return TC_ACT_OK;
	__builtin_memcpy(relay, v->relay, sizeof(relay));
	__builtin_memcpy(peer, v->peer, sizeof(peer));
	if (p->csum != 0) {
		s = (__u16)~p->csum;
		s = fp_sub_addr(fp_sub_addr(s, p->src), p->dst);
		s = fp_sub16(fp_sub16(s, bpf_htons(p->ulen)), bpf_htons(p->ulen));
		s = fp_sub16(fp_sub16(s, p->sport), p->dport);
		s = fp_sub16(fp_sub16(s, p->chan), p->chlen);
		s = fp_add_addr(fp_add_addr(s, relay), peer);
		s = fp_add16(fp_add16(s, bpf_htons(nlen)), bpf_htons(nlen));
		s = fp_add16(fp_add16(s, rport), pport);
		csum = fp_final(s);
	}
	if (bpf_skb_adjust_room(skb, -FP_CH_HLEN, BPF_ADJ_ROOM_NET, 0) != 0)
		return TC_ACT_OK;
	if (fp_write_ip(skb, p->family, relay, peer, nlen, frag_off) != 0)
		return TC_ACT_SHOT;
	udp = fp_udp(skb, p->family, 0);
	if (!udp)
		return TC_ACT_SHOT;
	udp->source = rport;
	udp->dest = pport;
	udp->len = bpf_htons(nlen);
	udp->check = csum;
	fp_count(cnt, dlen, now);
	bpf_csum_level(skb, BPF_CSUM_LEVEL_RESET);
	return bpf_redirect_neigh(ifindex, 0, 0, 0);
}

/* Peer to client: add a ChannelData header (RFC 8656 §12.5). */
static __always_inline int
fp_peer_to_client(struct __sk_buff *skb, const struct fp_pkt *p, struct fp_p2c_val *v,
    struct fp_count *cnt, __u64 now)
{
	__u16 dlen = p->ulen - sizeof(struct udphdr), nlen = p->ulen + FP_CH_HLEN, csum = 0;
	__u16 sport = v->server_port, cport = v->client_port, chan = v->channel;
	__u32 server[4], client[4], ifindex = v->ifindex, mtu = 0, s;
	struct udphdr *udp;
	__u16 *ch;

	if (now >= v->expires_ns || (p->csum == 0 && p->family == 6))
		return TC_ACT_OK;
	if (nlen < p->ulen || bpf_check_mtu(skb, ifindex, &mtu, FP_CH_HLEN, 0) != 0)
		return TC_ACT_OK;
	__builtin_memcpy(server, v->server, sizeof(server));
	__builtin_memcpy(client, v->client, sizeof(client));
	if (p->csum != 0) {
		s = (__u16)~p->csum;
		s = fp_sub_addr(fp_sub_addr(s, p->src), p->dst);
		s = fp_sub16(fp_sub16(s, bpf_htons(p->ulen)), bpf_htons(p->ulen));
		s = fp_sub16(fp_sub16(s, p->sport), p->dport);
		s = fp_add_addr(fp_add_addr(s, server), client);
		s = fp_add16(fp_add16(s, bpf_htons(nlen)), bpf_htons(nlen));
		s = fp_add16(fp_add16(s, sport), cport);
		s = fp_add16(fp_add16(s, chan), bpf_htons(dlen));
		csum = fp_final(s);
	}
	if (bpf_skb_adjust_room(skb, FP_CH_HLEN, BPF_ADJ_ROOM_NET, 0) != 0)
		return TC_ACT_OK;
	if (fp_write_ip(skb, p->family, server, client, nlen, bpf_htons(0x4000)) != 0)
		return TC_ACT_SHOT;
	udp = fp_udp(skb, p->family, FP_CH_HLEN);
	if (!udp)
		return TC_ACT_SHOT;
	udp->source = sport;
	udp->dest = cport;
	udp->len = bpf_htons(nlen);
	udp->check = csum;
	ch = (__u16 *)(udp + 1);
	ch[0] = chan;
	ch[1] = bpf_htons(dlen);
	fp_count(cnt, dlen, now);
	bpf_csum_level(skb, BPF_CSUM_LEVEL_RESET);
	return bpf_redirect_neigh(ifindex, 0, 0, 0);
}

static __always_inline int
fp_relay(struct __sk_buff *skb, const struct fp_pkt *p)
{
	if (p->has_ch) {
		struct fp_c2p_key ck = {.family = p->family,
		    .client_port = p->sport,
		    .server_port = p->dport,
		    .channel = p->chan};
		struct fp_c2p_val *cv;
		struct fp_count *cc;

		__builtin_memcpy(ck.client, p->src, sizeof(ck.client));
		__builtin_memcpy(ck.server, p->dst, sizeof(ck.server));
		cv = bpf_map_lookup_elem(&fp_c2p, &ck);
		cc = cv ? bpf_map_lookup_elem(&fp_c2p_count, &ck) : 0;
		if (cv && cc)
			return fp_client_to_peer(skb, p, cv, cc, bpf_ktime_get_ns());
	}
	struct fp_p2c_key pk = {.family = p->family, .peer_port = p->sport, .relay_port = p->dport};
	struct fp_p2c_val *pv;
	struct fp_count *pc;

	__builtin_memcpy(pk.peer, p->src, sizeof(pk.peer));
	__builtin_memcpy(pk.relay, p->dst, sizeof(pk.relay));
	pv = bpf_map_lookup_elem(&fp_p2c, &pk);
	pc = pv ? bpf_map_lookup_elem(&fp_p2c_count, &pk) : 0;
	if (pv && pc)
		return fp_peer_to_client(skb, p, pv, pc, bpf_ktime_get_ns());
	return TC_ACT_OK;
}

SEC("tc")
int
fp_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct fp_pkt p;

	if ((void *)(eth + 1) > end || skb->gso_size != 0 || fp_is_partial(skb))
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		if (fp_parse_v4(skb, &p) != 0)
			return TC_ACT_OK;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if (fp_parse_v6(skb, &p) != 0)
			return TC_ACT_OK;
	} else {
		return TC_ACT_OK;
	}
	return fp_relay(skb, &p);
}
