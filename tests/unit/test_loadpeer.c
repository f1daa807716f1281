/*
 * The echo peer of turnpike-bench load on loopback: it echoes what it reads,
 * and counts what its full receive buffer dropped (the generator's own loss).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "turnpike/loadpeer.h"
#include "unit.h"

#define SENT 2000

int
main(void)
{
	struct sockaddr_in ip, me;
	struct loadpeer p;
	socklen_t sl = sizeof(me);
	uint8_t d[100], back[200];
	int fd, small = 4096, i, got = 0;
	unsigned int n;
	ssize_t r;

	memset(&ip, 0, sizeof(ip));
	ip.sin_family = AF_INET;
	ip.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(loadpeer_open(&p, (struct sockaddr *)&ip, NULL, NULL) == 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(fd != -1 && bind(fd, (struct sockaddr *)&ip, sizeof(ip)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&me, &sl) == 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){8 << 20}, sizeof(int));

	/* A few datagrams with room to spare: all echoed, none dropped. */
	memset(d, 'x', sizeof(d));
	for (i = 0; i < 10; i++)
		(void)sendto(fd, d, sizeof(d), 0, (struct sockaddr *)&p.addr, sizeof(ip));
	n = loadpeer_pump(&p);
	CHECK(n == 10 && p.rx == 10 && p.tx == 10 && p.drops == 0);
	while ((r = recv(fd, back, sizeof(back), MSG_DONTWAIT)) > 0)
		got += r == (ssize_t)sizeof(d) && memcmp(back, d, sizeof(d)) == 0;
	CHECK(got == 10);

	/*
	 * A receive buffer of a few datagrams, not read while SENT arrive: the
	 * kernel drops the rest, and the next datagram read says how many.
	 */
	CHECK(setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
	for (i = 0; i < SENT; i++)
		(void)sendto(fd, d, sizeof(d), 0, (struct sockaddr *)&p.addr, sizeof(ip));
	/* Whatever the kernel still holds, then one more that carries the final count. */
	for (n = 0, i = 0; i < 3; i++) {
		usleep(20000);
		n += loadpeer_pump(&p);
	}
	CHECK(n > 0 && n < SENT);
	(void)sendto(fd, d, sizeof(d), 0, (struct sockaddr *)&p.addr, sizeof(ip));
	usleep(20000);
	CHECK(loadpeer_pump(&p) == 1);
	CHECK(p.drops > 0 && p.rx - 10 + p.drops == SENT + 1);

	close(fd);
	loadpeer_close(&p);
	return unit_done();
}
