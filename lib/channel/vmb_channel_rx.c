/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Incoming half of a channel: reading and validating packets, indicating them with a token,
 * completion (exactly once per token, from any thread), COMPLETION packets back to the sender,
 * and release of ring space.
 *
 * Zero copy: the payload handed to process_packet stays in the ring until its token is
 * completed. Tokens form a FIFO in ring order; read_index advances over the longest prefix of
 * finished tokens, so completions may come in any order while ring space is freed in order.
 * Completion packets are written as soon as a token completes (not in ring order), so one slow
 * request does not hold back the answers to later ones.
 */
#include <errno.h>
#include <stdlib.h>

#include "vmb_channel_priv.h"

static inline struct vmb_rx *
token_at(struct vmb_channel *ch, uint32_t seq)
{
	return &ch->rx[seq % ch->rx_cap];
}

int
vmb_rx_init(struct vmb_channel *ch)
{
	uint32_t cap = ch->cfg.rx_capacity, chain = ch->cfg.max_ext_chain, i;
	uint32_t pfn_cap = ch->cfg.max_ext_data / VMB_PAGE_SIZE + chain;
	uint8_t *comp, *ctx;
	struct vmb_xfer_range *xfer;
	struct vmb_gpa_range *gpa;
	uint64_t *pfns;

	if (ch->rx)
		return 0;
	ch->rx = calloc(cap, sizeof(*ch->rx));
	comp = calloc(cap, ch->cfg.max_completion ? ch->cfg.max_completion : 1);
	ctx = ch->cfg.client_ctx_size ? calloc(cap, ch->cfg.client_ctx_size) : NULL;
	xfer = calloc((size_t)cap * chain, sizeof(*xfer));
	gpa = calloc((size_t)cap * chain, sizeof(*gpa));
	pfns = calloc((size_t)cap * pfn_cap, sizeof(*pfns));
	if (ch->rx == NULL || comp == NULL || xfer == NULL || gpa == NULL || pfns == NULL ||
	    (ch->cfg.client_ctx_size && ctx == NULL) || vmb_mpsc_init(&ch->rx_done_q, cap) != 0) {
		free(ch->rx);
		free(comp);
		free(ctx);
		free(xfer);
		free(gpa);
		free(pfns);
		ch->rx = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < cap; i++) {
		struct vmb_rx *t = &ch->rx[i];
		t->magic = VMB_RX_MAGIC;
		t->ch = ch;
		t->index = i;
		t->comp_buf = comp + (size_t)i * (ch->cfg.max_completion ? ch->cfg.max_completion : 1);
		t->client_ctx = ctx ? ctx + (size_t)i * ch->cfg.client_ctx_size : NULL;
		t->ranges.xfer = xfer + (size_t)i * chain;
		t->ranges.gpa = gpa + (size_t)i * chain;
		t->ranges.pfns = pfns + (size_t)i * pfn_cap;
		t->next_comp = VMB_NONE;
	}
	ch->rx_cap = cap;
	atomic_store(&ch->quota, cap);
	return 0;
}

void
vmb_rx_fini(struct vmb_channel *ch)
{
	if (ch->rx == NULL)
		return;
	/* Storage blocks were allocated once, based at token 0. */
	free(ch->rx[0].comp_buf);
	free(ch->rx[0].client_ctx);
	free(ch->rx[0].ranges.xfer);
	free(ch->rx[0].ranges.gpa);
	free(ch->rx[0].ranges.pfns);
	free(ch->rx);
	vmb_mpsc_fini(&ch->rx_done_q);
	ch->rx = NULL;
}

void
vmb_rx_reset(struct vmb_channel *ch)
{
	uint32_t i, idx;

	while (vmb_mpsc_pop(&ch->rx_done_q, &idx))
		;
	for (i = 0; i < ch->rx_cap; i++) {
		atomic_store(&ch->rx[i].state, VMB_RX_FREE);
		ch->rx[i].next_comp = VMB_NONE;
	}
	ch->rx_head = ch->rx_tail = 0;
	ch->deferred = 0;
	ch->comp_head = ch->comp_tail = VMB_NONE;
	atomic_store(&ch->outstanding, 0);
}

/* ---- restored state ---- */

void
vmb_rx_restore_free(struct vmb_rx_restore *r)
{
	uint32_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->count; i++)
		free(r->data[i]);
	free(r->xid);
	free(r->len);
	free(r->data);
	free(r);
}

static void pending_append(struct vmb_channel *ch, struct vmb_rx *t);

int
vmb_rx_apply_restore(struct vmb_channel *ch)
{
	struct vmb_rx_restore *r = ch->rx_restore;
	uint32_t size = ch->in.m.size, i;

	if (r == NULL)
		return 0;
	/* The saved consumption point must lie in the data the writer has published since our
	 * read_index: anything else means these are not the rings that were saved. */
	if (r->cursor >= size || (r->cursor & (VMB_RING_ALIGN - 1)) ||
	    vmb_ring__dist(ch->in.committed, r->cursor, size) >
		    vmb_ring__dist(ch->in.committed, ch->in.peer_write, size) ||
	    r->count > ch->rx_cap)
		return -EIO;
	ch->in.cursor = r->cursor;
	for (i = 0; i < r->count; i++) {
		struct vmb_rx *t = token_at(ch, ch->rx_head++);
		memset(&t->pkt, 0, sizeof(t->pkt));
		t->pkt.type = VMB_PKT_INBAND;
		t->pkt.flags = VMB_PKT_FLAG_RC;
		t->pkt.xid = r->xid[i];
		t->comp_len = r->len[i];
		if (r->len[i])
			memcpy(t->comp_buf, r->data[i], r->len[i]);
		t->end = r->cursor;
		atomic_store(&t->state, VMB_RX_COMPLETED);
		pending_append(ch, t);
	}
	vmb_rx_restore_free(r);
	ch->rx_restore = NULL;
	return 0;
}

/* ---- completions ---- */

static void
pending_append(struct vmb_channel *ch, struct vmb_rx *t)
{
	t->next_comp = VMB_NONE;
	if (ch->comp_tail == VMB_NONE)
		ch->comp_head = t->index;
	else
		ch->rx[ch->comp_tail].next_comp = t->index;
	ch->comp_tail = t->index;
}

/* Holder: write the completion packet of a completed token from @p buf. @return false when
 * the ring is full (the caller keeps it pending). */
static bool
emit(struct vmb_channel *ch, struct vmb_rx *t, const void *buf, uint32_t len)
{
	enum vmb_ring_status st;

	if ((t->pkt.flags & VMB_PKT_FLAG_RC) && ch->linked && !atomic_load(&ch->poisoned)) {
		st = vmb_pkt_write_completion(&ch->out, t->pkt.xid, buf, len);
		if (st == VMB_RING_FULL)
			return false;
		if (st == VMB_RING_OK)
			VMB_STAT_ADD(ch, completions_sent, 1);
		else if (st == VMB_RING_CORRUPT)
			vmb_channel_poison(ch, "outgoing ring: read_index invalid");
	}
	atomic_store_explicit(&t->state, VMB_RX_DONE, memory_order_release);
	return true;
}

static void
emit_or_queue(struct vmb_channel *ch, struct vmb_rx *t)
{
	if (ch->comp_head != VMB_NONE || !emit(ch, t, t->comp_buf, t->comp_len))
		pending_append(ch, t);
}

static void
flush_pending(struct vmb_channel *ch)
{
	while (ch->comp_head != VMB_NONE) {
		struct vmb_rx *t = &ch->rx[ch->comp_head];
		if (!emit(ch, t, t->comp_buf, t->comp_len))
			return;
		ch->comp_head = t->next_comp;
		if (ch->comp_head == VMB_NONE)
			ch->comp_tail = VMB_NONE;
	}
}

void
vmb_rx_release(struct vmb_channel *ch)
{
	uint32_t idx, commit_to = VMB_NONE;

	if (ch->rx == NULL || ch->frozen)
		return;
	flush_pending(ch);
	while (vmb_mpsc_pop(&ch->rx_done_q, &idx))
		emit_or_queue(ch, &ch->rx[idx]);
	while (ch->rx_tail != ch->rx_head) {
		struct vmb_rx *t = token_at(ch, ch->rx_tail);
		if (atomic_load_explicit(&t->state, memory_order_acquire) != VMB_RX_DONE)
			break;
		commit_to = t->end;
		atomic_store_explicit(&t->state, VMB_RX_FREE, memory_order_relaxed);
		ch->rx_tail++;
	}
	if (!ch->linked)
		return;
	/* Nothing outstanding: everything read (completion packets too) can go. */
	if (ch->rx_tail == ch->rx_head)
		commit_to = ch->in.cursor;
	if (commit_to != VMB_NONE && vmb_ring_read_commit_to(&ch->in, commit_to))
		ch->pass_signals = 1;
}

void
vmb_rx_drop_pending(struct vmb_channel *ch)
{
	uint32_t idx;

	if (ch->rx == NULL)
		return;
	while (vmb_mpsc_pop(&ch->rx_done_q, &idx))
		atomic_store(&ch->rx[idx].state, VMB_RX_DONE);
	while (ch->comp_head != VMB_NONE) {
		struct vmb_rx *t = &ch->rx[ch->comp_head];
		atomic_store(&t->state, VMB_RX_DONE);
		ch->comp_head = t->next_comp;
	}
	ch->comp_tail = VMB_NONE;
}

int
vmb_rx_complete(struct vmb_rx *t, const void *buf, uint32_t len)
{
	struct vmb_channel *ch;
	uint32_t expected = VMB_RX_INDICATED;
	int entered;

	if (!vmb_rx_valid(t))
		return -EBADF;
	ch = t->ch;
	if (len > ch->cfg.max_completion || (len && buf == NULL))
		return -EINVAL;
	if (!atomic_compare_exchange_strong(&t->state, &expected, VMB_RX_COMPLETED))
		return -EBADF; /* not outstanding: completed twice, or deferred */
	entered = vmb_channel_enter(ch);
	if (entered) {
		uint32_t idx;
		/* Holder (inline from the callback, or the pausing thread): completions this
		 * thread handed over earlier go first; then write this one now, from the caller's
		 * buffer when nothing is queued ahead. */
		while (vmb_mpsc_pop(&ch->rx_done_q, &idx))
			emit_or_queue(ch, &ch->rx[idx]);
		if (ch->comp_head != VMB_NONE || !emit(ch, t, buf, len)) {
			if (len)
				memcpy(t->comp_buf, buf, len);
			t->comp_len = len;
			pending_append(ch, t);
		}
		atomic_fetch_sub(&ch->outstanding, 1);
		if (entered == 1)
			vmb_channel_leave(ch);
		return 0;
	}
	if (len)
		memcpy(t->comp_buf, buf, len);
	t->comp_len = len;
	vmb_mpsc_push(&ch->rx_done_q, t->index);
	/* After the push: a pause that sees outstanding == 0 finds the token in the queue. */
	atomic_fetch_sub(&ch->outstanding, 1);
	vmb_channel_kick(ch);
	return 0;
}

int
vmb_rx_defer(struct vmb_rx *t)
{
	struct vmb_channel *ch;
	uint32_t expected = VMB_RX_INDICATED;

	if (!vmb_rx_valid(t))
		return -EBADF;
	ch = t->ch;
	if (atomic_load(&ch->holder) != vmb_thread_marker())
		return -EPERM; /* only inline from process_packet */
	if (!atomic_compare_exchange_strong(&t->state, &expected, VMB_RX_DEFERRED))
		return -EBADF;
	ch->deferred++;
	return 0;
}

void
vmb_rx_fail(struct vmb_rx *t)
{
	uint32_t expected = VMB_RX_INDICATED;

	if (!vmb_rx_valid(t))
		return;
	vmb_channel_poison(t->ch, "driver failed a malformed packet");
	if (atomic_compare_exchange_strong(&t->state, &expected, VMB_RX_DONE))
		atomic_fetch_sub(&t->ch->outstanding, 1);
}

const struct vmb_pkt *
vmb_rx_packet(const struct vmb_rx *t)
{
	return vmb_rx_valid(t) ? &t->pkt : NULL;
}

int
vmb_rx_external(const struct vmb_rx *t, const struct vmb_gpa_range **gpa, const uint64_t **pfns,
		const struct vmb_xfer_range **xfer, uint32_t *count)
{
	if (!vmb_rx_valid(t))
		return -EBADF;
	if (t->pkt.type != VMB_PKT_GPA_DIRECT && t->pkt.type != VMB_PKT_XFER_PAGES)
		return -ENOENT;
	if (gpa)
		*gpa = t->pkt.type == VMB_PKT_GPA_DIRECT ? t->ranges.gpa : NULL;
	if (pfns)
		*pfns = t->pkt.type == VMB_PKT_GPA_DIRECT ? t->ranges.pfns : NULL;
	if (xfer)
		*xfer = t->pkt.type == VMB_PKT_XFER_PAGES ? t->ranges.xfer : NULL;
	if (count)
		*count = t->pkt.range_count;
	return 0;
}

struct vmb_channel *
vmb_rx_channel(const struct vmb_rx *t)
{
	return vmb_rx_valid(t) ? t->ch : NULL;
}

void *
vmb_rx_context(struct vmb_rx *t)
{
	return vmb_rx_valid(t) ? t->client_ctx : NULL;
}

/* ---- indication ---- */

static void
indicate(struct vmb_channel *ch, struct vmb_rx *t)
{
	ch->cfg.process(ch, t, t->pkt.payload, t->pkt.payload_len, t->cb_flags);
}

uint32_t
vmb_rx_redeliver(struct vmb_channel *ch)
{
	uint32_t seq, n = 0, pending = ch->deferred;

	for (seq = ch->rx_tail; pending && seq != ch->rx_head; seq++) {
		struct vmb_rx *t = token_at(ch, seq);
		uint32_t expected = VMB_RX_DEFERRED;
		if (atomic_compare_exchange_strong(&t->state, &expected, VMB_RX_INDICATED)) {
			ch->deferred--;
			pending--;
			n++;
			indicate(ch, t);
		}
	}
	return n;
}

int
vmb_rx_process(struct vmb_channel *ch, uint32_t budget)
{
	uint32_t n = 0, max_payload = (ch->cfg.max_packet + 7) & ~7u;

	if (ch->deferred)
		n += vmb_rx_redeliver(ch);
	while (n < budget && atomic_load_explicit(&ch->active, memory_order_relaxed)) {
		struct vmb_ring_pkt rp;
		struct vmb_rx *t;
		enum vmb_ring_status st;
		enum vmb_pkt_error e;

		if (ch->rx_head - ch->rx_tail >= ch->rx_cap ||
		    atomic_load_explicit(&ch->outstanding, memory_order_relaxed) >=
			    atomic_load_explicit(&ch->quota, memory_order_relaxed)) {
			VMB_STAT_ADD(ch, quota_stalls, 1);
			break;
		}
		st = vmb_ring_read(&ch->in, &rp);
		if (st == VMB_RING_EMPTY)
			break;
		if (st != VMB_RING_OK) {
			vmb_channel_poison(ch, "incoming ring: invalid index or descriptor");
			break;
		}
		t = token_at(ch, ch->rx_head);
		e = vmb_pkt_decode(&rp, &ch->limits, &t->pkt, &t->ranges);
		if (e != VMB_PKT_OK) {
			vmb_channel_poison(ch, vmb_pkt_error_str(e));
			break;
		}
		if (t->pkt.type == VMB_PKT_COMPLETION) {
			vmb_tx_on_completion(ch, &t->pkt);
			continue;
		}
		if (t->pkt.payload_len > max_payload) {
			vmb_channel_poison(ch, "incoming packet larger than the maximum packet size");
			break;
		}
		t->end = rp.end;
		t->comp_len = 0;
		t->cb_flags = t->pkt.type == VMB_PKT_INBAND ? 0 : VMB_RX_FLAG_EXTERNAL_DATA;
		atomic_store_explicit(&t->state, VMB_RX_INDICATED, memory_order_relaxed);
		ch->rx_head++;
		atomic_fetch_add_explicit(&ch->outstanding, 1, memory_order_relaxed);
		VMB_STAT_ADD(ch, rx_packets, 1);
		VMB_STAT_ADD(ch, rx_bytes, t->pkt.payload_len);
		n++;
		indicate(ch, t);
	}
	if (n && ch->cfg.processing_complete)
		ch->cfg.processing_complete(ch, n);
	return (int)n;
}
