#!/usr/bin/env bash
# turnpikectl's database commands and turnadmin flags on a real file, against
# coturn's own turnadmin when it is installed: the same file serves both tools.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

CTL=${TURNPIKECTL:-$TOP_BUILDDIR/turnpikectl}
DB=$T/state/turnpike.db
ctl() { "$CTL" --db "$DB" "$@"; }
have_turnadmin=false
if command -v turnadmin >/dev/null 2>&1; then
	have_turnadmin=true
fi
# turnadmin logs its own lines; keep only what it prints on stdout.
ta() { coturn_admin "$@" 2>/dev/null | grep -v '^0: : '; }

# expect_status DESC WANT CMD...: ok when CMD exits WANT and says something on stderr.
expect_status() {
	local desc=$1 want=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ] && [ -s "$T/err" ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "command: $*" "exit $rc, wanted $want" "$(cat "$T/err")"
	fi
}

# ---- a database made by coturn's turnadmin ----
if $have_turnadmin; then
	mkdir -p "$T/state"
	ta -a -b "$DB" -u alice -r example.org -p secret >/dev/null
	tap_run "turnpikectl opens a database made by turnadmin -a" ctl user list
	tap_is "... and lists its user" "$(grep -qxF 'alice[example.org]' "$T/out"; echo $?)" \
		"$(cat "$T/out")"
else
	tap_skip "turnadmin database" "coturn's turnadmin is not installed"
	ctl user add alice --realm example.org --password secret
fi

tap_run "user add" ctl user add bob --realm example.org --password 'pw of bob'
if $have_turnadmin; then
	tap_is "turnadmin -l lists a user added by turnpikectl" \
		"$(ta -l -b "$DB" | grep -qxF 'bob[example.org]'; echo $?)" "$(ta -l -b "$DB")"
	ok=0
	for args in "alice example.org secret" "bob example.org pw_of_bob" \
		"caf$(printf '\xc3\xa9') r\xc3\xa9alm p\xc3\xa4ss" "x '' y"; do
		read -r u r p <<<"$args"
		[ "$r" = "''" ] && r=""
		mine=$("$CTL" -k -u "$u" -r "$r" -p "$p" 2>&1)
		theirs=$(ta -k -u "$u" -r "$r" -p "$p")
		[ "$mine" = "$theirs" ] || { ok=1; tap_diag "$u/$r/$p: $mine vs $theirs"; }
	done
	tap_is "turnpikectl -k prints the key turnadmin -k prints" "$ok"
else
	tap_skip "turnadmin -l" "coturn's turnadmin is not installed"
	tap_skip "turnadmin -k" "coturn's turnadmin is not installed"
fi
tap_is "-k prints coturn's key for alice" \
	"$([ "$("$CTL" -k -u alice -r example.org -p secret)" = 0x543e1aec5d3614f03141652d6ada51b2 ]; echo $?)"

# ---- turnadmin flags ----
tap_run "turnadmin -a on turnpikectl" "$CTL" -a -b "$DB" -u carol -r example.org -p pw
tap_run "turnadmin -l on turnpikectl" "$CTL" -l -b "$DB" -r example.org
tap_is "... lists three users" "$([ "$(wc -l <"$T/out")" -eq 3 ]; echo $?)" "$(cat "$T/out")"
tap_run "turnadmin -d on turnpikectl" "$CTL" -d -b "$DB" -u carol -r example.org
expect_status "-d of a missing user fails" 1 "$CTL" -d -b "$DB" -u carol -r example.org

# ---- secrets ----
tap_run "secret add" ctl secret add s3cr3t --realm example.org
tap_run "turnadmin -s" "$CTL" -s other -r example.org -b "$DB"
tap_run "secret list --json" ctl secret list --json
if command -v python3 >/dev/null 2>&1; then
	tap_is "... is JSON with both secrets" "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if sorted(x["secret"] for x in d) == ["other", "s3cr3t"] else 1)' "$T/out"; echo $?)" \
		"$(cat "$T/out")"
else
	tap_skip "JSON check" "python3 is not installed"
fi
if $have_turnadmin; then
	tap_is "turnadmin -S shows turnpikectl's secrets" \
		"$(ta -S -b "$DB" | grep -cxF -e 's3cr3t[example.org]' -e 'other[example.org]' |
			grep -qx 2; echo $?)"
fi
tap_run "turnadmin -X" "$CTL" -X other -r example.org -b "$DB"
tap_run "secret delete" ctl secret delete s3cr3t --realm example.org
tap_is "no secret is left" "$(ctl secret list | grep -c . | grep -qx 0; echo $?)"

# ---- bad input: a message, the right status, nothing written ----
before=$(ctl user list)
expect_status "a name with a line feed is refused (1)" 1 ctl user add $'evil\nname' --password x
expect_status "a realm that is not UTF-8 is refused (1)" 1 ctl user add u --realm $'\xff' --password x
expect_status "a 513-byte name is refused (1)" 1 ctl user add "$(printf 'n%.0s' {1..513})" --password x
printf 'pass\0word\n' >"$T/nul.pw"
expect_status "a password file with a NUL is refused (1)" 1 ctl user add u --password-file "$T/nul.pw"
expect_status "no password and no terminal is a usage error (2)" 2 ctl user add u </dev/null
expect_status "a missing name is a usage error (2)" 2 ctl user add --password x
expect_status "an unknown command is a usage error (2)" 2 ctl user frobnicate
expect_status "an unknown option is a usage error (2)" 2 ctl user list --bogus
expect_status "a bad quota is a usage error (2)" 2 ctl realm set example.org --max-bps -5
expect_status "passwd of a missing user fails (1)" 1 ctl user passwd nobody --password x
expect_status "an unreadable database path fails (1)" 1 "$CTL" --db /proc/nonexistent/x.db user list
tap_is "the database is unchanged by refused commands" "$([ "$(ctl user list)" = "$before" ]; echo $?)"

# ---- password sources ----
printf 'from a file\n' >"$T/good.pw"
tap_run "user add --password-file" ctl user add dave --realm example.org --password-file "$T/good.pw"
tap_run "user passwd" ctl user passwd dave --realm example.org --password new
tap_run "user delete" ctl user delete dave --realm example.org

# ---- hostile names are data ----
ok=0
# shellcheck disable=SC2016 # $(id) is a hostile name, not an expansion
for n in "o'brien\"; DROP TABLE turnusers_lt;--" '%n%s%x' "$(printf '\xf0\x9f\x98\x80')" \
	'back\slash' '$(id)' ' spaced '; do
	ctl user add "$n" --realm 'r"q' --password "$n" || ok=1
	ctl user list --realm 'r"q' | grep -qxF -- "${n}[r\"q]" || { ok=1; tap_diag "lost: $n"; }
done
tap_is "hostile names round-trip" "$ok" "$(ctl user list --realm 'r"q')"
if $have_turnadmin; then
	tap_is "... and turnadmin reads them" \
		"$(ta -l -b "$DB" -r 'r"q' | grep -c . | grep -qx 6; echo $?)" "$(ta -l -b "$DB")"
fi

# ---- concurrent writers ----
for w in 1 2; do
	(for i in $(seq 1 50); do
		ctl user add "w$w-$i" --realm load --password "p$i" || echo "fail w$w-$i"
	done >"$T/writer$w") &
done
wait
tap_is "2 x 50 concurrent user adds lose nothing" \
	"$([ "$(ctl user list --realm load | wc -l)" -eq 100 ] && ! [ -s "$T/writer1" ] &&
		! [ -s "$T/writer2" ]; echo $?)" "$(cat "$T/writer1" "$T/writer2")"

# ---- realm options, peers, origins, admins ----
tap_run "realm set" ctl realm set example.org --max-bps 1000 --user-quota 5
tap_run "realm show" ctl realm show example.org
tap_is "... shows both options" "$(grep -cx -e 'max-bps\[example.org\]=1000' \
	-e 'user-quota\[example.org\]=5' "$T/out" | grep -qx 2; echo $?)" "$(cat "$T/out")"
tap_run "turnadmin -g with a zero removes an option" "$CTL" -g -r example.org --max-bps 0 -b "$DB"
tap_is "... as turnadmin -G shows" "$("$CTL" -G -b "$DB" | grep -c max-bps | grep -qx 0; echo $?)"
tap_run "peer allow and deny" bash -c "'$CTL' --db '$DB' peer allow 10.0.0.0-10.0.0.255 &&
	'$CTL' --db '$DB' peer deny 192.168.0.1"
tap_run "peer list" ctl peer list
tap_is "... shows both" "$(grep -c -e '^allow 10.0.0.0-10.0.0.255' -e '^deny 192.168.0.1' \
	"$T/out" | grep -qx 2; echo $?)" "$(cat "$T/out")"
tap_run "peer remove" ctl peer remove 192.168.0.1
expect_status "peer remove of an unknown range fails" 1 ctl peer remove 192.168.0.1
tap_run "turnadmin -O" "$CTL" -O -o https://app.example -r example.org -b "$DB"
tap_run "origin list" ctl origin list
tap_is "... shows the mapping" "$(grep -qxF 'https://app.example ==>> example.org' "$T/out"; echo $?)"
tap_run "origin delete" ctl origin delete https://app.example
tap_run "admin add" ctl admin add root --password 'hunter2'
tap_run "turnadmin -L" "$CTL" -L -b "$DB"
tap_is "... lists it" "$(grep -qx root "$T/out"; echo $?)"
if $have_turnadmin; then
	tap_is "turnadmin -L lists it too" "$(ta -L -b "$DB" | grep -qx root; echo $?)"
fi
tap_run "admin delete" ctl admin delete root
tap_is "-P prints a PBKDF2 hash" "$("$CTL" -P -p x | grep -q '^[$]pbkdf2-sha256[$]'; echo $?)"
NEW=$T/new/dir/t.db
"$CTL" --db "$NEW" user list >"$T/out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -qF "directory $T/new/dir" "$T/out" && [ ! -e "$T/new" ]
tap_is "a database in a missing directory: an error naming it, no directory made" "$?" \
	"exit status $rc" "$(cat "$T/out")"
mkdir -p "$T/new/dir"
tap_run "a new database is created in an existing directory" "$CTL" --db "$NEW" user list
tap_is "... file 0600" "$([ "$(stat -c %a "$NEW")" = 600 ]; echo $?)" "$(stat -c '%a %n' "$NEW")"
tap_done
