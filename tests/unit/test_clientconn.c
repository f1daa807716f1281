/*
 * Unit tests for src/server/net/clientconn.c: TCP client connections of two
 * fake workers over socketpairs on one event base. The fake worker's ops
 * record frames and answer, hand over or bind as a test asks.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "turnpike/clientconn.h"
#include "turnpike/connlimit.h"
#include "turnpike/relay.h"
#include "turnpike/turn.h"
#include "unit.h"

enum fake_mode {
	FAKE_ANSWER = 0, /* a STUN message for the core: 4 bytes answered */
	FAKE_HANDOFF,    /* a CONNECTION-BIND for worker 1 */
	FAKE_BOUND,      /* a CONNECTION-BIND answered here: the bufferevent is kept */
	FAKE_NOT_STUN,   /* the worker's decoder refuses it */
};

struct fake {
	struct clientconns *cs;
	enum fake_mode mode;
	size_t stun, last_len, chandata, gone, gone_stun, inputs;
	uint16_t ch;
	size_t chlen;
	int handoff_rc;
	struct worker_job *queue;
	struct bufferevent *bound;
	char session[32];
	int transport;
};

#define NFAKE 2
static struct fake fakes[NFAKE];

static void
fake_input(void *arg)
{
	((struct fake *)arg)->inputs++;
}

static int
fake_stun(void *arg, struct clientconn *c, const uint8_t *p, size_t len, const struct turn_now *now)
{
	struct fake *f = arg;

	(void)p, (void)now;
	f->stun++;
	f->last_len = len;
	f->transport = (int)clientconn_tuple(c)->transport;
	clientconn_session(c, f->session, sizeof f->session);
	switch (f->mode) {
	case FAKE_NOT_STUN:
		clientconn_finish(c, "not a STUN message", true);
		return -1;
	case FAKE_HANDOFF:
		if ((f->handoff_rc = clientconn_handoff(c, 1)) == 0)
			return -1;
		break;
	case FAKE_BOUND:
		if (clientconn_write(c, "bind", 4) != 0)
			return -1;
		/* The worker splices it to the peer; here it only writes. */
		if ((f->bound = clientconn_bound(c, len, 4)) != NULL)
			bufferevent_setcb(f->bound, NULL, NULL, NULL, NULL);
		return -1;
	case FAKE_ANSWER:
		break;
	}
	clientconn_set_stun(c);
	return clientconn_write(c, "ans!", 4);
}

static void
fake_chandata(void *arg, struct clientconn *c, uint16_t ch, const uint8_t *data, size_t len,
    const struct turn_now *now)
{
	struct fake *f = arg;

	(void)c, (void)data, (void)now;
	f->chandata++;
	f->ch = ch;
	f->chlen = len;
}

static void
fake_gone(void *arg, const struct turn_5tuple *t, struct relay_conn *rc, bool stun)
{
	struct fake *f = arg;

	(void)t, (void)rc;
	f->gone++;
	f->gone_stun += stun;
}

static void
fake_post(void *arg, size_t n, struct worker_job *job)
{
	(void)arg;
	job->next = fakes[n].queue;
	fakes[n].queue = job;
}

static const struct clientconn_ops fake_ops = {
    .input = fake_input,
    .stun = fake_stun,
    .chandata = fake_chandata,
    .gone = fake_gone,
    .post = fake_post,
};

static struct event_base *base;

/* A few turns of the loop: everything written so far is read and handled. */
static void
pump(void)
{
	int i;

	for (i = 0; i < 50; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Runs the jobs posted to worker n, as its thread would. */
static size_t
run_jobs(size_t n)
{
	struct worker_job *job;
	struct turn_now now;
	size_t ran = 0;

	relay_now(&now);
	while ((job = fakes[n].queue) != NULL) {
		fakes[n].queue = job->next;
		job->run(job, NULL, &now);
		ran++;
	}
	return ran;
}

static struct sockaddr_in
client_addr(const char *ip, uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

/* A connection from ip to worker n: returns the client's end. */
static int
connect_to(size_t n, const char *ip)
{
	struct sockaddr_in sin = client_addr(ip, 40000);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	clientconns_accept(fakes[n].cs, sv[1], (const struct sockaddr *)&sin, false, false);
	return sv[0];
}

static void
send_all(int fd, const void *p, size_t len)
{
	if (write(fd, p, len) != (ssize_t)len)
		abort();
}

/* What the server sent: bytes read (up to cap), 0 on EOF, -1 when nothing came. */
static ssize_t
recv_now(int fd, void *buf, size_t cap)
{
	return recv(fd, buf, cap, MSG_DONTWAIT);
}

static bool
is_eof(int fd)
{
	char buf[256];
	ssize_t n;

	while ((n = recv_now(fd, buf, sizeof buf)) > 0)
		continue;
	return n == 0;
}

static const uint8_t binding[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5,
    6, 7, 8, 9, 10, 11, 12};
/* ChannelData on 0x4001, 2 bytes, padded to 4 over a stream (RFC 8656 §12.5) */
static const uint8_t chan[8] = {0x40, 0x01, 0x00, 0x02, 'h', 'i', 0, 0};

static void
test_frames(void)
{
	struct fake *f = &fakes[0];
	uint8_t two[40], buf[16];
	int fd = connect_to(0, "192.0.2.1");

	send_all(fd, binding, 10);
	pump();
	CHECKM(f->stun == 0, "half a STUN header: nothing handled yet");
	send_all(fd, binding + 10, 10);
	pump();
	CHECKM(f->stun == 1 && f->last_len == 20, "the rest arrives: one 20-byte frame");
	CHECKM(strcmp(f->session, "w0.c1") == 0 && f->transport == TURN_TCP,
	    "the frame's connection: w0.c1 over TCP");
	CHECKM(recv_now(fd, buf, sizeof buf) == 4 && memcmp(buf, "ans!", 4) == 0,
	    "the answer written through clientconn_write reaches the client");
	memcpy(two, binding, 20);
	memcpy(two + 20, binding, 20);
	send_all(fd, two, sizeof two);
	pump();
	CHECKM(f->stun == 3, "two frames in one read: two messages");
	send_all(fd, chan, sizeof chan);
	pump();
	CHECKM(f->chandata == 1 && f->ch == 0x4001 && f->chlen == 2,
	    "ChannelData after STUN: channel 0x4001, 2 bytes");
	CHECKM(!is_eof(fd), "still open"); /* and the answers read: a close now is clean */
	close(fd);
	pump();
	CHECKM(f->gone == 1 && f->gone_stun == 1,
	    "the client closes: its allocation ends (STUN was seen)");
	CHECK(clientconns_stats(f->cs)->conns == 1 && clientconns_stats(f->cs)->conns_dropped == 0);
}

static void
test_garbage(void)
{
	struct fake *f = &fakes[0];
	int fd = connect_to(0, "192.0.2.1");
	size_t dropped = clientconns_stats(f->cs)->conns_dropped;

	send_all(fd, "GET / HTTP/1.1\r\n\r\n", 18);
	pump();
	CHECKM(is_eof(fd) && f->chandata == 1 && f->stun == 3,
	    "HTTP (channel 0x4745 before any STUN): closed unhandled");
	CHECK(clientconns_stats(f->cs)->conns_dropped == dropped + 1);
	CHECKM(f->gone == 2 && f->gone_stun == 1,
	    "no STUN seen: the core is told of no allocation");
	close(fd);

	fd = connect_to(0, "192.0.2.1");
	f->mode = FAKE_NOT_STUN;
	send_all(fd, binding, sizeof binding);
	pump();
	f->mode = FAKE_ANSWER;
	CHECKM(is_eof(fd) && clientconns_stats(f->cs)->conns_dropped == dropped + 2,
	    "a frame the worker refuses: closed and counted");
	close(fd);
}

static void
test_budget(void)
{
	struct fake *f = &fakes[0];
	/* A STUN header announcing 65532 bytes: the frame stays incomplete. */
	static const uint8_t big[20] = {0x00, 0x01, 0xff, 0xfc, 0x21, 0x12, 0xa4, 0x42};
	static uint8_t fill[40000];
	int a = connect_to(0, "192.0.2.2"), b = connect_to(0, "192.0.2.3");

	send_all(a, big, sizeof big);
	send_all(a, fill, 40000);
	pump();
	send_all(b, big, sizeof big);
	send_all(b, fill, 30000);
	pump();
	CHECKM(clientconns_stats(f->cs)->conns_input_budget == 1,
	    "70040 incomplete bytes over a 65600 budget: one connection closed");
	CHECKM(is_eof(a) && !is_eof(b), "the one holding the most (40020 bytes) goes");
	close(a);
	close(b);
	pump();
}

static void
test_deadlines(void)
{
	struct fake *f = &fakes[0];
	const struct clientconn_stats *st = clientconns_stats(f->cs);
	int x = connect_to(0, "192.0.2.4"), y = connect_to(0, "192.0.2.5");
	struct turn_now before, after;

	/* The clock the module reads lies between before and after: no timing assumption. */
	relay_now(&before);
	send_all(x, binding, 10);
	send_all(y, binding, sizeof binding);
	pump();
	relay_now(&after);
	clientconns_sweep(f->cs, before.mono_ms + 9999);
	CHECKM(!is_eof(x) && !is_eof(y), "under 10 s: both stay");
	clientconns_sweep(f->cs, after.mono_ms + 10000);
	pump(); /* libevent closes a freed bufferevent's socket in the loop */
	CHECKM(is_eof(x) && st->conns_deadline == 1, "10 s on half a frame: closed (deadline)");
	CHECKM(!is_eof(y) && st->conns_idle == 0, "the connection that completed a frame stays");
	clientconns_sweep(f->cs, before.mono_ms + 59999);
	CHECKM(!is_eof(y), "under 60 s without a frame: it stays");
	clientconns_sweep(f->cs, after.mono_ms + 60000);
	pump();
	CHECKM(is_eof(y) && st->conns_idle == 1,
	    "60 s without a frame or allocation: idle, closed");
	close(x);
	close(y);
}

static void
test_connlimit(struct connlimit *cl)
{
	struct fake *f = &fakes[0];
	struct sockaddr_in src = client_addr("198.51.100.9", 1);
	size_t from;
	int a, b, c;

	a = connect_to(0, "198.51.100.9");
	send_all(a, binding, sizeof binding);
	pump();
	b = connect_to(0, "198.51.100.9");
	pump();
	CHECKM(is_eof(b) && clientconns_stats(f->cs)->conns_refused_per_ip == 1,
	    "max-connections-per-ip 1: the second connection is refused");
	CHECK(connlimit_count(cl, (const struct sockaddr *)&src, &from) == 1 && from == 1);
	close(a);
	pump();
	CHECKM(connlimit_count(cl, (const struct sockaddr *)&src, &from) == 0,
	    "the first closes: its place is given back");
	c = connect_to(0, "198.51.100.9");
	send_all(c, binding, sizeof binding);
	pump();
	CHECKM(!is_eof(c) && connlimit_count(cl, (const struct sockaddr *)&src, &from) == 1,
	    "a new one is admitted");
	close(b);
	close(c);
	pump();
}

static void
test_handoff(struct connlimit *cl)
{
	struct fake *f0 = &fakes[0], *f1 = &fakes[1];
	struct sockaddr_in src = client_addr("203.0.113.7", 1);
	size_t dropped = clientconns_stats(f0->cs)->conns_dropped, from;
	uint8_t buf[16];
	int fd = connect_to(0, "203.0.113.7");

	f0->mode = FAKE_HANDOFF;
	send_all(fd, binding, sizeof binding);
	pump();
	f0->mode = FAKE_ANSWER;
	CHECKM(f0->handoff_rc == 0 && run_jobs(1) == 1,
	    "a CONNECTION-BIND for worker 1: one job posted there");
	CHECKM(f1->stun == 1 && f1->last_len == 20 && strcmp(f1->session, "w1.c1") == 0,
	    "worker 1 reads the same CONNECTION-BIND on its own connection");
	pump();
	CHECKM(recv_now(fd, buf, sizeof buf) == 4 && memcmp(buf, "ans!", 4) == 0,
	    "its answer reaches the client over the handed socket");
	CHECKM(clientconns_stats(f0->cs)->conns_dropped == dropped &&
		clientconns_stats(f1->cs)->conns == 1,
	    "handed over, not dropped; served by worker 1");
	CHECKM(connlimit_count(cl, (const struct sockaddr *)&src, &from) == 1,
	    "its connlimit place came along, once");
	f1->mode = FAKE_HANDOFF;
	send_all(fd, binding, sizeof binding);
	pump();
	CHECKM(f1->handoff_rc == -1 && f1->stun == 2,
	    "a CONNECTION-BIND for its own worker stays there");
	f1->mode = FAKE_ANSWER;
	close(fd);
	pump();
	CHECKM(connlimit_count(cl, (const struct sockaddr *)&src, &from) == 0,
	    "closed on worker 1: the place is given back");
}

static void
test_bound(struct connlimit *cl)
{
	struct fake *f = &fakes[0];
	struct sockaddr_in src = client_addr("203.0.113.8", 1);
	size_t gone = f->gone, from;
	uint8_t buf[16];
	int fd = connect_to(0, "203.0.113.8");

	f->mode = FAKE_BOUND;
	send_all(fd, binding, sizeof binding);
	pump();
	f->mode = FAKE_ANSWER;
	CHECKM(f->bound != NULL && f->gone == gone,
	    "CONNECTION-BIND answered: the bufferevent leaves, no allocation to end");
	CHECKM(connlimit_count(cl, (const struct sockaddr *)&src, &from) == 0,
	    "a data connection is counted with its peer, not in the connlimit");
	pump();
	CHECKM(recv_now(fd, buf, sizeof buf) == 4 && memcmp(buf, "bind", 4) == 0,
	    "the answer queued before it leaves reaches the client");
	bufferevent_free(f->bound);
	close(fd);
}

int
main(void)
{
	struct connlimit *cl = connlimit_create(1, 0);
	struct clientconn_config cfg = {.connlimit = cl, .input_budget = 1000};
	struct clientconns *all[NFAKE];
	int fd;
	size_t i;

	if (cl == NULL || (base = event_base_new()) == NULL)
		abort();
	for (i = 0; i < NFAKE; i++) {
		all[i] = fakes[i].cs = clientconns_create((int)i, base, &cfg, &fake_ops, &fakes[i]);
		if (all[i] == NULL)
			abort();
	}
	for (i = 0; i < NFAKE; i++)
		CHECK(clientconns_set_peers(fakes[i].cs, all, NFAKE) == 0);
	test_frames();
	test_garbage();
	test_budget();
	test_deadlines();
	test_connlimit(cl);
	test_handoff(cl);
	test_bound(cl);

	fd = connect_to(0, "192.0.2.9");
	send_all(fd, binding, sizeof binding);
	pump();
	clientconns_close_all(fakes[0].cs, "stopping");
	pump();
	CHECKM(is_eof(fd), "close_all closes what is left");
	close(fd);
	for (i = 0; i < NFAKE; i++)
		clientconns_free(fakes[i].cs);
	event_base_free(base);
	connlimit_free(cl);
	return unit_done();
}
