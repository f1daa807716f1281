/*
 * What an accepted TCP connection shows before it is served: an optional
 * PROXY protocol header (from trusted load balancers only) and then the first
 * byte, which tells TLS (a handshake record, 22) from plain STUN/TURN, so
 * that every TCP listener serves both. Runs on the worker's event base on the
 * raw socket; the header is consumed exactly, the first byte only peeked, so
 * the stream is intact for the bufferevent that follows.
 */
#ifndef TURNPIKE_PREAMBLE_H
#define TURNPIKE_PREAMBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct peerpolicy_range;
struct preambles;

struct preamble_rules {
	bool proxy;    /* a PROXY header (v1 or v2) must come first */
	bool tls;      /* a TLS record selects TLS (a TLS context exists) */
	int timeout_s; /* the whole preamble, against slow senders */
	/* proxy-protocol-from: the only sources a PROXY header is taken from */
	const struct peerpolicy_range *from;
	size_t nfrom;
};

enum preamble_status {
	PREAMBLE_OK = 0,
	PREAMBLE_CLOSED,    /* the peer closed or failed before saying anything */
	PREAMBLE_UNTRUSTED, /* a PROXY listener reached from outside proxy-protocol-from */
	PREAMBLE_MALFORMED, /* no PROXY header, or a malformed one */
	PREAMBLE_TIMEOUT,   /* nothing decided before the deadline */
	PREAMBLE_NSTATUS,
};

struct preamble_result {
	int fd; /* the caller's when status is PREAMBLE_OK, else closed (-1) */
	bool tls;
	bool proxy;                     /* the listener wanted a PROXY header */
	int proxy_version;              /* 0: no PROXY header was read */
	struct sockaddr_storage client; /* the header's source, or the socket's peer */
	struct sockaddr_storage peer;   /* the socket's peer (the load balancer) */
};

/* Called once per connection; why is a text for logs when status != PREAMBLE_OK. */
typedef void preamble_done_fn(const struct preamble_result *r, enum preamble_status status,
    const char *why, void *arg);

struct preambles *preambles_create(struct event_base *base, preamble_done_fn *done, void *arg);
/* Closes the sockets still waiting; done is not called for them. */
void preambles_free(struct preambles *ps);
/*
 * Takes fd (non-blocking, accepted from peer). done may run before this
 * returns (an untrusted source). -1 when out of memory: fd is the caller's.
 */
int preambles_add(struct preambles *ps, int fd, const struct sockaddr *peer,
    const struct preamble_rules *rules);
/* Connections waiting. */
size_t preambles_count(const struct preambles *ps);

/* The first byte of a TLS connection: a handshake record (RFC 8446 §5.1, content type 22). */
bool preamble_is_tls(unsigned char first);

#endif
