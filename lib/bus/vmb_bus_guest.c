/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The VMBus client over a UNIX socket (see vmb_bus.h): contact with version negotiation, offers,
 * ring donation as a GPADL (header + body messages), open/close of client channels through the
 * transport seam, GPADLs of other buffers for open channels (torn down with their channel),
 * rescind handling, unload. Waiting for an answer also handles what the host sends meanwhile
 * (offers, rescinds, answers to requests we gave up on), so the two never deadlock.
 *
 * One control thread drives a connection: every call here, and the enable/disable of channels
 * bound to it, runs on that thread, which is how the control messages are serialized (one
 * request in flight at a time, its answer matched by id).
 */
#include <errno.h>
#include <stddef.h>
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
/* range_len (u16) = 8 + 8 * pages: the most pages one GPADL header can describe */
#define GPADL_MAX_PAGES ((UINT16_MAX - 8u) / 8u)
/* GPADL creations we gave up waiting for (timeout): their late answer is expected */
#define MAX_ABANDONED 8

/* offsets of the u32 a waiter matches in an answer */
#define AT_CHANID ((int)sizeof(struct vmbus_chanmsg_hdr))
#define AT_GPADL_CREATED ((int)offsetof(struct vmbus_chanmsg_gpadl_connresp, gpadl))
#define AT_GPADL_TORNDOWN ((int)offsetof(struct vmb_bus_msg_gpadl_torndown, gpadl))
#define AT_NONE (-1)

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
	uint32_t *bufs;      /* buffer GPADLs created for this channel while open */
	uint32_t nbufs, bufs_cap;
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
	uint32_t abandoned[MAX_ABANDONED]; /* GPADL ids whose creation timed out; 0: free */
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

/* Every guest send waits for room, up to the answer timeout: the host reads everything, but a
 * large GPADL is more frames than a socket buffer holds. */
static int
gsend(struct vmb_bus_guest *g, const void *msg, uint32_t len, const int *fds, uint32_t nfds)
{
	return vmb_bus_send_wait(g->sock, msg, len, fds, nfds, g->cfg.timeout_ms);
}

/* The host went away: every open channel closes (client channels go Disabled). */
static void
host_gone(struct vmb_bus_guest *g)
{
	uint32_t i;

	if (g->dead)
		return;
	g->dead = true;
	memset(g->abandoned, 0, sizeof(g->abandoned));
	for (i = 0; i < MAX_CHANS; i++) {
		struct guest_chan *gc = g->chans[i];
		if (gc && gc->open) {
			gc->open = false;
			vmb_channel_link_close(gc->ch);
			teardown_chan(gc);
		}
		if (gc)
			gc->nbufs = 0; /* the host and its GPADL table are gone */
	}
}

static uint32_t
new_gpadl_id(struct vmb_bus_guest *g)
{
	if (++g->next_gpadl == 0)
		++g->next_gpadl;
	return g->next_gpadl;
}

/* Tell the host to tear @p gpadl down without waiting: its TORNDOWN is a late answer. Used
 * where waiting is not possible (while handling another message). */
static int
send_teardown(struct vmb_bus_guest *g, uint32_t relid, uint32_t gpadl)
{
	struct vmbus_chanmsg_gpadl_disconn td = {.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_DISCONN};

	td.chanid = relid;
	td.gpadl = gpadl;
	return gsend(g, &td, sizeof(td), NULL, 0);
}

/* We gave up waiting for GPADL_CREATED of @p gpadl: remember it, so that its late answer is
 * expected (and a GPADL created after all is torn down) rather than a protocol error. */
static void
abandon_gpadl(struct vmb_bus_guest *g, uint32_t gpadl)
{
	uint32_t i;

	for (i = 0; i < MAX_ABANDONED; i++)
		if (g->abandoned[i] == 0) {
			g->abandoned[i] = gpadl;
			return;
		}
	/* more unanswered creations than we track: a late answer will break the connection */
}

/* A channel closed under us (rescind): tear down its buffer GPADLs and its rings' GPADL
 * without waiting, so that the host's table does not keep them. */
static int
forget_chan_gpadls(struct guest_chan *gc, bool ring)
{
	int rc = 0;

	while (rc == 0 && gc->nbufs)
		rc = send_teardown(gc->g, gc->relid, gc->bufs[--gc->nbufs]);
	if (rc == 0 && ring)
		rc = send_teardown(gc->g, gc->relid, gc->gpadl);
	gc->nbufs = 0;
	return rc;
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
				int rc;
				gc->open = false;
				vmb_channel_link_close(gc->ch);
				/* the host closed its end: it lets go of the rings, and of the
				 * buffers, once it reads these (before the release below) */
				rc = forget_chan_gpadls(gc, true);
				teardown_chan(gc);
				if (rc)
					return rc;
			}
		}
		r.chanid = m.chanid;
		return gsend(g, &r, sizeof(r), NULL, 0);
	}
	case VMBUS_CHANMSG_TYPE_GPADL_CONNRESP: {
		/* only the late answer to a creation we gave up on is expected here */
		struct vmbus_chanmsg_gpadl_connresp m;
		memcpy(&m, msg, sizeof(m));
		for (i = 0; i < MAX_ABANDONED; i++)
			if (m.gpadl != 0 && g->abandoned[i] == m.gpadl)
				break;
		if (i == MAX_ABANDONED)
			return -EPROTO;
		g->abandoned[i] = 0;
		return m.status == 0 ? send_teardown(g, m.chanid, m.gpadl) : 0;
	}
	case VMBUS_CHANMSG_TYPE_CHOFFER_DONE:
	case VMBUS_CHANMSG_TYPE_GPADL_DISCONNRESP:
		return 0; /* late answers nobody waits for */
	default:
		return -EPROTO;
	}
}

/* Wait for a message of @p type whose u32 at byte @p match_at equals @p id (AT_NONE: any),
 * handling others meanwhile. Copies it to @p out. */
static int
wait_for(struct vmb_bus_guest *g, uint32_t type, int match_at, uint32_t id, void *out,
	 uint32_t out_len)
{
	int64_t deadline = now_ms() + g->cfg.timeout_ms;

	if (g->dead)
		return -ENOTCONN;
	for (;;) {
		int rc = vmb_bus_recv(g->sock, &g->rx);
		if (rc < 0) {
			host_gone(g);
			return rc == -EPROTO ? -EPROTO : -ENOTCONN;
		}
		if (rc == 1) {
			uint32_t t = vmb_bus_rx_type(&g->rx), len = vmb_bus_rx_len(&g->rx), word = 0;
			const uint8_t *msg = vmb_bus_rx_msg(&g->rx);
			if (t == type && len >= out_len && g->rx.nfds == 0 &&
			    (match_at < 0 || len >= (uint32_t)match_at + 4u)) {
				if (match_at >= 0)
					memcpy(&word, msg + match_at, 4);
				if (match_at < 0 || word == id) {
					memcpy(out, msg, out_len);
					vmb_bus_rx_reset(&g->rx);
					return 0;
				}
			}
			rc = handle_async(g);
			vmb_bus_rx_reset(&g->rx);
			if (rc) {
				host_gone(g);
				return rc == -EPROTO ? -EPROTO : -ENOTCONN;
			}
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

/* GPADL_HEADER with as many page numbers as fit, then GPADL_BODY messages with the rest. */
static int
send_gpadl(struct vmb_bus_guest *g, uint32_t relid, uint32_t gpadl, const uint64_t *pfns,
	   uint32_t n)
{
	uint8_t buf[VMB_BUS_MAX_PAYLOAD];
	struct vmbus_chanmsg_gpadl_conn h;
	struct vmbus_chanmsg_gpadl_subconn b;
	uint32_t here = n < GPADL_HEADER_PAGES ? n : GPADL_HEADER_PAGES, sent, msgno = 0;
	int rc;

	memset(&h, 0, sizeof(h));
	h.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_CONN;
	h.chanid = relid;
	h.gpadl = gpadl;
	h.range_len = (uint16_t)(8 + 8 * n); /* n <= GPADL_MAX_PAGES: no overflow */
	h.range_cnt = 1;
	h.range.len = n * VMB_PAGE_SIZE;
	h.range.ofs = 0;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), pfns, here * 8u);
	rc = gsend(g, buf, (uint32_t)sizeof(h) + here * 8u, NULL, 0);
	for (sent = here; rc == 0 && sent < n; sent += here) {
		here = n - sent < GPADL_BODY_PAGES ? n - sent : GPADL_BODY_PAGES;
		memset(&b, 0, sizeof(b));
		b.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_SUBCONN;
		b.msgno = ++msgno;
		b.gpadl = gpadl;
		memcpy(buf, &b, sizeof(b));
		memcpy(buf + sizeof(b), pfns + sent, here * 8u);
		rc = gsend(g, buf, (uint32_t)sizeof(b) + here * 8u, NULL, 0);
	}
	return rc;
}

/*
 * Create GPADL @p gpadl over @p pfns for channel @p relid and wait for GPADL_CREATED.
 * @return 0; -EPROTO (refused, or a malformed answer); -ETIMEDOUT (the late answer is then
 *         expected, and a GPADL created after all torn down); -ENOTCONN.
 */
static int
create_gpadl(struct vmb_bus_guest *g, uint32_t relid, uint32_t gpadl, const uint64_t *pfns,
	     uint32_t n)
{
	struct vmbus_chanmsg_gpadl_connresp cr;
	int rc;

	if (send_gpadl(g, relid, gpadl, pfns, n) != 0) {
		/* a GPADL half sent can not be taken back: the connection is unusable */
		host_gone(g);
		return -ENOTCONN;
	}
	rc = wait_for(g, VMBUS_CHANMSG_TYPE_GPADL_CONNRESP, AT_GPADL_CREATED, gpadl, &cr, sizeof(cr));
	if (rc == -ETIMEDOUT)
		abandon_gpadl(g, gpadl);
	if (rc)
		return rc;
	return cr.status == 0 ? 0 : -EPROTO;
}

/* GPADL_TEARDOWN and wait for GPADL_TORNDOWN. */
static int
teardown_wait(struct vmb_bus_guest *g, uint32_t relid, uint32_t gpadl)
{
	struct vmb_bus_msg_gpadl_torndown r;

	if (send_teardown(g, relid, gpadl) != 0) {
		host_gone(g);
		return -ENOTCONN;
	}
	return wait_for(g, VMBUS_CHANMSG_TYPE_GPADL_DISCONNRESP, AT_GPADL_TORNDOWN, gpadl, &r,
			sizeof(r));
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
	struct vmbus_chanmsg_chopen om;
	struct vmbus_chanmsg_chopen_resp orr;
	struct vmb_channel_link link = {.signal_fd = -1, .wait_fd = -1};
	uint32_t in_pages, out_pages, i, id;
	uint64_t *pfns;
	bool created = false;
	int fds[2], rc;

	if (g->dead)
		return -ENOTCONN;
	o = find_offer(g, ch, gc->subchannel);
	if (o == NULL)
		return -ENOENT;
	gc->relid = o->child_relid;
	vmb_channel_ring_pages(ch, &in_pages, &out_pages);
	if ((uint64_t)in_pages + out_pages > GPADL_MAX_PAGES)
		return -EINVAL; /* more than one GPADL header can describe */
	gc->host_fd = gc->guest_fd = -1;
	gc->nbufs = 0;

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
	gc->gpadl = new_gpadl_id(g);
	rc = vmb_gpadl_add(&gc->local, g->cfg.mem, gc->gpadl, pfns, gc->npages, &id);
	if (rc == 0) {
		rc = create_gpadl(g, gc->relid, gc->gpadl, pfns, gc->npages);
		if (rc == -EPROTO && !g->dead)
			rc = -EIO; /* refused */
		created = rc == 0;
	}
	free(pfns);
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
	rc = gsend(g, &om, sizeof(om), fds, g->cfg.interrupt_mode ? 2 : 0);
	if (rc == 0)
		rc = wait_for(g, VMBUS_CHANMSG_TYPE_CHOPEN_RESP, AT_CHANID, gc->relid, &orr, sizeof(orr));
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
		if (gsend(g, &cm, sizeof(cm), NULL, 0) != 0)
			host_gone(g);
		goto fail;
	}
	return 0;
fail:
	/* The host must not keep a GPADL over ring pages we give back (after a timeout it may
	 * still open the channel on it: that GPADL then stays until the connection ends). */
	if (created && !g->dead && rc != -ETIMEDOUT && teardown_wait(g, gc->relid, gc->gpadl) != 0)
		host_gone(g);
	teardown_chan(gc);
	return rc;
}

static void
guest_ch_disable(void *ctx, struct vmb_channel *ch)
{
	struct guest_chan *gc = ctx;
	struct vmb_bus_guest *g = gc->g;
	struct vmbus_chanmsg_chclose cm = {.hdr.type = VMBUS_CHANMSG_TYPE_CHCLOSE};
	int rc;

	(void)ch;
	if (!gc->open)
		return;
	gc->open = false;
	if (!g->dead) {
		cm.chanid = gc->relid;
		rc = gsend(g, &cm, sizeof(cm), NULL, 0);
		/* The channel's buffer GPADLs go with it, then its rings' GPADL; each answer is
		 * awaited: the host must have let go of the pages before they are reused. */
		while (rc == 0 && gc->nbufs)
			rc = teardown_wait(g, gc->relid, gc->bufs[--gc->nbufs]);
		if (rc == 0)
			rc = teardown_wait(g, gc->relid, gc->gpadl);
		if (rc)
			host_gone(g);
	}
	gc->nbufs = 0;
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
		rc = gsend(g, &m, sizeof(m), &cfg->mem->fd, 1);
		if (rc == 0)
			rc = wait_for(g, VMBUS_CHANMSG_TYPE_CONNECT_RESP, AT_NONE, 0, &r, sizeof(r));
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
	rc = gsend(g, &req, sizeof(req), NULL, 0);
	if (rc == 0)
		rc = wait_for(g, VMBUS_CHANMSG_TYPE_CHOFFER_DONE, AT_NONE, 0, &done, sizeof(done));
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
		free(gc->bufs);
		free(gc);
	}
	if (!g->dead && gsend(g, &m, sizeof(m), NULL, 0) == 0)
		wait_for(g, VMB_BUS_MSG_UNLOAD_RESPONSE, AT_NONE, 0, &r, sizeof(r));
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

static struct guest_chan *
chan_of(struct vmb_bus_guest *g, const struct vmb_channel *ch)
{
	uint32_t i;

	for (i = 0; i < MAX_CHANS; i++)
		if (g->chans[i] && g->chans[i]->ch == ch)
			return g->chans[i];
	return NULL;
}

int
vmb_bus_guest_gpadl_create(struct vmb_bus_guest *g, struct vmb_channel *ch, uint64_t first_pfn,
			   uint32_t npages, uint32_t *gpadl_id)
{
	struct guest_chan *gc;
	uint64_t *pfns;
	uint32_t i, id;
	int rc;

	if (g == NULL || ch == NULL || gpadl_id == NULL || npages == 0 ||
	    npages > GPADL_MAX_PAGES || first_pfn >= g->cfg.mem->page_count ||
	    npages > g->cfg.mem->page_count - first_pfn)
		return -EINVAL;
	gc = chan_of(g, ch);
	if (gc == NULL)
		return -EINVAL; /* not bound to this connection */
	if (g->dead || !gc->open)
		return -ENOTCONN;
	if (gc->nbufs == gc->bufs_cap) {
		uint32_t cap = gc->bufs_cap ? gc->bufs_cap * 2 : 4;
		uint32_t *q = realloc(gc->bufs, cap * sizeof(*q));
		if (q == NULL)
			return -ENOMEM;
		gc->bufs = q;
		gc->bufs_cap = cap;
	}
	pfns = malloc(sizeof(*pfns) * npages);
	if (pfns == NULL)
		return -ENOMEM;
	for (i = 0; i < npages; i++)
		pfns[i] = first_pfn + i;
	id = new_gpadl_id(g);
	rc = create_gpadl(g, gc->relid, id, pfns, npages);
	free(pfns);
	if (rc)
		return rc;
	if (!gc->open) {
		/* rescinded while we waited: the channel's GPADLs went with it, this one too */
		if (send_teardown(g, gc->relid, id) != 0)
			host_gone(g);
		return -ENOTCONN;
	}
	gc->bufs[gc->nbufs++] = id;
	*gpadl_id = id;
	return 0;
}

int
vmb_bus_guest_gpadl_teardown(struct vmb_bus_guest *g, uint32_t gpadl_id)
{
	uint32_t i, j;

	if (g == NULL)
		return -EINVAL;
	if (g->dead)
		return -ENOTCONN;
	for (i = 0; i < MAX_CHANS; i++) {
		struct guest_chan *gc = g->chans[i];
		for (j = 0; gc && gpadl_id != 0 && j < gc->nbufs; j++) {
			if (gc->bufs[j] != gpadl_id)
				continue;
			/* ours no more, whatever the answer: a late one is ignored */
			gc->bufs[j] = gc->bufs[--gc->nbufs];
			return teardown_wait(g, gc->relid, gpadl_id);
		}
	}
	return -ENOENT;
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
