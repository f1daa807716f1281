/*
 * The admin API's pure half: the route table (method, path, what it needs),
 * request parsing (path parameter, JSON body) and the JSON built from the
 * control commands' text answers and for the credential issuer. No sockets,
 * no event loop, no store: the fuzzer and the unit tests call it directly.
 */
#ifndef TURNPIKE_ADMINAPI_H
#define TURNPIKE_ADMINAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define ADMINAPI_PREFIX "/api/v1/"
/* Longest path parameter (a user name, a session id) after percent-decoding. */
#define ADMINAPI_PARAM_MAX 512
/* Largest request body; more is refused with 413. */
#define ADMINAPI_BODY_MAX 16384

enum adminapi_op {
	ADMINAPI_LOGIN,
	ADMINAPI_LOGOUT,
	ADMINAPI_ME,
	ADMINAPI_STATUS,
	ADMINAPI_SESSIONS,
	ADMINAPI_SESSION,
	ADMINAPI_SESSION_KILL,
	ADMINAPI_USERS,
	ADMINAPI_USER_ADD,
	ADMINAPI_USER_PASSWORD,
	ADMINAPI_USER_DELETE,
	ADMINAPI_SECRETS,
	ADMINAPI_SECRET_ADD,
	ADMINAPI_SECRET_DELETE,
	ADMINAPI_SECRET_ROTATE,
	ADMINAPI_REALM,
	ADMINAPI_REALM_SET,
	ADMINAPI_PEERS,
	ADMINAPI_PEER_ADD,
	ADMINAPI_PEER_DELETE,
	ADMINAPI_DRAIN,
	ADMINAPI_RELOAD,
	ADMINAPI_LOGLEVEL,
	ADMINAPI_ICE_SERVERS,
	ADMINAPI_OPENAPI,
	ADMINAPI_NOPS
};

/* What a route needs. */
#define ADMINAPI_PUBLIC 0x01 /* no session */
#define ADMINAPI_CHANGE 0x02 /* a change: CSRF token, audit line */
#define ADMINAPI_SUPER 0x04  /* superusers only (server-wide) */
#define ADMINAPI_BODY 0x08   /* a JSON object body */
#define ADMINAPI_APIKEY 0x10 /* an API key is accepted instead of a session */

struct adminapi_route {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *path;   /* "{x}" matches one segment, the parameter */
	enum adminapi_op op;
	unsigned int flags;
	const char *name; /* for the audit line */
};

extern const struct adminapi_route adminapi_routes[];
extern const size_t adminapi_nroutes;

struct adminapi_req {
	const struct adminapi_route *route;
	char param[ADMINAPI_PARAM_MAX + 1]; /* the decoded {x}, "" when none */
	json_t *body;                       /* an object when the route takes one, else NULL */
};

/*
 * Finds the route for method and path (no query) and parses body. 0, or -1
 * with *status (400, 404, 405, 413) and the reason in *errstr (static).
 */
int adminapi_parse(const char *method, const char *path, const char *body, size_t len,
    struct adminapi_req *out, int *status, const char **errstr);
void adminapi_req_clear(struct adminapi_req *r);
/* A string member of an object, or NULL. */
const char *adminapi_str(const json_t *obj, const char *key);

/*
 * The "sessions" control answer ("session ID key value ...", one a line) as a
 * JSON array of objects; numbers become numbers, peer-addrs an array. Only
 * realm's sessions when realm is not NULL, only session id when id is not NULL.
 */
json_t *adminapi_sessions_json(const char *text, size_t len, const char *realm, const char *id);
/* The "status" answer ("key value" or "key k1 v1 k2 v2 ..." lines) as an object. */
json_t *adminapi_status_json(const char *text, size_t len);

/* What the credential issuer needs. */
struct adminapi_ice {
	const char *const *hosts; /* addresses or names, IPv6 without brackets */
	size_t nhosts;
	int port;     /* listening-port */
	int tls_port; /* tls-listening-port */
	bool udp, tcp, tls;
	const char *user; /* the application's user id, may be "" */
	uint64_t now;     /* unix seconds */
	uint32_t ttl;     /* seconds */
	char separator;   /* rest-api-separator */
	bool sha256;      /* rest-api-hmac=sha256 */
	const char *secret;
};

/* {"iceServers": [...], "ttl": S, "expires": T}; -1 with *errstr. */
int adminapi_ice_servers(const struct adminapi_ice *in, json_t **out, const char **errstr);

#endif
