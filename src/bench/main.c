/* turnpike-bench: the project's STUN probe and test client, one subcommand per job. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/load.h"
#include "turnpike/netio.h"
#include "turnpike/probe.h"
#include "turnpike/random.h"
#include "turnpike/raw.h"
#include "turnpike/tlsclient.h"
#include "turnpike/turncmd.h"

#define BENCH_EXIT_FAIL 1
#define BENCH_EXIT_USAGE 2
#define BENCH_MAX_CHUNKS 64

struct bench_cmd {
	const char *name;
	int (*run)(const struct bench_cmd *cmd, int argc, char **argv);
	const char *usage;
	const char *help;
};

static int bench_probe(const struct bench_cmd *, int, char **);
static int bench_raw(const struct bench_cmd *, int, char **);
static int bench_hold(const struct bench_cmd *, int, char **);
static int bench_spray(const struct bench_cmd *, int, char **);
static int bench_turn(const struct bench_cmd *, int, char **);
static int bench_load(const struct bench_cmd *, int, char **);

static const struct bench_cmd bench_cmds[] = {
    {"probe", bench_probe,
	"[--transport udp|tcp|tls] [--fingerprint] [--require-fingerprint]\n"
	"\t[--show-fingerprint] [--show-local] [--ca FILE | --insecure]\n"
	"\t[--server-name NAME] [--timeout MS] [--rto MS] [--max-sends N]\n"
	"\t[--count N] [--reconnect] HOST[:PORT]",
	"send Binding requests; print \"mapped-address IP:PORT\" per answer"},
    {"raw", bench_raw,
	"[--transport udp|tcp] [--hex HEX]... [--wait MS]\n"
	"\t[--expect-close | --expect-silence | --expect-reply] HOST:PORT",
	"send bytes (one datagram per --hex on UDP); print what comes back"},
    {"hold", bench_hold, "[--connections N] [--hex HEX] [--duration MS] [--timeout MS] HOST:PORT",
	"open N TCP connections, send HEX on each, keep them open"},
    {"spray", bench_spray, "[--count N] [--seed N] HOST:PORT",
	"send N malformed datagrams over UDP (reproducible with --seed)"},
    {"turn", bench_turn, TURNCMD_USAGE, TURNCMD_HELP},
    {"load", bench_load, LOAD_USAGE, LOAD_HELP},
};

#define BENCH_NCMDS (sizeof(bench_cmds) / sizeof(bench_cmds[0]))

static void
bench_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: turnpike-bench COMMAND [options]\n");
	for (i = 0; i < BENCH_NCMDS; i++)
		fprintf(f, "\n  %s: %s\n  turnpike-bench %s %s\n", bench_cmds[i].name,
		    bench_cmds[i].help, bench_cmds[i].name, bench_cmds[i].usage);
}

/* Complains about the command line (what, and the offending arg if any). */
static int
bench_cmd_usage(const struct bench_cmd *cmd, const char *what, const char *arg)
{
	fprintf(stderr, "turnpike-bench %s: %s%s%s%s\n", cmd->name, what, arg != NULL ? " '" : "",
	    arg != NULL ? arg : "", arg != NULL ? "'" : "");
	fprintf(stderr, "usage: turnpike-bench %s %s\n", cmd->name, cmd->usage);
	return BENCH_EXIT_USAGE;
}

static int
bench_error(const struct bench_cmd *cmd, char *cause)
{
	fprintf(stderr, "turnpike-bench %s: %s\n", cmd->name,
	    cause != NULL ? cause : "out of memory");
	free(cause);
	return BENCH_EXIT_FAIL;
}

/* Hex text (spaces allowed) to a new buffer; an empty string is zero bytes. */
static int
bench_unhex(const char *s, uint8_t **out, size_t *len)
{
	static const char digits[] = "0123456789abcdef";
	const char *d;
	size_t n = 0;
	int half = -1;

	if ((*out = malloc(strlen(s) / 2 + 1)) == NULL)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if ((d = strchr(digits, *s | 0x20)) == NULL)
			break;
		if (half == -1)
			half = (int)(d - digits);
		else {
			(*out)[n++] = (uint8_t)(half << 4 | (int)(d - digits));
			half = -1;
		}
	}
	if (*s != '\0' || half != -1) {
		free(*out);
		return -1;
	}
	*len = n;
	return 0;
}

static void
bench_print_hex(const char *label, const uint8_t *p, size_t len)
{
	size_t i;

	fputs(label, stdout);
	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

/* The positional HOST[:PORT] after the options, resolved. */
static int
bench_target(const struct bench_cmd *cmd, int argc, char **argv, uint16_t defport,
    struct sockaddr_storage *ss, char host[NETIO_HOSTLEN], char **cause)
{
	if (optind != argc - 1)
		return bench_cmd_usage(cmd,
		    optind >= argc ? "missing HOST[:PORT]" : "more than one HOST[:PORT]", NULL);
	if (netio_resolve(argv[optind], defport, ss, host, cause) == -1)
		return bench_error(cmd, *cause);
	return 0;
}

struct bench_probe_opts {
	struct probe_config cfg;
	unsigned long count;
	bool reconnect;
	bool show_fingerprint;
	bool show_local;
};

enum {
	OPT_FINGERPRINT = 256,
	OPT_REQUIRE_FP,
	OPT_SHOW_FP,
	OPT_SHOW_LOCAL,
	OPT_TIMEOUT,
	OPT_RTO,
	OPT_MAX_SENDS,
	OPT_COUNT,
	OPT_RECONNECT,
	OPT_HEX,
	OPT_WAIT,
	OPT_EXPECT_CLOSE,
	OPT_EXPECT_SILENCE,
	OPT_EXPECT_REPLY,
	OPT_CONNECTIONS,
	OPT_DURATION,
	OPT_SEED,
};

static const struct option bench_probe_longopts[] = {
    {"transport", required_argument, NULL, 't'},
    {"fingerprint", no_argument, NULL, OPT_FINGERPRINT},
    {"require-fingerprint", no_argument, NULL, OPT_REQUIRE_FP},
    {"show-fingerprint", no_argument, NULL, OPT_SHOW_FP},
    {"show-local", no_argument, NULL, OPT_SHOW_LOCAL},
    TLSCLIENT_LONGOPTS,
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"rto", required_argument, NULL, OPT_RTO},
    {"max-sends", required_argument, NULL, OPT_MAX_SENDS},
    {"count", required_argument, NULL, OPT_COUNT},
    {"reconnect", no_argument, NULL, OPT_RECONNECT},
    {NULL, 0, NULL, 0},
};

/* One numeric option into an unsigned int field; -1 on a bad value. */
static int
bench_uint_opt(const char *arg, unsigned long max, unsigned int *field)
{
	unsigned long v;

	if (netio_parse_number(arg, 1, max, &v) == -1)
		return -1;
	*field = (unsigned int)v;
	return 0;
}

/* Applies one probe option; -1 when its value is bad. */
static int
bench_probe_opt(struct bench_probe_opts *o, int ch, const char *arg)
{
	struct probe_config *cfg = &o->cfg;

	if (tlsclient_opt(&cfg->tls, ch, arg) == 0)
		return 0;
	switch (ch) {
	case 't':
		return probe_transport_parse(arg, &cfg->transport);
	case OPT_FINGERPRINT:
		cfg->fingerprint = true;
		return 0;
	case OPT_REQUIRE_FP:
		cfg->require_fingerprint = true;
		return 0;
	case OPT_SHOW_FP:
		o->show_fingerprint = true;
		return 0;
	case OPT_SHOW_LOCAL:
		o->show_local = true;
		return 0;
	case OPT_TIMEOUT:
		return bench_uint_opt(arg, 600000, &cfg->timeout_ms);
	case OPT_RTO:
		return bench_uint_opt(arg, 60000, &cfg->rto_ms);
	case OPT_MAX_SENDS:
		return bench_uint_opt(arg, 100, &cfg->max_sends);
	case OPT_COUNT:
		return netio_parse_number(arg, 1, 1000000, &o->count);
	case OPT_RECONNECT:
		o->reconnect = true;
		return 0;
	}
	return -1;
}

static int
bench_probe_parse(const struct bench_cmd *cmd, int argc, char **argv, struct bench_probe_opts *o)
{
	const char *bad;
	int ch;

	memset(o, 0, sizeof(*o));
	probe_config_defaults(&o->cfg);
	o->count = 1;
	while ((ch = getopt_long(argc, argv, "t:", bench_probe_longopts, NULL)) != -1) {
		if (ch == '?')
			return bench_cmd_usage(cmd, "unknown option", NULL);
		if (bench_probe_opt(o, ch, optarg) == -1)
			return bench_cmd_usage(cmd, "bad value", optarg);
	}
	if ((bad = tlsclient_opt_check(&o->cfg.tls)) != NULL)
		return bench_cmd_usage(cmd, bad, NULL);
	return 0;
}

static void
bench_probe_print(const struct bench_probe_opts *o, const struct probe_result *res)
{
	char buf[ADDR_STRLEN];

	printf("mapped-address %s\n",
	    addr_fmt((const struct sockaddr *)&res->mapped, true, buf, sizeof(buf)));
	if (o->show_fingerprint)
		printf("fingerprint %s\n", res->fingerprint ? "verified" : "absent");
	if (o->show_local)
		printf("local-address %s\n",
		    addr_fmt((const struct sockaddr *)&res->local, true, buf, sizeof(buf)));
	fflush(stdout);
}

static int
bench_probe(const struct bench_cmd *cmd, int argc, char **argv)
{
	struct bench_probe_opts o;
	struct probe_result res;
	struct probe *p;
	char host[NETIO_HOSTLEN], *cause = NULL;
	unsigned long i, failed = 0;
	int rc;

	if ((rc = bench_probe_parse(cmd, argc, argv, &o)) != 0)
		return rc;
	if ((rc = bench_target(cmd, argc, argv, o.cfg.transport == PROBE_TLS ? 5349 : 3478,
		 &o.cfg.server, host, &cause)) != 0)
		return rc;
	o.cfg.tls.host = host;
	if ((p = probe_create(&o.cfg, &cause)) == NULL)
		return bench_error(cmd, cause);
	for (i = 0; i < o.count; i++) {
		if (probe_binding(p, &res, &cause) == 0)
			bench_probe_print(&o, &res);
		else {
			failed++;
			fprintf(stderr, "turnpike-bench probe: request %lu of %lu: %s\n", i + 1,
			    o.count, cause != NULL ? cause : "out of memory");
			free(cause);
			cause = NULL;
		}
		if (o.reconnect)
			probe_reset(p);
	}
	probe_free(p);
	if (failed > 0 && o.count > 1)
		fprintf(stderr, "turnpike-bench probe: %lu of %lu requests failed\n", failed,
		    o.count);
	return failed > 0 ? BENCH_EXIT_FAIL : 0;
}

enum bench_expect {
	EXPECT_NOTHING,
	EXPECT_CLOSE,
	EXPECT_SILENCE,
	EXPECT_REPLY,
};

struct bench_raw_opts {
	int socktype;
	struct raw_chunk chunks[BENCH_MAX_CHUNKS];
	size_t nchunks;
	unsigned long wait_ms;
	enum bench_expect expect;
};

static const struct option bench_raw_longopts[] = {
    {"transport", required_argument, NULL, 't'},
    {"hex", required_argument, NULL, OPT_HEX},
    {"wait", required_argument, NULL, OPT_WAIT},
    {"expect-close", no_argument, NULL, OPT_EXPECT_CLOSE},
    {"expect-silence", no_argument, NULL, OPT_EXPECT_SILENCE},
    {"expect-reply", no_argument, NULL, OPT_EXPECT_REPLY},
    {NULL, 0, NULL, 0},
};

static void
bench_raw_free(struct bench_raw_opts *o)
{
	size_t i;

	for (i = 0; i < o->nchunks; i++)
		free((void *)(uintptr_t)o->chunks[i].p);
	o->nchunks = 0;
}

static int
bench_raw_chunk(struct bench_raw_opts *o, const char *hex)
{
	uint8_t *p;
	size_t len;

	if (o->nchunks == BENCH_MAX_CHUNKS || bench_unhex(hex, &p, &len) == -1)
		return -1;
	o->chunks[o->nchunks].p = p;
	o->chunks[o->nchunks++].len = len;
	return 0;
}

/* Applies one raw option; -1 when its value is bad. */
static int
bench_raw_opt(struct bench_raw_opts *o, int ch, const char *arg)
{
	enum probe_transport t;

	switch (ch) {
	case 't':
		if (probe_transport_parse(arg, &t) == -1 || t == PROBE_TLS)
			return -1;
		o->socktype = t == PROBE_UDP ? SOCK_DGRAM : SOCK_STREAM;
		return 0;
	case OPT_HEX:
		return bench_raw_chunk(o, arg);
	case OPT_WAIT:
		return netio_parse_number(arg, 0, 600000, &o->wait_ms);
	case OPT_EXPECT_CLOSE:
		o->expect = EXPECT_CLOSE;
		return 0;
	case OPT_EXPECT_SILENCE:
		o->expect = EXPECT_SILENCE;
		return 0;
	case OPT_EXPECT_REPLY:
		o->expect = EXPECT_REPLY;
		return 0;
	}
	return -1;
}

static void
bench_raw_report(void *arg, enum raw_event ev, const uint8_t *p, size_t len)
{
	(void)arg;
	if (ev == RAW_EV_DATA)
		bench_print_hex("recv ", p, len);
	else
		puts(ev == RAW_EV_CLOSED ? "closed" : "reset");
	fflush(stdout);
}

/* Exit status for what was observed against what was expected. */
static int
bench_raw_verdict(const struct bench_raw_opts *o, const struct raw_result *res)
{
	const char *miss = NULL;

	if (res->events == 0 && !res->closed)
		puts("silence");
	if (o->expect == EXPECT_CLOSE && !res->closed)
		miss = "the server did not close the connection";
	else if (o->expect == EXPECT_SILENCE && res->events > 0)
		miss = "the server answered";
	else if (o->expect == EXPECT_REPLY && res->events == 0)
		miss = "no answer";
	if (miss == NULL)
		return 0;
	fprintf(stderr, "turnpike-bench raw: %s within %lu ms\n", miss, o->wait_ms);
	return BENCH_EXIT_FAIL;
}

static int
bench_raw(const struct bench_cmd *cmd, int argc, char **argv)
{
	struct bench_raw_opts o = {.socktype = SOCK_DGRAM, .wait_ms = 2000};
	struct sockaddr_storage ss;
	struct raw_result res;
	char host[NETIO_HOSTLEN], *cause = NULL;
	int ch, rc = 0;

	while (rc == 0 && (ch = getopt_long(argc, argv, "t:", bench_raw_longopts, NULL)) != -1) {
		if (ch == '?')
			rc = bench_cmd_usage(cmd, "unknown option", NULL);
		else if (bench_raw_opt(&o, ch, optarg) == -1)
			rc = bench_cmd_usage(cmd, "bad value", optarg);
	}
	if (rc == 0)
		rc = bench_target(cmd, argc, argv, 3478, &ss, host, &cause);
	if (rc == 0 &&
	    raw_exchange((struct sockaddr *)&ss, o.socktype, o.chunks, o.nchunks,
		(unsigned int)o.wait_ms, bench_raw_report, NULL, &res, &cause) == -1)
		rc = bench_error(cmd, cause);
	if (rc == 0)
		rc = bench_raw_verdict(&o, &res);
	bench_raw_free(&o);
	return rc;
}

static const struct option bench_hold_longopts[] = {
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"hex", required_argument, NULL, OPT_HEX},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {NULL, 0, NULL, 0},
};

struct bench_hold_opts {
	unsigned long n, duration_ms, timeout_ms;
	uint8_t *prefix;
	size_t len;
};

static int
bench_hold_opt(struct bench_hold_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case OPT_CONNECTIONS:
		return netio_parse_number(arg, 1, 100000, &o->n);
	case OPT_HEX:
		free(o->prefix);
		return bench_unhex(arg, &o->prefix, &o->len);
	case OPT_DURATION:
		return netio_parse_number(arg, 0, 3600000, &o->duration_ms);
	case OPT_TIMEOUT:
		return netio_parse_number(arg, 1, 600000, &o->timeout_ms);
	}
	return -1;
}

static int
bench_hold_run(const struct bench_cmd *cmd, const struct bench_hold_opts *o,
    const struct sockaddr *sa)
{
	char *cause = NULL;
	size_t closed;
	int *fds;

	if ((fds = calloc(o->n, sizeof(*fds))) == NULL)
		return bench_error(cmd, NULL);
	if (raw_hold_open(sa, o->n, o->prefix, o->len, (unsigned int)o->timeout_ms, fds, &cause) ==
	    -1) {
		free(fds);
		return bench_error(cmd, cause);
	}
	printf("held %lu\n", o->n);
	fflush(stdout);
	closed = raw_hold_watch(fds, o->n, (unsigned int)o->duration_ms);
	printf("closed-by-server %zu\n", closed);
	raw_hold_close(fds, o->n);
	free(fds);
	return 0;
}

static int
bench_hold(const struct bench_cmd *cmd, int argc, char **argv)
{
	struct bench_hold_opts o = {.n = 1, .duration_ms = 5000, .timeout_ms = 5000};
	struct sockaddr_storage ss;
	char host[NETIO_HOSTLEN], *cause = NULL;
	int ch, rc = 0;

	while (rc == 0 && (ch = getopt_long(argc, argv, "", bench_hold_longopts, NULL)) != -1) {
		if (ch == '?')
			rc = bench_cmd_usage(cmd, "unknown option", NULL);
		else if (bench_hold_opt(&o, ch, optarg) == -1)
			rc = bench_cmd_usage(cmd, "bad value", optarg);
	}
	if (rc == 0)
		rc = bench_target(cmd, argc, argv, 3478, &ss, host, &cause);
	if (rc == 0)
		rc = bench_hold_run(cmd, &o, (struct sockaddr *)&ss);
	free(o.prefix);
	return rc;
}

static const struct option bench_spray_longopts[] = {
    {"count", required_argument, NULL, OPT_COUNT},
    {"seed", required_argument, NULL, OPT_SEED},
    {NULL, 0, NULL, 0},
};

static int
bench_spray(const struct bench_cmd *cmd, int argc, char **argv)
{
	struct raw_spray_stats st;
	struct sockaddr_storage ss;
	char host[NETIO_HOSTLEN], *cause = NULL;
	unsigned long count = 2000, seed;
	int ch, rc;

	if (random_bytes(&seed, sizeof(seed)) == -1)
		seed = 1;
	seed &= 0xffffffffUL;
	while ((ch = getopt_long(argc, argv, "", bench_spray_longopts, NULL)) != -1) {
		if (ch == '?')
			return bench_cmd_usage(cmd, "unknown option", NULL);
		if ((ch == OPT_COUNT && netio_parse_number(optarg, 1, 10000000, &count) == -1) ||
		    (ch == OPT_SEED && netio_parse_number(optarg, 0, ULONG_MAX - 1, &seed) == -1))
			return bench_cmd_usage(cmd, "bad value", optarg);
	}
	if ((rc = bench_target(cmd, argc, argv, 3478, &ss, host, &cause)) != 0)
		return rc;
	printf("seed %lu\n", seed);
	fflush(stdout);
	if (raw_spray((struct sockaddr *)&ss, count, seed, &st, &cause) == -1)
		return bench_error(cmd, cause);
	printf("sent %zu replies %zu\n", st.sent, st.replies);
	return 0;
}

static int
bench_turn(const struct bench_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return turncmd_run(argc, argv);
}

static int
bench_load(const struct bench_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return load_run(argc, argv);
}

int
main(int argc, char **argv)
{
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		bench_usage(stderr);
		return BENCH_EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		bench_usage(stdout);
		return 0;
	}
	for (i = 0; i < BENCH_NCMDS; i++) {
		if (strcmp(argv[1], bench_cmds[i].name) == 0)
			return bench_cmds[i].run(&bench_cmds[i], argc - 1, argv + 1);
	}
	fprintf(stderr, "turnpike-bench: unknown command '%s'\n", argv[1]);
	bench_usage(stderr);
	return BENCH_EXIT_USAGE;
}
