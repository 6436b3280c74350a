/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 */
#ifndef VMB_SAVE_H
#define VMB_SAVE_H

/**
 * @file
 * Save and restore of a server channel's pending packets (KMCL VmbChannelSaveBegin / Continue /
 * End, VmbChannelRestoreFromBuffer, VmbPacketRestore), so a host process can be replaced while
 * the guest sees only a pause.
 *
 * What is saved: every outgoing packet object still pending (queued for ring space, in FIFO
 * order, or sent and awaiting the guest's completion), each as the library's part (transaction
 * id, type, flags, external data as page ranges, and the message bytes of queued packets) beside
 * the VSP's own bytes from its save callback; completion packets owed to the guest that did not
 * fit in the ring yet; and the position up to which incoming packets were consumed. Ring memory
 * is guest memory: it is not saved, and after restore the indices are re-read from it.
 *
 * The stream is a sequence of chunks, each self-contained and integrity-checked (CRC32C), made of
 * tagged records; doc/save-format.md describes the bytes. Restore takes whole chunks in order,
 * validates each completely before accepting it, and applies the stream only when the last chunk
 * arrived, so a damaged, truncated, reordered, duplicated, foreign or future-version stream is
 * refused with a precise error and leaves the channel untouched.
 *
 * When: save on a server channel that is paused (Enabled, Opened or Closed); after a successful
 * save the channel no longer writes to the rings (its state lives in the stream), until it is
 * started again. Restore on a freshly allocated, configured server channel before Enable, in
 * this or another process; then Enable + Start resume: restored queued packets go out, and the
 * guest's completions of restored in-flight packets reach the re-set completion routines.
 *
 * Control thread only (save and restore callbacks run on it).
 */

#include <stddef.h>
#include <stdint.h>

#include <vmb/vmb_channel.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a chunk header. */
#define VMB_SAVE_CHUNK_HEADER 32u
/** Smallest buffer that can hold an empty chunk with the channel record. */
#define VMB_SAVE_MIN_CHUNK 128u

/**
 * Start a save. @return 0; -EBADF; -ENOTSUP (client); -EPERM (Disabled, or running: pause
 * first, or packets are pending and the save/restore callbacks are not set); -EBUSY (a save is
 * already in progress); -ENOMEM.
 */
int vmb_channel_save_begin(struct vmb_channel *ch);

/**
 * Write the next chunk into @p buf.
 * @param filled   bytes written (the whole chunk; keep chunk boundaries)
 * @param required smallest buffer that makes progress on the next call
 * @return 0 when the stream is complete (this was the last chunk); -EOVERFLOW when a chunk was
 *         written and more remains; -ENOBUFS when nothing fit (see @p required); -EPERM (no save
 *         in progress, or already complete); the save callback's error (the save is then
 *         aborted: call vmb_channel_save_end()); -EBADF; -EINVAL.
 */
int vmb_channel_save_continue(struct vmb_channel *ch, void *buf, size_t size, size_t *filled,
			      size_t *required);

/** End a save (after success or failure). After a complete save the channel is frozen: it no
 *  longer writes to the rings until vmb_channel_start(). */
void vmb_channel_save_end(struct vmb_channel *ch);

/**
 * Restore one chunk (whole, in order).
 * @return 0 when the last chunk was restored (packets re-created through the restore
 *         callback); -EINPROGRESS when this chunk was accepted and more are expected;
 *         -EBADF; -ENOTSUP (client channel, or a stream of a future format version, or an
 *         unknown critical record); -EPERM (not a fresh Disabled server channel, or the stream
 *         has packets and no restore callback is set); -EPROTO (not a save chunk, or malformed); -EMSGSIZE
 *         (truncated or padded chunk); -EBADMSG (CRC mismatch); -EILSEQ (out of order,
 *         duplicated, or missing the first chunk); -EXDEV (chunk of another stream, or a stream
 *         saved from a channel of another interface); the restore callback's error; -ENOMEM.
 *         On any error the channel is as before the failing call; an error while applying the
 *         last chunk undoes the whole restore: packets re-created so far are retired through
 *         their completion routines with -ECANCELED, and the stream may be given again.
 */
int vmb_channel_restore(struct vmb_channel *ch, const void *chunk, size_t size);

/** Drop a restore in progress (chunks accepted, last one not yet given). */
void vmb_channel_restore_abort(struct vmb_channel *ch);

/**
 * Re-create a packet object from the library part handed to the restore callback (only from
 * inside it, on a packet fresh from vmb_packet_alloc()). The packet takes its saved transaction
 * id and state (queued or in flight). Set its completion routine and context afterwards.
 * @return 0; -EBADF; -EPERM (not inside a restore callback, or packet not idle); -EPROTO
 *         (malformed); -EEXIST (that transaction was already restored).
 */
int vmb_packet_restore(struct vmb_packet *pkt, const void *lib, size_t size);

/** Decode a chunk header for tools. @return 0 or -EPROTO / -EMSGSIZE. */
struct vmb_save_chunk_info {
	uint16_t major, minor;
	uint64_t stream_id;
	uint32_t seq;
	uint32_t flags; /**< VMB_SAVE_CHUNK_FIRST | VMB_SAVE_CHUNK_LAST */
	uint32_t payload_len;
	uint32_t crc;
	int crc_ok;
};
#define VMB_SAVE_CHUNK_FIRST 0x1u
#define VMB_SAVE_CHUNK_LAST 0x2u
int vmb_save_chunk_info(const void *chunk, size_t size, struct vmb_save_chunk_info *info);

/** CRC32C (Castagnoli) of @p len bytes, continuing from @p crc (start with 0). */
uint32_t vmb_crc32c(uint32_t crc, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VMB_SAVE_H */
