/*
 * Worker threads. A worker reads its UDP sockets in batches and answers from
 * the Binding core; accepted TCP/TLS sockets arrive through a locked queue and
 * a notify pipe, become bufferevents, and are framed, answered and timed out
 * here. All of a worker's state is touched by its thread only, except the
 * queue (under its lock) and the notify pipe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "turnpike/addr.h"
#include "turnpike/binding.h"
#include "turnpike/framing.h"
#include "turnpike/listener.h"
#include "turnpike/log.h"
#include "turnpike/stun.h"
#include "turnpike/worker.h"

#define WORKER_BATCH 32       /* datagrams per recvmmsg */
#define WORKER_DGRAM_MAX 4096 /* larger datagrams are dropped */
#define WORKER_BATCHES 8      /* batches per wakeup before yielding */
#define WORKER_RESPONSE_MAX 2048
/* Buffered input per connection: the largest frame (64 KiB + header) fits. */
#define WORKER_CONN_INPUT_MAX (65536 + 64)
/* Unsent output per connection before the peer counts as not reading. */
#define WORKER_CONN_OUTPUT_MAX (256 * 1024)
#define WORKER_IDLE_SECONDS 60
#define WORKER_HANDSHAKE_SECONDS 10

/* One accepted socket on its way to the worker. */
struct worker_item {
	int fd;
	bool tls;
	struct sockaddr_storage peer;
	struct worker_item *next;
};

struct worker_udp {
	struct worker *w;
	int fd;
	struct event *ev;
};

struct worker_conn {
	struct worker *w;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	uint64_t id;
	bool tls;
	const char *closing; /* why, once reading stopped to flush the answers */
	bool fault;
	LIST_ENTRY(worker_conn) entry;
};

/* Receive slots for one batch; len 0 marks a datagram to drop. */
struct worker_rx {
	size_t len[WORKER_BATCH];
	struct sockaddr_storage src[WORKER_BATCH];
	uint8_t buf[WORKER_BATCH][WORKER_DGRAM_MAX];
#ifdef HAVE_RECVMMSG
	struct mmsghdr msgs[WORKER_BATCH];
	struct iovec iov[WORKER_BATCH];
#endif
};

struct worker {
	int id;
	const struct worker_setup *setup;
	struct event_base *base;
	pthread_t thread;
	bool started;

	/* The hand-off queue: the only state shared with other threads. */
	pthread_mutex_t lock;
	struct worker_item *head;
	struct worker_item *tail;
	bool stop;
	int notify[2];
	struct event *notify_ev;

	struct worker_udp *udp;
	size_t nudp;
	LIST_HEAD(, worker_conn) conns;
	uint64_t next_conn_id;
	struct worker_rx *rx;
	uint8_t tx[WORKER_RESPONSE_MAX];
	struct worker_stats stats;
};

static void worker_conn_close(struct worker_conn *, const char *, bool);
static void worker_conn_finish(struct worker_conn *, const char *, bool);

#ifdef HAVE_RECVMMSG
/* Fills up to WORKER_BATCH slots; returns how many (0: nothing waiting). */
static int
worker_udp_recv(struct worker_rx *rx, int fd)
{
	struct msghdr *h;
	int i, n;

	for (i = 0; i < WORKER_BATCH; i++) {
		rx->iov[i].iov_base = rx->buf[i];
		rx->iov[i].iov_len = WORKER_DGRAM_MAX;
		h = &rx->msgs[i].msg_hdr;
		memset(h, 0, sizeof *h);
		h->msg_iov = &rx->iov[i];
		h->msg_iovlen = 1;
		h->msg_name = &rx->src[i];
		h->msg_namelen = sizeof rx->src[i];
	}
	if ((n = recvmmsg(fd, rx->msgs, WORKER_BATCH, MSG_DONTWAIT, NULL)) <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		rx->len[i] = rx->msgs[i].msg_hdr.msg_flags & MSG_TRUNC ? 0 : rx->msgs[i].msg_len;
	}
	return n;
}
#else
/* Without recvmmsg: one datagram per call. */
static int
worker_udp_recv(struct worker_rx *rx, int fd)
{
	socklen_t sl = sizeof rx->src[0];
	ssize_t n;

	n = recvfrom(fd, rx->buf[0], WORKER_DGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&rx->src[0],
	    &sl);
	if (n < 0)
		return 0;
	rx->len[0] = (size_t)n;
	return 1;
}
#endif

static void
worker_udp_answer(struct worker *w, int fd, const uint8_t *in, size_t len,
    const struct sockaddr *src)
{
	size_t outlen;

	w->stats.udp_in++;
	if (len == 0 ||
	    binding_process(w->setup->binding, in, len, src, w->tx, sizeof w->tx, &outlen) !=
		BINDING_REPLY) {
		w->stats.udp_dropped++; /* not STUN, or nothing to answer: silence */
		return;
	}
	if (sendto(fd, w->tx, outlen, MSG_DONTWAIT, src, addr_len(src)) == -1)
		w->stats.udp_dropped++; /* full socket buffer: like a lost packet */
	else
		w->stats.udp_out++;
}

static void
worker_udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct worker_udp *u = arg;
	struct worker_rx *rx = u->w->rx;
	int i, n, round;

	for (round = 0; round < WORKER_BATCHES; round++) {
		if ((n = worker_udp_recv(rx, fd)) == 0)
			break;
		for (i = 0; i < n; i++) {
			worker_udp_answer(u->w, fd, rx->buf[i], rx->len[i],
			    (const struct sockaddr *)&rx->src[i]);
		}
		if (n < WORKER_BATCH)
			break;
	}
}

/* A per-connection log line: info with verbose, debug otherwise. */
static void __attribute__((format(printf, 2, 3)))
worker_conn_log(const struct worker_conn *c, const char *fmt, ...)
{
	char msg[512], addr[ADDR_STRLEN];
	va_list ap;

	if (!c->w->setup->verbose && !log_level_enabled(LOG_LEVEL_DEBUG))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	addr_fmt((const struct sockaddr *)&c->peer, true, addr, sizeof addr);
	if (c->w->setup->verbose) {
		log_info("w%d.c%llu %s %s: %s", c->w->id, (unsigned long long)c->id,
		    c->tls ? "TLS" : "TCP", addr, msg);
	} else {
		log_debug("w%d.c%llu %s %s: %s", c->w->id, (unsigned long long)c->id,
		    c->tls ? "TLS" : "TCP", addr, msg);
	}
}

/* One complete STUN frame: answer it, or close on a message that is not STUN. */
static int
worker_conn_answer(struct worker_conn *c, const uint8_t *p, size_t len)
{
	struct worker *w = c->w;
	size_t outlen;
	int rc;

	rc = binding_process(w->setup->binding, p, len, (const struct sockaddr *)&c->peer, w->tx,
	    sizeof w->tx, &outlen);
	if (rc == BINDING_NOT_STUN) {
		worker_conn_finish(c, "not a STUN message", true);
		return -1;
	}
	if (rc == BINDING_REPLY && bufferevent_write(c->bev, w->tx, outlen) != 0) {
		worker_conn_close(c, "out of memory", true);
		return -1;
	}
	return 0;
}

/* Splits the input into frames (RFC 8656 §12.5) and answers each one. */
static void
worker_conn_read(struct bufferevent *bev, void *arg)
{
	struct worker_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const char *errstr;
	uint8_t *p;
	size_t len, hlen, need;
	int kind = 0;

	while ((len = evbuffer_get_length(in)) > 0) {
		hlen = len < STUN_HEADER_LEN ? len : STUN_HEADER_LEN;
		if ((p = evbuffer_pullup(in, (ssize_t)hlen)) == NULL) {
			worker_conn_close(c, "out of memory", true);
			return;
		}
		if (framing_next(p, hlen, &need, &kind, &errstr) != 0) {
			worker_conn_finish(c, errstr, true);
			return;
		}
		/*
		 * ChannelData needs a channel bound on this connection's allocation.
		 * Until TURN is served none can exist, so it can only be garbage
		 * ("GET " reads as channel 0x4745): close at the header.
		 */
		if (need != 0 && kind == FRAMING_CHANDATA) {
			worker_conn_finish(c, "ChannelData without an allocation", true);
			return;
		}
		if (need == 0 || need > len)
			break; /* wait for the rest */
		if ((p = evbuffer_pullup(in, (ssize_t)need)) == NULL) {
			worker_conn_close(c, "out of memory", true);
			return;
		}
		if (worker_conn_answer(c, p, need) != 0)
			return;
		evbuffer_drain(in, need);
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) > WORKER_CONN_OUTPUT_MAX)
		worker_conn_close(c, "peer does not read its responses", true);
}

static void
worker_conn_set_timeout(struct worker_conn *c, int seconds)
{
	struct timeval tv = {seconds, 0};

	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

static void
worker_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct worker_conn *c = arg;
	char reason[160];
	const char *reason_str;
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		worker_conn_log(c, "TLS handshake done (%s)",
		    SSL_get_version(bufferevent_openssl_get_ssl(bev)));
		worker_conn_set_timeout(c, WORKER_IDLE_SECONDS);
		return;
	}
	if (c->closing != NULL) {
		worker_conn_close(c, c->closing, c->fault); /* the flush failed */
		return;
	}
	if (what & BEV_EVENT_EOF) {
		worker_conn_finish(c, "closed by peer", false);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(reason, sizeof reason, "timed out");
	else if (c->tls && (e = bufferevent_get_openssl_error(bev)) != 0) {
		reason_str = ERR_reason_error_string(e);
		snprintf(reason, sizeof reason, "TLS: %s",
		    reason_str != NULL ? reason_str : "error");
	} else {
		snprintf(reason, sizeof reason, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	worker_conn_close(c, reason, true);
}

/* The answers are written: now the connection can go. */
static void
worker_conn_drained(struct bufferevent *bev, void *arg)
{
	struct worker_conn *c = arg;

	worker_conn_close(c, c->closing, c->fault);
}

/*
 * Ends a connection without losing the answers already queued (a good request
 * followed by garbage, or by the peer's half-close): reading stops and the
 * close waits for the output to drain, bounded by the write timeout.
 */
static void
worker_conn_finish(struct worker_conn *c, const char *reason, bool fault)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		worker_conn_close(c, reason, fault);
		return;
	}
	c->closing = reason;
	c->fault = fault;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, worker_conn_drained, worker_conn_event, c);
}

static void
worker_conn_close(struct worker_conn *c, const char *reason, bool fault)
{
	worker_conn_log(c, "closed: %s", reason);
	if (fault)
		c->w->stats.conns_dropped++;
	LIST_REMOVE(c, entry);
	bufferevent_free(c->bev);
	if (c->tls)
		ERR_clear_error(); /* nothing stale for the next connection's report */
	free(c);
}

static struct bufferevent *
worker_conn_bev(struct worker *w, int fd, bool tls)
{
	SSL *ssl;
	struct bufferevent *bev;

	if (!tls)
		return bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(w->setup->ssl_ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	else
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Takes over an accepted socket; on failure it is closed and counted. */
static void
worker_conn_open(struct worker *w, const struct worker_item *it)
{
	struct worker_conn *c;

	if ((c = calloc(1, sizeof *c)) == NULL ||
	    (c->bev = worker_conn_bev(w, it->fd, it->tls)) == NULL) {
		log_warnx("worker %d: cannot set up a connection: out of memory", w->id);
		free(c);
		close(it->fd);
		w->stats.conns_dropped++;
		return;
	}
	c->w = w;
	c->peer = it->peer;
	c->tls = it->tls;
	c->id = ++w->next_conn_id;
	LIST_INSERT_HEAD(&w->conns, c, entry);
	w->stats.conns++;
	bufferevent_setcb(c->bev, worker_conn_read, NULL, worker_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, WORKER_CONN_INPUT_MAX);
	worker_conn_set_timeout(c, c->tls ? WORKER_HANDSHAKE_SECONDS : WORKER_IDLE_SECONDS);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	worker_conn_log(c, "open");
}

/* The notify pipe fired: take the whole queue, open its connections. */
static void
worker_notify_read(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct worker_item *it, *next;
	char drain[64];
	bool stop;

	while (read(fd, drain, sizeof drain) > 0)
		continue;
	pthread_mutex_lock(&w->lock);
	it = w->head;
	w->head = w->tail = NULL;
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	for (; it != NULL; it = next) {
		next = it->next;
		worker_conn_open(w, it);
		free(it);
	}
	if (stop)
		event_base_loopbreak(w->base);
}

static void
worker_notify(struct worker *w)
{
	if (write(w->notify[1], "", 1) == -1) {
		/* EAGAIN: the pipe is full, so the worker is awake anyway */
	}
}

int
worker_pass(struct worker *w, int fd, const struct sockaddr *peer, bool tls)
{
	struct worker_item *it;

	if ((it = calloc(1, sizeof *it)) == NULL)
		return -1;
	it->fd = fd;
	it->tls = tls;
	memcpy(&it->peer, peer, addr_len(peer));
	pthread_mutex_lock(&w->lock);
	if (w->tail != NULL)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	pthread_mutex_unlock(&w->lock);
	worker_notify(w);
	return 0;
}

void
worker_stop(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->lock);
	worker_notify(w);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct worker_conn *c;

	event_base_dispatch(w->base);
	while ((c = LIST_FIRST(&w->conns)) != NULL)
		worker_conn_close(c, "server stopping", false);
	return NULL;
}

int
worker_start(struct worker *w, char **cause)
{
	int rc;

	if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		if (asprintf(cause, "cannot start worker %d: %s", w->id, strerror(rc)) == -1)
			*cause = NULL;
		return -1;
	}
	w->started = true;
	return 0;
}

void
worker_join(struct worker *w)
{
	if (!w->started)
		return;
	pthread_join(w->thread, NULL);
	w->started = false;
}

void
worker_stats(const struct worker *w, struct worker_stats *st)
{
	*st = w->stats;
}

static int
worker_fail(char **cause, int id, const char *what)
{
	if (asprintf(cause, "worker %d: cannot %s: %s", id, what, strerror(errno)) == -1)
		*cause = NULL;
	return -1;
}

/* One SO_REUSEPORT socket per UDP address; the kernel spreads the load. */
static int
worker_open_udp(struct worker *w, char **cause)
{
	struct worker_udp *u;
	size_t i;

	w->udp = calloc(w->setup->nudp, sizeof *w->udp);
	if (w->udp == NULL && w->setup->nudp > 0)
		return worker_fail(cause, w->id, "allocate UDP sockets");
	for (i = 0; i < w->setup->nudp; i++) {
		u = &w->udp[i];
		u->w = w;
		u->fd = listener_socket((const struct sockaddr *)&w->setup->udp[i], SOCK_DGRAM,
		    true, "UDP", cause);
		if (u->fd == -1)
			return -1;
		w->nudp++;
		u->ev = event_new(w->base, u->fd, EV_READ | EV_PERSIST, worker_udp_read, u);
		if (u->ev == NULL || event_add(u->ev, NULL) != 0)
			return worker_fail(cause, w->id, "watch a UDP socket");
	}
	return 0;
}

int
worker_create(int id, const struct worker_setup *setup, struct worker **wp, char **cause)
{
	struct worker *w;

	*wp = NULL;
	if ((w = calloc(1, sizeof *w)) == NULL)
		return worker_fail(cause, id, "allocate");
	w->id = id;
	w->setup = setup;
	w->notify[0] = w->notify[1] = -1;
	LIST_INIT(&w->conns);
	pthread_mutex_init(&w->lock, NULL);
	if ((w->rx = malloc(sizeof *w->rx)) == NULL || (w->base = event_base_new()) == NULL) {
		worker_fail(cause, id, "create an event loop");
		goto fail;
	}
	if (pipe2(w->notify, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    (w->notify_ev = event_new(w->base, w->notify[0], EV_READ | EV_PERSIST,
		 worker_notify_read, w)) == NULL ||
	    event_add(w->notify_ev, NULL) != 0) {
		worker_fail(cause, id, "create the notify pipe");
		goto fail;
	}
	if (worker_open_udp(w, cause) != 0)
		goto fail;
	*wp = w;
	return 0;
fail:
	worker_free(w);
	return -1;
}

void
worker_free(struct worker *w)
{
	struct worker_item *it, *next;
	size_t i;

	if (w == NULL)
		return;
	worker_stop(w);
	worker_join(w);
	for (i = 0; i < w->nudp; i++) {
		if (w->udp[i].ev != NULL)
			event_free(w->udp[i].ev);
		close(w->udp[i].fd);
	}
	for (it = w->head; it != NULL; it = next) {
		next = it->next;
		close(it->fd);
		free(it);
	}
	if (w->notify_ev != NULL)
		event_free(w->notify_ev);
	for (i = 0; i < 2; i++) {
		if (w->notify[i] != -1)
			close(w->notify[i]);
	}
	if (w->base != NULL)
		event_base_free(w->base);
	pthread_mutex_destroy(&w->lock);
	free(w->udp);
	free(w->rx);
	free(w);
}
