/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Helpers shared by the unit tests: cmocka includes, a deterministic PRNG, and rings of the
 * three kinds the library supports (plain split-copy buffer, memfd double mapping, anonymous
 * guest memory mapped through a GPADL), plus small packet helpers.
 */
#ifndef VMB_TEST_UTIL_H
#define VMB_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmb/vmb_mem.h>
#include <vmb/vmb_packet.h>
#include <vmb/vmb_ring.h>

#define TU_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** Table-driven check: on mismatch, fail naming the case and the expression. */
#define TU_EQ(name, got, want)                                                                  \
	do {                                                                                    \
		long long got_ = (long long)(got), want_ = (long long)(want);                   \
		if (got_ != want_)                                                              \
			fail_msg("[%s] %s = %lld, want %lld", (name), #got, got_, want_);       \
	} while (0)

/* ---- deterministic PRNG (splitmix64) ---- */

struct tu_rng {
	uint64_t s;
};

static inline uint64_t
tu_rng_next(struct tu_rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline uint32_t
tu_rng_below(struct tu_rng *r, uint32_t n)
{
	return n ? (uint32_t)(tu_rng_next(r) % n) : 0;
}

static inline void
tu_rng_fill(struct tu_rng *r, void *buf, size_t len)
{
	uint8_t *p = (uint8_t *)buf;
	while (len) {
		uint64_t v = tu_rng_next(r);
		size_t n = len < sizeof(v) ? len : sizeof(v);
		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

/** Deterministic byte pattern: byte i of pattern @p seed. */
static inline void
tu_pattern(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = (uint8_t *)buf;
	size_t i;
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

/* ---- rings ---- */

enum tu_ring_kind {
	TU_RING_PLAIN,  /**< aligned heap buffer, flags 0: split-copy path */
	TU_RING_MEMFD,  /**< memfd guest memory + GPADL + vmb_ring_map: double mapped */
	TU_RING_ANON,   /**< anonymous guest memory + GPADL + vmb_ring_map: split-copy path */
};

struct tu_ring {
	enum tu_ring_kind kind;
	struct vmb_ring_mem m;
	struct vmb_guest_mem gm;
	struct vmb_gpadl_table tbl;
	struct vmb_mapping map;
	void *plain;
	uint8_t *bounce;     /**< D bytes, for readers of split-copy rings; NULL when double mapped */
	uint32_t bounce_size;
};

static inline const char *
tu_ring_kind_str(enum tu_ring_kind k)
{
	return k == TU_RING_PLAIN ? "plain" : k == TU_RING_MEMFD ? "memfd" : "anon";
}

/** Create a formatted ring with a data area of @p size bytes (multiple of 4096). */
static inline void
tu_ring_init(struct tu_ring *r, enum tu_ring_kind kind, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->gm.fd = -1;
	if (kind == TU_RING_PLAIN) {
		r->plain = aligned_alloc(4096, VMB_RING_CTL_SIZE + (size_t)size);
		assert_non_null(r->plain);
		memset(r->plain, 0, VMB_RING_CTL_SIZE + (size_t)size);
		r->m.ctl = (struct vmbus_bufring *)r->plain;
		r->m.data = (uint8_t *)r->plain + VMB_RING_CTL_SIZE;
		r->m.size = size;
		r->m.flags = 0;
	} else {
		uint32_t pages = 1 + size / VMB_PAGE_SIZE, i, id = 0;
		uint64_t first;
		uint64_t *pfns = calloc(pages, sizeof(*pfns));

		assert_non_null(pfns);
		/* one spare page in front so the ring does not start at guest page 0 */
		assert_int_equal(vmb_mem_create(&r->gm, (uint64_t)(pages + 1) * VMB_PAGE_SIZE,
						kind == TU_RING_MEMFD ? VMB_MEM_MEMFD : VMB_MEM_ANON),
				 0);
		assert_int_equal(vmb_mem_alloc_pages(&r->gm, 1, &first), 0);
		assert_int_equal(vmb_mem_alloc_pages(&r->gm, pages, &first), 0);
		for (i = 0; i < pages; i++)
			pfns[i] = first + i;
		assert_int_equal(vmb_gpadl_table_init(&r->tbl, 4), 0);
		assert_int_equal(vmb_gpadl_add(&r->tbl, &r->gm, 0, pfns, pages, &id), 0);
		free(pfns);
		assert_int_equal(vmb_ring_map(&r->gm, vmb_gpadl_find(&r->tbl, id), 0, pages, &r->m,
					      &r->map),
				 0);
		assert_int_equal(r->m.size, size);
		assert_int_equal(r->m.flags,
				 kind == TU_RING_MEMFD ? VMB_RING_F_DOUBLE_MAPPED : 0u);
	}
	if (!(r->m.flags & VMB_RING_F_DOUBLE_MAPPED)) {
		r->bounce = malloc(size);
		assert_non_null(r->bounce);
		r->bounce_size = size;
	}
	vmb_ring_format(r->m.ctl);
}

static inline void
tu_ring_fini(struct tu_ring *r)
{
	vmb_mapping_unmap(&r->map);
	vmb_gpadl_table_fini(&r->tbl);
	vmb_mem_destroy(&r->gm);
	free(r->plain);
	free(r->bounce);
	memset(r, 0, sizeof(*r));
}

/** Set both shared indices (as a formatted ring that was left at @p w / @p r). */
static inline void
tu_ring_set_indices(struct tu_ring *r, uint32_t windex, uint32_t rindex)
{
	r->m.ctl->windex = windex;
	r->m.ctl->rindex = rindex;
}

static inline void
tu_attach(struct tu_ring *r, struct vmb_ring_writer *w, struct vmb_ring_reader *rd)
{
	if (w)
		assert_int_equal(vmb_ring_writer_attach(w, &r->m), VMB_RING_OK);
	if (rd)
		assert_int_equal(vmb_ring_reader_attach(rd, &r->m, r->bounce, r->bounce_size),
				 VMB_RING_OK);
}

/** Byte @p off (mod D) of the data area, read through the first mapping only. */
static inline uint8_t
tu_ring_byte(const struct tu_ring *r, uint32_t off)
{
	return r->m.data[off % r->m.size];
}

/** Copy @p len bytes at ring offset @p off (wrapping) out of the data area. */
static inline void
tu_ring_peek(const struct tu_ring *r, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = (uint8_t *)dst;
	uint32_t i;
	for (i = 0; i < len; i++)
		d[i] = tu_ring_byte(r, off + i);
}

/** Copy @p len bytes into the data area at ring offset @p off (wrapping). */
static inline void
tu_ring_poke(struct tu_ring *r, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *s = (const uint8_t *)src;
	uint32_t i;
	for (i = 0; i < len; i++)
		r->m.data[(off + i) % r->m.size] = s[i];
}

/** The trailer stored after a packet that ends (trailer excluded) at ring offset @p off. */
static inline uint64_t
tu_ring_trailer_at(const struct tu_ring *r, uint32_t off)
{
	uint64_t v;
	tu_ring_peek(r, off, &v, sizeof(v));
	return v;
}

/** Write a raw descriptor (and nothing else) at ring offset @p off. */
static inline void
tu_put_desc(struct tu_ring *r, uint32_t off, uint16_t type, uint16_t hlen, uint16_t tlen,
	    uint16_t flags, uint64_t xid)
{
	struct vmbus_chanpkt_hdr h = {
		.type = type, .hlen = hlen, .tlen = tlen, .flags = flags, .xactid = xid};
	tu_ring_poke(r, off, &h, sizeof(h));
}

/** Round up to the 8-byte packet alignment. */
static inline uint32_t
tu_align8(uint32_t v)
{
	return (v + 7u) & ~7u;
}

/**
 * Build the expected image of an INBAND/COMPLETION packet (descriptor, payload, zero padding)
 * in @p buf. @return its on-ring length (trailer excluded).
 */
static inline uint32_t
tu_simple_image(uint8_t *buf, uint16_t type, uint16_t flags, uint64_t xid, const void *payload,
		uint32_t len)
{
	struct vmbus_chanpkt_hdr h;
	uint32_t pkt_len = 16 + tu_align8(len);

	h.type = type;
	h.hlen = 2;
	h.tlen = (uint16_t)(pkt_len / 8);
	h.flags = flags;
	h.xactid = xid;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + 16, payload, len);
	memset(buf + 16 + len, 0, pkt_len - 16 - len);
	return pkt_len;
}

/** Default decode limits: the four modern types, room for @p ranges / @p pfns. */
static inline struct vmb_pkt_limits
tu_limits(uint32_t ranges, uint32_t pfns, uint64_t guest_pages)
{
	struct vmb_pkt_limits l = {
		.types_allowed = 0, .max_ranges = ranges, .max_pfns = pfns, .guest_pages = guest_pages};
	return l;
}

#endif /* VMB_TEST_UTIL_H */
