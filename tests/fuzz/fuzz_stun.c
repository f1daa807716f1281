/*
 * Fuzz target for the STUN decoder: decode, every getter on every attribute,
 * integrity and fingerprint checks, then re-encode what decoded and decode again.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/integrity.h"
#include "turnpike/opaque.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 5769's short-term password, so that seeds built from it verify. */
static const uint8_t fuzz_key[] = "VOkJxbRl1RmTxUk/WvJxBt";
#define FUZZ_KEYLEN (sizeof fuzz_key - 1)

static void
fuzz_getters(const struct stun_msg *m, const struct stun_attr *a)
{
	struct sockaddr_storage ss;
	const uint8_t *reason;
	uint8_t hash[STUN_USERHASH_LEN];
	char domain[STUN_DOMAIN_MAX];
	size_t rlen;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8;
	bool ip, port;
	int code;

	if (stun_attr_value(m, a) + a->len > m->raw + m->len)
		abort();
	if (stun_get_error(m, a, &code, &reason, &rlen) == 0 &&
	    (code < 300 || code > 699 || reason + rlen > m->raw + m->len))
		abort();
	(void)stun_get_u32(m, a, &u32);
	(void)stun_get_u16(m, a, &u16);
	(void)stun_get_u8(m, a, &u8);
	(void)stun_get_addr(m, a, &ss);
	(void)stun_get_xor_addr(m, a, &ss);
	(void)stun_get_change_request(m, a, &ip, &port);
	if (stun_get_userhash(m, a, hash) == 0 && a->len != STUN_USERHASH_LEN)
		abort();
	if (stun_get_domain(m, a, domain, sizeof domain) == 0 && strlen(domain) != a->len)
		abort();
	(void)stun_attr_name(a->type);
}

/* Password preparation and long-term keys, fed with USERNAME and REALM values. */
static void
fuzz_long_term(const struct stun_msg *m)
{
	const struct stun_attr *u = stun_find(m, STUN_ATTR_USERNAME);
	const struct stun_attr *r = stun_find(m, STUN_ATTR_REALM);
	uint8_t key[INTEGRITY_MAX_KEY_LEN];
	char out[1024];
	const char *errstr, *user;
	size_t outlen, keylen;

	if (u == NULL || r == NULL)
		return;
	user = (const char *)stun_attr_value(m, u);
	if (opaque_prepare(user, u->len, out, sizeof out, &outlen, &errstr) == 0 &&
	    (outlen == 0 || outlen > (size_t)u->len / 3 * 4 + 4))
		abort();
	(void)integrity_key_long_term(STUN_PWALG_SHA256, user, u->len,
	    (const char *)stun_attr_value(m, r), r->len, user, u->len, key, &keylen);
}

/* Re-encodes m: values copied verbatim, integrity and fingerprint recomputed. */
static int
fuzz_rebuild(const struct stun_msg *m, uint8_t *out, size_t cap, size_t *len)
{
	struct stun_build b;
	const struct stun_attr *a;
	size_t i;

	stun_build_init(&b, out, cap, m->method, m->cls, m->tid);
	for (i = 0; i < m->nattrs; i++) {
		a = &m->attrs[i];
		if (a->type == STUN_ATTR_MESSAGE_INTEGRITY)
			stun_build_integrity(&b, fuzz_key, FUZZ_KEYLEN);
		else if (a->type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
			stun_build_integrity_sha256(&b, fuzz_key, FUZZ_KEYLEN);
		else if (a->type == STUN_ATTR_FINGERPRINT)
			stun_build_fingerprint(&b);
		else
			stun_build_attr_copy(&b, m, a);
	}
	return stun_build_finish(&b, len);
}

/* The rebuilt message decodes to the same attributes, and its integrity holds. */
static void
fuzz_compare(const struct stun_msg *m, const struct stun_msg *r)
{
	const struct stun_attr *a, *ra;
	size_t i;

	if (r->nattrs != m->nattrs || r->type != m->type || r->nunknown != 0 ||
	    memcmp(r->tid, m->tid, STUN_TID_LEN) != 0)
		abort();
	for (i = 0; i < m->nattrs; i++) {
		a = &m->attrs[i];
		ra = &r->attrs[i];
		if (a->type != ra->type)
			abort();
		if (a->type == STUN_ATTR_MESSAGE_INTEGRITY ||
		    a->type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
		    a->type == STUN_ATTR_FINGERPRINT)
			continue;
		if (a->len != ra->len ||
		    memcmp(stun_attr_value(m, a), stun_attr_value(r, ra), a->len) != 0)
			abort();
	}
	if (r->mi != -1 && !integrity_verify(r, false, fuzz_key, FUZZ_KEYLEN))
		abort();
	if (r->mi_sha256 != -1 && !integrity_verify(r, true, fuzz_key, FUZZ_KEYLEN))
		abort();
	if (r->fingerprint != -1 && !integrity_fingerprint_ok(r))
		abort();
}

static void
fuzz_reencode(const struct stun_msg *m)
{
	struct stun_msg r;
	const char *errstr;
	uint8_t *out;
	size_t cap = m->len + 16, len;

	if ((out = malloc(cap)) == NULL)
		return;
	/* MESSAGE-INTEGRITY-SHA256 may grow to 32 bytes; only a too-long result may fail. */
	if (fuzz_rebuild(m, out, cap, &len) == -1) {
		if (cap <= STUN_MAX_MSG)
			abort();
	} else if (stun_decode(&r, out, len, &errstr) != STUN_DECODE_OK)
		abort();
	else
		fuzz_compare(m, &r);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_msg m;
	const char *errstr;
	size_t i;
	int rc;

	(void)stun_is_stun(data, size);
	rc = stun_decode(&m, data, size, &errstr);
	if (rc != STUN_DECODE_OK)
		return 0;
	if (m.len > size || m.nattrs > STUN_MAX_ATTRS || m.nunknown > STUN_MAX_UNKNOWN)
		abort();
	for (i = 0; i < m.nattrs; i++)
		fuzz_getters(&m, &m.attrs[i]);
	(void)stun_method_name(m.method);
	(void)integrity_verify(&m, false, fuzz_key, FUZZ_KEYLEN);
	(void)integrity_verify(&m, true, fuzz_key, FUZZ_KEYLEN);
	(void)integrity_fingerprint_ok(&m);
	fuzz_long_term(&m);
	fuzz_reencode(&m);
	return 0;
}
