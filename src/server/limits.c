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

/* Allocations of one realm, for its total-quota and the per-realm gauge; freed at 0. */
struct limits_realm {
	struct limits_realm *next;
	size_t count;
	size_t len;
	char name[]; /* NUL-terminated */
};

/* One user of one realm; the handle an allocation holds. */
struct limits_user {
	struct limits_user *next;
	struct limits_realm *realm;
	size_t count; /* allocations held; freed at 0 */
	size_t len;
	char name[]; /* not NUL-terminated; len 0: no user (no-auth) */
};

/* The store's turn_realm_option values of one realm. */
struct limits_over {
	char *realm;
	struct limits_values v;
};

struct limits {
	pthread_mutex_t mu; /* guards users, realms, cfg and overs */
	struct limits_user *users[LIMITS_BUCKETS];
	struct limits_realm *realms;
	struct limits_values cfg;
	struct limits_over *overs;
	size_t novers;

	pthread_rwlock_t lock; /* guards store_policy */
	const struct peerpolicy *policy;
	struct peerpolicy *store_policy;
	char *realm; /* the server realm, for the store's rows; guarded by mu */

	/* What limits_apply_store logged last (the reload thread's own). */
	bool logged;
	struct limits_values logged_v;
	size_t logged_allow, logged_deny, logged_realms;
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

static void
limits_overs_free(struct limits_over *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(o[i].realm);
	free(o);
}

void
limits_free(struct limits *l)
{
	struct limits_user *u, *next;
	struct limits_realm *r, *rnext;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < LIMITS_BUCKETS; i++) {
		for (u = l->users[i]; u != NULL; u = next) {
			next = u->next;
			free(u);
		}
	}
	for (r = l->realms; r != NULL; r = rnext) {
		rnext = r->next;
		free(r);
	}
	limits_overs_free(l->overs, l->novers);
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

/* The values in force in realm: its store options over the configuration. Called with mu held. */
static void
limits_values_locked(const struct limits *l, const char *realm, size_t len,
    struct limits_values *out)
{
	const struct limits_values *o = NULL;
	size_t i;

	for (i = 0; i < l->novers && o == NULL; i++) {
		if (strlen(l->overs[i].realm) == len && memcmp(l->overs[i].realm, realm, len) == 0)
			o = &l->overs[i].v;
	}
	out->user_quota = limits_pick(o != NULL ? o->user_quota : 0, l->cfg.user_quota);
	out->total_quota = limits_pick(o != NULL ? o->total_quota : 0, l->cfg.total_quota);
	out->max_bps = limits_pick(o != NULL ? o->max_bps : 0, l->cfg.max_bps);
}

void
limits_current(struct limits *l, struct limits_values *out)
{
	pthread_mutex_lock(&l->mu);
	limits_values_locked(l, l->realm, strlen(l->realm), out);
	pthread_mutex_unlock(&l->mu);
}

void
limits_realm_values(struct limits *l, const char *realm, struct limits_values *out)
{
	pthread_mutex_lock(&l->mu);
	limits_values_locked(l, realm, strlen(realm), out);
	pthread_mutex_unlock(&l->mu);
}

/* Swaps in the store's realm options (owned) and peer policy (owned; NULL: configured). */
static void
limits_set_store_all(struct limits *l, struct limits_over *overs, size_t novers,
    struct peerpolicy *policy)
{
	struct limits_over *old_overs;
	struct peerpolicy *old;
	size_t old_n;

	pthread_mutex_lock(&l->mu);
	old_overs = l->overs;
	old_n = l->novers;
	l->overs = overs;
	l->novers = novers;
	pthread_mutex_unlock(&l->mu);
	limits_overs_free(old_overs, old_n);
	pthread_rwlock_wrlock(&l->lock);
	old = l->store_policy;
	l->store_policy = policy;
	pthread_rwlock_unlock(&l->lock);
	peerpolicy_free(old);
}

/* FNV-1a of the realm and the name. */
static size_t
limits_hash(const char *realm, size_t realmlen, const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < realmlen; i++) {
		h ^= (uint8_t)realm[i];
		h *= 16777619u;
	}
	h ^= 0xff; /* a separator no UTF-8 text holds */
	h *= 16777619u;
	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h % LIMITS_BUCKETS;
}

/* The entry of realm, or NULL; called with mu held. */
static struct limits_realm *
limits_find_realm(struct limits *l, const char *realm, size_t len)
{
	struct limits_realm *r;

	for (r = l->realms; r != NULL; r = r->next) {
		if (r->len == len && memcmp(r->name, realm, len) == 0)
			return r;
	}
	return NULL;
}

/* The entry of realm, created with count 0; NULL without memory. Called with mu held. */
static struct limits_realm *
limits_get_realm(struct limits *l, const char *realm, size_t len)
{
	struct limits_realm *r;

	if ((r = limits_find_realm(l, realm, len)) != NULL)
		return r;
	if ((r = calloc(1, sizeof *r + len + 1)) == NULL)
		return NULL;
	memcpy(r->name, realm, len);
	r->len = len;
	r->next = l->realms;
	l->realms = r;
	return r;
}

static void
limits_put_realm(struct limits *l, struct limits_realm *r)
{
	struct limits_realm **pp;

	if (--r->count != 0)
		return;
	for (pp = &l->realms; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			free(r);
			return;
		}
	}
}

/* The entry of user in realm r, or NULL; called with mu held. */
static struct limits_user *
limits_find(struct limits *l, const struct limits_realm *r, const char *user, size_t len)
{
	struct limits_user *u;

	for (u = l->users[limits_hash(r->name, r->len, user, len)]; u != NULL; u = u->next) {
		if (u->realm == r && u->len == len && memcmp(u->name, user, len) == 0)
			return u;
	}
	return NULL;
}

/* The entry of user, created with count 0; NULL without memory. Called with mu held. */
static struct limits_user *
limits_get(struct limits *l, struct limits_realm *r, const char *user, size_t len)
{
	struct limits_user *u;
	size_t b;

	if ((u = limits_find(l, r, user, len)) != NULL)
		return u;
	if ((u = calloc(1, sizeof *u + len)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(u->name, user, len);
	u->len = len;
	u->realm = r;
	b = limits_hash(r->name, r->len, user, len);
	u->next = l->users[b];
	l->users[b] = u;
	return u;
}

/* Unlinks and frees u; called with mu held. */
static void
limits_unlink_user(struct limits *l, struct limits_user *u)
{
	struct limits_user **pp;

	pp = &l->users[limits_hash(u->realm->name, u->realm->len, u->name, u->len)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			free(u);
			return;
		}
	}
}

/* Entries a refused limits_take created and left empty; called with mu held. */
static void
limits_drop_empty(struct limits *l, struct limits_realm *r, struct limits_user *u)
{
	if (u != NULL && u->count == 0)
		limits_unlink_user(l, u);
	if (r != NULL && r->count == 0) {
		r->count = 1;
		limits_put_realm(l, r);
	}
}

/* The realm of a request: the server realm when none is named. Called with mu held. */
static void
limits_req_realm(const struct limits *l, const struct limits_req *req, const char **realm,
    size_t *len)
{
	*realm = req->realm != NULL && req->realmlen > 0 ? req->realm : l->realm;
	*len = req->realm != NULL && req->realmlen > 0 ? req->realmlen : strlen(l->realm);
}

int
limits_take(struct limits *l, const struct limits_req *req, struct limits_user **handle,
    uint64_t *max_bps)
{
	struct limits_values v;
	struct limits_realm *r;
	struct limits_user *u = NULL;
	const char *realm;
	size_t realmlen;
	int rc = 0;

	*handle = NULL;
	pthread_mutex_lock(&l->mu);
	limits_req_realm(l, req, &realm, &realmlen);
	limits_values_locked(l, realm, realmlen, &v);
	*max_bps = v.max_bps;
	/* New entries start at 0 and a quota is at least 1: none stays empty. */
	if ((r = limits_get_realm(l, realm, realmlen)) == NULL ||
	    (u = limits_get(l, r, req->user, req->userlen)) == NULL)
		rc = 508; /* out of memory */
	else if (v.total_quota != 0 && r->count >= v.total_quota)
		rc = 486; /* coturn's total-quota: per realm */
	else if (req->userlen > 0 && v.user_quota != 0 && u->count >= v.user_quota)
		rc = 486;
	if (rc == 0) {
		u->count++;
		r->count++;
		*handle = u;
	} else
		limits_drop_empty(l, r, u);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

void
limits_release(struct limits *l, struct limits_user *h)
{
	struct limits_realm *r;

	if (h == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	r = h->realm;
	if (--h->count == 0)
		limits_unlink_user(l, h);
	limits_put_realm(l, r);
	pthread_mutex_unlock(&l->mu);
}

size_t
limits_user_count(struct limits *l, const char *realm, const char *user, size_t userlen)
{
	struct limits_realm *r;
	struct limits_user *u = NULL;
	size_t n;

	pthread_mutex_lock(&l->mu);
	if ((r = limits_find_realm(l, realm, strlen(realm))) != NULL)
		u = limits_find(l, r, user, userlen);
	n = u != NULL ? u->count : 0;
	pthread_mutex_unlock(&l->mu);
	return n;
}

size_t
limits_realm_count(struct limits *l, const char *realm)
{
	struct limits_realm *r;
	size_t n;

	pthread_mutex_lock(&l->mu);
	r = limits_find_realm(l, realm, strlen(realm));
	n = r != NULL ? r->count : 0;
	pthread_mutex_unlock(&l->mu);
	return n;
}

void
limits_realms_walk(struct limits *l, void (*fn)(void *arg, const char *realm, size_t count),
    void *arg)
{
	struct limits_realm *r;

	pthread_mutex_lock(&l->mu);
	for (r = l->realms; r != NULL; r = r->next)
		fn(arg, r->name, r->count);
	pthread_mutex_unlock(&l->mu);
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

/* The turn_realm_option row r into the option values of its realm in o (grown as needed). */
static int
limits_over_add(struct limits_over **o, size_t *n, const struct store_row *r)
{
	struct limits_over *grown, *e = NULL;
	uint64_t v = limits_parse_value(r->value);
	size_t i;

	for (i = 0; i < *n && e == NULL; i++) {
		if (strcmp((*o)[i].realm, r->realm) == 0)
			e = &(*o)[i];
	}
	if (e == NULL) {
		if ((grown = reallocarray(*o, *n + 1, sizeof *grown)) == NULL)
			return -1;
		*o = grown;
		e = &grown[*n];
		memset(e, 0, sizeof *e);
		if ((e->realm = strdup(r->realm)) == NULL)
			return -1;
		(*n)++;
	}
	if (strcmp(r->name, "user-quota") == 0)
		e->v.user_quota = v;
	else if (strcmp(r->name, "total-quota") == 0)
		e->v.total_quota = v;
	else if (strcmp(r->name, "max-bps") == 0)
		e->v.max_bps = v;
	return 0;
}

void
limits_apply_store(void *arg, const struct userdb_rows *rows)
{
	struct limits *l = arg;
	struct limits_over *overs = NULL;
	struct limits_values now;
	struct peerpolicy *pp;
	size_t i, nallow, ndeny, novers = 0;
	char *realm;

	pthread_mutex_lock(&l->mu);
	realm = strdup(l->realm);
	pthread_mutex_unlock(&l->mu);
	if (realm == NULL) {
		log_warnx("store: out of memory: realm options not applied");
		return;
	}
	for (i = 0; i < rows->nopts; i++) {
		if (limits_over_add(&overs, &novers, &rows->opts[i]) != 0) {
			log_warnx("store: out of memory: realm options not applied");
			limits_overs_free(overs, novers);
			free(realm);
			return;
		}
	}
	pp = limits_store_policy(l, realm, rows, &nallow, &ndeny);
	if (pp == NULL)
		log_warnx("store: out of memory: the store's peer ranges are not applied");
	limits_set_store_all(l, overs, novers, pp);
	limits_current(l, &now);
	if (l->logged && memcmp(&now, &l->logged_v, sizeof now) == 0 && nallow == l->logged_allow &&
	    ndeny == l->logged_deny && novers == l->logged_realms)
		goto out; /* a change of users or secrets only */
	l->logged = true;
	l->logged_v = now;
	l->logged_allow = nallow;
	l->logged_deny = ndeny;
	l->logged_realms = novers;
	log_info("store: realm \"%s\": user-quota %llu, total-quota %llu, max-bps %llu (0: none); "
		 "%zu realms with options; %zu allowed and %zu denied peer ranges from the store",
	    realm, (unsigned long long)now.user_quota, (unsigned long long)now.total_quota,
	    (unsigned long long)now.max_bps, novers, nallow, ndeny);
out:
	free(realm);
}
