#!/usr/bin/env bash
# Regenerates what the option table documents: the OPTIONS sections of
# man/turnpiked.8 and man/turnpike.conf.5 (between the GENERATED OPTIONS markers)
# and etc/turnpike.conf. With --check, changes nothing and fails on any drift.
# usage: scripts/gen-docs.sh [--check] path/to/turnpiked
set -eu

check=0
if [ "${1:-}" = "--check" ]; then
	check=1
	shift
fi
bin=${1:?usage: gen-docs.sh [--check] path/to/turnpiked}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# splice FILE FORMAT: FILE with the generated block replaced by the dump.
splice() {
	"$bin" --dump-options="$2" >"$tmp/block"
	awk -v block="$tmp/block" '
		/^\.\\" END GENERATED OPTIONS/ { skip = 0 }
		!skip { print }
		/^\.\\" BEGIN GENERATED OPTIONS/ {
			while ((getline line < block) > 0) print line
			skip = 1
		}' "$1"
}

splice "$top/man/turnpiked.8" man >"$tmp/turnpiked.8"
splice "$top/man/turnpike.conf.5" man5 >"$tmp/turnpike.conf.5"
"$bin" --dump-options=conf >"$tmp/turnpike.conf"

rc=0
for pair in man/turnpiked.8:turnpiked.8 man/turnpike.conf.5:turnpike.conf.5 \
    etc/turnpike.conf:turnpike.conf; do
	dst=$top/${pair%%:*}
	src=$tmp/${pair##*:}
	if cmp -s "$src" "$dst"; then
		continue
	fi
	if [ "$check" = 1 ]; then
		echo "${pair%%:*} differs from the option table:"
		diff -u "$dst" "$src" | head -n 40 || true
		rc=1
	else
		cp "$src" "$dst"
		echo "updated ${pair%%:*}"
	fi
done
exit $rc
