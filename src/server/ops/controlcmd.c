/*
 * The control commands (controlcmd.h): what the main loop answers itself, and
 * the commands every worker answers on its own thread through fanout.c,
 * whose answers come back to the main loop.
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "turnpike/addr.h"
#include "turnpike/allocation.h"
#include "turnpike/cause.h"
#include "turnpike/control.h"
#include "turnpike/controlcmd.h"
#include "turnpike/fanout.h"
#include "turnpike/log.h"
#include "turnpike/turn.h"
#include "turnpike/worker.h"

struct controlcmd_req;

struct controlcmd {
	const struct control_source *src;
	struct fanout *fanout;
	LIST_HEAD(, controlcmd_req) reqs; /* posted, not done: freed by controlcmd_free */
};

struct controlcmd_cmd {
	const char *name;
	int minargs, maxargs; /* after the command word */
	int (*run)(struct controlcmd *cmds, struct control_conn *cc, int argc, char **argv,
	    char **cause);
};

/* One worker's part of a sessions or kill command. */
struct controlcmd_job {
	struct fanout_job fj; /* first */
	FILE *f;              /* on the worker's thread: open_memstream into out */
	char *out;            /* answer lines */
	size_t outlen;
	size_t killed;
	struct turn_stats ts;
	size_t transport[4]; /* live allocations by enum turn_transport */
};

/* A command every worker answers; freed when the last one has. */
struct controlcmd_req {
	struct fanout_call call; /* first: fanout hands it back */
	struct controlcmd *cmds;
	struct control_conn *cc; /* NULL once the client has gone */
	bool kill;
	bool fleet; /* a fleet-wide kill: no client, the outcome is logged */
	bool status;
	uint64_t id; /* kill SESSION: the core's id, only on worker */
	int worker;  /* kill SESSION: -1 for every worker */
	char *user;  /* --user, or NULL */
	char *realm; /* the realm when posted: the workers read this copy */
	struct controlcmd_job *jobs;
	bool posted; /* on cmds->reqs */
	LIST_ENTRY(controlcmd_req) entry;
};

/* A job's request: its fanout_call is the request's first member. */
static struct controlcmd_req *
controlcmd_job_req(const struct controlcmd_job *j)
{
	return (struct controlcmd_req *)j->fj.call;
}

static uint64_t
controlcmd_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* What the main loop knows; the workers add their lines (controlcmd_status_done). */
static void
controlcmd_status_main(struct controlcmd *cmds, struct control_conn *cc)
{
	const struct control_source *src = cmds->src;

	control_conn_printf(cc, "version %s\n", PACKAGE_VERSION);
	control_conn_printf(cc, "uptime %llu\n",
	    (unsigned long long)(controlcmd_mono_s() - src->start_mono_s));
	control_conn_printf(cc, "workers %zu\n", src->workers);
	control_conn_printf(cc, "listeners udp %zu stream %zu\n", src->udp, src->listeners);
	control_conn_printf(cc, "allocations %zu\n", atomic_load(src->allocations));
	control_conn_printf(cc, "loglevel %s\n", log_level_name(log_get_level()));
}

static int
controlcmd_loglevel(struct controlcmd *cmds, struct control_conn *cc, int argc, char **argv,
    char **cause)
{
	enum log_level level;

	(void)argc;
	if (log_level_parse(argv[1], &level) != 0)
		return cause_fail(cause, "unknown log level %s", argv[1]);
	log_set_level(level);
	log_info("control: log level %s", log_level_name(level));
	control_conn_printf(cc, "loglevel %s\n", log_level_name(level));
	return 0;
}

static const char *const controlcmd_transports[] = {"udp", "tcp", "tls", "dtls"};
#define CONTROLCMD_TRANSPORTS 4

/* " peer-addrs A,B" (the permissions' IP addresses) or " peer-addrs -". */
static void
controlcmd_session_peers(FILE *f, const struct turn_session *s)
{
	char a[ADDR_STRLEN];
	size_t i;

	fputs(" peer-addrs ", f);
	for (i = 0; i < s->peers; i++) {
		fprintf(f, "%s%s", i > 0 ? "," : "",
		    addr_fmt((const struct sockaddr *)&s->perms[i].peer, false, a, sizeof a));
	}
	fputs(s->peers == 0 ? "-\n" : "\n", f);
}

/* On the worker's thread: a line per session. */
static void
controlcmd_session_line(void *arg, const struct turn_session *s)
{
	struct controlcmd_job *j = arg;
	const struct controlcmd_req *req = controlcmd_job_req(j);
	char cl[ADDR_STRLEN], sv[ADDR_STRLEN], rl[ADDR_STRLEN];

	if (req->user != NULL && strcmp(s->user, req->user) != 0)
		return;
	fprintf(j->f,
	    "session %d-%" PRIu64 " user %s realm %s transport %s client %s server %s relayed %s"
	    " age %" PRIu64 " remaining %" PRIu64 " to-peer-packets %" PRIu64
	    " to-peer-bytes %" PRIu64 " to-client-packets %" PRIu64 " to-client-bytes %" PRIu64
	    " peers %zu",
	    (int)j->fj.worker, s->id, s->user[0] != '\0' ? s->user : "-", req->realm,
	    controlcmd_transports[s->tuple.transport % CONTROLCMD_TRANSPORTS],
	    addr_fmt((const struct sockaddr *)&s->tuple.client, true, cl, sizeof cl),
	    addr_fmt((const struct sockaddr *)&s->tuple.server, true, sv, sizeof sv),
	    addr_fmt((const struct sockaddr *)&s->relayed, true, rl, sizeof rl), s->age_s,
	    s->remaining_s, s->to_peer_packets, s->to_peer_bytes, s->to_client_packets,
	    s->to_client_bytes, s->peers);
	controlcmd_session_peers(j->f, s);
}

static void
controlcmd_session_count(void *arg, const struct turn_session *s)
{
	struct controlcmd_job *j = arg;

	j->transport[s->tuple.transport % CONTROLCMD_TRANSPORTS]++;
}

/* On the worker's thread. */
static void
controlcmd_job_run(struct fanout_job *fj, struct turn *t, const struct turn_now *now)
{
	struct controlcmd_job *j = (struct controlcmd_job *)fj;
	const struct controlcmd_req *req = controlcmd_job_req(j);

	if (req->status) {
		turn_stats(t, &j->ts);
		turn_foreach_session(t, now, controlcmd_session_count, j);
	} else if (req->kill && (req->worker == -1 || req->worker == (int)fj->worker))
		j->killed = turn_kill(t, req->id, req->id != 0 ? NULL : req->user);
	else if (!req->kill && (j->f = open_memstream(&j->out, &j->outlen)) != NULL) {
		turn_foreach_session(t, now, controlcmd_session_line, j);
		fclose(j->f);
	}
}

static void
controlcmd_req_free(struct controlcmd_req *req)
{
	size_t i;

	if (req->posted)
		LIST_REMOVE(req, entry);
	for (i = 0; req->jobs != NULL && i < req->cmds->src->workers; i++)
		free(req->jobs[i].out);
	free(req->jobs);
	free(req->user);
	free(req->realm);
	free(req);
}

/* Totals over the workers' answers to status. */
static void
controlcmd_status_done(struct control_conn *cc, const struct controlcmd_req *req)
{
	struct turn_stats t = {0};
	size_t i, k, tr[CONTROLCMD_TRANSPORTS] = {0};

	for (i = 0; i < req->cmds->src->workers; i++) {
		const struct controlcmd_job *j = &req->jobs[i];

		for (k = 0; k < CONTROLCMD_TRANSPORTS; k++)
			tr[k] += j->transport[k];
		t.allocations_created += j->ts.allocations_created;
		t.auth_failures += j->ts.auth_failures;
		t.client_to_peer_packets += j->ts.client_to_peer_packets;
		t.client_to_peer_bytes += j->ts.client_to_peer_bytes;
		t.peer_to_client_packets += j->ts.peer_to_client_packets;
		t.peer_to_client_bytes += j->ts.peer_to_client_bytes;
	}
	control_conn_printf(cc, "sessions udp %zu tcp %zu tls %zu dtls %zu\n", tr[0], tr[1], tr[2],
	    tr[3]);
	control_conn_printf(cc, "allocations-created %" PRIu64 "\n", t.allocations_created);
	control_conn_printf(cc, "auth-failures %" PRIu64 "\n", t.auth_failures);
	control_conn_printf(cc, "to-peer packets %" PRIu64 " bytes %" PRIu64 "\n",
	    t.client_to_peer_packets, t.client_to_peer_bytes);
	control_conn_printf(cc, "to-client packets %" PRIu64 " bytes %" PRIu64 "\n",
	    t.peer_to_client_packets, t.peer_to_client_bytes);
	control_conn_printf(cc, "capacity %" PRIu64 "\n", req->cmds->src->capacity);
}

/* Every worker has answered: the lines in worker order, then the final line. */
static void
controlcmd_req_done(struct fanout_call *call)
{
	struct controlcmd_req *req = (struct controlcmd_req *)call;
	struct control_conn *cc = req->cc;
	size_t i, killed = 0;

	if (cc != NULL && call->unanswered > 0) {
		/* The server is stopping (no loop to write later): a partial answer would mislead. */
		req->cc = NULL;
		control_conn_abort(cc, "server stopping: a worker did not answer");
		cc = NULL;
	}
	if (cc == NULL && req->fleet) {
		for (i = 0; i < req->cmds->src->workers; i++)
			killed += req->jobs[i].killed;
		log_info("fleet: kill --user %s: killed %zu sessions", req->user, killed);
	}
	if (cc != NULL) {
		for (i = 0; i < req->cmds->src->workers; i++) {
			if (req->jobs[i].out != NULL)
				control_conn_write(cc, req->jobs[i].out, req->jobs[i].outlen);
			killed += req->jobs[i].killed;
		}
		if (req->status)
			controlcmd_status_done(cc, req);
		if (req->kill && killed > 0)
			log_info("control: killed %zu sessions", killed);
		if (req->kill && killed == 0)
			control_conn_finish(cc, "no such session");
		else {
			if (req->kill)
				control_conn_printf(cc, "killed %zu\n", killed);
			control_conn_finish(cc, NULL);
		}
	}
	controlcmd_req_free(req);
}

/* Posts req to every worker; the answer comes in controlcmd_req_done. */
static int
controlcmd_req_post(struct controlcmd *cmds, struct control_conn *cc, struct controlcmd_req *req,
    char **cause)
{
	size_t n = fanout_workers(cmds->fanout);

	req->cmds = cmds;
	req->cc = cc;
	if ((req->realm = strdup(cmds->src->realm)) == NULL ||
	    (req->jobs = calloc(n, sizeof *req->jobs)) == NULL) {
		controlcmd_req_free(req);
		return cause_fail(cause, "out of memory");
	}
	if (cc != NULL)
		control_conn_wait(cc, req);
	LIST_INSERT_HEAD(&cmds->reqs, req, entry);
	req->posted = true;
	req->call.run = controlcmd_job_run;
	req->call.done = controlcmd_req_done;
	fanout_post(cmds->fanout, &req->call, req->jobs, sizeof *req->jobs);
	return CONTROLCMD_PENDING;
}

static struct controlcmd_req *
controlcmd_req_new(const char *user, char **cause)
{
	struct controlcmd_req *req;

	if ((req = calloc(1, sizeof *req)) == NULL ||
	    (user != NULL && (req->user = strdup(user)) == NULL)) {
		free(req);
		cause_fail(cause, "out of memory");
		return NULL;
	}
	req->worker = -1;
	return req;
}

static int
controlcmd_status(struct controlcmd *cmds, struct control_conn *cc, int argc, char **argv,
    char **cause)
{
	struct controlcmd_req *req;

	(void)argc, (void)argv;
	controlcmd_status_main(cmds, cc);
	if ((req = controlcmd_req_new(NULL, cause)) == NULL)
		return -1;
	req->status = true;
	return controlcmd_req_post(cmds, cc, req, cause);
}

static int
controlcmd_sessions(struct controlcmd *cmds, struct control_conn *cc, int argc, char **argv,
    char **cause)
{
	struct controlcmd_req *req;

	if (argc == 2 || (argc == 3 && strcmp(argv[1], "--user") != 0))
		return cause_fail(cause, "usage: sessions [--user USER]");
	if ((req = controlcmd_req_new(argc == 3 ? argv[2] : NULL, cause)) == NULL)
		return -1;
	return controlcmd_req_post(cmds, cc, req, cause);
}

/* "W-N": worker W's allocation N. */
static int
controlcmd_parse_session(const char *arg, int nworkers, int *worker, uint64_t *id)
{
	unsigned long w;
	unsigned long long n;
	char *end;

	errno = 0;
	w = strtoul(arg, &end, 10);
	if (end == arg || *end != '-' || w >= (unsigned long)nworkers)
		return -1;
	arg = end + 1;
	n = strtoull(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || n == 0)
		return -1;
	*worker = (int)w;
	*id = n;
	return 0;
}

static int
controlcmd_kill(struct controlcmd *cmds, struct control_conn *cc, int argc, char **argv,
    char **cause)
{
	struct controlcmd_req *req;
	const char *user = argc == 3 ? argv[2] : NULL;

	if ((argc == 3 && strcmp(argv[1], "--user") != 0) || (argc == 2 && argv[1][0] == '-'))
		return cause_fail(cause, "usage: kill SESSION | kill --user USER");
	if ((req = controlcmd_req_new(user, cause)) == NULL)
		return -1;
	req->kill = true;
	if (user == NULL &&
	    controlcmd_parse_session(argv[1], (int)cmds->src->workers, &req->worker, &req->id) !=
		0) {
		controlcmd_req_free(req);
		return cause_fail(cause, "no such session %.64s", argv[1]);
	}
	return controlcmd_req_post(cmds, cc, req, cause);
}

int
controlcmd_kill_user(struct controlcmd *cmds, const char *user, char **cause)
{
	struct controlcmd_req *req;

	if ((req = controlcmd_req_new(user, cause)) == NULL)
		return -1;
	req->kill = true;
	req->fleet = true;
	return controlcmd_req_post(cmds, NULL, req, cause);
}

/* "restart NAME ..." when changed options need a restart, then ok or the refusal. */
static int
controlcmd_reload(struct controlcmd *cmds, struct control_conn *cc, int argc, char **argv,
    char **cause)
{
	const struct control_source *src = cmds->src;
	char *restart = NULL, *why = NULL;
	int rc;

	(void)argc, (void)argv;
	log_info("control: reload");
	rc = src->reload(src->arg, &restart, &why);
	if (rc != 0) {
		log_warnx("control: reload refused, the running configuration stays: %s",
		    why != NULL ? why : "out of memory");
		cause_fail(cause, "reload refused: %s", why != NULL ? why : "out of memory");
	} else if (restart != NULL && restart[0] != '\0')
		control_conn_printf(cc, "restart %s\n", restart);
	free(restart);
	free(why);
	return rc;
}

/* "draining allocations N": the server exits once they have ended. */
static int
controlcmd_drain(struct controlcmd *cmds, struct control_conn *cc, int argc, char **argv,
    char **cause)
{
	const struct control_source *src = cmds->src;

	(void)argc, (void)argv, (void)cause;
	control_conn_printf(cc, "draining allocations %zu\n", src->drain(src->arg));
	return 0;
}

static const struct controlcmd_cmd controlcmd_cmds[] = {
    {"status", 0, 0, controlcmd_status},
    {"loglevel", 1, 1, controlcmd_loglevel},
    {"sessions", 0, 2, controlcmd_sessions},
    {"kill", 1, 2, controlcmd_kill},
    {"reload", 0, 0, controlcmd_reload},
    {"drain", 0, 0, controlcmd_drain},
};

int
controlcmd_run(struct controlcmd *cmds, struct control_conn *cc, int argc, char **argv,
    char **cause)
{
	size_t i;

	for (i = 0; i < sizeof controlcmd_cmds / sizeof controlcmd_cmds[0]; i++) {
		const struct controlcmd_cmd *cmd = &controlcmd_cmds[i];

		if (strcmp(argv[0], cmd->name) != 0)
			continue;
		if (argc - 1 < cmd->minargs || argc - 1 > cmd->maxargs)
			return cause_fail(cause, "wrong number of arguments for %s", cmd->name);
		return cmd->run(cmds, cc, argc, argv, cause);
	}
	return cause_fail(cause, "unknown command %.64s", argv[0]);
}

void
controlcmd_detach(struct controlcmd_req *req)
{
	req->cc = NULL; /* the workers' answers are dropped */
}

int
controlcmd_create(struct event_base *base, const struct control_source *src,
    struct controlcmd **out, char **cause)
{
	struct controlcmd *cmds;

	*out = NULL;
	if ((cmds = calloc(1, sizeof *cmds)) == NULL)
		return cause_fail(cause, "out of memory");
	cmds->src = src;
	LIST_INIT(&cmds->reqs);
	if (fanout_create(base, src->worker, src->workers, "control", &cmds->fanout, cause) != 0) {
		controlcmd_free(cmds);
		return -1;
	}
	*out = cmds;
	return 0;
}

void
controlcmd_free(struct controlcmd *cmds)
{
	struct controlcmd_req *req;

	if (cmds == NULL)
		return;
	/* The workers have stopped: their answers, or their jobs back unanswered, end the calls. */
	fanout_finish(cmds->fanout);
	while ((req = LIST_FIRST(&cmds->reqs)) != NULL) {
		if (req->cc != NULL)
			control_conn_abort(req->cc, "server stopping");
		controlcmd_req_free(req);
	}
	fanout_free(cmds->fanout);
	free(cmds);
}
