/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Ring set-up and the slow-path parts of the writer's flow control. The fast path (reserve,
 * read, commit) is inline in vmb_ring.h.
 */
#include <vmb/vmb_ring.h>

/* The layout must be the wire layout: these are the offsets every Hyper-V peer reads. */
_Static_assert(offsetof(struct vmbus_bufring, windex) == 0, "write_index at 0");
_Static_assert(offsetof(struct vmbus_bufring, rindex) == 4, "read_index at 4");
_Static_assert(offsetof(struct vmbus_bufring, imask) == 8, "interrupt_mask at 8");
_Static_assert(offsetof(struct vmbus_bufring, pending_send) == 12, "pending_send_size at 12");
_Static_assert(offsetof(struct vmbus_bufring, feature_bits) == 64, "feature_bits at 64");
_Static_assert(sizeof(struct vmbus_chanpkt_hdr) == 16, "descriptor is 16 bytes");

const char *
vmb_ring_status_str(enum vmb_ring_status st)
{
	switch (st) {
	case VMB_RING_OK:
		return "ok";
	case VMB_RING_EMPTY:
		return "empty";
	case VMB_RING_FULL:
		return "full";
	case VMB_RING_TOO_LARGE:
		return "packet too large for ring";
	case VMB_RING_CORRUPT:
		return "ring corrupt";
	}
	return "unknown";
}

bool
vmb_ring_mem_valid(const struct vmb_ring_mem *m)
{
	return m != NULL && m->ctl != NULL && m->data != NULL && m->size >= 4096 &&
	       (m->size % 4096) == 0 && m->size < (1u << 31);
}

void
vmb_ring_format(struct vmbus_bufring *ctl)
{
	memset((void *)ctl, 0, VMB_RING_CTL_SIZE);
	ctl->imask = 1;
}

enum vmb_ring_status
vmb_ring_writer_attach(struct vmb_ring_writer *w, const struct vmb_ring_mem *m)
{
	uint32_t wi, ri;

	memset(w, 0, sizeof(*w));
	if (!vmb_ring_mem_valid(m))
		return VMB_RING_CORRUPT;
	w->m = *m;
	wi = vmb_ring__load(&m->ctl->windex);
	ri = vmb_ring__load(&m->ctl->rindex);
	if (!vmb_ring__index_ok(wi, m->size) || !vmb_ring__index_ok(ri, m->size))
		return VMB_RING_CORRUPT;
	w->cursor = w->committed = wi;
	w->peer_read = ri;
	w->pending = vmb_ring__peek(&m->ctl->pending_send);
	{
		/* feature_bits sits at offset 64 of a page-aligned control page: 4-byte aligned,
		 * which the packed struct hides from the compiler. */
		uint32_t *feat = __builtin_assume_aligned((void *)&m->ctl->feature_bits.value, 4);
		__atomic_fetch_or(feat, VMB_RING_FEAT_PENDING_SEND_SZ, __ATOMIC_RELEASE);
	}
	return VMB_RING_OK;
}

enum vmb_ring_status
vmb_ring_reader_attach(struct vmb_ring_reader *r, const struct vmb_ring_mem *m, uint8_t *bounce,
		       uint32_t bounce_size)
{
	uint32_t wi, ri;

	memset(r, 0, sizeof(*r));
	if (!vmb_ring_mem_valid(m))
		return VMB_RING_CORRUPT;
	r->m = *m;
	r->bounce = bounce;
	r->bounce_size = bounce ? bounce_size : 0;
	wi = vmb_ring__load(&m->ctl->windex);
	ri = vmb_ring__load(&m->ctl->rindex);
	if (!vmb_ring__index_ok(wi, m->size) || !vmb_ring__index_ok(ri, m->size))
		return VMB_RING_CORRUPT;
	r->cursor = r->committed = ri;
	r->peer_write = wi;
	return VMB_RING_OK;
}

bool
vmb_ring_writer_wait_space(struct vmb_ring_writer *w, uint32_t pkt_len)
{
	/* Free space must exceed the packet and its trailer: free >= total + 8. */
	uint32_t needed = pkt_len + VMB_RING_TRAILER_SIZE + VMB_RING_ALIGN;
	uint32_t quarter = w->m.size / 4;
	uint32_t want = needed > quarter ? needed : quarter;

	if (want != w->pending) {
		vmb_ring__poke(&w->m.ctl->pending_send, want);
		w->pending = want;
	}
	/* Full fence: pending_send_size is visible before we re-read read_index, so a reader that
	 * frees space after our re-check sees the request and signals (pairs with the reader's
	 * fence in vmb_ring_read_commit_to). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vmb_ring_writer_refresh(w) != VMB_RING_OK)
		return false;
	return vmb_ring_writer_free(w) > pkt_len + VMB_RING_TRAILER_SIZE;
}

void
vmb_ring_writer_clear_wait(struct vmb_ring_writer *w)
{
	if (w->pending != 0) {
		vmb_ring__poke(&w->m.ctl->pending_send, 0u);
		w->pending = 0;
	}
}
