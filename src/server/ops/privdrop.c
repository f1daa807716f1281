/* Dropping root: setgroups, setgid, setuid, in that order, then a check. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/cause.h"
#include "turnpike/privdrop.h"

/* getpwnam and getgrnam say "not found" with a NULL result and errno 0 or ENOENT. */
static const char *
privdrop_lookup_error(void)
{
	if (errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF || errno == EPERM)
		return "no such name";
	return strerror(errno);
}

int
privdrop_resolve(const char *user, const char *group, struct privdrop *pd, char **cause)
{
	struct passwd *pw;
	struct group *gr;

	memset(pd, 0, sizeof *pd);
	if (user == NULL && group == NULL)
		return 0;
	pd->active = true;
	if (user != NULL) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL) {
			return cause_fail(cause, "proc-user %s: %s", user, privdrop_lookup_error());
		}
		if (snprintf(pd->user, sizeof pd->user, "%s", user) >= (int)sizeof pd->user)
			return cause_fail(cause, "proc-user %s: name too long", user);
		pd->has_user = true;
		pd->uid = pw->pw_uid;
		pd->gid = pw->pw_gid;
	}
	if (group != NULL) {
		errno = 0;
		if ((gr = getgrnam(group)) == NULL) {
			return cause_fail(cause, "proc-group %s: %s", group,
			    privdrop_lookup_error());
		}
		pd->gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		return cause_fail(cause,
		    "proc-user and proc-group need turnpiked to be started "
		    "as root");
	}
	return 0;
}

int
privdrop_chown(const struct privdrop *pd, const char *path, char **cause)
{
	if (!pd->active || path == NULL)
		return 0;
	if (chown(path, pd->has_user ? pd->uid : (uid_t)-1, pd->gid) != 0 && errno != ENOENT)
		return cause_fail(cause, "cannot hand %s to proc-user: %s", path, strerror(errno));
	return 0;
}

/* After the switch: neither root's user nor group ID can come back. */
static int
privdrop_verify(const struct privdrop *pd, char **cause)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return cause_fail(cause, "cannot read the process IDs: %s", strerror(errno));
	if (pd->has_user && (r != pd->uid || e != pd->uid || s != pd->uid))
		return cause_fail(cause, "proc-user: the user ID did not change");
	if (rg != pd->gid || eg != pd->gid || sg != pd->gid)
		return cause_fail(cause, "proc-group: the group ID did not change");
	if (pd->has_user && pd->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return cause_fail(cause, "proc-user: root could be regained");
	if (pd->has_user && pd->uid != 0 && pd->gid != 0 && (setgid(0) == 0 || setegid(0) == 0))
		return cause_fail(cause, "proc-group: group 0 could be regained");
	return 0;
}

int
privdrop_apply(const struct privdrop *pd, char **cause)
{
	if (!pd->active)
		return 0;
	if (pd->has_user) {
		if (initgroups(pd->user, pd->gid) != 0)
			return cause_fail(cause, "initgroups %s: %s", pd->user, strerror(errno));
	} else if (setgroups(1, &pd->gid) != 0)
		return cause_fail(cause, "setgroups: %s", strerror(errno));
	if (setresgid(pd->gid, pd->gid, pd->gid) != 0)
		return cause_fail(cause, "setgid %lu: %s", (unsigned long)pd->gid, strerror(errno));
	if (pd->has_user && setresuid(pd->uid, pd->uid, pd->uid) != 0)
		return cause_fail(cause, "setuid %lu: %s", (unsigned long)pd->uid, strerror(errno));
	return privdrop_verify(pd, cause);
}
