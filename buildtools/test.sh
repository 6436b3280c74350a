#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The project's test command: build and test everything, then print one summary line.
#
#   1. build/      normal (release) build            -> meson test
#   2. build-san/  ASan+UBSan debug build (gcc)     -> meson test
#   3. build-tsan/ ThreadSanitizer debug build      -> meson test --suite unit
#   4. buildtools/fuzz.sh, when it exists and clang + -Dfuzzing are available
#
# The last line printed is exactly "N passed, N failed" (", N skipped" is added when
# tests were skipped), aggregated from meson's testlog.json of both builds. A build
# that fails counts as one failed test, as does a failing fuzz.sh. Exit status is
# non-zero when anything failed or when no test ran at all.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3 # Debian's python (the one on PATH may be another installation)

extra_passed=0 extra_failed=0
logs=()
failures=()

step() { echo; echo "=== test: $*"; }

# run_suite <build-dir> <meson test options...> (build.sh options come from $build_opts)
run_suite() {
    local dir=$1
    shift
    step "building $dir ${build_opts[*]}"
    # A stale log from an earlier run must not be counted if this run fails early.
    rm -f "$dir/meson-logs/testlog.json"
    if ! buildtools/build.sh "${build_opts[@]}" "$dir"; then
        echo "test: BUILD FAILED: $dir" >&2
        failures+=("build of $dir")
        extra_failed=$((extra_failed + 1))
        return 0
    fi
    step "meson test -C $dir --print-errorlogs $*"
    # stdin from /dev/null: a test waiting for input must not hang CI.
    if ! meson test -C "$dir" --print-errorlogs "$@" </dev/null; then
        failures+=("tests in $dir")
    fi
    logs+=("$dir/meson-logs/testlog.json")
}

# 1. Normal build.
build_opts=()
run_suite build

# 2. Sanitizer build. Reports must fail the test: ASan exits non-zero on its first
# report; UBSan is told to halt too (build.sh also compiles with
# -fno-sanitize-recover=undefined). Values set by the caller are kept.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:print_summary=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:print_summary=1}"
build_opts=(--sanitize)
# Instrumented debug code is several times slower.
run_suite build-san --timeout-multiplier 3
unset ASAN_OPTIONS UBSAN_OPTIONS

# 3. ThreadSanitizer build of the unit suite (the poll loop with real threads, pause/start
# barriers, hand-overs, save/restore under traffic).
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
build_opts=(--tsan)
run_suite build-tsan --suite unit --timeout-multiplier 5
unset TSAN_OPTIONS

# 4. Short fuzzing run, only where it can work.
if [[ -x buildtools/fuzz.sh ]]; then
    if command -v clang >/dev/null && grep -q "option('fuzzing'" meson_options.txt; then
        step "buildtools/fuzz.sh"
        if buildtools/fuzz.sh </dev/null; then
            extra_passed=$((extra_passed + 1))
        else
            failures+=("buildtools/fuzz.sh")
            extra_failed=$((extra_failed + 1))
        fi
    else
        echo "test: skipping buildtools/fuzz.sh (needs clang and the 'fuzzing' option)"
    fi
fi

# Aggregate. Results as written by meson: OK, EXPECTEDFAIL, SKIP, FAIL, TIMEOUT,
# ERROR, UNEXPECTEDPASS, INTERRUPT; anything unknown counts as failed.
read -r mpassed mfailed mskipped < <("$PY" - "${logs[@]}" <<'EOF'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:   # no tests defined: meson writes no log
        continue
    with f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line).get("result", "")
            except ValueError:
                r = "ERROR"
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(passed, failed, skipped)
EOF
)

passed=$((mpassed + extra_passed))
failed=$((mfailed + extra_failed))
rc=0
echo
if ((${#failures[@]})); then
    printf 'test: FAILED: %s\n' "${failures[@]}"
    rc=1
fi
if ((mpassed + mfailed == 0)); then
    echo "test: FAILED: no test ran (meson reported no results)"
    rc=1
fi
((failed == 0)) || rc=1
if ((mskipped > 0)); then
    echo "$passed passed, $failed failed, $mskipped skipped"
else
    echo "$passed passed, $failed failed"
fi
exit "$rc"
