/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * libFuzzer target: vmb_pkt_decode() on arbitrary descriptors and packet bytes, under
 * arbitrary limits.
 *
 * Input: 8 bytes of limits (u8 mode, u8 max_ranges, u8 max_pfns, u8 guest_pages / 16,
 * u32 types_allowed), the reader's private descriptor copy (16 bytes), with mode bit 0 a
 * different shared copy of the descriptor (16 bytes: a peer that rewrote it after the reader
 * copied it), then the rest of the packet. The ring's own guarantees are kept (2 <= offset8 <=
 * len8, len8 * 8 bytes present: missing bytes are zero). Packet bytes and range tables live in
 * exact-size heap blocks, so any access outside them is an ASan report.
 *
 * Checks on an accepted packet: every decoded field is consistent with the limits and the
 * bytes, and re-encoding the decoded packet with the library's writers reproduces the input
 * bytes (reserved fields aside), which a second read and decode return unchanged.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmb/vmb_packet.h>

#include "fuzz_common.h"

#define MODE_TOCTOU 0x1u    /* shared descriptor differs from the private copy */
#define MODE_NO_RANGES 0x2u /* pass ranges == NULL */

/* Scratch ring for the re-encoding check: fits the largest packet (len8 is 16-bit). */
#define REENC_RING (528u * 1024u)

static struct fz_flat_ring reenc;

static void
check_decoded(const struct vmb_ring_pkt *rp, const struct vmb_pkt_limits *lim,
	      const struct vmb_pkt *pk, const struct vmb_pkt_ranges *rg)
{
	uint32_t hdr = (uint32_t)rp->desc.hlen * 8, i, pfns = 0;
	uint32_t types = lim->types_allowed ? lim->types_allowed
					    : (1u << VMB_PKT_INBAND) | (1u << VMB_PKT_XFER_PAGES) |
						      (1u << VMB_PKT_GPA_DIRECT) |
						      (1u << VMB_PKT_COMPLETION);
	uint64_t bytes = 0;

	FZ_CHECK(pk->type == rp->desc.type && pk->flags == rp->desc.flags &&
		 pk->xid == rp->desc.xactid);
	FZ_CHECK(pk->type < 32 && (types & (1u << pk->type)));
	FZ_CHECK((pk->flags & ~VMB_PKT_FLAGS_KNOWN) == 0);
	FZ_CHECK(pk->payload == rp->bytes + hdr && pk->payload_len == rp->len - hdr);
	FZ_CHECK(pk->range_count <= lim->max_ranges && pk->pfn_count <= lim->max_pfns);
	if (pk->type == VMB_PKT_GPA_DIRECT) {
		FZ_CHECK(pk->range_count >= 1);
		for (i = 0; i < pk->range_count; i++) {
			const struct vmb_gpa_range *g = &rg->gpa[i];
			uint32_t j;

			FZ_CHECK(g->byte_count > 0 && g->byte_offset < VMB_PAGE_SIZE);
			FZ_CHECK(g->pfn_count == vmb_pkt_pages_spanned(g->byte_offset, g->byte_count));
			FZ_CHECK(g->first_pfn == pfns);
			for (j = 0; j < g->pfn_count; j++)
				FZ_CHECK(lim->guest_pages == 0 ||
					 rg->pfns[g->first_pfn + j] < lim->guest_pages);
			pfns += g->pfn_count;
			bytes += g->byte_count;
		}
		FZ_CHECK(pfns == pk->pfn_count && bytes == pk->ext_bytes);
	} else if (pk->type == VMB_PKT_XFER_PAGES) {
		for (i = 0; i < pk->range_count; i++)
			bytes += rg->xfer[i].byte_count;
		FZ_CHECK(bytes == pk->ext_bytes && pk->pfn_count == 0);
	} else {
		FZ_CHECK(pk->range_count == 0 && pk->pfn_count == 0 && pk->ext_bytes == 0);
	}
}

/* Re-encode an accepted packet; false when the library has no encoder for this shape. */
static bool
reencode(const struct vmb_ring_pkt *rp, const struct vmb_pkt *pk, const struct vmb_pkt_ranges *rg,
	 struct vmb_ring_writer *w)
{
	enum vmb_ring_status st;
	uint32_t i;

	switch (pk->type) {
	case VMB_PKT_GPA_DIRECT: {
		struct vmb_gpa_range_out *out = malloc(pk->range_count * sizeof(*out));
		FZ_CHECK(out != NULL);
		for (i = 0; i < pk->range_count; i++) {
			out[i].byte_count = rg->gpa[i].byte_count;
			out[i].byte_offset = rg->gpa[i].byte_offset;
			out[i].pfns = &rg->pfns[rg->gpa[i].first_pfn];
		}
		FZ_CHECK(vmb_pkt_gpa_direct_len(out, pk->range_count, pk->payload_len) == rp->len);
		st = vmb_pkt_write_gpa_direct(w, pk->xid, pk->flags, out, pk->range_count,
					      pk->payload, pk->payload_len);
		free(out);
		break;
	}
	case VMB_PKT_XFER_PAGES:
		FZ_CHECK(vmb_pkt_xfer_pages_len(pk->range_count, pk->payload_len) == rp->len);
		st = vmb_pkt_write_xfer_pages(w, pk->xid, pk->flags, pk->xfer_set_id, rg->xfer,
					      pk->range_count, pk->payload, pk->payload_len);
		break;
	default:
		if (rp->desc.hlen != VMBUS_CHANPKT_HLEN_MIN)
			return false; /* a longer plain header: no encoder writes one */
		{
			struct iovec v = {.iov_base = (void *)(uintptr_t)pk->payload,
					  .iov_len = pk->payload_len};
			st = vmb_pkt_write_simple_v(w, pk->type, pk->flags, pk->xid, &v,
						    pk->payload_len ? 1 : 0);
		}
		break;
	}
	FZ_CHECK(st == VMB_RING_OK);
	return true;
}

/* Bytes of the packet as an encoder writes them: the shared descriptor replaced by the private
 * one (what was validated), reserved and sender-owned fields zero. */
static void
canonical(const struct vmb_ring_pkt *rp, uint8_t *out)
{
	memcpy(out, rp->bytes, rp->len);
	memcpy(out, &rp->desc, sizeof(rp->desc));
	if (rp->desc.type == VMB_PKT_GPA_DIRECT)
		memset(out + 16, 0, 4); /* reserved */
	else if (rp->desc.type == VMB_PKT_XFER_PAGES)
		memset(out + 18, 0, 2); /* sender_owns, reserved */
}

static void
roundtrip(const struct vmb_ring_pkt *rp, const struct vmb_pkt_limits *lim, const struct vmb_pkt *pk,
	  const struct vmb_pkt_ranges *rg)
{
	struct vmb_ring_writer w;
	struct vmb_ring_reader r;
	struct vmb_ring_pkt rp2;
	struct vmb_pkt pk2;
	struct vmb_pkt_ranges rg2 = {0};
	uint8_t *want;

	vmb_ring_format(reenc.m.ctl);
	FZ_CHECK(vmb_ring_writer_attach(&w, &reenc.m) == VMB_RING_OK);
	if (!reencode(rp, pk, rg, &w))
		return;
	vmb_ring_write_commit(&w);
	FZ_CHECK(vmb_ring_reader_attach(&r, &reenc.m, reenc.bounce, reenc.bounce_size) ==
		 VMB_RING_OK);
	FZ_CHECK(vmb_ring_read(&r, &rp2) == VMB_RING_OK);
	FZ_CHECK(rp2.len == rp->len && rp2.start == 0);
	want = malloc(rp->len);
	FZ_CHECK(want != NULL);
	canonical(rp, want);
	FZ_CHECK(memcmp(rp2.bytes, want, rp->len) == 0);
	free(want);

	if (lim->max_ranges) {
		rg2.gpa = malloc(lim->max_ranges * sizeof(*rg2.gpa));
		rg2.xfer = malloc(lim->max_ranges * sizeof(*rg2.xfer));
	}
	if (lim->max_pfns)
		rg2.pfns = malloc(lim->max_pfns * sizeof(*rg2.pfns));
	FZ_CHECK(vmb_pkt_decode(&rp2, lim, &pk2, &rg2) == VMB_PKT_OK);
	FZ_CHECK(pk2.type == pk->type && pk2.flags == pk->flags && pk2.xid == pk->xid &&
		 pk2.payload_len == pk->payload_len && pk2.range_count == pk->range_count &&
		 pk2.pfn_count == pk->pfn_count && pk2.ext_bytes == pk->ext_bytes &&
		 pk2.xfer_set_id == pk->xfer_set_id);
	FZ_CHECK(memcmp(pk2.payload, pk->payload, pk->payload_len) == 0);
	if (pk->type == VMB_PKT_GPA_DIRECT) {
		FZ_CHECK(memcmp(rg2.gpa, rg->gpa, pk->range_count * sizeof(*rg->gpa)) == 0);
		FZ_CHECK(memcmp(rg2.pfns, rg->pfns, pk->pfn_count * sizeof(*rg->pfns)) == 0);
	} else if (pk->type == VMB_PKT_XFER_PAGES && pk->range_count) {
		FZ_CHECK(memcmp(rg2.xfer, rg->xfer, pk->range_count * sizeof(*rg->xfer)) == 0);
	}
	free(rg2.gpa);
	free(rg2.xfer);
	free(rg2.pfns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	struct vmb_pkt_limits lim;
	struct vmb_pkt_ranges rg = {0};
	struct vmb_ring_pkt rp;
	struct vmb_pkt pk;
	enum vmb_pkt_error err;
	uint8_t mode, *bytes;
	uint32_t len;

	if (reenc.m.ctl == NULL)
		fz_flat_ring_init(&reenc, REENC_RING);

	mode = fz_u8(&in);
	lim.max_ranges = fz_u8(&in);
	lim.max_pfns = fz_u8(&in);
	lim.guest_pages = (uint64_t)fz_u8(&in) * 16;
	lim.types_allowed = fz_u32(&in);

	memset(&rp, 0, sizeof(rp));
	fz_take(&in, &rp.desc, sizeof(rp.desc));
	/* What the ring reader guarantees before a packet reaches the decoder. */
	if (rp.desc.hlen < VMBUS_CHANPKT_HLEN_MIN || rp.desc.hlen > rp.desc.tlen)
		return -1; /* not a packet vmb_ring_read() returns: keep it out of the corpus */
	len = (uint32_t)rp.desc.tlen * 8;
	bytes = malloc(len);
	FZ_CHECK(bytes != NULL);
	if (mode & MODE_TOCTOU) {
		fz_take(&in, bytes, 16);
		fz_take(&in, bytes + 16, len - 16);
	} else {
		memcpy(bytes, &rp.desc, 16);
		fz_take(&in, bytes + 16, len - 16);
	}
	rp.bytes = bytes;
	rp.len = len;
	rp.start = 0;
	rp.end = len + 8;

	if (!(mode & MODE_NO_RANGES)) {
		/* Exact capacities: a write past the limits lands outside the block. */
		if (lim.max_ranges) {
			rg.gpa = malloc(lim.max_ranges * sizeof(*rg.gpa));
			rg.xfer = malloc(lim.max_ranges * sizeof(*rg.xfer));
		}
		if (lim.max_pfns)
			rg.pfns = malloc(lim.max_pfns * sizeof(*rg.pfns));
	}
	err = vmb_pkt_decode(&rp, &lim, &pk, (mode & MODE_NO_RANGES) ? NULL : &rg);
	FZ_CHECK(err >= VMB_PKT_OK && err <= VMB_PKT_EGPA);
	FZ_CHECK(vmb_pkt_error_str(err) != NULL);
	if (err == VMB_PKT_OK) {
		check_decoded(&rp, &lim, &pk, &rg);
		roundtrip(&rp, &lim, &pk, &rg);
	}
	free(rg.gpa);
	free(rg.xfer);
	free(rg.pfns);
	free(bytes);
	return 0;
}
