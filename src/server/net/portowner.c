/*
 * Which process holds a local port: /proc/net names the socket's inode, a
 * process's /proc/PID/fd links name the inodes it holds ("socket:[INODE]").
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/portowner.h"

/* Skips spaces, then hex digits; returns how many digits were read. */
static size_t
portowner_hex(const char **p, unsigned long long *v, size_t max)
{
	size_t n = 0;

	while (**p == ' ')
		(*p)++;
	*v = 0;
	while (n < max && isxdigit((unsigned char)**p)) {
		*v = *v * 16 +
		    (unsigned)(isdigit((unsigned char)**p)
			    ? **p - '0'
			    : tolower((unsigned char)**p) - 'a' + 10);
		(*p)++;
		n++;
	}
	return n;
}

/* Skips one whitespace-separated field. */
static void
portowner_skip(const char **p)
{
	while (**p == ' ')
		(*p)++;
	while (**p != ' ' && **p != '\0')
		(*p)++;
}

/* "sl: LOCAL:PORT REMOTE:PORT ST tx:rx tr:when retrnsmt uid timeout inode ..." */
int
portowner_parse_line(const char *line, uint16_t *port, unsigned *state, unsigned long *inode)
{
	unsigned long long v, st, ino;
	const char *p = line;
	size_t n;
	int i;

	if (portowner_hex(&p, &v, 8) == 0 || *p++ != ':')
		return -1;
	n = portowner_hex(&p, &v, 32);
	if ((n != 8 && n != 32) || *p++ != ':' || portowner_hex(&p, &v, 4) != 4 || *p != ' ')
		return -1;
	*port = (uint16_t)v;
	portowner_skip(&p); /* remote address */
	if (portowner_hex(&p, &st, 2) != 2 || *p != ' ')
		return -1;
	for (i = 0; i < 5; i++) /* tx:rx, tr:when, retrnsmt, uid, timeout */
		portowner_skip(&p);
	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (ino = 0; isdigit((unsigned char)*p) && ino <= UINT32_MAX; p++)
		ino = ino * 10 + (unsigned)(*p - '0');
	if ((*p != ' ' && *p != '\0' && *p != '\n') || ino > UINT32_MAX)
		return -1;
	*state = (unsigned)st;
	*inode = (unsigned long)ino;
	return 0;
}

/* The inode of a socket on port in one /proc/net table, or 0. */
static unsigned long
portowner_inode(const char *table, bool tcp, uint16_t port)
{
	char line[512];
	unsigned long inode, found = 0;
	unsigned state;
	uint16_t p;
	FILE *f;

	if ((f = fopen(table, "re")) == NULL)
		return 0;
	while (found == 0 && fgets(line, sizeof line, f) != NULL) {
		if (portowner_parse_line(line, &p, &state, &inode) != 0 || p != port || inode == 0)
			continue;
		if (!tcp || state == PORTOWNER_TCP_LISTEN)
			found = inode;
	}
	fclose(f);
	return found;
}

/* True when process pid holds a descriptor of socket inode. */
static bool
portowner_holds(long pid, const char *want)
{
	char path[64], link[64];
	struct dirent *de;
	bool found = false;
	ssize_t n;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%ld/fd", pid);
	if ((d = opendir(path)) == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		if (snprintf(path, sizeof path, "/proc/%ld/fd/%.20s", pid, de->d_name) >=
		    (int)sizeof path)
			continue;
		n = readlink(path, link, sizeof link - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

static void
portowner_comm(long pid, char *comm, size_t commlen)
{
	char path[64];
	FILE *f;

	comm[0] = '\0';
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fgets(comm, (int)commlen, f) == NULL)
		comm[0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

int
portowner_find(bool tcp, uint16_t port, pid_t *pid, char *comm, size_t commlen)
{
	static const char *const tables[2][2] = {{"/proc/net/udp", "/proc/net/udp6"},
	    {"/proc/net/tcp", "/proc/net/tcp6"}};
	char want[40];
	unsigned long inode = 0;
	struct dirent *de;
	size_t i;
	DIR *d;
	int rc = -1;

	for (i = 0; i < 2 && inode == 0; i++)
		inode = portowner_inode(tables[tcp][i], tcp, port);
	if (inode == 0 || (d = opendir("/proc")) == NULL)
		return -1;
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	while (rc != 0 && (de = readdir(d)) != NULL) {
		char *end;
		long p = strtol(de->d_name, &end, 10);

		if (!isdigit((unsigned char)de->d_name[0]) || *end != '\0' || p <= 0 ||
		    !portowner_holds(p, want))
			continue;
		*pid = (pid_t)p;
		portowner_comm(p, comm, commlen);
		rc = 0;
	}
	closedir(d);
	return rc;
}
