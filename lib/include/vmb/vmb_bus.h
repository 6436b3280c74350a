/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_BUS_H
#define VMB_BUS_H

/**
 * @file
 * The VMBus control plane between processes: a host (the VMBus server, playing Hyper-V's part)
 * listening on a UNIX stream socket, and guests connecting to it. VMBus channel messages
 * (rte_vmbus_reg.h formats: INITIATE_CONTACT, VERSION_RESPONSE, REQUEST_OFFERS, OFFER,
 * ALL_OFFERS_DELIVERED, GPADL_HEADER/BODY/CREATED, OPEN/OPEN_RESULT, CLOSE, GPADL_TEARDOWN/
 * TORNDOWN, RESCIND, RELID_RELEASED, UNLOAD/UNLOAD_RESPONSE) travel one per frame; the guest's
 * memory (a memfd) and per-channel eventfds travel as SCM_RIGHTS. doc/bus.md describes frames.
 *
 * Both ends open their channels through vmb_channel_link_open(), the same path as the
 * in-process pair: only the transport differs.
 *
 * Host: each guest connection is isolated (its own memory mapping, GPADLs, channel ids); a
 * guest that sends malformed or out-of-order messages, stops reading, or goes away is
 * disconnected and its channels closed, and the host keeps serving the others. Nothing read from
 * a guest is trusted: lengths, counts, ids and page numbers are validated against that guest's
 * own state.
 *
 * GPADLs: a guest donates each channel's rings as a GPADL when it opens the channel; it may
 * also create GPADLs over other buffers of its memory for an open channel
 * (vmb_bus_guest_gpadl_create(): e.g. netvsc's receive and send buffers), which the device on
 * the host maps by id (vmb_bus_conn_gpadl_map()). These go with their channel when it closes.
 *
 * Threads: each object is driven by one control thread (vmb_bus_host_poll /
 * vmb_bus_guest_poll, and the other calls); channel data paths run elsewhere (vmb_poller).
 * The exceptions are named: vmb_bus_conn_gpadl_map() may be called from any thread.
 */

#include <stdbool.h>
#include <stdint.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/** VMBus protocol versions (major << 16 | minor), newest first as a guest tries them. */
#define VMB_BUS_VERSION_WIN10_V5_3 0x00050003u
#define VMB_BUS_VERSION_WIN10_V5_2 0x00050002u
#define VMB_BUS_VERSION_WIN10_V5_1 0x00050001u
#define VMB_BUS_VERSION_WIN10_V5 0x00050000u
#define VMB_BUS_VERSION_WIN10 0x00040000u
#define VMB_BUS_VERSION_WIN8_1 0x00030000u
#define VMB_BUS_VERSION_WIN8 0x00020004u

/** Offer user data size (the open message carries as much). */
#define VMB_BUS_OFFER_UDATA 120u

struct vmb_bus_host;
struct vmb_bus_guest;
struct vmb_bus_conn; /**< one guest as seen by the host */

/* ---- host ---- */

/**
 * A guest opened an offered channel: return a configured, Disabled server channel (the bus binds
 * it, enables it, opens it on the guest's rings and starts it), or NULL to refuse the open.
 *
 * @p conn is the guest's connection. The VSP may keep the pointer while the channel is open:
 * it stays valid until the channel's vmb_bus_close_fn returns (the close callback may still use
 * it; afterwards the connection may be freed). A VSP thread other than the channel's poller must
 * stop using it before the close callback returns. Across a servicing hand-over the successor
 * calls on_open again with its own connection object.
 */
typedef struct vmb_channel *(*vmb_bus_open_fn)(void *ctx, struct vmb_bus_conn *conn,
					       uint32_t offer_id);
/** The guest closed the channel or went away (the channel is Closed: disable and clean it up,
 *  or keep it: a reopen by the same guest asks for a channel again; if its guest goes away, the
 *  kept channel is detached from the bus and may simply be disabled and freed), or its open
 *  failed after on_open (the channel is then Disabled, or Closed if it was kept). */
typedef void (*vmb_bus_close_fn)(void *ctx, struct vmb_bus_conn *conn, uint32_t offer_id,
				 struct vmb_channel *ch);

/** One offer: the same channel offered to every guest that connects. */
struct vmb_bus_offer {
	struct vmb_guid type;              /**< interface type */
	struct vmb_guid instance;          /**< interface instance */
	uint16_t subchannel;               /**< subchannel index (0: primary) */
	uint8_t user_data[VMB_BUS_OFFER_UDATA];
	vmb_bus_open_fn on_open;           /**< required */
	vmb_bus_close_fn on_close;         /**< optional */
	void *ctx;
};

/** Host settings. */
struct vmb_bus_host_config {
	const char *path;        /**< UNIX socket path (created; an existing socket file is replaced) */
	uint32_t max_guests;     /**< 0: 64 */
	uint32_t max_channels;   /**< per guest; 0: 64 */
	uint32_t max_gpadls;     /**< per guest; 0: 256 */
	uint32_t max_gpadl_pages;/**< pages in one GPADL; 0: 65536 */
};

/** Host counters. */
struct vmb_bus_host_stats {
	uint64_t guests_accepted, guests_disconnected;
	uint64_t protocol_errors;   /**< guests dropped for malformed or out-of-order messages */
	uint64_t opens, closes, gpadls_created, gpadls_torn_down, rescinds;
};

/** @return 0, -EINVAL, -ENOMEM, or -errno of socket/bind/listen. */
int vmb_bus_host_create(const struct vmb_bus_host_config *cfg, struct vmb_bus_host **out);
/** Disconnect every guest (their channels are closed through on_close) and free. */
void vmb_bus_host_destroy(struct vmb_bus_host *h);
/** Add an offer; sent to connected guests now and to later ones on REQUEST_OFFERS.
 *  @return 0 with *offer_id, -EINVAL, -ENOSPC. */
int vmb_bus_host_add_offer(struct vmb_bus_host *h, const struct vmb_bus_offer *o, uint32_t *offer_id);
/** Rescind an offer: every guest's channel is closed (on_close) and the guests told.
 *  @return 0, -ENOENT. */
int vmb_bus_host_rescind(struct vmb_bus_host *h, uint32_t offer_id);
/**
 * Serve: accept guests and handle their messages for up to @p timeout_ms (0: what is ready
 * now; -1: until one event was handled). @return events handled, or -errno of epoll.
 */
int vmb_bus_host_poll(struct vmb_bus_host *h, int timeout_ms);
/** An fd that becomes readable when vmb_bus_host_poll() has work (for the caller's own loop). */
int vmb_bus_host_fd(const struct vmb_bus_host *h);
/** Copy the counters. */
void vmb_bus_host_get_stats(const struct vmb_bus_host *h, struct vmb_bus_host_stats *out);
/** Guests currently connected. */
uint32_t vmb_bus_host_guest_count(const struct vmb_bus_host *h);
/** Guest memory of a connection (for VSPs that map GPADLs of their protocol). */
const struct vmb_guest_mem *vmb_bus_conn_memory(const struct vmb_bus_conn *c);
/** A stable number for the connection (for logs). */
uint32_t vmb_bus_conn_id(const struct vmb_bus_conn *c);

/**
 * Map GPADL @p gpadl_id of connection @p c contiguously into this process, read/write: how a
 * VSP reaches a buffer the guest shared by id (netvsp: the GPADL named by NVSP's receive- and
 * send-buffer messages). Any GPADL the guest created on this connection can be mapped, whatever
 * channel it was created for.
 *
 * The mapping is our own view of the guest's memory (its memfd): it stays valid, and the same
 * memory, when the guest tears the GPADL down later or goes away; the guest content is hostile
 * (read it once, validate what you read). Release it with vmb_mapping_unmap(), at the latest in
 * the channel's close callback.
 *
 * Threads: any thread (e.g. the channel's process-packet callback on its poller) while @p c is
 * valid (see vmb_bus_open_fn); the GPADL table is locked against the control thread's updates
 * for the lookup only. Not async-signal-safe (allocates, mmap).
 *
 * After a servicing hand-over the successor's connection holds every GPADL of its predecessor,
 * under the same ids.
 *
 * @param c         the connection, as passed to the open callback.
 * @param gpadl_id  the guest's id of the GPADL.
 * @param out       the mapping: out->addr, out->len = pages * 4096. Zeroed on failure.
 * @return 0; -EINVAL (@p c or @p out NULL); -ENOENT (no such GPADL: never created, refused, or
 *         torn down); -ENOMEM; or the mapping's -errno.
 */
int vmb_bus_conn_gpadl_map(struct vmb_bus_conn *c, uint32_t gpadl_id, struct vmb_mapping *out);

/* ---- servicing: replacing the host process ---- */

/**
 * Hand the host over to a successor process (the same or a newer build) through @p sock, a
 * connected UNIX stream socket (e.g. one end of a socketpair the successor inherited). Every
 * open channel is paused and saved (the VSPs' save callbacks run); then the connections,
 * offers, GPADLs, half-built GPADLs, half-received messages, each channel's save stream and
 * every descriptor (listening socket, guest sockets, guest memory, eventfds) go to the
 * successor, which acknowledges once it has taken everything over. The guests keep their
 * connections and see only a pause. Afterwards this host no longer serves (poll returns
 * -ESHUTDOWN): release it with vmb_bus_host_abandon(). On failure the channels run again and
 * this host keeps serving.
 * @return 0; -EINVAL; -EPERM (already handed off); a channel's save error; -errno of the socket.
 */
int vmb_bus_host_service_out(struct vmb_bus_host *h, int sock);

/** CLOCK_MONOTONIC time (ns) at which the last vmb_bus_host_service_out() began pausing the
 *  channels: the start of the blackout, after the pre-copy. 0 if none. */
uint64_t vmb_bus_host_blackout_start_ns(const struct vmb_bus_host *h);

/**
 * Release a host after vmb_bus_host_service_out() without telling the guests: each open channel
 * goes to its offer's on_close (remove it from pollers, disable and clean it up: having been
 * saved, it no longer touches the rings), then our copies of sockets, memory mappings and
 * eventfds are closed. The socket file stays for the successor.
 */
void vmb_bus_host_abandon(struct vmb_bus_host *h);

/**
 * Take a host over from its predecessor through @p sock. @p offers must be the predecessor's
 * offers in the same order (their callbacks are this process's). Each open channel is
 * re-created through its offer's on_open, restored from its save stream (the VSP's restore
 * callback runs), attached to the same rings (indices re-read from guest memory) and started.
 * @return 0; -EINVAL; -EPROTO (malformed state); -EXDEV (the offers differ); a channel's
 *         restore error; -errno.
 */
int vmb_bus_host_service_in(const struct vmb_bus_host_config *cfg, const struct vmb_bus_offer *offers,
			    uint32_t noffers, int sock, struct vmb_bus_host **out);

/* ---- guest ---- */

/** An offer as the guest received it. */
struct vmb_bus_offer_info {
	uint32_t child_relid;              /**< channel id on this connection */
	struct vmb_guid type, instance;
	uint16_t subchannel;
	uint8_t user_data[VMB_BUS_OFFER_UDATA];
	bool rescinded;
};

/** Guest settings. */
struct vmb_bus_guest_config {
	const char *path;        /**< host socket */
	struct vmb_guest_mem *mem; /**< guest memory (memfd), shared with the host */
	bool interrupt_mode;     /**< create eventfds for opened channels */
	int timeout_ms;          /**< wait for each host answer; 0: 5000 */
};

/**
 * Connect: INITIATE_CONTACT (with the memfd) with version negotiation, REQUEST_OFFERS, and wait
 * for ALL_OFFERS_DELIVERED. @return 0; -EINVAL; -ENOENT/-ECONNREFUSED (no host); -EPROTO (a
 * malformed answer, or no common version); -ETIMEDOUT; -ENOMEM.
 */
int vmb_bus_guest_connect(const struct vmb_bus_guest_config *cfg, struct vmb_bus_guest **out);
/** UNLOAD (wait for UNLOAD_RESPONSE), close every channel, free. Channels bound to this
 *  connection are disabled first. */
void vmb_bus_guest_disconnect(struct vmb_bus_guest *g);
/** Negotiated protocol version. */
uint32_t vmb_bus_guest_version(const struct vmb_bus_guest *g);
/** Copy up to @p n offers; @return how many there are. */
uint32_t vmb_bus_guest_offers(const struct vmb_bus_guest *g, struct vmb_bus_offer_info *out, uint32_t n);
/**
 * Bind a Disabled client channel to this connection: enabling it finds the offer matching its
 * interface (vmb_channel_init_set_interface; instance NULL = any) and @p subchannel, donates its
 * rings (a GPADL of the sizes set by vmb_channel_init_set_ring_pages), opens it and waits for the
 * result; disabling it closes it and tears its GPADLs down (buffers', then the rings').
 * Enabling fails with -EINVAL when the rings need more than 8190 pages (one GPADL).
 * @return 0, -EINVAL, or the channel's error.
 */
int vmb_bus_guest_attach(struct vmb_bus_guest *g, struct vmb_channel *ch, uint16_t subchannel);
/**
 * Create a GPADL over pages [@p first_pfn, @p first_pfn + @p npages) of guest memory for the
 * open channel @p ch (bound to @p g with vmb_bus_guest_attach() and enabled): GPADL_HEADER and
 * as many GPADL_BODY messages as needed, then wait for GPADL_CREATED. The host's device maps it
 * by the returned id (vmb_bus_conn_gpadl_map()); the guest tells the device the id through its
 * own protocol (netvsc: NVSP receive/send buffer messages).
 *
 * The pages stay the caller's (e.g. from vmb_mem_alloc_pages()): nothing is allocated or
 * formatted in them; do not give them back before the GPADL is torn down. The GPADL is torn
 * down automatically, after the channel's CLOSE and before its rings, when the channel is
 * disabled (also by vmb_bus_guest_disconnect()); when the host rescinds the channel (without
 * waiting for the answer); and forgotten when the host goes away.
 *
 * Threads: the connection's control thread, like every other call on @p g and the
 * enable/disable of its channels: control messages are serialized by that rule, one request
 * in flight, its answer matched by GPADL id. Host messages that arrive meanwhile (offers,
 * rescinds) are handled while waiting.
 *
 * @param npages  1 .. 8190 (the page list's length travels as 16 bits: 8 + 8 * npages bytes).
 * @param gpadl_id  set to the new GPADL's id (never 0; unique on the connection).
 * @return 0; -EINVAL (NULL argument, @p ch not bound to @p g, @p npages 0 or too many, pages
 *         outside guest memory); -ENOTCONN (channel not open, or the host went away);
 *         -ETIMEDOUT (no answer in time: if the host creates it later, it is torn down when the
 *         answer arrives); -EPROTO (the host refused: its GPADL table is full, or its page limit
 *         is exceeded); -ENOMEM.
 */
int vmb_bus_guest_gpadl_create(struct vmb_bus_guest *g, struct vmb_channel *ch, uint64_t first_pfn,
			       uint32_t npages, uint32_t *gpadl_id);

/**
 * Tear down a GPADL made by vmb_bus_guest_gpadl_create(): GPADL_TEARDOWN, then wait for
 * GPADL_TORNDOWN. Afterwards the host no longer maps it (mappings it already made remain its
 * own), and the pages may be reused. Control thread, as vmb_bus_guest_gpadl_create().
 * @return 0; -EINVAL (@p g NULL); -ENOENT (not a buffer GPADL of this connection: unknown, a
 *         ring's, or already torn down, e.g. with its channel); -ENOTCONN (the host went away:
 *         the GPADL is gone with it); -ETIMEDOUT (sent, not confirmed in time; the GPADL is no
 *         longer tracked, a late answer is ignored).
 */
int vmb_bus_guest_gpadl_teardown(struct vmb_bus_guest *g, uint32_t gpadl_id);

/** Handle host messages (rescinds, late offers) for up to @p timeout_ms. @return messages
 *  handled, -ENOTCONN when the host went away, -EPROTO on a malformed message. */
int vmb_bus_guest_poll(struct vmb_bus_guest *g, int timeout_ms);
/** The connection's socket (readable when vmb_bus_guest_poll() has work). */
int vmb_bus_guest_fd(const struct vmb_bus_guest *g);

#ifdef __cplusplus
}
#endif

#endif /* VMB_BUS_H */
