/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_PACKET_H
#define VMB_PACKET_H

/**
 * @file
 * VMBus channel packets: encoding into a ring writer and decoding of what a ring reader found.
 *
 * Types (descriptor `type`): INBAND 0x6 (payload inline), XFER_PAGES 0x7 (payload in a
 * pre-shared buffer, named by byte ranges), GPA_DIRECT 0x9 (payload in guest pages named by page
 * ranges: zero copy), COMPLETION 0xB (answer to a packet that asked for one, same transaction id).
 * Flag 0x1 (VMBUS_CHANPKT_FLAG_RC) asks for a completion.
 *
 * Decoding reads every field of the shared packet once into the caller's structures and
 * validates it (known type and flags, type header inside offset8, range counts consistent with
 * offset8, page numbers inside guest memory). Range tables are copied out, so the peer cannot
 * change them after validation. The payload itself stays in shared memory (zero copy): its
 * meaning belongs to the protocol above, which must read it once too.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <vmb/vmb_ring.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Packet types (values from rte_vmbus_reg.h, named here for completeness). */
#define VMB_PKT_INBAND VMBUS_CHANPKT_TYPE_INBAND
#define VMB_PKT_XFER_PAGES VMBUS_CHANPKT_TYPE_RXBUF
#define VMB_PKT_GPA_DIRECT VMBUS_CHANPKT_TYPE_GPA
#define VMB_PKT_COMPLETION VMBUS_CHANPKT_TYPE_COMP
/** Descriptor flag: the sender asks for a completion packet. */
#define VMB_PKT_FLAG_RC VMBUS_CHANPKT_FLAG_RC
/** All descriptor flags this implementation knows. */
#define VMB_PKT_FLAGS_KNOWN VMB_PKT_FLAG_RC
/** Types a reader accepts when its limits say 0: the four modern ones. */
#define VMB_PKT_TYPES_DEFAULT                                                                   \
	((1u << VMB_PKT_INBAND) | (1u << VMB_PKT_XFER_PAGES) | (1u << VMB_PKT_GPA_DIRECT) |      \
	 (1u << VMB_PKT_COMPLETION))

/** Guest page size: page numbers (PFNs) address 4 KiB pages. */
#define VMB_PAGE_SIZE 4096u
#define VMB_PAGE_SHIFT 12

/** One byte range inside a transfer-page set (XFER_PAGES). */
struct vmb_xfer_range {
	uint32_t byte_count;
	uint32_t byte_offset;
};

/** One GPA range (GPA_DIRECT): @p byte_count bytes starting @p byte_offset into the first of
 *  @p pfn_count pages, whose numbers are pfns[first_pfn .. first_pfn + pfn_count). */
struct vmb_gpa_range {
	uint32_t byte_count;
	uint32_t byte_offset;
	uint32_t pfn_count;
	uint32_t first_pfn;
};

/** Sender's description of one GPA range (page numbers by pointer). */
struct vmb_gpa_range_out {
	uint32_t byte_count;
	uint32_t byte_offset; /**< < 4096 */
	const uint64_t *pfns; /**< ceil((byte_offset + byte_count) / 4096) entries */
};

/** Limits a reader applies while decoding (hostile-input policy). */
struct vmb_pkt_limits {
	uint32_t types_allowed;  /**< bit (1 << type) per accepted type; 0 = the four modern types */
	uint32_t max_ranges;     /**< capacity of the caller's range array */
	uint32_t max_pfns;       /**< capacity of the caller's pfn array */
	uint64_t guest_pages;    /**< GPA_DIRECT page numbers must be below this (0: no check) */
};

/** Decoded packet. Range tables live in the caller's arrays given to vmb_pkt_decode(). */
struct vmb_pkt {
	uint16_t type;
	uint16_t flags;
	uint64_t xid;               /**< transaction id */
	const uint8_t *payload;     /**< after the type header (offset8 * 8); in the ring */
	uint32_t payload_len;       /**< len8*8 - offset8*8 (includes the sender's padding) */
	uint32_t range_count;       /**< XFER_PAGES / GPA_DIRECT ranges */
	uint32_t pfn_count;         /**< GPA_DIRECT total page numbers */
	uint16_t xfer_set_id;       /**< XFER_PAGES transfer-page set id */
	uint8_t xfer_sender_owns;   /**< XFER_PAGES sender_owns byte */
	uint64_t ext_bytes;         /**< total bytes named by the ranges */
};

/** Where vmb_pkt_decode() puts copied range tables. NULL arrays with capacity 0: ranges are
 *  validated but not copied (the range_count must then be 0). */
struct vmb_pkt_ranges {
	struct vmb_xfer_range *xfer; /**< XFER_PAGES ranges (capacity limits->max_ranges) */
	struct vmb_gpa_range *gpa;   /**< GPA_DIRECT ranges (capacity limits->max_ranges) */
	uint64_t *pfns;              /**< GPA_DIRECT page numbers (capacity limits->max_pfns) */
};

/** Why a packet was refused. */
enum vmb_pkt_error {
	VMB_PKT_OK = 0,
	VMB_PKT_EBADTYPE,    /**< type not allowed */
	VMB_PKT_EBADFLAGS,   /**< unknown flag bits */
	VMB_PKT_EHDR,        /**< type header does not fit in offset8 */
	VMB_PKT_ERANGES,     /**< range count/sizes inconsistent with offset8, or over the limit */
	VMB_PKT_EGPA,        /**< a page number outside guest memory, or a bad byte offset/count */
};

/** Human-readable name of a decode error. */
const char *vmb_pkt_error_str(enum vmb_pkt_error e);

/** Pages spanned by @p byte_count bytes at @p byte_offset within a first page. */
static inline uint32_t
vmb_pkt_pages_spanned(uint32_t byte_offset, uint32_t byte_count)
{
	uint64_t end = (uint64_t)(byte_offset & (VMB_PAGE_SIZE - 1)) + byte_count;
	return (uint32_t)((end + VMB_PAGE_SIZE - 1) >> VMB_PAGE_SHIFT);
}

/**
 * Decode and validate a packet the ring reader returned.
 * @param ranges  where to copy range tables (may be NULL when the limits allow no ranges).
 * @return VMB_PKT_OK with @p out filled, or the reason for refusal (the peer is broken: the
 *         caller poisons the channel).
 */
/* The descriptor fields of a decoded packet, from the reader's private copy; no ranges yet.
 * @return the type header's length in bytes. Internal to vmb_pkt_decode(). */
static inline uint32_t
vmb_pkt__init(const struct vmb_ring_pkt *rp, struct vmb_pkt *out)
{
	uint32_t hdr_len = (uint32_t)rp->desc.hlen << VMBUS_CHANPKT_SIZE_SHIFT;

	out->type = rp->desc.type;
	out->flags = rp->desc.flags;
	out->xid = rp->desc.xactid;
	out->payload = rp->bytes + hdr_len;
	out->payload_len = rp->len - hdr_len;
	out->range_count = 0;
	out->pfn_count = 0;
	out->xfer_set_id = 0;
	out->xfer_sender_owns = 0;
	out->ext_bytes = 0;
	return hdr_len;
}

static inline enum vmb_pkt_error vmb_pkt_decode(const struct vmb_ring_pkt *rp,
						const struct vmb_pkt_limits *lim, struct vmb_pkt *out,
						struct vmb_pkt_ranges *ranges);

/** Out-of-line part of vmb_pkt_decode() (every type; range tables). Use vmb_pkt_decode(). */
enum vmb_pkt_error vmb_pkt__decode_full(const struct vmb_ring_pkt *rp,
					const struct vmb_pkt_limits *lim, struct vmb_pkt *out,
					struct vmb_pkt_ranges *ranges);

static inline enum vmb_pkt_error
vmb_pkt_decode(const struct vmb_ring_pkt *rp, const struct vmb_pkt_limits *lim, struct vmb_pkt *out,
	       struct vmb_pkt_ranges *ranges)
{
	uint16_t type = rp->desc.type;
	uint32_t types = lim->types_allowed ? lim->types_allowed : VMB_PKT_TYPES_DEFAULT;

	/* Fast path: inband and completion packets have no type header to check. */
	if ((type == VMB_PKT_INBAND || type == VMB_PKT_COMPLETION) && (types & (1u << type)) &&
	    !(rp->desc.flags & ~VMB_PKT_FLAGS_KNOWN)) {
		vmb_pkt__init(rp, out);
		return VMB_PKT_OK;
	}
	return vmb_pkt__decode_full(rp, lim, out, ranges);
}

/** Total on-ring length (trailer excluded) of an inband/completion packet of @p payload_len. */
static inline uint32_t
vmb_pkt_inband_len(uint32_t payload_len)
{
	return (uint32_t)sizeof(struct vmbus_chanpkt_hdr) +
	       ((payload_len + VMB_RING_ALIGN - 1) & ~(VMB_RING_ALIGN - 1));
}

/**
 * Write an INBAND (or COMPLETION, by @p type) packet with a gathered payload. Not committed.
 * @return ring status (OK, FULL, TOO_LARGE, CORRUPT).
 */
static inline __attribute__((always_inline)) enum vmb_ring_status
vmb_pkt_write_simple_v(struct vmb_ring_writer *w, uint16_t type, uint16_t flags, uint64_t xid,
		       const struct iovec *payload, unsigned int n)
{
	struct vmb_ring_span s;
	enum vmb_ring_status st;
	uint64_t plen = 0;
	uint32_t pkt_len, off;
	unsigned int i;

	for (i = 0; i < n; i++)
		plen += payload[i].iov_len;
	/* len8 is 16 bits: descriptor + padded payload must stay <= 0xFFFF * 8 bytes */
	if (plen > 0xFFFF * 8u - sizeof(struct vmbus_chanpkt_hdr))
		return VMB_RING_TOO_LARGE;
	pkt_len = vmb_pkt_inband_len((uint32_t)plen);
	st = vmb_ring_reserve(w, pkt_len, &s);
	if (st != VMB_RING_OK)
		return st;
	{
		/* The descriptor as two 8-byte stores (type, hlen, tlen, flags; then xactid), in the
		 * wire's little-endian order: a 16-byte struct copy through the stack stalls store
		 * forwarding on the hot path. */
		uint64_t w0 = (uint64_t)type | (uint64_t)VMBUS_CHANPKT_HLEN_MIN << 16 |
			      (uint64_t)(pkt_len >> VMBUS_CHANPKT_SIZE_SHIFT) << 32 |
			      (uint64_t)flags << 48;
		vmb_ring_span_copy(&s, 0, &w0, sizeof(w0));
		vmb_ring_span_copy(&s, sizeof(w0), &xid, sizeof(xid));
	}
	off = (uint32_t)sizeof(struct vmbus_chanpkt_hdr);
	for (i = 0; i < n; i++) {
		vmb_ring_span_copy(&s, off, payload[i].iov_base, (uint32_t)payload[i].iov_len);
		off += (uint32_t)payload[i].iov_len;
	}
	if (off != pkt_len)
		vmb_ring_span_zero(&s, off, pkt_len - off);
	return VMB_RING_OK;
}

/** Write one INBAND packet. Not committed. See vmb_pkt_write_simple_v(). */
static inline __attribute__((always_inline)) enum vmb_ring_status
vmb_pkt_write_inband(struct vmb_ring_writer *w, uint64_t xid, uint16_t flags, const void *payload,
		     uint32_t len)
{
	struct iovec v = {.iov_base = (void *)(uintptr_t)payload, .iov_len = len};
	return vmb_pkt_write_simple_v(w, VMB_PKT_INBAND, flags, xid, &v, len ? 1 : 0);
}

/** Write one COMPLETION packet answering transaction @p xid. Not committed. */
static inline enum vmb_ring_status
vmb_pkt_write_completion(struct vmb_ring_writer *w, uint64_t xid, const void *payload, uint32_t len)
{
	struct iovec v = {.iov_base = (void *)(uintptr_t)payload, .iov_len = len};
	return vmb_pkt_write_simple_v(w, VMB_PKT_COMPLETION, 0, xid, &v, len ? 1 : 0);
}

/**
 * Write one GPA_DIRECT packet: @p nranges page ranges (zero copy) followed by an inline
 * payload (the protocol message describing them). Not committed.
 * @return ring status; VMB_RING_TOO_LARGE also for an unencodable range list.
 */
enum vmb_ring_status vmb_pkt_write_gpa_direct(struct vmb_ring_writer *w, uint64_t xid, uint16_t flags,
					      const struct vmb_gpa_range_out *ranges, uint32_t nranges,
					      const void *payload, uint32_t len);

/**
 * Write one XFER_PAGES packet: @p nranges byte ranges in transfer-page set @p set_id, followed by
 * an inline payload. Not committed.
 */
enum vmb_ring_status vmb_pkt_write_xfer_pages(struct vmb_ring_writer *w, uint64_t xid, uint16_t flags,
					      uint16_t set_id, const struct vmb_xfer_range *ranges,
					      uint32_t nranges, const void *payload, uint32_t len);

/** On-ring length (trailer excluded) of a GPA_DIRECT packet; 0 if unencodable. */
uint32_t vmb_pkt_gpa_direct_len(const struct vmb_gpa_range_out *ranges, uint32_t nranges,
				uint32_t payload_len);

/** On-ring length (trailer excluded) of an XFER_PAGES packet; 0 if unencodable. */
uint32_t vmb_pkt_xfer_pages_len(uint32_t nranges, uint32_t payload_len);

#ifdef __cplusplus
}
#endif

#endif /* VMB_PACKET_H */
