/* turnpikectl --fleet-redis: fleet status and fleet-wide kill (fleetcmd.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "turnpike/fleet.h"
#include "turnpike/fleetcmd.h"
#include "turnpike/fleetdb.h"
#include "turnpike/redisconn.h"

#define FLEETCMD_USAGE 2

bool
fleetcmd_is_invocation(int argc, char **argv)
{
	return argc > 1 && strcmp(argv[1], "--fleet-redis") == 0;
}

void
fleetcmd_usage(FILE *f)
{
	fputs("fleet commands (the Redis of fleet-redis, coturn's connection string):\n"
	      "  turnpikectl --fleet-redis CONNSTRING fleet status [--json]\n"
	      "  turnpikectl --fleet-redis CONNSTRING kill --user USER\n",
	    f);
}

static void
fleetcmd_json_string(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* allocations / capacity as a fraction, 0 without a capacity. */
static double
fleetcmd_load(const struct fleet_node *n)
{
	return n->capacity != 0 ? (double)n->allocations / (double)n->capacity : 0.0;
}

static void
fleetcmd_print_json(const struct fleet_node *v, size_t n, uint64_t total)
{
	size_t i;

	printf("{\"nodes\": [");
	for (i = 0; i < n; i++) {
		printf("%s{\"name\": ", i > 0 ? ", " : "");
		fleetcmd_json_string(v[i].name);
		printf(", \"addr\": ");
		fleetcmd_json_string(v[i].addr);
		printf(", \"tls_port\": %u, \"allocations\": %" PRIu64 ", \"capacity\": %" PRIu64
		       ", \"load\": %.3f, \"draining\": %s, \"ttl_ms\": %" PRId64
		       ", \"updated_ms\": %" PRIu64 "}",
		    v[i].tls_port, v[i].allocations, v[i].capacity, fleetcmd_load(&v[i]),
		    v[i].draining ? "true" : "false", v[i].ttl_ms, v[i].updated_ms);
	}
	printf("], \"allocations\": %" PRIu64 "}\n", total);
}

static int
fleetcmd_status(redisContext *c, bool json)
{
	struct fleet_node *v;
	char *cause = NULL;
	uint64_t total = 0;
	size_t n, i;

	if (fleetdb_read(c, &v, &n, NULL, NULL, &cause) != 0) {
		fprintf(stderr, "turnpikectl: %s\n", cause != NULL ? cause : "out of memory");
		free(cause);
		return 1;
	}
	for (i = 0; i < n; i++)
		total += v[i].allocations;
	if (json)
		fleetcmd_print_json(v, n, total);
	else {
		for (i = 0; i < n; i++)
			printf("node %s addr %s tls-port %u allocations %" PRIu64
			       " capacity %" PRIu64 " load %.3f draining %s ttl-ms %" PRId64
			       " updated-ms %" PRIu64 "\n",
			    v[i].name, v[i].addr, v[i].tls_port, v[i].allocations, v[i].capacity,
			    fleetcmd_load(&v[i]), v[i].draining ? "yes" : "no", v[i].ttl_ms,
			    v[i].updated_ms);
		printf("nodes %zu allocations %" PRIu64 "\n", n, total);
	}
	free(v);
	return 0;
}

static int
fleetcmd_kill(redisContext *c, const char *user)
{
	char msg[600], *cause = NULL;
	long long receivers = 0;

	if (user[0] == '\0' || strlen(user) > 512) {
		fprintf(stderr, "turnpikectl: a user name is 1 to 512 bytes\n");
		return FLEETCMD_USAGE;
	}
	snprintf(msg, sizeof msg, "kill user %s", user);
	if (fleetdb_publish(c, msg, &receivers, &cause) != 0) {
		fprintf(stderr, "turnpikectl: %s\n", cause != NULL ? cause : "out of memory");
		free(cause);
		return 1;
	}
	printf("kill sent to %lld nodes\n", receivers);
	return receivers > 0 ? 0 : 1;
}

int
fleetcmd_main(int argc, char **argv)
{
	struct redisconn rc;
	redisContext *c;
	const char *errstr;
	char *cause = NULL;
	bool status, kill, json = false;
	int ret;

	status = argc >= 5 && strcmp(argv[3], "fleet") == 0 && strcmp(argv[4], "status") == 0 &&
	    (argc == 5 || (argc == 6 && (json = strcmp(argv[5], "--json") == 0)));
	kill = argc == 6 && strcmp(argv[3], "kill") == 0 && strcmp(argv[4], "--user") == 0;
	if (!status && !kill) {
		fleetcmd_usage(stderr);
		return FLEETCMD_USAGE;
	}
	if (redisconn_parse(argv[2], &rc, &errstr) != 0) {
		fprintf(stderr, "turnpikectl: --fleet-redis: %s\n", errstr);
		return FLEETCMD_USAGE;
	}
	if ((c = fleetdb_connect(&rc, &cause)) == NULL) {
		fprintf(stderr, "turnpikectl: %s\n", cause != NULL ? cause : "out of memory");
		free(cause);
		return 1;
	}
	ret = status ? fleetcmd_status(c, json) : fleetcmd_kill(c, argv[5]);
	redisFree(c);
	return ret;
}
