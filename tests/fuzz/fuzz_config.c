/*
 * Fuzz target for the configuration file parser: the input is the file text.
 * A parse either fails with a message or yields a configuration that passed
 * validation; nothing leaks either way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "turnpike/config.h"
#include "turnpike/confshow.h"
#include "turnpike/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check(const struct config *cfg)
{
	size_t i;

	if (cfg->min_port > cfg->max_port || cfg->listening_ip.n == 0 || cfg->relay_threads < 0 ||
	    cfg->relay_threads > 128)
		abort();
	if (cfg->tls && (cfg->cert == NULL || cfg->pkey == NULL))
		abort();
	if (cfg->config_file != NULL || cfg->help || cfg->dump_options != NULL)
		abort(); /* command-line-only options never come from a file */
	for (i = 0; i < cfg->nwarnings; i++) {
		if (cfg->warnings[i] == NULL)
			abort();
	}
	if (cfg->check_config)
		abort();
	for (i = 0; i < options_count; i++) {
		const struct config_origin *org = config_origin_of(cfg, &options_table[i]);

		/* Text alone: every value is a default or from a line of the file. */
		if (org->source == CONFIG_SOURCE_CMDLINE ||
		    (org->source == CONFIG_SOURCE_FILE) != (org->line > 0))
			abort();
	}
}

/* The --check-config printer runs over every configuration that loads. */
static void
fuzz_print(const struct config *cfg)
{
	static FILE *devnull;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	confshow_print(devnull, cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	char *cause = NULL;

	if (config_create_text("fuzz.conf", (const char *)data, size, &cfg, &cause) == 0) {
		fuzz_check(cfg);
		fuzz_print(cfg);
		config_free(cfg);
	} else {
		if (cause == NULL)
			abort();
		free(cause);
	}
	return 0;
}
