/*
 * auth-failure-limit: token buckets in milli-failures, refilled at the limit
 * per minute; a source or a user name with less than one failure left is
 * throttled until the bucket refills.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/authguard.h"
#include "turnpike/log.h"
#include "turnpike/tbucket.h"

/* Entries per table: least recently used ones are forgotten past it. */
#define AUTHGUARD_SLOTS 16384
/* A failure costs this many units; the buckets refill per_minute units a second. */
#define AUTHGUARD_COST 60
/* One warning per kind per this many seconds. */
#define AUTHGUARD_LOG_S 60
/* Characters of a user name shown in the log. */
#define AUTHGUARD_LOG_NAME 64

struct authguard {
	pthread_mutex_t mu;
	struct iplimit *by_source;
	struct iplimit *by_user;
	atomic_uint_fast64_t dropped;
};

struct authguard *
authguard_create(uint64_t per_minute)
{
	struct authguard *g;

	if (per_minute == 0 || (g = calloc(1, sizeof *g)) == NULL)
		return NULL;
	pthread_mutex_init(&g->mu, NULL);
	atomic_init(&g->dropped, 0);
	g->by_source = iplimit_create(AUTHGUARD_SLOTS, per_minute, per_minute * AUTHGUARD_COST);
	g->by_user = iplimit_create(AUTHGUARD_SLOTS, per_minute, per_minute * AUTHGUARD_COST);
	if (g->by_source == NULL || g->by_user == NULL) {
		authguard_free(g);
		return NULL;
	}
	return g;
}

void
authguard_free(struct authguard *g)
{
	if (g == NULL)
		return;
	iplimit_free(g->by_source);
	iplimit_free(g->by_user);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/* 16 bytes of two FNV-1a hashes: the user table's key. */
static void
authguard_user_key(const char *user, size_t len, uint8_t key[16])
{
	uint64_t h[2] = {14695981039346656037ULL, 0x84222325cbf29ce4ULL};
	size_t i, j;

	for (j = 0; j < 2; j++) {
		for (i = 0; i < len; i++) {
			h[j] ^= (uint8_t)user[i];
			h[j] *= 1099511628211ULL;
		}
		for (i = 0; i < 8; i++)
			key[8 * j + i] = (uint8_t)(h[j] >> (8 * i));
	}
}

static void
authguard_log_user(const char *user, size_t len)
{
	char name[AUTHGUARD_LOG_NAME + 1];
	size_t i, n = len < AUTHGUARD_LOG_NAME ? len : AUTHGUARD_LOG_NAME;

	for (i = 0; i < n; i++)
		name[i] = user[i] > 0x20 && user[i] < 0x7f ? user[i] : '?';
	name[n] = '\0';
	log_warnx_limited("auth-throttle-user", AUTHGUARD_LOG_S,
	    "authentication throttled for user name \"%s\": over auth-failure-limit; its "
	    "requests with credentials are dropped unchecked",
	    name);
}

bool
authguard_allowed(void *ctx, const struct sockaddr *client, const char *user, size_t userlen,
    bool mine, uint64_t now_ms)
{
	struct authguard *g = ctx;
	uint8_t src[ADDR_LIMIT_KEY_MAX], name[16];
	size_t srclen = addr_limit_key(client, src);
	char addr[ADDR_STRLEN];
	bool by_source, by_user;

	if (mine)
		return true; /* the holder of an allocation of that user knows its password */
	authguard_user_key(user, userlen, name);
	pthread_mutex_lock(&g->mu);
	by_source = srclen == 0 || iplimit_has(g->by_source, src, srclen, AUTHGUARD_COST, now_ms);
	by_user = iplimit_has(g->by_user, name, sizeof name, AUTHGUARD_COST, now_ms);
	pthread_mutex_unlock(&g->mu);
	if (by_source && by_user)
		return true;
	atomic_fetch_add(&g->dropped, 1);
	if (!by_source)
		log_warnx_limited("auth-throttle-source", AUTHGUARD_LOG_S,
		    "authentication throttled for client %s: over auth-failure-limit; its "
		    "requests with credentials are dropped unchecked",
		    addr_fmt(client, false, addr, sizeof addr));
	else
		authguard_log_user(user, userlen);
	return false;
}

void
authguard_failed(void *ctx, const struct sockaddr *client, const char *user, size_t userlen,
    uint64_t now_ms)
{
	struct authguard *g = ctx;
	uint8_t src[ADDR_LIMIT_KEY_MAX], name[16];
	size_t srclen = addr_limit_key(client, src);

	authguard_user_key(user, userlen, name);
	pthread_mutex_lock(&g->mu);
	if (srclen > 0)
		(void)iplimit_take_n(g->by_source, src, srclen, AUTHGUARD_COST, now_ms);
	(void)iplimit_take_n(g->by_user, name, sizeof name, AUTHGUARD_COST, now_ms);
	pthread_mutex_unlock(&g->mu);
}

uint64_t
authguard_dropped(struct authguard *g)
{
	return g != NULL ? atomic_load(&g->dropped) : 0;
}
