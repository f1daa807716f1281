/*
 * The web console and admin API (web-admin): evhttp on the main loop, HTTPS
 * with the server's certificate (plain HTTP only on loopback without one).
 * Admins are the store's admin_user rows; a login gives an HttpOnly,
 * SameSite=Strict session cookie and a CSRF token that every change must
 * carry (X-CSRF-Token). Sessions, kill, drain, reload and the log level go
 * through the control commands (admin_source.exec), the same code paths as the
 * control socket; users, secrets, realm options and peer ranges through the
 * store. Every change is one audit log line; no secret is logged.
 */
#ifndef TURNPIKE_ADMIN_H
#define TURNPIKE_ADMIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct admin;
struct event_base;

/* Idle time before a client is dropped (headers or body too slow). */
#define ADMIN_TIMEOUT_S 10
/* Admin sessions held at once; the least recently used goes first. */
#define ADMIN_SESSIONS_MAX 64
#define ADMIN_SESSION_IDLE_S 1800
#define ADMIN_SESSION_MAX_S 28800

/* The configuration in force as the console needs it; valid until the loop runs again. */
struct admin_settings {
	const char *realm;                 /* the default realm, NULL: none */
	const struct sockaddr_storage *ip; /* listening-ip (any-addresses are skipped) */
	size_t nip;
	uint16_t port, tls_port;
	bool udp, tcp, tls;
	bool use_auth_secret;
	const char *auth_secret; /* the first static-auth-secret, NULL: the store's */
	char rest_separator;
	bool rest_sha256; /* rest-api-hmac sha256, else sha1 */
};

/* One control command's answer lines, and NULL or the reason of "error: ...". */
typedef void (*admin_exec_fn)(void *arg, const char *out, size_t len, const char *err);

/*
 * What the daemon gives the console; everything pointed to outlives it. The
 * callbacks run on the main loop with arg.
 */
struct admin_source {
	/*
	 * Runs one control-socket command line (the same code paths as the
	 * socket); done runs exactly once, possibly before exec returns. -1: not
	 * run (out of memory), done is not called.
	 */
	int (*exec)(void *arg, const char *line, admin_exec_fn done, void *done_arg);
	/* The configuration in force (a reload may change it). */
	void (*settings)(void *arg, struct admin_settings *out);
	/* Relay ports in use on relay address i (i < naddrs). */
	size_t (*ports_used)(void *arg, size_t i);
	void *arg;
	const atomic_bool *draining;
	size_t naddrs;         /* relay addresses */
	size_t ports_per_addr; /* max-port - min-port + 1 */
	const char *dbpath;    /* the store (userdb) */
	SSL_CTX *tls;          /* NULL: plain HTTP (loopback only) */
};

/* Serves on fd (a bound TCP socket, taken even on error) on base; -1 with *cause. */
int admin_create(struct event_base *base, int fd, const struct admin_source *src, struct admin **ap,
    char **cause);
/*
 * After the workers have stopped and the commands behind exec have ended
 * (their pending answers call done): what is left goes out 503, everything closes.
 */
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
