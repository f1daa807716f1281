/* Unit tests for src/common/mysqlconn.c: coturn's MySQL/MariaDB connection string. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/mysqlconn.h"
#include "unit.h"

/* Parses text; true when it fails and the cause holds want. */
static int
refused(const char *text, const char *want)
{
	struct mysqlconn c;
	char *cause = NULL;
	int ok;

	ok = mysqlconn_parse(text, &c, &cause) == -1 && cause != NULL && strstr(cause, want);
	if (!ok)
		printf("# '%s': cause '%s', wanted '%s'\n", text, cause ? cause : "(none)", want);
	free(cause);
	return ok;
}

static void
test_coturn(void)
{
	struct mysqlconn c;
	char *cause = NULL;

	CHECK(mysqlconn_parse("host=192.0.2.7 dbname=coturn user=turn password=s3cret port=3307 "
			      "connect_timeout=10 read_timeout=20",
		  &c, &cause) == 0);
	CHECKM(strcmp(c.host, "192.0.2.7") == 0 && strcmp(c.dbname, "coturn") == 0 &&
		strcmp(c.user, "turn") == 0 && strcmp(c.password, "s3cret") == 0 &&
		c.port == 3307 && c.connect_timeout == 10 && c.read_timeout == 20 &&
		!mysqlconn_wants_tls(&c),
	    "coturn's documented example, every key");
	CHECK(mysqlconn_parse("dbname=turn", &c, &cause) == 0);
	CHECKM(c.host[0] == '\0' && c.port == MYSQLCONN_PORT && c.user[0] == '\0' &&
		c.password[0] == '\0' && c.connect_timeout == MYSQLCONN_TIMEOUT &&
		c.read_timeout == 0,
	    "defaults: the library's host and user, port 3306, 5 s to connect");
	CHECK(mysqlconn_parse(" \tip=db.example.org db=a uname=u pwd=p=q\n", &c, &cause) == 0);
	CHECKM(strcmp(c.host, "db.example.org") == 0 && strcmp(c.dbname, "a") == 0 &&
		strcmp(c.user, "u") == 0 && strcmp(c.password, "p=q") == 0,
	    "aliases ip, db, uname, pwd; a value may hold '='");
	CHECKM(mysqlconn_parse("dbname=a port=1 port=2", &c, &cause) == 0 && c.port == 2,
	    "a key given twice: the last wins");
	CHECK(mysqlconn_parse("dbname=t ca=/etc/ca.pem capath=/etc/certs cert=/c.pem key=/k.pem "
			      "cipher=ECDHE-RSA-AES128-GCM-SHA256",
		  &c, &cause) == 0);
	CHECKM(strcmp(c.ca, "/etc/ca.pem") == 0 && strcmp(c.capath, "/etc/certs") == 0 &&
		strcmp(c.cert, "/c.pem") == 0 && strcmp(c.key, "/k.pem") == 0 &&
		strcmp(c.cipher, "ECDHE-RSA-AES128-GCM-SHA256") == 0 && mysqlconn_wants_tls(&c),
	    "the TLS keys ca, capath, cert, key, cipher");
}

static void
test_refused(void)
{
	char longer[MYSQLCONN_TEXT_MAX + 16];

	CHECKM(refused("", "dbname: missing"), "no dbname");
	CHECKM(refused("host=h user=u", "dbname: missing"), "no dbname, other keys");
	CHECKM(refused("dbname=t sslmode=require", "unknown key 'sslmode'"),
	    "an unknown key is named");
	CHECKM(refused("dbname=t hots=x", "unknown key 'hots'"), "a misspelt key is named");
	CHECKM(refused("dbname=t port=0", "port: must be 1 to 65535"), "port 0");
	CHECKM(refused("dbname=t port=65536", "port"), "port 65536");
	CHECKM(refused("dbname=t port=12a", "port"), "port 12a");
	CHECKM(refused("dbname=t port=99999999999999999999", "port"), "a huge port");
	CHECKM(refused("dbname=t connect_timeout=0", "connect_timeout: must be 1 to 3600"),
	    "connect_timeout 0");
	CHECKM(refused("dbname=t read_timeout=3601", "read_timeout"), "read_timeout 3601");
	CHECKM(refused("dbname=t read_timeout=-1", "read_timeout"), "read_timeout -1");
	CHECKM(refused("dbname=t user=", "user: no value"), "a key without a value");
	CHECKM(refused("dbname=t =x", "expected key=value"), "a word without a key");
	CHECKM(refused("dbname=t password=two words", "expected key=value"),
	    "a blank inside a value");
	memset(longer, 'h', sizeof longer);
	memcpy(longer, "host=", 5);
	longer[sizeof longer - 1] = '\0';
	CHECKM(refused(longer, "host: longer than"), "a host name too long");
}

static void
test_secret_kept(void)
{
	struct mysqlconn c;
	char *cause = NULL;

	CHECK(mysqlconn_parse("dbname=t password=Hunter2 bogus=1", &c, &cause) == -1);
	CHECKM(cause != NULL && strstr(cause, "Hunter2") == NULL,
	    "the password is never in an error");
	free(cause);
}

int
main(void)
{
	test_coturn();
	test_refused();
	test_secret_kept();
	return unit_done();
}
