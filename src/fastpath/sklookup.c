/* Loader of the relay port steering program (sklookup.h). */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "turnpike/cause.h"
#include "turnpike/sklookup.h"

#include "sklookup_maps.h"
/* The generated skeleton casts its embedded object's const away. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "src/fastpath/sklookup.skel.h"
#pragma GCC diagnostic pop

struct sklookup {
	struct sklookup_bpf *skel;
	struct bpf_link *link;
	atomic_uint next_slot;
};

bool
sklookup_built(void)
{
	return true;
}

static int
sklookup_print_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Attaches to the namespace this thread runs in. */
static int
sklookup_attach(struct sklookup *sk, char **cause)
{
	int nsfd, err;

	if ((nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		return cause_fail(cause, "cannot open /proc/self/ns/net: %s", strerror(errno));
	sk->link = bpf_program__attach_netns(sk->skel->progs.skl_lookup, nsfd);
	err = errno;
	close(nsfd);
	if (sk->link == NULL)
		return cause_fail(cause,
		    "cannot attach the sk_lookup program to the network namespace (needs "
		    "CAP_NET_ADMIN and Linux 5.9): %s",
		    strerror(err));
	return 0;
}

int
sklookup_open(struct sklookup **skp, char **cause)
{
	struct sklookup *sk;
	int err;

	*skp = NULL;
	libbpf_set_print(sklookup_print_quiet);
	if ((sk = calloc(1, sizeof *sk)) == NULL)
		return cause_fail(cause, "out of memory");
	atomic_init(&sk->next_slot, 0);
	if ((sk->skel = sklookup_bpf__open()) == NULL) {
		free(sk);
		return cause_fail(cause, "cannot open the BPF object: %s", strerror(errno));
	}
	if ((err = sklookup_bpf__load(sk->skel)) != 0) {
		sklookup_bpf__destroy(sk->skel);
		free(sk);
		return cause_fail(cause,
		    "cannot load the sk_lookup program (needs CAP_BPF and Linux 5.9): %s",
		    strerror(-err));
	}
	if (sklookup_attach(sk, cause) != 0) {
		sklookup_bpf__destroy(sk->skel);
		free(sk);
		return -1;
	}
	*skp = sk;
	return 0;
}

int
sklookup_add_sock(struct sklookup *sk, int fd, uint32_t *slot, char **cause)
{
	uint64_t value = (uint64_t)fd;
	uint32_t key = atomic_fetch_add(&sk->next_slot, 1);

	if (key >= SKL_MAX_SOCKS)
		return cause_fail(cause, "more than %d shared relay sockets", SKL_MAX_SOCKS);
	if (bpf_map_update_elem(bpf_map__fd(sk->skel->maps.skl_socks), &key, &value, BPF_ANY) != 0)
		return cause_fail(cause, "cannot add a shared relay socket: %s", strerror(errno));
	*slot = key;
	return 0;
}

/* The map's key for a relay address and port; -1 for another family. */
static int
sklookup_key(const struct sockaddr *sa, struct skl_key *key)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

	memset(key, 0, sizeof *key);
	key->family = sa->sa_family;
	if (sa->sa_family == AF_INET) {
		key->port = ntohs(sin->sin_port);
		memcpy(&key->addr[0], &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		key->port = ntohs(sin6->sin6_port);
		memcpy(key->addr, &sin6->sin6_addr, 16);
	} else {
		return -1;
	}
	return 0;
}

int
sklookup_steer(struct sklookup *sk, const struct sockaddr *relay, uint32_t slot)
{
	struct skl_key key;

	if (sklookup_key(relay, &key) != 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return bpf_map_update_elem(bpf_map__fd(sk->skel->maps.skl_ports), &key, &slot, BPF_ANY) == 0
	    ? 0
	    : -1;
}

void
sklookup_unsteer(struct sklookup *sk, const struct sockaddr *relay)
{
	struct skl_key key;

	if (sklookup_key(relay, &key) == 0)
		(void)bpf_map_delete_elem(bpf_map__fd(sk->skel->maps.skl_ports), &key);
}

int
sklookup_prog_fd(const struct sklookup *sk)
{
	return bpf_program__fd(sk->skel->progs.skl_lookup);
}

void
sklookup_free(struct sklookup *sk)
{
	if (sk == NULL)
		return;
	bpf_link__destroy(sk->link);
	sklookup_bpf__destroy(sk->skel);
	free(sk);
}
