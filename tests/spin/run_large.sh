#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Manual model check with larger bounds than ctest's (about 4 minutes and 7 GiB of memory):
#   tests/spin/run_large.sh [workdir]          (or: ninja -C build spin_large)
# Bounds can be overridden: SPIN_LARGE="-DNGEN=3 -DNREQ=3" tests/spin/run_large.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${1:-$(mktemp -d)}
read -r -a bounds <<<"${SPIN_LARGE:--DNREQ=3 -DNPR=2 -DPR_INFLIGHT=2}"
SPIN_HASH=${SPIN_HASH:-27} exec "$here/run_spin.sh" verify "$work" "${bounds[@]}"
