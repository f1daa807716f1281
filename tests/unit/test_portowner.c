/* Unit tests for the /proc/net reader and the port holder lookup. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "turnpike/portowner.h"
#include "unit.h"

static void
test_parse(void)
{
	unsigned long inode = 0;
	unsigned state = 0;
	uint16_t port = 0;

	CHECKM(portowner_parse_line("   0: 0100007F:0D96 00000000:0000 07 00000000:00000000 "
				    "00:00000000 00000000     0        0 123456 2 "
				    "0000000000000000 0\n",
		   &port, &state, &inode) == 0,
	    "an IPv4 UDP entry parses");
	CHECK(port == 3478 && state == 7 && inode == 123456);
	CHECKM(portowner_parse_line("  12: 00000000000000000000000001000000:1B5D "
				    "00000000000000000000000000000000:0000 0A 00000000:00000000 "
				    "00:00000000 00000000   100        0 98765 1 0000000000000000 "
				    "100 0 0 10 0",
		   &port, &state, &inode) == 0,
	    "an IPv6 TCP entry parses");
	CHECK(port == 7005 && state == PORTOWNER_TCP_LISTEN && inode == 98765);
	CHECKM(portowner_parse_line("  sl  local_address rem_address   st tx_queue rx_queue tr "
				    "tm->when retrnsmt   uid  timeout inode\n",
		   &port, &state, &inode) == -1,
	    "the header line is not an entry");
	CHECKM(portowner_parse_line("   0: 0100007F:0D9 00000000:0000 07 0:0 0:0 0 0 0 1", &port,
		   &state, &inode) == -1,
	    "a port of three digits is refused");
	CHECKM(portowner_parse_line("   0: 0100007F:0D96 00000000:0000 07 0:0 0:0 0 0 0 "
				    "99999999999",
		   &port, &state, &inode) == -1,
	    "an inode past 32 bits is refused");
	CHECKM(portowner_parse_line("   0: 0100007F:0D96 00000000:0000 07 0:0 0:0 0 0 0", &port,
		   &state, &inode) == -1,
	    "a line without an inode is refused");
	CHECK(portowner_parse_line("", &port, &state, &inode) == -1);
}

/* A loopback socket of type bound to an ephemeral port (listening for TCP); -1 on failure. */
static int
bound(int type, uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, type, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 1) != 0) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_find(void)
{
	char comm[64];
	uint16_t uport = 0, tport = 0;
	pid_t pid = 0;
	int ufd = bound(SOCK_DGRAM, &uport), tfd = bound(SOCK_STREAM, &tport);

	CHECK(ufd != -1 && tfd != -1);
	CHECKM(portowner_find(false, uport, &pid, comm, sizeof comm) == 0 && pid == getpid(),
	    "the UDP port's holder is this process");
	CHECKM(strcmp(comm, "test_portowner") == 0, "... named by /proc/PID/comm");
	pid = 0;
	CHECKM(portowner_find(true, tport, &pid, comm, sizeof comm) == 0 && pid == getpid(),
	    "the listening TCP port's holder is this process");
	CHECKM(portowner_find(true, uport, &pid, comm, sizeof comm) == -1 || uport == tport,
	    "a UDP socket does not hold the TCP port");
	close(ufd);
	CHECKM(portowner_find(false, uport, &pid, comm, sizeof comm) == -1,
	    "a closed socket holds nothing");
	close(tfd);
}

int
main(void)
{
	test_parse();
	test_find();
	return unit_done();
}
