/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * NVSP, the Hyper-V network VSP protocol that netvsc (guest) and netvsp (host) speak in the
 * inband payload of VMBus packets: version negotiation, receive and send (chimney) buffer
 * hand-over, RNDIS message announcements, subchannels and the send indirection table. Wire
 * layouts only (packed, little endian, checked by size); no logic.
 */
#ifndef VMB_NVSP_H
#define VMB_NVSP_H

/**
 * @file
 * NVSP wire protocol.
 *
 * Every message starts with a 32-bit type. Guests send each request padded to
 * #NVSP_MSG_SIZE bytes (the size of the largest message of protocol 6.1); readers must accept
 * any length that covers the fields they read and ignore the rest. The host answers a request
 * that asks for a completion with a VMBus COMPLETION packet carrying the response message
 * (same transaction id). RNDIS messages travel announced by #NVSP_MSG_RNDIS: inline in a
 * send-buffer section, as GPA ranges (guest to host), or as transfer-page ranges of the
 * receive buffer (host to guest).
 *
 * Sources of the facts: DPDK drivers/net/netvsc/hn_nvs.h (BSD-3-Clause), OpenVMM
 * vm/devices/net/netvsp/src/protocol.rs (MIT).
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Protocol versions (major << 16 | minor; 1 predates that encoding)
 * @{ */
#define NVSP_VERSION_1 0x00002u
#define NVSP_VERSION_2 0x30002u
#define NVSP_VERSION_4 0x40000u
#define NVSP_VERSION_5 0x50000u
#define NVSP_VERSION_6 0x60000u
#define NVSP_VERSION_61 0x60001u
/** @} */

/** @name Message types
 * @{ */
#define NVSP_MSG_INIT 1u               /**< guest: version range; completion: #NVSP_MSG_INIT_RESP */
#define NVSP_MSG_INIT_RESP 2u          /**< host: outcome of #NVSP_MSG_INIT */
#define NVSP_MSG_NDIS_INIT 100u        /**< guest: NDIS version it speaks (no response) */
#define NVSP_MSG_RXBUF_CONN 101u       /**< guest: receive buffer GPADL */
#define NVSP_MSG_RXBUF_CONN_RESP 102u  /**< host: receive buffer layout */
#define NVSP_MSG_RXBUF_DISCONN 103u    /**< guest: revoke the receive buffer */
#define NVSP_MSG_CHIM_CONN 104u        /**< guest: send (chimney) buffer GPADL */
#define NVSP_MSG_CHIM_CONN_RESP 105u   /**< host: send buffer section size */
#define NVSP_MSG_CHIM_DISCONN 106u     /**< guest: revoke the send buffer */
#define NVSP_MSG_RNDIS 107u            /**< either side: one or more RNDIS messages */
#define NVSP_MSG_RNDIS_ACK 108u        /**< completion of #NVSP_MSG_RNDIS */
#define NVSP_MSG_NDIS_CONF 125u        /**< guest (>= 2): MTU and capabilities (no response) */
#define NVSP_MSG_VF_ASSOC 128u         /**< host (>= 4): a VF is (not) available */
#define NVSP_MSG_SET_DATAPATH 129u     /**< guest (>= 4): route traffic via VF or synthetic */
#define NVSP_MSG_SUBCH 133u            /**< guest (>= 5) request and host response */
#define NVSP_MSG_INDIRECTION_TABLE 134u /**< host (>= 5): send indirection table */
/** @} */

/** @name Status values in responses
 * @{ */
#define NVSP_STATUS_NONE 0u
#define NVSP_STATUS_OK 1u
#define NVSP_STATUS_FAILED 2u
/** @} */

/** Receive buffer id ("signature") a guest gives in #NVSP_MSG_RXBUF_CONN; the host repeats it
 *  as the transfer-page set id of every receive packet. */
#define NVSP_RXBUF_SIG 0xCAFEu
/** Send buffer id of DPDK and FreeBSD guests (Linux guests send 0). */
#define NVSP_CHIM_SIG 0xFACEu
/** #nvsp_rndis.chim_idx when the RNDIS message is not in a send-buffer section. */
#define NVSP_CHIM_IDX_NONE 0xFFFFFFFFu

/** @name #nvsp_rndis.channel_type
 * @{ */
#define NVSP_RNDIS_DATA 0u /**< RNDIS PACKET messages */
#define NVSP_RNDIS_CTRL 1u /**< RNDIS control messages and their completions */
/** @} */

/** #nvsp_subch_req.op: allocate subchannels. */
#define NVSP_SUBCH_OP_ALLOC 1u

/** @name #nvsp_ndis_conf.caps bits
 * @{ */
#define NVSP_NDIS_CONF_VMQ 0x1ull
#define NVSP_NDIS_CONF_CHIMNEY 0x2ull
#define NVSP_NDIS_CONF_SRIOV 0x4ull /**< the guest can use a VF (sent from version 5) */
#define NVSP_NDIS_CONF_VLAN 0x8ull  /**< IEEE 802.1Q tags travel as per-packet info */
#define NVSP_NDIS_CONF_CORRELATION_ID 0x10ull
#define NVSP_NDIS_CONF_TEAMING 0x20ull
#define NVSP_NDIS_CONF_VSUBNET_ID 0x40ull
#define NVSP_NDIS_CONF_RSC 0x80ull
/** @} */

/** @name #nvsp_set_datapath.active_path
 * @{ */
#define NVSP_DATAPATH_SYNTHETIC 0u
#define NVSP_DATAPATH_VF 1u
/** @} */

/** Size of every request a 6.1 guest sends (type + largest body), and of the responses a 6.1
 *  host sends (Windows guests expect the padding). */
#define NVSP_MSG_SIZE 40u
/** The same before protocol 6.1. */
#define NVSP_MSG_SIZE_V1 28u
/** Entries of the send indirection table (#NVSP_MSG_INDIRECTION_TABLE); fixed by the wire. */
#define NVSP_INDIRECTION_ENTRIES 16u

#define NVSP_PACKED __attribute__((packed))

#ifndef VMB_WIRE_ASSERT
/** Compile-time check of a wire layout (C11 and C++). */
#ifdef __cplusplus
#define VMB_WIRE_ASSERT(cond, what) static_assert(cond, what)
#else
#define VMB_WIRE_ASSERT(cond, what) _Static_assert(cond, what)
#endif
#endif

/** Common header: the message type. */
struct nvsp_hdr {
	uint32_t type; /**< NVSP_MSG_* */
} NVSP_PACKED;

/** #NVSP_MSG_INIT: the guest offers the versions in [ver_min, ver_max] (guests in practice
 *  try one version per message, newest first). */
struct nvsp_init {
	uint32_t type;
	uint32_t ver_min;
	uint32_t ver_max;
	uint8_t rsvd[28];
} NVSP_PACKED;

/** #NVSP_MSG_INIT_RESP. */
struct nvsp_init_resp {
	uint32_t type;
	uint32_t ver;    /**< deprecated: 0xFFFFFFFF, or #NVSP_VERSION_1 when that was chosen */
	uint32_t rsvd;   /**< maximum MDL chain length in Windows hosts (34); guests ignore it */
	uint32_t status; /**< #NVSP_STATUS_OK or a failure */
} NVSP_PACKED;

/** #NVSP_MSG_NDIS_CONF (version >= 2, sent before #NVSP_MSG_NDIS_INIT; no response). */
struct nvsp_ndis_conf {
	uint32_t type;
	uint32_t mtu;  /**< largest frame without FCS: the guest's MTU + 14 */
	uint32_t rsvd;
	uint64_t caps; /**< NVSP_NDIS_CONF_* */
	uint8_t rsvd1[20];
} NVSP_PACKED;

/** #NVSP_MSG_NDIS_INIT (no response). */
struct nvsp_ndis_init {
	uint32_t type;
	uint32_t ndis_major; /**< 6 */
	uint32_t ndis_minor; /**< 1 (NVSP <= 4) or 30 */
	uint8_t rsvd[28];
} NVSP_PACKED;

/** #NVSP_MSG_RXBUF_CONN. */
struct nvsp_rxbuf_conn {
	uint32_t type;
	uint32_t gpadl; /**< GPADL of the whole receive buffer */
	uint16_t sig;   /**< buffer id, #NVSP_RXBUF_SIG */
	uint8_t rsvd[30];
} NVSP_PACKED;

/** One section of the receive buffer: @p slot_count slots of @p slot_size bytes from byte
 *  @p start to @p end. */
struct nvsp_rxbuf_sect {
	uint32_t start;
	uint32_t slot_size;
	uint32_t slot_count;
	uint32_t end;
} NVSP_PACKED;

/** #NVSP_MSG_RXBUF_CONN_RESP. Guests accept exactly one section starting at 0. */
struct nvsp_rxbuf_conn_resp {
	uint32_t type;
	uint32_t status;
	uint32_t nsect;
	struct nvsp_rxbuf_sect sect[1];
} NVSP_PACKED;

/** #NVSP_MSG_RXBUF_DISCONN (no response). */
struct nvsp_rxbuf_disconn {
	uint32_t type;
	uint16_t sig; /**< the id given at connect */
	uint8_t rsvd[34];
} NVSP_PACKED;

/** #NVSP_MSG_CHIM_CONN. */
struct nvsp_chim_conn {
	uint32_t type;
	uint32_t gpadl; /**< GPADL of the whole send buffer */
	uint16_t sig;   /**< buffer id: #NVSP_CHIM_SIG (DPDK, FreeBSD) or 0 (Linux) */
	uint8_t rsvd[30];
} NVSP_PACKED;

/** #NVSP_MSG_CHIM_CONN_RESP: the host chooses the section size. */
struct nvsp_chim_conn_resp {
	uint32_t type;
	uint32_t status;
	uint32_t section_size; /**< bytes; non-zero multiple of 4 (DPDK refuses others) */
} NVSP_PACKED;

/** #NVSP_MSG_CHIM_DISCONN (no response). */
struct nvsp_chim_disconn {
	uint32_t type;
	uint16_t sig;
	uint8_t rsvd[34];
} NVSP_PACKED;

/** #NVSP_MSG_SUBCH request (version >= 5). */
struct nvsp_subch_req {
	uint32_t type;
	uint32_t op;     /**< #NVSP_SUBCH_OP_ALLOC */
	uint32_t nsubch; /**< subchannels wanted (queues - 1) */
	uint8_t rsvd[28];
} NVSP_PACKED;

/** #NVSP_MSG_SUBCH response (same type value as the request). DPDK reads all 40 bytes. */
struct nvsp_subch_resp {
	uint32_t type;
	uint32_t status;
	uint32_t nsubch; /**< subchannels granted */
	uint8_t rsvd[28];
} NVSP_PACKED;

/** #NVSP_MSG_RNDIS: announces RNDIS message(s), completed by #NVSP_MSG_RNDIS_ACK. */
struct nvsp_rndis {
	uint32_t type;
	uint32_t channel_type; /**< #NVSP_RNDIS_DATA or #NVSP_RNDIS_CTRL */
	uint32_t chim_idx;     /**< send-buffer section, or #NVSP_CHIM_IDX_NONE */
	uint32_t chim_size;    /**< bytes used in that section (0 with #NVSP_CHIM_IDX_NONE) */
	uint8_t rsvd[24];
} NVSP_PACKED;

/** #NVSP_MSG_RNDIS_ACK (payload of the completion of #NVSP_MSG_RNDIS). */
struct nvsp_rndis_ack {
	uint32_t type;
	uint32_t status;
	uint8_t rsvd[32];
} NVSP_PACKED;

/** #NVSP_MSG_VF_ASSOC (host to guest, version >= 4, guest has #NVSP_NDIS_CONF_SRIOV). */
struct nvsp_vf_assoc {
	uint32_t type;
	uint32_t allocated; /**< 1: a VF with @p serial is available; 0: none */
	uint32_t serial;
} NVSP_PACKED;

/** #NVSP_MSG_SET_DATAPATH (guest to host, version >= 4; completed with an empty payload). */
struct nvsp_set_datapath {
	uint32_t type;
	uint32_t active_path; /**< NVSP_DATAPATH_* */
	uint8_t rsvd[32];
} NVSP_PACKED;

/** #NVSP_MSG_INDIRECTION_TABLE (host to guest, version >= 5, no completion): @p count uint32
 *  channel numbers follow at byte @p offset from the start of this message (the message type
 *  field). Hosts send #NVSP_INDIRECTION_ENTRIES entries right after this header (offset 12). */
struct nvsp_indirection_table {
	uint32_t type;
	uint32_t count;
	uint32_t offset;
} NVSP_PACKED;

VMB_WIRE_ASSERT(sizeof(struct nvsp_hdr) == 4, "nvsp_hdr");
VMB_WIRE_ASSERT(sizeof(struct nvsp_init) == NVSP_MSG_SIZE, "nvsp_init");
VMB_WIRE_ASSERT(sizeof(struct nvsp_init_resp) == 16, "nvsp_init_resp");
VMB_WIRE_ASSERT(sizeof(struct nvsp_ndis_conf) == NVSP_MSG_SIZE, "nvsp_ndis_conf");
VMB_WIRE_ASSERT(offsetof(struct nvsp_ndis_conf, caps) == 12, "nvsp_ndis_conf.caps");
VMB_WIRE_ASSERT(sizeof(struct nvsp_ndis_init) == NVSP_MSG_SIZE, "nvsp_ndis_init");
VMB_WIRE_ASSERT(sizeof(struct nvsp_rxbuf_conn) == NVSP_MSG_SIZE, "nvsp_rxbuf_conn");
VMB_WIRE_ASSERT(sizeof(struct nvsp_rxbuf_sect) == 16, "nvsp_rxbuf_sect");
VMB_WIRE_ASSERT(sizeof(struct nvsp_rxbuf_conn_resp) == NVSP_MSG_SIZE_V1, "nvsp_rxbuf_conn_resp");
VMB_WIRE_ASSERT(sizeof(struct nvsp_rxbuf_disconn) == NVSP_MSG_SIZE, "nvsp_rxbuf_disconn");
VMB_WIRE_ASSERT(sizeof(struct nvsp_chim_conn) == NVSP_MSG_SIZE, "nvsp_chim_conn");
VMB_WIRE_ASSERT(sizeof(struct nvsp_chim_conn_resp) == 12, "nvsp_chim_conn_resp");
VMB_WIRE_ASSERT(sizeof(struct nvsp_chim_disconn) == NVSP_MSG_SIZE, "nvsp_chim_disconn");
VMB_WIRE_ASSERT(sizeof(struct nvsp_subch_req) == NVSP_MSG_SIZE, "nvsp_subch_req");
VMB_WIRE_ASSERT(sizeof(struct nvsp_subch_resp) == NVSP_MSG_SIZE, "nvsp_subch_resp");
VMB_WIRE_ASSERT(sizeof(struct nvsp_rndis) == NVSP_MSG_SIZE, "nvsp_rndis");
VMB_WIRE_ASSERT(sizeof(struct nvsp_rndis_ack) == NVSP_MSG_SIZE, "nvsp_rndis_ack");
VMB_WIRE_ASSERT(sizeof(struct nvsp_vf_assoc) == 12, "nvsp_vf_assoc");
VMB_WIRE_ASSERT(sizeof(struct nvsp_set_datapath) == NVSP_MSG_SIZE, "nvsp_set_datapath");
VMB_WIRE_ASSERT(sizeof(struct nvsp_indirection_table) == 12, "nvsp_indirection_table");

#ifdef __cplusplus
}
#endif

#endif /* VMB_NVSP_H */
