# shellcheck shell=bash
# Private database engines for the store tests (source after lib.sh): each is
# started once per script as an ordinary process on loopback, in a temporary
# directory, on a free port, and stopped at exit. No service manager.
#   pg_start            PostgreSQL: sets PG_PORT, PG_DIR and PG_CONN (libpq conninfo
#                       of the database "turn"); as root it runs as the postgres user
#   pg_stop / pg_resume stop it (fast) and start it again on the same port
#   pg_sql DB           psql on DB reading SQL from stdin
# pg_start exits the script with a SKIP when PostgreSQL is not installed.

# shellcheck disable=SC2034 # PG_CONN is for the scripts that source this file
PG_BIN=${PG_BIN:-}
PG_DIR=
PG_PORT=
PG_CONN=
PG_RUNAS=()

pg_find() {
	local d
	[ -n "$PG_BIN" ] && return 0
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && PG_BIN=$d
	done
	[ -n "$PG_BIN" ]
}

pg_cleanup() {
	[ -n "$PG_DIR" ] || return 0
	"${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$PG_DIR"
}

pg_resume() {
	"${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
		-o "-k $PG_DIR -p $PG_PORT -c listen_addresses=127.0.0.1 -c fsync=off" \
		start >/dev/null
}

pg_stop() {
	"${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null
}

pg_sql() {
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" "${@:2}"
}

pg_start() {
	pg_find || tap_skip_all "PostgreSQL is not installed (apt-get install postgresql)"
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/turnpike-pg.XXXXXX") || bail_out "mktemp"
	at_exit pg_cleanup
	if [ "$(id -u)" = 0 ]; then
		# PostgreSQL refuses to run as root.
		id postgres >/dev/null 2>&1 || tap_skip_all "no postgres user to run PostgreSQL as"
		chown postgres "$PG_DIR"
		PG_RUNAS=(runuser -u postgres --)
	fi
	"${PG_RUNAS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust \
		-E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
		bail_out "initdb failed: $(tail -3 "$PG_DIR/initdb.log")"
	pick_port
	PG_PORT=$PICKED
	pg_resume || bail_out "postgres did not start: $(tail -5 "$PG_DIR/log")"
	echo "CREATE DATABASE turn;" | pg_sql postgres || bail_out "createdb failed"
	PG_CONN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=turn"
}
