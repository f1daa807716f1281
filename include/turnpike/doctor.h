/*
 * turnpikectl doctor: checks a configuration and the server running it the way
 * an operator's support question would, one named check at a time, each with a
 * status and a one-line detail. doctor.c parses the options, reads the
 * configuration with the daemon's own parser (libtpconf) and prints the report;
 * doctorcert.c checks the certificate files; doctornet.c talks to the server
 * with the project's client (libtpclient).
 */
#ifndef TURNPIKE_DOCTOR_H
#define TURNPIKE_DOCTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "turnpike/config.h"

enum doctor_status {
	DOCTOR_PASS = 0,
	DOCTOR_WARN,
	DOCTOR_FAIL,
	DOCTOR_SKIP,
};

#define DOCTOR_DETAIL_MAX 512
#define DOCTOR_CHECKS_MAX 16

struct doctor_check {
	const char *name;
	enum doctor_status status;
	char detail[DOCTOR_DETAIL_MAX];
};

struct doctor_report {
	struct doctor_check v[DOCTOR_CHECKS_MAX];
	size_t n;
};

/* Appends one check (dropped past DOCTOR_CHECKS_MAX; the detail is cut to fit). */
void doctor_report_add(struct doctor_report *r, const char *name, enum doctor_status status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "pass", "warn", "fail" or "skip". */
const char *doctor_status_name(enum doctor_status status);
/* True when any check failed. */
bool doctor_report_failed(const struct doctor_report *r);

/* Days left below which the expiry check warns. */
#define DOCTOR_CERT_WARN_DAYS 30

struct doctor_cert_opts {
	const char *cert;      /* PEM: the server certificate, then its chain */
	const char *pkey;      /* PEM private key */
	const char *ca_file;   /* trust anchors; NULL: the system store */
	const char *host;      /* name the certificate must carry; NULL: not checked */
	const char *host_from; /* where host came from ("--host", "server-name", "realm") */
	bool host_must_match;  /* a mismatch fails (else warns) */
	time_t now;
};

/* Adds "certificate", "cert-expiry" and "cert-hostname". */
void doctor_cert_check(struct doctor_report *r, const struct doctor_cert_opts *o);

/* Credentials the network checks authenticate with. */
struct doctor_creds {
	bool none;            /* no-auth: nothing to send */
	const char *user;     /* long-term user, or the name part of a REST user name */
	const char *password; /* long-term password (not with secret) */
	const char *secret;   /* REST secret: user names and passwords are made from it */
	const char *from;     /* where they came from, for the details */
};

struct doctor_net {
	const struct config *cfg;
	struct sockaddr_storage server; /* the UDP/TCP listener asked */
	struct doctor_creds creds;
	const char *ca_file;
	unsigned int timeout_ms;
	bool relay_ok; /* set by doctor_net_relay: credentials were accepted */
};

/* The listener address to ask: the first listening-ip, loopback for a wildcard. */
void doctor_net_target(const struct config *cfg, struct sockaddr_storage *out);
/* True for loopback, RFC 1918, CGNAT, link-local and IPv6 ULA addresses. */
bool doctor_net_is_private(const struct sockaddr *sa);
/* A REST user name and password for expiry, with the configured separator and HMAC. */
int doctor_net_rest(const struct config *cfg, const char *secret, const char *user, int64_t expiry,
    char *username, size_t usercap, char *password, size_t passcap);

/* The Date header of an HTTP response (its first len bytes) as unix time; -1 when none. */
int doctor_net_http_date(const char *resp, size_t len, time_t *out);

/* "listeners": a STUN Binding over every enabled transport. */
void doctor_net_listeners(struct doctor_report *r, struct doctor_net *n);
/* "external-ip": what a Binding from the external address shows. */
void doctor_net_external(struct doctor_report *r, struct doctor_net *n);
/* "relay": Allocate, CreatePermission, data to a local echo peer and back. */
void doctor_net_relay(struct doctor_report *r, struct doctor_net *n);
/* "clock": REST credentials around now, or the metrics endpoint's Date. */
void doctor_net_clock(struct doctor_report *r, struct doctor_net *n);

/* turnpikectl doctor [-c FILE] [--json] ... */
bool doctor_is_invocation(int argc, char **argv);
void doctor_usage(FILE *f);
/* Exit status: 0 no check failed, 1 some did, 2 usage. */
int doctor_main(int argc, char **argv);

#endif
