/*
 * coturn's Redis connection string (redis-userdb, redis-statsdb, and here
 * fleet-redis): "ip=ADDR dbname=N password=P port=N connect_timeout=S",
 * words separated by blanks, each optional. Pure: text in, struct out.
 */
#ifndef TURNPIKE_REDISCONN_H
#define TURNPIKE_REDISCONN_H

#include <stdint.h>

#define REDISCONN_HOST_MAX 256
#define REDISCONN_PASSWORD_MAX 256
#define REDISCONN_PORT 6379
#define REDISCONN_TIMEOUT 5 /* seconds, when connect_timeout is absent */

struct redisconn {
	char host[REDISCONN_HOST_MAX];         /* ip= (or host=); 127.0.0.1 by default */
	uint16_t port;                         /* port=; 6379 */
	unsigned db;                           /* dbname= (or database=, db=); 0 */
	char password[REDISCONN_PASSWORD_MAX]; /* password= (or pwd=); "" for none */
	unsigned connect_timeout;              /* connect_timeout= seconds, 1 to 3600; 5 */
};

/*
 * Parses text into *out (defaults first). -1 with *errstr (static text) on an
 * unknown key, a word without '=', an empty or too long value, or a number out
 * of range.
 */
int redisconn_parse(const char *text, struct redisconn *out, const char **errstr);

#endif
