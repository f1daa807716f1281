/*
 * Reading the configuration again for a reload: the same command line and
 * file as at start (the command line still overrides the file), validated
 * completely. Options without OPTION_RELOADABLE keep their running value.
 */
#ifndef TURNPIKE_RELOAD_H
#define TURNPIKE_RELOAD_H

struct config;

/* The command line the daemon started with, kept for reloads. */
struct reload_args {
	int argc;
	const char *const *argv;
};

/*
 * Parses the configuration again into *out. Each option that needs a restart
 * and changed is logged ("option NAME changed: needs restart"), keeps cur's
 * value, and is named in *restart ("NAME NAME ...", "" when none; the
 * caller frees it). -1 with *cause ("file:line: option: reason") when the
 * configuration is refused.
 */
int reload_config(const struct config *cur, const struct reload_args *args, struct config **out,
    char **restart, char **cause);

#endif
