/*
 * turnpikectl doctor: reads the configuration with turnpiked's own parser,
 * runs the checks (doctorcert.c, doctornet.c) and prints one line per check,
 * or a JSON array with --json, and a ready iceServers block.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "turnpike/addr.h"
#include "turnpike/config.h"
#include "turnpike/doctor.h"
#include "turnpike/netio.h"
#include "turnpike/store.h"

#define DOCTOR_USAGE 2
#define DOCTOR_SECRET_MAX 256

struct doctor_opts {
	const char *config_file;
	const char *host;
	const char *user, *password, *secret;
	const char *ca_file;
	unsigned long ttl;
	unsigned long timeout_ms;
	bool json;
};

/* Everything one run owns. */
struct doctor {
	struct doctor_opts o;
	struct config *cfg;
	struct doctor_report report;
	struct doctor_net net;
	char secret[DOCTOR_SECRET_MAX]; /* from the store */
	char *user_copy;                /* NAME of a config user NAME:PASSWORD */
	json_t *ice;
};

enum {
	DOCTOR_OPT_JSON = 0x2000,
	DOCTOR_OPT_HOST,
	DOCTOR_OPT_USER,
	DOCTOR_OPT_PASSWORD,
	DOCTOR_OPT_SECRET,
	DOCTOR_OPT_CA,
	DOCTOR_OPT_TTL,
	DOCTOR_OPT_TIMEOUT,
};

static const struct option doctor_longopts[] = {
    {"config", required_argument, NULL, 'c'},
    {"json", no_argument, NULL, DOCTOR_OPT_JSON},
    {"host", required_argument, NULL, DOCTOR_OPT_HOST},
    {"user", required_argument, NULL, DOCTOR_OPT_USER},
    {"password", required_argument, NULL, DOCTOR_OPT_PASSWORD},
    {"secret", required_argument, NULL, DOCTOR_OPT_SECRET},
    {"ca", required_argument, NULL, DOCTOR_OPT_CA},
    {"ttl", required_argument, NULL, DOCTOR_OPT_TTL},
    {"timeout", required_argument, NULL, DOCTOR_OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const doctor_status_names[] = {"pass", "warn", "fail", "skip"};

const char *
doctor_status_name(enum doctor_status status)
{
	return doctor_status_names[status];
}

void
doctor_report_add(struct doctor_report *r, const char *name, enum doctor_status status,
    const char *fmt, ...)
{
	struct doctor_check *c;
	va_list ap;

	if (r->n >= DOCTOR_CHECKS_MAX)
		return;
	c = &r->v[r->n++];
	c->name = name;
	c->status = status;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof c->detail, fmt, ap);
	va_end(ap);
}

bool
doctor_report_failed(const struct doctor_report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->v[i].status == DOCTOR_FAIL)
			return true;
	}
	return false;
}

bool
doctor_is_invocation(int argc, char **argv)
{
	return argc > 1 && strcmp(argv[1], "doctor") == 0;
}

void
doctor_usage(FILE *f)
{
	fputs("checking a configuration and its running server:\n"
	      "  turnpikectl doctor [-c CONFIG] [--json] [--host NAME] [--ca FILE]\n"
	      "                     [--user NAME (--password PASS | --secret SECRET)]\n"
	      "                     [--ttl SECONDS] [--timeout MS]\n",
	    f);
}

static int
doctor_parse(struct doctor_opts *o, int argc, char **argv)
{
	int ch;

	o->ttl = 86400;
	o->timeout_ms = 2000;
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "c:h", doctor_longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_file = optarg;
			break;
		case DOCTOR_OPT_JSON:
			o->json = true;
			break;
		case DOCTOR_OPT_HOST:
			o->host = optarg;
			break;
		case DOCTOR_OPT_USER:
			o->user = optarg;
			break;
		case DOCTOR_OPT_PASSWORD:
			o->password = optarg;
			break;
		case DOCTOR_OPT_SECRET:
			o->secret = optarg;
			break;
		case DOCTOR_OPT_CA:
			o->ca_file = optarg;
			break;
		case DOCTOR_OPT_TTL:
			if (netio_parse_number(optarg, 60, 7 * 86400, &o->ttl) == -1)
				goto bad;
			break;
		case DOCTOR_OPT_TIMEOUT:
			if (netio_parse_number(optarg, 100, 60000, &o->timeout_ms) == -1)
				goto bad;
			break;
		case 'h':
			doctor_usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc || (o->password != NULL && o->secret != NULL) ||
	    ((o->password != NULL) != (o->user != NULL) && o->secret == NULL))
		goto bad;
	return 0;
bad:
	doctor_usage(stderr);
	return -1;
}

static const char *
doctor_first_unknown(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nwarnings; i++) {
		if (strstr(cfg->warnings[i], ": unknown option '") != NULL)
			return cfg->warnings[i];
	}
	return "";
}

/* The daemon's parser on the daemon's search path (or -c FILE). */
static void
doctor_config(struct doctor *d)
{
	const char *argv[] = {"turnpiked", "-c", d->o.config_file, NULL};
	char *cause = NULL;

	if (config_create(d->o.config_file != NULL ? 3 : 1, argv, &d->cfg, &cause) == -1) {
		doctor_report_add(&d->report, "config", DOCTOR_FAIL, "%s",
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return;
	}
	if (d->cfg->nunknown > 0)
		doctor_report_add(&d->report, "config", DOCTOR_FAIL,
		    "%zu unknown option%s (a typo?), which turnpiked ignores: %s", d->cfg->nunknown,
		    d->cfg->nunknown == 1 ? "" : "s", doctor_first_unknown(d->cfg));
	else if (d->cfg->nwarnings > 0)
		doctor_report_add(&d->report, "config", DOCTOR_WARN, "%s: valid, %zu warning%s: %s",
		    d->cfg->file != NULL ? d->cfg->file : "(no file)", d->cfg->nwarnings,
		    d->cfg->nwarnings == 1 ? "" : "s", d->cfg->warnings[0]);
	else
		doctor_report_add(&d->report, "config", DOCTOR_PASS,
		    "%s: valid (the turnpiked parser and option table)",
		    d->cfg->file != NULL ? d->cfg->file : "no configuration file found: defaults");
}

static void
doctor_certificate(struct doctor *d)
{
	struct doctor_cert_opts co = {
	    .cert = d->cfg->cert,
	    .pkey = d->cfg->pkey,
	    .ca_file = d->o.ca_file,
	    .now = time(NULL),
	};

	if (d->o.host != NULL) {
		co.host = d->o.host;
		co.host_from = "--host";
		co.host_must_match = true;
	} else if (d->cfg->server_name != NULL) {
		co.host = d->cfg->server_name;
		co.host_from = "server-name";
		co.host_must_match = true;
	} else if (d->cfg->realm != NULL) {
		co.host = d->cfg->realm;
		co.host_from = "realm";
	}
	if (d->cfg->no_tls && d->cfg->no_dtls)
		co.cert = NULL;
	doctor_cert_check(&d->report, &co);
}

static int
doctor_secret_row(void *arg, const struct store_row *row)
{
	struct doctor *d = arg;

	if (d->secret[0] == '\0' && row->value != NULL)
		snprintf(d->secret, sizeof d->secret, "%s", row->value);
	return 0;
}

/* A REST secret of the realm from the userdb (any engine), when it exists. */
static bool
doctor_store_secret(struct doctor *d)
{
	struct store_spec spec;
	struct store *s;
	char *cause = NULL;

	if (d->cfg->userdb == NULL || store_spec_parse(d->cfg->userdb, &spec, &cause) == -1) {
		free(cause);
		return false;
	}
	/* Never create an SQLite file that is not there. */
	if (spec.kind == STORE_SQLITE && access(spec.conn, R_OK) != 0)
		return false;
	if (store_open_spec(&spec, 1000, &s, &cause) == -1) {
		free(cause);
		return false;
	}
	if (store_secret_list(s, d->cfg->realm, doctor_secret_row, d, &cause) == -1)
		free(cause);
	store_close(s);
	return d->secret[0] != '\0';
}

/* A user NAME:PASSWORD from the configuration, unless given as a key (0x...). */
static bool
doctor_config_user(struct doctor *d)
{
	const char *colon;
	size_t i;

	for (i = 0; i < d->cfg->users.n; i++) {
		const char *u = d->cfg->users.v[i];

		if ((colon = strchr(u, ':')) == NULL || strncmp(colon + 1, "0x", 2) == 0)
			continue;
		if ((d->user_copy = strndup(u, (size_t)(colon - u))) == NULL)
			return false;
		d->net.creds.user = d->user_copy;
		d->net.creds.password = colon + 1;
		d->net.creds.from = "a user from the configuration";
		return true;
	}
	return false;
}

/* Which credentials the relay and clock checks use, first found wins. */
static void
doctor_creds(struct doctor *d)
{
	struct doctor_creds *c = &d->net.creds;
	const char *rest_user = d->o.user != NULL ? d->o.user : "doctor";

	if (d->o.secret != NULL) {
		*c = (struct doctor_creds){.user = rest_user,
		    .secret = d->o.secret,
		    .from = "REST credentials from --secret"};
	} else if (d->o.password != NULL) {
		*c = (struct doctor_creds){.user = d->o.user,
		    .password = d->o.password,
		    .from = "--user"};
	} else if (!d->cfg->auth) {
		*c = (struct doctor_creds){.none = true, .from = "no credentials (no-auth)"};
	} else if (d->cfg->static_auth_secrets.n > 0) {
		*c = (struct doctor_creds){.user = rest_user,
		    .secret = d->cfg->static_auth_secrets.v[0],
		    .from = "REST credentials from static-auth-secret"};
	} else if (d->cfg->use_auth_secret && doctor_store_secret(d)) {
		*c = (struct doctor_creds){.user = rest_user,
		    .secret = d->secret,
		    .from = "REST credentials from the userdb's secret"};
	} else {
		doctor_config_user(d);
	}
}

static int
doctor_ice_add_url(json_t *urls, const char *scheme, const char *host, int port,
    const char *transport)
{
	char url[512];

	snprintf(url, sizeof url, "%s:%s:%d%s%s", scheme, host, port,
	    transport != NULL ? "?transport=" : "", transport != NULL ? transport : "");
	return json_array_append_new(urls, json_string(url));
}

/* The URLs for one host (a name, or an address formatted for a URL). */
static void
doctor_ice_urls(const struct config *cfg, json_t *urls, const char *host)
{
	if (!cfg->no_udp) {
		doctor_ice_add_url(urls, "stun", host, cfg->listening_port, NULL);
		doctor_ice_add_url(urls, "turn", host, cfg->listening_port, "udp");
	}
	if (!cfg->no_tcp)
		doctor_ice_add_url(urls, "turn", host, cfg->listening_port, "tcp");
	if (cfg->tls)
		doctor_ice_add_url(urls, "turns", host, cfg->tls_listening_port, "tcp");
}

static void
doctor_ice_addr(const struct config *cfg, json_t *urls, const struct sockaddr *sa)
{
	char a[ADDR_STRLEN], host[ADDR_STRLEN + 2];

	addr_fmt(sa, false, a, sizeof a);
	snprintf(host, sizeof host, addr_is_v6(sa) ? "[%s]" : "%s", a);
	doctor_ice_urls(cfg, urls, host);
}

/* Where clients connect: --host, else the external addresses, else the listeners. */
static json_t *
doctor_ice_all_urls(struct doctor *d)
{
	const struct config *cfg = d->cfg;
	json_t *urls = json_array();
	size_t i;

	if (urls == NULL)
		return NULL;
	if (d->o.host != NULL) {
		doctor_ice_urls(cfg, urls, d->o.host);
	} else if (cfg->external_ip.n > 0) {
		for (i = 0; i < cfg->external_ip.n; i++)
			doctor_ice_addr(cfg, urls,
			    (const struct sockaddr *)&cfg->external_ip.v[i].public_ip);
	} else if (cfg->listening_ip.n > 0 &&
	    !addr_is_any((const struct sockaddr *)&cfg->listening_ip.v[0])) {
		for (i = 0; i < cfg->listening_ip.n; i++)
			doctor_ice_addr(cfg, urls,
			    (const struct sockaddr *)&cfg->listening_ip.v[i]);
	} else {
		doctor_ice_addr(cfg, urls, (const struct sockaddr *)&d->net.server);
	}
	return urls;
}

/* The credentials of the iceServers entry: REST ones valid for --ttl, or those given. */
static const char *
doctor_ice_creds(struct doctor *d, json_t *server)
{
	const struct doctor_creds *c = &d->net.creds;
	char user[300], pass[64];

	if (c->none)
		return "no credentials needed (no-auth)";
	if (c->secret != NULL) {
		if (doctor_net_rest(d->cfg, c->secret, c->user,
			(int64_t)time(NULL) + (int64_t)d->o.ttl, user, sizeof user, pass,
			sizeof pass) == -1)
			return "no credentials: the REST user name is too long";
		json_object_set_new(server, "username", json_string(user));
		json_object_set_new(server, "credential", json_string(pass));
		explicit_bzero(pass, sizeof pass);
		return "REST credentials valid for --ttl seconds";
	}
	if (c->user != NULL) { /* a long-term password is a secret: never printed */
		json_object_set_new(server, "username", json_string(c->user));
		json_object_set_new(server, "credential", json_string("PASSWORD"));
		return "long-term credentials: fill in the user's password (not printed)";
	}
	json_object_set_new(server, "username", json_string("USERNAME"));
	json_object_set_new(server, "credential", json_string("PASSWORD"));
	return "fill in a user's name and password";
}

static void
doctor_ice(struct doctor *d)
{
	json_t *server = json_object(), *urls = doctor_ice_all_urls(d);
	const char *how;

	if (server == NULL || urls == NULL || (d->ice = json_array()) == NULL) {
		json_decref(server);
		json_decref(urls);
		doctor_report_add(&d->report, "ice-servers", DOCTOR_FAIL, "out of memory");
		return;
	}
	json_object_set_new(server, "urls", urls);
	how = doctor_ice_creds(d, server);
	json_array_append_new(d->ice, server);
	doctor_report_add(&d->report, "ice-servers",
	    json_array_size(urls) > 0 ? DOCTOR_PASS : DOCTOR_FAIL, "%zu URL%s, %s",
	    json_array_size(urls), json_array_size(urls) == 1 ? "" : "s", how);
}

static void
doctor_skip_rest(struct doctor *d, const char *why)
{
	static const char *const names[] = {"certificate", "listeners", "external-ip", "relay",
	    "clock", "ice-servers"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		doctor_report_add(&d->report, names[i], DOCTOR_SKIP, "%s", why);
}

static void
doctor_run(struct doctor *d)
{
	doctor_config(d);
	if (d->cfg == NULL) {
		doctor_skip_rest(d, "the configuration is not valid");
		return;
	}
	doctor_certificate(d);
	d->net.cfg = d->cfg;
	d->net.ca_file = d->o.ca_file;
	d->net.timeout_ms = (unsigned int)d->o.timeout_ms;
	doctor_net_target(d->cfg, &d->net.server);
	doctor_creds(d);
	doctor_net_listeners(&d->report, &d->net);
	doctor_net_external(&d->report, &d->net);
	doctor_net_relay(&d->report, &d->net);
	doctor_net_clock(&d->report, &d->net);
	doctor_ice(d);
}

static int
doctor_print_json(const struct doctor *d)
{
	json_t *arr = json_array(), *o;
	size_t i;
	int rc;

	if (arr == NULL)
		return -1;
	for (i = 0; i < d->report.n; i++) {
		const struct doctor_check *c = &d->report.v[i];

		o = json_pack("{s:s, s:s, s:s}", "name", c->name, "status",
		    doctor_status_name(c->status), "detail", c->detail);
		if (o == NULL) {
			json_decref(arr);
			return -1;
		}
		if (strcmp(c->name, "ice-servers") == 0 && d->ice != NULL)
			json_object_set(o, "iceServers", d->ice);
		json_array_append_new(arr, o);
	}
	rc = json_dumpf(arr, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(arr);
	return rc;
}

static void
doctor_print_text(const struct doctor *d)
{
	size_t i;
	char *ice;

	for (i = 0; i < d->report.n; i++) {
		const struct doctor_check *c = &d->report.v[i];

		printf("%-4s  %-13s %s\n", doctor_status_name(c->status), c->name, c->detail);
	}
	if (d->ice != NULL && (ice = json_dumps(d->ice, JSON_INDENT(2))) != NULL) {
		printf("\niceServers:\n%s\n", ice);
		free(ice);
	}
}

int
doctor_main(int argc, char **argv)
{
	struct doctor d;
	int rc;

	memset(&d, 0, sizeof d);
	if (doctor_parse(&d.o, argc - 1, argv + 1) == -1)
		return DOCTOR_USAGE;
	signal(SIGPIPE, SIG_IGN);
	doctor_run(&d);
	if (d.o.json)
		doctor_print_json(&d);
	else
		doctor_print_text(&d);
	rc = fflush(stdout) != 0 || doctor_report_failed(&d.report) ? 1 : 0;
	json_decref(d.ice);
	free(d.user_copy);
	explicit_bzero(d.secret, sizeof d.secret);
	config_free(d.cfg);
	return rc;
}
