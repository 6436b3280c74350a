#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Debian's dpdk-testpmd loads librte_net_vmb.so with -d and forwards between a host port and a
# guest port of one in-process pair. The traffic is seeded with `start tx_first`: in io/mac/
# macswap modes each port's seeded packets then circulate forever (host RX -> guest TX -> host
# RX, and guest RX -> host TX -> guest RX), so a run that loses nothing keeps every packet:
# at the end, each direction's TX count minus the peer's RX count is what is still in flight,
# between 0 and the number seeded, and testpmd counts no TX drop.
#
#   test_testpmd_pair.sh <dpdk-testpmd> <librte_net_vmb.so> <io|mac|macswap|io-4q|rxonly|jumbo>
set -euo pipefail
TESTPMD=$1 PLUGIN=$2 MODE=$3
SECONDS_RUN=${VMB_TEST_SECONDS:-3}
out=$(mktemp)
trap 'rm -rf "$out" "${XDG_RUNTIME_DIR:-/var/run}/dpdk/vmbt$$"' EXIT

queues=1 fwd=$MODE extra=() seed=tx_first txpkts=64 bursts=1
case "$MODE" in
io-4q) queues=4 fwd=io ;;
rxonly) fwd=rxonly ;;
jumbo) fwd=io txpkts=2048,2048,2048,2048,808 extra=(--max-pkt-len=9018) ;;
esac
vdev_args="pair=p$$,queues=$queues"
[[ $MODE == jumbo ]] && vdev_args+=",mtu=9000"

cmds() {
    sleep 1
    echo "set txpkts $txpkts"
    if [[ $MODE == rxonly ]]; then
        # Each port sends exactly 20 bursts of 32 and then only receives.
        echo "start tx_first 20"
    else
        echo "start tx_first $bursts"
    fi
    sleep "$SECONDS_RUN"
    echo "stop"
    sleep 0.5
    echo "show port stats all"
    sleep 0.3
    echo "show port xstats 0"
    sleep 0.3
    echo "show port info 1"
    sleep 0.3
    echo "quit"
}

cmds | timeout 120 "$TESTPMD" -l 0,1 --no-huge -m 1024 --no-pci \
    --file-prefix "vmbt$$" -d "$PLUGIN" \
    --vdev "net_vmb0,role=host,$vdev_args" --vdev "net_vmb1,role=guest,$vdev_args" \
    --log-level=pmd.net.vmb:info -- -i --rxq=$queues --txq=$queues --nb-cores=1 \
    --forward-mode=$fwd "${extra[@]}" >"$out" 2>&1 || true
cat "$out"

/usr/bin/python3 - "$out" "$MODE" "$queues" "$txpkts" <<'PY'
import re, sys
# testpmd echoes commands with write() while its stats sit in stdio buffers: drop the
# echoes so that interleaved lines join again
text = re.sub(r"testpmd> [^\n]*\n", "", open(sys.argv[1]).read())
mode, queues = sys.argv[2], int(sys.argv[3])
txpkts = sum(int(x) for x in sys.argv[4].split(","))
def fail(msg):
    print("FAIL:", msg); sys.exit(1)
if "net_vmb" not in text:
    fail("driver not loaded")
stats = {}
for m in re.finditer(r"NIC statistics for port (\d+).*?RX-packets:\s+(\d+)\s+RX-missed:\s+(\d+)\s+RX-bytes:\s+(\d+).*?RX-errors:\s+(\d+).*?TX-packets:\s+(\d+)\s+TX-errors:\s+(\d+)\s+TX-bytes:\s+(\d+)", text, re.S):
    p = int(m.group(1))
    stats[p] = dict(rx=int(m.group(2)), rx_missed=int(m.group(3)), rx_bytes=int(m.group(4)),
                    rx_err=int(m.group(5)), tx=int(m.group(6)), tx_err=int(m.group(7)),
                    tx_bytes=int(m.group(8)))
if 0 not in stats or 1 not in stats:
    fail("no port statistics")
h, g = stats[0], stats[1]
print("host:", h); print("guest:", g)
for s in (h, g):
    if s["rx_err"] or s["tx_err"]:
        fail("errors counted")
drops = [int(x) for x in re.findall(r"TX-dropped:\s+(\d+)", text)]
if mode == "rxonly":
    # exactly the 20 seeded bursts each way, all arrived
    for name, tx, rx in (("guest->host", g["tx"], h["rx"]), ("host->guest", h["tx"], g["rx"])):
        if tx != 640 or rx != 640:
            fail(f"{name}: {tx} sent, {rx} received (expected 640 both)")
    print("PASS"); sys.exit(0)
seeded = 32 * queues
if h["rx"] < 10000 or g["rx"] < 10000:
    fail("too little traffic")
for name, tx, rx in (("guest->host", g["tx"], h["rx"]), ("host->guest", h["tx"], g["rx"])):
    inflight = tx - rx
    if not 0 <= inflight <= seeded:
        fail(f"{name}: {tx} sent, {rx} received: {inflight} not accounted for")
if any(drops):
    fail(f"testpmd counted TX drops {drops}")
if txpkts > 2000:
    # every frame arrived whole
    if h["rx_bytes"] != h["rx"] * txpkts or g["rx_bytes"] != g["rx"] * txpkts:
        fail("jumbo frames arrived with the wrong length")
print("PASS")
PY
