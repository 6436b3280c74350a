/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Two processes, one VMBus. The parent is the host (VMBus server on a UNIX socket, an echo VSP
 * whose channels a poller thread serves); guests are forked child processes with their own
 * memfd memory. Covered: version negotiation and offers; open, traffic both ways (guest
 * requests echoed by the host, host-originated transactions completed by the guest) in poll and
 * interrupt modes; close and reopen; several guests at once; rescind; a guest killed with -9 in
 * the middle of traffic (the host cleans up and serves the next guest); and malformed control
 * messages from a raw socket (bad frames, wrong order, extra descriptors, GPADL pages outside
 * guest memory), each refused while the other guests keep running. Buffer GPADLs (netvsc's
 * receive/send buffers): created by a guest for its open channel, mapped by id on the host's
 * data path, torn down explicitly or with the channel, refused when bad, and carried across a
 * servicing hand-over to a successor host process.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_vmbus_reg.h>

#include <vmb/vmb_bus.h>
#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_poll.h>

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

#define HOST_TX 50   /* host-originated transactions per open */
#define GUEST_TX 2000 /* guest requests per open */

static const struct vmb_guid echo_type = {{0x45, 0x43, 0x48, 0x4f, 1}};
static const struct vmb_guid echo_inst = {{0x49, 0x4e, 0x53, 0x54, 2}};
static char sock_path[108];
extern char **environ;
static int passed, failed;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ================= host (parent) ================= */

struct host {
	struct vmb_bus_host *bus;
	struct vmb_poller *poller;
	uint32_t offer;
	_Atomic uint64_t echoed, host_tx_done, host_tx_cancelled;
	_Atomic uint32_t open_channels;
	bool interrupt;
};
static struct host H;

static void
host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	(void)ch;
	(void)flags;
	atomic_fetch_add(&H.echoed, 1);
	vmb_rx_complete(rx, buf, len > 16 ? 16 : len);
}

static void
host_tx_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	(void)buf;
	(void)len;
	if (status == 0)
		atomic_fetch_add(&H.host_tx_done, 1);
	else
		atomic_fetch_add(&H.host_tx_cancelled, 1);
	vmb_packet_free(p);
}

/* Once running, the host sends its own transactions to the guest. */
static void
host_post_started(struct vmb_channel *ch)
{
	uint32_t i;
	for (i = 0; i < HOST_TX; i++) {
		struct vmb_packet *p = vmb_packet_alloc(ch);
		CHECK(p != NULL);
		vmb_packet_set_completion(p, host_tx_done);
		CHECK(vmb_packet_send(p, &i, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0);
	}
}

static struct vmb_channel *
host_on_open(void *ctx, struct vmb_bus_conn *conn, uint32_t offer)
{
	struct vmb_channel_callbacks cb = {.post_started = host_post_started};
	struct vmb_channel *ch;

	(void)ctx;
	(void)conn;
	(void)offer;
	if (vmb_channel_alloc(true, &ch) != 0)
		return NULL;
	vmb_channel_init_set_process_packet(ch, host_process, NULL);
	vmb_channel_init_set_callbacks(ch, &cb);
	vmb_channel_init_set_interface(ch, &echo_type, &echo_inst);
	CHECK(vmb_poller_add(H.poller, ch) == 0);
	atomic_fetch_add(&H.open_channels, 1);
	return ch;
}

static void
host_on_close(void *ctx, struct vmb_bus_conn *conn, uint32_t offer, struct vmb_channel *ch)
{
	(void)ctx;
	(void)conn;
	(void)offer;
	CHECK(vmb_poller_remove(H.poller, ch) == 0);
	CHECK(vmb_channel_disable(ch) == 0);
	CHECK(vmb_channel_cleanup(ch) == 0);
	atomic_fetch_sub(&H.open_channels, 1);
}

static void
host_up(bool interrupt)
{
	struct vmb_bus_host_config bc = {.path = sock_path};
	struct vmb_poller_config pc = {.interrupt_mode = interrupt, .cpu = -1};
	struct vmb_bus_offer o = {.type = echo_type, .instance = echo_inst,
				  .on_open = host_on_open, .on_close = host_on_close};

	memset(&H, 0, sizeof(H));
	H.interrupt = interrupt;
	memcpy(o.user_data, "echo-offer-user-data", 20);
	CHECK(vmb_poller_create(&pc, &H.poller) == 0);
	CHECK(vmb_poller_start(H.poller) == 0);
	CHECK(vmb_bus_host_create(&bc, &H.bus) == 0);
	CHECK(vmb_bus_host_add_offer(H.bus, &o, &H.offer) == 0);
}

static void
host_down(void)
{
	vmb_bus_host_destroy(H.bus);
	vmb_poller_stop(H.poller);
	vmb_poller_destroy(H.poller);
}

/* Serve the bus until every child exited; @return how many exited with status 0. */
static int
host_serve(pid_t *kids, int n, double limit_s)
{
	int ok = 0, left = n, i, st;
	double t0 = now_s();

	while (left > 0) {
		vmb_bus_host_poll(H.bus, 10);
		for (i = 0; i < n; i++) {
			if (kids[i] > 0 && waitpid(kids[i], &st, WNOHANG) == kids[i]) {
				kids[i] = 0;
				left--;
				if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
					ok++;
			}
		}
		if (now_s() - t0 > limit_s) {
			for (i = 0; i < n; i++)
				if (kids[i] > 0)
					kill(kids[i], SIGKILL);
			FAIL("guests did not finish in %.0f s", limit_s);
		}
	}
	/* let the host see the last disconnects */
	for (i = 0; i < 50 && vmb_bus_host_guest_count(H.bus) != 0; i++)
		vmb_bus_host_poll(H.bus, 10);
	return ok;
}

/* ================= guest (child) ================= */

struct guest {
	_Atomic uint64_t done, host_packets;
	uint8_t echo_ok;
};
static struct guest G;

static void
guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	      uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	atomic_fetch_add(&G.host_packets, 1);
	vmb_rx_complete(rx, NULL, 0);
}

static void
guest_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	uint32_t seq = (uint32_t)(uintptr_t)vmb_packet_get_context(p);
	if (status == 0 && len >= 4 && memcmp(buf, &seq, 4) == 0)
		atomic_fetch_add(&G.done, 1);
	vmb_packet_free(p);
}

/* One open: GUEST_TX echoed requests, HOST_TX host transactions completed. */
static void
guest_session(struct vmb_bus_guest *g, struct vmb_channel *ch, struct vmb_poller *poller)
{
	uint64_t done0 = atomic_load(&G.done), hp0 = atomic_load(&G.host_packets);
	uint32_t i;
	double t0;

	CHECK(vmb_channel_enable(ch) == 0);
	CHECK(vmb_channel_state(ch) == VMB_CHANNEL_OPENED);
	for (i = 0; i < GUEST_TX; i++) {
		struct vmb_packet *p = vmb_packet_alloc(ch);
		uint8_t msg[24] = {0};
		CHECK(p != NULL);
		memcpy(msg, &i, 4);
		vmb_packet_set_context(p, (void *)(uintptr_t)i);
		vmb_packet_set_completion(p, guest_done);
		CHECK(vmb_packet_send(p, msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0);
	}
	t0 = now_s();
	while (atomic_load(&G.done) - done0 < GUEST_TX || atomic_load(&G.host_packets) - hp0 < HOST_TX) {
		CHECK(vmb_bus_guest_poll(g, 1) >= 0);
		if (now_s() - t0 > 20) {
			struct vmb_channel_stats cs;
			const char *why = "";
			vmb_channel_get_stats(ch, &cs);
			vmb_channel_is_poisoned(ch, &why);
			fprintf(stderr, "guest channel: state %d paused %d poisoned '%s' rx %llu tx %llu "
					"passes %llu compl_in %llu pending_tx %u outstanding %u\n",
				vmb_channel_state(ch), vmb_channel_is_paused(ch), why ? why : "",
				(unsigned long long)cs.rx_packets, (unsigned long long)cs.tx_packets,
				(unsigned long long)cs.passes,
				(unsigned long long)cs.completions_received, vmb_channel_pending_tx(ch),
				vmb_channel_outstanding_rx(ch));
			FAIL("guest: %llu/%u echoed, %llu/%u host packets",
			     (unsigned long long)(atomic_load(&G.done) - done0), GUEST_TX,
			     (unsigned long long)(atomic_load(&G.host_packets) - hp0), HOST_TX);
		}
	}
	CHECK(vmb_channel_pause(ch) == 0);
	(void)poller;
	CHECK(vmb_channel_disable(ch) == 0); /* CLOSE + GPADL teardown */
}

static int
guest_main(bool interrupt, int sessions, bool die_midway)
{
	struct vmb_guest_mem mem;
	struct vmb_bus_guest_config gc = {.path = sock_path, .mem = &mem, .interrupt_mode = interrupt};
	struct vmb_poller_config pc = {.interrupt_mode = interrupt, .cpu = -1};
	struct vmb_bus_offer_info offers[4];
	struct vmb_bus_guest *g;
	struct vmb_poller *poller;
	struct vmb_channel *ch;
	int s;

	memset(&G, 0, sizeof(G));
	CHECK(vmb_mem_create(&mem, 16 << 20, VMB_MEM_MEMFD) == 0);
	CHECK(vmb_bus_guest_connect(&gc, &g) == 0);
	CHECK(vmb_bus_guest_version(g) == VMB_BUS_VERSION_WIN10_V5_3);
	CHECK(vmb_bus_guest_offers(g, offers, 4) == 1);
	CHECK(memcmp(offers[0].type.b, echo_type.b, 16) == 0);
	CHECK(memcmp(offers[0].user_data, "echo-offer-user-data", 20) == 0);
	CHECK(vmb_channel_alloc(false, &ch) == 0);
	CHECK(vmb_channel_init_set_process_packet(ch, guest_process, NULL) == 0);
	CHECK(vmb_channel_init_set_interface(ch, &echo_type, NULL) == 0);
	CHECK(vmb_channel_init_set_ring_pages(ch, 8, 40) == 0); /* 40 pages: GPADL body messages */
	CHECK(vmb_channel_init_set_capacity(ch, 256, 4096) == 0);
	CHECK(vmb_bus_guest_attach(g, ch, 0) == 0);
	CHECK(vmb_poller_create(&pc, &poller) == 0);
	CHECK(vmb_poller_add(poller, ch) == 0);
	CHECK(vmb_poller_start(poller) == 0);
	if (die_midway) {
		/* open and start traffic, then die without a word */
		CHECK(vmb_channel_enable(ch) == 0);
		for (s = 0; s < 100; s++) {
			struct vmb_packet *p = vmb_packet_alloc(ch);
			vmb_packet_set_completion(p, guest_done);
			vmb_packet_send(p, &s, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0);
		}
		usleep(20000);
		kill(getpid(), SIGKILL);
	}
	for (s = 0; s < sessions; s++)
		guest_session(g, ch, poller); /* open, traffic, close; then reopen */
	vmb_poller_stop(poller);
	vmb_poller_destroy(poller);
	vmb_bus_guest_disconnect(g); /* UNLOAD */
	CHECK(vmb_channel_cleanup(ch) == 0);
	vmb_mem_destroy(&mem);
	return 0;
}

/* A guest that cycles through the whole control plane until it is killed. */
static int
guest_cycle_forever(void)
{
	for (;;) {
		struct vmb_guest_mem mem;
		struct vmb_bus_guest_config gc = {.path = sock_path, .mem = &mem};
		struct vmb_bus_guest *g;
		struct vmb_channel *ch;
		uint32_t i;

		if (vmb_mem_create(&mem, 4 << 20, VMB_MEM_MEMFD) != 0)
			return 1;
		if (vmb_bus_guest_connect(&gc, &g) != 0) {
			vmb_mem_destroy(&mem);
			usleep(1000);
			continue;
		}
		vmb_channel_alloc(false, &ch);
		vmb_channel_init_set_process_packet(ch, guest_process, NULL);
		vmb_channel_init_set_interface(ch, &echo_type, NULL);
		vmb_channel_init_set_ring_pages(ch, 4, 30);
		vmb_bus_guest_attach(g, ch, 0);
		if (vmb_channel_enable(ch) == 0) {
			for (i = 0; i < 50; i++) {
				struct vmb_packet *p = vmb_packet_alloc(ch);
				vmb_packet_set_completion(p, guest_done);
				vmb_packet_send(p, &i, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0);
				vmb_channel_poll(ch, 16);
			}
			vmb_channel_disable(ch);
		}
		vmb_bus_guest_disconnect(g);
		vmb_channel_cleanup(ch);
		vmb_mem_destroy(&mem);
	}
}

/* Guests are fresh processes (fork + exec of this binary): a plain fork of the threaded host
 * would inherit locks held by its other threads. */
static pid_t
spawn_guest(bool interrupt, int sessions, bool die)
{
	char a1[8], a2[8], a3[8];
	pid_t pid;

	snprintf(a1, sizeof(a1), "%d", interrupt);
	snprintf(a2, sizeof(a2), "%d", sessions);
	snprintf(a3, sizeof(a3), "%d", die);
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_bus", "--guest", sock_path, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* ================= scenarios ================= */

static void
report(const char *name, bool ok)
{
	printf("%s: %s\n", ok ? "ok" : "FAILED", name);
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

static void
scenario_traffic(bool interrupt)
{
	struct vmb_bus_host_stats st;
	pid_t kids[3];
	int ok, i;

	host_up(interrupt);
	for (i = 0; i < 3; i++)
		kids[i] = spawn_guest(interrupt, 2, false); /* three guests, each opens twice */
	ok = host_serve(kids, 3, 60);
	vmb_bus_host_get_stats(H.bus, &st);
	if (getenv("VMB_DEBUG"))
		fprintf(stderr, "ok=%d echoed=%llu host_tx_done=%llu opens=%llu closes=%llu perr=%llu open=%u\n", ok,
			(unsigned long long)atomic_load(&H.echoed), (unsigned long long)atomic_load(&H.host_tx_done),
			(unsigned long long)st.opens, (unsigned long long)st.closes,
			(unsigned long long)st.protocol_errors, atomic_load(&H.open_channels));
	report(interrupt ? "three guests, two opens each, traffic both ways (interrupt mode)"
			 : "three guests, two opens each, traffic both ways (poll mode)",
	       ok == 3 && atomic_load(&H.echoed) == 3ull * 2 * GUEST_TX &&
		       atomic_load(&H.host_tx_done) == 3ull * 2 * HOST_TX && st.opens == 6 &&
		       st.closes == 6 && st.protocol_errors == 0 &&
		       atomic_load(&H.open_channels) == 0 && vmb_bus_host_guest_count(H.bus) == 0);
	host_down();
}

static void
scenario_guest_killed(void)
{
	pid_t kids[2];
	int ok;

	host_up(false);
	kids[0] = spawn_guest(false, 0, true); /* dies with traffic in flight */
	kids[1] = spawn_guest(false, 1, false);
	ok = host_serve(kids, 2, 60);
	report("a guest killed with -9 mid-traffic: host cleans up, the other guest is served",
	       ok == 1 && atomic_load(&H.open_channels) == 0 && vmb_bus_host_guest_count(H.bus) == 0);
	/* and a new guest is accepted afterwards */
	kids[0] = spawn_guest(false, 1, false);
	ok = host_serve(kids, 1, 60);
	report("a new guest after the crash", ok == 1);
	host_down();
}

/* A raw client that speaks the frame format by hand. */
static int
raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	CHECK(connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return s;
}

static void
raw_send(int s, const void *msg, uint32_t len, uint32_t magic, int nfds, const int *fds)
{
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	uint8_t hdr[8];
	uint16_t l = (uint16_t)len;
	struct iovec iov[2] = {{hdr, 8}, {(void *)(uintptr_t)msg, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

	memcpy(hdr, &magic, 4);
	memcpy(hdr + 4, &l, 2);
	hdr[6] = (uint8_t)nfds;
	hdr[7] = 0;
	if (nfds) {
		struct cmsghdr *c;
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	sendmsg(s, &mh, MSG_NOSIGNAL);
}

/* Returns true when the host closed the connection. */
static bool
raw_dropped(int s)
{
	char b[512];
	int i;
	for (i = 0; i < 100; i++) {
		ssize_t n;
		vmb_bus_host_poll(H.bus, 5);
		n = recv(s, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0)
			return true;
	}
	return false;
}

static void
raw_contact(int s, int memfd)
{
	struct vmbus_chanmsg_connect m = {.hdr.type = VMBUS_CHANMSG_TYPE_CONNECT,
					  .ver = VMB_BUS_VERSION_WIN10_V5_3};
	raw_send(s, &m, sizeof(m), 0x46424d56u, 1, &memfd);
}

static int step_no;
static void
step(int *all, bool v)
{
	step_no++;
	if (!v)
		fprintf(stderr, "malformed: step %d failed\n", step_no);
	*all &= v;
}

static void
scenario_malformed(void)
{
	struct vmb_guest_mem mem;
	struct vmb_bus_host_stats st0, st;
	pid_t kid[1];
	int s, ok, all = 1;

	host_up(false);
	CHECK(vmb_mem_create(&mem, 1 << 20, VMB_MEM_MEMFD) == 0);
	kid[0] = spawn_guest(false, 3, false); /* a well-behaved guest runs meanwhile */

	/* bad magic */
	s = raw_connect();
	raw_send(s, "xxxxxxxx", 8, 0xdeadbeef, 0, NULL);
	step(&all, raw_dropped(s));
	close(s);
	/* a message before contact */
	s = raw_connect();
	{
		struct vmbus_chanmsg_hdr m = {.type = VMBUS_CHANMSG_TYPE_CHREQUEST};
		raw_send(s, &m, sizeof(m), 0x46424d56u, 0, NULL);
	}
	step(&all, raw_dropped(s));
	close(s);
	/* truncated contact (too short for its type) */
	s = raw_connect();
	{
		struct vmbus_chanmsg_hdr m = {.type = VMBUS_CHANMSG_TYPE_CONNECT};
		raw_send(s, &m, sizeof(m), 0x46424d56u, 1, &mem.fd);
	}
	step(&all, raw_dropped(s));
	close(s);
	/* contact without the memory descriptor, and one with extra descriptors */
	s = raw_connect();
	{
		struct vmbus_chanmsg_connect m = {.hdr.type = VMBUS_CHANMSG_TYPE_CONNECT,
						  .ver = VMB_BUS_VERSION_WIN10_V5_3};
		raw_send(s, &m, sizeof(m), 0x46424d56u, 0, NULL);
	}
	step(&all, raw_dropped(s));
	close(s);
	s = raw_connect();
	{
		struct vmbus_chanmsg_connect m = {.hdr.type = VMBUS_CHANMSG_TYPE_CONNECT,
						  .ver = VMB_BUS_VERSION_WIN10_V5_3};
		int fds[3] = {mem.fd, mem.fd, mem.fd};
		raw_send(s, &m, sizeof(m), 0x46424d56u, 3, fds);
	}
	step(&all, raw_dropped(s));
	close(s);
	/* frame header announcing more payload than allowed */
	s = raw_connect();
	{
		uint8_t big[300] = {0};
		raw_send(s, big, sizeof(big), 0x46424d56u, 0, NULL);
	}
	step(&all, raw_dropped(s));
	close(s);
	/* half a frame, then silence: the host is not stuck (the good guest finishes) */
	s = raw_connect();
	{
		uint32_t magic = 0x46424d56u;
		CHECK(send(s, &magic, 4, MSG_NOSIGNAL) == 4);
	}

	/* GPADL with pages outside guest memory: refused with a failure status, guest kept */
	{
		int s2 = raw_connect();
		uint8_t buf[240];
		struct vmbus_chanmsg_gpadl_conn g;
		uint64_t far = 1ull << 30;
		struct vmbus_chanmsg_hdr req = {.type = VMBUS_CHANMSG_TYPE_CHREQUEST};
		bool got_fail = false;
		int i;

		vmb_bus_host_get_stats(H.bus, &st0);
		raw_contact(s2, mem.fd);
		raw_send(s2, &req, sizeof(req), 0x46424d56u, 0, NULL);
		memset(&g, 0, sizeof(g));
		g.hdr.type = VMBUS_CHANMSG_TYPE_GPADL_CONN;
		g.chanid = 1;
		g.gpadl = 77;
		g.range_len = 16;
		g.range_cnt = 1;
		g.range.len = 4096;
		memcpy(buf, &g, sizeof(g));
		memcpy(buf + sizeof(g), &far, 8);
		raw_send(s2, buf, sizeof(g) + 8, 0x46424d56u, 0, NULL);
		{
			/* collect what the host answers and walk it frame by frame */
			static uint8_t acc[8192];
			size_t have = 0;
			for (i = 0; i < 200 && !got_fail; i++) {
				ssize_t n;
				size_t off = 0;
				vmb_bus_host_poll(H.bus, 5);
				while (have < sizeof(acc) &&
				       (n = recv(s2, acc + have, sizeof(acc) - have, MSG_DONTWAIT)) > 0)
					have += (size_t)n;
				while (off + 8 <= have) {
					uint16_t flen;
					struct vmbus_chanmsg_gpadl_connresp cr;
					memcpy(&flen, acc + off + 4, 2);
					if (off + 8 + flen > have)
						break;
					if (flen >= sizeof(cr)) {
						memcpy(&cr, acc + off + 8, sizeof(cr));
						if (cr.hdr.type == VMBUS_CHANMSG_TYPE_GPADL_CONNRESP &&
						    cr.gpadl == 77 && cr.status != 0)
							got_fail = true;
					}
					off += 8 + flen;
				}
			}
		}
		vmb_bus_host_get_stats(H.bus, &st);
		step(&all, got_fail);
		step(&all, st.protocol_errors > st0.protocol_errors);
		close(s2);
	}
	ok = host_serve(kid, 1, 60);
	close(s);
	step(&all, ok == 1);
	report("malformed control messages refused; a well-behaved guest served meanwhile", all);
	vmb_mem_destroy(&mem);
	host_down();
}

static atomic_bool serve_stop;

static void *
serve_bus(void *arg)
{
	(void)arg;
	while (!atomic_load(&serve_stop))
		vmb_bus_host_poll(H.bus, 2);
	return NULL;
}

/* Guests killed with -9 at random points of connect / GPADL / open / traffic / close / unload:
 * each time the host cleans up (no guest left, no descriptor or guest-memory mapping left) and
 * then serves a well-behaved guest. */
static int count_fds(void);
static int count_memfd_maps(void);

static void
scenario_guest_crash_points(void)
{
	uint32_t seed = 4242, k, bad = 0;
	int fds0;

	host_up(false);
	fds0 = count_fds();
	for (k = 0; k < 20; k++) {
		pid_t pid;
		double t0, t;
		fflush(stdout);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			execl("/proc/self/exe", "test_bus", "--guest-cycle", sock_path, (char *)NULL);
			_exit(127);
		}
		seed = seed * 1103515245u + 12345u;
		t = 0.005 + (seed >> 8) % 1000 / 1000.0 * 0.08; /* 5..85 ms: any step */
		t0 = now_s();
		while (now_s() - t0 < t)
			vmb_bus_host_poll(H.bus, 1);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* settle: a connection the guest left in the listen backlog is accepted and then
		 * dropped; count only once the host has seen everything */
		for (t0 = now_s(); now_s() - t0 < 5;) {
			double quiet = now_s();
			while (now_s() - quiet < 0.03)
				vmb_bus_host_poll(H.bus, 5);
			if (vmb_bus_host_guest_count(H.bus) == 0)
				break;
		}
		{
			/* a leak is what stays: look again a few times while the host keeps serving */
			uint32_t guests = 0, open = 0, tries;
			int fds = 0, maps = 0;
			for (tries = 0; tries < 10; tries++) {
				double quiet = now_s();
				guests = vmb_bus_host_guest_count(H.bus);
				open = atomic_load(&H.open_channels);
				fds = count_fds();
				maps = count_memfd_maps();
				if (guests == 0 && open == 0 && fds <= fds0 && maps == 0)
					break;
				while (now_s() - quiet < 0.03)
					vmb_bus_host_poll(H.bus, 5);
			}
			if (guests != 0 || open != 0 || fds > fds0 || maps != 0) {
				if (getenv("VMB_DEBUG"))
					fprintf(stderr, "crash point %u: guests %u open %u fds %d/%d maps %d\n",
						k, guests, open, fds, fds0, maps);
				bad++;
			}
		}
	}
	{
		pid_t kid[1] = {spawn_guest(false, 1, false)};
		int ok = host_serve(kid, 1, 60);
		report("guests killed at 20 random control-plane points: host cleans up every time, "
		       "no leak, then serves a new guest",
		       bad == 0 && ok == 1);
	}
	host_down();
}

/* The host killed with -9 under a guest: the guest notices, its channel closes, nothing of
 * the connection is left, and it connects to a new host. */
static void
scenario_host_crash(void)
{
	struct vmb_guest_mem mem;
	struct vmb_bus_guest_config gc = {.path = sock_path, .mem = &mem};
	struct vmb_bus_guest *g;
	struct vmb_channel *ch;
	pid_t host;
	double t0;
	int fds0, rc = 0;
	bool ok = true;

	fds0 = count_fds();
	CHECK(vmb_mem_create(&mem, 4 << 20, VMB_MEM_MEMFD) == 0);
	for (int round = 0; round < 2; round++) {
		fflush(stdout);
		host = fork();
		CHECK(host >= 0);
		if (host == 0) {
			execl("/proc/self/exe", "test_bus", "--host-serve", sock_path, (char *)NULL);
			_exit(127);
		}
		for (t0 = now_s(); vmb_bus_guest_connect(&gc, &g) != 0; usleep(2000))
			CHECK(now_s() - t0 < 10);
		CHECK(vmb_channel_alloc(false, &ch) == 0);
		CHECK(vmb_channel_init_set_process_packet(ch, guest_process, NULL) == 0);
		CHECK(vmb_channel_init_set_interface(ch, &echo_type, NULL) == 0);
		CHECK(vmb_bus_guest_attach(g, ch, 0) == 0);
		CHECK(vmb_channel_enable(ch) == 0);
		kill(host, SIGKILL);
		waitpid(host, NULL, 0);
		for (t0 = now_s(); (rc = vmb_bus_guest_poll(g, 10)) >= 0 && now_s() - t0 < 5;)
			;
		if (getenv("VMB_DEBUG"))
			fprintf(stderr, "host crash round %d: rc %d state %d\n", round, rc,
				vmb_channel_state(ch));
		ok = ok && rc == -ENOTCONN && vmb_channel_state(ch) == VMB_CHANNEL_DISABLED;
		vmb_bus_guest_disconnect(g);
		CHECK(vmb_channel_cleanup(ch) == 0);
	}
	vmb_mem_destroy(&mem);
	if (getenv("VMB_DEBUG"))
		fprintf(stderr, "host crash: fds %d/%d maps %d\n", count_fds(), fds0, count_memfd_maps());
	report("host killed with -9: the guest notices, closes, leaks nothing, reconnects to a new "
	       "host",
	       ok && count_fds() <= fds0 && count_memfd_maps() == 0);
	unlink(sock_path);
}

struct kill_later {
	pid_t pid;
	useconds_t us;
};

static void *
kill_host_later(void *arg)
{
	struct kill_later *k = arg;
	usleep(k->us);
	kill(k->pid, SIGKILL);
	return NULL;
}

/* One guest cycle that tolerates the host vanishing at any step. @return 0 when every step
 * worked. Everything it created is released either way. */
static int
guest_cycle_tolerant(void)
{
	struct vmb_guest_mem mem;
	struct vmb_bus_guest_config gc = {.path = sock_path, .mem = &mem, .timeout_ms = 500};
	struct vmb_bus_guest *g = NULL;
	struct vmb_channel *ch = NULL;
	int rc, i;

	CHECK(vmb_mem_create(&mem, 4 << 20, VMB_MEM_MEMFD) == 0);
	rc = vmb_bus_guest_connect(&gc, &g);
	if (rc == 0) {
		CHECK(vmb_channel_alloc(false, &ch) == 0);
		CHECK(vmb_channel_init_set_process_packet(ch, guest_process, NULL) == 0);
		CHECK(vmb_channel_init_set_interface(ch, &echo_type, NULL) == 0);
		CHECK(vmb_channel_init_set_ring_pages(ch, 4, 30) == 0);
		CHECK(vmb_bus_guest_attach(g, ch, 0) == 0);
		rc = vmb_channel_enable(ch);
		for (i = 0; rc == 0 && i < 20; i++) {
			struct vmb_packet *p = vmb_packet_alloc(ch);
			vmb_packet_set_completion(p, guest_done);
			if (vmb_packet_send(p, &i, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) != 0)
				vmb_packet_free(p);
			vmb_channel_poll(ch, 16);
			rc = vmb_bus_guest_poll(g, 1) < 0 ? -ENOTCONN : 0;
		}
		if (vmb_channel_state(ch) != VMB_CHANNEL_DISABLED)
			vmb_channel_disable(ch);
		vmb_bus_guest_disconnect(g);
		CHECK(vmb_channel_cleanup(ch) == 0);
	}
	vmb_mem_destroy(&mem);
	return rc;
}

/* The host killed with -9 at random points of the guest's connect / GPADL / open / traffic /
 * close / unload: the guest gets an error at whatever step it was, releases everything (no
 * descriptor or guest-memory mapping left), and works with the next host. */
static void
scenario_host_crash_points(void)
{
	uint32_t seed = 777, k;
	int fds0, bad = 0, rc;

	fds0 = count_fds();
	for (k = 0; k < 12; k++) {
		pid_t host;
		double t0;
		fflush(stdout);
		host = fork();
		CHECK(host >= 0);
		if (host == 0) {
			execl("/proc/self/exe", "test_bus", "--host-serve", sock_path, (char *)NULL);
			_exit(127);
		}
		for (t0 = now_s(); access(sock_path, F_OK) != 0 && now_s() - t0 < 5;)
			usleep(1000);
		usleep(20000); /* the host listens */
		seed = seed * 1103515245u + 12345u;
		{
			/* a killer thread picks the moment: 0..30 ms into the guest's cycles */
			pthread_t th;
			struct kill_later kill_at = {host, (seed >> 8) % 30000};
			CHECK(pthread_create(&th, NULL, kill_host_later, &kill_at) == 0);
			while (guest_cycle_tolerant() == 0)
				;
			pthread_join(th, NULL);
		}
		waitpid(host, NULL, 0);
		unlink(sock_path);
		if (count_fds() > fds0 || count_memfd_maps() != 0)
			bad++;
	}
	/* and a new host serves a complete cycle */
	{
		pid_t host = fork();
		double t0;
		CHECK(host >= 0);
		if (host == 0) {
			execl("/proc/self/exe", "test_bus", "--host-serve", sock_path, (char *)NULL);
			_exit(127);
		}
		for (t0 = now_s(); access(sock_path, F_OK) != 0 && now_s() - t0 < 5;)
			usleep(1000);
		usleep(20000);
		rc = guest_cycle_tolerant();
		kill(host, SIGKILL);
		waitpid(host, NULL, 0);
		unlink(sock_path);
	}
	report("host killed at 12 random control-plane points: the guest fails cleanly at each, "
	       "leaks nothing, and works with the next host",
	       bad == 0 && rc == 0);
}

/* The host rescinds while a guest has the channel open: the guest's channel goes Disabled. */
static void
scenario_rescind(void)
{
	struct vmb_guest_mem mem;
	struct vmb_bus_guest_config gc = {.path = sock_path, .mem = &mem};
	struct vmb_bus_guest *g;
	struct vmb_channel *ch;
	struct vmb_bus_offer_info oi;
	struct vmb_bus_host_stats st;
	uint64_t pfn;
	uint32_t buf_id;
	pthread_t th;
	int i;
	bool ok;

	host_up(false);
	CHECK(vmb_mem_create(&mem, 8 << 20, VMB_MEM_MEMFD) == 0);
	/* the guest runs in this process here; the host's bus is served by a thread */
	atomic_store(&serve_stop, false);
	CHECK(pthread_create(&th, NULL, serve_bus, NULL) == 0);
	CHECK(vmb_bus_guest_connect(&gc, &g) == 0);
	CHECK(vmb_channel_alloc(false, &ch) == 0);
	CHECK(vmb_channel_init_set_process_packet(ch, guest_process, NULL) == 0);
	CHECK(vmb_channel_init_set_interface(ch, &echo_type, NULL) == 0);
	CHECK(vmb_bus_guest_attach(g, ch, 0) == 0);
	CHECK(vmb_channel_enable(ch) == 0);
	CHECK(vmb_mem_alloc_pages(&mem, 3, &pfn) == 0);
	CHECK(vmb_bus_guest_gpadl_create(g, ch, pfn, 3, &buf_id) == 0); /* a buffer as well */
	atomic_store(&serve_stop, true);
	pthread_join(th, NULL);
	CHECK(vmb_bus_host_rescind(H.bus, H.offer) == 0);
	for (i = 0; i < 100 && vmb_channel_state(ch) != VMB_CHANNEL_DISABLED; i++) {
		vmb_bus_host_poll(H.bus, 1);
		vmb_bus_guest_poll(g, 1);
	}
	/* the guest tore the buffer and the rings down with the channel (without waiting) */
	for (i = 0; i < 100 && (vmb_bus_host_get_stats(H.bus, &st), st.gpadls_torn_down < 2); i++)
		vmb_bus_host_poll(H.bus, 1);
	vmb_bus_guest_offers(g, &oi, 1);
	ok = vmb_channel_state(ch) == VMB_CHANNEL_DISABLED && oi.rescinded &&
	     atomic_load(&H.open_channels) == 0;
	ok = ok && st.gpadls_created == 2 && st.gpadls_torn_down == 2 && st.protocol_errors == 0 &&
	     vmb_bus_guest_gpadl_teardown(g, buf_id) == -ENOENT;
	/* a rescinded offer can not be opened again */
	ok = ok && vmb_channel_enable(ch) == -ENOENT;
	report("rescind closes the guest's channel and tears its buffer GPADL down", ok);
	vmb_bus_guest_disconnect(g);
	vmb_channel_cleanup(ch);
	vmb_mem_destroy(&mem);
	host_down();
}

/* ================= buffer GPADLs (netvsc's receive/send buffers) ================= */

/* A "buffer VSP": the guest shares buffers as GPADLs of its open channel and names them in
 * requests; the host maps them by id (vmb_bus_conn_gpadl_map), on its poller thread, while its
 * control thread adds and removes GPADLs. */
static const struct vmb_guid buf_type = {{0x42, 0x55, 0x46, 0x46, 3}};
static const struct vmb_guid buf_inst = {{0x42, 0x55, 0x46, 0x49, 4}};

enum buf_op {
	BUF_CHECK = 1,   /* map, verify the guest's pattern(seed), write pattern(seed + 1), unmap */
	BUF_CHECK_RO,    /* map, verify the guest's pattern(seed), unmap */
	BUF_KEEP,        /* map and keep the mapping until the channel closes */
	BUF_CHECK_KEPT,  /* through the kept mapping: verify pattern(seed), write pattern(seed + 1) */
	BUF_HANDOVER,    /* (servicing host) hand the host over to a successor after this */
};

struct buf_req {
	uint32_t op, gpadl, npages, seed;
};

/* What a guest or the host writes: a different 64-bit word everywhere, per seed. */
static uint64_t
buf_word(uint32_t seed, uint64_t i)
{
	return ((uint64_t)seed * 0x9E3779B97F4A7C15ull) ^ (i * 0xD6E8FEB86659FD93ull) ^ i;
}

static void
buf_fill(void *p, uint64_t bytes, uint32_t seed)
{
	uint64_t i, w;
	for (i = 0; i < bytes / 8; i++) {
		w = buf_word(seed, i);
		memcpy((uint8_t *)p + i * 8, &w, 8);
	}
}

static bool
buf_verify(const void *p, uint64_t bytes, uint32_t seed)
{
	uint64_t i, w;
	for (i = 0; i < bytes / 8; i++) {
		memcpy(&w, (const uint8_t *)p + i * 8, 8);
		if (w != buf_word(seed, i))
			return false;
	}
	return true;
}

/* One per open channel (the channel's context). */
struct buf_chan {
	struct vmb_bus_conn *conn; /* valid until our close callback returns */
	struct vmb_mapping kept;
};

static atomic_bool buf_handover_requested;

/* @return 0, or what went wrong (negative errno; -EBADMSG: not the expected content). */
static int32_t
buf_serve(struct buf_chan *bc, const struct buf_req *r)
{
	struct vmb_mapping m;
	int rc;

	switch (r->op) {
	case BUF_CHECK:
	case BUF_CHECK_RO:
		rc = vmb_bus_conn_gpadl_map(bc->conn, r->gpadl, &m);
		if (rc)
			return rc;
		if (m.len != (uint64_t)r->npages * 4096)
			rc = -ERANGE;
		else if (!buf_verify(m.addr, m.len, r->seed))
			rc = -EBADMSG;
		else if (r->op == BUF_CHECK)
			buf_fill(m.addr, m.len, r->seed + 1);
		vmb_mapping_unmap(&m);
		return rc;
	case BUF_KEEP:
		if (bc->kept.addr)
			return -EEXIST;
		return vmb_bus_conn_gpadl_map(bc->conn, r->gpadl, &bc->kept);
	case BUF_CHECK_KEPT:
		if (bc->kept.addr == NULL)
			return -ENOENT;
		if (!buf_verify(bc->kept.addr, bc->kept.len, r->seed))
			return -EBADMSG;
		buf_fill(bc->kept.addr, bc->kept.len, r->seed + 1);
		return 0;
	case BUF_HANDOVER:
		return 0; /* after the answer: see buf_host_process */
	default:
		return -EINVAL;
	}
}

static void
buf_host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
		 uint32_t flags)
{
	struct buf_req r;
	int32_t status = -EINVAL;

	(void)flags;
	if (len >= sizeof(r)) {
		memcpy(&r, buf, sizeof(r));
		status = buf_serve(vmb_channel_get_context(ch), &r);
	}
	vmb_rx_complete(rx, &status, sizeof(status));
	if (len >= sizeof(r) && r.op == BUF_HANDOVER)
		atomic_store(&buf_handover_requested, true); /* answered: nothing left outstanding */
}

static struct vmb_channel *
buf_host_on_open(void *ctx, struct vmb_bus_conn *conn, uint32_t offer)
{
	struct vmb_poller *poller = ctx;
	struct buf_chan *bc = calloc(1, sizeof(*bc));
	struct vmb_channel *ch;

	(void)offer;
	if (bc == NULL || vmb_channel_alloc(true, &ch) != 0) {
		free(bc);
		return NULL;
	}
	bc->conn = conn;
	vmb_channel_set_context(ch, bc);
	vmb_channel_init_set_process_packet(ch, buf_host_process, NULL);
	vmb_channel_init_set_interface(ch, &buf_type, &buf_inst);
	CHECK(vmb_poller_add(poller, ch) == 0);
	atomic_fetch_add(&H.open_channels, 1);
	return ch;
}

static void
buf_host_on_close(void *ctx, struct vmb_bus_conn *conn, uint32_t offer, struct vmb_channel *ch)
{
	struct vmb_poller *poller = ctx;
	struct buf_chan *bc = vmb_channel_get_context(ch);

	(void)offer;
	CHECK(bc->conn == conn);
	CHECK(vmb_poller_remove(poller, ch) == 0);
	CHECK(vmb_channel_disable(ch) == 0);
	CHECK(vmb_channel_cleanup(ch) == 0);
	vmb_mapping_unmap(&bc->kept); /* the device lets go of the guest's buffer */
	free(bc);
	atomic_fetch_sub(&H.open_channels, 1);
}

static struct vmb_bus_offer
buf_offer(struct vmb_poller *poller)
{
	struct vmb_bus_offer o = {.type = buf_type, .instance = buf_inst, .on_open = buf_host_on_open,
				  .on_close = buf_host_on_close, .ctx = poller};
	return o;
}

/* The host (this process) with the buffer VSP only; a small GPADL table (ring + 3) so that a
 * refusal can be provoked. */
static void
buf_host_up(void)
{
	struct vmb_bus_host_config bc = {.path = sock_path, .max_gpadls = 4};
	struct vmb_poller_config pc = {.cpu = -1};
	struct vmb_bus_offer o;

	memset(&H, 0, sizeof(H));
	CHECK(vmb_poller_create(&pc, &H.poller) == 0);
	CHECK(vmb_poller_start(H.poller) == 0);
	CHECK(vmb_bus_host_create(&bc, &H.bus) == 0);
	o = buf_offer(H.poller);
	CHECK(vmb_bus_host_add_offer(H.bus, &o, &H.offer) == 0);
}

/* ---- guest side ---- */

struct buf_guest {
	struct vmb_guest_mem mem;
	struct vmb_bus_guest *g;
	struct vmb_channel *ch;
	_Atomic uint32_t answers;
	_Atomic int32_t last_status;
	_Atomic uint32_t bad_answers; /* asynchronous requests that did not answer 0 */
};
static struct buf_guest BG;

static void
buf_guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
		  uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	vmb_rx_complete(rx, NULL, 0);
}

static void
buf_guest_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	int32_t st = -EPROTO;

	if (status == 0 && len >= sizeof(st))
		memcpy(&st, buf, sizeof(st));
	if (vmb_packet_get_context(p) != NULL && st != 0)
		atomic_fetch_add(&BG.bad_answers, 1);
	atomic_store(&BG.last_status, st);
	atomic_fetch_add(&BG.answers, 1);
	vmb_packet_free(p);
}

/* Send a request; @p async: do not wait (its answer is counted). */
static void
buf_send(uint32_t op, uint32_t gpadl, uint32_t npages, uint32_t seed, bool async)
{
	struct buf_req r = {op, gpadl, npages, seed};
	struct vmb_packet *p = vmb_packet_alloc(BG.ch);

	CHECK(p != NULL);
	vmb_packet_set_context(p, async ? (void *)1 : NULL);
	vmb_packet_set_completion(p, buf_guest_done);
	CHECK(vmb_packet_send(p, &r, sizeof(r), VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0);
}

/* Wait until @p n answers arrived in all (the channel is polled here, no poller thread). */
static void
buf_wait_answers(uint32_t n)
{
	double t0 = now_s();
	while (atomic_load(&BG.answers) < n) {
		vmb_channel_poll(BG.ch, 16);
		CHECK(vmb_bus_guest_poll(BG.g, 0) >= 0);
		if (now_s() - t0 > 30)
			FAIL("no answer from the buffer VSP");
		usleep(100);
	}
}

/* A request and its answer: the VSP's status. */
static int32_t
buf_call(uint32_t op, uint32_t gpadl, uint32_t npages, uint32_t seed)
{
	uint32_t n = atomic_load(&BG.answers);
	buf_send(op, gpadl, npages, seed, false);
	buf_wait_answers(n + 1);
	return atomic_load(&BG.last_status);
}

static void *
buf_pages(uint64_t pfn)
{
	return BG.mem.base + (pfn << 12);
}

static void
buf_guest_connect(int timeout_ms)
{
	struct vmb_bus_guest_config gc = {.path = sock_path, .mem = &BG.mem, .timeout_ms = timeout_ms};
	struct vmb_bus_offer_info oi;
	double t0 = now_s();

	memset(&BG, 0, sizeof(BG));
	CHECK(vmb_mem_create(&BG.mem, 64 << 20, VMB_MEM_MEMFD) == 0); /* sparse: what is touched */
	while (vmb_bus_guest_connect(&gc, &BG.g) != 0) {
		CHECK(now_s() - t0 < 10);
		usleep(2000);
	}
	CHECK(vmb_bus_guest_offers(BG.g, &oi, 1) == 1);
	CHECK(memcmp(oi.type.b, buf_type.b, 16) == 0);
	CHECK(vmb_channel_alloc(false, &BG.ch) == 0);
	CHECK(vmb_channel_init_set_process_packet(BG.ch, buf_guest_process, NULL) == 0);
	CHECK(vmb_channel_init_set_interface(BG.ch, &buf_type, NULL) == 0);
	CHECK(vmb_channel_init_set_ring_pages(BG.ch, 4, 4) == 0);
	CHECK(vmb_bus_guest_attach(BG.g, BG.ch, 0) == 0);
}

static void
buf_guest_close(void)
{
	vmb_bus_guest_disconnect(BG.g);
	CHECK(vmb_channel_cleanup(BG.ch) == 0);
	vmb_mem_destroy(&BG.mem);
}

/* The whole life of buffer GPADLs on one connection; exits non-zero at the first surprise. */
static int
guest_gpadl_main(void)
{
	struct vmb_channel *stray;
	uint64_t pfn, one;
	uint32_t id1, a, b, c, d, e, tmp, bogus = 0x7fff0001u, n0, k;

	buf_guest_connect(0);

	/* before the channel is open: nothing to create a GPADL for; a channel not bound to this
	 * connection is not ours */
	CHECK(vmb_mem_alloc_pages(&BG.mem, 40, &pfn) == 0);
	CHECK(vmb_mem_alloc_pages(&BG.mem, 1, &one) == 0);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, pfn, 40, &id1) == -ENOTCONN);
	CHECK(vmb_channel_alloc(false, &stray) == 0);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, stray, pfn, 40, &id1) == -EINVAL);
	CHECK(vmb_channel_cleanup(stray) == 0);
	CHECK(vmb_channel_enable(BG.ch) == 0);

	/* a 40-page buffer (header + body messages): the host sees what the guest wrote, and the
	 * guest what the host wrote */
	buf_fill(buf_pages(pfn), 40 * 4096, 1);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, pfn, 40, &id1) == 0 && id1 != 0);
	CHECK(buf_call(BUF_CHECK, id1, 40, 1) == 0);
	CHECK(buf_verify(buf_pages(pfn), 40 * 4096, 2));

	/* refused locally: no pages, pages outside guest memory, more pages than one GPADL */
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, pfn, 0, &tmp) == -EINVAL);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, BG.mem.page_count - 1, 2, &tmp) == -EINVAL);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, BG.mem.page_count, 1, &tmp) == -EINVAL);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, UINT64_MAX - 1, 4, &tmp) == -EINVAL);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, 0, 8191, &tmp) == -EINVAL);
	/* the largest one: 8190 pages (8 + 8 * 8190 bytes of page list, in ~300 messages) */
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, 0, 8190, &tmp) == 0);
	CHECK(vmb_bus_guest_gpadl_teardown(BG.g, tmp) == 0);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, pfn, 1, NULL) == -EINVAL);

	/* ids nobody created: unknown to both ends */
	CHECK(buf_call(BUF_CHECK, bogus, 1, 1) == -ENOENT);
	CHECK(buf_call(BUF_CHECK, 0, 1, 1) == -ENOENT);
	CHECK(vmb_bus_guest_gpadl_teardown(BG.g, bogus) == -ENOENT);
	CHECK(vmb_bus_guest_gpadl_teardown(BG.g, 0) == -ENOENT);

	/* concurrency: the host maps id1 on its poller thread while its control thread creates and
	 * tears down other GPADLs of this connection */
	buf_fill(buf_pages(pfn), 40 * 4096, 3);
	n0 = atomic_load(&BG.answers);
	for (k = 0; k < 100; k++) {
		buf_send(BUF_CHECK_RO, id1, 40, 3, true);
		CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, one, 1, &tmp) == 0);
		CHECK(vmb_bus_guest_gpadl_teardown(BG.g, tmp) == 0);
		vmb_channel_poll(BG.ch, 16);
	}
	buf_wait_answers(n0 + 100);
	CHECK(atomic_load(&BG.bad_answers) == 0);

	/* teardown: the id is gone on both ends, but a mapping the host made before stays its own
	 * view of the same memory */
	CHECK(buf_call(BUF_KEEP, id1, 40, 0) == 0);
	CHECK(vmb_bus_guest_gpadl_teardown(BG.g, id1) == 0);
	CHECK(vmb_bus_guest_gpadl_teardown(BG.g, id1) == -ENOENT);
	CHECK(buf_call(BUF_CHECK, id1, 40, 3) == -ENOENT);
	buf_fill(buf_pages(pfn), 40 * 4096, 7);
	CHECK(buf_call(BUF_CHECK_KEPT, 0, 0, 7) == 0);
	CHECK(buf_verify(buf_pages(pfn), 40 * 4096, 8));

	/* the host's table holds 4 (ring + 3): the fourth buffer is refused, the connection stays */
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, one, 1, &a) == 0);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, one, 1, &b) == 0);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, one, 1, &c) == 0);
	CHECK(a != b && b != c && a != c);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, one, 1, &tmp) == -EPROTO);
	CHECK(vmb_bus_guest_gpadl_teardown(BG.g, c) == 0);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, one, 1, &d) == 0);
	buf_fill(buf_pages(one), 4096, 9);
	CHECK(buf_call(BUF_CHECK, d, 1, 9) == 0);

	/* closing the channel tears its buffers down (the host counts them), then the rings */
	CHECK(vmb_channel_disable(BG.ch) == 0);
	CHECK(vmb_bus_guest_gpadl_teardown(BG.g, a) == -ENOENT);
	CHECK(vmb_bus_guest_gpadl_teardown(BG.g, d) == -ENOENT);

	/* reopen, a buffer the host keeps mapped, and disconnect with both still there */
	CHECK(vmb_channel_enable(BG.ch) == 0);
	buf_fill(buf_pages(one), 4096, 11);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, one, 1, &e) == 0);
	CHECK(buf_call(BUF_CHECK, e, 1, 11) == 0);
	CHECK(buf_call(BUF_KEEP, e, 1, 0) == 0);
	buf_guest_close(); /* CLOSE, buffer teardown, ring teardown, UNLOAD */
	return 0;
}

/* Buffer GPADLs (one of them mapped by the host) and then killed: the host frees them with the
 * connection. */
static int
guest_gpadl_die(void)
{
	uint64_t pfn;
	uint32_t id, id2;

	buf_guest_connect(0);
	CHECK(vmb_channel_enable(BG.ch) == 0);
	CHECK(vmb_mem_alloc_pages(&BG.mem, 8, &pfn) == 0);
	buf_fill(buf_pages(pfn), 8 * 4096, 5);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, pfn, 8, &id) == 0);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, pfn, 4, &id2) == 0);
	CHECK(buf_call(BUF_KEEP, id, 8, 0) == 0);
	kill(getpid(), SIGKILL);
	return 1;
}

static pid_t
spawn_mode(const char *mode)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_bus", mode, sock_path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
scenario_gpadl(void)
{
	struct vmb_bus_host_stats st;
	pid_t kid[1];
	int ok;

	buf_host_up();
	kid[0] = spawn_mode("--guest-gpadl");
	ok = host_serve(kid, 1, 60);
	vmb_bus_host_get_stats(H.bus, &st);
	if (getenv("VMB_DEBUG"))
		fprintf(stderr, "gpadl: ok %d created %llu torn down %llu perr %llu open %u maps %d\n",
			ok, (unsigned long long)st.gpadls_created,
			(unsigned long long)st.gpadls_torn_down,
			(unsigned long long)st.protocol_errors, atomic_load(&H.open_channels),
			count_memfd_maps());
	/* created: 2 rings, 1 + 1 + 100 + 4 + 1 buffers; every one torn down; one refusal */
	report("buffer GPADLs: guest and host see each other's bytes, mapped on the host's data "
	       "path while its control thread changes the table, ids unknown or torn down refused, "
	       "a host mapping outlives the teardown, a full table refuses and the guest stays, "
	       "channel close and disconnect tear them down",
	       ok == 1 && st.gpadls_created == 109 && st.gpadls_torn_down == 109 &&
		       st.protocol_errors == 1 && atomic_load(&H.open_channels) == 0 &&
		       vmb_bus_host_guest_count(H.bus) == 0 && count_memfd_maps() == 0);

	kid[0] = spawn_mode("--guest-gpadl-die");
	host_serve(kid, 1, 60);
	report("a guest killed with buffer GPADLs (one mapped by the host): no mapping left",
	       atomic_load(&H.open_channels) == 0 && vmb_bus_host_guest_count(H.bus) == 0 &&
		       count_memfd_maps() == 0);
	host_down();
}

/* The host does not answer in time (this process is both ends; the host is served only when
 * the test says so): a creation that timed out and is answered late is torn down, a late
 * teardown answer is ignored, and the connection stays usable. */
static void
scenario_gpadl_timeout(void)
{
	struct vmb_guest_mem mem;
	struct vmb_bus_guest_config gc = {.path = sock_path, .mem = &mem, .timeout_ms = 200};
	struct vmb_bus_host_stats st0, st;
	struct vmb_bus_guest *g;
	struct vmb_channel *ch;
	uint64_t pfn;
	uint32_t id1, id2, id3;
	pthread_t th;
	bool ok = true;
	int i;

	host_up(false);
	CHECK(vmb_mem_create(&mem, 8 << 20, VMB_MEM_MEMFD) == 0);
	CHECK(vmb_mem_alloc_pages(&mem, 4, &pfn) == 0);
	atomic_store(&serve_stop, false);
	CHECK(pthread_create(&th, NULL, serve_bus, NULL) == 0);
	CHECK(vmb_bus_guest_connect(&gc, &g) == 0);
	CHECK(vmb_channel_alloc(false, &ch) == 0);
	CHECK(vmb_channel_init_set_process_packet(ch, guest_process, NULL) == 0);
	CHECK(vmb_channel_init_set_interface(ch, &echo_type, NULL) == 0);
	CHECK(vmb_bus_guest_attach(g, ch, 0) == 0);
	CHECK(vmb_channel_enable(ch) == 0);
	CHECK(vmb_bus_guest_gpadl_create(g, ch, pfn, 4, &id1) == 0);
	atomic_store(&serve_stop, true);
	pthread_join(th, NULL);

	/* nobody serves: the creation times out; served later, the host creates it after all and
	 * the guest, handling the late answer, tears it down */
	vmb_bus_host_get_stats(H.bus, &st0);
	ok = ok && vmb_bus_guest_gpadl_create(g, ch, pfn, 4, &id2) == -ETIMEDOUT;
	for (i = 0; i < 200 && (vmb_bus_host_get_stats(H.bus, &st),
				st.gpadls_torn_down < st0.gpadls_torn_down + 1); i++) {
		vmb_bus_host_poll(H.bus, 1);
		ok = ok && vmb_bus_guest_poll(g, 1) >= 0;
	}
	ok = ok && st.gpadls_created == st0.gpadls_created + 1 &&
	     st.gpadls_torn_down == st0.gpadls_torn_down + 1;

	/* a teardown that times out: the GPADL is no longer the guest's; the late answer is
	 * ignored */
	ok = ok && vmb_bus_guest_gpadl_teardown(g, id1) == -ETIMEDOUT;
	ok = ok && vmb_bus_guest_gpadl_teardown(g, id1) == -ENOENT;
	for (i = 0; i < 20; i++) {
		vmb_bus_host_poll(H.bus, 1);
		ok = ok && vmb_bus_guest_poll(g, 1) >= 0;
	}
	vmb_bus_host_get_stats(H.bus, &st);
	ok = ok && st.gpadls_torn_down == st0.gpadls_torn_down + 2 && st.protocol_errors == 0 &&
	     vmb_channel_state(ch) == VMB_CHANNEL_OPENED;

	/* the connection still works */
	atomic_store(&serve_stop, false);
	CHECK(pthread_create(&th, NULL, serve_bus, NULL) == 0);
	ok = ok && vmb_bus_guest_gpadl_create(g, ch, pfn, 4, &id3) == 0;
	ok = ok && vmb_bus_guest_gpadl_teardown(g, id3) == 0;
	vmb_bus_guest_disconnect(g);
	atomic_store(&serve_stop, true);
	pthread_join(th, NULL);
	for (i = 0; i < 50 && vmb_bus_host_guest_count(H.bus) != 0; i++)
		vmb_bus_host_poll(H.bus, 2);
	vmb_bus_host_get_stats(H.bus, &st);
	report("buffer GPADL answers that come too late: a late creation is torn down, a late "
	       "teardown ignored, the connection stays",
	       ok && st.gpadls_created == st.gpadls_torn_down && st.protocol_errors == 0 &&
		       vmb_bus_host_guest_count(H.bus) == 0);
	CHECK(vmb_channel_cleanup(ch) == 0);
	vmb_mem_destroy(&mem);
	host_down();
}

/* ---- across a servicing hand-over ---- */

/* A host process serving the buffer VSP. The first (@p handoff_fd < 0) hands over to a
 * successor when the guest asks; the successor serves until its guest has gone and then writes
 * its counters to @p status_fd. */
static int
buf_host_main(int handoff_fd, int status_fd)
{
	struct vmb_bus_host_config bc = {.path = sock_path};
	struct vmb_poller_config pc = {.cpu = -1};
	struct vmb_bus_host_stats st;
	struct vmb_bus_offer o;
	double t0 = now_s();

	memset(&H, 0, sizeof(H));
	CHECK(vmb_poller_create(&pc, &H.poller) == 0);
	o = buf_offer(H.poller);
	if (handoff_fd >= 0) {
		int rc = vmb_bus_host_service_in(&bc, &o, 1, handoff_fd, &H.bus);
		if (rc)
			FAIL("service_in: %s", strerror(-rc));
		close(handoff_fd);
	} else {
		CHECK(vmb_bus_host_create(&bc, &H.bus) == 0);
		CHECK(vmb_bus_host_add_offer(H.bus, &o, NULL) == 0);
	}
	CHECK(vmb_poller_start(H.poller) == 0);
	while (now_s() - t0 < 60) {
		vmb_bus_host_poll(H.bus, 5);
		if (handoff_fd < 0 && atomic_load(&buf_handover_requested)) {
			char a_fd[16], a_st[16];
			char *args[] = {"test_bus", "--buf-host", sock_path, a_fd, a_st, NULL};
			int sv[2], rc;
			pid_t pid;

			CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
			fcntl(sv[0], F_SETFD, FD_CLOEXEC);
			snprintf(a_fd, sizeof(a_fd), "%d", sv[1]);
			snprintf(a_st, sizeof(a_st), "%d", status_fd);
			CHECK(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ) == 0);
			close(sv[1]);
			rc = vmb_bus_host_service_out(H.bus, sv[0]);
			if (rc)
				FAIL("service_out: %s", strerror(-rc));
			vmb_bus_host_abandon(H.bus);
			close(sv[0]);
			vmb_poller_stop(H.poller);
			vmb_poller_destroy(H.poller);
			return 0;
		}
		if (handoff_fd >= 0 && vmb_bus_host_guest_count(H.bus) == 0)
			break; /* the guest has gone */
	}
	vmb_bus_host_get_stats(H.bus, &st);
	{
		char line[128];
		int n = snprintf(line, sizeof(line), "%llu %llu %llu %u\n",
				 (unsigned long long)st.gpadls_created,
				 (unsigned long long)st.gpadls_torn_down,
				 (unsigned long long)st.protocol_errors, atomic_load(&H.open_channels));
		CHECK(write(status_fd, line, (size_t)n) == n);
	}
	host_down();
	return 0;
}

static void
scenario_gpadl_servicing(void)
{
	unsigned long long created = 0, torn = 0, perr = 1;
	unsigned open = 1;
	uint64_t pfn, pfn2;
	uint32_t id1, id2, id3;
	char a_st[16], line[128] = {0};
	int st_pipe[2], status = -1;
	ssize_t got = 0, n;
	pid_t host;
	bool ok = true;

	CHECK(pipe(st_pipe) == 0);
	fcntl(st_pipe[0], F_SETFD, FD_CLOEXEC);
	snprintf(a_st, sizeof(a_st), "%d", st_pipe[1]);
	unlink(sock_path);
	fflush(stdout);
	host = fork();
	CHECK(host >= 0);
	if (host == 0) {
		execl("/proc/self/exe", "test_bus", "--buf-host", sock_path, "-1", a_st, (char *)NULL);
		_exit(127);
	}
	close(st_pipe[1]);

	/* this process is the guest: a hand-over takes a moment, it waits longer than usual */
	buf_guest_connect(20000);
	CHECK(vmb_channel_enable(BG.ch) == 0);
	CHECK(vmb_mem_alloc_pages(&BG.mem, 40, &pfn) == 0);
	CHECK(vmb_mem_alloc_pages(&BG.mem, 2, &pfn2) == 0);
	buf_fill(buf_pages(pfn), 40 * 4096, 21);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, pfn, 40, &id1) == 0);
	CHECK(vmb_bus_guest_gpadl_create(BG.g, BG.ch, pfn2, 2, &id2) == 0);
	ok = ok && buf_call(BUF_CHECK, id1, 40, 21) == 0;

	/* the host hands over; the successor maps the same ids */
	ok = ok && buf_call(BUF_HANDOVER, 0, 0, 0) == 0;
	ok = ok && waitpid(host, &status, 0) == host && WIFEXITED(status) &&
	     WEXITSTATUS(status) == 0;
	ok = ok && buf_verify(buf_pages(pfn), 40 * 4096, 22);
	buf_fill(buf_pages(pfn), 40 * 4096, 23);
	ok = ok && buf_call(BUF_CHECK, id1, 40, 23) == 0 && buf_verify(buf_pages(pfn), 40 * 4096, 24);
	buf_fill(buf_pages(pfn2), 2 * 4096, 25);
	ok = ok && buf_call(BUF_CHECK, id2, 2, 25) == 0;
	/* teardown on the successor; a new buffer there */
	ok = ok && vmb_bus_guest_gpadl_teardown(BG.g, id1) == 0;
	ok = ok && buf_call(BUF_CHECK, id1, 40, 24) == -ENOENT;
	ok = ok && vmb_bus_guest_gpadl_create(BG.g, BG.ch, pfn, 40, &id3) == 0 && id3 != id1;
	ok = ok && buf_call(BUF_CHECK, id3, 40, 24) == 0;
	buf_guest_close(); /* id2, id3 and the rings torn down on the successor */

	/* the successor's counters: 1 created there (id3); 4 torn down (id1, id2, id3, rings) */
	while (got < (ssize_t)sizeof(line) - 1 &&
	       (n = read(st_pipe[0], line + got, sizeof(line) - 1 - (size_t)got)) > 0)
		got += n;
	close(st_pipe[0]);
	ok = ok && sscanf(line, "%llu %llu %llu %u", &created, &torn, &perr, &open) == 4;
	if (getenv("VMB_DEBUG"))
		fprintf(stderr, "gpadl servicing: successor says '%s'\n", line);
	report("buffer GPADLs survive a host hand-over: the successor maps them by id, tears them "
	       "down, creates new ones, and nothing is left when the guest goes",
	       ok && created == 1 && torn == 4 && perr == 0 && open == 0);
	unlink(sock_path);
}

/* Mappings of guest memory (memfds: guest RAM and the rings mapped from it). */
static int
count_memfd_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "memfd:") != NULL;
	fclose(f);
	return n;
}

static int
count_fds(void)
{
	char cmd[64];
	FILE *p;
	int n = -1;
	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)getpid());
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

int
main(int argc, char **argv)
{
	int fds0;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "--guest-cycle") == 0) {
		snprintf(sock_path, sizeof(sock_path), "%s", argv[2]);
		return guest_cycle_forever();
	}
	if (argc == 3 && strcmp(argv[1], "--host-serve") == 0) {
		snprintf(sock_path, sizeof(sock_path), "%s", argv[2]);
		host_up(false);
		for (;;)
			vmb_bus_host_poll(H.bus, 100);
	}
	if (argc == 3 && strcmp(argv[1], "--guest-gpadl") == 0) {
		snprintf(sock_path, sizeof(sock_path), "%s", argv[2]);
		return guest_gpadl_main();
	}
	if (argc == 3 && strcmp(argv[1], "--guest-gpadl-die") == 0) {
		snprintf(sock_path, sizeof(sock_path), "%s", argv[2]);
		return guest_gpadl_die();
	}
	if (argc == 5 && strcmp(argv[1], "--buf-host") == 0) {
		snprintf(sock_path, sizeof(sock_path), "%s", argv[2]);
		return buf_host_main(atoi(argv[3]), atoi(argv[4]));
	}
	if (argc == 6 && strcmp(argv[1], "--guest") == 0) {
		snprintf(sock_path, sizeof(sock_path), "%s", argv[2]);
		return guest_main(atoi(argv[3]) != 0, atoi(argv[4]), atoi(argv[5]) != 0);
	}
	snprintf(sock_path, sizeof(sock_path), "/tmp/vmb-bus-test-%d.sock", (int)getpid());
	scenario_traffic(false);
	/* steady state after the first scenario (libraries loaded, allocator warmed up) */
	fds0 = count_fds();
	scenario_traffic(true);
	scenario_guest_killed();
	scenario_malformed();
	scenario_rescind();
	scenario_gpadl();
	scenario_gpadl_timeout();
	scenario_gpadl_servicing();
	scenario_guest_crash_points();
	scenario_host_crash();
	scenario_host_crash_points();
	unlink(sock_path);
	/* every guest connection, memory mapping, ring mapping and eventfd was released (thread
	 * stacks and allocator arenas may stay cached: only guest memory mappings are counted) */
	if (getenv("VMB_DEBUG"))
		fprintf(stderr, "fds %d -> %d, guest memory mappings %d\n", fds0, count_fds(),
			count_memfd_maps());
	{
		/* a leak is what stays: look again a few times */
		int tries, fds = count_fds(), maps = count_memfd_maps();
		for (tries = 0; tries < 10 && (fds > fds0 || maps != 0); tries++) {
			usleep(30000);
			fds = count_fds();
			maps = count_memfd_maps();
		}
		report("no descriptor or guest-memory mapping leaked by the host across all scenarios",
		       fds <= fds0 && maps == 0);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
