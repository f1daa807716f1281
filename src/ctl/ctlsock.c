/*
 * turnpikectl --control-socket: sends the version line and one command to a
 * running turnpiked, prints the answer lines and exits by the final line.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "turnpike/controlproto.h"
#include "turnpike/ctlsock.h"

#define CTLSOCK_OK 0
#define CTLSOCK_ERROR 1
#define CTLSOCK_USAGE 2

/* The commands this turnpikectl knows, with their argument counts. */
static const struct {
	const char *name;
	int minargs, maxargs;
} ctlsock_cmds[] = {
    {"status", 0, 0},
    {"loglevel", 1, 1},
    {"sessions", 0, 2},
    {"kill", 1, 2},
    {"reload", 0, 0},
    {"drain", 0, 0},
};

bool
ctlsock_is_invocation(int argc, char **argv)
{
	return argc > 1 && strcmp(argv[1], "--control-socket") == 0;
}

void
ctlsock_usage(FILE *f)
{
	fputs("control commands (a running turnpiked with control-socket set):\n"
	      "  turnpikectl --control-socket PATH status\n"
	      "  turnpikectl --control-socket PATH loglevel LEVEL\n"
	      "  turnpikectl --control-socket PATH sessions [--user USER] [--json]\n"
	      "  turnpikectl --control-socket PATH kill SESSION | kill --user USER\n"
	      "  turnpikectl --control-socket PATH reload\n"
	      "  turnpikectl --control-socket PATH drain\n",
	    f);
}

static int
ctlsock_check(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < sizeof ctlsock_cmds / sizeof ctlsock_cmds[0]; i++) {
		if (strcmp(argv[0], ctlsock_cmds[i].name) == 0)
			return argc - 1 >= ctlsock_cmds[i].minargs &&
				argc - 1 <= ctlsock_cmds[i].maxargs
			    ? 0
			    : -1;
	}
	return -1;
}

static int
ctlsock_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "turnpikectl: control socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		fprintf(stderr, "turnpikectl: cannot connect to %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* The version line and the command line, words joined by spaces. */
static int
ctlsock_send(FILE *f, int argc, char **argv)
{
	int i;

	fprintf(f, "%s %d\n", CONTROL_HELLO, CONTROL_VERSION);
	for (i = 0; i < argc; i++)
		fprintf(f, "%s%s", i > 0 ? " " : "", argv[i]);
	fputc('\n', f);
	return fflush(f) == 0 ? 0 : -1;
}

static void
ctlsock_json_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* "A,B" (or "-": none) as a JSON array of strings. */
static void
ctlsock_json_list(char *val)
{
	char *item, *save = NULL;
	bool first = true;

	putchar('[');
	if (strcmp(val, "-") == 0)
		val = (char *)(uintptr_t) "";
	for (item = strtok_r(val, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		fputs(first ? "" : ", ", stdout);
		ctlsock_json_string(item);
		first = false;
	}
	putchar(']');
}

/* "session ID key value ..." as a JSON object; numbers stay numbers, peer-addrs a list. */
static void
ctlsock_json_line(char *line, bool first)
{
	char *key, *val, *save = NULL;

	line[strcspn(line, "\n")] = '\0';
	printf("%s\n  {", first ? "" : ",");
	key = strtok_r(line, " ", &save);
	while (key != NULL && (val = strtok_r(NULL, " ", &save)) != NULL) {
		ctlsock_json_string(strcmp(key, "session") == 0 ? "id" : key);
		putchar(':');
		if (strcmp(key, "peer-addrs") == 0)
			ctlsock_json_list(val);
		else if (strspn(val, "0123456789") == strlen(val) && strcmp(key, "session") != 0)
			fputs(val, stdout);
		else
			ctlsock_json_string(val);
		key = strtok_r(NULL, " ", &save);
		if (key != NULL)
			fputs(", ", stdout);
	}
	putchar('}');
}

/* Prints answer lines; the final "ok" or "error: ..." decides the status. */
static int
ctlsock_answer(FILE *f, bool json)
{
	char line[CONTROL_LINE_MAX + 2];
	bool first = true;

	if (json)
		putchar('[');
	while (fgets(line, sizeof line, f) != NULL) {
		if (strcmp(line, "ok\n") == 0) {
			if (json)
				puts(first ? "]" : "\n]");
			return CTLSOCK_OK;
		}
		if (strncmp(line, "error: ", 7) == 0) {
			fprintf(stderr, "turnpikectl: %s", line + 7);
			return CTLSOCK_ERROR;
		}
		if (json)
			ctlsock_json_line(line, first);
		else
			fputs(line, stdout);
		first = false;
	}
	fputs("turnpikectl: the daemon closed the connection without an answer\n", stderr);
	return CTLSOCK_ERROR;
}

int
ctlsock_main(int argc, char **argv)
{
	bool json = false;
	FILE *f;
	int fd, rc;

	/* --json, last: sessions as a JSON array */
	if (argc > 4 && strcmp(argv[argc - 1], "--json") == 0 && strcmp(argv[3], "sessions") == 0) {
		json = true;
		argc--;
	}
	if (argc < 4 || ctlsock_check(argc - 3, argv + 3) != 0) {
		ctlsock_usage(stderr);
		return CTLSOCK_USAGE;
	}
	if ((fd = ctlsock_connect(argv[2])) == -1)
		return CTLSOCK_ERROR;
	if ((f = fdopen(fd, "r+")) == NULL) {
		close(fd);
		return CTLSOCK_ERROR;
	}
	if (ctlsock_send(f, argc - 3, argv + 3) != 0) {
		fprintf(stderr, "turnpikectl: cannot send to %s\n", argv[2]);
		fclose(f);
		return CTLSOCK_ERROR;
	}
	rc = ctlsock_answer(f, json);
	fclose(f);
	return rc;
}
