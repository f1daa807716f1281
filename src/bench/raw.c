/* Raw byte exchanges, held connections and garbage datagrams for robustness tests. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/buf.h"
#include "turnpike/cause.h"
#include "turnpike/integrity.h"
#include "turnpike/netio.h"
#include "turnpike/raw.h"
#include "turnpike/stun.h"

#define RAW_MTU 1500

/* Sends the chunks; *closed when the server already hung up on a stream. */
static int
raw_send_chunks(int fd, int socktype, const struct raw_chunk *chunks, size_t n, uint64_t deadline,
    bool *closed, char **cause)
{
	char *why = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (socktype == SOCK_DGRAM) {
			if (send(fd, chunks[i].p, chunks[i].len, 0) == -1)
				return cause_fail(cause, "send: %s", strerror(errno));
			continue;
		}
		if (netio_send_all(fd, chunks[i].p, chunks[i].len, deadline, &why) == -1) {
			free(why);
			if (errno != EPIPE && errno != ECONNRESET)
				return cause_fail(cause, "send: %s", strerror(errno));
			*closed = true;
			return 0;
		}
	}
	return 0;
}

/* One receive: 1 data, 0 nothing (yet), 2 the stream ended, -1 error. */
static int
raw_recv_one(int fd, int socktype, uint8_t *buf, size_t cap, ssize_t *got, enum raw_event *ev)
{
	*got = recv(fd, buf, cap, 0);
	if (*got > 0 || (*got == 0 && socktype == SOCK_DGRAM)) {
		*ev = RAW_EV_DATA;
		return 1;
	}
	if (*got == 0) {
		*ev = RAW_EV_CLOSED;
		return 2;
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	if (errno == ECONNRESET && socktype == SOCK_STREAM) {
		*ev = RAW_EV_RESET;
		return 2;
	}
	return -1;
}

int
raw_exchange(const struct sockaddr *sa, int socktype, const struct raw_chunk *chunks, size_t n,
    unsigned int wait_ms, raw_report_fn *report, void *arg, struct raw_result *res, char **cause)
{
	uint8_t buf[65536];
	uint64_t deadline = netio_now_ms() + wait_ms;
	enum raw_event ev;
	ssize_t got;
	int fd, rc = 0;

	memset(res, 0, sizeof(*res));
	if ((fd = netio_connect(sa, socktype, deadline, cause)) == -1)
		return -1;
	if (raw_send_chunks(fd, socktype, chunks, n, deadline, &res->closed, cause) == -1) {
		close(fd);
		return -1;
	}
	while (!res->closed && netio_wait(fd, POLLIN, deadline) == 1) {
		if ((rc = raw_recv_one(fd, socktype, buf, sizeof(buf), &got, &ev)) == 0)
			continue;
		if (rc == -1) {
			cause_fail(cause, "recv: %s", strerror(errno));
			break;
		}
		if (rc == 2)
			res->closed = true;
		else {
			res->events++;
			res->bytes += (size_t)got;
		}
		if (report != NULL)
			report(arg, ev, buf, rc == 1 ? (size_t)got : 0);
	}
	close(fd);
	return rc == -1 ? -1 : 0;
}

void
raw_hold_close(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fds[i] != -1)
			close(fds[i]);
		fds[i] = -1;
	}
}

int
raw_hold_open(const struct sockaddr *sa, size_t n, const uint8_t *prefix, size_t len,
    unsigned int timeout_ms, int *fds, char **cause)
{
	uint64_t deadline = netio_now_ms() + timeout_ms;
	size_t i;

	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		if ((fds[i] = netio_connect(sa, SOCK_STREAM, deadline, cause)) == -1 ||
		    (len > 0 && netio_send_all(fds[i], prefix, len, deadline, cause) == -1)) {
			raw_hold_close(fds, n);
			return -1;
		}
	}
	return 0;
}

/* True when the server has ended this connection (FIN or RST). */
static bool
raw_hold_ended(int fd)
{
	uint8_t buf[4096];
	ssize_t got;

	for (;;) {
		got = recv(fd, buf, sizeof(buf), 0);
		if (got > 0)
			continue;
		if (got == 0)
			return true;
		return errno != EAGAIN && errno != EINTR;
	}
}

size_t
raw_hold_watch(const int *fds, size_t n, unsigned int duration_ms)
{
	struct pollfd *pfd;
	uint64_t deadline = netio_now_ms() + duration_ms, now;
	size_t i, ended = 0;

	if ((pfd = calloc(n, sizeof(*pfd))) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	while (ended < n && (now = netio_now_ms()) < deadline) {
		if (poll(pfd, n, (int)(deadline - now)) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0 || !raw_hold_ended(pfd[i].fd))
				continue;
			pfd[i].fd = -1; /* poll ignores negative descriptors */
			ended++;
		}
	}
	free(pfd);
	return ended;
}

uint64_t
raw_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t
raw_below(uint64_t *s, size_t bound)
{
	return bound == 0 ? 0 : (size_t)(raw_rand(s) % bound);
}

static void
raw_fill(uint64_t *s, struct wbuf *w, size_t n)
{
	while (n-- > 0)
		wbuf_put_u8(w, (uint8_t)raw_rand(s));
}

/* A STUN header: type, length field, cookie and a random transaction ID. */
static void
raw_header(uint64_t *s, struct wbuf *w, uint16_t type, uint16_t len, uint32_t cookie)
{
	wbuf_put_u16(w, type);
	wbuf_put_u16(w, len);
	wbuf_put_u32(w, cookie);
	raw_fill(s, w, STUN_TID_LEN);
}

/* Fixes the header length to cover everything written so far. */
static void
raw_fix_len(struct wbuf *w)
{
	wbuf_set_u16(w, 2, (uint16_t)(w->len - STUN_HEADER_LEN));
}

static void
raw_g_empty(uint64_t *s, struct wbuf *w)
{
	(void)s;
	(void)w;
}

static void
raw_g_byte(uint64_t *s, struct wbuf *w)
{
	raw_fill(s, w, 1);
}

static void
raw_g_random(uint64_t *s, struct wbuf *w)
{
	raw_fill(s, w, raw_below(s, RAW_MTU + 1));
}

/* Header length disagrees with the bytes that follow. */
static void
raw_g_badlen(uint64_t *s, struct wbuf *w)
{
	size_t body = raw_below(s, 64) * 4;
	uint16_t len = (uint16_t)(raw_below(s, 16384) * 4);

	if (len == body)
		len += 4;
	raw_header(s, w, (uint16_t)(raw_rand(s) & 0x3fff), len, STUN_MAGIC_COOKIE);
	raw_fill(s, w, body);
}

/* A body that is not a multiple of four, header length matching it. */
static void
raw_g_unaligned(uint64_t *s, struct wbuf *w)
{
	raw_header(s, w, 0x0001, 0, STUN_MAGIC_COOKIE);
	raw_fill(s, w, raw_below(s, 16) * 4 + 1 + raw_below(s, 3));
	raw_fix_len(w);
}

/* An attribute whose length runs past the end of the message. */
static void
raw_g_truncattr(uint64_t *s, struct wbuf *w)
{
	size_t have = raw_below(s, 8) * 4;

	raw_header(s, w, 0x0001, 0, STUN_MAGIC_COOKIE);
	wbuf_put_u16(w, (uint16_t)raw_rand(s));
	wbuf_put_u16(w, (uint16_t)(have + 1 + raw_below(s, 2000)));
	raw_fill(s, w, have);
	raw_fix_len(w);
}

/* A Binding request whose FINGERPRINT is wrong. */
static void
raw_g_badfp(uint64_t *s, struct wbuf *w)
{
	uint32_t crc;

	raw_header(s, w, 0x0001, 8, STUN_MAGIC_COOKIE);
	crc = integrity_fingerprint(w->p, w->len);
	wbuf_put_u16(w, STUN_ATTR_FINGERPRINT);
	wbuf_put_u16(w, 4);
	wbuf_put_u32(w, crc ^ (uint32_t)(1 + raw_below(s, 0xfffffffe)));
}

/* Far more attributes than a decoder keeps. */
static void
raw_g_manyattrs(uint64_t *s, struct wbuf *w)
{
	size_t i, n = STUN_MAX_ATTRS + raw_below(s, 200);

	raw_header(s, w, 0x0001, 0, STUN_MAGIC_COOKIE);
	for (i = 0; i < n && w->len + 8 <= RAW_MTU; i++) {
		wbuf_put_u16(w, (uint16_t)(0x8000 | raw_below(s, 0x7fff)));
		wbuf_put_u16(w, 4);
		raw_fill(s, w, 4);
	}
	raw_fix_len(w);
}

static void
raw_g_badcookie(uint64_t *s, struct wbuf *w)
{
	raw_header(s, w, 0x0001, 0, (uint32_t)raw_rand(s) | 1);
}

/* ChannelData with a length that disagrees with the payload, or a bad channel. */
static void
raw_g_chandata(uint64_t *s, struct wbuf *w)
{
	size_t body = raw_below(s, 200);

	wbuf_put_u16(w, (uint16_t)(0x4000 + raw_below(s, 0x4000)));
	wbuf_put_u16(w, (uint16_t)(body + 1 + raw_below(s, 3000)));
	raw_fill(s, w, body);
}

/* Well-framed attributes of known types with random lengths and contents. */
static void
raw_g_attrfuzz(uint64_t *s, struct wbuf *w)
{
	static const uint16_t types[] = {
	    STUN_ATTR_XOR_MAPPED_ADDRESS,
	    STUN_ATTR_MAPPED_ADDRESS,
	    STUN_ATTR_USERNAME,
	    STUN_ATTR_MESSAGE_INTEGRITY,
	    STUN_ATTR_MESSAGE_INTEGRITY_SHA256,
	    STUN_ATTR_ERROR_CODE,
	    STUN_ATTR_UNKNOWN_ATTRIBUTES,
	    STUN_ATTR_REALM,
	    STUN_ATTR_NONCE,
	    STUN_ATTR_REQUESTED_TRANSPORT,
	    STUN_ATTR_LIFETIME,
	    STUN_ATTR_CHANGE_REQUEST,
	    STUN_ATTR_RESPONSE_PORT,
	    STUN_ATTR_PADDING,
	    STUN_ATTR_FINGERPRINT,
	    STUN_ATTR_USERHASH,
	    STUN_ATTR_SOFTWARE,
	    STUN_ATTR_PASSWORD_ALGORITHMS,
	    STUN_ATTR_CHANNEL_NUMBER,
	    0x0000,
	    0x7fff,
	};
	size_t i, len, n = 1 + raw_below(s, 8);
	uint16_t type = raw_below(s, 4) == 0 ? (uint16_t)(raw_rand(s) & 0x3fff) : 0x0001;

	raw_header(s, w, type, 0, STUN_MAGIC_COOKIE);
	for (i = 0; i < n; i++) {
		len = raw_below(s, 4) == 0 ? raw_below(s, 300) : raw_below(s, 40);
		wbuf_put_u16(w, types[raw_below(s, sizeof(types) / sizeof(types[0]))]);
		wbuf_put_u16(w, (uint16_t)len);
		raw_fill(s, w, len);
		wbuf_put_zero(w, (4 - len % 4) % 4);
	}
	raw_fix_len(w);
}

/* A valid request with USERNAME and FINGERPRINT, cut short. */
static void
raw_g_cut(uint64_t *s, struct wbuf *w)
{
	uint32_t crc;

	raw_header(s, w, 0x0001, 0, STUN_MAGIC_COOKIE);
	wbuf_put_u16(w, STUN_ATTR_USERNAME);
	wbuf_put_u16(w, 8);
	wbuf_put_bytes(w, "turnpike", 8);
	wbuf_set_u16(w, 2, 12 + 8);
	crc = integrity_fingerprint(w->p, w->len);
	wbuf_put_u16(w, STUN_ATTR_FINGERPRINT);
	wbuf_put_u16(w, 4);
	wbuf_put_u32(w, crc);
	if (w->len >= 2)
		w->len = 1 + raw_below(s, w->len - 1);
}

static void (*const raw_generators[])(uint64_t *, struct wbuf *) = {
    raw_g_empty,
    raw_g_byte,
    raw_g_random,
    raw_g_random,
    raw_g_badlen,
    raw_g_unaligned,
    raw_g_truncattr,
    raw_g_badfp,
    raw_g_manyattrs,
    raw_g_badcookie,
    raw_g_chandata,
    raw_g_attrfuzz,
    raw_g_attrfuzz,
    raw_g_cut,
};

size_t
raw_garbage(uint64_t *state, uint8_t *out, size_t cap)
{
	struct wbuf w;
	size_t k = raw_below(state, sizeof(raw_generators) / sizeof(raw_generators[0]));

	wbuf_init(&w, out, cap < RAW_MTU ? cap : RAW_MTU);
	raw_generators[k](state, &w);
	return w.len;
}

/* Reads and counts whatever came back; -1 when the server port is gone. */
static int
raw_spray_drain(int fd, size_t *replies)
{
	uint8_t buf[2048];

	for (;;) {
		if (recv(fd, buf, sizeof(buf), 0) >= 0)
			(*replies)++;
		else
			return errno == ECONNREFUSED ? -1 : 0;
	}
}

int
raw_spray(const struct sockaddr *sa, size_t count, uint64_t seed, struct raw_spray_stats *st,
    char **cause)
{
	const struct timespec pace = {.tv_sec = 0, .tv_nsec = 200000};
	uint8_t pkt[RAW_MTU];
	uint64_t state = seed;
	size_t len;
	int fd;

	memset(st, 0, sizeof(*st));
	if ((fd = netio_connect(sa, SOCK_DGRAM, netio_now_ms() + 1000, cause)) == -1)
		return -1;
	for (st->sent = 0; st->sent < count; st->sent++) {
		len = raw_garbage(&state, pkt, sizeof(pkt));
		if ((send(fd, pkt, len, 0) == -1 && errno == ECONNREFUSED) ||
		    raw_spray_drain(fd, &st->replies) == -1) {
			close(fd);
			return cause_fail(cause, "server port unreachable after %zu datagrams",
			    st->sent);
		}
		nanosleep(&pace, NULL);
	}
	netio_wait(fd, POLLIN, netio_now_ms() + 300);
	nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 300000000}, NULL);
	raw_spray_drain(fd, &st->replies);
	close(fd);
	return 0;
}
