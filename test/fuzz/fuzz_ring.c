/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * libFuzzer target: the ring layer on raw ring bytes and control words.
 *
 * Input: a control page prefix (u32 write_index, read_index, interrupt_mask, pending_send_size,
 * feature_bits), u8 data pages (1..4), u8 bounce (0: D bytes; else n * 64 bytes), u8 script
 * length, u8 reserved, the script (one op byte, then its arguments), then the data area.
 *
 * The script drives one reader (vmb_ring_read + vmb_pkt_decode, commit, commit to a packet
 * boundary, revert, refresh, prepare to sleep) and one writer (reserve, write, commit, revert,
 * wait for space) attached to the same ring, and plays a hostile peer that rewrites control
 * words and data bytes between calls. It runs twice: on a flat ring in exact-size heap blocks
 * (split-copy path, bounce buffer: ASan sees every access) and on a double-mapped memfd ring.
 * Every result and every packet must satisfy the ring's contract, and, when the bounce buffer
 * holds D bytes, both runs must see exactly the same thing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmb/vmb_mem.h>
#include <vmb/vmb_packet.h>
#include <vmb/vmb_ring.h>

#include "fuzz_common.h"

#define MAX_PAGES 4u
#define TRACE_MAX 8192u
#define MAX_READS 256u

enum op {
	OP_READ,
	OP_COMMIT,
	OP_COMMIT_TO,
	OP_REVERT,
	OP_RESERVE,
	OP_WRITE_INBAND,
	OP_WRITE_COMMIT,
	OP_WRITE_REVERT,
	OP_POKE_CTL,
	OP_POKE_DATA,
	OP_WAIT_SPACE,
	OP_CLEAR_WAIT,
	OP_PREPARE_SLEEP,
	OP_SET_MASK,
	OP_REFRESH,
	OP_COUNT,
};

struct trace {
	uint64_t v[TRACE_MAX];
	uint32_t n;
};

static void
tr(struct trace *t, uint64_t v)
{
	if (t->n < TRACE_MAX)
		t->v[t->n++] = v;
}

static uint64_t
fnv(const uint8_t *p, uint32_t n)
{
	uint64_t h = 1469598103934665603ull;
	while (n--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

/* Double-mapped rings, one per data size, made once per process. */
struct dbl_ring {
	struct vmb_guest_mem gm;
	struct vmb_gpadl_table tbl;
	struct vmb_mapping map;
	struct vmb_ring_mem m;
};

static struct dbl_ring dbl[MAX_PAGES + 1];

static void
dbl_init(struct dbl_ring *r, uint32_t data_pages)
{
	uint64_t pfns[MAX_PAGES + 1], first;
	uint32_t i, id = 0;

	FZ_CHECK(vmb_mem_create(&r->gm, (uint64_t)(data_pages + 1) * VMB_PAGE_SIZE,
				VMB_MEM_MEMFD) == 0);
	FZ_CHECK(vmb_mem_alloc_pages(&r->gm, data_pages + 1, &first) == 0);
	for (i = 0; i <= data_pages; i++)
		pfns[i] = first + i;
	FZ_CHECK(vmb_gpadl_table_init(&r->tbl, 2) == 0);
	FZ_CHECK(vmb_gpadl_add(&r->tbl, &r->gm, 0, pfns, data_pages + 1, &id) == 0);
	FZ_CHECK(vmb_ring_map(&r->gm, vmb_gpadl_find(&r->tbl, id), 0, data_pages + 1, &r->m,
			      &r->map) == 0);
	FZ_CHECK(r->m.flags & VMB_RING_F_DOUBLE_MAPPED);
}

/* One run of the script over one mapping. */
struct run {
	struct vmb_ring_mem m;
	uint8_t *bounce;
	uint32_t bounce_size;
	struct vmb_ring_reader r;
	struct vmb_ring_writer w;
	bool have_r, have_w;
	uint32_t ends[MAX_READS]; /* packet ends read since the last commit */
	uint32_t nends;
	struct vmb_pkt_ranges rg;
	struct trace t;
};

static void
poke_ctl(struct vmb_ring_mem *m, uint32_t which, uint32_t v)
{
	volatile uint32_t *w[] = {&m->ctl->windex, &m->ctl->rindex, &m->ctl->imask,
				  &m->ctl->pending_send,
				  (volatile uint32_t *)&m->ctl->feature_bits.value};
	__atomic_store_n(w[which % 5], v, __ATOMIC_RELAXED);
}

static void
check_reader(const struct vmb_ring_reader *r)
{
	FZ_CHECK(vmb_ring__index_ok(r->cursor, r->m.size));
	FZ_CHECK(vmb_ring__index_ok(r->committed, r->m.size));
	FZ_CHECK(vmb_ring__index_ok(r->peer_write, r->m.size));
}

static void
check_writer(const struct vmb_ring_writer *w)
{
	FZ_CHECK(vmb_ring__index_ok(w->cursor, w->m.size));
	FZ_CHECK(vmb_ring__index_ok(w->committed, w->m.size));
	FZ_CHECK(vmb_ring__index_ok(w->peer_read, w->m.size));
}

static void
do_read(struct run *x)
{
	static const struct vmb_pkt_limits lim = {0, 16, 64, 0};
	struct vmb_ring_reader *r = &x->r;
	uint32_t size = r->m.size, start = r->cursor, i;
	struct vmb_ring_pkt pkt;
	struct vmb_pkt pk;
	enum vmb_ring_status st;
	uint8_t *copy;

	st = vmb_ring_read(r, &pkt);
	tr(&x->t, st);
	FZ_CHECK(st == VMB_RING_OK || st == VMB_RING_EMPTY || st == VMB_RING_CORRUPT);
	check_reader(r);
	if (st != VMB_RING_OK) {
		FZ_CHECK(r->cursor == start);
		return;
	}
	FZ_CHECK(pkt.start == start);
	FZ_CHECK(pkt.len == (uint32_t)pkt.desc.tlen * 8 && pkt.len >= VMB_RING_MIN_PKT_LEN);
	FZ_CHECK(pkt.desc.hlen >= VMBUS_CHANPKT_HLEN_MIN && pkt.desc.hlen <= pkt.desc.tlen);
	FZ_CHECK(pkt.end == (start + pkt.len + VMB_RING_TRAILER_SIZE) % size);
	FZ_CHECK(r->cursor == pkt.end);
	/* Not past what the writer published. */
	FZ_CHECK(vmb_ring__dist(start, pkt.end, size) <= vmb_ring__dist(start, r->peer_write, size) ||
		 pkt.end == r->peer_write);
	/* The packet bytes are the ring bytes at its start (wrapped), descriptor included. */
	copy = malloc(pkt.len);
	FZ_CHECK(copy != NULL);
	for (i = 0; i < pkt.len; i++)
		copy[i] = r->m.data[(start + i) % size];
	FZ_CHECK(memcmp(copy, pkt.bytes, pkt.len) == 0);
	FZ_CHECK(memcmp(copy, &pkt.desc, sizeof(pkt.desc)) == 0);
	free(copy);
	tr(&x->t, pkt.start | (uint64_t)pkt.len << 32);
	tr(&x->t, fnv(pkt.bytes, pkt.len));
	if (x->nends < MAX_READS)
		x->ends[x->nends++] = pkt.end;
	{
		enum vmb_pkt_error e = vmb_pkt_decode(&pkt, &lim, &pk, &x->rg);
		tr(&x->t, e);
		if (e == VMB_PKT_OK) {
			FZ_CHECK(pk.payload + pk.payload_len == pkt.bytes + pkt.len);
			tr(&x->t, pk.range_count | (uint64_t)pk.pfn_count << 32);
		}
	}
}

static void
do_reserve(struct run *x, uint32_t pkt_len, uint64_t tag)
{
	struct vmb_ring_writer *w = &x->w;
	uint32_t size = w->m.size, start = w->cursor;
	struct vmb_ring_span s;
	enum vmb_ring_status st;

	st = vmb_ring_reserve(w, pkt_len, &s);
	tr(&x->t, st);
	check_writer(w);
	if (st != VMB_RING_OK) {
		FZ_CHECK(w->cursor == start);
		return;
	}
	FZ_CHECK(pkt_len % 8 == 0 && pkt_len + VMB_RING_TRAILER_SIZE < size);
	FZ_CHECK(s.len[0] + s.len[1] == pkt_len);
	FZ_CHECK(s.p[0] == w->m.data + start);
	if (w->m.flags & VMB_RING_F_DOUBLE_MAPPED) {
		FZ_CHECK(s.len[1] == 0 && start + pkt_len < 2 * size);
	} else {
		FZ_CHECK(start + s.len[0] <= size);
		FZ_CHECK(s.len[1] == 0 || s.p[1] == w->m.data);
	}
	FZ_CHECK(w->cursor == (start + pkt_len + VMB_RING_TRAILER_SIZE) % size);
	/* Fill: a descriptor when it fits, then a pattern. */
	{
		uint32_t off = 0;
		if (pkt_len >= VMB_RING_MIN_PKT_LEN) {
			struct vmbus_chanpkt_hdr h = {.type = VMB_PKT_INBAND,
						      .hlen = VMBUS_CHANPKT_HLEN_MIN,
						      .tlen = (uint16_t)(pkt_len / 8),
						      .flags = 0,
						      .xactid = tag};
			vmb_ring_span_copy(&s, 0, &h, sizeof(h));
			off = sizeof(h);
		}
		while (off < pkt_len) {
			uint8_t b = (uint8_t)(tag + off);
			vmb_ring_span_copy(&s, off, &b, 1);
			off++;
		}
	}
}

static void
run_script(struct run *x, const uint8_t *script, size_t len)
{
	struct fz_in in = {script, len};
	uint64_t tag = 0;

	while (in.n) {
		uint8_t op = fz_u8(&in) % OP_COUNT;

		tag++;
		tr(&x->t, op);
		if (op <= OP_REVERT || op == OP_PREPARE_SLEEP || op == OP_SET_MASK) {
			if (!x->have_r) {
				x->have_r = vmb_ring_reader_attach(&x->r, &x->m, x->bounce,
								   x->bounce_size) == VMB_RING_OK;
				tr(&x->t, x->have_r);
				if (!x->have_r)
					continue;
				check_reader(&x->r);
			}
		}
		if (op >= OP_RESERVE && op <= OP_WRITE_REVERT) {
			if (!x->have_w) {
				x->have_w = vmb_ring_writer_attach(&x->w, &x->m) == VMB_RING_OK;
				tr(&x->t, x->have_w);
				if (!x->have_w)
					continue;
				check_writer(&x->w);
			}
		}
		switch (op) {
		case OP_READ:
			do_read(x);
			break;
		case OP_COMMIT:
			tr(&x->t, vmb_ring_read_commit(&x->r));
			FZ_CHECK(x->r.committed == x->r.cursor);
			x->nends = 0;
			break;
		case OP_COMMIT_TO: {
			uint8_t k = fz_u8(&in);
			if (x->nends == 0)
				break;
			k %= x->nends;
			tr(&x->t, vmb_ring_read_commit_to(&x->r, x->ends[k]));
			FZ_CHECK(x->r.committed == x->ends[k]);
			memmove(x->ends, x->ends + k + 1, (x->nends - k - 1) * sizeof(x->ends[0]));
			x->nends -= k + 1;
			break;
		}
		case OP_REVERT:
			vmb_ring_read_revert(&x->r);
			FZ_CHECK(x->r.cursor == x->r.committed);
			x->nends = 0;
			break;
		case OP_RESERVE:
			do_reserve(x, (uint32_t)fz_u16(&in) * 8, tag);
			break;
		case OP_WRITE_INBAND: {
			uint16_t plen = fz_u16(&in);
			uint8_t *pay = malloc(plen ? plen : 1);
			FZ_CHECK(pay != NULL);
			memset(pay, (int)tag, plen);
			tr(&x->t, vmb_pkt_write_inband(&x->w, tag, (uint16_t)(tag & 1), pay, plen));
			check_writer(&x->w);
			free(pay);
			break;
		}
		case OP_WRITE_COMMIT:
			tr(&x->t, vmb_ring_write_commit(&x->w));
			FZ_CHECK(x->w.committed == x->w.cursor);
			break;
		case OP_WRITE_REVERT:
			vmb_ring_write_revert(&x->w);
			FZ_CHECK(x->w.cursor == x->w.committed);
			break;
		case OP_POKE_CTL: {
			uint8_t which = fz_u8(&in);
			poke_ctl(&x->m, which, fz_u32(&in));
			break;
		}
		case OP_POKE_DATA: {
			uint32_t off = fz_u16(&in), n = fz_u8(&in), i;
			for (i = 0; i < n; i++)
				x->m.data[(off + i) % x->m.size] = fz_u8(&in);
			break;
		}
		case OP_WAIT_SPACE: {
			uint32_t plen = (uint32_t)fz_u16(&in) * 8;
			if (!x->have_w)
				break;
			tr(&x->t, vmb_ring_writer_wait_space(&x->w, plen));
			check_writer(&x->w);
			break;
		}
		case OP_CLEAR_WAIT:
			if (x->have_w)
				vmb_ring_writer_clear_wait(&x->w);
			break;
		case OP_PREPARE_SLEEP:
			tr(&x->t, vmb_ring_reader_prepare_sleep(&x->r));
			check_reader(&x->r);
			break;
		case OP_SET_MASK:
			vmb_ring_reader_set_mask(&x->r, fz_u8(&in) & 1);
			break;
		case OP_REFRESH:
			if (x->have_r) {
				tr(&x->t, vmb_ring_reader_refresh(&x->r));
				check_reader(&x->r);
			}
			if (x->have_w) {
				tr(&x->t, vmb_ring_writer_refresh(&x->w));
				check_writer(&x->w);
			}
			break;
		}
	}
	/* Whatever the peer did, a final drain terminates and stays inside the ring. */
	if (x->have_r) {
		uint32_t i;
		for (i = 0; i < 64; i++) {
			uint32_t before = x->t.n;
			do_read(x);
			if (x->t.n > before && x->t.v[before] != VMB_RING_OK)
				break;
		}
		tr(&x->t, vmb_ring_read_commit(&x->r));
	}
	tr(&x->t, fnv((const uint8_t *)x->m.ctl, 128));
	tr(&x->t, fnv(x->m.data, x->m.size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run flat, dm;
	static struct vmb_gpa_range gpa[16];
	static struct vmb_xfer_range xfer[16];
	static uint64_t pfns[64];
	struct fz_in in = {data, size};
	uint32_t ctl[5], pages, D, bounce_sel, script_len, i;
	const uint8_t *script;
	struct dbl_ring *d;
	struct fz_flat_ring fr;
	bool compare;

	for (i = 0; i < 5; i++)
		ctl[i] = fz_u32(&in);
	pages = 1 + fz_u8(&in) % MAX_PAGES;
	bounce_sel = fz_u8(&in);
	script_len = fz_u8(&in);
	(void)fz_u8(&in);
	script = in.p;
	if (script_len > in.n)
		script_len = (uint32_t)in.n;
	in.p += script_len;
	in.n -= script_len;
	D = pages * VMB_PAGE_SIZE;

	d = &dbl[pages];
	if (d->m.ctl == NULL)
		dbl_init(d, pages);

	/* Same initial bytes in both rings. */
	fz_flat_ring_init(&fr, D);
	memset((void *)fr.m.ctl, 0, VMB_RING_CTL_SIZE);
	memset((void *)d->m.ctl, 0, VMB_RING_CTL_SIZE);
	for (i = 0; i < 5; i++) {
		poke_ctl(&fr.m, i, ctl[i]);
		poke_ctl(&d->m, i, ctl[i]);
	}
	memset(fr.m.data, 0, D);
	fz_take(&in, fr.m.data, D);
	memcpy(d->m.data, fr.m.data, D);

	memset(&flat, 0, sizeof(flat));
	memset(&dm, 0, sizeof(dm));
	flat.m = fr.m;
	compare = bounce_sel == 0;
	if (compare) {
		flat.bounce = fr.bounce;
		flat.bounce_size = D;
	} else {
		flat.bounce_size = bounce_sel * 64;
		flat.bounce = malloc(flat.bounce_size); /* exact: an overrun is an ASan report */
		FZ_CHECK(flat.bounce != NULL);
	}
	dm.m = d->m;
	flat.rg.gpa = dm.rg.gpa = gpa;
	flat.rg.xfer = dm.rg.xfer = xfer;
	flat.rg.pfns = dm.rg.pfns = pfns;

	run_script(&flat, script, script_len);
	run_script(&dm, script, script_len);

	if (compare) {
		for (i = 0; i < flat.t.n && i < dm.t.n; i++) {
			if (flat.t.v[i] != dm.t.v[i]) {
				fprintf(stderr, "flat and double-mapped runs differ at trace %u: "
						"0x%llx != 0x%llx\n",
					i, (unsigned long long)flat.t.v[i],
					(unsigned long long)dm.t.v[i]);
				abort();
			}
		}
		FZ_CHECK(flat.t.n == dm.t.n);
	} else {
		free(flat.bounce);
	}
	fz_flat_ring_fini(&fr);
	return 0;
}
