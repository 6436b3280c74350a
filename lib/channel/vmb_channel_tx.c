/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Outgoing half of a channel: packet objects, sends (direct to the ring when this thread holds
 * it, else handed over), the FIFO of packets waiting for ring space, matching of the peer's
 * completion packets to packet objects, cancellation, and the synchronous request.
 *
 * Transaction ids are (generation << 32) | (slot + 1): a completion is accepted only for a
 * packet in flight in that slot with that generation, so a peer cannot complete a transaction
 * twice, complete one that was never sent, or confuse a slot's old and new transactions.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "vmb_channel_priv.h"

int
vmb_tx_init(struct vmb_channel *ch)
{
	if (ch->tx_slots)
		return 0;
	ch->tx_cap = ch->cfg.tx_capacity;
	ch->tx_slots = calloc(ch->tx_cap, sizeof(*ch->tx_slots));
	ch->tx_gen = calloc(ch->tx_cap, sizeof(*ch->tx_gen));
	if (ch->tx_slots == NULL || ch->tx_gen == NULL ||
	    vmb_mpsc_init(&ch->tx_handoff_q, ch->tx_cap) != 0) {
		vmb_tx_fini(ch);
		return -ENOMEM;
	}
	return 0;
}

void
vmb_tx_fini(struct vmb_channel *ch)
{
	free(ch->tx_slots);
	free(ch->tx_gen);
	vmb_mpsc_fini(&ch->tx_handoff_q);
	ch->tx_slots = NULL;
	ch->tx_gen = NULL;
	ch->tx_cap = 0;
}

/* ---- packet objects ---- */

static void
packet_destroy(struct vmb_packet *p)
{
	p->magic = VMB_DEAD_MAGIC;
	free(p);
}

struct vmb_packet *
vmb_packet_alloc(struct vmb_channel *ch)
{
	struct vmb_packet *p;
	uint32_t i, pfn_cap;
	size_t ext_off, pfn_off, buf_off, total;

	if (!vmb_channel_valid(ch) || vmb_tx_init(ch) != 0)
		return NULL;
	/* One allocation per packet object: the object, its range table, its page numbers and its
	 * inline copy of the message, in that order (fewer allocator calls and page faults when a
	 * restore re-creates thousands of them). */
	pfn_cap = ch->cfg.max_ext_data / VMB_PAGE_SIZE + ch->cfg.max_ext_chain;
	ext_off = (sizeof(*p) + 15) & ~(size_t)15;
	pfn_off = ext_off + sizeof(*p->ext) * ch->cfg.max_ext_chain;
	buf_off = pfn_off + sizeof(*p->ext_pfns) * pfn_cap;
	total = buf_off + ch->cfg.max_packet;
	p = malloc(total);
	if (p == NULL)
		return NULL;
	memset(p, 0, buf_off); /* the message area is written before it is read */
	p->ext = (struct vmb_gpa_range_out *)((uint8_t *)p + ext_off);
	p->ext_pfns = (uint64_t *)((uint8_t *)p + pfn_off);
	p->buf = (uint8_t *)p + buf_off;
	p->magic = VMB_PACKET_MAGIC;
	p->ch = ch;
	atomic_init(&p->state, VMB_TX_IDLE);
	/* Lock-free slot claim: packets are allocated and freed from any thread (the default
	 * completion routine frees on the poll thread). The search starts at a hint (the slot
	 * after the last one claimed, or the last one freed), so a run of allocations is O(1)
	 * each instead of a scan from 0. */
	{
		uint32_t start = atomic_load_explicit(&ch->tx_hint, memory_order_relaxed);
		for (i = 0; i < ch->tx_cap; i++) {
			uint32_t s = (start + i) % ch->tx_cap;
			struct vmb_packet *expected = NULL;
			if (atomic_load_explicit(&ch->tx_slots[s], memory_order_relaxed) == NULL &&
			    atomic_compare_exchange_strong(&ch->tx_slots[s], &expected, p)) {
				uint32_t high = atomic_load(&ch->tx_high);
				p->slot = s;
				atomic_store_explicit(&ch->tx_hint, s + 1, memory_order_relaxed);
				while (s >= high &&
				       !atomic_compare_exchange_weak(&ch->tx_high, &high, s + 1))
					;
				atomic_fetch_add(&ch->tx_allocated, 1);
				return p;
			}
		}
	}
	packet_destroy(p);
	return NULL;
}

int
vmb_packet_free(struct vmb_packet *p)
{
	struct vmb_channel *ch;

	if (!vmb_packet_valid(p))
		return -EBADF;
	if (atomic_load(&p->state) != VMB_TX_IDLE)
		return -EBUSY;
	ch = p->ch;
	atomic_store(&ch->tx_slots[p->slot], NULL);
	atomic_store_explicit(&ch->tx_hint, p->slot, memory_order_relaxed);
	atomic_fetch_sub(&ch->tx_allocated, 1);
	packet_destroy(p);
	return 0;
}

void
vmb_packet_set_context(struct vmb_packet *p, void *ctx)
{
	if (vmb_packet_valid(p))
		p->context = ctx;
}

void *
vmb_packet_get_context(const struct vmb_packet *p)
{
	return vmb_packet_valid(p) ? p->context : NULL;
}

struct vmb_channel *
vmb_packet_channel(const struct vmb_packet *p)
{
	return vmb_packet_valid(p) ? p->ch : NULL;
}

void
vmb_packet_set_completion(struct vmb_packet *p, vmb_packet_completion_fn fn)
{
	if (vmb_packet_valid(p))
		p->completion = fn;
}

void
vmb_packet_set_facade(struct vmb_packet *p, vmb_facade_fn fn, void *data)
{
	if (!vmb_packet_valid(p))
		return;
	p->facade_fn = fn;
	p->facade_data = data;
}

vmb_facade_fn
vmb_packet_get_facade(const struct vmb_packet *p, void **data)
{
	if (!vmb_packet_valid(p)) {
		if (data)
			*data = NULL;
		return NULL;
	}
	if (data)
		*data = p->facade_data;
	return p->facade_fn;
}

/* ---- retiring ---- */

void
vmb_tx_retire(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	struct vmb_channel *ch = p->ch;

	atomic_store(&p->state, VMB_TX_IDLE);
	atomic_fetch_sub(&ch->tx_pending, 1);
	p->copied = false;
	if (p->completion)
		p->completion(p, status, buf, len);
	else
		vmb_packet_free(p);
}

void
vmb_tx_written(struct vmb_channel *ch, struct vmb_packet *p)
{
	VMB_STAT_ADD(ch, tx_packets, 1);
	VMB_STAT_ADD(ch, tx_bytes, p->len);
	if (p->send_flags & VMB_SEND_WAIT_FOR_COMPLETION) {
		atomic_store(&p->state, VMB_TX_INFLIGHT);
		return;
	}
	/* No completion asked: the transaction is done once the message is in the ring. */
	vmb_tx_retire(p, 0, NULL, 0);
}

static inline uint64_t
tx_xid(const struct vmb_packet *p)
{
	return ((uint64_t)p->gen << 32) | (uint64_t)(p->slot + 1);
}

enum vmb_ring_status
vmb_tx_write(struct vmb_channel *ch, struct vmb_packet *p, const void *buf)
{
	uint16_t flags = (p->send_flags & VMB_SEND_WAIT_FOR_COMPLETION) ? VMB_PKT_FLAG_RC : 0;

	if (p->ext_count)
		return vmb_pkt_write_gpa_direct(&ch->out, tx_xid(p), flags, p->ext, p->ext_count, buf,
						p->len);
	return vmb_pkt_write_inband(&ch->out, tx_xid(p), flags, buf, p->len);
}

void
vmb_tx_enqueue(struct vmb_channel *ch, struct vmb_packet *p)
{
	atomic_store(&p->state, VMB_TX_QUEUED);
	p->next = NULL;
	if (ch->txq_tail)
		ch->txq_tail->next = p;
	else
		ch->txq_head = p;
	ch->txq_tail = p;
	ch->txq_len++;
	VMB_STAT_ADD(ch, tx_queued, 1);
}

/* Holder: packets handed over by other threads join the FIFO, in the order they were sent. */
static void
take_handoffs(struct vmb_channel *ch)
{
	uint32_t slot;

	while (vmb_mpsc_pop(&ch->tx_handoff_q, &slot)) {
		struct vmb_packet *p = atomic_load(&ch->tx_slots[slot]);
		if (p)
			vmb_tx_enqueue(ch, p);
	}
}

/* Holder: take hand-overs, then write queued packets while the ring has room and the channel
 * runs. */
void
vmb_tx_flush(struct vmb_channel *ch)
{
	take_handoffs(ch);
	if (!ch->linked || !atomic_load_explicit(&ch->active, memory_order_relaxed))
		return;
	while (ch->txq_head) {
		struct vmb_packet *p = ch->txq_head;
		enum vmb_ring_status st = vmb_tx_write(ch, p, p->buf);

		if (st == VMB_RING_FULL) {
			/* In interrupt mode ask the reader to signal when room frees. */
			if (ch->link.interrupt_mode &&
			    vmb_ring_writer_wait_space(&ch->out, vmb_pkt_inband_len(p->len)))
				continue;
			return;
		}
		ch->txq_head = p->next;
		if (ch->txq_head == NULL)
			ch->txq_tail = NULL;
		ch->txq_len--;
		if (st == VMB_RING_CORRUPT) {
			vmb_channel_poison(ch, "outgoing ring: read_index invalid");
			vmb_tx_retire(p, -EIO, NULL, 0);
			return;
		}
		if (st == VMB_RING_TOO_LARGE) {
			vmb_tx_retire(p, -EMSGSIZE, NULL, 0);
			continue;
		}
		vmb_tx_written(ch, p);
	}
	vmb_ring_writer_clear_wait(&ch->out);
}

void
vmb_tx_on_completion(struct vmb_channel *ch, const struct vmb_pkt *pkt)
{
	uint32_t slot = (uint32_t)pkt->xid - 1;
	uint32_t gen = (uint32_t)(pkt->xid >> 32);
	struct vmb_packet *p;

	if ((uint32_t)pkt->xid == 0 || slot >= ch->tx_cap)
		goto bad;
	p = atomic_load(&ch->tx_slots[slot]);
	if (p == NULL || p->gen != gen || atomic_load(&p->state) != VMB_TX_INFLIGHT)
		goto bad;
	VMB_STAT_ADD(ch, completions_received, 1);
	vmb_tx_retire(p, 0, pkt->payload, pkt->payload_len);
	return;
bad:
	/* A stale or forged completion: count it; nothing of ours is touched. */
	VMB_STAT_ADD(ch, bad_completions, 1);
}

void
vmb_tx_cancel_all(struct vmb_channel *ch, int status)
{
	uint32_t i, slot;

	if (ch->tx_slots == NULL)
		return; /* no packet was ever allocated (e.g. a restore that failed at once) */
	while (vmb_mpsc_pop(&ch->tx_handoff_q, &slot)) {
		struct vmb_packet *p = atomic_load(&ch->tx_slots[slot]);
		if (p)
			vmb_tx_enqueue(ch, p);
	}
	while (ch->txq_head) {
		struct vmb_packet *p = ch->txq_head;
		ch->txq_head = p->next;
		ch->txq_len--;
		vmb_tx_retire(p, status, NULL, 0);
	}
	ch->txq_tail = NULL;
	for (i = 0; ch->tx_slots && i < atomic_load(&ch->tx_high); i++) {
		struct vmb_packet *p = atomic_load(&ch->tx_slots[i]);
		if (p && atomic_load(&p->state) == VMB_TX_INFLIGHT)
			vmb_tx_retire(p, status, NULL, 0);
	}
}

/* ---- send ---- */

static int
copy_ext(struct vmb_channel *ch, struct vmb_packet *p, const struct vmb_gpa_range_out *ext,
	 uint32_t n)
{
	uint32_t i, pfn_cap = ch->cfg.max_ext_data / VMB_PAGE_SIZE + ch->cfg.max_ext_chain;
	uint32_t used = 0;
	uint64_t bytes = 0;

	if (n > ch->cfg.max_ext_chain)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		uint32_t pages;
		if (ext[i].byte_count == 0 || ext[i].byte_offset >= VMB_PAGE_SIZE || ext[i].pfns == NULL)
			return -EINVAL;
		pages = vmb_pkt_pages_spanned(ext[i].byte_offset, ext[i].byte_count);
		bytes += ext[i].byte_count;
		if (used + pages > pfn_cap || bytes > ch->cfg.max_ext_data)
			return -EINVAL;
		memcpy(&p->ext_pfns[used], ext[i].pfns, pages * sizeof(uint64_t));
		p->ext[i].byte_count = ext[i].byte_count;
		p->ext[i].byte_offset = ext[i].byte_offset;
		p->ext[i].pfns = &p->ext_pfns[used];
		used += pages;
	}
	p->ext_count = n;
	p->ext_pfn_count = used;
	return 0;
}

/* Returns 0 when written or queued; -EOVERFLOW when @p no_queue and it does not fit now. */
static int
send_common(struct vmb_packet *p, const void *buf, uint32_t len, uint32_t flags,
	    const struct vmb_gpa_range_out *ext, uint32_t ext_count, bool no_queue)
{
	struct vmb_channel *ch;
	uint32_t expected = VMB_TX_IDLE;
	int st, rc, entered;

	if (!vmb_packet_valid(p))
		return -EBADF;
	ch = p->ch;
	if ((flags & ~VMB_SEND_WAIT_FOR_COMPLETION) || len > ch->cfg.max_packet ||
	    (len && buf == NULL) || (ext_count && ext == NULL) ||
	    (ext_count && !(flags & VMB_SEND_WAIT_FOR_COMPLETION)))
		return -EINVAL;
	st = atomic_load(&ch->state);
	if (st == VMB_CHANNEL_DISABLED)
		return -EPERM;
	if (atomic_load(&ch->poisoned))
		return -EIO;
	if (!atomic_compare_exchange_strong(&p->state, &expected, VMB_TX_HANDOFF))
		return -EBUSY;
	rc = copy_ext(ch, p, ext, ext_count);
	if (rc) {
		atomic_store(&p->state, VMB_TX_IDLE);
		return rc;
	}
	p->send_flags = flags;
	p->len = len;
	p->copied = false;
	p->gen = ++ch->tx_gen[p->slot];
	atomic_fetch_add(&ch->tx_pending, 1);

	entered = vmb_channel_enter(ch);
	if (entered) {
		enum vmb_ring_status rs = VMB_RING_FULL;

		/* Keep order: a send this thread handed over earlier (another thread held the
		 * rings then) goes before this one, so take the hand-overs first, and only bypass
		 * the FIFO when nothing waits in it. A holder of a channel that is not running
		 * (the pausing thread, in on_suspend) queues. */
		take_handoffs(ch);
		if (ch->txq_head == NULL && atomic_load_explicit(&ch->active, memory_order_relaxed))
			rs = vmb_tx_write(ch, p, buf);
		if (rs == VMB_RING_OK) {
			vmb_tx_written(ch, p);
		} else if (rs == VMB_RING_FULL && !no_queue) {
			memcpy(p->buf, buf, len);
			p->copied = true;
			vmb_tx_enqueue(ch, p);
			vmb_tx_flush(ch); /* what waited ahead of it may fit now */
		} else {
			atomic_store(&p->state, VMB_TX_IDLE);
			atomic_fetch_sub(&ch->tx_pending, 1);
			rc = rs == VMB_RING_FULL ? -EOVERFLOW
			     : rs == VMB_RING_TOO_LARGE ? -EMSGSIZE
							 : -EIO;
			if (rs == VMB_RING_CORRUPT)
				vmb_channel_poison(ch, "outgoing ring: read_index invalid");
		}
		if (entered == 1)
			vmb_channel_leave(ch);
		return rc;
	}
	if (no_queue) {
		atomic_store(&p->state, VMB_TX_IDLE);
		atomic_fetch_sub(&ch->tx_pending, 1);
		return -EOVERFLOW;
	}
	/* Not the holder: copy and hand over; the next pass writes it. */
	memcpy(p->buf, buf, len);
	p->copied = true;
	vmb_mpsc_push(&ch->tx_handoff_q, p->slot);
	vmb_channel_kick(ch);
	return 0;
}

int
vmb_packet_send(struct vmb_packet *p, const void *buf, uint32_t len, uint32_t flags,
		const struct vmb_gpa_range_out *ext, uint32_t ext_count)
{
	return send_common(p, buf, len, flags, ext, ext_count, false);
}

/* ---- synchronous request ---- */

static void
sync_completion(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	uint32_t n = len < p->sync_cap ? len : p->sync_cap;

	p->sync_status = status;
	if (buf && n && p->sync_cbuf)
		memcpy(p->sync_cbuf, buf, n);
	p->sync_len = buf ? n : 0;
	if (atomic_exchange(&p->sync_state, VMB_SYNC_DONE) == VMB_SYNC_ABANDONED) {
		/* The waiter gave up; nobody else references the packet. */
		p->completion = NULL;
		vmb_packet_free(p);
	}
}

static int64_t
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
vmb_channel_send_sync(struct vmb_channel *ch, const void *buf, uint32_t len,
		      const struct vmb_gpa_range_out *ext, uint32_t ext_count, uint32_t flags,
		      void *cbuf, uint32_t *cbuf_len, int64_t timeout_ns)
{
	struct vmb_packet *p;
	int64_t deadline;
	int rc;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (cbuf_len && (*cbuf_len % 8) != 0)
		return -EINVAL;
	if (cbuf_len && *cbuf_len && cbuf == NULL)
		return -EINVAL;
	p = vmb_packet_alloc(ch);
	if (p == NULL)
		return -ENOMEM;
	p->completion = sync_completion;
	p->sync_cbuf = cbuf;
	p->sync_cap = cbuf_len ? *cbuf_len : 0;
	atomic_store(&p->sync_state, VMB_SYNC_WAITING);
	rc = send_common(p, buf, len, flags, ext, ext_count, timeout_ns == 0);
	if (rc) {
		p->completion = NULL;
		vmb_packet_free(p);
		return rc;
	}
	deadline = timeout_ns <= 0 ? INT64_MAX : mono_ns() + timeout_ns;
	while (atomic_load(&p->sync_state) != VMB_SYNC_DONE) {
		/* Drive the channel ourselves if no poller holds it (returns at once otherwise). */
		vmb_channel_poll(ch, 64);
		if (atomic_load(&p->sync_state) == VMB_SYNC_DONE)
			break;
		if (mono_ns() >= deadline) {
			if (atomic_exchange(&p->sync_state, VMB_SYNC_ABANDONED) == VMB_SYNC_DONE)
				break; /* completed just now */
			return -ETIMEDOUT;
		}
		sched_yield();
	}
	rc = p->sync_status;
	if (cbuf_len)
		*cbuf_len = rc == 0 ? p->sync_len : 0;
	p->completion = NULL;
	vmb_packet_free(p);
	return rc;
}
