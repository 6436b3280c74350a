#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Servicing benchmark: a chain of host processes hands the VMBus host over to its successor
# under continuous traffic from two guest processes, with 1, 8 and 64 channels per guest.
# Prints, per configuration, the control-plane blackout of a hand-over (old host starts
# pausing -> successor has every channel running), the longest gap between two completions a
# guest saw, and the time to open a channel.
#
#   bash bench/servicing.sh [build-dir] [hand-overs]      (defaults: build, 20)
set -euo pipefail
BUILD=${1:-build}
N=${2:-20}
exe="$BUILD/test/multiproc/test_servicing"
[[ -x "$exe" ]] || { echo "build first: $exe not found" >&2; exit 1; }
printf '%-10s %-12s %s\n' channels open-ms result
for ch in 1 8 64; do
    out=$("$exe" "$N" "$ch")
    open=$(grep -m1 'opening a channel' <<<"$out" | sed -E 's/.* ([0-9.]+) ms.*/\1/')
    printf '%-10s %-12s %s\n' "$((2 * ch))" "$open" "$(grep 'hand-overs' <<<"$out" | sed 's/.*channel(s) per guest; //')"
done
