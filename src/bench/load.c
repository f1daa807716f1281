/* turnpike-bench load: many allocations and data through an echo peer. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/addr.h"
#include "turnpike/chandata.h"
#include "turnpike/load.h"
#include "turnpike/loadpeer.h"
#include "turnpike/loadstats.h"
#include "turnpike/netio.h"
#include "turnpike/random.h"
#include "turnpike/tlsclient.h"
#include "turnpike/turnclient.h"
#include "turnpike/turnconn.h"

#define LOAD_EXIT_FAIL 1
#define LOAD_EXIT_USAGE 2
#define LOAD_MAX_ALLOCS 100000UL
#define LOAD_MAX_PROCS 64UL
#define LOAD_MAX_RATE 10000000UL
#define LOAD_MIN_PAYLOAD 16UL
#define LOAD_MAX_PAYLOAD 8192UL
#define LOAD_MAX_TUPLES 4 /* client addresses tried after 437s, per allocation */
#define LOAD_CHANNEL 0x4000
/* RFC 8489 §6.2.1: Rc transmissions, the last one waited for Rm times the RTO. */
#define LOAD_RC 7
#define LOAD_RM 16
/* RFC 8489 §6.2.2: Ti for requests over TCP and TLS. */
#define LOAD_STREAM_TIMEOUT_MS 39500
#define LOAD_CONNECT_MS 10000
#define LOAD_SEND_MS 1000
#define LOAD_MAX_CHALLENGES 4
#define LOAD_SCAN_MS 5
#define LOAD_EVENTS 256
#define LOAD_BURST 1024
/* A ramp step must send at least this share of its rate to count. */
#define LOAD_OFFER_MIN 0.95
#define LOAD_MAX_STEPS 64
#define LOAD_REST_TTL 86400
#define LOAD_DEALLOC_MS 10000
/* Permissions last 300 s (RFC 8656 §9): refreshed every 120 s by default. */
#define LOAD_REFRESH_S 120
#define LOAD_REFRESH_MAX_S 240
/* Descriptors kept aside for the echo peer, epoll, stdio and pipes. */
#define LOAD_FD_SPARE 64
#define LOAD_ERR_MAX 256
#define LOAD_PEER_TAG UINT32_MAX

enum load_state {
	LOAD_NEW = 0,
	LOAD_ALLOC,      /* Allocate in flight */
	LOAD_ALLOCATED,  /* resting: allocation made */
	LOAD_PERM,       /* CreatePermission in flight */
	LOAD_BIND,       /* ChannelBind in flight */
	LOAD_READY,      /* resting: data can flow */
	LOAD_KEEP_PERM,  /* CreatePermission again (permissions last 300 s) */
	LOAD_KEEP_BIND,  /* ChannelBind again: channel and permission */
	LOAD_KEEP_ALLOC, /* Refresh of the allocation */
	LOAD_DEALLOC,    /* Refresh with LIFETIME 0 in flight */
	LOAD_DONE,       /* resting: deallocated */
	LOAD_FAILED,     /* resting */
};

struct load_opts {
	struct turnconn_config conn;
	char host[NETIO_HOSTLEN];
	struct turnclient_who who;
	char rest_user[TURNCLIENT_USER_MAX + 1];
	char rest_pass[TURNCLIENT_REST_PASS_LEN];
	unsigned long allocs, in_flight, procs, rate, payload, duration_s, rto_ms, timeout_ms;
	unsigned long drain_ms, ramp_start, ramp_max, refresh_s;
	double ramp_factor;
	double ramp_loss; /* a step counts below this loss (0: only without loss) */
	bool ramp, send_ind, json;
	bool direct;     /* no server: each flow sends straight to the echo peer */
	long server_pid; /* 0: none */
	struct sockaddr_storage peer_ip;
	const char *peer_netns; /* the echo peer's network namespace (NULL: ours) */
};

struct load_alloc {
	int fd;                /* UDP socket, or the stream's */
	struct turnconn *conn; /* TCP and TLS */
	enum load_state state;
	bool busy;
	uint8_t sends;
	uint8_t challenges;
	uint8_t tuples; /* new client addresses taken after a 437 */
	uint32_t drops; /* UDP: what the socket's full receive buffer dropped so far */
	uint8_t tid[STUN_TID_LEN];
	uint64_t t0_us;   /* first Allocate sent */
	uint64_t next_ms; /* retransmission or timeout */
	uint64_t rto_ms;
	uint32_t seq;
	struct turnclient_auth auth;
	size_t reqlen;
	uint8_t req[1024];
};

/* What one process measured; sent as bytes from a child to the parent. */
struct load_result {
	uint64_t allocs_ok, allocs_failed, alloc_us;
	uint64_t allocs_retx437;   /* of allocs_ok: 437 to a retransmission, the first one's kept */
	uint64_t allocs_new_tuple; /* 437 to a first Allocate: tried again from a new address */
	uint64_t setup_ok, setup_failed;
	uint64_t client_tx, client_rx, peer_rx, peer_tx, send_errors, late, data_us;
	/* dropped at this generator's own full receive buffers: clients', the echo peer's */
	uint64_t client_drops, peer_drops;
	uint64_t dealloc_ok, dealloc_failed;
	uint64_t keep_ok, keep_failed;
	uint64_t ramp_best, ramp_steps;
	uint64_t ramp_rate[LOAD_MAX_STEPS];
	uint64_t ramp_sent[LOAD_MAX_STEPS];  /* packets per second actually sent */
	uint64_t ramp_drops[LOAD_MAX_STEPS]; /* dropped at this generator's full sockets */
	double ramp_loss[LOAD_MAX_STEPS];
	/*
	 * The ramp stopped because this generator was the limit: it sent under
	 * LOAD_OFFER_MIN of the rate, or every datagram lost in the step was
	 * dropped by its own full receive buffers (its clients', its echo peer's).
	 */
	bool ramp_short;
	struct loadstats_hist alloc_lat, rtt;
	char error[LOAD_ERR_MAX];
};

/* The server figures, taken by the process that coordinates. */
struct load_server {
	bool have;
	uint64_t rss_before, rss_after, cpu_start, cpu_end;
	char error[LOAD_ERR_MAX];
	/* The whole machine (/proc/stat) at the edges of the data phase. */
	bool have_busy;
	struct loadstats_machine mstart, mend;
	uint64_t wall_start, wall_end;
};

struct load_engine {
	const struct load_opts *o;
	struct load_alloc *allocs;
	size_t n;
	int ep;
	struct loadpeer peer;
	struct load_result *res;
	size_t active;
	uint32_t step;
	size_t *ready; /* indexes of the allocations ready for data */
	size_t nready;
	uint64_t keep_next; /* when to refresh permissions and allocations (ms) */
	uint8_t buf[STUN_HEADER_LEN + 65536];
};

enum {
	OPT_ALLOCS = 256,
	OPT_IN_FLIGHT,
	OPT_PROCS,
	OPT_RATE,
	OPT_RAMP,
	OPT_RAMP_START,
	OPT_RAMP_FACTOR,
	OPT_RAMP_MAX,
	OPT_PAYLOAD,
	OPT_DURATION,
	OPT_SEND_IND,
	OPT_PEER,
	OPT_SERVER_PID,
	OPT_RTO,
	OPT_TIMEOUT,
	OPT_DRAIN,
	OPT_REFRESH,
	OPT_JSON,
	OPT_DIRECT,
	OPT_PEER_NETNS,
	OPT_RAMP_LOSS,
};

static const struct option load_longopts[] = {
    TURNCLIENT_WHO_LONGOPTS,
    {"transport", required_argument, NULL, 't'},
    TLSCLIENT_LONGOPTS,
    {"allocations", required_argument, NULL, OPT_ALLOCS},
    {"in-flight", required_argument, NULL, OPT_IN_FLIGHT},
    {"procs", required_argument, NULL, OPT_PROCS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"ramp", no_argument, NULL, OPT_RAMP},
    {"ramp-start", required_argument, NULL, OPT_RAMP_START},
    {"ramp-factor", required_argument, NULL, OPT_RAMP_FACTOR},
    {"ramp-max", required_argument, NULL, OPT_RAMP_MAX},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"send-indications", no_argument, NULL, OPT_SEND_IND},
    {"peer", required_argument, NULL, OPT_PEER},
    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
    {"rto", required_argument, NULL, OPT_RTO},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"refresh", required_argument, NULL, OPT_REFRESH},
    {"json", no_argument, NULL, OPT_JSON},
    {"direct", no_argument, NULL, OPT_DIRECT},
    {"peer-netns", required_argument, NULL, OPT_PEER_NETNS},
    {"ramp-loss", required_argument, NULL, OPT_RAMP_LOSS},
    {NULL, 0, NULL, 0},
};

/*
 * A client's UDP socket connected to dst. Each datagram read from it says how
 * many its full receive buffer dropped so far (SO_RXQ_OVFL): this process's
 * loss, not the server's.
 */
static int
load_udp_socket(const struct sockaddr *dst, char **cause)
{
	int fd = netio_connect(dst, SOCK_DGRAM, 0, cause);

	if (fd != -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &(int){1}, sizeof(int));
	return fd;
}

static uint64_t
load_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int
load_usage(const char *what, const char *arg)
{
	fprintf(stderr, "turnpike-bench load: %s%s%s%s\n", what, arg != NULL ? " '" : "",
	    arg != NULL ? arg : "", arg != NULL ? "'" : "");
	fprintf(stderr, "usage: turnpike-bench load %s\n", LOAD_USAGE);
	return LOAD_EXIT_USAGE;
}

static int
load_opt(struct load_opts *o, int ch, const char *arg)
{
	const char *errstr;
	unsigned long v;
	char *end;

	if (turnclient_who_opt(&o->who, ch, arg) == 0 || tlsclient_opt(&o->conn.tls, ch, arg) == 0)
		return 0;
	switch (ch) {
	case 't':
		return probe_transport_parse(arg, &o->conn.transport);
	case OPT_ALLOCS:
		return netio_parse_number(arg, 1, LOAD_MAX_ALLOCS, &o->allocs);
	case OPT_IN_FLIGHT:
		return netio_parse_number(arg, 1, LOAD_MAX_ALLOCS, &o->in_flight);
	case OPT_PROCS:
		return netio_parse_number(arg, 1, LOAD_MAX_PROCS, &o->procs);
	case OPT_RATE:
		return netio_parse_number(arg, 0, LOAD_MAX_RATE, &o->rate);
	case OPT_RAMP:
		o->ramp = true;
		return 0;
	case OPT_RAMP_START:
		return netio_parse_number(arg, 1, LOAD_MAX_RATE, &o->ramp_start);
	case OPT_RAMP_MAX:
		return netio_parse_number(arg, 1, LOAD_MAX_RATE, &o->ramp_max);
	case OPT_RAMP_FACTOR:
		errno = 0;
		o->ramp_factor = strtod(arg, &end);
		if (errno != 0 || *end != '\0' || end == arg || !(o->ramp_factor > 1.0) ||
		    o->ramp_factor > 10.0)
			return -1;
		return 0;
	case OPT_PAYLOAD:
		return netio_parse_number(arg, LOAD_MIN_PAYLOAD, LOAD_MAX_PAYLOAD, &o->payload);
	case OPT_DURATION:
		return netio_parse_number(arg, 1, 3600, &o->duration_s);
	case OPT_SEND_IND:
		o->send_ind = true;
		return 0;
	case OPT_PEER:
		return addr_parse_ip(arg, &o->peer_ip, &errstr);
	case OPT_SERVER_PID:
		if (netio_parse_number(arg, 1, 4194304, &v) == -1)
			return -1;
		o->server_pid = (long)v;
		return 0;
	case OPT_RTO:
		return netio_parse_number(arg, 10, 60000, &o->rto_ms);
	case OPT_TIMEOUT:
		return netio_parse_number(arg, 100, 3600000, &o->timeout_ms);
	case OPT_DRAIN:
		return netio_parse_number(arg, 0, 60000, &o->drain_ms);
	case OPT_REFRESH:
		return netio_parse_number(arg, 1, LOAD_REFRESH_MAX_S, &o->refresh_s);
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_DIRECT:
		o->direct = true;
		return 0;
	case OPT_PEER_NETNS:
		if (*arg == '\0')
			return -1;
		o->peer_netns = arg;
		return 0;
	case OPT_RAMP_LOSS:
		errno = 0;
		o->ramp_loss = strtod(arg, &end);
		if (errno != 0 || *end != '\0' || end == arg || !(o->ramp_loss >= 0.0) ||
		    o->ramp_loss > 1.0)
			return -1;
		return 0;
	default:
		return -1;
	}
}

static int
load_parse(struct load_opts *o, int argc, char **argv)
{
	const char *bad;
	char *cause = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "t:", load_longopts, NULL)) != -1) {
		if (ch == '?')
			return load_usage("unknown option", NULL);
		if (load_opt(o, ch, optarg) == -1)
			return load_usage("bad value", optarg);
	}
	if ((bad = tlsclient_opt_check(&o->conn.tls)) != NULL ||
	    (!o->direct && (bad = turnclient_who_check(&o->who)) != NULL))
		return load_usage(bad, NULL);
	if (o->procs > o->allocs)
		return load_usage("more --procs than --allocations", NULL);
	if (o->peer_ip.ss_family == AF_INET6)
		return load_usage("the echo peer is IPv4 only", NULL);
	if (o->direct) {
		if (o->conn.transport != PROBE_UDP || o->send_ind)
			return load_usage("--direct is UDP datagrams without TURN: no -t, no "
					  "--send-indications",
			    NULL);
		if (optind != argc)
			return load_usage("--direct takes no HOST (it sends to the --peer)", NULL);
		return 0;
	}
	if (optind != argc - 1)
		return load_usage(optind >= argc ? "missing HOST[:PORT]"
						 : "more than one HOST[:PORT]",
		    NULL);
	if (netio_resolve(argv[optind], o->conn.transport == PROBE_TLS ? 5349 : 3478,
		&o->conn.server, o->host, &cause) == -1) {
		fprintf(stderr, "turnpike-bench load: %s\n",
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return LOAD_EXIT_FAIL;
	}
	o->conn.tls.host = o->host;
	if (o->who.secret != NULL) {
		if (turnclient_rest_credentials(o->who.secret, o->who.user,
			(uint64_t)time(NULL) + LOAD_REST_TTL, o->rest_user, sizeof(o->rest_user),
			o->rest_pass) == -1)
			return load_usage("--user too long for REST credentials", NULL);
		o->who.user = o->rest_user;
		o->who.password = o->rest_pass;
	}
	return 0;
}

static void
load_error(struct load_engine *e, size_t i, const char *what, const char *cause)
{
	if (e->res->error[0] == '\0')
		snprintf(e->res->error, sizeof(e->res->error), "allocation %zu: %s: %s", i, what,
		    cause != NULL ? cause : "out of memory");
}

static uint16_t
load_method(enum load_state s)
{
	switch (s) {
	case LOAD_ALLOC:
		return STUN_ALLOCATE;
	case LOAD_PERM:
		return STUN_CREATE_PERMISSION;
	case LOAD_BIND:
	case LOAD_KEEP_BIND:
		return STUN_CHANNEL_BIND;
	case LOAD_KEEP_PERM:
		return STUN_CREATE_PERMISSION;
	default:
		return STUN_REFRESH;
	}
}

static const char *
load_state_name(enum load_state s)
{
	switch (s) {
	case LOAD_ALLOC:
		return "Allocate";
	case LOAD_PERM:
		return "CreatePermission";
	case LOAD_BIND:
		return "ChannelBind";
	case LOAD_KEEP_PERM:
		return "CreatePermission (refresh)";
	case LOAD_KEEP_BIND:
		return "ChannelBind (refresh)";
	default:
		return "Refresh";
	}
}

/* Leaves a busy state for a resting one. */
static void
load_rest(struct load_engine *e, struct load_alloc *a, enum load_state s)
{
	a->state = s;
	if (a->busy) {
		a->busy = false;
		e->active--;
	}
}

static void
load_fail(struct load_engine *e, struct load_alloc *a, const char *cause)
{
	size_t i = (size_t)(a - e->allocs);

	load_error(e, i, load_state_name(a->state), cause);
	switch (a->state) {
	case LOAD_ALLOC:
		e->res->allocs_failed++;
		break;
	case LOAD_PERM:
	case LOAD_BIND:
		e->res->setup_failed++;
		break;
	case LOAD_KEEP_PERM:
	case LOAD_KEEP_BIND:
	case LOAD_KEEP_ALLOC:
		e->res->keep_failed++;
		break;
	default:
		e->res->dealloc_failed++;
		break;
	}
	load_rest(e, a, LOAD_FAILED);
}

static int
load_write(struct load_engine *e, struct load_alloc *a, const void *p, size_t len)
{
	char *cause = NULL;

	if (a->conn == NULL) {
		if (send(a->fd, p, len, 0) == -1)
			return -1;
		return 0;
	}
	if (turnconn_send(a->conn, p, len, netio_now_ms() + LOAD_SEND_MS, &cause) == -1) {
		free(cause);
		return -1;
	}
	(void)e;
	return 0;
}

/* Sends a new transaction of the method of a's (busy) state. */
static void
load_request(struct load_engine *e, struct load_alloc *a)
{
	struct turnclient_req r;
	struct sockaddr_in peer;

	memset(&r, 0, sizeof(r));
	r.method = load_method(a->state);
	memcpy(&peer, &e->peer.addr, sizeof(peer));
	if (a->state == LOAD_PERM || a->state == LOAD_BIND || a->state == LOAD_KEEP_PERM ||
	    a->state == LOAD_KEEP_BIND)
		r.peer = (const struct sockaddr *)&peer;
	if (a->state == LOAD_BIND || a->state == LOAD_KEEP_BIND)
		r.channel = LOAD_CHANNEL;
	if (a->state == LOAD_ALLOC)
		r.family = AF_INET;
	if (a->state == LOAD_DEALLOC) {
		r.has_lifetime = true;
		r.lifetime = 0;
	}
	if (random_bytes(a->tid, sizeof(a->tid)) == -1) {
		load_fail(e, a, "no randomness for a transaction ID");
		return;
	}
	if (turnclient_build_request(&a->auth, &r, a->tid, a->req, sizeof(a->req), &a->reqlen) ==
	    -1) {
		load_fail(e, a, "cannot build the request");
		return;
	}
	a->sends = 1;
	a->rto_ms = e->o->rto_ms;
	a->next_ms = netio_now_ms() + (a->conn != NULL ? LOAD_STREAM_TIMEOUT_MS : a->rto_ms);
	if (load_write(e, a, a->req, a->reqlen) == -1 && a->conn != NULL)
		load_fail(e, a, "cannot send on the connection");
}

/* Puts a into busy state s and sends its request. */
static void
load_begin(struct load_engine *e, struct load_alloc *a, enum load_state s)
{
	if (!a->busy) {
		a->busy = true;
		e->active++;
	}
	a->state = s;
	a->challenges = 0;
	load_request(e, a);
}

/* Opens a's connection and sends its first Allocate. */
static void
load_start(struct load_engine *e, struct load_alloc *a)
{
	struct epoll_event ev;
	char *cause = NULL;
	size_t i = (size_t)(a - e->allocs);

	a->busy = true;
	e->active++;
	a->state = LOAD_ALLOC;
	if (e->o->conn.transport == PROBE_UDP)
		a->fd = load_udp_socket((const struct sockaddr *)&e->o->conn.server, &cause);
	else if ((a->conn = turnconn_open(&e->o->conn, netio_now_ms() + LOAD_CONNECT_MS, &cause)) !=
	    NULL)
		a->fd = turnconn_fd(a->conn);
	if (a->fd == -1) {
		load_fail(e, a, cause);
		free(cause);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, a->fd, &ev) == -1) {
		load_fail(e, a, strerror(errno));
		return;
	}
	if (turnclient_auth_init(&a->auth, e->o->who.user, e->o->who.password) == -1) {
		load_fail(e, a, "user or password too long");
		return;
	}
	a->t0_us = load_now_us();
	load_begin(e, a, LOAD_ALLOC);
}

static void
load_success(struct load_engine *e, struct load_alloc *a)
{
	switch (a->state) {
	case LOAD_ALLOC:
		e->res->allocs_ok++;
		loadstats_add(&e->res->alloc_lat, load_now_us() - a->t0_us);
		load_rest(e, a, LOAD_ALLOCATED);
		break;
	case LOAD_PERM:
		if (!e->o->send_ind) {
			load_begin(e, a, LOAD_BIND);
			break;
		}
		e->res->setup_ok++;
		load_rest(e, a, LOAD_READY);
		break;
	case LOAD_BIND:
		e->res->setup_ok++;
		load_rest(e, a, LOAD_READY);
		break;
	case LOAD_KEEP_PERM:
	case LOAD_KEEP_BIND:
		load_begin(e, a, LOAD_KEEP_ALLOC);
		break;
	case LOAD_KEEP_ALLOC:
		e->res->keep_ok++;
		load_rest(e, a, LOAD_READY);
		break;
	default:
		e->res->dealloc_ok++;
		load_rest(e, a, LOAD_DONE);
		break;
	}
}

/*
 * 437 to an Allocate sent once over UDP: the server holds an allocation of an
 * earlier run on this 5-tuple (the kernel gave the socket a port used before).
 * As RFC 8656 §7.3 suggests, the same request from a new client address.
 */
static void
load_new_tuple(struct load_engine *e, struct load_alloc *a)
{
	struct epoll_event ev;
	char *cause = NULL;
	int fd;

	fd = load_udp_socket((const struct sockaddr *)&e->o->conn.server, &cause);
	if (fd == -1) {
		load_fail(e, a, cause);
		free(cause);
		return;
	}
	(void)epoll_ctl(e->ep, EPOLL_CTL_DEL, a->fd, NULL);
	close(a->fd);
	a->fd = fd;
	a->drops = 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = (uint32_t)(a - e->allocs);
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		load_fail(e, a, strerror(errno));
		return;
	}
	a->tuples++;
	e->res->allocs_new_tuple++;
	load_request(e, a);
}

static void
load_response(struct load_engine *e, struct load_alloc *a, const uint8_t *p, size_t len)
{
	struct turnclient_resp res;
	char *cause = NULL, what[160];
	int rc;

	rc = turnclient_check_response(&a->auth, a->tid, load_method(a->state), p, len, &res,
	    &cause);
	if (rc == TURNCLIENT_CHECK_OTHER)
		return;
	if (rc == TURNCLIENT_CHECK_BAD) {
		load_fail(e, a, cause);
		free(cause);
		return;
	}
	if (res.cls == STUN_ERROR && (res.code == 401 || res.code == 438)) {
		if (++a->challenges > LOAD_MAX_CHALLENGES ||
		    (rc = turnclient_auth_update(&a->auth, &res, &cause)) != 1) {
			load_fail(e, a, cause != NULL ? cause : "401: credentials refused");
			free(cause);
			return;
		}
		load_request(e, a);
		return;
	}
	/*
	 * 437 to an Allocate sent more than once: an earlier transmission made the
	 * allocation and its answer was lost (a server without a retransmission
	 * cache, RFC 8656 §7.2). The 5-tuple is this socket's alone, so the
	 * allocation is ours; the data phase shows whether it relays.
	 */
	if (res.cls == STUN_ERROR && res.code == 437 && a->state == LOAD_ALLOC && a->sends > 1)
		e->res->allocs_retx437++;
	else if (res.cls == STUN_ERROR && res.code == 437 && a->state == LOAD_ALLOC &&
	    a->conn == NULL && a->tuples < LOAD_MAX_TUPLES) {
		load_new_tuple(e, a);
		return;
	}
	/* A Refresh retransmitted after the allocation went: it is gone, as asked. */
	else if (res.cls == STUN_ERROR && !(a->state == LOAD_DEALLOC && res.code == 437)) {
		snprintf(what, sizeof(what), "%d %s", res.code, res.reason);
		load_fail(e, a, what);
		return;
	}
	load_success(e, a);
}

/* One echoed payload back at the client. */
static void
load_data_in(struct load_engine *e, const uint8_t *d, size_t len)
{
	uint64_t sent_us, now = load_now_us();
	uint32_t step;

	if (len < LOAD_MIN_PAYLOAD)
		return;
	memcpy(&sent_us, d, sizeof(sent_us));
	memcpy(&step, d + 8, sizeof(step));
	if (step != e->step || sent_us > now) {
		e->res->late++;
		return;
	}
	e->res->client_rx++;
	loadstats_add(&e->res->rtt, now - sent_us);
}

static void
load_message(struct load_engine *e, struct load_alloc *a, const uint8_t *p, size_t len)
{
	struct sockaddr_storage from;
	const uint8_t *d;
	const char *errstr;
	size_t dlen, used;
	uint16_t ch;

	if (e->o->direct) {
		load_data_in(e, p, len);
		return;
	}
	if (len > 0 && (p[0] & 0xc0) == 0x40) {
		if (chandata_decode(p, len, a->conn != NULL, &ch, &d, &dlen, &used, &errstr) == 0)
			load_data_in(e, d, dlen);
		return;
	}
	if (turnclient_parse_data(p, len, &from, &d, &dlen) == 0) {
		load_data_in(e, d, dlen);
		return;
	}
	if (a->busy)
		load_response(e, a, p, len);
}

/* A UDP client's datagrams, with the socket's drop count. */
static void
load_readable_udp(struct load_engine *e, struct load_alloc *a)
{
	uint8_t ctl[CMSG_SPACE(sizeof(uint32_t))];
	struct iovec iov = {.iov_base = e->buf, .iov_len = sizeof(e->buf)};
	struct msghdr mh;
	struct cmsghdr *cm;
	uint32_t dropped;
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		if ((n = recvmsg(a->fd, &mh, 0)) < 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(dropped))) {
				memcpy(&dropped, CMSG_DATA(cm), sizeof(dropped));
				if (dropped > a->drops) {
					e->res->client_drops += dropped - a->drops;
					a->drops = dropped;
				}
			}
		load_message(e, a, e->buf, (size_t)n);
	}
}

static void
load_readable(struct load_engine *e, struct load_alloc *a)
{
	const uint8_t *p;
	char *cause = NULL;
	size_t len;
	int i, rc;

	if (a->conn == NULL) {
		load_readable_udp(e, a);
		return;
	}
	/* Everything buffered, as epoll does not see what TLS holds. */
	for (i = 0; i < 1000000; i++) {
		if ((rc = turnconn_recv(a->conn, 0, &p, &len, &cause)) == 1) {
			load_message(e, a, p, len);
			continue;
		}
		if (rc == -1) {
			(void)epoll_ctl(e->ep, EPOLL_CTL_DEL, a->fd, NULL);
			if (a->busy)
				load_fail(e, a, cause);
			else if (a->state != LOAD_DONE) {
				load_error(e, (size_t)(a - e->allocs), "connection", cause);
				a->state = LOAD_FAILED;
			}
			free(cause);
		}
		break;
	}
}

/* Retransmissions (UDP, RFC 8489 §6.2.1) and timeouts of busy allocations. */
static void
load_timers(struct load_engine *e)
{
	uint64_t now = netio_now_ms();
	struct load_alloc *a;
	size_t i;

	for (i = 0; i < e->n; i++) {
		a = &e->allocs[i];
		if (!a->busy || now < a->next_ms)
			continue;
		if (a->conn != NULL || a->sends >= LOAD_RC) {
			load_fail(e, a, "timed out");
			continue;
		}
		(void)load_write(e, a, a->req, a->reqlen);
		a->sends++;
		a->rto_ms *= 2;
		a->next_ms = now + (a->sends == LOAD_RC ? e->o->rto_ms * LOAD_RM : a->rto_ms);
	}
}

static void
load_poll(struct load_engine *e, int timeout_ms)
{
	struct epoll_event evs[LOAD_EVENTS];
	int n, i;

	n = epoll_wait(e->ep, evs, LOAD_EVENTS, timeout_ms);
	for (i = 0; i < n; i++) {
		if (evs[i].data.u32 == LOAD_PEER_TAG)
			(void)loadpeer_pump(&e->peer);
		else
			load_readable(e, &e->allocs[evs[i].data.u32]);
	}
}

/* One round of the event loop: answers, then retransmissions every LOAD_SCAN_MS. */
static void
load_loop_once(struct load_engine *e, uint64_t now, uint64_t *scan)
{
	load_poll(e, 1);
	if (now >= *scan) {
		load_timers(e);
		*scan = now + LOAD_SCAN_MS;
	}
}

/* What is still in flight at a deadline fails with why. */
static void
load_fail_busy(struct load_engine *e, const char *why)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (e->allocs[i].busy)
			load_fail(e, &e->allocs[i], why);
}

/*
 * Moves every allocation in state from to busy state to, at most in_flight at
 * once, until all rest or the deadline passes.
 */
static void
load_phase(struct load_engine *e, enum load_state from, enum load_state to, uint64_t deadline)
{
	uint64_t now, scan = 0;
	size_t next = 0;

	for (;;) {
		while (e->active < e->o->in_flight && next < e->n) {
			if (e->allocs[next].state == from) {
				if (to == LOAD_ALLOC)
					load_start(e, &e->allocs[next]);
				else
					load_begin(e, &e->allocs[next], to);
			}
			next++;
		}
		if (next >= e->n && e->active == 0)
			return;
		now = netio_now_ms();
		if (now >= deadline)
			break;
		load_loop_once(e, now, &scan);
	}
	load_fail_busy(e, "phase timed out");
}

/* Waits until no transaction is in flight; what is still busy at the deadline fails. */
static void
load_settle(struct load_engine *e, uint64_t deadline)
{
	uint64_t now, scan = 0;

	while (e->active > 0 && (now = netio_now_ms()) < deadline)
		load_loop_once(e, now, &scan);
	load_fail_busy(e, "timed out");
}

static void
load_send_one(struct load_engine *e, struct load_alloc *a, uint64_t *sent)
{
	uint8_t payload[LOAD_MAX_PAYLOAD], out[LOAD_MAX_PAYLOAD + 64], tid[STUN_TID_LEN];
	uint64_t now = load_now_us();
	size_t len = 0;
	int w;

	memset(payload, 0, e->o->payload);
	memcpy(payload, &now, sizeof(now));
	memcpy(payload + 8, &e->step, sizeof(e->step));
	memcpy(payload + 12, &a->seq, sizeof(a->seq));
	a->seq++;
	if (e->o->direct) {
		memcpy(out, payload, e->o->payload);
		len = e->o->payload;
	} else if (!e->o->send_ind) {
		if ((w = chandata_encode(out, sizeof(out), LOAD_CHANNEL, payload, e->o->payload,
			 a->conn != NULL)) < 0)
			return;
		len = (size_t)w;
	} else {
		/* An indication's ID is not a secret: the allocation's index and sequence. */
		memset(tid, 0, sizeof(tid));
		memcpy(tid, &a->seq, sizeof(a->seq));
		memcpy(tid + 4, &a->t0_us, sizeof(a->t0_us));
		if (turnclient_build_send(tid, (const struct sockaddr *)&e->peer.addr, payload,
			e->o->payload, out, sizeof(out), &len) == -1)
			return;
	}
	(*sent)++;
	if (load_write(e, a, out, len) == -1)
		e->res->send_errors++;
	else
		e->res->client_tx++;
}

/*
 * During data: refreshes every ready allocation's permission or channel and
 * the allocation itself every --refresh seconds, and runs their timers.
 */
static void
load_keep(struct load_engine *e, uint64_t *scan)
{
	uint64_t now = netio_now_ms();
	size_t i;

	if (now >= e->keep_next) {
		for (i = 0; i < e->n; i++)
			if (e->allocs[i].state == LOAD_READY)
				load_begin(e, &e->allocs[i],
				    e->o->send_ind ? LOAD_KEEP_PERM : LOAD_KEEP_BIND);
		e->keep_next = now + (uint64_t)e->o->refresh_s * 1000u;
	}
	if (e->active > 0 && now >= *scan) {
		load_timers(e);
		*scan = now + LOAD_SCAN_MS;
	}
}

/* One data run at rate pps for dur_us; late echoes are waited for drain_ms. */
static void
load_data(struct load_engine *e, const size_t *ready, size_t nready, uint64_t rate, uint64_t dur_us)
{
	uint64_t t0 = load_now_us(), now, due, sent = 0, end, burst;
	uint64_t tx0 = e->res->client_tx, rx0 = e->res->client_rx, scan = 0;
	size_t cursor = 0;

	end = t0 + dur_us;
	while ((now = load_now_us()) < end) {
		due = rate * (now - t0) / 1000000u;
		for (burst = 0; sent < due && burst < LOAD_BURST; burst++)
			load_send_one(e, &e->allocs[ready[cursor++ % nready]], &sent);
		load_poll(e, sent < due ? 0 : 1);
		load_keep(e, &scan);
	}
	end = now + (uint64_t)e->o->drain_ms * 1000u;
	while (load_now_us() < end && e->res->client_rx - rx0 < e->res->client_tx - tx0)
		load_poll(e, 1);
	/* Whatever is still queued counts as lost, even if it shows up later. */
	load_poll(e, 0);
	e->res->data_us += load_now_us() - t0;
}

/* Raises the descriptor limit to what n allocations need; -1 when it cannot. */
static int
load_fds(const struct load_opts *o)
{
	struct rlimit rl;
	unsigned long per = o->allocs / o->procs + 1, room;
	rlim_t need = (rlim_t)(per + LOAD_FD_SPARE);

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	if (rl.rlim_cur < need) {
		/* As far as the hard limit allows: that, or just what is needed. */
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			rl.rlim_cur = need;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return 0;
	}
	if (rl.rlim_cur >= need)
		return 0;
	room = rl.rlim_cur > LOAD_FD_SPARE + 1 ? (unsigned long)rl.rlim_cur - LOAD_FD_SPARE - 1 : 0;
	if (room == 0)
		fprintf(stderr, "turnpike-bench load: the file descriptor limit is %lu: too low\n",
		    (unsigned long)rl.rlim_cur);
	else
		fprintf(stderr,
		    "turnpike-bench load: %lu allocations per process need %lu file descriptors, "
		    "the limit is %lu: use --procs %lu or more\n",
		    per, (unsigned long)need, (unsigned long)rl.rlim_cur,
		    (o->allocs + room - 1) / room);
	return -1;
}

static void
load_merge(struct load_result *dst, const struct load_result *src)
{
	dst->allocs_ok += src->allocs_ok;
	dst->allocs_failed += src->allocs_failed;
	dst->allocs_retx437 += src->allocs_retx437;
	dst->allocs_new_tuple += src->allocs_new_tuple;
	if (src->alloc_us > dst->alloc_us)
		dst->alloc_us = src->alloc_us;
	dst->setup_ok += src->setup_ok;
	dst->setup_failed += src->setup_failed;
	dst->client_tx += src->client_tx;
	dst->client_rx += src->client_rx;
	dst->peer_rx += src->peer_rx;
	dst->peer_tx += src->peer_tx;
	dst->send_errors += src->send_errors;
	dst->client_drops += src->client_drops;
	dst->peer_drops += src->peer_drops;
	dst->late += src->late;
	if (src->data_us > dst->data_us)
		dst->data_us = src->data_us;
	dst->dealloc_ok += src->dealloc_ok;
	dst->dealloc_failed += src->dealloc_failed;
	dst->keep_ok += src->keep_ok;
	dst->keep_failed += src->keep_failed;
	loadstats_merge(&dst->alloc_lat, &src->alloc_lat);
	loadstats_merge(&dst->rtt, &src->rtt);
	if (dst->error[0] == '\0')
		memcpy(dst->error, src->error, sizeof(dst->error));
}

static int
load_read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, b, n)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static double
load_ratio(uint64_t part, uint64_t whole)
{
	return whole == 0 ? 0.0 : (double)part / (double)whole;
}

static double
load_loss(uint64_t delivered, uint64_t offered)
{
	if (offered == 0)
		return 0.0;
	return delivered >= offered ? 0.0 : 1.0 - (double)delivered / (double)offered;
}

/* Server figures at the start (stage 1) or the end (stage 2) of the data phase. */
static void
load_measure(const struct load_opts *o, struct load_server *srv, int stage)
{
	char *cause = NULL;
	pid_t pid = (pid_t)o->server_pid;
	struct loadstats_machine *mach = stage == 1 ? &srv->mstart : &srv->mend;
	int rc;

	/* The machine's figure at the edges of the data phase, the server's inside them. */
	if (stage == 1)
		srv->have_busy = true;
	if (srv->have_busy && loadstats_machine_cpu(mach, NULL) == -1)
		srv->have_busy = false;
	*(stage == 1 ? &srv->wall_start : &srv->wall_end) = load_now_us();
	if (o->server_pid == 0)
		return;
	if (stage == 1)
		rc = loadstats_proc_rss_kib(pid, &srv->rss_after, &cause) == -1 ||
		    loadstats_proc_cpu_us(pid, &srv->cpu_start, &cause) == -1;
	else
		rc = loadstats_proc_cpu_us(pid, &srv->cpu_end, &cause) == -1;
	if (rc != 0 && srv->error[0] == '\0')
		snprintf(srv->error, sizeof(srv->error), "%s", cause != NULL ? cause : "?");
	free(cause);
}

/* What one data step did: payloads sent, echoes received. */
struct load_step {
	uint64_t tx, rx;
	uint64_t drops; /* datagrams this generator's full receive buffers dropped */
};

/* A data step runs in this process (e) or in the children behind the pipes. */
struct load_driver {
	struct load_engine *e;
	const size_t *ready;
	size_t nready;
	const int *up, *down;
	size_t np;
};

/* The command that ends a child's data phase. */
#define LOAD_STOP UINT64_MAX

/* One step of duration_s at rate pps in all, the counts added up. */
static int
load_step(const struct load_opts *o, struct load_driver *d, uint64_t rate, struct load_step *out)
{
	struct load_step s;
	uint64_t share, tx, rx, drops;
	size_t p;

	if (d->e != NULL) {
		tx = d->e->res->client_tx;
		rx = d->e->res->client_rx;
		drops = d->e->peer.drops + d->e->res->client_drops;
		d->e->step++;
		if (d->nready > 0)
			load_data(d->e, d->ready, d->nready, rate,
			    (uint64_t)o->duration_s * 1000000u);
		out->tx = d->e->res->client_tx - tx;
		out->rx = d->e->res->client_rx - rx;
		out->drops = d->e->peer.drops + d->e->res->client_drops - drops;
		return 0;
	}
	for (p = 0; p < d->np; p++) {
		share = rate / d->np + (p < rate % d->np ? 1 : 0);
		if (write(d->down[p], &share, sizeof(share)) != (ssize_t)sizeof(share))
			return -1;
	}
	out->tx = out->rx = out->drops = 0;
	for (p = 0; p < d->np; p++) {
		if (load_read_all(d->up[p], &s, sizeof(s)) == -1)
			return -1;
		out->tx += s.tx;
		out->rx += s.rx;
		out->drops += s.drops;
	}
	return 0;
}

/* Whether a ramp step with this loss counts. */
static bool
load_loss_ok(const struct load_opts *o, double loss)
{
	return o->ramp_loss == 0.0 ? loss == 0.0 : loss < o->ramp_loss;
}

/* The data phase: one step at --rate, or the ramp (steps recorded in r). */
static int
load_drive(const struct load_opts *o, struct load_driver *d, struct load_result *r)
{
	struct load_step s;
	double rate = (double)o->ramp_start, loss;

	if (!o->ramp)
		return o->rate == 0 ? 0 : load_step(o, d, o->rate, &s);
	for (r->ramp_steps = 0; r->ramp_steps < LOAD_MAX_STEPS && rate <= (double)o->ramp_max;
	     r->ramp_steps++) {
		if (load_step(o, d, (uint64_t)rate, &s) == -1)
			return -1;
		loss = s.tx == 0 ? 1.0 : load_loss(s.rx, s.tx);
		r->ramp_rate[r->ramp_steps] = (uint64_t)rate;
		r->ramp_sent[r->ramp_steps] = s.tx / o->duration_s;
		r->ramp_loss[r->ramp_steps] = loss;
		r->ramp_drops[r->ramp_steps] = s.drops;
		/*
		 * A step counts only at the rate it asked for: a generator that cannot
		 * keep up sends less, sees no loss, and would ramp on forever. A loss
		 * that its own full receive buffers explain is its limit too.
		 */
		r->ramp_short = load_loss_ok(o, loss)
		    ? (double)s.tx < LOAD_OFFER_MIN * rate * (double)o->duration_s
		    : s.drops > 0 && s.tx - s.rx <= s.drops;
		if (!load_loss_ok(o, loss) || r->ramp_short) {
			r->ramp_steps++;
			break;
		}
		r->ramp_best = (uint64_t)rate;
		rate *= o->ramp_factor;
	}
	return 0;
}

/*
 * --direct: each flow is a UDP socket connected straight to the echo peer, ready
 * at once (what the generator costs without a relay between).
 */
static void
load_direct_open(struct load_engine *e)
{
	struct epoll_event ev;
	struct load_alloc *a;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < e->n; i++) {
		a = &e->allocs[i];
		a->state = LOAD_ALLOC;
		if ((a->fd = load_udp_socket((const struct sockaddr *)&e->peer.addr, &cause)) ==
		    -1) {
			load_fail(e, a, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(e->ep, EPOLL_CTL_ADD, a->fd, &ev) == -1) {
			load_fail(e, a, strerror(errno));
			continue;
		}
		a->t0_us = load_now_us();
		e->res->allocs_ok++;
		e->res->setup_ok++;
		a->state = LOAD_READY;
	}
}

/* Allocations and their channels or permissions; -1 when nothing could start. */
static int
load_engine_setup(struct load_engine *e)
{
	const struct load_opts *o = e->o;
	struct epoll_event ev;
	uint64_t t0;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < e->n; i++)
		e->allocs[i].fd = -1;
	e->peer.fd = -1;
	if ((e->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    loadpeer_open(&e->peer, (const struct sockaddr *)&o->peer_ip, o->peer_netns, &cause) ==
		-1) {
		snprintf(e->res->error, sizeof(e->res->error), "%s",
		    cause != NULL ? cause : strerror(errno));
		free(cause);
		e->res->allocs_failed = e->n;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = LOAD_PEER_TAG;
	(void)epoll_ctl(e->ep, EPOLL_CTL_ADD, e->peer.fd, &ev);

	t0 = load_now_us();
	if (o->direct)
		load_direct_open(e);
	else
		load_phase(e, LOAD_NEW, LOAD_ALLOC, netio_now_ms() + o->timeout_ms);
	e->res->alloc_us = load_now_us() - t0;
	if (!o->direct)
		load_phase(e, LOAD_ALLOCATED, LOAD_PERM, netio_now_ms() + o->timeout_ms);
	if ((e->ready = calloc(e->n + 1, sizeof(*e->ready))) == NULL)
		return -1;
	for (i = 0; i < e->n; i++)
		if (e->allocs[i].state == LOAD_READY)
			e->ready[e->nready++] = i;
	e->keep_next = o->direct ? UINT64_MAX : netio_now_ms() + (uint64_t)o->refresh_s * 1000u;
	return 0;
}

/* Deallocates what is left and closes everything. */
static void
load_engine_finish(struct load_engine *e)
{
	const struct load_opts *o = e->o;
	size_t i;

	e->res->peer_rx = e->peer.rx;
	e->res->peer_tx = e->peer.tx;
	e->res->peer_drops = e->peer.drops;
	/* Refreshes still in flight end first (they rest in LOAD_READY). */
	if (e->ep != -1)
		load_settle(e, netio_now_ms() + LOAD_DEALLOC_MS);
	for (i = 0; i < e->n; i++) {
		if (e->allocs[i].state != LOAD_READY)
			continue;
		/* A direct flow has nothing to give back. */
		e->allocs[i].state = o->direct ? LOAD_DONE : LOAD_ALLOCATED;
		if (o->direct)
			e->res->dealloc_ok++;
	}
	if (e->ep != -1 && !o->direct)
		load_phase(e, LOAD_ALLOCATED, LOAD_DEALLOC,
		    netio_now_ms() +
			(o->timeout_ms < LOAD_DEALLOC_MS ? o->timeout_ms : LOAD_DEALLOC_MS));
	for (i = 0; i < e->n; i++) {
		if (e->allocs[i].conn != NULL)
			turnconn_close(e->allocs[i].conn);
		else if (e->allocs[i].fd != -1)
			close(e->allocs[i].fd);
	}
	if (e->peer.fd != -1)
		loadpeer_close(&e->peer);
	if (e->ep != -1)
		close(e->ep);
	free(e->ready);
}

static struct load_engine *
load_engine_new(const struct load_opts *o, size_t n, struct load_result *res)
{
	struct load_engine *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->allocs = calloc(n, sizeof(*e->allocs))) == NULL) {
		free(e);
		return NULL;
	}
	e->o = o;
	e->n = n;
	e->res = res;
	e->ep = -1;
	loadstats_init(&res->alloc_lat);
	loadstats_init(&res->rtt);
	return e;
}

static void
load_engine_free(struct load_engine *e)
{
	explicit_bzero(e->allocs, e->n * sizeof(*e->allocs));
	free(e->allocs);
	free(e);
}

/* The whole run in this process. */
static int
load_alone(const struct load_opts *o, struct load_result *r, struct load_server *srv)
{
	struct load_driver d;
	struct load_engine *e;
	int rc = 0;

	if ((e = load_engine_new(o, o->allocs, r)) == NULL)
		return -1;
	if (load_engine_setup(e) == 0) {
		load_measure(o, srv, 1);
		memset(&d, 0, sizeof(d));
		d.e = e;
		d.ready = e->ready;
		d.nready = e->nready;
		rc = load_drive(o, &d, r);
		load_measure(o, srv, 2);
	}
	load_engine_finish(e);
	load_engine_free(e);
	return rc;
}

/* A child: n allocations, data steps as the parent commands, its result up the pipe. */
static void
load_child(const struct load_opts *o, size_t n, int up, int down)
{
	struct load_result *r;
	struct load_engine *e;
	struct load_driver d;
	struct load_step s;
	uint64_t rate;
	char c = 1;

	if ((r = calloc(1, sizeof(*r))) == NULL || (e = load_engine_new(o, n, r)) == NULL)
		_exit(LOAD_EXIT_FAIL);
	(void)load_engine_setup(e);
	if (write(up, &c, 1) != 1)
		_exit(LOAD_EXIT_FAIL);
	memset(&d, 0, sizeof(d));
	d.e = e;
	d.ready = e->ready;
	d.nready = e->nready;
	for (;;) {
		if (load_read_all(down, &rate, sizeof(rate)) == -1)
			_exit(LOAD_EXIT_FAIL);
		if (rate == LOAD_STOP)
			break;
		(void)load_step(o, &d, rate, &s);
		if (write(up, &s, sizeof(s)) != (ssize_t)sizeof(s))
			_exit(LOAD_EXIT_FAIL);
	}
	load_engine_finish(e);
	load_engine_free(e);
	if (write(up, r, sizeof(*r)) != (ssize_t)sizeof(*r))
		_exit(LOAD_EXIT_FAIL);
	_exit(0);
}

/* Forks o->procs children, drives their data phase and adds up their results. */
static int
load_fork(const struct load_opts *o, struct load_result *total, struct load_server *srv)
{
	int up[LOAD_MAX_PROCS], down[LOAD_MAX_PROCS], fds[2][2];
	pid_t pids[LOAD_MAX_PROCS];
	struct load_result *r;
	struct load_driver d;
	struct load_opts co = *o;
	uint64_t stop = LOAD_STOP;
	size_t p, np = o->procs;
	int rc = 0, status;
	char c;

	co.in_flight = o->in_flight / np > 0 ? o->in_flight / np : 1;
	for (p = 0; p < np; p++) {
		if (pipe(fds[0]) == -1 || pipe(fds[1]) == -1)
			return -1;
		fflush(NULL);
		if ((pids[p] = fork()) == -1)
			return -1;
		if (pids[p] == 0) {
			close(fds[0][0]);
			close(fds[1][1]);
			load_child(&co, o->allocs / np + (p < o->allocs % np ? 1 : 0), fds[0][1],
			    fds[1][0]);
		}
		close(fds[0][1]);
		close(fds[1][0]);
		up[p] = fds[0][0];
		down[p] = fds[1][1];
	}
	for (p = 0; p < np; p++)
		if (load_read_all(up[p], &c, 1) == -1)
			rc = -1;
	if (rc == 0) {
		load_measure(o, srv, 1);
		memset(&d, 0, sizeof(d));
		d.up = up;
		d.down = down;
		d.np = np;
		rc = load_drive(o, &d, total);
		load_measure(o, srv, 2);
	}
	for (p = 0; p < np; p++)
		if (write(down[p], &stop, sizeof(stop)) != (ssize_t)sizeof(stop))
			rc = -1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		rc = -1;
	for (p = 0; p < np; p++) {
		if (rc == 0 && load_read_all(up[p], r, sizeof(*r)) == 0)
			load_merge(total, r);
		else
			rc = -1;
		close(up[p]);
		close(down[p]);
	}
	for (p = 0; p < np; p++)
		(void)waitpid(pids[p], &status, 0);
	free(r);
	return rc;
}

static void
load_report(const struct load_opts *o, const struct load_result *r, const struct load_server *s)
{
	static const char *tnames[] = {"udp", "tcp", "tls"};
	const char *tname = tnames[o->conn.transport <= PROBE_TLS ? o->conn.transport : 0];
	double aps = r->alloc_us == 0 ? 0.0 : (double)r->allocs_ok * 1e6 / (double)r->alloc_us;
	uint64_t relayed = r->peer_rx + r->client_rx;
	uint64_t cpu = s->have && s->cpu_end >= s->cpu_start ? s->cpu_end - s->cpu_start : 0;
	double cpu_pp = load_ratio(cpu, relayed);
	double kib_pa = s->have && s->rss_after >= s->rss_before && r->allocs_ok > 0
	    ? (double)(s->rss_after - s->rss_before) / (double)r->allocs_ok
	    : 0.0;
	uint64_t wall = s->wall_end >= s->wall_start ? s->wall_end - s->wall_start : 0;
	uint64_t busy_ticks = 0, busy = 0;
	const char *mode = o->direct ? "direct" : o->send_ind ? "send" : "channel";
	uint64_t i;

	/* Busy: all CPUs' time minus their idle time (see loadstats_machine). */
	if (s->have_busy && s->mend.busy_us >= s->mstart.busy_us &&
	    s->mend.idle_us >= s->mstart.idle_us) {
		uint64_t idle = s->mend.idle_us - s->mstart.idle_us;

		busy_ticks = s->mend.busy_us - s->mstart.busy_us;
		busy = s->mstart.cpus * wall > idle ? s->mstart.cpus * wall - idle : 0;
	}

	if (o->json) {
		printf("{\"transport\":\"%s\",\"allocations\":%lu,\"allocations_ok\":%" PRIu64
		       ",\"allocations_failed\":%" PRIu64
		       ",\"allocations_437_retransmitted\":%" PRIu64
		       ",\"allocations_437_new_address\":%" PRIu64 ",\"allocation_seconds\":%.6f"
		       ",\"allocations_per_second\":%.1f,\"allocation_latency_us\":{\"p50\":"
		       "%" PRIu64 ",\"p99\":%" PRIu64 "},\"setup_ok\":%" PRIu64
		       ",\"setup_failed\":%" PRIu64,
		    tname, o->allocs, r->allocs_ok, r->allocs_failed, r->allocs_retx437,
		    r->allocs_new_tuple, (double)r->alloc_us / 1e6, aps,
		    loadstats_percentile(&r->alloc_lat, 50),
		    loadstats_percentile(&r->alloc_lat, 99), r->setup_ok, r->setup_failed);
		printf(",\"mode\":\"%s\",\"payload\":%lu,\"rate_pps\":%lu,\"duration_s\":%lu", mode,
		    o->payload, o->ramp ? 0 : o->rate, o->duration_s);
		printf(",\"client_to_peer\":{\"offered\":%" PRIu64 ",\"delivered\":%" PRIu64
		       ",\"loss\":%.6f},\"peer_to_client\":{\"offered\":%" PRIu64
		       ",\"delivered\":%" PRIu64
		       ",\"loss\":%.6f},\"loss\":%.6f,\"send_errors\":%" PRIu64
		       ",\"late\":%" PRIu64,
		    r->client_tx, r->peer_rx, load_loss(r->peer_rx, r->client_tx), r->peer_tx,
		    r->client_rx, load_loss(r->client_rx, r->peer_tx),
		    load_loss(r->client_rx, r->client_tx), r->send_errors, r->late);
		printf(",\"generator_drops\":{\"clients\":%" PRIu64 ",\"echo_peer\":%" PRIu64 "}",
		    r->client_drops, r->peer_drops);
		printf(",\"rtt_us\":{\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64
		       ",\"max\":%" PRIu64 "}",
		    loadstats_percentile(&r->rtt, 50), loadstats_percentile(&r->rtt, 99),
		    loadstats_percentile(&r->rtt, 99.9), r->rtt.max);
		if (o->ramp) {
			printf(",\"ramp\":{\"best_pps\":%" PRIu64 ",\"generator_limited\":%s"
			       ",\"steps\":[",
			    r->ramp_best, r->ramp_short ? "true" : "false");
			for (i = 0; i < r->ramp_steps; i++)
				printf("%s{\"pps\":%" PRIu64 ",\"sent_pps\":%" PRIu64
				       ",\"loss\":%.6f,\"generator_drops\":%" PRIu64 "}",
				    i ? "," : "", r->ramp_rate[i], r->ramp_sent[i], r->ramp_loss[i],
				    r->ramp_drops[i]);
			printf("]}");
		}
		if (s->have)
			printf(",\"server\":{\"cpu_us\":%" PRIu64 ",\"relayed_packets\":%" PRIu64
			       ",\"cpu_us_per_packet\":%.4f,\"rss_before_kib\":%" PRIu64
			       ",\"rss_after_kib\":%" PRIu64 ",\"kib_per_allocation\":%.3f}",
			    cpu, relayed, cpu_pp, s->rss_before, s->rss_after, kib_pa);
		if (s->have_busy)
			printf(",\"machine\":{\"busy_us\":%" PRIu64 ",\"wall_us\":%" PRIu64
			       ",\"cpus\":%" PRIu64 ",\"busy_us_per_packet\":%.4f"
			       ",\"busy_ticks_us\":%" PRIu64 ",\"busy_ticks_us_per_packet\":%.4f}",
			    busy, wall, s->mstart.cpus, load_ratio(busy, relayed), busy_ticks,
			    load_ratio(busy_ticks, relayed));
		printf(",\"refreshed\":%" PRIu64 ",\"refresh_failed\":%" PRIu64, r->keep_ok,
		    r->keep_failed);
		printf(",\"deallocated\":%" PRIu64 ",\"deallocate_failed\":%" PRIu64, r->dealloc_ok,
		    r->dealloc_failed);
		printf(",\"error\":\"");
		for (i = 0; r->error[i] != '\0'; i++)
			if (r->error[i] != '"' && r->error[i] != '\\' &&
			    (unsigned char)r->error[i] >= 32)
				putchar(r->error[i]);
		printf("\"}\n");
		return;
	}
	printf("allocations %" PRIu64 "/%lu ok, %" PRIu64 " failed over %s in %.3f s: %.1f/s\n",
	    r->allocs_ok, o->allocs, r->allocs_failed, tname, (double)r->alloc_us / 1e6, aps);
	printf("allocation latency p50 %" PRIu64 " us, p99 %" PRIu64 " us\n",
	    loadstats_percentile(&r->alloc_lat, 50), loadstats_percentile(&r->alloc_lat, 99));
	if (r->allocs_retx437 > 0)
		printf("%" PRIu64 " of them answered 437 to a retransmitted Allocate (the first "
		       "transmission's allocation kept)\n",
		    r->allocs_retx437);
	if (r->allocs_new_tuple > 0)
		printf("%" PRIu64 " Allocates answered 437 (an allocation of an earlier run on the "
		       "5-tuple) and were sent again from a new client address\n",
		    r->allocs_new_tuple);
	printf("%s %" PRIu64 " ok, %" PRIu64 " failed\n",
	    o->direct         ? "direct flows"
		: o->send_ind ? "permissions"
			      : "channels",
	    r->setup_ok, r->setup_failed);
	if (o->ramp) {
		for (i = 0; i < r->ramp_steps; i++)
			printf("ramp step %" PRIu64 " pps: sent %" PRIu64
			       " pps, loss %.4f%%, %" PRIu64
			       " dropped by this generator's full sockets\n",
			    r->ramp_rate[i], r->ramp_sent[i], r->ramp_loss[i] * 100.0,
			    r->ramp_drops[i]);
		if (r->ramp_short)
			printf("ramp stopped: this generator sent under %.0f%% of the last step's "
			       "rate, or its own full sockets dropped what was lost (it is the "
			       "limit, "
			       "not the server)\n",
			    LOAD_OFFER_MIN * 100.0);
		if (o->ramp_loss == 0.0)
			printf("ramp highest rate without loss: %" PRIu64 " pps\n", r->ramp_best);
		else
			printf("ramp highest rate with loss under %g%%: %" PRIu64 " pps\n",
			    o->ramp_loss * 100.0, r->ramp_best);
	}
	printf("client->peer offered %" PRIu64 " delivered %" PRIu64 " loss %.4f%%\n", r->client_tx,
	    r->peer_rx, load_loss(r->peer_rx, r->client_tx) * 100.0);
	printf("peer->client offered %" PRIu64 " delivered %" PRIu64 " loss %.4f%%\n", r->peer_tx,
	    r->client_rx, load_loss(r->client_rx, r->peer_tx) * 100.0);
	printf("round trip loss %.4f%% (%" PRIu64 " send errors, %" PRIu64 " late)\n",
	    load_loss(r->client_rx, r->client_tx) * 100.0, r->send_errors, r->late);
	printf("dropped by this generator's full receive buffers: %" PRIu64
	       " at its clients, %" PRIu64 " at its echo peer\n",
	    r->client_drops, r->peer_drops);
	printf("rtt p50 %" PRIu64 " us, p99 %" PRIu64 " us, p99.9 %" PRIu64 " us\n",
	    loadstats_percentile(&r->rtt, 50), loadstats_percentile(&r->rtt, 99),
	    loadstats_percentile(&r->rtt, 99.9));
	if (s->have) {
		printf("server cpu %" PRIu64 " us for %" PRIu64
		       " relayed packets: %.3f us/packet\n",
		    cpu, relayed, cpu_pp);
		printf("server memory %" PRIu64 " KiB before, %" PRIu64
		       " KiB after the allocations: %.2f KiB/allocation\n",
		    s->rss_before, s->rss_after, kib_pa);
	}
	if (s->have_busy)
		printf("machine busy %" PRIu64 " us over %" PRIu64 " us of data (%" PRIu64
		       " CPUs' time minus their idle time, /proc/stat): %.3f us/packet"
		       " (tick-sampled busy fields: %.3f)\n",
		    busy, wall, s->mstart.cpus, load_ratio(busy, relayed),
		    load_ratio(busy_ticks, relayed));
	if (r->keep_ok + r->keep_failed > 0)
		printf("refreshed %" PRIu64 " allocations with their %s, %" PRIu64 " failed\n",
		    r->keep_ok, o->send_ind ? "permissions" : "channels", r->keep_failed);
	printf("deallocated %" PRIu64 ", %" PRIu64 " failed\n", r->dealloc_ok, r->dealloc_failed);
	if (r->error[0] != '\0')
		printf("first error: %s\n", r->error);
}

int
load_run(int argc, char **argv)
{
	struct load_opts *o;
	struct load_result *r;
	struct load_server srv;
	struct sockaddr_in *sin;
	char *cause = NULL;
	int rc;

	if ((o = calloc(1, sizeof(*o))) == NULL || (r = calloc(1, sizeof(*r))) == NULL) {
		free(o);
		return LOAD_EXIT_FAIL;
	}
	o->conn.transport = PROBE_UDP;
	o->allocs = 10;
	o->in_flight = 100;
	o->procs = 1;
	o->payload = 100;
	o->duration_s = 2;
	o->rto_ms = 500;
	o->timeout_ms = 60000;
	o->drain_ms = 500;
	o->ramp_start = 1000;
	o->ramp_factor = 1.25;
	o->ramp_loss = 0.001;
	o->ramp_max = LOAD_MAX_RATE;
	o->refresh_s = LOAD_REFRESH_S;
	sin = (struct sockaddr_in *)&o->peer_ip;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&srv, 0, sizeof(srv));
	if ((rc = load_parse(o, argc, argv)) != 0)
		goto out;
	if (load_fds(o) == -1) {
		rc = LOAD_EXIT_FAIL;
		goto out;
	}
	if (o->server_pid != 0) {
		srv.have = true;
		if (loadstats_proc_rss_kib((pid_t)o->server_pid, &srv.rss_before, &cause) == -1 ||
		    loadstats_proc_cpu_us((pid_t)o->server_pid, &srv.cpu_start, &cause) == -1) {
			fprintf(stderr, "turnpike-bench load: --server-pid: %s\n", cause);
			free(cause);
			rc = LOAD_EXIT_FAIL;
			goto out;
		}
	}
	loadstats_init(&r->alloc_lat);
	loadstats_init(&r->rtt);
	if (o->procs == 1)
		rc = load_alone(o, r, &srv);
	else
		rc = load_fork(o, r, &srv);
	if (rc == -1) {
		fprintf(stderr, "turnpike-bench load: %s\n",
		    r->error[0] != '\0' ? r->error : "a load process failed");
		rc = LOAD_EXIT_FAIL;
		goto out;
	}
	if (srv.error[0] != '\0') {
		fprintf(stderr, "turnpike-bench load: --server-pid: %s\n", srv.error);
		srv.have = false;
	}
	load_report(o, r, &srv);
	rc = r->allocs_failed > 0 || r->setup_failed > 0 || r->keep_failed > 0 ||
		r->allocs_ok < o->allocs
	    ? LOAD_EXIT_FAIL
	    : 0;
out:
	explicit_bzero(o, sizeof(*o));
	free(o);
	free(r);
	return rc;
}
