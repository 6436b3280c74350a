/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_POLL_H
#define VMB_POLL_H

/**
 * @file
 * The poll loop: one thread (or DPDK lcore) serves many channels, run-to-completion and batched:
 * each round runs one pass per channel (hand-overs, queued sends, up to `budget` incoming
 * packets, completions, one index store per ring, at most one signal per ring).
 *
 * Poll mode: busy-polls; interrupt_mask stays 1 on every ring, so no peer ever signals and the
 * loop makes no syscall. Interrupt mode: after `idle_rounds` empty rounds the loop arms every
 * channel (clears interrupt_mask, full fence, re-checks the ring: the Hyper-V sleep rule), then
 * sleeps in epoll on the channels' eventfds and its own wake-up eventfd; on wake it masks again.
 * Signals received and wake-ups that found nothing to do are counted.
 *
 * Control calls (create, add, remove, start, stop, destroy) come from one control thread.
 * vmb_poller_run_once() is for a caller that drives the loop itself (a DPDK lcore); do not mix
 * it with vmb_poller_start().
 */

#include <stdbool.h>
#include <stdint.h>

#include <vmb/vmb_channel.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmb_poller;

/** Poller settings. */
struct vmb_poller_config {
	uint32_t budget;        /**< max packets indicated per channel per round (0: 64) */
	uint32_t max_channels;  /**< capacity (0: 256) */
	bool interrupt_mode;    /**< sleep on eventfds when idle */
	uint32_t idle_rounds;   /**< empty rounds before sleeping (0: 64) */
	int cpu;                /**< pin the thread to this CPU (-1: no pinning) */
	int sleep_timeout_ms;   /**< safety bound on one sleep (0: 1000 ms); counted as a timeout */
};

/** Poller counters. */
struct vmb_poller_stats {
	uint64_t rounds;            /**< rounds over all channels */
	uint64_t packets;           /**< packets indicated */
	uint64_t sleeps;            /**< times the loop slept */
	uint64_t wakeups;           /**< times it woke from a sleep */
	uint64_t signals;           /**< eventfd signals consumed (channel and wake-up fds) */
	uint64_t spurious_wakeups;  /**< wake-ups after which the next round did no work */
	uint64_t aborted_sleeps;    /**< sleeps abandoned because work appeared while arming */
	uint64_t timeouts;          /**< sleeps ended by the safety timeout, not by a signal */
};

/** @return 0, -EINVAL, -ENOMEM, or -errno (epoll/eventfd). */
int vmb_poller_create(const struct vmb_poller_config *cfg, struct vmb_poller **out);
/** Stop (if running), stop serving every channel (they stay as they are otherwise), free. */
void vmb_poller_destroy(struct vmb_poller *p);
/** Serve a channel. @return 0, -EINVAL, -EEXIST, -ENOSPC, -errno (epoll). */
int vmb_poller_add(struct vmb_poller *p, struct vmb_channel *ch);
/** Stop serving a channel; returns once the loop provably no longer touches it.
 *  @return 0, -EINVAL, -ENOENT. */
int vmb_poller_remove(struct vmb_poller *p, struct vmb_channel *ch);
/** One round over all channels (caller's thread). @return packets indicated. */
uint32_t vmb_poller_run_once(struct vmb_poller *p);
/** Start the loop thread. @return 0, -EALREADY, -errno. */
int vmb_poller_start(struct vmb_poller *p);
/** Stop and join the loop thread. @return 0 or -EINVAL when not started. */
int vmb_poller_stop(struct vmb_poller *p);
/** Copy the counters. */
void vmb_poller_get_stats(const struct vmb_poller *p, struct vmb_poller_stats *out);

/* ---- channel hooks used by pollers (advanced) ---- */

/** Arm interrupts before sleeping. @return true when the channel has nothing to do now (safe
 *  to sleep until its eventfd or the waker fires); false: keep polling. */
bool vmb_channel_prepare_sleep(struct vmb_channel *ch);
/** Mask interrupts again after waking (polling from now on). */
void vmb_channel_end_sleep(struct vmb_channel *ch);
/** Hand-overs from other threads write 1 to @p fd while *@p sleeping is non-zero, so a sleeping
 *  poller wakes up. fd -1 disables. */
void vmb_channel_set_waker(struct vmb_channel *ch, int fd, const uint32_t *sleeping);
/** Monotonic count of work done (packets in and out, completions): a poller compares it
 *  across a wake-up to detect spurious signals. */
uint64_t vmb_channel_work_count(const struct vmb_channel *ch);
/** A poller starts (@p added) or stops serving the channel: a served channel can not be freed. */
void vmb_channel_note_poller(struct vmb_channel *ch, bool added);
/** Count one eventfd signal received for the channel. */
void vmb_channel_note_signal(struct vmb_channel *ch);
/** Count one signal after which the channel had nothing to do. */
void vmb_channel_note_spurious(struct vmb_channel *ch);

#ifdef __cplusplus
}
#endif

#endif /* VMB_POLL_H */
