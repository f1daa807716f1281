/*
 * Unit tests for dropping root: unknown names are errors, nothing to do
 * without proc-user or proc-group, and (as root, in a child process) the
 * switch to nobody takes every ID and cannot be undone.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "turnpike/privdrop.h"
#include "unit.h"

/* In a child: apply, then exit 0 only if every ID is nobody's and root stays gone. */
static int
child_drop(const struct privdrop *pd)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[4];
	char *cause = NULL;
	int n;

	if (privdrop_apply(pd, &cause) != 0)
		_exit(2);
	if (getresuid(&r, &e, &s) != 0 || r != pd->uid || e != pd->uid || s != pd->uid)
		_exit(3);
	if (getresgid(&rg, &eg, &sg) != 0 || rg != pd->gid || eg != pd->gid || sg != pd->gid)
		_exit(4);
	n = getgroups(4, groups);
	for (int i = 0; i < n; i++) {
		if (groups[i] == 0)
			_exit(5);
	}
	if (setuid(0) == 0 || setgid(0) == 0 || setgroups(0, NULL) == 0)
		_exit(6);
	_exit(0);
}

int
main(void)
{
	struct privdrop pd;
	struct passwd *pw;
	char *cause = NULL;
	pid_t pid;
	int status;

	CHECK(privdrop_resolve(NULL, NULL, &pd, &cause) == 0 && !pd.active);
	CHECKM(privdrop_apply(&pd, &cause) == 0, "nothing to drop: a no-op");
	CHECK(privdrop_resolve("no-such-user-tp", NULL, &pd, &cause) == -1 && cause != NULL &&
	    strcmp(cause, "proc-user no-such-user-tp: no such name") == 0);
	free(cause);
	cause = NULL;
	CHECK(privdrop_resolve(NULL, "no-such-group-tp", &pd, &cause) == -1 && cause != NULL &&
	    strcmp(cause, "proc-group no-such-group-tp: no such name") == 0);
	free(cause);
	cause = NULL;

	if ((pw = getpwnam("nobody")) == NULL || geteuid() != 0) {
		printf("# not root or no user nobody: the switch itself is not tested\n");
		return unit_done();
	}
	CHECK(privdrop_resolve("nobody", NULL, &pd, &cause) == 0 && pd.active && pd.has_user &&
	    pd.uid == pw->pw_uid && pd.gid == pw->pw_gid);
	pid = fork();
	if (pid == 0)
		child_drop(&pd);
	CHECKM(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		WEXITSTATUS(status) == 0,
	    "as nobody: every user and group ID switched, root's groups gone, root not regained");
	return unit_done();
}
