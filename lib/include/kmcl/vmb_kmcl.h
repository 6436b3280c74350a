/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_KMCL_H
#define VMB_KMCL_H

/**
 * @file
 * KMCL-compatible face of vmbchan: the names, types, flags, callback signatures and NTSTATUS
 * codes of Microsoft's VMBus Kernel-Mode Client Library (VmbusKernelModeClientLibApi.h), as a
 * thin layer over the native vmb_ API (vmb/vmb_channel.h, vmb/vmb_save.h). A VSP written against
 * KMCL compiles against this header with its logic unchanged; doc/kmcl.md has the whole mapping.
 *
 * Handles are the native objects: VMBCHANNEL is a struct vmb_channel *, VMBPACKET a
 * struct vmb_packet * (or caller storage prepared by VmbPacketInitialize()), VMBPACKETCOMPLETION
 * a struct vmb_rx *. A handle from this face may be passed to the native API and vice versa;
 * the KMCL callbacks are reached through a small per-channel shim (see doc/kmcl.md).
 *
 * Context rules (IRQL in user space):
 *  - "PASSIVE_LEVEL" = may block: state-change callbacks, save/restore callbacks, control calls
 *    (Allocate, Enable, Start, Pause, Disable, Cleanup, Init*, Save*, Restore*). Control calls
 *    come from one control thread and never from inside a callback.
 *  - "<= DISPATCH_LEVEL" = must not block: EvtChannelProcessPacket,
 *    EvtChannelProcessingComplete and packet completion routines run inside a poll pass (the
 *    thread that runs vmb_channel_poll() / a vmb_poller); VmbPacketSend*, VmbChannelPacket*
 *    may be called there or from any other thread.
 *
 * Status codes: every NTSTATUS function returns a documented code; a bad handle never crashes
 * (an Init* setter answers STATUS_INVALID_PARAMETER_1, every other NTSTATUS function
 * STATUS_INVALID_HANDLE, a VOID function does nothing). Beware the two "more" codes that are
 * not NT_SUCCESS(): STATUS_BUFFER_OVERFLOW (SaveContinue) and STATUS_MORE_PROCESSING_REQUIRED
 * (RestoreFromBuffer).
 *
 * Define VMBKMCL_NO_BASE_TYPES before including this header when the Windows base types
 * (NTSTATUS, ULONG, GUID, MDL, ...) come from elsewhere; they must then have the layouts below.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================== */
/* Windows base types (user-space stand-ins)                                                */
/* ======================================================================================== */

#ifndef VMBKMCL_NO_BASE_TYPES

#ifndef VOID
#define VOID void
#endif
#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

typedef int32_t NTSTATUS;          /**< Windows status code (see NT_SUCCESS). */
typedef uint32_t ULONG, *PULONG;   /**< 32 bits as on Windows (not the LP64 unsigned long). */
typedef uint16_t USHORT, *PUSHORT;
typedef uint64_t UINT64, *PUINT64;
typedef uint32_t UINT32, *PUINT32;
typedef uint16_t UINT16, *PUINT16;
typedef uint8_t UINT8, *PUINT8;
typedef uint8_t BOOLEAN;           /**< TRUE (1) / FALSE (0). */
typedef void *PVOID;
typedef void *HANDLE, **PHANDLE;
typedef uint64_t PFN_NUMBER, *PPFN_NUMBER; /**< Guest page frame number (4 KiB pages). */

/** 128-bit identifier; in memory (little endian) its 16 bytes are the VMBus wire order. */
typedef struct _GUID {
	uint32_t Data1;
	uint16_t Data2;
	uint16_t Data3;
	uint8_t Data4[8];
} GUID, *LPGUID;
typedef const GUID *LPCGUID;

/** 64-bit signed integer with 32-bit halves (KeWait timeouts). */
typedef union _LARGE_INTEGER {
	struct {
		uint32_t LowPart;
		int32_t HighPart;
	}; /* C11 anonymous member, as Windows' DUMMYSTRUCTNAME */
	struct {
		uint32_t LowPart;
		int32_t HighPart;
	} u;
	int64_t QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

/** Counted UTF-16 string; Length and MaximumLength in bytes, no terminator required. */
typedef struct _UNICODE_STRING {
	USHORT Length;
	USHORT MaximumLength;
	uint16_t *Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

/** Opaque: the parent device of a channel. Unused in user space (may be NULL). */
typedef struct _DEVICE_OBJECT DEVICE_OBJECT, *PDEVICE_OBJECT;

/**
 * Memory descriptor list. In user space an MDL stands for a byte range in guest physical
 * memory: ByteCount bytes starting ByteOffset (< 4096) bytes into the first of PageCount guest
 * pages Pages[0..PageCount). Next chains several ranges (an MDL chain = the external data of one
 * packet). There is no virtual address: read and write the bytes with VmbKmclMdlCopy().
 * Build one with VmbKmclMdlInitialize(); the caller owns the MDL and its page array.
 */
typedef struct _MDL {
	struct _MDL *Next;  /**< next range of the chain, or NULL */
	uint32_t ByteOffset; /**< offset into the first page, < 4096 */
	uint32_t ByteCount;  /**< bytes described */
	uint32_t PageCount;  /**< entries of Pages (at least the pages spanned) */
	uint32_t Reserved;   /**< zero */
	PFN_NUMBER *Pages;   /**< guest page numbers */
} MDL, *PMDL;

typedef VOID (*PINTERFACE_REFERENCE)(PVOID Context);
typedef VOID (*PINTERFACE_DEREFERENCE)(PVOID Context);

/** Header of every query-able interface table (as the WDM INTERFACE structure). */
typedef struct _INTERFACE {
	USHORT Size;                                /**< bytes of the whole table */
	USHORT Version;                             /**< interface version */
	PVOID Context;                              /**< NULL: the library has no per-table state */
	PINTERFACE_REFERENCE InterfaceReference;     /**< no-op (never NULL) */
	PINTERFACE_DEREFERENCE InterfaceDereference; /**< no-op (never NULL) */
} INTERFACE, *PINTERFACE;

#endif /* VMBKMCL_NO_BASE_TYPES */

/** Initializer for a UNICODE_STRING from a u"..." literal. */
#define VMBKMCL_CONSTANT_STRING(s)                                                              \
	{ (USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), (uint16_t *)(s) }

/* ======================================================================================== */
/* NTSTATUS                                                                                  */
/* ======================================================================================== */

#ifndef NT_SUCCESS
/** Success or informational severity (the top bit clear). */
#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)
#endif
#ifndef NT_INFORMATION
#define NT_INFORMATION(Status) ((((uint32_t)(Status)) >> 30) == 1)
#endif
#ifndef NT_WARNING
#define NT_WARNING(Status) ((((uint32_t)(Status)) >> 30) == 2)
#endif
#ifndef NT_ERROR
#define NT_ERROR(Status) ((((uint32_t)(Status)) >> 30) == 3)
#endif

/* Values of the Windows ntstatus.h. Each is guarded so a user's own definition wins. */
#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS ((NTSTATUS)0x00000000)
#endif
#ifndef STATUS_TIMEOUT
#define STATUS_TIMEOUT ((NTSTATUS)0x00000102) /* success severity: not an error */
#endif
#ifndef STATUS_PENDING
#define STATUS_PENDING ((NTSTATUS)0x00000103)
#endif
#ifndef STATUS_MORE_ENTRIES
#define STATUS_MORE_ENTRIES ((NTSTATUS)0x00000105) /* not used by KMCL */
#endif
#ifndef STATUS_BUFFER_OVERFLOW
#define STATUS_BUFFER_OVERFLOW ((NTSTATUS)0x80000005) /* warning: NT_SUCCESS() is false */
#endif
#ifndef STATUS_DEVICE_BUSY
#define STATUS_DEVICE_BUSY ((NTSTATUS)0x80000011) /* warning */
#endif
#ifndef STATUS_UNSUCCESSFUL
#define STATUS_UNSUCCESSFUL ((NTSTATUS)0xC0000001)
#endif
#ifndef STATUS_INVALID_HANDLE
#define STATUS_INVALID_HANDLE ((NTSTATUS)0xC0000008)
#endif
#ifndef STATUS_INVALID_PARAMETER
#define STATUS_INVALID_PARAMETER ((NTSTATUS)0xC000000D)
#endif
#ifndef STATUS_INVALID_DEVICE_REQUEST
#define STATUS_INVALID_DEVICE_REQUEST ((NTSTATUS)0xC0000010)
#endif
#ifndef STATUS_MORE_PROCESSING_REQUIRED
#define STATUS_MORE_PROCESSING_REQUIRED ((NTSTATUS)0xC0000016) /* error severity! */
#endif
#ifndef STATUS_NO_MEMORY
#define STATUS_NO_MEMORY ((NTSTATUS)0xC0000017)
#endif
#ifndef STATUS_BUFFER_TOO_SMALL
#define STATUS_BUFFER_TOO_SMALL ((NTSTATUS)0xC0000023)
#endif
#ifndef STATUS_OBJECT_TYPE_MISMATCH
#define STATUS_OBJECT_TYPE_MISMATCH ((NTSTATUS)0xC0000024)
#endif
#ifndef STATUS_DATA_ERROR
#define STATUS_DATA_ERROR ((NTSTATUS)0xC000003E)
#endif
#ifndef STATUS_CRC_ERROR
#define STATUS_CRC_ERROR ((NTSTATUS)0xC000003F)
#endif
#ifndef STATUS_REVISION_MISMATCH
#define STATUS_REVISION_MISMATCH ((NTSTATUS)0xC0000059)
#endif
#ifndef STATUS_INSUFFICIENT_RESOURCES
#define STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009A)
#endif
#ifndef STATUS_DEVICE_NOT_CONNECTED
#define STATUS_DEVICE_NOT_CONNECTED ((NTSTATUS)0xC000009D)
#endif
#ifndef STATUS_DEVICE_NOT_READY
#define STATUS_DEVICE_NOT_READY ((NTSTATUS)0xC00000A3)
#endif
#ifndef STATUS_IO_TIMEOUT
#define STATUS_IO_TIMEOUT ((NTSTATUS)0xC00000B5)
#endif
#ifndef STATUS_NOT_SUPPORTED
#define STATUS_NOT_SUPPORTED ((NTSTATUS)0xC00000BB)
#endif
#ifndef STATUS_INVALID_PARAMETER_1
#define STATUS_INVALID_PARAMETER_1 ((NTSTATUS)0xC00000EF)
#define STATUS_INVALID_PARAMETER_2 ((NTSTATUS)0xC00000F0)
#define STATUS_INVALID_PARAMETER_3 ((NTSTATUS)0xC00000F1)
#define STATUS_INVALID_PARAMETER_4 ((NTSTATUS)0xC00000F2)
#define STATUS_INVALID_PARAMETER_5 ((NTSTATUS)0xC00000F3)
#define STATUS_INVALID_PARAMETER_6 ((NTSTATUS)0xC00000F4)
#define STATUS_INVALID_PARAMETER_7 ((NTSTATUS)0xC00000F5)
#define STATUS_INVALID_PARAMETER_8 ((NTSTATUS)0xC00000F6)
#define STATUS_INVALID_PARAMETER_9 ((NTSTATUS)0xC00000F7)
#define STATUS_INVALID_PARAMETER_10 ((NTSTATUS)0xC00000F8)
#define STATUS_INVALID_PARAMETER_11 ((NTSTATUS)0xC00000F9)
#define STATUS_INVALID_PARAMETER_12 ((NTSTATUS)0xC00000FA)
#endif
#ifndef STATUS_CANCELLED
#define STATUS_CANCELLED ((NTSTATUS)0xC0000120)
#endif
#ifndef STATUS_INVALID_DEVICE_STATE
#define STATUS_INVALID_DEVICE_STATE ((NTSTATUS)0xC0000184)
#endif
#ifndef STATUS_INVALID_BUFFER_SIZE
#define STATUS_INVALID_BUFFER_SIZE ((NTSTATUS)0xC0000206)
#endif
#ifndef STATUS_NOT_FOUND
#define STATUS_NOT_FOUND ((NTSTATUS)0xC0000225)
#endif
#ifndef STATUS_DUPLICATE_OBJECTID
#define STATUS_DUPLICATE_OBJECTID ((NTSTATUS)0xC000022A)
#endif
#ifndef STATUS_DEVICE_REMOVED
#define STATUS_DEVICE_REMOVED ((NTSTATUS)0xC00002B6)
#endif
#ifndef STATUS_REQUEST_OUT_OF_SEQUENCE
#define STATUS_REQUEST_OUT_OF_SEQUENCE ((NTSTATUS)0xC000042A)
#endif

/* ======================================================================================== */
/* Handles, flags, limits                                                                   */
/* ======================================================================================== */

struct vmb_channel;
struct vmb_packet;
struct vmb_rx;

typedef struct vmb_channel *VMBCHANNEL;          /**< Channel end (native struct vmb_channel). */
typedef struct vmb_packet *VMBPACKET;            /**< Outgoing packet object (one transaction). */
typedef struct vmb_rx *VMBPACKETCOMPLETION;      /**< Incoming packet, retired by completion. */

/** Send flags (VmbPacketSend*, VmbChannelSendSynchronousRequest). */
#define VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION 0x1u /**< ends with the peer's completion */
#define VMBUS_CHANNEL_FORMAT_FLAG_FORCE_MDL_LENGTH 0x2u   /**< MdlLength may pass ByteCount */
#define VMBUS_CHANNEL_FORMAT_FLAG_PAGED_BUFFER 0x4u       /**< accepted; no meaning here */
#define VMBUS_CHANNEL_FORMAT_FLAGS 0x7u

/** GPADL flags. */
#define VMBUS_CHANNEL_GPADL_FLAG_READ_ONLY 0x1u
#define VMBUS_CHANNEL_GPADL_FLAGS 0x1u

/** VmbChannelInitSetFlags(). */
#define VMBUS_CHANNEL_INIT_FLAG_IS_PIPE 0x1u /**< pipe mode: STATUS_NOT_SUPPORTED here */
#define VMBUS_CHANNEL_INIT_FLAGS 0x1u

/** VmbServerChannelInitSetFlags(). */
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_LOOPBACK_OFFER 0x1u
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_ENUMERATE_DEVICE_INTERFACE 0x2u
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_OFFER_AS_PIPE 0x4u /**< STATUS_NOT_SUPPORTED here */
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_FORCE_NEW_CHANNEL 0x8u
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_TLNPI_PROVIDER_OFFER 0x10u
#define VMBUS_SERVER_CHANNEL_INIT_FLAGS 0x1Fu

/** EvtChannelProcessPacket Flags. */
#define VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA 0x1u
#define VMBUS_CHANNEL_PROCESS_PACKET_FLAGS 0x1u

/** VmbChannelPacketGetExternalData() Flags. */
#define VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY 0x1u
#define VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAGS 0x1u

/** Largest "extra data" of a channel offer (no setter in the public API). */
#define VMBUS_SERVER_CHANNEL_INIT_MAXIMUM_OFFER_DATA 120u

/** Version of VMB_CHANNEL_STATE_CHANGE_CALLBACKS set by VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT. */
#define VMB_CHANNEL_STATE_CHANGE_CALLBACKS_VERSION_1 1u

/** Limits of this implementation (Init* setters answer the parameter's INVALID_PARAMETER_n). */
#define VMBKMCL_MAX_CHAIN_LENGTH 1024u    /**< VmbChannelInitSetMaximumExternalData ChainLength */
#define VMBKMCL_MAX_CLIENT_CONTEXT 16384u /**< VmbChannelInitSetClientContextSize */
#define VMBKMCL_MAX_TARGET_VTL 2u         /**< VmbServerChannelInitSetTargetVtl */
#define VMBKMCL_PAGE_SIZE 4096u           /**< guest page size (PFN_NUMBER unit) */

/* ======================================================================================== */
/* Callbacks implemented by the driver                                                      */
/* ======================================================================================== */

/** The channel opened (PASSIVE: may block). Return a failure to roll the open back. */
typedef NTSTATUS EVT_VMB_CHANNEL_OPENED(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_OPENED *PFN_VMB_CHANNEL_OPENED;
/** The peer closed or rescinded, or Disable was called (PASSIVE). */
typedef VOID EVT_VMB_CHANNEL_CLOSED(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_CLOSED *PFN_VMB_CHANNEL_CLOSED;
/** Traffic stops: no more ProcessPacket until the next Started (PASSIVE). */
typedef VOID EVT_VMB_CHANNEL_SUSPEND(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_SUSPEND *PFN_VMB_CHANNEL_SUSPEND;
/** Open and not paused, before the incoming queue runs: may queue sends, not wait (PASSIVE). */
typedef VOID EVT_VMB_CHANNEL_STARTED(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_STARTED *PFN_VMB_CHANNEL_STARTED;
/** The incoming queue runs: synchronous negotiation is allowed here (PASSIVE). */
typedef VOID EVT_VMB_CHANNEL_POST_STARTED(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_POST_STARTED *PFN_VMB_CHANNEL_POST_STARTED;

/** One incoming packet (must not block). @p Buffer is the payload only (in the peer's shared
 *  ring: read it once, never write it), valid until the packet is completed with
 *  VmbChannelPacketComplete(); @p BufferLength is a multiple of 8 (VMBus carries no finer
 *  length: the sender's padding is included); @p Flags VMBUS_CHANNEL_PROCESS_PACKET_FLAG_*. */
typedef VOID EVT_VMB_CHANNEL_PROCESS_PACKET(VMBCHANNEL Channel, VMBPACKETCOMPLETION Packet,
					    PVOID Buffer, UINT32 BufferLength, UINT32 Flags);
typedef EVT_VMB_CHANNEL_PROCESS_PACKET *PFN_VMB_CHANNEL_PROCESS_PACKET;
/** End of a batch of indications (must not block). */
typedef VOID EVT_VMB_CHANNEL_PROCESSING_COMPLETE(VMBCHANNEL Channel, UINT32 PacketsProcessed);
typedef EVT_VMB_CHANNEL_PROCESSING_COMPLETE *PFN_VMB_CHANNEL_PROCESSING_COMPLETE;
/** An outgoing transaction retired (must not block). @p Status STATUS_SUCCESS,
 *  STATUS_CANCELLED (disabled or closed), STATUS_DEVICE_REMOVED (channel stopped by a corrupt
 *  peer) or STATUS_INVALID_BUFFER_SIZE (message too large for the ring); @p Buffer the peer's
 *  completion payload (NULL/0 if none; length a multiple of 8), valid during the call only.
 *  The routine owns the packet again: free it, reuse it, or leave it for later. */
typedef VOID EVT_VMB_PACKET_COMPLETION_ROUTINE(VMBPACKET Packet, NTSTATUS Status, PVOID Buffer,
					       UINT32 BufferLength);
typedef EVT_VMB_PACKET_COMPLETION_ROUTINE *PFN_VMB_PACKET_COMPLETION_ROUTINE;
/** Save one pending packet's VSP state (PASSIVE). First call SaveBufSize 0: return
 *  STATUS_SUCCESS with *BytesNeeded 0 when there is nothing to save, else
 *  STATUS_BUFFER_TOO_SMALL with *BytesNeeded set; then a second call with a buffer of that size:
 *  fill it, set *BytesNeeded to the bytes written (optional) and return STATUS_SUCCESS. */
typedef NTSTATUS EVT_VMB_CHANNEL_SAVE_PACKET(VMBCHANNEL Channel, VMBPACKET Packet, PVOID SaveBuf,
					     UINT32 SaveBufSize, PUINT32 BytesNeeded);
typedef EVT_VMB_CHANNEL_SAVE_PACKET *PFN_VMB_CHANNEL_SAVE_PACKET;
/** Re-create one saved packet (PASSIVE): VmbPacketAllocate(), VmbPacketRestore(LibBuf), set the
 *  completion routine and pointer again, rebuild the VSP state from SaveBuf. Both buffers are
 *  read-only and valid during the call only. */
typedef NTSTATUS EVT_VMB_CHANNEL_RESTORE_PACKET(VMBCHANNEL Channel, PVOID LibBuf, UINT32 LibBufSize,
						PVOID SaveBuf, UINT32 SaveBufSize);
typedef EVT_VMB_CHANNEL_RESTORE_PACKET *PFN_VMB_CHANNEL_RESTORE_PACKET;
/** Asynchronous connect failure of a client (PASSIVE). Never called here (no PnP). */
typedef VOID EVT_VMB_CHANNEL_PNP_FAILURE(VMBCHANNEL Channel, NTSTATUS FailureStatus);
typedef EVT_VMB_CHANNEL_PNP_FAILURE *PFN_VMB_CHANNEL_PNP_FAILURE;

/** State-change callbacks; every member optional (NULL: the driver has no handler for it). */
typedef struct _VMB_CHANNEL_STATE_CHANGE_CALLBACKS {
	ULONG Version; /**< VMB_CHANNEL_STATE_CHANGE_CALLBACKS_VERSION_1 */
	ULONG Size;    /**< sizeof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS) */
	PFN_VMB_CHANNEL_OPENED EvtChannelOpened;
	PFN_VMB_CHANNEL_CLOSED EvtChannelClosed;
	PFN_VMB_CHANNEL_SUSPEND EvtChannelSuspend;
	PFN_VMB_CHANNEL_STARTED EvtChannelStarted;
	PFN_VMB_CHANNEL_POST_STARTED EvtChannelPostStarted;
} VMB_CHANNEL_STATE_CHANGE_CALLBACKS, *PVMB_CHANNEL_STATE_CHANGE_CALLBACKS;

/** Zero @p Callbacks and set Version 1 and Size. */
static inline void
VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(PVMB_CHANNEL_STATE_CHANGE_CALLBACKS Callbacks)
{
	Callbacks->Version = VMB_CHANNEL_STATE_CHANGE_CALLBACKS_VERSION_1;
	Callbacks->Size = (ULONG)sizeof(*Callbacks);
	Callbacks->EvtChannelOpened = NULL;
	Callbacks->EvtChannelClosed = NULL;
	Callbacks->EvtChannelSuspend = NULL;
	Callbacks->EvtChannelStarted = NULL;
	Callbacks->EvtChannelPostStarted = NULL;
}

/* ======================================================================================== */
/* Channel creation and teardown (control thread, may block)                                */
/* ======================================================================================== */

/**
 * Allocate a channel end in the Disabled (init) state with default configuration.
 * @param ParentDeviceObject unused in user space (may be NULL)
 * @param IsServer TRUE for the host (VSP) end, FALSE for the guest end
 * @param Channel receives the handle; free it with VmbChannelCleanup()
 * @return STATUS_SUCCESS; STATUS_INVALID_PARAMETER_3 (Channel NULL);
 *         STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS VmbChannelAllocate(PDEVICE_OBJECT ParentDeviceObject, BOOLEAN IsServer,
			    VMBCHANNEL *Channel);
/** Free a Disabled channel (never enabled, or after VmbChannelDisable()) with its idle packet
 *  objects and its KMCL shim. Ignored on a bad handle or a channel that is not Disabled. */
VOID VmbChannelCleanup(VMBCHANNEL Channel);
/**
 * Enable: Disabled -> Enabled. Returns at once; the transport opens the channel later (or
 * during this call, when the peer is already waiting: EvtChannelOpened then runs inside it).
 * @return STATUS_SUCCESS; STATUS_INVALID_HANDLE; STATUS_INVALID_DEVICE_STATE (not Disabled, no
 *         process-packet callback, or a restore is half done); STATUS_INSUFFICIENT_RESOURCES;
 *         the EvtChannelOpened failure when the open ran inside this call; a transport error
 *         (e.g. STATUS_DEVICE_NOT_CONNECTED).
 */
NTSTATUS VmbChannelEnable(VMBCHANNEL Channel);
/** Disable: Suspend (if running), wait for outstanding incoming completions, cancel pending
 *  outgoing packets (STATUS_CANCELLED), Closed, -> Disabled. Blocks. Ignored on a bad handle or
 *  a channel already Disabled. */
VOID VmbChannelDisable(VMBCHANNEL Channel);
/** Leave the paused state (mandatory on a server; implicit on a client). If open:
 *  EvtChannelStarted, the incoming queue runs, EvtChannelPostStarted. Not from callbacks.
 *  Ignored on a bad handle or a Disabled channel. */
VOID VmbChannelStart(VMBCHANNEL Channel);
/** Quiesce: EvtChannelSuspend, then wait until every indicated packet has been completed.
 *  Blocks. On a Disabled channel: come up paused at the next Enable. Not from callbacks. */
VOID VmbChannelPause(VMBCHANNEL Channel);

/* ======================================================================================== */
/* Init-phase configuration (Disabled channel, control thread)                              */
/* Every setter: STATUS_INVALID_PARAMETER_1 for a bad handle, a channel past its init phase  */
/* (Enabled or later; sizes also once a packet was allocated) or of the wrong side.          */
/* ======================================================================================== */

/** Largest inline message. @return STATUS_SUCCESS; INVALID_PARAMETER_1; INVALID_PARAMETER_2
 *  (0 or above 1 MiB). */
NTSTATUS VmbChannelInitSetMaximumPacketSize(VMBCHANNEL Channel, UINT32 PacketSize);
/** Largest external-data buffer and longest MDL chain of one packet. @return STATUS_SUCCESS;
 *  INVALID_PARAMETER_1; INVALID_PARAMETER_2 (DataSize 0 or above 1 GiB); INVALID_PARAMETER_3
 *  (ChainLength 0 or above VMBKMCL_MAX_CHAIN_LENGTH). */
NTSTATUS VmbChannelInitSetMaximumExternalData(VMBCHANNEL Channel, UINT32 DataSize,
					      UINT32 ChainLength);
/** Per-incoming-packet context bytes (VmbKmclPacketGetClientContext()). @return STATUS_SUCCESS;
 *  INVALID_PARAMETER_1; INVALID_PARAMETER_2 (above VMBKMCL_MAX_CLIENT_CONTEXT). */
NTSTATUS VmbChannelInitSetClientContextSize(VMBCHANNEL Channel, UINT32 ContextSize);
/** Incoming-packet callbacks (ProcessPacketCallback required). @return STATUS_SUCCESS;
 *  INVALID_PARAMETER_1; INVALID_PARAMETER_2 (ProcessPacketCallback NULL). */
NTSTATUS VmbChannelInitSetProcessPacketCallbacks(
	VMBCHANNEL Channel, PFN_VMB_CHANNEL_PROCESS_PACKET ProcessPacketCallback,
	PFN_VMB_CHANNEL_PROCESSING_COMPLETE ProcessingCompleteCallback);
/** State-change callbacks (copied). @return STATUS_SUCCESS; INVALID_PARAMETER_1;
 *  INVALID_PARAMETER_2 (NULL, or Version/Size not those of the _INIT helper). */
NTSTATUS VmbChannelInitSetStateChangeCallbacks(
	VMBCHANNEL Channel, PVMB_CHANNEL_STATE_CHANGE_CALLBACKS StateChangeCallbacks);
/** Friendly name for diagnostics (UTF-16, converted to UTF-8, truncated to 63 bytes).
 *  @return STATUS_SUCCESS; INVALID_PARAMETER_1; INVALID_PARAMETER_2 (NULL, odd Length, or
 *  Buffer NULL with Length > 0). */
NTSTATUS VmbChannelInitSetFriendlyName(VMBCHANNEL Channel, PCUNICODE_STRING Name);
/** VMBUS_CHANNEL_INIT_FLAG_*. @return STATUS_SUCCESS; INVALID_PARAMETER_1; INVALID_PARAMETER_2
 *  (bits outside VMBUS_CHANNEL_INIT_FLAGS); STATUS_NOT_SUPPORTED (IS_PIPE: no pipe mode). */
NTSTATUS VmbChannelInitSetFlags(VMBCHANNEL Channel, UINT32 Flags);

/** Client only: ring sizes in pages, control page included. @return STATUS_SUCCESS;
 *  INVALID_PARAMETER_1 (also a server channel); INVALID_PARAMETER_2 / _3 (below 2 or above
 *  2^19 pages). */
NTSTATUS VmbClientChannelInitSetRingBufferPageCount(VMBCHANNEL Channel, UINT32 IncomingPageCount,
						    UINT32 OutgoingPageCount);
/** Client only: the interface type (required) and instance (NULL = any) to open.
 *  PnpFailureCallback is stored but never called (no PnP in user space). @return
 *  STATUS_SUCCESS; INVALID_PARAMETER_1 (also a server channel); INVALID_PARAMETER_2 (NULL). */
NTSTATUS VmbClientChannelInitSetTargetPnp(VMBCHANNEL Channel, LPCGUID InterfaceType,
					  LPCGUID InterfaceInstance,
					  PFN_VMB_CHANNEL_PNP_FAILURE PnpFailureCallback);

/** Server only: VMBUS_SERVER_CHANNEL_INIT_FLAG_* (recorded; LOOPBACK_OFFER,
 *  ENUMERATE_DEVICE_INTERFACE, FORCE_NEW_CHANNEL and TLNPI_PROVIDER_OFFER have no effect here).
 *  @return STATUS_SUCCESS; INVALID_PARAMETER_1 (also a client channel); INVALID_PARAMETER_2
 *  (bits outside 0x1F); STATUS_NOT_SUPPORTED (OFFER_AS_PIPE). */
NTSTATUS VmbServerChannelInitSetFlags(VMBCHANNEL Channel, UINT32 Flags);
/** Server only: MMIO space to reserve in the guest (recorded; there is no MMIO here, see
 *  VmbChannelGetMmioSpace()). @return STATUS_SUCCESS; INVALID_PARAMETER_1;
 *  STATUS_INVALID_PARAMETER (both 0). */
NTSTATUS VmbServerChannelInitSetMmioMegabytes(VMBCHANNEL Channel, UINT16 MmioMegabytes,
					      UINT16 MmioMegabytesOptional);
/** Server only: the interface type and instance offered (GUIDs by value). A restore checks
 *  that the stream was saved from a channel of the same interface. @return STATUS_SUCCESS;
 *  INVALID_PARAMETER_1. */
NTSTATUS VmbServerChannelInitSetTargetInterfaceId(VMBCHANNEL Channel, GUID InterfaceType,
						  GUID InterfaceInstance);
/**
 * Server only: the packet save and restore callbacks used by VmbChannelSaveContinue() and
 * VmbChannelRestoreFromBuffer(). Both are required.
 * @return STATUS_SUCCESS; INVALID_PARAMETER_1 (bad handle, past the init phase, or a client
 *         channel); INVALID_PARAMETER_2 (SavePacketCallback NULL); INVALID_PARAMETER_3
 *         (RestorePacketCallback NULL).
 */
NTSTATUS VmbServerChannelInitSetSaveRestorePacketCallbacks(
	VMBCHANNEL Channel, PFN_VMB_CHANNEL_SAVE_PACKET SavePacketCallback,
	PFN_VMB_CHANNEL_RESTORE_PACKET RestorePacketCallback);
/** Server only: VMBus handle of the VM worker process. No such handle exists in user space.
 *  @return INVALID_PARAMETER_1 (bad handle or not init phase or client); otherwise
 *  STATUS_NOT_SUPPORTED. */
NTSTATUS VmbServerChannelInitSetVmbusHandle(VMBCHANNEL Channel, HANDLE VmbusHandle);
/** Server only: offer only to guests running in this VTL (recorded; no effect).
 *  @return STATUS_SUCCESS; INVALID_PARAMETER_1; INVALID_PARAMETER_2 (above
 *  VMBKMCL_MAX_TARGET_VTL). */
NTSTATUS VmbServerChannelInitSetTargetVtl(VMBCHANNEL Channel, UINT8 TargetVtl);
/** No VMBus handles in user space: *KernelHandle (if given) is set to NULL.
 *  @return STATUS_NOT_SUPPORTED. */
NTSTATUS VmbConvertVmbusHandleToKernelHandle(HANDLE VmbusHandle, PHANDLE KernelHandle);

/* ======================================================================================== */
/* Runtime channel utilities                                                                 */
/* ======================================================================================== */

/** Store the driver's channel pointer (independent of the KMCL shim). Any time. */
VOID VmbChannelSetPointer(VMBCHANNEL Channel, PVOID Pointer);
/** The pointer stored by VmbChannelSetPointer(), or NULL (also for a bad handle). */
PVOID VmbChannelGetPointer(VMBCHANNEL Channel);
/** Interface instance GUID of the channel (zero when unset or a bad handle). */
VOID VmbChannelGetInterfaceInstance(VMBCHANNEL Channel, LPGUID InterfaceInstance);
/** No MMIO space exists for a user-space channel: writes 0 to both outputs (each optional). */
VOID VmbChannelGetMmioSpace(VMBCHANNEL Channel, UINT64 *MmioAddress, UINT64 *MmioSize);
/** Record the interrupt latency (100 ns units) while the channel is open; *OriginalLatency
 *  gets the previous value (0 initially). Signalling is not affected (the transport's eventfds
 *  have no moderation). @return STATUS_SUCCESS; STATUS_INVALID_HANDLE;
 *  STATUS_INVALID_PARAMETER_3 (OriginalLatency NULL); STATUS_INVALID_DEVICE_STATE (not open). */
NTSTATUS VmbChannelSetInterruptLatency(VMBCHANNEL Channel, UINT16 Latency,
				       PUINT16 OriginalLatency);
/** Recorded only: every callback context may block in user space (a blocking ProcessPacket
 *  stalls its poll thread, nothing worse). */
VOID VmbChannelSetIncomingProcessingAtPassive(VMBCHANNEL Channel, BOOLEAN RequirePassive);
/** Cap on indicated-but-uncompleted incoming packets (clamped to the token capacity). Quota 0
 *  and bad handles are ignored. Any thread. */
VOID VmbChannelSetTransactionQuota(VMBCHANNEL Channel, UINT32 Quota);
/** Bytes of caller storage VmbPacketInitialize() needs (MaximumPacketSize + 16, rounded up to
 *  8); 0 for a bad handle. */
UINT32 VmbChannelSizeofPacket(VMBCHANNEL Channel);

/* ======================================================================================== */
/* Outgoing packet objects                                                                   */
/* ======================================================================================== */

/** Allocate a packet object (control path; reuse packets on the data path). Its default
 *  completion routine frees it. @return the packet, or NULL (bad channel, capacity, memory). */
VMBPACKET VmbPacketAllocate(VMBCHANNEL Channel);
/**
 * Prepare caller storage of @p ByteCount bytes as a packet object; the storage address is the
 * handle. The storage records a library-owned object (re-initializing the same storage reuses
 * it); free it early with VmbPacketFree(), else it lives until VmbChannelCleanup(). A
 * completion routine must be set before the first send.
 * @return STATUS_SUCCESS; STATUS_INVALID_PARAMETER_1 (bad channel); INVALID_PARAMETER_2
 *         (NULL storage); INVALID_PARAMETER_3 (ByteCount below VmbChannelSizeofPacket());
 *         STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS VmbPacketInitialize(VMBCHANNEL Channel, VMBPACKET VmbPacket, UINT32 ByteCount);
/** Free a packet that is not pending (never sent, or retired). Ignored on a bad handle or a
 *  pending packet. */
VOID VmbPacketFree(VMBPACKET VmbPacket);
/** Store the driver's per-packet pointer (kept across sends; not saved). */
VOID VmbPacketSetPointer(VMBPACKET PacketObject, PVOID Pointer);
/** The per-packet pointer, or NULL. */
PVOID VmbPacketGetPointer(VMBPACKET PacketObject);
/** The owning channel, or NULL. */
VMBCHANNEL VmbPacketGetChannel(VMBPACKET PacketObject);
/** Completion routine for the next transactions; NULL restores the default (free the packet;
 *  for VmbPacketInitialize() storage: none, sending is refused). Set it while the packet is idle. */
VOID VmbPacketSetCompletionRoutine(VMBPACKET PacketObject,
				   PFN_VMB_PACKET_COMPLETION_ROUTINE CompletionRoutine);
/**
 * Send: @p Buffer inline, plus @p ExternalDataMdl (optional chain, one GPA range per MDL,
 * needs WAIT_FOR_COMPLETION). The message is copied if it must wait; queued when the ring is
 * full or the channel not running; never fails for lack of ring space. Any thread.
 * @return STATUS_SUCCESS; STATUS_INVALID_HANDLE; STATUS_INVALID_PARAMETER_1 (storage packet
 *         without completion routine); INVALID_PARAMETER_2 (Buffer NULL with length);
 *         INVALID_PARAMETER_4 (malformed MDL: ByteOffset >= 4096, PageCount below the pages
 *         spanned, Pages NULL, or a chain longer than 65536); INVALID_PARAMETER_5 (unknown
 *         flags, or an MDL without WAIT_FOR_COMPLETION); STATUS_INVALID_PARAMETER (longer than
 *         the maximum packet size, over the external-data limits of
 *         VmbChannelInitSetMaximumExternalData()); STATUS_INVALID_DEVICE_STATE (channel Disabled);
 *         STATUS_DEVICE_BUSY (packet still pending); STATUS_DEVICE_REMOVED (channel stopped
 *         by a corrupt peer).
 */
NTSTATUS VmbPacketSend(VMBPACKET PacketObject, PVOID Buffer, UINT32 BufferLength,
		       PMDL ExternalDataMdl, UINT32 Flags);
/** VmbPacketSend() with a byte window of the MDL chain: @p MdlOffset bytes skipped,
 *  @p MdlLength bytes used (0 = to the end); FORCE_MDL_LENGTH uses the first MDL only, up to the
 *  end of its last page. @return as VmbPacketSend(); INVALID_PARAMETER_4 (no or malformed MDL),
 *  _5 (MdlOffset outside the chain), _6 (MdlLength past its end), _7 (unknown flags or
 *  WAIT_FOR_COMPLETION missing). */
NTSTATUS VmbPacketSendWithExternalMdl(VMBPACKET PacketObject, PVOID Buffer, UINT32 BufferLength,
				      PMDL ExternalDataMdl, UINT32 MdlOffset, UINT32 MdlLength,
				      UINT32 Flags);
/** VmbPacketSend() with @p PfnLength whole guest pages as one range. @return as
 *  VmbPacketSend(); INVALID_PARAMETER_4 / _5 (no pages), _6 (unknown flags or
 *  WAIT_FOR_COMPLETION missing). */
NTSTATUS VmbPacketSendWithExternalPfns(VMBPACKET PacketObject, PVOID Buffer, UINT32 BufferLength,
				       PPFN_NUMBER ExternalDataPfns, UINT32 PfnLength, UINT32 Flags);
/**
 * Send one request and wait for its completion (blocks unless *Timeout is 0). The caller's
 * thread polls the channel itself when no poller holds it.
 * @param Timeout KeWait convention, 100 ns units: NULL = forever; negative = relative;
 *        positive = absolute (100 ns since 1601-01-01 UTC); 0 = do not queue: if the message
 *        does not fit in the ring now, STATUS_BUFFER_OVERFLOW.
 * @param CompletionBufferSize in: capacity of CompletionBuffer (a multiple of 8); out: bytes
 *        of the peer's completion payload copied (truncated to the capacity).
 * @return STATUS_SUCCESS; STATUS_INVALID_HANDLE; STATUS_BUFFER_OVERFLOW; STATUS_CANCELLED (the
 *         timeout expired: the request was abandoned); STATUS_DEVICE_REMOVED (the channel closed
 *         or stopped); STATUS_INVALID_PARAMETER_2 / _4 / _5 / _6 / _7 (Buffer, MDL, flags,
 *         CompletionBuffer NULL with a capacity, capacity not a multiple of 8);
 *         STATUS_INVALID_PARAMETER; STATUS_INVALID_DEVICE_STATE (Disabled);
 *         STATUS_INSUFFICIENT_RESOURCES (no packet object).
 */
NTSTATUS VmbChannelSendSynchronousRequest(VMBCHANNEL Channel, PVOID Buffer, UINT32 BufferSize,
					  PMDL ExternalDataMdl, UINT32 Flags,
					  PVOID CompletionBuffer, PUINT32 CompletionBufferSize,
					  PLARGE_INTEGER Timeout);

/* ======================================================================================== */
/* Incoming packets                                                                          */
/* ======================================================================================== */

/** Complete an indicated packet exactly once (inline or later, any thread); if the sender
 *  asked for a completion, a completion packet carrying the buffer (at most 256 bytes by
 *  default) is sent. A second completion, a bad handle or an oversized buffer is ignored. */
VOID VmbChannelPacketComplete(VMBPACKETCOMPLETION PacketCompletionContext,
			      PVOID PacketCompletionBuffer, UINT32 BufSize);
/** Only inline from EvtChannelProcessPacket: deliver this packet again on the next pass. */
VOID VmbChannelPacketDeferToPassive(VMBPACKETCOMPLETION PacketCompletionContext);
/** The packet is malformed: stop the channel's incoming queue and consume the packet (a later
 *  VmbChannelPacketComplete() is harmless). */
VOID VmbChannelPacketFail(VMBPACKETCOMPLETION PacketCompletionContext);
/**
 * The external data of an incoming GPA-direct packet as an MDL chain (one MDL per range), owned
 * by the library and valid until the packet is completed. Guest memory is always resident: never
 * STATUS_PENDING. READ_ONLY is accepted (no mapping is made).
 * @return STATUS_SUCCESS; STATUS_INVALID_HANDLE; STATUS_INVALID_PARAMETER_2 (unknown flags);
 *         INVALID_PARAMETER_3 (Mdl NULL); STATUS_NOT_FOUND (no external data);
 *         STATUS_NOT_SUPPORTED (transfer-page packet); STATUS_INSUFFICIENT_RESOURCES (channel
 *         not allocated by VmbChannelAllocate, or chain longer than configured).
 */
NTSTATUS VmbChannelPacketGetExternalData(VMBPACKETCOMPLETION PacketCompletionContext, UINT32 Flags,
					 PMDL *Mdl);

/* ======================================================================================== */
/* GPADLs: not supported (the native layer has no per-channel GPADL facility yet)            */
/* ======================================================================================== */

/** @return STATUS_INVALID_HANDLE (bad channel) or STATUS_NOT_SUPPORTED; *GpadlHandle = 0. */
NTSTATUS VmbChannelCreateGpadlFromMdl(VMBCHANNEL Channel, UINT32 Flags, PMDL Mdl,
				      UINT32 StartOffsetWithinMdl, UINT32 DataLengthWithinMdl,
				      PUINT32 GpadlHandle);
/** @return STATUS_INVALID_HANDLE (bad channel) or STATUS_NOT_SUPPORTED; *GpadlHandle = 0. */
NTSTATUS VmbChannelCreateGpadlFromBuffer(VMBCHANNEL Channel, UINT32 Flags, PVOID Buffer,
					 UINT32 ByteCount, PUINT32 GpadlHandle);
/** No-op (no GPADL can exist). */
VOID VmbChannelDeleteGpadl(VMBCHANNEL Channel, UINT32 GpadlHandle);
/** Server only. @return STATUS_INVALID_HANDLE or STATUS_NOT_SUPPORTED; *Mdl = NULL. */
NTSTATUS VmbChannelMapGpadl(VMBCHANNEL Channel, UINT32 Flags, UINT32 GpadlHandle, PMDL *Mdl);
/** No-op. */
VOID VmbChannelUnmapGpadl(VMBCHANNEL Channel, UINT32 GpadlHandle);

/* ======================================================================================== */
/* Save / restore (server only, control thread, may block)                                   */
/* ======================================================================================== */

/**
 * Start a save of a paused server channel (Enabled/open/closed, after VmbChannelPause()).
 * @return STATUS_SUCCESS; STATUS_INVALID_HANDLE; STATUS_INVALID_DEVICE_REQUEST (client);
 *         STATUS_INVALID_DEVICE_STATE (Disabled; running: pause first; or packets are pending
 *         and no save/restore callbacks are set); STATUS_DEVICE_BUSY (a save is in progress);
 *         STATUS_INSUFFICIENT_RESOURCES.
 */
NTSTATUS VmbChannelSaveBegin(VMBCHANNEL Channel);
/**
 * Write the next chunk of the save stream into @p SaveBuffer. Keep chunk boundaries: restore
 * takes whole chunks. The packet save callback runs inside this call.
 * @param BytesFilled bytes of this chunk (valid with SUCCESS and BUFFER_OVERFLOW)
 * @param BytesRequired smallest buffer that makes progress on the next call
 * @return STATUS_SUCCESS (last chunk written); STATUS_BUFFER_OVERFLOW (a chunk was written,
 *         more follows; NOT NT_SUCCESS); STATUS_BUFFER_TOO_SMALL (nothing written: retry with
 *         BytesRequired); STATUS_INVALID_HANDLE; STATUS_INVALID_PARAMETER_2 / _4 / _5 (NULL
 *         pointers); STATUS_INVALID_DEVICE_STATE (no save in progress, already complete, or
 *         failed earlier); the save callback's failure status (the save is then failed: call
 *         VmbChannelSaveEnd(); a callback status that would read as SUCCESS / OVERFLOW /
 *         TOO_SMALL is reported as STATUS_UNSUCCESSFUL); STATUS_DATA_ERROR (the callback broke
 *         the size negotiation).
 */
NTSTATUS VmbChannelSaveContinue(VMBCHANNEL Channel, PVOID SaveBuffer, ULONG SaveBufferSize,
				PULONG BytesFilled, PULONG BytesRequired);
/** End the save (after success or failure). After a complete save the channel no longer writes
 *  to the rings (its state lives in the stream) until VmbChannelStart(). */
VOID VmbChannelSaveEnd(VMBCHANNEL Channel);
/**
 * Restore one whole chunk, in order, into a freshly allocated and configured server channel
 * (save/restore callbacks set) before VmbChannelEnable(). The stream is applied when the last
 * chunk arrives: the restore callback runs once per saved packet inside that call.
 * @return STATUS_SUCCESS (last chunk: restored); STATUS_MORE_PROCESSING_REQUIRED (chunk
 *         accepted, more expected; NOT NT_SUCCESS); STATUS_INVALID_HANDLE;
 *         STATUS_INVALID_PARAMETER_2 (Buffer NULL); STATUS_INVALID_DEVICE_REQUEST (client);
 *         STATUS_INVALID_DEVICE_STATE (not a fresh Disabled server channel, or the stream
 *         holds packets and no restore callback is set);
 *         STATUS_DATA_ERROR (not a save chunk, malformed); STATUS_INVALID_BUFFER_SIZE
 *         (truncated or padded chunk); STATUS_CRC_ERROR (checksum mismatch);
 *         STATUS_REQUEST_OUT_OF_SEQUENCE (out of order, duplicated, first chunk missing);
 *         STATUS_OBJECT_TYPE_MISMATCH (chunk of another stream, or of a channel of another
 *         interface); STATUS_REVISION_MISMATCH (future format version or unknown critical
 *         record); the restore callback's failure status (MORE_PROCESSING_REQUIRED from it is
 *         reported as STATUS_UNSUCCESSFUL); STATUS_INSUFFICIENT_RESOURCES. On failure the
 *         channel is as before the call (a failing last chunk undoes the whole restore).
 */
NTSTATUS VmbChannelRestoreFromBuffer(VMBCHANNEL Channel, PVOID Buffer, ULONG BufferSize);
/**
 * Re-create a packet from the LibBuf handed to the restore callback (only from inside it, on a
 * packet fresh from VmbPacketAllocate(); the library owns it again, as after a send).
 * @return STATUS_SUCCESS; STATUS_INVALID_HANDLE; STATUS_INVALID_DEVICE_STATE (not inside a
 *         restore callback, a second packet in the same callback, or packet not idle);
 *         STATUS_DATA_ERROR (malformed); STATUS_DUPLICATE_OBJECTID (transaction already
 *         restored).
 */
NTSTATUS VmbPacketRestore(VMBPACKET PacketObject, PVOID Buffer, ULONG BufferSize);

/* ======================================================================================== */
/* Function-pointer tables                                                                   */
/* ======================================================================================== */

typedef NTSTATUS FN_VMB_CHANNEL_ALLOCATE(PDEVICE_OBJECT, BOOLEAN, VMBCHANNEL *);
typedef VOID FN_VMB_CHANNEL_CLEANUP(VMBCHANNEL);
typedef NTSTATUS FN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER(VMBCHANNEL, UINT32, PVOID, UINT32, PUINT32);
typedef NTSTATUS FN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL(VMBCHANNEL, UINT32, PMDL, UINT32, UINT32,
						      PUINT32);
typedef VOID FN_VMB_CHANNEL_DELETE_GPADL(VMBCHANNEL, UINT32);
typedef VOID FN_VMB_CHANNEL_DISABLE(VMBCHANNEL);
typedef NTSTATUS FN_VMB_CHANNEL_ENABLE(VMBCHANNEL);
typedef VOID FN_VMB_CHANNEL_GET_INTERFACE_INSTANCE(VMBCHANNEL, LPGUID);
typedef VOID FN_VMB_CHANNEL_GET_MMIO_SPACE(VMBCHANNEL, UINT64 *, UINT64 *);
typedef PVOID FN_VMB_CHANNEL_GET_POINTER(VMBCHANNEL);
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE(VMBCHANNEL, UINT32);
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_FLAGS(VMBCHANNEL, UINT32);
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME(VMBCHANNEL, PCUNICODE_STRING);
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA(VMBCHANNEL, UINT32, UINT32);
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE(VMBCHANNEL, UINT32);
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS(
	VMBCHANNEL, PFN_VMB_CHANNEL_PROCESS_PACKET, PFN_VMB_CHANNEL_PROCESSING_COMPLETE);
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS(
	VMBCHANNEL, PVMB_CHANNEL_STATE_CHANGE_CALLBACKS);
typedef VOID FN_VMB_CHANNEL_PACKET_COMPLETE(VMBPACKETCOMPLETION, PVOID, UINT32);
typedef VOID FN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE(VMBPACKETCOMPLETION);
typedef VOID FN_VMB_CHANNEL_PACKET_FAIL(VMBPACKETCOMPLETION);
typedef NTSTATUS FN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA(VMBPACKETCOMPLETION, UINT32, PMDL *);
typedef VOID FN_VMB_CHANNEL_PAUSE(VMBCHANNEL);
typedef NTSTATUS FN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST(VMBCHANNEL, PVOID, UINT32, PMDL, UINT32,
							 PVOID, PUINT32, PLARGE_INTEGER);
typedef VOID FN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE(VMBCHANNEL, BOOLEAN);
typedef NTSTATUS FN_VMB_CHANNEL_SET_INTERRUPT_LATENCY(VMBCHANNEL, UINT16, PUINT16);
typedef VOID FN_VMB_CHANNEL_SET_POINTER(VMBCHANNEL, PVOID);
typedef VOID FN_VMB_CHANNEL_SET_TRANSACTION_QUOTA(VMBCHANNEL, UINT32);
typedef UINT32 FN_VMB_CHANNEL_SIZEOF_PACKET(VMBCHANNEL);
typedef VOID FN_VMB_CHANNEL_START(VMBCHANNEL);
typedef NTSTATUS FN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT(VMBCHANNEL, UINT32, UINT32);
typedef NTSTATUS FN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP(VMBCHANNEL, LPCGUID, LPCGUID,
							   PFN_VMB_CHANNEL_PNP_FAILURE);
typedef VMBPACKET FN_VMB_PACKET_ALLOCATE(VMBCHANNEL);
typedef VOID FN_VMB_PACKET_FREE(VMBPACKET);
typedef VMBCHANNEL FN_VMB_PACKET_GET_CHANNEL(VMBPACKET);
typedef PVOID FN_VMB_PACKET_GET_POINTER(VMBPACKET);
typedef NTSTATUS FN_VMB_PACKET_INITIALIZE(VMBCHANNEL, VMBPACKET, UINT32);
typedef NTSTATUS FN_VMB_PACKET_SEND(VMBPACKET, PVOID, UINT32, PMDL, UINT32);
typedef NTSTATUS FN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL(VMBPACKET, PVOID, UINT32, PMDL, UINT32,
						      UINT32, UINT32);
typedef NTSTATUS FN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS(VMBPACKET, PVOID, UINT32, PPFN_NUMBER,
						       UINT32, UINT32);
typedef VOID FN_VMB_PACKET_SET_COMPLETION_ROUTINE(VMBPACKET, PFN_VMB_PACKET_COMPLETION_ROUTINE);
typedef VOID FN_VMB_PACKET_SET_POINTER(VMBPACKET, PVOID);
/* server only */
typedef NTSTATUS FN_VMB_CHANNEL_MAP_GPADL(VMBCHANNEL, UINT32, UINT32, PMDL *);
typedef NTSTATUS FN_VMB_CHANNEL_RESTORE_FROM_BUFFER(VMBCHANNEL, PVOID, ULONG);
typedef NTSTATUS FN_VMB_CHANNEL_SAVE_BEGIN(VMBCHANNEL);
typedef NTSTATUS FN_VMB_CHANNEL_SAVE_CONTINUE(VMBCHANNEL, PVOID, ULONG, PULONG, PULONG);
typedef VOID FN_VMB_CHANNEL_SAVE_END(VMBCHANNEL);
typedef VOID FN_VMB_CHANNEL_UNMAP_GPADL(VMBCHANNEL, UINT32);
typedef NTSTATUS FN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE(HANDLE, PHANDLE);
typedef NTSTATUS FN_VMB_PACKET_RESTORE(VMBPACKET, PVOID, ULONG);
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS(VMBCHANNEL, UINT32);
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES(VMBCHANNEL, UINT16, UINT16);
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS(
	VMBCHANNEL, PFN_VMB_CHANNEL_SAVE_PACKET, PFN_VMB_CHANNEL_RESTORE_PACKET);
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID(VMBCHANNEL, GUID, GUID);
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL(VMBCHANNEL, UINT8);
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE(VMBCHANNEL, HANDLE);

typedef FN_VMB_CHANNEL_ALLOCATE *PFN_VMB_CHANNEL_ALLOCATE;
typedef FN_VMB_CHANNEL_CLEANUP *PFN_VMB_CHANNEL_CLEANUP;
typedef FN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER *PFN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER;
typedef FN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL *PFN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL;
typedef FN_VMB_CHANNEL_DELETE_GPADL *PFN_VMB_CHANNEL_DELETE_GPADL;
typedef FN_VMB_CHANNEL_DISABLE *PFN_VMB_CHANNEL_DISABLE;
typedef FN_VMB_CHANNEL_ENABLE *PFN_VMB_CHANNEL_ENABLE;
typedef FN_VMB_CHANNEL_GET_INTERFACE_INSTANCE *PFN_VMB_CHANNEL_GET_INTERFACE_INSTANCE;
typedef FN_VMB_CHANNEL_GET_MMIO_SPACE *PFN_VMB_CHANNEL_GET_MMIO_SPACE;
typedef FN_VMB_CHANNEL_GET_POINTER *PFN_VMB_CHANNEL_GET_POINTER;
typedef FN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE *PFN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE;
typedef FN_VMB_CHANNEL_INIT_SET_FLAGS *PFN_VMB_CHANNEL_INIT_SET_FLAGS;
typedef FN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME *PFN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME;
typedef FN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA *PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA;
typedef FN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE *PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE;
typedef FN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS
	*PFN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS;
typedef FN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS
	*PFN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS;
typedef FN_VMB_CHANNEL_PACKET_COMPLETE *PFN_VMB_CHANNEL_PACKET_COMPLETE;
typedef FN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE *PFN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE;
typedef FN_VMB_CHANNEL_PACKET_FAIL *PFN_VMB_CHANNEL_PACKET_FAIL;
typedef FN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA *PFN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA;
typedef FN_VMB_CHANNEL_PAUSE *PFN_VMB_CHANNEL_PAUSE;
typedef FN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST *PFN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST;
typedef FN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE
	*PFN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE;
typedef FN_VMB_CHANNEL_SET_INTERRUPT_LATENCY *PFN_VMB_CHANNEL_SET_INTERRUPT_LATENCY;
typedef FN_VMB_CHANNEL_SET_POINTER *PFN_VMB_CHANNEL_SET_POINTER;
typedef FN_VMB_CHANNEL_SET_TRANSACTION_QUOTA *PFN_VMB_CHANNEL_SET_TRANSACTION_QUOTA;
typedef FN_VMB_CHANNEL_SIZEOF_PACKET *PFN_VMB_CHANNEL_SIZEOF_PACKET;
typedef FN_VMB_CHANNEL_START *PFN_VMB_CHANNEL_START;
typedef FN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT
	*PFN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT;
typedef FN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP *PFN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP;
typedef FN_VMB_PACKET_ALLOCATE *PFN_VMB_PACKET_ALLOCATE;
typedef FN_VMB_PACKET_FREE *PFN_VMB_PACKET_FREE;
typedef FN_VMB_PACKET_GET_CHANNEL *PFN_VMB_PACKET_GET_CHANNEL;
typedef FN_VMB_PACKET_GET_POINTER *PFN_VMB_PACKET_GET_POINTER;
typedef FN_VMB_PACKET_INITIALIZE *PFN_VMB_PACKET_INITIALIZE;
typedef FN_VMB_PACKET_SEND *PFN_VMB_PACKET_SEND;
typedef FN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL *PFN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL;
typedef FN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS *PFN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS;
typedef FN_VMB_PACKET_SET_COMPLETION_ROUTINE *PFN_VMB_PACKET_SET_COMPLETION_ROUTINE;
typedef FN_VMB_PACKET_SET_POINTER *PFN_VMB_PACKET_SET_POINTER;
typedef FN_VMB_CHANNEL_MAP_GPADL *PFN_VMB_CHANNEL_MAP_GPADL;
typedef FN_VMB_CHANNEL_RESTORE_FROM_BUFFER *PFN_VMB_CHANNEL_RESTORE_FROM_BUFFER;
typedef FN_VMB_CHANNEL_SAVE_BEGIN *PFN_VMB_CHANNEL_SAVE_BEGIN;
typedef FN_VMB_CHANNEL_SAVE_CONTINUE *PFN_VMB_CHANNEL_SAVE_CONTINUE;
typedef FN_VMB_CHANNEL_SAVE_END *PFN_VMB_CHANNEL_SAVE_END;
typedef FN_VMB_CHANNEL_UNMAP_GPADL *PFN_VMB_CHANNEL_UNMAP_GPADL;
typedef FN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE *PFN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE;
typedef FN_VMB_PACKET_RESTORE *PFN_VMB_PACKET_RESTORE;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS *PFN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES *PFN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS
	*PFN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID
	*PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL *PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE *PFN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE;

/** Members of the client table, alphabetical (41). */
#define VMBKMCL_CLIENT_METHODS                                                                  \
	PFN_VMB_CHANNEL_ALLOCATE VmbChannelAllocate;                                            \
	PFN_VMB_CHANNEL_CLEANUP VmbChannelCleanup;                                              \
	PFN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER VmbChannelCreateGpadlFromBuffer;               \
	PFN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL VmbChannelCreateGpadlFromMdl;                     \
	PFN_VMB_CHANNEL_DELETE_GPADL VmbChannelDeleteGpadl;                                     \
	PFN_VMB_CHANNEL_DISABLE VmbChannelDisable;                                              \
	PFN_VMB_CHANNEL_ENABLE VmbChannelEnable;                                                \
	PFN_VMB_CHANNEL_GET_INTERFACE_INSTANCE VmbChannelGetInterfaceInstance;                  \
	PFN_VMB_CHANNEL_GET_MMIO_SPACE VmbChannelGetMmioSpace;                                  \
	PFN_VMB_CHANNEL_GET_POINTER VmbChannelGetPointer;                                       \
	PFN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE VmbChannelInitSetClientContextSize;        \
	PFN_VMB_CHANNEL_INIT_SET_FLAGS VmbChannelInitSetFlags;                                  \
	PFN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME VmbChannelInitSetFriendlyName;                   \
	PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA VmbChannelInitSetMaximumExternalData;    \
	PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE VmbChannelInitSetMaximumPacketSize;        \
	PFN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS VmbChannelInitSetProcessPacketCallbacks; \
	PFN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS VmbChannelInitSetStateChangeCallbacks;  \
	PFN_VMB_CHANNEL_PACKET_COMPLETE VmbChannelPacketComplete;                               \
	PFN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE VmbChannelPacketDeferToPassive;                 \
	PFN_VMB_CHANNEL_PACKET_FAIL VmbChannelPacketFail;                                       \
	PFN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA VmbChannelPacketGetExternalData;               \
	PFN_VMB_CHANNEL_PAUSE VmbChannelPause;                                                  \
	PFN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST VmbChannelSendSynchronousRequest;              \
	PFN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE VmbChannelSetIncomingProcessingAtPassive; \
	PFN_VMB_CHANNEL_SET_INTERRUPT_LATENCY VmbChannelSetInterruptLatency;                    \
	PFN_VMB_CHANNEL_SET_POINTER VmbChannelSetPointer;                                       \
	PFN_VMB_CHANNEL_SET_TRANSACTION_QUOTA VmbChannelSetTransactionQuota;                    \
	PFN_VMB_CHANNEL_SIZEOF_PACKET VmbChannelSizeofPacket;                                   \
	PFN_VMB_CHANNEL_START VmbChannelStart;                                                  \
	PFN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT                                  \
		VmbClientChannelInitSetRingBufferPageCount;                                     \
	PFN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP VmbClientChannelInitSetTargetPnp;            \
	PFN_VMB_PACKET_ALLOCATE VmbPacketAllocate;                                              \
	PFN_VMB_PACKET_FREE VmbPacketFree;                                                      \
	PFN_VMB_PACKET_GET_CHANNEL VmbPacketGetChannel;                                         \
	PFN_VMB_PACKET_GET_POINTER VmbPacketGetPointer;                                         \
	PFN_VMB_PACKET_INITIALIZE VmbPacketInitialize;                                          \
	PFN_VMB_PACKET_SEND VmbPacketSend;                                                      \
	PFN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL VmbPacketSendWithExternalMdl;                     \
	PFN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS VmbPacketSendWithExternalPfns;                   \
	PFN_VMB_PACKET_SET_COMPLETION_ROUTINE VmbPacketSetCompletionRoutine;                    \
	PFN_VMB_PACKET_SET_POINTER VmbPacketSetPointer;

/** Members of the server-only table, alphabetical (14). */
#define VMBKMCL_SERVER_ONLY_METHODS                                                             \
	PFN_VMB_CHANNEL_MAP_GPADL VmbChannelMapGpadl;                                           \
	PFN_VMB_CHANNEL_RESTORE_FROM_BUFFER VmbChannelRestoreFromBuffer;                        \
	PFN_VMB_CHANNEL_SAVE_BEGIN VmbChannelSaveBegin;                                         \
	PFN_VMB_CHANNEL_SAVE_CONTINUE VmbChannelSaveContinue;                                   \
	PFN_VMB_CHANNEL_SAVE_END VmbChannelSaveEnd;                                             \
	PFN_VMB_CHANNEL_UNMAP_GPADL VmbChannelUnmapGpadl;                                       \
	PFN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE VmbConvertVmbusHandleToKernelHandle;      \
	PFN_VMB_PACKET_RESTORE VmbPacketRestore;                                                \
	PFN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS VmbServerChannelInitSetFlags;                     \
	PFN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES VmbServerChannelInitSetMmioMegabytes;    \
	PFN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS                           \
		VmbServerChannelInitSetSaveRestorePacketCallbacks;                              \
	PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID VmbServerChannelInitSetTargetInterfaceId; \
	PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL VmbServerChannelInitSetTargetVtl;            \
	PFN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE VmbServerChannelInitSetVmbusHandle;

/** Client function table: INTERFACE header, then the 41 client functions. */
typedef struct _KMCL_CLIENT_INTERFACE_V1 {
	INTERFACE InterfaceHeader;
	VMBKMCL_CLIENT_METHODS
} KMCL_CLIENT_INTERFACE_V1, *PKMCL_CLIENT_INTERFACE_V1;

/** The 14 server-only functions. */
typedef struct _KMCL_SERVER_ONLY_METHODS {
	VMBKMCL_SERVER_ONLY_METHODS
} KMCL_SERVER_ONLY_METHODS, *PKMCL_SERVER_ONLY_METHODS;

/** Server function table: the client table followed by the server-only functions, flat (same
 *  layout as KMCL_CLIENT_INTERFACE_V1 followed by KMCL_SERVER_ONLY_METHODS). */
typedef struct _KMCL_SERVER_INTERFACE_V1 {
	INTERFACE InterfaceHeader;
	VMBKMCL_CLIENT_METHODS
	VMBKMCL_SERVER_ONLY_METHODS
} KMCL_SERVER_INTERFACE_V1, *PKMCL_SERVER_INTERFACE_V1;

#define KMCL_CLIENT_INTERFACE_VERSION_V1 1u
#define KMCL_SERVER_INTERFACE_VERSION_V1 1u

/** Interface type of KMCL_CLIENT_INTERFACE_V1 (a vmbchan GUID, not a Windows one). */
extern const GUID GUID_VMBKMCL_CLIENT_INTERFACE;
/** Interface type of KMCL_SERVER_INTERFACE_V1 (a vmbchan GUID). */
extern const GUID GUID_VMBKMCL_SERVER_INTERFACE;

/**
 * Fill a function table (the user-space counterpart of IRP_MN_QUERY_INTERFACE).
 * @param InterfaceType GUID_VMBKMCL_CLIENT_INTERFACE or GUID_VMBKMCL_SERVER_INTERFACE
 * @param Size bytes available at @p Interface
 * @param Version KMCL_CLIENT_INTERFACE_VERSION_V1 / KMCL_SERVER_INTERFACE_VERSION_V1
 * @param Interface a KMCL_CLIENT_INTERFACE_V1 or KMCL_SERVER_INTERFACE_V1 to fill
 * @return STATUS_SUCCESS; STATUS_INVALID_PARAMETER_1 / _4 (NULL); STATUS_NOT_SUPPORTED (unknown
 *         interface type or version); STATUS_BUFFER_TOO_SMALL (Size below the table's size).
 */
NTSTATUS VmbKmclQueryInterface(const GUID *InterfaceType, USHORT Size, USHORT Version,
			       PVOID Interface);

/* ======================================================================================== */
/* vmbchan extensions (no KMCL counterpart)                                                 */
/* ======================================================================================== */

/** Number of 4 KiB pages spanned by @p ByteCount bytes starting @p ByteOffset into a page. */
static inline UINT32
VmbKmclSpanPages(UINT32 ByteOffset, UINT32 ByteCount)
{
	uint64_t end = (uint64_t)(ByteOffset & (VMBKMCL_PAGE_SIZE - 1)) + ByteCount;
	return ByteCount ? (UINT32)((end + VMBKMCL_PAGE_SIZE - 1) / VMBKMCL_PAGE_SIZE) : 0;
}

/**
 * Describe @p ByteCount bytes at @p ByteOffset into the first of @p PageCount guest pages
 * @p Pages as a single MDL (Next NULL). The caller keeps @p Mdl and @p Pages alive while used.
 * @return STATUS_SUCCESS; STATUS_INVALID_PARAMETER_1 (Mdl NULL); _2 (Pages NULL);
 *         _3 (PageCount below the pages spanned); _4 (ByteOffset >= 4096); _5 (ByteCount 0).
 */
NTSTATUS VmbKmclMdlInitialize(PMDL Mdl, PFN_NUMBER *Pages, UINT32 PageCount, UINT32 ByteOffset,
			      UINT32 ByteCount);

/**
 * Copy between an MDL chain and a buffer through the channel's guest memory mapping (the
 * user-space stand-in for mapping an MDL). Must not block; any thread while the channel is open.
 * @param Offset byte offset into the chain
 * @param ToMdl TRUE: Buffer -> guest memory; FALSE: guest memory -> Buffer
 * @return STATUS_SUCCESS; STATUS_INVALID_HANDLE; STATUS_INVALID_PARAMETER_2 (malformed MDL);
 *         _3 / _5 (window outside the chain); _4 (Buffer NULL); STATUS_DEVICE_NOT_READY (the
 *         channel is not open: no guest memory); STATUS_INVALID_PARAMETER (a page outside guest
 *         memory).
 */
NTSTATUS VmbKmclMdlCopy(VMBCHANNEL Channel, PMDL Mdl, UINT32 Offset, PVOID Buffer, UINT32 Length,
			BOOLEAN ToMdl);

/** Client context area of an incoming packet (VmbChannelInitSetClientContextSize() bytes,
 *  zeroed when the channel is enabled, kept across indications of the same token), or NULL when
 *  none was configured or the handle is bad. */
PVOID VmbKmclPacketGetClientContext(VMBPACKETCOMPLETION PacketCompletionContext);

/** NTSTATUS for a native negative errno (0 -> STATUS_SUCCESS); see doc/kmcl.md for the table. */
NTSTATUS VmbKmclStatusFromErrno(int Errno);
/** Negative errno for an NTSTATUS (NT_SUCCESS() -> 0; unknown failures -> -EIO). */
int VmbKmclErrnoFromStatus(NTSTATUS Status);

#ifdef __cplusplus
}
#endif

#endif /* VMB_KMCL_H */
