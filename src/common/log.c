/*
 * Logging. The one piece of process-wide state: like tmux's log.c, a logger is
 * shared by every thread, so it lives here behind a mutex, and each call writes
 * one whole line with a single write so lines from threads never interleave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/log.h"

#define LOG_LINE_MAX 2048

enum log_sink {
	LOG_SINK_STDERR,
	LOG_SINK_STDOUT,
	LOG_SINK_FILE,
	LOG_SINK_SYSLOG,
};

static struct {
	pthread_mutex_t lock;
	enum log_sink sink;
	int fd;
	char *path;
	char progname[32];
	atomic_int level;
} logger = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .sink = LOG_SINK_STDERR,
    .fd = -1,
    .progname = "turnpike",
    .level = LOG_LEVEL_INFO,
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static int
log_open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
log_open(const char *progname, const char *target, const char **cause)
{
	int fd = -1;
	enum log_sink sink;

	if (target == NULL || strcmp(target, "stderr") == 0)
		sink = LOG_SINK_STDERR;
	else if (strcmp(target, "stdout") == 0)
		sink = LOG_SINK_STDOUT;
	else if (strcmp(target, "syslog") == 0)
		sink = LOG_SINK_SYSLOG;
	else {
		sink = LOG_SINK_FILE;
		if ((fd = log_open_file(target)) == -1) {
			*cause = strerror(errno);
			return -1;
		}
	}
	pthread_mutex_lock(&logger.lock);
	if (logger.fd != -1)
		close(logger.fd);
	free(logger.path);
	logger.path = sink == LOG_SINK_FILE ? strdup(target) : NULL;
	logger.fd = fd;
	logger.sink = sink;
	if (progname != NULL)
		snprintf(logger.progname, sizeof(logger.progname), "%s", progname);
	if (sink == LOG_SINK_SYSLOG)
		openlog(logger.progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	pthread_mutex_unlock(&logger.lock);
	return 0;
}

int
log_reopen(const char **cause)
{
	int fd, rc = 0;

	pthread_mutex_lock(&logger.lock);
	if (logger.sink == LOG_SINK_FILE && logger.path != NULL) {
		if ((fd = log_open_file(logger.path)) == -1) {
			*cause = strerror(errno);
			rc = -1; /* keep writing to the old file */
		} else {
			close(logger.fd);
			logger.fd = fd;
		}
	}
	pthread_mutex_unlock(&logger.lock);
	return rc;
}

void
log_close(void)
{
	pthread_mutex_lock(&logger.lock);
	if (logger.fd != -1)
		close(logger.fd);
	if (logger.sink == LOG_SINK_SYSLOG)
		closelog();
	free(logger.path);
	logger.path = NULL;
	logger.fd = -1;
	logger.sink = LOG_SINK_STDERR;
	pthread_mutex_unlock(&logger.lock);
}

void
log_set_level(enum log_level level)
{
	atomic_store(&logger.level, (int)level);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load(&logger.level);
}

bool
log_level_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&logger.level);
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "unknown";
	return level_names[level];
}

/* Replaces control characters so one call is one line, whatever the input. */
static void
log_sanitize(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

static void
log_write_line(enum log_level level, const char *msg)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[LOG_LINE_MAX + 128], stamp[32];
	struct timespec ts;
	struct tm tm;
	int fd, n;

	if (logger.sink == LOG_SINK_SYSLOG) {
		syslog(prio[level], "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld]: %s: %s\n", stamp, ts.tv_nsec / 1000000,
	    logger.progname, (long)getpid(), level_names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	fd = logger.sink == LOG_SINK_STDOUT ? STDOUT_FILENO
	    : logger.sink == LOG_SINK_FILE  ? logger.fd
					    : STDERR_FILENO;
	if (write(fd, line, (size_t)n) == -1) {
		/* nowhere left to report it */
	}
}

static void __attribute__((format(printf, 3, 0)))
log_vemit(enum log_level level, bool with_errno, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	int saved = errno;
	size_t len;

	if (!log_level_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_sanitize(msg);
	if (with_errno) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(saved));
	}
	pthread_mutex_lock(&logger.lock);
	log_write_line(level, msg);
	pthread_mutex_unlock(&logger.lock);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, true, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, false, fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, false, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_INFO, false, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_DEBUG, false, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, true, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, false, fmt, ap);
	va_end(ap);
	exit(1);
}
