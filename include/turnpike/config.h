/*
 * The daemon configuration: built once from the command line and a coturn-style
 * configuration file, validated, then read-only (STYLE rule 7). Every field below
 * the first comment is filled through the option table (options.h).
 */
#ifndef TURNPIKE_CONFIG_H
#define TURNPIKE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "turnpike/options.h"

struct config_addrs {
	size_t n;
	struct sockaddr_storage *v;
};

/* external-ip: the public address, and the private one it maps when given. */
struct config_external {
	struct sockaddr_storage public_ip;
	struct sockaddr_storage private_ip;
	bool has_private;
};

struct config_externals {
	size_t n;
	struct config_external *v;
};

/* Repeatable text options (user, static-auth-secret, peer ranges). */
struct config_strings {
	size_t n;
	char **v;
};

/* Where an option's value came from (--check-config prints it). */
enum config_source {
	CONFIG_SOURCE_DEFAULT = 0,
	CONFIG_SOURCE_FILE,
	CONFIG_SOURCE_CMDLINE,
};

/* One per option table row. */
struct config_origin {
	enum config_source source;
	unsigned int line;   /* line in config->file, for CONFIG_SOURCE_FILE */
	char *ignored_value; /* rows that store nothing: the value given, "" for none */
};

struct config {
	/* Command line only; a row that forgets its offset collides with config-file. */
	char *config_file;
	bool no_config_file;
	bool help;
	bool version;
	char *dump_options;
	bool check_config;

	/* Listeners. */
	int listening_port;
	int tls_listening_port;
	struct config_addrs listening_ip;
	bool no_udp;
	bool no_tcp;
	bool no_tls;
	bool no_dtls;
	bool rfc5780;
	bool no_rfc5780;
	int alt_listening_port;
	int alt_tls_listening_port; /* rfc5780 with TLS or DTLS: a second TLS/DTLS port */
	int tcp_proxy_port;
	char *proxy_protocol;
	struct config_strings proxy_protocol_from;

	/* Relay. */
	struct config_addrs relay_ip;
	struct config_externals external_ip;
	int min_port;
	int max_port;
	int max_allocate_lifetime;
	int channel_lifetime;
	int permission_lifetime;
	int user_quota;
	int total_quota;
	int max_bps;
	int bps_capacity;
	char *fast_path;     /* auto, on or off: the kernel fast path (fastpath.h) */
	char *relay_sockets; /* per-allocation or shared (sklookup.h, relayshared.h) */
	int max_permissions;
	int max_channels;
	int unauth_rate_limit;
	int unauth_answer_budget;
	int auth_failure_limit;
	int max_connections_per_ip;
	int stream_input_budget;
	bool challenge_reason_phrase;
	bool rfc5766_channel_numbers;
	bool no_tcp_relay;

	/* Peers. */
	struct config_strings allowed_peer_ip;
	struct config_strings denied_peer_ip;
	bool allow_loopback_peers;

	/* Authentication. */
	bool lt_cred_mech;
	bool no_auth;
	struct config_strings users;
	bool use_auth_secret;
	struct config_strings static_auth_secrets;
	char *rest_api_separator;
	char *rest_api_hmac;
	bool userhash;
	bool check_origin_consistency;
	bool mobility;           /* RFC 8016 */
	bool no_dynamic_realms;  /* no origins nor realm options from the store */
	bool no_dynamic_ip_list; /* no peer ranges from the store */
	char *realm;
	char *userdb;
	char *psql_userdb;      /* PostgreSQL store: libpq conninfo */
	char *mysql_userdb;     /* MySQL/MariaDB store: coturn's connection string */
	int userdb_stale_limit; /* seconds the last good copy is served */
	int userdb_cache_users; /* store users held in memory; others looked up on demand */
	int stale_nonce;
	char *stateless_nonce_secret;
	bool oauth;
	char *server_name;

	/* TLS. */
	char *cert;
	char *pkey;
	char *cipher_list;

	/* Process. */
	int relay_threads;
	char *log_file;
	bool verbose;
	bool debug;
	bool syslog;
	char *pidfile;
	char *control_socket;
	char *control_socket_group;
	bool prometheus;
	int prometheus_port;
	char *prometheus_address;
	bool prometheus_username_labels;
	bool web_admin;
	char *web_admin_ip;
	int web_admin_port;
	bool software_attribute;
	char *log_min_level;
	char *log_format;
	char *syslog_facility;
	bool new_log_timestamp;
	char *new_log_timestamp_format;
	char *proc_user;
	char *proc_group;
	int drain_timeout;
	struct config_strings alternate_server;
	struct config_strings tls_alternate_server;
	bool alternate_server_preauth;
	char *redis_userdb;
	char *fleet_redis;
	char *redis_statsdb; /* coturn's allocation status and traffic events */
	char *fleet_node_name;
	char *fleet_advertise;
	char *fleet_redirect_at;
	int fleet_heartbeat_ttl;

	/* Not options: filled by config_create. */
	char *file;           /* the configuration file read, or NULL */
	bool tls;             /* TLS listeners on: not no-tls, and cert and pkey given */
	bool dtls;            /* DTLS on the UDP sockets: not no-dtls, and cert and pkey given */
	bool auth;            /* long-term credentials required: not no-auth */
	bool realm_from_host; /* realm not given: the host name is used */
	char **warnings;      /* for the caller to log once logging is set up */
	size_t nwarnings;
	size_t nunknown;               /* unknown options in the file (warned about, ignored) */
	struct config_origin *origins; /* options_count entries, indexed like options_table */
};

/* proxy-protocol names listener ("tcp", "tls" or "udp"). */
bool config_proxy_protocol_on(const struct config *cfg, const char *listener);

/*
 * Builds the configuration from argv (argv[0] is the program name) and the
 * configuration file it selects (-c FILE, none with -n, else the first
 * turnpike.conf in ".", SYSCONFDIR, /etc/turnpike, /etc, else the first
 * turnserver.conf in coturn's search path: ./, ./turnserver/, ./coturn/,
 * ./etc/..., ../etc/..., /etc/..., /usr/local/etc/..., SYSCONFDIR/...).
 * The command line overrides the file. When -h, --version or --dump-options
 * is given, no file is read and nothing is validated. Returns -1 with *cause
 * ("file:line: option: reason") on an error.
 */
int config_create(int argc, const char *const *argv, struct config **cfgp, char **cause);
/* Builds a configuration from file text alone (tests, fuzzing); name is for messages
 * and becomes config->file. */
int config_create_text(const char *name, const char *text, size_t len, struct config **cfgp,
    char **cause);
void config_free(struct config *cfg);
/* Where row o's value came from. */
const struct config_origin *config_origin_of(const struct config *cfg,
    const struct option_entry *o);
/* Checks that value is valid for option o, as the parsers would; -1 with *cause. */
int config_check_value(const struct option_entry *o, const char *value, char **cause);
/* Reload: true when option o has the same value in a and b (rows storing nothing: true). */
bool config_option_equal(const struct option_entry *o, const struct config *a,
    const struct config *b);
/* Reload: dst's value of option o becomes a deep copy of src's; -1 out of memory. */
int config_option_copy(const struct option_entry *o, struct config *dst, const struct config *src);
/* A deep copy of src without its warnings; -1 out of memory. */
int config_clone(const struct config *src, struct config **out);

#endif
