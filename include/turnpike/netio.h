/*
 * Socket helpers for the client side (probe, bench): every call is bounded by a
 * deadline on the monotonic clock, in milliseconds. Errors are -1 plus *cause,
 * an allocated string the caller frees (cause may be NULL).
 */
#ifndef TURNPIKE_NETIO_H
#define TURNPIKE_NETIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest host name kept from "host:port" text, plus NUL. */
#define NETIO_HOSTLEN 256

/* Monotonic time in milliseconds. */
uint64_t netio_now_ms(void);

/* Parses a decimal number within [min, max] (digits only, no sign); -1 otherwise. */
int netio_parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * Resolves "1.2.3.4", "1.2.3.4:5", "::1", "[::1]:5", "name" or "name:5"; a
 * missing port becomes defport. Names go through getaddrinfo (first answer).
 * host receives the host part without brackets or port.
 */
int netio_resolve(const char *text, uint16_t defport, struct sockaddr_storage *out,
    char host[NETIO_HOSTLEN], char **cause);

/* A non-blocking socket of type (SOCK_STREAM, SOCK_DGRAM) connected to sa. */
int netio_connect(const struct sockaddr *sa, int type, uint64_t deadline, char **cause);

/* Waits for events (POLLIN, POLLOUT) on fd: 1 ready, 0 deadline passed, -1 error. */
int netio_wait(int fd, short events, uint64_t deadline);

/* Writes all n bytes to a non-blocking stream socket before the deadline. */
int netio_send_all(int fd, const void *p, size_t n, uint64_t deadline, char **cause);

/*
 * Reads up to n bytes from a non-blocking stream socket: the count, 0 when the
 * deadline passed first, -1 on end of stream or error.
 */
int netio_recv(int fd, void *buf, size_t n, uint64_t deadline, char **cause);

#endif
