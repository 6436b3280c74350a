/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The in-process transport (see vmb_pair.h): ring donation, mapping for both ends, eventfds,
 * and opening/closing both ends through the transport seam.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vmb/vmb_pair.h>
#include <vmb/vmb_transport.h>

struct vmb_pair {
	struct vmb_guest_mem *mem;
	bool interrupt_mode;
	struct vmb_channel *server, *client;
	bool open;
	struct vmb_gpadl_table gpadls;
	uint32_t gpadl_id;
	uint64_t first_pfn, npages;
	uint32_t g2h_pages, h2g_pages;
	/* each end maps the rings on its own, as two processes would */
	struct vmb_mapping srv_in, srv_out, cli_in, cli_out;
	struct vmb_mapping retired_in, retired_out; /* a replaced server's views, kept until the
						     * next teardown: it may still look at them */
	int host_fd, guest_fd; /* host waits on host_fd; guest waits on guest_fd */
};

static void
teardown(struct vmb_pair *p)
{
	vmb_mapping_unmap(&p->srv_in);
	vmb_mapping_unmap(&p->srv_out);
	vmb_mapping_unmap(&p->cli_in);
	vmb_mapping_unmap(&p->cli_out);
	vmb_mapping_unmap(&p->retired_in);
	vmb_mapping_unmap(&p->retired_out);
	if (p->gpadl_id)
		vmb_gpadl_remove(&p->gpadls, p->gpadl_id);
	p->gpadl_id = 0;
	if (p->npages)
		vmb_mem_free_pages(p->mem, p->first_pfn, p->npages);
	p->npages = 0;
	if (p->host_fd >= 0)
		close(p->host_fd);
	if (p->guest_fd >= 0)
		close(p->guest_fd);
	p->host_fd = p->guest_fd = -1;
	p->open = false;
}

/* The guest side: donate and format the rings, register the GPADL. */
static int
donate_rings(struct vmb_pair *p)
{
	uint64_t *pfns, i;
	int rc;

	vmb_channel_ring_pages(p->client, &p->h2g_pages, &p->g2h_pages);
	p->npages = (uint64_t)p->g2h_pages + p->h2g_pages;
	rc = vmb_mem_alloc_pages(p->mem, p->npages, &p->first_pfn);
	if (rc) {
		p->npages = 0;
		return rc;
	}
	pfns = malloc(sizeof(*pfns) * p->npages);
	if (pfns == NULL)
		return -ENOMEM;
	for (i = 0; i < p->npages; i++)
		pfns[i] = p->first_pfn + i;
	rc = vmb_gpadl_add(&p->gpadls, p->mem, 0, pfns, (uint32_t)p->npages, &p->gpadl_id);
	free(pfns);
	if (rc)
		return rc;
	vmb_ring_format((struct vmbus_bufring *)(p->mem->base + (p->first_pfn << VMB_PAGE_SHIFT)));
	vmb_ring_format((struct vmbus_bufring *)(p->mem->base +
						 ((p->first_pfn + p->g2h_pages) << VMB_PAGE_SHIFT)));
	return 0;
}

/* The host side maps the rings on its own and is opened. */
static int
open_server(struct vmb_pair *p)
{
	const struct vmb_gpadl *g = vmb_gpadl_find(&p->gpadls, p->gpadl_id);
	struct vmb_channel_link srv = {0};
	int rc;

	if ((rc = vmb_ring_map(p->mem, g, 0, p->g2h_pages, &srv.incoming, &p->srv_in)) ||
	    (rc = vmb_ring_map(p->mem, g, p->g2h_pages, p->h2g_pages, &srv.outgoing, &p->srv_out)))
		return rc;
	srv.guest_mem = p->mem;
	srv.signal_fd = p->guest_fd;
	srv.wait_fd = p->host_fd;
	srv.interrupt_mode = p->interrupt_mode;
	return vmb_channel_link_open(p->server, &srv);
}

static int
open_both(struct vmb_pair *p)
{
	const struct vmb_gpadl *g;
	struct vmb_channel_link cli = {0};
	int rc;

	p->host_fd = p->guest_fd = -1;
	rc = donate_rings(p);
	if (rc)
		goto fail;
	g = vmb_gpadl_find(&p->gpadls, p->gpadl_id);
	if ((rc = vmb_ring_map(p->mem, g, p->g2h_pages, p->h2g_pages, &cli.incoming, &p->cli_in)) ||
	    (rc = vmb_ring_map(p->mem, g, 0, p->g2h_pages, &cli.outgoing, &p->cli_out)))
		goto fail;
	if (p->interrupt_mode) {
		p->host_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		p->guest_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (p->host_fd < 0 || p->guest_fd < 0) {
			rc = -errno;
			goto fail;
		}
	}
	cli.guest_mem = p->mem;
	cli.signal_fd = p->host_fd;
	cli.wait_fd = p->guest_fd;
	cli.interrupt_mode = p->interrupt_mode;
	p->open = true;
	rc = open_server(p);
	if (rc)
		goto fail;
	rc = vmb_channel_link_open(p->client, &cli);
	if (rc) {
		vmb_channel_link_close(p->server);
		goto fail;
	}
	return 0;
fail:
	teardown(p);
	return rc;
}

static int
pair_enable(void *ctx, struct vmb_channel *ch)
{
	struct vmb_pair *p = ctx;
	int s, c;

	if (p->server == NULL)
		return -ENOTCONN; /* the host side was handed to another process */
	s = vmb_channel_state(p->server);
	c = vmb_channel_state(p->client);

	/* A successor host end (vmb_pair_replace_server) takes over the open rings. */
	if (p->open)
		return ch == p->server && s == VMB_CHANNEL_ENABLED ? open_server(p) : 0;
	/* Open once the host offers (server enabled) and the guest asks (client enabled). */
	if ((s == VMB_CHANNEL_ENABLED || s == VMB_CHANNEL_CLOSED) && c == VMB_CHANNEL_ENABLED)
		return open_both(p);
	return 0;
}

static void
pair_disable(void *ctx, struct vmb_channel *ch)
{
	struct vmb_pair *p = ctx;

	if (!p->open)
		return;
	/* The guest closing leaves the server Closed; the host rescinding disables the guest. */
	vmb_channel_link_close(ch == p->client ? p->server : p->client);
	teardown(p);
}

static const struct vmb_transport_ops pair_ops = {
	.enable = pair_enable,
	.disable = pair_disable,
};

int
vmb_pair_create(struct vmb_guest_mem *mem, bool interrupt_mode, struct vmb_pair **out)
{
	struct vmb_pair *p;

	if (mem == NULL || out == NULL || mem->base == NULL)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	if (vmb_gpadl_table_init(&p->gpadls, 16) != 0) {
		free(p);
		return -ENOMEM;
	}
	p->mem = mem;
	p->interrupt_mode = interrupt_mode;
	p->host_fd = p->guest_fd = -1;
	*out = p;
	return 0;
}

int
vmb_pair_attach(struct vmb_pair *p, struct vmb_channel *server, struct vmb_channel *client)
{
	int rc;

	if (p == NULL || !vmb_channel_is_server(server) || client == NULL ||
	    vmb_channel_is_server(client))
		return -EINVAL;
	if (p->server || p->client)
		return -EBUSY;
	if ((rc = vmb_channel_set_transport(server, &pair_ops, p)) != 0 ||
	    (rc = vmb_channel_set_transport(client, &pair_ops, p)) != 0)
		return rc;
	p->server = server;
	p->client = client;
	return 0;
}

int
vmb_pair_replace_server(struct vmb_pair *p, struct vmb_channel *old_server,
			struct vmb_channel *new_server)
{
	int rc;

	if (p == NULL || old_server == NULL || old_server != p->server ||
	    (new_server != NULL && !vmb_channel_is_server(new_server)) || new_server == old_server)
		return -EINVAL;
	if (new_server) {
		rc = vmb_channel_set_transport(new_server, &pair_ops, p);
		if (rc)
			return rc;
	}
	/* The old end leaves without the guest noticing: no close, no rescind. */
	vmb_channel_detach_transport(old_server);
	vmb_mapping_unmap(&p->retired_in);
	vmb_mapping_unmap(&p->retired_out);
	p->retired_in = p->srv_in;
	p->retired_out = p->srv_out;
	memset(&p->srv_in, 0, sizeof(p->srv_in));
	memset(&p->srv_out, 0, sizeof(p->srv_out));
	p->server = new_server;
	return 0;
}

bool
vmb_pair_is_open(const struct vmb_pair *p)
{
	return p != NULL && p->open;
}

int
vmb_pair_ring_offsets(const struct vmb_pair *p, uint64_t *g2h, uint64_t *h2g)
{
	if (p == NULL || !p->open)
		return -ENOTCONN;
	if (g2h)
		*g2h = p->first_pfn << VMB_PAGE_SHIFT;
	if (h2g)
		*h2g = (p->first_pfn + p->g2h_pages) << VMB_PAGE_SHIFT;
	return 0;
}

int
vmb_pair_ring_layout(const struct vmb_pair *p, uint64_t *g2h_pfn, uint32_t *g2h_pages,
		     uint64_t *h2g_pfn, uint32_t *h2g_pages)
{
	if (p == NULL || !p->open)
		return -ENOTCONN;
	if (g2h_pfn)
		*g2h_pfn = p->first_pfn;
	if (g2h_pages)
		*g2h_pages = p->g2h_pages;
	if (h2g_pfn)
		*h2g_pfn = p->first_pfn + p->g2h_pages;
	if (h2g_pages)
		*h2g_pages = p->h2g_pages;
	return 0;
}

int
vmb_pair_destroy(struct vmb_pair *p)
{
	if (p == NULL)
		return 0;
	if (p->open)
		return -EBUSY;
	vmb_gpadl_table_fini(&p->gpadls);
	free(p);
	return 0;
}
