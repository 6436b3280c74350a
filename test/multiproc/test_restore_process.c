/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Restore in a new process. The parent runs a guest and a host channel over memfd guest
 * memory; the host sends transactions that ask for completion (some in the ring, held by the
 * guest; the rest queued for ring space), then pauses and saves. The host side leaves the
 * in-process pair without the guest noticing, and a new process (fork + exec of this binary with
 * --child) maps the same guest memory from the inherited memfd, restores the stream, attaches to
 * the same rings and resumes. Checked: every transaction is delivered to the guest exactly once
 * and completed exactly once in the new process, no completion is unmatched, and the guest never
 * saw a close or a suspend: only a pause.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_pair.h>
#include <vmb/vmb_save.h>
#include <vmb/vmb_transport.h>

#include "seq_vsp.h"

#define N 3000
#define FAIL(...)                                                                               \
	do {                                                                                    \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                            \
		fprintf(stderr, __VA_ARGS__);                                                   \
		fputc('\n', stderr);                                                            \
		exit(1);                                                                        \
	} while (0)
#define CHECK(c)                                                                                \
	do {                                                                                    \
		if (!(c))                                                                       \
			FAIL("%s", #c);                                                         \
	} while (0)

static uint16_t completed[N], cancelled[N], received[N];
static struct vmb_rx *held[N];
static uint32_t nheld;
static int guest_inline, guest_events;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the host VSP (both processes) ---- */

static void
host_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	uint32_t seq = (uint32_t)(uintptr_t)vmb_packet_get_context(p);
	(void)buf;
	(void)len;
	if (status == 0)
		completed[seq]++;
	else
		cancelled[seq]++;
	vmb_packet_free(p);
}

static void
host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *b, uint32_t l, uint32_t f)
{
	(void)ch;
	(void)b;
	(void)l;
	(void)f;
	vmb_rx_complete(rx, NULL, 0);
}

static int
vsp_restore(struct vmb_channel *ch, const void *lib, uint32_t lib_size, const void *save,
	    uint32_t save_size)
{
	return seq_vsp_restore(ch, lib, lib_size, save, save_size, host_done, N);
}

static struct vmb_channel *
new_host(void)
{
	struct vmb_channel *h;
	CHECK(vmb_channel_alloc(true, &h) == 0);
	CHECK(vmb_channel_init_set_capacity(h, 256, 4096) == 0);
	CHECK(vmb_channel_init_set_process_packet(h, host_process, NULL) == 0);
	CHECK(vmb_channel_init_set_save_restore(h, seq_vsp_save, vsp_restore) == 0);
	return h;
}

/* ---- child: the successor host ---- */

static int
child(int argc, char **argv)
{
	struct vmb_guest_mem mem;
	struct vmb_gpadl_table gt;
	struct vmb_mapping m_in, m_out;
	struct vmb_channel_link link = {.signal_fd = -1, .wait_fd = -1};
	struct vmb_channel_stats st;
	struct vmb_channel *h;
	uint64_t g2h_pfn, h2g_pfn, *pfns;
	uint32_t g2h_pages, h2g_pages, i, id_in, id_out, done;
	uint8_t *stream;
	size_t len, off;
	FILE *f;
	double t0;
	int fd, rc = 0;

	CHECK(argc == 8);
	fd = atoi(argv[2]);
	g2h_pfn = strtoull(argv[3], NULL, 0);
	g2h_pages = (uint32_t)strtoul(argv[4], NULL, 0);
	h2g_pfn = strtoull(argv[5], NULL, 0);
	h2g_pages = (uint32_t)strtoul(argv[6], NULL, 0);

	/* Map the guest's memory and the two rings, as a host process would from a GPADL. */
	CHECK(vmb_mem_attach_fd(&mem, fd) == 0);
	close(fd);
	CHECK(vmb_gpadl_table_init(&gt, 4) == 0);
	pfns = malloc(sizeof(*pfns) * (g2h_pages + h2g_pages));
	for (i = 0; i < g2h_pages; i++)
		pfns[i] = g2h_pfn + i;
	CHECK(vmb_gpadl_add(&gt, &mem, 0, pfns, g2h_pages, &id_in) == 0);
	for (i = 0; i < h2g_pages; i++)
		pfns[i] = h2g_pfn + i;
	CHECK(vmb_gpadl_add(&gt, &mem, 0, pfns, h2g_pages, &id_out) == 0);
	free(pfns);
	CHECK(vmb_ring_map(&mem, vmb_gpadl_find(&gt, id_in), 0, g2h_pages, &link.incoming, &m_in) == 0);
	CHECK(vmb_ring_map(&mem, vmb_gpadl_find(&gt, id_out), 0, h2g_pages, &link.outgoing, &m_out) ==
	      0);
	link.guest_mem = &mem;

	/* Restore from the stream, chunk by chunk. */
	f = fopen(argv[7], "rb");
	CHECK(f != NULL);
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	stream = malloc(len);
	CHECK(fread(stream, 1, len, f) == len);
	fclose(f);
	h = new_host();
	for (off = 0; off < len;) {
		struct vmb_save_chunk_info ci;
		CHECK(len - off >= VMB_SAVE_CHUNK_HEADER);
		vmb_save_chunk_info(stream + off, VMB_SAVE_CHUNK_HEADER + 0, &ci);
		rc = vmb_channel_restore(h, stream + off, VMB_SAVE_CHUNK_HEADER + ci.payload_len);
		off += VMB_SAVE_CHUNK_HEADER + ci.payload_len;
		CHECK(off == len ? rc == 0 : rc == -EINPROGRESS);
	}
	free(stream);
	CHECK(vmb_channel_pending_tx(h) == N);

	/* Open on the same rings (indices re-read from guest memory) and run. */
	CHECK(vmb_channel_enable(h) == 0);
	CHECK(vmb_channel_link_open(h, &link) == 0);
	CHECK(vmb_channel_start(h) == 0);
	t0 = now_s();
	do {
		vmb_channel_poll(h, 64);
		for (done = 0, i = 0; i < N; i++)
			done += completed[i] != 0;
	} while (done < N && now_s() - t0 < 30);
	for (i = 0; i < N; i++) {
		if (completed[i] != 1 || cancelled[i] != 0)
			FAIL("child: transaction %u completed %u times, cancelled %u", i, completed[i],
			     cancelled[i]);
	}
	vmb_channel_get_stats(h, &st);
	CHECK(st.bad_completions == 0);
	CHECK(!vmb_channel_is_poisoned(h, NULL));
	printf("child: restored %u transactions; all completed exactly once in the new process\n", N);
	/* Leave the rings to the guest as they are: pause (commits), then go. */
	CHECK(vmb_channel_pause(h) == 0);
	CHECK(vmb_channel_disable(h) == 0);
	CHECK(vmb_channel_cleanup(h) == 0);
	vmb_mapping_unmap(&m_in);
	vmb_mapping_unmap(&m_out);
	vmb_gpadl_table_fini(&gt);
	vmb_mem_destroy(&mem);
	return 0;
}

/* ---- parent: the guest and the first host ---- */

static void
guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	      uint32_t flags)
{
	uint32_t seq;
	(void)ch;
	(void)flags;
	CHECK(len >= 4);
	memcpy(&seq, buf, 4);
	CHECK(seq < N);
	received[seq]++;
	if (guest_inline)
		CHECK(vmb_rx_complete(rx, NULL, 0) == 0);
	else
		held[nheld++] = rx;
}

static void guest_event(struct vmb_channel *ch) { (void)ch; guest_events++; }

int
main(int argc, char **argv)
{
	struct vmb_channel_callbacks gcb = {.closed = guest_event, .suspend = guest_event};
	struct vmb_guest_mem mem;
	struct vmb_pair *pair;
	struct vmb_channel *host, *guest;
	struct vmb_channel_stats gs;
	char path[] = "/tmp/vmb-restore-XXXXXX";
	char a_fd[16], a1[32], a2[32], a3[32], a4[32];
	uint64_t g2h_pfn, h2g_pfn;
	uint32_t g2h_pages, h2g_pages, i, all;
	uint8_t msg[32] = {0};
	size_t cap = 64 * 1024;
	uint8_t *buf;
	int tmp, status = -1, rc;
	pid_t pid;
	double t0;

	if (argc > 1 && strcmp(argv[1], "--child") == 0)
		return child(argc, argv);
	buf = malloc(cap);
	CHECK(buf != NULL);

	CHECK(vmb_mem_create(&mem, 8 << 20, VMB_MEM_MEMFD) == 0);
	CHECK(vmb_pair_create(&mem, false, &pair) == 0);
	host = new_host();
	CHECK(vmb_channel_alloc(false, &guest) == 0);
	CHECK(vmb_channel_init_set_process_packet(guest, guest_process, NULL) == 0);
	CHECK(vmb_channel_init_set_callbacks(guest, &gcb) == 0);
	CHECK(vmb_channel_init_set_ring_pages(guest, 8, 8) == 0);
	CHECK(vmb_pair_attach(pair, host, guest) == 0);
	CHECK(vmb_channel_enable(host) == 0);
	CHECK(vmb_channel_start(host) == 0);
	CHECK(vmb_channel_enable(guest) == 0);

	/* N transactions: what fits is in the ring (and held by the guest), the rest queued. */
	for (i = 0; i < N; i++) {
		struct vmb_packet *p = vmb_packet_alloc(host);
		CHECK(p != NULL);
		vmb_packet_set_completion(p, host_done);
		vmb_packet_set_context(p, (void *)(uintptr_t)i);
		memcpy(msg, &i, 4);
		CHECK(vmb_packet_send(p, msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0);
	}
	for (i = 0; i < 4; i++) {
		vmb_channel_poll(host, 64);
		vmb_channel_poll(guest, 64);
	}
	CHECK(nheld > 0 && nheld < N);

	/* Pause, save to a file, and let the host side leave without the guest noticing. */
	CHECK(vmb_channel_pause(host) == 0);
	tmp = mkstemp(path);
	CHECK(tmp >= 0);
	CHECK(vmb_channel_save_begin(host) == 0);
	for (;;) {
		size_t filled, required;
		rc = vmb_channel_save_continue(host, buf, cap, &filled, &required);
		if (rc == -ENOBUFS) {
			cap = required;
			buf = realloc(buf, cap);
			continue;
		}
		CHECK(rc == 0 || rc == -EOVERFLOW);
		CHECK(write(tmp, buf, filled) == (ssize_t)filled);
		if (rc == 0)
			break;
	}
	vmb_channel_save_end(host);
	close(tmp);
	CHECK(vmb_pair_replace_server(pair, host, NULL) == 0);
	CHECK(vmb_channel_disable(host) == 0);
	CHECK(vmb_channel_cleanup(host) == 0);
	for (i = 0; i < N; i++)
		completed[i] = cancelled[i] = 0; /* the old instance's view is gone */

	/* The successor process. */
	CHECK(vmb_pair_ring_layout(pair, &g2h_pfn, &g2h_pages, &h2g_pfn, &h2g_pages) == 0);
	snprintf(a_fd, sizeof(a_fd), "%d", mem.fd);
	snprintf(a1, sizeof(a1), "%llu", (unsigned long long)g2h_pfn);
	snprintf(a2, sizeof(a2), "%u", g2h_pages);
	snprintf(a3, sizeof(a3), "%llu", (unsigned long long)h2g_pfn);
	snprintf(a4, sizeof(a4), "%u", h2g_pages);
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		fcntl(mem.fd, F_SETFD, 0); /* the memfd crosses exec */
		execl("/proc/self/exe", argv[0], "--child", a_fd, a1, a2, a3, a4, path, (char *)NULL);
		_exit(127);
	}

	/* Meanwhile the guest goes on: completes what it holds, then everything inline. */
	guest_inline = 1;
	for (i = 0; i < nheld; i++)
		CHECK(vmb_rx_complete(held[i], NULL, 0) == 0);
	t0 = now_s();
	for (;;) {
		pid_t w;
		vmb_channel_poll(guest, 64);
		w = waitpid(pid, &status, WNOHANG);
		for (all = 0, i = 0; i < N; i++)
			all += received[i] != 0;
		if (w == pid)
			break;
		CHECK(now_s() - t0 < 60);
	}
	unlink(path);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < N; i++)
		if (received[i] != 1)
			FAIL("guest: transaction %u delivered %u times", i, received[i]);
	vmb_channel_get_stats(guest, &gs);
	CHECK(gs.bad_completions == 0);
	CHECK(guest_events == 0); /* no suspend, no close: only a pause */
	CHECK(vmb_channel_state(guest) == VMB_CHANNEL_OPENED);
	printf("parent: guest received %u transactions exactly once; saw only a pause\n", all);
	CHECK(vmb_channel_disable(guest) == 0);
	CHECK(vmb_channel_cleanup(guest) == 0);
	CHECK(vmb_pair_destroy(pair) == 0);
	vmb_mem_destroy(&mem);
	free(buf);
	printf("1 passed, 0 failed\n");
	return 0;
}
