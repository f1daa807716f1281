/*
 * Fuzz target for coturn's MySQL/MariaDB connection string (mysql-userdb). A
 * parsed string has a dbname, a port above 0, timeouts in bounds and every
 * text field NUL-terminated; a refused one has a cause.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/mysqlconn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mysqlconn c;
	char *text, *cause = NULL;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (mysqlconn_parse(text, &c, &cause) == 0) {
		if (c.dbname[0] == '\0' || c.port == 0 || c.connect_timeout == 0 ||
		    c.connect_timeout > 3600 || c.read_timeout > 3600 ||
		    memchr(c.host, '\0', sizeof c.host) == NULL ||
		    memchr(c.password, '\0', sizeof c.password) == NULL ||
		    memchr(c.key, '\0', sizeof c.key) == NULL ||
		    memchr(c.cipher, '\0', sizeof c.cipher) == NULL)
			abort();
	} else if (cause == NULL)
		abort();
	free(cause);
	free(text);
	return 0;
}
