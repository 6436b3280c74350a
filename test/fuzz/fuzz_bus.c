/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * libFuzzer target: the bus host's control plane facing a hostile guest.
 *
 * One vmb_bus_host per process (socket /tmp/vmb-fuzz-bus-<pid>.sock, two offers: subchannels
 * 0 and 1 of one interface; on_open gives a fresh server channel that completes inline) and one
 * memfd guest memory. Offer 0's on_close disables and cleans the channel up; offer 1's keeps it
 * (the "keep it" of vmb_bus_close_fn) and gives it back when the same guest opens again; once
 * that guest is gone the VSP detaches the transport, then disables and cleans it up. Per input,
 * a client socket connects and the input is a list of records, each
 * [u8 kind][u8 fds][u16 len][len bytes]:
 *
 *   0 RAW     the bytes as they are (not necessarily frames)
 *   1 FRAME   a frame header (magic, len, nfds = descriptors attached) and the bytes as the
 *             channel message
 *   2 HALF    FRAME's header and half its message, then the input ends
 *   3 MEM     u32 offset, bytes: written into guest memory (ring control pages, say)
 *   4 POLL    u8 budget: vmb_channel_poll() on each channel the host opened
 *   5 VSPOFF  u8 k: the VSP disables and cleans up its k-th open channel (the host rescinds it)
 *
 * fds (RAW, FRAME, HALF): bits 0-2 how many descriptors go with the bytes (0-7), bits 3-4 the
 * kind of the first (then in turn: 0 the guest memfd, 1 eventfd A, 2 eventfd B, 3 the extra),
 * bits 5-6 the extra (0 a pipe's read end, 1 /dev/null, 2 a memfd whose size is no page multiple,
 * 3 another memfd of 4 pages), bit 7 the bytes go in two sends, the descriptors with the second.
 *
 * The host is polled after every send and what it answers is read (every frame it sends must be
 * well formed, without descriptors). At the end the client closes. Invariants: no crash, the
 * host drops the connection, every channel on_open gave out came back through on_close (or the
 * VSP's own disable), the process has as many descriptors as before the input, and every 256
 * inputs a well-behaved guest (vmb_bus_guest_connect, attach, enable, one request per channel,
 * disable, disconnect; in a thread while this one serves the host) still succeeds.
 *
 * FUZZ_VERBOSE=1 prints the host's counters after each input (before the well-behaved guest).
 * FUZZ_BUS_NO_DETACH=1 releases a kept channel without detaching its transport first: the
 * disable then calls back into the connection's freed channel slot (host_ch_disable) unless
 * the library detaches kept channels itself when their guest goes away.
 *
 * Regression seeds: corpus/bus/b09-open-on-corrupt-ring (the channel was enabled on rings with
 * invalid indices; the open failed and the host lost the VSP's channel).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_vmbus_reg.h>

#include <vmb/vmb_bus.h>
#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_transport.h>

#include "fuzz_common.h"

#define GUEST_MEM (64u * VMB_PAGE_SIZE)
#define GOOD_MEM (64u * VMB_PAGE_SIZE)
#define GOOD_EVERY 256u
#define MAX_CHANS 8u
#define FRAME_MAGIC 0x46424d56u /* doc/bus.md */
#define MAX_PAYLOAD 240u
#define MAX_SEND_FDS 7u

enum kind { K_RAW, K_FRAME, K_HALF, K_MEM, K_POLL, K_VSPOFF, K_COUNT };

struct frame_hdr {
	uint32_t magic;
	uint16_t len;
	uint8_t nfds;
	uint8_t rsvd;
} __attribute__((packed));

static const struct vmb_guid if_type = {{0x62, 0x75, 0x73, 0x66, 0x75, 0x7a, 0x7a, 0x00, 0x01,
					 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}};
static const struct vmb_guid if_inst[2] = {
	{{0x69, 0x6e, 0x73, 0x74, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}},
	{{0x69, 0x6e, 0x73, 0x74, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11}},
};

static struct vmb_bus_host *host;
static char sock_path[108];
static struct vmb_guest_mem mem, good_mem;
static uint64_t inputs, requests;

/* Channels the VSP gave the host and has not had back. */
static struct vmb_channel *chans[MAX_CHANS];
static uint32_t nchans;
/* Offer 1's channel after its guest closed it (kept for a reopen), and that guest. */
static struct vmb_channel *kept;
static uint32_t kept_conn;

/* Descriptors of one input (-1: not made yet). */
static struct {
	int ev[2], pipe[2], null, badmem, smallmem;
} F;

/* What the host sent, not yet a whole frame. */
static struct {
	uint8_t buf[16384];
	size_t n;
} A;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the VSP ---- */

static void
vsp_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	    uint32_t flags)
{
	uint8_t reply[16] = {0};

	(void)ch;
	(void)flags;
	requests++;
	memcpy(reply, buf, len < sizeof(reply) ? len : sizeof(reply)); /* an echo */
	FZ_CHECK(vmb_rx_complete(rx, reply, len < sizeof(reply) ? len : sizeof(reply)) == 0);
}

static struct vmb_channel *
vsp_open(void *ctx, struct vmb_bus_conn *conn, uint32_t offer_id)
{
	struct vmb_channel *ch;

	(void)ctx;
	FZ_CHECK(conn != NULL && offer_id < 2);
	FZ_CHECK(vmb_bus_conn_memory(conn) != NULL);
	FZ_CHECK(nchans < MAX_CHANS);
	if (kept != NULL && kept_conn == vmb_bus_conn_id(conn)) {
		/* offer 1: the channel this guest closed earlier, opened again */
		ch = kept;
		kept = NULL;
		chans[nchans++] = ch;
		return ch;
	}
	FZ_CHECK(vmb_channel_alloc(true, &ch) == 0);
	FZ_CHECK(vmb_channel_init_set_process_packet(ch, vsp_process, NULL) == 0);
	FZ_CHECK(vmb_channel_init_set_interface(ch, &if_type, &if_inst[offer_id]) == 0);
	FZ_CHECK(vmb_channel_init_set_capacity(ch, 16, 16) == 0);
	chans[nchans++] = ch;
	return ch;
}

static void
forget(struct vmb_channel *ch)
{
	uint32_t i;

	for (i = 0; i < nchans && chans[i] != ch; i++)
		;
	FZ_CHECK(i < nchans); /* only channels on_open gave out come back */
	chans[i] = chans[--nchans];
}

/* The VSP lets go of the channel it kept, once its guest is gone. */
static void
release_kept(void)
{
	if (kept == NULL)
		return;
	if (!getenv("FUZZ_BUS_NO_DETACH"))
		vmb_channel_detach_transport(kept); /* see the file comment */
	if (vmb_channel_state(kept) != VMB_CHANNEL_DISABLED)
		FZ_CHECK(vmb_channel_disable(kept) == 0);
	FZ_CHECK(vmb_channel_cleanup(kept) == 0);
	kept = NULL;
}

/* Offer 0: disable and clean up. Offer 1: keep the channel for a reopen by the same guest. */
static void
vsp_close(void *ctx, struct vmb_bus_conn *conn, uint32_t offer_id, struct vmb_channel *ch)
{
	int st = vmb_channel_state(ch);

	(void)ctx;
	FZ_CHECK(conn != NULL && offer_id < 2);
	forget(ch);
	FZ_CHECK(st == VMB_CHANNEL_CLOSED || st == VMB_CHANNEL_DISABLED);
	if (offer_id == 1) {
		FZ_CHECK(kept == NULL);
		kept = ch;
		kept_conn = vmb_bus_conn_id(conn);
		return;
	}
	if (st != VMB_CHANNEL_DISABLED)
		FZ_CHECK(vmb_channel_disable(ch) == 0);
	FZ_CHECK(vmb_channel_cleanup(ch) == 0);
}

/* ---- set-up ---- */

static void
remove_socket(void)
{
	unlink(sock_path);
}

/* Socket files of earlier runs that crashed (no atexit then) and whose process is gone. */
static void
remove_stale_sockets(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[300], tail[8];
		int pid;
		if (sscanf(e->d_name, "vmb-fuzz-bus-%d%7s", &pid, tail) != 2 ||
		    strcmp(tail, ".sock") != 0 || pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
		unlink(path);
	}
	closedir(d);
}

static void
setup(void)
{
	struct vmb_bus_host_config cfg = {.path = sock_path, .max_gpadls = 8, .max_gpadl_pages = 64};
	uint32_t i;

	remove_stale_sockets();
	snprintf(sock_path, sizeof(sock_path), "/tmp/vmb-fuzz-bus-%d.sock", (int)getpid());
	FZ_CHECK(vmb_mem_create(&mem, GUEST_MEM, VMB_MEM_MEMFD) == 0);
	FZ_CHECK(vmb_mem_create(&good_mem, GOOD_MEM, VMB_MEM_MEMFD) == 0);
	FZ_CHECK(vmb_bus_host_create(&cfg, &host) == 0);
	atexit(remove_socket);
	for (i = 0; i < 2; i++) {
		struct vmb_bus_offer o = {.type = if_type, .instance = if_inst[i],
					  .subchannel = (uint16_t)i, .on_open = vsp_open,
					  .on_close = vsp_close};
		uint32_t id;
		memset(o.user_data, 0x55 + (int)i, sizeof(o.user_data));
		FZ_CHECK(vmb_bus_host_add_offer(host, &o, &id) == 0 && id == i);
	}
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	FZ_CHECK(d != NULL);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static int
extra_fd(uint8_t which)
{
	switch (which) {
	case 0:
		if (F.pipe[0] < 0)
			FZ_CHECK(pipe2(F.pipe, O_CLOEXEC | O_NONBLOCK) == 0);
		return F.pipe[0];
	case 1:
		if (F.null < 0)
			FZ_CHECK((F.null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0);
		return F.null;
	case 2:
		if (F.badmem < 0) {
			FZ_CHECK((F.badmem = memfd_create("fuzz-bus-bad", MFD_CLOEXEC)) >= 0);
			FZ_CHECK(ftruncate(F.badmem, VMB_PAGE_SIZE + 1) == 0);
		}
		return F.badmem;
	default:
		if (F.smallmem < 0) {
			FZ_CHECK((F.smallmem = memfd_create("fuzz-bus-small", MFD_CLOEXEC)) >= 0);
			FZ_CHECK(ftruncate(F.smallmem, 4 * VMB_PAGE_SIZE) == 0);
		}
		return F.smallmem;
	}
}

static int
pick_fd(uint8_t sel, uint32_t i)
{
	uint32_t k = (((sel >> 3) & 3u) + i) % 4u;

	if (k == 0)
		return mem.fd;
	if (k == 3)
		return extra_fd((sel >> 5) & 3u);
	if (F.ev[k - 1] < 0)
		FZ_CHECK((F.ev[k - 1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) >= 0);
	return F.ev[k - 1];
}

static void
close_input_fds(void)
{
	int *all[] = {&F.ev[0], &F.ev[1], &F.pipe[0], &F.pipe[1], &F.null, &F.badmem, &F.smallmem};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (*all[i] >= 0)
			close(*all[i]);
		*all[i] = -1;
	}
}

/* ---- the hostile guest's socket ---- */

/* @return false when the host is gone (or refused the bytes). */
static bool
send_part(int s, const uint8_t *p, size_t n, const int *fds, uint32_t nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MAX_SEND_FDS)];
	} ctl;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)p, .iov_len = n};
	struct msghdr mh;
	ssize_t r;

	if (n == 0)
		return true; /* descriptors need at least one byte to travel on a stream */
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *c;
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	r = sendmsg(s, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	return r == (ssize_t)n;
}

static bool
send_bytes(int s, const uint8_t *p, size_t n, uint8_t sel)
{
	int fds[MAX_SEND_FDS];
	uint32_t nfds = sel & 7u, i;

	for (i = 0; i < nfds; i++)
		fds[i] = pick_fd(sel, i);
	if (sel & 0x80) {
		size_t half = n / 2;
		return send_part(s, p, half, NULL, 0) && send_part(s, p + half, n - half, fds, nfds);
	}
	return send_part(s, p, n, fds, nfds);
}

/* Length of each host-to-guest message (the host sends exactly that). */
static uint32_t
answer_len(uint32_t type)
{
	switch (type) {
	case VMBUS_CHANMSG_TYPE_CHOFFER:
		return sizeof(struct vmbus_chanmsg_choffer);
	case VMBUS_CHANMSG_TYPE_CHRESCIND:
		return sizeof(struct vmbus_chanmsg_chrescind);
	case VMBUS_CHANMSG_TYPE_CHOFFER_DONE:
	case 17: /* UNLOAD_RESPONSE */
		return sizeof(struct vmbus_chanmsg_hdr);
	case VMBUS_CHANMSG_TYPE_CHOPEN_RESP:
		return sizeof(struct vmbus_chanmsg_chopen_resp);
	case VMBUS_CHANMSG_TYPE_GPADL_CONNRESP:
		return sizeof(struct vmbus_chanmsg_gpadl_connresp);
	case VMBUS_CHANMSG_TYPE_GPADL_DISCONNRESP:
		return sizeof(struct vmbus_chanmsg_hdr) + 4;
	case VMBUS_CHANMSG_TYPE_CONNECT_RESP:
		return sizeof(struct vmbus_chanmsg_connect_resp);
	default:
		return 0;
	}
}

/* Read what the host answered; every whole frame must be one of its messages. */
static void
drain(int s)
{
	for (;;) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} ctl;
		struct iovec iov = {.iov_base = A.buf + A.n, .iov_len = sizeof(A.buf) - A.n};
		struct msghdr mh;
		struct frame_hdr h;
		uint32_t type;
		ssize_t r;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		r = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r <= 0)
			return;
		FZ_CHECK(mh.msg_controllen == 0); /* the host never sends descriptors */
		A.n += (size_t)r;
		while (A.n >= sizeof(h)) {
			memcpy(&h, A.buf, sizeof(h));
			FZ_CHECK(h.magic == FRAME_MAGIC && h.len <= MAX_PAYLOAD && h.nfds == 0 &&
				 h.rsvd == 0);
			if (A.n < sizeof(h) + h.len)
				break;
			FZ_CHECK(h.len >= sizeof(struct vmbus_chanmsg_hdr));
			memcpy(&type, A.buf + sizeof(h), sizeof(type));
			FZ_CHECK(answer_len(type) != 0 && h.len == answer_len(type));
			A.n -= sizeof(h) + h.len;
			memmove(A.buf, A.buf + sizeof(h) + h.len, A.n);
		}
	}
}

static void
serve(int s)
{
	int rc = vmb_bus_host_poll(host, 0);

	FZ_CHECK(rc >= 0);
	drain(s);
}

/* ---- a well-behaved guest ---- */

struct good {
	bool interrupt;
	int rc;
	atomic_int done;
};

static void
good_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	vmb_rx_complete(rx, NULL, 0);
}

#define GOOD_FAIL(what)                                                                         \
	do {                                                                                    \
		fprintf(stderr, "fuzz_bus: well-behaved guest: %s failed\n", what);             \
		abort();                                                                        \
	} while (0)

static void *
good_guest(void *arg)
{
	struct good *g = arg;
	struct vmb_bus_guest_config cfg = {.path = sock_path, .mem = &good_mem,
					   .interrupt_mode = g->interrupt, .timeout_ms = 5000};
	struct vmb_bus_guest *bg;
	struct vmb_channel *ch[2];
	uint32_t i;

	if (vmb_bus_guest_connect(&cfg, &bg) != 0)
		GOOD_FAIL("connect");
	if (vmb_bus_guest_offers(bg, NULL, 0) != 2)
		GOOD_FAIL("offers");
	for (i = 0; i < 2; i++) {
		FZ_CHECK(vmb_channel_alloc(false, &ch[i]) == 0);
		FZ_CHECK(vmb_channel_init_set_process_packet(ch[i], good_process, NULL) == 0);
		FZ_CHECK(vmb_channel_init_set_interface(ch[i], &if_type, NULL) == 0);
		FZ_CHECK(vmb_channel_init_set_ring_pages(ch[i], 3, 3) == 0);
		if (vmb_bus_guest_attach(bg, ch[i], (uint16_t)i) != 0)
			GOOD_FAIL("attach");
		if (vmb_channel_enable(ch[i]) != 0)
			GOOD_FAIL("enable");
	}
	for (i = 0; i < 2; i++) {
		uint64_t req = 0x6f6f67ull + i, resp = 0;
		uint32_t rlen = sizeof(resp);
		if (vmb_channel_send_sync(ch[i], &req, sizeof(req), NULL, 0,
					  VMB_SEND_WAIT_FOR_COMPLETION, &resp, &rlen,
					  5000000000ll) != 0 ||
		    rlen != sizeof(resp) || resp != req)
			GOOD_FAIL("request");
	}
	for (i = 0; i < 2; i++)
		if (vmb_channel_disable(ch[i]) != 0)
			GOOD_FAIL("disable");
	vmb_bus_guest_disconnect(bg); /* before the cleanup: it unbinds the channels */
	for (i = 0; i < 2; i++)
		FZ_CHECK(vmb_channel_cleanup(ch[i]) == 0);
	g->rc = 0;
	atomic_store(&g->done, 1);
	return NULL;
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Serve the host (and its channels) while a real guest goes through a whole session. */
static void
good_cycle(void)
{
	struct good g = {.interrupt = (inputs / GOOD_EVERY) % 2 == 1, .rc = -1};
	int64_t deadline = now_ms() + 20000;
	pthread_t t;
	uint32_t i;

	FZ_CHECK(pthread_create(&t, NULL, good_guest, &g) == 0);
	while (!atomic_load(&g.done)) {
		FZ_CHECK(vmb_bus_host_poll(host, 1) >= 0);
		for (i = 0; i < nchans; i++)
			FZ_CHECK(vmb_channel_poll(chans[i], 64) >= 0);
		if (now_ms() > deadline)
			GOOD_FAIL("the session (timed out)");
	}
	FZ_CHECK(pthread_join(t, NULL) == 0);
	FZ_CHECK(g.rc == 0);
	for (i = 0; i < 1000 && vmb_bus_host_guest_count(host) != 0; i++)
		vmb_bus_host_poll(host, 1);
	FZ_CHECK(vmb_bus_host_guest_count(host) == 0);
	FZ_CHECK(nchans == 0);
	release_kept();
}

/* ---- one input ---- */

static void
run(struct fz_in *in, int s)
{
	static uint8_t frame[sizeof(struct frame_hdr) + 65535];

	while (in->n) {
		uint8_t kind = fz_u8(in) % K_COUNT, sel = fz_u8(in);
		uint32_t len = fz_u16(in), i;
		const uint8_t *body = in->p;
		struct frame_hdr h = {.magic = FRAME_MAGIC, .nfds = (uint8_t)(sel & 7u)};

		if (len > in->n)
			len = (uint32_t)in->n;
		in->p += len;
		in->n -= len;
		switch (kind) {
		case K_RAW:
			if (!send_bytes(s, body, len, sel))
				return;
			break;
		case K_FRAME:
		case K_HALF:
			h.len = (uint16_t)len;
			memcpy(frame, &h, sizeof(h));
			memcpy(frame + sizeof(h), body, len);
			if (kind == K_HALF) {
				/* half the message; without one, half the header */
				send_bytes(s, frame, len ? sizeof(h) + len / 2 : sizeof(h) / 2, sel);
				serve(s);
				return;
			}
			if (!send_bytes(s, frame, sizeof(h) + len, sel))
				return;
			break;
		case K_MEM: {
			uint32_t off;
			if (len < 4)
				break;
			memcpy(&off, body, 4);
			off %= GUEST_MEM;
			len -= 4;
			memcpy(mem.base + off, body + 4, len < GUEST_MEM - off ? len : GUEST_MEM - off);
			continue; /* nothing sent */
		}
		case K_POLL:
			for (i = 0; i < nchans; i++) {
				int rc;
				if (vmb_channel_state(chans[i]) != VMB_CHANNEL_OPENED)
					continue;
				rc = vmb_channel_poll(chans[i], len ? body[0] : 64);
				FZ_CHECK(rc >= 0 || (rc == -EIO && vmb_channel_is_poisoned(chans[i], NULL)));
			}
			break;
		case K_VSPOFF: {
			struct vmb_channel *ch;
			if (nchans == 0)
				break;
			ch = chans[(len ? body[0] : 0) % nchans];
			forget(ch);
			FZ_CHECK(vmb_channel_disable(ch) == 0);
			FZ_CHECK(vmb_channel_cleanup(ch) == 0);
			break;
		}
		}
		serve(s);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct fz_in in = {data, size};
	int fds_before, s, i;

	if (host == NULL)
		setup();
	F.ev[0] = F.ev[1] = F.pipe[0] = F.pipe[1] = F.null = F.badmem = F.smallmem = -1;
	A.n = 0;
	memset(mem.base, 0, GUEST_MEM);
	fds_before = count_fds();

	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	FZ_CHECK(s >= 0);
	FZ_CHECK(connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	serve(s); /* accept */
	FZ_CHECK(vmb_bus_host_guest_count(host) == 1);

	run(&in, s);

	/* The guest goes away: the host must notice, close its channels, keep nothing. */
	close(s);
	for (i = 0; i < 1000 && vmb_bus_host_guest_count(host) != 0; i++)
		FZ_CHECK(vmb_bus_host_poll(host, 1) >= 0);
	FZ_CHECK(vmb_bus_host_guest_count(host) == 0);
	if (nchans != 0) {
		fprintf(stderr, "fuzz_bus: %u channel(s) from on_open never came back\n", nchans);
		abort();
	}
	release_kept();
	close_input_fds();
	if (getenv("FUZZ_VERBOSE")) {
		struct vmb_bus_host_stats st;
		vmb_bus_host_get_stats(host, &st);
		fprintf(stderr,
			"fuzz_bus: host totals: protocol errors %llu, GPADLs %llu created %llu torn "
			"down, opens %llu, closes %llu, rescinds %llu; requests %llu\n",
			(unsigned long long)st.protocol_errors, (unsigned long long)st.gpadls_created,
			(unsigned long long)st.gpadls_torn_down, (unsigned long long)st.opens,
			(unsigned long long)st.closes, (unsigned long long)st.rescinds,
			(unsigned long long)requests);
	}
	if (inputs++ % GOOD_EVERY == 0)
		good_cycle();
	FZ_CHECK(count_fds() == fds_before);
	return 0;
}
