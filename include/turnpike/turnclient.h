/*
 * A small blocking TURN client (RFC 8656, RFC 6156) for turnpike-bench and the
 * interop tests: long-term credentials (RFC 8489 §9.2: 401 with REALM and
 * NONCE, then MESSAGE-INTEGRITY with the MD5 key; 438 retried with the new
 * nonce), TURN REST API credentials, Allocate, CreatePermission, ChannelBind,
 * Refresh, Send indications and ChannelData, over UDP, TCP or TLS (turnconn).
 * RFC 8489 §9.2.4 password algorithms: MD5 without algorithm attributes (RFC
 * 5389 style), SHA-256 with the server's PASSWORD-ALGORITHMS echoed, or (for
 * tests) a bid-down rewrite of that list. The request builders and response
 * checks are pure and exported for the unit tests. Errors are -1 plus *cause
 * (allocated, caller frees).
 */
#ifndef TURNPIKE_TURNCLIENT_H
#define TURNPIKE_TURNCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/credkey.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/turnconn.h"

/* RFC 8489 §14.3, §14.9, §14.10: USERNAME < 513 bytes, REALM and NONCE < 763. */
#define TURNCLIENT_USER_MAX 513
#define TURNCLIENT_REALM_MAX 763
#define TURNCLIENT_NONCE_MAX 763
#define TURNCLIENT_PASS_MAX 256
/* Text room for a REST API password: base64 of a 20-byte HMAC-SHA1. */
#define TURNCLIENT_REST_PASS_LEN (CREDKEY_REST_SHA1_LEN + 1)
/* 438 Stale Nonce answers retried per request. */
#define TURNCLIENT_MAX_STALE 3
/* Room for a PASSWORD-ALGORITHMS value we keep and echo (RFC 8489 §14.11). */
#define TURNCLIENT_ALGS_MAX 64
/* The RFC 8489 §9.2 nonce cookie announcing the STUN Security Features. */
#define TURNCLIENT_NONCE_COOKIE "obMatJos2"

/* Which password algorithm the client answers a challenge with. */
enum turnclient_pwmode {
	TURNCLIENT_PW_MD5 = 0, /* no algorithm attributes, MD5 key (RFC 5389 clients) */
	TURNCLIENT_PW_SHA256,  /* RFC 8489 §9.2.4: echo the server's list, choose SHA-256 */
	TURNCLIENT_PW_BIDDOWN, /* a bid-down attacker (tests): list of MD5 only, choose MD5 */
};

/* The long-term credential state of one client. */
struct turnclient_auth {
	char user[TURNCLIENT_USER_MAX + 1];
	char password[TURNCLIENT_PASS_MAX + 1];
	char realm[TURNCLIENT_REALM_MAX + 1];
	uint8_t nonce[TURNCLIENT_NONCE_MAX];
	size_t noncelen;
	enum turnclient_pwmode mode;
	uint16_t pwalg;                     /* enum stun_pwalg of the key */
	uint8_t algs[TURNCLIENT_ALGS_MAX];  /* PASSWORD-ALGORITHMS to send with the key */
	size_t algslen;                     /* 0: no algorithm attributes */
	uint8_t key[INTEGRITY_MAX_KEY_LEN]; /* long-term key, valid when have_key */
	size_t keylen;
	bool have_key;
};

/* What one request carries beyond the credentials. */
struct turnclient_req {
	uint16_t method;             /* enum stun_method */
	const struct sockaddr *peer; /* XOR-PEER-ADDRESS (CreatePermission, ChannelBind) */
	uint16_t channel;            /* CHANNEL-NUMBER (ChannelBind) */
	int family;                  /* Allocate: AF_INET6 asks for REQUESTED-ADDRESS-FAMILY IPv6 */
	bool has_lifetime;
	uint32_t lifetime; /* LIFETIME (Allocate, Refresh) */
};

/* A checked answer to one of our requests. */
struct turnclient_resp {
	uint8_t cls; /* STUN_SUCCESS or STUN_ERROR */
	int code;    /* ERROR-CODE, 0 on success */
	char reason[128];
	char realm[TURNCLIENT_REALM_MAX + 1];
	uint8_t nonce[TURNCLIENT_NONCE_MAX];
	size_t noncelen; /* 0: no NONCE */
	bool has_realm;
	uint8_t algs[TURNCLIENT_ALGS_MAX]; /* PASSWORD-ALGORITHMS of a 401 or 438 */
	size_t algslen;
	bool has_algs;
	bool mi, mi_sha256; /* carried a verified MESSAGE-INTEGRITY / -SHA256 */
	bool has_relayed, has_mapped, has_lifetime;
	struct sockaddr_storage relayed; /* XOR-RELAYED-ADDRESS */
	struct sockaddr_storage mapped;  /* XOR-MAPPED-ADDRESS */
	uint32_t lifetime;
};

enum turnclient_check {
	TURNCLIENT_CHECK_OK = 0,
	TURNCLIENT_CHECK_OTHER = 1, /* not the answer to this transaction */
	TURNCLIENT_CHECK_BAD = -1,  /* the answer, but refused (*cause says why) */
};

/* Sets user and password (both copied), mode MD5; -1 when too long. */
int turnclient_auth_init(struct turnclient_auth *a, const char *user, const char *password);

/* True when a PASSWORD-ALGORITHMS value is well formed and lists alg. */
bool turnclient_algs_has(const uint8_t *algs, size_t len, uint16_t alg);
/* A PASSWORD-ALGORITHMS value as text, "sha256,md5"; -1 when malformed or too long. */
int turnclient_algs_format(const uint8_t *algs, size_t len, char *out, size_t cap);

/*
 * TURN REST API credentials (coturn's use-auth-secret): username
 * "expiry:user", password base64(HMAC-SHA1(secret, username)).
 */
int turnclient_rest_credentials(const char *secret, const char *user, uint64_t expiry,
    char *username, size_t usercap, char password[TURNCLIENT_REST_PASS_LEN]);
/* The REST API password of any username (e.g. the "user:expiry" form). */
int turnclient_rest_password(const char *secret, const char *username,
    char password[TURNCLIENT_REST_PASS_LEN]);

/*
 * Builds request r with transaction ID tid; with a->have_key it carries
 * USERNAME, REALM, NONCE, PASSWORD-ALGORITHMS and PASSWORD-ALGORITHM (when
 * a->algslen) and MESSAGE-INTEGRITY-SHA256 (SHA-256 key) or MESSAGE-INTEGRITY.
 * Always ends with FINGERPRINT.
 */
int turnclient_build_request(const struct turnclient_auth *a, const struct turnclient_req *r,
    const uint8_t tid[STUN_TID_LEN], uint8_t *out, size_t cap, size_t *len);

/* A Send indication (RFC 8656 §11.1): no credentials. */
int turnclient_build_send(const uint8_t tid[STUN_TID_LEN], const struct sockaddr *peer,
    const void *data, size_t datalen, uint8_t *out, size_t cap, size_t *len);

/*
 * Checks bytes that may answer request tid of method: the class, ERROR-CODE,
 * REALM and NONCE of errors; XOR-RELAYED/MAPPED-ADDRESS and LIFETIME of
 * successes. A success to a request sent with a key must carry a valid
 * MESSAGE-INTEGRITY, or MESSAGE-INTEGRITY-SHA256 for a SHA-256 key (RFC 8489
 * §9.2.5).
 */
int turnclient_check_response(const struct turnclient_auth *a, const uint8_t tid[STUN_TID_LEN],
    uint16_t method, const uint8_t *p, size_t len, struct turnclient_resp *res, char **cause);

/*
 * Learns from a 401 or 438 answer. Returns 1 when the request should be sent
 * again (new realm or nonce, algorithm chosen by a->mode, key computed), 0 when
 * retrying cannot help (a 401 to a request that already carried this realm and
 * nonce: wrong credentials). -1 also when a->mode is SHA-256 and the server
 * does not offer it (no cookie in the nonce, or SHA-256 not in its list).
 */
int turnclient_auth_update(struct turnclient_auth *a, const struct turnclient_resp *res,
    char **cause);

/*
 * A Data indication (RFC 8656 §11.4): the peer and the data, pointing into p.
 * -1 when p is not a valid Data indication.
 */
int turnclient_parse_data(const uint8_t *p, size_t len, struct sockaddr_storage *peer,
    const uint8_t **data, size_t *datalen);

struct turnclient_config {
	struct turnconn_config conn;
	const char *user;
	const char *password;
	enum turnclient_pwmode pwmode;
	unsigned int timeout_ms; /* per request */
	unsigned int rto_ms;     /* UDP: first retransmission timeout */
	unsigned int max_sends;  /* UDP: transmissions per request */
};

struct turnclient;

/*
 * --user with --password or --secret (TURN REST API), taken alike by every
 * command that allocates: TURNCLIENT_WHO_LONGOPTS and turnclient_who_opt, as
 * for TLSCLIENT_LONGOPTS.
 */
struct turnclient_who {
	const char *user, *password, *secret;
};
enum {
	TURNCLIENT_OPT_USER = 0x1010,
	TURNCLIENT_OPT_PASSWORD,
	TURNCLIENT_OPT_SECRET,
};
/* clang-format off */
#define TURNCLIENT_WHO_LONGOPTS \
	{"user", required_argument, NULL, TURNCLIENT_OPT_USER}, \
	{"password", required_argument, NULL, TURNCLIENT_OPT_PASSWORD}, \
	{"secret", required_argument, NULL, TURNCLIENT_OPT_SECRET}
/* clang-format on */
/* 0: taken into who; 1: not one of these options. */
int turnclient_who_opt(struct turnclient_who *who, int ch, const char *arg);
/* NULL, or what is missing (a user and exactly one of password and secret). */
const char *turnclient_who_check(const struct turnclient_who *who);

void turnclient_config_defaults(struct turnclient_config *cfg);
/* Connects to the server. */
struct turnclient *turnclient_create(const struct turnclient_config *cfg, char **cause);
void turnclient_free(struct turnclient *c);

/*
 * One request with the credential dance: a 401 with a new realm or nonce, or a
 * 438, is answered by sending it again. 0 with *res the final answer (success
 * or error), -1 when no valid answer came.
 */
int turnclient_request(struct turnclient *c, const struct turnclient_req *r,
    struct turnclient_resp *res, char **cause);

/*
 * Sends the last request again, same transaction ID and bytes (a
 * retransmission, RFC 8489 §6.2.1): 0 with *res its answer and *identical true
 * when that answer equals the first one byte for byte.
 */
int turnclient_repeat(struct turnclient *c, struct turnclient_resp *res, bool *identical,
    char **cause);

/* New user and password for the next requests, keeping realm, nonce and algorithm. */
int turnclient_set_credentials(struct turnclient *c, const char *user, const char *password,
    char **cause);

/* The last 401 or 438 answer turnclient_request learned from; NULL before any. */
const struct turnclient_resp *turnclient_challenge(const struct turnclient *c);
/* 438 answers the last turnclient_request got (and retried after). */
unsigned int turnclient_stale_answers(const struct turnclient *c);
/* The password algorithm of the key in use, enum stun_pwalg. */
uint16_t turnclient_password_algorithm(const struct turnclient *c);

/* Data to peer: on channel (bound before) as ChannelData, or channel 0: Send indication. */
int turnclient_send(struct turnclient *c, const struct sockaddr *peer, uint16_t channel,
    const void *data, size_t len, char **cause);

/*
 * The next data from a peer (Data indication or ChannelData; other messages are
 * skipped): 1 with *peer (unset for ChannelData) or *channel, *data and *len
 * (valid until the next call), 0 when the deadline passed, -1 on errors.
 */
int turnclient_recv(struct turnclient *c, uint64_t deadline, struct sockaddr_storage *peer,
    uint16_t *channel, const uint8_t **data, size_t *len, char **cause);

#endif
