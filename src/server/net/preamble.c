/* Before a TCP connection is served: its PROXY header, then TLS or plain. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "turnpike/addr.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/preamble.h"
#include "turnpike/proxyproto.h"

struct preamble {
	struct preambles *set;
	struct preamble_result r;
	bool proxy; /* still waiting for the PROXY header */
	bool tls_ok;
	struct event *read;
	struct event *deadline;
	size_t have;  /* header bytes consumed into hdr */
	uint8_t *hdr; /* PROXYPROTO_MAX bytes while proxy */
	LIST_ENTRY(preamble) entry;
};

struct preambles {
	struct event_base *base;
	preamble_done_fn *done;
	void *arg;
	size_t n;
	LIST_HEAD(, preamble) list;
};

bool
preamble_is_tls(unsigned char first)
{
	return first == 22;
}

struct preambles *
preambles_create(struct event_base *base, preamble_done_fn *done, void *arg)
{
	struct preambles *ps;

	if ((ps = calloc(1, sizeof *ps)) == NULL)
		return NULL;
	ps->base = base;
	ps->done = done;
	ps->arg = arg;
	LIST_INIT(&ps->list);
	return ps;
}

/* Forgets p; its socket stays open when keep_fd is set. */
static void
preamble_free(struct preamble *p, bool keep_fd)
{
	LIST_REMOVE(p, entry);
	p->set->n--;
	if (p->read != NULL)
		event_free(p->read);
	if (p->deadline != NULL)
		event_free(p->deadline);
	if (!keep_fd && p->r.fd != -1)
		close(p->r.fd);
	free(p->hdr);
	free(p);
}

void
preambles_free(struct preambles *ps)
{
	if (ps == NULL)
		return;
	while (!LIST_EMPTY(&ps->list))
		preamble_free(LIST_FIRST(&ps->list), false);
	free(ps);
}

size_t
preambles_count(const struct preambles *ps)
{
	return ps->n;
}

/* The end of the preamble: the socket goes to done (OK) or is closed. */
static void
preamble_end(struct preamble *p, enum preamble_status status, const char *why)
{
	struct preambles *ps = p->set;
	struct preamble_result r = p->r;

	if (status != PREAMBLE_OK) {
		close(p->r.fd);
		p->r.fd = r.fd = -1;
	}
	preamble_free(p, true);
	ps->done(&r, status, why, ps->arg);
}

/* The header's addresses replace the socket's peer (LOCAL and UNKNOWN keep it). */
static void
preamble_apply(struct preamble *p, const struct proxyproto_hdr *h)
{
	p->r.proxy_version = h->version;
	if (!h->local)
		p->r.client = h->src;
	p->proxy = false;
	free(p->hdr);
	p->hdr = NULL;
}

/*
 * Reads the PROXY header without reading past it: peeked bytes are consumed
 * only while they are all header. 1: header read; 0: wait; -1: ended.
 */
static int
preamble_read_proxy(struct preamble *p)
{
	struct proxyproto_hdr h;
	const char *errstr;
	enum proxyproto_rc rc;
	size_t used, take;
	ssize_t n;

	n = recv(p->r.fd, p->hdr + p->have, PROXYPROTO_MAX - p->have, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		preamble_end(p, p->have == 0 ? PREAMBLE_CLOSED : PREAMBLE_MALFORMED,
		    n == 0 ? "closed before the PROXY header ended" : strerror(errno));
		return -1;
	}
	rc = proxyproto_parse(p->hdr, p->have + (size_t)n, &h, &used, &errstr);
	if (rc == PROXYPROTO_BAD) {
		preamble_end(p, PREAMBLE_MALFORMED, errstr);
		return -1;
	}
	take = rc == PROXYPROTO_OK ? used - p->have : (size_t)n;
	if (recv(p->r.fd, p->hdr + p->have, take, 0) != (ssize_t)take) {
		preamble_end(p, PREAMBLE_MALFORMED, "cannot read the PROXY header");
		return -1;
	}
	p->have += take;
	if (rc == PROXYPROTO_MORE)
		return 0;
	preamble_apply(p, &h);
	return 1;
}

/* Peeks at the first byte after the header: TLS or plain. */
static void
preamble_sniff(struct preamble *p)
{
	unsigned char first;
	ssize_t n;

	n = recv(p->r.fd, &first, 1, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		preamble_end(p, PREAMBLE_CLOSED, n == 0 ? "closed by peer" : strerror(errno));
		return;
	}
	p->r.tls = p->tls_ok && preamble_is_tls(first);
	preamble_end(p, PREAMBLE_OK, NULL);
}

static void
preamble_readable(evutil_socket_t fd, short what, void *arg)
{
	struct preamble *p = arg;

	if (p->proxy && preamble_read_proxy(p) != 1)
		return;
	preamble_sniff(p);
}

static void
preamble_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct preamble *p = arg;

	preamble_end(p, PREAMBLE_TIMEOUT,
	    p->proxy ? "no PROXY header before the deadline" : "nothing sent before the deadline");
}

int
preambles_add(struct preambles *ps, int fd, const struct sockaddr *peer,
    const struct preamble_rules *rules)
{
	struct timeval tv = {rules->timeout_s, 0};
	struct preamble *p;

	if ((p = calloc(1, sizeof *p)) == NULL)
		return -1;
	p->set = ps;
	p->r.fd = fd;
	memcpy(&p->r.peer, peer, addr_len(peer));
	p->r.client = p->r.peer;
	p->proxy = p->r.proxy = rules->proxy;
	p->tls_ok = rules->tls;
	LIST_INSERT_HEAD(&ps->list, p, entry);
	ps->n++;
	if ((p->proxy && (p->hdr = malloc(PROXYPROTO_MAX)) == NULL) ||
	    (p->read = event_new(ps->base, fd, EV_READ | EV_PERSIST, preamble_readable, p)) ==
		NULL ||
	    (p->deadline = evtimer_new(ps->base, preamble_timeout, p)) == NULL ||
	    event_add(p->read, NULL) != 0 || event_add(p->deadline, &tv) != 0) {
		preamble_free(p, true);
		return -1;
	}
	if (p->proxy && !peerpolicy_range_has(rules->from, rules->nfrom, peer))
		preamble_end(p, PREAMBLE_UNTRUSTED,
		    "a PROXY protocol listener reached from "
		    "outside proxy-protocol-from");
	return 0;
}
