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
	return 0;
}
