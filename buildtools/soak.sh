#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The long modes of the reliability tests (CI runs short versions of the same programs):
#   - 1000 save/restore cycles of a host channel under continuous traffic (poll and interrupt
#     modes), every transaction counted: zero lost, duplicated or uncompleted;
#   - 1000 hand-overs of the VMBus host between processes under traffic, with 1 and 8 channels
#     per guest;
#   - the chaos test and the control-plane crash tests, 5 times each.
# Then, if FUZZ_SECONDS is set, a fuzzing campaign of that many seconds per target.
#
#   bash buildtools/soak.sh [build-dir]          (default: build)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
cd "$ROOT"
[[ -x "$BUILD/test/unit/test_poll" ]] || bash buildtools/build.sh "$BUILD"

echo "== 1000 save/restore cycles under traffic"
VMB_SOAK_CYCLES=1000 "$BUILD/test/unit/test_poll" | grep -E 'soak:|PASSED|FAILED'
echo "== 1000 hand-overs between host processes under traffic"
"$BUILD/test/multiproc/test_servicing" 1000 1 | tail -3
"$BUILD/test/multiproc/test_servicing" 1000 8 | tail -3
echo "== chaos and crash tests, 5 rounds"
for i in 1 2 3 4 5; do
    "$BUILD/test/unit/test_chaos" | grep -E 'PASSED|FAILED'
    "$BUILD/test/multiproc/test_bus" | tail -1
done
if [[ -n "${FUZZ_SECONDS:-}" ]]; then
    echo "== fuzzing, $FUZZ_SECONDS s per target"
    bash buildtools/fuzz.sh
fi
echo "soak: done"
