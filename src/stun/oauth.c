/* RFC 7635 AS-RS keys and self-contained access tokens (AES-GCM). */
#include "config.h"

#include <ctype.h>
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

int
oauth_alg_parse(const char *s, enum oauth_alg *out)
{
	char norm[16];
	size_t i, n = strlen(s);

	if (n == 0) {
		*out = OAUTH_A256GCM;
		return 0;
	}
	if (n >= sizeof norm)
		return -1;
	for (i = 0; i <= n; i++)
		norm[i] = s[i] == '_' ? '-' : (char)toupper((unsigned char)s[i]);
	if (strcmp(norm, "A256GCM") == 0)
		*out = OAUTH_A256GCM;
	else if (strcmp(norm, "A128GCM") == 0)
		*out = OAUTH_A128GCM;
	else
		return -1;
	return 0;
}

const char *
oauth_alg_name(enum oauth_alg alg)
{
	return alg == OAUTH_A128GCM ? "A128GCM" : "A256GCM";
}

static const EVP_CIPHER *
oauth_cipher(enum oauth_alg alg)
{
	return alg == OAUTH_A128GCM ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

/* Standard base64 with padding; whitespace is not accepted. Returns the length or -1. */
static int
oauth_unbase64(const char *s, uint8_t *out, size_t cap)
{
	uint8_t tmp[OAUTH_IKM_B64_MAX];
	size_t n = strlen(s), pad = 0;
	int len;

	if (n == 0 || n > OAUTH_IKM_B64_MAX || n % 4 != 0)
		return -1;
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	len = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (len < 0 || (size_t)len < pad || (size_t)len - pad > cap) {
		oauth_wipe(tmp, sizeof tmp);
		return -1;
	}
	len -= (int)pad;
	memcpy(out, tmp, (size_t)len);
	oauth_wipe(tmp, sizeof tmp);
	return len;
}

int
oauth_key_make(const char *kid, const char *ikm_b64, const char *alg, uint64_t timestamp,
    uint32_t lifetime, const char *realm, struct oauth_key *out, const char **errstr)
{
	uint8_t ikm[OAUTH_IKM_B64_MAX];
	int n;

	memset(out, 0, sizeof *out);
	if (kid == NULL || *kid == '\0' || strlen(kid) > OAUTH_KID_MAX) {
		*errstr = "key id (kid) empty or longer than 128 bytes";
		return -1;
	}
	if (oauth_alg_parse(alg != NULL ? alg : "", &out->alg) == -1) {
		*errstr = "unknown as_rs_alg (A256GCM or A128GCM)";
		return -1;
	}
	if (realm != NULL && strlen(realm) >= sizeof out->realm) {
		*errstr = "realm longer than 127 bytes";
		return -1;
	}
	out->keylen = out->alg == OAUTH_A128GCM ? 16 : 32;
	if ((n = oauth_unbase64(ikm_b64 != NULL ? ikm_b64 : "", ikm, sizeof ikm)) == -1) {
		*errstr = "ikm_key is not base64";
		return -1;
	}
	if ((size_t)n < out->keylen) {
		oauth_wipe(ikm, sizeof ikm);
		*errstr = out->alg == OAUTH_A128GCM ? "ikm_key shorter than 16 bytes for A128GCM"
						    : "ikm_key shorter than 32 bytes for A256GCM";
		return -1;
	}
	memcpy(out->key, ikm, out->keylen);
	oauth_wipe(ikm, sizeof ikm);
	strcpy(out->kid, kid);
	if (realm != NULL)
		strcpy(out->realm, realm);
	out->timestamp = timestamp;
	out->lifetime = lifetime;
	return 0;
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
