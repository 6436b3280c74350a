#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 vmbchan authors
"""Compare the vmb ring with DPDK's rte_ring: runs bench_ring and prints packets/s side by side.

Each (size, batch, threads) pair is run as its own short bench_ring process, repetitions times,
the two rings in alternating order. Two-thread results are very sensitive to other processes
on the same CPUs, so before each run the script waits for the machine to be idle, and after it
measures the CPU time used by other processes during the run ("foreign" load, from /proc/stat
minus our own child's rusage); a run with more than --max-foreign is repeated (--retries), and
the least disturbed attempt is kept. The table shows medians over the repetitions.

    /usr/bin/python3 bench/compare.py [--bin build/bench/bench_ring] [--reps 3] [--json out.json]
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

NAME_RE = re.compile(r'^(vmb_ring|rte_ring)/[^/]+/size:(\d+)/batch:(\d+)(?:/[^/]+)*?/threads:(\d+)$')
IMPLS = ('vmb_ring', 'rte_ring')
CLK_TCK = os.sysconf('SC_CLK_TCK')


def cpu_busy_seconds():
    """Busy CPU time of the whole machine (all CPUs), in seconds."""
    with open('/proc/stat') as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / CLK_TCK


def children_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wait_quiet(limit, timeout):
    """Wait until other processes use less than `limit` CPUs over a 0.5 s window."""
    deadline = time.monotonic() + timeout
    while True:
        b0, t0 = cpu_busy_seconds(), time.monotonic()
        time.sleep(0.5)
        load = (cpu_busy_seconds() - b0) / (time.monotonic() - t0)
        if load < limit or time.monotonic() > deadline:
            return load


def run_bench(args, regex):
    """One bench_ring process; returns ({impl: entry}, foreign CPU load during the run)."""
    with tempfile.NamedTemporaryFile(suffix='.json') as out:
        cmd = [args.bin, '--benchmark_filter=' + regex, '--benchmark_out=' + out.name,
               '--benchmark_out_format=json', '--benchmark_min_time=%g' % args.min_time]
        cmd += args.bench_args
        busy0, cpu0, t0 = cpu_busy_seconds(), children_cpu_seconds(), time.monotonic()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - t0
        foreign = ((cpu_busy_seconds() - busy0) - (children_cpu_seconds() - cpu0)) / wall
        if proc.returncode != 0:
            sys.exit('bench_ring failed (%d):\n%s' % (proc.returncode, proc.stderr))
        data = json.load(open(out.name))
    found = {}
    for b in data['benchmarks']:
        m = NAME_RE.match(b.get('run_name', b['name']))
        if not m or b.get('run_type', 'iteration') != 'iteration':
            continue
        if b.get('error_occurred'):
            sys.exit('%s: %s' % (b['name'], b.get('error_message', 'error')))
        found[m.group(1)] = b
    return found, max(foreign, 0.0)


def measure(args, size, batch, threads, rep):
    fams = {'vmb_ring': 'vmb_ring/' + args.vmb_variant, 'rte_ring': 'rte_ring/[^/]+'}
    names = ['^%s/size:%d/batch:%d/.*threads:%d$' % (fams[i], size, batch, threads) for i in IMPLS]
    if rep % 2:
        names.reverse()
    regex = '|'.join(names)
    best = None
    for _ in range(args.retries + 1):
        if args.gate:
            wait_quiet(args.max_foreign, args.quiet_timeout)
        found, foreign = run_bench(args, regex)
        if best is None or foreign < best[1]:
            best = (found, foreign)
        if not args.gate or foreign <= args.max_foreign:
            break
    found, foreign = best
    missing = [i for i in IMPLS if i not in found]
    if missing:
        sys.exit('no result for %s size %d batch %d threads %d' % (missing, size, batch, threads))
    return {i: found[i] for i in IMPLS}, foreign


def default_bin():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, 'build', 'bench', 'bench_ring')


def ints(s):
    return [int(x) for x in s.split(',') if x]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--bin', default=default_bin(), help='bench_ring executable (default: %(default)s)')
    p.add_argument('--reps', type=int, default=3, help='repetitions per pair (median reported)')
    p.add_argument('--min-time', type=float, default=0.5, help='seconds per benchmark run')
    p.add_argument('--sizes', type=ints, default=[64, 1500])
    p.add_argument('--batches', type=ints, default=[1, 8, 32])
    p.add_argument('--threads', type=ints, default=[1, 2])
    p.add_argument('--max-foreign', type=float, default=0.05,
                   help='CPUs other processes may use during a run before it is retried')
    p.add_argument('--retries', type=int, default=4, help='retries of a disturbed run')
    p.add_argument('--quiet-timeout', type=float, default=30, help='longest wait for an idle machine')
    p.add_argument('--no-gate', dest='gate', action='store_false', help='no idle wait, no retries')
    p.add_argument('--json', metavar='OUT', help='also write the results as JSON')
    p.add_argument('--vmb-variant', default='inband', choices=['inband', 'lazy'],
                   help='inband: the reader commits once per batch; lazy: with '
                        'vmb_ring_read_commit_lazy (every eighth of the ring)')
    p.add_argument('bench_args', nargs='*', help='extra bench_ring arguments (after --)')
    args = p.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit('%s: not found; build with ninja -C build or pass --bin' % args.bin)

    rows = []
    hdr = '%5s %5s %7s %9s %9s %7s  %-15s %-15s %7s' % (
        'size', 'batch', 'threads', 'vmb Mpps', 'rte Mpps', 'vmb/rte', 'vmb min..max',
        'rte min..max', 'foreign')
    print(hdr)
    print('-' * len(hdr))
    for size in args.sizes:
        for batch in args.batches:
            for threads in args.threads:
                samples = {i: [] for i in IMPLS}
                spins = {i: {'empty_spins': [], 'full_spins': []} for i in IMPLS}
                foreign = []
                for rep in range(args.reps):
                    res, f = measure(args, size, batch, threads, rep)
                    for i in IMPLS:
                        samples[i].append(res[i]['items_per_second'] / 1e6)
                        for k in spins[i]:
                            spins[i][k].append(res[i].get(k, 0.0))
                    foreign.append(f)
                med = {i: statistics.median(samples[i]) for i in IMPLS}
                ratio = med['vmb_ring'] / med['rte_ring']
                row = {'size': size, 'batch': batch, 'threads': threads,
                       'vmb_mpps': med['vmb_ring'], 'rte_mpps': med['rte_ring'], 'ratio': ratio,
                       'vmb_gbps': med['vmb_ring'] * size * 8 / 1e3,
                       'rte_gbps': med['rte_ring'] * size * 8 / 1e3,
                       'vmb_samples': samples['vmb_ring'], 'rte_samples': samples['rte_ring'],
                       # spins per batch waiting on a full (writer) / empty (reader) ring
                       'vmb_spins': {k: statistics.median(v) for k, v in spins['vmb_ring'].items()},
                       'rte_spins': {k: statistics.median(v) for k, v in spins['rte_ring'].items()},
                       'foreign_cpus': foreign}
                rows.append(row)
                rng = {i: '%.1f..%.1f' % (min(samples[i]), max(samples[i])) for i in IMPLS}
                print('%5d %5d %7d %9.2f %9.2f %7.2f  %-15s %-15s %7.2f' % (
                    size, batch, threads, med['vmb_ring'], med['rte_ring'], ratio,
                    rng['vmb_ring'], rng['rte_ring'], max(foreign)), flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'bin': args.bin, 'reps': args.reps, 'min_time': args.min_time,
                       'rows': rows}, f, indent=2)
            f.write('\n')


if __name__ == '__main__':
    main()
