/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * KMCL face, save and restore: the Save/Restore calls over vmb_save.h, and the trampolines
 * that run the driver's two-call save negotiation (NTSTATUS, STATUS_BUFFER_TOO_SMALL) and
 * restore callback under the native protocol (0 / -ENOBUFS / -errno).
 */
#include <errno.h>

#include <vmb/vmb_save.h>

#include "vmb_kmcl_priv.h"

/* A driver failure must not read as one of the protocol's own "keep going" codes. */
static NTSTATUS
callback_failure(NTSTATUS st, bool restore)
{
	if (st == STATUS_BUFFER_OVERFLOW || st == STATUS_BUFFER_TOO_SMALL ||
	    (restore && st == STATUS_MORE_PROCESSING_REQUIRED))
		return STATUS_UNSUCCESSFUL;
	return st;
}

static int
record_failure(struct kmcl_shim *k, NTSTATUS st, bool restore)
{
	int rc;

	k->cb_status = callback_failure(st, restore);
	rc = VmbKmclErrnoFromStatus(k->cb_status);
	/* -ENOBUFS would mean "ask again with more room" to the native save. */
	return rc == 0 || rc == -ENOBUFS ? -EIO : rc;
}

static int
tramp_save(struct vmb_channel *ch, struct vmb_packet *p, void *buf, uint32_t size, uint32_t *needed)
{
	struct kmcl_shim *k = kmcl_shim(ch);
	UINT32 n = size;
	NTSTATUS st;

	st = k->save(ch, kmcl_handle_of(p), buf, size, &n);
	if (size == 0) {
		/* The size query. */
		if (st == STATUS_BUFFER_TOO_SMALL) {
			*needed = n;
			return -ENOBUFS;
		}
		if (NT_SUCCESS(st)) {
			*needed = 0; /* nothing to save for this packet */
			return 0;
		}
		return record_failure(k, st, false);
	}
	/* The fill call. */
	if (st == STATUS_BUFFER_TOO_SMALL && n > size) {
		*needed = n; /* the VSP's state grew since the query: negotiate again */
		return -ENOBUFS;
	}
	if (NT_SUCCESS(st)) {
		/* *BytesNeeded on the fill call: bytes written (optional; never more than the
		 * buffer the driver was given). */
		*needed = n < size ? n : size;
		return 0;
	}
	return record_failure(k, st, false);
}

static int
tramp_restore(struct vmb_channel *ch, const void *lib, uint32_t lib_size, const void *save,
	      uint32_t save_size)
{
	struct kmcl_shim *k = kmcl_shim(ch);
	NTSTATUS st;

	/* KMCL's buffers are PVOID; the driver must treat them as read-only. */
	st = k->restore(ch, (PVOID)(uintptr_t)lib, lib_size, (PVOID)(uintptr_t)save, save_size);
	if (NT_SUCCESS(st))
		return 0;
	return record_failure(k, st, true);
}

NTSTATUS
VmbServerChannelInitSetSaveRestorePacketCallbacks(VMBCHANNEL ch, PFN_VMB_CHANNEL_SAVE_PACKET save,
						  PFN_VMB_CHANNEL_RESTORE_PACKET restore)
{
	struct kmcl_shim *k;
	int rc;

	if (!kmcl_in_init_phase(ch) || !vmb_channel_is_server(ch))
		return STATUS_INVALID_PARAMETER_1;
	if (save == NULL)
		return STATUS_INVALID_PARAMETER_2;
	if (restore == NULL)
		return STATUS_INVALID_PARAMETER_3;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	rc = vmb_channel_init_set_save_restore(ch, tramp_save, tramp_restore);
	if (rc)
		return rc == -ENOMEM ? STATUS_INSUFFICIENT_RESOURCES : STATUS_INVALID_PARAMETER_1;
	k->save = save;
	k->restore = restore;
	return STATUS_SUCCESS;
}

NTSTATUS
VmbChannelSaveBegin(VMBCHANNEL ch)
{
	int rc = vmb_channel_save_begin(ch);

	switch (rc) {
	case 0:
		return STATUS_SUCCESS;
	case -EBADF:
		return STATUS_INVALID_HANDLE;
	case -ENOTSUP:
		return STATUS_INVALID_DEVICE_REQUEST; /* a client channel has nothing to save */
	default:
		return VmbKmclStatusFromErrno(rc); /* EPERM, EBUSY, ENOMEM */
	}
}

NTSTATUS
VmbChannelSaveContinue(VMBCHANNEL ch, PVOID buf, ULONG size, PULONG filled, PULONG required)
{
	size_t f = 0, r = 0;
	int rc;

	if (vmb_channel_state(ch) < 0)
		return STATUS_INVALID_HANDLE;
	if (buf == NULL && size != 0)
		return STATUS_INVALID_PARAMETER_2;
	if (filled == NULL)
		return STATUS_INVALID_PARAMETER_4;
	if (required == NULL)
		return STATUS_INVALID_PARAMETER_5;
	*filled = 0;
	*required = 0;
	kmcl_clear_cb_status(ch);
	rc = vmb_channel_save_continue(ch, buf, size, &f, &r);
	switch (rc) {
	case 0:
	case -EOVERFLOW:
		*filled = (ULONG)f;
		*required = (ULONG)r;
		return rc == 0 ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
	case -ENOBUFS:
		*required = (ULONG)r;
		return STATUS_BUFFER_TOO_SMALL;
	case -EPERM:
		return STATUS_INVALID_DEVICE_STATE; /* no save in progress, complete, or failed */
	case -EINVAL:
		return STATUS_INVALID_PARAMETER;
	default:
		/* The driver's save callback failed: its own status. -EPROTO otherwise: the
		 * callback broke the size negotiation. */
		return kmcl_take_cb_status(ch, VmbKmclStatusFromErrno(rc));
	}
}

VOID
VmbChannelSaveEnd(VMBCHANNEL ch)
{
	vmb_channel_save_end(ch);
}

NTSTATUS
VmbChannelRestoreFromBuffer(VMBCHANNEL ch, PVOID buf, ULONG size)
{
	int rc;

	if (vmb_channel_state(ch) < 0)
		return STATUS_INVALID_HANDLE;
	if (!vmb_channel_is_server(ch))
		return STATUS_INVALID_DEVICE_REQUEST;
	if (buf == NULL)
		return STATUS_INVALID_PARAMETER_2;
	kmcl_clear_cb_status(ch);
	rc = vmb_channel_restore(ch, buf, size);
	switch (rc) {
	case 0:
		return STATUS_SUCCESS;
	case -EINPROGRESS:
		return STATUS_MORE_PROCESSING_REQUIRED;
	case -ENOTSUP:
		return STATUS_REVISION_MISMATCH; /* future format or unknown critical record */
	default:
		/* A failing restore callback reports its own status; else the stream's error
		 * (EPERM, EPROTO, EMSGSIZE, EBADMSG, EILSEQ, EXDEV, ENOMEM: see the table). */
		return kmcl_take_cb_status(ch, VmbKmclStatusFromErrno(rc));
	}
}

NTSTATUS
VmbPacketRestore(VMBPACKET h, PVOID buf, ULONG size)
{
	struct vmb_packet *p = kmcl_packet(h, NULL);
	int rc;

	if (p == NULL)
		return STATUS_INVALID_HANDLE;
	if (buf == NULL)
		return STATUS_INVALID_PARAMETER_2;
	rc = vmb_packet_restore(p, buf, size);
	/* EPERM -> INVALID_DEVICE_STATE, EPROTO -> DATA_ERROR, EEXIST -> DUPLICATE_OBJECTID */
	return VmbKmclStatusFromErrno(rc);
}
