/*
 * The process context: main event base (listeners, signals), TLS context,
 * what the TURN cores share (settings, credentials, peer policy, relay
 * addresses and the port pool), workers. Built from an immutable
 * configuration; torn down in reverse.
 */
#include "config.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "turnpike/addr.h"
#include "turnpike/binding.h"
#include "turnpike/config.h"
#include "turnpike/control.h"
#include "turnpike/creds.h"
#include "turnpike/listener.h"
#include "turnpike/log.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/portpool.h"
#include "turnpike/privdrop.h"
#include "turnpike/random.h"
#include "turnpike/relay.h"
#include "turnpike/relayaddr.h"
#include "turnpike/sdnotify.h"
#include "turnpike/server.h"
#include "turnpike/tls.h"
#include "turnpike/turn.h"
#include "turnpike/userdb.h"
#include "turnpike/worker.h"

#define SERVER_THREADS_MAX 128
/* RFC 8656 §6.2: the lifetime of an allocation when the client asks for none. */
#define SERVER_DEFAULT_LIFETIME 600
/* stale-nonce=0 (coturn: unlimited) becomes the longest value accepted. */
#define SERVER_STALE_NONCE_MAX 604800
/* Permissions per allocation (each one a peer address; ICE needs a few dozen). */
#define SERVER_MAX_PERMISSIONS 1024
/* Descriptors kept for listeners, logs and connections when estimating capacity. */
#define SERVER_FD_SPARE 64

struct server {
	const struct config *cfg;
	struct event_base *base;
	struct event *signals[3];
	SSL_CTX *ssl_ctx;
	struct binding_config binding;
	struct turn_config turn;
	struct creds_static *cstatic;
	struct creds copts; /* users and secrets from options */
	struct userdb *userdb;
	struct creds creds;
	struct peerpolicy *policy;
	struct relayaddr *relays;
	struct portpool *pool;
	atomic_size_t allocations;
	struct worker_setup setup;
	struct sockaddr_storage *udp; /* listening addresses with the UDP port */
	struct worker **workers;
	size_t nworkers;
	size_t next_worker;
	struct listener **listeners;
	size_t nlisteners;
	bool pidfile_written;
	struct control_source csrc;
	struct control *control;
	bool started;           /* every worker thread is running */
	struct privdrop priv;   /* proc-user, proc-group */
	struct event *watchdog; /* WATCHDOG=1 for systemd, when it asks */
};

static int __attribute__((format(printf, 2, 3))) server_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
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
		sdnotify_ready("serving; SIGHUP handled");
		return;
	}
	sdnotify_stopping();
	log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(s->base);
}

static int
server_init_base(struct server *s, char **cause)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	size_t i;

	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error return */
	if ((s->base = event_base_new()) == NULL)
		return server_fail(cause, "cannot create the main event loop");
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		s->signals[i] = evsignal_new(s->base, sigs[i], server_signal, s);
		if (s->signals[i] == NULL || event_add(s->signals[i], NULL) != 0)
			return server_fail(cause, "cannot watch signal %d", sigs[i]);
	}
	return 0;
}

static void
server_with_port(struct sockaddr_storage *out, const struct sockaddr_storage *ip, int port)
{
	*out = *ip;
	addr_set_port((struct sockaddr *)out, (uint16_t)port);
}

/* UDP addresses; a probe bind without SO_REUSEPORT catches a port in use. */
static int
server_init_udp(struct server *s, char **cause)
{
	const struct config_addrs *ips = &s->cfg->listening_ip;
	size_t i;
	int fd;

	if (s->cfg->no_udp)
		return 0;
	if ((s->udp = calloc(ips->n, sizeof *s->udp)) == NULL)
		return server_fail(cause, "out of memory");
	for (i = 0; i < ips->n; i++) {
		server_with_port(&s->udp[i], &ips->v[i], s->cfg->listening_port);
		fd = listener_socket((const struct sockaddr *)&s->udp[i], SOCK_DGRAM, false, "UDP",
		    cause);
		if (fd == -1)
			return -1;
		close(fd);
	}
	s->setup.udp = s->udp;
	s->setup.nudp = ips->n;
	return 0;
}

/* Users and REST secrets; passwords become keys here and are not kept. */
static int
server_init_creds(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;
	size_t i;

	if ((s->cstatic = creds_static_create(cfg->realm)) == NULL)
		return server_fail(cause, "out of memory");
	for (i = 0; cfg->auth && i < cfg->users.n; i++) {
		if (creds_static_add_user(s->cstatic, cfg->users.v[i], cause) != 0)
			return -1;
	}
	for (i = 0; cfg->auth && i < cfg->static_auth_secrets.n; i++) {
		if (creds_static_add_secret(s->cstatic, cfg->static_auth_secrets.v[i], cause) != 0)
			return -1;
	}
	creds_static_set_rest(s->cstatic, cfg->use_auth_secret, cfg->rest_api_separator[0]);
	creds_static_iface(s->cstatic, &s->copts);
	s->creds = s->copts;
	if (!cfg->auth || cfg->userdb == NULL)
		return 0;
	if (userdb_create(cfg->userdb, &s->copts, cfg->use_auth_secret, cfg->rest_api_separator[0],
		&s->userdb, cause) != 0)
		return -1;
	userdb_iface(s->userdb, &s->creds);
	return 0;
}

static bool
server_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

	if (sa->sa_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

/*
 * One of the server's own addresses, refused as a peer outside the relay
 * ports. With allow-loopback-peers the loopback ones stay open: a peer on
 * 127.0.0.1 is the point of that option (coturn's behaviour).
 */
static void
server_policy_add_own(struct server *s, const struct sockaddr *sa)
{
	if (s->cfg->allow_loopback_peers && server_is_loopback(sa))
		return;
	peerpolicy_add_own(s->policy, sa);
}

/* Every address of this host (a wildcard listener may be reached on any). */
static int
server_policy_interfaces(struct server *s, char **cause)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) != 0)
		return server_fail(cause, "cannot list interface addresses: %s", strerror(errno));
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr != NULL &&
		    (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
			server_policy_add_own(s, i->ifa_addr);
	}
	freeifaddrs(ifa);
	return 0;
}

/* The server's own addresses: listening, relay, external, and interfaces for wildcards. */
static int
server_policy_own(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;
	bool wildcard = false;
	size_t i;

	for (i = 0; i < cfg->listening_ip.n; i++) {
		if (addr_is_any((const struct sockaddr *)&cfg->listening_ip.v[i]))
			wildcard = true;
		else
			server_policy_add_own(s, (const struct sockaddr *)&cfg->listening_ip.v[i]);
	}
	for (i = 0; i < s->relays->n; i++) {
		server_policy_add_own(s, (const struct sockaddr *)&s->relays->v[i].local);
		server_policy_add_own(s, (const struct sockaddr *)&s->relays->v[i].advertised);
	}
	for (i = 0; i < cfg->external_ip.n; i++) {
		server_policy_add_own(s, (const struct sockaddr *)&cfg->external_ip.v[i].public_ip);
		if (cfg->external_ip.v[i].has_private) {
			peerpolicy_add_own(s->policy,
			    (const struct sockaddr *)&cfg->external_ip.v[i].private_ip);
		}
	}
	return wildcard ? server_policy_interfaces(s, cause) : 0;
}

static int
server_init_policy(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;
	size_t i;

	if ((s->policy = peerpolicy_create()) == NULL)
		return server_fail(cause, "out of memory");
	for (i = 0; i < cfg->allowed_peer_ip.n; i++) {
		if (peerpolicy_allow(s->policy, cfg->allowed_peer_ip.v[i], cause) != 0)
			return -1;
	}
	for (i = 0; i < cfg->denied_peer_ip.n; i++) {
		if (peerpolicy_deny(s->policy, cfg->denied_peer_ip.v[i], cause) != 0)
			return -1;
	}
	peerpolicy_set_allow_loopback(s->policy, cfg->allow_loopback_peers);
	peerpolicy_set_relay_ports(s->policy, (uint16_t)cfg->min_port, (uint16_t)cfg->max_port);
	return server_policy_own(s, cause);
}

/* stateless-nonce-secret through SHA-256, or a random key for this process. */
static int
server_nonce_key(struct server *s, char **cause)
{
	const char *secret = s->cfg->stateless_nonce_secret;
	unsigned int n = 0;

	if (secret == NULL) {
		if (random_bytes(s->turn.nonce_key, sizeof s->turn.nonce_key) != 0)
			return server_fail(cause, "cannot draw a nonce key: %s", strerror(errno));
		return 0;
	}
	if (EVP_Digest(secret, strlen(secret), s->turn.nonce_key, &n, EVP_sha256(), NULL) != 1 ||
	    n != sizeof s->turn.nonce_key)
		return server_fail(cause, "stateless-nonce-secret: SHA-256 failed");
	return 0;
}

/* What every worker's TURN core shares. */
static int
server_init_turn(struct server *s, char **cause)
{
	const struct config *cfg = s->cfg;
	struct turn_config *t = &s->turn;

	if (server_init_creds(s, cause) != 0 || server_nonce_key(s, cause) != 0)
		return -1;
	if (relayaddr_create(cfg, &s->relays, cause) != 0 || server_init_policy(s, cause) != 0)
		return -1;
	s->pool = portpool_create((uint16_t)cfg->min_port, (uint16_t)cfg->max_port, s->relays->n);
	if (s->pool == NULL)
		return server_fail(cause, "out of memory");
	t->realm = cfg->realm;
	t->software = s->binding.software;
	t->auth = cfg->auth;
	t->max_lifetime = (uint32_t)cfg->max_allocate_lifetime;
	t->default_lifetime =
	    t->max_lifetime < SERVER_DEFAULT_LIFETIME ? t->max_lifetime : SERVER_DEFAULT_LIFETIME;
	t->permission_lifetime = (uint32_t)cfg->permission_lifetime;
	t->channel_lifetime = (uint32_t)cfg->channel_lifetime;
	t->stale_nonce =
	    cfg->stale_nonce == 0 ? SERVER_STALE_NONCE_MAX : (uint32_t)cfg->stale_nonce;
	t->max_permissions = SERVER_MAX_PERMISSIONS;
	t->max_channels = 0; /* the channel number space bounds them: 4096 */
	t->policy = s->policy;
	/* RFC 8489 §9.2: offer SHA-256 in the nonce cookie; RFC 5389 clients keep MD5. */
	t->sha256 = true;
	t->user_quota = (uint32_t)cfg->user_quota;
	t->total_quota = 0; /* process-wide, counted by relay.c */
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

	s->setup.binding = &s->binding;
	s->setup.turn = &s->turn;
	s->setup.creds = &s->creds;
	s->setup.pool = s->pool;
	s->setup.relays = s->relays;
	s->setup.allocations = &s->allocations;
	s->setup.total_quota = (size_t)s->cfg->total_quota;
	s->setup.ssl_ctx = s->ssl_ctx;
	s->setup.verbose = s->cfg->verbose || s->cfg->debug;
	if ((s->workers = calloc(n, sizeof *s->workers)) == NULL)
		return server_fail(cause, "out of memory");
	for (i = 0; i < n; i++) {
		if (worker_create((int)i, &s->setup, &s->workers[i], cause) != 0)
			return -1;
		s->nworkers++;
	}
	return 0;
}

/* Main thread: hands an accepted socket to the next worker, round robin. */
static void
server_accept(int fd, const struct sockaddr *peer, bool tls, void *arg)
{
	struct server *s = arg;
	struct worker *w = s->workers[s->next_worker++ % s->nworkers];

	if (worker_pass(w, fd, peer, tls) != 0) {
		log_warnx("cannot hand a connection to a worker: out of memory");
		close(fd);
	}
}

static int
server_listen(struct server *s, int port, bool tls, char **cause)
{
	const struct config_addrs *ips = &s->cfg->listening_ip;
	struct sockaddr_storage ss;
	size_t i;

	for (i = 0; i < ips->n; i++) {
		server_with_port(&ss, &ips->v[i], port);
		if (listener_create(s->base, (const struct sockaddr *)&ss, tls, server_accept, s,
			&s->listeners[s->nlisteners], cause) != 0)
			return -1;
		s->nlisteners++;
	}
	return 0;
}

static int
server_init_listeners(struct server *s, char **cause)
{
	s->listeners = calloc(2 * s->cfg->listening_ip.n, sizeof *s->listeners);
	if (s->listeners == NULL)
		return server_fail(cause, "out of memory");
	if (!s->cfg->no_tcp && server_listen(s, s->cfg->listening_port, false, cause) != 0)
		return -1;
	if (s->cfg->tls && server_listen(s, s->cfg->tls_listening_port, true, cause) != 0)
		return -1;
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
		return server_fail(cause, "cannot write pidfile %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0) {
		unlink(path);
		return server_fail(cause, "cannot write pidfile %s: %s", path, strerror(errno));
	}
	s->pidfile_written = true;
	return 0;
}

static int
server_init_control(struct server *s, char **cause)
{
	struct timespec ts;

	if (s->cfg->control_socket == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->csrc.start_mono_s = (uint64_t)ts.tv_sec;
	s->csrc.workers = s->nworkers;
	s->csrc.listeners = s->nlisteners;
	s->csrc.udp = s->udp != NULL ? s->cfg->listening_ip.n : 0;
	s->csrc.allocations = &s->allocations;
	s->csrc.worker = s->workers;
	s->csrc.realm = s->cfg->realm != NULL ? s->cfg->realm : "-";
	return control_create(s->base, s->cfg->control_socket, &s->csrc, &s->control, cause);
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
	for (i = 0; cfg->userdb != NULL && i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(path, sizeof path, "%s%s", cfg->userdb, suffixes[i]);
		if (privdrop_chown(&s->priv, path, cause) != 0)
			return -1;
	}
	if (privdrop_chown(&s->priv, cfg->control_socket, cause) != 0 ||
	    privdrop_apply(&s->priv, cause) != 0)
		return -1;
	log_info("running as user %lu, group %lu%s%s", (unsigned long)getuid(),
	    (unsigned long)getgid(), s->priv.has_user ? ", " : "", s->priv.user);
	return 0;
}

/* WATCHDOG=1 at half the interval systemd set in WATCHDOG_USEC. */
static void
server_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sdnotify_watchdog();
}

static int
server_init_watchdog(struct server *s, char **cause)
{
	uint64_t usec = sdnotify_watchdog_usec() / 2;
	struct timeval tv;

	if (usec == 0)
		return 0;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	s->watchdog = event_new(s->base, -1, EV_PERSIST, server_watchdog, s);
	if (s->watchdog == NULL || event_add(s->watchdog, &tv) != 0)
		return server_fail(cause, "cannot start the systemd watchdog timer");
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
	const struct config *cfg = s->cfg;

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
	if (cfg->users.n == 0 && cfg->static_auth_secrets.n == 0) {
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
	const struct config *cfg = s->cfg;

	log_info("peers: private, loopback, link-local, multicast, reserved and own "
		 "addresses refused%s; %zu allowed-peer-ip, %zu denied-peer-ip ranges",
	    cfg->allow_loopback_peers ? " (loopback allowed)" : "", cfg->allowed_peer_ip.n,
	    cfg->denied_peer_ip.n);
	log_info("lifetimes: allocation %u s (at most %u), permission %u s, channel %u s, nonce "
		 "%u s; quotas: %d per user (per worker thread), %d in total (0: none)",
	    s->turn.default_lifetime, s->turn.max_lifetime, s->turn.permission_lifetime,
	    s->turn.channel_lifetime, s->turn.stale_nonce, cfg->user_quota, cfg->total_quota);
}

/* Each relay holds a descriptor: the limit bounds the allocations, as do the ports. */
static void
server_log_capacity(const struct server *s, rlim_t nofile)
{
	unsigned long long fds = nofile > SERVER_FD_SPARE ? nofile - SERVER_FD_SPARE : 0;
	unsigned long long ports =
	    (unsigned long long)(s->cfg->max_port - s->cfg->min_port + 1) * s->relays->n;

	log_info("descriptor limit %llu: about %llu UDP allocations (%llu relay ports; a TCP or "
		 "TLS client needs one more descriptor)",
	    (unsigned long long)nofile, fds < ports ? fds : ports, ports);
}

static void
server_log_startup(const struct server *s, rlim_t nofile)
{
	const struct config *cfg = s->cfg;

	if (!cfg->no_udp)
		server_log_transport(s, "UDP", cfg->listening_port);
	if (!cfg->no_tcp)
		server_log_transport(s, "TCP", cfg->listening_port);
	if (cfg->tls)
		server_log_transport(s, "TLS", cfg->tls_listening_port);
	log_info("%zu worker threads; SOFTWARE attribute %s", s->nworkers,
	    s->binding.software != NULL ? "on" : "off");
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
		return server_fail(cause, "out of memory");
	s->cfg = cfg;
	atomic_init(&s->allocations, 0);
	if (privdrop_resolve(cfg->proc_user, cfg->proc_group, &s->priv, cause) != 0) {
		free(s);
		return -1;
	}
	if (cfg->software_attribute)
		s->binding.software = PACKAGE_NAME " " PACKAGE_VERSION;
	nofile = server_raise_nofile();
	if (server_init_base(s, cause) != 0)
		goto fail;
	if (cfg->tls &&
	    tls_ctx_create(cfg->cert, cfg->pkey, cfg->cipher_list, &s->ssl_ctx, cause) != 0)
		goto fail;
	if (server_init_turn(s, cause) != 0 || server_init_udp(s, cause) != 0 ||
	    server_init_workers(s, cause) != 0 || server_init_listeners(s, cause) != 0 ||
	    server_write_pidfile(s, cause) != 0 || server_init_control(s, cause) != 0 ||
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
	size_t i;

	for (i = 0; i < s->nworkers; i++) {
		worker_turn_stats(s->workers[i], &ts, &rs);
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
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nlisteners; i++)
		listener_free(s->listeners[i]);
	free(s->listeners);
	server_stop_workers(s);
	control_free(s->control); /* after the workers: they may still answer it */
	tls_ctx_free(s->ssl_ctx);
	for (i = 0; i < sizeof s->signals / sizeof s->signals[0]; i++) {
		if (s->signals[i] != NULL)
			event_free(s->signals[i]);
	}
	if (s->watchdog != NULL)
		event_free(s->watchdog);
	if (s->base != NULL)
		event_base_free(s->base);
	if (s->pidfile_written && unlink(s->cfg->pidfile) != 0 && errno != ENOENT)
		log_warn("cannot remove pidfile %s", s->cfg->pidfile);
	portpool_free(s->pool);
	relayaddr_free(s->relays);
	peerpolicy_free(s->policy);
	userdb_free(s->userdb);
	creds_static_free(s->cstatic);
	explicit_bzero(s->turn.nonce_key, sizeof s->turn.nonce_key);
	free(s->udp);
	free(s);
}
