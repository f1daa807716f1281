/*
 * One question to every worker (fanout.h): worker_post out, a pipe of job
 * pointers back to the main loop, a count of the answers still to come.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "turnpike/cause.h"
#include "turnpike/fanout.h"
#include "turnpike/log.h"
#include "turnpike/worker.h"

struct fanout {
	struct worker *const *workers;
	size_t n;
	const char *what;
	int reply[2]; /* workers write finished jobs' pointers here */
	struct event *reply_ev;
};

/* On the worker's thread: the caller's part, then the pointer goes back. */
static void
fanout_job_run(struct worker_job *wj, struct turn *t, const struct turn_now *now)
{
	struct fanout_job *j = (struct fanout_job *)wj;
	struct fanout *f = j->call->f;

	j->call->run(j, t, now);
	if (write(f->reply[1], &j, sizeof j) != (ssize_t)sizeof j)
		log_warnx("%s: cannot hand a job back to the main loop", f->what);
}

/* The worker stopped before running it: back unanswered, so the call still ends. */
static void
fanout_job_cancel(struct worker_job *wj)
{
	struct fanout_job *j = (struct fanout_job *)wj;
	struct fanout *f = j->call->f;

	j->unanswered = true;
	if (write(f->reply[1], &j, sizeof j) != (ssize_t)sizeof j)
		log_warnx("%s: cannot hand a job back to the main loop", f->what);
}

static void
fanout_reply_read(evutil_socket_t fd, short what, void *arg)
{
	struct fanout_job *j;

	(void)what, (void)arg;
	while (read(fd, &j, sizeof j) == (ssize_t)sizeof j) {
		if (j->unanswered)
			j->call->unanswered++;
		if (--j->call->pending == 0)
			j->call->done(j->call);
	}
}

size_t
fanout_workers(const struct fanout *f)
{
	return f->n;
}

void
fanout_post(struct fanout *f, struct fanout_call *call, void *jobs, size_t size)
{
	struct fanout_job *j;
	size_t i;

	call->f = f;
	call->pending = f->n;
	call->unanswered = 0;
	for (i = 0; i < f->n; i++) {
		j = (struct fanout_job *)((char *)jobs + i * size);
		j->job.run = fanout_job_run;
		j->job.cancel = fanout_job_cancel;
		j->unanswered = false;
		j->call = call;
		j->w = f->workers[i];
		j->worker = i;
		worker_post(f->workers[i], &j->job);
	}
}

int
fanout_create(struct event_base *base, struct worker *const *workers, size_t n, const char *what,
    struct fanout **out, char **cause)
{
	struct fanout *f;

	*out = NULL;
	if ((f = calloc(1, sizeof *f)) == NULL)
		return cause_fail(cause, "out of memory");
	f->workers = workers;
	f->n = n;
	f->what = what;
	f->reply[0] = f->reply[1] = -1;
	if (pipe2(f->reply, O_CLOEXEC) != 0 || evutil_make_socket_nonblocking(f->reply[0]) != 0 ||
	    (f->reply_ev = event_new(base, f->reply[0], EV_READ | EV_PERSIST, fanout_reply_read,
		 f)) == NULL ||
	    event_add(f->reply_ev, NULL) != 0) {
		fanout_free(f);
		return cause_fail(cause, "cannot create the %s reply pipe", what);
	}
	*out = f;
	return 0;
}

void
fanout_finish(struct fanout *f)
{
	if (f != NULL && f->reply[0] != -1)
		fanout_reply_read(f->reply[0], EV_READ, f);
}

void
fanout_free(struct fanout *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->reply_ev != NULL)
		event_free(f->reply_ev);
	for (i = 0; i < 2; i++) {
		if (f->reply[i] != -1)
			close(f->reply[i]);
	}
	free(f);
}
