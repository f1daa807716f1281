/*
 * turnpikectl doctor: the checks that talk to the running server, with the
 * project's client (probe, turnclient). Every exchange is bounded by
 * n->timeout_ms.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/addr.h"
#include "turnpike/cause.h"
#include "turnpike/credkey.h"
#include "turnpike/doctor.h"
#include "turnpike/netio.h"
#include "turnpike/probe.h"
#include "turnpike/random.h"
#include "turnpike/stun_build.h"
#include "turnpike/turnclient.h"

/* REST credentials the clock check makes: this far around now. */
#define DOCTORNET_CLOCK_WINDOW 60
#define DOCTORNET_REST_USER_MAX 300
#define DOCTORNET_REST_PASS_MAX 64

void
doctor_net_target(const struct config *cfg, struct sockaddr_storage *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

	memset(out, 0, sizeof *out);
	if (cfg->listening_ip.n > 0)
		*out = cfg->listening_ip.v[0];
	if (cfg->listening_ip.n == 0 || addr_is_any((struct sockaddr *)out)) {
		if (out->ss_family == AF_INET6) {
			sin6->sin6_addr = in6addr_loopback;
		} else {
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		}
	}
	addr_set_port((struct sockaddr *)out, (uint16_t)cfg->listening_port);
}

bool
doctor_net_is_private(const struct sockaddr *sa)
{
	struct sockaddr_in tmp;
	const struct sockaddr *u = addr_unmap_v4(sa, &tmp);

	if (u->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)u)->sin_addr.s_addr);

		return (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == 0xac1 ||
		    (a >> 16) == 0xc0a8 || (a >> 16) == 0xa9fe || (a >> 22) == 0x191;
	}
	if (u->sa_family == AF_INET6) {
		const uint8_t *b = ((const struct sockaddr_in6 *)u)->sin6_addr.s6_addr;

		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)u)->sin6_addr) ||
		    (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
	}
	return false;
}

int
doctor_net_rest(const struct config *cfg, const char *secret, const char *user, int64_t expiry,
    char *username, size_t usercap, char *password, size_t passcap)
{
	bool sha256 = cfg->rest_api_hmac != NULL && strcmp(cfg->rest_api_hmac, "sha256") == 0;
	char sep = cfg->rest_api_separator != NULL && cfg->rest_api_separator[0] != '\0'
	    ? cfg->rest_api_separator[0]
	    : ':';
	int w;

	w = snprintf(username, usercap, "%lld%c%s", (long long)expiry, sep, user);
	if (w < 0 || (size_t)w >= usercap)
		return -1;
	return credkey_rest_password(sha256, secret, strlen(secret), username, (size_t)w, password,
	    passcap);
}

/* One Binding over UDP from src (NULL: any) to dst, retransmitted 3 times. */
static int
doctornet_binding(const struct sockaddr *src, const struct sockaddr *dst, unsigned int timeout_ms,
    struct probe_result *res, char **cause)
{
	uint8_t tid[STUN_TID_LEN], req[64], buf[1500];
	uint64_t end = netio_now_ms() + timeout_ms, next = 0;
	struct stun_build b;
	size_t reqlen;
	ssize_t got;
	int fd, rc = -1, sends = 0;

	if (random_bytes(tid, sizeof tid) == -1 ||
	    stun_build_init(&b, req, sizeof req, STUN_BINDING, STUN_REQUEST, tid) == -1 ||
	    stun_build_fingerprint(&b) == -1 || stun_build_finish(&b, &reqlen) == -1)
		return cause_fail(cause, "cannot build a Binding request");
	if ((fd = socket(dst->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return cause_fail(cause, "socket: %s", strerror(errno));
	if (src != NULL && bind(fd, src, addr_len(src)) == -1) {
		cause_fail(cause, "cannot send from %s: %s",
		    addr_fmt(src, false, (char[ADDR_STRLEN]){0}, ADDR_STRLEN), strerror(errno));
		goto out;
	}
	if (connect(fd, dst, addr_len(dst)) == -1) {
		cause_fail(cause, "connect: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		uint64_t now = netio_now_ms();

		if (now >= end) {
			cause_fail(cause, "no answer after %d Binding requests", sends);
			goto out;
		}
		if (sends < 3 && now >= next) {
			(void)send(fd, req, reqlen, 0);
			sends++;
			next = now + timeout_ms / 4;
		}
		if (netio_wait(fd, POLLIN, next < end && sends < 3 ? next : end) <= 0)
			continue;
		if ((got = recv(fd, buf, sizeof buf, 0)) <= 0)
			continue;
		rc = probe_check_response(tid, buf, (size_t)got, false, res, cause);
		if (rc == PROBE_CHECK_OK)
			break;
		if (rc == PROBE_CHECK_BAD)
			goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* True when ip is an address of this host (a socket binds to it). */
static bool
doctornet_is_local(const struct sockaddr *ip)
{
	struct sockaddr_storage ss;
	bool ok;
	int fd;

	memcpy(&ss, ip, addr_len(ip));
	addr_set_port((struct sockaddr *)&ss, 0);
	if ((fd = socket(ip->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	ok = bind(fd, (struct sockaddr *)&ss, addr_len(ip)) == 0;
	close(fd);
	return ok;
}

static const char *
doctornet_fmt(const struct sockaddr *sa, bool port, char buf[ADDR_STRLEN])
{
	return addr_fmt(sa, port, buf, ADDR_STRLEN);
}

/* One transport of the listeners check: "udp 127.0.0.1:3478" or the error. */
static bool
doctornet_listener(struct doctor_net *n, enum probe_transport t, uint16_t port, char *out,
    size_t cap)
{
	struct probe_config pc;
	struct probe_result res;
	struct probe *p;
	char a[ADDR_STRLEN], *cause = NULL;
	bool ok = false;

	probe_config_defaults(&pc);
	pc.transport = t;
	pc.server = n->server;
	addr_set_port((struct sockaddr *)&pc.server, port);
	pc.timeout_ms = n->timeout_ms;
	pc.rto_ms = n->timeout_ms / 4;
	pc.max_sends = 3;
	pc.tls.insecure = true; /* the certificate check judges the certificate */
	doctornet_fmt((struct sockaddr *)&pc.server, true, a);
	if ((p = probe_create(&pc, &cause)) != NULL && probe_binding(p, &res, &cause) == 0)
		ok = true;
	snprintf(out, cap, "%s %s%s%s", probe_transport_name(t), a, ok ? "" : ": ",
	    ok ? "" : (cause != NULL ? cause : "out of memory"));
	probe_free(p);
	free(cause);
	return ok;
}

void
doctor_net_listeners(struct doctor_report *r, struct doctor_net *n)
{
	const struct config *cfg = n->cfg;
	char one[3][200];
	int nt = 0, bad = 0;

	if (!cfg->no_udp)
		bad += !doctornet_listener(n, PROBE_UDP, (uint16_t)cfg->listening_port, one[nt++],
		    sizeof one[0]);
	if (!cfg->no_tcp)
		bad += !doctornet_listener(n, PROBE_TCP, (uint16_t)cfg->listening_port, one[nt++],
		    sizeof one[0]);
	if (cfg->tls)
		bad += !doctornet_listener(n, PROBE_TLS, (uint16_t)cfg->tls_listening_port,
		    one[nt++], sizeof one[0]);
	if (nt == 0) {
		doctor_report_add(r, "listeners", DOCTOR_FAIL,
		    "no UDP, TCP or TLS listener enabled");
		return;
	}
	doctor_report_add(r, "listeners", bad > 0 ? DOCTOR_FAIL : DOCTOR_PASS, "%s: %s%s%s%s%s",
	    bad > 0 ? "STUN Binding not answered (is turnpiked running?)" : "STUN Binding answered",
	    one[0], nt > 1 ? "; " : "", nt > 1 ? one[1] : "", nt > 2 ? "; " : "",
	    nt > 2 ? one[2] : "");
}

/* No external-ip: the relay addresses themselves must be reachable. */
static void
doctornet_no_external(struct doctor_report *r, struct doctor_net *n)
{
	const struct config *cfg = n->cfg;
	const struct sockaddr *relay = cfg->relay_ip.n > 0
	    ? (const struct sockaddr *)&cfg->relay_ip.v[0]
	    : (const struct sockaddr *)&n->server;
	struct probe_result res;
	char a[ADDR_STRLEN], m[ADDR_STRLEN], *cause = NULL;

	if (doctornet_binding(NULL, (struct sockaddr *)&n->server, n->timeout_ms, &res, &cause)) {
		doctor_report_add(r, "external-ip", DOCTOR_FAIL, "STUN Binding to %s: %s",
		    doctornet_fmt((struct sockaddr *)&n->server, true, a),
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return;
	}
	doctornet_fmt(relay, false, a);
	doctornet_fmt((struct sockaddr *)&res.mapped, true, m);
	if (doctor_net_is_private(relay) || addr_is_any(relay))
		doctor_report_add(r, "external-ip", DOCTOR_WARN,
		    "no external-ip, and relay addresses are private (%s; this host is seen as "
		    "%s): clients outside this network cannot reach them; behind NAT set "
		    "external-ip PUBLIC/PRIVATE",
		    a, m);
	else
		doctor_report_add(r, "external-ip", DOCTOR_PASS,
		    "no external-ip needed: the relay address %s is public (Binding saw %s)", a, m);
}

void
doctor_net_external(struct doctor_report *r, struct doctor_net *n)
{
	const struct config_external *e;
	struct sockaddr_storage dst, src;
	struct probe_result res;
	char p[ADDR_STRLEN], q[ADDR_STRLEN], m[ADDR_STRLEN], d[ADDR_STRLEN], *cause = NULL;

	if (n->cfg->external_ip.n == 0) {
		doctornet_no_external(r, n);
		return;
	}
	e = &n->cfg->external_ip.v[0];
	dst = e->public_ip;
	addr_set_port((struct sockaddr *)&dst, addr_port((struct sockaddr *)&n->server));
	src = e->private_ip;
	addr_set_port((struct sockaddr *)&src, 0);
	doctornet_fmt((const struct sockaddr *)&e->public_ip, false, p);
	doctornet_fmt((struct sockaddr *)&src, false, q);
	doctornet_fmt((struct sockaddr *)&dst, true, d);
	if (doctornet_binding(e->has_private ? (struct sockaddr *)&src : NULL,
		(struct sockaddr *)&dst, n->timeout_ms, &res, &cause) == -1) {
		doctor_report_add(r, "external-ip", DOCTOR_SKIP,
		    "cannot tell from here: a STUN Binding to %s%s%s got %s (NAT without "
		    "hairpinning, or a firewall); ask from outside: turnutils_stunclient %s",
		    d, e->has_private ? " from " : "", e->has_private ? q : "",
		    cause != NULL ? cause : "no answer", p);
		free(cause);
		return;
	}
	doctornet_fmt((struct sockaddr *)&res.mapped, false, m);
	if (addr_equal_ip((struct sockaddr *)&res.mapped, (const struct sockaddr *)&e->public_ip) &&
	    doctornet_is_local((const struct sockaddr *)&e->public_ip))
		doctor_report_add(r, "external-ip", DOCTOR_PASS,
		    "external-ip %s is an address of this host, and a STUN Binding to %s was seen "
		    "from it",
		    p, d);
	else if (addr_equal_ip((struct sockaddr *)&res.mapped,
		     (const struct sockaddr *)&e->public_ip))
		doctor_report_add(r, "external-ip", DOCTOR_PASS,
		    "a STUN Binding to %s%s%s was seen from %s: external-ip %s%s%s matches", d,
		    e->has_private ? " from " : "", e->has_private ? q : "", m, p,
		    e->has_private ? "/" : "", e->has_private ? q : "");
	else if (doctornet_is_local((struct sockaddr *)&res.mapped))
		doctor_report_add(r, "external-ip", DOCTOR_SKIP,
		    "cannot tell from here: the Binding to %s never left this host (seen from "
		    "%s, a local address); ask from outside: turnutils_stunclient %s",
		    d, m, p);
	else
		doctor_report_add(r, "external-ip", DOCTOR_FAIL,
		    "the server sees this host as %s, but external-ip says %s", m, p);
}

/* The credentials for one client: REST ones made for expiry, or the fixed ones. */
static struct turnclient *
doctornet_client(struct doctor_net *n, int64_t expiry, char **cause)
{
	struct turnclient_config tc;
	char user[DOCTORNET_REST_USER_MAX], pass[DOCTORNET_REST_PASS_MAX];
	struct turnclient *c;

	turnclient_config_defaults(&tc);
	tc.conn.transport = PROBE_UDP;
	tc.conn.server = n->server;
	tc.timeout_ms = n->timeout_ms;
	tc.rto_ms = n->timeout_ms / 8;
	tc.max_sends = 4;
	tc.user = n->creds.none ? "" : n->creds.user;
	tc.password = n->creds.none ? "" : n->creds.password;
	if (n->creds.secret != NULL) {
		if (doctor_net_rest(n->cfg, n->creds.secret, n->creds.user, expiry, user,
			sizeof user, pass, sizeof pass) == -1) {
			cause_fail(cause, "cannot make a REST credential for %s", n->creds.user);
			return NULL;
		}
		tc.user = user;
		tc.password = pass;
	}
	c = turnclient_create(&tc, cause);
	explicit_bzero(pass, sizeof pass);
	return c;
}

static int
doctornet_allocate(struct turnclient *c, struct turnclient_resp *res, char **cause)
{
	struct turnclient_req rq = {.method = STUN_ALLOCATE};

	return turnclient_request(c, &rq, res, cause);
}

static void
doctornet_deallocate(struct turnclient *c)
{
	struct turnclient_req rq = {.method = STUN_REFRESH, .has_lifetime = true, .lifetime = 0};
	struct turnclient_resp res;
	char *cause = NULL;

	(void)turnclient_request(c, &rq, &res, &cause);
	free(cause);
}

/* A UDP socket on the address the server saw this host from: the echo peer. */
static int
doctornet_echo_open(const struct sockaddr *mapped, struct sockaddr_storage *peer, char **cause)
{
	socklen_t len = sizeof *peer;
	int fd;

	memcpy(peer, mapped, addr_len(mapped));
	addr_set_port((struct sockaddr *)peer, 0);
	if ((fd = socket(mapped->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return cause_fail(cause, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)peer, addr_len(mapped)) == -1 ||
	    getsockname(fd, (struct sockaddr *)peer, &len) == -1) {
		cause_fail(cause, "cannot open an echo peer on %s: %s",
		    addr_fmt(mapped, false, (char[ADDR_STRLEN]){0}, ADDR_STRLEN), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The echo peer answers one datagram to wherever it came from (the relay socket). */
static int
doctornet_echo_once(int fd, const uint8_t *want, size_t wantlen, uint64_t deadline,
    struct sockaddr_storage *from, char **cause)
{
	uint8_t buf[1500];
	socklen_t fl;
	ssize_t got;

	for (;;) {
		if (netio_wait(fd, POLLIN, deadline) <= 0)
			return cause_fail(cause, "the echo peer received nothing from the relay");
		fl = sizeof *from;
		got = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)from, &fl);
		if (got == (ssize_t)wantlen && memcmp(buf, want, wantlen) == 0)
			break;
	}
	if (sendto(fd, buf, (size_t)got, 0, (struct sockaddr *)from, fl) != got)
		return cause_fail(cause, "the echo peer cannot answer: %s", strerror(errno));
	return 0;
}

/* Data to the peer through the relay and back; *ms the round trip. */
static int
doctornet_roundtrip(struct turnclient *c, int echo, const struct sockaddr *peer,
    unsigned int timeout_ms, struct sockaddr_storage *relay_src, uint64_t *ms, char **cause)
{
	uint8_t msg[32];
	uint64_t start = netio_now_ms(), end = start + timeout_ms;
	struct sockaddr_storage from;
	const uint8_t *data;
	uint16_t channel;
	size_t len;
	int rc;

	memcpy(msg, "turnpikectl doctor ", 19);
	if (random_bytes(msg + 19, sizeof msg - 19) == -1)
		return cause_fail(cause, "no randomness");
	if (turnclient_send(c, peer, 0, msg, sizeof msg, cause) == -1 ||
	    doctornet_echo_once(echo, msg, sizeof msg, end, relay_src, cause) == -1)
		return -1;
	for (;;) {
		rc = turnclient_recv(c, end, &from, &channel, &data, &len, cause);
		if (rc == -1)
			return -1;
		if (rc == 0)
			return cause_fail(cause,
			    "the echo came back to the relay but not to the client");
		if (len == sizeof msg && memcmp(data, msg, len) == 0)
			break;
	}
	*ms = netio_now_ms() - start;
	return 0;
}

static void
doctornet_permission_refused(struct doctor_report *r, struct doctor_net *n,
    const struct turnclient_resp *res, const char *relayed, const struct sockaddr_storage *ps)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ps;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ps;
	bool loop = ps->ss_family == AF_INET ? (ntohl(sin->sin_addr.s_addr) >> 24) == 127
					     : IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	char peer[ADDR_STRLEN];

	doctornet_fmt((const struct sockaddr *)ps, false, peer);

	if (res->code == 403)
		doctor_report_add(r, "relay", DOCTOR_WARN,
		    "allocated %s, but the peer policy forbids relaying to this host (%s: 403 "
		    "Forbidden)%s: the end-to-end self-check cannot run",
		    relayed, peer,
		    loop && !n->cfg->allow_loopback_peers
			? "; set allow-loopback-peers, or run doctor from an allowed address"
			: "; allow this address with allowed-peer-ip");
	else
		doctor_report_add(r, "relay", DOCTOR_FAIL,
		    "allocated %s; CreatePermission for %s: %d %s", relayed, peer, res->code,
		    res->reason);
}

/* After a successful Allocate: permission, echo peer, data both ways. */
static void
doctornet_relay_data(struct doctor_report *r, struct doctor_net *n, struct turnclient *c,
    const struct turnclient_resp *alloc)
{
	struct sockaddr_storage peer, relay_src;
	struct turnclient_resp res;
	struct turnclient_req rq = {.method = STUN_CREATE_PERMISSION};
	char rel[ADDR_STRLEN], pa[ADDR_STRLEN], src[ADDR_STRLEN], *cause = NULL;
	int port = addr_port((const struct sockaddr *)&alloc->relayed), echo;
	uint64_t ms = 0;

	doctornet_fmt((const struct sockaddr *)&alloc->relayed, true, rel);
	if ((echo = doctornet_echo_open((const struct sockaddr *)&alloc->mapped, &peer, &cause)) ==
	    -1)
		goto fail;
	doctornet_fmt((struct sockaddr *)&peer, true, pa);
	rq.peer = (struct sockaddr *)&peer;
	if (turnclient_request(c, &rq, &res, &cause) == -1)
		goto fail;
	if (res.cls != STUN_SUCCESS) {
		doctornet_permission_refused(r, n, &res, rel, &peer);
		close(echo);
		return;
	}
	if (doctornet_roundtrip(c, echo, (struct sockaddr *)&peer, n->timeout_ms, &relay_src, &ms,
		&cause) == -1)
		goto fail;
	close(echo);
	doctor_report_add(r, "relay",
	    port >= n->cfg->min_port && port <= n->cfg->max_port ? DOCTOR_PASS : DOCTOR_WARN,
	    "allocated %s (%s min-port %d..max-port %d) as %s; data to %s and back through "
	    "relay socket %s in %llu ms",
	    rel, port >= n->cfg->min_port && port <= n->cfg->max_port ? "within" : "outside",
	    n->cfg->min_port, n->cfg->max_port, n->creds.from, pa,
	    doctornet_fmt((struct sockaddr *)&relay_src, true, src), (unsigned long long)ms);
	return;
fail:
	if (echo != -1)
		close(echo);
	doctor_report_add(r, "relay", DOCTOR_FAIL, "allocated %s; %s", rel,
	    cause != NULL ? cause : "out of memory");
	free(cause);
}

void
doctor_net_relay(struct doctor_report *r, struct doctor_net *n)
{
	struct turnclient_resp res;
	struct turnclient *c;
	char a[ADDR_STRLEN], *cause = NULL;

	if (n->creds.user == NULL && !n->creds.none) {
		doctor_report_add(r, "relay", DOCTOR_SKIP,
		    "no credentials: give --user and --password (or --secret), or set "
		    "static-auth-secret");
		return;
	}
	doctornet_fmt((struct sockaddr *)&n->server, true, a);
	if ((c = doctornet_client(n, (int64_t)time(NULL) + 3600, &cause)) == NULL ||
	    doctornet_allocate(c, &res, &cause) == -1) {
		doctor_report_add(r, "relay", DOCTOR_FAIL, "Allocate at %s: %s", a,
		    cause != NULL ? cause : "out of memory");
		goto out;
	}
	if (res.cls != STUN_SUCCESS) {
		doctor_report_add(r, "relay", DOCTOR_FAIL, "Allocate at %s as %s: %d %s%s", a,
		    n->creds.from, res.code, res.reason,
		    res.code == 508       ? ": no free port between min-port and max-port"
			: res.code == 401 ? ": the credentials were refused"
					  : "");
		goto out;
	}
	n->relay_ok = true;
	if (!res.has_relayed || !res.has_mapped) {
		doctor_report_add(r, "relay", DOCTOR_FAIL, "Allocate succeeded without %s",
		    res.has_relayed ? "XOR-MAPPED-ADDRESS" : "XOR-RELAYED-ADDRESS");
		goto out;
	}
	doctornet_relay_data(r, n, c, &res);
	doctornet_deallocate(c);
out:
	free(cause);
	turnclient_free(c);
}

/* Allocates with a REST credential expiring at expiry: 1 accepted, 0 refused, -1 no answer. */
static int
doctornet_rest_accepted(struct doctor_net *n, int64_t expiry, char **cause)
{
	struct turnclient_resp res;
	struct turnclient *c;
	int rc = -1;

	if ((c = doctornet_client(n, expiry, cause)) != NULL &&
	    doctornet_allocate(c, &res, cause) == 0) {
		rc = res.cls == STUN_SUCCESS;
		if (rc == 1)
			doctornet_deallocate(c);
	}
	turnclient_free(c);
	return rc;
}

static void
doctornet_clock_rest(struct doctor_report *r, struct doctor_net *n)
{
	int64_t now = (int64_t)time(NULL);
	char *cause = NULL;
	int ahead, behind;

	if ((ahead = doctornet_rest_accepted(n, now + DOCTORNET_CLOCK_WINDOW, &cause)) == -1 ||
	    (behind = doctornet_rest_accepted(n, now - DOCTORNET_CLOCK_WINDOW, &cause)) == -1) {
		doctor_report_add(r, "clock", DOCTOR_FAIL, "REST credential check: %s",
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return;
	}
	if (!ahead)
		doctor_report_add(r, "clock", DOCTOR_FAIL,
		    "a REST credential valid for %d more seconds was refused: the server's clock "
		    "runs ahead of this host's by more than that",
		    DOCTORNET_CLOCK_WINDOW);
	else if (behind)
		doctor_report_add(r, "clock", DOCTOR_FAIL,
		    "a REST credential expired %d seconds ago was accepted: the server's clock "
		    "runs behind this host's by more than that",
		    DOCTORNET_CLOCK_WINDOW);
	else
		doctor_report_add(r, "clock", DOCTOR_PASS,
		    "REST credentials: one expiring in %d s was accepted, one expired %d s ago "
		    "refused: the server's clock is within %d s of this host's",
		    DOCTORNET_CLOCK_WINDOW, DOCTORNET_CLOCK_WINDOW, DOCTORNET_CLOCK_WINDOW);
}

int
doctor_net_http_date(const char *resp, size_t len, time_t *out)
{
	char head[4096], *d, *end;
	struct tm tm;

	if (len >= sizeof head)
		len = sizeof head - 1;
	memcpy(head, resp, len);
	head[len] = '\0';
	if ((end = strstr(head, "\r\n\r\n")) != NULL)
		end[2] = '\0';
	if (strncmp(head, "HTTP/1.", 7) != 0 || (d = strstr(head, "\r\nDate: ")) == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	end = strptime(d + 8, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || strncmp(end, "\r\n", 2) != 0)
		return -1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* The Date header of the metrics endpoint, as unix time; -1 when none came. */
static int
doctornet_http_date(struct doctor_net *n, const struct sockaddr *sa, time_t *out, char **cause)
{
	/* HTTP/1.1: evhttp sends no Date to HTTP/1.0 requests. */
	static const char req[] =
	    "GET /metrics HTTP/1.1\r\nHost: turnpike\r\nConnection: close\r\n\r\n";
	uint64_t end = netio_now_ms() + n->timeout_ms;
	char buf[4096];
	size_t have = 0;
	int fd, got;

	if ((fd = netio_connect(sa, SOCK_STREAM, end, cause)) == -1)
		return -1;
	if (netio_send_all(fd, req, sizeof req - 1, end, cause) == -1) {
		close(fd);
		return -1;
	}
	while (have < sizeof buf && memmem(buf, have, "\r\n\r\n", 4) == NULL &&
	    (got = netio_recv(fd, buf + have, sizeof buf - have, end, NULL)) > 0)
		have += (size_t)got;
	close(fd);
	if (doctor_net_http_date(buf, have, out) == -1)
		return cause_fail(cause, "no readable Date header from the metrics endpoint");
	return 0;
}

static void
doctornet_clock_http(struct doctor_report *r, struct doctor_net *n)
{
	struct sockaddr_storage ss;
	const char *errstr;
	char a[ADDR_STRLEN], *cause = NULL;
	time_t server, now;
	long long skew;

	if (addr_parse_ip(n->cfg->prometheus_address, &ss, &errstr) == -1) {
		doctor_report_add(r, "clock", DOCTOR_SKIP, "prometheus-address %s: %s",
		    n->cfg->prometheus_address, errstr);
		return;
	}
	if (addr_is_any((struct sockaddr *)&ss))
		doctor_net_target(n->cfg, &ss);
	addr_set_port((struct sockaddr *)&ss, (uint16_t)n->cfg->prometheus_port);
	doctornet_fmt((struct sockaddr *)&ss, true, a);
	if (doctornet_http_date(n, (struct sockaddr *)&ss, &server, &cause) == -1) {
		doctor_report_add(r, "clock", DOCTOR_WARN, "metrics endpoint %s: %s", a,
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return;
	}
	now = time(NULL);
	skew = (long long)server - (long long)now;
	doctor_report_add(r, "clock", llabs(skew) > 2 ? DOCTOR_WARN : DOCTOR_PASS,
	    "the Date of the metrics endpoint %s is %lld s from this host's clock (REST "
	    "credentials are not in use; only their expiry depends on it)",
	    a, skew);
}

void
doctor_net_clock(struct doctor_report *r, struct doctor_net *n)
{
	if (n->creds.secret != NULL) {
		if (!n->relay_ok)
			doctor_report_add(r, "clock", DOCTOR_SKIP,
			    "the relay check's REST credential was not accepted: nothing to "
			    "compare");
		else
			doctornet_clock_rest(r, n);
	} else if (n->cfg->prometheus) {
		doctornet_clock_http(r, n);
	} else {
		doctor_report_add(r, "clock", DOCTOR_SKIP,
		    "no REST secret (static users do not depend on the clock) and no metrics "
		    "endpoint to read a Date from: nothing checked");
	}
}
