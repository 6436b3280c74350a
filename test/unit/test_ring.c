/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Ring layer (vmb_ring.h): signalling decisions of writer and reader, pending-send flow control,
 * exact-full space arithmetic, wrap-around at every 8-byte offset on double-mapped and
 * split-copy rings, two-phase batch commit/revert, hostile indices and descriptors, attach
 * validation, and a fixed-seed garbage loop that must only ever produce statuses.
 */
#include "test_util.h"

#define D4K 4096u
#define D8K 8192u

/* Payload giving a packet of @p total bytes on the ring (trailer included). */
static uint32_t
payload_for_total(uint32_t total)
{
	return total - VMB_RING_TRAILER_SIZE - (uint32_t)sizeof(struct vmbus_chanpkt_hdr);
}

/* Write one INBAND packet with a payload pattern derived from @p xid. */
static enum vmb_ring_status
put_inband(struct vmb_ring_writer *w, uint64_t xid, uint32_t len)
{
	uint8_t buf[8192];

	assert_true(len <= sizeof(buf));
	tu_pattern(buf, len, (uint32_t)xid);
	return vmb_pkt_write_inband(w, xid, 0, buf, len);
}

/* Write @p n packets of @p total ring bytes each, then commit; returns the commit's decision. */
static bool
put_batch(struct vmb_ring_writer *w, uint32_t n, uint32_t total, uint64_t xid0)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(put_inband(w, xid0 + i, payload_for_total(total)), VMB_RING_OK);
	return vmb_ring_write_commit(w);
}

/* Read @p n packets (asserting they exist); optionally commit them. */
static bool
take(struct vmb_ring_reader *r, uint32_t n, bool commit)
{
	struct vmb_ring_pkt p;
	uint32_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(vmb_ring_read(r, &p), VMB_RING_OK);
	return commit ? vmb_ring_read_commit(r) : false;
}

/* ------------------------------------------------------------------------------------------ */

static void
test_status_str(void **state)
{
	static const enum vmb_ring_status all[] = {VMB_RING_OK, VMB_RING_EMPTY, VMB_RING_FULL,
						    VMB_RING_TOO_LARGE, VMB_RING_CORRUPT};
	size_t i, j;

	(void)state;
	for (i = 0; i < TU_ARRAY_SIZE(all); i++) {
		assert_non_null(vmb_ring_status_str(all[i]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(vmb_ring_status_str(all[i]),
						vmb_ring_status_str(all[j]));
	}
	assert_string_equal(vmb_ring_status_str((enum vmb_ring_status)99), "unknown");
}

static void
test_format_and_layout(void **state)
{
	struct tu_ring r;
	struct vmb_ring_writer w;
	const uint8_t *raw;
	uint32_t v;
	size_t i;

	(void)state;
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	memset((void *)r.m.ctl, 0xA5, VMB_RING_CTL_SIZE);
	vmb_ring_format(r.m.ctl);
	raw = (const uint8_t *)r.m.ctl;
	for (i = 0; i < VMB_RING_CTL_SIZE; i++)
		if (i < 8 || i >= 12)
			assert_int_equal(raw[i], 0);
	memcpy(&v, raw + 8, 4);
	assert_int_equal(v, 1); /* interrupt_mask = 1: poll mode */

	/* The writer announces pending_send_size support in feature_bits (offset 64, bit 0). */
	tu_attach(&r, &w, NULL);
	memcpy(&v, raw + 64, 4);
	assert_int_equal(v, VMB_RING_FEAT_PENDING_SEND_SZ);
	tu_ring_fini(&r);
}

/*
 * Writer signalling: one windex store per batch, and a signal iff interrupt_mask == 0 and the
 * ring was empty before the batch (read_index == old write_index).
 */
struct signal_case {
	const char *name;
	uint32_t imask;    /* reader's interrupt_mask during the batch */
	uint32_t prefill;  /* packets committed before the batch */
	uint32_t consumed; /* of those, read by the reader */
	bool commit_read;  /* the reader committed what it read */
	uint32_t batch;    /* packets in the batch */
	bool signal;       /* expected decision */
};

static const struct signal_case signal_cases[] = {
	{"empty, unmasked, 1 packet", 0, 0, 0, false, 1, true},
	{"empty, unmasked, batch of 7", 0, 0, 0, false, 7, true},
	{"empty, masked", 1, 0, 0, false, 1, false},
	{"empty, masked, batch of 7", 1, 0, 0, false, 7, false},
	{"non-empty, unmasked", 0, 2, 0, false, 1, false},
	{"partially consumed, unmasked", 0, 3, 2, true, 1, false},
	{"all read, not committed", 0, 3, 3, false, 1, false},
	{"all consumed, unmasked", 0, 3, 3, true, 4, true},
	{"all consumed, masked", 1, 3, 3, true, 4, false},
	{"empty batch, unmasked", 0, 0, 0, false, 0, false},
	{"empty batch after consume", 0, 2, 2, true, 0, false},
};

static void
test_writer_signal_edges(void **state)
{
	size_t c;

	(void)state;
	for (c = 0; c < TU_ARRAY_SIZE(signal_cases); c++) {
		const struct signal_case *sc = &signal_cases[c];
		struct tu_ring r;
		struct vmb_ring_writer w;
		struct vmb_ring_reader rd;
		uint32_t before, i, n;
		struct vmb_ring_pkt p;

		tu_ring_init(&r, TU_RING_PLAIN, D4K);
		tu_attach(&r, &w, &rd);
		vmb_ring_reader_set_mask(&rd, true);
		if (sc->prefill)
			TU_EQ(sc->name, put_batch(&w, sc->prefill, 64, 100), false);
		take(&rd, sc->consumed, sc->commit_read);
		vmb_ring_reader_set_mask(&rd, sc->imask != 0);
		TU_EQ(sc->name, r.m.ctl->imask, sc->imask);

		before = r.m.ctl->windex;
		for (i = 0; i < sc->batch; i++) {
			TU_EQ(sc->name, put_inband(&w, 200 + i, 40), VMB_RING_OK);
			/* nothing is published until the commit */
			TU_EQ(sc->name, r.m.ctl->windex, before);
		}
		TU_EQ(sc->name, vmb_ring_write_commit(&w), sc->signal);
		TU_EQ(sc->name, r.m.ctl->windex, before + sc->batch * 64);
		/* a second commit with nothing new neither stores nor signals */
		TU_EQ(sc->name, vmb_ring_write_commit(&w), false);
		TU_EQ(sc->name, r.m.ctl->windex, before + sc->batch * 64);

		/* the reader sees exactly the unread prefill followed by the batch */
		vmb_ring_read_revert(&rd);
		n = 0;
		while (vmb_ring_read(&rd, &p) == VMB_RING_OK)
			n++;
		TU_EQ(sc->name, n, sc->prefill - (sc->commit_read ? sc->consumed : 0) + sc->batch);
		tu_ring_fini(&r);
	}
}

/*
 * Reader signalling: with the feature bit set and pending_send_size != 0, signal iff free space
 * crossed from < pending to >= pending in this commit.
 */
struct pending_case {
	const char *name;
	bool feature;
	uint32_t pending;
	uint32_t read; /* packets of 64 bytes consumed in one commit; ring holds 60 (free 256) */
	bool signal;
};

static const struct pending_case pending_cases[] = {
	{"pending 0", true, 0, 10, false},
	{"feature bit clear", false, 512, 10, false},
	{"crosses", true, 512, 10, true},
	{"lands exactly on pending", true, 896, 10, true},
	{"stops 8 short", true, 904, 10, false},
	{"free before == pending", true, 256, 10, false},
	{"just above free before", true, 264, 10, true},
	{"already satisfied", true, 128, 10, false},
	{"whole ring freed", true, 4096, 60, true},
	{"one packet, crosses", true, 320, 1, true},
	{"one packet, short", true, 328, 1, false},
	{"nothing committed", true, 512, 0, false},
};

static void
test_reader_pending_send(void **state)
{
	size_t c;

	(void)state;
	for (c = 0; c < TU_ARRAY_SIZE(pending_cases); c++) {
		const struct pending_case *pc = &pending_cases[c];
		struct tu_ring r;
		struct vmb_ring_writer w;
		struct vmb_ring_reader rd;

		tu_ring_init(&r, TU_RING_PLAIN, D4K);
		tu_attach(&r, &w, &rd);
		put_batch(&w, 60, 64, 1);
		TU_EQ(pc->name, vmb_ring_writer_free(&w), 256);
		if (!pc->feature)
			r.m.ctl->feature_bits.value &= ~VMB_RING_FEAT_PENDING_SEND_SZ;
		r.m.ctl->pending_send = pc->pending;
		TU_EQ(pc->name, take(&rd, pc->read, true), pc->signal);
		/* committing the same offset again never signals */
		TU_EQ(pc->name, vmb_ring_read_commit(&rd), false);
		tu_ring_fini(&r);
	}
}

/* A sequence of commits: only the one that crosses signals. */
static void
test_reader_pending_send_sequence(void **state)
{
	static const struct {
		uint32_t read;
		bool signal;
	} steps[] = {{2, false}, {2, false}, {1, true}, {1, false}, {5, false}, {0, false}};
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_pkt p;
	size_t i;

	(void)state;
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	tu_attach(&r, &w, &rd);
	put_batch(&w, 60, 64, 1); /* free 256 */
	r.m.ctl->pending_send = 576; /* reached after 5 packets */
	for (i = 0; i < TU_ARRAY_SIZE(steps); i++) {
		char name[32];
		snprintf(name, sizeof(name), "step %zu", i);
		TU_EQ(name, take(&rd, steps[i].read, true), steps[i].signal);
	}
	/* commit_to a middle packet boundary behaves the same */
	r.m.ctl->pending_send = 1024; /* free now 256 + 11*64 = 960 */
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
	assert_false(vmb_ring_read_commit_to(&rd, rd.committed)); /* no move */
	assert_true(vmb_ring_read_commit_to(&rd, p.end));         /* 1024 */
	tu_ring_fini(&r);
}

/* The blocked writer's side: wait_space / clear_wait and the matching reader signal. */
static void
test_writer_wait_space(void **state)
{
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_pkt p;
	uint32_t k, signals = 0, signalled_at = 0;

	(void)state;
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	tu_attach(&r, &w, &rd);

	/* empty ring: fits now; pending is still announced (caller clears before writing) */
	assert_true(vmb_ring_writer_wait_space(&w, 56));
	assert_int_equal(r.m.ctl->pending_send, D4K / 4);
	vmb_ring_writer_clear_wait(&w);
	assert_int_equal(r.m.ctl->pending_send, 0);
	assert_int_equal(w.pending, 0);

	put_batch(&w, 63, 64, 1); /* free 64: a 64-byte packet does not fit */
	assert_int_equal(vmb_ring_writer_free(&w), 64);
	assert_int_equal(put_inband(&w, 99, 40), VMB_RING_FULL);
	assert_false(vmb_ring_writer_wait_space(&w, 56));
	/* max(56 + 8 + 8, D/4) */
	assert_int_equal(r.m.ctl->pending_send, D4K / 4);
	assert_int_equal(w.pending, D4K / 4);

	/* the reader frees one packet at a time: exactly one commit signals, at free == 1024 */
	for (k = 1; k <= 20; k++) {
		assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
		if (vmb_ring_read_commit(&rd)) {
			signals++;
			signalled_at = k;
		}
	}
	assert_int_equal(signals, 1);
	assert_int_equal(64 + 64 * signalled_at, 1024);

	assert_true(vmb_ring_writer_wait_space(&w, 56));
	assert_int_equal(r.m.ctl->pending_send, D4K / 4);
	vmb_ring_writer_clear_wait(&w);
	assert_int_equal(r.m.ctl->pending_send, 0);
	assert_int_equal(put_inband(&w, 99, 40), VMB_RING_OK);

	/* a packet larger than a quarter ring asks for its own size */
	assert_false(vmb_ring_writer_wait_space(&w, 2000));
	assert_int_equal(r.m.ctl->pending_send, 2000 + 16);

	/* a broken read_index makes the check fail, never report space */
	r.m.ctl->rindex = 3;
	assert_false(vmb_ring_writer_wait_space(&w, 16));
	tu_ring_fini(&r);
}

static void
test_reader_prepare_sleep(void **state)
{
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_pkt p;

	(void)state;
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	tu_attach(&r, &w, &rd);
	assert_int_equal(r.m.ctl->imask, 1);

	assert_true(vmb_ring_reader_prepare_sleep(&rd)); /* empty: may sleep */
	assert_int_equal(r.m.ctl->imask, 0);
	assert_true(put_batch(&w, 1, 64, 1)); /* writer sees the cleared mask and signals */
	assert_false(vmb_ring_reader_prepare_sleep(&rd)); /* data arrived: keep polling */
	assert_int_equal(r.m.ctl->imask, 0);
	take(&rd, 1, true);
	assert_true(vmb_ring_reader_prepare_sleep(&rd));

	/* data read but not committed, more behind it: not empty */
	put_batch(&w, 2, 64, 10);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
	assert_false(vmb_ring_reader_prepare_sleep(&rd));
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
	/* everything read (even if uncommitted): nothing more to wait for but a signal */
	assert_true(vmb_ring_reader_prepare_sleep(&rd));

	vmb_ring_reader_set_mask(&rd, true);
	assert_int_equal(r.m.ctl->imask, 1);
	vmb_ring_reader_set_mask(&rd, false);
	assert_int_equal(r.m.ctl->imask, 0);

	/* a corrupt write_index: not safe to sleep; the next read reports it */
	r.m.ctl->windex = 12;
	assert_false(vmb_ring_reader_prepare_sleep(&rd));
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_CORRUPT);
	tu_ring_fini(&r);
}

/*
 * Space arithmetic: with free space f (set through the indices), a packet of T bytes with
 * trailer fits iff f > T; T > D - 8 never fits.
 */
static void
test_free_space_sweep(void **state)
{
	const uint32_t D = D4K;
	uint32_t f;

	(void)state;
	for (f = 8; f <= D; f += 8) {
		const uint32_t totals[] = {24, 32, 64, 256, D - 8, D, f - 8, f, f + 8};
		size_t t;

		for (t = 0; t < TU_ARRAY_SIZE(totals); t++) {
			uint32_t T = totals[t];
			struct tu_ring r;
			struct vmb_ring_writer w;
			struct vmb_ring_span s = {{NULL, NULL}, {0, 0}};
			enum vmb_ring_status want, got;
			char name[48];

			if (T < 24)
				continue;
			snprintf(name, sizeof(name), "free %u, packet %u", f, T);
			tu_ring_init(&r, TU_RING_PLAIN, D);
			/* free = D - (w - r): reader at 0 (or 8), writer f bytes before it */
			tu_ring_set_indices(&r, (D - f + 8) % D, 8);
			tu_attach(&r, &w, NULL);
			TU_EQ(name, vmb_ring_writer_free(&w), f);
			want = T > D - 8 ? VMB_RING_TOO_LARGE : f > T ? VMB_RING_OK : VMB_RING_FULL;
			got = vmb_ring_reserve(&w, T - 8, &s);
			TU_EQ(name, got, want);
			if (got == VMB_RING_OK)
				TU_EQ(name, vmb_ring_writer_free(&w), f - T);
			tu_ring_fini(&r);
		}
	}
}

/* Fill a ring packet by packet until FULL: 8 bytes always stay free. */
static void
test_fill_until_full(void **state)
{
	static const enum tu_ring_kind kinds[] = {TU_RING_PLAIN, TU_RING_MEMFD};
	size_t k;

	(void)state;
	for (k = 0; k < TU_ARRAY_SIZE(kinds); k++) {
		struct tu_ring r;
		struct vmb_ring_writer w;
		struct vmb_ring_reader rd;
		struct vmb_ring_pkt p;
		uint32_t n = 0;
		const char *name = tu_ring_kind_str(kinds[k]);

		tu_ring_init(&r, kinds[k], D4K);
		tu_ring_set_indices(&r, 1000 & ~7u, 1000 & ~7u); /* anywhere: wraps on the way */
		tu_attach(&r, &w, &rd);
		while (put_inband(&w, n, 40) == VMB_RING_OK)
			n++;
		TU_EQ(name, n, D4K / 64 - 1);
		TU_EQ(name, vmb_ring_writer_free(&w), 64);
		TU_EQ(name, put_inband(&w, 1000, 32), VMB_RING_OK); /* 56 bytes: 64 > 56 */
		TU_EQ(name, vmb_ring_writer_free(&w), 8);
		TU_EQ(name, put_inband(&w, 1001, 0), VMB_RING_FULL); /* smallest packet: 24 */
		TU_EQ(name, vmb_ring_writer_free(&w), 8);
		vmb_ring_write_commit(&w);
		TU_EQ(name, vmb_ring_writer_refresh(&w), VMB_RING_OK);
		TU_EQ(name, vmb_ring_writer_free(&w), 8);
		/* unread bytes are D - 8: still not mistaken for empty */
		TU_EQ(name, (r.m.ctl->windex + 8) % D4K, r.m.ctl->rindex);
		n = 0;
		while (vmb_ring_read(&rd, &p) == VMB_RING_OK) {
			TU_EQ(name, p.desc.xactid, n < D4K / 64 - 1 ? n : 1000);
			n++;
		}
		TU_EQ(name, n, D4K / 64);
		vmb_ring_read_commit(&rd);
		TU_EQ(name, vmb_ring_writer_refresh(&w), VMB_RING_OK);
		TU_EQ(name, vmb_ring_writer_free(&w), D4K);
		tu_ring_fini(&r);
	}
}

/* The largest packet: D - 16 bytes (D - 8 with trailer) fits an empty ring; 8 more never do. */
static void
test_largest_packet(void **state)
{
	static const uint32_t sizes[] = {D4K, D8K, 4 * D4K};
	static const uint32_t starts[] = {0, 8, 2048, 4088};
	size_t i, j;

	(void)state;
	for (i = 0; i < TU_ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < TU_ARRAY_SIZE(starts); j++) {
			const uint32_t D = sizes[i];
			struct tu_ring r;
			struct vmb_ring_writer w;
			struct vmb_ring_reader rd;
			struct vmb_ring_span s = {{NULL, NULL}, {0, 0}};
			struct vmb_ring_pkt p;
			char name[48];
			uint8_t *payload = malloc(D);

			assert_non_null(payload);
			snprintf(name, sizeof(name), "D %u start %u", D, starts[j]);
			tu_ring_init(&r, TU_RING_PLAIN, D);
			tu_ring_set_indices(&r, starts[j], starts[j]);
			tu_attach(&r, &w, &rd);
			TU_EQ(name, vmb_ring_reserve(&w, D - 8, &s), VMB_RING_TOO_LARGE);
			TU_EQ(name, vmb_ring_reserve(&w, D, &s), VMB_RING_TOO_LARGE);
			TU_EQ(name, vmb_ring_reserve(&w, D + 8, &s), VMB_RING_TOO_LARGE);
			TU_EQ(name, vmb_ring_reserve(&w, UINT32_MAX - 7, &s), VMB_RING_TOO_LARGE);
			TU_EQ(name, vmb_ring_reserve(&w, 20, &s), VMB_RING_TOO_LARGE); /* unaligned */
			TU_EQ(name, w.cursor, starts[j]);
			tu_pattern(payload, D, 7);
			TU_EQ(name, vmb_pkt_write_inband(&w, 1, 0, payload, D - 31), VMB_RING_TOO_LARGE);
			TU_EQ(name, vmb_pkt_write_inband(&w, 1, 0, payload, D - 32), VMB_RING_OK);
			TU_EQ(name, vmb_ring_writer_free(&w), 8);
			vmb_ring_write_commit(&w);
			TU_EQ(name, vmb_ring_read(&rd, &p), VMB_RING_OK);
			TU_EQ(name, p.len, D - 16);
			TU_EQ(name, p.end, (starts[j] + D - 8) % D);
			assert_memory_equal(p.bytes + 16, payload, D - 32);
			TU_EQ(name, tu_ring_trailer_at(&r, starts[j] + D - 16), (uint64_t)starts[j] << 32);
			/* not committed: a packet of any size is now FULL, not TOO_LARGE */
			TU_EQ(name, vmb_ring_reserve(&w, 16, &s), VMB_RING_FULL);
			vmb_ring_read_commit(&rd);
			TU_EQ(name, vmb_ring_reserve(&w, 16, &s), VMB_RING_OK);
			vmb_ring_write_revert(&w);
			/* in a non-empty ring the largest packet is FULL (it fits once drained) */
			TU_EQ(name, put_inband(&w, 2, 0), VMB_RING_OK);
			TU_EQ(name, vmb_ring_reserve(&w, D - 16, &s), VMB_RING_FULL);
			tu_ring_fini(&r);
			free(payload);
		}
	}
}

/*
 * Wrap-around at every 8-byte offset, on double-mapped (memfd) and split-copy (plain buffer,
 * anonymous guest memory) rings: bytes, span shape, bounce use and trailer position.
 */
static void
wrap_sweep(enum tu_ring_kind kind, uint32_t D)
{
	const uint32_t payloads[] = {0, 5, 8, 27, 100, 1000, D / 2 + 3, D - 32};
	uint8_t *payload = malloc(D), *image = malloc(D);
	struct tu_ring r;
	uint32_t start;
	size_t i;

	assert_non_null(payload);
	assert_non_null(image);
	tu_ring_init(&r, kind, D);
	for (start = 0; start < D; start += 8) {
		for (i = 0; i < TU_ARRAY_SIZE(payloads); i++) {
			const uint32_t plen = payloads[i];
			const uint64_t xid = ((uint64_t)start << 20) | i;
			struct vmb_ring_writer w;
			struct vmb_ring_reader rd;
			struct vmb_ring_span s = {{NULL, NULL}, {0, 0}};
			struct vmb_ring_pkt p;
			uint32_t pkt_len, end, j;
			bool wraps;
			char name[64];

			snprintf(name, sizeof(name), "%s D %u start %u payload %u",
				 tu_ring_kind_str(kind), D, start, plen);
			tu_pattern(payload, plen, (uint32_t)xid);
			pkt_len = tu_simple_image(image, VMB_PKT_INBAND, VMB_PKT_FLAG_RC, xid, payload,
						  plen);
			wraps = start + pkt_len > D;
			end = (start + pkt_len + 8) % D;

			tu_ring_set_indices(&r, start, start);
			tu_attach(&r, &w, &rd);

			/* span shape of a raw reservation (then dropped) */
			TU_EQ(name, vmb_ring_reserve(&w, pkt_len, &s), VMB_RING_OK);
			TU_EQ(name, s.p[0] == r.m.data + start, 1);
			if (wraps && !(r.m.flags & VMB_RING_F_DOUBLE_MAPPED)) {
				TU_EQ(name, s.len[0], D - start);
				TU_EQ(name, s.p[1] == r.m.data, 1);
				TU_EQ(name, s.len[1], pkt_len - (D - start));
			} else {
				TU_EQ(name, s.len[0], pkt_len);
				TU_EQ(name, s.len[1], 0);
			}
			TU_EQ(name, w.cursor, end);
			vmb_ring_write_revert(&w);
			TU_EQ(name, w.cursor, start);

			TU_EQ(name, vmb_pkt_write_inband(&w, xid, VMB_PKT_FLAG_RC, payload, plen),
			      VMB_RING_OK);
			vmb_ring_write_commit(&w);
			TU_EQ(name, r.m.ctl->windex, end);

			/* ring bytes (read modulo D through the first mapping) and trailer */
			for (j = 0; j < pkt_len; j++)
				if (tu_ring_byte(&r, start + j) != image[j])
					fail_msg("[%s] ring byte %u differs", name, j);
			TU_EQ(name, tu_ring_trailer_at(&r, start + pkt_len), (uint64_t)start << 32);
			if (r.m.flags & VMB_RING_F_DOUBLE_MAPPED)
				for (j = 0; j < D; j += 512)
					TU_EQ(name, r.m.data[D + j], r.m.data[j]);

			TU_EQ(name, vmb_ring_read(&rd, &p), VMB_RING_OK);
			TU_EQ(name, p.start, start);
			TU_EQ(name, p.end, end);
			TU_EQ(name, p.len, pkt_len);
			TU_EQ(name, p.desc.xactid, xid);
			TU_EQ(name, p.desc.flags, VMB_PKT_FLAG_RC);
			if (wraps && !(r.m.flags & VMB_RING_F_DOUBLE_MAPPED))
				TU_EQ(name, p.bytes == r.bounce, 1);
			else
				TU_EQ(name, p.bytes == r.m.data + start, 1);
			if (memcmp(p.bytes, image, pkt_len) != 0)
				fail_msg("[%s] packet bytes differ", name);
			TU_EQ(name, vmb_ring_read(&rd, &p), VMB_RING_EMPTY);
			vmb_ring_read_commit(&rd);
			TU_EQ(name, r.m.ctl->rindex, end);
		}
	}
	tu_ring_fini(&r);
	free(payload);
	free(image);
}

static void
test_wrap_every_offset_double_mapped(void **state)
{
	(void)state;
	wrap_sweep(TU_RING_MEMFD, D4K);
	wrap_sweep(TU_RING_MEMFD, D8K);
}

static void
test_wrap_every_offset_split_copy(void **state)
{
	(void)state;
	wrap_sweep(TU_RING_PLAIN, D4K);
	wrap_sweep(TU_RING_PLAIN, D8K);
	wrap_sweep(TU_RING_ANON, D4K);
}

/* A stream of mixed-size packets around a small ring many times, both kinds. */
static void
test_stream_many_laps(void **state)
{
	static const enum tu_ring_kind kinds[] = {TU_RING_PLAIN, TU_RING_MEMFD};
	size_t k;

	(void)state;
	for (k = 0; k < TU_ARRAY_SIZE(kinds); k++) {
		struct tu_rng rng = {.s = 42};
		struct tu_ring r;
		struct vmb_ring_writer w;
		struct vmb_ring_reader rd;
		uint8_t payload[600], image[700];
		uint64_t sent = 0, got = 0;
		uint32_t lens[256];
		unsigned int iter;

		tu_ring_init(&r, kinds[k], D4K);
		tu_attach(&r, &w, &rd);
		for (iter = 0; iter < 4000; iter++) {
			struct vmb_ring_pkt p;
			uint32_t n = tu_rng_below(&rng, 5), i;

			for (i = 0; i < n; i++) {
				uint32_t len = tu_rng_below(&rng, sizeof(payload));
				tu_pattern(payload, len, (uint32_t)sent);
				if (vmb_pkt_write_inband(&w, sent, 0, payload, len) != VMB_RING_OK)
					break;
				lens[sent % 256] = len;
				sent++;
			}
			vmb_ring_write_commit(&w);
			n = tu_rng_below(&rng, 6);
			for (i = 0; i < n && vmb_ring_read(&rd, &p) == VMB_RING_OK; i++) {
				uint32_t len = lens[got % 256];
				tu_pattern(payload, len, (uint32_t)got);
				assert_int_equal(p.len, tu_simple_image(image, VMB_PKT_INBAND, 0, got,
									payload, len));
				assert_memory_equal(p.bytes, image, p.len);
				got++;
			}
			vmb_ring_read_commit(&rd);
			assert_true(sent - got < 256); /* at most D / 24 fit */
		}
		assert_true(got > 1000);
		tu_ring_fini(&r);
	}
}

/* Two-phase cursors: reader revert / commit_to, writer revert / commit. */
static void
test_batch_commit_revert(void **state)
{
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_pkt a[3], b[3], p;
	uint32_t free_before, i;

	(void)state;
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	tu_attach(&r, &w, &rd);
	for (i = 0; i < 5; i++)
		assert_int_equal(put_inband(&w, 10 + i, 8 * i), VMB_RING_OK);
	vmb_ring_write_commit(&w);

	for (i = 0; i < 3; i++)
		assert_int_equal(vmb_ring_read(&rd, &a[i]), VMB_RING_OK);
	assert_int_equal(r.m.ctl->rindex, 0); /* reading publishes nothing */
	vmb_ring_read_revert(&rd);
	assert_int_equal(rd.cursor, 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(vmb_ring_read(&rd, &b[i]), VMB_RING_OK);
		assert_int_equal(b[i].start, a[i].start);
		assert_int_equal(b[i].end, a[i].end);
		assert_int_equal(b[i].len, a[i].len);
		assert_int_equal(b[i].desc.xactid, 10 + i);
		assert_memory_equal(b[i].bytes, a[i].bytes, a[i].len);
	}
	/* commit up to the middle packet; the third is read again after a revert */
	vmb_ring_read_commit_to(&rd, a[1].end);
	assert_int_equal(r.m.ctl->rindex, a[1].end);
	assert_int_equal(rd.committed, a[1].end);
	vmb_ring_read_revert(&rd);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
	assert_int_equal(p.desc.xactid, 12);
	assert_int_equal(p.start, a[2].start);
	for (i = 13; i < 15; i++) {
		assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
		assert_int_equal(p.desc.xactid, i);
	}
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_EMPTY);
	vmb_ring_read_commit(&rd);
	assert_int_equal(r.m.ctl->rindex, r.m.ctl->windex);

	/* writer: reserve 3, revert: nothing visible, space unchanged */
	assert_int_equal(vmb_ring_writer_refresh(&w), VMB_RING_OK);
	free_before = vmb_ring_writer_free(&w);
	for (i = 0; i < 3; i++)
		assert_int_equal(put_inband(&w, 20 + i, 16), VMB_RING_OK);
	assert_int_equal(vmb_ring_writer_free(&w), free_before - 3 * 40);
	vmb_ring_write_revert(&w);
	assert_int_equal(vmb_ring_writer_free(&w), free_before);
	assert_false(vmb_ring_write_commit(&w));
	assert_int_equal(r.m.ctl->windex, r.m.ctl->rindex);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_EMPTY);

	/* reserve + commit: visible, in order, including the one after the revert point */
	for (i = 0; i < 3; i++)
		assert_int_equal(put_inband(&w, 30 + i, 16), VMB_RING_OK);
	vmb_ring_write_commit(&w);
	for (i = 0; i < 3; i++) {
		assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
		assert_int_equal(p.desc.xactid, 30 + i);
	}
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_EMPTY);
	tu_ring_fini(&r);
}

/* Attaching picks up the shared indices (how a restored channel resumes): a new reader continues
 * at read_index, a new writer at write_index; uncommitted work of the old ones is gone. */
static void
test_reattach_resumes(void **state)
{
	struct tu_ring r;
	struct vmb_ring_writer w, w2;
	struct vmb_ring_reader rd, rd2;
	struct vmb_ring_pkt p;
	uint64_t i;

	(void)state;
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	tu_ring_set_indices(&r, D4K - 128, D4K - 128);
	tu_attach(&r, &w, &rd);
	put_batch(&w, 4, 64, 1);               /* xids 1..4, wrapping */
	assert_int_equal(put_inband(&w, 99, 40), VMB_RING_OK); /* reserved, never committed */
	take(&rd, 1, true);                    /* 1 consumed */
	take(&rd, 1, false);                   /* 2 read, not committed */

	tu_attach(&r, &w2, &rd2);
	assert_int_equal(w2.cursor, (D4K - 128 + 4 * 64) % D4K);
	assert_int_equal(vmb_ring_writer_free(&w2), D4K - 3 * 64);
	put_batch(&w2, 1, 64, 5);              /* xid 5 where the uncommitted 99 was */
	for (i = 2; i <= 5; i++) {
		assert_int_equal(vmb_ring_read(&rd2, &p), VMB_RING_OK);
		assert_int_equal(p.desc.xactid, i);
	}
	assert_int_equal(vmb_ring_read(&rd2, &p), VMB_RING_EMPTY);
	tu_ring_fini(&r);
}

/* Gather writes: iovecs assembled and zero padded. */
static void
test_writev(void **state)
{
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_pkt p;
	struct vmbus_chanpkt_hdr h = {.type = VMB_PKT_INBAND, .hlen = 2, .tlen = 4, .xactid = 77};
	uint8_t a[5] = {1, 2, 3, 4, 5}, b[8] = {6, 7, 8, 9, 10, 11, 12, 13}, want[40];
	struct iovec iov[] = {{&h, sizeof(h)}, {a, sizeof(a)}, {b, 0}, {b, sizeof(b)}};

	(void)state;
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	tu_ring_set_indices(&r, D4K - 16, D4K - 16); /* wraps after the descriptor */
	tu_attach(&r, &w, &rd);
	memset(r.m.data, 0xEE, D4K);
	assert_int_equal(vmb_ring_writev(&w, iov, 4), VMB_RING_OK);
	vmb_ring_write_commit(&w);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
	memset(want, 0, sizeof(want));
	memcpy(want, &h, 16);
	memcpy(want + 16, a, 5);
	memcpy(want + 21, b, 8);
	assert_int_equal(p.len, 32);
	assert_memory_equal(p.bytes, want, 32);
	assert_int_equal(tu_ring_trailer_at(&r, D4K - 16 + 32), (uint64_t)(D4K - 16) << 32);
	tu_ring_fini(&r);
}

/* ---- hostile peers ---------------------------------------------------------------------- */

/* Attach with invalid shared indices or an invalid mapping. */
static void
test_attach_invalid(void **state)
{
	static const struct {
		uint32_t w, r;
		bool ok;
	} idx[] = {
		{0, 0, true},        {4088, 8, true},       {4, 0, false},         {0, 4, false},
		{4096, 0, false},    {0, 4096, false},      {8192, 0, false},      {0xFFFFFFF8, 0, false},
		{0, 0xFFFFFFF8, false}, {1, 1, false},      {4095, 0, false},
	};
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_mem bad;
	size_t i;

	(void)state;
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	for (i = 0; i < TU_ARRAY_SIZE(idx); i++) {
		char name[40];
		enum vmb_ring_status want = idx[i].ok ? VMB_RING_OK : VMB_RING_CORRUPT;

		snprintf(name, sizeof(name), "w %u r %u", idx[i].w, idx[i].r);
		tu_ring_set_indices(&r, idx[i].w, idx[i].r);
		TU_EQ(name, vmb_ring_writer_attach(&w, &r.m), want);
		TU_EQ(name, vmb_ring_reader_attach(&rd, &r.m, r.bounce, r.bounce_size), want);
	}

	tu_ring_set_indices(&r, 0, 0);
	assert_false(vmb_ring_mem_valid(NULL));
	assert_int_equal(vmb_ring_writer_attach(&w, NULL), VMB_RING_CORRUPT);
	assert_int_equal(vmb_ring_reader_attach(&rd, NULL, NULL, 0), VMB_RING_CORRUPT);
	for (i = 0; i < 7; i++) {
		bad = r.m;
		switch (i) {
		case 0: bad.ctl = NULL; break;
		case 1: bad.data = NULL; break;
		case 2: bad.size = 0; break;
		case 3: bad.size = 4095; break;
		case 4: bad.size = 4096 + 8; break;
		case 5: bad.size = 1u << 31; break;
		case 6: bad.size = 2048; break;
		}
		TU_EQ("bad mapping", vmb_ring_mem_valid(&bad), false);
		TU_EQ("bad mapping", vmb_ring_writer_attach(&w, &bad), VMB_RING_CORRUPT);
		TU_EQ("bad mapping", vmb_ring_reader_attach(&rd, &bad, NULL, 0), VMB_RING_CORRUPT);
	}
	assert_true(vmb_ring_mem_valid(&r.m));
	tu_ring_fini(&r);
}

/* Reader side: bad write_index values and bad descriptors. */
struct hostile_read_case {
	const char *name;
	uint16_t hlen, tlen; /* descriptor at offset 0 */
	uint32_t windex;     /* published after attach */
	enum vmb_ring_status want;
};

static const struct hostile_read_case hostile_read_cases[] = {
	{"valid minimal packet", 2, 2, 24, VMB_RING_OK},
	{"valid, exact availability", 2, 4, 40, VMB_RING_OK},
	{"write_index unaligned", 2, 2, 28, VMB_RING_CORRUPT},
	{"write_index odd", 2, 2, 1, VMB_RING_CORRUPT},
	{"write_index == D", 2, 2, D4K, VMB_RING_CORRUPT},
	{"write_index far out", 2, 2, 0x80000000u, VMB_RING_CORRUPT},
	{"write_index max", 2, 2, 0xFFFFFFF8u, VMB_RING_CORRUPT},
	{"fewer bytes than a descriptor + trailer", 2, 2, 16, VMB_RING_CORRUPT},
	{"offset8 0", 0, 2, 24, VMB_RING_CORRUPT},
	{"offset8 1", 1, 2, 24, VMB_RING_CORRUPT},
	{"offset8 > len8", 3, 2, 24, VMB_RING_CORRUPT},
	{"len8 0", 2, 0, 24, VMB_RING_CORRUPT},
	{"len8*8 + 8 > available by 8", 2, 4, 32, VMB_RING_CORRUPT},
	{"len8 max", 2, 0xFFFF, 64, VMB_RING_CORRUPT},
	{"offset8 == len8 max", 0xFFFF, 0xFFFF, 4088, VMB_RING_CORRUPT},
};

static void
test_hostile_reader(void **state)
{
	static const enum tu_ring_kind kinds[] = {TU_RING_PLAIN, TU_RING_MEMFD};
	size_t c, k;

	(void)state;
	for (k = 0; k < TU_ARRAY_SIZE(kinds); k++) {
		for (c = 0; c < TU_ARRAY_SIZE(hostile_read_cases); c++) {
			const struct hostile_read_case *hc = &hostile_read_cases[c];
			struct tu_ring r;
			struct vmb_ring_reader rd;
			struct vmb_ring_pkt p;

			tu_ring_init(&r, kinds[k], D4K);
			tu_attach(&r, NULL, &rd);
			tu_put_desc(&r, 0, VMB_PKT_INBAND, hc->hlen, hc->tlen, 0, 1);
			r.m.ctl->windex = hc->windex;
			TU_EQ(hc->name, vmb_ring_read(&rd, &p), hc->want);
			if (hc->want != VMB_RING_OK) {
				/* nothing consumed; stays corrupt */
				TU_EQ(hc->name, rd.cursor, 0);
				TU_EQ(hc->name, vmb_ring_read(&rd, &p), hc->want);
			}
			tu_ring_fini(&r);
		}
	}
}

/* The writer's index going backwards (or past the reader) after it was validated. */
static void
test_hostile_write_index_backwards(void **state)
{
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_pkt p;
	uint32_t v;
	size_t i;

	(void)state;
	/* reader has read 3 packets (not committed) and then sees write_index move back */
	{
		const uint32_t back[] = {0, 64, 128, 128 + 64 - 8, 8};
		for (i = 0; i < TU_ARRAY_SIZE(back); i++) {
			tu_ring_init(&r, TU_RING_PLAIN, D4K);
			tu_attach(&r, &w, &rd);
			put_batch(&w, 3, 64, 1);
			take(&rd, 3, false);
			/* a valid-looking packet where the reader would look next: only the
			 * index check can refuse it */
			tu_put_desc(&r, 192, VMB_PKT_INBAND, 2, 2, 0, 1);
			r.m.ctl->windex = back[i];
			TU_EQ("backwards from uncommitted", vmb_ring_read(&rd, &p), VMB_RING_CORRUPT);
			tu_ring_fini(&r);
		}
	}
	/* reader committed 1 of 3, read all; write_index moves back inside the unread span */
	for (v = 64; v < 192; v += 8) {
		tu_ring_init(&r, TU_RING_PLAIN, D4K);
		tu_attach(&r, &w, &rd);
		put_batch(&w, 3, 64, 1);
		take(&rd, 1, true);
		take(&rd, 2, false);
		tu_put_desc(&r, 192, VMB_PKT_INBAND, 2, 2, 0, 1);
		r.m.ctl->windex = v;
		TU_EQ("backwards inside unread", vmb_ring_read(&rd, &p), VMB_RING_CORRUPT);
		tu_ring_fini(&r);
	}
	/* moving forward is fine */
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	tu_attach(&r, &w, &rd);
	put_batch(&w, 3, 64, 1);
	take(&rd, 3, false);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_EMPTY);
	put_batch(&w, 1, 64, 4);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
	tu_ring_fini(&r);
}

/* A wrapping packet longer than the split-copy reader's bounce area is refused. */
static void
test_hostile_bounce_too_small(void **state)
{
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_pkt p;
	uint8_t small[64];

	(void)state;
	tu_ring_init(&r, TU_RING_PLAIN, D4K);
	tu_ring_set_indices(&r, D4K - 32, D4K - 32);
	tu_attach(&r, &w, NULL);
	assert_int_equal(put_inband(&w, 1, 100), VMB_RING_OK); /* 120 bytes, wraps */
	vmb_ring_write_commit(&w);

	assert_int_equal(vmb_ring_reader_attach(&rd, &r.m, NULL, 0), VMB_RING_OK);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_CORRUPT);
	assert_int_equal(vmb_ring_reader_attach(&rd, &r.m, NULL, 4096), VMB_RING_OK);
	assert_int_equal(rd.bounce_size, 0);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_CORRUPT);
	assert_int_equal(vmb_ring_reader_attach(&rd, &r.m, small, sizeof(small)), VMB_RING_OK);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_CORRUPT);
	assert_int_equal(vmb_ring_reader_attach(&rd, &r.m, r.bounce, 120), VMB_RING_OK);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
	assert_int_equal(p.len, 120);
	tu_ring_fini(&r);
}

/* Writer side: the reader's read_index, validated on refresh. */
struct hostile_rindex_case {
	const char *name;
	uint32_t rindex;
	enum vmb_ring_status want;
};

/* state: writer committed 192 bytes (3 x 64), reader published 64 before the writer refreshed */
static const struct hostile_rindex_case hostile_rindex_cases[] = {
	{"unchanged", 64, VMB_RING_OK},
	{"forward", 128, VMB_RING_OK},
	{"caught up", 192, VMB_RING_OK},
	{"unaligned", 68, VMB_RING_CORRUPT},
	{"odd", 65, VMB_RING_CORRUPT},
	{"== D", D4K, VMB_RING_CORRUPT},
	{"far out", 0xFFFFFFF8u, VMB_RING_CORRUPT},
	{"backwards", 0, VMB_RING_CORRUPT},
	{"backwards by 8", 56, VMB_RING_CORRUPT},
	{"past write_index", 200, VMB_RING_CORRUPT},
	{"far past write_index", D4K - 8, VMB_RING_CORRUPT},
};

static void
test_hostile_writer(void **state)
{
	size_t c;

	(void)state;
	for (c = 0; c < TU_ARRAY_SIZE(hostile_rindex_cases); c++) {
		const struct hostile_rindex_case *hc = &hostile_rindex_cases[c];
		struct tu_ring r;
		struct vmb_ring_writer w;
		struct vmb_ring_reader rd;

		tu_ring_init(&r, TU_RING_PLAIN, D4K);
		tu_attach(&r, &w, &rd);
		put_batch(&w, 3, 64, 1);
		take(&rd, 1, true);
		TU_EQ(hc->name, vmb_ring_writer_refresh(&w), VMB_RING_OK);
		TU_EQ(hc->name, w.peer_read, 64);

		r.m.ctl->rindex = hc->rindex;
		TU_EQ(hc->name, vmb_ring_writer_refresh(&w), hc->want);
		if (hc->want != VMB_RING_OK)
			TU_EQ(hc->name, w.peer_read, 64); /* the bad value is not cached */
		tu_ring_fini(&r);
	}
}

/*
 * The same through reserve on a full ring (the only time the writer re-reads read_index):
 * peer_read 64, write_index 0 after the fill, 64 bytes free.
 */
static const struct hostile_rindex_case full_rindex_cases[] = {
	{"unchanged: still full", 64, VMB_RING_FULL},
	{"forward: room", 128, VMB_RING_OK},
	{"caught up", 0, VMB_RING_OK},
	{"unaligned", 68, VMB_RING_CORRUPT},
	{"odd", 65, VMB_RING_CORRUPT},
	{"== D", D4K, VMB_RING_CORRUPT},
	{"far out", 0xFFFFFFF8u, VMB_RING_CORRUPT},
	{"backwards by 8", 56, VMB_RING_CORRUPT},
	{"past write_index", 8, VMB_RING_CORRUPT},
};

static void
test_hostile_writer_reserve(void **state)
{
	size_t c;

	(void)state;
	for (c = 0; c < TU_ARRAY_SIZE(full_rindex_cases); c++) {
		const struct hostile_rindex_case *hc = &full_rindex_cases[c];
		struct tu_ring r;
		struct vmb_ring_writer w;
		struct vmb_ring_reader rd;
		struct vmb_ring_span s = {{NULL, NULL}, {0, 0}};
		uint32_t n = 0;

		tu_ring_init(&r, TU_RING_PLAIN, D4K);
		tu_attach(&r, &w, &rd);
		put_batch(&w, 3, 64, 1);
		take(&rd, 1, true);
		while (put_inband(&w, 9, 40) == VMB_RING_OK)
			n++;
		vmb_ring_write_commit(&w);
		TU_EQ(hc->name, n, 61);
		TU_EQ(hc->name, w.peer_read, 64);
		TU_EQ(hc->name, w.committed, 0);
		TU_EQ(hc->name, vmb_ring_writer_free(&w), 64);

		r.m.ctl->rindex = hc->rindex;
		TU_EQ(hc->name, vmb_ring_reserve(&w, 56, &s), hc->want);
		tu_ring_fini(&r);
	}
}

/*
 * Garbage: random control words and data (some of it shaped like descriptors) through attach,
 * read, decode, commit and reserve. Only statuses may come out; ASan/UBSan watch the rest.
 */
static void
garbage_loop(enum tu_ring_kind kind, unsigned int iterations, uint64_t seed)
{
	static const uint16_t types[] = {0, 1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0x20, 0xFFFF};
	struct tu_rng rng = {.s = seed};
	struct tu_ring r;
	struct vmb_xfer_range xr[8];
	struct vmb_gpa_range gr[8];
	uint64_t pfns[16];
	struct vmb_pkt_ranges ranges = {.xfer = xr, .gpa = gr, .pfns = pfns};
	unsigned int it, ok_reads = 0, ok_decodes = 0;
	const uint32_t D = D4K;

	tu_ring_init(&r, kind, D);
	for (it = 0; it < iterations; it++) {
		struct vmb_ring_reader rd;
		struct vmb_ring_writer w;
		enum vmb_ring_status st;
		uint32_t mode = tu_rng_below(&rng, 4), n, i, off;
		uint32_t bounce = tu_rng_below(&rng, 2) ? r.bounce_size : tu_rng_below(&rng, 512);

		/* control words: random, or valid-looking */
		if (mode == 1) {
			r.m.ctl->windex = (uint32_t)tu_rng_next(&rng);
			r.m.ctl->rindex = (uint32_t)tu_rng_next(&rng);
		} else {
			r.m.ctl->windex = tu_rng_below(&rng, D / 8) * 8;
			r.m.ctl->rindex = tu_rng_below(&rng, D / 8) * 8;
		}
		r.m.ctl->imask = (uint32_t)tu_rng_next(&rng);
		r.m.ctl->pending_send = tu_rng_below(&rng, 2) ? 0 : (uint32_t)tu_rng_next(&rng);

		/* data: fully random now and then, plus a chain of descriptor-shaped packets that
		 * usually starts where the reader will look */
		if (mode == 0 || it == 0)
			tu_rng_fill(&rng, r.m.data, D);
		off = (mode != 1 && tu_rng_below(&rng, 4)) ? r.m.ctl->rindex
							   : tu_rng_below(&rng, D / 8) * 8;
		n = 1 + tu_rng_below(&rng, 6);
		for (i = 0; i < n; i++) {
			uint16_t type = types[tu_rng_below(&rng, TU_ARRAY_SIZE(types))];
			uint16_t hlen = (uint16_t)tu_rng_below(&rng, 12);
			uint16_t tlen = (uint16_t)(hlen + tu_rng_below(&rng, 40) - 2);
			uint32_t words[6];

			tu_put_desc(&r, off, type, hlen, tlen, (uint16_t)tu_rng_below(&rng, 3),
				    tu_rng_next(&rng));
			words[0] = (uint32_t)tu_rng_next(&rng);
			words[1] = tu_rng_below(&rng, 4); /* range count */
			words[2] = tu_rng_below(&rng, 2) ? tu_rng_below(&rng, 9000) : words[0];
			words[3] = tu_rng_below(&rng, 4200);
			words[4] = tu_rng_below(&rng, 64);
			words[5] = tu_rng_below(&rng, 2) ? 0 : (uint32_t)tu_rng_next(&rng);
			tu_ring_poke(&r, off + 16, words, sizeof(words));
			off = (off + (uint32_t)tlen * 8 + 8) % D;
		}

		st = vmb_ring_reader_attach(&rd, &r.m, r.bounce, bounce);
		assert_true(st == VMB_RING_OK || st == VMB_RING_CORRUPT);
		if (st == VMB_RING_OK) {
			for (i = 0; i < 8; i++) {
				struct vmb_ring_pkt p;
				struct vmb_pkt out;
				struct vmb_pkt_limits lim = tu_limits(tu_rng_below(&rng, 9),
								      tu_rng_below(&rng, 17),
								      tu_rng_below(&rng, 100));
				enum vmb_pkt_error e;

				if (tu_rng_below(&rng, 8) == 0) /* the writer moves, maybe wildly */
					r.m.ctl->windex = tu_rng_below(&rng, 8) == 0
								  ? (uint32_t)tu_rng_next(&rng)
								  : tu_rng_below(&rng, D / 8) * 8;
				st = vmb_ring_read(&rd, &p);
				assert_true(st == VMB_RING_OK || st == VMB_RING_EMPTY ||
					    st == VMB_RING_CORRUPT);
				if (st != VMB_RING_OK)
					break;
				ok_reads++;
				assert_true(p.len >= 16 && p.len + 8 <= D);
				assert_true(p.desc.hlen >= 2 && p.desc.hlen <= p.desc.tlen);
				e = vmb_pkt_decode(&p, &lim, &out, tu_rng_below(&rng, 8) ? &ranges : NULL);
				assert_in_range(e, VMB_PKT_OK, VMB_PKT_EGPA);
				if (e == VMB_PKT_OK) {
					ok_decodes++;
					assert_true(out.payload >= p.bytes && out.payload <= p.bytes + p.len);
					assert_int_equal(out.payload + out.payload_len, p.bytes + p.len);
					assert_true(out.range_count <= lim.max_ranges);
					assert_true(out.pfn_count <= lim.max_pfns);
					for (n = 0; n < out.pfn_count; n++)
						assert_true(lim.guest_pages == 0 || pfns[n] < lim.guest_pages);
				}
				if (tu_rng_below(&rng, 3) == 0)
					(void)vmb_ring_read_commit(&rd);
			}
			(void)vmb_ring_reader_prepare_sleep(&rd);
		}

		r.m.ctl->rindex = mode == 2 ? (uint32_t)tu_rng_next(&rng) : r.m.ctl->rindex;
		st = vmb_ring_writer_attach(&w, &r.m);
		assert_true(st == VMB_RING_OK || st == VMB_RING_CORRUPT);
		if (st == VMB_RING_OK) {
			for (i = 0; i < 4; i++) {
				struct vmb_ring_span s = {{NULL, NULL}, {0, 0}};
				uint32_t len = tu_rng_below(&rng, 2) ? 16 + 8 * tu_rng_below(&rng, 64)
								    : (uint32_t)tu_rng_next(&rng);
				if (tu_rng_below(&rng, 4) == 0)
					r.m.ctl->rindex = (uint32_t)tu_rng_next(&rng);
				st = vmb_ring_reserve(&w, len, &s);
				assert_in_range(st, VMB_RING_OK, VMB_RING_CORRUPT);
				assert_true(st != VMB_RING_EMPTY);
				if (st == VMB_RING_OK)
					vmb_ring_span_zero(&s, 0, len);
				(void)vmb_ring_writer_wait_space(&w, 64);
				vmb_ring_writer_clear_wait(&w);
			}
			(void)vmb_ring_write_commit(&w);
		}
	}
	print_message("garbage %s: %u iterations, %u packets read, %u decoded\n",
		      tu_ring_kind_str(kind), iterations, ok_reads, ok_decodes);
	/* the loop must have reached the decoder, or it tested little */
	assert_true(ok_reads > iterations / 20);
	assert_true(ok_decodes > 0);
	tu_ring_fini(&r);
}

static void
test_garbage_never_crashes(void **state)
{
	(void)state;
	garbage_loop(TU_RING_PLAIN, 100000, 0x5EED0001);
	garbage_loop(TU_RING_MEMFD, 50000, 0x5EED0002);
}

/* vmb_ring_read_commit_lazy: no store below the threshold, a store at it, a store whenever the
 * writer announced it waits for room, and the threshold clamped to a quarter of the ring. */
static void
test_read_commit_lazy(void **state)
{
	struct tu_ring tr;
	struct vmb_ring_writer w;
	struct vmb_ring_reader r;
	struct vmb_ring_pkt p;
	uint8_t payload[40] = {0};
	int i;

	(void)state;
	tu_ring_init(&tr, TU_RING_MEMFD, 8192);
	assert_int_equal(vmb_ring_writer_attach(&w, &tr.m), VMB_RING_OK);
	assert_int_equal(vmb_ring_reader_attach(&r, &tr.m, tr.bounce, tr.bounce_size), VMB_RING_OK);
	for (i = 0; i < 20; i++) /* 20 packets of 16 + 40 + 8 = 64 bytes */
		assert_int_equal(vmb_pkt_write_inband(&w, (uint64_t)i, 0, payload, sizeof(payload)),
				 VMB_RING_OK);
	vmb_ring_write_commit(&w);
	for (i = 0; i < 3; i++)
		assert_int_equal(vmb_ring_read(&r, &p), VMB_RING_OK);
	/* 192 bytes read, threshold 256: nothing published */
	vmb_ring_read_commit_lazy(&r, 256);
	assert_int_equal(tr.m.ctl->rindex, 0);
	assert_int_equal(vmb_ring_read(&r, &p), VMB_RING_OK);
	/* 256 bytes read: published */
	vmb_ring_read_commit_lazy(&r, 256);
	assert_int_equal(tr.m.ctl->rindex, 256);
	/* a waiting writer gets its room at once, whatever the threshold */
	assert_int_equal(vmb_ring_read(&r, &p), VMB_RING_OK);
	tr.m.ctl->pending_send = 4096;
	vmb_ring_read_commit_lazy(&r, 4096);
	assert_int_equal(tr.m.ctl->rindex, 320);
	tr.m.ctl->pending_send = 0;
	/* a threshold above a quarter of the ring is clamped to 2048: the 15 further packets read
	 * (960 bytes unpublished) stay below it, an explicit commit publishes them */
	for (i = 0; i < 15; i++)
		assert_int_equal(vmb_ring_read(&r, &p), VMB_RING_OK);
	assert_int_equal(vmb_ring_read(&r, &p), VMB_RING_EMPTY);
	vmb_ring_read_commit_lazy(&r, 1u << 30);
	assert_int_equal(tr.m.ctl->rindex, 320); /* 960 < 2048: not yet */
	vmb_ring_read_commit(&r);
	assert_int_equal(tr.m.ctl->rindex, 1280);
	tu_ring_fini(&tr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_str),
		cmocka_unit_test(test_read_commit_lazy),
		cmocka_unit_test(test_format_and_layout),
		cmocka_unit_test(test_writer_signal_edges),
		cmocka_unit_test(test_reader_pending_send),
		cmocka_unit_test(test_reader_pending_send_sequence),
		cmocka_unit_test(test_writer_wait_space),
		cmocka_unit_test(test_reader_prepare_sleep),
		cmocka_unit_test(test_free_space_sweep),
		cmocka_unit_test(test_fill_until_full),
		cmocka_unit_test(test_largest_packet),
		cmocka_unit_test(test_wrap_every_offset_double_mapped),
		cmocka_unit_test(test_wrap_every_offset_split_copy),
		cmocka_unit_test(test_stream_many_laps),
		cmocka_unit_test(test_batch_commit_revert),
		cmocka_unit_test(test_reattach_resumes),
		cmocka_unit_test(test_writev),
		cmocka_unit_test(test_attach_invalid),
		cmocka_unit_test(test_hostile_reader),
		cmocka_unit_test(test_hostile_write_index_backwards),
		cmocka_unit_test(test_hostile_bounce_too_small),
		cmocka_unit_test(test_hostile_writer),
		cmocka_unit_test(test_hostile_writer_reserve),
		cmocka_unit_test(test_garbage_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
