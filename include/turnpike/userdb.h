/*
 * The daemon's live view of the SQLite credential store (userdb): users and
 * TURN REST API secrets of every realm, held in memory and reloaded by a
 * background thread when the store changes. Its struct creds answers from
 * memory only, options first, then the store; while the store cannot be read,
 * store users get CREDS_UNAVAILABLE (fail closed) and option users still work.
 */
#ifndef TURNPIKE_USERDB_H
#define TURNPIKE_USERDB_H

#include <stdbool.h>

#include "turnpike/creds.h"

#define USERDB_POLL_MS 200

struct userdb;

/*
 * Loads path (created when missing) and starts the reload thread. opts (the
 * users and secrets from options) must outlive the userdb. rest and sep are
 * use-auth-secret and rest-api-separator for the store's secrets. A store that
 * cannot be read yet is not an error: it is logged and retried.
 */
int userdb_create(const char *path, const struct creds *opts, bool rest, char sep,
    struct userdb **out, char **cause);
/* Stops the thread and frees everything; NULL is a no-op. */
void userdb_free(struct userdb *u);
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
