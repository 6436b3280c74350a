/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * netvsp side of net_vmb: the host's answers to the guest's NVSP and RNDIS control messages
 * (the protocol logic is the pure engine in vmb_netvsp.c; this file moves its messages on the
 * rings), RNDIS completions and status indications delivered through receive-buffer control
 * slots, and the host's link state. Runs on the control thread only (holding queue 0's RX half).
 */
#include <errno.h>
#include <string.h>

#include "vmb_eth.h"

/* Receive-buffer slot for a frame of the port's MTU with every per-packet info. */
static uint32_t
slot_size_for(uint32_t mtu)
{
	return RTE_ALIGN_CEIL(mtu + RTE_ETHER_HDR_LEN + 4 + rndis_pkt_hdr_len(true, true) + 64,
			      64);
}


static int
host_map(void *ctx, bool rxbuf, uint32_t gpadl, uint8_t **addr, uint64_t *len)
{
	struct vmb_eth_port *p = ctx;
	uint16_t qid;
	int rc = vmb_eth_link_map(p, rxbuf, gpadl, addr, len);

	if (rc)
		return rc;
	if (rxbuf) {
		p->slot_size = p->nvsp.cfg.rx_slot_size;
		p->nslots = (uint32_t)(*len / p->slot_size);
		p->rxbuf_len = *len;
		p->rxbuf = *addr;
		/* Queues already open get their share of the slots now. */
		for (qid = 0; qid < p->nq_open; qid++)
			if (atomic_load(&p->q[qid].ready))
				vmb_eth_queue_buffers(p, qid, 0);
	} else {
		p->sect_size = p->nvsp.cfg.chim_section_size;
		p->nsect = (uint32_t)(*len / p->sect_size);
		p->chim_len = *len;
		p->chim = *addr;
	}
	return 0;
}

static void
host_unmap(void *ctx, bool rxbuf)
{
	struct vmb_eth_port *p = ctx;

	vmb_eth_set_link(p, false);
	if (rxbuf) {
		p->rxbuf = NULL;
		p->nslots = 0;
	} else {
		p->chim = NULL;
		p->nsect = 0;
	}
	vmb_eth_link_unmap(p, rxbuf);
}

static int
host_subchannels(void *ctx, uint32_t requested, uint32_t *granted)
{
	*granted = vmb_eth_link_offer_subchannels(ctx, requested);
	return 0;
}

static const struct vmb_netvsp_ops host_ops = {
	.map_buffer = host_map,
	.unmap_buffer = host_unmap,
	.alloc_subchannels = host_subchannels,
};

int
vmb_eth_host_init(struct vmb_eth_port *p)
{
	struct vmb_netvsp_config cfg = {0};

	memcpy(cfg.mac, p->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	cfg.mtu = p->args.mtu;
	cfg.max_queues = p->args.queues;
	cfg.rx_slot_size = slot_size_for(p->args.mtu);
	cfg.chim_section_size = cfg.rx_slot_size > 6144 ? cfg.rx_slot_size : 6144;
	cfg.link_speed_100bps = 1000000000ull; /* 100 Gbit/s */
	cfg.max_pkts_per_msg = VMB_ETH_MAX_BATCH;
	vmb_netvsp_init(&p->nvsp, &cfg, &host_ops, p);
	p->ctl_slot_busy = 0;
	p->hpend.used = false;
	return 0;
}

void
vmb_eth_host_reset(struct vmb_eth_port *p)
{
	vmb_eth_set_link(p, false);
	p->rxbuf = NULL;
	p->chim = NULL;
	p->nslots = p->nsect = 0;
	vmb_eth_link_unmap(p, true);
	vmb_eth_link_unmap(p, false);
	vmb_eth_host_init(p);
}

void
vmb_eth_host_update_link(struct vmb_eth_port *p)
{
	bool up = atomic_load(&p->started) && p->rxbuf != NULL &&
		  p->nvsp.rndis_state == RNDIS_INITIALIZED;

	p->nvsp.link_up = atomic_load(&p->started);
	if (up != atomic_load(&p->link_up)) {
		vmb_eth_set_link(p, up);
		atomic_store(&p->status_pending, true);
	}
}

/* Send the pending answer. @return 0 (sent or dropped), -EAGAIN (try again later). */
static int
flush_pending(struct vmb_eth_queue *q)
{
	struct vmb_eth_port *p = q->port;
	struct vmb_eth_pending_ctl *pc = &p->hpend;
	int rc;

	if (!p->hpend.used)
		return 0;
	if (pc->type == VMB_PKT_COMPLETION) {
		rc = vmb_eth_write_ctl(q, VMB_PKT_COMPLETION, 0, pc->xid, pc->buf, pc->len, NULL, 0);
	} else {
		struct nvsp_rndis hdr = {.type = NVSP_MSG_RNDIS, .channel_type = NVSP_RNDIS_CTRL,
					 .chim_idx = NVSP_CHIM_IDX_NONE};
		struct vmb_xfer_range r;
		uint32_t slot;

		if (p->rxbuf == NULL || pc->len > p->slot_size) {
			p->hpend.used = false; /* nowhere to put it: the guest gave none */
			q->rxs.corrupt++;
			return 0;
		}
		for (slot = 0; slot < VMB_ETH_CTL_SLOTS; slot++)
			if (!(p->ctl_slot_busy & (1u << slot)))
				break;
		if (slot == VMB_ETH_CTL_SLOTS)
			return -EAGAIN; /* the guest has not completed the earlier ones yet */
		memcpy(p->rxbuf + (uint64_t)slot * p->slot_size, pc->buf, pc->len);
		r.byte_offset = slot * p->slot_size;
		r.byte_count = pc->len;
		rc = vmb_eth_write_ctl(q, VMB_PKT_XFER_PAGES, VMB_PKT_FLAG_RC,
				       VMB_ETH_XID_CTL | slot, &hdr, sizeof(hdr), &r, 1);
		if (rc == 0)
			p->ctl_slot_busy |= 1u << slot;
	}
	if (rc == -EBUSY || rc == -ENOSPC)
		return -EAGAIN;
	p->hpend.used = false;
	return 0;
}

int
vmb_eth_host_ctl(struct vmb_eth_queue *q, const struct vmb_pkt *pkt, const uint8_t *msg,
		 uint32_t len, uint32_t nvsp_type)
{
	struct vmb_eth_port *p = q->port;
	struct vmb_eth_pending_ctl *pc = &p->hpend;
	uint8_t copy[VMB_ETH_CTL_MAX];
	int rlen;

	if (flush_pending(q) != 0)
		return -EAGAIN;
	if (nvsp_type != NVSP_MSG_RNDIS) {
		/* NVSP message: read it once, out of the ring. */
		if (len > sizeof(copy))
			len = sizeof(copy);
		memcpy(copy, msg, len);
		rlen = vmb_netvsp_nvsp_ctl(&p->nvsp, copy, len, pc->buf, sizeof(pc->buf));
		/* A request that asked for a completion gets one even when the message has no
		 * answer of its own (NDIS_CONF, NDIS_INIT, SET_DATAPATH): some guests wait for it. */
		if (rlen >= 0 && (pkt->flags & VMB_PKT_FLAG_RC)) {
			pc->type = VMB_PKT_COMPLETION;
			pc->xid = pkt->xid;
			pc->len = (uint32_t)rlen;
			p->hpend.used = true;
		}
	} else {
		rlen = vmb_netvsp_rndis_ctl(&p->nvsp, msg, len, pc->buf, sizeof(pc->buf));
		if (rlen > 0) {
			pc->type = VMB_PKT_XFER_PAGES;
			pc->len = (uint32_t)rlen;
			p->hpend.used = true;
		}
		vmb_eth_host_update_link(p);
	}
	if (rlen < 0) {
		q->rxs.corrupt++;
		VMB_LOG(DEBUG, "%s: malformed control message (NVSP type %u) refused", p->name,
			nvsp_type);
	}
	flush_pending(q);
	return 0;
}

void
vmb_eth_host_ctl_tick(struct vmb_eth_queue *q)
{
	struct vmb_eth_port *p = q->port;
	struct vmb_eth_pending_ctl *pc = &p->hpend;
	int len;

	if (flush_pending(q) != 0)
		return;
	if (!atomic_load(&p->status_pending) || p->rxbuf == NULL ||
	    p->nvsp.rndis_state != RNDIS_INITIALIZED)
		return;
	len = vmb_netvsp_rndis_status(atomic_load(&p->link_up) ? RNDIS_STATUS_MEDIA_CONNECT
							       : RNDIS_STATUS_MEDIA_DISCONNECT,
				      pc->buf, sizeof(pc->buf));
	if (len <= 0)
		return;
	atomic_store(&p->status_pending, false);
	pc->type = VMB_PKT_XFER_PAGES;
	pc->len = (uint32_t)len;
	p->hpend.used = true;
	flush_pending(q);
}

void
vmb_eth_host_ctl_done(struct vmb_eth_queue *q, uint64_t xid)
{
	struct vmb_eth_port *p = q->port;
	uint32_t slot = (uint32_t)(xid & ~VMB_ETH_XID_CTL);

	if (slot >= VMB_ETH_CTL_SLOTS || !(p->ctl_slot_busy & (1u << slot))) {
		q->rxs.bad_completions++;
		return;
	}
	p->ctl_slot_busy &= ~(1u << slot);
	q->rxs.completions_received++;
}
