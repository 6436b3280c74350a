/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Harness of the KMCL echo sample: the emulated guest (a native vmb_ client channel) and the
 * hypervisor's part (guest memory and the in-process pair transport). Nothing here is VSP code;
 * the VSP (kmcl_echo_vsp.c) only uses the KMCL face.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_pair.h>

#include "kmcl_echo_harness.h"

struct echo_harness {
	struct vmb_guest_mem mem;
	struct vmb_pair *pair;
	struct vmb_channel *guest;
	struct vmb_channel *server; /* the current host end (for pumping) */
	bool stalled;
	uint32_t echo_done[ECHO_MAX_SEQ];
	uint32_t notify_seen[ECHO_MAX_SEQ];
	uint32_t echo_pending;
	uint32_t errors;
};

/* ---- the guest ---- */

static void
guest_fill(uint8_t *p, uint32_t len, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seq * 31u + i * 7u);
}

/* The host's echo came back in the completion: it must be our request, byte for byte. */
static void
guest_echo_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	struct echo_harness *h = vmb_packet_get_context(p);
	struct echo_msg m;
	uint8_t want[ECHO_MAX_REQUEST];

	h->echo_pending--;
	if (status != 0 || buf == NULL || len < sizeof(m)) {
		h->errors++;
		goto out;
	}
	memcpy(&m, buf, sizeof(m));
	if (m.type != ECHO_MSG_REQUEST || m.seq >= ECHO_MAX_SEQ || m.len > ECHO_MAX_REQUEST ||
	    len < sizeof(m) + m.len) {
		h->errors++;
		goto out;
	}
	guest_fill(want, m.len, m.seq);
	if (memcmp(want, (const uint8_t *)buf + sizeof(m), m.len) != 0 ||
	    echo_checksum(want, m.len) != m.check) {
		h->errors++;
		goto out;
	}
	h->echo_done[m.seq]++;
out:
	vmb_packet_free(p);
}

/* A notification from the host: acknowledge it in the completion. */
static void
guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	      uint32_t flags)
{
	struct echo_harness *h = vmb_channel_get_context(ch);
	struct echo_msg m, ack = {.type = ECHO_MSG_ACK};

	(void)flags;
	if (len < sizeof(m)) {
		h->errors++;
		vmb_rx_complete(rx, NULL, 0);
		return;
	}
	memcpy(&m, buf, sizeof(m));
	if (m.type != ECHO_MSG_NOTIFY || m.seq >= ECHO_MAX_SEQ) {
		h->errors++;
		vmb_rx_complete(rx, NULL, 0);
		return;
	}
	h->notify_seen[m.seq]++;
	ack.seq = m.seq;
	vmb_rx_complete(rx, &ack, sizeof(ack));
}

int
harness_create(struct echo_harness **out)
{
	struct echo_harness *h = calloc(1, sizeof(*h));
	int rc;

	if (h == NULL)
		return -ENOMEM;
	if ((rc = vmb_mem_create(&h->mem, 4u << 20, VMB_MEM_MEMFD)) != 0 ||
	    (rc = vmb_pair_create(&h->mem, false, &h->pair)) != 0 ||
	    (rc = vmb_channel_alloc(false, &h->guest)) != 0 ||
	    (rc = vmb_channel_init_set_process_packet(h->guest, guest_process, NULL)) != 0 ||
	    /* small rings: 3 data pages each way, so the host's notifications fill them */
	    (rc = vmb_channel_init_set_ring_pages(h->guest, 4, 4)) != 0) {
		harness_destroy(h);
		return rc;
	}
	vmb_channel_set_context(h->guest, h);
	*out = h;
	return 0;
}

int
harness_attach(struct echo_harness *h, VMBCHANNEL server)
{
	int rc = vmb_pair_attach(h->pair, server, h->guest);

	if (rc == 0)
		h->server = server;
	return rc;
}

int
harness_guest_enable(struct echo_harness *h)
{
	return vmb_channel_enable(h->guest);
}

void
harness_pump(struct echo_harness *h, unsigned rounds)
{
	while (rounds-- > 0) {
		if (!h->stalled)
			vmb_channel_poll(h->guest, 64);
		if (h->server)
			vmb_channel_poll(h->server, 64);
	}
}

void
harness_set_guest_stalled(struct echo_harness *h, bool stalled)
{
	h->stalled = stalled;
}

int
harness_replace_server(struct echo_harness *h, VMBCHANNEL old_server, VMBCHANNEL new_server)
{
	int rc = vmb_pair_replace_server(h->pair, old_server, new_server);

	if (rc == 0)
		h->server = new_server;
	return rc;
}

int
harness_guest_echo(struct echo_harness *h, uint32_t seq, uint32_t len)
{
	uint8_t buf[sizeof(struct echo_msg) + ECHO_MAX_REQUEST];
	struct echo_msg m = {.type = ECHO_MSG_REQUEST, .seq = seq, .len = len};
	struct vmb_packet *p;
	int rc;

	if (seq >= ECHO_MAX_SEQ || len > ECHO_MAX_REQUEST)
		return -EINVAL;
	guest_fill(buf + sizeof(m), len, seq);
	m.check = echo_checksum(buf + sizeof(m), len);
	memcpy(buf, &m, sizeof(m));
	p = vmb_packet_alloc(h->guest);
	if (p == NULL)
		return -ENOMEM;
	vmb_packet_set_context(p, h);
	vmb_packet_set_completion(p, guest_echo_done);
	rc = vmb_packet_send(p, buf, (uint32_t)sizeof(m) + len, VMB_SEND_WAIT_FOR_COMPLETION, NULL, 0);
	if (rc) {
		vmb_packet_free(p);
		return rc;
	}
	h->echo_pending++;
	return 0;
}

uint32_t
harness_guest_echo_count(const struct echo_harness *h, uint32_t seq)
{
	return seq < ECHO_MAX_SEQ ? h->echo_done[seq] : 0;
}

uint32_t
harness_guest_notify_count(const struct echo_harness *h, uint32_t seq)
{
	return seq < ECHO_MAX_SEQ ? h->notify_seen[seq] : 0;
}

uint32_t
harness_guest_echo_pending(const struct echo_harness *h)
{
	return h->echo_pending;
}

uint32_t
harness_guest_errors(const struct echo_harness *h)
{
	return h->errors;
}

void
harness_destroy(struct echo_harness *h)
{
	if (h == NULL)
		return;
	if (h->guest) {
		if (vmb_channel_state(h->guest) != VMB_CHANNEL_DISABLED)
			vmb_channel_disable(h->guest);
		vmb_channel_cleanup(h->guest);
	}
	if (h->pair && vmb_pair_destroy(h->pair) != 0)
		fprintf(stderr, "harness: pair still in use\n");
	vmb_mem_destroy(&h->mem);
	free(h);
}
