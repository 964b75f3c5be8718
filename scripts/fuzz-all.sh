#!/usr/bin/env bash
# Run every fuzz target of the module for a while and print, per target,
# how many inputs it executed and whether it found anything.
#   bash scripts/fuzz-all.sh [DURATION]     (default 10s per target)
# A failing input is written under the package's testdata/fuzz/ by Go;
# commit it as a regression seed once the bug is fixed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dur="${1:-10s}"
status=0
printf '%-45s %-28s %12s  %s\n' package target execs result
while IFS= read -r line; do
	file="${line%%:*}"
	target="$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+)\(.*/\1/' <<<"$line")"
	pkg="./$(dirname "$file")"
	out="$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$dur" "$pkg" 2>&1)"
	execs="$(grep -oE 'execs: [0-9]+' <<<"$out" | tail -1 | cut -d' ' -f2)"
	if grep -q '^ok' <<<"$out"; then
		result=ok
	else
		result=FAILED
		status=1
	fi
	printf '%-45s %-28s %12s  %s\n' "$pkg" "$target" "${execs:-?}" "$result"
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . | sort)
exit $status
