/*
 * Token buckets for rate limits, pure: the caller passes the monotonic time in
 * milliseconds. A bucket refills at rate units per second up to burst units;
 * taking more than it holds fails and takes nothing. iplimit is a bounded
 * table of buckets keyed by source address, evicting the least recently used
 * entry of a full set, so a flood of sources cannot grow it.
 */
#ifndef TURNPIKE_TBUCKET_H
#define TURNPIKE_TBUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tbucket {
	uint64_t rate;  /* units per second; 0: unlimited */
	uint64_t burst; /* most units held */
	uint64_t milli; /* units held, times 1000 (sub-unit refills add up) */
	uint64_t last_ms;
};

/* A full bucket at now_ms. */
void tbucket_init(struct tbucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms);
/* Changes rate and burst, keeping what it holds (capped at the new burst). */
void tbucket_set(struct tbucket *b, uint64_t rate, uint64_t burst);
/* True and n units fewer when it holds n; false and unchanged otherwise. */
bool tbucket_take(struct tbucket *b, uint64_t n, uint64_t now_ms);
/* n units from both a and b when both hold them; otherwise false, neither changed. */
bool tbucket_take_both(struct tbucket *a, struct tbucket *b, uint64_t n, uint64_t now_ms);

/* Address bytes (4 or 16) are the key. */
#define IPLIMIT_KEY_MAX 16

struct iplimit;

/* A table of at most nslots buckets (rounded up to a multiple of 4), each rate/s, burst. */
struct iplimit *iplimit_create(size_t nslots, uint64_t rate, uint64_t burst);
void iplimit_free(struct iplimit *l);
/* True when the source at key may have one more unit at now_ms. */
bool iplimit_take(struct iplimit *l, const void *key, size_t keylen, uint64_t now_ms);
/* Likewise for n units. */
bool iplimit_take_n(struct iplimit *l, const void *key, size_t keylen, uint64_t n, uint64_t now_ms);
/* True when key holds n units at now_ms (a key not in the table holds a full bucket). */
bool iplimit_has(struct iplimit *l, const void *key, size_t keylen, uint64_t n, uint64_t now_ms);
/* Entries in use (bounded by the slot count). */
size_t iplimit_count(const struct iplimit *l);

#endif
