/* The STUN Binding service (RFC 8489 §6.3): decide and build the answer. */
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/binding.h"
#include "turnpike/buf.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"

/* What a request is answered with; filled by a method handler. */
struct binding_answer {
	int error; /* 0 for a success response, else the ERROR-CODE */
	const uint16_t *unknown;
	size_t nunknown;
	const struct sockaddr *mapped; /* XOR-MAPPED-ADDRESS of a success, or NULL */
};

struct binding_method {
	uint16_t method;
	void (*handle)(const struct stun_msg *, const struct sockaddr *, struct binding_answer *);
};

static void binding_handle_binding(const struct stun_msg *, const struct sockaddr *,
    struct binding_answer *);

/* TURN methods (Allocate, Refresh, ...) get rows here in a later issue. */
static const struct binding_method binding_methods[] = {
    {STUN_BINDING, binding_handle_binding},
};

static void
binding_handle_binding(const struct stun_msg *m, const struct sockaddr *src,
    struct binding_answer *a)
{
	a->mapped = src;
}

static int
binding_build(const struct binding_config *cfg, const struct stun_msg *m,
    const struct binding_answer *a, uint8_t *out, size_t outcap, size_t *outlen)
{
	struct stun_build b;
	uint8_t cls = a->error != 0 ? STUN_ERROR : STUN_SUCCESS;

	if (stun_build_init(&b, out, outcap, m->method, cls, m->tid) != 0)
		return -1;
	if (a->error != 0)
		stun_build_error(&b, a->error, NULL);
	if (a->nunknown > 0)
		stun_build_unknown(&b, a->unknown, a->nunknown);
	if (a->mapped != NULL)
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, a->mapped);
	if (cfg->software != NULL)
		stun_build_string(&b, STUN_ATTR_SOFTWARE, cfg->software);
	/* RFC 8489 §7.3.1: answer with FINGERPRINT when the request used it. */
	if (m->fingerprint >= 0)
		stun_build_fingerprint(&b);
	return stun_build_finish(&b, outlen);
}

/* A request whose attributes are malformed: 400 from the header alone. */
static int
binding_bad_request(const struct binding_config *cfg, const uint8_t *in, uint8_t *out,
    size_t outcap, size_t *outlen)
{
	struct stun_msg m;
	struct binding_answer a = {.error = 400};

	memset(&m, 0, sizeof m);
	stun_type_split(buf_load_u16(in) & 0x3fff, &m.method, &m.cls);
	if (m.cls != STUN_REQUEST)
		return BINDING_IGNORE;
	memcpy(m.tid, in + 8, STUN_TID_LEN);
	m.fingerprint = -1;
	if (binding_build(cfg, &m, &a, out, outcap, outlen) != 0)
		return BINDING_IGNORE;
	return BINDING_REPLY;
}

static void
binding_dispatch(const struct stun_msg *m, const struct sockaddr *src, struct binding_answer *a)
{
	size_t i;

	/* RFC 8489 §6.3.1: unknown comprehension-required attributes come first. */
	if (m->nunknown > 0) {
		a->error = 420;
		a->unknown = m->unknown;
		a->nunknown = m->nunknown;
		return;
	}
	for (i = 0; i < sizeof binding_methods / sizeof binding_methods[0]; i++) {
		if (binding_methods[i].method == m->method) {
			binding_methods[i].handle(m, src, a);
			return;
		}
	}
	a->error = 400; /* TURN methods are not served yet */
}

int
binding_process(const struct binding_config *cfg, const uint8_t *in, size_t inlen,
    const struct sockaddr *src, uint8_t *out, size_t outcap, size_t *outlen)
{
	struct stun_msg m;
	struct binding_answer a;
	struct sockaddr_in sin;
	const char *errstr;
	int rc;

	rc = stun_decode(&m, in, inlen, &errstr);
	if (rc == STUN_DECODE_MALFORMED)
		return binding_bad_request(cfg, in, out, outcap, outlen);
	if (rc != STUN_DECODE_OK)
		return BINDING_NOT_STUN;
	/* RFC 8489 §7.3: a wrong FINGERPRINT means the message is not STUN. */
	if (m.fingerprint >= 0 && !integrity_fingerprint_ok(&m))
		return BINDING_NOT_STUN;
	if (m.cls != STUN_REQUEST)
		return BINDING_IGNORE;

	memset(&a, 0, sizeof a);
	/* RFC 8489 §14.2: an IPv4-mapped source is reported as IPv4. */
	binding_dispatch(&m, addr_unmap_v4(src, &sin), &a);
	if (binding_build(cfg, &m, &a, out, outcap, outlen) != 0)
		return BINDING_IGNORE;
	return BINDING_REPLY;
}
