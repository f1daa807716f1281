/*
 * The control socket's protocol, shared by turnpiked and turnpikectl.
 *
 * Protocol, line-based text, one command per connection:
 *   client: "turnpike-control 1"       the protocol version
 *   client: "COMMAND [ARG...]"         words separated by spaces
 *   server: zero or more answer lines, then "ok" or "error: REASON"
 * Versioned and append-only: version 1 has "status" (what the main loop
 * knows, then totals the workers report), "loglevel LEVEL",
 * "sessions [--user U]" (a "session ID key value ..." line each),
 * "kill SESSION" and "kill --user U" ("killed N"), "reload" ("restart NAME ..."
 * when changed options need a restart; "error: reload refused: REASON" when
 * the configuration is refused) and "drain" ("draining allocations N").
 * A session line ends with "peer-addrs A,B,..." (its permissions, "-": none).
 * New commands and new answer lines may be added to version 1; changing or
 * removing one needs version 2, and the server then still speaks version 1.
 */
#ifndef TURNPIKE_CONTROLPROTO_H
#define TURNPIKE_CONTROLPROTO_H

#define CONTROL_VERSION 1
#define CONTROL_HELLO "turnpike-control"
/* Longest line either side sends. */
#define CONTROL_LINE_MAX 1024

#endif
