/*
 * Fuzz target for the configuration file parser: the input is the file text.
 * A parse either fails with a message or yields a configuration that passed
 * validation; nothing leaks either way.
 */
#include <stdint.h>
#include <stdlib.h>

#include "turnpike/config.h"

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
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	char *cause = NULL;

	if (config_create_text("fuzz.conf", (const char *)data, size, &cfg, &cause) == 0) {
		fuzz_check(cfg);
		config_free(cfg);
	} else {
		if (cause == NULL)
			abort();
		free(cause);
	}
	return 0;
}
