/*
 * Recent responses by 5-tuple and transaction ID, so that a retransmitted
 * request gets the same answer byte for byte (RFC 8656 §7.2, §7.3; RFC 8489
 * §6.3.1). Bounded: a ring of entries, the oldest evicted first, each valid for
 * ttl_ms (RFC 8489 Ti = 39.5 s). Only answers to authenticated requests go in.
 */
#ifndef TURNPIKE_TXCACHE_H
#define TURNPIKE_TXCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "turnpike/stun.h"
#include "turnpike/turn.h"

#define TXCACHE_TTL_MS 40000

struct txcache;

/* entries is rounded up to a power of two; NULL when out of memory. */
struct txcache *txcache_create(size_t entries, uint64_t ttl_ms, uint32_t seed);
void txcache_free(struct txcache *c);
/* The stored answer to request m from t (valid until the next txcache_put), or NULL. */
const uint8_t *txcache_find(const struct txcache *c, const struct turn_5tuple *t,
    const struct stun_msg *m, uint64_t now_ms, size_t *len);
/* Stores resp as the answer to m from t; -1 when out of memory (nothing stored). */
int txcache_put(struct txcache *c, const struct turn_5tuple *t, const struct stun_msg *m,
    const uint8_t *resp, size_t len, uint64_t now_ms);

#endif
