#!/usr/bin/env bash
# Replays every checked-in fuzz corpus (tests/fuzz/corpus/X) through its target
# (tests/fuzz/fuzz_X, built with the replay driver); one TAP line per target.
set -u

top_src=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
top_build=${TOP_BUILDDIR:-$top_src}
n=0
failed=0

for dir in "$top_src"/tests/fuzz/corpus/*/; do
	[ -d "$dir" ] || continue
	target=$(basename "$dir")
	bin=$top_build/tests/fuzz/fuzz_$target
	n=$((n + 1))
	if [ ! -x "$bin" ]; then
		echo "not ok $n - fuzz_$target: $bin not built"
		failed=1
		continue
	fi
	out=$("$bin" "$dir" 2>&1)
	rc=$?
	files=$(grep -c '^ok ' <<<"$out")
	if [ "$rc" -eq 0 ] && ! grep -q '^not ok' <<<"$out"; then
		echo "ok $n - fuzz_$target replays $files corpus files"
	else
		echo "not ok $n - fuzz_$target (exit $rc)"
		tail -n 40 <<<"$out" | while IFS= read -r line; do echo "# $line"; done
		failed=1
	fi
done
echo "1..$n"
exit $failed
