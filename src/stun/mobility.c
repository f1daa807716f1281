/* RFC 8016 MOBILITY-TICKET sealing: AES-256-GCM, base64url, 32 characters. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "turnpike/base64.h"
#include "turnpike/buf.h"
#include "turnpike/integrity.h"
#include "turnpike/mobility.h"
#include "turnpike/random.h"

#define MOBILITY_RAW_LEN 24 /* 3/4 of MOBILITY_TICKET_LEN */
#define MOBILITY_IV_LEN 12
#define MOBILITY_CT_LEN 4
#define MOBILITY_TAG_LEN 8 /* GCM tag truncated to 64 bits to fit coturn's 32 characters */

static const char mobility_label[] = "turnpike RFC 8016 mobility ticket v1";

int
mobility_key_init(struct mobility_key *k, const uint8_t *secret, size_t secretlen)
{
	uint8_t mac[INTEGRITY_SHA256_LEN];

	if (integrity_hmac(true, secret, secretlen, (const uint8_t *)mobility_label,
		sizeof mobility_label - 1, mac) == -1 ||
	    random_bytes(k->instance, sizeof k->instance) == -1)
		return -1;
	memcpy(k->key, mac, sizeof k->key);
	return 0;
}

/* The IV: tag, 40-bit id, 24-bit sequence, instance; unique per ticket under one key. */
static void
mobility_iv(const struct mobility_key *k, const struct mobility_ticket *tk,
    uint8_t iv[MOBILITY_IV_LEN])
{
	struct wbuf w;

	wbuf_init(&w, iv, MOBILITY_IV_LEN);
	wbuf_put_u8(&w, tk->tag);
	wbuf_put_u8(&w, (uint8_t)(tk->id >> 32));
	wbuf_put_u32(&w, (uint32_t)tk->id);
	wbuf_put_u8(&w, (uint8_t)(tk->seq >> 16));
	wbuf_put_u16(&w, (uint16_t)tk->seq);
	wbuf_put_bytes(&w, k->instance, sizeof k->instance);
}

/* One AES-256-GCM pass over the 4-byte body; tag written (enc) or checked. */
static int
mobility_gcm(const uint8_t key[32], const uint8_t *iv, const uint8_t *in, uint8_t *out,
    uint8_t *tag, int enc)
{
	EVP_CIPHER_CTX *ctx;
	int outl = 0, fin = 0, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, MOBILITY_IV_LEN, NULL) == 1 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, MOBILITY_TAG_LEN, tag) == 1) &&
	    EVP_CipherUpdate(ctx, NULL, &outl, (const uint8_t *)mobility_label,
		(int)(sizeof mobility_label - 1)) == 1 &&
	    EVP_CipherUpdate(ctx, out, &outl, in, MOBILITY_CT_LEN) == 1 &&
	    EVP_CipherFinal_ex(ctx, out + outl, &fin) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, MOBILITY_TAG_LEN, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
mobility_seal(const struct mobility_key *k, const struct mobility_ticket *tk,
    char out[MOBILITY_TICKET_LEN])
{
	uint8_t raw[MOBILITY_RAW_LEN], body[MOBILITY_CT_LEN];
	char text[MOBILITY_TICKET_LEN + 1];

	if (tk->id == 0 || tk->id > MOBILITY_ID_MAX || tk->seq == 0 || tk->seq > MOBILITY_SEQ_MAX)
		return -1;
	mobility_iv(k, tk, raw);
	buf_store_u32(body, tk->expires_unix);
	if (mobility_gcm(k->key, raw, body, raw + MOBILITY_IV_LEN,
		raw + MOBILITY_IV_LEN + MOBILITY_CT_LEN, 1) == -1)
		return -1;
	/* out has no room for base64url's NUL. */
	if (base64_url_encode(raw, sizeof raw, text, sizeof text) == -1)
		return -1;
	memcpy(out, text, MOBILITY_TICKET_LEN);
	return 0;
}

/* Exactly MOBILITY_TICKET_LEN base64url characters ('=' refused) into MOBILITY_RAW_LEN bytes. */
static int
mobility_decode(const uint8_t *in, size_t len, uint8_t raw[MOBILITY_RAW_LEN])
{
	size_t n;

	if (len != MOBILITY_TICKET_LEN ||
	    base64_url_decode((const char *)in, len, raw, MOBILITY_RAW_LEN, &n) == -1 ||
	    n != MOBILITY_RAW_LEN)
		return -1;
	return 0;
}

int
mobility_open(const struct mobility_key *k, const uint8_t *in, size_t len,
    struct mobility_ticket *tk, const char **errstr)
{
	uint8_t raw[MOBILITY_RAW_LEN], body[MOBILITY_CT_LEN], hi, seqhi;
	uint32_t lo;
	uint16_t seqlo;
	struct buf b;

	if (mobility_decode(in, len, raw) == -1) {
		*errstr = "not a ticket of this server (length or characters)";
		return -1;
	}
	if (mobility_gcm(k->key, raw, raw + MOBILITY_IV_LEN, body,
		raw + MOBILITY_IV_LEN + MOBILITY_CT_LEN, 0) == -1) {
		*errstr = "ticket seal does not verify";
		return -1;
	}
	buf_init(&b, raw, MOBILITY_IV_LEN);
	if (buf_get_u8(&b, &tk->tag) == -1 || buf_get_u8(&b, &hi) == -1 ||
	    buf_get_u32(&b, &lo) == -1 || buf_get_u8(&b, &seqhi) == -1 ||
	    buf_get_u16(&b, &seqlo) == -1) {
		*errstr = "truncated ticket";
		return -1;
	}
	tk->id = (uint64_t)hi << 32 | lo;
	tk->seq = (uint32_t)seqhi << 16 | seqlo;
	tk->expires_unix = buf_load_u32(body);
	if (tk->id == 0 || tk->seq == 0) {
		*errstr = "ticket names no allocation";
		return -1;
	}
	return 0;
}
