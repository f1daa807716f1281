/*
 * turnpike-bench turn: one TURN session as a command. Allocates, asks for
 * permissions (each expected to succeed or to fail with a given code), relays
 * payloads to an echo peer, deallocates; prints one line per step and exits 0
 * when every step went as expected, 1 otherwise, 2 on usage errors.
 */
#ifndef TURNPIKE_TURNCMD_H
#define TURNPIKE_TURNCMD_H

#define TURNCMD_USAGE                                                                              \
	"[--user U (--password P | --secret S)] [--transport udp|tcp|tls]\n"                       \
	"\t[--ca FILE | --insecure] [--server-name NAME] [--family 4|6] [--timeout MS]\n"          \
	"\t[--permission PEER[=CODE]]... [--send PEER [--channel | --channel-number N]\n"          \
	"\t[--payload-size N] [--count N]] HOST[:PORT]"
#define TURNCMD_HELP                                                                               \
	"allocate, create permissions (expected ok, or =CODE), relay --count payloads to an "      \
	"echo peer"

/* argv[0] is the command name; returns the exit status. */
int turncmd_run(int argc, char **argv);

#endif
