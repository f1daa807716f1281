/*
 * Unit tests for logging: levels, file target, reopen after rotation, JSON
 * lines, per-session fields, rate-limited warnings, facility names.
 */
#include <fcntl.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "unit.h"

static char *
slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

int
main(void)
{
	char dir[] = "/tmp/tp-test-log-XXXXXX", path[256], moved[256];
	const char *cause = NULL;
	enum log_level lv;
	char *s;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/log", dir);
	snprintf(moved, sizeof(moved), "%s/log.1", dir);
	CHECK(log_open("test", path, &cause) == 0);
	log_set_level(LOG_LEVEL_INFO);
	log_info("hello %d", 42);
	log_debug("hidden at info");
	log_warnx("line\nbreak");
	s = slurp(path);
	CHECK(s != NULL && strstr(s, "test[") != NULL && strstr(s, "info: hello 42\n") != NULL);
	CHECKM(s != NULL && strstr(s, "hidden") == NULL, "debug is filtered at info level");
	CHECKM(s != NULL && strstr(s, "warn: line?break\n") != NULL,
	    "control characters cannot forge a log line");

	CHECK(rename(path, moved) == 0);
	CHECK(log_reopen(&cause) == 0);
	log_info("after rotation");
	s = slurp(path);
	CHECKM(s != NULL && strstr(s, "after rotation") != NULL, "reopen writes to a new file");
	s = slurp(moved);
	CHECK(s != NULL && strstr(s, "after rotation") == NULL);

	log_session(LOG_LEVEL_INFO, "w1.r2", "127.0.0.1:5000", "relay opened");
	s = slurp(path);
	CHECKM(s != NULL && strstr(s, "info: w1.r2 127.0.0.1:5000: relay opened\n") != NULL,
	    "a session line names the session and the client in text");

	CHECK(truncate(path, 0) == 0);
	log_set_format(LOG_FORMAT_JSON);
	log_session(LOG_LEVEL_WARN, "w0.r1", "[::1]:9", "quote \" back\\slash \xc3\xa9 bad \xff");
	log_info("plain");
	s = slurp(path);
	CHECKM(s != NULL && strstr(s, "\"level\":\"warn\",\"pid\":") != NULL &&
		strstr(s,
		    ",\"session\":\"w0.r1\",\"client\":\"[::1]:9\",\"msg\":\"quote \\\" "
		    "back\\\\slash \xc3\xa9 bad \\ufffd\"}\n") != NULL,
	    "JSON escapes quotes and backslashes, keeps UTF-8 and replaces invalid bytes");
	CHECKM(s != NULL && strstr(s, "\"level\":\"info\"") != NULL &&
		strstr(s, "\"msg\":\"plain\"}\n") != NULL && strstr(s, "plain\",\"session") == NULL,
	    "a line without a session has no session field");
	CHECK(s != NULL && strncmp(s, "{\"time\":\"", 9) == 0);
	log_set_format(LOG_FORMAT_TEXT);

	CHECK(truncate(path, 0) == 0);
	log_set_time_format("[%Y]");
	log_info("stamped");
	log_set_time_format(NULL);
	s = slurp(path);
	CHECKM(s != NULL && s[0] == '[' && s[5] == ']' && strstr(s, "stamped") != NULL,
	    "the time stamp follows the strftime format");

	CHECK(truncate(path, 0) == 0);
	for (int i = 0; i < 5; i++)
		log_warnx_limited("test-key", 1, "repeated %d", i);
	log_warnx_limited("other-key", 1, "another");
	s = slurp(path);
	CHECKM(s != NULL && strstr(s, "repeated 0") != NULL && strstr(s, "repeated 1") == NULL &&
		strstr(s, "another") != NULL,
	    "a repeated warning is logged once per interval, each key on its own");
	nanosleep(&(struct timespec){.tv_sec = 1, .tv_nsec = 100000000}, NULL);
	log_warnx_limited("test-key", 1, "repeated %d", 5);
	s = slurp(path);
	CHECKM(s != NULL &&
		strstr(s, "repeated 5 (4 more suppressed; at most one per 1 s)") != NULL,
	    "the next line after the interval counts the suppressed ones");

	enum log_format fmt;
	int fac;
	CHECK(log_format_parse("json", &fmt) == 0 && fmt == LOG_FORMAT_JSON);
	CHECK(log_format_parse("TEXT", &fmt) == 0 && fmt == LOG_FORMAT_TEXT);
	CHECK(log_format_parse("xml", &fmt) == -1);
	CHECK(log_facility_parse("LOG_LOCAL1", &fac) == 0 && fac == LOG_LOCAL1);
	CHECK(log_facility_parse("local7", &fac) == 0 && fac == LOG_LOCAL7);
	CHECK(log_facility_parse("LOG_USER", &fac) == 0 && fac == LOG_USER);
	CHECK(log_facility_parse("LOG_LOCAL8", &fac) == -1);
	CHECK(log_facility_parse("", &fac) == -1);

	CHECK(log_open("test", "/nonexistent-dir/x.log", &cause) == -1 && cause != NULL);
	CHECK(log_level_parse("debug", &lv) == 0 && lv == LOG_LEVEL_DEBUG);
	CHECK(log_level_parse("WARNING", &lv) == 0 && lv == LOG_LEVEL_WARN);
	CHECK(log_level_parse("loud", &lv) == -1);
	CHECK(strcmp(log_level_name(LOG_LEVEL_ERROR), "error") == 0);
	log_close();
	unlink(path);
	unlink(moved);
	rmdir(dir);
	return unit_done();
}
