#!/usr/bin/env bash
# The option table is the single source of truth: the man pages, the sample
# config and --help must say what it says.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if out=$(bash "$TOP_SRCDIR/scripts/gen-docs.sh" --check "$TURNPIKED" 2>&1); then
	tap_ok "man/turnpiked.8, man/turnpike.conf.5 and etc/turnpike.conf match the option table"
else
	tap_fail "documentation drifted from the option table (run scripts/gen-docs.sh)" "$out"
fi

mapfile -t names < <("$TURNPIKED" --dump-options=names)
# Every name as a word of --help: "--name" for what turnpike implements, a bare
# name in the list of coturn options it accepts and ignores.
words=$("$TURNPIKED" --help 2>&1 | tr -s ' \t,()=' '\n' | sed 's/^--//')
missing=""
for n in "${names[@]}"; do
	grep -qxF -- "$n" <<<"$words" || missing="$missing $n"
done
tap_is "--help lists all ${#names[@]} options" "$([ -z "$missing" ] && [ "${#names[@]}" -gt 20 ]; echo $?)" \
	"missing from --help:$missing"

for page in turnpiked.8 turnpike.conf.5 turnpikectl.8; do
	if command -v man >/dev/null 2>&1; then
		if warn=$(MANWIDTH=80 man --warnings -l "$TOP_SRCDIR/man/$page" 2>&1 >/dev/null) &&
			[ -z "$warn" ]; then
			tap_ok "man/$page renders without warnings"
		else
			tap_fail "man/$page has groff warnings" "$warn"
		fi
	else
		tap_skip "man/$page renders" "man not installed"
	fi
done
tap_done
