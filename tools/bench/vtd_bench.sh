#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Instructions per libvtd operation: runs vtd_bench under callgrind and divides each phase's
# inclusive instruction count by its number of operations. Usage:
#   tools/bench/vtd_bench.sh [path/to/vtd_bench]   (default: build/tests/host/vtd/vtd_bench)
set -eu
bin=${1:-build/tests/host/vtd/vtd_bench}
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" >"$out/plain.txt"
grep -v '^phase_counts' "$out/plain.txt"
valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" "$bin" >"$out/cg.txt" 2>/dev/null
counts=$(grep '^phase_counts' "$out/cg.txt")
callgrind_annotate --inclusive=yes --threshold=100 "$out/cg.out" 2>/dev/null >"$out/ann.txt"
echo "instructions per operation (callgrind, inclusive):"
for p in map4k:phase_map_4k unmap4k:phase_unmap_4k map2m:phase_map_2m unmap2m:phase_unmap_2m \
         cycle4k:phase_cycle_4k addscat:phase_add_scattered addscatdev:phase_add_scattered_dev; do
    key=${p%%:*}
    fn=${p#*:}
    n=$(echo "$counts" | tr ' ' '\n' | sed -n "s/^$key=//p")
    ir=$(grep -E "[[:space:]]\*?[^ ]*:?$fn( |$)" "$out/ann.txt" | head -1 | awk '{gsub(",","",$1); print $1}')
    if [ -n "$ir" ] && [ -n "$n" ]; then
        echo "  $fn: $((ir / n)) instructions/op over $n ops"
    else
        echo "  $fn: not found in callgrind output"
    fi
done
