/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_TRANSPORT_H
#define VMB_TRANSPORT_H

/**
 * @file
 * The seam between a channel and whatever connects it to its peer: the in-process pair
 * (vmb_pair.h) or the VMBus control plane over a socket. The transport maps the rings and
 * creates the signal descriptors; the channel only sees a vmb_channel_link. Both transports use
 * the same channel code paths.
 *
 * Control thread only.
 */

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What an open channel end is attached to. Rings are mapped in this process. */
struct vmb_channel_link {
	struct vmb_ring_mem incoming;          /**< ring this end reads */
	struct vmb_ring_mem outgoing;          /**< ring this end writes */
	const struct vmb_guest_mem *guest_mem; /**< GPA bounds and external data (may be NULL) */
	int signal_fd;  /**< eventfd written to signal the peer; -1 in pure poll mode */
	int wait_fd;    /**< eventfd the peer signals (this end sleeps on it); -1 in poll mode */
	bool interrupt_mode; /**< readers clear interrupt_mask before sleeping */
};

/** Hooks the channel calls on the transport. */
struct vmb_transport_ops {
	/** The channel was enabled: offer it (server) or find the offer and open (client).
	 *  May call vmb_channel_link_open() before returning. Return 0 or negative errno. */
	int (*enable)(void *ctx, struct vmb_channel *ch);
	/** The channel is being disabled: close/rescind. Called after the channel quiesced; the
	 *  transport must not call vmb_channel_link_close() for this channel from here. */
	void (*disable)(void *ctx, struct vmb_channel *ch);
};

/** Bind a transport (Disabled channel only). @return 0, -EBADF, -EPERM. */
int vmb_channel_set_transport(struct vmb_channel *ch, const struct vmb_transport_ops *ops, void *ctx);

/** Unbind the transport without telling it anything (a successor takes over the rings).
 *  Any state. */
void vmb_channel_detach_transport(struct vmb_channel *ch);

/**
 * The transport opened the channel: attach the rings (indices are read from shared memory, not
 * reset), run on_opened; if it fails the open is rolled back and its status returned; then, if
 * not paused, on_started, the incoming queue runs, on_post_started.
 * @return 0; -EBADF; -EPERM (not Enabled/Closed); -EIO (rings corrupt); the opened callback's
 *         error; -ENOMEM.
 */
int vmb_channel_link_open(struct vmb_channel *ch, const struct vmb_channel_link *link);

/**
 * The peer closed or rescinded: quiesce (on_suspend if running), wait for outstanding incoming
 * completions, cancel pending outgoing packets, on_closed, detach. A server goes to Closed
 * (may be reopened), a client to Disabled. No-op unless Opened.
 */
void vmb_channel_link_close(struct vmb_channel *ch);

/**
 * Copy the link of an Opened channel: its mapped rings, guest memory and signal descriptors.
 * For an owner that drives the rings itself (a poll-mode driver's bursts) and therefore never
 * calls vmb_channel_poll() nor adds the channel to a poller: the channel then only carries the
 * control plane (open/close, state callbacks). The mappings stay valid until the link closes;
 * the owner must stop touching them before vmb_channel_link_close()/disable. Control thread.
 * @return 0; -EBADF; -ENOTCONN (not Opened).
 */
int vmb_channel_get_link(const struct vmb_channel *ch, struct vmb_channel_link *out);
/** The eventfd this end waits on, or -1. */
int vmb_channel_wait_fd(const struct vmb_channel *ch);

/** Guest memory the channel was opened with (NULL if none / not open). */
const struct vmb_guest_mem *vmb_channel_guest_mem(const struct vmb_channel *ch);

/** Ring page counts a client asked for (incoming, outgoing). @return 0 or -EBADF. */
int vmb_channel_ring_pages(const struct vmb_channel *ch, uint32_t *incoming, uint32_t *outgoing);

#ifdef __cplusplus
}
#endif

#endif /* VMB_TRANSPORT_H */
