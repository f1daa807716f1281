/*
 * Unit tests for the sd_notify protocol: NOTIFY_SOCKET addresses (path and
 * abstract), WATCHDOG_USEC/WATCHDOG_PID, the RELOADING message, and datagrams
 * received on a real unix socket.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "turnpike/sdnotify.h"
#include "unit.h"

/* Receives one datagram on fd into buf; "" when none is waiting. */
static const char *
recv_one(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	buf[n > 0 ? (size_t)n : 0] = '\0';
	return buf;
}

static void
test_parse(void)
{
	struct sockaddr_un sun;
	socklen_t len;
	char buf[64], longpath[200];

	CHECK(sdnotify_parse_addr("/run/systemd/notify", &sun, &len) == 0 &&
	    sun.sun_family == AF_UNIX && strcmp(sun.sun_path, "/run/systemd/notify") == 0 &&
	    len == offsetof(struct sockaddr_un, sun_path) + sizeof "/run/systemd/notify");
	CHECKM(sdnotify_parse_addr("@sd-notify", &sun, &len) == 0 && sun.sun_path[0] == '\0' &&
		memcmp(sun.sun_path + 1, "sd-notify", 9) == 0 &&
		len == offsetof(struct sockaddr_un, sun_path) + 10,
	    "@name is abstract: a leading NUL and no trailing one");
	CHECK(sdnotify_parse_addr("relative/path", &sun, &len) == -1);
	CHECK(sdnotify_parse_addr("", &sun, &len) == -1);
	CHECK(sdnotify_parse_addr("@", &sun, &len) == -1);
	CHECK(sdnotify_parse_addr(NULL, &sun, &len) == -1);
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[0] = '/';
	longpath[sizeof longpath - 1] = '\0';
	CHECKM(sdnotify_parse_addr(longpath, &sun, &len) == -1, "a path too long is refused");

	CHECK(sdnotify_parse_watchdog("30000000", NULL, 42) == 30000000);
	CHECK(sdnotify_parse_watchdog("30000000", "42", 42) == 30000000);
	CHECKM(sdnotify_parse_watchdog("30000000", "43", 42) == 0,
	    "WATCHDOG_PID of another process: no watchdog");
	CHECK(sdnotify_parse_watchdog(NULL, NULL, 42) == 0);
	CHECK(sdnotify_parse_watchdog("-5", NULL, 42) == 0);
	CHECK(sdnotify_parse_watchdog("12x", NULL, 42) == 0);
	CHECK(sdnotify_parse_watchdog("99999999999999999999999", NULL, 42) == 0);
	CHECK(sdnotify_parse_watchdog("30", "4x2", 42) == 0);

	CHECK(sdnotify_format_reloading(buf, sizeof buf, 1234567) == 0 &&
	    strcmp(buf, "RELOADING=1\nMONOTONIC_USEC=1234567") == 0);
	CHECK(sdnotify_format_reloading(buf, 10, 1234567) == -1);
}

static void
test_send(void)
{
	char dir[] = "/tmp/tp-test-sdnotify-XXXXXX", path[128], buf[256];
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	unsetenv("NOTIFY_SOCKET");
	CHECKM(sdnotify_send("READY=1") == 0, "no NOTIFY_SOCKET: nothing is sent");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(fd != -1 && sdnotify_parse_addr(path, &sun, &len) == 0 &&
	    bind(fd, (struct sockaddr *)&sun, len) == 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK(sdnotify_ready("serving") == 1 &&
	    strcmp(recv_one(fd, buf, sizeof buf), "READY=1\nSTATUS=serving") == 0);
	CHECK(sdnotify_reloading() == 1 &&
	    strncmp(recv_one(fd, buf, sizeof buf), "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	CHECK(sdnotify_stopping() == 1 && strcmp(recv_one(fd, buf, sizeof buf), "STOPPING=1") == 0);
	CHECK(sdnotify_watchdog() == 1 && strcmp(recv_one(fd, buf, sizeof buf), "WATCHDOG=1") == 0);
	setenv("WATCHDOG_USEC", "2000000", 1);
	unsetenv("WATCHDOG_PID");
	CHECK(sdnotify_watchdog_usec() == 2000000);
	snprintf(buf, sizeof buf, "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", buf, 1);
	CHECK(sdnotify_watchdog_usec() == 0);
	setenv("NOTIFY_SOCKET", "not-absolute", 1);
	CHECKM(sdnotify_send("READY=1") == -1, "an invalid NOTIFY_SOCKET is an error");
	snprintf(buf, sizeof buf, "%s/nobody", dir);
	setenv("NOTIFY_SOCKET", buf, 1);
	CHECKM(sdnotify_send("READY=1") == -1, "a socket nobody listens on is an error");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_parse();
	test_send();
	return unit_done();
}
