/* turnpike-bench turn: a scripted TURN session, one printed line per step. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "turnpike/addr.h"
#include "turnpike/cause.h"
#include "turnpike/netio.h"
#include "turnpike/tlsclient.h"
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
/* REST usernames are valid for an hour unless --rest-ttl says otherwise. */
#define TURNCMD_REST_TTL 3600
#define TURNCMD_REST_TTL_MAX 315360000L
/* RFC 8489 §9.2.4: what a server answers a bid-down of PASSWORD-ALGORITHMS with. */
#define TURNCMD_BIDDOWN_CODE 400
/* RFC 8656 §5: another user's credentials on a 5-tuple with an allocation. */
#define TURNCMD_MISMATCH_CODE 441

struct turncmd_peer {
	char text[ADDR_STRLEN]; /* as written, without =CODE */
	struct sockaddr_storage addr;
	int expect; /* 0: success, else the error code expected */
};

struct turncmd_opts {
	struct turnclient_config cfg;
	struct turnclient_who who;
	int family;
	struct turncmd_peer perms[TURNCMD_MAX_PERMS];
	size_t nperms;
	struct turncmd_peer send;
	bool sending;
	uint16_t channel; /* 0: Send indications */
	unsigned long payload_size, count;
	int expect_alloc; /* 0: success, else the error code expected */
	bool expect_alloc_set;
	bool has_lifetime;
	uint32_t lifetime;
	bool retransmit;
	bool refreshing;
	unsigned long refresh_after_ms;
	const char *user2, *password2;
	struct turncmd_peer after; /* permission asked after deallocating */
	bool asking_after;
	long rest_ttl;
	bool rest_user_first;
	char rest_user[TURNCLIENT_USER_MAX + 1];
	char rest_pass[TURNCLIENT_REST_PASS_LEN];
	char host[NETIO_HOSTLEN];
};

enum {
	OPT_FAMILY = 256,
	OPT_TIMEOUT,
	OPT_PERMISSION,
	OPT_SEND,
	OPT_CHANNEL,
	OPT_CHANNEL_NUMBER,
	OPT_PAYLOAD_SIZE,
	OPT_COUNT,
	OPT_PWALG,
	OPT_TAMPER,
	OPT_EXPECT_ALLOCATE,
	OPT_LIFETIME,
	OPT_RETRANSMIT,
	OPT_REFRESH_AFTER,
	OPT_SECOND_USER,
	OPT_SECOND_PASSWORD,
	OPT_AFTER_DEALLOCATE,
	OPT_REST_TTL,
	OPT_REST_USER_FIRST,
};

static const struct option turncmd_longopts[] = {
    TURNCLIENT_WHO_LONGOPTS,
    {"transport", required_argument, NULL, 't'},
    TLSCLIENT_LONGOPTS,
    {"family", required_argument, NULL, OPT_FAMILY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"permission", required_argument, NULL, OPT_PERMISSION},
    {"send", required_argument, NULL, OPT_SEND},
    {"channel", no_argument, NULL, OPT_CHANNEL},
    {"channel-number", required_argument, NULL, OPT_CHANNEL_NUMBER},
    {"payload-size", required_argument, NULL, OPT_PAYLOAD_SIZE},
    {"count", required_argument, NULL, OPT_COUNT},
    {"password-algorithm", required_argument, NULL, OPT_PWALG},
    {"tamper-algorithms", no_argument, NULL, OPT_TAMPER},
    {"expect-allocate", required_argument, NULL, OPT_EXPECT_ALLOCATE},
    {"lifetime", required_argument, NULL, OPT_LIFETIME},
    {"retransmit", no_argument, NULL, OPT_RETRANSMIT},
    {"refresh-after", required_argument, NULL, OPT_REFRESH_AFTER},
    {"second-user", required_argument, NULL, OPT_SECOND_USER},
    {"second-password", required_argument, NULL, OPT_SECOND_PASSWORD},
    {"permission-after-deallocate", required_argument, NULL, OPT_AFTER_DEALLOCATE},
    {"rest-ttl", required_argument, NULL, OPT_REST_TTL},
    {"rest-user-first", no_argument, NULL, OPT_REST_USER_FIRST},
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
	if (eq != NULL && netio_parse_number(eq + 1, 300, 699, &code) == -1)
		return -1;
	p->expect = (int)code;
	return addr_parse(p->text, TURNCMD_DEFAULT_PEER_PORT, &p->addr, &errstr);
}

/* A signed number of seconds, e.g. -60 for a REST username that expired. */
static int
turncmd_signed(const char *s, long *out)
{
	unsigned long v;

	if (netio_parse_number(s[0] == '-' ? s + 1 : s, 0, TURNCMD_REST_TTL_MAX, &v) == -1)
		return -1;
	*out = s[0] == '-' ? -(long)v : (long)v;
	return 0;
}

/* The options of the credential, algorithm and protocol-rule steps. */
static int
turncmd_opt_auth(struct turncmd_opts *o, int ch, const char *arg)
{
	unsigned long v;

	switch (ch) {
	case OPT_PWALG:
		if (strcmp(arg, "md5") != 0 && strcmp(arg, "sha256") != 0)
			return -1;
		o->cfg.pwmode = arg[0] == 's' ? TURNCLIENT_PW_SHA256 : TURNCLIENT_PW_MD5;
		return 0;
	case OPT_TAMPER:
		o->cfg.pwmode = TURNCLIENT_PW_BIDDOWN;
		return 0;
	case OPT_EXPECT_ALLOCATE:
		o->expect_alloc_set = true;
		if (netio_parse_number(arg, 0, 699, &v) == -1 || (v != 0 && v < 300))
			return -1;
		o->expect_alloc = (int)v;
		return 0;
	case OPT_LIFETIME:
		o->has_lifetime = true;
		if (netio_parse_number(arg, 0, UINT32_MAX, &v) == -1)
			return -1;
		o->lifetime = (uint32_t)v;
		return 0;
	case OPT_RETRANSMIT:
		o->retransmit = true;
		return 0;
	case OPT_REFRESH_AFTER:
		o->refreshing = true;
		return netio_parse_number(arg, 0, 600000, &o->refresh_after_ms);
	case OPT_SECOND_USER:
		o->user2 = arg;
		return 0;
	case OPT_SECOND_PASSWORD:
		o->password2 = arg;
		return 0;
	case OPT_AFTER_DEALLOCATE:
		o->asking_after = true;
		return turncmd_peer(arg, true, &o->after);
	case OPT_REST_TTL:
		return turncmd_signed(arg, &o->rest_ttl);
	case OPT_REST_USER_FIRST:
		o->rest_user_first = true;
		return 0;
	}
	return -1;
}

static int
turncmd_opt(struct turncmd_opts *o, int ch, const char *arg)
{
	unsigned long v;
	char *end;

	if (turnclient_who_opt(&o->who, ch, arg) == 0 ||
	    tlsclient_opt(&o->cfg.conn.tls, ch, arg) == 0)
		return 0;
	switch (ch) {
	case 't':
		return probe_transport_parse(arg, &o->cfg.conn.transport);
	case OPT_FAMILY:
		if (strcmp(arg, "4") != 0 && strcmp(arg, "6") != 0)
			return -1;
		o->family = arg[0] == '6' ? AF_INET6 : AF_INET;
		return 0;
	case OPT_TIMEOUT:
		if (netio_parse_number(arg, 1, 600000, &v) == -1)
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
		return netio_parse_number(arg, 4, 60000, &o->payload_size);
	case OPT_COUNT:
		return netio_parse_number(arg, 1, 100000, &o->count);
	}
	return turncmd_opt_auth(o, ch, arg);
}

/* A REST username, "expiry:user" or (--rest-user-first) "user:expiry", and its password. */
static int
turncmd_rest(struct turncmd_opts *o)
{
	unsigned long long expiry = (unsigned long long)((long long)time(NULL) + o->rest_ttl);
	int n;

	if (o->rest_user_first)
		n = snprintf(o->rest_user, sizeof(o->rest_user), "%s:%llu", o->who.user, expiry);
	else
		n = snprintf(o->rest_user, sizeof(o->rest_user), "%llu:%s", expiry, o->who.user);
	if (n < 0 || (size_t)n >= sizeof(o->rest_user))
		return -1;
	return turnclient_rest_password(o->who.secret, o->rest_user, o->rest_pass);
}

/* The credentials: given, or made from the REST secret. */
static int
turncmd_creds(struct turncmd_opts *o)
{
	const char *bad;

	if ((bad = turnclient_who_check(&o->who)) != NULL)
		return turncmd_usage(bad, NULL);
	if ((o->user2 == NULL) != (o->password2 == NULL))
		return turncmd_usage("--second-user and --second-password go together", NULL);
	o->cfg.user = o->who.user;
	o->cfg.password = o->who.password;
	if (o->who.secret == NULL)
		return 0;
	if (turncmd_rest(o) == -1)
		return turncmd_usage("cannot make REST credentials for", o->who.user);
	o->cfg.user = o->rest_user;
	o->cfg.password = o->rest_pass;
	return 0;
}

static int
turncmd_parse(struct turncmd_opts *o, int argc, char **argv)
{
	const char *bad;
	char *cause = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "t:", turncmd_longopts, NULL)) != -1) {
		if (ch == '?')
			return turncmd_usage("unknown option", NULL);
		if (turncmd_opt(o, ch, optarg) == -1)
			return turncmd_usage("bad value", optarg);
	}
	if ((bad = tlsclient_opt_check(&o->cfg.conn.tls)) != NULL)
		return turncmd_usage(bad, NULL);
	if (o->cfg.pwmode == TURNCLIENT_PW_BIDDOWN && !o->expect_alloc_set)
		o->expect_alloc = TURNCMD_BIDDOWN_CODE;
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
	o->cfg.conn.tls.host = o->host;
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

/* Bytes a server sent as text: printable ASCII, anything else as '?'. */
static void
turncmd_print_text(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		putchar(p[i] > 0x20 && p[i] < 0x7f ? p[i] : '?');
}

/* The challenge the credentials answered: "challenge 401 realm=R nonce=N password-algorithms=L". */
static void
turncmd_print_challenge(const struct turnclient *c)
{
	const struct turnclient_resp *ch = turnclient_challenge(c);
	char algs[TURNCLIENT_ALGS_MAX * 2];

	if (ch == NULL)
		return;
	if (!ch->has_algs)
		snprintf(algs, sizeof(algs), "none");
	else if (turnclient_algs_format(ch->algs, ch->algslen, algs, sizeof(algs)) == -1)
		snprintf(algs, sizeof(algs), "malformed");
	printf("challenge %d realm=", ch->code);
	turncmd_print_text((const uint8_t *)ch->realm, strlen(ch->realm));
	printf(" nonce=");
	turncmd_print_text(ch->nonce, ch->noncelen);
	printf(" password-algorithms=%s\n", algs);
	fflush(stdout);
}

static const char *
turncmd_integrity(const struct turnclient_resp *res)
{
	if (res->mi_sha256)
		return "sha256";
	return res->mi ? "sha1" : "none";
}

/* The allocation's answer: 0 success, 1 the error expected (the session ends), -1 otherwise. */
static int
turncmd_allocate(struct turnclient *c, const struct turncmd_opts *o)
{
	struct turnclient_req r = {.method = STUN_ALLOCATE,
	    .family = o->family,
	    .has_lifetime = o->has_lifetime,
	    .lifetime = o->lifetime};
	struct turnclient_resp res;
	char relayed[ADDR_STRLEN], mapped[ADDR_STRLEN];
	int rc;

	rc = turncmd_request(c, "allocate", &r, &res);
	turncmd_print_challenge(c);
	if (rc == -1)
		return -1;
	if (res.cls != STUN_SUCCESS || o->expect_alloc != 0)
		return turncmd_report("allocate", &res, o->expect_alloc) == 0 ? 1 : -1;
	if (!res.has_relayed || !res.has_lifetime) {
		printf("allocate failed\n");
		fprintf(stderr, "turnpike-bench turn: allocate: success without %s\n",
		    res.has_relayed ? "LIFETIME" : "XOR-RELAYED-ADDRESS");
		return -1;
	}
	addr_fmt((struct sockaddr *)&res.relayed, true, relayed, sizeof(relayed));
	if (res.has_mapped)
		addr_fmt((struct sockaddr *)&res.mapped, true, mapped, sizeof(mapped));
	printf("allocate ok relayed=%s mapped=%s lifetime=%u password-algorithm=%s integrity=%s\n",
	    relayed, res.has_mapped ? mapped : "none", res.lifetime,
	    turnclient_password_algorithm(c) == STUN_PWALG_SHA256 ? "sha256" : "md5",
	    turncmd_integrity(&res));
	fflush(stdout);
	return 0;
}

/*
 * The last request sent again with its transaction ID: "STEP retransmission
 * identical ok" when the answer is the same, byte for byte (RFC 8656 §7.2).
 */
static int
turncmd_repeat(struct turnclient *c, const char *step)
{
	struct turnclient_resp res;
	char label[64], *cause = NULL;
	bool same = false;

	if (turnclient_repeat(c, &res, &same, &cause) == -1) {
		printf("%s retransmission failed\n", step);
		fflush(stdout);
		fprintf(stderr, "turnpike-bench turn: %s retransmission: %s\n", step,
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return -1;
	}
	snprintf(label, sizeof(label), "%s retransmission %s", step,
	    same ? "identical" : "different");
	if (turncmd_report(label, &res, 0) == -1 || !same)
		return -1;
	return 0;
}

/* A Refresh without LIFETIME (the default); a 438 on the way is printed, then retried. */
static int
turncmd_refresh(struct turnclient *c, const char *step)
{
	struct turnclient_req r = {.method = STUN_REFRESH};
	struct turnclient_resp res;
	const struct turnclient_resp *ch;

	if (turncmd_request(c, step, &r, &res) == -1)
		return -1;
	if (turnclient_stale_answers(c) > 0 && (ch = turnclient_challenge(c)) != NULL)
		printf("%s error 438 %s: retried with the new nonce\n", step, ch->reason);
	if (res.cls != STUN_SUCCESS)
		return turncmd_report(step, &res, 0);
	printf("%s ok lifetime=%u\n", step, res.lifetime);
	fflush(stdout);
	return 0;
}

/* SIGUSR1 ends the --refresh-after wait early: a test refreshes when it is ready, not on a timer. */
static volatile sig_atomic_t turncmd_woken;

static void
turncmd_wake(int sig)
{
	(void)sig;
	turncmd_woken = 1;
}

static int
turncmd_refresh_later(struct turnclient *c, unsigned long ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
	    .tv_nsec = (long)(ms % 1000) * 1000000};

	while (!turncmd_woken && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
	return turncmd_refresh(c, "refresh");
}

/*
 * Another user's Allocate on this 5-tuple, expected 441 (RFC 8656 §5); then a
 * Refresh with the first credentials shows the allocation is untouched.
 */
static int
turncmd_second_user(struct turnclient *c, const struct turncmd_opts *o)
{
	struct turnclient_req r = {.method = STUN_ALLOCATE, .family = o->family};
	struct turnclient_resp res;
	char *cause = NULL;
	int rc = -1;

	if (turnclient_set_credentials(c, o->user2, o->password2, &cause) == 0 &&
	    turncmd_request(c, "second-user allocate", &r, &res) == 0)
		rc = turncmd_report("second-user allocate", &res, TURNCMD_MISMATCH_CODE);
	if (cause == NULL &&
	    turnclient_set_credentials(c, o->cfg.user, o->cfg.password, &cause) == 0)
		return turncmd_refresh(c, "first-user refresh") == 0 ? rc : -1;
	fprintf(stderr, "turnpike-bench turn: %s\n", cause != NULL ? cause : "out of memory");
	free(cause);
	return -1;
}

static int
turncmd_permission(struct turnclient *c, const char *label, const struct turncmd_peer *p)
{
	struct turnclient_req r = {.method = STUN_CREATE_PERMISSION,
	    .peer = (const struct sockaddr *)&p->addr};
	struct turnclient_resp res;
	char step[ADDR_STRLEN + 48];

	snprintf(step, sizeof(step), "%s %s", label, p->text);
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
		rc = cause_fail(&cause, "out of memory");
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
	int failed = 0, rc;
	size_t i;

	if ((rc = turncmd_allocate(c, o)) != 0)
		return rc == 1 ? 0 : TURNCMD_EXIT_FAIL;
	if (o->retransmit)
		failed |= turncmd_repeat(c, "allocate");
	if (o->user2 != NULL)
		failed |= turncmd_second_user(c, o);
	if (o->refreshing)
		failed |= turncmd_refresh_later(c, o->refresh_after_ms);
	for (i = 0; i < o->nperms; i++)
		failed |= turncmd_permission(c, "permission", &o->perms[i]);
	if (o->sending) {
		if (o->channel != 0)
			failed |= turncmd_bind(c, &o->send, o->channel);
		else
			failed |= turncmd_permission(c, "permission", &o->send);
		failed |= turncmd_relay(c, o);
	}
	failed |= turncmd_deallocate(c);
	if (o->retransmit)
		failed |= turncmd_repeat(c, "deallocate");
	if (o->asking_after)
		failed |= turncmd_permission(c, "permission-after-deallocate", &o->after);
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
	o->rest_ttl = TURNCMD_REST_TTL;
	if ((rc = turncmd_parse(o, argc, argv)) == 0) {
		struct sigaction sa = {.sa_handler = turncmd_wake}; /* no SA_RESTART */

		sigemptyset(&sa.sa_mask);
		if (o->refresh_after_ms > 0)
			sigaction(SIGUSR1, &sa, NULL);
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
