/* Loader of the kernel fast path: loads, attaches and fills the maps. */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "turnpike/cause.h"
#include "turnpike/fastpath.h"

#include "fastpath_maps.h"
/* The generated skeleton casts its embedded object's const away. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "src/fastpath/fastpath.skel.h"
#pragma GCC diagnostic pop

#define FP_MAX_IFACES 64
#define FP_TCX_INGRESS 46     /* enum bpf_attach_type, Linux 6.6; older headers lack it */
#define FP_TC_PRIORITY 0x7475 /* the clsact filter's priority ("tu") */

struct fastpath_iface {
	unsigned int ifindex;
	int link_fd; /* tcx link; -1 for a clsact filter */
};

struct fastpath {
	struct fastpath_bpf *skel;
	struct fastpath_iface ifaces[FP_MAX_IFACES];
	int n_ifaces;
};

bool
fastpath_built(void)
{
	return true;
}

static int
fastpath_print_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int
fastpath_open(struct fastpath **fpp, char **cause)
{
	struct fastpath *fp;
	int err;

	*fpp = NULL;
	libbpf_set_print(fastpath_print_quiet);
	fp = calloc(1, sizeof(*fp));
	if (fp == NULL)
		return cause_fail(cause, "out of memory");
	fp->skel = fastpath_bpf__open();
	if (fp->skel == NULL) {
		free(fp);
		return cause_fail(cause, "cannot open the BPF object: %s", strerror(errno));
	}
	err = fastpath_bpf__load(fp->skel);
	if (err != 0) {
		fastpath_bpf__destroy(fp->skel);
		free(fp);
		return cause_fail(cause,
		    "cannot load the BPF programs (needs CAP_BPF and a kernel with tcx or clsact, "
		    "bpf_redirect_neigh and BTF): %s",
		    strerror(-err));
	}
	*fpp = fp;
	return 0;
}

int
fastpath_prog_fd(const struct fastpath *fp)
{
	return bpf_program__fd(fp->skel->progs.fp_ingress);
}

int
fastpath_attached(const struct fastpath *fp)
{
	return fp->n_ifaces;
}

static bool
fastpath_is_attached(const struct fastpath *fp, unsigned int ifindex)
{
	for (int i = 0; i < fp->n_ifaces; i++)
		if (fp->ifaces[i].ifindex == ifindex)
			return true;
	return false;
}

static int
fastpath_attach_tc(struct fastpath *fp, unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fastpath_prog_fd(fp), .handle = 1,
	    .priority = FP_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
	int err = bpf_tc_hook_create(&hook);

	if (err != 0 && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

int
fastpath_attach(struct fastpath *fp, unsigned int ifindex, char **cause)
{
	char name[IF_NAMESIZE] = "?";
	int fd, err;

	if (fastpath_is_attached(fp, ifindex))
		return 0;
	if (fp->n_ifaces == FP_MAX_IFACES)
		return cause_fail(cause, "more than %d interfaces", FP_MAX_IFACES);
	if_indextoname(ifindex, name);
	fd = bpf_link_create(fastpath_prog_fd(fp), (int)ifindex,
	    (enum bpf_attach_type)FP_TCX_INGRESS, NULL);
	if (fd < 0) {
		err = fastpath_attach_tc(fp, ifindex);
		if (err != 0)
			return cause_fail(cause, "cannot attach to %s (tcx and clsact): %s", name,
			    strerror(-err));
	}
	fp->ifaces[fp->n_ifaces].ifindex = ifindex;
	fp->ifaces[fp->n_ifaces].link_fd = fd < 0 ? -1 : fd;
	fp->n_ifaces++;
	return 0;
}

/* Up, not loopback, with an Ethernet header (what the programs parse). */
static bool
fastpath_iface_fits(int sock, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0)
		return false;
	if (!(ifr.ifr_flags & IFF_UP) || (ifr.ifr_flags & IFF_LOOPBACK))
		return false;
	if (ioctl(sock, SIOCGIFHWADDR, &ifr) != 0)
		return false;
	return ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
}

int
fastpath_attach_all(struct fastpath *fp, char **cause)
{
	struct if_nameindex *ifs = if_nameindex();
	int sock, rc = 0;

	if (ifs == NULL)
		return cause_fail(cause, "cannot list interfaces: %s", strerror(errno));
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (struct if_nameindex *i = ifs; sock >= 0 && i->if_index != 0; i++) {
		if (!fastpath_iface_fits(sock, i->if_name))
			continue;
		if (fastpath_attach(fp, i->if_index, cause) != 0) {
			rc = -1;
			break;
		}
	}
	if (sock >= 0)
		close(sock);
	if_freenameindex(ifs);
	if (rc == 0 && fp->n_ifaces == 0)
		return cause_fail(cause, "no interface to attach to (up, Ethernet, not loopback)");
	return rc;
}

/* An address as the maps keep it; an IPv4-mapped IPv6 address counts as IPv4. */
static int
fastpath_addr(const struct sockaddr_storage *ss, __u32 a[4], __u16 *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		a[0] = sin->sin_addr.s_addr;
		*port = sin->sin_port;
		return 4;
	}
	if (ss->ss_family != AF_INET6)
		return -1;
	*port = sin6->sin6_port;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(&a[0], &sin6->sin6_addr.s6_addr[12], 4);
		return 4;
	}
	memcpy(a, &sin6->sin6_addr, 16);
	return 6;
}

/* The interface the routing table sends a datagram to this address by. */
static int
fastpath_route_oif(int family, const __u32 a[4], unsigned int *oif)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	char buf[4096];
	size_t alen = family == 4 ? 4 : 16;
	struct rtattr *rta;
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	ssize_t n;
	int fd, len;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.rt.rtm_family = family == 4 ? AF_INET : AF_INET6;
	req.rt.rtm_dst_len = (unsigned char)(alen * 8);
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), a, alen);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	n = send(fd, &req, req.nh.nlmsg_len, 0) < 0 ? -1 : recv(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct rtmsg)) || !NLMSG_OK(nh, (size_t)n) ||
	    nh->nlmsg_type != RTM_NEWROUTE)
		return -1;
	if (((struct rtmsg *)NLMSG_DATA(nh))->rtm_type != RTN_UNICAST)
		return -1;
	len = (int)RTM_PAYLOAD(nh);
	for (rta = RTM_RTA(NLMSG_DATA(nh)); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == RTA_OIF && RTA_PAYLOAD(rta) >= sizeof(int)) {
			int v;

			memcpy(&v, RTA_DATA(rta), sizeof(v));
			*oif = (unsigned int)v;
			return 0;
		}
	}
	return -1;
}

/* Creates a binding's zeroed per-CPU counters unless they exist. */
static int
fastpath_update(struct bpf_map *m, const void *key, size_t klen, bool keep)
{
	size_t n = (size_t)libbpf_num_possible_cpus();
	struct fp_count *zero = calloc(n, sizeof(*zero));
	int rc;

	if (zero == NULL)
		return -1;
	rc = bpf_map__update_elem(m, key, klen, zero, n * sizeof(*zero),
	    keep ? BPF_NOEXIST : BPF_ANY);
	if (rc != 0 && keep && errno == EEXIST)
		rc = 0;
	free(zero);
	return rc;
}

/* Sums a binding's per-CPU counters; -1 when absent. */
static int
fastpath_sum(struct bpf_map *m, const void *key, size_t klen, uint64_t *pkts, uint64_t *bytes)
{
	size_t n = (size_t)libbpf_num_possible_cpus();
	struct fp_count *c = calloc(n, sizeof(*c));
	int rc = -1;

	if (c != NULL && bpf_map__lookup_elem(m, key, klen, c, n * sizeof(*c), 0) == 0) {
		for (size_t i = 0; i < n; i++) {
			*pkts += c[i].packets;
			*bytes += c[i].bytes;
		}
		rc = 0;
	}
	free(c);
	return rc;
}

/* Builds both keys and values; -1 with a cause when the binding cannot be fast. */
static int
fastpath_entries(const struct fastpath_binding *b, struct fp_c2p_key *ck, struct fp_c2p_val *cv,
    struct fp_p2c_key *pk, struct fp_p2c_val *pv, char **cause)
{
	int fc, fs, fr, fpeer;

	memset(ck, 0, sizeof(*ck));
	memset(cv, 0, sizeof(*cv));
	memset(pk, 0, sizeof(*pk));
	memset(pv, 0, sizeof(*pv));
	fc = fastpath_addr(&b->client, ck->client, &ck->client_port);
	fs = fastpath_addr(&b->server, ck->server, &ck->server_port);
	fr = fastpath_addr(&b->relay, cv->relay, &cv->relay_port);
	fpeer = fastpath_addr(&b->peer, cv->peer, &cv->peer_port);
	if (fc < 0 || fc != fs || fc != fr || fc != fpeer)
		return cause_fail(cause, "client and peer address families differ");
	ck->family = (__u8)fc;
	ck->channel = htons(b->channel);
	cv->ifindex = b->peer_ifindex;
	cv->expires_ns = b->expires_ns;
	cv->frag_off = b->dont_fragment && fc == 4 ? htons(0x4000) : 0;
	pv->expires_ns = b->expires_ns;
	pk->family = (__u8)fc;
	memcpy(pk->peer, cv->peer, sizeof(pk->peer));
	memcpy(pk->relay, cv->relay, sizeof(pk->relay));
	pk->peer_port = cv->peer_port;
	pk->relay_port = cv->relay_port;
	memcpy(pv->server, ck->server, sizeof(pv->server));
	memcpy(pv->client, ck->client, sizeof(pv->client));
	pv->server_port = ck->server_port;
	pv->client_port = ck->client_port;
	pv->channel = ck->channel;
	pv->ifindex = b->client_ifindex;
	return 0;
}

int
fastpath_add(struct fastpath *fp, struct fastpath_binding *b, char **cause)
{
	struct fp_c2p_key ck;
	struct fp_c2p_val cv;
	struct fp_p2c_key pk;
	struct fp_p2c_val pv;

	if (fastpath_entries(b, &ck, &cv, &pk, &pv, cause) != 0)
		return -1;
	if (b->peer_ifindex == 0) {
		if (fastpath_route_oif(ck.family, cv.peer, &b->peer_ifindex) != 0)
			return cause_fail(cause, "no unicast route to the peer");
		if (!fastpath_is_attached(fp, b->peer_ifindex))
			return cause_fail(cause,
			    "the peer is behind an interface without the fast path");
	}
	if (b->client_ifindex == 0) {
		if (fastpath_route_oif(ck.family, ck.client, &b->client_ifindex) != 0)
			return cause_fail(cause, "no unicast route to the client");
		if (!fastpath_is_attached(fp, b->client_ifindex))
			return cause_fail(cause,
			    "the client is behind an interface without the fast path");
	}
	cv.ifindex = b->peer_ifindex;
	pv.ifindex = b->client_ifindex;
	if (fastpath_update(fp->skel->maps.fp_c2p_count, &ck, sizeof(ck), true) != 0 ||
	    fastpath_update(fp->skel->maps.fp_p2c_count, &pk, sizeof(pk), true) != 0 ||
	    bpf_map__update_elem(fp->skel->maps.fp_c2p, &ck, sizeof(ck), &cv, sizeof(cv),
		BPF_ANY) != 0 ||
	    bpf_map__update_elem(fp->skel->maps.fp_p2c, &pk, sizeof(pk), &pv, sizeof(pv),
		BPF_ANY) != 0) {
		int e = errno;

		fastpath_remove(fp, b);
		return cause_fail(cause, "cannot add the entries: %s", strerror(e));
	}
	return 0;
}

void
fastpath_remove(struct fastpath *fp, const struct fastpath_binding *b)
{
	struct fp_c2p_key ck;
	struct fp_c2p_val cv;
	struct fp_p2c_key pk;
	struct fp_p2c_val pv;

	if (fastpath_entries(b, &ck, &cv, &pk, &pv, NULL) != 0)
		return;
	bpf_map__delete_elem(fp->skel->maps.fp_c2p, &ck, sizeof(ck), 0);
	bpf_map__delete_elem(fp->skel->maps.fp_p2c, &pk, sizeof(pk), 0);
	bpf_map__delete_elem(fp->skel->maps.fp_c2p_count, &ck, sizeof(ck), 0);
	bpf_map__delete_elem(fp->skel->maps.fp_p2c_count, &pk, sizeof(pk), 0);
}

int
fastpath_read(struct fastpath *fp, const struct fastpath_binding *b, struct fastpath_counters *c)
{
	struct fp_c2p_key ck;
	struct fp_c2p_val cv;
	struct fp_p2c_key pk;
	struct fp_p2c_val pv;

	memset(c, 0, sizeof(*c));
	if (fastpath_entries(b, &ck, &cv, &pk, &pv, NULL) != 0)
		return -1;
	if (bpf_map__lookup_elem(fp->skel->maps.fp_c2p, &ck, sizeof(ck), &cv, sizeof(cv), 0) != 0 ||
	    fastpath_sum(fp->skel->maps.fp_c2p_count, &ck, sizeof(ck), &c->to_peer_packets,
		&c->to_peer_bytes) != 0 ||
	    fastpath_sum(fp->skel->maps.fp_p2c_count, &pk, sizeof(pk), &c->to_client_packets,
		&c->to_client_bytes) != 0)
		return -1;
	return 0;
}

static void
fastpath_detach(struct fastpath *fp, const struct fastpath_iface *i)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)i->ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = FP_TC_PRIORITY);

	(void)fp;
	if (i->link_fd >= 0)
		close(i->link_fd);
	else
		bpf_tc_detach(&hook, &opts);
}

void
fastpath_free(struct fastpath *fp)
{
	if (fp == NULL)
		return;
	for (int i = 0; i < fp->n_ifaces; i++)
		fastpath_detach(fp, &fp->ifaces[i]);
	fastpath_bpf__destroy(fp->skel);
	free(fp);
}
