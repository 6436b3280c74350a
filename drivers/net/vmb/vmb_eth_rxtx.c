/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The data path of net_vmb: rx/tx bursts straight on the VMBus rings, in both roles.
 *
 *   guest TX: frames (RNDIS PACKET + frame) packed into a send-buffer section, several per
 *             section (aggregation), announced by one inband NVSP RNDIS message per section;
 *             the host's completion gives the section back.
 *   host RX:  reads those messages, copies the frames out of the section into mbufs, owes the
 *             guest one completion per section (written in a batch at the end of the burst).
 *   host TX:  frames copied into receive-buffer slots, ONE XFER_PAGES packet per burst with one
 *             range per frame; the guest's completion gives the slots back.
 *   guest RX: reads the XFER_PAGES packet, copies each range's frame into an mbuf, owes one
 *             completion per packet.
 * Control messages travel on queue 0 in the same packets and are handed to the role's control
 * code (vmb_eth_host.c / vmb_eth_guest.c).
 *
 * Everything read from the rings and buffers was written by the peer: each header is read once
 * into locals (the ring layer copies descriptors, rndis_pkt_parse reads the RNDIS header once),
 * every offset is checked against the buffer it names, and a bad packet is counted and dropped
 * (the port keeps running). No locks, no heap, no syscalls (interrupt mode signals excepted).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "vmb_eth.h"

/* Bytes a writer must see free before it reserves @p pkt_len: the trailer, and 8 more so the
 * ring never becomes exactly full (which would read as empty). */
#define ROOM(pkt_len) ((pkt_len) + 2 * VMB_RING_TRAILER_SIZE)

static inline bool
have_room(struct vmb_ring_writer *w, uint32_t pkt_len)
{
	if (vmb_ring_writer_free(w) >= ROOM(pkt_len))
		return true;
	if (vmb_ring_writer_refresh(w) != VMB_RING_OK)
		return false;
	return vmb_ring_writer_free(w) >= ROOM(pkt_len);
}

static inline void
signal_peer(struct vmb_eth_queue *q, bool need, struct vmb_eth_qstats *st)
{
	uint64_t one = 1;

	if (need && q->intr && q->signal_fd >= 0) {
		if (write(q->signal_fd, &one, sizeof(one)) == sizeof(one))
			st->signals++;
	}
}

/* A queue whose peer broke the ring rules stops; the port and the other queues go on. */
static void
poison(struct vmb_eth_queue *q, const char *why)
{
	q->rxs.corrupt++;
	atomic_store_explicit(&q->ready, false, memory_order_relaxed);
	VMB_LOG(ERR, "%s queue %u: peer broke the ring (%s): queue stopped", q->port->name, q->qid,
		why);
}

/* Take one half of a queue for a burst: the queue must be running, the half free, and the port
 * not quiesced. The quiesce flag is read while owning the half: rte_pmd_vmb_quiesce() stores it
 * and then waits for the owner flags, so a burst either sees it or finishes before the wait
 * ends (the exchange is a full barrier on x86, the only target). */
static inline bool
take_half(struct vmb_eth_queue *q, _Atomic uint32_t *half)
{
	if (unlikely(!atomic_load_explicit(&q->ready, memory_order_acquire)))
		return false;
	if (unlikely(!vmb_eth_try_own(half))) {
		q->txs.owner_busy += half == &q->tx_owner;
		return false;
	}
	if (unlikely(atomic_load_explicit(&q->port->quiesced, memory_order_relaxed))) {
		vmb_eth_release(half);
		return false;
	}
	return true;
}

/* ---- completions owed by the RX half ---- */

static void
flush_owed(struct vmb_eth_queue *q)
{
	struct nvsp_rndis_ack ack = {.type = NVSP_MSG_RNDIS_ACK, .status = NVSP_STATUS_OK};
	uint32_t i, done = 0;
	bool sig;

	if (q->nowed == 0)
		return;
	if (!vmb_eth_try_own(&q->tx_owner)) {
		q->rxs.owner_busy++;
		return;
	}
	for (i = 0; i < q->nowed; i++) {
		if (!have_room(&q->out, vmb_pkt_inband_len(sizeof(ack))) ||
		    vmb_pkt_write_completion(&q->out, q->owed[i], &ack, sizeof(ack)) != VMB_RING_OK)
			break;
		done++;
	}
	sig = vmb_ring_write_commit(&q->out);
	signal_peer(q, sig, &q->rxs);
	vmb_eth_release(&q->tx_owner);
	q->rxs.completions_sent += done;
	if (done < q->nowed)
		memmove(q->owed, q->owed + done, (q->nowed - done) * sizeof(q->owed[0]));
	q->nowed -= done;
}

static inline void
owe(struct vmb_eth_queue *q, uint64_t xid)
{
	/* Callers stop reading before the list can overflow (nowed < VMB_ETH_MAX_OWED). */
	q->owed[q->nowed++] = xid;
}

int
vmb_eth_write_ctl(struct vmb_eth_queue *q, uint16_t type, uint16_t flags, uint64_t xid,
		  const void *buf, uint32_t len, const void *ranges, uint32_t nranges)
{
	enum vmb_ring_status st;
	uint32_t plen;
	bool sig;

	if (q->out.m.ctl == NULL)
		return -EIO;
	if (!vmb_eth_try_own(&q->tx_owner))
		return -EBUSY;
	switch (type) {
	case VMB_PKT_XFER_PAGES:
		plen = vmb_pkt_xfer_pages_len(nranges, len);
		break;
	case VMB_PKT_GPA_DIRECT:
		plen = vmb_pkt_gpa_direct_len(ranges, nranges, len);
		break;
	default:
		plen = vmb_pkt_inband_len(len);
	}
	if (plen == 0 || !have_room(&q->out, plen)) {
		vmb_eth_release(&q->tx_owner);
		return -ENOSPC;
	}
	switch (type) {
	case VMB_PKT_XFER_PAGES:
		st = vmb_pkt_write_xfer_pages(&q->out, xid, VMB_PKT_FLAG_RC, NVSP_RXBUF_SIG, ranges,
					      nranges, buf, len);
		break;
	case VMB_PKT_GPA_DIRECT:
		st = vmb_pkt_write_gpa_direct(&q->out, xid, VMB_PKT_FLAG_RC, ranges, nranges, buf,
					      len);
		break;
	case VMB_PKT_COMPLETION:
		st = vmb_pkt_write_completion(&q->out, xid, buf, len);
		break;
	default:
		st = vmb_pkt_write_inband(&q->out, xid, flags, buf, len);
	}
	sig = st == VMB_RING_OK && vmb_ring_write_commit(&q->out);
	signal_peer(q, sig, &q->txs);
	vmb_eth_release(&q->tx_owner);
	return st == VMB_RING_OK ? 0 : st == VMB_RING_FULL ? -ENOSPC : -EIO;
}

/* Next packet of the incoming ring, decoded. @return 1 (got one), 0 (stop: empty, or the ring
 * broke the rules and the queue is poisoned), -1 (a malformed packet on a sound ring: dropped,
 * counted; read on). */
static inline int
next_packet(struct vmb_eth_queue *q, const struct vmb_pkt_limits *lim,
	    struct vmb_pkt_ranges *rg, struct vmb_ring_pkt *rp, struct vmb_pkt *pkt)
{
	enum vmb_ring_status st = vmb_ring_read(&q->in, rp);

	if (st == VMB_RING_EMPTY)
		return 0;
	if (unlikely(st != VMB_RING_OK)) {
		poison(q, vmb_ring_status_str(st));
		return 0;
	}
	if (unlikely(vmb_pkt_decode(rp, lim, pkt, rg) != VMB_PKT_OK)) {
		q->rxs.corrupt++;
		return -1;
	}
	return 1;
}

/* End of an RX pass: publish what was read (signalling a writer waiting for room) and write
 * the completions owed. */
static inline void
end_rx_pass(struct vmb_eth_queue *q)
{
	bool sig = vmb_ring_read_commit(&q->in);

	signal_peer(q, sig, &q->rxs);
	flush_owed(q);
}

/* ---- frame <-> mbuf copies ---- */

/* Copy @p len bytes of a frame into a new mbuf chain from @p mp. NULL when out of mbufs. */
static inline struct rte_mbuf *
frame_to_mbuf(struct rte_mempool *mp, const uint8_t *src, uint32_t len)
{
	struct rte_mbuf *head = rte_pktmbuf_alloc(mp), *m = head, *prev;
	uint32_t room, n, left = len;

	if (unlikely(head == NULL))
		return NULL;
	room = rte_pktmbuf_tailroom(m);
	if (likely(len <= room)) {
		rte_memcpy(rte_pktmbuf_mtod(m, void *), src, len);
		m->data_len = (uint16_t)len;
		m->pkt_len = len;
		return m;
	}
	/* Jumbo frame: a chain of segments. */
	for (;;) {
		n = left < room ? left : room;
		rte_memcpy(rte_pktmbuf_mtod(m, void *), src, n);
		m->data_len = (uint16_t)n;
		src += n;
		left -= n;
		if (left == 0)
			break;
		prev = m;
		m = rte_pktmbuf_alloc(mp);
		if (m == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		prev->next = m;
		head->nb_segs++;
		room = rte_pktmbuf_tailroom(m);
	}
	head->pkt_len = len;
	return head;
}

static inline void
mbuf_to_buf(const struct rte_mbuf *m, uint8_t *dst)
{
	if (likely(m->nb_segs == 1)) {
		rte_memcpy(dst, rte_pktmbuf_mtod(m, const void *), m->data_len);
		return;
	}
	for (; m != NULL; m = m->next) {
		rte_memcpy(dst, rte_pktmbuf_mtod(m, const void *), m->data_len);
		dst += m->data_len;
	}
}

/* Deliver one RNDIS PACKET (already parsed) as an mbuf. @return 1 if an mbuf was produced. */
static inline int
deliver(struct vmb_eth_queue *q, const uint8_t *msg, const struct rndis_pkt_info *pi,
	struct rte_mbuf **out)
{
	struct rte_mbuf *m;

	if (out == NULL) { /* port stopped: the control thread drains */
		q->rxs.rx_dropped++;
		return 0;
	}
	m = frame_to_mbuf(q->mp, msg + pi->data_off, pi->data_len);
	if (unlikely(m == NULL)) {
		q->rxs.rx_nombuf++;
		return 0;
	}
	m->port = q->port->port_id;
	if (pi->has_vlan) {
		m->vlan_tci = pi->vlan_tci;
		m->ol_flags |= RTE_MBUF_F_RX_VLAN;
	}
	if (pi->has_hash) {
		m->hash.rss = pi->hash_value;
		m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
	}
	q->rxs.rx_packets++;
	q->rxs.rx_bytes += pi->data_len;
	*out = m;
	return 1;
}

/* ---- host RX ---- */

/* Frames of the aggregated section being consumed (q->rs), up to @p n mbufs. */
static uint16_t
host_drain_section(struct vmb_eth_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vmb_eth_resume *rs = &q->rs;
	struct rndis_pkt_info pi;
	uint16_t got = 0;

	while (rs->off < rs->end && (pkts == NULL || got < n)) {
		const uint8_t *msg = rs->base + rs->off;

		if (unlikely(rndis_pkt_parse(msg, rs->end - rs->off, &pi) != 0 || pi.msg_len == 0)) {
			/* The rest of the section cannot be trusted: drop it, counted; the guest
			 * still gets its section back. */
			q->rxs.corrupt++;
			q->rxs.rx_errors++;
			rs->off = rs->end;
			break;
		}
		got += (uint16_t)deliver(q, msg, &pi, pkts ? &pkts[got] : NULL);
		rs->off += pi.msg_len;
	}
	if (rs->off >= rs->end) {
		rs->active = false;
		owe(q, rs->xid);
	}
	return got;
}

/* Copy the bytes of a GPA_DIRECT packet's ranges into @p dst (at most @p cap). @return bytes,
 * or 0 if a range does not lie in guest memory. */
static uint32_t
gather_gpa(const struct vmb_eth_port *p, const struct vmb_gpa_range *r, uint32_t nr,
	   const uint64_t *pfns, uint8_t *dst, uint32_t cap)
{
	uint32_t i, done = 0;

	for (i = 0; i < nr; i++) {
		uint32_t off = r[i].byte_offset, left = r[i].byte_count, pg = r[i].first_pfn;

		while (left) {
			uint32_t n = VMB_PAGE_SIZE - off;
			const uint8_t *src;

			if (n > left)
				n = left;
			if (done + n > cap)
				return 0;
			src = vmb_mem_gpa_ptr(p->gmem, pfns[pg] * VMB_PAGE_SIZE + off, n);
			if (src == NULL)
				return 0;
			memcpy(dst + done, src, n);
			done += n;
			left -= n;
			off = 0;
			pg++;
		}
	}
	return done;
}

/* One NVSP RNDIS (107) message from the guest. @return frames delivered, or -EAGAIN to read the
 * packet again later. */
static int
host_on_rndis(struct vmb_eth_queue *q, const struct vmb_pkt *pkt, const struct nvsp_rndis *m,
	      struct rte_mbuf **pkts, uint16_t n, const struct vmb_gpa_range *gr, const uint64_t *pfns)
{
	struct vmb_eth_port *p = q->port;

	if (m->channel_type == NVSP_RNDIS_DATA && pkt->type == VMB_PKT_INBAND) {
		if (unlikely(m->chim_idx >= p->nsect || m->chim_size > p->sect_size ||
			     m->chim_size == 0)) {
			q->rxs.corrupt++;
			q->rxs.rx_errors++;
			owe(q, pkt->xid);
			return 0;
		}
		q->rs.active = true;
		q->rs.xid = pkt->xid;
		q->rs.base = p->chim + (uint64_t)m->chim_idx * p->sect_size;
		q->rs.off = 0;
		q->rs.end = m->chim_size;
		return host_drain_section(q, pkts, n);
	}
	if (m->channel_type == NVSP_RNDIS_DATA && pkt->type == VMB_PKT_GPA_DIRECT) {
		/* Zero-copy send from the guest: one RNDIS message over the ranges. */
		static __thread uint8_t scratch[16384 + 256];
		struct rndis_pkt_info pi;
		uint32_t len = gather_gpa(p, gr, pkt->range_count, pfns, scratch, sizeof(scratch));
		int got = 0;

		if (len == 0 || rndis_pkt_parse(scratch, len, &pi) != 0) {
			q->rxs.corrupt++;
			q->rxs.rx_errors++;
		} else {
			got = deliver(q, scratch, &pi, pkts ? &pkts[0] : NULL);
		}
		owe(q, pkt->xid);
		return got;
	}
	/* Control message (RNDIS INITIALIZE, QUERY, SET, ...). */
	{
		uint8_t msg[VMB_ETH_CTL_MAX];
		uint32_t len = 0;
		int rc;

		if (q->qid != 0) {
			q->rxs.corrupt++;
			owe(q, pkt->xid);
			return 0;
		}
		if (pkt->type == VMB_PKT_GPA_DIRECT)
			len = gather_gpa(p, gr, pkt->range_count, pfns, msg, sizeof(msg));
		else if (m->chim_idx < p->nsect && m->chim_size <= sizeof(msg) && m->chim_size)
			memcpy(msg, p->chim + (uint64_t)m->chim_idx * p->sect_size,
			       (len = m->chim_size));
		if (len == 0) {
			q->rxs.corrupt++;
			owe(q, pkt->xid);
			return 0;
		}
		rc = vmb_eth_host_ctl(q, pkt, msg, len, NVSP_MSG_RNDIS);
		if (rc == -EAGAIN)
			return -EAGAIN;
		q->rxs.ctl_messages++;
		owe(q, pkt->xid);
		return 0;
	}
}

/* A completion from the guest: an XFER_PAGES packet's slots come back. */
static inline void
host_on_completion(struct vmb_eth_queue *q, uint64_t xid)
{
	struct vmb_eth_xfer *x;
	uint32_t i;

	if (xid & VMB_ETH_XID_CTL) {
		vmb_eth_host_ctl_done(q, xid);
		return;
	}
	if (unlikely(xid == 0 || xid > q->nxfer)) {
		q->rxs.bad_completions++;
		return;
	}
	x = &q->xfer[xid - 1];
	/* Acquire: the TX half's x->n and x->slot[] are visible once busy reads 1. */
	if (unlikely(atomic_exchange_explicit(&x->busy, 0, memory_order_acq_rel) != 1)) {
		q->rxs.bad_completions++;
		return;
	}
	for (i = 0; i < x->n; i++)
		vmb_eth_idxq_put(&q->free_bufs, x->slot[i]);
	vmb_eth_idxq_put(&q->free_xfer, (uint32_t)(xid - 1));
	q->rxs.completions_received++;
}

/* The RX half of a host queue (held). pkts == NULL: drain for the control thread. */
static uint16_t
host_rx_held(struct vmb_eth_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vmb_gpa_range gr[8];
	uint64_t pfns[16];
	struct vmb_pkt_ranges rg = {.xfer = NULL, .gpa = gr, .pfns = pfns};
	struct vmb_pkt_limits lim = {
		.types_allowed = (1u << VMB_PKT_INBAND) | (1u << VMB_PKT_GPA_DIRECT) |
				 (1u << VMB_PKT_COMPLETION),
		.max_ranges = 8,
		.max_pfns = 16,
		.guest_pages = q->port->gmem ? q->port->gmem->page_count : 0,
	};
	uint16_t got = 0;

	if (q->rs.active && (pkts != NULL || !atomic_load(&q->port->started)))
		got += host_drain_section(q, pkts, n);
	while ((pkts == NULL || got < n) && !q->rs.active && q->nowed < VMB_ETH_MAX_OWED) {
		struct vmb_ring_pkt rp;
		struct vmb_pkt pkt;
		int got_one = next_packet(q, &lim, &rg, &rp, &pkt);
		uint32_t type;

		if (got_one == 0)
			break;
		if (got_one < 0)
			continue;
		if (pkt.type == VMB_PKT_COMPLETION) {
			host_on_completion(q, pkt.xid);
			continue;
		}
		if (unlikely(pkt.payload_len < sizeof(uint32_t))) {
			q->rxs.corrupt++;
			continue;
		}
		memcpy(&type, pkt.payload, sizeof(type));
		if (likely(type == NVSP_MSG_RNDIS)) {
			struct nvsp_rndis m;
			int rc;

			if (unlikely(pkt.payload_len < sizeof(m))) {
				q->rxs.corrupt++;
				continue;
			}
			memcpy(&m, pkt.payload, sizeof(m));
			if (m.channel_type != NVSP_RNDIS_DATA) {
				/* Control: handled by the control thread only (it may map guest
				 * buffers). Everything read before it is committed, so that only
				 * this packet is read again. */
				vmb_ring_read_commit_to(&q->in, rp.start);
				if (pkts != NULL) {
					vmb_ring_read_revert(&q->in);
					break;
				}
			} else if (pkts == NULL && atomic_load(&q->port->started)) {
				/* Control thread on a started port: frames are the lcore's. */
				vmb_ring_read_commit_to(&q->in, rp.start);
				vmb_ring_read_revert(&q->in);
				break;
			}
			rc = host_on_rndis(q, &pkt, &m, pkts ? pkts + got : NULL,
					   (uint16_t)(n - got), gr, pfns);
			if (rc == -EAGAIN) {
				vmb_ring_read_revert(&q->in);
				break;
			}
			got += (uint16_t)rc;
			continue;
		}
		/* Other NVSP messages are control (queue 0 only). */
		if (q->qid == 0) {
			vmb_ring_read_commit_to(&q->in, rp.start);
			if (pkts != NULL) {
				vmb_ring_read_revert(&q->in);
				break;
			}
			if (vmb_eth_host_ctl(q, &pkt, pkt.payload, pkt.payload_len, type) == -EAGAIN) {
				vmb_ring_read_revert(&q->in);
				break;
			}
			q->rxs.ctl_messages++;
		} else {
			q->rxs.corrupt++;
		}
	}
	end_rx_pass(q);
	if (q->qid == 0 && pkts == NULL)
		vmb_eth_host_ctl_tick(q);
	return got;
}

uint16_t
vmb_eth_host_rx(void *arg, struct rte_mbuf **pkts, uint16_t n)
{
	struct vmb_eth_queue *q = arg;
	uint16_t got;

	if (!take_half(q, &q->rx_owner))
		return 0;
	got = host_rx_held(q, pkts, n);
	vmb_eth_release(&q->rx_owner);
	return got;
}

/* ---- host TX ---- */

uint16_t
vmb_eth_host_tx(void *arg, struct rte_mbuf **pkts, uint16_t n)
{
	struct vmb_eth_queue *q = arg;
	struct vmb_eth_port *p = q->port;
	struct nvsp_rndis hdr = {.type = NVSP_MSG_RNDIS, .channel_type = NVSP_RNDIS_DATA,
				 .chim_idx = NVSP_CHIM_IDX_NONE, .chim_size = 0};
	struct vmb_xfer_range r[VMB_ETH_MAX_BATCH];
	uint32_t hdr_max = rndis_pkt_hdr_len(false, true);
	uint16_t done = 0;
	bool sig;

	if (unlikely(!atomic_load_explicit(&p->link_up, memory_order_relaxed)) ||
	    !take_half(q, &q->tx_owner))
		return 0;
	while (done < n) {
		uint32_t left = (uint32_t)(n - done);
		uint32_t want = left < VMB_ETH_MAX_BATCH ? left : VMB_ETH_MAX_BATCH;
		uint32_t xi = 0, k = 0, used = 0;
		struct vmb_eth_xfer *x;

		if (unlikely(!have_room(&q->out, vmb_pkt_xfer_pages_len(want, sizeof(hdr))))) {
			q->txs.tx_ring_full++;
			break;
		}
		if (vmb_eth_idxq_avail(&q->free_xfer, 1) == 0 ||
		    vmb_eth_idxq_avail(&q->free_bufs, 1) == 0) {
			q->txs.tx_no_buffer++;
			break;
		}
		if (vmb_eth_idxq_get(&q->free_xfer, &xi, 1) == 0)
			break;
		x = &q->xfer[xi];
		while (used < want) {
			struct rte_mbuf *m = pkts[done + used];
			struct rndis_pkt_info pi = {0};
			uint32_t slot, hl;
			uint8_t *dst;

			if (unlikely(m->pkt_len + hdr_max > p->slot_size)) {
				q->txs.tx_errors++; /* larger than the MTU the guest agreed to */
				used++;
				continue;
			}
			if (vmb_eth_idxq_get(&q->free_bufs, &slot, 1) == 0)
				break;
			dst = p->rxbuf + (uint64_t)slot * p->slot_size;
			if (m->ol_flags & RTE_MBUF_F_TX_VLAN) {
				pi.has_vlan = 1;
				pi.vlan_tci = m->vlan_tci;
			}
			hl = rndis_pkt_build(dst, m->pkt_len, pi.has_vlan ? &pi : NULL);
			mbuf_to_buf(m, dst + hl);
			x->slot[k] = slot;
			r[k].byte_offset = slot * p->slot_size;
			r[k].byte_count = hl + m->pkt_len;
			q->txs.tx_bytes += m->pkt_len;
			k++;
			used++;
		}
		if (k == 0) {
			/* Only oversize frames, or no slot: give the entry back at once. */
			x->n = 0;
			vmb_eth_idxq_unget(&q->free_xfer, xi);
			done += (uint16_t)used;
			if (used == 0)
				break;
			continue;
		}
		x->n = k;
		/* Release: slots recorded before the completion can be matched. */
		atomic_store_explicit(&x->busy, 1, memory_order_release);
		vmb_pkt_write_xfer_pages(&q->out, xi + 1, VMB_PKT_FLAG_RC, NVSP_RXBUF_SIG, r, k, &hdr,
					 sizeof(hdr));
		q->txs.tx_packets += k;
		q->txs.tx_messages++;
		done += (uint16_t)used;
		if (used < want)
			break; /* out of slots */
	}
	sig = vmb_ring_write_commit(&q->out);
	signal_peer(q, sig, &q->txs);
	vmb_eth_release(&q->tx_owner);
	if (done)
		rte_pktmbuf_free_bulk(pkts, done);
	return done;
}

/* ---- guest RX ---- */

/* One range of the XFER_PAGES packet being consumed: a frame, or a control message. */
static inline int
guest_range(struct vmb_eth_queue *q, const struct vmb_xfer_range *r, struct rte_mbuf **out)
{
	struct vmb_eth_port *p = q->port;
	struct rndis_pkt_info pi;
	const uint8_t *msg;
	uint32_t type;

	if (unlikely(r->byte_count < 8 || r->byte_offset > p->rxbuf_len ||
		     r->byte_count > p->rxbuf_len - r->byte_offset)) {
		q->rxs.corrupt++;
		q->rxs.rx_errors++;
		return 0;
	}
	msg = p->rxbuf + r->byte_offset;
	memcpy(&type, msg, sizeof(type));
	if (likely(type == RNDIS_MSG_PACKET)) {
		if (unlikely(rndis_pkt_parse(msg, r->byte_count, &pi) != 0)) {
			q->rxs.corrupt++;
			q->rxs.rx_errors++;
			return 0;
		}
		return deliver(q, msg, &pi, out);
	}
	if (type == RNDIS_MSG_INDICATE) {
		vmb_eth_guest_status(p, msg, r->byte_count);
	} else if (type & 0x80000000u) {
		uint8_t copy[VMB_ETH_CTL_MAX];
		uint32_t len = r->byte_count < sizeof(copy) ? r->byte_count : sizeof(copy);

		memcpy(copy, msg, len);
		vmb_eth_guest_ctl_answer(p, true, 0, copy, len);
	} else {
		q->rxs.corrupt++;
	}
	q->rxs.ctl_messages++;
	return 0;
}

static uint16_t
guest_drain_ranges(struct vmb_eth_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vmb_eth_resume *rs = &q->rs;
	uint16_t got = 0;

	while (rs->idx < rs->count && (pkts == NULL || got < n)) {
		got += (uint16_t)guest_range(q, &q->ranges[rs->idx], pkts ? &pkts[got] : NULL);
		rs->idx++;
	}
	if (rs->idx >= rs->count) {
		rs->active = false;
		owe(q, rs->xid);
	}
	return got;
}

static inline void
guest_on_completion(struct vmb_eth_queue *q, const struct vmb_pkt *pkt)
{
	uint64_t xid = pkt->xid;
	uint32_t sect;

	if (xid & VMB_ETH_XID_CTL) {
		uint8_t copy[VMB_ETH_CTL_MAX];
		uint32_t len = pkt->payload_len < sizeof(copy) ? pkt->payload_len : sizeof(copy);

		memcpy(copy, pkt->payload, len);
		vmb_eth_guest_ctl_answer(q->port, false, xid, copy, len);
		return;
	}
	sect = (uint32_t)(xid - 1);
	if (unlikely(xid == 0 || sect < q->buf_first || sect - q->buf_first >= q->buf_count ||
		     atomic_exchange_explicit(&q->sect_busy[sect - q->buf_first], 0,
					      memory_order_acq_rel) != 1)) {
		q->rxs.bad_completions++;
		return;
	}
	vmb_eth_idxq_put(&q->free_bufs, sect);
	q->rxs.completions_received++;
}

static uint16_t
guest_rx_held(struct vmb_eth_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vmb_pkt_ranges rg = {.xfer = q->ranges, .gpa = NULL, .pfns = NULL};
	struct vmb_pkt_limits lim = {
		.types_allowed = (1u << VMB_PKT_INBAND) | (1u << VMB_PKT_XFER_PAGES) |
				 (1u << VMB_PKT_COMPLETION),
		.max_ranges = VMB_ETH_MAX_RANGES,
		.max_pfns = 0,
		.guest_pages = 0,
	};
	uint16_t got = 0;

	if (q->rs.active && (pkts != NULL || !atomic_load(&q->port->started)))
		got += guest_drain_ranges(q, pkts, n);
	while ((pkts == NULL || got < n) && !q->rs.active && q->nowed < VMB_ETH_MAX_OWED) {
		struct vmb_ring_pkt rp;
		struct vmb_pkt pkt;
		int got_one = next_packet(q, &lim, &rg, &rp, &pkt);
		uint32_t type;

		if (got_one == 0)
			break;
		if (got_one < 0)
			continue;
		if (pkt.type == VMB_PKT_COMPLETION) {
			guest_on_completion(q, &pkt);
			continue;
		}
		if (unlikely(pkt.payload_len < sizeof(uint32_t))) {
			q->rxs.corrupt++;
			continue;
		}
		memcpy(&type, pkt.payload, sizeof(type));
		if (likely(pkt.type == VMB_PKT_XFER_PAGES)) {
			if (pkts == NULL && !(pkt.xid & VMB_ETH_XID_CTL) &&
			    atomic_load(&q->port->started)) {
				vmb_ring_read_commit_to(&q->in, rp.start);
				vmb_ring_read_revert(&q->in);
				break;
			}
			if (unlikely(type != NVSP_MSG_RNDIS || pkt.xfer_set_id != NVSP_RXBUF_SIG ||
				     q->port->rxbuf == NULL)) {
				q->rxs.corrupt++;
				owe(q, pkt.xid); /* the host gets its slots back */
				continue;
			}
			q->rs.active = true;
			q->rs.xid = pkt.xid;
			q->rs.idx = 0;
			q->rs.count = pkt.range_count;
			got += guest_drain_ranges(q, pkts ? pkts + got : NULL, (uint16_t)(n - got));
			continue;
		}
		/* Inband from the host: indirection table, VF notes. Recorded, not needed. */
		q->rxs.ctl_messages++;
		if (pkt.flags & VMB_PKT_FLAG_RC)
			owe(q, pkt.xid);
	}
	end_rx_pass(q);
	return got;
}

uint16_t
vmb_eth_guest_rx(void *arg, struct rte_mbuf **pkts, uint16_t n)
{
	struct vmb_eth_queue *q = arg;
	uint16_t got;

	if (!take_half(q, &q->rx_owner))
		return 0;
	got = guest_rx_held(q, pkts, n);
	vmb_eth_release(&q->rx_owner);
	return got;
}

/* ---- guest TX ---- */

uint16_t
vmb_eth_guest_tx(void *arg, struct rte_mbuf **pkts, uint16_t n)
{
	struct vmb_eth_queue *q = arg;
	struct vmb_eth_port *p = q->port;
	uint32_t align = p->host_pkt_align ? p->host_pkt_align : 8;
	uint32_t max_pkts = p->host_max_pkts ? p->host_max_pkts : 1;
	uint16_t done = 0;
	bool sig;

	if (!take_half(q, &q->tx_owner))
		return 0;
	if (max_pkts > VMB_ETH_MAX_BATCH)
		max_pkts = VMB_ETH_MAX_BATCH;
	while (done < n) {
		struct nvsp_rndis hdr = {.type = NVSP_MSG_RNDIS, .channel_type = NVSP_RNDIS_DATA};
		uint32_t sect, off = 0, k = 0;
		uint8_t *base;

		if (unlikely(!have_room(&q->out, vmb_pkt_inband_len(sizeof(hdr))))) {
			q->txs.tx_ring_full++;
			break;
		}
		if (vmb_eth_idxq_get(&q->free_bufs, &sect, 1) == 0) {
			q->txs.tx_no_buffer++;
			break;
		}
		base = p->chim + (uint64_t)sect * p->sect_size;
		while (done < n && k < max_pkts) {
			struct rte_mbuf *m = pkts[done];
			struct rndis_pkt_info pi = {0};
			uint32_t hl, msg;

			if (m->ol_flags & RTE_MBUF_F_TX_VLAN) {
				pi.has_vlan = 1;
				pi.vlan_tci = m->vlan_tci;
			}
			hl = rndis_pkt_hdr_len(false, pi.has_vlan);
			msg = RTE_ALIGN_CEIL(hl + m->pkt_len, align);
			if (off + msg > p->sect_size) {
				if (k == 0 && off == 0) {
					q->txs.tx_errors++; /* never fits: larger than the MTU */
					done++;
					continue;
				}
				break;
			}
			rndis_pkt_build(base + off, m->pkt_len, pi.has_vlan ? &pi : NULL);
			/* Aggregation: each message's length covers its padding, so the host
			 * finds the next one at off + msg_len. */
			((struct rndis_packet_msg *)(base + off))->len = msg;
			mbuf_to_buf(m, base + off + hl);
			q->txs.tx_bytes += m->pkt_len;
			off += msg;
			k++;
			done++;
		}
		if (k == 0) {
			vmb_eth_idxq_unget(&q->free_bufs, sect);
			continue;
		}
		hdr.chim_idx = sect;
		hdr.chim_size = off;
		atomic_store_explicit(&q->sect_busy[sect - q->buf_first], 1, memory_order_release);
		vmb_pkt_write_inband(&q->out, (uint64_t)sect + 1, VMB_PKT_FLAG_RC, &hdr, sizeof(hdr));
		q->txs.tx_packets += k;
		q->txs.tx_messages++;
	}
	sig = vmb_ring_write_commit(&q->out);
	signal_peer(q, sig, &q->txs);
	vmb_eth_release(&q->tx_owner);
	if (done)
		rte_pktmbuf_free_bulk(pkts, done);
	return done;
}

/* ---- control thread ---- */

int
vmb_eth_service_queue(struct vmb_eth_queue *q)
{
	uint64_t before = q->rxs.ctl_messages;

	if (!atomic_load(&q->ready))
		return 0;
	if (!vmb_eth_try_own(&q->rx_owner))
		return -1;
	if (q->port->args.role == VMB_ETH_ROLE_HOST)
		host_rx_held(q, NULL, 0);
	else
		guest_rx_held(q, NULL, 0);
	vmb_eth_release(&q->rx_owner);
	return (int)(q->rxs.ctl_messages - before);
}
