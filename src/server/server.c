/*
 * The process context: main event base (listeners, signals), what the TURN
 * cores share (relay addresses and the port pool; settings, credentials, peer
 * policy and the TLS context as a generation, gen.h, that a reload replaces),
 * workers. Built from an immutable configuration; torn down in reverse.
 */
#include "config.h"

#include <errno.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "turnpike/addr.h"
#include "turnpike/binding.h"
#include "turnpike/authguard.h"
#include "turnpike/capacity.h"
#include "turnpike/connlimit.h"
#include "turnpike/cause.h"
#include "turnpike/config.h"
#include "turnpike/admin.h"
#include "turnpike/tls.h"
#include "turnpike/control.h"
#include "turnpike/controlcmd.h"
#include "turnpike/creds.h"
#include "turnpike/fleetops.h"
#include "turnpike/gen.h"
#include "turnpike/limits.h"
#include "turnpike/realmstats.h"
#include "turnpike/httpd.h"
#include "turnpike/listener.h"
#include "turnpike/log.h"
#include "turnpike/portpool.h"
#include "turnpike/fastpath.h"
#include "turnpike/relayshared.h"
#include "turnpike/sklookup.h"
#include "turnpike/privdrop.h"
#include "turnpike/relay.h"
#include "turnpike/relayaddr.h"
#include "turnpike/reload.h"
#include "turnpike/redisconn.h"
#include "turnpike/sdnotify.h"
#include "turnpike/statsdb.h"
#include "turnpike/server.h"
#include "turnpike/turn.h"
#include "turnpike/userdb.h"
#include "turnpike/worker.h"

#define SERVER_THREADS_MAX 128

struct server {
	const struct config *cfg; /* as started: what a reload cannot change */
	struct reload_args args;  /* the command line, read again by a reload */
	struct event_base *base;
	struct event *signals[5];
	struct event *tick; /* once a second: old generations, drain */
	struct userdb *userdb;
	struct creds no_creds; /* the userdb's own options view, unused: see gen.c */
	struct limits *limits; /* quotas and max-bps across workers, the store's realm options */
	struct realmstats *realmstats; /* traffic per realm for the metrics; NULL without them */
	struct connlimit *connlimit;   /* stream connections per source and in total */
	struct authguard *authguard;   /* auth-failure-limit; NULL when off */
	struct fleetops *fleet;        /* fleet-redis; NULL when off */
	struct statsdb *statsdb;       /* redis-statsdb; NULL when off */
	bool statsdb_down;             /* said so in the log */
	uint64_t statsdb_logged_ms;
	struct relayaddr *relays;
	struct portpool *pool;
	struct fastpath *fastpath; /* the kernel fast path, NULL: none */
	struct sklookup *sklookup; /* relay-sockets=shared, NULL: a socket per relay */
	atomic_size_t allocations;
	atomic_size_t capacity; /* 0 until logged at startup */
	struct gen_fixed fixed;
	struct gen *gen;  /* the current generation */
	struct gen *gens; /* every generation not freed yet, current first */
	atomic_bool draining;
	uint64_t drain_deadline_ms;     /* 0: wait for the last allocation */
	struct worker_switch *drain_sw; /* one per worker */
	struct sockaddr_storage *udp;   /* listening addresses with the UDP port */
	struct worker **workers;
	size_t nworkers;
	size_t next_worker;
	struct listener **listeners;
	size_t nlisteners;
	bool pidfile_written;
	struct control_source csrc;
	struct control *control;
	bool started; /* every worker thread is running */

	/* The metrics endpoint; while draining is set /readyz answers 503. */
	struct httpd_source hsrc;
	struct httpd *httpd;
	/* The web console and admin API (web-admin). */
	struct admin_source asrc;
	struct admin *admin;
	struct controlcmd *admin_cmds; /* the control commands behind asrc.exec */
	SSL_CTX *admin_tls;
	struct privdrop priv;   /* proc-user, proc-group */
	struct event *watchdog; /* WATCHDOG=1 for systemd, when it asks */
	bool *worker_hung;      /* a worker missed a watchdog ping (logged) */
};

/* SIGHUP and SIGUSR2: a reload that logs its outcome. */
static void
server_signal_reload(struct server *s, const char *name, bool certs_only)
{
	char *restart = NULL, *cause = NULL;

	if (server_reload(s, certs_only, &restart, &cause) != 0) {
		log_warnx("%s: reload refused, the running configuration stays: %s", name,
		    cause != NULL ? cause : "out of memory");
	}
	free(restart);
	free(cause);
}

static void
server_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;
	const char *cause;

	if (sig == SIGHUP) {
		sdnotify_reloading();
		if (log_reopen(&cause) != 0)
			log_warnx("SIGHUP: cannot reopen log file: %s", cause);
		else
			log_info("SIGHUP: log file reopened");
		server_signal_reload(s, "SIGHUP", false);
		sdnotify_ready("serving; SIGHUP handled");
		return;
	}
	if (sig == SIGUSR2) {
		server_signal_reload(s, "SIGUSR2", true);
		return;
	}
	if (sig == SIGUSR1) {
		server_drain(s, "SIGUSR1");
		return;
	}
	sdnotify_stopping();
	log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(s->base);
}

static void server_tick(evutil_socket_t, short, void *);

static int
server_init_base(struct server *s, char **cause)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};
	struct timeval second = {1, 0};
	size_t i;

	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error return */
	if ((s->base = event_base_new()) == NULL)
		return cause_fail(cause, "cannot create the main event loop");
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		s->signals[i] = evsignal_new(s->base, sigs[i], server_signal, s);
		if (s->signals[i] == NULL || event_add(s->signals[i], NULL) != 0)
			return cause_fail(cause, "cannot watch signal %d", sigs[i]);
	}
	s->tick = event_new(s->base, -1, EV_PERSIST, server_tick, s);
	if (s->tick == NULL || event_add(s->tick, &second) != 0)
		return cause_fail(cause, "cannot start the main timer");
	return 0;
}

static void
server_with_port(struct sockaddr_storage *out, const struct sockaddr_storage *ip, int port)
{
	*out = *ip;
	addr_set_port((struct sockaddr *)out, (uint16_t)port);
}

/*
 * UDP addresses: listening-port, then tls-listening-port for DTLS; a probe
 * bind without SO_REUSEPORT catches a port in use.
 */
static int
server_init_udp(struct server *s, char **cause)
{
	const struct config_addrs *ips = &s->cfg->listening_ip;
	size_t i, k, n = 0;
	int fd, port;

	if ((s->udp = calloc(4 * ips->n, sizeof *s->udp)) == NULL)
		return cause_fail(cause, "out of memory");
	for (i = 0; i < 4 * ips->n; i++) {
		/*
		 * listening-port; with rfc5780 alt-listening-port; with DTLS
		 * tls-listening-port, and with both alt-tls-listening-port.
		 */
		k = i / ips->n;
		if (k == 0       ? s->cfg->no_udp
			: k == 1 ? s->cfg->no_udp || !s->cfg->rfc5780
			: k == 2 ? !s->cfg->dtls
				 : !s->cfg->dtls || !s->cfg->rfc5780)
			continue;
		port = k == 0 ? s->cfg->listening_port
		    : k == 1  ? s->cfg->alt_listening_port
		    : k == 2  ? s->cfg->tls_listening_port
			      : s->cfg->alt_tls_listening_port;
		server_with_port(&s->udp[n], &ips->v[i % ips->n], port);
		fd = listener_socket((const struct sockaddr *)&s->udp[n], SOCK_DGRAM, false, "UDP",
		    cause);
		if (fd == -1)
			return -1;
		close(fd);
		n++;
	}
	s->fixed.udp = s->udp;
	s->fixed.nudp = n;
	return 0;
}

/* The credential store: the userdb file or a database server's (none: no store). */
static int
server_open_userdb(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;
	char *spec = NULL;
	int rc;

	if (cfg->psql_userdb != NULL)
		rc = asprintf(&spec, "postgresql:%s", cfg->psql_userdb);
	else if (cfg->mysql_userdb != NULL)
		rc = asprintf(&spec, "mysql:%s", cfg->mysql_userdb);
	else if (cfg->redis_userdb != NULL)
		rc = asprintf(&spec, "redis:%s", cfg->redis_userdb);
	else if (cfg->userdb != NULL)
		rc = asprintf(&spec, "sqlite:%s", cfg->userdb);
	else
		return 0;
	if (rc == -1)
		return cause_fail(cause, "out of memory");
	rc = userdb_create(spec, &s->no_creds, cfg->use_auth_secret, cfg->rest_api_separator[0],
	    &s->userdb, cause);
	explicit_bzero(spec, strlen(spec));
	free(spec);
	return rc;
}

/* What never changes on reload: relay addresses, the port pool, the userdb. */
static int
server_init_turn(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;

	if (relayaddr_create(cfg, &s->relays, cause) != 0)
		return -1;
	s->pool = portpool_create((uint16_t)cfg->min_port, (uint16_t)cfg->max_port, s->relays->n);
	if (s->pool == NULL)
		return cause_fail(cause, "out of memory");
	if (cfg->auth && server_open_userdb(s, cause) != 0)
		return -1;
	if (s->userdb != NULL) {
		userdb_set_stale_limit(s->userdb, cfg->userdb_stale_limit);
		userdb_set_cache_users(s->userdb, (size_t)cfg->userdb_cache_users);
	}
	s->fixed.boot = cfg;
	s->fixed.relays = s->relays;
	s->fixed.pool = s->pool;
	s->fixed.userdb = s->userdb;
	s->fixed.allocations = &s->allocations;
	s->fixed.capacity = &s->capacity;
	return 0;
}

/*
 * fast-path: loads the BPF programs and attaches them to the interfaces, or
 * says in one line why not (auto) or refuses to start (on). Before privileges
 * drop: it needs CAP_BPF and CAP_NET_ADMIN.
 */
static int
server_init_fastpath(struct server *s, char **cause)
{
	const char *mode = s->cfg->fast_path != NULL ? s->cfg->fast_path : "auto";
	char *why = NULL;
	size_t i;

	if (strcmp(mode, "off") == 0)
		return 0;
	/* Loopback relays never take it (lo is not attached): auto loads nothing then. */
	for (i = 0; i < s->relays->n && s->relays->v[i].loopback; i++)
		;
	if (strcmp(mode, "auto") == 0 && i == s->relays->n) {
		log_info("fast path off, channels relay in the daemon: every relay address is "
			 "on loopback");
		return 0;
	}
	if (fastpath_open(&s->fastpath, &why) != 0 || fastpath_attach_all(s->fastpath, &why) != 0) {
		fastpath_free(s->fastpath);
		s->fastpath = NULL;
		if (strcmp(mode, "on") == 0) {
			cause_fail(cause, "fast-path on: %s", why != NULL ? why : "out of memory");
			free(why);
			return -1;
		}
		log_info("fast path off, channels relay in the daemon: %s",
		    why != NULL ? why : "out of memory");
		free(why);
		return 0;
	}
	log_info("fast path on: eBPF programs attached to %d interfaces",
	    fastpath_attached(s->fastpath));
	s->fixed.fastpath = s->fastpath;
	return 0;
}

/* How many of the ports lo..hi net.ipv4.ip_local_reserved_ports lists ("a-b,c,..."). */
static unsigned int
server_reserved_ports(unsigned int lo, unsigned int hi)
{
	unsigned int a, b, n = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "r");
	int c;

	if (f == NULL)
		return 0;
	while (fscanf(f, "%u", &a) == 1) {
		b = a;
		if ((c = fgetc(f)) == '-' && fscanf(f, "%u", &b) == 1)
			c = fgetc(f);
		if (b >= lo && a <= hi)
			n += (b < hi ? b : hi) - (a > lo ? a : lo) + 1;
		if (c != ',')
			break;
	}
	fclose(f);
	return n;
}

/*
 * Whether the relay port range overlaps the kernel's ephemeral ports where
 * they are not reserved: the kernel would bind other programs' sockets there
 * without knowing the shared relays hold them.
 */
static void
server_check_ephemeral(const struct config *cfg)
{
	unsigned int lo = 0, hi = 0, from, to;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f == NULL)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) != 2 || (unsigned int)cfg->min_port > hi ||
	    (unsigned int)cfg->max_port < lo) {
		fclose(f);
		return;
	}
	from = (unsigned int)cfg->min_port > lo ? (unsigned int)cfg->min_port : lo;
	to = (unsigned int)cfg->max_port < hi ? (unsigned int)cfg->max_port : hi;
	if (server_reserved_ports(from, to) < to - from + 1)
		log_warnx("relay ports %d-%d overlap the ephemeral ports %u-%u: a socket the "
			  "kernel binds there for another program would lose its datagrams to a "
			  "shared relay; list the range in net.ipv4.ip_local_reserved_ports",
		    cfg->min_port, cfg->max_port, lo, hi);
	fclose(f);
}

/*
 * relay-sockets=shared: loads the sk_lookup program and checks the raw
 * sockets, or says in one line why each relay gets its own socket. Before
 * privileges drop: it needs CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW.
 */
static int
server_init_sklookup(struct server *s, char **cause)
{
	const char *mode = s->cfg->relay_sockets != NULL ? s->cfg->relay_sockets : "per-allocation";
	bool v4 = false, v6 = false;
	char *why = NULL;
	size_t i;

	if (strcmp(mode, "shared") != 0)
		return 0;
	for (i = 0; i < s->relays->n; i++) {
		v4 |= s->relays->v[i].local.ss_family == AF_INET;
		v6 |= s->relays->v[i].local.ss_family == AF_INET6;
	}
	if ((v4 && relayshared_check(AF_INET, &why) != 0) ||
	    (v6 && relayshared_check(AF_INET6, &why) != 0) ||
	    sklookup_open(&s->sklookup, &why) != 0) {
		log_info("relay sockets per allocation, not shared: %s",
		    why != NULL ? why : "out of memory");
		free(why);
		return 0;
	}
	log_info("relay sockets shared: a sk_lookup program steers allocated relay ports to "
		 "each worker's shared sockets; an allocation holds no descriptor");
	server_check_ephemeral(s->cfg);
	s->fixed.sklookup = s->sklookup;
	return 0;
}

/*
 * The current generation's quotas, max-bps, realm and peer policy to the
 * limits; the store's realm options and peer ranges are applied over them
 * again by the userdb's thread soon after.
 */
static int
server_limits_update(struct server *s)
{
	const struct config *cfg = s->gen->cfg;
	struct limits_values v = {(uint64_t)cfg->user_quota, (uint64_t)cfg->total_quota,
	    (uint64_t)cfg->max_bps};

	if (limits_set_config(s->limits, &v, s->gen->policy, cfg->realm) != 0)
		return -1;
	if (s->userdb != NULL) {
		userdb_set_dynamic(s->userdb, cfg->no_dynamic_realms, cfg->no_dynamic_ip_list);
		userdb_set_hook(s->userdb, limits_apply_store, s->limits);
	}
	return 0;
}

static size_t server_thread_count(const struct config *cfg);

/* fleet-redis: the fleet reads the allocations, capacity, drain and users of this node. */
static int
server_init_fleet(struct server *s, char **cause)
{
	struct fleetops_source src = {
	    .limits = s->limits,
	    .allocations = &s->allocations,
	    .capacity = &s->capacity,
	    .draining = &s->draining,
	};

	return fleetops_create(s->cfg, &src, &s->fleet, cause);
}

static uint64_t server_mono_ms(void);

/* redis-statsdb: coturn's allocation status keys and traffic events, from its own thread. */
static int
server_init_statsdb(struct server *s, char **cause)
{
	struct redisconn rc;
	const char *errstr;

	if (s->cfg->redis_statsdb == NULL)
		return 0;
	if (redisconn_parse(s->cfg->redis_statsdb, &rc, &errstr) != 0)
		return cause_fail(cause, "redis-statsdb: %s", errstr);
	if (statsdb_create(&rc, &s->statsdb, cause) != 0)
		return -1;
	log_info("redis-statsdb: allocation status and traffic events to Redis %s:%u", rc.host,
	    rc.port);
	explicit_bzero(&rc, sizeof rc);
	return 0;
}

/* Once a second: says when redis-statsdb cannot be reached (then once a minute) and when it can. */
static void
server_statsdb_tick(struct server *s)
{
	char why[256];
	uint64_t dropped, now = server_mono_ms();

	if (s->statsdb == NULL)
		return;
	if (statsdb_is_up(s->statsdb, why, sizeof why, &dropped)) {
		if (s->statsdb_down)
			log_info("redis-statsdb: Redis reached again");
		s->statsdb_down = false;
		return;
	}
	if (!s->statsdb_down || now - s->statsdb_logged_ms >= 60000) {
		log_warnx("redis-statsdb: Redis unreachable (%s): allocation events are dropped "
			  "(%llu so far)",
		    why, (unsigned long long)dropped);
		s->statsdb_logged_ms = now;
	}
	s->statsdb_down = true;
}

/* The first generation, from a copy of the configuration the server started with. */
static int
server_init_gen(struct server *s, char **cause)
{
	struct limits_values none = {0, 0, 0};
	struct config *cfg;

	if ((s->cfg->prometheus && (s->realmstats = realmstats_create(REALMSTATS_MAX)) == NULL) ||
	    (s->limits = limits_create(&none, NULL, s->cfg->realm)) == NULL ||
	    (s->connlimit = connlimit_create((size_t)s->cfg->max_connections_per_ip, 0)) == NULL)
		return cause_fail(cause, "out of memory");
	if (s->cfg->auth_failure_limit > 0 &&
	    (s->authguard = authguard_create((uint64_t)s->cfg->auth_failure_limit)) == NULL)
		return cause_fail(cause, "out of memory");
	if (server_init_fleet(s, cause) != 0 || server_init_statsdb(s, cause) != 0)
		return -1;
	s->fixed.statsdb = s->statsdb;
	s->fixed.limits = s->limits;
	s->fixed.realmstats = s->realmstats;
	s->fixed.fleet = s->fleet;
	s->fixed.connlimit = s->connlimit;
	s->fixed.authguard = s->authguard;
	s->fixed.nworkers = server_thread_count(s->cfg);
	if (config_clone(s->cfg, &cfg) != 0)
		return cause_fail(cause, "out of memory");
	if (gen_create(cfg, &s->fixed, NULL, &s->gen, cause) != 0)
		return -1;
	s->gens = s->gen;
	if (server_limits_update(s) != 0)
		return cause_fail(cause, "out of memory");
	return 0;
}

/* RLIMIT_NOFILE soft limit up to the hard one: each relay is a descriptor. */
static rlim_t
server_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the descriptor limit to %llu",
			    (unsigned long long)rl.rlim_cur);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

static size_t
server_thread_count(const struct config *cfg)
{
	long n = cfg->relay_threads;

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return (size_t)(n > SERVER_THREADS_MAX ? SERVER_THREADS_MAX : n);
}

static int
server_init_workers(struct server *s, char **cause)
{
	size_t i, n = server_thread_count(s->cfg);

	if ((s->workers = calloc(n, sizeof *s->workers)) == NULL ||
	    (s->drain_sw = calloc(n, sizeof *s->drain_sw)) == NULL)
		return cause_fail(cause, "out of memory");
	for (i = 0; i < n; i++) {
		if (worker_create((int)i, &s->gen->setup, &s->workers[i], cause) != 0)
			return -1;
		s->nworkers++;
		atomic_fetch_add(&s->gen->users, 1);
	}
	for (i = 0; i < n; i++) {
		if (worker_set_peers(s->workers[i], s->workers, n) != 0)
			return cause_fail(cause, "out of memory");
	}
	return 0;
}

/* Main thread: hands an accepted socket to the next worker, round robin. */
static void
server_accept(int fd, const struct sockaddr *peer, unsigned flags, void *arg)
{
	struct server *s = arg;
	struct worker *w = s->workers[s->next_worker++ % s->nworkers];

	if (worker_pass(w, fd, peer, (flags & LISTENER_TLS) != 0, (flags & LISTENER_PROXY) != 0) !=
	    0) {
		log_warnx("cannot hand a connection to a worker: out of memory");
		close(fd);
	}
}

static int
server_listen(struct server *s, int port, unsigned flags, char **cause)
{
	const struct config_addrs *ips = &s->cfg->listening_ip;
	struct sockaddr_storage ss;
	size_t i;

	for (i = 0; i < ips->n; i++) {
		server_with_port(&ss, &ips->v[i], port);
		if (listener_create(s->base, (const struct sockaddr *)&ss, flags, server_accept, s,
			&s->listeners[s->nlisteners], cause) != 0)
			return -1;
		s->nlisteners++;
	}
	return 0;
}

static int
server_init_listeners(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;
	unsigned tcp = config_proxy_protocol_on(cfg, "tcp") ? LISTENER_PROXY : 0;
	unsigned tls = config_proxy_protocol_on(cfg, "tls") ? LISTENER_PROXY : 0;

	s->listeners = calloc(4 * cfg->listening_ip.n, sizeof *s->listeners);
	if (s->listeners == NULL)
		return cause_fail(cause, "out of memory");
	if (!cfg->no_tcp && server_listen(s, cfg->listening_port, tcp, cause) != 0)
		return -1;
	if (cfg->tls && server_listen(s, cfg->tls_listening_port, LISTENER_TLS | tls, cause) != 0)
		return -1;
	/* coturn's alternative TLS port of RFC 5780: served as the TLS port is. */
	if (cfg->tls && cfg->rfc5780 &&
	    server_listen(s, cfg->alt_tls_listening_port, LISTENER_TLS | tls, cause) != 0)
		return -1;
	if (cfg->tcp_proxy_port != 0 &&
	    server_listen(s, cfg->tcp_proxy_port, LISTENER_PROXY, cause) != 0)
		return -1;
	if ((cfg->proxy_protocol != NULL || cfg->tcp_proxy_port != 0) &&
	    cfg->proxy_protocol_from.n == 0)
		log_warnx("PROXY protocol listeners refuse every connection: proxy-protocol-from "
			  "names no load balancer");
	return 0;
}

static int
server_write_pidfile(struct server *s, char **cause)
{
	const char *path = s->cfg->pidfile;
	FILE *f;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "w")) == NULL)
		return cause_fail(cause, "cannot write pidfile %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0) {
		unlink(path);
		return cause_fail(cause, "cannot write pidfile %s: %s", path, strerror(errno));
	}
	s->pidfile_written = true;
	return 0;
}

static void server_log_auth(const struct server *);
static void server_log_policy(const struct server *);

/* On a worker's thread: it reads sw's setup now (or kept its own). */
static void
server_switched(struct worker_switch *sw, const struct worker_setup *old)
{
	struct gen *g = sw->arg;

	if (old != NULL) {
		atomic_fetch_add(&g->users, 1);
		atomic_fetch_sub(&gen_of(old)->users, 1);
	}
	atomic_fetch_sub(&g->pending, 1);
}

/* Frees the old generations no worker reads any more. */
static void
server_sweep(struct server *s)
{
	struct gen **gp = &s->gens, *g;

	while ((g = *gp) != NULL) {
		if (g != s->gen && atomic_load(&g->users) == 0 && atomic_load(&g->pending) == 0) {
			*gp = g->next;
			gen_free(g);
		} else
			gp = &g->next;
	}
}

void
server_log_settings(const struct config *cfg)
{
	enum log_level level = cfg->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
	enum log_format format = LOG_FORMAT_TEXT;
	int facility;

	/* The option table checked every value: a parse cannot fail here. */
	if (cfg->log_format != NULL && log_format_parse(cfg->log_format, &format) == 0)
		log_set_format(format);
	if (cfg->syslog_facility != NULL &&
	    log_facility_parse(cfg->syslog_facility, &facility) == 0)
		log_set_facility(facility);
	log_set_time_format(cfg->new_log_timestamp ? cfg->new_log_timestamp_format : NULL);
	if (cfg->log_min_level != NULL)
		(void)log_level_parse(cfg->log_min_level, &level);
	log_set_level(level);
}

/* g becomes current; each worker switches to it on its thread. */
static int
server_switch(struct server *s, struct gen *g, char **cause)
{
	size_t i;

	if ((g->sw = calloc(s->nworkers, sizeof *g->sw)) == NULL) {
		gen_free(g);
		return cause_fail(cause, "out of memory");
	}
	atomic_store(&g->pending, (unsigned int)s->nworkers);
	g->next = s->gens;
	s->gens = g;
	s->gen = g;
	s->csrc.realm = g->cfg->realm != NULL ? g->cfg->realm : "-";
	for (i = 0; i < s->nworkers; i++) {
		g->sw[i].setup = &g->setup;
		g->sw[i].done = server_switched;
		g->sw[i].arg = g;
		worker_post_switch(s->workers[i], &g->sw[i]);
	}
	server_log_settings(g->cfg);
	server_sweep(s);
	return 0;
}

/* The web console's HTTPS certificate follows the reload; new connections get it. */
static void
server_reload_admin_tls(struct server *s, const struct config *cfg)
{
	char *why = NULL;

	if (s->admin_tls == NULL || cfg->cert == NULL || cfg->pkey == NULL)
		return;
	if (tls_ctx_load_keys(s->admin_tls, cfg->cert, cfg->pkey, &why) != 0) {
		log_warnx("reload: web-admin keeps its previous certificate: %s",
		    why != NULL ? why : "out of memory");
		free(why);
	}
}

int
server_reload(struct server *s, bool certs_only, char **restart, char **cause)
{
	struct config *cfg = NULL;
	struct gen *g;
	size_t i;

	*restart = NULL;
	*cause = NULL;
	if (certs_only) {
		if (config_clone(s->gen->cfg, &cfg) != 0 || (*restart = strdup("")) == NULL) {
			config_free(cfg);
			return cause_fail(cause, "out of memory");
		}
	} else if (reload_config(s->gen->cfg, &s->args, &cfg, restart, cause) != 0)
		return -1;
	for (i = 0; i < cfg->nwarnings; i++)
		log_warnx("%s", cfg->warnings[i]);
	if (gen_create(cfg, &s->fixed, s->gen, &g, cause) != 0 || server_switch(s, g, cause) != 0)
		return -1;
	if (server_limits_update(s) != 0)
		log_warnx("reload: out of memory: quotas and max-bps keep their previous values");
	fleetops_set_config(s->fleet, g->cfg);
	if (s->userdb != NULL)
		userdb_set_stale_limit(s->userdb, g->cfg->userdb_stale_limit);
	server_reload_admin_tls(s, g->cfg);
	if (certs_only) {
		log_info("certificates reloaded%s", g->cfg->tls ? "" : " (none: TLS is off)");
		return 0;
	}
	log_info("configuration reloaded%s%s", g->cfg->file != NULL ? " from " : "",
	    g->cfg->file != NULL ? g->cfg->file : "");
	server_log_auth(s);
	server_log_policy(s);
	return 0;
}

static uint64_t
server_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* While draining: exit once the last allocation has ended, or at drain-timeout. */
static void
server_drain_check(struct server *s)
{
	size_t n = atomic_load(&s->allocations);

	if (n == 0) {
		log_info("drain: no allocation left, exiting");
		event_base_loopbreak(s->base);
	} else if (s->drain_deadline_ms != 0 && server_mono_ms() >= s->drain_deadline_ms) {
		log_info("drain: drain-timeout reached with %zu allocations left, exiting", n);
		event_base_loopbreak(s->base);
	}
}

static void
server_drain_done(struct worker_switch *sw, const struct worker_setup *old)
{
	(void)sw, (void)old;
}

size_t
server_drain(struct server *s, const char *who)
{
	int timeout = s->gen->cfg->drain_timeout;
	size_t i, n = atomic_load(&s->allocations);
	char until[64] = "";

	if (atomic_load(&s->draining))
		return n;
	atomic_store(&s->draining, true);
	if (timeout > 0) {
		s->drain_deadline_ms = server_mono_ms() + (uint64_t)timeout * 1000;
		snprintf(until, sizeof until, " or in %d s (drain-timeout)", timeout);
	}
	log_info("%s: draining: new allocations refused (508, or 300 to an alternate-server "
		 "when one is set), %zu left; exiting when the last ends%s",
	    who, n, until);
	sdnotify_stopping(); /* systemd: shutting down, however long the calls last */
	for (i = 0; i < s->nworkers; i++) {
		s->drain_sw[i].drain = true;
		s->drain_sw[i].done = server_drain_done;
		worker_post_switch(s->workers[i], &s->drain_sw[i]);
	}
	return n; /* the tick checks: a control client gets its answer first */
}

static void
server_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd, (void)what;
	server_sweep(s);
	fleetops_tick(s->fleet);
	server_statsdb_tick(s);
	if (atomic_load(&s->draining))
		server_drain_check(s);
}

static int
server_control_reload(void *arg, char **restart, char **cause)
{
	int rc;

	sdnotify_reloading();
	rc = server_reload(arg, false, restart, cause);
	sdnotify_ready("serving; turnpikectl reload handled");
	return rc;
}

static size_t
server_control_drain(void *arg)
{
	return server_drain(arg, "control");
}

void
server_set_args(struct server *s, int argc, const char *const *argv)
{
	s->args.argc = argc;
	s->args.argv = argv;
}

/* control-socket-group: the socket to that group, mode 0660 (its members may connect). */
static int
server_control_group(const struct config *cfg, char **cause)
{
	const char *name = cfg->control_socket_group;
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long n;
	gid_t gid;

	if (name == NULL)
		return 0;
	errno = 0;
	n = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && *end == '\0' && errno == 0)
		gid = (gid_t)n;
	else if (getgrnam_r(name, &gr, buf, sizeof buf, &res) == 0 && res != NULL)
		gid = gr.gr_gid;
	else
		return cause_fail(cause, "control-socket-group %s: no such group", name);
	if (chown(cfg->control_socket, (uid_t)-1, gid) != 0 ||
	    chmod(cfg->control_socket, 0660) != 0)
		return cause_fail(cause, "control-socket-group %s: cannot give %s to it: %s", name,
		    cfg->control_socket, strerror(errno));
	return 0;
}

/* What the control commands read: the control socket's and the admin API's. */
static void
server_init_csrc(struct server *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->csrc.start_mono_s = (uint64_t)ts.tv_sec;
	s->csrc.workers = s->nworkers;
	s->csrc.listeners = s->nlisteners;
	s->csrc.udp = s->fixed.nudp;
	s->csrc.allocations = &s->allocations;
	s->csrc.worker = s->workers;
	s->csrc.realm = s->cfg->realm != NULL ? s->cfg->realm : "-";
	s->csrc.reload = server_control_reload;
	s->csrc.drain = server_control_drain;
	s->csrc.arg = s;
}

static int
server_init_control(struct server *s, char **cause)
{
	server_init_csrc(s);
	if (s->cfg->control_socket == NULL)
		return 0;
	if (control_create(s->base, s->cfg->control_socket, &s->csrc, &s->control, cause) != 0)
		return -1;
	return server_control_group(s->cfg, cause);
}

/* The realm label of the metrics. */
static const char *
server_realm(void *arg)
{
	const struct server *s = arg;

	return s->gen->cfg->realm; /* the current one: a reload may change it */
}

/* prometheus: the metrics and health endpoint on the main loop. */
static int
server_init_httpd(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;
	struct sockaddr_storage ss;
	const char *errstr;

	if (!cfg->prometheus)
		return 0;
	if (addr_parse_ip(cfg->prometheus_address, &ss, &errstr) != 0)
		return cause_fail(cause, "prometheus-address %s: %s", cfg->prometheus_address,
		    errstr);
	addr_set_port((struct sockaddr *)&ss, (uint16_t)cfg->prometheus_port);
	s->hsrc.worker = s->workers;
	s->hsrc.nworkers = s->nworkers;
	s->hsrc.realm = server_realm;
	s->hsrc.realm_arg = s;
	s->hsrc.pool = s->pool;
	s->hsrc.naddrs = s->relays->n;
	s->hsrc.ports_per_addr = (size_t)(cfg->max_port - cfg->min_port + 1);
	s->hsrc.draining = &s->draining;
	s->hsrc.username_labels = cfg->prometheus_username_labels;
	s->hsrc.limits = s->limits;
	s->hsrc.realmstats = s->realmstats;
	return httpd_create(s->base, (const struct sockaddr *)&ss, &s->hsrc, &s->httpd, cause);
}

/* The console's view of the configuration in force (a reload may change it). */
static void
server_admin_settings(void *arg, struct admin_settings *set)
{
	const struct server *s = arg;
	const struct config *cfg = s->gen->cfg;

	set->realm = cfg->realm;
	set->ip = cfg->listening_ip.v;
	set->nip = cfg->listening_ip.n;
	set->port = (uint16_t)cfg->listening_port;
	set->tls_port = (uint16_t)cfg->tls_listening_port;
	set->udp = !cfg->no_udp;
	set->tcp = !cfg->no_tcp;
	set->tls = cfg->tls;
	set->use_auth_secret = cfg->use_auth_secret;
	set->auth_secret = cfg->static_auth_secrets.n > 0 ? cfg->static_auth_secrets.v[0] : NULL;
	set->rest_separator = cfg->rest_api_separator[0];
	set->rest_sha256 = strcmp(cfg->rest_api_hmac, "sha256") == 0;
}

/* The console's commands: the control socket's, run by its own command set. */
static int
server_admin_exec(void *arg, const char *line, admin_exec_fn done, void *done_arg)
{
	struct server *s = arg;

	return control_exec(s->admin_cmds, line, done, done_arg);
}

static size_t
server_admin_ports_used(void *arg, size_t i)
{
	const struct server *s = arg;

	return portpool_used(s->pool, i);
}

static bool
server_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

	if (sa->sa_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

/* web-admin: HTTPS with the server's certificate, or plain HTTP on loopback only. */
static int
server_init_admin(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;
	struct sockaddr_storage ss;
	const char *errstr;
	int fd;

	if (!cfg->web_admin)
		return 0;
	if (cfg->userdb == NULL)
		return cause_fail(cause, "web-admin needs userdb: its admins are admin_user rows");
	if (addr_parse_ip(cfg->web_admin_ip, &ss, &errstr) != 0)
		return cause_fail(cause, "web-admin-ip %s: %s", cfg->web_admin_ip, errstr);
	addr_set_port((struct sockaddr *)&ss, (uint16_t)cfg->web_admin_port);
	if (cfg->cert != NULL && cfg->pkey != NULL) {
		if (tls_ctx_create(cfg->cert, cfg->pkey, cfg->cipher_list, &s->admin_tls, cause) !=
		    0)
			return -1;
	} else if (!server_is_loopback((const struct sockaddr *)&ss))
		return cause_fail(cause,
		    "web-admin-ip %s: plain HTTP is served on loopback only; set cert and pkey "
		    "for HTTPS",
		    cfg->web_admin_ip);
	if (controlcmd_create(s->base, &s->csrc, &s->admin_cmds, cause) != 0)
		return -1;
	s->asrc.exec = server_admin_exec;
	s->asrc.settings = server_admin_settings;
	s->asrc.ports_used = server_admin_ports_used;
	s->asrc.arg = s;
	s->asrc.draining = &s->draining;
	s->asrc.naddrs = s->relays->n;
	s->asrc.ports_per_addr = (size_t)(cfg->max_port - cfg->min_port + 1);
	s->asrc.dbpath = cfg->userdb;
	s->asrc.tls = s->admin_tls;
	if ((fd = listener_socket((const struct sockaddr *)&ss, SOCK_STREAM, false, "web admin",
		 cause)) == -1)
		return -1;
	return admin_create(s->base, fd, &s->asrc, &s->admin, cause);
}

/*
 * proc-user/proc-group, once every listener and file is open. The userdb (its
 * -wal and -shm follow the database's owner) and the control socket are handed
 * to the user first, so that it can still read the store and remove the socket.
 */
static int
server_drop_privileges(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;
	char path[4096];
	size_t i;
	static const char *const suffixes[] = {"", "-wal", "-shm"};

	if (!s->priv.active)
		return 0;
	/* A database file (not a server's connection string: redis-userdb) follows the user. */
	for (i = 0; cfg->userdb != NULL && cfg->redis_userdb == NULL &&
	     i < sizeof suffixes / sizeof suffixes[0];
	     i++) {
		snprintf(path, sizeof path, "%s%s", cfg->userdb, suffixes[i]);
		if (privdrop_chown(&s->priv, path, cause) != 0)
			return -1;
	}
	if (privdrop_chown(&s->priv, cfg->control_socket, cause) != 0 ||
	    (cfg->control_socket != NULL && server_control_group(cfg, cause) != 0) ||
	    privdrop_apply(&s->priv, cause) != 0)
		return -1;
	log_info("running as user %lu, group %lu%s%s", (unsigned long)getuid(),
	    (unsigned long)getgid(), s->priv.has_user ? ", " : "", s->priv.user);
	return 0;
}

/*
 * WATCHDOG=1 at half the interval systemd set in WATCHDOG_USEC, only while
 * every worker answers: each tick checks that each worker ran the ping sent the
 * tick before, then sends the next. A hung worker starves the watchdog and
 * systemd restarts the service; a hang and its end are logged once each.
 */
static void
server_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	size_t i, hung = 0;

	(void)fd;
	(void)what;
	for (i = 0; i < s->nworkers; i++) {
		if (worker_ping(s->workers[i])) {
			if (s->worker_hung[i])
				log_info("worker %zu answers again: the systemd watchdog is fed",
				    i);
			s->worker_hung[i] = false;
			continue;
		}
		hung++;
		if (!s->worker_hung[i])
			log_warnx("worker %zu has not answered for a watchdog period: the systemd "
				  "watchdog is not fed while it hangs",
			    i);
		s->worker_hung[i] = true;
	}
	if (hung == 0)
		sdnotify_watchdog();
}

static int
server_init_watchdog(struct server *s, char **cause)
{
	uint64_t usec = sdnotify_watchdog_usec() / 2;
	struct timeval tv;

	if (usec == 0)
		return 0;
	if ((s->worker_hung = calloc(s->nworkers, sizeof *s->worker_hung)) == NULL)
		return cause_fail(cause, "out of memory");
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	s->watchdog = event_new(s->base, -1, EV_PERSIST, server_watchdog, s);
	if (s->watchdog == NULL || event_add(s->watchdog, &tv) != 0)
		return cause_fail(cause, "cannot start the systemd watchdog timer");
	return 0;
}

/* Workers start with every signal blocked: signals belong to the main loop. */
static int
server_start_workers(struct server *s, char **cause)
{
	sigset_t all, old;
	size_t i;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < s->nworkers && rc == 0; i++)
		rc = worker_start(s->workers[i], cause);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->started = rc == 0;
	return rc;
}

/* "listening on UDP 127.0.0.1:3478 [::1]:3478" */
static void
server_log_transport(const struct server *s, const char *name, int port)
{
	const struct config_addrs *ips = &s->cfg->listening_ip;
	char line[1024], addr[ADDR_STRLEN];
	struct sockaddr_storage ss;
	size_t i, off = 0;

	line[0] = '\0';
	for (i = 0; i < ips->n && off < sizeof line; i++) {
		server_with_port(&ss, &ips->v[i], port);
		off += (size_t)snprintf(line + off, sizeof line - off, " %s",
		    addr_fmt((const struct sockaddr *)&ss, true, addr, sizeof addr));
	}
	log_info("listening on %s%s", name, line);
}

/* Who may allocate; never a password, key or secret. */
static void
server_log_auth(const struct server *s)
{
	const struct config *cfg = s->gen->cfg;

	if (!cfg->auth) {
		log_warnx("no-auth: TURN without credentials, anyone can relay through this "
			  "server (an open relay)");
		return;
	}
	log_info("authentication: long-term credentials, realm \"%s\"%s: %zu users, %zu TURN "
		 "REST API secrets%s%s",
	    cfg->realm, cfg->realm_from_host ? " (the host name; set realm)" : "", cfg->users.n,
	    cfg->static_auth_secrets.n, cfg->use_auth_secret ? ", separator " : "",
	    cfg->use_auth_secret ? cfg->rest_api_separator : "");
	if (cfg->oauth)
		log_info("oauth: RFC 7635 access tokens for server name \"%s\", keys from %s",
		    cfg->server_name != NULL && *cfg->server_name != '\0' ? cfg->server_name
									  : cfg->realm,
		    cfg->userdb != NULL            ? cfg->userdb
			: cfg->psql_userdb != NULL ? "the psql-userdb store"
			: cfg->mysql_userdb != NULL
			? "the mysql-userdb store"
			: "nowhere (no userdb: every token is refused)");
	if (cfg->psql_userdb != NULL)
		log_info("credential store: PostgreSQL (psql-userdb), at most %d users in memory",
		    cfg->userdb_cache_users);
	if (cfg->mysql_userdb != NULL)
		log_info("credential store: MySQL/MariaDB (mysql-userdb), at most %d users in "
			 "memory",
		    cfg->userdb_cache_users);
	if (cfg->users.n == 0 && cfg->static_auth_secrets.n == 0 && cfg->userdb == NULL &&
	    cfg->psql_userdb == NULL && cfg->mysql_userdb == NULL && cfg->redis_userdb == NULL) {
		log_warnx("no user and no static-auth-secret: every allocation is refused (401); "
			  "add user=NAME:PASSWORD or static-auth-secret");
	}
}

/* "relay addresses 10.0.0.1 (advertised as 192.0.2.1), ::1; ports 49152-65535" */
static void
server_log_relays(const struct server *s)
{
	const struct relayaddr *ra = s->relays;
	char line[1024], a[ADDR_STRLEN], b[ADDR_STRLEN];
	size_t i, off = 0;

	line[0] = '\0';
	for (i = 0; i < ra->n && off < sizeof line; i++) {
		addr_fmt((const struct sockaddr *)&ra->v[i].local, false, a, sizeof a);
		addr_fmt((const struct sockaddr *)&ra->v[i].advertised, false, b, sizeof b);
		off += (size_t)snprintf(line + off, sizeof line - off, "%s%s%s%s%s",
		    i > 0 ? ", " : "", a, strcmp(a, b) != 0 ? " (advertised as " : "",
		    strcmp(a, b) != 0 ? b : "", strcmp(a, b) != 0 ? ")" : "");
	}
	if (ra->n == 0)
		log_warnx("no relay address: every Allocate is refused (440)");
	else
		log_info("relay addresses %s%s; UDP ports %d-%d", line,
		    ra->fixed ? "" : " (from the listening addresses)", s->cfg->min_port,
		    s->cfg->max_port);
}

static void
server_log_policy(const struct server *s)
{
	const struct config *cfg = s->gen->cfg;
	const struct turn_config *t = &s->gen->turn;

	log_info("peers: special-purpose addresses not globally reachable (IANA registries: "
		 "private, loopback, link-local, documentation, benchmarking...), multicast and "
		 "own addresses refused%s; %zu allowed-peer-ip, %zu denied-peer-ip ranges",
	    cfg->allow_loopback_peers ? " (loopback allowed)" : "", cfg->allowed_peer_ip.n,
	    cfg->denied_peer_ip.n);
	log_info("lifetimes: allocation %u s (at most %u), permission %u s, channel %u s, nonce "
		 "%u s; quotas: %d per user, %d in total (0: none)",
	    t->default_lifetime, t->max_lifetime, t->permission_lifetime, t->channel_lifetime,
	    t->stale_nonce, cfg->user_quota, cfg->total_quota);
}

/* Each relay holds a descriptor: the limit bounds the allocations, as do the ports. */
static void
server_log_capacity(struct server *s, rlim_t nofile)
{
	struct capacity c = {.nofile = nofile, .fds_open = capacity_open_fds(nofile)};

	c.ports = (uint64_t)(s->cfg->max_port - s->cfg->min_port + 1) * s->relays->n;
	c.shared = s->sklookup != NULL;
	capacity_compute(&c);
	s->csrc.capacity = c.allocations;
	atomic_store(&s->capacity, (size_t)c.allocations);
	connlimit_set_total(s->connlimit, (size_t)c.streams);
	log_info("capacity: %llu allocations (descriptor limit %llu, %llu open, %d kept spare: "
		 "%llu%s; relay ports %llu); at most %llu TCP and TLS connections (half the "
		 "descriptors left), %d per source address",
	    (unsigned long long)c.allocations, (unsigned long long)c.nofile,
	    (unsigned long long)c.fds_open, CAPACITY_FD_SPARE, (unsigned long long)c.by_fds,
	    c.shared ? ", not a bound: UDP relays share sockets" : "", (unsigned long long)c.ports,
	    (unsigned long long)c.streams, s->cfg->max_connections_per_ip);
}

static void
server_log_startup(struct server *s, rlim_t nofile)
{
	const struct config *cfg = s->cfg;

	if (!cfg->no_udp)
		server_log_transport(s, "UDP", cfg->listening_port);
	if (!cfg->no_tcp)
		server_log_transport(s, "TCP", cfg->listening_port);
	if (cfg->tls)
		server_log_transport(s, "TLS", cfg->tls_listening_port);
	if (cfg->dtls)
		server_log_transport(s, "DTLS", cfg->tls_listening_port);
	if (cfg->tls && cfg->rfc5780)
		server_log_transport(s, "TLS (alt-tls-listening-port)",
		    cfg->alt_tls_listening_port);
	if (cfg->dtls && cfg->rfc5780)
		server_log_transport(s, "DTLS (alt-tls-listening-port)",
		    cfg->alt_tls_listening_port);
	if (cfg->tcp_proxy_port != 0)
		server_log_transport(s, "TCP with PROXY protocol", cfg->tcp_proxy_port);
	if (cfg->proxy_protocol != NULL || cfg->tcp_proxy_port != 0)
		log_info("PROXY protocol header required on %s%s; taken from %zu "
			 "proxy-protocol-from ranges",
		    cfg->proxy_protocol != NULL ? cfg->proxy_protocol : "",
		    cfg->tcp_proxy_port != 0
			? (cfg->proxy_protocol != NULL ? ",tcp-proxy-port" : "tcp-proxy-port")
			: "",
		    cfg->proxy_protocol_from.n);
	if (cfg->tls)
		log_info("TCP listeners serve TLS and plain STUN/TURN alike (the first byte "
			 "decides); ALPN stun.turn, stun.nat-discovery");
	log_info("%zu worker threads; SOFTWARE attribute %s", s->nworkers,
	    s->gen->binding.software != NULL ? "on" : "off");
	if (cfg->prometheus)
		log_info("metrics on http://%s%s%s:%d/metrics, /healthz, /readyz",
		    strchr(cfg->prometheus_address, ':') != NULL ? "[" : "",
		    cfg->prometheus_address,
		    strchr(cfg->prometheus_address, ':') != NULL ? "]" : "", cfg->prometheus_port);
	server_log_auth(s);
	server_log_relays(s);
	server_log_policy(s);
	server_log_capacity(s, nofile);
}

int
server_create(const struct config *cfg, struct server **sp, char **cause)
{
	struct server *s;
	rlim_t nofile;

	*sp = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return cause_fail(cause, "out of memory");
	s->cfg = cfg;
	atomic_init(&s->allocations, 0);
	atomic_init(&s->capacity, 0);
	atomic_init(&s->draining, false);
	if (privdrop_resolve(cfg->proc_user, cfg->proc_group, &s->priv, cause) != 0) {
		free(s);
		return -1;
	}
	nofile = server_raise_nofile();
	if (server_init_base(s, cause) != 0)
		goto fail;
	if (server_init_turn(s, cause) != 0 || server_init_fastpath(s, cause) != 0 ||
	    server_init_sklookup(s, cause) != 0 || server_init_udp(s, cause) != 0 ||
	    server_init_gen(s, cause) != 0 || server_init_workers(s, cause) != 0 ||
	    server_init_listeners(s, cause) != 0 || server_write_pidfile(s, cause) != 0 ||
	    server_init_control(s, cause) != 0 ||
	    fleetops_start(s->fleet, s->base, s->workers, s->nworkers, s->cfg->realm, cause) != 0 ||
	    server_init_httpd(s, cause) != 0 || server_init_admin(s, cause) != 0 ||
	    server_drop_privileges(s, cause) != 0 || server_init_watchdog(s, cause) != 0 ||
	    server_start_workers(s, cause) != 0)
		goto fail;
	server_log_startup(s, nofile);
	*sp = s;
	return 0;
fail:
	server_free(s);
	return -1;
}

int
server_run(struct server *s)
{
	char status[128];

	log_info("turnpiked ready");
	snprintf(status, sizeof status, "serving with %zu workers on port %d", s->nworkers,
	    s->cfg->listening_port);
	sdnotify_ready(status);
	return event_base_dispatch(s->base) == -1 ? -1 : 0;
}

/* TURN totals over the workers, once they have stopped. */
static void
server_log_turn_stats(const struct server *s)
{
	struct turn_stats ts, t = {0};
	struct relay_stats rs, r = {0};
	struct worker_stats ws;
	uint64_t unauth = 0;
	size_t i;

	for (i = 0; i < s->nworkers; i++) {
		worker_stats(s->workers[i], &ws);
		unauth += ws.unauth_dropped;
		worker_turn_stats(s->workers[i], &ts, &rs);
		r.bps_dropped_packets += rs.bps_dropped_packets;
		r.bps_dropped_bytes += rs.bps_dropped_bytes;
		t.allocations_created += ts.allocations_created;
		t.auth_failures += ts.auth_failures;
		t.peer_refused += ts.peer_refused;
		t.client_to_peer_packets += ts.client_to_peer_packets;
		t.peer_to_client_packets += ts.peer_to_client_packets;
		r.open_failures += rs.open_failures;
		r.send_errors += rs.send_errors;
		r.peer_dropped += rs.peer_dropped;
		r.client_dropped += rs.client_dropped;
	}
	log_info("TURN: %llu allocations, %llu refused for lack of a relay or quota, %llu "
		 "authentication failures, %llu peers refused; relayed %llu packets to peers "
		 "(%llu send errors), %llu to clients (%llu dropped, %llu too large)",
	    (unsigned long long)t.allocations_created, (unsigned long long)r.open_failures,
	    (unsigned long long)t.auth_failures, (unsigned long long)t.peer_refused,
	    (unsigned long long)t.client_to_peer_packets, (unsigned long long)r.send_errors,
	    (unsigned long long)t.peer_to_client_packets, (unsigned long long)r.client_dropped,
	    (unsigned long long)r.peer_dropped);
	log_info("limits: %llu packets dropped over bandwidth limits (%llu bytes), %llu 401 "
		 "answers not sent over unauth-rate-limit",
	    (unsigned long long)r.bps_dropped_packets, (unsigned long long)r.bps_dropped_bytes,
	    (unsigned long long)unauth);
}

/* A line per worker and one of totals, once they have stopped. */
static void
server_log_stats(const struct server *s)
{
	struct worker_stats st, sum;
	size_t i;

	memset(&sum, 0, sizeof sum);
	for (i = 0; i < s->nworkers; i++) {
		worker_stats(s->workers[i], &st);
		log_info("worker %zu: UDP %llu in, %llu out; TCP/TLS %llu connections", i,
		    (unsigned long long)st.udp_in, (unsigned long long)st.udp_out,
		    (unsigned long long)st.conns);
		sum.udp_in += st.udp_in;
		sum.udp_out += st.udp_out;
		sum.udp_dropped += st.udp_dropped;
		sum.conns += st.conns;
		sum.conns_dropped += st.conns_dropped;
	}
	log_info("served UDP %llu in, %llu out, %llu dropped; TCP/TLS %llu "
		 "connections, %llu closed for errors",
	    (unsigned long long)sum.udp_in, (unsigned long long)sum.udp_out,
	    (unsigned long long)sum.udp_dropped, (unsigned long long)sum.conns,
	    (unsigned long long)sum.conns_dropped);
	server_log_turn_stats(s);
}

/* Asks every worker to stop first, so they wind down in parallel. */
static void
server_stop_workers(struct server *s)
{
	size_t i;

	for (i = 0; i < s->nworkers; i++)
		worker_stop(s->workers[i]);
	for (i = 0; i < s->nworkers; i++)
		worker_join(s->workers[i]);
	if (s->started)
		server_log_stats(s);
	for (i = 0; i < s->nworkers; i++)
		worker_free(s->workers[i]);
	free(s->workers);
}

void
server_free(struct server *s)
{
	struct gen *g;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nlisteners; i++)
		listener_free(s->listeners[i]);
	free(s->listeners);
	server_stop_workers(s);
	fleetops_free(s->fleet); /* after the workers: they ask it; before the limits it reads */
	s->fleet = NULL;
	statsdb_free(s->statsdb); /* after the workers, which report to it */
	s->statsdb = NULL;
	control_free(s->control);       /* after the workers: they may still answer it */
	httpd_free(s->httpd);           /* likewise */
	controlcmd_free(s->admin_cmds); /* likewise; the console's pending calls are answered */
	admin_free(s->admin);           /* then the console closes */
	tls_ctx_free(s->admin_tls);
	for (i = 0; i < sizeof s->signals / sizeof s->signals[0]; i++) {
		if (s->signals[i] != NULL)
			event_free(s->signals[i]);
	}
	if (s->watchdog != NULL)
		event_free(s->watchdog);
	if (s->tick != NULL)
		event_free(s->tick);
	if (s->base != NULL)
		event_base_free(s->base);
	if (s->pidfile_written && unlink(s->cfg->pidfile) != 0 && errno != ENOENT)
		log_warn("cannot remove pidfile %s", s->cfg->pidfile);
	userdb_free(s->userdb); /* first: its hook reads the limits and a generation's policy */
	s->userdb = NULL;
	limits_free(s->limits);
	realmstats_free(s->realmstats);
	connlimit_free(s->connlimit);
	authguard_free(s->authguard);
	while ((g = s->gens) != NULL) {
		s->gens = g->next;
		gen_free(g); /* the workers are gone */
	}
	free(s->drain_sw);
	free(s->worker_hung);
	fastpath_free(s->fastpath); /* detaches: the workers are gone */
	sklookup_free(s->sklookup);
	portpool_free(s->pool);
	relayaddr_free(s->relays);
	free(s->udp);
	free(s);
}
