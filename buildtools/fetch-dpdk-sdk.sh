#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Fetch DPDK's driver SDK headers and pmdinfogen.py into <build-dir>/dpdk-sdk/.
#
# Debian builds DPDK without -Denable_driver_sdk=true, so ethdev_driver.h,
# ethdev_vdev.h, bus_vdev_driver.h, ... and buildtools/pmdinfogen.py are not
# installed. They are taken from Debian's own `dpdk` source package of EXACTLY the
# installed libdpdk-dev version (struct layouts must match the binaries), fetched with
# the ordinary apt client from the machine's own Debian mirror (never hard-coded).
#
# Usage: buildtools/fetch-dpdk-sdk.sh <build-dir>
# Result:
#   <build-dir>/dpdk-sdk/include/     only the SDK headers that are not installed
#   <build-dir>/dpdk-sdk/pmdinfogen.py (+ coff.py, which it imports) and
#   <build-dir>/dpdk-sdk/gen-pmdinfo-cfile.py (DPDK's wrapper: runs pmdinfogen on the
#                                     objects of a static archive, as DPDK's meson does)
#   <build-dir>/dpdk-sdk/VERSION      upstream DPDK version of the headers (e.g. 22.11.11)
#   <build-dir>/dpdk-sdk/.stamp       Debian version; when it matches, nothing is done
# Environment:
#   VMBCHAN_DPDK_SRC_CACHE  where the source package is downloaded
#                           (default <build-dir>/dpdk-sdk/src; share it between build dirs
#                           to download once)
#   CC                      compiler for the final sanity check (default cc)
set -euo pipefail

# Headers a PMD needs (paths inside the DPDK source tree). Whatever else they include
# that is not installed is found in the source tree and copied too.
SDK_ROOTS=(
    lib/ethdev/ethdev_driver.h
    lib/ethdev/ethdev_vdev.h
    drivers/bus/vdev/bus_vdev_driver.h
    lib/eal/include/bus_driver.h
    lib/eal/include/dev_driver.h
)
# The deb-src entry lives in its own file so that the system's own lists are untouched.
SRC_LIST=/etc/apt/sources.list.d/vmbchan-dpdk-src.sources
PY=/usr/bin/python3 # Debian's python: the one on PATH may be another installation.

log() { echo "fetch-dpdk-sdk: $*"; }
die() { echo "fetch-dpdk-sdk: error: $*" >&2; exit 1; }

(($# == 1)) || { echo "usage: $0 <build-dir>" >&2; exit 2; }
mkdir -p "$1"
BUILD=$(cd "$1" && pwd)
SDK="$BUILD/dpdk-sdk"
CACHE="${VMBCHAN_DPDK_SRC_CACHE:-$SDK/src}"

# --- which source package and version ------------------------------------------------
st=$(dpkg-query -W -f='${db:Status-Status}' libdpdk-dev 2>/dev/null || true)
[[ "$st" == installed ]] || die "libdpdk-dev is not installed (run buildtools/setup.sh)"
SRCPKG=$(dpkg-query -W -f='${source:Package}' libdpdk-dev)
VER=$(dpkg-query -W -f='${source:Version}' libdpdk-dev)
VER_NOEPOCH=${VER#*:}

if [[ -f "$SDK/.stamp" && "$(cat "$SDK/.stamp")" == "$VER" && -d "$SDK/include" &&
      -f "$SDK/pmdinfogen.py" ]]; then
    log "up to date ($SRCPKG $VER)"
    exit 0
fi
log "need $SRCPKG $VER"

if ((EUID == 0)); then
    as_root=()
    # Root downloads into a directory the _apt sandbox user cannot write; say so up
    # front instead of letting apt warn about it.
    apt_sandbox=(-o APT::Sandbox::User=root)
elif command -v sudo >/dev/null; then
    if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
    apt_sandbox=()
else
    as_root=(false)
    apt_sandbox=()
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vmbchan-sdk.XXXXXX")
trap 'rm -rf "$work"' EXIT
aptlog="$work/apt.log"

# --- deb-src entry copied from the machine's own apt sources -------------------------
# Keep Debian archive entries for this release (suite == codename or codename-*), turn
# them into deb-src. Third-party repos (other suite names) are left out: they usually
# carry no Sources index and would only make `apt-get update` fail.
write_src_list() {
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [[ -n "$codename" ]] || die "cannot tell the release codename from /etc/os-release"
    [[ -x "$PY" ]] || die "$PY not found (run buildtools/setup.sh)"
    "$PY" - "$codename" >"$work/src.sources" <<'EOF'
import glob, os, re, sys

codename = sys.argv[1]
entries = []  # (uris, suites, components, signed_by, trusted)

def add(types, uris, suites, comps, signed_by, trusted):
    if "deb" not in types and "deb-src" not in types:
        return
    suites = [s for s in suites if s == codename or s.startswith(codename + "-")]
    if suites and uris and comps:
        entries.append((uris, suites, comps, signed_by, trusted))

def parse_deb822(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for para in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in para.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:          # continuation line
                fields[key] += "\n" + line.strip()
                continue
            if ":" in line:
                key, val = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = val.strip()
        if not fields or fields.get("enabled", "yes").lower() == "no":
            continue
        # Signed-By may be a keyring path or an inline (multi-line) key: kept verbatim.
        add(fields.get("types", "").split(), fields.get("uris", "").split(),
            fields.get("suites", "").split(), fields.get("components", "").split(),
            fields.get("signed-by", ""), fields.get("trusted", ""))

def parse_oneline(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.match(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
            if not m:
                continue
            opts = dict(o.split("=", 1) for o in (m.group(2) or "").split() if "=" in o)
            add([m.group(1)], [m.group(3)], [m.group(4)], m.group(5).split(),
                opts.get("signed-by", ""), opts.get("trusted", ""))

if os.path.exists("/etc/apt/sources.list"):
    parse_oneline("/etc/apt/sources.list")
for p in sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    parse_oneline(p)
for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    if os.path.basename(p) != "vmbchan-dpdk-src.sources":
        parse_deb822(p)

# Merge entries that differ only in suites, keep first-seen order, drop duplicates.
out, seen = [], set()
for uris, suites, comps, sb, tr in entries:
    key = (tuple(uris), tuple(suites), tuple(comps), sb, tr)
    if key in seen:
        continue
    seen.add(key)
    out.append(key)
if not out:
    sys.exit("no Debian '%s' entries found in the apt sources" % codename)

print("# Generated by vmbchan buildtools/fetch-dpdk-sdk.sh: source packages from the")
print("# same mirrors as the binary entries, to fetch DPDK's driver SDK headers.")
for uris, suites, comps, sb, tr in out:
    print()
    print("Types: deb-src")
    print("URIs: " + " ".join(uris))
    print("Suites: " + " ".join(suites))
    print("Components: " + " ".join(comps))
    if sb:
        lines = sb.split("\n")
        print("Signed-By: " + lines[0] + "".join("\n " + (l if l else ".") for l in lines[1:]))
    if tr:
        print("Trusted: " + tr)
EOF
    if ! cmp -s "$work/src.sources" "$SRC_LIST"; then
        log "writing $SRC_LIST"
        "${as_root[@]}" install -m 0644 "$work/src.sources" "$SRC_LIST" ||
            die "cannot write $SRC_LIST (need root or sudo)"
    fi
}

# apt restricted to our deb-src file: `update` then refreshes only those indexes, and
# List-Cleanup=0 keeps it from deleting the system's other lists.
apt_src=(-o "Dir::Etc::SourceList=$SRC_LIST" -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0)

download_source() {
    mkdir -p "$CACHE"
    (cd "$CACHE" && apt-get -q "${apt_sandbox[@]}" "${apt_src[@]}" source --download-only \
        "$SRCPKG=$VER" </dev/null >"$aptlog" 2>&1)
}

DSC="$CACHE/${SRCPKG}_${VER_NOEPOCH}.dsc"

# Files listed in the .dsc, with their sha256 (verified again when the cache is reused).
dsc_files() { awk '/^Checksums-Sha256:/{f=1;next} /^[^ ]/{f=0} f&&NF==3{print $1"  "$3}' "$DSC"; }

cache_ok() {
    [[ -f "$DSC" ]] || return 1
    local sums
    sums=$(dsc_files)
    [[ -n "$sums" ]] || return 1
    (cd "$CACHE" && sha256sum --quiet -c - <<<"$sums" >/dev/null 2>&1)
}

if cache_ok; then
    log "using cached source package in $CACHE"
else
    write_src_list
    log "downloading $SRCPKG $VER source package (about 16 MB)"
    if ! download_source; then
        # The source index is probably missing or stale: refresh only our entry, retry.
        log "apt-get update (deb-src entries only)"
        # Retried: a concurrent apt run holds the lists lock, and update does not wait.
        for try in 1 2 3 4; do
            "${as_root[@]}" apt-get -q "${apt_src[@]}" update </dev/null >"$aptlog" 2>&1 && break
            ((try < 4)) || { tail -n 30 "$aptlog" >&2; die "apt-get update failed (need root or sudo?)"; }
            sleep 15
        done
        download_source || {
            tail -n 30 "$aptlog" >&2
            die "apt-get source $SRCPKG=$VER failed (is that version still in the archive?)"; }
    fi
    cache_ok || die "downloaded source package does not match its .dsc checksums"
fi

# --- unpack only what is needed --------------------------------------------------------
orig=$(dsc_files | awk '{print $2}' | grep -E '\.orig\.tar\.[a-z0-9]+$' | head -n 1 || true)
debtar=$(dsc_files | awk '{print $2}' | grep -E '\.debian\.tar\.[a-z0-9]+$' | head -n 1 || true)
if [[ -z "$orig" ]]; then # native package: a single tarball
    orig=$(dsc_files | awk '{print $2}' | grep -E '\.tar\.[a-z0-9]+$' | head -n 1 || true)
fi
[[ -n "$orig" ]] || die "no source tarball listed in $DSC"

tree="$work/tree"
mkdir -p "$tree"
# All headers of lib/ and drivers/bus/ (small) so that transitive includes can be
# resolved, plus the pmdinfo tools and the upstream VERSION.
PY_TOOLS=(buildtools/pmdinfogen.py buildtools/coff.py buildtools/gen-pmdinfo-cfile.py)
tar -xf "$CACHE/$orig" -C "$tree" --strip-components=1 --wildcards \
    '*/lib/*.h' '*/drivers/bus/*.h' "${PY_TOOLS[@]/#/*/}" '*/VERSION'

# Headers already installed must never be copied (they would shadow the real ones).
inc_dirs=()
for f in $(pkg-config --cflags-only-I libdpdk); do inc_dirs+=("${f#-I}"); done
inc_dirs+=(/usr/include "/usr/include/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null ||
                                         gcc -print-multiarch 2>/dev/null || echo none)")
installed() {
    local d
    for d in "${inc_dirs[@]}"; do [[ -e "$d/$1" ]] && return 0; done
    return 1
}

# Transitive closure over #include lines, starting from SDK_ROOTS.
declare -A need=()
queue=("${SDK_ROOTS[@]}")
while ((${#queue[@]})); do
    rel=${queue[0]}
    queue=("${queue[@]:1}")
    [[ -n "${need[$rel]:-}" ]] && continue
    [[ -f "$tree/$rel" ]] || die "$rel not found in $orig"
    need[$rel]=1
    while read -r inc; do
        [[ -n "$inc" ]] || continue
        installed "$inc" && continue
        # Not installed: is it a DPDK header? (system headers are simply not in the tree)
        mapfile -t cand < <(cd "$tree" && find lib drivers -path "*/$inc" -type f | sort)
        ((${#cand[@]} == 0)) && continue
        ((${#cand[@]} > 1)) && die "ambiguous include <$inc> from $rel: ${cand[*]}"
        queue+=("${cand[0]}")
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' \
                 "$tree/$rel")
done

# Debian patches that touch any of these files: then unpack the whole package with
# dpkg-source (which applies them) instead of using the pristine upstream files.
patched=0
if [[ -n "$debtar" ]]; then
    tar -xf "$CACHE/$debtar" -C "$work" debian/patches 2>/dev/null || true
    if [[ -f "$work/debian/patches/series" ]]; then
        while read -r p _; do
            [[ -z "$p" || "$p" == \#* ]] && continue
            for rel in "${!need[@]}" "${PY_TOOLS[@]}"; do
                if grep -qE "^\+\+\+ [^/[:space:]]+/$rel([[:space:]]|$)" \
                        "$work/debian/patches/$p" 2>/dev/null; then
                    log "Debian patch $p changes $rel"
                    patched=1
                fi
            done
        done <"$work/debian/patches/series"
    fi
fi
if ((patched)); then
    command -v dpkg-source >/dev/null || die "dpkg-source missing (run buildtools/setup.sh)"
    log "unpacking the full source with Debian patches applied"
    rm -rf "$tree"
    dpkg-source --no-check -q -x "$DSC" "$tree" >"$aptlog" 2>&1 || {
        tail -n 30 "$aptlog" >&2; die "dpkg-source -x failed"; }
fi

# --- install into <build>/dpdk-sdk atomically ----------------------------------------
new="$SDK/.new"
rm -rf "$new"
mkdir -p "$new/include"
for rel in "${!need[@]}"; do
    install -m 0644 "$tree/$rel" "$new/include/$(basename "$rel")"
done
for rel in "${PY_TOOLS[@]}"; do install -m 0755 "$tree/$rel" "$new/"; done
tr -d '[:space:]' <"$tree/VERSION" >"$new/VERSION"
echo >>"$new/VERSION"

# Sanity check: the headers must compile against the installed DPDK.
printf '#include <ethdev_driver.h>\n#include <ethdev_vdev.h>\n#include <bus_vdev_driver.h>\n#include <bus_driver.h>\n#include <dev_driver.h>\n' >"$work/check.c"
# shellcheck disable=SC2046,SC2086 # CC and pkg-config output are word lists
if ! ${CC:-cc} -fsyntax-only -I"$new/include" $(pkg-config --cflags libdpdk) \
        -DALLOW_INTERNAL_API -DALLOW_EXPERIMENTAL_API "$work/check.c" >"$aptlog" 2>&1; then
    head -n 30 "$aptlog" >&2
    die "the fetched SDK headers do not compile against the installed DPDK"
fi

rm -rf "$SDK/include" "$SDK/VERSION" "${PY_TOOLS[@]/#buildtools/$SDK}"
mv "$new"/* "$SDK/"
rmdir "$new"
echo "$VER" >"$SDK/.stamp"
log "installed $(cd "$SDK/include" && echo *) + pmdinfo tools into $SDK (DPDK $(cat "$SDK/VERSION"))"
