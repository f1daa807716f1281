/* The fast path in a build without libbpf or a BPF compiler: every call fails. */
#include <stddef.h>

#include "turnpike/cause.h"
#include "turnpike/fastpath.h"

bool
fastpath_built(void)
{
	return false;
}

int
fastpath_open(struct fastpath **fpp, char **cause)
{
	*fpp = NULL;
	return cause_fail(cause,
	    "built without the BPF fast path (libbpf, bpftool or clang -target bpf missing at "
	    "configure time)");
}

int
fastpath_attach(struct fastpath *fp, unsigned int ifindex, char **cause)
{
	return cause_fail(cause, "built without the BPF fast path");
}

int
fastpath_attach_all(struct fastpath *fp, char **cause)
{
	return cause_fail(cause, "built without the BPF fast path");
}

int
fastpath_attached(const struct fastpath *fp)
{
	return 0;
}

int
fastpath_add(struct fastpath *fp, struct fastpath_binding *b, char **cause)
{
	return cause_fail(cause, "built without the BPF fast path");
}

void
fastpath_remove(struct fastpath *fp, const struct fastpath_binding *b)
{
}

int
fastpath_read(struct fastpath *fp, const struct fastpath_binding *b, struct fastpath_counters *c)
{
	return -1;
}

int
fastpath_prog_fd(const struct fastpath *fp)
{
	return -1;
}

void
fastpath_free(struct fastpath *fp)
{
}
