/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Bounded multi-producer single-consumer queue of 32-bit values, lock-free (Vyukov's
 * sequence-numbered cells). Used to hand sends and completions from any thread to the thread
 * that owns a channel's rings. The capacity is chosen so that it can never overflow: every
 * value is an object index that is in the queue at most once. Internal header.
 */
#ifndef VMB_MPSC_H
#define VMB_MPSC_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct vmb_mpsc_cell {
	uint32_t seq;
	uint32_t value;
};

struct vmb_mpsc {
	uint32_t mask;
	struct vmb_mpsc_cell *cells;
	/* producers and the consumer touch different lines */
	uint32_t head __attribute__((aligned(64))); /* next to enqueue (producers) */
	uint32_t tail __attribute__((aligned(64))); /* next to dequeue (consumer) */
};

static inline int
vmb_mpsc_init(struct vmb_mpsc *q, uint32_t min_capacity)
{
	uint32_t cap = 1, i;

	while (cap < min_capacity)
		cap <<= 1;
	q->cells = calloc(cap, sizeof(*q->cells));
	if (q->cells == NULL)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		q->cells[i].seq = i;
	q->mask = cap - 1;
	q->head = 0;
	q->tail = 0;
	return 0;
}

static inline void
vmb_mpsc_fini(struct vmb_mpsc *q)
{
	free(q->cells);
	q->cells = NULL;
}

/** Enqueue; false only when full (which the sizing rule excludes). Any thread. */
static inline bool
vmb_mpsc_push(struct vmb_mpsc *q, uint32_t value)
{
	uint32_t pos = __atomic_load_n(&q->head, __ATOMIC_RELAXED);

	for (;;) {
		struct vmb_mpsc_cell *c = &q->cells[pos & q->mask];
		uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		int32_t dif = (int32_t)(seq - pos);
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&q->head, &pos, pos + 1, true, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED)) {
				c->value = value;
				__atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);
				return true;
			}
		} else if (dif < 0) {
			return false;
		} else {
			pos = __atomic_load_n(&q->head, __ATOMIC_RELAXED);
		}
	}
}

/** Dequeue; false when empty (or the next producer has not finished). Consumer only. */
static inline bool
vmb_mpsc_pop(struct vmb_mpsc *q, uint32_t *value)
{
	uint32_t pos = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);
	struct vmb_mpsc_cell *c = &q->cells[pos & q->mask];
	uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);

	if ((int32_t)(seq - (pos + 1)) < 0)
		return false;
	*value = c->value;
	__atomic_store_n(&c->seq, pos + q->mask + 1, __ATOMIC_RELEASE);
	/* atomic: vmb_mpsc_empty() may look from another thread */
	__atomic_store_n(&q->tail, pos + 1, __ATOMIC_RELAXED);
	return true;
}

/** True when nothing is queued (a racing producer may add right after). */
static inline bool
vmb_mpsc_empty(const struct vmb_mpsc *q)
{
	return __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == __atomic_load_n(&q->tail, __ATOMIC_RELAXED);
}

#endif /* VMB_MPSC_H */
