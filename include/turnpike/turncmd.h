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
	"\t[--payload-size N] [--count N]] [--password-algorithm md5|sha256]\n"                    \
	"\t[--tamper-algorithms] [--expect-allocate CODE] [--lifetime S] [--retransmit]\n"         \
	"\t[--refresh-after MS (SIGUSR1: now)] [--second-user U --second-password P]\n"            \
	"\t[--permission-after-deallocate PEER[=CODE]] [--rest-ttl [-]S] [--rest-user-first]\n"    \
	"\tHOST[:PORT]"
#define TURNCMD_HELP                                                                               \
	"allocate, create permissions (expected ok, or =CODE), relay --count payloads to an "      \
	"echo peer; check credential and protocol rules"

/* argv[0] is the command name; returns the exit status. */
int turncmd_run(int argc, char **argv);

#endif
