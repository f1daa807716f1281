/*
 * Fuzz target for coturn's Redis connection string (fleet-redis) and the fleet
 * channel's messages. A parsed string has a host, a port above 0 and a timeout
 * in bounds; a parsed event's name is NUL-terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/fleetdb.h"
#include "turnpike/redisconn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redisconn rc;
	const char *errstr = NULL;
	char *text, name[64];
	enum fleetdb_event ev;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (redisconn_parse(text, &rc, &errstr) == 0) {
		if (rc.host[0] == '\0' || rc.port == 0 || rc.connect_timeout == 0 ||
		    rc.connect_timeout > 3600 || memchr(rc.host, '\0', sizeof rc.host) == NULL ||
		    memchr(rc.password, '\0', sizeof rc.password) == NULL)
			abort();
	} else if (errstr == NULL)
		abort();
	ev = fleetdb_parse_event((const char *)data, size, name, sizeof name);
	if (ev != FLEETDB_EVENT_NONE && (name[0] == '\0' || strlen(name) >= sizeof name))
		abort();
	free(text);
	return 0;
}
