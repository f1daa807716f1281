/* Unit tests for src/fleet/fleetdb.c: the fleet channel's messages. */
#include "config.h"

#include <string.h>

#include "turnpike/fleetdb.h"
#include "unit.h"

#define EV(s, name, cap) fleetdb_parse_event((s), strlen(s), (name), (cap))

int
main(void)
{
	char name[32];

	CHECK(EV("kill user alice", name, sizeof name) == FLEETDB_EVENT_KILL &&
	    strcmp(name, "alice") == 0);
	CHECKM(EV("kill user bob smith", name, sizeof name) == FLEETDB_EVENT_KILL &&
		strcmp(name, "bob smith") == 0,
	    "a user name may hold blanks");
	CHECK(EV("changed node-7", name, sizeof name) == FLEETDB_EVENT_CHANGED &&
	    strcmp(name, "node-7") == 0);
	CHECKM(EV("kill user ", name, sizeof name) == FLEETDB_EVENT_NONE, "no name");
	CHECKM(EV("kill alice", name, sizeof name) == FLEETDB_EVENT_NONE, "not the syntax");
	CHECKM(EV("", name, sizeof name) == FLEETDB_EVENT_NONE, "empty");
	CHECKM(EV("kill user 0123456789012345678901234567890123456789", name, sizeof name) ==
		FLEETDB_EVENT_NONE,
	    "a name longer than the buffer is refused, not cut");
	CHECKM(fleetdb_parse_event("kill user a\0b", 13, name, sizeof name) == FLEETDB_EVENT_NONE,
	    "a NUL inside the name is refused");
	return unit_done();
}
