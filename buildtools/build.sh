#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Configure and build vmbchan in one build directory.
#
# Usage: buildtools/build.sh [--sanitize|--tsan] [--fuzz] [--setup] <build-dir> [-- <meson options>]
#   --sanitize  ASan+UBSan debug build (-Db_sanitize=address,undefined, UB is fatal)
#   --tsan      ThreadSanitizer debug build (poll loop, pause/start, save/restore under threads)
#   --fuzz      clang build with -Dfuzzing=true (libFuzzer targets); combine with
#               --sanitize for fuzzing with ASan+UBSan
#   --setup     install missing Debian packages first (buildtools/setup.sh); without it
#               missing packages are only reported
#   -- ...      extra meson options (applied with `meson configure` to an existing dir)
#
# Steps: package check -> fetch-dpdk-sdk.sh (DPDK driver SDK headers into
# <build-dir>/dpdk-sdk) -> meson setup (first time, or when the mode changed) -> ninja.
set -euo pipefail

usage() { sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//'; }

sanitize=0 tsan=0 fuzz=0 setup=0 build='' extra=()
while (($#)); do
    case "$1" in
        --sanitize) sanitize=1 ;;
        --tsan) tsan=1 ;;
        --fuzz) fuzz=1 ;;
        --setup) setup=1 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        -*) echo "build: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) [[ -z "$build" ]] || { echo "build: more than one build dir" >&2; exit 2; }
           build=$1 ;;
    esac
    shift
done
[[ -n "$build" ]] || { usage >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { echo "build: $*"; }

if ((setup)); then
    "$ROOT/buildtools/setup.sh"
elif ! "$ROOT/buildtools/setup.sh" --check >/dev/null; then
    "$ROOT/buildtools/setup.sh" --check >&2 || true
    echo "build: missing packages; run buildtools/setup.sh or pass --setup" >&2
    exit 1
fi

mkdir -p "$build"
BUILD=$(cd "$build" && pwd)
"$ROOT/buildtools/fetch-dpdk-sdk.sh" "$BUILD"

opts=("-Ddpdk_sdk_dir=$BUILD/dpdk-sdk/include")
if ((fuzz)); then
    # libFuzzer and its sanitizer runtimes come with clang (libclang-rt-14-dev).
    export CC=clang CXX=clang++
    # -fsanitize=fuzzer objects reference symbols only the final link provides;
    # asserts stay on because a fuzzer finds bugs through them.
    opts+=(-Dfuzzing=true -Db_lundef=false -Db_ndebug=false)
fi
if ((tsan)); then
    # benchmarks and the driver are not what this build is for
    opts+=(-Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug -Dbenchmarks=false)
fi
if ((sanitize)); then
    # b_lundef=false: sanitized shared objects (the driver) leave runtime symbols to
    # the executable. -fno-sanitize-recover: a UBSan report fails the test even when
    # UBSAN_OPTIONS is not set (ASan always aborts).
    opts+=('-Db_sanitize=address,undefined' -Db_lundef=false -Dbuildtype=debug
           -Dc_args=-fno-sanitize-recover=undefined -Dcpp_args=-fno-sanitize-recover=undefined)
fi

# A -Dname=... given after `--` replaces ours (meson keeps the FIRST of duplicated
# options on --reconfigure, so ours must not be passed at all then).
final=()
for o in "${opts[@]}"; do
    for e in "${extra[@]}"; do [[ "$e" == "${o%%=*}="* ]] && continue 2; done
    final+=("$o")
done
opts=("${final[@]}")

# The compiler of a meson build dir cannot be changed by reconfiguring, so a build dir
# made for another mode (or compiler) is wiped, keeping the fetched SDK.
mode="cc=${CC:-default} cxx=${CXX:-default} sanitize=$sanitize tsan=$tsan fuzz=$fuzz"
stamp="$BUILD/.vmbchan-build-mode"
if [[ -d "$BUILD/meson-private" ]]; then
    old=$(cat "$stamp" 2>/dev/null || echo unknown)
    if [[ "$old" != "$mode" ]]; then
        log "build mode changed ($old -> $mode): wiping $BUILD (keeping dpdk-sdk)"
        find "$BUILD" -mindepth 1 -maxdepth 1 ! -name dpdk-sdk -exec rm -rf {} +
    fi
fi

if [[ ! -f "$BUILD/build.ninja" ]]; then
    log "meson setup $BUILD ($mode)"
    meson setup "${opts[@]}" "${extra[@]}" "$BUILD" "$ROOT"
elif ((${#extra[@]})); then
    # `meson configure`, not `setup --reconfigure`: meson 1.0 ignores changed
    # c_args/cpp_args on --reconfigure.
    log "meson configure $BUILD ${extra[*]}"
    meson configure "$BUILD" "${opts[@]}" "${extra[@]}" >/dev/null
fi
# Written only after a successful setup, so a failed setup is retried from scratch.
echo "$mode" >"$stamp"

log "ninja -C $BUILD"
ninja -C "$BUILD"
