/* Randomness from the kernel CSPRNG (getrandom(2)). */
#ifndef TURNPIKE_RANDOM_H
#define TURNPIKE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with n random bytes; -1 only if the kernel refuses. */
int random_bytes(void *buf, size_t n);
/* A uniform value in [0, bound) without modulo bias; bound must be > 0. */
uint32_t random_uniform(uint32_t bound);

#endif
