/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Helper of test_inspect_save.sh: writes a real channel save stream to a file.
 *
 * A host (server) and a guest (client) end in one process (vmb_pair over memfd guest memory);
 * the guest's incoming ring has 4 KiB of data. The host sends 20 requests of 200 bytes that
 * wait for completion (18 fit in the ring and stay in flight: the guest holds them; 2 are
 * queued) and one with two GPA ranges (queued); the guest sends 3 requests that the host
 * completes with "ack!": the first completion takes the last 32 bytes of the ring, the other
 * 2 are owed. The host is paused and
 * saved in chunks of at most CHUNK bytes (default 512), written back to back to OUT.
 *
 * usage: make_save_stream OUT [CHUNK]; prints one summary line:
 *   chunks N packets P queued Q inflight I completions C
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_pair.h>
#include <vmb/vmb_save.h>

#define CHECK(c)                                                                                \
	do {                                                                                    \
		if (!(c)) {                                                                     \
			fprintf(stderr, "make_save_stream: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                                \
		}                                                                               \
	} while (0)

static struct vmb_rx *held[64];
static unsigned nheld;

static void
guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	      uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	CHECK(nheld < 64);
	held[nheld++] = rx; /* the host's transaction stays in flight */
}

static void
host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	CHECK(vmb_rx_complete(rx, "ack!", 4) == 0);
}

/* The VSP's bytes of a packet: "vsp-" and the transaction's sequence number. */
static int
vsp_save(struct vmb_channel *ch, struct vmb_packet *p, void *buf, uint32_t size, uint32_t *needed)
{
	uint32_t seq = (uint32_t)(uintptr_t)vmb_packet_get_context(p);

	(void)ch;
	*needed = 8;
	if (size < 8)
		return -ENOBUFS;
	memcpy(buf, "vsp-", 4);
	memcpy((uint8_t *)buf + 4, &seq, 4);
	return 0;
}

static int
vsp_restore(struct vmb_channel *ch, const void *lib, uint32_t lib_size, const void *save,
	    uint32_t save_size)
{
	(void)ch;
	(void)lib;
	(void)lib_size;
	(void)save;
	(void)save_size;
	return -ENOTSUP; /* this helper only saves */
}

static void
send(struct vmb_channel *h, uint32_t seq, uint32_t len, const struct vmb_gpa_range_out *ext,
     uint32_t n)
{
	struct vmb_packet *p = vmb_packet_alloc(h);
	uint8_t msg[256];

	CHECK(p != NULL && len <= sizeof(msg));
	memset(msg, 'A' + (int)(seq % 26), len);
	memcpy(msg, &seq, 4);
	vmb_packet_set_context(p, (void *)(uintptr_t)seq);
	CHECK(vmb_packet_send(p, msg, len, VMB_SEND_WAIT_FOR_COMPLETION, ext, n) == 0);
}

int
main(int argc, char **argv)
{
	static const struct vmb_guid type = {{0x76, 0x6d, 0x62, 0x2d, 0x69, 0x6e, 0x73, 0x70, 0x65,
					      0x63, 0x74, 0x2d, 0x73, 0x61, 0x76, 0x65}};
	static const struct vmb_guid inst = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}};
	static const uint64_t pfns0[1] = {0x10}, pfns1[2] = {0x20, 0x21};
	const struct vmb_gpa_range_out ext[2] = {{100, 16, pfns0}, {5000, 2048, pfns1}};
	struct vmb_guest_mem mem;
	struct vmb_pair *pair;
	struct vmb_channel *host, *guest;
	size_t chunk = argc > 2 ? strtoul(argv[2], NULL, 0) : 512, cap, filled, required;
	unsigned chunks = 0, i;
	FILE *out;
	int rc;

	if (argc < 2 || argc > 3 || chunk == 0) {
		fprintf(stderr, "usage: make_save_stream OUT [CHUNK]\n");
		return 2;
	}
	CHECK(vmb_mem_create(&mem, 1 << 20, VMB_MEM_MEMFD) == 0);
	CHECK(vmb_pair_create(&mem, false, &pair) == 0);
	CHECK(vmb_channel_alloc(true, &host) == 0);
	CHECK(vmb_channel_init_set_capacity(host, 16, 32) == 0);
	CHECK(vmb_channel_init_set_process_packet(host, host_process, NULL) == 0);
	CHECK(vmb_channel_init_set_interface(host, &type, &inst) == 0);
	CHECK(vmb_channel_init_set_save_restore(host, vsp_save, vsp_restore) == 0);
	CHECK(vmb_channel_alloc(false, &guest) == 0);
	CHECK(vmb_channel_init_set_process_packet(guest, guest_process, NULL) == 0);
	CHECK(vmb_channel_init_set_ring_pages(guest, 2, 2) == 0);
	CHECK(vmb_pair_attach(pair, host, guest) == 0);
	CHECK(vmb_channel_enable(host) == 0);
	CHECK(vmb_channel_start(host) == 0);
	CHECK(vmb_channel_enable(guest) == 0);

	for (i = 0; i < 20; i++)
		send(host, i, 200, NULL, 0);
	send(host, 20, 24, ext, 2);
	vmb_channel_poll(host, 64);
	for (i = 0; i < 3; i++) {
		struct vmb_packet *p = vmb_packet_alloc(guest);
		CHECK(p != NULL);
		CHECK(vmb_packet_send(p, &i, 4, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0) == 0);
	}
	vmb_channel_poll(guest, 64); /* indicates (and holds) what fits, sends the requests */
	vmb_channel_poll(host, 64);  /* completes the requests: no room, owed */
	CHECK(nheld == 18 && vmb_channel_pending_tx(host) == 21);

	CHECK(vmb_channel_pause(host) == 0);
	out = fopen(argv[1], "wb");
	CHECK(out != NULL);
	CHECK(vmb_channel_save_begin(host) == 0);
	cap = chunk;
	for (;;) {
		uint8_t *buf = malloc(cap);
		CHECK(buf != NULL);
		rc = vmb_channel_save_continue(host, buf, cap, &filled, &required);
		if (rc == -ENOBUFS) {
			free(buf);
			cap = required;
			continue;
		}
		CHECK(rc == 0 || rc == -EOVERFLOW);
		CHECK(fwrite(buf, 1, filled, out) == filled);
		free(buf);
		chunks++;
		if (rc == 0)
			break;
		cap = required > chunk ? required : chunk;
	}
	vmb_channel_save_end(host);
	CHECK(fclose(out) == 0);
	printf("chunks %u packets 21 queued 3 inflight 18 completions 2\n", chunks);

	for (i = 0; i < nheld; i++)
		vmb_rx_complete(held[i], NULL, 0);
	CHECK(vmb_channel_disable(guest) == 0);
	CHECK(vmb_channel_disable(host) == 0);
	CHECK(vmb_channel_cleanup(guest) == 0);
	CHECK(vmb_channel_cleanup(host) == 0);
	CHECK(vmb_pair_destroy(pair) == 0);
	vmb_mem_destroy(&mem);
	return 0;
}
