/*
 * turnpikectl's side of the control socket (protocol in control.h):
 * "turnpikectl --control-socket PATH COMMAND [ARG...]".
 */
#ifndef TURNPIKE_CTLSOCK_H
#define TURNPIKE_CTLSOCK_H

#include <stdbool.h>
#include <stdio.h>

bool ctlsock_is_invocation(int argc, char **argv);
void ctlsock_usage(FILE *f);
/* Exit status: 0 "ok", 1 an error answer or no daemon, 2 usage. */
int ctlsock_main(int argc, char **argv);

#endif
