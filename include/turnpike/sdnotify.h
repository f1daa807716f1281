/*
 * systemd's service notification protocol (sd_notify(3)) spoken directly: one
 * datagram of "KEY=VALUE" lines to the unix socket named by $NOTIFY_SOCKET.
 * Without NOTIFY_SOCKET every call is a no-op. The environment is left as is
 * (turnpiked starts no children that could inherit it).
 */
#ifndef TURNPIKE_SDNOTIFY_H
#define TURNPIKE_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/*
 * NOTIFY_SOCKET's value as an address: an absolute path, or "@name" for the
 * abstract namespace. -1 for anything else (empty, relative, too long).
 */
int sdnotify_parse_addr(const char *value, struct sockaddr_un *sun, socklen_t *len);
/*
 * WATCHDOG_USEC and WATCHDOG_PID (either may be NULL): the interval in
 * microseconds when the watchdog is meant for process self, else 0.
 */
uint64_t sdnotify_parse_watchdog(const char *usec, const char *pid, pid_t self);
/* "RELOADING=1\nMONOTONIC_USEC=N" into buf; -1 when it does not fit. */
int sdnotify_format_reloading(char *buf, size_t len, uint64_t mono_usec);

/* Sends state; 1 sent, 0 no NOTIFY_SOCKET, -1 with errno on an error. */
int sdnotify_send(const char *state);
/* READY=1, with STATUS=status when status is not NULL. */
int sdnotify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC; send sdnotify_ready() when the reload is done. */
int sdnotify_reloading(void);
int sdnotify_stopping(void);
int sdnotify_watchdog(void);
/* The watchdog interval systemd expects of this process in microseconds, 0 for none. */
uint64_t sdnotify_watchdog_usec(void);

#endif
