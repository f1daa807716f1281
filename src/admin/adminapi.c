/*
 * The admin API's pure half (adminapi.h): routes, request parsing, and the
 * JSON made from control answers and for the credential issuer.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/adminapi.h"
#include "turnpike/creds.h"

#define P ADMINAPI_PREFIX

const struct adminapi_route adminapi_routes[] = {
    {"POST", P "login", ADMINAPI_LOGIN, ADMINAPI_PUBLIC | ADMINAPI_BODY, "login"},
    {"POST", P "logout", ADMINAPI_LOGOUT, ADMINAPI_CHANGE, "logout"},
    {"GET", P "me", ADMINAPI_ME, 0, "me"},
    {"GET", P "status", ADMINAPI_STATUS, 0, "status"},
    {"GET", P "sessions", ADMINAPI_SESSIONS, 0, "sessions"},
    {"GET", P "sessions/{id}", ADMINAPI_SESSION, 0, "session"},
    {"DELETE", P "sessions/{id}", ADMINAPI_SESSION_KILL, ADMINAPI_CHANGE, "kill"},
    {"GET", P "users", ADMINAPI_USERS, 0, "users"},
    {"POST", P "users", ADMINAPI_USER_ADD, ADMINAPI_CHANGE | ADMINAPI_BODY, "user-add"},
    {"PUT", P "users/{name}/password", ADMINAPI_USER_PASSWORD, ADMINAPI_CHANGE | ADMINAPI_BODY,
	"user-password"},
    {"DELETE", P "users/{name}", ADMINAPI_USER_DELETE, ADMINAPI_CHANGE, "user-delete"},
    {"GET", P "secrets", ADMINAPI_SECRETS, 0, "secrets"},
    {"POST", P "secrets", ADMINAPI_SECRET_ADD, ADMINAPI_CHANGE | ADMINAPI_BODY, "secret-add"},
    {"DELETE", P "secrets/{id}", ADMINAPI_SECRET_DELETE, ADMINAPI_CHANGE, "secret-delete"},
    {"POST", P "secrets/rotate", ADMINAPI_SECRET_ROTATE, ADMINAPI_CHANGE | ADMINAPI_BODY,
	"secret-rotate"},
    {"GET", P "realm", ADMINAPI_REALM, 0, "realm"},
    {"PUT", P "realm", ADMINAPI_REALM_SET, ADMINAPI_CHANGE | ADMINAPI_BODY, "realm-set"},
    {"GET", P "peers", ADMINAPI_PEERS, 0, "peers"},
    {"POST", P "peers", ADMINAPI_PEER_ADD, ADMINAPI_CHANGE | ADMINAPI_BODY, "peer-add"},
    {"DELETE", P "peers", ADMINAPI_PEER_DELETE, ADMINAPI_CHANGE, "peer-delete"},
    {"POST", P "drain", ADMINAPI_DRAIN, ADMINAPI_CHANGE | ADMINAPI_SUPER, "drain"},
    {"POST", P "reload", ADMINAPI_RELOAD, ADMINAPI_CHANGE | ADMINAPI_SUPER, "reload"},
    {"PUT", P "loglevel", ADMINAPI_LOGLEVEL, ADMINAPI_CHANGE | ADMINAPI_SUPER | ADMINAPI_BODY,
	"loglevel"},
    {"GET", P "ice-servers", ADMINAPI_ICE_SERVERS, ADMINAPI_APIKEY, "ice-servers"},
    {"GET", P "openapi.json", ADMINAPI_OPENAPI, ADMINAPI_PUBLIC, "openapi"},
};

const size_t adminapi_nroutes = sizeof adminapi_routes / sizeof adminapi_routes[0];

static int
adminapi_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes one segment of len bytes into out; -1 on a bad escape, NUL or overflow. */
static int
adminapi_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t i, n = 0;
	int hi, lo, c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= len || (hi = adminapi_hexval(s[i + 1])) < 0 ||
			    (lo = adminapi_hexval(s[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0 || n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/* Whether path matches pattern; the {x} segment goes to param. -1: matches but undecodable. */
static int
adminapi_match(const char *pattern, const char *path, char *param, size_t cap)
{
	const char *p = pattern, *s = path, *end;

	while (*p != '\0') {
		if (*p == '{') {
			if ((end = strchr(s, '/')) == NULL)
				end = s + strlen(s);
			if (end == s)
				return 0;
			p = strchr(p, '}');
			if (p == NULL)
				return 0;
			p++;
			if (adminapi_decode(s, (size_t)(end - s), param, cap) != 0)
				return -1;
			s = end;
			continue;
		}
		if (*p++ != *s++)
			return 0;
	}
	return *s == '\0' ? 1 : 0;
}

static const struct adminapi_route *
adminapi_find(const char *method, const char *path, char *param, int *status)
{
	size_t i;
	int m;

	*status = 404;
	for (i = 0; i < adminapi_nroutes; i++) {
		m = adminapi_match(adminapi_routes[i].path, path, param, ADMINAPI_PARAM_MAX + 1);
		if (m == -1) {
			*status = 400;
			return NULL;
		}
		if (m == 0)
			continue;
		if (strcmp(method, adminapi_routes[i].method) == 0)
			return &adminapi_routes[i];
		*status = 405;
	}
	return NULL;
}

int
adminapi_parse(const char *method, const char *path, const char *body, size_t len,
    struct adminapi_req *out, int *status, const char **errstr)
{
	json_error_t jerr;

	memset(out, 0, sizeof *out);
	if (len > ADMINAPI_BODY_MAX) {
		*status = 413;
		*errstr = "request body too large";
		return -1;
	}
	if ((out->route = adminapi_find(method, path, out->param, status)) == NULL) {
		*errstr = *status == 405 ? "method not allowed"
		    : *status == 400     ? "bad path parameter"
					 : "not found";
		return -1;
	}
	if (!(out->route->flags & ADMINAPI_BODY))
		return 0;
	*status = 400;
	out->body = json_loadb(body != NULL ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (out->body == NULL) {
		*errstr = "the body is not JSON";
		return -1;
	}
	if (!json_is_object(out->body)) {
		adminapi_req_clear(out);
		*errstr = "the body is not a JSON object";
		return -1;
	}
	return 0;
}

void
adminapi_req_clear(struct adminapi_req *r)
{
	json_decref(r->body);
	r->body = NULL;
}

const char *
adminapi_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* A JSON value for a word: an integer when it is all digits, else a string. */
static json_t *
adminapi_word(const char *w)
{
	unsigned long long v;
	char *end;

	if (w[0] >= '0' && w[0] <= '9' && strlen(w) < 20) {
		errno = 0;
		v = strtoull(w, &end, 10);
		if (*end == '\0' && errno == 0 && v <= INT64_MAX)
			return json_integer((json_int_t)v);
	}
	return json_string(w);
}

/* "A,B" (or "-") as an array of strings. */
static json_t *
adminapi_list(char *w)
{
	json_t *a = json_array();
	char *save = NULL, *t;

	if (a == NULL || strcmp(w, "-") == 0)
		return a;
	for (t = strtok_r(w, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	return a;
}

/* Splits a line into words in place; returns how many (at most max). */
static size_t
adminapi_words(char *line, char **w, size_t max)
{
	char *save = NULL, *t;
	size_t n = 0;

	for (t = strtok_r(line, " ", &save); t != NULL && n < max; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	return n;
}

#define ADMINAPI_WORDS_MAX 64

/* One "session ID key value ..." line as an object, or NULL. */
static json_t *
adminapi_session(char *line)
{
	char *w[ADMINAPI_WORDS_MAX];
	size_t n = adminapi_words(line, w, ADMINAPI_WORDS_MAX), i;
	json_t *o;

	if (n < 2 || strcmp(w[0], "session") != 0 || (o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "id", json_string(w[1]));
	for (i = 2; i + 1 < n; i += 2) {
		if (strcmp(w[i], "peer-addrs") == 0)
			json_object_set_new(o, w[i], adminapi_list(w[i + 1]));
		else if (strcmp(w[i], "user") == 0 || strcmp(w[i], "realm") == 0)
			json_object_set_new(o, w[i], json_string(w[i + 1]));
		else
			json_object_set_new(o, w[i], adminapi_word(w[i + 1]));
	}
	return o;
}

/* Calls fn on each NUL-terminated copy of a line of text. */
static void
adminapi_lines(const char *text, size_t len, void (*fn)(void *, char *), void *arg)
{
	const char *p = text, *end = text + len, *nl;
	char *line;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		/* Not strndup: text is not NUL-terminated, and strndup may read past n. */
		if ((line = malloc((size_t)(nl - p) + 1)) != NULL) {
			memcpy(line, p, (size_t)(nl - p));
			line[nl - p] = '\0';
			fn(arg, line);
			free(line);
		}
		p = nl + 1;
	}
}

struct adminapi_sessions {
	json_t *a;
	const char *realm, *id;
};

static void
adminapi_session_line(void *arg, char *line)
{
	struct adminapi_sessions *s = arg;
	json_t *o = adminapi_session(line);
	const char *realm, *id;

	if (o == NULL)
		return;
	realm = adminapi_str(o, "realm");
	id = adminapi_str(o, "id");
	if ((s->realm != NULL && (realm == NULL || strcmp(realm, s->realm) != 0)) ||
	    (s->id != NULL && (id == NULL || strcmp(id, s->id) != 0)))
		json_decref(o);
	else
		json_array_append_new(s->a, o);
}

json_t *
adminapi_sessions_json(const char *text, size_t len, const char *realm, const char *id)
{
	struct adminapi_sessions s = {json_array(), realm, id};

	if (s.a != NULL)
		adminapi_lines(text, len, adminapi_session_line, &s);
	return s.a;
}

static void
adminapi_status_line(void *arg, char *line)
{
	json_t *o = arg, *sub;
	char *w[ADMINAPI_WORDS_MAX];
	size_t n = adminapi_words(line, w, ADMINAPI_WORDS_MAX), i;

	if (n == 2) {
		json_object_set_new(o, w[0], adminapi_word(w[1]));
		return;
	}
	if (n < 3 || n % 2 == 0 || (sub = json_object()) == NULL)
		return;
	for (i = 1; i + 1 < n; i += 2)
		json_object_set_new(sub, w[i], adminapi_word(w[i + 1]));
	json_object_set_new(o, w[0], sub);
}

json_t *
adminapi_status_json(const char *text, size_t len)
{
	json_t *o = json_object();

	if (o != NULL)
		adminapi_lines(text, len, adminapi_status_line, o);
	return o;
}

/* "turn:HOST:PORT?transport=udp": IPv6 hosts in brackets. */
static json_t *
adminapi_url(const char *scheme, const char *host, int port, const char *transport)
{
	char url[300];
	bool v6 = strchr(host, ':') != NULL;

	snprintf(url, sizeof url, "%s:%s%s%s:%d%s%s", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
	    port, transport != NULL ? "?transport=" : "", transport != NULL ? transport : "");
	return json_string(url);
}

int
adminapi_ice_servers(const struct adminapi_ice *in, json_t **out, const char **errstr)
{
	char user[600], pass[CREDS_REST_PASSWORD_MAX];
	json_t *o, *servers, *turn, *urls, *stun;
	size_t i;

	*out = NULL;
	if (in->secret == NULL || in->secret[0] == '\0') {
		*errstr =
		    "no REST API secret (use-auth-secret with static-auth-secret or the store)";
		return -1;
	}
	if (in->nhosts == 0 || !(in->udp || in->tcp || in->tls)) {
		*errstr = "no listening address or transport to offer";
		return -1;
	}
	if (in->user[0] != '\0')
		snprintf(user, sizeof user, "%" PRIu64 "%c%s", in->now + in->ttl, in->separator,
		    in->user);
	else
		snprintf(user, sizeof user, "%" PRIu64, in->now + in->ttl);
	if (creds_rest_password_alg(in->sha256, in->secret, strlen(in->secret), user, strlen(user),
		pass, sizeof pass) != 0) {
		*errstr = "cannot compute the REST password";
		return -1;
	}
	o = json_object(), servers = json_array(), urls = json_array(), stun = json_array();
	turn = json_object();
	for (i = 0; i < in->nhosts; i++) {
		if (in->udp || in->tcp)
			json_array_append_new(stun,
			    adminapi_url("stun", in->hosts[i], in->port, NULL));
		if (in->udp)
			json_array_append_new(urls,
			    adminapi_url("turn", in->hosts[i], in->port, "udp"));
		if (in->tcp)
			json_array_append_new(urls,
			    adminapi_url("turn", in->hosts[i], in->port, "tcp"));
		if (in->tls)
			json_array_append_new(urls,
			    adminapi_url("turns", in->hosts[i], in->tls_port, "tcp"));
	}
	json_object_set_new(turn, "urls", urls);
	json_object_set_new(turn, "username", json_string(user));
	json_object_set_new(turn, "credential", json_string(pass));
	if (json_array_size(stun) > 0)
		json_array_append_new(servers, json_pack("{s:o}", "urls", stun));
	else
		json_decref(stun);
	json_array_append_new(servers, turn);
	json_object_set_new(o, "iceServers", servers);
	json_object_set_new(o, "ttl", json_integer(in->ttl));
	json_object_set_new(o, "expires", json_integer((json_int_t)(in->now + in->ttl)));
	explicit_bzero(pass, sizeof pass);
	*out = o;
	return 0;
}
