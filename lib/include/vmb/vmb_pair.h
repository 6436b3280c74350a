/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_PAIR_H
#define VMB_PAIR_H

/**
 * @file
 * In-process transport: connects a server and a client channel end in one process, playing the
 * hypervisor's part. When both ends are enabled, the "guest" side donates ring pages from guest
 * memory (a GPADL: the client's outgoing ring first, then its incoming ring, as in the VMBus open
 * message), each end maps them on its own (double-mapped for memfd memory), and both are opened
 * through vmb_channel_link_open(), exactly the path the socket transport uses. Disabling either
 * end closes the other (the guest closing: the server goes Closed and may be reopened; the host
 * rescinding: the client goes Disabled).
 *
 * Control thread only.
 */

#include <stdbool.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmb_pair;

/**
 * Create a pair over guest memory @p mem (owned by the caller, must outlive the pair).
 * @param interrupt_mode create eventfds so ends can sleep and be signalled; false: pure poll.
 * @return 0, -EINVAL, -ENOMEM.
 */
int vmb_pair_create(struct vmb_guest_mem *mem, bool interrupt_mode, struct vmb_pair **out);

/** Bind a Disabled server end and a Disabled client end. @return 0, -EINVAL, -EBUSY (already
 *  bound), or the channel's error. */
int vmb_pair_attach(struct vmb_pair *p, struct vmb_channel *server, struct vmb_channel *client);

/**
 * Servicing: hand the host side to @p new_server (freshly allocated, configured, typically
 * restored from @p old_server's save stream, not yet enabled). The old end is detached from the
 * pair without the guest noticing (disable and clean it up afterwards: after a complete save it
 * no longer touches the rings). When the new end is enabled it maps the same rings and resumes
 * at the indices found in guest memory. @p new_server NULL: the host side leaves the pair
 * (another process takes the rings over, see vmb_pair_ring_layout()); the guest stays open.
 * @return 0, -EINVAL, or the channel's error (-EPERM if @p new_server is not Disabled).
 */
int vmb_pair_replace_server(struct vmb_pair *p, struct vmb_channel *old_server,
			    struct vmb_channel *new_server);

/** True while the rings are mapped (both ends opened). */
bool vmb_pair_is_open(const struct vmb_pair *p);

/** Ring offsets in guest memory, for tools: byte offset of the guest->host and host->guest
 *  control pages. @return 0 or -ENOTCONN. */
int vmb_pair_ring_offsets(const struct vmb_pair *p, uint64_t *g2h, uint64_t *h2g);

/** Where the rings lie in guest memory, for a host in another process: first page of the
 *  guest->host ring and its page count (control page included), same for host->guest.
 *  @return 0 or -ENOTCONN. */
int vmb_pair_ring_layout(const struct vmb_pair *p, uint64_t *g2h_pfn, uint32_t *g2h_pages,
			 uint64_t *h2g_pfn, uint32_t *h2g_pages);

/** Destroy: both ends must be Disabled (or never enabled). @return 0 or -EBUSY. */
int vmb_pair_destroy(struct vmb_pair *p);

#ifdef __cplusplus
}
#endif

#endif /* VMB_PAIR_H */
