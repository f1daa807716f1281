/*
 * coturn's MySQL/MariaDB connection string (mysql-userdb, turnadmin -M):
 * "host=H dbname=D user=U password=P port=N connect_timeout=S read_timeout=S"
 * plus the TLS keys ca, capath, cert, key and cipher; blank-separated
 * key=value words, dbname required. Pure: text in, struct out.
 */
#ifndef TURNPIKE_MYSQLCONN_H
#define TURNPIKE_MYSQLCONN_H

#include <stdint.h>

#define MYSQLCONN_TEXT_MAX 256  /* host, dbname, user, password, cipher */
#define MYSQLCONN_PATH_MAX 1024 /* ca, capath, cert, key */
#define MYSQLCONN_PORT 3306
#define MYSQLCONN_TIMEOUT 5 /* connect_timeout seconds when absent */

struct mysqlconn {
	char host[MYSQLCONN_TEXT_MAX];     /* host= (or ip=); "" for the library's (localhost) */
	uint16_t port;                     /* port=; 3306 */
	char dbname[MYSQLCONN_TEXT_MAX];   /* dbname= (or db=, database=); required */
	char user[MYSQLCONN_TEXT_MAX];     /* user= (or uname=, name=); "" for the library's */
	char password[MYSQLCONN_TEXT_MAX]; /* password= (or pwd=); "" for none */
	unsigned connect_timeout;          /* connect_timeout= seconds, 1 to 3600; 5 */
	unsigned read_timeout;             /* read_timeout= seconds, 1 to 3600; 0: not given */
	char ca[MYSQLCONN_PATH_MAX];       /* TLS: CA file */
	char capath[MYSQLCONN_PATH_MAX];   /* TLS: CA directory */
	char cert[MYSQLCONN_PATH_MAX];     /* TLS: client certificate */
	char key[MYSQLCONN_PATH_MAX];      /* TLS: client key */
	char cipher[MYSQLCONN_TEXT_MAX];   /* TLS: cipher list */
};

/* True when any TLS key was given. */
int mysqlconn_wants_tls(const struct mysqlconn *c);

/*
 * Parses text into *out (defaults first). -1 with *cause naming the bad key
 * (never a password) on an unknown key, a word without '=', an empty or too
 * long value, a number out of range, or no dbname.
 */
int mysqlconn_parse(const char *text, struct mysqlconn *out, char **cause);

#endif
