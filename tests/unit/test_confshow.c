/* The --check-config printout: values in file syntax, sources, secrets masked. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/config.h"
#include "turnpike/confshow.h"
#include "unit.h"

/* The printout of a configuration made from text, or NULL when it does not load. */
static char *
show(const char *text)
{
	struct config *cfg;
	char *out = NULL, *cause = NULL;
	size_t len = 0;
	FILE *f;

	if (config_create_text("t.conf", text, strlen(text), &cfg, &cause) != 0) {
		printf("# %s\n", cause);
		free(cause);
		return NULL;
	}
	f = open_memstream(&out, &len);
	confshow_print(f, cfg);
	fclose(f);
	config_free(cfg);
	return out;
}

static int
has_line(const char *out, const char *line)
{
	const char *p = out;
	size_t n = strlen(line);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return 1;
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return 0;
}

static void
test_values(void)
{
	char *out = show("listening-port=4000\n"
			 "listening-ip=127.0.0.1\n"
			 "listening-ip=::1\n"
			 "external-ip=192.0.2.1/10.0.0.1\n"
			 "no-udp\n"
			 "realm=example.org\n"
			 "allowed-peer-ip=10.0.0.0/8\n");

	CHECK(out != NULL);
	if (out == NULL)
		return;
	CHECKM(has_line(out, "# configuration file: t.conf"), "the file is named");
	CHECKM(has_line(out, "listening-port = 4000  # t.conf:1"), "a number and its line");
	CHECKM(has_line(out, "listening-ip = 127.0.0.1, ::1  # t.conf:3"),
	    "a list, joined, with its last line");
	CHECKM(has_line(out, "external-ip = 192.0.2.1/10.0.0.1  # t.conf:4"), "PUBLIC/PRIVATE");
	CHECKM(has_line(out, "no-udp = on  # t.conf:5") && has_line(out, "no-tcp = off  # default"),
	    "flags on and off");
	CHECKM(has_line(out, "min-port = 49152  # default"), "a default");
	CHECKM(has_line(out, "cert = (none)  # default"), "an unset option");
	CHECKM(has_line(out, "allowed-peer-ip = 10.0.0.0/8  # t.conf:7"), "a range as written");
	CHECKM(strstr(out, "config-file") == NULL && strstr(out, "check-config") == NULL,
	    "command-line-only options are left out");
	CHECKM(strstr(out, "dh566") == NULL,
	    "options that store nothing are left out unless given");
	CHECKM(has_line(out, "# authentication: long-term credentials"), "the summary");
	free(out);
}

static void
test_secrets(void)
{
	char *out = show("user=alice:Wonder-7\n"
			 "user=bob:0x0123456789abcdef0123456789abcdef\n"
			 "static-auth-secret=North-Secret\n"
			 "stateless-nonce-secret=Fleet-Key\n"
			 "cli-password=Cli-Pass\n"
			 "mongo-userdb=\"mongodb://turn:Db-Pass@db/coturn\"\n");

	CHECK(out != NULL);
	if (out == NULL)
		return;
	CHECKM(has_line(out, "user = alice:********, bob:********  # t.conf:2"),
	    "user names kept, passwords and keys masked");
	CHECKM(has_line(out, "static-auth-secret = ********  # t.conf:3"), "REST secret masked");
	CHECKM(has_line(out, "stateless-nonce-secret = ********  # t.conf:4"), "nonce key masked");
	CHECKM(has_line(out, "cli-password = ********  # t.conf:5, not implemented: ignored"),
	    "an ignored option's secret masked");
	CHECKM(has_line(out, "mongo-userdb = ********  # t.conf:6, not implemented: ignored"),
	    "a database connection string masked");
	CHECKM(strstr(out, "Wonder-7") == NULL && strstr(out, "0123456789") == NULL &&
		strstr(out, "North-Secret") == NULL && strstr(out, "Fleet-Key") == NULL &&
		strstr(out, "Cli-Pass") == NULL && strstr(out, "Db-Pass") == NULL,
	    "no secret anywhere in the output");
	CHECKM(has_line(out, "use-auth-secret = on  # default (implied by static-auth-secret)"),
	    "use-auth-secret implied");
	free(out);
}

static void
test_ignored(void)
{
	char *out = show("no-loopback-peers\nfingerprint\nsha256\ncli-ip=192.0.2.9\n");

	CHECK(out != NULL);
	if (out == NULL)
		return;
	CHECKM(has_line(out,
		   "no-loopback-peers  # t.conf:1, deprecated: applied as allow-loopback-peers=no"),
	    "a deprecated option and its replacement");
	CHECKM(has_line(out, "allow-loopback-peers = off  # t.conf:1"),
	    "the replacement carries the deprecated option's line");
	CHECKM(has_line(out, "fingerprint  # t.conf:2, accepted: already the behaviour"),
	    "a no-op");
	CHECKM(has_line(out, "sha256  # t.conf:3, deprecated: ignored"), "a removed option");
	CHECKM(has_line(out, "cli-ip = 192.0.2.9  # t.conf:4, not implemented: ignored"),
	    "an unimplemented option with its value");
	free(out);
}

int
main(void)
{
	test_values();
	test_secrets();
	test_ignored();
	return unit_done();
}
