/* The fleet's Redis round trips over hiredis (fleetdb.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "turnpike/addr.h"
#include "turnpike/cause.h"
#include "turnpike/fleetdb.h"

#define FLEETDB_KEY_MAX (sizeof FLEET_PREFIX + FLEET_NAME_MAX + 16)
#define FLEETDB_NODES FLEET_PREFIX "nodes"
#define FLEETDB_HSET_CHUNK 512 /* users per HSET */

static void
fleetdb_key(char *out, size_t cap, const char *name, bool users)
{
	snprintf(out, cap, FLEET_PREFIX "node/%s%s", name, users ? "/users" : "");
}

/* The error of a failed call on c. */
static int
fleetdb_fail(redisContext *c, char **cause, const char *what)
{
	return cause_fail(cause, "redis %s: %s", what,
	    c->err != 0 ? c->errstr : "unexpected reply");
}

/* One command whose reply must not be an error; the reply is freed. */
static int
fleetdb_simple(redisContext *c, char **cause, const char *what, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	int rc = 0;

	if (r == NULL)
		return fleetdb_fail(c, cause, what);
	if (r->type == REDIS_REPLY_ERROR)
		rc = cause_fail(cause, "redis %s: %s", what, r->str);
	freeReplyObject(r);
	return rc;
}

redisContext *
fleetdb_connect(const struct redisconn *rc, char **cause)
{
	struct timeval tv = {(time_t)rc->connect_timeout, 0};
	const char *auth[] = {"AUTH", rc->password};
	char db[16];
	const char *sel[] = {"SELECT", db};
	redisContext *c;

	if ((c = redisConnectWithTimeout(rc->host, rc->port, tv)) == NULL) {
		cause_fail(cause, "out of memory");
		return NULL;
	}
	if (c->err != 0) {
		cause_fail(cause, "redis %s:%u: %s", rc->host, rc->port, c->errstr);
		redisFree(c);
		return NULL;
	}
	snprintf(db, sizeof db, "%u", rc->db);
	if (redisSetTimeout(c, tv) != REDIS_OK || redisEnableKeepAlive(c) != REDIS_OK ||
	    (rc->password[0] != '\0' && fleetdb_simple(c, cause, "AUTH", 2, auth) != 0) ||
	    (rc->db != 0 && fleetdb_simple(c, cause, "SELECT", 2, sel) != 0)) {
		if (c->err != 0)
			fleetdb_fail(c, cause, "setup");
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Reads n pipelined replies; the first error wins. */
static int
fleetdb_drain(redisContext *c, size_t n, char **cause)
{
	redisReply *r;
	void *rv;
	int rc = 0;

	while (n-- > 0) {
		if (redisGetReply(c, &rv) != REDIS_OK)
			return fleetdb_fail(c, cause, "heartbeat");
		r = rv;
		if (rc == 0 && r->type == REDIS_REPLY_ERROR)
			rc = cause_fail(cause, "redis heartbeat: %s", r->str);
		if (rc == 0 && n == 0 && r->type != REDIS_REPLY_ARRAY)
			rc = cause_fail(cause, "redis heartbeat: transaction aborted");
		freeReplyObject(r);
	}
	return rc;
}

/* HSET of the users, FLEETDB_HSET_CHUNK at a time; how many commands were queued. */
static size_t
fleetdb_append_users(redisContext *c, const char *key, const struct fleetdb_beat *b)
{
	const char *argv[2 + 2 * FLEETDB_HSET_CHUNK];
	size_t argl[2 + 2 * FLEETDB_HSET_CHUNK];
	char nums[FLEETDB_HSET_CHUNK][24];
	size_t i, k, queued = 0, argc;

	for (i = 0; i < b->nusers; i += FLEETDB_HSET_CHUNK) {
		argv[0] = "HSET", argl[0] = 4;
		argv[1] = key, argl[1] = strlen(key);
		argc = 2;
		for (k = 0; k < FLEETDB_HSET_CHUNK && i + k < b->nusers; k++) {
			const struct fleetdb_user *u = &b->users[i + k];

			snprintf(nums[k], sizeof nums[k], "%" PRIu64, u->count);
			argv[argc] = u->name, argl[argc++] = u->len;
			argv[argc] = nums[k], argl[argc++] = strlen(nums[k]);
		}
		redisAppendCommandArgv(c, (int)argc, argv, argl);
		queued++;
	}
	return queued;
}

int
fleetdb_beat(redisContext *c, const struct fleetdb_beat *b, char **cause)
{
	const struct fleet_node *nd = b->node;
	char nkey[FLEETDB_KEY_MAX], ukey[FLEETDB_KEY_MAX], ttl[24], allocs[24], cap[24], tls[8],
	    upd[24], now_s[24], old_s[24];
	size_t queued = 0;

	fleetdb_key(nkey, sizeof nkey, nd->name, false);
	fleetdb_key(ukey, sizeof ukey, nd->name, true);
	snprintf(ttl, sizeof ttl, "%u", b->ttl_s * 1000);
	snprintf(allocs, sizeof allocs, "%" PRIu64, nd->allocations);
	snprintf(cap, sizeof cap, "%" PRIu64, nd->capacity);
	snprintf(tls, sizeof tls, "%u", nd->tls_port);
	snprintf(upd, sizeof upd, "%" PRIu64, b->now_ms);
	snprintf(now_s, sizeof now_s, "%" PRIu64, b->now_ms / 1000);
	snprintf(old_s, sizeof old_s, "%" PRIu64, b->now_ms / 1000 - 2 * (uint64_t)b->ttl_s);
	{
		const char *multi[] = {"MULTI"}, *del[] = {"DEL", ukey},
			   *uexp[] = {"PEXPIRE", ukey, ttl},
			   *hset[] = {"HSET", nkey, "addr", nd->addr, "tls-port", tls,
			       "allocations", allocs, "capacity", cap, "draining",
			       nd->draining ? "1" : "0", "updated", upd},
			   *nexp[] = {"PEXPIRE", nkey, ttl},
			   *zadd[] = {"ZADD", FLEETDB_NODES, now_s, nd->name},
			   *prune[] = {"ZREMRANGEBYSCORE", FLEETDB_NODES, "-inf", old_s},
			   *exec[] = {"EXEC"};

		redisAppendCommandArgv(c, 1, multi, NULL);
		redisAppendCommandArgv(c, 2, del, NULL);
		queued = 2 + fleetdb_append_users(c, ukey, b);
		redisAppendCommandArgv(c, 3, uexp, NULL);
		redisAppendCommandArgv(c, 14, hset, NULL);
		redisAppendCommandArgv(c, 3, nexp, NULL);
		redisAppendCommandArgv(c, 4, zadd, NULL);
		redisAppendCommandArgv(c, 4, prune, NULL);
		redisAppendCommandArgv(c, 1, exec, NULL);
		queued += 6;
	}
	return fleetdb_drain(c, queued, cause);
}

/* A decimal field; 0 when it is not one. */
static uint64_t
fleetdb_u64(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? 0 : (uint64_t)v;
}

/* Copies s (len bytes) into dst NUL-terminated, cut to cap. */
static void
fleetdb_copy(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* A node's HGETALL reply into nd; false when the hash is gone (a dead node). */
static bool
fleetdb_node_fields(const redisReply *r, struct fleet_node *nd)
{
	const char *errstr;
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
		return false;
	for (i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "addr") == 0)
			fleetdb_copy(nd->addr, sizeof nd->addr, v->str, v->len);
		else if (strcmp(k->str, "tls-port") == 0)
			nd->tls_port = (uint16_t)fleetdb_u64(v->str);
		else if (strcmp(k->str, "allocations") == 0)
			nd->allocations = fleetdb_u64(v->str);
		else if (strcmp(k->str, "capacity") == 0)
			nd->capacity = fleetdb_u64(v->str);
		else if (strcmp(k->str, "draining") == 0)
			nd->draining = strcmp(v->str, "1") == 0;
		else if (strcmp(k->str, "updated") == 0)
			nd->updated_ms = fleetdb_u64(v->str);
	}
	if (nd->addr[0] == '\0')
		return false;
	if (addr_parse(nd->addr, 3478, &nd->sa, &errstr) != 0)
		nd->sa.ss_family = AF_UNSPEC;
	return true;
}

/* The users hash of node i. */
static void
fleetdb_node_users(const redisReply *r, size_t i, fleetdb_user_fn each, void *arg)
{
	size_t k;

	if (r->type != REDIS_REPLY_ARRAY)
		return;
	for (k = 0; k + 1 < r->elements; k += 2) {
		const redisReply *u = r->element[k], *v = r->element[k + 1];

		if (u->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING)
			each(arg, i, u->str, u->len, fleetdb_u64(v->str));
	}
}

/* Pipelines HGETALL, PTTL and the users' HGETALL of each name; fills out. */
static int
fleetdb_read_each(redisContext *c, const redisReply *names, struct fleet_node *out, size_t *n,
    fleetdb_user_fn each, void *arg, char **cause)
{
	char nkey[FLEETDB_KEY_MAX], ukey[FLEETDB_KEY_MAX];
	redisReply *r[3];
	void *rv;
	size_t i, k, per = each != NULL ? 3 : 2;

	for (i = 0; i < names->elements; i++) {
		fleetdb_key(nkey, sizeof nkey, names->element[i]->str, false);
		fleetdb_key(ukey, sizeof ukey, names->element[i]->str, true);
		redisAppendCommand(c, "HGETALL %s", nkey);
		redisAppendCommand(c, "PTTL %s", nkey);
		if (each != NULL)
			redisAppendCommand(c, "HGETALL %s", ukey);
	}
	*n = 0;
	for (i = 0; i < names->elements; i++) {
		for (k = 0; k < per; k++) {
			if (redisGetReply(c, &rv) != REDIS_OK) {
				while (k-- > 0)
					freeReplyObject(r[k]);
				return fleetdb_fail(c, cause, "read nodes");
			}
			r[k] = rv;
		}
		struct fleet_node *nd = &out[*n];

		memset(nd, 0, sizeof *nd);
		fleetdb_copy(nd->name, sizeof nd->name, names->element[i]->str,
		    names->element[i]->len);
		if (fleetdb_node_fields(r[0], nd)) {
			nd->ttl_ms = r[1]->type == REDIS_REPLY_INTEGER ? r[1]->integer : -1;
			if (each != NULL)
				fleetdb_node_users(r[2], *n, each, arg);
			(*n)++;
		}
		for (k = 0; k < per; k++)
			freeReplyObject(r[k]);
	}
	return 0;
}

int
fleetdb_read(redisContext *c, struct fleet_node **out, size_t *n, fleetdb_user_fn each, void *arg,
    char **cause)
{
	redisReply *names;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if ((names = redisCommand(c, "ZRANGE %s 0 -1", FLEETDB_NODES)) == NULL)
		return fleetdb_fail(c, cause, "read nodes");
	if (names->type != REDIS_REPLY_ARRAY) {
		rc = cause_fail(cause, "redis read nodes: %s",
		    names->type == REDIS_REPLY_ERROR ? names->str : "not a sorted set");
		freeReplyObject(names);
		return rc;
	}
	for (i = 0; i < names->elements; i++) {
		if (names->element[i]->type != REDIS_REPLY_STRING) {
			freeReplyObject(names);
			return cause_fail(cause, "redis read nodes: not a sorted set of names");
		}
	}
	if (names->elements > 0 && (*out = calloc(names->elements, sizeof **out)) == NULL) {
		freeReplyObject(names);
		return cause_fail(cause, "out of memory");
	}
	rc = fleetdb_read_each(c, names, *out, n, each, arg, cause);
	freeReplyObject(names);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
fleetdb_publish(redisContext *c, const char *msg, long long *receivers, char **cause)
{
	redisReply *r;
	int rc = 0;

	if ((r = redisCommand(c, "PUBLISH %s %s", FLEET_CHANNEL, msg)) == NULL)
		return fleetdb_fail(c, cause, "publish");
	if (r->type != REDIS_REPLY_INTEGER)
		rc = cause_fail(cause, "redis publish: %s",
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	else if (receivers != NULL)
		*receivers = r->integer;
	freeReplyObject(r);
	return rc;
}

enum fleetdb_event
fleetdb_parse_event(const char *msg, size_t len, char *name, size_t cap)
{
	static const struct {
		const char *prefix;
		enum fleetdb_event ev;
	} kinds[] = {
	    {"kill user ", FLEETDB_EVENT_KILL},
	    {"changed ", FLEETDB_EVENT_CHANGED},
	};
	size_t i, plen, nlen;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		plen = strlen(kinds[i].prefix);
		if (len <= plen || memcmp(msg, kinds[i].prefix, plen) != 0)
			continue;
		nlen = len - plen;
		if (nlen >= cap || memchr(msg + plen, '\0', nlen) != NULL)
			return FLEETDB_EVENT_NONE;
		memcpy(name, msg + plen, nlen);
		name[nlen] = '\0';
		return kinds[i].ev;
	}
	return FLEETDB_EVENT_NONE;
}
