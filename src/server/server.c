/*
 * The process context: main event base (listeners, signals), TLS context,
 * workers. Built from an immutable configuration; torn down in reverse.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "turnpike/addr.h"
#include "turnpike/binding.h"
#include "turnpike/config.h"
#include "turnpike/listener.h"
#include "turnpike/log.h"
#include "turnpike/server.h"
#include "turnpike/tls.h"
#include "turnpike/worker.h"

#define SERVER_THREADS_MAX 128

struct server {
	const struct config *cfg;
	struct event_base *base;
	struct event *signals[3];
	SSL_CTX *ssl_ctx;
	struct binding_config binding;
	struct worker_setup setup;
	struct sockaddr_storage *udp; /* listening addresses with the UDP port */
	struct worker **workers;
	size_t nworkers;
	size_t next_worker;
	struct listener **listeners;
	size_t nlisteners;
	bool pidfile_written;
	bool started; /* every worker thread is running */
};

static int __attribute__((format(printf, 2, 3))) server_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
}

static void
server_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;
	const char *cause;

	if (sig == SIGHUP) {
		if (log_reopen(&cause) != 0)
			log_warnx("SIGHUP: cannot reopen log file: %s", cause);
		else
			log_info("SIGHUP: log file reopened");
		return;
	}
	log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(s->base);
}

static int
server_init_base(struct server *s, char **cause)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	size_t i;

	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error return */
	if ((s->base = event_base_new()) == NULL)
		return server_fail(cause, "cannot create the main event loop");
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		s->signals[i] = evsignal_new(s->base, sigs[i], server_signal, s);
		if (s->signals[i] == NULL || event_add(s->signals[i], NULL) != 0)
			return server_fail(cause, "cannot watch signal %d", sigs[i]);
	}
	return 0;
}

static void
server_with_port(struct sockaddr_storage *out, const struct sockaddr_storage *ip, int port)
{
	*out = *ip;
	addr_set_port((struct sockaddr *)out, (uint16_t)port);
}

/* UDP addresses; a probe bind without SO_REUSEPORT catches a port in use. */
static int
server_init_udp(struct server *s, char **cause)
{
	const struct config_addrs *ips = &s->cfg->listening_ip;
	size_t i;
	int fd;

	if (s->cfg->no_udp)
		return 0;
	if ((s->udp = calloc(ips->n, sizeof *s->udp)) == NULL)
		return server_fail(cause, "out of memory");
	for (i = 0; i < ips->n; i++) {
		server_with_port(&s->udp[i], &ips->v[i], s->cfg->listening_port);
		fd = listener_socket((const struct sockaddr *)&s->udp[i], SOCK_DGRAM, false, "UDP",
		    cause);
		if (fd == -1)
			return -1;
		close(fd);
	}
	s->setup.udp = s->udp;
	s->setup.nudp = ips->n;
	return 0;
}

static size_t
server_thread_count(const struct config *cfg)
{
	long n = cfg->relay_threads;

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return (size_t)(n > SERVER_THREADS_MAX ? SERVER_THREADS_MAX : n);
}

static int
server_init_workers(struct server *s, char **cause)
{
	size_t i, n = server_thread_count(s->cfg);

	if (s->cfg->software_attribute)
		s->binding.software = PACKAGE_NAME " " PACKAGE_VERSION;
	s->setup.binding = &s->binding;
	s->setup.ssl_ctx = s->ssl_ctx;
	s->setup.verbose = s->cfg->verbose || s->cfg->debug;
	if ((s->workers = calloc(n, sizeof *s->workers)) == NULL)
		return server_fail(cause, "out of memory");
	for (i = 0; i < n; i++) {
		if (worker_create((int)i, &s->setup, &s->workers[i], cause) != 0)
			return -1;
		s->nworkers++;
	}
	return 0;
}

/* Main thread: hands an accepted socket to the next worker, round robin. */
static void
server_accept(int fd, const struct sockaddr *peer, bool tls, void *arg)
{
	struct server *s = arg;
	struct worker *w = s->workers[s->next_worker++ % s->nworkers];

	if (worker_pass(w, fd, peer, tls) != 0) {
		log_warnx("cannot hand a connection to a worker: out of memory");
		close(fd);
	}
}

static int
server_listen(struct server *s, int port, bool tls, char **cause)
{
	const struct config_addrs *ips = &s->cfg->listening_ip;
	struct sockaddr_storage ss;
	size_t i;

	for (i = 0; i < ips->n; i++) {
		server_with_port(&ss, &ips->v[i], port);
		if (listener_create(s->base, (const struct sockaddr *)&ss, tls, server_accept, s,
			&s->listeners[s->nlisteners], cause) != 0)
			return -1;
		s->nlisteners++;
	}
	return 0;
}

static int
server_init_listeners(struct server *s, char **cause)
{
	s->listeners = calloc(2 * s->cfg->listening_ip.n, sizeof *s->listeners);
	if (s->listeners == NULL)
		return server_fail(cause, "out of memory");
	if (!s->cfg->no_tcp && server_listen(s, s->cfg->listening_port, false, cause) != 0)
		return -1;
	if (s->cfg->tls && server_listen(s, s->cfg->tls_listening_port, true, cause) != 0)
		return -1;
	return 0;
}

static int
server_write_pidfile(struct server *s, char **cause)
{
	const char *path = s->cfg->pidfile;
	FILE *f;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "w")) == NULL)
		return server_fail(cause, "cannot write pidfile %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0) {
		unlink(path);
		return server_fail(cause, "cannot write pidfile %s: %s", path, strerror(errno));
	}
	s->pidfile_written = true;
	return 0;
}

/* Workers start with every signal blocked: signals belong to the main loop. */
static int
server_start_workers(struct server *s, char **cause)
{
	sigset_t all, old;
	size_t i;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < s->nworkers && rc == 0; i++)
		rc = worker_start(s->workers[i], cause);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->started = rc == 0;
	return rc;
}

/* "listening on UDP 127.0.0.1:3478 [::1]:3478" */
static void
server_log_transport(const struct server *s, const char *name, int port)
{
	const struct config_addrs *ips = &s->cfg->listening_ip;
	char line[1024], addr[ADDR_STRLEN];
	struct sockaddr_storage ss;
	size_t i, off = 0;

	line[0] = '\0';
	for (i = 0; i < ips->n && off < sizeof line; i++) {
		server_with_port(&ss, &ips->v[i], port);
		off += (size_t)snprintf(line + off, sizeof line - off, " %s",
		    addr_fmt((const struct sockaddr *)&ss, true, addr, sizeof addr));
	}
	log_info("listening on %s%s", name, line);
}

static void
server_log_startup(const struct server *s)
{
	const struct config *cfg = s->cfg;

	if (!cfg->no_udp)
		server_log_transport(s, "UDP", cfg->listening_port);
	if (!cfg->no_tcp)
		server_log_transport(s, "TCP", cfg->listening_port);
	if (cfg->tls)
		server_log_transport(s, "TLS", cfg->tls_listening_port);
	log_info("%zu worker threads; SOFTWARE attribute %s", s->nworkers,
	    s->binding.software != NULL ? "on" : "off");
}

int
server_create(const struct config *cfg, struct server **sp, char **cause)
{
	struct server *s;

	*sp = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return server_fail(cause, "out of memory");
	s->cfg = cfg;
	if (server_init_base(s, cause) != 0)
		goto fail;
	if (cfg->tls &&
	    tls_ctx_create(cfg->cert, cfg->pkey, cfg->cipher_list, &s->ssl_ctx, cause) != 0)
		goto fail;
	if (server_init_udp(s, cause) != 0 || server_init_workers(s, cause) != 0 ||
	    server_init_listeners(s, cause) != 0 || server_write_pidfile(s, cause) != 0 ||
	    server_start_workers(s, cause) != 0)
		goto fail;
	server_log_startup(s);
	*sp = s;
	return 0;
fail:
	server_free(s);
	return -1;
}

int
server_run(struct server *s)
{
	log_info("turnpiked ready");
	return event_base_dispatch(s->base) == -1 ? -1 : 0;
}

/* A line per worker and one of totals, once they have stopped. */
static void
server_log_stats(const struct server *s)
{
	struct worker_stats st, sum;
	size_t i;

	memset(&sum, 0, sizeof sum);
	for (i = 0; i < s->nworkers; i++) {
		worker_stats(s->workers[i], &st);
		log_info("worker %zu: UDP %llu in, %llu out; TCP/TLS %llu connections", i,
		    (unsigned long long)st.udp_in, (unsigned long long)st.udp_out,
		    (unsigned long long)st.conns);
		sum.udp_in += st.udp_in;
		sum.udp_out += st.udp_out;
		sum.udp_dropped += st.udp_dropped;
		sum.conns += st.conns;
		sum.conns_dropped += st.conns_dropped;
	}
	log_info("served UDP %llu in, %llu out, %llu dropped; TCP/TLS %llu "
		 "connections, %llu closed for errors",
	    (unsigned long long)sum.udp_in, (unsigned long long)sum.udp_out,
	    (unsigned long long)sum.udp_dropped, (unsigned long long)sum.conns,
	    (unsigned long long)sum.conns_dropped);
}

/* Asks every worker to stop first, so they wind down in parallel. */
static void
server_stop_workers(struct server *s)
{
	size_t i;

	for (i = 0; i < s->nworkers; i++)
		worker_stop(s->workers[i]);
	for (i = 0; i < s->nworkers; i++)
		worker_join(s->workers[i]);
	if (s->started)
		server_log_stats(s);
	for (i = 0; i < s->nworkers; i++)
		worker_free(s->workers[i]);
	free(s->workers);
}

void
server_free(struct server *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nlisteners; i++)
		listener_free(s->listeners[i]);
	free(s->listeners);
	server_stop_workers(s);
	tls_ctx_free(s->ssl_ctx);
	for (i = 0; i < sizeof s->signals / sizeof s->signals[0]; i++) {
		if (s->signals[i] != NULL)
			event_free(s->signals[i]);
	}
	if (s->base != NULL)
		event_base_free(s->base);
	if (s->pidfile_written)
		unlink(s->cfg->pidfile);
	free(s->udp);
	free(s);
}
