/* Reading the configuration again: reloadable options change, the others keep their value. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/config.h"
#include "turnpike/reload.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_reload.XXXXXX";
static char path[512];

static void
write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static const char *const argv_file[] = {"turnpiked", "-c", path, "--realm", "cmdline"};
static const struct reload_args args = {5, argv_file};

static struct config *
start(const char *text)
{
	struct config *cfg = NULL;
	char *cause = NULL;

	write_conf(text);
	if (config_create(args.argc, args.argv, &cfg, &cause) != 0) {
		printf("# %s\n", cause);
		abort();
	}
	return cfg;
}

static void
test_reloadable_and_restart(void)
{
	struct config *cur, *cfg = NULL;
	char *restart = NULL, *cause = NULL;

	cur = start("user=alice:a\nmin-port=40000\nrelay-threads=2\nrealm=file\n"
		    "max-allocate-lifetime=1200\n");
	write_conf("user=bob:b\nmin-port=40002\nrelay-threads=1\nrealm=file2\n"
		   "max-allocate-lifetime=900\n");
	CHECK(reload_config(cur, &args, &cfg, &restart, &cause) == 0 && cfg != NULL);
	if (cfg == NULL)
		goto done;
	CHECKM(strcmp(restart, "min-port relay-threads") == 0,
	    "the changed options that need a restart are named, in table order");
	CHECKM(cfg->min_port == 40000 && cfg->relay_threads == 2,
	    "  ... and keep their running values");
	CHECKM(cfg->users.n == 1 && strcmp(cfg->users.v[0], "bob:b") == 0 &&
		cfg->max_allocate_lifetime == 900,
	    "reloadable options take the file's new values");
	CHECKM(strcmp(cfg->realm, "cmdline") == 0, "the command line still overrides the file");
done:
	free(restart);
	free(cause);
	config_free(cfg);
	config_free(cur);
}

static void
test_refused(void)
{
	struct config *cur, *cfg = NULL;
	char *restart = NULL, *cause = NULL;
	char want[600];

	cur = start("user=alice:a\n");
	write_conf("user=alice:a\n\nmax-allocate-lifetime=forever\n");
	CHECKM(reload_config(cur, &args, &cfg, &restart, &cause) == -1 && cfg == NULL &&
		restart == NULL,
	    "a bad value refuses the reload");
	snprintf(want, sizeof want, "%s:3: max-allocate-lifetime", path);
	CHECKM(cause != NULL && strstr(cause, want) != NULL, "  ... naming file:line: option");
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
	config_free(cur);
}

static void
test_tls_needs_restart(void)
{
	struct config *cur, *cfg = NULL;
	char *restart = NULL, *cause = NULL;

	cur = start("user=alice:a\n");
	write_conf("user=alice:a\ncert=/x.pem\npkey=/x.key\n");
	CHECK(reload_config(cur, &args, &cfg, &restart, &cause) == 0 && cfg != NULL);
	if (cfg != NULL) {
		CHECKM(strcmp(restart, "cert pkey") == 0 && !cfg->tls && cfg->cert == NULL &&
			cfg->pkey == NULL,
		    "TLS listeners turned on by cert and pkey need a restart: none configured");
	}
	free(restart);
	free(cause);
	config_free(cfg);
	config_free(cur);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(path, sizeof path, "%s/t.conf", tmpdir);
	test_reloadable_and_restart();
	test_refused();
	test_tls_needs_restart();
	unlink(path);
	rmdir(tmpdir);
	return unit_done();
}
