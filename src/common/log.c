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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/log.h"

#define LOG_LINE_MAX 2048
/* Distinct keys of log_warnx_limited remembered at once; the oldest is forgotten. */
#define LOG_LIMIT_SLOTS 32
#define LOG_LIMIT_KEY 48
#define LOG_TIME_FORMAT_MAX 64

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
	enum log_format format;
	int facility;
	char time_format[LOG_TIME_FORMAT_MAX]; /* "" for the default */
	struct log_limit {
		char key[LOG_LIMIT_KEY];
		uint64_t last_ms;
		unsigned long long suppressed;
	} limits[LOG_LIMIT_SLOTS];
} logger = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .sink = LOG_SINK_STDERR,
    .fd = -1,
    .progname = "turnpike",
    .level = LOG_LEVEL_INFO,
    .format = LOG_FORMAT_TEXT,
    .facility = LOG_DAEMON,
};

/* coturn's syslog-facility names, without their LOG_ prefix. */
static const struct {
	const char *name;
	int facility;
} log_facilities[] = {
    {"AUTH", LOG_AUTH},
    {"AUTHPRIV", LOG_AUTHPRIV},
    {"CRON", LOG_CRON},
    {"DAEMON", LOG_DAEMON},
    {"KERN", LOG_KERN},
    {"LOCAL0", LOG_LOCAL0},
    {"LOCAL1", LOG_LOCAL1},
    {"LOCAL2", LOG_LOCAL2},
    {"LOCAL3", LOG_LOCAL3},
    {"LOCAL4", LOG_LOCAL4},
    {"LOCAL5", LOG_LOCAL5},
    {"LOCAL6", LOG_LOCAL6},
    {"LOCAL7", LOG_LOCAL7},
    {"LPR", LOG_LPR},
    {"MAIL", LOG_MAIL},
    {"NEWS", LOG_NEWS},
    {"SYSLOG", LOG_SYSLOG},
    {"USER", LOG_USER},
    {"UUCP", LOG_UUCP},
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
		openlog(logger.progname, LOG_PID | LOG_NDELAY, logger.facility);
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

int
log_format_parse(const char *name, enum log_format *out)
{
	if (strcasecmp(name, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcasecmp(name, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

void
log_set_format(enum log_format format)
{
	pthread_mutex_lock(&logger.lock);
	logger.format = format;
	pthread_mutex_unlock(&logger.lock);
}

int
log_facility_parse(const char *name, int *out)
{
	size_t i;

	if (strncasecmp(name, "LOG_", 4) == 0)
		name += 4;
	for (i = 0; i < sizeof log_facilities / sizeof log_facilities[0]; i++) {
		if (strcasecmp(name, log_facilities[i].name) == 0) {
			*out = log_facilities[i].facility;
			return 0;
		}
	}
	return -1;
}

void
log_set_facility(int facility)
{
	pthread_mutex_lock(&logger.lock);
	if (facility != logger.facility && logger.sink == LOG_SINK_SYSLOG) {
		closelog();
		openlog(logger.progname, LOG_PID | LOG_NDELAY, facility);
	}
	logger.facility = facility;
	pthread_mutex_unlock(&logger.lock);
}

void
log_set_time_format(const char *fmt)
{
	pthread_mutex_lock(&logger.lock);
	snprintf(logger.time_format, sizeof logger.time_format, "%s", fmt != NULL ? fmt : "");
	pthread_mutex_unlock(&logger.lock);
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

/* The time stamp: ISO 8601 UTC with milliseconds, or the configured strftime format. */
static void
log_stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (logger.time_format[0] != '\0') {
		localtime_r(&ts.tv_sec, &tm);
		/* The operator's new-log-timestamp-format: strftime cannot overrun buf. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		if (strftime(buf, len, logger.time_format, &tm) == 0)
			buf[0] = '\0';
#pragma GCC diagnostic pop
		return;
	}
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), 0 when it is not one. */
static size_t
log_utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return n;
}

/* Appends s as the body of a JSON string; invalid UTF-8 becomes U+FFFD. */
static size_t
log_json_str(char *out, size_t off, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0' && off + 8 < len) {
		if (*p == '"' || *p == '\\') {
			out[off++] = '\\';
			out[off++] = (char)*p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			off += (size_t)snprintf(out + off, len - off, "\\u%04x", *p++);
		} else if ((n = log_utf8_len(p)) == 0) {
			off += (size_t)snprintf(out + off, len - off, "\\ufffd");
			p++;
		} else {
			if (off + n + 8 >= len)
				break;
			memcpy(out + off, p, n);
			off += n;
			p += n;
		}
	}
	out[off] = '\0';
	return off;
}

/* Appends ,"name":"value" when value is set. */
static size_t
log_json_field(char *out, size_t off, size_t len, const char *name, const char *value)
{
	if (value == NULL || off + 16 + strlen(name) >= len)
		return off;
	off += (size_t)snprintf(out + off, len - off, ",\"%s\":\"", name);
	off = log_json_str(out, off, len, value);
	if (off + 2 < len)
		out[off++] = '"';
	out[off] = '\0';
	return off;
}

/* {"time":...,"level":...,"pid":...,"session":...,"client":...,"msg":...} */
static size_t
log_format_json(char *out, size_t len, enum log_level level, const char *session,
    const char *client, const char *msg)
{
	char stamp[LOG_TIME_FORMAT_MAX + 32];
	size_t off;

	log_stamp(stamp, sizeof stamp);
	off = (size_t)snprintf(out, len, "{\"time\":\"");
	off = log_json_str(out, off, len, stamp);
	off += (size_t)snprintf(out + off, len - off, "\",\"level\":\"%s\",\"pid\":%ld",
	    level_names[level], (long)getpid());
	off = log_json_field(out, off, len, "session", session);
	off = log_json_field(out, off, len, "client", client);
	off = log_json_field(out, off, len, "msg", msg);
	off += (size_t)snprintf(out + off, len - off, "}\n");
	return off < len ? off : len - 1;
}

static size_t
log_format_text(char *out, size_t len, enum log_level level, const char *session,
    const char *client, const char *msg)
{
	char stamp[LOG_TIME_FORMAT_MAX + 32];
	int n;

	log_stamp(stamp, sizeof stamp);
	n = snprintf(out, len, "%s %s[%ld]: %s: %s%s%s%s%s\n", stamp, logger.progname,
	    (long)getpid(), level_names[level], session != NULL ? session : "",
	    session != NULL && client != NULL ? " " : "", client != NULL ? client : "",
	    session != NULL || client != NULL ? ": " : "", msg);
	if (n < 0)
		return 0;
	if ((size_t)n >= len) {
		n = (int)len - 1;
		out[n - 1] = '\n';
	}
	return (size_t)n;
}

static void
log_write_line(enum log_level level, const char *session, const char *client, const char *msg)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[LOG_LINE_MAX + 512];
	size_t n;
	int fd;

	if (logger.sink == LOG_SINK_SYSLOG) {
		if (logger.format == LOG_FORMAT_JSON) {
			n = log_format_json(line, sizeof line, level, session, client, msg);
			line[n > 0 ? n - 1 : 0] = '\0';
			syslog(prio[level], "%s", line);
		} else
			syslog(prio[level], "%s%s%s%s%s", session != NULL ? session : "",
			    session != NULL && client != NULL ? " " : "",
			    client != NULL ? client : "",
			    session != NULL || client != NULL ? ": " : "", msg);
		return;
	}
	if (logger.format == LOG_FORMAT_JSON)
		n = log_format_json(line, sizeof line, level, session, client, msg);
	else
		n = log_format_text(line, sizeof line, level, session, client, msg);
	if (n == 0)
		return;
	fd = logger.sink == LOG_SINK_STDOUT ? STDOUT_FILENO
	    : logger.sink == LOG_SINK_FILE  ? logger.fd
					    : STDERR_FILENO;
	if (write(fd, line, n) == -1) {
		/* nowhere left to report it */
	}
}

static void __attribute__((format(printf, 5, 0))) log_vemit_session(enum log_level level,
    bool with_errno, const char *session, const char *client, const char *fmt, va_list ap)
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
	log_write_line(level, session, client, msg);
	pthread_mutex_unlock(&logger.lock);
	errno = saved;
}

static void __attribute__((format(printf, 3, 0)))
log_vemit(enum log_level level, bool with_errno, const char *fmt, va_list ap)
{
	log_vemit_session(level, with_errno, NULL, NULL, fmt, ap);
}

void
log_session(enum log_level level, const char *session, const char *client, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit_session(level, false, session, client, fmt, ap);
	va_end(ap);
}

static uint64_t
log_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The slot of key, or the least recently logged one taken over for it.
 * Returns the count suppressed since the last line, or -1 to suppress this one.
 */
static long long
log_limit_check(const char *key, unsigned int interval_s)
{
	struct log_limit *l, *oldest = &logger.limits[0];
	uint64_t now = log_mono_ms() + 1; /* last_ms 0 means never */
	unsigned long long n;
	size_t i;

	for (i = 0; i < LOG_LIMIT_SLOTS; i++) {
		l = &logger.limits[i];
		if (l->last_ms != 0 && strncmp(l->key, key, sizeof l->key - 1) == 0)
			break;
		if (l->last_ms < oldest->last_ms)
			oldest = l;
	}
	if (i == LOG_LIMIT_SLOTS) {
		l = oldest;
		snprintf(l->key, sizeof l->key, "%s", key);
		l->last_ms = 0;
		l->suppressed = 0;
	}
	if (l->last_ms != 0 && now - l->last_ms < (uint64_t)interval_s * 1000) {
		l->suppressed++;
		return -1;
	}
	l->last_ms = now;
	n = l->suppressed;
	l->suppressed = 0;
	return (long long)n;
}

void
log_warnx_limited(const char *key, unsigned int interval_s, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	long long suppressed;
	va_list ap;

	if (!log_level_enabled(LOG_LEVEL_WARN))
		return;
	pthread_mutex_lock(&logger.lock);
	suppressed = log_limit_check(key, interval_s);
	pthread_mutex_unlock(&logger.lock);
	if (suppressed < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (suppressed > 0)
		log_warnx("%s (%lld more suppressed; at most one per %u s)", msg, suppressed,
		    interval_s);
	else
		log_warnx("%s", msg);
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
