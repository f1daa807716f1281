/* RFC 7635 AS-RS keys and self-contained access tokens (AES-GCM). */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "turnpike/buf.h"
#include "turnpike/oauth.h"

/* The plaintext's fixed part: key_length (2), timestamp (8), lifetime (4). */
#define OAUTH_PLAIN_FIXED (2 + 8 + 4)
#define OAUTH_PLAIN_MAX (OAUTH_PLAIN_FIXED + OAUTH_MAC_KEY_MAX)

static void
oauth_wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static const EVP_CIPHER *
oauth_cipher(enum oauth_alg alg)
{
	return alg == OAUTH_A128GCM ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

/* AES-GCM in one direction; 0 on success (and, decrypting, a matching tag). */
static int
oauth_gcm(bool enc, const struct oauth_key *k, const char *aad, const uint8_t *nonce,
    size_t noncelen, const uint8_t *in, size_t inlen, uint8_t *out, uint8_t tag[OAUTH_GCM_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	int outl, fin, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, oauth_cipher(k->alg), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)noncelen, NULL) == 1 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, k->key, nonce, enc) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, OAUTH_GCM_TAG_LEN, tag) == 1) &&
	    EVP_CipherUpdate(ctx, NULL, &outl, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
	    EVP_CipherUpdate(ctx, out, &outl, in, (int)inlen) == 1 &&
	    EVP_CipherFinal_ex(ctx, out + outl, &fin) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, OAUTH_GCM_TAG_LEN, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* The decrypted block: key_length, mac_key, timestamp, lifetime and nothing after. */
static int
oauth_plain_parse(const uint8_t *p, size_t len, struct oauth_token *out, const char **errstr)
{
	uint32_t hi, lo, lifetime;
	struct buf b;
	uint16_t keylen;

	buf_init(&b, p, len);
	if (buf_get_u16(&b, &keylen) == -1 || (keylen != 20 && keylen != 32) ||
	    buf_get_bytes(&b, out->mac_key, keylen) == -1) {
		*errstr = "token mac_key length is neither 20 nor 32";
		return -1;
	}
	if (buf_get_u32(&b, &hi) == -1 || buf_get_u32(&b, &lo) == -1 ||
	    buf_get_u32(&b, &lifetime) == -1 || buf_left(&b) != 0) {
		*errstr = "token block has the wrong length";
		return -1;
	}
	out->mac_key_len = keylen;
	out->timestamp = (uint64_t)hi << 32 | lo;
	out->lifetime = lifetime;
	return 0;
}

int
oauth_token_open(const struct oauth_key *k, const char *server_name, const uint8_t *token,
    size_t len, struct oauth_token *out, const char **errstr)
{
	uint8_t plain[OAUTH_TOKEN_MAX], tag[OAUTH_GCM_TAG_LEN];
	const uint8_t *nonce, *cipher;
	size_t cipherlen;
	uint16_t noncelen;
	struct buf b;
	int rc;

	memset(out, 0, sizeof *out);
	buf_init(&b, token, len);
	if (len > OAUTH_TOKEN_MAX || buf_get_u16(&b, &noncelen) == -1 ||
	    noncelen != OAUTH_GCM_NONCE_LEN || buf_get_ptr(&b, &nonce, noncelen) == -1 ||
	    buf_left(&b) < OAUTH_GCM_TAG_LEN + OAUTH_PLAIN_FIXED) {
		*errstr = "malformed access token";
		return -1;
	}
	cipherlen = buf_left(&b) - OAUTH_GCM_TAG_LEN;
	if (cipherlen > OAUTH_PLAIN_MAX || buf_get_ptr(&b, &cipher, cipherlen) == -1 ||
	    buf_get_bytes(&b, tag, sizeof tag) == -1) {
		*errstr = "malformed access token";
		return -1;
	}
	if (oauth_gcm(false, k, server_name, nonce, noncelen, cipher, cipherlen, plain, tag) ==
	    -1) {
		oauth_wipe(plain, sizeof plain);
		*errstr = "access token does not open with this key and server name";
		return -1;
	}
	rc = oauth_plain_parse(plain, cipherlen, out, errstr);
	oauth_wipe(plain, sizeof plain);
	if (rc == -1)
		oauth_wipe(out, sizeof *out);
	return rc;
}

size_t
oauth_token_seal(const struct oauth_key *k, const char *server_name,
    const uint8_t nonce[OAUTH_GCM_NONCE_LEN], const struct oauth_token *tok, uint8_t *out,
    size_t cap)
{
	uint8_t plain[OAUTH_PLAIN_MAX], tag[OAUTH_GCM_TAG_LEN];
	struct wbuf p;
	size_t need;

	if (tok->mac_key_len > OAUTH_MAC_KEY_MAX)
		return 0;
	wbuf_init(&p, plain, sizeof plain);
	wbuf_put_u16(&p, (uint16_t)tok->mac_key_len);
	wbuf_put_bytes(&p, tok->mac_key, tok->mac_key_len);
	wbuf_put_u32(&p, (uint32_t)(tok->timestamp >> 32));
	wbuf_put_u32(&p, (uint32_t)tok->timestamp);
	wbuf_put_u32(&p, tok->lifetime);
	need = 2 + OAUTH_GCM_NONCE_LEN + p.len + OAUTH_GCM_TAG_LEN;
	if (p.overflow || need > cap ||
	    oauth_gcm(true, k, server_name, nonce, OAUTH_GCM_NONCE_LEN, plain, p.len,
		out + 2 + OAUTH_GCM_NONCE_LEN, tag) == -1) {
		oauth_wipe(plain, sizeof plain);
		return 0;
	}
	buf_store_u16(out, OAUTH_GCM_NONCE_LEN);
	memcpy(out + 2, nonce, OAUTH_GCM_NONCE_LEN);
	memcpy(out + 2 + OAUTH_GCM_NONCE_LEN + p.len, tag, sizeof tag);
	oauth_wipe(plain, sizeof plain);
	return need;
}

bool
oauth_token_fresh(const struct oauth_token *tok, uint64_t now_unix, uint64_t *expires)
{
	uint64_t start = tok->timestamp >> 16;

	if (tok->lifetime == 0 || start > now_unix + OAUTH_TIME_SKEW)
		return false;
	*expires = start + tok->lifetime;
	return now_unix < *expires + OAUTH_TIME_SKEW;
}

bool
oauth_key_valid(const struct oauth_key *k, uint64_t now_unix)
{
	if (k->timestamp != 0 && now_unix + OAUTH_TIME_SKEW < k->timestamp)
		return false;
	return k->lifetime == 0 || k->timestamp == 0 ||
	    now_unix < k->timestamp + k->lifetime + OAUTH_TIME_SKEW;
}
