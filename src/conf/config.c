/*
 * Configuration parsing: defaults, the command line and a coturn-style file,
 * all through the option table, then validation. The result is read-only.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "turnpike/addr.h"
#include "turnpike/config.h"
#include "turnpike/options.h"

/* A configuration file larger than this is refused. */
#define CONFIG_FILE_MAX (1024 * 1024)

struct config_parser {
	struct config *cfg;
	enum config_source source;
	const char *file; /* file name while parsing one */
	unsigned int line;
	uint8_t set_by[OPTIONS_MAX]; /* enum config_source per row */
	bool warned[OPTIONS_MAX];    /* not-implemented warning given */
};

/* How each option type is parsed into its field and released. */
struct config_type {
	int (*set)(void *field, const struct option_entry *o, const char *value, char *err,
	    size_t errlen);
	void (*clear)(void *field);
	bool list; /* repeatable: values accumulate */
};

/* turnpike.conf is looked for first, in these directories. */
static const char *const config_search_dirs[] = {
    ".",
    SYSCONFDIR,
    "/etc/turnpike",
    "/etc",
};
/* Then turnserver.conf, where coturn looks for it (src/apps/common/apputils.c). */
static const char *const config_coturn_dirs[] = {
    ".",
    "./turnserver",
    "./coturn",
    "./etc",
    "./etc/turnserver",
    "./etc/coturn",
    "../etc",
    "../etc/turnserver",
    "../etc/coturn",
    "/etc",
    "/etc/turnserver",
    "/etc/coturn",
    "/usr/local/etc",
    "/usr/local/etc/turnserver",
    "/usr/local/etc/coturn",
    SYSCONFDIR,
    SYSCONFDIR "/turnserver",
    SYSCONFDIR "/coturn",
};

static int __attribute__((format(printf, 2, 0)))
config_vprintf(char **out, const char *fmt, va_list ap)
{
	if (vasprintf(out, fmt, ap) == -1) {
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Sets *cause to a formatted message; always returns -1. */
static int __attribute__((format(printf, 2, 3))) config_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (config_vprintf(cause, fmt, ap) != 0)
		*cause = strdup("out of memory");
	va_end(ap);
	return -1;
}

/* Records a warning for the caller; dropped if memory runs out. */
static void __attribute__((format(printf, 2, 3)))
config_warn(struct config *cfg, const char *fmt, ...)
{
	va_list ap;
	char *msg, **v;

	va_start(ap, fmt);
	if (config_vprintf(&msg, fmt, ap) != 0) {
		va_end(ap);
		return;
	}
	va_end(ap);
	v = reallocarray(cfg->warnings, cfg->nwarnings + 1, sizeof *v);
	if (v == NULL) {
		free(msg);
		return;
	}
	v[cfg->nwarnings++] = msg;
	cfg->warnings = v;
}

/*
 * A flag's value as coturn reads it: none means on; a value starting with 0,
 * n or f is off, with y, t or a digit 1-9 on; "on" and "off" in any case.
 */
static int
config_set_flag(void *field, const struct option_entry *o, const char *value, char *err,
    size_t errlen)
{
	bool *b = field;

	if (value == NULL || *value == '\0' || strchr("yYtT123456789", *value) != NULL ||
	    strcasecmp(value, "on") == 0)
		*b = true;
	else if (strchr("0nNfF", *value) != NULL || strcasecmp(value, "off") == 0)
		*b = false;
	else {
		snprintf(err, errlen, "'%s' is not a yes or no value", value);
		return -1;
	}
	return 0;
}

static int
config_set_int(void *field, const struct option_entry *o, const char *value, char *err,
    size_t errlen)
{
	long long v;
	char *end;

	if (value == NULL || *value == '\0') {
		snprintf(err, errlen, "missing value");
		return -1;
	}
	errno = 0;
	v = strtoll(value, &end, 10);
	if (*end != '\0' || end == value || isspace((unsigned char)*value)) {
		snprintf(err, errlen, "'%s' is not a number", value);
		return -1;
	}
	if (errno == ERANGE || v < o->min || v > o->max) {
		snprintf(err, errlen, "%s is out of range (%lld to %lld)", value, o->min, o->max);
		return -1;
	}
	*(int *)field = (int)v;
	return 0;
}

static int
config_set_string(void *field, const struct option_entry *o, const char *value, char *err,
    size_t errlen)
{
	char **s = field, *copy;

	if (value == NULL || *value == '\0') {
		snprintf(err, errlen, "missing value");
		return -1;
	}
	if ((copy = strdup(value)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*s);
	*s = copy;
	return 0;
}

static void
config_clear_string(void *field)
{
	char **s = field;

	free(*s);
	*s = NULL;
}

static int
config_parse_ip(const char *value, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	const char *errstr;

	if (value == NULL || *value == '\0') {
		snprintf(err, errlen, "missing value");
		return -1;
	}
	if (addr_parse_ip(value, ss, &errstr) != 0) {
		snprintf(err, errlen, "'%s' is not an IP address: %s", value, errstr);
		return -1;
	}
	return 0;
}

/* Appends one element of size sz to a list; a repeated address is kept once. */
static int
config_append(void **v, size_t *n, const void *elem, size_t sz, char *err, size_t errlen)
{
	uint8_t *nv;
	size_t i;

	for (i = 0; i < *n; i++) {
		if (memcmp((uint8_t *)*v + i * sz, elem, sz) == 0)
			return 0;
	}
	if ((nv = reallocarray(*v, *n + 1, sz)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(nv + *n * sz, elem, sz);
	*v = nv;
	(*n)++;
	return 0;
}

static int
config_set_addr(void *field, const struct option_entry *o, const char *value, char *err,
    size_t errlen)
{
	struct config_addrs *l = field;
	struct sockaddr_storage ss;
	void *v = l->v;
	int rc;

	memset(&ss, 0, sizeof ss);
	if (config_parse_ip(value, &ss, err, errlen) != 0)
		return -1;
	rc = config_append(&v, &l->n, &ss, sizeof ss, err, errlen);
	l->v = v;
	return rc;
}

static void
config_clear_addrs(void *field)
{
	struct config_addrs *l = field;

	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* external-ip: "public" or "public/private" (coturn syntax). */
static int
config_set_external(void *field, const struct option_entry *o, const char *value, char *err,
    size_t errlen)
{
	struct config_externals *l = field;
	struct config_external e;
	char *copy, *slash;
	void *v = l->v;
	int rc = -1;

	if (value == NULL || (copy = strdup(value)) == NULL) {
		snprintf(err, errlen, "%s", value == NULL ? "missing value" : "out of memory");
		return -1;
	}
	memset(&e, 0, sizeof e);
	if ((slash = strchr(copy, '/')) != NULL)
		*slash++ = '\0';
	if (config_parse_ip(copy, &e.public_ip, err, errlen) != 0)
		goto out;
	if (slash != NULL) {
		if (config_parse_ip(slash, &e.private_ip, err, errlen) != 0)
			goto out;
		e.has_private = true;
	}
	rc = config_append(&v, &l->n, &e, sizeof e, err, errlen);
	l->v = v;
out:
	free(copy);
	return rc;
}

static void
config_clear_externals(void *field)
{
	struct config_externals *l = field;

	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
config_set_strings(void *field, const struct option_entry *o, const char *value, char *err,
    size_t errlen)
{
	struct config_strings *l = field;
	char **v;

	if (value == NULL || *value == '\0') {
		snprintf(err, errlen, "missing value");
		return -1;
	}
	if ((v = reallocarray(l->v, l->n + 1, sizeof *v)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->v = v;
	if ((v[l->n] = strdup(value)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->n++;
	return 0;
}

/* Frees every value; secrets and passwords are wiped first. */
static void
config_clear_strings(void *field)
{
	struct config_strings *l = field;
	size_t i;

	for (i = 0; i < l->n; i++) {
		explicit_bzero(l->v[i], strlen(l->v[i]));
		free(l->v[i]);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static const struct config_type config_types[] = {
    [OPTION_FLAG] = {config_set_flag, NULL, false},
    [OPTION_INT] = {config_set_int, NULL, false},
    [OPTION_STRING] = {config_set_string, config_clear_string, false},
    [OPTION_PATH] = {config_set_string, config_clear_string, false},
    [OPTION_ADDRS] = {config_set_addr, config_clear_addrs, true},
    [OPTION_EXTERNAL] = {config_set_external, config_clear_externals, true},
    [OPTION_STRINGS] = {config_set_strings, config_clear_strings, true},
};

static void *
config_field(struct config *cfg, const struct option_entry *o)
{
	return (char *)cfg + o->offset;
}

static size_t
config_row(const struct option_entry *o)
{
	return (size_t)(o - options_table);
}

/* "file:line" or "command line", for messages. */
static const char *
config_where(const struct config_parser *p, char *buf, size_t len)
{
	if (p->source != CONFIG_SOURCE_FILE)
		return p->source == CONFIG_SOURCE_CMDLINE ? "command line" : "default";
	snprintf(buf, len, "%s:%u", p->file, p->line);
	return buf;
}

/* Records where row o got its value (the text too, for rows that store none). */
static int
config_note_origin(struct config_parser *p, const struct option_entry *o, const char *value,
    char **cause)
{
	struct config_origin *org = &p->cfg->origins[config_row(o)];
	char *copy = NULL;

	if (org->source == CONFIG_SOURCE_CMDLINE && p->source != CONFIG_SOURCE_CMDLINE)
		return 0; /* the command line overrides the file */
	if (o->offset == OPTION_NOWHERE && (copy = strdup(value != NULL ? value : "")) == NULL)
		return config_fail(cause, "out of memory");
	if (org->ignored_value != NULL) {
		explicit_bzero(org->ignored_value, strlen(org->ignored_value));
		free(org->ignored_value);
	}
	org->ignored_value = copy;
	org->source = p->source;
	org->line = p->source == CONFIG_SOURCE_FILE ? p->line : 0;
	return 0;
}

static int config_apply(struct config_parser *, const struct option_entry *, const char *, char **);

/*
 * Options that store nothing: warn once (not implemented, deprecated) or stay
 * silent (no-op); a deprecated row's replacement is applied in its place.
 */
static int
config_apply_ignored(struct config_parser *p, const struct option_entry *o, const char *value,
    const char *where, char **cause)
{
	const struct option_entry *to = NULL;
	const char *eq = NULL;
	char name[128];

	if (config_note_origin(p, o, value, cause) != 0)
		return -1;
	if (o->maps_to != NULL) {
		eq = strchr(o->maps_to, '=');
		snprintf(name, sizeof name, "%.*s",
		    (int)(eq != NULL ? (size_t)(eq - o->maps_to) : strlen(o->maps_to)), o->maps_to);
		to = options_find(name);
	}
	if ((o->flags & (OPTION_UNIMPL | OPTION_DEPRECATED)) && !p->warned[config_row(o)]) {
		p->warned[config_row(o)] = true;
		if (o->flags & OPTION_UNIMPL)
			config_warn(p->cfg, "%s: %s is not implemented yet; ignored", where,
			    o->name);
		else if (to != NULL)
			config_warn(p->cfg, "%s: %s is deprecated; replaced by %s: %s", where,
			    o->name, o->maps_to, o->help);
		else
			config_warn(p->cfg, "%s: %s is deprecated; ignored: %s", where, o->name,
			    o->help);
	}
	if (to == NULL)
		return 0;
	return config_apply(p, to, eq != NULL ? eq + 1 : value, cause);
}

/* The option type's parser, after the row's own syntax check. */
static int
config_set_value(void *field, const struct option_entry *o, const char *value, char *err,
    size_t errlen)
{
	if (o->check != NULL && value != NULL && *value != '\0' &&
	    o->check(value, err, errlen) != 0)
		return -1;
	return config_types[o->type].set(field, o, value, err, errlen);
}

/* Sets one option from the current source; -1 with *cause on a bad value. */
static int
config_apply(struct config_parser *p, const struct option_entry *o, const char *value, char **cause)
{
	const struct config_type *t = &config_types[o->type];
	size_t row = config_row(o);
	char buf[PATH_MAX + 32], err[512];
	const char *where = config_where(p, buf, sizeof buf);

	if (o->offset == OPTION_NOWHERE)
		return config_apply_ignored(p, o, value, where, cause);
	if ((value == NULL || *value == '\0') && o->bare != NULL)
		value = o->bare;
	if (p->source == CONFIG_SOURCE_FILE && (o->flags & OPTION_CMDLINE)) {
		config_warn(p->cfg, "%s: %s is only valid on the command line; ignored", where,
		    o->name);
		return 0;
	}
	/* The command line overrides the file, except that lists add up, as in coturn. */
	if (p->set_by[row] == CONFIG_SOURCE_CMDLINE && p->source != CONFIG_SOURCE_CMDLINE &&
	    !t->list)
		return 0;
	if (t->list && p->set_by[row] == CONFIG_SOURCE_DEFAULT &&
	    p->source != CONFIG_SOURCE_DEFAULT)
		t->clear(config_field(p->cfg, o));
	if (t->list && p->set_by[row] == CONFIG_SOURCE_CMDLINE)
		return config_set_value(config_field(p->cfg, o), o, value, err, sizeof err) != 0
		    ? config_fail(cause, "%s: %s: %s", where, o->name, err)
		    : 0;
	if (config_set_value(config_field(p->cfg, o), o, value, err, sizeof err) != 0)
		return config_fail(cause, "%s: %s: %s", where, o->name, err);
	p->set_by[row] = (uint8_t)p->source;
	return config_note_origin(p, o, value, cause);
}

/* Applies a row's default; list defaults are space-separated values. */
static int
config_apply_default(struct config_parser *p, const struct option_entry *o, char **cause)
{
	char *copy, *item, *next;
	int rc = 0;

	if (!config_types[o->type].list)
		return config_apply(p, o, o->def, cause);
	if ((copy = strdup(o->def)) == NULL)
		return config_fail(cause, "out of memory");
	for (item = copy; rc == 0 && item != NULL; item = next) {
		if ((next = strchr(item, ' ')) != NULL)
			*next++ = '\0';
		if (*item != '\0')
			rc = config_apply(p, o, item, cause);
	}
	free(copy);
	return rc;
}

/* Allocates a configuration holding every default. */
static int
config_start(struct config_parser *p, char **cause)
{
	const struct option_entry *o;
	size_t i;

	memset(p, 0, sizeof *p);
	if (options_count > OPTIONS_MAX)
		return config_fail(cause, "option table larger than OPTIONS_MAX");
	if ((p->cfg = calloc(1, sizeof *p->cfg)) == NULL ||
	    (p->cfg->origins = calloc(options_count, sizeof *p->cfg->origins)) == NULL) {
		free(p->cfg);
		p->cfg = NULL;
		return config_fail(cause, "out of memory");
	}
	p->source = CONFIG_SOURCE_DEFAULT;
	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		if (o->def != NULL && o->offset != OPTION_NOWHERE &&
		    config_apply_default(p, o, cause) != 0) {
			config_free(p->cfg);
			p->cfg = NULL;
			return -1;
		}
	}
	return 0;
}

/* "--name", "--name=value", "-x", "-xVALUE": finds the row and inline value. */
static const struct option_entry *
config_parse_flag(const char *arg, const char **value)
{
	const struct option_entry *o;
	const char *eq;
	char name[128];
	size_t n;

	*value = NULL;
	if (arg[0] != '-' || arg[1] == '\0')
		return NULL;
	if (arg[1] != '-') {
		o = options_find_short(arg[1]);
		if (o == NULL || arg[2] == '\0')
			return o;
		if (!options_has_arg(o))
			return NULL; /* "-vV": flags are not combined */
		*value = arg + 2;
		return o;
	}
	arg += 2;
	n = (eq = strchr(arg, '=')) != NULL ? (size_t)(eq - arg) : strlen(arg);
	if (n == 0 || n >= sizeof name)
		return NULL;
	memcpy(name, arg, n);
	name[n] = '\0';
	if ((o = options_find(name)) != NULL && eq != NULL)
		*value = eq + 1;
	return o;
}

static int
config_parse_argv(struct config_parser *p, int argc, const char *const *argv, char **cause)
{
	const struct option_entry *o;
	const char *value;
	int i;

	p->source = CONFIG_SOURCE_CMDLINE;
	for (i = 1; i < argc; i++) {
		if ((o = config_parse_flag(argv[i], &value)) == NULL) {
			return config_fail(cause, "command line: unknown option '%s' (see --help)",
			    argv[i]);
		}
		if (value == NULL && options_has_arg(o) && o->bare == NULL) {
			if (i + 1 >= argc) {
				return config_fail(cause, "command line: %s: missing value",
				    o->name);
			}
			value = argv[++i];
		}
		if (config_apply(p, o, value, cause) != 0)
			return -1;
	}
	return 0;
}

/* Strips trailing white space, CR included. */
static void
config_rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/*
 * Strips double quotes as coturn does: a leading one, then a trailing one if
 * present (so "a b" and "a b are both a b).
 */
static char *
config_unquote(char *v)
{
	size_t n;

	if (v[0] != '"')
		return v;
	v++;
	config_rtrim(v);
	n = strlen(v);
	if (n > 0 && v[n - 1] == '"')
		v[n - 1] = '\0';
	return v;
}

/*
 * "12 # a comment" after a number: coturn reads the number (atoi) and so does
 * this parser, with a warning; elsewhere '#' is data.
 */
static void
config_strip_number_comment(struct config_parser *p, const struct option_entry *o, char *value,
    const char *where)
{
	char *sp;

	if (o->type != OPTION_INT || value == NULL || (sp = strpbrk(value, " \t")) == NULL ||
	    sp[strspn(sp, " \t")] != '#')
		return;
	config_warn(p->cfg, "%s: %s: the text after the number is ignored: %s", where, o->name,
	    sp + strspn(sp, " \t"));
	*sp = '\0';
}

/*
 * One line of a coturn-style file: "name", "name=value", "name = value",
 * "name value", "name\tvalue", "--name ..." (the name ends at the first
 * space, tab or '=', the value starts after all of them); '#' starts a
 * comment only as the first character after leading white space.
 */
static int
config_parse_line(struct config_parser *p, char *line, char **cause)
{
	const struct option_entry *o;
	char *name, *s, *value = NULL, where[PATH_MAX + 32];

	config_rtrim(line);
	name = line + strspn(line, " \t\f\v");
	if (*name == '\0' || *name == '#')
		return 0;
	config_where(p, where, sizeof where);
	if (name[strlen(name) - 1] == ';')
		config_warn(p->cfg, "%s: the line ends with a semicolon (kept in the value)",
		    where);
	if (strncmp(name, "--", 2) == 0)
		name += 2;
	s = name + strcspn(name, " \t=");
	if (*s != '\0') {
		*s++ = '\0';
		value = config_unquote(s + strspn(s, " \t="));
	}
	if ((o = options_find(name)) == NULL) {
		config_warn(p->cfg, "%s: unknown option '%s'; ignored", where, name);
		p->cfg->nunknown++;
		return 0;
	}
	config_strip_number_comment(p, o, value, where);
	return config_apply(p, o, value, cause);
}

/* Parses file text line by line; lines may end in LF or CRLF. */
static int
config_parse_text(struct config_parser *p, const char *name, const char *text, size_t len,
    char **cause)
{
	const char *s = text, *end = text + len, *nl;
	char *line;
	size_t n;
	int rc;

	p->source = CONFIG_SOURCE_FILE;
	p->file = name;
	for (p->line = 1; s < end; p->line++) {
		nl = memchr(s, '\n', (size_t)(end - s));
		n = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
		if (memchr(s, '\0', n) != NULL)
			return config_fail(cause, "%s:%u: NUL byte", name, p->line);
		if ((line = malloc(n + 1)) == NULL)
			return config_fail(cause, "out of memory");
		memcpy(line, s, n); /* text need not be NUL-terminated */
		line[n] = '\0';
		rc = config_parse_line(p, line, cause);
		free(line);
		if (rc != 0)
			return -1;
		s += n + (nl != NULL);
	}
	return 0;
}

/* Reads a whole file into a NUL-terminated buffer. */
static int
config_read_file(const char *path, char **text, size_t *len, char **cause)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		return config_fail(cause, "cannot open configuration file %s: %s", path,
		    strerror(errno));
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return config_fail(cause, "out of memory");
	}
	n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f) || n > CONFIG_FILE_MAX) {
		fclose(f);
		free(buf);
		return config_fail(cause, "cannot read configuration file %s: %s", path,
		    n > CONFIG_FILE_MAX ? "larger than 1 MiB" : "read error");
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/* The first readable DIR/name for DIR in dirs, or NULL. */
static char *
config_search_in(const char *const *dirs, size_t ndirs, const char *name)
{
	char path[PATH_MAX];
	size_t d;

	for (d = 0; d < ndirs; d++) {
		snprintf(path, sizeof path, "%s/%s", dirs[d], name);
		if (access(path, R_OK) == 0)
			return strdup(path);
	}
	return NULL;
}

#define CONFIG_NDIRS(a) (sizeof(a) / sizeof((a)[0]))

/* The first turnpike.conf, else the first turnserver.conf where coturn looks; or NULL. */
static char *
config_search(void)
{
	char *path;

	path =
	    config_search_in(config_search_dirs, CONFIG_NDIRS(config_search_dirs), "turnpike.conf");
	if (path == NULL)
		path = config_search_in(config_coturn_dirs, CONFIG_NDIRS(config_coturn_dirs),
		    "turnserver.conf");
	return path;
}

/*
 * -c FILE: as given; a relative name that is not there is looked for in
 * coturn's directories, as coturn does (also without a leading "etc/").
 */
static char *
config_find_given(const char *file)
{
	char *path;

	if (file[0] == '/' || access(file, F_OK) == 0)
		return strdup(file);
	path = config_search_in(config_coturn_dirs, CONFIG_NDIRS(config_coturn_dirs), file);
	if (path == NULL && strncmp(file, "etc/", 4) == 0 && file[4] != '\0')
		path = config_search_in(config_coturn_dirs, CONFIG_NDIRS(config_coturn_dirs),
		    file + 4);
	return path != NULL ? path : strdup(file);
}

/* Reads the file -c names, or the one found by searching unless -n. */
static int
config_load_file(struct config_parser *p, char **cause)
{
	struct config *cfg = p->cfg;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (cfg->no_config_file) {
		if (cfg->config_file != NULL) {
			return config_fail(cause,
			    "command line: -c and -n cannot be used together");
		}
		return 0;
	}
	if (cfg->config_file != NULL)
		cfg->file = config_find_given(cfg->config_file);
	else
		cfg->file = config_search();
	if (cfg->file == NULL)
		return 0;
	if (config_read_file(cfg->file, &text, &len, cause) != 0)
		return -1;
	rc = config_parse_text(p, cfg->file, text, len, cause);
	free(text);
	return rc;
}

/* The realm when none is given: the host name, as coturn does. */
static int
config_default_realm(struct config *cfg, char **cause)
{
	char host[256];

	if (cfg->realm != NULL)
		return 0;
	if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
		snprintf(host, sizeof host, "turnpike");
	host[sizeof host - 1] = '\0';
	if ((cfg->realm = strdup(host)) == NULL)
		return config_fail(cause, "out of memory");
	cfg->realm_from_host = true;
	return 0;
}

/*
 * Credentials as coturn has them: long-term credentials unless no-auth, which
 * cannot be combined with them; static-auth-secret implies use-auth-secret.
 */
static int
config_validate_auth(struct config *cfg, char **cause)
{
	if (cfg->static_auth_secrets.n > 0)
		cfg->use_auth_secret = true;
	if (cfg->no_auth && (cfg->lt_cred_mech || cfg->use_auth_secret)) {
		return config_fail(cause, "no-auth cannot be combined with %s",
		    cfg->lt_cred_mech ? "lt-cred-mech" : "use-auth-secret or static-auth-secret");
	}
	cfg->auth = !cfg->no_auth;
	if (cfg->no_auth && cfg->users.n > 0)
		config_warn(cfg, "no-auth: the %zu user accounts are ignored", cfg->users.n);
	if (cfg->use_auth_secret && cfg->static_auth_secrets.n == 0 && cfg->userdb == NULL &&
	    cfg->psql_userdb == NULL && cfg->mysql_userdb == NULL) {
		config_warn(cfg,
		    "use-auth-secret without static-auth-secret: "
		    "no TURN REST API credential can be checked");
	}
	return config_default_realm(cfg, cause);
}

/* rfc5780: the second UDP port (coturn: listening-port plus one); no-rfc5780 wins. */
static int
config_validate_rfc5780(struct config *cfg, char **cause)
{
	if (cfg->no_rfc5780)
		cfg->rfc5780 = false;
	if (!cfg->rfc5780)
		return 0;
	if (cfg->no_udp)
		return config_fail(cause, "rfc5780 needs UDP: no-udp is set");
	if (cfg->alt_listening_port == 0) {
		if (cfg->listening_port == 65535)
			return config_fail(cause, "rfc5780: give alt-listening-port");
		cfg->alt_listening_port = cfg->listening_port + 1;
	}
	if (cfg->alt_listening_port == cfg->listening_port)
		return config_fail(cause, "alt-listening-port and listening-port are both %d",
		    cfg->listening_port);
	if (cfg->alt_tls_listening_port == 0) {
		if (cfg->tls_listening_port == 65535)
			return config_fail(cause, "rfc5780: give alt-tls-listening-port");
		cfg->alt_tls_listening_port = cfg->tls_listening_port + 1;
	}
	return 0;
}

/* rfc5780's TLS and DTLS port: known once TLS and DTLS are; none of the others. */
static int
config_validate_alt_tls(struct config *cfg, char **cause)
{
	int p = cfg->alt_tls_listening_port;

	if (!cfg->rfc5780 || (!cfg->tls && !cfg->dtls))
		return 0;
	if (p == cfg->tls_listening_port || p == cfg->listening_port ||
	    p == cfg->alt_listening_port)
		return config_fail(cause,
		    "alt-tls-listening-port %d is also listening-port, alt-listening-port or "
		    "tls-listening-port",
		    p);
	return 0;
}

/* Whether this kernel has IPv6 at all (booted with ipv6.disable=1 it has not). */
static bool
config_have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd != -1)
		close(fd);
	return fd != -1 || errno != EAFNOSUPPORT;
}

/*
 * The default listening-ip [::] on a kernel without IPv6 is skipped with a
 * warning (an explicit one still stops startup when it cannot be bound).
 */
static void
config_skip_ipv6_default(struct config *cfg)
{
	const struct option_entry *o = options_find("listening-ip");
	struct config_addrs *l = &cfg->listening_ip;
	size_t i, kept = 0;

	if (o == NULL || cfg->origins[o - options_table].source != CONFIG_SOURCE_DEFAULT ||
	    config_have_ipv6())
		return;
	for (i = 0; i < l->n; i++) {
		if (l->v[i].ss_family != AF_INET6)
			l->v[kept++] = l->v[i];
	}
	if (kept == l->n)
		return;
	l->n = kept;
	config_warn(cfg,
	    "listening-ip: this kernel has no IPv6 (address family not supported): "
	    "the default [::] listener is skipped; listening on 0.0.0.0 only");
}

/* userdb, psql-userdb, mysql-userdb, redis-userdb: one credential store only. */
static int
config_userdb_engine(struct config *cfg, char **cause)
{
	const struct {
		const char *name, *value;
	} stores[] = {{"userdb", cfg->userdb}, {"psql-userdb", cfg->psql_userdb},
	    {"mysql-userdb", cfg->mysql_userdb}, {"redis-userdb", cfg->redis_userdb}};
	const char *first = NULL;
	size_t i;

	for (i = 0; i < sizeof stores / sizeof stores[0]; i++) {
		if (stores[i].value == NULL)
			continue;
		if (first != NULL)
			return config_fail(cause, "%s and %s: choose one credential store", first,
			    stores[i].name);
		first = stores[i].name;
	}
#ifndef HAVE_MARIADB
	if (cfg->mysql_userdb != NULL)
		return config_fail(cause,
		    "mysql-userdb: this turnpike is built without MySQL/MariaDB "
		    "(rebuild with libmariadb-dev installed)");
#endif
	return 0;
}

/* Checks across options, and derives what depends on several of them. */
static int
config_validate(struct config *cfg, char **cause)
{
	config_skip_ipv6_default(cfg);
	if (config_userdb_engine(cfg, cause) != 0)
		return -1;
	if (cfg->min_port > cfg->max_port) {
		return config_fail(cause, "min-port %d is greater than max-port %d", cfg->min_port,
		    cfg->max_port);
	}
	if (config_validate_auth(cfg, cause) != 0 || config_validate_rfc5780(cfg, cause) != 0)
		return -1;
	if ((cfg->cert == NULL) != (cfg->pkey == NULL))
		return config_fail(cause, "cert and pkey must be given together");
	cfg->tls = !cfg->no_tls && cfg->cert != NULL;
	cfg->dtls = !cfg->no_dtls && cfg->cert != NULL;
	if (!cfg->no_tls && !cfg->tls)
		config_warn(cfg, "no cert and pkey configured: TLS listeners are off");
	if (cfg->no_udp && cfg->no_tcp && !cfg->tls && !cfg->dtls) {
		return config_fail(cause,
		    "nothing to listen on: UDP, TCP, TLS and DTLS are all off");
	}
	if (((!cfg->no_tcp && cfg->tls) || (!cfg->no_udp && cfg->dtls)) &&
	    cfg->listening_port == cfg->tls_listening_port) {
		return config_fail(cause, "listening-port and tls-listening-port are both %d",
		    cfg->listening_port);
	}
	return config_validate_alt_tls(cfg, cause);
}

int
config_create(int argc, const char *const *argv, struct config **cfgp, char **cause)
{
	struct config_parser p;

	*cfgp = NULL;
	if (config_start(&p, cause) != 0)
		return -1;
	if (config_parse_argv(&p, argc, argv, cause) != 0)
		goto fail;
	if (p.cfg->help || p.cfg->version || p.cfg->dump_options != NULL)
		goto done; /* an action: no file, no validation */
	if (config_load_file(&p, cause) != 0 || config_validate(p.cfg, cause) != 0)
		goto fail;
done:
	*cfgp = p.cfg;
	return 0;
fail:
	config_free(p.cfg);
	return -1;
}

int
config_create_text(const char *name, const char *text, size_t len, struct config **cfgp,
    char **cause)
{
	struct config_parser p;

	*cfgp = NULL;
	if (config_start(&p, cause) != 0)
		return -1;
	if ((p.cfg->file = strdup(name)) == NULL) {
		config_free(p.cfg);
		return config_fail(cause, "out of memory");
	}
	if (config_parse_text(&p, name, text, len, cause) != 0 ||
	    config_validate(p.cfg, cause) != 0) {
		config_free(p.cfg);
		return -1;
	}
	*cfgp = p.cfg;
	return 0;
}

void
config_free(struct config *cfg)
{
	const struct option_entry *o;
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		if (o->offset != OPTION_NOWHERE && config_types[o->type].clear != NULL)
			config_types[o->type].clear(config_field(cfg, o));
	}
	for (i = 0; i < cfg->nwarnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	for (i = 0; cfg->origins != NULL && i < options_count; i++) {
		if (cfg->origins[i].ignored_value != NULL) {
			explicit_bzero(cfg->origins[i].ignored_value,
			    strlen(cfg->origins[i].ignored_value));
			free(cfg->origins[i].ignored_value);
		}
	}
	free(cfg->origins);
	free(cfg->file);
	free(cfg);
}

const struct config_origin *
config_origin_of(const struct config *cfg, const struct option_entry *o)
{
	return &cfg->origins[config_row(o)];
}

int
config_check_value(const struct option_entry *o, const char *value, char **cause)
{
	struct config *cfg;
	char err[512];
	int rc = 0;

	if (o->offset == OPTION_NOWHERE)
		return 0;
	if ((cfg = calloc(1, sizeof *cfg)) == NULL)
		return config_fail(cause, "out of memory");
	if (config_set_value(config_field(cfg, o), o, value, err, sizeof err) != 0)
		rc = config_fail(cause, "%s: %s", o->name, err);
	config_free(cfg);
	return rc;
}

static bool
config_strings_equal(const struct config_strings *a, const struct config_strings *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++) {
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	}
	return true;
}

static bool
config_text_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
config_option_equal(const struct option_entry *o, const struct config *a, const struct config *b)
{
	const void *fa, *fb;
	const struct config_addrs *aa, *ab;
	const struct config_externals *ea, *eb;

	if (o->offset == OPTION_NOWHERE)
		return true;
	fa = (const char *)a + o->offset;
	fb = (const char *)b + o->offset;
	aa = fa, ab = fb, ea = fa, eb = fb;
	switch (o->type) {
	case OPTION_FLAG:
		return *(const bool *)fa == *(const bool *)fb;
	case OPTION_INT:
		return *(const int *)fa == *(const int *)fb;
	case OPTION_STRING:
	case OPTION_PATH:
		return config_text_equal(*(char *const *)fa, *(char *const *)fb);
	case OPTION_ADDRS:
		return aa->n == ab->n &&
		    (aa->n == 0 || memcmp(aa->v, ab->v, aa->n * sizeof *aa->v) == 0);
	case OPTION_EXTERNAL:
		return ea->n == eb->n &&
		    (ea->n == 0 || memcmp(ea->v, eb->v, ea->n * sizeof *ea->v) == 0);
	case OPTION_STRINGS:
		return config_strings_equal(fa, fb);
	}
	return false;
}

static int
config_copy_strings(struct config_strings *dst, const struct config_strings *src)
{
	size_t i;

	if (src->n == 0)
		return 0;
	if ((dst->v = calloc(src->n, sizeof *dst->v)) == NULL)
		return -1;
	for (i = 0; i < src->n; i++) {
		if ((dst->v[i] = strdup(src->v[i])) == NULL)
			return -1;
		dst->n++;
	}
	return 0;
}

/* A deep copy of n elements of sz bytes; 0 elements is NULL. */
static int
config_copy_array(void **dst, const void *src, size_t n, size_t sz)
{
	*dst = NULL;
	if (n == 0)
		return 0;
	if ((*dst = calloc(n, sz)) == NULL)
		return -1;
	memcpy(*dst, src, n * sz);
	return 0;
}

int
config_option_copy(const struct option_entry *o, struct config *dst, const struct config *src)
{
	void *fd;
	const void *fs;
	const char *text;

	if (o->offset == OPTION_NOWHERE)
		return 0;
	fd = config_field(dst, o);
	fs = (const char *)src + o->offset;
	if (config_types[o->type].clear != NULL)
		config_types[o->type].clear(fd);
	switch (o->type) {
	case OPTION_FLAG:
		*(bool *)fd = *(const bool *)fs;
		return 0;
	case OPTION_INT:
		*(int *)fd = *(const int *)fs;
		return 0;
	case OPTION_STRING:
	case OPTION_PATH:
		text = *(char *const *)fs;
		return text != NULL && (*(char **)fd = strdup(text)) == NULL ? -1 : 0;
	case OPTION_ADDRS:
		((struct config_addrs *)fd)->n = ((const struct config_addrs *)fs)->n;
		return config_copy_array((void **)&((struct config_addrs *)fd)->v,
		    ((const struct config_addrs *)fs)->v, ((const struct config_addrs *)fs)->n,
		    sizeof(struct sockaddr_storage));
	case OPTION_EXTERNAL:
		((struct config_externals *)fd)->n = ((const struct config_externals *)fs)->n;
		return config_copy_array((void **)&((struct config_externals *)fd)->v,
		    ((const struct config_externals *)fs)->v,
		    ((const struct config_externals *)fs)->n, sizeof(struct config_external));
	case OPTION_STRINGS:
		return config_copy_strings(fd, fs);
	}
	return -1;
}

int
config_clone(const struct config *src, struct config **out)
{
	struct config *cfg;
	size_t i;

	*out = NULL;
	if ((cfg = calloc(1, sizeof *cfg)) == NULL)
		return -1;
	for (i = 0; i < options_count; i++) {
		if (config_option_copy(&options_table[i], cfg, src) != 0) {
			config_free(cfg);
			return -1;
		}
	}
	cfg->tls = src->tls;
	cfg->dtls = src->dtls;
	cfg->auth = src->auth;
	cfg->realm_from_host = src->realm_from_host;
	if (src->file != NULL && (cfg->file = strdup(src->file)) == NULL) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

bool
config_proxy_protocol_on(const struct config *cfg, const char *listener)
{
	size_t n = strlen(listener);
	const char *p = cfg->proxy_protocol;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, listener, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return false;
}
