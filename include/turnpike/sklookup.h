/*
 * Relay ports without a socket each (src/fastpath/sklookup.bpf.c): a
 * sk_lookup program attached to the daemon's network namespace steers UDP
 * datagrams addressed to a relay address and an allocated port into a shared
 * socket of the worker owning the allocation. User space adds a port when an
 * allocation opens and removes it when it closes. A build without libbpf gets
 * stubs that fail with a cause.
 */
#ifndef TURNPIKE_SKLOOKUP_H
#define TURNPIKE_SKLOOKUP_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

struct sklookup;

/* True when this build has the BPF program. */
bool sklookup_built(void);

/* Loads the program and attaches it to this network namespace (CAP_BPF, CAP_NET_ADMIN). */
int sklookup_open(struct sklookup **skp, char **cause);

/* Adds a bound UDP socket as a steering target; *slot names it. Thread-safe. */
int sklookup_add_sock(struct sklookup *sk, int fd, uint32_t *slot, char **cause);

/* Datagrams to relay (address and port) go to the socket of slot; -1 with errno. */
int sklookup_steer(struct sklookup *sk, const struct sockaddr *relay, uint32_t slot);

/* Stops steering relay; a port not steered is not an error. */
void sklookup_unsteer(struct sklookup *sk, const struct sockaddr *relay);

/* The program's descriptor, for BPF_PROG_TEST_RUN in tests. */
int sklookup_prog_fd(const struct sklookup *sk);

/* Detaches and frees; NULL is a no-op. */
void sklookup_free(struct sklookup *sk);

#endif
