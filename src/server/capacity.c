/* The allocations the process can hold (capacity.h). */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "turnpike/capacity.h"

/* Without /proc: at most this many descriptors are probed one by one. */
#define CAPACITY_PROBE_MAX 65536

void
capacity_compute(struct capacity *c)
{
	uint64_t used = c->fds_open + CAPACITY_FD_SPARE;

	c->by_fds = c->nofile > used ? c->nofile - used : 0;
	c->allocations = c->by_fds < c->ports && !c->shared ? c->by_fds : c->ports;
	c->streams = c->by_fds / 2 > 0 ? c->by_fds / 2 : 1;
}

/* Entries of /proc/self/fd less the directory's own descriptor; -1 without /proc. */
static int64_t
capacity_proc_fds(void)
{
	struct dirent *e;
	int64_t n = 0;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

uint64_t
capacity_open_fds(uint64_t limit)
{
	int64_t n = capacity_proc_fds();
	uint64_t fd, open = 0;

	if (n >= 0)
		return (uint64_t)n;
	for (fd = 0; fd < limit && fd < CAPACITY_PROBE_MAX; fd++)
		open += fcntl((int)fd, F_GETFD) != -1;
	return open;
}
