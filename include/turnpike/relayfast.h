/*
 * The channels of one relay socket that the kernel fast path relays
 * (fastpath.h): installed when a ChannelBind succeeds, refreshed or dropped
 * about once a second as the core says, their counts handed back as deltas.
 */
#ifndef TURNPIKE_RELAYFAST_H
#define TURNPIKE_RELAYFAST_H

#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/fastpath.h"
#include "turnpike/turn.h"

struct relayfast;

/* Installs b (or refreshes it) until until_ms; -1 with a cause when it cannot. */
int relayfast_bind(struct fastpath *fp, struct relayfast **list, const struct fastpath_binding *b,
    uint64_t until_ms, char **cause);

/*
 * Adds the counts since the last call to *delta; asks until (the core's
 * turn_channel_until) for each channel: 0 removes it, a new time refreshes it.
 */
void relayfast_sync(struct fastpath *fp, struct relayfast **list,
    uint64_t (*until)(void *arg, uint16_t number, const struct sockaddr *peer), void *arg,
    struct turn_counts *delta);

/* Removes every channel of *list, adding their last counts to *delta. */
void relayfast_clear(struct fastpath *fp, struct relayfast **list, struct turn_counts *delta);

/* Channels in *list. */
size_t relayfast_count(const struct relayfast *list);

/* Converts monotonic milliseconds to the programs' CLOCK_MONOTONIC nanoseconds. */
uint64_t relayfast_ns(uint64_t ms);

#endif
