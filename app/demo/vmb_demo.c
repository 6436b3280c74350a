/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * vmb-demo: two channel ends in one process over memfd guest memory, exchanging traffic with a
 * live packets/s figure. The guest (client) sends inband requests asking for completions; the
 * host (server) completes each with a small payload; the guest's completion routine reuses the
 * packet object and sends the next request. One poll thread serves both ends.
 *
 *   vmb-demo [--seconds N] [--size BYTES] [--window N] [--interrupt]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_pair.h>
#include <vmb/vmb_poll.h>

struct demo {
	uint32_t size;
	uint8_t payload[4096];
	_Atomic uint64_t sent, done;
	atomic_bool stopping;
};

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Host: complete every request with its first 8 bytes echoed back. */
static void
host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	(void)ch;
	(void)flags;
	vmb_rx_complete(rx, buf, len < 8 ? len : 8);
}

static void
guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	      uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	vmb_rx_complete(rx, NULL, 0);
}

/* Guest: a request finished; send the next one on the same packet object. */
static void
guest_request_done(struct vmb_packet *pkt, int status, const void *buf, uint32_t len)
{
	struct demo *d = vmb_packet_get_context(pkt);

	(void)buf;
	(void)len;
	if (status == 0)
		atomic_fetch_add_explicit(&d->done, 1, memory_order_relaxed);
	if (status != 0 || atomic_load(&d->stopping)) {
		vmb_packet_free(pkt);
		return;
	}
	if (vmb_packet_send(pkt, d->payload, d->size, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0)
		atomic_fetch_add_explicit(&d->sent, 1, memory_order_relaxed);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--seconds N] [--size BYTES (8..4096)] [--window N] [--interrupt]\n",
		prog);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"seconds", required_argument, NULL, 's'}, {"size", required_argument, NULL, 'b'},
		{"window", required_argument, NULL, 'w'},  {"interrupt", no_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
	struct vmb_poller_config pcfg = {.cpu = -1};
	struct vmb_channel *host, *guest;
	struct vmb_guest_mem mem;
	struct vmb_poller *poller;
	struct vmb_pair *pair;
	struct demo d = {.size = 64};
	uint32_t window = 64, i;
	double seconds = 5, t0, last;
	uint64_t last_done = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:b:w:ih", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'b':
			d.size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'w':
			window = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			pcfg.interrupt_mode = true;
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (d.size < 8 || d.size > sizeof(d.payload) || window == 0 || window > 512 ||
	    seconds <= 0) {
		usage(argv[0]);
		return 2;
	}
	memset(d.payload, 0x5a, sizeof(d.payload));
	signal(SIGINT, on_sigint);

	if ((rc = vmb_mem_create(&mem, 16 << 20, VMB_MEM_MEMFD)) != 0 ||
	    (rc = vmb_pair_create(&mem, pcfg.interrupt_mode, &pair)) != 0 ||
	    (rc = vmb_channel_alloc(true, &host)) != 0 || (rc = vmb_channel_alloc(false, &guest)) != 0) {
		fprintf(stderr, "set-up failed: %s\n", strerror(-rc));
		return 1;
	}
	vmb_channel_init_set_name(host, "demo-host");
	vmb_channel_init_set_name(guest, "demo-guest");
	vmb_channel_init_set_process_packet(host, host_process, NULL);
	vmb_channel_init_set_process_packet(guest, guest_process, NULL);
	vmb_channel_init_set_ring_pages(guest, 64, 64);
	if ((rc = vmb_pair_attach(pair, host, guest)) != 0 || (rc = vmb_channel_enable(host)) != 0 ||
	    (rc = vmb_channel_start(host)) != 0 || (rc = vmb_channel_enable(guest)) != 0 ||
	    (rc = vmb_poller_create(&pcfg, &poller)) != 0 || (rc = vmb_poller_add(poller, host)) ||
	    (rc = vmb_poller_add(poller, guest)) || (rc = vmb_poller_start(poller))) {
		fprintf(stderr, "channel set-up failed: %s\n", strerror(-rc));
		return 1;
	}
	printf("vmb-demo: host and guest channel over memfd guest memory, %u-byte requests, "
	       "window %u, %s mode\n",
	       d.size, window, pcfg.interrupt_mode ? "interrupt" : "poll");
	for (i = 0; i < window; i++) {
		struct vmb_packet *pkt = vmb_packet_alloc(guest);
		if (pkt == NULL)
			break;
		vmb_packet_set_context(pkt, &d);
		vmb_packet_set_completion(pkt, guest_request_done);
		if (vmb_packet_send(pkt, d.payload, d.size, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0)
			atomic_fetch_add(&d.sent, 1);
	}
	t0 = last = now_s();
	while (!interrupted && now_s() - t0 < seconds) {
		double t;
		uint64_t done;
		usleep(200000);
		t = now_s();
		if (t - last < 1.0 && t - t0 < seconds)
			continue;
		done = atomic_load(&d.done);
		printf("  %6.1fs  %10.3f Mtransactions/s  (%.3f Mpackets/s both ways)\n", t - t0,
		       (done - last_done) / (t - last) / 1e6, 2 * (done - last_done) / (t - last) / 1e6);
		fflush(stdout);
		last_done = done;
		last = t;
	}
	atomic_store(&d.stopping, true);
	vmb_channel_pause(guest);
	vmb_channel_pause(host);
	{
		struct vmb_channel_stats hs, gs;
		vmb_channel_get_stats(host, &hs);
		vmb_channel_get_stats(guest, &gs);
		printf("total: %llu requests completed in %.1fs; host rx %llu, guest tx %llu, "
		       "completions %llu sent / %llu received, bad %llu\n",
		       (unsigned long long)atomic_load(&d.done), now_s() - t0,
		       (unsigned long long)hs.rx_packets, (unsigned long long)gs.tx_packets,
		       (unsigned long long)hs.completions_sent,
		       (unsigned long long)gs.completions_received,
		       (unsigned long long)gs.bad_completions);
	}
	vmb_poller_stop(poller);
	vmb_poller_destroy(poller);
	vmb_channel_disable(guest);
	vmb_channel_disable(host);
	vmb_channel_cleanup(guest);
	vmb_channel_cleanup(host);
	vmb_pair_destroy(pair);
	vmb_mem_destroy(&mem);
	return 0;
}
