/*
 * The web console and admin API (web-admin): evhttp on the main loop, HTTPS
 * with the server's certificate (plain HTTP only on loopback without one).
 * Admins are the store's admin_user rows; a login gives an HttpOnly,
 * SameSite=Strict session cookie and a CSRF token that every change must
 * carry (X-CSRF-Token). Sessions, kill, drain, reload and the log level go
 * through the control commands (control_exec), the same code paths as the
 * control socket; users, secrets, realm options and peer ranges through the
 * store. Every change is one audit log line; no secret is logged.
 */
#ifndef TURNPIKE_ADMIN_H
#define TURNPIKE_ADMIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct admin;
struct config;
struct control_source;
struct event_base;
struct portpool;

/* Idle time before a client is dropped (headers or body too slow). */
#define ADMIN_TIMEOUT_S 10
/* Admin sessions held at once; the least recently used goes first. */
#define ADMIN_SESSIONS_MAX 64
#define ADMIN_SESSION_IDLE_S 1800
#define ADMIN_SESSION_MAX_S 28800

/* What the console reads; everything pointed to outlives it. */
struct admin_source {
	const struct control_source *csrc; /* the control commands' source */
	/* The configuration in force (a reload may change it); arg is config_arg. */
	const struct config *(*config)(void *arg);
	void *config_arg;
	const atomic_bool *draining;
	struct portpool *pool;
	size_t naddrs;         /* relay addresses in the pool */
	size_t ports_per_addr; /* max-port - min-port + 1 */
	const char *dbpath;    /* the store (userdb) */
	SSL_CTX *tls;          /* NULL: plain HTTP (loopback only) */
};

/* Binds addr (port set) and serves on base; -1 with *cause. */
int admin_create(struct event_base *base, const struct sockaddr *addr,
    const struct admin_source *src, struct admin **ap, char **cause);
/* After the workers have stopped: pending answers go out 503, everything closes. */
void admin_free(struct admin *a);

/* The console's files, embedded at build time (admin_assets.c, made by embed.sh). */
struct admin_asset {
	const char *path; /* as served: "/", "/app.js", "/api/v1/openapi.json" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};
extern const struct admin_asset admin_assets[];
extern const size_t admin_nassets;

#endif
