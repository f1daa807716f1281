/*
 * Fuzz target for turnpikectl doctor's reading of the metrics endpoint's
 * answer: the Date header of an HTTP response, bytes as they came off the
 * socket (no NUL, any length). An accepted date is a plausible unix time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "turnpike/doctor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	time_t t;

	if (doctor_net_http_date((const char *)data, size, &t) == 0 && t == (time_t)-1)
		abort();
	return 0;
}
