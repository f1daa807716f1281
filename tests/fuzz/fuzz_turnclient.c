/* Fuzz target for the TURN client's answer checks: responses, Data indications, ChannelData. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/integrity.h"
#include "turnpike/stun.h"
#include "turnpike/turnclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Checks the input as the answer to a request whose transaction ID it carries,
 * sent without a key, with an MD5 key or with a SHA-256 key (mode).
 */
static void
fuzz_response(const uint8_t *p, size_t len, bool keyed, enum turnclient_pwmode mode)
{
	static const uint16_t methods[] = {STUN_ALLOCATE, STUN_REFRESH, STUN_CREATE_PERMISSION,
	    STUN_CHANNEL_BIND};
	struct turnclient_auth a;
	struct turnclient_resp res;
	uint8_t tid[STUN_TID_LEN];
	char *cause = NULL;
	size_t i;
	int rc;

	if (len < STUN_HEADER_LEN)
		return;
	memcpy(tid, p + 8, STUN_TID_LEN);
	turnclient_auth_init(&a, "user", "pass");
	a.mode = mode;
	if (keyed) {
		memset(a.key, 0x42, sizeof(a.key));
		a.pwalg = mode == TURNCLIENT_PW_SHA256 ? STUN_PWALG_SHA256 : STUN_PWALG_MD5;
		a.keylen =
		    mode == TURNCLIENT_PW_SHA256 ? INTEGRITY_SHA256_KEY_LEN : INTEGRITY_MD5_KEY_LEN;
		a.have_key = true;
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		rc = turnclient_check_response(&a, tid, methods[i], p, len, &res, &cause);
		if ((rc == TURNCLIENT_CHECK_BAD) != (cause != NULL))
			abort();
		free(cause);
		cause = NULL;
		if (rc == TURNCLIENT_CHECK_OK && res.cls == STUN_ERROR &&
		    turnclient_auth_update(&a, &res, &cause) == 1 &&
		    (!a.have_key || a.noncelen != res.noncelen))
			abort();
		free(cause);
		cause = NULL;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage peer;
	const uint8_t *d;
	size_t dlen;

	fuzz_response(data, size, false, TURNCLIENT_PW_MD5);
	fuzz_response(data, size, true, TURNCLIENT_PW_MD5);
	fuzz_response(data, size, true, TURNCLIENT_PW_SHA256);
	if (turnclient_parse_data(data, size, &peer, &d, &dlen) == 0 &&
	    (d < data || d + dlen > data + size))
		abort();
	return 0;
}
