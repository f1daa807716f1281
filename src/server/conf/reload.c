/*
 * Reading the configuration again (reload.h): parse, validate, then put back
 * the running value of every option a reload cannot apply.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/config.h"
#include "turnpike/log.h"
#include "turnpike/options.h"
#include "turnpike/reload.h"

/* Rows a reload never compares: command-line actions and ignored options. */
#define RELOAD_SKIP (OPTION_CMDLINE | OPTION_UNIMPL | OPTION_NOOP | OPTION_DEPRECATED)

/*
 * The start's command line, with the file found by the search named
 * explicitly: a reload reads the same file even if another one appeared.
 */
static int
reload_parse(const struct config *cur, const struct reload_args *args, struct config **out,
    char **cause)
{
	const char **argv;
	int argc = 0, i, rc;

	if (cur->config_file != NULL || cur->no_config_file || cur->file == NULL)
		return config_create(args->argc, args->argv, out, cause);
	if ((argv = calloc((size_t)args->argc + 3, sizeof *argv)) == NULL)
		return -1;
	argv[argc++] = args->argv[0];
	argv[argc++] = "-c";
	argv[argc++] = cur->file;
	for (i = 1; i < args->argc; i++)
		argv[argc++] = args->argv[i];
	rc = config_create(argc, argv, out, cause);
	free(argv);
	return rc;
}

static int
reload_note(FILE *f, const char *name)
{
	log_warnx("option %s changed: needs restart", name);
	return fprintf(f, "%s ", name) < 0 ? -1 : 0;
}

/* TLS listeners come and go with cert and no-tls: a restart. */
static int
reload_keep_tls(const struct config *cur, struct config *cfg, FILE *f)
{
	static const char *const rows[] = {"no-tls", "cert", "pkey"};
	size_t i;

	if (cfg->tls == cur->tls)
		return 0;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct option_entry *o = options_find(rows[i]);

		if (o != NULL && !config_option_equal(o, cur, cfg) &&
		    (reload_note(f, o->name) != 0 || config_option_copy(o, cfg, cur) != 0))
			return -1;
	}
	cfg->tls = cur->tls;
	return 0;
}

static int
reload_keep(const struct config *cur, struct config *cfg, FILE *f)
{
	const struct option_entry *o;
	size_t i;

	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		if ((o->flags & (RELOAD_SKIP | OPTION_RELOADABLE)) != 0 ||
		    config_option_equal(o, cur, cfg))
			continue;
		if (reload_note(f, o->name) != 0 || config_option_copy(o, cfg, cur) != 0)
			return -1;
	}
	return reload_keep_tls(cur, cfg, f);
}

int
reload_config(const struct config *cur, const struct reload_args *args, struct config **out,
    char **restart, char **cause)
{
	struct config *cfg = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	*out = NULL;
	*restart = NULL;
	*cause = NULL;
	if (reload_parse(cur, args, &cfg, cause) != 0)
		return -1;
	if ((f = open_memstream(restart, &len)) == NULL) {
		config_free(cfg);
		return -1;
	}
	rc = reload_keep(cur, cfg, f);
	if (fclose(f) != 0 || rc != 0) {
		config_free(cfg);
		free(*restart);
		*restart = NULL;
		return -1;
	}
	if (len > 0)
		(*restart)[len - 1] = '\0';
	*out = cfg;
	return 0;
}
