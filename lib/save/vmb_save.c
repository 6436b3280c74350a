/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Save and restore of a server channel (see vmb_save.h; bytes in vmb_save_format.h and
 * doc/save-format.md).
 *
 * Save walks a plan fixed at save_begin (channel record, queued packets in FIFO order, in-flight
 * packets, completions owed to the peer, end record) and writes one chunk per call. A packet's
 * record is written in place: the VSP's save callback is handed the space for its bytes inside
 * the caller's chunk buffer, after the two-call size negotiation.
 *
 * Restore validates each chunk completely (header, CRC, order, every record) before accepting
 * it, stages the accepted payloads, and applies them only when the last chunk arrives. If the
 * VSP's restore callback fails while applying, every packet restored so far is put back to idle,
 * so the channel is as it was before the stream.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include <vmb/vmb_save.h>
#include <vmb/vmb_save_format.h>

#include "../channel/vmb_channel_priv.h"

#define HDR VMB_SAVE_CHUNK_HEADER
#define REC sizeof(struct vmb_save_rec_hdr)
#define PAD8(x) (((x) + 7u) & ~(size_t)7u)

_Static_assert(sizeof(struct vmb_save_chunk_hdr) == VMB_SAVE_CHUNK_HEADER, "chunk header");
_Static_assert(sizeof(struct vmb_save_rec_hdr) == 8, "record header");
_Static_assert(sizeof(struct vmb_save_lib_v1) == 32, "library part header");
_Static_assert(sizeof(struct vmb_save_range_v1) == 16, "range");
_Static_assert(sizeof(struct vmb_save_completion_v1) == 16, "completion");

/* ---- save ---- */

enum item_kind { ITEM_CHANNEL, ITEM_PACKET, ITEM_COMPLETION, ITEM_END };

struct save_item {
	enum item_kind kind;
	struct vmb_packet *pkt;
	struct vmb_rx *tok;
	uint32_t vsp_len;  /* negotiated with the save callback */
	bool sized;
};

struct vmb_save_ctx {
	struct save_item *items;
	uint32_t n, next;
	uint64_t stream_id;
	uint32_t seq;
	uint32_t packets, completions;
	uint32_t read_cursor, read_committed;
	bool done, failed;
};

static uint64_t
new_stream_id(void)
{
	uint64_t id = 0;
	struct timespec ts;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) == sizeof(id) && id != 0)
		return id;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&id;
}

static uint32_t
lib_len(const struct vmb_packet *p)
{
	uint32_t n = sizeof(struct vmb_save_lib_v1) + p->ext_count * sizeof(struct vmb_save_range_v1) +
		     p->ext_pfn_count * 8u;
	if (atomic_load(&p->state) == VMB_TX_QUEUED)
		n += p->len;
	return n;
}

int
vmb_channel_save_begin(struct vmb_channel *ch)
{
	struct vmb_save_ctx *ctx;
	struct vmb_packet *p;
	uint32_t i, n = 2, idx;
	int st;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (!ch->is_server)
		return -ENOTSUP;
	if (ch->save)
		return -EBUSY;
	st = atomic_load(&ch->state);
	if (st == VMB_CHANNEL_DISABLED || (st == VMB_CHANNEL_OPENED && !atomic_load(&ch->paused)))
		return -EPERM;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return -ENOMEM;

	/* Take the rings until save_end: nothing may change what we are walking. */
	vmb_channel_claim(ch);
	vmb_tx_flush(ch); /* hand-overs join the FIFO (nothing is written: not running) */
	vmb_channel_commit(ch); /* completions that fit go out now */

	/* Every pending packet is queued or in flight once the hand-overs joined the FIFO. */
	n += atomic_load(&ch->tx_pending);
	for (idx = ch->comp_head; idx != VMB_NONE; idx = ch->rx[idx].next_comp)
		n++;
	ctx->items = calloc(n, sizeof(*ctx->items));
	if (ctx->items == NULL) {
		free(ctx);
		vmb_channel_unclaim(ch, false);
		return -ENOMEM;
	}
	ctx->items[ctx->n++].kind = ITEM_CHANNEL;
	for (p = ch->txq_head; p; p = p->next) {
		ctx->items[ctx->n].kind = ITEM_PACKET;
		ctx->items[ctx->n++].pkt = p;
		ctx->packets++;
	}
	for (i = 0; i < atomic_load(&ch->tx_high) && ctx->n + 1 < n; i++) {
		p = atomic_load(&ch->tx_slots[i]);
		if (p && atomic_load(&p->state) == VMB_TX_INFLIGHT) {
			ctx->items[ctx->n].kind = ITEM_PACKET;
			ctx->items[ctx->n++].pkt = p;
			ctx->packets++;
		}
	}
	for (idx = ch->comp_head; idx != VMB_NONE; idx = ch->rx[idx].next_comp) {
		ctx->items[ctx->n].kind = ITEM_COMPLETION;
		ctx->items[ctx->n++].tok = &ch->rx[idx];
		ctx->completions++;
	}
	ctx->items[ctx->n++].kind = ITEM_END;
	/* Pending packets can only be re-created by the VSP: without its callbacks, refuse. */
	if (ctx->packets && (ch->cfg.save_packet == NULL || ch->cfg.restore_packet == NULL)) {
		free(ctx->items);
		free(ctx);
		vmb_channel_unclaim(ch, false);
		return -EPERM;
	}
	ctx->stream_id = new_stream_id();
	ctx->read_cursor = ch->linked ? ch->in.cursor : VMB_NONE;
	ctx->read_committed = ch->linked ? ch->in.committed : VMB_NONE;
	ch->save = ctx;
	return 0;
}

static size_t
item_size(const struct save_item *it)
{
	switch (it->kind) {
	case ITEM_CHANNEL:
		return REC + PAD8(sizeof(struct vmb_save_channel_v1));
	case ITEM_PACKET:
		return REC + sizeof(struct vmb_save_packet_v1) + PAD8(lib_len(it->pkt)) +
		       PAD8(it->vsp_len);
	case ITEM_COMPLETION:
		return REC + sizeof(struct vmb_save_completion_v1) + PAD8(it->tok->comp_len);
	case ITEM_END:
		return REC + PAD8(sizeof(struct vmb_save_end_v1));
	}
	return 0;
}

static uint8_t *
put_rec(uint8_t *at, uint16_t tag, uint32_t len)
{
	struct vmb_save_rec_hdr h = {.tag = tag, .flags = VMB_SAVE_REC_CRITICAL, .len = len};
	memcpy(at, &h, sizeof(h));
	memset(at + REC, 0, PAD8(len)); /* padding is zero, and deterministic */
	return at + REC;
}

static void
write_lib(const struct vmb_packet *p, uint8_t *at)
{
	struct vmb_save_lib_v1 l = {
		.version = 1,
		.hdr_size = sizeof(l),
		.state = atomic_load(&p->state) == VMB_TX_QUEUED ? VMB_SAVE_PKT_QUEUED
								  : VMB_SAVE_PKT_INFLIGHT,
		.xid = ((uint64_t)p->gen << 32) | (uint64_t)(p->slot + 1),
		.send_flags = p->send_flags,
		.inline_len = 0,
		.ext_count = p->ext_count,
		.pfn_count = p->ext_pfn_count,
	};
	uint32_t i;

	if (l.state == VMB_SAVE_PKT_QUEUED)
		l.inline_len = p->len;
	memcpy(at, &l, sizeof(l));
	at += sizeof(l);
	for (i = 0; i < p->ext_count; i++) {
		struct vmb_save_range_v1 r = {
			.byte_count = p->ext[i].byte_count,
			.byte_offset = p->ext[i].byte_offset,
			.pfn_count = vmb_pkt_pages_spanned(p->ext[i].byte_offset, p->ext[i].byte_count),
		};
		memcpy(at, &r, sizeof(r));
		at += sizeof(r);
	}
	memcpy(at, p->ext_pfns, p->ext_pfn_count * 8u);
	at += p->ext_pfn_count * 8u;
	if (l.inline_len)
		memcpy(at, p->buf, l.inline_len);
}

/* Size a packet item: the first call of the two-call negotiation. */
static int
size_packet(struct vmb_channel *ch, struct save_item *it)
{
	uint32_t needed = 0;
	int rc = ch->cfg.save_packet(ch, it->pkt, NULL, 0, &needed);

	if (rc != 0 && rc != -ENOBUFS)
		return rc;
	it->vsp_len = needed;
	it->sized = true;
	return 0;
}

/* Write a packet record at @p at with @p room bytes; returns bytes used, 0 to retry with a new
 * size (the VSP asked for more), or a negative error. */
static long
write_packet(struct vmb_channel *ch, struct save_item *it, uint8_t *at, size_t room)
{
	uint32_t ll = lib_len(it->pkt), got = it->vsp_len;
	struct vmb_save_packet_v1 ph = {.lib_len = ll, .vsp_len = 0};
	uint8_t *v = put_rec(at, VMB_SAVE_TAG_PACKET, 0);
	uint8_t *vsp = v + sizeof(ph) + PAD8(ll);
	int rc;

	(void)room;
	write_lib(it->pkt, v + sizeof(ph));
	if (it->vsp_len) {
		rc = ch->cfg.save_packet(ch, it->pkt, vsp, it->vsp_len, &got);
		if (rc == -ENOBUFS && got > it->vsp_len) {
			it->vsp_len = got; /* re-negotiate: the VSP's state grew */
			return 0;
		}
		if (rc != 0)
			return rc;
		if (got > it->vsp_len)
			return -EPROTO;
		memset(vsp + got, 0, PAD8(it->vsp_len) - got);
	}
	ph.vsp_len = got;
	memcpy(v, &ph, sizeof(ph));
	{
		struct vmb_save_rec_hdr h = {.tag = VMB_SAVE_TAG_PACKET,
					     .flags = VMB_SAVE_REC_CRITICAL,
					     .len = (uint32_t)(sizeof(ph) + PAD8(ll) + got)};
		memcpy(at, &h, sizeof(h));
		return (long)(REC + PAD8(h.len));
	}
}

static size_t
write_item(struct vmb_channel *ch, struct vmb_save_ctx *ctx, const struct save_item *it, uint8_t *at)
{
	switch (it->kind) {
	case ITEM_CHANNEL: {
		struct vmb_save_channel_v1 c = {
			.role = 1,
			.max_packet = ch->cfg.max_packet,
			.max_ext_data = ch->cfg.max_ext_data,
			.max_ext_chain = ch->cfg.max_ext_chain,
			.packets = ctx->packets,
			.completions = ctx->completions,
			.read_cursor = ctx->read_cursor,
			.read_committed = ctx->read_committed,
			.tx_capacity = ch->tx_cap,
		};
		memcpy(c.if_type, ch->cfg.if_type.b, 16);
		memcpy(c.if_instance, ch->cfg.if_instance.b, 16);
		memcpy(put_rec(at, VMB_SAVE_TAG_CHANNEL, sizeof(c)), &c, sizeof(c));
		break;
	}
	case ITEM_COMPLETION: {
		struct vmb_save_completion_v1 c = {.xid = it->tok->pkt.xid, .len = it->tok->comp_len};
		uint8_t *v = put_rec(at, VMB_SAVE_TAG_COMPLETION, sizeof(c) + c.len);
		memcpy(v, &c, sizeof(c));
		memcpy(v + sizeof(c), it->tok->comp_buf, c.len);
		break;
	}
	case ITEM_END: {
		struct vmb_save_end_v1 e = {.packets = ctx->packets, .completions = ctx->completions};
		memcpy(put_rec(at, VMB_SAVE_TAG_END, sizeof(e)), &e, sizeof(e));
		break;
	}
	case ITEM_PACKET:
		break;
	}
	return item_size(it);
}

static void
seal_chunk(struct vmb_save_ctx *ctx, uint8_t *buf, size_t payload, bool last)
{
	struct vmb_save_chunk_hdr h = {
		.magic = VMB_SAVE_MAGIC,
		.major = VMB_SAVE_MAJOR,
		.minor = VMB_SAVE_MINOR,
		.stream_id = ctx->stream_id,
		.seq = ctx->seq,
		.flags = (ctx->seq == 0 ? VMB_SAVE_CHUNK_FIRST : 0) | (last ? VMB_SAVE_CHUNK_LAST : 0),
		.payload_len = (uint32_t)payload,
		.crc = 0,
	};
	memcpy(buf, &h, sizeof(h));
	h.crc = vmb_crc32c(0, buf, HDR + payload);
	memcpy(buf, &h, sizeof(h));
	ctx->seq++;
}

int
vmb_channel_save_continue(struct vmb_channel *ch, void *out, size_t size, size_t *filled,
			  size_t *required)
{
	struct vmb_save_ctx *ctx;
	uint8_t *buf = out;
	size_t used = 0;
	int tries = 0;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (filled == NULL || required == NULL || (size && buf == NULL))
		return -EINVAL;
	*filled = 0;
	*required = 0;
	ctx = ch->save;
	if (ctx == NULL || ctx->done || ctx->failed)
		return -EPERM;
	if (size > UINT32_MAX)
		size = UINT32_MAX; /* payload lengths are 32-bit */

	while (ctx->next < ctx->n) {
		struct save_item *it = &ctx->items[ctx->next];
		size_t need;

		if (it->kind == ITEM_PACKET && !it->sized) {
			int rc = size_packet(ch, it);
			if (rc) {
				ctx->failed = true;
				return rc;
			}
		}
		need = item_size(it);
		if (HDR + used + need > size) {
			*required = HDR + need;
			if (used == 0)
				return -ENOBUFS; /* nothing written */
			seal_chunk(ctx, buf, used, false);
			*filled = HDR + used;
			return -EOVERFLOW;
		}
		if (it->kind == ITEM_PACKET) {
			long got = write_packet(ch, it, buf + HDR + used, size - HDR - used);
			if (got == 0 && ++tries < 4)
				continue; /* re-check the room with the new size */
			if (got <= 0) {
				ctx->failed = true;
				return got == 0 ? -EPROTO : (int)got;
			}
			used += (size_t)got;
		} else {
			used += write_item(ch, ctx, it, buf + HDR + used);
		}
		tries = 0;
		ctx->next++;
	}
	seal_chunk(ctx, buf, used, true);
	*filled = HDR + used;
	ctx->done = true;
	return 0;
}

void
vmb_channel_save_end(struct vmb_channel *ch)
{
	struct vmb_save_ctx *ctx;

	if (!vmb_channel_valid(ch) || ch->save == NULL)
		return;
	ctx = ch->save;
	ch->save = NULL;
	/* A complete save hands the channel's pending state to the stream: from now on this end
	 * must not write to the rings (a successor owns them), until it is started again. */
	if (ctx->done)
		ch->frozen = true;
	free(ctx->items);
	free(ctx);
	vmb_channel_unclaim(ch, false);
}

/* ---- restore ---- */

struct vmb_restore_ctx {
	uint64_t stream_id;
	uint32_t next_seq;
	uint8_t *staged;
	size_t staged_len, staged_cap;
	bool have_channel;
	struct vmb_save_channel_v1 chan;
	uint32_t packets, completions; /* records accepted so far */
	struct vmb_packet **restored;  /* packets re-created while applying (for undo) */
	uint32_t nrestored;
};

static void
restore_ctx_free(struct vmb_restore_ctx *r)
{
	if (r == NULL)
		return;
	free(r->staged);
	free(r->restored);
	free(r);
}

void
vmb_channel_restore_abort(struct vmb_channel *ch)
{
	if (!vmb_channel_valid(ch))
		return;
	restore_ctx_free(ch->restore);
	ch->restore = NULL;
}

int
vmb_save_chunk_info(const void *chunk, size_t size, struct vmb_save_chunk_info *info)
{
	struct vmb_save_chunk_hdr h;
	uint8_t zero[4] = {0};

	if (chunk == NULL || info == NULL || size < HDR)
		return -EMSGSIZE;
	memcpy(&h, chunk, sizeof(h));
	if (h.magic != VMB_SAVE_MAGIC)
		return -EPROTO;
	info->major = h.major;
	info->minor = h.minor;
	info->stream_id = h.stream_id;
	info->seq = h.seq;
	info->flags = h.flags;
	info->payload_len = h.payload_len;
	info->crc = h.crc;
	if ((size_t)h.payload_len + HDR != size) {
		info->crc_ok = 0;
		return -EMSGSIZE;
	}
	{
		uint32_t c = vmb_crc32c(0, chunk, offsetof(struct vmb_save_chunk_hdr, crc));
		c = vmb_crc32c(c, zero, sizeof(zero));
		c = vmb_crc32c(c, (const uint8_t *)chunk + HDR, h.payload_len);
		info->crc_ok = c == h.crc;
	}
	return 0;
}

/* Check the library part of a packet against this channel's limits. */
static int
parse_lib(const struct vmb_channel *ch, const uint8_t *lib, size_t len,
	  struct vmb_save_lib_v1 *out)
{
	struct vmb_save_lib_v1 l;
	uint32_t pfn_cap = ch->cfg.max_ext_data / VMB_PAGE_SIZE + ch->cfg.max_ext_chain;
	uint64_t need, pfns = 0, bytes = 0;
	uint32_t i, slot;

	if (lib == NULL || len < sizeof(l))
		return -EPROTO;
	memcpy(&l, lib, sizeof(l));
	if (l.version != 1 || l.hdr_size < sizeof(l) || l.hdr_size > len)
		return -EPROTO;
	if (l.state != VMB_SAVE_PKT_QUEUED && l.state != VMB_SAVE_PKT_INFLIGHT)
		return -EPROTO;
	if ((l.send_flags & ~VMB_SEND_WAIT_FOR_COMPLETION) ||
	    (l.ext_count && !(l.send_flags & VMB_SEND_WAIT_FOR_COMPLETION)))
		return -EPROTO;
	if (l.state == VMB_SAVE_PKT_INFLIGHT &&
	    (l.inline_len != 0 || !(l.send_flags & VMB_SEND_WAIT_FOR_COMPLETION)))
		return -EPROTO;
	slot = (uint32_t)l.xid - 1;
	if ((uint32_t)l.xid == 0 || slot >= ch->cfg.tx_capacity || (l.xid >> 32) == 0)
		return -EPROTO;
	if (l.inline_len > ch->cfg.max_packet || l.ext_count > ch->cfg.max_ext_chain ||
	    l.pfn_count > pfn_cap)
		return -EPROTO;
	need = (uint64_t)l.hdr_size + (uint64_t)l.ext_count * sizeof(struct vmb_save_range_v1) +
	       (uint64_t)l.pfn_count * 8 + l.inline_len;
	if (need != len)
		return -EPROTO;
	for (i = 0; i < l.ext_count; i++) {
		struct vmb_save_range_v1 r;
		memcpy(&r, lib + l.hdr_size + i * sizeof(r), sizeof(r));
		if (r.byte_count == 0 || r.byte_offset >= VMB_PAGE_SIZE ||
		    r.pfn_count != vmb_pkt_pages_spanned(r.byte_offset, r.byte_count))
			return -EPROTO;
		pfns += r.pfn_count;
		bytes += r.byte_count;
	}
	if (pfns != l.pfn_count || bytes > ch->cfg.max_ext_data)
		return -EPROTO;
	if (out)
		*out = l;
	return 0;
}

/* Walk the records of one chunk payload. With @p apply false: validate only, counting into
 * @p r (a scratch copy). With @p apply true: re-create packets and incoming state. */
static int
walk_records(struct vmb_channel *ch, struct vmb_restore_ctx *r, const uint8_t *p, size_t len,
	     bool first, bool last, bool apply)
{
	size_t off = 0;
	bool saw_end = false;

	while (off < len) {
		struct vmb_save_rec_hdr h;
		const uint8_t *v;

		if (saw_end || len - off < REC)
			return -EPROTO;
		memcpy(&h, p + off, sizeof(h));
		if (h.len > len - off - REC || PAD8(h.len) > len - off - REC)
			return -EPROTO;
		v = p + off + REC;
		if (first && off == 0 && h.tag != VMB_SAVE_TAG_CHANNEL)
			return -EPROTO;
		switch (h.tag) {
		case VMB_SAVE_TAG_CHANNEL: {
			struct vmb_save_channel_v1 c;
			if (r->have_channel || !first || off != 0 || h.len < sizeof(c))
				return -EPROTO;
			memcpy(&c, v, sizeof(c));
			if (c.role != 1)
				return -EPROTO;
			/* A stream from a channel of another interface is foreign. */
			if (memcmp(ch->cfg.if_type.b, (uint8_t[16]){0}, 16) != 0 &&
			    (memcmp(c.if_type, ch->cfg.if_type.b, 16) != 0 ||
			     (ch->cfg.has_instance &&
			      memcmp(c.if_instance, ch->cfg.if_instance.b, 16) != 0)))
				return -EXDEV;
			r->have_channel = true;
			r->chan = c;
			break;
		}
		case VMB_SAVE_TAG_PACKET: {
			struct vmb_save_packet_v1 ph;
			if (h.len < sizeof(ph))
				return -EPROTO;
			memcpy(&ph, v, sizeof(ph));
			if ((uint64_t)sizeof(ph) + PAD8((uint64_t)ph.lib_len) + ph.vsp_len != h.len)
				return -EPROTO;
			if (parse_lib(ch, v + sizeof(ph), ph.lib_len, NULL) != 0)
				return -EPROTO;
			r->packets++;
			if (ch->cfg.restore_packet == NULL)
				return -EPERM; /* only the VSP can re-create its packets */
			if (apply) {
				int rc;
				ch->in_restore_cb = true;
				ch->restored_in_cb = 0;
				rc = ch->cfg.restore_packet(ch, v + sizeof(ph), ph.lib_len,
							    v + sizeof(ph) + PAD8(ph.lib_len),
							    ph.vsp_len);
				ch->in_restore_cb = false;
				if (rc)
					return rc;
				if (ch->restored_in_cb != 1)
					return -EPROTO; /* the VSP did not re-create the packet */
			}
			break;
		}
		case VMB_SAVE_TAG_COMPLETION: {
			struct vmb_save_completion_v1 c;
			if (h.len < sizeof(c))
				return -EPROTO;
			memcpy(&c, v, sizeof(c));
			if ((uint64_t)sizeof(c) + c.len != h.len || c.len > ch->cfg.max_completion)
				return -EPROTO;
			if (apply) {
				struct vmb_rx_restore *rr = ch->rx_restore;
				uint32_t i = rr->count;
				rr->xid[i] = c.xid;
				rr->len[i] = c.len;
				rr->data[i] = malloc(c.len ? c.len : 1);
				if (rr->data[i] == NULL)
					return -ENOMEM;
				memcpy(rr->data[i], v + sizeof(c), c.len);
				rr->count++;
			}
			r->completions++;
			break;
		}
		case VMB_SAVE_TAG_END: {
			struct vmb_save_end_v1 e;
			if (!last || h.len < sizeof(e) || !r->have_channel)
				return -EPROTO;
			memcpy(&e, v, sizeof(e));
			/* Totals catch a stream that lost records yet kept its framing. */
			if (e.packets != r->packets || e.completions != r->completions ||
			    e.packets != r->chan.packets || e.completions != r->chan.completions)
				return -EPROTO;
			saw_end = true;
			break;
		}
		default:
			if (h.flags & VMB_SAVE_REC_CRITICAL)
				return -ENOTSUP; /* a newer build's record we must not ignore */
			break;
		}
		off += REC + PAD8(h.len);
	}
	if (last && !saw_end)
		return -EPROTO;
	return 0;
}

/* Retire every packet re-created while applying, through its completion routine with
 * -ECANCELED (the VSP drops its per-transaction state as for any cancelled transaction): the
 * channel is as it was before the stream. The channel was fresh, so these are all it has. */
static void
undo_restore(struct vmb_channel *ch, struct vmb_restore_ctx *r)
{
	uint32_t i;

	for (i = 0; i < r->nrestored; i++)
		r->restored[i]->restored = false;
	vmb_tx_cancel_all(ch, -ECANCELED);
	vmb_rx_restore_free(ch->rx_restore);
	ch->rx_restore = NULL;
}

static int
apply(struct vmb_channel *ch, struct vmb_restore_ctx *r)
{
	struct vmb_restore_ctx scratch = {0};
	struct vmb_rx_restore *rr;
	int rc;

	r->restored = calloc(r->packets ? r->packets : 1, sizeof(*r->restored));
	rr = calloc(1, sizeof(*rr));
	if (r->restored == NULL || rr == NULL) {
		free(rr);
		return -ENOMEM;
	}
	rr->cursor = r->chan.read_cursor;
	rr->xid = calloc(r->completions + 1, sizeof(*rr->xid));
	rr->len = calloc(r->completions + 1, sizeof(*rr->len));
	rr->data = calloc(r->completions + 1, sizeof(*rr->data));
	ch->rx_restore = rr;
	if (rr->xid == NULL || rr->len == NULL || rr->data == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/* The staged payloads are the chunks' payloads back to back; each begins with a record,
	 * so one walk over the concatenation applies them in stream order. */
	rc = walk_records(ch, &scratch, r->staged, r->staged_len, true, true, true);
	if (rc)
		goto fail;
	/* Nothing consumed on the incoming ring (never opened, or saved while not open): the
	 * indices in guest memory tell everything. */
	if (rr->cursor == VMB_NONE && rr->count == 0) {
		vmb_rx_restore_free(rr);
		ch->rx_restore = NULL;
	}
	return 0;
fail:
	undo_restore(ch, r);
	return rc;
}

int
vmb_channel_restore(struct vmb_channel *ch, const void *chunk, size_t size)
{
	struct vmb_save_chunk_info info;
	struct vmb_restore_ctx *r, scratch;
	const uint8_t *payload;
	bool first, last;
	int rc;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (!ch->is_server)
		return -ENOTSUP;
	if (atomic_load(&ch->state) != VMB_CHANNEL_DISABLED || ch->linked ||
	    atomic_load(&ch->tx_pending) != 0 || ch->rx_restore != NULL)
		return -EPERM;
	if (chunk == NULL)
		return -EINVAL;
	rc = vmb_save_chunk_info(chunk, size, &info);
	if (rc)
		return rc;
	if (info.major != VMB_SAVE_MAJOR)
		return -ENOTSUP;
	if (!info.crc_ok)
		return -EBADMSG;
	first = info.flags & VMB_SAVE_CHUNK_FIRST;
	last = info.flags & VMB_SAVE_CHUNK_LAST;
	r = ch->restore;
	if (r == NULL) {
		if (!first || info.seq != 0)
			return -EILSEQ; /* the stream must start with its first chunk */
	} else {
		if (info.stream_id != r->stream_id)
			return -EXDEV;
		if (first || info.seq != r->next_seq)
			return -EILSEQ; /* duplicated or out of order */
	}
	payload = (const uint8_t *)chunk + HDR;

	/* Validate the whole chunk on a scratch copy of the progress before accepting it. */
	if (r)
		scratch = *r;
	else
		memset(&scratch, 0, sizeof(scratch));
	rc = walk_records(ch, &scratch, payload, info.payload_len, first, last, false);
	if (rc)
		return rc;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		r->stream_id = info.stream_id;
	}
	if (r->staged_len + info.payload_len > r->staged_cap) {
		size_t cap = (r->staged_len + info.payload_len) * 2;
		uint8_t *n = realloc(r->staged, cap ? cap : 1);
		if (n == NULL) {
			if (ch->restore == NULL)
				restore_ctx_free(r);
			return -ENOMEM;
		}
		r->staged = n;
		r->staged_cap = cap;
	}
	/* An empty chunk stages nothing (r->staged may still be NULL: no pointer arithmetic). */
	if (info.payload_len)
		memcpy(r->staged + r->staged_len, payload, info.payload_len);
	r->staged_len += info.payload_len;
	r->next_seq = info.seq + 1;
	r->have_channel = scratch.have_channel;
	r->chan = scratch.chan;
	r->packets = scratch.packets;
	r->completions = scratch.completions;
	ch->restore = r;
	if (!last)
		return -EINPROGRESS;

	rc = apply(ch, r);
	ch->restore = NULL;
	restore_ctx_free(r);
	return rc;
}

int
vmb_packet_restore(struct vmb_packet *p, const void *lib, size_t size)
{
	struct vmb_save_lib_v1 l;
	struct vmb_channel *ch;
	struct vmb_restore_ctx *r;
	const uint8_t *at;
	uint32_t slot, i, used = 0;
	int rc;

	if (!vmb_packet_valid(p))
		return -EBADF;
	ch = p->ch;
	r = ch->restore;
	/* One packet per restore callback, on an idle packet. */
	if (!ch->in_restore_cb || r == NULL || ch->restored_in_cb != 0 ||
	    atomic_load(&p->state) != VMB_TX_IDLE)
		return -EPERM;
	rc = parse_lib(ch, lib, size, &l);
	if (rc)
		return rc;
	slot = (uint32_t)l.xid - 1;
	if (slot != p->slot) {
		/* The transaction keeps its id: move the packet object into the saved slot. */
		struct vmb_packet *expected = NULL;
		uint32_t high = atomic_load(&ch->tx_high);
		if (!atomic_compare_exchange_strong(&ch->tx_slots[slot], &expected, p))
			return -EEXIST;
		atomic_store(&ch->tx_slots[p->slot], NULL);
		atomic_store(&ch->tx_hint, p->slot);
		while (slot >= high && !atomic_compare_exchange_weak(&ch->tx_high, &high, slot + 1))
			;
		p->slot = slot;
	}
	p->gen = (uint32_t)(l.xid >> 32);
	ch->tx_gen[slot] = p->gen;
	p->send_flags = l.send_flags;
	at = (const uint8_t *)lib + l.hdr_size;
	memcpy(p->ext_pfns, at + l.ext_count * sizeof(struct vmb_save_range_v1), l.pfn_count * 8u);
	for (i = 0; i < l.ext_count; i++) {
		struct vmb_save_range_v1 rg;
		memcpy(&rg, at + i * sizeof(rg), sizeof(rg));
		p->ext[i].byte_count = rg.byte_count;
		p->ext[i].byte_offset = rg.byte_offset;
		p->ext[i].pfns = &p->ext_pfns[used];
		used += rg.pfn_count;
	}
	p->ext_count = l.ext_count;
	p->ext_pfn_count = l.pfn_count;
	p->len = l.inline_len;
	if (l.inline_len)
		memcpy(p->buf, at + l.ext_count * sizeof(struct vmb_save_range_v1) + l.pfn_count * 8u,
		       l.inline_len);
	p->copied = l.state == VMB_SAVE_PKT_QUEUED;
	p->restored = true;
	atomic_fetch_add(&ch->tx_pending, 1);
	if (l.state == VMB_SAVE_PKT_QUEUED)
		vmb_tx_enqueue(ch, p);
	else
		atomic_store(&p->state, VMB_TX_INFLIGHT);
	r->restored[r->nrestored++] = p;
	ch->restored_in_cb++;
	return 0;
}
