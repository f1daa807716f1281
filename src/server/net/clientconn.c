/*
 * A worker's TCP and TLS client connections (clientconn.h): from the accepted
 * socket to the last answer flushed, or to the worker that issued the
 * CONNECTION-ID of its CONNECTION-BIND (RFC 6062 §5.4).
 */
#include "config.h"

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
#include "turnpike/chandata.h"
#include "turnpike/clientconn.h"
#include "turnpike/connlimit.h"
#include "turnpike/framing.h"
#include "turnpike/log.h"
#include "turnpike/preamble.h"
#include "turnpike/relay.h"
#include "turnpike/stun.h"
#include "turnpike/turn.h"

/* Buffered input per connection: the largest frame (64 KiB + header) fits. */
#define CLIENTCONN_INPUT_MAX (65536 + 64)
/* Unsent output per connection before the peer counts as not reading. */
#define CLIENTCONN_OUTPUT_MAX (256 * 1024)
/* A connection without a complete frame for this long, and no allocation, is closed. */
#define CLIENTCONN_IDLE_SECONDS 60
/* Deadlines that trickled bytes do not extend: a TLS handshake, one frame. */
#define CLIENTCONN_HANDSHAKE_SECONDS 10
#define CLIENTCONN_FRAME_SECONDS 10
/* Unsent output may take this long to drain before the peer counts as gone. */
#define CLIENTCONN_WRITE_SECONDS 60
/* At most one warning per this many seconds for refused connections. */
#define CLIENTCONN_REFUSE_WARN_S 10
/* A PROXY header, and the first byte after it, must arrive within this. */
#define CLIENTCONN_PROXY_SECONDS 5
/* At most one warning per this many seconds for refused PROXY headers. */
#define CLIENTCONN_PROXY_WARN_S 10

struct clientconn {
	struct clientconns *cs;
	struct relay_conn rc;     /* the core's conn; rc.bev is the connection */
	struct turn_5tuple tuple; /* client, and the local address it reached */
	uint64_t id;
	bool tls;
	bool stun_seen;      /* a STUN message came: ChannelData may follow */
	bool detached;       /* the core forgot it (allocation deleted) */
	bool handshaken;     /* TLS: the handshake completed */
	bool counted;        /* holds a place in the connlimit */
	const char *closing; /* why, once reading stopped to flush the answers */
	bool fault;
	uint64_t opened_ms;        /* monotonic */
	uint64_t progress_ms;      /* the last complete frame (or the open, or the handshake) */
	uint64_t frame_ms;         /* the first byte of the incomplete frame buffered; 0: none */
	size_t buffered;           /* bytes of that frame, in the set's input total */
	struct event *handoff;     /* RFC 6062: to another worker, once out of its callbacks */
	struct clientconns *owner; /* the worker owning the CONNECTION-ID (handoff) */
	LIST_ENTRY(clientconn) entry;
};

struct clientconns {
	int id; /* the worker's */
	struct event_base *base;
	struct clientconn_config cfg;
	const struct clientconn_ops *ops;
	void *arg;
	LIST_HEAD(, clientconn) list;
	struct preambles *pre; /* accepted, not yet TLS or plain */
	uint64_t next_id;
	size_t buffered; /* bytes of incomplete frames over the connections */
	struct clientconn_stats stats;
	struct clientconns **peers; /* every worker's, by id (CONNECTION-BIND handoff) */
	size_t npeers;
};

/* A connection on its way to another worker, with what its buffers held. */
struct clientconn_adopt {
	struct worker_job job;
	struct clientconns *from, *to;
	int fd;
	SSL *ssl;     /* TLS, the session going along; NULL for TCP */
	bool counted; /* holds a place in the connlimit */
	struct turn_5tuple tuple;
	uint8_t *in, *out;
	size_t inlen, outlen;
};

static void clientconn_close(struct clientconn *, const char *, bool);
static void clientconn_adopt_run(struct worker_job *, struct turn *, const struct turn_now *);

static uint64_t
clientconn_mono_ms(void)
{
	struct turn_now now;

	relay_now(&now);
	return now.mono_ms;
}

/* A per-connection log line: info with verbose, debug otherwise. */
static void __attribute__((format(printf, 2, 3)))
clientconn_log(const struct clientconn *c, const char *fmt, ...)
{
	char msg[512], addr[ADDR_STRLEN];
	va_list ap;

	if (!c->cs->cfg.verbose && !log_level_enabled(LOG_LEVEL_DEBUG))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	addr_fmt((const struct sockaddr *)&c->tuple.client, true, addr, sizeof addr);
	if (c->cs->cfg.verbose) {
		log_info("w%d.c%llu %s %s: %s", c->cs->id, (unsigned long long)c->id,
		    c->tls ? "TLS" : "TCP", addr, msg);
	} else {
		log_debug("w%d.c%llu %s %s: %s", c->cs->id, (unsigned long long)c->id,
		    c->tls ? "TLS" : "TCP", addr, msg);
	}
}

const struct turn_5tuple *
clientconn_tuple(const struct clientconn *c)
{
	return &c->tuple;
}

struct relay_conn *
clientconn_relay(struct clientconn *c)
{
	return &c->rc;
}

void
clientconn_session(const struct clientconn *c, char *buf, size_t len)
{
	snprintf(buf, len, "w%d.c%llu", c->cs->id, (unsigned long long)c->id);
}

void
clientconn_set_stun(struct clientconn *c)
{
	c->stun_seen = true;
}

int
clientconn_write(struct clientconn *c, const void *p, size_t len)
{
	if (bufferevent_write(c->rc.bev, p, len) != 0) {
		clientconn_close(c, "out of memory", true);
		return -1;
	}
	return 0;
}

/*
 * One complete ChannelData frame (RFC 8656 §12.5). A channel needs a
 * ChannelBind on this connection first, so ChannelData before any STUN message
 * is garbage ("GET " reads as channel 0x4745): close.
 */
static int
clientconn_chandata(struct clientconn *c, const uint8_t *p, size_t len, const struct turn_now *now)
{
	const uint8_t *data;
	const char *errstr;
	size_t dlen, used;
	uint16_t ch;

	if (!c->stun_seen) {
		clientconn_finish(c, "ChannelData before any STUN message", true);
		return -1;
	}
	if (chandata_decode(p, len, true, &ch, &data, &dlen, &used, &errstr) != 0) {
		clientconn_finish(c, errstr, true);
		return -1;
	}
	c->cs->ops->chandata(c->cs->arg, c, ch, data, dlen, now);
	return 0;
}

/* The frame at the head of the input, when complete: 1 handled, 0 wait, -1 closed. */
static int
clientconn_frame(struct clientconn *c, struct evbuffer *in, size_t len, const struct turn_now *now)
{
	size_t hlen = len < STUN_HEADER_LEN ? len : STUN_HEADER_LEN, need;
	const char *errstr;
	uint8_t *p;
	int kind = 0, rc;

	if ((p = evbuffer_pullup(in, (ssize_t)hlen)) == NULL) {
		clientconn_close(c, "out of memory", true);
		return -1;
	}
	if (framing_next(p, hlen, &need, &kind, &errstr) != 0) {
		clientconn_finish(c, errstr, true);
		return -1;
	}
	if (kind == FRAMING_CHANDATA && !c->stun_seen)
		return clientconn_chandata(c, p, hlen, now); /* closes at the header */
	if (need == 0 || need > len)
		return 0; /* wait for the rest */
	if ((p = evbuffer_pullup(in, (ssize_t)need)) == NULL) {
		clientconn_close(c, "out of memory", true);
		return -1;
	}
	if (kind == FRAMING_CHANDATA)
		rc = clientconn_chandata(c, p, need, now);
	else
		rc = c->cs->ops->stun(c->cs->arg, c, p, need, now);
	if (rc != 0)
		return -1;
	evbuffer_drain(in, need);
	return 1;
}

/*
 * The connection whose incomplete frame holds the most bytes (the oldest of
 * equals): the one to close when the set is over its input budget.
 */
static struct clientconn *
clientconn_biggest(struct clientconns *cs)
{
	struct clientconn *c, *big = NULL;

	LIST_FOREACH(c, &cs->list, entry)
	{
		if (c->closing != NULL || c->buffered == 0)
			continue;
		if (big == NULL || c->buffered > big->buffered ||
		    (c->buffered == big->buffered && c->frame_ms < big->frame_ms))
			big = c;
	}
	return big;
}

/* len bytes of an incomplete frame stay buffered: the deadline and the set's budget. */
static void
clientconn_buffered(struct clientconn *c, size_t len, uint64_t now_ms)
{
	struct clientconns *cs = c->cs;
	struct clientconn *big;
	/* Never less than one frame of the largest size: that one must fit. */
	size_t budget = cs->cfg.input_budget > CLIENTCONN_INPUT_MAX ? cs->cfg.input_budget
								    : CLIENTCONN_INPUT_MAX;

	if (len == 0)
		c->frame_ms = 0;
	else if (c->frame_ms == 0)
		c->frame_ms = now_ms;
	cs->buffered = cs->buffered - c->buffered + len;
	c->buffered = len;
	while (cs->buffered > budget && (big = clientconn_biggest(cs)) != NULL) {
		cs->stats.conns_input_budget++;
		clientconn_close(big, "over stream-input-budget: the largest incomplete frame",
		    true);
	}
}

/* Splits the input into frames (RFC 8656 §12.5) and handles each one. */
static void
clientconn_read(struct bufferevent *bev, void *arg)
{
	struct clientconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct turn_now now;
	size_t len;
	int rc;

	relay_now(&now);
	c->cs->ops->input(c->cs->arg);
	while ((len = evbuffer_get_length(in)) > 0) {
		if ((rc = clientconn_frame(c, in, len, &now)) < 0)
			return;
		if (rc == 0)
			break;
		c->progress_ms = now.mono_ms;
		c->frame_ms = 0; /* what is left is a new frame */
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) > CLIENTCONN_OUTPUT_MAX) {
		clientconn_close(c, "peer does not read its responses", true);
		return;
	}
	clientconn_buffered(c, len, now.mono_ms);
}

/*
 * Once a second, deadlines that bytes trickled in do not extend: a TLS
 * handshake and a frame must complete within 10 s. A connection that holds no
 * allocation and completed no frame for 60 s is idle; one that holds an
 * allocation lives as long as it (RFC 8656 §6.2: its lifetime is the client's
 * to keep). The reason, or NULL when the connection may stay.
 */
static const char *
clientconn_overdue(struct clientconn *c, uint64_t now_ms)
{
	if (c->closing != NULL)
		return NULL; /* flushing, bounded by the write timeout */
	if (c->tls && !c->handshaken) {
		if (now_ms - c->opened_ms < CLIENTCONN_HANDSHAKE_SECONDS * 1000)
			return NULL;
		c->handshaken = true; /* counted once as a failure */
		c->cs->stats.tls_handshake_failures++;
		c->cs->stats.conns_deadline++;
		return "TLS handshake not completed in time";
	}
	if (c->frame_ms != 0 && now_ms - c->frame_ms >= CLIENTCONN_FRAME_SECONDS * 1000) {
		c->cs->stats.conns_deadline++;
		return "frame not completed in time";
	}
	if (c->frame_ms == 0 && c->rc.allocs == 0 &&
	    now_ms - c->progress_ms >= CLIENTCONN_IDLE_SECONDS * 1000) {
		c->cs->stats.conns_idle++;
		return "idle";
	}
	return NULL;
}

void
clientconns_sweep(struct clientconns *cs, uint64_t now_ms)
{
	struct clientconn *c, *next;
	const char *why;

	for (c = LIST_FIRST(&cs->list); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if ((why = clientconn_overdue(c, now_ms)) != NULL)
			clientconn_close(c, why, true);
	}
}

/* The allocation of a connection ends with it (RFC 8656 §3.1). */
static void
clientconn_detach(struct clientconn *c)
{
	if (c->detached)
		return;
	c->detached = true;
	c->cs->ops->gone(c->cs->arg, &c->tuple, &c->rc, c->stun_seen);
}

static void
clientconn_event(struct bufferevent *bev, short what, void *arg)
{
	struct clientconn *c = arg;
	char reason[160];
	const char *reason_str;
	unsigned long e;
	const unsigned char *alpn = NULL;
	unsigned int alpnlen = 0;
	SSL *ssl;

	if (what & BEV_EVENT_CONNECTED) {
		ssl = bufferevent_openssl_get_ssl(bev);
		SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
		clientconn_log(c, "TLS handshake done (%s%s%.*s)", SSL_get_version(ssl),
		    alpnlen > 0 ? ", ALPN " : "", (int)alpnlen, (const char *)alpn);
		c->handshaken = true;
		c->progress_ms = clientconn_mono_ms();
		return;
	}
	if (c->tls && !c->handshaken) {
		c->handshaken = true; /* counted once: EOF, error or timeout before it completed */
		c->cs->stats.tls_handshake_failures++;
	}
	if (c->closing != NULL) {
		clientconn_close(c, c->closing, c->fault); /* the flush failed */
		return;
	}
	if (what & BEV_EVENT_EOF) {
		clientconn_finish(c, "closed by peer", false);
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
	clientconn_close(c, reason, true);
}

/* The answers are written: now the connection can go. */
static void
clientconn_drained(struct bufferevent *bev, void *arg)
{
	struct clientconn *c = arg;

	clientconn_close(c, c->closing, c->fault);
}

/*
 * Ends a connection without losing the answers already queued (a good request
 * followed by garbage, or by the peer's half-close): reading stops and the
 * close waits for the output to drain, bounded by the write timeout.
 */
void
clientconn_finish(struct clientconn *c, const char *reason, bool fault)
{
	clientconn_detach(c); /* no more relayed data to wait for */
	if (evbuffer_get_length(bufferevent_get_output(c->rc.bev)) == 0) {
		clientconn_close(c, reason, fault);
		return;
	}
	c->closing = reason;
	c->fault = fault;
	bufferevent_disable(c->rc.bev, EV_READ);
	bufferevent_setwatermark(c->rc.bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->rc.bev, NULL, clientconn_drained, clientconn_event, c);
}

static void
clientconn_close(struct clientconn *c, const char *reason, bool fault)
{
	clientconn_detach(c);
	clientconn_log(c, "closed: %s", reason);
	if (fault)
		c->cs->stats.conns_dropped++;
	if (c->counted)
		connlimit_release(c->cs->cfg.connlimit, (const struct sockaddr *)&c->tuple.client);
	c->cs->buffered -= c->buffered;
	LIST_REMOVE(c, entry);
	if (c->handoff != NULL)
		event_free(c->handoff);
	bufferevent_free(c->rc.bev);
	if (c->tls)
		ERR_clear_error(); /* nothing stale for the next connection's report */
	free(c);
}

void
clientconns_close_all(struct clientconns *cs, const char *reason)
{
	struct clientconn *c;

	while ((c = LIST_FIRST(&cs->list)) != NULL)
		clientconn_close(c, reason, false);
}

struct bufferevent *
clientconn_bound(struct clientconn *c, size_t len, size_t outlen)
{
	struct bufferevent *bev = c->rc.bev;
	struct clientconns *cs = c->cs;

	evbuffer_drain(bufferevent_get_input(bev), len);
	if (outlen == 0) {
		clientconn_close(c, "no answer to a CONNECTION-BIND", true);
		return NULL;
	}
	clientconn_log(c, "bound to a peer connection (RFC 6062)");
	c->detached = true; /* no allocation on this 5-tuple: nothing to tell the core */
	/* A data connection is counted with its peer connection, not in the connlimit. */
	if (c->counted)
		connlimit_release(cs->cfg.connlimit, (const struct sockaddr *)&c->tuple.client);
	cs->buffered -= c->buffered;
	LIST_REMOVE(c, entry);
	if (c->handoff != NULL)
		event_free(c->handoff);
	free(c);
	return bev;
}

static struct bufferevent *
clientconn_bev(struct clientconns *cs, int fd, bool tls)
{
	SSL *ssl;
	struct bufferevent *bev;

	if (!tls)
		return bufferevent_socket_new(cs->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(cs->cfg.ssl_ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(cs->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	else
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* The connection's 5-tuple: the client (a PROXY header's source), and the local address. */
static void
clientconn_set_tuple(struct clientconn *c, const struct preamble_result *r)
{
	socklen_t sl = sizeof c->tuple.server;

	c->tuple.client = r->client;
	if (getsockname(r->fd, (struct sockaddr *)&c->tuple.server, &sl) != 0)
		memset(&c->tuple.server, 0, sizeof c->tuple.server);
	c->tuple.transport = r->tls ? TURN_TLS : TURN_TCP;
}

/* A copy of what buf holds, drained; NULL (and *len 0) when empty or out of memory. */
static uint8_t *
clientconn_buf_take(struct evbuffer *buf, size_t *len)
{
	uint8_t *p;

	*len = evbuffer_get_length(buf);
	if (*len == 0 || (p = malloc(*len)) == NULL) {
		*len = 0;
		return NULL;
	}
	evbuffer_remove(buf, p, *len);
	return p;
}

static void
clientconn_adopt_free(struct clientconn_adopt *a)
{
	free(a->in);
	free(a->out);
	free(a);
}

/*
 * Last step of a handoff, once libevent finalized the old bufferevent (its
 * finalizer, queued when it was freed, ran before this timer): the TLS
 * session gets its socket back and goes to the owner.
 */
static void
clientconn_handoff_post(evutil_socket_t fd, short what, void *arg)
{
	struct clientconn_adopt *a = arg;
	struct clientconns *from = a->from;

	if (a->ssl != NULL && SSL_set_fd(a->ssl, a->fd) != 1) {
		SSL_free(a->ssl);
		close(a->fd);
		clientconn_adopt_free(a);
		return;
	}
	from->ops->post(from->arg, (size_t)a->to->id, &a->job);
}

/*
 * The descriptor, from a bufferevent about to be freed. A TCP one closes its
 * socket when finalized: a duplicate goes. A TLS one closes the socket its
 * session's BIO names: the session gets a BIO without one until then.
 */
static int
clientconn_handoff_fd(struct bufferevent *bev, SSL *ssl)
{
	BIO *none;
	int fd = bufferevent_getfd(bev);

	if (ssl == NULL)
		return dup(fd);
	if ((none = BIO_new_socket(-1, BIO_NOCLOSE)) == NULL || SSL_up_ref(ssl) != 1) {
		BIO_free(none);
		return -1;
	}
	SSL_set_bio(ssl, none, none);
	return fd;
}

/* Out of the connection's callbacks: its descriptor and TLS session go to the owner. */
static void
clientconn_handoff_run(evutil_socket_t fd, short what, void *arg)
{
	struct clientconn *c = arg;
	struct event_base *base = c->cs->base;
	struct clientconn_adopt *a;
	struct timeval now = {0, 0};
	SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->rc.bev) : NULL;

	if ((a = calloc(1, sizeof *a)) == NULL ||
	    (a->fd = clientconn_handoff_fd(c->rc.bev, ssl)) == -1) {
		free(a);
		clientconn_close(c, "cannot hand over: out of resources", true);
		return;
	}
	a->job.run = clientconn_adopt_run;
	a->from = c->cs;
	a->to = c->owner;
	a->ssl = ssl;
	a->tuple = c->tuple;
	a->counted = c->counted;
	c->counted = false; /* the place goes along */
	a->in = clientconn_buf_take(bufferevent_get_input(c->rc.bev), &a->inlen);
	a->out = clientconn_buf_take(bufferevent_get_output(c->rc.bev), &a->outlen);
	clientconn_log(c, "CONNECTION-BIND for worker %d: handed over", a->to->id);
	clientconn_close(c, "handed over", false); /* frees c */
	if (event_base_once(base, -1, EV_TIMEOUT, clientconn_handoff_post, a, &now) != 0) {
		if (ssl != NULL)
			SSL_free(ssl);
		close(a->fd);
		clientconn_adopt_free(a);
	}
}

int
clientconn_handoff(struct clientconn *c, uint8_t tag)
{
	struct clientconns *cs = c->cs;
	struct timeval now = {0, 0};

	if (tag == cs->id || tag >= cs->npeers || c->rc.allocs != 0 || c->handoff != NULL)
		return -1;
	if ((c->handoff = evtimer_new(cs->base, clientconn_handoff_run, c)) == NULL ||
	    evtimer_add(c->handoff, &now) != 0) {
		clientconn_close(c, "cannot hand over: out of memory", true);
		return 0;
	}
	c->owner = cs->peers[tag];
	bufferevent_disable(c->rc.bev, EV_READ | EV_WRITE);
	return 0;
}

/* Links c (its bev, tuple and TLS flag set) into cs and starts reading. */
static void
clientconn_start(struct clientconns *cs, struct clientconn *c)
{
	struct timeval write_timeout = {CLIENTCONN_WRITE_SECONDS, 0};

	c->cs = cs;
	c->opened_ms = c->progress_ms = clientconn_mono_ms();
	c->id = ++cs->next_id;
	LIST_INSERT_HEAD(&cs->list, c, entry);
	cs->stats.conns++;
	bufferevent_setcb(c->rc.bev, clientconn_read, NULL, clientconn_event, c);
	bufferevent_setwatermark(c->rc.bev, EV_READ, 0, CLIENTCONN_INPUT_MAX);
	bufferevent_set_timeouts(c->rc.bev, NULL, &write_timeout);
	bufferevent_enable(c->rc.bev, EV_READ | EV_WRITE);
}

/*
 * max-connections-per-ip and the stream clients' share of the descriptors:
 * false (the socket closed, counted and logged at a limited rate) when over.
 * Taken at accept, or after the header on a PROXY listener (src is then the
 * header's client, not the balancer); released at close on the 5-tuple's client.
 */
static bool
clientconn_admit(struct clientconns *cs, int fd, const struct sockaddr *src, bool tls)
{
	char addr[ADDR_STRLEN];

	if (cs->cfg.connlimit == NULL)
		return true;
	switch (connlimit_take(cs->cfg.connlimit, src)) {
	case CONNLIMIT_OK:
		return true;
	case CONNLIMIT_PER_IP:
		cs->stats.conns_refused_per_ip++;
		log_warnx_limited("conn-per-ip", CLIENTCONN_REFUSE_WARN_S,
		    "%s connection from %s refused: max-connections-per-ip reached",
		    tls ? "TLS" : "TCP", addr_fmt(src, false, addr, sizeof addr));
		break;
	case CONNLIMIT_TOTAL:
		cs->stats.conns_refused_fds++;
		log_warnx_limited("conn-fd-share", CLIENTCONN_REFUSE_WARN_S,
		    "%s connection from %s refused: TCP and TLS clients hold their share of the "
		    "descriptors (the rest is kept for relays and UDP clients)",
		    tls ? "TLS" : "TCP", addr_fmt(src, false, addr, sizeof addr));
		break;
	}
	close(fd);
	return false;
}

/* Takes over a socket whose preamble is done; on failure it is closed and counted. */
static void
clientconn_open(struct clientconns *cs, const struct preamble_result *r)
{
	struct clientconn *c;
	char via[ADDR_STRLEN];

	if (r->proxy && !clientconn_admit(cs, r->fd, (const struct sockaddr *)&r->client, r->tls))
		return;
	if ((c = calloc(1, sizeof *c)) == NULL ||
	    (c->rc.bev = clientconn_bev(cs, r->fd, r->tls)) == NULL) {
		log_warnx("worker %d: cannot set up a connection: out of memory", cs->id);
		free(c);
		close(r->fd);
		if (cs->cfg.connlimit != NULL)
			connlimit_release(cs->cfg.connlimit, (const struct sockaddr *)&r->client);
		cs->stats.conns_dropped++;
		return;
	}
	c->counted = cs->cfg.connlimit != NULL;
	clientconn_set_tuple(c, r);
	c->tls = r->tls;
	clientconn_start(cs, c);
	if (r->proxy_version != 0) {
		clientconn_log(c, "open (PROXY v%d from %s)", r->proxy_version,
		    addr_fmt((const struct sockaddr *)&r->peer, true, via, sizeof via));
	} else
		clientconn_log(c, "open");
}

/* A preamble ended: serve the connection, or count why it was refused. */
static void
clientconn_preamble_done(const struct preamble_result *r, enum preamble_status st, const char *why,
    void *arg)
{
	struct clientconns *cs = arg;
	char addr[ADDR_STRLEN];

	if (st == PREAMBLE_OK) {
		clientconn_open(cs, r);
		return;
	}
	if (!r->proxy && cs->cfg.connlimit != NULL) /* taken at accept */
		connlimit_release(cs->cfg.connlimit, (const struct sockaddr *)&r->peer);
	if (st == PREAMBLE_CLOSED)
		return;
	cs->stats.conns_dropped++;
	if (!r->proxy)
		return; /* a silent client: like an idle connection */
	cs->stats.proxy_refused[st]++;
	log_warnx_limited("proxy-refused", CLIENTCONN_PROXY_WARN_S, "connection from %s closed: %s",
	    addr_fmt((const struct sockaddr *)&r->peer, true, addr, sizeof addr), why);
}

void
clientconns_accept(struct clientconns *cs, int fd, const struct sockaddr *peer, bool tls,
    bool proxy)
{
	struct preamble_rules rules = {
	    .proxy = proxy,
	    .tls = cs->cfg.ssl_ctx != NULL,
	    .timeout_s = proxy ? CLIENTCONN_PROXY_SECONDS
		: tls          ? CLIENTCONN_HANDSHAKE_SECONDS
			       : CLIENTCONN_IDLE_SECONDS,
	    .from = cs->cfg.proxy_from,
	    .nfrom = cs->cfg.nproxy_from,
	};

	if (!proxy && !clientconn_admit(cs, fd, peer, tls))
		return;
	if (preambles_add(cs->pre, fd, peer, &rules) != 0) {
		log_warnx("worker %d: cannot set up a connection: out of memory", cs->id);
		close(fd);
		if (!proxy && cs->cfg.connlimit != NULL)
			connlimit_release(cs->cfg.connlimit, peer);
		cs->stats.conns_dropped++;
	}
}

/* A bufferevent for a connection handed over, its TLS session established. */
static struct bufferevent *
clientconn_adopt_bev(struct clientconns *cs, struct clientconn_adopt *a)
{
	struct bufferevent *bev;

	if (a->ssl == NULL)
		return bufferevent_socket_new(cs->base, a->fd, BEV_OPT_CLOSE_ON_FREE);
	bev = bufferevent_openssl_socket_new(cs->base, a->fd, a->ssl, BUFFEREVENT_SSL_OPEN,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Puts bytes back at the end of a bufferevent's input (a socket one keeps it frozen). */
static int
clientconn_input_add(struct evbuffer *in, const uint8_t *p, size_t len, bool frozen)
{
	int rc;

	if (len == 0)
		return 0;
	if (frozen)
		evbuffer_unfreeze(in, 0);
	rc = evbuffer_add(in, p, len);
	if (frozen)
		evbuffer_freeze(in, 0);
	return rc;
}

/* On the owner's thread: the connection handed over, then its CONNECTION-BIND. */
static void
clientconn_adopt_run(struct worker_job *job, struct turn *t, const struct turn_now *now)
{
	struct clientconn_adopt *a = (struct clientconn_adopt *)job;
	struct clientconns *cs = a->to;
	struct clientconn *c;

	(void)t;
	(void)now;
	if ((c = calloc(1, sizeof *c)) == NULL ||
	    (c->rc.bev = clientconn_adopt_bev(cs, a)) == NULL) {
		log_warnx("worker %d: cannot take a connection over: out of memory", cs->id);
		free(c);
		if (a->ssl != NULL)
			SSL_free(a->ssl);
		close(a->fd);
		if (a->counted)
			connlimit_release(cs->cfg.connlimit,
			    (const struct sockaddr *)&a->tuple.client);
		cs->stats.conns_dropped++;
		clientconn_adopt_free(a);
		return;
	}
	c->tuple = a->tuple;
	c->tls = a->ssl != NULL;
	c->handshaken = true;
	c->counted = a->counted; /* its place in the connlimit came along */
	clientconn_start(cs, c);
	clientconn_log(c, "taken over for its CONNECTION-BIND");
	if ((a->outlen > 0 && bufferevent_write(c->rc.bev, a->out, a->outlen) != 0) ||
	    clientconn_input_add(bufferevent_get_input(c->rc.bev), a->in, a->inlen,
		a->ssl == NULL) != 0)
		clientconn_close(c, "out of memory", true);
	else if (a->inlen > 0)
		clientconn_read(c->rc.bev, c);
	clientconn_adopt_free(a);
}

struct clientconns *
clientconns_create(int id, struct event_base *base, const struct clientconn_config *cfg,
    const struct clientconn_ops *ops, void *arg)
{
	struct clientconns *cs;

	if ((cs = calloc(1, sizeof *cs)) == NULL)
		return NULL;
	cs->id = id;
	cs->base = base;
	cs->cfg = *cfg;
	cs->ops = ops;
	cs->arg = arg;
	LIST_INIT(&cs->list);
	if ((cs->pre = preambles_create(base, clientconn_preamble_done, cs)) == NULL) {
		free(cs);
		return NULL;
	}
	return cs;
}

void
clientconns_free(struct clientconns *cs)
{
	if (cs == NULL)
		return;
	preambles_free(cs->pre);
	free(cs->peers);
	free(cs);
}

int
clientconns_set_peers(struct clientconns *cs, struct clientconns *const *all, size_t n)
{
	if ((cs->peers = calloc(n, sizeof *cs->peers)) == NULL)
		return -1;
	memcpy(cs->peers, all, n * sizeof *all);
	cs->npeers = n;
	return 0;
}

void
clientconns_configure(struct clientconns *cs, const struct clientconn_config *cfg)
{
	cs->cfg = *cfg;
}

const struct clientconn_stats *
clientconns_stats(const struct clientconns *cs)
{
	return &cs->stats;
}
