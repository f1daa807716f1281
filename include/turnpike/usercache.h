/*
 * The store's users in the daemon's memory, bounded: a table of at most
 * userdb-cache-users users loaded in bulk (usertab, immutable once built), and
 * beside it a fixed-size cache of users looked up one by one on demand, with
 * negative entries (usercache). A miss in both queues the name for the store
 * thread and answers CREDS_PENDING at once: no caller ever waits on a database.
 */
#ifndef TURNPIKE_USERCACHE_H
#define TURNPIKE_USERCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/creds.h"
#include "turnpike/store.h"

struct usertab;

/* A table sized for about n users; NULL when out of memory. */
struct usertab *usertab_create(size_t n);
void usertab_free(struct usertab *t);
/* Adds (or replaces) realm/name with key k; -1 when out of memory. */
int usertab_add(struct usertab *t, const char *realm, const char *name, const struct creds_key *k);
/* Removes realm/name when present. */
void usertab_del(struct usertab *t, const char *realm, const char *name);
bool usertab_has(const struct usertab *t, const char *realm, const char *name);
size_t usertab_count(const struct usertab *t);
/* CREDS_FOUND with *out, or CREDS_UNKNOWN. */
int usertab_find(const struct usertab *t, const char *realm, size_t realmlen, const char *name,
    size_t namelen, struct creds_key *out);
/* The user of realm whose USERHASH is hash (RFC 8489 §14.4): CREDS_FOUND or CREDS_UNKNOWN. */
int usertab_find_hash(const struct usertab *t, const uint8_t hash[32], const char *realm,
    size_t realmlen, char *name, size_t *namelen);

#define USERCACHE_SLOTS 4096 /* users looked up on demand, kept until the store changes */
#define USERCACHE_WANTED 64  /* misses queued for the store thread */

struct usercache;

struct usercache *usercache_create(void);
void usercache_free(struct usercache *c);
/*
 * The cached answer for realm/name: CREDS_FOUND with *out, CREDS_UNKNOWN (a
 * negative entry), or CREDS_PENDING: not cached, queued for the store thread
 * (*queued true when this call queued it). Memory only: safe from any thread.
 */
int usercache_get(struct usercache *c, const char *realm, size_t realmlen, const char *name,
    size_t namelen, struct creds_key *out, bool *queued);
/* The store thread's answer: status CREDS_FOUND (with k) or CREDS_UNKNOWN. */
void usercache_put(struct usercache *c, const char *realm, const char *name, int status,
    const struct creds_key *k);
/* Takes the next queued name into realm and name (NUL-terminated); false when none. */
bool usercache_next_wanted(struct usercache *c, char realm[STORE_REALM_MAX + 1],
    char name[STORE_NAME_MAX + 1]);
/*
 * Copies the realm and name of every entry into a new array (*out, n entries of
 * STORE_REALM_MAX + 1 + STORE_NAME_MAX + 1 bytes: realm, then name), for the
 * store thread to look them up again after a change; -1 when out of memory.
 */
int usercache_names(struct usercache *c, char **out, size_t *n);
#define USERCACHE_NAME_REC (STORE_REALM_MAX + 1 + STORE_NAME_MAX + 1)
/* Forgets every entry (the store cannot be read). */
void usercache_clear(struct usercache *c);

/*
 * USERHASHes (RFC 8489 §14.4) beside the names: a slot per realm and hash
 * naming the user (every user put by name is indexed by its hash too), or a
 * negative entry, and a queue of its own, so that hashes nobody has can never
 * take the slots of the names' queue. USERCACHE_HASH_WANTED is small: each
 * hash the store is asked for may be a scan of a realm (see store.h).
 */
#define USERCACHE_HASH_SLOTS 1024
#define USERCACHE_HASH_WANTED 16

/*
 * The cached answer for the user whose USERHASH in realm is hash: CREDS_FOUND
 * with name (NUL-terminated; *namelen < CREDS_NAME_MAX), CREDS_UNKNOWN (a
 * negative entry), or CREDS_PENDING: queued for the store thread (*queued true
 * when this call queued it), or the queue is full. Memory only.
 */
int usercache_get_hash(struct usercache *c, const uint8_t hash[32], const char *realm,
    size_t realmlen, char name[CREDS_NAME_MAX], size_t *namelen, bool *queued);
/* The store thread's answer for a hash: CREDS_FOUND (name, cached by name with k too) or not. */
void usercache_put_hash(struct usercache *c, const char *realm, const uint8_t hash[32], int status,
    const char *name, const struct creds_key *k);
/* Takes the next queued hash into realm and hash; false when none. */
bool usercache_next_wanted_hash(struct usercache *c, char realm[STORE_REALM_MAX + 1],
    uint8_t hash[32]);
/* Forgets the negative hash entries (after a change the store may hold those users now). */
void usercache_forget_hash_misses(struct usercache *c);

#endif
