/* coturn's MySQL/MariaDB connection string: "key=value" words (mysqlconn.h). */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "turnpike/cause.h"
#include "turnpike/connstr.h"
#include "turnpike/mysqlconn.h"

#define MYSQLCONN_WORD_MAX 2048
#define MYSQLCONN_KEYS                                                                             \
	"host, dbname, user, password, port, connect_timeout, read_timeout, ca, capath, cert, "    \
	"key, cipher"

enum mysqlconn_kind {
	MYSQLCONN_TEXT,
	MYSQLCONN_PORTNUM,
	MYSQLCONN_SECONDS
};

/* Every key and its aliases: where its value goes. */
static const struct {
	const char *name;
	enum mysqlconn_kind kind;
	size_t off, cap;
} mysqlconn_keys[] = {
#define TEXT(n, f)                                                                                 \
	{                                                                                          \
		n, MYSQLCONN_TEXT, offsetof(struct mysqlconn, f), sizeof((struct mysqlconn *)0)->f \
	}
    TEXT("host", host),
    TEXT("ip", host),
    TEXT("dbname", dbname),
    TEXT("db", dbname),
    TEXT("database", dbname),
    TEXT("user", user),
    TEXT("uname", user),
    TEXT("name", user),
    TEXT("password", password),
    TEXT("pwd", password),
    TEXT("ca", ca),
    TEXT("capath", capath),
    TEXT("cert", cert),
    TEXT("key", key),
    TEXT("cipher", cipher),
#undef TEXT
    {"port", MYSQLCONN_PORTNUM, offsetof(struct mysqlconn, port), 0},
    {"connect_timeout", MYSQLCONN_SECONDS, offsetof(struct mysqlconn, connect_timeout), 0},
    {"read_timeout", MYSQLCONN_SECONDS, offsetof(struct mysqlconn, read_timeout), 0},
};

/* Applies one "key=value" word (modified in place). */
static int
mysqlconn_word(char *word, struct mysqlconn *out, char **cause)
{
	char *eq = strchr(word, '='), *v;
	unsigned long n;
	size_t i, len;

	if (eq == NULL || eq == word)
		return cause_fail(cause, "expected key=value words (%s)", MYSQLCONN_KEYS);
	*eq = '\0';
	v = eq + 1;
	for (i = 0; i < sizeof mysqlconn_keys / sizeof mysqlconn_keys[0]; i++) {
		if (strcmp(word, mysqlconn_keys[i].name) == 0)
			break;
	}
	if (i == sizeof mysqlconn_keys / sizeof mysqlconn_keys[0])
		return cause_fail(cause, "unknown key '%.64s' (%s)", word, MYSQLCONN_KEYS);
	if (v[0] == '\0')
		return cause_fail(cause, "%s: no value", word);
	switch (mysqlconn_keys[i].kind) {
	case MYSQLCONN_TEXT:
		if ((len = strlen(v)) >= mysqlconn_keys[i].cap)
			return cause_fail(cause, "%s: longer than %zu bytes", word,
			    mysqlconn_keys[i].cap - 1);
		memcpy((char *)out + mysqlconn_keys[i].off, v, len + 1);
		return 0;
	case MYSQLCONN_PORTNUM:
		if (connstr_number(v, 1, 65535, &n) != 0)
			return cause_fail(cause, "%s: must be 1 to 65535", word);
		out->port = (uint16_t)n;
		return 0;
	case MYSQLCONN_SECONDS:
		if (connstr_number(v, 1, 3600, &n) != 0)
			return cause_fail(cause, "%s: must be 1 to 3600 seconds", word);
		*(unsigned *)(void *)((char *)out + mysqlconn_keys[i].off) = (unsigned)n;
		return 0;
	}
	return cause_fail(cause, "unknown key '%.64s'", word);
}

int
mysqlconn_wants_tls(const struct mysqlconn *c)
{
	return c->ca[0] != '\0' || c->capath[0] != '\0' || c->cert[0] != '\0' ||
	    c->key[0] != '\0' || c->cipher[0] != '\0';
}

int
mysqlconn_parse(const char *text, struct mysqlconn *out, char **cause)
{
	char word[MYSQLCONN_WORD_MAX];
	int got;

	memset(out, 0, sizeof *out);
	out->port = MYSQLCONN_PORT;
	out->connect_timeout = MYSQLCONN_TIMEOUT;
	while ((got = connstr_next_word(&text, word, sizeof word)) != 0) {
		if (got == -1)
			return cause_fail(cause, "a word is longer than %zu bytes",
			    sizeof word - 1);
		if (mysqlconn_word(word, out, cause) != 0) {
			explicit_bzero(word, sizeof word);
			return -1;
		}
	}
	explicit_bzero(word, sizeof word);
	if (out->dbname[0] == '\0')
		return cause_fail(cause,
		    "dbname: missing (the database that holds coturn's tables)");
	return 0;
}
