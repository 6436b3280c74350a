/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * libFuzzer target: a host channel facing a hostile guest.
 *
 * A host (server) and a guest (client) end are connected by a vmb_pair over memfd guest
 * memory (created once per process; the pair and both ends are created per input). The guest
 * end is never polled: the input is a script that plays the guest by writing raw bytes into the
 * rings in guest memory, between passes of the host:
 *
 *   0 CTL     u8 word, u32 value   store a control word (0-4: guest->host write_index,
 *                                  read_index, interrupt_mask, pending_send_size,
 *                                  feature_bits; 5-9: the same of host->guest)
 *   1 DATA    u16 off, u8 n, bytes raw bytes into the guest->host data area (wrapping)
 *   2 PKT     u8 mode, u16 type, u16 offset8, u16 flags, u64 xid, u16 n, bytes
 *                                  a packet at write_index: descriptor, n body bytes, zero
 *                                  padding, trailer; then write_index moves past it. mode bit 0:
 *                                  even without room; bit 1: leave write_index alone
 *   3 POLL    u8 budget            vmb_channel_poll(host)
 *   4 HOLDC   u8 k, u8 len         complete the k-th token the host VSP holds
 *   5 SEND    u8 kind, u16 len     the host sends (kind bit 0: wait for completion, bit 1:
 *                                  GPA range, bit 2: 3 ranges)
 *   6 GREAD   u8 n                 the guest reads n host packets (library reader on the
 *                                  host->guest ring) and remembers transaction ids
 *   7 GCOMP   u8 k, u8 len         the guest completes the k-th remembered transaction
 *   8 PAUSE                        pause and start the host (quiesce barrier)
 *   9 SERVICE u16 chunk            pause, save, restore on a new host, replace, start
 *  10 REOPEN                       the guest closes and opens the channel again
 *
 * The host VSP completes inline, holds, defers once or fails each packet, by its first byte.
 * The host must process or poison itself, never crash, leak or hang; disable and cleanup end
 * every input.
 *
 * Regression seeds: corpus/channel/c08-deferred-then-close (a deferred packet counts as
 * outstanding; closing the channel waited for it forever).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_pair.h>
#include <vmb/vmb_save.h>
#include <vmb/vmb_transport.h>

#include "fuzz_common.h"
#include "fuzz_vsp.h"

#define GUEST_MEM (512u * 1024u)
#define RING_PAGES 3u /* control page + 8 KiB data, each direction */
#define MAX_HELD 64u
#define MAX_XIDS 64u
#define MAX_PKT_BODY 4096u

enum op {
	OP_CTL,
	OP_DATA,
	OP_PKT,
	OP_POLL,
	OP_HOLDC,
	OP_SEND,
	OP_GREAD,
	OP_GCOMP,
	OP_PAUSE,
	OP_SERVICE,
	OP_REOPEN,
	OP_COUNT,
};

struct ring_view {
	struct vmbus_bufring *ctl;
	uint8_t *data;
	uint32_t size;
};

struct world {
	struct vmb_pair *pair;
	struct vmb_channel *host, *guest;
	struct ring_view g2h, h2g;
	struct vmb_rx *held[MAX_HELD];
	uint32_t nheld;
	struct vmb_rx *deferred[MAX_HELD];
	uint32_t ndeferred;
	uint64_t xids[MAX_XIDS];
	uint32_t nxids;
	uint32_t seq;
	uint32_t errors;
	uint8_t *bounce;
};

static struct vmb_guest_mem mem;
static struct world W;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the host VSP ---- */

static bool
take_deferred(struct vmb_rx *rx)
{
	uint32_t i;

	for (i = 0; i < W.ndeferred; i++) {
		if (W.deferred[i] == rx) {
			W.deferred[i] = W.deferred[--W.ndeferred];
			return true;
		}
	}
	return false;
}

static void
host_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	const struct vmb_pkt *pk = vmb_rx_packet(rx);
	uint8_t first = 0, reply[64];
	uint32_t i;

	FZ_CHECK(pk != NULL && vmb_rx_channel(rx) == ch);
	FZ_CHECK(pk->payload == buf && pk->payload_len == len);
	FZ_CHECK(len <= ((vmb_channel_max_packet_size(ch) + 7) & ~7u));
	FZ_CHECK(pk->type != VMB_PKT_COMPLETION);
	if (len)
		memcpy(&first, buf, 1); /* shared memory: read once */
	if (flags & VMB_RX_FLAG_EXTERNAL_DATA) {
		const struct vmb_gpa_range *gpa;
		const struct vmb_xfer_range *xfer;
		const uint64_t *pfns;
		uint32_t count;

		FZ_CHECK(vmb_rx_external(rx, &gpa, &pfns, &xfer, &count) == 0);
		FZ_CHECK(count == pk->range_count);
		if (pk->type == VMB_PKT_GPA_DIRECT)
			for (i = 0; i < pk->pfn_count; i++)
				FZ_CHECK(pfns[i] < mem.page_count);
	} else {
		FZ_CHECK(pk->type == VMB_PKT_INBAND);
		FZ_CHECK(vmb_rx_external(rx, NULL, NULL, NULL, NULL) == -ENOENT);
	}
	if (take_deferred(rx)) {
		FZ_CHECK(vmb_rx_complete(rx, NULL, 0) == 0);
		return;
	}
	memset(reply, first, sizeof(reply));
	switch (first % 5) {
	case 1:
		if (W.nheld < MAX_HELD) {
			W.held[W.nheld++] = rx;
			return;
		}
		break;
	case 2:
		if (W.ndeferred < MAX_HELD && vmb_rx_defer(rx) == 0) {
			W.deferred[W.ndeferred++] = rx;
			return;
		}
		break;
	case 3:
		vmb_rx_fail(rx);
		FZ_CHECK(vmb_channel_is_poisoned(ch, NULL));
		FZ_CHECK(vmb_rx_complete(rx, NULL, 0) == -EBADF); /* consumed */
		return;
	case 4:
		/* Over the completion size limit: refused, the token stays outstanding. */
		FZ_CHECK(vmb_rx_complete(rx, reply, 0xFFFFFFF0u) == -EINVAL);
		break;
	}
	FZ_CHECK(vmb_rx_complete(rx, reply, first % sizeof(reply)) == 0);
	FZ_CHECK(vmb_rx_complete(rx, NULL, 0) == -EBADF); /* exactly once */
}

static void
host_error(struct vmb_channel *ch, const char *reason)
{
	(void)ch;
	FZ_CHECK(reason != NULL);
	W.errors++;
}

static void
guest_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	      uint32_t flags)
{
	(void)ch;
	(void)buf;
	(void)len;
	(void)flags;
	vmb_rx_complete(rx, NULL, 0); /* never polled; here for completeness */
}

static struct vmb_channel *
new_host(void)
{
	struct vmb_channel *h;

	FZ_CHECK(fz_vsp_new_server(host_process, &h) == 0);
	FZ_CHECK(vmb_channel_init_set_max_packet_size(h, 1024) == 0);
	FZ_CHECK(vmb_channel_init_set_max_external_data(h, 16384, 4) == 0);
	FZ_CHECK(vmb_channel_init_set_max_completion_size(h, 64) == 0);
	FZ_CHECK(vmb_channel_init_set_error_callback(h, host_error) == 0);
	return h;
}

/* ---- the guest's view of the rings ---- */

static void
map_views(void)
{
	uint64_t g2h, h2g;

	FZ_CHECK(vmb_pair_ring_offsets(W.pair, &g2h, &h2g) == 0);
	W.g2h.ctl = (struct vmbus_bufring *)(void *)(mem.base + g2h);
	W.g2h.data = mem.base + g2h + VMB_RING_CTL_SIZE;
	W.g2h.size = (RING_PAGES - 1) * VMB_PAGE_SIZE;
	W.h2g.ctl = (struct vmbus_bufring *)(void *)(mem.base + h2g);
	W.h2g.data = mem.base + h2g + VMB_RING_CTL_SIZE;
	W.h2g.size = (RING_PAGES - 1) * VMB_PAGE_SIZE;
}

static volatile uint32_t *
ctl_word(struct ring_view *v, uint32_t which)
{
	switch (which) {
	case 0:
		return &v->ctl->windex;
	case 1:
		return &v->ctl->rindex;
	case 2:
		return &v->ctl->imask;
	case 3:
		return &v->ctl->pending_send;
	default:
		return (volatile uint32_t *)&v->ctl->feature_bits.value;
	}
}

static void
put_bytes(struct ring_view *v, uint32_t off, const void *src, uint32_t n)
{
	const uint8_t *s = src;
	uint32_t i;

	for (i = 0; i < n; i++)
		v->data[(off + i) % v->size] = s[i];
}

/* A packet at the guest's write_index (taken as the guest finds it, aligned into the ring). */
static void
guest_put_packet(uint8_t mode, uint16_t type, uint16_t hlen, uint16_t flags, uint64_t xid,
		 const uint8_t *body, uint32_t n)
{
	struct ring_view *v = &W.g2h;
	uint32_t wi = __atomic_load_n(ctl_word(v, 0), __ATOMIC_RELAXED) % v->size & ~7u;
	uint32_t ri = __atomic_load_n(ctl_word(v, 1), __ATOMIC_RELAXED) % v->size & ~7u;
	uint32_t len = (16 + n + 7) & ~7u, total = len + 8, used, end;
	struct vmbus_chanpkt_hdr h;
	uint64_t trailer = (uint64_t)wi << 32;
	static const uint8_t zeros[8];

	if (total + 8 > v->size)
		return;
	used = wi >= ri ? wi - ri : v->size - ri + wi;
	if (!(mode & 1) && v->size - used <= total)
		return; /* no room: a well-behaved guest waits */
	h.type = type;
	h.hlen = hlen ? hlen : VMBUS_CHANPKT_HLEN_MIN;
	h.tlen = (uint16_t)(len / 8);
	h.flags = flags;
	h.xactid = xid;
	put_bytes(v, wi, &h, sizeof(h));
	put_bytes(v, wi + 16, body, n);
	put_bytes(v, wi + 16 + n, zeros, len - 16 - n);
	put_bytes(v, wi + len, &trailer, sizeof(trailer));
	end = (wi + total) % v->size;
	if (!(mode & 2))
		__atomic_store_n(ctl_word(v, 0), end, __ATOMIC_RELEASE);
}

/* The guest reads host packets with the library's reader and remembers what to complete. */
static void
guest_read(uint32_t n)
{
	struct vmb_ring_mem m = {W.h2g.ctl, W.h2g.data, W.h2g.size, 0};
	struct vmb_ring_reader r;
	struct vmb_ring_pkt rp;

	if (vmb_ring_reader_attach(&r, &m, W.bounce, W.h2g.size) != VMB_RING_OK)
		return;
	while (n--) {
		if (vmb_ring_read(&r, &rp) != VMB_RING_OK)
			break;
		if ((rp.desc.flags & VMB_PKT_FLAG_RC) && W.nxids < MAX_XIDS)
			W.xids[W.nxids++] = rp.desc.xactid;
	}
	vmb_ring_read_commit(&r);
}

/* ---- host-side operations ---- */

static void
complete_held(uint32_t k, uint32_t len)
{
	static const uint8_t reply[64];
	struct vmb_rx *rx;

	if (W.nheld == 0)
		return;
	k %= W.nheld;
	rx = W.held[k];
	W.held[k] = W.held[--W.nheld];
	if (len > sizeof(reply))
		FZ_CHECK(vmb_rx_complete(rx, reply, len) == -EINVAL);
	FZ_CHECK(vmb_rx_complete(rx, reply, len % (sizeof(reply) + 1)) == 0);
}

static void
complete_all_held(void)
{
	while (W.nheld)
		complete_held(0, 0);
}

static void
host_send(uint8_t kind, uint16_t len)
{
	static uint8_t msg[2048];
	struct vmb_gpa_range_out ext[3];
	static const uint64_t pfns[3][2] = {{40, 41}, {50, 51}, {60, 61}};
	struct vmb_packet *p = vmb_packet_alloc(W.host);
	uint32_t seq = W.seq++, flags = (kind & 1) ? VMB_SEND_WAIT_FOR_COMPLETION : 0;
	uint32_t next = (kind & 6) ? ((kind & 4) ? 3 : 1) : 0, i;
	uint8_t vsp[5] = {'v'}; /* never FZ_VSP_FAIL / FZ_VSP_SKIP: this VSP restores fine */
	int rc;

	if (p == NULL)
		return; /* all packet objects pending */
	memcpy(vsp + 1, &seq, sizeof(seq));
	FZ_CHECK(fz_vsp_attach(p, vsp, sizeof(vsp)) == 0);
	for (i = 0; i < next; i++) {
		ext[i].byte_count = 100 + 1000 * i;
		ext[i].byte_offset = 4000;
		ext[i].pfns = pfns[i];
	}
	len %= sizeof(msg);
	memset(msg, (int)seq, len);
	rc = vmb_packet_send(p, msg, len, flags, next ? ext : NULL, next);
	if (rc == 0)
		return;
	if (rc != -EINVAL && rc != -EIO &&
	    !(rc == -EPERM && vmb_channel_state(W.host) == VMB_CHANNEL_DISABLED)) {
		fprintf(stderr, "vmb_packet_send: unexpected %d (kind %u len %u, state %d)\n", rc,
			kind, len, vmb_channel_state(W.host));
		abort();
	}
	if (rc == -EINVAL)
		FZ_CHECK(len > vmb_channel_max_packet_size(W.host) ||
			 (next && !(flags & VMB_SEND_WAIT_FOR_COMPLETION)));
	fz_vsp_done(p, rc, NULL, 0);
}

/* Pause (completing what the VSP holds when the barrier waits for it), then start. */
static void
host_quiesce(void)
{
	int rc = vmb_channel_pause_timeout(W.host, 0);

	FZ_CHECK(rc == 0 || rc == -ETIMEDOUT);
	if (rc == -ETIMEDOUT) {
		complete_all_held();
		FZ_CHECK(vmb_channel_pause(W.host) == 0);
	}
	FZ_CHECK(vmb_channel_is_paused(W.host));
	FZ_CHECK(vmb_channel_outstanding_rx(W.host) == 0);
}

static void
host_service(uint32_t chunk)
{
	static uint8_t *chunks[1024];
	static size_t lens[1024];
	struct vmb_channel *old = W.host, *nh;
	uint32_t n = 0, i;
	uint32_t pending;
	size_t cap = 64 + chunk;
	int rc;

	host_quiesce();
	pending = vmb_channel_pending_tx(old);
	FZ_CHECK(vmb_channel_save_begin(old) == 0);
	for (;;) {
		size_t filled, required;
		uint8_t *buf = malloc(cap);

		FZ_CHECK(buf != NULL);
		rc = vmb_channel_save_continue(old, buf, cap, &filled, &required);
		if (rc == -ENOBUFS) {
			free(buf);
			FZ_CHECK(required > cap);
			cap = required;
			continue;
		}
		FZ_CHECK((rc == 0 || rc == -EOVERFLOW) && n < 1024);
		chunks[n] = buf;
		lens[n++] = filled;
		if (rc == 0)
			break;
		if (required > cap)
			cap = required;
	}
	vmb_channel_save_end(old);
	nh = new_host();
	for (i = 0; i < n; i++) {
		rc = vmb_channel_restore(nh, chunks[i], lens[i]);
		if (rc != (i + 1 < n ? -EINPROGRESS : 0)) {
			/* The host's own stream must restore: keep it for vmb-inspect save. */
			const char *dump = getenv("FUZZ_DUMP_STREAM");
			FILE *f = dump ? fopen(dump, "wb") : NULL;
			uint32_t j;
			for (j = 0; f && j < n; j++)
				fwrite(chunks[j], 1, lens[j], f);
			if (f)
				fclose(f);
			fprintf(stderr, "restore of the host's own stream: chunk %u of %u: %d%s%s\n", i,
				n, rc, dump ? ", stream written to " : "", dump ? dump : "");
			abort();
		}
		free(chunks[i]);
	}
	FZ_CHECK(vmb_channel_pending_tx(nh) == pending);
	FZ_CHECK(vmb_pair_replace_server(W.pair, old, nh) == 0);
	FZ_CHECK(vmb_channel_disable(old) == 0);
	FZ_CHECK(vmb_channel_cleanup(old) == 0);
	W.host = nh;
	W.ndeferred = 0;
	rc = vmb_channel_enable(nh);
	if (rc != 0) {
		/* The guest moved the rings away from where the stream says the host stopped:
		 * the new end refuses to open. Retire its packets without a transport. */
		FZ_CHECK(rc == -EIO);
		FZ_CHECK(vmb_channel_state(nh) == VMB_CHANNEL_DISABLED);
		vmb_channel_detach_transport(nh);
		FZ_CHECK(vmb_channel_enable(nh) == 0);
		FZ_CHECK(vmb_channel_disable(nh) == 0);
		return;
	}
	FZ_CHECK(vmb_channel_start(nh) == 0);
}

static void
guest_reopen(void)
{
	int st;

	complete_all_held();
	st = vmb_channel_state(W.host);
	if (st != VMB_CHANNEL_OPENED || vmb_channel_state(W.guest) != VMB_CHANNEL_OPENED)
		return;
	FZ_CHECK(vmb_channel_disable(W.guest) == 0);
	FZ_CHECK(vmb_channel_state(W.host) == VMB_CHANNEL_CLOSED);
	W.ndeferred = 0;
	W.nxids = 0;
	FZ_CHECK(vmb_channel_enable(W.guest) == 0);
	FZ_CHECK(vmb_pair_is_open(W.pair));
	map_views();
}

static bool
host_open(void)
{
	return vmb_channel_state(W.host) == VMB_CHANNEL_OPENED && vmb_pair_is_open(W.pair);
}

static void
run(struct fz_in *in)
{
	static uint8_t body[MAX_PKT_BODY];

	while (in->n) {
		uint8_t op = fz_u8(in) % OP_COUNT;

		switch (op) {
		case OP_CTL: {
			uint8_t which = fz_u8(in) % 10;
			uint32_t v = fz_u32(in);
			if (host_open())
				__atomic_store_n(ctl_word(which < 5 ? &W.g2h : &W.h2g, which % 5), v,
						 __ATOMIC_RELEASE);
			break;
		}
		case OP_DATA: {
			uint32_t off = fz_u16(in), n = fz_u8(in);
			fz_take(in, body, n);
			if (host_open())
				put_bytes(&W.g2h, off, body, n);
			break;
		}
		case OP_PKT: {
			uint8_t mode = fz_u8(in);
			uint16_t type = fz_u16(in), hlen = fz_u16(in), flags = fz_u16(in);
			uint64_t xid = fz_u64(in);
			uint32_t n = fz_u16(in) % MAX_PKT_BODY;
			fz_take(in, body, n);
			if (host_open())
				guest_put_packet(mode, type, hlen, flags, xid, body, n);
			break;
		}
		case OP_POLL: {
			int rc = vmb_channel_poll(W.host, fz_u8(in));
			FZ_CHECK(rc >= 0 || rc == -EIO);
			/* -EIO: poisoned before the pass (a pass that poisons returns its count) */
			FZ_CHECK(rc != -EIO || vmb_channel_is_poisoned(W.host, NULL));
			break;
		}
		case OP_HOLDC: {
			uint8_t k = fz_u8(in), len = fz_u8(in);
			complete_held(k, len);
			break;
		}
		case OP_SEND: {
			uint8_t kind = fz_u8(in);
			host_send(kind, fz_u16(in));
			break;
		}
		case OP_GREAD: {
			uint8_t n = fz_u8(in);
			if (host_open())
				guest_read(n);
			break;
		}
		case OP_GCOMP: {
			uint8_t k = fz_u8(in), len = fz_u8(in);
			uint64_t xid;
			if (W.nxids == 0 || !host_open())
				break;
			k %= W.nxids;
			xid = W.xids[k];
			W.xids[k] = W.xids[--W.nxids];
			memset(body, len, len);
			guest_put_packet(0, VMB_PKT_COMPLETION, 0, 0, xid, body, len);
			break;
		}
		case OP_PAUSE:
			if (vmb_channel_state(W.host) != VMB_CHANNEL_OPENED)
				break;
			host_quiesce();
			FZ_CHECK(vmb_channel_start(W.host) == 0);
			break;
		case OP_SERVICE: {
			uint16_t chunk = fz_u16(in);
			if (host_open())
				host_service(chunk);
			break;
		}
		case OP_REOPEN:
			guest_reopen();
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};

	if (mem.base == NULL) {
		FZ_CHECK(vmb_mem_create(&mem, GUEST_MEM, VMB_MEM_MEMFD) == 0);
		W.bounce = malloc((RING_PAGES - 1) * VMB_PAGE_SIZE);
		FZ_CHECK(W.bounce != NULL);
	}
	{
		uint8_t *bounce = W.bounce;
		memset(&W, 0, sizeof(W));
		W.bounce = bounce;
	}
	FZ_CHECK(vmb_pair_create(&mem, false, &W.pair) == 0);
	W.host = new_host();
	FZ_CHECK(vmb_channel_alloc(false, &W.guest) == 0);
	FZ_CHECK(vmb_channel_init_set_process_packet(W.guest, guest_process, NULL) == 0);
	FZ_CHECK(vmb_channel_init_set_ring_pages(W.guest, RING_PAGES, RING_PAGES) == 0);
	FZ_CHECK(vmb_pair_attach(W.pair, W.host, W.guest) == 0);
	FZ_CHECK(vmb_channel_enable(W.host) == 0);
	FZ_CHECK(vmb_channel_start(W.host) == 0);
	FZ_CHECK(vmb_channel_enable(W.guest) == 0);
	FZ_CHECK(host_open());
	map_views();

	run(&in);

	/* Teardown: what the VSP holds is completed; disable must not wait forever. */
	complete_all_held();
	if (vmb_channel_state(W.host) != VMB_CHANNEL_DISABLED)
		FZ_CHECK(vmb_channel_disable(W.host) == 0);
	if (vmb_channel_state(W.guest) != VMB_CHANNEL_DISABLED)
		FZ_CHECK(vmb_channel_disable(W.guest) == 0);
	FZ_CHECK(vmb_channel_pending_tx(W.host) == 0);
	FZ_CHECK(vmb_channel_cleanup(W.host) == 0);
	FZ_CHECK(vmb_channel_cleanup(W.guest) == 0);
	FZ_CHECK(vmb_pair_destroy(W.pair) == 0);
	FZ_CHECK(fz_vsp_live == 0);
	return 0;
}
