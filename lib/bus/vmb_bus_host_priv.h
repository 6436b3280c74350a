/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Internal state of the VMBus host, shared by the serving code (vmb_bus_host.c) and the
 * servicing hand-over (vmb_bus_service.c).
 */
#ifndef VMB_BUS_HOST_PRIV_H
#define VMB_BUS_HOST_PRIV_H

#include <pthread.h>
#include <sys/un.h>

#include <vmb/vmb_bus.h>
#include <vmb/vmb_transport.h>

#include "vmb_bus_wire.h"

#define STATUS_FAIL 0xC0000001u /* a failure status in GPADL_CREATED / OPEN_RESULT */
#define MAX_PENDING_GPADLS 8

enum conn_state { CONN_WAIT_CONTACT = 0, CONN_CONNECTED, CONN_UNLOADED };

struct pending_gpadl {
	uint32_t id, chanid, total, got;
	uint64_t *pfns;
};

/* One offer as seen by one guest. */
struct host_chan {
	struct vmb_bus_conn *conn;
	uint32_t offer;      /* index in the host's offer table */
	bool offered, rescinded, open;
	struct vmb_channel *ch;
	struct vmb_channel *bound; /* its transport context is this slot: open, or kept by the
				    * VSP after a close; detached when the guest goes away */
	struct vmb_mapping m_in, m_out;
	struct vmb_channel_link link;
	uint32_t ring_gpadl;
	uint32_t txbr;       /* page of the ring GPADL where our outgoing ring starts */
};

struct vmb_bus_conn {
	struct vmb_bus_host *h;
	uint32_t id;
	int sock;
	enum conn_state state;
	uint32_t version;
	struct vmb_guest_mem mem;
	bool have_mem;
	/* Written by the control thread only, under gpadl_lock; read by it without the lock, and
	 * under the lock by vmb_bus_conn_gpadl_map() from any thread (a VSP's data path). */
	struct vmb_gpadl_table gpadls;
	pthread_mutex_t gpadl_lock;
	struct pending_gpadl pend[MAX_PENDING_GPADLS];
	struct host_chan *chans; /* one per offer slot */
	struct vmb_bus_rx rx;
};

struct vmb_bus_host {
	struct vmb_bus_host_config cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lsock, epfd;
	struct vmb_bus_offer *offers;
	bool *offer_live;
	uint32_t noffers;
	struct vmb_bus_conn **conns;
	uint32_t next_conn_id;
	struct vmb_bus_host_stats stats;
	bool handed_off;     /* servicing done: the successor serves; only abandon is left */
	uint64_t blackout_start_ns;
};


extern const struct vmb_transport_ops vmb_bus_host_ops;

/** Allocate a host with no listening socket yet. */
int vmb_bus_host_alloc(const struct vmb_bus_host_config *cfg, struct vmb_bus_host **out);
/** Serve guests connecting to @p lsock (a listening socket, owned from now on). */
int vmb_bus_host_listen_on(struct vmb_bus_host *h, int lsock);
int vmb_bus_send_offer(struct vmb_bus_conn *c, uint32_t i);
void vmb_bus_close_chan(struct host_chan *hc);
void vmb_bus_unmap_chan(struct host_chan *hc);
/** Allocate a connection of host @p h: tables, lock, no socket yet. @return it or NULL. */
struct vmb_bus_conn *vmb_bus_conn_alloc(struct vmb_bus_host *h);
void vmb_bus_conn_free(struct vmb_bus_conn *c);
/** Add a GPADL to the connection's table (control thread). @return as vmb_gpadl_add(). */
int vmb_bus_conn_gpadl_add(struct vmb_bus_conn *c, uint32_t id, const uint64_t *pfns,
			   uint32_t npages);

#endif /* VMB_BUS_HOST_PRIV_H */
