/* Relay port steering in a build without libbpf or a BPF compiler: every call fails. */
#include <errno.h>
#include <stddef.h>

#include "turnpike/cause.h"
#include "turnpike/sklookup.h"

bool
sklookup_built(void)
{
	return false;
}

int
sklookup_open(struct sklookup **skp, char **cause)
{
	*skp = NULL;
	return cause_fail(cause,
	    "built without the BPF programs (libbpf, bpftool or clang -target bpf missing at "
	    "configure time)");
}

int
sklookup_add_sock(struct sklookup *sk, int fd, uint32_t *slot, char **cause)
{
	return cause_fail(cause, "built without the BPF programs");
}

int
sklookup_steer(struct sklookup *sk, const struct sockaddr *relay, uint32_t slot)
{
	errno = ENOSYS;
	return -1;
}

void
sklookup_unsteer(struct sklookup *sk, const struct sockaddr *relay)
{
}

int
sklookup_prog_fd(const struct sklookup *sk)
{
	return -1;
}

void
sklookup_free(struct sklookup *sk)
{
}
