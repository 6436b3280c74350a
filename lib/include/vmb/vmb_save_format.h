/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_SAVE_FORMAT_H
#define VMB_SAVE_FORMAT_H

/**
 * @file
 * Bytes of a channel save stream (format 1.0), little endian. Prose: doc/save-format.md.
 *
 * stream = chunk+; chunk = header (32 bytes) + payload; payload = record*;
 * record = header (8 bytes) + value, padded to 8 bytes.
 *
 * Compatibility rules: a reader refuses a different major version; reads the known prefix of a
 * record value and ignores extra bytes (a newer build may append fields); skips records with an
 * unknown tag unless they are marked critical, which it refuses.
 */

#include <stdint.h>

#define VMB_SAVE_MAGIC 0x53424d56u /* "VMBS" */
#define VMB_SAVE_MAJOR 1u
#define VMB_SAVE_MINOR 0u

/** Chunk header. crc = CRC32C over the header (crc field zero) and the payload. */
struct vmb_save_chunk_hdr {
	uint32_t magic;
	uint16_t major;
	uint16_t minor;
	uint64_t stream_id;   /**< random per save; all chunks of a stream carry it */
	uint32_t seq;         /**< 0, 1, 2, ... */
	uint32_t flags;       /**< VMB_SAVE_CHUNK_FIRST (seq 0) | VMB_SAVE_CHUNK_LAST */
	uint32_t payload_len; /**< bytes after this header */
	uint32_t crc;
} __attribute__((packed));

/** Record header. */
struct vmb_save_rec_hdr {
	uint16_t tag;
	uint16_t flags; /**< VMB_SAVE_REC_CRITICAL */
	uint32_t len;   /**< value bytes (padding excluded) */
} __attribute__((packed));

#define VMB_SAVE_REC_CRITICAL 0x1u

enum vmb_save_tag {
	VMB_SAVE_TAG_CHANNEL = 1,    /**< first record of the first chunk */
	VMB_SAVE_TAG_PACKET = 2,     /**< one pending outgoing packet object */
	VMB_SAVE_TAG_COMPLETION = 3, /**< a completion owed to the peer, not yet in the ring */
	VMB_SAVE_TAG_END = 4,        /**< last record of the last chunk: totals */
};

/** VMB_SAVE_TAG_CHANNEL value. */
struct vmb_save_channel_v1 {
	uint32_t role;           /**< 1 = server */
	uint32_t max_packet;
	uint32_t max_ext_data;
	uint32_t max_ext_chain;
	uint8_t if_type[16];
	uint8_t if_instance[16];
	uint32_t packets;        /**< PACKET records that follow */
	uint32_t completions;    /**< COMPLETION records that follow */
	uint32_t read_cursor;    /**< incoming ring offset up to which packets were consumed */
	uint32_t read_committed; /**< read_index published when saved */
	uint32_t tx_capacity;
	uint32_t reserved;
} __attribute__((packed));

/** VMB_SAVE_TAG_PACKET value: this, then lib_len bytes of the library part (padded to 8), then
 *  vsp_len bytes of the VSP's part. */
struct vmb_save_packet_v1 {
	uint32_t lib_len;
	uint32_t vsp_len;
} __attribute__((packed));

/** Library part of a packet (the KMCL "LibBuf"): this header (hdr_size bytes; newer builds may
 *  make it longer), ext_count ranges, pfn_count page numbers, inline_len message bytes. */
struct vmb_save_lib_v1 {
	uint16_t version;     /**< 1 */
	uint16_t hdr_size;    /**< >= sizeof(struct vmb_save_lib_v1) */
	uint32_t state;       /**< VMB_SAVE_PKT_QUEUED or VMB_SAVE_PKT_INFLIGHT */
	uint64_t xid;         /**< transaction id on the wire */
	uint32_t send_flags;  /**< VMB_SEND_* */
	uint32_t inline_len;  /**< message bytes carried (queued packets only) */
	uint32_t ext_count;   /**< GPA ranges (external data, by page number: never the bytes) */
	uint32_t pfn_count;
} __attribute__((packed));

#define VMB_SAVE_PKT_QUEUED 1u   /**< waiting for ring space: sent after restore */
#define VMB_SAVE_PKT_INFLIGHT 2u /**< in the ring, awaiting the peer's completion */

/** One external-data range in the library part. */
struct vmb_save_range_v1 {
	uint32_t byte_count;
	uint32_t byte_offset;
	uint32_t pfn_count;
	uint32_t reserved;
} __attribute__((packed));

/** VMB_SAVE_TAG_COMPLETION value, then len payload bytes. */
struct vmb_save_completion_v1 {
	uint64_t xid;
	uint32_t len;
	uint32_t reserved;
} __attribute__((packed));

/** VMB_SAVE_TAG_END value. */
struct vmb_save_end_v1 {
	uint32_t packets;
	uint32_t completions;
} __attribute__((packed));

#endif /* VMB_SAVE_FORMAT_H */
