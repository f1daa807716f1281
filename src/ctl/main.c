/*
 * turnpikectl: the admin tool. Database commands ("user add ...") and coturn's
 * turnadmin flags work on the credential store; --control-socket PATH talks to
 * a running turnpiked.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "turnpike/ctlsock.h"
#include "turnpike/dbcmd.h"
#include "turnpike/doctor.h"
#include "turnpike/fleetcmd.h"
#include "turnpike/store.h"
#include "turnpike/turnadmin.h"

static void
ctl_usage(FILE *f)
{
	fputs("usage: turnpikectl [--db PATH] [--json] command [arguments]\n"
	      "       turnpikectl --help | --version\n"
	      "       turnpikectl --control-socket PATH command [arguments]\n"
	      "       turnpikectl --fleet-redis CONNSTRING command [arguments]\n"
	      "\n",
	    f);
	dbcmd_usage(f);
	fputc('\n', f);
	ctlsock_usage(f);
	fputc('\n', f);
	fleetcmd_usage(f);
	fputc('\n', f);
	doctor_usage(f);
	fputc('\n', f);
	turnadmin_usage(f);
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
	static const enum store_kind kinds[] = {STORE_SQLITE, STORE_POSTGRES, STORE_MYSQL,
	    STORE_REDIS};
	size_t i;

	printf("turnpikectl %s\nstore engines:", PACKAGE_VERSION);
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (store_kind_built(kinds[i]))
			printf(" %s", store_kind_name(kinds[i]));
	}
	putchar('\n');
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
		return DBCMD_USAGE;
	}
	for (i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++) {
		if (strcmp(argv[1], ctl_commands[i].name) == 0)
			return ctl_commands[i].run();
	}
	if (doctor_is_invocation(argc, argv))
		return doctor_main(argc, argv);
	if (ctlsock_is_invocation(argc, argv))
		return ctlsock_main(argc, argv);
	if (fleetcmd_is_invocation(argc, argv))
		return fleetcmd_main(argc, argv);
	if (turnadmin_is_invocation(argc, argv))
		return turnadmin_main(argc, argv);
	return dbcmd_main(argc, argv);
}
