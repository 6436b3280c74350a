#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install every Debian package vmbchan needs to build, test, benchmark and fuzz.
# Idempotent: only missing packages are installed, and `apt-get update` runs
# (once) only when something has to be installed.
#
# Usage: buildtools/setup.sh [--check]
#   --check   only report missing packages; exit 1 if any are missing.
# Extra packages can be added with VMBCHAN_SETUP_EXTRA_PKGS="pkg1 pkg2".
set -euo pipefail

# Why each group is here:
#  - dpdk, libdpdk-dev, dpdk-dev: DPDK 22.11 runtime, public headers, testpmd/pmdinfo tools.
#  - meson ninja-build pkg-config: the build.
#  - python3 python3-pyelftools: meson itself, DPDK's pmdinfogen.py / dpdk-pmdinfo.py.
#  - libbenchmark-dev libcmocka-dev: benchmarks and unit tests.
#  - gcc g++ libc6-dev: default toolchain (and sanitizer runtimes libasan/libubsan via gcc).
#  - clang llvm libclang-rt-14-dev: libFuzzer + clang sanitizer runtimes, llvm-symbolizer.
#  - dpkg-dev xz-utils: unpacking Debian's dpdk source package for the driver SDK headers
#    (see buildtools/fetch-dpdk-sdk.sh).
#  - tmux: multi-process demos/tests.
PKGS=(
    dpdk libdpdk-dev dpdk-dev
    meson ninja-build pkg-config
    python3 python3-pyelftools
    libbenchmark-dev libcmocka-dev
    gcc g++ libc6-dev
    clang llvm libclang-rt-14-dev
    dpkg-dev xz-utils
    tmux
)
# shellcheck disable=SC2206 # word splitting is intended
PKGS+=(${VMBCHAN_SETUP_EXTRA_PKGS:-})

check_only=0
case "${1:-}" in
    --check) check_only=1 ;;
    "") ;;
    -h|--help) sed -n '3,10p' "$0"; exit 0 ;;
    *) echo "setup: unknown argument '$1'" >&2; exit 2 ;;
esac

log() { echo "setup: $*"; }

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "setup: this script needs a Debian-based system (dpkg/apt)" >&2
    exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
    # db:Status-Status is "installed" only for fully installed packages (not config-files etc.).
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$st" == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    log "all ${#PKGS[@]} required packages are installed"
    exit 0
fi

log "missing packages: ${missing[*]}"
if ((check_only)); then
    log "run buildtools/setup.sh to install them"
    exit 1
fi

# Run as root directly, else through sudo (non-interactive when there is no terminal, e.g. CI).
if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null; then
    if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg instead of failing at once; no progress bars in logs.
apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
aptlog=$(mktemp "${TMPDIR:-/tmp}/vmbchan-setup.XXXXXX")
trap 'rm -f "$aptlog"' EXIT

run_apt() {
    if ! "${as_root[@]}" apt-get "${apt_opts[@]}" "$@" </dev/null >"$aptlog" 2>&1; then
        echo "setup: 'apt-get $*' failed; its output:" >&2
        tail -n 40 "$aptlog" >&2
        exit 1
    fi
}

log "apt-get update"
run_apt update
log "installing ${#missing[@]} package(s)"
# --no-install-recommends keeps the install small; everything needed is listed explicitly above.
run_apt install --no-install-recommends "${missing[@]}"

# Verify, so that a package apt silently skipped is reported here rather than as a build error.
still=()
for p in "${missing[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$st" == installed ]] || still+=("$p")
done
if ((${#still[@]})); then
    echo "setup: still not installed: ${still[*]}" >&2
    exit 1
fi
log "done: installed ${missing[*]}"
