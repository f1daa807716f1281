/*
 * The one error convention (STYLE rule 4): a function fails with -1 and a
 * human-readable *cause the caller frees.
 */
#ifndef TURNPIKE_CAUSE_H
#define TURNPIKE_CAUSE_H

/*
 * Sets *cause to the formatted text (NULL when out of memory or when cause is
 * NULL) and returns -1; errno is left as it was.
 */
int cause_fail(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
