/*
 * Cross-worker limits: a chained hash of user name -> allocations under a
 * mutex (taken on Allocate and on close only), the values in force, and the
 * peer policy swapped under a rwlock.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/limits.h"
#include "turnpike/log.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/userdb.h"

#define LIMITS_BUCKETS 256

struct limits_user {
	struct limits_user *next;
	size_t count; /* allocations held; freed at 0 */
	size_t len;
	char name[]; /* not NUL-terminated */
};

struct limits {
	pthread_mutex_t mu; /* guards users, cfg and over */
	struct limits_user *users[LIMITS_BUCKETS];
	struct limits_values cfg, over;

	pthread_rwlock_t lock; /* guards store_policy */
	const struct peerpolicy *policy;
	struct peerpolicy *store_policy;
	char *realm; /* the server realm, for the store's rows; guarded by mu */

	/* The fleet's counts (limits_set_remote); set before the workers start. */
	const struct limits_remote *remote;
	void *remote_ctx;

	/* What limits_apply_store logged last (the reload thread's own). */
	bool logged;
	struct limits_values logged_v;
	size_t logged_allow, logged_deny;
};

struct limits *
limits_create(const struct limits_values *cfg, const struct peerpolicy *policy, const char *realm)
{
	struct limits *l;

	if ((l = calloc(1, sizeof *l)) == NULL)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	pthread_rwlock_init(&l->lock, NULL);
	l->cfg = *cfg;
	l->policy = policy;
	if ((l->realm = strdup(realm != NULL ? realm : "")) == NULL) {
		limits_free(l);
		return NULL;
	}
	return l;
}

int
limits_set_config(struct limits *l, const struct limits_values *cfg,
    const struct peerpolicy *policy, const char *realm)
{
	char *r, *old;

	if ((r = strdup(realm != NULL ? realm : "")) == NULL)
		return -1;
	pthread_mutex_lock(&l->mu);
	l->cfg = *cfg;
	old = l->realm;
	l->realm = r;
	pthread_mutex_unlock(&l->mu);
	free(old);
	pthread_rwlock_wrlock(&l->lock);
	l->policy = policy;
	pthread_rwlock_unlock(&l->lock);
	return 0;
}

void
limits_free(struct limits *l)
{
	struct limits_user *u, *next;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < LIMITS_BUCKETS; i++) {
		for (u = l->users[i]; u != NULL; u = next) {
			next = u->next;
			free(u);
		}
	}
	peerpolicy_free(l->store_policy);
	free(l->realm);
	pthread_mutex_destroy(&l->mu);
	pthread_rwlock_destroy(&l->lock);
	free(l);
}

static uint64_t
limits_pick(uint64_t over, uint64_t cfg)
{
	return over != 0 ? over : cfg;
}

/* Called with mu held. */
static void
limits_current_locked(const struct limits *l, struct limits_values *out)
{
	out->user_quota = limits_pick(l->over.user_quota, l->cfg.user_quota);
	out->total_quota = limits_pick(l->over.total_quota, l->cfg.total_quota);
	out->max_bps = limits_pick(l->over.max_bps, l->cfg.max_bps);
}

void
limits_current(struct limits *l, struct limits_values *out)
{
	pthread_mutex_lock(&l->mu);
	limits_current_locked(l, out);
	pthread_mutex_unlock(&l->mu);
}

void
limits_set_store(struct limits *l, const struct limits_values *over, struct peerpolicy *policy)
{
	struct peerpolicy *old;

	pthread_mutex_lock(&l->mu);
	l->over = *over;
	pthread_mutex_unlock(&l->mu);
	pthread_rwlock_wrlock(&l->lock);
	old = l->store_policy;
	l->store_policy = policy;
	pthread_rwlock_unlock(&l->lock);
	peerpolicy_free(old);
}

/* FNV-1a of the name. */
static size_t
limits_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h % LIMITS_BUCKETS;
}

/* The entry of user, or NULL; called with mu held. */
static struct limits_user *
limits_find(struct limits *l, const char *user, size_t len)
{
	struct limits_user *u;

	for (u = l->users[limits_hash(user, len)]; u != NULL; u = u->next) {
		if (u->len == len && memcmp(u->name, user, len) == 0)
			return u;
	}
	return NULL;
}

/* The entry of user, created with count 0; NULL without memory. Called with mu held. */
static struct limits_user *
limits_get(struct limits *l, const char *user, size_t len)
{
	struct limits_user *u;
	size_t b;

	if ((u = limits_find(l, user, len)) != NULL)
		return u;
	if ((u = calloc(1, sizeof *u + len)) == NULL)
		return NULL;
	memcpy(u->name, user, len);
	u->len = len;
	b = limits_hash(user, len);
	u->next = l->users[b];
	l->users[b] = u;
	return u;
}

void
limits_set_remote(struct limits *l, const struct limits_remote *ops, void *ctx)
{
	l->remote = ops;
	l->remote_ctx = ctx;
}

void
limits_foreach_user(struct limits *l,
    void (*fn)(void *arg, const char *user, size_t len, uint64_t count), void *arg)
{
	struct limits_user *u;
	size_t i;

	pthread_mutex_lock(&l->mu);
	for (i = 0; i < LIMITS_BUCKETS; i++) {
		for (u = l->users[i]; u != NULL; u = u->next)
			fn(arg, u->name, u->len, (uint64_t)u->count);
	}
	pthread_mutex_unlock(&l->mu);
}

/* Allocations on the other nodes of the fleet: the total, and user's (userlen > 0). */
static void
limits_remote_counts(struct limits *l, const char *user, size_t userlen, uint64_t *total,
    uint64_t *mine)
{
	*total = *mine = 0;
	if (l->remote == NULL)
		return;
	*total = l->remote->total(l->remote_ctx);
	if (userlen > 0)
		*mine = l->remote->user(l->remote_ctx, user, userlen);
}

static void
limits_changed(struct limits *l)
{
	if (l->remote != NULL)
		l->remote->changed(l->remote_ctx);
}

/* Removes and frees h; called with mu held. */
static void
limits_unlink(struct limits *l, struct limits_user *h)
{
	struct limits_user **pp;

	for (pp = &l->users[limits_hash(h->name, h->len)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			free(h);
			return;
		}
	}
}

int
limits_take(struct limits *l, size_t total, const char *user, size_t userlen,
    struct limits_user **handle, uint64_t *max_bps)
{
	struct limits_values v;
	struct limits_user *u;
	uint64_t rtotal, ruser;
	int rc = 0;

	*handle = NULL;
	limits_remote_counts(l, user, userlen, &rtotal, &ruser);
	pthread_mutex_lock(&l->mu);
	limits_current_locked(l, &v);
	*max_bps = v.max_bps;
	if (v.total_quota != 0 && (uint64_t)total + rtotal >= v.total_quota)
		rc = 486;
	else if (userlen > 0) {
		/* A new entry starts at 0; one the fleet's count refuses goes again. */
		if ((u = limits_get(l, user, userlen)) == NULL)
			rc = 508; /* out of memory */
		else if (v.user_quota != 0 && (uint64_t)u->count + ruser >= v.user_quota) {
			rc = 486;
			if (u->count == 0)
				limits_unlink(l, u);
		} else {
			u->count++;
			*handle = u;
		}
	}
	pthread_mutex_unlock(&l->mu);
	if (*handle != NULL)
		limits_changed(l);
	return rc;
}

void
limits_release(struct limits *l, struct limits_user *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	if (--h->count == 0)
		limits_unlink(l, h);
	pthread_mutex_unlock(&l->mu);
	limits_changed(l);
}

size_t
limits_user_count(struct limits *l, const char *user, size_t userlen)
{
	struct limits_user *u;
	size_t n;

	pthread_mutex_lock(&l->mu);
	u = limits_find(l, user, userlen);
	n = u != NULL ? u->count : 0;
	pthread_mutex_unlock(&l->mu);
	return n;
}

bool
limits_peer_check(void *ctx, const struct sockaddr *peer, const char **reason)
{
	struct limits *l = ctx;
	const struct peerpolicy *pp;
	bool ok;

	pthread_rwlock_rdlock(&l->lock);
	pp = l->store_policy != NULL ? l->store_policy : l->policy;
	ok = pp != NULL && peerpolicy_check(pp, peer, reason);
	if (pp == NULL)
		*reason = "no peer policy";
	pthread_rwlock_unlock(&l->lock);
	return ok;
}

/* A decimal realm option value; 0 (unset) when it is not one. */
static uint64_t
limits_parse_value(const char *v)
{
	char *end;
	unsigned long long n;

	if (v[0] < '0' || v[0] > '9')
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	return *end != '\0' || errno != 0 ? 0 : (uint64_t)n;
}

/* Whether a store row of realm r applies to the server realm ('' applies to every realm). */
static bool
limits_realm_applies(const char *r, const char *realm)
{
	return r[0] == '\0' || strcmp(r, realm) == 0;
}

/* The configured policy with the store's ranges added; NULL when out of memory. */
static struct peerpolicy *
limits_store_policy(struct limits *l, const char *realm, const struct userdb_rows *rows,
    size_t *nallow, size_t *ndeny)
{
	struct peerpolicy *pp;
	const struct store_row *r;
	char *cause = NULL;
	size_t i;
	int rc;

	*nallow = *ndeny = 0;
	/* Under the lock: a reload swaps the base policy and frees the old one later. */
	pthread_rwlock_rdlock(&l->lock);
	pp = l->policy != NULL ? peerpolicy_dup(l->policy) : peerpolicy_create();
	pthread_rwlock_unlock(&l->lock);
	if (pp == NULL)
		return NULL;
	for (i = 0; i < rows->npeers; i++) {
		r = &rows->peers[i];
		if (!limits_realm_applies(r->realm, realm))
			continue;
		if (strcmp(r->name, "allow") == 0)
			rc = peerpolicy_allow(pp, r->value, &cause), (*nallow)++;
		else
			rc = peerpolicy_deny(pp, r->value, &cause), (*ndeny)++;
		if (rc != 0) {
			log_warnx("store: peer range of realm \"%s\" ignored: %s", r->realm,
			    cause != NULL ? cause : "out of memory");
			free(cause);
			cause = NULL;
		}
	}
	return pp;
}

void
limits_apply_store(void *arg, const struct userdb_rows *rows)
{
	struct limits *l = arg;
	struct limits_values over = {0, 0, 0}, now;
	struct peerpolicy *pp;
	const struct store_row *r;
	size_t i, nallow, ndeny;
	char *realm;

	pthread_mutex_lock(&l->mu);
	realm = strdup(l->realm);
	pthread_mutex_unlock(&l->mu);
	if (realm == NULL) {
		log_warnx("store: out of memory: realm options not applied");
		return;
	}
	for (i = 0; i < rows->nopts; i++) {
		r = &rows->opts[i];
		if (strcmp(r->realm, realm) != 0)
			continue;
		if (strcmp(r->name, "user-quota") == 0)
			over.user_quota = limits_parse_value(r->value);
		else if (strcmp(r->name, "total-quota") == 0)
			over.total_quota = limits_parse_value(r->value);
		else if (strcmp(r->name, "max-bps") == 0)
			over.max_bps = limits_parse_value(r->value);
	}
	pp = limits_store_policy(l, realm, rows, &nallow, &ndeny);
	if (pp == NULL)
		log_warnx("store: out of memory: the store's peer ranges are not applied");
	limits_set_store(l, &over, pp);
	limits_current(l, &now);
	if (l->logged && memcmp(&now, &l->logged_v, sizeof now) == 0 && nallow == l->logged_allow &&
	    ndeny == l->logged_deny)
		goto out; /* a change of users or secrets only */
	l->logged = true;
	l->logged_v = now;
	l->logged_allow = nallow;
	l->logged_deny = ndeny;
	log_info("store: realm \"%s\": user-quota %llu, total-quota %llu, max-bps %llu (0: none); "
		 "%zu allowed and %zu denied peer ranges from the store",
	    realm, (unsigned long long)now.user_quota, (unsigned long long)now.total_quota,
	    (unsigned long long)now.max_bps, nallow, ndeny);
out:
	free(realm);
}
