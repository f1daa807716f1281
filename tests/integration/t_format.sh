#!/usr/bin/env bash
# Formatting is mechanical: every C file matches .clang-format, every shell
# script passes shellcheck.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

cd "$TOP_SRCDIR" || exit 1
if ! command -v clang-format >/dev/null 2>&1; then
	tap_skip "clang-format matches .clang-format" "clang-format not installed"
else
	bad=""
	while IFS= read -r f; do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
	done < <(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests -name '*.[ch]')
	if [ -z "$bad" ]; then
		tap_ok "all C sources match .clang-format"
	else
		tap_fail "files not formatted (run clang-format -i):$bad"
	fi
fi
if ! command -v shellcheck >/dev/null 2>&1; then
	tap_skip "shell scripts pass shellcheck" "shellcheck not installed"
else
	mapfile -t scripts < <(git ls-files 'scripts/*' 'tests/*.sh' '.ci/run' 'docker/*.sh' 2>/dev/null |
		xargs grep -lE '^#!(/usr/bin/env bash|/bin/sh)' 2>/dev/null)
	if out=$(shellcheck -x "${scripts[@]}" 2>&1); then
		tap_ok "shell scripts pass shellcheck (${#scripts[@]} files)"
	else
		tap_fail "shellcheck: $(printf '%s' "$out" | head -20)"
	fi
fi
tap_done
