#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The hotplug soak (manual, not part of ./portcullis test; docs/testing.md "Soak"):
#   tools/soak.sh [cycles (1000)] [seed (1)] [surprise percent (50)]
# Boots the hotplug_soak image with that many unplug/re-plug cycles of edu0 under the edu
# driver's DMA, each removal orderly (QMP device_del) or surprise (the hotplug server powers the
# slot off on request), chosen by the seed; checks that nothing leaked and prints the per-cycle
# latency (median/p99, guest and wall time). Exit status 0 only if every check passed.
# The console goes to <build>/soak/soak-<cycles>-<seed>.console.log, the run's output to
# <build>/soak/soak-<cycles>-<seed>.log.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PORTCULLIS_BUILD:-$top/build}
cycles=${1:-1000}
seed=${2:-1}
surprise=${3:-50}

case "$cycles$seed$surprise" in
*[!0-9]*) echo "usage: $0 [cycles] [seed] [surprise percent]" >&2; exit 2 ;;
esac
if [ "$cycles" -lt 1 ] || [ "$cycles" -gt 2000 ] || [ "$surprise" -gt 100 ]; then
    echo "$0: cycles must be 1..2000, surprise percent 0..100" >&2
    exit 2
fi

if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$top" -B "$build" -G Ninja -C "$top/settings.cmake" \
        -DPORTCULLIS_PROFILE="${PORTCULLIS_PROFILE:-qemu}" >&2
fi
ninja -C "$build" pc_image_hotplug_soak >&2

# A cycle takes about 1.5 s; deadlines with ample room: 5 s per cycle plus start and end.
timeout_s=$((cycles * 5 + 300))
deadline_ms=$((timeout_s * 1000))
name="hotplug_soak_${cycles}_${seed}_${surprise}"
mkdir -p "$build/soak"
python3 - "$build/images/hotplug_soak.json" "$build/images/$name.json" "$name" "$cycles" \
    "$seed" "$surprise" "$deadline_ms" <<'PY'
import json, re, sys
src, dst, name, n, seed, pct, dl = sys.argv[1:]
img = json.load(open(src))
img["name"] = name
img["append"] = re.sub(r"init\.deadline_ms=\d+", f"init.deadline_ms={dl}", img["append"])
for m in img["modules"]:
    a = m["args"]
    if "mode=serve" in a:
        a = re.sub(r"\bcycles=\d+", f"cycles={n}", a)
        a = re.sub(r"\bserve_ms=\d+", f"serve_ms={int(dl) - 60000}", a)
    if "soak_ctl" in m["path"]:
        a = re.sub(r"\bn=\d+", f"n={n}", a)
        a = re.sub(r"\bseed=\d+", f"seed={seed}", a)
        a = re.sub(r"\bsurprise=\d+", f"surprise={pct}", a)
    m["args"] = a
json.dump(img, open(dst, "w"), indent=2)
PY

log="$build/soak/soak-$cycles-$seed.log"
echo "[soak] $cycles cycles, seed $seed, $surprise% surprise; deadline ${timeout_s} s; output: $log" >&2
start=$(date +%s)
set +e
python3 "$top/tools/qemu/run.py" --build "$build" --image "$name" --timeout "$timeout_s" \
    --expect-summary --log "$build/soak/soak-$cycles-$seed.console.log" >"$log" 2>&1
rc=$?
set -e
end=$(date +%s)
grep -E "BENCH soak_|TEST soak_|TEST edu_replug_cycles|root task (start|end)|accounting|cycles \(|SUMMARY:|QMP script|harness\]" \
    "$log" | grep -v "^init:" || true
echo "[soak] exit status $rc after $((end - start)) s" >&2
exit $rc
