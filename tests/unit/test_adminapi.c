/* The admin API's pure half: routes against the shipped OpenAPI document, parsing, JSON. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "turnpike/admin.h"
#include "turnpike/adminapi.h"
#include "turnpike/creds.h"
#include "unit.h"

static json_t *
openapi_doc(void)
{
	size_t i;

	for (i = 0; i < admin_nassets; i++) {
		if (strcmp(admin_assets[i].path, "/api/v1/openapi.json") == 0)
			return json_loadb((const char *)admin_assets[i].data, admin_assets[i].len,
			    0, NULL);
	}
	return NULL;
}

/* Every route is in the document, and every operation of the document is a route. */
static void
test_openapi(void)
{
	json_t *doc = openapi_doc(), *paths = json_object_get(doc, "paths"), *ops, *op;
	const char *path, *method;
	char lower[8], want[128];
	size_t i, k, nops = 0, missing = 0, extra = 0;

	CHECKM(json_is_object(paths), "the embedded openapi.json parses and has paths");
	for (i = 0; i < adminapi_nroutes; i++) {
		const struct adminapi_route *r = &adminapi_routes[i];

		for (k = 0; r->method[k] != '\0' && k + 1 < sizeof lower; k++)
			lower[k] = (char)tolower((unsigned char)r->method[k]);
		lower[k] = '\0';
		op = json_object_get(json_object_get(paths, r->path + strlen("/api/v1")), lower);
		if (op == NULL) {
			printf("# route %s %s is not in openapi.json\n", r->method, r->path);
			missing++;
		}
		if (op != NULL && r->flags & ADMINAPI_BODY &&
		    json_object_get(op, "requestBody") == NULL) {
			printf("# route %s %s takes a body, openapi.json says none\n", r->method,
			    r->path);
			missing++;
		}
	}
	json_object_foreach(paths, path, ops)
	{
		json_object_foreach(ops, method, op)
		{
			bool found = false;

			nops++;
			snprintf(want, sizeof want, "/api/v1%s", path);
			for (i = 0; i < adminapi_nroutes; i++) {
				if (strcmp(adminapi_routes[i].path, want) == 0 &&
				    strcasecmp(adminapi_routes[i].method, method) == 0)
					found = true;
			}
			if (!found) {
				printf("# openapi.json has %s %s, no route does\n", method, path);
				extra++;
			}
		}
	}
	CHECKM(missing == 0, "every route is documented in openapi.json");
	CHECKM(extra == 0, "every operation in openapi.json is a route");
	CHECKM(nops == adminapi_nroutes, "as many operations as routes");
	json_decref(doc);
}

static int
parse(const char *method, const char *path, const char *body, struct adminapi_req *r)
{
	const char *errstr;
	int status = 0;

	if (adminapi_parse(method, path, body, body != NULL ? strlen(body) : 0, r, &status,
		&errstr) == 0)
		return 0;
	return status;
}

static void
test_parse(void)
{
	struct adminapi_req r;

	CHECK(parse("GET", "/api/v1/sessions", NULL, &r) == 0 && r.route->op == ADMINAPI_SESSIONS);
	CHECK(parse("GET", "/api/v1/sessions/1-2", NULL, &r) == 0 &&
	    r.route->op == ADMINAPI_SESSION && strcmp(r.param, "1-2") == 0);
	CHECK(parse("DELETE", "/api/v1/sessions/1-2", NULL, &r) == 0 &&
	    r.route->op == ADMINAPI_SESSION_KILL);
	CHECK(parse("PUT", "/api/v1/users/a%20b%2Fc/password", "{\"password\":\"x\"}", &r) == 0 &&
	    r.route->op == ADMINAPI_USER_PASSWORD && strcmp(r.param, "a b/c") == 0 &&
	    strcmp(adminapi_str(r.body, "password"), "x") == 0);
	adminapi_req_clear(&r);
	CHECK(parse("POST", "/api/v1/secrets/rotate", "{}", &r) == 0 &&
	    r.route->op == ADMINAPI_SECRET_ROTATE);
	adminapi_req_clear(&r);
	CHECKM(parse("GET", "/api/v1/nothing", NULL, &r) == 404, "unknown path: 404");
	CHECKM(parse("PATCH", "/api/v1/users", NULL, &r) == 405, "known path, other method: 405");
	CHECKM(parse("GET", "/api/v1/sessions/", NULL, &r) == 404, "empty parameter: 404");
	CHECKM(parse("GET", "/api/v1/sessions/a%00b", NULL, &r) == 400, "%00: 400");
	CHECKM(parse("GET", "/api/v1/sessions/a%4", NULL, &r) == 400, "a cut escape: 400");
	CHECKM(parse("POST", "/api/v1/users", "[1]", &r) == 400, "a body that is not an object");
	CHECKM(parse("POST", "/api/v1/users", "{\"a\":1,\"a\":2}", &r) == 400,
	    "duplicate keys are refused");
	CHECKM(parse("POST", "/api/v1/users", "", &r) == 400, "an empty body where one is needed");
}

static void
test_sessions(void)
{
	static const char text[] =
	    "session 0-1 user alice realm r1 transport udp client 127.0.0.1:5 server "
	    "127.0.0.1:3478 relayed 127.0.0.1:40000 age 3 remaining 597 to-peer-packets 2 "
	    "to-peer-bytes 200 to-client-packets 1 to-client-bytes 100 peers 2 peer-addrs "
	    "10.0.0.1,10.0.0.2\n"
	    "session 1-7 user bob realm r2 transport tcp peers 0 peer-addrs -\n"
	    "garbage line\n";
	json_t *a = adminapi_sessions_json(text, sizeof text - 1, NULL, NULL), *o;

	CHECK(json_array_size(a) == 2);
	o = json_array_get(a, 0);
	CHECK(strcmp(adminapi_str(o, "id"), "0-1") == 0 &&
	    json_integer_value(json_object_get(o, "to-peer-bytes")) == 200 &&
	    json_array_size(json_object_get(o, "peer-addrs")) == 2);
	CHECK(json_array_size(json_object_get(json_array_get(a, 1), "peer-addrs")) == 0);
	json_decref(a);
	a = adminapi_sessions_json(text, sizeof text - 1, "r2", NULL);
	CHECKM(json_array_size(a) == 1 &&
		strcmp(adminapi_str(json_array_get(a, 0), "user"), "bob") == 0,
	    "a realm filter keeps that realm's sessions");
	json_decref(a);
	a = adminapi_sessions_json(text, sizeof text - 1, NULL, "1-7");
	CHECK(json_array_size(a) == 1);
	json_decref(a);
	a = adminapi_status_json("version 1.0\nallocations 3\nlisteners udp 1 stream 2\n", 52);
	CHECK(strcmp(adminapi_str(a, "version"), "1.0") == 0 &&
	    json_integer_value(json_object_get(a, "allocations")) == 3 &&
	    json_integer_value(json_object_get(json_object_get(a, "listeners"), "stream")) == 2);
	json_decref(a);
}

static void
test_ice(void)
{
	const char *hosts[] = {"127.0.0.1", "::1"};
	struct adminapi_ice in = {hosts, 2, 3478, 5349, true, true, true, "app", 1000, 600, ':',
	    false, "s3cret"};
	char want[CREDS_REST_PASSWORD_MAX];
	const char *errstr;
	json_t *o, *turn, *urls;

	CHECK(adminapi_ice_servers(&in, &o, &errstr) == 0);
	turn = json_array_get(json_object_get(o, "iceServers"), 1);
	urls = json_object_get(turn, "urls");
	CHECK(strcmp(adminapi_str(turn, "username"), "1600:app") == 0);
	CHECK(creds_rest_password("s3cret", 6, "1600:app", 8, want, sizeof want) == 0 &&
	    strcmp(adminapi_str(turn, "credential"), want) == 0);
	CHECK(json_array_size(urls) == 6 &&
	    strcmp(json_string_value(json_array_get(urls, 0)),
		"turn:127.0.0.1:3478?transport=udp") == 0 &&
	    strcmp(json_string_value(json_array_get(urls, 5)), "turns:[::1]:5349?transport=tcp") ==
		0);
	CHECK(json_integer_value(json_object_get(o, "expires")) == 1600);
	json_decref(o);
	in.secret = "";
	CHECKM(adminapi_ice_servers(&in, &o, &errstr) == -1 && strstr(errstr, "secret") != NULL,
	    "no secret: an error, no credentials");
}

int
main(void)
{
	test_openapi();
	test_parse();
	test_sessions();
	test_ice();
	return unit_done();
}
