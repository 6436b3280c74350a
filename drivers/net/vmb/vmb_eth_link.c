/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Where a net_vmb port's channels and buffers come from.
 *
 *   pair=NAME    both ends in this process: the first port probed with a name creates the
 *                guest memory (memfd) and a registry entry, the other joins it; channels are
 *                library channels bound by vmb_pair (no socket), buffer "GPADLs" are ids in the
 *                entry's table. The embedded default of the apps.
 *   socket=PATH  role=host: a VMBus server (lib/bus) offering one synthetic NIC (and its
 *                subchannels on request) to the guest that connects; buffers are the guest's
 *                GPADLs mapped here. role=guest: connects, owns guest memory (memfd), opens
 *                the channels and creates the buffer GPADLs.
 * Control thread only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmb/vmb_bus.h>
#include <vmb/vmb_pair.h>

#include "vmb_eth.h"

#define PAIR_MEM_BYTES (160ull << 20)
#define MAX_BUFFERS 4

struct pair_chan {
	struct vmb_pair *vp;
	struct vmb_channel *server, *client;
};

struct pair_entry {
	char name[64];
	int refs;
	struct vmb_guest_mem mem;
	struct vmb_eth_port *host, *guest;
	struct pair_chan ch[VMB_ETH_MAX_QUEUES];
	struct {
		uint32_t id;
		uint8_t *addr;
		uint64_t len;
	} buf[MAX_BUFFERS];
	uint32_t nbuf;
	struct pair_entry *next;
};

struct vmb_eth_link {
	struct pair_entry *pair;
	/* socket, host side */
	struct vmb_bus_host *bh;
	struct vmb_bus_conn *conn;    /**< the guest using the NIC (one at a time) */
	struct vmb_channel *host_ch[VMB_ETH_MAX_QUEUES];
	uint32_t offers;              /**< offers made (primary + subchannels) */
	uint32_t offer_id[VMB_ETH_MAX_QUEUES];
	struct vmb_mapping map[2];    /**< rxbuf, chimney */
	/* socket, guest side */
	struct vmb_guest_mem mem;
	bool mem_made;
	struct vmb_bus_guest *bg;
	struct vmb_channel *guest_ch[VMB_ETH_MAX_QUEUES];
};

static pthread_mutex_t pairs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pair_entry *pairs;

static const struct vmb_guid netvsc_guid = VMB_ETH_NETVSC_GUID;

/* The library channel only carries open/close for us: its packets are never polled. */
static void
never_polled(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	vmb_rx_fail(rx);
}

static int
chan_alloc(bool server, uint32_t ring_pages, const char *name, struct vmb_channel **out)
{
	struct vmb_channel *ch;
	int rc = vmb_channel_alloc(server, &ch);

	if (rc)
		return rc;
	vmb_channel_init_set_name(ch, name);
	vmb_channel_init_set_process_packet(ch, never_polled, NULL);
	if (!server)
		vmb_channel_init_set_ring_pages(ch, ring_pages, ring_pages);
	vmb_channel_init_set_interface(ch, &netvsc_guid, NULL);
	*out = ch;
	return 0;
}

static uint32_t
ring_pages(const struct vmb_eth_port *p)
{
	/* control page + data area */
	return 1 + (p->args.ring_kb * 1024u + VMB_PAGE_SIZE - 1) / VMB_PAGE_SIZE;
}

/* ---- socket, host side ---- */

static int
host_opened(struct vmb_channel *ch)
{
	struct vmb_eth_port *p = vmb_channel_get_context(ch);
	uint32_t qid;

	for (qid = 0; qid < VMB_ETH_MAX_QUEUES; qid++)
		if (p->lk->host_ch[qid] == ch)
			break;
	if (qid == VMB_ETH_MAX_QUEUES)
		return -EINVAL;
	return vmb_eth_queue_attach(p, (uint16_t)qid, ch);
}

static struct vmb_channel *
host_open(void *ctx, struct vmb_bus_conn *conn, uint32_t offer_id)
{
	struct vmb_eth_port *p = ctx;
	struct vmb_eth_link *lk = p->lk;
	struct vmb_channel_callbacks cb = {.opened = host_opened};
	struct vmb_channel *ch;
	uint32_t qid;

	for (qid = 0; qid < lk->offers; qid++)
		if (lk->offer_id[qid] == offer_id)
			break;
	/* One guest drives the NIC at a time; a second one is refused. */
	if (qid == lk->offers || (lk->conn != NULL && lk->conn != conn) || lk->host_ch[qid])
		return NULL;
	if (chan_alloc(true, 0, p->name, &ch) != 0)
		return NULL;
	vmb_channel_init_set_callbacks(ch, &cb);
	vmb_channel_set_context(ch, p);
	lk->conn = conn;
	p->gmem = vmb_bus_conn_memory(conn);
	lk->host_ch[qid] = ch;
	VMB_LOG(INFO, "%s: guest %u opened queue %u", p->name, vmb_bus_conn_id(conn), qid);
	return ch;
}

static void
host_close(void *ctx, struct vmb_bus_conn *conn, uint32_t offer_id, struct vmb_channel *ch)
{
	struct vmb_eth_port *p = ctx;
	struct vmb_eth_link *lk = p->lk;
	uint32_t qid, open = 0;

	(void)conn;
	(void)offer_id;
	for (qid = 0; qid < VMB_ETH_MAX_QUEUES; qid++) {
		if (lk->host_ch[qid] == ch) {
			vmb_eth_queue_detach(p, (uint16_t)qid);
			lk->host_ch[qid] = NULL;
		}
		open += lk->host_ch[qid] != NULL;
	}
	vmb_channel_disable(ch);
	vmb_channel_cleanup(ch);
	if (open == 0) {
		/* The guest is gone: forget its buffers and negotiation; a new one starts over. */
		VMB_LOG(INFO, "%s: guest left", p->name);
		lk->conn = NULL;
		vmb_eth_host_reset(p);
	}
}

static int
host_socket_create(struct vmb_eth_port *p)
{
	struct vmb_eth_link *lk = p->lk;
	struct vmb_bus_host_config cfg = {.path = p->args.socket};
	struct vmb_bus_offer o = {.type = netvsc_guid, .subchannel = 0, .on_open = host_open,
				  .on_close = host_close, .ctx = p};
	int rc;

	memcpy(o.instance.b, p->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	rc = vmb_bus_host_create(&cfg, &lk->bh);
	if (rc == 0)
		rc = vmb_bus_host_add_offer(lk->bh, &o, &lk->offer_id[0]);
	if (rc == 0)
		lk->offers = 1;
	return rc;
}

/* ---- socket, guest side ---- */

static int
guest_socket_create(struct vmb_eth_port *p)
{
	struct vmb_eth_link *lk = p->lk;
	struct vmb_bus_guest_config cfg = {.path = p->args.socket, .mem = &lk->mem,
					   .interrupt_mode = p->args.interrupt};
	uint64_t bytes = (uint64_t)p->args.rxbuf_kb * 1024 + (uint64_t)p->args.chimney_kb * 1024 +
			 (uint64_t)VMB_ETH_MAX_QUEUES * 2 * ring_pages(p) * VMB_PAGE_SIZE +
			 (4ull << 20);
	int rc = vmb_mem_create(&lk->mem, bytes, VMB_MEM_MEMFD);

	if (rc)
		return rc;
	lk->mem_made = true;
	p->gmem = &lk->mem;
	rc = vmb_bus_guest_connect(&cfg, &lk->bg);
	if (rc)
		VMB_LOG(ERR, "%s: cannot reach the host at %s: %s", p->name, p->args.socket,
			strerror(-rc));
	return rc;
}

/* ---- in-process pair ---- */

static int
pair_join(struct vmb_eth_port *p)
{
	struct pair_entry *e;
	int rc = 0;

	pthread_mutex_lock(&pairs_lock);
	for (e = pairs; e != NULL; e = e->next)
		if (strcmp(e->name, p->args.pair) == 0)
			break;
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		snprintf(e->name, sizeof(e->name), "%s", p->args.pair);
		rc = vmb_mem_create(&e->mem, PAIR_MEM_BYTES, VMB_MEM_MEMFD);
		if (rc) {
			free(e);
			goto out;
		}
		e->next = pairs;
		pairs = e;
	}
	if ((p->args.role == VMB_ETH_ROLE_HOST ? e->host : e->guest) != NULL) {
		VMB_LOG(ERR, "%s: pair %s already has a %s", p->name, e->name,
			p->args.role == VMB_ETH_ROLE_HOST ? "host" : "guest");
		rc = -EEXIST;
		goto out;
	}
	if (p->args.role == VMB_ETH_ROLE_HOST)
		e->host = p;
	else
		e->guest = p;
	e->refs++;
	p->lk->pair = e;
	p->gmem = &e->mem;
out:
	pthread_mutex_unlock(&pairs_lock);
	return rc;
}

static void
pair_close_queue(struct pair_entry *e, uint16_t qid)
{
	struct pair_chan *c = &e->ch[qid];

	if (c->vp == NULL)
		return;
	if (e->host)
		vmb_eth_queue_detach(e->host, qid);
	if (e->guest)
		vmb_eth_queue_detach(e->guest, qid);
	vmb_channel_disable(c->client);
	vmb_channel_disable(c->server);
	vmb_channel_cleanup(c->client);
	vmb_channel_cleanup(c->server);
	vmb_pair_destroy(c->vp);
	memset(c, 0, sizeof(*c));
}

static void
pair_leave(struct vmb_eth_port *p)
{
	struct pair_entry *e = p->lk->pair, **pp;
	uint16_t qid;

	pthread_mutex_lock(&pairs_lock);
	/* Either end leaving closes every channel: the other end sees its link drop. */
	for (qid = 0; qid < VMB_ETH_MAX_QUEUES; qid++)
		pair_close_queue(e, qid);
	if (p->args.role == VMB_ETH_ROLE_HOST) {
		e->host = NULL;
		if (e->guest)
			vmb_eth_set_link(e->guest, false);
	} else {
		e->guest = NULL;
		if (e->host)
			vmb_eth_host_reset(e->host);
	}
	if (--e->refs == 0) {
		for (pp = &pairs; *pp != NULL; pp = &(*pp)->next)
			if (*pp == e) {
				*pp = e->next;
				break;
			}
		vmb_mem_destroy(&e->mem);
		free(e);
	}
	pthread_mutex_unlock(&pairs_lock);
}

static int
pair_open_queue(struct vmb_eth_port *p, uint16_t qid)
{
	struct pair_entry *e = p->lk->pair;
	struct pair_chan *c = &e->ch[qid];
	int rc;

	if (e->host == NULL) {
		VMB_LOG(ERR, "%s: pair %s has no host port", p->name, e->name);
		return -ENODEV;
	}
	if (c->vp != NULL)
		pair_close_queue(e, qid);
	if (qid == 0)
		vmb_eth_host_reset(e->host); /* a new primary channel: the host starts over */
	rc = vmb_pair_create(&e->mem, p->args.interrupt, &c->vp);
	if (rc == 0)
		rc = chan_alloc(true, 0, e->host->name, &c->server);
	if (rc == 0)
		rc = chan_alloc(false, ring_pages(p), p->name, &c->client);
	if (rc == 0)
		rc = vmb_pair_attach(c->vp, c->server, c->client);
	if (rc == 0)
		rc = vmb_channel_enable(c->server);
	if (rc == 0)
		rc = vmb_channel_start(c->server);
	if (rc == 0)
		rc = vmb_channel_enable(c->client);
	if (rc == 0)
		rc = vmb_eth_queue_attach(e->host, qid, c->server);
	if (rc == 0)
		rc = vmb_eth_queue_attach(p, qid, c->client);
	if (rc) {
		VMB_LOG(ERR, "%s: opening queue %u failed: %s", p->name, qid, strerror(-rc));
		pair_close_queue(e, qid);
	}
	return rc;
}

/* ---- the link interface ---- */

int
vmb_eth_link_create(struct vmb_eth_port *p)
{
	int rc;

	p->lk = calloc(1, sizeof(*p->lk));
	if (p->lk == NULL)
		return -ENOMEM;
	if (p->args.pair[0])
		rc = pair_join(p);
	else if (p->args.role == VMB_ETH_ROLE_HOST)
		rc = host_socket_create(p);
	else
		rc = guest_socket_create(p);
	if (rc) {
		vmb_eth_link_destroy(p);
		return rc;
	}
	return 0;
}

void
vmb_eth_link_destroy(struct vmb_eth_port *p)
{
	struct vmb_eth_link *lk = p->lk;
	uint16_t qid;

	if (lk == NULL)
		return;
	if (lk->pair) {
		pair_leave(p);
	} else if (lk->bh) {
		/* Destroying the host closes every guest: host_close detaches the queues. */
		vmb_bus_host_destroy(lk->bh);
		for (qid = 0; qid < VMB_ETH_MAX_QUEUES; qid++)
			if (lk->host_ch[qid]) {
				vmb_eth_queue_detach(p, qid);
				vmb_channel_disable(lk->host_ch[qid]);
				vmb_channel_cleanup(lk->host_ch[qid]);
			}
	} else {
		for (qid = 0; qid < VMB_ETH_MAX_QUEUES; qid++)
			if (lk->guest_ch[qid]) {
				vmb_eth_queue_detach(p, qid);
				vmb_channel_disable(lk->guest_ch[qid]);
				vmb_channel_cleanup(lk->guest_ch[qid]);
			}
		if (lk->bg)
			vmb_bus_guest_disconnect(lk->bg);
	}
	vmb_mapping_unmap(&lk->map[0]);
	vmb_mapping_unmap(&lk->map[1]);
	if (lk->mem_made)
		vmb_mem_destroy(&lk->mem);
	free(lk);
	p->lk = NULL;
}

int
vmb_eth_link_open_queue(struct vmb_eth_port *p, uint16_t qid)
{
	struct vmb_eth_link *lk = p->lk;
	struct vmb_channel *ch;
	int rc, tries;

	if (lk->pair)
		return pair_open_queue(p, qid);
	if (lk->guest_ch[qid]) {
		vmb_eth_queue_detach(p, qid);
		vmb_channel_disable(lk->guest_ch[qid]);
		vmb_channel_cleanup(lk->guest_ch[qid]);
		lk->guest_ch[qid] = NULL;
	}
	rc = chan_alloc(false, ring_pages(p), p->name, &ch);
	if (rc)
		return rc;
	rc = vmb_bus_guest_attach(lk->bg, ch, qid);
	/* A subchannel's offer arrives after the host granted it: wait for it a little. */
	for (tries = 0; rc == 0 && tries < 200; tries++) {
		rc = vmb_channel_enable(ch);
		if (rc != -ENOENT)
			break;
		vmb_bus_guest_poll(lk->bg, 10);
		rc = 0;
	}
	if (rc == 0)
		rc = vmb_eth_queue_attach(p, qid, ch);
	if (rc) {
		VMB_LOG(ERR, "%s: opening queue %u failed: %s", p->name, qid, strerror(-rc));
		vmb_channel_disable(ch);
		vmb_channel_cleanup(ch);
		return rc;
	}
	lk->guest_ch[qid] = ch;
	return 0;
}

int
vmb_eth_link_buffer(struct vmb_eth_port *p, uint64_t len, uint8_t **addr, uint32_t *gpadl)
{
	struct vmb_eth_link *lk = p->lk;
	struct vmb_guest_mem *mem = lk->pair ? &lk->pair->mem : &lk->mem;
	uint64_t pages = (len + VMB_PAGE_SIZE - 1) / VMB_PAGE_SIZE, pfn;
	int rc = vmb_mem_alloc_pages(mem, pages, &pfn);

	if (rc)
		return rc;
	*addr = vmb_mem_gpa_ptr(mem, pfn * VMB_PAGE_SIZE, len);
	if (lk->pair) {
		struct pair_entry *e = lk->pair;

		if (e->nbuf == MAX_BUFFERS)
			return -ENOSPC;
		e->buf[e->nbuf].id = 0x100 + e->nbuf;
		e->buf[e->nbuf].addr = *addr;
		e->buf[e->nbuf].len = len;
		*gpadl = e->buf[e->nbuf++].id;
		return 0;
	}
	return vmb_bus_guest_gpadl_create(lk->bg, lk->guest_ch[0], pfn, (uint32_t)pages, gpadl);
}

int
vmb_eth_link_map(struct vmb_eth_port *p, bool rxbuf, uint32_t gpadl, uint8_t **addr,
		 uint64_t *len)
{
	struct vmb_eth_link *lk = p->lk;
	struct vmb_mapping *mp = &lk->map[rxbuf ? 0 : 1];
	int rc;

	if (lk->pair) {
		uint32_t i;

		for (i = 0; i < lk->pair->nbuf; i++)
			if (lk->pair->buf[i].id == gpadl) {
				*addr = lk->pair->buf[i].addr;
				*len = lk->pair->buf[i].len;
				return 0;
			}
		return -ENOENT;
	}
	if (lk->conn == NULL)
		return -ENOTCONN;
	vmb_mapping_unmap(mp);
	rc = vmb_bus_conn_gpadl_map(lk->conn, gpadl, mp);
	if (rc)
		return rc;
	*addr = mp->addr;
	*len = mp->len;
	return 0;
}

void
vmb_eth_link_unmap(struct vmb_eth_port *p, bool rxbuf)
{
	if (p->lk->pair == NULL)
		vmb_mapping_unmap(&p->lk->map[rxbuf ? 0 : 1]);
}

uint32_t
vmb_eth_link_offer_subchannels(struct vmb_eth_port *p, uint32_t n)
{
	struct vmb_eth_link *lk = p->lk;
	uint32_t limit = p->dev->data->nb_rx_queues, i;

	if (limit == 0)
		limit = p->args.queues;
	if (limit > VMB_ETH_MAX_QUEUES)
		limit = VMB_ETH_MAX_QUEUES;
	if (n > limit - 1)
		n = limit - 1;
	if (lk->pair)
		return n;
	for (i = lk->offers; i <= n; i++) {
		struct vmb_bus_offer o = {.type = netvsc_guid, .subchannel = (uint16_t)i,
					  .on_open = host_open, .on_close = host_close, .ctx = p};

		memcpy(o.instance.b, p->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
		if (vmb_bus_host_add_offer(lk->bh, &o, &lk->offer_id[i]) != 0)
			break;
		lk->offers = i + 1;
	}
	return lk->offers - 1 < n ? lk->offers - 1 : n;
}

void
vmb_eth_link_poll(struct vmb_eth_port *p, int timeout_ms)
{
	struct vmb_eth_link *lk = p->lk;

	if (lk->bh)
		vmb_bus_host_poll(lk->bh, timeout_ms);
	else if (lk->bg && vmb_bus_guest_poll(lk->bg, timeout_ms) == -ENOTCONN)
		vmb_eth_set_link(p, false);
	else if (timeout_ms > 0)
		usleep((useconds_t)timeout_ms * 1000);
}
