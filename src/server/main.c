/* turnpiked: parse the configuration, open the log, run the server. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "turnpike/config.h"
#include "turnpike/confshow.h"
#include "turnpike/log.h"
#include "turnpike/options.h"
#include "turnpike/server.h"
#include "turnpike/store.h"
#include "turnpike/tls.h"

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

static int
main_count_row(void *arg, const struct store_row *row)
{
	(void)row;
	(*(size_t *)arg)++;
	return 0;
}

/* --check-config with psql-userdb or mysql-userdb: connect, read, say what the store holds. */
static int
main_check_store(const struct config *cfg)
{
	struct store *st = NULL;
	char *spec = NULL, *cause = NULL;
	const char *option = cfg->psql_userdb != NULL ? "psql-userdb" : "mysql-userdb";
	size_t users = 0, secrets = 0;
	int rc;

	if (cfg->psql_userdb != NULL)
		rc = asprintf(&spec, "postgresql:%s", cfg->psql_userdb);
	else if (cfg->mysql_userdb != NULL)
		rc = asprintf(&spec, "mysql:%s", cfg->mysql_userdb);
	else
		return 0;
	if (rc == -1)
		return 1;
	rc = store_open(spec, &st, &cause);
	explicit_bzero(spec, strlen(spec));
	free(spec);
	if (rc == 0 &&
	    (store_user_list(st, NULL, main_count_row, &users, &cause) != 0 ||
		store_secret_list(st, NULL, main_count_row, &secrets, &cause) != 0))
		rc = -1;
	store_close(st);
	if (rc != 0) {
		fprintf(stderr, "turnpiked: %s: %s\n", option,
		    cause != NULL ? cause : "cannot be read");
		free(cause);
		return 1;
	}
	fprintf(stderr, "turnpiked: %s: connected; %zu users, %zu secrets\n", option, users,
	    secrets);
	return 0;
}

/*
 * --check-config: the configuration parsed and validated; the certificate and
 * key load too. Warnings go to stderr, the effective configuration to stdout.
 */
static int
main_check(const struct config *cfg)
{
	SSL_CTX *ctx;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < cfg->nwarnings; i++)
		fprintf(stderr, "turnpiked: warning: %s\n", cfg->warnings[i]);
	if (cfg->tls) {
		if (tls_ctx_create(cfg->cert, cfg->pkey, cfg->cipher_list, &ctx, &cause) != 0) {
			fprintf(stderr, "turnpiked: %s\n", cause != NULL ? cause : "out of memory");
			free(cause);
			return 1;
		}
		tls_ctx_free(ctx);
	}
	confshow_print(stdout, cfg);
	if (fflush(stdout) != 0 || ferror(stdout))
		return 1;
	return main_check_store(cfg);
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

static int
main_open_log(const struct config *cfg)
{
	const char *target = main_log_target(cfg), *cause;
	size_t i;

	server_log_settings(cfg);
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
main_serve(const struct config *cfg, int argc, char **argv)
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
	server_set_args(srv, argc, (const char *const *)argv);
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
	else if (cfg->check_config)
		rc = main_check(cfg);
	else
		rc = main_serve(cfg, argc, argv);
	config_free(cfg);
	libevent_global_shutdown();
	return rc;
}
