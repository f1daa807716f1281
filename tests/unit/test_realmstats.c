/* Unit tests for src/server/ops/realmstats.c and the per-realm traffic series. */
#include <stdint.h>
#include <stdio.h>

#include "turnpike/metrics.h"
#include "turnpike/realmstats.h"
#include "unit.h"

static void
snap_free(struct metrics_realm_traffic *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* The first cap realms keep a series each, for good; the rest share "_other". */
static void
test_cap(void)
{
	struct realmstats *rs = realmstats_create(2);
	struct metrics_counts one = {1, 100, 2, 200}, live[3];
	struct metrics_realm_traffic *v;
	size_t n;

	CHECK(rs != NULL && realmstats_cap(rs) == 2);
	CHECK(realmstats_snapshot(rs, NULL, &v, &n) == 0 && n == 0);
	snap_free(v, n);
	realmstats_add(rs, "a.example", &one);
	realmstats_add(rs, NULL, &one);
	realmstats_add(rs, "a.example", &one);
	CHECKM(realmstats_slot(rs, "a.example") == 0 && realmstats_slot(rs, "") == 1,
	    "realms take slots in the order they are seen (NULL is \"\")");
	CHECK(realmstats_snapshot(rs, NULL, &v, &n) == 0 && n == 2);
	CHECKM(strcmp(v[0].name, "a.example") == 0 && v[0].c.to_peer_packets == 2 &&
		v[0].c.to_peer_bytes == 200 && v[0].c.to_client_packets == 4 &&
		v[0].c.to_client_bytes == 400 && strcmp(v[1].name, "") == 0,
	    "ended sessions sum per realm; no \"_other\" while every realm has a series");
	snap_free(v, n);
	CHECKM(realmstats_slot(rs, "c.example") == 2, "past the cap: the \"_other\" slot");
	realmstats_add(rs, "d.example", &one);
	memset(live, 0, sizeof live);
	live[0].to_peer_bytes = 5;
	live[2].to_client_bytes = 7;
	CHECK(realmstats_snapshot(rs, live, &v, &n) == 0 && n == 3);
	CHECKM(strcmp(v[2].name, REALMSTATS_OTHER) == 0 && v[2].c.to_peer_bytes == 100 &&
		v[2].c.to_client_bytes == 207 && v[0].c.to_peer_bytes == 205,
	    "live traffic adds by slot; realms past the cap are summed under \"_other\"");
	snap_free(v, n);
	realmstats_free(rs);
	realmstats_free(NULL);
}

static char *
render(const struct metrics_snapshot *snap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	metrics_render(f, snap);
	fclose(f);
	return text;
}

static void
test_render(void)
{
	struct metrics_worker w[1];
	char quoted[] = "a\"b", other[] = REALMSTATS_OTHER;
	struct metrics_realm_traffic t[2] = {
	    {quoted, {1, 2, 3, 4}},
	    {other, {5, 6, 7, 8}},
	};
	struct metrics_snapshot snap;
	char *text;

	memset(w, 0, sizeof w);
	memset(&snap, 0, sizeof snap);
	snap.realm = "r";
	snap.worker = w;
	snap.nworkers = 1;
	text = render(&snap);
	CHECKM(text != NULL && strstr(text, "turnpike_realm_relayed_bytes_total") == NULL,
	    "no realm traffic kept: no series");
	free(text);
	snap.realm_traffic = t;
	snap.nrealm_traffic = 2;
	text = render(&snap);
	CHECK(text != NULL &&
	    strstr(text, "# TYPE turnpike_realm_relayed_bytes_total counter\n") != NULL);
	CHECKM(text != NULL &&
		strstr(text,
		    "turnpike_realm_relayed_packets_total{realm=\"a\\\"b\","
		    "direction=\"to_peer\"} 1\n") != NULL &&
		strstr(text,
		    "turnpike_realm_relayed_bytes_total{realm=\"a\\\"b\","
		    "direction=\"to_client\"} 4\n") != NULL &&
		strstr(text,
		    "turnpike_realm_relayed_bytes_total{realm=\"_other\","
		    "direction=\"to_peer\"} 6\n") != NULL,
	    "one sample per realm and direction, the realm escaped");
	free(text);
}

int
main(void)
{
	test_cap();
	test_render();
	return unit_done();
}
