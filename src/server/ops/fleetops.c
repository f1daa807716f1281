/* The daemon's side of the fleet (fleetops.h). */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "turnpike/addr.h"
#include "turnpike/alternate.h"
#include "turnpike/cause.h"
#include "turnpike/config.h"
#include "turnpike/control.h"
#include "turnpike/controlcmd.h"
#include "turnpike/fleet.h"
#include "turnpike/fleetops.h"
#include "turnpike/limits.h"
#include "turnpike/log.h"
#include "turnpike/options.h"

#define FLEETOPS_LOG_EVERY_S 60 /* an outage is logged again this often */
#define FLEETOPS_KEY_MAX 1024   /* a realm and a user name */

struct fleetops {
	struct fleetops_source src;
	struct fleet *fleet;
	struct redisconn conn;
	char name[FLEET_NAME_MAX];
	char addr[FLEET_ADDR_MAX];
	atomic_uint redirect_at; /* per mille */
	int ttl_s;

	struct event *kill_ev;
	struct control_source csrc; /* for the control commands' kill */
	struct controlcmd *cmds;

	bool logged, was_up;
	uint64_t logged_s;

	fleet_user_fn each; /* during fleetops_local: the fleet's collector */
	void *each_arg;
};

static const struct limits_remote fleetops_remote;

static uint64_t
fleetops_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* fleet-advertise, or the first external-ip, or the first listening-ip, with listening-port. */
static int
fleetops_advertise(const struct config *cfg, char *out, size_t cap, char **cause)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (cfg->fleet_advertise != NULL) {
		if (addr_parse(cfg->fleet_advertise, (uint16_t)cfg->listening_port, &ss, &errstr) !=
		    0)
			return cause_fail(cause, "fleet-advertise %s: %s", cfg->fleet_advertise,
			    errstr);
	} else if (cfg->external_ip.n > 0)
		ss = cfg->external_ip.v[0].public_ip;
	else if (cfg->listening_ip.n > 0 &&
	    !addr_is_any((const struct sockaddr *)&cfg->listening_ip.v[0]))
		ss = cfg->listening_ip.v[0];
	else
		return cause_fail(cause,
		    "fleet-redis: set fleet-advertise (or external-ip or "
		    "listening-ip): the address other nodes send clients to");
	if (cfg->fleet_advertise == NULL)
		addr_set_port((struct sockaddr *)&ss, (uint16_t)cfg->listening_port);
	addr_fmt((const struct sockaddr *)&ss, true, out, cap);
	return 0;
}

static int
fleetops_node_name(const struct config *cfg, char *out, size_t cap, char **cause)
{
	if (cfg->fleet_node_name != NULL) {
		if (cfg->fleet_node_name[0] == '\0' || strlen(cfg->fleet_node_name) >= cap)
			return cause_fail(cause, "fleet-node-name must be 1 to %zu characters",
			    cap - 1);
		snprintf(out, cap, "%s", cfg->fleet_node_name);
		return 0;
	}
	if (gethostname(out, cap) != 0 || out[0] == '\0')
		return cause_fail(cause, "fleet-node-name: no host name to default to");
	out[cap - 1] = '\0';
	return 0;
}

/*
 * The fleet's key of a count: "REALM\0USER" for a user of a realm, "\1REALM"
 * for the realm's total; 0 when it does not fit.
 */
static size_t
fleetops_key(char *out, size_t cap, const char *realm, size_t realmlen, const char *user,
    size_t userlen)
{
	if (user == NULL) {
		if (realmlen + 1 > cap)
			return 0;
		out[0] = '\1';
		memcpy(out + 1, realm, realmlen);
		return realmlen + 1;
	}
	if (realmlen + 1 + userlen > cap)
		return 0;
	memcpy(out, realm, realmlen);
	out[realmlen] = '\0';
	memcpy(out + realmlen + 1, user, userlen);
	return realmlen + 1 + userlen;
}

/* limits_foreach_count's callback on the fleet's thread: one count to the fleet. */
static void
fleetops_local_count(void *arg, const char *realm, size_t realmlen, const char *user,
    size_t userlen, uint64_t count)
{
	struct fleetops *fo = arg;
	char key[FLEETOPS_KEY_MAX];
	size_t len;

	if ((len = fleetops_key(key, sizeof key, realm, realmlen, user, userlen)) > 0)
		fo->each(fo->each_arg, key, len, count);
}

/* fleet_setup.local, on the fleet's thread. */
static void
fleetops_local(void *arg, struct fleet_local *out, fleet_user_fn each, void *each_arg)
{
	struct fleetops *fo = arg;

	out->allocations = atomic_load(fo->src.allocations);
	out->capacity = atomic_load(fo->src.capacity);
	out->draining = atomic_load(fo->src.draining);
	fo->each = each;
	fo->each_arg = each_arg;
	limits_foreach_count(fo->src.limits, fleetops_local_count, fo);
}

int
fleetops_create(const struct config *cfg, const struct fleetops_source *src, struct fleetops **out,
    char **cause)
{
	struct fleet_setup fs;
	struct fleetops *fo;
	const char *errstr;
	uint32_t pm = 900;

	*out = NULL;
	if (cfg->fleet_redis == NULL)
		return 0;
	if ((fo = calloc(1, sizeof *fo)) == NULL)
		return cause_fail(cause, "out of memory");
	fo->src = *src;
	(void)options_parse_permille(cfg->fleet_redirect_at, &pm);
	atomic_init(&fo->redirect_at, pm);
	if (redisconn_parse(cfg->fleet_redis, &fo->conn, &errstr) != 0) {
		free(fo);
		return cause_fail(cause, "fleet-redis: %s", errstr);
	}
	if (fleetops_node_name(cfg, fo->name, sizeof fo->name, cause) != 0 ||
	    fleetops_advertise(cfg, fo->addr, sizeof fo->addr, cause) != 0) {
		free(fo);
		return -1;
	}
	memset(&fs, 0, sizeof fs);
	fs.conn = fo->conn;
	fs.name = fo->name;
	fs.addr = fo->addr;
	fs.tls_port = cfg->tls ? (uint16_t)cfg->tls_listening_port : 0;
	fs.ttl_s = (unsigned)cfg->fleet_heartbeat_ttl;
	fo->ttl_s = cfg->fleet_heartbeat_ttl;
	fs.local = fleetops_local;
	fs.arg = fo;
	if (fleet_create(&fs, &fo->fleet, cause) != 0) {
		free(fo);
		return -1;
	}
	limits_set_remote(src->limits, &fleetops_remote, fo);
	*out = fo;
	return 0;
}

/* Kills the fleet channel asked for, through the control commands' kill. */
static void
fleetops_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleetops *fo = arg;
	char *user, *cause = NULL;

	(void)fd, (void)what;
	while ((user = fleet_next_kill(fo->fleet)) != NULL) {
		if (controlcmd_kill_user(fo->cmds, user, &cause) < 0) {
			log_warnx("fleet: kill --user %s: %s", user,
			    cause != NULL ? cause : "out of memory");
			free(cause);
			cause = NULL;
		}
		free(user);
	}
}

int
fleetops_start(struct fleetops *fo, struct event_base *base, struct worker *const *workers,
    size_t nworkers, const char *realm, char **cause)
{
	if (fo == NULL)
		return 0;
	fo->csrc.workers = nworkers;
	fo->csrc.worker = workers;
	fo->csrc.realm = realm != NULL ? realm : "-";
	fo->csrc.allocations = fo->src.allocations;
	if (controlcmd_create(base, &fo->csrc, &fo->cmds, cause) != 0)
		return -1;
	if ((fo->kill_ev = event_new(base, fleet_fd(fo->fleet), EV_READ | EV_PERSIST,
		 fleetops_kill_cb, fo)) == NULL ||
	    event_add(fo->kill_ev, NULL) != 0)
		return cause_fail(cause, "out of memory");
	if (fleet_start(fo->fleet, cause) != 0)
		return -1;
	log_info("fleet: node %s advertises %s to Redis %s:%u (db %u), heartbeat TTL %d s",
	    fo->name, fo->addr, fo->conn.host, fo->conn.port, fo->conn.db, fo->ttl_s);
	return 0;
}

void
fleetops_tick(struct fleetops *fo)
{
	char cause[256];
	uint64_t now;
	bool up;

	if (fo == NULL)
		return;
	up = fleet_is_up(fo->fleet, cause, sizeof cause);
	now = fleetops_mono_s();
	if (up && !fo->was_up) {
		log_info("fleet: Redis %s:%u reached: node %s registered, quotas count the fleet",
		    fo->conn.host, fo->conn.port, fo->name);
		fo->logged = false;
	} else if (!up && (!fo->logged || now - fo->logged_s >= FLEETOPS_LOG_EVERY_S)) {
		log_warnx("fleet: Redis unreachable (%s): quotas count this node's allocations "
			  "only, no steering, no fleet-wide kill until it answers",
		    cause);
		fo->logged = true;
		fo->logged_s = now;
	}
	fo->was_up = up;
}

void
fleetops_set_config(struct fleetops *fo, const struct config *cfg)
{
	uint32_t pm = 900;

	if (fo == NULL)
		return;
	(void)options_parse_permille(cfg->fleet_redirect_at, &pm);
	atomic_store(&fo->redirect_at, pm);
}

/* fleet_foreach_node's callback: one node into the query. */
static void
fleetops_view_node(void *arg, const struct fleet_node *n)
{
	struct alternate_query *q = arg;
	struct alternate_node *an;

	if (q->nfleet >= ALTERNATE_FLEET_MAX || n->sa.ss_family == AF_UNSPEC)
		return;
	an = &q->fleet[q->nfleet++];
	an->addr = n->sa;
	an->tls_port = n->tls_port;
	an->allocations = n->allocations;
	an->capacity = n->capacity;
	an->draining = n->draining;
}

void
fleetops_view(void *ctx, struct alternate_query *q)
{
	struct fleetops *fo = ctx;

	q->redirect_at = atomic_load(&fo->redirect_at);
	q->allocations = atomic_load(fo->src.allocations);
	q->capacity = atomic_load(fo->src.capacity);
	if (alternate_fleet_wanted(q))
		fleet_foreach_node(fo->fleet, fleetops_view_node, q);
}

void
fleetops_free(struct fleetops *fo)
{
	if (fo == NULL)
		return;
	fleet_free(fo->fleet); /* first: its threads read the limits */
	limits_set_remote(fo->src.limits, NULL, NULL);
	if (fo->kill_ev != NULL)
		event_free(fo->kill_ev);
	controlcmd_free(fo->cmds);
	free(fo);
}

static uint64_t
fleetops_remote_count(void *ctx, const char *realm, size_t realmlen, const char *user,
    size_t userlen)
{
	struct fleetops *fo = ctx;
	char key[FLEETOPS_KEY_MAX];
	size_t len;

	if ((len = fleetops_key(key, sizeof key, realm, realmlen, user, userlen)) == 0)
		return 0;
	return fleet_remote_user(fo->fleet, key, len);
}

static void
fleetops_changed(void *ctx)
{
	fleet_poke(((struct fleetops *)ctx)->fleet);
}

static const struct limits_remote fleetops_remote = {
    fleetops_remote_count,
    fleetops_changed,
};
