/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * KMCL face, channels: allocation and teardown, the state machine calls, the Init* setters and
 * the runtime utilities, and the trampolines that turn native callbacks into the driver's KMCL
 * callbacks (payload constness, NTSTATUS results).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmb_kmcl_priv.h"

/* ---- the per-channel shim ---- */

static void
shim_release(void *p)
{
	struct kmcl_shim *k = p;

	if (k == NULL)
		return;
	k->magic = 0;
	pthread_mutex_destroy(&k->lock);
	free(k->storage);
	free(k);
}

struct kmcl_shim *
kmcl_shim(VMBCHANNEL ch)
{
	struct kmcl_shim *k = vmb_channel_get_facade(ch);

	return k && k->magic == KMCL_SHIM_MAGIC ? k : NULL;
}

struct kmcl_shim *
kmcl_shim_get(VMBCHANNEL ch)
{
	struct kmcl_shim *k;

	if (vmb_channel_state(ch) < 0)
		return NULL;
	k = kmcl_shim(ch);
	if (k)
		return k;
	if (vmb_channel_get_facade(ch) != NULL)
		return NULL; /* another compatibility layer owns the slot */
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	k->magic = KMCL_SHIM_MAGIC;
	pthread_mutex_init(&k->lock, NULL);
	if (vmb_channel_set_facade(ch, k, shim_release) != 0) {
		shim_release(k);
		return NULL;
	}
	return k;
}

uint32_t
kmcl_ctx_bytes(uint32_t mdl_cap, uint32_t user_ctx)
{
	/* MDLs first (8-byte aligned: the native areas are calloc'ed at a multiple of the size),
	 * then the driver's bytes, the total rounded to 8 so every token's area stays aligned. */
	return (uint32_t)((mdl_cap * sizeof(MDL) + user_ctx + 7u) & ~7u);
}

NTSTATUS
kmcl_take_cb_status(VMBCHANNEL ch, NTSTATUS fallback)
{
	struct kmcl_shim *k = kmcl_shim(ch);
	NTSTATUS st;

	if (k == NULL || k->cb_status == STATUS_SUCCESS)
		return fallback;
	st = k->cb_status;
	k->cb_status = STATUS_SUCCESS;
	return st;
}

void
kmcl_clear_cb_status(VMBCHANNEL ch)
{
	struct kmcl_shim *k = kmcl_shim(ch);

	if (k)
		k->cb_status = STATUS_SUCCESS;
}

bool
kmcl_in_init_phase(VMBCHANNEL ch)
{
	return vmb_channel_state(ch) == VMB_CHANNEL_DISABLED;
}

/* Init setters: a native -EBADF / -EPERM (bad handle, past the init phase) is
 * STATUS_INVALID_PARAMETER_1; -EINVAL is the given parameter's code. */
static NTSTATUS
init_status(int rc, NTSTATUS einval)
{
	if (rc == 0)
		return STATUS_SUCCESS;
	if (rc == -EBADF || rc == -EPERM || rc == -ENOTSUP)
		return STATUS_INVALID_PARAMETER_1;
	if (rc == -EINVAL)
		return einval;
	return VmbKmclStatusFromErrno(rc);
}

/* ---- trampolines: native callbacks -> the driver's KMCL callbacks ---- */

static int
tramp_opened(struct vmb_channel *ch)
{
	struct kmcl_shim *k = kmcl_shim(ch);
	NTSTATUS st;

	if (k == NULL || k->cb.EvtChannelOpened == NULL)
		return 0;
	st = k->cb.EvtChannelOpened(ch);
	if (NT_SUCCESS(st))
		return 0;
	k->cb_status = st;
	return VmbKmclErrnoFromStatus(st);
}

static void
tramp_closed(struct vmb_channel *ch)
{
	struct kmcl_shim *k = kmcl_shim(ch);

	if (k && k->cb.EvtChannelClosed)
		k->cb.EvtChannelClosed(ch);
}

static void
tramp_suspend(struct vmb_channel *ch)
{
	struct kmcl_shim *k = kmcl_shim(ch);

	if (k && k->cb.EvtChannelSuspend)
		k->cb.EvtChannelSuspend(ch);
}

static void
tramp_started(struct vmb_channel *ch)
{
	struct kmcl_shim *k = kmcl_shim(ch);

	if (k && k->cb.EvtChannelStarted)
		k->cb.EvtChannelStarted(ch);
}

static void
tramp_post_started(struct vmb_channel *ch)
{
	struct kmcl_shim *k = kmcl_shim(ch);

	if (k && k->cb.EvtChannelPostStarted)
		k->cb.EvtChannelPostStarted(ch);
}

static void
tramp_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *payload, uint32_t len,
	      uint32_t flags)
{
	struct kmcl_shim *k = kmcl_shim(ch);

	/* KMCL hands the payload as PVOID: the driver must treat it as read-only (it is the
	 * peer's shared memory). */
	k->process(ch, rx, (PVOID)(uintptr_t)payload, len, flags);
}

static void
tramp_processing_complete(struct vmb_channel *ch, uint32_t packets)
{
	struct kmcl_shim *k = kmcl_shim(ch);

	if (k && k->processing_complete)
		k->processing_complete(ch, packets);
}

/* ---- creation and teardown ---- */

NTSTATUS
VmbChannelAllocate(PDEVICE_OBJECT parent, BOOLEAN is_server, VMBCHANNEL *out)
{
	struct vmb_channel *ch;
	struct kmcl_shim *k;
	int rc;

	(void)parent; /* no device tree in user space */
	if (out == NULL)
		return STATUS_INVALID_PARAMETER_3;
	*out = NULL;
	rc = vmb_channel_alloc(is_server != 0, &ch);
	if (rc)
		return VmbKmclStatusFromErrno(rc);
	k = kmcl_shim_get(ch);
	if (k == NULL) {
		vmb_channel_cleanup(ch);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	/* Room for the external-data MDLs of each incoming packet (default chain length). */
	k->mdl_cap = VMB_DEFAULT_MAX_EXT_CHAIN;
	rc = vmb_channel_init_set_client_context_size(ch, kmcl_ctx_bytes(k->mdl_cap, 0));
	if (rc) {
		vmb_channel_cleanup(ch);
		return VmbKmclStatusFromErrno(rc);
	}
	*out = ch;
	return STATUS_SUCCESS;
}

VOID
VmbChannelCleanup(VMBCHANNEL ch)
{
	/* The shim is freed by the native cleanup (facade release hook). */
	(void)vmb_channel_cleanup(ch);
}

NTSTATUS
VmbChannelEnable(VMBCHANNEL ch)
{
	int rc;

	if (vmb_channel_state(ch) < 0)
		return STATUS_INVALID_HANDLE;
	kmcl_clear_cb_status(ch);
	rc = vmb_channel_enable(ch);
	if (rc == 0)
		return STATUS_SUCCESS;
	/* The open may run inside Enable (the peer was waiting): a failing EvtChannelOpened
	 * reports its own status. */
	if (rc == -EPERM || rc == -EINVAL || rc == -EBUSY)
		return STATUS_INVALID_DEVICE_STATE;
	return kmcl_take_cb_status(ch, VmbKmclStatusFromErrno(rc));
}

VOID
VmbChannelDisable(VMBCHANNEL ch)
{
	(void)vmb_channel_disable(ch);
}

VOID
VmbChannelStart(VMBCHANNEL ch)
{
	(void)vmb_channel_start(ch);
}

VOID
VmbChannelPause(VMBCHANNEL ch)
{
	(void)vmb_channel_pause(ch);
}

/* ---- init-phase configuration ---- */

NTSTATUS
VmbChannelInitSetMaximumPacketSize(VMBCHANNEL ch, UINT32 size)
{
	return init_status(vmb_channel_init_set_max_packet_size(ch, size), STATUS_INVALID_PARAMETER_2);
}

NTSTATUS
VmbChannelInitSetMaximumExternalData(VMBCHANNEL ch, UINT32 size, UINT32 chain)
{
	struct kmcl_shim *k;
	int rc;

	if (!kmcl_in_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (size == 0 || size > (1u << 30))
		return STATUS_INVALID_PARAMETER_2;
	if (chain == 0 || chain > VMBKMCL_MAX_CHAIN_LENGTH)
		return STATUS_INVALID_PARAMETER_3;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	rc = vmb_channel_init_set_max_external_data(ch, size, chain);
	if (rc == 0)
		rc = vmb_channel_init_set_client_context_size(ch, kmcl_ctx_bytes(chain, k->user_ctx));
	if (rc)
		return init_status(rc, STATUS_INVALID_PARAMETER_2);
	k->mdl_cap = chain;
	return STATUS_SUCCESS;
}

NTSTATUS
VmbChannelInitSetClientContextSize(VMBCHANNEL ch, UINT32 size)
{
	struct kmcl_shim *k;
	int rc;

	if (!kmcl_in_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (size > VMBKMCL_MAX_CLIENT_CONTEXT)
		return STATUS_INVALID_PARAMETER_2;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	rc = vmb_channel_init_set_client_context_size(ch, kmcl_ctx_bytes(k->mdl_cap, size));
	if (rc)
		return init_status(rc, STATUS_INVALID_PARAMETER_2);
	k->user_ctx = size;
	return STATUS_SUCCESS;
}

NTSTATUS
VmbChannelInitSetProcessPacketCallbacks(VMBCHANNEL ch, PFN_VMB_CHANNEL_PROCESS_PACKET process,
					PFN_VMB_CHANNEL_PROCESSING_COMPLETE complete)
{
	struct kmcl_shim *k;
	int rc;

	if (!kmcl_in_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (process == NULL)
		return STATUS_INVALID_PARAMETER_2;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	rc = vmb_channel_init_set_process_packet(ch, tramp_process,
						 complete ? tramp_processing_complete : NULL);
	if (rc)
		return init_status(rc, STATUS_INVALID_PARAMETER_2);
	k->process = process;
	k->processing_complete = complete;
	return STATUS_SUCCESS;
}

NTSTATUS
VmbChannelInitSetStateChangeCallbacks(VMBCHANNEL ch, PVMB_CHANNEL_STATE_CHANGE_CALLBACKS cb)
{
	struct vmb_channel_callbacks n = {0};
	struct kmcl_shim *k;
	int rc;

	if (!kmcl_in_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (cb == NULL || cb->Version != VMB_CHANNEL_STATE_CHANGE_CALLBACKS_VERSION_1 ||
	    cb->Size != sizeof(*cb))
		return STATUS_INVALID_PARAMETER_2;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	/* Only the members the driver implements get a trampoline: the native layer skips NULL. */
	n.opened = cb->EvtChannelOpened ? tramp_opened : NULL;
	n.closed = cb->EvtChannelClosed ? tramp_closed : NULL;
	n.suspend = cb->EvtChannelSuspend ? tramp_suspend : NULL;
	n.started = cb->EvtChannelStarted ? tramp_started : NULL;
	n.post_started = cb->EvtChannelPostStarted ? tramp_post_started : NULL;
	rc = vmb_channel_init_set_callbacks(ch, &n);
	if (rc)
		return init_status(rc, STATUS_INVALID_PARAMETER_2);
	k->cb = *cb;
	return STATUS_SUCCESS;
}

/* UTF-16 (host order) -> UTF-8, never splitting a sequence, NUL-terminated. Unpaired
 * surrogates become U+FFFD. */
static void
utf16_to_utf8(const uint16_t *in, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		uint32_t c = in[i];
		char b[4];
		size_t len, j;

		if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && in[i + 1] >= 0xDC00 &&
		    in[i + 1] <= 0xDFFF) {
			c = 0x10000 + ((c - 0xD800) << 10) + (in[i + 1] - 0xDC00u);
			i++;
		} else if (c >= 0xD800 && c <= 0xDFFF) {
			c = 0xFFFD;
		}
		if (c < 0x80) {
			b[0] = (char)c;
			len = 1;
		} else if (c < 0x800) {
			b[0] = (char)(0xC0 | (c >> 6));
			b[1] = (char)(0x80 | (c & 0x3F));
			len = 2;
		} else if (c < 0x10000) {
			b[0] = (char)(0xE0 | (c >> 12));
			b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
			b[2] = (char)(0x80 | (c & 0x3F));
			len = 3;
		} else {
			b[0] = (char)(0xF0 | (c >> 18));
			b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
			b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
			b[3] = (char)(0x80 | (c & 0x3F));
			len = 4;
		}
		if (o + len + 1 > cap)
			break;
		for (j = 0; j < len; j++)
			out[o++] = b[j];
	}
	out[o] = '\0';
}

NTSTATUS
VmbChannelInitSetFriendlyName(VMBCHANNEL ch, PCUNICODE_STRING name)
{
	char utf8[64];

	if (!kmcl_in_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (name == NULL || (name->Length & 1) || (name->Length && name->Buffer == NULL))
		return STATUS_INVALID_PARAMETER_2;
	utf16_to_utf8(name->Buffer, name->Length / 2u, utf8, sizeof(utf8));
	return init_status(vmb_channel_init_set_name(ch, utf8), STATUS_INVALID_PARAMETER_2);
}

NTSTATUS
VmbChannelInitSetFlags(VMBCHANNEL ch, UINT32 flags)
{
	struct kmcl_shim *k;

	if (!kmcl_in_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (flags & ~VMBUS_CHANNEL_INIT_FLAGS)
		return STATUS_INVALID_PARAMETER_2;
	if (flags & VMBUS_CHANNEL_INIT_FLAG_IS_PIPE)
		return STATUS_NOT_SUPPORTED; /* the native layer has no pipe mode */
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	k->init_flags = flags;
	return STATUS_SUCCESS;
}

/* 16 GUID bytes in VMBus wire order (the little-endian memory image of a Windows GUID). */
static void
guid_to_vmb(const GUID *g, struct vmb_guid *out)
{
	out->b[0] = (uint8_t)g->Data1;
	out->b[1] = (uint8_t)(g->Data1 >> 8);
	out->b[2] = (uint8_t)(g->Data1 >> 16);
	out->b[3] = (uint8_t)(g->Data1 >> 24);
	out->b[4] = (uint8_t)g->Data2;
	out->b[5] = (uint8_t)(g->Data2 >> 8);
	out->b[6] = (uint8_t)g->Data3;
	out->b[7] = (uint8_t)(g->Data3 >> 8);
	memcpy(&out->b[8], g->Data4, 8);
}

static void
vmb_to_guid(const struct vmb_guid *in, GUID *g)
{
	g->Data1 = (uint32_t)in->b[0] | (uint32_t)in->b[1] << 8 | (uint32_t)in->b[2] << 16 |
		   (uint32_t)in->b[3] << 24;
	g->Data2 = (uint16_t)(in->b[4] | in->b[5] << 8);
	g->Data3 = (uint16_t)(in->b[6] | in->b[7] << 8);
	memcpy(g->Data4, &in->b[8], 8);
}

NTSTATUS
VmbClientChannelInitSetRingBufferPageCount(VMBCHANNEL ch, UINT32 in, UINT32 out)
{
	if (!kmcl_in_init_phase(ch) || vmb_channel_is_server(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (in < 2 || in > (1u << 19))
		return STATUS_INVALID_PARAMETER_2;
	if (out < 2 || out > (1u << 19))
		return STATUS_INVALID_PARAMETER_3;
	return init_status(vmb_channel_init_set_ring_pages(ch, in, out), STATUS_INVALID_PARAMETER);
}

NTSTATUS
VmbClientChannelInitSetTargetPnp(VMBCHANNEL ch, LPCGUID type, LPCGUID instance,
				 PFN_VMB_CHANNEL_PNP_FAILURE pnp_failure)
{
	struct vmb_guid t, i;
	struct kmcl_shim *k;
	int rc;

	if (!kmcl_in_init_phase(ch) || vmb_channel_is_server(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (type == NULL)
		return STATUS_INVALID_PARAMETER_2;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	guid_to_vmb(type, &t);
	if (instance)
		guid_to_vmb(instance, &i);
	rc = vmb_channel_init_set_interface(ch, &t, instance ? &i : NULL);
	if (rc)
		return init_status(rc, STATUS_INVALID_PARAMETER_2);
	k->pnp_failure = pnp_failure; /* kept for completeness: there is no PnP to fail */
	return STATUS_SUCCESS;
}

/* Server-only setters: a client channel is an invalid first parameter. */
static bool
server_init_phase(VMBCHANNEL ch)
{
	return kmcl_in_init_phase(ch) && vmb_channel_is_server(ch);
}

NTSTATUS
VmbServerChannelInitSetFlags(VMBCHANNEL ch, UINT32 flags)
{
	struct kmcl_shim *k;

	if (!server_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (flags & ~VMBUS_SERVER_CHANNEL_INIT_FLAGS)
		return STATUS_INVALID_PARAMETER_2;
	if (flags & VMBUS_SERVER_CHANNEL_INIT_FLAG_OFFER_AS_PIPE)
		return STATUS_NOT_SUPPORTED;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	k->server_flags = flags;
	return STATUS_SUCCESS;
}

NTSTATUS
VmbServerChannelInitSetMmioMegabytes(VMBCHANNEL ch, UINT16 mb, UINT16 optional)
{
	struct kmcl_shim *k;

	if (!server_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (mb == 0 && optional == 0)
		return STATUS_INVALID_PARAMETER;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	k->mmio_mb = mb;
	k->mmio_mb_optional = optional;
	return STATUS_SUCCESS;
}

NTSTATUS
VmbServerChannelInitSetTargetInterfaceId(VMBCHANNEL ch, GUID type, GUID instance)
{
	struct vmb_guid t, i;

	if (!server_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	guid_to_vmb(&type, &t);
	guid_to_vmb(&instance, &i);
	return init_status(vmb_channel_init_set_interface(ch, &t, &i), STATUS_INVALID_PARAMETER_2);
}

NTSTATUS
VmbServerChannelInitSetVmbusHandle(VMBCHANNEL ch, HANDLE handle)
{
	(void)handle;
	if (!server_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	return STATUS_NOT_SUPPORTED; /* no VMBus handle exists in user space */
}

NTSTATUS
VmbServerChannelInitSetTargetVtl(VMBCHANNEL ch, UINT8 vtl)
{
	struct kmcl_shim *k;

	if (!server_init_phase(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (vtl > VMBKMCL_MAX_TARGET_VTL)
		return STATUS_INVALID_PARAMETER_2;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	k->target_vtl = vtl;
	return STATUS_SUCCESS;
}

NTSTATUS
VmbConvertVmbusHandleToKernelHandle(HANDLE handle, PHANDLE kernel_handle)
{
	(void)handle;
	if (kernel_handle)
		*kernel_handle = NULL;
	return STATUS_NOT_SUPPORTED;
}

/* ---- runtime utilities ---- */

VOID
VmbChannelSetPointer(VMBCHANNEL ch, PVOID ptr)
{
	vmb_channel_set_context(ch, ptr);
}

PVOID
VmbChannelGetPointer(VMBCHANNEL ch)
{
	return vmb_channel_get_context(ch);
}

VOID
VmbChannelGetInterfaceInstance(VMBCHANNEL ch, LPGUID instance)
{
	struct vmb_guid i = {{0}};

	if (instance == NULL)
		return;
	(void)vmb_channel_get_interface(ch, NULL, &i);
	vmb_to_guid(&i, instance);
}

VOID
VmbChannelGetMmioSpace(VMBCHANNEL ch, UINT64 *addr, UINT64 *size)
{
	(void)ch; /* no MMIO space is ever assigned to a user-space channel */
	if (addr)
		*addr = 0;
	if (size)
		*size = 0;
}

NTSTATUS
VmbChannelSetInterruptLatency(VMBCHANNEL ch, UINT16 latency, PUINT16 original)
{
	struct kmcl_shim *k;
	int st = vmb_channel_state(ch);

	if (st < 0)
		return STATUS_INVALID_HANDLE;
	if (original == NULL)
		return STATUS_INVALID_PARAMETER_3;
	if (st != VMB_CHANNEL_OPENED)
		return STATUS_INVALID_DEVICE_STATE;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	*original = k->latency;
	k->latency = latency;
	return STATUS_SUCCESS;
}

VOID
VmbChannelSetIncomingProcessingAtPassive(VMBCHANNEL ch, BOOLEAN passive)
{
	struct kmcl_shim *k = kmcl_shim(ch);

	if (k)
		k->passive = passive != 0;
}

VOID
VmbChannelSetTransactionQuota(VMBCHANNEL ch, UINT32 quota)
{
	(void)vmb_channel_set_quota(ch, quota);
}

UINT32
VmbChannelSizeofPacket(VMBCHANNEL ch)
{
	uint32_t max;

	if (vmb_channel_state(ch) < 0)
		return 0;
	max = vmb_channel_max_packet_size(ch);
	return (uint32_t)((sizeof(struct kmcl_storage) + max + 7u) & ~7u);
}
