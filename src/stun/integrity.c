/*
 * MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489 §14.5-§14.7)
 * over OpenSSL 3 libcrypto; HMAC, long-term keys (§9.2.2) and USERHASH are credkey's.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "turnpike/buf.h"
#include "turnpike/credkey.h"
#include "turnpike/integrity.h"
#include "turnpike/stun.h"

#define FINGERPRINT_XOR 0x5354554eu

/* integrity_key_long_term passes enum stun_pwalg numbers to credkey unchanged. */
_Static_assert((int)STUN_PWALG_MD5 == (int)CREDKEY_MD5 &&
	(int)STUN_PWALG_SHA256 == (int)CREDKEY_SHA256,
    "credkey's algorithm numbers are STUN's PASSWORD-ALGORITHM numbers");

/* CRC-32 (ISO-HDLC, reflected polynomial 0xedb88320), one entry per byte value. */
/* clang-format off */
static const uint32_t integrity_crc_table[256] = {
	0x00000000, 0x77073096, 0xee0e612c, 0x990951ba,
	0x076dc419, 0x706af48f, 0xe963a535, 0x9e6495a3,
	0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
	0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91,
	0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de,
	0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
	0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
	0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5,
	0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
	0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b,
	0x35b5a8fa, 0x42b2986c, 0xdbbbc9d6, 0xacbcf940,
	0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
	0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116,
	0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
	0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
	0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d,
	0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a,
	0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
	0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818,
	0x7f6a0dbb, 0x086d3d2d, 0x91646c97, 0xe6635c01,
	0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
	0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457,
	0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea, 0xfcb9887c,
	0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
	0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2,
	0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb,
	0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
	0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
	0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086,
	0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
	0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4,
	0x59b33d17, 0x2eb40d81, 0xb7bd5c3b, 0xc0ba6cad,
	0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
	0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683,
	0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
	0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
	0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe,
	0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7,
	0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
	0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5,
	0xd6d6a3e8, 0xa1d1937e, 0x38d8c2c4, 0x4fdff252,
	0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
	0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60,
	0xdf60efc3, 0xa867df55, 0x316e8eef, 0x4669be79,
	0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
	0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f,
	0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04,
	0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
	0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
	0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713,
	0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
	0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21,
	0x86d3d2d4, 0xf1d4e242, 0x68ddb3f8, 0x1fda836e,
	0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
	0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c,
	0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
	0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
	0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db,
	0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0,
	0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
	0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6,
	0xbad03605, 0xcdd70693, 0x54de5729, 0x23d967bf,
	0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
	0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};
/* clang-format on */

static uint32_t
integrity_crc_update(uint32_t crc, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		crc = integrity_crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t
integrity_fingerprint(const uint8_t *p, size_t len)
{
	uint32_t crc = integrity_crc_update(0xffffffffu, p, len);

	return (crc ^ 0xffffffffu) ^ FINGERPRINT_XOR;
}

bool
integrity_equal(const void *a, const void *b, size_t n)
{
	return credkey_equal(a, b, n);
}

struct integrity_key {
	EVP_MAC_CTX *ctx; /* keyed, never updated: copied for each MAC */
	size_t len;
};

struct integrity_key *
integrity_key_create(bool sha256, const uint8_t *key, size_t keylen)
{
	char sha1[] = "SHA1", sha2[] = "SHA256";
	OSSL_PARAM params[2];
	struct integrity_key *k;
	EVP_MAC *mac;

	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256 ? sha2 : sha1, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((k = calloc(1, sizeof *k)) == NULL)
		return NULL;
	k->len = sha256 ? INTEGRITY_SHA256_LEN : INTEGRITY_SHA1_LEN;
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL)
		k->ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context holds its own reference */
	if (k->ctx == NULL || EVP_MAC_init(k->ctx, key, keylen, params) != 1) {
		integrity_key_free(k);
		return NULL;
	}
	return k;
}

void
integrity_key_free(struct integrity_key *k)
{
	if (k == NULL)
		return;
	EVP_MAC_CTX_free(k->ctx);
	free(k);
}

int
integrity_key_hmac(const struct integrity_key *k, const uint8_t *p, size_t len, uint8_t *out)
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(k->ctx);
	size_t outlen;
	int rc = -1;

	if (ctx != NULL && EVP_MAC_update(ctx, p, len) == 1 &&
	    EVP_MAC_final(ctx, out, &outlen, INTEGRITY_SHA256_LEN) == 1 && outlen == k->len)
		rc = 0;
	EVP_MAC_CTX_free(ctx);
	return rc;
}

int
integrity_hmac(bool sha256, const uint8_t *key, size_t keylen, const uint8_t *p, size_t len,
    uint8_t *out)
{
	struct credkey_part part;

	part.p = p;
	part.len = len;
	return credkey_hmac(sha256, key, keylen, &part, 1, out);
}

/*
 * The covered bytes of attribute a (RFC 8489 §14.5): a copy of the header with the
 * length field pointing at the end of a, then everything between header and a.
 */
static int
integrity_cover(const struct stun_msg *m, const struct stun_attr *a, uint8_t hdr[STUN_HEADER_LEN],
    struct credkey_part parts[2])
{
	struct buf b;
	size_t start, end;

	if (a->off < STUN_HEADER_LEN + 4 || a->off + (size_t)a->len > m->len)
		return -1;
	start = a->off - 4;
	end = a->off + (size_t)a->len + ((4 - (a->len & 3)) & 3);
	buf_init(&b, m->raw, m->len);
	if (end > m->len || buf_get_bytes(&b, hdr, STUN_HEADER_LEN) == -1)
		return -1;
	buf_store_u16(hdr + 2, (uint16_t)(end - STUN_HEADER_LEN));
	parts[0].p = hdr;
	parts[0].len = STUN_HEADER_LEN;
	parts[1].p = m->raw + STUN_HEADER_LEN;
	parts[1].len = start - STUN_HEADER_LEN;
	return 0;
}

bool
integrity_verify(const struct stun_msg *m, bool sha256, const uint8_t *key, size_t keylen)
{
	const struct stun_attr *a;
	uint8_t hdr[STUN_HEADER_LEN], mac[INTEGRITY_SHA256_LEN];
	struct credkey_part parts[2];
	int idx = sha256 ? m->mi_sha256 : m->mi;

	if (idx < 0 || (size_t)idx >= m->nattrs)
		return false;
	a = &m->attrs[idx];
	if (sha256 && (a->len < 16 || a->len > INTEGRITY_SHA256_LEN || a->len % 4 != 0))
		return false;
	if (!sha256 && a->len != INTEGRITY_SHA1_LEN)
		return false;
	if (integrity_cover(m, a, hdr, parts) == -1 ||
	    credkey_hmac(sha256, key, keylen, parts, 2, mac) == -1)
		return false;
	return integrity_equal(mac, stun_attr_value(m, a), a->len);
}

bool
integrity_fingerprint_ok(const struct stun_msg *m)
{
	const struct stun_attr *a;
	uint8_t hdr[STUN_HEADER_LEN];
	struct credkey_part parts[2];
	uint32_t crc, got;
	struct buf b;

	if (m->fingerprint < 0 || (size_t)m->fingerprint >= m->nattrs)
		return false;
	a = &m->attrs[m->fingerprint];
	if (a->len != 4 || integrity_cover(m, a, hdr, parts) == -1)
		return false;
	crc = integrity_crc_update(0xffffffffu, parts[0].p, parts[0].len);
	crc = integrity_crc_update(crc, parts[1].p, parts[1].len);
	crc = (crc ^ 0xffffffffu) ^ FINGERPRINT_XOR;
	buf_init(&b, stun_attr_value(m, a), a->len);
	return buf_get_u32(&b, &got) == 0 && got == crc;
}

/* The credential-key helpers live in common (credkey.c), where the store reaches them too. */
int
integrity_key_long_term(uint16_t alg, const char *user, size_t userlen, const char *realm,
    size_t realmlen, const char *password, size_t passlen, uint8_t *key, size_t *keylen)
{
	return credkey_long_term(alg, user, userlen, realm, realmlen, password, passlen, key,
	    keylen);
}

void
integrity_userhash(const char *user, size_t userlen, const char *realm, size_t realmlen,
    uint8_t out[32])
{
	credkey_userhash(user, userlen, realm, realmlen, out);
}
