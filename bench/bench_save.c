/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Save/restore costs (Google Benchmark through vmb_bench.h):
 *  - save_restore/pending:N/maxpkt:M  save a paused host channel with N pending packets (in
 *    flight and queued) into 1 MiB chunks, and restore the stream into a fresh channel (the
 *    VSP's callbacks save/restore 4 bytes per packet). Counters: save_us, restore_us and ns per
 *    pending packet for the pair of operations. M is the channel's maximum packet size: every
 *    packet object carries an inline buffer of that size (KMCL's "all resources up front"), so
 *    re-creating N objects in a fresh process costs N*M bytes of first-touch page faults;
 *    M = 256 is the size of a protocol like NVSP, 4096 the library default.
 *  - blackout/pending:N  an in-process servicing cycle: from the start of vmb_channel_pause() on
 *    the running host to the return of vmb_channel_start() on its successor (save, restore,
 *    hand-over of the rings, enable: the successor maps the rings again, start).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_pair.h>
#include <vmb/vmb_save.h>

#include "seq_vsp.h"
#include "vmb_bench.h"

#define CHUNK (1u << 20)
#define MAX_PENDING 65536

struct world {
	struct vmb_guest_mem mem;
	struct vmb_pair *pair;
	struct vmb_channel *host, *guest;
	uint8_t *stream;
	size_t stream_cap;
	size_t chunk_len[4096];
	uint32_t nchunks;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sink_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *b, uint32_t l, uint32_t f)
{
	(void)ch;
	(void)b;
	(void)l;
	(void)f;
	vmb_rx_complete(rx, NULL, 0);
}

/* The guest holds nothing and never runs here: what does not fit in the ring stays queued. */
static void
guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *b, uint32_t l, uint32_t f)
{
	sink_process(ch, rx, b, l, f);
}

static void
vsp_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	(void)status;
	(void)buf;
	(void)len;
	vmb_packet_free(p);
}

static int
vsp_restore(struct vmb_channel *ch, const void *lib, uint32_t lib_size, const void *save,
	    uint32_t save_size)
{
	return seq_vsp_restore(ch, lib, lib_size, save, save_size, vsp_done, 0);
}

static uint32_t max_packet = VMB_DEFAULT_MAX_PACKET_SIZE;

static struct vmb_channel *
new_host(void)
{
	struct vmb_channel *h;
	if (vmb_channel_alloc(true, &h) != 0)
		return NULL;
	vmb_channel_init_set_max_packet_size(h, max_packet);
	vmb_channel_init_set_capacity(h, 256, MAX_PENDING);
	vmb_channel_init_set_process_packet(h, sink_process, NULL);
	vmb_channel_init_set_save_restore(h, seq_vsp_save, vsp_restore);
	return h;
}

static int
world_up(struct world *w, uint32_t pending)
{
	uint8_t msg[64] = {0};
	uint32_t i;

	memset(w, 0, sizeof(*w));
	if (vmb_mem_create(&w->mem, 16 << 20, VMB_MEM_MEMFD) || vmb_pair_create(&w->mem, false, &w->pair))
		return -1;
	w->host = new_host();
	if (w->host == NULL || vmb_channel_alloc(false, &w->guest))
		return -1;
	vmb_channel_init_set_process_packet(w->guest, guest_process, NULL);
	vmb_channel_init_set_ring_pages(w->guest, 64, 64);
	if (vmb_pair_attach(w->pair, w->host, w->guest) || vmb_channel_enable(w->host) ||
	    vmb_channel_start(w->host) || vmb_channel_enable(w->guest))
		return -1;
	for (i = 0; i < pending; i++) {
		struct vmb_packet *p = vmb_packet_alloc(w->host);
		if (p == NULL)
			return -1;
		vmb_packet_set_completion(p, vsp_done);
		vmb_packet_set_context(p, (void *)(uintptr_t)i);
		memcpy(msg, &i, sizeof(i));
		if (vmb_packet_send(p, msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0))
			return -1;
	}
	vmb_channel_poll(w->host, 0); /* fill the ring; the rest stays queued */
	w->stream_cap = (size_t)(pending + 16) * 256 + CHUNK;
	w->stream = malloc(w->stream_cap);
	return w->stream ? 0 : -1;
}

static void
world_down(struct world *w)
{
	vmb_channel_disable(w->guest);
	if (vmb_channel_state(w->host) != VMB_CHANNEL_DISABLED)
		vmb_channel_disable(w->host);
	vmb_channel_cleanup(w->guest);
	vmb_channel_cleanup(w->host);
	vmb_pair_destroy(w->pair);
	vmb_mem_destroy(&w->mem);
	free(w->stream);
}

/* Save the paused host into w->stream as chunks of at most CHUNK bytes. */
static int
save(struct world *w)
{
	size_t off = 0;
	int rc;

	w->nchunks = 0;
	if (vmb_channel_save_begin(w->host))
		return -1;
	do {
		size_t filled, required, room = w->stream_cap - off;
		rc = vmb_channel_save_continue(w->host, w->stream + off, room < CHUNK ? room : CHUNK,
					       &filled, &required);
		if (rc != 0 && rc != -EOVERFLOW)
			break;
		w->chunk_len[w->nchunks++] = filled;
		off += filled;
	} while (rc == -EOVERFLOW && w->nchunks < 4096);
	vmb_channel_save_end(w->host);
	return rc;
}

static int
restore(struct world *w, struct vmb_channel *h)
{
	size_t off = 0;
	uint32_t i;
	int rc = -1;

	for (i = 0; i < w->nchunks; i++) {
		rc = vmb_channel_restore(h, w->stream + off, w->chunk_len[i]);
		off += w->chunk_len[i];
	}
	return rc;
}

static void
bm_save_restore(struct vmb_bench_state *st)
{
	uint32_t pending = (uint32_t)vmb_bench_range(st, 0);
	double t_save = 0, t_restore = 0;
	max_packet = (uint32_t)vmb_bench_range(st, 1);
	uint64_t n = 0;
	struct world w;

	if (world_up(&w, pending) || vmb_channel_pause(w.host)) {
		vmb_bench_skip_with_error(st, "set-up failed");
		return;
	}
	while (vmb_bench_keep_running(st)) {
		struct vmb_channel *h;
		double t0, t1, t2;

		t0 = now_s();
		if (save(&w) != 0) {
			vmb_bench_skip_with_error(st, "save failed");
			break;
		}
		t1 = now_s();
		h = new_host();
		if (h == NULL || restore(&w, h) != 0) {
			vmb_bench_skip_with_error(st, "restore failed");
			break;
		}
		t2 = now_s();
		vmb_bench_set_iteration_time(st, t2 - t0);
		vmb_bench_pause_timing(st);
		vmb_channel_cleanup(h);
		vmb_bench_resume_timing(st);
		t_save += t1 - t0;
		t_restore += t2 - t1;
		n++;
	}
	if (n) {
		vmb_bench_counter(st, "save_us", t_save / n * 1e6, 0);
		vmb_bench_counter(st, "restore_us", t_restore / n * 1e6, 0);
		vmb_bench_counter(st, "ns_per_pending", pending ? (t_save + t_restore) / n / pending * 1e9 : 0,
				  0);
		vmb_bench_counter(st, "stream_bytes", (double)(w.nchunks ? w.chunk_len[0] : 0), 0);
	}
	world_down(&w);
}

static void
bm_blackout(struct vmb_bench_state *st)
{
	uint32_t pending = (uint32_t)vmb_bench_range(st, 0);
	double total = 0;
	max_packet = (uint32_t)vmb_bench_range(st, 1);
	uint64_t n = 0;

	while (vmb_bench_keep_running(st)) {
		struct world w;
		struct vmb_channel *nh;
		double t0, t1;

		vmb_bench_pause_timing(st);
		if (world_up(&w, pending)) {
			vmb_bench_skip_with_error(st, "set-up failed");
			return;
		}
		nh = new_host();
		vmb_bench_resume_timing(st);

		t0 = now_s();
		if (vmb_channel_pause(w.host) || save(&w) || restore(&w, nh) ||
		    vmb_pair_replace_server(w.pair, w.host, nh) || vmb_channel_enable(nh) ||
		    vmb_channel_start(nh)) {
			vmb_bench_skip_with_error(st, "servicing cycle failed");
			return;
		}
		t1 = now_s();
		vmb_bench_set_iteration_time(st, t1 - t0);
		total += t1 - t0;
		n++;

		vmb_bench_pause_timing(st);
		vmb_channel_disable(w.host);
		vmb_channel_cleanup(w.host);
		w.host = nh;
		world_down(&w);
		vmb_bench_resume_timing(st);
	}
	if (n)
		vmb_bench_counter(st, "blackout_us", total / n * 1e6, 0);
}

int
main(int argc, char **argv)
{
	static const int64_t pendings[] = {0, 1, 16, 256, 4096, 16384, 65536};
	size_t i;

	static const int64_t maxpkts[] = {256, 4096};
	size_t j;

	for (j = 0; j < 2; j++) {
		for (i = 0; i < sizeof(pendings) / sizeof(pendings[0]); i++) {
			struct vmb_bench *b = vmb_bench_register("save_restore", bm_save_restore);
			vmb_bench_args(b, pendings[i], maxpkts[j]);
			vmb_bench_arg_names(b, "pending", "maxpkt");
			vmb_bench_use_manual_time(b);
		}
		for (i = 0; i < 6; i++) {
			struct vmb_bench *b = vmb_bench_register("blackout", bm_blackout);
			vmb_bench_args(b, pendings[i], maxpkts[j]);
			vmb_bench_arg_names(b, "pending", "maxpkt");
			vmb_bench_use_manual_time(b);
			vmb_bench_iterations_fixed(b, 20);
		}
	}
	return vmb_bench_main(argc, argv);
}
