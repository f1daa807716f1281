/*
 * turnpikectl's fleet commands, straight to the fleet's Redis:
 * "turnpikectl --fleet-redis CONNSTRING fleet status [--json]" and
 * "turnpikectl --fleet-redis CONNSTRING kill --user USER".
 */
#ifndef TURNPIKE_FLEETCMD_H
#define TURNPIKE_FLEETCMD_H

#include <stdbool.h>
#include <stdio.h>

bool fleetcmd_is_invocation(int argc, char **argv);
void fleetcmd_usage(FILE *f);
/* Exit status: 0 done, 1 Redis failed (or no node heard a kill), 2 usage. */
int fleetcmd_main(int argc, char **argv);

#endif
