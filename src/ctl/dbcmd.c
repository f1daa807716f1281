/* turnpikectl's database commands: NOUN VERB ARGS with options anywhere. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "turnpike/dbcmd.h"

#define DBCMD_MAXPOS 4

struct dbcmd_opts {
	const char *db, *psql, *mysql, *redis, *realm, *password, *password_file, *key;
	const char *user_quota, *total_quota, *max_bps;
	const char *alg, *timestamp, *lifetime;
	bool json;
	const char *pos[DBCMD_MAXPOS];
	int npos;
};

/* Options of every command; which ones a command uses is up to its handler. */
static const struct {
	const char *name;
	size_t off;
	bool flag;
} dbcmd_options[] = {
    {"--db", offsetof(struct dbcmd_opts, db), false},
    {"--psql-userdb", offsetof(struct dbcmd_opts, psql), false},
    {"--mysql-userdb", offsetof(struct dbcmd_opts, mysql), false},
    {"--redis-userdb", offsetof(struct dbcmd_opts, redis), false},
    {"--realm", offsetof(struct dbcmd_opts, realm), false},
    {"--password", offsetof(struct dbcmd_opts, password), false},
    {"--password-file", offsetof(struct dbcmd_opts, password_file), false},
    {"--key", offsetof(struct dbcmd_opts, key), false},
    {"--user-quota", offsetof(struct dbcmd_opts, user_quota), false},
    {"--total-quota", offsetof(struct dbcmd_opts, total_quota), false},
    {"--max-bps", offsetof(struct dbcmd_opts, max_bps), false},
    {"--alg", offsetof(struct dbcmd_opts, alg), false},
    {"--timestamp", offsetof(struct dbcmd_opts, timestamp), false},
    {"--lifetime", offsetof(struct dbcmd_opts, lifetime), false},
    {"--json", offsetof(struct dbcmd_opts, json), true},
};

static int __attribute__((format(printf, 1, 2))) dbcmd_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("turnpikectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(turnpikectl --help shows the commands)\n", stderr);
	return DBCMD_USAGE;
}

int
dbcmd_fail(char *cause)
{
	fprintf(stderr, "turnpikectl: %s\n", cause != NULL ? cause : "out of memory");
	free(cause);
	return DBCMD_FAIL;
}

/* One option at argv[*i] ("--name value" or "--name=value"). */
static int
dbcmd_parse_option(int argc, char **argv, int *i, struct dbcmd_opts *o)
{
	const char *a = argv[*i], *eq = strchr(a, '=');
	size_t k, n = eq != NULL ? (size_t)(eq - a) : strlen(a);

	for (k = 0; k < sizeof dbcmd_options / sizeof dbcmd_options[0]; k++) {
		if (strlen(dbcmd_options[k].name) != n || strncmp(a, dbcmd_options[k].name, n) != 0)
			continue;
		if (dbcmd_options[k].flag) {
			if (eq != NULL)
				return dbcmd_usage_error("%s takes no value",
				    dbcmd_options[k].name);
			*(bool *)((char *)o + dbcmd_options[k].off) = true;
			return 0;
		}
		if (eq == NULL && *i + 1 >= argc)
			return dbcmd_usage_error("%s needs a value", dbcmd_options[k].name);
		*(const char **)((char *)o + dbcmd_options[k].off) =
		    eq != NULL ? eq + 1 : argv[++*i];
		return 0;
	}
	return dbcmd_usage_error("unknown option '%s'", a);
}

static int
dbcmd_parse(int argc, char **argv, struct dbcmd_opts *o)
{
	bool words_only = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!words_only && strcmp(argv[i], "--") == 0)
			words_only = true;
		else if (!words_only && argv[i][0] == '-' && argv[i][1] != '\0') {
			if (dbcmd_parse_option(argc, argv, &i, o) != 0)
				return DBCMD_USAGE;
		} else if (o->npos == DBCMD_MAXPOS)
			return dbcmd_usage_error("too many arguments at '%s'", argv[i]);
		else
			o->pos[o->npos++] = argv[i];
	}
	return 0;
}

struct store *
dbcmd_open(const char *path)
{
	struct store *s;
	char *cause = NULL;

	if (path == NULL)
		path = DBCMD_DEFAULT_DB;
	if (store_open(path, &s, &cause) == -1) {
		dbcmd_fail(cause);
		return NULL;
	}
	return s;
}

struct store *
dbcmd_open_engine(const char *path, const char *psql, const char *mysql, const char *redis)
{
	static const char *const prefix[] = {"postgresql:", "mysql:", "redis:"};
	const char *conn[] = {psql, mysql, redis};
	struct store *s = NULL;
	char *spec;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (conn[i] == NULL)
			continue;
		if (asprintf(&spec, "%s%s", prefix[i], conn[i]) == -1) {
			dbcmd_fail(NULL);
			return NULL;
		}
		s = dbcmd_open(spec);
		free(spec);
		return s;
	}
	return dbcmd_open(path);
}

/* Per list: JSON keys of a row's realm, name and value (NULL: left out). */
static const struct {
	const char *keys[3];
} dbcmd_lists[] = {
    [DBCMD_LIST_USERS] = {{"realm", "name", NULL}},
    [DBCMD_LIST_SECRETS] = {{"realm", NULL, "secret"}},
    [DBCMD_LIST_PEERS] = {{"realm", "action", "range"}},
    [DBCMD_LIST_ORIGINS] = {{"realm", "origin", NULL}},
    [DBCMD_LIST_REALM] = {{"realm", "option", "value"}},
    [DBCMD_LIST_ADMINS] = {{"realm", "name", NULL}},
    [DBCMD_LIST_APIKEYS] = {{"realm", "name", "created"}},
};

struct dbcmd_printer {
	enum dbcmd_list what;
	bool json;
	int n;
};

static void
dbcmd_json_string(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)(s != NULL ? s : ""); *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void
dbcmd_print_json(const struct dbcmd_printer *p, const struct store_row *row)
{
	const char *vals[3] = {row->realm, row->name, row->value};
	const char *sep = "";
	int i;

	fputs(p->n > 1 ? ",\n  {" : "\n  {", stdout);
	for (i = 0; i < 3; i++) {
		if (dbcmd_lists[p->what].keys[i] == NULL)
			continue;
		printf("%s\"%s\": ", sep, dbcmd_lists[p->what].keys[i]);
		dbcmd_json_string(vals[i]);
		sep = ", ";
	}
	putchar('}');
}

/* turnadmin's text formats: "name[realm]", "origin ==>> realm", "opt[realm]=value". */
static void
dbcmd_print_text(const struct dbcmd_printer *p, const struct store_row *row)
{
	const char *realm = row->realm != NULL ? row->realm : "";

	switch (p->what) {
	case DBCMD_LIST_USERS:
	case DBCMD_LIST_ADMINS:
		if (p->what == DBCMD_LIST_ADMINS && *realm == '\0')
			printf("%s\n", row->name);
		else
			printf("%s[%s]\n", row->name, realm);
		break;
	case DBCMD_LIST_SECRETS:
		printf("%s[%s]\n", row->value, realm);
		break;
	case DBCMD_LIST_PEERS:
		printf("%s %s[%s]\n", row->name, row->value, realm);
		break;
	case DBCMD_LIST_ORIGINS:
		printf("%s ==>> %s\n", row->name, realm);
		break;
	case DBCMD_LIST_REALM:
		printf("%s[%s]=%s\n", row->name, realm, row->value);
		break;
	case DBCMD_LIST_APIKEYS:
		printf("%s[%s] created %s\n", row->name, realm, row->value);
		break;
	}
}

static int
dbcmd_print_row(void *arg, const struct store_row *row)
{
	struct dbcmd_printer *p = arg;

	p->n++;
	if (p->json)
		dbcmd_print_json(p, row);
	else
		dbcmd_print_text(p, row);
	return 0;
}

int
dbcmd_list(struct store *s, enum dbcmd_list what, const char *realm, bool json)
{
	struct dbcmd_printer p = {what, json, 0};
	char *cause = NULL;
	int rc = 0;

	if (json)
		putchar('[');
	switch (what) {
	case DBCMD_LIST_USERS:
		rc = store_user_list(s, realm, dbcmd_print_row, &p, &cause);
		break;
	case DBCMD_LIST_SECRETS:
		rc = store_secret_list(s, realm, dbcmd_print_row, &p, &cause);
		break;
	case DBCMD_LIST_PEERS:
		rc = store_peer_list(s, realm, dbcmd_print_row, &p, &cause);
		break;
	case DBCMD_LIST_ORIGINS:
		rc = store_origin_list(s, realm, dbcmd_print_row, &p, &cause);
		break;
	case DBCMD_LIST_REALM:
		rc = store_realm_list(s, realm, dbcmd_print_row, &p, &cause);
		break;
	case DBCMD_LIST_ADMINS:
		rc = store_admin_list(s, dbcmd_print_row, &p, &cause);
		break;
	case DBCMD_LIST_APIKEYS:
		rc = store_apikey_list(s, dbcmd_print_row, &p, &cause);
		break;
	}
	if (json)
		fputs(p.n > 0 ? "\n]\n" : "]\n", stdout);
	if (rc == -1)
		return dbcmd_fail(cause);
	return fflush(stdout) == 0 ? DBCMD_OK : dbcmd_fail(strdup("writing the list failed"));
}

/* Reads a password from the terminal with echo off; NULL when stdin is no terminal. */
static char *
dbcmd_prompt(const char *prompt)
{
	struct termios old, quiet;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) == -1)
		return NULL;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs(prompt, stderr);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	n = getline(&line, &cap, stdin);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	if (n <= 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

/* The first line of a file, without its line end; NUL bytes are refused. */
static char *
dbcmd_read_password_file(const char *path, char **cause)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
			*cause = NULL;
		return NULL;
	}
	n = getline(&line, &cap, f);
	if (f != stdin)
		fclose(f);
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n <= 0 ||
	    store_check_text("password file", line, (size_t)n, STORE_PASSWORD_MAX, cause) == -1) {
		if (n <= 0 && asprintf(cause, "%s: no password in the file", path) == -1)
			*cause = NULL;
		free(line);
		return NULL;
	}
	return line;
}

/* The password of --password, --password-file or a terminal prompt; exit status in *rc. */
static char *
dbcmd_password(const struct dbcmd_opts *o, int *rc)
{
	char *pw, *cause = NULL;

	*rc = DBCMD_OK;
	if (o->password != NULL && o->password_file != NULL) {
		*rc = dbcmd_usage_error("%s", "--password and --password-file exclude each other");
		return NULL;
	}
	if (o->password != NULL)
		pw = strdup(o->password);
	else if (o->password_file != NULL) {
		if ((pw = dbcmd_read_password_file(o->password_file, &cause)) == NULL)
			*rc = dbcmd_fail(cause);
		return pw;
	} else if ((pw = dbcmd_prompt("Password: ")) == NULL) {
		*rc = dbcmd_usage_error("%s",
		    "a password is needed: --password, --password-file "
		    "or a terminal to prompt on");
		return NULL;
	}
	if (pw == NULL)
		*rc = dbcmd_fail(NULL);
	return pw;
}

static const char *
dbcmd_realm(const struct dbcmd_opts *o)
{
	return o->realm != NULL ? o->realm : "";
}

/* A store call's result as an exit status. */
static int
dbcmd_done(int rc, char **cause)
{
	return rc == -1 ? dbcmd_fail(*cause) : DBCMD_OK;
}

static int
dbcmd_user_add(struct store *s, const struct dbcmd_opts *o)
{
	char *pw, *cause = NULL;
	int rc;

	if (o->key != NULL) {
		if (o->password != NULL || o->password_file != NULL)
			return dbcmd_usage_error("%s",
			    "--key excludes --password and --password-file");
		return dbcmd_done(store_user_set_key(s, dbcmd_realm(o), o->pos[2], o->key, &cause),
		    &cause);
	}
	if ((pw = dbcmd_password(o, &rc)) == NULL)
		return rc;
	rc = dbcmd_done(store_user_set(s, dbcmd_realm(o), o->pos[2], pw, &cause), &cause);
	free(pw);
	return rc;
}

static int
dbcmd_user_passwd(struct store *s, const struct dbcmd_opts *o)
{
	struct creds_result res;
	char *cause = NULL;

	switch (store_user_lookup(s, dbcmd_realm(o), o->pos[2], &res, &cause)) {
	case CREDS_UNKNOWN:
		if (cause != NULL)
			return dbcmd_fail(cause);
		fprintf(stderr, "turnpikectl: no user '%s' in realm '%s'\n", o->pos[2],
		    dbcmd_realm(o));
		return DBCMD_FAIL;
	case CREDS_UNAVAILABLE:
		return dbcmd_fail(cause);
	}
	return dbcmd_user_add(s, o);
}

static int
dbcmd_user_delete(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	return dbcmd_done(store_user_delete(s, dbcmd_realm(o), o->pos[2], &cause), &cause);
}

static int
dbcmd_user_list(struct store *s, const struct dbcmd_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_USERS, o->realm, o->json);
}

static int
dbcmd_secret_add(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	return dbcmd_done(store_secret_add(s, dbcmd_realm(o), o->pos[2], &cause), &cause);
}

static int
dbcmd_secret_delete(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	return dbcmd_done(store_secret_delete(s, dbcmd_realm(o), o->pos[2], &cause), &cause);
}

static int
dbcmd_secret_list(struct store *s, const struct dbcmd_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_SECRETS, o->realm, o->json);
}

/* A non-negative decimal number for a realm option. */
static int
dbcmd_number(const char *opt, const char *text, uint64_t *out)
{
	char *end;

	errno = 0;
	if (text[0] < '0' || text[0] > '9' || (*out = strtoull(text, &end, 10), errno != 0) ||
	    *end != '\0')
		return dbcmd_usage_error("%s: expected a non-negative integer", opt);
	return 0;
}

static int
dbcmd_realm_set(struct store *s, const struct dbcmd_opts *o)
{
	const char *names[] = {"user-quota", "total-quota", "max-bps"};
	const char *vals[] = {o->user_quota, o->total_quota, o->max_bps};
	uint64_t v[3];
	char *cause = NULL;
	size_t i, n = 0;

	for (i = 0; i < 3; i++) {
		if (vals[i] != NULL && (n++, dbcmd_number(names[i], vals[i], &v[i]) != 0))
			return DBCMD_USAGE;
	}
	if (n == 0)
		return dbcmd_usage_error("%s",
		    "realm set: give --user-quota, --total-quota or "
		    "--max-bps");
	for (i = 0; i < 3; i++) {
		if (vals[i] != NULL && store_realm_set(s, o->pos[2], names[i], v[i], &cause) == -1)
			return dbcmd_fail(cause);
	}
	return DBCMD_OK;
}

static int
dbcmd_realm_show(struct store *s, const struct dbcmd_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_REALM, o->npos > 2 ? o->pos[2] : NULL, o->json);
}

static int
dbcmd_peer_allow(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	return dbcmd_done(store_peer_add(s, true, dbcmd_realm(o), o->pos[2], &cause), &cause);
}

static int
dbcmd_peer_deny(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	return dbcmd_done(store_peer_add(s, false, dbcmd_realm(o), o->pos[2], &cause), &cause);
}

/* Removes the range from the allowed and the denied list; an error when in neither. */
static int
dbcmd_peer_remove(struct store *s, const struct dbcmd_opts *o)
{
	char *c1 = NULL, *c2 = NULL;
	int a = store_peer_remove(s, true, dbcmd_realm(o), o->pos[2], &c1);
	int d = store_peer_remove(s, false, dbcmd_realm(o), o->pos[2], &c2);

	if (a == 0 || d == 0) {
		free(c1);
		free(c2);
		return DBCMD_OK;
	}
	free(c2);
	if (c1 != NULL && strstr(c1, "no such") != NULL) {
		free(c1);
		fprintf(stderr,
		    "turnpikectl: range '%s' is neither allowed nor denied in realm "
		    "'%s'\n",
		    o->pos[2], dbcmd_realm(o));
		return DBCMD_FAIL;
	}
	return dbcmd_fail(c1);
}

static int
dbcmd_peer_list(struct store *s, const struct dbcmd_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_PEERS, o->realm, o->json);
}

static int
dbcmd_origin_add(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	if (o->realm == NULL)
		return dbcmd_usage_error("%s", "origin add: --realm is required");
	return dbcmd_done(store_origin_add(s, o->pos[2], o->realm, &cause), &cause);
}

static int
dbcmd_origin_delete(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	return dbcmd_done(store_origin_delete(s, o->pos[2], &cause), &cause);
}

static int
dbcmd_origin_list(struct store *s, const struct dbcmd_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_ORIGINS, o->realm, o->json);
}

static int
dbcmd_admin_add(struct store *s, const struct dbcmd_opts *o)
{
	char *pw, *cause = NULL;
	int rc;

	if ((pw = dbcmd_password(o, &rc)) == NULL)
		return rc;
	rc = dbcmd_done(store_admin_set(s, o->pos[2], dbcmd_realm(o), pw, &cause), &cause);
	free(pw);
	return rc;
}

static int
dbcmd_admin_delete(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	return dbcmd_done(store_admin_delete(s, o->pos[2], &cause), &cause);
}

static int
dbcmd_admin_list(struct store *s, const struct dbcmd_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_ADMINS, NULL, o->json);
}

/* The credential issuer's keys: printed once, stored as a hash. */
static int
dbcmd_apikey_add(struct store *s, const struct dbcmd_opts *o)
{
	char key[STORE_APIKEY_MAX], *cause = NULL;

	if (store_apikey_add(s, o->pos[2], dbcmd_realm(o), key, sizeof key, &cause) == -1)
		return dbcmd_done(-1, &cause);
	printf("%s\n", key);
	explicit_bzero(key, sizeof key);
	return DBCMD_OK;
}

static int
dbcmd_apikey_delete(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	return dbcmd_done(store_apikey_delete(s, o->pos[2], &cause), &cause);
}

static int
dbcmd_apikey_list(struct store *s, const struct dbcmd_opts *o)
{
	return dbcmd_list(s, DBCMD_LIST_APIKEYS, NULL, o->json);
}

/* RFC 7635 keys: the AES key material (--key, base64) is never printed back. */
static int
dbcmd_oauth_add(struct store *s, const struct dbcmd_opts *o)
{
	struct store_oauth_key k = {o->pos[2], o->key, 0, 0, o->alg != NULL ? o->alg : "A256GCM",
	    dbcmd_realm(o)};
	uint64_t v = 0;
	char *cause = NULL;

	if (o->key == NULL)
		return dbcmd_usage_error("%s", "oauth-key add: --key BASE64 is required");
	if (o->timestamp != NULL && dbcmd_number("timestamp", o->timestamp, &k.timestamp) != 0)
		return DBCMD_USAGE;
	if (o->lifetime != NULL && dbcmd_number("lifetime", o->lifetime, &v) != 0)
		return DBCMD_USAGE;
	if (v > UINT32_MAX)
		return dbcmd_usage_error("%s", "lifetime: at most 4294967295 seconds");
	k.lifetime = (uint32_t)v;
	return dbcmd_done(store_oauth_key_set(s, &k, &cause), &cause);
}

static int
dbcmd_oauth_delete(struct store *s, const struct dbcmd_opts *o)
{
	char *cause = NULL;

	return dbcmd_done(store_oauth_key_delete(s, o->pos[2], &cause), &cause);
}

static int
dbcmd_oauth_print(void *arg, const struct store_oauth_key *k)
{
	struct dbcmd_printer *p = arg;

	p->n++;
	if (!p->json) {
		printf("%s alg=%s realm=%s timestamp=%" PRIu64 " lifetime=%" PRIu32 "\n", k->kid,
		    *k->as_rs_alg != '\0' ? k->as_rs_alg : "A256GCM", k->realm, k->timestamp,
		    k->lifetime);
		return 0;
	}
	fputs(p->n > 1 ? ",\n  {\"kid\": " : "\n  {\"kid\": ", stdout);
	dbcmd_json_string(k->kid);
	fputs(", \"alg\": ", stdout);
	dbcmd_json_string(*k->as_rs_alg != '\0' ? k->as_rs_alg : "A256GCM");
	fputs(", \"realm\": ", stdout);
	dbcmd_json_string(k->realm);
	printf(", \"timestamp\": %" PRIu64 ", \"lifetime\": %" PRIu32 "}", k->timestamp,
	    k->lifetime);
	return 0;
}

static int
dbcmd_oauth_list(struct store *s, const struct dbcmd_opts *o)
{
	struct dbcmd_printer p = {DBCMD_LIST_USERS, o->json, 0};
	char *cause = NULL;
	int rc;

	if (o->json)
		putchar('[');
	rc = store_oauth_key_list(s, dbcmd_oauth_print, &p, &cause);
	if (o->json)
		fputs(p.n > 0 ? "\n]\n" : "]\n", stdout);
	if (rc == -1)
		return dbcmd_fail(cause);
	return fflush(stdout) == 0 ? DBCMD_OK : dbcmd_fail(strdup("writing the list failed"));
}

/* store copy FROM TO: every row, in one transaction of TO. */
static int
dbcmd_store_copy(struct store *unused, const struct dbcmd_opts *o)
{
	struct store_copy_counts n;
	struct store *from, *to;
	char *cause = NULL;
	int rc;

	(void)unused;
	if ((from = dbcmd_open(o->pos[2])) == NULL)
		return DBCMD_FAIL;
	if ((to = dbcmd_open(o->pos[3])) == NULL) {
		store_close(from);
		return DBCMD_FAIL;
	}
	rc = store_copy(from, to, &n, &cause);
	store_close(from);
	store_close(to);
	if (rc == -1)
		return dbcmd_fail(cause);
	printf("copied %zu users, %zu secrets, %zu peer ranges, %zu origins, %zu realm options, "
	       "%zu admins, %zu oauth keys\n",
	    n.users, n.secrets, n.peers, n.origins, n.realm_options, n.admins, n.oauth_keys);
	return DBCMD_OK;
}

/* Every command: noun, verb, its word arguments (min..max), handler and usage. */
static const struct dbcmd_command {
	const char *noun, *verb;
	int min, max;
	int (*run)(struct store *, const struct dbcmd_opts *);
	const char *usage;
} dbcmd_commands[] = {
    {"user", "add", 1, 1, dbcmd_user_add,
	"user add NAME [--realm R] [--password P | --password-file F | --key 0xHEX]"},
    {"user", "passwd", 1, 1, dbcmd_user_passwd,
	"user passwd NAME [--realm R] [--password P | --password-file F]"},
    {"user", "delete", 1, 1, dbcmd_user_delete, "user delete NAME [--realm R]"},
    {"user", "list", 0, 0, dbcmd_user_list, "user list [--realm R] [--json]"},
    {"secret", "add", 1, 1, dbcmd_secret_add, "secret add SECRET [--realm R]"},
    {"secret", "delete", 1, 1, dbcmd_secret_delete, "secret delete SECRET [--realm R]"},
    {"secret", "list", 0, 0, dbcmd_secret_list, "secret list [--realm R] [--json]"},
    {"realm", "set", 1, 1, dbcmd_realm_set,
	"realm set REALM [--user-quota N] [--total-quota N] [--max-bps N]"},
    {"realm", "show", 0, 1, dbcmd_realm_show, "realm show [REALM] [--json]"},
    {"peer", "allow", 1, 1, dbcmd_peer_allow, "peer allow RANGE [--realm R]"},
    {"peer", "deny", 1, 1, dbcmd_peer_deny, "peer deny RANGE [--realm R]"},
    {"peer", "remove", 1, 1, dbcmd_peer_remove, "peer remove RANGE [--realm R]"},
    {"peer", "list", 0, 0, dbcmd_peer_list, "peer list [--realm R] [--json]"},
    {"origin", "add", 1, 1, dbcmd_origin_add, "origin add ORIGIN --realm R"},
    {"origin", "delete", 1, 1, dbcmd_origin_delete, "origin delete ORIGIN"},
    {"origin", "list", 0, 0, dbcmd_origin_list, "origin list [--realm R] [--json]"},
    {"oauth-key", "add", 1, 1, dbcmd_oauth_add,
	"oauth-key add KID --key BASE64 [--alg A256GCM|A128GCM] [--realm R] [--timestamp S] "
	"[--lifetime S]"},
    {"oauth-key", "delete", 1, 1, dbcmd_oauth_delete, "oauth-key delete KID"},
    {"oauth-key", "list", 0, 0, dbcmd_oauth_list, "oauth-key list [--json]"},
    {"admin", "add", 1, 1, dbcmd_admin_add,
	"admin add NAME [--realm R] [--password P | --password-file F]"},
    {"admin", "delete", 1, 1, dbcmd_admin_delete, "admin delete NAME"},
    {"admin", "list", 0, 0, dbcmd_admin_list, "admin list [--json]"},
    {"apikey", "add", 1, 1, dbcmd_apikey_add, "apikey add NAME [--realm R]"},
    {"apikey", "delete", 1, 1, dbcmd_apikey_delete, "apikey delete NAME"},
    {"apikey", "list", 0, 0, dbcmd_apikey_list, "apikey list [--json]"},
    {"store", "copy", 2, 2, dbcmd_store_copy,
	"store copy FROM TO (PATH, sqlite:PATH, postgresql:CONNINFO, mysql:CONN)"},
};

#define DBCMD_NCOMMANDS (sizeof dbcmd_commands / sizeof dbcmd_commands[0])

void
dbcmd_usage(FILE *f)
{
	size_t i;

	fputs("database commands (global options: --db PATH, default " DBCMD_DEFAULT_DB
	      ",\n  or --psql-userdb CONNINFO, --mysql-userdb CONN, or --db ENGINE:CONN)\n",
	    f);
	for (i = 0; i < DBCMD_NCOMMANDS; i++)
		fprintf(f, "       turnpikectl %s\n", dbcmd_commands[i].usage);
}

bool
dbcmd_is_command(const char *word)
{
	size_t i;

	for (i = 0; i < DBCMD_NCOMMANDS; i++) {
		if (strcmp(word, dbcmd_commands[i].noun) == 0)
			return true;
	}
	return false;
}

static const struct dbcmd_command *
dbcmd_find(const struct dbcmd_opts *o)
{
	size_t i;

	for (i = 0; i < DBCMD_NCOMMANDS; i++) {
		if (strcmp(o->pos[0], dbcmd_commands[i].noun) == 0 && o->npos > 1 &&
		    strcmp(o->pos[1], dbcmd_commands[i].verb) == 0)
			return &dbcmd_commands[i];
	}
	return NULL;
}

int
dbcmd_main(int argc, char **argv)
{
	struct dbcmd_opts o = {0};
	const struct dbcmd_command *c;
	struct store *s;
	int rc;

	if ((rc = dbcmd_parse(argc, argv, &o)) != 0)
		return rc;
	if (o.npos == 0)
		return dbcmd_usage_error("%s", "missing command");
	if ((c = dbcmd_find(&o)) == NULL) {
		fprintf(stderr, "turnpikectl: unknown command '%s%s%s'\n", o.pos[0],
		    o.npos > 1 ? " " : "", o.npos > 1 ? o.pos[1] : "");
		dbcmd_usage(stderr);
		return DBCMD_USAGE;
	}
	if (o.npos - 2 < c->min || o.npos - 2 > c->max)
		return dbcmd_usage_error("usage: turnpikectl %s", c->usage);
	if (c->run == dbcmd_store_copy)
		return c->run(NULL, &o);
	if ((s = dbcmd_open_engine(o.db, o.psql, o.mysql, o.redis)) == NULL)
		return DBCMD_FAIL;
	rc = c->run(s, &o);
	store_close(s);
	return rc;
}
