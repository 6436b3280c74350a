/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * A minimal VSP state for save/restore tests and benchmarks: each outgoing packet's context is a
 * 32-bit sequence number; the save callback stores it (4 bytes), the restore helper re-creates
 * the packet object, restores the library part and gives the number back.
 */
#ifndef VMB_TEST_SEQ_VSP_H
#define VMB_TEST_SEQ_VSP_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_save.h>

/** Save callback: the packet's sequence number, with the two-call size negotiation. */
static inline int
seq_vsp_save(struct vmb_channel *ch, struct vmb_packet *p, void *buf, uint32_t size,
	     uint32_t *needed)
{
	uint32_t seq = (uint32_t)(uintptr_t)vmb_packet_get_context(p);

	(void)ch;
	*needed = sizeof(seq);
	if (size < sizeof(seq))
		return -ENOBUFS;
	memcpy(buf, &seq, sizeof(seq));
	return 0;
}

/**
 * Body of a restore callback: check the VSP part (@p limit: sequence numbers must be below it,
 * 0 for no check), re-create the packet, restore it, set @p done and the number as its context.
 * @return 0 or the error the restore callback returns.
 */
static inline int
seq_vsp_restore(struct vmb_channel *ch, const void *lib, uint32_t lib_size, const void *save,
		uint32_t save_size, vmb_packet_completion_fn done, uint32_t limit)
{
	struct vmb_packet *p;
	uint32_t seq;
	int rc;

	if (save_size != sizeof(seq))
		return -EPROTO;
	memcpy(&seq, save, sizeof(seq));
	if (limit && seq >= limit)
		return -EPROTO;
	p = vmb_packet_alloc(ch);
	if (p == NULL)
		return -ENOMEM;
	rc = vmb_packet_restore(p, lib, lib_size);
	if (rc) {
		vmb_packet_free(p);
		return rc;
	}
	vmb_packet_set_completion(p, done);
	vmb_packet_set_context(p, (void *)(uintptr_t)seq);
	return 0;
}

#endif /* VMB_TEST_SEQ_VSP_H */
