/* Socket addresses: parse, format, compare, hash. IPv4 and IPv6. */
#ifndef TURNPIKE_ADDR_H
#define TURNPIKE_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "[v6]:port" with room to spare, plus NUL. */
#define ADDR_STRLEN 64

/*
 * Parses "1.2.3.4", "1.2.3.4:5", "::1", "[::1]:5". A missing port becomes defport.
 * Returns -1 with *errstr set when the text is not an address.
 */
int addr_parse(const char *s, uint16_t defport, struct sockaddr_storage *out, const char **errstr);
/* Parses an address with no port allowed. */
int addr_parse_ip(const char *s, struct sockaddr_storage *out, const char **errstr);
/* Formats "1.2.3.4:5" or "[::1]:5"; with_port false gives just the address. */
const char *addr_fmt(const struct sockaddr *sa, bool with_port, char *buf, size_t len);
socklen_t addr_len(const struct sockaddr *sa);
uint16_t addr_port(const struct sockaddr *sa);
void addr_set_port(struct sockaddr *sa, uint16_t port);
/* Same family, address and port. */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* Same family and address, port ignored. */
bool addr_equal_ip(const struct sockaddr *a, const struct sockaddr *b);
bool addr_is_v6(const struct sockaddr *sa);
/*
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it maps,
 * written to *sin; any other address is returned as it is.
 */
const struct sockaddr *addr_unmap_v4(const struct sockaddr *sa, struct sockaddr_in *sin);
bool addr_is_any(const struct sockaddr *sa);
uint32_t addr_hash(const struct sockaddr *sa, uint32_t seed);

/* Longest addr_limit_key. */
#define ADDR_LIMIT_KEY_MAX 8
/*
 * The key per-source limits count under: the IPv4 address (also when mapped
 * in IPv6), or the /64 of an IPv6 address (one subscriber's usual share).
 * Returns its length, 0 for another family.
 */
size_t addr_limit_key(const struct sockaddr *sa, uint8_t key[ADDR_LIMIT_KEY_MAX]);

#endif
