/* TLS server context: certificate, key, cipher list, protocol floor. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "turnpike/tls.h"

/* "what file: OpenSSL's first reason" in *cause; the error queue emptied. */
static int
tls_fail(char **cause, const char *what, const char *file)
{
	unsigned long e = ERR_peek_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (asprintf(cause, "%s %s: %s", what, file,
		reason != NULL ? reason : "unknown OpenSSL error") == -1)
		*cause = NULL;
	ERR_clear_error();
	return -1;
}

/* fopen first so a missing or unreadable file gets the system's words. */
static int
tls_check_readable(const char *what, const char *file, char **cause)
{
	FILE *f = fopen(file, "r");

	if (f == NULL) {
		if (asprintf(cause, "cannot read %s %s: %s", what, file, strerror(errno)) == -1)
			*cause = NULL;
		return -1;
	}
	fclose(f);
	return 0;
}

/* RFC 7443: the ALPN protocols served, in the server's order of preference. */
static const unsigned char tls_alpn[] = "\x09stun.turn\x12stun.nat-discovery";

/*
 * Picks stun.turn or stun.nat-discovery when the client offers one; a client
 * offering only others still connects, without ALPN (as coturn does).
 */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned int inlen, void *arg)
{
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, tls_alpn, sizeof tls_alpn - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

int
tls_ctx_load_keys(SSL_CTX *ctx, const char *cert, const char *pkey, char **cause)
{
	if (tls_check_readable("certificate", cert, cause) != 0 ||
	    tls_check_readable("private key", pkey, cause) != 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return tls_fail(cause, "invalid certificate", cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, pkey, SSL_FILETYPE_PEM) != 1)
		return tls_fail(cause, "invalid private key", pkey);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail(cause, "private key does not match certificate", pkey);
	return 0;
}

void
tls_ctx_set_alpn(SSL_CTX *ctx)
{
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, NULL);
}

int
tls_ctx_create(const char *cert, const char *pkey, const char *ciphers, SSL_CTX **ctxp,
    char **cause)
{
	SSL_CTX *ctx;

	*ctxp = NULL;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return tls_fail(cause, "cannot create TLS context for", cert);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* An abrupt close is just the end of a connection, not an error to report. */
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
		SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	tls_ctx_set_alpn(ctx);
	if (tls_ctx_load_keys(ctx, cert, pkey, cause) != 0)
		goto fail;
	if (ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		tls_fail(cause, "invalid cipher-list", ciphers);
		goto fail;
	}
	*ctxp = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -1;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}
