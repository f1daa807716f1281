/*
 * Long-term credential keys (RFC 8489 §9.2.2), USERHASH (§14.4), HMAC and TURN REST
 * API passwords over OpenSSL 3 libcrypto, and a constant-time compare.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "turnpike/base64.h"
#include "turnpike/credkey.h"
#include "turnpike/opaque.h"

/* Prepared passwords up to this size stay on the stack. */
#define CREDKEY_STACK_PASSWORD 512

bool
credkey_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* Digests the concatenation of parts; out has room for EVP_MAX_MD_SIZE. */
static int
credkey_digest(const EVP_MD *md, const struct credkey_part *parts, int nparts, uint8_t *out,
    unsigned int *outlen)
{
	EVP_MD_CTX *ctx;
	int i, rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto out;
	for (i = 0; i < nparts; i++) {
		if (EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, outlen) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Fills parts[0..3) with "user", ":", "realm". */
static void
credkey_user_realm(struct credkey_part parts[3], const char *user, size_t userlen,
    const char *realm, size_t realmlen)
{
	static const uint8_t colon = ':';

	parts[0].p = (const uint8_t *)user;
	parts[0].len = userlen;
	parts[1].p = &colon;
	parts[1].len = 1;
	parts[2].p = (const uint8_t *)realm;
	parts[2].len = realmlen;
}

/* MD5 or SHA-256 of "user:realm:password" (RFC 8489 §9.2.2), password already prepared. */
static int
credkey_key_digest(uint16_t alg, const char *user, size_t userlen, const char *realm,
    size_t realmlen, const struct credkey_part *pass, uint8_t *key, size_t *keylen)
{
	struct credkey_part parts[5];
	uint8_t out[EVP_MAX_MD_SIZE];
	const EVP_MD *md;
	unsigned int outlen;

	if (alg == CREDKEY_MD5)
		md = EVP_md5();
	else if (alg == CREDKEY_SHA256)
		md = EVP_sha256();
	else
		return -1;
	credkey_user_realm(parts, user, userlen, realm, realmlen);
	parts[3] = parts[1];
	parts[4] = *pass;
	if (credkey_digest(md, parts, 5, out, &outlen) == -1 || outlen > CREDKEY_MAX_LEN)
		return -1;
	memcpy(key, out, outlen);
	*keylen = outlen;
	return 0;
}

int
credkey_long_term(uint16_t alg, const char *user, size_t userlen, const char *realm,
    size_t realmlen, const char *password, size_t passlen, uint8_t *key, size_t *keylen)
{
	char stackbuf[CREDKEY_STACK_PASSWORD], *prep = stackbuf;
	struct credkey_part pass;
	const char *errstr;
	size_t cap, preplen;
	int rc = -1;

	/* OpaqueString grows a password by at most 4/3 (U+2177 is 3 bytes, "viii" 4). */
	cap = passlen / 3 * 4 + 4;
	if (cap > sizeof stackbuf && (prep = malloc(cap)) == NULL)
		return -1;
	if (opaque_prepare(password, passlen, prep, cap, &preplen, &errstr) == 0) {
		pass.p = (const uint8_t *)prep;
		pass.len = preplen;
		rc = credkey_key_digest(alg, user, userlen, realm, realmlen, &pass, key, keylen);
	}
	OPENSSL_cleanse(prep, cap);
	if (prep != stackbuf)
		free(prep);
	return rc;
}

void
credkey_userhash(const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint8_t out[CREDKEY_USERHASH_LEN])
{
	struct credkey_part parts[3];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	credkey_user_realm(parts, user, userlen, realm, realmlen);
	if (credkey_digest(EVP_sha256(), parts, 3, md, &mdlen) == -1 ||
	    mdlen != CREDKEY_USERHASH_LEN)
		memset(md, 0, CREDKEY_USERHASH_LEN);
	memcpy(out, md, CREDKEY_USERHASH_LEN);
}

int
credkey_hmac(bool sha256, const uint8_t *key, size_t keylen, const struct credkey_part *parts,
    int nparts, uint8_t *out)
{
	char sha1[] = "SHA1", sha2[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	size_t outlen;
	int i, rc = -1;

	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256 ? sha2 : sha1, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	if ((ctx = EVP_MAC_CTX_new(mac)) == NULL || EVP_MAC_init(ctx, key, keylen, params) != 1)
		goto out;
	for (i = 0; i < nparts; i++) {
		if (EVP_MAC_update(ctx, parts[i].p, parts[i].len) != 1)
			goto out;
	}
	if (EVP_MAC_final(ctx, out, &outlen, CREDKEY_HMAC_SHA256_LEN) == 1 &&
	    outlen == (sha256 ? CREDKEY_HMAC_SHA256_LEN : CREDKEY_HMAC_SHA1_LEN))
		rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int
credkey_rest_password(bool sha256, const char *secret, size_t secretlen, const char *user,
    size_t userlen, char *out, size_t outcap)
{
	struct credkey_part part = {(const uint8_t *)user, userlen};
	uint8_t mac[CREDKEY_HMAC_SHA256_LEN];
	int rc = -1;

	if (outcap < (sha256 ? CREDKEY_REST_SHA256_LEN : CREDKEY_REST_SHA1_LEN) + 1)
		return -1;
	/* Standard base64 with padding (RFC 4648 §4), as coturn and REST clients use. */
	if (credkey_hmac(sha256, (const uint8_t *)secret, secretlen, &part, 1, mac) == 0)
		rc = base64_encode(mac, sha256 ? CREDKEY_HMAC_SHA256_LEN : CREDKEY_HMAC_SHA1_LEN,
		    out, outcap);
	OPENSSL_cleanse(mac, sizeof mac);
	return rc;
}
