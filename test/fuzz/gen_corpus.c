/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Seed corpus generator for the fuzz targets: gen_corpus OUTDIR writes
 *   OUTDIR/restore/  real save streams (a host/guest vmb_pair in this process: 0, 1, several
 *                    pending packets, in flight and queued, inline bytes, GPA ranges, owed
 *                    completions, several chunk sizes) and a few edited ones (unknown records,
 *                    a longer library header, a future minor, refused streams of each class)
 *   OUTDIR/ring/     valid rings written by the library's writer, with reader/writer scripts
 *   OUTDIR/packet/   packets of every type as the library encodes them
 *   OUTDIR/channel/  guest scripts for fuzz_channel (formats in each target's file comment)
 *   OUTDIR/bus/      control-plane sessions of a guest for fuzz_bus: a whole valid one, and
 *                    bad frames, descriptors, orders and GPADLs
 *   OUTDIR/netvsp/   NVSP/RNDIS sessions of a netvsc guest for fuzz_netvsp: DPDK's and a
 *                    Linux-like one, version sweeps, malformed and out-of-order messages,
 *                    PACKET messages, OID values, owner failures
 * The checked-in corpus (test/fuzz/corpus/) is this program's output; streams carry random
 * stream ids, so regenerated files differ from the checked-in ones in those bytes only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_vmbus_reg.h>

#include <vmb/vmb_bus.h>
#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_packet.h>
#include <vmb/vmb_pair.h>
#include <vmb/vmb_ring.h>
#include <vmb/vmb_save.h>
#include <vmb/vmb_save_format.h>

#include "fuzz_vsp.h"
#include "vmb_netvsp.h"

static const char *outdir;

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "gen_corpus: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

#define CHECK(c)                                                                                \
	do {                                                                                    \
		if (!(c))                                                                       \
			die("%s:%d: %s", __FILE__, __LINE__, #c);                               \
	} while (0)

static void
write_file(const char *sub, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die("%s: cannot write", path);
}

/* ---- a growable byte buffer ---- */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void
put(struct buf *b, const void *src, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		CHECK(b->p != NULL);
	}
	if (n)
		memcpy(b->p + b->n, src, n);
	b->n += n;
}

static void put8(struct buf *b, uint8_t v) { put(b, &v, 1); }
static void put16(struct buf *b, uint16_t v) { put(b, &v, 2); }
static void put32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put64(struct buf *b, uint64_t v) { put(b, &v, 8); }

static void
zero(struct buf *b, size_t n)
{
	static const uint8_t z[64];
	while (n) {
		size_t k = n < sizeof(z) ? n : sizeof(z);
		put(b, z, k);
		n -= k;
	}
}

/* =========================================================================================== */
/* restore: real streams                                                                       */
/* =========================================================================================== */

struct gen {
	struct vmb_guest_mem mem;
	struct vmb_pair *pair;
	struct vmb_channel *host, *guest;
	struct vmb_rx *held[4096];
	uint32_t nheld;
	uint32_t seq;
	bool host_completes; /* host completes guest requests inline */
};

static struct gen G;

static void
gen_guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
		  uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	CHECK(G.nheld < 4096);
	G.held[G.nheld++] = rx; /* in flight on the host until the guest completes */
}

static void
gen_host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
		 uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)flags;
	vmb_rx_complete(rx, "host-ack-payload", len < 16 ? 16 : 8);
}

static void
gen_up(uint32_t guest_in_pages, const struct vmb_guid *if_type, bool open)
{
	memset(&G, 0, sizeof(G));
	CHECK(vmb_mem_create(&G.mem, 4 << 20, VMB_MEM_MEMFD) == 0);
	CHECK(vmb_pair_create(&G.mem, false, &G.pair) == 0);
	CHECK(fz_vsp_new_server(gen_host_process, &G.host) == 0);
	if (if_type) {
		/* another interface: a stream the corpus channel must refuse as foreign */
		vmb_channel_cleanup(G.host);
		CHECK(vmb_channel_alloc(true, &G.host) == 0);
		CHECK(vmb_channel_init_set_capacity(G.host, FZ_RX_CAPACITY, FZ_TX_CAPACITY) == 0);
		CHECK(vmb_channel_init_set_process_packet(G.host, gen_host_process, NULL) == 0);
		CHECK(vmb_channel_init_set_interface(G.host, if_type, &fz_if_instance) == 0);
		CHECK(vmb_channel_init_set_save_restore(G.host, fz_vsp_save, fz_vsp_restore) == 0);
	}
	CHECK(vmb_channel_alloc(false, &G.guest) == 0);
	CHECK(vmb_channel_init_set_process_packet(G.guest, gen_guest_process, NULL) == 0);
	CHECK(vmb_channel_init_set_ring_pages(G.guest, guest_in_pages, 4) == 0);
	CHECK(vmb_pair_attach(G.pair, G.host, G.guest) == 0);
	CHECK(vmb_channel_enable(G.host) == 0);
	CHECK(vmb_channel_start(G.host) == 0);
	if (open) {
		CHECK(vmb_channel_enable(G.guest) == 0);
		CHECK(vmb_pair_is_open(G.pair));
	}
}

static void
gen_down(void)
{
	uint32_t i;

	for (i = 0; i < G.nheld; i++)
		vmb_rx_complete(G.held[i], NULL, 0);
	if (vmb_channel_state(G.guest) != VMB_CHANNEL_DISABLED)
		vmb_channel_disable(G.guest);
	if (vmb_channel_state(G.host) != VMB_CHANNEL_DISABLED)
		vmb_channel_disable(G.host);
	CHECK(vmb_channel_cleanup(G.guest) == 0);
	CHECK(vmb_channel_cleanup(G.host) == 0);
	CHECK(vmb_pair_destroy(G.pair) == 0);
	vmb_mem_destroy(&G.mem);
	CHECK(fz_vsp_live == 0);
}

static void
pump(int rounds)
{
	while (rounds-- > 0) {
		vmb_channel_poll(G.host, 64);
		vmb_channel_poll(G.guest, 64);
	}
}

/* The host sends @p n transactions: @p inline_len message bytes, @p vsp_len VSP bytes, with
 * @p nranges GPA ranges (then they wait for completion). */
static void
host_send(uint32_t n, uint32_t inline_len, uint32_t vsp_len, uint32_t flags, uint32_t nranges)
{
	static const uint64_t pfns[4][3] = {{16, 17, 18}, {32, 33, 34}, {48, 49, 50}, {64, 65, 66}};
	uint8_t msg[4096], vsp[256];
	struct vmb_gpa_range_out ext[4];
	uint32_t i, r;

	CHECK(inline_len <= sizeof(msg) && vsp_len <= sizeof(vsp) && nranges <= 4);
	for (r = 0; r < nranges; r++) {
		ext[r].byte_offset = 512 * r;
		ext[r].byte_count = 1500 + 2500 * r; /* 1, 2 or 3 pages */
		ext[r].pfns = pfns[r];
	}
	for (i = 0; i < n; i++) {
		struct vmb_packet *p = vmb_packet_alloc(G.host);
		uint32_t seq = G.seq++;

		CHECK(p != NULL);
		memset(msg, 'a' + (int)(seq % 26), inline_len);
		if (inline_len >= 4)
			memcpy(msg, &seq, 4);
		memset(vsp, (int)(seq & 0x7f), vsp_len);
		if (vsp_len >= 4)
			memcpy(vsp, &seq, 4);
		CHECK(fz_vsp_attach(p, vsp, vsp_len) == 0);
		CHECK(vmb_packet_send(p, msg, inline_len, flags, nranges ? ext : NULL, nranges) == 0);
	}
}

/* Save the paused host into chunks of at most @p chunk bytes; write them back to back. */
static void
save_to(const char *name, size_t chunk)
{
	struct buf out = {0};
	size_t cap = chunk;
	int rc;

	if (!vmb_channel_is_paused(G.host))
		CHECK(vmb_channel_pause(G.host) == 0);
	CHECK(vmb_channel_save_begin(G.host) == 0);
	for (;;) {
		size_t filled, required;
		uint8_t *b = malloc(cap);

		CHECK(b != NULL);
		rc = vmb_channel_save_continue(G.host, b, cap, &filled, &required);
		if (rc == -ENOBUFS) {
			free(b);
			cap = required;
			continue;
		}
		CHECK(rc == 0 || rc == -EOVERFLOW);
		put(&out, b, filled);
		free(b);
		if (rc == 0)
			break;
		if (required > cap)
			cap = required;
	}
	vmb_channel_save_end(G.host);
	write_file("restore", name, out.p, out.n);
	free(out.p);
}

/* The host completed guest requests while its ring toward the guest was full. */
static void
owe_completions(uint32_t n)
{
	uint32_t i;

	host_send(30, 200, 4, VMB_SEND_WAIT_FOR_COMPLETION, 0); /* fills host->guest */
	vmb_channel_poll(G.host, 64);
	for (i = 0; i < n; i++) {
		struct vmb_packet *p = vmb_packet_alloc(G.guest);
		CHECK(p != NULL);
		CHECK(vmb_packet_send(p, &i, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0);
	}
	vmb_channel_poll(G.guest, 64);
	vmb_channel_poll(G.host, 64);
}

static void
gen_restore_real(void)
{
	static const struct vmb_guid other = {{0xde, 0xad}};

	gen_up(4, NULL, false); /* enabled, the guest never came: nothing linked */
	save_to("r00-empty-not-open", 4096);
	gen_down();

	gen_up(4, NULL, true);
	save_to("r01-empty-open", 4096);
	gen_down();

	gen_up(4, NULL, true);
	host_send(1, 32, 4, VMB_SEND_WAIT_FOR_COMPLETION, 0);
	pump(2);
	save_to("r02-one-inflight", 4096);
	gen_down();

	gen_up(4, NULL, true);
	host_send(5, 48, 12, VMB_SEND_WAIT_FOR_COMPLETION, 0);
	pump(2);
	save_to("r03-five-inflight", 4096);
	gen_down();

	/* 2-page guest ring (4 KiB data): 200-byte messages, some in flight, the rest queued
	 * with their bytes in the stream; saved in several chunk sizes. */
	{
		static const size_t sizes[] = {128, 512, 65536};
		static const char *const names[] = {"r04-inflight-queued-c128",
						     "r04-inflight-queued-c512",
						     "r04-inflight-queued-c64k"};
		size_t i;
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			gen_up(2, NULL, true);
			host_send(24, 200, 4 + 3 * (uint32_t)i, VMB_SEND_WAIT_FOR_COMPLETION, 0);
			pump(2);
			save_to(names[i], sizes[i]);
			gen_down();
		}
	}

	gen_up(2, NULL, true);
	host_send(30, 160, 0, 0, 0); /* no completion asked: only the queued ones are pending */
	pump(1);
	save_to("r05-queued-nowait-novsp", 4096);
	gen_down();

	gen_up(2, NULL, true);
	host_send(3, 64, 8, VMB_SEND_WAIT_FOR_COMPLETION, 1);
	host_send(3, 0, 8, VMB_SEND_WAIT_FOR_COMPLETION, 3);
	host_send(12, 300, 8, VMB_SEND_WAIT_FOR_COMPLETION, 2);
	pump(2);
	save_to("r06-gpa-ranges", 4096);
	save_to("r06-gpa-ranges-c300", 300);
	gen_down();

	gen_up(2, NULL, true);
	owe_completions(6);
	save_to("r07-owed-completions", 4096);
	save_to("r07-owed-completions-c256", 256);
	gen_down();

	gen_up(4, NULL, false);
	host_send(3, 40, 4, VMB_SEND_WAIT_FOR_COMPLETION, 0);
	host_send(2, 40, 4, 0, 0);
	save_to("r08-queued-never-open", 4096);
	gen_down();

	gen_up(4, NULL, true);
	host_send(2, 16, 4, 0, 0);
	pump(2);
	while (G.nheld) /* disable waits for the guest's own indications */
		CHECK(vmb_rx_complete(G.held[--G.nheld], NULL, 0) == 0);
	CHECK(vmb_channel_disable(G.guest) == 0); /* the guest closed: host Closed */
	save_to("r09-closed", 4096);
	gen_down();

	gen_up(4, &other, true);
	host_send(2, 16, 4, VMB_SEND_WAIT_FOR_COMPLETION, 0);
	pump(2);
	save_to("r10-foreign-interface", 4096);
	gen_down();

	/* VSP bytes that make the fuzz VSP fail or skip on restore, after other packets. */
	gen_up(4, NULL, true);
	host_send(3, 16, 4, VMB_SEND_WAIT_FOR_COMPLETION, 0);
	{
		struct vmb_packet *p = vmb_packet_alloc(G.host);
		uint8_t v[2] = {FZ_VSP_FAIL, 0};
		CHECK(p && fz_vsp_attach(p, v, 2) == 0);
		CHECK(vmb_packet_send(p, "x", 1, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0);
		p = vmb_packet_alloc(G.host);
		v[0] = FZ_VSP_SKIP;
		CHECK(p && fz_vsp_attach(p, v, 2) == 0);
		CHECK(vmb_packet_send(p, "y", 1, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0);
	}
	pump(2);
	save_to("r11-vsp-fails", 4096);
	gen_down();
}

/* =========================================================================================== */
/* restore: edited streams (built record by record)                                           */
/* =========================================================================================== */

static void
rec(struct buf *b, uint16_t tag, uint16_t flags, const void *v, uint32_t len)
{
	struct vmb_save_rec_hdr h = {.tag = tag, .flags = flags, .len = len};

	put(b, &h, sizeof(h));
	put(b, v, len);
	zero(b, ((len + 7u) & ~7u) - len);
}

static void
channel_rec(struct buf *b, uint32_t packets, uint32_t completions)
{
	struct vmb_save_channel_v1 c = {
		.role = 1,
		.max_packet = 4096,
		.max_ext_data = 65536,
		.max_ext_chain = 16,
		.packets = packets,
		.completions = completions,
		.read_cursor = 0,
		.read_committed = 0,
		.tx_capacity = FZ_TX_CAPACITY,
	};
	memcpy(c.if_type, fz_if_type.b, 16);
	memcpy(c.if_instance, fz_if_instance.b, 16);
	rec(b, VMB_SAVE_TAG_CHANNEL, VMB_SAVE_REC_CRITICAL, &c, sizeof(c));
}

/* A packet record: library part (header of @p hdr_size bytes), @p vsp_len VSP bytes. */
static void
packet_rec(struct buf *b, uint64_t xid, uint32_t state, uint32_t inline_len, uint16_t hdr_size,
	   uint32_t vsp_len)
{
	struct buf lib = {0}, v = {0};
	struct vmb_save_lib_v1 l = {
		.version = 1,
		.hdr_size = hdr_size,
		.state = state,
		.xid = xid,
		.send_flags = VMB_SEND_WAIT_FOR_COMPLETION,
		.inline_len = state == VMB_SAVE_PKT_QUEUED ? inline_len : 0,
	};
	struct vmb_save_packet_v1 ph;
	uint32_t i;

	put(&lib, &l, sizeof(l));
	zero(&lib, hdr_size - sizeof(l));
	for (i = 0; i < l.inline_len; i++)
		put8(&lib, (uint8_t)('A' + i % 26));
	ph.lib_len = (uint32_t)lib.n;
	ph.vsp_len = vsp_len;
	put(&v, &ph, sizeof(ph));
	put(&v, lib.p, lib.n);
	zero(&v, ((lib.n + 7u) & ~7u) - lib.n);
	for (i = 0; i < vsp_len; i++)
		put8(&v, (uint8_t)(0x10 + i));
	rec(b, VMB_SAVE_TAG_PACKET, VMB_SAVE_REC_CRITICAL, v.p, (uint32_t)v.n);
	free(lib.p);
	free(v.p);
}

static void
end_rec(struct buf *b, uint32_t packets, uint32_t completions)
{
	struct vmb_save_end_v1 e = {.packets = packets, .completions = completions};
	rec(b, VMB_SAVE_TAG_END, VMB_SAVE_REC_CRITICAL, &e, sizeof(e));
}

/* Frame @p payload as chunks split at the record offsets @p cuts (ascending, 0 = none). */
static void
chunks(struct buf *out, const struct buf *payload, const size_t *cuts, uint32_t ncuts,
       uint16_t major, uint16_t minor)
{
	size_t start = 0;
	uint32_t seq;

	for (seq = 0; seq <= ncuts; seq++) {
		size_t end = seq < ncuts ? cuts[seq] : payload->n;
		struct vmb_save_chunk_hdr h = {
			.magic = VMB_SAVE_MAGIC,
			.major = major,
			.minor = minor,
			.stream_id = 0x0123456789abcdefull,
			.seq = seq,
			.flags = (seq == 0 ? VMB_SAVE_CHUNK_FIRST : 0) |
				 (seq == ncuts ? VMB_SAVE_CHUNK_LAST : 0),
			.payload_len = (uint32_t)(end - start),
			.crc = 0,
		};
		size_t at = out->n;
		uint32_t crc;

		put(out, &h, sizeof(h));
		put(out, payload->p + start, end - start);
		crc = vmb_crc32c(0, out->p + at, sizeof(h) + (end - start));
		memcpy(out->p + at + offsetof(struct vmb_save_chunk_hdr, crc), &crc, 4);
		start = end;
	}
}

static void
emit_stream(const char *name, const struct buf *payload, const size_t *cuts, uint32_t ncuts,
	    uint16_t major, uint16_t minor)
{
	struct buf out = {0};

	chunks(&out, payload, cuts, ncuts, major, minor);
	write_file("restore", name, out.p, out.n);
	free(out.p);
}

#define XID(gen, slot) (((uint64_t)(gen) << 32) | (uint64_t)((slot) + 1))

static void
gen_restore_edited(void)
{
	struct buf p = {0};
	size_t cuts[4];
	uint8_t junk[13] = "newer-record";

	/* Unknown optional record between packets, future minor, three chunks. */
	channel_rec(&p, 2, 1);
	cuts[0] = p.n;
	packet_rec(&p, XID(1, 0), VMB_SAVE_PKT_INFLIGHT, 0, 32, 4);
	rec(&p, 99, 0, junk, sizeof(junk));
	cuts[1] = p.n;
	packet_rec(&p, XID(7, 5), VMB_SAVE_PKT_QUEUED, 40, 32, 0);
	{
		struct vmb_save_completion_v1 c = {.xid = 0x1234, .len = 5};
		struct buf v = {0};
		put(&v, &c, sizeof(c));
		put(&v, "done!", 5);
		rec(&p, VMB_SAVE_TAG_COMPLETION, VMB_SAVE_REC_CRITICAL, v.p, (uint32_t)v.n);
		free(v.p);
	}
	end_rec(&p, 2, 1);
	emit_stream("e00-unknown-record-minor", &p, cuts, 2, VMB_SAVE_MAJOR, 7);
	/* The same, major 2: refused (-ENOTSUP). */
	emit_stream("e01-future-major", &p, cuts, 2, VMB_SAVE_MAJOR + 1, 0);
	free(p.p);
	memset(&p, 0, sizeof(p));

	/* A longer library header (a newer build's fields), queued and in flight. */
	channel_rec(&p, 2, 0);
	packet_rec(&p, XID(3, 9), VMB_SAVE_PKT_QUEUED, 17, 48, 6);
	packet_rec(&p, XID(2, 10), VMB_SAVE_PKT_INFLIGHT, 0, 40, 6);
	end_rec(&p, 2, 0);
	emit_stream("e02-long-lib-header", &p, NULL, 0, VMB_SAVE_MAJOR, VMB_SAVE_MINOR);
	free(p.p);
	memset(&p, 0, sizeof(p));

	/* The same transaction twice: -EEXIST from vmb_packet_restore(), undone. */
	channel_rec(&p, 2, 0);
	packet_rec(&p, XID(1, 3), VMB_SAVE_PKT_INFLIGHT, 0, 32, 4);
	packet_rec(&p, XID(1, 3), VMB_SAVE_PKT_INFLIGHT, 0, 32, 4);
	end_rec(&p, 2, 0);
	emit_stream("e03-duplicate-xid", &p, NULL, 0, VMB_SAVE_MAJOR, VMB_SAVE_MINOR);
	free(p.p);
	memset(&p, 0, sizeof(p));

	/* An unknown critical record: -ENOTSUP. Totals that do not add up: -EPROTO. */
	channel_rec(&p, 0, 0);
	rec(&p, 77, VMB_SAVE_REC_CRITICAL, junk, 8);
	end_rec(&p, 0, 0);
	emit_stream("e04-unknown-critical", &p, NULL, 0, VMB_SAVE_MAJOR, VMB_SAVE_MINOR);
	free(p.p);
	memset(&p, 0, sizeof(p));
	channel_rec(&p, 1, 0);
	end_rec(&p, 1, 0);
	emit_stream("e05-totals-mismatch", &p, NULL, 0, VMB_SAVE_MAJOR, VMB_SAVE_MINOR);
	free(p.p);
	memset(&p, 0, sizeof(p));

	/* Chunks out of order, and a bad CRC (two chunks, the second swapped / damaged). */
	channel_rec(&p, 1, 0);
	cuts[0] = p.n;
	packet_rec(&p, XID(1, 0), VMB_SAVE_PKT_INFLIGHT, 0, 32, 4);
	end_rec(&p, 1, 0);
	{
		struct buf out = {0}, sw = {0};
		size_t first;
		chunks(&out, &p, cuts, 1, VMB_SAVE_MAJOR, VMB_SAVE_MINOR);
		first = 32 + cuts[0];
		put(&sw, out.p + first, out.n - first);
		put(&sw, out.p, first);
		write_file("restore", "e06-reordered", sw.p, sw.n);
		out.p[out.n - 3] ^= 0x20;
		write_file("restore", "e07-bad-crc", out.p, out.n);
		write_file("restore", "e08-truncated", out.p, out.n - 11);
		free(out.p);
		free(sw.p);
	}
	/* Regression (found by fuzz_restore): an empty first chunk was staged with
	 * memcpy(NULL + 0, ..., 0), undefined behaviour. */
	cuts[0] = 0;
	emit_stream("e09-empty-first-chunk", &p, cuts, 1, VMB_SAVE_MAJOR, VMB_SAVE_MINOR);
	free(p.p);
}

/* =========================================================================================== */
/* ring                                                                                        */
/* =========================================================================================== */

enum ring_op { R_READ, R_COMMIT, R_COMMIT_TO, R_REVERT, R_RESERVE, R_WRITE_INBAND, R_WCOMMIT,
	       R_WREVERT, R_POKE_CTL, R_POKE_DATA, R_WAIT_SPACE, R_CLEAR_WAIT, R_PREPARE_SLEEP,
	       R_SET_MASK, R_REFRESH };

struct flat {
	struct vmbus_bufring *ctl;
	uint8_t *data;
	struct vmb_ring_mem m;
	struct vmb_ring_writer w;
};

static void
flat_init(struct flat *f, uint32_t pages, uint32_t start)
{
	f->ctl = aligned_alloc(4096, 4096);
	f->data = calloc(1, pages * 4096u);
	CHECK(f->ctl && f->data);
	vmb_ring_format(f->ctl);
	f->ctl->windex = f->ctl->rindex = start;
	f->m = (struct vmb_ring_mem){f->ctl, f->data, pages * 4096u, 0};
	CHECK(vmb_ring_writer_attach(&f->w, &f->m) == VMB_RING_OK);
}

static void
flat_emit(struct flat *f, uint32_t pages, uint8_t bounce, const struct buf *script,
	  const char *name)
{
	struct buf b = {0};

	put32(&b, f->ctl->windex);
	put32(&b, f->ctl->rindex);
	put32(&b, f->ctl->imask);
	put32(&b, f->ctl->pending_send);
	put32(&b, f->ctl->feature_bits.value);
	put8(&b, (uint8_t)(pages - 1));
	put8(&b, bounce);
	put8(&b, (uint8_t)script->n);
	put8(&b, 0);
	put(&b, script->p, script->n);
	put(&b, f->data, pages * 4096u);
	write_file("ring", name, b.p, b.n);
	free(b.p);
	free(f->ctl);
	free(f->data);
}

static void
write_mixed(struct flat *f, uint32_t n)
{
	static const uint64_t pfns[3] = {5, 6, 7};
	struct vmb_gpa_range_out g = {.byte_count = 5000, .byte_offset = 100, .pfns = pfns};
	struct vmb_xfer_range x[2] = {{1514, 0}, {60, 2048}};
	uint32_t i;

	for (i = 0; i < n; i++) {
		switch (i % 4) {
		case 0:
			CHECK(vmb_pkt_write_inband(&f->w, i, VMB_PKT_FLAG_RC, "hello ring", 10) ==
			      VMB_RING_OK);
			break;
		case 1:
			CHECK(vmb_pkt_write_gpa_direct(&f->w, i, VMB_PKT_FLAG_RC, &g, 1, "gpa", 3) ==
			      VMB_RING_OK);
			break;
		case 2:
			CHECK(vmb_pkt_write_xfer_pages(&f->w, i, 0, 7, x, 2, "rndis", 5) ==
			      VMB_RING_OK);
			break;
		default:
			CHECK(vmb_pkt_write_completion(&f->w, i, "ok", 2) == VMB_RING_OK);
			break;
		}
	}
	vmb_ring_write_commit(&f->w);
}

static void
gen_ring(void)
{
	struct flat f;
	struct buf s = {0};
	uint32_t i;

	/* Empty ring: the script writes, commits and reads back. */
	flat_init(&f, 1, 0);
	put8(&s, R_WRITE_INBAND);
	put16(&s, 40);
	put8(&s, R_RESERVE);
	put16(&s, 6);
	put8(&s, R_WCOMMIT);
	put8(&s, R_READ);
	put8(&s, R_READ);
	put8(&s, R_COMMIT);
	put8(&s, R_READ);
	flat_emit(&f, 1, 0, &s, "k00-write-read");
	s.n = 0;

	/* Packets of each type, read and committed packet by packet. */
	flat_init(&f, 2, 0);
	write_mixed(&f, 8);
	for (i = 0; i < 4; i++)
		put8(&s, R_READ);
	put8(&s, R_COMMIT_TO);
	put8(&s, 1);
	put8(&s, R_REVERT);
	for (i = 0; i < 6; i++)
		put8(&s, R_READ);
	put8(&s, R_COMMIT);
	flat_emit(&f, 2, 0, &s, "k01-mixed-types");
	s.n = 0;

	/* Near the end of the data area: packets wrap (split copy, bounce buffer). */
	flat_init(&f, 1, 4096 - 48);
	write_mixed(&f, 6);
	for (i = 0; i < 7; i++)
		put8(&s, R_READ);
	put8(&s, R_COMMIT);
	put8(&s, R_PREPARE_SLEEP);
	flat_emit(&f, 1, 0, &s, "k02-wrapping");
	s.n = 0;

	/* The same with a small bounce buffer (the wrapping GPA packet does not fit). */
	flat_init(&f, 1, 4096 - 48);
	write_mixed(&f, 6);
	for (i = 0; i < 7; i++)
		put8(&s, R_READ);
	flat_emit(&f, 1, 1, &s, "k03-small-bounce");
	s.n = 0;

	/* Writer until full, with flow control; then the reader frees space. */
	flat_init(&f, 1, 0);
	for (i = 0; i < 24; i++) {
		put8(&s, R_WRITE_INBAND);
		put16(&s, 200);
	}
	put8(&s, R_WAIT_SPACE);
	put16(&s, 30);
	put8(&s, R_WCOMMIT);
	for (i = 0; i < 5; i++)
		put8(&s, R_READ);
	put8(&s, R_COMMIT);
	put8(&s, R_REFRESH);
	put8(&s, R_CLEAR_WAIT);
	put8(&s, R_WRITE_INBAND);
	put16(&s, 200);
	put8(&s, R_WCOMMIT);
	flat_emit(&f, 1, 0, &s, "k04-full");
	s.n = 0;

	/* A hostile peer rewrites write_index and a descriptor between reads. */
	flat_init(&f, 2, 0);
	write_mixed(&f, 4);
	put8(&s, R_READ);
	put8(&s, R_POKE_CTL);
	put8(&s, 0);
	put32(&s, 4);
	put8(&s, R_READ);
	put8(&s, R_POKE_DATA);
	put16(&s, 0);
	put8(&s, 2);
	put8(&s, 0xff);
	put8(&s, 0xff);
	put8(&s, R_REVERT);
	put8(&s, R_READ);
	flat_emit(&f, 2, 0, &s, "k05-hostile-peer");
	s.n = 0;

	/* Larger ring, four data pages, interrupt mode words. */
	flat_init(&f, 4, 8192);
	f.ctl->imask = 0;
	write_mixed(&f, 12);
	for (i = 0; i < 12; i++)
		put8(&s, R_READ);
	put8(&s, R_SET_MASK);
	put8(&s, 0);
	put8(&s, R_COMMIT);
	put8(&s, R_WRITE_INBAND);
	put16(&s, 1000);
	put8(&s, R_WCOMMIT);
	flat_emit(&f, 4, 0, &s, "k06-four-pages");
	free(s.p);
}

/* =========================================================================================== */
/* packet                                                                                      */
/* =========================================================================================== */

static void
packet_seed(const char *name, uint8_t mode, uint8_t max_ranges, uint8_t max_pfns, uint8_t gp16,
	    uint32_t types, void (*write)(struct vmb_ring_writer *), const void *shared_desc)
{
	struct flat f;
	struct vmb_ring_reader r;
	struct vmb_ring_pkt rp;
	struct buf b = {0};

	flat_init(&f, 2, 0);
	write(&f.w);
	vmb_ring_write_commit(&f.w);
	CHECK(vmb_ring_reader_attach(&r, &f.m, NULL, 0) == VMB_RING_OK);
	CHECK(vmb_ring_read(&r, &rp) == VMB_RING_OK);
	put8(&b, mode);
	put8(&b, max_ranges);
	put8(&b, max_pfns);
	put8(&b, gp16);
	put32(&b, types);
	put(&b, rp.bytes, 16);
	if (mode & 1)
		put(&b, shared_desc, 16);
	put(&b, rp.bytes + 16, rp.len - 16);
	write_file("packet", name, b.p, b.n);
	free(b.p);
	free(f.ctl);
	free(f.data);
}

static void w_inband(struct vmb_ring_writer *w)
{
	CHECK(vmb_pkt_write_inband(w, 0x100000001ull, VMB_PKT_FLAG_RC, "inband message", 14) ==
	      VMB_RING_OK);
}

static void w_completion(struct vmb_ring_writer *w)
{
	CHECK(vmb_pkt_write_completion(w, 0x200000003ull, "status=0", 8) == VMB_RING_OK);
}

static void w_gpa1(struct vmb_ring_writer *w)
{
	static const uint64_t pfns[2] = {10, 11};
	struct vmb_gpa_range_out g = {.byte_count = 200, .byte_offset = 4000, .pfns = pfns};
	CHECK(vmb_pkt_write_gpa_direct(w, 7, VMB_PKT_FLAG_RC, &g, 1, "rw", 2) == VMB_RING_OK);
}

static void w_gpa3(struct vmb_ring_writer *w)
{
	static const uint64_t p0[1] = {3}, p1[3] = {20, 21, 22}, p2[2] = {40, 41};
	struct vmb_gpa_range_out g[3] = {{100, 0, p0}, {9000, 8, p1}, {4096, 1, p2}};
	CHECK(vmb_pkt_write_gpa_direct(w, 8, VMB_PKT_FLAG_RC, g, 3, "scsi-cdb", 8) == VMB_RING_OK);
}

static void w_xfer(struct vmb_ring_writer *w)
{
	struct vmb_xfer_range x[3] = {{1514, 0}, {60, 4096}, {9000, 8192}};
	CHECK(vmb_pkt_write_xfer_pages(w, 9, 0, 0xcafe, x, 3, "rndis-msg", 9) == VMB_RING_OK);
}

static void w_xfer0(struct vmb_ring_writer *w)
{
	CHECK(vmb_pkt_write_xfer_pages(w, 10, 0, 1, NULL, 0, NULL, 0) == VMB_RING_OK);
}

static void w_long_hdr(struct vmb_ring_writer *w)
{
	/* An inband packet whose header is 24 bytes (offset8 3): legal, skipped by readers. */
	struct vmb_ring_span s;
	struct vmbus_chanpkt_hdr h = {.type = VMB_PKT_INBAND, .hlen = 3, .tlen = 5, .flags = 0,
				      .xactid = 11};
	CHECK(vmb_ring_reserve(w, 40, &s) == VMB_RING_OK);
	vmb_ring_span_copy(&s, 0, &h, sizeof(h));
	vmb_ring_span_copy(&s, 16, "EXTRAHDRpayload-bytes...", 24);
}

static void
gen_packet(void)
{
	struct vmbus_chanpkt_hdr evil = {.type = VMB_PKT_GPA_DIRECT, .hlen = 0xffff, .tlen = 0xffff,
					 .flags = 0, .xactid = 0};

	packet_seed("p00-inband", 0, 0, 0, 0, 0, w_inband, NULL);
	packet_seed("p01-completion", 0, 0, 0, 0, 0, w_completion, NULL);
	packet_seed("p02-gpa-1-range", 0, 4, 8, 1, 0, w_gpa1, NULL);
	packet_seed("p03-gpa-3-ranges", 0, 16, 16, 8, 0, w_gpa3, NULL);
	packet_seed("p04-xfer", 0, 16, 0, 0, 0, w_xfer, NULL);
	packet_seed("p05-xfer-no-ranges-null", 2, 0, 0, 0, 0, w_xfer0, NULL);
	packet_seed("p06-long-header", 0, 0, 0, 0, 1u << VMB_PKT_INBAND, w_long_hdr, NULL);
	packet_seed("p07-shared-desc-rewritten", 1, 16, 16, 0, 0, w_gpa3, &evil);
	packet_seed("p08-gpa-over-limits", 0, 2, 4, 1, 0, w_gpa3, NULL);
}

/* =========================================================================================== */
/* channel                                                                                     */
/* =========================================================================================== */

enum ch_op { C_CTL, C_DATA, C_PKT, C_POLL, C_HOLDC, C_SEND, C_GREAD, C_GCOMP, C_PAUSE,
	     C_SERVICE, C_REOPEN };

static void
c_pkt(struct buf *s, uint8_t mode, uint16_t type, uint16_t hlen, uint16_t flags, uint64_t xid,
      const void *body, uint16_t n)
{
	put8(s, C_PKT);
	put8(s, mode);
	put16(s, type);
	put16(s, hlen);
	put16(s, flags);
	put64(s, xid);
	put16(s, n);
	put(s, body, n);
}

/* An inband request whose first byte picks the host VSP's behaviour (see fuzz_channel.c). */
static void
c_req(struct buf *s, uint8_t behaviour, uint64_t xid)
{
	uint8_t body[24];

	memset(body, 0x40, sizeof(body));
	body[0] = behaviour;
	c_pkt(s, 0, VMB_PKT_INBAND, 0, VMB_PKT_FLAG_RC, xid, body, sizeof(body));
}

static void
c_poll(struct buf *s, uint8_t budget)
{
	put8(s, C_POLL);
	put8(s, budget);
}

static void
c_send(struct buf *s, uint8_t kind, uint16_t len)
{
	put8(s, C_SEND);
	put8(s, kind);
	put16(s, len);
}

static void
c_emit(const char *name, const struct buf *s)
{
	write_file("channel", name, s->p, s->n);
}

static void
gen_channel(void)
{
	struct buf s = {0};
	uint32_t i;

	/* Requests completed inline, and one held then completed. */
	for (i = 0; i < 4; i++)
		c_req(&s, (uint8_t)(i == 2 ? 1 : 0), 100 + i);
	c_poll(&s, 64);
	put8(&s, C_HOLDC);
	put8(&s, 0);
	put8(&s, 8);
	c_poll(&s, 64);
	c_emit("c00-requests", &s);
	s.n = 0;

	/* Host transactions completed by the guest. */
	c_send(&s, 1, 40);
	c_send(&s, 1, 100);
	c_send(&s, 3, 16); /* with a GPA range */
	c_send(&s, 0, 20); /* no completion asked */
	c_poll(&s, 8);
	put8(&s, C_GREAD);
	put8(&s, 8);
	for (i = 0; i < 3; i++) {
		put8(&s, C_GCOMP);
		put8(&s, 0);
		put8(&s, (uint8_t)(8 * i));
	}
	c_poll(&s, 8);
	c_emit("c01-host-transactions", &s);
	s.n = 0;

	/* External data from the guest: GPA direct and transfer pages. */
	{
		struct buf b = {0};
		put32(&b, 0);      /* reserved */
		put32(&b, 2);      /* ranges */
		put32(&b, 100);    /* byte_count */
		put32(&b, 4000);   /* byte_offset */
		put64(&b, 10);
		put64(&b, 11);
		put32(&b, 4096);
		put32(&b, 0);
		put64(&b, 20);
		c_pkt(&s, 0, VMB_PKT_GPA_DIRECT, (uint16_t)((16 + b.n) / 8), VMB_PKT_FLAG_RC, 7, b.p,
		      (uint16_t)b.n);
		b.n = 0;
		put16(&b, 0xcafe); /* set id */
		put8(&b, 0);
		put8(&b, 0);
		put32(&b, 2);
		put32(&b, 1514);
		put32(&b, 0);
		put32(&b, 60);
		put32(&b, 2048);
		put(&b, "rndis!!!", 8);
		c_pkt(&s, 0, VMB_PKT_XFER_PAGES, 5, 0, 8, b.p, (uint16_t)b.n);
		free(b.p);
	}
	c_poll(&s, 64);
	c_emit("c02-external-data", &s);
	s.n = 0;

	/* Servicing between a request and its completion, and while the guest holds host
	 * transactions. */
	c_send(&s, 1, 64);
	c_send(&s, 1, 64);
	c_req(&s, 1, 5);
	c_poll(&s, 64);
	put8(&s, C_GREAD);
	put8(&s, 8);
	put8(&s, C_SERVICE);
	put16(&s, 300);
	put8(&s, C_GCOMP);
	put8(&s, 1);
	put8(&s, 4);
	c_req(&s, 0, 6);
	c_poll(&s, 64);
	c_emit("c03-servicing", &s);
	s.n = 0;

	/* Pause with a held request; the guest closes and reopens. */
	c_req(&s, 1, 9);
	c_poll(&s, 64);
	put8(&s, C_PAUSE);
	c_req(&s, 0, 10);
	c_poll(&s, 64);
	put8(&s, C_REOPEN);
	c_send(&s, 1, 10);
	c_req(&s, 0, 11);
	c_poll(&s, 64);
	c_emit("c04-pause-reopen", &s);
	s.n = 0;

	/* A guest that floods the ring, then one that lies about write_index and read_index. */
	for (i = 0; i < 60; i++)
		c_req(&s, 0, 1000 + i);
	c_poll(&s, 3);
	c_poll(&s, 255);
	put8(&s, C_CTL);
	put8(&s, 0);
	put32(&s, 12);
	c_poll(&s, 64);
	c_emit("c05-flood-then-bad-windex", &s);
	s.n = 0;

	c_send(&s, 1, 500);
	c_send(&s, 1, 500);
	put8(&s, C_CTL);
	put8(&s, 6); /* host->guest read_index */
	put32(&s, 8000);
	c_send(&s, 1, 500);
	c_poll(&s, 64);
	c_emit("c06-bad-read-index", &s);
	s.n = 0;

	/* A completion for a transaction never sent, a bad type, a vmb_rx_fail. */
	c_pkt(&s, 0, VMB_PKT_COMPLETION, 0, 0, 0x500000001ull, "??", 2);
	c_req(&s, 3, 12);
	c_poll(&s, 64);
	c_pkt(&s, 0, 0x42, 0, 0, 13, "?", 1);
	c_poll(&s, 64);
	c_emit("c07-stray-completion-fail", &s);
	s.n = 0;

	/* Regressions (found by fuzz_channel): a packet the VSP deferred counts as outstanding,
	 * and closing the channel (the guest closes; the host disables) waited for it forever. */
	c_req(&s, 2, 14);
	c_poll(&s, 64);
	put8(&s, C_REOPEN);
	c_req(&s, 2, 15);
	c_poll(&s, 64);
	c_emit("c08-deferred-then-close", &s);
	free(s.p);
}

/* =========================================================================================== */
/* bus                                                                                         */
/* =========================================================================================== */

/* Record kinds and descriptor selectors of fuzz_bus (see its file comment). */
enum bus_kind { B_RAW, B_FRAME, B_HALF, B_MEM, B_POLL, B_VSPOFF };
#define B_FDS(n, first, extra) ((uint8_t)((n) | (first) << 3 | (extra) << 5))
#define B_MEMFD B_FDS(1, 0, 0)       /* the guest memory */
#define B_EVENTFDS B_FDS(2, 1, 0)    /* eventfds A and B */
#define B_SPLIT 0x80u
#define B_GUEST_PAGES 64u           /* fuzz_bus's guest memory */

static void
b_rec(struct buf *s, uint8_t kind, uint8_t fds, const void *p, uint16_t n)
{
	put8(s, kind);
	put8(s, fds);
	put16(s, n);
	put(s, p, n);
}

static void
b_msg(struct buf *s, uint8_t fds, const void *msg, uint16_t n)
{
	b_rec(s, B_FRAME, fds, msg, n);
}

static void
b_contact(struct buf *s, uint32_t ver, uint8_t fds)
{
	struct vmbus_chanmsg_connect m;

	memset(&m, 0, sizeof(m));
	m.hdr.type = VMBUS_CHANMSG_TYPE_CONNECT;
	m.ver = ver;
	b_msg(s, fds, &m, sizeof(m));
}

static void
b_hdr_only(struct buf *s, uint32_t type, uint8_t fds)
{
	struct vmbus_chanmsg_hdr m = {.type = type};

	b_msg(s, fds, &m, sizeof(m));
}

/* GPADL_HEADER with up to 26 page numbers, then GPADL_BODY messages of up to 28. */
static void
b_gpadl(struct buf *s, uint32_t chanid, uint32_t id, const uint64_t *pfns, uint32_t n)
{
	uint8_t msg[240];
	struct vmbus_chanmsg_gpadl_conn h;
	struct vmbus_chanmsg_gpadl_subconn b;
	uint32_t here = n < VMBUS_CHANMSG_GPADL_CONN_PGMAX ? n : VMBUS_CHANMSG_GPADL_CONN_PGMAX;
	uint32_t sent, msgno = 0;

	memset(&h, 0, sizeof(h));
	h.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_CONN;
	h.chanid = chanid;
	h.gpadl = id;
	h.range_len = (uint16_t)(8 + 8 * n);
	h.range_cnt = 1;
	h.range.len = n * VMB_PAGE_SIZE;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), pfns, here * 8u);
	b_msg(s, 0, msg, (uint16_t)(sizeof(h) + here * 8u));
	for (sent = here; sent < n; sent += here) {
		here = n - sent < VMBUS_CHANMSG_GPADL_SUBCONN_PGMAX ? n - sent
								   : VMBUS_CHANMSG_GPADL_SUBCONN_PGMAX;
		memset(&b, 0, sizeof(b));
		b.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_SUBCONN;
		b.msgno = ++msgno;
		b.gpadl = id;
		memcpy(msg, &b, sizeof(b));
		memcpy(msg + sizeof(b), pfns + sent, here * 8u);
		b_msg(s, 0, msg, (uint16_t)(sizeof(b) + here * 8u));
	}
}

/* A GPADL of @p n consecutive pages from @p first. */
static void
b_gpadl_run(struct buf *s, uint32_t chanid, uint32_t id, uint64_t first, uint32_t n)
{
	uint64_t pfns[64];
	uint32_t i;

	CHECK(n <= 64);
	for (i = 0; i < n; i++)
		pfns[i] = first + i;
	b_gpadl(s, chanid, id, pfns, n);
}

static void
b_open(struct buf *s, uint32_t chanid, uint32_t openid, uint32_t gpadl, uint32_t txbr, uint8_t fds)
{
	struct vmbus_chanmsg_chopen m;

	memset(&m, 0, sizeof(m));
	m.hdr.type = VMBUS_CHANMSG_TYPE_CHOPEN;
	m.chanid = chanid;
	m.openid = openid;
	m.gpadl = gpadl;
	m.txbr_pgcnt = txbr;
	b_msg(s, fds, &m, sizeof(m));
}

/* CLOSE, GPADL_TEARDOWN and RELID_RELEASED: a channel id, maybe a GPADL id. */
static void
b_chan_msg(struct buf *s, uint32_t type, uint32_t chanid, uint32_t gpadl)
{
	struct vmbus_chanmsg_gpadl_disconn m; /* the longest of the three */

	memset(&m, 0, sizeof(m));
	m.hdr.type = type;
	m.chanid = chanid;
	m.gpadl = gpadl;
	b_msg(s, 0, &m, type == VMBUS_CHANMSG_TYPE_GPADL_DISCONN ? sizeof(m) : 12);
}

static void
b_mem(struct buf *s, uint32_t off, const void *p, uint16_t n)
{
	put8(s, B_MEM);
	put8(s, 0);
	put16(s, (uint16_t)(4 + n));
	put32(s, off);
	put(s, p, n);
}

/* An inband request at the start of the ring whose control page is guest page @p ctl_pfn. */
static void
b_ring_request(struct buf *s, uint32_t ctl_pfn, uint64_t xid)
{
	struct vmbus_chanpkt_hdr h = {.type = VMB_PKT_INBAND, .hlen = 2, .tlen = 3,
				      .flags = VMB_PKT_FLAG_RC, .xactid = xid};
	uint8_t pkt[32];
	uint32_t windex = sizeof(pkt);

	memset(pkt, 0, sizeof(pkt));
	memcpy(pkt, &h, sizeof(h));
	memcpy(pkt + sizeof(h), "request!", 8); /* trailer (start index 0 << 32) stays zero */
	b_mem(s, (ctl_pfn + 1) * VMB_PAGE_SIZE, pkt, sizeof(pkt));
	b_mem(s, ctl_pfn * VMB_PAGE_SIZE, &windex, sizeof(windex));
}

static void
b_one(struct buf *s, uint8_t kind, uint8_t v)
{
	b_rec(s, kind, 0, &v, 1);
}

static void
b_emit(const char *name, struct buf *s)
{
	write_file("bus", name, s->p, s->n);
	s->n = 0;
}

/* Contact (newest version, the guest memory) and the offers. */
static void
b_connect(struct buf *s)
{
	b_contact(s, VMB_BUS_VERSION_WIN10_V5_3, B_MEMFD);
	b_hdr_only(s, VMBUS_CHANMSG_TYPE_CHREQUEST, 0);
}

static void
gen_bus(void)
{
	struct buf s = {0};

	/* A whole session: a GPADL in a header and a body, a channel in poll mode with one
	 * request, one in interrupt mode, closes, teardowns, unload. */
	b_connect(&s);
	b_gpadl_run(&s, 1, 1, 0, 30);
	b_open(&s, 1, 1, 1, 15, 0);
	b_ring_request(&s, 0, 42);
	b_one(&s, B_POLL, 64);
	b_gpadl_run(&s, 2, 2, 32, 8);
	b_open(&s, 2, 2, 2, 4, B_EVENTFDS);
	b_one(&s, B_POLL, 64);
	b_chan_msg(&s, VMBUS_CHANMSG_TYPE_CHCLOSE, 1, 0);
	b_chan_msg(&s, VMBUS_CHANMSG_TYPE_GPADL_DISCONN, 1, 1);
	b_chan_msg(&s, VMBUS_CHANMSG_TYPE_CHCLOSE, 2, 0);
	b_chan_msg(&s, VMBUS_CHANMSG_TYPE_GPADL_DISCONN, 2, 2);
	b_hdr_only(&s, VMBUS_CHANMSG_TYPE_DISCONNECT, 0);
	b_emit("b00-valid-session", &s);

	/* A GPADL naming a page outside guest memory is refused; the guest stays and goes on. */
	{
		static const uint64_t bad[] = {0, 1, 2, B_GUEST_PAGES};
		b_connect(&s);
		b_gpadl(&s, 1, 1, bad, 4);
		b_gpadl_run(&s, 1, 2, 0, 4);
		b_open(&s, 1, 1, 2, 2, 0);
		b_chan_msg(&s, VMBUS_CHANMSG_TYPE_CHCLOSE, 1, 0);
		b_hdr_only(&s, VMBUS_CHANMSG_TYPE_DISCONNECT, 0);
		b_emit("b01-gpadl-outside-memory", &s);
	}

	/* Bad magic. */
	{
		struct vmbus_chanmsg_hdr m = {.type = VMBUS_CHANMSG_TYPE_CHREQUEST};
		uint8_t raw[16];
		uint32_t magic = 0x46424d57u;
		uint16_t len = sizeof(m);
		b_contact(&s, VMB_BUS_VERSION_WIN10_V5_3, B_MEMFD);
		memset(raw, 0, sizeof(raw));
		memcpy(raw, &magic, 4);
		memcpy(raw + 4, &len, 2);
		memcpy(raw + 8, &m, sizeof(m));
		b_rec(&s, B_RAW, 0, raw, sizeof(raw));
		b_emit("b02-bad-magic", &s);
	}

	/* A frame longer than a SynIC message. */
	{
		uint8_t big[300];
		memset(big, 0, sizeof(big));
		big[0] = VMBUS_CHANMSG_TYPE_CHREQUEST;
		b_connect(&s);
		b_msg(&s, 0, big, sizeof(big));
		b_emit("b03-oversized-length", &s);
	}

	/* Descriptors: two with the contact; one with a message that takes none; five (more than
	 * a frame may carry); contact and open with their descriptors sent apart from the frame
	 * start; a memfd whose size is not a page multiple; a smaller memory. */
	b_contact(&s, VMB_BUS_VERSION_WIN10_V5_3, B_FDS(2, 0, 0));
	b_emit("b04-contact-two-fds", &s);
	b_contact(&s, VMB_BUS_VERSION_WIN10_V5_3, B_MEMFD);
	b_hdr_only(&s, VMBUS_CHANMSG_TYPE_CHREQUEST, B_FDS(1, 1, 0));
	b_emit("b05-fd-on-request-offers", &s);
	b_connect(&s);
	b_gpadl_run(&s, 1, 1, 0, 4);
	b_open(&s, 1, 1, 1, 2, B_FDS(5, 1, 0));
	b_emit("b06-five-fds", &s);
	b_contact(&s, VMB_BUS_VERSION_WIN10_V5_3, B_MEMFD | B_SPLIT);
	b_hdr_only(&s, VMBUS_CHANMSG_TYPE_CHREQUEST, 0);
	b_gpadl_run(&s, 2, 1, 8, 6);
	b_open(&s, 2, 7, 1, 3, B_EVENTFDS | B_SPLIT);
	b_one(&s, B_POLL, 8);
	b_emit("b07-fds-split", &s);
	b_contact(&s, VMB_BUS_VERSION_WIN10_V5_3, B_FDS(1, 3, 2));
	b_emit("b08-bad-size-memory", &s);
	b_contact(&s, VMB_BUS_VERSION_WIN8, B_FDS(1, 3, 3));
	b_hdr_only(&s, VMBUS_CHANMSG_TYPE_CHREQUEST, 0);
	b_gpadl_run(&s, 1, 1, 0, 4);
	b_open(&s, 2, 1, 1, 2, B_EVENTFDS);
	b_gpadl_run(&s, 1, 2, 1, 4); /* page 4 is outside this memory */
	b_emit("b10-small-memory", &s);

	/* Regression (found by fuzz_bus): an open on rings whose indices are invalid failed after
	 * on_open, and the host dropped the VSP's channel on the floor. */
	{
		uint32_t windex = 1;
		b_connect(&s);
		b_gpadl_run(&s, 1, 1, 0, 8);
		b_mem(&s, 0, &windex, sizeof(windex));
		b_open(&s, 1, 1, 1, 4, 0);
		b_emit("b09-open-on-corrupt-ring", &s);
	}

	/* Half a frame (with a descriptor), then the guest goes away. */
	{
		struct vmbus_chanmsg_chopen m;
		memset(&m, 0, sizeof(m));
		m.hdr.type = VMBUS_CHANMSG_TYPE_CHOPEN;
		m.chanid = 1;
		b_connect(&s);
		b_rec(&s, B_HALF, B_FDS(1, 1, 0), &m, sizeof(m));
		b_emit("b11-half-frame", &s);
	}

	/* Messages before contact. */
	b_hdr_only(&s, VMBUS_CHANMSG_TYPE_CHREQUEST, 0);
	b_connect(&s);
	b_emit("b12-request-before-contact", &s);
	b_gpadl_run(&s, 1, 1, 0, 4);
	b_open(&s, 1, 1, 1, 2, 0);
	b_emit("b13-gpadl-open-before-contact", &s);

	/* Version negotiation: one the host does not speak, then an older one. */
	b_contact(&s, 0x00090000u, B_MEMFD);
	b_contact(&s, VMB_BUS_VERSION_WIN8_1, B_MEMFD);
	b_hdr_only(&s, VMBUS_CHANMSG_TYPE_CHREQUEST, 0);
	b_hdr_only(&s, VMBUS_CHANMSG_TYPE_DISCONNECT, 0);
	b_hdr_only(&s, VMBUS_CHANMSG_TYPE_CHREQUEST, 0); /* after unload */
	b_emit("b14-version-downgrade-unload", &s);

	/* The VSP disables its channel: rescind, RELID_RELEASED, offered again, reopened. */
	b_connect(&s);
	b_gpadl_run(&s, 1, 1, 0, 4);
	b_open(&s, 1, 1, 1, 2, 0);
	b_one(&s, B_VSPOFF, 0);
	b_chan_msg(&s, VMBUS_CHANMSG_TYPE_CHFREE, 1, 0);
	b_hdr_only(&s, VMBUS_CHANMSG_TYPE_CHREQUEST, 0);
	b_open(&s, 1, 2, 1, 2, B_EVENTFDS);
	b_chan_msg(&s, VMBUS_CHANMSG_TYPE_CHCLOSE, 1, 0);
	b_chan_msg(&s, VMBUS_CHANMSG_TYPE_GPADL_DISCONN, 1, 1);
	b_emit("b15-vsp-rescind-reopen", &s);

	/* Tearing down the rings of an open channel drops the guest (its channels close). */
	b_connect(&s);
	b_gpadl_run(&s, 1, 1, 0, 4);
	b_gpadl_run(&s, 2, 2, 4, 4);
	b_open(&s, 1, 1, 1, 2, 0);
	b_open(&s, 2, 2, 2, 2, B_EVENTFDS);
	b_chan_msg(&s, VMBUS_CHANMSG_TYPE_GPADL_DISCONN, 1, 1);
	b_emit("b16-teardown-open-rings", &s);
	free(s.p);
}

/* =========================================================================================== */
/* netvsp: a netvsc guest's control messages (format in fuzz_netvsp.c)                        */
/* =========================================================================================== */

enum { NV_NVSP = 0, NV_RNDIS = 1, NV_PKT = 2, NV_OWNER = 3, NV_FAKE = 4, NV_CLEAR = 5,
       NV_REOPEN = 6, NV_OID = 7 };

/* Configuration: 1500 MTU, 4 queues, default slot and section sizes, every offload, 256 KiB
 * receive buffer, 128 KiB send buffer. */
static void
nv_config(struct buf *b, uint16_t mtu)
{
	put16(b, mtu);
	put8(b, 4);
	put8(b, 0);
	put16(b, 0);
	put16(b, 0);
	put16(b, 0x1F7F);
	put16(b, 256);
	put16(b, 128);
}

static void
nv_rec(struct buf *b, uint8_t op, const void *p, uint32_t n)
{
	put8(b, op);
	put16(b, (uint16_t)n);
	put(b, p, n);
}

static void
nv_init(struct buf *b, uint32_t vmin, uint32_t vmax)
{
	struct nvsp_init m = {.type = NVSP_MSG_INIT, .ver_min = vmin, .ver_max = vmax};

	nv_rec(b, NV_NVSP, &m, sizeof(m));
}

static void
nv_attach(struct buf *b, uint32_t frame, uint16_t chim_sig)
{
	struct nvsp_ndis_conf nc = {.type = NVSP_MSG_NDIS_CONF, .mtu = frame,
				    .caps = NVSP_NDIS_CONF_VLAN | NVSP_NDIS_CONF_SRIOV};
	struct nvsp_ndis_init ni = {.type = NVSP_MSG_NDIS_INIT, .ndis_major = 6,
				    .ndis_minor = 30};
	struct nvsp_rxbuf_conn rc = {.type = NVSP_MSG_RXBUF_CONN, .gpadl = 0x10,
				     .sig = NVSP_RXBUF_SIG};
	struct nvsp_chim_conn cc = {.type = NVSP_MSG_CHIM_CONN, .gpadl = 0x11, .sig = chim_sig};

	nv_init(b, 0x70000, 0x70000);
	nv_init(b, NVSP_VERSION_61, NVSP_VERSION_61);
	nv_rec(b, NV_NVSP, &nc, sizeof(nc));
	nv_rec(b, NV_NVSP, &ni, sizeof(ni));
	nv_rec(b, NV_NVSP, &rc, sizeof(rc));
	nv_rec(b, NV_NVSP, &cc, sizeof(cc));
}

static void
nv_detach(struct buf *b)
{
	struct nvsp_rxbuf_disconn rd = {.type = NVSP_MSG_RXBUF_DISCONN, .sig = NVSP_RXBUF_SIG};
	struct nvsp_chim_disconn cd = {.type = NVSP_MSG_CHIM_DISCONN, .sig = NVSP_CHIM_SIG};

	nv_rec(b, NV_NVSP, &rd, sizeof(rd));
	nv_rec(b, NV_NVSP, &cd, sizeof(cd));
}

static void
nv_rndis_simple(struct buf *b, uint32_t type, uint32_t rid)
{
	struct rndis_init_req r = {.type = type, .len = 12, .rid = rid, .ver_major = 1,
				   .max_xfer_size = 0x4000};

	if (type == RNDIS_MSG_INIT)
		r.len = sizeof(r);
	nv_rec(b, NV_RNDIS, &r, r.len);
}

/* QUERY or SET with the information buffer right after the header (as DPDK and Linux do). */
static void
nv_rndis_oid(struct buf *b, uint32_t type, uint32_t rid, uint32_t oid, const void *v, uint32_t n)
{
	struct rndis_set_req r = {.type = type, .len = 28 + n, .rid = rid, .oid = oid,
				  .infobuf_len = n, .infobuf_offset = 20};
	uint8_t m[1024];

	CHECK(28 + n <= sizeof(m));
	memcpy(m, &r, sizeof(r));
	if (n)
		memcpy(m + 28, v, n);
	nv_rec(b, NV_RNDIS, m, 28 + n);
}

/* The same through op 7 (the target wraps it). */
static void
nv_oid(struct buf *b, bool query, uint32_t oid, const void *v, uint32_t n)
{
	uint8_t m[1024];

	CHECK(4 + n <= sizeof(m));
	memcpy(m, &oid, 4);
	if (n)
		memcpy(m + 4, v, n);
	nv_rec(b, (uint8_t)(NV_OID | (query ? 0x08 : 0)), m, 4 + n);
}

struct nv_rss {
	struct ndis_rss_params p;
	uint32_t ind[128];
	uint8_t key[40];
};

static void
nv_rss_init(struct nv_rss *r, uint16_t flags, uint32_t queues)
{
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->p.hdr.type = NDIS_OBJTYPE_RSS_PARAMS;
	r->p.hdr.rev = 2;
	r->p.hdr.size = sizeof(r->p);
	r->p.flags = flags;
	r->p.hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_IPV4 | NDIS_HASH_TCP_IPV4 |
			 NDIS_HASH_IPV6 | NDIS_HASH_TCP_IPV6;
	r->p.indir_size = sizeof(r->ind);
	r->p.indir_offset = offsetof(struct nv_rss, ind);
	r->p.key_size = 40;
	r->p.key_offset = offsetof(struct nv_rss, key);
	for (i = 0; i < 128; i++)
		r->ind[i] = i % queues;
	for (i = 0; i < 40; i++)
		r->key[i] = (uint8_t)(0x6d + 3 * i);
}

static void
nv_offload_params(struct ndis_offload_params *op)
{
	memset(op, 0, sizeof(*op));
	op->hdr.type = NDIS_OBJTYPE_DEFAULT;
	op->hdr.rev = 3;
	op->hdr.size = sizeof(*op);
	op->tcp4_csum = op->tcp6_csum = NDIS_OFFLOAD_PARAM_TXRX;
	op->udp4_csum = op->udp6_csum = NDIS_OFFLOAD_PARAM_TX;
	op->lsov2_ip4 = op->lsov2_ip6 = NDIS_OFFLOAD_LSO_ON;
}

/* A PACKET message with per-packet info @p pi and a @p flen-byte frame. */
static void
nv_pkt(struct buf *b, const struct rndis_pkt_info *pi, uint32_t flen)
{
	uint8_t m[2048];
	uint32_t hl = rndis_pkt_build_len(pi), i;

	CHECK(hl + flen <= sizeof(m));
	rndis_pkt_build(m, flen, pi);
	for (i = 0; i < flen; i++)
		m[hl + i] = (uint8_t)(i * 7);
	nv_rec(b, NV_PKT, m, hl + flen);
}

static void
nv_emit(const char *name, struct buf *b)
{
	write_file("netvsp", name, b->p, b->n);
	b->n = 0;
}

static void
gen_netvsp(void)
{
	struct buf s = {0};
	struct ndis_offload oin;
	struct ndis_rss_caps rin;
	struct ndis_offload_params op;
	struct nv_rss rss;
	struct rndis_pkt_info pi;
	uint32_t rid = 1, v, i;

	/* The DPDK netvsc guest: hn_nvs_attach, hn_rndis_init, probe queries, configure
	 * (offloads, subchannels, RSS), start (filter), a few packets, detach. */
	nv_config(&s, 1500);
	nv_attach(&s, 1514, NVSP_CHIM_SIG);
	nv_rndis_simple(&s, RNDIS_MSG_INIT, rid++);
	nv_rndis_oid(&s, RNDIS_MSG_QUERY, rid++, OID_802_3_PERMANENT_ADDRESS, NULL, 0);
	memset(&oin, 0, sizeof(oin));
	oin.hdr.type = NDIS_OBJTYPE_OFFLOAD;
	oin.hdr.rev = 3;
	oin.hdr.size = sizeof(oin);
	nv_rndis_oid(&s, RNDIS_MSG_QUERY, rid++, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &oin,
		     sizeof(oin));
	memset(&rin, 0, sizeof(rin));
	rin.hdr.type = NDIS_OBJTYPE_RSS_CAPS;
	rin.hdr.rev = 2;
	rin.hdr.size = NDIS_RSS_CAPS_SIZE;
	nv_rndis_oid(&s, RNDIS_MSG_QUERY, rid++, OID_GEN_RECEIVE_SCALE_CAPABILITIES, &rin,
		     NDIS_RSS_CAPS_SIZE);
	nv_rndis_oid(&s, RNDIS_MSG_QUERY, rid++, OID_GEN_MEDIA_CONNECT_STATUS, NULL, 0);
	nv_rndis_oid(&s, RNDIS_MSG_QUERY, rid++, OID_GEN_LINK_SPEED, NULL, 0);
	nv_offload_params(&op);
	nv_rndis_oid(&s, RNDIS_MSG_SET, rid++, OID_TCP_OFFLOAD_PARAMETERS, &op, sizeof(op));
	{
		struct nvsp_subch_req sr = {.type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOC,
					    .nsubch = 3};

		nv_rec(&s, NV_NVSP, &sr, sizeof(sr));
	}
	nv_rss_init(&rss, NDIS_RSS_FLAG_DISABLE, 4);
	nv_rndis_oid(&s, RNDIS_MSG_SET, rid++, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss,
		     sizeof(rss));
	nv_rss_init(&rss, 0, 4);
	nv_rndis_oid(&s, RNDIS_MSG_SET, rid++, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss,
		     sizeof(rss));
	nv_rec(&s, NV_OWNER | 0x38, NULL, 0); /* status + indirection table */
	v = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_ALL_MULTICAST | NDIS_PACKET_TYPE_BROADCAST;
	nv_rndis_oid(&s, RNDIS_MSG_SET, rid++, OID_GEN_CURRENT_PACKET_FILTER, &v, 4);
	memset(&pi, 0, sizeof(pi));
	pi.has_hash = 1;
	pi.hash_value = 2;
	pi.has_csum = 1;
	pi.csum_info = NDIS_TXCSUM_INFO_IPV4 | NDIS_TXCSUM_INFO_TCPCS | (34u << 16);
	nv_pkt(&s, &pi, 60);
	nv_rec(&s, NV_CLEAR, NULL, 0);
	nv_rndis_simple(&s, RNDIS_MSG_KEEPALIVE, rid++);
	nv_detach(&s);
	nv_rndis_simple(&s, RNDIS_MSG_HALT, rid++);
	nv_emit("n00-dpdk-session", &s);

	/* A Linux-like guest: jumbo frames, send buffer id 0, queries, config parameter,
	 * multicast list, HALT, revoke, and a new negotiation on the same channel. */
	nv_config(&s, 9000);
	nv_attach(&s, 9014, 0);
	nv_rndis_simple(&s, RNDIS_MSG_INIT, rid++);
	nv_rndis_oid(&s, RNDIS_MSG_QUERY, rid++, OID_GEN_MAXIMUM_FRAME_SIZE, NULL, 0);
	nv_rndis_oid(&s, RNDIS_MSG_QUERY, rid++, OID_GEN_SUPPORTED_LIST, NULL, 0);
	nv_rndis_oid(&s, RNDIS_MSG_QUERY, rid++, OID_TCP_OFFLOAD_CURRENT_CONFIG, NULL, 0);
	{
		uint8_t cp[20 + 32];
		struct rndis_config_param c = {.name_offset = 20, .name_len = 16, .type = 2,
					       .value_offset = 36, .value_len = 16};

		memset(cp, 0, sizeof(cp));
		memcpy(cp, &c, sizeof(c));
		nv_rndis_oid(&s, RNDIS_MSG_SET, rid++, OID_GEN_RNDIS_CONFIG_PARAMETER, cp,
			     sizeof(cp));
	}
	{
		uint8_t mc[12] = {0x01, 0x00, 0x5e, 0, 0, 1, 0x33, 0x33, 0, 0, 0, 1};

		nv_rndis_oid(&s, RNDIS_MSG_SET, rid++, OID_802_3_MULTICAST_LIST, mc, sizeof(mc));
	}
	nv_rndis_simple(&s, RNDIS_MSG_RESET, rid++);
	nv_rndis_simple(&s, RNDIS_MSG_HALT, rid++);
	nv_detach(&s);
	nv_attach(&s, 1514, NVSP_CHIM_SIG);
	nv_rndis_simple(&s, RNDIS_MSG_INIT, rid++);
	nv_rec(&s, NV_REOPEN, NULL, 0);
	nv_attach(&s, 1514, 0);
	nv_emit("n01-linux-session", &s);

	/* Versions: each one, ranges, refusals. */
	nv_config(&s, 1500);
	{
		static const uint32_t r[][2] = {
			{3, 3}, {0x70000, 0x70000}, {0x60001, 2}, {2, 2}, {0x30002, 0x30002},
			{0x40000, 0x40000}, {0x50000, 0x50000}, {0x60000, 0x60000},
			{2, 0xFFFFFFFF}};

		for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
			nv_rec(&s, NV_REOPEN, NULL, 0);
			nv_init(&s, r[i][0], r[i][1]);
		}
	}
	nv_emit("n02-version-sweep", &s);

	/* Out of order and malformed NVSP: before INIT, before NDIS_INIT, short, bad ids,
	 * unknown types, RNDIS before the receive buffer. */
	nv_config(&s, 1500);
	{
		struct nvsp_rxbuf_conn rc = {.type = NVSP_MSG_RXBUF_CONN, .gpadl = 1,
					     .sig = NVSP_RXBUF_SIG};
		struct nvsp_ndis_init ni = {.type = NVSP_MSG_NDIS_INIT, .ndis_major = 6,
					    .ndis_minor = 30};
		uint32_t t;

		nv_rec(&s, NV_NVSP, &rc, sizeof(rc));
		nv_init(&s, NVSP_VERSION_61, NVSP_VERSION_61);
		nv_rec(&s, NV_NVSP, &rc, sizeof(rc));
		nv_rndis_simple(&s, RNDIS_MSG_INIT, rid++);
		nv_rec(&s, NV_NVSP, &ni, 11);
		nv_rec(&s, NV_NVSP, &ni, sizeof(ni));
		rc.sig = 0xCAFF;
		nv_rec(&s, NV_NVSP, &rc, sizeof(rc));
		rc.sig = NVSP_RXBUF_SIG;
		nv_rec(&s, NV_NVSP, &rc, 9);
		for (t = 0; t < 4; t++)
			nv_rec(&s, NV_NVSP, &rc, t);
		t = 134;
		nv_rec(&s, NV_NVSP, &t, 4);
		t = NVSP_MSG_RNDIS;
		nv_rec(&s, NV_NVSP, &t, 4);
		nv_rec(&s, NV_NVSP | 0x08, &rc, sizeof(rc)); /* no room for the response */
		nv_rec(&s, NV_NVSP, &rc, sizeof(rc));
		nv_rec(&s, NV_NVSP, &rc, sizeof(rc)); /* twice */
		nv_rndis_simple(&s, RNDIS_MSG_INIT, rid++);
		nv_rndis_simple(&s, RNDIS_MSG_INIT, rid++); /* twice */
		nv_rec(&s, NV_RNDIS, &rc, 7);
	}
	nv_emit("n03-malformed-order", &s);

	/* PACKET messages: every per-packet info, aggregation, an odd element. */
	nv_config(&s, 1500);
	memset(&pi, 0, sizeof(pi));
	nv_pkt(&s, &pi, 14);
	pi.has_hash = 1;
	pi.hash_value = 0x12345678;
	pi.hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4;
	nv_pkt(&s, &pi, 60);
	pi.has_vlan = 1;
	pi.vlan_tci = 0x6064;
	pi.has_csum = 1;
	pi.csum_info = NDIS_RXCSUM_INFO_TCPCS_OK | NDIS_RXCSUM_INFO_IPCS_OK;
	pi.has_lso = 1;
	pi.lso_info = NDIS_LSO2_INFO_ISLSO2 | (54u << 20) | 1448;
	nv_pkt(&s, &pi, 1514);
	{
		uint8_t m[2 * 128];
		uint32_t l1, l2;
		struct rndis_pkt_info a = {.has_hash = 1, .hash_value = 1};

		memset(m, 0, sizeof(m));
		l1 = rndis_pkt_build(m, 20, &a) + 20;
		l1 = (l1 + 7) & ~7u;
		memcpy(m + 4, &l1, 4);
		l2 = rndis_pkt_build(m + l1, 30, NULL) + 30;
		nv_rec(&s, NV_PKT, m, l1 + l2);
		/* An unknown element type in the middle. */
		a.has_vlan = 1;
		l1 = rndis_pkt_build(m, 20, &a);
		v = 5;
		memcpy(m + 44 + 16 + 4, &v, 4);
		nv_rec(&s, NV_PKT, m, l1 + 20);
	}
	nv_emit("n04-packets", &s);

	/* OID values through op 7 on a ready engine. */
	nv_config(&s, 1500);
	nv_attach(&s, 1514, NVSP_CHIM_SIG);
	nv_rndis_simple(&s, RNDIS_MSG_INIT, rid++);
	{
		struct nvsp_subch_req sr = {.type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOC,
					    .nsubch = 2};

		nv_rec(&s, NV_NVSP, &sr, sizeof(sr));
	}
	nv_rss_init(&rss, 0, 3);
	nv_oid(&s, false, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss));
	nv_rss_init(&rss, NDIS_RSS_FLAG_KEY_UNCHG | NDIS_RSS_FLAG_HASH_UNCHG, 2);
	nv_oid(&s, false, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss));
	nv_offload_params(&op);
	nv_oid(&s, false, OID_TCP_OFFLOAD_PARAMETERS, &op, sizeof(op));
	{
		uint8_t mc[6 * 4];

		for (i = 0; i < sizeof(mc); i++)
			mc[i] = (uint8_t)i;
		nv_oid(&s, false, OID_802_3_MULTICAST_LIST, mc, sizeof(mc));
	}
	v = NDIS_PACKET_TYPE_PROMISCUOUS;
	nv_oid(&s, false, OID_GEN_CURRENT_PACKET_FILTER, &v, 4);
	nv_oid(&s, true, OID_802_3_MULTICAST_LIST, NULL, 0);
	nv_oid(&s, true, OID_GEN_RECEIVE_SCALE_CAPABILITIES, NULL, 0);
	nv_oid(&s, true, OID_GEN_VENDOR_DESCRIPTION, NULL, 0);
	nv_oid(&s, true, 0x00020101, NULL, 0); /* unknown */
	{
		struct nvsp_subch_req sr = {.type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOC,
					    .nsubch = 0};

		nv_rec(&s, NV_NVSP, &sr, sizeof(sr)); /* drops the RSS table */
	}
	nv_emit("n05-oid-values", &s);

	/* Owner failures: map fails, map returns no address, alloc fails or over-grants. */
	nv_config(&s, 1500);
	nv_rec(&s, NV_FAKE | 0x08, NULL, 0);
	nv_attach(&s, 1514, NVSP_CHIM_SIG);
	nv_rec(&s, NV_FAKE | 0x10, NULL, 0);
	{
		struct nvsp_rxbuf_conn rc = {.type = NVSP_MSG_RXBUF_CONN, .gpadl = 2,
					     .sig = NVSP_RXBUF_SIG};
		struct nvsp_subch_req sr = {.type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOC,
					    .nsubch = 3};

		nv_rec(&s, NV_NVSP, &rc, sizeof(rc));
		nv_rec(&s, NV_FAKE, NULL, 0);
		nv_rec(&s, NV_NVSP, &rc, sizeof(rc));
		nv_rec(&s, NV_FAKE | 0x20, NULL, 0);
		nv_rec(&s, NV_NVSP, &sr, sizeof(sr));
		nv_rec(&s, NV_FAKE | 0x40, NULL, 0);
		nv_rec(&s, NV_NVSP, &sr, sizeof(sr));
	}
	nv_rec(&s, NV_REOPEN, NULL, 0);
	nv_emit("n06-owner-failures", &s);

	/* Every OID a guest might query, and the SETs the host accepts or refuses. */
	nv_config(&s, 1500);
	nv_attach(&s, 1514, NVSP_CHIM_SIG);
	nv_rndis_simple(&s, RNDIS_MSG_INIT, rid++);
	{
		static const uint32_t oids[] = {
			OID_GEN_SUPPORTED_LIST, OID_GEN_HARDWARE_STATUS, OID_GEN_MEDIA_SUPPORTED,
			OID_GEN_MEDIA_IN_USE, OID_GEN_MAXIMUM_LOOKAHEAD, OID_GEN_CURRENT_LOOKAHEAD,
			OID_GEN_MAXIMUM_FRAME_SIZE, OID_GEN_MAXIMUM_TOTAL_SIZE,
			OID_GEN_TRANSMIT_BLOCK_SIZE, OID_GEN_RECEIVE_BLOCK_SIZE, OID_GEN_LINK_SPEED,
			OID_GEN_VENDOR_ID, OID_GEN_VENDOR_DESCRIPTION,
			OID_GEN_VENDOR_DRIVER_VERSION, OID_GEN_DRIVER_VERSION, OID_GEN_CURRENT_PACKET_FILTER, OID_GEN_MAC_OPTIONS,
			OID_GEN_MEDIA_CONNECT_STATUS, OID_GEN_MAXIMUM_SEND_PACKETS,
			OID_802_3_PERMANENT_ADDRESS, OID_802_3_CURRENT_ADDRESS,
			OID_802_3_MULTICAST_LIST, OID_802_3_MAXIMUM_LIST_SIZE,
			OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, OID_TCP_OFFLOAD_CURRENT_CONFIG,
			OID_GEN_RECEIVE_SCALE_CAPABILITIES, OID_GEN_NETWORK_LAYER_ADDRESSES,
			OID_OFFLOAD_ENCAPSULATION, OID_GEN_RNDIS_CONFIG_PARAMETER};
		uint8_t val[6 * 33];

		for (i = 0; i < sizeof(oids) / sizeof(oids[0]); i++)
			nv_oid(&s, true, oids[i], NULL, 0);
		memset(val, 0, sizeof(val));
		for (i = 0; i < sizeof(oids) / sizeof(oids[0]); i++)
			nv_oid(&s, false, oids[i], val, 28);
		nv_oid(&s, false, OID_802_3_MULTICAST_LIST, val, sizeof(val)); /* one too many */
		nv_oid(&s, false, OID_802_3_MULTICAST_LIST, val, 7);
		nv_oid(&s, false, OID_GEN_CURRENT_PACKET_FILTER, val, 3);
	}
	nv_emit("n07-every-oid", &s);
	free(s.p);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	gen_restore_real();
	gen_restore_edited();
	gen_ring();
	gen_packet();
	gen_channel();
	gen_bus();
	gen_netvsp();
	return 0;
}
