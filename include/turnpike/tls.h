/* The TLS server context shared by every worker (OpenSSL SSL_CTX is thread-safe). */
#ifndef TURNPIKE_TLS_H
#define TURNPIKE_TLS_H

#include <openssl/ssl.h>

/*
 * Loads the certificate chain and private key (PEM) and applies the cipher
 * list; TLS 1.2 is the minimum. Returns -1 with *cause naming the file and
 * OpenSSL's reason.
 */
int tls_ctx_create(const char *cert, const char *pkey, const char *ciphers, SSL_CTX **ctxp,
    char **cause);
void tls_ctx_free(SSL_CTX *ctx);
/* The certificate chain and matching private key (PEM) into ctx (TLS or DTLS); -1 with *cause. */
int tls_ctx_load_keys(SSL_CTX *ctx, const char *cert, const char *pkey, char **cause);
/* ALPN (RFC 7443): stun.turn or stun.nat-discovery when offered, else none (TLS or DTLS). */
void tls_ctx_set_alpn(SSL_CTX *ctx);

#endif
