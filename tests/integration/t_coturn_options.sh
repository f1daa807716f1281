#!/usr/bin/env bash
# Every long option of coturn (tests/data/coturn_options.txt) is accepted by
# turnpiked --check-config, in a configuration file and on the command line:
# exit status 0, no "unknown option", and the option shows up in the effective
# configuration. Nothing is bound.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_binaries
LIST=$TOP_SRCDIR/tests/data/coturn_options.txt
[ -r "$LIST" ] || bail_out "no $LIST"
make_cert

# check_one WHERE NAME [VALUE]: one run; ok when it exits 0, warns of no unknown
# option, and the effective configuration has a line for the option.
check_one() {
	local where=$1 name=$2 value=${3:-} args=() rc shown
	value=${value//@CERT@/$CERT}
	value=${value//@KEY@/$KEY}
	value=${value#\"}
	value=${value%\"}
	if [ "$where" = file ]; then
		if [ -n "$value" ]; then
			printf '%s="%s"\n' "$name" "$value" >"$T/one.conf"
		else
			printf '%s\n' "$name" >"$T/one.conf"
		fi
		args=(-c "$T/one.conf")
	else
		args=(-n)
		if [ -n "$value" ]; then
			args+=("--$name=$value")
		else
			args+=("--$name")
		fi
	fi
	case $name in
	cert) args+=(--pkey "$KEY") ;;
	pkey) args+=(--cert "$CERT") ;;
	esac
	timeout 10 "$TURNPIKED" --check-config "${args[@]}" >"$T/one.out" 2>"$T/one.err"
	rc=$?
	# The row's own name (db and sql-userdb are aliases of userdb and psql-userdb).
	case $name in
	db) shown=userdb ;;
	sql-userdb) shown=psql-userdb ;;
	*) shown=$name ;;
	esac
	# --check-config connects to a PostgreSQL or MySQL store: none runs here, which
	# it reports.
	if [ "$rc" -eq 1 ] && { { [ "$shown" = psql-userdb ] &&
		grep -q "psql-userdb: postgresql: cannot connect" "$T/one.err"; } ||
		{ [ "$shown" = mysql-userdb ] &&
			grep -q "mysql-userdb: mysql: cannot connect" "$T/one.err"; }; }; then
		rc=0
	fi
	if [ "$rc" -eq 0 ] && ! grep -qi 'unknown option' "$T/one.err" &&
		{ [ "$name" = version ] || grep -q "^${shown}[ =]" "$T/one.out" ||
			grep -q "^$shown  #" "$T/one.out" ||
			grep -q "$shown is only valid on the command line" "$T/one.err"; }; then
		tap_ok "$where: $name"
	else
		tap_fail "$where: $name" "exit status $rc" "$(cat "$T/one.err")" \
			"$(grep -- "$shown" "$T/one.out")"
	fi
}

n=0
while read -r name value; do
	case $name in
	'' | '#'*) continue ;;
	esac
	n=$((n + 1))
	check_one file "$name" "$value"
	check_one "command line" "$name" "$value"
done <"$LIST"
[ "$n" -ge 120 ]
tap_is "the list holds all of coturn's options ($n)" "$?"

# coturn's short flags, as coturn takes them (-X VALUE, no '=').
timeout 10 "$TURNPIKED" --check-config -n -p 4000 -L 127.0.0.1 -E 127.0.0.1 -X 192.0.2.1 \
	-m 2 -r short.example -u alice:pw -q 3 -Q 9 -C / -l stderr -a -v -f -s 1000 -B 10000 \
	-d lo -i lo -K -A ipv4 >"$T/short.out" 2>"$T/short.err"
rc=$?
want='^listening-port = 4000 |^listening-ip = 127\.0\.0\.1 |^relay-ip = 127\.0\.0\.1 |^external-ip = 192\.0\.2\.1 |^relay-threads = 2 |^realm = short\.example |^user = alice:\*+ |^user-quota = 3 |^total-quota = 9 |^rest-api-separator = / |^lt-cred-mech = on |^verbose = on '
[ "$rc" -eq 0 ] && [ "$(grep -cE "$want" "$T/short.out")" -eq 12 ]
tap_is "coturn's short flags set their options (-p -L -E -X -m -r -u -q -Q -C -l -a -v -f -s -B -d -i -K -A)" \
	"$?" "exit status $rc" "$(cat "$T/short.err")" "$(grep -E "$want" "$T/short.out")"

# The other direction: every coturn name turnpiked knows is on the list, so the
# list cannot silently lose one.
"$TURNPIKED" --dump-options=names >"$T/names"
missing=$(grep -v '^#' "$LIST" | awk '{ print $1 }' | sort | comm -23 - <(sort "$T/names") |
	grep -vx -e db -e sql-userdb)
[ -z "$missing" ]
tap_is "every listed name is a row of the option table (or an alias)" "$?" "$missing"

# Options implemented since they were listed: no "not implemented" warning.
for name in oauth server-name mobility; do
	value=
	[ "$name" = server-name ] && value="=turn.example.org"
	timeout 10 "$TURNPIKED" --check-config -n "--$name$value" >/dev/null 2>"$T/impl.err"
	! grep -q "not implemented" "$T/impl.err"
	tap_is "$name is implemented: no warning" "$?" "$(cat "$T/impl.err")"
done

tap_done
