/*
 * A tiny TAP test harness: each CHECK is one numbered test line; the automake
 * TAP driver counts them. A test binary's main() calls unit_done().
 */
#ifndef TURNPIKE_TESTS_UNIT_H
#define TURNPIKE_TESTS_UNIT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_n;
static int unit_failed;

static inline void
unit_ok(bool cond, const char *file, int line, const char *what)
{
	unit_n++;
	if (cond)
		printf("ok %d - %s\n", unit_n, what);
	else {
		unit_failed++;
		printf("not ok %d - %s (%s:%d)\n", unit_n, what, file, line);
	}
	fflush(stdout);
}

/* One assertion, reported as one TAP test named by its expression or a message. */
#define CHECK(cond) unit_ok((cond), __FILE__, __LINE__, #cond)
#define CHECKM(cond, msg) unit_ok((cond), __FILE__, __LINE__, (msg))

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_n);
	return unit_failed ? 1 : 0;
}

/* Hex string to bytes; returns the byte count or -1 on bad hex. */
static inline int
unit_unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)(n / 2);
}

#endif
