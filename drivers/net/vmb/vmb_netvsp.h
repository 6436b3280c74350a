/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The host side (netvsp) of the Hyper-V network control plane as pure functions: NVSP version
 * negotiation, receive/send buffer hand-over, subchannels, and the RNDIS control messages
 * (INIT, QUERY, SET, RESET, KEEPALIVE, HALT) with the OIDs netvsc guests use. No I/O and no
 * DPDK: the owner (the net_vmb PMD in host mode) moves messages between the channel and these
 * functions and acts on the negotiated state they leave behind.
 */
#ifndef VMB_NETVSP_H
#define VMB_NETVSP_H

/**
 * @file
 * Host (netvsp) control-plane engine.
 *
 * Threat model: every message comes from a guest that may be hostile. The engine reads each
 * field of a message once, from the caller's private copy, checks it against the message
 * length before use, and never reads or writes outside the message or the response buffer.
 * A malformed message costs the guest an error count (vmb_netvsp::errors), never the host.
 *
 * Division of labour with the owner:
 * - Inband NVSP messages other than #NVSP_MSG_RNDIS go to vmb_netvsp_nvsp_ctl(). A positive
 *   return is the payload of the COMPLETION packet to send with the request's transaction id.
 *   A return of 0 means the message has no NVSP response; if the guest flagged the packet
 *   "completion requested" (VMBus flag), the owner completes it with an empty payload (UEFI
 *   guests wait for that after NDIS_CONF, NDIS_INIT and SET_DATAPATH).
 * - #NVSP_MSG_RNDIS with channel type #NVSP_RNDIS_CTRL: the owner copies the RNDIS message
 *   out of guest memory, completes the NVSP message with #NVSP_MSG_RNDIS_ACK, and passes the
 *   copy to vmb_netvsp_rndis_ctl(); a positive return is an RNDIS completion the owner puts
 *   in a free receive-buffer slot and sends as a transfer-page packet (NVSP_MSG_RNDIS,
 *   channel type #NVSP_RNDIS_CTRL).
 * - Data (#NVSP_RNDIS_DATA), receive-buffer accounting and the VMBus side of subchannels are
 *   the owner's. rndis_pkt_parse()/rndis_pkt_build() in vmb_rndis.h serve its data path.
 * - After each call the owner may look at vmb_netvsp::changes to learn what to apply (packet
 *   filter, RSS, offloads, ...) and clear the bits it handled.
 *
 * Not thread safe: one owner thread drives one engine.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vmb_nvsp.h"
#include "vmb_rndis.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most multicast addresses kept (OID_802_3_MULTICAST_LIST). */
#define VMB_NETVSP_MCAST_MAX 32u
/** Most queues (primary + subchannels) a guest can get, as Windows hosts allow. */
#define VMB_NETVSP_MAX_QUEUES 64u

/** @name Offloads (vmb_netvsp_config::offload_caps, vmb_netvsp::offloads). TX: the guest
 *  leaves the work to the host; RX: the host reports checksums it verified.
 * @{ */
#define VMB_NETVSP_OFF_TX_IP4CSUM (1u << 0)
#define VMB_NETVSP_OFF_TX_TCP4CSUM (1u << 1)
#define VMB_NETVSP_OFF_TX_UDP4CSUM (1u << 2)
#define VMB_NETVSP_OFF_TX_TCP6CSUM (1u << 3)
#define VMB_NETVSP_OFF_TX_UDP6CSUM (1u << 4)
#define VMB_NETVSP_OFF_TX_LSO4 (1u << 5)
#define VMB_NETVSP_OFF_TX_LSO6 (1u << 6)
#define VMB_NETVSP_OFF_RX_IP4CSUM (1u << 8)
#define VMB_NETVSP_OFF_RX_TCP4CSUM (1u << 9)
#define VMB_NETVSP_OFF_RX_UDP4CSUM (1u << 10)
#define VMB_NETVSP_OFF_RX_TCP6CSUM (1u << 11)
#define VMB_NETVSP_OFF_RX_UDP6CSUM (1u << 12)
/** @} */

/** @name vmb_netvsp::changes bits: set by the engine, cleared by the owner
 * @{ */
#define VMB_NETVSP_CHG_RXBUF (1u << 0)    /**< receive buffer connected or revoked */
#define VMB_NETVSP_CHG_CHIM (1u << 1)     /**< send buffer connected or revoked */
#define VMB_NETVSP_CHG_RNDIS (1u << 2)    /**< rndis_state changed */
#define VMB_NETVSP_CHG_FILTER (1u << 3)   /**< packet_filter set */
#define VMB_NETVSP_CHG_MCAST (1u << 4)    /**< multicast list set */
#define VMB_NETVSP_CHG_RSS (1u << 5)      /**< RSS hash types, key or table set */
#define VMB_NETVSP_CHG_OFFLOAD (1u << 6)  /**< offloads set */
#define VMB_NETVSP_CHG_SUBCH (1u << 7)    /**< subchannels granted */
#define VMB_NETVSP_CHG_DATAPATH (1u << 8) /**< guest switched data path (datapath) */
/** @} */

/** What the engine asks of its owner. */
struct vmb_netvsp_ops {
	/** Map the guest buffer named by GPADL @p gpadl (the receive buffer when @p rxbuf, else
	 *  the send buffer). Return 0 with its host address and length, or a negative errno.
	 *  NULL: buffers cannot be connected. */
	int (*map_buffer)(void *ctx, bool rxbuf, uint32_t gpadl, uint8_t **addr, uint64_t *len);
	/** Unmap what map_buffer() mapped for @p rxbuf (called once per successful map). */
	void (*unmap_buffer)(void *ctx, bool rxbuf);
	/** Make @p requested subchannels exist (offers); return 0 with the number that exists in
	 *  @p granted (<= @p requested), or a negative errno. NULL: no subchannels. */
	int (*alloc_subchannels)(void *ctx, uint32_t requested, uint32_t *granted);
};

/** What the host offers. Zero fields take the defaults noted. */
struct vmb_netvsp_config {
	uint8_t mac[6];              /**< permanent and current address */
	uint32_t mtu;                /**< largest MTU (L3, no Ethernet header); 0: 1500 */
	uint32_t max_queues;         /**< primary + subchannels, 1..64; 0: 1 */
	uint32_t rx_slot_size;       /**< receive-buffer slot bytes; 0: fits mtu + headers */
	uint32_t chim_section_size;  /**< send-buffer section bytes (multiple of 8); 0: 6144 */
	uint64_t link_speed_100bps;  /**< OID_GEN_LINK_SPEED (100 bit/s units); 0: 10 Gbit/s */
	uint32_t max_pkts_per_msg;   /**< PACKET messages the host accepts per transfer; 0: 8 */
	uint32_t offload_caps;       /**< VMB_NETVSP_OFF_* the host can do; 0: none (addition) */
};

/** RNDIS state of the guest's adapter. */
enum vmb_netvsp_rndis_state {
	RNDIS_UNINIT = 0,      /**< before RNDIS INIT */
	RNDIS_INITIALIZED = 1, /**< after INIT: queries, sets and data allowed */
	RNDIS_HALTED = 2,      /**< after HALT: nothing more until NVSP INIT starts over */
};

/** Negotiated state, readable by the owner. */
struct vmb_netvsp {
	struct vmb_netvsp_config cfg; /**< the configuration, defaults applied */
	uint32_t nvsp_version;        /**< NVSP_VERSION_*, 0 before INIT succeeded */
	uint32_t ndis_major, ndis_minor; /**< from NDIS_INIT */
	uint32_t mtu;                 /**< negotiated MTU (L3): min(guest's, cfg.mtu) */
	uint64_t ndis_caps;           /**< NVSP_NDIS_CONF_* the guest announced */
	/** Receive buffer (rxbuf) and send buffer (chim) as mapped by ops->map_buffer. */
	struct {
		uint8_t *addr;
		uint64_t len;
		uint32_t gpadl;
		bool connected;
	} rxbuf, chim;
	uint32_t rx_slots;      /**< receive-buffer slots of cfg.rx_slot_size bytes */
	uint32_t chim_sections; /**< send-buffer sections of cfg.chim_section_size bytes */
	enum vmb_netvsp_rndis_state rndis_state;
	uint32_t packet_filter; /**< NDIS_PACKET_TYPE_*; 0 = deliver nothing */
	bool link_up;           /**< media state the host reports (owner sets it; default up) */
	uint32_t rss_hash_types; /**< NDIS_HASH_* types; 0 = RSS off */
	uint8_t rss_key[NDIS_RSS_KEY_SIZE];
	uint32_t rss_key_len;
	uint32_t rss_indir[NDIS_RSS_INDIR_MAX]; /**< queue numbers, each <= subchannels */
	uint32_t rss_indir_count;
	uint32_t subchannels;   /**< granted; queues = subchannels + 1 (a new grant that no
				     longer covers rss_indir turns RSS off) */
	uint32_t offloads;      /**< VMB_NETVSP_OFF_* in effect (within cfg.offload_caps) */
	uint32_t datapath;      /**< NVSP_DATAPATH_* last asked for by the guest */
	uint8_t mcast[VMB_NETVSP_MCAST_MAX][6];
	uint32_t mcast_count;
	uint32_t changes;       /**< VMB_NETVSP_CHG_* since the owner last cleared them */
	/** Guest misbehaviour, counted (the engine keeps serving). */
	struct {
		uint64_t bad_nvsp;        /**< malformed NVSP message, bad id, unknown type */
		uint64_t bad_rndis;       /**< malformed RNDIS message or OID value */
		uint64_t unsupported_oid; /**< QUERY/SET of an OID not served */
		uint64_t out_of_order;    /**< valid message in the wrong state */
	} errors;
	/* private */
	const struct vmb_netvsp_ops *ops;
	void *ctx;
	bool ndis_inited;   /* NDIS_INIT seen */
	bool ndis_conf;     /* NDIS_CONF seen */
};

/**
 * Start an engine: the state of a freshly opened primary channel.
 *
 * @param s    engine
 * @param cfg  what the host offers (copied; zero fields take defaults, others are clamped to
 *             what the protocol allows)
 * @param ops  owner callbacks (kept by pointer; must outlive the engine)
 * @param ctx  first argument of every callback
 */
void vmb_netvsp_init(struct vmb_netvsp *s, const struct vmb_netvsp_config *cfg,
		     const struct vmb_netvsp_ops *ops, void *ctx);

/**
 * Stop an engine (primary channel closed): unmap the buffers the guest did not revoke. The
 * engine may be started again with vmb_netvsp_init().
 */
void vmb_netvsp_fini(struct vmb_netvsp *s);

/**
 * Handle one NVSP control message from the guest.
 *
 * Order enforced: INIT first (repeated until a version is agreed; again later only after both
 * buffers are revoked and RNDIS is not initialized), NDIS_CONF (optional, once, before the
 * receive buffer), NDIS_INIT (once), then buffers; SUBCH needs the receive buffer. Messages
 * newer than the agreed version are malformed.
 *
 * Responses: INIT (chooses the highest version <= 6.1 in the guest's range, else FAILED),
 * RXBUF_CONN (one section of cfg.rx_slot_size slots; FAILED on bad signature or mapping),
 * CHIM_CONN (section size cfg.chim_section_size; FAILED likewise), SUBCH. Padded to
 * #NVSP_MSG_SIZE (6.1) or #NVSP_MSG_SIZE_V1 (older; INIT_RESP always).
 *
 * @param s     engine
 * @param msg   private copy of the inband payload
 * @param len   its length
 * @param resp  response buffer
 * @param cap   its size (#NVSP_MSG_SIZE always suffices)
 * @return >0 response bytes in @p resp; 0 no response; -EPROTO malformed or out of order
 *         (counted, nothing changed); -ENOSPC @p cap too small (nothing changed); -EINVAL
 *         #NVSP_MSG_RNDIS or #NVSP_MSG_RNDIS_ACK, which are not control messages.
 */
int vmb_netvsp_nvsp_ctl(struct vmb_netvsp *s, const void *msg, uint32_t len, void *resp,
			uint32_t cap);

/**
 * Handle one RNDIS control message (INIT, QUERY, SET, RESET, KEEPALIVE, HALT).
 *
 * Needs a connected receive buffer (completions travel in it), except HALT, which DPDK guests
 * send after revoking it. Every request whose id can be
 * read gets a completion: a wrong state answers RNDIS_STATUS_FAILURE (out_of_order), a bad
 * OID value RNDIS_STATUS_INVALID_DATA (bad_rndis), an unknown OID RNDIS_STATUS_NOT_SUPPORTED
 * (unsupported_oid). QUERY/SET before INIT or after HALT fail; KEEPALIVE and RESET are
 * answered in any state.
 *
 * @param s     engine
 * @param msg   private copy of the RNDIS message (bytes after @p msg's len field ignored)
 * @param len   bytes at @p msg
 * @param resp  completion buffer (256 bytes always suffice)
 * @param cap   its size
 * @return >0 completion bytes in @p resp; 0 none (HALT); -EPROTO malformed (shorter than its
 *         header or than its len field, not a control request) or no receive buffer for
 *         the completion (counted, nothing changed); -ENOSPC @p cap too small (nothing
 *         changed).
 */
int vmb_netvsp_rndis_ctl(struct vmb_netvsp *s, const void *msg, uint32_t len, void *resp,
			 uint32_t cap);

/**
 * Build an RNDIS INDICATE_STATUS message without status buffer (20 bytes), e.g.
 * RNDIS_STATUS_MEDIA_CONNECT / _DISCONNECT after the owner changed vmb_netvsp::link_up. It
 * travels like a control completion (receive-buffer slot, channel type #NVSP_RNDIS_CTRL).
 *
 * @return bytes written, or -ENOSPC
 */
int vmb_netvsp_rndis_status(uint32_t status, void *out, uint32_t cap);

/**
 * Build the #NVSP_MSG_INDIRECTION_TABLE message (sent inband, no completion) that spreads the
 * guest's transmit over the primary channel and the granted subchannels, round robin. Hosts
 * send it once all subchannels are open.
 *
 * @return bytes written (76); 0 when the agreed version (< 5) has no such message; -ENOSPC
 */
int vmb_netvsp_indirection_msg(const struct vmb_netvsp *s, void *out, uint32_t cap);

#ifdef __cplusplus
}
#endif

#endif /* VMB_NETVSP_H */
