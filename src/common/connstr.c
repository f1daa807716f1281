/* coturn's connection strings: the words and numbers (connstr.h). */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "turnpike/connstr.h"

static bool
connstr_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
connstr_next_word(const char **text, char *word, size_t cap)
{
	const char *t = *text;
	size_t n;

	while (connstr_blank(*t))
		t++;
	*text = t;
	if (*t == '\0')
		return 0;
	for (n = 0; t[n] != '\0' && !connstr_blank(t[n]); n++)
		continue;
	if (n >= cap)
		return -1;
	memcpy(word, t, n);
	word[n] = '\0';
	*text = t + n;
	return 1;
}

int
connstr_number(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
	unsigned long n = 0;
	size_t i;

	if (v[0] == '\0' || strlen(v) > 10)
		return -1;
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}
