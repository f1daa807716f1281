/* turnpikectl doctor: the certificate, its chain, key, host name and validity dates. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "turnpike/addr.h"
#include "turnpike/doctor.h"

#define DOCTORCERT_MAX 16

struct doctorcert {
	X509 *v[DOCTORCERT_MAX];
	size_t n;
	EVP_PKEY *key;
};

static void
doctorcert_free(struct doctorcert *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		X509_free(c->v[i]);
	EVP_PKEY_free(c->key);
}

/* The certificates of a PEM file, server first; 0 certificates is an error. */
static int
doctorcert_load(struct doctorcert *c, const char *file, char *err, size_t errlen)
{
	BIO *b;
	X509 *x;

	if ((b = BIO_new_file(file, "r")) == NULL) {
		snprintf(err, errlen, "cannot read the certificate file %s", file);
		return -1;
	}
	while (c->n < DOCTORCERT_MAX && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		c->v[c->n++] = x;
	BIO_free(b);
	ERR_clear_error();
	if (c->n == 0) {
		snprintf(err, errlen, "no PEM certificate in %s", file);
		return -1;
	}
	return 0;
}

static int
doctorcert_load_key(struct doctorcert *c, const char *file, char *err, size_t errlen)
{
	BIO *b;

	if ((b = BIO_new_file(file, "r")) == NULL) {
		snprintf(err, errlen, "cannot read the key file %s", file);
		return -1;
	}
	c->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	if (c->key == NULL) {
		snprintf(err, errlen, "no PEM private key in %s (or it is encrypted)", file);
		return -1;
	}
	return 0;
}

/* The certificate's subject CN, or its whole subject. */
static void
doctorcert_subject(X509 *x, char *out, size_t cap)
{
	X509_NAME *nm = X509_get_subject_name(x);

	if (X509_NAME_get_text_by_NID(nm, NID_commonName, out, (int)cap) < 0)
		X509_NAME_oneline(nm, out, (int)cap);
}

static void
doctorcert_time(const ASN1_TIME *t, char *out, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	out[0] = '\0';
	if (b == NULL)
		return;
	if (ASN1_TIME_print(b, t) == 1)
		n = BIO_read(b, out, (int)cap - 1);
	out[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

/* Verifies the chain against ca_file or the system store, validity dates aside. */
static int
doctorcert_verify(const struct doctorcert *c, const char *ca_file, const char **why)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	size_t i;
	int rc = -1;

	*why = "out of memory";
	if (store == NULL || ctx == NULL || untrusted == NULL)
		goto out;
	if (ca_file != NULL ? X509_STORE_load_file(store, ca_file) != 1
			    : X509_STORE_set_default_paths(store) != 1) {
		*why = "the trust anchors cannot be loaded";
		goto out;
	}
	for (i = 1; i < c->n; i++)
		sk_X509_push(untrusted, c->v[i]);
	if (X509_STORE_CTX_init(ctx, store, c->v[0], untrusted) != 1)
		goto out;
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
	} else {
		*why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
		rc = X509_STORE_CTX_get_error(ctx);
	}
out:
	ERR_clear_error();
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

static void
doctorcert_chain(struct doctor_report *r, const struct doctorcert *c, const char *ca_file)
{
	char subject[256];
	const char *why;
	int rc;

	doctorcert_subject(c->v[0], subject, sizeof subject);
	if (X509_check_private_key(c->v[0], c->key) != 1) {
		ERR_clear_error();
		doctor_report_add(r, "certificate", DOCTOR_FAIL,
		    "the private key does not match the certificate %s", subject);
		return;
	}
	rc = doctorcert_verify(c, ca_file, &why);
	if (rc == 0) {
		doctor_report_add(r, "certificate", DOCTOR_PASS,
		    "%s: key matches; chain of %zu verified against %s", subject, c->n,
		    ca_file != NULL ? ca_file : "the system trust store");
	} else if (rc == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	    rc == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	    rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) {
		doctor_report_add(r, "certificate", DOCTOR_WARN,
		    "%s: key matches, but the chain is not trusted by %s (%s): browsers refuse "
		    "turns: with it; add the intermediates to the cert file, or give --ca",
		    subject, ca_file != NULL ? ca_file : "the system store", why);
	} else {
		doctor_report_add(r, "certificate", DOCTOR_FAIL,
		    "%s: the chain does not verify: %s", subject, why);
	}
}

/* The earliest notAfter and the latest notBefore of the chain decide. */
static void
doctorcert_dates(struct doctor_report *r, const struct doctorcert *c, time_t now)
{
	const ASN1_TIME *na = X509_get0_notAfter(c->v[0]), *nb = X509_get0_notBefore(c->v[0]);
	char when[64], subject[256];
	size_t i, which = 0;
	int days = 0, secs = 0;

	for (i = 1; i < c->n; i++) {
		if (ASN1_TIME_compare(X509_get0_notAfter(c->v[i]), na) < 0) {
			na = X509_get0_notAfter(c->v[i]);
			which = i;
		}
		if (ASN1_TIME_compare(X509_get0_notBefore(c->v[i]), nb) > 0)
			nb = X509_get0_notBefore(c->v[i]);
	}
	doctorcert_subject(c->v[which], subject, sizeof subject);
	if (X509_cmp_time(nb, &now) > 0) {
		doctorcert_time(nb, when, sizeof when);
		doctor_report_add(r, "cert-expiry", DOCTOR_FAIL,
		    "not valid before %s (clock or "
		    "certificate wrong)",
		    when);
		return;
	}
	doctorcert_time(na, when, sizeof when);
	if (X509_cmp_time(na, &now) < 0) {
		doctor_report_add(r, "cert-expiry", DOCTOR_FAIL, "%s expired on %s", subject, when);
		return;
	}
	{
		ASN1_TIME *t = ASN1_TIME_set(NULL, now);

		if (t == NULL || ASN1_TIME_diff(&days, &secs, t, na) != 1)
			days = 0;
		ASN1_TIME_free(t);
	}
	doctor_report_add(r, "cert-expiry",
	    days < DOCTOR_CERT_WARN_DAYS ? DOCTOR_WARN : DOCTOR_PASS,
	    "%s expires in %d day%s (%s)%s", subject, days, days == 1 ? "" : "s", when,
	    days < DOCTOR_CERT_WARN_DAYS ? ": renew it" : "");
}

static void
doctorcert_host(struct doctor_report *r, const struct doctorcert *c,
    const struct doctor_cert_opts *o)
{
	struct sockaddr_storage ss;
	const char *errstr;
	int ok;

	if (o->host == NULL) {
		doctor_report_add(r, "cert-hostname", DOCTOR_SKIP,
		    "no --host, server-name or realm to check the certificate against");
		return;
	}
	if (addr_parse_ip(o->host, &ss, &errstr) == 0)
		ok = X509_check_ip_asc(c->v[0], o->host, 0);
	else
		ok = X509_check_host(c->v[0], o->host, 0, 0, NULL);
	ERR_clear_error();
	if (ok == 1) {
		doctor_report_add(r, "cert-hostname", DOCTOR_PASS,
		    "the certificate is valid for %s (%s)", o->host, o->host_from);
		return;
	}
	doctor_report_add(r, "cert-hostname", o->host_must_match ? DOCTOR_FAIL : DOCTOR_WARN,
	    "the certificate is not valid for %s (%s)%s", o->host, o->host_from,
	    o->host_must_match ? "" : "; give --host NAME, the name clients use");
}

void
doctor_cert_check(struct doctor_report *r, const struct doctor_cert_opts *o)
{
	struct doctorcert c = {.n = 0};
	char err[DOCTOR_DETAIL_MAX];

	if (o->cert == NULL || o->pkey == NULL) {
		doctor_report_add(r, "certificate", DOCTOR_SKIP,
		    "no cert and pkey: no TLS or DTLS listener (turns: is not offered)");
		return;
	}
	if (doctorcert_load(&c, o->cert, err, sizeof err) == -1 ||
	    doctorcert_load_key(&c, o->pkey, err, sizeof err) == -1) {
		doctor_report_add(r, "certificate", DOCTOR_FAIL, "%s", err);
		doctorcert_free(&c);
		return;
	}
	doctorcert_chain(r, &c, o->ca_file);
	doctorcert_dates(r, &c, o->now);
	doctorcert_host(r, &c, o);
	doctorcert_free(&c);
}
