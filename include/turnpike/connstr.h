/* coturn's connection strings: blank-separated "key=value" words (redisconn, mysqlconn). */
#ifndef TURNPIKE_CONNSTR_H
#define TURNPIKE_CONNSTR_H

#include <stddef.h>

/*
 * The next word of *text into word (cap bytes with the NUL), *text moved past
 * it: 1, 0 at the end of the text, -1 when the word does not fit.
 */
int connstr_next_word(const char **text, char *word, size_t cap);

/* A decimal number from lo to hi in v (NUL-terminated): 0, or -1 otherwise. */
int connstr_number(const char *v, unsigned long lo, unsigned long hi, unsigned long *out);

#endif
