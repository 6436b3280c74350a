/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * KMCL face, packets: outgoing packet objects (allocated, or backing caller storage), sends
 * with MDL chains translated into native GPA ranges, the synchronous request with KeWait
 * timeouts, incoming packets (completion, defer, fail, external data as MDLs), MDL helpers, and
 * the GPADL calls (not supported).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmb/vmb_mem.h>
#include <vmb/vmb_transport.h>

#include "vmb_kmcl_priv.h"

/* ---- handles ---- */

struct vmb_packet *
kmcl_packet(VMBPACKET h, bool *is_storage)
{
	uint32_t magic;

	if (is_storage)
		*is_storage = false;
	if (h == NULL)
		return NULL;
	memcpy(&magic, h, sizeof(magic)); /* a bogus handle may be misaligned */
	if (magic == KMCL_STORAGE_MAGIC) {
		struct kmcl_storage s;

		memcpy(&s, h, sizeof(s));
		if (vmb_packet_channel(s.pkt) == NULL)
			return NULL;
		if (is_storage)
			*is_storage = true;
		return s.pkt;
	}
	return vmb_packet_channel(h) ? h : NULL;
}

VMBPACKET
kmcl_handle_of(struct vmb_packet *p)
{
	void *storage = NULL;

	(void)vmb_packet_get_facade(p, &storage);
	return storage ? (VMBPACKET)storage : p;
}

/* Native completion routine of every packet with a KMCL routine (or caller storage). */
static void
tramp_completion(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	void *storage = NULL;
	PFN_VMB_PACKET_COMPLETION_ROUTINE fn =
		(PFN_VMB_PACKET_COMPLETION_ROUTINE)vmb_packet_get_facade(p, &storage);

	if (fn == NULL)
		return; /* caller storage without a routine: sends are refused, cannot happen */
	fn(storage ? (VMBPACKET)storage : p, kmcl_completion_status(status),
	   (PVOID)(uintptr_t)buf, len);
}

/* ---- packet objects ---- */

VMBPACKET
VmbPacketAllocate(VMBCHANNEL ch)
{
	return vmb_packet_alloc(ch);
}

static struct kmcl_storage_entry *
storage_find(struct kmcl_shim *k, void *storage)
{
	uint32_t i;

	for (i = 0; i < k->nstorage; i++)
		if (k->storage[i].storage == storage)
			return &k->storage[i];
	return NULL;
}

NTSTATUS
VmbPacketInitialize(VMBCHANNEL ch, VMBPACKET storage, UINT32 bytes)
{
	struct kmcl_storage hdr = {.magic = KMCL_STORAGE_MAGIC};
	struct kmcl_storage_entry *e;
	struct kmcl_shim *k;
	struct vmb_packet *p;

	if (vmb_channel_state(ch) < 0)
		return STATUS_INVALID_PARAMETER_1;
	if (storage == NULL)
		return STATUS_INVALID_PARAMETER_2;
	if (bytes < VmbChannelSizeofPacket(ch))
		return STATUS_INVALID_PARAMETER_3;
	k = kmcl_shim_get(ch);
	if (k == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	pthread_mutex_lock(&k->lock);
	/* The same storage initialized again reuses its object; the registry (never the old
	 * bytes of the storage) says whether it has one on this channel. */
	e = storage_find(k, storage);
	if (e) {
		p = e->pkt;
	} else {
		if (k->nstorage == k->storage_cap) {
			uint32_t cap = k->storage_cap ? k->storage_cap * 2 : 16;
			struct kmcl_storage_entry *n = realloc(k->storage, cap * sizeof(*n));
			if (n == NULL) {
				pthread_mutex_unlock(&k->lock);
				return STATUS_INSUFFICIENT_RESOURCES;
			}
			k->storage = n;
			k->storage_cap = cap;
		}
		p = vmb_packet_alloc(ch);
		if (p == NULL) {
			pthread_mutex_unlock(&k->lock);
			return STATUS_INSUFFICIENT_RESOURCES;
		}
		k->storage[k->nstorage].storage = storage;
		k->storage[k->nstorage++].pkt = p;
	}
	pthread_mutex_unlock(&k->lock);
	/* KMCL: an initialized packet has no valid completion routine until one is set. */
	vmb_packet_set_facade(p, NULL, storage);
	vmb_packet_set_completion(p, tramp_completion);
	vmb_packet_set_context(p, NULL);
	hdr.pkt = p;
	memcpy(storage, &hdr, sizeof(hdr));
	return STATUS_SUCCESS;
}

VOID
VmbPacketFree(VMBPACKET h)
{
	bool is_storage;
	struct vmb_packet *p = kmcl_packet(h, &is_storage);
	struct vmb_channel *ch;
	struct kmcl_shim *k;

	if (p == NULL)
		return;
	if (!is_storage) {
		(void)vmb_packet_free(p);
		return;
	}
	ch = vmb_packet_channel(p);
	k = kmcl_shim(ch);
	if (k == NULL)
		return;
	pthread_mutex_lock(&k->lock);
	if (vmb_packet_free(p) == 0) {
		struct kmcl_storage_entry *e = storage_find(k, h);
		if (e)
			*e = k->storage[--k->nstorage];
		memset(h, 0, sizeof(struct kmcl_storage));
	}
	pthread_mutex_unlock(&k->lock);
}

VOID
VmbPacketSetPointer(VMBPACKET h, PVOID ptr)
{
	vmb_packet_set_context(kmcl_packet(h, NULL), ptr);
}

PVOID
VmbPacketGetPointer(VMBPACKET h)
{
	return vmb_packet_get_context(kmcl_packet(h, NULL));
}

VMBCHANNEL
VmbPacketGetChannel(VMBPACKET h)
{
	return vmb_packet_channel(kmcl_packet(h, NULL));
}

VOID
VmbPacketSetCompletionRoutine(VMBPACKET h, PFN_VMB_PACKET_COMPLETION_ROUTINE fn)
{
	bool is_storage;
	struct vmb_packet *p = kmcl_packet(h, &is_storage);

	if (p == NULL)
		return;
	vmb_packet_set_facade(p, (vmb_facade_fn)fn, is_storage ? (void *)h : NULL);
	/* NULL restores the native default (free the packet) for allocated packets; a storage
	 * packet keeps the trampoline so the library never frees what its storage refers to. */
	vmb_packet_set_completion(p, (fn || is_storage) ? tramp_completion : NULL);
}

/* ---- MDL chains -> native GPA ranges ---- */

#define STACK_RANGES 16u
#define MAX_MDL_LINKS 65536u

struct ranges {
	struct vmb_gpa_range_out stack[STACK_RANGES];
	struct vmb_gpa_range_out *v;
	uint32_t n;
};

static void
ranges_fini(struct ranges *r)
{
	if (r->v != r->stack)
		free(r->v);
}

static bool
mdl_valid(const MDL *m)
{
	return m->ByteOffset < VMBKMCL_PAGE_SIZE && (m->ByteCount == 0 || m->Pages != NULL) &&
	       m->PageCount >= VmbKmclSpanPages(m->ByteOffset, m->ByteCount);
}

/* Fill (out != NULL) or count the ranges of the window [offset, offset + length) of the chain
 * (length 0: to the end). @return 0, or which check failed: 1 malformed MDL, 2 offset outside
 * the chain, 3 length beyond the chain. */
static int
mdl_walk(const MDL *mdl, uint32_t offset, uint32_t length, bool force,
	 struct vmb_gpa_range_out *out, uint32_t *count)
{
	uint64_t skip = offset, want = length;
	uint32_t n = 0, links = 0;
	const MDL *m;

	if (force) {
		uint64_t limit, len, start;

		if (!mdl_valid(mdl))
			return 1;
		/* Up to the end of the MDL's last page, first MDL only. */
		limit = (uint64_t)VmbKmclSpanPages(mdl->ByteOffset, mdl->ByteCount) * VMBKMCL_PAGE_SIZE -
			mdl->ByteOffset;
		if (offset >= limit || mdl->ByteCount == 0)
			return 2;
		len = length ? length : (mdl->ByteCount > offset ? mdl->ByteCount - offset : 0);
		if (len == 0)
			return 2;
		if (offset + len > limit)
			return 3;
		start = (uint64_t)mdl->ByteOffset + offset;
		if (out) {
			out[0].byte_count = (uint32_t)len;
			out[0].byte_offset = (uint32_t)(start & (VMBKMCL_PAGE_SIZE - 1));
			out[0].pfns = mdl->Pages + (start / VMBKMCL_PAGE_SIZE);
		}
		*count = 1;
		return 0;
	}
	for (m = mdl; m; m = m->Next) {
		uint64_t avail, take, start;

		if (++links > MAX_MDL_LINKS || !mdl_valid(m))
			return 1;
		if (skip >= m->ByteCount) {
			skip -= m->ByteCount;
			continue;
		}
		avail = m->ByteCount - skip;
		take = (want && want < avail) ? want : avail;
		start = (uint64_t)m->ByteOffset + skip;
		if (out) {
			out[n].byte_count = (uint32_t)take;
			out[n].byte_offset = (uint32_t)(start & (VMBKMCL_PAGE_SIZE - 1));
			out[n].pfns = m->Pages + (start / VMBKMCL_PAGE_SIZE);
		}
		n++;
		skip = 0;
		if (want) {
			want -= take;
			if (want == 0)
				break;
		}
	}
	if (skip || n == 0)
		return 2;
	if (want)
		return 3;
	*count = n;
	return 0;
}

static int
mdl_ranges(const MDL *mdl, uint32_t offset, uint32_t length, bool force, struct ranges *r)
{
	uint32_t n = 0;
	int rc;

	r->v = r->stack;
	r->n = 0;
	if (mdl == NULL)
		return 0;
	rc = mdl_walk(mdl, offset, length, force, NULL, &n);
	if (rc)
		return rc;
	if (n > STACK_RANGES) {
		r->v = malloc(n * sizeof(*r->v));
		if (r->v == NULL) {
			r->v = r->stack;
			return -ENOMEM;
		}
	}
	mdl_walk(mdl, offset, length, force, r->v, &r->n);
	return 0;
}

/* ---- sends ---- */

static NTSTATUS
send_status(int rc)
{
	return VmbKmclStatusFromErrno(rc); /* EINVAL, EPERM, EBUSY, EIO, EMSGSIZE: see the table */
}

static NTSTATUS
send_checked(VMBPACKET h, PVOID buf, UINT32 len, const struct ranges *r, UINT32 flags)
{
	bool is_storage;
	struct vmb_packet *p = kmcl_packet(h, &is_storage);

	if (p == NULL)
		return STATUS_INVALID_HANDLE;
	if (is_storage && vmb_packet_get_facade(p, NULL) == NULL)
		return STATUS_INVALID_PARAMETER_1; /* no completion routine set yet */
	/* PAGED_BUFFER needs nothing here (the message is copied when it must wait);
	 * FORCE_MDL_LENGTH was applied while building the ranges. */
	flags &= VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION;
	return send_status(vmb_packet_send(p, buf, len, flags, r->n ? r->v : NULL, r->n));
}

NTSTATUS
VmbPacketSend(VMBPACKET h, PVOID buf, UINT32 len, PMDL mdl, UINT32 flags)
{
	struct ranges r;
	NTSTATUS st;
	int rc;

	if (kmcl_packet(h, NULL) == NULL)
		return STATUS_INVALID_HANDLE;
	if (len && buf == NULL)
		return STATUS_INVALID_PARAMETER_2;
	if ((flags & ~VMBUS_CHANNEL_FORMAT_FLAGS) ||
	    (mdl && !(flags & VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION)))
		return STATUS_INVALID_PARAMETER_5; /* external data stays pinned until completion */
	rc = mdl_ranges(mdl, 0, 0, false, &r);
	if (rc)
		return rc < 0 ? STATUS_INSUFFICIENT_RESOURCES : STATUS_INVALID_PARAMETER_4;
	st = send_checked(h, buf, len, &r, flags);
	ranges_fini(&r);
	return st;
}

NTSTATUS
VmbPacketSendWithExternalMdl(VMBPACKET h, PVOID buf, UINT32 len, PMDL mdl, UINT32 offset,
			     UINT32 length, UINT32 flags)
{
	static const NTSTATUS walk_status[] = {STATUS_SUCCESS, STATUS_INVALID_PARAMETER_4,
					       STATUS_INVALID_PARAMETER_5,
					       STATUS_INVALID_PARAMETER_6};
	struct ranges r;
	NTSTATUS st;
	int rc;

	if (kmcl_packet(h, NULL) == NULL)
		return STATUS_INVALID_HANDLE;
	if (len && buf == NULL)
		return STATUS_INVALID_PARAMETER_2;
	if (mdl == NULL)
		return STATUS_INVALID_PARAMETER_4;
	if ((flags & ~VMBUS_CHANNEL_FORMAT_FLAGS) ||
	    !(flags & VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION))
		return STATUS_INVALID_PARAMETER_7;
	rc = mdl_ranges(mdl, offset, length, (flags & VMBUS_CHANNEL_FORMAT_FLAG_FORCE_MDL_LENGTH) != 0,
			&r);
	if (rc)
		return rc < 0 ? STATUS_INSUFFICIENT_RESOURCES : walk_status[rc];
	st = send_checked(h, buf, len, &r, flags);
	ranges_fini(&r);
	return st;
}

NTSTATUS
VmbPacketSendWithExternalPfns(VMBPACKET h, PVOID buf, UINT32 len, PPFN_NUMBER pfns, UINT32 npfns,
			      UINT32 flags)
{
	struct ranges r;

	if (kmcl_packet(h, NULL) == NULL)
		return STATUS_INVALID_HANDLE;
	if (len && buf == NULL)
		return STATUS_INVALID_PARAMETER_2;
	if (pfns == NULL)
		return STATUS_INVALID_PARAMETER_4;
	if (npfns == 0 || npfns > UINT32_MAX / VMBKMCL_PAGE_SIZE)
		return STATUS_INVALID_PARAMETER_5;
	if ((flags & ~VMBUS_CHANNEL_FORMAT_FLAGS) ||
	    !(flags & VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION))
		return STATUS_INVALID_PARAMETER_6;
	/* Whole pages: one range from the start of the first page. */
	r.v = r.stack;
	r.n = 1;
	r.stack[0].byte_count = npfns * VMBKMCL_PAGE_SIZE;
	r.stack[0].byte_offset = 0;
	r.stack[0].pfns = pfns;
	return send_checked(h, buf, len, &r, flags);
}

/* KeWait timeout (100 ns units: < 0 relative, > 0 absolute since 1601, 0 poll) -> native
 * nanoseconds (< 0 forever, 0 do not queue, > 0 relative). */
static int64_t
timeout_ns(const LARGE_INTEGER *t)
{
	/* 100 ns intervals between 1601-01-01 and 1970-01-01 */
	const int64_t epoch_1601 = 116444736000000000LL;
	struct timespec now;
	int64_t v, rel;

	if (t == NULL)
		return -1;
	v = t->QuadPart;
	if (v == 0)
		return 0;
	if (v < 0) {
		if (v < -(INT64_MAX / 100))
			return -1; /* longer than the clock can count: forever */
		return -v * 100;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	rel = v - (epoch_1601 + (int64_t)now.tv_sec * 10000000 + now.tv_nsec / 100);
	if (rel <= 0)
		return 1; /* already past: give up at the first check, but do queue */
	if (rel > INT64_MAX / 100)
		return -1;
	return rel * 100;
}

NTSTATUS
VmbChannelSendSynchronousRequest(VMBCHANNEL ch, PVOID buf, UINT32 len, PMDL mdl, UINT32 flags,
				 PVOID cbuf, PUINT32 cbuf_len, PLARGE_INTEGER timeout)
{
	struct ranges r;
	int rc;

	if (vmb_channel_state(ch) < 0)
		return STATUS_INVALID_HANDLE;
	if (len && buf == NULL)
		return STATUS_INVALID_PARAMETER_2;
	if (flags & ~VMBUS_CHANNEL_FORMAT_FLAGS)
		return STATUS_INVALID_PARAMETER_5;
	if (cbuf_len && *cbuf_len && cbuf == NULL)
		return STATUS_INVALID_PARAMETER_6;
	if (cbuf_len && (*cbuf_len % 8) != 0)
		return STATUS_INVALID_PARAMETER_7;
	rc = mdl_ranges(mdl, 0, 0, false, &r);
	if (rc)
		return rc < 0 ? STATUS_INSUFFICIENT_RESOURCES : STATUS_INVALID_PARAMETER_4;
	rc = vmb_channel_send_sync(ch, buf, len, r.n ? r.v : NULL, r.n,
				   flags & VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION, cbuf, cbuf_len,
				   timeout_ns(timeout));
	ranges_fini(&r);
	switch (rc) {
	case -ETIMEDOUT:
		return STATUS_CANCELLED; /* KMCL cancels the request when the wait times out */
	case -ECANCELED:
	case -EIO:
		return STATUS_DEVICE_REMOVED; /* the channel closed or stopped under the request */
	case -ENOMEM:
		return STATUS_INSUFFICIENT_RESOURCES; /* no packet object */
	default:
		return VmbKmclStatusFromErrno(rc); /* SUCCESS, BUFFER_OVERFLOW, EINVAL, EPERM */
	}
}

/* ---- incoming packets ---- */

VOID
VmbChannelPacketComplete(VMBPACKETCOMPLETION rx, PVOID buf, UINT32 len)
{
	(void)vmb_rx_complete(rx, buf, len);
}

VOID
VmbChannelPacketDeferToPassive(VMBPACKETCOMPLETION rx)
{
	(void)vmb_rx_defer(rx);
}

VOID
VmbChannelPacketFail(VMBPACKETCOMPLETION rx)
{
	vmb_rx_fail(rx);
}

NTSTATUS
VmbChannelPacketGetExternalData(VMBPACKETCOMPLETION rx, UINT32 flags, PMDL *out)
{
	const struct vmb_gpa_range *gpa;
	const uint64_t *pfns;
	struct kmcl_shim *k;
	uint32_t count, i;
	MDL *m;
	int rc;

	if (vmb_rx_channel(rx) == NULL)
		return STATUS_INVALID_HANDLE;
	if (flags & ~VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAGS)
		return STATUS_INVALID_PARAMETER_2;
	if (out == NULL)
		return STATUS_INVALID_PARAMETER_3;
	*out = NULL;
	rc = vmb_rx_external(rx, &gpa, &pfns, NULL, &count);
	if (rc == -ENOENT)
		return STATUS_NOT_FOUND;
	if (rc)
		return VmbKmclStatusFromErrno(rc);
	if (gpa == NULL)
		return STATUS_NOT_SUPPORTED; /* transfer pages: byte ranges of a shared buffer */
	if (count == 0)
		return STATUS_NOT_FOUND;
	k = kmcl_shim(vmb_rx_channel(rx));
	m = vmb_rx_context(rx);
	if (k == NULL || m == NULL || count > k->mdl_cap)
		return STATUS_INSUFFICIENT_RESOURCES;
	/* The MDLs live in the token's context area and point at the page numbers the native
	 * layer copied out of the ring: both stay valid until the packet is completed. */
	for (i = 0; i < count; i++) {
		m[i].Next = i + 1 < count ? &m[i + 1] : NULL;
		m[i].ByteOffset = gpa[i].byte_offset;
		m[i].ByteCount = gpa[i].byte_count;
		m[i].PageCount = gpa[i].pfn_count;
		m[i].Reserved = 0;
		m[i].Pages = (PFN_NUMBER *)(uintptr_t)&pfns[gpa[i].first_pfn];
	}
	*out = m;
	return STATUS_SUCCESS;
}

PVOID
VmbKmclPacketGetClientContext(VMBPACKETCOMPLETION rx)
{
	struct kmcl_shim *k = kmcl_shim(vmb_rx_channel(rx));
	uint8_t *ctx;

	if (k == NULL || k->user_ctx == 0)
		return NULL;
	ctx = vmb_rx_context(rx);
	return ctx ? ctx + k->mdl_cap * sizeof(MDL) : NULL;
}

/* ---- MDL helpers ---- */

NTSTATUS
VmbKmclMdlInitialize(PMDL mdl, PFN_NUMBER *pages, UINT32 page_count, UINT32 byte_offset,
		     UINT32 byte_count)
{
	if (mdl == NULL)
		return STATUS_INVALID_PARAMETER_1;
	if (pages == NULL)
		return STATUS_INVALID_PARAMETER_2;
	if (byte_offset >= VMBKMCL_PAGE_SIZE)
		return STATUS_INVALID_PARAMETER_4;
	if (byte_count == 0)
		return STATUS_INVALID_PARAMETER_5;
	if (page_count < VmbKmclSpanPages(byte_offset, byte_count))
		return STATUS_INVALID_PARAMETER_3;
	mdl->Next = NULL;
	mdl->ByteOffset = byte_offset;
	mdl->ByteCount = byte_count;
	mdl->PageCount = page_count;
	mdl->Reserved = 0;
	mdl->Pages = pages;
	return STATUS_SUCCESS;
}

NTSTATUS
VmbKmclMdlCopy(VMBCHANNEL ch, PMDL mdl, UINT32 offset, PVOID buffer, UINT32 length, BOOLEAN to_mdl)
{
	static const NTSTATUS walk_status[] = {STATUS_SUCCESS, STATUS_INVALID_PARAMETER_2,
					       STATUS_INVALID_PARAMETER_3,
					       STATUS_INVALID_PARAMETER_5};
	const struct vmb_guest_mem *gm;
	struct ranges r;
	uint8_t *b = buffer;
	uint32_t i;
	int rc;

	if (vmb_channel_state(ch) < 0)
		return STATUS_INVALID_HANDLE;
	if (mdl == NULL)
		return STATUS_INVALID_PARAMETER_2;
	if (length == 0)
		return STATUS_SUCCESS;
	if (buffer == NULL)
		return STATUS_INVALID_PARAMETER_4;
	gm = vmb_channel_guest_mem(ch);
	if (gm == NULL)
		return STATUS_DEVICE_NOT_READY;
	rc = mdl_ranges(mdl, offset, length, false, &r);
	if (rc)
		return rc < 0 ? STATUS_INSUFFICIENT_RESOURCES : walk_status[rc];
	for (i = 0; i < r.n; i++) {
		uint32_t done = 0, at = r.v[i].byte_offset;
		const uint64_t *pfn = r.v[i].pfns;

		/* Page by page: consecutive guest pages need not be consecutive numbers. */
		while (done < r.v[i].byte_count) {
			uint32_t in_page = VMBKMCL_PAGE_SIZE - at, n = r.v[i].byte_count - done;
			uint8_t *g;

			if (n > in_page)
				n = in_page;
			if (*pfn > UINT64_MAX / VMBKMCL_PAGE_SIZE ||
			    (g = vmb_mem_gpa_ptr(gm, *pfn * VMBKMCL_PAGE_SIZE + at, n)) == NULL) {
				ranges_fini(&r);
				return STATUS_INVALID_PARAMETER;
			}
			if (to_mdl)
				memcpy(g, b, n);
			else
				memcpy(b, g, n);
			b += n;
			done += n;
			at = 0;
			pfn++;
		}
	}
	ranges_fini(&r);
	return STATUS_SUCCESS;
}

/* ---- GPADLs: the native layer has no per-channel GPADL facility (the rings' GPADL belongs to
 * the transport) ---- */

NTSTATUS
VmbChannelCreateGpadlFromMdl(VMBCHANNEL ch, UINT32 flags, PMDL mdl, UINT32 offset, UINT32 length,
			     PUINT32 handle)
{
	(void)flags;
	(void)mdl;
	(void)offset;
	(void)length;
	if (handle)
		*handle = 0;
	return vmb_channel_state(ch) < 0 ? STATUS_INVALID_HANDLE : STATUS_NOT_SUPPORTED;
}

NTSTATUS
VmbChannelCreateGpadlFromBuffer(VMBCHANNEL ch, UINT32 flags, PVOID buf, UINT32 bytes,
				PUINT32 handle)
{
	(void)flags;
	(void)buf;
	(void)bytes;
	if (handle)
		*handle = 0;
	return vmb_channel_state(ch) < 0 ? STATUS_INVALID_HANDLE : STATUS_NOT_SUPPORTED;
}

VOID
VmbChannelDeleteGpadl(VMBCHANNEL ch, UINT32 handle)
{
	(void)ch;
	(void)handle;
}

NTSTATUS
VmbChannelMapGpadl(VMBCHANNEL ch, UINT32 flags, UINT32 handle, PMDL *mdl)
{
	(void)flags;
	(void)handle;
	if (mdl)
		*mdl = NULL;
	return vmb_channel_state(ch) < 0 ? STATUS_INVALID_HANDLE : STATUS_NOT_SUPPORTED;
}

VOID
VmbChannelUnmapGpadl(VMBCHANNEL ch, UINT32 handle)
{
	(void)ch;
	(void)handle;
}
