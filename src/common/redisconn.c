/* coturn's Redis connection string: "key=value" words (redisconn.h). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/connstr.h"
#include "turnpike/redisconn.h"

#define REDISCONN_WORD_MAX 512

enum redisconn_key {
	REDISCONN_HOST,
	REDISCONN_PORTKEY,
	REDISCONN_DB,
	REDISCONN_PASSWORD,
	REDISCONN_CONNECT_TIMEOUT,
};

static const struct {
	const char *name;
	enum redisconn_key key;
} redisconn_keys[] = {
    {"ip", REDISCONN_HOST},
    {"host", REDISCONN_HOST},
    {"port", REDISCONN_PORTKEY},
    {"dbname", REDISCONN_DB},
    {"database", REDISCONN_DB},
    {"db", REDISCONN_DB},
    {"password", REDISCONN_PASSWORD},
    {"pwd", REDISCONN_PASSWORD},
    {"connect_timeout", REDISCONN_CONNECT_TIMEOUT},
};

/* Copies v into dst (cap bytes with the NUL); -1 when it does not fit. */
static int
redisconn_copy(char *dst, size_t cap, const char *v)
{
	size_t len = strlen(v);

	if (len >= cap)
		return -1;
	memcpy(dst, v, len + 1);
	return 0;
}

/* Applies one "key=value" word. */
static int
redisconn_word(char *word, struct redisconn *out, const char **errstr)
{
	char *eq = strchr(word, '='), *v;
	unsigned long n;
	size_t i;

	if (eq == NULL || eq == word)
		return *errstr = "expected key=value words", -1;
	*eq = '\0';
	v = eq + 1;
	if (v[0] == '\0')
		return *errstr = "a key without a value", -1;
	for (i = 0; i < sizeof redisconn_keys / sizeof redisconn_keys[0]; i++) {
		if (strcmp(word, redisconn_keys[i].name) == 0)
			break;
	}
	if (i == sizeof redisconn_keys / sizeof redisconn_keys[0])
		return *errstr = "unknown key (ip, dbname, password, port, connect_timeout)", -1;
	switch (redisconn_keys[i].key) {
	case REDISCONN_HOST:
		if (redisconn_copy(out->host, sizeof out->host, v) != 0)
			return *errstr = "ip is too long", -1;
		return 0;
	case REDISCONN_PASSWORD:
		if (redisconn_copy(out->password, sizeof out->password, v) != 0)
			return *errstr = "password is too long", -1;
		return 0;
	case REDISCONN_PORTKEY:
		if (connstr_number(v, 1, 65535, &n) != 0)
			return *errstr = "port must be 1 to 65535", -1;
		out->port = (uint16_t)n;
		return 0;
	case REDISCONN_DB:
		if (connstr_number(v, 0, 1000000, &n) != 0)
			return *errstr = "dbname must be a database number", -1;
		out->db = (unsigned)n;
		return 0;
	case REDISCONN_CONNECT_TIMEOUT:
		if (connstr_number(v, 1, 3600, &n) != 0)
			return *errstr = "connect_timeout must be 1 to 3600 seconds", -1;
		out->connect_timeout = (unsigned)n;
		return 0;
	}
	return *errstr = "unknown key", -1;
}

int
redisconn_parse(const char *text, struct redisconn *out, const char **errstr)
{
	char word[REDISCONN_WORD_MAX];
	int got;

	memset(out, 0, sizeof *out);
	memcpy(out->host, "127.0.0.1", sizeof "127.0.0.1");
	out->port = REDISCONN_PORT;
	out->connect_timeout = REDISCONN_TIMEOUT;
	while ((got = connstr_next_word(&text, word, sizeof word)) != 0) {
		if (got == -1)
			return *errstr = "a word is too long", -1;
		if (redisconn_word(word, out, errstr) != 0)
			return -1;
	}
	return 0;
}
