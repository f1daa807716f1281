/* Unit tests for hex encoding and decoding. */
#include <stdint.h>

#include "turnpike/hex.h"
#include "unit.h"

int
main(void)
{
	const uint8_t bytes[] = {0x00, 0x9f, 0xab, 0xff};
	uint8_t out[4] = {0};
	char text[9];

	hex_encode(text, bytes, sizeof bytes);
	CHECK(strcmp(text, "009fabff") == 0);
	CHECK(hex_decode("009fabff", out, sizeof out) == 0 && memcmp(out, bytes, 4) == 0);
	CHECKM(hex_decode("009FABFF", out, sizeof out) == 0 && memcmp(out, bytes, 4) == 0,
	    "upper case accepted");
	CHECKM(hex_decode("009fab", out, sizeof out) == -1, "too short refused");
	CHECKM(hex_decode("009fabff00", out, sizeof out) == -1, "too long refused");
	CHECKM(hex_decode("009fabfg", out, sizeof out) == -1, "non-hex digit refused");
	CHECKM(hex_decode("0x9fabff", out, sizeof out) == -1, "prefix refused");
	CHECK(hex_decode("", out, 0) == 0);
	return unit_done();
}
