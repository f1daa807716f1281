/*
 * Which peers a client may relay to (RFC 8656 §21.4 and §17; secure by default).
 * Refused unless an operator opens them: every block of the IANA IPv4 and IPv6
 * Special-Purpose Address Registries that is not globally reachable (private,
 * loopback, link-local, CGNAT, documentation, benchmarking, discard, IETF
 * protocol assignments, IPv4-mapped, deprecated 6to4 relay anycast, ...), plus
 * multicast, site-local and broadcast; the server's own addresses outside the
 * relay port range; and every IPv4-in-IPv6 form (compatible, 6to4, NAT64,
 * Teredo) of a refused IPv4 address. allowed-peer-ip wins over every refusal
 * (coturn's rule); denied-peer-ip adds refusals; allow-loopback-peers opens
 * loopback.
 */
#ifndef TURNPIKE_PEERPOLICY_H
#define TURNPIKE_PEERPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An inclusive range of addresses of one family, in network byte order. */
struct peerpolicy_range {
	int family; /* AF_INET or AF_INET6 */
	uint8_t lo[16];
	uint8_t hi[16];
};

/* Parses "1.2.3.4", "10.0.0.0/8", "10.0.0.1-10.0.0.9", "fc00::/7", "::1-::9". */
int peerpolicy_parse_range(const char *s, struct peerpolicy_range *r, const char **errstr);
/* True when sa's address lies in one of the n ranges (proxy-protocol-from). */
bool peerpolicy_range_has(const struct peerpolicy_range *r, size_t n, const struct sockaddr *sa);

struct peerpolicy;

struct peerpolicy *peerpolicy_create(void);
void peerpolicy_free(struct peerpolicy *pp);
/* A deep copy (to add ranges to a copy of the configured policy); NULL without memory. */
struct peerpolicy *peerpolicy_dup(const struct peerpolicy *pp);
/* allowed-peer-ip and denied-peer-ip; -1 with *cause naming the bad range. */
int peerpolicy_allow(struct peerpolicy *pp, const char *range, char **cause);
int peerpolicy_deny(struct peerpolicy *pp, const char *range, char **cause);
void peerpolicy_set_allow_loopback(struct peerpolicy *pp, bool allow);
/* The relay port range: the server's own addresses are reachable on these ports only. */
void peerpolicy_set_relay_ports(struct peerpolicy *pp, uint16_t min, uint16_t max);
/* One of the server's own addresses (listening, relay, external, interfaces). */
int peerpolicy_add_own(struct peerpolicy *pp, const struct sockaddr *sa);

/* True when peer's IP is one of the server's own: only there does its port matter. */
bool peerpolicy_port_matters(const struct peerpolicy *pp, const struct sockaddr *peer);
/* True when relaying to peer is allowed; otherwise *reason says why (for logs). */
bool peerpolicy_check(const struct peerpolicy *pp, const struct sockaddr *peer,
    const char **reason);

#endif
