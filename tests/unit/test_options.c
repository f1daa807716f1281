/* The option table: sanity of every row, lookups, and the derived documents. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/config.h"
#include "turnpike/options.h"
#include "unit.h"

static int
names_unique(void)
{
	const char *names[2 * OPTIONS_MAX];
	size_t i, j, n = 0;

	for (i = 0; i < options_count; i++) {
		names[n++] = options_table[i].name;
		if (options_table[i].alias != NULL)
			names[n++] = options_table[i].alias;
	}
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (strcmp(names[i], names[j]) == 0) {
				printf("# duplicate name %s\n", names[i]);
				return 0;
			}
		}
	}
	return 1;
}

static int
short_flags_unique(void)
{
	size_t i, j;

	for (i = 0; i < options_count; i++) {
		for (j = i + 1; j < options_count; j++) {
			if (options_table[i].short_flag != 0 &&
			    options_table[i].short_flag == options_table[j].short_flag) {
				printf("# duplicate -%c\n", options_table[i].short_flag);
				return 0;
			}
		}
	}
	return 1;
}

static int
offsets_sound(void)
{
	const struct option_entry *a, *b;
	size_t i, j;

	for (i = 0; i < options_count; i++) {
		a = &options_table[i];
		if ((a->offset == OPTION_NOWHERE) !=
		    ((a->flags & (OPTION_UNIMPL | OPTION_NOOP | OPTION_DEPRECATED)) != 0)) {
			printf("# %s: offset and flags disagree\n", a->name);
			return 0;
		}
		for (j = i + 1; j < options_count; j++) {
			b = &options_table[j];
			if (a->offset != OPTION_NOWHERE && a->offset == b->offset) {
				printf("# %s and %s share a field\n", a->name, b->name);
				return 0;
			}
		}
	}
	return 1;
}

/* A deprecated row's replacement is a row that stores something or warns itself. */
static int
replacements_exist(void)
{
	const struct option_entry *o, *to;
	char name[128];
	size_t i;

	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		if (o->maps_to == NULL)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)strcspn(o->maps_to, "="), o->maps_to);
		to = options_find(name);
		if (!(o->flags & OPTION_DEPRECATED) || to == NULL || to->maps_to != NULL ||
		    (to->flags & OPTION_CMDLINE)) {
			printf("# %s: replacement %s unusable\n", o->name, o->maps_to);
			return 0;
		}
	}
	return 1;
}

static int
help_and_args_present(void)
{
	const struct option_entry *o;
	size_t i, n;

	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		n = o->help != NULL ? strlen(o->help) : 0;
		if (n < 8 || o->help[n - 1] != '.' ||
		    (o->arg == NULL) != (o->type == OPTION_FLAG)) {
			printf("# %s: help or argument name missing\n", o->name);
			return 0;
		}
		if (o->type == OPTION_INT && o->min > o->max) {
			printf("# %s: min > max\n", o->name);
			return 0;
		}
	}
	return 1;
}

/* Every default, split into its items for list options, parses as its type. */
static int
defaults_parse(void)
{
	const struct option_entry *o;
	char *copy, *item, *save, *cause;
	size_t i;
	int ok = 1;

	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		if (o->def == NULL)
			continue;
		copy = strdup(o->def);
		for (item = strtok_r(copy, " ", &save); item != NULL;
		     item = strtok_r(NULL, " ", &save)) {
			if (config_check_value(o, item, &cause) != 0) {
				printf("# default of %s: %s\n", o->name, cause);
				free(cause);
				ok = 0;
			}
			if (o->type != OPTION_ADDRS && o->type != OPTION_EXTERNAL)
				break;
		}
		free(copy);
	}
	return ok;
}

static char *
dump(const char *format, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	*rc = options_dump(f, format);
	fclose(f);
	return text;
}

/* Each selected row's name appears in the text (as roff when roff is set). */
static int
all_named(const char *text, int skip_flags, int roff)
{
	char want[256], *w;
	const char *p;
	size_t i;

	for (i = 0; i < options_count; i++) {
		if (options_table[i].flags & skip_flags)
			continue;
		for (p = options_table[i].name, w = want; *p != '\0' && w < want + sizeof want - 3;
		     p++) {
			if (roff && *p == '-')
				*w++ = '\\';
			*w++ = *p;
		}
		*w = '\0';
		if (strstr(text, want) == NULL) {
			printf("# %s missing\n", want);
			return 0;
		}
	}
	return 1;
}

static void
test_documents(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	text = dump("names", &rc);
	CHECK(rc == 0 && all_named(text, 0, 0));
	free(text);
	text = dump("conf", &rc);
	CHECKM(rc == 0 && all_named(text, OPTION_CMDLINE, 0),
	    "sample config names every file option");
	CHECK(strstr(text, "\n#listening-port=3478\n") != NULL);
	CHECK(strstr(text, "\n#listening-ip=::\n") != NULL);
	free(text);
	text = dump("man", &rc);
	CHECKM(rc == 0 && all_named(text, 0, 1), "man page names every option");
	CHECK(strstr(text, "\\fB\\-p\\fR, \\fB\\-\\-listening\\-port\\fR") != NULL);
	free(text);
	text = dump("man5", &rc);
	CHECKM(rc == 0 && all_named(text, OPTION_CMDLINE, 1),
	    "conf man page names every file option");
	free(text);
	text = dump("nonsense", &rc);
	CHECK(rc == -1);
	free(text);

	f = open_memstream(&text, &len);
	options_usage(f, "turnpiked");
	fclose(f);
	CHECKM(all_named(text, 0, 0), "--help names every option");
	CHECK(strstr(text, "  -p, --listening-port PORT\n") != NULL);
	free(text);
}

static void
test_lookup(void)
{
	static const struct {
		char c;
		const char *name;
	} coturn[] = {
	    {'c', "config-file"},
	    {'n', "no-config-file"},
	    {'p', "listening-port"},
	    {'L', "listening-ip"},
	    {'E', "relay-ip"},
	    {'X', "external-ip"},
	    {'r', "realm"},
	    {'a', "lt-cred-mech"},
	    {'z', "no-auth"},
	    {'u', "user"},
	    {'q', "user-quota"},
	    {'Q', "total-quota"},
	    {'C', "rest-api-separator"},
	    {'f', "fingerprint"},
	    {'v', "verbose"},
	    {'V', "Verbose"},
	    {'l', "log-file"},
	    {'m', "relay-threads"},
	    {'h', "help"},
	    /* The rest of coturn's "c:d:p:L:E:X:i:m:l:r:u:b:B:e:M:J:N:O:q:Q:s:C:K:A:vVofhznaS". */
	    {'d', "listening-device"},
	    {'i', "relay-device"},
	    {'b', "userdb"},
	    {'B', "bps-capacity"},
	    {'e', "psql-userdb"},
	    {'M', "mysql-userdb"},
	    {'J', "mongo-userdb"},
	    {'N', "redis-userdb"},
	    {'O', "redis-statsdb"},
	    {'s', "max-bps"},
	    {'K', "keep-address-family"},
	    {'A', "allocation-default-address-family"},
	    {'o', "daemon"},
	    {'S', "stun-only"},
	};
	const struct option_entry *o;
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof coturn / sizeof coturn[0]; i++) {
		o = options_find_short(coturn[i].c);
		ok &= o != NULL && strcmp(o->name, coturn[i].name) == 0;
	}
	CHECKM(ok, "coturn's short flags");
	CHECK(options_find("verbose") != options_find("Verbose"));
	CHECK(options_find("VERBOSE") == NULL);
	CHECK(options_find("prod") != NULL && (options_find("prod")->flags & OPTION_DEPRECATED) &&
	    strcmp(options_find("prod")->maps_to, "software-attribute=no") == 0);
	CHECK(options_find("check-config") != NULL &&
	    (options_find("check-config")->flags & OPTION_CMDLINE));
	CHECK((options_find("static-auth-secret")->flags & OPTION_SECRET) &&
	    (options_find("cli-password")->flags & OPTION_SECRET) &&
	    (options_find("user")->flags & OPTION_SECRET) &&
	    !(options_find("realm")->flags & OPTION_SECRET));
	CHECK(options_find("fingerprint") != NULL &&
	    (options_find("fingerprint")->flags & OPTION_NOOP));
	CHECK(options_find("dh566") != NULL && (options_find("dh566")->flags & OPTION_UNIMPL));
	CHECK(options_find("oauth") != NULL && !(options_find("oauth")->flags & OPTION_UNIMPL));
	CHECK(options_find_short(0) == NULL);
	CHECK(options_find("no-such-option") == NULL);
}

int
main(void)
{
	CHECK(options_count > 0 && options_count <= OPTIONS_MAX);
	CHECKM(names_unique(), "names and aliases are unique");
	CHECKM(short_flags_unique(), "short flags are unique");
	CHECKM(offsets_sound(), "every stored option has its own field");
	CHECKM(replacements_exist(), "deprecated rows map to usable options");
	CHECKM(help_and_args_present(), "every row has help, argument name, bounds");
	CHECKM(defaults_parse(), "defaults parse with their own type");
	test_lookup();
	test_documents();
	return unit_done();
}
