/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_MEM_H
#define VMB_MEM_H

/**
 * @file
 * Guest memory, addressed by 4 KiB page numbers, and GPADLs (guest page lists shared with the
 * host).
 *
 * The emulated "guest RAM" is a memfd owned by the guest process; the host maps the same fd.
 * Plain anonymous memory is accepted too (unit tests), at the price of no double mapping.
 * A GPADL is a list of page numbers into guest memory; translation is bounds-checked, and
 * mapping a GPADL gives one contiguous virtual range (ring data areas mapped twice, back to back,
 * so every ring packet is contiguous).
 *
 * Control-path only: these functions allocate and make syscalls. Not thread-safe per object
 * unless stated; the GPADL table is used from the control thread.
 */

#include <stdbool.h>
#include <stdint.h>

#include <vmb/vmb_packet.h>
#include <vmb/vmb_ring.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Kind of backing store of a guest memory region. */
enum vmb_mem_kind {
	VMB_MEM_MEMFD = 0, /**< memfd: shareable with another process, double-mappable */
	VMB_MEM_ANON = 1,  /**< anonymous memory: same process only, rings use split copies */
};

/** A guest memory region: pages [0, page_count). */
struct vmb_guest_mem {
	uint8_t *base;       /**< mapping of the whole region in this process */
	uint64_t size;       /**< bytes, multiple of 4096 */
	uint64_t page_count; /**< size / 4096 */
	int fd;              /**< memfd, or -1 for anonymous memory */
	enum vmb_mem_kind kind;
	/* guest-side page allocator (first fit over a bitmap); unused on the host side */
	uint64_t *alloc_map;
	uint64_t alloc_hint;
};

/**
 * Create guest memory of @p size bytes (rounded up to pages).
 * @return 0, -EINVAL (size 0 or too large), -ENOMEM, or -errno of memfd_create/ftruncate/mmap.
 */
int vmb_mem_create(struct vmb_guest_mem *m, uint64_t size, enum vmb_mem_kind kind);

/**
 * Map guest memory received from the guest (host side). The fd is duplicated; the caller keeps
 * its own. The size is taken from the fd (fstat) and must be a non-zero multiple of 4096.
 * @return 0, -EBADF, -EINVAL, or -errno of mmap.
 */
int vmb_mem_attach_fd(struct vmb_guest_mem *m, int fd);

/** Unmap and close. Safe on a zeroed or already destroyed region. */
void vmb_mem_destroy(struct vmb_guest_mem *m);

/**
 * Bounds-checked translation of a guest physical byte range to a pointer in this process.
 * @return pointer, or NULL when [gpa, gpa+len) is not inside guest memory.
 */
static inline void *
vmb_mem_gpa_ptr(const struct vmb_guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (gpa > m->size || len > m->size - gpa)
		return NULL;
	return m->base + gpa;
}

/** Page number of a pointer inside guest memory, or UINT64_MAX when outside. */
static inline uint64_t
vmb_mem_ptr_pfn(const struct vmb_guest_mem *m, const void *p)
{
	const uint8_t *b = (const uint8_t *)p;
	if (b < m->base || b >= m->base + m->size)
		return UINT64_MAX;
	return (uint64_t)(b - m->base) >> VMB_PAGE_SHIFT;
}

/**
 * Guest side: allocate @p npages consecutive free pages.
 * @return 0 with *first_pfn set, -EINVAL, or -ENOMEM when no run is free.
 */
int vmb_mem_alloc_pages(struct vmb_guest_mem *m, uint64_t npages, uint64_t *first_pfn);

/** Guest side: give pages back. Pages not allocated are ignored. */
void vmb_mem_free_pages(struct vmb_guest_mem *m, uint64_t first_pfn, uint64_t npages);

/** A GPADL: a list of guest page numbers, known to both sides by its id. */
struct vmb_gpadl {
	uint32_t id;
	uint32_t page_count;
	uint64_t *pfns;
};

/** Table of GPADLs of one connection. */
struct vmb_gpadl_table {
	struct vmb_gpadl *slots;
	uint32_t capacity;
	uint32_t next_id;
};

/** Create an empty table for @p capacity GPADLs. @return 0 or -ENOMEM / -EINVAL. */
int vmb_gpadl_table_init(struct vmb_gpadl_table *t, uint32_t capacity);
/** Free the table and every GPADL in it. */
void vmb_gpadl_table_fini(struct vmb_gpadl_table *t);

/**
 * Register a GPADL. Every page number is checked against @p m.
 * @param id  the id to use (host side: the guest's choice), or 0 to pick one (guest side).
 * @return 0 with *out_id set; -EINVAL (no pages, a page outside guest memory, id in use),
 *         -ENOSPC (table full), -ENOMEM.
 */
int vmb_gpadl_add(struct vmb_gpadl_table *t, const struct vmb_guest_mem *m, uint32_t id,
		  const uint64_t *pfns, uint32_t page_count, uint32_t *out_id);

/** Look a GPADL up. @return it, or NULL. */
const struct vmb_gpadl *vmb_gpadl_find(const struct vmb_gpadl_table *t, uint32_t id);

/** Remove a GPADL. @return 0 or -ENOENT. */
int vmb_gpadl_remove(struct vmb_gpadl_table *t, uint32_t id);

/**
 * Translate byte @p offset of GPADL @p g (a byte range of @p len within one page run that is
 * contiguous in guest memory) to a pointer.
 * @return pointer, or NULL when out of the GPADL or not contiguous.
 */
void *vmb_gpadl_ptr(const struct vmb_guest_mem *m, const struct vmb_gpadl *g, uint64_t offset,
		    uint32_t len);

/** A contiguous view of GPADL pages in this process. */
struct vmb_mapping {
	uint8_t *addr;     /**< start of the view */
	uint64_t len;      /**< bytes of the view (the doubled part included) */
	bool owned;        /**< true when addr..addr+len is our own mmap to unmap */
};

/**
 * Map pages [first, first + count) of GPADL @p g contiguously. With @p twice, pages after the
 * first @p head are mapped a second time right after (ring data areas), giving
 * head + 2*(count-head) pages.
 * Memfd memory: page-by-page MAP_FIXED views of the fd (runs coalesced). Anonymous memory: only
 * when the pages are consecutive and @p twice is false (a direct pointer, not owned).
 * @return 0, -EINVAL (outside the GPADL), -ENOTSUP (anonymous and not mappable), or -errno.
 */
int vmb_gpadl_map(const struct vmb_guest_mem *m, const struct vmb_gpadl *g, uint32_t first,
		  uint32_t count, uint32_t head, bool twice, struct vmb_mapping *out);

/** Undo vmb_gpadl_map(). */
void vmb_mapping_unmap(struct vmb_mapping *mp);

/**
 * Map a ring: control page at GPADL page @p first, data area the following @p count - 1 pages.
 * Memfd memory is double mapped (VMB_RING_F_DOUBLE_MAPPED). Anonymous memory must be
 * consecutive pages; the ring then uses the split-copy path.
 * @return 0, -EINVAL (count < 2 or outside the GPADL), -ENOTSUP, or -errno.
 */
int vmb_ring_map(const struct vmb_guest_mem *m, const struct vmb_gpadl *g, uint32_t first,
		 uint32_t count, struct vmb_ring_mem *ring, struct vmb_mapping *mp);

#ifdef __cplusplus
}
#endif

#endif /* VMB_MEM_H */
