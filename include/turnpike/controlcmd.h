/*
 * The control commands behind the control socket (control.h carries the
 * protocol): status, loglevel, sessions, kill, reload and drain. A command
 * answers with control_conn_printf; one the workers answer returns
 * CONTROLCMD_PENDING after control_conn_wait and finishes later with
 * control_conn_finish. Main loop only.
 */
#ifndef TURNPIKE_CONTROLCMD_H
#define TURNPIKE_CONTROLCMD_H

struct control_conn;
struct control_source;
struct controlcmd;
struct controlcmd_req;
struct event_base;

#define CONTROLCMD_PENDING 1

/* The pipe the workers' answers come back through, watched on base. */
int controlcmd_create(struct event_base *base, const struct control_source *src,
    struct controlcmd **out, char **cause);
/* After the workers have stopped. */
void controlcmd_free(struct controlcmd *cmds);
/*
 * Runs the command argv[0] (argc >= 1) for cc: 0 when answered (the caller
 * ends with "ok"), CONTROLCMD_PENDING, or -1 with *cause for "error: ...".
 */
int controlcmd_run(struct controlcmd *cmds, struct control_conn *cc, int argc, char **argv,
    char **cause);
/*
 * kill --user for the fleet (no client): the same jobs as the command, the
 * outcome logged; CONTROLCMD_PENDING, or -1 with *cause.
 */
int controlcmd_kill_user(struct controlcmd *cmds, const char *user, char **cause);
/* cc has gone while req was pending: the workers' answers are dropped. */
void controlcmd_detach(struct controlcmd_req *req);

#endif
