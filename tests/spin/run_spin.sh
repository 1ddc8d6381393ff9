#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Runs Spin on fence.pml in a scratch directory.
#   run_spin.sh verify <workdir> [-DNAME=value ...]   the model must verify: 0 errors, a full
#                                                     search (no depth truncation)
#   run_spin.sh bugs   <workdir> [-DNAME=value ...]   every -DBUG_* variant must be rejected
#   run_spin.sh reach  <workdir> [-DNAME=value ...]   every scenario probe (-DREACH=n) is reached
#   run_spin.sh fault  <workdir> [-DNAME=value ...]   a failed block invalidation
#                                                     (-DFAULT_BLOCK_FLUSH_FAILS): rejected as the
#                                                     code stands, verified with both fixes
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
    (cd "$dir" && "$cc" "${PAN_OPT:--O2}" -w -DSAFETY -DCOLLAPSE -DVECTORSZ=4096 -o pan pan.c)
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
reach)
    probes=("1 a device-TLB invalidation timed out (ITE after the deadline)"
            "2 an unmap released its pins after quarantining the device that timed out"
            "3 a page request overflow sent the drain round again"
            "4 a drain did not complete: the PASID stayed DRAINING"
            "5 iommu_server_retry completed a drain and freed the PASID"
            "6 the detach deadline fired (HP_EV_DEADLINE)"
            "7 the device was pulled while the slot waited for detached"
            "8 the driver answered device_going with detached in time"
            "9 a PASID was bound again on the re-plugged device"
            "10 a stale device handle was refused (IOMMU_ERR_STALE)"
            "11 the orderly fence's own device-TLB flush timed out: quarantine"
            "12 an ATS flush after the fence answered IOMMU_STATUS_DEVICE_GONE")
    failed=0
    for p in "${probes[@]}"; do
        n=${p%% *}
        pan_build "$work/reach$n" "-DREACH=$n" "$@"
        (cd "$work/reach$n" && ./pan -m"$depth" -w"$hash" >pan.out 2>&1) || true
        if grep -Eq "assertion violated \($n!=$n\)" "$work/reach$n/pan.out"; then
            echo "reached: ${p#* }"
        else
            echo "FAIL: never reached: ${p#* }"
            grep -E "^pan:1:|errors" "$work/reach$n/pan.out" || true
            failed=1
        fi
    done
    exit $failed
    ;;
fault)
    failed=0
    # as the code stands (failed blocks redone, a failed fence a pending quarantine): verifies
    pan_build "$work/fixed" -DFAULT_BLOCK_FLUSH_FAILS "$@"
    (cd "$work/fixed" && ./pan -m"$depth" -w"$hash" >pan.out 2>&1) || true
    grep -E "states, stored|errors" "$work/fixed/pan.out" || true
    if grep -q "errors: 0" "$work/fixed/pan.out"; then
        echo "a failed block invalidation, as the code stands: verified"
    else
        echo "FAIL: a failed block invalidation violates a property"
        failed=1
    fi
    # without either half of the fix: rejected
    for bug in BUG_BLOCK_NOT_RETRIED BUG_FENCE_NOT_PENDING; do
        pan_build "$work/$bug" -DFAULT_BLOCK_FLUSH_FAILS -D$bug "$@"
        (cd "$work/$bug" && ./pan -m"$depth" -w"$hash" >pan.out 2>&1) || true
        line=$(grep -E "^pan:1:" "$work/$bug/pan.out" || true)
        if [ -n "$line" ]; then
            echo "-D$bug with a failed block invalidation: rejected: ${line#pan:1: }"
        else
            echo "FAIL: -D$bug with a failed block invalidation was not rejected"
            failed=1
        fi
    done
    exit $failed
    ;;
*)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac
