/*
 * Shared relay sockets (relayshared.h): per worker, one UDP socket per relay
 * address that the sk_lookup program steers allocated ports into, a table
 * from port to allocation, and raw sockets that send from any relay port.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "turnpike/addr.h"
#include "turnpike/cause.h"
#include "turnpike/portpool.h"
#include "turnpike/relay.h"
#include "turnpike/relayaddr.h"
#include "turnpike/relayshared.h"
#include "turnpike/sklookup.h"

/* Datagrams per recvmmsg, and larger datagrams are dropped (as relay.c). */
#define RS_BATCH 32
#define RS_DGRAM_MAX 8192
/* recvmmsg calls per wakeup before yielding to other events. */
#define RS_ROUNDS 8
/* Ports tried for a shared socket's own port. */
#define RS_BIND_TRIES 16
/* Receive buffer of a shared socket: it takes what many relay sockets took. */
#define RS_RCVBUF (8 * 1024 * 1024)
#define RS_SNDBUF (4 * 1024 * 1024)
#define RS_TTL 64
#define RS_IP4_HDR 20
#define RS_IP6_HDR 40
#define RS_UDP_HDR 8

struct rs_sock {
	struct relayshared *rs;
	int fd;
	struct event *ev;
	size_t addr;   /* pool address index */
	uint16_t port; /* its own port, from the pool */
	uint32_t slot; /* in the sk_lookup socket map */
};

struct relayshared {
	struct relayshared_setup setup;
	size_t nports;
	struct rs_sock *socks; /* one per pool address; fd -1 when unused */
	void ***owner;         /* owner[addr][port - min_port]: the allocation's handle */
	int raw4, raw6;        /* -1 when no relay address has that family */
	struct relayshared_stats stats;
	struct mmsghdr msgs[RS_BATCH];
	struct iovec iov[RS_BATCH];
	struct sockaddr_storage src[RS_BATCH];
	uint8_t ctl[RS_BATCH][64];
	uint8_t *bufs; /* RS_BATCH * RS_DGRAM_MAX */
};

static void
rs_bufsize(int fd, int opt_force, int opt, int size)
{
	if (setsockopt(fd, SOL_SOCKET, opt_force, &size, sizeof size) != 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

/* The 16-bit one's complement sum of len bytes, added to sum (RFC 1071). */
static uint32_t
rs_sum(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint16_t w;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		memcpy(&w, b + i, 2);
		sum += w;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, b + i, 1);
		sum += w;
	}
	return sum;
}

static uint16_t
rs_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The UDP header from sport to peer over len bytes of data, its checksum included. */
static void
rs_udp_header(uint8_t *udp, const void *src, const void *dst, size_t alen, uint16_t sport,
    uint16_t dport, const void *data, size_t len)
{
	uint16_t ulen = htons((uint16_t)(RS_UDP_HDR + len)), proto = htons(IPPROTO_UDP), csum;
	uint32_t sum;

	memcpy(udp, &sport, 2);
	memcpy(udp + 2, &dport, 2);
	memcpy(udp + 4, &ulen, 2);
	memset(udp + 6, 0, 2);
	/* RFC 768, RFC 8200 §8.1: the pseudo-header, then the header and the data. */
	sum = rs_sum(0, src, alen);
	sum = rs_sum(sum, dst, alen);
	sum = rs_sum(sum, &proto, 2);
	sum = rs_sum(sum, &ulen, 2);
	sum = rs_sum(sum, udp, RS_UDP_HDR);
	sum = rs_sum(sum, data, len);
	csum = rs_fold(sum);
	if (csum == 0)
		csum = 0xffff;
	memcpy(udp + 6, &csum, 2);
}

int
relayshared_send(struct relayshared *rs, size_t addr, uint16_t port, const struct sockaddr *peer,
    const void *data, size_t len, bool df)
{
	const struct sockaddr *local = (const struct sockaddr *)&rs->setup.addrs->v[addr].local;
	uint8_t hdr[RS_IP6_HDR + RS_UDP_HDR];
	struct sockaddr_storage to;
	struct iovec iov[2];
	struct msghdr m;
	size_t hlen;
	uint16_t v;
	int fd;

	if (len > 65535 - RS_IP6_HDR - RS_UDP_HDR || peer->sa_family != local->sa_family) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(hdr, 0, sizeof hdr);
	memcpy(&to, peer, addr_len(peer));
	addr_set_port((struct sockaddr *)&to, 0);
	if (local->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)local;
		const struct sockaddr_in *p4 = (const struct sockaddr_in *)(const void *)peer;

		fd = rs->raw4;
		hlen = RS_IP4_HDR;
		hdr[0] = 0x45;
		v = htons((uint16_t)(hlen + RS_UDP_HDR + len)); /* the kernel sets it too */
		memcpy(hdr + 2, &v, 2);
		v = htons(df ? 0x4000 : 0); /* the id and the header checksum: the kernel's */
		memcpy(hdr + 6, &v, 2);
		hdr[8] = RS_TTL;
		hdr[9] = IPPROTO_UDP;
		memcpy(hdr + 12, &s4->sin_addr, 4);
		memcpy(hdr + 16, &p4->sin_addr, 4);
		rs_udp_header(hdr + hlen, &s4->sin_addr, &p4->sin_addr, 4, htons(port),
		    p4->sin_port, data, len);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)local;
		const struct sockaddr_in6 *p6 = (const struct sockaddr_in6 *)(const void *)peer;

		fd = rs->raw6;
		hlen = RS_IP6_HDR;
		hdr[0] = 0x60;
		v = htons((uint16_t)(RS_UDP_HDR + len));
		memcpy(hdr + 4, &v, 2);
		hdr[6] = IPPROTO_UDP;
		hdr[7] = RS_TTL;
		memcpy(hdr + 8, &s6->sin6_addr, 16);
		memcpy(hdr + 24, &p6->sin6_addr, 16);
		rs_udp_header(hdr + hlen, &s6->sin6_addr, &p6->sin6_addr, 16, htons(port),
		    p6->sin6_port, data, len);
	}
	if (fd == -1) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	iov[0].iov_base = hdr;
	iov[0].iov_len = hlen + RS_UDP_HDR;
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	memset(&m, 0, sizeof m);
	m.msg_name = &to;
	m.msg_namelen = addr_len((const struct sockaddr *)&to);
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	return sendmsg(fd, &m, MSG_DONTWAIT) >= 0 ? 0 : -1;
}

/* The original destination of received message i; NULL when the kernel gave none. */
static const struct sockaddr *
rs_origdst(struct msghdr *m)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR &&
			c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in))) ||
		    (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR &&
			c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in6))))
			return (const struct sockaddr *)(const void *)CMSG_DATA(c);
	}
	return NULL;
}

/* Hands datagram i to its allocation, found by its destination port. */
static void
rs_dispatch(struct rs_sock *k, int i)
{
	struct relayshared *rs = k->rs;
	struct msghdr *m = &rs->msgs[i].msg_hdr;
	struct sockaddr_storage dst;
	const struct sockaddr *od;
	uint16_t port;
	void *handle = NULL;

	if ((od = rs_origdst(m)) != NULL && (m->msg_flags & MSG_TRUNC) == 0) {
		memcpy(&dst, od,
		    od->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					      : sizeof(struct sockaddr_in));
		port = addr_port((const struct sockaddr *)&dst);
		if (port >= rs->setup.min_port && port <= rs->setup.max_port &&
		    addr_equal_ip((const struct sockaddr *)&dst,
			(const struct sockaddr *)&rs->setup.addrs->v[k->addr].local))
			handle = rs->owner[k->addr][port - rs->setup.min_port];
	}
	if (handle == NULL) {
		rs->stats.unclaimed++;
		return;
	}
	rs->setup.deliver(rs->setup.arg, handle, (const struct sockaddr *)&rs->src[i],
	    rs->bufs + (size_t)i * RS_DGRAM_MAX, rs->msgs[i].msg_len);
}

static void
rs_read(evutil_socket_t fd, short what, void *arg)
{
	struct rs_sock *k = arg;
	struct relayshared *rs = k->rs;
	int round, i, n;

	(void)what;
	for (round = 0; round < RS_ROUNDS; round++) {
		for (i = 0; i < RS_BATCH; i++) {
			rs->msgs[i].msg_hdr.msg_namelen = sizeof rs->src[i];
			rs->msgs[i].msg_hdr.msg_controllen = sizeof rs->ctl[i];
			rs->msgs[i].msg_hdr.msg_flags = 0;
		}
		if ((n = recvmmsg(fd, rs->msgs, RS_BATCH, MSG_DONTWAIT, NULL)) <= 0)
			break;
		for (i = 0; i < n; i++)
			rs_dispatch(k, i);
		rs->setup.batch_end(rs->setup.arg);
		if (n < RS_BATCH)
			break;
	}
}

/* The shared socket of pool address addr, on a port of its own from the pool. */
static int
rs_sock_open(struct relayshared *rs, size_t addr, char **cause)
{
	const struct sockaddr_storage *local = &rs->setup.addrs->v[addr].local;
	struct rs_sock *k = &rs->socks[addr];
	int one = 1, tries, v6 = local->ss_family == AF_INET6;
	char a[ADDR_STRLEN];

	k->rs = rs;
	k->addr = addr;
	for (tries = 0; tries < RS_BIND_TRIES && k->fd == -1; tries++) {
		if (portpool_get(rs->setup.pool, addr, false, false, &k->port) != 0)
			break;
		if ((k->fd = relay_bind(local, k->port)) == -1)
			portpool_put(rs->setup.pool, addr, k->port);
		else
			break;
	}
	addr_fmt((const struct sockaddr *)local, false, a, sizeof a);
	if (k->fd == -1)
		return cause_fail(cause, "worker %d: cannot bind a shared relay socket on %s: %s",
		    rs->setup.worker_id, a, strerror(errno));
	if (setsockopt(k->fd, v6 ? SOL_IPV6 : SOL_IP,
		v6 ? IPV6_RECVORIGDSTADDR : IP_RECVORIGDSTADDR, &one, sizeof one) != 0)
		return cause_fail(cause, "worker %d: IP_RECVORIGDSTADDR on %s: %s",
		    rs->setup.worker_id, a, strerror(errno));
	rs_bufsize(k->fd, SO_RCVBUFFORCE, SO_RCVBUF, RS_RCVBUF);
	if (sklookup_add_sock(rs->setup.sklookup, k->fd, &k->slot, cause) != 0)
		return -1;
	k->ev = event_new(rs->setup.base, k->fd, EV_READ | EV_PERSIST, rs_read, k);
	if (k->ev == NULL || event_add(k->ev, NULL) != 0)
		return cause_fail(cause, "worker %d: out of memory", rs->setup.worker_id);
	return 0;
}

/* A raw socket that sends IP packets built here (IPPROTO_RAW: it never receives). */
static int
rs_raw_open(int family, char **cause)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd == -1)
		return cause_fail(cause,
		    "cannot open a raw %s socket for shared relay sockets (needs CAP_NET_RAW): %s",
		    family == AF_INET ? "IPv4" : "IPv6", strerror(errno));
	rs_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, RS_SNDBUF);
	return fd;
}

int
relayshared_check(int family, char **cause)
{
	int fd = rs_raw_open(family, cause);

	if (fd == -1)
		return -1;
	close(fd);
	return 0;
}

static int
rs_alloc(struct relayshared *rs, size_t n)
{
	size_t i;

	if ((rs->socks = calloc(n, sizeof *rs->socks)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		rs->socks[i].fd = -1;
	if ((rs->owner = calloc(n, sizeof *rs->owner)) == NULL ||
	    (rs->bufs = malloc((size_t)RS_BATCH * RS_DGRAM_MAX)) == NULL)
		return -1;
	/* Pages of a table stay unmapped until a port of theirs is claimed. */
	for (i = 0; i < n; i++) {
		if ((rs->owner[i] = calloc(rs->nports, sizeof *rs->owner[i])) == NULL)
			return -1;
	}
	for (i = 0; i < RS_BATCH; i++) {
		rs->iov[i].iov_base = rs->bufs + i * RS_DGRAM_MAX;
		rs->iov[i].iov_len = RS_DGRAM_MAX;
		rs->msgs[i].msg_hdr.msg_name = &rs->src[i];
		rs->msgs[i].msg_hdr.msg_iov = &rs->iov[i];
		rs->msgs[i].msg_hdr.msg_iovlen = 1;
		rs->msgs[i].msg_hdr.msg_control = rs->ctl[i];
	}
	return 0;
}

int
relayshared_create(const struct relayshared_setup *setup, struct relayshared **rsp, char **cause)
{
	struct relayshared *rs;
	size_t i, n = setup->addrs->n;

	*rsp = NULL;
	if ((rs = calloc(1, sizeof *rs)) == NULL)
		return cause_fail(cause, "out of memory");
	rs->raw4 = rs->raw6 = -1;
	rs->setup = *setup;
	rs->nports = (size_t)setup->max_port - setup->min_port + 1;
	if (rs_alloc(rs, n) != 0) {
		relayshared_free(rs);
		return cause_fail(cause, "out of memory");
	}
	for (i = 0; i < n; i++) {
		if (setup->addrs->v[i].local.ss_family == AF_INET && rs->raw4 == -1 &&
		    (rs->raw4 = rs_raw_open(AF_INET, cause)) == -1)
			goto fail;
		if (setup->addrs->v[i].local.ss_family == AF_INET6 && rs->raw6 == -1 &&
		    (rs->raw6 = rs_raw_open(AF_INET6, cause)) == -1)
			goto fail;
		if (rs_sock_open(rs, i, cause) != 0)
			goto fail;
	}
	*rsp = rs;
	return 0;
fail:
	relayshared_free(rs);
	return -1;
}

int
relayshared_claim(struct relayshared *rs, size_t addr, uint16_t port, void *handle)
{
	struct sockaddr_storage relay = rs->setup.addrs->v[addr].local;
	void **slot;
	int fd, saved;

	if (port < rs->setup.min_port || port > rs->setup.max_port) {
		errno = EINVAL;
		return -1;
	}
	slot = &rs->owner[addr][port - rs->setup.min_port];
	if (*slot != NULL) {
		errno = EADDRINUSE;
		return -1;
	}
	/* Nothing else on this host may hold the port: a bind tells (EADDRINUSE). */
	if ((fd = relay_bind(&relay, port)) == -1)
		return -1;
	close(fd);
	addr_set_port((struct sockaddr *)&relay, port);
	if (sklookup_steer(rs->setup.sklookup, (const struct sockaddr *)&relay,
		rs->socks[addr].slot) != 0) {
		saved = errno;
		errno = saved == E2BIG ? ENOMEM : saved;
		return -1;
	}
	*slot = handle;
	return 0;
}

void
relayshared_claim_set(struct relayshared *rs, size_t addr, uint16_t port, void *handle)
{
	if (port >= rs->setup.min_port && port <= rs->setup.max_port)
		rs->owner[addr][port - rs->setup.min_port] = handle;
}

void
relayshared_release(struct relayshared *rs, size_t addr, uint16_t port)
{
	struct sockaddr_storage relay = rs->setup.addrs->v[addr].local;

	if (port < rs->setup.min_port || port > rs->setup.max_port)
		return;
	addr_set_port((struct sockaddr *)&relay, port);
	sklookup_unsteer(rs->setup.sklookup, (const struct sockaddr *)&relay);
	rs->owner[addr][port - rs->setup.min_port] = NULL;
}

void
relayshared_stats(const struct relayshared *rs, struct relayshared_stats *st)
{
	*st = rs->stats;
}

void
relayshared_free(struct relayshared *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; rs->socks != NULL && i < rs->setup.addrs->n; i++) {
		if (rs->socks[i].ev != NULL)
			event_free(rs->socks[i].ev);
		if (rs->socks[i].fd == -1)
			continue;
		close(rs->socks[i].fd);
		portpool_put(rs->setup.pool, i, rs->socks[i].port);
	}
	for (i = 0; rs->owner != NULL && i < rs->setup.addrs->n; i++)
		free(rs->owner[i]);
	if (rs->raw4 != -1)
		close(rs->raw4);
	if (rs->raw6 != -1)
		close(rs->raw6);
	free(rs->owner);
	free(rs->socks);
	free(rs->bufs);
	free(rs);
}
