#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Two processes: Debian's dpdk-testpmd as the host (role=host, rxonly) in one, as the guest
# (role=guest, txonly) in the other, over the VMBus control plane on a UNIX socket. The guest
# sends for a few seconds and stops; every frame it counted as sent must have arrived at the
# host.
#
#   test_testpmd_socket.sh <dpdk-testpmd> <librte_net_vmb.so>
set -euo pipefail
TESTPMD=$1 PLUGIN=$2
d=$(mktemp -d)
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    [[ -n ${KEEP:-} ]] || rm -rf "$d"
    rm -rf "${XDG_RUNTIME_DIR:-/var/run}/dpdk/vmbh$$" "${XDG_RUNTIME_DIR:-/var/run}/dpdk/vmbg$$"
}
pids=()
trap cleanup EXIT
mkfifo "$d/h.in" "$d/g.in"
exec 7<>"$d/h.in" 8<>"$d/g.in"
eal=(--no-huge -m 512 --no-pci -d "$PLUGIN" --log-level=pmd.net.vmb:info)

timeout 120 "$TESTPMD" -l 0,1 --file-prefix "vmbh$$" "${eal[@]}" \
    --vdev "net_vmb0,role=host,socket=$d/vmb.sock" -- -i --total-num-mbufs=65536 --forward-mode=rxonly \
    <"$d/h.in" >"$d/h.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -S $d/vmb.sock ]] && break; sleep 0.1; done
[[ -S $d/vmb.sock ]] || { cat "$d/h.out"; echo "FAIL: host socket never appeared"; exit 1; }
echo "start" >&7
timeout 120 "$TESTPMD" -l 0,1 --file-prefix "vmbg$$" "${eal[@]}" \
    --vdev "net_vmb0,role=guest,socket=$d/vmb.sock" -- -i --total-num-mbufs=65536 --forward-mode=txonly \
    <"$d/g.in" >"$d/g.out" 2>&1 &
pids+=($!)
sleep 3
echo "start" >&8
sleep "${VMB_TEST_SECONDS:-3}"
echo "stop" >&8
sleep 1
echo "show port stats all" >&8
echo "stop" >&7
sleep 0.5
echo "show port stats all" >&7
sleep 0.5
echo "quit" >&8
sleep 1
echo "quit" >&7
wait "${pids[@]}" || true
pids=()
echo "--- host"; cat "$d/h.out"; echo "--- guest"; cat "$d/g.out"

/usr/bin/python3 - "$d/h.out" "$d/g.out" <<'PY'
import re, sys
def stats(path):
    t = re.sub(r"testpmd> [^\n]*\n", "", open(path).read())
    m = re.findall(r"RX-packets:\s+(\d+).*?RX-errors:\s+(\d+).*?TX-packets:\s+(\d+)\s+TX-errors:\s+(\d+)", t, re.S)
    if not m:
        print("FAIL: no statistics in", path); sys.exit(1)
    rx, rxe, tx, txe = map(int, m[-1])
    return rx, rxe, tx, txe
hrx, hrxe, _, _ = stats(sys.argv[1])
_, _, gtx, gtxe = stats(sys.argv[2])
print(f"guest sent {gtx}, host received {hrx}")
if gtx < 1000:
    print("FAIL: too little traffic"); sys.exit(1)
if hrx != gtx or hrxe or gtxe:
    print("FAIL: frames lost or errors"); sys.exit(1)
print("PASS")
PY
