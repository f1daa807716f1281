/* ALTERNATE-SERVER targets and the choice among them (RFC 8489 §10). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/alternate.h"
#include "turnpike/cause.h"
#include "turnpike/turn.h"

#define ALTERNATE_PORT 3478
#define ALTERNATE_TLS_PORT 5349

struct alternate_list {
	struct alternate_target *v;
	size_t n;
};

struct alternate_set {
	struct alternate_list lists[2]; /* indexed by enum alternate_class */
};

struct alternate_set *
alternate_set_create(void)
{
	return calloc(1, sizeof(struct alternate_set));
}

void
alternate_set_free(struct alternate_set *s)
{
	if (s == NULL)
		return;
	free(s->lists[ALTERNATE_PLAIN].v);
	free(s->lists[ALTERNATE_TLS].v);
	free(s);
}

/* Splits "ADDR/DOMAIN" into t->addr and t->domain. */
static int
alternate_parse(enum alternate_class cls, const char *spec, struct alternate_target *t,
    char **cause)
{
	const char *slash = strchr(spec, '/'), *errstr;
	char addr[ADDR_STRLEN];
	size_t alen = slash != NULL ? (size_t)(slash - spec) : strlen(spec), dlen;
	uint16_t port = cls == ALTERNATE_TLS ? ALTERNATE_TLS_PORT : ALTERNATE_PORT;

	memset(t, 0, sizeof *t);
	if (alen == 0 || alen >= sizeof addr)
		return cause_fail(cause, "'%s' is not IP[:PORT][/DOMAIN]", spec);
	memcpy(addr, spec, alen);
	addr[alen] = '\0';
	if (addr_parse(addr, port, &t->addr, &errstr) != 0)
		return cause_fail(cause, "'%s': %s", addr, errstr);
	if (addr_port((const struct sockaddr *)&t->addr) == 0 ||
	    addr_is_any((const struct sockaddr *)&t->addr))
		return cause_fail(cause, "'%s': not an address a client can reach", addr);
	if (slash == NULL)
		return 0;
	dlen = strlen(slash + 1);
	if (dlen == 0 || dlen >= sizeof t->domain)
		return cause_fail(cause, "'%s': the domain must be 1 to 255 characters", spec);
	memcpy(t->domain, slash + 1, dlen);
	for (size_t i = 0; i < dlen; i++) {
		char c = t->domain[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '.'))
			return cause_fail(cause,
			    "'%s': the domain has a character a host name has not", spec);
	}
	return 0;
}

int
alternate_set_add(struct alternate_set *s, enum alternate_class cls, const char *spec, char **cause)
{
	struct alternate_list *l = &s->lists[cls];
	struct alternate_target t, *grown;

	if (alternate_parse(cls, spec, &t, cause) != 0)
		return -1;
	if ((grown = reallocarray(l->v, l->n + 1, sizeof *grown)) == NULL)
		return cause_fail(cause, "out of memory");
	l->v = grown;
	l->v[l->n++] = t;
	return 0;
}

size_t
alternate_set_count(const struct alternate_set *s, enum alternate_class cls)
{
	return s != NULL ? s->lists[cls].n : 0;
}

/* allocations at or above redirect_at per mille of capacity. */
static bool
alternate_over(uint64_t allocations, uint64_t capacity, uint32_t redirect_at)
{
	return capacity != 0 && allocations * 1000 >= capacity * redirect_at;
}

/* The least-loaded other node that may take the client: *out, or false. */
static bool
alternate_fleet_pick(const struct alternate_query *q, struct alternate_target *out)
{
	const struct alternate_node *n, *best = NULL;
	bool secure = q->transport == TURN_TLS || q->transport == TURN_DTLS;
	size_t i;

	for (i = 0; i < q->nfleet && i < ALTERNATE_FLEET_MAX; i++) {
		n = &q->fleet[i];
		if (n->draining || n->capacity == 0 || n->addr.ss_family != q->family ||
		    (secure && n->tls_port == 0) ||
		    alternate_over(n->allocations, n->capacity, q->redirect_at))
			continue;
		/* n->allocations / n->capacity < best's, without division. */
		if (best == NULL ||
		    n->allocations * best->capacity < best->allocations * n->capacity)
			best = n;
	}
	if (best == NULL)
		return false;
	memset(out, 0, sizeof *out);
	out->addr = best->addr;
	if (secure)
		addr_set_port((struct sockaddr *)&out->addr, best->tls_port);
	return true;
}

bool
alternate_fleet_wanted(const struct alternate_query *q)
{
	return q->redirect_at != 0 &&
	    (q->draining || alternate_over(q->allocations, q->capacity, q->redirect_at));
}

bool
alternate_choose(const struct alternate_set *s, const struct alternate_query *q, uint32_t *cursor,
    struct alternate_target *out)
{
	const struct alternate_list *l;
	size_t i, at;

	if (alternate_fleet_wanted(q) && alternate_fleet_pick(q, out))
		return true;
	if (s == NULL)
		return false;
	l = &s->lists[q->transport == TURN_TLS ? ALTERNATE_TLS : ALTERNATE_PLAIN];
	for (i = 0; i < l->n; i++) {
		at = (*cursor + i) % l->n;
		if (l->v[at].addr.ss_family == q->family) {
			*cursor = (uint32_t)(at + 1);
			*out = l->v[at];
			return true;
		}
	}
	return false;
}
