/* The session key of an RFC 7635 allocation, kept by the core between requests. */
#ifndef TURNPIKE_AUTH_SESSION_H
#define TURNPIKE_AUTH_SESSION_H

#include <stddef.h>
#include <stdint.h>

/*
 * RFC 7635 §7: ACCESS-TOKEN rides on Allocate and Refresh; the other requests
 * of the allocation carry MESSAGE-INTEGRITY keyed by the token's mac_key.
 */
struct auth_session {
	uint8_t key[32];
	size_t keylen;         /* 0: none */
	uint64_t expires_unix; /* the token's end */
	char realm[128];       /* the realm of the token's key (coturn's oauth_key.realm), or "" */
	size_t realmlen;
};

#endif
