/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Chaos: four guest/host pairs, each over its own guest memory, exchange verified traffic
 * (every request carries a sequence number and a payload derived from it; the host checks the
 * payload and echoes the number; the guest checks the echo and the order), all served by one
 * poller thread. Meanwhile a hostile writer corrupts the guest->host ring of pair 0 at random:
 * its write index (unaligned, out of range, backwards), descriptors and payload bytes. Checked:
 * the victim channel is poisoned and reported, the process keeps running, and on every other
 * pair every request completes exactly once, in order, with an intact payload, before, during
 * and after the attack.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_pair.h>
#include <vmb/vmb_poll.h>

#define NPAIRS 4
#define WINDOW 16
#define PAYLOAD 48

struct pair {
	int idx;
	struct vmb_guest_mem mem;
	struct vmb_pair *pair;
	struct vmb_channel *host, *guest;
	_Atomic uint64_t sent, done;
	_Atomic uint32_t next_done;
	_Atomic uint32_t bad_payload, bad_order, errors;
	atomic_bool stopping;
};

static struct pair P[NPAIRS];

static void
fill(uint8_t *b, uint32_t seq)
{
	uint32_t i;
	memcpy(b, &seq, 4);
	for (i = 4; i < PAYLOAD; i++)
		b[i] = (uint8_t)(seq * 31 + i);
}

static bool
check(const uint8_t *b, uint32_t len, uint32_t *seq)
{
	uint8_t want[PAYLOAD];
	if (len < PAYLOAD)
		return false;
	memcpy(seq, b, 4);
	fill(want, *seq);
	return memcmp(b, want, PAYLOAD) == 0;
}

static void
host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	struct pair *p = vmb_channel_get_context(ch);
	uint32_t seq;

	(void)flags;
	if (!check(buf, len, &seq)) {
		/* the VSP's own validation: a malformed request stops this channel */
		atomic_fetch_add(&p->bad_payload, 1);
		vmb_rx_fail(rx);
		return;
	}
	vmb_rx_complete(rx, &seq, 4);
}

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
on_error(struct vmb_channel *ch, const char *why)
{
	struct pair *p = vmb_channel_get_context(ch);
	(void)why;
	atomic_fetch_add(&p->errors, 1);
}

static void
guest_done(struct vmb_packet *pkt, int status, const void *buf, uint32_t len)
{
	struct pair *p = vmb_packet_get_context(pkt);
	uint8_t msg[PAYLOAD];
	uint32_t seq = UINT32_MAX, next;

	if (status != 0) {
		vmb_packet_free(pkt); /* cancelled at the end (or on the poisoned pair) */
		return;
	}
	if (len >= 4)
		memcpy(&seq, buf, 4);
	if (seq != atomic_load(&p->next_done))
		atomic_fetch_add(&p->bad_order, 1);
	atomic_store(&p->next_done, seq + 1);
	atomic_fetch_add(&p->done, 1);
	if (atomic_load(&p->stopping)) {
		vmb_packet_free(pkt);
		return;
	}
	next = (uint32_t)atomic_fetch_add(&p->sent, 1);
	fill(msg, next);
	vmb_packet_send(pkt, msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0);
}

static void
pair_up(struct pair *p, int idx, struct vmb_poller *poller)
{
	uint32_t i;

	memset(p, 0, sizeof(*p));
	p->idx = idx;
	assert_int_equal(vmb_mem_create(&p->mem, 2 << 20, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_pair_create(&p->mem, false, &p->pair), 0);
	assert_int_equal(vmb_channel_alloc(true, &p->host), 0);
	assert_int_equal(vmb_channel_alloc(false, &p->guest), 0);
	vmb_channel_set_context(p->host, p);
	vmb_channel_set_context(p->guest, p);
	assert_int_equal(vmb_channel_init_set_process_packet(p->host, host_process, NULL), 0);
	assert_int_equal(vmb_channel_init_set_process_packet(p->guest, guest_process, NULL), 0);
	assert_int_equal(vmb_channel_init_set_error_callback(p->host, on_error), 0);
	assert_int_equal(vmb_channel_init_set_error_callback(p->guest, on_error), 0);
	assert_int_equal(vmb_channel_init_set_ring_pages(p->guest, 4, 4), 0);
	assert_int_equal(vmb_pair_attach(p->pair, p->host, p->guest), 0);
	assert_int_equal(vmb_channel_enable(p->host), 0);
	assert_int_equal(vmb_channel_start(p->host), 0);
	assert_int_equal(vmb_channel_enable(p->guest), 0);
	assert_int_equal(vmb_poller_add(poller, p->host), 0);
	assert_int_equal(vmb_poller_add(poller, p->guest), 0);
	for (i = 0; i < WINDOW; i++) {
		struct vmb_packet *pkt = vmb_packet_alloc(p->guest);
		uint8_t msg[PAYLOAD];
		uint32_t seq = (uint32_t)atomic_fetch_add(&p->sent, 1);
		assert_non_null(pkt);
		vmb_packet_set_context(pkt, p);
		vmb_packet_set_completion(pkt, guest_done);
		fill(msg, seq);
		assert_int_equal(vmb_packet_send(pkt, msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION,
						 NULL, 0), 0);
	}
}

/* Disable both ends (the guest's requests that never completed are cancelled) and free. */
static void
pair_down(struct pair *p)
{
	atomic_store(&p->stopping, true);
	if (vmb_channel_state(p->guest) != VMB_CHANNEL_DISABLED)
		assert_int_equal(vmb_channel_disable(p->guest), 0);
	if (vmb_channel_state(p->host) != VMB_CHANNEL_DISABLED)
		assert_int_equal(vmb_channel_disable(p->host), 0);
	assert_int_equal(vmb_channel_cleanup(p->guest), 0);
	assert_int_equal(vmb_channel_cleanup(p->host), 0);
	assert_int_equal(vmb_pair_destroy(p->pair), 0);
	vmb_mem_destroy(&p->mem);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
progress(int idx, uint64_t more)
{
	uint64_t target = atomic_load(&P[idx].done) + more;
	double t0 = now_s();
	while (atomic_load(&P[idx].done) < target)
		assert_true(now_s() - t0 < 20);
}

enum damage { DAMAGE_INDEX = 0, DAMAGE_DESCRIPTOR = 1, DAMAGE_PAYLOAD = 2 };

/* The hostile writer: random damage of one class to the victim's guest->host ring. */
static void
attack(struct pair *victim, enum damage kind, double seconds)
{
	uint64_t g2h;
	uint8_t *ctl, *data;
	uint32_t size = 3 * 4096, rng = 12345;
	double t0 = now_s();

	assert_int_equal(vmb_pair_ring_offsets(victim->pair, &g2h, NULL), 0);
	ctl = victim->mem.base + g2h;
	data = ctl + 4096;
	while (now_s() - t0 < seconds && !vmb_channel_is_poisoned(victim->host, NULL)) {
		uint32_t v;
		rng = rng * 1103515245u + 12345u;
		v = rng >> 8;
		switch (kind) {
		case DAMAGE_INDEX: /* write index: unaligned, out of range, or backwards */
			__atomic_store_n((uint32_t *)ctl, (v % 3 == 0) ? v % size | 3 : (v % 3 == 1) ? size + v % 64 : 0,
					 __ATOMIC_RELEASE);
			break;
		case DAMAGE_DESCRIPTOR: /* a descriptor-sized word anywhere packets live */
			__atomic_store_n((uint32_t *)(data + (v % (size / 8)) * 8), rng,
					 __ATOMIC_RELAXED);
			break;
		case DAMAGE_PAYLOAD: /* payload bytes */
			data[v % size] ^= (uint8_t)(rng | 1);
			break;
		}
		usleep(100 + v % 400);
	}
}

static void
test_chaos(void **state)
{
	struct vmb_poller_config pc = {.cpu = -1};
	struct vmb_poller *poller;
	int i, k;

	(void)state;
	assert_int_equal(vmb_poller_create(&pc, &poller), 0);
	for (i = 0; i < NPAIRS; i++)
		pair_up(&P[i], i, poller);
	assert_int_equal(vmb_poller_start(poller), 0);
	for (i = 0; i < NPAIRS; i++)
		progress(i, 2000);

	for (k = DAMAGE_INDEX; k <= DAMAGE_PAYLOAD; k++) {
		uint64_t before[NPAIRS];
		for (i = 1; i < NPAIRS; i++)
			before[i] = atomic_load(&P[i].done);
		attack(&P[0], (enum damage)k, 10.0);
		/* the victim is stopped and reported (by the ring checks or the VSP's own check) */
		assert_true(vmb_channel_is_poisoned(P[0].host, NULL) ||
			    vmb_channel_is_poisoned(P[0].guest, NULL));
		assert_true(atomic_load(&P[0].errors) >= 1);
		/* everyone else ran meanwhile and runs on */
		for (i = 1; i < NPAIRS; i++) {
			progress(i, 2000);
			assert_true(atomic_load(&P[i].done) > before[i]);
			assert_false(vmb_channel_is_poisoned(P[i].host, NULL));
			assert_false(vmb_channel_is_poisoned(P[i].guest, NULL));
		}
		/* replace the victim by a fresh pair for the next kind of damage */
		assert_int_equal(vmb_poller_remove(poller, P[0].guest), 0);
		assert_int_equal(vmb_poller_remove(poller, P[0].host), 0);
		pair_down(&P[0]);
		pair_up(&P[0], 0, poller);
		progress(0, 1000);
	}
	/* stop the healthy pairs cleanly: every request sent is completed, in order, intact */
	for (i = 1; i < NPAIRS; i++) {
		double t0 = now_s();
		atomic_store(&P[i].stopping, true);
		while (atomic_load(&P[i].done) < atomic_load(&P[i].sent))
			assert_true(now_s() - t0 < 20);
		assert_int_equal(atomic_load(&P[i].bad_order), 0);
		assert_int_equal(atomic_load(&P[i].bad_payload), 0);
		assert_int_equal(atomic_load(&P[i].errors), 0);
	}
	atomic_store(&P[0].stopping, true);
	assert_int_equal(vmb_poller_stop(poller), 0);
	/* a channel a poller still serves can not be freed */
	assert_int_equal(vmb_channel_disable(P[1].guest), 0);
	assert_int_equal(vmb_channel_cleanup(P[1].guest), -EBUSY);
	vmb_poller_destroy(poller);
	for (i = 0; i < NPAIRS; i++)
		pair_down(&P[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chaos),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
