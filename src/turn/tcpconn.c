/* TCP relay connections by CONNECTION-ID (RFC 6062), and per allocation. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/random.h"
#include "turnpike/tcpconn.h"

#define TCPCONN_BUCKETS 1024 /* a power of two */
/* Draws before giving up on a free id: the table is nowhere near 2^24. */
#define TCPCONN_TRIES 16

struct tcpconn_table {
	struct tcpconn *buckets[TCPCONN_BUCKETS];
	size_t count;
};

static size_t
tcpconn_bucket(uint32_t id)
{
	/* The low byte is the owner's tag: hash the random bits. */
	return (id >> 8) & (TCPCONN_BUCKETS - 1);
}

struct tcpconn_table *
tcpconn_table_create(void)
{
	return calloc(1, sizeof(struct tcpconn_table));
}

void
tcpconn_table_free(struct tcpconn_table *tab)
{
	struct tcpconn *c, *next;
	size_t i;

	if (tab == NULL)
		return;
	for (i = 0; i < TCPCONN_BUCKETS; i++) {
		for (c = tab->buckets[i]; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
	}
	free(tab);
}

size_t
tcpconn_table_count(const struct tcpconn_table *tab)
{
	return tab->count;
}

struct tcpconn *
tcpconn_find(const struct tcpconn_table *tab, uint32_t id)
{
	struct tcpconn *c;

	for (c = tab->buckets[tcpconn_bucket(id)]; c != NULL; c = c->next) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

/* A fresh id ending in tag, not in tab; 0 on failure (0 is never issued). */
static uint32_t
tcpconn_new_id(const struct tcpconn_table *tab, uint8_t tag)
{
	uint32_t r, id;
	int i;

	for (i = 0; i < TCPCONN_TRIES; i++) {
		if (random_bytes(&r, sizeof r) != 0)
			return 0;
		id = (r & 0xffffff00u) | tag;
		if (id != 0 && tcpconn_find(tab, id) == NULL)
			return id;
	}
	return 0;
}

struct tcpconn *
tcpconn_add(struct tcpconn_table *tab, struct turn_allocation *a, struct tcpconn **list,
    const struct sockaddr *peer, uint8_t tag)
{
	struct tcpconn *c;
	size_t b;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if ((c->id = tcpconn_new_id(tab, tag)) == 0) {
		free(c);
		return NULL;
	}
	c->alloc = a;
	memcpy(&c->peer, peer, addr_len(peer));
	b = tcpconn_bucket(c->id);
	c->next = tab->buckets[b];
	tab->buckets[b] = c;
	c->next_alloc = *list;
	*list = c;
	tab->count++;
	return c;
}

struct tcpconn *
tcpconn_find_peer(struct tcpconn *list, const struct sockaddr *peer)
{
	for (; list != NULL; list = list->next_alloc) {
		if (addr_equal((const struct sockaddr *)&list->peer, peer))
			return list;
	}
	return NULL;
}

void
tcpconn_remove(struct tcpconn_table *tab, struct tcpconn **list, struct tcpconn *c)
{
	struct tcpconn **cp;

	for (cp = &tab->buckets[tcpconn_bucket(c->id)]; *cp != NULL; cp = &(*cp)->next) {
		if (*cp == c) {
			*cp = c->next;
			tab->count--;
			break;
		}
	}
	for (cp = list; *cp != NULL; cp = &(*cp)->next_alloc) {
		if (*cp == c) {
			*cp = c->next_alloc;
			break;
		}
	}
	explicit_bzero(&c->answer, sizeof c->answer);
	free(c);
}
