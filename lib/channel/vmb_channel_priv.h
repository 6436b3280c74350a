/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Internal layout of channels, packet objects and incoming tokens, shared by the files of the
 * channel layer (and the save/restore layer). Not installed.
 *
 * Ownership: the rings, the send FIFO, the token FIFO and the statistics belong to whoever holds
 * ch->holder: a poll pass (CAS NULL -> thread marker, then check ch->active) or the control
 * thread while it quiesces the channel (it clears ch->active, then takes the holder itself).
 * Every other thread hands its work over through the two MPSC queues.
 */
#ifndef VMB_CHANNEL_PRIV_H
#define VMB_CHANNEL_PRIV_H

#include <stdatomic.h>
#include <string.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_transport.h>

#include "../common/vmb_mpsc.h"

#define VMB_CHANNEL_MAGIC 0x43424d56u /* "VMBC" */
#define VMB_PACKET_MAGIC 0x50424d56u  /* "VMBP" */
#define VMB_RX_MAGIC 0x52424d56u      /* "VMBR" */
#define VMB_DEAD_MAGIC 0xdeadbeefu

#define VMB_NONE UINT32_MAX

/** Outgoing packet object states. */
enum vmb_tx_state {
	VMB_TX_IDLE = 0,    /**< owned by the driver */
	VMB_TX_HANDOFF,     /**< in the hand-over queue, waiting for the owner */
	VMB_TX_QUEUED,      /**< in the channel FIFO, waiting for ring space or for the channel to run */
	VMB_TX_INFLIGHT,    /**< in the ring, waiting for the peer's completion */
};

/** Synchronous-request rendezvous between waiter and completion routine. */
enum vmb_sync_state { VMB_SYNC_WAITING = 0, VMB_SYNC_DONE, VMB_SYNC_ABANDONED };

struct vmb_packet {
	uint32_t magic;
	_Atomic uint32_t state;        /**< enum vmb_tx_state */
	struct vmb_channel *ch;
	void *context;
	vmb_packet_completion_fn completion; /**< NULL: default (free the packet) */
	uint32_t slot;                 /**< index in ch->tx_slots; xid = gen << 32 | (slot + 1) */
	uint32_t gen;                  /**< generation of the current transaction */
	uint32_t send_flags;           /**< VMB_SEND_* */
	uint32_t len;                  /**< inline bytes in buf (valid when copied) */
	bool copied;                   /**< buf holds the message (queued / handed over) */
	bool restored;                 /**< re-created by the restore path */
	uint8_t *buf;                  /**< max_packet_size bytes (same allocation as the object) */
	uint32_t ext_count;            /**< external ranges */
	uint32_t ext_pfn_count;
	struct vmb_gpa_range_out *ext; /**< max_ext_chain entries; pfns point into ext_pfns */
	uint64_t *ext_pfns;            /**< ext_pfn_cap entries */
	struct vmb_packet *next;       /**< FIFO link (owner) */
	/* synchronous request support */
	_Atomic uint32_t sync_state;
	int sync_status;
	void *sync_cbuf;
	uint32_t sync_cap, sync_len;
	/* compatibility layer slot (vmb_packet_set_facade) */
	vmb_facade_fn facade_fn;
	void *facade_data;
};

/** Incoming token states. */
enum vmb_rx_state {
	VMB_RX_FREE = 0,
	VMB_RX_INDICATED,  /**< handed to process_packet, not completed */
	VMB_RX_DEFERRED,   /**< vmb_rx_defer(): indicate again next pass */
	VMB_RX_COMPLETED,  /**< completed; completion packet not yet written */
	VMB_RX_DONE,       /**< completion written (or not asked for): ring space releasable */
};

struct vmb_rx {
	uint32_t magic;
	_Atomic uint32_t state;   /**< enum vmb_rx_state */
	struct vmb_channel *ch;
	uint32_t index;           /**< position in ch->rx */
	uint32_t end;             /**< ring offset just past this packet's trailer */
	uint32_t cb_flags;        /**< VMB_RX_FLAG_* given to process_packet */
	struct vmb_pkt pkt;       /**< decoded descriptor */
	uint32_t comp_len;
	uint8_t *comp_buf;        /**< max_completion bytes */
	struct vmb_pkt_ranges ranges;
	void *client_ctx;
	uint32_t next_comp;       /**< link in the pending-completion list (owner) */
};

struct vmb_channel_config {
	uint32_t max_packet;
	uint32_t max_ext_data;
	uint32_t max_ext_chain;
	uint32_t client_ctx_size;
	uint32_t rx_capacity;
	uint32_t tx_capacity;
	uint32_t max_completion;
	uint32_t ring_pages_in, ring_pages_out;
	vmb_process_packet_fn process;
	vmb_processing_complete_fn processing_complete;
	struct vmb_channel_callbacks cb;
	vmb_channel_error_fn on_error;
	vmb_save_packet_fn save_packet;
	vmb_restore_packet_fn restore_packet;
	struct vmb_guid if_type, if_instance;
	bool has_instance;
	char name[64];
};

struct vmb_channel {
	uint32_t magic;
	bool is_server;
	_Atomic int state;             /**< enum vmb_channel_state */
	_Atomic bool paused;
	_Atomic uint32_t active;       /**< 1: passes may run (open, not paused, not poisoned) */
	_Atomic(void *) holder;        /**< owner of the rings (see file comment) */
	_Atomic uint32_t poisoned;
	const char *poison_reason;
	struct vmb_channel_config cfg;
	void *context;
	void *facade;                  /**< compatibility layer state (vmb_channel_set_facade) */
	vmb_facade_release_fn facade_release;

	/* transport */
	const struct vmb_transport_ops *tops;
	void *tctx;
	struct vmb_channel_link link;
	bool linked;

	/* rings (owner): each on its own cache lines, away from the atomics other threads write
	 * (holder, active, outstanding), which would otherwise bounce them between cores */
	struct vmb_ring_reader in __attribute__((aligned(64)));
	struct vmb_ring_writer out __attribute__((aligned(64)));
	uint8_t *bounce;
	struct vmb_pkt_limits limits;

	/* incoming tokens: FIFO in ring order, [rx_tail, rx_head) outstanding (owner) */
	struct vmb_rx *rx __attribute__((aligned(64)));
	uint32_t rx_cap;
	uint32_t rx_head, rx_tail;
	_Atomic uint32_t quota;
	_Atomic uint32_t outstanding __attribute__((aligned(64))); /**< indicated, not completed
								     (any thread decrements) */
	uint32_t deferred;             /**< tokens in VMB_RX_DEFERRED (owner) */
	uint32_t comp_head, comp_tail; /**< completions waiting for ring space (owner) */
	struct vmb_mpsc rx_done_q;     /**< token indices completed by other threads */

	/* outgoing packet objects */
	_Atomic(struct vmb_packet *) *tx_slots;
	uint32_t *tx_gen;
	uint32_t tx_cap;
	_Atomic uint32_t tx_allocated;
	_Atomic uint32_t tx_hint;      /**< where the next free-slot search starts */
	_Atomic uint32_t tx_high;      /**< slots at or above this were never used */
	_Atomic uint32_t tx_pending;   /**< HANDOFF + QUEUED + INFLIGHT */
	struct vmb_mpsc tx_handoff_q;  /**< slots sent by other threads */
	struct vmb_packet *txq_head, *txq_tail; /**< FIFO waiting for ring space (owner) */
	uint32_t txq_len;

	/* wake-up of a sleeping poller after a hand-over (set by the poller's control calls,
	 * read by any thread) */
	_Atomic int waker_fd;
	_Atomic(const uint32_t *) waker_sleeping;
	_Atomic int wait_fd_pub;       /**< link.wait_fd while linked, else -1 (for pollers) */
	_Atomic uint32_t pollers;      /**< pollers serving the channel: no cleanup while > 0 */

	/* save / restore (vmb_save.c) */
	struct vmb_save_ctx *save;
	struct vmb_restore_ctx *restore;
	bool frozen;                   /**< saved: no ring writes until started again */
	bool in_restore_cb;            /**< vmb_packet_restore() allowed */
	uint32_t restored_in_cb;       /**< packets restored by the current callback */
	struct vmb_rx_restore *rx_restore; /**< incoming state to apply at the next open */

	struct vmb_channel_stats stats;
	uint32_t pass_signals;         /**< signals owed at the end of the current hold */
};

/** Incoming-side state carried by a save stream, applied when the channel is opened. */
struct vmb_rx_restore {
	uint32_t cursor;      /**< ring offset up to which packets were consumed */
	uint32_t count;       /**< completions owed to the peer */
	uint64_t *xid;
	uint32_t *len;
	uint8_t **data;
};

/* ---- helpers shared by the channel files ---- */

#define VMB_STAT_ADD(ch, field, n)                                                              \
	__atomic_store_n(&(ch)->stats.field, (ch)->stats.field + (n), __ATOMIC_RELAXED)

/* Handle checks read the leading magic word with memcpy: a bogus handle may be misaligned,
 * and must be refused, not dereferenced as a struct. */
static inline bool
vmb_handle_magic_is(const void *h, uint32_t magic)
{
	uint32_t m;

	if (h == NULL)
		return false;
	memcpy(&m, h, sizeof(m));
	return m == magic;
}

static inline bool
vmb_channel_valid(const struct vmb_channel *ch)
{
	return vmb_handle_magic_is(ch, VMB_CHANNEL_MAGIC);
}

static inline bool
vmb_packet_valid(const struct vmb_packet *p)
{
	return vmb_handle_magic_is(p, VMB_PACKET_MAGIC) && vmb_channel_valid(p->ch);
}

static inline bool
vmb_rx_valid(const struct vmb_rx *t)
{
	return vmb_handle_magic_is(t, VMB_RX_MAGIC) && vmb_channel_valid(t->ch);
}

/** This thread's identity for ch->holder. */
void *vmb_thread_marker(void);

/**
 * Take the rings of a running channel for this thread.
 * @return 1: taken (release with vmb_channel_leave); 2: this thread already holds them
 *         (nested, do not release); 0: not running or held by another thread.
 */
int vmb_channel_enter(struct vmb_channel *ch);
/** Control thread: stop passes and take the rings (returns once no pass runs). */
void vmb_channel_claim(struct vmb_channel *ch);
/** Control thread: commit, release the rings, and let passes run again if @p run. */
void vmb_channel_unclaim(struct vmb_channel *ch, bool run);
/** Commit indices, send owed signals and release the holder. */
void vmb_channel_leave(struct vmb_channel *ch);
/** Commit both rings and signal the peer if the commits say so (holder only). */
void vmb_channel_commit(struct vmb_channel *ch);

/** After a hand-over: wake the serving poller if it sleeps. */
void vmb_channel_kick(struct vmb_channel *ch);

/** Poison the channel (holder): stop traffic, remember why, notify. */
void vmb_channel_poison(struct vmb_channel *ch, const char *reason);

/* tx (vmb_channel_tx.c) */
/** Move handed-over packets to the FIFO and write what fits (holder; writes only if active
 *  or @p force_completions for pending completions). */
void vmb_tx_flush(struct vmb_channel *ch);
/** An incoming COMPLETION packet: find the packet object and retire it (holder). */
void vmb_tx_on_completion(struct vmb_channel *ch, const struct vmb_pkt *pkt);
/** Retire every pending packet with @p status (closing; holder). */
void vmb_tx_cancel_all(struct vmb_channel *ch, int status);
/** Allocate/free per-channel tx tables (enable/cleanup). */
int vmb_tx_init(struct vmb_channel *ch);
void vmb_tx_fini(struct vmb_channel *ch);
/** Write a packet object's message to the ring (holder). */
enum vmb_ring_status vmb_tx_write(struct vmb_channel *ch, struct vmb_packet *p, const void *buf);
/** After the message is in the ring: in flight, or retired at once. */
void vmb_tx_written(struct vmb_channel *ch, struct vmb_packet *p);
/** Append to the FIFO (holder). */
void vmb_tx_enqueue(struct vmb_channel *ch, struct vmb_packet *p);
/** Retire a packet object: state IDLE, completion routine. */
void vmb_tx_retire(struct vmb_packet *p, int status, const void *buf, uint32_t len);

/* rx (vmb_channel_rx.c) */
int vmb_rx_init(struct vmb_channel *ch);
void vmb_rx_fini(struct vmb_channel *ch);
/** Reset the token FIFO to empty (link open). */
void vmb_rx_reset(struct vmb_channel *ch);
/** Read and indicate up to @p budget packets (holder, active). @return packets indicated. */
int vmb_rx_process(struct vmb_channel *ch, uint32_t budget);
/** Write pending completions and release ring space of finished tokens (holder). */
void vmb_rx_release(struct vmb_channel *ch);
/** Deliver deferred tokens again, oldest first (holder). @return tokens delivered. */
uint32_t vmb_rx_redeliver(struct vmb_channel *ch);
/** Apply restored incoming state after the rings are attached (link open).
 *  @return 0, or -EIO when the ring does not match the saved position. */
int vmb_rx_apply_restore(struct vmb_channel *ch);
/** Free restored incoming state not applied. */
void vmb_rx_restore_free(struct vmb_rx_restore *r);
/** Drop pending completion packets (link closed: nobody reads them). */
void vmb_rx_drop_pending(struct vmb_channel *ch);

#endif /* VMB_CHANNEL_PRIV_H */
