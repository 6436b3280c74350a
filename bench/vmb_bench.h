/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_BENCH_H
#define VMB_BENCH_H

/**
 * @file
 * A small C API over Google Benchmark, so that benchmarks can be written in C.
 *
 * A benchmark is a function `void fn(struct vmb_bench_state *st)` with the usual loop:
 * @code
 * static void bm_copy(struct vmb_bench_state *st)
 * {
 *         int64_t n = vmb_bench_range(st, 0);
 *         while (vmb_bench_keep_running(st))
 *                 do_work(n);
 *         vmb_bench_set_items_processed(st, (int64_t)vmb_bench_iterations(st) * n);
 * }
 *
 * int main(int argc, char **argv)
 * {
 *         struct vmb_bench *b = vmb_bench_register("copy", bm_copy);
 *         vmb_bench_args(b, 64);
 *         vmb_bench_arg_names(b, "size");
 *         return vmb_bench_main(argc, argv);
 * }
 * @endcode
 *
 * The state and handle pointers are Google Benchmark's own `benchmark::State` and
 * `benchmark::internal::Benchmark` objects, opaque to C. Every call is a real function call
 * into the shim (a few ns): amortize it with vmb_bench_keep_running_batch() or by doing a
 * batch of work per iteration when that matters.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Running state of one benchmark thread (a `benchmark::State`). */
struct vmb_bench_state;
/** A registered benchmark (a `benchmark::internal::Benchmark`). */
struct vmb_bench;

/** Signature of a benchmark function. */
typedef void (*vmb_bench_fn)(struct vmb_bench_state *st);

/** Counter flags (same values as `benchmark::Counter::Flags`); may be or-ed. */
enum vmb_bench_counter_flags {
	VMB_BENCH_CTR_DEFAULT = 0,	       /**< Value reported as is (summed over threads). */
	VMB_BENCH_CTR_RATE = 1 << 0,	       /**< Divided by the elapsed time: per second. */
	VMB_BENCH_CTR_AVG_THREADS = 1 << 1,    /**< Averaged over threads. */
	VMB_BENCH_CTR_ITER_INVARIANT = 1 << 2, /**< Multiplied by the iterations. */
	VMB_BENCH_CTR_AVG_ITERS = 1 << 3,      /**< Divided by the number of iterations. */
};

/* ---- inside a benchmark function ---- */

/**
 * Loop condition: true while another iteration should run. Timing starts at the first call
 * (after a barrier across the benchmark's threads) and stops when it returns false.
 */
bool vmb_bench_keep_running(struct vmb_bench_state *st);

/**
 * Like vmb_bench_keep_running(), counting @p n iterations per call (KeepRunningBatch): the
 * loop body then does @p n iterations' worth of work. May overshoot by up to @p n.
 */
bool vmb_bench_keep_running_batch(struct vmb_bench_state *st, uint64_t n);

/** Argument @p i of the current run (see vmb_bench_args()). */
int64_t vmb_bench_range(const struct vmb_bench_state *st, unsigned int i);

/** Iterations done so far (after the loop: the total of this thread). */
uint64_t vmb_bench_iterations(const struct vmb_bench_state *st);

/** Index of the calling thread in a threaded benchmark, 0 .. vmb_bench_thread_count() - 1. */
int vmb_bench_thread_index(const struct vmb_bench_state *st);

/** Number of threads running this benchmark (see vmb_bench_threads()). */
int vmb_bench_thread_count(const struct vmb_bench_state *st);

/** Report items (e.g. packets) processed by this thread; shown as items_per_second. */
void vmb_bench_set_items_processed(struct vmb_bench_state *st, int64_t items);

/** Report bytes processed by this thread; shown as bytes_per_second. */
void vmb_bench_set_bytes_processed(struct vmb_bench_state *st, int64_t bytes);

/** Set a user counter @p name (summed over threads unless flagged otherwise). */
void vmb_bench_counter(struct vmb_bench_state *st, const char *name, double value,
		       unsigned int flags);

/** Set the label printed next to the result. */
void vmb_bench_set_label(struct vmb_bench_state *st, const char *label);

/**
 * Mark the run failed with @p msg. The loop ends at its next check; with the plain loop the
 * function may also just return after this (it must not enter the loop again).
 */
void vmb_bench_skip_with_error(struct vmb_bench_state *st, const char *msg);

/** True once vmb_bench_skip_with_error() was called by this thread. */
bool vmb_bench_error_occurred(const struct vmb_bench_state *st);

/** Stop the timer of this thread (heavyweight: not per iteration). */
void vmb_bench_pause_timing(struct vmb_bench_state *st);

/** Restart the timer of this thread. */
void vmb_bench_resume_timing(struct vmb_bench_state *st);

/** Report the duration of this iteration (with vmb_bench_use_manual_time()). */
void vmb_bench_set_iteration_time(struct vmb_bench_state *st, double seconds);

/* ---- registration (before vmb_bench_main) ---- */

/**
 * Register benchmark @p name running @p fn. The name is copied.
 * @return the handle for the setters below (which return it again, for chaining).
 */
struct vmb_bench *vmb_bench_register(const char *name, vmb_bench_fn fn);

/** Add one run with arguments @p args[0 .. n) (Args()); see vmb_bench_args(). */
struct vmb_bench *vmb_bench_args_n(struct vmb_bench *b, const int64_t *args, size_t n);

/** Name the arguments, shown as `name:value` in the run name (ArgNames()). */
struct vmb_bench *vmb_bench_arg_names_n(struct vmb_bench *b, const char *const *names, size_t n);

/** Add one run with the listed integer arguments: `vmb_bench_args(b, 64, 32)` (C only). */
#define vmb_bench_args(b, ...)                                                                     \
	vmb_bench_args_n((b), (const int64_t[]){__VA_ARGS__},                                      \
			 sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/** Name the arguments: `vmb_bench_arg_names(b, "size", "batch")` (C only). */
#define vmb_bench_arg_names(b, ...)                                                                \
	vmb_bench_arg_names_n((b), (const char *const[]){__VA_ARGS__},                             \
			      sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/** Run the benchmark with @p n threads (Threads()); may be called several times. */
struct vmb_bench *vmb_bench_threads(struct vmb_bench *b, int n);

/** Measure wall-clock time instead of CPU time; rates then are per wall second (UseRealTime()). */
struct vmb_bench *vmb_bench_use_real_time(struct vmb_bench *b);

/** Use the times given by vmb_bench_set_iteration_time() (UseManualTime()). */
struct vmb_bench *vmb_bench_use_manual_time(struct vmb_bench *b);

/** Run for at least @p seconds (MinTime()). */
struct vmb_bench *vmb_bench_min_time(struct vmb_bench *b, double seconds);

/** Run exactly @p n iterations (Iterations()); exclusive with vmb_bench_min_time(). */
struct vmb_bench *vmb_bench_iterations_fixed(struct vmb_bench *b, uint64_t n);

/* ---- running ---- */

/**
 * Parse Google Benchmark's flags from @p argv (`--benchmark_filter`, `--benchmark_format=json`,
 * `--benchmark_out=...`, `--benchmark_repetitions`, ...), run the selected benchmarks and shut
 * the library down.
 * @return 0, or 1 when an argument was not recognized.
 */
int vmb_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* VMB_BENCH_H */
