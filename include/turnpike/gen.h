/*
 * One generation of what the workers share: the configuration it was built
 * from, the TURN settings, credentials, peer policy and TLS context. Built on
 * the main thread at start and at each reload, immutable once built (STYLE
 * rule 7); a reload builds the next one and switches the workers to it. The
 * process-wide parts a reload never changes (sockets, relay addresses, port
 * pool, userdb) are borrowed from struct gen_fixed.
 */
#ifndef TURNPIKE_GEN_H
#define TURNPIKE_GEN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "turnpike/binding.h"
#include "turnpike/creds.h"
#include "turnpike/turn.h"
#include "turnpike/userdb.h"
#include "turnpike/worker.h"

struct alternate_set;
struct authguard;
struct config;
struct connlimit;
struct fleetops;
struct statsdb;
struct limits;
struct realmstats;
struct peerpolicy;
struct relayaddr;

/* What every generation shares; owned by the server, outlives the generations. */
struct gen_fixed {
	const struct config *boot; /* listening, relay and external addresses, ports */
	const struct relayaddr *relays;
	struct portpool *pool;
	struct userdb *userdb; /* NULL without userdb */
	/* The allocations the process can hold (capacity.h): 508 at it; 0 until known. */
	const atomic_size_t *capacity;
	atomic_size_t *allocations;
	struct limits *limits;         /* quotas and max-bps across workers; NULL in unit tests */
	struct realmstats *realmstats; /* traffic per realm with prometheus; NULL: none */
	struct fleetops *fleet;      /* fleet-redis: steering (turn_config.fleet_view); NULL: off */
	struct connlimit *connlimit; /* stream connections; NULL in unit tests */
	struct authguard *authguard; /* auth-failure-limit; NULL when off */
	size_t nworkers;             /* bps-capacity is shared out equally */
	struct fastpath *fastpath;   /* the kernel fast path; NULL: none */
	struct statsdb *statsdb;     /* redis-statsdb; NULL: none */
	struct sklookup *sklookup;   /* relay-sockets=shared; NULL: a socket per relay */
	const struct sockaddr_storage *udp;
	size_t nudp;
};

struct gen {
	struct worker_setup setup; /* what the workers read */
	struct config *cfg;        /* owned */
	struct binding_config binding;
	struct binding_rfc5780 rfc5780; /* turn.rfc5780 when rfc5780 is on */
	struct turn_config turn;
	struct creds_static *cstatic;
	struct creds copts; /* users and secrets from options */
	struct userdb_front front;
	struct creds creds;
	struct peerpolicy *policy;
	struct alternate_set *alternates;    /* turn.alternates, owned; NULL: none */
	struct peerpolicy_range *proxy_from; /* proxy-protocol-from */
	struct integrity_key *nonce_mac;     /* turn.nonce_mac, owned */
	SSL_CTX *ssl_ctx;
	SSL_CTX *dtls_ctx;
	unsigned long id;         /* 1 at start, then one more per reload */
	atomic_uint users;        /* workers reading setup */
	atomic_uint pending;      /* switches posted and not yet run */
	struct worker_switch *sw; /* one per worker, while switching to this one */
	struct gen *next;         /* the server's list, main thread only */
};

/*
 * Builds a generation from cfg, which it owns from then on (freed on
 * failure too). The nonce key comes from prev when given (nonces stay valid
 * across a reload), else from stateless-nonce-secret or the CSPRNG. -1 with
 * *cause: the certificate or key cannot be read or do not match, a user or a
 * peer range is refused, out of memory.
 */
int gen_create(struct config *cfg, const struct gen_fixed *fx, const struct gen *prev,
    struct gen **gp, char **cause);
void gen_free(struct gen *g);
/* The generation whose setup this is. */
struct gen *gen_of(const struct worker_setup *setup);

#endif
