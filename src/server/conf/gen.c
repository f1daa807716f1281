/*
 * A generation of shared worker state (gen.h): credentials, peer policy, TURN
 * settings and the TLS context, built from one configuration.
 */
#include "config.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "turnpike/addr.h"
#include "turnpike/alternate.h"
#include "turnpike/authguard.h"
#include "turnpike/cause.h"
#include "turnpike/config.h"
#include "turnpike/fleetops.h"
#include "turnpike/gen.h"
#include "turnpike/integrity.h"
#include "turnpike/limits.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/random.h"
#include "turnpike/relayaddr.h"
#include "turnpike/dtls.h"
#include "turnpike/tls.h"

/* RFC 8656 §6.2: the lifetime of an allocation when the client asks for none. */
#define GEN_DEFAULT_LIFETIME 600
/* stale-nonce=0 (coturn: unlimited) becomes the longest value accepted. */
#define GEN_STALE_NONCE_MAX 604800

/* Users and REST secrets; passwords become keys here and are not kept. */
static int
gen_init_creds(struct gen *g, const struct gen_fixed *fx, char **cause)
{
	const struct config *cfg = g->cfg;
	size_t i;

	if ((g->cstatic = creds_static_create(cfg->realm)) == NULL)
		return cause_fail(cause, "out of memory");
	for (i = 0; cfg->auth && i < cfg->users.n; i++) {
		if (creds_static_add_user(g->cstatic, cfg->users.v[i], cause) != 0)
			return -1;
	}
	for (i = 0; cfg->auth && i < cfg->static_auth_secrets.n; i++) {
		if (creds_static_add_secret(g->cstatic, cfg->static_auth_secrets.v[i], cause) != 0)
			return -1;
	}
	creds_static_set_rest(g->cstatic, cfg->use_auth_secret, cfg->rest_api_separator[0]);
	creds_static_set_rest_sha256(g->cstatic, strcmp(cfg->rest_api_hmac, "sha256") == 0);
	creds_static_iface(g->cstatic, &g->copts);
	g->creds = g->copts;
	if (!cfg->auth || fx->userdb == NULL)
		return 0;
	userdb_set_rest_sha256(fx->userdb, strcmp(cfg->rest_api_hmac, "sha256") == 0);
	g->front.u = fx->userdb;
	g->front.opts = &g->copts;
	userdb_front_iface(&g->front, &g->creds);
	return 0;
}

static bool
gen_is_loopback(const struct sockaddr *sa)
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
gen_policy_add_own(struct gen *g, const struct sockaddr *sa)
{
	if (g->cfg->allow_loopback_peers && gen_is_loopback(sa))
		return;
	peerpolicy_add_own(g->policy, sa);
}

/* Every address of this host (a wildcard listener may be reached on any). */
static int
gen_policy_interfaces(struct gen *g, char **cause)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) != 0)
		return cause_fail(cause, "cannot list interface addresses: %s", strerror(errno));
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr != NULL &&
		    (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
			gen_policy_add_own(g, i->ifa_addr);
	}
	freeifaddrs(ifa);
	return 0;
}

/* The server's own addresses: listening, relay, external, and interfaces for wildcards. */
static int
gen_policy_own(struct gen *g, const struct gen_fixed *fx, char **cause)
{
	const struct config *boot = fx->boot;
	bool wildcard = false;
	size_t i;

	for (i = 0; i < boot->listening_ip.n; i++) {
		if (addr_is_any((const struct sockaddr *)&boot->listening_ip.v[i]))
			wildcard = true;
		else
			gen_policy_add_own(g, (const struct sockaddr *)&boot->listening_ip.v[i]);
	}
	for (i = 0; i < fx->relays->n; i++) {
		gen_policy_add_own(g, (const struct sockaddr *)&fx->relays->v[i].local);
		gen_policy_add_own(g, (const struct sockaddr *)&fx->relays->v[i].advertised);
	}
	for (i = 0; i < boot->external_ip.n; i++) {
		gen_policy_add_own(g, (const struct sockaddr *)&boot->external_ip.v[i].public_ip);
		if (boot->external_ip.v[i].has_private) {
			peerpolicy_add_own(g->policy,
			    (const struct sockaddr *)&boot->external_ip.v[i].private_ip);
		}
	}
	return wildcard ? gen_policy_interfaces(g, cause) : 0;
}

static int
gen_init_policy(struct gen *g, const struct gen_fixed *fx, char **cause)
{
	const struct config *cfg = g->cfg;
	size_t i;

	if ((g->policy = peerpolicy_create()) == NULL)
		return cause_fail(cause, "out of memory");
	for (i = 0; i < cfg->allowed_peer_ip.n; i++) {
		if (peerpolicy_allow(g->policy, cfg->allowed_peer_ip.v[i], cause) != 0)
			return -1;
	}
	for (i = 0; i < cfg->denied_peer_ip.n; i++) {
		if (peerpolicy_deny(g->policy, cfg->denied_peer_ip.v[i], cause) != 0)
			return -1;
	}
	peerpolicy_set_allow_loopback(g->policy, cfg->allow_loopback_peers);
	peerpolicy_set_relay_ports(g->policy, (uint16_t)fx->boot->min_port,
	    (uint16_t)fx->boot->max_port);
	return gen_policy_own(g, fx, cause);
}

/* The previous key, or stateless-nonce-secret through SHA-256, or a random key. */
static int
gen_nonce_key(struct gen *g, const struct gen *prev, char **cause)
{
	const char *secret = g->cfg->stateless_nonce_secret;
	unsigned int n = 0;

	if (prev != NULL) {
		memcpy(g->turn.nonce_key, prev->turn.nonce_key, sizeof g->turn.nonce_key);
		return 0;
	}
	if (secret == NULL) {
		if (random_bytes(g->turn.nonce_key, sizeof g->turn.nonce_key) != 0)
			return cause_fail(cause, "cannot draw a nonce key: %s", strerror(errno));
		return 0;
	}
	if (EVP_Digest(secret, strlen(secret), g->turn.nonce_key, &n, EVP_sha256(), NULL) != 1 ||
	    n != sizeof g->turn.nonce_key)
		return cause_fail(cause, "stateless-nonce-secret: SHA-256 failed");
	return 0;
}

/* The nonce key set up once for every worker (a MAC per 401 and per request otherwise). */
static int
gen_nonce_mac(struct gen *g, char **cause)
{
	g->nonce_mac = integrity_key_create(true, g->turn.nonce_key, sizeof g->turn.nonce_key);
	if (g->nonce_mac == NULL)
		return cause_fail(cause, "cannot set up the nonce key");
	g->turn.nonce_mac = g->nonce_mac;
	return 0;
}

/* What every worker's TURN core reads. */
static void
gen_init_turn(struct gen *g, const struct gen_fixed *fx)
{
	const struct config *cfg = g->cfg;
	struct turn_config *t = &g->turn;

	t->realm = cfg->realm;
	t->software = g->binding.software;
	t->auth = cfg->auth;
	t->max_lifetime = (uint32_t)cfg->max_allocate_lifetime;
	t->default_lifetime =
	    t->max_lifetime < GEN_DEFAULT_LIFETIME ? t->max_lifetime : GEN_DEFAULT_LIFETIME;
	t->permission_lifetime = (uint32_t)cfg->permission_lifetime;
	t->channel_lifetime = (uint32_t)cfg->channel_lifetime;
	t->stale_nonce = cfg->stale_nonce == 0 ? GEN_STALE_NONCE_MAX : (uint32_t)cfg->stale_nonce;
	t->max_permissions = (size_t)cfg->max_permissions;
	t->max_channels = (size_t)cfg->max_channels;
	t->challenge_reason = cfg->challenge_reason_phrase;
	t->rfc5766_channels = cfg->rfc5766_channel_numbers;
	t->policy = g->policy;
	if (fx->limits != NULL) {
		/* The store's peer ranges over this policy (limits_set_config). */
		t->peer_check = limits_peer_check;
		t->peer_ctx = fx->limits;
	}
	/* RFC 8489 §9.2: offer SHA-256 in the nonce cookie; RFC 5389 clients keep MD5. */
	t->sha256 = true;
	t->tcp_relay = !cfg->no_tcp_relay;
	t->oauth = cfg->oauth;
	t->server_name = cfg->server_name;
	if (fx->authguard != NULL) {
		t->auth_allowed = authguard_allowed;
		t->auth_failed = authguard_failed;
		t->auth_ctx = fx->authguard;
	}
	/* Quotas are process-wide, counted by limits.c; the core counts none without it. */
	t->user_quota = fx->limits != NULL ? 0 : (uint32_t)cfg->user_quota;
	t->total_quota = 0;
	t->alternates = g->alternates;
	if (fx->fleet != NULL) {
		t->fleet_view = fleetops_view;
		t->fleet_ctx = fx->fleet;
	}
	if (fx->boot->rfc5780) {
		g->rfc5780.port = (uint16_t)fx->boot->listening_port;
		g->rfc5780.alt_port = (uint16_t)fx->boot->alt_listening_port;
		g->rfc5780.ips = fx->boot->listening_ip.v;
		g->rfc5780.nips = fx->boot->listening_ip.n;
		t->rfc5780 = &g->rfc5780;
	}
	t->alternate_preauth = cfg->alternate_server_preauth;
	t->userhash = cfg->userhash;
	t->check_origin = cfg->check_origin_consistency;
	/* Behind proxy-protocol=udp the balancer's flow table is per worker: no moves. */
	t->mobility = cfg->mobility && !config_proxy_protocol_on(cfg, "udp");
}

/* alternate-server and tls-alternate-server, in the order given (weights by repetition). */
static int
gen_init_alternates(struct gen *g, char **cause)
{
	const struct config *cfg = g->cfg;
	size_t i;

	if (cfg->alternate_server.n == 0 && cfg->tls_alternate_server.n == 0)
		return 0;
	if ((g->alternates = alternate_set_create()) == NULL)
		return cause_fail(cause, "out of memory");
	for (i = 0; i < cfg->alternate_server.n; i++) {
		if (alternate_set_add(g->alternates, ALTERNATE_PLAIN, cfg->alternate_server.v[i],
			cause) != 0)
			return -1;
	}
	for (i = 0; i < cfg->tls_alternate_server.n; i++) {
		if (alternate_set_add(g->alternates, ALTERNATE_TLS, cfg->tls_alternate_server.v[i],
			cause) != 0)
			return -1;
	}
	return 0;
}

/* proxy-protocol-from, parsed once (the options check validated each range). */
static int
gen_init_proxy(struct gen *g, char **cause)
{
	const struct config_strings *from = &g->cfg->proxy_protocol_from;
	const char *errstr;
	size_t i;

	if (from->n == 0)
		return 0;
	if ((g->proxy_from = calloc(from->n, sizeof *g->proxy_from)) == NULL)
		return cause_fail(cause, "out of memory");
	for (i = 0; i < from->n; i++) {
		if (peerpolicy_parse_range(from->v[i], &g->proxy_from[i], &errstr) != 0)
			return cause_fail(cause, "proxy-protocol-from %s: %s", from->v[i], errstr);
	}
	return 0;
}

/* An equal share of a server-wide amount; never 0 when the amount is not. */
static uint64_t
gen_share(uint64_t total, size_t nworkers)
{
	uint64_t share = total / (nworkers > 0 ? nworkers : 1);

	return total > 0 && share == 0 ? 1 : share;
}

static void
gen_init_setup(struct gen *g, const struct gen_fixed *fx)
{
	struct worker_setup *ws = &g->setup;

	ws->binding = &g->binding;
	ws->turn = &g->turn;
	ws->creds = &g->creds;
	ws->pool = fx->pool;
	ws->relays = fx->relays;
	ws->allocations = fx->allocations;
	ws->capacity = fx->capacity;
	ws->total_quota = (size_t)g->cfg->total_quota;
	ws->limits = fx->limits;
	/* bps-capacity: an equal share per worker, so the data path shares nothing. */
	ws->bps_capacity = (uint64_t)g->cfg->bps_capacity / (fx->nworkers > 0 ? fx->nworkers : 1);
	if (g->cfg->bps_capacity > 0 && ws->bps_capacity == 0)
		ws->bps_capacity = 1;
	ws->unauth_rate_limit = (uint64_t)g->cfg->unauth_rate_limit;
	/* unauth-answer-budget and stream-input-budget: an equal share per worker too. */
	ws->unauth_answer_budget = gen_share((uint64_t)g->cfg->unauth_answer_budget, fx->nworkers);
	ws->stream_input_budget =
	    (size_t)gen_share((uint64_t)g->cfg->stream_input_budget, fx->nworkers);
	ws->connlimit = fx->connlimit;
	ws->ssl_ctx = g->ssl_ctx;
	ws->dtls_ctx = g->dtls_ctx;
	ws->proxy_from = g->proxy_from;
	ws->nproxy_from = g->cfg->proxy_protocol_from.n;
	ws->proxy_udp = config_proxy_protocol_on(g->cfg, "udp");
	ws->udp = fx->udp;
	ws->nudp = fx->nudp;
	ws->fastpath = fx->fastpath;
	ws->statsdb = fx->statsdb;
	ws->sklookup = fx->sklookup;
	ws->min_port = (uint16_t)fx->boot->min_port;
	ws->max_port = (uint16_t)fx->boot->max_port;
	ws->verbose = g->cfg->verbose || g->cfg->debug;
	ws->user_stats = g->cfg->prometheus && g->cfg->prometheus_username_labels;
	ws->realm_stats = fx->realmstats;
	ws->generation = g->id;
}

int
gen_create(struct config *cfg, const struct gen_fixed *fx, const struct gen *prev, struct gen **gp,
    char **cause)
{
	struct gen *g;

	*gp = NULL;
	if ((g = calloc(1, sizeof *g)) == NULL) {
		config_free(cfg);
		return cause_fail(cause, "out of memory");
	}
	g->cfg = cfg;
	g->id = prev != NULL ? prev->id + 1 : 1;
	atomic_init(&g->users, 0);
	atomic_init(&g->pending, 0);
	if (cfg->software_attribute)
		g->binding.software = PACKAGE_NAME " " PACKAGE_VERSION;
	if (cfg->tls &&
	    tls_ctx_create(cfg->cert, cfg->pkey, cfg->cipher_list, &g->ssl_ctx, cause) != 0)
		goto fail;
	if (cfg->dtls &&
	    dtls_ctx_create(cfg->cert, cfg->pkey, cfg->cipher_list, &g->dtls_ctx, cause) != 0)
		goto fail;
	if (gen_init_creds(g, fx, cause) != 0 || gen_nonce_key(g, prev, cause) != 0 ||
	    gen_nonce_mac(g, cause) != 0 || gen_init_policy(g, fx, cause) != 0 ||
	    gen_init_alternates(g, cause) != 0)
		goto fail;
	if (gen_init_proxy(g, cause) != 0)
		goto fail;
	gen_init_turn(g, fx);
	gen_init_setup(g, fx);
	*gp = g;
	return 0;
fail:
	gen_free(g);
	return -1;
}

void
gen_free(struct gen *g)
{
	if (g == NULL)
		return;
	tls_ctx_free(g->ssl_ctx);
	SSL_CTX_free(g->dtls_ctx);
	peerpolicy_free(g->policy);
	alternate_set_free(g->alternates);
	free(g->proxy_from);
	creds_static_free(g->cstatic);
	explicit_bzero(g->turn.nonce_key, sizeof g->turn.nonce_key);
	integrity_key_free(g->nonce_mac);
	config_free(g->cfg);
	free(g->sw);
	free(g);
}

struct gen *
gen_of(const struct worker_setup *setup)
{
	return (struct gen *)(void *)((char *)(uintptr_t)setup - offsetof(struct gen, setup));
}
