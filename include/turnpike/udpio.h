/*
 * UDP datagrams in batches (recvmmsg where available) with the local address
 * each arrived on (IP_PKTINFO, IPV6_RECVPKTINFO) for sockets bound to a
 * wildcard address, and sends with a chosen source address, so that a client
 * of a wildcard listener hears back from the address it wrote to.
 */
#ifndef TURNPIKE_UDPIO_H
#define TURNPIKE_UDPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define UDPIO_BATCH 32

/* One batch of received datagrams; buffers allocated once, reused. */
struct udpio_rx;

/* Slots of dgram_max bytes (larger datagrams are dropped); NULL when out of memory. */
struct udpio_rx *udpio_rx_create(size_t dgram_max);
void udpio_rx_free(struct udpio_rx *rx);

/*
 * Reads up to UDPIO_BATCH datagrams from fd without blocking; returns how many
 * (0: nothing waiting, or an error such as a late ICMP report, which is not
 * fatal for UDP). local is the socket's bound address: each datagram's local
 * address is it, or the packet's destination when pktinfo reports one.
 */
int udpio_recv(struct udpio_rx *rx, int fd, const struct sockaddr *local);
/* Datagram i of the last batch: its bytes (len 0: truncated, drop it) and addresses. */
const uint8_t *udpio_data(const struct udpio_rx *rx, int i, size_t *len);
const struct sockaddr *udpio_src(const struct udpio_rx *rx, int i);
const struct sockaddr *udpio_dst(const struct udpio_rx *rx, int i);

/* Asks the kernel for each datagram's destination address (wildcard sockets). */
int udpio_enable_pktinfo(int fd, int family);

/*
 * Sends one datagram without blocking; from, when not NULL, is the source
 * address (its port is ignored: the socket's own is used). -1 with errno.
 */
int udpio_send(int fd, const struct sockaddr *from, const struct sockaddr *to, const void *data,
    size_t len);

/*
 * Datagrams queued for sending together: a flush hands consecutive datagrams
 * of one socket to one sendmmsg call, and a run of datagrams from one socket
 * to one destination with the same size (the last may be shorter) to the
 * kernel as one UDP GSO message (UDP_SEGMENT), which crosses the stack once.
 * A socket must stay open until the queue is flushed.
 */
#define UDPIO_TX_SLOTS 64
struct udpio_tx;

struct udpio_tx_stats {
	uint64_t datagrams; /* handed to the kernel */
	uint64_t dropped;   /* refused by the kernel: full buffer, unreachable... */
	uint64_t calls;     /* sendmmsg (or sendmsg) calls */
	uint64_t gso;       /* GSO messages, each carrying 2 or more datagrams */
};

/* NULL when out of memory; gso false never merges datagrams. */
struct udpio_tx *udpio_tx_create(bool gso);
/* Discards what is queued. */
void udpio_tx_free(struct udpio_tx *tx);
/*
 * Queues a copy of one datagram (flushing first when the queue is full); from
 * as for udpio_send. -1 with errno EMSGSIZE when len exceeds 65535.
 */
int udpio_tx_queue(struct udpio_tx *tx, int fd, const struct sockaddr *from,
    const struct sockaddr *to, const void *data, size_t len);
/* Sends everything queued (nothing, cheaply, when empty); returns how many the kernel refused. */
size_t udpio_tx_flush(struct udpio_tx *tx);
void udpio_tx_get_stats(const struct udpio_tx *tx, struct udpio_tx_stats *st);

#endif
