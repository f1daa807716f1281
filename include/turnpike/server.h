/*
 * The process context: the main event base with its listeners and signals,
 * the TLS context, and the workers, built from one configuration.
 */
#ifndef TURNPIKE_SERVER_H
#define TURNPIKE_SERVER_H

struct config;
struct server;

/*
 * Binds every listener, writes the pidfile and starts the workers. Returns -1
 * with *cause naming what failed and where ("cannot bind TCP 127.0.0.1:3478:
 * Address already in use"). cfg must outlive the server.
 */
int server_create(const struct config *cfg, struct server **sp, char **cause);
/* Logs "turnpiked ready" and runs until SIGTERM or SIGINT; SIGHUP reopens the log. */
int server_run(struct server *s);
/* Stops listeners and workers, removes the pidfile, frees everything. */
void server_free(struct server *s);

#endif
