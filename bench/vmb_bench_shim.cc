// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 vmbchan authors
//
// C API of vmb_bench.h over Google Benchmark. The C-side pointers are Google Benchmark's own
// objects, cast back here.
#include "vmb_bench.h"

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace
{

benchmark::State &
S(struct vmb_bench_state *st)
{
	return *reinterpret_cast<benchmark::State *>(st);
}
const benchmark::State &
S(const struct vmb_bench_state *st)
{
	return *reinterpret_cast<const benchmark::State *>(st);
}
benchmark::internal::Benchmark *
B(struct vmb_bench *b)
{
	return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}
struct vmb_bench *
H(benchmark::internal::Benchmark *b)
{
	return reinterpret_cast<struct vmb_bench *>(b);
}

constexpr bool
same(int ours, int theirs)
{
	return ours == theirs;
}
static_assert(same(VMB_BENCH_CTR_RATE, benchmark::Counter::kIsRate) &&
		  same(VMB_BENCH_CTR_AVG_THREADS, benchmark::Counter::kAvgThreads) &&
		  same(VMB_BENCH_CTR_ITER_INVARIANT, benchmark::Counter::kIsIterationInvariant) &&
		  same(VMB_BENCH_CTR_AVG_ITERS, benchmark::Counter::kAvgIterations),
	      "counter flags match benchmark::Counter::Flags");

} // namespace

extern "C" {

bool
vmb_bench_keep_running(struct vmb_bench_state *st)
{
	return S(st).KeepRunning();
}
bool
vmb_bench_keep_running_batch(struct vmb_bench_state *st, uint64_t n)
{
	return S(st).KeepRunningBatch(static_cast<benchmark::IterationCount>(n));
}
int64_t
vmb_bench_range(const struct vmb_bench_state *st, unsigned int i)
{
	return S(st).range(i);
}
uint64_t
vmb_bench_iterations(const struct vmb_bench_state *st)
{
	return static_cast<uint64_t>(S(st).iterations());
}
int
vmb_bench_thread_index(const struct vmb_bench_state *st)
{
	return S(st).thread_index();
}
int
vmb_bench_thread_count(const struct vmb_bench_state *st)
{
	return S(st).threads();
}
void
vmb_bench_set_items_processed(struct vmb_bench_state *st, int64_t n)
{
	S(st).SetItemsProcessed(n);
}
void
vmb_bench_set_bytes_processed(struct vmb_bench_state *st, int64_t n)
{
	S(st).SetBytesProcessed(n);
}
void
vmb_bench_counter(struct vmb_bench_state *st, const char *name, double value, unsigned int flags)
{
	S(st).counters[name] =
	    benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(flags));
}
void
vmb_bench_set_label(struct vmb_bench_state *st, const char *label)
{
	S(st).SetLabel(label);
}
void
vmb_bench_skip_with_error(struct vmb_bench_state *st, const char *msg)
{
	S(st).SkipWithError(msg);
}
bool
vmb_bench_error_occurred(const struct vmb_bench_state *st)
{
	return S(st).error_occurred();
}
void
vmb_bench_pause_timing(struct vmb_bench_state *st)
{
	S(st).PauseTiming();
}
void
vmb_bench_resume_timing(struct vmb_bench_state *st)
{
	S(st).ResumeTiming();
}
void
vmb_bench_set_iteration_time(struct vmb_bench_state *st, double s)
{
	S(st).SetIterationTime(s);
}

struct vmb_bench *
vmb_bench_register(const char *name, vmb_bench_fn fn)
{
	return H(benchmark::RegisterBenchmark(name, [fn](benchmark::State &s) {
		fn(reinterpret_cast<struct vmb_bench_state *>(&s));
	}));
}
struct vmb_bench *
vmb_bench_args_n(struct vmb_bench *b, const int64_t *args, size_t n)
{
	return H(B(b)->Args(std::vector<int64_t>(args, args + n)));
}
struct vmb_bench *
vmb_bench_arg_names_n(struct vmb_bench *b, const char *const *names, size_t n)
{
	return H(B(b)->ArgNames(std::vector<std::string>(names, names + n)));
}
struct vmb_bench *
vmb_bench_threads(struct vmb_bench *b, int n)
{
	return H(B(b)->Threads(n));
}
struct vmb_bench *
vmb_bench_use_real_time(struct vmb_bench *b)
{
	return H(B(b)->UseRealTime());
}
struct vmb_bench *
vmb_bench_use_manual_time(struct vmb_bench *b)
{
	return H(B(b)->UseManualTime());
}
struct vmb_bench *
vmb_bench_min_time(struct vmb_bench *b, double s)
{
	return H(B(b)->MinTime(s));
}
struct vmb_bench *
vmb_bench_iterations_fixed(struct vmb_bench *b, uint64_t n)
{
	return H(B(b)->Iterations(static_cast<benchmark::IterationCount>(n)));
}

int
vmb_bench_main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}

} // extern "C"
