#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vmb-host servicing from the command line: start it, hand it over three times with SIGUSR1,
# check that each successor took over and that the socket accepts connections throughout;
# bad arguments are refused with a usage message.
set -euo pipefail
exe=$1
dir=$(mktemp -d)
sock="$dir/h.sock"
log="$dir/log"
trap 'pkill -TERM -f "vmb-host --socket $sock" 2>/dev/null || true; rm -rf "$dir"' EXIT

"$exe" --help >/dev/null
if "$exe" --channels 2 2>/dev/null; then echo "FAIL: missing --socket accepted"; exit 1; fi
if "$exe" --socket "$sock" --channels 0 2>/dev/null; then echo "FAIL: 0 channels accepted"; exit 1; fi

"$exe" --socket "$sock" --channels 2 >"$log" 2>&1 &
connectable() {
    /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$sock"
}
for _ in $(seq 50); do [[ -S "$sock" ]] && break; sleep 0.1; done
connectable
for k in 1 2 3; do
    pid=$(pgrep -f "vmb-host --socket $sock" | head -1)
    kill -USR1 "$pid"
    for _ in $(seq 50); do
        [[ $(grep -c 'took over' "$log") -ge $k ]] && break
        sleep 0.1
    done
    [[ $(grep -c 'took over' "$log") -ge $k ]] || { echo "FAIL: hand-over $k"; cat "$log"; exit 1; }
    connectable
done
[[ $(grep -c 'handed over to pid' "$log") -eq 3 ]] || { echo "FAIL: hand-over reports"; cat "$log"; exit 1; }
pkill -TERM -f "vmb-host --socket $sock"
echo "vmb-host: 3 hand-overs by SIGUSR1, socket served throughout"
