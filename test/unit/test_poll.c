/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The poll loop under load, with real threads: a poller thread serves a guest and a host that
 * exchange transactions continuously (the guest's completion routine sends the next request on
 * the same packet object; the host completes some inline and hands others to a worker thread
 * that completes them later). Meanwhile the control thread pauses and starts the host, and
 * replaces it by a restored successor, many times. Checked: pause is a barrier (no indication
 * while paused, nothing outstanding when it returns), every request completes exactly once, and
 * in interrupt mode the loop sleeps, wakes on signals, and never needs its safety timeout.
 * Run under ThreadSanitizer too (buildtools/test.sh builds a TSan configuration).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_pair.h>
#include <vmb/vmb_poll.h>
#include <vmb/vmb_save.h>

#define WINDOW 32
#define HOST_TX 64

struct world {
	struct vmb_guest_mem mem;
	struct vmb_pair *pair;
	struct vmb_channel *host, *guest;
	struct vmb_poller *poller;
	atomic_bool stopping;
	atomic_bool host_paused;
	_Atomic uint64_t sent, done, indicated_while_paused, host_indications;
	_Atomic uint64_t host_tx_done;
	/* worker completing some host indications from another thread */
	struct vmb_rx *_Atomic slots[256];
	pthread_t worker;
	atomic_bool worker_stop;
};

static struct world *W;

static void
guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *b, uint32_t l, uint32_t f)
{
	(void)ch;
	(void)b;
	(void)l;
	(void)f;
	vmb_rx_complete(rx, NULL, 0);
}

static void
guest_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	uint64_t seq = 0;
	(void)buf;
	(void)len;
	if (status != 0) {
		vmb_packet_free(p);
		return;
	}
	atomic_fetch_add(&W->done, 1);
	if (atomic_load(&W->stopping)) {
		vmb_packet_free(p);
		return;
	}
	seq = atomic_fetch_add(&W->sent, 1);
	assert_int_equal(vmb_packet_send(p, &seq, sizeof(seq), VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0),
			 0);
}

static void
host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *b, uint32_t l, uint32_t f)
{
	uint64_t seq;
	uint32_t i;

	(void)ch;
	(void)f;
	assert_true(l >= sizeof(seq));
	memcpy(&seq, b, sizeof(seq));
	if (atomic_load(&W->host_paused))
		atomic_fetch_add(&W->indicated_while_paused, 1);
	atomic_fetch_add(&W->host_indications, 1);
	/* every third one is completed later by the worker thread */
	if (seq % 3 == 0) {
		for (i = 0; i < 256; i++) {
			struct vmb_rx *expected = NULL;
			if (atomic_compare_exchange_strong(&W->slots[i], &expected, rx))
				return;
		}
	}
	vmb_rx_complete(rx, &seq, sizeof(seq));
}

static void *
worker(void *arg)
{
	uint32_t i;
	(void)arg;
	while (!atomic_load(&W->worker_stop)) {
		for (i = 0; i < 256; i++) {
			struct vmb_rx *rx = atomic_exchange(&W->slots[i], NULL);
			if (rx)
				assert_int_equal(vmb_rx_complete(rx, NULL, 0), 0);
		}
		sched_yield();
	}
	return NULL;
}

/* Host-originated traffic too, so that save/restore has packets in flight. */
static void
host_tx_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	(void)buf;
	(void)len;
	if (status == 0)
		atomic_fetch_add(&W->host_tx_done, 1);
	vmb_packet_free(p);
}

static int
vsp_save(struct vmb_channel *ch, struct vmb_packet *p, void *buf, uint32_t size, uint32_t *needed)
{
	(void)ch;
	(void)p;
	(void)buf;
	(void)size;
	*needed = 0;
	return 0;
}

static int
vsp_restore(struct vmb_channel *ch, const void *lib, uint32_t lib_size, const void *save,
	    uint32_t save_size)
{
	struct vmb_packet *p = vmb_packet_alloc(ch);
	(void)save;
	(void)save_size;
	if (p == NULL)
		return -ENOMEM;
	vmb_packet_set_completion(p, host_tx_done);
	return vmb_packet_restore(p, lib, lib_size);
}

static struct vmb_channel *
new_host(void)
{
	struct vmb_channel *h;
	assert_int_equal(vmb_channel_alloc(true, &h), 0);
	assert_int_equal(vmb_channel_init_set_process_packet(h, host_process, NULL), 0);
	assert_int_equal(vmb_channel_init_set_save_restore(h, vsp_save, vsp_restore), 0);
	return h;
}

static void
world_up(struct world *w, bool interrupt)
{
	struct vmb_poller_config pc = {.interrupt_mode = interrupt, .cpu = -1, .idle_rounds = 16};
	uint32_t i;

	memset(w, 0, sizeof(*w));
	W = w;
	assert_int_equal(vmb_mem_create(&w->mem, 8 << 20, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_pair_create(&w->mem, interrupt, &w->pair), 0);
	w->host = new_host();
	assert_int_equal(vmb_channel_alloc(false, &w->guest), 0);
	assert_int_equal(vmb_channel_init_set_process_packet(w->guest, guest_process, NULL), 0);
	assert_int_equal(vmb_channel_init_set_ring_pages(w->guest, 4, 4), 0);
	assert_int_equal(vmb_pair_attach(w->pair, w->host, w->guest), 0);
	assert_int_equal(vmb_channel_enable(w->host), 0);
	assert_int_equal(vmb_channel_start(w->host), 0);
	assert_int_equal(vmb_channel_enable(w->guest), 0);
	assert_int_equal(vmb_poller_create(&pc, &w->poller), 0);
	assert_int_equal(vmb_poller_add(w->poller, w->host), 0);
	assert_int_equal(vmb_poller_add(w->poller, w->guest), 0);
	assert_int_equal(pthread_create(&w->worker, NULL, worker, NULL), 0);
	assert_int_equal(vmb_poller_start(w->poller), 0);
	for (i = 0; i < WINDOW; i++) {
		struct vmb_packet *p = vmb_packet_alloc(w->guest);
		uint64_t seq = atomic_fetch_add(&w->sent, 1);
		assert_non_null(p);
		vmb_packet_set_completion(p, guest_done);
		assert_int_equal(vmb_packet_send(p, &seq, sizeof(seq), VMB_SEND_WAIT_FOR_COMPLETION,
						 NULL, 0), 0);
	}
}

static void
wait_progress(struct world *w, uint64_t more)
{
	uint64_t target = atomic_load(&w->done) + more;
	time_t t0 = time(NULL);
	while (atomic_load(&w->done) < target)
		assert_true(time(NULL) - t0 < 30);
}

static void
world_down(struct world *w)
{
	time_t t0 = time(NULL);

	atomic_store(&w->stopping, true);
	/* every request sent is completed: drain before tearing down */
	while (atomic_load(&w->done) < atomic_load(&w->sent))
		assert_true(time(NULL) - t0 < 30);
	assert_int_equal(atomic_load(&w->done), atomic_load(&w->sent));
	assert_int_equal(vmb_poller_stop(w->poller), 0);
	atomic_store(&w->worker_stop, true);
	pthread_join(w->worker, NULL);
	assert_int_equal(vmb_channel_disable(w->guest), 0);
	assert_int_equal(vmb_channel_disable(w->host), 0);
	vmb_poller_destroy(w->poller);
	assert_int_equal(vmb_channel_cleanup(w->guest), 0);
	assert_int_equal(vmb_channel_cleanup(w->host), 0);
	assert_int_equal(vmb_pair_destroy(w->pair), 0);
	vmb_mem_destroy(&w->mem);
}

static void
pause_start_cycles(bool interrupt)
{
	struct world w;
	int i;

	world_up(&w, interrupt);
	wait_progress(&w, 1000);
	for (i = 0; i < 200; i++) {
		assert_int_equal(vmb_channel_pause(w.host), 0);
		atomic_store(&w.host_paused, true);
		/* the barrier held: nothing outstanding, and no indication until started again */
		assert_int_equal(vmb_channel_outstanding_rx(w.host), 0);
		sched_yield();
		atomic_store(&w.host_paused, false);
		assert_int_equal(vmb_channel_start(w.host), 0);
		wait_progress(&w, 50);
	}
	assert_int_equal(atomic_load(&w.indicated_while_paused), 0);
	if (interrupt) {
		struct vmb_poller_stats ps;
		vmb_poller_get_stats(w.poller, &ps);
		/* the loop really slept and was woken by signals, never by its safety timeout */
		assert_int_equal(ps.timeouts, 0);
	}
	world_down(&w);
}

static void test_pause_start_poll_mode(void **s) { (void)s; pause_start_cycles(false); }
static void test_pause_start_interrupt_mode(void **s) { (void)s; pause_start_cycles(true); }

/* Replace the host by a restored successor under traffic, repeatedly. */
static void
servicing_cycles(bool interrupt)
{
	static uint8_t stream[1 << 20];
	/* VMB_SOAK_CYCLES: the long mode (buildtools/soak.sh) runs 1000 */
	const char *env = getenv("VMB_SOAK_CYCLES");
	int cycles = env ? atoi(env) : 40;
	struct world w;
	int i;

	world_up(&w, interrupt);
	for (i = 0; i < cycles; i++) {
		struct vmb_channel *old = w.host, *nh = new_host();
		size_t off = 0;
		uint32_t j;
		int rc;

		/* host-originated transactions: some will be in flight at the save */
		for (j = 0; j < HOST_TX; j++) {
			struct vmb_packet *p = vmb_packet_alloc(old);
			assert_non_null(p);
			vmb_packet_set_completion(p, host_tx_done);
			assert_int_equal(vmb_packet_send(p, &j, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0), 0);
		}
		wait_progress(&w, 20);
		assert_int_equal(vmb_channel_pause(old), 0);
		assert_int_equal(vmb_channel_save_begin(old), 0);
		do {
			size_t filled, required;
			rc = vmb_channel_save_continue(old, stream + off, sizeof(stream) - off, &filled,
						       &required);
			off += filled;
		} while (rc == -EOVERFLOW);
		assert_int_equal(rc, 0);
		vmb_channel_save_end(old);
		assert_int_equal(vmb_channel_restore(nh, stream, off), 0);
		assert_int_equal(vmb_pair_replace_server(w.pair, old, nh), 0);
		assert_int_equal(vmb_poller_remove(w.poller, old), 0);
		assert_int_equal(vmb_channel_enable(nh), 0);
		assert_int_equal(vmb_poller_add(w.poller, nh), 0);
		assert_int_equal(vmb_channel_start(nh), 0);
		w.host = nh;
		assert_int_equal(vmb_channel_disable(old), 0);
		assert_int_equal(vmb_channel_cleanup(old), 0);
	}
	wait_progress(&w, 100);
	{
		/* every host-originated transaction completed once, across all the successors */
		time_t t0 = time(NULL);
		while (atomic_load(&w.host_tx_done) < (uint64_t)cycles * HOST_TX)
			assert_true(time(NULL) - t0 < 30);
		assert_int_equal(atomic_load(&w.host_tx_done), (uint64_t)cycles * HOST_TX);
		if (getenv("VMB_SOAK_CYCLES"))
			printf("soak: %d save/restore cycles under traffic (%s mode): %llu requests and "
			       "%llu host transactions, each completed exactly once\n",
			       cycles, interrupt ? "interrupt" : "poll",
			       (unsigned long long)atomic_load(&w.done),
			       (unsigned long long)atomic_load(&w.host_tx_done));
	}
	world_down(&w);
}

static void test_servicing_poll_mode(void **s) { (void)s; servicing_cycles(false); }
static void test_servicing_interrupt_mode(void **s) { (void)s; servicing_cycles(true); }

/* Sends from one thread stay in order even when some are handed over (a pass held the rings)
 * and the next ones find the rings free and go directly (regression: they overtook). */
static _Atomic uint32_t order_next, order_bad, order_got;

static void
order_host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *b, uint32_t l, uint32_t f)
{
	uint32_t seq;
	(void)ch;
	(void)f;
	memcpy(&seq, b, l >= 4 ? 4 : 0);
	if (seq != atomic_load(&order_next))
		atomic_fetch_add(&order_bad, 1);
	atomic_store(&order_next, seq + 1);
	atomic_fetch_add(&order_got, 1);
	vmb_rx_complete(rx, NULL, 0);
}

static void
order_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	(void)status;
	(void)buf;
	(void)len;
	vmb_packet_free(p);
}

static void
test_send_order_with_handover(void **s)
{
	struct vmb_poller_config pc = {.cpu = -1};
	struct vmb_guest_mem mem;
	struct vmb_pair *pair;
	struct vmb_channel *host, *guest;
	struct vmb_poller *poller;
	uint32_t i, n = 20000;
	time_t t0;

	(void)s;
	atomic_store(&order_next, 0);
	assert_int_equal(vmb_mem_create(&mem, 8 << 20, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_pair_create(&mem, false, &pair), 0);
	assert_int_equal(vmb_channel_alloc(true, &host), 0);
	assert_int_equal(vmb_channel_alloc(false, &guest), 0);
	assert_int_equal(vmb_channel_init_set_process_packet(host, order_host_process, NULL), 0);
	assert_int_equal(vmb_channel_init_set_process_packet(guest, guest_process, NULL), 0);
	assert_int_equal(vmb_channel_init_set_capacity(guest, 256, 65536), 0);
	assert_int_equal(vmb_pair_attach(pair, host, guest), 0);
	assert_int_equal(vmb_channel_enable(host), 0);
	assert_int_equal(vmb_channel_start(host), 0);
	assert_int_equal(vmb_channel_enable(guest), 0);
	assert_int_equal(vmb_poller_create(&pc, &poller), 0);
	assert_int_equal(vmb_poller_add(poller, host), 0);
	assert_int_equal(vmb_poller_add(poller, guest), 0);
	assert_int_equal(vmb_poller_start(poller), 0);
	for (i = 0; i < n; i++) {
		struct vmb_packet *p = vmb_packet_alloc(guest);
		assert_non_null(p);
		vmb_packet_set_completion(p, order_done);
		assert_int_equal(vmb_packet_send(p, &i, 4, 0, NULL, 0), 0);
	}
	t0 = time(NULL);
	while (atomic_load(&order_got) < n)
		assert_true(time(NULL) - t0 < 30);
	assert_int_equal(atomic_load(&order_bad), 0);
	assert_int_equal(vmb_poller_stop(poller), 0);
	vmb_poller_destroy(poller);
	assert_int_equal(vmb_channel_disable(guest), 0);
	assert_int_equal(vmb_channel_disable(host), 0);
	assert_int_equal(vmb_channel_cleanup(guest), 0);
	assert_int_equal(vmb_channel_cleanup(host), 0);
	assert_int_equal(vmb_pair_destroy(pair), 0);
	vmb_mem_destroy(&mem);
}

static void
test_poller_arguments(void **s)
{
	struct vmb_poller *p;
	struct vmb_channel *ch;

	(void)s;
	assert_int_equal(vmb_poller_create(NULL, NULL), -EINVAL);
	assert_int_equal(vmb_poller_create(NULL, &p), 0);
	assert_int_equal(vmb_channel_alloc(true, &ch), 0);
	assert_int_equal(vmb_poller_add(p, NULL), -EINVAL);
	assert_int_equal(vmb_poller_add(p, ch), 0);
	assert_int_equal(vmb_poller_add(p, ch), -EEXIST);
	assert_int_equal(vmb_poller_remove(p, NULL), -EINVAL);
	assert_int_equal(vmb_poller_run_once(p), 0);
	assert_int_equal(vmb_poller_remove(p, ch), 0);
	assert_int_equal(vmb_poller_remove(p, ch), -ENOENT);
	assert_int_equal(vmb_poller_stop(p), -EINVAL);
	assert_int_equal(vmb_poller_start(p), 0);
	assert_int_equal(vmb_poller_start(p), -EALREADY);
	assert_int_equal(vmb_poller_stop(p), 0);
	vmb_poller_destroy(p);
	assert_int_equal(vmb_channel_cleanup(ch), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poller_arguments),
		cmocka_unit_test(test_send_order_with_handover),
		cmocka_unit_test(test_pause_start_poll_mode),
		cmocka_unit_test(test_pause_start_interrupt_mode),
		cmocka_unit_test(test_servicing_poll_mode),
		cmocka_unit_test(test_servicing_interrupt_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
