/*
 * The effective configuration, every option with its value and where it came
 * from, for turnpiked --check-config. Secrets never appear in the output.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/config.h"
#include "turnpike/confshow.h"
#include "turnpike/options.h"

/* What replaces a secret: the same whatever its length. */
#define CONFSHOW_MASK "********"

static const void *
confshow_field(const struct config *cfg, const struct option_entry *o)
{
	return (const char *)cfg + o->offset;
}

/* One text value, masked when secret; user=NAME:PASSWORD keeps its NAME. */
static void
confshow_text(FILE *f, const struct option_entry *o, const char *v)
{
	const char *colon;

	if (!(o->flags & OPTION_SECRET)) {
		fputs(v, f);
		return;
	}
	if (o->offset == offsetof(struct config, users) && (colon = strchr(v, ':')) != NULL)
		fprintf(f, "%.*s:", (int)(colon - v), v);
	fputs(CONFSHOW_MASK, f);
}

static void
confshow_addr(FILE *f, const struct sockaddr_storage *ss)
{
	char buf[64];

	fputs(addr_fmt((const struct sockaddr *)ss, false, buf, sizeof buf), f);
}

/* The value of a row that stores one, in the syntax of the configuration file. */
static void
confshow_value(FILE *f, const struct config *cfg, const struct option_entry *o)
{
	const void *field = confshow_field(cfg, o);
	const struct config_addrs *a = field;
	const struct config_externals *e = field;
	const struct config_strings *l = field;
	const char *s;
	size_t i;

	switch (o->type) {
	case OPTION_FLAG:
		fputs(*(const bool *)field ? "on" : "off", f);
		break;
	case OPTION_INT:
		fprintf(f, "%d", *(const int *)field);
		break;
	case OPTION_STRING:
	case OPTION_PATH:
		s = *(char *const *)field;
		if (s == NULL)
			fputs("(none)", f);
		else
			confshow_text(f, o, s);
		break;
	case OPTION_ADDRS:
		for (i = 0; i < a->n; i++) {
			fputs(i > 0 ? ", " : "", f);
			confshow_addr(f, &a->v[i]);
		}
		fputs(a->n == 0 ? "(none)" : "", f);
		break;
	case OPTION_EXTERNAL:
		for (i = 0; i < e->n; i++) {
			fputs(i > 0 ? ", " : "", f);
			confshow_addr(f, &e->v[i].public_ip);
			if (e->v[i].has_private) {
				fputc('/', f);
				confshow_addr(f, &e->v[i].private_ip);
			}
		}
		fputs(e->n == 0 ? "(none)" : "", f);
		break;
	case OPTION_STRINGS:
		for (i = 0; i < l->n; i++) {
			fputs(i > 0 ? ", " : "", f);
			confshow_text(f, o, l->v[i]);
		}
		fputs(l->n == 0 ? "(none)" : "", f);
		break;
	}
}

static void
confshow_source(FILE *f, const struct config *cfg, const struct config_origin *org)
{
	switch (org->source) {
	case CONFIG_SOURCE_FILE:
		fprintf(f, "%s:%u", cfg->file != NULL ? cfg->file : "?", org->line);
		break;
	case CONFIG_SOURCE_CMDLINE:
		fputs("command line", f);
		break;
	default:
		fputs("default", f);
		break;
	}
}

/* What became of an option that stores nothing. */
static void
confshow_ignored(FILE *f, const struct config *cfg, const struct option_entry *o,
    const struct config_origin *org)
{
	fputs(o->name, f);
	if (org->ignored_value[0] != '\0') {
		fputs(" = ", f);
		confshow_text(f, o, org->ignored_value);
	}
	fputs("  # ", f);
	confshow_source(f, cfg, org);
	if (o->flags & OPTION_UNIMPL)
		fputs(", not implemented: ignored", f);
	else if ((o->flags & OPTION_DEPRECATED) && o->maps_to != NULL)
		fprintf(f, ", deprecated: applied as %s", o->maps_to);
	else if (o->flags & OPTION_DEPRECATED)
		fputs(", deprecated: ignored", f);
	else
		fputs(", accepted: already the behaviour", f);
	fputc('\n', f);
}

void
confshow_print(FILE *f, const struct config *cfg)
{
	const struct option_entry *o;
	const struct config_origin *org;
	size_t i;

	fprintf(f, "# configuration file: %s\n", cfg->file != NULL ? cfg->file : "(none)");
	for (i = 0; i < options_count; i++) {
		o = &options_table[i];
		org = config_origin_of(cfg, o);
		if (o->flags & OPTION_CMDLINE)
			continue;
		if (o->offset == OPTION_NOWHERE) {
			if (org->ignored_value != NULL)
				confshow_ignored(f, cfg, o, org);
			continue;
		}
		fprintf(f, "%s = ", o->name);
		confshow_value(f, cfg, o);
		fputs("  # ", f);
		confshow_source(f, cfg, org);
		if (o->offset == offsetof(struct config, realm) && cfg->realm_from_host)
			fputs(" (the host name)", f);
		if (o->offset == offsetof(struct config, use_auth_secret) &&
		    org->source == CONFIG_SOURCE_DEFAULT && cfg->use_auth_secret)
			fputs(" (implied by static-auth-secret)", f);
		fputc('\n', f);
	}
	fprintf(f, "# authentication: %s\n",
	    !cfg->auth ? "none (no-auth)"
		       : (cfg->use_auth_secret ? "long-term credentials, TURN REST API secrets"
					       : "long-term credentials"));
	fprintf(f, "# TLS listeners: %s\n", cfg->tls ? "on" : "off");
}
