/*
 * userdb: the store's credentials as an in-memory snapshot (secrets in one
 * creds_static per realm, users in a bounded usertab), swapped under a rwlock
 * by one reload thread; users beyond userdb-cache-users are looked up on
 * demand by that thread into a usercache (a miss answers CREDS_PENDING).
 *
 * "A slow lookup delays only the request that needs it": here no request ever
 * waits on SQLite. Only the reload thread touches the database; a worker's
 * lookup reads the current snapshot in memory under a read lock that the
 * reload thread takes for writing only to swap one pointer, never during I/O.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "turnpike/cause.h"
#include "turnpike/log.h"
#include "turnpike/oauthkey.h"
#include "turnpike/store.h"
#include "turnpike/usercache.h"
#include "turnpike/userdb.h"

#define USERDB_BUSY_MS 100          /* the reload thread's wait for another writer's lock */
#define USERDB_NET_TIMEOUT_MS 10000 /* a network store's statement timeout */
#define USERDB_LOG_EVERY_MS 60000   /* a store that stays unreadable: one line a minute */
#define USERDB_FOLLOW_MAX 1000      /* user changes applied one by one; more: reload them all */

/* What the store held at one data_version; ok false: unreadable, fail closed. */
struct userdb_snap {
	bool ok;
	struct creds_static **realms;
	size_t nrealms;
	struct usertab *users;   /* at most cache_users of the store's users */
	bool partial;            /* the store has more: look the others up on demand */
	struct oauth_key *okeys; /* RFC 7635 AS-RS keys (oauth_key) */
	size_t nokeys;
	char **origins; /* turn_origin_to_realm: origin, realm, origin, realm... */
	size_t norigins;
	bool rest;
	bool rest_sha256; /* rest-api-hmac=sha256 when it was loaded */
	char sep;
};

struct userdb {
	char *path;  /* the store spec */
	char *label; /* what the log calls it: the SQLite path, or the engine */
	enum store_kind kind;
	atomic_size_t cache_users; /* userdb-cache-users */
	struct usercache *cache;   /* users looked up on demand */
	const struct creds *opts;
	bool rest;
	char sep;
	atomic_bool rest_sha256; /* rest-api-hmac=sha256: a snapshot of the other is stale */

	pthread_rwlock_t lock; /* guards snap: held for a pointer swap or a memory lookup */
	struct userdb_snap *snap;

	pthread_mutex_t mu; /* guards stop and wake */
	pthread_cond_t cv;
	bool stop;
	bool wake; /* a lookup queued a user */
	pthread_t thread;
	bool started;

	userdb_hook_fn hook; /* guarded by mu */
	void *hook_arg;
	bool hook_new;     /* set: the next poll reloads and calls it */
	bool users_new;    /* set: the next poll reads the users again too */
	bool no_realms;    /* guarded by mu: no-dynamic-realms */
	bool no_ip_list;   /* guarded by mu: no-dynamic-ip-list */
	uint64_t stale_ms; /* guarded by mu: userdb-stale-limit */

	/* The reload thread's own state. */
	struct store *store;
	bool secrets_warned;
	bool okeys_warned;
	struct stat seen; /* the file as it was when last read: a change reopens it */
	int64_t version;
	bool logged;            /* the snapshot's users follow the store's change log */
	struct store_mark mark; /* where the log stood when they were brought up to date */
	bool failing;
	bool closed;        /* the snapshot is the unreadable one: store users fail */
	uint64_t good_ms;   /* when the snapshot served was last confirmed; 0: never */
	uint64_t fail_ms;   /* when the store became unreadable */
	uint64_t logged_ms; /* the last failure line */
};

static uint64_t
userdb_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int userdb_lookup(void *, const char *, size_t, const char *, size_t, uint64_t,
    struct creds_result *);
static int userdb_oauth_key(void *, const char *, size_t, struct oauth_key *);

static int userdb_find_hash(void *, const uint8_t *, const char *, size_t, char *, size_t *);
static int userdb_origin_realm(void *, const char *, size_t, char *, size_t *);

static const struct creds_ops userdb_ops = {userdb_lookup, userdb_oauth_key, userdb_find_hash,
    userdb_origin_realm};

static void
userdb_snap_free(struct userdb_snap *sn)
{
	size_t i;

	if (sn == NULL)
		return;
	for (i = 0; i < sn->nrealms; i++)
		creds_static_free(sn->realms[i]);
	free(sn->realms);
	usertab_free(sn->users);
	for (i = 0; i < 2 * sn->norigins; i++)
		free(sn->origins[i]);
	free(sn->origins);
	if (sn->okeys != NULL)
		explicit_bzero(sn->okeys, sn->nokeys * sizeof *sn->okeys);
	free(sn->okeys);
	free(sn);
}

/* The provider of realm in sn, created on first use. */
static struct creds_static *
userdb_snap_realm(struct userdb_snap *sn, const char *realm)
{
	struct creds_static **grown, *cs;
	size_t i;

	for (i = 0; i < sn->nrealms; i++) {
		if (creds_static_has_realm(sn->realms[i], realm, strlen(realm)))
			return sn->realms[i];
	}
	if ((cs = creds_static_create(realm)) == NULL)
		return NULL;
	if ((grown = reallocarray(sn->realms, sn->nrealms + 1, sizeof *grown)) == NULL) {
		creds_static_free(cs);
		return NULL;
	}
	creds_static_set_rest(cs, sn->rest, sn->sep);
	creds_static_set_rest_sha256(cs, sn->rest_sha256);
	sn->realms = grown;
	sn->realms[sn->nrealms++] = cs;
	return cs;
}

/* Copies of the rows the hook gets: realm options and peer ranges. */
struct userdb_extra {
	struct store_row *v;
	char **owned; /* the strings of v, three per row */
	size_t n;
};

struct userdb_load {
	struct userdb *u;
	struct store *store;
	struct userdb_snap *sn;
	char **cause;
};

/* One user with its keys, while the table has room. */
static int
userdb_load_user(void *arg, const char *realm, const char *name, const struct creds_key *k)
{
	struct userdb_load *l = arg;

	if (usertab_count(l->sn->users) >= atomic_load(&l->u->cache_users)) {
		l->sn->partial = true;
		return 0;
	}
	if (usertab_add(l->sn->users, realm, name, k) == -1)
		return cause_fail(l->cause, "out of memory");
	return 0;
}

/* One turn_secret row. */
static int
userdb_load_secret(void *arg, const struct store_row *row)
{
	struct userdb_load *l = arg;
	struct creds_static *cs;

	if ((cs = userdb_snap_realm(l->sn, row->realm)) == NULL)
		return cause_fail(l->cause, "out of memory");
	if (creds_static_secret_count(cs) == CREDS_MAX_KEYS) {
		/* A key per secret is tried on each request: keep the first ones, serve on. */
		if (!l->u->secrets_warned)
			log_warnx("userdb %s: realm \"%s\" has more than %d secrets; the others "
				  "are ignored",
			    l->u->label, row->realm, CREDS_MAX_KEYS);
		l->u->secrets_warned = true;
		return 0;
	}
	return creds_static_add_secret(cs, row->value, l->cause);
}

/* One oauth_key row; a row that does not decode is skipped (and said once). */
static int
userdb_load_oauth(void *arg, const struct store_oauth_key *row)
{
	struct userdb_load *l = arg;
	struct oauth_key k, *grown;
	const char *errstr;

	if (oauthkey_make(row->kid, row->ikm_key, row->as_rs_alg, row->timestamp, row->lifetime,
		row->realm, &k, &errstr) == -1) {
		if (!l->u->okeys_warned)
			log_warnx("userdb %s: oauth key \"%s\" ignored: %s", l->u->label, row->kid,
			    errstr);
		l->u->okeys_warned = true;
		return 0;
	}
	if ((grown = reallocarray(l->sn->okeys, l->sn->nokeys + 1, sizeof *grown)) == NULL) {
		explicit_bzero(&k, sizeof k);
		return cause_fail(l->cause, "out of memory");
	}
	l->sn->okeys = grown;
	l->sn->okeys[l->sn->nokeys++] = k;
	explicit_bzero(&k, sizeof k);
	return 0;
}

/* One turn_origin_to_realm row (row: realm, name = origin). */
static int
userdb_load_origin(void *arg, const struct store_row *row)
{
	struct userdb_load *l = arg;
	struct userdb_snap *sn = l->sn;
	char **grown;

	if (strlen(row->realm) >= CREDS_REALM_MAX)
		return 0; /* longer than coturn's column: never matched */
	if ((grown = reallocarray(sn->origins, 2 * (sn->norigins + 1), sizeof *grown)) == NULL)
		return cause_fail(l->cause, "out of memory");
	sn->origins = grown;
	grown[2 * sn->norigins] = strdup(row->name);
	grown[2 * sn->norigins + 1] = strdup(row->realm);
	sn->norigins++;
	if (grown[2 * sn->norigins - 2] == NULL || grown[2 * sn->norigins - 1] == NULL)
		return cause_fail(l->cause, "out of memory");
	return 0;
}

static void
userdb_extra_free(struct userdb_extra *x)
{
	size_t i;

	for (i = 0; i < 3 * x->n; i++)
		free(x->owned[i]);
	free(x->owned);
	free(x->v);
	x->v = NULL;
	x->owned = NULL;
	x->n = 0;
}

/* A row of turn_realm_option or of the peer lists, copied for the hook. */
static int
userdb_extra_add(void *arg, const struct store_row *row)
{
	struct userdb_extra *x = arg;
	struct store_row *grown;
	char **owned, **o;

	if ((owned = reallocarray(x->owned, 3 * (x->n + 1), sizeof *owned)) == NULL)
		return -1;
	x->owned = owned;
	if ((grown = reallocarray(x->v, x->n + 1, sizeof *grown)) == NULL)
		return -1;
	x->v = grown;
	o = &x->owned[3 * x->n];
	o[0] = strdup(row->realm != NULL ? row->realm : "");
	o[1] = strdup(row->name != NULL ? row->name : "");
	o[2] = strdup(row->value != NULL ? row->value : "");
	x->v[x->n] = (struct store_row){o[0], o[1], o[2]};
	x->n++;
	return o[0] == NULL || o[1] == NULL || o[2] == NULL ? -1 : 0;
}

/*
 * A snapshot of every realm's users and secrets, and of the origin-to-realm
 * mapping unless no_realms; NULL with *cause on failure. keep: the users of
 * the current snapshot, carried over instead of read again.
 */
static struct userdb_snap *
userdb_load(struct userdb *u, struct usertab *keep, bool no_realms, char **cause)
{
	struct userdb_load l = {u, u->store, NULL, cause};

	*cause = NULL;
	if ((l.sn = calloc(1, sizeof *l.sn)) == NULL) {
		cause_fail(cause, "out of memory");
		return NULL;
	}
	l.sn->ok = true;
	l.sn->rest = u->rest;
	l.sn->rest_sha256 = atomic_load(&u->rest_sha256);
	l.sn->sep = u->sep;
	size_t cap = atomic_load(&u->cache_users);

	if (keep != NULL) {
		l.sn->users = keep;
		l.sn->partial = u->snap->partial;
	} else if ((l.sn->users = usertab_create(cap < 1000000 ? cap : 1000000)) == NULL) {
		userdb_snap_free(l.sn);
		cause_fail(cause, "out of memory");
		return NULL;
	}
	if ((keep == NULL &&
		store_user_keys(u->store, (uint64_t)cap + 1, userdb_load_user, &l, cause) != 0) ||
	    (u->rest && store_secret_list(u->store, NULL, userdb_load_secret, &l, cause) != 0) ||
	    store_oauth_key_list(u->store, userdb_load_oauth, &l, cause) != 0 ||
	    (!no_realms && store_origin_list(u->store, NULL, userdb_load_origin, &l, cause) != 0)) {
		if (*cause == NULL)
			cause_fail(cause, "reading the store failed");
		if (keep != NULL)
			l.sn->users = NULL; /* still the current snapshot's */
		userdb_snap_free(l.sn);
		return NULL;
	}
	return l.sn;
}

/* Publishes sn (never NULL); the old snapshot is freed after the swap. */
static void
userdb_swap(struct userdb *u, struct userdb_snap *sn)
{
	struct userdb_snap *old;

	pthread_rwlock_wrlock(&u->lock);
	old = u->snap;
	u->snap = sn;
	pthread_rwlock_unlock(&u->lock);
	if (old != NULL && old->users == sn->users)
		old->users = NULL; /* carried over */
	userdb_snap_free(old);
}

/* Replaces the snapshot with an unreadable one: store users fail closed. */
static void
userdb_swap_unavailable(struct userdb *u)
{
	struct userdb_snap *sn;

	usercache_clear(u->cache);
	if ((sn = calloc(1, sizeof *sn)) != NULL)
		userdb_swap(u, sn);
}

/* Whether the file changed since it was read: replaced, rewritten in place or chmod-ed. */
static bool
userdb_changed(const struct userdb *u, const struct stat *sb)
{
	const struct stat *o = &u->seen;

	return sb->st_dev != o->st_dev || sb->st_ino != o->st_ino || sb->st_size != o->st_size ||
	    sb->st_mode != o->st_mode || sb->st_mtim.tv_sec != o->st_mtim.tv_sec ||
	    sb->st_mtim.tv_nsec != o->st_mtim.tv_nsec || sb->st_ctim.tv_sec != o->st_ctim.tv_sec ||
	    sb->st_ctim.tv_nsec != o->st_ctim.tv_nsec;
}

/*
 * Opens the store when it is closed or its file changed: an open connection
 * would keep reading a file made unreadable, and would not see it corrupted in
 * place, so a changed file is opened and read again from scratch.
 */
static int
userdb_open(struct userdb *u, char **cause)
{
	struct stat sb;

	if (u->kind != STORE_SQLITE) {
		if (u->store != NULL)
			return 0;
		if (store_open_busy(u->path, USERDB_NET_TIMEOUT_MS, &u->store, cause) != 0) {
			u->store = NULL;
			return -1;
		}
		u->version = -1; /* a new connection: read everything again */
		u->logged = false;
		return 0;
	}
	if (u->store != NULL && (stat(u->label, &sb) == -1 || userdb_changed(u, &sb))) {
		store_close(u->store);
		u->store = NULL;
	}
	if (u->store != NULL)
		return 0;
	if (stat(u->label, &sb) == 0 && sb.st_size == 0 && u->good_ms != 0)
		return cause_fail(cause, "%s: empty (being rewritten?)", u->label);
	if (stat(u->label, &u->seen) == -1)
		memset(&u->seen, 0, sizeof u->seen);
	if (store_open_busy(u->path, USERDB_BUSY_MS, &u->store, cause) != 0) {
		u->store = NULL;
		return -1;
	}
	u->version = -1;
	return 0;
}

/*
 * Realm options and peer ranges for the hook; -1 with *cause. coturn's
 * no-dynamic-realms and no-dynamic-ip-list leave them empty: only the
 * configuration's values then apply.
 */
static int
userdb_load_extra(struct userdb *u, bool no_realms, bool no_ip_list, struct userdb_extra *opts,
    struct userdb_extra *peers, char **cause)
{
	if ((!no_realms && store_realm_list(u->store, NULL, userdb_extra_add, opts, cause) != 0) ||
	    (!no_ip_list && store_peer_list(u->store, NULL, userdb_extra_add, peers, cause) != 0)) {
		if (*cause == NULL)
			cause_fail(cause, "reading realm options or peer lists failed");
		userdb_extra_free(opts);
		userdb_extra_free(peers);
		return -1;
	}
	return 0;
}

/*
 * After a change: the users looked up on demand are looked up again (one query
 * each, the old answers served meanwhile), so a change to them counts too.
 */
static void
userdb_revalidate(struct userdb *u)
{
	struct creds_result r;
	char *names, *cause = NULL;
	const char *realm, *name;
	size_t i, n;
	int rc;

	if (usercache_names(u->cache, &names, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		realm = names + i * USERCACHE_NAME_REC;
		name = realm + STORE_REALM_MAX + 1;
		rc = store_user_lookup(u->store, realm, name, &r, &cause);
		if (rc == CREDS_FOUND || rc == CREDS_UNKNOWN)
			usercache_put(u->cache, realm, name, rc, &r.keys[0]);
		explicit_bzero(&r, sizeof r);
		free(cause);
		cause = NULL;
	}
	free(names);
	usercache_forget_hash_misses(u->cache); /* a user added since may have one of them */
}

/* The users the change log names, each with the store's answer. */
struct userdb_follow {
	struct userdb_follow_user {
		int status;
		struct creds_key key;
		char realm[STORE_REALM_MAX + 1];
		char name[STORE_NAME_MAX + 1];
	} * v;
	size_t n;
};

static int
userdb_follow_add(void *arg, const char *realm, const char *name)
{
	struct userdb_follow *f = arg;
	struct userdb_follow_user *e;

	if (f->n == USERDB_FOLLOW_MAX || strlen(realm) > STORE_REALM_MAX ||
	    strlen(name) > STORE_NAME_MAX)
		return 0; /* more than planned, or a name no user can have: skipped */
	e = &f->v[f->n++];
	snprintf(e->realm, sizeof e->realm, "%s", realm);
	snprintf(e->name, sizeof e->name, "%s", name);
	return 0;
}

/* Applies the users looked up to the snapshot in place (memory only, under the write lock). */
static void
userdb_follow_apply(struct userdb *u, const struct userdb_follow *f)
{
	struct userdb_snap *sn = u->snap;
	size_t i, cap = atomic_load(&u->cache_users);

	pthread_rwlock_wrlock(&u->lock);
	for (i = 0; i < f->n; i++) {
		const struct userdb_follow_user *e = &f->v[i];

		if (e->status != CREDS_FOUND)
			usertab_del(sn->users, e->realm, e->name);
		else if ((!usertab_has(sn->users, e->realm, e->name) &&
			     usertab_count(sn->users) >= cap) ||
		    usertab_add(sn->users, e->realm, e->name, &e->key) == -1)
			sn->partial = true; /* looked up on demand */
	}
	pthread_rwlock_unlock(&u->lock);
	for (i = 0; i < f->n; i++)
		usercache_put(u->cache, f->v[i].realm, f->v[i].name, f->v[i].status, &f->v[i].key);
}

/*
 * Brings the snapshot's users up to date from the store's change log: each
 * user changed since the last mark is looked up and replaced in memory, so a
 * change costs a query per user changed, not a reload of userdb-cache-users.
 * 0: done (*m is where the log stands); 1: the engine keeps no log; 2: the
 * users must be reloaded (log pruned past the mark, or too many changes);
 * -1 with *cause.
 */
static int
userdb_follow(struct userdb *u, struct store_mark *m, char **cause)
{
	struct userdb_follow f = {NULL, 0};
	struct creds_result r;
	size_t i;
	int rc;

	if ((rc = store_change_mark(u->store, m, cause)) != 0)
		return rc;
	if (!u->logged || !u->snap->ok || u->snap->users == NULL || m->last < u->mark.last ||
	    m->first > u->mark.last + 1 || m->last - u->mark.last > USERDB_FOLLOW_MAX)
		return 2;
	if (m->last == u->mark.last)
		return 0;
	if ((f.v = calloc(USERDB_FOLLOW_MAX, sizeof *f.v)) == NULL)
		return cause_fail(cause, "out of memory");
	rc = store_user_changes(u->store, u->mark.last, m->last, userdb_follow_add, &f, cause);
	for (i = 0; rc == 0 && i < f.n; i++) {
		f.v[i].status = store_user_lookup(u->store, f.v[i].realm, f.v[i].name, &r, cause);
		if (f.v[i].status == CREDS_FOUND)
			f.v[i].key = r.keys[0];
		else if (f.v[i].status != CREDS_UNKNOWN)
			rc = -1;
		explicit_bzero(&r, sizeof r);
	}
	if (rc == 0) {
		userdb_follow_apply(u, &f);
		u->mark.last = m->last;
	}
	explicit_bzero(f.v, USERDB_FOLLOW_MAX * sizeof *f.v);
	free(f.v);
	return rc == 0 ? 0 : -1;
}

/* Reloads when data_version moved (another connection committed) or a hook was set. */
static int
userdb_refresh(struct userdb *u, char **cause)
{
	struct userdb_extra opts = {NULL, NULL, 0}, peers = {NULL, NULL, 0};
	struct userdb_rows rows;
	struct userdb_snap *sn;
	struct store_mark m;
	userdb_hook_fn hook;
	void *hook_arg;
	bool no_realms, no_ip_list;
	int64_t v;
	int follow;
	bool forced;

	pthread_mutex_lock(&u->mu);
	hook = u->hook;
	hook_arg = u->hook_arg;
	no_realms = u->no_realms;
	no_ip_list = u->no_ip_list;
	if (u->hook_new)
		u->version = -1;
	if (u->users_new)
		u->logged = false;
	forced = u->hook_new;
	u->hook_new = u->users_new = false;
	pthread_mutex_unlock(&u->mu);
	if (userdb_open(u, cause) != 0 || store_data_version(u->store, &v, cause) != 0)
		return -1;
	if (v == u->version)
		return 0;
	if ((follow = userdb_follow(u, &m, cause)) == -1)
		return -1;
	if (follow == 0 && m.others == u->mark.others && !forced) {
		u->version = v; /* only users changed: applied */
		return 0;
	}
	if ((sn = userdb_load(u, follow == 0 ? u->snap->users : NULL, no_realms, cause)) == NULL)
		return -1;
	if (hook != NULL &&
	    userdb_load_extra(u, no_realms, no_ip_list, &opts, &peers, cause) != 0) {
		if (sn->users == u->snap->users)
			sn->users = NULL; /* still the current snapshot's */
		userdb_snap_free(sn);
		return -1;
	}
	u->version = v;
	u->logged = follow != 1;
	if (follow != 1)
		u->mark = m;
	userdb_swap(u, sn);
	if (follow != 0)
		userdb_revalidate(u);
	if (hook != NULL) {
		rows = (struct userdb_rows){opts.v, opts.n, peers.v, peers.n};
		hook(hook_arg, &rows);
	}
	userdb_extra_free(&opts);
	userdb_extra_free(&peers);
	return 0;
}

/* The store became readable again: what was just loaded is served. */
static void
userdb_recovered(struct userdb *u, uint64_t now)
{
	if (u->failing)
		log_info("userdb %s: readable again%s", u->label,
		    u->closed ? "; its users are accepted again" : "");
	u->failing = false;
	u->closed = false;
	u->good_ms = now;
}

/*
 * The store cannot be read: the last good copy is served for stale_ms after the
 * first failure (userdb-stale-limit), then store users fail closed. One line at
 * the first failure and at most one a minute after it, and one when it closes.
 */
static void
userdb_failed(struct userdb *u, const char *cause, uint64_t now)
{
	uint64_t limit;
	bool stale;

	pthread_mutex_lock(&u->mu);
	limit = u->stale_ms;
	pthread_mutex_unlock(&u->mu);
	if (!u->failing) {
		u->failing = true;
		u->fail_ms = now;
		u->logged_ms = 0;
	}
	stale = !u->closed && u->good_ms != 0 && now - u->fail_ms < limit;
	if (u->logged_ms == 0 || now - u->logged_ms >= USERDB_LOG_EVERY_MS) {
		if (stale)
			log_warnx("userdb %s: cannot be read: %s; the copy read %" PRIu64
				  " s ago is served for at most %" PRIu64
				  " s (userdb-stale-limit), then its users are refused",
			    u->label, cause, (now - u->good_ms) / 1000, limit / 1000);
		else
			log_warnx("userdb %s: cannot be read: %s; its users are refused until it "
				  "can be read",
			    u->label, cause);
		u->logged_ms = now;
	} else if (!stale && !u->closed && u->good_ms != 0)
		log_warnx("userdb %s: unreadable for %" PRIu64 " s (userdb-stale-limit): its "
			  "users are refused until it can be read",
		    u->label, (now - u->fail_ms) / 1000);
	if (!stale && !u->closed) {
		userdb_swap_unavailable(u);
		u->closed = true;
	}
}

/* One poll of the store. */
static void
userdb_poll(struct userdb *u)
{
	uint64_t now = userdb_mono_ms();
	char *cause = NULL;

	if (userdb_refresh(u, &cause) == 0) {
		userdb_recovered(u, now);
		return;
	}
	userdb_failed(u, cause != NULL ? cause : "unreadable", now);
	free(cause);
	store_close(u->store);
	u->store = NULL;
}

/* The users that lookups missed: one query each, answers (or "no such user") cached. */
static void
userdb_fetch_names(struct userdb *u)
{
	char realm[STORE_REALM_MAX + 1], name[STORE_NAME_MAX + 1], *cause = NULL;
	struct creds_result r;
	int rc;

	while (usercache_next_wanted(u->cache, realm, name)) {
		if (u->store == NULL || u->closed)
			continue; /* the snapshot says unavailable: nothing to cache */
		rc = store_user_lookup(u->store, realm, name, &r, &cause);
		if (rc == CREDS_FOUND || rc == CREDS_UNKNOWN)
			usercache_put(u->cache, realm, name, rc, &r.keys[0]);
		explicit_bzero(&r, sizeof r);
		free(cause);
		cause = NULL;
	}
}

/*
 * The names first, then the USERHASHes that lookups missed, one at a time
 * (each may scan a realm: a name queued meanwhile goes before the next hash),
 * until the next poll is due (until, monotonic ms; one hash at least), so
 * that hashes queued without end never keep the store's changes from being
 * read. An answer, the user or "no user has it", is cached; a store that
 * cannot answer caches nothing, so the client's retry is 438 again until it
 * can, and store users fail closed once the snapshot is the unavailable one.
 */
static void
userdb_fetch_wanted(struct userdb *u, uint64_t until)
{
	char realm[STORE_REALM_MAX + 1], name[STORE_NAME_MAX + 1], *cause = NULL;
	struct creds_result r;
	uint8_t hash[32];
	int rc;

	userdb_fetch_names(u);
	while (usercache_next_wanted_hash(u->cache, realm, hash)) {
		if (u->store == NULL || u->closed)
			continue;
		rc = store_user_lookup_hash(u->store, realm, hash, name, &r, &cause);
		if (rc == CREDS_FOUND || rc == CREDS_UNKNOWN)
			usercache_put_hash(u->cache, realm, hash, rc, name, &r.keys[0]);
		explicit_bzero(&r, sizeof r);
		free(cause);
		cause = NULL;
		userdb_fetch_names(u);
		if (userdb_mono_ms() >= until)
			break; /* the rest after the poll */
	}
}

static void *
userdb_main(void *arg)
{
	struct userdb *u = arg;
	struct timespec ts;
	uint64_t next = 0, now, wait;

	pthread_mutex_lock(&u->mu);
	while (!u->stop) {
		pthread_mutex_unlock(&u->mu);
		if ((now = userdb_mono_ms()) >= next) {
			userdb_poll(u);
			next = now + USERDB_POLL_MS;
		}
		userdb_fetch_wanted(u, next);
		now = userdb_mono_ms();
		wait = next > now ? next - now : 0;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		ts.tv_sec += (time_t)(wait / 1000) + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&u->mu);
		if (!u->stop && !u->wake)
			pthread_cond_timedwait(&u->cv, &u->mu, &ts);
		u->wake = false;
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

/* The reload thread starts with every signal blocked: signals belong to the main loop. */
static int
userdb_start(struct userdb *u, char **cause)
{
	sigset_t all, old;
	int error;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	error = pthread_create(&u->thread, NULL, userdb_main, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0)
		return cause_fail(cause, "userdb thread: %s", strerror(error));
	u->started = true;
	return 0;
}

/* A userdb in a directory that does not exist is a typo: refuse to start, naming it. */
static int
userdb_check_dir(const char *path, char **cause)
{
	char *why = NULL;

	if (store_check_dir(path, &why) == 0)
		return 0;
	cause_fail(cause, "userdb %s: %s", path, why);
	free(why);
	return -1;
}

int
userdb_create(const char *path, const struct creds *opts, bool rest, char sep, struct userdb **out,
    char **cause)
{
	struct store_spec spec;
	struct userdb *u;

	if ((u = calloc(1, sizeof *u)) == NULL)
		return cause_fail(cause, "out of memory");
	pthread_rwlock_init(&u->lock, NULL);
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	if ((u->path = strdup(path)) == NULL || (u->snap = calloc(1, sizeof *u->snap)) == NULL ||
	    (u->cache = usercache_create()) == NULL) {
		userdb_free(u);
		return cause_fail(cause, "out of memory");
	}
	if (store_spec_parse(path, &spec, cause) != 0) {
		userdb_free(u);
		return -1;
	}
	u->kind = spec.kind;
	if (u->kind == STORE_SQLITE)
		u->label = strdup(spec.conn);
	else if (asprintf(&u->label, "(%s store)", store_kind_name(u->kind)) == -1)
		u->label = NULL;
	if (u->label == NULL) {
		userdb_free(u);
		return cause_fail(cause, "out of memory");
	}
	atomic_store(&u->cache_users, USERDB_CACHE_USERS_DEFAULT);
	u->opts = opts;
	u->rest = rest;
	u->sep = sep != '\0' ? sep : ':';
	u->stale_ms = u->kind == STORE_SQLITE ? (uint64_t)USERDB_STALE_DEFAULT * 1000 : 0;
	if (u->kind == STORE_SQLITE && userdb_check_dir(spec.conn, cause) != 0) {
		userdb_free(u);
		return -1;
	}
	userdb_poll(u);
	if (userdb_start(u, cause) != 0) {
		userdb_free(u);
		return -1;
	}
	*out = u;
	return 0;
}

void
userdb_free(struct userdb *u)
{
	if (u == NULL)
		return;
	if (u->started) {
		pthread_mutex_lock(&u->mu);
		u->stop = true;
		pthread_cond_signal(&u->cv);
		pthread_mutex_unlock(&u->mu);
		pthread_join(u->thread, NULL);
	}
	pthread_rwlock_destroy(&u->lock);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	store_close(u->store);
	userdb_snap_free(u->snap);
	usercache_free(u->cache);
	free(u->path);
	free(u->label);
	free(u);
}

void
userdb_set_stale_limit(struct userdb *u, int seconds)
{
	pthread_mutex_lock(&u->mu);
	/* A network store that cannot be reached is refused at once: no stale copy. */
	u->stale_ms = seconds > 0 && u->kind == STORE_SQLITE ? (uint64_t)seconds * 1000 : 0;
	pthread_mutex_unlock(&u->mu);
}

void
userdb_set_cache_users(struct userdb *u, size_t n)
{
	pthread_mutex_lock(&u->mu);
	if (atomic_load(&u->cache_users) != n) {
		atomic_store(&u->cache_users, n);
		u->hook_new = u->users_new = true;
		pthread_cond_signal(&u->cv);
	}
	pthread_mutex_unlock(&u->mu);
}

void
userdb_set_hook(struct userdb *u, userdb_hook_fn fn, void *arg)
{
	pthread_mutex_lock(&u->mu);
	u->hook = fn;
	u->hook_arg = arg;
	u->hook_new = true;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

void
userdb_set_dynamic(struct userdb *u, bool no_realms, bool no_ip_list)
{
	pthread_mutex_lock(&u->mu);
	if (u->no_realms != no_realms || u->no_ip_list != no_ip_list)
		u->hook_new = true; /* reload now, whatever data_version says */
	u->no_realms = no_realms;
	u->no_ip_list = no_ip_list;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

void
userdb_set_rest_sha256(struct userdb *u, bool sha256)
{
	if (atomic_load(&u->rest_sha256) == sha256)
		return;
	atomic_store(&u->rest_sha256, sha256);
	pthread_mutex_lock(&u->mu);
	u->hook_new = true; /* reload now, whatever data_version says */
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

void
userdb_iface(struct userdb *u, struct creds *out)
{
	out->ops = &userdb_ops;
	out->ctx = u;
}

/* A lookup queued a user or a hash: the store thread looks it up now. */
static void
userdb_wake(struct userdb *u)
{
	pthread_mutex_lock(&u->mu);
	u->wake = true;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

/* A store user of the snapshot, else of the on-demand cache (queueing a miss). */
static int
userdb_lookup_user(struct userdb *u, const char *user, size_t userlen, const char *realm,
    size_t realmlen, struct creds_result *out)
{
	bool queued = false;
	int rc;

	rc = usertab_find(u->snap->users, realm, realmlen, user, userlen, &out->keys[0]);
	if (rc != CREDS_FOUND && u->snap->partial)
		rc =
		    usercache_get(u->cache, realm, realmlen, user, userlen, &out->keys[0], &queued);
	if (rc == CREDS_FOUND)
		out->nkeys = 1;
	if (queued)
		userdb_wake(u);
	return rc;
}

/* The store's answer for user in realm, from the current snapshot in memory. */
static int
userdb_lookup_snap(struct userdb *u, const char *user, size_t userlen, const char *realm,
    size_t realmlen, uint64_t now_unix, struct creds_result *out)
{
	struct creds c;
	size_t i;
	int rc = CREDS_UNKNOWN;

	out->nkeys = 0;
	pthread_rwlock_rdlock(&u->lock);
	/* Loaded with the other REST HMAC: fail closed until the reload thread catches up. */
	if (!u->snap->ok || u->snap->rest_sha256 != atomic_load(&u->rest_sha256))
		rc = CREDS_UNAVAILABLE;
	for (i = 0; rc != CREDS_UNAVAILABLE && i < u->snap->nrealms; i++) {
		if (creds_static_has_realm(u->snap->realms[i], realm, realmlen)) {
			creds_static_iface(u->snap->realms[i], &c);
			rc = creds_lookup(&c, user, userlen, realm, realmlen, now_unix, out);
			break;
		}
	}
	if (rc == CREDS_UNKNOWN && out->nkeys == 0)
		rc = userdb_lookup_user(u, user, userlen, realm, realmlen, out);
	pthread_rwlock_unlock(&u->lock);
	return rc;
}

/*
 * Options first: an option user is answered from the options alone. With REST
 * secrets on, the keys of the option secrets and the store's are offered together.
 */
static int
userdb_lookup_with(struct userdb *u, const struct creds *opts, const char *user, size_t userlen,
    const char *realm, size_t realmlen, uint64_t now_unix, struct creds_result *out)
{
	struct creds_result mine;
	size_t i;
	int rc_opt, rc_db;

	rc_opt = creds_lookup(opts, user, userlen, realm, realmlen, now_unix, out);
	if (rc_opt == CREDS_FOUND && !u->rest)
		return CREDS_FOUND;
	if (rc_opt != CREDS_FOUND)
		out->nkeys = 0;
	rc_db = userdb_lookup_snap(u, user, userlen, realm, realmlen, now_unix, &mine);
	for (i = 0; rc_db == CREDS_FOUND && i < mine.nkeys && out->nkeys < CREDS_MAX_KEYS; i++)
		out->keys[out->nkeys++] = mine.keys[i];
	explicit_bzero(&mine, sizeof mine);
	if (out->nkeys > 0)
		return CREDS_FOUND;
	if (rc_opt == CREDS_UNAVAILABLE || rc_db == CREDS_UNAVAILABLE)
		return CREDS_UNAVAILABLE;
	if (rc_db == CREDS_PENDING)
		return CREDS_PENDING;
	return CREDS_UNKNOWN;
}

static int
userdb_lookup(void *ctx, const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint64_t now_unix, struct creds_result *out)
{
	struct userdb *u = ctx;

	return userdb_lookup_with(u, u->opts, user, userlen, realm, realmlen, now_unix, out);
}

static int
userdb_front_lookup(void *ctx, const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint64_t now_unix, struct creds_result *out)
{
	struct userdb_front *f = ctx;

	return userdb_lookup_with(f->u, f->opts, user, userlen, realm, realmlen, now_unix, out);
}

/* The AS-RS key kid from the current snapshot (copied out under the read lock). */
static int
userdb_oauth_key(void *ctx, const char *kid, size_t kidlen, struct oauth_key *out)
{
	struct userdb *u = ctx;
	int rc = CREDS_UNKNOWN;
	size_t i;

	pthread_rwlock_rdlock(&u->lock);
	if (!u->snap->ok)
		rc = CREDS_UNAVAILABLE;
	for (i = 0; u->snap->ok && i < u->snap->nokeys; i++) {
		if (strlen(u->snap->okeys[i].kid) == kidlen &&
		    memcmp(u->snap->okeys[i].kid, kid, kidlen) == 0) {
			*out = u->snap->okeys[i];
			rc = CREDS_FOUND;
			break;
		}
	}
	pthread_rwlock_unlock(&u->lock);
	return rc;
}

/* A USERHASH: the option users first, then the store's users of that realm. */
static int
userdb_find_hash_with(struct userdb *u, const struct creds *opts, const uint8_t *hash,
    const char *realm, size_t realmlen, char *name, size_t *namelen)
{
	struct creds c;
	bool queued = false;
	size_t i;
	int rc;

	if ((rc = creds_find_hash(opts, hash, realm, realmlen, name, namelen)) == CREDS_FOUND)
		return rc;
	rc = CREDS_UNKNOWN;
	pthread_rwlock_rdlock(&u->lock);
	if (!u->snap->ok)
		rc = CREDS_UNAVAILABLE;
	for (i = 0; u->snap->ok && i < u->snap->nrealms; i++) {
		if (creds_static_has_realm(u->snap->realms[i], realm, realmlen)) {
			creds_static_iface(u->snap->realms[i], &c);
			rc = creds_find_hash(&c, hash, realm, realmlen, name, namelen);
			break;
		}
	}
	if (u->snap->ok && rc == CREDS_UNKNOWN)
		rc = usertab_find_hash(u->snap->users, hash, realm, realmlen, name, namelen);
	/* Beyond userdb-cache-users: the on-demand cache, else the store thread's lookup. */
	if (u->snap->ok && rc == CREDS_UNKNOWN && u->snap->partial)
		rc = usercache_get_hash(u->cache, hash, realm, realmlen, name, namelen, &queued);
	pthread_rwlock_unlock(&u->lock);
	if (queued)
		userdb_wake(u);
	return rc;
}

static int
userdb_front_oauth_key(void *ctx, const char *kid, size_t kidlen, struct oauth_key *out)
{
	struct userdb_front *f = ctx;

	return userdb_oauth_key(f->u, kid, kidlen, out);
}

static int
userdb_find_hash(void *ctx, const uint8_t *hash, const char *realm, size_t realmlen, char *name,
    size_t *namelen)
{
	struct userdb *u = ctx;

	return userdb_find_hash_with(u, u->opts, hash, realm, realmlen, name, namelen);
}

static int
userdb_front_find_hash(void *ctx, const uint8_t *hash, const char *realm, size_t realmlen,
    char *name, size_t *namelen)
{
	struct userdb_front *f = ctx;

	return userdb_find_hash_with(f->u, f->opts, hash, realm, realmlen, name, namelen);
}

/* The realm the store maps origin to (exact match, as coturn's table lookup). */
static int
userdb_origin_realm(void *ctx, const char *origin, size_t originlen, char *realm, size_t *realmlen)
{
	struct userdb *u = ctx;
	const char *o;
	size_t i;
	int rc = CREDS_UNKNOWN;

	pthread_rwlock_rdlock(&u->lock);
	for (i = 0; u->snap->ok && i < u->snap->norigins; i++) {
		o = u->snap->origins[2 * i];
		if (strlen(o) == originlen && memcmp(o, origin, originlen) == 0) {
			*realmlen = strlen(u->snap->origins[2 * i + 1]);
			memcpy(realm, u->snap->origins[2 * i + 1], *realmlen + 1);
			rc = CREDS_FOUND;
			break;
		}
	}
	pthread_rwlock_unlock(&u->lock);
	return rc;
}

static int
userdb_front_origin_realm(void *ctx, const char *origin, size_t originlen, char *realm,
    size_t *realmlen)
{
	struct userdb_front *f = ctx;

	return userdb_origin_realm(f->u, origin, originlen, realm, realmlen);
}

static const struct creds_ops userdb_front_ops = {userdb_front_lookup, userdb_front_oauth_key,
    userdb_front_find_hash, userdb_front_origin_realm};

void
userdb_front_iface(struct userdb_front *f, struct creds *out)
{
	out->ops = &userdb_front_ops;
	out->ctx = f;
}
