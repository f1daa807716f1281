/*
 * The option table and what is derived from it for people: --help, the man
 * page OPTIONS sections and the sample configuration file.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/alternate.h"
#include "turnpike/config.h"
#include "turnpike/log.h"
#include "turnpike/mysqlconn.h"
#include "turnpike/options.h"
#include "turnpike/peerpolicy.h"
#include "turnpike/redisconn.h"

#define OFF(field) offsetof(struct config, field)

/* coturn options a real turnserver.conf may hold, not implemented yet. */
#define UNIMPL_FLAG(n, s, h)                                                                       \
	{                                                                                          \
		.name = (n), .short_flag = (s), .type = OPTION_FLAG, .flags = OPTION_UNIMPL,       \
		.offset = OPTION_NOWHERE, .help = (h)                                              \
	}
#define UNIMPL_ARG(n, a, s, arg_, h)                                                               \
	{                                                                                          \
		.name = (n), .alias = (a), .short_flag = (s), .type = OPTION_STRING,               \
		.flags = OPTION_UNIMPL, .offset = OPTION_NOWHERE, .arg = (arg_), .help = (h)       \
	}
/* The same for values that hold a password (masked by --check-config). */
#define UNIMPL_SECRET(n, a, s, arg_, h)                                                            \
	{                                                                                          \
		.name = (n), .alias = (a), .short_flag = (s), .type = OPTION_STRING,               \
		.flags = OPTION_UNIMPL | OPTION_SECRET, .offset = OPTION_NOWHERE, .arg = (arg_),   \
		.help = (h)                                                                        \
	}
/* coturn options that coturn itself removed or renamed: warn, apply the replacement (if any). */
#define DEPRECATED_FLAG(n, to, h)                                                                  \
	{                                                                                          \
		.name = (n), .type = OPTION_FLAG, .flags = OPTION_DEPRECATED,                      \
		.offset = OPTION_NOWHERE, .help = (h), .maps_to = (to)                             \
	}

/* user: "name:password" or "name:0x" and the 32 hex digits of an MD5 key. */
static int
options_check_user(const char *value, char *err, size_t errlen)
{
	const char *colon = strchr(value, ':'), *key;
	size_t i;

	if (colon == NULL || colon == value || colon[1] == '\0') {
		snprintf(err, errlen, "expected NAME:PASSWORD or NAME:0xKEY");
		return -1;
	}
	if (strncmp(colon + 1, "0x", 2) != 0)
		return 0;
	key = colon + 3;
	for (i = 0; isxdigit((unsigned char)key[i]); i++)
		continue;
	if (i != 32 || key[i] != '\0') {
		snprintf(err, errlen, "the key after 0x must be 32 hex digits (an MD5 key)");
		return -1;
	}
	return 0;
}

/* allowed-peer-ip, denied-peer-ip: one address, A-B or a CIDR block. */
static int
options_check_range(const char *value, char *err, size_t errlen)
{
	struct peerpolicy_range r;
	const char *errstr;

	if (peerpolicy_parse_range(value, &r, &errstr) != 0) {
		snprintf(err, errlen, "'%s' is not an address range: %s", value, errstr);
		return -1;
	}
	return 0;
}

/* proxy-protocol: a comma-separated list of tcp, tls and udp. */
static int
options_check_proxy_protocol(const char *value, char *err, size_t errlen)
{
	const char *p = value;
	size_t n;

	for (;;) {
		n = strcspn(p, ",");
		if (n != 3 ||
		    (strncmp(p, "tcp", 3) != 0 && strncmp(p, "tls", 3) != 0 &&
			strncmp(p, "udp", 3) != 0)) {
			snprintf(err, errlen, "'%s' is not a list of tcp, tls and udp", value);
			return -1;
		}
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

static int
options_check_char(const char *value, char *err, size_t errlen)
{
	if (strlen(value) != 1 || !isgraph((unsigned char)value[0])) {
		snprintf(err, errlen, "'%s' is not one printable character", value);
		return -1;
	}
	return 0;
}

int
options_parse_permille(const char *value, uint32_t *out)
{
	char *end;
	double v;

	if (value == NULL || !(isdigit((unsigned char)value[0]) || value[0] == '.'))
		return -1;
	v = strtod(value, &end);
	if (*end != '\0' || !(v >= 0.001 && v <= 1.0))
		return -1;
	*out = (uint32_t)(v * 1000.0 + 0.5);
	return 0;
}

/* fleet-redis: coturn's Redis connection string. */
static int
options_check_redisconn(const char *value, char *err, size_t errlen)
{
	struct redisconn rc;
	const char *errstr;

	if (redisconn_parse(value, &rc, &errstr) != 0) {
		snprintf(err, errlen, "not a Redis connection string: %s", errstr);
		return -1;
	}
	return 0;
}

/* mysql-userdb: coturn's MySQL connection string (the error names the bad key). */
static int
options_check_mysqlconn(const char *value, char *err, size_t errlen)
{
	struct mysqlconn *c;
	char *cause = NULL;
	int rc = 0;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (mysqlconn_parse(value, c, &cause) != 0) {
		snprintf(err, errlen, "not a MySQL connection string: %s",
		    cause != NULL ? cause : "out of memory");
		rc = -1;
	}
	explicit_bzero(c, sizeof *c);
	free(c);
	free(cause);
	return rc;
}

/* fleet-redirect-at: a fraction above 0 and at most 1, e.g. 0.9. */
static int
options_check_fraction(const char *value, char *err, size_t errlen)
{
	uint32_t pm;

	if (options_parse_permille(value, &pm) != 0) {
		snprintf(err, errlen, "'%s' is not a fraction from 0.001 to 1 (e.g. 0.9)", value);
		return -1;
	}
	return 0;
}

/* fleet-advertise: IP[:PORT] (an IPv6 address with a port in brackets). */
static int
options_check_ipport(const char *value, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (addr_parse(value, 3478, &ss, &errstr) != 0 || addr_is_any((struct sockaddr *)&ss)) {
		snprintf(err, errlen, "'%s' is not IP[:PORT] a client can reach%s%s", value,
		    errstr != NULL ? ": " : "", errstr != NULL ? errstr : "");
		return -1;
	}
	return 0;
}

/* prometheus-address: one IP address, no port. */
static int
options_check_ip(const char *value, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (addr_parse_ip(value, &ss, &errstr) != 0) {
		snprintf(err, errlen, "'%s' is not an IP address: %s", value, errstr);
		return -1;
	}
	return 0;
}

static int
options_check_level(const char *value, char *err, size_t errlen)
{
	enum log_level level;

	if (log_level_parse(value, &level) != 0) {
		snprintf(err, errlen, "'%s' is not error, warning, info or debug", value);
		return -1;
	}
	return 0;
}

static int
options_check_format(const char *value, char *err, size_t errlen)
{
	enum log_format format;

	if (log_format_parse(value, &format) != 0) {
		snprintf(err, errlen, "'%s' is not text or json", value);
		return -1;
	}
	return 0;
}

static int
options_check_fast_path(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "auto") != 0 && strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
		snprintf(err, errlen, "'%s' is not auto, on or off", value);
		return -1;
	}
	return 0;
}

static int
options_check_relay_sockets(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "per-allocation") != 0 && strcmp(value, "shared") != 0) {
		snprintf(err, errlen, "'%s' is not per-allocation or shared", value);
		return -1;
	}
	return 0;
}

static int
options_check_facility(const char *value, char *err, size_t errlen)
{
	int facility;

	if (log_facility_parse(value, &facility) != 0) {
		snprintf(err, errlen,
		    "'%s' is not a syslog facility (LOG_USER, LOG_LOCAL0 to LOG_LOCAL7, ...)",
		    value);
		return -1;
	}
	return 0;
}

/* alternate-server, tls-alternate-server: IP[:PORT][/DOMAIN]. */
static int
options_check_alternate(const char *value, char *err, size_t errlen)
{
	struct alternate_set *set = alternate_set_create();
	char *cause = NULL;
	int rc = 0;

	if (set == NULL || alternate_set_add(set, ALTERNATE_PLAIN, value, &cause) != 0) {
		snprintf(err, errlen, "%s", cause != NULL ? cause : "out of memory");
		rc = -1;
	}
	free(cause);
	alternate_set_free(set);
	return rc;
}

static int
options_check_hmac(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "sha1") != 0 && strcmp(value, "sha256") != 0) {
		snprintf(err, errlen, "'%s' is not sha1 or sha256", value);
		return -1;
	}
	return 0;
}

/* new-log-timestamp-format: a strftime format, with room for its expansion. */
static int
options_check_time_format(const char *value, char *err, size_t errlen)
{
	if (strlen(value) > 32) {
		snprintf(err, errlen, "longer than 32 characters");
		return -1;
	}
	return 0;
}

const struct option_entry options_table[] = {
    /* Command line only. */
    {.name = "config-file",
	.short_flag = 'c',
	.type = OPTION_PATH,
	.flags = OPTION_CMDLINE,
	.offset = OFF(config_file),
	.arg = "FILE",
	.help = "Read this configuration file instead of searching for "
		"turnpike.conf or turnserver.conf."},
    {.name = "no-config-file",
	.short_flag = 'n',
	.type = OPTION_FLAG,
	.flags = OPTION_CMDLINE,
	.offset = OFF(no_config_file),
	.help = "Read no configuration file: every option comes from the command line."},
    {.name = "help",
	.short_flag = 'h',
	.type = OPTION_FLAG,
	.flags = OPTION_CMDLINE,
	.offset = OFF(help),
	.help = "Print the options and exit."},
    {.name = "version",
	.type = OPTION_FLAG,
	.flags = OPTION_CMDLINE,
	.offset = OFF(version),
	.help = "Print the version and exit."},
    {.name = "dump-options",
	.type = OPTION_STRING,
	.flags = OPTION_CMDLINE,
	.offset = OFF(dump_options),
	.arg = "FORMAT",
	.help = "Print the documentation generated from the option table and "
		"exit: names (one option name per line), man (OPTIONS of "
		"turnpiked.8), man5 (OPTIONS of turnpike.conf.5) or conf (the "
		"sample turnpike.conf)."},
    {.name = "check-config",
	.type = OPTION_FLAG,
	.flags = OPTION_CMDLINE,
	.offset = OFF(check_config),
	.help = "Read and validate the configuration file and command line, load the "
		"TLS certificate and key, bind nothing; print every option with its "
		"value and where it came from (default, FILE:LINE or command line), "
		"secrets masked, and exit 0; or print the error and exit 1."},

    /* Listeners. */
    {.name = "listening-port",
	.short_flag = 'p',
	.type = OPTION_INT,
	.def = "3478",
	.min = 1,
	.max = 65535,
	.offset = OFF(listening_port),
	.arg = "PORT",
	.help = "UDP and TCP port for STUN and TURN."},
    {.name = "tls-listening-port",
	.type = OPTION_INT,
	.def = "5349",
	.min = 1,
	.max = 65535,
	.offset = OFF(tls_listening_port),
	.arg = "PORT",
	.help = "TCP port for STUN and TURN over TLS, and UDP port for DTLS (plain STUN "
		"and TURN are served on it too)."},
    {.name = "listening-ip",
	.short_flag = 'L',
	.type = OPTION_ADDRS,
	.def = "0.0.0.0 ::",
	.offset = OFF(listening_ip),
	.arg = "IP",
	.help = "Address to listen on, IPv4 or IPv6; repeatable."},
    {.name = "no-udp", .type = OPTION_FLAG, .offset = OFF(no_udp), .help = "Do not listen on UDP."},
    {.name = "no-tcp", .type = OPTION_FLAG, .offset = OFF(no_tcp), .help = "Do not listen on TCP."},
    {.name = "no-tls",
	.type = OPTION_FLAG,
	.offset = OFF(no_tls),
	.help = "Do not listen on TLS. Without cert and pkey TLS is off anyway."},
    {.name = "no-dtls",
	.type = OPTION_FLAG,
	.offset = OFF(no_dtls),
	.help = "Do not serve DTLS (RFC 7350) on UDP. Without cert and pkey DTLS is off "
		"anyway; with them, DTLS 1.2 is served on the UDP tls-listening-port and "
		"recognised on the UDP listening-port, as in coturn."},
    {.name = "tcp-proxy-port",
	.type = OPTION_INT,
	.def = "0",
	.min = 0,
	.max = 65535,
	.offset = OFF(tcp_proxy_port),
	.arg = "PORT",
	.help = "An extra TCP port, on every listening-ip, for a load balancer: each "
		"connection starts with a PROXY protocol header (version 1 or 2) from an "
		"address in proxy-protocol-from, then speaks TLS or plain STUN/TURN. "
		"0: none."},
    {.name = "proxy-protocol",
	.type = OPTION_STRING,
	.offset = OFF(proxy_protocol),
	.arg = "tcp,tls,udp",
	.check = options_check_proxy_protocol,
	.help = "Listeners whose every connection starts with a PROXY protocol header "
		"(version 1 or 2), comma-separated: tcp (listening-port), tls "
		"(tls-listening-port); udp: every datagram to listening-port starts with "
		"a version 2 header, and answers go back through the balancer. The "
		"header's source address becomes the client's address everywhere; a "
		"missing, malformed, late (5 s) or untrusted header closes the "
		"connection or drops the datagram."},
    {.name = "proxy-protocol-from",
	.type = OPTION_STRINGS,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(proxy_protocol_from),
	.arg = "IP[-IP]|CIDR",
	.check = options_check_range,
	.help = "Load balancer addresses a PROXY protocol header is accepted from: "
		"an address, a range A-B or a CIDR block; repeatable. With none, the "
		"listeners of tcp-proxy-port and proxy-protocol refuse every connection."},

    /* TLS. */
    {.name = "cert",
	.type = OPTION_PATH,
	.offset = OFF(cert),
	.flags = OPTION_RELOADABLE,
	.arg = "FILE",
	.help = "TLS and DTLS certificate chain, PEM. Needs pkey."},
    {.name = "pkey",
	.type = OPTION_PATH,
	.offset = OFF(pkey),
	.flags = OPTION_RELOADABLE,
	.arg = "FILE",
	.help = "TLS and DTLS private key, PEM, not encrypted. Needs cert."},
    {.name = "cipher-list",
	.type = OPTION_STRING,
	.def = "DEFAULT",
	.flags = OPTION_RELOADABLE,
	.offset = OFF(cipher_list),
	.arg = "CIPHERS",
	.help = "OpenSSL cipher list for TLS 1.2 and DTLS 1.2; TLS 1.3 uses OpenSSL's "
		"defaults. TLS 1.0, 1.1 and DTLS 1.0 are never offered."},

    /* Relay. */
    {.name = "relay-ip",
	.short_flag = 'E',
	.type = OPTION_ADDRS,
	.offset = OFF(relay_ip),
	.def_text = "the listening addresses; for a wildcard listener every interface "
		    "address of its family but IPv6 link-local ones",
	.arg = "IP",
	.help = "Local address for relay endpoints; repeatable. A client gets its relay "
		"on the address it reached when that is one, else on another of the "
		"requested family; without relay-ip, loopback relays go to loopback "
		"clients only."},
    {.name = "external-ip",
	.short_flag = 'X',
	.type = OPTION_EXTERNAL,
	.offset = OFF(external_ip),
	.arg = "PUBLIC[/PRIVATE]",
	.help = "Public address of a server behind NAT; repeatable. With /PRIVATE, "
		"relays bound to PRIVATE advertise PUBLIC in XOR-RELAYED-ADDRESS; a bare "
		"PUBLIC is advertised for every other relay of its address family. The "
		"NAT must keep the port numbers."},
    {.name = "min-port",
	.type = OPTION_INT,
	.def = "49152",
	.min = 1,
	.max = 65535,
	.offset = OFF(min_port),
	.arg = "PORT",
	.help = "Lowest UDP port for relay endpoints."},
    {.name = "max-port",
	.type = OPTION_INT,
	.def = "65535",
	.min = 1,
	.max = 65535,
	.offset = OFF(max_port),
	.arg = "PORT",
	.help = "Highest UDP port for relay endpoints; not below min-port. Ports are "
		"picked at random in the range for each relay address."},
    {.name = "max-allocate-lifetime",
	.type = OPTION_INT,
	.flags = OPTION_RELOADABLE,
	.def = "3600",
	.min = 1,
	.max = 86400,
	.offset = OFF(max_allocate_lifetime),
	.arg = "SECONDS",
	.help = "Longest allocation lifetime a client may ask for; the default "
		"lifetime is 600 seconds or this, if lower."},
    {.name = "channel-lifetime",
	.type = OPTION_INT,
	.flags = OPTION_RELOADABLE,
	.def = "600",
	.min = 1,
	.max = 86400,
	.offset = OFF(channel_lifetime),
	.arg = "SECONDS",
	.help = "Lifetime of a channel binding (RFC 8656 says 600: change it for tests only)."},
    {.name = "permission-lifetime",
	.type = OPTION_INT,
	.flags = OPTION_RELOADABLE,
	.def = "300",
	.min = 1,
	.max = 86400,
	.offset = OFF(permission_lifetime),
	.arg = "SECONDS",
	.help = "Lifetime of a permission (RFC 8656 says 300: change it for tests only)."},
    {.name = "user-quota",
	.short_flag = 'q',
	.type = OPTION_INT,
	.flags = OPTION_RELOADABLE,
	.def = "0",
	.min = 0,
	.max = 1000000000,
	.offset = OFF(user_quota),
	.arg = "N",
	.help = "Concurrent allocations one user name of a realm may hold (486 beyond), "
		"counted across all worker threads; 0 means unlimited. A realm's user-quota "
		"in the store overrides it there."},
    {.name = "total-quota",
	.short_flag = 'Q',
	.type = OPTION_INT,
	.flags = OPTION_RELOADABLE,
	.def = "0",
	.min = 0,
	.max = 1000000000,
	.offset = OFF(total_quota),
	.arg = "N",
	.help = "Concurrent allocations in a realm (486 beyond; as in coturn, each realm "
		"of the store counts its own, so with one realm: the whole server); 0 means "
		"unlimited. A realm's total-quota in the store overrides it there."},
    {.name = "max-bps",
	.short_flag = 's',
	.type = OPTION_INT,
	.def = "0",
	.min = 0,
	.max = 1000000000,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(max_bps),
	.arg = "BYTES",
	.help = "Bytes per second relayed for one session, limited in each direction "
		"separately with a burst of one second; excess packets are dropped. 0 means "
		"unlimited. A realm's max-bps in the store overrides it for the new sessions "
		"of that realm."},
    {.name = "bps-capacity",
	.short_flag = 'B',
	.type = OPTION_INT,
	.def = "0",
	.min = 0,
	.max = 1000000000,
	.offset = OFF(bps_capacity),
	.arg = "BYTES",
	.help = "Bytes per second relayed by the whole server in each direction: client "
		"to peer and peer to client are limited separately (as coturn), each worker "
		"thread gets an equal share of each; excess packets are dropped. 0 means "
		"unlimited."},
    {.name = "fast-path",
	.type = OPTION_STRING,
	.def = "auto",
	.offset = OFF(fast_path),
	.arg = "auto|on|off",
	.check = options_check_fast_path,
	.help = "Relay established UDP channels (ChannelData) in the kernel, with eBPF "
		"programs on the tc ingress hook of every interface that is up (but loopback): "
		"auto uses it when the programs load and attach (CAP_BPF and CAP_NET_ADMIN) "
		"and otherwise logs why and relays in the daemon, on refuses to start without "
		"it, off never loads it. Sessions with max-bps or bps-capacity, behind PROXY "
		"v2, over TCP, TLS or DTLS, and Send and Data indications stay in the daemon."},
    {.name = "relay-sockets",
	.type = OPTION_STRING,
	.def = "per-allocation",
	.offset = OFF(relay_sockets),
	.arg = "per-allocation|shared",
	.check = options_check_relay_sockets,
	.help = "UDP relay endpoints: per-allocation opens a socket for each (the descriptor "
		"limit bounds allocations); shared steers every allocated relay port into a few "
		"shared sockets per worker thread with a sk_lookup eBPF program and sends "
		"through raw sockets, so an allocation costs no descriptor (needs CAP_BPF, "
		"CAP_NET_ADMIN and CAP_NET_RAW; when the program does not load, one line says "
		"why and each allocation gets its own socket). Keep the relay port range out of "
		"net.ipv4.ip_local_port_range or in ip_local_reserved_ports. TCP relays and "
		"EVEN-PORT reservations keep a socket each."},
    {.name = "max-permissions",
	.type = OPTION_INT,
	.def = "1024",
	.min = 0,
	.max = 1000000,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(max_permissions),
	.arg = "N",
	.help = "Permissions (peer addresses) one allocation may hold; CreatePermission "
		"past it gets 508 (RFC 8656 section 9). 0 means unlimited."},
    {.name = "max-channels",
	.type = OPTION_INT,
	.def = "4096",
	.min = 0,
	.max = 16384,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(max_channels),
	.arg = "N",
	.help = "Channels one allocation may bind; ChannelBind past it gets 508 "
		"(RFC 8656 section 12). 0 means only the channel number space bounds them."},
    {.name = "unauth-rate-limit",
	.type = OPTION_INT,
	.def = "50",
	.min = 0,
	.max = 1000000,
	.offset = OFF(unauth_rate_limit),
	.arg = "N",
	.help = "401 answers per second to one UDP source address on one worker thread "
		"(burst of the same size); requests past it are dropped unanswered, so the "
		"server is a poor reflector. 0 turns the limit off."},
    {.name = "unauth-answer-budget",
	.type = OPTION_INT,
	.def = "1000000",
	.min = 0,
	.max = 1000000000,
	.offset = OFF(unauth_answer_budget),
	.arg = "BYTES",
	.help = "Bytes per second of UDP answers to requests without valid credentials "
		"(401, 438, Binding, 400), over all sources together, shared equally by the "
		"worker threads; answers past it are dropped and counted, so that spoofed "
		"sources cannot use the server as an amplifier. 0 turns the budget off."},
    {.name = "auth-failure-limit",
	.type = OPTION_INT,
	.def = "60",
	.min = 0,
	.max = 1000000,
	.offset = OFF(auth_failure_limit),
	.arg = "N",
	.help = "Failed authentications (401 to a request with credentials) per minute from "
		"one source address (an IPv6 /64) and, separately, for one user name, over "
		"every transport and thread. Past it, requests with credentials from that "
		"address or for that user are dropped unchecked and unanswered until the "
		"budget refills; a 5-tuple holding an allocation of that user is never "
		"throttled. 0 turns the throttle off."},
    {.name = "max-connections-per-ip",
	.type = OPTION_INT,
	.def = "64",
	.min = 0,
	.max = 1000000,
	.offset = OFF(max_connections_per_ip),
	.arg = "N",
	.help = "Concurrent TCP and TLS connections from one source address (an IPv6 /64); "
		"more are closed at accept, counted and logged. 0 means unlimited."},
    {.name = "stream-input-budget",
	.type = OPTION_INT,
	.def = "67108864",
	.min = 65600,
	.max = 2000000000,
	.offset = OFF(stream_input_budget),
	.arg = "BYTES",
	.help = "Bytes that incomplete frames of TCP and TLS connections may hold together, "
		"shared equally by the worker threads (each at least one frame of 64 KiB); past "
		"its share a worker closes the connection holding the most buffered bytes and "
		"counts it."},
    {.name = "challenge-reason-phrase",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(challenge_reason_phrase),
	.help = "Put the reason phrase (Unauthenticated, Stale Nonce) in 401 and 438 answers; "
		"off by default so that the challenge is as small as RFC 8489 allows."},
    {.name = "rfc5766-channel-numbers",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(rfc5766_channel_numbers),
	.help = "Accept ChannelBind numbers up to 0x7FFF as RFC 5766 did (coturn's "
		"turnutils_uclient picks them); by default only RFC 8656's 0x4000-0x4FFF "
		"are valid and others get 400."},

    /* Peers. */
    {.name = "allowed-peer-ip",
	.type = OPTION_STRINGS,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(allowed_peer_ip),
	.arg = "IP[-IP]|CIDR",
	.check = options_check_range,
	.help = "Peer addresses clients may relay to even when the default policy "
		"refuses them (private, loopback, the server's own, ...); an address, "
		"a range A-B or a CIDR block; repeatable. It wins over every refusal."},
    {.name = "denied-peer-ip",
	.type = OPTION_STRINGS,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(denied_peer_ip),
	.arg = "IP[-IP]|CIDR",
	.check = options_check_range,
	.help = "Peer addresses to refuse besides the default refusals; an address, "
		"a range A-B or a CIDR block; repeatable."},
    {.name = "allow-loopback-peers",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(allow_loopback_peers),
	.help = "Allow peers on loopback addresses (127.0.0.0/8, ::1), the server's "
		"own included: for tests, never on a public server."},
    {.name = "no-multicast-peers",
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: multicast and broadcast peers are always refused."},
    {.name = "no-loopback-peers",
	.type = OPTION_FLAG,
	.flags = OPTION_DEPRECATED,
	.offset = OPTION_NOWHERE,
	.maps_to = "allow-loopback-peers=no",
	.help = "Replaced by allow-loopback-peers in coturn 4.5.1: accepted with a "
		"warning, as allow-loopback-peers=no; loopback peers are refused unless "
		"allow-loopback-peers is set."},

    /* Authentication. */
    {.name = "lt-cred-mech",
	.short_flag = 'a',
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(lt_cred_mech),
	.def_text = "on, unless no-auth is set",
	.help = "Require the long-term credential mechanism (RFC 8489) for TURN: users "
		"from user, or TURN REST API secrets with use-auth-secret. Without any "
		"user or secret every allocation is refused."},
    {.name = "no-auth",
	.short_flag = 'z',
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(no_auth),
	.help = "Relay for anyone, without credentials: an open relay. Cannot be "
		"combined with lt-cred-mech, use-auth-secret or static-auth-secret."},
    {.name = "user",
	.short_flag = 'u',
	.type = OPTION_STRINGS,
	.flags = OPTION_RELOADABLE | OPTION_SECRET,
	.offset = OFF(users),
	.arg = "NAME:PASSWORD",
	.check = options_check_user,
	.help = "A long-term credential account; repeatable. The password may be "
		"given as its key, NAME:0xKEY, with the 32 hex digits of "
		"MD5(name:realm:password) (coturn's turnadmin -k)."},
    {.name = "use-auth-secret",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(use_auth_secret),
	.help = "TURN REST API credentials: the user name is EXPIRY, EXPIRY:NAME or "
		"NAME:EXPIRY (unix seconds) and the password "
		"base64(HMAC-SHA1(secret, user name)). Implied by static-auth-secret."},
    {.name = "static-auth-secret",
	.type = OPTION_STRINGS,
	.flags = OPTION_RELOADABLE | OPTION_SECRET,
	.offset = OFF(static_auth_secrets),
	.arg = "SECRET",
	.help = "Shared secret of the TURN REST API; repeatable, every one is "
		"accepted (for rotation). Implies use-auth-secret, as in coturn."},
    {.name = "userdb",
	.alias = "db",
	.short_flag = 'b',
	.type = OPTION_STRING,
	.offset = OFF(userdb),
	.arg = "FILE",
	.help = "SQLite credential database (coturn's schema; turnpikectl or turnadmin -b "
		"write it): its users and, with use-auth-secret, its secrets are accepted "
		"besides those from options. Read live: changes apply within a second."},
    {.name = "psql-userdb",
	.alias = "sql-userdb",
	.short_flag = 'e',
	.type = OPTION_STRING,
	.flags = OPTION_SECRET,
	.offset = OFF(psql_userdb),
	.arg = "CONNINFO",
	.help = "PostgreSQL credential store instead of the userdb file: a libpq connection "
		"string (host=... dbname=... user=... password=... sslmode=...), coturn's "
		"schema (turnpikectl -e or turnadmin -e write it). Changes apply within a "
		"second; while it cannot be reached its users get 401."},
    {.name = "mysql-userdb",
	.short_flag = 'M',
	.type = OPTION_STRING,
	.flags = OPTION_SECRET,
	.offset = OFF(mysql_userdb),
	.arg = "CONNSTRING",
	.check = options_check_mysqlconn,
	.help = "MySQL or MariaDB credential store instead of the userdb file: coturn's "
		"connection string (host=... dbname=... user=... password=... port=... "
		"connect_timeout=... read_timeout=..., TLS: ca capath cert key cipher), "
		"coturn's schema (turnpikectl -M or turnadmin -M write it). Changes apply "
		"within a second; while it cannot be reached its users get 401."},
    {.name = "userdb-cache-users",
	.type = OPTION_INT,
	.def = "10000",
	.min = 0,
	.max = 100000000,
	.offset = OFF(userdb_cache_users),
	.arg = "N",
	.help = "At most this many store users are held in memory; when the store has "
		"more, the others are fetched on demand by the store thread, by name or by "
		"USERHASH (their first request gets 438 Stale Nonce, which clients answer "
		"again at once)."},
    {.name = "userdb-stale-limit",
	.type = OPTION_INT,
	.flags = OPTION_RELOADABLE,
	.def = "60",
	.min = 0,
	.max = 86400,
	.offset = OFF(userdb_stale_limit),
	.arg = "SECONDS",
	.help = "When the userdb file cannot be read (corrupted, unreadable, read-only, "
		"locked), its last good copy is served for this long, then its users get 401 "
		"until it can be read again; option users keep working. 0 refuses them at "
		"once."},
    {.name = "rest-api-separator",
	.short_flag = 'C',
	.type = OPTION_STRING,
	.def = ":",
	.offset = OFF(rest_api_separator),
	.arg = "CHAR",
	.check = options_check_char,
	.help = "The character between expiry and name in TURN REST API user names."},
    {.name = "rest-api-hmac",
	.type = OPTION_STRING,
	.flags = OPTION_RELOADABLE,
	.def = "sha1",
	.offset = OFF(rest_api_hmac),
	.arg = "sha1|sha256",
	.check = options_check_hmac,
	.help = "The HMAC of TURN REST API passwords: sha1 (coturn's, the default) or "
		"sha256, where the password is base64(HMAC-SHA256(secret, user name)): "
		"printf %s \"$user\" | openssl dgst -sha256 -hmac \"$secret\" -binary | "
		"base64. Every secret, from options and the store, uses it."},
    {.name = "userhash",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(userhash),
	.help = "Offer username anonymity (RFC 8489 §9.2.1, nonce cookie bit 1) and accept "
		"USERHASH, SHA-256(user:realm), instead of USERNAME from users of user "
		"options and the userdb, those beyond userdb-cache-users too (looked up in "
		"the store on demand: an index on PostgreSQL, a scan of the realm on the "
		"other engines); REST API user names cannot be found by hash."},
    {.name = "check-origin-consistency",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(check_origin_consistency),
	.help = "Requests on an allocation made with an ORIGIN attribute must carry the same "
		"ORIGIN (441 otherwise), as in coturn. ORIGIN picks the realm of the 401 "
		"through the userdb's turn_origin_to_realm table."},
    {.name = "mobility",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(mobility),
	.help = "RFC 8016 mobility (ICE mobility, MICE): an Allocate over UDP carrying an "
		"empty MOBILITY-TICKET gets a sealed ticket (AES-256-GCM, keyed by "
		"stateless-nonce-secret when set); a Refresh with the latest ticket from a "
		"new 5-tuple, by the same user, moves the allocation there with its "
		"permissions and channels. Without it a ticket gets 405 (Mobility "
		"Forbidden). Off with proxy-protocol=udp."},
    {.name = "no-dynamic-realms",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(no_dynamic_realms),
	.help = "Realms come from the configuration only, as in coturn: the userdb's "
		"turn_origin_to_realm (ORIGIN) and turn_realm_option (quotas, max-bps) tables "
		"are not read. Users, secrets and OAuth keys of every realm are still read."},
    {.name = "no-dynamic-ip-list",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(no_dynamic_ip_list),
	.help = "Peer address lists come from the configuration only (allowed-peer-ip, "
		"denied-peer-ip), as in coturn: the userdb's allowed_peer_ip and denied_peer_ip "
		"tables are not read."},
    {.name = "realm",
	.short_flag = 'r',
	.type = OPTION_STRING,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(realm),
	.def_text = "the host name, as coturn",
	.arg = "REALM",
	.help = "Realm of the long-term credential mechanism; NAME:0xKEY users depend on it."},
    {.name = "stale-nonce",
	.type = OPTION_INT,
	.flags = OPTION_RELOADABLE,
	.def = "600",
	.bare = "600",
	.min = 0,
	.max = 604800,
	.offset = OFF(stale_nonce),
	.arg = "SECONDS",
	.help = "Lifetime of a NONCE; after it a request gets 438 and the client "
		"retries with a fresh one. A bare stale-nonce means 600 (give a value "
		"on the command line as --stale-nonce=N); coturn's 0, unlimited, means "
		"the longest value, one week, here."},
    {.name = "stateless-nonce-secret",
	.type = OPTION_STRING,
	.flags = OPTION_SECRET,
	.offset = OFF(stateless_nonce_secret),
	.arg = "SECRET",
	.help = "Key of the stateless NONCE (through SHA-256), shared by a fleet of "
		"servers behind one name so that any of them accepts the others' "
		"nonces. Without it each process draws a random key at start."},
    {.name = "oauth",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(oauth),
	.help = "Third-party authorization (RFC 7635): 401 answers carry "
		"THIRD-PARTY-AUTHORIZATION, and a request with an ACCESS-TOKEN is "
		"authenticated by the token's session key. The tokens' keys are the "
		"oauth_key rows of the userdb (turnpikectl oauth-key add). Users and "
		"secrets keep working."},
    {.name = "server-name",
	.type = OPTION_STRING,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(server_name),
	.def_text = "the realm",
	.arg = "NAME",
	.help = "This server's name for RFC 7635: sent in THIRD-PARTY-AUTHORIZATION "
		"and authenticated by every access token (the authorization server "
		"seals tokens for this name)."},

    /* Process. */
    {.name = "relay-threads",
	.short_flag = 'm',
	.type = OPTION_INT,
	.def = "0",
	.min = 0,
	.max = 128,
	.offset = OFF(relay_threads),
	.arg = "N",
	.help = "Worker threads; 0 means one per CPU core."},
    {.name = "log-file",
	.short_flag = 'l',
	.type = OPTION_PATH,
	.def = "stderr",
	.offset = OFF(log_file),
	.arg = "FILE",
	.help = "Where to log: a file name, stdout (or -), stderr or "
		"syslog. SIGHUP reopens a file (logrotate); another target needs a restart."},
    {.name = "syslog",
	.type = OPTION_FLAG,
	.offset = OFF(syslog),
	.help = "Log to syslog instead of log-file."},
    {.name = "syslog-facility",
	.type = OPTION_STRING,
	.def = "LOG_DAEMON",
	.flags = OPTION_RELOADABLE,
	.offset = OFF(syslog_facility),
	.arg = "FACILITY",
	.check = options_check_facility,
	.help = "syslog facility, in coturn's syntax: LOG_USER, LOG_DAEMON, LOG_LOCAL0 to "
		"LOG_LOCAL7, LOG_AUTH, LOG_AUTHPRIV, LOG_MAIL, ... (the LOG_ prefix is "
		"optional)."},
    {.name = "log-format",
	.type = OPTION_STRING,
	.def = "text",
	.flags = OPTION_RELOADABLE,
	.offset = OFF(log_format),
	.arg = "text|json",
	.check = options_check_format,
	.help = "text: one line per event, \"TIME turnpiked[PID]: LEVEL: MESSAGE\"; json: one "
		"JSON object per line with time, level, pid, msg and, for a client's "
		"session, session and client."},
    {.name = "log-min-level",
	.type = OPTION_STRING,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(log_min_level),
	.def_text = "info, or debug with Verbose",
	.arg = "LEVEL",
	.check = options_check_level,
	.help = "The least severe level logged: error, warning, info or debug. It wins "
		"over Verbose; turnpikectl loglevel changes it at run time."},
    {.name = "new-log-timestamp",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(new_log_timestamp),
	.help = "Time stamps in local time with new-log-timestamp-format instead of "
		"the default, ISO 8601 in UTC with milliseconds."},
    {.name = "new-log-timestamp-format",
	.type = OPTION_STRING,
	.def = "%FT%T%z",
	.flags = OPTION_RELOADABLE,
	.offset = OFF(new_log_timestamp_format),
	.arg = "FORMAT",
	.check = options_check_time_format,
	.help = "strftime(3) format of the time stamps when new-log-timestamp is set."},
    {.name = "simple-log",
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: log-file is always used as given, without coturn's "
		"date in the name and daily rollover; rotate it with logrotate and SIGHUP."},
    {.name = "no-stdout-log",
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: lines go to log-file only, never copied to stdout."},
    {.name = "verbose",
	.short_flag = 'v',
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(verbose),
	.help = "Log a line when a TCP or TLS connection opens and closes."},
    {.name = "Verbose",
	.short_flag = 'V',
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(debug),
	.help = "Log everything (debug level); implies verbose."},
    {.name = "pidfile",
	.type = OPTION_PATH,
	.offset = OFF(pidfile),
	.arg = "FILE",
	.help = "Write the process ID to this file; it is removed at exit (with proc-user, "
		"only if its directory is writable by that user)."},
    {.name = "proc-user",
	.type = OPTION_STRING,
	.offset = OFF(proc_user),
	.arg = "USER",
	.help = "Started as root, run as this user once the listeners, log, pidfile, "
		"control socket and userdb are open: supplementary groups, group and user "
		"are switched for good. An unknown user is an error at start."},
    {.name = "proc-group",
	.type = OPTION_STRING,
	.offset = OFF(proc_group),
	.def_text = "the primary group of proc-user",
	.arg = "GROUP",
	.help = "Started as root, run as this group (see proc-user). An unknown group is an "
		"error at start."},
    {.name = "daemon",
	.short_flag = 'o',
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: turnpiked never forks; run it under systemd "
		"(Type=notify, see turnpiked.service) or another supervisor."},
    {.name = "control-socket",
	.type = OPTION_PATH,
	.offset = OFF(control_socket),
	.arg = "PATH",
	.help = "Listen for turnpikectl on this unix socket (mode 0600, removed at exit); "
		"none by default."},
    {.name = "control-socket-group",
	.type = OPTION_STRING,
	.offset = OFF(control_socket_group),
	.arg = "GROUP",
	.help = "Give the control socket to this group (a name or a number) with mode 0660, "
		"so its members can run turnpikectl against the server without root."},
    {.name = "alternate-server",
	.type = OPTION_STRINGS,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(alternate_server),
	.arg = "IP[:PORT][/DOMAIN]",
	.check = options_check_alternate,
	.help = "Redirect Allocates over UDP and TCP to this TURN server with 300 Try "
		"Alternate (RFC 8489 ALTERNATE-SERVER; port 3478 when none is given); "
		"repeatable: round-robin among those of the client's address family, an "
		"entry given twice taken twice as often. With /DOMAIN, ALTERNATE-DOMAIN "
		"names it for certificate checks. A draining server redirects instead of "
		"answering 508."},
    {.name = "tls-alternate-server",
	.type = OPTION_STRINGS,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(tls_alternate_server),
	.arg = "IP[:PORT][/DOMAIN]",
	.check = options_check_alternate,
	.help = "The same for Allocates over TLS (port 5349 when none is given); give "
		"/DOMAIN so that the client checks the alternate's certificate against "
		"that name (ALTERNATE-DOMAIN)."},
    {.name = "alternate-server-preauth",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(alternate_server_preauth),
	.help = "Redirect an Allocate before its credentials are checked (the 300 then "
		"carries no MESSAGE-INTEGRITY), as coturn does; by default only "
		"authenticated Allocates are redirected, with an authenticated 300."},
    {.name = "fleet-redis",
	.type = OPTION_STRING,
	.flags = OPTION_SECRET,
	.offset = OFF(fleet_redis),
	.arg = "CONNSTRING",
	.check = options_check_redisconn,
	.help = "Join a fleet of turnpiked nodes sharing this Redis (coturn's syntax: "
		"\"ip=ADDR dbname=N password=P port=N connect_timeout=S\"): a heartbeat "
		"registers the node, user-quota and total-quota count every node's "
		"allocations, turnpikectl fleet status lists the nodes and a fleet-wide kill "
		"reaches all of them. While Redis is unreachable quotas count this node only."},
    {.name = "redis-statsdb",
	.short_flag = 'O',
	.type = OPTION_STRING,
	.flags = OPTION_SECRET,
	.offset = OFF(redis_statsdb),
	.arg = "CONNSTRING",
	.check = options_check_redisconn,
	.help = "Report allocations to this Redis in coturn's layout (its "
		"schema.stats.redis): a status key per allocation "
		"(turn/realm/R/user/U/allocation/ID/status, expiring with it) and "
		"published status, traffic and total_traffic events. A thread of its own "
		"talks to Redis; while Redis is unreachable events are dropped."},
    {.name = "fleet-node-name",
	.type = OPTION_STRING,
	.offset = OFF(fleet_node_name),
	.def_text = "the host name",
	.arg = "NAME",
	.help = "This node's name in the fleet; each node needs its own."},
    {.name = "fleet-advertise",
	.type = OPTION_STRING,
	.offset = OFF(fleet_advertise),
	.def_text = "the first external-ip, else the first listening-ip, with listening-port",
	.arg = "IP[:PORT]",
	.check = options_check_ipport,
	.help = "The address other nodes send clients to (ALTERNATE-SERVER) when they "
		"steer an Allocate here; the TLS port is tls-listening-port."},
    {.name = "fleet-redirect-at",
	.type = OPTION_STRING,
	.flags = OPTION_RELOADABLE,
	.def = "0.9",
	.offset = OFF(fleet_redirect_at),
	.arg = "FRACTION",
	.check = options_check_fraction,
	.help = "A fleet node holding this fraction of its capacity or more, or draining, "
		"answers new authenticated Allocates with 300 Try Alternate naming the "
		"least-loaded live node below it."},
    {.name = "fleet-heartbeat-ttl",
	.type = OPTION_INT,
	.def = "15",
	.min = 3,
	.max = 300,
	.offset = OFF(fleet_heartbeat_ttl),
	.arg = "SECONDS",
	.help = "How long a node's heartbeat lives in Redis; it is renewed every third of "
		"that, so a node that stops drops out of the fleet (and its allocations "
		"stop counting) within this time."},
    {.name = "rfc5780",
	.type = OPTION_FLAG,
	.offset = OFF(rfc5780),
	.help = "NAT behaviour discovery (RFC 5780): UDP also listens on alt-listening-port, "
		"Binding responses carry OTHER-ADDRESS and RESPONSE-ORIGIN, and CHANGE-REQUEST, "
		"RESPONSE-PORT and PADDING are served. OTHER-ADDRESS is another listening-ip "
		"of the same family (at the other port), or the same address at the other "
		"port when there is only one. Off by default (coturn 4.7's default): the "
		"extra attributes add to reflection."},
    {.name = "no-rfc5780",
	.type = OPTION_FLAG,
	.offset = OFF(no_rfc5780),
	.help = "Turn rfc5780 off even when it is set (coturn 4.6's option; the default "
		"is off anyway)."},
    {.name = "alt-listening-port",
	.type = OPTION_INT,
	.def = "0",
	.min = 0,
	.max = 65535,
	.offset = OFF(alt_listening_port),
	.arg = "PORT",
	.def_text = "0: listening-port plus one, as coturn",
	.help = "The second UDP port of rfc5780 (CHANGE-REQUEST change port); unused "
		"without rfc5780."},
    {.name = "alt-tls-listening-port",
	.type = OPTION_INT,
	.def = "0",
	.min = 0,
	.max = 65535,
	.offset = OFF(alt_tls_listening_port),
	.arg = "PORT",
	.def_text = "0: tls-listening-port plus one, as coturn",
	.help = "With rfc5780, TLS and DTLS also listen on this port (coturn's alternative "
		"TLS port), serving as tls-listening-port does; unused without rfc5780 or "
		"without cert and pkey."},
    {.name = "response-origin-only-with-rfc5780",
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: RESPONSE-ORIGIN is only ever sent with rfc5780."},
    {.name = "drain-timeout",
	.type = OPTION_INT,
	.flags = OPTION_RELOADABLE,
	.def = "0",
	.min = 0,
	.max = 604800,
	.offset = OFF(drain_timeout),
	.arg = "SECONDS",
	.help = "How long a drain (SIGUSR1 or turnpikectl drain) waits for the last "
		"allocation to end before the server exits anyway; 0 means until the last "
		"one ends."},
    {.name = "prometheus",
	.type = OPTION_FLAG,
	.offset = OFF(prometheus),
	.help = "Serve Prometheus metrics on http://prometheus-address:prometheus-port/metrics, "
		"with /healthz and /readyz."},
    {.name = "prometheus-port",
	.type = OPTION_INT,
	.def = "9641",
	.min = 1,
	.max = 65535,
	.offset = OFF(prometheus_port),
	.arg = "PORT",
	.help = "TCP port of the metrics and health endpoint (coturn's default)."},
    {.name = "prometheus-address",
	.type = OPTION_STRING,
	.def = "127.0.0.1",
	.offset = OFF(prometheus_address),
	.arg = "IP",
	.check = options_check_ip,
	.help = "Address of the metrics and health endpoint. Loopback by default, unlike "
		"coturn, which listens on every address: set 0.0.0.0 or :: to let a "
		"Prometheus server on another host scrape it (anyone who reaches the port "
		"can read the metrics)."},
    {.name = "prometheus-username-labels",
	.type = OPTION_FLAG,
	.offset = OFF(prometheus_username_labels),
	.help = "Add a user label to the turn_traffic_* metrics and report live "
		"allocations per user (at most 1000 users)."},
    {.name = "web-admin",
	.type = OPTION_FLAG,
	.offset = OFF(web_admin),
	.help = "Serve the web console and admin API (/api/v1/) on web-admin-ip:web-admin-port: "
		"HTTPS with cert and pkey; plain HTTP only on a loopback address and only "
		"without a certificate. Admins are the userdb's admin_user rows "
		"(turnpikectl admin add), so userdb is required."},
    {.name = "web-admin-ip",
	.type = OPTION_STRING,
	.def = "127.0.0.1",
	.offset = OFF(web_admin_ip),
	.arg = "IP",
	.check = options_check_ip,
	.help = "Address of the web console and admin API."},
    {.name = "web-admin-port",
	.type = OPTION_INT,
	.def = "8080",
	.min = 1,
	.max = 65535,
	.offset = OFF(web_admin_port),
	.arg = "PORT",
	.help = "TCP port of the web console and admin API (coturn's default)."},
    {.name = "web-admin-listen-on-workers",
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: the web console has its own port (web-admin-port)."},
    {.name = "software-attribute",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(software_attribute),
	.help = "Send a SOFTWARE attribute (name and version) in responses."},
    DEPRECATED_FLAG("no-software-attribute", "software-attribute=no",
	"Deprecated in coturn 4.6 for software-attribute: accepted with a warning, as "
	"software-attribute=no (SOFTWARE is off unless software-attribute is set)."),
    DEPRECATED_FLAG("prod", "software-attribute=no",
	"Renamed no-software-attribute in coturn 4.5.1, now software-attribute: "
	"accepted with a warning, as software-attribute=no."),
    {.name = "no-tlsv1",
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: TLS 1.0 is never offered."},
    {.name = "no-tlsv1_1",
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: TLS 1.1 is never offered."},
    {.name = "no-cli",
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: there is no telnet CLI; turnpikectl is the admin tool."},
    {.name = "fingerprint",
	.short_flag = 'f',
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: FINGERPRINT is added to the answer of every "
		"request that carries one."},

    /* coturn options accepted with a warning, not implemented yet. */
    UNIMPL_SECRET("mongo-userdb", NULL, 'J', "CONNINFO", "MongoDB user database."),
    {.name = "redis-userdb",
	.short_flag = 'N',
	.type = OPTION_STRING,
	.flags = OPTION_SECRET,
	.offset = OFF(redis_userdb),
	.arg = "CONNSTRING",
	.check = options_check_redisconn,
	.help = "Redis credential database in coturn's key layout (turn/realm/R/user/U/key, "
		"turn/realm/R/secret, ...; coturn's turnadmin -N and turnpikectl -N write "
		"it), instead of userdb: coturn's connection string \"ip=ADDR dbname=N "
		"password=P port=N connect_timeout=S\"."},
    UNIMPL_ARG("secret-key-file", NULL, 0, "FILE", "Key for encrypted database passwords."),
    UNIMPL_FLAG("stun-only", 'S', "Serve STUN only, no TURN."),
    UNIMPL_FLAG("no-stun", 0, "Serve TURN only, no STUN Binding."),
    UNIMPL_FLAG("secure-stun", 0, "Require authentication for Binding."),
    UNIMPL_ARG("listening-device", NULL, 'd', "DEVICE", "Bind listeners to a network device."),
    UNIMPL_ARG("relay-device", NULL, 'i', "DEVICE", "Bind relay sockets to a network device."),
    UNIMPL_ARG("aux-server", NULL, 0, "IP:PORT", "Auxiliary listener."),
    UNIMPL_FLAG("udp-self-balance", 0, "Balance UDP over auxiliary servers."),
    UNIMPL_FLAG("no-udp-relay", 0, "No UDP relay endpoints."),
    {.name = "no-tcp-relay",
	.type = OPTION_FLAG,
	.flags = OPTION_RELOADABLE,
	.offset = OFF(no_tcp_relay),
	.help = "Refuse TCP relays (RFC 6062): an Allocate asking for TCP gets 442. "
		"Without it, clients on TCP and TLS may ask for TCP relays, CONNECT to "
		"peers the peer policy allows and accept peers they gave a permission."},
    {.name = "no-stun-backward-compatibility",
	.type = OPTION_FLAG,
	.flags = OPTION_NOOP,
	.offset = OPTION_NOWHERE,
	.help = "Accepted and ignored: RFC 3489 Binding requests (no magic cookie) are "
		"never answered and MAPPED-ADDRESS is never sent."},
    {.name = "keep-address-family",
	.short_flag = 'K',
	.type = OPTION_FLAG,
	.flags = OPTION_DEPRECATED,
	.offset = OPTION_NOWHERE,
	.maps_to = "allocation-default-address-family=keep",
	.help = "Deprecated in coturn 4.6 for allocation-default-address-family=keep, "
		"which it is applied as."},
    UNIMPL_ARG("allocation-default-address-family", NULL, 'A', "ipv4|ipv6|keep",
	"Default relay address family."),
    UNIMPL_ARG("max-allocate-timeout", NULL, 0, "SECONDS",
	"Time allowed to complete an allocation."),
    UNIMPL_SECRET("pkey-pwd", NULL, 0, "PASSWORD", "Password of an encrypted private key."),
    UNIMPL_ARG("CA-file", NULL, 0, "FILE", "CA for client certificates."),
    UNIMPL_ARG("ec-curve-name", NULL, 0, "CURVE", "TLS ECDH curve."),
    UNIMPL_FLAG("dh566", 0, "566-bit DH parameters."),
    UNIMPL_FLAG("dh1066", 0, "1066-bit DH parameters."),
    UNIMPL_ARG("dh-file", NULL, 0, "FILE", "DH parameters file."),
    UNIMPL_FLAG("no-tlsv1_2", 0, "Refuse TLS 1.2."),
    UNIMPL_FLAG("log-binding", 0, "Log Binding requests."),
    UNIMPL_ARG("cli-ip", NULL, 0, "IP", "telnet CLI address."),
    UNIMPL_ARG("cli-port", NULL, 0, "PORT", "telnet CLI port."),
    UNIMPL_SECRET("cli-password", NULL, 0, "PASSWORD", "telnet CLI password."),
    UNIMPL_ARG("cli-max-output-sessions", NULL, 0, "N", "telnet CLI output limit."),
    UNIMPL_ARG("acme-redirect", NULL, 0, "URL", "ACME HTTP redirection."),
    UNIMPL_FLAG("server-relay", 0, "No permission checks on relay endpoints."),
    UNIMPL_FLAG("no-auth-pings", 0, "No database health checks."),
    UNIMPL_ARG("ne", NULL, 0, "1|2|3", "coturn network engine."),

    /* coturn 4.6 and later options not listed above (tests/data/coturn_options.txt). */
    UNIMPL_FLAG("respond-http-unsupported", 0, "Answer HTTP on the TURN ports with 400."),
    UNIMPL_FLAG("raw-public-keys", 0, "TLS raw public keys (RFC 7250)."),

    /* Options older coturn versions had and later removed. */
    {.name = "secret-ts-exp-time",
	.type = OPTION_STRING,
	.flags = OPTION_DEPRECATED,
	.offset = OPTION_NOWHERE,
	.arg = "SECONDS",
	.help = "Removed in coturn 2.6 (a TURN REST API user name carries its own expiry "
		"time): accepted with a warning and ignored."},
    DEPRECATED_FLAG("no-sslv2", NULL,
	"Removed from coturn (SSL 2 support was dropped): accepted with a warning and "
	"ignored; SSL 2 and 3 are never offered."),
    DEPRECATED_FLAG("no-sslv3", NULL,
	"Removed from coturn (SSL 3 support was dropped): accepted with a warning and "
	"ignored; SSL 2 and 3 are never offered."),
    DEPRECATED_FLAG("sha256", NULL,
	"Retired in coturn 4.4.5 as non-standard: accepted with a warning and ignored; "
	"RFC 8489 clients choose SHA-256 keys through PASSWORD-ALGORITHMS."),
    DEPRECATED_FLAG("sha384", NULL,
	"Retired in coturn 4.4.5 as non-standard: accepted with a warning and ignored."),
    DEPRECATED_FLAG("sha512", NULL,
	"Retired in coturn 4.4.5 as non-standard: accepted with a warning and ignored."),
};

const size_t options_count = sizeof options_table / sizeof options_table[0];

const struct option_entry *
options_find(const char *name)
{
	const struct option_entry *o;
	size_t i;

	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		if (strcmp(o->name, name) == 0 || (o->alias != NULL && strcmp(o->alias, name) == 0))
			return o;
	}
	return NULL;
}

const struct option_entry *
options_find_short(char c)
{
	size_t i;

	if (c == '\0')
		return NULL;
	for (i = 0; i < options_count; i++) {
		if (options_table[i].short_flag == c)
			return &options_table[i];
	}
	return NULL;
}

int
options_has_arg(const struct option_entry *o)
{
	return o->type != OPTION_FLAG;
}

/* A note appended to the help of rows that do nothing yet or that a reload applies. */
static const char *
options_note(const struct option_entry *o)
{
	if (o->flags & OPTION_UNIMPL)
		return " Not implemented yet: accepted and ignored with a warning.";
	if (o->flags & OPTION_RELOADABLE)
		return " A reload (SIGHUP) applies a change.";
	return "";
}

/* "Default: X." for rows that have an effect, "" for the others. */
static const char *
options_default_text(const struct option_entry *o, char *buf, size_t len)
{
	bool list = o->type == OPTION_ADDRS || o->type == OPTION_EXTERNAL;
	const char *p;
	size_t n;

	if (o->flags & (OPTION_UNIMPL | OPTION_NOOP | OPTION_DEPRECATED | OPTION_CMDLINE))
		return "";
	if (o->def_text != NULL) {
		snprintf(buf, len, "Default: %s.", o->def_text);
		return buf;
	}
	if (o->def == NULL)
		return o->type == OPTION_FLAG ? "Default: off." : "Default: none.";
	n = (size_t)snprintf(buf, len, "Default: ");
	for (p = o->def; *p != '\0' && n + 4 < len; p++) {
		if (*p == ' ' && list) {
			buf[n++] = ',';
			buf[n++] = ' ';
		} else
			buf[n++] = *p;
	}
	buf[n++] = '.';
	buf[n] = '\0';
	return buf;
}

/* The help sentence, its note and its default, as one paragraph. */
static void
options_describe(const struct option_entry *o, char *out, size_t len)
{
	char def[256];
	const char *d = options_default_text(o, def, sizeof def);

	snprintf(out, len, "%s%s%s%s", o->help, options_note(o), *d != '\0' ? " " : "", d);
}

/* Writes text word-wrapped to width columns, each line starting with prefix. */
static void
options_wrap(FILE *f, const char *prefix, const char *text, size_t width)
{
	size_t col = 0, wlen;
	const char *p = text;

	for (;;) {
		p += strspn(p, " ");
		wlen = strcspn(p, " ");
		if (wlen == 0)
			break;
		if (col > 0 && col + 1 + wlen > width) {
			fputc('\n', f);
			col = 0;
		}
		if (col == 0) {
			fputs(prefix, f);
			col = strlen(prefix);
		} else {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, wlen, f);
		col += wlen;
		p += wlen;
	}
	if (col > 0)
		fputc('\n', f);
}

static void
options_usage_row(FILE *f, const struct option_entry *o)
{
	char text[1024];

	if (o->short_flag != 0)
		fprintf(f, "  -%c, --%s", o->short_flag, o->name);
	else
		fprintf(f, "      --%s", o->name);
	if (o->arg != NULL)
		fprintf(f, " %s", o->arg);
	if (o->alias != NULL)
		fprintf(f, " (or --%s)", o->alias);
	fputc('\n', f);
	options_describe(o, text, sizeof text);
	options_wrap(f, "        ", text, 78);
}

void
options_usage(FILE *f, const char *progname)
{
	size_t i;

	fprintf(f, "usage: %s [-c FILE | -n] [options]\n\n", progname);
	fputs("A configuration file takes the same names without the dashes,\n"
	      "as name=value, name value, or a bare name for a flag. The\n"
	      "command line overrides the file.\n\n",
	    f);
	for (i = 0; i < options_count; i++) {
		if (!(options_table[i].flags & OPTION_UNIMPL))
			options_usage_row(f, &options_table[i]);
	}
	fputs("\ncoturn options accepted with a warning, not implemented yet:\n", f);
	for (i = 0; i < options_count; i++) {
		if (options_table[i].flags & OPTION_UNIMPL)
			fprintf(f, "  %s\n", options_table[i].name);
	}
}

/* roff text: backslashes and hyphens escaped. */
static void
options_roff(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

static void
options_man_paragraph(FILE *f, const struct option_entry *o)
{
	char text[1024];

	fputc('\n', f);
	options_describe(o, text, sizeof text);
	options_roff(f, text);
	fputc('\n', f);
}

/* turnpiked.8: "-p, --listening-port PORT" entries. */
static void
options_dump_man(FILE *f)
{
	const struct option_entry *o;
	size_t i;

	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		fputs(".TP\n", f);
		if (o->short_flag != 0)
			fprintf(f, "\\fB\\-%c\\fR, ", o->short_flag);
		fputs("\\fB\\-\\-", f);
		options_roff(f, o->name);
		fputs("\\fR", f);
		if (o->alias != NULL) {
			fputs(", \\fB\\-\\-", f);
			options_roff(f, o->alias);
			fputs("\\fR", f);
		}
		if (o->arg != NULL) {
			fputs(" \\fI", f);
			options_roff(f, o->arg);
			fputs("\\fR", f);
		}
		options_man_paragraph(f, o);
	}
}

/* turnpike.conf.5: "listening-port=PORT" entries, file options only. */
static void
options_dump_man5(FILE *f)
{
	const struct option_entry *o;
	size_t i;

	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		if (o->flags & OPTION_CMDLINE)
			continue;
		fputs(".TP\n\\fB", f);
		options_roff(f, o->name);
		fputs("\\fR", f);
		if (o->arg != NULL) {
			fputs("=\\fI", f);
			options_roff(f, o->arg);
			fputs("\\fR", f);
		}
		if (o->alias != NULL) {
			fputs(" (or \\fB", f);
			options_roff(f, o->alias);
			fputs("\\fR)", f);
		}
		options_man_paragraph(f, o);
	}
}

/* One commented-out line per default value (lists have several). */
static void
options_conf_row(FILE *f, const struct option_entry *o)
{
	char text[1024];
	const char *p;
	size_t n;

	options_describe(o, text, sizeof text);
	fputc('\n', f);
	options_wrap(f, "# ", text, 78);
	if (o->type == OPTION_FLAG) {
		fprintf(f, "#%s\n", o->name);
		return;
	}
	if (o->def == NULL) {
		fprintf(f, "#%s=%s\n", o->name, o->arg);
		return;
	}
	for (p = o->def; *p != '\0'; p += n) {
		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (n > 0)
			fprintf(f, "#%s=%.*s\n", o->name, (int)n, p);
	}
}

static void
options_dump_conf(FILE *f)
{
	size_t i;

	fputs("# turnpike.conf: configuration of turnpiked(8); see turnpike.conf(5).\n"
	      "# Generated by: turnpiked --dump-options=conf\n"
	      "#\n"
	      "# One option per line: name=value, name value, or a bare name for a flag.\n"
	      "# A line starting with # is a comment. coturn's turnserver.conf is read as is.\n"
	      "# Every option is shown commented out, with its default.\n",
	    f);
	for (i = 0; i < options_count; i++) {
		if (!(options_table[i].flags & OPTION_CMDLINE))
			options_conf_row(f, &options_table[i]);
	}
}

static void
options_dump_names(FILE *f)
{
	size_t i;

	for (i = 0; i < options_count; i++)
		fprintf(f, "%s\n", options_table[i].name);
}

static const struct {
	const char *format;
	void (*dump)(FILE *);
} options_dumps[] = {
    {"names", options_dump_names},
    {"man", options_dump_man},
    {"man5", options_dump_man5},
    {"conf", options_dump_conf},
};

int
options_dump(FILE *f, const char *format)
{
	size_t i;

	for (i = 0; i < sizeof options_dumps / sizeof options_dumps[0]; i++) {
		if (strcmp(options_dumps[i].format, format) == 0) {
			options_dumps[i].dump(f);
			return 0;
		}
	}
	return -1;
}
