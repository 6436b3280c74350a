/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Guest memory regions (memfd or anonymous) and the guest-side page allocator.
 */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmb/vmb_mem.h>

/* Largest region accepted: page numbers must fit the 32-bit counts used by the allocator map
 * and stay far from overflow in byte arithmetic. 64 GiB is beyond any test or demo. */
#define VMB_MEM_MAX_SIZE (64ull << 30)

static int
alloc_map_init(struct vmb_guest_mem *m)
{
	m->alloc_map = calloc((m->page_count + 63) / 64, sizeof(uint64_t));
	m->alloc_hint = 0;
	return m->alloc_map ? 0 : -ENOMEM;
}

int
vmb_mem_create(struct vmb_guest_mem *m, uint64_t size, enum vmb_mem_kind kind)
{
	void *p;
	int fd = -1, rc;

	if (m == NULL)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (size == 0 || size > VMB_MEM_MAX_SIZE)
		return -EINVAL;
	size = (size + VMB_PAGE_SIZE - 1) & ~(uint64_t)(VMB_PAGE_SIZE - 1);

	if (kind == VMB_MEM_MEMFD) {
		fd = memfd_create("vmb-guest-ram", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, (off_t)size) < 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	} else if (kind == VMB_MEM_ANON) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else {
		return -EINVAL;
	}
	if (p == MAP_FAILED) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	m->base = p;
	m->size = size;
	m->page_count = size >> VMB_PAGE_SHIFT;
	m->fd = fd;
	m->kind = kind;
	rc = alloc_map_init(m);
	if (rc)
		vmb_mem_destroy(m);
	return rc;
}

int
vmb_mem_attach_fd(struct vmb_guest_mem *m, int fd)
{
	struct stat st;
	void *p;
	int rc, myfd;

	if (m == NULL)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	if (st.st_size <= 0 || (uint64_t)st.st_size > VMB_MEM_MAX_SIZE ||
	    (st.st_size % VMB_PAGE_SIZE) != 0)
		return -EINVAL;
	myfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (myfd < 0)
		return -errno;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, myfd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		close(myfd);
		return rc;
	}
	m->base = p;
	m->size = (uint64_t)st.st_size;
	m->page_count = m->size >> VMB_PAGE_SHIFT;
	m->fd = myfd;
	m->kind = VMB_MEM_MEMFD;
	return 0;
}

void
vmb_mem_destroy(struct vmb_guest_mem *m)
{
	if (m == NULL)
		return;
	/* Only a region that was set up owns its fd: a zeroed struct has fd 0, not ours. */
	if (m->base) {
		munmap(m->base, m->size);
		if (m->fd >= 0)
			close(m->fd);
	}
	free(m->alloc_map);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

static inline bool
page_used(const struct vmb_guest_mem *m, uint64_t pfn)
{
	return (m->alloc_map[pfn / 64] >> (pfn % 64)) & 1;
}

static inline void
page_set(struct vmb_guest_mem *m, uint64_t pfn, bool used)
{
	if (used)
		m->alloc_map[pfn / 64] |= 1ull << (pfn % 64);
	else
		m->alloc_map[pfn / 64] &= ~(1ull << (pfn % 64));
}

int
vmb_mem_alloc_pages(struct vmb_guest_mem *m, uint64_t npages, uint64_t *first_pfn)
{
	uint64_t start, run = 0, pass;

	if (m == NULL || m->alloc_map == NULL || npages == 0 || npages > m->page_count ||
	    first_pfn == NULL)
		return -EINVAL;
	/* First fit from the hint, then once more from page 0. */
	for (pass = 0; pass < 2; pass++) {
		uint64_t pfn = pass == 0 ? m->alloc_hint : 0;
		start = pfn;
		run = 0;
		for (; pfn < m->page_count; pfn++) {
			if (page_used(m, pfn)) {
				run = 0;
				start = pfn + 1;
				continue;
			}
			if (++run == npages) {
				uint64_t i;
				for (i = start; i < start + npages; i++)
					page_set(m, i, true);
				/* The hint stays the lowest page that may be free: only
				 * advance it past a run that started there (first fit). */
				if (start == m->alloc_hint)
					m->alloc_hint = start + npages;
				*first_pfn = start;
				return 0;
			}
		}
	}
	return -ENOMEM;
}

void
vmb_mem_free_pages(struct vmb_guest_mem *m, uint64_t first_pfn, uint64_t npages)
{
	uint64_t i;

	if (m == NULL || m->alloc_map == NULL || first_pfn >= m->page_count)
		return;
	if (npages > m->page_count - first_pfn)
		npages = m->page_count - first_pfn;
	for (i = first_pfn; i < first_pfn + npages; i++)
		page_set(m, i, false);
	if (first_pfn < m->alloc_hint)
		m->alloc_hint = first_pfn;
}
