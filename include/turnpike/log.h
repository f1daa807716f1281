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

/* log_warn and fatal append strerror(errno); the x variants do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
