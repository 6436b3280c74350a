/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * KMCL face: errno <-> NTSTATUS mapping, and the function-pointer tables
 * (KMCL_CLIENT_INTERFACE_V1 / KMCL_SERVER_INTERFACE_V1) handed out by VmbKmclQueryInterface().
 */
#include <errno.h>
#include <string.h>

#include "vmb_kmcl_priv.h"

/* ---- status mapping (the table of doc/kmcl.md) ---- */

static const struct {
	int err;
	NTSTATUS st;
} status_map[] = {
	{EBADF, STATUS_INVALID_HANDLE},
	{EINVAL, STATUS_INVALID_PARAMETER},
	{EPERM, STATUS_INVALID_DEVICE_STATE},
	{ENOTSUP, STATUS_NOT_SUPPORTED},
	{ENOMEM, STATUS_INSUFFICIENT_RESOURCES},
	{EIO, STATUS_DEVICE_REMOVED},
	{ECANCELED, STATUS_CANCELLED},
	{ETIMEDOUT, STATUS_IO_TIMEOUT},
	{EOVERFLOW, STATUS_BUFFER_OVERFLOW},
	{ENOBUFS, STATUS_BUFFER_TOO_SMALL},
	{EBUSY, STATUS_DEVICE_BUSY},
	{EPROTO, STATUS_DATA_ERROR},
	{EMSGSIZE, STATUS_INVALID_BUFFER_SIZE},
	{EBADMSG, STATUS_CRC_ERROR},
	{EILSEQ, STATUS_REQUEST_OUT_OF_SEQUENCE},
	{EXDEV, STATUS_OBJECT_TYPE_MISMATCH},
	{EINPROGRESS, STATUS_MORE_PROCESSING_REQUIRED},
	{EEXIST, STATUS_DUPLICATE_OBJECTID},
	{ENOENT, STATUS_NOT_FOUND},
	{ENOTCONN, STATUS_DEVICE_NOT_CONNECTED},
	{ENOSPC, STATUS_INSUFFICIENT_RESOURCES},
	{EAGAIN, STATUS_DEVICE_NOT_READY},
};

NTSTATUS
VmbKmclStatusFromErrno(int err)
{
	size_t i;

	if (err == 0)
		return STATUS_SUCCESS;
	if (err < 0)
		err = -err;
	for (i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (status_map[i].err == err)
			return status_map[i].st;
	return STATUS_UNSUCCESSFUL;
}

int
VmbKmclErrnoFromStatus(NTSTATUS st)
{
	size_t i;

	if (NT_SUCCESS(st))
		return 0;
	switch (st) {
	case STATUS_NO_MEMORY:
		return -ENOMEM;
	case STATUS_INVALID_PARAMETER_1:
	case STATUS_INVALID_PARAMETER_2:
	case STATUS_INVALID_PARAMETER_3:
	case STATUS_INVALID_PARAMETER_4:
	case STATUS_INVALID_PARAMETER_5:
	case STATUS_INVALID_PARAMETER_6:
	case STATUS_INVALID_PARAMETER_7:
	case STATUS_INVALID_PARAMETER_8:
	case STATUS_INVALID_PARAMETER_9:
	case STATUS_INVALID_PARAMETER_10:
	case STATUS_INVALID_PARAMETER_11:
	case STATUS_INVALID_PARAMETER_12:
		return -EINVAL;
	case STATUS_INVALID_DEVICE_REQUEST:
		return -ENOTSUP;
	case STATUS_REVISION_MISMATCH:
		return -ENOTSUP;
	default:
		break;
	}
	/* First match of the table: INSUFFICIENT_RESOURCES -> ENOMEM, not ENOSPC. */
	for (i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (status_map[i].st == st)
			return -status_map[i].err;
	return -EIO;
}

NTSTATUS
kmcl_completion_status(int status)
{
	switch (status) {
	case 0:
		return STATUS_SUCCESS;
	case -ECANCELED:
		return STATUS_CANCELLED;
	case -EIO:
		return STATUS_DEVICE_REMOVED;
	default:
		return VmbKmclStatusFromErrno(status);
	}
}

/* ---- interface tables ---- */

/* {3d0b1aa2-a2c1-4b17-bb9b-8bde0892d957} */
const GUID GUID_VMBKMCL_CLIENT_INTERFACE = {
	0x3d0b1aa2, 0xa2c1, 0x4b17, {0xbb, 0x9b, 0x8b, 0xde, 0x08, 0x92, 0xd9, 0x57}};
/* {0b3e3c8a-7011-4a17-b557-48cf60f59120} */
const GUID GUID_VMBKMCL_SERVER_INTERFACE = {
	0x0b3e3c8a, 0x7011, 0x4a17, {0xb5, 0x57, 0x48, 0xcf, 0x60, 0xf5, 0x91, 0x20}};

static void
iface_reference(PVOID ctx)
{
	(void)ctx; /* the tables point at static functions: nothing to count */
}

static void
iface_dereference(PVOID ctx)
{
	(void)ctx;
}

#define CLIENT_INIT                                                                             \
	.VmbChannelAllocate = VmbChannelAllocate, .VmbChannelCleanup = VmbChannelCleanup,       \
	.VmbChannelCreateGpadlFromBuffer = VmbChannelCreateGpadlFromBuffer,                     \
	.VmbChannelCreateGpadlFromMdl = VmbChannelCreateGpadlFromMdl,                           \
	.VmbChannelDeleteGpadl = VmbChannelDeleteGpadl, .VmbChannelDisable = VmbChannelDisable, \
	.VmbChannelEnable = VmbChannelEnable,                                                   \
	.VmbChannelGetInterfaceInstance = VmbChannelGetInterfaceInstance,                       \
	.VmbChannelGetMmioSpace = VmbChannelGetMmioSpace,                                       \
	.VmbChannelGetPointer = VmbChannelGetPointer,                                           \
	.VmbChannelInitSetClientContextSize = VmbChannelInitSetClientContextSize,               \
	.VmbChannelInitSetFlags = VmbChannelInitSetFlags,                                       \
	.VmbChannelInitSetFriendlyName = VmbChannelInitSetFriendlyName,                         \
	.VmbChannelInitSetMaximumExternalData = VmbChannelInitSetMaximumExternalData,           \
	.VmbChannelInitSetMaximumPacketSize = VmbChannelInitSetMaximumPacketSize,               \
	.VmbChannelInitSetProcessPacketCallbacks = VmbChannelInitSetProcessPacketCallbacks,     \
	.VmbChannelInitSetStateChangeCallbacks = VmbChannelInitSetStateChangeCallbacks,         \
	.VmbChannelPacketComplete = VmbChannelPacketComplete,                                   \
	.VmbChannelPacketDeferToPassive = VmbChannelPacketDeferToPassive,                       \
	.VmbChannelPacketFail = VmbChannelPacketFail,                                           \
	.VmbChannelPacketGetExternalData = VmbChannelPacketGetExternalData,                     \
	.VmbChannelPause = VmbChannelPause,                                                     \
	.VmbChannelSendSynchronousRequest = VmbChannelSendSynchronousRequest,                   \
	.VmbChannelSetIncomingProcessingAtPassive = VmbChannelSetIncomingProcessingAtPassive,   \
	.VmbChannelSetInterruptLatency = VmbChannelSetInterruptLatency,                         \
	.VmbChannelSetPointer = VmbChannelSetPointer,                                           \
	.VmbChannelSetTransactionQuota = VmbChannelSetTransactionQuota,                         \
	.VmbChannelSizeofPacket = VmbChannelSizeofPacket, .VmbChannelStart = VmbChannelStart,   \
	.VmbClientChannelInitSetRingBufferPageCount = VmbClientChannelInitSetRingBufferPageCount, \
	.VmbClientChannelInitSetTargetPnp = VmbClientChannelInitSetTargetPnp,                   \
	.VmbPacketAllocate = VmbPacketAllocate, .VmbPacketFree = VmbPacketFree,                 \
	.VmbPacketGetChannel = VmbPacketGetChannel, .VmbPacketGetPointer = VmbPacketGetPointer, \
	.VmbPacketInitialize = VmbPacketInitialize, .VmbPacketSend = VmbPacketSend,             \
	.VmbPacketSendWithExternalMdl = VmbPacketSendWithExternalMdl,                           \
	.VmbPacketSendWithExternalPfns = VmbPacketSendWithExternalPfns,                         \
	.VmbPacketSetCompletionRoutine = VmbPacketSetCompletionRoutine,                         \
	.VmbPacketSetPointer = VmbPacketSetPointer

#define SERVER_ONLY_INIT                                                                        \
	.VmbChannelMapGpadl = VmbChannelMapGpadl,                                               \
	.VmbChannelRestoreFromBuffer = VmbChannelRestoreFromBuffer,                             \
	.VmbChannelSaveBegin = VmbChannelSaveBegin,                                             \
	.VmbChannelSaveContinue = VmbChannelSaveContinue, .VmbChannelSaveEnd = VmbChannelSaveEnd, \
	.VmbChannelUnmapGpadl = VmbChannelUnmapGpadl,                                           \
	.VmbConvertVmbusHandleToKernelHandle = VmbConvertVmbusHandleToKernelHandle,             \
	.VmbPacketRestore = VmbPacketRestore,                                                   \
	.VmbServerChannelInitSetFlags = VmbServerChannelInitSetFlags,                           \
	.VmbServerChannelInitSetMmioMegabytes = VmbServerChannelInitSetMmioMegabytes,           \
	.VmbServerChannelInitSetSaveRestorePacketCallbacks =                                    \
		VmbServerChannelInitSetSaveRestorePacketCallbacks,                              \
	.VmbServerChannelInitSetTargetInterfaceId = VmbServerChannelInitSetTargetInterfaceId,   \
	.VmbServerChannelInitSetTargetVtl = VmbServerChannelInitSetTargetVtl,                   \
	.VmbServerChannelInitSetVmbusHandle = VmbServerChannelInitSetVmbusHandle

static const KMCL_CLIENT_INTERFACE_V1 client_table = {
	.InterfaceHeader = {.Size = sizeof(KMCL_CLIENT_INTERFACE_V1),
			    .Version = KMCL_CLIENT_INTERFACE_VERSION_V1,
			    .Context = NULL,
			    .InterfaceReference = iface_reference,
			    .InterfaceDereference = iface_dereference},
	CLIENT_INIT,
};

static const KMCL_SERVER_INTERFACE_V1 server_table = {
	.InterfaceHeader = {.Size = sizeof(KMCL_SERVER_INTERFACE_V1),
			    .Version = KMCL_SERVER_INTERFACE_VERSION_V1,
			    .Context = NULL,
			    .InterfaceReference = iface_reference,
			    .InterfaceDereference = iface_dereference},
	CLIENT_INIT,
	SERVER_ONLY_INIT,
};

/* The server table is the client table followed by the server-only methods, without padding. */
_Static_assert(offsetof(KMCL_SERVER_INTERFACE_V1, VmbChannelMapGpadl) ==
		       sizeof(KMCL_CLIENT_INTERFACE_V1),
	       "server table = client table + server-only methods");
_Static_assert(sizeof(KMCL_SERVER_INTERFACE_V1) ==
		       sizeof(KMCL_CLIENT_INTERFACE_V1) + sizeof(KMCL_SERVER_ONLY_METHODS),
	       "server table size");
_Static_assert(sizeof(KMCL_CLIENT_INTERFACE_V1) == sizeof(INTERFACE) + 41 * sizeof(void (*)(void)),
	       "41 client methods");
_Static_assert(sizeof(KMCL_SERVER_ONLY_METHODS) == 14 * sizeof(void (*)(void)),
	       "14 server-only methods");
_Static_assert(sizeof(GUID) == 16, "GUID layout");
_Static_assert(sizeof(LARGE_INTEGER) == 8, "LARGE_INTEGER layout");
_Static_assert(sizeof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS) == 8 + 5 * sizeof(void (*)(void)),
	       "state-change callbacks layout");

NTSTATUS
VmbKmclQueryInterface(const GUID *type, USHORT size, USHORT version, PVOID iface)
{
	if (type == NULL)
		return STATUS_INVALID_PARAMETER_1;
	if (iface == NULL)
		return STATUS_INVALID_PARAMETER_4;
	if (memcmp(type, &GUID_VMBKMCL_CLIENT_INTERFACE, sizeof(GUID)) == 0) {
		if (version != KMCL_CLIENT_INTERFACE_VERSION_V1)
			return STATUS_NOT_SUPPORTED;
		if (size < sizeof(client_table))
			return STATUS_BUFFER_TOO_SMALL;
		memcpy(iface, &client_table, sizeof(client_table));
		return STATUS_SUCCESS;
	}
	if (memcmp(type, &GUID_VMBKMCL_SERVER_INTERFACE, sizeof(GUID)) == 0) {
		if (version != KMCL_SERVER_INTERFACE_VERSION_V1)
			return STATUS_NOT_SUPPORTED;
		if (size < sizeof(server_table))
			return STATUS_BUFFER_TOO_SMALL;
		memcpy(iface, &server_table, sizeof(server_table));
		return STATUS_SUCCESS;
	}
	return STATUS_NOT_SUPPORTED;
}
