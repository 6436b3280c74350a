/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef RTE_PMD_VMB_H
#define RTE_PMD_VMB_H
/**
 * @file
 * net_vmb: a DPDK poll-mode driver for Hyper-V synthetic NICs over user-space VMBus channels
 * (vmbchan). A port plays the host (netvsp: offers a NIC) or the guest (netvsc: uses it), over
 * a UNIX socket (two processes) or in-process with a named pair (both ends in one process).
 *
 * Devargs (RTE_PMD_VMB_PARAMS):
 *   role=host|guest        which end (default host)
 *   socket=PATH            VMBus control plane over a UNIX socket (host listens, guest connects)
 *   pair=NAME              in-process pair: a host port and a guest port with the same NAME
 *   queues=N               queue pairs = channels (primary + subchannels), 1..16 (default 1)
 *   ring_kb=N              ring size per direction in KiB (default 512)
 *   mac=XX:XX:XX:XX:XX:XX  host: the MAC the NIC reports; guest: overrides it (default random)
 *   mtu=N                  largest MTU (68..9000, default 1500): sizes buffer slots
 *   mode=poll|interrupt    signalling (default poll: nobody signals, lcores poll)
 *   copy_threshold=N       reserved for zero-copy RX (frames are copied today)
 *   rxbuf_kb=N, chimney_kb=N  guest: receive and send buffer sizes (default 16384 each)
 *
 * Exactly one of socket= and pair= is required.
 */
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest MTU the driver accepts. */
#define RTE_PMD_VMB_MAX_MTU 9000u

/** Devargs string registered with the driver (listed by dpdk-pmdinfo.py). */
#define RTE_PMD_VMB_PARAMS                                                                      \
	"role=<host|guest> socket=<path> pair=<name> queues=<1-16> ring_kb=<int> "             \
	"mac=<mac> mtu=<int> mode=<poll|interrupt> copy_threshold=<int> rxbuf_kb=<int> "         \
	"chimney_kb=<int>"

/** Role of a port. */
enum rte_pmd_vmb_role { RTE_PMD_VMB_HOST = 0, RTE_PMD_VMB_GUEST = 1 };

/** One queue pair (channel) as seen by rte_pmd_vmb_info_get(). */
struct rte_pmd_vmb_queue_info {
	uint8_t open;          /**< rings attached */
	uint32_t ring_size;    /**< data area bytes, each direction */
	uint32_t rx_pending;   /**< bytes waiting in the incoming ring */
	uint32_t tx_pending;   /**< bytes written but not yet read by the peer */
	uint32_t free_buffers; /**< host: free receive-buffer slots; guest: free send sections */
	uint32_t buffers;      /**< this queue's share of the buffer */
};

/** Port state (a snapshot, control thread). */
struct rte_pmd_vmb_info {
	enum rte_pmd_vmb_role role;
	uint8_t link_up;
	uint8_t quiesced;
	uint32_t nvsp_version;   /**< negotiated (0 before the guest initialized) */
	uint32_t queues;         /**< channels open */
	uint32_t slot_size, nslots; /**< receive buffer layout */
	uint32_t section_size, nsections; /**< send buffer layout */
	struct rte_pmd_vmb_queue_info q[16];
};

/**
 * Quiesce a port's data path: from now on its bursts return 0 without touching the rings, and
 * this call returns only when no lcore is inside one (a real barrier, unlike
 * rte_eth_dev_stop(), which does not wait for bursts in progress). Control thread.
 * @return 0; -ENODEV (not a net_vmb port).
 */
int rte_pmd_vmb_quiesce(uint16_t port_id);

/** Let the bursts run again after rte_pmd_vmb_quiesce(). @return 0 or -ENODEV. */
int rte_pmd_vmb_resume(uint16_t port_id);

/** Snapshot of the port's channels and buffers. @return 0 or -ENODEV / -EINVAL. */
int rte_pmd_vmb_info_get(uint16_t port_id, struct rte_pmd_vmb_info *info);

#ifdef __cplusplus
}
#endif

#endif /* RTE_PMD_VMB_H */
