/* TLS client sessions for turnpike-bench over non-blocking sockets. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "turnpike/addr.h"
#include "turnpike/cause.h"
#include "turnpike/netio.h"
#include "turnpike/tlsclient.h"

/* The text of the newest OpenSSL error, or fallback. */
static const char *
tlsclient_errstr(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		return fallback;
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* Trust anchors: the CA file, or the system store. */
static int
tlsclient_ctx_trust(SSL_CTX *ctx, const char *ca_file, char **cause)
{
	char ebuf[256];

	if (ca_file == NULL) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			return cause_fail(cause, "cannot load the system CA store");
		return 0;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
		return cause_fail(cause, "%s: %s", ca_file,
		    tlsclient_errstr(ebuf, sizeof(ebuf), "cannot load CA file"));
	return 0;
}

SSL_CTX *
tlsclient_ctx_create(const struct tlsclient_config *cfg, char **cause)
{
	char ebuf[256];
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		cause_fail(cause, "SSL_CTX_new: %s",
		    tlsclient_errstr(ebuf, sizeof(ebuf), "failed"));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, cfg->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (!cfg->insecure && tlsclient_ctx_trust(ctx, cfg->ca_file, cause) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Sets SNI and the expected name (DNS name or IP address) on the new SSL. */
static int
tlsclient_names(SSL *ssl, const struct tlsclient_config *cfg, char **cause)
{
	struct sockaddr_storage ss;
	const char *name = cfg->server_name != NULL ? cfg->server_name : cfg->host;
	const char *errstr;
	bool is_ip;

	if (name == NULL)
		return 0;
	is_ip = addr_parse_ip(name, &ss, &errstr) == 0;
	/* RFC 6066 §3: SNI carries DNS names only, never IP literals. */
	/* SSL_set_tlsext_host_name() without the macro's cast that drops const. */
	if (!is_ip &&
	    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
		(void *)(uintptr_t)name) != 1)
		return cause_fail(cause, "cannot set SNI %s", name);
	if (cfg->insecure)
		return 0;
	if (is_ip && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1)
		return cause_fail(cause, "cannot check IP %s", name);
	if (!is_ip && SSL_set1_host(ssl, name) != 1)
		return cause_fail(cause, "cannot check name %s", name);
	return 0;
}

static int
tlsclient_handshake(SSL *ssl, int fd, const struct tlsclient_config *cfg, uint64_t deadline,
    char **cause)
{
	int rc;

	if (SSL_set_fd(ssl, fd) != 1)
		return cause_fail(cause, "cannot create a TLS session");
	if (tlsclient_names(ssl, cfg, cause) == -1)
		return -1;
	while ((rc = SSL_connect(ssl)) != 1) {
		if (tlsclient_wait(ssl, fd, rc, deadline, "TLS handshake", cause) == -1)
			return -1;
	}
	return 0;
}

SSL *
tlsclient_connect(SSL_CTX *ctx, int fd, const struct tlsclient_config *cfg, uint64_t deadline,
    char **cause)
{
	SSL *ssl;

	ERR_clear_error();
	if ((ssl = SSL_new(ctx)) == NULL) {
		cause_fail(cause, "cannot create a TLS session");
		return NULL;
	}
	if (tlsclient_handshake(ssl, fd, cfg, deadline, cause) == -1) {
		tlsclient_close(ssl);
		return NULL;
	}
	return ssl;
}

void
tlsclient_close(SSL *ssl)
{
	if (ssl == NULL)
		return;
	SSL_shutdown(ssl); /* best effort close_notify; never waits */
	SSL_free(ssl);
}

int
tlsclient_wait(SSL *ssl, int fd, int rc, uint64_t deadline, const char *what, char **cause)
{
	char ebuf[256];
	long vr;
	int err = SSL_get_error(ssl, rc), w;

	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		w = netio_wait(fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w == 1)
			return 0;
		return cause_fail(cause, "%s: %s", what, w == 0 ? "timed out" : strerror(errno));
	}
	if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK)
		return cause_fail(cause, "%s: certificate verification failed: %s", what,
		    X509_verify_cert_error_string(vr));
	if (err == SSL_ERROR_ZERO_RETURN)
		return cause_fail(cause, "%s: server closed the connection", what);
	if (err == SSL_ERROR_SYSCALL && errno != 0)
		return cause_fail(cause, "%s: %s", what, strerror(errno));
	return cause_fail(cause, "%s: %s", what,
	    tlsclient_errstr(ebuf, sizeof(ebuf), "connection closed"));
}

int
tlsclient_write(SSL *ssl, int fd, const void *p, size_t len, uint64_t deadline, char **cause)
{
	const uint8_t *q = p;
	size_t done = 0;
	int rc;

	while (done < len) {
		ERR_clear_error();
		if ((rc = SSL_write(ssl, q + done, (int)(len - done))) > 0)
			done += (size_t)rc;
		else if (tlsclient_wait(ssl, fd, rc, deadline, "TLS write", cause) == -1)
			return -1;
	}
	return 0;
}

int
tlsclient_read(SSL *ssl, int fd, void *buf, size_t len, uint64_t deadline, char **cause)
{
	int rc;

	for (;;) {
		ERR_clear_error();
		if ((rc = SSL_read(ssl, buf, (int)len)) > 0)
			return rc;
		if (SSL_get_error(ssl, rc) != SSL_ERROR_WANT_READ) {
			if (tlsclient_wait(ssl, fd, rc, deadline, "TLS read", cause) == -1)
				return -1;
			continue;
		}
		if ((rc = netio_wait(fd, POLLIN, deadline)) <= 0)
			return rc == 0 ? 0 : cause_fail(cause, "poll: %s", strerror(errno));
	}
}

int
tlsclient_opt(struct tlsclient_config *cfg, int ch, const char *arg)
{
	switch (ch) {
	case TLSCLIENT_OPT_CA:
		cfg->ca_file = arg;
		return 0;
	case TLSCLIENT_OPT_INSECURE:
		cfg->insecure = true;
		return 0;
	case TLSCLIENT_OPT_SERVER_NAME:
		cfg->server_name = arg;
		return 0;
	}
	return 1;
}

const char *
tlsclient_opt_check(const struct tlsclient_config *cfg)
{
	return cfg->ca_file != NULL && cfg->insecure ? "--ca and --insecure exclude each other"
						     : NULL;
}
