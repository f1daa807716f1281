/*
 * The node's fleet (fleet.h): a beat thread that writes this node's heartbeat
 * and reads the others' into a snapshot, and a subscriber thread that listens
 * on the fleet channel for kills and for other nodes' changes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "turnpike/cause.h"
#include "turnpike/fleet.h"
#include "turnpike/fleetdb.h"

#define FLEET_RETRY_MS 1000 /* between connection attempts */
#define FLEET_MIN_GAP_MS 20 /* between two beats a burst of pokes asks for */

/* User -> allocations on the other nodes. */
struct fleet_count {
	struct fleet_count *next;
	uint64_t count;
	size_t len;
	char name[];
};

/* What the last read found; immutable once published. */
struct fleet_snap {
	struct fleet_node *nodes; /* the other live nodes */
	size_t n;
	struct fleet_count **buckets;
	size_t nbuckets; /* a power of two, or 0 */
};

struct fleet_kill {
	struct fleet_kill *next;
	char *user;
};

struct fleet {
	struct fleet_setup s;
	char name[FLEET_NAME_MAX];
	char addr[FLEET_ADDR_MAX];

	pthread_mutex_t mu; /* guards what follows up to snap_mu */
	pthread_cond_t cond;
	bool poked, remote_changed, stop;
	bool up;
	char cause[256];
	int sub_fd; /* the subscriber's socket while connected, -1 otherwise */
	struct fleet_kill *kills, **kills_tail;

	pthread_mutex_t snap_mu;
	struct fleet_snap *snap;

	int pipe[2]; /* a byte per waiting kill */
	pthread_t beat_thr, sub_thr;
	bool beat_started, sub_started;

	/* The beat thread's own. */
	struct fleetdb_user *users;
	size_t nusers, users_cap;
};

static uint64_t
fleet_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
fleet_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t
fleet_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

static void
fleet_snap_free(struct fleet_snap *sn)
{
	struct fleet_count *c, *next;
	size_t i;

	if (sn == NULL)
		return;
	for (i = 0; i < sn->nbuckets; i++) {
		for (c = sn->buckets[i]; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
	}
	free(sn->buckets);
	free(sn->nodes);
	free(sn);
}

static struct fleet_count *
fleet_snap_find(const struct fleet_snap *sn, const char *user, size_t len)
{
	struct fleet_count *c;

	if (sn == NULL || sn->nbuckets == 0)
		return NULL;
	for (c = sn->buckets[fleet_hash(user, len) & (sn->nbuckets - 1)]; c != NULL; c = c->next) {
		if (c->len == len && memcmp(c->name, user, len) == 0)
			return c;
	}
	return NULL;
}

/* The snapshot under construction, and which node index is this one. */
struct fleet_build {
	struct fleet *f;
	struct fleet_snap *sn;
	struct fleet_node *nodes;
	bool failed;
};

/* fleetdb_read's callback: adds another node's user. */
static void
fleet_build_user(void *arg, size_t node, const char *user, size_t len, uint64_t count)
{
	struct fleet_build *b = arg;
	struct fleet_snap *sn = b->sn;
	struct fleet_count *c;
	size_t at;

	(void)node; /* every node: ours is skipped after the read (its name is known then) */
	if ((c = fleet_snap_find(sn, user, len)) != NULL) {
		c->count += count;
		return;
	}
	if ((c = calloc(1, sizeof *c + len)) == NULL) {
		b->failed = true;
		return;
	}
	memcpy(c->name, user, len);
	c->len = len;
	c->count = count;
	at = fleet_hash(user, len) & (sn->nbuckets - 1);
	c->next = sn->buckets[at];
	sn->buckets[at] = c;
}

static void
fleet_set_snap(struct fleet *f, struct fleet_snap *sn)
{
	struct fleet_snap *old;

	pthread_mutex_lock(&f->snap_mu);
	old = f->snap;
	f->snap = sn;
	pthread_mutex_unlock(&f->snap_mu);
	fleet_snap_free(old);
}

static void
fleet_set_state(struct fleet *f, bool up, const char *cause)
{
	int fd = -1;

	pthread_mutex_lock(&f->mu);
	if (!up && f->up)
		fd = f->sub_fd; /* the subscriber reconnects too */
	f->up = up;
	snprintf(f->cause, sizeof f->cause, "%s", cause != NULL ? cause : "");
	pthread_mutex_unlock(&f->mu);
	if (fd != -1)
		shutdown(fd, SHUT_RDWR);
}

/* Waits until poked, another node changed, stop, or ms passed. */
static void
fleet_wait(struct fleet *f, uint64_t ms, bool wake_on_events)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&f->mu);
	while (!f->stop && !(wake_on_events && (f->poked || f->remote_changed))) {
		if (pthread_cond_timedwait(&f->cond, &f->mu, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&f->mu);
}

/* Takes the poked and remote_changed flags; true when stopping. */
static bool
fleet_take_flags(struct fleet *f, bool *poked)
{
	bool stop;

	pthread_mutex_lock(&f->mu);
	*poked = f->poked;
	f->poked = f->remote_changed = false;
	stop = f->stop;
	pthread_mutex_unlock(&f->mu);
	return stop;
}

/* fleet_setup.local's each(): one of this node's users into f->users. */
static void
fleet_local_user(void *arg, const char *user, size_t len, uint64_t count)
{
	struct fleet *f = arg;
	struct fleetdb_user *u, *grown;
	size_t cap;

	if (f->nusers == f->users_cap) {
		cap = f->users_cap != 0 ? f->users_cap * 2 : 64;
		if ((grown = reallocarray(f->users, cap, sizeof *grown)) == NULL)
			return;
		f->users = grown;
		f->users_cap = cap;
	}
	u = &f->users[f->nusers];
	if ((u->name = malloc(len != 0 ? len : 1)) == NULL)
		return;
	memcpy(u->name, user, len);
	u->len = len;
	u->count = count;
	f->nusers++;
}

static void
fleet_local_reset(struct fleet *f)
{
	size_t i;

	for (i = 0; i < f->nusers; i++)
		free(f->users[i].name);
	f->nusers = 0;
}

/* This node's heartbeat. */
static int
fleet_beat(struct fleet *f, redisContext *c, char **cause)
{
	struct fleet_local loc = {0, 0, false};
	struct fleet_node me;
	struct fleetdb_beat b;

	fleet_local_reset(f);
	f->s.local(f->s.arg, &loc, fleet_local_user, f);
	memset(&me, 0, sizeof me);
	snprintf(me.name, sizeof me.name, "%s", f->name);
	snprintf(me.addr, sizeof me.addr, "%s", f->addr);
	me.tls_port = f->s.tls_port;
	me.allocations = loc.allocations;
	me.capacity = loc.capacity;
	me.draining = loc.draining;
	b.node = &me;
	b.users = f->users;
	b.nusers = f->nusers;
	b.ttl_s = f->s.ttl_s;
	b.now_ms = fleet_unix_ms();
	return fleetdb_beat(c, &b, cause);
}

/* Reads the fleet into a new snapshot without this node. */
static int
fleet_read(struct fleet *f, redisContext *c, char **cause)
{
	struct fleet_build b = {f, NULL, NULL, false};
	struct fleet_node *nodes;
	size_t n, i, k = 0;

	if ((b.sn = calloc(1, sizeof *b.sn)) == NULL)
		return cause_fail(cause, "out of memory");
	b.sn->nbuckets = 256;
	if ((b.sn->buckets = calloc(b.sn->nbuckets, sizeof *b.sn->buckets)) == NULL) {
		fleet_snap_free(b.sn);
		return cause_fail(cause, "out of memory");
	}
	/* Our own users are read too, then taken off again: fewer round trips than skipping. */
	if (fleetdb_read(c, &nodes, &n, fleet_build_user, &b, cause) != 0) {
		fleet_snap_free(b.sn);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(nodes[i].name, f->name) == 0)
			continue;
		nodes[k++] = nodes[i];
	}
	for (i = 0; i < f->nusers; i++) {
		struct fleet_count *cnt = fleet_snap_find(b.sn, f->users[i].name, f->users[i].len);

		if (cnt != NULL)
			cnt->count =
			    cnt->count > f->users[i].count ? cnt->count - f->users[i].count : 0;
	}
	b.sn->nodes = nodes;
	b.sn->n = k;
	fleet_set_snap(f, b.sn);
	return 0;
}

/* One beat and read; the connection is dropped on failure. */
static void
fleet_round(struct fleet *f, redisContext **cp, bool poked)
{
	char *cause = NULL, msg[FLEET_NAME_MAX + 16];

	if (*cp == NULL && (*cp = fleetdb_connect(&f->s.conn, &cause)) == NULL)
		goto fail;
	if (fleet_beat(f, *cp, &cause) != 0 || fleet_read(f, *cp, &cause) != 0)
		goto fail;
	snprintf(msg, sizeof msg, "changed %s", f->name);
	if (poked && fleetdb_publish(*cp, msg, NULL, &cause) != 0)
		goto fail;
	fleet_set_state(f, true, NULL);
	return;
fail:
	if (*cp != NULL)
		redisFree(*cp);
	*cp = NULL;
	fleet_set_snap(f, NULL); /* quotas count this node only until Redis answers */
	fleet_set_state(f, false, cause != NULL ? cause : "out of memory");
	free(cause);
}

static void *
fleet_beat_main(void *arg)
{
	struct fleet *f = arg;
	redisContext *c = NULL;
	uint64_t every = f->s.ttl_s * 1000 / 3, last = 0, now;
	bool poked = true;

	if (every < 200)
		every = 200;
	for (;;) {
		now = fleet_mono_ms();
		if (last != 0 && now - last < FLEET_MIN_GAP_MS)
			fleet_wait(f, FLEET_MIN_GAP_MS - (now - last), false);
		last = fleet_mono_ms();
		fleet_round(f, &c, poked);
		fleet_wait(f, c != NULL ? every : FLEET_RETRY_MS, c != NULL);
		if (fleet_take_flags(f, &poked))
			break;
	}
	if (c != NULL)
		redisFree(c);
	fleet_local_reset(f);
	return NULL;
}

static void
fleet_queue_kill(struct fleet *f, const char *user)
{
	struct fleet_kill *k;
	ssize_t w;

	if ((k = calloc(1, sizeof *k)) == NULL || (k->user = strdup(user)) == NULL) {
		free(k);
		return;
	}
	pthread_mutex_lock(&f->mu);
	*f->kills_tail = k;
	f->kills_tail = &k->next;
	pthread_mutex_unlock(&f->mu);
	w = write(f->pipe[1], "k", 1);
	(void)w; /* a full pipe already wakes the reader */
}

/* One pub/sub message. */
static void
fleet_event(struct fleet *f, const redisReply *r)
{
	char name[512];
	const redisReply *p;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0)
		return;
	p = r->element[2];
	if (p->type != REDIS_REPLY_STRING)
		return;
	switch (fleetdb_parse_event(p->str, p->len, name, sizeof name)) {
	case FLEETDB_EVENT_KILL:
		fleet_queue_kill(f, name);
		break;
	case FLEETDB_EVENT_CHANGED:
		if (strcmp(name, f->name) == 0)
			break;
		pthread_mutex_lock(&f->mu);
		f->remote_changed = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->mu);
		break;
	case FLEETDB_EVENT_NONE:
		break;
	}
}

/* Subscribes on c and handles messages until the connection ends. */
static void
fleet_listen(struct fleet *f, redisContext *c)
{
	struct timeval none = {0, 0};
	redisReply *r;
	void *rv;
	bool stop;

	if (redisSetTimeout(c, none) != REDIS_OK ||
	    (r = redisCommand(c, "SUBSCRIBE %s", FLEET_CHANNEL)) == NULL)
		return;
	freeReplyObject(r);
	pthread_mutex_lock(&f->mu);
	f->sub_fd = c->fd;
	stop = f->stop;
	f->remote_changed = true; /* what was missed while away: read it all again */
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
	while (!stop && redisGetReply(c, &rv) == REDIS_OK) {
		fleet_event(f, rv);
		freeReplyObject(rv);
	}
	pthread_mutex_lock(&f->mu);
	f->sub_fd = -1;
	pthread_mutex_unlock(&f->mu);
}

static void *
fleet_sub_main(void *arg)
{
	struct fleet *f = arg;
	redisContext *c;
	char *cause = NULL;
	bool stop;

	for (;;) {
		if ((c = fleetdb_connect(&f->s.conn, &cause)) != NULL) {
			fleet_listen(f, c);
			redisFree(c);
		}
		free(cause);
		cause = NULL;
		pthread_mutex_lock(&f->mu);
		stop = f->stop;
		pthread_mutex_unlock(&f->mu);
		if (stop)
			break;
		fleet_wait(f, FLEET_RETRY_MS, false);
	}
	return NULL;
}

int
fleet_create(const struct fleet_setup *setup, struct fleet **out, char **cause)
{
	struct fleet *f;
	pthread_condattr_t ca;

	*out = NULL;
	if ((f = calloc(1, sizeof *f)) == NULL)
		return cause_fail(cause, "out of memory");
	f->s = *setup;
	snprintf(f->name, sizeof f->name, "%s", setup->name);
	snprintf(f->addr, sizeof f->addr, "%s", setup->addr);
	f->s.name = f->name;
	f->s.addr = f->addr;
	f->sub_fd = -1;
	f->kills_tail = &f->kills;
	f->pipe[0] = f->pipe[1] = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->snap_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(f->cause, sizeof f->cause, "not connected yet");
	if (pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		fleet_free(f);
		return cause_fail(cause, "pipe: %s", strerror(errno));
	}
	*out = f;
	return 0;
}

int
fleet_start(struct fleet *f, char **cause)
{
	int rc;

	if ((rc = pthread_create(&f->beat_thr, NULL, fleet_beat_main, f)) != 0)
		return cause_fail(cause, "fleet thread: %s", strerror(rc));
	f->beat_started = true;
	if ((rc = pthread_create(&f->sub_thr, NULL, fleet_sub_main, f)) != 0)
		return cause_fail(cause, "fleet thread: %s", strerror(rc));
	f->sub_started = true;
	return 0;
}

void
fleet_free(struct fleet *f)
{
	struct fleet_kill *k, *next;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	if (f->sub_fd != -1)
		shutdown(f->sub_fd, SHUT_RDWR);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	if (f->beat_started)
		pthread_join(f->beat_thr, NULL);
	if (f->sub_started)
		pthread_join(f->sub_thr, NULL);
	for (k = f->kills; k != NULL; k = next) {
		next = k->next;
		free(k->user);
		free(k);
	}
	fleet_snap_free(f->snap);
	free(f->users);
	if (f->pipe[0] != -1)
		close(f->pipe[0]);
	if (f->pipe[1] != -1)
		close(f->pipe[1]);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->mu);
	pthread_mutex_destroy(&f->snap_mu);
	free(f);
}

void
fleet_poke(struct fleet *f)
{
	pthread_mutex_lock(&f->mu);
	f->poked = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

uint64_t
fleet_remote_user(struct fleet *f, const char *user, size_t len)
{
	const struct fleet_count *c;
	uint64_t n;

	pthread_mutex_lock(&f->snap_mu);
	c = fleet_snap_find(f->snap, user, len);
	n = c != NULL ? c->count : 0;
	pthread_mutex_unlock(&f->snap_mu);
	return n;
}

void
fleet_foreach_node(struct fleet *f, void (*fn)(void *arg, const struct fleet_node *n), void *arg)
{
	size_t i;

	pthread_mutex_lock(&f->snap_mu);
	for (i = 0; f->snap != NULL && i < f->snap->n; i++)
		fn(arg, &f->snap->nodes[i]);
	pthread_mutex_unlock(&f->snap_mu);
}

bool
fleet_is_up(struct fleet *f, char *cause, size_t causelen)
{
	bool up;

	pthread_mutex_lock(&f->mu);
	up = f->up;
	if (cause != NULL && causelen > 0)
		snprintf(cause, causelen, "%s", f->cause);
	pthread_mutex_unlock(&f->mu);
	return up;
}

int
fleet_fd(const struct fleet *f)
{
	return f->pipe[0];
}

char *
fleet_next_kill(struct fleet *f)
{
	struct fleet_kill *k;
	char *user = NULL, buf[64];

	while (read(f->pipe[0], buf, sizeof buf) > 0)
		continue;
	pthread_mutex_lock(&f->mu);
	if ((k = f->kills) != NULL) {
		f->kills = k->next;
		if (f->kills == NULL)
			f->kills_tail = &f->kills;
	}
	pthread_mutex_unlock(&f->mu);
	if (k != NULL) {
		user = k->user;
		free(k);
	}
	return user;
}
