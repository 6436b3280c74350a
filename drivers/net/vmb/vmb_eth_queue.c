/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Queue set-up for net_vmb (control thread): attaching an opened channel's rings to a queue
 * pair, detaching them with a barrier against the bursts, and giving each queue its share of
 * the shared buffers (host: receive-buffer slots; guest: send-buffer sections).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "vmb_eth.h"

int
vmb_eth_queue_attach(struct vmb_eth_port *p, uint16_t qid, struct vmb_channel *ch)
{
	struct vmb_eth_queue *q = &p->q[qid];
	struct vmb_channel_link lk;
	int rc;

	if (qid >= VMB_ETH_MAX_QUEUES || atomic_load(&q->ready))
		return -EBUSY;
	rc = vmb_channel_get_link(ch, &lk);
	if (rc)
		return rc;
	free(q->bounce);
	q->bounce = NULL;
	if (!(lk.incoming.flags & VMB_RING_F_DOUBLE_MAPPED)) {
		q->bounce = malloc(lk.incoming.size);
		if (q->bounce == NULL)
			return -ENOMEM;
	}
	if (vmb_ring_reader_attach(&q->in, &lk.incoming, q->bounce,
				   q->bounce ? lk.incoming.size : 0) != VMB_RING_OK ||
	    vmb_ring_writer_attach(&q->out, &lk.outgoing) != VMB_RING_OK)
		return -EIO;
	/* Poll mode: the peer never needs to signal us. */
	vmb_ring_reader_set_mask(&q->in, !p->args.interrupt);
	q->ch = ch;
	q->link = lk;
	q->intr = p->args.interrupt;
	q->signal_fd = lk.signal_fd;
	q->rs.active = false;
	q->nowed = 0;
	if (p->rxbuf != NULL && p->args.role == VMB_ETH_ROLE_HOST)
		vmb_eth_queue_buffers(p, qid, 0);
	atomic_store_explicit(&q->ready, true, memory_order_release);
	if (qid + 1u > p->nq_open)
		p->nq_open = qid + 1u;
	return 0;
}

void
vmb_eth_queue_detach(struct vmb_eth_port *p, uint16_t qid)
{
	struct vmb_eth_queue *q = &p->q[qid];

	atomic_store(&q->ready, false);
	/* Barrier: a burst that saw ready == true still holds its half; wait until both are
	 * released before the rings go away. */
	while (atomic_load(&q->rx_owner) || atomic_load(&q->tx_owner))
		sched_yield();
	q->ch = NULL;
	memset(&q->in, 0, sizeof(q->in));
	memset(&q->out, 0, sizeof(q->out));
	free(q->bounce);
	q->bounce = NULL;
}

void
vmb_eth_queue_free(struct vmb_eth_queue *q)
{
	vmb_eth_idxq_fini(&q->free_bufs);
	vmb_eth_idxq_fini(&q->free_xfer);
	free(q->xfer);
	q->xfer = NULL;
	free((void *)q->sect_busy);
	q->sect_busy = NULL;
	q->buf_count = 0;
}

int
vmb_eth_queue_buffers(struct vmb_eth_port *p, uint16_t qid, uint32_t nq)
{
	struct vmb_eth_queue *q = &p->q[qid];
	bool host = p->args.role == VMB_ETH_ROLE_HOST;
	uint32_t total = host ? p->nslots : p->nsect;
	uint32_t per, i;

	if (nq == 0)
		nq = p->dev->data->nb_tx_queues ? p->dev->data->nb_tx_queues : p->args.queues;
	if (nq == 0)
		nq = 1;
	/* Control messages keep the first buffers (host: RNDIS completions; guest: requests). */
	if (total <= VMB_ETH_CTL_SLOTS + nq)
		return -ENOSPC;
	per = (total - VMB_ETH_CTL_SLOTS) / nq;
	vmb_eth_queue_free(q);
	q->buf_first = VMB_ETH_CTL_SLOTS + qid * per;
	q->buf_count = per;
	if (vmb_eth_idxq_init(&q->free_bufs, per) != 0)
		return -ENOMEM;
	for (i = 0; i < per; i++)
		vmb_eth_idxq_put(&q->free_bufs, q->buf_first + i);
	if (host) {
		q->nxfer = per;
		q->xfer = calloc(per, sizeof(*q->xfer));
		if (q->xfer == NULL || vmb_eth_idxq_init(&q->free_xfer, per) != 0)
			return -ENOMEM;
		for (i = 0; i < per; i++)
			vmb_eth_idxq_put(&q->free_xfer, i);
	} else {
		q->sect_busy = calloc(per, sizeof(*q->sect_busy));
		if (q->sect_busy == NULL)
			return -ENOMEM;
	}
	return 0;
}
