/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Channel object: allocation, init-phase configuration, the KMCL state machine (enable, open,
 * start, pause, close, disable, cleanup), ring ownership and the quiesce barrier, and the poll
 * pass that ties the tx and rx halves together.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <vmb/vmb_poll.h>
#include <vmb/vmb_save.h>

#include "vmb_channel_priv.h"

/* ---- ownership ---- */

static __thread char vmb_tls_marker;

void *
vmb_thread_marker(void)
{
	return &vmb_tls_marker;
}

int
vmb_channel_enter(struct vmb_channel *ch)
{
	void *me = &vmb_tls_marker;
	void *expected = NULL;

	if (atomic_load_explicit(&ch->holder, memory_order_relaxed) == me)
		return 2;
	if (!atomic_compare_exchange_strong(&ch->holder, &expected, me))
		return 0;
	/* Dekker pairing with quiesce(): it stores active = 0 then reads holder; we store holder
	 * then read active. Both seq_cst, so at least one side sees the other. */
	if (!atomic_load(&ch->active)) {
		atomic_store_explicit(&ch->holder, NULL, memory_order_release);
		return 0;
	}
	return 1;
}

void
vmb_channel_commit(struct vmb_channel *ch)
{
	if (!ch->linked || ch->frozen)
		return; /* a saved channel's state lives in the stream: the rings are not ours */
	vmb_rx_release(ch); /* publishes read_index; may owe the writer a signal */
	if (vmb_ring_write_commit(&ch->out))
		ch->pass_signals = 1;
	if (ch->pass_signals && ch->link.signal_fd >= 0) {
		uint64_t one = 1;
		/* Only in interrupt mode can a commit ask for a signal: in poll mode the peer keeps
		 * interrupt_mask = 1 and never sets pending_send_size. */
		if (write(ch->link.signal_fd, &one, sizeof(one)) == sizeof(one))
			VMB_STAT_ADD(ch, signals_sent, 1);
	}
	ch->pass_signals = 0;
}

void
vmb_channel_leave(struct vmb_channel *ch)
{
	vmb_channel_commit(ch);
	atomic_store_explicit(&ch->holder, NULL, memory_order_release);
}

void
vmb_channel_claim(struct vmb_channel *ch)
{
	void *me = &vmb_tls_marker;

	atomic_store(&ch->active, 0);
	for (;;) {
		void *expected = NULL;
		if (atomic_compare_exchange_strong(&ch->holder, &expected, me))
			return;
		/* A pass is running (it finishes its batch) or a sender is backing off. */
		sched_yield();
	}
}

void
vmb_channel_unclaim(struct vmb_channel *ch, bool run)
{
	if (ch->linked)
		vmb_channel_commit(ch);
	atomic_store_explicit(&ch->holder, NULL, memory_order_release);
	if (run)
		atomic_store(&ch->active, 1);
}

void
vmb_channel_poison(struct vmb_channel *ch, const char *reason)
{
	if (atomic_exchange(&ch->poisoned, 1))
		return;
	ch->poison_reason = reason;
	atomic_store(&ch->active, 0);
	VMB_STAT_ADD(ch, corrupt, 1);
	if (ch->cfg.on_error)
		ch->cfg.on_error(ch, reason);
}

/* ---- allocation and configuration ---- */

int
vmb_channel_alloc(bool is_server, struct vmb_channel **out)
{
	struct vmb_channel *ch;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return -ENOMEM;
	ch->magic = VMB_CHANNEL_MAGIC;
	ch->is_server = is_server;
	atomic_init(&ch->state, VMB_CHANNEL_DISABLED);
	/* KMCL: the server must call Start; the client runs once opened. */
	atomic_init(&ch->paused, is_server);
	ch->cfg.max_packet = VMB_DEFAULT_MAX_PACKET_SIZE;
	ch->cfg.max_ext_data = VMB_DEFAULT_MAX_EXT_DATA;
	ch->cfg.max_ext_chain = VMB_DEFAULT_MAX_EXT_CHAIN;
	ch->cfg.rx_capacity = VMB_DEFAULT_RX_CAPACITY;
	ch->cfg.tx_capacity = VMB_DEFAULT_TX_CAPACITY;
	ch->cfg.max_completion = VMB_DEFAULT_MAX_COMPLETION;
	ch->cfg.ring_pages_in = VMB_DEFAULT_RING_PAGES;
	ch->cfg.ring_pages_out = VMB_DEFAULT_RING_PAGES;
	ch->link.signal_fd = ch->link.wait_fd = -1;
	atomic_init(&ch->waker_fd, -1);
	atomic_init(&ch->waker_sleeping, NULL);
	atomic_init(&ch->wait_fd_pub, -1);
	ch->comp_head = ch->comp_tail = VMB_NONE;
	*out = ch;
	return 0;
}

int
vmb_channel_cleanup(struct vmb_channel *ch)
{
	uint32_t i;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (atomic_load(&ch->state) != VMB_CHANNEL_DISABLED)
		return -EPERM;
	if (atomic_load(&ch->pollers) != 0)
		return -EBUSY; /* a poller still holds a pointer to it: remove it there first */
	/* Idle packet objects die with the channel (KMCL's lookaside list would too). */
	for (i = 0; ch->tx_slots && i < ch->tx_cap; i++) {
		struct vmb_packet *p = atomic_load(&ch->tx_slots[i]);
		if (p) {
			p->magic = VMB_DEAD_MAGIC;
			free(p); /* one allocation: see vmb_packet_alloc() */
		}
	}
	vmb_channel_save_end(ch);
	vmb_channel_restore_abort(ch);
	vmb_rx_restore_free(ch->rx_restore);
	if (ch->facade_release)
		ch->facade_release(ch->facade);
	ch->facade = NULL;
	vmb_tx_fini(ch);
	vmb_rx_fini(ch);
	ch->magic = VMB_DEAD_MAGIC;
	free(ch);
	return 0;
}

/* Init setters: valid handle and still in the init phase (Disabled, never enabled since
 * the last disable). */
static int
init_phase(struct vmb_channel *ch)
{
	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (atomic_load(&ch->state) != VMB_CHANNEL_DISABLED)
		return -EPERM;
	return 0;
}

/* Sizes fixed by tables allocated at the first packet allocation or enable. */
static int
init_phase_sizes(struct vmb_channel *ch)
{
	int rc = init_phase(ch);
	if (rc == 0 && (ch->tx_slots != NULL || ch->rx != NULL))
		return -EPERM;
	return rc;
}

int
vmb_channel_init_set_max_packet_size(struct vmb_channel *ch, uint32_t size)
{
	int rc = init_phase_sizes(ch);
	if (rc)
		return rc;
	if (size == 0 || size > (1u << 20))
		return -EINVAL;
	ch->cfg.max_packet = size;
	return 0;
}

int
vmb_channel_init_set_max_external_data(struct vmb_channel *ch, uint32_t size, uint32_t chain)
{
	int rc = init_phase_sizes(ch);
	if (rc)
		return rc;
	if (size == 0 || chain == 0 || chain > 4096 || size > (1u << 30))
		return -EINVAL;
	ch->cfg.max_ext_data = size;
	ch->cfg.max_ext_chain = chain;
	return 0;
}

int
vmb_channel_init_set_client_context_size(struct vmb_channel *ch, uint32_t size)
{
	int rc = init_phase_sizes(ch);
	if (rc)
		return rc;
	if (size > (1u << 16))
		return -EINVAL;
	ch->cfg.client_ctx_size = size;
	return 0;
}

int
vmb_channel_init_set_process_packet(struct vmb_channel *ch, vmb_process_packet_fn process,
				    vmb_processing_complete_fn complete)
{
	int rc = init_phase(ch);
	if (rc)
		return rc;
	if (process == NULL)
		return -EINVAL;
	ch->cfg.process = process;
	ch->cfg.processing_complete = complete;
	return 0;
}

int
vmb_channel_init_set_callbacks(struct vmb_channel *ch, const struct vmb_channel_callbacks *cb)
{
	int rc = init_phase(ch);
	if (rc)
		return rc;
	if (cb == NULL)
		return -EINVAL;
	ch->cfg.cb = *cb;
	return 0;
}

int
vmb_channel_init_set_name(struct vmb_channel *ch, const char *name)
{
	int rc = init_phase(ch);
	if (rc)
		return rc;
	if (name == NULL)
		return -EINVAL;
	snprintf(ch->cfg.name, sizeof(ch->cfg.name), "%s", name);
	return 0;
}

int
vmb_channel_init_set_ring_pages(struct vmb_channel *ch, uint32_t incoming, uint32_t outgoing)
{
	int rc = init_phase(ch);
	if (rc)
		return rc;
	if (ch->is_server)
		return -ENOTSUP;
	/* control page + at least one data page; data area below 2 GiB */
	if (incoming < 2 || outgoing < 2 || incoming > (1u << 19) || outgoing > (1u << 19))
		return -EINVAL;
	ch->cfg.ring_pages_in = incoming;
	ch->cfg.ring_pages_out = outgoing;
	return 0;
}

int
vmb_channel_init_set_interface(struct vmb_channel *ch, const struct vmb_guid *type,
			       const struct vmb_guid *instance)
{
	int rc = init_phase(ch);
	if (rc)
		return rc;
	if (type == NULL || (ch->is_server && instance == NULL))
		return -EINVAL;
	ch->cfg.if_type = *type;
	ch->cfg.has_instance = instance != NULL;
	if (instance)
		ch->cfg.if_instance = *instance;
	else
		memset(&ch->cfg.if_instance, 0, sizeof(ch->cfg.if_instance));
	return 0;
}

int
vmb_channel_init_set_capacity(struct vmb_channel *ch, uint32_t rx_tokens, uint32_t tx_packets)
{
	int rc = init_phase_sizes(ch);
	if (rc)
		return rc;
	if (rx_tokens == 0 || tx_packets == 0 || rx_tokens > 65536 || tx_packets > 65536)
		return -EINVAL;
	ch->cfg.rx_capacity = rx_tokens;
	ch->cfg.tx_capacity = tx_packets;
	return 0;
}

int
vmb_channel_init_set_max_completion_size(struct vmb_channel *ch, uint32_t size)
{
	int rc = init_phase_sizes(ch);
	if (rc)
		return rc;
	if (size > (1u << 16))
		return -EINVAL;
	ch->cfg.max_completion = size;
	return 0;
}

int
vmb_channel_init_set_error_callback(struct vmb_channel *ch, vmb_channel_error_fn fn)
{
	int rc = init_phase(ch);
	if (rc)
		return rc;
	ch->cfg.on_error = fn;
	return 0;
}

int
vmb_channel_init_set_save_restore(struct vmb_channel *ch, vmb_save_packet_fn save,
				  vmb_restore_packet_fn restore)
{
	int rc = init_phase(ch);
	if (rc)
		return rc;
	if (!ch->is_server)
		return -ENOTSUP;
	if (save == NULL || restore == NULL)
		return -EINVAL;
	ch->cfg.save_packet = save;
	ch->cfg.restore_packet = restore;
	return 0;
}

int
vmb_channel_set_transport(struct vmb_channel *ch, const struct vmb_transport_ops *ops, void *ctx)
{
	int rc = init_phase(ch);
	if (rc)
		return rc;
	ch->tops = ops;
	ch->tctx = ctx;
	return 0;
}

void
vmb_channel_detach_transport(struct vmb_channel *ch)
{
	if (!vmb_channel_valid(ch))
		return;
	ch->tops = NULL;
	ch->tctx = NULL;
}

int
vmb_channel_prepare(struct vmb_channel *ch)
{
	int rc = init_phase(ch);

	if (rc)
		return rc;
	rc = vmb_tx_init(ch);
	return rc ? rc : vmb_rx_init(ch);
}

/* ---- state machine ---- */

int
vmb_channel_enable(struct vmb_channel *ch)
{
	int rc = init_phase(ch);

	if (rc)
		return rc;
	if (ch->cfg.process == NULL)
		return -EINVAL;
	if (ch->restore != NULL)
		return -EBUSY; /* a restore is half done: finish or abort it first */
	if ((rc = vmb_tx_init(ch)) != 0 || (rc = vmb_rx_init(ch)) != 0)
		return rc;
	atomic_store(&ch->poisoned, 0);
	ch->poison_reason = NULL;
	atomic_store(&ch->state, VMB_CHANNEL_ENABLED);
	if (ch->tops && ch->tops->enable) {
		rc = ch->tops->enable(ch->tctx, ch);
		if (rc) {
			atomic_store(&ch->state, VMB_CHANNEL_DISABLED);
			return rc;
		}
	}
	return 0;
}

/* Opened and not paused: Started -> incoming runs -> PostStarted. Control thread. */
static void
run_started(struct vmb_channel *ch)
{
	if (ch->cfg.cb.started)
		ch->cfg.cb.started(ch);
	if (!atomic_load(&ch->poisoned))
		atomic_store(&ch->active, 1);
	/* A poller that slept while this channel was paused never armed it: wake it up so it
	 * looks at what arrived meanwhile. */
	vmb_channel_kick(ch);
	if (ch->cfg.cb.post_started)
		ch->cfg.cb.post_started(ch);
}

int
vmb_channel_start(struct vmb_channel *ch)
{
	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (atomic_load(&ch->state) == VMB_CHANNEL_DISABLED)
		return -EPERM;
	ch->frozen = false; /* resuming after a save: the rings are ours again */
	if (!atomic_exchange(&ch->paused, false)) {
		/* not paused: undo a vmb_channel_pause_begin() that was not followed by a pause */
		if (atomic_load(&ch->state) == VMB_CHANNEL_OPENED && !atomic_load(&ch->poisoned) &&
		    !atomic_load(&ch->active)) {
			atomic_store(&ch->active, 1);
			vmb_channel_kick(ch);
		}
		return 0;
	}
	if (atomic_load(&ch->state) == VMB_CHANNEL_OPENED)
		run_started(ch);
	return 0;
}

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Holder: wait until the driver completed every indicated packet, writing the completions
 * that other threads hand over as they come. */
static int
drain_outstanding(struct vmb_channel *ch, int64_t timeout_ns)
{
	int64_t deadline = timeout_ns < 0 ? INT64_MAX : now_ns() + timeout_ns;

	for (;;) {
		vmb_rx_release(ch);
		if (atomic_load(&ch->outstanding) == 0) {
			vmb_rx_release(ch);
			return 0;
		}
		if (now_ns() >= deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
}

int
vmb_channel_pause_timeout(struct vmb_channel *ch, int64_t timeout_ns)
{
	int rc;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (atomic_load(&ch->state) == VMB_CHANNEL_DISABLED) {
		atomic_store(&ch->paused, true); /* come up paused when enabled */
		return 0;
	}
	if (atomic_load(&ch->paused))
		return 0;
	if (atomic_load(&ch->state) != VMB_CHANNEL_OPENED) {
		atomic_store(&ch->paused, true);
		return 0;
	}
	vmb_channel_claim(ch);
	/* Deferred packets are delivered now, in this sleepable context, before Suspend: after
	 * it no process_packet may run. A driver that keeps deferring gets a few rounds only. */
	for (rc = 0; ch->deferred && rc < 16; rc++)
		vmb_rx_redeliver(ch);
	if (ch->cfg.cb.suspend)
		ch->cfg.cb.suspend(ch);
	rc = drain_outstanding(ch, timeout_ns);
	if (rc == 0)
		atomic_store(&ch->paused, true);
	/* Stay quiesced on timeout: the caller may retry the pause or disable. */
	vmb_channel_unclaim(ch, false);
	return rc;
}

int
vmb_channel_pause_begin(struct vmb_channel *ch)
{
	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (atomic_load(&ch->state) == VMB_CHANNEL_OPENED && !atomic_load(&ch->paused))
		atomic_store(&ch->active, 0); /* the pause's barrier then finds no pass running */
	return 0;
}

int
vmb_channel_pause(struct vmb_channel *ch)
{
	return vmb_channel_pause_timeout(ch, -1);
}

static void
detach(struct vmb_channel *ch)
{
	atomic_store(&ch->wait_fd_pub, -1);
	free(ch->bounce);
	ch->bounce = NULL;
	ch->linked = false;
	memset(&ch->link, 0, sizeof(ch->link));
	ch->link.signal_fd = ch->link.wait_fd = -1;
}

/* Quiesce, wait for completions, cancel outgoing, Closed. Holder released on return. */
static void
close_channel(struct vmb_channel *ch)
{
	bool was_running = atomic_load(&ch->active) != 0;
	int i;

	vmb_channel_claim(ch);
	/* As in pause: deferred packets count as outstanding, so they are delivered again before
	 * Suspend; otherwise the drain below would wait for them forever. */
	for (i = 0; !ch->frozen && ch->deferred && i < 16; i++)
		vmb_rx_redeliver(ch);
	if (was_running && ch->cfg.cb.suspend)
		ch->cfg.cb.suspend(ch);
	if (!ch->frozen)
		drain_outstanding(ch, -1);
	vmb_rx_drop_pending(ch);
	vmb_tx_cancel_all(ch, -ECANCELED);
	if (ch->cfg.cb.closed)
		ch->cfg.cb.closed(ch);
	detach(ch);
	atomic_store_explicit(&ch->holder, NULL, memory_order_release);
}

void
vmb_channel_link_close(struct vmb_channel *ch)
{
	if (!vmb_channel_valid(ch) || atomic_load(&ch->state) != VMB_CHANNEL_OPENED)
		return;
	vmb_channel_save_end(ch); /* a save in progress holds the rings: end it */
	close_channel(ch);
	if (!ch->is_server)
		atomic_store(&ch->paused, false); /* a client runs when enabled again */
	atomic_store(&ch->state, ch->is_server ? VMB_CHANNEL_CLOSED : VMB_CHANNEL_DISABLED);
}

int
vmb_channel_disable(struct vmb_channel *ch)
{
	int st;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	st = atomic_load(&ch->state);
	if (st == VMB_CHANNEL_DISABLED)
		return -EPERM;
	vmb_channel_save_end(ch); /* a save in progress holds the rings: end it */
	if (st == VMB_CHANNEL_OPENED) {
		close_channel(ch);
	} else {
		/* Never opened (or closed by the peer): packets queued meanwhile are cancelled. */
		vmb_channel_claim(ch);
		vmb_tx_cancel_all(ch, -ECANCELED);
		atomic_store_explicit(&ch->holder, NULL, memory_order_release);
	}
	if (ch->tops && ch->tops->disable)
		ch->tops->disable(ch->tctx, ch);
	/* Back to the side's default: a client runs when next enabled (unless paused while
	 * Disabled), a server waits for Start. */
	atomic_store(&ch->paused, ch->is_server);
	atomic_store(&ch->state, VMB_CHANNEL_DISABLED);
	return 0;
}

int
vmb_channel_link_open(struct vmb_channel *ch, const struct vmb_channel_link *link)
{
	int st, rc;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	st = atomic_load(&ch->state);
	if (st != VMB_CHANNEL_ENABLED && st != VMB_CHANNEL_CLOSED)
		return -EPERM;
	if (link == NULL || !vmb_ring_mem_valid(&link->incoming) ||
	    !vmb_ring_mem_valid(&link->outgoing))
		return -EINVAL;

	ch->link = *link;
	ch->bounce = NULL;
	if (!(link->incoming.flags & VMB_RING_F_DOUBLE_MAPPED)) {
		ch->bounce = malloc(link->incoming.size);
		if (ch->bounce == NULL)
			return -ENOMEM;
	}
	/* Indices come from shared memory: a reopened or restored channel resumes there. */
	if (vmb_ring_reader_attach(&ch->in, &link->incoming, ch->bounce, link->incoming.size) !=
		    VMB_RING_OK ||
	    vmb_ring_writer_attach(&ch->out, &link->outgoing) != VMB_RING_OK) {
		detach(ch);
		return -EIO;
	}
	vmb_ring_reader_set_mask(&ch->in, true);
	ch->limits.types_allowed = 0;
	ch->limits.max_ranges = ch->cfg.max_ext_chain;
	ch->limits.max_pfns = ch->cfg.max_ext_data / VMB_PAGE_SIZE + ch->cfg.max_ext_chain;
	ch->limits.guest_pages = link->guest_mem ? link->guest_mem->page_count : 0;
	vmb_rx_reset(ch);
	if (vmb_rx_apply_restore(ch) != 0) {
		detach(ch);
		return -EIO;
	}
	ch->linked = true;
	atomic_store(&ch->wait_fd_pub, link->wait_fd);
	atomic_store(&ch->state, VMB_CHANNEL_OPENED);

	if (ch->cfg.cb.opened) {
		rc = ch->cfg.cb.opened(ch);
		if (rc) {
			/* Roll back: no traffic flows. */
			atomic_store(&ch->state, st);
			detach(ch);
			return rc < 0 ? rc : -EIO;
		}
	}
	/* Sends queued before the open go out with the first pass. */
	if (!atomic_load(&ch->paused))
		run_started(ch);
	return 0;
}

/* ---- queries ---- */

int
vmb_channel_state(const struct vmb_channel *ch)
{
	if (!vmb_channel_valid(ch))
		return -EBADF;
	return atomic_load(&((struct vmb_channel *)ch)->state);
}

bool
vmb_channel_is_paused(const struct vmb_channel *ch)
{
	return vmb_channel_valid(ch) && atomic_load(&((struct vmb_channel *)ch)->paused);
}

bool
vmb_channel_is_poisoned(const struct vmb_channel *ch, const char **reason)
{
	if (!vmb_channel_valid(ch))
		return false;
	if (!atomic_load(&((struct vmb_channel *)ch)->poisoned))
		return false;
	if (reason)
		*reason = ch->poison_reason;
	return true;
}

bool
vmb_channel_is_server(const struct vmb_channel *ch)
{
	return vmb_channel_valid(ch) && ch->is_server;
}

void
vmb_channel_set_context(struct vmb_channel *ch, void *ctx)
{
	if (vmb_channel_valid(ch))
		ch->context = ctx;
}

void *
vmb_channel_get_context(const struct vmb_channel *ch)
{
	return vmb_channel_valid(ch) ? ch->context : NULL;
}

int
vmb_channel_set_facade(struct vmb_channel *ch, void *facade, vmb_facade_release_fn release)
{
	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (ch->facade_release && ch->facade != facade)
		ch->facade_release(ch->facade);
	ch->facade = facade;
	ch->facade_release = release;
	return 0;
}

void *
vmb_channel_get_facade(const struct vmb_channel *ch)
{
	return vmb_channel_valid(ch) ? ch->facade : NULL;
}

const char *
vmb_channel_name(const struct vmb_channel *ch)
{
	return vmb_channel_valid(ch) ? ch->cfg.name : "";
}

int
vmb_channel_get_interface(const struct vmb_channel *ch, struct vmb_guid *type,
			  struct vmb_guid *instance)
{
	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (type == NULL && instance == NULL)
		return -EINVAL;
	if (type)
		*type = ch->cfg.if_type;
	if (instance)
		*instance = ch->cfg.if_instance;
	return 0;
}

int
vmb_channel_set_quota(struct vmb_channel *ch, uint32_t quota)
{
	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (quota == 0)
		return -EINVAL;
	if (quota > ch->cfg.rx_capacity)
		quota = ch->cfg.rx_capacity;
	atomic_store(&ch->quota, quota);
	return 0;
}

int
vmb_channel_get_stats(const struct vmb_channel *ch, struct vmb_channel_stats *out)
{
	const uint64_t *src;
	uint64_t *dst;
	size_t i;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (out == NULL)
		return -EINVAL;
	src = (const uint64_t *)&ch->stats;
	dst = (uint64_t *)out;
	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	return 0;
}

uint32_t
vmb_channel_outstanding_rx(const struct vmb_channel *ch)
{
	return vmb_channel_valid(ch) ? atomic_load(&((struct vmb_channel *)ch)->outstanding) : 0;
}

uint32_t
vmb_channel_pending_tx(const struct vmb_channel *ch)
{
	return vmb_channel_valid(ch) ? atomic_load(&((struct vmb_channel *)ch)->tx_pending) : 0;
}

uint32_t
vmb_channel_max_packet_size(const struct vmb_channel *ch)
{
	return vmb_channel_valid(ch) ? ch->cfg.max_packet : 0;
}

int
vmb_channel_wait_fd(const struct vmb_channel *ch)
{
	/* Read by pollers on their own thread: the published copy, not the link. */
	return vmb_channel_valid(ch) ? atomic_load(&((struct vmb_channel *)ch)->wait_fd_pub) : -1;
}

int
vmb_channel_get_link(const struct vmb_channel *ch, struct vmb_channel_link *out)
{
	if (!vmb_channel_valid(ch) || out == NULL)
		return -EBADF;
	if (!ch->linked)
		return -ENOTCONN;
	*out = ch->link;
	return 0;
}

const struct vmb_guest_mem *
vmb_channel_guest_mem(const struct vmb_channel *ch)
{
	return vmb_channel_valid(ch) && ch->linked ? ch->link.guest_mem : NULL;
}

int
vmb_channel_ring_pages(const struct vmb_channel *ch, uint32_t *incoming, uint32_t *outgoing)
{
	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (incoming)
		*incoming = ch->cfg.ring_pages_in;
	if (outgoing)
		*outgoing = ch->cfg.ring_pages_out;
	return 0;
}

/* ---- poller support ---- */

void
vmb_channel_kick(struct vmb_channel *ch)
{
	const uint32_t *sleeping;
	uint64_t one = 1;
	int fd;

	/* Full fence: the hand-over is visible before we read the poller's flag; pairs with the
	 * poller setting the flag, fencing, then checking the hand-over queues. */
	atomic_thread_fence(memory_order_seq_cst);
	sleeping = atomic_load_explicit(&ch->waker_sleeping, memory_order_acquire);
	fd = atomic_load_explicit(&ch->waker_fd, memory_order_relaxed);
	if (fd < 0 || sleeping == NULL || !__atomic_load_n(sleeping, __ATOMIC_RELAXED))
		return;
	if (write(fd, &one, sizeof(one)) < 0) {
		/* eventfd counter saturated: the poller is bound to wake anyway */
	}
}

void
vmb_channel_set_waker(struct vmb_channel *ch, int fd, const uint32_t *sleeping)
{
	if (!vmb_channel_valid(ch))
		return;
	atomic_store(&ch->waker_fd, fd);
	atomic_store(&ch->waker_sleeping, sleeping);
}

bool
vmb_channel_prepare_sleep(struct vmb_channel *ch)
{
	bool idle = true;
	int entered;

	if (!vmb_channel_valid(ch) || atomic_load(&ch->poisoned))
		return true;
	if (!vmb_mpsc_empty(&ch->tx_handoff_q) || !vmb_mpsc_empty(&ch->rx_done_q))
		return false;
	entered = vmb_channel_enter(ch);
	if (entered == 0)
		return atomic_load(&ch->active) == 0; /* not running: nothing to watch */
	if (ch->comp_head != VMB_NONE || ch->txq_head != NULL) {
		/* Blocked on ring space: ask the reader to signal when room frees. */
		uint32_t want = ch->cfg.max_packet > ch->cfg.max_completion ? ch->cfg.max_packet
									   : ch->cfg.max_completion;
		if (vmb_ring_writer_wait_space(&ch->out, vmb_pkt_inband_len(want)))
			idle = false;
	}
	if (idle && !vmb_ring_reader_prepare_sleep(&ch->in)) {
		vmb_ring_reader_set_mask(&ch->in, true);
		idle = false;
	}
	if (entered == 1)
		vmb_channel_leave(ch);
	return idle;
}

void
vmb_channel_end_sleep(struct vmb_channel *ch)
{
	int entered;

	if (!vmb_channel_valid(ch))
		return;
	entered = vmb_channel_enter(ch);
	if (entered == 0)
		return;
	vmb_ring_reader_set_mask(&ch->in, true);
	if (entered == 1)
		vmb_channel_leave(ch);
}

void
vmb_channel_note_poller(struct vmb_channel *ch, bool added)
{
	if (!vmb_channel_valid(ch))
		return;
	if (added)
		atomic_fetch_add(&ch->pollers, 1);
	else
		atomic_fetch_sub(&ch->pollers, 1);
}

uint64_t
vmb_channel_work_count(const struct vmb_channel *ch)
{
	if (!vmb_channel_valid(ch))
		return 0;
	return __atomic_load_n(&ch->stats.rx_packets, __ATOMIC_RELAXED) +
	       __atomic_load_n(&ch->stats.tx_packets, __ATOMIC_RELAXED) +
	       __atomic_load_n(&ch->stats.completions_received, __ATOMIC_RELAXED) +
	       __atomic_load_n(&ch->stats.completions_sent, __ATOMIC_RELAXED);
}

void
vmb_channel_note_signal(struct vmb_channel *ch)
{
	if (vmb_channel_valid(ch))
		__atomic_fetch_add(&ch->stats.signals_received, 1, __ATOMIC_RELAXED);
}

void
vmb_channel_note_spurious(struct vmb_channel *ch)
{
	if (vmb_channel_valid(ch))
		__atomic_fetch_add(&ch->stats.spurious_signals, 1, __ATOMIC_RELAXED);
}

/* ---- the pass ---- */

int
vmb_channel_poll(struct vmb_channel *ch, uint32_t budget)
{
	int entered, n;

	if (!vmb_channel_valid(ch))
		return -EBADF;
	if (atomic_load_explicit(&ch->poisoned, memory_order_relaxed))
		return -EIO;
	entered = vmb_channel_enter(ch);
	if (entered == 0)
		return 0;
	VMB_STAT_ADD(ch, passes, 1);
	vmb_rx_release(ch);   /* completions first: they unblock the peer */
	vmb_tx_flush(ch);
	n = vmb_rx_process(ch, budget);
	if (entered == 1)
		vmb_channel_leave(ch);
	return n;
}
