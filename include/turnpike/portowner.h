/*
 * Which process holds a local port, for the message of a failed bind: the
 * socket's inode from /proc/net/{tcp,udp}{,6}, then the process whose
 * /proc/PID/fd links to it (Linux, best effort: other users' processes are
 * visible to root only).
 */
#ifndef TURNPIKE_PORTOWNER_H
#define TURNPIKE_PORTOWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* TCP state LISTEN in /proc/net/tcp{,6}. */
#define PORTOWNER_TCP_LISTEN 0x0a

/*
 * One line of /proc/net/{tcp,udp}{,6}: the local port, the state and the
 * socket inode. -1 for the header line and anything else that is not an entry.
 */
int portowner_parse_line(const char *line, uint16_t *port, unsigned *state, unsigned long *inode);

/*
 * The process holding port for TCP (listening) or UDP: 0 with *pid and comm
 * (the process name, at most commlen - 1 bytes) set, -1 when none is visible.
 */
int portowner_find(bool tcp, uint16_t port, pid_t *pid, char *comm, size_t commlen);

#endif
