/*
 * The sd_notify(3) datagram protocol without libsystemd: a socket per message,
 * as the messages are rare (start, reload, stop, a watchdog ping a few times
 * a minute).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/sdnotify.h"

#define SDNOTIFY_STATE_MAX 512

int
sdnotify_parse_addr(const char *value, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n;

	if (value == NULL || (value[0] != '/' && value[0] != '@'))
		return -1;
	n = strlen(value);
	if (n < 2 || n >= sizeof sun->sun_path)
		return -1;
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, value, n);
	if (value[0] == '@') {
		sun->sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* A decimal number without sign, space or overflow; -1 otherwise. */
static int
sdnotify_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

uint64_t
sdnotify_parse_watchdog(const char *usec, const char *pid, pid_t self)
{
	uint64_t v, p;

	if (sdnotify_parse_u64(usec, &v) != 0)
		return 0;
	if (pid != NULL && (sdnotify_parse_u64(pid, &p) != 0 || p != (uint64_t)self))
		return 0;
	return v;
}

int
sdnotify_format_reloading(char *buf, size_t len, uint64_t mono_usec)
{
	int n = snprintf(buf, len, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, mono_usec);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
sdnotify_send(const char *state)
{
	const char *env = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	ssize_t n;
	int fd, saved;

	if (env == NULL)
		return 0;
	if (sdnotify_parse_addr(env, &sun, &len) != 0) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
	saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(state) ? 1 : -1;
}

int
sdnotify_ready(const char *status)
{
	char buf[SDNOTIFY_STATE_MAX];

	if (status == NULL)
		return sdnotify_send("READY=1");
	snprintf(buf, sizeof buf, "READY=1\nSTATUS=%s", status);
	return sdnotify_send(buf);
}

int
sdnotify_reloading(void)
{
	char buf[64];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (sdnotify_format_reloading(buf, sizeof buf,
		(uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000) != 0)
		return -1;
	return sdnotify_send(buf);
}

int
sdnotify_stopping(void)
{
	return sdnotify_send("STOPPING=1");
}

int
sdnotify_watchdog(void)
{
	return sdnotify_send("WATCHDOG=1");
}

uint64_t
sdnotify_watchdog_usec(void)
{
	return sdnotify_parse_watchdog(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid());
}
