/*
 * Limits shared by every worker: allocation quotas counted across workers,
 * the realm options of the store (max-bps, total-quota, user-quota) of each
 * realm over the configured values, and the peer policy with the store's peer ranges added.
 * Taken when an allocation opens and given back when it closes (never per
 * packet) under one mutex; the policy is read under a rwlock that the store's
 * reload thread takes for writing only to swap a pointer.
 */
#ifndef TURNPIKE_LIMITS_H
#define TURNPIKE_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct peerpolicy;
struct limits;
struct limits_user;

/* One realm's values; 0 is unlimited (in an override: not set). */
struct limits_values {
	uint64_t user_quota;  /* concurrent allocations per user name */
	uint64_t total_quota; /* concurrent allocations in the realm (coturn) */
	uint64_t max_bps;     /* bytes per second per session and direction */
};

/*
 * cfg: the configured values; policy: the configured peer policy; realm: the
 * server realm (both borrowed, outliving the limits).
 */
struct limits *limits_create(const struct limits_values *cfg, const struct peerpolicy *policy,
    const char *realm);
void limits_free(struct limits *l);
/*
 * After a reload: the configured values, peer policy and realm (the policy is
 * borrowed until the next call or limits_free; realm is copied). The store's
 * rows must be applied again (limits_apply_store) over the new policy.
 */
int limits_set_config(struct limits *l, const struct limits_values *cfg,
    const struct peerpolicy *policy, const char *realm);
/* The values in force in the server realm. */
void limits_current(struct limits *l, struct limits_values *out);
/* The values in force in realm: its store options (each nonzero one) over the configured ones. */
void limits_realm_values(struct limits *l, const char *realm, struct limits_values *out);

/* What one allocation asks of limits_take. */
struct limits_req {
	const char *realm; /* the realm its credentials verified in; NULL or "": the server realm */
	size_t realmlen;
	const char *user; /* userlen 0: no user (no-auth), no user quota */
	size_t userlen;
};

/*
 * One more allocation of user in realm: 0 with *handle (for limits_release)
 * and the session's *max_bps (the realm's), or 486 (RFC 8656 §7.2 Allocation
 * Quota Reached) when the realm's user-quota or total-quota (coturn: per
 * realm) is full, 508 when out of memory.
 */
int limits_take(struct limits *l, const struct limits_req *req, struct limits_user **handle,
    uint64_t *max_bps);
/* Gives back what limits_take took; NULL is a no-op. */
void limits_release(struct limits *l, struct limits_user *h);
/* Allocations user of realm holds now. */
size_t limits_user_count(struct limits *l, const char *realm, const char *user, size_t userlen);
/* Allocations in realm now. */
size_t limits_realm_count(struct limits *l, const char *realm);
/* Calls fn(arg, realm, allocations) for each realm holding allocations, under the lock. */
void limits_realms_walk(struct limits *l, void (*fn)(void *arg, const char *realm, size_t count),
    void *arg);
/*
 * The hook for userdb_set_hook (arg: the limits): turn_realm_option rows of
 * each realm override the configured quotas and max-bps there; peer ranges of
 * realm '' or the server realm are added to a copy of the configured policy
 * (an allowed range wins over every refusal, as allowed-peer-ip does). Logs
 * what is now in force.
 */
struct userdb_rows;
void limits_apply_store(void *arg, const struct userdb_rows *rows);
/* The peer check for turn_config.peer_check (ctx: the limits), from any thread. */
bool limits_peer_check(void *ctx, const struct sockaddr *peer, const char **reason);

#endif
