/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * net_vmb as a DPDK ethdev: vdev probe/remove, devargs, ethdev operations, statistics and the
 * control thread that serves the control plane (socket messages, NVSP/RNDIS control, link
 * events) so that lcores only ever run the bursts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <sched.h>

#include "rte_pmd_vmb.h"
#include "vmb_eth.h"

RTE_LOG_REGISTER(vmb_eth_logtype, pmd.net.vmb, NOTICE);

#define ARG_ROLE "role"
#define ARG_SOCKET "socket"
#define ARG_PAIR "pair"
#define ARG_QUEUES "queues"
#define ARG_RING_KB "ring_kb"
#define ARG_MAC "mac"
#define ARG_MTU "mtu"
#define ARG_MODE "mode"
#define ARG_COPY "copy_threshold"
#define ARG_RXBUF_KB "rxbuf_kb"
#define ARG_CHIMNEY_KB "chimney_kb"

static const char *const valid_args[] = {ARG_ROLE, ARG_SOCKET, ARG_PAIR,     ARG_QUEUES,
					 ARG_RING_KB, ARG_MAC, ARG_MTU, ARG_MODE,
					 ARG_COPY, ARG_RXBUF_KB, ARG_CHIMNEY_KB, NULL};

/* ---- devargs ---- */

static int
arg_u32(const char *key, const char *v, void *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 0);
	if (errno || *end || end == v || x > UINT32_MAX) {
		VMB_LOG(ERR, "bad value for %s: '%s'", key, v);
		return -EINVAL;
	}
	*(uint32_t *)out = (uint32_t)x;
	return 0;
}

static int
arg_str(const char *key, const char *v, void *out)
{
	struct vmb_eth_args *a = out;
	char *dst = strcmp(key, ARG_SOCKET) == 0 ? a->socket : a->pair;
	size_t cap = strcmp(key, ARG_SOCKET) == 0 ? sizeof(a->socket) : sizeof(a->pair);

	if (strlen(v) == 0 || strlen(v) >= cap) {
		VMB_LOG(ERR, "bad value for %s: '%s' (empty or too long)", key, v);
		return -EINVAL;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
arg_role(const char *key, const char *v, void *out)
{
	struct vmb_eth_args *a = out;

	(void)key;
	if (strcmp(v, "host") == 0)
		a->role = VMB_ETH_ROLE_HOST;
	else if (strcmp(v, "guest") == 0)
		a->role = VMB_ETH_ROLE_GUEST;
	else {
		VMB_LOG(ERR, "role must be host or guest, not '%s'", v);
		return -EINVAL;
	}
	return 0;
}

static int
arg_mode(const char *key, const char *v, void *out)
{
	struct vmb_eth_args *a = out;

	(void)key;
	if (strcmp(v, "poll") == 0)
		a->interrupt = false;
	else if (strcmp(v, "interrupt") == 0)
		a->interrupt = true;
	else {
		VMB_LOG(ERR, "mode must be poll or interrupt, not '%s'", v);
		return -EINVAL;
	}
	return 0;
}

static int
arg_mac(const char *key, const char *v, void *out)
{
	struct vmb_eth_args *a = out;

	if (rte_ether_unformat_addr(v, &a->mac) != 0) {
		VMB_LOG(ERR, "bad value for %s: '%s'", key, v);
		return -EINVAL;
	}
	a->mac_set = true;
	return 0;
}

static int
parse_args(const char *params, struct vmb_eth_args *a)
{
	struct rte_kvargs *kv;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	a->role = VMB_ETH_ROLE_HOST;
	a->queues = 1;
	a->ring_kb = 512;
	a->mtu = RTE_ETHER_MTU;
	a->copy_threshold = 0;
	a->rxbuf_kb = 16 * 1024;
	a->chimney_kb = 16 * 1024;
	if (params == NULL || params[0] == 0)
		goto check;
	kv = rte_kvargs_parse(params, valid_args);
	if (kv == NULL) {
		VMB_LOG(ERR, "cannot parse devargs '%s' (known keys: " RTE_PMD_VMB_PARAMS ")",
			params);
		return -EINVAL;
	}
	if (rte_kvargs_process(kv, ARG_ROLE, arg_role, a) ||
	    rte_kvargs_process(kv, ARG_SOCKET, arg_str, a) ||
	    rte_kvargs_process(kv, ARG_PAIR, arg_str, a) ||
	    rte_kvargs_process(kv, ARG_QUEUES, arg_u32, &a->queues) ||
	    rte_kvargs_process(kv, ARG_RING_KB, arg_u32, &a->ring_kb) ||
	    rte_kvargs_process(kv, ARG_MAC, arg_mac, a) ||
	    rte_kvargs_process(kv, ARG_MTU, arg_u32, &a->mtu) ||
	    rte_kvargs_process(kv, ARG_MODE, arg_mode, a) ||
	    rte_kvargs_process(kv, ARG_COPY, arg_u32, &a->copy_threshold) ||
	    rte_kvargs_process(kv, ARG_RXBUF_KB, arg_u32, &a->rxbuf_kb) ||
	    rte_kvargs_process(kv, ARG_CHIMNEY_KB, arg_u32, &a->chimney_kb))
		rc = -EINVAL;
	rte_kvargs_free(kv);
	if (rc)
		return rc;
check:
	if ((a->socket[0] != 0) == (a->pair[0] != 0)) {
		VMB_LOG(ERR, "give exactly one of socket=PATH or pair=NAME");
		return -EINVAL;
	}
	if (a->queues == 0 || a->queues > VMB_ETH_MAX_QUEUES) {
		VMB_LOG(ERR, "queues must be 1..%u", VMB_ETH_MAX_QUEUES);
		return -EINVAL;
	}
	if (a->ring_kb < 16 || a->ring_kb > 16384) {
		VMB_LOG(ERR, "ring_kb must be 16..16384");
		return -EINVAL;
	}
	if (a->mtu < RTE_ETHER_MIN_MTU || a->mtu > RTE_PMD_VMB_MAX_MTU) {
		VMB_LOG(ERR, "mtu must be %u..%u", RTE_ETHER_MIN_MTU, RTE_PMD_VMB_MAX_MTU);
		return -EINVAL;
	}
	if (a->rxbuf_kb < 256 || a->rxbuf_kb > 65536 || a->chimney_kb < 256 ||
	    a->chimney_kb > 65536) {
		VMB_LOG(ERR, "rxbuf_kb and chimney_kb must be 256..65536");
		return -EINVAL;
	}
	return 0;
}

/* ---- link ---- */

void
vmb_eth_set_link(struct vmb_eth_port *p, bool up)
{
	if (atomic_exchange(&p->link_up, up) != up)
		atomic_store(&p->lsc_pending, true);
	if (p->dev != NULL)
		p->dev->data->dev_link.link_status = up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
}

static int
vmb_link_update(struct rte_eth_dev *dev, int wait)
{
	struct vmb_eth_port *p = dev->data->dev_private;
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_100G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = atomic_load(&p->link_up) ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN,
	};

	(void)wait;
	return rte_eth_linkstatus_set(dev, &link);
}

/* ---- control thread ---- */

static void *
ctl_thread_main(void *arg)
{
	struct vmb_eth_port *p = arg;

	while (!atomic_load(&p->ctl_stop)) {
		uint32_t qid;

		pthread_mutex_lock(&p->ctl_lock);
		vmb_eth_link_poll(p, 0);
		for (qid = 0; qid < p->nq_open; qid++)
			if (qid == 0 || !atomic_load(&p->started))
				vmb_eth_service_queue(&p->q[qid]);
		pthread_mutex_unlock(&p->ctl_lock);
		if (atomic_exchange(&p->lsc_pending, false)) {
			vmb_link_update(p->dev, 0);
			rte_eth_dev_callback_process(p->dev, RTE_ETH_EVENT_INTR_LSC, NULL);
		}
		usleep(200);
	}
	return NULL;
}

int
vmb_eth_ctl_thread_start(struct vmb_eth_port *p)
{
	char name[RTE_MAX_THREAD_NAME_LEN];
	int rc;

	atomic_store(&p->ctl_stop, false);
	snprintf(name, sizeof(name), "vmb-ctl-%u", p->port_id);
	rc = rte_ctrl_thread_create(&p->ctl_thread, name, NULL, ctl_thread_main, p);
	if (rc == 0)
		p->ctl_thread_running = true;
	return -rc;
}

void
vmb_eth_ctl_thread_stop(struct vmb_eth_port *p)
{
	if (!p->ctl_thread_running)
		return;
	atomic_store(&p->ctl_stop, true);
	pthread_join(p->ctl_thread, NULL);
	p->ctl_thread_running = false;
}

/* ---- ethdev operations ---- */

static int
vmb_dev_configure(struct rte_eth_dev *dev)
{
	struct vmb_eth_port *p = dev->data->dev_private;
	uint16_t nq = dev->data->nb_rx_queues;
	int rc = 0;

	if (nq != dev->data->nb_tx_queues || nq == 0 || nq > VMB_ETH_MAX_QUEUES) {
		VMB_LOG(ERR, "%s: need as many RX as TX queues (1..%u): one channel per pair",
			p->name, VMB_ETH_MAX_QUEUES);
		return -EINVAL;
	}
	if (p->args.role == VMB_ETH_ROLE_GUEST) {
		pthread_mutex_lock(&p->ctl_lock);
		if (!p->negotiated || p->nsubch + 1u != nq)
			rc = vmb_eth_guest_negotiate(p, nq);
		pthread_mutex_unlock(&p->ctl_lock);
	}
	return rc;
}

static int
vmb_dev_start(struct rte_eth_dev *dev)
{
	struct vmb_eth_port *p = dev->data->dev_private;
	uint16_t i;

	for (i = 0; i < dev->data->nb_rx_queues; i++) {
		if (p->q[i].mp == NULL) {
			VMB_LOG(ERR, "%s: RX queue %u not set up", p->name, i);
			return -EINVAL;
		}
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	}
	atomic_store(&p->started, true);
	dev->data->dev_started = 1;
	if (p->args.role == VMB_ETH_ROLE_HOST)
		vmb_eth_host_update_link(p);
	vmb_link_update(dev, 0);
	return 0;
}

static int
vmb_dev_stop(struct rte_eth_dev *dev)
{
	struct vmb_eth_port *p = dev->data->dev_private;
	uint16_t i;

	atomic_store(&p->started, false);
	dev->data->dev_started = 0;
	for (i = 0; i < dev->data->nb_rx_queues; i++) {
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	}
	if (p->args.role == VMB_ETH_ROLE_HOST)
		vmb_eth_host_update_link(p);
	return 0;
}

static void
port_free(struct vmb_eth_port *p)
{
	uint16_t i;

	vmb_eth_ctl_thread_stop(p);
	if (p->args.role == VMB_ETH_ROLE_GUEST)
		vmb_eth_guest_close(p);
	vmb_eth_link_destroy(p);
	if (p->q) {
		for (i = 0; i < VMB_ETH_MAX_QUEUES; i++)
			vmb_eth_queue_free(&p->q[i]);
		rte_free(p->q);
		p->q = NULL;
	}
	pthread_mutex_destroy(&p->ctl_lock);
}

static int
vmb_dev_close(struct rte_eth_dev *dev)
{
	struct vmb_eth_port *p = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	port_free(p);
	dev->data->mac_addrs = NULL;
	return 0;
}

static int
vmb_dev_infos(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct vmb_eth_port *p = dev->data->dev_private;

	info->max_mac_addrs = 1;
	info->max_rx_pktlen = p->args.mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 4;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = p->args.mtu;
	info->max_rx_queues = (uint16_t)p->args.queues;
	info->max_tx_queues = (uint16_t)p->args.queues;
	info->min_rx_bufsize = 64;
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_VLAN_STRIP | RTE_ETH_RX_OFFLOAD_RSS_HASH |
				RTE_ETH_RX_OFFLOAD_SCATTER;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_VLAN_INSERT | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->rx_desc_lim.nb_max = UINT16_MAX;
	info->tx_desc_lim.nb_max = UINT16_MAX;
	info->default_rxportconf.burst_size = 32;
	info->default_txportconf.burst_size = 32;
	info->speed_capa = RTE_ETH_LINK_SPEED_100G;
	return 0;
}

static int
vmb_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		   const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	struct vmb_eth_port *p = dev->data->dev_private;

	(void)nb_desc;
	(void)socket;
	(void)conf;
	p->q[qid].mp = mp;
	dev->data->rx_queues[qid] = &p->q[qid];
	return 0;
}

static int
vmb_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		   const struct rte_eth_txconf *conf)
{
	struct vmb_eth_port *p = dev->data->dev_private;

	(void)nb_desc;
	(void)socket;
	(void)conf;
	dev->data->tx_queues[qid] = &p->q[qid];
	return 0;
}

static void
vmb_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	(void)dev;
	(void)qid;
}

static int
vmb_queue_state(struct rte_eth_dev *dev, uint16_t qid, bool rx, bool start)
{
	uint8_t *st = rx ? dev->data->rx_queue_state : dev->data->tx_queue_state;

	st[qid] = start ? RTE_ETH_QUEUE_STATE_STARTED : RTE_ETH_QUEUE_STATE_STOPPED;
	return 0;
}

static int
vmb_rxq_start(struct rte_eth_dev *dev, uint16_t qid)
{
	return vmb_queue_state(dev, qid, true, true);
}

static int
vmb_rxq_stop(struct rte_eth_dev *dev, uint16_t qid)
{
	return vmb_queue_state(dev, qid, true, false);
}

static int
vmb_txq_start(struct rte_eth_dev *dev, uint16_t qid)
{
	return vmb_queue_state(dev, qid, false, true);
}

static int
vmb_txq_stop(struct rte_eth_dev *dev, uint16_t qid)
{
	return vmb_queue_state(dev, qid, false, false);
}

static void
sum_stats(const struct vmb_eth_port *p, struct vmb_eth_qstats *out, uint16_t nq)
{
	const uint64_t *a;
	uint64_t *o = (uint64_t *)out;
	size_t k, n = sizeof(*out) / sizeof(uint64_t);
	uint16_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nq; i++) {
		a = (const uint64_t *)&p->q[i].rxs;
		for (k = 0; k < n; k++)
			o[k] += a[k];
		a = (const uint64_t *)&p->q[i].txs;
		for (k = 0; k < n; k++)
			o[k] += a[k];
	}
}

static int
vmb_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct vmb_eth_port *p = dev->data->dev_private;
	uint16_t i;

	for (i = 0; i < VMB_ETH_MAX_QUEUES; i++) {
		const struct vmb_eth_queue *q = &p->q[i];

		st->ipackets += q->rxs.rx_packets;
		st->ibytes += q->rxs.rx_bytes;
		st->imissed += q->rxs.rx_dropped;
		st->ierrors += q->rxs.rx_errors;
		st->rx_nombuf += q->rxs.rx_nombuf;
		st->opackets += q->txs.tx_packets;
		st->obytes += q->txs.tx_bytes;
		st->oerrors += q->txs.tx_errors;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			st->q_ipackets[i] = q->rxs.rx_packets;
			st->q_ibytes[i] = q->rxs.rx_bytes;
			st->q_opackets[i] = q->txs.tx_packets;
			st->q_obytes[i] = q->txs.tx_bytes;
			st->q_errors[i] = q->rxs.rx_errors;
		}
	}
	return 0;
}

static int
vmb_stats_reset(struct rte_eth_dev *dev)
{
	struct vmb_eth_port *p = dev->data->dev_private;
	uint16_t i;

	for (i = 0; i < VMB_ETH_MAX_QUEUES; i++) {
		memset(&p->q[i].rxs, 0, sizeof(p->q[i].rxs));
		memset(&p->q[i].txs, 0, sizeof(p->q[i].txs));
	}
	return 0;
}

/* xstats: every counter of struct vmb_eth_qstats, summed over queues, in field order. */
static const char *const xstat_names[] = {
	"rx_packets", "rx_bytes", "rx_nombuf", "rx_dropped_stopped", "rx_errors",
	"tx_packets", "tx_bytes", "tx_errors", "tx_ring_full", "tx_no_buffer",
	"tx_messages", "completions_sent", "completions_received", "bad_completions",
	"corrupt_input", "control_messages", "signals", "owner_busy",
};
_Static_assert(RTE_DIM(xstat_names) == sizeof(struct vmb_eth_qstats) / sizeof(uint64_t),
	       "one name per counter");

static int
vmb_xstats_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names, unsigned int size)
{
	unsigned int i;

	(void)dev;
	if (names == NULL || size < RTE_DIM(xstat_names))
		return RTE_DIM(xstat_names);
	for (i = 0; i < RTE_DIM(xstat_names); i++)
		snprintf(names[i].name, sizeof(names[i].name), "%s", xstat_names[i]);
	return RTE_DIM(xstat_names);
}

static int
vmb_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n)
{
	struct vmb_eth_port *p = dev->data->dev_private;
	struct vmb_eth_qstats sum;
	const uint64_t *v = (const uint64_t *)&sum;
	unsigned int i;

	if (xs == NULL || n < RTE_DIM(xstat_names))
		return RTE_DIM(xstat_names);
	sum_stats(p, &sum, VMB_ETH_MAX_QUEUES);
	for (i = 0; i < RTE_DIM(xstat_names); i++) {
		xs[i].id = i;
		xs[i].value = v[i];
	}
	return RTE_DIM(xstat_names);
}

static int
set_filter(struct rte_eth_dev *dev)
{
	struct vmb_eth_port *p = dev->data->dev_private;
	uint32_t f = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST |
		     NDIS_PACKET_TYPE_MULTICAST;
	int rc = 0;

	if (p->promisc)
		f |= NDIS_PACKET_TYPE_PROMISCUOUS;
	if (p->allmulti)
		f |= NDIS_PACKET_TYPE_ALL_MULTICAST;
	if (p->args.role == VMB_ETH_ROLE_GUEST && p->negotiated) {
		pthread_mutex_lock(&p->ctl_lock);
		rc = vmb_eth_guest_rndis_set_filter(p, f);
		pthread_mutex_unlock(&p->ctl_lock);
	}
	return rc;
}

static int
vmb_promisc_on(struct rte_eth_dev *dev)
{
	((struct vmb_eth_port *)dev->data->dev_private)->promisc = true;
	return set_filter(dev);
}

static int
vmb_promisc_off(struct rte_eth_dev *dev)
{
	((struct vmb_eth_port *)dev->data->dev_private)->promisc = false;
	return set_filter(dev);
}

static int
vmb_allmulti_on(struct rte_eth_dev *dev)
{
	((struct vmb_eth_port *)dev->data->dev_private)->allmulti = true;
	return set_filter(dev);
}

static int
vmb_allmulti_off(struct rte_eth_dev *dev)
{
	((struct vmb_eth_port *)dev->data->dev_private)->allmulti = false;
	return set_filter(dev);
}

static int
vmb_mac_set(struct rte_eth_dev *dev, struct rte_ether_addr *mac)
{
	struct vmb_eth_port *p = dev->data->dev_private;

	p->mac = *mac;
	if (p->args.role == VMB_ETH_ROLE_HOST)
		memcpy(p->nvsp.cfg.mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	return 0;
}

static int
vmb_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	struct vmb_eth_port *p = dev->data->dev_private;

	/* Buffers were sized for the devargs MTU when the guest connected. */
	return mtu <= p->args.mtu ? 0 : -EINVAL;
}

static const struct eth_dev_ops vmb_ops = {
	.dev_configure = vmb_dev_configure,
	.dev_start = vmb_dev_start,
	.dev_stop = vmb_dev_stop,
	.dev_close = vmb_dev_close,
	.dev_infos_get = vmb_dev_infos,
	.link_update = vmb_link_update,
	.stats_get = vmb_stats_get,
	.stats_reset = vmb_stats_reset,
	.xstats_get = vmb_xstats_get,
	.xstats_get_names = vmb_xstats_names,
	.xstats_reset = vmb_stats_reset,
	.promiscuous_enable = vmb_promisc_on,
	.promiscuous_disable = vmb_promisc_off,
	.allmulticast_enable = vmb_allmulti_on,
	.allmulticast_disable = vmb_allmulti_off,
	.mac_addr_set = vmb_mac_set,
	.mtu_set = vmb_mtu_set,
	.rx_queue_setup = vmb_rx_queue_setup,
	.tx_queue_setup = vmb_tx_queue_setup,
	.rx_queue_release = vmb_queue_release,
	.tx_queue_release = vmb_queue_release,
	.rx_queue_start = vmb_rxq_start,
	.rx_queue_stop = vmb_rxq_stop,
	.tx_queue_start = vmb_txq_start,
	.tx_queue_stop = vmb_txq_stop,
};

/* ---- private API (rte_pmd_vmb.h) ---- */

static struct vmb_eth_port *
vmb_port(uint16_t port_id)
{
	struct rte_eth_dev *dev;

	if (!rte_eth_dev_is_valid_port(port_id))
		return NULL;
	dev = &rte_eth_devices[port_id];
	return dev->dev_ops == &vmb_ops ? dev->data->dev_private : NULL;
}

int
rte_pmd_vmb_quiesce(uint16_t port_id)
{
	struct vmb_eth_port *p = vmb_port(port_id);
	uint32_t i;

	if (p == NULL)
		return -ENODEV;
	atomic_store(&p->quiesced, true);
	/* Every burst checks the flag inside its ownership window: once both halves of every
	 * queue have been seen free after the store, no burst can touch a ring any more. */
	for (i = 0; i < VMB_ETH_MAX_QUEUES; i++)
		while (atomic_load(&p->q[i].rx_owner) || atomic_load(&p->q[i].tx_owner))
			sched_yield();
	return 0;
}

int
rte_pmd_vmb_resume(uint16_t port_id)
{
	struct vmb_eth_port *p = vmb_port(port_id);

	if (p == NULL)
		return -ENODEV;
	atomic_store(&p->quiesced, false);
	return 0;
}

static uint32_t
ring_used(uint32_t from, uint32_t to, uint32_t size)
{
	return to >= from ? to - from : size - from + to;
}

int
rte_pmd_vmb_info_get(uint16_t port_id, struct rte_pmd_vmb_info *info)
{
	struct vmb_eth_port *p = vmb_port(port_id);
	uint32_t i;

	if (p == NULL)
		return -ENODEV;
	if (info == NULL)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->role = p->args.role == VMB_ETH_ROLE_HOST ? RTE_PMD_VMB_HOST : RTE_PMD_VMB_GUEST;
	info->link_up = atomic_load(&p->link_up);
	info->quiesced = atomic_load(&p->quiesced);
	info->nvsp_version = p->args.role == VMB_ETH_ROLE_HOST ? p->nvsp.nvsp_version
							       : p->nvsp_version;
	info->queues = p->nq_open;
	info->slot_size = p->slot_size;
	info->nslots = p->nslots;
	info->section_size = p->sect_size;
	info->nsections = p->nsect;
	for (i = 0; i < VMB_ETH_MAX_QUEUES && i < RTE_DIM(info->q); i++) {
		struct vmb_eth_queue *q = &p->q[i];
		struct rte_pmd_vmb_queue_info *qi = &info->q[i];

		qi->open = atomic_load(&q->ready);
		if (!qi->open || q->in.m.ctl == NULL || q->out.m.ctl == NULL)
			continue;
		qi->ring_size = q->in.m.size;
		/* Shared words: a snapshot for display only. */
		qi->rx_pending = ring_used(q->in.m.ctl->rindex, q->in.m.ctl->windex, q->in.m.size) %
				 (q->in.m.size + 1);
		qi->tx_pending = ring_used(q->out.m.ctl->rindex, q->out.m.ctl->windex,
					   q->out.m.size) % (q->out.m.size + 1);
		qi->buffers = q->buf_count;
		qi->free_buffers = q->free_bufs.v ? atomic_load(&q->free_bufs.head) -
						     atomic_load(&q->free_bufs.tail) + q->free_bufs.nstash
						   : 0;
	}
	return 0;
}

/* ---- probe / remove ---- */

static int
vmb_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct vmb_eth_port *p;
	struct vmb_eth_args args;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		VMB_LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	rc = parse_args(rte_vdev_device_args(vdev), &args);
	if (rc)
		return rc;
	if (args.copy_threshold)
		VMB_LOG(NOTICE, "%s: copy_threshold=%u accepted, but zero-copy RX is not built yet: "
			"every frame is copied", name, args.copy_threshold);
	if (args.interrupt)
		VMB_LOG(NOTICE, "%s: mode=interrupt signals the peer as the rings ask, but RX "
			"interrupts (rte_eth_dev_rx_intr_*) are not offered yet", name);
	dev = rte_eth_vdev_allocate(vdev, sizeof(*p));
	if (dev == NULL)
		return -ENOMEM;
	p = dev->data->dev_private;
	p->args = args;
	p->dev = dev;
	p->port_id = dev->data->port_id;
	snprintf(p->name, sizeof(p->name), "%s", name);
	pthread_mutex_init(&p->ctl_lock, NULL);
	if (args.mac_set) {
		p->mac = args.mac;
	} else {
		rte_eth_random_addr(p->mac.addr_bytes);
	}
	p->q = rte_zmalloc_socket(name, sizeof(*p->q) * VMB_ETH_MAX_QUEUES, RTE_CACHE_LINE_SIZE,
				  vdev->device.numa_node);
	if (p->q == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (uint16_t i = 0; i < VMB_ETH_MAX_QUEUES; i++) {
		p->q[i].port = p;
		p->q[i].qid = i;
		p->q[i].signal_fd = -1;
	}
	dev->data->mac_addrs = &p->mac;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->dev_ops = &vmb_ops;
	if (args.role == VMB_ETH_ROLE_HOST) {
		dev->rx_pkt_burst = vmb_eth_host_rx;
		dev->tx_pkt_burst = vmb_eth_host_tx;
		vmb_eth_host_init(p);
	} else {
		dev->rx_pkt_burst = vmb_eth_guest_rx;
		dev->tx_pkt_burst = vmb_eth_guest_tx;
	}
	rc = vmb_eth_link_create(p);
	if (rc)
		goto fail;
	rc = vmb_eth_ctl_thread_start(p);
	if (rc)
		goto fail;
	rte_eth_dev_probing_finish(dev);
	VMB_LOG(INFO, "%s: port %u, role %s, %s %s", name, p->port_id,
		args.role == VMB_ETH_ROLE_HOST ? "host" : "guest", args.pair[0] ? "pair" : "socket",
		args.pair[0] ? args.pair : args.socket);
	return 0;
fail:
	VMB_LOG(ERR, "%s: probe failed: %s", name, strerror(-rc));
	port_free(p);
	dev->data->mac_addrs = NULL;
	rte_eth_dev_release_port(dev);
	return rc;
}

static int
vmb_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0;
	vmb_dev_close(dev);
	return rte_eth_dev_release_port(dev);
}

static struct rte_vdev_driver vmb_driver = {
	.probe = vmb_probe,
	.remove = vmb_remove,
};

RTE_PMD_REGISTER_VDEV(net_vmb, vmb_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_vmb, RTE_PMD_VMB_PARAMS);
