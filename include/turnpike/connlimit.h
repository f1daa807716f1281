/*
 * Live TCP and TLS connections, counted per source address (addr_limit_key)
 * and in total, shared by every worker under one mutex taken at open and
 * close only: max-connections-per-ip, and the share of the descriptors that
 * stream clients may hold so that relays and UDP clients keep the rest.
 */
#ifndef TURNPIKE_CONNLIMIT_H
#define TURNPIKE_CONNLIMIT_H

#include <stddef.h>
#include <sys/socket.h>

struct connlimit;

enum connlimit_verdict {
	CONNLIMIT_OK = 0,
	CONNLIMIT_PER_IP = 1, /* the source has per_ip connections already */
	CONNLIMIT_TOTAL = 2,  /* the stream clients' share of descriptors is taken */
};

/* per_ip 0 or total 0: that bound is off. */
struct connlimit *connlimit_create(size_t per_ip, size_t total);
void connlimit_free(struct connlimit *cl);
/* Total from now on (known once the server has counted its descriptors). */
void connlimit_set_total(struct connlimit *cl, size_t total);
/* One more connection from src, or the bound it would cross (nothing taken). */
enum connlimit_verdict connlimit_take(struct connlimit *cl, const struct sockaddr *src);
/* Gives back what connlimit_take took for src. */
void connlimit_release(struct connlimit *cl, const struct sockaddr *src);
/* Live connections in total, and from src. */
size_t connlimit_count(struct connlimit *cl, const struct sockaddr *src, size_t *from_src);

#endif
