/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_ETH_IDXQ_H
#define VMB_ETH_IDXQ_H
/**
 * @file
 * A single-producer single-consumer queue of 32-bit indices, for handing buffer slots between
 * the two halves of a queue pair that DPDK lets run on different lcores: the RX half frees
 * (a completion from the peer gives a slot back), the TX half allocates. Lock-free, no
 * syscalls; each side caches the other's index to touch the shared line only when it must.
 * Capacity is a power of two fixed at creation (control path).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

struct vmb_eth_idxq {
	/* producer line */
	_Atomic uint32_t head __attribute__((aligned(64))); /**< next slot to fill */
	uint32_t tail_cache;
	/* consumer line */
	_Atomic uint32_t tail __attribute__((aligned(64))); /**< next slot to take */
	uint32_t head_cache;
	uint32_t nstash;     /**< indices the consumer took and gave back (consumer-private) */
	uint32_t stash[4];
	uint32_t mask __attribute__((aligned(64)));
	uint32_t *v;
};

/** Allocate room for at least @p n entries (control path). @return 0 or -ENOMEM. */
static inline int
vmb_eth_idxq_init(struct vmb_eth_idxq *q, uint32_t n)
{
	uint32_t cap = 1;

	while (cap < n)
		cap <<= 1;
	q->v = calloc(cap, sizeof(*q->v));
	if (q->v == NULL)
		return -1;
	q->mask = cap - 1;
	atomic_store(&q->head, 0);
	atomic_store(&q->tail, 0);
	q->tail_cache = q->head_cache = 0;
	q->nstash = 0;
	return 0;
}

static inline void
vmb_eth_idxq_fini(struct vmb_eth_idxq *q)
{
	free(q->v);
	q->v = NULL;
}

/** Producer: add one index. @return 0, or -1 when full (cannot happen when the queue holds
 *  at most as many distinct indices as its capacity). */
static inline int
vmb_eth_idxq_put(struct vmb_eth_idxq *q, uint32_t idx)
{
	uint32_t h = atomic_load_explicit(&q->head, memory_order_relaxed);

	if (h - q->tail_cache > q->mask) {
		q->tail_cache = atomic_load_explicit(&q->tail, memory_order_acquire);
		if (h - q->tail_cache > q->mask)
			return -1;
	}
	q->v[h & q->mask] = idx;
	/* Release: the entry is written before the consumer can see the new head. */
	atomic_store_explicit(&q->head, h + 1, memory_order_release);
	return 0;
}

/** Consumer: entries available (refreshing the cached view only when it says too few). */
static inline uint32_t
vmb_eth_idxq_avail(struct vmb_eth_idxq *q, uint32_t want)
{
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);

	if (q->nstash >= want)
		return q->nstash;
	if (q->head_cache - t < want - q->nstash)
		q->head_cache = atomic_load_explicit(&q->head, memory_order_acquire);
	return q->nstash + (q->head_cache - t);
}

/** Consumer: give back an index just taken (kept aside, handed out first next time). At most
 *  4 may be held back. */
static inline void
vmb_eth_idxq_unget(struct vmb_eth_idxq *q, uint32_t idx)
{
	q->stash[q->nstash++] = idx;
}

/** Consumer: take up to @p n indices into @p out. @return how many. */
static inline uint32_t
vmb_eth_idxq_get(struct vmb_eth_idxq *q, uint32_t *out, uint32_t n)
{
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint32_t have = vmb_eth_idxq_avail(q, n), i, s = 0;

	if (n > have)
		n = have;
	while (q->nstash && s < n)
		out[s++] = q->stash[--q->nstash];
	for (i = 0; i < n - s; i++)
		out[s + i] = q->v[(t + i) & q->mask];
	/* Release: our reads of the entries are done before the producer may overwrite them. */
	if (n > s)
		atomic_store_explicit(&q->tail, t + (n - s), memory_order_release);
	return n;
}

#endif /* VMB_ETH_IDXQ_H */
