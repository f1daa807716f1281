/*
 * Relay ports without a socket each: a sk_lookup program (attached to the
 * network namespace) that hands a UDP datagram addressed to a relay address
 * and an allocated relay port to the shared socket of the worker that owns
 * the allocation. A port not in the map is looked up as usual (no socket:
 * the kernel answers port unreachable), so nothing reaches the daemon on a
 * port without an allocation.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "sklookup_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SKL_AF_INET 2
#define SKL_AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SKL_MAX_PORTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct skl_key);
	__type(value, __u32);
} skl_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, SKL_MAX_SOCKS);
	__type(key, __u32);
	__type(value, __u64);
} skl_socks SEC(".maps");

SEC("sk_lookup")
int
skl_lookup(struct bpf_sk_lookup *ctx)
{
	struct skl_key key = {};
	struct bpf_sock *sk;
	__u32 *slot;
	long err;

	if (ctx->protocol != IPPROTO_UDP)
		return SK_PASS;
	key.family = ctx->family;
	key.port = ctx->local_port;
	if (ctx->family == SKL_AF_INET) {
		key.addr[0] = ctx->local_ip4;
	} else if (ctx->family == SKL_AF_INET6) {
		key.addr[0] = ctx->local_ip6[0];
		key.addr[1] = ctx->local_ip6[1];
		key.addr[2] = ctx->local_ip6[2];
		key.addr[3] = ctx->local_ip6[3];
	} else {
		return SK_PASS;
	}
	slot = bpf_map_lookup_elem(&skl_ports, &key);
	if (slot == NULL)
		return SK_PASS;
	/* The port belongs to an allocation: nothing else may have its datagrams. */
	sk = bpf_map_lookup_elem(&skl_socks, slot);
	if (sk == NULL)
		return SK_DROP;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return err == 0 ? SK_PASS : SK_DROP;
}
