/* The kernel fast path channels of one relay socket, and their counts. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/cause.h"
#include "turnpike/relayfast.h"

struct relayfast {
	struct relayfast *next;
	struct fastpath_binding b;
	uint64_t until_ms;
	struct fastpath_counters seen; /* counts already handed back */
};

uint64_t
relayfast_ns(uint64_t ms)
{
	return ms > UINT64_MAX / 1000000 ? UINT64_MAX : ms * 1000000;
}

static struct relayfast *
relayfast_find(struct relayfast *list, const struct fastpath_binding *b)
{
	for (; list != NULL; list = list->next) {
		if (list->b.channel == b->channel &&
		    addr_equal((const struct sockaddr *)&list->b.peer,
			(const struct sockaddr *)&b->peer))
			return list;
	}
	return NULL;
}

int
relayfast_bind(struct fastpath *fp, struct relayfast **list, const struct fastpath_binding *b,
    uint64_t until_ms, char **cause)
{
	struct relayfast *f = relayfast_find(*list, b);
	bool fresh = f == NULL;

	if (fresh) {
		if ((f = calloc(1, sizeof *f)) == NULL)
			return cause_fail(cause, "out of memory");
		f->b = *b;
	}
	f->b.expires_ns = relayfast_ns(until_ms);
	if (fastpath_add(fp, &f->b, cause) != 0) {
		if (fresh)
			free(f);
		return -1;
	}
	f->until_ms = until_ms;
	if (fresh) {
		f->next = *list;
		*list = f;
	}
	return 0;
}

/* Adds what f relayed since the last look to *delta. */
static void
relayfast_take(struct fastpath *fp, struct relayfast *f, struct turn_counts *delta)
{
	struct fastpath_counters c;

	if (fastpath_read(fp, &f->b, &c) != 0)
		return;
	delta->to_peer_packets += c.to_peer_packets - f->seen.to_peer_packets;
	delta->to_peer_bytes += c.to_peer_bytes - f->seen.to_peer_bytes;
	delta->to_client_packets += c.to_client_packets - f->seen.to_client_packets;
	delta->to_client_bytes += c.to_client_bytes - f->seen.to_client_bytes;
	f->seen = c;
}

void
relayfast_sync(struct fastpath *fp, struct relayfast **list,
    uint64_t (*until)(void *arg, uint16_t number, const struct sockaddr *peer), void *arg,
    struct turn_counts *delta)
{
	struct relayfast **pp = list, *f;
	uint64_t u;

	while ((f = *pp) != NULL) {
		relayfast_take(fp, f, delta);
		u = until(arg, f->b.channel, (const struct sockaddr *)&f->b.peer);
		if (u == 0) {
			fastpath_remove(fp, &f->b);
			*pp = f->next;
			free(f);
			continue;
		}
		if (u != f->until_ms) {
			f->b.expires_ns = relayfast_ns(u);
			if (fastpath_add(fp, &f->b, NULL) == 0)
				f->until_ms = u;
		}
		pp = &f->next;
	}
}

void
relayfast_clear(struct fastpath *fp, struct relayfast **list, struct turn_counts *delta)
{
	struct relayfast *f;

	while ((f = *list) != NULL) {
		/* Out of the maps first, so that nothing is relayed after the last count. */
		f->b.expires_ns = 0;
		(void)fastpath_add(fp, &f->b, NULL);
		relayfast_take(fp, f, delta);
		fastpath_remove(fp, &f->b);
		*list = f->next;
		free(f);
	}
}

size_t
relayfast_count(const struct relayfast *list)
{
	size_t n = 0;

	for (; list != NULL; list = list->next)
		n++;
	return n;
}
