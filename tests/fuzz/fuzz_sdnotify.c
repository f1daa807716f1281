/*
 * Fuzz target for the environment systemd hands over: the first line is a
 * NOTIFY_SOCKET value, the second WATCHDOG_USEC, the third WATCHDOG_PID. An
 * accepted address must fit sockaddr_un and keep its kind (path or abstract).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/sdnotify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of data (at most len - 1 bytes), NUL-terminated. */
static void
fuzz_line(const uint8_t *data, size_t size, size_t *off, char *out, size_t len)
{
	size_t n = 0;

	while (*off < size && data[*off] != '\n') {
		if (n + 1 < len)
			out[n++] = (char)data[*off];
		(*off)++;
	}
	out[n] = '\0';
	if (*off < size)
		(*off)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char addr[256], usec[64], pid[64];
	struct sockaddr_un sun;
	socklen_t len;
	size_t off = 0;

	fuzz_line(data, size, &off, addr, sizeof addr);
	fuzz_line(data, size, &off, usec, sizeof usec);
	fuzz_line(data, size, &off, pid, sizeof pid);
	if (sdnotify_parse_addr(addr, &sun, &len) == 0) {
		if (len > sizeof sun || len <= offsetof(struct sockaddr_un, sun_path) + 1)
			abort();
		if ((addr[0] == '@') != (sun.sun_path[0] == '\0'))
			abort();
	}
	if (sdnotify_parse_watchdog(usec, pid[0] != '\0' ? pid : NULL, 1234) != 0 &&
	    (usec[0] < '0' || usec[0] > '9'))
		abort();
	return 0;
}
