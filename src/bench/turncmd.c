/* turnpike-bench turn: a scripted TURN session, one printed line per step. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "turnpike/addr.h"
#include "turnpike/netio.h"
#include "turnpike/turnclient.h"
#include "turnpike/turncmd.h"

#define TURNCMD_EXIT_FAIL 1
#define TURNCMD_EXIT_USAGE 2
#define TURNCMD_MAX_PERMS 64
/* A peer given without a port gets the discard port: permissions ignore ports. */
#define TURNCMD_DEFAULT_PEER_PORT 9
#define TURNCMD_CHANNEL 0x4000
/* RFC 5766 clients use 0x4000-0x7FFE; RFC 8656 narrowed that to 0x4000-0x4FFF. */
#define TURNCMD_CHANNEL_MAX 0x7fff
/* Payloads in flight before waiting for echoes (at most WAIT_MS for one). */
#define TURNCMD_WINDOW 16
#define TURNCMD_WINDOW_WAIT_MS 200
/* REST usernames are valid for an hour. */
#define TURNCMD_REST_TTL 3600

struct turncmd_peer {
	char text[ADDR_STRLEN]; /* as written, without =CODE */
	struct sockaddr_storage addr;
	int expect; /* 0: success, else the error code expected */
};

struct turncmd_opts {
	struct turnclient_config cfg;
	const char *user, *password, *secret;
	int family;
	struct turncmd_peer perms[TURNCMD_MAX_PERMS];
	size_t nperms;
	struct turncmd_peer send;
	bool sending;
	uint16_t channel; /* 0: Send indications */
	unsigned long payload_size, count;
	char rest_user[TURNCLIENT_USER_MAX + 1];
	char rest_pass[TURNCLIENT_REST_PASS_LEN];
	char host[NETIO_HOSTLEN];
};

enum {
	OPT_USER = 256,
	OPT_PASSWORD,
	OPT_SECRET,
	OPT_CA,
	OPT_INSECURE,
	OPT_SERVER_NAME,
	OPT_FAMILY,
	OPT_TIMEOUT,
	OPT_PERMISSION,
	OPT_SEND,
	OPT_CHANNEL,
	OPT_CHANNEL_NUMBER,
	OPT_PAYLOAD_SIZE,
	OPT_COUNT,
};

static const struct option turncmd_longopts[] = {
    {"user", required_argument, NULL, OPT_USER},
    {"password", required_argument, NULL, OPT_PASSWORD},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"transport", required_argument, NULL, 't'},
    {"ca", required_argument, NULL, OPT_CA},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"server-name", required_argument, NULL, OPT_SERVER_NAME},
    {"family", required_argument, NULL, OPT_FAMILY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"permission", required_argument, NULL, OPT_PERMISSION},
    {"send", required_argument, NULL, OPT_SEND},
    {"channel", no_argument, NULL, OPT_CHANNEL},
    {"channel-number", required_argument, NULL, OPT_CHANNEL_NUMBER},
    {"payload-size", required_argument, NULL, OPT_PAYLOAD_SIZE},
    {"count", required_argument, NULL, OPT_COUNT},
    {NULL, 0, NULL, 0},
};

static int
turncmd_usage(const char *what, const char *arg)
{
	fprintf(stderr, "turnpike-bench turn: %s%s%s%s\n", what, arg != NULL ? " '" : "",
	    arg != NULL ? arg : "", arg != NULL ? "'" : "");
	fprintf(stderr, "usage: turnpike-bench turn %s\n", TURNCMD_USAGE);
	return TURNCMD_EXIT_USAGE;
}

static int
turncmd_number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "PEER" or "PEER=CODE"; PEER is an address with an optional port. */
static int
turncmd_peer(const char *arg, bool with_code, struct turncmd_peer *p)
{
	const char *eq = with_code ? strrchr(arg, '=') : NULL, *errstr;
	size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	unsigned long code = 0;

	if (n == 0 || n >= sizeof(p->text))
		return -1;
	memcpy(p->text, arg, n);
	p->text[n] = '\0';
	if (eq != NULL && turncmd_number(eq + 1, 300, 699, &code) == -1)
		return -1;
	p->expect = (int)code;
	return addr_parse(p->text, TURNCMD_DEFAULT_PEER_PORT, &p->addr, &errstr);
}

static int
turncmd_opt(struct turncmd_opts *o, int ch, const char *arg)
{
	unsigned long v;
	char *end;

	switch (ch) {
	case OPT_USER:
		o->user = arg;
		return 0;
	case OPT_PASSWORD:
		o->password = arg;
		return 0;
	case OPT_SECRET:
		o->secret = arg;
		return 0;
	case 't':
		return probe_transport_parse(arg, &o->cfg.conn.transport);
	case OPT_CA:
		o->cfg.conn.ca_file = arg;
		return 0;
	case OPT_INSECURE:
		o->cfg.conn.insecure = true;
		return 0;
	case OPT_SERVER_NAME:
		o->cfg.conn.server_name = arg;
		return 0;
	case OPT_FAMILY:
		if (strcmp(arg, "4") != 0 && strcmp(arg, "6") != 0)
			return -1;
		o->family = arg[0] == '6' ? AF_INET6 : AF_INET;
		return 0;
	case OPT_TIMEOUT:
		if (turncmd_number(arg, 1, 600000, &v) == -1)
			return -1;
		o->cfg.timeout_ms = (unsigned int)v;
		return 0;
	case OPT_PERMISSION:
		if (o->nperms == TURNCMD_MAX_PERMS)
			return -1;
		return turncmd_peer(arg, true, &o->perms[o->nperms++]);
	case OPT_SEND:
		o->sending = true;
		return turncmd_peer(arg, false, &o->send);
	case OPT_CHANNEL:
		o->channel = TURNCMD_CHANNEL;
		return 0;
	case OPT_CHANNEL_NUMBER:
		errno = 0;
		v = strtoul(arg, &end, 0);
		if (errno != 0 || *end != '\0' || v < 0x4000 || v > TURNCMD_CHANNEL_MAX)
			return -1;
		o->channel = (uint16_t)v;
		return 0;
	case OPT_PAYLOAD_SIZE:
		return turncmd_number(arg, 4, 60000, &o->payload_size);
	case OPT_COUNT:
		return turncmd_number(arg, 1, 100000, &o->count);
	}
	return -1;
}

/* The credentials: given, or made from the REST secret. */
static int
turncmd_creds(struct turncmd_opts *o)
{
	if (o->user == NULL || (o->password == NULL) == (o->secret == NULL))
		return turncmd_usage("give --user and one of --password and --secret", NULL);
	o->cfg.user = o->user;
	o->cfg.password = o->password;
	if (o->secret == NULL)
		return 0;
	if (turnclient_rest_credentials(o->secret, o->user, (uint64_t)time(NULL) + TURNCMD_REST_TTL,
		o->rest_user, sizeof(o->rest_user), o->rest_pass) == -1)
		return turncmd_usage("cannot make REST credentials for", o->user);
	o->cfg.user = o->rest_user;
	o->cfg.password = o->rest_pass;
	return 0;
}

static int
turncmd_parse(struct turncmd_opts *o, int argc, char **argv)
{
	char *cause = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "t:", turncmd_longopts, NULL)) != -1) {
		if (ch == '?')
			return turncmd_usage("unknown option", NULL);
		if (turncmd_opt(o, ch, optarg) == -1)
			return turncmd_usage("bad value", optarg);
	}
	if (o->cfg.conn.ca_file != NULL && o->cfg.conn.insecure)
		return turncmd_usage("--ca and --insecure exclude each other", NULL);
	if ((rc = turncmd_creds(o)) != 0)
		return rc;
	if (optind != argc - 1)
		return turncmd_usage(optind >= argc ? "missing HOST[:PORT]"
						    : "more than one HOST[:PORT]",
		    NULL);
	if (netio_resolve(argv[optind], o->cfg.conn.transport == PROBE_TLS ? 5349 : 3478,
		&o->cfg.conn.server, o->host, &cause) == -1) {
		fprintf(stderr, "turnpike-bench turn: %s\n",
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return TURNCMD_EXIT_FAIL;
	}
	o->cfg.conn.host = o->host;
	return 0;
}

/* Prints the outcome of a step; returns 0 when it is what was expected. */
static int
turncmd_report(const char *step, const struct turnclient_resp *res, int expect)
{
	int got = res->cls == STUN_SUCCESS ? 0 : res->code;

	if (got == 0)
		printf("%s ok\n", step);
	else
		printf("%s error %d %s\n", step, res->code, res->reason);
	fflush(stdout);
	if (got == expect)
		return 0;
	if (expect == 0)
		fprintf(stderr, "turnpike-bench turn: %s: expected success, got %d\n", step, got);
	else
		fprintf(stderr, "turnpike-bench turn: %s: expected error %d, got %s\n", step,
		    expect, got == 0 ? "success" : res->reason);
	return -1;
}

/* One request; a failure to get any answer is printed and fails the step. */
static int
turncmd_request(struct turnclient *c, const char *step, const struct turnclient_req *r,
    struct turnclient_resp *res)
{
	char *cause = NULL;

	if (turnclient_request(c, r, res, &cause) == 0)
		return 0;
	printf("%s failed\n", step);
	fflush(stdout);
	fprintf(stderr, "turnpike-bench turn: %s: %s\n", step,
	    cause != NULL ? cause : "out of memory");
	free(cause);
	return -1;
}

static int
turncmd_allocate(struct turnclient *c, const struct turncmd_opts *o)
{
	struct turnclient_req r = {.method = STUN_ALLOCATE, .family = o->family};
	struct turnclient_resp res;
	char relayed[ADDR_STRLEN], mapped[ADDR_STRLEN];

	if (turncmd_request(c, "allocate", &r, &res) == -1)
		return -1;
	if (res.cls != STUN_SUCCESS)
		return turncmd_report("allocate", &res, 0);
	if (!res.has_relayed || !res.has_lifetime) {
		printf("allocate failed\n");
		fprintf(stderr, "turnpike-bench turn: allocate: success without %s\n",
		    res.has_relayed ? "LIFETIME" : "XOR-RELAYED-ADDRESS");
		return -1;
	}
	addr_fmt((struct sockaddr *)&res.relayed, true, relayed, sizeof(relayed));
	if (res.has_mapped)
		addr_fmt((struct sockaddr *)&res.mapped, true, mapped, sizeof(mapped));
	printf("allocate ok relayed=%s mapped=%s lifetime=%u\n", relayed,
	    res.has_mapped ? mapped : "none", res.lifetime);
	fflush(stdout);
	return 0;
}

static int
turncmd_permission(struct turnclient *c, const struct turncmd_peer *p)
{
	struct turnclient_req r = {.method = STUN_CREATE_PERMISSION,
	    .peer = (const struct sockaddr *)&p->addr};
	struct turnclient_resp res;
	char step[ADDR_STRLEN + 16];

	snprintf(step, sizeof(step), "permission %s", p->text);
	if (turncmd_request(c, step, &r, &res) == -1)
		return -1;
	return turncmd_report(step, &res, p->expect);
}

static int
turncmd_bind(struct turnclient *c, const struct turncmd_peer *p, uint16_t channel)
{
	struct turnclient_req r = {.method = STUN_CHANNEL_BIND,
	    .peer = (const struct sockaddr *)&p->addr,
	    .channel = channel};
	struct turnclient_resp res;
	char step[ADDR_STRLEN + 24];

	snprintf(step, sizeof(step), "channel 0x%04x %s", channel, p->text);
	if (turncmd_request(c, step, &r, &res) == -1)
		return -1;
	return turncmd_report(step, &res, 0);
}

static void
turncmd_fill(uint8_t *p, size_t len, uint32_t seq)
{
	size_t i;

	p[0] = (uint8_t)(seq >> 24);
	p[1] = (uint8_t)(seq >> 16);
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	for (i = 4; i < len; i++)
		p[i] = (uint8_t)(seq + i);
}

struct turncmd_echo {
	const struct turncmd_opts *o;
	uint8_t *seen; /* one flag per sequence number */
	uint8_t *expect;
	unsigned long received, bad;
};

/* Counts each echo that is intact, from the peer, and not seen before. */
static void
turncmd_check_echo(struct turncmd_echo *e, const struct sockaddr_storage *from, uint16_t channel,
    const uint8_t *p, size_t len)
{
	const struct turncmd_opts *o = e->o;
	uint32_t seq;

	if (len != o->payload_size ||
	    (channel == 0 &&
		!addr_equal((const struct sockaddr *)from,
		    (const struct sockaddr *)&o->send.addr)) ||
	    (channel != 0 && channel != o->channel)) {
		e->bad++;
		return;
	}
	seq = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (seq >= o->count || e->seen[seq]) {
		e->bad++;
		return;
	}
	turncmd_fill(e->expect, len, seq);
	if (memcmp(p, e->expect, len) != 0) {
		e->bad++;
		return;
	}
	e->seen[seq] = 1;
	e->received++;
}

/* Takes what arrives until the deadline or until target echoes came back. */
static int
turncmd_drain(struct turnclient *c, struct turncmd_echo *e, unsigned long target, uint64_t deadline,
    char **cause)
{
	struct sockaddr_storage from;
	const uint8_t *p;
	uint16_t channel;
	size_t len;
	int rc;

	while (e->received < target) {
		memset(&from, 0, sizeof(from));
		if ((rc = turnclient_recv(c, deadline, &from, &channel, &p, &len, cause)) <= 0)
			return rc;
		turncmd_check_echo(e, &from, channel, p, len);
	}
	return 0;
}

static int
turncmd_relay(struct turnclient *c, const struct turncmd_opts *o)
{
	struct turncmd_echo e = {.o = o};
	uint8_t *payload;
	char *cause = NULL;
	unsigned long i;
	int rc = 0;

	payload = malloc(o->payload_size);
	e.expect = malloc(o->payload_size);
	e.seen = calloc(o->count, 1);
	if (payload == NULL || e.expect == NULL || e.seen == NULL)
		rc = netio_fail(&cause, "out of memory");
	for (i = 0; rc == 0 && i < o->count; i++) {
		/* At most a window in flight: a burst would measure socket buffers, not relaying. */
		if (i >= TURNCMD_WINDOW)
			rc = turncmd_drain(c, &e, i - TURNCMD_WINDOW + 1,
			    netio_now_ms() + TURNCMD_WINDOW_WAIT_MS, &cause);
		turncmd_fill(payload, o->payload_size, (uint32_t)i);
		if (rc == 0)
			rc = turnclient_send(c, (const struct sockaddr *)&o->send.addr, o->channel,
			    payload, o->payload_size, &cause);
	}
	if (rc == 0)
		rc = turncmd_drain(c, &e, o->count, netio_now_ms() + o->cfg.timeout_ms, &cause);
	printf("sent %lu received %lu bad %lu\n", i, e.received, e.bad);
	fflush(stdout);
	if (rc == -1)
		fprintf(stderr, "turnpike-bench turn: relay: %s\n", cause != NULL ? cause : "?");
	free(cause);
	free(payload);
	free(e.expect);
	free(e.seen);
	return rc == 0 && e.received == o->count && e.bad == 0 ? 0 : -1;
}

static int
turncmd_deallocate(struct turnclient *c)
{
	struct turnclient_req r = {.method = STUN_REFRESH, .has_lifetime = true, .lifetime = 0};
	struct turnclient_resp res;

	if (turncmd_request(c, "deallocate", &r, &res) == -1)
		return -1;
	return turncmd_report("deallocate", &res, 0);
}

static int
turncmd_session(struct turnclient *c, const struct turncmd_opts *o)
{
	int failed = 0;
	size_t i;

	if (turncmd_allocate(c, o) == -1)
		return TURNCMD_EXIT_FAIL;
	for (i = 0; i < o->nperms; i++)
		failed |= turncmd_permission(c, &o->perms[i]);
	if (o->sending) {
		if (o->channel != 0)
			failed |= turncmd_bind(c, &o->send, o->channel);
		else
			failed |= turncmd_permission(c, &o->send);
		failed |= turncmd_relay(c, o);
	}
	failed |= turncmd_deallocate(c);
	return failed != 0 ? TURNCMD_EXIT_FAIL : 0;
}

int
turncmd_run(int argc, char **argv)
{
	struct turncmd_opts *o;
	struct turnclient *c;
	char *cause = NULL;
	int rc;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return TURNCMD_EXIT_FAIL;
	turnclient_config_defaults(&o->cfg);
	o->family = AF_INET;
	o->payload_size = 100;
	o->count = 10;
	if ((rc = turncmd_parse(o, argc, argv)) == 0) {
		if ((c = turnclient_create(&o->cfg, &cause)) == NULL) {
			fprintf(stderr, "turnpike-bench turn: %s\n",
			    cause != NULL ? cause : "out of memory");
			free(cause);
			rc = TURNCMD_EXIT_FAIL;
		} else {
			rc = turncmd_session(c, o);
			turnclient_free(c);
		}
	}
	explicit_bzero(o, sizeof(*o));
	free(o);
	return rc;
}
