/*
 * TCP relay connections (RFC 6062): outbound connections from a relayed
 * address, inbound ones accepted on it, and the splice between a peer
 * connection and its client data connection once bound. Bytes are moved
 * between the two bufferevents with flow control: when one side's output
 * holds TCPRELAY_HIGH bytes, the other side is not read until it drains to
 * half of that.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "turnpike/addr.h"
#include "turnpike/relay.h"
#include "turnpike/tcpconn.h"
#include "turnpike/tcprelay.h"
#include "turnpike/turn.h"

/* Unsent bytes one side may hold before the other side is no longer read. */
#define TCPRELAY_HIGH (256 * 1024)
/* Bytes read per callback at most (bufferevent's read high-water mark). */
#define TCPRELAY_READ_MAX (64 * 1024)
#define TCPRELAY_BACKLOG 16
/* Seconds a closing side gets to write what it still holds. */
#define TCPRELAY_FLUSH_SECONDS 10

struct tcprelay_peer {
	struct tcprelay *tr;
	struct bufferevent *peer;         /* to the peer */
	struct bufferevent *client;       /* the bound client data connection, or NULL */
	struct tcpconn *c;                /* the core's; NULL once the core forgot it */
	struct ev_token_bucket_cfg *rate; /* max-bps, NULL for none */
	bool connecting;
	LIST_ENTRY(tcprelay_peer) entry;
};

struct tcprelay {
	struct event_base *base;
	int worker_id;
	struct turn *turn;
	LIST_HEAD(, tcprelay_peer) peers;
	struct tcprelay_stats stats;
};

struct tcprelay *
tcprelay_create(struct event_base *base, int worker_id)
{
	struct tcprelay *tr;

	if ((tr = calloc(1, sizeof *tr)) == NULL)
		return NULL;
	tr->base = base;
	tr->worker_id = worker_id;
	LIST_INIT(&tr->peers);
	return tr;
}

void
tcprelay_set_turn(struct tcprelay *tr, struct turn *t)
{
	tr->turn = t;
}

void
tcprelay_stats(const struct tcprelay *tr, struct tcprelay_stats *st)
{
	*st = tr->stats;
}

int
tcprelay_bind(const struct sockaddr_storage *ip, uint16_t port, bool listening)
{
	struct sockaddr_storage ss = *ip;
	int fd, one = 1, saved;

	addr_set_port((struct sockaddr *)&ss, port);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* Outbound connections leave from the listening socket's own address and port. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
	    (ss.ss_family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
	    bind(fd, (const struct sockaddr *)&ss, addr_len((const struct sockaddr *)&ss)) != 0 ||
	    (listening && listen(fd, TCPRELAY_BACKLOG) != 0)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Frees p and its connections; the core is told by the caller when it must be. */
static void
tcprelay_peer_free(struct tcprelay_peer *p)
{
	if (p->peer != NULL)
		bufferevent_free(p->peer);
	if (p->client != NULL)
		bufferevent_free(p->client);
	if (p->rate != NULL)
		ev_token_bucket_cfg_free(p->rate);
	if (p->c != NULL)
		p->c->handle = NULL;
	LIST_REMOVE(p, entry);
	p->tr->stats.active--;
	free(p);
}

/* The other side of bev in p. */
static struct bufferevent *
tcprelay_other(const struct tcprelay_peer *p, const struct bufferevent *bev)
{
	return bev == p->peer ? p->client : p->peer;
}

/* Moves what bev read to the other side; pauses bev when the other side is full. */
static void
tcprelay_read(struct bufferevent *bev, void *arg)
{
	struct tcprelay_peer *p = arg;
	struct bufferevent *to = tcprelay_other(p, bev);
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	if (to == NULL || n == 0)
		return;
	if (bufferevent_write_buffer(to, in) != 0)
		return; /* out of memory: the bytes stay, read again later */
	if (bev == p->peer)
		p->tr->stats.to_client_bytes += n;
	else
		p->tr->stats.to_peer_bytes += n;
	if (p->c != NULL && p->tr->turn != NULL)
		turn_tcp_count(p->tr->turn, p->c, bev == p->client, n);
	if (evbuffer_get_length(bufferevent_get_output(to)) >= TCPRELAY_HIGH) {
		bufferevent_disable(bev, EV_READ);
		bufferevent_setwatermark(to, EV_WRITE, TCPRELAY_HIGH / 2, 0);
		p->tr->stats.paused++;
	}
}

/* bev's output drained below the low mark: read the other side again. */
static void
tcprelay_write(struct bufferevent *bev, void *arg)
{
	struct tcprelay_peer *p = arg;
	struct bufferevent *from = tcprelay_other(p, bev);

	if (from == NULL)
		return;
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(from, EV_READ);
}

/* The closing side's remaining output is written: free everything. */
static void
tcprelay_flushed(struct bufferevent *bev, void *arg)
{
	tcprelay_peer_free(arg);
}

static void
tcprelay_flush_event(struct bufferevent *bev, short what, void *arg)
{
	tcprelay_peer_free(arg);
}

/*
 * One side (gone) ended: the core forgets the connection, and the other side
 * writes what it holds, then closes (RFC 6062 §5.5: one closes the other).
 */
static void
tcprelay_finish(struct tcprelay_peer *p, struct bufferevent *gone)
{
	struct bufferevent *other = tcprelay_other(p, gone);
	struct timeval tv = {TCPRELAY_FLUSH_SECONDS, 0};

	if (p->c != NULL && p->tr->turn != NULL) {
		p->c->handle = NULL;
		turn_handle_tcp_closed(p->tr->turn, p->c);
		p->c = NULL;
	}
	if (gone == p->peer)
		p->peer = NULL;
	else
		p->client = NULL;
	bufferevent_free(gone);
	if (other == NULL || evbuffer_get_length(bufferevent_get_output(other)) == 0) {
		tcprelay_peer_free(p);
		return;
	}
	bufferevent_disable(other, EV_READ);
	bufferevent_setwatermark(other, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(other, NULL, &tv);
	bufferevent_setcb(other, NULL, tcprelay_flushed, tcprelay_flush_event, p);
}

static void
tcprelay_event(struct bufferevent *bev, short what, void *arg)
{
	struct tcprelay_peer *p = arg;

	if (what & BEV_EVENT_EOF)
		tcprelay_read(bev, p); /* what came with the FIN */
	tcprelay_finish(p, bev);
}

/* An outbound connection's outcome; before the bind nothing is read. */
static void
tcprelay_connect_event(struct bufferevent *bev, short what, void *arg)
{
	struct tcprelay_peer *p = arg;
	struct tcpconn *c = p->c;
	struct turn_now now;

	if (c == NULL)
		return;
	relay_now(&now);
	if (what & BEV_EVENT_CONNECTED) {
		p->connecting = false;
		bufferevent_disable(bev, EV_READ);
		bufferevent_setcb(bev, tcprelay_read, tcprelay_write, tcprelay_event, p);
		turn_handle_tcp_connected(p->tr->turn, c, true, &now);
		return;
	}
	p->tr->stats.connect_errors++;
	turn_handle_tcp_connected(p->tr->turn, c, false, &now); /* calls tcprelay_close */
}

/* A new peer connection record around bev (owned from now on). */
static struct tcprelay_peer *
tcprelay_peer_new(struct tcprelay *tr, struct bufferevent *bev, uint64_t bps)
{
	struct tcprelay_peer *p;
	struct timeval tick = {1, 0};

	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	/* coturn's max-bps, bytes per second each way, a second's burst. */
	if (bps > 0 &&
	    ((p->rate = ev_token_bucket_cfg_new(bps, bps, bps, bps, &tick)) == NULL ||
		bufferevent_set_rate_limit(bev, p->rate) != 0)) {
		if (p->rate != NULL)
			ev_token_bucket_cfg_free(p->rate);
		free(p);
		return NULL;
	}
	p->tr = tr;
	p->peer = bev;
	bufferevent_setwatermark(bev, EV_READ, 0, TCPRELAY_READ_MAX);
	LIST_INSERT_HEAD(&tr->peers, p, entry);
	tr->stats.active++;
	return p;
}

int
tcprelay_connect(struct tcprelay *tr, const struct sockaddr_storage *local,
    const struct sockaddr *peer, struct tcpconn *c, uint64_t bps)
{
	struct bufferevent *bev;
	struct tcprelay_peer *p;
	int fd;

	tr->stats.connects++;
	if ((fd = tcprelay_bind(local, addr_port((const struct sockaddr *)local), false)) == -1) {
		tr->stats.connect_errors++;
		return -1;
	}
	if ((bev = bufferevent_socket_new(tr->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		tr->stats.connect_errors++;
		return -1;
	}
	if ((p = tcprelay_peer_new(tr, bev, bps)) == NULL) {
		bufferevent_free(bev);
		tr->stats.connect_errors++;
		return -1;
	}
	p->c = c;
	p->connecting = true;
	c->handle = p;
	bufferevent_setcb(bev, NULL, NULL, tcprelay_connect_event, p);
	/* The outcome comes through the event callback, never from inside this call. */
	if (bufferevent_socket_connect(bev, peer, (int)addr_len(peer)) != 0) {
		c->handle = NULL;
		p->c = NULL;
		tcprelay_peer_free(p);
		tr->stats.connect_errors++;
		return -1;
	}
	return 0;
}

void
tcprelay_accept(struct tcprelay *tr, int lfd, struct turn_allocation *alloc,
    const struct turn_relay *relay, uint64_t bps)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct bufferevent *bev;
	struct tcprelay_peer *p;
	struct turn_now now;
	int fd;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	tr->stats.accepted++;
	relay_now(&now);
	if ((bev = bufferevent_socket_new(tr->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		tr->stats.refused++;
		return;
	}
	if ((p = tcprelay_peer_new(tr, bev, bps)) == NULL) {
		bufferevent_free(bev);
		tr->stats.refused++;
		return;
	}
	bufferevent_setcb(bev, tcprelay_read, tcprelay_write, tcprelay_event, p);
	bufferevent_disable(bev, EV_READ); /* nothing is read before the bind */
	p->c =
	    turn_handle_peer_connect(tr->turn, alloc, relay, (const struct sockaddr *)&ss, p, &now);
	if (p->c == NULL) {
		tr->stats.refused++;
		tcprelay_peer_free(p);
	}
}

void
tcprelay_close(struct tcprelay *tr, struct tcpconn *c)
{
	struct tcprelay_peer *p = c->handle;

	(void)tr;
	if (p == NULL)
		return;
	c->handle = NULL;
	p->c = NULL;
	tcprelay_peer_free(p);
}

void
tcprelay_splice(struct tcprelay *tr, struct tcpconn *c, struct bufferevent *client)
{
	struct tcprelay_peer *p = c->handle;

	(void)tr;
	if (p == NULL) {
		bufferevent_free(client);
		return;
	}
	p->client = client;
	bufferevent_set_timeouts(client, NULL, NULL);
	bufferevent_setwatermark(client, EV_READ, 0, TCPRELAY_READ_MAX);
	bufferevent_setwatermark(client, EV_WRITE, 0, 0);
	bufferevent_setcb(client, tcprelay_read, tcprelay_write, tcprelay_event, p);
	bufferevent_enable(client, EV_READ | EV_WRITE);
	bufferevent_enable(p->peer, EV_READ | EV_WRITE);
	/* Bytes that came right behind the CONNECTION-BIND, and those the peer sent first. */
	tcprelay_read(client, p);
	tcprelay_read(p->peer, p);
}

void
tcprelay_free(struct tcprelay *tr)
{
	struct tcprelay_peer *p;

	if (tr == NULL)
		return;
	while ((p = LIST_FIRST(&tr->peers)) != NULL) {
		p->c = NULL; /* the core is gone, or closes its own */
		tcprelay_peer_free(p);
	}
	free(tr);
}
