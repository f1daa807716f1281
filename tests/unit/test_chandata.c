/* Unit tests for src/stun/chandata.c: ChannelData encode and decode. */
#include <string.h>

#include "turnpike/chandata.h"
#include "unit.h"

static void
test_channels(void)
{
	CHECK(!chandata_is_channel(0x3fff));
	CHECK(chandata_is_channel(0x4000) && chandata_is_channel(0x4fff));
	CHECKM(chandata_is_channel(0x5000) && chandata_is_channel(0x7fff),
	    "RFC 5766 channels (coturn's clients) accepted");
	CHECK(!chandata_is_channel(0x8000) && !chandata_is_channel(0xffff));
}

static void
test_round_trip(void)
{
	uint8_t out[64];
	const uint8_t *data;
	const char *errstr;
	size_t datalen, consumed;
	uint16_t ch;
	int n;

	memset(out, 0xaa, sizeof out);
	CHECK((n = chandata_encode(out, sizeof out, 0x4001, "hello", 5, false)) == 9);
	CHECK(memcmp(out, "\x40\x01\x00\x05hello", 9) == 0 && out[9] == 0xaa);
	CHECK(chandata_decode(out, 9, false, &ch, &data, &datalen, &consumed, &errstr) == 0 &&
	    ch == 0x4001 && datalen == 5 && memcmp(data, "hello", 5) == 0 && consumed == 9);
	CHECK(chandata_decode(out, 9, true, &ch, &data, &datalen, &consumed, &errstr) == -1);
	CHECK(chandata_decode(out, 8, false, &ch, &data, &datalen, &consumed, &errstr) == -1);
	CHECK((n = chandata_encode(out, sizeof out, 0x4fff, "hello", 5, true)) == 12);
	CHECK(out[9] == 0 && out[10] == 0 && out[11] == 0);
	CHECK(chandata_decode(out, 12, true, &ch, &data, &datalen, &consumed, &errstr) == 0 &&
	    ch == 0x4fff && datalen == 5 && consumed == 12);
	CHECK(chandata_decode(out, 11, true, &ch, &data, &datalen, &consumed, &errstr) == -1);
	/* Trailing bytes are not part of the message. */
	CHECK(chandata_decode(out, 12, false, &ch, &data, &datalen, &consumed, &errstr) == 0 &&
	    consumed == 9);
	CHECK(chandata_encode(out, sizeof out, 0x4000, NULL, 0, true) == 4);
	CHECK(chandata_decode(out, 4, true, &ch, &data, &datalen, &consumed, &errstr) == 0 &&
	    datalen == 0 && consumed == 4);
}

static void
test_bad(void)
{
	uint8_t msg[16] = {0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4};
	const uint8_t *data;
	const char *errstr = NULL;
	size_t datalen, consumed;
	uint16_t ch;
	uint8_t out[16];

	CHECK(chandata_decode(msg, 0, false, &ch, &data, &datalen, &consumed, &errstr) == -1);
	CHECK(chandata_decode(msg, 3, false, &ch, &data, &datalen, &consumed, &errstr) == -1);
	CHECK(chandata_decode(msg, 7, false, &ch, &data, &datalen, &consumed, &errstr) == -1);
	CHECK(chandata_decode(msg, 8, true, &ch, &data, &datalen, &consumed, &errstr) == 0);
	msg[0] = 0x3f;
	CHECK(chandata_decode(msg, 8, false, &ch, &data, &datalen, &consumed, &errstr) == -1);
	msg[0] = 0x50;
	CHECK(chandata_decode(msg, 8, false, &ch, &data, &datalen, &consumed, &errstr) == 0 &&
	    ch == 0x5000);
	msg[0] = 0x80;
	CHECK(chandata_decode(msg, 8, false, &ch, &data, &datalen, &consumed, &errstr) == -1 &&
	    errstr != NULL);
	CHECK(chandata_encode(out, sizeof out, 0x8000, "x", 1, false) == -1);
	CHECK(chandata_encode(out, 8, 0x4000, "abcd", 4, false) == 8);
	CHECK(chandata_encode(out, 8, 0x4000, "abcde", 5, false) == -1);
	CHECK(chandata_encode(out, 8, 0x4000, "abc", 3, true) == 8);
	CHECK(chandata_encode(out, 7, 0x4000, "abc", 3, true) == -1);
}

static void
test_max(void)
{
	static uint8_t data[65536], out[65544];
	const uint8_t *d;
	const char *errstr;
	size_t datalen, consumed;
	uint16_t ch;

	CHECK(chandata_encode(out, sizeof out, 0x4000, data, 65536, true) == -1);
	CHECK(chandata_encode(out, sizeof out, 0x4000, data, 65535, true) == 65540);
	CHECK(chandata_decode(out, 65540, true, &ch, &d, &datalen, &consumed, &errstr) == 0 &&
	    datalen == 65535 && consumed == 65540);
}

int
main(void)
{
	test_channels();
	test_round_trip();
	test_bad();
	test_max();
	return unit_done();
}
