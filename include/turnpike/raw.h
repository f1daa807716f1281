/*
 * Raw exchanges with a server for robustness tests: arbitrary bytes out, and a
 * report of what comes back, whether the server closed the connection, or how
 * many held connections it dropped. No STUN logic beyond the garbage generator.
 * Errors are -1 plus *cause (allocated, caller frees).
 */
#ifndef TURNPIKE_RAW_H
#define TURNPIKE_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct raw_chunk {
	const uint8_t *p;
	size_t len;
};

enum raw_event {
	RAW_EV_DATA,   /* bytes received: one datagram, or one read on a stream */
	RAW_EV_CLOSED, /* the server closed the stream (FIN) */
	RAW_EV_RESET,  /* the server reset the stream (RST) */
};

typedef void raw_report_fn(void *arg, enum raw_event ev, const uint8_t *p, size_t len);

struct raw_result {
	size_t events; /* data events reported */
	size_t bytes;  /* bytes received */
	bool closed;   /* FIN or RST from the server */
};

/*
 * Connects (socktype SOCK_DGRAM or SOCK_STREAM), sends each chunk (one datagram
 * per chunk on UDP, written in order on a stream), then reports what arrives for
 * wait_ms or until the stream ends. report may be NULL.
 */
int raw_exchange(const struct sockaddr *sa, int socktype, const struct raw_chunk *chunks, size_t n,
    unsigned int wait_ms, raw_report_fn *report, void *arg, struct raw_result *res, char **cause);

/*
 * Opens n stream connections, each sent prefix (len may be 0), and stores their
 * descriptors in fds[n]. On failure the ones opened are closed.
 */
int raw_hold_open(const struct sockaddr *sa, size_t n, const uint8_t *prefix, size_t len,
    unsigned int timeout_ms, int *fds, char **cause);
/* Watches held connections for duration_ms; returns how many the server closed. */
size_t raw_hold_watch(const int *fds, size_t n, unsigned int duration_ms);
void raw_hold_close(int *fds, size_t n);

/* A small deterministic generator (splitmix64) so that a seed replays a run. */
uint64_t raw_rand(uint64_t *state);

/*
 * Writes one garbage datagram of a randomly chosen kind into out (cap >= 1500):
 * empty, one byte, random bytes, STUN headers with bad lengths or cookies,
 * truncated or oversized attributes, bad FINGERPRINT, too many attributes,
 * ChannelData with bad lengths. Returns its length.
 */
size_t raw_garbage(uint64_t *state, uint8_t *out, size_t cap);

struct raw_spray_stats {
	size_t sent;
	size_t replies;
};

/* Sends count garbage datagrams from one socket (paced), then drains replies. */
int raw_spray(const struct sockaddr *sa, size_t count, uint64_t seed, struct raw_spray_stats *st,
    char **cause);

#endif
