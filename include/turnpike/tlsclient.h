/*
 * The TLS client side shared by turnpike-bench's connections (probe, turnconn):
 * context, handshake with SNI and name check, and deadline-bounded reads and
 * writes on a non-blocking socket. Errors are -1 (or NULL) plus *cause
 * (allocated, caller frees); nothing is logged. Callers ignore SIGPIPE.
 */
#ifndef TURNPIKE_TLSCLIENT_H
#define TURNPIKE_TLSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct tlsclient_config {
	const char *host;        /* host as written: name check and SNI */
	const char *server_name; /* overrides host for SNI and name check */
	const char *ca_file;     /* trust anchors; NULL uses the system store */
	bool insecure;           /* no certificate verification at all */
};

/*
 * --ca, --insecure and --server-name, taken alike by every client command:
 * TLSCLIENT_LONGOPTS goes into a getopt_long table (option values from 0x1000,
 * clear of the commands' own), and tlsclient_opt takes what they return.
 */
enum {
	TLSCLIENT_OPT_CA = 0x1000,
	TLSCLIENT_OPT_INSECURE,
	TLSCLIENT_OPT_SERVER_NAME,
};
/* clang-format off */
#define TLSCLIENT_LONGOPTS \
	{"ca", required_argument, NULL, TLSCLIENT_OPT_CA}, \
	{"insecure", no_argument, NULL, TLSCLIENT_OPT_INSECURE}, \
	{"server-name", required_argument, NULL, TLSCLIENT_OPT_SERVER_NAME}
/* clang-format on */
/* 0: taken into cfg; 1: not one of these options. */
int tlsclient_opt(struct tlsclient_config *cfg, int ch, const char *arg);
/* NULL, or what is wrong with the options taken (--ca with --insecure). */
const char *tlsclient_opt_check(const struct tlsclient_config *cfg);

/* A client context: TLS 1.2 or newer, peer verification unless insecure. */
SSL_CTX *tlsclient_ctx_create(const struct tlsclient_config *cfg, char **cause);

/* A session on the connected fd, handshaken before the deadline. */
SSL *tlsclient_connect(SSL_CTX *ctx, int fd, const struct tlsclient_config *cfg, uint64_t deadline,
    char **cause);

/* Best effort close_notify (never waits) and free; NULL is a no-op. */
void tlsclient_close(SSL *ssl);

/* After an SSL call on fd returned rc: 0 once what it wants is ready, or -1 saying why. */
int tlsclient_wait(SSL *ssl, int fd, int rc, uint64_t deadline, const char *what, char **cause);

/* Writes all len bytes before the deadline. */
int tlsclient_write(SSL *ssl, int fd, const void *p, size_t len, uint64_t deadline, char **cause);

/* Reads up to len bytes: the count, 0 when the deadline passed waiting for data, -1 otherwise. */
int tlsclient_read(SSL *ssl, int fd, void *buf, size_t len, uint64_t deadline, char **cause);

#endif
