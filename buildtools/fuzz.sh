#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build the libFuzzer targets (test/fuzz/) and fuzz each one for a bounded time, starting from
# its checked-in seed corpus (test/fuzz/corpus/<name>/, replayed first: regressions).
#
# Usage: buildtools/fuzz.sh [TARGET...]          (default: all; e.g. fuzz_restore)
#   FUZZ_SECONDS=N   fuzzing time per target (default 20); FUZZ_SECONDS=3600 buildtools/fuzz.sh
#                    is the long campaign
#   FUZZ_JOBS=N      targets fuzzed at the same time (default: CPUs, at most 4)
#   FUZZ_BUILD=DIR   build dir (default build-fuzz; built with buildtools/build.sh --fuzz)
#   FUZZ_OUT=DIR     scratch dir (default fuzz-out): DIR/<target>/corpus gets the new inputs
#                    (kept between runs; the checked-in corpus is never written), DIR/<target>/
#                    the crash files, DIR/<target>/log the fuzzer's output
#   FUZZ_RSS_MB=N    -rss_limit_mb per target (default 2048)
#
# Exit status: 0 when every target ran its time without a finding; 1 when any target crashed,
# leaked, hung (-timeout=10 per input), ran out of memory or tripped ASan/UBSan (the crash
# file and the end of the log are printed; reproduce with `DIR/test/fuzz/<target> CRASHFILE`);
# 2 usage error; the build's status when the build failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ALL=(fuzz_restore fuzz_ring fuzz_packet fuzz_channel fuzz_bus fuzz_netvsp)
# Largest input per target: a few chunks of stream; a ring of 4 data pages with its header
# and script; a packet; a guest script; a guest's control messages; a guest's NVSP/RNDIS
# session.
declare -A MAX_LEN=([fuzz_restore]=16384 [fuzz_ring]=16700 [fuzz_packet]=4096 [fuzz_channel]=4096
                    [fuzz_bus]=4096 [fuzz_netvsp]=4096)

SECONDS_PER=${FUZZ_SECONDS:-20}
BUILD=${FUZZ_BUILD:-build-fuzz}
OUT=${FUZZ_OUT:-fuzz-out}
RSS=${FUZZ_RSS_MB:-2048}
ncpu=$(nproc 2>/dev/null || echo 2)
JOBS=${FUZZ_JOBS:-$((ncpu < 4 ? ncpu : 4))}

for v in "$SECONDS_PER" "$JOBS" "$RSS"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: '$v' is not a positive integer" >&2; exit 2; }
done
targets=("$@")
((${#targets[@]})) || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
    [[ -n "${MAX_LEN[$t]:-}" ]] || { echo "fuzz: unknown target '$t' (${ALL[*]})" >&2; exit 2; }
done

log() { echo "fuzz: $*"; }
start=$(date +%s)

# Only what the fuzzers need: no unit tests, benchmarks or driver in this build dir.
log "building $BUILD"
buildtools/build.sh --fuzz "$BUILD" -- -Dtests=false -Dbenchmarks=false -Ddrivers=false

# run_target NAME: fuzz one target; its status is its exit code.
run_target() {
    local t=$1 dir="$OUT/$1" seeds="test/fuzz/corpus/${1#fuzz_}"
    mkdir -p "$dir/corpus"
    rm -f "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* "$dir"/slow-unit-*
    # New inputs go to the first directory (scratch); the checked-in seeds are read only.
    "$BUILD/test/fuzz/$t" "$dir/corpus" "$seeds" \
        -max_total_time="$SECONDS_PER" -max_len="${MAX_LEN[$t]}" -rss_limit_mb="$RSS" \
        -timeout=10 -artifact_prefix="$dir/" -print_final_stats=1 \
        </dev/null >"$dir/log" 2>&1
}

declare -A pid_of=()
declare -A status=()
running=0
for t in "${targets[@]}"; do
    if ((running >= JOBS)); then
        wait -n || true
        running=$((running - 1))
    fi
    log "$t: ${SECONDS_PER}s over test/fuzz/corpus/${t#fuzz_}/ (+ $OUT/$t/corpus/)"
    run_target "$t" &
    pid_of[$t]=$!
    running=$((running + 1))
done
for t in "${targets[@]}"; do
    rc=0
    wait "${pid_of[$t]}" || rc=$?
    status[$t]=$rc
done

failed=0
for t in "${targets[@]}"; do
    dir="$OUT/$t"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
    cov=$(grep -Eo 'cov: [0-9]+' "$dir/log" | tail -1 || true)
    if ((status[$t] == 0)); then
        log "$t: ok (${execs:-?} runs, ${cov:-cov: ?}, corpus $(find "$dir/corpus" -type f | wc -l) scratch files)"
        continue
    fi
    failed=1
    echo "fuzz: $t: FAILED (exit ${status[$t]})" >&2
    found=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
        -name 'timeout-*' -o -name 'oom-*' \) | head -1)
    grep -E 'ERROR: |SUMMARY: |invariant failed|runtime error|differ at' "$dir/log" | head -5 >&2 || true
    if [[ -n "$found" ]]; then
        echo "fuzz: $t: crash file: $ROOT/$found" >&2
        echo "fuzz: $t: reproduce: $BUILD/test/fuzz/$t $found" >&2
    fi
    echo "fuzz: $t: log: $ROOT/$dir/log (last lines below)" >&2
    tail -n 25 "$dir/log" | sed 's/^/    /' >&2
done
log "done in $(($(date +%s) - start))s"
exit "$failed"
