/* The echo peer of turnpike-bench load: recvmmsg in, sendmmsg back. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "turnpike/addr.h"
#include "turnpike/cause.h"
#include "turnpike/loadpeer.h"
#include "turnpike/netio.h"

#define LOADPEER_BATCH 64
#define LOADPEER_MAX_BATCHES 32
#define LOADPEER_DGRAM 2048
#define LOADPEER_SOCKBUF (8 * 1024 * 1024)

/* A socket made in the network namespace netns; this process stays in its own. */
static int
loadpeer_socket_in(int family, const char *netns, char **cause)
{
	char path[4096];
	int self, there, fd, err;

	if (strchr(netns, '/') != NULL)
		snprintf(path, sizeof(path), "%s", netns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
	if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		return cause_fail(cause, "echo peer: /proc/self/ns/net: %s", strerror(errno));
	if ((there = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err = errno;
		close(self);
		return cause_fail(cause, "echo peer: %s: %s", path, strerror(err));
	}
	if (setns(there, CLONE_NEWNET) == -1) {
		err = errno;
		close(there);
		close(self);
		return cause_fail(cause, "echo peer: cannot enter %s: %s", path, strerror(err));
	}
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	err = errno;
	close(there);
	if (setns(self, CLONE_NEWNET) == -1) {
		/* Still in the peer's namespace: nothing after this would be right. */
		perror("turnpike-bench load: cannot return to the own network namespace");
		_exit(1);
	}
	close(self);
	if (fd == -1)
		return cause_fail(cause, "echo peer socket in %s: %s", path, strerror(err));
	return fd;
}

int
loadpeer_open(struct loadpeer *p, const struct sockaddr *ip, const char *netns, char **cause)
{
	socklen_t sl = sizeof(p->addr);
	int size = LOADPEER_SOCKBUF;

	memset(p, 0, sizeof(*p));
	if (netns != NULL) {
		if ((p->fd = loadpeer_socket_in(ip->sa_family, netns, cause)) == -1)
			return -1;
	} else if ((p->fd = socket(ip->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) ==
	    -1)
		return cause_fail(cause, "echo peer socket: %s", strerror(errno));
	/*
	 * One socket takes every flow's datagrams: past net.core.rmem_max when allowed
	 * (CAP_NET_ADMIN), so that a short stall of this process does not read as loss.
	 */
	if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == -1)
		(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(p->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) == -1)
		(void)setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* Each datagram read says how many the socket dropped so far (loadpeer.drops). */
	(void)setsockopt(p->fd, SOL_SOCKET, SO_RXQ_OVFL, &(int){1}, sizeof(int));
	if (bind(p->fd, ip, addr_len(ip)) == -1 ||
	    getsockname(p->fd, (struct sockaddr *)&p->addr, &sl) == -1) {
		cause_fail(cause, "echo peer bind: %s", strerror(errno));
		loadpeer_close(p);
		return -1;
	}
	return 0;
}

void
loadpeer_close(struct loadpeer *p)
{
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
}

unsigned int
loadpeer_pump(struct loadpeer *p)
{
	static __thread uint8_t bufs[LOADPEER_BATCH][LOADPEER_DGRAM];
	static __thread uint8_t ctl[LOADPEER_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	struct mmsghdr msgs[LOADPEER_BATCH];
	struct cmsghdr *cm;
	uint32_t dropped;
	struct sockaddr_storage from[LOADPEER_BATCH];
	struct iovec iov[LOADPEER_BATCH];
	unsigned int handled = 0, batch, i, done;
	int n, s;

	for (batch = 0; batch < LOADPEER_MAX_BATCHES; batch++) {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < LOADPEER_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_control = ctl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		if ((n = recvmmsg(p->fd, msgs, LOADPEER_BATCH, MSG_DONTWAIT, NULL)) <= 0)
			break;
		p->rx += (uint64_t)n;
		handled += (unsigned int)n;
		for (i = 0; i < (unsigned int)n; i++) {
			iov[i].iov_len = msgs[i].msg_len;
			/* The drop count so far (a running total); nothing of it is sent back. */
			for (cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm != NULL;
			     cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL &&
				    cm->cmsg_len >= CMSG_LEN(sizeof(dropped))) {
					memcpy(&dropped, CMSG_DATA(cm), sizeof(dropped));
					if (dropped > p->drops)
						p->drops = dropped;
				}
			msgs[i].msg_hdr.msg_control = NULL;
			msgs[i].msg_hdr.msg_controllen = 0;
		}
		/* The received names and lengths stay in msgs: send them straight back. */
		for (done = 0; done < (unsigned int)n;) {
			s = sendmmsg(p->fd, msgs + done, (unsigned int)n - done, MSG_DONTWAIT);
			if (s <= 0) {
				if (s == -1 && errno == EINTR)
					continue;
				/* Full buffers or an unreachable relay: this echo is lost; go on. */
				p->tx_fail++;
				done++;
				continue;
			}
			p->tx += (uint64_t)s;
			done += (unsigned int)s;
		}
		if (n < LOADPEER_BATCH)
			break;
	}
	return handled;
}
