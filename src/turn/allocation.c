/* Allocations by 5-tuple, their permissions and channel bindings (RFC 8656 §6, §9, §12). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/allocation.h"

#define ALLOCATION_MIN_BUCKETS 64

/* How many allocations one user holds here (quotas, RFC 8656 §7.2 486). */
struct allocation_user {
	struct allocation_user *next;
	size_t count;
	size_t len;
	char name[];
};

struct allocation_table {
	uint32_t seed;
	struct turn_allocation **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	struct allocation_user **users;
	size_t nusers_buckets;
	size_t nusers;
};

static uint32_t
allocation_hash_tuple(const struct allocation_table *tab, const struct turn_5tuple *t)
{
	uint32_t h = addr_hash((const struct sockaddr *)&t->client, tab->seed);

	h ^= addr_hash((const struct sockaddr *)&t->server, tab->seed ^ 0x9e3779b9u) * 31u;
	return h ^ t->transport;
}

/* FNV-1a of a user name, mixed with the table's seed. */
static uint32_t
allocation_hash_user(const struct allocation_table *tab, const char *user, size_t len)
{
	uint32_t h = 2166136261u ^ tab->seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)user[i];
		h *= 16777619u;
	}
	return h;
}

static bool
allocation_tuple_equal(const struct turn_5tuple *a, const struct turn_5tuple *b)
{
	return a->transport == b->transport &&
	    addr_equal((const struct sockaddr *)&a->client, (const struct sockaddr *)&b->client) &&
	    addr_equal((const struct sockaddr *)&a->server, (const struct sockaddr *)&b->server);
}

struct allocation_table *
allocation_table_create(uint32_t seed)
{
	struct allocation_table *tab;

	if ((tab = calloc(1, sizeof *tab)) == NULL)
		return NULL;
	tab->seed = seed;
	tab->nbuckets = tab->nusers_buckets = ALLOCATION_MIN_BUCKETS;
	tab->buckets = calloc(tab->nbuckets, sizeof *tab->buckets);
	tab->users = calloc(tab->nusers_buckets, sizeof *tab->users);
	if (tab->buckets == NULL || tab->users == NULL) {
		free(tab->buckets);
		free(tab->users);
		free(tab);
		return NULL;
	}
	return tab;
}

static void
allocation_free_one(struct turn_allocation *a)
{
	volatile uint8_t *k = a->session.key;
	size_t i;

	for (i = 0; i < sizeof a->session.key; i++)
		k[i] = 0;
	free(a->user);
	free(a->realm);
	free(a->origin);
	free(a->perms);
	free(a->chans);
	free(a);
}

void
allocation_table_free(struct allocation_table *tab)
{
	struct turn_allocation *a, *next;
	struct allocation_user *u, *unext;
	size_t i;

	if (tab == NULL)
		return;
	for (i = 0; i < tab->nbuckets; i++) {
		for (a = tab->buckets[i]; a != NULL; a = next) {
			next = a->next;
			allocation_free_one(a);
		}
	}
	for (i = 0; i < tab->nusers_buckets; i++) {
		for (u = tab->users[i]; u != NULL; u = unext) {
			unext = u->next;
			free(u);
		}
	}
	free(tab->buckets);
	free(tab->users);
	free(tab);
}

void
allocation_table_walk(struct allocation_table *tab,
    void (*fn)(void *arg, struct turn_allocation *a), void *arg)
{
	struct turn_allocation *a, *next;
	size_t i;

	for (i = 0; i < tab->nbuckets; i++) {
		for (a = tab->buckets[i]; a != NULL; a = next) {
			next = a->next;
			fn(arg, a);
		}
	}
}

size_t
allocation_table_count(const struct allocation_table *tab)
{
	return tab->count;
}

static struct allocation_user **
allocation_user_slot(const struct allocation_table *tab, const char *user, size_t len)
{
	struct allocation_user **up;

	up = &tab->users[allocation_hash_user(tab, user, len) & (tab->nusers_buckets - 1)];
	for (; *up != NULL; up = &(*up)->next) {
		if ((*up)->len == len && memcmp((*up)->name, user, len) == 0)
			break;
	}
	return up;
}

size_t
allocation_table_user_count(const struct allocation_table *tab, const char *user, size_t userlen)
{
	struct allocation_user **up = allocation_user_slot(tab, user, userlen);

	return *up != NULL ? (*up)->count : 0;
}

/* Doubles the user buckets when they are as many as the users. */
static void
allocation_grow_users(struct allocation_table *tab)
{
	struct allocation_user **nb, *u, *next;
	size_t i, n = tab->nusers_buckets * 2, h;

	if (tab->nusers < tab->nusers_buckets || (nb = calloc(n, sizeof *nb)) == NULL)
		return;
	for (i = 0; i < tab->nusers_buckets; i++) {
		for (u = tab->users[i]; u != NULL; u = next) {
			next = u->next;
			h = allocation_hash_user(tab, u->name, u->len) & (n - 1);
			u->next = nb[h];
			nb[h] = u;
		}
	}
	free(tab->users);
	tab->users = nb;
	tab->nusers_buckets = n;
}

static int
allocation_user_add(struct allocation_table *tab, const char *user, size_t len)
{
	struct allocation_user **up = allocation_user_slot(tab, user, len), *u;

	if (*up != NULL) {
		(*up)->count++;
		return 0;
	}
	if ((u = calloc(1, sizeof *u + len + 1)) == NULL)
		return -1;
	memcpy(u->name, user, len);
	u->len = len;
	u->count = 1;
	*up = u;
	tab->nusers++;
	allocation_grow_users(tab);
	return 0;
}

static void
allocation_user_del(struct allocation_table *tab, const char *user, size_t len)
{
	struct allocation_user **up = allocation_user_slot(tab, user, len), *u = *up;

	if (u == NULL || --u->count > 0)
		return;
	*up = u->next;
	free(u);
	tab->nusers--;
}

struct turn_allocation *
allocation_find(const struct allocation_table *tab, const struct turn_5tuple *t)
{
	struct turn_allocation *a;

	a = tab->buckets[allocation_hash_tuple(tab, t) & (tab->nbuckets - 1)];
	for (; a != NULL; a = a->next) {
		if (allocation_tuple_equal(&a->tuple, t))
			return a;
	}
	return NULL;
}

/* Doubles the buckets when there are as many allocations as buckets. */
static void
allocation_grow(struct allocation_table *tab)
{
	struct turn_allocation **nb, *a, *next;
	size_t i, n = tab->nbuckets * 2, h;

	if (tab->count < tab->nbuckets || (nb = calloc(n, sizeof *nb)) == NULL)
		return;
	for (i = 0; i < tab->nbuckets; i++) {
		for (a = tab->buckets[i]; a != NULL; a = next) {
			next = a->next;
			h = allocation_hash_tuple(tab, &a->tuple) & (n - 1);
			a->next = nb[h];
			nb[h] = a;
		}
	}
	free(tab->buckets);
	tab->buckets = nb;
	tab->nbuckets = n;
}

struct turn_allocation *
allocation_add(struct allocation_table *tab, const struct turn_5tuple *t, const char *user,
    size_t userlen)
{
	struct turn_allocation *a;
	size_t h;

	if ((a = calloc(1, sizeof *a)) == NULL)
		return NULL;
	if ((a->user = malloc(userlen + 1)) == NULL ||
	    allocation_user_add(tab, user, userlen) == -1) {
		free(a->user);
		free(a);
		return NULL;
	}
	memcpy(a->user, user, userlen);
	a->user[userlen] = '\0';
	a->userlen = userlen;
	a->tuple = *t;
	h = allocation_hash_tuple(tab, t) & (tab->nbuckets - 1);
	a->next = tab->buckets[h];
	tab->buckets[h] = a;
	tab->count++;
	allocation_grow(tab);
	return a;
}

struct turn_allocation *
allocation_find_id(const struct allocation_table *tab, uint64_t id)
{
	struct turn_allocation *a;
	size_t i;

	for (i = 0; i < tab->nbuckets; i++) {
		for (a = tab->buckets[i]; a != NULL; a = a->next) {
			if (a->id == id)
				return a;
		}
	}
	return NULL;
}

/* Unlinks a from its bucket (it stays counted). */
static void
allocation_unlink(struct allocation_table *tab, struct turn_allocation *a)
{
	struct turn_allocation **ap;

	ap = &tab->buckets[allocation_hash_tuple(tab, &a->tuple) & (tab->nbuckets - 1)];
	for (; *ap != NULL; ap = &(*ap)->next) {
		if (*ap == a) {
			*ap = a->next;
			return;
		}
	}
}

void
allocation_move(struct allocation_table *tab, struct turn_allocation *a,
    const struct turn_5tuple *t)
{
	size_t h;

	allocation_unlink(tab, a);
	a->tuple = *t;
	h = allocation_hash_tuple(tab, t) & (tab->nbuckets - 1);
	a->next = tab->buckets[h];
	tab->buckets[h] = a;
}

void
allocation_remove(struct allocation_table *tab, struct turn_allocation *a)
{
	struct turn_allocation **ap;

	ap = &tab->buckets[allocation_hash_tuple(tab, &a->tuple) & (tab->nbuckets - 1)];
	for (; *ap != NULL; ap = &(*ap)->next) {
		if (*ap == a) {
			*ap = a->next;
			tab->count--;
			break;
		}
	}
	allocation_user_del(tab, a->user, a->userlen);
	allocation_free_one(a);
}

bool
allocation_is_user(const struct turn_allocation *a, const char *user, size_t userlen)
{
	return a->userlen == userlen && memcmp(a->user, user, userlen) == 0;
}

/* A NUL-terminated copy of len bytes of p; NULL when out of memory. */
static char *
allocation_copy(const char *p, size_t len)
{
	char *c;

	if ((c = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(c, p, len);
	c[len] = '\0';
	return c;
}

int
allocation_set_realm(struct turn_allocation *a, const char *realm, size_t realmlen,
    const char *origin, size_t originlen)
{
	char *r, *o = NULL;

	if ((r = allocation_copy(realm, realmlen)) == NULL ||
	    (origin != NULL && (o = allocation_copy(origin, originlen)) == NULL)) {
		free(r);
		return -1;
	}
	free(a->realm);
	free(a->origin);
	a->realm = r;
	a->realmlen = realmlen;
	a->origin = o;
	a->originlen = o != NULL ? originlen : 0;
	return 0;
}

bool
allocation_is_realm(const struct turn_allocation *a, const char *realm, size_t realmlen)
{
	if (a->realmlen != realmlen)
		return false;
	return realmlen == 0 || memcmp(a->realm, realm, realmlen) == 0;
}

/* The slot index of r in a, or ALLOCATION_MAX_RELAYS when r is not one of a's slots. */
static size_t
allocation_relay_index(const struct turn_allocation *a, const struct turn_relay *r)
{
	size_t i;

	for (i = 0; i < ALLOCATION_MAX_RELAYS; i++) {
		if (r == &a->relays[i])
			return i;
	}
	return ALLOCATION_MAX_RELAYS;
}

struct turn_relay *
allocation_free_relay(struct turn_allocation *a)
{
	size_t i;

	for (i = 0; i < ALLOCATION_MAX_RELAYS; i++) {
		if (!a->live[i]) {
			memset(&a->relays[i], 0, sizeof a->relays[i]);
			return &a->relays[i];
		}
	}
	return NULL;
}

void
allocation_keep_relay(struct turn_allocation *a, struct turn_relay *r)
{
	size_t i = allocation_relay_index(a, r);

	if (i < ALLOCATION_MAX_RELAYS && !a->live[i]) {
		a->live[i] = true;
		a->nrelays++;
	}
}

struct turn_relay *
allocation_relay(struct turn_allocation *a, int family)
{
	size_t i;

	for (i = 0; i < ALLOCATION_MAX_RELAYS; i++) {
		if (a->live[i] && a->relays[i].relayed.ss_family == family)
			return &a->relays[i];
	}
	return NULL;
}

bool
allocation_has_relay(const struct turn_allocation *a, const struct turn_relay *r)
{
	size_t i = allocation_relay_index(a, r);

	return i < ALLOCATION_MAX_RELAYS && a->live[i];
}

void
allocation_drop_relay(struct turn_allocation *a, struct turn_relay *r)
{
	size_t i = allocation_relay_index(a, r);

	if (i < ALLOCATION_MAX_RELAYS && a->live[i]) {
		a->live[i] = false;
		a->nrelays--;
	}
}

void
allocation_purge(struct turn_allocation *a, uint64_t now_ms)
{
	size_t i, n;

	for (i = n = 0; i < a->nperms; i++) {
		if (a->perms[i].expires_ms > now_ms)
			a->perms[n++] = a->perms[i];
	}
	a->nperms = n;
	for (i = n = 0; i < a->nchans; i++) {
		if (a->chans[i].expires_ms > now_ms)
			a->chans[n++] = a->chans[i];
	}
	a->nchans = n;
}

static struct allocation_permission *
allocation_perm_find(const struct turn_allocation *a, const struct sockaddr *peer, uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < a->nperms; i++) {
		if (a->perms[i].expires_ms > now_ms &&
		    addr_equal_ip((const struct sockaddr *)&a->perms[i].peer, peer))
			return &a->perms[i];
	}
	return NULL;
}

/* p with room for n + 1 elements (doubling from 1), or NULL when out of memory. */
static void *
allocation_room(void *p, size_t n, size_t *cap, size_t size)
{
	void *grown;
	size_t ncap;

	if (n < *cap)
		return p;
	ncap = *cap == 0 ? 1 : *cap * 2; /* most allocations have one or two peers */
	if ((grown = reallocarray(p, ncap, size)) == NULL)
		return NULL;
	*cap = ncap;
	return grown;
}

int
allocation_permit(struct turn_allocation *a, const struct sockaddr *peer, uint64_t expires_ms,
    size_t max, uint64_t now_ms)
{
	struct allocation_permission *p;

	if ((p = allocation_perm_find(a, peer, now_ms)) != NULL) {
		p->expires_ms = expires_ms;
		return 0;
	}
	allocation_purge(a, now_ms);
	if (max != 0 && a->nperms >= max)
		return -1;
	if ((p = allocation_room(a->perms, a->nperms, &a->capperms, sizeof *p)) == NULL)
		return -1;
	a->perms = p;
	p = &a->perms[a->nperms++];
	memset(p, 0, sizeof *p);
	memcpy(&p->peer, peer, addr_len(peer));
	p->expires_ms = expires_ms;
	return 0;
}

struct allocation_permission *
allocation_permission(struct turn_allocation *a, const struct sockaddr *peer, uint64_t now_ms)
{
	return allocation_perm_find(a, peer, now_ms);
}

bool
allocation_is_permitted(const struct turn_allocation *a, const struct sockaddr *peer,
    uint64_t now_ms)
{
	return allocation_perm_find(a, peer, now_ms) != NULL;
}

const struct allocation_channel *
allocation_channel(const struct turn_allocation *a, uint16_t number, uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < a->nchans; i++) {
		if (a->chans[i].number == number && a->chans[i].expires_ms > now_ms)
			return &a->chans[i];
	}
	return NULL;
}

const struct allocation_channel *
allocation_channel_of(const struct turn_allocation *a, const struct sockaddr *peer, uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < a->nchans; i++) {
		if (a->chans[i].expires_ms > now_ms &&
		    addr_equal((const struct sockaddr *)&a->chans[i].peer, peer))
			return &a->chans[i];
	}
	return NULL;
}

int
allocation_bind_check(const struct turn_allocation *a, uint16_t number, const struct sockaddr *peer,
    size_t max, uint64_t now_ms)
{
	const struct allocation_channel *byno = allocation_channel(a, number, now_ms);
	const struct allocation_channel *bypeer = allocation_channel_of(a, peer, now_ms);
	size_t i, live = 0;

	/* RFC 8656 §12.2: one peer per channel and one channel per peer. */
	if (byno != bypeer)
		return ALLOCATION_BIND_CONFLICT;
	if (byno != NULL || max == 0)
		return ALLOCATION_BIND_OK;
	for (i = 0; i < a->nchans; i++)
		live += a->chans[i].expires_ms > now_ms;
	return live < max ? ALLOCATION_BIND_OK : ALLOCATION_BIND_FULL;
}

int
allocation_bind(struct turn_allocation *a, uint16_t number, const struct sockaddr *peer,
    uint64_t expires_ms, size_t max, uint64_t now_ms)
{
	struct allocation_channel *c;
	size_t i;
	int rc;

	if ((rc = allocation_bind_check(a, number, peer, max, now_ms)) != ALLOCATION_BIND_OK)
		return rc;
	for (i = 0; i < a->nchans; i++) {
		if (a->chans[i].number == number && a->chans[i].expires_ms > now_ms) {
			a->chans[i].expires_ms = expires_ms;
			return ALLOCATION_BIND_OK;
		}
	}
	allocation_purge(a, now_ms);
	if ((c = allocation_room(a->chans, a->nchans, &a->capchans, sizeof *c)) == NULL)
		return ALLOCATION_BIND_FULL;
	a->chans = c;
	c = &a->chans[a->nchans++];
	memset(c, 0, sizeof *c);
	c->number = number;
	memcpy(&c->peer, peer, addr_len(peer));
	c->expires_ms = expires_ms;
	return ALLOCATION_BIND_OK;
}
