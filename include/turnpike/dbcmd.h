/*
 * turnpikectl's database commands ("user add", "secret list", ...) on the
 * credential store, and the list printers the turnadmin-compatible flags share.
 */
#ifndef TURNPIKE_DBCMD_H
#define TURNPIKE_DBCMD_H

#include <stdbool.h>
#include <stdio.h>

#include "turnpike/store.h"

/* Where the database is when --db (or turnadmin's -b) is not given. */
#define DBCMD_DEFAULT_DB LOCALSTATEDIR "/lib/turnpike/turnpike.db"

/* Exit statuses. */
#define DBCMD_OK 0
#define DBCMD_FAIL 1
#define DBCMD_USAGE 2

enum dbcmd_list {
	DBCMD_LIST_USERS,
	DBCMD_LIST_SECRETS,
	DBCMD_LIST_PEERS,
	DBCMD_LIST_ORIGINS,
	DBCMD_LIST_REALM,
	DBCMD_LIST_ADMINS,
	DBCMD_LIST_APIKEYS,
};

/* Runs "turnpikectl [--db PATH] [--json] NOUN VERB ARGS..."; returns the exit status. */
int dbcmd_main(int argc, char **argv);
/* True when argv names a database command (its first word is a noun dbcmd knows). */
bool dbcmd_is_command(const char *word);
/* Opens a store spec (NULL: the default SQLite file), printing the reason on failure. */
struct store *dbcmd_open(const char *path);
/* The first engine given (PostgreSQL, MySQL, Redis connection strings), else path. */
struct store *dbcmd_open_engine(const char *path, const char *psql, const char *mysql,
    const char *redis);
/* Prints a list as text (turnadmin's formats) or JSON; realm NULL lists all realms. */
int dbcmd_list(struct store *s, enum dbcmd_list what, const char *realm, bool json);
/* "turnpikectl: cause" on stderr, frees cause; returns DBCMD_FAIL. */
int dbcmd_fail(char *cause);
/* Usage text of the database commands. */
void dbcmd_usage(FILE *f);

#endif
