/* Capacity: the smaller of the free descriptors and the relay ports. */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "turnpike/capacity.h"
#include "unit.h"

static void
test_compute(void)
{
	struct capacity c = {.nofile = 20000, .fds_open = 36, .ports = 2 * 16384};

	capacity_compute(&c);
	CHECKM(c.by_fds == 20000 - 36 - CAPACITY_FD_SPARE && c.allocations == c.by_fds,
	    "descriptors bound it when ports are plenty");
	CHECKM(c.streams == c.by_fds / 2,
	    "TCP and TLS clients get half of the free descriptors (issue 17)");
	c.ports = 200;
	capacity_compute(&c);
	CHECKM(c.allocations == 200, "ports bound it when descriptors are plenty");
	c.nofile = 50;
	capacity_compute(&c);
	CHECKM(c.by_fds == 0 && c.allocations == 0, "fewer descriptors than the reserve: none");
	CHECKM(c.streams == 1, "... and one stream client, so the limit is never 0 (off)");
	c = (struct capacity){.nofile = 4096, .fds_open = 30, .ports = 63001, .shared = true};
	capacity_compute(&c);
	CHECKM(c.allocations == 63001 && c.streams == c.by_fds / 2,
	    "relay-sockets=shared: the ports bound it, descriptors only the stream clients");
}

static void
test_open_fds(void)
{
	uint64_t before = capacity_open_fds(1024);
	int fd = open("/dev/null", O_RDONLY);

	CHECK(fd != -1);
	CHECKM(before >= 3, "stdin, stdout and stderr at least");
	CHECKM(capacity_open_fds(1024) == before + 1, "one more descriptor counted");
	close(fd);
	CHECKM(capacity_open_fds(1024) == before, "and one less once closed");
}

int
main(void)
{
	test_compute();
	test_open_fds();
	return unit_done();
}
