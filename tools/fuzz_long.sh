#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# Long fuzzing: runs every fuzz target (or the ones named) to a number of executions, one target
# at a time, starting from its checked-in corpus, then minimizes what it has (-set_cover_merge=1,
# the smallest-set form of -merge=1, into a fresh directory) and prints a table: executions,
# exec/s, wall time, minimized corpus size.
#
#   tools/fuzz_long.sh [-b <build dir>] [-n <executions>] [-s <seed>] [-u] [target...]
#
#   -b  build directory (default: build); the fuzz targets must be built
#   -n  executions per target (default: 1000000)
#   -s  libFuzzer seed (default: 1)
#   -u  replace tests/fuzz/corpus/<target>/ with the minimized corpus (check it in afterwards)
#
# Targets and their corpus directories come from <build dir>/fuzz_targets.txt, which
# pc_fuzz_target writes at configure time. Work files go to <build dir>/fuzz_long/<target>/.
# A crash stops that target's run; its reproducer is left in the work directory and the script
# exits non-zero after the table.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=build
runs=1000000
seed=1
update=0
while getopts b:n:s:u opt; do
    case $opt in
    b) build=$OPTARG ;;
    n) runs=$OPTARG ;;
    s) seed=$OPTARG ;;
    u) update=1 ;;
    *) sed -n "9,14p" "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

manifest=$build/fuzz_targets.txt
if [ ! -s "$manifest" ]; then
    echo "fuzz_long: $manifest missing; configure the build first" >&2
    exit 2
fi

now() { date +%s.%N; }
status=0
table=$(mktemp)
targets=$(mktemp)
trap 'rm -f "$table" "$targets"' EXIT
cp "$manifest" "$targets" # a re-configure during the runs rewrites the manifest

while read -r name bin corpora; do
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    if [ ! -x "$bin" ]; then
        echo "fuzz_long: $name not built ($bin)" >&2
        status=1
        continue
    fi
    work=$build/fuzz_long/$name
    rm -rf "$work"
    mkdir -p "$work/new" "$work/merged"
    echo "== $name: $runs executions" >&2
    t0=$(now)
    # shellcheck disable=SC2086 # corpora is a list of directories
    if ! (cd "$work" && "$bin" -seed="$seed" -runs="$runs" -rss_limit_mb=2048 \
            -print_final_stats=1 new $corpora) </dev/null >"$work/run.log" 2>&1; then
        echo "fuzz_long: $name failed, see $work/run.log" >&2
        tail -n 30 "$work/run.log" >&2
        status=1
        printf '| %s | failed | | | |\n' "$name" >>"$table"
        continue
    fi
    t1=$(now)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run.log")
    # shellcheck disable=SC2086
    "$bin" -set_cover_merge=1 -rss_limit_mb=2048 "$work/merged" "$work/new" $corpora \
        </dev/null >"$work/merge.log" 2>&1
    files=$(find "$work/merged" -type f | wc -l)
    bytes=$(find "$work/merged" -type f -exec cat {} + | wc -c)
    awk -v n="$name" -v e="$execs" -v a="$t0" -v b="$t1" -v f="$files" -v c="$bytes" 'BEGIN {
        t = b - a; printf "| %s | %d | %.0f | %.1f s | %d files, %.1f KiB |\n", n, e, e / t, t, f, c / 1024 }' \
        >>"$table"
    if [ "$update" = 1 ]; then
        dst=$root/tests/fuzz/corpus/$name
        rm -rf "$dst"
        mkdir -p "$dst"
        cp "$work/merged"/* "$dst"/ 2>/dev/null || true
    fi
done <"$targets"

echo "| target | executions | exec/s | wall time | minimized corpus |"
echo "|---|---|---|---|---|"
cat "$table"
exit $status
