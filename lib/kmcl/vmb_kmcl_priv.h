/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Internals of the KMCL face (not installed).
 *
 * The face keeps no state of its own beyond one small "shim" per channel, attached to the
 * native channel's facade slot (vmb_channel_set_facade(), freed by vmb_channel_cleanup()): the
 * driver's KMCL callbacks, which the native callbacks reach through trampolines, a few recorded
 * settings without a native meaning, and the registry of packet objects backing caller storage
 * (VmbPacketInitialize). Per-packet KMCL state (the completion routine and, for caller
 * storage, the handle the driver knows) lives in the native packet's facade slot.
 *
 * Each incoming token's native client-context area is laid out as: mdl_cap MDLs (filled by
 * VmbChannelPacketGetExternalData) followed by the driver's own user_ctx bytes.
 */
#ifndef VMB_KMCL_PRIV_H
#define VMB_KMCL_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include <kmcl/vmb_kmcl.h>
#include <vmb/vmb_channel.h>

#define KMCL_SHIM_MAGIC 0x4d4b424du    /* "MBKM" */
#define KMCL_STORAGE_MAGIC 0x4b424d56u /* "VMBK": header of VmbPacketInitialize storage */

/** Header written at the start of VmbPacketInitialize() storage (read with memcpy). */
struct kmcl_storage {
	uint32_t magic;
	uint32_t reserved;
	struct vmb_packet *pkt;
};

/** One packet object backing caller storage. */
struct kmcl_storage_entry {
	void *storage;
	struct vmb_packet *pkt;
};

/** Per-channel shim. Configuration fields are written in the init phase (control thread) and
 *  read by the trampolines afterwards. */
struct kmcl_shim {
	uint32_t magic;
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS cb;
	PFN_VMB_CHANNEL_PROCESS_PACKET process;
	PFN_VMB_CHANNEL_PROCESSING_COMPLETE processing_complete;
	PFN_VMB_CHANNEL_SAVE_PACKET save;
	PFN_VMB_CHANNEL_RESTORE_PACKET restore;
	PFN_VMB_CHANNEL_PNP_FAILURE pnp_failure;
	uint32_t mdl_cap;   /* MDLs reserved in each incoming token's context area */
	uint32_t user_ctx;  /* the driver's client context bytes, after the MDLs */
	uint32_t init_flags, server_flags;
	uint16_t mmio_mb, mmio_mb_optional;
	uint8_t target_vtl;
	bool passive;
	uint16_t latency;
	/* Failure status of the last driver callback that failed (opened, save, restore), so the
	 * control call that ran it can return the driver's own code. Control thread. */
	NTSTATUS cb_status;
	/* packet objects backing caller storage */
	pthread_mutex_t lock;
	struct kmcl_storage_entry *storage;
	uint32_t nstorage, storage_cap;
};

/** The shim of a channel, or NULL (bad handle, or the KMCL face never configured it). */
struct kmcl_shim *kmcl_shim(VMBCHANNEL ch);
/** The shim, created on first use (control thread). NULL for a bad handle or no memory. */
struct kmcl_shim *kmcl_shim_get(VMBCHANNEL ch);
/** Bytes of the client context area for this shim's configuration. */
uint32_t kmcl_ctx_bytes(uint32_t mdl_cap, uint32_t user_ctx);
/** Return (and clear) the status a failing driver callback recorded, or @p fallback. */
NTSTATUS kmcl_take_cb_status(VMBCHANNEL ch, NTSTATUS fallback);
/** Clear the recorded callback status before a control call that may run callbacks. */
void kmcl_clear_cb_status(VMBCHANNEL ch);

/** Native packet behind a handle (direct, or caller storage); NULL when invalid. */
struct vmb_packet *kmcl_packet(VMBPACKET h, bool *is_storage);
/** The handle the driver knows for a native packet (its storage, or the packet itself). */
VMBPACKET kmcl_handle_of(struct vmb_packet *p);

/** NTSTATUS of a native completion status (0, -ECANCELED, -EIO, -EMSGSIZE, ...). */
NTSTATUS kmcl_completion_status(int status);

/** true when @p ch is a valid channel in its init phase (Disabled). */
bool kmcl_in_init_phase(VMBCHANNEL ch);

#endif /* VMB_KMCL_PRIV_H */
