/*
 * Map layout shared by the BPF programs (fastpath.bpf.c) and their loader
 * (fastpath.c). Addresses and ports are kept in network byte order, as they
 * appear on the wire; an IPv4 address uses a[0] and leaves a[1..3] zero.
 */
#ifndef TURNPIKE_FASTPATH_MAPS_H
#define TURNPIKE_FASTPATH_MAPS_H

#define FP_MAX_BINDINGS 131072
#define FP_TTL 64

/* A UDP ChannelData datagram from a client 5-tuple, on one channel. */
struct fp_c2p_key {
	__u32 client[4];
	__u32 server[4];
	__u16 client_port;
	__u16 server_port;
	__u16 channel; /* network order, as on the wire */
	__u8 family;   /* 4 or 6 */
	__u8 pad;
};

/* Counters of one direction of one binding. */
struct fp_count {
	__u64 packets;
	__u64 bytes;   /* application data, without the ChannelData header */
	__u64 last_ns; /* bpf_ktime_get_ns() of the last packet */
};

/* ... becomes a UDP datagram from the relay address to the peer. */
struct fp_c2p_val {
	__u32 relay[4];
	__u32 peer[4];
	__u16 relay_port;
	__u16 peer_port;
	__u32 ifindex;    /* interface towards the peer */
	__u64 expires_ns; /* CLOCK_MONOTONIC: the channel, permission or allocation ends */
	__u16 frag_off;   /* the relay's DF (RFC 8656 §14: DONT-FRAGMENT), network order */
	__u16 pad[3];
};

/* A UDP datagram from a permitted peer to a relay address ... */
struct fp_p2c_key {
	__u32 peer[4];
	__u32 relay[4];
	__u16 peer_port;
	__u16 relay_port;
	__u8 family;
	__u8 pad[3];
};

/* ... becomes ChannelData from the server address to the client. */
struct fp_p2c_val {
	__u32 server[4];
	__u32 client[4];
	__u16 server_port;
	__u16 client_port;
	__u16 channel; /* network order */
	__u16 pad;
	__u32 ifindex; /* interface towards the client */
	__u64 expires_ns;
};

#endif
