/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Packet layer (vmb_packet.h): encode/decode round trips of INBAND, COMPLETION, GPA_DIRECT and
 * XFER_PAGES packets (on split-copy and double-mapped rings, so packets wrap), encoder limits,
 * decode limits, hostile packets (types, flags, type headers, range tables, page numbers), and
 * a cross-check that DPDK's own rte_vmbus_reg.h structs and helpers parse what we write.
 */
#include "test_util.h"

#define RING_D 4096u

/* A ring with a writer and a reader attached; packets are written, read and committed in turn,
 * so successive packets start at moving offsets and wrap. */
struct pk_env {
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
};

static void
env_init(struct pk_env *e, enum tu_ring_kind kind, uint32_t size)
{
	tu_ring_init(&e->r, kind, size);
	tu_attach(&e->r, &e->w, &e->rd);
}

static void
env_fini(struct pk_env *e)
{
	tu_ring_fini(&e->r);
}

/* Commit what the writer wrote and read exactly one packet. */
static void
env_read_one(struct pk_env *e, struct vmb_ring_pkt *p)
{
	vmb_ring_write_commit(&e->w);
	assert_int_equal(vmb_ring_read(&e->rd, p), VMB_RING_OK);
}

static void
env_consume(struct pk_env *e)
{
	struct vmb_ring_pkt p;
	assert_int_equal(vmb_ring_read(&e->rd, &p), VMB_RING_EMPTY);
	vmb_ring_read_commit(&e->rd);
}

/* Place a raw packet (descriptor + @p nwords 32-bit words after it, zero padded to tlen*8)
 * at the reader's position and publish it; return what the ring reader says. */
static enum vmb_ring_status
env_put_raw(struct pk_env *e, uint16_t type, uint16_t hlen, uint16_t tlen, uint16_t flags,
	    const uint32_t *words, uint32_t nwords, struct vmb_ring_pkt *p)
{
	uint32_t start = e->rd.cursor, len = (uint32_t)tlen * 8, i;
	uint8_t zero = 0;

	for (i = 16; i < len; i++)
		tu_ring_poke(&e->r, start + i, &zero, 1);
	tu_put_desc(&e->r, start, type, hlen, tlen, flags, 0xC0FFEE);
	if (nwords)
		tu_ring_poke(&e->r, start + 16, words, nwords * 4);
	e->r.m.ctl->windex = (start + len + 8) % e->r.m.size;
	return vmb_ring_read(&e->rd, p);
}

static uint32_t
pages_of(uint32_t offset, uint32_t count)
{
	/* independent of vmb_pkt_pages_spanned() on purpose */
	return (uint32_t)(((uint64_t)offset + count + 4095) / 4096);
}

/* ------------------------------------------------------------------------------------------ */

static void
test_error_str(void **state)
{
	static const enum vmb_pkt_error all[] = {VMB_PKT_OK, VMB_PKT_EBADTYPE, VMB_PKT_EBADFLAGS,
						  VMB_PKT_EHDR, VMB_PKT_ERANGES, VMB_PKT_EGPA};
	size_t i, j;

	(void)state;
	for (i = 0; i < TU_ARRAY_SIZE(all); i++) {
		assert_non_null(vmb_pkt_error_str(all[i]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(vmb_pkt_error_str(all[i]), vmb_pkt_error_str(all[j]));
	}
	assert_string_equal(vmb_pkt_error_str((enum vmb_pkt_error)77), "unknown");
}

static void
test_pages_spanned(void **state)
{
	static const struct {
		uint32_t offset, count, pages;
	} cases[] = {
		{0, 0, 0},        {0, 1, 1},          {0, 4096, 1},         {0, 4097, 2},
		{4095, 1, 1},     {4095, 2, 2},       {100, 10000, 3},      {1, 8191, 2},
		{1, 8192, 3},     {4096 + 5, 1, 1} /* offset taken within the page */,
		{0, UINT32_MAX, 1048576},             {4095, UINT32_MAX, 1048577},
	};
	size_t i;

	(void)state;
	for (i = 0; i < TU_ARRAY_SIZE(cases); i++) {
		char name[48];
		snprintf(name, sizeof(name), "offset %u count %u", cases[i].offset, cases[i].count);
		TU_EQ(name, vmb_pkt_pages_spanned(cases[i].offset, cases[i].count), cases[i].pages);
	}
	assert_int_equal(vmb_pkt_inband_len(0), 16);
	assert_int_equal(vmb_pkt_inband_len(1), 24);
	assert_int_equal(vmb_pkt_inband_len(8), 24);
	assert_int_equal(vmb_pkt_inband_len(9), 32);
}

/* INBAND and COMPLETION: every payload length 0..64, both ring kinds. */
static void
test_inband_completion_roundtrip(void **state)
{
	static const enum tu_ring_kind kinds[] = {TU_RING_PLAIN, TU_RING_MEMFD};
	size_t k;

	(void)state;
	for (k = 0; k < TU_ARRAY_SIZE(kinds); k++) {
		struct pk_env e;
		uint32_t len, variant;

		env_init(&e, kinds[k], RING_D);
		for (len = 0; len <= 64; len++) {
			for (variant = 0; variant < 3; variant++) {
				uint16_t type = variant == 2 ? VMB_PKT_COMPLETION : VMB_PKT_INBAND;
				uint16_t flags = variant == 1 ? VMB_PKT_FLAG_RC : 0;
				uint64_t xid = 0x1000000000000000ull | ((uint64_t)len << 8) | variant;
				struct vmb_pkt_limits lim = tu_limits(0, 0, 0);
				uint8_t payload[64], image[96];
				struct vmb_ring_pkt p;
				struct vmb_pkt out;
				uint32_t plen;
				char name[48];

				snprintf(name, sizeof(name), "%s len %u variant %u",
					 tu_ring_kind_str(kinds[k]), len, variant);
				tu_pattern(payload, len, (uint32_t)xid);
				plen = tu_simple_image(image, type, flags, xid, payload, len);
				if (type == VMB_PKT_COMPLETION)
					TU_EQ(name, vmb_pkt_write_completion(&e.w, xid, payload, len),
					      VMB_RING_OK);
				else
					TU_EQ(name, vmb_pkt_write_inband(&e.w, xid, flags, payload, len),
					      VMB_RING_OK);
				env_read_one(&e, &p);
				TU_EQ(name, p.len, plen);
				TU_EQ(name, p.len, vmb_pkt_inband_len(len));
				if (memcmp(p.bytes, image, plen) != 0)
					fail_msg("[%s] wire image differs", name);
				/* no ranges allowed, NULL range arrays: fine for these types */
				TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, NULL), VMB_PKT_OK);
				TU_EQ(name, out.type, type);
				TU_EQ(name, out.flags, flags);
				TU_EQ(name, out.xid, xid);
				TU_EQ(name, out.payload == p.bytes + 16, 1);
				TU_EQ(name, out.payload_len, tu_align8(len));
				TU_EQ(name, out.range_count, 0);
				TU_EQ(name, out.pfn_count, 0);
				TU_EQ(name, out.ext_bytes, 0);
				if (len && memcmp(out.payload, payload, len) != 0)
					fail_msg("[%s] payload differs", name);
				env_consume(&e);
			}
		}
		env_fini(&e);
	}
}

/* Gathered payloads are concatenated and zero padded. */
static void
test_simple_v_gather(void **state)
{
	struct pk_env e;
	uint8_t a[3] = {1, 2, 3}, b[10] = {4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, want[16];
	struct iovec v[] = {{a, sizeof(a)}, {b, 0}, {b, sizeof(b)}};
	struct vmb_pkt_limits lim = tu_limits(0, 0, 0);
	struct vmb_ring_pkt p;
	struct vmb_pkt out;

	(void)state;
	env_init(&e, TU_RING_PLAIN, RING_D);
	assert_int_equal(vmb_pkt_write_simple_v(&e.w, VMB_PKT_INBAND, VMB_PKT_FLAG_RC, 5, v, 3),
			 VMB_RING_OK);
	env_read_one(&e, &p);
	assert_int_equal(vmb_pkt_decode(&p, &lim, &out, NULL), VMB_PKT_OK);
	memset(want, 0, sizeof(want));
	memcpy(want, a, 3);
	memcpy(want + 3, b, 10);
	assert_int_equal(out.payload_len, 16);
	assert_memory_equal(out.payload, want, 16);
	assert_int_equal(out.flags, VMB_PKT_FLAG_RC);
	env_consume(&e);

	assert_int_equal(vmb_pkt_write_simple_v(&e.w, VMB_PKT_COMPLETION, 0, 6, NULL, 0), VMB_RING_OK);
	env_read_one(&e, &p);
	assert_int_equal(p.len, 16);
	assert_int_equal(vmb_pkt_decode(&p, &lim, &out, NULL), VMB_PKT_OK);
	assert_int_equal(out.type, VMB_PKT_COMPLETION);
	assert_int_equal(out.payload_len, 0);
	env_fini(&e);
}

/* ---- GPA_DIRECT ----------------------------------------------------------------------------- */

struct gpa_set {
	const char *name;
	uint32_t n;
	struct {
		uint32_t count, offset;
	} r[4];
};

static const struct gpa_set gpa_sets[] = {
	{"one small range", 1, {{100, 0}}},
	{"one whole page", 1, {{4096, 0}}},
	{"one page + 1 byte", 1, {{4097, 0}}},
	{"last byte of a page", 1, {{1, 4095}}},
	{"2 bytes across a page boundary", 1, {{2, 4095}}},
	{"3 pages at offset 100", 1, {{10000, 100}}},
	{"8 pages exactly", 1, {{8 * 4096, 0}}},
	{"mixed ranges", 3, {{1500, 2048}, {4096, 0}, {9000, 4000}}},
	{"four single pages", 4, {{1, 0}, {10, 10}, {4000, 96}, {64, 4032}}},
};

static void
gpa_fill(const struct gpa_set *gs, struct vmb_gpa_range_out *out, uint64_t pfn_store[][8],
	 uint32_t *total_pfns, uint64_t *total_bytes)
{
	uint32_t i, j;

	*total_pfns = 0;
	*total_bytes = 0;
	for (i = 0; i < gs->n; i++) {
		uint32_t pages = pages_of(gs->r[i].offset, gs->r[i].count);
		assert_true(pages <= 8);
		for (j = 0; j < pages; j++)
			pfn_store[i][j] = 1000u * (i + 1) + 3u * j + 7u; /* not consecutive */
		out[i].byte_count = gs->r[i].count;
		out[i].byte_offset = gs->r[i].offset;
		out[i].pfns = pfn_store[i];
		*total_pfns += pages;
		*total_bytes += gs->r[i].count;
	}
}

static void
test_gpa_direct_roundtrip(void **state)
{
	static const enum tu_ring_kind kinds[] = {TU_RING_PLAIN, TU_RING_MEMFD};
	static const uint32_t payload_lens[] = {0, 1, 13, 64};
	size_t k, s, l;

	(void)state;
	for (k = 0; k < TU_ARRAY_SIZE(kinds); k++) {
		struct pk_env e;

		env_init(&e, kinds[k], RING_D);
		for (s = 0; s < TU_ARRAY_SIZE(gpa_sets); s++) {
			for (l = 0; l < TU_ARRAY_SIZE(payload_lens); l++) {
				const struct gpa_set *gs = &gpa_sets[s];
				const uint32_t plen = payload_lens[l];
				struct vmb_gpa_range_out ro[4];
				uint64_t store[4][8], pfns[64], total_bytes;
				struct vmb_gpa_range gr[4];
				struct vmb_pkt_ranges rg = {.gpa = gr, .pfns = pfns};
				struct vmb_pkt_limits lim = tu_limits(4, 64, 1u << 20);
				uint32_t total_pfns, hdr = 24, i, j, f = 0;
				uint8_t payload[64];
				struct vmb_ring_pkt p;
				struct vmb_pkt out;
				char name[80];

				snprintf(name, sizeof(name), "%s %s payload %u", tu_ring_kind_str(kinds[k]),
					 gs->name, plen);
				gpa_fill(gs, ro, store, &total_pfns, &total_bytes);
				for (i = 0; i < gs->n; i++)
					hdr += 8 + 8 * pages_of(gs->r[i].offset, gs->r[i].count);
				tu_pattern(payload, plen, (uint32_t)(s * 100 + l));
				TU_EQ(name, vmb_pkt_gpa_direct_len(ro, gs->n, plen), hdr + tu_align8(plen));
				TU_EQ(name,
				      vmb_pkt_write_gpa_direct(&e.w, 0xABCDEF00 + s, VMB_PKT_FLAG_RC, ro,
							       gs->n, payload, plen),
				      VMB_RING_OK);
				env_read_one(&e, &p);
				TU_EQ(name, p.len, hdr + tu_align8(plen));
				TU_EQ(name, p.desc.hlen * 8, hdr);
				TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, &rg), VMB_PKT_OK);
				TU_EQ(name, out.type, VMB_PKT_GPA_DIRECT);
				TU_EQ(name, out.flags, VMB_PKT_FLAG_RC);
				TU_EQ(name, out.xid, 0xABCDEF00 + s);
				TU_EQ(name, out.range_count, gs->n);
				TU_EQ(name, out.pfn_count, total_pfns);
				TU_EQ(name, out.ext_bytes, total_bytes);
				TU_EQ(name, out.payload == p.bytes + hdr, 1);
				TU_EQ(name, out.payload_len, tu_align8(plen));
				if (plen && memcmp(out.payload, payload, plen) != 0)
					fail_msg("[%s] payload differs", name);
				for (i = 0; i < gs->n; i++) {
					uint32_t pages = pages_of(gs->r[i].offset, gs->r[i].count);
					TU_EQ(name, gr[i].byte_count, gs->r[i].count);
					TU_EQ(name, gr[i].byte_offset, gs->r[i].offset);
					TU_EQ(name, gr[i].pfn_count, pages);
					TU_EQ(name, gr[i].first_pfn, f);
					for (j = 0; j < pages; j++)
						TU_EQ(name, pfns[f + j], store[i][j]);
					f += pages;
				}
				env_consume(&e);
			}
		}
		env_fini(&e);
	}
}

/* Decode limits on GPA packets: range and page-number capacity, guest size, allowed types. */
static void
test_gpa_decode_limits(void **state)
{
	const struct gpa_set *gs = &gpa_sets[7]; /* 3 ranges, 1 + 1 + 4 pages (max pfn 3016) */
	static const struct {
		const char *name;
		uint32_t types, max_ranges, max_pfns;
		uint64_t guest_pages;
		int null_ranges; /* 1: no ranges struct, 2: gpa array NULL, 3: pfns array NULL */
		enum vmb_pkt_error want;
	} cases[] = {
		{"fits", 0, 3, 6, 3017, 0, VMB_PKT_OK},
		{"no guest check", 0, 3, 6, 0, 0, VMB_PKT_OK},
		{"ranges capacity one short", 0, 2, 6, 0, 0, VMB_PKT_ERANGES},
		{"pfns capacity one short", 0, 3, 5, 0, 0, VMB_PKT_ERANGES},
		{"no range capacity at all", 0, 0, 0, 0, 0, VMB_PKT_ERANGES},
		{"guest one page too small", 0, 3, 6, 3016, 0, VMB_PKT_EGPA},
		{"guest tiny", 0, 3, 6, 1, 0, VMB_PKT_EGPA},
		{"GPA not allowed", 1u << VMB_PKT_INBAND, 3, 6, 0, 0, VMB_PKT_EBADTYPE},
		{"only GPA allowed", 1u << VMB_PKT_GPA_DIRECT, 3, 6, 0, 0, VMB_PKT_OK},
		{"NULL ranges", 0, 3, 6, 0, 1, VMB_PKT_ERANGES},
		{"NULL gpa array", 0, 3, 6, 0, 2, VMB_PKT_ERANGES},
		{"NULL pfn array", 0, 3, 6, 0, 3, VMB_PKT_ERANGES},
	};
	struct vmb_gpa_range_out ro[4];
	uint64_t store[4][8], total_bytes;
	uint32_t total_pfns;
	struct pk_env e;
	size_t c;

	(void)state;
	env_init(&e, TU_RING_PLAIN, RING_D);
	gpa_fill(gs, ro, store, &total_pfns, &total_bytes);
	assert_int_equal(total_pfns, 6);
	assert_int_equal(store[2][3], 3016);
	for (c = 0; c < TU_ARRAY_SIZE(cases); c++) {
		uint64_t pfns[8];
		struct vmb_gpa_range gr[4];
		struct vmb_pkt_ranges rg = {.gpa = gr, .pfns = pfns};
		struct vmb_pkt_limits lim = {.types_allowed = cases[c].types,
					     .max_ranges = cases[c].max_ranges,
					     .max_pfns = cases[c].max_pfns,
					     .guest_pages = cases[c].guest_pages};
		struct vmb_ring_pkt p;
		struct vmb_pkt out;

		if (cases[c].null_ranges == 2)
			rg.gpa = NULL;
		if (cases[c].null_ranges == 3)
			rg.pfns = NULL;
		TU_EQ(cases[c].name, vmb_pkt_write_gpa_direct(&e.w, 1, 0, ro, 3, NULL, 0), VMB_RING_OK);
		env_read_one(&e, &p);
		TU_EQ(cases[c].name,
		      vmb_pkt_decode(&p, &lim, &out, cases[c].null_ranges == 1 ? NULL : &rg),
		      cases[c].want);
		env_consume(&e);
	}
	env_fini(&e);
}

/* ---- XFER_PAGES ----------------------------------------------------------------------------- */

static void
test_xfer_pages_roundtrip(void **state)
{
	static const enum tu_ring_kind kinds[] = {TU_RING_PLAIN, TU_RING_MEMFD};
	static const uint32_t counts[] = {0, 1, 5, 32};
	static const uint32_t payload_lens[] = {0, 7, 64};
	static const uint16_t set_ids[] = {0, 0xABCD};
	size_t k, c, l, s;

	(void)state;
	for (k = 0; k < TU_ARRAY_SIZE(kinds); k++) {
		struct pk_env e;

		env_init(&e, kinds[k], RING_D);
		for (c = 0; c < TU_ARRAY_SIZE(counts); c++)
			for (l = 0; l < TU_ARRAY_SIZE(payload_lens); l++)
				for (s = 0; s < TU_ARRAY_SIZE(set_ids); s++) {
					const uint32_t n = counts[c], plen = payload_lens[l];
					struct vmb_xfer_range in[32], got[32];
					struct vmb_pkt_ranges rg = {.xfer = got};
					struct vmb_pkt_limits lim = tu_limits(32, 0, 0);
					uint16_t flags = s ? VMB_PKT_FLAG_RC : 0;
					uint64_t bytes = 0;
					uint8_t payload[64];
					struct vmb_ring_pkt p;
					struct vmb_pkt out;
					uint32_t i;
					char name[64];

					snprintf(name, sizeof(name), "%s ranges %u payload %u set %u",
						 tu_ring_kind_str(kinds[k]), n, plen, set_ids[s]);
					for (i = 0; i < n; i++) {
						in[i].byte_count = 1000 + 17 * i;
						in[i].byte_offset = 0x10000 * i + 3;
						bytes += in[i].byte_count;
					}
					tu_pattern(payload, plen, n + plen);
					TU_EQ(name, vmb_pkt_xfer_pages_len(n, plen), 24 + 8 * n + tu_align8(plen));
					TU_EQ(name,
					      vmb_pkt_write_xfer_pages(&e.w, 77 + n, flags, set_ids[s], in, n,
								       payload, plen),
					      VMB_RING_OK);
					env_read_one(&e, &p);
					TU_EQ(name, p.len, 24 + 8 * n + tu_align8(plen));
					TU_EQ(name, p.desc.hlen * 8, 24 + 8 * n);
					TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, &rg), VMB_PKT_OK);
					TU_EQ(name, out.type, VMB_PKT_XFER_PAGES);
					TU_EQ(name, out.flags, flags);
					TU_EQ(name, out.xid, 77 + n);
					TU_EQ(name, out.xfer_set_id, set_ids[s]);
					TU_EQ(name, out.xfer_sender_owns, 0);
					TU_EQ(name, out.range_count, n);
					TU_EQ(name, out.pfn_count, 0);
					TU_EQ(name, out.ext_bytes, bytes);
					TU_EQ(name, out.payload_len, tu_align8(plen));
					if (plen && memcmp(out.payload, payload, plen) != 0)
						fail_msg("[%s] payload differs", name);
					for (i = 0; i < n; i++) {
						TU_EQ(name, got[i].byte_count, in[i].byte_count);
						TU_EQ(name, got[i].byte_offset, in[i].byte_offset);
					}
					/* capacity one short, and no arrays at all */
					if (n) {
						lim.max_ranges = n - 1;
						TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, &rg), VMB_PKT_ERANGES);
						lim.max_ranges = n;
						TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, NULL), VMB_PKT_ERANGES);
						rg.xfer = NULL;
						TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, &rg), VMB_PKT_ERANGES);
					} else {
						lim.max_ranges = 0;
						TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, NULL), VMB_PKT_OK);
					}
					lim.types_allowed = 1u << VMB_PKT_GPA_DIRECT;
					TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, &rg), VMB_PKT_EBADTYPE);
					env_consume(&e);
				}
		env_fini(&e);
	}
}

/* ---- encoder limits ------------------------------------------------------------------------- */

static void
test_encoder_limits(void **state)
{
	const uint32_t max_len = 0xFFFFu * 8; /* len8 is 16 bits */
	uint64_t pfn1[1] = {5};
	struct vmb_gpa_range_out ok1 = {.byte_count = 10, .byte_offset = 0, .pfns = pfn1};
	struct vmb_gpa_range_out bad;
	struct vmb_xfer_range xr[2] = {{1, 2}, {3, 4}};
	static uint8_t big[RING_D];
	struct pk_env e;
	uint32_t cursor;

	(void)state;
	/* GPA length function */
	assert_int_equal(vmb_pkt_gpa_direct_len(&ok1, 1, 0), 40);
	assert_int_equal(vmb_pkt_gpa_direct_len(&ok1, 0, 0), 0);
	bad = ok1;
	bad.byte_count = 0;
	assert_int_equal(vmb_pkt_gpa_direct_len(&bad, 1, 0), 0);
	bad = ok1;
	bad.byte_offset = 4096;
	assert_int_equal(vmb_pkt_gpa_direct_len(&bad, 1, 0), 0);
	bad = ok1;
	bad.byte_count = 65536u * 4096; /* 65536 page numbers: more than len8 can describe */
	assert_int_equal(vmb_pkt_gpa_direct_len(&bad, 1, 0), 0);
	assert_int_equal(vmb_pkt_gpa_direct_len(&ok1, 1, max_len - 40), max_len);
	assert_int_equal(vmb_pkt_gpa_direct_len(&ok1, 1, max_len - 39), 0);
	assert_int_equal(vmb_pkt_gpa_direct_len(&ok1, 1, UINT32_MAX), 0);

	/* XFER length function */
	assert_int_equal(vmb_pkt_xfer_pages_len(0, 0), 24);
	assert_int_equal(vmb_pkt_xfer_pages_len(2, 1), 48);
	assert_int_equal(vmb_pkt_xfer_pages_len(0, max_len - 24), max_len);
	assert_int_equal(vmb_pkt_xfer_pages_len(0, max_len - 23), 0);
	assert_int_equal(vmb_pkt_xfer_pages_len((max_len - 24) / 8, 0), max_len);
	assert_int_equal(vmb_pkt_xfer_pages_len((max_len - 24) / 8 + 1, 0), 0);
	assert_int_equal(vmb_pkt_xfer_pages_len(UINT32_MAX, UINT32_MAX), 0);

	/* writers refuse unencodable packets without touching the ring */
	env_init(&e, TU_RING_PLAIN, RING_D);
	cursor = e.w.cursor;
	assert_int_equal(vmb_pkt_write_gpa_direct(&e.w, 1, 0, &ok1, 0, NULL, 0), VMB_RING_TOO_LARGE);
	bad = ok1;
	bad.byte_offset = 5000;
	assert_int_equal(vmb_pkt_write_gpa_direct(&e.w, 1, 0, &bad, 1, NULL, 0), VMB_RING_TOO_LARGE);
	bad = ok1;
	bad.byte_count = 65536u * 4096;
	assert_int_equal(vmb_pkt_write_gpa_direct(&e.w, 1, 0, &bad, 1, NULL, 0), VMB_RING_TOO_LARGE);
	assert_int_equal(vmb_pkt_write_xfer_pages(&e.w, 1, 0, 0, xr, UINT32_MAX / 8, NULL, 0),
			 VMB_RING_TOO_LARGE);
	/* encodable but larger than this ring */
	assert_int_equal(vmb_pkt_write_xfer_pages(&e.w, 1, 0, 0, xr, 0, big, RING_D),
			 VMB_RING_TOO_LARGE);
	assert_int_equal(e.w.cursor, cursor);

	/* a full ring reports FULL and writes nothing */
	while (vmb_pkt_write_xfer_pages(&e.w, 1, 0, 0, xr, 2, NULL, 0) == VMB_RING_OK)
		;
	cursor = e.w.cursor;
	assert_int_equal(vmb_pkt_write_gpa_direct(&e.w, 1, 0, &ok1, 1, NULL, 0), VMB_RING_FULL);
	assert_int_equal(vmb_pkt_write_xfer_pages(&e.w, 1, 0, 0, xr, 2, NULL, 0), VMB_RING_FULL);
	assert_int_equal(vmb_pkt_write_inband(&e.w, 1, 0, NULL, 0), VMB_RING_FULL);
	assert_int_equal(e.w.cursor, cursor);
	env_fini(&e);
}

/*
 * INBAND/COMPLETION payload limit: the packet's len8 is 16 bits, so descriptor + padded payload
 * must stay <= 0xFFFF * 8 bytes. In a ring big enough to hold more, anything longer must be
 * refused as TOO_LARGE rather than written with a truncated len8.
 */
static void
test_inband_len8_limit(void **state)
{
	const uint32_t max_len = 0xFFFFu * 8, D = 1u << 20;
	static const uint32_t over[] = {0xFFFFu * 8 - 15, 0xFFFFu * 8 - 8, 0xFFFFu * 8,
					0xFFFFu * 8 + 1};
	uint8_t *payload = calloc(1, max_len + 8);
	enum vmb_ring_status inband_st[TU_ARRAY_SIZE(over)], completion_st[TU_ARRAY_SIZE(over)];
	struct vmb_pkt_limits lim = tu_limits(0, 0, 0);
	struct vmb_ring_pkt p;
	struct vmb_pkt out;
	struct pk_env e;
	size_t i;

	(void)state;
	assert_non_null(payload);
	env_init(&e, TU_RING_PLAIN, D);
	/* the largest legal one: len8 == 0xFFFF */
	assert_int_equal(vmb_pkt_write_inband(&e.w, 1, 0, payload, max_len - 16), VMB_RING_OK);
	env_read_one(&e, &p);
	assert_int_equal(p.desc.tlen, 0xFFFF);
	assert_int_equal(p.len, max_len);
	assert_int_equal(vmb_pkt_decode(&p, &lim, &out, NULL), VMB_PKT_OK);
	env_consume(&e);

	for (i = 0; i < TU_ARRAY_SIZE(over); i++) {
		inband_st[i] = vmb_pkt_write_inband(&e.w, 2, 0, payload, over[i]);
		vmb_ring_write_revert(&e.w);
		completion_st[i] = vmb_pkt_write_completion(&e.w, 2, payload, over[i]);
		vmb_ring_write_revert(&e.w);
	}
	env_fini(&e);
	free(payload);
	for (i = 0; i < TU_ARRAY_SIZE(over); i++) {
		char name[48];

		snprintf(name, sizeof(name), "payload %u", over[i]);
		TU_EQ(name, inband_st[i], VMB_RING_TOO_LARGE);
		TU_EQ(name, completion_st[i], VMB_RING_TOO_LARGE);
	}
}

/* ---- hostile packets ------------------------------------------------------------------------ */

static void
test_decode_bad_types_and_flags(void **state)
{
	static const uint16_t bad_types[] = {0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x8, 0xA, 0xC,
					     0xD, 0xE, 0x1F, 0x20, 0x21, 0x100, 0xFFFF};
	static const uint16_t bad_flags[] = {0x2, 0x3, 0x4, 0x80, 0x8000, 0xFFFF};
	struct pk_env e;
	size_t i;

	(void)state;
	env_init(&e, TU_RING_PLAIN, RING_D);
	for (i = 0; i < TU_ARRAY_SIZE(bad_types); i++) {
		struct vmb_pkt_limits lim = tu_limits(4, 8, 0);
		struct vmb_ring_pkt p;
		struct vmb_pkt out;
		char name[32];

		snprintf(name, sizeof(name), "type 0x%x", bad_types[i]);
		TU_EQ(name, env_put_raw(&e, bad_types[i], 2, 4, 0, NULL, 0, &p), VMB_RING_OK);
		TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, NULL), VMB_PKT_EBADTYPE);
		/* a caller may opt in to a legacy type below 32; it then decodes as plain */
		lim.types_allowed = bad_types[i] < 32 ? 1u << bad_types[i] : 0xFFFFFFFFu;
		TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, NULL),
		      bad_types[i] < 32 ? VMB_PKT_OK : VMB_PKT_EBADTYPE);
		env_consume(&e);
	}
	for (i = 0; i < TU_ARRAY_SIZE(bad_flags); i++) {
		static const uint16_t types[] = {VMB_PKT_INBAND, VMB_PKT_COMPLETION};
		size_t t;
		for (t = 0; t < TU_ARRAY_SIZE(types); t++) {
			struct vmb_pkt_limits lim = tu_limits(4, 8, 0);
			struct vmb_ring_pkt p;
			struct vmb_pkt out;
			char name[40];

			snprintf(name, sizeof(name), "type %u flags 0x%x", types[t], bad_flags[i]);
			TU_EQ(name, env_put_raw(&e, types[t], 2, 2, bad_flags[i], NULL, 0, &p),
			      VMB_RING_OK);
			TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, NULL), VMB_PKT_EBADFLAGS);
			env_consume(&e);
		}
	}
	env_fini(&e);
}

/* Hostile type headers and range tables. Limits: 4 ranges, 8 page numbers, 1000 guest pages. */
struct hostile_pkt_case {
	const char *name;
	uint16_t type, hlen, tlen;
	uint32_t nwords;
	uint32_t words[24]; /* after the descriptor, little-endian u32 (u64 pfn = lo, hi) */
	enum vmb_pkt_error want;
};

#define GPA VMB_PKT_GPA_DIRECT
#define XFER VMB_PKT_XFER_PAGES

static const struct hostile_pkt_case hostile_pkt_cases[] = {
	/* sanity: well-formed packets decode */
	{"GPA valid", GPA, 5, 6, 6, {0, 1, 100, 0, 999, 0}, VMB_PKT_OK},
	{"XFER valid", XFER, 4, 4, 4, {0x1234, 1, 100, 0}, VMB_PKT_OK},
	{"XFER valid, no ranges", XFER, 3, 3, 2, {0, 0}, VMB_PKT_OK},
	{"INBAND with a longer header", VMB_PKT_INBAND, 3, 4, 0, {0}, VMB_PKT_OK},
	/* type header does not fit in offset8 */
	{"GPA header missing", GPA, 2, 6, 0, {0}, VMB_PKT_EHDR},
	{"XFER header missing", XFER, 2, 4, 0, {0}, VMB_PKT_EHDR},
	/* GPA range counts */
	{"GPA count 0", GPA, 5, 5, 6, {0, 0, 100, 0, 5, 0}, VMB_PKT_ERANGES},
	{"GPA count 0, bare header", GPA, 3, 3, 2, {0, 0}, VMB_PKT_ERANGES},
	{"GPA count 1, no room for the range", GPA, 3, 3, 2, {0, 1}, VMB_PKT_ERANGES},
	{"GPA count 2, room for 1", GPA, 5, 5, 6, {0, 2, 100, 0, 5, 0}, VMB_PKT_ERANGES},
	{"GPA count 1, 8 bytes left over", GPA, 6, 6, 8, {0, 1, 100, 0, 5, 0, 6, 0}, VMB_PKT_ERANGES},
	{"GPA count over limit", GPA, 13, 13, 22,
	 {0, 5, 1, 0, 1, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 4, 0, 1, 0, 5, 0}, VMB_PKT_ERANGES},
	{"GPA count huge", GPA, 5, 5, 6, {0, 0xFFFFFFFF, 100, 0, 5, 0}, VMB_PKT_ERANGES},
	{"GPA 2 pages, 1 page number", GPA, 5, 5, 6, {0, 1, 8192, 0, 5, 0}, VMB_PKT_ERANGES},
	{"GPA crosses into a 2nd page, 1 page number", GPA, 5, 5, 6, {0, 1, 2, 4095, 5, 0},
	 VMB_PKT_ERANGES},
	{"GPA 9 pages > max_pfns 8", GPA, 13, 13, 22,
	 {0, 1, 9 * 4096, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0}, VMB_PKT_ERANGES},
	{"GPA 8 pages == max_pfns", GPA, 12, 12, 20,
	 {0, 1, 8 * 4096, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0}, VMB_PKT_OK},
	/* GPA range contents */
	{"GPA byte_offset 4096", GPA, 5, 5, 6, {0, 1, 100, 4096, 5, 0}, VMB_PKT_EGPA},
	{"GPA byte_offset max", GPA, 5, 5, 6, {0, 1, 100, 0xFFFFFFFF, 5, 0}, VMB_PKT_EGPA},
	{"GPA byte_count 0", GPA, 5, 5, 6, {0, 1, 0, 0, 5, 0}, VMB_PKT_EGPA},
	{"GPA pfn == guest pages", GPA, 5, 5, 6, {0, 1, 100, 0, 1000, 0}, VMB_PKT_EGPA},
	{"GPA pfn high word", GPA, 5, 5, 6, {0, 1, 100, 0, 5, 1}, VMB_PKT_EGPA},
	{"GPA pfn max", GPA, 5, 5, 6, {0, 1, 100, 0, 0xFFFFFFFF, 0xFFFFFFFF}, VMB_PKT_EGPA},
	{"GPA 2nd range pfn out", GPA, 7, 7, 10, {0, 2, 100, 0, 5, 0, 100, 0, 1000, 0}, VMB_PKT_EGPA},
	{"GPA 2nd page of a range out", GPA, 6, 6, 8, {0, 1, 4097, 0, 5, 0, 4000, 0}, VMB_PKT_EGPA},
	/* XFER range counts */
	{"XFER count 2, room for 1", XFER, 4, 4, 4, {0, 2, 1, 1}, VMB_PKT_ERANGES},
	{"XFER count 1, room for 2", XFER, 5, 5, 6, {0, 1, 1, 1, 2, 2}, VMB_PKT_ERANGES},
	{"XFER count 0, room for 1", XFER, 4, 4, 4, {0, 0, 1, 1}, VMB_PKT_ERANGES},
	{"XFER count over limit", XFER, 8, 8, 12, {0, 5, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5},
	 VMB_PKT_ERANGES},
	{"XFER count huge", XFER, 4, 4, 4, {0, 0xFFFFFFFF, 1, 1}, VMB_PKT_ERANGES},
	{"XFER count 2^29 + 1 (wraps * 8)", XFER, 4, 4, 4, {0, 0x20000001, 1, 1}, VMB_PKT_ERANGES},
};

static void
test_decode_hostile(void **state)
{
	static const enum tu_ring_kind kinds[] = {TU_RING_PLAIN, TU_RING_MEMFD};
	size_t k, c;

	(void)state;
	for (k = 0; k < TU_ARRAY_SIZE(kinds); k++) {
		struct pk_env e;

		env_init(&e, kinds[k], RING_D);
		/* start near the end so that table packets wrap */
		tu_ring_set_indices(&e.r, RING_D - 40, RING_D - 40);
		tu_attach(&e.r, &e.w, &e.rd);
		for (c = 0; c < TU_ARRAY_SIZE(hostile_pkt_cases); c++) {
			const struct hostile_pkt_case *hc = &hostile_pkt_cases[c];
			struct vmb_xfer_range xr[4];
			struct vmb_gpa_range gr[4];
			uint64_t pfns[8];
			struct vmb_pkt_ranges rg = {.xfer = xr, .gpa = gr, .pfns = pfns};
			struct vmb_pkt_limits lim = tu_limits(4, 8, 1000);
			struct vmb_ring_pkt p;
			struct vmb_pkt out;

			TU_EQ(hc->name, env_put_raw(&e, hc->type, hc->hlen, hc->tlen, 0, hc->words,
						    hc->nwords, &p),
			      VMB_RING_OK);
			TU_EQ(hc->name, vmb_pkt_decode(&p, &lim, &out, &rg), hc->want);
			if (hc->want == VMB_PKT_OK) {
				TU_EQ(hc->name, out.payload == p.bytes + hc->hlen * 8, 1);
				TU_EQ(hc->name, out.payload_len, (hc->tlen - hc->hlen) * 8);
			}
			env_consume(&e);
		}
		env_fini(&e);
	}
}

/* XFER_PAGES type header bytes as a peer sends them: set id, sender_owns, reserved byte. */
static void
test_xfer_header_fields(void **state)
{
	static const struct {
		uint32_t word; /* bytes 16..19: u16 set_id, u8 sender_owns, u8 rsvd */
		uint16_t set_id;
		uint8_t owns;
	} cases[] = {
		{0x00011234, 0x1234, 1},
		{0xFF01ABCD, 0xABCD, 1}, /* reserved byte ignored */
		{0x00000001, 0x0001, 0},
		{0x00FF0000, 0x0000, 0xFF},
	};
	struct pk_env e;
	size_t i;

	(void)state;
	env_init(&e, TU_RING_PLAIN, RING_D);
	for (i = 0; i < TU_ARRAY_SIZE(cases); i++) {
		const uint32_t words[4] = {cases[i].word, 1, 500, 64};
		struct vmb_xfer_range xr[1];
		struct vmb_pkt_ranges rg = {.xfer = xr};
		struct vmb_pkt_limits lim = tu_limits(1, 0, 0);
		struct vmb_ring_pkt p;
		struct vmb_pkt out;
		char name[24];

		snprintf(name, sizeof(name), "word 0x%08x", cases[i].word);
		TU_EQ(name, env_put_raw(&e, VMB_PKT_XFER_PAGES, 4, 5, VMB_PKT_FLAG_RC, words, 4, &p),
		      VMB_RING_OK);
		TU_EQ(name, vmb_pkt_decode(&p, &lim, &out, &rg), VMB_PKT_OK);
		TU_EQ(name, out.xfer_set_id, cases[i].set_id);
		TU_EQ(name, out.xfer_sender_owns, cases[i].owns);
		TU_EQ(name, out.range_count, 1);
		TU_EQ(name, xr[0].byte_count, 500);
		TU_EQ(name, xr[0].byte_offset, 64);
		TU_EQ(name, out.ext_bytes, 500);
		TU_EQ(name, out.payload_len, 8);
		TU_EQ(name, out.xid, 0xC0FFEE);
		env_consume(&e);
	}
	env_fini(&e);
}

/* ---- DPDK cross-check ----------------------------------------------------------------------- */

/*
 * DPDK's rte_vmbus_reg.h structs and helpers must read what we wrote, field by field. The ring is
 * double mapped, so a packet is contiguous at data + start even when it wraps.
 */
static void
test_dpdk_parses_our_packets(void **state)
{
	static const uint32_t starts[] = {0, 8, 4096 - 16, 8192 - 16, 8192 - 8};
	const uint32_t D = 8192;
	size_t si;

	(void)state;
	for (si = 0; si < TU_ARRAY_SIZE(starts); si++) {
		const uint32_t start = starts[si];
		struct tu_ring r;
		struct vmb_ring_writer w;
		const struct vmbus_chanpkt_hdr *h;
		const uint8_t *pkt;
		uint8_t payload[32];
		uint64_t trailer, single[2][1] = {{0x123456789ull}, {42}}, multi[3] = {7, 9, 11};
		struct vmb_gpa_range_out gsingle[2] = {{.byte_count = 4096, .byte_offset = 0,
							 .pfns = single[0]},
						       {.byte_count = 100, .byte_offset = 3000,
							.pfns = single[1]}};
		struct vmb_gpa_range_out gmulti = {.byte_count = 9000, .byte_offset = 10, .pfns = multi};
		struct vmb_xfer_range xr[3] = {{100, 0}, {200, 4096}, {300, 1u << 20}};
		uint32_t off = start, i;
		char name[32];

		snprintf(name, sizeof(name), "start %u", start);
		tu_ring_init(&r, TU_RING_MEMFD, D);
		tu_ring_set_indices(&r, start, start);
		tu_attach(&r, &w, NULL);
		tu_pattern(payload, sizeof(payload), 3);

		/* INBAND, completion requested, 13-byte payload */
		TU_EQ(name, vmb_pkt_write_inband(&w, 0x1122334455667788ull, VMB_PKT_FLAG_RC, payload, 13),
		      VMB_RING_OK);
		pkt = r.m.data + off;
		h = (const struct vmbus_chanpkt_hdr *)pkt;
		TU_EQ(name, h->type, VMBUS_CHANPKT_TYPE_INBAND);
		TU_EQ(name, h->hlen, VMBUS_CHANPKT_HLEN_MIN);
		TU_EQ(name, vmbus_chanpkt_getlen(h->hlen), sizeof(struct vmbus_chanpkt));
		TU_EQ(name, vmbus_chanpkt_getlen(h->tlen), 32);
		TU_EQ(name, vmbus_chanpkt_datalen(h), 16);
		TU_EQ(name, h->flags, VMBUS_CHANPKT_FLAG_RC);
		TU_EQ(name, h->xactid, 0x1122334455667788ull);
		assert_memory_equal(pkt + vmbus_chanpkt_getlen(h->hlen), payload, 13);
		for (i = 13; i < 16; i++)
			TU_EQ(name, pkt[16 + i], 0);
		memcpy(&trailer, pkt + vmbus_chanpkt_getlen(h->tlen), 8);
		TU_EQ(name, trailer, (uint64_t)off << 32);
		off = (off + vmbus_chanpkt_getlen(h->tlen) + 8) % D;

		/* COMPLETION, 5-byte payload */
		TU_EQ(name, vmb_pkt_write_completion(&w, 0xFEDCBA9876543210ull, payload, 5), VMB_RING_OK);
		pkt = r.m.data + off;
		h = (const struct vmbus_chanpkt_hdr *)pkt;
		TU_EQ(name, h->type, VMBUS_CHANPKT_TYPE_COMP);
		TU_EQ(name, h->hlen, VMBUS_CHANPKT_HLEN_MIN);
		TU_EQ(name, vmbus_chanpkt_datalen(h), 8);
		TU_EQ(name, h->flags, VMBUS_CHANPKT_FLAG_NONE);
		TU_EQ(name, h->xactid, 0xFEDCBA9876543210ull);
		assert_memory_equal(pkt + 16, payload, 5);
		memcpy(&trailer, pkt + vmbus_chanpkt_getlen(h->tlen), 8);
		TU_EQ(name, trailer, (uint64_t)off << 32);
		off = (off + vmbus_chanpkt_getlen(h->tlen) + 8) % D;

		/* GPA_DIRECT with single-page ranges: exactly DPDK's vmbus_chanpkt_sglist */
		TU_EQ(name, vmb_pkt_write_gpa_direct(&w, 99, VMB_PKT_FLAG_RC, gsingle, 2, payload, 9),
		      VMB_RING_OK);
		{
			const struct vmbus_chanpkt_sglist *sg =
				(const struct vmbus_chanpkt_sglist *)(r.m.data + off);
			TU_EQ(name, sg->hdr.type, VMBUS_CHANPKT_TYPE_GPA);
			TU_EQ(name, sg->hdr.flags, VMBUS_CHANPKT_FLAG_RC);
			TU_EQ(name, sg->hdr.xactid, 99);
			TU_EQ(name, vmbus_chanpkt_getlen(sg->hdr.hlen),
			      sizeof(*sg) + 2 * sizeof(struct vmbus_gpa));
			TU_EQ(name, vmbus_chanpkt_datalen(&sg->hdr), 16);
			TU_EQ(name, sg->rsvd, 0);
			TU_EQ(name, sg->gpa_cnt, 2);
			TU_EQ(name, sg->gpa[0].len, 4096);
			TU_EQ(name, sg->gpa[0].ofs, 0);
			TU_EQ(name, sg->gpa[0].page, 0x123456789ull);
			TU_EQ(name, sg->gpa[1].len, 100);
			TU_EQ(name, sg->gpa[1].ofs, 3000);
			TU_EQ(name, sg->gpa[1].page, 42);
			assert_memory_equal((const uint8_t *)sg + vmbus_chanpkt_getlen(sg->hdr.hlen),
					    payload, 9);
			memcpy(&trailer, (const uint8_t *)sg + vmbus_chanpkt_getlen(sg->hdr.tlen), 8);
			TU_EQ(name, trailer, (uint64_t)off << 32);
			off = (off + vmbus_chanpkt_getlen(sg->hdr.tlen) + 8) % D;
		}

		/* GPA_DIRECT with a multi-page range: vmbus_gpa_range with page[] */
		TU_EQ(name, vmb_pkt_write_gpa_direct(&w, 100, 0, &gmulti, 1, NULL, 0), VMB_RING_OK);
		{
			const struct vmbus_chanpkt_sglist *sg =
				(const struct vmbus_chanpkt_sglist *)(r.m.data + off);
			const struct vmbus_gpa_range *gr =
				(const struct vmbus_gpa_range *)((const uint8_t *)sg + sizeof(*sg));
			TU_EQ(name, sg->hdr.type, VMBUS_CHANPKT_TYPE_GPA);
			TU_EQ(name, sg->gpa_cnt, 1);
			TU_EQ(name, gr->len, 9000);
			TU_EQ(name, gr->ofs, 10);
			for (i = 0; i < 3; i++)
				TU_EQ(name, gr->page[i], multi[i]);
			TU_EQ(name, vmbus_chanpkt_getlen(sg->hdr.hlen),
			      sizeof(*sg) + sizeof(*gr) + 3 * sizeof(uint64_t));
			TU_EQ(name, vmbus_chanpkt_datalen(&sg->hdr), 0);
			off = (off + vmbus_chanpkt_getlen(sg->hdr.tlen) + 8) % D;
		}

		/* XFER_PAGES: DPDK's vmbus_chanpkt_rxbuf */
		TU_EQ(name, vmb_pkt_write_xfer_pages(&w, 101, 0, 0x1234, xr, 3, payload, 11), VMB_RING_OK);
		{
			const struct vmbus_chanpkt_rxbuf *rx =
				(const struct vmbus_chanpkt_rxbuf *)(r.m.data + off);
			TU_EQ(name, rx->hdr.type, VMBUS_CHANPKT_TYPE_RXBUF);
			TU_EQ(name, rx->hdr.xactid, 101);
			TU_EQ(name, rx->hdr.flags, 0);
			TU_EQ(name, rx->rxbuf_id, 0x1234);
			TU_EQ(name, rx->rsvd, 0);
			TU_EQ(name, rx->rxbuf_cnt, 3);
			TU_EQ(name, vmbus_chanpkt_getlen(rx->hdr.hlen),
			      sizeof(*rx) + 3 * sizeof(struct vmbus_rxbuf_desc));
			for (i = 0; i < 3; i++) {
				TU_EQ(name, rx->rxbuf[i].len, xr[i].byte_count);
				TU_EQ(name, rx->rxbuf[i].ofs, xr[i].byte_offset);
			}
			TU_EQ(name, vmbus_chanpkt_datalen(&rx->hdr), 16);
			assert_memory_equal((const uint8_t *)rx + vmbus_chanpkt_getlen(rx->hdr.hlen),
					    payload, 11);
			off = (off + vmbus_chanpkt_getlen(rx->hdr.tlen) + 8) % D;
		}
		/* nothing published yet; then one store covers all five */
		TU_EQ(name, r.m.ctl->windex, start);
		vmb_ring_write_commit(&w);
		TU_EQ(name, r.m.ctl->windex, off);
		tu_ring_fini(&r);
	}
}

/* The control page as DPDK's struct vmbus_bufring sees it. */
static void
test_dpdk_bufring_fields(void **state)
{
	struct tu_ring r;
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_pkt p;
	const volatile struct vmbus_bufring *br;
	const uint8_t *raw;
	uint32_t v;

	(void)state;
	tu_ring_init(&r, TU_RING_MEMFD, RING_D);
	br = r.m.ctl;
	raw = (const uint8_t *)r.m.ctl;
	assert_int_equal(br->imask, 1);
	assert_int_equal(br->feature_bits.feat_pending_send_sz, 0);
	tu_attach(&r, &w, &rd);
	assert_int_equal(br->feature_bits.feat_pending_send_sz, 1);
	assert_int_equal(br->feature_bits.value & 1u, 1);

	assert_int_equal(vmb_pkt_write_inband(&w, 1, 0, NULL, 0), VMB_RING_OK);
	assert_int_equal(vmb_pkt_write_inband(&w, 2, 0, NULL, 0), VMB_RING_OK);
	vmb_ring_write_commit(&w);
	assert_int_equal(br->windex, 48);
	memcpy(&v, raw + 0, 4);
	assert_int_equal(v, 48);

	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
	vmb_ring_read_commit(&rd);
	assert_int_equal(br->rindex, 24);
	memcpy(&v, raw + 4, 4);
	assert_int_equal(v, 24);

	vmb_ring_reader_set_mask(&rd, false);
	assert_int_equal(br->imask, 0);
	memcpy(&v, raw + 8, 4);
	assert_int_equal(v, 0);

	(void)vmb_ring_writer_wait_space(&w, 2040);
	assert_int_equal(br->pending_send, 2040 + 16);
	memcpy(&v, raw + 12, 4);
	assert_int_equal(v, 2056);
	vmb_ring_writer_clear_wait(&w);
	assert_int_equal(br->pending_send, 0);
	memcpy(&v, raw + 64, 4);
	assert_int_equal(v, 1);
	tu_ring_fini(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_str),
		cmocka_unit_test(test_pages_spanned),
		cmocka_unit_test(test_inband_completion_roundtrip),
		cmocka_unit_test(test_simple_v_gather),
		cmocka_unit_test(test_gpa_direct_roundtrip),
		cmocka_unit_test(test_gpa_decode_limits),
		cmocka_unit_test(test_xfer_pages_roundtrip),
		cmocka_unit_test(test_encoder_limits),
		cmocka_unit_test(test_inband_len8_limit),
		cmocka_unit_test(test_decode_bad_types_and_flags),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_xfer_header_fields),
		cmocka_unit_test(test_dpdk_parses_our_packets),
		cmocka_unit_test(test_dpdk_bufring_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
