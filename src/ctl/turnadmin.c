/* coturn's turnadmin flags on the credential store. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/dbcmd.h"
#include "turnpike/turnadmin.h"

enum {
	TA_DELETE_ALL_SECRETS = 256,
	TA_MAX_BPS,
	TA_TOTAL_QUOTA,
	TA_USER_QUOTA,
};

struct turnadmin_opts {
	const char *db, *psql, *mysql, *redis, *user, *realm, *password, *origin, *secret;
	const char *quota[3]; /* max-bps, total-quota, user-quota */
};

static const char *const turnadmin_quota_names[3] = {"max-bps", "total-quota", "user-quota"};

static const struct option turnadmin_longopts[] = {
    {"key", no_argument, NULL, 'k'},
    {"add", no_argument, NULL, 'a'},
    {"add-admin", no_argument, NULL, 'A'},
    {"delete", no_argument, NULL, 'd'},
    {"delete-admin", no_argument, NULL, 'D'},
    {"list", no_argument, NULL, 'l'},
    {"list-admin", no_argument, NULL, 'L'},
    {"set-secret", required_argument, NULL, 's'},
    {"show-secret", no_argument, NULL, 'S'},
    {"delete-secret", required_argument, NULL, 'X'},
    {"delete-all-secrets", no_argument, NULL, TA_DELETE_ALL_SECRETS},
    {"add-origin", no_argument, NULL, 'O'},
    {"del-origin", no_argument, NULL, 'R'},
    {"list-origins", no_argument, NULL, 'I'},
    {"set-realm-option", no_argument, NULL, 'g'},
    {"list-realm-options", no_argument, NULL, 'G'},
    {"generate-encrypted-password", no_argument, NULL, 'P'},
    {"db", required_argument, NULL, 'b'},
    {"userdb", required_argument, NULL, 'b'},
    {"psql-userdb", required_argument, NULL, 'e'},
    {"mysql-userdb", required_argument, NULL, 'M'},
    {"redis-userdb", required_argument, NULL, 'N'},
    {"user", required_argument, NULL, 'u'},
    {"realm", required_argument, NULL, 'r'},
    {"password", required_argument, NULL, 'p'},
    {"origin", required_argument, NULL, 'o'},
    {"max-bps", required_argument, NULL, TA_MAX_BPS},
    {"total-quota", required_argument, NULL, TA_TOTAL_QUOTA},
    {"user-quota", required_argument, NULL, TA_USER_QUOTA},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char turnadmin_shortopts[] = "kaAdDlLs:SX:ORIgGPb:e:M:N:u:r:p:o:h";

static int
turnadmin_usage_error(const char *msg)
{
	fprintf(stderr, "turnpikectl: %s\n", msg);
	return DBCMD_USAGE;
}

/* Checks that the options a command needs were given. */
static int
turnadmin_need(const char *v, const char *what)
{
	if (v != NULL && *v != '\0')
		return 0;
	fprintf(stderr, "turnpikectl: this command needs %s\n", what);
	return DBCMD_USAGE;
}

static const char *
turnadmin_realm(const struct turnadmin_opts *o)
{
	return o->realm != NULL ? o->realm : "";
}

static int
turnadmin_result(int rc, char **cause)
{
	return rc == -1 ? dbcmd_fail(*cause) : DBCMD_OK;
}

static int
turnadmin_key(struct store *s, const struct turnadmin_opts *o)
{
	char hex[33], *cause = NULL;

	(void)s;
	if (turnadmin_need(o->user, "-u USER") || turnadmin_need(o->password, "-p PASSWORD"))
		return DBCMD_USAGE;
	if (store_key_md5(turnadmin_realm(o), o->user, o->password, hex, &cause) == -1)
		return dbcmd_fail(cause);
	printf("0x%s\n", hex);
	return DBCMD_OK;
}

static int
turnadmin_hash(struct store *s, const struct turnadmin_opts *o)
{
	char hash[STORE_HASH_MAX], *cause = NULL;

	(void)s;
	if (turnadmin_need(o->password, "-p PASSWORD"))
		return DBCMD_USAGE;
	if (store_hash_password(o->password, hash, sizeof hash, &cause) == -1)
		return dbcmd_fail(cause);
	printf("%s\n", hash);
	return DBCMD_OK;
}

static int
turnadmin_add(struct store *s, const struct turnadmin_opts *o)
{
	char *cause = NULL;

	if (turnadmin_need(o->user, "-u USER") || turnadmin_need(o->password, "-p PASSWORD"))
		return DBCMD_USAGE;
	return turnadmin_result(store_user_set(s, turnadmin_realm(o), o->user, o->password, &cause),
	    &cause);
}

static int
turnadmin_add_admin(struct store *s, const struct turnadmin_opts *o)
{
	char *cause = NULL;

	if (turnadmin_need(o->user, "-u USER") || turnadmin_need(o->password, "-p PASSWORD"))
		return DBCMD_USAGE;
	return turnadmin_result(store_admin_set(s, o->user, turnadmin_realm(o), o->password,
				    &cause),
	    &cause);
}

static int
turnadmin_delete(struct store *s, const struct turnadmin_opts *o)
{
	char *cause = NULL;

	if (turnadmin_need(o->user, "-u USER"))
		return DBCMD_USAGE;
	return turnadmin_result(store_user_delete(s, turnadmin_realm(o), o->user, &cause), &cause);
}

static int
turnadmin_delete_admin(struct store *s, const struct turnadmin_opts *o)
{
	char *cause = NULL;

	if (turnadmin_need(o->user, "-u USER"))
		return DBCMD_USAGE;
	return turnadmin_result(store_admin_delete(s, o->user, &cause), &cause);
}

static int
turnadmin_list(struct store *s, const struct turnadmin_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_USERS, o->realm, false);
}

static int
turnadmin_list_admin(struct store *s, const struct turnadmin_opts *o)
{
	(void)o;
	return dbcmd_list(s, DBCMD_LIST_ADMINS, NULL, false);
}

static int
turnadmin_set_secret(struct store *s, const struct turnadmin_opts *o)
{
	char *cause = NULL;

	return turnadmin_result(store_secret_add(s, turnadmin_realm(o), o->secret, &cause), &cause);
}

static int
turnadmin_show_secret(struct store *s, const struct turnadmin_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_SECRETS, o->realm, false);
}

static int
turnadmin_delete_secret(struct store *s, const struct turnadmin_opts *o)
{
	char *cause = NULL;

	return turnadmin_result(store_secret_delete(s, turnadmin_realm(o), o->secret, &cause),
	    &cause);
}

static int
turnadmin_delete_all_secrets(struct store *s, const struct turnadmin_opts *o)
{
	char *cause = NULL;

	return turnadmin_result(store_secret_delete_all(s, o->realm, &cause), &cause);
}

static int
turnadmin_add_origin(struct store *s, const struct turnadmin_opts *o)
{
	char *cause = NULL;

	if (turnadmin_need(o->origin, "-o ORIGIN") || turnadmin_need(o->realm, "-r REALM"))
		return DBCMD_USAGE;
	return turnadmin_result(store_origin_add(s, o->origin, o->realm, &cause), &cause);
}

static int
turnadmin_del_origin(struct store *s, const struct turnadmin_opts *o)
{
	char *cause = NULL;

	if (turnadmin_need(o->origin, "-o ORIGIN"))
		return DBCMD_USAGE;
	return turnadmin_result(store_origin_delete(s, o->origin, &cause), &cause);
}

static int
turnadmin_list_origins(struct store *s, const struct turnadmin_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_ORIGINS, o->realm, false);
}

/* -g: each given option is set; a zero value removes it (turnadmin's semantics). */
static int
turnadmin_set_realm_option(struct store *s, const struct turnadmin_opts *o)
{
	unsigned long long v[3];
	char *end, *cause = NULL;
	int i, n = 0;

	if (turnadmin_need(o->realm, "-r REALM"))
		return DBCMD_USAGE;
	for (i = 0; i < 3; i++) {
		if (o->quota[i] == NULL)
			continue;
		n++;
		errno = 0;
		v[i] = strtoull(o->quota[i], &end, 10);
		if (o->quota[i][0] < '0' || o->quota[i][0] > '9' || *end != '\0' || errno != 0) {
			fprintf(stderr, "turnpikectl: --%s: expected a non-negative integer\n",
			    turnadmin_quota_names[i]);
			return DBCMD_USAGE;
		}
	}
	if (n == 0)
		return turnadmin_usage_error("-g needs --max-bps, --total-quota or --user-quota");
	for (i = 0; i < 3; i++) {
		if (o->quota[i] != NULL &&
		    store_realm_set(s, o->realm, turnadmin_quota_names[i], v[i], &cause) == -1)
			return dbcmd_fail(cause);
	}
	return DBCMD_OK;
}

static int
turnadmin_list_realm_options(struct store *s, const struct turnadmin_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_REALM, o->realm, false);
}

/* Every command flag: its handler and whether it opens the database. */
static const struct turnadmin_command {
	int flag;
	bool needs_db;
	int (*run)(struct store *, const struct turnadmin_opts *);
} turnadmin_commands[] = {
    {'k', false, turnadmin_key},
    {'P', false, turnadmin_hash},
    {'a', true, turnadmin_add},
    {'A', true, turnadmin_add_admin},
    {'d', true, turnadmin_delete},
    {'D', true, turnadmin_delete_admin},
    {'l', true, turnadmin_list},
    {'L', true, turnadmin_list_admin},
    {'s', true, turnadmin_set_secret},
    {'S', true, turnadmin_show_secret},
    {'X', true, turnadmin_delete_secret},
    {TA_DELETE_ALL_SECRETS, true, turnadmin_delete_all_secrets},
    {'O', true, turnadmin_add_origin},
    {'R', true, turnadmin_del_origin},
    {'I', true, turnadmin_list_origins},
    {'g', true, turnadmin_set_realm_option},
    {'G', true, turnadmin_list_realm_options},
};

#define TA_NCOMMANDS (sizeof turnadmin_commands / sizeof turnadmin_commands[0])

static const struct turnadmin_command *
turnadmin_find(int flag)
{
	size_t i;

	for (i = 0; i < TA_NCOMMANDS; i++) {
		if (turnadmin_commands[i].flag == flag)
			return &turnadmin_commands[i];
	}
	return NULL;
}

/* Stores one option's value; -1 for an unknown option. */
static int
turnadmin_set_option(int c, struct turnadmin_opts *o)
{
	switch (c) {
	case 'b':
		o->db = optarg;
		break;
	case 'e':
		o->psql = optarg;
		break;
	case 'M':
		o->mysql = optarg;
		break;
	case 'N':
		o->redis = optarg;
		break;
	case 'u':
		o->user = optarg;
		break;
	case 'r':
		o->realm = optarg;
		break;
	case 'p':
		o->password = optarg;
		break;
	case 'o':
		o->origin = optarg;
		break;
	case TA_MAX_BPS:
	case TA_TOTAL_QUOTA:
	case TA_USER_QUOTA:
		o->quota[c - TA_MAX_BPS] = optarg;
		break;
	default:
		return -1;
	}
	return 0;
}

static int
turnadmin_parse(int argc, char **argv, struct turnadmin_opts *o,
    const struct turnadmin_command **cmd)
{
	const struct turnadmin_command *c;
	int ch;

	optind = 1;
	while (
	    (ch = getopt_long(argc, argv, turnadmin_shortopts, turnadmin_longopts, NULL)) != -1) {
		if (ch == 'h') {
			turnadmin_usage(stdout);
			exit(0);
		}
		if ((c = turnadmin_find(ch)) != NULL) {
			if (*cmd != NULL && *cmd != c)
				return turnadmin_usage_error("give one command flag at a time");
			*cmd = c;
			if (ch == 's' || ch == 'X')
				o->secret = optarg;
		} else if (turnadmin_set_option(ch, o) == -1) {
			turnadmin_usage(stderr);
			return DBCMD_USAGE;
		}
	}
	if (optind < argc)
		return turnadmin_usage_error("unexpected argument after the options");
	if (*cmd == NULL)
		return turnadmin_usage_error("no command flag (-a, -d, -l, -k, ...)");
	return 0;
}

int
turnadmin_main(int argc, char **argv)
{
	struct turnadmin_opts o = {0};
	const struct turnadmin_command *cmd = NULL;
	struct store *s = NULL;
	int rc;

	if ((rc = turnadmin_parse(argc, argv, &o, &cmd)) != 0)
		return rc;
	if (cmd->needs_db && (s = dbcmd_open_engine(o.db, o.psql, o.mysql, o.redis)) == NULL)
		return DBCMD_FAIL;
	rc = cmd->run(s, &o);
	store_close(s);
	return rc;
}

bool
turnadmin_is_invocation(int argc, char **argv)
{
	const struct option *lo;
	const char *a, *p;
	int i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (a[0] != '-')
			return false; /* a turnpikectl noun, or a value: no command flag before it */
		if (a[1] != '-' && a[1] != '\0' &&
		    (p = strchr(turnadmin_shortopts, a[1])) != NULL) {
			if (turnadmin_find(a[1]) != NULL)
				return true;
			i += p[1] == ':' && a[2] == '\0'; /* skip the value of -b DB, -u USER */
			continue;
		}
		for (lo = turnadmin_longopts; a[1] == '-' && lo->name != NULL; lo++) {
			if (strncmp(a + 2, lo->name, strlen(lo->name)) == 0 &&
			    (a[2 + strlen(lo->name)] == '\0' || a[2 + strlen(lo->name)] == '='))
				break;
		}
		if (a[1] == '-' && lo->name != NULL && turnadmin_find(lo->val) != NULL)
			return true;
		if (a[1] == '-' && lo->name != NULL && lo->has_arg && strchr(a, '=') == NULL)
			i++;
		else if (a[1] == '-' && lo->name == NULL && strchr(a, '=') == NULL)
			i++; /* a turnpikectl option such as --password-file F */
	}
	return false;
}

void
turnadmin_usage(FILE *f)
{
	fputs("turnadmin-compatible flags (coturn's scripts keep working):\n"
	      "       turnpikectl -k -u USER -r REALM -p PASSWORD      print the MD5 key\n"
	      "       turnpikectl -a|-A -u USER [-r REALM] -p PASSWORD [-b DB]\n"
	      "       turnpikectl -d|-D -u USER [-r REALM] [-b DB]\n"
	      "       turnpikectl -l [-r REALM] | -L [-b DB]\n"
	      "       turnpikectl -s SECRET | -X SECRET | -S | --delete-all-secrets [-r REALM]\n"
	      "       turnpikectl -O -o ORIGIN -r REALM | -R -o ORIGIN | -I [-r REALM]\n"
	      "       turnpikectl -g -r REALM [--max-bps N] [--total-quota N] [--user-quota N]\n"
	      "       turnpikectl -G [-r REALM]\n"
	      "       turnpikectl -P -p PASSWORD                       print a password hash\n"
	      "  the store: -b DB (SQLite), -e CONNINFO (--psql-userdb, PostgreSQL),\n"
	      "  -M CONN (--mysql-userdb, MySQL/MariaDB), -N CONN (--redis-userdb)\n",
	    f);
}
