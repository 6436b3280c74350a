/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The VMBus server over a UNIX socket (see vmb_bus.h): accepts guests, negotiates the version,
 * sends offers, builds GPADLs from header/body messages, opens channels on the guest's rings
 * through vmb_channel_link_open(), closes, rescinds, unloads.
 *
 * Threat model: every guest message is hostile until validated against that guest's own state
 * (offered channel ids, its GPADLs, its memory size). A guest that breaks the protocol is
 * disconnected (its channels closed); a GPADL naming pages outside its memory is refused with a
 * failure status. Sends never block: a guest that stops reading is disconnected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vmb/vmb_bus.h>
#include <vmb/vmb_transport.h>

#include "vmb_bus_wire.h"

#include "vmb_bus_host_priv.h"

static const uint32_t host_versions[] = {
	VMB_BUS_VERSION_WIN10_V5_3, VMB_BUS_VERSION_WIN10_V5_2, VMB_BUS_VERSION_WIN10_V5_1,
	VMB_BUS_VERSION_WIN10_V5,   VMB_BUS_VERSION_WIN10,      VMB_BUS_VERSION_WIN8_1,
	VMB_BUS_VERSION_WIN8,
};

/* relid on the wire = offer slot + 1 */
static inline uint32_t
relid_of(uint32_t offer)
{
	return offer + 1;
}

static struct host_chan *
chan_by_relid(struct vmb_bus_conn *c, uint32_t relid)
{
	if (relid == 0 || relid > c->h->noffers || !c->chans[relid - 1].offered)
		return NULL;
	return &c->chans[relid - 1];
}

static int
send_msg(struct vmb_bus_conn *c, const void *msg, uint32_t len)
{
	return vmb_bus_send(c->sock, msg, len, NULL, 0);
}

/* ---- channel transport (host side) ---- */

static int
host_ch_enable(void *ctx, struct vmb_channel *ch)
{
	struct host_chan *hc = ctx;
	return vmb_channel_link_open(ch, &hc->link);
}

void
vmb_bus_unmap_chan(struct host_chan *hc)
{
	vmb_mapping_unmap(&hc->m_in);
	vmb_mapping_unmap(&hc->m_out);
	if (hc->link.wait_fd >= 0)
		close(hc->link.wait_fd);
	if (hc->link.signal_fd >= 0)
		close(hc->link.signal_fd);
	hc->link.wait_fd = hc->link.signal_fd = -1;
}

/* The VSP disabled its channel: rescind it for this guest. */
static void
host_ch_disable(void *ctx, struct vmb_channel *ch)
{
	struct host_chan *hc = ctx;
	struct vmbus_chanmsg_chrescind m = {.hdr.type = VMBUS_CHANMSG_TYPE_CHRESCIND};

	if (hc->bound == ch)
		hc->bound = NULL; /* Disabled now: the VSP may free it */
	if (hc->ch != ch)
		return; /* already closed by the guest */
	if (hc->open && hc->conn->sock >= 0) {
		m.chanid = relid_of(hc->offer);
		send_msg(hc->conn, &m, sizeof(m));
		hc->rescinded = true;
		hc->conn->h->stats.rescinds++;
	}
	hc->open = false;
	hc->ch = NULL;
	vmb_bus_unmap_chan(hc);
}

const struct vmb_transport_ops vmb_bus_host_ops = {
	.enable = host_ch_enable,
	.disable = host_ch_disable,
};

/* The guest closed the channel, or went away: close our end and tell the VSP. */
void
vmb_bus_close_chan(struct host_chan *hc)
{
	struct vmb_bus_host *h = hc->conn->h;
	struct vmb_channel *ch = hc->ch;

	if (!hc->open)
		return;
	hc->open = false;
	vmb_channel_link_close(ch);
	hc->ch = NULL;
	vmb_bus_unmap_chan(hc);
	h->stats.closes++;
	if (h->offers[hc->offer].on_close)
		h->offers[hc->offer].on_close(h->offers[hc->offer].ctx, hc->conn, hc->offer, ch);
}

/* ---- connections ---- */

void
vmb_bus_conn_free(struct vmb_bus_conn *c)
{
	struct vmb_bus_host *h = c->h;
	uint32_t i;

	for (i = 0; i < h->noffers; i++) {
		vmb_bus_close_chan(&c->chans[i]);
		/* a channel the VSP kept must not call back into this freed slot */
		if (c->chans[i].bound)
			vmb_channel_detach_transport(c->chans[i].bound);
	}
	for (i = 0; i < MAX_PENDING_GPADLS; i++)
		free(c->pend[i].pfns);
	vmb_bus_rx_reset(&c->rx);
	if (c->sock >= 0) {
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->sock, NULL);
		close(c->sock);
	}
	/* every channel is closed: no VSP data path maps from this table any more */
	vmb_gpadl_table_fini(&c->gpadls);
	pthread_mutex_destroy(&c->gpadl_lock);
	if (c->have_mem)
		vmb_mem_destroy(&c->mem);
	free(c->chans);
	free(c);
}

struct vmb_bus_conn *
vmb_bus_conn_alloc(struct vmb_bus_host *h)
{
	struct vmb_bus_conn *c = calloc(1, sizeof(*c));
	uint32_t i;

	if (c == NULL)
		return NULL;
	c->chans = calloc(h->cfg.max_channels, sizeof(*c->chans));
	if (c->chans == NULL || vmb_gpadl_table_init(&c->gpadls, h->cfg.max_gpadls) != 0 ||
	    pthread_mutex_init(&c->gpadl_lock, NULL) != 0) {
		vmb_gpadl_table_fini(&c->gpadls);
		free(c->chans);
		free(c);
		return NULL;
	}
	c->h = h;
	c->sock = -1;
	c->mem.fd = -1;
	vmb_bus_rx_init(&c->rx);
	for (i = 0; i < h->cfg.max_channels; i++) {
		c->chans[i].conn = c;
		c->chans[i].offer = i;
		c->chans[i].link.wait_fd = c->chans[i].link.signal_fd = -1;
	}
	return c;
}

int
vmb_bus_conn_gpadl_add(struct vmb_bus_conn *c, uint32_t id, const uint64_t *pfns, uint32_t npages)
{
	int rc;

	if (id == 0)
		return -EINVAL; /* 0 would make the table pick one: the guest names its GPADLs */
	pthread_mutex_lock(&c->gpadl_lock);
	rc = vmb_gpadl_add(&c->gpadls, &c->mem, id, pfns, npages, NULL);
	pthread_mutex_unlock(&c->gpadl_lock);
	return rc;
}

static void
drop_conn(struct vmb_bus_host *h, uint32_t slot, bool protocol_error)
{
	if (protocol_error)
		h->stats.protocol_errors++;
	h->stats.guests_disconnected++;
	vmb_bus_conn_free(h->conns[slot]);
	h->conns[slot] = NULL;
}

int
vmb_bus_send_offer(struct vmb_bus_conn *c, uint32_t i)
{
	const struct vmb_bus_offer *o = &c->h->offers[i];
	struct vmbus_chanmsg_choffer m;

	memset(&m, 0, sizeof(m));
	m.hdr.type = VMBUS_CHANMSG_TYPE_CHOFFER;
	memcpy(m.chtype, o->type.b, 16);
	memcpy(m.chinst, o->instance.b, 16);
	memcpy(m.udata, o->user_data, sizeof(m.udata));
	m.subidx = o->subchannel;
	m.chanid = relid_of(i);
	m.connid = relid_of(i);
	c->chans[i].offered = true;
	c->chans[i].rescinded = false;
	return send_msg(c, &m, sizeof(m));
}

/* ---- message handlers: each returns 0, or a negative error that drops the guest ---- */

static int
on_contact(struct vmb_bus_conn *c, const void *msg, uint32_t len)
{
	struct vmbus_chanmsg_connect m;
	struct vmbus_chanmsg_connect_resp r = {.hdr.type = VMBUS_CHANMSG_TYPE_CONNECT_RESP};
	uint32_t i;
	int fd, rc;

	(void)len;
	if (c->state != CONN_WAIT_CONTACT || c->rx.nfds != 1)
		return -EPROTO;
	memcpy(&m, msg, sizeof(m));
	for (i = 0; i < sizeof(host_versions) / sizeof(host_versions[0]); i++)
		if (host_versions[i] == m.ver)
			break;
	if (i == sizeof(host_versions) / sizeof(host_versions[0])) {
		r.done = 0; /* not this one: the guest tries an older version */
		return send_msg(c, &r, sizeof(r));
	}
	fd = vmb_bus_rx_take_fd(&c->rx, 0);
	rc = vmb_mem_attach_fd(&c->mem, fd);
	close(fd);
	if (rc)
		return -EPROTO; /* not usable as guest memory */
	c->have_mem = true;
	c->version = m.ver;
	c->state = CONN_CONNECTED;
	r.done = 1;
	return send_msg(c, &r, sizeof(r));
}

static int
on_request_offers(struct vmb_bus_conn *c)
{
	struct vmbus_chanmsg_hdr done = {.type = VMBUS_CHANMSG_TYPE_CHOFFER_DONE};
	uint32_t i;
	int rc;

	for (i = 0; i < c->h->noffers; i++) {
		if (!c->h->offer_live[i] || c->chans[i].offered)
			continue;
		if ((rc = vmb_bus_send_offer(c, i)) != 0)
			return rc;
	}
	return send_msg(c, &done, sizeof(done));
}

static struct pending_gpadl *
pending_find(struct vmb_bus_conn *c, uint32_t id)
{
	uint32_t i;
	for (i = 0; i < MAX_PENDING_GPADLS; i++)
		if (c->pend[i].pfns && c->pend[i].id == id)
			return &c->pend[i];
	return NULL;
}

static int
gpadl_done(struct vmb_bus_conn *c, struct pending_gpadl *p)
{
	struct vmbus_chanmsg_gpadl_connresp r = {.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_CONNRESP};
	int rc;

	r.chanid = p->chanid;
	r.gpadl = p->id;
	/* Page numbers outside this guest's memory, or a full table: refused, reported, the
	 * guest stays. */
	rc = vmb_bus_conn_gpadl_add(c, p->id, p->pfns, p->total);
	r.status = rc == 0 ? 0 : STATUS_FAIL;
	if (rc == 0)
		c->h->stats.gpadls_created++;
	else
		c->h->stats.protocol_errors++;
	free(p->pfns);
	memset(p, 0, sizeof(*p));
	return send_msg(c, &r, sizeof(r));
}

static int
on_gpadl_header(struct vmb_bus_conn *c, const uint8_t *msg, uint32_t len)
{
	struct vmbus_chanmsg_gpadl_conn m;
	struct pending_gpadl *p = NULL;
	uint32_t total, here, i;

	memcpy(&m, msg, sizeof(m));
	if (c->state != CONN_CONNECTED || chan_by_relid(c, m.chanid) == NULL || m.gpadl == 0 ||
	    vmb_gpadl_find(&c->gpadls, m.gpadl) || pending_find(c, m.gpadl) || m.range_cnt != 1 ||
	    m.range_len < 16 || (m.range_len - 8) % 8 != 0)
		return -EPROTO;
	total = (m.range_len - 8u) / 8u;
	if (total > c->h->cfg.max_gpadl_pages || m.range.ofs >= VMB_PAGE_SIZE ||
	    (uint64_t)m.range.ofs + m.range.len > (uint64_t)total * VMB_PAGE_SIZE)
		return -EPROTO;
	/* The first message carries as many page numbers as fit; exactly that many. */
	here = (len - (uint32_t)sizeof(m)) / 8u;
	if ((len - sizeof(m)) % 8 != 0 || here != (total < here ? total : here) || here == 0)
		return -EPROTO;
	for (i = 0; i < MAX_PENDING_GPADLS; i++)
		if (c->pend[i].pfns == NULL) {
			p = &c->pend[i];
			break;
		}
	if (p == NULL)
		return -EPROTO; /* too many half-built GPADLs */
	p->pfns = malloc(sizeof(uint64_t) * total);
	if (p->pfns == NULL)
		return -ENOMEM;
	p->id = m.gpadl;
	p->chanid = m.chanid;
	p->total = total;
	p->got = here;
	memcpy(p->pfns, msg + sizeof(m), here * 8u);
	return p->got == p->total ? gpadl_done(c, p) : 0;
}

static int
on_gpadl_body(struct vmb_bus_conn *c, const uint8_t *msg, uint32_t len)
{
	struct vmbus_chanmsg_gpadl_subconn m;
	struct pending_gpadl *p;
	uint32_t n;

	memcpy(&m, msg, sizeof(m));
	p = pending_find(c, m.gpadl);
	if (c->state != CONN_CONNECTED || p == NULL || (len - sizeof(m)) % 8 != 0)
		return -EPROTO;
	n = (len - (uint32_t)sizeof(m)) / 8u;
	if (n == 0 || n > p->total - p->got)
		return -EPROTO;
	memcpy(p->pfns + p->got, msg + sizeof(m), n * 8u);
	p->got += n;
	return p->got == p->total ? gpadl_done(c, p) : 0;
}

static int
on_gpadl_teardown(struct vmb_bus_conn *c, const void *msg)
{
	struct vmbus_chanmsg_gpadl_disconn m;
	struct vmb_bus_msg_gpadl_torndown r = {.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_DISCONNRESP};
	uint32_t i;

	memcpy(&m, msg, sizeof(m));
	if (c->state != CONN_CONNECTED || vmb_gpadl_find(&c->gpadls, m.gpadl) == NULL)
		return -EPROTO;
	for (i = 0; i < c->h->noffers; i++)
		if (c->chans[i].open && c->chans[i].ring_gpadl == m.gpadl)
			return -EPROTO; /* rings of an open channel */
	pthread_mutex_lock(&c->gpadl_lock);
	vmb_gpadl_remove(&c->gpadls, m.gpadl);
	pthread_mutex_unlock(&c->gpadl_lock);
	c->h->stats.gpadls_torn_down++;
	r.gpadl = m.gpadl;
	return send_msg(c, &r, sizeof(r));
}

/* A descriptor for OPEN must be an eventfd (not, say, the guest's own socket, which would keep
 * its connection alive, or a pipe); it is made non-blocking, as the guest may have made it
 * blocking and can fill or drain the counter itself. */
static bool
usable_eventfd(int fd)
{
	char path[64], line[128];
	bool yes = false;
	FILE *f;
	int fl;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	while (!yes && fgets(line, sizeof(line), f))
		yes = strncmp(line, "eventfd-count:", 14) == 0;
	fclose(f);
	fl = yes ? fcntl(fd, F_GETFL) : -1;
	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

static int
open_result(struct vmb_bus_conn *c, const struct vmbus_chanmsg_chopen *m, uint32_t status)
{
	struct vmbus_chanmsg_chopen_resp r = {.hdr.type = VMBUS_CHANMSG_TYPE_CHOPEN_RESP};
	r.chanid = m->chanid;
	r.openid = m->openid;
	r.status = status;
	return send_msg(c, &r, sizeof(r));
}

static int
on_open(struct vmb_bus_conn *c, const void *msg)
{
	struct vmbus_chanmsg_chopen m;
	struct vmb_bus_host *h = c->h;
	const struct vmb_gpadl *g;
	struct host_chan *hc;
	struct vmb_channel *ch;
	uint32_t out_pages;
	int rc;

	memcpy(&m, msg, sizeof(m));
	hc = chan_by_relid(c, m.chanid);
	if (c->state != CONN_CONNECTED || hc == NULL || hc->rescinded || hc->open ||
	    (c->rx.nfds != 0 && c->rx.nfds != 2) ||
	    (c->rx.nfds == 2 && (!usable_eventfd(c->rx.fds[0]) || !usable_eventfd(c->rx.fds[1]))))
		return -EPROTO;
	g = vmb_gpadl_find(&c->gpadls, m.gpadl);
	if (g == NULL)
		return -EPROTO;
	/* Pages [0, txbr) are the guest's outgoing ring, the rest ours: two rings of >= 2 pages */
	if (g->page_count < 4 || m.txbr_pgcnt < 2 || m.txbr_pgcnt > g->page_count - 2)
		return open_result(c, &m, STATUS_FAIL);
	out_pages = g->page_count - m.txbr_pgcnt;
	memset(&hc->link, 0, sizeof(hc->link));
	hc->link.wait_fd = hc->link.signal_fd = -1;
	if (c->rx.nfds == 2) {
		hc->link.wait_fd = vmb_bus_rx_take_fd(&c->rx, 0);
		hc->link.signal_fd = vmb_bus_rx_take_fd(&c->rx, 1);
		hc->link.interrupt_mode = true;
	}
	if (vmb_ring_map(&c->mem, g, 0, m.txbr_pgcnt, &hc->link.incoming, &hc->m_in) != 0 ||
	    vmb_ring_map(&c->mem, g, m.txbr_pgcnt, out_pages, &hc->link.outgoing, &hc->m_out) != 0) {
		vmb_bus_unmap_chan(hc);
		return open_result(c, &m, STATUS_FAIL);
	}
	hc->link.guest_mem = &c->mem;
	hc->ring_gpadl = m.gpadl;
	hc->txbr = m.txbr_pgcnt;
	ch = h->offers[hc->offer].on_open(h->offers[hc->offer].ctx, c, hc->offer);
	if (ch == NULL) {
		vmb_bus_unmap_chan(hc);
		return open_result(c, &m, STATUS_FAIL);
	}
	hc->ch = ch;
	hc->open = true;
	hc->bound = ch;
	if (vmb_channel_state(ch) == VMB_CHANNEL_CLOSED) {
		/* the VSP kept the channel from an earlier open: reopen it */
		rc = vmb_channel_link_open(ch, &hc->link);
	} else {
		rc = vmb_channel_set_transport(ch, &vmb_bus_host_ops, hc);
		if (rc == 0)
			rc = vmb_channel_enable(ch);
	}
	if (rc == 0)
		rc = vmb_channel_start(ch);
	if (rc) {
		/* e.g. rings with invalid indices: the VSP's channel goes back to it (Disabled, or
		 * Closed when it was kept from an earlier open) */
		hc->open = false;
		hc->ch = NULL;
		vmb_bus_unmap_chan(hc);
		if (vmb_channel_state(ch) == VMB_CHANNEL_DISABLED) {
			vmb_channel_detach_transport(ch); /* the VSP may free it without a disable */
			hc->bound = NULL;
		}
		if (h->offers[hc->offer].on_close)
			h->offers[hc->offer].on_close(h->offers[hc->offer].ctx, c, hc->offer, ch);
		return open_result(c, &m, STATUS_FAIL);
	}
	h->stats.opens++;
	return open_result(c, &m, 0);
}

static int
on_close(struct vmb_bus_conn *c, const void *msg)
{
	struct vmbus_chanmsg_chclose m;
	struct host_chan *hc;

	memcpy(&m, msg, sizeof(m));
	hc = chan_by_relid(c, m.chanid);
	if (c->state != CONN_CONNECTED || hc == NULL || !hc->open)
		return -EPROTO;
	vmb_bus_close_chan(hc);
	return 0;
}

static int
on_relid_released(struct vmb_bus_conn *c, const void *msg)
{
	struct vmbus_chanmsg_chfree m;
	struct host_chan *hc;

	memcpy(&m, msg, sizeof(m));
	hc = chan_by_relid(c, m.chanid);
	if (hc == NULL || !hc->rescinded)
		return -EPROTO;
	hc->offered = false;
	return 0;
}

static int
on_unload(struct vmb_bus_conn *c)
{
	struct vmbus_chanmsg_hdr r = {.type = VMB_BUS_MSG_UNLOAD_RESPONSE};
	uint32_t i;

	if (c->state != CONN_CONNECTED)
		return -EPROTO;
	for (i = 0; i < c->h->noffers; i++)
		vmb_bus_close_chan(&c->chans[i]);
	c->state = CONN_UNLOADED;
	return send_msg(c, &r, sizeof(r));
}

static int
handle(struct vmb_bus_conn *c)
{
	uint32_t type = vmb_bus_rx_type(&c->rx), len = vmb_bus_rx_len(&c->rx);
	const uint8_t *msg = vmb_bus_rx_msg(&c->rx);
	uint32_t min = vmb_bus_msg_min_len(type);

	if (min == 0 || len < min)
		return -EPROTO;
	/* Only the contact and open messages carry descriptors. */
	if (c->rx.nfds && type != VMBUS_CHANMSG_TYPE_CONNECT && type != VMBUS_CHANMSG_TYPE_CHOPEN)
		return -EPROTO;
	switch (type) {
	case VMBUS_CHANMSG_TYPE_CONNECT:
		return on_contact(c, msg, len);
	case VMBUS_CHANMSG_TYPE_CHREQUEST:
		return c->state == CONN_CONNECTED ? on_request_offers(c) : -EPROTO;
	case VMBUS_CHANMSG_TYPE_GPADL_CONN:
		return on_gpadl_header(c, msg, len);
	case VMBUS_CHANMSG_TYPE_GPADL_SUBCONN:
		return on_gpadl_body(c, msg, len);
	case VMBUS_CHANMSG_TYPE_GPADL_DISCONN:
		return on_gpadl_teardown(c, msg);
	case VMBUS_CHANMSG_TYPE_CHOPEN:
		return on_open(c, msg);
	case VMBUS_CHANMSG_TYPE_CHCLOSE:
		return on_close(c, msg);
	case VMBUS_CHANMSG_TYPE_CHFREE:
		return on_relid_released(c, msg);
	case VMBUS_CHANMSG_TYPE_DISCONNECT:
		return on_unload(c);
	default:
		return -EPROTO; /* a host-to-guest message, or one we do not serve */
	}
}

/* Read and handle every complete frame of one guest. @return frames handled or -error. */
static int
serve_conn(struct vmb_bus_conn *c)
{
	int n = 0, rc;

	for (;;) {
		rc = vmb_bus_recv(c->sock, &c->rx);
		if (rc <= 0)
			return rc == 0 ? n : rc;
		rc = handle(c);
		vmb_bus_rx_reset(&c->rx);
		if (rc)
			return rc;
		n++;
	}
}

static void
accept_guests(struct vmb_bus_host *h)
{
	for (;;) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct vmb_bus_conn *c;
		uint32_t slot;
		int s = accept4(h->lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (s < 0)
			return;
		for (slot = 0; slot < h->cfg.max_guests; slot++)
			if (h->conns[slot] == NULL)
				break;
		c = slot < h->cfg.max_guests ? vmb_bus_conn_alloc(h) : NULL;
		if (c == NULL) {
			close(s); /* full, or no memory: refuse this guest, keep the others */
			continue;
		}
		c->id = ++h->next_conn_id;
		c->sock = s;
		ev.data.ptr = c;
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, s, &ev) != 0) {
			vmb_bus_conn_free(c);
			continue;
		}
		h->conns[slot] = c;
		h->stats.guests_accepted++;
	}
}

/* ---- public ---- */

int
vmb_bus_host_alloc(const struct vmb_bus_host_config *cfg, struct vmb_bus_host **out)
{
	struct vmb_bus_host *h;

	if (cfg == NULL || out == NULL || cfg->path == NULL ||
	    strlen(cfg->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->cfg = *cfg;
	if (!h->cfg.max_guests)
		h->cfg.max_guests = 64;
	if (!h->cfg.max_channels)
		h->cfg.max_channels = 64;
	if (!h->cfg.max_gpadls)
		h->cfg.max_gpadls = 256;
	if (!h->cfg.max_gpadl_pages)
		h->cfg.max_gpadl_pages = 65536;
	snprintf(h->path, sizeof(h->path), "%s", cfg->path);
	h->cfg.path = h->path;
	h->lsock = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->offers = calloc(h->cfg.max_channels, sizeof(*h->offers));
	h->offer_live = calloc(h->cfg.max_channels, sizeof(*h->offer_live));
	h->conns = calloc(h->cfg.max_guests, sizeof(*h->conns));
	if (h->epfd < 0 || h->offers == NULL || h->offer_live == NULL || h->conns == NULL) {
		vmb_bus_host_destroy(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

int
vmb_bus_host_listen_on(struct vmb_bus_host *h, int lsock)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	h->lsock = lsock;
	return epoll_ctl(h->epfd, EPOLL_CTL_ADD, lsock, &ev) == 0 ? 0 : -errno;
}

int
vmb_bus_host_create(const struct vmb_bus_host_config *cfg, struct vmb_bus_host **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vmb_bus_host *h;
	int rc, s;

	rc = vmb_bus_host_alloc(cfg, &h);
	if (rc)
		return rc;
	memcpy(sa.sun_path, h->path, strlen(h->path));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		rc = -errno;
		goto fail;
	}
	unlink(h->path); /* a socket file left by an earlier host */
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 64) != 0) {
		rc = -errno;
		close(s);
		goto fail;
	}
	rc = vmb_bus_host_listen_on(h, s);
	if (rc)
		goto fail;
	*out = h;
	return 0;
fail:
	vmb_bus_host_destroy(h);
	return rc;
}

void
vmb_bus_host_destroy(struct vmb_bus_host *h)
{
	uint32_t i;

	if (h == NULL)
		return;
	for (i = 0; h->conns && i < h->cfg.max_guests; i++)
		if (h->conns[i])
			drop_conn(h, i, false);
	if (h->lsock >= 0)
		close(h->lsock);
	if (h->path[0])
		unlink(h->path);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h->offers);
	free(h->offer_live);
	free(h->conns);
	free(h);
}

int
vmb_bus_host_add_offer(struct vmb_bus_host *h, const struct vmb_bus_offer *o, uint32_t *offer_id)
{
	uint32_t i, slot;

	if (h == NULL || o == NULL || o->on_open == NULL)
		return -EINVAL;
	if (h->noffers >= h->cfg.max_channels)
		return -ENOSPC;
	slot = h->noffers++;
	h->offers[slot] = *o;
	h->offer_live[slot] = true;
	if (offer_id)
		*offer_id = slot;
	/* Guests already past REQUEST_OFFERS get it now. */
	for (i = 0; i < h->cfg.max_guests; i++) {
		struct vmb_bus_conn *c = h->conns[i];
		if (c && c->state == CONN_CONNECTED && vmb_bus_send_offer(c, slot) != 0)
			drop_conn(h, i, false);
	}
	return 0;
}

int
vmb_bus_host_rescind(struct vmb_bus_host *h, uint32_t offer_id)
{
	struct vmbus_chanmsg_chrescind m = {.hdr.type = VMBUS_CHANMSG_TYPE_CHRESCIND};
	uint32_t i;

	if (h == NULL || offer_id >= h->noffers || !h->offer_live[offer_id])
		return -ENOENT;
	h->offer_live[offer_id] = false;
	m.chanid = relid_of(offer_id);
	for (i = 0; i < h->cfg.max_guests; i++) {
		struct vmb_bus_conn *c = h->conns[i];
		struct host_chan *hc;
		if (c == NULL || !c->chans[offer_id].offered)
			continue;
		hc = &c->chans[offer_id];
		vmb_bus_close_chan(hc);
		hc->rescinded = true;
		h->stats.rescinds++;
		if (send_msg(c, &m, sizeof(m)) != 0)
			drop_conn(h, i, false);
	}
	return 0;
}

int
vmb_bus_host_poll(struct vmb_bus_host *h, int timeout_ms)
{
	struct epoll_event evs[32];
	int n, k, handled = 0;

	if (h == NULL)
		return -EINVAL;
	if (h->handed_off)
		return -ESHUTDOWN;
	n = epoll_wait(h->epfd, evs, 32, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (k = 0; k < n; k++) {
		struct vmb_bus_conn *c = evs[k].data.ptr;
		uint32_t slot;
		int rc;

		if (c == NULL) {
			accept_guests(h);
			handled++;
			continue;
		}
		for (slot = 0; slot < h->cfg.max_guests && h->conns[slot] != c; slot++)
			;
		if (slot == h->cfg.max_guests)
			continue; /* dropped earlier in this batch */
		rc = serve_conn(c);
		if (rc < 0)
			drop_conn(h, slot, rc == -EPROTO);
		else
			handled += rc;
	}
	return handled;
}

int
vmb_bus_host_fd(const struct vmb_bus_host *h)
{
	return h ? h->epfd : -1;
}

void
vmb_bus_host_get_stats(const struct vmb_bus_host *h, struct vmb_bus_host_stats *out)
{
	if (h && out)
		*out = h->stats;
}

uint32_t
vmb_bus_host_guest_count(const struct vmb_bus_host *h)
{
	uint32_t i, n = 0;
	for (i = 0; h && i < h->cfg.max_guests; i++)
		n += h->conns[i] != NULL;
	return n;
}

const struct vmb_guest_mem *
vmb_bus_conn_memory(const struct vmb_bus_conn *c)
{
	return c && c->have_mem ? &c->mem : NULL;
}

uint32_t
vmb_bus_conn_id(const struct vmb_bus_conn *c)
{
	return c ? c->id : 0;
}

int
vmb_bus_conn_gpadl_map(struct vmb_bus_conn *c, uint32_t gpadl_id, struct vmb_mapping *out)
{
	struct vmb_gpadl copy = {0};
	const struct vmb_gpadl *g;
	int rc = 0;

	if (out)
		memset(out, 0, sizeof(*out));
	if (c == NULL || out == NULL)
		return -EINVAL;
	/* Copy the page list under the lock and map outside it: the control thread may be adding
	 * or removing GPADLs meanwhile, and mmap calls should not hold it up. */
	pthread_mutex_lock(&c->gpadl_lock);
	g = vmb_gpadl_find(&c->gpadls, gpadl_id);
	if (g == NULL) {
		rc = -ENOENT;
	} else {
		copy.id = g->id;
		copy.page_count = g->page_count;
		copy.pfns = malloc(sizeof(uint64_t) * g->page_count);
		if (copy.pfns == NULL)
			rc = -ENOMEM;
		else
			memcpy(copy.pfns, g->pfns, sizeof(uint64_t) * g->page_count);
	}
	pthread_mutex_unlock(&c->gpadl_lock);
	if (rc)
		return rc;
	/* Our own view of the guest's memfd: it stays valid whatever the guest does next. The
	 * page numbers were checked against the memory when the GPADL was created. */
	rc = vmb_gpadl_map(&c->mem, &copy, 0, copy.page_count, 0, false, out);
	free(copy.pfns);
	return rc;
}
