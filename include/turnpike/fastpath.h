/*
 * Kernel fast path for UDP ChannelData (src/fastpath/): BPF programs on the
 * tc ingress hook relay established channel traffic without waking the
 * daemon. The daemon stays the authority: it adds a binding after a
 * successful ChannelBind and removes it when the channel, its permission or
 * the allocation ends; it reads the per-binding counters about once a second.
 * A build without libbpf gets stubs that fail with a cause.
 */
#ifndef TURNPIKE_FASTPATH_H
#define TURNPIKE_FASTPATH_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

struct fastpath;

/* One channel of one allocation, both directions. */
struct fastpath_binding {
	struct sockaddr_storage client; /* the client as the server sees it */
	struct sockaddr_storage server; /* the server address the client talks to */
	struct sockaddr_storage relay;  /* the relayed transport address */
	struct sockaddr_storage peer;   /* the peer bound to the channel */
	uint16_t channel;
	uint64_t expires_ns; /* CLOCK_MONOTONIC; later packets go up to the daemon */
	bool dont_fragment;  /* the relay sets DF (RFC 8656 §14) */
	/* 0: looked up in the routing table, and it must be an attached one */
	unsigned int client_ifindex;
	unsigned int peer_ifindex;
};

/* Totals since the binding was added; bytes are application data. */
struct fastpath_counters {
	uint64_t to_peer_packets;
	uint64_t to_peer_bytes;
	uint64_t to_client_packets;
	uint64_t to_client_bytes;
};

/* True when this build has the BPF programs. */
bool fastpath_built(void);

/* Loads the programs and creates the maps (needs CAP_BPF, CAP_NET_ADMIN). */
int fastpath_open(struct fastpath **fpp, char **cause);

/* Attaches to one interface's ingress (tcx, else a clsact filter). */
int fastpath_attach(struct fastpath *fp, unsigned int ifindex, char **cause);

/* Attaches to every interface that is up, Ethernet-like and not loopback. */
int fastpath_attach_all(struct fastpath *fp, char **cause);

/* Number of interfaces attached. */
int fastpath_attached(const struct fastpath *fp);

/*
 * Installs both directions of a binding, or refreshes its expiry and keeps its
 * counters when it is installed already; fails (and installs nothing) when the
 * families differ, or a direction has no unicast route or would leave by an
 * interface not attached.
 */
int fastpath_add(struct fastpath *fp, struct fastpath_binding *b, char **cause);

/* Removes both directions; a binding not installed is not an error. */
void fastpath_remove(struct fastpath *fp, const struct fastpath_binding *b);

/* Reads a binding's counters; -1 when it is not installed. */
int fastpath_read(struct fastpath *fp, const struct fastpath_binding *b,
    struct fastpath_counters *c);

/* The program's descriptor, for BPF_PROG_TEST_RUN in tests. */
int fastpath_prog_fd(const struct fastpath *fp);

/* Detaches from every interface and frees; NULL is a no-op. */
void fastpath_free(struct fastpath *fp);

#endif
