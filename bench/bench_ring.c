/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Ring throughput: the vmbchan Hyper-V ring carrying INBAND packets, side by side with DPDK's
 * rte_ring (single producer, single consumer, fixed-size elements) carrying the same payload
 * bytes, in the same thread layouts and with the same packet capacity.
 *
 *   vmb_ring/inband/size:S/batch:B/real_time/threads:T
 *   rte_ring/elem/size:S/batch:B/real_time/threads:T
 *
 * One iteration moves one batch of B packets of S payload bytes:
 *  - threads:1: the thread writes the batch, then reads it back.
 *  - threads:2: thread 0 (pinned to the first CPU) writes, thread 1 (second CPU) reads; both
 *    run the same number of iterations, so the run ends when the reader has every packet.
 * Writer (vmb): vmb_pkt_write_inband() per packet, one vmb_ring_write_commit() per batch.
 * Reader (vmb): vmb_ring_read() + vmb_pkt_decode() + payload copy-out per packet, one
 * vmb_ring_read_commit() per batch. The rte_ring copies elements in and out too.
 * When the ring is full (empty) the writer (reader) publishes what it has and spins with
 * rte_pause(); the spins per batch are reported as full_spins / empty_spins.
 * items_per_second = packets/s, bytes_per_second = payload bytes/s (wall clock). With two
 * threads Google Benchmark sums the iterations of both threads, so its Time column is half the
 * time per batch: read the rates. bench/compare.py runs the pairs and prints them side by side.
 *
 * Own options (the rest goes to Google Benchmark):
 *   --cpus=A,B   CPUs for the writer and reader threads (default: the first two allowed)
 *   --eal=ARG    extra EAL argument (repeatable)
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <vmb/vmb_mem.h>
#include <vmb/vmb_packet.h>
#include <vmb/vmb_ring.h>

#include "vmb_bench.h"

#define RING_DATA_SIZE (256u * 1024u) /* vmb data area; rte_ring gets the same packet capacity */
#define MAX_BATCH 32u
#define MAX_SIZE 1500u
#define ALWAYS_INLINE inline __attribute__((always_inline))

static int cpu_writer = -1, cpu_reader = -1;
static bool eal_ok;

/* ---- state shared by the threads of one run (set up by thread 0 before the start barrier) */

struct vmb_setup {
	struct vmb_guest_mem gm;
	struct vmb_gpadl_table tbl;
	struct vmb_mapping map;
	struct vmb_ring_mem rm;
	struct vmb_ring_writer w;
	struct vmb_ring_reader r;
};

static struct {
	bool ok;   /* set up fine (written before the start barrier) */
	int abort; /* one side failed: the other stops spinning (atomic) */
	const char *err;
	struct vmb_setup vmb;
	struct rte_ring *rte;
	void *rte_mem; /* rte_ring memory when EAL is not available */
} run;

static const struct vmb_pkt_limits inband_only = {.types_allowed = 1u << VMB_PKT_INBAND};

/** Packets of @p size payload bytes that fit in the vmb ring (free space must stay > 0). */
static uint32_t
vmb_capacity(uint32_t size)
{
	return (RING_DATA_SIZE - 1) / (vmb_pkt_inband_len(size) + VMB_RING_TRAILER_SIZE);
}

static int
vmb_setup_init(struct vmb_setup *s)
{
	uint32_t npages = 1 + RING_DATA_SIZE / VMB_PAGE_SIZE, id, i;
	uint64_t pfns[1 + RING_DATA_SIZE / VMB_PAGE_SIZE], first;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = vmb_mem_create(&s->gm, (uint64_t)npages * VMB_PAGE_SIZE, VMB_MEM_MEMFD);
	if (rc == 0)
		rc = vmb_gpadl_table_init(&s->tbl, 4);
	if (rc == 0)
		rc = vmb_mem_alloc_pages(&s->gm, npages, &first);
	if (rc)
		return rc;
	for (i = 0; i < npages; i++)
		pfns[i] = first + i;
	rc = vmb_gpadl_add(&s->tbl, &s->gm, 0, pfns, npages, &id);
	if (rc == 0)
		rc = vmb_ring_map(&s->gm, vmb_gpadl_find(&s->tbl, id), 0, npages, &s->rm, &s->map);
	if (rc)
		return rc;
	if (!(s->rm.flags & VMB_RING_F_DOUBLE_MAPPED))
		return -ENOTSUP;
	memset(s->rm.data, 0, s->rm.size); /* fault the pages in before timing */
	vmb_ring_format(s->rm.ctl);	   /* interrupt_mask = 1: poll mode */
	if (vmb_ring_writer_attach(&s->w, &s->rm) != VMB_RING_OK ||
	    vmb_ring_reader_attach(&s->r, &s->rm, NULL, 0) != VMB_RING_OK)
		return -EINVAL;
	return 0;
}

static void
vmb_setup_fini(struct vmb_setup *s)
{
	vmb_mapping_unmap(&s->map);
	vmb_gpadl_table_fini(&s->tbl);
	vmb_mem_destroy(&s->gm);
}

static struct rte_ring *
rte_setup_init(uint32_t size)
{
	static unsigned int seq;
	const unsigned int flags = RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ;
	unsigned int count = vmb_capacity(size);
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;
	ssize_t sz;

	snprintf(name, sizeof(name), "bench%u", seq++);
	if (eal_ok)
		return rte_ring_create_elem(name, size, count, SOCKET_ID_ANY, flags);
	/* Without EAL: the same ring code on our own memory (what rte_ring_create_elem does). */
	sz = rte_ring_get_memsize_elem(size, rte_align32pow2(count + 1));
	if (sz < 0 || posix_memalign(&run.rte_mem, RTE_CACHE_LINE_SIZE, (size_t)sz))
		return NULL;
	memset(run.rte_mem, 0, (size_t)sz);
	r = run.rte_mem;
	if (rte_ring_init(r, name, count, flags)) {
		free(run.rte_mem);
		run.rte_mem = NULL;
		return NULL;
	}
	return r;
}

static void
rte_setup_fini(void)
{
	if (run.rte_mem)
		free(run.rte_mem);
	else
		rte_ring_free(run.rte);
	run.rte = NULL;
	run.rte_mem = NULL;
}

static bool
aborted(void)
{
	return __atomic_load_n(&run.abort, __ATOMIC_RELAXED) != 0;
}

/* ---- the data path: one batch in, one batch out; @p size is a constant at each use ---- */

/* Write @p batch packets from src[], commit. Spins on a full ring when @p spin. */
static ALWAYS_INLINE bool
vmb_put(struct vmb_ring_writer *w, const uint8_t *src, uint32_t size, uint32_t batch, uint64_t *xid,
	uint64_t *spins, bool spin)
{
	uint32_t i = 0;

	while (i < batch) {
		enum vmb_ring_status st = vmb_pkt_write_inband(w, *xid, 0, src + i * size, size);

		if (st == VMB_RING_OK) {
			++*xid;
			++i;
			continue;
		}
		if (st != VMB_RING_FULL || !spin)
			return false;
		vmb_ring_write_commit(w); /* let the reader have what is reserved */
		if (aborted())
			return false;
		++*spins;
		rte_pause();
	}
	vmb_ring_write_commit(w);
	return true;
}

/* Set while a vmb_ring/lazy benchmark runs: the reader commits with
 * vmb_ring_read_commit_lazy() instead of once per batch. */
static volatile int vmb_lazy;

/* Read, validate, decode and copy out @p batch packets into dst[], commit. */
static ALWAYS_INLINE bool
vmb_get(struct vmb_ring_reader *r, uint8_t *dst, uint32_t size, uint32_t batch, uint64_t *spins,
	bool spin)
{
	uint32_t i = 0;

	while (i < batch) {
		struct vmb_ring_pkt rp;
		struct vmb_pkt p;
		enum vmb_ring_status st = vmb_ring_read(r, &rp);

		if (st == VMB_RING_OK) {
			if (vmb_pkt_decode(&rp, &inband_only, &p, NULL) != VMB_PKT_OK ||
			    p.payload_len < size)
				return false;
			memcpy(dst + i * size, p.payload, size);
			++i;
			continue;
		}
		if (st != VMB_RING_EMPTY || !spin)
			return false;
		vmb_ring_read_commit(r); /* give back the space read so far */
		if (aborted())
			return false;
		++*spins;
		rte_pause();
	}
	/* vmb_ring/lazy: hand space back every eighth of the ring rather than every batch */
	if (vmb_lazy)
		vmb_ring_read_commit_lazy(r, r->m.size / 8);
	else
		vmb_ring_read_commit(r);
	return true;
}

static ALWAYS_INLINE bool
rte_put(struct rte_ring *r, const uint8_t *src, uint32_t size, uint32_t batch, uint64_t *spins,
	bool spin)
{
	uint32_t i = 0;

	for (;;) {
		i += rte_ring_enqueue_burst_elem(r, src + i * size, size, batch - i, NULL);
		if (i == batch)
			return true;
		if (!spin || aborted())
			return false;
		++*spins;
		rte_pause();
	}
}

static ALWAYS_INLINE bool
rte_get(struct rte_ring *r, uint8_t *dst, uint32_t size, uint32_t batch, uint64_t *spins, bool spin)
{
	uint32_t i = 0;

	for (;;) {
		i += rte_ring_dequeue_burst_elem(r, dst + i * size, size, batch - i, NULL);
		if (i == batch)
			return true;
		if (!spin || aborted())
			return false;
		++*spins;
		rte_pause();
	}
}

/* ---- benchmark bodies ---- */

static cpu_set_t saved_cpus;

static bool
pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return false;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

static void
unpin_self(void)
{
	pthread_setaffinity_np(pthread_self(), sizeof(saved_cpus), &saved_cpus);
}

enum impl { IMPL_VMB, IMPL_RTE };

/* Thread 0: set the ring up (before the start barrier of the loop). */
static void
setup(enum impl impl, uint32_t size, uint32_t batch, int threads)
{
	int rc;

	run.ok = false;
	run.abort = 0;
	run.err = NULL;
	if (threads == 2 && cpu_reader < 0) {
		run.err = "two-thread runs need two CPUs";
		return;
	}
	if (batch == 0 || batch > MAX_BATCH || batch > vmb_capacity(size)) {
		run.err = "unsupported batch";
		return;
	}
	if (impl == IMPL_VMB) {
		rc = vmb_setup_init(&run.vmb);
		if (rc) {
			vmb_setup_fini(&run.vmb);
			run.err = "vmb ring setup failed";
			return;
		}
	} else {
		run.rte = rte_setup_init(size);
		if (run.rte == NULL) {
			run.err = "rte_ring setup failed";
			return;
		}
	}
	run.ok = true;
}

static void
teardown(enum impl impl)
{
	if (!run.ok)
		return;
	if (impl == IMPL_VMB)
		vmb_setup_fini(&run.vmb);
	else
		rte_setup_fini();
	run.ok = false;
}

/* Per-thread payload buffers: packets are copied from src into the ring and out into dst. */
static uint8_t src[2][MAX_BATCH * MAX_SIZE] __rte_cache_aligned;
static uint8_t dst[2][MAX_BATCH * MAX_SIZE] __rte_cache_aligned;

static ALWAYS_INLINE void
body(struct vmb_bench_state *st, enum impl impl, uint32_t size)
{
	uint32_t batch = (uint32_t)vmb_bench_range(st, 1);
	int threads = vmb_bench_thread_count(st);
	int tid = vmb_bench_thread_index(st);
	bool writer = tid == 0, reader = threads == 1 || tid == 1, spin = threads > 1;
	uint64_t xid = 0, wspins = 0, rspins = 0, iters;
	const char *err = NULL;
	bool ok;

	if (tid == 0)
		setup(impl, size, batch, threads);
	if (!pin_self(tid == 0 ? cpu_writer : cpu_reader))
		err = "cannot pin to the chosen CPUs";
	memset(src[tid], 0xA5, sizeof(src[tid]));

	/* Each side works on its own copy of its cursor state (in the real thing writer and reader
	 * are different processes): no false sharing between the two threads but the ring's own. */
	struct vmb_ring_writer w;
	struct vmb_ring_reader r;
	struct rte_ring *rr = NULL;
	bool first = true;

	while (vmb_bench_keep_running(st)) {
		if (first) { /* after the start barrier: thread 0's setup is visible */
			first = false;
			if (err == NULL && !run.ok)
				err = run.err;
			w = run.vmb.w;
			r = run.vmb.r;
			rr = run.rte;
		}
		if (err) {
			__atomic_store_n(&run.abort, 1, __ATOMIC_RELAXED);
			vmb_bench_skip_with_error(st, err);
			continue; /* the loop ends now */
		}
		ok = true;
		if (impl == IMPL_VMB) {
			if (writer)
				ok = vmb_put(&w, src[tid], size, batch, &xid, &wspins, spin);
			if (reader && ok)
				ok = vmb_get(&r, dst[tid], size, batch, &rspins, spin);
		} else {
			if (writer)
				ok = rte_put(rr, src[tid], size, batch, &wspins, spin);
			if (reader && ok)
				ok = rte_get(rr, dst[tid], size, batch, &rspins, spin);
		}
		if (!ok)
			err = aborted() ? "peer thread failed" : "ring error";
	}

	iters = vmb_bench_iterations(st);
	if (reader) {
		vmb_bench_set_items_processed(st, (int64_t)(iters * batch));
		vmb_bench_set_bytes_processed(st, (int64_t)(iters * batch * size));
		if (spin && iters)
			vmb_bench_counter(st, "empty_spins", (double)rspins / (double)iters, 0);
	}
	if (writer && spin && iters)
		vmb_bench_counter(st, "full_spins", (double)wspins / (double)iters, 0);
	unpin_self();
	/* The stop barrier of the loop has passed: the other thread no longer uses the ring. */
	if (tid == 0)
		teardown(impl);
}

#define SIZE_DISPATCH(fn, impl)                                                                    \
	static void fn(struct vmb_bench_state *st)                                                 \
	{                                                                                          \
		switch (vmb_bench_range(st, 0)) {                                                  \
		case 64:                                                                           \
			body(st, impl, 64);                                                        \
			break;                                                                     \
		case 1500:                                                                         \
			body(st, impl, 1500);                                                      \
			break;                                                                     \
		default:                                                                           \
			vmb_bench_skip_with_error(st, "unsupported size");                         \
		}                                                                                  \
	}

SIZE_DISPATCH(bm_vmb_ring, IMPL_VMB)

static void
bm_vmb_ring_lazy(struct vmb_bench_state *st)
{
	vmb_lazy = 1;
	bm_vmb_ring(st);
	vmb_lazy = 0;
}
SIZE_DISPATCH(bm_rte_ring, IMPL_RTE)

/* ---- setup of the process ---- */

static void
pick_cpus(const char *spec)
{
	int n = 0, c;

	if (spec) {
		if (sscanf(spec, "%d,%d", &cpu_writer, &cpu_reader) < 1)
			cpu_writer = cpu_reader = -1;
		return;
	}
	for (c = 0; c < CPU_SETSIZE && n < 2; c++) {
		if (!CPU_ISSET(c, &saved_cpus))
			continue;
		if (n++ == 0)
			cpu_writer = c;
		else
			cpu_reader = c;
	}
}

static bool
init_eal(char **extra, int nextra)
{
	char lcore[16], prefix[32];
	/* --no-huge implies legacy memory, which excludes --in-memory: --no-shconf instead. */
	char *argv[32] = {"bench_ring",
			  "-l",
			  lcore,
			  "--no-huge",
			  "-m",
			  "64",
			  "--no-pci",
			  "--no-shconf",
			  "--no-telemetry",
			  "--log-level=error",
			  "--file-prefix",
			  prefix};
	int argc = 12, i, rc;

	snprintf(lcore, sizeof(lcore), "%d", cpu_writer);
	snprintf(prefix, sizeof(prefix), "vmbbench%d", (int)getpid());
	for (i = 0; i < nextra && argc < 31; i++)
		argv[argc++] = extra[i];
	rc = rte_eal_init(argc, argv);
	/* EAL pins the main thread to its lcore: give it all its CPUs back. */
	unpin_self();
	if (rc < 0) {
		fprintf(stderr, "bench_ring: rte_eal_init failed (%s); rte_ring on plain memory\n",
			rte_strerror(rte_errno));
		return false;
	}
	return true;
}

int
main(int argc, char **argv)
{
	static const int sizes[] = {64, 1500}, batches[] = {1, 8, 32};
	char *eal_extra[16];
	const char *cpus = NULL;
	int nextra = 0, gb_argc = 0, rc, i, j;
	char **gb_argv = calloc((size_t)argc + 1, sizeof(*gb_argv));

	if (gb_argv == NULL)
		return 1;
	for (i = 0; i < argc; i++) {
		if (i > 0 && strncmp(argv[i], "--cpus=", 7) == 0)
			cpus = argv[i] + 7;
		else if (i > 0 && strncmp(argv[i], "--eal=", 6) == 0 && nextra < 16)
			eal_extra[nextra++] = argv[i] + 6;
		else
			gb_argv[gb_argc++] = argv[i];
	}
	sched_getaffinity(0, sizeof(saved_cpus), &saved_cpus);
	pick_cpus(cpus);
	if (cpu_writer < 0) {
		fprintf(stderr, "bench_ring: no usable CPU\n");
		return 1;
	}
	eal_ok = init_eal(eal_extra, nextra);

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 3; j++) {
			struct vmb_bench *b;

			b = vmb_bench_register("vmb_ring/inband", bm_vmb_ring);
			vmb_bench_args(b, sizes[i], batches[j]);
			vmb_bench_arg_names(b, "size", "batch");
			vmb_bench_use_real_time(b);
			vmb_bench_threads(b, 1);
			vmb_bench_threads(b, 2);

			b = vmb_bench_register("vmb_ring/lazy", bm_vmb_ring_lazy);
			vmb_bench_args(b, sizes[i], batches[j]);
			vmb_bench_arg_names(b, "size", "batch");
			vmb_bench_use_real_time(b);
			vmb_bench_threads(b, 1);
			vmb_bench_threads(b, 2);

			b = vmb_bench_register("rte_ring/elem", bm_rte_ring);
			vmb_bench_args(b, sizes[i], batches[j]);
			vmb_bench_arg_names(b, "size", "batch");
			vmb_bench_use_real_time(b);
			vmb_bench_threads(b, 1);
			vmb_bench_threads(b, 2);
		}
	}
	rc = vmb_bench_main(gb_argc, gb_argv);
	if (eal_ok) {
		char rundir[PATH_MAX];

		/* EAL leaves its (empty) runtime directory behind: one per process, remove it. */
		snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		rmdir(rundir);
	}
	free(gb_argv);
	return rc;
}
