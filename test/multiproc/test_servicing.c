/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Host servicing under continuous traffic, across real processes. A chain of host processes:
 * each serves for a while, then starts its successor (fork + exec of this binary, a socketpair
 * end inherited), hands its whole VMBus state over (vmb_bus_host_service_out), and exits; the
 * successor restores (vmb_bus_host_service_in) and serves on. Two guest processes keep their
 * connections throughout and run traffic both ways: requests asking for completion (the host
 * echoes them) and notifications the host sends on every 8th request (the guest completes them).
 *
 * Checked, per guest: every request completed exactly once and in order; every notification
 * delivered exactly once and in order; no channel ever closed; and the last host has no
 * notification left without its completion. Reported: the longest gap between two completions
 * seen by a guest (the blackout of a hand-over, as the guest sees it).
 *
 *   test_servicing [handovers [channels]]     (defaults: 100 hand-overs, 1 channel per guest)
 *
 * With channels > 1 the host offers that many subchannels and each guest opens all of them.
 * Besides the blackout seen by the guests, the hosts report the control-plane blackout of each
 * hand-over: from the moment the old host starts pausing its channels to the moment the
 * successor has every channel running again (CLOCK_MONOTONIC is one clock for all processes).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmb/vmb_bus.h>
#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_poll.h>
#include <vmb/vmb_save.h>

#include "seq_vsp.h"

#define FAIL(...)                                                                               \
	do {                                                                                    \
		fprintf(stderr, "FAIL [%d] %s:%d: ", (int)getpid(), __FILE__, __LINE__);        \
		fprintf(stderr, __VA_ARGS__);                                                   \
		fputc('\n', stderr);                                                            \
		exit(1);                                                                        \
	} while (0)
#define CHECK(c)                                                                                \
	do {                                                                                    \
		if (!(c))                                                                       \
			FAIL("%s", #c);                                                         \
	} while (0)

#define WINDOW 32
#define NOTIFY_EVERY 8
#define SERVE_MS 15
#define MAX_CH 64

static const struct vmb_guid svc_type = {{0x53, 0x56, 0x43, 1}};
static const struct vmb_guid svc_inst = {{0x53, 0x56, 0x43, 2}};
static volatile sig_atomic_t stop_requested;
extern char **environ;

static void
on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
say(int fd, const char *fmt, long a, long b)
{
	char line[128];
	int n = snprintf(line, sizeof(line), fmt, a, b);
	if (write(fd, line, (size_t)n) != n)
		exit(3);
}

/* ======================= host ======================= */

static struct vmb_poller *host_poller;
static struct vmb_channel *host_chans[2 * MAX_CH];
static int nchannels = 1;

static void
notify_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	(void)status;
	(void)buf;
	(void)len;
	vmb_packet_free(p);
}

static void
host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	uint32_t seq;

	(void)flags;
	if (len < 4) {
		vmb_rx_fail(rx);
		return;
	}
	memcpy(&seq, buf, 4);
	vmb_rx_complete(rx, &seq, 4);
	if (seq % NOTIFY_EVERY == 0) {
		struct vmb_packet *p = vmb_packet_alloc(ch);
		if (p == NULL)
			return;
		vmb_packet_set_completion(p, notify_done);
		vmb_packet_set_context(p, (void *)(uintptr_t)seq);
		vmb_packet_send(p, &seq, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0);
	}
}

static int
host_restore(struct vmb_channel *ch, const void *lib, uint32_t lib_size, const void *save,
	     uint32_t save_size)
{
	return seq_vsp_restore(ch, lib, lib_size, save, save_size, notify_done, 0);
}

static struct vmb_channel *
host_on_open(void *ctx, struct vmb_bus_conn *conn, uint32_t offer)
{
	struct vmb_channel *ch;
	uint32_t i;

	(void)ctx;
	(void)conn;
	(void)offer;
	if (vmb_channel_alloc(true, &ch) != 0)
		return NULL;
	vmb_channel_init_set_max_packet_size(ch, 256);
	vmb_channel_init_set_capacity(ch, 256, 4096);
	vmb_channel_init_set_process_packet(ch, host_process, NULL);
	vmb_channel_init_set_save_restore(ch, seq_vsp_save, host_restore);
	vmb_channel_init_set_interface(ch, &svc_type, &svc_inst);
	for (i = 0; i < 2 * MAX_CH; i++)
		if (host_chans[i] == NULL) {
			host_chans[i] = ch;
			break;
		}
	CHECK(vmb_poller_add(host_poller, ch) == 0);
	return ch;
}

static void
host_on_close(void *ctx, struct vmb_bus_conn *conn, uint32_t offer, struct vmb_channel *ch)
{
	uint32_t i;

	(void)ctx;
	(void)conn;
	(void)offer;
	for (i = 0; i < 2 * MAX_CH; i++)
		if (host_chans[i] == ch)
			host_chans[i] = NULL;
	CHECK(vmb_poller_remove(host_poller, ch) == 0);
	vmb_channel_disable(ch);
	vmb_channel_cleanup(ch);
}

static long
now_us(void)
{
	return (long)(now_s() * 1e6);
}

static int
host_main(const char *path, int remaining, int status_fd, int handoff_fd)
{
	struct vmb_bus_host_config bc = {.path = path};
	struct vmb_poller_config pc = {.cpu = -1};
	struct vmb_bus_offer o[MAX_CH];
	struct vmb_bus_host *h;
	double t0;
	int k;

	for (k = 0; k < nchannels; k++) {
		memset(&o[k], 0, sizeof(o[k]));
		o[k].type = svc_type;
		o[k].instance = svc_inst;
		o[k].subchannel = (uint16_t)k;
		o[k].on_open = host_on_open;
		o[k].on_close = host_on_close;
	}

	signal(SIGTERM, on_term);
	CHECK(vmb_poller_create(&pc, &host_poller) == 0);
	/* A successor starts polling once it has the channels: an idle spinning thread would
	 * compete with the take-over for the CPU. */
	if (handoff_fd < 0)
		CHECK(vmb_poller_start(host_poller) == 0);
	if (handoff_fd >= 0) {
		int rc = vmb_bus_host_service_in(&bc, o, (uint32_t)nchannels, handoff_fd, &h);
		if (rc)
			FAIL("service_in: %s", strerror(-rc));
		CHECK(vmb_poller_start(host_poller) == 0);
		say(status_fd, "started-us %ld %ld\n", now_us(), 0);
		close(handoff_fd);
	} else {
		CHECK(vmb_bus_host_create(&bc, &h) == 0);
		for (k = 0; k < nchannels; k++)
			CHECK(vmb_bus_host_add_offer(h, &o[k], NULL) == 0);
	}
	say(status_fd, remaining ? "serving %ld %ld\n" : "final %ld %ld\n", (long)getpid(), remaining);
	t0 = now_s();
	while (!stop_requested) {
		vmb_bus_host_poll(h, 1);
		if (remaining > 0 && (now_s() - t0) * 1000 > SERVE_MS &&
		    vmb_bus_host_guest_count(h) >= 2) {
			char a_rem[16], a_st[16], a_fd[16], a_ch[16];
			int sv[2], rc;
			pid_t pid;

			/* The successor end crosses exec; ours does not. posix_spawn rather than fork:
			 * a fork copies this process's page tables under its memory lock, stalling
			 * the poller thread (and the traffic) meanwhile. */
			CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
			fcntl(sv[0], F_SETFD, FD_CLOEXEC);
			snprintf(a_rem, sizeof(a_rem), "%d", remaining - 1);
			snprintf(a_st, sizeof(a_st), "%d", status_fd);
			snprintf(a_fd, sizeof(a_fd), "%d", sv[1]);
			snprintf(a_ch, sizeof(a_ch), "%d", nchannels);
			{
				char *args[] = {"test_servicing", "--host", (char *)path, a_rem, a_st,
						a_fd, a_ch, NULL};
				CHECK(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ) == 0);
			}
			close(sv[1]);
			rc = vmb_bus_host_service_out(h, sv[0]);
			if (rc)
				FAIL("service_out: %s", strerror(-rc));
			/* the blackout began when service_out paused, after the pre-copy */
			say(status_fd, "pause-us %ld %ld\n",
			    (long)(vmb_bus_host_blackout_start_ns(h) / 1000), 0);
			vmb_bus_host_abandon(h);
			close(sv[0]);
			vmb_poller_stop(host_poller);
			vmb_poller_destroy(host_poller);
			return 0; /* the successor serves; its exit status is the controller's business */
		}
	}
	/* the last host: the guests have stopped and drained; nothing may be left pending */
	{
		uint32_t i, pending = 0;
		for (i = 0; i < 2 * MAX_CH; i++)
			if (host_chans[i])
				pending += vmb_channel_pending_tx(host_chans[i]);
		say(status_fd, "host-pending %ld %ld\n", (long)pending, 0);
	}
	vmb_bus_host_destroy(h);
	vmb_poller_stop(host_poller);
	vmb_poller_destroy(host_poller);
	return 0;
}

/* ======================= guest ======================= */

struct gchan {
	struct vmb_channel *ch;
	_Atomic uint64_t sent, done, notified;
	_Atomic uint32_t next_done;   /* next request seq expected to complete */
	_Atomic uint32_t next_notify; /* next notification seq expected */
	double last_done_t;
};

static struct {
	struct gchan c[MAX_CH];
	_Atomic int bad;
	atomic_bool stopping;
	double max_gap;
} G;

static void
guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	      uint32_t flags)
{
	struct gchan *c = vmb_channel_get_context(ch);
	uint32_t seq = UINT32_MAX;

	(void)flags;
	if (len >= 4)
		memcpy(&seq, buf, 4);
	/* notifications arrive exactly once and in order */
	if (seq != atomic_load(&c->next_notify))
		atomic_store(&G.bad, 1);
	atomic_store(&c->next_notify, seq + NOTIFY_EVERY);
	atomic_fetch_add(&c->notified, 1);
	vmb_rx_complete(rx, NULL, 0);
}

static void
guest_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	struct gchan *c = vmb_packet_get_context(p);
	uint32_t seq = 0, next;
	double t = now_s();

	if (status != 0 || len < 4)
		atomic_store(&G.bad, 2);
	else
		memcpy(&seq, buf, 4);
	/* completions arrive exactly once and in order */
	if (seq != atomic_load(&c->next_done) && atomic_load(&G.bad) == 0) {
		fprintf(stderr, "guest %d channel %d: completion %u, expected %u\n", (int)getpid(),
			(int)(c - G.c), seq, atomic_load(&c->next_done));
		atomic_store(&G.bad, 3);
	}
	atomic_store(&c->next_done, seq + 1);
	if (c->last_done_t > 0 && t - c->last_done_t > G.max_gap)
		G.max_gap = t - c->last_done_t;
	c->last_done_t = t;
	atomic_fetch_add(&c->done, 1);
	if (atomic_load(&G.stopping)) {
		vmb_packet_free(p);
		return;
	}
	next = (uint32_t)atomic_fetch_add(&c->sent, 1);
	if (vmb_packet_send(p, &next, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) != 0)
		atomic_store(&G.bad, 4);
}

static int
guest_main(const char *path, int status_fd)
{
	struct vmb_guest_mem mem;
	struct vmb_bus_guest_config gc = {.path = path, .mem = &mem};
	struct vmb_poller_config pc = {.cpu = -1};
	struct vmb_bus_guest *g = NULL;
	struct vmb_poller *poller;
	uint64_t done = 0, sent = 0, notified = 0, expect_notified = 0;
	double t_open, open_total = 0;
	uint32_t i;
	double t0 = now_s();
	int rc, k;

	signal(SIGTERM, on_term);
	CHECK(vmb_mem_create(&mem, 64 << 20, VMB_MEM_MEMFD) == 0);
	while ((rc = vmb_bus_guest_connect(&gc, &g)) != 0) {
		CHECK(now_s() - t0 < 10);
		usleep(2000);
	}
	CHECK(vmb_poller_create(&pc, &poller) == 0);
	for (k = 0; k < nchannels; k++) {
		struct vmb_channel *ch;
		CHECK(vmb_channel_alloc(false, &ch) == 0);
		G.c[k].ch = ch;
		vmb_channel_set_context(ch, &G.c[k]);
		CHECK(vmb_channel_init_set_max_packet_size(ch, 256) == 0);
		CHECK(vmb_channel_init_set_ring_pages(ch, 8, 8) == 0);
		CHECK(vmb_channel_init_set_process_packet(ch, guest_process, NULL) == 0);
		CHECK(vmb_channel_init_set_interface(ch, &svc_type, NULL) == 0);
		CHECK(vmb_bus_guest_attach(g, ch, (uint16_t)k) == 0);
		CHECK(vmb_poller_add(poller, ch) == 0);
		t_open = now_s();
		CHECK(vmb_channel_enable(ch) == 0); /* GPADL + OPEN round trips with the host */
		open_total += now_s() - t_open;
	}
	CHECK(vmb_poller_start(poller) == 0);
	for (k = 0; k < nchannels; k++) {
		for (i = 0; i < WINDOW; i++) {
			struct vmb_packet *p = vmb_packet_alloc(G.c[k].ch);
			uint32_t seq = (uint32_t)atomic_fetch_add(&G.c[k].sent, 1);
			CHECK(p != NULL);
			vmb_packet_set_context(p, &G.c[k]);
			vmb_packet_set_completion(p, guest_done);
			CHECK(vmb_packet_send(p, &seq, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0);
		}
	}
	while (!stop_requested) {
		rc = vmb_bus_guest_poll(g, 5);
		if (rc < 0)
			FAIL("guest lost the host: %d", rc);
		for (k = 0; k < nchannels; k++) /* only ever a pause */
			CHECK(vmb_channel_state(G.c[k].ch) == VMB_CHANNEL_OPENED);
	}
	/* drain: every request sent is completed */
	atomic_store(&G.stopping, true);
	t0 = now_s();
	for (k = 0; k < nchannels; k++) {
		while (atomic_load(&G.c[k].done) < atomic_load(&G.c[k].sent)) {
			vmb_bus_guest_poll(g, 1);
			if (now_s() - t0 > 10)
				FAIL("guest: channel %d: %llu of %llu requests completed", k,
				     (unsigned long long)atomic_load(&G.c[k].done),
				     (unsigned long long)atomic_load(&G.c[k].sent));
		}
	}
	usleep(50000); /* notifications for the last requests */
	for (k = 0; k < nchannels; k++) {
		done += atomic_load(&G.c[k].done);
		sent += atomic_load(&G.c[k].sent);
		notified += atomic_load(&G.c[k].notified);
		expect_notified += (atomic_load(&G.c[k].sent) + NOTIFY_EVERY - 1) / NOTIFY_EVERY;
	}
	if (atomic_load(&G.bad))
		FAIL("guest: ordering/once check %d failed (done %llu, notified %llu)",
		     atomic_load(&G.bad), (unsigned long long)done, (unsigned long long)notified);
	CHECK(done == sent);
	CHECK(notified == expect_notified);
	say(status_fd, "guest %ld max-gap-us %ld\n", (long)done, (long)(G.max_gap * 1e6));
	say(status_fd, "open-us %ld %ld\n", (long)(open_total / nchannels * 1e6), 0);
	vmb_poller_stop(poller);
	vmb_poller_destroy(poller);
	vmb_bus_guest_disconnect(g);
	for (k = 0; k < nchannels; k++)
		vmb_channel_cleanup(G.c[k].ch);
	vmb_mem_destroy(&mem);
	return 0;
}

/* ======================= controller ======================= */

static int
read_line(FILE *f, char *buf, size_t n, double deadline)
{
	while (now_s() < deadline) {
		if (fgets(buf, (int)n, f))
			return 0;
		clearerr(f);
		usleep(1000);
	}
	return -ETIMEDOUT;
}

int
main(int argc, char **argv)
{
	char path[108], line[256], a_st[16], a_ch[16];
	static long pauses[4096], starts[4096];
	long blackout_max = 0, blackout_sum = 0, nblackout = 0, npause = 0, nstart = 0;
	int handovers = 100, status[2], served = 0, guest_ok = 0, reports = 0, st, i;
	long final_pid = 0, pending = -1, max_gap = 0;
	pid_t host, guests[2];
	FILE *sf;
	double deadline;

	if (argc >= 7 && strcmp(argv[1], "--host") == 0) {
		nchannels = atoi(argv[6]);
		return host_main(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	}
	if (argc >= 5 && strcmp(argv[1], "--guest") == 0) {
		nchannels = atoi(argv[4]);
		return guest_main(argv[2], atoi(argv[3]));
	}
	if (argc >= 2)
		handovers = atoi(argv[1]);
	if (argc >= 3)
		nchannels = atoi(argv[2]);
	CHECK(handovers >= 0 && nchannels >= 1 && nchannels <= MAX_CH);
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "/tmp/vmb-svc-%d.sock", (int)getpid());
	CHECK(pipe(status) == 0);
	fcntl(status[0], F_SETFL, O_NONBLOCK);
	sf = fdopen(status[0], "r");
	snprintf(a_st, sizeof(a_st), "%d", status[1]);
	snprintf(a_ch, sizeof(a_ch), "%d", nchannels);

	host = fork();
	if (host == 0) {
		char a_rem[16];
		snprintf(a_rem, sizeof(a_rem), "%d", handovers);
		execl("/proc/self/exe", "test_servicing", "--host", path, a_rem, a_st, "-1", a_ch,
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 2; i++) {
		guests[i] = fork();
		if (guests[i] == 0) {
			execl("/proc/self/exe", "test_servicing", "--guest", path, a_st, a_ch, (char *)NULL);
			_exit(127);
		}
	}
	/* follow the chain of hosts until the last one serves */
	deadline = now_s() + 120;
	while (final_pid == 0) {
		long pid, rem;
		if (read_line(sf, line, sizeof(line), deadline) != 0)
			FAIL("host chain stalled after %d hosts", served);
		if (sscanf(line, "serving %ld %ld", &pid, &rem) == 2)
			served++;
		else if (sscanf(line, "pause-us %ld %ld", &pid, &rem) == 2)
			pauses[npause < 4096 ? npause++ : npause - 1] = pid;
		else if (sscanf(line, "started-us %ld %ld", &pid, &rem) == 2)
			starts[nstart < 4096 ? nstart++ : nstart - 1] = pid;
		else if (sscanf(line, "final %ld %ld", &pid, &rem) == 2)
			final_pid = pid;
		else
			FAIL("unexpected status line: %s", line);
	}
	usleep(200000); /* traffic on the last host too */
	/* the last hand-over's pause stamp may come after the successor said it runs */
	deadline = now_s() + 5;
	while (npause < nstart && read_line(sf, line, sizeof(line), deadline) == 0) {
		long a, b;
		if (sscanf(line, "pause-us %ld %ld", &a, &b) == 2)
			pauses[npause++] = a;
	}
	/* hand-over i: the i-th old host paused, the i-th successor ran */
	for (i = 0; i < npause && i < nstart; i++) {
		long b = starts[i] - pauses[i];
		blackout_sum += b;
		nblackout++;
		if (b > blackout_max)
			blackout_max = b;
	}
	for (i = 0; i < 2; i++)
		kill(guests[i], SIGTERM);
	for (i = 0; i < 2; i++) {
		CHECK(waitpid(guests[i], &st, 0) == guests[i]);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			guest_ok++;
	}
	deadline = now_s() + 1;
	while (reports < guest_ok && read_line(sf, line, sizeof(line), deadline) == 0) {
		long done, gap;
		if (sscanf(line, "open-us %ld %ld", &done, &gap) == 2) {
			printf("guest: opening a channel took %.3f ms on average\n", done / 1000.0);
			continue;
		}
		if (sscanf(line, "guest %ld max-gap-us %ld", &done, &gap) == 2) {
			printf("guest: %ld requests completed exactly once and in order; longest gap %ld us\n",
			       done, gap);
			if (gap > max_gap)
				max_gap = gap;
			reports++;
		}
	}
	kill((pid_t)final_pid, SIGTERM);
	deadline = now_s() + 10;
	while (pending < 0 && read_line(sf, line, sizeof(line), deadline) == 0) {
		long a, b;
		if (sscanf(line, "host-pending %ld %ld", &a, &b) == 2)
			pending = a;
	}
	waitpid(host, &st, 0);
	unlink(path);
	printf("%d hand-overs between host processes under traffic, %d channel(s) per guest; "
	       "control-plane blackout (pause -> successor running): mean %.3f ms, max %.3f ms; "
	       "longest gap between completions seen by a guest: %.2f ms; transactions left "
	       "pending on the last host: %ld\n",
	       served, nchannels, nblackout ? blackout_sum / 1000.0 / nblackout : 0,
	       blackout_max / 1000.0, max_gap / 1000.0, pending);
	if (guest_ok != 2 || reports != 2 || served != handovers || pending != 0) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	printf("1 passed, 0 failed\n");
	return 0;
}
