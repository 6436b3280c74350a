#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 vmbchan authors
#
# Integration test of `vmb-inspect save` (app/inspect): a real save stream written by
# make_save_stream (21 pending packets: 18 in flight, 3 queued, one with GPA ranges; 2 owed
# completions; several chunks) is decoded in text and JSON (parsed by python3) and every field
# is checked against what the helper saved; then damaged copies (CRC, truncation, trailing
# bytes, missing, duplicated and foreign chunks, future major, not a stream, empty) must each
# exit 3 naming the error vmb_channel_restore() returns for it.
#
# usage: test_inspect_save.sh PATH/TO/vmb-inspect PATH/TO/make_save_stream
set -euo pipefail

VMB=${1:?usage: test_inspect_save.sh PATH/TO/vmb-inspect PATH/TO/make_save_stream}
MAKE=${2:?usage: test_inspect_save.sh PATH/TO/vmb-inspect PATH/TO/make_save_stream}
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
		head -c 6000 "$out" >&2
		echo "stderr:" >&2
		cat "$err" >&2
		fail "'$*' exited $rc, expected $want"
	fi
}

# expect_in FILE TEXT: FILE contains TEXT (fixed string).
expect_in() {
	grep -qF -- "$2" "$1" || { head -c 6000 "$1" >&2; fail "'$2' not found in $1"; }
}

# jcheck JSONFILE PYTHON-EXPRESSION...: every expression over the parsed object `d` is true;
# `recs` is the list of all records, `pk` the packet records, `cp` the completion records.
jcheck() {
	local file=$1
	shift
	"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
recs = [r for c in d["chunks"] for r in c.get("records", [])]
pk = [r["packet"] for r in recs if r["name"] == "packet"]
cp = [r["completion"] for r in recs if r["name"] == "completion"]
for expr in sys.argv[2:]:
    if not eval(expr):
        print("JSON check failed:", expr, file=sys.stderr)
        print(json.dumps(d, indent=1)[:6000], file=sys.stderr)
        sys.exit(1)
' "$file" "$@" || fail "JSON checks on $file"
}

# edit IN OUT PYTHON: OUT = IN after PYTHON ran on `b` (a bytearray of IN). `chunks(b)` gives
# (offset, length) of each chunk, `recrc(b, off)` re-seals the chunk at off (CRC32C).
edit() {
	"$PY" -c '
import struct, sys
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF
def chunks(b):
    out, off = [], 0
    while off + 32 <= len(b):
        n = 32 + struct.unpack_from("<I", b, off + 24)[0]
        out.append((off, n))
        off += n
    return out
def recrc(b, off):
    n = 32 + struct.unpack_from("<I", b, off + 24)[0]
    struct.pack_into("<I", b, off + 28, 0)
    struct.pack_into("<I", b, off + 28, crc32c(bytes(b[off:off + n])))
b = bytearray(open(sys.argv[1], "rb").read())
exec(sys.argv[3])
open(sys.argv[2], "wb").write(bytes(b))
' "$1" "$2" "$3"
}

OUT=$TMP/out
ERR=$TMP/err
J=$TMP/json
S=$TMP/stream.bin

# ---------------------------------------------------------------------------------------------
step "command line"
run_rc 2 "$OUT" "$ERR" "$VMB" save
run_rc 2 "$OUT" "$ERR" "$VMB" save "$TMP/x" --size 4096
expect_in "$ERR" "does not apply"
run_rc 1 "$OUT" "$ERR" "$VMB" save "$TMP/does-not-exist"
run_rc 0 "$OUT" "$ERR" "$VMB" --help
expect_in "$OUT" "save FILE [--json] [--hex]"

# ---------------------------------------------------------------------------------------------
step "a real stream: text"
run_rc 0 "$OUT" "$ERR" "$MAKE" "$S" 512
read -r _ nchunks _ npk _ nq _ nif _ ncp <"$OUT"
[ "$npk" -eq 21 ] && [ "$nq" -eq 3 ] && [ "$nif" -eq 18 ] && [ "$ncp" -eq 2 ] ||
	fail "helper summary: $(cat "$OUT")"
[ "$nchunks" -ge 3 ] || fail "expected several chunks of 512 bytes, got $nchunks"
run_rc 0 "$OUT" "$ERR" "$VMB" save "$S"
for s in "save stream $S: $(stat -c %s "$S") bytes" \
	"chunk 0 @0: seq 0 flags 0x1 (first) stream 0x" "format 1.0 payload" \
	"record 0 @32: channel critical len 72" \
	"role 1 (server) max_packet 4096 max_ext_data 65536 max_ext_chain 16 tx_capacity 32" \
	"if_type 766d622d-696e-7370-6563-742d73617665" \
	"if_instance 00010203-0405-0607-0809-0a0b0c0d0e0f" "packets 21 completions 2 read_cursor" \
	"queued xid 0x100000013 (gen 1 slot 18) send_flags 0x1 (wait-for-completion)" \
	"library part 232 bytes (v1, header 32): 0 range(s), 0 pfn(s), message 200 byte(s)" \
	"inline 200 byte(s): 12 00 00 00 53 53" "(+184 bytes)" "vsp 8 byte(s): 76 73 70 2d 12 00 00 00" \
	"range 0: byte_count 100 byte_offset 16 pfns 0x10" \
	"range 1: byte_count 5000 byte_offset 2048 pfns 0x20,0x21" \
	"in-flight xid 0x100000001 (gen 1 slot 0)" "completion critical len 20" \
	"payload 4 byte(s): 61 63 6b 21" "end critical len 8" "(last)" \
	"totals: $nchunks chunk(s), 21 packet(s) (3 queued, 18 in flight), 2 completion(s): stream ok"; do
	expect_in "$OUT" "$s"
done
[ "$(grep -c ' crc 0x[0-9a-f]* ok$' "$OUT")" -eq "$nchunks" ] || fail "not every CRC ok"
[ ! -s "$ERR" ] || fail "stderr not empty: $(cat "$ERR")"

# ---------------------------------------------------------------------------------------------
step "a real stream: JSON"
run_rc 0 "$J" "$ERR" "$VMB" save "$S" --json
jcheck "$J" \
	'd["status"] == "ok" and d["problem_count"] == 0 and d["problems"] == []' \
	"len(d['chunks']) == $nchunks and d['size'] == $(stat -c %s "$S")" \
	'all(c["crc_ok"] and c["major"] == 1 and c["minor"] == 0 for c in d["chunks"])' \
	'[c["seq"] for c in d["chunks"]] == list(range(len(d["chunks"])))' \
	'[c["first"] for c in d["chunks"]] == [True] + [False] * (len(d["chunks"]) - 1)' \
	'[c["last"] for c in d["chunks"]] == [False] * (len(d["chunks"]) - 1) + [True]' \
	'len({c["stream_id"] for c in d["chunks"]}) == 1' \
	'all(b["offset"] == a["offset"] + 32 + a["payload_len"] for a, b in zip(d["chunks"], d["chunks"][1:]))' \
	'd["chunks"][-1]["offset"] + 32 + d["chunks"][-1]["payload_len"] == d["size"]' \
	'all(c["offset"] + 32 + c["payload_len"] <= d["size"] and 32 + c["payload_len"] <= 512 for c in d["chunks"])' \
	'[r["name"] for r in recs].count("channel") == 1 and recs[0]["name"] == "channel"' \
	'recs[-1]["name"] == "end" and len(pk) == 21 and len(cp) == 2' \
	'all(r["critical"] and r["flags"] == 1 for r in recs)' \
	'd["totals"] == {"chunks": len(d["chunks"]), "packets": 21, "queued": 3, "inflight": 18, "completions": 2, "unknown": 0}'
jcheck "$J" \
	'recs[0]["channel"]["if_type"] == "766d622d-696e-7370-6563-742d73617665"' \
	'recs[0]["channel"]["if_instance"] == "00010203-0405-0607-0809-0a0b0c0d0e0f"' \
	'recs[0]["channel"]["role"] == 1 and recs[0]["channel"]["tx_capacity"] == 32' \
	'recs[0]["channel"]["packets"] == 21 and recs[0]["channel"]["completions"] == 2' \
	'recs[0]["channel"]["read_committed"] <= recs[0]["channel"]["read_cursor"] < 4096' \
	'recs[-1]["end"] == {"packets": 21, "completions": 2}' \
	'[p["state_name"] for p in pk] == ["queued"] * 3 + ["in-flight"] * 18' \
	'all(p["xid"] == (p["xid_gen"] << 32 | (p["xid_slot"] + 1)) and p["xid_gen"] == 1 for p in pk)' \
	'sorted(p["xid_slot"] for p in pk) == list(range(21))' \
	'[p["xid_slot"] for p in pk[3:]] == list(range(18))' \
	'all(p["wait_for_completion"] and p["send_flags"] == 1 and p["version"] == 1 and p["hdr_size"] == 32 for p in pk)' \
	'all(p["vsp_len"] == 8 and p["vsp_hex"] == "7673702d%02x000000" % p["xid_slot"] for p in pk)' \
	'[p["inline_len"] for p in pk] == [200, 200, 24] + [0] * 18' \
	'all(p["inline_hex"] == ("%02x000000" % p["xid_slot"]) + ("%02x" % (65 + p["xid_slot"] % 26)) * 12 for p in pk[:3])' \
	'all(p["inline_hex"] == "" and p["ranges"] == [] for p in pk[3:])' \
	'pk[2]["ext_count"] == 2 and pk[2]["pfn_count"] == 3' \
	'pk[2]["ranges"] == [{"byte_count": 100, "byte_offset": 16, "pfn_count": 1, "pfns": [16]}, {"byte_count": 5000, "byte_offset": 2048, "pfn_count": 2, "pfns": [32, 33]}]' \
	'pk[0]["lib_len"] == 32 + 200 and pk[2]["lib_len"] == 32 + 2 * 16 + 3 * 8 + 24' \
	'all(c["len"] == 4 and c["payload_len"] == 4 and c["payload_hex"] == "61636b21" for c in cp)' \
	'len({c["xid"] for c in cp}) == 2 and all(c["xid"] >> 32 == 1 for c in cp)'
# --hex: whole messages
run_rc 0 "$J" "$ERR" "$VMB" save "$S" --json --hex
jcheck "$J" 'all(len(p["inline_hex"]) == 2 * p["inline_len"] for p in pk)' \
	'pk[0]["inline_hex"].endswith("53" * 196)'

step "one chunk, first and last"
run_rc 0 "$OUT" "$ERR" "$MAKE" "$TMP/one.bin" 65536
run_rc 0 "$J" "$ERR" "$VMB" save "$TMP/one.bin" --json
jcheck "$J" 'd["status"] == "ok" and len(d["chunks"]) == 1 and d["chunks"][0]["flags"] == 3' \
	'd["totals"]["packets"] == 21 and d["totals"]["completions"] == 2'

# ---------------------------------------------------------------------------------------------
step "damaged copies exit 3 with the error restore returns"
# bad NAME ERROR CHUNK PYTHON: the edited copy must fail first with ERROR in chunk CHUNK.
bad() {
	local name=$1 err=$2 chunk=$3 code=$4 f="$TMP/$1.bin"
	edit "$S" "$f" "$code"
	run_rc 3 "$OUT" "$ERR" "$VMB" save "$f"
	expect_in "$ERR" "vmb-inspect: $f: malformed stream at offset"
	expect_in "$ERR" "(restore: -$err)"
	expect_in "$OUT" "(restore: -$err)"
	expect_in "$OUT" "stream MALFORMED"
	run_rc 3 "$J" "$ERR" "$VMB" save "$f" --json
	jcheck "$J" 'd["status"] == "malformed" and d["problem_count"] >= 1' \
		"d['problems'][0]['error'] == '$err' and d['problems'][0]['chunk'] == $chunk" \
		'all(p["offset"] <= d["size"] for p in d["problems"])'
}
bad crc EBADMSG 1 'o, n = chunks(b)[1]; b[o + n - 1] ^= 0x55'
jcheck "$J" 'd["chunks"][1]["crc_ok"] is False' 'all(c["crc_ok"] for i, c in enumerate(d["chunks"]) if i != 1)'
bad truncated EMSGSIZE "$((nchunks - 1))" 'del b[-10:]'
bad trailing EMSGSIZE "$nchunks" 'b += b"\x00" * 5'
bad missing-first EILSEQ 0 'o, n = chunks(b)[0]; del b[:n]'
bad duplicated EILSEQ 2 'o, n = chunks(b)[1]; b[o + n:o + n] = b[o:o + n]'
bad foreign EXDEV 2 'o, n = chunks(b)[2]; b[o + 8] ^= 1; recrc(b, o)'
bad future-major ENOTSUP 0 'struct.pack_into("<H", b, 4, 2); recrc(b, 0)'
# (the packet record after the 80-byte channel record becomes an unknown critical one)
bad unknown-critical ENOTSUP 0 'struct.pack_into("<H", b, 32 + 80, 99); recrc(b, 0)'
bad record-overrun EPROTO 0 'struct.pack_into("<I", b, 36, 5000); recrc(b, 0)'
bad totals EPROTO "$((nchunks - 1))" 'o, n = chunks(b)[-1]; b[o + n - 8] ^= 1; recrc(b, o)'
bad not-a-stream EPROTO 0 'b[:] = bytes(range(256)) * 4'
expect_in "$OUT" "not a save chunk: magic"
bad empty EMSGSIZE None 'b[:] = b""'
bad no-last-chunk EINPROGRESS None 'o, n = chunks(b)[-1]; del b[o:]'

echo "PASS"
