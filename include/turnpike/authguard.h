/*
 * The failed-authentication throttle (auth-failure-limit): failures counted
 * per source address and per user name in two bounded tables shared by every
 * worker and transport, under one mutex taken only for requests that carry
 * credentials. Plugged into the TURN core as turn_config.auth_allowed and
 * auth_failed.
 */
#ifndef TURNPIKE_AUTHGUARD_H
#define TURNPIKE_AUTHGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct authguard;

/* per_minute failures per source and per user (burst of the same size); NULL when 0. */
struct authguard *authguard_create(uint64_t per_minute);
void authguard_free(struct authguard *g);
/* turn_config.auth_allowed (ctx: the guard): logs at most once a minute per kind. */
bool authguard_allowed(void *ctx, const struct sockaddr *client, const char *user, size_t userlen,
    bool mine, uint64_t now_ms);
/* turn_config.auth_failed. */
void authguard_failed(void *ctx, const struct sockaddr *client, const char *user, size_t userlen,
    uint64_t now_ms);
/* Requests dropped so far. */
uint64_t authguard_dropped(struct authguard *g);

#endif
