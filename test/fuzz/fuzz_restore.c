/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * libFuzzer target: vmb_channel_restore() on hostile save streams.
 *
 * Input: a save stream as a save loop writes it to a file, i.e. chunks back to back, each
 * framed by its own header (32 bytes + payload_len; a header that claims more than is left
 * takes the rest, a tail shorter than a header is given as it is). Each chunk goes to a fresh
 * server channel in an exact-size heap copy. A custom mutator repairs payload_len and CRC32C
 * after most mutations, so mutants get past the integrity check and reach the record parser
 * (crash files stay valid streams: `vmb-inspect save` reads them).
 *
 * Checks: every result is one of the documented errors; a refused chunk leaves the channel
 * untouched (nothing pending, no VSP state alive). When the stream is accepted: the packets
 * pending match what the VSP re-created; the channel enables, opens on rings placed where the
 * stream says the incoming side stopped, optionally runs a pass, and saves again; that second
 * stream must restore on another channel with the same packets (same VSP bytes; library parts
 * identical but for reserved words, unless the first stream had a longer library header);
 * disable retires every packet exactly once and cleanup leaves nothing behind.
 *
 * Regression seeds: corpus/restore/e09-empty-first-chunk (an empty first chunk was staged with
 * memcpy to a NULL buffer: UBSan "applying zero offset to null pointer").
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_save.h>
#include <vmb/vmb_save_format.h>
#include <vmb/vmb_transport.h>

#include "fuzz_common.h"
#include "fuzz_vsp.h"

#define RING_SIZE 16384u
#define MAX_CHUNKS 4096u

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
process_none(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	vmb_rx_complete(rx, NULL, 0);
}

/* Length of the chunk at the start of @p p (see the file comment). */
static size_t
frame(const uint8_t *p, size_t n)
{
	struct vmb_save_chunk_hdr h;

	if (n < sizeof(h))
		return n;
	memcpy(&h, p, sizeof(h));
	if (h.payload_len > n - sizeof(h))
		return n;
	return sizeof(h) + h.payload_len;
}

/* Mutate, then (7 times in 8) make every chunk's length and CRC consistent again. */
size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size_t off = 0;

	size = LLVMFuzzerMutate(data, size, max_size);
	if ((seed & 7) == 0)
		return size;
	while (size - off >= sizeof(struct vmb_save_chunk_hdr)) {
		struct vmb_save_chunk_hdr h;
		size_t n;

		memcpy(&h, data + off, sizeof(h));
		if (h.payload_len > size - off - sizeof(h))
			h.payload_len = (uint32_t)(size - off - sizeof(h));
		h.crc = 0;
		memcpy(data + off, &h, sizeof(h));
		n = sizeof(h) + h.payload_len;
		h.crc = vmb_crc32c(0, data + off, n);
		memcpy(data + off, &h, sizeof(h));
		off += n;
	}
	return size;
}

static bool
restore_rc_ok(int rc)
{
	switch (rc) {
	case 0:
	case -EINPROGRESS:
	case -ENOTSUP:
	case -EPROTO:
	case -EMSGSIZE:
	case -EBADMSG:
	case -EILSEQ:
	case -EXDEV:
	case -ENOSPC: /* the VSP's own error (FZ_VSP_FAIL) */
	case -EEXIST: /* vmb_packet_restore(): a transaction restored twice */
		return true;
	default:
		return false;
	}
}

/* The channel record of an accepted stream (first record of the first chunk). */
static bool
channel_record(const uint8_t *data, size_t size, struct vmb_save_channel_v1 *c)
{
	struct vmb_save_rec_hdr r;

	if (size < VMB_SAVE_CHUNK_HEADER + sizeof(r) + sizeof(*c))
		return false;
	memcpy(&r, data + VMB_SAVE_CHUNK_HEADER, sizeof(r));
	if (r.tag != VMB_SAVE_TAG_CHANNEL || r.len < sizeof(*c))
		return false;
	memcpy(c, data + VMB_SAVE_CHUNK_HEADER + sizeof(r), sizeof(*c));
	return true;
}

struct stream {
	uint8_t *chunk[MAX_CHUNKS];
	size_t len[MAX_CHUNKS];
	uint32_t n;
};

static void
stream_free(struct stream *s)
{
	while (s->n)
		free(s->chunk[--s->n]);
}

/* Save @p ch (paused) into chunks of at most @p cap bytes, growing on -ENOBUFS. */
static void
save_stream(struct vmb_channel *ch, size_t cap, struct stream *s)
{
	int rc;

	FZ_CHECK(vmb_channel_save_begin(ch) == 0);
	for (;;) {
		size_t filled = 0, required = 0;
		uint8_t *buf = malloc(cap);
		struct vmb_save_chunk_info info;

		FZ_CHECK(buf != NULL);
		rc = vmb_channel_save_continue(ch, buf, cap, &filled, &required);
		if (rc == -ENOBUFS) {
			FZ_CHECK(filled == 0 && required > cap);
			free(buf);
			cap = required;
			continue;
		}
		FZ_CHECK(rc == 0 || rc == -EOVERFLOW);
		FZ_CHECK(filled <= cap && s->n < MAX_CHUNKS);
		FZ_CHECK(vmb_save_chunk_info(buf, filled, &info) == 0 && info.crc_ok);
		FZ_CHECK(info.seq == s->n);
		s->chunk[s->n] = buf;
		s->len[s->n++] = filled;
		if (rc == 0)
			break;
		if (required > cap)
			cap = required;
	}
	vmb_channel_save_end(ch);
}

/* Packets re-created on @p b from the second stream match those of @p a, transaction by
 * transaction: same VSP bytes, and the same library part unless the first stream's library
 * header was longer than this build's (its extra bytes are not carried). */
static void
compare_packets(struct vmb_channel *a, struct vmb_channel *b)
{
	const struct fz_vsp_pkt *pb;
	struct fz_vsp_pkt *pa;

	for (pb = fz_vsp_list; pb; pb = pb->next) {
		struct vmb_save_lib_v1 la;

		if (pb->ch != b)
			continue;
		for (pa = fz_vsp_list; pa; pa = pa->next)
			if (pa->ch == a && pa->xid == pb->xid)
				break;
		FZ_CHECK(pa != NULL);
		FZ_CHECK(pa->vsp_len == pb->vsp_len && memcmp(pa->vsp, pb->vsp, pa->vsp_len) == 0);
		memcpy(&la, pa->lib, sizeof(la));
		if (la.hdr_size == sizeof(la)) {
			/* Reserved words of the ranges are not carried (written as zero). */
			uint32_t r;
			for (r = 0; r < la.ext_count; r++)
				memset(pa->lib + sizeof(la) + r * sizeof(struct vmb_save_range_v1) +
					       offsetof(struct vmb_save_range_v1, reserved),
				       0, 4);
		}
		if (la.hdr_size == sizeof(la) &&
		    (pa->lib_len != pb->lib_len || memcmp(pa->lib, pb->lib, pa->lib_len) != 0)) {
			uint32_t i;
			fprintf(stderr, "library part of xid 0x%llx changed by save/restore:\n",
				(unsigned long long)pa->xid);
			for (i = 0; i < pa->lib_len || i < pb->lib_len; i++)
				fprintf(stderr, "%4u: %02x %02x%s\n", i,
					i < pa->lib_len ? pa->lib[i] : 0, i < pb->lib_len ? pb->lib[i] : 0,
					i < pa->lib_len && i < pb->lib_len && pa->lib[i] == pb->lib[i]
						? ""
						: " <");
			abort();
		}
	}
}

static void
after_restore(struct vmb_channel *ch, const uint8_t *data, size_t size, uint64_t mix)
{
	struct vmb_save_channel_v1 c;
	struct fz_flat_ring in, out;
	struct vmb_channel_link link;
	struct vmb_channel *b;
	struct stream s = {0};
	uint32_t pending, i;
	bool opened = false;
	int rc;

	FZ_CHECK(vmb_channel_state(ch) == VMB_CHANNEL_DISABLED);
	FZ_CHECK((long)vmb_channel_pending_tx(ch) == fz_vsp_live);
	/* A second stream on a channel with restored packets is refused. */
	if (fz_vsp_live)
		FZ_CHECK(vmb_channel_restore(ch, data, frame(data, size)) == -EPERM);
	FZ_CHECK(vmb_channel_enable(ch) == 0);
	FZ_CHECK(vmb_channel_state(ch) == VMB_CHANNEL_ENABLED);

	/* Open on rings whose indices put the saved read position inside published data. */
	fz_flat_ring_init(&in, RING_SIZE);
	fz_flat_ring_init(&out, RING_SIZE);
	if (channel_record(data, size, &c) && c.read_cursor < RING_SIZE && c.read_cursor % 8 == 0) {
		uint32_t committed = c.read_committed < RING_SIZE && c.read_committed % 8 == 0
					     ? c.read_committed
					     : c.read_cursor;
		in.m.ctl->rindex = committed;
		in.m.ctl->windex = c.read_cursor;
	}
	memset(&link, 0, sizeof(link));
	link.incoming = in.m;
	link.outgoing = out.m;
	link.signal_fd = link.wait_fd = -1;
	rc = vmb_channel_link_open(ch, &link);
	FZ_CHECK(rc == 0 || rc == -EIO);
	opened = rc == 0;
	if (opened && (mix & 1)) {
		/* Restored queued packets and owed completions go out; then quiesce again. */
		FZ_CHECK(vmb_channel_start(ch) == 0);
		rc = vmb_channel_poll(ch, 64);
		FZ_CHECK(rc >= 0);
		FZ_CHECK(vmb_channel_pause(ch) == 0);
	}

	/* Save again and restore that stream on another channel. */
	pending = vmb_channel_pending_tx(ch);
	save_stream(ch, 64 + (mix >> 8) % 4096, &s);
	FZ_CHECK(fz_vsp_new_server(process_none, &b) == 0);
	{
		long before = fz_vsp_live;
		for (i = 0; i < s.n; i++) {
			rc = vmb_channel_restore(b, s.chunk[i], s.len[i]);
			FZ_CHECK(rc == (i + 1 < s.n ? -EINPROGRESS : 0));
		}
		FZ_CHECK(vmb_channel_pending_tx(b) == pending);
		FZ_CHECK(fz_vsp_live - before == (long)pending);
	}
	if (!(mix & 1))
		compare_packets(ch, b);
	stream_free(&s);

	/* Disable retires every packet once (through fz_vsp_done); cleanup frees the rest. */
	FZ_CHECK(vmb_channel_disable(ch) == 0);
	FZ_CHECK(vmb_channel_pending_tx(ch) == 0);
	FZ_CHECK(vmb_channel_cleanup(ch) == 0);
	FZ_CHECK(vmb_channel_enable(b) == 0);
	FZ_CHECK(vmb_channel_disable(b) == 0);
	FZ_CHECK(vmb_channel_cleanup(b) == 0);
	FZ_CHECK(fz_vsp_live == 0);
	fz_flat_ring_fini(&in);
	fz_flat_ring_fini(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmb_channel *ch;
	size_t off = 0;
	int rc = -EPROTO;
	uint64_t mix = 1469598103934665603ull;
	size_t i;

	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	for (i = 0; i < size; i++)
		mix = (mix ^ data[i]) * 1099511628211ull;
	FZ_CHECK(fz_vsp_new_server(process_none, &ch) == 0);
	while (off < size) {
		size_t n = frame(data + off, size - off);
		uint8_t *chunk = malloc(n);

		FZ_CHECK(chunk != NULL);
		memcpy(chunk, data + off, n);
		rc = vmb_channel_restore(ch, chunk, n);
		free(chunk);
		if (verbose)
			fprintf(stderr, "chunk at %zu (%zu bytes): %d\n", off, n, rc);
		if (!restore_rc_ok(rc)) {
			fprintf(stderr, "vmb_channel_restore: unexpected %d at offset %zu\n", rc, off);
			abort();
		}
		off += n;
		if (rc == 0)
			break;
		if (rc != -EINPROGRESS) {
			/* Refused: nothing was re-created (an apply failure undid everything). */
			FZ_CHECK(vmb_channel_pending_tx(ch) == 0 && fz_vsp_live == 0);
		}
	}
	if (rc == 0) {
		if (verbose)
			fprintf(stderr, "restored %ld packet(s)\n", fz_vsp_live);
		after_restore(ch, data, size, mix);
		return 0;
	}
	FZ_CHECK(vmb_channel_pending_tx(ch) == 0 && fz_vsp_live == 0);
	/* A restore left half done: abort it, or let cleanup drop it. */
	if (mix & 2)
		vmb_channel_restore_abort(ch);
	FZ_CHECK(vmb_channel_cleanup(ch) == 0);
	return 0;
}
