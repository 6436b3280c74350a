/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The VMBus client over a UNIX socket (see vmb_bus.h): contact with version negotiation, offers,
 * ring donation as a GPADL (header + body messages), open/close of client channels through the
 * transport seam, rescind handling, unload. Waiting for an answer also handles what the host
 * sends meanwhile (offers, rescinds), so the two never deadlock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <vmb/vmb_bus.h>
#include <vmb/vmb_transport.h>

#include "vmb_bus_wire.h"

#define MAX_CHANS 64
#define MAX_OFFERS 256
#define GPADL_HEADER_PAGES VMBUS_CHANMSG_GPADL_CONN_PGMAX
#define GPADL_BODY_PAGES VMBUS_CHANMSG_GPADL_SUBCONN_PGMAX

static const uint32_t guest_versions[] = {
	VMB_BUS_VERSION_WIN10_V5_3, VMB_BUS_VERSION_WIN10_V5_2, VMB_BUS_VERSION_WIN10_V5_1,
	VMB_BUS_VERSION_WIN10_V5,   VMB_BUS_VERSION_WIN10,      VMB_BUS_VERSION_WIN8_1,
	VMB_BUS_VERSION_WIN8,
};

struct guest_chan {
	struct vmb_bus_guest *g;
	struct vmb_channel *ch;
	uint16_t subchannel;
	bool open;
	uint32_t relid, gpadl;
	uint64_t first_pfn;
	uint32_t npages;
	struct vmb_gpadl_table local; /* our own view of the ring GPADL, to map it */
	struct vmb_mapping m_in, m_out;
	int host_fd, guest_fd;
};

struct vmb_bus_guest {
	struct vmb_bus_guest_config cfg;
	int sock;
	uint32_t version;
	struct vmb_bus_rx rx;
	struct vmb_bus_offer_info offers[MAX_OFFERS];
	uint32_t noffers;
	struct guest_chan *chans[MAX_CHANS];
	uint32_t next_gpadl, next_openid;
	bool dead;
};

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void teardown_chan(struct guest_chan *gc);

/* The host went away: every open channel closes (client channels go Disabled). */
static void
host_gone(struct vmb_bus_guest *g)
{
	uint32_t i;

	if (g->dead)
		return;
	g->dead = true;
	for (i = 0; i < MAX_CHANS; i++) {
		struct guest_chan *gc = g->chans[i];
		if (gc && gc->open) {
			gc->open = false;
			vmb_channel_link_close(gc->ch);
			teardown_chan(gc);
		}
	}
}

/* Messages the host may send at any time. */
static int
handle_async(struct vmb_bus_guest *g)
{
	uint32_t type = vmb_bus_rx_type(&g->rx), len = vmb_bus_rx_len(&g->rx);
	const void *msg = vmb_bus_rx_msg(&g->rx);
	uint32_t i;

	if (vmb_bus_msg_min_len(type) == 0 || len < vmb_bus_msg_min_len(type) || g->rx.nfds)
		return -EPROTO;
	switch (type) {
	case VMBUS_CHANMSG_TYPE_CHOFFER: {
		struct vmbus_chanmsg_choffer m;
		struct vmb_bus_offer_info *o;
		memcpy(&m, msg, sizeof(m));
		if (m.chanid == 0)
			return -EPROTO;
		for (i = 0; i < g->noffers; i++)
			if (g->offers[i].child_relid == m.chanid)
				break;
		if (i == g->noffers) {
			if (g->noffers == MAX_OFFERS)
				return 0; /* more offers than we track: ignore the rest */
			g->noffers++;
		}
		o = &g->offers[i];
		memset(o, 0, sizeof(*o));
		o->child_relid = m.chanid;
		memcpy(o->type.b, m.chtype, 16);
		memcpy(o->instance.b, m.chinst, 16);
		o->subchannel = m.subidx;
		memcpy(o->user_data, m.udata, sizeof(o->user_data));
		return 0;
	}
	case VMBUS_CHANMSG_TYPE_CHRESCIND: {
		struct vmbus_chanmsg_chrescind m;
		struct vmbus_chanmsg_chfree r = {.hdr.type = VMBUS_CHANMSG_TYPE_CHFREE};
		memcpy(&m, msg, sizeof(m));
		for (i = 0; i < g->noffers; i++)
			if (g->offers[i].child_relid == m.chanid)
				g->offers[i].rescinded = true;
		for (i = 0; i < MAX_CHANS; i++) {
			struct guest_chan *gc = g->chans[i];
			if (gc && gc->open && gc->relid == m.chanid) {
				gc->open = false;
				vmb_channel_link_close(gc->ch);
				teardown_chan(gc);
			}
		}
		r.chanid = m.chanid;
		return vmb_bus_send(g->sock, &r, sizeof(r), NULL, 0);
	}
	case VMBUS_CHANMSG_TYPE_CHOFFER_DONE:
	case VMBUS_CHANMSG_TYPE_GPADL_DISCONNRESP:
		return 0; /* late answers nobody waits for */
	default:
		return -EPROTO;
	}
}

/* Wait for a message of @p type whose first word after the header equals @p id (when
 * @p match_id), handling others meanwhile. Copies it to @p out. */
static int
wait_for(struct vmb_bus_guest *g, uint32_t type, bool match_id, uint32_t id, void *out,
	 uint32_t out_len)
{
	int64_t deadline = now_ms() + g->cfg.timeout_ms;

	for (;;) {
		int rc = vmb_bus_recv(g->sock, &g->rx);
		if (rc < 0) {
			host_gone(g);
			return rc == -EPROTO ? -EPROTO : -ENOTCONN;
		}
		if (rc == 1) {
			uint32_t t = vmb_bus_rx_type(&g->rx), len = vmb_bus_rx_len(&g->rx), first;
			const uint8_t *msg = vmb_bus_rx_msg(&g->rx);
			if (t == type && len >= out_len && g->rx.nfds == 0) {
				memcpy(&first, msg + sizeof(struct vmbus_chanmsg_hdr),
				       len >= sizeof(struct vmbus_chanmsg_hdr) + 4 ? 4 : 0);
				if (!match_id || first == id) {
					memcpy(out, msg, out_len);
					vmb_bus_rx_reset(&g->rx);
					return 0;
				}
			}
			rc = handle_async(g);
			vmb_bus_rx_reset(&g->rx);
			if (rc)
				return rc;
			continue;
		}
		{
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			rc = vmb_bus_wait_readable(g->sock, (int)left);
			if (rc < 0)
				return rc;
		}
	}
}

/* ---- channel transport (guest side) ---- */

static void
teardown_chan(struct guest_chan *gc)
{
	vmb_mapping_unmap(&gc->m_in);
	vmb_mapping_unmap(&gc->m_out);
	vmb_gpadl_table_fini(&gc->local);
	if (gc->npages)
		vmb_mem_free_pages(gc->g->cfg.mem, gc->first_pfn, gc->npages);
	gc->npages = 0;
	if (gc->host_fd >= 0)
		close(gc->host_fd);
	if (gc->guest_fd >= 0)
		close(gc->guest_fd);
	gc->host_fd = gc->guest_fd = -1;
}

static int
send_gpadl(struct guest_chan *gc, const uint64_t *pfns, uint32_t n)
{
	struct vmb_bus_guest *g = gc->g;
	uint8_t buf[VMB_BUS_MAX_PAYLOAD];
	struct vmbus_chanmsg_gpadl_conn h;
	struct vmbus_chanmsg_gpadl_subconn b;
	uint32_t here = n < GPADL_HEADER_PAGES ? n : GPADL_HEADER_PAGES, sent, msgno = 0;
	int rc;

	memset(&h, 0, sizeof(h));
	h.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_CONN;
	h.chanid = gc->relid;
	h.gpadl = gc->gpadl;
	h.range_len = (uint16_t)(8 + 8 * n);
	h.range_cnt = 1;
	h.range.len = n * VMB_PAGE_SIZE;
	h.range.ofs = 0;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), pfns, here * 8u);
	rc = vmb_bus_send(g->sock, buf, (uint32_t)sizeof(h) + here * 8u, NULL, 0);
	for (sent = here; rc == 0 && sent < n; sent += here) {
		here = n - sent < GPADL_BODY_PAGES ? n - sent : GPADL_BODY_PAGES;
		memset(&b, 0, sizeof(b));
		b.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_SUBCONN;
		b.msgno = ++msgno;
		b.gpadl = gc->gpadl;
		memcpy(buf, &b, sizeof(b));
		memcpy(buf + sizeof(b), pfns + sent, here * 8u);
		rc = vmb_bus_send(g->sock, buf, (uint32_t)sizeof(b) + here * 8u, NULL, 0);
	}
	return rc;
}

static const struct vmb_bus_offer_info *
find_offer(struct vmb_bus_guest *g, struct vmb_channel *ch, uint16_t subchannel)
{
	struct vmb_guid type, inst, zero = {{0}};
	uint32_t i;

	vmb_channel_get_interface(ch, &type, &inst);
	for (i = 0; i < g->noffers; i++) {
		const struct vmb_bus_offer_info *o = &g->offers[i];
		if (o->rescinded || o->subchannel != subchannel ||
		    memcmp(o->type.b, type.b, 16) != 0)
			continue;
		if (memcmp(inst.b, zero.b, 16) != 0 && memcmp(o->instance.b, inst.b, 16) != 0)
			continue;
		return o;
	}
	return NULL;
}

static int
guest_ch_enable(void *ctx, struct vmb_channel *ch)
{
	struct guest_chan *gc = ctx;
	struct vmb_bus_guest *g = gc->g;
	const struct vmb_bus_offer_info *o;
	struct vmbus_chanmsg_gpadl_connresp cr;
	struct vmbus_chanmsg_chopen om;
	struct vmbus_chanmsg_chopen_resp orr;
	struct vmb_channel_link link = {.signal_fd = -1, .wait_fd = -1};
	uint32_t in_pages, out_pages, i, id;
	uint64_t *pfns;
	int fds[2], rc;

	if (g->dead)
		return -ENOTCONN;
	o = find_offer(g, ch, gc->subchannel);
	if (o == NULL)
		return -ENOENT;
	gc->relid = o->child_relid;
	vmb_channel_ring_pages(ch, &in_pages, &out_pages);
	gc->host_fd = gc->guest_fd = -1;

	/* Donate the rings: the outgoing ring first, then the incoming one. */
	gc->npages = in_pages + out_pages;
	rc = vmb_mem_alloc_pages(g->cfg.mem, gc->npages, &gc->first_pfn);
	if (rc) {
		gc->npages = 0;
		return rc;
	}
	pfns = malloc(sizeof(*pfns) * gc->npages);
	if (pfns == NULL || vmb_gpadl_table_init(&gc->local, 1) != 0) {
		free(pfns);
		teardown_chan(gc);
		return -ENOMEM;
	}
	for (i = 0; i < gc->npages; i++)
		pfns[i] = gc->first_pfn + i;
	vmb_ring_format((struct vmbus_bufring *)(g->cfg.mem->base + (gc->first_pfn << VMB_PAGE_SHIFT)));
	vmb_ring_format((struct vmbus_bufring *)(g->cfg.mem->base +
						 ((gc->first_pfn + out_pages) << VMB_PAGE_SHIFT)));
	gc->gpadl = ++g->next_gpadl;
	rc = vmb_gpadl_add(&gc->local, g->cfg.mem, gc->gpadl, pfns, gc->npages, &id);
	if (rc == 0)
		rc = send_gpadl(gc, pfns, gc->npages);
	free(pfns);
	if (rc == 0)
		rc = wait_for(g, VMBUS_CHANMSG_TYPE_GPADL_CONNRESP, true, gc->relid, &cr, sizeof(cr));
	if (rc == 0 && (cr.gpadl != gc->gpadl || cr.status != 0))
		rc = -EIO;
	if (rc == 0)
		rc = vmb_ring_map(g->cfg.mem, vmb_gpadl_find(&gc->local, id), 0, out_pages,
				  &link.outgoing, &gc->m_out);
	if (rc == 0)
		rc = vmb_ring_map(g->cfg.mem, vmb_gpadl_find(&gc->local, id), out_pages, in_pages,
				  &link.incoming, &gc->m_in);
	if (rc)
		goto fail;
	if (g->cfg.interrupt_mode) {
		gc->host_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		gc->guest_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (gc->host_fd < 0 || gc->guest_fd < 0) {
			rc = -errno;
			goto fail;
		}
	}
	memset(&om, 0, sizeof(om));
	om.hdr.type = VMBUS_CHANMSG_TYPE_CHOPEN;
	om.chanid = gc->relid;
	om.openid = ++g->next_openid;
	om.gpadl = gc->gpadl;
	om.txbr_pgcnt = out_pages;
	fds[0] = gc->host_fd;
	fds[1] = gc->guest_fd;
	rc = vmb_bus_send(g->sock, &om, sizeof(om), fds, g->cfg.interrupt_mode ? 2 : 0);
	if (rc == 0)
		rc = wait_for(g, VMBUS_CHANMSG_TYPE_CHOPEN_RESP, true, gc->relid, &orr, sizeof(orr));
	if (rc == 0 && (orr.openid != om.openid || orr.status != 0))
		rc = -EIO;
	if (rc)
		goto fail;
	link.guest_mem = g->cfg.mem;
	link.signal_fd = gc->host_fd;
	link.wait_fd = gc->guest_fd;
	link.interrupt_mode = g->cfg.interrupt_mode;
	gc->open = true;
	rc = vmb_channel_link_open(ch, &link);
	if (rc) {
		struct vmbus_chanmsg_chclose cm = {.hdr.type = VMBUS_CHANMSG_TYPE_CHCLOSE};
		gc->open = false;
		cm.chanid = gc->relid;
		vmb_bus_send(g->sock, &cm, sizeof(cm), NULL, 0);
		goto fail;
	}
	return 0;
fail:
	teardown_chan(gc);
	return rc;
}

static void
guest_ch_disable(void *ctx, struct vmb_channel *ch)
{
	struct guest_chan *gc = ctx;
	struct vmb_bus_guest *g = gc->g;
	struct vmbus_chanmsg_chclose cm = {.hdr.type = VMBUS_CHANMSG_TYPE_CHCLOSE};
	struct vmbus_chanmsg_gpadl_disconn td = {.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_DISCONN};
	struct vmb_bus_msg_gpadl_torndown r;

	(void)ch;
	if (!gc->open)
		return;
	gc->open = false;
	if (!g->dead) {
		cm.chanid = gc->relid;
		td.chanid = gc->relid;
		td.gpadl = gc->gpadl;
		/* The host must have let go of the ring pages before we reuse them. */
		if (vmb_bus_send(g->sock, &cm, sizeof(cm), NULL, 0) != 0 ||
		    vmb_bus_send(g->sock, &td, sizeof(td), NULL, 0) != 0 ||
		    wait_for(g, VMBUS_CHANMSG_TYPE_GPADL_DISCONNRESP, true, gc->gpadl, &r, sizeof(r)) != 0)
			host_gone(g);
	}
	teardown_chan(gc);
}

static const struct vmb_transport_ops guest_ops = {
	.enable = guest_ch_enable,
	.disable = guest_ch_disable,
};

/* ---- public ---- */

int
vmb_bus_guest_connect(const struct vmb_bus_guest_config *cfg, struct vmb_bus_guest **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vmb_bus_guest *g;
	struct vmbus_chanmsg_hdr req = {.type = VMBUS_CHANMSG_TYPE_CHREQUEST}, done;
	uint32_t i;
	int rc;

	if (cfg == NULL || out == NULL || cfg->path == NULL || cfg->mem == NULL ||
	    cfg->mem->fd < 0 || strlen(cfg->path) >= sizeof(sa.sun_path))
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return -ENOMEM;
	g->cfg = *cfg;
	if (g->cfg.timeout_ms <= 0)
		g->cfg.timeout_ms = 5000;
	vmb_bus_rx_init(&g->rx);
	memcpy(sa.sun_path, cfg->path, strlen(cfg->path));
	g->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->sock < 0 || connect(g->sock, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		goto fail;
	}
	/* Newest version first; the host answers done = 0 to versions it does not speak. */
	rc = -EPROTO;
	for (i = 0; i < sizeof(guest_versions) / sizeof(guest_versions[0]); i++) {
		struct vmbus_chanmsg_connect m;
		struct vmbus_chanmsg_connect_resp r;
		memset(&m, 0, sizeof(m));
		m.hdr.type = VMBUS_CHANMSG_TYPE_CONNECT;
		m.ver = guest_versions[i];
		rc = vmb_bus_send(g->sock, &m, sizeof(m), &cfg->mem->fd, 1);
		if (rc == 0)
			rc = wait_for(g, VMBUS_CHANMSG_TYPE_CONNECT_RESP, false, 0, &r, sizeof(r));
		if (rc)
			goto fail;
		if (r.done) {
			g->version = guest_versions[i];
			break;
		}
		rc = -EPROTO;
	}
	if (rc)
		goto fail;
	rc = vmb_bus_send(g->sock, &req, sizeof(req), NULL, 0);
	if (rc == 0)
		rc = wait_for(g, VMBUS_CHANMSG_TYPE_CHOFFER_DONE, false, 0, &done, sizeof(done));
	if (rc)
		goto fail;
	*out = g;
	return 0;
fail:
	if (g->sock >= 0)
		close(g->sock);
	vmb_bus_rx_reset(&g->rx);
	free(g);
	return rc;
}

void
vmb_bus_guest_disconnect(struct vmb_bus_guest *g)
{
	struct vmbus_chanmsg_hdr m = {.type = VMBUS_CHANMSG_TYPE_DISCONNECT}, r;
	uint32_t i;

	if (g == NULL)
		return;
	for (i = 0; i < MAX_CHANS; i++) {
		struct guest_chan *gc = g->chans[i];
		if (gc == NULL)
			continue;
		if (vmb_channel_state(gc->ch) != VMB_CHANNEL_DISABLED)
			vmb_channel_disable(gc->ch);
		vmb_channel_detach_transport(gc->ch);
		teardown_chan(gc);
		free(gc);
	}
	if (!g->dead && vmb_bus_send(g->sock, &m, sizeof(m), NULL, 0) == 0)
		wait_for(g, VMB_BUS_MSG_UNLOAD_RESPONSE, false, 0, &r, sizeof(r));
	close(g->sock);
	vmb_bus_rx_reset(&g->rx);
	free(g);
}

uint32_t
vmb_bus_guest_version(const struct vmb_bus_guest *g)
{
	return g ? g->version : 0;
}

uint32_t
vmb_bus_guest_offers(const struct vmb_bus_guest *g, struct vmb_bus_offer_info *out, uint32_t n)
{
	uint32_t i;

	if (g == NULL)
		return 0;
	for (i = 0; out && i < n && i < g->noffers; i++)
		out[i] = g->offers[i];
	return g->noffers;
}

int
vmb_bus_guest_attach(struct vmb_bus_guest *g, struct vmb_channel *ch, uint16_t subchannel)
{
	struct guest_chan *gc;
	uint32_t i;
	int rc;

	if (g == NULL || ch == NULL || vmb_channel_is_server(ch))
		return -EINVAL;
	for (i = 0; i < MAX_CHANS && g->chans[i]; i++)
		;
	if (i == MAX_CHANS)
		return -ENOSPC;
	gc = calloc(1, sizeof(*gc));
	if (gc == NULL)
		return -ENOMEM;
	gc->g = g;
	gc->ch = ch;
	gc->subchannel = subchannel;
	gc->host_fd = gc->guest_fd = -1;
	rc = vmb_channel_set_transport(ch, &guest_ops, gc);
	if (rc) {
		free(gc);
		return rc;
	}
	g->chans[i] = gc;
	return 0;
}

int
vmb_bus_guest_poll(struct vmb_bus_guest *g, int timeout_ms)
{
	int n = 0, rc;

	if (g == NULL)
		return -EINVAL;
	if (g->dead)
		return -ENOTCONN;
	rc = vmb_bus_wait_readable(g->sock, timeout_ms);
	if (rc <= 0)
		return rc;
	for (;;) {
		rc = vmb_bus_recv(g->sock, &g->rx);
		if (rc < 0) {
			host_gone(g);
			return rc == -EPROTO ? -EPROTO : -ENOTCONN;
		}
		if (rc == 0)
			return n;
		rc = handle_async(g);
		vmb_bus_rx_reset(&g->rx);
		if (rc) {
			host_gone(g);
			return rc;
		}
		n++;
	}
}

int
vmb_bus_guest_fd(const struct vmb_bus_guest *g)
{
	return g ? g->sock : -1;
}
