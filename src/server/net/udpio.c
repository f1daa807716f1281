/* UDP batches with destination addresses, and sends with a chosen source address. */
#include "config.h"

#include <errno.h>
#include <netinet/udp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "turnpike/addr.h"
#include "turnpike/udpio.h"

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
union udpio_ctl {
	struct cmsghdr align;
	uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

struct udpio_rx {
	size_t dgram_max;
	uint8_t *bufs; /* UDPIO_BATCH slots of dgram_max bytes */
	size_t len[UDPIO_BATCH];
	struct sockaddr_storage src[UDPIO_BATCH];
	struct sockaddr_storage dst[UDPIO_BATCH];
	union udpio_ctl ctl[UDPIO_BATCH];
	struct iovec iov[UDPIO_BATCH];
#ifdef HAVE_RECVMMSG
	struct mmsghdr msgs[UDPIO_BATCH];
#else
	struct msghdr msg;
#endif
};

static void
udpio_prepare(struct udpio_rx *rx, int i, struct msghdr *h)
{
	rx->iov[i].iov_base = rx->bufs + (size_t)i * rx->dgram_max;
	rx->iov[i].iov_len = rx->dgram_max;
	memset(h, 0, sizeof *h);
	h->msg_iov = &rx->iov[i];
	h->msg_iovlen = 1;
	h->msg_name = &rx->src[i];
	h->msg_namelen = sizeof rx->src[i];
	h->msg_control = rx->ctl[i].buf;
	h->msg_controllen = sizeof rx->ctl[i].buf;
}

#ifdef HAVE_RECVMMSG
/* Every slot once: a read then resets only the slots the kernel wrote. */
static void
udpio_prepare_all(struct udpio_rx *rx)
{
	int i;

	for (i = 0; i < UDPIO_BATCH; i++)
		udpio_prepare(rx, i, &rx->msgs[i].msg_hdr);
}
#else
static void
udpio_prepare_all(struct udpio_rx *rx)
{
	udpio_prepare(rx, 0, &rx->msg);
}
#endif

struct udpio_rx *
udpio_rx_create(size_t dgram_max)
{
	struct udpio_rx *rx;

	if ((rx = calloc(1, sizeof *rx)) == NULL)
		return NULL;
	rx->dgram_max = dgram_max;
	if ((rx->bufs = malloc(UDPIO_BATCH * dgram_max)) == NULL) {
		free(rx);
		return NULL;
	}
	udpio_prepare_all(rx);
	return rx;
}

void
udpio_rx_free(struct udpio_rx *rx)
{
	if (rx == NULL)
		return;
	free(rx->bufs);
	free(rx);
}

/* The datagram's destination from pktinfo, else the bound address. */
static void
udpio_local(struct sockaddr_storage *dst, struct msghdr *h, const struct sockaddr *local)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)dst;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)dst;
	struct cmsghdr *c;

	memcpy(dst, local, addr_len(local));
	if (!addr_is_any(local))
		return;
	for (c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
		if (local->sa_family == AF_INET && c->cmsg_level == IPPROTO_IP &&
		    c->cmsg_type == IP_PKTINFO) {
			memcpy(&sin->sin_addr,
			    &((const struct in_pktinfo *)(const void *)CMSG_DATA(c))->ipi_addr,
			    sizeof sin->sin_addr);
		} else if (local->sa_family == AF_INET6 && c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&sin6->sin6_addr,
			    &((const struct in6_pktinfo *)(const void *)CMSG_DATA(c))->ipi6_addr,
			    sizeof sin6->sin6_addr);
		}
	}
}

static void
udpio_finish(struct udpio_rx *rx, int i, struct msghdr *h, size_t n, const struct sockaddr *local)
{
	rx->len[i] = h->msg_flags & MSG_TRUNC ? 0 : n;
	udpio_local(&rx->dst[i], h, local);
}

#ifdef HAVE_RECVMMSG
int
udpio_recv(struct udpio_rx *rx, int fd, const struct sockaddr *local)
{
	struct msghdr *h;
	int i, n;

	if ((n = recvmmsg(fd, rx->msgs, UDPIO_BATCH, MSG_DONTWAIT, NULL)) <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		h = &rx->msgs[i].msg_hdr;
		udpio_finish(rx, i, h, rx->msgs[i].msg_len, local);
		/* The kernel wrote these three: ready for the next read, once finished. */
		h->msg_namelen = sizeof rx->src[i];
		h->msg_controllen = sizeof rx->ctl[i].buf;
		h->msg_flags = 0;
	}
	return n;
}
#else
/* Without recvmmsg: one datagram per call. */
int
udpio_recv(struct udpio_rx *rx, int fd, const struct sockaddr *local)
{
	ssize_t n;

	udpio_prepare(rx, 0, &rx->msg);
	if ((n = recvmsg(fd, &rx->msg, MSG_DONTWAIT)) < 0)
		return 0;
	udpio_finish(rx, 0, &rx->msg, (size_t)n, local);
	return 1;
}
#endif

const uint8_t *
udpio_data(const struct udpio_rx *rx, int i, size_t *len)
{
	*len = rx->len[i];
	return rx->bufs + (size_t)i * rx->dgram_max;
}

const struct sockaddr *
udpio_src(const struct udpio_rx *rx, int i)
{
	return (const struct sockaddr *)&rx->src[i];
}

const struct sockaddr *
udpio_dst(const struct udpio_rx *rx, int i)
{
	return (const struct sockaddr *)&rx->dst[i];
}

int
udpio_enable_pktinfo(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
	return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
}

/* Writes at c the control message that sets the source address of one send; its space. */
static size_t
udpio_cmsg_source(struct cmsghdr *c, const struct sockaddr *from)
{
	struct in_pktinfo pi;
	struct in6_pktinfo pi6;

	if (from->sa_family == AF_INET6) {
		memset(&pi6, 0, sizeof pi6);
		pi6.ipi6_addr = ((const struct sockaddr_in6 *)(const void *)from)->sin6_addr;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi6);
		memcpy(CMSG_DATA(c), &pi6, sizeof pi6);
		return CMSG_SPACE(sizeof pi6);
	}
	memset(&pi, 0, sizeof pi);
	pi.ipi_spec_dst = ((const struct sockaddr_in *)(const void *)from)->sin_addr;
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof pi);
	memcpy(CMSG_DATA(c), &pi, sizeof pi);
	return CMSG_SPACE(sizeof pi);
}

static size_t
udpio_source(union udpio_ctl *ctl, const struct sockaddr *from)
{
	memset(ctl, 0, sizeof *ctl);
	return udpio_cmsg_source(&ctl->align, from);
}

int
udpio_send(int fd, const struct sockaddr *from, const struct sockaddr *to, const void *data,
    size_t len)
{
	union udpio_ctl ctl;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
	struct msghdr h;

	if (from == NULL)
		return sendto(fd, data, len, MSG_DONTWAIT, to, addr_len(to)) < 0 ? -1 : 0;
	memset(&h, 0, sizeof h);
	h.msg_name = (void *)(uintptr_t)to;
	h.msg_namelen = addr_len(to);
	h.msg_iov = &iov;
	h.msg_iovlen = 1;
	h.msg_control = ctl.buf;
	h.msg_controllen = udpio_source(&ctl, from);
	return sendmsg(fd, &h, MSG_DONTWAIT) < 0 ? -1 : 0;
}

/* GSO runs: segments no larger than fits a 1500-byte MTU, at most 64 of them, under 64 KiB. */
#define UDPIO_GSO_SEG_MAX 1400
#define UDPIO_GSO_SEGS_MAX 64
#define UDPIO_GSO_BYTES_MAX 65000
/* GSO refusals (old kernel, device without checksum offload) before a queue stops trying. */
#define UDPIO_GSO_FAILURES_MAX 8
#define UDPIO_TX_ARENA (4 * 65536)

struct udpio_txslot {
	int fd;
	bool has_from;
	size_t off, len;
	struct sockaddr_storage from, to;
};

/* Room for a source address and a segment size. */
union udpio_txctl {
	struct cmsghdr align;
	uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
};

struct udpio_tx {
	bool gso;
	unsigned gso_failures;
	size_t n, used;
	struct udpio_txslot q[UDPIO_TX_SLOTS];
	/* message m of a flush: slots first[m] to first[m] + count[m] - 1 */
	size_t first[UDPIO_TX_SLOTS], count[UDPIO_TX_SLOTS];
	struct iovec iov[UDPIO_TX_SLOTS];
	union udpio_txctl ctl[UDPIO_TX_SLOTS];
#ifdef HAVE_SENDMMSG
	struct mmsghdr msgs[UDPIO_TX_SLOTS];
#else
	struct msghdr msgs[UDPIO_TX_SLOTS];
#endif
	struct udpio_tx_stats stats;
	uint8_t arena[UDPIO_TX_ARENA];
};

struct udpio_tx *
udpio_tx_create(bool gso)
{
	struct udpio_tx *tx;

	if ((tx = calloc(1, sizeof *tx)) == NULL)
		return NULL;
#ifdef UDP_SEGMENT
	tx->gso = gso;
#else
	(void)gso;
#endif
	return tx;
}

void
udpio_tx_free(struct udpio_tx *tx)
{
	free(tx);
}

void
udpio_tx_get_stats(const struct udpio_tx *tx, struct udpio_tx_stats *st)
{
	*st = tx->stats;
}

int
udpio_tx_queue(struct udpio_tx *tx, int fd, const struct sockaddr *from, const struct sockaddr *to,
    const void *data, size_t len)
{
	struct udpio_txslot *s;

	if (len > 65535) {
		errno = EMSGSIZE;
		return -1;
	}
	if (tx->n == UDPIO_TX_SLOTS || tx->used + len > sizeof tx->arena)
		udpio_tx_flush(tx);
	s = &tx->q[tx->n++];
	s->fd = fd;
	s->has_from = from != NULL;
	if (from != NULL)
		memcpy(&s->from, from, addr_len(from));
	memcpy(&s->to, to, addr_len(to));
	s->off = tx->used;
	s->len = len;
	if (len > 0)
		memcpy(tx->arena + tx->used, data, len);
	tx->used += len;
	return 0;
}

/* How many slots from i go out as one message: a GSO run, or 1. */
static size_t
udpio_tx_run(const struct udpio_tx *tx, size_t i)
{
	const struct udpio_txslot *a = &tx->q[i], *b;
	size_t j, total = a->len;

	if (!tx->gso || a->len == 0 || a->len > UDPIO_GSO_SEG_MAX)
		return 1;
	for (j = i + 1; j < tx->n && j - i < UDPIO_GSO_SEGS_MAX; j++) {
		b = &tx->q[j];
		if (b->fd != a->fd || b->len == 0 || b->len > a->len ||
		    total + b->len > UDPIO_GSO_BYTES_MAX || b->has_from != a->has_from ||
		    !addr_equal((const struct sockaddr *)&b->to, (const struct sockaddr *)&a->to) ||
		    (a->has_from &&
			!addr_equal((const struct sockaddr *)&b->from,
			    (const struct sockaddr *)&a->from)))
			break;
		total += b->len;
		if (b->len < a->len)
			return j - i + 1; /* a shorter datagram ends a run */
	}
	return j - i;
}

static struct msghdr *
udpio_tx_hdr(struct udpio_tx *tx, size_t m)
{
#ifdef HAVE_SENDMMSG
	return &tx->msgs[m].msg_hdr;
#else
	return &tx->msgs[m];
#endif
}

/* Message m: slots i to i + k - 1, contiguous in the arena. */
static void
udpio_tx_msg(struct udpio_tx *tx, size_t m, size_t i, size_t k)
{
	const struct udpio_txslot *a = &tx->q[i], *last = &tx->q[i + k - 1];
	struct msghdr *h = udpio_tx_hdr(tx, m);
	size_t clen = 0;
	struct cmsghdr *c;
	uint16_t seg;

	tx->first[m] = i;
	tx->count[m] = k;
	tx->iov[m].iov_base = tx->arena + a->off;
	tx->iov[m].iov_len = last->off + last->len - a->off;
	memset(h, 0, sizeof *h);
	h->msg_name = (void *)(uintptr_t)&a->to;
	h->msg_namelen = addr_len((const struct sockaddr *)&a->to);
	h->msg_iov = &tx->iov[m];
	h->msg_iovlen = 1;
	memset(&tx->ctl[m], 0, sizeof tx->ctl[m]);
	if (a->has_from)
		clen = udpio_cmsg_source(&tx->ctl[m].align, (const struct sockaddr *)&a->from);
#ifdef UDP_SEGMENT
	if (k > 1) {
		c = (struct cmsghdr *)(void *)(tx->ctl[m].buf + clen);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof seg);
		seg = (uint16_t)a->len;
		memcpy(CMSG_DATA(c), &seg, sizeof seg);
		clen += CMSG_SPACE(sizeof seg);
	}
#else
	(void)c;
	(void)seg;
#endif
	if (clen > 0) {
		h->msg_control = tx->ctl[m].buf;
		h->msg_controllen = clen;
	}
}

/* Sends messages from m on; how many went out before one was refused (-1: the first). */
static int
udpio_tx_send(struct udpio_tx *tx, int fd, size_t m, size_t n)
{
#ifdef HAVE_SENDMMSG
	return sendmmsg(fd, &tx->msgs[m], (unsigned int)n, MSG_DONTWAIT);
#else
	size_t i;

	for (i = 0; i < n; i++)
		if (sendmsg(fd, &tx->msgs[m + i], MSG_DONTWAIT) < 0)
			return i == 0 ? -1 : (int)i;
	return (int)n;
#endif
}

/* A refused GSO message: its datagrams one by one. */
static void
udpio_tx_split(struct udpio_tx *tx, int fd, size_t m, int err)
{
	const struct udpio_txslot *s;
	size_t i;

	if ((err == EIO || err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP) &&
	    ++tx->gso_failures >= UDPIO_GSO_FAILURES_MAX)
		tx->gso = false;
	for (i = tx->first[m]; i < tx->first[m] + tx->count[m]; i++) {
		s = &tx->q[i];
		tx->stats.calls++;
		if (udpio_send(fd, s->has_from ? (const struct sockaddr *)&s->from : NULL,
			(const struct sockaddr *)&s->to, tx->arena + s->off, s->len) == 0)
			tx->stats.datagrams++;
		else
			tx->stats.dropped++;
	}
}

size_t
udpio_tx_flush(struct udpio_tx *tx)
{
	uint64_t before = tx->stats.dropped;
	size_t i = 0, m, k, sent, j;
	int fd, r;

	while (i < tx->n) {
		fd = tx->q[i].fd;
		for (m = 0; i < tx->n && tx->q[i].fd == fd; m++) {
			k = udpio_tx_run(tx, i);
			udpio_tx_msg(tx, m, i, k);
			i += k;
		}
		for (sent = 0; sent < m;) {
			tx->stats.calls++;
			if ((r = udpio_tx_send(tx, fd, sent, m - sent)) > 0) {
				for (j = sent; j < sent + (size_t)r; j++) {
					tx->stats.datagrams += tx->count[j];
					if (tx->count[j] > 1)
						tx->stats.gso++;
				}
				sent += (size_t)r;
				continue;
			}
			/* The message at sent was refused: full buffer, unreachable, or GSO. */
			if (tx->count[sent] > 1)
				udpio_tx_split(tx, fd, sent, errno);
			else
				tx->stats.dropped++;
			sent++;
		}
	}
	tx->n = 0;
	tx->used = 0;
	return (size_t)(tx->stats.dropped - before);
}
