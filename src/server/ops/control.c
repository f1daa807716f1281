/*
 * The control socket (see control.h for the protocol): accepts on the main
 * loop, reads the version line and one command, hands it to controlcmd.c,
 * sends its answer and closes.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "turnpike/cause.h"
#include "turnpike/control.h"
#include "turnpike/controlcmd.h"
#include "turnpike/log.h"

#define CONTROL_ARGS_MAX 8
/* A client that says nothing for this long is dropped. */
#define CONTROL_TIMEOUT_S 10
/* After accept() fails (out of descriptors), pause this long instead of spinning. */
#define CONTROL_PAUSE_S 1

struct control_conn;

struct control {
	struct evconnlistener *listener;
	LIST_HEAD(, control_conn) conns; /* open client connections, freed with the control */
	struct event *pause;             /* re-enables the listener after an accept() error */
	char *path;
	struct controlcmd *cmds;
};

enum control_state {
	CONTROL_HELLO_WAIT,
	CONTROL_CMD_WAIT,
	CONTROL_WORKERS_WAIT,
	CONTROL_DONE
};

struct control_conn {
	struct control *c;
	struct bufferevent *bev; /* NULL for control_exec */
	struct controlcmd *cmds;
	struct evbuffer *out; /* control_exec: the answer lines */
	control_exec_fn done; /* control_exec: called once, then cc is freed */
	void *done_arg;
	enum control_state state;
	struct controlcmd_req *req; /* while the workers answer */
	LIST_ENTRY(control_conn) link;
};

static struct evbuffer *
control_conn_out(struct control_conn *cc)
{
	return cc->bev != NULL ? bufferevent_get_output(cc->bev) : cc->out;
}

void
control_conn_printf(struct control_conn *cc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(control_conn_out(cc), fmt, ap);
	va_end(ap);
}

void
control_conn_write(struct control_conn *cc, const void *data, size_t len)
{
	evbuffer_add(control_conn_out(cc), data, len);
}

void
control_conn_wait(struct control_conn *cc, struct controlcmd_req *req)
{
	cc->req = req;
	cc->state = CONTROL_WORKERS_WAIT;
	if (cc->bev != NULL)
		bufferevent_disable(cc->bev, EV_READ);
}

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
	int argc;

	if (control_split(line, argv, &argc) != 0)
		return cause_fail(cause, "too many arguments");
	if (argc == 0)
		return cause_fail(cause, "no command");
	return controlcmd_run(cc->cmds, cc, argc, argv, cause);
}

static void
control_conn_free(struct control_conn *cc)
{
	if (cc->req != NULL)
		controlcmd_detach(cc->req);
	if (cc->bev != NULL) { /* control_exec's are on no list */
		LIST_REMOVE(cc, link);
		bufferevent_free(cc->bev);
	}
	if (cc->out != NULL)
		evbuffer_free(cc->out);
	free(cc);
}

/* control_exec's end: the lines (without the final one) and the error go to done. */
static void
control_exec_end(struct control_conn *cc, const char *err)
{
	size_t len = evbuffer_get_length(cc->out);
	const char *data = (const char *)evbuffer_pullup(cc->out, -1);

	cc->done(cc->done_arg, data != NULL ? data : "", len, err);
	control_conn_free(cc);
}

void
control_conn_finish(struct control_conn *cc, const char *err)
{
	if (cc->bev == NULL) {
		cc->req = NULL;
		cc->state = CONTROL_DONE;
		control_exec_end(cc, err);
		return;
	}
	if (err != NULL)
		control_conn_printf(cc, "error: %s\n", err);
	else
		control_conn_printf(cc, "ok\n");
	cc->req = NULL;
	cc->state = CONTROL_DONE;
	bufferevent_disable(cc->bev, EV_READ);
}

void
control_conn_abort(struct control_conn *cc, const char *err)
{
	struct evbuffer *out = bufferevent_get_output(cc->bev);
	size_t len;
	unsigned char *data;
	evutil_socket_t fd;

	if (cc->bev == NULL) {
		control_conn_finish(cc, err); /* done runs and cc is freed */
		return;
	}
	control_conn_finish(cc, err);
	len = evbuffer_get_length(out);
	data = evbuffer_pullup(out, -1);
	fd = bufferevent_getfd(cc->bev);

	/* One try, non-blocking (a bufferevent's output cannot be drained by hand). */
	evutil_make_socket_nonblocking(fd);
	if (data != NULL && write(fd, data, len) != (ssize_t)len)
		log_debug("control: the final line to a client was cut short");
	control_conn_free(cc);
}

static void
control_line(struct control_conn *cc, char *line)
{
	char hello[64], *cause = NULL;

	if (cc->state == CONTROL_HELLO_WAIT) {
		snprintf(hello, sizeof hello, "%s %d", CONTROL_HELLO, CONTROL_VERSION);
		if (strcmp(line, hello) != 0) {
			control_conn_finish(cc,
			    "unsupported protocol version (this server speaks "
			    "\"" CONTROL_HELLO " 1\")");
			return;
		}
		cc->state = CONTROL_CMD_WAIT;
		return;
	}
	switch (control_dispatch(cc, line, &cause)) {
	case 0:
		control_conn_finish(cc, NULL);
		break;
	case CONTROLCMD_PENDING:
		break; /* control_conn_wait was called */
	default:
		control_conn_finish(cc, cause != NULL ? cause : "out of memory");
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
		control_conn_finish(cc, "line too long");
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
	cc->cmds = cc->c->cmds;
	cc->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		close(fd);
		free(cc);
		return;
	}
	LIST_INSERT_HEAD(&cc->c->conns, cc, link);
	bufferevent_setcb(cc->bev, control_read, control_write, control_event, cc);
	bufferevent_set_timeouts(cc->bev, &tv, &tv);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

int
control_exec(struct controlcmd *cmds, const char *line, control_exec_fn done, void *arg)
{
	struct control_conn *cc;
	char *copy, *cause = NULL;
	int rc;

	if ((cc = calloc(1, sizeof *cc)) == NULL || (cc->out = evbuffer_new()) == NULL ||
	    (copy = strdup(line)) == NULL) {
		if (cc != NULL)
			evbuffer_free(cc->out);
		free(cc);
		return -1;
	}
	cc->cmds = cmds;
	cc->done = done;
	cc->done_arg = arg;
	cc->state = CONTROL_CMD_WAIT;
	rc = control_dispatch(cc, copy, &cause);
	free(copy);
	if (rc == 0)
		control_conn_finish(cc, NULL);
	else if (rc != CONTROLCMD_PENDING)
		control_conn_finish(cc, cause != NULL ? cause : "out of memory");
	free(cause);
	return 0;
}

/* A socket file left by a daemon that died is removed; anything else is an error. */
static int
control_unlink_stale(const char *path, char **cause)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return cause_fail(cause, "control socket %s exists and is not a socket", path);
	if (unlink(path) != 0)
		return cause_fail(cause, "cannot remove stale control socket %s: %s", path,
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
		return cause_fail(cause, "control socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if (control_unlink_stale(path, cause) != 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return cause_fail(cause, "cannot create control socket: %s", strerror(errno));
	old = umask(S_IXUSR | S_IRWXG | S_IRWXO); /* 0600: the access control */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (rc != 0) {
		rc = errno;
		close(fd);
		return cause_fail(cause, "cannot bind control socket %s: %s", path, strerror(rc));
	}
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	*fdp = fd;
	return 0;
}

static void
control_resume(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	(void)fd, (void)what;
	evconnlistener_enable(c->listener);
}

/* accept() failed: out of descriptors it fails again at once, so pause (no busy loop). */
static void
control_accept_error(struct evconnlistener *l, void *arg)
{
	struct control *c = arg;
	struct timeval tv = {CONTROL_PAUSE_S, 0};

	log_warn("control socket: accept");
	evconnlistener_disable(l);
	event_add(c->pause, &tv);
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
		return cause_fail(cause, "out of memory");
	}
	if (controlcmd_create(base, src, &c->cmds, cause) != 0) {
		close(fd);
		control_free(c);
		return -1;
	}
	c->listener = evconnlistener_new(base, control_accept, c, LEV_OPT_CLOSE_ON_FREE, 16, fd);
	if (c->listener == NULL) {
		close(fd);
		control_free(c);
		return cause_fail(cause, "cannot listen on control socket %s", path);
	}
	if ((c->pause = event_new(base, -1, 0, control_resume, c)) == NULL) {
		control_free(c); /* closes fd with the listener */
		return cause_fail(cause, "out of memory");
	}
	evconnlistener_set_error_cb(c->listener, control_accept_error);
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
	if (c->pause != NULL)
		event_free(c->pause);
	/* First the requests still waiting for workers: their clients get the final line. */
	controlcmd_free(c->cmds);
	while (!LIST_EMPTY(&c->conns))
		control_conn_free(LIST_FIRST(&c->conns));
	unlink(c->path);
	free(c->path);
	free(c);
}
