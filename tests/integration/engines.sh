# shellcheck shell=bash
# Private database engines for the store tests (source after lib.sh): each is
# started once per script as an ordinary process on loopback, in a temporary
# directory, on a free port, and stopped at exit. No service manager.
#   pg_start            PostgreSQL: sets PG_PORT, PG_DIR and PG_CONN (libpq conninfo
#                       of the database "turn"); as root it runs as the postgres user
#   pg_stop / pg_resume stop it (fast) and start it again on the same port
#   pg_sql DB           psql on DB reading SQL from stdin
# pg_start exits the script with a SKIP when PostgreSQL is not installed.
#   my_start            MariaDB: sets MY_PORT, MY_DIR and MY_CONN (coturn's connection
#                       string of the database "turn", as a user with a password);
#                       TLS is on, with the self-signed certificate MY_DIR/cert.pem
#   my_stop / my_resume stop it (mariadbd exits) and start it again on the same port
#   my_sql DB           the mariadb client on DB reading SQL from stdin
# my_start exits the script with a SKIP when MariaDB is not installed.
#   store_fill_every_kind DB      fills the SQLite store DB with turnpikectl ($CTL) with
#                       one row of every kind (STORE_COPIED: the line a copy of it prints)
#   store_copy_check ENGINE SPEC A B  fills A, copies it A -> SPEC -> B (SQLite) and
#                       checks the copy (three TAP lines naming ENGINE)

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

# shellcheck disable=SC2034 # MY_CONN is for the scripts that source this file
MY_DIR=
MY_PORT=
MY_CONN=
MY_PID=
MY_D=

my_find() {
	MY_D=$(command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null)
	[ -n "$MY_D" ] && command -v mariadb-install-db >/dev/null && command -v mariadb >/dev/null
}

# shellcheck disable=SC2317 # called through wait_until
my_up() {
	mariadb-admin --no-defaults --socket="$MY_DIR/sock" -u root ping >/dev/null 2>&1
}

my_resume() {
	local as=()
	[ "$(id -u)" = 0 ] && as=(--user=root)
	"$MY_D" --no-defaults --datadir="$MY_DIR/data" --socket="$MY_DIR/sock" \
		--port="$MY_PORT" --bind-address=127.0.0.1 --pid-file="$MY_DIR/pid" \
		--log-error="$MY_DIR/log" --tmpdir="$MY_DIR" --skip-log-bin \
		--innodb-buffer-pool-size=16M --innodb-flush-log-at-trx-commit=0 \
		--innodb-doublewrite=0 --ssl-cert="$MY_DIR/cert.pem" --ssl-key="$MY_DIR/key.pem" \
		"${as[@]}" >/dev/null 2>&1 &
	MY_PID=$!
	track_pid "$MY_PID"
	wait_until 30 my_up
}

my_stop() {
	kill -TERM "$MY_PID" 2>/dev/null
	wait_exit "$MY_PID" 30
}

my_sql() {
	mariadb --no-defaults --socket="$MY_DIR/sock" -u root "$1" "${@:2}"
}

my_cleanup() {
	[ -n "$MY_DIR" ] && rm -rf "$MY_DIR"
}

my_start() {
	local as=()
	my_find || tap_skip_all "MariaDB is not installed (apt-get install mariadb-server)"
	MY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/turnpike-my.XXXXXX") || bail_out "mktemp"
	at_exit my_cleanup
	[ "$(id -u)" = 0 ] && as=(--user=root)
	mariadb-install-db --no-defaults --datadir="$MY_DIR/data" --skip-test-db \
		--auth-root-authentication-method=normal "${as[@]}" >"$MY_DIR/install.log" 2>&1 ||
		bail_out "mariadb-install-db failed: $(tail -3 "$MY_DIR/install.log")"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$MY_DIR/key.pem" -out "$MY_DIR/cert.pem" -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || bail_out "openssl req failed"
	pick_port
	MY_PORT=$PICKED
	my_resume || bail_out "mariadbd did not start: $(tail -5 "$MY_DIR/log")"
	my_sql mysql <<-EOF || bail_out "CREATE DATABASE failed"
		CREATE DATABASE turn;
		CREATE USER 'turn'@'127.0.0.1' IDENTIFIED BY 'turn-db-pw';
		GRANT ALL ON *.* TO 'turn'@'127.0.0.1';
	EOF
	MY_CONN="host=127.0.0.1 port=$MY_PORT user=turn password=turn-db-pw dbname=turn"
}

# shellcheck disable=SC2034 # STORE_COPIED is for the scripts that source this file
STORE_COPIED='copied 2 users, 1 secrets, 2 peer ranges, 1 origins, 2 realm options, 1 admins, 1 oauth keys'

store_fill_every_kind() {
	{
		"$CTL" --db "$1" user add alice --realm r1 --password pw1 &&
			"$CTL" --db "$1" user add carol --realm r2 --key 0x543e1aec5d3614f03141652d6ada51b2 &&
			"$CTL" --db "$1" secret add s3cret --realm r1 &&
			"$CTL" --db "$1" peer allow 10.0.0.0-10.0.0.255 --realm r1 &&
			"$CTL" --db "$1" peer deny 192.168.0.0-192.168.255.255 &&
			"$CTL" --db "$1" origin add https://a.example --realm r1 &&
			"$CTL" --db "$1" realm set r1 --user-quota 3 --max-bps 64000 &&
			"$CTL" --db "$1" admin add root --password hunter2 &&
			"$CTL" --db "$1" oauth-key add north --key MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK \
				--realm r1 --timestamp 1000 --lifetime 60
	} >/dev/null || bail_out "filling $1 failed"
}

store_copy_check() {
	local engine=$1 spec=$2 a=$3 b=$4 out1 out2 same=0 what ra rb ka kb ha hb
	store_fill_every_kind "$a"
	out1=$("$CTL" store copy "$a" "$spec" 2>&1)
	out2=$("$CTL" store copy "$spec" "sqlite:$b" 2>&1)
	[ "$out1" = "$out2" ] && grep -qF "$STORE_COPIED" <<<"$out1"
	tap_is "store copy SQLite -> $engine -> SQLite succeeds" "$?" "$out1" "$out2"
	for what in "user list" "secret list" "peer list" "origin list" "realm show" "admin list" \
		"oauth-key list"; do
		# shellcheck disable=SC2086 # the words of the command
		ra=$("$CTL" --db "$a" $what --json 2>&1)
		# shellcheck disable=SC2086
		rb=$("$CTL" --db "$b" $what --json 2>&1)
		if [ "$ra" != "$rb" ]; then
			same=1
			tap_diag "$what differs:" "$ra" "$rb"
		fi
	done
	tap_is "... and the copy lists the same rows as the original" "$same"
	ka=$(sqlite3 "$a" "SELECT hmackey || sha256key FROM turnusers_lt JOIN turnpike_user_sha256 USING (realm, name)" 2>&1)
	kb=$(sqlite3 "$b" "SELECT hmackey || sha256key FROM turnusers_lt JOIN turnpike_user_sha256 USING (realm, name)" 2>&1)
	ha=$(sqlite3 "$a" "SELECT password FROM admin_user" 2>&1)
	hb=$(sqlite3 "$b" "SELECT password FROM admin_user" 2>&1)
	[ -n "$ka" ] && [ "$ka" = "$kb" ] && [ -n "$ha" ] && [ "$ha" = "$hb" ]
	tap_is "... with the same MD5 and SHA-256 keys and admin hash" "$?" "$ka / $kb" "$ha / $hb"
}
