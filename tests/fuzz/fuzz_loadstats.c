/* Fuzz target for the /proc text parsers of turnpike-bench load. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/loadstats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct loadstats_cpu c;
	uint64_t v;
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)loadstats_parse_stat(s, &v);
	(void)loadstats_parse_rss(s, &v);
	(void)loadstats_parse_schedstat(s, &v);
	(void)loadstats_parse_cpu(s, &c);
	free(s);
	return 0;
}
