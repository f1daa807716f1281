/* turnpiked: parse the configuration, open the log, run the server. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "turnpike/config.h"
#include "turnpike/log.h"
#include "turnpike/options.h"
#include "turnpike/server.h"

/* -h, --version, --dump-options: print and exit. */
static int
main_action(const struct config *cfg)
{
	if (cfg->help) {
		options_usage(stdout, "turnpiked");
		return 0;
	}
	if (cfg->version) {
		printf("turnpiked %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (options_dump(stdout, cfg->dump_options) != 0) {
		fprintf(stderr,
		    "turnpiked: --dump-options: unknown format '%s' (names, man, man5 or conf)\n",
		    cfg->dump_options);
		return 1;
	}
	return 0;
}

static const char *
main_log_target(const struct config *cfg)
{
	if (cfg->syslog)
		return "syslog";
	if (strcmp(cfg->log_file, "-") == 0)
		return "stdout";
	return cfg->log_file;
}

/* A startup error goes to the log and, unless the log is stderr, to stderr. */
static void
main_error(const struct config *cfg, const char *cause)
{
	if (cause == NULL)
		cause = "out of memory";
	log_error("%s", cause);
	if (strcmp(main_log_target(cfg), "stderr") != 0)
		fprintf(stderr, "turnpiked: %s\n", cause);
}

/* Format, facility, time stamps and level; the option table checked every value. */
static void
main_log_settings(const struct config *cfg)
{
	enum log_level level = cfg->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
	enum log_format format = LOG_FORMAT_TEXT;
	int facility;

	if (cfg->log_format != NULL && log_format_parse(cfg->log_format, &format) == 0)
		log_set_format(format);
	if (cfg->syslog_facility != NULL &&
	    log_facility_parse(cfg->syslog_facility, &facility) == 0)
		log_set_facility(facility);
	log_set_time_format(cfg->new_log_timestamp ? cfg->new_log_timestamp_format : NULL);
	if (cfg->log_min_level != NULL)
		(void)log_level_parse(cfg->log_min_level, &level);
	log_set_level(level);
}

static int
main_open_log(const struct config *cfg)
{
	const char *target = main_log_target(cfg), *cause;
	size_t i;

	main_log_settings(cfg);
	if (log_open("turnpiked", target, &cause) != 0) {
		fprintf(stderr, "turnpiked: cannot open log file %s: %s\n", target, cause);
		return -1;
	}
	log_info("turnpiked %s starting", PACKAGE_VERSION);
	if (cfg->file != NULL)
		log_info("configuration file %s", cfg->file);
	else if (!cfg->no_config_file)
		log_info("no configuration file found; using the command line");
	for (i = 0; i < cfg->nwarnings; i++)
		log_warnx("%s", cfg->warnings[i]);
	return 0;
}

static int
main_serve(const struct config *cfg)
{
	struct server *srv;
	char *cause = NULL;
	int rc;

	if (main_open_log(cfg) != 0)
		return 1;
	if (server_create(cfg, &srv, &cause) != 0) {
		main_error(cfg, cause);
		free(cause);
		log_close();
		return 1;
	}
	rc = server_run(srv);
	server_free(srv);
	log_info("turnpiked stopped");
	log_close();
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct config *cfg;
	char *cause = NULL;
	int rc;

	if (config_create(argc, (const char *const *)argv, &cfg, &cause) != 0) {
		fprintf(stderr, "turnpiked: %s\n", cause != NULL ? cause : "out of memory");
		free(cause);
		return 1;
	}
	if (cfg->help || cfg->version || cfg->dump_options != NULL)
		rc = main_action(cfg);
	else
		rc = main_serve(cfg);
	config_free(cfg);
	libevent_global_shutdown();
	return rc;
}
