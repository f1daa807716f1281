/* Randomness from the kernel CSPRNG. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

#include "turnpike/random.h"

int
random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	ssize_t r;

	while (n > 0) {
		r = getrandom(p, n, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Rejection sampling: values below 2^32 mod bound would bias the result. */
uint32_t
random_uniform(uint32_t bound)
{
	uint32_t v, min;

	if (bound < 2)
		return 0;
	min = (uint32_t)(-bound) % bound;
	for (;;) {
		if (random_bytes(&v, sizeof(v)) == -1)
			abort(); /* no CSPRNG: never fall back to weak values */
		if (v >= min)
			return v % bound;
	}
}
