/* The store's users in bounded memory: a bulk-loaded table and an on-demand cache. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/integrity.h"
#include "turnpike/usercache.h"

struct usertab_entry {
	struct usertab_entry *next;  /* chain of buckets (by realm and name) */
	struct usertab_entry *hnext; /* chain of hbuckets (by USERHASH) */
	struct creds_key key;
	uint8_t hash[32]; /* USERHASH: SHA-256(name ":" realm) */
	size_t realmlen, namelen;
	char text[]; /* realm, NUL, name, NUL */
};

struct usertab {
	struct usertab_entry **buckets;
	struct usertab_entry **hbuckets; /* the same entries indexed by USERHASH */
	size_t nbuckets, n;
};

/* FNV-1a over realm, a NUL, name. */
static uint64_t
usercache_hash(const char *realm, size_t realmlen, const char *name, size_t namelen)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < realmlen; i++)
		h = (h ^ (uint8_t)realm[i]) * 1099511628211ULL;
	h *= 1099511628211ULL;
	for (i = 0; i < namelen; i++)
		h = (h ^ (uint8_t)name[i]) * 1099511628211ULL;
	return h;
}

struct usertab *
usertab_create(size_t n)
{
	struct usertab *t;
	size_t nb = 64;

	while (nb < 2 * n && nb < ((size_t)1 << 30))
		nb *= 2;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	if ((t->buckets = calloc(nb, sizeof *t->buckets)) == NULL ||
	    (t->hbuckets = calloc(nb, sizeof *t->hbuckets)) == NULL) {
		free(t->buckets);
		free(t);
		return NULL;
	}
	t->nbuckets = nb;
	return t;
}

void
usertab_free(struct usertab *t)
{
	struct usertab_entry *e, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			explicit_bzero(&e->key, sizeof e->key);
			free(e);
		}
	}
	free(t->buckets);
	free(t->hbuckets);
	free(t);
}

/* A USERHASH's bucket: SHA-256 output is uniform, so its first bytes will do. */
static size_t
usertab_hbucket(const struct usertab *t, const uint8_t hash[32])
{
	uint64_t v;

	memcpy(&v, hash, sizeof v);
	return (size_t)(v & (t->nbuckets - 1));
}

static struct usertab_entry *
usertab_lookup(const struct usertab *t, const char *realm, size_t realmlen, const char *name,
    size_t namelen)
{
	struct usertab_entry *e;

	e = t->buckets[usercache_hash(realm, realmlen, name, namelen) & (t->nbuckets - 1)];
	for (; e != NULL; e = e->next) {
		if (e->realmlen == realmlen && e->namelen == namelen &&
		    memcmp(e->text, realm, realmlen) == 0 &&
		    memcmp(e->text + realmlen + 1, name, namelen) == 0)
			return e;
	}
	return NULL;
}

int
usertab_add(struct usertab *t, const char *realm, const char *name, const struct creds_key *k)
{
	size_t rl = strlen(realm), nl = strlen(name), b;
	struct usertab_entry *e;

	if ((e = usertab_lookup(t, realm, rl, name, nl)) != NULL) {
		e->key = *k;
		return 0;
	}
	if ((e = malloc(sizeof *e + rl + nl + 2)) == NULL)
		return -1;
	e->key = *k;
	e->realmlen = rl;
	e->namelen = nl;
	memcpy(e->text, realm, rl + 1);
	memcpy(e->text + rl + 1, name, nl + 1);
	integrity_userhash(name, nl, realm, rl, e->hash);
	b = usercache_hash(realm, rl, name, nl) & (t->nbuckets - 1);
	e->next = t->buckets[b];
	t->buckets[b] = e;
	b = usertab_hbucket(t, e->hash);
	e->hnext = t->hbuckets[b];
	t->hbuckets[b] = e;
	t->n++;
	return 0;
}

void
usertab_del(struct usertab *t, const char *realm, const char *name)
{
	size_t rl = strlen(realm), nl = strlen(name);
	struct usertab_entry **pe, *e;

	pe = &t->buckets[usercache_hash(realm, rl, name, nl) & (t->nbuckets - 1)];
	for (; (e = *pe) != NULL; pe = &e->next) {
		if (e->realmlen == rl && e->namelen == nl && memcmp(e->text, realm, rl) == 0 &&
		    memcmp(e->text + rl + 1, name, nl) == 0) {
			*pe = e->next;
			explicit_bzero(&e->key, sizeof e->key);
			free(e);
			t->n--;
			return;
		}
	}
}

bool
usertab_has(const struct usertab *t, const char *realm, const char *name)
{
	return t != NULL && usertab_lookup(t, realm, strlen(realm), name, strlen(name)) != NULL;
}

size_t
usertab_count(const struct usertab *t)
{
	return t != NULL ? t->n : 0;
}

int
usertab_find(const struct usertab *t, const char *realm, size_t realmlen, const char *name,
    size_t namelen, struct creds_key *out)
{
	const struct usertab_entry *e;

	if (t == NULL || (e = usertab_lookup(t, realm, realmlen, name, namelen)) == NULL)
		return CREDS_UNKNOWN;
	*out = e->key;
	return CREDS_FOUND;
}

int
usertab_find_hash(const struct usertab *t, const uint8_t hash[32], const char *realm,
    size_t realmlen, char *name, size_t *namelen)
{
	const struct usertab_entry *e;

	if (t == NULL)
		return CREDS_UNKNOWN;
	/* One bucket of the USERHASH index: a lookup never walks the table. */
	for (e = t->hbuckets[usertab_hbucket(t, hash)]; e != NULL; e = e->hnext) {
		if (e->realmlen != realmlen || memcmp(e->text, realm, realmlen) != 0 ||
		    memcmp(e->hash, hash, sizeof e->hash) != 0 || e->namelen >= CREDS_NAME_MAX)
			continue;
		memcpy(name, e->text + e->realmlen + 1, e->namelen + 1);
		*namelen = e->namelen;
		return CREDS_FOUND;
	}
	return CREDS_UNKNOWN;
}

struct usercache_entry {
	bool used;
	int status;
	struct creds_key key;
	size_t realmlen, namelen;
	char realm[STORE_REALM_MAX + 1];
	char name[STORE_NAME_MAX + 1];
};

struct usercache_want {
	char realm[STORE_REALM_MAX + 1];
	char name[STORE_NAME_MAX + 1];
};

/* A USERHASH's answer: the user's name (status CREDS_FOUND) or none (CREDS_UNKNOWN). */
struct usercache_hentry {
	bool used;
	int status;
	uint8_t hash[32];
	size_t realmlen, namelen;
	char realm[STORE_REALM_MAX + 1];
	char name[STORE_NAME_MAX + 1];
};

struct usercache_hwant {
	char realm[STORE_REALM_MAX + 1];
	uint8_t hash[32];
};

struct usercache {
	pthread_mutex_t mu; /* held for memory only, never across a store call */
	struct usercache_entry slots[USERCACHE_SLOTS];
	struct usercache_want wanted[USERCACHE_WANTED];
	size_t whead, wcount;
	struct usercache_hentry hslots[USERCACHE_HASH_SLOTS];
	struct usercache_hwant hwanted[USERCACHE_HASH_WANTED];
	size_t hwhead, hwcount;
};

struct usercache *
usercache_create(void)
{
	struct usercache *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void
usercache_free(struct usercache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	explicit_bzero(c->slots, sizeof c->slots);
	free(c);
}

static struct usercache_entry *
usercache_slot(struct usercache *c, const char *realm, size_t realmlen, const char *name,
    size_t namelen)
{
	return &c->slots[usercache_hash(realm, realmlen, name, namelen) % USERCACHE_SLOTS];
}

/* Whether realm/name is queued already (c->mu held). */
static bool
usercache_is_wanted(const struct usercache *c, const char *realm, size_t realmlen, const char *name,
    size_t namelen)
{
	const struct usercache_want *w;
	size_t i;

	for (i = 0; i < c->wcount; i++) {
		w = &c->wanted[(c->whead + i) % USERCACHE_WANTED];
		if (strlen(w->realm) == realmlen && memcmp(w->realm, realm, realmlen) == 0 &&
		    strlen(w->name) == namelen && memcmp(w->name, name, namelen) == 0)
			return true;
	}
	return false;
}

/* The slot of a USERHASH in realm. */
static struct usercache_hentry *
usercache_hslot(struct usercache *c, const uint8_t hash[32], const char *realm, size_t realmlen)
{
	uint64_t v;

	memcpy(&v, hash, sizeof v); /* SHA-256 output is uniform */
	v ^= usercache_hash(realm, realmlen, "", 0);
	return &c->hslots[v % USERCACHE_HASH_SLOTS];
}

/* Sets (or clears) the slot of hash, a user's put by name (c->mu held). */
static void
usercache_index_hash(struct usercache *c, const uint8_t hash[32], const char *realm, size_t rl,
    const char *name, size_t nl, int status)
{
	struct usercache_hentry *h;

	h = usercache_hslot(c, hash, realm, rl);
	if (status == CREDS_FOUND) {
		h->used = true;
		h->status = CREDS_FOUND;
		memcpy(h->hash, hash, sizeof h->hash);
		h->realmlen = rl;
		memcpy(h->realm, realm, rl + 1);
		h->namelen = nl;
		memcpy(h->name, name, nl + 1);
	} else if (h->used && h->realmlen == rl && memcmp(h->realm, realm, rl) == 0 &&
	    memcmp(h->hash, hash, sizeof h->hash) == 0) {
		h->status = CREDS_UNKNOWN; /* the user is gone */
		h->namelen = 0;
		h->name[0] = '\0';
	}
}

int
usercache_get(struct usercache *c, const char *realm, size_t realmlen, const char *name,
    size_t namelen, struct creds_key *out, bool *queued)
{
	struct usercache_entry *e;
	struct usercache_want *w;
	int rc = CREDS_PENDING;

	*queued = false;
	if (realmlen > STORE_REALM_MAX || namelen > STORE_NAME_MAX ||
	    memchr(name, '\0', namelen) != NULL || memchr(realm, '\0', realmlen) != NULL)
		return CREDS_UNKNOWN; /* no store could hold it */
	pthread_mutex_lock(&c->mu);
	e = usercache_slot(c, realm, realmlen, name, namelen);
	if (e->used && e->realmlen == realmlen && e->namelen == namelen &&
	    memcmp(e->realm, realm, realmlen) == 0 && memcmp(e->name, name, namelen) == 0) {
		rc = e->status;
		if (rc == CREDS_FOUND)
			*out = e->key;
	} else if (c->wcount < USERCACHE_WANTED &&
	    !usercache_is_wanted(c, realm, realmlen, name, namelen)) {
		w = &c->wanted[(c->whead + c->wcount) % USERCACHE_WANTED];
		memcpy(w->realm, realm, realmlen);
		w->realm[realmlen] = '\0';
		memcpy(w->name, name, namelen);
		w->name[namelen] = '\0';
		c->wcount++;
		*queued = true;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void
usercache_put(struct usercache *c, const char *realm, const char *name, int status,
    const struct creds_key *k)
{
	size_t rl = strlen(realm), nl = strlen(name);
	struct usercache_entry *e;
	uint8_t hash[32];

	if (rl > STORE_REALM_MAX || nl > STORE_NAME_MAX)
		return;
	integrity_userhash(name, nl, realm, rl, hash);
	pthread_mutex_lock(&c->mu);
	e = usercache_slot(c, realm, rl, name, nl);
	e->used = true;
	e->status = status;
	if (status == CREDS_FOUND)
		e->key = *k;
	else
		memset(&e->key, 0, sizeof e->key);
	e->realmlen = rl;
	e->namelen = nl;
	memcpy(e->realm, realm, rl + 1);
	memcpy(e->name, name, nl + 1);
	usercache_index_hash(c, hash, realm, rl, name, nl, status);
	pthread_mutex_unlock(&c->mu);
}

bool
usercache_next_wanted(struct usercache *c, char realm[STORE_REALM_MAX + 1],
    char name[STORE_NAME_MAX + 1])
{
	bool got = false;

	pthread_mutex_lock(&c->mu);
	if (c->wcount > 0) {
		memcpy(realm, c->wanted[c->whead].realm, STORE_REALM_MAX + 1);
		memcpy(name, c->wanted[c->whead].name, STORE_NAME_MAX + 1);
		c->whead = (c->whead + 1) % USERCACHE_WANTED;
		c->wcount--;
		got = true;
	}
	pthread_mutex_unlock(&c->mu);
	return got;
}

void
usercache_clear(struct usercache *c)
{
	size_t i;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < USERCACHE_SLOTS; i++)
		c->slots[i].used = false;
	explicit_bzero(c->slots, sizeof c->slots);
	memset(c->hslots, 0, sizeof c->hslots);
	pthread_mutex_unlock(&c->mu);
}

int
usercache_get_hash(struct usercache *c, const uint8_t hash[32], const char *realm, size_t realmlen,
    char name[CREDS_NAME_MAX], size_t *namelen, bool *queued)
{
	struct usercache_hentry *h;
	struct usercache_hwant *w;
	size_t i;
	int rc = CREDS_PENDING;

	*queued = false;
	if (realmlen > STORE_REALM_MAX || memchr(realm, '\0', realmlen) != NULL)
		return CREDS_UNKNOWN; /* no store could hold it */
	pthread_mutex_lock(&c->mu);
	h = usercache_hslot(c, hash, realm, realmlen);
	if (h->used && h->realmlen == realmlen && memcmp(h->realm, realm, realmlen) == 0 &&
	    memcmp(h->hash, hash, sizeof h->hash) == 0) {
		rc = h->status;
		if (rc == CREDS_FOUND && h->namelen < CREDS_NAME_MAX) {
			memcpy(name, h->name, h->namelen + 1);
			*namelen = h->namelen;
		} else
			rc = CREDS_UNKNOWN;
		goto out;
	}
	for (i = 0; i < c->hwcount; i++) {
		w = &c->hwanted[(c->hwhead + i) % USERCACHE_HASH_WANTED];
		if (strlen(w->realm) == realmlen && memcmp(w->realm, realm, realmlen) == 0 &&
		    memcmp(w->hash, hash, sizeof w->hash) == 0)
			goto out; /* queued already */
	}
	if (c->hwcount < USERCACHE_HASH_WANTED) {
		w = &c->hwanted[(c->hwhead + c->hwcount) % USERCACHE_HASH_WANTED];
		memcpy(w->realm, realm, realmlen);
		w->realm[realmlen] = '\0';
		memcpy(w->hash, hash, sizeof w->hash);
		c->hwcount++;
		*queued = true;
	}
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void
usercache_put_hash(struct usercache *c, const char *realm, const uint8_t hash[32], int status,
    const char *name, const struct creds_key *k)
{
	size_t rl = strlen(realm);
	struct usercache_hentry *h;

	if (rl > STORE_REALM_MAX)
		return;
	if (status == CREDS_FOUND) {
		usercache_put(c, realm, name, CREDS_FOUND, k); /* indexes its hash too */
		return;
	}
	pthread_mutex_lock(&c->mu);
	h = usercache_hslot(c, hash, realm, rl);
	h->used = true;
	h->status = CREDS_UNKNOWN;
	memcpy(h->hash, hash, sizeof h->hash);
	h->realmlen = rl;
	memcpy(h->realm, realm, rl + 1);
	h->namelen = 0;
	h->name[0] = '\0';
	pthread_mutex_unlock(&c->mu);
}

bool
usercache_next_wanted_hash(struct usercache *c, char realm[STORE_REALM_MAX + 1], uint8_t hash[32])
{
	bool got = false;

	pthread_mutex_lock(&c->mu);
	if (c->hwcount > 0) {
		memcpy(realm, c->hwanted[c->hwhead].realm, STORE_REALM_MAX + 1);
		memcpy(hash, c->hwanted[c->hwhead].hash, 32);
		c->hwhead = (c->hwhead + 1) % USERCACHE_HASH_WANTED;
		c->hwcount--;
		got = true;
	}
	pthread_mutex_unlock(&c->mu);
	return got;
}

void
usercache_forget_hash_misses(struct usercache *c)
{
	size_t i;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < USERCACHE_HASH_SLOTS; i++) {
		if (c->hslots[i].used && c->hslots[i].status != CREDS_FOUND)
			c->hslots[i].used = false;
	}
	pthread_mutex_unlock(&c->mu);
}

int
usercache_names(struct usercache *c, char **out, size_t *n)
{
	char *v;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if ((v = malloc((size_t)USERCACHE_SLOTS * USERCACHE_NAME_REC)) == NULL)
		return -1;
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < USERCACHE_SLOTS; i++) {
		if (!c->slots[i].used)
			continue;
		memcpy(v + k * USERCACHE_NAME_REC, c->slots[i].realm, STORE_REALM_MAX + 1);
		memcpy(v + k * USERCACHE_NAME_REC + STORE_REALM_MAX + 1, c->slots[i].name,
		    STORE_NAME_MAX + 1);
		k++;
	}
	pthread_mutex_unlock(&c->mu);
	*out = v;
	*n = k;
	return 0;
}
