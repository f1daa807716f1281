/*
 * Fuzz target for a line of /proc/net/{tcp,udp}{,6} (the reader behind the
 * "who holds this port" message): an accepted line has a state of two hex
 * digits and an inode that fits 32 bits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/portowner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[512];
	unsigned long inode;
	unsigned state;
	uint16_t port;
	size_t n = size < sizeof line - 1 ? size : sizeof line - 1;

	memcpy(line, data, n);
	line[n] = '\0';
	if (portowner_parse_line(line, &port, &state, &inode) == 0 &&
	    (state > 0xff || inode > UINT32_MAX))
		abort();
	return 0;
}
