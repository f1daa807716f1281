/*
 * Reader for tests/data/rfc5769_vectors.txt: blocks separated by blank lines,
 * each line "key: value", '#' lines are comments.
 */
#ifndef TURNPIKE_TESTS_VECTORS_H
#define TURNPIKE_TESTS_VECTORS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define VECTORS_MAX 8
#define VECTOR_MAX_KEYS 40

struct vector_kv {
	char key[64];
	char value[1024];
};

struct vector {
	size_t nkv;
	struct vector_kv kv[VECTOR_MAX_KEYS];
};

/* The value of key, or NULL; "-" (the file's "none") also gives NULL. */
static inline const char *
vector_get(const struct vector *v, const char *key)
{
	for (size_t i = 0; i < v->nkv; i++) {
		if (strcmp(v->kv[i].key, key) == 0)
			return strcmp(v->kv[i].value, "-") == 0 ? NULL : v->kv[i].value;
	}
	return NULL;
}

/* The value of key, or "" when absent. */
static inline const char *
vector_str(const struct vector *v, const char *key)
{
	const char *s = vector_get(v, key);

	return s != NULL ? s : "";
}

/* The vector's name, for diagnostics. */
static inline const char *
vector_name(const struct vector *v)
{
	return vector_str(v, "name");
}

/* Decodes a hex value into out; returns the byte count or -1. */
static inline int
vector_hex(const struct vector *v, const char *key, unsigned char *out, size_t cap)
{
	const char *hex = vector_get(v, key);

	return hex == NULL ? -1 : unit_unhex(hex, out, cap);
}

static inline void
vector_add_line(struct vector *v, char *line)
{
	char *colon = strstr(line, ": ");
	struct vector_kv *kv;
	size_t klen, vlen;

	if (colon == NULL || v->nkv == VECTOR_MAX_KEYS)
		return;
	*colon = '\0';
	klen = strlen(line);
	vlen = strlen(colon + 2);
	if (klen >= sizeof kv->key || vlen >= sizeof kv->value)
		return;
	kv = &v->kv[v->nkv++];
	memcpy(kv->key, line, klen + 1);
	memcpy(kv->value, colon + 2, vlen + 1);
}

/* Reads up to VECTORS_MAX blocks; returns how many, or -1 when the file is missing. */
static inline int
vectors_load(const char *path, struct vector *vs)
{
	char line[2048];
	FILE *f;
	int n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	memset(vs, 0, sizeof *vs * VECTORS_MAX);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#')
			continue;
		if (line[0] == '\0') {
			if (n < VECTORS_MAX && vs[n].nkv > 0)
				n++;
			continue;
		}
		if (n < VECTORS_MAX)
			vector_add_line(&vs[n], line);
	}
	if (n < VECTORS_MAX && vs[n].nkv > 0)
		n++;
	fclose(f);
	return n;
}

/* Calls fn on each vector of path; returns how many, or -1 when the file is missing. */
static inline int
vectors_each(const char *path, void (*fn)(const struct vector *v))
{
	struct vector vs[VECTORS_MAX];
	int i, n = vectors_load(path, vs);

	for (i = 0; i < n; i++)
		fn(&vs[i]);
	return n;
}

#endif
