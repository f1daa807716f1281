/* Traffic per realm with a bounded number of series (see realmstats.h). */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/realmstats.h"

struct realmstats {
	pthread_mutex_t mu;
	size_t cap, n;
	char **names;                 /* n of cap, append-only */
	struct metrics_counts *ended; /* cap + 1: slot cap is "_other" */
	bool other;                   /* a realm went to "_other" */
};

struct realmstats *
realmstats_create(size_t cap)
{
	struct realmstats *rs;

	if ((rs = calloc(1, sizeof *rs)) == NULL)
		return NULL;
	pthread_mutex_init(&rs->mu, NULL);
	rs->cap = cap;
	rs->names = calloc(cap + 1, sizeof *rs->names);
	rs->ended = calloc(cap + 1, sizeof *rs->ended);
	if (rs->names == NULL || rs->ended == NULL) {
		realmstats_free(rs);
		return NULL;
	}
	return rs;
}

void
realmstats_free(struct realmstats *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; rs->names != NULL && i < rs->n; i++)
		free(rs->names[i]);
	free(rs->names);
	free(rs->ended);
	pthread_mutex_destroy(&rs->mu);
	free(rs);
}

size_t
realmstats_cap(const struct realmstats *rs)
{
	return rs->cap;
}

/* Under mu. */
static size_t
realmstats_slot_locked(struct realmstats *rs, const char *realm)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		if (strcmp(rs->names[i], realm) == 0)
			return i;
	}
	if (rs->n < rs->cap && (rs->names[rs->n] = strdup(realm)) != NULL)
		return rs->n++;
	rs->other = true;
	return rs->cap;
}

size_t
realmstats_slot(struct realmstats *rs, const char *realm)
{
	size_t i;

	pthread_mutex_lock(&rs->mu);
	i = realmstats_slot_locked(rs, realm != NULL ? realm : "");
	pthread_mutex_unlock(&rs->mu);
	return i;
}

static void
realmstats_sum(struct metrics_counts *to, const struct metrics_counts *c)
{
	to->to_peer_packets += c->to_peer_packets;
	to->to_peer_bytes += c->to_peer_bytes;
	to->to_client_packets += c->to_client_packets;
	to->to_client_bytes += c->to_client_bytes;
}

void
realmstats_add(struct realmstats *rs, const char *realm, const struct metrics_counts *c)
{
	pthread_mutex_lock(&rs->mu);
	realmstats_sum(&rs->ended[realmstats_slot_locked(rs, realm != NULL ? realm : "")], c);
	pthread_mutex_unlock(&rs->mu);
}

int
realmstats_snapshot(struct realmstats *rs, const struct metrics_counts *live,
    struct metrics_realm_traffic **out, size_t *n)
{
	struct metrics_realm_traffic *v;
	size_t i, k = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&rs->mu);
	if ((v = calloc(rs->n + 1, sizeof *v)) == NULL) {
		pthread_mutex_unlock(&rs->mu);
		return -1;
	}
	for (i = 0; i <= rs->cap; i++) {
		if (i == rs->n && i < rs->cap)
			i = rs->cap; /* the slots in between are free */
		if (i == rs->cap && !rs->other)
			break;
		v[k].name = strdup(i < rs->cap ? rs->names[i] : REALMSTATS_OTHER);
		if (v[k].name == NULL) {
			rc = -1;
			break;
		}
		v[k].c = rs->ended[i];
		if (live != NULL)
			realmstats_sum(&v[k].c, &live[i]);
		k++;
	}
	pthread_mutex_unlock(&rs->mu);
	if (rc != 0) {
		while (k > 0)
			free(v[--k].name);
		free(v);
		return -1;
	}
	*out = v;
	*n = k;
	return 0;
}
