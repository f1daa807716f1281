/*
 * The daemon's live view of the SQLite credential store (userdb): users and
 * TURN REST API secrets of every realm, held in memory and reloaded by a
 * background thread when the store changes. Its struct creds answers from
 * memory only, options first, then the store. When the store cannot be read
 * (unreadable, corrupted, locked, read-only) the last good copy is served for
 * the stale limit (userdb-stale-limit) after the first failure, then store users
 * get CREDS_UNAVAILABLE (fail closed) until it can be read; option users always
 * work. A store never read since startup fails closed at once.
 */
#ifndef TURNPIKE_USERDB_H
#define TURNPIKE_USERDB_H

#include <stdbool.h>

#include "turnpike/creds.h"
#include "turnpike/store.h"

#define USERDB_POLL_MS 200
#define USERDB_STALE_DEFAULT 60          /* seconds: userdb-stale-limit */
#define USERDB_CACHE_USERS_DEFAULT 10000 /* userdb-cache-users */

struct userdb;

/*
 * Loads the store spec path (store_spec_parse: an SQLite file, created when
 * missing, its directory must exist, or -1 with *cause naming it; or
 * "postgresql:CONNINFO"...) and starts the reload thread. A network store that
 * cannot be reached is refused at once (no stale copy). opts (the
 * users and secrets from options) must outlive the userdb. rest and sep are
 * use-auth-secret and rest-api-separator for the store's secrets. A store that
 * cannot be read yet is not an error: it is logged and retried.
 */
int userdb_create(const char *path, const struct creds *opts, bool rest, char sep,
    struct userdb **out, char **cause);
/* How long the last good copy is served once the store cannot be read; 0: not at all. */
void userdb_set_stale_limit(struct userdb *u, int seconds);
/*
 * userdb-cache-users: how many users the snapshot holds; when the store has
 * more, the others are looked up on demand (a first lookup answers
 * CREDS_PENDING, a 438 Stale Nonce the client answers again at once).
 */
void userdb_set_cache_users(struct userdb *u, size_t n);
/* Stops the thread and frees everything; NULL is a no-op. */
void userdb_free(struct userdb *u);
/*
 * What the store holds besides credentials, as the reload thread last read it:
 * turn_realm_option rows (realm, name = option, value) and peer ranges
 * (realm, name = "allow" or "deny", value = range). Valid during the call.
 */
struct userdb_rows {
	const struct store_row *opts;
	size_t nopts;
	const struct store_row *peers;
	size_t npeers;
};

typedef void (*userdb_hook_fn)(void *arg, const struct userdb_rows *rows);

/*
 * Calls fn(arg, rows) on the reload thread after each load of a changed store,
 * and once soon after this call. While the store cannot be read fn is not
 * called (what it last gave stays in force). fn must be quick and thread-safe.
 */
void userdb_set_hook(struct userdb *u, userdb_hook_fn fn, void *arg);
/*
 * coturn's no-dynamic-realms (no origin-to-realm mapping and no realm options
 * from the store) and no-dynamic-ip-list (no peer ranges from the store); a
 * change reloads at once.
 */
void userdb_set_dynamic(struct userdb *u, bool no_realms, bool no_ip_list);
/*
 * rest-api-hmac=sha256 for the store's secrets: the snapshot is reloaded, and
 * until then its REST and user lookups answer CREDS_UNAVAILABLE (fail closed).
 */
void userdb_set_rest_sha256(struct userdb *u, bool sha256);
/* The struct creds view of u, valid while u lives; safe from any thread. */
void userdb_iface(struct userdb *u, struct creds *out);

/*
 * The store behind other option users and secrets (after a reload): f->u and
 * f->opts must outlive the view; the store's own use-auth-secret stays.
 */
struct userdb_front {
	struct userdb *u;
	const struct creds *opts;
};

void userdb_front_iface(struct userdb_front *f, struct creds *out);

#endif
