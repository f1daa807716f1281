/*
 * Listening sockets: TCP and TLS listeners on the main thread's event base,
 * which hand each accepted connection to a callback, and the bound-socket
 * helper the workers use for UDP.
 */
#ifndef TURNPIKE_LISTENER_H
#define TURNPIKE_LISTENER_H

#include <stdbool.h>
#include <sys/socket.h>

struct event_base;
struct listener;

/*
 * Opens a non-blocking socket of type SOCK_STREAM or SOCK_DGRAM bound to sa:
 * SO_REUSEADDR on streams, IPV6_V6ONLY on IPv6, SO_REUSEPORT when reuseport
 * is set. Returns the descriptor, or -1 with *cause naming proto and sa
 * ("cannot bind UDP [::1]:3478: Address already in use").
 */
int listener_socket(const struct sockaddr *sa, int type, bool reuseport, const char *proto,
    char **cause);

/* What a TCP listener is, passed on with each connection. */
#define LISTENER_TLS 0x1   /* the TLS port (names it and sets the first timeout) */
#define LISTENER_PROXY 0x2 /* connections start with a PROXY protocol header */

/*
 * A TCP listener on sa. fn is called on the base's thread with each accepted
 * non-blocking socket, which it then owns, and the listener's flags.
 */
int listener_create(struct event_base *base, const struct sockaddr *sa, unsigned flags,
    void (*fn)(int fd, const struct sockaddr *peer, unsigned flags, void *arg), void *arg,
    struct listener **lp, char **cause);
void listener_free(struct listener *l);

#endif
