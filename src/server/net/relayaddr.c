/* Relay addresses: candidates, external-ip mapping, the choice per client. */
#include "config.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/config.h"
#include "turnpike/relayaddr.h"

static bool
relayaddr_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

	if (sa->sa_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

static bool
relayaddr_is_linklocal(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr);
}

int
relayaddr_add(struct relayaddr *ra, const struct sockaddr *sa)
{
	struct relayaddr_entry *v, *e;
	size_t i;

	if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || addr_is_any(sa) ||
	    relayaddr_is_linklocal(sa))
		return 0; /* link-local needs a scope: useless for relaying */
	for (i = 0; i < ra->n; i++) {
		if (addr_equal_ip((const struct sockaddr *)&ra->v[i].local, sa))
			return 0;
	}
	if ((v = reallocarray(ra->v, ra->n + 1, sizeof *v)) == NULL)
		return -1;
	ra->v = v;
	e = &v[ra->n++];
	memset(e, 0, sizeof *e);
	memcpy(&e->local, sa, addr_len(sa));
	addr_set_port((struct sockaddr *)&e->local, 0);
	e->advertised = e->local;
	e->loopback = relayaddr_is_loopback(sa);
	return 0;
}

void
relayaddr_map(struct relayaddr *ra, const struct sockaddr *public_ip,
    const struct sockaddr *private_ip)
{
	struct relayaddr_entry *e;
	size_t i;

	for (i = 0; i < ra->n; i++) {
		e = &ra->v[i];
		if (private_ip != NULL
			? !addr_equal_ip((const struct sockaddr *)&e->local, private_ip)
			: (e->local.ss_family != public_ip->sa_family ||
			      !addr_equal((const struct sockaddr *)&e->local,
				  (const struct sockaddr *)&e->advertised)))
			continue; /* a pair maps its private address; a bare public the rest */
		memcpy(&e->advertised, public_ip, addr_len(public_ip));
		addr_set_port((struct sockaddr *)&e->advertised, 0);
	}
}

/* Every interface address of family (a wildcard listener's relay candidates). */
static int
relayaddr_add_interfaces(struct relayaddr *ra, int family, char **cause)
{
	struct ifaddrs *ifa, *i;
	int rc = 0;

	if (getifaddrs(&ifa) != 0) {
		if (asprintf(cause, "cannot list interface addresses: %m") == -1)
			*cause = NULL;
		return -1;
	}
	for (i = ifa; i != NULL && rc == 0; i = i->ifa_next) {
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == family)
			rc = relayaddr_add(ra, i->ifa_addr);
	}
	freeifaddrs(ifa);
	if (rc != 0 && asprintf(cause, "out of memory") == -1)
		*cause = NULL;
	return rc;
}

static int
relayaddr_add_config(struct relayaddr *ra, const struct config *cfg, char **cause)
{
	const struct config_addrs *l = cfg->relay_ip.n > 0 ? &cfg->relay_ip : &cfg->listening_ip;
	const struct sockaddr *sa;
	size_t i;

	ra->fixed = cfg->relay_ip.n > 0;
	for (i = 0; i < l->n; i++) {
		sa = (const struct sockaddr *)&l->v[i];
		if (addr_is_any(sa) && !ra->fixed) {
			if (relayaddr_add_interfaces(ra, sa->sa_family, cause) != 0)
				return -1;
		} else if (relayaddr_add(ra, sa) != 0) {
			if (asprintf(cause, "out of memory") == -1)
				*cause = NULL;
			return -1;
		}
	}
	return 0;
}

int
relayaddr_create(const struct config *cfg, struct relayaddr **rap, char **cause)
{
	const struct config_external *x;
	struct relayaddr *ra;
	size_t i;

	*rap = NULL;
	if ((ra = calloc(1, sizeof *ra)) == NULL) {
		if (asprintf(cause, "out of memory") == -1)
			*cause = NULL;
		return -1;
	}
	if (relayaddr_add_config(ra, cfg, cause) != 0) {
		relayaddr_free(ra);
		return -1;
	}
	for (i = 0; i < cfg->external_ip.n; i++) {
		x = &cfg->external_ip.v[i];
		if (x->has_private) {
			relayaddr_map(ra, (const struct sockaddr *)&x->public_ip,
			    (const struct sockaddr *)&x->private_ip);
		}
	}
	for (i = 0; i < cfg->external_ip.n; i++) {
		x = &cfg->external_ip.v[i];
		if (!x->has_private)
			relayaddr_map(ra, (const struct sockaddr *)&x->public_ip, NULL);
	}
	*rap = ra;
	return 0;
}

void
relayaddr_free(struct relayaddr *ra)
{
	if (ra == NULL)
		return;
	free(ra->v);
	free(ra);
}

/* 0: the address reached; 1: same loopback-ness; 2: the others; -1: never. */
static int
relayaddr_rank(const struct relayaddr *ra, const struct relayaddr_entry *e,
    const struct sockaddr *reached)
{
	bool reached_loopback = relayaddr_is_loopback(reached);

	if (addr_equal_ip((const struct sockaddr *)&e->local, reached))
		return 0;
	if (e->loopback == reached_loopback)
		return 1;
	if (e->loopback && !ra->fixed)
		return -1;
	return 2;
}

size_t
relayaddr_order(const struct relayaddr *ra, int family, const struct sockaddr *reached,
    size_t start, size_t *out, size_t cap)
{
	const struct relayaddr_entry *e;
	size_t k, i, n = 0;
	int rank;

	for (rank = 0; rank <= 2; rank++) {
		for (k = 0; k < ra->n && n < cap; k++) {
			i = (start + k) % ra->n;
			e = &ra->v[i];
			if (e->local.ss_family == family && relayaddr_rank(ra, e, reached) == rank)
				out[n++] = i;
		}
	}
	return n;
}
