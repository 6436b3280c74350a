/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The poll loop (see vmb_poll.h). Channel slots are published with atomic pointers; removal
 * waits for the phase counter, which is odd whenever the loop touches channels (a round, arming
 * before a sleep, and the wake-up after it) and even otherwise (between phases, and while
 * blocked in epoll), so the loop provably no longer touches a removed channel. The epoll
 * registrations and the per-slot bookkeeping belong to the loop's thread alone.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vmb/vmb_poll.h>
#include <vmb/vmb_transport.h>

#define WAKE_TAG UINT32_MAX

struct vmb_poller {
	struct vmb_poller_config cfg;
	_Atomic(struct vmb_channel *) *chans;
	_Atomic uint32_t nslots;       /* high-water mark of used slots */
	_Atomic uint32_t seq;          /* odd while the loop touches channels */
	uint32_t sleeping;             /* read by channels' wakers */
	int epfd, wake_fd;
	int *reg_fd;                   /* fd registered in epoll per slot (-1 none) */
	uint64_t *work_before;         /* per slot, at wake-up */
	uint8_t *signaled;             /* per slot, signalled at the last wake-up */
	bool woke;                     /* the last round follows a wake-up */
	pthread_t thread;
	bool running;
	_Atomic bool stop;
	struct vmb_poller_stats stats;
};

#define PSTAT_ADD(p, f, n) __atomic_store_n(&(p)->stats.f, (p)->stats.f + (n), __ATOMIC_RELAXED)

int
vmb_poller_create(const struct vmb_poller_config *cfg, struct vmb_poller **out)
{
	struct vmb_poller *p;
	uint32_t i;
	int rc;

	if (out == NULL)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	if (cfg)
		p->cfg = *cfg;
	else
		p->cfg.cpu = -1;
	if (p->cfg.budget == 0)
		p->cfg.budget = 64;
	if (p->cfg.max_channels == 0)
		p->cfg.max_channels = 256;
	if (p->cfg.idle_rounds == 0)
		p->cfg.idle_rounds = 64;
	if (p->cfg.sleep_timeout_ms <= 0)
		p->cfg.sleep_timeout_ms = 1000;
	p->chans = calloc(p->cfg.max_channels, sizeof(*p->chans));
	p->reg_fd = malloc(p->cfg.max_channels * sizeof(*p->reg_fd));
	p->work_before = calloc(p->cfg.max_channels, sizeof(*p->work_before));
	p->signaled = calloc(p->cfg.max_channels, 1);
	p->epfd = p->wake_fd = -1;
	if (p->chans == NULL || p->reg_fd == NULL || p->work_before == NULL || p->signaled == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < p->cfg.max_channels; i++)
		p->reg_fd[i] = -1;
	if (p->cfg.interrupt_mode) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = WAKE_TAG};
		p->epfd = epoll_create1(EPOLL_CLOEXEC);
		p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (p->epfd < 0 || p->wake_fd < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wake_fd, &ev)) {
			rc = -errno;
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	vmb_poller_destroy(p);
	return rc;
}

void
vmb_poller_destroy(struct vmb_poller *p)
{
	uint32_t i;

	if (p == NULL)
		return;
	if (p->running)
		vmb_poller_stop(p);
	for (i = 0; p->chans && i < p->cfg.max_channels; i++) {
		struct vmb_channel *ch = atomic_load(&p->chans[i]);
		if (ch) {
			vmb_channel_set_waker(ch, -1, NULL);
			vmb_channel_note_poller(ch, false);
		}
	}
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	free(p->chans);
	free(p->reg_fd);
	free(p->work_before);
	free(p->signaled);
	free(p);
}

int
vmb_poller_add(struct vmb_poller *p, struct vmb_channel *ch)
{
	uint32_t i, free_slot = UINT32_MAX, n;

	if (p == NULL || vmb_channel_state(ch) < 0)
		return -EINVAL;
	n = atomic_load(&p->nslots);
	for (i = 0; i < n; i++) {
		struct vmb_channel *c = atomic_load(&p->chans[i]);
		if (c == ch)
			return -EEXIST;
		if (c == NULL && free_slot == UINT32_MAX)
			free_slot = i;
	}
	if (free_slot == UINT32_MAX) {
		if (n >= p->cfg.max_channels)
			return -ENOSPC;
		free_slot = n;
	}
	if (p->cfg.interrupt_mode)
		vmb_channel_set_waker(ch, p->wake_fd, &p->sleeping);
	vmb_channel_note_poller(ch, true);
	atomic_store(&p->chans[free_slot], ch);
	if (free_slot == n)
		atomic_store(&p->nslots, n + 1);
	return 0;
}

int
vmb_poller_remove(struct vmb_poller *p, struct vmb_channel *ch)
{
	uint32_t i, n, s;

	if (p == NULL || ch == NULL)
		return -EINVAL;
	n = atomic_load(&p->nslots);
	for (i = 0; i < n; i++)
		if (atomic_load(&p->chans[i]) == ch)
			break;
	if (i == n)
		return -ENOENT;
	atomic_store(&p->chans[i], NULL);
	/* Barrier: a round that may have loaded the pointer ends before we return. */
	s = atomic_load(&p->seq);
	if (s & 1)
		while (atomic_load(&p->seq) == s)
			sched_yield();
	vmb_channel_set_waker(ch, -1, NULL);
	vmb_channel_note_poller(ch, false);
	/* The loop forgets the slot's registration itself when it next arms; a stopped loop's
	 * bookkeeping is ours to clean. */
	if (!p->running) {
		if (p->reg_fd[i] >= 0 && p->epfd >= 0)
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->reg_fd[i], NULL);
		p->reg_fd[i] = -1;
		p->signaled[i] = 0;
	}
	return 0;
}

uint32_t
vmb_poller_run_once(struct vmb_poller *p)
{
	uint32_t i, n, packets = 0;
	bool any_work = false;

	atomic_fetch_add(&p->seq, 1);
	n = atomic_load(&p->nslots);
	for (i = 0; i < n; i++) {
		struct vmb_channel *ch = atomic_load_explicit(&p->chans[i], memory_order_acquire);
		int r;
		if (ch == NULL)
			continue;
		r = vmb_channel_poll(ch, p->cfg.budget);
		if (r > 0)
			packets += (uint32_t)r;
		if (p->woke) {
			uint64_t w = vmb_channel_work_count(ch);
			if (w != p->work_before[i])
				any_work = true;
			else if (p->signaled[i])
				vmb_channel_note_spurious(ch);
			p->signaled[i] = 0;
		}
	}
	atomic_fetch_add(&p->seq, 1);
	if (p->woke && !any_work && packets == 0)
		PSTAT_ADD(p, spurious_wakeups, 1);
	p->woke = false;
	PSTAT_ADD(p, rounds, 1);
	PSTAT_ADD(p, packets, packets);
	return packets;
}

/* Keep epoll registrations in step with the channels' wait fds (they appear at open). */
static void
sync_fds(struct vmb_poller *p, uint32_t i, struct vmb_channel *ch)
{
	int fd = vmb_channel_wait_fd(ch);

	if (fd == p->reg_fd[i])
		return;
	if (p->reg_fd[i] >= 0)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->reg_fd[i], NULL);
	p->reg_fd[i] = -1;
	if (fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
			p->reg_fd[i] = fd;
	}
}

static void
end_sleep_all(struct vmb_poller *p, uint32_t n)
{
	uint32_t i;
	for (i = 0; i < n; i++) {
		struct vmb_channel *ch = atomic_load(&p->chans[i]);
		if (ch)
			vmb_channel_end_sleep(ch);
	}
}

/* Arm every channel and sleep. Returns after waking (or aborting the sleep). */
static void
sleep_once(struct vmb_poller *p)
{
	struct epoll_event evs[64];
	uint32_t i, n = atomic_load(&p->nslots);
	int nev, k;

	__atomic_store_n(&p->sleeping, 1, __ATOMIC_RELAXED);
	/* Full fence: pairs with vmb_channel_kick (hand-over, fence, read flag). */
	atomic_thread_fence(memory_order_seq_cst);
	atomic_fetch_add(&p->seq, 1); /* arming phase: channels are touched */
	for (i = 0; i < n; i++) {
		struct vmb_channel *ch = atomic_load(&p->chans[i]);
		if (ch == NULL) {
			if (p->reg_fd[i] >= 0)
				epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->reg_fd[i], NULL);
			p->reg_fd[i] = -1;
			p->signaled[i] = 0;
			continue;
		}
		sync_fds(p, i, ch);
		if (!vmb_channel_prepare_sleep(ch)) {
			__atomic_store_n(&p->sleeping, 0, __ATOMIC_RELAXED);
			end_sleep_all(p, n);
			atomic_fetch_add(&p->seq, 1);
			PSTAT_ADD(p, aborted_sleeps, 1);
			return;
		}
	}
	atomic_fetch_add(&p->seq, 1); /* blocked in epoll: channels are not touched */
	PSTAT_ADD(p, sleeps, 1);
	nev = epoll_wait(p->epfd, evs, 64, p->cfg.sleep_timeout_ms);
	__atomic_store_n(&p->sleeping, 0, __ATOMIC_RELAXED);
	atomic_fetch_add(&p->seq, 1); /* wake-up phase */
	if (nev == 0)
		PSTAT_ADD(p, timeouts, 1);
	for (k = 0; k < nev; k++) {
		uint32_t tag = evs[k].data.u32;
		uint64_t cnt;
		int fd = tag == WAKE_TAG ? p->wake_fd : (tag < n ? p->reg_fd[tag] : -1);
		if (fd < 0 || read(fd, &cnt, sizeof(cnt)) != sizeof(cnt))
			continue;
		PSTAT_ADD(p, signals, 1);
		if (tag != WAKE_TAG) {
			struct vmb_channel *ch = atomic_load(&p->chans[tag]);
			if (ch) {
				vmb_channel_note_signal(ch);
				p->signaled[tag] = 1;
			}
		}
	}
	for (i = 0; i < n; i++) {
		struct vmb_channel *ch = atomic_load(&p->chans[i]);
		if (ch)
			p->work_before[i] = vmb_channel_work_count(ch);
	}
	p->woke = true;
	PSTAT_ADD(p, wakeups, 1);
	end_sleep_all(p, n);
	atomic_fetch_add(&p->seq, 1);
}

static void *
loop(void *arg)
{
	struct vmb_poller *p = arg;
	uint32_t idle = 0;

	if (p->cfg.cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(p->cfg.cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		if (vmb_poller_run_once(p)) {
			idle = 0;
			continue;
		}
		if (!p->cfg.interrupt_mode) {
			__builtin_ia32_pause();
			continue;
		}
		if (++idle < p->cfg.idle_rounds)
			continue;
		idle = 0;
		sleep_once(p);
	}
	return NULL;
}

int
vmb_poller_start(struct vmb_poller *p)
{
	int rc;

	if (p == NULL)
		return -EINVAL;
	if (p->running)
		return -EALREADY;
	atomic_store(&p->stop, false);
	rc = pthread_create(&p->thread, NULL, loop, p);
	if (rc)
		return -rc;
	p->running = true;
	return 0;
}

int
vmb_poller_stop(struct vmb_poller *p)
{
	uint64_t one = 1;

	if (p == NULL || !p->running)
		return -EINVAL;
	atomic_store(&p->stop, true);
	if (p->wake_fd >= 0 && write(p->wake_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the loop is awake anyway */
	}
	pthread_join(p->thread, NULL);
	p->running = false;
	return 0;
}

void
vmb_poller_get_stats(const struct vmb_poller *p, struct vmb_poller_stats *out)
{
	const uint64_t *src;
	uint64_t *dst;
	size_t i;

	if (p == NULL || out == NULL)
		return;
	src = (const uint64_t *)&p->stats;
	dst = (uint64_t *)out;
	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
