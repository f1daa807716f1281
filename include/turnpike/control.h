/*
 * The daemon's side of the control socket (controlproto.h has the protocol):
 * a unix stream socket on the main event loop, created mode 0600 so its file
 * permissions are its access control.
 */
#ifndef TURNPIKE_CONTROL_H
#define TURNPIKE_CONTROL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/controlproto.h"

struct event_base;
struct control;
struct worker;

/* What "status" reports; the pointed-to values outlive the control socket. */
struct control_source {
	uint64_t start_mono_s; /* CLOCK_MONOTONIC seconds at start */
	size_t workers;
	size_t listeners;                 /* TCP and TLS listening sockets */
	size_t udp;                       /* UDP listening addresses */
	const atomic_size_t *allocations; /* active allocations, every worker */
	uint64_t capacity;                /* allocations the process can hold (capacity.h) */
	struct worker *const *worker;     /* asked through worker_post */
	const char *realm;                /* main thread only: a reload changes it */
	/* reload and drain (see server.h), called on the main loop with arg. */
	int (*reload)(void *arg, char **restart, char **cause);
	size_t (*drain)(void *arg);
	void *arg;
};

/*
 * Unlinks a stale socket at path, binds and listens on base. -1 with *cause
 * naming the path. src must outlive the control socket.
 */
int control_create(struct event_base *base, const char *path, const struct control_source *src,
    struct control **cp, char **cause);
/* Closes the listening socket and removes its file (connections end with the loop). */
void control_free(struct control *c);

/*
 * Runs one command line through cmds as a client of the socket would (the
 * admin API's way in, with the same code paths). done gets the answer lines
 * and NULL, or the reason of "error: ..."; it runs exactly once, possibly
 * before control_exec returns, always on the main loop. -1: out of memory,
 * done is not called.
 */
struct controlcmd;
typedef void (*control_exec_fn)(void *arg, const char *out, size_t len, const char *err);
int control_exec(struct controlcmd *cmds, const char *line, control_exec_fn done, void *arg);

/* For the commands (controlcmd.h): one client's connection. */
struct control_conn;
struct controlcmd_req;

/* Answer lines to the client. */
void control_conn_printf(struct control_conn *cc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void control_conn_write(struct control_conn *cc, const void *data, size_t len);
/* The command waits for req (the workers); a client that goes detaches it. */
void control_conn_wait(struct control_conn *cc, struct controlcmd_req *req);
/* The final line, "ok" (err NULL) or "error: err"; closes once written. */
void control_conn_finish(struct control_conn *cc, const char *err);
/* At shutdown, with no loop left to write: "error: err" goes out now and cc is freed. */
void control_conn_abort(struct control_conn *cc, const char *err);

#endif
