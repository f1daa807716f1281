/* The effective configuration as people read it: turnpiked --check-config. */
#ifndef TURNPIKE_CONFSHOW_H
#define TURNPIKE_CONFSHOW_H

#include <stdio.h>

#include "turnpike/config.h"

/*
 * Prints one "name = value  # source" line per option (command-line-only
 * rows left out): source is "default", "FILE:LINE" or "command line". Secret
 * values (OPTION_SECRET rows) are masked; options that store nothing are
 * printed only when given, with what became of them.
 */
void confshow_print(FILE *f, const struct config *cfg);

#endif
