/* RFC 7635 AS-RS keys: coturn's oauth_key row (base64 ikm, as_rs_alg) decoded. */
#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "turnpike/oauthkey.h"

int
oauthkey_alg_parse(const char *s, enum oauth_alg *out)
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
oauthkey_alg_name(enum oauth_alg alg)
{
	return alg == OAUTH_A128GCM ? "A128GCM" : "A256GCM";
}

/* Standard base64 with padding; whitespace is not accepted. Returns the length or -1. */
static int
oauthkey_unbase64(const char *s, uint8_t *out, size_t cap)
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
		OPENSSL_cleanse(tmp, sizeof tmp);
		return -1;
	}
	len -= (int)pad;
	memcpy(out, tmp, (size_t)len);
	OPENSSL_cleanse(tmp, sizeof tmp);
	return len;
}

int
oauthkey_make(const char *kid, const char *ikm_b64, const char *alg, uint64_t timestamp,
    uint32_t lifetime, const char *realm, struct oauth_key *out, const char **errstr)
{
	uint8_t ikm[OAUTH_IKM_B64_MAX];
	int n;

	memset(out, 0, sizeof *out);
	if (kid == NULL || *kid == '\0' || strlen(kid) > OAUTH_KID_MAX) {
		*errstr = "key id (kid) empty or longer than 128 bytes";
		return -1;
	}
	if (oauthkey_alg_parse(alg != NULL ? alg : "", &out->alg) == -1) {
		*errstr = "unknown as_rs_alg (A256GCM or A128GCM)";
		return -1;
	}
	if (realm != NULL && strlen(realm) >= sizeof out->realm) {
		*errstr = "realm longer than 127 bytes";
		return -1;
	}
	out->keylen = out->alg == OAUTH_A128GCM ? 16 : 32;
	if ((n = oauthkey_unbase64(ikm_b64 != NULL ? ikm_b64 : "", ikm, sizeof ikm)) == -1) {
		*errstr = "ikm_key is not base64";
		return -1;
	}
	if ((size_t)n < out->keylen) {
		OPENSSL_cleanse(ikm, sizeof ikm);
		*errstr = out->alg == OAUTH_A128GCM ? "ikm_key shorter than 16 bytes for A128GCM"
						    : "ikm_key shorter than 32 bytes for A256GCM";
		return -1;
	}
	memcpy(out->key, ikm, out->keylen);
	OPENSSL_cleanse(ikm, sizeof ikm);
	strcpy(out->kid, kid);
	if (realm != NULL)
		strcpy(out->realm, realm);
	out->timestamp = timestamp;
	out->lifetime = lifetime;
	return 0;
}
