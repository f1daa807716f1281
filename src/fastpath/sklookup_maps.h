/*
 * Maps shared by sklookup.bpf.c and its loader (sklookup.c): which relay
 * address and port goes to which shared socket.
 */
#ifndef TURNPIKE_SKLOOKUP_MAPS_H
#define TURNPIKE_SKLOOKUP_MAPS_H

#include <linux/types.h>

/* Relay ports steered at once, over every address and worker. */
#define SKL_MAX_PORTS 262144
/* Shared sockets: one per worker and relay address. */
#define SKL_MAX_SOCKS 1024

/* A relay transport address: family AF_INET or AF_INET6, port in host order. */
struct skl_key {
	__u32 family;
	__u32 port;
	__u32 addr[4]; /* network order; IPv4 in addr[0], the rest 0 */
};

#endif
