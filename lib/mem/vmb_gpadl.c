/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * GPADL table, bounds-checked translation, and contiguous (optionally doubled) mappings of GPADL
 * pages, which is how both ends map ring buffers.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <vmb/vmb_mem.h>

int
vmb_gpadl_table_init(struct vmb_gpadl_table *t, uint32_t capacity)
{
	if (t == NULL || capacity == 0)
		return -EINVAL;
	t->slots = calloc(capacity, sizeof(*t->slots));
	if (t->slots == NULL)
		return -ENOMEM;
	t->capacity = capacity;
	t->next_id = 1;
	return 0;
}

void
vmb_gpadl_table_fini(struct vmb_gpadl_table *t)
{
	uint32_t i;

	if (t == NULL || t->slots == NULL)
		return;
	for (i = 0; i < t->capacity; i++)
		free(t->slots[i].pfns);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

const struct vmb_gpadl *
vmb_gpadl_find(const struct vmb_gpadl_table *t, uint32_t id)
{
	uint32_t i;

	if (t == NULL || t->slots == NULL || id == 0)
		return NULL;
	for (i = 0; i < t->capacity; i++)
		if (t->slots[i].id == id)
			return &t->slots[i];
	return NULL;
}

int
vmb_gpadl_add(struct vmb_gpadl_table *t, const struct vmb_guest_mem *m, uint32_t id,
	      const uint64_t *pfns, uint32_t page_count, uint32_t *out_id)
{
	struct vmb_gpadl *slot = NULL;
	uint32_t i;

	if (t == NULL || t->slots == NULL || m == NULL || pfns == NULL || page_count == 0)
		return -EINVAL;
	for (i = 0; i < page_count; i++)
		if (pfns[i] >= m->page_count)
			return -EINVAL;
	if (id != 0 && vmb_gpadl_find(t, id) != NULL)
		return -EINVAL;
	for (i = 0; i < t->capacity; i++) {
		if (t->slots[i].id == 0) {
			slot = &t->slots[i];
			break;
		}
	}
	if (slot == NULL)
		return -ENOSPC;
	if (id == 0) {
		do {
			id = t->next_id++;
			if (t->next_id == 0)
				t->next_id = 1;
		} while (id == 0 || vmb_gpadl_find(t, id) != NULL);
	}
	slot->pfns = malloc(sizeof(uint64_t) * page_count);
	if (slot->pfns == NULL)
		return -ENOMEM;
	memcpy(slot->pfns, pfns, sizeof(uint64_t) * page_count);
	slot->page_count = page_count;
	slot->id = id;
	if (out_id)
		*out_id = id;
	return 0;
}

int
vmb_gpadl_remove(struct vmb_gpadl_table *t, uint32_t id)
{
	struct vmb_gpadl *g = (struct vmb_gpadl *)vmb_gpadl_find(t, id);

	if (g == NULL)
		return -ENOENT;
	free(g->pfns);
	memset(g, 0, sizeof(*g));
	return 0;
}

void *
vmb_gpadl_ptr(const struct vmb_guest_mem *m, const struct vmb_gpadl *g, uint64_t offset,
	      uint32_t len)
{
	uint64_t first, last, i;

	if (m == NULL || g == NULL || len == 0)
		return NULL;
	if (offset > (uint64_t)g->page_count * VMB_PAGE_SIZE ||
	    len > (uint64_t)g->page_count * VMB_PAGE_SIZE - offset)
		return NULL;
	first = offset >> VMB_PAGE_SHIFT;
	last = (offset + len - 1) >> VMB_PAGE_SHIFT;
	for (i = first + 1; i <= last; i++)
		if (g->pfns[i] != g->pfns[i - 1] + 1)
			return NULL;
	return vmb_mem_gpa_ptr(m, (g->pfns[first] << VMB_PAGE_SHIFT) + (offset & (VMB_PAGE_SIZE - 1)),
			       len);
}

static bool
pages_consecutive(const struct vmb_gpadl *g, uint32_t first, uint32_t count)
{
	uint32_t i;
	for (i = first + 1; i < first + count; i++)
		if (g->pfns[i] != g->pfns[i - 1] + 1)
			return false;
	return true;
}

/* Map pages [first, first+count) of g at dst (already reserved), coalescing runs. */
static int
map_run(const struct vmb_guest_mem *m, const struct vmb_gpadl *g, uint32_t first, uint32_t count,
	uint8_t *dst)
{
	uint32_t i = first;

	while (i < first + count) {
		uint32_t n = 1;
		void *p;
		while (i + n < first + count && g->pfns[i + n] == g->pfns[i + n - 1] + 1)
			n++;
		p = mmap(dst, (size_t)n * VMB_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 m->fd, (off_t)(g->pfns[i] << VMB_PAGE_SHIFT));
		if (p == MAP_FAILED)
			return -errno;
		dst += (size_t)n * VMB_PAGE_SIZE;
		i += n;
	}
	return 0;
}

int
vmb_gpadl_map(const struct vmb_guest_mem *m, const struct vmb_gpadl *g, uint32_t first,
	      uint32_t count, uint32_t head, bool twice, struct vmb_mapping *out)
{
	uint64_t pages, len;
	uint8_t *base;
	int rc;

	if (m == NULL || g == NULL || out == NULL || count == 0 || head > count ||
	    first > g->page_count || count > g->page_count - first)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (m->kind != VMB_MEM_MEMFD || m->fd < 0) {
		if (twice || !pages_consecutive(g, first, count))
			return -ENOTSUP;
		out->addr = m->base + (g->pfns[first] << VMB_PAGE_SHIFT);
		out->len = (uint64_t)count * VMB_PAGE_SIZE;
		out->owned = false;
		return 0;
	}
	pages = twice ? head + 2ull * (count - head) : count;
	len = pages * VMB_PAGE_SIZE;
	/* Reserve address space first so the pieces land back to back. */
	base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	rc = map_run(m, g, first, count, base);
	if (rc == 0 && twice)
		rc = map_run(m, g, first + head, count - head,
			     base + (uint64_t)count * VMB_PAGE_SIZE);
	if (rc) {
		munmap(base, len);
		return rc;
	}
	out->addr = base;
	out->len = len;
	out->owned = true;
	return 0;
}

void
vmb_mapping_unmap(struct vmb_mapping *mp)
{
	if (mp == NULL)
		return;
	if (mp->owned && mp->addr)
		munmap(mp->addr, mp->len);
	memset(mp, 0, sizeof(*mp));
}

int
vmb_ring_map(const struct vmb_guest_mem *m, const struct vmb_gpadl *g, uint32_t first,
	     uint32_t count, struct vmb_ring_mem *ring, struct vmb_mapping *mp)
{
	bool twice;
	int rc;

	if (ring == NULL || count < 2)
		return -EINVAL;
	twice = m != NULL && m->kind == VMB_MEM_MEMFD && m->fd >= 0;
	rc = vmb_gpadl_map(m, g, first, count, 1, twice, mp);
	if (rc)
		return rc;
	ring->ctl = (struct vmbus_bufring *)mp->addr;
	ring->data = mp->addr + VMB_RING_CTL_SIZE;
	ring->size = (count - 1) * VMB_PAGE_SIZE;
	ring->flags = twice ? VMB_RING_F_DOUBLE_MAPPED : 0;
	return 0;
}
