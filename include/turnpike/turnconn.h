/*
 * The client side of one connection to a STUN/TURN server for turnpike-bench:
 * a connected UDP socket, a TCP connection or a TLS connection, all
 * non-blocking and bounded by deadlines (monotonic ms, netio_now_ms()). On
 * streams it reassembles STUN and ChannelData frames (RFC 8656 §12.5). Errors
 * are -1 plus *cause (allocated, caller frees); nothing is logged. Callers
 * ignore SIGPIPE.
 */
#ifndef TURNPIKE_TURNCONN_H
#define TURNPIKE_TURNCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/probe.h"
#include "turnpike/tlsclient.h"

struct turnconn_config {
	enum probe_transport transport;
	struct sockaddr_storage server;
	struct tlsclient_config tls;
};

struct turnconn;

/* Connects (and handshakes) before the deadline. */
struct turnconn *turnconn_open(const struct turnconn_config *cfg, uint64_t deadline, char **cause);
void turnconn_close(struct turnconn *c);
bool turnconn_is_stream(const struct turnconn *c);
/* The socket, for an event loop of the caller's (reads still go through turnconn_recv). */
int turnconn_fd(const struct turnconn *c);
/* This end's address. */
int turnconn_local(const struct turnconn *c, struct sockaddr_storage *out);

/* One datagram, or the bytes of one frame on a stream. */
int turnconn_send(struct turnconn *c, const void *p, size_t len, uint64_t deadline, char **cause);

/*
 * The next datagram or stream frame: 1 with *p and *len set (valid until the
 * next call), 0 when the deadline passed first, -1 on errors and end of stream.
 */
int turnconn_recv(struct turnconn *c, uint64_t deadline, const uint8_t **p, size_t *len,
    char **cause);

#endif
