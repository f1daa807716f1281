/* Process-wide logging: stderr, a file, or syslog; thread-safe, one line per call. */
#ifndef TURNPIKE_LOG_H
#define TURNPIKE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/*
 * target: NULL or "stderr" for stderr, "stdout", "syslog", or a file path.
 * Returns -1 and sets *cause (static text or strerror) when a file cannot be opened.
 */
int log_open(const char *progname, const char *target, const char **cause);
/* Reopens a log file (SIGHUP after logrotate); a no-op for stdio and syslog. */
int log_reopen(const char **cause);
void log_close(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_level_enabled(enum log_level level);
/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

enum log_format {
	LOG_FORMAT_TEXT = 0, /* "TIME PROG[PID]: LEVEL: [SESSION CLIENT: ]MESSAGE" */
	LOG_FORMAT_JSON,     /* one object per line: time, level, pid, session, client, msg */
};

/* Parses "text" or "json"; -1 when unknown. */
int log_format_parse(const char *name, enum log_format *out);
void log_set_format(enum log_format format);
/* Parses coturn's syslog facility names (LOG_USER, LOG_LOCAL0..7, ...; LOG_ optional). */
int log_facility_parse(const char *name, int *out);
/* The syslog facility (reopens syslog when it is the sink); LOG_DAEMON until set. */
void log_set_facility(int facility);
/*
 * strftime format of the time stamp, in local time (coturn's new-log-timestamp-format);
 * NULL restores the default, ISO 8601 in UTC with milliseconds.
 */
void log_set_time_format(const char *fmt);

/*
 * A per-session line: the session id ("w0.r3") and the client address go in
 * their own JSON fields, or before the message in text. Either may be NULL.
 */
void log_session(enum log_level level, const char *session, const char *client, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/*
 * A warning that may repeat: the first one with a given key is logged, the
 * same key again within interval_s seconds is counted instead, and the next
 * one logged after that says how many were suppressed.
 */
void log_warnx_limited(const char *key, unsigned int interval_s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* log_warn and fatal append strerror(errno); the x variants do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
