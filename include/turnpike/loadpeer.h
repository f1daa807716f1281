/*
 * The echo peer of turnpike-bench load: UDP sockets that send every datagram
 * back to where it came from (the relayed address of an allocation), read
 * and written in batches with recvmmsg and sendmmsg, counting both ways.
 * Errors are -1 plus *cause (allocated, caller frees).
 */
#ifndef TURNPIKE_LOADPEER_H
#define TURNPIKE_LOADPEER_H

#include <stdint.h>
#include <sys/socket.h>

struct loadpeer {
	int fd;
	struct sockaddr_storage addr; /* where it listens */
	uint64_t rx;                  /* datagrams received */
	uint64_t tx;                  /* datagrams echoed */
	uint64_t tx_fail;             /* echoes the kernel refused */
	/*
	 * Datagrams the kernel dropped at this socket because its receive buffer
	 * was full, so this process (the generator), not the path to it, lost
	 * them (SO_RXQ_OVFL; 0 where the kernel does not tell). Known as of the
	 * last datagram read.
	 */
	uint64_t drops;
};

/*
 * A non-blocking UDP socket on ip (port 0: any free one), made in the network
 * namespace netns (a name under /run/netns or a path; NULL: this process's own),
 * so that the peer can sit behind a link of its own while the generator runs here.
 */
int loadpeer_open(struct loadpeer *p, const struct sockaddr *ip, const char *netns, char **cause);
void loadpeer_close(struct loadpeer *p);
/* Echoes what is waiting (a bounded number of batches); the datagrams handled. */
unsigned int loadpeer_pump(struct loadpeer *p);

#endif
