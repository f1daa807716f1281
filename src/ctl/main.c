/* turnpikectl: the admin tool. A stub until the control socket exists. */
#include "config.h"

#include <stdio.h>
#include <string.h>

static void
ctl_usage(FILE *f)
{
	fputs("usage: turnpikectl command [arguments]\n"
	      "       turnpikectl --help | --version\n"
	      "\n"
	      "No commands exist yet: the control socket and the user commands\n"
	      "come in a later release.\n",
	    f);
}

static int
ctl_help(void)
{
	ctl_usage(stdout);
	return 0;
}

static int
ctl_version(void)
{
	printf("turnpikectl %s\n", PACKAGE_VERSION);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(void);
} ctl_commands[] = {
    {"help", ctl_help},
    {"--help", ctl_help},
    {"-h", ctl_help},
    {"--version", ctl_version},
    {"version", ctl_version},
};

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		ctl_usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++) {
		if (strcmp(argv[1], ctl_commands[i].name) == 0)
			return ctl_commands[i].run();
	}
	fprintf(stderr, "turnpikectl: unknown command '%s'\n", argv[1]);
	ctl_usage(stderr);
	return 2;
}
