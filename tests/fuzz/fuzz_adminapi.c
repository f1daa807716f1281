/*
 * Fuzz target for the admin API's request input: the first byte picks the
 * method, the first line is the path, the rest the body (adminapi_parse: route
 * match, percent-decoding, JSON). The same bytes also go through the parsers
 * of the control answers the API turns into JSON. A parsed request must name
 * a route and hold an object exactly when the route takes a body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/adminapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct adminapi_req r;
	const char *errstr, *method, *nl;
	char *path;
	size_t plen;
	int status;
	json_t *j;

	if (size == 0)
		return 0;
	method = fuzz_methods[data[0] % 5];
	nl = memchr(data + 1, '\n', size - 1);
	plen = nl != NULL ? (size_t)(nl - (const char *)(data + 1)) : size - 1;
	if ((path = malloc(plen + 1)) == NULL)
		return 0;
	memcpy(path, data + 1, plen);
	path[plen] = '\0';
	if (adminapi_parse(method, path, nl != NULL ? nl + 1 : NULL,
		nl != NULL ? size - plen - 2 : 0, &r, &status, &errstr) == 0) {
		if (r.route == NULL ||
		    ((r.route->flags & ADMINAPI_BODY) != 0) != json_is_object(r.body))
			abort();
		adminapi_req_clear(&r);
	} else if (status < 400 || errstr == NULL) {
		abort();
	}
	free(path);
	j = adminapi_sessions_json((const char *)data, size, NULL, NULL);
	json_decref(j);
	j = adminapi_status_json((const char *)data, size);
	json_decref(j);
	return 0;
}
