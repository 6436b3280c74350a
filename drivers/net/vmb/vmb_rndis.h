/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * RNDIS and the NDIS objects Hyper-V network guests exchange with their host, as they appear
 * on the wire: message layouts, status codes, the OIDs netvsc guests query and set, packet
 * filter bits, per-packet-info types. Plus the data-path helpers every frame goes through:
 * rndis_pkt_parse() (validates a PACKET message from hostile memory) and rndis_pkt_build()
 * (writes the header and per-packet info in front of a frame). Plain C, no dependencies.
 */
#ifndef VMB_RNDIS_H
#define VMB_RNDIS_H

/**
 * @file
 * RNDIS wire protocol and data-path helpers.
 *
 * Every RNDIS message starts with {type, len}; len counts the whole message. Offsets inside
 * messages are NOT counted from the message start:
 * - PACKET (#rndis_packet_msg): data_offset, oob_offset and ppi_offset count from the
 *   data_offset field, i.e. from byte #RNDIS_PKT_OFFSET_BASE (8) of the message.
 * - QUERY/SET requests and QUERY completions: infobuf_offset counts from the rid field, byte
 *   #RNDIS_INFOBUF_OFFSET_BASE (8).
 * - INDICATE_STATUS: stbuf_offset counts from the status field, byte 8.
 * - Inside a per-packet-info element (#rndis_ppi), offset counts from the element's start.
 * - Inside NDIS objects (RSS parameters), offsets count from the object's start.
 *
 * NDIS objects use natural alignment (Windows layout); the structs below spell the padding.
 *
 * Sources of the facts: DPDK drivers/net/netvsc/rndis.h, ndis.h, hn_rndis.c, hn_rxtx.c
 * (BSD-3-Clause); OpenVMM vm/devices/net/netvsp/src/rndisprot.rs and lib.rs (MIT).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Message types (completions set bit 31)
 * @{ */
#define RNDIS_MSG_COMPLETION 0x80000000u
#define RNDIS_MSG_PACKET 0x00000001u
#define RNDIS_MSG_INIT 0x00000002u
#define RNDIS_MSG_INIT_C 0x80000002u
#define RNDIS_MSG_HALT 0x00000003u /**< no completion */
#define RNDIS_MSG_QUERY 0x00000004u
#define RNDIS_MSG_QUERY_C 0x80000004u
#define RNDIS_MSG_SET 0x00000005u
#define RNDIS_MSG_SET_C 0x80000005u
#define RNDIS_MSG_RESET 0x00000006u
#define RNDIS_MSG_RESET_C 0x80000006u
#define RNDIS_MSG_INDICATE 0x00000007u /**< device to host: status indication */
#define RNDIS_MSG_KEEPALIVE 0x00000008u
#define RNDIS_MSG_KEEPALIVE_C 0x80000008u
/** @} */

/** @name Status codes (NDIS_STATUS values)
 * @{ */
#define RNDIS_STATUS_SUCCESS 0x00000000u
#define RNDIS_STATUS_PENDING 0x00000103u
#define RNDIS_STATUS_MEDIA_CONNECT 0x4001000Bu
#define RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000Cu
#define RNDIS_STATUS_LINK_SPEED_CHANGE 0x40010013u
#define RNDIS_STATUS_NETWORK_CHANGE 0x40010018u
#define RNDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG 0x40020006u
#define RNDIS_STATUS_FAILURE 0xC0000001u
#define RNDIS_STATUS_RESOURCES 0xC000009Au
#define RNDIS_STATUS_NOT_SUPPORTED 0xC00000BBu
#define RNDIS_STATUS_BAD_VERSION 0xC0010004u
#define RNDIS_STATUS_MULTICAST_FULL 0xC0010009u
#define RNDIS_STATUS_ADAPTER_NOT_READY 0xC0010011u
#define RNDIS_STATUS_INVALID_LENGTH 0xC0010014u
#define RNDIS_STATUS_INVALID_DATA 0xC0010015u
#define RNDIS_STATUS_BUFFER_TOO_SHORT 0xC0010016u
#define RNDIS_STATUS_INVALID_OID 0xC0010017u
/** @} */

/** @name INIT completion values
 * @{ */
#define RNDIS_VERSION_MAJOR 1u
#define RNDIS_VERSION_MINOR 0u
#define RNDIS_DF_CONNECTIONLESS 0x1u
#define RNDIS_MEDIUM_802_3 0u
/** @} */

/** @name OIDs. Queried by netvsc guests: PERMANENT_ADDRESS, MAXIMUM_FRAME_SIZE (read as the
 *  MTU), LINK_SPEED (100 bps units), MEDIA_CONNECT_STATUS, TCP_OFFLOAD_HARDWARE_CAPABILITIES,
 *  RECEIVE_SCALE_CAPABILITIES. Set: CURRENT_PACKET_FILTER, TCP_OFFLOAD_PARAMETERS,
 *  RECEIVE_SCALE_PARAMETERS, RNDIS_CONFIG_PARAMETER (Linux, MAC change).
 * @{ */
#define OID_GEN_SUPPORTED_LIST 0x00010101u
#define OID_GEN_HARDWARE_STATUS 0x00010102u
#define OID_GEN_MEDIA_SUPPORTED 0x00010103u
#define OID_GEN_MEDIA_IN_USE 0x00010104u
#define OID_GEN_MAXIMUM_LOOKAHEAD 0x00010105u
#define OID_GEN_MAXIMUM_FRAME_SIZE 0x00010106u /**< u32: MTU (frame without header) */
#define OID_GEN_LINK_SPEED 0x00010107u         /**< u32: units of 100 bit/s */
#define OID_GEN_TRANSMIT_BUFFER_SPACE 0x00010108u
#define OID_GEN_RECEIVE_BUFFER_SPACE 0x00010109u
#define OID_GEN_TRANSMIT_BLOCK_SIZE 0x0001010Au
#define OID_GEN_RECEIVE_BLOCK_SIZE 0x0001010Bu
#define OID_GEN_VENDOR_ID 0x0001010Cu
#define OID_GEN_VENDOR_DESCRIPTION 0x0001010Du
#define OID_GEN_CURRENT_PACKET_FILTER 0x0001010Eu /**< u32: NDIS_PACKET_TYPE_* */
#define OID_GEN_CURRENT_LOOKAHEAD 0x0001010Fu
#define OID_GEN_DRIVER_VERSION 0x00010110u        /**< u16: NDIS major << 8 | minor */
#define OID_GEN_MAXIMUM_TOTAL_SIZE 0x00010111u
#define OID_GEN_MAC_OPTIONS 0x00010113u
#define OID_GEN_MEDIA_CONNECT_STATUS 0x00010114u  /**< u32: NDIS_MEDIA_STATE_* */
#define OID_GEN_MAXIMUM_SEND_PACKETS 0x00010115u
#define OID_GEN_VENDOR_DRIVER_VERSION 0x00010116u /**< u32: major << 16 | minor */
#define OID_GEN_NETWORK_LAYER_ADDRESSES 0x00010118u
#define OID_GEN_TRANSPORT_HEADER_OFFSET 0x00010119u
#define OID_GEN_RECEIVE_SCALE_CAPABILITIES 0x00010203u /**< #ndis_rss_caps */
#define OID_GEN_RECEIVE_SCALE_PARAMETERS 0x00010204u   /**< #ndis_rss_params + table + key */
#define OID_GEN_RNDIS_CONFIG_PARAMETER 0x0001021Bu     /**< #rndis_config_param */
#define OID_802_3_PERMANENT_ADDRESS 0x01010101u
#define OID_802_3_CURRENT_ADDRESS 0x01010102u
#define OID_802_3_MULTICAST_LIST 0x01010103u /**< n * 6 bytes */
#define OID_802_3_MAXIMUM_LIST_SIZE 0x01010104u
#define OID_OFFLOAD_ENCAPSULATION 0x0101010Au
#define OID_TCP_OFFLOAD_CURRENT_CONFIG 0xFC01020Bu
#define OID_TCP_OFFLOAD_PARAMETERS 0xFC01020Cu            /**< #ndis_offload_params */
#define OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES 0xFC01020Du /**< #ndis_offload */
/** @} */

/** @name OID_GEN_MEDIA_CONNECT_STATUS values
 * @{ */
#define NDIS_MEDIA_STATE_CONNECTED 0u
#define NDIS_MEDIA_STATE_DISCONNECTED 1u
/** @} */

/** @name OID_GEN_MAC_OPTIONS bits
 * @{ */
#define NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA 0x1u
#define NDIS_MAC_OPTION_TRANSFERS_NOT_PEND 0x4u
#define NDIS_MAC_OPTION_NO_LOOPBACK 0x8u
/** @} */

/** @name Packet filter bits (OID_GEN_CURRENT_PACKET_FILTER)
 * @{ */
#define NDIS_PACKET_TYPE_NONE 0x00000000u
#define NDIS_PACKET_TYPE_DIRECTED 0x00000001u
#define NDIS_PACKET_TYPE_MULTICAST 0x00000002u
#define NDIS_PACKET_TYPE_ALL_MULTICAST 0x00000004u
#define NDIS_PACKET_TYPE_BROADCAST 0x00000008u
#define NDIS_PACKET_TYPE_PROMISCUOUS 0x00000020u
/** @} */

/** @name Per-packet-info types (#rndis_ppi.type). Bit 31 marks internal (RNDIS-private)
 *  types, which are distinct from the NDIS ones with the same low bits.
 * @{ */
#define RNDIS_PPI_CSUM 0u        /**< u32: NDIS_TXCSUM_INFO_* (to host) / NDIS_RXCSUM_INFO_* */
#define RNDIS_PPI_IPSEC 1u
#define RNDIS_PPI_LSO 2u         /**< u32: NDIS_LSO2_INFO_* (guest to host) */
#define RNDIS_PPI_VLAN 6u        /**< u32: IEEE 802.1Q info, NDIS_VLAN_INFO_* layout */
#define RNDIS_PPI_HASH_VALUE 8u  /**< u32: RSS hash (NDIS "packet cancel id" slot) */
#define RNDIS_PPI_HASH_INFO 9u   /**< u32: NDIS_HASH_* type | function ("original NBL" slot) */
#define RNDIS_PPI_INTERNAL 0x80000000u
/** @} */

/** @name IEEE 802.1Q per-packet info: priority bits 0-2, CFI bit 3, VLAN id bits 4-15
 * @{ */
#define NDIS_VLAN_INFO_PRI_MASK 0x0007u
#define NDIS_VLAN_INFO_CFI_MASK 0x0008u
#define NDIS_VLAN_INFO_ID_MASK 0xFFF0u
/** @} */

/** @name Receive checksum per-packet info (host to guest)
 * @{ */
#define NDIS_RXCSUM_INFO_TCPCS_FAILED 0x0001u
#define NDIS_RXCSUM_INFO_UDPCS_FAILED 0x0002u
#define NDIS_RXCSUM_INFO_IPCS_FAILED 0x0004u
#define NDIS_RXCSUM_INFO_TCPCS_OK 0x0008u
#define NDIS_RXCSUM_INFO_UDPCS_OK 0x0010u
#define NDIS_RXCSUM_INFO_IPCS_OK 0x0020u
/** @} */

/** @name Transmit checksum per-packet info (guest to host)
 * @{ */
#define NDIS_TXCSUM_INFO_IPV4 0x00000001u
#define NDIS_TXCSUM_INFO_IPV6 0x00000002u
#define NDIS_TXCSUM_INFO_TCPCS 0x00000004u
#define NDIS_TXCSUM_INFO_UDPCS 0x00000008u
#define NDIS_TXCSUM_INFO_IPCS 0x00000010u
#define NDIS_TXCSUM_INFO_THOFF_SHIFT 16 /**< 10 bits: L4 header offset from the frame start */
/** @} */

/** @name LSOv2 per-packet info (guest to host)
 * @{ */
#define NDIS_LSO2_INFO_MSS_MASK 0x000FFFFFu
#define NDIS_LSO2_INFO_THOFF_SHIFT 20 /**< 10 bits: TCP header offset from the frame start */
#define NDIS_LSO2_INFO_ISLSO2 0x40000000u
#define NDIS_LSO2_INFO_ISIPV6 0x80000000u
/** @} */

/** @name NDIS object types (#ndis_object_hdr.type)
 * @{ */
#define NDIS_OBJTYPE_DEFAULT 0x80u
#define NDIS_OBJTYPE_RSS_CAPS 0x88u
#define NDIS_OBJTYPE_RSS_PARAMS 0x89u
#define NDIS_OBJTYPE_OFFLOAD 0xA7u
/** @} */

/** @name RSS hash information: function in bits 0-7, types in bits 8-23
 * @{ */
#define NDIS_HASH_FUNCTION_MASK 0x000000FFu
#define NDIS_HASH_FUNCTION_TOEPLITZ 0x00000001u
#define NDIS_HASH_TYPE_MASK 0x00FFFF00u
#define NDIS_HASH_IPV4 0x00000100u
#define NDIS_HASH_TCP_IPV4 0x00000200u
#define NDIS_HASH_IPV6 0x00000400u
#define NDIS_HASH_IPV6_EX 0x00000800u
#define NDIS_HASH_TCP_IPV6 0x00001000u
#define NDIS_HASH_TCP_IPV6_EX 0x00002000u
#define NDIS_HASH_UDP_IPV4 0x00004000u
#define NDIS_HASH_UDP_IPV6 0x00008000u
#define NDIS_HASH_UDP_IPV6_EX 0x00010000u
/** @} */

/** @name #ndis_rss_caps.caps bits (DPDK reads 0x100 as IPv4 and 0x200 as IPv6 hashing)
 * @{ */
#define NDIS_RSS_CAP_TCP_IPV4 0x00000100u
#define NDIS_RSS_CAP_TCP_IPV6 0x00000200u
#define NDIS_RSS_CAP_TCP_IPV6_EX 0x00000400u
#define NDIS_RSS_CAP_UDP_IPV4 0x00000800u
#define NDIS_RSS_CAP_UDP_IPV6 0x00001000u
#define NDIS_RSS_CAP_UDP_IPV6_EX 0x00002000u
#define NDIS_RSS_CAP_MSI 0x01000000u
/** @} */

/** @name #ndis_rss_params.flags
 * @{ */
#define NDIS_RSS_FLAG_BCPU_UNCHG 0x0001u
#define NDIS_RSS_FLAG_HASH_UNCHG 0x0002u
#define NDIS_RSS_FLAG_IND_UNCHG 0x0004u
#define NDIS_RSS_FLAG_KEY_UNCHG 0x0008u
#define NDIS_RSS_FLAG_DISABLE 0x0010u
/** @} */

/** Toeplitz key size (the only size guests use). */
#define NDIS_RSS_KEY_SIZE 40u
/** Largest RSS indirection table (entries). */
#define NDIS_RSS_INDIR_MAX 128u

/** @name #ndis_offload_params checksum fields
 * @{ */
#define NDIS_OFFLOAD_PARAM_NOCHG 0u
#define NDIS_OFFLOAD_PARAM_OFF 1u
#define NDIS_OFFLOAD_PARAM_TX 2u
#define NDIS_OFFLOAD_PARAM_RX 3u
#define NDIS_OFFLOAD_PARAM_TXRX 4u
/** @} */
/** @name #ndis_offload_params LSO fields (0 = no change)
 * @{ */
#define NDIS_OFFLOAD_LSO_OFF 1u
#define NDIS_OFFLOAD_LSO_ON 2u
/** @} */

/** Encapsulation value of #ndis_offload: Ethernet (802.3). */
#define NDIS_OFFLOAD_ENCAP_8023 0x2u
/** @name #ndis_offload checksum capability bits (tx and rx fields alike)
 * @{ */
#define NDIS_CSUM_CAP_IP4OPT 0x001u /**< IPv4 options (ip4 fields) / IPv6 ext headers (ip6) */
#define NDIS_CSUM_CAP_TCPOPT 0x004u
#define NDIS_CSUM_CAP_TCP 0x010u
#define NDIS_CSUM_CAP_UDP 0x040u
#define NDIS_CSUM_CAP_IP4 0x100u /**< IPv4 header checksum (ip4 fields only) */
/** @} */
/** @name #ndis_offload LSOv2 ip6_opts bits
 * @{ */
#define NDIS_LSOV2_CAP_IP6EXT 0x001u
#define NDIS_LSOV2_CAP_TCP6OPT 0x004u
/** @} */

/** Offsets in a PACKET message count from this byte (the data_offset field). */
#define RNDIS_PKT_OFFSET_BASE 8u
/** Offsets of QUERY/SET information buffers count from this byte (the rid field). */
#define RNDIS_INFOBUF_OFFSET_BASE 8u

#ifndef VMB_WIRE_ASSERT
/** Compile-time check of a wire layout (C11 and C++). */
#ifdef __cplusplus
#define VMB_WIRE_ASSERT(cond, what) static_assert(cond, what)
#else
#define VMB_WIRE_ASSERT(cond, what) _Static_assert(cond, what)
#endif
#endif

/** {type, len}: the start of every RNDIS message. */
struct rndis_msg_hdr {
	uint32_t type;
	uint32_t len; /**< whole message, bytes */
};

/** PACKET message: one Ethernet frame. Offsets count from byte 8 (data_offset). */
struct rndis_packet_msg {
	uint32_t type; /**< #RNDIS_MSG_PACKET */
	uint32_t len;
	uint32_t data_offset; /**< frame at byte 8 + data_offset */
	uint32_t data_len;
	uint32_t oob_offset; /**< out-of-band data: unused by Hyper-V (0) */
	uint32_t oob_len;
	uint32_t oob_count;
	uint32_t ppi_offset; /**< per-packet info at byte 8 + ppi_offset (>= 36) */
	uint32_t ppi_len;
	uint32_t vc_handle; /**< 0 (connectionless) */
	uint32_t reserved;
};

/** Smallest data_offset / ppi_offset: right after the PACKET header. */
#define RNDIS_PKT_OFFSET_MIN (sizeof(struct rndis_packet_msg) - RNDIS_PKT_OFFSET_BASE)

/** Per-packet-info element; @p size covers the element, data at @p offset from its start. */
struct rndis_ppi {
	uint32_t size;
	uint32_t type; /**< RNDIS_PPI_* */
	uint32_t offset;
};

/** Size of a per-packet-info element holding one u32 (all the ones used here). */
#define RNDIS_PPI_SIZE_U32 (sizeof(struct rndis_ppi) + sizeof(uint32_t))

/** Common head of completions (all but RESET_C). */
struct rndis_comp_hdr {
	uint32_t type;
	uint32_t len;
	uint32_t rid;
	uint32_t status;
};

/** INIT request. */
struct rndis_init_req {
	uint32_t type; /**< #RNDIS_MSG_INIT */
	uint32_t len;
	uint32_t rid;
	uint32_t ver_major;
	uint32_t ver_minor;
	uint32_t max_xfer_size; /**< largest message the guest accepts */
};

/** INIT completion. DPDK reads up to @p align; aggregation uses max_pkts, max_xfer_size and
 *  1 << align. */
struct rndis_init_comp {
	uint32_t type; /**< #RNDIS_MSG_INIT_C */
	uint32_t len;
	uint32_t rid;
	uint32_t status;
	uint32_t ver_major;
	uint32_t ver_minor;
	uint32_t dev_flags; /**< #RNDIS_DF_CONNECTIONLESS */
	uint32_t medium;    /**< #RNDIS_MEDIUM_802_3 */
	uint32_t max_pkts;  /**< PACKET messages the host accepts in one transfer */
	uint32_t max_xfer_size;
	uint32_t align; /**< log2 of the alignment of aggregated PACKET messages */
	uint32_t af_list_offset;
	uint32_t af_list_size;
};

/** HALT request (no completion). */
struct rndis_halt_req {
	uint32_t type;
	uint32_t len;
	uint32_t rid;
};

/** QUERY request; input data (some OIDs take an NDIS object header) at byte
 *  8 + infobuf_offset. */
struct rndis_query_req {
	uint32_t type;
	uint32_t len;
	uint32_t rid;
	uint32_t oid;
	uint32_t infobuf_len;
	uint32_t infobuf_offset;
	uint32_t vc_handle;
};

/** QUERY completion; the answer at byte 8 + infobuf_offset. */
struct rndis_query_comp {
	uint32_t type;
	uint32_t len;
	uint32_t rid;
	uint32_t status;
	uint32_t infobuf_len;
	uint32_t infobuf_offset;
};

/** SET request; the value at byte 8 + infobuf_offset. */
struct rndis_set_req {
	uint32_t type;
	uint32_t len;
	uint32_t rid;
	uint32_t oid;
	uint32_t infobuf_len;
	uint32_t infobuf_offset;
	uint32_t vc_handle;
};

/** SET completion. */
struct rndis_set_comp {
	uint32_t type;
	uint32_t len;
	uint32_t rid;
	uint32_t status;
};

/** RESET request. */
struct rndis_reset_req {
	uint32_t type;
	uint32_t len;
	uint32_t rid; /**< reserved: resets have no request id */
};

/** RESET completion (no request id). */
struct rndis_reset_comp {
	uint32_t type;
	uint32_t len;
	uint32_t status;
	uint32_t addressing_reset; /**< 1: the guest must set filter and multicast list again */
};

/** KEEPALIVE request. */
struct rndis_keepalive_req {
	uint32_t type;
	uint32_t len;
	uint32_t rid;
};

/** KEEPALIVE completion. */
struct rndis_keepalive_comp {
	uint32_t type;
	uint32_t len;
	uint32_t rid;
	uint32_t status;
};

/** INDICATE_STATUS (device to guest): media connect/disconnect and friends. */
struct rndis_status_msg {
	uint32_t type; /**< #RNDIS_MSG_INDICATE */
	uint32_t len;
	uint32_t status;
	uint32_t stbuf_len;    /**< 0 for link changes */
	uint32_t stbuf_offset; /**< from byte 8; 0 when stbuf_len is 0 */
};

/** OID_GEN_RNDIS_CONFIG_PARAMETER value: name and value offsets count from its start. */
struct rndis_config_param {
	uint32_t name_offset;
	uint32_t name_len; /**< bytes of UTF-16 */
	uint32_t type;     /**< 0 integer, 2 string */
	uint32_t value_offset;
	uint32_t value_len;
};

/** Header of every NDIS object. */
struct ndis_object_hdr {
	uint8_t type; /**< NDIS_OBJTYPE_* */
	uint8_t rev;
	uint16_t size; /**< object size including this header */
};

/** OID_GEN_RECEIVE_SCALE_CAPABILITIES answer (revision 2: #NDIS_RSS_CAPS_SIZE bytes on the
 *  wire; DPDK refuses more). */
struct ndis_rss_caps {
	struct ndis_object_hdr hdr;
	uint32_t caps;       /**< NDIS_RSS_CAP_* | NDIS_HASH_FUNCTION_TOEPLITZ */
	uint32_t nmsi;       /**< interrupt messages */
	uint32_t nrxq;       /**< receive queues the guest may use */
	uint16_t nindirect;  /**< indirection table entries (DPDK wants a power of 2 <= 128) */
	uint16_t pad;        /**< not sent */
};
/** Wire size of #ndis_rss_caps, revision 2. */
#define NDIS_RSS_CAPS_SIZE 18u
/** Wire size of #ndis_rss_caps, revision 1 (no nindirect). */
#define NDIS_RSS_CAPS_SIZE_REV1 16u

/** OID_GEN_RECEIVE_SCALE_PARAMETERS: indirection table (u32 queue numbers) and key at offsets
 *  from the start of this object. */
struct ndis_rss_params {
	struct ndis_object_hdr hdr; /**< NDIS_OBJTYPE_RSS_PARAMS, rev 2, size 40 */
	uint16_t flags;             /**< NDIS_RSS_FLAG_* */
	uint16_t base_cpu;
	uint32_t hash_info;    /**< NDIS_HASH_FUNCTION_* | NDIS_HASH_* types */
	uint16_t indir_size;   /**< bytes (4 per entry) */
	uint16_t pad0;
	uint32_t indir_offset;
	uint16_t key_size;     /**< bytes */
	uint16_t pad1;
	uint32_t key_offset;
	uint32_t cpumask_offset; /**< revision 2 from here */
	uint32_t cpumask_count;
	uint32_t cpumask_entry_size;
};
/** Size of #ndis_rss_params revision 1 (up to key_offset). */
#define NDIS_RSS_PARAMS_SIZE_REV1 28u

/** OID_TCP_OFFLOAD_PARAMETERS: what the guest wants on (values NDIS_OFFLOAD_PARAM_* for
 *  checksums, NDIS_OFFLOAD_LSO_* for LSO; 0 = no change). */
struct ndis_offload_params {
	struct ndis_object_hdr hdr; /**< NDIS_OBJTYPE_DEFAULT, rev >= 1, size >= 20 */
	uint8_t ip4_csum;
	uint8_t tcp4_csum;
	uint8_t udp4_csum;
	uint8_t tcp6_csum;
	uint8_t udp6_csum;
	uint8_t lsov1;
	uint8_t ipsecv1;
	uint8_t lsov2_ip4;
	uint8_t lsov2_ip6;
	uint8_t tcp4_conn;
	uint8_t tcp6_conn;
	uint8_t pad0;
	uint32_t flags;
	uint8_t ipsecv2; /**< revision 2 (NDIS 6.1) from here */
	uint8_t ipsecv2_ip4;
	uint8_t rsc_ip4; /**< revision 3 (NDIS 6.30) from here */
	uint8_t rsc_ip6;
	uint8_t encap;
	uint8_t encap_types;
	uint8_t pad1[2];
};
/** Size of #ndis_offload_params revision 1. */
#define NDIS_OFFLOAD_PARAMS_SIZE_REV1 20u

/** OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES / _CURRENT_CONFIG answer (revision 3, 156 bytes). */
struct ndis_offload {
	struct ndis_object_hdr hdr; /**< NDIS_OBJTYPE_OFFLOAD, rev 3, size 156 */
	uint32_t ip4_txenc;         /**< #NDIS_OFFLOAD_ENCAP_8023 */
	uint32_t ip4_txcsum;        /**< NDIS_CSUM_CAP_* */
	uint32_t ip4_rxenc;
	uint32_t ip4_rxcsum;
	uint32_t ip6_txenc;
	uint32_t ip6_txcsum;
	uint32_t ip6_rxenc;
	uint32_t ip6_rxcsum;
	uint32_t lsov1[4];
	uint32_t ipsecv1[7];
	uint32_t lso2_ip4_encap; /**< #NDIS_OFFLOAD_ENCAP_8023 when LSOv2 over IPv4 works */
	uint32_t lso2_ip4_maxsz;
	uint32_t lso2_ip4_minsg;
	uint32_t lso2_ip6_encap;
	uint32_t lso2_ip6_maxsz;
	uint32_t lso2_ip6_minsg;
	uint32_t lso2_ip6_opts; /**< NDIS_LSOV2_CAP_* */
	uint32_t flags;
	uint32_t ipsecv2[8]; /**< revision 2 */
	uint8_t rsc_ip4;     /**< revision 3 */
	uint8_t rsc_ip6;
	uint8_t pad[2];
	uint32_t encap_gre[2];
};
/** Size of #ndis_offload revision 1 (through flags): the least DPDK accepts. */
#define NDIS_OFFLOAD_SIZE_REV1 112u

VMB_WIRE_ASSERT(sizeof(struct rndis_msg_hdr) == 8, "rndis_msg_hdr");
VMB_WIRE_ASSERT(sizeof(struct rndis_packet_msg) == 44, "rndis_packet_msg");
VMB_WIRE_ASSERT(RNDIS_PKT_OFFSET_MIN == 36, "RNDIS_PKT_OFFSET_MIN");
VMB_WIRE_ASSERT(sizeof(struct rndis_ppi) == 12, "rndis_ppi");
VMB_WIRE_ASSERT(sizeof(struct rndis_comp_hdr) == 16, "rndis_comp_hdr");
VMB_WIRE_ASSERT(sizeof(struct rndis_init_req) == 24, "rndis_init_req");
VMB_WIRE_ASSERT(sizeof(struct rndis_init_comp) == 52, "rndis_init_comp");
VMB_WIRE_ASSERT(sizeof(struct rndis_halt_req) == 12, "rndis_halt_req");
VMB_WIRE_ASSERT(sizeof(struct rndis_query_req) == 28, "rndis_query_req");
VMB_WIRE_ASSERT(sizeof(struct rndis_query_comp) == 24, "rndis_query_comp");
VMB_WIRE_ASSERT(sizeof(struct rndis_set_req) == 28, "rndis_set_req");
VMB_WIRE_ASSERT(sizeof(struct rndis_set_comp) == 16, "rndis_set_comp");
VMB_WIRE_ASSERT(sizeof(struct rndis_reset_req) == 12, "rndis_reset_req");
VMB_WIRE_ASSERT(sizeof(struct rndis_reset_comp) == 16, "rndis_reset_comp");
VMB_WIRE_ASSERT(sizeof(struct rndis_keepalive_req) == 12, "rndis_keepalive_req");
VMB_WIRE_ASSERT(sizeof(struct rndis_keepalive_comp) == 16, "rndis_keepalive_comp");
VMB_WIRE_ASSERT(sizeof(struct rndis_status_msg) == 20, "rndis_status_msg");
VMB_WIRE_ASSERT(sizeof(struct rndis_config_param) == 20, "rndis_config_param");
VMB_WIRE_ASSERT(sizeof(struct ndis_object_hdr) == 4, "ndis_object_hdr");
VMB_WIRE_ASSERT(offsetof(struct ndis_rss_caps, nindirect) == NDIS_RSS_CAPS_SIZE_REV1,
	       "ndis_rss_caps.nindirect");
VMB_WIRE_ASSERT(sizeof(struct ndis_rss_caps) == 20, "ndis_rss_caps");
VMB_WIRE_ASSERT(offsetof(struct ndis_rss_params, indir_offset) == 16, "ndis_rss_params.indir");
VMB_WIRE_ASSERT(offsetof(struct ndis_rss_params, key_offset) == 24, "ndis_rss_params.key");
VMB_WIRE_ASSERT(offsetof(struct ndis_rss_params, cpumask_offset) == NDIS_RSS_PARAMS_SIZE_REV1,
	       "ndis_rss_params rev 1");
VMB_WIRE_ASSERT(sizeof(struct ndis_rss_params) == 40, "ndis_rss_params");
VMB_WIRE_ASSERT(offsetof(struct ndis_offload_params, flags) == 16, "ndis_offload_params.flags");
VMB_WIRE_ASSERT(offsetof(struct ndis_offload_params, ipsecv2) == NDIS_OFFLOAD_PARAMS_SIZE_REV1,
	       "ndis_offload_params rev 1");
VMB_WIRE_ASSERT(offsetof(struct ndis_offload_params, rsc_ip4) == 22, "ndis_offload_params rev 2");
VMB_WIRE_ASSERT(sizeof(struct ndis_offload_params) == 28, "ndis_offload_params");
VMB_WIRE_ASSERT(offsetof(struct ndis_offload, lso2_ip4_encap) == 80, "ndis_offload.lso2");
VMB_WIRE_ASSERT(offsetof(struct ndis_offload, ipsecv2) == NDIS_OFFLOAD_SIZE_REV1,
	       "ndis_offload rev 1");
VMB_WIRE_ASSERT(offsetof(struct ndis_offload, rsc_ip4) == 144, "ndis_offload rev 2");
VMB_WIRE_ASSERT(sizeof(struct ndis_offload) == 156, "ndis_offload");

/* ---- data-path helpers ---- */

/** What rndis_pkt_parse() found in a PACKET message, and what rndis_pkt_build() puts in one.
 *  Fields past data_len are meaningful only when the matching has_* flag is set. */
struct rndis_pkt_info {
	uint32_t msg_len;    /**< whole message (parse) */
	uint32_t data_off;   /**< frame offset from the message start (parse) */
	uint32_t data_len;   /**< frame length (parse) */
	uint32_t hash_value; /**< #RNDIS_PPI_HASH_VALUE (guests put their TX queue number here) */
	uint32_t hash_info;  /**< #RNDIS_PPI_HASH_INFO; build: sent only with has_hash and != 0 */
	uint32_t csum_info;  /**< #RNDIS_PPI_CSUM: NDIS_TXCSUM_INFO_* or NDIS_RXCSUM_INFO_* */
	uint16_t vlan_tci;   /**< #RNDIS_PPI_VLAN converted to an 802.1Q TCI (PCP, DEI, VID) */
	uint8_t has_hash, has_vlan, has_csum;
	uint8_t has_lso;   /**< #RNDIS_PPI_LSO present (an addition to the brief's fields) */
	uint32_t lso_info; /**< #RNDIS_PPI_LSO: NDIS_LSO2_INFO_* */
};

/** 802.1Q TCI (PCP 15-13, DEI 12, VID 11-0) from NDIS VLAN info. */
static inline uint16_t
rndis_vlan_tci_from_info(uint32_t info)
{
	return (uint16_t)(((info & NDIS_VLAN_INFO_PRI_MASK) << 13) |
			  (((info & NDIS_VLAN_INFO_CFI_MASK) >> 3) << 12) |
			  ((info & NDIS_VLAN_INFO_ID_MASK) >> 4));
}

/** NDIS VLAN info from an 802.1Q TCI. */
static inline uint32_t
rndis_vlan_info_from_tci(uint16_t tci)
{
	return ((uint32_t)tci >> 13) | ((((uint32_t)tci >> 12) & 1u) << 3) |
	       (((uint32_t)tci & 0xFFFu) << 4);
}

/**
 * Parse one PACKET message in memory the peer may change at any time.
 *
 * Every header and per-packet-info field is read once (into locals) and checked against the
 * message length and @p avail before use, so the result describes bytes inside
 * [msg, msg + msg_len) whatever the peer does; the frame bytes themselves stay where they are
 * (the caller copies them once). Unknown and internal per-packet-info types are skipped.
 *
 * @param msg    start of the message
 * @param avail  bytes readable at @p msg (the message may be followed by others: aggregation)
 * @param out    filled on success (has_* flags and absent values zero); undefined on error
 * @return 0, -EPROTO when the message is not a PACKET, -EINVAL when it is malformed: shorter
 *         than its header, len > @p avail, no frame, frame or per-packet info outside the
 *         message or overlapping the header, out-of-band data, a per-packet-info element that
 *         does not fit or whose data does not, a known element with less than 4 data bytes.
 */
static inline int
rndis_pkt_parse(const void *msg, uint32_t avail, struct rndis_pkt_info *out)
{
	const uint8_t *p = (const uint8_t *)msg;
	struct rndis_packet_msg h;
	uint32_t msg_len, data_off, pos, end;

	if (avail < sizeof(h))
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (h.type != RNDIS_MSG_PACKET)
		return -EPROTO;
	msg_len = h.len;
	if (msg_len < sizeof(h) || msg_len > avail)
		return -EINVAL;
	/* Offsets below RNDIS_PKT_OFFSET_MIN would point into the header itself. */
	if (h.data_len == 0 || h.data_offset < RNDIS_PKT_OFFSET_MIN ||
	    h.data_offset > msg_len - RNDIS_PKT_OFFSET_BASE)
		return -EINVAL;
	data_off = h.data_offset + RNDIS_PKT_OFFSET_BASE;
	if (h.data_len > msg_len - data_off)
		return -EINVAL;
	/* Hyper-V never uses out-of-band data; nothing here could interpret it. */
	if (h.oob_len != 0 || h.oob_count != 0)
		return -EINVAL;

	out->msg_len = msg_len;
	out->data_off = data_off;
	out->data_len = h.data_len;
	out->has_hash = out->has_vlan = out->has_csum = out->has_lso = 0;
	out->hash_value = out->hash_info = out->csum_info = out->lso_info = 0;
	out->vlan_tci = 0;
	if (h.ppi_len == 0)
		return 0;

	if (h.ppi_offset < RNDIS_PKT_OFFSET_MIN || h.ppi_offset > msg_len - RNDIS_PKT_OFFSET_BASE)
		return -EINVAL;
	pos = h.ppi_offset + RNDIS_PKT_OFFSET_BASE;
	if (h.ppi_len > msg_len - pos)
		return -EINVAL;
	end = pos + h.ppi_len;
	while (pos < end) {
		struct rndis_ppi pi;
		uint32_t v;

		if (end - pos < sizeof(pi))
			return -EINVAL;
		memcpy(&pi, p + pos, sizeof(pi));
		if (pi.size < sizeof(pi) || pi.size > end - pos || pi.offset < sizeof(pi) ||
		    pi.offset > pi.size)
			return -EINVAL;
		switch (pi.type) {
		case RNDIS_PPI_CSUM:
		case RNDIS_PPI_LSO:
		case RNDIS_PPI_VLAN:
		case RNDIS_PPI_HASH_VALUE:
		case RNDIS_PPI_HASH_INFO:
			if (pi.size - pi.offset < sizeof(v))
				return -EINVAL;
			memcpy(&v, p + pos + pi.offset, sizeof(v));
			if (pi.type == RNDIS_PPI_CSUM) {
				out->csum_info = v;
				out->has_csum = 1;
			} else if (pi.type == RNDIS_PPI_LSO) {
				out->lso_info = v;
				out->has_lso = 1;
			} else if (pi.type == RNDIS_PPI_VLAN) {
				out->vlan_tci = rndis_vlan_tci_from_info(v);
				out->has_vlan = 1;
			} else if (pi.type == RNDIS_PPI_HASH_VALUE) {
				out->hash_value = v;
				out->has_hash = 1;
			} else {
				out->hash_info = v;
			}
			break;
		default:
			break;
		}
		pos += pi.size;
	}
	return 0;
}

/**
 * Header length rndis_pkt_build() writes for a frame with the hash (value and info) and/or
 * VLAN per-packet info and no others: the frame starts this many bytes into the message.
 * An upper bound when hash_info is 0 (then no hash-info element is written); with checksum or
 * LSO info use rndis_pkt_build_len().
 */
static inline uint32_t
rndis_pkt_hdr_len(bool hash, bool vlan)
{
	return (uint32_t)sizeof(struct rndis_packet_msg) +
	       (hash ? 2u * (uint32_t)RNDIS_PPI_SIZE_U32 : 0u) +
	       (vlan ? (uint32_t)RNDIS_PPI_SIZE_U32 : 0u);
}

/** Exact header length rndis_pkt_build() writes for @p ppi (NULL: none). */
static inline uint32_t
rndis_pkt_build_len(const struct rndis_pkt_info *ppi)
{
	uint32_t n = 0;

	if (ppi != NULL)
		n = (ppi->has_hash ? 1u + (ppi->hash_info != 0) : 0u) + (ppi->has_vlan ? 1u : 0u) +
		    (ppi->has_csum ? 1u : 0u) + (ppi->has_lso ? 1u : 0u);
	return (uint32_t)sizeof(struct rndis_packet_msg) + n * (uint32_t)RNDIS_PPI_SIZE_U32;
}

/* Append one u32 per-packet-info element at @p off; return the offset after it. */
static inline uint32_t
rndis_ppi_put_u32(uint8_t *p, uint32_t off, uint32_t type, uint32_t v)
{
	struct rndis_ppi pi;

	pi.size = (uint32_t)RNDIS_PPI_SIZE_U32;
	pi.type = type;
	pi.offset = (uint32_t)sizeof(struct rndis_ppi);
	memcpy(p + off, &pi, sizeof(pi));
	memcpy(p + off + sizeof(pi), &v, sizeof(v));
	return off + (uint32_t)RNDIS_PPI_SIZE_U32;
}

/**
 * Write a PACKET header and per-packet info for a frame of @p frame_len bytes that the caller
 * places right after it (at the returned offset). Elements, in this order, for the has_* flags
 * set in @p ppi: hash value, hash info (when hash_info != 0: DPDK guests report a hash only
 * with both), VLAN (from vlan_tci), checksum, LSO. The message length is header + frame (no
 * padding); ppi_offset is 36 even without elements (Linux guests reject 0).
 *
 * @param buf        room for rndis_pkt_build_len(@p ppi) bytes
 * @param frame_len  frame bytes that will follow
 * @param ppi        per-packet info to send, or NULL (msg_len/data_off/data_len ignored)
 * @return the header length: the frame's offset from @p buf
 */
static inline uint32_t
rndis_pkt_build(void *buf, uint32_t frame_len, const struct rndis_pkt_info *ppi)
{
	uint8_t *p = (uint8_t *)buf;
	uint32_t off = (uint32_t)sizeof(struct rndis_packet_msg);
	struct rndis_packet_msg h;

	if (ppi != NULL) {
		if (ppi->has_hash) {
			off = rndis_ppi_put_u32(p, off, RNDIS_PPI_HASH_VALUE, ppi->hash_value);
			if (ppi->hash_info != 0)
				off = rndis_ppi_put_u32(p, off, RNDIS_PPI_HASH_INFO,
							ppi->hash_info);
		}
		if (ppi->has_vlan)
			off = rndis_ppi_put_u32(p, off, RNDIS_PPI_VLAN,
						rndis_vlan_info_from_tci(ppi->vlan_tci));
		if (ppi->has_csum)
			off = rndis_ppi_put_u32(p, off, RNDIS_PPI_CSUM, ppi->csum_info);
		if (ppi->has_lso)
			off = rndis_ppi_put_u32(p, off, RNDIS_PPI_LSO, ppi->lso_info);
	}
	h.type = RNDIS_MSG_PACKET;
	h.len = off + frame_len;
	h.data_offset = off - RNDIS_PKT_OFFSET_BASE;
	h.data_len = frame_len;
	h.oob_offset = 0;
	h.oob_len = 0;
	h.oob_count = 0;
	h.ppi_offset = (uint32_t)RNDIS_PKT_OFFSET_MIN;
	h.ppi_len = off - (uint32_t)sizeof(struct rndis_packet_msg);
	h.vc_handle = 0;
	h.reserved = 0;
	memcpy(p, &h, sizeof(h));
	return off;
}

#ifdef __cplusplus
}
#endif

#endif /* VMB_RNDIS_H */
