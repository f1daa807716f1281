/*
 * The process context: the main event base with its listeners and signals,
 * the TLS context, and the workers, built from one configuration.
 */
#ifndef TURNPIKE_SERVER_H
#define TURNPIKE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct server;

/*
 * Binds every listener, writes the pidfile and starts the workers. Returns -1
 * with *cause naming what failed and where ("cannot bind TCP 127.0.0.1:3478:
 * Address already in use"). cfg must outlive the server.
 */
int server_create(const struct config *cfg, struct server **sp, char **cause);
/* The command line a reload parses again (with the file found at start); must outlive s. */
void server_set_args(struct server *s, int argc, const char *const *argv);
/*
 * Logs "turnpiked ready" and runs until SIGTERM or SIGINT, or the end of a
 * drain. SIGHUP reopens the log and reloads, SIGUSR2 reloads the certificates,
 * SIGUSR1 drains.
 */
int server_run(struct server *s);
/*
 * Reads the configuration (certs_only: only the certificate and key files)
 * again, builds the new shared state and switches the workers to it; live
 * allocations stay. *restart names the changed options that need a restart
 * (caller frees). -1 with *cause (NULL: out of memory) when refused: the
 * running configuration stays.
 */
int server_reload(struct server *s, bool certs_only, char **restart, char **cause);
/*
 * Refuses new allocations (508) and ends the server once the last allocation
 * has ended or drain-timeout has passed. who is for the log; returns the
 * allocations left.
 */
size_t server_drain(struct server *s, const char *who);
/* Stops listeners and workers, removes the pidfile, frees everything. */
void server_free(struct server *s);
/* Log format, syslog facility, time stamps and level from cfg (at start and on reload). */
void server_log_settings(const struct config *cfg);

#endif
