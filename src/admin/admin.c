/*
 * The web console and admin API (admin.h): evhttp on the main loop. A
 * request is parsed by adminapi.c, authenticated here (session cookie and
 * CSRF token, or an API key for the issuer), then served by one handler of
 * the op table: the store for users, secrets, realm options and peer ranges,
 * the daemon's exec (admin_source) for what the control socket does.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "turnpike/addr.h"
#include "turnpike/admin.h"
#include "turnpike/adminapi.h"
#include "turnpike/cause.h"
#include "turnpike/hex.h"
#include "turnpike/httpd.h"
#include "turnpike/log.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/random.h"
#include "turnpike/store.h"
#include "turnpike/tbucket.h"

#define ADMIN_HEADERS_MAX 8192
#define ADMIN_BACKLOG 64
#define ADMIN_COOKIE "tp_session"
#define ADMIN_TOKEN_BYTES 32
/* Failed logins: each costs ADMIN_FAIL_COST units of a bucket of ADMIN_FAIL_BURST refilled
 * at one unit a second: five failures at once, then one a minute per source. */
#define ADMIN_FAIL_COST 60
#define ADMIN_FAIL_BURST 300
#define ADMIN_FAIL_SOURCES 1024
#define ADMIN_TTL_DEFAULT 3600
#define ADMIN_TTL_MAX 604800
#define ADMIN_SECRET_ID_LEN 12

struct admin_session {
	char token[2 * ADMIN_TOKEN_BYTES + 1]; /* "" when the slot is free */
	char csrf[2 * ADMIN_TOKEN_BYTES + 1];
	char user[STORE_ADMIN_NAME_MAX + 1];
	char realm[STORE_REALM_MAX + 1];
	bool super; /* admin_user.realm is empty: every realm */
	uint64_t created_s, last_s;
};

struct admin_call;

struct admin {
	const struct admin_source *src;
	struct evhttp *http;
	struct store *store;
	struct iplimit *fails;
	struct admin_session sessions[ADMIN_SESSIONS_MAX];
	LIST_HEAD(, admin_call) calls; /* waiting for the control commands */
};

/* One request being served. */
struct admin_call {
	struct admin *a;
	struct evhttp_request *req;
	struct adminapi_req ar;
	struct evkeyvalq query;
	bool has_query;
	const struct admin_session *sess; /* NULL: public, or an API key for every realm */
	struct admin_session keysess;     /* a realm-scoped API key's view, never stored */
	char who[STORE_APIKEY_NAME_MAX + 16];
	char from[ADDR_STRLEN];
	char realm[STORE_REALM_MAX + 1]; /* the realm the call acts on */
	bool pending;                    /* on a->calls, waiting for src->exec */
	LIST_ENTRY(admin_call) entry;
};

typedef void (*admin_handler)(struct admin_call *c);

static uint64_t
admin_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void
admin_settings(const struct admin *a, struct admin_settings *set)
{
	memset(set, 0, sizeof *set);
	a->src->settings(a->src->arg, set);
}

/* Printable and short for a log line: anything else becomes '?'. */
static void
admin_sanitize(const char *in, char *out, size_t cap)
{
	size_t i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < cap; i++)
		out[i] = in[i] > 0x20 && in[i] < 0x7f && in[i] != '"' ? in[i] : '?';
	out[i] = '\0';
}

/* The audit line of a change: who, what, on what, from where, and the outcome. */
static void
admin_audit(const struct admin_call *c, int status)
{
	char target[96], who[64];

	if (c->ar.route == NULL ||
	    !(c->ar.route->flags & ADMINAPI_CHANGE || c->ar.route->op == ADMINAPI_LOGIN))
		return;
	admin_sanitize(c->ar.param, target, sizeof target);
	admin_sanitize(c->who, who, sizeof who);
	log_info("admin audit: admin %s from %s %s%s%s realm \"%s\" status %d", who[0] ? who : "-",
	    c->from, c->ar.route->name, target[0] != '\0' ? " " : "", target, c->realm, status);
}

static void
admin_call_free(struct admin_call *c)
{
	if (c->pending)
		LIST_REMOVE(c, entry);
	if (c->has_query)
		evhttp_clear_headers(&c->query);
	adminapi_req_clear(&c->ar);
	free(c);
}

/* Sends o (stolen; NULL: {}) with status and ends the call. */
static void
admin_reply(struct admin_call *c, int status, json_t *o)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	struct evbuffer *b = evbuffer_new();
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (b != NULL)
		evbuffer_add_printf(b, "%s\n", text != NULL ? text : "{}");
	httpd_send(c->req, status, NULL, b);
	if (b != NULL)
		evbuffer_free(b);
	admin_audit(c, status);
	free(text);
	json_decref(o);
	admin_call_free(c);
}

static void
admin_error(struct admin_call *c, int status, const char *why)
{
	admin_reply(c, status, json_pack("{s:s}", "error", why));
}

/* A store failure: "no such ..." is 404, a bad value 400. */
static void
admin_store_error(struct admin_call *c, char *cause)
{
	const char *why = cause != NULL ? cause : "out of memory";
	int status = strncmp(why, "no such", 7) == 0 ? 404 : 400;

	admin_error(c, status, why);
	free(cause);
}

static const char *
admin_query(struct admin_call *c, const char *key)
{
	return c->has_query ? evhttp_find_header(&c->query, key) : NULL;
}

/*
 * The realm a call acts on: a realm admin's own (asking for another is 403);
 * for a superuser the one asked for (query or body "realm"), else the server's.
 * -1 when the call has been answered.
 */
static int
admin_realm(struct admin_call *c)
{
	const char *asked = admin_query(c, "realm");
	struct admin_settings set;

	if (asked == NULL && c->ar.body != NULL)
		asked = adminapi_str(c->ar.body, "realm");
	if (c->sess != NULL && !c->sess->super) {
		if (asked != NULL && strcmp(asked, c->sess->realm) != 0) {
			admin_error(c, 403, "this admin may only act on its own realm");
			return -1;
		}
		asked = c->sess->realm;
	}
	if (asked == NULL) {
		admin_settings(c->a, &set);
		asked = set.realm != NULL ? set.realm : "";
	}
	snprintf(c->realm, sizeof c->realm, "%s", asked);
	return 0;
}

/* A superuser listing without ?realm sees every realm (NULL). */
static const char *
admin_list_realm(struct admin_call *c)
{
	if (c->sess != NULL && c->sess->super && admin_query(c, "realm") == NULL)
		return NULL;
	return c->realm;
}

static struct admin_session *
admin_session_find(struct admin *a, const char *token)
{
	uint64_t now = admin_now_s();
	size_t i;

	if (token == NULL || strlen(token) != 2 * ADMIN_TOKEN_BYTES)
		return NULL;
	for (i = 0; i < ADMIN_SESSIONS_MAX; i++) {
		struct admin_session *s = &a->sessions[i];

		if (s->token[0] == '\0' || CRYPTO_memcmp(s->token, token, sizeof s->token) != 0)
			continue;
		if (now - s->last_s > ADMIN_SESSION_IDLE_S ||
		    now - s->created_s > ADMIN_SESSION_MAX_S) {
			explicit_bzero(s, sizeof *s);
			return NULL;
		}
		s->last_s = now;
		return s;
	}
	return NULL;
}

/* The session cookie's value in the Cookie header, copied into out. */
static const char *
admin_cookie(struct evhttp_request *req, char *out, size_t cap)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
	const char *p = h;
	size_t n;

	while (p != NULL && (p = strstr(p, ADMIN_COOKIE "=")) != NULL) {
		if (p == h || p[-1] == ' ' || p[-1] == ';') {
			p += strlen(ADMIN_COOKIE "=");
			n = strcspn(p, "; ");
			if (n >= cap)
				return NULL;
			memcpy(out, p, n);
			out[n] = '\0';
			return out;
		}
		p++;
	}
	return NULL;
}

static int
admin_token(char *out)
{
	uint8_t b[ADMIN_TOKEN_BYTES];

	if (random_bytes(b, sizeof b) != 0)
		return -1;
	hex_encode(out, b, sizeof b);
	explicit_bzero(b, sizeof b);
	return 0;
}

/* A new session for user in realm, replacing the least recently used. */
static struct admin_session *
admin_session_new(struct admin *a, const char *user, const char *realm)
{
	struct admin_session *s = &a->sessions[0];
	size_t i;

	for (i = 0; i < ADMIN_SESSIONS_MAX; i++) {
		if (a->sessions[i].token[0] == '\0') {
			s = &a->sessions[i];
			break;
		}
		if (a->sessions[i].last_s < s->last_s)
			s = &a->sessions[i];
	}
	explicit_bzero(s, sizeof *s);
	if (admin_token(s->token) != 0 || admin_token(s->csrf) != 0) {
		explicit_bzero(s, sizeof *s);
		return NULL;
	}
	snprintf(s->user, sizeof s->user, "%s", user);
	snprintf(s->realm, sizeof s->realm, "%s", realm);
	s->super = realm[0] == '\0';
	s->created_s = s->last_s = admin_now_s();
	return s;
}

static json_t *
admin_me(const struct admin_session *s)
{
	return json_pack("{s:s,s:s,s:b,s:s}", "user", s->user, "realm", s->realm, "superuser",
	    s->super, "csrf", s->csrf);
}

struct admin_find_realm {
	const char *name;
	char realm[STORE_REALM_MAX + 1];
};

static int
admin_find_realm_row(void *arg, const struct store_row *row)
{
	struct admin_find_realm *f = arg;

	if (row->name != NULL && strcmp(row->name, f->name) == 0)
		snprintf(f->realm, sizeof f->realm, "%s", row->realm != NULL ? row->realm : "");
	return 0;
}

static bool
admin_source_key(const struct admin_call *c, uint8_t *key, size_t *len)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(c->req);
	const struct sockaddr *sa = conn != NULL ? evhttp_connection_get_addr(conn) : NULL;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		*len = 16;
	} else {
		memcpy(key, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		*len = 4;
	}
	return true;
}

static void
admin_login(struct admin_call *c)
{
	const char *user = adminapi_str(c->ar.body, "user");
	const char *pw = adminapi_str(c->ar.body, "password");
	struct admin_find_realm f = {user, ""};
	struct admin_session *s;
	uint8_t key[16];
	size_t klen = 0;
	char cookie[256], *cause = NULL;
	uint64_t now_ms = admin_now_s() * 1000;
	bool ok = false, keyed = admin_source_key(c, key, &klen);

	snprintf(c->who, sizeof c->who, "%s", user != NULL ? user : "-");
	if (keyed && !iplimit_has(c->a->fails, key, klen, ADMIN_FAIL_COST, now_ms)) {
		admin_error(c, 429, "too many failed logins from this address: try again later");
		return;
	}
	if (user == NULL || pw == NULL) {
		admin_error(c, 400, "user and password are required");
		return;
	}
	if (store_admin_verify(c->a->store, user, pw, &ok, &cause) != 0) {
		free(cause); /* a name the store refuses is a failed login like any other */
		ok = false;
	}
	if (ok && store_admin_list(c->a->store, admin_find_realm_row, &f, &cause) != 0) {
		admin_error(c, 500, "the store cannot be read");
		free(cause);
		return;
	}
	if (!ok) {
		if (keyed)
			iplimit_take_n(c->a->fails, key, klen, ADMIN_FAIL_COST, now_ms);
		admin_error(c, 401, "wrong user name or password");
		return;
	}
	if ((s = admin_session_new(c->a, user, f.realm)) == NULL) {
		admin_error(c, 500, "no random bytes");
		return;
	}
	snprintf(c->realm, sizeof c->realm, "%s", s->realm);
	snprintf(cookie, sizeof cookie, ADMIN_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s",
	    s->token, c->a->src->tls != NULL ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie", cookie);
	admin_reply(c, 200, admin_me(s));
}

static void
admin_logout(struct admin_call *c)
{
	struct admin_session *s = (struct admin_session *)(uintptr_t)c->sess;

	explicit_bzero(s, sizeof *s);
	c->sess = NULL;
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	    ADMIN_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	admin_reply(c, 200, NULL);
}

static void
admin_me_op(struct admin_call *c)
{
	admin_reply(c, 200, admin_me(c->sess));
}

/* ---- through the control commands ---- */

typedef void (*admin_control_fn)(struct admin_call *c, const char *out, size_t len);

struct admin_control {
	struct admin_call *c;
	admin_control_fn fn;
};

static void
admin_control_done(void *arg, const char *out, size_t len, const char *err)
{
	struct admin_control *ac = arg;
	struct admin_call *c = ac->c;
	admin_control_fn fn = ac->fn;

	free(ac);
	if (err != NULL)
		admin_error(c,
		    strncmp(err, "no such", 7) == 0                ? 404
			: strncmp(err, "server stopping", 15) == 0 ? 503
								   : 400,
		    err);
	else
		fn(c, out, len);
}

/* Runs line (words made of checked characters only) and calls fn with the answer. */
static void
admin_control(struct admin_call *c, const char *line, admin_control_fn fn)
{
	struct admin_control *ac;

	if ((ac = calloc(1, sizeof *ac)) == NULL) {
		admin_error(c, 500, "out of memory");
		return;
	}
	ac->c = c;
	ac->fn = fn;
	LIST_INSERT_HEAD(&c->a->calls, c, entry);
	c->pending = true;
	if (c->a->src->exec(c->a->src->arg, line, admin_control_done, ac) != 0) {
		free(ac);
		admin_error(c, 500, "out of memory");
	}
}

static void
admin_status_done(struct admin_call *c, const char *out, size_t len)
{
	const struct admin_source *src = c->a->src;
	json_t *o = adminapi_status_json(out, len);
	uint64_t used = 0, total = (uint64_t)src->naddrs * src->ports_per_addr;
	bool draining = atomic_load(src->draining);
	size_t i;

	for (i = 0; i < src->naddrs; i++)
		used += src->ports_used(src->arg, i);
	json_object_set_new(o, "draining", json_boolean(draining));
	json_object_set_new(o, "relay-ports",
	    json_pack("{s:I,s:I}", "used", (json_int_t)used, "total", (json_int_t)total));
	json_object_set_new(o, "ready",
	    json_boolean(
		!draining && total > 0 && (total - (used < total ? used : total)) * 20 >= total));
	json_object_set_new(o, "realm", json_string(c->realm));
	admin_reply(c, 200, o);
}

static void
admin_status(struct admin_call *c)
{
	if (admin_realm(c) == 0)
		admin_control(c, "status", admin_status_done);
}

/* A realm admin sees the sessions of its realm only. */
static const char *
admin_session_realm(const struct admin_call *c)
{
	return c->sess != NULL && !c->sess->super ? c->sess->realm : NULL;
}

static void
admin_sessions_done(struct admin_call *c, const char *out, size_t len)
{
	admin_reply(c, 200, adminapi_sessions_json(out, len, admin_session_realm(c), NULL));
}

static void
admin_sessions(struct admin_call *c)
{
	admin_control(c, "sessions", admin_sessions_done);
}

static void
admin_session_done(struct admin_call *c, const char *out, size_t len)
{
	json_t *a = adminapi_sessions_json(out, len, admin_session_realm(c), c->ar.param);

	if (json_array_size(a) == 0) {
		json_decref(a);
		admin_error(c, 404, "no such session");
		return;
	}
	admin_reply(c, 200, json_incref(json_array_get(a, 0)));
	json_decref(a);
}

/* A session id is "W-N": anything else never reaches the control line. */
static bool
admin_session_id_ok(const char *id)
{
	return id[0] != '\0' && strlen(id) < 48 && strspn(id, "0123456789-") == strlen(id);
}

static void
admin_session(struct admin_call *c)
{
	if (!admin_session_id_ok(c->ar.param)) {
		admin_error(c, 404, "no such session");
		return;
	}
	admin_control(c, "sessions", admin_session_done);
}

static void
admin_kill_done(struct admin_call *c, const char *out, size_t len)
{
	(void)out, (void)len;
	admin_reply(c, 200, json_pack("{s:s}", "killed", c->ar.param));
}

/* Before a realm admin kills: the session must be one of its realm's. */
static void
admin_kill_check(struct admin_call *c, const char *out, size_t len)
{
	char line[64];
	json_t *a = adminapi_sessions_json(out, len, admin_session_realm(c), c->ar.param);
	size_t n = json_array_size(a);

	json_decref(a);
	if (n == 0) {
		admin_error(c, 404, "no such session");
		return;
	}
	LIST_REMOVE(c, entry);
	c->pending = false;
	snprintf(line, sizeof line, "kill %.48s", c->ar.param); /* checked: digits and '-' */
	admin_control(c, line, admin_kill_done);
}

static void
admin_kill(struct admin_call *c)
{
	if (!admin_session_id_ok(c->ar.param)) {
		admin_error(c, 404, "no such session");
		return;
	}
	admin_control(c, "sessions", admin_kill_check);
}

static void
admin_drain_done(struct admin_call *c, const char *out, size_t len)
{
	admin_reply(c, 200, adminapi_status_json(out, len));
}

static void
admin_drain(struct admin_call *c)
{
	admin_control(c, "drain", admin_drain_done);
}

static void
admin_reload(struct admin_call *c)
{
	admin_control(c, "reload", admin_drain_done);
}

static void
admin_loglevel(struct admin_call *c)
{
	const char *level = adminapi_str(c->ar.body, "level");
	char line[64];

	if (level == NULL || level[0] == '\0' || strlen(level) > 16 ||
	    strspn(level, "abcdefghijklmnopqrstuvwxyz") != strlen(level)) {
		admin_error(c, 400, "level: debug, info, warning or error");
		return;
	}
	snprintf(line, sizeof line, "loglevel %s", level);
	admin_control(c, line, admin_drain_done);
}

/* ---- through the store ---- */

struct admin_rows {
	json_t *a;
	const char *keys[3]; /* JSON names of realm, name, value; NULL: left out */
};

static int
admin_row(void *arg, const struct store_row *row)
{
	struct admin_rows *r = arg;
	const char *v[3] = {row->realm, row->name, row->value};
	json_t *o = json_object();
	int i;

	for (i = 0; i < 3; i++) {
		if (r->keys[i] != NULL)
			json_object_set_new(o, r->keys[i], json_string(v[i] != NULL ? v[i] : ""));
	}
	return json_array_append_new(r->a, o);
}

static void
admin_users(struct admin_call *c)
{
	struct admin_rows r = {NULL, {"realm", "name", NULL}};
	char *cause = NULL;

	if (admin_realm(c) != 0)
		return;
	r.a = json_array();
	if (store_user_list(c->a->store, admin_list_realm(c), admin_row, &r, &cause) != 0) {
		json_decref(r.a);
		admin_store_error(c, cause);
		return;
	}
	admin_reply(c, 200, r.a);
}

static void
admin_user_add(struct admin_call *c)
{
	const char *name = adminapi_str(c->ar.body, "name");
	const char *pw = adminapi_str(c->ar.body, "password");
	char *cause = NULL;

	if (admin_realm(c) != 0)
		return;
	snprintf(c->ar.param, sizeof c->ar.param, "%s", name != NULL ? name : "");
	if (name == NULL || pw == NULL || pw[0] == '\0') {
		admin_error(c, 400, "name and password are required");
		return;
	}
	if (store_user_set(c->a->store, c->realm, name, pw, &cause) != 0) {
		admin_store_error(c, cause);
		return;
	}
	admin_reply(c, 201, json_pack("{s:s,s:s}", "realm", c->realm, "name", name));
}

static void
admin_user_password(struct admin_call *c)
{
	const char *pw = adminapi_str(c->ar.body, "password");
	struct creds_result res;
	char *cause = NULL;
	int rc;

	if (admin_realm(c) != 0)
		return;
	if (pw == NULL || pw[0] == '\0') {
		admin_error(c, 400, "password is required");
		return;
	}
	rc = store_user_lookup(c->a->store, c->realm, c->ar.param, &res, &cause);
	explicit_bzero(&res, sizeof res);
	if (rc != CREDS_FOUND) {
		free(cause);
		admin_error(c, 404, "no such user");
		return;
	}
	if (store_user_set(c->a->store, c->realm, c->ar.param, pw, &cause) != 0) {
		admin_store_error(c, cause);
		return;
	}
	admin_reply(c, 200, json_pack("{s:s,s:s}", "realm", c->realm, "name", c->ar.param));
}

static void
admin_user_delete(struct admin_call *c)
{
	char *cause = NULL;

	if (admin_realm(c) != 0)
		return;
	if (store_user_delete(c->a->store, c->realm, c->ar.param, &cause) != 0) {
		admin_store_error(c, cause);
		return;
	}
	admin_reply(c, 200, NULL);
}

/* A secret's id: the first hex digits of its SHA-256 (lists never show the secret). */
static void
admin_secret_id(const char *secret, char id[ADMIN_SECRET_ID_LEN + 1])
{
	uint8_t md[32];
	char hex[65];
	unsigned int n = 0;

	EVP_Digest(secret, strlen(secret), md, &n, EVP_sha256(), NULL);
	hex_encode(hex, md, sizeof md);
	memcpy(id, hex, ADMIN_SECRET_ID_LEN);
	id[ADMIN_SECRET_ID_LEN] = '\0';
}

static int
admin_secret_row(void *arg, const struct store_row *row)
{
	json_t *a = arg;
	char id[ADMIN_SECRET_ID_LEN + 1], masked[16];
	const char *v = row->value != NULL ? row->value : "";

	admin_secret_id(v, id);
	snprintf(masked, sizeof masked, "%.2s****", strlen(v) >= 8 ? v : "");
	return json_array_append_new(a,
	    json_pack("{s:s,s:s,s:s,s:i}", "realm", row->realm != NULL ? row->realm : "", "id", id,
		"masked", masked, "length", (int)strlen(v)));
}

static void
admin_secrets(struct admin_call *c)
{
	json_t *a;
	char *cause = NULL;

	if (admin_realm(c) != 0)
		return;
	a = json_array();
	if (store_secret_list(c->a->store, admin_list_realm(c), admin_secret_row, a, &cause) != 0) {
		json_decref(a);
		admin_store_error(c, cause);
		return;
	}
	admin_reply(c, 200, a);
}

/* A fresh random secret: 32 bytes in hex. */
static int
admin_secret_make(char out[65])
{
	uint8_t b[32];

	if (random_bytes(b, sizeof b) != 0)
		return -1;
	hex_encode(out, b, sizeof b);
	return 0;
}

static void
admin_secret_reply(struct admin_call *c, int status, const char *secret, bool show)
{
	char id[ADMIN_SECRET_ID_LEN + 1];

	admin_secret_id(secret, id);
	snprintf(c->ar.param, sizeof c->ar.param, "%s", id);
	admin_reply(c, status,
	    show ? json_pack("{s:s,s:s,s:s}", "realm", c->realm, "id", id, "secret", secret)
		 : json_pack("{s:s,s:s}", "realm", c->realm, "id", id));
}

static void
admin_secret_add(struct admin_call *c)
{
	const char *given = adminapi_str(c->ar.body, "secret");
	char made[65], *cause = NULL;

	if (admin_realm(c) != 0)
		return;
	if (given == NULL && admin_secret_make(made) != 0) {
		admin_error(c, 500, "no random bytes");
		return;
	}
	if (store_secret_add(c->a->store, c->realm, given != NULL ? given : made, &cause) != 0) {
		admin_store_error(c, cause);
		return;
	}
	admin_secret_reply(c, 201, given != NULL ? given : made, given == NULL);
	explicit_bzero(made, sizeof made);
}

struct admin_secret_find {
	const char *id;
	const char *keep; /* rotate: every other one is collected */
	char found[STORE_SECRET_MAX + 1];
	struct admin_secret_find_list {
		char v[8][STORE_SECRET_MAX + 1];
		size_t n;
	} others;
};

static int
admin_secret_find_row(void *arg, const struct store_row *row)
{
	struct admin_secret_find *f = arg;
	char id[ADMIN_SECRET_ID_LEN + 1];

	if (row->value == NULL)
		return 0;
	if (f->keep != NULL) {
		if (strcmp(row->value, f->keep) != 0 && f->others.n < 8)
			snprintf(f->others.v[f->others.n++], STORE_SECRET_MAX + 1, "%s",
			    row->value);
		return 0;
	}
	admin_secret_id(row->value, id);
	if (strcmp(id, f->id) == 0)
		snprintf(f->found, sizeof f->found, "%s", row->value);
	return 0;
}

static void
admin_secret_delete(struct admin_call *c)
{
	struct admin_secret_find *f;
	char *cause = NULL;
	int rc;

	if (admin_realm(c) != 0)
		return;
	if ((f = calloc(1, sizeof *f)) == NULL) {
		admin_error(c, 500, "out of memory");
		return;
	}
	f->id = c->ar.param;
	rc = store_secret_list(c->a->store, c->realm, admin_secret_find_row, f, &cause);
	if (rc == 0 && f->found[0] == '\0')
		rc = cause_fail(&cause, "no such secret");
	if (rc == 0)
		rc = store_secret_delete(c->a->store, c->realm, f->found, &cause);
	explicit_bzero(f, sizeof *f);
	free(f);
	if (rc != 0)
		admin_store_error(c, cause);
	else
		admin_reply(c, 200, NULL);
}

/* A new secret; then the realm's older ones go (credentials made with them stop working). */
static void
admin_secret_rotate(struct admin_call *c)
{
	struct admin_secret_find *f;
	char made[65], *cause = NULL;
	size_t i;
	int rc;

	if (admin_realm(c) != 0)
		return;
	if ((f = calloc(1, sizeof *f)) == NULL || admin_secret_make(made) != 0) {
		free(f);
		admin_error(c, 500, "out of memory");
		return;
	}
	f->keep = made;
	rc = store_secret_add(c->a->store, c->realm, made, &cause);
	if (rc == 0)
		rc = store_secret_list(c->a->store, c->realm, admin_secret_find_row, f, &cause);
	for (i = 0; rc == 0 && i < f->others.n; i++)
		rc = store_secret_delete(c->a->store, c->realm, f->others.v[i], &cause);
	explicit_bzero(f, sizeof *f);
	free(f);
	if (rc != 0)
		admin_store_error(c, cause);
	else
		admin_secret_reply(c, 200, made, true);
	explicit_bzero(made, sizeof made);
}

static int
admin_realm_row(void *arg, const struct store_row *row)
{
	json_t *o = arg;
	char *end;
	unsigned long long v = strtoull(row->value != NULL ? row->value : "0", &end, 10);

	return json_object_set_new(o, row->name != NULL ? row->name : "?",
	    json_integer((json_int_t)(v > INT64_MAX ? INT64_MAX : v)));
}

static void
admin_realm_get(struct admin_call *c)
{
	json_t *opts;
	char *cause = NULL;

	if (admin_realm(c) != 0)
		return;
	opts = json_object();
	if (store_realm_list(c->a->store, c->realm, admin_realm_row, opts, &cause) != 0) {
		json_decref(opts);
		admin_store_error(c, cause);
		return;
	}
	admin_reply(c, 200, json_pack("{s:s,s:o}", "realm", c->realm, "options", opts));
}

static void
admin_realm_set(struct admin_call *c)
{
	static const char *const opts[] = {"max-bps", "total-quota", "user-quota"};
	json_t *v;
	char *cause = NULL;
	size_t i;

	if (admin_realm(c) != 0)
		return;
	for (i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		if ((v = json_object_get(c->ar.body, opts[i])) == NULL)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			admin_error(c, 400, "realm options are integers >= 0");
			return;
		}
		if (store_realm_set(c->a->store, c->realm, opts[i], (uint64_t)json_integer_value(v),
			&cause) != 0) {
			admin_store_error(c, cause);
			return;
		}
	}
	admin_realm_get(c);
}

static void
admin_peers(struct admin_call *c)
{
	struct admin_rows r = {NULL, {"realm", "action", "range"}};
	char *cause = NULL;

	if (admin_realm(c) != 0)
		return;
	r.a = json_array();
	if (store_peer_list(c->a->store, admin_list_realm(c), admin_row, &r, &cause) != 0) {
		json_decref(r.a);
		admin_store_error(c, cause);
		return;
	}
	admin_reply(c, 200, r.a);
}

/* action "allow" or "deny" and a range peerpolicy parses; -1 when answered. */
static int
admin_peer_args(struct admin_call *c, const char *action, const char *range, bool *allow)
{
	struct peerpolicy_range pr;
	const char *errstr;

	if (action == NULL || range == NULL ||
	    (strcmp(action, "allow") != 0 && strcmp(action, "deny") != 0)) {
		admin_error(c, 400, "action (allow or deny) and range are required");
		return -1;
	}
	if (peerpolicy_parse_range(range, &pr, &errstr) != 0) {
		admin_error(c, 400, errstr);
		return -1;
	}
	*allow = strcmp(action, "allow") == 0;
	snprintf(c->ar.param, sizeof c->ar.param, "%s %s", action, range);
	return 0;
}

static void
admin_peer_add(struct admin_call *c)
{
	const char *range = adminapi_str(c->ar.body, "range");
	char *cause = NULL;
	bool allow;

	if (admin_realm(c) != 0 ||
	    admin_peer_args(c, adminapi_str(c->ar.body, "action"), range, &allow) != 0)
		return;
	if (store_peer_add(c->a->store, allow, c->realm, range, &cause) != 0) {
		admin_store_error(c, cause);
		return;
	}
	admin_reply(c, 201, NULL);
}

static void
admin_peer_delete(struct admin_call *c)
{
	const char *range = admin_query(c, "range");
	char *cause = NULL;
	bool allow;

	if (admin_realm(c) != 0 || admin_peer_args(c, admin_query(c, "action"), range, &allow) != 0)
		return;
	if (store_peer_remove(c->a->store, allow, c->realm, range, &cause) != 0) {
		admin_store_error(c, cause);
		return;
	}
	admin_reply(c, 200, NULL);
}

/* ---- the credential issuer ---- */

struct admin_first_secret {
	char v[STORE_SECRET_MAX + 1];
};

static int
admin_first_secret_row(void *arg, const struct store_row *row)
{
	struct admin_first_secret *f = arg;

	if (f->v[0] == '\0' && row->value != NULL)
		snprintf(f->v, sizeof f->v, "%s", row->value);
	return 0;
}

/* The hosts to offer: the listening addresses, else the host the client asked for. */
static size_t
admin_ice_hosts(struct admin_call *c, const struct admin_settings *set, char (*buf)[ADDR_STRLEN],
    const char **hosts, size_t max)
{
	const char *h = evhttp_request_get_host(c->req);
	size_t i, n = 0;

	for (i = 0; i < set->nip && n < max; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&set->ip[i];

		if (addr_is_any(sa))
			continue;
		addr_fmt(sa, false, buf[n], ADDR_STRLEN);
		hosts[n] = buf[n];
		n++;
	}
	if (n > 0 || h == NULL || strlen(h) >= ADDR_STRLEN)
		return n;
	/* "name", "name:port", "[v6]" or "[v6]:port": the name or address alone. */
	if (h[0] == '[')
		snprintf(buf[0], ADDR_STRLEN, "%.*s", (int)strcspn(h + 1, "]"), h + 1);
	else if (strchr(h, ':') == strrchr(h, ':'))
		snprintf(buf[0], ADDR_STRLEN, "%.*s", (int)strcspn(h, ":"), h);
	else
		snprintf(buf[0], ADDR_STRLEN, "%s", h);
	if (buf[0][0] != '\0' &&
	    strspn(buf[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") ==
		strlen(buf[0]))
		hosts[n++] = buf[0];
	return n;
}

/* ttl query: seconds, 60 to ADMIN_TTL_MAX; -1 when answered. */
static int
admin_ice_ttl(struct admin_call *c, uint32_t *ttl)
{
	const char *t = admin_query(c, "ttl");
	unsigned long v = ADMIN_TTL_DEFAULT;
	char *end;

	if (t != NULL) {
		errno = 0;
		v = strtoul(t, &end, 10);
		if (end == t || *end != '\0' || errno != 0 || v < 60 || v > ADMIN_TTL_MAX) {
			admin_error(c, 400, "ttl: seconds from 60 to 604800");
			return -1;
		}
	}
	*ttl = (uint32_t)v;
	return 0;
}

static void
admin_ice_servers(struct admin_call *c)
{
	struct admin_settings set;
	struct admin_first_secret sec = {""};
	char hbuf[8][ADDR_STRLEN], *cause = NULL;
	const char *hosts[8], *errstr, *user = admin_query(c, "user");
	struct adminapi_ice in;
	json_t *o;

	memset(&in, 0, sizeof in);
	if (admin_realm(c) != 0 || admin_ice_ttl(c, &in.ttl) != 0)
		return;
	admin_settings(c->a, &set);
	if (user != NULL && (strlen(user) > 256 || strchr(user, set.rest_separator))) {
		admin_error(c, 400, "user: at most 256 bytes, without the separator");
		return;
	}
	if (!set.use_auth_secret) {
		admin_error(c, 409, "TURN REST credentials need use-auth-secret");
		return;
	}
	if (set.auth_secret != NULL)
		snprintf(sec.v, sizeof sec.v, "%s", set.auth_secret);
	else if (store_secret_list(c->a->store, c->realm, admin_first_secret_row, &sec, &cause) !=
	    0)
		free(cause);
	in.hosts = hosts;
	in.nhosts = admin_ice_hosts(c, &set, hbuf, hosts, 8);
	in.port = set.port;
	in.tls_port = set.tls_port;
	in.udp = set.udp;
	in.tcp = set.tcp;
	in.tls = set.tls;
	in.user = user != NULL ? user : "";
	in.now = (uint64_t)time(NULL);
	in.separator = set.rest_separator;
	in.sha256 = set.rest_sha256;
	in.secret = sec.v;
	if (adminapi_ice_servers(&in, &o, &errstr) != 0)
		admin_error(c, 409, errstr);
	else
		admin_reply(c, 200, o);
	explicit_bzero(&sec, sizeof sec);
}

static const struct admin_asset *
admin_asset_find(const char *path)
{
	size_t i;

	for (i = 0; i < admin_nassets; i++) {
		if (strcmp(admin_assets[i].path, path) == 0)
			return &admin_assets[i];
	}
	return NULL;
}

/* Sends an embedded file; the call (if any) is the caller's. */
static void
admin_send_asset(struct evhttp_request *req, const struct admin_asset *f)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(h, "Content-Type", f->type);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	if (b != NULL)
		evbuffer_add_reference(b, f->data, f->len, NULL, NULL);
	httpd_send(req, 200, "OK", b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
admin_openapi(struct admin_call *c)
{
	const struct admin_asset *f = admin_asset_find("/api/v1/openapi.json");

	if (f == NULL) {
		admin_error(c, 404, "not found");
		return;
	}
	admin_send_asset(c->req, f);
	admin_call_free(c);
}

static const admin_handler admin_handlers[ADMINAPI_NOPS] = {
    [ADMINAPI_LOGIN] = admin_login,
    [ADMINAPI_LOGOUT] = admin_logout,
    [ADMINAPI_ME] = admin_me_op,
    [ADMINAPI_STATUS] = admin_status,
    [ADMINAPI_SESSIONS] = admin_sessions,
    [ADMINAPI_SESSION] = admin_session,
    [ADMINAPI_SESSION_KILL] = admin_kill,
    [ADMINAPI_USERS] = admin_users,
    [ADMINAPI_USER_ADD] = admin_user_add,
    [ADMINAPI_USER_PASSWORD] = admin_user_password,
    [ADMINAPI_USER_DELETE] = admin_user_delete,
    [ADMINAPI_SECRETS] = admin_secrets,
    [ADMINAPI_SECRET_ADD] = admin_secret_add,
    [ADMINAPI_SECRET_DELETE] = admin_secret_delete,
    [ADMINAPI_SECRET_ROTATE] = admin_secret_rotate,
    [ADMINAPI_REALM] = admin_realm_get,
    [ADMINAPI_REALM_SET] = admin_realm_set,
    [ADMINAPI_PEERS] = admin_peers,
    [ADMINAPI_PEER_ADD] = admin_peer_add,
    [ADMINAPI_PEER_DELETE] = admin_peer_delete,
    [ADMINAPI_DRAIN] = admin_drain,
    [ADMINAPI_RELOAD] = admin_reload,
    [ADMINAPI_LOGLEVEL] = admin_loglevel,
    [ADMINAPI_ICE_SERVERS] = admin_ice_servers,
    [ADMINAPI_OPENAPI] = admin_openapi,
};

/* Bearer API key for the issuer; -1 when answered. */
static int
admin_auth_key(struct admin_call *c, const char *auth, bool *done)
{
	char realm[STORE_REALM_MAX + 1], *cause = NULL;
	const char *key = auth + strlen("Bearer ");
	bool ok = false;

	*done = true;
	if (store_apikey_verify(c->a->store, key, &ok, realm, &cause) != 0)
		free(cause);
	if (!ok) {
		admin_error(c, 401, "unknown API key");
		return -1;
	}
	snprintf(c->who, sizeof c->who, "apikey:%.*s", (int)strcspn(key, "."), key);
	/* A realm-scoped key acts like a realm admin, an unscoped one like a superuser. */
	c->sess = NULL;
	if (realm[0] != '\0') {
		snprintf(c->keysess.realm, sizeof c->keysess.realm, "%s", realm);
		c->sess = &c->keysess;
	}
	return 0;
}

/* Session cookie (and the CSRF token for a change); -1 when answered. */
static int
admin_auth(struct admin_call *c)
{
	const struct adminapi_route *r = c->ar.route;
	struct evkeyvalq *in = evhttp_request_get_input_headers(c->req);
	const char *auth = evhttp_find_header(in, "Authorization"), *csrf;
	char token[2 * ADMIN_TOKEN_BYTES + 2];
	bool done = false;

	if (r->flags & ADMINAPI_PUBLIC)
		return 0;
	if ((r->flags & ADMINAPI_APIKEY) && auth != NULL && strncmp(auth, "Bearer ", 7) == 0)
		return admin_auth_key(c, auth, &done);
	c->sess = admin_session_find(c->a, admin_cookie(c->req, token, sizeof token));
	if (c->sess == NULL) {
		admin_error(c, 401, "log in first");
		return -1;
	}
	snprintf(c->who, sizeof c->who, "%s", c->sess->user);
	csrf = evhttp_find_header(in, "X-CSRF-Token");
	if ((r->flags & ADMINAPI_CHANGE) &&
	    (csrf == NULL || strlen(csrf) != strlen(c->sess->csrf) ||
		CRYPTO_memcmp(csrf, c->sess->csrf, strlen(csrf)) != 0)) {
		admin_error(c, 403, "missing or wrong X-CSRF-Token");
		return -1;
	}
	if ((r->flags & ADMINAPI_SUPER) && !c->sess->super) {
		admin_error(c, 403, "superusers only");
		return -1;
	}
	return 0;
}

static const char *
admin_method(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "OTHER";
	}
}

static void
admin_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy",
	    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
	    "form-action 'self'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

/* The console's pages and files: GET and HEAD only. */
static void
admin_static(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct admin_asset *f = admin_asset_find(path);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		httpd_reply(req, 405, "Method Not Allowed", "Method Not Allowed");
		return;
	}
	if (f == NULL) {
		httpd_reply(req, 404, "Not Found", "Not Found");
		return;
	}
	admin_send_asset(req, f);
}

static struct admin_call *
admin_call_new(struct admin *a, struct evhttp_request *req, const char *query)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const struct sockaddr *sa = conn != NULL ? evhttp_connection_get_addr(conn) : NULL;
	struct admin_call *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->a = a;
	c->req = req;
	snprintf(c->from, sizeof c->from, "-");
	if (sa != NULL)
		addr_fmt(sa, false, c->from, sizeof c->from);
	TAILQ_INIT(&c->query);
	if (query != NULL && evhttp_parse_query_str(query, &c->query) == 0)
		c->has_query = true;
	return c;
}

static void
admin_request(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL, *errstr;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct admin_call *c;
	int status;

	admin_headers(req);
	if (path == NULL || path[0] != '/') {
		httpd_reply(req, 400, "Bad Request", "Bad Request");
		return;
	}
	if (strncmp(path, ADMINAPI_PREFIX, strlen(ADMINAPI_PREFIX)) != 0 ||
	    strcmp(path, "/api/v1/openapi.json") == 0) {
		admin_static(req, path);
		return;
	}
	if ((c = admin_call_new(a, req, evhttp_uri_get_query(uri))) == NULL) {
		httpd_reply(req, 500, "Internal Server Error", "Internal Server Error");
		return;
	}
	if (adminapi_parse(admin_method(evhttp_request_get_command(req)), path,
		(const char *)evbuffer_pullup(in, -1), len, &c->ar, &status, &errstr) != 0) {
		admin_error(c, status, errstr);
		return;
	}
	if (admin_auth(c) != 0)
		return;
	admin_handlers[c->ar.route->op](c);
}

static struct bufferevent *
admin_bev(struct event_base *base, void *arg)
{
	struct admin *a = arg;
	SSL *ssl = SSL_new(a->src->tls);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
}

static int
admin_listen(struct admin *a, int fd, char **cause)
{
	if (listen(fd, ADMIN_BACKLOG) != 0) {
		close(fd);
		return cause_fail(cause, "cannot listen for web admin: %s", strerror(errno));
	}
	if (evhttp_accept_socket_with_handle(a->http, fd) == NULL) {
		close(fd);
		return cause_fail(cause, "cannot serve web admin");
	}
	return 0;
}

static int
admin_init(struct admin *a, struct event_base *base, int fd, char **cause)
{
	if (store_open_busy(a->src->dbpath, 1000, &a->store, cause) != 0) {
		close(fd);
		return -1;
	}
	if ((a->fails = iplimit_create(ADMIN_FAIL_SOURCES, 1, ADMIN_FAIL_BURST)) == NULL ||
	    (a->http = evhttp_new(base)) == NULL) {
		close(fd);
		return cause_fail(cause, "cannot create the web admin server");
	}
	evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
	evhttp_set_max_headers_size(a->http, ADMIN_HEADERS_MAX);
	evhttp_set_max_body_size(a->http, ADMINAPI_BODY_MAX);
	evhttp_set_allowed_methods(a->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
		EVHTTP_REQ_DELETE);
	if (a->src->tls != NULL)
		evhttp_set_bevcb(a->http, admin_bev, a);
	evhttp_set_gencb(a->http, admin_request, a);
	return admin_listen(a, fd, cause);
}

int
admin_create(struct event_base *base, int fd, const struct admin_source *src, struct admin **ap,
    char **cause)
{
	struct admin *a;

	*ap = NULL;
	if ((a = calloc(1, sizeof *a)) == NULL) {
		close(fd);
		return cause_fail(cause, "out of memory");
	}
	a->src = src;
	LIST_INIT(&a->calls);
	if (admin_init(a, base, fd, cause) != 0) {
		admin_free(a);
		return -1;
	}
	*ap = a;
	return 0;
}

void
admin_free(struct admin *a)
{
	struct admin_call *c;

	if (a == NULL)
		return;
	while ((c = LIST_FIRST(&a->calls)) != NULL)
		admin_error(c, 503, "server stopping");
	if (a->http != NULL)
		evhttp_free(a->http);
	iplimit_free(a->fails);
	store_close(a->store);
	explicit_bzero(a->sessions, sizeof a->sessions);
	free(a);
}
