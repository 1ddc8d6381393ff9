#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Runs Spin on fence.pml in a scratch directory.
#   run_spin.sh verify <workdir> [-DNAME=value ...]   the model must verify: 0 errors, a full
#                                                     search (no depth truncation)
#   run_spin.sh bugs   <workdir> [-DNAME=value ...]   every -DBUG_* variant must be rejected
# Prints Spin's state counts, memory and time. Exits 77 (ctest: skipped) when spin is absent.
set -euo pipefail

mode=${1:?mode}
work=${2:?workdir}
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model=$here/fence.pml
depth=${SPIN_DEPTH:-200000}
hash=${SPIN_HASH:-24}   # -w: log2 of the hash table slots

if ! command -v spin >/dev/null 2>&1; then
    echo "spin is not installed (Debian package 'spin'): model check skipped"
    exit 77
fi
cc=${CC:-cc}

# pan_build <dir> <spin -D flags...>: pan compiled for a safety search (assertions and
# invalid end states), states stored collapsed.
pan_build() {
    local dir=$1
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$model" "$dir/"
    (cd "$dir" && spin "$@" -a fence.pml >spin.log 2>&1) || { cat "$dir/spin.log"; return 1; }
    (cd "$dir" && "$cc" -O2 -w -DSAFETY -DCOLLAPSE -DVECTORSZ=4096 -o pan pan.c)
}

case $mode in
verify)
    pan_build "$work/verify" "$@"
    start=$(date +%s%N)
    (cd "$work/verify" && ./pan -m"$depth" -w"$hash" >pan.out 2>&1) || true
    end=$(date +%s%N)
    out=$work/verify/pan.out
    grep -E "State-vector|states, stored|states, matched|transitions|total actual memory|elapsed" "$out" || true
    ms=$(( (end - start) / 1000000 ))
    printf 'wall time: %d.%03d s (bounds: %s)\n' $((ms / 1000)) $((ms % 1000)) "${*:-defaults}"
    if ! grep -q "errors: 0" "$out"; then
        echo "FAIL: the model has errors:"
        grep -E "^pan:|assertion|invalid end" "$out" || cat "$out"
        (cd "$work/verify" && spin -t -p fence.pml | tail -40) || true
        exit 1
    fi
    if grep -q "max search depth too small" "$out"; then
        echo "FAIL: search truncated by the depth bound (raise SPIN_DEPTH)"
        exit 1
    fi
    if grep -q "Search not completed" "$out"; then
        echo "FAIL: search not completed"
        exit 1
    fi
    echo "OK: fence protocol model verified (P1-P4, no invalid end state)"
    ;;
bugs)
    bugs=(BUG_SEND_DEVTLB_AFTER_FENCE BUG_RELEASE_BEFORE_WAIT BUG_REUSE_PASID_EARLY
          BUG_UNBOUNDED_WAIT)
    expect=("assertion violated  *!\(fence_seen\)" "assertion violated pinned"
            "assertion violated .*needs_drain" "invalid end state")
    failed=0
    for i in "${!bugs[@]}"; do
        b=${bugs[$i]}
        pan_build "$work/$b" "-D$b" "$@"
        (cd "$work/$b" && ./pan -m"$depth" -w24 >pan.out 2>&1) || true
        line=$(grep -E "^pan:1:" "$work/$b/pan.out" || true)
        if grep -q "errors: 0" "$work/$b/pan.out" || [ -z "$line" ]; then
            echo "FAIL: $b verified without an error: the property it breaks is not checked"
            failed=1
        elif ! grep -Eq "${expect[$i]}" <<<"$line"; then
            echo "FAIL: $b rejected for another reason than expected: $line"
            failed=1
        else
            echo "ok: $b rejected: ${line#pan:1: }"
        fi
    done
    exit $failed
    ;;
*)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac
