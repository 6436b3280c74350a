/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * netvsc side of net_vmb: the guest's negotiation with the host, in the order a Hyper-V
 * netvsc guest uses: NVSP version (highest first, down to 2), NDIS configuration and version,
 * receive buffer and send buffer GPADLs, RNDIS initialize, queries (MAC, MTU, link), packet
 * filter, subchannels (one per extra queue pair). Requests go out on queue 0; answers come back
 * through the RX half (the control thread's, or an lcore's once the port runs) into one wait
 * slot. RNDIS requests travel in send-buffer section 0, kept for control.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmb_eth.h"

#define CTL_TIMEOUT_MS 3000
#define CTL_SECTION 0u

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Serve queue 0 ourselves, taking turns with the lcores and the control thread through the
 * ownership flag. On a started port the control pass stops at the first data packet (those are
 * the lcore's); answers come in packets of their own, so they are found either way. */
static void
pump(struct vmb_eth_port *p)
{
	vmb_eth_service_queue(&p->q[0]);
	usleep(20);
}

static int
wait_answer(struct vmb_eth_port *p)
{
	uint64_t deadline = now_ms() + CTL_TIMEOUT_MS;

	while (atomic_load_explicit(&p->wait.state, memory_order_acquire) != 2) {
		if (now_ms() > deadline) {
			atomic_store(&p->wait.state, 0);
			VMB_LOG(ERR, "%s: the host did not answer in %d ms", p->name,
				CTL_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		pump(p);
	}
	return 0;
}

static int
send_ctl(struct vmb_eth_port *p, uint16_t flags, uint64_t xid, const void *buf, uint32_t len)
{
	uint64_t deadline = now_ms() + CTL_TIMEOUT_MS;
	int rc;

	for (;;) {
		rc = vmb_eth_write_ctl(&p->q[0], VMB_PKT_INBAND, flags, xid, buf, len, NULL, 0);
		if (rc != -EBUSY && rc != -ENOSPC)
			return rc;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		pump(p);
	}
}

/* One NVSP request; @p resp (may be NULL: no answer expected) gets the completion payload. */
static int
nvsp_exec(struct vmb_eth_port *p, const void *req, uint32_t len, void *resp, uint32_t cap)
{
	uint64_t xid = VMB_ETH_XID_CTL | ++p->ctl_xid;
	int rc;

	if (resp) {
		p->wait.xid = xid;
		p->wait.rndis = false;
		atomic_store_explicit(&p->wait.state, 1, memory_order_release);
	}
	rc = send_ctl(p, resp ? VMB_PKT_FLAG_RC : 0, xid, req, len);
	if (rc || resp == NULL) {
		atomic_store(&p->wait.state, 0);
		return rc;
	}
	rc = wait_answer(p);
	if (rc == 0)
		memcpy(resp, p->wait.buf, p->wait.len < cap ? p->wait.len : cap);
	atomic_store(&p->wait.state, 0);
	return rc;
}

/* One RNDIS control request (its request id is set here) and its completion. */
static int
rndis_exec(struct vmb_eth_port *p, void *req, uint32_t len, void *resp, uint32_t cap,
	   uint32_t *rlen)
{
	struct nvsp_rndis m = {.type = NVSP_MSG_RNDIS, .channel_type = NVSP_RNDIS_CTRL,
			       .chim_idx = CTL_SECTION, .chim_size = len};
	uint32_t id = ++p->rndis_req_id;
	uint64_t xid = VMB_ETH_XID_CTL | ++p->ctl_xid;
	int rc;

	if (p->chim == NULL || len > p->sect_size)
		return -EINVAL;
	memcpy((uint8_t *)req + 8, &id, sizeof(id)); /* request id follows type and length */
	memcpy(p->chim + (uint64_t)CTL_SECTION * p->sect_size, req, len);
	p->wait.xid = id;
	p->wait.rndis = true;
	atomic_store_explicit(&p->wait.state, 1, memory_order_release);
	rc = send_ctl(p, VMB_PKT_FLAG_RC, xid, &m, sizeof(m));
	if (rc == 0)
		rc = wait_answer(p);
	if (rc == 0) {
		*rlen = p->wait.len < cap ? p->wait.len : cap;
		memcpy(resp, p->wait.buf, *rlen);
	}
	atomic_store(&p->wait.state, 0);
	return rc;
}

void
vmb_eth_guest_ctl_answer(struct vmb_eth_port *p, bool rndis, uint64_t xid, const void *buf,
			 uint32_t len)
{
	struct vmb_eth_ctl_wait *w = &p->wait;
	uint32_t id;

	if (atomic_load_explicit(&w->state, memory_order_acquire) != 1 || w->rndis != rndis)
		return;
	if (rndis) {
		if (len < 12)
			return;
		memcpy(&id, (const uint8_t *)buf + 8, sizeof(id));
		if (id != w->xid)
			return;
	} else if (xid != w->xid) {
		return; /* e.g. the acknowledgement of an RNDIS request's section */
	}
	w->len = len < sizeof(w->buf) ? len : sizeof(w->buf);
	memcpy(w->buf, buf, w->len);
	atomic_store_explicit(&w->state, 2, memory_order_release);
}

void
vmb_eth_guest_status(struct vmb_eth_port *p, const void *buf, uint32_t len)
{
	struct rndis_status_msg st;

	if (len < sizeof(st))
		return;
	memcpy(&st, buf, sizeof(st));
	if (st.status == RNDIS_STATUS_MEDIA_CONNECT)
		vmb_eth_set_link(p, true);
	else if (st.status == RNDIS_STATUS_MEDIA_DISCONNECT)
		vmb_eth_set_link(p, false);
}

static int
rndis_query(struct vmb_eth_port *p, uint32_t oid, void *out, uint32_t cap, uint32_t *got)
{
	struct rndis_query_req rq = {.type = RNDIS_MSG_QUERY, .len = sizeof(rq), .oid = oid};
	uint8_t resp[VMB_ETH_CTL_MAX];
	struct rndis_query_comp qc;
	uint32_t rlen;
	int rc = rndis_exec(p, &rq, sizeof(rq), resp, sizeof(resp), &rlen);

	if (rc)
		return rc;
	if (rlen < sizeof(qc))
		return -EPROTO;
	memcpy(&qc, resp, sizeof(qc));
	if (qc.type != RNDIS_MSG_QUERY_C || qc.status != RNDIS_STATUS_SUCCESS)
		return -ENOTSUP;
	/* The answer's offset counts from the request id field (8 bytes in). */
	if (qc.infobuf_len > cap || qc.infobuf_offset + 8ull + qc.infobuf_len > rlen)
		return -EPROTO;
	memcpy(out, resp + 8 + qc.infobuf_offset, qc.infobuf_len);
	*got = qc.infobuf_len;
	return 0;
}

static int
rndis_set(struct vmb_eth_port *p, uint32_t oid, const void *val, uint32_t len)
{
	uint8_t req[VMB_ETH_CTL_MAX], resp[VMB_ETH_CTL_MAX];
	struct rndis_set_req sr = {.type = RNDIS_MSG_SET, .len = (uint32_t)sizeof(sr) + len,
				   .oid = oid, .infobuf_len = len,
				   .infobuf_offset = (uint32_t)sizeof(sr) - 8};
	struct rndis_set_comp sc;
	uint32_t rlen;
	int rc;

	if (sizeof(sr) + len > sizeof(req))
		return -EINVAL;
	memcpy(req, &sr, sizeof(sr));
	memcpy(req + sizeof(sr), val, len);
	rc = rndis_exec(p, req, (uint32_t)sizeof(sr) + len, resp, sizeof(resp), &rlen);
	if (rc)
		return rc;
	if (rlen < sizeof(sc))
		return -EPROTO;
	memcpy(&sc, resp, sizeof(sc));
	return sc.type == RNDIS_MSG_SET_C && sc.status == RNDIS_STATUS_SUCCESS ? 0 : -ENOTSUP;
}

int
vmb_eth_guest_rndis_set_filter(struct vmb_eth_port *p, uint32_t filter)
{
	return rndis_set(p, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof(filter));
}

static int
nvsp_handshake(struct vmb_eth_port *p)
{
	static const uint32_t versions[] = {NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
					    NVSP_VERSION_4, NVSP_VERSION_2};
	struct nvsp_init_resp ir;
	unsigned int i;
	int rc = -EPROTO;

	for (i = 0; i < RTE_DIM(versions); i++) {
		struct nvsp_init in = {.type = NVSP_MSG_INIT, .ver_min = versions[i],
				       .ver_max = versions[i]};

		memset(&ir, 0, sizeof(ir));
		rc = nvsp_exec(p, &in, sizeof(in), &ir, sizeof(ir));
		if (rc)
			return rc;
		if (ir.type == NVSP_MSG_INIT_RESP && ir.status == NVSP_STATUS_OK) {
			p->nvsp_version = versions[i];
			break;
		}
	}
	if (i == RTE_DIM(versions)) {
		VMB_LOG(ERR, "%s: the host accepts no NVSP version we speak", p->name);
		return -EPROTO;
	}
	{
		struct nvsp_ndis_conf nc = {.type = NVSP_MSG_NDIS_CONF,
					    .mtu = p->args.mtu + RTE_ETHER_HDR_LEN,
					    .caps = NVSP_NDIS_CONF_VLAN};
		struct nvsp_ndis_init ni = {.type = NVSP_MSG_NDIS_INIT, .ndis_major = 6,
					    .ndis_minor = p->nvsp_version >= NVSP_VERSION_5 ? 30 : 1};

		rc = nvsp_exec(p, &nc, sizeof(nc), NULL, 0);
		if (rc == 0)
			rc = nvsp_exec(p, &ni, sizeof(ni), NULL, 0);
	}
	return rc;
}

static int
connect_buffers(struct vmb_eth_port *p)
{
	struct nvsp_rxbuf_conn rc_msg = {.type = NVSP_MSG_RXBUF_CONN, .sig = NVSP_RXBUF_SIG};
	struct nvsp_chim_conn cc_msg = {.type = NVSP_MSG_CHIM_CONN, .sig = NVSP_CHIM_SIG};
	struct nvsp_rxbuf_conn_resp rr;
	struct nvsp_chim_conn_resp cr;
	uint8_t *addr;
	int rc;

	if (p->rxbuf == NULL) {
		rc = vmb_eth_link_buffer(p, (uint64_t)p->args.rxbuf_kb * 1024, &addr,
					 &rc_msg.gpadl);
		if (rc)
			return rc;
		p->rxbuf = addr;
		p->rxbuf_len = (uint64_t)p->args.rxbuf_kb * 1024;
		p->rxbuf_gpadl = rc_msg.gpadl;
		rc = vmb_eth_link_buffer(p, (uint64_t)p->args.chimney_kb * 1024, &addr,
					 &cc_msg.gpadl);
		if (rc)
			return rc;
		p->chim_pending = addr;
		p->chim_gpadl = cc_msg.gpadl;
	}
	rc_msg.gpadl = p->rxbuf_gpadl;
	cc_msg.gpadl = p->chim_gpadl;
	rc = nvsp_exec(p, &rc_msg, sizeof(rc_msg), &rr, sizeof(rr));
	if (rc)
		return rc;
	if (rr.type != NVSP_MSG_RXBUF_CONN_RESP || rr.status != NVSP_STATUS_OK || rr.nsect != 1) {
		VMB_LOG(ERR, "%s: the host refused the receive buffer", p->name);
		return -EPROTO;
	}
	rc = nvsp_exec(p, &cc_msg, sizeof(cc_msg), &cr, sizeof(cr));
	if (rc)
		return rc;
	if (cr.type != NVSP_MSG_CHIM_CONN_RESP || cr.status != NVSP_STATUS_OK ||
	    cr.section_size == 0 || cr.section_size > (uint64_t)p->args.chimney_kb * 1024 / 4) {
		VMB_LOG(ERR, "%s: the host refused the send buffer", p->name);
		return -EPROTO;
	}
	p->sect_size = cr.section_size;
	p->chim_len = (uint64_t)p->args.chimney_kb * 1024;
	p->nsect = (uint32_t)(p->chim_len / p->sect_size);
	p->chim = p->chim_pending;
	return 0;
}

static int
rndis_init(struct vmb_eth_port *p)
{
	struct rndis_init_req ir = {.type = RNDIS_MSG_INIT, .len = sizeof(ir), .ver_major = 1,
				    .ver_minor = 0, .max_xfer_size = 0x4000};
	uint8_t resp[VMB_ETH_CTL_MAX];
	struct rndis_init_comp ic;
	uint32_t rlen, got, v;
	int rc = rndis_exec(p, &ir, sizeof(ir), resp, sizeof(resp), &rlen);

	if (rc)
		return rc;
	if (rlen < sizeof(ic))
		return -EPROTO;
	memcpy(&ic, resp, sizeof(ic));
	if (ic.type != RNDIS_MSG_INIT_C || ic.status != RNDIS_STATUS_SUCCESS) {
		VMB_LOG(ERR, "%s: RNDIS initialize refused", p->name);
		return -EPROTO;
	}
	p->host_max_pkts = ic.max_pkts ? ic.max_pkts : 1;
	p->host_pkt_align = ic.align < 12 ? 1u << ic.align : 8;
	if (p->host_pkt_align < 8)
		p->host_pkt_align = 8;
	if (!p->args.mac_set) {
		rc = rndis_query(p, OID_802_3_PERMANENT_ADDRESS, p->mac.addr_bytes,
				 RTE_ETHER_ADDR_LEN, &got);
		if (rc)
			return rc;
	}
	if (rndis_query(p, OID_GEN_MEDIA_CONNECT_STATUS, &v, sizeof(v), &got) == 0)
		vmb_eth_set_link(p, v == 0); /* 0 = connected */
	return 0;
}

int
vmb_eth_guest_negotiate(struct vmb_eth_port *p, uint32_t nq)
{
	uint32_t filter = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST |
			  NDIS_PACKET_TYPE_MULTICAST;
	uint16_t qid;
	int rc;

	if (p->negotiated)
		vmb_eth_guest_close(p);
	rc = vmb_eth_link_open_queue(p, 0);
	if (rc == 0)
		rc = nvsp_handshake(p);
	if (rc == 0)
		rc = connect_buffers(p);
	if (rc == 0)
		rc = rndis_init(p);
	p->nsubch = 0;
	if (rc == 0 && nq > 1) {
		struct nvsp_subch_req sr = {.type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOC,
					    .nsubch = nq - 1};
		struct nvsp_subch_resp sa;

		rc = nvsp_exec(p, &sr, sizeof(sr), &sa, sizeof(sa));
		if (rc == 0 && (sa.type != NVSP_MSG_SUBCH || sa.status != NVSP_STATUS_OK ||
				sa.nsubch != nq - 1)) {
			VMB_LOG(ERR, "%s: the host granted %u of %u subchannels", p->name,
				sa.nsubch, nq - 1);
			rc = -ENOSPC;
		}
		for (qid = 1; rc == 0 && qid < nq; qid++) {
			rc = vmb_eth_link_open_queue(p, qid);
			if (rc == 0)
				p->nsubch++;
		}
	}
	for (qid = 0; rc == 0 && qid < nq; qid++)
		rc = vmb_eth_queue_buffers(p, qid, nq);
	if (rc == 0) {
		if (p->promisc)
			filter |= NDIS_PACKET_TYPE_PROMISCUOUS;
		if (p->allmulti)
			filter |= NDIS_PACKET_TYPE_ALL_MULTICAST;
		rc = vmb_eth_guest_rndis_set_filter(p, filter);
	}
	if (rc) {
		VMB_LOG(ERR, "%s: negotiation with the host failed: %s", p->name, strerror(-rc));
		return rc;
	}
	p->negotiated = true;
	VMB_LOG(INFO, "%s: NVSP %#x, %u queue(s), send sections %u x %u B, receive buffer %" PRIu64
		" KiB, aggregation %u", p->name, p->nvsp_version, nq, p->nsect, p->sect_size,
		p->rxbuf_len >> 10, p->host_max_pkts);
	return 0;
}

void
vmb_eth_guest_close(struct vmb_eth_port *p)
{
	p->negotiated = false;
	vmb_eth_set_link(p, false);
}
