/* A UDP 5-tuple from client to 192.0.2.1:3478, for the unit tests of 5-tuple tables. */
#ifndef TURNPIKE_TEST_TUPLE_H
#define TURNPIKE_TEST_TUPLE_H

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/turn.h"

static inline struct turn_5tuple
tuple(const char *client)
{
	struct turn_5tuple t;
	const char *errstr;

	memset(&t, 0, sizeof t);
	if (addr_parse(client, 0, &t.client, &errstr) == -1 ||
	    addr_parse("192.0.2.1:3478", 0, &t.server, &errstr) == -1)
		abort();
	t.transport = TURN_UDP;
	return t;
}

#endif
