/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_ETH_H
#define VMB_ETH_H
/**
 * @file
 * Internals of the net_vmb poll-mode driver, shared by its files:
 *   vmb_eth_ethdev.c  probe/remove, devargs, ethdev ops, stats
 *   vmb_eth_link.c    where the channels come from: in-process pair, or the VMBus control plane
 *                     over a UNIX socket (host or guest side), and buffer GPADLs
 *   vmb_eth_host.c    netvsp: the host's NVSP/RNDIS control plane (vmb_netvsp engine), control
 *                     thread
 *   vmb_eth_guest.c   netvsc: the guest's negotiation (NVSP, buffers, RNDIS, subchannels)
 *   vmb_eth_rxtx.c    the bursts, straight on the rings
 *
 * One queue pair = one VMBus channel (queue 0 the primary, the others subchannels). Each ring
 * direction has one writer and one reader: the RX half of a queue reads the incoming ring, and
 * both halves may need to write the outgoing one (TX frames; completions owed by RX). DPDK lets
 * the two halves run on different lcores, so the outgoing ring and the incoming ring each carry
 * an ownership flag taken with one atomic exchange: the loser never waits, it leaves the work for
 * its next call. The control thread uses the same flags while the port is not started.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

#include <ethdev_driver.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_packet.h>
#include <vmb/vmb_ring.h>
#include <vmb/vmb_transport.h>

#include "vmb_eth_idxq.h"
#include "vmb_netvsp.h"
#include "vmb_nvsp.h"
#include "vmb_rndis.h"

extern int vmb_eth_logtype;
#define VMB_LOG(level, fmt, ...)                                                                \
	rte_log(RTE_LOG_##level, vmb_eth_logtype, "net_vmb: " fmt "\n", ##__VA_ARGS__)

#define VMB_ETH_MAX_QUEUES 16u
/** Frames per XFER_PAGES packet (host TX) and per aggregated send section (guest TX). */
#define VMB_ETH_MAX_BATCH 32u
/** Ranges accepted in one incoming XFER_PAGES packet (a hostile host may send more: refused). */
#define VMB_ETH_MAX_RANGES 256u
/** Completions the RX half may owe before it stops reading (back-pressure, never loss). */
#define VMB_ETH_MAX_OWED 1024u
/** Transaction-id tag of control transactions (NVSP requests, RNDIS control messages); data
 *  transactions use small ids, so a completion names its kind by this bit. */
#define VMB_ETH_XID_CTL (1ull << 62)
/** Host receive-buffer slots kept for control messages (RNDIS completions, status). */
#define VMB_ETH_CTL_SLOTS 8u
/** Largest control message (NVSP request or response, RNDIS control message). */
#define VMB_ETH_CTL_MAX 512u
/** NetVSC interface type GUID f8615163-df3e-46c5-913f-f2d2f965ed0e, as on the wire. */
#define VMB_ETH_NETVSC_GUID                                                                     \
	{                                                                                       \
		.b = {0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2, 0xd2,   \
		      0xf9, 0x65, 0xed, 0x0e }                                                  \
	}

enum vmb_eth_role { VMB_ETH_ROLE_HOST, VMB_ETH_ROLE_GUEST };

struct vmb_eth_port;
struct vmb_eth_link;

/** Per-queue counters (written by the owning half only; read by the control thread). */
struct vmb_eth_qstats {
	uint64_t rx_packets, rx_bytes, rx_nombuf, rx_dropped, rx_errors;
	uint64_t tx_packets, tx_bytes, tx_errors;
	uint64_t tx_ring_full;      /**< bursts cut short by a full ring */
	uint64_t tx_no_buffer;      /**< bursts cut short: no free slot/section */
	uint64_t tx_messages;       /**< VMBus packets written for frames */
	uint64_t completions_sent, completions_received, bad_completions;
	uint64_t corrupt;           /**< malformed input from the peer (packet dropped/counted) */
	uint64_t ctl_messages;      /**< control messages handled on this queue */
	uint64_t signals;           /**< eventfd signals sent (interrupt mode) */
	uint64_t owner_busy;        /**< calls that found the other half holding a ring */
};

/** Host: one XFER_PAGES packet in flight (its receive-buffer slots come back together). */
struct vmb_eth_xfer {
	_Atomic uint32_t busy;
	uint32_t n;
	uint32_t slot[VMB_ETH_MAX_BATCH];
};

/** A frame source being consumed across bursts (aggregated section, or XFER_PAGES ranges). */
struct vmb_eth_resume {
	bool active;
	uint64_t xid;            /**< transaction to complete when done */
	const uint8_t *base;     /**< host: section start; guest: receive buffer */
	uint32_t off, end;       /**< host: next message offset / section bytes */
	uint32_t idx, count;     /**< guest: next range / ranges */
};

/** One queue pair = one channel. rx_queues[q] and tx_queues[q] both point here. */
struct vmb_eth_queue {
	struct vmb_eth_port *port;
	uint16_t qid;
	_Atomic bool ready;          /**< rings attached and buffers set: bursts may run */
	bool intr;                   /**< interrupt mode: signal the peer when the ring says so */
	int signal_fd;

	/* ---- RX half (reads the incoming ring; owes completions) ---- */
	_Atomic uint32_t rx_owner __attribute__((aligned(64)));
	struct vmb_ring_reader in;
	struct rte_mempool *mp;
	struct vmb_eth_resume rs;
	uint32_t nowed;
	uint64_t owed[VMB_ETH_MAX_OWED];
	struct vmb_xfer_range ranges[VMB_ETH_MAX_RANGES];
	struct vmb_eth_qstats rxs;

	/* ---- TX half (writes the outgoing ring) ---- */
	_Atomic uint32_t tx_owner __attribute__((aligned(64)));
	struct vmb_ring_writer out;
	struct vmb_eth_qstats txs;
	/** Free buffers: host = receive-buffer slots, guest = send-buffer sections. */
	struct vmb_eth_idxq free_bufs;
	uint32_t buf_first, buf_count; /**< this queue's share of the buffer */
	/** Host: XFER_PAGES in flight, and the free entries. */
	struct vmb_eth_xfer *xfer;
	struct vmb_eth_idxq free_xfer;
	uint32_t nxfer;
	/** Guest: sections in flight (1 = waiting for the host's completion). */
	_Atomic uint8_t *sect_busy;

	/* ---- control ---- */
	struct vmb_channel *ch;      /**< the library channel carrying open/close */
	struct vmb_channel_link link;
	uint8_t *bounce;             /**< split-copy area when rings are not double mapped */
};

/** Guest: one control request waiting for its answer. */
struct vmb_eth_ctl_wait {
	_Atomic uint32_t state;      /**< 0 idle, 1 waiting, 2 answered */
	uint64_t xid;                /**< NVSP: transaction id; RNDIS: request id in the low bits */
	bool rndis;
	uint32_t len;
	uint8_t buf[VMB_ETH_CTL_MAX];
};

/** Host: one control answer waiting for ring space (control is sequential: one at a time). */
struct vmb_eth_pending_ctl {
	bool used;
	uint16_t type;   /**< VMB_PKT_COMPLETION (NVSP answer) or VMB_PKT_XFER_PAGES (RNDIS) */
	uint64_t xid;
	uint32_t len;
	uint8_t buf[VMB_ETH_CTL_MAX];
};

/** Devargs. */
struct vmb_eth_args {
	enum vmb_eth_role role;
	char socket[108];
	char pair[64];
	uint32_t queues;
	uint32_t ring_kb;            /**< each direction */
	struct rte_ether_addr mac;
	bool mac_set;
	uint32_t mtu;
	bool interrupt;
	uint32_t copy_threshold;     /**< RX: frames >= this are attached zero copy (0 = never) */
	uint32_t rxbuf_kb, chimney_kb;
};

struct vmb_eth_port {
	struct vmb_eth_args args;
	struct rte_eth_dev *dev;
	uint16_t port_id;
	char name[RTE_ETH_NAME_MAX_LEN];
	struct rte_ether_addr mac;
	struct vmb_eth_queue *q;       /**< VMB_ETH_MAX_QUEUES entries */
	uint32_t nq_open;              /**< channels with rings attached */
	_Atomic bool started;
	_Atomic bool quiesced;         /**< rte_pmd_vmb_quiesce(): bursts return 0 */
	_Atomic bool link_up;
	_Atomic bool lsc_pending;      /**< link changed: the control thread raises the event */
	bool promisc, allmulti;

	/* Buffers as this process sees them. */
	uint8_t *rxbuf;                /**< NVSP receive buffer (host writes, guest reads) */
	uint64_t rxbuf_len;
	uint32_t slot_size, nslots;    /**< host's fixed sub-allocations of the receive buffer */
	uint8_t *chim;                 /**< send buffer (guest writes, host reads) */
	uint64_t chim_len;
	uint32_t sect_size, nsect;
	const struct vmb_guest_mem *gmem; /**< guest memory (GPA direct) */

	struct vmb_eth_link *lk;

	/* Host (netvsp). */
	struct vmb_netvsp nvsp;
	uint32_t ctl_slot_busy;        /**< bit per control slot in flight (queue 0 RX half) */
	struct vmb_eth_pending_ctl hpend;
	_Atomic bool status_pending;   /**< send an RNDIS media status indication */

	/* Guest (netvsc). */
	uint32_t rxbuf_gpadl, chim_gpadl;
	uint8_t *chim_pending;         /**< send buffer until the host accepted it */
	uint32_t nvsp_version;
	uint32_t host_max_pkts, host_pkt_align;
	uint32_t rndis_req_id;
	uint64_t ctl_xid;
	struct vmb_eth_ctl_wait wait;
	bool negotiated;
	uint32_t nsubch;

	/* Control thread (both roles): serves the control plane while no lcore polls. */
	pthread_t ctl_thread;
	bool ctl_thread_running;
	_Atomic bool ctl_stop;
	pthread_mutex_t ctl_lock;      /**< control operations against each other (never data path) */
};

/* ---- ownership flags (never wait) ---- */
static inline bool
vmb_eth_try_own(_Atomic uint32_t *flag)
{
	return atomic_load_explicit(flag, memory_order_relaxed) == 0 &&
	       atomic_exchange_explicit(flag, 1, memory_order_acquire) == 0;
}

static inline void
vmb_eth_release(_Atomic uint32_t *flag)
{
	atomic_store_explicit(flag, 0, memory_order_release);
}

/* ---- vmb_eth_rxtx.c ---- */
uint16_t vmb_eth_host_rx(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vmb_eth_host_tx(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vmb_eth_guest_rx(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vmb_eth_guest_tx(void *q, struct rte_mbuf **pkts, uint16_t n);
/** Control thread: run the RX half with no mbufs (control messages; frames of a stopped port
 *  are dropped and counted). @return messages handled, or -1 when the RX half is busy. */
int vmb_eth_service_queue(struct vmb_eth_queue *q);
/** Write one control packet (inband or completion) on queue @p q, taking the TX half for it.
 *  @return 0, -EBUSY (TX half busy: retry), -ENOSPC (ring full), -EIO. */
int vmb_eth_write_ctl(struct vmb_eth_queue *q, uint16_t type, uint16_t flags, uint64_t xid,
		      const void *buf, uint32_t len, const void *ranges, uint32_t nranges);
/** Attach the rings of an opened channel to queue @p qid. Control thread. */
int vmb_eth_queue_attach(struct vmb_eth_port *p, uint16_t qid, struct vmb_channel *ch);
/** Stop using the rings of queue @p qid (waits for both halves to be idle). Control thread. */
void vmb_eth_queue_detach(struct vmb_eth_port *p, uint16_t qid);
/** Split the buffers among @p nq queues and fill the free lists. Control thread. */
int vmb_eth_queue_buffers(struct vmb_eth_port *p, uint16_t qid, uint32_t nq);
void vmb_eth_queue_free(struct vmb_eth_queue *q);

/* ---- vmb_eth_host.c ---- */
int vmb_eth_host_init(struct vmb_eth_port *p);
/** The guest went away: forget its buffers and negotiation (control thread). */
void vmb_eth_host_reset(struct vmb_eth_port *p);
/** Recompute the host link (port started and guest initialized) and tell the guest. */
void vmb_eth_host_update_link(struct vmb_eth_port *p);
/** A control message arrived on queue 0 of a host port (RX half held). @p rp the ring packet.
 *  @return 0 (handled), -EAGAIN (retry later: keep the packet), or -EPROTO (counted). */
int vmb_eth_host_ctl(struct vmb_eth_queue *q, const struct vmb_pkt *pkt, const uint8_t *msg,
		     uint32_t len, uint32_t nvsp_type);
/** Host RX half of queue 0: send what the control plane has queued (status indications). */
void vmb_eth_host_ctl_tick(struct vmb_eth_queue *q);
/** Host: the guest completed control transaction @p xid (a control slot comes back). */
void vmb_eth_host_ctl_done(struct vmb_eth_queue *q, uint64_t xid);

/* ---- vmb_eth_guest.c ---- */
/** Negotiate with the host and open @p nq queues (control thread). */
int vmb_eth_guest_negotiate(struct vmb_eth_port *p, uint32_t nq);
int vmb_eth_guest_rndis_set_filter(struct vmb_eth_port *p, uint32_t filter);
/** The guest's RX half met a control answer (NVSP completion or RNDIS completion). */
void vmb_eth_guest_ctl_answer(struct vmb_eth_port *p, bool rndis, uint64_t xid, const void *buf,
			      uint32_t len);
/** The guest's RX half met an RNDIS status indication. */
void vmb_eth_guest_status(struct vmb_eth_port *p, const void *buf, uint32_t len);
void vmb_eth_guest_close(struct vmb_eth_port *p);

/* ---- vmb_eth_link.c ---- */
/** Where the channels come from (pair or socket), per port. */
int vmb_eth_link_create(struct vmb_eth_port *p);
void vmb_eth_link_destroy(struct vmb_eth_port *p);
/** Guest: open channel @p qid (0 = primary) and attach its rings. */
int vmb_eth_link_open_queue(struct vmb_eth_port *p, uint16_t qid);
/** Guest: allocate a buffer of @p len bytes in guest memory and a GPADL for it. */
int vmb_eth_link_buffer(struct vmb_eth_port *p, uint64_t len, uint8_t **addr, uint32_t *gpadl);
/** Host: map the guest's GPADL @p gpadl. */
int vmb_eth_link_map(struct vmb_eth_port *p, bool rxbuf, uint32_t gpadl, uint8_t **addr,
		     uint64_t *len);
void vmb_eth_link_unmap(struct vmb_eth_port *p, bool rxbuf);
/** Host: make subchannels 1..n openable. @return granted. */
uint32_t vmb_eth_link_offer_subchannels(struct vmb_eth_port *p, uint32_t n);
/** Control thread step of the link (socket messages). */
void vmb_eth_link_poll(struct vmb_eth_port *p, int timeout_ms);

/* ---- vmb_eth_ethdev.c ---- */
/** Control thread start/stop (both roles). */
int vmb_eth_ctl_thread_start(struct vmb_eth_port *p);
void vmb_eth_ctl_thread_stop(struct vmb_eth_port *p);
void vmb_eth_set_link(struct vmb_eth_port *p, bool up);

#endif /* VMB_ETH_H */
