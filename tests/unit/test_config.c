/* Configuration parsing: file syntax, command line, overrides, errors. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/config.h"
#include "turnpike/options.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";
static char path[512];

/* Writes text to a new file in the temporary directory; path names it. */
static const char *
write_conf(const char *text)
{
	static int n;
	FILE *f;

	snprintf(path, sizeof path, "%s/t%d.conf", tmpdir, n++);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* config_create with "-c file" (when text is set) plus up to 8 arguments. */
static struct config *
load(const char *text, const char *const *args, char **cause)
{
	const char *argv[16] = {"turnpiked"};
	struct config *cfg;
	int argc = 1;

	*cause = NULL;
	if (text != NULL) {
		argv[argc++] = "-c";
		argv[argc++] = write_conf(text);
	}
	while (args != NULL && *args != NULL && argc < 15)
		argv[argc++] = *args++;
	if (config_create(argc, argv, &cfg, cause) != 0)
		return NULL;
	return cfg;
}

static int
has_warning(const struct config *cfg, const char *needle)
{
	size_t i;

	for (i = 0; i < cfg->nwarnings; i++) {
		if (strstr(cfg->warnings[i], needle) != NULL)
			return 1;
	}
	return 0;
}

static int
is_ip(const struct sockaddr_storage *ss, const char *text)
{
	char buf[64];
	const void *a;

	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)ss)->sin_addr;
	else
		a = &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
	return inet_ntop(ss->ss_family, a, buf, sizeof buf) != NULL && strcmp(buf, text) == 0;
}

static void
test_defaults(void)
{
	static const char *const args[] = {"-n", NULL};
	struct config *cfg;
	char *cause;

	cfg = load(NULL, args, &cause);
	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	CHECK(cfg->listening_port == 3478 && cfg->tls_listening_port == 5349);
	CHECK(cfg->min_port == 49152 && cfg->max_port == 65535);
	CHECK(cfg->listening_ip.n == 2 && is_ip(&cfg->listening_ip.v[0], "0.0.0.0") &&
	    is_ip(&cfg->listening_ip.v[1], "::"));
	CHECK(cfg->relay_threads == 0 && !cfg->software_attribute);
	CHECK(strcmp(cfg->log_file, "stderr") == 0);
	CHECK(cfg->file == NULL && cfg->cert == NULL && !cfg->tls);
	CHECKM(has_warning(cfg, "TLS listeners are off"), "no cert: TLS off warning");
	config_free(cfg);
}

static void
test_syntax(void)
{
	struct config *cfg;
	char *cause;

	cfg = load("# comment\n"
		   "   # indented comment\n"
		   "\n"
		   "listening-port=4000\n"
		   "tls-listening-port 4001\n"
		   "min-port\t50000\n"
		   "  max-port = 60000  \r\n"
		   "realm=\"example.org\"\n"
		   "cipher-list=HIGH#kept\n"
		   "--relay-threads=3\n"
		   "verbose\n"
		   "no-udp=off\n"
		   "no-tcp=no\n"
		   "software-attribute=yes\n"
		   "syslog=1\n"
		   "log-file=\"/tmp/a b.log\"",
	    NULL, &cause);
	CHECK(cfg != NULL);
	if (cfg == NULL) {
		printf("# %s\n", cause);
		free(cause);
		return;
	}
	CHECKM(cfg->listening_port == 4000, "name=value");
	CHECKM(cfg->tls_listening_port == 4001, "name value");
	CHECKM(cfg->min_port == 50000, "name<TAB>value");
	CHECKM(cfg->max_port == 60000, "name = value, CRLF");
	CHECKM(strcmp(cfg->realm, "example.org") == 0, "quotes stripped");
	CHECKM(strcmp(cfg->cipher_list, "HIGH#kept") == 0, "# inside a value kept");
	CHECKM(cfg->relay_threads == 3, "--name in a file");
	CHECKM(cfg->verbose, "bare flag");
	CHECKM(!cfg->no_udp && !cfg->no_tcp && cfg->software_attribute && cfg->syslog,
	    "flag values");
	CHECKM(strcmp(cfg->log_file, "/tmp/a b.log") == 0, "last line without LF");
	CHECK(strcmp(cfg->file, path) == 0);
	CHECK(cfg->nwarnings == 1); /* TLS off */
	config_free(cfg);
}

static void
test_lists(void)
{
	static const char *const args[] = {"-L", "::1", "--user", "cmd:pw", "--allowed-peer-ip",
	    "10.1.0.0/16", "--relay-ip", "10.0.0.9", "--user", "cmd2:pw", NULL};
	struct config *cfg;
	char *cause;
	const char *text = "listening-ip=127.0.0.1\n"
			   "listening-ip 127.0.0.2\n"
			   "listening-ip=127.0.0.1\n"
			   "relay-ip=10.0.0.1\n"
			   "external-ip=192.0.2.1\n"
			   "external-ip=192.0.2.2/10.0.0.2\n";

	cfg = load(text, NULL, &cause);
	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	CHECKM(cfg->listening_ip.n == 2 && is_ip(&cfg->listening_ip.v[0], "127.0.0.1") &&
		is_ip(&cfg->listening_ip.v[1], "127.0.0.2"),
	    "repeated options accumulate and replace the default");
	CHECK(cfg->relay_ip.n == 1 && is_ip(&cfg->relay_ip.v[0], "10.0.0.1"));
	CHECK(cfg->external_ip.n == 2 && !cfg->external_ip.v[0].has_private &&
	    cfg->external_ip.v[1].has_private &&
	    is_ip(&cfg->external_ip.v[1].public_ip, "192.0.2.2") &&
	    is_ip(&cfg->external_ip.v[1].private_ip, "10.0.0.2"));
	config_free(cfg);

	cfg = load(text, args, &cause);
	CHECKM(cfg != NULL && cfg->listening_ip.n == 3 && is_ip(&cfg->listening_ip.v[0], "::1") &&
		is_ip(&cfg->listening_ip.v[1], "127.0.0.1") &&
		is_ip(&cfg->listening_ip.v[2], "127.0.0.2"),
	    "listening-ip on the command line adds to the file's, as in coturn (issue 17)");
	CHECKM(cfg != NULL && cfg->relay_ip.n == 2 && is_ip(&cfg->relay_ip.v[0], "10.0.0.9") &&
		is_ip(&cfg->relay_ip.v[1], "10.0.0.1"),
	    "relay-ip likewise");
	CHECKM(cfg != NULL && cfg->external_ip.n == 2, "external-ip from the file alone stays");
	config_free(cfg);
	cfg = load("user=file:pw\nallowed-peer-ip=10.2.0.0/16\ndenied-peer-ip=8.8.8.8\n", args,
	    &cause);
	CHECKM(cfg != NULL && cfg->users.n == 3 && strcmp(cfg->users.v[0], "cmd:pw") == 0 &&
		strcmp(cfg->users.v[1], "cmd2:pw") == 0 && strcmp(cfg->users.v[2], "file:pw") == 0,
	    "user: the command line's and the file's");
	CHECKM(cfg != NULL && cfg->allowed_peer_ip.n == 2 && cfg->denied_peer_ip.n == 1,
	    "allowed-peer-ip adds up; denied-peer-ip from the file alone stays");
	config_free(cfg);
}

static void
test_cmdline(void)
{
	static const char *const over[] = {"--listening-port", "5000", "-p6000", "--realm=cmd",
	    "-v", "--no-tcp", NULL};
	static const char *const bad[][4] = {
	    {"--no-such", NULL},
	    {"stray", NULL},
	    {"--listening-port", NULL},
	    {"-p", "x", NULL},
	    {"-vV", NULL},
	    {"--no-udp=maybe", NULL},
	};
	struct config *cfg;
	char *cause;
	size_t i;

	cfg = load("listening-port=4000\nrealm=file\nmin-port=1000\n", over, &cause);
	CHECK(cfg != NULL);
	if (cfg != NULL) {
		CHECKM(cfg->listening_port == 6000, "command line overrides file");
		CHECK(strcmp(cfg->realm, "cmd") == 0 && cfg->min_port == 1000);
		CHECK(cfg->verbose && cfg->no_tcp);
	}
	config_free(cfg);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cfg = load(NULL, bad[i], &cause);
		CHECKM(cfg == NULL && cause != NULL && strncmp(cause, "command line: ", 14) == 0,
		    bad[i][0]);
		free(cause);
	}
}

static void
test_errors(void)
{
	struct config *cfg;
	char *cause, want[600];

	cfg = load("realm=x\nlistening-port=70000\n", NULL, &cause);
	snprintf(want, sizeof want, "%s:2: listening-port: ", path);
	CHECKM(cfg == NULL && cause != NULL && strncmp(cause, want, strlen(want)) == 0,
	    "invalid value names file:line and option");
	printf("# %s\n", cause);
	free(cause);

	cfg = load("relay-threads=129\n", NULL, &cause);
	CHECKM(cfg == NULL && strstr(cause, "relay-threads") != NULL, "threads bound");
	free(cause);
	cfg = load("relay-threads=-1\n", NULL, &cause);
	CHECK(cfg == NULL);
	free(cause);
	cfg = load("listening-port=12ab\n", NULL, &cause);
	CHECK(cfg == NULL && strstr(cause, "not a number") != NULL);
	free(cause);
	cfg = load("listening-ip=999.1.1.1\n", NULL, &cause);
	CHECK(cfg == NULL && strstr(cause, ":1: listening-ip") != NULL);
	free(cause);
	cfg = load("realm\n", NULL, &cause);
	CHECKM(cfg == NULL && strstr(cause, "missing value") != NULL, "value missing");
	free(cause);
	cfg = load("min-port=6000\nmax-port=5000\n", NULL, &cause);
	CHECKM(cfg == NULL && strstr(cause, "min-port") != NULL, "min-port > max-port");
	free(cause);
	cfg = load("cert=/x.pem\n", NULL, &cause);
	CHECKM(cfg == NULL && strstr(cause, "pkey") != NULL, "cert without pkey");
	free(cause);
	cfg = load("no-udp\nno-tcp\nno-tls\n", NULL, &cause);
	CHECKM(cfg == NULL && strstr(cause, "nothing to listen") != NULL, "no listener");
	free(cause);
}

static void
test_warnings(void)
{
	struct config *cfg;
	char *cause, want[600];

	cfg = load("realm=x\nbogus-option=1\ncli-ip=a\ncli-ip=b\ndh566\n"
		   "no-software-attribute\nprod\nno-tlsv1\nhelp\nno-loopback-peers\n"
		   "no-multicast-peers\nfingerprint\n",
	    NULL, &cause);
	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	snprintf(want, sizeof want, "%s:2: unknown option 'bogus-option'", path);
	CHECKM(has_warning(cfg, want), "unknown option warns with file:line");
	CHECKM(has_warning(cfg, ":3: cli-ip is not implemented yet"),
	    "not implemented option warns");
	CHECKM(!has_warning(cfg, ":4:"), "... once");
	CHECK(has_warning(cfg, ":5: dh566 is not implemented"));
	CHECKM(has_warning(cfg,
		   ":6: no-software-attribute is deprecated; replaced by "
		   "software-attribute=no") &&
		has_warning(cfg, ":7: prod is deprecated; replaced by software-attribute=no"),
	    "renamed coturn options warn and name their replacement");
	CHECKM(!has_warning(cfg, ":8:"), "no-op options are silent");
	CHECK(has_warning(cfg, ":9: help is only valid on the command line"));
	CHECK(!cfg->help);
	CHECKM(has_warning(cfg, ":10: no-loopback-peers is deprecated"), "deprecated option warns");
	CHECKM(!has_warning(cfg, ":11:") && !has_warning(cfg, ":12:"),
	    "no-multicast-peers and fingerprint are silent");
	config_free(cfg);
}

/* coturn's separators, quotes, flag values and semicolon warning. */
static void
test_coturn_syntax(void)
{
	struct config *cfg;
	char *cause;

	cfg = load("listening-port==4000\n"
		   "tls-listening-port = \t 4001\n"
		   "realm=\"unterminated.example\n"
		   "cipher-list=\"HIGH\"  \n"
		   "no-udp=F\n"
		   "no-tcp=n\n"
		   "verbose=T\n"
		   "syslog=2\n"
		   "software-attribute=Off\n"
		   "pidfile=/tmp/x.pid;\n"
		   "\t# tab-indented comment\n"
		   "user-quota=12 # 4 streams per call\n",
	    NULL, &cause);
	CHECK(cfg != NULL);
	if (cfg == NULL) {
		printf("# %s\n", cause);
		free(cause);
		return;
	}
	CHECKM(cfg->listening_port == 4000 && cfg->tls_listening_port == 4001,
	    "a run of spaces, tabs and '=' separates name and value");
	CHECKM(strcmp(cfg->realm, "unterminated.example") == 0, "a lone opening quote is stripped");
	CHECKM(strcmp(cfg->cipher_list, "HIGH") == 0, "quotes then trailing blanks stripped");
	CHECKM(!cfg->no_udp && !cfg->no_tcp && cfg->verbose && cfg->syslog &&
		!cfg->software_attribute,
	    "coturn's flag values: F, n, T, a digit, Off");
	CHECKM(strcmp(cfg->pidfile, "/tmp/x.pid;") == 0 &&
		has_warning(cfg, ":10: the line ends with a semicolon"),
	    "a trailing semicolon warns as in coturn");
	CHECKM(cfg->user_quota == 12 &&
		has_warning(cfg,
		    ":12: user-quota: the text after the number is ignored: "
		    "# 4 streams per call"),
	    "a comment after a number is ignored with a warning, as coturn's atoi does");
	config_free(cfg);
	cfg = load("user-quota=12 apples\n", NULL, &cause);
	CHECKM(cfg == NULL && strstr(cause, ":1: user-quota: '12 apples' is not a number") != NULL,
	    "other text after a number is an error");
	free(cause);
	cfg = load("no-udp=maybe\n", NULL, &cause);
	CHECKM(cfg == NULL && strstr(cause, ":1: no-udp: 'maybe' is not a yes or no value") != NULL,
	    "a flag value coturn refuses is an error with file:line");
	free(cause);
}

/* Where each value came from, for --check-config. */
static void
test_origins(void)
{
	static const char *const args[] = {"--realm", "cmd.example", "--no-loopback-peers", NULL};
	static const char *const over[] = {"--cli-ip=from-cmdline", NULL};
	const struct config_origin *org;
	struct config *cfg;
	char *cause;

	cfg = load("listening-port=4000\n\nrealm=file.example\ncli-password=pw\n"
		   "user=a:b\nuser=c:d\nallow-loopback-peers\n",
	    args, &cause);
	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	org = config_origin_of(cfg, options_find("listening-port"));
	CHECKM(org->source == CONFIG_SOURCE_FILE && org->line == 1, "file value: line 1");
	org = config_origin_of(cfg, options_find("realm"));
	CHECKM(org->source == CONFIG_SOURCE_CMDLINE, "command line value");
	org = config_origin_of(cfg, options_find("min-port"));
	CHECKM(org->source == CONFIG_SOURCE_DEFAULT, "default value");
	org = config_origin_of(cfg, options_find("user"));
	CHECKM(org->source == CONFIG_SOURCE_FILE && org->line == 6, "a list: its last line");
	org = config_origin_of(cfg, options_find("cli-password"));
	CHECKM(org->source == CONFIG_SOURCE_FILE && org->line == 4 && org->ignored_value != NULL &&
		strcmp(org->ignored_value, "pw") == 0,
	    "an ignored option keeps its value and line");
	CHECKM(!cfg->allow_loopback_peers &&
		config_origin_of(cfg, options_find("allow-loopback-peers"))->source ==
		    CONFIG_SOURCE_CMDLINE,
	    "deprecated no-loopback-peers on the command line overrides the file's "
	    "allow-loopback-peers");
	CHECK(has_warning(cfg, "command line: no-loopback-peers is deprecated"));
	CHECK(config_origin_of(cfg, options_find("sha256"))->ignored_value == NULL);
	config_free(cfg);

	cfg = load("cli-ip=from-file\n", over, &cause);
	org = cfg != NULL ? config_origin_of(cfg, options_find("cli-ip")) : NULL;
	CHECKM(org != NULL && org->source == CONFIG_SOURCE_CMDLINE &&
		strcmp(org->ignored_value, "from-cmdline") == 0,
	    "an ignored option on the command line is not replaced by the file's");
	config_free(cfg);
}

/* Credentials: secure by default, coturn's implications and conflicts. */
static void
test_auth(void)
{
	static const char *const rest[] = {"--static-auth-secret", "s1", "--static-auth-secret=s2",
	    "-C", "/", NULL};
	static const char *const open[] = {"-z", "-u", "a:b", NULL};
	struct config *cfg;
	char *cause;

	cfg = load("realm=example.org\n", NULL, &cause);
	CHECKM(cfg != NULL && cfg->auth && !cfg->use_auth_secret && cfg->users.n == 0,
	    "authentication is on by default");
	CHECK(cfg != NULL && strcmp(cfg->rest_api_separator, ":") == 0 && cfg->stale_nonce == 600);
	config_free(cfg);

	cfg =
	    load("user=alice:secret\nuser bob:0x0123456789abcdef0123456789ABCDEF\n", rest, &cause);
	CHECKM(cfg != NULL && cfg->users.n == 2 &&
		strcmp(cfg->users.v[1], "bob:0x0123456789abcdef0123456789ABCDEF") == 0,
	    "user is repeatable, passwords and keys");
	CHECKM(cfg != NULL && cfg->use_auth_secret && cfg->static_auth_secrets.n == 2,
	    "static-auth-secret implies use-auth-secret, repeatable");
	CHECKM(cfg != NULL && strcmp(cfg->rest_api_separator, "/") == 0, "-C sets the separator");
	CHECKM(cfg != NULL && cfg->realm_from_host && cfg->realm != NULL && cfg->realm[0] != '\0',
	    "no realm: the host name");
	config_free(cfg);

	cfg = load(NULL, open, &cause);
	CHECKM(cfg != NULL && !cfg->auth && has_warning(cfg, "user accounts are ignored"),
	    "no-auth turns authentication off; users ignored with a warning");
	config_free(cfg);

	cfg = load("no-auth\nlt-cred-mech\n", NULL, &cause);
	CHECKM(cfg == NULL && strstr(cause, "no-auth cannot be combined with lt-cred-mech") != NULL,
	    "no-auth with lt-cred-mech refused");
	free(cause);
	cfg = load("no-auth\nstatic-auth-secret=x\n", NULL, &cause);
	CHECKM(cfg == NULL && strstr(cause, "no-auth") != NULL, "no-auth with a secret refused");
	free(cause);
	cfg = load("use-auth-secret\n", NULL, &cause);
	CHECKM(cfg != NULL && has_warning(cfg, "without static-auth-secret"),
	    "use-auth-secret alone warns");
	config_free(cfg);
}

/* Values checked by their row: file:line and the option named. */
static void
test_checked_values(void)
{
	static const char *const bare[] = {"--stale-nonce", "--stale-nonce=0", NULL};
	static const char *const bad[] = {
	    "user=alice\n",
	    "user=:pw\n",
	    "user=alice:0x1234\n",
	    "rest-api-separator=ab\n",
	    "denied-peer-ip=10.0.0.0/33\n",
	    "allowed-peer-ip=10.0.0.9-10.0.0.1\n",
	    "denied-peer-ip=1.2.3.4-::1\n",
	    "stale-nonce=-1\n",
	    "max-allocate-lifetime=0\n",
	};
	struct config *cfg;
	char *cause, want[600];
	const char *name;
	size_t i;

	cfg = load("stale-nonce\nallowed-peer-ip=10.0.0.1-10.0.0.9\ndenied-peer-ip=fc00::/7\n"
		   "allow-loopback-peers\nuser-quota=3\ntotal-quota 10\nchannel-lifetime=60\n"
		   "permission-lifetime=30\nmax-allocate-lifetime=120\n"
		   "stateless-nonce-secret=fleet\n",
	    NULL, &cause);
	CHECK(cfg != NULL);
	if (cfg != NULL) {
		CHECKM(cfg->stale_nonce == 600, "a bare stale-nonce means 600");
		CHECK(cfg->allowed_peer_ip.n == 1 && cfg->denied_peer_ip.n == 1 &&
		    cfg->allow_loopback_peers);
		CHECK(cfg->user_quota == 3 && cfg->total_quota == 10);
		CHECK(cfg->channel_lifetime == 60 && cfg->permission_lifetime == 30 &&
		    cfg->max_allocate_lifetime == 120);
		CHECK(strcmp(cfg->stateless_nonce_secret, "fleet") == 0);
	}
	config_free(cfg);
	cfg = load(NULL, bare, &cause);
	CHECKM(cfg != NULL && cfg->stale_nonce == 0,
	    "--stale-nonce takes no separate argument; --stale-nonce=0 sets 0");
	config_free(cfg);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cfg = load(bad[i], NULL, &cause);
		name = bad[i];
		snprintf(want, sizeof want, "%s:1: %.*s: ", path, (int)strcspn(name, "="), name);
		CHECKM(cfg == NULL && cause != NULL && strncmp(cause, want, strlen(want)) == 0,
		    bad[i]);
		if (cause != NULL)
			printf("# %s\n", cause);
		free(cause);
	}
}

static void
test_files(void)
{
	static const char *const both[] = {"-n", NULL};
	static const char *const missing[] = {"-c", "/nonexistent/turnpike.conf", NULL};
	static const char *const help[] = {"-c", "/nonexistent", "-h", NULL};
	struct config *cfg;
	char *cause;

	cfg = load(NULL, missing, &cause);
	CHECKM(cfg == NULL && strstr(cause, "/nonexistent/turnpike.conf") != NULL,
	    "missing file names it");
	free(cause);
	cfg = load("realm=x\n", both, &cause);
	CHECKM(cfg == NULL && strstr(cause, "-n") != NULL, "-c with -n");
	free(cause);
	cfg = load(NULL, help, &cause);
	CHECKM(cfg != NULL && cfg->help, "-h reads no file");
	config_free(cfg);
	cfg = load("no-udp\n", both + 1, &cause);
	CHECK(cfg != NULL && cfg->no_udp);
	config_free(cfg);
}

static void
test_text(void)
{
	static const char nul[] = "realm=a\0b\n";
	struct config *cfg;
	char *cause;

	CHECK(config_create_text("mem", "", 0, &cfg, &cause) == 0);
	config_free(cfg);
	CHECK(config_create_text("mem", "x\n\nlisting-port=1\n", 18, &cfg, &cause) == 0 &&
	    has_warning(cfg, "mem:3: unknown option 'listing-port'"));
	config_free(cfg);
	CHECK(config_create_text("mem", nul, sizeof nul - 1, &cfg, &cause) == -1);
	free(cause);
	CHECK(config_create_text("mem", "=\n\"\"\n--\n", 8, &cfg, &cause) == 0);
	config_free(cfg);
}

/* Every file option of a and b the same; names the first that differs in *which. */
static bool
all_equal(const struct config *a, const struct config *b, const char **which)
{
	size_t i;

	for (i = 0; i < options_count; i++) {
		if (!(options_table[i].flags & OPTION_CMDLINE) &&
		    !config_option_equal(&options_table[i], a, b)) {
			*which = options_table[i].name;
			return false;
		}
	}
	return true;
}

/* Reload's tools: compare options between configurations, copy one, clone all. */
static void
test_compare_copy_clone(void)
{
	static const char *const args[] = {"--min-port", "40000", NULL};
	struct config *a, *b, *c = NULL;
	const char *which = "";
	char *cause;

	a = load("user=alice:pw\nrealm=r\nlistening-ip=127.0.0.1\nallowed-peer-ip=10.0.0.0/8\n"
		 "cert=/x.pem\npkey=/x.key\nexternal-ip=192.0.2.1/10.0.0.1\n",
	    args, &cause);
	b = load("user=alice:pw\nuser=bob:pw\nrealm=r\nlistening-ip=127.0.0.2\n"
		 "allowed-peer-ip=10.0.0.0/8\ncert=/x.pem\npkey=/x.key\n"
		 "external-ip=192.0.2.1/10.0.0.1\n",
	    args, &cause);
	CHECK(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		goto done;
	CHECKM(!config_option_equal(options_find("user"), a, b) &&
		!config_option_equal(options_find("listening-ip"), a, b) &&
		config_option_equal(options_find("realm"), a, b) &&
		config_option_equal(options_find("allowed-peer-ip"), a, b) &&
		config_option_equal(options_find("external-ip"), a, b) &&
		config_option_equal(options_find("min-port"), a, b),
	    "config_option_equal: strings, addresses, ints by value");
	CHECK(config_option_copy(options_find("user"), b, a) == 0 &&
	    config_option_copy(options_find("listening-ip"), b, a) == 0);
	CHECKM(b->users.n == 1 && strcmp(b->users.v[0], "alice:pw") == 0 &&
		is_ip(&b->listening_ip.v[0], "127.0.0.1") && all_equal(a, b, &which),
	    "config_option_copy: b takes a's values");
	CHECK(config_clone(a, &c) == 0);
	CHECKM(c != NULL && all_equal(a, c, &which) && c->tls == a->tls && c->auth == a->auth &&
		strcmp(c->file, a->file) == 0 && c->users.v[0] != a->users.v[0],
	    "config_clone: every option equal, deep copies");
	if (!all_equal(a, b, &which) || c == NULL || !all_equal(a, c, &which))
		printf("# differs: %s\n", which);
done:
	free(cause);
	config_free(a);
	config_free(b);
	config_free(c);
}

/* The shipped sample configuration is valid as it stands. */
static void
test_sample(void)
{
	static const char *const args[] = {"-c", TEST_DATADIR "/../../etc/turnpike.conf", NULL};
	struct config *cfg;
	char *cause;

	cfg = load(NULL, args, &cause);
	CHECKM(cfg != NULL && cfg->nwarnings == 1, "etc/turnpike.conf parses");
	if (cfg == NULL)
		printf("# %s\n", cause);
	free(cause);
	config_free(cfg);
}

int
main(void)
{
	char cmd[600];

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_defaults();
	test_syntax();
	test_lists();
	test_cmdline();
	test_errors();
	test_warnings();
	test_coturn_syntax();
	test_origins();
	test_auth();
	test_checked_values();
	test_files();
	test_text();
	test_compare_copy_clone();
	test_sample();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return 1;
	return unit_done();
}
