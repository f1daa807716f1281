/*
 * Unit tests for src/ctl/doctor*.c without a server: the certificate checks on
 * certificates made here (valid, expired, not yet valid, expiring soon, a key
 * that does not match, host names), private addresses, REST credentials and
 * the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "turnpike/addr.h"
#include "turnpike/config.h"
#include "turnpike/doctor.h"
#include "turnpike/turnclient.h"
#include "unit.h"

#define DAY 86400L
/* A fixed "now" (2027-01-15): the certificates' dates are set around it. */
static const time_t now = 1800000000;
static char dir[] = "/tmp/test_doctor.XXXXXX";

static EVP_PKEY *
key_new(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (k == NULL)
		abort();
	return k;
}

static void
write_key(EVP_PKEY *k, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	fclose(f);
}

/* A self-signed certificate for DNS:localhost valid from now+nb to now+na, at path. */
static void
write_cert(EVP_PKEY *k, long nb, long na, const char *path)
{
	X509 *x = X509_new();
	X509_NAME *nm;
	X509_EXTENSION *ext;
	FILE *f;

	if (x == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now + nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), now + na) == NULL || X509_set_pubkey(x, k) != 1)
		abort();
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
	    -1, 0);
	X509_set_issuer_name(x, nm);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
	if (ext == NULL || X509_add_ext(x, ext, -1) != 1 || X509_sign(x, k, EVP_sha256()) == 0)
		abort();
	X509_EXTENSION_free(ext);
	if ((f = fopen(path, "w")) == NULL || PEM_write_X509(f, x) != 1)
		abort();
	fclose(f);
	X509_free(x);
}

static char *
path(const char *name)
{
	static char buf[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
	return buf[i];
}

static const struct doctor_check *
find(const struct doctor_report *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->v[i].name, name) == 0)
			return &r->v[i];
	}
	return NULL;
}

/* The status of check name after one doctor_cert_check; -1 when it is missing. */
static int
status_of(const struct doctor_report *r, const char *name)
{
	const struct doctor_check *c = find(r, name);

	return c != NULL ? (int)c->status : -1;
}

static bool
detail_has(const struct doctor_report *r, const char *name, const char *text)
{
	const struct doctor_check *c = find(r, name);

	return c != NULL && strstr(c->detail, text) != NULL;
}

static void
run(struct doctor_report *r, const char *cert, const char *key, const char *ca, const char *host,
    bool must)
{
	struct doctor_cert_opts o = {.cert = cert,
	    .pkey = key,
	    .ca_file = ca,
	    .host = host,
	    .host_from = "test",
	    .host_must_match = must,
	    .now = now};

	memset(r, 0, sizeof *r);
	doctor_cert_check(r, &o);
}

static void
test_cert(void)
{
	EVP_PKEY *k = key_new(), *other = key_new();
	struct doctor_report r;

	write_key(k, path("key.pem"));
	write_key(other, path("other.pem"));
	write_cert(k, -DAY, 90 * DAY, path("good.pem"));
	write_cert(k, -60 * DAY, -30 * DAY, path("expired.pem"));
	write_cert(k, DAY, 90 * DAY, path("future.pem"));
	write_cert(k, -DAY, 10 * DAY + 3600, path("soon.pem"));

	run(&r, path("good.pem"), path("key.pem"), path("good.pem"), "localhost", true);
	CHECKM(status_of(&r, "certificate") == DOCTOR_PASS, "a good certificate passes");
	CHECKM(status_of(&r, "cert-expiry") == DOCTOR_PASS &&
		detail_has(&r, "cert-expiry", "90 days"),
	    "90 days to expiry pass, counted from now");
	CHECKM(status_of(&r, "cert-hostname") == DOCTOR_PASS, "localhost is named");
	CHECK(!doctor_report_failed(&r));

	run(&r, path("good.pem"), path("key.pem"), path("good.pem"), "127.0.0.1", true);
	CHECKM(status_of(&r, "cert-hostname") == DOCTOR_PASS, "an IP host is checked as an IP SAN");
	run(&r, path("good.pem"), path("key.pem"), path("good.pem"), "turn.example.org", true);
	CHECKM(status_of(&r, "cert-hostname") == DOCTOR_FAIL, "another --host fails");
	CHECK(doctor_report_failed(&r));
	run(&r, path("good.pem"), path("key.pem"), path("good.pem"), "example.org", false);
	CHECKM(status_of(&r, "cert-hostname") == DOCTOR_WARN, "another realm only warns");
	run(&r, path("good.pem"), path("key.pem"), path("good.pem"), NULL, false);
	CHECKM(status_of(&r, "cert-hostname") == DOCTOR_SKIP, "no name to check: skip");

	run(&r, path("good.pem"), path("key.pem"), NULL, NULL, false);
	CHECKM(status_of(&r, "certificate") == DOCTOR_WARN &&
		detail_has(&r, "certificate", "not trusted"),
	    "self-signed without --ca: not trusted, a warning");

	run(&r, path("expired.pem"), path("key.pem"), path("expired.pem"), NULL, false);
	CHECKM(status_of(&r, "cert-expiry") == DOCTOR_FAIL &&
		detail_has(&r, "cert-expiry", "expired on"),
	    "an expired certificate fails");
	CHECKM(status_of(&r, "certificate") == DOCTOR_PASS, "the chain check ignores the dates");

	run(&r, path("future.pem"), path("key.pem"), path("future.pem"), NULL, false);
	CHECKM(status_of(&r, "cert-expiry") == DOCTOR_FAIL &&
		detail_has(&r, "cert-expiry", "not valid before"),
	    "a certificate not valid yet fails");

	run(&r, path("soon.pem"), path("key.pem"), path("soon.pem"), NULL, false);
	CHECKM(status_of(&r, "cert-expiry") == DOCTOR_WARN &&
		detail_has(&r, "cert-expiry", "10 days"),
	    "10 days to expiry warns");

	run(&r, path("good.pem"), path("other.pem"), path("good.pem"), NULL, false);
	CHECKM(status_of(&r, "certificate") == DOCTOR_FAIL &&
		detail_has(&r, "certificate", "does not match"),
	    "a key of another certificate fails");

	run(&r, path("missing.pem"), path("key.pem"), NULL, NULL, false);
	CHECKM(status_of(&r, "certificate") == DOCTOR_FAIL, "an unreadable certificate fails");
	run(&r, path("key.pem"), path("key.pem"), NULL, NULL, false);
	CHECKM(status_of(&r, "certificate") == DOCTOR_FAIL &&
		detail_has(&r, "certificate", "no PEM"),
	    "a file without a certificate fails");
	run(&r, NULL, NULL, NULL, NULL, false);
	CHECKM(status_of(&r, "certificate") == DOCTOR_SKIP && r.n == 1, "no cert: one skip");

	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static bool private(const char *text)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (addr_parse_ip(text, &ss, &errstr) == -1)
		abort();
	return doctor_net_is_private((struct sockaddr *)&ss);
}

static void
test_private(void)
{
	CHECK(private("127.0.0.1"));
	CHECK(private("10.1.2.3"));
	CHECK(private("172.16.0.1") && private("172.31.255.255") && !private("172.32.0.1"));
	CHECK(private("192.168.1.1") && !private("192.169.1.1"));
	CHECK(private("100.64.0.1") && private("100.127.255.254") && !private("100.128.0.1"));
	CHECK(private("169.254.1.1"));
	CHECK(!private("203.0.113.7") && !private("8.8.8.8"));
	CHECK(private("::1") && private("fd00::1") && private("fe80::1"));
	CHECK(!private("2001:db8::1"));
	CHECK(private("::ffff:10.0.0.1") && !private("::ffff:198.51.100.1"));
}

static void
test_rest(void)
{
	struct config cfg;
	char user[64], pass[64], want[TURNCLIENT_REST_PASS_LEN], sep[] = "-", hmac[] = "sha256";

	memset(&cfg, 0, sizeof cfg);
	CHECK(doctor_net_rest(&cfg, "s3cret", "alice", 1700000000, user, sizeof user, pass,
		  sizeof pass) == 0);
	CHECK(strcmp(user, "1700000000:alice") == 0);
	CHECK(turnclient_rest_password("s3cret", user, want) == 0 && strcmp(pass, want) == 0);
	cfg.rest_api_separator = sep;
	cfg.rest_api_hmac = hmac;
	CHECK(doctor_net_rest(&cfg, "s3cret", "alice", 1700000000, user, sizeof user, pass,
		  sizeof pass) == 0);
	CHECKM(strcmp(user, "1700000000-alice") == 0, "rest-api-separator is used");
	CHECKM(strlen(pass) == 44 && strcmp(pass, want) != 0,
	    "rest-api-hmac sha256: 44 characters");
	CHECKM(doctor_net_rest(&cfg, "s3cret", "alice", 1700000000, user, 10, pass, sizeof pass) ==
		-1,
	    "a user name that does not fit is refused");
	CHECKM(doctor_net_rest(&cfg, "s3cret", "alice", 1700000000, user, sizeof user, pass, 44) ==
		-1,
	    "a password room of 44 bytes has no place for the NUL");
	CHECK(doctor_net_rest(&cfg, "s3cret", "alice", 1700000000, user, sizeof user, pass, 45) ==
		0 &&
	    strlen(pass) == 44);
}

static void
test_http_date(void)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				 "Date: Sun, 06 Dec 2026 04:20:00 GMT\r\n\r\nbody";
	static const char body[] = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"
				   "Date: Sun, 06 Dec 2026 04:20:00 GMT\r\n";
	static const char cut[] = "HTTP/1.1 200 OK\r\nDate: Sun, 06 Dec 2026 04:20";
	time_t t = 0;

	CHECK(doctor_net_http_date(ok, sizeof ok - 1, &t) == 0 && t == 1796530800);
	CHECKM(doctor_net_http_date(body, sizeof body - 1, &t) == -1,
	    "a Date in the body is not read");
	CHECKM(doctor_net_http_date(cut, sizeof cut - 1, &t) == -1, "a cut Date is refused");
	CHECKM(doctor_net_http_date(ok, 20, &t) == -1, "only len bytes are read");
}

static void
test_report(void)
{
	struct doctor_report r;
	int i;

	memset(&r, 0, sizeof r);
	for (i = 0; i < DOCTOR_CHECKS_MAX + 4; i++)
		doctor_report_add(&r, "x", DOCTOR_WARN, "%0600d", i);
	CHECKM(r.n == DOCTOR_CHECKS_MAX, "checks past the maximum are dropped");
	CHECKM(strlen(r.v[0].detail) == DOCTOR_DETAIL_MAX - 1, "a long detail is cut to fit");
	CHECK(!doctor_report_failed(&r));
	r.v[3].status = DOCTOR_FAIL;
	CHECK(doctor_report_failed(&r));
	CHECK(strcmp(doctor_status_name(DOCTOR_SKIP), "skip") == 0);
}

int
main(void)
{
	char cmd[64];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 99;
	test_cert();
	test_private();
	test_rest();
	test_http_date();
	test_report();
	rc = unit_done();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
