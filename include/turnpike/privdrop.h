/*
 * proc-user and proc-group: the IDs are looked up before anything is bound,
 * and switched to for good once listeners and files are open.
 */
#ifndef TURNPIKE_PRIVDROP_H
#define TURNPIKE_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

struct privdrop {
	bool active; /* proc-user or proc-group given */
	bool has_user;
	uid_t uid;
	gid_t gid;
	char user[64]; /* for initgroups */
};

/*
 * Looks up user and group (either may be NULL); the group defaults to the
 * user's primary one. -1 with *cause for an unknown name, or when not root.
 */
int privdrop_resolve(const char *user, const char *group, struct privdrop *pd, char **cause);
/* Hands path (when it exists) to the target user and group; -1 with *cause. */
int privdrop_chown(const struct privdrop *pd, const char *path, char **cause);
/*
 * Sets the supplementary groups (the user's from the group database, or just
 * the group), the group, then the user, and checks that root cannot be
 * regained. -1 with *cause; the process must then exit.
 */
int privdrop_apply(const struct privdrop *pd, char **cause);

#endif
