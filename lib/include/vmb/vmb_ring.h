/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_RING_H
#define VMB_RING_H

/**
 * @file
 * One direction of a VMBus channel: a ring buffer in the exact Hyper-V wire format.
 *
 * A ring is a 4 KiB control page (`struct vmbus_bufring` from DPDK's rte_vmbus_reg.h) followed by
 * a data area of D bytes. The writer owns write_index and pending_send_size, the reader owns
 * read_index and interrupt_mask. Each packet is a 16-byte descriptor, its type header and payload,
 * padded to 8 bytes, then an 8-byte trailer `(uint64)start_index << 32`.
 *
 * This layer is pure functions over a mapping: no allocation, no locks, no syscalls, no signals.
 * Both cursors are two-phase: the reader reads packets and later commits (or reverts) in one
 * index store; the writer reserves space, fills it, and commits a batch in one index store.
 * Commit calls return the signalling decision of the Hyper-V rules; the caller signals.
 *
 * Threat model: the peer may write anything into the shared page at any time, including
 * between two of our reads. Every shared word is read exactly once per use (into a local),
 * validated, and only the local copy is used afterwards. A violation yields VMB_RING_CORRUPT,
 * which is kept apart from the "try again" results VMB_RING_EMPTY and VMB_RING_FULL.
 *
 * Threading: one reader and one writer per ring at a time (they may be different processes).
 * A `struct vmb_ring_reader` or `struct vmb_ring_writer` is private to one thread at a time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <rte_vmbus_reg.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the control page that precedes the data area. */
#define VMB_RING_CTL_SIZE 4096u
/** Size of the per-packet trailer (holds the packet's start index in its high 32 bits). */
#define VMB_RING_TRAILER_SIZE 8u
/** Packet and index alignment. */
#define VMB_RING_ALIGN 8u
/** Smallest possible packet: a bare descriptor. */
#define VMB_RING_MIN_PKT_LEN ((uint32_t)sizeof(struct vmbus_chanpkt_hdr))
/** feature_bits bit 0: the writer of this ring honours pending_send_size. */
#define VMB_RING_FEAT_PENDING_SEND_SZ 0x1u

/** The mapping is double: data[D..2D) aliases data[0..D), so every packet is contiguous. */
#define VMB_RING_F_DOUBLE_MAPPED 0x1u

/** Result of a ring operation. Values >= 0 only; CORRUPT is terminal for the channel. */
enum vmb_ring_status {
	VMB_RING_OK = 0,       /**< Done. */
	VMB_RING_EMPTY = 1,    /**< Reader: nothing to read now; try later. */
	VMB_RING_FULL = 2,     /**< Writer: not enough free space now; try later. */
	VMB_RING_TOO_LARGE = 3,/**< Writer: the packet can never fit in this ring (> D - 8 bytes). */
	VMB_RING_CORRUPT = 4,  /**< A shared word or descriptor broke the rules: poison the channel. */
};

/** Human-readable name of a ring status (static string). */
const char *vmb_ring_status_str(enum vmb_ring_status st);

/** Where a ring lives in this process. Plain data; filled by the mem layer or by hand. */
struct vmb_ring_mem {
	struct vmbus_bufring *ctl; /**< Shared control page (4 KiB). */
	uint8_t *data;             /**< Data area; 2*size bytes readable when double mapped. */
	uint32_t size;             /**< D: data area size in bytes, multiple of 8, >= 4096. */
	uint32_t flags;            /**< VMB_RING_F_*. */
};

/** Space handed out by vmb_ring_reserve(): one piece, or two when the packet wraps and the
 *  data area is not double mapped. */
struct vmb_ring_span {
	uint8_t *p[2];
	uint32_t len[2];
};

/** Writer side of one ring. Private to the writing thread. */
struct vmb_ring_writer {
	struct vmb_ring_mem m;
	uint32_t cursor;     /**< Next byte to write (reserved but uncommitted data lies before). */
	uint32_t committed;  /**< write_index as last published by us. */
	uint32_t peer_read;  /**< Last validated read_index of the reader. */
	uint32_t pending;    /**< Value we last stored in pending_send_size (0 = none). */
};

/** A packet found by vmb_ring_read(); points into the ring or into the bounce buffer. */
struct vmb_ring_pkt {
	struct vmbus_chanpkt_hdr desc; /**< Private copy of the descriptor, read once. */
	const uint8_t *bytes;          /**< Packet start (descriptor included), len bytes contiguous. */
	uint32_t len;                  /**< desc.tlen * 8: descriptor + header + padded payload. */
	uint32_t start;                /**< Ring offset of the packet. */
	uint32_t end;                  /**< Ring offset just past the trailer. */
};

/** Reader side of one ring. Private to the reading thread. */
struct vmb_ring_reader {
	struct vmb_ring_mem m;
	uint32_t cursor;     /**< Next packet to read; packets before it are read but uncommitted. */
	uint32_t committed;  /**< read_index as last published by us. */
	uint32_t peer_write; /**< Last validated write_index of the writer. */
	uint32_t bounce_size;/**< Size of bounce (0 when double mapped). */
	uint8_t *bounce;     /**< Caller-provided copy area for wrapping packets (split-copy path). */
};

/**
 * Check that a ring mapping is usable: control page and data area present, size a multiple of
 * 4096 and below 2^31.
 * @return true when usable.
 */
bool vmb_ring_mem_valid(const struct vmb_ring_mem *m);

/**
 * Format a fresh ring's control page (all words zero, interrupt_mask = 1 for poll mode).
 * Done once by whoever donates the ring memory (the guest), before either side attaches.
 */
void vmb_ring_format(struct vmbus_bufring *ctl);

/**
 * Attach a writer. The cursor starts at the write_index found in shared memory (never reset:
 * this is also how a restored channel resumes), and the feature bit pending_send_size is set.
 * @return VMB_RING_OK, or VMB_RING_CORRUPT if the shared indices are invalid (the writer is
 *         then unusable). Invalid mapping: VMB_RING_CORRUPT too.
 */
enum vmb_ring_status vmb_ring_writer_attach(struct vmb_ring_writer *w, const struct vmb_ring_mem *m);

/**
 * Attach a reader at the read_index found in shared memory.
 * @param bounce  Copy area of at least @p bounce_size bytes for packets that wrap when the data
 *                area is not double mapped; NULL when double mapped. Packets longer than the
 *                bounce area are reported as VMB_RING_CORRUPT (they cannot be legal: the caller
 *                sizes it to the largest packet the protocol allows, or to D).
 */
enum vmb_ring_status vmb_ring_reader_attach(struct vmb_ring_reader *r, const struct vmb_ring_mem *m,
					    uint8_t *bounce, uint32_t bounce_size);

/* ---- internal helpers shared by the inline functions below ---- */

static inline uint32_t
vmb_ring__dist(uint32_t from, uint32_t to, uint32_t size)
{
	/* bytes from 'from' forward to 'to' on a ring of 'size' bytes */
	return to >= from ? to - from : size - from + to;
}

static inline uint32_t
vmb_ring__add(uint32_t off, uint32_t n, uint32_t size)
{
	uint32_t r = off + n;
	return r >= size ? r - size : r;
}

static inline uint32_t
vmb_ring__load(volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Relaxed load/store of a control word. The words of DPDK's packed struct are 4-byte aligned
 * in practice (the control page is page aligned); the pointer parameter says so to the
 * compiler, which would otherwise refuse atomics on packed members. */
static inline uint32_t
vmb_ring__peek(volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void
vmb_ring__poke(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void
vmb_ring__store(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline bool
vmb_ring__index_ok(uint32_t idx, uint32_t size)
{
	return idx < size && (idx & (VMB_RING_ALIGN - 1)) == 0;
}

/* ---- writer ---- */

/** Bytes the writer could reserve now given its cached view (not re-reading shared memory). */
static inline uint32_t
vmb_ring_writer_free(const struct vmb_ring_writer *w)
{
	return w->m.size - vmb_ring__dist(w->peer_read, w->cursor, w->m.size);
}

/**
 * Re-read the reader's read_index once, validate it and cache it.
 * The reader can only have moved forward, and never past what we committed.
 */
static inline enum vmb_ring_status
vmb_ring_writer_refresh(struct vmb_ring_writer *w)
{
	uint32_t r = vmb_ring__load(&w->m.ctl->rindex);
	uint32_t size = w->m.size;

	if (!vmb_ring__index_ok(r, size))
		return VMB_RING_CORRUPT;
	/* Unread committed bytes can only shrink: reader moves toward our committed index. */
	if (vmb_ring__dist(r, w->committed, size) > vmb_ring__dist(w->peer_read, w->committed, size))
		return VMB_RING_CORRUPT;
	w->peer_read = r;
	return VMB_RING_OK;
}

/**
 * Reserve room for one packet of @p pkt_len bytes (descriptor included, trailer excluded,
 * multiple of 8). Writes the trailer and advances the private cursor; nothing is visible to the
 * reader until vmb_ring_write_commit().
 *
 * @return VMB_RING_OK (span filled), VMB_RING_FULL (try later), VMB_RING_TOO_LARGE (never fits),
 *         VMB_RING_CORRUPT (reader's index invalid).
 */
static inline enum vmb_ring_status
vmb_ring_reserve(struct vmb_ring_writer *w, uint32_t pkt_len, struct vmb_ring_span *s)
{
	uint32_t size = w->m.size;
	uint32_t total = pkt_len + VMB_RING_TRAILER_SIZE;
	uint32_t start = w->cursor;
	uint32_t tail_off;

	/* A write of T bytes needs free > T so that a full ring never looks empty. */
	if (pkt_len > size || total > size - VMB_RING_ALIGN || (pkt_len & (VMB_RING_ALIGN - 1)))
		return VMB_RING_TOO_LARGE;
	if (vmb_ring_writer_free(w) <= total) {
		enum vmb_ring_status st = vmb_ring_writer_refresh(w);
		if (st != VMB_RING_OK)
			return st;
		if (vmb_ring_writer_free(w) <= total)
			return VMB_RING_FULL;
	}

	if ((w->m.flags & VMB_RING_F_DOUBLE_MAPPED) || start + pkt_len <= size) {
		s->p[0] = w->m.data + start;
		s->len[0] = pkt_len;
		s->p[1] = NULL;
		s->len[1] = 0;
	} else {
		s->p[0] = w->m.data + start;
		s->len[0] = size - start;
		s->p[1] = w->m.data;
		s->len[1] = pkt_len - (size - start);
	}
	tail_off = vmb_ring__add(start, pkt_len, size);
	{
		uint64_t trailer = (uint64_t)start << 32;
		memcpy(w->m.data + tail_off, &trailer, sizeof(trailer));
	}
	w->cursor = vmb_ring__add(tail_off, VMB_RING_TRAILER_SIZE, size);
	return VMB_RING_OK;
}

/** Copy @p len bytes into a reserved span at byte offset @p off. */
static inline void
vmb_ring_span_copy(const struct vmb_ring_span *s, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *from = (const uint8_t *)src;

	if (len == 0)
		return;
	if (__builtin_expect(s->len[1] == 0, 1)) {
		/* one piece (always when double mapped): a plain copy the compiler can inline */
		memcpy(s->p[0] + off, from, len);
		return;
	}
	if (off < s->len[0]) {
		uint32_t n = s->len[0] - off < len ? s->len[0] - off : len;
		memcpy(s->p[0] + off, from, n);
		from += n;
		len -= n;
		off = 0;
	} else {
		off -= s->len[0];
	}
	if (len)
		memcpy(s->p[1] + off, from, len);
}

/** Zero @p len bytes of a reserved span at offset @p off (padding). */
static inline void
vmb_ring_span_zero(const struct vmb_ring_span *s, uint32_t off, uint32_t len)
{
	static const uint8_t zeros[VMB_RING_ALIGN];
	while (len) {
		uint32_t n = len < VMB_RING_ALIGN ? len : VMB_RING_ALIGN;
		vmb_ring_span_copy(s, off, zeros, n);
		off += n;
		len -= n;
	}
}

/**
 * Reserve and fill one packet from a gather list; pads to 8 bytes with zeros.
 * The first bytes of the list must be the descriptor. Same results as vmb_ring_reserve().
 */
static inline enum vmb_ring_status
vmb_ring_writev(struct vmb_ring_writer *w, const struct iovec *iov, unsigned int iovcnt)
{
	struct vmb_ring_span s;
	enum vmb_ring_status st;
	uint64_t len = 0;
	uint32_t off = 0, pkt_len;
	unsigned int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > UINT32_MAX - VMB_RING_ALIGN)
		return VMB_RING_TOO_LARGE;
	pkt_len = ((uint32_t)len + VMB_RING_ALIGN - 1) & ~(VMB_RING_ALIGN - 1);
	st = vmb_ring_reserve(w, pkt_len, &s);
	if (st != VMB_RING_OK)
		return st;
	for (i = 0; i < iovcnt; i++) {
		vmb_ring_span_copy(&s, off, iov[i].iov_base, (uint32_t)iov[i].iov_len);
		off += (uint32_t)iov[i].iov_len;
	}
	if (pkt_len != off)
		vmb_ring_span_zero(&s, off, pkt_len - off);
	return VMB_RING_OK;
}

/**
 * Publish everything reserved since the last commit with one write_index store.
 * @return true when the reader must be signalled: it has interrupts enabled (interrupt_mask 0)
 *         and the ring was empty before this batch (read_index == our previous write_index).
 */
static inline bool
vmb_ring_write_commit(struct vmb_ring_writer *w)
{
	uint32_t old = w->committed;

	if (w->cursor == old)
		return false;
	/* Release: packet bytes become visible before the index that covers them. */
	vmb_ring__store(&w->m.ctl->windex, w->cursor);
	w->committed = w->cursor;
	/* Full fence: our index store must be globally visible before we read interrupt_mask,
	 * otherwise a reader clearing its mask and re-checking could miss both the data and the
	 * signal (store-load reordering). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vmb_ring__peek(&w->m.ctl->imask))
		return false;
	return vmb_ring__peek(&w->m.ctl->rindex) == old;
}

/** Drop everything reserved since the last commit. */
static inline void
vmb_ring_write_revert(struct vmb_ring_writer *w)
{
	w->cursor = w->committed;
}

/**
 * Announce that the writer is blocked waiting for room for a @p pkt_len packet: sets
 * pending_send_size to max(needed, D/4) (a quarter-ring hysteresis avoids a signal per packet),
 * then re-checks. @return true if the packet fits now (the caller should clear and write).
 */
bool vmb_ring_writer_wait_space(struct vmb_ring_writer *w, uint32_t pkt_len);

/** Clear pending_send_size before writing again. */
void vmb_ring_writer_clear_wait(struct vmb_ring_writer *w);

/* ---- reader ---- */

/**
 * Re-read the writer's write_index once, validate it and cache it. The writer can only add
 * data: the unread span measured from our committed index never shrinks.
 */
static inline enum vmb_ring_status
vmb_ring_reader_refresh(struct vmb_ring_reader *r)
{
	uint32_t wi = vmb_ring__load(&r->m.ctl->windex);
	uint32_t size = r->m.size;

	if (!vmb_ring__index_ok(wi, size))
		return VMB_RING_CORRUPT;
	if (vmb_ring__dist(r->committed, wi, size) < vmb_ring__dist(r->committed, r->peer_write, size))
		return VMB_RING_CORRUPT;
	r->peer_write = wi;
	return VMB_RING_OK;
}

/** Bytes readable past the cursor, by the cached view. */
static inline uint32_t
vmb_ring_reader_avail(const struct vmb_ring_reader *r)
{
	return vmb_ring__dist(r->cursor, r->peer_write, r->m.size);
}

/**
 * Read the next packet: copies and validates its descriptor, advances the private cursor.
 * The packet stays in the ring until committed. The descriptor checks done here are the ring's
 * part (2 <= offset8 <= len8, len8*8 + 8 <= available); type, flags and type headers are checked
 * by the packet layer.
 *
 * @return VMB_RING_OK, VMB_RING_EMPTY, or VMB_RING_CORRUPT.
 */
static inline enum vmb_ring_status
vmb_ring_read(struct vmb_ring_reader *r, struct vmb_ring_pkt *pkt)
{
	uint32_t size = r->m.size;
	uint32_t start = r->cursor;
	uint32_t avail = vmb_ring_reader_avail(r);
	uint32_t len;

	if (avail == 0) {
		enum vmb_ring_status st = vmb_ring_reader_refresh(r);
		if (st != VMB_RING_OK)
			return st;
		avail = vmb_ring_reader_avail(r);
		if (avail == 0)
			return VMB_RING_EMPTY;
	}
	if (avail < VMB_RING_MIN_PKT_LEN + VMB_RING_TRAILER_SIZE)
		return VMB_RING_CORRUPT;

	if ((r->m.flags & VMB_RING_F_DOUBLE_MAPPED) || start + VMB_RING_MIN_PKT_LEN <= size) {
		memcpy(&pkt->desc, r->m.data + start, sizeof(pkt->desc));
	} else {
		uint32_t first = size - start;
		memcpy(&pkt->desc, r->m.data + start, first);
		memcpy((uint8_t *)&pkt->desc + first, r->m.data, sizeof(pkt->desc) - first);
	}
	if (pkt->desc.hlen < VMBUS_CHANPKT_HLEN_MIN || pkt->desc.hlen > pkt->desc.tlen)
		return VMB_RING_CORRUPT;
	len = (uint32_t)pkt->desc.tlen << VMBUS_CHANPKT_SIZE_SHIFT;
	if (len + VMB_RING_TRAILER_SIZE > avail)
		return VMB_RING_CORRUPT;

	if ((r->m.flags & VMB_RING_F_DOUBLE_MAPPED) || start + len <= size) {
		pkt->bytes = r->m.data + start;
	} else {
		uint32_t first = size - start;
		if (len > r->bounce_size)
			return VMB_RING_CORRUPT;
		memcpy(r->bounce, r->m.data + start, first);
		memcpy(r->bounce + first, r->m.data, len - first);
		pkt->bytes = r->bounce;
	}
	/* Prefetch a little ahead, only within data already published: the next packets' lines
	 * are coming from the writer's core. */
	if (avail > len + VMB_RING_TRAILER_SIZE + 256)
		__builtin_prefetch(r->m.data +
				   vmb_ring__add(start, len + VMB_RING_TRAILER_SIZE + 256, size));
	pkt->len = len;
	pkt->start = start;
	pkt->end = vmb_ring__add(start, len + VMB_RING_TRAILER_SIZE, size);
	r->cursor = pkt->end;
	return VMB_RING_OK;
}

/**
 * Publish read_index = @p offset (a packet boundary between the committed index and the
 * cursor, e.g. a vmb_ring_pkt.end), freeing the space before it for the writer.
 * @return true when the writer must be signalled: it set the pending_send_size feature bit
 *         and a non-zero pending_send_size, and free space crossed from below it to at or above
 *         it during this commit.
 */
static inline bool
vmb_ring_read_commit_to(struct vmb_ring_reader *r, uint32_t offset)
{
	uint32_t size = r->m.size;
	uint32_t old = r->committed;
	uint32_t pending, wi, free_before, free_after;

	if (offset == old)
		return false;
	/* Release: our reads of the packets complete before the writer may reuse the space. */
	vmb_ring__store(&r->m.ctl->rindex, offset);
	r->committed = offset;
	/* Full fence: the index store is visible before we read pending_send_size; pairs with the
	 * writer's fence between setting pending_send_size and re-checking free space. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(vmb_ring__peek((volatile uint32_t *)&r->m.ctl->feature_bits.value) &
	      VMB_RING_FEAT_PENDING_SEND_SZ))
		return false;
	pending = vmb_ring__peek(&r->m.ctl->pending_send);
	if (pending == 0)
		return false;
	wi = vmb_ring__peek(&r->m.ctl->windex);
	if (!vmb_ring__index_ok(wi, size))
		return false; /* the next read reports the corruption */
	free_after = size - vmb_ring__dist(offset, wi, size);
	free_before = size - vmb_ring__dist(old, wi, size);
	return free_before < pending && free_after >= pending;
}

/** Commit everything read so far. Same result as vmb_ring_read_commit_to(). */
static inline bool
vmb_ring_read_commit(struct vmb_ring_reader *r)
{
	return vmb_ring_read_commit_to(r, r->cursor);
}

/**
 * Commit only when it is worth it: at least @p min_bytes read since the last commit, or the
 * writer announced that it waits for room (pending_send_size set). Fewer read_index stores mean
 * fewer transfers of the control page's cache line between the cores, for a reader that runs
 * in bursts. The writer only sees free space later, so a reader that stops must call
 * vmb_ring_read_commit() (it does when it finds the ring empty). @p min_bytes is clamped to a
 * quarter of the ring, so a writer waiting on a full ring always gets its room back.
 * @return as vmb_ring_read_commit(); false also when nothing was committed.
 */
static inline bool
vmb_ring_read_commit_lazy(struct vmb_ring_reader *r, uint32_t min_bytes)
{
	uint32_t quarter = r->m.size / 4;

	if (min_bytes > quarter)
		min_bytes = quarter;
	if (vmb_ring__dist(r->committed, r->cursor, r->m.size) < min_bytes &&
	    vmb_ring__peek(&r->m.ctl->pending_send) == 0)
		return false;
	return vmb_ring_read_commit(r);
}

/** Forget everything read since the last commit: those packets will be read again. */
static inline void
vmb_ring_read_revert(struct vmb_ring_reader *r)
{
	r->cursor = r->committed;
}

/** Set interrupt_mask (1: "I am polling, don't signal me"; 0: "signal me on new data"). */
static inline void
vmb_ring_reader_set_mask(struct vmb_ring_reader *r, bool masked)
{
	vmb_ring__store(&r->m.ctl->imask, masked ? 1u : 0u);
}

/**
 * Prepare to sleep: clear interrupt_mask, full fence, re-check for data.
 * @return true when the ring is still empty (safe to sleep until signalled); false when data
 *         arrived in the meantime (keep polling; the mask is left cleared) or the ring is corrupt
 *         (the next read reports it).
 */
static inline bool
vmb_ring_reader_prepare_sleep(struct vmb_ring_reader *r)
{
	vmb_ring_reader_set_mask(r, false);
	/* Full fence: the cleared mask must be visible before we look at write_index again, so a
	 * writer that publishes after our check is sure to see the mask cleared and signal. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vmb_ring_reader_refresh(r) != VMB_RING_OK)
		return false;
	return vmb_ring_reader_avail(r) == 0;
}

#ifdef __cplusplus
}
#endif

#endif /* VMB_RING_H */
