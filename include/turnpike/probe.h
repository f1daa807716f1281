/*
 * A small blocking STUN client: Binding requests over UDP (RFC 8489 §6.2.1
 * retransmissions), TCP or TLS, IPv4 or IPv6, with the response validated and its
 * XOR-MAPPED-ADDRESS returned. Errors are -1 plus *cause (allocated, caller
 * frees); nothing is logged. Callers ignore SIGPIPE: a TLS write to a closed
 * connection would raise it.
 */
#ifndef TURNPIKE_PROBE_H
#define TURNPIKE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/stun.h"
#include "turnpike/tlsclient.h"

enum probe_transport {
	PROBE_UDP = 0,
	PROBE_TCP,
	PROBE_TLS,
};

struct probe_config {
	enum probe_transport transport;
	struct sockaddr_storage server;
	struct tlsclient_config tls;
	bool fingerprint;         /* put FINGERPRINT in requests */
	bool require_fingerprint; /* refuse responses without FINGERPRINT */
	unsigned int timeout_ms;  /* per request: connect, handshake and answer */
	unsigned int rto_ms;      /* UDP: first retransmission timeout */
	unsigned int max_sends;   /* UDP: transmissions per request (Rc) */
};

struct probe_result {
	struct sockaddr_storage mapped; /* XOR-MAPPED-ADDRESS */
	struct sockaddr_storage local;  /* this end of the socket */
	bool fingerprint;               /* the response carried a valid FINGERPRINT */
	unsigned int sends;             /* transmissions of the request */
	uint64_t rtt_ms;                /* first transmission to answer */
};

/* Outcomes of probe_check_response(). */
enum probe_check {
	PROBE_CHECK_OK = 0,
	PROBE_CHECK_OTHER = 1, /* not an answer to this transaction: ignore it */
	PROBE_CHECK_BAD = -1,  /* the answer to this transaction, refused */
};

/* RFC 8489 defaults: RTO 500 ms, Rc 7; a 5 s bound per request. */
void probe_config_defaults(struct probe_config *cfg);
const char *probe_transport_name(enum probe_transport t);
/* "udp", "tcp", "tls"; -1 when unknown. */
int probe_transport_parse(const char *s, enum probe_transport *out);

struct probe *probe_create(const struct probe_config *cfg, char **cause);
/*
 * Sends one Binding request and waits for its answer; connects (and handshakes)
 * first when there is no connection. A stream connection is kept for the next
 * request unless this one failed.
 */
int probe_binding(struct probe *p, struct probe_result *res, char **cause);
/* Closes the socket: the next request starts from a new source port. */
void probe_reset(struct probe *p);
void probe_free(struct probe *p);

/*
 * Pure response check of one datagram or stream frame: tid is the request's
 * transaction ID. Fills mapped and fingerprint of res on PROBE_CHECK_OK; sets
 * *cause on PROBE_CHECK_BAD.
 */
int probe_check_response(const uint8_t tid[STUN_TID_LEN], const uint8_t *p, size_t len,
    bool require_fingerprint, struct probe_result *res, char **cause);

#endif
