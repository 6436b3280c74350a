/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_CHANNEL_H
#define VMB_CHANNEL_H

/**
 * @file
 * A VMBus channel end (client = guest, server = host/VSP) with the semantics of Microsoft's
 * Kernel-Mode Client Library (KMCL), as a native C API.
 *
 * Life cycle: vmb_channel_alloc() -> Disabled; vmb_channel_init_*() setters only while Disabled
 * (else -EPERM); vmb_channel_enable() -> Enabled (returns at once); when the transport opens the
 * channel: on_opened -> (if not paused) on_started -> incoming queue runs -> on_post_started.
 * Paused/active is orthogonal: a server starts paused and must call vmb_channel_start(); a
 * client runs as soon as it is opened unless vmb_channel_pause() was called while Disabled.
 * vmb_channel_pause() is a barrier: it returns when no poll pass touches the channel and every
 * indicated incoming packet has been completed. vmb_channel_disable() pauses, cancels pending
 * outgoing packets (-ECANCELED), calls on_closed and returns to Disabled.
 *
 * Incoming packets: process_packet(ch, rx, payload, len, flags) once per packet; the driver
 * calls vmb_rx_complete(rx, ...) exactly once, inline or later from any thread. When the sender
 * asked for a completion, a COMPLETION packet carrying the given payload is sent. The payload
 * stays valid in the ring until completion (zero copy: ring space is released in order).
 * The transaction quota caps indicated-but-uncompleted packets.
 *
 * Outgoing packets: packet objects (vmb_packet_alloc) hold every resource a transaction needs,
 * so a send never fails for lack of ring space: when the ring is full the packet is queued on
 * the channel and flushed as space frees. Without VMB_SEND_WAIT_FOR_COMPLETION the completion
 * routine runs once the message is in the ring; with it, when the peer's completion arrives
 * (with its payload). The default completion routine frees the packet.
 *
 * Threads: a "pass" (vmb_channel_poll(), usually run by a vmb_poller) owns the channel's rings
 * while it runs; callbacks run inside it and may send and complete directly. Sends and
 * completions from any other thread are handed over through lock-free queues and done by the
 * next pass. Control calls (enable, start, pause, disable, cleanup, init setters) come from one
 * control thread and may block; never call them from inside a callback.
 *
 * Errors (negative errno): -EBADF invalid handle, -EINVAL invalid argument, -EPERM not allowed
 * in the current state, -ENOTSUP not for this side (server-only on a client...), -ENOMEM,
 * -EIO channel poisoned by a corrupt peer, -ECANCELED, -ETIMEDOUT, -EOVERFLOW.
 */

#include <stdbool.h>
#include <stdint.h>

#include <vmb/vmb_packet.h>
#include <vmb/vmb_ring.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmb_channel; /**< Channel end (KMCL VMBCHANNEL). */
struct vmb_packet;  /**< Outgoing packet object (KMCL VMBPACKET). */
struct vmb_rx;      /**< Incoming packet token (KMCL VMBPACKETCOMPLETION). */
struct vmb_guest_mem;

/** 128-bit interface identifier, in the byte order of the wire (rte_uuid_t compatible). */
struct vmb_guid {
	uint8_t b[16];
};

/** Channel state (the paused flag is separate: vmb_channel_is_paused()). */
enum vmb_channel_state {
	VMB_CHANNEL_DISABLED = 0, /**< allocated (or disabled): configurable */
	VMB_CHANNEL_ENABLED,      /**< enabled; waiting for the peer to open */
	VMB_CHANNEL_OPENED,       /**< open: rings attached */
	VMB_CHANNEL_CLOSED,       /**< server: the guest closed; the offer stays, it may reopen */
};

/** Send flag: the transaction ends with the peer's completion packet (KMCL value). */
#define VMB_SEND_WAIT_FOR_COMPLETION 0x1u
/** process_packet flag: the packet carries external data (GPA ranges or transfer pages). */
#define VMB_RX_FLAG_EXTERNAL_DATA 0x1u

/** Default limits, overridable by the init setters. */
#define VMB_DEFAULT_MAX_PACKET_SIZE 4096u
#define VMB_DEFAULT_MAX_EXT_DATA (64u * 1024u)
#define VMB_DEFAULT_MAX_EXT_CHAIN 16u
#define VMB_DEFAULT_RX_CAPACITY 256u
#define VMB_DEFAULT_TX_CAPACITY 1024u
#define VMB_DEFAULT_RING_PAGES 16u
#define VMB_DEFAULT_MAX_COMPLETION 256u

/** Incoming packet callback (KMCL EvtChannelProcessPacket). @p payload excludes VMBus headers. */
typedef void (*vmb_process_packet_fn)(struct vmb_channel *ch, struct vmb_rx *rx, const void *payload,
				      uint32_t len, uint32_t flags);
/** End of a batch of indications (KMCL EvtChannelProcessingComplete). */
typedef void (*vmb_processing_complete_fn)(struct vmb_channel *ch, uint32_t packets);
/** Outgoing transaction retired: @p status 0, -ECANCELED or -EIO; @p buf the peer's completion
 *  payload (NULL/0 if none), valid during the call only. */
typedef void (*vmb_packet_completion_fn)(struct vmb_packet *pkt, int status, const void *buf,
					 uint32_t len);
/** Opened callback: return 0 to accept, negative to roll the open back. */
typedef int (*vmb_channel_opened_fn)(struct vmb_channel *ch);
/** Closed / suspend / started / post-started callbacks. */
typedef void (*vmb_channel_event_fn)(struct vmb_channel *ch);
/** The channel met a corrupt peer and stopped (reason: a static string). Control-thread safe. */
typedef void (*vmb_channel_error_fn)(struct vmb_channel *ch, const char *reason);

/** State-change callbacks; every member optional. */
struct vmb_channel_callbacks {
	vmb_channel_opened_fn opened;
	vmb_channel_event_fn closed;
	vmb_channel_event_fn suspend;
	vmb_channel_event_fn started;
	vmb_channel_event_fn post_started;
};

/** Save callback (KMCL EvtVmbChannelSavePacket); see vmb_save.h. */
typedef int (*vmb_save_packet_fn)(struct vmb_channel *ch, struct vmb_packet *pkt, void *buf,
				  uint32_t size, uint32_t *needed);
/** Restore callback (KMCL EvtVmbChannelRestorePacket); see vmb_save.h. */
typedef int (*vmb_restore_packet_fn)(struct vmb_channel *ch, const void *lib_buf, uint32_t lib_size,
				     const void *save_buf, uint32_t save_size);

/** Per-channel counters (read with vmb_channel_get_stats(); monotonic). */
struct vmb_channel_stats {
	uint64_t rx_packets, rx_bytes;        /**< indicated incoming packets / payload bytes */
	uint64_t tx_packets, tx_bytes;        /**< packets written to the ring / payload bytes */
	uint64_t tx_queued;                   /**< sends that had to wait for ring space */
	uint64_t completions_sent;            /**< COMPLETION packets written */
	uint64_t completions_received;        /**< COMPLETION packets matched to a packet object */
	uint64_t bad_completions;             /**< COMPLETION packets for unknown transactions */
	uint64_t signals_sent;                /**< eventfd signals to the peer */
	uint64_t signals_received;            /**< eventfd signals from the peer */
	uint64_t spurious_signals;            /**< wake-ups that found nothing to do */
	uint64_t quota_stalls;                /**< passes that stopped at the transaction quota */
	uint64_t passes;                      /**< poll passes run */
	uint64_t corrupt;                     /**< 1 once the channel is poisoned */
};

/* ---- allocation and configuration ---- */

/**
 * Allocate a channel end in state Disabled with default configuration.
 * @return 0 with *out set; -EINVAL; -ENOMEM.
 */
int vmb_channel_alloc(bool is_server, struct vmb_channel **out);

/** Free a Disabled channel and the idle packet objects still allocated on it.
 *  @return 0; -EBADF; -EPERM when not Disabled; -EBUSY while a poller serves it
 *  (vmb_poller_remove() or vmb_poller_destroy() first). */
int vmb_channel_cleanup(struct vmb_channel *ch);

/** Largest inline message (incoming or outgoing). Init phase. -EINVAL for 0 or > 1 MiB. */
int vmb_channel_init_set_max_packet_size(struct vmb_channel *ch, uint32_t size);
/** Largest external buffer and longest range chain. Init phase. -EINVAL for zeros. */
int vmb_channel_init_set_max_external_data(struct vmb_channel *ch, uint32_t size, uint32_t chain);
/** Per-incoming-packet client context bytes (vmb_rx_context()). Init phase. */
int vmb_channel_init_set_client_context_size(struct vmb_channel *ch, uint32_t size);
/** Incoming callbacks (process required, complete optional). Init phase. */
int vmb_channel_init_set_process_packet(struct vmb_channel *ch, vmb_process_packet_fn process,
					vmb_processing_complete_fn complete);
/** State-change callbacks (copied). Init phase. */
int vmb_channel_init_set_callbacks(struct vmb_channel *ch, const struct vmb_channel_callbacks *cb);
/** Friendly name (truncated to 63 bytes). Init phase. */
int vmb_channel_init_set_name(struct vmb_channel *ch, const char *name);
/** Client only: ring sizes in pages (each >= 2: control page + data). Init phase. */
int vmb_channel_init_set_ring_pages(struct vmb_channel *ch, uint32_t incoming, uint32_t outgoing);
/** Interface type and instance this channel offers (server) or targets (client; instance
 *  may be NULL = any). Init phase. */
int vmb_channel_init_set_interface(struct vmb_channel *ch, const struct vmb_guid *type,
				   const struct vmb_guid *instance);
/** Capacity of incoming tokens (max outstanding indications) and of outgoing packet
 *  objects. Init phase. -EINVAL for 0 or > 65536. */
int vmb_channel_init_set_capacity(struct vmb_channel *ch, uint32_t rx_tokens, uint32_t tx_packets);
/** Largest completion payload accepted by vmb_rx_complete(). Init phase. */
int vmb_channel_init_set_max_completion_size(struct vmb_channel *ch, uint32_t size);
/** Error notification (a corrupt peer poisoned the channel). Init phase. */
int vmb_channel_init_set_error_callback(struct vmb_channel *ch, vmb_channel_error_fn fn);
/** Server only: per-packet save/restore callbacks, both required. Init phase. */
int vmb_channel_init_set_save_restore(struct vmb_channel *ch, vmb_save_packet_fn save,
				      vmb_restore_packet_fn restore);

/** Allocate the channel's tables now rather than at enable (init phase; sizes are fixed from
 *  here), so that a later restore and enable allocate nothing: what a successor host does
 *  before the blackout of a hand-over. @return 0, -EBADF, -EPERM, -ENOMEM. */
int vmb_channel_prepare(struct vmb_channel *ch);

/* ---- runtime ---- */

/** Enable (Disabled -> Enabled). The transport (vmb_pair, bus) opens it later.
 *  @return 0; -EBADF; -EPERM (not Disabled); -EINVAL (no process_packet callback). */
int vmb_channel_enable(struct vmb_channel *ch);
/** Leave the paused state; if open, on_started -> incoming runs -> on_post_started.
 *  @return 0; -EBADF; -EPERM (Disabled). Not from callbacks. */
int vmb_channel_start(struct vmb_channel *ch);
/** Quiesce (see file comment). On a Disabled channel: come up paused when enabled.
 *  @return 0; -EBADF. Not from callbacks. */
int vmb_channel_pause(struct vmb_channel *ch);
/** Begin a pause without waiting: no new poll pass starts on the channel. Pausing many channels
 *  at once costs one barrier wait instead of one per channel: call this on each, then
 *  vmb_channel_pause() on each. vmb_channel_start() undoes it. @return 0 or -EBADF. */
int vmb_channel_pause_begin(struct vmb_channel *ch);
/** vmb_channel_pause() that gives up after @p timeout_ns waiting for outstanding incoming
 *  completions (the channel stays quiesced but not paused). @return 0 or -ETIMEDOUT. */
int vmb_channel_pause_timeout(struct vmb_channel *ch, int64_t timeout_ns);
/** Disable: pause, cancel pending outgoing packets, on_closed, detach, -> Disabled.
 *  @return 0; -EBADF; -EPERM (already Disabled). */
int vmb_channel_disable(struct vmb_channel *ch);

/* ---- slots for compatibility layers (the KMCL face in lib/kmcl) ---- */

/** Called by vmb_channel_cleanup() with the facade pointer of the channel being freed. */
typedef void (*vmb_facade_release_fn)(void *facade);
/** Generic function pointer kept by a compatibility layer; cast it back to its real type before
 *  calling it (ISO C allows the round trip between function pointer types). */
typedef void (*vmb_facade_fn)(void);

/**
 * Attach a compatibility layer's per-channel state. The slot is separate from
 * vmb_channel_set_context() (the driver's own pointer) and is never interpreted here. Replacing
 * a facade calls the previous one's release hook; vmb_channel_cleanup() calls the current one.
 * Control thread.
 * @param release called once with @p facade when it is replaced or the channel freed (may be NULL)
 * @return 0; -EBADF.
 */
int vmb_channel_set_facade(struct vmb_channel *ch, void *facade, vmb_facade_release_fn release);
/** The facade pointer (NULL when none or bad handle). Any thread. */
void *vmb_channel_get_facade(const struct vmb_channel *ch);

/** Current state, or -EBADF. */
int vmb_channel_state(const struct vmb_channel *ch);
/** True when the paused flag is set. */
bool vmb_channel_is_paused(const struct vmb_channel *ch);
/** True when the channel is poisoned; *reason (optional) gets a static description. */
bool vmb_channel_is_poisoned(const struct vmb_channel *ch, const char **reason);
/** Server or client end. */
bool vmb_channel_is_server(const struct vmb_channel *ch);
/** Store / read one caller pointer. */
void vmb_channel_set_context(struct vmb_channel *ch, void *ctx);
void *vmb_channel_get_context(const struct vmb_channel *ch);
/** Friendly name ("" if unset). */
const char *vmb_channel_name(const struct vmb_channel *ch);
/** Interface type / instance GUIDs (zero if unset). @return 0 or -EBADF / -EINVAL. */
int vmb_channel_get_interface(const struct vmb_channel *ch, struct vmb_guid *type,
			      struct vmb_guid *instance);
/** Cap on indicated-but-uncompleted incoming packets (clamped to the token capacity; >= 1).
 *  Any thread. Raising it does not wake a stalled queue by itself; the next pass reads on. */
int vmb_channel_set_quota(struct vmb_channel *ch, uint32_t quota);
/** Copy the counters. @return 0 or -EBADF / -EINVAL. */
int vmb_channel_get_stats(const struct vmb_channel *ch, struct vmb_channel_stats *out);
/** Incoming packets indicated and not yet completed. */
uint32_t vmb_channel_outstanding_rx(const struct vmb_channel *ch);
/** Outgoing packet objects queued for ring space or awaiting the peer's completion. */
uint32_t vmb_channel_pending_tx(const struct vmb_channel *ch);
/** Configured max packet size (bytes). */
uint32_t vmb_channel_max_packet_size(const struct vmb_channel *ch);

/**
 * Run one pass over the channel: hand-overs from other threads, queued sends, incoming packets
 * (up to @p budget indications), completions, index commits and signals.
 * Used by vmb_poller; callable directly when no poller serves the channel.
 * @return number of incoming packets indicated (>= 0); 0 also when the channel is not running
 *         or another thread holds it; -EBADF; -EIO when poisoned.
 */
int vmb_channel_poll(struct vmb_channel *ch, uint32_t budget);

/* ---- outgoing packet objects ---- */

/** Allocate a packet object (control path; reuse packets on the data path).
 *  @return the packet or NULL (bad channel, capacity exhausted, no memory). */
struct vmb_packet *vmb_packet_alloc(struct vmb_channel *ch);
/** Free a packet that is not pending. @return 0; -EBADF; -EBUSY (queued or in flight). */
int vmb_packet_free(struct vmb_packet *pkt);
void vmb_packet_set_context(struct vmb_packet *pkt, void *ctx);
void *vmb_packet_get_context(const struct vmb_packet *pkt);
struct vmb_channel *vmb_packet_channel(const struct vmb_packet *pkt);
/**
 * Per-packet slot of a compatibility layer: one function and one pointer, separate from the
 * packet context, never interpreted here; zero on a fresh packet and kept across sends and
 * restore. Set it while the packet is idle (or from its own completion routine).
 */
void vmb_packet_set_facade(struct vmb_packet *pkt, vmb_facade_fn fn, void *data);
/** Read the per-packet slot: the function (NULL when unset or bad handle), *@p data (optional)
 *  the pointer. */
vmb_facade_fn vmb_packet_get_facade(const struct vmb_packet *pkt, void **data);
/** Completion routine; NULL restores the default (free the packet). */
void vmb_packet_set_completion(struct vmb_packet *pkt, vmb_packet_completion_fn fn);

/**
 * Send the packet: inband @p buf of @p len bytes, optionally with external data as GPA ranges
 * (zero copy; requires VMB_SEND_WAIT_FOR_COMPLETION). Queued when the ring is full or the
 * channel is not running; never fails for lack of ring space.
 * @return 0; -EBADF; -EINVAL (len > max packet size, bad flags, ranges over the limits,
 *         external data without WAIT); -EPERM (channel Disabled); -EBUSY (packet pending);
 *         -EIO (channel poisoned).
 */
int vmb_packet_send(struct vmb_packet *pkt, const void *buf, uint32_t len, uint32_t flags,
		    const struct vmb_gpa_range_out *ext, uint32_t ext_count);

/**
 * Send one request and wait for its completion (blocking; control path or a worker thread).
 * @param timeout_ns <0: forever; 0: do not queue: -EOVERFLOW when it does not fit now, and no
 *        waiting for a completion unless VMB_SEND_WAIT_FOR_COMPLETION; >0: cancel after it.
 * @param cbuf,cbuf_len completion payload out (cbuf_len in: capacity, multiple of 8; out:
 *        bytes copied). May be NULL.
 * @return 0; -EINVAL; -EPERM; -EOVERFLOW; -ETIMEDOUT (cancelled); -ECANCELED (channel closed);
 *         -EIO; -ENOMEM (no packet object).
 */
int vmb_channel_send_sync(struct vmb_channel *ch, const void *buf, uint32_t len,
			  const struct vmb_gpa_range_out *ext, uint32_t ext_count, uint32_t flags,
			  void *cbuf, uint32_t *cbuf_len, int64_t timeout_ns);

/* ---- incoming packet tokens ---- */

/** Complete an indicated packet exactly once (any thread). @p len <= max completion size.
 *  @return 0; -EBADF (not an outstanding token: second completion); -EINVAL (too long). */
int vmb_rx_complete(struct vmb_rx *rx, const void *buf, uint32_t len);
/** Inline only: deliver this packet again on the next pass. @return 0, -EBADF, -EPERM. */
int vmb_rx_defer(struct vmb_rx *rx);
/** The driver found the packet malformed: stop the channel's incoming queue (poison), and
 *  consume the packet (a later vmb_rx_complete() is harmless). */
void vmb_rx_fail(struct vmb_rx *rx);
/** Decoded descriptor (type, xid, ranges) of the packet, valid until completion. */
const struct vmb_pkt *vmb_rx_packet(const struct vmb_rx *rx);
/** External data: ranges and page numbers copied at indication (GPA direct), or transfer-page
 *  ranges (XFER_PAGES). @return 0 or -EBADF / -ENOENT (no external data). */
int vmb_rx_external(const struct vmb_rx *rx, const struct vmb_gpa_range **gpa,
		    const uint64_t **pfns, const struct vmb_xfer_range **xfer, uint32_t *count);
/** Channel of the token. */
struct vmb_channel *vmb_rx_channel(const struct vmb_rx *rx);
/** Client context area (vmb_channel_init_set_client_context_size()), or NULL. */
void *vmb_rx_context(struct vmb_rx *rx);

#ifdef __cplusplus
}
#endif

#endif /* VMB_CHANNEL_H */
