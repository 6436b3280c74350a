/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Packet decoding (with the validation a reader owes to a hostile peer) and the encoders of the
 * packets that carry range tables. Inband and completion encoders are inline in vmb_packet.h.
 */
#include <vmb/vmb_packet.h>

/* Wire sizes of the fixed parts of the type headers (after the 16-byte descriptor). */
#define GPA_HDR_LEN 24u  /* descriptor + u32 reserved + u32 range_count */
#define XFER_HDR_LEN 24u /* descriptor + u16 set_id + u8 sender_owns + u8 rsvd + u32 range_count */
#define GPA_RANGE_HDR 8u /* u32 byte_count + u32 byte_offset, then u64 pfn[] */
#define XFER_RANGE_LEN 8u

_Static_assert(sizeof(struct vmbus_chanpkt_sglist) == GPA_HDR_LEN, "GPA header layout");
_Static_assert(sizeof(struct vmbus_chanpkt_rxbuf) == XFER_HDR_LEN, "XFER header layout");
_Static_assert(sizeof(struct vmbus_rxbuf_desc) == XFER_RANGE_LEN, "XFER range layout");


const char *
vmb_pkt_error_str(enum vmb_pkt_error e)
{
	switch (e) {
	case VMB_PKT_OK:
		return "ok";
	case VMB_PKT_EBADTYPE:
		return "packet type not allowed";
	case VMB_PKT_EBADFLAGS:
		return "unknown packet flags";
	case VMB_PKT_EHDR:
		return "type header does not fit in offset8";
	case VMB_PKT_ERANGES:
		return "range table inconsistent with offset8 or over limit";
	case VMB_PKT_EGPA:
		return "page range outside guest memory or malformed";
	}
	return "unknown";
}

static inline uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static enum vmb_pkt_error
decode_gpa(const uint8_t *b, uint32_t hdr_len, const struct vmb_pkt_limits *lim, struct vmb_pkt *out,
	   struct vmb_pkt_ranges *rg)
{
	uint32_t count, off = GPA_HDR_LEN, i, pfn_total = 0;

	if (hdr_len < GPA_HDR_LEN)
		return VMB_PKT_EHDR;
	count = rd32(b + 20);
	if (count == 0 || count > lim->max_ranges || rg == NULL || rg->gpa == NULL)
		return VMB_PKT_ERANGES;
	/* Each range needs at least its 8-byte header and one page number. */
	if ((uint64_t)count * (GPA_RANGE_HDR + 8) > hdr_len - GPA_HDR_LEN)
		return VMB_PKT_ERANGES;
	out->ext_bytes = 0;
	for (i = 0; i < count; i++) {
		uint32_t len, ofs, pages, j;

		if (off + GPA_RANGE_HDR > hdr_len)
			return VMB_PKT_ERANGES;
		len = rd32(b + off);
		ofs = rd32(b + off + 4);
		off += GPA_RANGE_HDR;
		if (len == 0 || ofs >= VMB_PAGE_SIZE)
			return VMB_PKT_EGPA;
		pages = vmb_pkt_pages_spanned(ofs, len);
		if ((uint64_t)pages * 8 > hdr_len - off || pfn_total + pages > lim->max_pfns ||
		    rg->pfns == NULL)
			return VMB_PKT_ERANGES;
		for (j = 0; j < pages; j++) {
			uint64_t pfn = rd64(b + off + 8 * j);
			if (lim->guest_pages && pfn >= lim->guest_pages)
				return VMB_PKT_EGPA;
			rg->pfns[pfn_total + j] = pfn;
		}
		rg->gpa[i].byte_count = len;
		rg->gpa[i].byte_offset = ofs;
		rg->gpa[i].pfn_count = pages;
		rg->gpa[i].first_pfn = pfn_total;
		pfn_total += pages;
		off += pages * 8;
		out->ext_bytes += len;
	}
	if (off != hdr_len)
		return VMB_PKT_ERANGES;
	out->range_count = count;
	out->pfn_count = pfn_total;
	return VMB_PKT_OK;
}

static enum vmb_pkt_error
decode_xfer(const uint8_t *b, uint32_t hdr_len, const struct vmb_pkt_limits *lim, struct vmb_pkt *out,
	    struct vmb_pkt_ranges *rg)
{
	uint32_t count, i;

	if (hdr_len < XFER_HDR_LEN)
		return VMB_PKT_EHDR;
	out->xfer_set_id = (uint16_t)(b[16] | (b[17] << 8));
	out->xfer_sender_owns = b[18];
	count = rd32(b + 20);
	if (count > lim->max_ranges || (count && (rg == NULL || rg->xfer == NULL)))
		return VMB_PKT_ERANGES;
	if ((uint64_t)XFER_HDR_LEN + (uint64_t)count * XFER_RANGE_LEN != hdr_len)
		return VMB_PKT_ERANGES;
	out->ext_bytes = 0;
	for (i = 0; i < count; i++) {
		const uint8_t *r = b + XFER_HDR_LEN + i * XFER_RANGE_LEN;
		rg->xfer[i].byte_count = rd32(r);
		rg->xfer[i].byte_offset = rd32(r + 4);
		out->ext_bytes += rg->xfer[i].byte_count;
	}
	out->range_count = count;
	return VMB_PKT_OK;
}

enum vmb_pkt_error
vmb_pkt__decode_full(const struct vmb_ring_pkt *rp, const struct vmb_pkt_limits *lim,
		     struct vmb_pkt *out, struct vmb_pkt_ranges *ranges)
{
	/* rp->desc is the reader's private copy; the ring already checked 2 <= hlen <= tlen and
	 * that tlen*8 bytes are available. */
	uint32_t types = lim->types_allowed ? lim->types_allowed : VMB_PKT_TYPES_DEFAULT;
	uint32_t hdr_len = vmb_pkt__init(rp, out);
	uint16_t type = rp->desc.type;

	if (type >= 32 || !(types & (1u << type)))
		return VMB_PKT_EBADTYPE;
	if (out->flags & ~VMB_PKT_FLAGS_KNOWN)
		return VMB_PKT_EBADFLAGS;
	switch (type) {
	case VMB_PKT_GPA_DIRECT:
		return decode_gpa(rp->bytes, hdr_len, lim, out, ranges);
	case VMB_PKT_XFER_PAGES:
		return decode_xfer(rp->bytes, hdr_len, lim, out, ranges);
	default:
		/* INBAND / COMPLETION: a plain descriptor; a longer header is legal but carries
		 * nothing we know, so it is skipped. */
		return VMB_PKT_OK;
	}
}

uint32_t
vmb_pkt_gpa_direct_len(const struct vmb_gpa_range_out *ranges, uint32_t nranges, uint32_t payload_len)
{
	uint64_t len = GPA_HDR_LEN;
	uint32_t i;

	if (nranges == 0)
		return 0;
	for (i = 0; i < nranges; i++) {
		if (ranges[i].byte_count == 0 || ranges[i].byte_offset >= VMB_PAGE_SIZE)
			return 0;
		len += GPA_RANGE_HDR +
		       8ull * vmb_pkt_pages_spanned(ranges[i].byte_offset, ranges[i].byte_count);
	}
	len += ((uint64_t)payload_len + VMB_RING_ALIGN - 1) & ~(uint64_t)(VMB_RING_ALIGN - 1);
	/* offset8 and len8 are 16-bit counts of 8-byte units */
	return len > 0xFFFFull * 8 ? 0 : (uint32_t)len;
}

uint32_t
vmb_pkt_xfer_pages_len(uint32_t nranges, uint32_t payload_len)
{
	uint64_t len = XFER_HDR_LEN + (uint64_t)nranges * XFER_RANGE_LEN;
	len += ((uint64_t)payload_len + VMB_RING_ALIGN - 1) & ~(uint64_t)(VMB_RING_ALIGN - 1);
	return len > 0xFFFFull * 8 ? 0 : (uint32_t)len;
}

static void
put_desc(const struct vmb_ring_span *s, uint16_t type, uint16_t flags, uint64_t xid, uint32_t hdr_len,
	 uint32_t pkt_len)
{
	struct vmbus_chanpkt_hdr h = {
		.type = type,
		.hlen = (uint16_t)(hdr_len >> VMBUS_CHANPKT_SIZE_SHIFT),
		.tlen = (uint16_t)(pkt_len >> VMBUS_CHANPKT_SIZE_SHIFT),
		.flags = flags,
		.xactid = xid,
	};
	vmb_ring_span_copy(s, 0, &h, sizeof(h));
}

static void
put_payload(const struct vmb_ring_span *s, uint32_t off, const void *payload, uint32_t len,
	    uint32_t pkt_len)
{
	if (len)
		vmb_ring_span_copy(s, off, payload, len);
	if (off + len != pkt_len)
		vmb_ring_span_zero(s, off + len, pkt_len - off - len);
}

enum vmb_ring_status
vmb_pkt_write_gpa_direct(struct vmb_ring_writer *w, uint64_t xid, uint16_t flags,
			 const struct vmb_gpa_range_out *ranges, uint32_t nranges, const void *payload,
			 uint32_t len)
{
	uint32_t pkt_len = vmb_pkt_gpa_direct_len(ranges, nranges, len);
	uint32_t off = 16, i;
	struct vmb_ring_span s;
	enum vmb_ring_status st;
	uint32_t words[2];

	if (pkt_len == 0)
		return VMB_RING_TOO_LARGE;
	st = vmb_ring_reserve(w, pkt_len, &s);
	if (st != VMB_RING_OK)
		return st;
	words[0] = 0;
	words[1] = nranges;
	vmb_ring_span_copy(&s, off, words, sizeof(words));
	off += sizeof(words);
	for (i = 0; i < nranges; i++) {
		uint32_t pages = vmb_pkt_pages_spanned(ranges[i].byte_offset, ranges[i].byte_count);
		words[0] = ranges[i].byte_count;
		words[1] = ranges[i].byte_offset;
		vmb_ring_span_copy(&s, off, words, sizeof(words));
		off += sizeof(words);
		vmb_ring_span_copy(&s, off, ranges[i].pfns, pages * 8);
		off += pages * 8;
	}
	put_desc(&s, VMB_PKT_GPA_DIRECT, flags, xid, off, pkt_len);
	put_payload(&s, off, payload, len, pkt_len);
	return VMB_RING_OK;
}

enum vmb_ring_status
vmb_pkt_write_xfer_pages(struct vmb_ring_writer *w, uint64_t xid, uint16_t flags, uint16_t set_id,
			 const struct vmb_xfer_range *ranges, uint32_t nranges, const void *payload,
			 uint32_t len)
{
	uint32_t pkt_len = vmb_pkt_xfer_pages_len(nranges, len);
	uint32_t hdr_len = XFER_HDR_LEN + nranges * XFER_RANGE_LEN;
	struct vmb_ring_span s;
	enum vmb_ring_status st;
	uint8_t fixed[8];

	if (pkt_len == 0)
		return VMB_RING_TOO_LARGE;
	st = vmb_ring_reserve(w, pkt_len, &s);
	if (st != VMB_RING_OK)
		return st;
	put_desc(&s, VMB_PKT_XFER_PAGES, flags, xid, hdr_len, pkt_len);
	fixed[0] = (uint8_t)set_id;
	fixed[1] = (uint8_t)(set_id >> 8);
	fixed[2] = 0; /* sender_owns */
	fixed[3] = 0;
	memcpy(fixed + 4, &nranges, 4);
	vmb_ring_span_copy(&s, 16, fixed, sizeof(fixed));
	if (nranges)
		vmb_ring_span_copy(&s, XFER_HDR_LEN, ranges, nranges * XFER_RANGE_LEN);
	put_payload(&s, hdr_len, payload, len, pkt_len);
	return VMB_RING_OK;
}
