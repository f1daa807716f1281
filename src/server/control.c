/*
 * The control socket (see control.h for the protocol): accepts on the main
 * loop, reads the version line and one command, answers and closes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "turnpike/addr.h"
#include "turnpike/allocation.h"
#include "turnpike/control.h"
#include "turnpike/log.h"
#include "turnpike/turn.h"
#include "turnpike/worker.h"

#define CONTROL_ARGS_MAX 8
/* A client that says nothing for this long is dropped. */
#define CONTROL_TIMEOUT_S 10

struct control {
	struct evconnlistener *listener;
	char *path;
	const struct control_source *src;
	int reply[2]; /* workers write finished jobs' pointers here */
	struct event *reply_ev;
};

enum control_state {
	CONTROL_HELLO_WAIT,
	CONTROL_CMD_WAIT,
	CONTROL_WORKERS_WAIT,
	CONTROL_DONE
};

struct control_req;

struct control_conn {
	struct control *c;
	struct bufferevent *bev;
	enum control_state state;
	struct control_req *req; /* while the workers answer */
};

/* One worker's part of a sessions or kill command. */
struct control_job {
	struct worker_job job; /* first: the worker hands back this pointer */
	struct control_req *req;
	int worker;
	FILE *f;   /* on the worker's thread: open_memstream into out */
	char *out; /* answer lines */
	size_t outlen;
	size_t killed;
	struct turn_stats ts;
	size_t transport[3]; /* live allocations by enum turn_transport */
};

/* A command every worker answers; freed when the last one has. */
struct control_req {
	struct control *c;
	struct control_conn *cc; /* NULL once the client has gone */
	bool kill;
	bool status;
	uint64_t id; /* kill SESSION: the core's id, only on worker */
	int worker;  /* kill SESSION: -1 for every worker */
	char *user;  /* --user, or NULL */
	char *realm; /* the realm when posted: the workers read this copy */
	size_t pending;
	struct control_job *jobs;
};

#define CONTROL_PENDING 1

struct control_cmd {
	const char *name;
	int minargs, maxargs; /* after the command word */
	int (*run)(struct control_conn *cc, int argc, char **argv, char **cause);
};

static int __attribute__((format(printf, 2, 3))) control_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
}

static void __attribute__((format(printf, 2, 3)))
control_printf(struct control_conn *cc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(cc->bev), fmt, ap);
	va_end(ap);
}

static uint64_t
control_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* What the main loop knows; the workers add their lines (control_status_done). */
static void
control_status_main(struct control_conn *cc)
{
	const struct control_source *src = cc->c->src;

	control_printf(cc, "version %s\n", PACKAGE_VERSION);
	control_printf(cc, "uptime %llu\n",
	    (unsigned long long)(control_mono_s() - src->start_mono_s));
	control_printf(cc, "workers %zu\n", src->workers);
	control_printf(cc, "listeners udp %zu stream %zu\n", src->udp, src->listeners);
	control_printf(cc, "allocations %zu\n", atomic_load(src->allocations));
	control_printf(cc, "loglevel %s\n", log_level_name(log_get_level()));
}

static int
control_loglevel(struct control_conn *cc, int argc, char **argv, char **cause)
{
	enum log_level level;

	(void)argc;
	if (log_level_parse(argv[1], &level) != 0)
		return control_fail(cause, "unknown log level %s", argv[1]);
	log_set_level(level);
	log_info("control: log level %s", log_level_name(level));
	control_printf(cc, "loglevel %s\n", log_level_name(level));
	return 0;
}

static const char *const control_transports[] = {"udp", "tcp", "tls"};

/* " peer-addrs A,B" (the permissions' IP addresses) or " peer-addrs -". */
static void
control_session_peers(FILE *f, const struct turn_session *s)
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
control_session_line(void *arg, const struct turn_session *s)
{
	struct control_job *j = arg;
	const struct control_req *req = j->req;
	char cl[ADDR_STRLEN], sv[ADDR_STRLEN], rl[ADDR_STRLEN];

	if (req->user != NULL && strcmp(s->user, req->user) != 0)
		return;
	fprintf(j->f,
	    "session %d-%" PRIu64 " user %s realm %s transport %s client %s server %s relayed %s"
	    " age %" PRIu64 " remaining %" PRIu64 " to-peer-packets %" PRIu64
	    " to-peer-bytes %" PRIu64 " to-client-packets %" PRIu64 " to-client-bytes %" PRIu64
	    " peers %zu",
	    j->worker, s->id, s->user[0] != '\0' ? s->user : "-", req->realm,
	    control_transports[s->tuple.transport % 3],
	    addr_fmt((const struct sockaddr *)&s->tuple.client, true, cl, sizeof cl),
	    addr_fmt((const struct sockaddr *)&s->tuple.server, true, sv, sizeof sv),
	    addr_fmt((const struct sockaddr *)&s->relayed, true, rl, sizeof rl), s->age_s,
	    s->remaining_s, s->to_peer_packets, s->to_peer_bytes, s->to_client_packets,
	    s->to_client_bytes, s->peers);
	control_session_peers(j->f, s);
}

static void
control_session_count(void *arg, const struct turn_session *s)
{
	struct control_job *j = arg;

	j->transport[s->tuple.transport % 3]++;
}

/* On the worker's thread; then hands the job back to the main loop. */
static void
control_job_run(struct worker_job *wj, struct turn *t, const struct turn_now *now)
{
	struct control_job *j = (struct control_job *)wj;
	const struct control_req *req = j->req;
	ssize_t n;

	if (req->status) {
		turn_stats(t, &j->ts);
		turn_foreach_session(t, now, control_session_count, j);
	} else if (req->kill && (req->worker == -1 || req->worker == j->worker))
		j->killed = turn_kill(t, req->id, req->id != 0 ? NULL : req->user);
	else if (!req->kill && (j->f = open_memstream(&j->out, &j->outlen)) != NULL) {
		turn_foreach_session(t, now, control_session_line, j);
		fclose(j->f);
	}
	n = write(req->c->reply[1], &j, sizeof j);
	if (n != (ssize_t)sizeof j)
		log_warnx("control: cannot hand a job back to the main loop");
}

static void
control_req_free(struct control_req *req)
{
	size_t i;

	for (i = 0; req->jobs != NULL && i < req->c->src->workers; i++)
		free(req->jobs[i].out);
	free(req->jobs);
	free(req->user);
	free(req->realm);
	free(req);
}

static void control_finish(struct control_conn *, const char *);

/* Totals over the workers' answers to status. */
static void
control_status_done(struct control_conn *cc, const struct control_req *req)
{
	struct turn_stats t = {0};
	size_t i, k, tr[3] = {0};

	for (i = 0; i < req->c->src->workers; i++) {
		const struct control_job *j = &req->jobs[i];

		for (k = 0; k < 3; k++)
			tr[k] += j->transport[k];
		t.allocations_created += j->ts.allocations_created;
		t.auth_failures += j->ts.auth_failures;
		t.client_to_peer_packets += j->ts.client_to_peer_packets;
		t.client_to_peer_bytes += j->ts.client_to_peer_bytes;
		t.peer_to_client_packets += j->ts.peer_to_client_packets;
		t.peer_to_client_bytes += j->ts.peer_to_client_bytes;
	}
	control_printf(cc, "sessions udp %zu tcp %zu tls %zu\n", tr[0], tr[1], tr[2]);
	control_printf(cc, "allocations-created %" PRIu64 "\n", t.allocations_created);
	control_printf(cc, "auth-failures %" PRIu64 "\n", t.auth_failures);
	control_printf(cc, "to-peer packets %" PRIu64 " bytes %" PRIu64 "\n",
	    t.client_to_peer_packets, t.client_to_peer_bytes);
	control_printf(cc, "to-client packets %" PRIu64 " bytes %" PRIu64 "\n",
	    t.peer_to_client_packets, t.peer_to_client_bytes);
}

/* Every worker has answered: the lines in worker order, then the final line. */
static void
control_req_done(struct control_req *req)
{
	struct control_conn *cc = req->cc;
	size_t i, killed = 0;

	if (cc != NULL) {
		for (i = 0; i < req->c->src->workers; i++) {
			if (req->jobs[i].out != NULL)
				evbuffer_add(bufferevent_get_output(cc->bev), req->jobs[i].out,
				    req->jobs[i].outlen);
			killed += req->jobs[i].killed;
		}
		cc->req = NULL;
		if (req->status)
			control_status_done(cc, req);
		if (req->kill && killed > 0)
			log_info("control: killed %zu sessions", killed);
		if (req->kill && killed == 0)
			control_finish(cc, "no such session");
		else {
			if (req->kill)
				control_printf(cc, "killed %zu\n", killed);
			control_finish(cc, NULL);
		}
	}
	control_req_free(req);
}

static void
control_reply_read(evutil_socket_t fd, short what, void *arg)
{
	struct control_job *j;

	(void)what, (void)arg;
	while (read(fd, &j, sizeof j) == (ssize_t)sizeof j) {
		if (--j->req->pending == 0)
			control_req_done(j->req);
	}
}

/* Posts req to every worker; the answer comes in control_req_done. */
static int
control_req_post(struct control_conn *cc, struct control_req *req, char **cause)
{
	struct control *c = cc->c;
	size_t i, n = c->src->workers;

	req->c = c;
	req->cc = cc;
	if ((req->realm = strdup(c->src->realm)) == NULL ||
	    (req->jobs = calloc(n, sizeof *req->jobs)) == NULL) {
		control_req_free(req);
		return control_fail(cause, "out of memory");
	}
	req->pending = n;
	cc->req = req;
	for (i = 0; i < n; i++) {
		req->jobs[i].job.run = control_job_run;
		req->jobs[i].req = req;
		req->jobs[i].worker = (int)i;
		worker_post(c->src->worker[i], &req->jobs[i].job);
	}
	return CONTROL_PENDING;
}

static struct control_req *
control_req_new(const char *user, char **cause)
{
	struct control_req *req;

	if ((req = calloc(1, sizeof *req)) == NULL ||
	    (user != NULL && (req->user = strdup(user)) == NULL)) {
		free(req);
		control_fail(cause, "out of memory");
		return NULL;
	}
	req->worker = -1;
	return req;
}

static int
control_status(struct control_conn *cc, int argc, char **argv, char **cause)
{
	struct control_req *req;

	(void)argc, (void)argv;
	control_status_main(cc);
	if ((req = control_req_new(NULL, cause)) == NULL)
		return -1;
	req->status = true;
	return control_req_post(cc, req, cause);
}

static int
control_sessions(struct control_conn *cc, int argc, char **argv, char **cause)
{
	struct control_req *req;

	if (argc == 2 || (argc == 3 && strcmp(argv[1], "--user") != 0))
		return control_fail(cause, "usage: sessions [--user USER]");
	if ((req = control_req_new(argc == 3 ? argv[2] : NULL, cause)) == NULL)
		return -1;
	return control_req_post(cc, req, cause);
}

/* "W-N": worker W's allocation N. */
static int
control_parse_session(const char *arg, int nworkers, int *worker, uint64_t *id)
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
control_kill(struct control_conn *cc, int argc, char **argv, char **cause)
{
	struct control_req *req;
	const char *user = argc == 3 ? argv[2] : NULL;

	if ((argc == 3 && strcmp(argv[1], "--user") != 0) || (argc == 2 && argv[1][0] == '-'))
		return control_fail(cause, "usage: kill SESSION | kill --user USER");
	if ((req = control_req_new(user, cause)) == NULL)
		return -1;
	req->kill = true;
	if (user == NULL &&
	    control_parse_session(argv[1], (int)cc->c->src->workers, &req->worker, &req->id) != 0) {
		control_req_free(req);
		return control_fail(cause, "no such session %.64s", argv[1]);
	}
	return control_req_post(cc, req, cause);
}

/* "restart NAME ..." when changed options need a restart, then ok or the refusal. */
static int
control_reload(struct control_conn *cc, int argc, char **argv, char **cause)
{
	const struct control_source *src = cc->c->src;
	char *restart = NULL, *why = NULL;
	int rc;

	(void)argc, (void)argv;
	log_info("control: reload");
	rc = src->reload(src->arg, &restart, &why);
	if (rc != 0) {
		log_warnx("control: reload refused, the running configuration stays: %s",
		    why != NULL ? why : "out of memory");
		control_fail(cause, "reload refused: %s", why != NULL ? why : "out of memory");
	} else if (restart != NULL && restart[0] != '\0')
		control_printf(cc, "restart %s\n", restart);
	free(restart);
	free(why);
	return rc;
}

/* "draining allocations N": the server exits once they have ended. */
static int
control_drain(struct control_conn *cc, int argc, char **argv, char **cause)
{
	const struct control_source *src = cc->c->src;

	(void)argc, (void)argv, (void)cause;
	control_printf(cc, "draining allocations %zu\n", src->drain(src->arg));
	return 0;
}

static const struct control_cmd control_cmds[] = {
    {"status", 0, 0, control_status},
    {"loglevel", 1, 1, control_loglevel},
    {"sessions", 0, 2, control_sessions},
    {"kill", 1, 2, control_kill},
    {"reload", 0, 0, control_reload},
    {"drain", 0, 0, control_drain},
};

/* Splits line on spaces in place; -1 when there are too many words. */
static int
control_split(char *line, char **argv, int *argcp)
{
	char *word, *save = NULL;
	int argc = 0;

	for (word = strtok_r(line, " \t", &save); word != NULL;
	     word = strtok_r(NULL, " \t", &save)) {
		if (argc == CONTROL_ARGS_MAX)
			return -1;
		argv[argc++] = word;
	}
	*argcp = argc;
	return 0;
}

static int
control_dispatch(struct control_conn *cc, char *line, char **cause)
{
	char *argv[CONTROL_ARGS_MAX];
	size_t i;
	int argc;

	if (control_split(line, argv, &argc) != 0)
		return control_fail(cause, "too many arguments");
	if (argc == 0)
		return control_fail(cause, "no command");
	for (i = 0; i < sizeof control_cmds / sizeof control_cmds[0]; i++) {
		const struct control_cmd *cmd = &control_cmds[i];

		if (strcmp(argv[0], cmd->name) != 0)
			continue;
		if (argc - 1 < cmd->minargs || argc - 1 > cmd->maxargs)
			return control_fail(cause, "wrong number of arguments for %s", cmd->name);
		return cmd->run(cc, argc, argv, cause);
	}
	return control_fail(cause, "unknown command %.64s", argv[0]);
}

static void
control_conn_free(struct control_conn *cc)
{
	if (cc->req != NULL)
		cc->req->cc = NULL; /* the workers' answers are dropped */
	bufferevent_free(cc->bev);
	free(cc);
}

/* Sends the final line and closes once the answer has been written. */
static void
control_finish(struct control_conn *cc, const char *err)
{
	if (err != NULL)
		control_printf(cc, "error: %s\n", err);
	else
		control_printf(cc, "ok\n");
	cc->state = CONTROL_DONE;
	bufferevent_disable(cc->bev, EV_READ);
}

static void
control_line(struct control_conn *cc, char *line)
{
	char hello[64], *cause = NULL;

	if (cc->state == CONTROL_HELLO_WAIT) {
		snprintf(hello, sizeof hello, "%s %d", CONTROL_HELLO, CONTROL_VERSION);
		if (strcmp(line, hello) != 0) {
			control_finish(cc,
			    "unsupported protocol version (this server speaks "
			    "\"" CONTROL_HELLO " 1\")");
			return;
		}
		cc->state = CONTROL_CMD_WAIT;
		return;
	}
	switch (control_dispatch(cc, line, &cause)) {
	case 0:
		control_finish(cc, NULL);
		break;
	case CONTROL_PENDING:
		cc->state = CONTROL_WORKERS_WAIT;
		bufferevent_disable(cc->bev, EV_READ);
		break;
	default:
		control_finish(cc, cause != NULL ? cause : "out of memory");
		free(cause);
		break;
	}
}

static void
control_read(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while (cc->state != CONTROL_DONE &&
	    (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		control_line(cc, line);
		free(line);
	}
	if (cc->state < CONTROL_WORKERS_WAIT && evbuffer_get_length(in) > CONTROL_LINE_MAX)
		control_finish(cc, "line too long");
}

static void
control_write(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;

	if (cc->state == CONTROL_DONE && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_conn_free(cc);
}

static void
control_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev, (void)what;
	control_conn_free(arg);
}

static void
control_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
    void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct timeval tv = {CONTROL_TIMEOUT_S, 0};
	struct control_conn *cc;

	(void)sa, (void)len;
	if ((cc = calloc(1, sizeof *cc)) == NULL) {
		close(fd);
		return;
	}
	cc->c = arg;
	cc->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		close(fd);
		free(cc);
		return;
	}
	bufferevent_setcb(cc->bev, control_read, control_write, control_event, cc);
	bufferevent_set_timeouts(cc->bev, &tv, &tv);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

/* A socket file left by a daemon that died is removed; anything else is an error. */
static int
control_unlink_stale(const char *path, char **cause)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return control_fail(cause, "control socket %s exists and is not a socket", path);
	if (unlink(path) != 0)
		return control_fail(cause, "cannot remove stale control socket %s: %s", path,
		    strerror(errno));
	return 0;
}

static int
control_bind(const char *path, int *fdp, char **cause)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, rc;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return control_fail(cause, "control socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if (control_unlink_stale(path, cause) != 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return control_fail(cause, "cannot create control socket: %s", strerror(errno));
	old = umask(S_IXUSR | S_IRWXG | S_IRWXO); /* 0600: the access control */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (rc != 0) {
		rc = errno;
		close(fd);
		return control_fail(cause, "cannot bind control socket %s: %s", path, strerror(rc));
	}
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	*fdp = fd;
	return 0;
}

int
control_create(struct event_base *base, const char *path, const struct control_source *src,
    struct control **cp, char **cause)
{
	struct control *c;
	int fd;

	*cp = NULL;
	if (control_bind(path, &fd, cause) != 0)
		return -1;
	if ((c = calloc(1, sizeof *c)) == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		close(fd);
		unlink(path);
		return control_fail(cause, "out of memory");
	}
	c->src = src;
	c->reply[0] = c->reply[1] = -1;
	if (pipe2(c->reply, O_CLOEXEC) != 0 || evutil_make_socket_nonblocking(c->reply[0]) != 0 ||
	    (c->reply_ev = event_new(base, c->reply[0], EV_READ | EV_PERSIST, control_reply_read,
		 c)) == NULL ||
	    event_add(c->reply_ev, NULL) != 0) {
		close(fd);
		control_free(c);
		return control_fail(cause, "cannot create the control reply pipe");
	}
	c->listener = evconnlistener_new(base, control_accept, c, LEV_OPT_CLOSE_ON_FREE, 16, fd);
	if (c->listener == NULL) {
		close(fd);
		control_free(c);
		return control_fail(cause, "cannot listen on control socket %s", path);
	}
	*cp = c;
	return 0;
}

void
control_free(struct control *c)
{
	if (c == NULL)
		return;
	if (c->listener != NULL)
		evconnlistener_free(c->listener);
	if (c->reply_ev != NULL)
		event_free(c->reply_ev);
	if (c->reply[0] != -1)
		close(c->reply[0]);
	if (c->reply[1] != -1)
		close(c->reply[1]);
	unlink(c->path);
	free(c->path);
	free(c);
}
