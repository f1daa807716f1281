/*
 * coturn's turnadmin command line on turnpike's store, so existing scripts keep
 * working: turnpikectl -a -b DB -u NAME -r REALM -p PASSWORD, and the others.
 */
#ifndef TURNPIKE_TURNADMIN_H
#define TURNPIKE_TURNADMIN_H

#include <stdbool.h>
#include <stdio.h>

/* True when argv is a turnadmin invocation (it holds one of turnadmin's command flags). */
bool turnadmin_is_invocation(int argc, char **argv);
/* Runs it; returns the exit status (0 ok, 1 failure, 2 usage). */
int turnadmin_main(int argc, char **argv);
void turnadmin_usage(FILE *f);

#endif
