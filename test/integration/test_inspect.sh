#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 vmbchan authors
#
# Integration test of vmb-inspect (app/inspect): formats rings in scratch files (and a memfd),
# writes packets of every type, checks what `show` reports (JSON parsed by python3), fills a ring
# until the writer reports full, checks the signalling decision, and corrupts control words and
# descriptors to check that `show` exits 3 with a precise message.
#
# usage: test_inspect.sh PATH/TO/vmb-inspect
set -euo pipefail

VMB=${1:?usage: test_inspect.sh PATH/TO/vmb-inspect}
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

step() {
	echo "--- $*"
}

# run_rc EXPECTED_RC OUTFILE ERRFILE CMD...: run CMD, keep stdout/stderr, check the exit code.
run_rc() {
	local want=$1 out=$2 err=$3 rc=0
	shift 3
	"$@" >"$out" 2>"$err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "stdout:" >&2
		cat "$out" >&2
		echo "stderr:" >&2
		cat "$err" >&2
		fail "'$*' exited $rc, expected $want"
	fi
}

# expect_in FILE TEXT: FILE contains TEXT (fixed string).
expect_in() {
	grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "'$2' not found in $1"; }
}

# jcheck JSONFILE PYTHON-EXPRESSION...: every expression over the parsed object `d` is true.
jcheck() {
	local file=$1
	shift
	"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for expr in sys.argv[2:]:
    if not eval(expr):
        print("JSON check failed:", expr, file=sys.stderr)
        print(json.dumps(d, indent=1)[:4000], file=sys.stderr)
        sys.exit(1)
' "$file" "$@" || fail "JSON checks on $file"
}

# put_le FILE OFFSET VALUE NBYTES: store a little-endian integer with printf and dd.
put_le() {
	local file=$1 off=$2 val=$3 n=$4 esc="" i
	for ((i = 0; i < n; i++)); do
		esc+=$(printf '\\x%02x' $(((val >> (8 * i)) & 255)))
	done
	# shellcheck disable=SC2059
	printf "$esc" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

OUT=$TMP/out
ERR=$TMP/err
J=$TMP/json

# ---------------------------------------------------------------------------------------------
step "command line"
run_rc 0 "$OUT" "$ERR" "$VMB" --help
expect_in "$OUT" "usage:"
run_rc 2 "$OUT" "$ERR" "$VMB"
run_rc 2 "$OUT" "$ERR" "$VMB" frobnicate "$TMP/x"
run_rc 2 "$OUT" "$ERR" "$VMB" show "$TMP/x" --no-such-option
run_rc 2 "$OUT" "$ERR" "$VMB" format "$TMP/x" --size 5000
expect_in "$ERR" "not a multiple of 4096"
run_rc 2 "$OUT" "$ERR" "$VMB" format "$TMP/x" --hex
run_rc 1 "$OUT" "$ERR" "$VMB" show "$TMP/does-not-exist"

# ---------------------------------------------------------------------------------------------
step "format and write packets of each type"
R=$TMP/ring.bin
run_rc 0 "$OUT" "$ERR" "$VMB" format "$R" --size 8192
[ "$(stat -c %s "$R")" -eq $((4096 + 8192)) ] || fail "formatted file size"
run_rc 2 "$OUT" "$ERR" "$VMB" write "$R" --type gpa --payload-text x
expect_in "$ERR" "needs at least one --gpa"
run_rc 2 "$OUT" "$ERR" "$VMB" write "$R" --type gpa --gpa 8192:0:1
expect_in "$ERR" "span 2 page(s)"
run_rc 2 "$OUT" "$ERR" "$VMB" write "$R" --type completion --rc
run_rc 2 "$OUT" "$ERR" "$VMB" write "$R" --type inband --payload zz

run_rc 0 "$OUT" "$ERR" "$VMB" write "$R" --type inband --xid 100 --rc --count 3 --payload-text hello
expect_in "$OUT" "wrote inband at offset 0"
expect_in "$OUT" "signal: no"
run_rc 0 "$OUT" "$ERR" "$VMB" write "$R" --type completion --xid 100 --count 2 --payload 0xdeadbeef01
run_rc 0 "$OUT" "$ERR" "$VMB" write "$R" --type gpa --xid 200 --rc --count 2 \
	--gpa 100:4000:5,6 --gpa 8192:0:0x10,0x11 --payload 01:02:03
run_rc 0 "$OUT" "$ERR" "$VMB" write "$R" --type xfer --xid 300 --count 2 --set-id 0xcafe \
	--xfer 1514:0 --xfer 60:6144 --payload-text rndis
run_rc 0 "$OUT" "$ERR" "$VMB" write "$R" --type xfer --xid 400

# ---------------------------------------------------------------------------------------------
step "show reports every packet with its fields (read-only)"
sum_before=$(sha256sum <"$R")
run_rc 0 "$J" "$ERR" "$VMB" show "$R" --json --hex
[ "$(sha256sum <"$R")" = "$sum_before" ] || fail "show modified the ring file"
jcheck "$J" \
	'd["status"] == "ok" and d["packet_count"] == 10 and len(d["packets"]) == 10' \
	'd["size"] == 8192 and d["control"]["read_index"] == 0' \
	'd["control"]["interrupt_mask"] == 1 and d["control"]["feature_bits"] & 1' \
	'd["used"] == d["control"]["write_index"] and d["free"] == 8192 - d["used"]' \
	'[p["type_name"] for p in d["packets"]] == ["inband"]*3 + ["completion"]*2 + ["gpa-direct"]*2 + ["xfer-pages"]*3' \
	'[p["xid"] for p in d["packets"]] == [100, 101, 102, 100, 101, 200, 201, 300, 301, 400]' \
	'all(p["valid"] and p["trailer_ok"] and not p["wrapped"] for p in d["packets"])' \
	'all(p["offset"] % 8 == 0 and 2 <= p["offset8"] <= p["len8"] for p in d["packets"])' \
	'all(b["offset"] == a["offset"] + a["len8"] * 8 + 8 for a, b in zip(d["packets"], d["packets"][1:]))'
jcheck "$J" \
	'all(p["flags"] == 1 and p["payload_len"] == 8 and p["payload_hex"] == "68656c6c6f000000" for p in d["packets"][0:3])' \
	'all(p["type"] == 11 and p["flags"] == 0 and p["payload_hex"] == "deadbeef01000000" for p in d["packets"][3:5])' \
	'all(p["type"] == 9 and p["flags"] == 1 and p["payload_hex"] == "0102030000000000" for p in d["packets"][5:7])' \
	'd["packets"][5]["ranges"] == [{"byte_count": 100, "byte_offset": 4000, "pfns": [5, 6]}, {"byte_count": 8192, "byte_offset": 0, "pfns": [16, 17]}]' \
	'd["packets"][5]["offset8"] == (24 + 8 + 16 + 8 + 16) // 8' \
	'all(p["type"] == 7 and p["set_id"] == 0xcafe and p["payload_len"] == 8 for p in d["packets"][7:9])' \
	'd["packets"][7]["ranges"] == [{"byte_count": 1514, "byte_offset": 0}, {"byte_count": 60, "byte_offset": 6144}]' \
	'd["packets"][9]["ranges"] == [] and d["packets"][9]["payload_len"] == 0 and d["packets"][9]["set_id"] == 0'

run_rc 0 "$OUT" "$ERR" "$VMB" show "$R" --hex
for s in "write_index" "read_index         0" "interrupt_mask     1" "pending_send_size  0" \
	"feature_bits       0x1" "#0 @0 inband offset8 2 len8 3 flags 0x1 (rc) xid 100" \
	"completion" "gpa-direct" "xfer-pages" "byte_count 100 byte_offset 4000 pfns 0x5,0x6" \
	"set_id 51966 (0xcafe)" "|hello...|" "10 packet(s), ring ok"; do
	expect_in "$OUT" "$s"
done

run_rc 0 "$J" "$ERR" "$VMB" show "$R" --json --max 2
jcheck "$J" 'd["packet_count"] == 10 and d["shown"] == 2 and len(d["packets"]) == 2'
run_rc 0 "$J" "$ERR" "$VMB" show "$R" --json --guest-pages 0x12
run_rc 3 "$J" "$ERR" "$VMB" show "$R" --json --guest-pages 0x11
jcheck "$J" 'd["status"] == "corrupt" and d["corrupt"]["offset"] == d["packets"][5]["offset"]' \
	'"outside guest memory" in d["corrupt"]["reason"]'

# ---------------------------------------------------------------------------------------------
step "packets that wrap around the end of the data area (split spans, bounce buffer)"
W=$TMP/wrap.bin
run_rc 0 "$OUT" "$ERR" "$VMB" format "$W" --size 4096
# 17 packets of 16 + 224 + 8 = 248 bytes end at 4216 > 4096: the 17th wraps.
PAY=$("$PY" -c 'print(bytes(range(1, 225)).hex())')
run_rc 0 "$OUT" "$ERR" "$VMB" write "$W" --type inband --xid 1 --count 16 --payload "$PAY"
# Play the reader: consume everything (read_index = write_index), then write across the end.
run_rc 0 "$J" "$ERR" "$VMB" show "$W" --json
wi=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["control"]["write_index"])' "$J")
[ "$wi" -eq $((16 * 248)) ] || fail "write_index $wi after 16 packets"
put_le "$W" 4 "$wi" 4
run_rc 0 "$OUT" "$ERR" "$VMB" write "$W" --type inband --xid 17 --count 3 --payload "$PAY"
expect_in "$OUT" "[wraps]"
run_rc 0 "$OUT" "$ERR" "$VMB" write "$W" --type gpa --xid 20 --gpa 4096:8:1,2 --payload "$PAY"
run_rc 0 "$J" "$ERR" "$VMB" show "$W" --json --hex
jcheck "$J" 'd["status"] == "ok" and d["packet_count"] == 4' \
	'[p["wrapped"] for p in d["packets"]] == [True, False, False, False]' \
	'd["packets"][0]["offset"] == 3968 and d["packets"][1]["offset"] == 120' \
	"all(p['payload_hex'].startswith('$PAY') and p['trailer_ok'] for p in d['packets'])" \
	'd["packets"][3]["ranges"] == [{"byte_count": 4096, "byte_offset": 8, "pfns": [1, 2]}]'

# ---------------------------------------------------------------------------------------------
step "fill the ring until the writer reports full"
F=$TMP/full.bin
run_rc 0 "$OUT" "$ERR" "$VMB" format "$F" --size 4096
# Bare descriptors: 16 + 8 bytes each; a write needs free > 24, so 170 fit (free 16 left).
run_rc 1 "$OUT" "$ERR" "$VMB" write "$F" --type inband --count 1000
expect_in "$ERR" "ring full: wrote 170 of 1000 packet(s)"
expect_in "$OUT" "commit: write_index 0 -> 4080"
run_rc 1 "$OUT" "$ERR" "$VMB" write "$F" --type inband
expect_in "$ERR" "ring full: wrote 0 of 1 packet(s)"
run_rc 0 "$J" "$ERR" "$VMB" show "$F" --json
jcheck "$J" 'd["packet_count"] == 170 and d["used"] == 4080 and d["free"] == 16'
run_rc 1 "$OUT" "$ERR" "$VMB" write "$R" --type inband --payload "$("$PY" -c 'print("00" * 8200)')"
expect_in "$ERR" "packet too large"

# ---------------------------------------------------------------------------------------------
step "signalling decision"
S=$TMP/signal.bin
run_rc 0 "$OUT" "$ERR" "$VMB" format "$S" --size 4096
put_le "$S" 8 0 4 # interrupt_mask = 0: the reader sleeps and wants a signal
run_rc 0 "$OUT" "$ERR" "$VMB" write "$S" --type inband --count 2
expect_in "$OUT" "signal: yes"
run_rc 0 "$OUT" "$ERR" "$VMB" write "$S" --type inband # not empty before: no signal
expect_in "$OUT" "signal: no"

# ---------------------------------------------------------------------------------------------
step "ring at an offset inside a larger file, and in a memfd"
O=$TMP/offset.bin
head -c 4104 /dev/urandom >"$O"
cat "$R" >>"$O"
run_rc 0 "$J" "$ERR" "$VMB" show "$O" --offset 4104 --json
jcheck "$J" 'd["packet_count"] == 10 and d["size"] == 8192 and d["offset"] == 4104'
run_rc 0 "$OUT" "$ERR" "$VMB" write "$O" --offset 4104 --size 8192 --type completion --xid 9
run_rc 0 "$J" "$ERR" "$VMB" show "$O" --offset 4104 --json
jcheck "$J" 'd["packet_count"] == 11 and d["packets"][-1]["type_name"] == "completion"'
run_rc 2 "$OUT" "$ERR" "$VMB" show "$O" --offset 4100

"$PY" - "$VMB" <<'EOF' || fail "memfd round trip"
import json, os, subprocess, sys
vmb = sys.argv[1]
fd = os.memfd_create("vmb-inspect-test")
path = "/proc/%d/fd/%d" % (os.getpid(), fd)
run = lambda *a: subprocess.run([vmb, *a], check=True, capture_output=True, text=True).stdout
run("format", path, "--size", "8192")
run("write", path, "--type", "inband", "--xid", "5", "--payload-text", "memfd")
d = json.loads(run("show", path, "--json", "--hex"))
assert d["size"] == 8192 and d["packet_count"] == 1, d
assert d["packets"][0]["payload_hex"] == b"memfd\0\0\0".hex(), d
EOF

# ---------------------------------------------------------------------------------------------
step "corruption is reported precisely (exit 3)"
C=$TMP/corrupt.bin
fresh() {
	cp "$R" "$C"
}

fresh
put_le "$C" 0 101 4 # write_index unaligned
run_rc 3 "$OUT" "$ERR" "$VMB" show "$C"
expect_in "$ERR" "corrupt at control offset 0: write_index 101 is not 8-byte aligned"
expect_in "$OUT" "ring CORRUPT"
run_rc 3 "$J" "$ERR" "$VMB" show "$C" --json
jcheck "$J" 'd["status"] == "corrupt" and d["corrupt"]["where"] == "control"' \
	'd["corrupt"]["offset"] == 0 and "101" in d["corrupt"]["reason"] and d["used"] is None'
run_rc 3 "$OUT" "$ERR" "$VMB" write "$C" --type inband
expect_in "$ERR" "write_index 101 is not 8-byte aligned"

fresh
put_le "$C" 4 9000 4 # read_index outside the data area
run_rc 3 "$OUT" "$ERR" "$VMB" show "$C"
expect_in "$ERR" "corrupt at control offset 4: read_index 9000 is outside the data area (8192 bytes)"

fresh
put_le "$C" $((4096 + 32 + 2)) 1 2 # offset8 of packet #1 = 1
run_rc 3 "$J" "$ERR" "$VMB" show "$C" --json
expect_in "$ERR" "corrupt at offset 32: offset8 1 is below the minimum 2"
jcheck "$J" 'd["packet_count"] == 1 and d["corrupt"]["where"] == "ring" and d["corrupt"]["offset"] == 32'

fresh
put_le "$C" $((4096 + 64 + 4)) 2000 2 # len8 of packet #2 runs past write_index
run_rc 3 "$OUT" "$ERR" "$VMB" show "$C"
expect_in "$ERR" "corrupt at offset 64: len8 2000"
expect_in "$ERR" "runs past write_index"

fresh
put_le "$C" $((4096 + 96)) 5 2 # legacy packet type 0x5
run_rc 3 "$OUT" "$ERR" "$VMB" show "$C"
expect_in "$ERR" "corrupt at offset 96: packet type not allowed (type 0x5)"
expect_in "$OUT" "@96 unknown 0x5"

fresh
put_le "$C" $((4096 + 6)) 4 2 # unknown flag bit
run_rc 3 "$OUT" "$ERR" "$VMB" show "$C"
expect_in "$ERR" "corrupt at offset 0: unknown packet flags (flags 0x4)"

fresh
put_le "$C" 0 24 4 # write_index cuts off the trailer of packet #0
run_rc 3 "$OUT" "$ERR" "$VMB" show "$C"
expect_in "$ERR" "corrupt at offset 0: len8 3 (24 bytes + 8-byte trailer) runs past write_index 24"

# ---------------------------------------------------------------------------------------------
step "random damage never crashes show (exit 0 or 3, one JSON object)"
"$PY" - "$VMB" "$R" "$W" "$C" <<'EOF' || fail "random damage"
import json, random, shutil, subprocess, sys
vmb, rings, victim = sys.argv[1], sys.argv[2:4], sys.argv[4]
rng = random.Random(1234)
for i in range(300):
    src = rng.choice(rings)
    shutil.copyfile(src, victim)
    with open(victim, "r+b") as f:
        size = f.seek(0, 2)
        for _ in range(rng.randint(1, 4)):
            # mostly the control words and the first packets, sometimes anywhere
            pos = rng.choice([rng.randrange(0, 16), rng.randrange(4096, 4096 + 512),
                              rng.randrange(0, size)])
            f.seek(pos)
            f.write(bytes([rng.randrange(256)]))
    p = subprocess.run([vmb, "show", victim, "--json", "--hex"], capture_output=True, text=True)
    if p.returncode not in (0, 3):
        sys.exit("iteration %d: exit %d\n%s" % (i, p.returncode, p.stderr))
    d = json.loads(p.stdout)
    assert (d["status"] == "corrupt") == (p.returncode == 3), d
    if p.returncode == 3:
        assert "corrupt at " in p.stderr and d["corrupt"]["reason"], p.stderr
EOF

echo "PASS"
