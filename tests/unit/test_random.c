/* Unit tests for the CSPRNG wrapper. */
#include <stdint.h>

#include "turnpike/random.h"
#include "unit.h"

int
main(void)
{
	uint8_t a[32] = {0}, b[32] = {0};
	unsigned counts[4] = {0};
	bool in_range = true;

	CHECK(random_bytes(a, sizeof(a)) == 0);
	CHECK(random_bytes(b, sizeof(b)) == 0);
	CHECKM(memcmp(a, b, sizeof(a)) != 0, "two draws differ");
	CHECK(random_uniform(1) == 0);
	CHECK(random_uniform(0) == 0);
	for (int i = 0; i < 4000; i++) {
		uint32_t v = random_uniform(4);
		if (v >= 4)
			in_range = false;
		else
			counts[v]++;
	}
	CHECKM(in_range, "uniform values stay below the bound");
	/* Each bucket expects 1000; 700 is more than 9 standard deviations away. */
	CHECKM(counts[0] > 700 && counts[1] > 700 && counts[2] > 700 && counts[3] > 700,
	    "all four values occur about equally often");
	return unit_done();
}
