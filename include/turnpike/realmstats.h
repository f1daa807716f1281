/*
 * Traffic per realm for the metrics, with bounded cardinality: the first
 * REALMSTATS_MAX realms seen since start get a series of their own, for good
 * (a counter never moves to another series); the others are summed under
 * realm="_other". Thread-safe: workers add ended sessions, a scrape reads.
 */
#ifndef TURNPIKE_REALMSTATS_H
#define TURNPIKE_REALMSTATS_H

#include <stddef.h>

#include "turnpike/metrics.h"

#define REALMSTATS_MAX 100
#define REALMSTATS_OTHER "_other"

struct realmstats;

/* At most cap realms of their own; NULL when out of memory. */
struct realmstats *realmstats_create(size_t cap);
void realmstats_free(struct realmstats *rs);
/* The slot of realm (NULL: ""), registered when there is room: < cap, or cap for "_other". */
size_t realmstats_slot(struct realmstats *rs, const char *realm);
size_t realmstats_cap(const struct realmstats *rs);
/* An ended session's traffic into its realm's totals. */
void realmstats_add(struct realmstats *rs, const char *realm, const struct metrics_counts *c);
/*
 * The series so far, in slot order, "_other" last when any realm went there:
 * names copied (free each and the array), totals of ended sessions; live[i]
 * (cap + 1 entries, by slot; NULL: none) is added. -1 when out of memory.
 */
int realmstats_snapshot(struct realmstats *rs, const struct metrics_counts *live,
    struct metrics_realm_traffic **out, size_t *n);

#endif
