/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The KMCL face (kmcl/vmb_kmcl.h): status values and NT_SUCCESS, base types, the _INIT helper,
 * the errno <-> NTSTATUS table; every Init* setter in and out of its init phase, on the wrong
 * side and with bad arguments; every function with invalid handles; the interface tables;
 * traffic through the shim (callbacks, completion statuses, caller-storage packets, external
 * data as MDLs both ways, defer / fail / quota, synchronous requests); save / restore statuses
 * (TOO_SMALL, OVERFLOW, SUCCESS, MORE_PROCESSING_REQUIRED, corrupt streams, failing callbacks);
 * the unsupported functions; and the native facade slots the face is built on.
 *
 * A KMCL end and a native end run in one process over memfd guest memory through the
 * in-process pair; passes are driven by hand except for the synchronous-request test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kmcl/VmbusKernelModeClientLibApi.h>
#include <vmb/vmb_channel.h>
#include <vmb/vmb_mem.h>
#include <vmb/vmb_pair.h>
#include <vmb/vmb_poll.h>
#include <vmb/vmb_save.h>
#include <vmb/vmb_save_format.h>

#define ST(x) ((long long)(uint32_t)(x))
#define assert_status(got, want) assert_int_equal(ST(got), ST(want))

#define MAX_HELD 512

/* ---- what the KMCL end and the native end observed ---- */

struct kside {
	unsigned opened, closed, suspend, started, post_started;
	unsigned indicated, batches, batch_packets;
	NTSTATUS opened_status;
	enum { K_COMPLETE, K_HOLD, K_DEFER_ONCE, K_FAIL, K_EXTERNAL } mode;
	VMBPACKETCOMPLETION held[MAX_HELD];
	unsigned nheld;
	uint8_t last[512];
	uint32_t last_len, last_flags;
	/* external data seen */
	NTSTATUS ext_status;
	MDL mdl_copy[4];
	unsigned mdl_count;
	uint8_t ext_data[16384];
	uint32_t ext_len;
	void *client_ctx;
	void *mdl_area;
	/* completion routine */
	unsigned completions;
	VMBPACKET last_packet;
	NTSTATUS last_status;
	uint8_t comp[256];
	uint32_t comp_len;
	bool free_in_completion;
};

struct nside {
	unsigned indicated;
	bool hold;
	struct vmb_rx *held[MAX_HELD];
	unsigned nheld;
	uint8_t last[512];
	uint32_t last_len, last_flags;
	uint16_t last_type;
	uint32_t nranges;
	struct vmb_gpa_range ranges[8];
	uint64_t pfns[64];
	unsigned done, cancelled;
};

struct fx {
	struct vmb_guest_mem mem;
	struct vmb_pair *pair;
	VMBCHANNEL k;            /* the KMCL end */
	struct vmb_channel *n;   /* the native end */
	bool k_is_server;
	struct kside ks;
	struct nside ns;
};

static struct fx *F;

/* ---- KMCL callbacks ---- */

static NTSTATUS
k_opened(VMBCHANNEL ch)
{
	assert_ptr_equal(ch, F->k);
	F->ks.opened++;
	return F->ks.opened_status;
}

static VOID k_closed(VMBCHANNEL ch) { (void)ch; F->ks.closed++; }
static VOID k_suspend(VMBCHANNEL ch) { (void)ch; F->ks.suspend++; }
static VOID k_started(VMBCHANNEL ch) { (void)ch; F->ks.started++; }
static VOID k_post_started(VMBCHANNEL ch) { (void)ch; F->ks.post_started++; }

static VOID
k_process(VMBCHANNEL ch, VMBPACKETCOMPLETION pkt, PVOID buf, UINT32 len, UINT32 flags)
{
	struct kside *s = &F->ks;

	assert_ptr_equal(ch, F->k);
	s->indicated++;
	s->last_len = len < sizeof(s->last) ? len : sizeof(s->last);
	memcpy(s->last, buf, s->last_len);
	s->last_flags = flags;
	switch (s->mode) {
	case K_COMPLETE:
		VmbChannelPacketComplete(pkt, buf, len < 64 ? len : 64);
		break;
	case K_HOLD:
		assert_true(s->nheld < MAX_HELD);
		s->held[s->nheld++] = pkt;
		break;
	case K_DEFER_ONCE:
		s->mode = K_COMPLETE;
		VmbChannelPacketDeferToPassive(pkt);
		break;
	case K_FAIL:
		VmbChannelPacketFail(pkt);
		VmbChannelPacketComplete(pkt, NULL, 0); /* harmless after Fail */
		break;
	case K_EXTERNAL: {
		PMDL m = NULL, it;
		s->ext_status = VmbChannelPacketGetExternalData(pkt, 0, &m);
		s->mdl_count = 0;
		s->mdl_area = m;
		s->client_ctx = VmbKmclPacketGetClientContext(pkt);
		if (s->ext_status == STATUS_SUCCESS) {
			uint32_t total = 0;
			for (it = m; it && s->mdl_count < 4; it = it->Next) {
				s->mdl_copy[s->mdl_count++] = *it;
				total += it->ByteCount;
			}
			if (total > sizeof(s->ext_data))
				total = sizeof(s->ext_data);
			assert_status(VmbKmclMdlCopy(ch, m, 0, s->ext_data, total, FALSE),
				      STATUS_SUCCESS);
			s->ext_len = total;
			/* the second call gives the same chain */
			assert_status(VmbChannelPacketGetExternalData(
					      pkt, VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY, &it),
				      STATUS_SUCCESS);
			assert_ptr_equal(it, m);
			assert_status(VmbChannelPacketGetExternalData(pkt, 2, &it),
				      STATUS_INVALID_PARAMETER_2);
			assert_status(VmbChannelPacketGetExternalData(pkt, 0, NULL),
				      STATUS_INVALID_PARAMETER_3);
		}
		VmbChannelPacketComplete(pkt, NULL, 0);
		break;
	}
	}
}

static VOID
k_processing_complete(VMBCHANNEL ch, UINT32 n)
{
	(void)ch;
	F->ks.batches++;
	F->ks.batch_packets += n;
}

static VOID
k_completion(VMBPACKET pkt, NTSTATUS st, PVOID buf, UINT32 len)
{
	struct kside *s = &F->ks;

	s->completions++;
	s->last_packet = pkt;
	s->last_status = st;
	s->comp_len = len < sizeof(s->comp) ? len : sizeof(s->comp);
	if (buf && s->comp_len)
		memcpy(s->comp, buf, s->comp_len);
	if (s->free_in_completion)
		VmbPacketFree(pkt);
}

/* ---- native end ---- */

static void
n_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len, uint32_t flags)
{
	struct nside *s = &F->ns;
	const struct vmb_gpa_range *g;
	const uint64_t *pfns;
	uint32_t count, i, np = 0;

	(void)ch;
	s->indicated++;
	s->last_len = len < sizeof(s->last) ? len : sizeof(s->last);
	memcpy(s->last, buf, s->last_len);
	s->last_flags = flags;
	s->last_type = vmb_rx_packet(rx)->type;
	s->nranges = 0;
	if (vmb_rx_external(rx, &g, &pfns, NULL, &count) == 0 && g) {
		for (i = 0; i < count && i < 8; i++) {
			s->ranges[i] = g[i];
			np += g[i].pfn_count;
		}
		s->nranges = count;
		memcpy(s->pfns, pfns, (np < 64 ? np : 64) * sizeof(uint64_t));
	}
	if (s->hold) {
		assert_true(s->nheld < MAX_HELD);
		s->held[s->nheld++] = rx;
		return;
	}
	/* answer with the first 16 bytes, reversed */
	{
		uint8_t r[16] = {0};
		for (i = 0; i < 16 && i < s->last_len; i++)
			r[i] = s->last[15 - i];
		vmb_rx_complete(rx, r, sizeof(r));
	}
}

static void
n_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	(void)buf;
	(void)len;
	if (status == 0)
		F->ns.done++;
	else
		F->ns.cancelled++;
	vmb_packet_free(p);
}

static void
pump(int rounds)
{
	while (rounds-- > 0) {
		vmb_channel_poll(F->n, 64);
		vmb_channel_poll(F->k, 64);
	}
}

/* ---- fixtures ---- */

static void
kmcl_configure(VMBCHANNEL ch)
{
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS cb;

	VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&cb);
	cb.EvtChannelOpened = k_opened;
	cb.EvtChannelClosed = k_closed;
	cb.EvtChannelSuspend = k_suspend;
	cb.EvtChannelStarted = k_started;
	cb.EvtChannelPostStarted = k_post_started;
	assert_status(VmbChannelInitSetStateChangeCallbacks(ch, &cb), STATUS_SUCCESS);
	assert_status(VmbChannelInitSetProcessPacketCallbacks(ch, k_process, k_processing_complete),
		      STATUS_SUCCESS);
}

static int
setup_common(void **state, bool k_is_server)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	F = f;
	f->k_is_server = k_is_server;
	f->ks.opened_status = STATUS_SUCCESS;
	assert_int_equal(vmb_mem_create(&f->mem, 8u << 20, VMB_MEM_MEMFD), 0);
	assert_int_equal(vmb_pair_create(&f->mem, false, &f->pair), 0);
	assert_status(VmbChannelAllocate(NULL, k_is_server, &f->k), STATUS_SUCCESS);
	assert_non_null(f->k);
	kmcl_configure(f->k);
	assert_int_equal(vmb_channel_alloc(!k_is_server, &f->n), 0);
	assert_int_equal(vmb_channel_init_set_process_packet(f->n, n_process, NULL), 0);
	if (k_is_server) {
		assert_int_equal(vmb_channel_init_set_ring_pages(f->n, 4, 4), 0);
		assert_int_equal(vmb_pair_attach(f->pair, f->k, f->n), 0);
	} else {
		assert_status(VmbClientChannelInitSetRingBufferPageCount(f->k, 4, 4), STATUS_SUCCESS);
		assert_int_equal(vmb_pair_attach(f->pair, f->n, f->k), 0);
	}
	*state = f;
	return 0;
}

static int setup_server(void **state) { return setup_common(state, true); }
static int setup_client(void **state) { return setup_common(state, false); }

static int
teardown(void **state)
{
	struct fx *f = *state;
	unsigned i;

	for (i = 0; i < f->ks.nheld; i++)
		VmbChannelPacketComplete(f->ks.held[i], NULL, 0);
	for (i = 0; i < f->ns.nheld; i++)
		vmb_rx_complete(f->ns.held[i], NULL, 0);
	if (f->k && vmb_channel_state(f->k) != VMB_CHANNEL_DISABLED)
		VmbChannelDisable(f->k);
	if (vmb_channel_state(f->n) != VMB_CHANNEL_DISABLED)
		vmb_channel_disable(f->n);
	if (f->k)
		VmbChannelCleanup(f->k);
	assert_int_equal(vmb_channel_cleanup(f->n), 0);
	assert_int_equal(vmb_pair_destroy(f->pair), 0);
	vmb_mem_destroy(&f->mem);
	free(f);
	F = NULL;
	return 0;
}

/* Enable both ends (KMCL server started) and check the open callbacks. */
static void
bring_up(struct fx *f)
{
	assert_status(VmbChannelEnable(f->k), STATUS_SUCCESS);
	if (f->k_is_server)
		VmbChannelStart(f->k);
	assert_int_equal(vmb_channel_enable(f->n), 0);
	if (!f->k_is_server)
		assert_int_equal(vmb_channel_start(f->n), 0);
	assert_int_equal(vmb_channel_state(f->k), VMB_CHANNEL_OPENED);
	assert_int_equal(f->ks.opened, 1);
	assert_int_equal(f->ks.started, 1);
	assert_int_equal(f->ks.post_started, 1);
}

/* ======================================================================================== */
/* constants and types                                                                      */
/* ======================================================================================== */

static void
test_status_values(void **state)
{
	static const struct {
		NTSTATUS st;
		uint32_t value;
		bool success;
	} t[] = {
		{STATUS_SUCCESS, 0x00000000, true},
		{STATUS_TIMEOUT, 0x00000102, true},
		{STATUS_PENDING, 0x00000103, true},
		{STATUS_MORE_ENTRIES, 0x00000105, true},
		{STATUS_BUFFER_OVERFLOW, 0x80000005, false},
		{STATUS_DEVICE_BUSY, 0x80000011, false},
		{STATUS_UNSUCCESSFUL, 0xC0000001, false},
		{STATUS_INVALID_HANDLE, 0xC0000008, false},
		{STATUS_INVALID_PARAMETER, 0xC000000D, false},
		{STATUS_INVALID_DEVICE_REQUEST, 0xC0000010, false},
		{STATUS_MORE_PROCESSING_REQUIRED, 0xC0000016, false},
		{STATUS_NO_MEMORY, 0xC0000017, false},
		{STATUS_BUFFER_TOO_SMALL, 0xC0000023, false},
		{STATUS_OBJECT_TYPE_MISMATCH, 0xC0000024, false},
		{STATUS_DATA_ERROR, 0xC000003E, false},
		{STATUS_CRC_ERROR, 0xC000003F, false},
		{STATUS_REVISION_MISMATCH, 0xC0000059, false},
		{STATUS_INSUFFICIENT_RESOURCES, 0xC000009A, false},
		{STATUS_DEVICE_NOT_CONNECTED, 0xC000009D, false},
		{STATUS_DEVICE_NOT_READY, 0xC00000A3, false},
		{STATUS_IO_TIMEOUT, 0xC00000B5, false},
		{STATUS_NOT_SUPPORTED, 0xC00000BB, false},
		{STATUS_INVALID_PARAMETER_1, 0xC00000EF, false},
		{STATUS_INVALID_PARAMETER_2, 0xC00000F0, false},
		{STATUS_INVALID_PARAMETER_3, 0xC00000F1, false},
		{STATUS_INVALID_PARAMETER_4, 0xC00000F2, false},
		{STATUS_INVALID_PARAMETER_12, 0xC00000FA, false},
		{STATUS_CANCELLED, 0xC0000120, false},
		{STATUS_INVALID_DEVICE_STATE, 0xC0000184, false},
		{STATUS_INVALID_BUFFER_SIZE, 0xC0000206, false},
		{STATUS_NOT_FOUND, 0xC0000225, false},
		{STATUS_DUPLICATE_OBJECTID, 0xC000022A, false},
		{STATUS_DEVICE_REMOVED, 0xC00002B6, false},
		{STATUS_REQUEST_OUT_OF_SEQUENCE, 0xC000042A, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal((uint32_t)t[i].st, t[i].value);
		assert_int_equal(NT_SUCCESS(t[i].st), t[i].success);
	}
	/* the two "more" codes are not successes: callers must compare exact values */
	assert_false(NT_SUCCESS(STATUS_BUFFER_OVERFLOW));
	assert_false(NT_SUCCESS(STATUS_MORE_PROCESSING_REQUIRED));
	assert_true(NT_WARNING(STATUS_BUFFER_OVERFLOW));
	assert_true(NT_ERROR(STATUS_MORE_PROCESSING_REQUIRED));
	assert_true(NT_INFORMATION((NTSTATUS)0x40000000));
	assert_false(NT_ERROR(STATUS_SUCCESS));
	/* usable as case labels */
	switch (STATUS_BUFFER_TOO_SMALL) {
	case STATUS_BUFFER_TOO_SMALL:
		break;
	default:
		fail();
	}
}

static void
test_base_types(void **state)
{
	LARGE_INTEGER li;
	GUID g = {0x11223344, 0x5566, 0x7788, {1, 2, 3, 4, 5, 6, 7, 8}};
	static const uint16_t name[] = u"abc";
	UNICODE_STRING us = VMBKMCL_CONSTANT_STRING(name);
	MDL m;

	(void)state;
	assert_int_equal(sizeof(NTSTATUS), 4);
	assert_int_equal(sizeof(ULONG), 4);
	assert_int_equal(sizeof(BOOLEAN), 1);
	assert_int_equal(sizeof(PFN_NUMBER), 8);
	assert_int_equal(sizeof(GUID), 16);
	assert_int_equal(offsetof(GUID, Data2), 4);
	assert_int_equal(offsetof(GUID, Data3), 6);
	assert_int_equal(offsetof(GUID, Data4), 8);
	assert_int_equal(((const uint8_t *)&g)[0], 0x44); /* little-endian memory = wire order */
	assert_int_equal(sizeof(LARGE_INTEGER), 8);
	li.QuadPart = -2;
	assert_int_equal(li.LowPart, 0xFFFFFFFEu);
	assert_int_equal(li.HighPart, -1);
	assert_int_equal(li.u.LowPart, 0xFFFFFFFEu);
	assert_int_equal(us.Length, 6);
	assert_int_equal(us.MaximumLength, 8);
	assert_int_equal(sizeof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS), 8 + 5 * sizeof(void *));
	assert_int_equal(offsetof(MDL, Pages), 24);
	assert_int_equal(VmbKmclSpanPages(0, 1), 1);
	assert_int_equal(VmbKmclSpanPages(0, 4096), 1);
	assert_int_equal(VmbKmclSpanPages(1, 4096), 2);
	assert_int_equal(VmbKmclSpanPages(4095, 2), 2);
	assert_int_equal(VmbKmclSpanPages(100, 0), 0);
	{
		PFN_NUMBER pages[2] = {7, 9};
		assert_status(VmbKmclMdlInitialize(NULL, pages, 2, 0, 1), STATUS_INVALID_PARAMETER_1);
		assert_status(VmbKmclMdlInitialize(&m, NULL, 2, 0, 1), STATUS_INVALID_PARAMETER_2);
		assert_status(VmbKmclMdlInitialize(&m, pages, 1, 4000, 200), STATUS_INVALID_PARAMETER_3);
		assert_status(VmbKmclMdlInitialize(&m, pages, 2, 4096, 1), STATUS_INVALID_PARAMETER_4);
		assert_status(VmbKmclMdlInitialize(&m, pages, 2, 0, 0), STATUS_INVALID_PARAMETER_5);
		assert_status(VmbKmclMdlInitialize(&m, pages, 2, 4000, 200), STATUS_SUCCESS);
		assert_null(m.Next);
		assert_int_equal(m.ByteOffset, 4000);
		assert_int_equal(m.ByteCount, 200);
		assert_int_equal(m.PageCount, 2);
		assert_ptr_equal(m.Pages, pages);
	}
}

static void
test_callbacks_init(void **state)
{
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS cb;

	(void)state;
	memset(&cb, 0xA5, sizeof(cb));
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&cb);
	assert_int_equal(cb.Version, 1);
	assert_int_equal(cb.Version, VMB_CHANNEL_STATE_CHANGE_CALLBACKS_VERSION_1);
	assert_int_equal(cb.Size, sizeof(cb));
	assert_null(cb.EvtChannelOpened);
	assert_null(cb.EvtChannelClosed);
	assert_null(cb.EvtChannelSuspend);
	assert_null(cb.EvtChannelStarted);
	assert_null(cb.EvtChannelPostStarted);
}

static void
test_errno_mapping(void **state)
{
	static const struct {
		int err;
		NTSTATUS st;
	} t[] = {
		{0, STATUS_SUCCESS},
		{-EBADF, STATUS_INVALID_HANDLE},
		{-EINVAL, STATUS_INVALID_PARAMETER},
		{-EPERM, STATUS_INVALID_DEVICE_STATE},
		{-ENOTSUP, STATUS_NOT_SUPPORTED},
		{-ENOMEM, STATUS_INSUFFICIENT_RESOURCES},
		{-ENOSPC, STATUS_INSUFFICIENT_RESOURCES},
		{-EIO, STATUS_DEVICE_REMOVED},
		{-ECANCELED, STATUS_CANCELLED},
		{-ETIMEDOUT, STATUS_IO_TIMEOUT},
		{-EOVERFLOW, STATUS_BUFFER_OVERFLOW},
		{-ENOBUFS, STATUS_BUFFER_TOO_SMALL},
		{-EBUSY, STATUS_DEVICE_BUSY},
		{-EPROTO, STATUS_DATA_ERROR},
		{-EMSGSIZE, STATUS_INVALID_BUFFER_SIZE},
		{-EBADMSG, STATUS_CRC_ERROR},
		{-EILSEQ, STATUS_REQUEST_OUT_OF_SEQUENCE},
		{-EXDEV, STATUS_OBJECT_TYPE_MISMATCH},
		{-EINPROGRESS, STATUS_MORE_PROCESSING_REQUIRED},
		{-EEXIST, STATUS_DUPLICATE_OBJECTID},
		{-ENOENT, STATUS_NOT_FOUND},
		{-ENOTCONN, STATUS_DEVICE_NOT_CONNECTED},
		{-EAGAIN, STATUS_DEVICE_NOT_READY},
		{-EFAULT, STATUS_UNSUCCESSFUL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_status(VmbKmclStatusFromErrno(t[i].err), t[i].st);
		if (t[i].err != -ENOSPC && t[i].err != -EFAULT)
			assert_int_equal(VmbKmclErrnoFromStatus(t[i].st), t[i].err);
	}
	assert_status(VmbKmclStatusFromErrno(EBADF), STATUS_INVALID_HANDLE); /* sign-agnostic */
	assert_int_equal(VmbKmclErrnoFromStatus(STATUS_PENDING), 0);
	assert_int_equal(VmbKmclErrnoFromStatus(STATUS_INVALID_PARAMETER_3), -EINVAL);
	assert_int_equal(VmbKmclErrnoFromStatus(STATUS_NO_MEMORY), -ENOMEM);
	assert_int_equal(VmbKmclErrnoFromStatus((NTSTATUS)0xC0001234), -EIO);
}

/* ======================================================================================== */
/* Init setters                                                                              */
/* ======================================================================================== */

static const GUID IfType = {0x01020304, 0x0506, 0x0708, {9, 10, 11, 12, 13, 14, 15, 16}};
static const GUID IfInst = {0xa1a2a3a4, 0xb1b2, 0xc1c2, {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8}};

static NTSTATUS save_nothing(VMBCHANNEL c, VMBPACKET p, PVOID b, UINT32 s, PUINT32 n);
static NTSTATUS restore_simple(VMBCHANNEL c, PVOID l, UINT32 ls, PVOID b, UINT32 s);

/* Every setter with valid arguments; @p want: SUCCESS in the init phase, INV_P1 outside. */
static void
all_setters(VMBCHANNEL ch, bool server, NTSTATUS want)
{
	static const uint16_t nm[] = u"kmcl";
	UNICODE_STRING name = VMBKMCL_CONSTANT_STRING(nm);
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS cb;

	VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&cb);
	cb.EvtChannelOpened = k_opened;
	assert_status(VmbChannelInitSetMaximumPacketSize(ch, 2048), want);
	assert_status(VmbChannelInitSetMaximumExternalData(ch, 65536, 8), want);
	assert_status(VmbChannelInitSetClientContextSize(ch, 24), want);
	assert_status(VmbChannelInitSetProcessPacketCallbacks(ch, k_process, NULL), want);
	assert_status(VmbChannelInitSetStateChangeCallbacks(ch, &cb), want);
	assert_status(VmbChannelInitSetFriendlyName(ch, &name), want);
	assert_status(VmbChannelInitSetFlags(ch, 0), want);
	if (server) {
		assert_status(VmbServerChannelInitSetFlags(
				      ch, VMBUS_SERVER_CHANNEL_INIT_FLAG_ENUMERATE_DEVICE_INTERFACE |
						  VMBUS_SERVER_CHANNEL_INIT_FLAG_FORCE_NEW_CHANNEL),
			      want);
		assert_status(VmbServerChannelInitSetMmioMegabytes(ch, 0, 4), want);
		assert_status(VmbServerChannelInitSetTargetInterfaceId(ch, IfType, IfInst), want);
		assert_status(VmbServerChannelInitSetSaveRestorePacketCallbacks(ch, save_nothing,
										 restore_simple),
			      want);
		assert_status(VmbServerChannelInitSetTargetVtl(ch, 2), want);
		assert_status(VmbServerChannelInitSetVmbusHandle(ch, NULL),
			      want == STATUS_SUCCESS ? STATUS_NOT_SUPPORTED : want);
	} else {
		assert_status(VmbClientChannelInitSetRingBufferPageCount(ch, 8, 8), want);
		assert_status(VmbClientChannelInitSetTargetPnp(ch, &IfType, NULL, NULL), want);
	}
}

static void
test_init_setters_phases(void **state)
{
	VMBCHANNEL s, c;

	(void)state;
	assert_status(VmbChannelAllocate(NULL, TRUE, NULL), STATUS_INVALID_PARAMETER_3);
	assert_status(VmbChannelAllocate(NULL, TRUE, &s), STATUS_SUCCESS);
	assert_status(VmbChannelAllocate(NULL, FALSE, &c), STATUS_SUCCESS);
	assert_true(vmb_channel_is_server(s));
	assert_false(vmb_channel_is_server(c));
	all_setters(s, true, STATUS_SUCCESS);
	all_setters(c, false, STATUS_SUCCESS);
	assert_string_equal(vmb_channel_name(s), "kmcl");

	/* past the init phase: Enabled (no transport: stays Enabled) */
	assert_status(VmbChannelEnable(s), STATUS_SUCCESS);
	assert_status(VmbChannelEnable(c), STATUS_SUCCESS);
	assert_status(VmbChannelEnable(s), STATUS_INVALID_DEVICE_STATE);
	all_setters(s, true, STATUS_INVALID_PARAMETER_1);
	all_setters(c, false, STATUS_INVALID_PARAMETER_1);

	/* Disabled again: callbacks may be re-configured; sizes are fixed once the tables exist */
	VmbChannelDisable(s);
	assert_status(VmbChannelInitSetProcessPacketCallbacks(s, k_process, NULL), STATUS_SUCCESS);
	assert_status(VmbServerChannelInitSetTargetVtl(s, 1), STATUS_SUCCESS);
	assert_status(VmbChannelInitSetMaximumPacketSize(s, 512), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbChannelInitSetClientContextSize(s, 8), STATUS_INVALID_PARAMETER_1);
	VmbChannelDisable(c);
	VmbChannelCleanup(s);
	VmbChannelCleanup(c);

	/* sizes are fixed by the first packet allocation too */
	assert_status(VmbChannelAllocate(NULL, TRUE, &s), STATUS_SUCCESS);
	VmbPacketFree(VmbPacketAllocate(s));
	assert_status(VmbChannelInitSetMaximumPacketSize(s, 512), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbChannelInitSetMaximumExternalData(s, 4096, 1), STATUS_INVALID_PARAMETER_1);
	VmbChannelCleanup(s);
}

static void
test_init_setters_bad_arguments(void **state)
{
	VMBCHANNEL s, c;
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS cb;
	uint16_t odd[2] = {'a', 'b'};
	UNICODE_STRING bad = {3, 4, odd}, nobuf = {2, 2, NULL};

	(void)state;
	assert_status(VmbChannelAllocate(NULL, TRUE, &s), STATUS_SUCCESS);
	assert_status(VmbChannelAllocate(NULL, FALSE, &c), STATUS_SUCCESS);

	assert_status(VmbChannelInitSetMaximumPacketSize(s, 0), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetMaximumPacketSize(s, (1u << 20) + 1), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetMaximumExternalData(s, 0, 1), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetMaximumExternalData(s, 1, 0), STATUS_INVALID_PARAMETER_3);
	assert_status(VmbChannelInitSetMaximumExternalData(s, 0, 0), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetMaximumExternalData(s, 4096, VMBKMCL_MAX_CHAIN_LENGTH + 1),
		      STATUS_INVALID_PARAMETER_3);
	assert_status(VmbChannelInitSetClientContextSize(s, VMBKMCL_MAX_CLIENT_CONTEXT + 1),
		      STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetProcessPacketCallbacks(s, NULL, k_processing_complete),
		      STATUS_INVALID_PARAMETER_2);

	assert_status(VmbChannelInitSetStateChangeCallbacks(s, NULL), STATUS_INVALID_PARAMETER_2);
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&cb);
	cb.Version = 2;
	assert_status(VmbChannelInitSetStateChangeCallbacks(s, &cb), STATUS_INVALID_PARAMETER_2);
	cb.Version = 0;
	assert_status(VmbChannelInitSetStateChangeCallbacks(s, &cb), STATUS_INVALID_PARAMETER_2);
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&cb);
	cb.Size -= 8;
	assert_status(VmbChannelInitSetStateChangeCallbacks(s, &cb), STATUS_INVALID_PARAMETER_2);
	cb.Size += 16;
	assert_status(VmbChannelInitSetStateChangeCallbacks(s, &cb), STATUS_INVALID_PARAMETER_2);

	assert_status(VmbChannelInitSetFriendlyName(s, NULL), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetFriendlyName(s, &bad), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetFriendlyName(s, &nobuf), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetFlags(s, 0x2), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetFlags(s, 0x80000000u), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelInitSetFlags(s, VMBUS_CHANNEL_INIT_FLAG_IS_PIPE), STATUS_NOT_SUPPORTED);

	assert_status(VmbServerChannelInitSetFlags(s, 0x20), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbServerChannelInitSetFlags(s, 0xFFFFFFFFu), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbServerChannelInitSetFlags(s, VMBUS_SERVER_CHANNEL_INIT_FLAG_OFFER_AS_PIPE),
		      STATUS_NOT_SUPPORTED);
	assert_status(VmbServerChannelInitSetFlags(s, VMBUS_SERVER_CHANNEL_INIT_FLAGS &
							      ~VMBUS_SERVER_CHANNEL_INIT_FLAG_OFFER_AS_PIPE),
		      STATUS_SUCCESS);
	assert_status(VmbServerChannelInitSetMmioMegabytes(s, 0, 0), STATUS_INVALID_PARAMETER);
	assert_status(VmbServerChannelInitSetMmioMegabytes(s, 16, 0), STATUS_SUCCESS);
	assert_status(VmbServerChannelInitSetTargetVtl(s, 3), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbServerChannelInitSetTargetVtl(s, 255), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbServerChannelInitSetTargetVtl(s, 0), STATUS_SUCCESS);
	assert_status(VmbServerChannelInitSetSaveRestorePacketCallbacks(s, NULL, restore_simple),
		      STATUS_INVALID_PARAMETER_2);
	assert_status(VmbServerChannelInitSetSaveRestorePacketCallbacks(s, save_nothing, NULL),
		      STATUS_INVALID_PARAMETER_3);
	assert_status(VmbServerChannelInitSetSaveRestorePacketCallbacks(s, NULL, NULL),
		      STATUS_INVALID_PARAMETER_2);

	assert_status(VmbClientChannelInitSetRingBufferPageCount(c, 1, 4), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbClientChannelInitSetRingBufferPageCount(c, 4, 1), STATUS_INVALID_PARAMETER_3);
	assert_status(VmbClientChannelInitSetRingBufferPageCount(c, (1u << 19) + 1, 4),
		      STATUS_INVALID_PARAMETER_2);
	assert_status(VmbClientChannelInitSetTargetPnp(c, NULL, &IfInst, NULL),
		      STATUS_INVALID_PARAMETER_2);

	/* the wrong side: the channel is an invalid first parameter */
	assert_status(VmbClientChannelInitSetRingBufferPageCount(s, 4, 4), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbClientChannelInitSetTargetPnp(s, &IfType, NULL, NULL),
		      STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetFlags(c, 0), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetMmioMegabytes(c, 1, 0), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetTargetInterfaceId(c, IfType, IfInst),
		      STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetSaveRestorePacketCallbacks(c, save_nothing,
									 restore_simple),
		      STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetTargetVtl(c, 0), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetVmbusHandle(c, NULL), STATUS_INVALID_PARAMETER_1);

	/* no process-packet callback: Enable refuses */
	assert_status(VmbChannelEnable(s), STATUS_INVALID_DEVICE_STATE);
	VmbChannelCleanup(s);
	VmbChannelCleanup(c);
}

static void
test_friendly_name_utf16(void **state)
{
	/* "é€" + U+1F600 (surrogate pair) + an unpaired high surrogate */
	uint16_t s[] = {0x00E9, 0x20AC, 0xD83D, 0xDE00, 0xD800, 'x'};
	UNICODE_STRING n = {sizeof(s), sizeof(s), s};
	uint16_t longname[100];
	UNICODE_STRING ln = {sizeof(longname), sizeof(longname), longname};
	VMBCHANNEL ch;
	size_t i;

	(void)state;
	assert_status(VmbChannelAllocate(NULL, TRUE, &ch), STATUS_SUCCESS);
	assert_status(VmbChannelInitSetFriendlyName(ch, &n), STATUS_SUCCESS);
	assert_string_equal(vmb_channel_name(ch), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBDx");
	for (i = 0; i < 100; i++)
		longname[i] = 0x20AC; /* 3 bytes each: truncated at a sequence boundary */
	assert_status(VmbChannelInitSetFriendlyName(ch, &ln), STATUS_SUCCESS);
	assert_int_equal(strlen(vmb_channel_name(ch)), 63);
	n.Length = 0;
	assert_status(VmbChannelInitSetFriendlyName(ch, &n), STATUS_SUCCESS);
	assert_string_equal(vmb_channel_name(ch), "");
	VmbChannelCleanup(ch);
}

/* ======================================================================================== */
/* invalid handles                                                                           */
/* ======================================================================================== */

static void
bad_handle_calls(VMBCHANNEL ch, VMBPACKET pkt, VMBPACKETCOMPLETION rx)
{
	static const uint16_t nm[] = u"x";
	UNICODE_STRING name = VMBKMCL_CONSTANT_STRING(nm);
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS cb;
	uint8_t buf[64] = {0};
	UINT32 gpadl = 77;
	UINT16 u16 = 5;
	UINT64 a = 1, b = 1;
	ULONG f = 1, r = 1;
	GUID g;
	PMDL m = (PMDL)buf;
	LARGE_INTEGER zero = {.QuadPart = 0};
	PFN_NUMBER pfn = 1;

	VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&cb);
	/* Init setters: STATUS_INVALID_PARAMETER_1 */
	assert_status(VmbChannelInitSetMaximumPacketSize(ch, 64), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbChannelInitSetMaximumExternalData(ch, 64, 1), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbChannelInitSetClientContextSize(ch, 8), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbChannelInitSetProcessPacketCallbacks(ch, k_process, NULL),
		      STATUS_INVALID_PARAMETER_1);
	assert_status(VmbChannelInitSetStateChangeCallbacks(ch, &cb), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbChannelInitSetFriendlyName(ch, &name), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbChannelInitSetFlags(ch, 0), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbClientChannelInitSetRingBufferPageCount(ch, 4, 4), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbClientChannelInitSetTargetPnp(ch, &IfType, NULL, NULL),
		      STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetFlags(ch, 0), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetMmioMegabytes(ch, 1, 1), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetTargetInterfaceId(ch, IfType, IfInst),
		      STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetSaveRestorePacketCallbacks(ch, save_nothing,
									 restore_simple),
		      STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetVmbusHandle(ch, NULL), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbServerChannelInitSetTargetVtl(ch, 0), STATUS_INVALID_PARAMETER_1);
	assert_status(VmbPacketInitialize(ch, (VMBPACKET)buf, sizeof(buf)), STATUS_INVALID_PARAMETER_1);

	/* other NTSTATUS functions: STATUS_INVALID_HANDLE */
	assert_status(VmbChannelEnable(ch), STATUS_INVALID_HANDLE);
	assert_status(VmbChannelSetInterruptLatency(ch, 1, &u16), STATUS_INVALID_HANDLE);
	assert_status(VmbPacketSend(pkt, buf, 8, NULL, 0), STATUS_INVALID_HANDLE);
	assert_status(VmbPacketSendWithExternalMdl(pkt, buf, 8, m, 0, 0, 1), STATUS_INVALID_HANDLE);
	assert_status(VmbPacketSendWithExternalPfns(pkt, buf, 8, &pfn, 1, 1), STATUS_INVALID_HANDLE);
	assert_status(VmbChannelSendSynchronousRequest(ch, buf, 8, NULL, 0, NULL, NULL, &zero),
		      STATUS_INVALID_HANDLE);
	assert_status(VmbChannelPacketGetExternalData(rx, 0, &m), STATUS_INVALID_HANDLE);
	assert_status(VmbChannelCreateGpadlFromMdl(ch, 0, m, 0, 0, &gpadl), STATUS_INVALID_HANDLE);
	assert_int_equal(gpadl, 0);
	assert_status(VmbChannelCreateGpadlFromBuffer(ch, 0, buf, 8, &gpadl), STATUS_INVALID_HANDLE);
	m = (PMDL)buf;
	assert_status(VmbChannelMapGpadl(ch, 0, 1, &m), STATUS_INVALID_HANDLE);
	assert_null(m);
	assert_status(VmbChannelSaveBegin(ch), STATUS_INVALID_HANDLE);
	assert_status(VmbChannelSaveContinue(ch, buf, sizeof(buf), &f, &r), STATUS_INVALID_HANDLE);
	assert_status(VmbChannelRestoreFromBuffer(ch, buf, sizeof(buf)), STATUS_INVALID_HANDLE);
	assert_status(VmbPacketRestore(pkt, buf, sizeof(buf)), STATUS_INVALID_HANDLE);
	assert_status(VmbKmclMdlCopy(ch, (PMDL)buf, 0, buf, 1, FALSE), STATUS_INVALID_HANDLE);

	/* value-returning functions: neutral values */
	assert_null(VmbChannelGetPointer(ch));
	assert_int_equal(VmbChannelSizeofPacket(ch), 0);
	assert_null(VmbPacketAllocate(ch));
	assert_null(VmbPacketGetPointer(pkt));
	assert_null(VmbPacketGetChannel(pkt));
	assert_null(VmbKmclPacketGetClientContext(rx));

	/* VOID functions: nothing happens */
	VmbChannelCleanup(ch);
	VmbChannelDisable(ch);
	VmbChannelStart(ch);
	VmbChannelPause(ch);
	VmbChannelSetPointer(ch, buf);
	memset(&g, 0xff, sizeof(g));
	VmbChannelGetInterfaceInstance(ch, &g);
	assert_int_equal(g.Data1, 0);
	VmbChannelGetMmioSpace(ch, &a, &b);
	assert_true(a == 0 && b == 0);
	VmbChannelSetIncomingProcessingAtPassive(ch, TRUE);
	VmbChannelSetTransactionQuota(ch, 4);
	VmbPacketFree(pkt);
	VmbPacketSetPointer(pkt, buf);
	VmbPacketSetCompletionRoutine(pkt, k_completion);
	VmbChannelPacketComplete(rx, buf, 8);
	VmbChannelPacketDeferToPassive(rx);
	VmbChannelPacketFail(rx);
	VmbChannelDeleteGpadl(ch, 1);
	VmbChannelUnmapGpadl(ch, 1);
	VmbChannelSaveEnd(ch);
}

static void
test_invalid_handles(void **state)
{
	uint64_t junk[16];
	uint64_t fake_storage[4];
	uint32_t magic = 0x4b424d56u; /* the caller-storage header magic, pointing at junk */
	void *jp = junk;

	(void)state;
	bad_handle_calls(NULL, NULL, NULL);
	memset(junk, 0xA5, sizeof(junk));
	bad_handle_calls((VMBCHANNEL)junk, (VMBPACKET)junk, (VMBPACKETCOMPLETION)junk);
	/* misaligned junk */
	bad_handle_calls((VMBCHANNEL)((uint8_t *)junk + 1), (VMBPACKET)((uint8_t *)junk + 3),
			 (VMBPACKETCOMPLETION)((uint8_t *)junk + 5));
	/* storage-looking handle whose object is junk */
	memset(fake_storage, 0, sizeof(fake_storage));
	memcpy(fake_storage, &magic, 4);
	memcpy(&fake_storage[1], &jp, sizeof(jp));
	bad_handle_calls((VMBCHANNEL)junk, (VMBPACKET)fake_storage, (VMBPACKETCOMPLETION)junk);
	/* a channel handle is not a packet or a completion, and vice versa */
	{
		VMBCHANNEL ch;
		assert_status(VmbChannelAllocate(NULL, TRUE, &ch), STATUS_SUCCESS);
		assert_status(VmbPacketSend((VMBPACKET)ch, NULL, 0, NULL, 0), STATUS_INVALID_HANDLE);
		assert_null(VmbPacketGetChannel((VMBPACKET)ch));
		VmbChannelPacketComplete((VMBPACKETCOMPLETION)ch, NULL, 0);
		VmbChannelCleanup(ch);
	}
	assert_status(VmbConvertVmbusHandleToKernelHandle(NULL, NULL), STATUS_NOT_SUPPORTED);
}

/* ======================================================================================== */
/* interface tables                                                                          */
/* ======================================================================================== */

typedef void (*any_fn)(void);

static void
test_interface_tables(void **state)
{
	KMCL_CLIENT_INTERFACE_V1 ci;
	KMCL_SERVER_INTERFACE_V1 si;
	static const GUID other = {1, 2, 3, {4, 5, 6, 7, 8, 9, 10, 11}};
	const any_fn *fp;
	size_t i, n;
	VMBCHANNEL ch;
	NTSTATUS (*q)(const GUID *, USHORT, USHORT, PVOID) = VmbKmclQueryInterface;

	(void)state;
	assert_status(q(NULL, sizeof(ci), 1, &ci), STATUS_INVALID_PARAMETER_1);
	assert_status(q(&GUID_VMBKMCL_CLIENT_INTERFACE, sizeof(ci), 1, NULL), STATUS_INVALID_PARAMETER_4);
	assert_status(q(&other, sizeof(ci), 1, &ci), STATUS_NOT_SUPPORTED);
	assert_status(q(&GUID_VMBKMCL_CLIENT_INTERFACE, sizeof(ci), 0, &ci), STATUS_NOT_SUPPORTED);
	assert_status(q(&GUID_VMBKMCL_CLIENT_INTERFACE, sizeof(ci), 2, &ci), STATUS_NOT_SUPPORTED);
	assert_status(q(&GUID_VMBKMCL_CLIENT_INTERFACE, sizeof(ci) - 1, 1, &ci),
		      STATUS_BUFFER_TOO_SMALL);
	assert_status(q(&GUID_VMBKMCL_CLIENT_INTERFACE, 0, 1, &ci), STATUS_BUFFER_TOO_SMALL);
	assert_status(q(&GUID_VMBKMCL_SERVER_INTERFACE, sizeof(ci), 1, &si), STATUS_BUFFER_TOO_SMALL);
	assert_status(q(&GUID_VMBKMCL_SERVER_INTERFACE, sizeof(si), 3, &si), STATUS_NOT_SUPPORTED);

	memset(&ci, 0, sizeof(ci));
	assert_status(q(&GUID_VMBKMCL_CLIENT_INTERFACE, sizeof(ci), KMCL_CLIENT_INTERFACE_VERSION_V1,
			&ci),
		      STATUS_SUCCESS);
	assert_int_equal(ci.InterfaceHeader.Size, sizeof(ci));
	assert_int_equal(ci.InterfaceHeader.Version, 1);
	assert_null(ci.InterfaceHeader.Context);
	assert_non_null(ci.InterfaceHeader.InterfaceReference);
	assert_non_null(ci.InterfaceHeader.InterfaceDereference);
	ci.InterfaceHeader.InterfaceReference(ci.InterfaceHeader.Context);
	ci.InterfaceHeader.InterfaceDereference(ci.InterfaceHeader.Context);
	/* 41 client members, none NULL */
	fp = (const any_fn *)((const uint8_t *)&ci + sizeof(INTERFACE));
	n = (sizeof(ci) - sizeof(INTERFACE)) / sizeof(any_fn);
	assert_int_equal(n, 41);
	for (i = 0; i < n; i++)
		assert_non_null(fp[i]);
	/* alphabetical order, spot-checked at the ends and around the boundaries */
	assert_ptr_equal(ci.VmbChannelAllocate, VmbChannelAllocate);
	assert_ptr_equal(fp[0], (any_fn)VmbChannelAllocate);
	assert_ptr_equal(fp[1], (any_fn)VmbChannelCleanup);
	assert_ptr_equal(fp[2], (any_fn)VmbChannelCreateGpadlFromBuffer);
	assert_ptr_equal(fp[21], (any_fn)VmbChannelPause);
	assert_ptr_equal(fp[22], (any_fn)VmbChannelSendSynchronousRequest);
	assert_ptr_equal(fp[28], (any_fn)VmbChannelStart);
	assert_ptr_equal(fp[29], (any_fn)VmbClientChannelInitSetRingBufferPageCount);
	assert_ptr_equal(fp[31], (any_fn)VmbPacketAllocate);
	assert_ptr_equal(fp[40], (any_fn)VmbPacketSetPointer);
	assert_ptr_equal(ci.VmbChannelSizeofPacket, VmbChannelSizeofPacket);
	assert_ptr_equal(ci.VmbPacketSendWithExternalPfns, VmbPacketSendWithExternalPfns);

	memset(&si, 0, sizeof(si));
	assert_status(q(&GUID_VMBKMCL_SERVER_INTERFACE, sizeof(si), KMCL_SERVER_INTERFACE_VERSION_V1,
			&si),
		      STATUS_SUCCESS);
	assert_int_equal(si.InterfaceHeader.Size, sizeof(si));
	assert_int_equal(sizeof(si), sizeof(ci) + sizeof(KMCL_SERVER_ONLY_METHODS));
	fp = (const any_fn *)((const uint8_t *)&si + sizeof(INTERFACE));
	n = (sizeof(si) - sizeof(INTERFACE)) / sizeof(any_fn);
	assert_int_equal(n, 55);
	for (i = 0; i < n; i++)
		assert_non_null(fp[i]);
	/* the client part is identical; the server part follows in order */
	assert_memory_equal((const uint8_t *)&si + sizeof(INTERFACE),
			    (const uint8_t *)&ci + sizeof(INTERFACE), sizeof(ci) - sizeof(INTERFACE));
	assert_ptr_equal(fp[41], (any_fn)VmbChannelMapGpadl);
	assert_ptr_equal(fp[42], (any_fn)VmbChannelRestoreFromBuffer);
	assert_ptr_equal(fp[43], (any_fn)VmbChannelSaveBegin);
	assert_ptr_equal(fp[44], (any_fn)VmbChannelSaveContinue);
	assert_ptr_equal(fp[45], (any_fn)VmbChannelSaveEnd);
	assert_ptr_equal(fp[46], (any_fn)VmbChannelUnmapGpadl);
	assert_ptr_equal(fp[47], (any_fn)VmbConvertVmbusHandleToKernelHandle);
	assert_ptr_equal(fp[48], (any_fn)VmbPacketRestore);
	assert_ptr_equal(fp[49], (any_fn)VmbServerChannelInitSetFlags);
	assert_ptr_equal(fp[50], (any_fn)VmbServerChannelInitSetMmioMegabytes);
	assert_ptr_equal(fp[51], (any_fn)VmbServerChannelInitSetSaveRestorePacketCallbacks);
	assert_ptr_equal(fp[52], (any_fn)VmbServerChannelInitSetTargetInterfaceId);
	assert_ptr_equal(fp[53], (any_fn)VmbServerChannelInitSetTargetVtl);
	assert_ptr_equal(fp[54], (any_fn)VmbServerChannelInitSetVmbusHandle);

	/* members behave like the plain functions */
	assert_status(si.VmbChannelAllocate(NULL, TRUE, &ch), STATUS_SUCCESS);
	assert_status(si.VmbChannelInitSetMaximumPacketSize(ch, 0), STATUS_INVALID_PARAMETER_2);
	assert_status(si.VmbServerChannelInitSetTargetVtl(ch, 9), STATUS_INVALID_PARAMETER_2);
	assert_status(si.VmbServerChannelInitSetTargetInterfaceId(ch, IfType, IfInst), STATUS_SUCCESS);
	assert_status(si.VmbChannelSaveBegin(ch), STATUS_INVALID_DEVICE_STATE);
	assert_status(si.VmbConvertVmbusHandleToKernelHandle(NULL, NULL), STATUS_NOT_SUPPORTED);
	si.VmbChannelSetPointer(ch, &si);
	assert_ptr_equal(si.VmbChannelGetPointer(ch), &si);
	assert_int_equal(si.VmbChannelSizeofPacket(ch), VmbChannelSizeofPacket(ch));
	{
		GUID g;
		si.VmbChannelGetInterfaceInstance(ch, &g);
		assert_memory_equal(&g, &IfInst, sizeof(g));
	}
	si.VmbChannelCleanup(ch);
}

/* ======================================================================================== */
/* traffic through the shim                                                                  */
/* ======================================================================================== */

static struct vmb_packet *
n_send(const void *buf, uint32_t len, uint32_t flags)
{
	struct vmb_packet *p = vmb_packet_alloc(F->n);

	assert_non_null(p);
	vmb_packet_set_completion(p, n_done);
	assert_int_equal(vmb_packet_send(p, buf, len, flags, NULL, 0), 0);
	return p;
}

static void
test_traffic(void **state)
{
	struct fx *f = *state;
	uint8_t msg[40];
	VMBPACKET p;
	unsigned i;

	bring_up(f);
	/* native -> KMCL: the KMCL process callback echoes the first bytes in the completion */
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i + 1);
	n_send(msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION);
	pump(3);
	assert_int_equal(f->ks.indicated, 1);
	assert_int_equal(f->ks.last_len, sizeof(msg));
	assert_memory_equal(f->ks.last, msg, sizeof(msg));
	assert_int_equal(f->ks.last_flags, 0);
	assert_int_equal(f->ns.done, 1);
	assert_true(f->ks.batches >= 1);
	assert_int_equal(f->ks.batch_packets, 1);

	/* KMCL -> native with a completion routine: the peer's payload comes back */
	p = VmbPacketAllocate(f->k);
	assert_non_null(p);
	assert_ptr_equal(VmbPacketGetChannel(p), f->k);
	VmbPacketSetPointer(p, msg);
	assert_ptr_equal(VmbPacketGetPointer(p), msg);
	VmbPacketSetCompletionRoutine(p, k_completion);
	assert_status(VmbPacketSend(p, msg, 16, NULL, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION |
							      VMBUS_CHANNEL_FORMAT_FLAG_PAGED_BUFFER),
		      STATUS_SUCCESS);
	assert_status(VmbPacketSend(p, msg, 16, NULL, 0), STATUS_DEVICE_BUSY); /* still pending */
	pump(3);
	assert_int_equal(f->ns.indicated, 1);
	assert_int_equal(f->ks.completions, 1);
	assert_ptr_equal(f->ks.last_packet, p);
	assert_status(f->ks.last_status, STATUS_SUCCESS);
	assert_int_equal(f->ks.comp_len, 16);
	for (i = 0; i < 16; i++)
		assert_int_equal(f->ks.comp[i], msg[15 - i]);
	/* reuse the packet without WAIT: retired once in the ring, no payload */
	assert_status(VmbPacketSend(p, msg, 8, NULL, 0), STATUS_SUCCESS);
	assert_int_equal(f->ks.completions, 2);
	assert_status(f->ks.last_status, STATUS_SUCCESS);
	assert_int_equal(f->ks.comp_len, 0);
	/* back to the default routine: the packet frees itself (ASan checks the leak) */
	VmbPacketSetCompletionRoutine(p, NULL);
	assert_status(VmbPacketSend(p, msg, 8, NULL, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
		      STATUS_SUCCESS);
	pump(3);
	assert_int_equal(f->ks.completions, 2);
	assert_int_equal(vmb_channel_pending_tx(f->k), 0);

	/* argument checks */
	p = VmbPacketAllocate(f->k);
	assert_status(VmbPacketSend(p, NULL, 8, NULL, 0), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbPacketSend(p, msg, 8, NULL, 0x8), STATUS_INVALID_PARAMETER_5);
	assert_status(VmbPacketSend(p, msg, 4096 + 1, NULL, 0), STATUS_INVALID_PARAMETER);
	VmbPacketFree(p);

	/* Pause: Suspend, quiesced; Start: Started + PostStarted again */
	VmbChannelPause(f->k);
	assert_int_equal(f->ks.suspend, 1);
	VmbChannelStart(f->k);
	assert_int_equal(f->ks.started, 2);
	assert_int_equal(f->ks.post_started, 2);
}

static void
test_completion_cancelled(void **state)
{
	struct fx *f = *state;
	uint8_t msg[8] = {1};
	VMBPACKET p;

	bring_up(f);
	f->ks.free_in_completion = true;
	p = VmbPacketAllocate(f->k);
	VmbPacketSetCompletionRoutine(p, k_completion);
	assert_status(VmbPacketSend(p, msg, 8, NULL, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
		      STATUS_SUCCESS);
	vmb_channel_poll(f->k, 64); /* the guest does not run: the request stays unanswered */
	assert_int_equal(f->ns.indicated, 0);
	assert_int_equal(f->ks.completions, 0);
	/* the host disables: the guest never answered, the transaction is cancelled */
	VmbChannelDisable(f->k);
	assert_int_equal(f->ks.completions, 1);
	assert_ptr_equal(f->ks.last_packet, p);
	assert_status(f->ks.last_status, STATUS_CANCELLED);
	assert_int_equal(f->ks.suspend, 1);
	assert_int_equal(f->ks.closed, 1);
	/* sends on a Disabled channel */
	p = VmbPacketAllocate(f->k);
	assert_status(VmbPacketSend(p, msg, 8, NULL, 0), STATUS_INVALID_DEVICE_STATE);
	VmbPacketFree(p);
}

static void
test_opened_failure(void **state)
{
	struct fx *f = *state;

	/* the guest waits first; the open then runs inside the host's Enable */
	f->ks.opened_status = STATUS_INSUFFICIENT_RESOURCES;
	assert_int_equal(vmb_channel_enable(f->n), 0);
	assert_status(VmbChannelEnable(f->k), STATUS_INSUFFICIENT_RESOURCES);
	assert_int_equal(f->ks.opened, 1);
	assert_int_equal(f->ks.started, 0);
	assert_int_equal(vmb_channel_state(f->k), VMB_CHANNEL_DISABLED);
	/* a custom failure code comes back unchanged */
	f->ks.opened_status = (NTSTATUS)0xC0001234;
	assert_status(VmbChannelEnable(f->k), (NTSTATUS)0xC0001234);
	f->ks.opened_status = STATUS_SUCCESS;
	assert_status(VmbChannelEnable(f->k), STATUS_SUCCESS);
	VmbChannelStart(f->k);
	assert_int_equal(f->ks.opened, 3);
	assert_int_equal(f->ks.post_started, 1);
}

static void
test_packet_initialize(void **state)
{
	struct fx *f = *state;
	UINT32 need = VmbChannelSizeofPacket(f->k);
	uint8_t *storage = calloc(1, need);
	uint8_t *storage2 = calloc(1, need);
	uint8_t msg[8] = {9};
	VMBPACKET h = (VMBPACKET)storage;
	unsigned i;

	assert_non_null(storage);
	assert_int_equal(need, (16 + VMB_DEFAULT_MAX_PACKET_SIZE + 7) & ~7u);
	assert_true(need > VMB_DEFAULT_MAX_PACKET_SIZE + sizeof(void *));
	assert_status(VmbPacketInitialize(f->k, NULL, need), STATUS_INVALID_PARAMETER_2);
	assert_status(VmbPacketInitialize(f->k, h, need - 1), STATUS_INVALID_PARAMETER_3);
	assert_status(VmbPacketInitialize(f->k, h, 0), STATUS_INVALID_PARAMETER_3);
	/* garbage in the storage is ignored */
	memset(storage, 0x5A, need);
	assert_status(VmbPacketInitialize(f->k, h, need), STATUS_SUCCESS);
	assert_ptr_equal(VmbPacketGetChannel(h), f->k);
	assert_null(VmbPacketGetPointer(h));
	bring_up(f);
	/* no completion routine yet: refused */
	assert_status(VmbPacketSend(h, msg, 8, NULL, 0), STATUS_INVALID_PARAMETER_1);
	VmbPacketSetPointer(h, storage2);
	VmbPacketSetCompletionRoutine(h, k_completion);
	assert_status(VmbPacketSend(h, msg, 8, NULL, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
		      STATUS_SUCCESS);
	pump(3);
	assert_int_equal(f->ks.completions, 1);
	assert_ptr_equal(f->ks.last_packet, h); /* the routine sees the caller's storage */
	assert_ptr_equal(VmbPacketGetPointer(h), storage2);
	/* reset to "no routine": the library still never frees it */
	VmbPacketSetCompletionRoutine(h, NULL);
	assert_status(VmbPacketSend(h, msg, 8, NULL, 0), STATUS_INVALID_PARAMETER_1);
	/* initializing the same storage again reuses its object: no capacity is consumed */
	for (i = 0; i < 2 * VMB_DEFAULT_TX_CAPACITY; i++)
		assert_status(VmbPacketInitialize(f->k, h, need), STATUS_SUCCESS);
	assert_null(VmbPacketGetPointer(h)); /* re-initialized */
	VmbPacketSetCompletionRoutine(h, k_completion);
	assert_status(VmbPacketSend(h, msg, 8, NULL, 0), STATUS_SUCCESS);
	assert_int_equal(f->ks.completions, 2);
	assert_ptr_equal(f->ks.last_packet, h);
	/* a second storage is a second packet */
	assert_status(VmbPacketInitialize(f->k, (VMBPACKET)storage2, need + 100), STATUS_SUCCESS);
	VmbPacketSetCompletionRoutine((VMBPACKET)storage2, k_completion);
	assert_status(VmbPacketSend((VMBPACKET)storage2, msg, 8, NULL, 0), STATUS_SUCCESS);
	assert_ptr_equal(f->ks.last_packet, storage2);
	/* freeing releases the object and invalidates the storage */
	VmbPacketFree(h);
	assert_status(VmbPacketSend(h, msg, 8, NULL, 0), STATUS_INVALID_HANDLE);
	assert_null(VmbPacketGetChannel(h));
	/* ... which can be initialized again */
	assert_status(VmbPacketInitialize(f->k, h, need), STATUS_SUCCESS);
	VmbPacketFree(h);
	/* storage2's object is left to VmbChannelCleanup */
	VmbChannelDisable(f->k);
	VmbChannelCleanup(f->k);
	f->k = NULL;
	free(storage);
	free(storage2);
}

static void
test_defer_fail_quota(void **state)
{
	struct fx *f = *state;
	uint8_t msg[16] = {7};
	unsigned i;

	bring_up(f);
	/* defer: delivered again on the next pass, then completed */
	f->ks.mode = K_DEFER_ONCE;
	n_send(msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION);
	pump(4);
	assert_int_equal(f->ks.indicated, 2);
	assert_int_equal(f->ns.done, 1);

	/* quota 1: one indication at a time */
	f->ks.mode = K_HOLD;
	VmbChannelSetTransactionQuota(f->k, 1);
	VmbChannelSetTransactionQuota(f->k, 0); /* ignored */
	for (i = 0; i < 3; i++)
		n_send(msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION);
	pump(4);
	assert_int_equal(f->ks.nheld, 1);
	VmbChannelPacketComplete(f->ks.held[0], NULL, 0);
	VmbChannelPacketComplete(f->ks.held[0], NULL, 0); /* second completion: ignored */
	pump(2);
	assert_int_equal(f->ks.nheld, 2);
	VmbChannelSetTransactionQuota(f->k, 64);
	VmbChannelPacketComplete(f->ks.held[1], NULL, 0);
	pump(2);
	assert_int_equal(f->ks.nheld, 3);
	VmbChannelPacketComplete(f->ks.held[2], NULL, 0);
	f->ks.nheld = 0;
	pump(2);
	assert_int_equal(f->ns.done, 4);

	/* fail: the incoming queue stops; sends answer DEVICE_REMOVED */
	f->ks.mode = K_FAIL;
	n_send(msg, sizeof(msg), 0);
	n_send(msg, sizeof(msg), 0);
	pump(3);
	assert_int_equal(f->ks.indicated, 6);
	assert_true(vmb_channel_is_poisoned(f->k, NULL));
	{
		VMBPACKET p = VmbPacketAllocate(f->k);
		assert_status(VmbPacketSend(p, msg, 8, NULL, 0), STATUS_DEVICE_REMOVED);
		VmbPacketFree(p);
	}
}

/* Guest pages filled with a pattern, for external data. */
static uint64_t
guest_pages(struct fx *f, uint32_t n, uint8_t seed)
{
	uint64_t first;
	uint32_t i;

	assert_int_equal(vmb_mem_alloc_pages(&f->mem, n, &first), 0);
	for (i = 0; i < n * VMB_PAGE_SIZE; i++)
		f->mem.base[first * VMB_PAGE_SIZE + i] = (uint8_t)(seed + i * 13 + (i >> 12));
	return first;
}

static void
test_external_data_in(void **state)
{
	struct fx *f = *state;
	uint64_t first = guest_pages(f, 4, 3), pfns_a[2] = {first, first + 1}, pfns_b[1] = {first + 3};
	struct vmb_gpa_range_out r[2] = {
		{.byte_count = 5000, .byte_offset = 100, .pfns = pfns_a},
		{.byte_count = 300, .byte_offset = 4000 - 300, .pfns = pfns_b},
	};
	struct vmb_packet *p;
	uint8_t msg[24] = "external";
	uint8_t expect[5300];

	assert_status(VmbChannelInitSetClientContextSize(f->k, 40), STATUS_SUCCESS);
	bring_up(f);
	f->ks.mode = K_EXTERNAL;
	p = vmb_packet_alloc(f->n);
	vmb_packet_set_completion(p, n_done);
	assert_int_equal(vmb_packet_send(p, msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION, r, 2), 0);
	pump(3);
	assert_int_equal(f->ks.indicated, 1);
	assert_int_equal(f->ks.last_flags, VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA);
	assert_status(f->ks.ext_status, STATUS_SUCCESS);
	assert_int_equal(f->ks.mdl_count, 2);
	assert_int_equal(f->ks.mdl_copy[0].ByteOffset, 100);
	assert_int_equal(f->ks.mdl_copy[0].ByteCount, 5000);
	assert_int_equal(f->ks.mdl_copy[0].PageCount, 2);
	assert_ptr_equal(f->ks.mdl_copy[0].Next, (PMDL)f->ks.mdl_area + 1);
	assert_int_equal(f->ks.mdl_copy[1].ByteOffset, 3700);
	assert_int_equal(f->ks.mdl_copy[1].ByteCount, 300);
	assert_int_equal(f->ks.mdl_copy[1].PageCount, 1);
	assert_null(f->ks.mdl_copy[1].Next);
	/* the bytes read through the MDLs are the guest's */
	memcpy(expect, f->mem.base + first * VMB_PAGE_SIZE + 100, 5000);
	memcpy(expect + 5000, f->mem.base + (first + 3) * VMB_PAGE_SIZE + 3700, 300);
	assert_int_equal(f->ks.ext_len, 5300);
	assert_memory_equal(f->ks.ext_data, expect, 5300);
	/* the driver's client context lies after the MDL area */
	assert_non_null(f->ks.client_ctx);
	assert_true((uint8_t *)f->ks.client_ctx >=
		    (uint8_t *)f->ks.mdl_area + VMB_DEFAULT_MAX_EXT_CHAIN * sizeof(MDL));
	assert_int_equal(f->ns.done, 1);

	/* an inband packet has no external data */
	n_send(msg, sizeof(msg), VMB_SEND_WAIT_FOR_COMPLETION);
	pump(3);
	assert_status(f->ks.ext_status, STATUS_NOT_FOUND);

	/* MdlCopy checks */
	{
		PFN_NUMBER pages[2] = {first, first + 1};
		PFN_NUMBER far[1] = {f->mem.page_count + 5};
		MDL m, bad;
		uint8_t b[64];

		assert_status(VmbKmclMdlInitialize(&m, pages, 2, 10, 5000), STATUS_SUCCESS);
		assert_status(VmbKmclMdlCopy(f->k, &m, 4000, b, 64, FALSE), STATUS_SUCCESS);
		assert_memory_equal(b, f->mem.base + first * VMB_PAGE_SIZE + 4010, 64);
		memset(b, 0xEE, sizeof(b));
		assert_status(VmbKmclMdlCopy(f->k, &m, 4080, b, 64, TRUE), STATUS_SUCCESS);
		assert_int_equal(f->mem.base[first * VMB_PAGE_SIZE + 4090], 0xEE);
		assert_int_equal(f->mem.base[(first + 1) * VMB_PAGE_SIZE + 40], 0xEE);
		assert_status(VmbKmclMdlCopy(f->k, &m, 0, b, 0, FALSE), STATUS_SUCCESS);
		assert_status(VmbKmclMdlCopy(f->k, NULL, 0, b, 1, FALSE), STATUS_INVALID_PARAMETER_2);
		assert_status(VmbKmclMdlCopy(f->k, &m, 0, NULL, 1, FALSE), STATUS_INVALID_PARAMETER_4);
		assert_status(VmbKmclMdlCopy(f->k, &m, 5000, b, 1, FALSE), STATUS_INVALID_PARAMETER_3);
		assert_status(VmbKmclMdlCopy(f->k, &m, 4990, b, 64, FALSE), STATUS_INVALID_PARAMETER_5);
		bad = m;
		bad.ByteOffset = 4096;
		assert_status(VmbKmclMdlCopy(f->k, &bad, 0, b, 1, FALSE), STATUS_INVALID_PARAMETER_2);
		assert_status(VmbKmclMdlInitialize(&bad, far, 1, 0, 10), STATUS_SUCCESS);
		assert_status(VmbKmclMdlCopy(f->k, &bad, 0, b, 1, FALSE), STATUS_INVALID_PARAMETER);
		VmbChannelDisable(f->k);
		assert_status(VmbKmclMdlCopy(f->k, &m, 0, b, 1, FALSE), STATUS_DEVICE_NOT_READY);
	}
}

static void
test_external_data_out(void **state)
{
	struct fx *f = *state;
	uint64_t first = guest_pages(f, 6, 9);
	PFN_NUMBER pa[2] = {first, first + 1}, pb[2] = {first + 4, first + 5};
	MDL a, b;
	uint8_t msg[32] = "ext-out";
	VMBPACKET p;

	bring_up(f);
	f->ks.free_in_completion = false;
	assert_status(VmbKmclMdlInitialize(&a, pa, 2, 200, 6000), STATUS_SUCCESS);
	assert_status(VmbKmclMdlInitialize(&b, pb, 2, 0, 4096 + 10), STATUS_SUCCESS);
	a.Next = &b;
	p = VmbPacketAllocate(f->k);
	VmbPacketSetCompletionRoutine(p, k_completion);

	/* the whole chain */
	assert_status(VmbPacketSend(p, msg, sizeof(msg), &a, 0), STATUS_INVALID_PARAMETER_5);
	assert_status(VmbPacketSend(p, msg, sizeof(msg), &a,
				    VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
		      STATUS_SUCCESS);
	pump(3);
	assert_int_equal(f->ns.last_type, VMB_PKT_GPA_DIRECT);
	assert_int_equal(f->ns.last_flags, VMB_RX_FLAG_EXTERNAL_DATA);
	assert_int_equal(f->ns.nranges, 2);
	assert_int_equal(f->ns.ranges[0].byte_offset, 200);
	assert_int_equal(f->ns.ranges[0].byte_count, 6000);
	assert_int_equal(f->ns.ranges[1].byte_offset, 0);
	assert_int_equal(f->ns.ranges[1].byte_count, 4106);
	assert_int_equal(f->ns.pfns[0], first);
	assert_int_equal(f->ns.pfns[2], first + 4);
	assert_int_equal(f->ks.completions, 1);
	assert_status(f->ks.last_status, STATUS_SUCCESS);

	/* a window: skip 5000 bytes, take 2000 (crosses into the second MDL) */
	assert_status(VmbPacketSendWithExternalMdl(p, msg, 8, &a, 5000, 2000, 1), STATUS_SUCCESS);
	pump(3);
	assert_int_equal(f->ns.nranges, 2);
	assert_int_equal(f->ns.ranges[0].byte_offset, (200 + 5000) % 4096);
	assert_int_equal(f->ns.ranges[0].byte_count, 1000);
	assert_int_equal(f->ns.pfns[0], first + 1);
	assert_int_equal(f->ns.ranges[1].byte_count, 1000);
	/* window to the end (length 0) */
	assert_status(VmbPacketSendWithExternalMdl(p, msg, 8, &a, 6000, 0, 1), STATUS_SUCCESS);
	pump(3);
	assert_int_equal(f->ns.nranges, 1);
	assert_int_equal(f->ns.ranges[0].byte_count, 4106);
	/* FORCE_MDL_LENGTH: the first MDL up to the end of its last page */
	assert_status(VmbPacketSendWithExternalMdl(p, msg, 8, &b, 0, 8192,
						   VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION |
							   VMBUS_CHANNEL_FORMAT_FLAG_FORCE_MDL_LENGTH),
		      STATUS_SUCCESS);
	pump(3);
	assert_int_equal(f->ns.nranges, 1);
	assert_int_equal(f->ns.ranges[0].byte_count, 8192);
	assert_status(VmbPacketSendWithExternalMdl(p, msg, 8, &b, 0, 8193, 3),
		      STATUS_INVALID_PARAMETER_6);
	/* bad windows and MDLs */
	assert_status(VmbPacketSendWithExternalMdl(p, msg, 8, NULL, 0, 0, 1), STATUS_INVALID_PARAMETER_4);
	assert_status(VmbPacketSendWithExternalMdl(p, msg, 8, &a, 10106, 0, 1),
		      STATUS_INVALID_PARAMETER_5);
	assert_status(VmbPacketSendWithExternalMdl(p, msg, 8, &a, 0, 10107, 1),
		      STATUS_INVALID_PARAMETER_6);
	assert_status(VmbPacketSendWithExternalMdl(p, msg, 8, &a, 0, 0, 0), STATUS_INVALID_PARAMETER_7);
	assert_status(VmbPacketSendWithExternalMdl(p, msg, 8, &a, 0, 0, 9), STATUS_INVALID_PARAMETER_7);
	b.ByteOffset = 4096;
	assert_status(VmbPacketSend(p, msg, 8, &a, 1), STATUS_INVALID_PARAMETER_4);
	b.ByteOffset = 0;
	b.PageCount = 1; /* fewer pages than spanned */
	assert_status(VmbPacketSend(p, msg, 8, &a, 1), STATUS_INVALID_PARAMETER_4);
	b.PageCount = 2;
	b.Next = &a; /* a cycle: found by the bound on the chain length */
	assert_status(VmbPacketSend(p, msg, 8, &a, 1), STATUS_INVALID_PARAMETER_4);
	b.Next = NULL;

	/* whole pages */
	assert_status(VmbPacketSendWithExternalPfns(p, msg, 8, pb, 2, 1), STATUS_SUCCESS);
	pump(3);
	assert_int_equal(f->ns.nranges, 1);
	assert_int_equal(f->ns.ranges[0].byte_offset, 0);
	assert_int_equal(f->ns.ranges[0].byte_count, 8192);
	assert_int_equal(f->ns.pfns[1], first + 5);
	assert_status(VmbPacketSendWithExternalPfns(p, msg, 8, NULL, 2, 1), STATUS_INVALID_PARAMETER_4);
	assert_status(VmbPacketSendWithExternalPfns(p, msg, 8, pb, 0, 1), STATUS_INVALID_PARAMETER_5);
	assert_status(VmbPacketSendWithExternalPfns(p, msg, 8, pb, 2, 0), STATUS_INVALID_PARAMETER_6);
	/* over the channel's external-data limit (64 KiB by default) */
	{
		static PFN_NUMBER many[17];
		unsigned i;
		for (i = 0; i < 17; i++)
			many[i] = first;
		assert_status(VmbPacketSendWithExternalPfns(p, msg, 8, many, 17, 1),
			      STATUS_INVALID_PARAMETER);
	}
	assert_int_equal(f->ks.completions, 5);
	VmbPacketFree(p);
}

/* ---- synchronous requests: a KMCL client against a native server run by a poller ---- */

static void
test_sync_request(void **state)
{
	struct fx *f = *state;
	struct vmb_poller_config pc = {.cpu = -1};
	struct vmb_poller *poller;
	uint8_t msg[24], comp[32];
	UINT32 clen;
	LARGE_INTEGER t;
	unsigned i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(0x40 + i);
	/* the native end is the server here: started by hand */
	assert_status(VmbChannelEnable(f->k), STATUS_SUCCESS);
	assert_int_equal(vmb_channel_enable(f->n), 0);
	assert_int_equal(vmb_channel_start(f->n), 0);
	assert_int_equal(f->ks.opened, 1);
	assert_int_equal(f->ks.started, 1); /* a client runs once opened */

	/* argument checks */
	clen = 7;
	assert_status(VmbChannelSendSynchronousRequest(f->k, msg, 8, NULL, 1, comp, &clen, NULL),
		      STATUS_INVALID_PARAMETER_7);
	clen = 8;
	assert_status(VmbChannelSendSynchronousRequest(f->k, msg, 8, NULL, 1, NULL, &clen, NULL),
		      STATUS_INVALID_PARAMETER_6);
	assert_status(VmbChannelSendSynchronousRequest(f->k, NULL, 8, NULL, 1, NULL, NULL, NULL),
		      STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelSendSynchronousRequest(f->k, msg, 8, NULL, 0x10, NULL, NULL, NULL),
		      STATUS_INVALID_PARAMETER_5);

	/* 0 timeout without WAIT: done once in the ring */
	t.QuadPart = 0;
	assert_status(VmbChannelSendSynchronousRequest(f->k, msg, 8, NULL, 0, NULL, NULL, &t),
		      STATUS_SUCCESS);
	/* the server is not running yet (nobody polls it): a WAIT request with a relative 20 ms
	 * timeout is cancelled */
	t.QuadPart = -200000;
	f->ns.hold = true;
	assert_status(VmbChannelSendSynchronousRequest(f->k, msg, 8, NULL, 1, NULL, NULL, &t),
		      STATUS_CANCELLED);
	/* an absolute time already past: cancelled at once */
	t.QuadPart = 1;
	assert_status(VmbChannelSendSynchronousRequest(f->k, msg, 8, NULL, 1, NULL, NULL, &t),
		      STATUS_CANCELLED);
	/* fill the ring toward the server: a 0-timeout request does not fit and is not queued */
	{
		static uint8_t big[4000];
		VMBPACKET p;
		for (i = 0; i < 8; i++) {
			p = VmbPacketAllocate(f->k);
			assert_status(VmbPacketSend(p, big, sizeof(big), NULL, 0), STATUS_SUCCESS);
		}
		t.QuadPart = 0;
		assert_status(VmbChannelSendSynchronousRequest(f->k, big, sizeof(big), NULL, 0, NULL,
							       NULL, &t),
			      STATUS_BUFFER_OVERFLOW);
	}
	/* let a poller run the server: it completes with a payload */
	for (i = 0; i < f->ns.nheld; i++)
		vmb_rx_complete(f->ns.held[i], NULL, 0);
	f->ns.nheld = 0;
	f->ns.hold = false;
	assert_int_equal(vmb_poller_create(&pc, &poller), 0);
	assert_int_equal(vmb_poller_add(poller, f->n), 0);
	assert_int_equal(vmb_poller_start(poller), 0);
	clen = sizeof(comp);
	memset(comp, 0, sizeof(comp));
	assert_status(VmbChannelSendSynchronousRequest(f->k, msg, sizeof(msg), NULL, 1, comp, &clen,
						       NULL),
		      STATUS_SUCCESS);
	assert_int_equal(clen, 16);
	for (i = 0; i < 16; i++)
		assert_int_equal(comp[i], msg[15 - i]);
	/* a long relative timeout that is not reached */
	t.QuadPart = -10LL * 1000 * 1000 * 10; /* 10 s */
	clen = 8; /* smaller than the payload: truncated */
	assert_status(VmbChannelSendSynchronousRequest(f->k, msg, sizeof(msg), NULL, 1, comp, &clen,
						       &t),
		      STATUS_SUCCESS);
	assert_int_equal(clen, 8);
	assert_int_equal(vmb_poller_stop(poller), 0);
	assert_int_equal(vmb_poller_remove(poller, f->n), 0);
	vmb_poller_destroy(poller);
	/* the channel goes away under the request's feet: Disabled -> INVALID_DEVICE_STATE */
	VmbChannelDisable(f->k);
	assert_status(VmbChannelSendSynchronousRequest(f->k, msg, 8, NULL, 0, NULL, NULL, NULL),
		      STATUS_INVALID_DEVICE_STATE);
}

/* ---- runtime utilities and unsupported functions ---- */

static void
test_runtime_utilities(void **state)
{
	struct fx *f = *state;
	UINT16 orig = 99;
	UINT64 a = 5, b = 5;
	UINT32 gpadl = 5;
	HANDLE kh = (HANDLE)f;
	PMDL m = (PMDL)f;
	GUID g;
	uint8_t buf[16];
	int x;

	/* the driver's pointer is independent of the shim */
	assert_null(VmbChannelGetPointer(f->k));
	VmbChannelSetPointer(f->k, &x);
	assert_ptr_equal(VmbChannelGetPointer(f->k), &x);
	assert_ptr_equal(vmb_channel_get_context(f->k), &x);
	assert_non_null(vmb_channel_get_facade(f->k));

	assert_status(VmbServerChannelInitSetTargetInterfaceId(f->k, IfType, IfInst), STATUS_SUCCESS);
	VmbChannelGetInterfaceInstance(f->k, &g);
	assert_memory_equal(&g, &IfInst, sizeof(g));
	VmbChannelGetInterfaceInstance(f->k, NULL);
	{
		struct vmb_guid t;
		assert_int_equal(vmb_channel_get_interface(f->k, &t, NULL), 0);
		assert_int_equal(t.b[0], 0x04); /* Data1 little endian first */
		assert_int_equal(t.b[4], 0x06);
		assert_int_equal(t.b[8], 9);
	}
	VmbChannelGetMmioSpace(f->k, &a, &b);
	assert_true(a == 0 && b == 0);
	VmbChannelGetMmioSpace(f->k, NULL, NULL);
	VmbChannelSetIncomingProcessingAtPassive(f->k, TRUE);

	/* interrupt latency: only while open */
	assert_status(VmbChannelSetInterruptLatency(f->k, 10, &orig), STATUS_INVALID_DEVICE_STATE);
	bring_up(f);
	assert_status(VmbChannelSetInterruptLatency(f->k, 10, NULL), STATUS_INVALID_PARAMETER_3);
	assert_status(VmbChannelSetInterruptLatency(f->k, 10, &orig), STATUS_SUCCESS);
	assert_int_equal(orig, 0);
	assert_status(VmbChannelSetInterruptLatency(f->k, 20, &orig), STATUS_SUCCESS);
	assert_int_equal(orig, 10);

	/* no VMBus handles, no GPADLs */
	assert_status(VmbConvertVmbusHandleToKernelHandle(NULL, &kh), STATUS_NOT_SUPPORTED);
	assert_null(kh);
	assert_status(VmbChannelCreateGpadlFromBuffer(f->k, 0, buf, sizeof(buf), &gpadl),
		      STATUS_NOT_SUPPORTED);
	assert_int_equal(gpadl, 0);
	gpadl = 5;
	assert_status(VmbChannelCreateGpadlFromMdl(f->k, 0, NULL, 0, 0, &gpadl), STATUS_NOT_SUPPORTED);
	assert_int_equal(gpadl, 0);
	assert_status(VmbChannelMapGpadl(f->k, 0, 1, &m), STATUS_NOT_SUPPORTED);
	assert_null(m);
	VmbChannelUnmapGpadl(f->k, 1);
	VmbChannelDeleteGpadl(f->k, 1);
}

/* ======================================================================================== */
/* save / restore                                                                            */
/* ======================================================================================== */

static struct {
	int save_mode;           /* 0: 4 bytes; 1: nothing; 2: fail query; 3: fail fill; 4: lie */
	NTSTATUS fail_status;
	int restore_fail_at;     /* fail the n-th restore callback (1-based) */
	NTSTATUS restore_status;
	int restore_calls;
	int restore_no_packet;   /* return success without VmbPacketRestore */
	uint32_t last_save_size;
	NTSTATUS packet_restore_status;
	VMBCHANNEL restore_channel;
} SR;

static NTSTATUS
save_nothing(VMBCHANNEL c, VMBPACKET p, PVOID b, UINT32 s, PUINT32 n)
{
	(void)c;
	(void)p;
	(void)b;
	(void)s;
	*n = 0;
	return STATUS_SUCCESS;
}

static NTSTATUS
save_cb(VMBCHANNEL c, VMBPACKET p, PVOID b, UINT32 s, PUINT32 n)
{
	uint32_t seq = (uint32_t)(uintptr_t)VmbPacketGetPointer(p);

	assert_ptr_equal(VmbPacketGetChannel(p), c);
	switch (SR.save_mode) {
	case 1:
		return save_nothing(c, p, b, s, n);
	case 2:
		*n = 4;
		return SR.fail_status;
	case 3:
		*n = 4;
		return s < 4 ? STATUS_BUFFER_TOO_SMALL : SR.fail_status;
	case 4:
		*n = 4; /* asks for 4, then claims it still does not fit */
		return STATUS_BUFFER_TOO_SMALL;
	default:
		*n = 4;
		if (s < 4)
			return STATUS_BUFFER_TOO_SMALL;
		memcpy(b, &seq, 4);
		return STATUS_SUCCESS;
	}
}

static NTSTATUS
restore_simple(VMBCHANNEL c, PVOID lib, UINT32 lib_size, PVOID b, UINT32 s)
{
	VMBPACKET p;
	uint32_t seq = 0;
	NTSTATUS st;

	SR.restore_calls++;
	SR.last_save_size = s;
	SR.restore_channel = c;
	if (SR.restore_fail_at && SR.restore_calls == SR.restore_fail_at)
		return SR.restore_status;
	if (SR.restore_no_packet)
		return STATUS_SUCCESS;
	if (s >= 4)
		memcpy(&seq, b, 4);
	p = VmbPacketAllocate(c);
	assert_non_null(p);
	st = VmbPacketRestore(p, lib, lib_size);
	SR.packet_restore_status = st;
	if (!NT_SUCCESS(st)) {
		VmbPacketFree(p);
		return st;
	}
	/* a second packet from the same callback is refused */
	{
		VMBPACKET q = VmbPacketAllocate(c);
		assert_status(VmbPacketRestore(q, lib, lib_size), STATUS_INVALID_DEVICE_STATE);
		VmbPacketFree(q);
	}
	VmbPacketSetPointer(p, (PVOID)(uintptr_t)seq);
	VmbPacketSetCompletionRoutine(p, k_completion);
	return STATUS_SUCCESS;
}

struct stream {
	uint8_t *chunk[256];
	ULONG len[256];
	unsigned n;
	unsigned too_small, overflow;
};

static void
stream_free(struct stream *s)
{
	while (s->n)
		free(s->chunk[--s->n]);
}

/* The KMCL caller loop of the reference (§3.2). */
static NTSTATUS
save_stream(VMBCHANNEL ch, ULONG cap, struct stream *s)
{
	uint8_t *buf = malloc(cap);
	NTSTATUS st;

	memset(s, 0, sizeof(*s));
	st = VmbChannelSaveBegin(ch);
	if (!NT_SUCCESS(st)) {
		free(buf);
		return st;
	}
	for (;;) {
		ULONG filled = 123, required = 0;
		st = VmbChannelSaveContinue(ch, buf, cap, &filled, &required);
		if (st == STATUS_BUFFER_TOO_SMALL) {
			assert_int_equal(filled, 0);
			assert_true(required > cap);
			s->too_small++;
			cap = required;
			buf = realloc(buf, cap);
			continue;
		}
		if (st != STATUS_SUCCESS && st != STATUS_BUFFER_OVERFLOW)
			break;
		assert_true(filled > 0 && filled <= cap);
		assert_true(s->n < 256);
		s->chunk[s->n] = malloc(filled);
		memcpy(s->chunk[s->n], buf, filled);
		s->len[s->n++] = filled;
		if (st == STATUS_SUCCESS)
			break;
		s->overflow++;
		if (required > cap) {
			cap = required;
			buf = realloc(buf, cap);
		}
	}
	VmbChannelSaveEnd(ch);
	free(buf);
	return st;
}

static VMBCHANNEL
new_server(void)
{
	VMBCHANNEL ch;

	assert_status(VmbChannelAllocate(NULL, TRUE, &ch), STATUS_SUCCESS);
	kmcl_configure(ch);
	assert_status(VmbServerChannelInitSetSaveRestorePacketCallbacks(ch, save_cb, restore_simple),
		      STATUS_SUCCESS);
	return ch;
}

static int
setup_save(void **state)
{
	memset(&SR, 0, sizeof(SR));
	setup_server(state);
	assert_status(VmbServerChannelInitSetSaveRestorePacketCallbacks(F->k, save_cb, restore_simple),
		      STATUS_SUCCESS);
	return 0;
}

/* The KMCL host sends @p n WAIT packets with pointers 0..n-1 that the guest holds. */
static void
pending_packets(struct fx *f, unsigned n)
{
	uint8_t msg[64] = {0};
	unsigned i;

	f->ns.hold = true;
	f->ks.free_in_completion = true;
	for (i = 0; i < n; i++) {
		VMBPACKET p = VmbPacketAllocate(f->k);
		assert_non_null(p);
		VmbPacketSetPointer(p, (PVOID)(uintptr_t)i);
		VmbPacketSetCompletionRoutine(p, k_completion);
		memcpy(msg, &i, 4);
		assert_status(VmbPacketSend(p, msg, sizeof(msg), NULL,
					    VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
			      STATUS_SUCCESS);
	}
	pump(4);
}

static void
test_save_statuses(void **state)
{
	struct fx *f = *state;
	struct stream s;
	uint8_t buf[4096];
	ULONG filled, required;
	VMBCHANNEL c;

	assert_status(VmbChannelSaveBegin(f->k), STATUS_INVALID_DEVICE_STATE); /* Disabled */
	assert_status(VmbChannelAllocate(NULL, FALSE, &c), STATUS_SUCCESS);
	assert_status(VmbChannelSaveBegin(c), STATUS_INVALID_DEVICE_REQUEST); /* client */
	assert_status(VmbChannelRestoreFromBuffer(c, buf, sizeof(buf)), STATUS_INVALID_DEVICE_REQUEST);
	VmbChannelCleanup(c);
	assert_status(VmbChannelSaveContinue(f->k, buf, sizeof(buf), &filled, &required),
		      STATUS_INVALID_DEVICE_STATE); /* no save in progress */
	bring_up(f);
	pending_packets(f, 20);
	assert_status(VmbChannelSaveBegin(f->k), STATUS_INVALID_DEVICE_STATE); /* running */
	VmbChannelPause(f->k);
	assert_status(VmbChannelSaveBegin(f->k), STATUS_SUCCESS);
	assert_status(VmbChannelSaveBegin(f->k), STATUS_DEVICE_BUSY);
	assert_status(VmbChannelSaveContinue(f->k, NULL, 16, &filled, &required),
		      STATUS_INVALID_PARAMETER_2);
	assert_status(VmbChannelSaveContinue(f->k, buf, 16, NULL, &required),
		      STATUS_INVALID_PARAMETER_4);
	assert_status(VmbChannelSaveContinue(f->k, buf, 16, &filled, NULL),
		      STATUS_INVALID_PARAMETER_5);
	/* nothing fits: TOO_SMALL with the size that makes progress, nothing written */
	filled = 77;
	assert_status(VmbChannelSaveContinue(f->k, buf, 16, &filled, &required),
		      STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(filled, 0);
	assert_true(required > 16 && required <= sizeof(buf));
	assert_status(VmbChannelSaveContinue(f->k, NULL, 0, &filled, &required),
		      STATUS_BUFFER_TOO_SMALL);
	/* exactly that size: one chunk, more follows */
	assert_status(VmbChannelSaveContinue(f->k, buf, required, &filled, &required),
		      STATUS_BUFFER_OVERFLOW);
	assert_true(filled > 0);
	/* a big buffer takes the rest */
	assert_status(VmbChannelSaveContinue(f->k, buf, sizeof(buf), &filled, &required),
		      STATUS_SUCCESS);
	assert_true(filled > 0);
	assert_status(VmbChannelSaveContinue(f->k, buf, sizeof(buf), &filled, &required),
		      STATUS_INVALID_DEVICE_STATE); /* complete */
	VmbChannelSaveEnd(f->k);
	VmbChannelSaveEnd(f->k); /* harmless */

	/* the KMCL loop from a tiny buffer: TOO_SMALL once, then OVERFLOW per chunk */
	assert_status(save_stream(f->k, 8, &s), STATUS_SUCCESS);
	assert_int_equal(s.too_small, 1);
	assert_true(s.overflow >= 3);
	assert_int_equal(s.n, s.overflow + 1);
	stream_free(&s);
	/* resume after a checkpoint */
	VmbChannelStart(f->k);
}

/* Save the host with @p n pending packets; the guest holds them. */
static void
saved_stream(struct fx *f, unsigned n, ULONG cap, struct stream *s)
{
	bring_up(f);
	pending_packets(f, n);
	VmbChannelPause(f->k);
	assert_status(save_stream(f->k, cap, s), STATUS_SUCCESS);
}

static void
test_restore_round_trip(void **state)
{
	struct fx *f = *state;
	struct stream s;
	VMBCHANNEL nh;
	unsigned i;

	saved_stream(f, 30, 256, &s);
	assert_true(s.n >= 3);
	nh = new_server();
	for (i = 0; i + 1 < s.n; i++)
		assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]),
			      STATUS_MORE_PROCESSING_REQUIRED);
	assert_int_equal(SR.restore_calls, 0); /* applied only with the last chunk */
	assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]), STATUS_SUCCESS);
	assert_int_equal(SR.restore_calls, 30);
	assert_int_equal(SR.last_save_size, 4);
	assert_ptr_equal(SR.restore_channel, nh);
	assert_int_equal(vmb_channel_pending_tx(nh), 30);
	stream_free(&s);
	/* hand over: the old instance's transactions are cancelled, the new one's complete */
	assert_int_equal(vmb_pair_replace_server(f->pair, f->k, nh), 0);
	f->ks.completions = 0;
	VmbChannelDisable(f->k);
	assert_int_equal(f->ks.completions, 30);
	assert_status(f->ks.last_status, STATUS_CANCELLED);
	VmbChannelCleanup(f->k);
	f->k = nh;
	f->ks.completions = 0;
	assert_status(VmbChannelEnable(nh), STATUS_SUCCESS);
	VmbChannelStart(nh);
	for (i = 0; i < f->ns.nheld; i++)
		vmb_rx_complete(f->ns.held[i], "ack", 3);
	f->ns.nheld = 0;
	f->ns.hold = false;
	pump(6);
	assert_int_equal(f->ks.completions, 30);
	assert_status(f->ks.last_status, STATUS_SUCCESS);
	assert_int_equal(f->ks.comp_len, 8); /* wire lengths are multiples of 8 */
	assert_memory_equal(f->ks.comp, "ack", 3);
	assert_int_equal(vmb_channel_pending_tx(nh), 0);
}

static void
test_restore_errors(void **state)
{
	struct fx *f = *state;
	struct stream s, other;
	VMBCHANNEL nh;
	uint8_t *bad;
	struct vmb_save_chunk_hdr hdr;

	saved_stream(f, 12, 200, &s);
	assert_true(s.n >= 3);
	nh = new_server();
	bad = malloc(s.len[0] + 8);

	/* not a chunk at all */
	memset(bad, 0x33, s.len[0]);
	assert_status(VmbChannelRestoreFromBuffer(nh, bad, s.len[0]), STATUS_DATA_ERROR);
	assert_status(VmbChannelRestoreFromBuffer(nh, NULL, 10), STATUS_INVALID_PARAMETER_2);
	/* truncated / padded */
	assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[0], s.len[0] - 1),
		      STATUS_INVALID_BUFFER_SIZE);
	memcpy(bad, s.chunk[0], s.len[0]);
	memset(bad + s.len[0], 0, 8);
	assert_status(VmbChannelRestoreFromBuffer(nh, bad, s.len[0] + 8), STATUS_INVALID_BUFFER_SIZE);
	/* corrupt payload byte */
	memcpy(bad, s.chunk[0], s.len[0]);
	bad[s.len[0] - 1] ^= 0x40;
	assert_status(VmbChannelRestoreFromBuffer(nh, bad, s.len[0]), STATUS_CRC_ERROR);
	/* future major version, with a valid CRC */
	memcpy(bad, s.chunk[0], s.len[0]);
	memcpy(&hdr, bad, sizeof(hdr));
	hdr.major = VMB_SAVE_MAJOR + 1;
	hdr.crc = 0;
	memcpy(bad, &hdr, sizeof(hdr));
	hdr.crc = vmb_crc32c(0, bad, s.len[0]);
	memcpy(bad, &hdr, sizeof(hdr));
	assert_status(VmbChannelRestoreFromBuffer(nh, bad, s.len[0]), STATUS_REVISION_MISMATCH);
	/* out of order: the second chunk first */
	assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[1], s.len[1]),
		      STATUS_REQUEST_OUT_OF_SEQUENCE);
	/* first chunk accepted; then duplicated */
	assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[0], s.len[0]),
		      STATUS_MORE_PROCESSING_REQUIRED);
	assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[0], s.len[0]),
		      STATUS_REQUEST_OUT_OF_SEQUENCE);
	/* a chunk of another stream (a second save of the same channel) */
	VmbChannelStart(f->k);
	VmbChannelPause(f->k);
	assert_status(save_stream(f->k, 200, &other), STATUS_SUCCESS);
	assert_true(other.n >= 2);
	assert_status(VmbChannelRestoreFromBuffer(nh, other.chunk[1], other.len[1]),
		      STATUS_OBJECT_TYPE_MISMATCH);
	stream_free(&other);
	/* Enable refuses a half-done restore */
	assert_status(VmbChannelEnable(nh), STATUS_INVALID_DEVICE_STATE);
	VmbChannelCleanup(nh); /* drops the restore in progress */

	/* a channel of another interface refuses the stream */
	nh = new_server();
	assert_status(VmbServerChannelInitSetTargetInterfaceId(nh, IfType, IfInst), STATUS_SUCCESS);
	assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[0], s.len[0]),
		      STATUS_OBJECT_TYPE_MISMATCH);
	VmbChannelCleanup(nh);

	/* a channel that is not fresh */
	nh = new_server();
	assert_status(VmbChannelEnable(nh), STATUS_SUCCESS);
	assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[0], s.len[0]),
		      STATUS_INVALID_DEVICE_STATE);
	VmbChannelDisable(nh);
	VmbChannelCleanup(nh);
	/* a server without save/restore callbacks cannot re-create the stream's packets */
	{
		NTSTATUS st = STATUS_MORE_PROCESSING_REQUIRED;
		unsigned i;

		assert_status(VmbChannelAllocate(NULL, TRUE, &nh), STATUS_SUCCESS);
		for (i = 0; i < s.n && st == STATUS_MORE_PROCESSING_REQUIRED; i++)
			st = VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]);
		assert_status(st, STATUS_INVALID_DEVICE_STATE);
		VmbChannelCleanup(nh);
	}

	/* VmbPacketRestore outside a restore callback */
	{
		VMBPACKET p = VmbPacketAllocate(f->k);
		uint8_t lib[64] = {0};
		assert_status(VmbPacketRestore(p, lib, sizeof(lib)), STATUS_INVALID_DEVICE_STATE);
		assert_status(VmbPacketRestore(p, NULL, 0), STATUS_INVALID_PARAMETER_2);
		VmbPacketFree(p);
	}
	free(bad);
	stream_free(&s);
}

static void
test_restore_callback_failures(void **state)
{
	struct fx *f = *state;
	struct stream s;
	VMBCHANNEL nh;
	unsigned i;

	saved_stream(f, 10, 4096, &s);
	nh = new_server();
	for (i = 0; i + 1 < s.n; i++)
		assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]),
			      STATUS_MORE_PROCESSING_REQUIRED);

	/* the driver's own failure status comes back; the channel is untouched */
	SR.restore_fail_at = 4;
	SR.restore_status = STATUS_INSUFFICIENT_RESOURCES;
	assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[s.n - 1], s.len[s.n - 1]),
		      STATUS_INSUFFICIENT_RESOURCES);
	assert_int_equal(vmb_channel_pending_tx(nh), 0);
	/* the packets re-created before the failure were retired as cancelled */
	assert_int_equal(f->ks.completions, 3);
	assert_status(f->ks.last_status, STATUS_CANCELLED);
	VmbChannelCleanup(nh);

	/* a custom code, and codes that would read as "keep going" */
	{
		static const struct {
			NTSTATUS cb, want;
		} t[] = {
			{(NTSTATUS)0xC0005678, (NTSTATUS)0xC0005678},
			{STATUS_MORE_PROCESSING_REQUIRED, STATUS_UNSUCCESSFUL},
			{STATUS_BUFFER_OVERFLOW, STATUS_UNSUCCESSFUL},
		};
		unsigned k;
		for (k = 0; k < 3; k++) {
			nh = new_server();
			SR.restore_calls = 0;
			SR.restore_fail_at = 1;
			SR.restore_status = t[k].cb;
			for (i = 0; i + 1 < s.n; i++)
				assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]),
					      STATUS_MORE_PROCESSING_REQUIRED);
			assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]), t[k].want);
			VmbChannelCleanup(nh);
		}
	}
	/* the callback succeeds without re-creating its packet: a stream error */
	SR.restore_fail_at = 0;
	SR.restore_no_packet = 1;
	nh = new_server();
	for (i = 0; i + 1 < s.n; i++)
		assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]),
			      STATUS_MORE_PROCESSING_REQUIRED);
	assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]), STATUS_DATA_ERROR);
	VmbChannelCleanup(nh);
	SR.restore_no_packet = 0;

	/* after failures the same stream restores fine */
	nh = new_server();
	SR.restore_calls = 0;
	for (i = 0; i < s.n; i++)
		assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]),
			      i + 1 < s.n ? STATUS_MORE_PROCESSING_REQUIRED : STATUS_SUCCESS);
	assert_int_equal(SR.restore_calls, 10);
	assert_int_equal(vmb_channel_pending_tx(nh), 10);
	VmbChannelCleanup(nh); /* Disabled, never enabled: pending packets die with it */
	stream_free(&s);
}

static void
test_save_callback_failures(void **state)
{
	struct fx *f = *state;
	struct stream s;
	VMBCHANNEL nh;
	unsigned i;
	static const struct {
		int mode;
		NTSTATUS cb, want;
	} t[] = {
		{2, STATUS_INSUFFICIENT_RESOURCES, STATUS_INSUFFICIENT_RESOURCES}, /* size query */
		{3, (NTSTATUS)0xC0004321, (NTSTATUS)0xC0004321},                   /* fill call */
		{2, STATUS_BUFFER_OVERFLOW, STATUS_UNSUCCESSFUL},                  /* not "more" */
		{4, STATUS_SUCCESS, STATUS_UNSUCCESSFUL}, /* TOO_SMALL again with the size it asked */
	};

	bring_up(f);
	pending_packets(f, 5);
	VmbChannelPause(f->k);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ULONG filled, required;
		uint8_t buf[4096];

		SR.save_mode = t[i].mode;
		SR.fail_status = t[i].cb;
		assert_status(VmbChannelSaveBegin(f->k), STATUS_SUCCESS);
		assert_status(VmbChannelSaveContinue(f->k, buf, sizeof(buf), &filled, &required),
			      t[i].want);
		/* the save is failed from now on */
		assert_status(VmbChannelSaveContinue(f->k, buf, sizeof(buf), &filled, &required),
			      STATUS_INVALID_DEVICE_STATE);
		VmbChannelSaveEnd(f->k);
	}
	/* nothing to save per packet: SUCCESS with *BytesNeeded 0; restore gets SaveBufSize 0 */
	SR.save_mode = 1;
	assert_status(save_stream(f->k, 4096, &s), STATUS_SUCCESS);
	nh = new_server();
	for (i = 0; i < s.n; i++)
		assert_status(VmbChannelRestoreFromBuffer(nh, s.chunk[i], s.len[i]),
			      i + 1 < s.n ? STATUS_MORE_PROCESSING_REQUIRED : STATUS_SUCCESS);
	assert_int_equal(SR.restore_calls, 5);
	assert_int_equal(SR.last_save_size, 0);
	VmbChannelCleanup(nh);
	stream_free(&s);
	VmbChannelStart(f->k);
}

/* ======================================================================================== */
/* the native facade slots                                                                   */
/* ======================================================================================== */

static int released;
static void *released_ptr;

static void
count_release(void *p)
{
	released++;
	released_ptr = p;
}

static void fake_fn(void) {}

static void
test_native_facade_slots(void **state)
{
	struct vmb_channel *ch;
	struct vmb_packet *p;
	int a, b;
	void *data = &a;

	(void)state;
	assert_int_equal(vmb_channel_set_facade(NULL, &a, count_release), -EBADF);
	assert_null(vmb_channel_get_facade(NULL));
	assert_int_equal(vmb_channel_alloc(true, &ch), 0);
	assert_null(vmb_channel_get_facade(ch));
	assert_int_equal(vmb_channel_set_facade(ch, &a, count_release), 0);
	assert_ptr_equal(vmb_channel_get_facade(ch), &a);
	assert_null(vmb_channel_get_context(ch)); /* separate from the driver's pointer */
	/* replacing releases the previous facade; setting the same one does not */
	assert_int_equal(vmb_channel_set_facade(ch, &a, count_release), 0);
	assert_int_equal(released, 0);
	assert_int_equal(vmb_channel_set_facade(ch, &b, count_release), 0);
	assert_int_equal(released, 1);
	assert_ptr_equal(released_ptr, &a);

	p = vmb_packet_alloc(ch);
	assert_non_null(p);
	assert_null(vmb_packet_get_facade(p, &data));
	assert_null(data);
	vmb_packet_set_facade(p, fake_fn, &b);
	assert_ptr_equal(vmb_packet_get_facade(p, &data), fake_fn);
	assert_ptr_equal(data, &b);
	assert_ptr_equal(vmb_packet_get_facade(p, NULL), fake_fn);
	assert_null(vmb_packet_get_context(p));
	vmb_packet_set_facade(NULL, fake_fn, &b); /* ignored */
	data = &a;
	assert_null(vmb_packet_get_facade(NULL, &data));
	assert_null(data);

	assert_int_equal(vmb_channel_cleanup(ch), 0);
	assert_int_equal(released, 2);
	assert_ptr_equal(released_ptr, &b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_values),
		cmocka_unit_test(test_base_types),
		cmocka_unit_test(test_callbacks_init),
		cmocka_unit_test(test_errno_mapping),
		cmocka_unit_test(test_init_setters_phases),
		cmocka_unit_test(test_init_setters_bad_arguments),
		cmocka_unit_test(test_friendly_name_utf16),
		cmocka_unit_test(test_invalid_handles),
		cmocka_unit_test(test_interface_tables),
		cmocka_unit_test_setup_teardown(test_traffic, setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_completion_cancelled, setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_opened_failure, setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_packet_initialize, setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_defer_fail_quota, setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_external_data_in, setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_external_data_out, setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_sync_request, setup_client, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_utilities, setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_save_statuses, setup_save, teardown),
		cmocka_unit_test_setup_teardown(test_restore_round_trip, setup_save, teardown),
		cmocka_unit_test_setup_teardown(test_restore_errors, setup_save, teardown),
		cmocka_unit_test_setup_teardown(test_restore_callback_failures, setup_save, teardown),
		cmocka_unit_test_setup_teardown(test_save_callback_failures, setup_save, teardown),
		cmocka_unit_test(test_native_facade_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
