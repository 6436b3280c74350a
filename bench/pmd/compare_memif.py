#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 vmbchan authors
"""net_vmb against DPDK's memif (copy mode) with Debian's stock dpdk-testpmd, in the same run.

Scenarios (both ends of one link, the same testpmd options for both drivers):
  inproc   one testpmd, both ends of the link as two ports, one forwarding lcore in io mode;
           traffic is seeded with `start tx_first N`; figure: Rx pps per port (mean of the two
           ports' Rx-pps over the measuring interval). memif: net_memif0 role=server and
           net_memif1 role=client on one socket; net_vmb: net_vmb0 role=host and net_vmb1
           role=guest of one in-process pair.
  twoproc  two testpmd processes, one forwarding lcore each on its own core: A (server/host,
           started first) in txonly mode, B (client/guest) in rxonly mode; figure: B's Rx pps.

Each (scenario, frame size) is run --reps times per driver in ABBA order (memif, vmb, vmb,
memif, ...), so that drift and machine noise hit both drivers alike; the table shows medians,
min..max, and the ratio vmb/memif of the medians against the target (inproc: 1.2x at 64 B,
1.5x at 1518 B; twoproc: 1.2x). The machine's load average and the CPU time other processes
used during each measurement ("foreign" CPUs) are reported; a run disturbed by more than
--max-foreign CPUs is retried (--retries) and the least disturbed attempt kept.

Exit status: 0 when every run produced numbers (a missed target is not an error), 1 when a run
failed (for example net_vmb's plugin missing or failing to load), 2 on bad usage.

    /usr/bin/python3 bench/pmd/compare_memif.py [--build build-drv] [--seconds 5] [--reps 3]
        [--sizes 64,1518] [--only inproc|twoproc] [--json out.json] [--plot out.svg]
"""
import argparse
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN_REL = os.path.join('drivers', 'net', 'vmb', 'librte_net_vmb.so')
DEFAULT_BUILDS = ('build-drv', 'build')
DRIVERS = ('memif', 'vmb')
SCENARIOS = ('inproc', 'twoproc')
CLK_TCK = os.sysconf('SC_CLK_TCK')
PROMPT = 'testpmd> '
RUNTIME_DIR = '/var/run/dpdk'


def target_for(scenario, size):
    """Required ratio vmb/memif (the issue's targets)."""
    if scenario == 'inproc':
        return 1.5 if size >= 1024 else 1.2
    return 1.2


class RunError(Exception):
    """A run that produced no numbers; `load_failure` marks a driver that cannot work at all."""

    def __init__(self, msg, load_failure=False):
        super().__init__(msg)
        self.load_failure = load_failure


# ----------------------------------------------------------------------------- machine state

def loadavg():
    with open('/proc/loadavg') as f:
        return [float(x) for x in f.read().split()[:3]]


def cpu_busy_seconds():
    """Busy CPU time of the whole machine (all CPUs), in seconds."""
    with open('/proc/stat') as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / CLK_TCK


def proc_cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds; 0 once it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def wait_quiet(limit, timeout):
    """Wait until other processes use less than `limit` CPUs over a 0.5 s window."""
    deadline = time.monotonic() + timeout
    while True:
        b0, t0 = cpu_busy_seconds(), time.monotonic()
        time.sleep(0.5)
        load = (cpu_busy_seconds() - b0) / (time.monotonic() - t0)
        if load < limit or time.monotonic() > deadline:
            return load


class ForeignMeter:
    """CPU time used by processes other than `pids` between start() and stop(), in CPUs."""

    def __init__(self, pids):
        self.pids = pids

    def _sample(self):
        return cpu_busy_seconds(), sum(proc_cpu_seconds(p) for p in self.pids), time.monotonic()

    def start(self):
        self.s0 = self._sample()

    def stop(self):
        b1, o1, t1 = self._sample()
        b0, o0, t0 = self.s0
        return max(((b1 - b0) - (o1 - o0)) / max(t1 - t0, 1e-6), 0.0)


# ----------------------------------------------------------------------------- testpmd driver

STATS_RE = re.compile(r'NIC statistics for port (\d+)\s*#+\s*\n(.*?)#{20,}', re.S)
FWD_RE = re.compile(r'Forward statistics for port (\d+)\s*-+\s*\n\s*RX-packets:\s*(\d+)\s+'
                    r'RX-dropped:\s*(\d+)\s+RX-total:\s*(\d+)\s*\n\s*TX-packets:\s*(\d+)\s+'
                    r'TX-dropped:\s*(\d+)')
SUMMARY_HDR_RE = re.compile(r'Number of available ports:\s*(\d+)')
SUMMARY_ROW_RE = re.compile(r'^(\d+)\s+([0-9A-Fa-f:]{17})\s+(\S+)\s+(\S+)\s+(up|down)\b', re.M)
ERR_LINE_RE = re.compile(r'error|fail|cannot|refus|insecure|invalid|not found|no such|'
                         r'unknown|cause:|warning: no probed', re.I)


def stats_fields(text):
    def num(key):
        m = re.search(r'\b' + re.escape(key) + r':\s*(\d+)', text)
        return int(m.group(1)) if m else None
    return {k: num(k) for k in ('RX-packets', 'RX-missed', 'RX-bytes', 'RX-errors', 'RX-nombuf',
                                'TX-packets', 'TX-errors', 'TX-bytes', 'Rx-pps', 'Tx-pps')}


class Testpmd:
    """One interactive dpdk-testpmd fed through a pipe (stdout line-buffered with stdbuf, else
    testpmd's printf output sits in a 4 KiB stdio buffer behind the prompts)."""

    def __init__(self, label, argv, log_dir=None, verbose=False):
        self.label = label
        self.argv = argv
        self.verbose = verbose
        self.buf = ''
        self.eof = False
        self.cond = threading.Condition()
        self.log = open(os.path.join(log_dir, label + '.log'), 'w') if log_dir else None
        if self.log:
            self.log.write('$ ' + shlex.join(argv) + '\n')
        if verbose:
            print('  [%s] $ %s' % (label, shlex.join(argv)), flush=True)
        try:
            self.proc = subprocess.Popen(['stdbuf', '-oL', '-eL'] + argv, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        except OSError as e:
            raise RunError('%s: cannot start %s: %s' % (label, argv[0], e), load_failure=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @property
    def pid(self):
        return self.proc.pid

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b''
            with self.cond:
                if not data:
                    self.eof = True
                    self.cond.notify_all()
                    break
                text = data.decode('utf-8', 'replace')
                self.buf += text
                if self.log:
                    self.log.write(text)
                self.cond.notify_all()

    def tail(self, n=25):
        lines = [l for l in self.buf.splitlines() if l.strip()]
        return '\n'.join('    | ' + l for l in lines[-n:])

    def error_lines(self, n=6):
        """The lines that explain a failure (EAL/driver errors), without testpmd's usage text."""
        text = self.buf.split('Usage:', 1)[0]
        lines = [l.strip() for l in text.splitlines() if ERR_LINE_RE.search(l)]
        seen, out = set(), []
        for l in lines:
            if l not in seen:
                seen.add(l)
                out.append(l)
        return out[-n:]

    def failure(self, what, load_failure=False):
        rc = self.proc.poll()
        state = 'exited with status %s' % rc if rc is not None else 'still running'
        errs = self.error_lines()
        msg = '%s: %s (testpmd %s)' % (self.label, what, state)
        if errs:
            msg += ': ' + ' / '.join(errs)
        return RunError(msg + '\n  last output:\n' + self.tail(), load_failure=load_failure)

    def wait_for(self, pattern, start=0, timeout=10.0, what=None, flags=0, count=1):
        """Wait until `pattern` matched `count` times in the output after `start`."""
        rx = re.compile(pattern, flags)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = list(rx.finditer(self.buf, start))
                if len(found) >= count:
                    return found
                if self.eof:
                    raise self.failure('ended before %s' % (what or repr(pattern)),
                                       load_failure=True)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self.failure('timeout (%gs) waiting for %s' % (timeout, what or
                                                                         repr(pattern)))
                self.cond.wait(min(left, 0.2))

    def send(self, line):
        with self.cond:
            pos = len(self.buf)
        if self.verbose:
            print('  [%s] testpmd> %s' % (self.label, line), flush=True)
        try:
            self.proc.stdin.write((line + '\n').encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self.failure('could not send %r' % line, load_failure=True)
        return pos

    def command(self, line, timeout=10.0):
        """Send a command and wait for the next prompt; returns the output after the command."""
        pos = self.send(line)
        # the echo of the command comes first (cmdline echoes what it reads), then its output
        # and a new prompt
        m = self.wait_for(re.escape(line) + r'.*?' + re.escape(PROMPT), pos, timeout,
                          what='the prompt after %r' % line, flags=re.S)[0]
        return self.buf[pos:m.end()]

    def wait_prompt(self, timeout):
        self.wait_for(re.escape(PROMPT), 0, timeout, what='the testpmd> prompt')

    def ports(self):
        out = self.command('show port summary all')
        m = SUMMARY_HDR_RE.search(out)
        if not m:
            raise self.failure('no port summary')
        rows = SUMMARY_ROW_RE.findall(out)
        return int(m.group(1)), [{'port': int(r[0]), 'name': r[2], 'driver': r[3],
                                  'link': r[4]} for r in rows]

    def wait_links(self, nports, timeout):
        deadline = time.monotonic() + timeout
        while True:
            n, rows = self.ports()
            if n != nports or len(rows) != nports:
                if n == 0 or n < nports:
                    raise self.failure('%d port(s) probed, %d expected' % (n, nports),
                                       load_failure=True)
                raise self.failure('%d ports listed, %d expected' % (n, nports))
            if all(r['link'] == 'up' for r in rows):
                return rows
            if time.monotonic() > deadline:
                raise self.failure('link still down after %gs: %s' % (timeout, ', '.join(
                    '%s %s' % (r['name'], r['link']) for r in rows)))
            time.sleep(0.2)

    def stats(self, nports):
        pos = self.send('show port stats all')
        found = self.wait_for(STATS_RE.pattern, pos, 10, what='port statistics', flags=re.S,
                              count=nports)
        return {int(m.group(1)): stats_fields(m.group(2)) for m in found}

    def stop_fwd(self):
        out = self.command('stop', timeout=15)
        return {int(m.group(1)): {'rx': int(m.group(2)), 'rx_dropped': int(m.group(3)),
                                  'tx': int(m.group(5)), 'tx_dropped': int(m.group(6))}
                for m in FWD_RE.finditer(out)}

    def close(self, timeout=15):
        """quit, then SIGTERM/SIGKILL (to this testpmd's own process group) if it hangs."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'quit\n')
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        for sig, wait in ((None, timeout), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if sig is not None and self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.reader.join(2)
        if self.log:
            self.log.close()
            self.log = None
        return self.proc.returncode


# ----------------------------------------------------------------------------- runs

class Bench:
    def __init__(self, args, plugin):
        self.args = args
        self.plugin = plugin
        self.counter = 0
        self.tmpdir = tempfile.mkdtemp(prefix='vmb-pmd-bench.')
        self.prefixes = []
        self.cmdlog = []   # every command line run, for the report

    def cleanup(self):
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        for p in self.prefixes:
            d = os.path.join(RUNTIME_DIR, p)
            if os.path.isdir(d):
                shutil.rmtree(d, ignore_errors=True)

    def unique(self):
        self.counter += 1
        return 'vmbpmd%d_%d' % (os.getpid(), self.counter)

    def eal(self, main_lcore, driver):
        a = self.args
        prefix = self.unique()
        self.prefixes.append(prefix)
        argv = [a.testpmd, '-l', a.cores, '--main-lcore', str(main_lcore), '--no-huge',
                '-m', str(a.mem), '--no-pci', '--file-prefix', prefix]
        if driver == 'vmb':
            argv += ['-d', self.plugin]
        return argv + shlex.split(a.eal_extra)

    def app(self, mode, size):
        a = self.args
        return ['--', '-i', '--nb-cores=1', '--forward-mode=' + mode, '--txpkts=%d' % size,
                '--burst=%d' % a.burst, '--total-num-mbufs=%d' % a.mbufs] + \
            shlex.split(a.testpmd_extra)

    def vdevs_inproc(self, driver, tag):
        a = self.args
        if driver == 'memif':
            sock = '/vmbpmd/%s.sock' % tag   # abstract socket (socket-abstract=yes default)
            return ['--vdev', 'net_memif0,role=server,socket=%s,id=0%s' % (sock, a.memif_extra),
                    '--vdev', 'net_memif1,role=client,socket=%s,id=0%s' % (sock, a.memif_extra)]
        return ['--vdev', 'net_vmb0,role=host,pair=%s%s' % (tag, a.vmb_extra),
                '--vdev', 'net_vmb1,role=guest,pair=%s%s' % (tag, a.vmb_extra)]

    def vdevs_twoproc(self, driver, tag):
        a = self.args
        if driver == 'memif':
            sock = '/vmbpmd/%s.sock' % tag
            return (['--vdev', 'net_memif0,role=server,socket=%s,id=0%s' % (sock, a.memif_extra)],
                    ['--vdev', 'net_memif0,role=client,socket=%s,id=0%s' % (sock, a.memif_extra)])
        sock = os.path.join(self.tmpdir, tag + '.sock')
        return (['--vdev', 'net_vmb0,role=host,socket=%s%s' % (sock, a.vmb_extra)],
                ['--vdev', 'net_vmb0,role=guest,socket=%s%s' % (sock, a.vmb_extra)])

    def start(self, label, argv):
        self.cmdlog.append((label, argv))
        return Testpmd(label, argv, self.args.log_dir, self.args.verbose)

    def inproc(self, driver, size):
        a = self.args
        tag = self.unique()
        cores = [int(c) for c in a.cores.split(',')]
        argv = self.eal(cores[0], driver) + self.vdevs_inproc(driver, tag) + self.app('io', size)
        if a.dry_run:
            self.print_dry('inproc', driver, size, [('testpmd', argv, [
                'show port summary all   (repeated until both links are up)',
                'start tx_first %d' % a.tx_first, '(sleep %gs warm-up)' % a.warmup,
                'show port stats all', '(sleep %gs)' % a.seconds,
                'show port stats all     -> Rx-pps of each port', 'stop', 'quit'])])
            return None
        t = self.start('inproc-%s-%d-%s' % (driver, size, tag), argv)
        try:
            t.wait_prompt(a.start_timeout)
            ports = t.wait_links(2, a.link_timeout)
            t.command('start tx_first %d' % a.tx_first, timeout=15)
            time.sleep(a.warmup)
            meter = ForeignMeter([t.pid])
            meter.start()
            s0 = t.stats(2)
            t0 = time.monotonic()
            time.sleep(a.seconds)
            s1 = t.stats(2)
            wall = time.monotonic() - t0
            foreign = meter.stop()
            fwd = t.stop_fwd()
        finally:
            rc = t.close()
        pps = [s1[p]['Rx-pps'] for p in (0, 1)]
        if any(v is None for v in pps):
            raise RunError('%s: no Rx-pps in the statistics\n%s' % (t.label, t.tail()))
        delta = [s1[p]['RX-packets'] - s0[p]['RX-packets'] for p in (0, 1)]
        mpps = statistics.mean(pps) / 1e6
        if mpps <= 0:
            raise RunError('%s: no traffic (Rx-pps 0 on both ports; tx_first packets lost?)\n%s'
                           % (t.label, t.tail()))
        return {'mpps': mpps, 'port_rx_pps': pps, 'port_rx_delta': delta,
                'mpps_wall': statistics.mean(delta) / wall / 1e6, 'interval_s': wall,
                'fwd_stats': fwd, 'ports': ports, 'foreign_cpus': foreign, 'rc': rc}

    def twoproc(self, driver, size):
        """A = server/host (started first), B = client/guest; --tx-side says which one runs
        txonly; the other one runs rxonly and its Rx pps is the figure."""
        a = self.args
        tag = self.unique()
        cores = [int(c) for c in a.cores.split(',')]
        va, vb = self.vdevs_twoproc(driver, tag)
        tx_a = a.tx_side == 'host'
        mode_a, mode_b = ('txonly', 'rxonly') if tx_a else ('rxonly', 'txonly')
        # A forwards on cores[0] (its main lcore on cores[1]), B the other way round
        argv_a = self.eal(cores[1], driver) + va + self.app(mode_a, size)
        argv_b = self.eal(cores[0], driver) + vb + self.app(mode_b, size)
        if a.dry_run:
            ends = ('server', 'client') if driver == 'memif' else ('host', 'guest')
            rx_cmds = ['show port summary all   (until the link is up)',
                       'start                   (first)', '(sleep %gs warm-up)' % a.warmup,
                       'show port stats all', '(sleep %gs)' % a.seconds,
                       'show port stats all     -> Rx-pps of port 0 = the figure', 'stop',
                       'quit']
            tx_cmds = ['show port summary all   (until the link is up)',
                       'start                   (after the rx side)',
                       '(sleep %gs warm-up)' % a.warmup, 'show port stats all',
                       '(sleep %gs)' % a.seconds, 'show port stats all', 'stop', 'quit']
            self.print_dry('twoproc', driver, size, [
                ('A (%s, %s, started first; B is started once A shows its prompt)'
                 % (mode_a, ends[0]), argv_a, tx_cmds if tx_a else rx_cmds),
                ('B (%s, %s)' % (mode_b, ends[1]), argv_b, rx_cmds if tx_a else tx_cmds)])
            return None
        ta = self.start('twoproc-%s-%d-%s-A' % (driver, size, tag), argv_a)
        tb = None
        try:
            ta.wait_prompt(a.start_timeout)
            tb = self.start('twoproc-%s-%d-%s-B' % (driver, size, tag), argv_b)
            tb.wait_prompt(a.start_timeout)
            ports = {}
            for t, side in ((tb, 'B'), (ta, 'A')):
                ports[side] = t.wait_links(1, a.link_timeout)
            trx, ttx = (tb, ta) if tx_a else (ta, tb)
            trx.command('start', timeout=15)
            ttx.command('start', timeout=15)
            time.sleep(a.warmup)
            meter = ForeignMeter([ta.pid, tb.pid])
            meter.start()
            srx0 = trx.stats(1)
            stx0 = ttx.stats(1)
            t0 = time.monotonic()
            time.sleep(a.seconds)
            srx1 = trx.stats(1)
            stx1 = ttx.stats(1)
            wall = time.monotonic() - t0
            foreign = meter.stop()
            fwd_tx = ttx.stop_fwd()
            fwd_rx = trx.stop_fwd()
        finally:
            rc_b = tb.close() if tb else None   # guest/client first, then host/server
            rc_a = ta.close()
        rx = srx1[0]['Rx-pps']
        if rx is None:
            raise RunError('%s: no Rx-pps in the statistics\n%s' % (trx.label, trx.tail()))
        if rx <= 0:
            raise RunError('%s: no traffic received (Rx-pps 0)\n%s\n  tx side:\n%s'
                           % (trx.label, trx.tail(), ttx.tail()))
        delta = srx1[0]['RX-packets'] - srx0[0]['RX-packets']
        return {'mpps': rx / 1e6, 'rx_pps': rx, 'tx_pps': stx1[0]['Tx-pps'],
                'rx_delta': delta, 'tx_delta': stx1[0]['TX-packets'] - stx0[0]['TX-packets'],
                'mpps_wall': delta / wall / 1e6, 'interval_s': wall,
                'tx_side': 'A' if tx_a else 'B',
                'fwd_stats': {'tx': fwd_tx, 'rx': fwd_rx}, 'ports': ports,
                'foreign_cpus': foreign, 'rc': [rc_a, rc_b]}

    def print_dry(self, scenario, driver, size, procs):
        print('# %s %s %d B' % (scenario, driver, size))
        for label, argv, cmds in procs:
            print('%s:\n  %s' % (label, shlex.join(argv)))
            for c in cmds:
                print('    testpmd> %s' % c if not c.startswith('(') else '    %s' % c)
        print()

    def measure(self, scenario, driver, size):
        """One measurement with the idle gate and retries; returns the least disturbed run."""
        a = self.args
        fn = self.inproc if scenario == 'inproc' else self.twoproc
        best = None
        for attempt in range(a.retries + 1):
            quiet = wait_quiet(a.max_foreign, a.quiet_timeout) if a.gate else None
            la = loadavg()
            res = fn(driver, size)
            res.update({'loadavg': la, 'idle_gate_load': quiet, 'attempt': attempt})
            if best is None or res['foreign_cpus'] < best['foreign_cpus']:
                best = res
            if not a.gate or res['foreign_cpus'] <= a.max_foreign:
                break
        return best


# ----------------------------------------------------------------------------- output

def fmt_range(v, fmt='%.2f'):
    return (fmt + '..' + fmt) % (min(v), max(v)) if v else '-'


def verdict(r):
    if r.get('ratio') is None:
        return '-'
    return 'TARGET MET' if r['met'] else 'TARGET NOT MET'


def summarize(rows, args):
    head = ['scenario', 'size', 'memif Mpps', 'min..max', 'net_vmb Mpps', 'min..max',
            'vmb/memif', 'pairs min..max', 'target', 'verdict', 'disturbed']
    table = []
    for r in rows:
        line = [r['scenario'], '%d B' % r['size']]
        for d in DRIVERS:
            if r.get(d):
                line += ['%.2f' % r[d]['median'], fmt_range(r[d]['samples'])]
            else:
                line += ['not run' if d not in args.drivers else 'FAILED', '']
        if r.get('ratio') is not None:
            line += ['%.2fx' % r['ratio'], fmt_range(r['pair_ratios'], '%.2f')]
        else:
            line += ['-', '-']
        line += ['%.1fx' % r['target'], verdict(r), '%d/%d' % (r['disturbed'], r['runs'])]
        table.append(line)
    widths = [max(len(x) for x in col) for col in zip(head, *table)]
    right = {1, 2, 4, 6, 8}

    def fmt(cells):
        return '  '.join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    print()
    print(fmt(head))
    print('-' * len(fmt(head)))
    for line in table:
        print(fmt(line))
    for r in rows:
        for d in DRIVERS:
            if r.get(d + '_error'):
                print('%s %d B: %s' % (r['scenario'], r['size'], r[d + '_error'].splitlines()[0]))
    gb = []
    for r in rows:
        parts = ['%s %.1f' % (d, r[d]['median'] * r['size'] * 8 / 1e3) for d in DRIVERS
                 if r.get(d)]
        if parts:
            gb.append('%s %d B: %s' % (r['scenario'], r['size'], ', '.join(parts)))
    if gb:
        print('\nGbit/s of frames (medians, frame bytes as testpmd counts them, no CRC/IFG): '
              + '; '.join(gb))
    if any(r['disturbed'] for r in rows):
        print('\nWARNING: %d run(s) had other processes using more than %.2f CPUs even after '
              'retries ("disturbed"); their figures are low; rerun on a quieter machine'
              % (sum(r['disturbed'] for r in rows), args.max_foreign))


def ascii_chart(rows):
    vals = [r[d]['median'] for r in rows for d in DRIVERS if r.get(d)]
    if not vals:
        return
    top = max(vals)
    print('\nmedian Mpps (# memif, = net_vmb):')
    for r in rows:
        for d, ch in (('memif', '#'), ('vmb', '=')):
            if r.get(d):
                n = int(round(r[d]['median'] / top * 50))
                print('  %-7s %5d %-5s |%-50s| %6.2f' % (r['scenario'], r['size'], d, ch * n,
                                                        r[d]['median']))


def nice_step(top, ticks=6):
    """A round axis step (1, 2, 2.5 or 5 times a power of ten) for about `ticks` ticks."""
    raw = max(top, 1e-9) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5):
        if raw <= mag * mult:
            return mag * mult
    return mag * 10


def svg_escape(s):
    return s.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


COLORS = {'memif': '#8c8c8c', 'vmb': '#1f77b4', 'ratio': '#4c9a4c', 'miss': '#c0392b'}
LABELS = {'memif': 'memif (copy mode)', 'vmb': 'net_vmb'}


def write_svg(path, rows, title):
    """Two panels: median Mpps per driver (whiskers min..max), and the ratio vmb/memif (whiskers:
    the ratios of the ABBA pairs) against the target (dashed)."""
    W, L, R = 900, 70, 20
    P1, P2 = (70, 300), (370, 540)   # top and bottom of each panel's plot area
    H = 600
    groups = [r for r in rows if r.get('memif') or r.get('vmb')]
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15" text-anchor="middle">%s</text>' % (
               W / 2, svg_escape(title[0])),
           '<text x="%d" y="40" font-size="11" fill="#555" text-anchor="middle">%s</text>' % (
               W / 2, svg_escape(title[1]))]
    gw = (W - L - R) / max(len(groups), 1)

    def axis(top_px, bot_px, vmax, label):
        step = nice_step(vmax)
        ymax = step * (int(vmax / step) + 1)
        y = lambda v: bot_px - v / ymax * (bot_px - top_px)
        v = 0.0
        while v <= ymax + 1e-9:
            out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e0e0e0"/>' % (
                L, W - R, y(v), y(v)))
            out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="11">%g</text>' % (
                L - 6, y(v) + 4, round(v, 6)))
            v += step
        mid = (top_px + bot_px) / 2
        out.append('<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle" '
                   'font-size="11">%s</text>' % (mid, mid, svg_escape(label)))
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#333"/>' % (
            L, W - R, bot_px, bot_px))
        return y

    def whisker(xm, y, lo, hi):
        out.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="black"/>' % (
            xm, xm, y(lo), y(hi)))
        for v in (lo, hi):
            out.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="black"/>' % (
                xm - 5, xm + 5, y(v), y(v)))

    # panel 1: Mpps
    top = max([max(r[d]['samples']) for r in groups for d in DRIVERS if r.get(d)] or [1.0])
    y = axis(P1[0], P1[1], top, 'Mpps (median, min..max)')
    bw = min(gw * 0.32, 70)
    for i, r in enumerate(groups):
        cx = L + gw * (i + 0.5)
        for j, d in enumerate(DRIVERS):
            x = cx - bw - 3 if j == 0 else cx + 3
            if not r.get(d):
                out.append('<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">n/a</text>'
                           % (x + bw / 2, y(0) - 6, COLORS['miss']))
                continue
            med, lo, hi = r[d]['median'], min(r[d]['samples']), max(r[d]['samples'])
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (
                x, y(med), bw, y(0) - y(med), COLORS[d]))
            whisker(x + bw / 2, y, lo, hi)
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%.2f</text>'
                       % (x + bw / 2, y(hi) - 5, med))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s %d B</text>' % (
            cx, P1[1] + 17, r['scenario'], r['size']))
    # legend
    for j, d in enumerate(DRIVERS):
        lx = W - R - 300 + j * 160
        out.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (
            lx, P1[0] - 16, COLORS[d]))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 17, P1[0] - 6, LABELS[d]))

    # panel 2: ratio against target
    rat = [r for r in groups if r.get('ratio') is not None]
    if not rat:
        out.append('<text x="%d" y="%d" text-anchor="middle" fill="%s">no vmb/memif ratio '
                   '(net_vmb produced no numbers)</text>' % (W / 2, (P2[0] + P2[1]) / 2,
                                                              COLORS['miss']))
    else:
        top = max([max(r['pair_ratios'] + [r['ratio'], r['target']]) for r in rat])
        y = axis(P2[0], P2[1], top, 'net_vmb / memif')
        bw = min(gw * 0.4, 90)
        for i, r in enumerate(groups):
            cx = L + gw * (i + 0.5)
            if r.get('ratio') is None:
                continue
            col = COLORS['ratio'] if r['met'] else COLORS['miss']
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" '
                       'fill-opacity="0.75"/>' % (cx - bw / 2, y(r['ratio']), bw,
                                                  y(0) - y(r['ratio']), col))
            whisker(cx, y, min(r['pair_ratios']), max(r['pair_ratios']))
            out.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="black" '
                       'stroke-dasharray="5,3" stroke-width="1.5"/>' % (
                           cx - gw * 0.4, cx + gw * 0.4, y(r['target']), y(r['target'])))
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%.2fx</text>'
                       % (cx, y(max(r['pair_ratios'] + [r['target']])) - 5, r['ratio']))
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%s %d B</text>' % (
                cx, P2[1] + 17, r['scenario'], r['size']))
            out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="%s">target %.1fx: %s'
                       '</text>' % (cx, P2[1] + 34, col, r['target'],
                                    'MET' if r['met'] else 'NOT MET'))
        out.append('<text x="%d" y="%d" font-size="11" fill="#555">dashed: target; whiskers: '
                   'ratios of the ABBA pairs</text>' % (L, P2[0] - 8))
    out.append('</svg>')
    with open(path, 'w') as f:
        f.write('\n'.join(out) + '\n')


def plot_matplotlib(path, rows, title, plt):
    groups = [r for r in rows if r.get('memif') or r.get('vmb')]
    rat = [r for r in groups if r.get('ratio') is not None]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 7.5),
                                  gridspec_kw={'height_ratios': [3, 2]})
    xs = list(range(len(groups)))
    width = 0.38
    for j, d in enumerate(DRIVERS):
        pos, meds, lo, hi = [], [], [], []
        for i, r in enumerate(groups):
            if r.get(d):
                pos.append(i + (j - 0.5) * width)
                meds.append(r[d]['median'])
                lo.append(r[d]['median'] - min(r[d]['samples']))
                hi.append(max(r[d]['samples']) - r[d]['median'])
        if pos:
            bars = ax.bar(pos, meds, width, yerr=[lo, hi], capsize=4, color=COLORS[d],
                          label=LABELS[d])
            ax.bar_label(bars, labels=['%.2f' % m for m in meds], padding=3, fontsize=8)
    ax.set_xticks(xs)
    ax.set_xticklabels(['%s %d B' % (r['scenario'], r['size']) for r in groups])
    ax.set_ylabel('Mpps (median, min..max)')
    ax.set_title(title[0] + '\n' + title[1], fontsize=10)
    ax.legend()
    ax.grid(axis='y', alpha=0.3)
    if rat:
        for i, r in enumerate(groups):
            if r.get('ratio') is None:
                continue
            col = COLORS['ratio'] if r['met'] else COLORS['miss']
            ax2.bar([i], [r['ratio']], 0.5, alpha=0.75, color=col,
                    yerr=[[r['ratio'] - min(r['pair_ratios'])],
                          [max(r['pair_ratios']) - r['ratio']]], capsize=4)
            ax2.hlines(r['target'], i - 0.4, i + 0.4, colors='black', linestyles='dashed')
            ax2.annotate('%.2fx (target %.1fx %s)' % (r['ratio'], r['target'],
                                                      'MET' if r['met'] else 'NOT MET'),
                         (i, max(r['pair_ratios'] + [r['target']])), textcoords='offset points',
                         xytext=(0, 4), ha='center', fontsize=8, color=col)
        ax2.set_ylim(0, max(max(r['pair_ratios'] + [r['target']]) for r in rat) * 1.25)
    else:
        ax2.text(0.5, 0.5, 'no vmb/memif ratio (net_vmb produced no numbers)',
                 transform=ax2.transAxes, ha='center', color=COLORS['miss'])
    ax2.set_xticks(xs)
    ax2.set_xticklabels(['%s %d B' % (r['scenario'], r['size']) for r in groups])
    ax2.set_xlim(ax.get_xlim())
    ax2.set_ylabel('net_vmb / memif')
    ax2.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot(path, rows, title):
    """matplotlib when installed (python3-matplotlib), else an SVG written by hand."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        svg = path if path.lower().endswith('.svg') else os.path.splitext(path)[0] + '.svg'
        print('plot: matplotlib is not installed (Debian package python3-matplotlib); '
              'writing a plain SVG chart to %s instead' % svg)
        write_svg(svg, rows, title)
        return svg
    plot_matplotlib(path, rows, title, plt)
    return path


# ----------------------------------------------------------------------------- main

def world_writable_parent(path):
    """The first of path and its parents that is world-writable (EAL refuses such plugins)."""
    p = os.path.abspath(path)
    while True:
        try:
            if os.stat(p).st_mode & 0o002:
                return p
        except OSError:
            return None
        parent = os.path.dirname(p)
        if parent == p:
            return None
        p = parent


def find_plugin(build):
    """(path, None) or (None, reason)."""
    if build:
        cands = [os.path.join(os.path.abspath(build), PLUGIN_REL)]
    else:
        cands = [os.path.join(REPO, b, PLUGIN_REL) for b in DEFAULT_BUILDS]
    for c in cands:
        if os.path.isfile(c):
            ww = world_writable_parent(c)
            if ww:
                return None, ('%s is world-writable, EAL refuses to load plugins from there '
                              '(build outside /tmp)' % ww)
            return c, None
    return None, 'not found (looked for %s; build it with the driver enabled or pass --build)' \
        % ', '.join(cands)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--build', help='build directory holding %s (default: the first of %s in the '
                   'repository that has it)' % (PLUGIN_REL, ', '.join(DEFAULT_BUILDS)))
    p.add_argument('--seconds', type=float, default=5, help='measuring interval per run (%(default)s)')
    p.add_argument('--warmup', type=float, default=2, help='seconds of traffic before measuring')
    p.add_argument('--reps', type=int, default=3, help='repetitions per driver (median reported)')
    p.add_argument('--sizes', default='64,1518', help='frame sizes, bytes (--txpkts)')
    p.add_argument('--only', choices=SCENARIOS, help='one scenario only')
    p.add_argument('--drivers', default='memif,vmb', help='memif,vmb (default) or one of them')
    p.add_argument('--json', metavar='OUT', help='also write every run as JSON')
    p.add_argument('--plot', metavar='OUT', help='draw a chart (.png/.svg with matplotlib; '
                   'without it an SVG next to OUT)')
    p.add_argument('--tx-first', type=int, default=32, help='bursts per port seeded with `start '
                   'tx_first N` in the inproc io test (%(default)s)')
    p.add_argument('--tx-side', choices=('host', 'guest'), default='host',
                   help='twoproc: the end that runs txonly (memif: host = server, guest = '
                   'client); the other end runs rxonly and is measured (%(default)s)')
    p.add_argument('--burst', type=int, default=32, help='testpmd --burst (%(default)s)')
    p.add_argument('--mbufs', type=int, default=65536, help='testpmd --total-num-mbufs')
    p.add_argument('--mem', type=int, default=512, help='EAL -m, MiB (no hugepages)')
    p.add_argument('--cores', default='0,1', help='two CPUs: inproc main,forwarding; twoproc: A '
                   'forwards on the first, B on the second (%(default)s)')
    p.add_argument('--testpmd', default='/usr/bin/dpdk-testpmd')
    p.add_argument('--eal-extra', default='', help='more EAL options (one string)')
    p.add_argument('--testpmd-extra', default='', help='more testpmd options (one string)')
    p.add_argument('--memif-extra', default='', help='appended to the memif devargs, e.g. '
                   '",rsize=11"')
    p.add_argument('--vmb-extra', default='', help='appended to the net_vmb devargs')
    p.add_argument('--max-foreign', type=float, default=0.3,
                   help='CPUs other processes may use during a run before it is retried')
    p.add_argument('--retries', type=int, default=2, help='retries of a disturbed run')
    p.add_argument('--quiet-timeout', type=float, default=20,
                   help='longest wait for an idle machine before a run')
    p.add_argument('--no-gate', dest='gate', action='store_false', help='no idle wait, no retries')
    p.add_argument('--start-timeout', type=float, default=30, help='seconds to the first prompt')
    p.add_argument('--link-timeout', type=float, default=10, help='seconds for links to come up')
    p.add_argument('--log-dir', help='keep every testpmd output here')
    p.add_argument('--dry-run', action='store_true', help='print the command lines, run nothing')
    p.add_argument('--replot', metavar='IN', help='no runs: print the table of a --json file '
                   'and draw --plot from it')
    p.add_argument('-v', '--verbose', action='store_true', help='print commands as they run')
    args = p.parse_args()

    try:
        sizes = [int(x) for x in args.sizes.split(',') if x]
    except ValueError:
        p.error('--sizes: comma-separated integers')
    args.drivers = [d.strip() for d in args.drivers.split(',') if d.strip()]
    if not args.drivers or any(d not in DRIVERS for d in args.drivers):
        p.error('--drivers: memif and/or vmb')
    if len(args.cores.split(',')) != 2:
        p.error('--cores: exactly two CPUs')
    if args.reps < 1 or args.seconds <= 0:
        p.error('--reps >= 1 and --seconds > 0')
    if args.replot:
        with open(args.replot) as f:
            data = json.load(f)
        args.drivers = data['args']['drivers']
        args.max_foreign = data['args']['max_foreign']
        summarize(data['rows'], args)
        ascii_chart(data['rows'])
        if args.plot:
            print('plot: %s' % plot(args.plot, data['rows'], data['title']))
        return 0
    scenarios = [args.only] if args.only else list(SCENARIOS)
    if args.memif_extra and not args.memif_extra.startswith(','):
        args.memif_extra = ',' + args.memif_extra
    if args.vmb_extra and not args.vmb_extra.startswith(','):
        args.vmb_extra = ',' + args.vmb_extra
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
    if not os.access(args.testpmd, os.X_OK):
        sys.exit('%s: not found (Debian package dpdk)' % args.testpmd)
    if not shutil.which('stdbuf'):
        sys.exit('stdbuf (coreutils) not found')

    plugin, vmb_error = (None, None)
    if 'vmb' in args.drivers:
        plugin, reason = find_plugin(args.build)
        if reason:
            vmb_error = 'net_vmb: plugin missing/failed: ' + reason
            print(vmb_error)
            if args.dry_run:
                plugin = os.path.join(os.path.abspath(args.build or 'build-drv'), PLUGIN_REL)
        else:
            print('net_vmb plugin: %s' % plugin)

    la0 = loadavg()
    try:
        dpdk_version = subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'dpdk'],
                                      capture_output=True, text=True).stdout.strip()
    except OSError:
        dpdk_version = '?'
    print('dpdk-testpmd %s (dpdk %s); %d CPUs; load average %.2f %.2f %.2f' % (
        args.testpmd, dpdk_version or '?', os.cpu_count(), *la0))

    def on_term(_sig, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)   # like Ctrl-C: stop the testpmds, print what we have
    bench = Bench(args, plugin)
    rows, runs, failed = [], [], False
    interrupted = False
    try:
        for scenario in scenarios:
            for size in sizes:
                row = {'scenario': scenario, 'size': size, 'target': target_for(scenario, size),
                       'runs': 0, 'disturbed': 0}
                samples = {d: [] for d in DRIVERS}
                for rep in range(args.reps):
                    order = list(DRIVERS) if rep % 2 == 0 else list(reversed(DRIVERS))
                    for d in order:
                        if d not in args.drivers:
                            continue
                        if d == 'vmb' and vmb_error and not args.dry_run:
                            row.setdefault('vmb_error', vmb_error)
                            continue
                        if row.get(d + '_error'):
                            continue
                        if args.dry_run:
                            if rep == 0:
                                (bench.inproc if scenario == 'inproc' else bench.twoproc)(d, size)
                            continue
                        try:
                            res = bench.measure(scenario, d, size)
                        except RunError as e:
                            msg = str(e)
                            if d == 'vmb':
                                msg = 'net_vmb: plugin missing/failed: ' + msg \
                                    if e.load_failure else 'net_vmb: run failed: ' + msg
                                if e.load_failure:
                                    vmb_error = msg.splitlines()[0]
                            else:
                                msg = 'memif: run failed: ' + msg
                            print(msg, flush=True)
                            row[d + '_error'] = msg
                            runs.append({'scenario': scenario, 'size': size, 'driver': d,
                                         'rep': rep, 'error': msg})
                            continue
                        samples[d].append(res['mpps'])
                        disturbed = res['foreign_cpus'] > args.max_foreign
                        row['runs'] = row.get('runs', 0) + 1
                        row['disturbed'] = row.get('disturbed', 0) + disturbed
                        runs.append(dict(res, scenario=scenario, size=size, driver=d, rep=rep,
                                         disturbed=disturbed))
                        print('  %-7s %5d B  rep %d  %-5s %7.2f Mpps  (wall-clock check %.2f; '
                              'others used %.2f CPUs%s; load avg %.2f)' % (
                                  scenario, size, rep + 1, d, res['mpps'], res['mpps_wall'],
                                  res['foreign_cpus'], ' DISTURBED' if disturbed else '',
                                  res['loadavg'][0]), flush=True)
                if args.dry_run:
                    continue
                for d in args.drivers:
                    if samples[d] and not row.get(d + '_error'):
                        row[d] = {'median': statistics.median(samples[d]),
                                  'samples': samples[d]}
                    else:
                        row.setdefault(d + '_error', 'no samples')
                        failed = True
                if row.get('memif') and row.get('vmb'):
                    row['ratio'] = row['vmb']['median'] / row['memif']['median']
                    row['pair_ratios'] = [v / m for v, m in zip(row['vmb']['samples'],
                                                                row['memif']['samples'])]
                    row['met'] = row['ratio'] >= row['target']
                rows.append(row)
    except KeyboardInterrupt:
        interrupted = True
        print('interrupted', file=sys.stderr)
    finally:
        bench.cleanup()
    if args.dry_run:
        return 0
    la1 = loadavg()

    summarize(rows, args)
    ascii_chart(rows)
    print('\nload average before %.2f %.2f %.2f, after %.2f %.2f %.2f; %d CPUs' % (*la0, *la1,
                                                                                  os.cpu_count()))
    foreign = [r['foreign_cpus'] for r in runs if 'foreign_cpus' in r]
    if foreign:
        print('CPU used by other processes during the measurements: median %.2f, max %.2f CPUs'
              % (statistics.median(foreign), max(foreign)))

    title = ('net_vmb vs memif (copy mode), dpdk-testpmd %s' % (dpdk_version or ''),
             '%s; %d CPUs; %gs x %d reps; load avg %.2f -> %.2f' % (
                 platform.node(), os.cpu_count(), args.seconds, args.reps, la0[0], la1[0]))
    if args.plot and rows:
        try:
            print('plot: %s' % plot(args.plot, rows, title))
        except Exception as e:   # a chart must not lose the numbers
            svg = os.path.splitext(args.plot)[0] + '.svg'
            print('plot: matplotlib failed (%s); writing %s' % (e, svg))
            write_svg(svg, rows, title)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'title': title, 'testpmd': args.testpmd, 'dpdk_version': dpdk_version, 'plugin': plugin,
                       'cpus': os.cpu_count(), 'loadavg_before': la0, 'loadavg_after': la1,
                       'args': {k: v for k, v in vars(args).items()},
                       'command_lines': [{'label': l, 'argv': a} for l, a in bench.cmdlog],
                       'rows': rows, 'runs': runs}, f, indent=2)
            f.write('\n')
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
