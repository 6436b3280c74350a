/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Guest memory and GPADL layer (vmb_mem.h): memfd/anonymous regions, the guest page allocator,
 * bounds-checked translation (gpa_ptr, ptr_pfn, gpadl_ptr), the GPADL table, contiguous and
 * doubled mappings (vmb_gpadl_map, vmb_ring_map), host-side attach by fd, and the documented
 * errors for invalid arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"

#define PG VMB_PAGE_SIZE

/* ---- regions -------------------------------------------------------------------------------- */

static void
test_create_kinds(void **state)
{
	static const struct {
		uint64_t size, want_size;
	} sizes[] = {{1, PG}, {PG, PG}, {PG + 1, 2 * PG}, {1u << 20, 1u << 20}, {3 * PG - 1, 3 * PG}};
	static const enum vmb_mem_kind kinds[] = {VMB_MEM_MEMFD, VMB_MEM_ANON};
	size_t i, k;

	(void)state;
	for (k = 0; k < TU_ARRAY_SIZE(kinds); k++) {
		for (i = 0; i < TU_ARRAY_SIZE(sizes); i++) {
			struct vmb_guest_mem m;
			uint64_t j;
			char name[48];

			snprintf(name, sizeof(name), "kind %d size %llu", kinds[k],
				 (unsigned long long)sizes[i].size);
			TU_EQ(name, vmb_mem_create(&m, sizes[i].size, kinds[k]), 0);
			TU_EQ(name, m.base != NULL, 1);
			TU_EQ(name, m.size, sizes[i].want_size);
			TU_EQ(name, m.page_count, sizes[i].want_size / PG);
			TU_EQ(name, m.kind, kinds[k]);
			if (kinds[k] == VMB_MEM_MEMFD) {
				TU_EQ(name, m.fd >= 0, 1);
				TU_EQ(name, fcntl(m.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
			} else {
				TU_EQ(name, m.fd, -1);
			}
			for (j = 0; j < m.size; j += 997)
				TU_EQ(name, m.base[j], 0);
			memset(m.base, 0x5A, m.size); /* writable, all of it */
			vmb_mem_destroy(&m);
			TU_EQ(name, m.base == NULL, 1);
			TU_EQ(name, m.size, 0);
			TU_EQ(name, m.fd, -1);
			vmb_mem_destroy(&m); /* twice is safe */
		}
	}
}

static void
test_create_invalid(void **state)
{
	static const struct {
		const char *name;
		uint64_t size;
		int kind;
	} cases[] = {
		{"size 0", 0, VMB_MEM_MEMFD},
		{"size 0 anon", 0, VMB_MEM_ANON},
		{"over 64 GiB", (64ull << 30) + 1, VMB_MEM_MEMFD},
		{"huge", UINT64_MAX, VMB_MEM_ANON},
		{"huge, rounds to 0", UINT64_MAX - 100, VMB_MEM_MEMFD},
		{"bad kind", PG, 7},
		{"negative kind", PG, -1},
	};
	struct vmb_guest_mem m;
	size_t i;

	(void)state;
	assert_int_equal(vmb_mem_create(NULL, PG, VMB_MEM_MEMFD), -EINVAL);
	for (i = 0; i < TU_ARRAY_SIZE(cases); i++) {
		memset(&m, 0xA5, sizeof(m));
		TU_EQ(cases[i].name, vmb_mem_create(&m, cases[i].size, (enum vmb_mem_kind)cases[i].kind),
		      -EINVAL);
		/* left in a state destroy accepts */
		TU_EQ(cases[i].name, m.base == NULL, 1);
		TU_EQ(cases[i].name, m.fd, -1);
		vmb_mem_destroy(&m);
	}
	vmb_mem_destroy(NULL);
}

/*
 * "Safe on a zeroed region": a zero-initialised struct has fd 0, which is not ours to close.
 */
static void
test_destroy_zeroed_keeps_fd0(void **state)
{
	struct vmb_guest_mem m;
	int saved, opened = -1, still_open;

	(void)state;
	saved = fcntl(0, F_DUPFD_CLOEXEC, 100);
	if (saved < 0) {
		/* nothing on fd 0 in this environment: put something there */
		opened = open("/dev/null", O_RDONLY);
		assert_int_equal(opened, 0);
	}
	memset(&m, 0, sizeof(m));
	vmb_mem_destroy(&m);
	still_open = fcntl(0, F_GETFD) != -1;
	/* restore fd 0 before judging, so a failure does not leak into later tests */
	if (saved >= 0) {
		dup2(saved, 0);
		close(saved);
	} else if (still_open) {
		close(opened);
	}
	assert_true(still_open); /* vmb_mem_destroy() closed an fd it never owned */
}

/* ---- page allocator ------------------------------------------------------------------------- */

static void
test_alloc_pages(void **state)
{
	struct vmb_guest_mem m;
	uint64_t pfn = 12345;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, 16 * PG, VMB_MEM_ANON), 0);
	assert_int_equal(vmb_mem_alloc_pages(&m, 1, &pfn), 0);
	assert_int_equal(pfn, 0);
	assert_int_equal(vmb_mem_alloc_pages(&m, 3, &pfn), 0);
	assert_int_equal(pfn, 1);
	assert_int_equal(vmb_mem_alloc_pages(&m, 12, &pfn), 0);
	assert_int_equal(pfn, 4);
	pfn = 12345;
	assert_int_equal(vmb_mem_alloc_pages(&m, 1, &pfn), -ENOMEM); /* exhausted */
	assert_int_equal(pfn, 12345);

	vmb_mem_free_pages(&m, 1, 3);
	assert_int_equal(vmb_mem_alloc_pages(&m, 4, &pfn), -ENOMEM); /* only a run of 3 */
	assert_int_equal(vmb_mem_alloc_pages(&m, 2, &pfn), 0);
	assert_int_equal(pfn, 1);
	assert_int_equal(vmb_mem_alloc_pages(&m, 1, &pfn), 0);
	assert_int_equal(pfn, 3);
	assert_int_equal(vmb_mem_alloc_pages(&m, 1, &pfn), -ENOMEM);

	/* free everything: the whole region comes back as one run */
	vmb_mem_free_pages(&m, 0, 16);
	assert_int_equal(vmb_mem_alloc_pages(&m, 16, &pfn), 0);
	assert_int_equal(pfn, 0);
	vmb_mem_free_pages(&m, 0, UINT64_MAX); /* clipped */
	assert_int_equal(vmb_mem_alloc_pages(&m, 16, &pfn), 0);
	vmb_mem_free_pages(&m, 16, 1);         /* outside: ignored */
	vmb_mem_free_pages(&m, UINT64_MAX, 1); /* outside: ignored */
	vmb_mem_free_pages(&m, 15, 1);
	assert_int_equal(vmb_mem_alloc_pages(&m, 1, &pfn), 0);
	assert_int_equal(pfn, 15);
	vmb_mem_free_pages(NULL, 0, 1);
	vmb_mem_destroy(&m);
}

/* First fit: the lowest free run that is long enough, whatever came before. */
static void
test_alloc_first_fit(void **state)
{
	struct vmb_guest_mem m;
	uint64_t a, b, c, pfn;
	int rc;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, 16 * PG, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_mem_alloc_pages(&m, 1, &a), 0); /* 0 */
	assert_int_equal(vmb_mem_alloc_pages(&m, 1, &b), 0); /* 1 */
	assert_int_equal(vmb_mem_alloc_pages(&m, 1, &c), 0); /* 2 */
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(c, 2);
	vmb_mem_free_pages(&m, a, 1); /* hole of 1 at page 0 */
	assert_int_equal(vmb_mem_alloc_pages(&m, 2, &pfn), 0);
	assert_int_equal(pfn, 3); /* the hole is too small */
	rc = vmb_mem_alloc_pages(&m, 1, &pfn);
	vmb_mem_destroy(&m);
	assert_int_equal(rc, 0);
	assert_int_equal(pfn, 0); /* the hole fits now: first fit takes it */
}

static void
test_alloc_invalid(void **state)
{
	struct vmb_guest_mem m, host;
	uint64_t pfn;
	int rc;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, 4 * PG, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_mem_alloc_pages(NULL, 1, &pfn), -EINVAL);
	assert_int_equal(vmb_mem_alloc_pages(&m, 0, &pfn), -EINVAL);
	assert_int_equal(vmb_mem_alloc_pages(&m, 1, NULL), -EINVAL);
	rc = vmb_mem_alloc_pages(&m, 5, &pfn);
	assert_true(rc == -EINVAL || rc == -ENOMEM);
	rc = vmb_mem_alloc_pages(&m, UINT64_MAX, &pfn);
	assert_true(rc == -EINVAL || rc == -ENOMEM);
	/* host side: no allocator */
	assert_int_equal(vmb_mem_attach_fd(&host, m.fd), 0);
	assert_int_equal(vmb_mem_alloc_pages(&host, 1, &pfn), -EINVAL);
	vmb_mem_free_pages(&host, 0, 1);
	vmb_mem_destroy(&host);
	vmb_mem_destroy(&m);
}

/* ---- translation ---------------------------------------------------------------------------- */

static void
test_gpa_ptr_bounds(void **state)
{
	struct vmb_guest_mem m;
	const uint64_t S = 8 * PG;
	const struct {
		uint64_t gpa, len;
		int64_t want; /* offset from base, or -1 for NULL */
	} cases[] = {
		{0, 1, 0},
		{0, S, 0},
		{0, S + 1, -1},
		{S - 1, 1, (int64_t)S - 1}, /* last byte */
		{S - 1, 2, -1},
		{S, 1, -1},                 /* one past */
		{S + 1, 0, -1},
		{PG, PG, PG},
		{UINT64_MAX, 1, -1},
		{UINT64_MAX - S + 1, S, -1},
		{1, UINT64_MAX, -1},
		{S - 1, UINT64_MAX, -1},
		{UINT64_MAX, UINT64_MAX, -1},
	};
	size_t i;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, S, VMB_MEM_ANON), 0);
	for (i = 0; i < TU_ARRAY_SIZE(cases); i++) {
		uint8_t *p = vmb_mem_gpa_ptr(&m, cases[i].gpa, cases[i].len);
		char name[64];

		snprintf(name, sizeof(name), "gpa 0x%llx len 0x%llx", (unsigned long long)cases[i].gpa,
			 (unsigned long long)cases[i].len);
		TU_EQ(name, p ? p - m.base : -1, cases[i].want);
	}

	assert_int_equal(vmb_mem_ptr_pfn(&m, m.base), 0);
	assert_int_equal(vmb_mem_ptr_pfn(&m, m.base + PG - 1), 0);
	assert_int_equal(vmb_mem_ptr_pfn(&m, m.base + PG), 1);
	assert_int_equal(vmb_mem_ptr_pfn(&m, m.base + S - 1), 7);
	assert_int_equal(vmb_mem_ptr_pfn(&m, m.base + S), UINT64_MAX);
	assert_int_equal(vmb_mem_ptr_pfn(&m, (const void *)((uintptr_t)m.base - 1)), UINT64_MAX);
	assert_int_equal(vmb_mem_ptr_pfn(&m, &m), UINT64_MAX);
	vmb_mem_destroy(&m);
}

/* ---- GPADL table ---------------------------------------------------------------------------- */

static void
test_gpadl_table(void **state)
{
	struct vmb_guest_mem m;
	struct vmb_gpadl_table t;
	const uint64_t ok[] = {0, 5, 7}, out_of_mem[] = {0, 8, 1}, huge[] = {UINT64_MAX};
	const struct vmb_gpadl *g;
	uint32_t id1 = 0, id2 = 0, id3 = 0, idx = 0;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, 8 * PG, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_gpadl_table_init(NULL, 3), -EINVAL);
	assert_int_equal(vmb_gpadl_table_init(&t, 0), -EINVAL);
	assert_int_equal(vmb_gpadl_table_init(&t, 3), 0);

	/* invalid arguments */
	assert_int_equal(vmb_gpadl_add(NULL, &m, 0, ok, 3, &idx), -EINVAL);
	assert_int_equal(vmb_gpadl_add(&t, NULL, 0, ok, 3, &idx), -EINVAL);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, NULL, 3, &idx), -EINVAL);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, ok, 0, &idx), -EINVAL);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, out_of_mem, 3, &idx), -EINVAL); /* pfn 8 of 8 */
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, huge, 1, &idx), -EINVAL);
	assert_int_equal(idx, 0);

	/* guest-chosen ids are distinct and non-zero; host-chosen ids are kept */
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, ok, 3, &id1), 0);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, ok, 1, &id2), 0);
	assert_int_not_equal(id1, 0);
	assert_int_not_equal(id2, 0);
	assert_int_not_equal(id1, id2);
	assert_int_equal(vmb_gpadl_add(&t, &m, id1, ok, 1, &idx), -EINVAL); /* duplicate */
	assert_int_equal(vmb_gpadl_add(&t, &m, 0xE1000000u, ok + 1, 2, &id3), 0);
	assert_int_equal(id3, 0xE1000000u);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, ok, 1, &idx), -ENOSPC);          /* full */
	assert_int_equal(vmb_gpadl_add(&t, &m, 0x77, ok, 1, &idx), -ENOSPC);       /* full */

	g = vmb_gpadl_find(&t, id1);
	assert_non_null(g);
	assert_int_equal(g->id, id1);
	assert_int_equal(g->page_count, 3);
	assert_int_equal(g->pfns[0], 0);
	assert_int_equal(g->pfns[1], 5);
	assert_int_equal(g->pfns[2], 7);
	assert_true(g->pfns != ok); /* copied */
	g = vmb_gpadl_find(&t, id3);
	assert_non_null(g);
	assert_int_equal(g->page_count, 2);
	assert_int_equal(g->pfns[0], 5);
	assert_null(vmb_gpadl_find(&t, 0));
	assert_null(vmb_gpadl_find(&t, 0x12345));
	assert_null(vmb_gpadl_find(NULL, id1));

	/* remove, then it is gone; its slot is reusable */
	assert_int_equal(vmb_gpadl_remove(&t, id2), 0);
	assert_null(vmb_gpadl_find(&t, id2));
	assert_int_equal(vmb_gpadl_remove(&t, id2), -ENOENT);
	assert_int_equal(vmb_gpadl_remove(&t, 0), -ENOENT);
	assert_int_equal(vmb_gpadl_remove(NULL, id1), -ENOENT);
	assert_int_equal(vmb_gpadl_add(&t, &m, id2, ok, 2, &idx), 0);
	assert_int_equal(idx, id2);
	assert_non_null(vmb_gpadl_find(&t, id1));

	/* out_id may be NULL */
	assert_int_equal(vmb_gpadl_remove(&t, id2), 0);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0x55, ok, 2, NULL), 0);
	assert_non_null(vmb_gpadl_find(&t, 0x55));

	vmb_gpadl_table_fini(&t);
	assert_null(vmb_gpadl_find(&t, id1));
	vmb_gpadl_table_fini(&t); /* twice is safe */
	vmb_gpadl_table_fini(NULL);
	vmb_mem_destroy(&m);
}

/* Many adds and removes: ids never collide with live ones. */
static void
test_gpadl_id_reuse(void **state)
{
	struct vmb_guest_mem m;
	struct vmb_gpadl_table t;
	const uint64_t pf[] = {1};
	uint32_t live[4] = {0}, i, j, id;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, 2 * PG, VMB_MEM_ANON), 0);
	assert_int_equal(vmb_gpadl_table_init(&t, 4), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(vmb_gpadl_add(&t, &m, 0, pf, 1, &live[i]), 0);
	for (i = 0; i < 1000; i++) {
		uint32_t slot = i % 4;
		assert_int_equal(vmb_gpadl_remove(&t, live[slot]), 0);
		assert_int_equal(vmb_gpadl_add(&t, &m, 0, pf, 1, &id), 0);
		for (j = 0; j < 4; j++)
			if (j != slot)
				assert_int_not_equal(id, live[j]);
		assert_int_not_equal(id, 0);
		live[slot] = id;
	}
	vmb_gpadl_table_fini(&t);
	vmb_mem_destroy(&m);
}

static void
test_gpadl_ptr(void **state)
{
	struct vmb_guest_mem m;
	struct vmb_gpadl_table t;
	const uint64_t pf[] = {5, 6, 7, 2, 3};
	const struct vmb_gpadl *g;
	const uint64_t N = 5 * PG;
	const struct {
		uint64_t offset;
		uint32_t len;
		int64_t want; /* byte offset in guest memory, or -1 */
	} cases[] = {
		{0, 1, 5 * PG},
		{0, 3 * PG, 5 * PG},               /* 5, 6, 7 are contiguous */
		{100, 3 * PG - 100, 5 * PG + 100},
		{3 * PG - 1, 1, 8 * PG - 1},
		{3 * PG - 1, 2, -1},               /* 7 -> 2 is not contiguous */
		{PG, 3 * PG, -1},                  /* 6, 7 fine, then 7 -> 2 */
		{2 * PG + 100, PG, -1},
		{3 * PG, 2 * PG, 2 * PG},          /* 2, 3 */
		{4 * PG + 10, 20, 3 * PG + 10},
		{N - 1, 1, 4 * PG - 1},            /* last byte */
		{N - 1, 2, -1},
		{N, 1, -1},
		{0, 0, -1},                        /* empty */
		{0, UINT32_MAX, -1},
		{UINT64_MAX, 1, -1},
		{UINT64_MAX - 10, 20, -1},
	};
	uint32_t id;
	size_t i;

	(void)state;
	/* 16 pages: reading past GPADL page 7 would still be inside guest memory */
	assert_int_equal(vmb_mem_create(&m, 16 * PG, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_gpadl_table_init(&t, 2), 0);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, pf, 5, &id), 0);
	g = vmb_gpadl_find(&t, id);
	for (i = 0; i < TU_ARRAY_SIZE(cases); i++) {
		uint8_t *p = vmb_gpadl_ptr(&m, g, cases[i].offset, cases[i].len);
		char name[64];

		snprintf(name, sizeof(name), "offset 0x%llx len %u",
			 (unsigned long long)cases[i].offset, cases[i].len);
		TU_EQ(name, p ? p - m.base : -1, cases[i].want);
	}
	assert_null(vmb_gpadl_ptr(NULL, g, 0, 1));
	assert_null(vmb_gpadl_ptr(&m, NULL, 0, 1));
	vmb_gpadl_table_fini(&t);
	vmb_mem_destroy(&m);
}

/* ---- mappings ------------------------------------------------------------------------------- */

/* A ring over non-consecutive memfd pages: double mapped, both halves alias guest memory. */
static void
test_ring_map_double(void **state)
{
	struct vmb_guest_mem m;
	struct vmb_gpadl_table t;
	struct vmb_ring_mem ring;
	struct vmb_mapping mp;
	const uint64_t pf[] = {11, 9, 3, 4, 12}; /* junk page 11, ring = ctl 9 + data 3, 4, 12 */
	const struct vmb_gpadl *g;
	uint32_t id, i, D;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, 16 * PG, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_gpadl_table_init(&t, 2), 0);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, pf, 5, &id), 0);
	g = vmb_gpadl_find(&t, id);
	assert_int_equal(vmb_ring_map(&m, g, 1, 4, &ring, &mp), 0);
	D = ring.size;
	assert_int_equal(D, 3 * PG);
	assert_int_equal(ring.flags, VMB_RING_F_DOUBLE_MAPPED);
	assert_true(mp.owned);
	assert_int_equal(mp.len, (1 + 2 * 3) * PG);
	assert_ptr_equal(ring.ctl, mp.addr);
	assert_ptr_equal(ring.data, mp.addr + PG);
	assert_true(vmb_ring_mem_valid(&ring));

	/* control page is guest page 9 */
	ring.ctl->windex = 0x1234;
	assert_int_equal(*(volatile uint32_t *)(m.base + 9 * PG), 0x1234);
	/* data[i] and data[D + i] alias the same guest bytes, in GPADL order */
	for (i = 0; i < D; i++)
		ring.data[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < D; i++)
		if (ring.data[D + i] != (uint8_t)(i * 7 + 1))
			fail_msg("data[D + %u] does not alias data[%u]", i, i);
	for (i = 0; i < D; i += 509) {
		static const uint64_t data_pf[] = {3, 4, 12};
		assert_int_equal(m.base[data_pf[i / PG] * PG + i % PG], (uint8_t)(i * 7 + 1));
	}
	ring.data[D + 100] = 0xEE; /* and the other way round */
	assert_int_equal(ring.data[100], 0xEE);
	/* the ring works across the seam (details in test_ring) */
	{
		struct vmb_ring_writer w;
		struct vmb_ring_reader rd;
		struct vmb_ring_pkt p;
		uint8_t payload[100];

		vmb_ring_format(ring.ctl);
		ring.ctl->windex = D - 40;
		ring.ctl->rindex = D - 40;
		assert_int_equal(vmb_ring_writer_attach(&w, &ring), VMB_RING_OK);
		assert_int_equal(vmb_ring_reader_attach(&rd, &ring, NULL, 0), VMB_RING_OK);
		tu_pattern(payload, sizeof(payload), 1);
		assert_int_equal(vmb_pkt_write_inband(&w, 1, 0, payload, sizeof(payload)), VMB_RING_OK);
		vmb_ring_write_commit(&w);
		assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
		assert_ptr_equal(p.bytes, ring.data + D - 40);
		assert_memory_equal(p.bytes + 16, payload, sizeof(payload));
	}
	vmb_mapping_unmap(&mp);
	assert_null(mp.addr);
	vmb_mapping_unmap(&mp); /* twice is safe */
	vmb_mapping_unmap(NULL);
	vmb_gpadl_table_fini(&t);
	vmb_mem_destroy(&m);
}

/* vmb_gpadl_map variants and argument checks. */
static void
test_gpadl_map(void **state)
{
	struct vmb_guest_mem m;
	struct vmb_gpadl_table t;
	struct vmb_mapping mp;
	const uint64_t pf[] = {2, 7, 3, 5};
	const struct vmb_gpadl *g;
	static const struct {
		const char *name;
		uint32_t first, count, head;
		bool twice;
		int want;
		uint32_t pages;
	} cases[] = {
		{"all, once", 0, 4, 0, false, 0, 4},
		{"all, twice after head 1", 0, 4, 1, true, 0, 7},
		{"all, twice whole", 0, 4, 0, true, 0, 8},
		{"head == count: nothing doubled", 0, 4, 4, true, 0, 4},
		{"middle two, once", 1, 2, 0, false, 0, 2},
		{"last page", 3, 1, 0, false, 0, 1},
		{"count 0", 0, 0, 0, false, -EINVAL, 0},
		{"head > count", 0, 2, 3, true, -EINVAL, 0},
		{"past the end", 3, 2, 0, false, -EINVAL, 0},
		{"first past the end", 5, 1, 0, false, -EINVAL, 0},
		{"count overflows", 2, UINT32_MAX, 0, false, -EINVAL, 0},
	};
	uint32_t id, i;
	size_t c;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, 8 * PG, VMB_MEM_MEMFD), 0);
	for (i = 0; i < 8; i++)
		memset(m.base + i * PG, 0x10 + i, PG);
	assert_int_equal(vmb_gpadl_table_init(&t, 2), 0);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, pf, 4, &id), 0);
	g = vmb_gpadl_find(&t, id);
	for (c = 0; c < TU_ARRAY_SIZE(cases); c++) {
		TU_EQ(cases[c].name,
		      vmb_gpadl_map(&m, g, cases[c].first, cases[c].count, cases[c].head, cases[c].twice,
				    &mp),
		      cases[c].want);
		if (cases[c].want != 0)
			continue;
		TU_EQ(cases[c].name, mp.len, (uint64_t)cases[c].pages * PG);
		for (i = 0; i < cases[c].pages; i++) {
			/* page i of the view: GPADL page first + i, then the doubled part */
			uint32_t k = i < cases[c].count
					     ? i
					     : cases[c].head + (i - cases[c].count);
			TU_EQ(cases[c].name, mp.addr[(size_t)i * PG + 17], 0x10 + pf[cases[c].first + k]);
		}
		vmb_mapping_unmap(&mp);
	}
	assert_int_equal(vmb_gpadl_map(NULL, g, 0, 1, 0, false, &mp), -EINVAL);
	assert_int_equal(vmb_gpadl_map(&m, NULL, 0, 1, 0, false, &mp), -EINVAL);
	assert_int_equal(vmb_gpadl_map(&m, g, 0, 1, 0, false, NULL), -EINVAL);
	vmb_gpadl_table_fini(&t);
	vmb_mem_destroy(&m);
}

/* Anonymous memory: direct pointers for consecutive pages, -ENOTSUP otherwise. */
static void
test_anon_mapping(void **state)
{
	struct vmb_guest_mem m;
	struct vmb_gpadl_table t;
	struct vmb_ring_mem ring;
	struct vmb_mapping mp;
	const uint64_t consecutive[] = {3, 4, 5, 6}, scattered[] = {3, 4, 6, 7};
	uint32_t a, b;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, 8 * PG, VMB_MEM_ANON), 0);
	assert_int_equal(vmb_gpadl_table_init(&t, 2), 0);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, consecutive, 4, &a), 0);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, scattered, 4, &b), 0);

	assert_int_equal(vmb_ring_map(&m, vmb_gpadl_find(&t, a), 0, 4, &ring, &mp), 0);
	assert_int_equal(ring.flags, 0);
	assert_int_equal(ring.size, 3 * PG);
	assert_ptr_equal(ring.ctl, m.base + 3 * PG);
	assert_ptr_equal(ring.data, m.base + 4 * PG);
	assert_false(mp.owned);
	vmb_mapping_unmap(&mp); /* not owned: nothing unmapped */
	m.base[4 * PG] = 1;

	assert_int_equal(vmb_ring_map(&m, vmb_gpadl_find(&t, b), 0, 4, &ring, &mp), -ENOTSUP);
	/* the consecutive head of the scattered GPADL is fine */
	assert_int_equal(vmb_ring_map(&m, vmb_gpadl_find(&t, b), 0, 2, &ring, &mp), 0);
	assert_int_equal(vmb_gpadl_map(&m, vmb_gpadl_find(&t, a), 0, 4, 1, true, &mp), -ENOTSUP);
	assert_int_equal(vmb_gpadl_map(&m, vmb_gpadl_find(&t, b), 1, 3, 0, false, &mp), -ENOTSUP);
	assert_int_equal(vmb_gpadl_map(&m, vmb_gpadl_find(&t, b), 2, 2, 0, false, &mp), 0);
	assert_ptr_equal(mp.addr, m.base + 6 * PG);
	vmb_gpadl_table_fini(&t);
	vmb_mem_destroy(&m);
}

static void
test_ring_map_invalid(void **state)
{
	struct vmb_guest_mem m;
	struct vmb_gpadl_table t;
	struct vmb_ring_mem ring;
	struct vmb_mapping mp;
	const uint64_t pf[] = {1, 2, 3};
	const struct vmb_gpadl *g;
	uint32_t id;

	(void)state;
	assert_int_equal(vmb_mem_create(&m, 4 * PG, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_gpadl_table_init(&t, 1), 0);
	assert_int_equal(vmb_gpadl_add(&t, &m, 0, pf, 3, &id), 0);
	g = vmb_gpadl_find(&t, id);
	assert_int_equal(vmb_ring_map(&m, g, 0, 1, &ring, &mp), -EINVAL); /* no data page */
	assert_int_equal(vmb_ring_map(&m, g, 0, 0, &ring, &mp), -EINVAL);
	assert_int_equal(vmb_ring_map(&m, g, 2, 2, &ring, &mp), -EINVAL); /* past the end */
	assert_int_equal(vmb_ring_map(&m, g, 0, 4, &ring, &mp), -EINVAL);
	assert_int_equal(vmb_ring_map(&m, g, UINT32_MAX, 2, &ring, &mp), -EINVAL);
	assert_int_equal(vmb_ring_map(&m, g, 0, 2, NULL, &mp), -EINVAL);
	assert_int_equal(vmb_ring_map(&m, g, 0, 2, &ring, NULL), -EINVAL);
	assert_int_equal(vmb_ring_map(NULL, g, 0, 2, &ring, &mp), -EINVAL);
	assert_int_equal(vmb_ring_map(&m, NULL, 0, 2, &ring, &mp), -EINVAL);
	assert_int_equal(vmb_ring_map(&m, g, 1, 2, &ring, &mp), 0);
	assert_int_equal(ring.size, PG);
	vmb_mapping_unmap(&mp);
	vmb_gpadl_table_fini(&t);
	vmb_mem_destroy(&m);
}

/* ---- host side ------------------------------------------------------------------------------ */

static void
test_attach_fd(void **state)
{
	struct vmb_guest_mem guest, host;
	struct vmb_gpadl_table gt, ht;
	struct vmb_ring_mem gring, hring;
	struct vmb_mapping gmp, hmp;
	const uint64_t pf[] = {6, 2, 3}; /* ctl 6, data 2, 3 */
	struct vmb_ring_writer w;
	struct vmb_ring_reader rd;
	struct vmb_ring_pkt p;
	uint8_t payload[300];
	uint32_t id, hid = 0;

	(void)state;
	assert_int_equal(vmb_mem_create(&guest, 8 * PG, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_mem_attach_fd(&host, guest.fd), 0);
	assert_true(host.base != guest.base);
	assert_int_equal(host.size, guest.size);
	assert_int_equal(host.page_count, 8);
	assert_int_equal(host.kind, VMB_MEM_MEMFD);
	assert_true(host.fd >= 0 && host.fd != guest.fd); /* its own duplicate */
	assert_int_equal(fcntl(host.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	guest.base[5 * PG + 7] = 0x42;
	assert_int_equal(host.base[5 * PG + 7], 0x42);
	host.base[8 * PG - 1] = 0x24;
	assert_int_equal(guest.base[8 * PG - 1], 0x24);

	/* the same GPADL on both sides; the guest writes a ring, the host reads it */
	assert_int_equal(vmb_gpadl_table_init(&gt, 1), 0);
	assert_int_equal(vmb_gpadl_table_init(&ht, 1), 0);
	assert_int_equal(vmb_gpadl_add(&gt, &guest, 0, pf, 3, &id), 0);
	assert_int_equal(vmb_gpadl_add(&ht, &host, id, pf, 3, &hid), 0);
	assert_int_equal(hid, id);
	assert_int_equal(vmb_ring_map(&guest, vmb_gpadl_find(&gt, id), 0, 3, &gring, &gmp), 0);
	assert_int_equal(vmb_ring_map(&host, vmb_gpadl_find(&ht, id), 0, 3, &hring, &hmp), 0);
	vmb_ring_format(gring.ctl);
	gring.ctl->windex = 2 * PG - 64;
	gring.ctl->rindex = 2 * PG - 64;
	assert_int_equal(vmb_ring_writer_attach(&w, &gring), VMB_RING_OK);
	assert_int_equal(vmb_ring_reader_attach(&rd, &hring, NULL, 0), VMB_RING_OK);
	tu_pattern(payload, sizeof(payload), 9);
	assert_int_equal(vmb_pkt_write_inband(&w, 5, 0, payload, sizeof(payload)), VMB_RING_OK);
	vmb_ring_write_commit(&w);
	assert_int_equal(vmb_ring_read(&rd, &p), VMB_RING_OK);
	assert_int_equal(p.desc.xactid, 5);
	assert_memory_equal(p.bytes + 16, payload, sizeof(payload));
	vmb_ring_read_commit(&rd);
	assert_int_equal(gring.ctl->rindex, hring.ctl->windex);

	/* the host's mapping outlives the guest's fd and mapping */
	vmb_mapping_unmap(&gmp);
	vmb_gpadl_table_fini(&gt);
	vmb_mem_destroy(&guest);
	host.base[0] = 1;
	assert_int_equal(host.base[5 * PG + 7], 0x42);
	vmb_mapping_unmap(&hmp);
	vmb_gpadl_table_fini(&ht);
	vmb_mem_destroy(&host);
}

static void
test_attach_fd_invalid(void **state)
{
	struct vmb_guest_mem m, guest;
	int fd, pipefd[2];

	(void)state;
	assert_int_equal(vmb_mem_attach_fd(NULL, 0), -EINVAL);
	assert_int_equal(vmb_mem_attach_fd(&m, -1), -EBADF);
	assert_int_equal(m.fd, -1);
	assert_null(m.base);
	fd = memfd_create("t", MFD_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vmb_mem_attach_fd(&m, fd), -EBADF); /* closed */

	fd = memfd_create("t", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(vmb_mem_attach_fd(&m, fd), -EINVAL); /* size 0 */
	assert_int_equal(ftruncate(fd, 5000), 0);
	assert_int_equal(vmb_mem_attach_fd(&m, fd), -EINVAL); /* not whole pages */
	assert_int_equal(ftruncate(fd, PG), 0);
	assert_int_equal(vmb_mem_attach_fd(&m, fd), 0);
	assert_int_equal(m.size, PG);
	vmb_mem_destroy(&m);
	close(fd);

	/* not mappable */
	assert_int_equal(pipe(pipefd), 0);
	assert_true(vmb_mem_attach_fd(&m, pipefd[0]) < 0);
	assert_int_equal(m.fd, -1);
	close(pipefd[0]);
	close(pipefd[1]);

	/* anonymous guest memory has no fd to hand over */
	assert_int_equal(vmb_mem_create(&guest, PG, VMB_MEM_ANON), 0);
	assert_int_equal(vmb_mem_attach_fd(&m, guest.fd), -EBADF);
	vmb_mem_destroy(&guest);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_kinds),
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_destroy_zeroed_keeps_fd0),
		cmocka_unit_test(test_alloc_pages),
		cmocka_unit_test(test_alloc_first_fit),
		cmocka_unit_test(test_alloc_invalid),
		cmocka_unit_test(test_gpa_ptr_bounds),
		cmocka_unit_test(test_gpadl_table),
		cmocka_unit_test(test_gpadl_id_reuse),
		cmocka_unit_test(test_gpadl_ptr),
		cmocka_unit_test(test_ring_map_double),
		cmocka_unit_test(test_gpadl_map),
		cmocka_unit_test(test_anon_mapping),
		cmocka_unit_test(test_ring_map_invalid),
		cmocka_unit_test(test_attach_fd),
		cmocka_unit_test(test_attach_fd_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
