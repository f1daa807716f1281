/*
 * The option table: one row per option. The command line and file parsers,
 * validation bounds, --help, the man pages and the sample configuration are all
 * derived from it (STYLE rule 8).
 */
#ifndef TURNPIKE_OPTIONS_H
#define TURNPIKE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum option_type {
	OPTION_FLAG,     /* bool; bare name means on, or 1/0 true/false yes/no on/off */
	OPTION_INT,      /* int within [min, max] */
	OPTION_STRING,   /* char *, any text */
	OPTION_PATH,     /* char *, a non-empty file name */
	OPTION_ADDRS,    /* struct config_addrs: IP addresses, repeatable */
	OPTION_EXTERNAL, /* struct config_externals: public[/private], repeatable */
	OPTION_STRINGS,  /* struct config_strings: text values, repeatable */
};

/* Row flags. */
#define OPTION_RELOADABLE 0x1  /* a reload (SIGHUP) applies a new value */
#define OPTION_CMDLINE 0x2     /* command line only (-c, -n, -h, ...) */
#define OPTION_UNIMPL 0x4      /* accepted for coturn configs; warns, ignored */
#define OPTION_NOOP 0x8        /* accepted silently, ignored (our default already) */
#define OPTION_DEPRECATED 0x10 /* accepted for coturn configs; warns that it is deprecated */
#define OPTION_SECRET 0x20     /* the value is a secret: --check-config masks it */

/* The table never has more rows than this (parsers keep per-row state). */
#define OPTIONS_MAX 256

/* offset value of rows that store nothing. */
#define OPTION_NOWHERE ((size_t)-1)

struct option_entry {
	const char *name;
	const char *alias; /* other accepted long name, or NULL */
	char short_flag;   /* coturn's one-letter flag, or 0 */
	enum option_type type;
	const char *def;      /* default as text in the option's syntax, NULL for none */
	const char *def_text; /* a default computed at startup, in words for the docs */
	const char *bare;     /* the value a bare name takes (coturn's optional values) */
	long long min;        /* OPTION_INT bounds */
	long long max;
	int flags;
	size_t offset;    /* where the value lands in struct config, or OPTION_NOWHERE */
	const char *arg;  /* argument name for help, NULL for flags */
	const char *help; /* one sentence */
	/* Extra syntax check of one value: -1 with err filled (names no option). */
	int (*check)(const char *value, char *err, size_t errlen);
	/* Deprecated rows: the option applied instead, "NAME" (with the value given) or "NAME=VALUE". */
	const char *maps_to;
};

extern const struct option_entry options_table[];
extern const size_t options_count;

/* "0.9" as 900: a fraction from 0.001 to 1 in thousandths; -1 otherwise. */
int options_parse_permille(const char *value, uint32_t *out);

/* The row for a long name or alias (case-sensitive: -v verbose, -V Verbose). */
const struct option_entry *options_find(const char *name);
const struct option_entry *options_find_short(char c);
/* True when the option takes a value on the command line. */
int options_has_arg(const struct option_entry *o);

/* --help text. */
void options_usage(FILE *f, const char *progname);
/*
 * Documentation generated from the table. format is "names" (one name per
 * line), "man" (the OPTIONS section of turnpiked.8), "man5" (the OPTIONS
 * section of turnpike.conf.5) or "conf" (the sample turnpike.conf).
 * Returns -1 for an unknown format.
 */
int options_dump(FILE *f, const char *format);

#endif
