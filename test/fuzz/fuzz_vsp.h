/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The VSP the save/restore fuzz targets and the corpus generator share: the configuration of
 * a server channel whose streams the seeds are, and save/restore callbacks that keep the VSP's
 * bytes of each packet in the packet's context (so a restored channel can be saved again).
 *
 * VSP bytes: any; the first byte steers the restore callback: FZ_VSP_FAIL makes it fail with
 * -ENOSPC (a VSP out of resources), FZ_VSP_SKIP makes it return 0 without re-creating the packet
 * (which the library must refuse). Generated streams never start their VSP bytes with those.
 */
#ifndef VMB_FUZZ_VSP_H
#define VMB_FUZZ_VSP_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_save.h>
#include <vmb/vmb_save_format.h>

#define FZ_VSP_FAIL 0xEEu
#define FZ_VSP_SKIP 0xEFu

/* Server configuration of every generated stream and of every restoring channel. */
#define FZ_TX_CAPACITY 64u
#define FZ_RX_CAPACITY 16u
static const struct vmb_guid fz_if_type = {{0x4d, 0x56, 0x42, 0x53, 0x66, 0x75, 0x7a, 0x7a, 0x01, 0x02,
					    0x03, 0x04, 0x05, 0x06, 0x07, 0x08}};
static const struct vmb_guid fz_if_instance = {{0x69, 0x6e, 0x73, 0x74, 0x00, 0x00, 0x00, 0x00, 0x00,
						0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}};

/** What the VSP keeps per packet object. */
struct fz_vsp_pkt {
	struct fz_vsp_pkt *prev, *next; /**< fz_vsp_list */
	struct vmb_channel *ch;
	uint64_t xid;      /**< from the library part (restored packets) */
	uint32_t lib_len;  /**< library part as restored */
	uint8_t *lib;
	uint32_t vsp_len;  /**< the VSP's own bytes */
	uint8_t vsp[];
};

/** Live VSP packet contexts, and their count (a leak check beside LeakSanitizer). */
static struct fz_vsp_pkt *fz_vsp_list;
static long fz_vsp_live;

static inline void
fz_vsp_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	struct fz_vsp_pkt *c = vmb_packet_get_context(p);

	(void)status;
	(void)buf;
	(void)len;
	if (c) {
		if (c->prev)
			c->prev->next = c->next;
		else
			fz_vsp_list = c->next;
		if (c->next)
			c->next->prev = c->prev;
		free(c->lib);
		free(c);
		fz_vsp_live--;
	}
	vmb_packet_free(p);
}

/** Attach VSP bytes to a packet (sender side). @return 0 or -ENOMEM. */
static inline int
fz_vsp_attach(struct vmb_packet *p, const void *vsp, uint32_t vsp_len)
{
	struct fz_vsp_pkt *c = calloc(1, sizeof(*c) + vsp_len);

	if (c == NULL)
		return -ENOMEM;
	c->ch = vmb_packet_channel(p);
	c->vsp_len = vsp_len;
	if (vsp_len)
		memcpy(c->vsp, vsp, vsp_len);
	c->next = fz_vsp_list;
	if (fz_vsp_list)
		fz_vsp_list->prev = c;
	fz_vsp_list = c;
	fz_vsp_live++;
	vmb_packet_set_context(p, c);
	vmb_packet_set_completion(p, fz_vsp_done);
	return 0;
}

static inline int
fz_vsp_save(struct vmb_channel *ch, struct vmb_packet *p, void *buf, uint32_t size, uint32_t *needed)
{
	const struct fz_vsp_pkt *c = vmb_packet_get_context(p);
	uint32_t n = c ? c->vsp_len : 0;

	(void)ch;
	*needed = n;
	if (size < n)
		return -ENOBUFS;
	if (n)
		memcpy(buf, c->vsp, n);
	return 0;
}

static inline int
fz_vsp_restore(struct vmb_channel *ch, const void *lib, uint32_t lib_size, const void *save,
	       uint32_t save_size)
{
	const uint8_t *s = save;
	struct vmb_packet *p;
	struct fz_vsp_pkt *c;
	int rc;

	if (save_size && s[0] == FZ_VSP_FAIL)
		return -ENOSPC;
	if (save_size && s[0] == FZ_VSP_SKIP)
		return 0;
	p = vmb_packet_alloc(ch);
	if (p == NULL)
		return -ENOMEM;
	rc = vmb_packet_restore(p, lib, lib_size);
	if (rc) {
		vmb_packet_free(p);
		return rc;
	}
	/* Once per callback. */
	if (vmb_packet_restore(p, lib, lib_size) != -EPERM)
		abort();
	rc = fz_vsp_attach(p, save, save_size);
	if (rc == 0) {
		struct vmb_save_lib_v1 l;
		c = vmb_packet_get_context(p);
		memcpy(&l, lib, sizeof(l)); /* the library accepted it: at least this long */
		c->xid = l.xid;
		c->lib = malloc(lib_size ? lib_size : 1);
		if (c->lib == NULL)
			abort();
		memcpy(c->lib, lib, lib_size);
		c->lib_len = lib_size;
	}
	return rc;
}

/** A server channel configured as every stream of the corpus expects. */
static inline int
fz_vsp_new_server(vmb_process_packet_fn process, struct vmb_channel **out)
{
	struct vmb_channel *h;
	int rc;

	rc = vmb_channel_alloc(true, &h);
	if (rc)
		return rc;
	if ((rc = vmb_channel_init_set_capacity(h, FZ_RX_CAPACITY, FZ_TX_CAPACITY)) ||
	    (rc = vmb_channel_init_set_process_packet(h, process, NULL)) ||
	    (rc = vmb_channel_init_set_interface(h, &fz_if_type, &fz_if_instance)) ||
	    (rc = vmb_channel_init_set_save_restore(h, fz_vsp_save, fz_vsp_restore))) {
		vmb_channel_cleanup(h);
		return rc;
	}
	*out = h;
	return 0;
}

#endif /* VMB_FUZZ_VSP_H */
