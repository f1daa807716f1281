/* Unit tests for src/stun/framing.c: splitting a TCP/TLS byte stream into frames. */
#include <string.h>

#include "turnpike/chandata.h"
#include "turnpike/framing.h"
#include "turnpike/stun.h"
#include "turnpike/stun_build.h"
#include "unit.h"

static const uint8_t test_tid[STUN_TID_LEN] = {1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144};

/* framing_next on the first len bytes: 0 and need, or -1. */
static int
next(const uint8_t *p, size_t len, size_t *need, int *kind)
{
	const char *errstr = NULL;
	int rc = framing_next(p, len, need, kind, &errstr);

	if (rc == -1 && errstr == NULL)
		return -2;
	return rc;
}

static void
test_stun(void)
{
	uint8_t msg[64];
	struct stun_build b;
	size_t len, need, i;
	int kind = 0;
	bool partial = true;

	stun_build_init(&b, msg, sizeof msg, STUN_BINDING, STUN_REQUEST, test_tid);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "x");
	stun_build_finish(&b, &len);
	for (i = 0; i < 8; i++) {
		if (next(msg, i, &need, &kind) != 0 || need != 0)
			partial = false;
	}
	CHECKM(partial, "fewer than 8 bytes: need more");
	CHECK(next(msg, 8, &need, &kind) == 0 && need == len && kind == FRAMING_STUN);
	CHECK(next(msg, len + 10, &need, &kind) == 0 && need == len);
	msg[3] = 0x06;
	CHECK(next(msg, 4, &need, &kind) == -1);
	msg[3] = 0x08;
	msg[5] ^= 0xff;
	CHECK(next(msg, 7, &need, &kind) == 0 && need == 0);
	CHECK(next(msg, 8, &need, &kind) == -1);
	msg[5] ^= 0xff;
	msg[2] = 0xff;
	msg[3] = 0xfc;
	CHECK(next(msg, 8, &need, &kind) == 0 && need == 20 + 0xfffc);
}

static void
test_chandata(void)
{
	uint8_t msg[32];
	size_t need;
	int kind = 0;

	CHECK(chandata_encode(msg, sizeof msg, 0x4001, "hello", 5, true) == 12);
	CHECK(next(msg, 1, &need, &kind) == 0 && need == 0);
	CHECK(next(msg, 3, &need, &kind) == 0 && need == 0);
	CHECK(next(msg, 4, &need, &kind) == 0 && need == 12 && kind == FRAMING_CHANDATA);
	msg[3] = 8;
	CHECK(next(msg, 4, &need, &kind) == 0 && need == 12);
	msg[3] = 0;
	CHECK(next(msg, 4, &need, &kind) == 0 && need == 4);
	msg[0] = 0x50;
	CHECKM(next(msg, 4, &need, &kind) == 0 && need == 4 && kind == FRAMING_CHANDATA,
	    "RFC 5766 channel 0x50xx frames");
	msg[0] = 0x7f;
	CHECK(next(msg, 4, &need, &kind) == 0 && kind == FRAMING_CHANDATA);
	msg[0] = 0x80;
	CHECK(next(msg, 1, &need, &kind) == -1);
	msg[0] = 0xc0;
	CHECK(next(msg, 1, &need, &kind) == -1);
	CHECK(next(msg, 0, &need, &kind) == 0 && need == 0);
}

/* A stream of STUN, ChannelData, STUN frames splits at the right places. */
static void
test_stream(void)
{
	uint8_t stream[256];
	struct stun_build b;
	size_t len, off = 0, need, frames = 0;
	int kind, kinds[4] = {0};
	int n;

	stun_build_init(&b, stream, sizeof stream, STUN_REFRESH, STUN_REQUEST, test_tid);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 0);
	stun_build_finish(&b, &len);
	off = len;
	n = chandata_encode(stream + off, sizeof stream - off, 0x4abc, "abcdefg", 7, true);
	off += (size_t)n;
	memcpy(stream + off, stream, len);
	off += len;
	len = off;
	for (off = 0; off < len && frames < 4; off += need) {
		if (next(stream + off, len - off, &need, &kind) != 0 || need == 0)
			break;
		kinds[frames++] = kind;
	}
	CHECK(frames == 3 && off == len);
	CHECK(kinds[0] == FRAMING_STUN && kinds[1] == FRAMING_CHANDATA && kinds[2] == FRAMING_STUN);
}

int
main(void)
{
	test_stun();
	test_chandata();
	test_stream();
	return unit_done();
}
