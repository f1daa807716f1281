/*
 * redis-statsdb (statsdb.h): a queue of commands that callers fill without
 * waiting, and one thread that sends them to Redis in batches (pipelined).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "turnpike/cause.h"
#include "turnpike/fleetdb.h"
#include "turnpike/statsdb.h"

#define STATSDB_RETRY_MS 1000 /* between connection attempts */
#define STATSDB_ARGS 6

/* One queued command; the arguments live in text. */
struct statsdb_cmd {
	struct statsdb_cmd *next;
	int argc;
	size_t len[STATSDB_ARGS];
	const char *argv[STATSDB_ARGS];
	char text[];
};

struct statsdb {
	struct redisconn conn;
	pthread_mutex_t mu; /* guards everything below but thr */
	pthread_cond_t cond;
	struct statsdb_cmd *head, **tail;
	size_t n;
	bool stop;
	bool up;
	char cause[256];
	uint64_t dropped;
	pthread_t thr;
	bool started;
};

void
statsdb_key(char *out, size_t cap, const char *realm, const char *user, uint64_t id,
    const char *what)
{
	/* coturn's session ids print as 18 digits. */
	if (realm != NULL && realm[0] != '\0')
		snprintf(out, cap, "turn/realm/%s/user/%s/allocation/%018llu/%s", realm, user,
		    (unsigned long long)id, what);
	else
		snprintf(out, cap, "turn/user/%s/allocation/%018llu/%s", user,
		    (unsigned long long)id, what);
}

bool
statsdb_send(struct statsdb *sd, int argc, const char *const *argv)
{
	struct statsdb_cmd *c;
	size_t total = 0, len[STATSDB_ARGS];
	char *p;
	int i;

	if (argc < 1 || argc > STATSDB_ARGS)
		return false;
	for (i = 0; i < argc; i++)
		total += (len[i] = strlen(argv[i])) + 1;
	pthread_mutex_lock(&sd->mu);
	if (sd->n >= STATSDB_QUEUE_MAX || !sd->up || (c = malloc(sizeof *c + total)) == NULL) {
		sd->dropped++;
		pthread_mutex_unlock(&sd->mu);
		return false;
	}
	pthread_mutex_unlock(&sd->mu);
	c->next = NULL;
	c->argc = argc;
	for (i = 0, p = c->text; i < argc; i++) {
		memcpy(p, argv[i], len[i] + 1);
		c->argv[i] = p;
		c->len[i] = len[i];
		p += len[i] + 1;
	}
	pthread_mutex_lock(&sd->mu);
	*sd->tail = c;
	sd->tail = &c->next;
	sd->n++;
	pthread_cond_signal(&sd->cond);
	pthread_mutex_unlock(&sd->mu);
	return true;
}

/* Takes every queued command (NULL: none). */
static struct statsdb_cmd *
statsdb_take(struct statsdb *sd)
{
	struct statsdb_cmd *c = sd->head;

	sd->head = NULL;
	sd->tail = &sd->head;
	sd->n = 0;
	return c;
}

static void
statsdb_free_list(struct statsdb_cmd *c)
{
	struct statsdb_cmd *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
}

/* Sends a batch (pipelined) and reads every answer; -1 with *cause when the link fails. */
static int
statsdb_flush(redisContext *rc, struct statsdb_cmd *list, char **cause)
{
	struct statsdb_cmd *c;
	redisReply *r;
	void *reply;
	size_t n = 0;

	for (c = list; c != NULL; c = c->next, n++) {
		if (redisAppendCommandArgv(rc, c->argc, c->argv, c->len) != REDIS_OK)
			return cause_fail(cause, "redis: %s", rc->errstr);
	}
	for (; n > 0; n--) {
		if (redisGetReply(rc, &reply) != REDIS_OK)
			return cause_fail(cause, "redis: %s",
			    rc->errstr[0] != '\0' ? rc->errstr : "no answer");
		r = reply;
		freeReplyObject(r); /* an error answer concerns one command: the link is fine */
	}
	return 0;
}

static void
statsdb_set_state(struct statsdb *sd, bool up, const char *cause)
{
	pthread_mutex_lock(&sd->mu);
	sd->up = up;
	snprintf(sd->cause, sizeof sd->cause, "%s", cause != NULL ? cause : "");
	if (!up) {
		sd->dropped += sd->n;
		statsdb_free_list(statsdb_take(sd));
	}
	pthread_mutex_unlock(&sd->mu);
}

/* Waits ms or until stopped; true when stopping. */
static bool
statsdb_sleep(struct statsdb *sd, uint64_t ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&sd->mu);
	while (!sd->stop) {
		if (pthread_cond_timedwait(&sd->cond, &sd->mu, &ts) == ETIMEDOUT)
			break;
	}
	stop = sd->stop;
	pthread_mutex_unlock(&sd->mu);
	return stop;
}

static void *
statsdb_main(void *arg)
{
	struct statsdb *sd = arg;
	redisContext *rc = NULL;
	struct statsdb_cmd *list;
	char *cause = NULL;
	bool stop = false;

	while (!stop) {
		if (rc == NULL && (rc = fleetdb_connect(&sd->conn, &cause)) == NULL) {
			statsdb_set_state(sd, false, cause);
			free(cause);
			cause = NULL;
			stop = statsdb_sleep(sd, STATSDB_RETRY_MS);
			continue;
		}
		statsdb_set_state(sd, true, NULL);
		pthread_mutex_lock(&sd->mu);
		while (sd->head == NULL && !sd->stop)
			pthread_cond_wait(&sd->cond, &sd->mu);
		stop = sd->stop;
		list = statsdb_take(sd);
		pthread_mutex_unlock(&sd->mu);
		if (list != NULL && statsdb_flush(rc, list, &cause) != 0) {
			redisFree(rc);
			rc = NULL;
			statsdb_set_state(sd, false, cause);
			free(cause);
			cause = NULL;
		}
		statsdb_free_list(list);
	}
	redisFree(rc);
	return NULL;
}

int
statsdb_create(const struct redisconn *conn, struct statsdb **out, char **cause)
{
	struct statsdb *sd;
	sigset_t all, old;
	int rc;

	if ((sd = calloc(1, sizeof *sd)) == NULL)
		return cause_fail(cause, "out of memory");
	sd->conn = *conn;
	sd->tail = &sd->head;
	sd->up = true; /* until the first attempt says otherwise: queue from the start */
	pthread_mutex_init(&sd->mu, NULL);
	pthread_cond_init(&sd->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&sd->thr, NULL, statsdb_main, sd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		statsdb_free(sd);
		return cause_fail(cause, "statsdb thread: %s", strerror(rc));
	}
	sd->started = true;
	*out = sd;
	return 0;
}

void
statsdb_free(struct statsdb *sd)
{
	if (sd == NULL)
		return;
	if (sd->started) {
		pthread_mutex_lock(&sd->mu);
		sd->stop = true;
		pthread_cond_broadcast(&sd->cond);
		pthread_mutex_unlock(&sd->mu);
		pthread_join(sd->thr, NULL);
	}
	statsdb_free_list(statsdb_take(sd));
	pthread_mutex_destroy(&sd->mu);
	pthread_cond_destroy(&sd->cond);
	explicit_bzero(&sd->conn, sizeof sd->conn);
	free(sd);
}

bool
statsdb_is_up(struct statsdb *sd, char *cause, size_t causelen, uint64_t *dropped)
{
	bool up;

	pthread_mutex_lock(&sd->mu);
	up = sd->up;
	if (cause != NULL && causelen > 0)
		snprintf(cause, causelen, "%s", sd->cause);
	if (dropped != NULL)
		*dropped = sd->dropped;
	pthread_mutex_unlock(&sd->mu);
	return up;
}
