/* Unit tests for logging: levels, file target, reopen after rotation. */
#include <fcntl.h>
#include <stdio.h>
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
