/* UDP batches with destination addresses, and sends with a chosen source address. */
#include "config.h"

#include <errno.h>
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

/* The control message that sets the source address of one send. */
static size_t
udpio_source(union udpio_ctl *ctl, const struct sockaddr *from)
{
	struct cmsghdr *c = &ctl->align;
	struct in_pktinfo pi;
	struct in6_pktinfo pi6;

	memset(ctl, 0, sizeof *ctl);
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
