/* Error texts for callers (cause.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "turnpike/cause.h"

int
cause_fail(char **cause, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (cause == NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	errno = saved;
	return -1;
}
