/* RFC 6062 connections by CONNECTION-ID: tags, uniqueness, lists, removal. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/addr.h"
#include "turnpike/tcpconn.h"
#include "unit.h"

static struct sockaddr_storage
sa(const char *text)
{
	struct sockaddr_storage ss;
	const char *errstr;

	if (addr_parse(text, 0, &ss, &errstr) == -1)
		abort();
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))
#define N 300

int
main(void)
{
	struct tcpconn_table *tab = tcpconn_table_create();
	struct tcpconn *list = NULL, *other = NULL, *c[N], *x;
	struct sockaddr_storage p1 = sa("203.0.113.1:80"), p2 = sa("203.0.113.1:81");
	bool tagged = true, unique = true, found = true;
	size_t i, j, n;

	CHECK(tab != NULL && tcpconn_table_count(tab) == 0);
	for (i = 0; i < N; i++) {
		c[i] = tcpconn_add(tab, NULL, i % 2 ? &list : &other, SA(p1), 7);
		if (c[i] == NULL)
			abort();
		tagged &= (c[i]->id & 0xff) == 7 && c[i]->id != 0;
		for (j = 0; j < i; j++)
			unique &= c[j]->id != c[i]->id;
	}
	CHECKM(tagged, "every CONNECTION-ID ends in the tag");
	CHECKM(unique, "CONNECTION-IDs are unique");
	for (i = 0; i < N; i++)
		found &= tcpconn_find(tab, c[i]->id) == c[i];
	CHECKM(found && tcpconn_table_count(tab) == N, "each id finds its connection");
	CHECK(tcpconn_find(tab, 0) == NULL);
	for (n = 0, x = list; x != NULL; x = x->next_alloc)
		n++;
	CHECKM(n == N / 2, "each connection is on its allocation's list");
	CHECKM(tcpconn_find_peer(list, SA(p1)) != NULL && tcpconn_find_peer(list, SA(p2)) == NULL,
	    "by peer: IP and port");
	for (i = 1; i < N; i += 2)
		tcpconn_remove(tab, &list, c[i]);
	CHECKM(list == NULL && tcpconn_table_count(tab) == N / 2, "removal unlinks both ways");
	CHECK(tcpconn_find(tab, c[0]->id) == c[0]);
	tcpconn_table_free(tab); /* frees what is left */
	tcpconn_table_free(NULL);
	return unit_done();
}
