/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Servicing: hand a running VMBus host over to a successor process (see vmb_bus.h).
 *
 * Two phases keep the blackout short. Pre-copy, while the channels still run: the successor
 * says it is ready; a fixed header, every descriptor (SCM_RIGHTS batches) and the control-plane
 * state as a blob that refers to descriptors by index: the offers (identity only: callbacks
 * belong to each process), and per guest connection its state, version, half-received frame
 * (bytes and descriptors), GPADLs, half-built GPADLs, and per offer whether it is offered,
 * rescinded or open, with an open channel's ring location and eventfds. The successor maps
 * memory and rings and allocates and prepares its channels, then says it is prepared. Nothing
 * of that can change meanwhile: the old host's control thread is here, not serving messages.
 * Blackout: the old host stops and saves every open channel and sends the save streams, in the
 * order of the pre-copy; the successor restores, opens and starts each, and acknowledges.
 * Everything read is checked: a successor refuses what does not add up.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vmb/vmb_save.h>

#include "vmb_bus_host_priv.h"

#define SVC_MAGIC 0x48424d56u /* "VMBH" */
#define SVC_READY 0x59444552u    /* "REDY": the successor runs and waits for the state */
#define SVC_PREPARED 0x50455250u /* "PREP": pre-copy taken; the blackout may begin */
#define SVC_ABORT UINT64_MAX     /* in place of the streams' length: the old host gave up */
#define SVC_VERSION 1u
#define SVC_FD_BATCH 64u
#define SVC_TIMEOUT_MS 10000

struct svc_hdr {
	uint32_t magic, version;
	uint32_t noffers, nconns, nfds, next_conn_id;
	uint64_t blob_len;
};

/* ---- a growable blob and descriptor list ---- */

struct blob {
	uint8_t *p;
	size_t len, cap;
	size_t off; /* reader position */
	int *fds;
	uint32_t nfds, fd_cap;
	bool bad;
};

static void *
blob_room(struct blob *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2 + 4096;
		uint8_t *q = realloc(b->p, cap);
		if (q == NULL) {
			b->bad = true;
			return NULL;
		}
		b->p = q;
		b->cap = cap;
	}
	b->len += n;
	return b->p + b->len - n;
}

static void
put(struct blob *b, const void *v, size_t n)
{
	void *at = blob_room(b, n);
	if (at && n)
		memcpy(at, v, n);
}

static void
put32(struct blob *b, uint32_t v)
{
	put(b, &v, sizeof(v));
}

static void
put_fd(struct blob *b, int fd)
{
	int32_t idx = -1;

	if (fd >= 0) {
		if (b->nfds == b->fd_cap) {
			uint32_t cap = b->fd_cap * 2 + 16;
			int *q = realloc(b->fds, cap * sizeof(*q));
			if (q == NULL) {
				b->bad = true;
				return;
			}
			b->fds = q;
			b->fd_cap = cap;
		}
		idx = (int32_t)b->nfds;
		b->fds[b->nfds++] = fd;
	}
	put(b, &idx, sizeof(idx));
}

static bool
get(struct blob *b, void *v, size_t n)
{
	if (b->bad || n > b->len - b->off) {
		b->bad = true;
		memset(v, 0, n);
		return false;
	}
	memcpy(v, b->p + b->off, n);
	b->off += n;
	return true;
}

static uint32_t
get32(struct blob *b)
{
	uint32_t v = 0;
	get(b, &v, sizeof(v));
	return v;
}

/* Take a descriptor by index (the blob's list owns it until taken). */
static int
get_fd(struct blob *b)
{
	int32_t idx = -1;
	int fd;

	get(b, &idx, sizeof(idx));
	if (idx < 0)
		return -1;
	if ((uint32_t)idx >= b->nfds || b->fds[idx] < 0) {
		b->bad = true;
		return -1;
	}
	fd = b->fds[idx];
	b->fds[idx] = -1;
	return fd;
}

static void
blob_free(struct blob *b, bool close_fds)
{
	uint32_t i;
	for (i = 0; close_fds && i < b->nfds; i++)
		if (b->fds[i] >= 0)
			close(b->fds[i]);
	free(b->p);
	free(b->fds);
	memset(b, 0, sizeof(*b));
}

/* ---- the hand-over socket (blocking, bounded by a timeout) ---- */

static int
wait_fd(int sock, short events)
{
	struct pollfd p = {.fd = sock, .events = events};
	int n = poll(&p, 1, SVC_TIMEOUT_MS);
	return n > 0 ? 0 : n == 0 ? -ETIMEDOUT : -errno;
}

static int
send_all(int sock, const void *p, size_t n)
{
	const uint8_t *q = p;
	while (n) {
		ssize_t k = send(sock, q, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			int rc = wait_fd(sock, POLLOUT);
			if (rc)
				return rc;
			continue;
		}
		if (k <= 0)
			return k < 0 ? -errno : -EPIPE;
		q += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
recv_all(int sock, void *p, size_t n)
{
	uint8_t *q = p;
	while (n) {
		ssize_t k = recv(sock, q, n, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			int rc = wait_fd(sock, POLLIN);
			if (rc)
				return rc;
			continue;
		}
		if (k <= 0)
			return k < 0 ? -errno : -ECONNRESET;
		q += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
send_fds(int sock, const int *fds, uint32_t n)
{
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int) * SVC_FD_BATCH)];
	} ctl;
	uint8_t one = 1;
	struct iovec iov = {.iov_base = &one, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b};
	struct cmsghdr *c;
	ssize_t k;
	int rc;

	memset(&ctl, 0, sizeof(ctl));
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	for (;;) {
		k = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k == 1)
			return 0;
		if (k < 0 && (errno == EAGAIN || errno == EINTR) && (rc = wait_fd(sock, POLLOUT)) == 0)
			continue;
		return k < 0 ? -errno : -EPIPE;
	}
}

static int
recv_fds(int sock, int *fds, uint32_t want)
{
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int) * SVC_FD_BATCH)];
	} ctl;
	uint8_t one;
	struct iovec iov = {.iov_base = &one, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b)};
	struct cmsghdr *c;
	uint32_t got = 0;
	ssize_t k;
	int rc;

	for (;;) {
		k = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (k < 0 && (errno == EAGAIN || errno == EINTR) && (rc = wait_fd(sock, POLLIN)) == 0)
			continue;
		break;
	}
	if (k != 1)
		return k < 0 ? -errno : -ECONNRESET;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		uint32_t n, i;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (uint32_t)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < want)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	return got == want && !(mh.msg_flags & MSG_CTRUNC) ? 0 : -EPROTO;
}

/* ---- out: the old host ---- */

static int
save_channel(struct vmb_channel *ch, struct blob *b)
{
	size_t chunk = 64 * 1024, start;
	int rc;

	rc = vmb_channel_pause(ch);
	if (rc == 0)
		rc = vmb_channel_save_begin(ch);
	if (rc)
		return rc;
	put32(b, 0); /* stream length, patched below */
	start = b->len;
	for (;;) {
		size_t filled = 0, required = 0;
		uint8_t *at = blob_room(b, chunk);
		if (at == NULL) {
			rc = -ENOMEM;
			break;
		}
		rc = vmb_channel_save_continue(ch, at, chunk, &filled, &required);
		b->len -= chunk - filled;
		if (rc == -ENOBUFS) {
			chunk = required;
			continue;
		}
		if (rc != 0 && rc != -EOVERFLOW)
			break;
		if (rc == 0)
			break;
		if (required > chunk)
			chunk = required;
	}
	vmb_channel_save_end(ch);
	if (rc == 0) {
		uint32_t len = (uint32_t)(b->len - start);
		memcpy(b->p + start - sizeof(len), &len, sizeof(len));
	}
	return rc;
}

static void
put_conn(struct vmb_bus_host *h, struct vmb_bus_conn *c, struct blob *b)
{
	uint32_t i, n = 0;

	put32(b, c->id);
	put32(b, c->state);
	put32(b, c->version);
	put_fd(b, c->sock);
	put_fd(b, c->have_mem ? c->mem.fd : -1);
	put32(b, c->rx.have);
	put(b, c->rx.buf, c->rx.have);
	put32(b, c->rx.nfds);
	for (i = 0; i < c->rx.nfds; i++)
		put_fd(b, c->rx.fds[i]);
	for (i = 0; i < c->gpadls.capacity; i++)
		n += c->gpadls.slots[i].id != 0;
	put32(b, n);
	for (i = 0; i < c->gpadls.capacity; i++) {
		const struct vmb_gpadl *g = &c->gpadls.slots[i];
		if (g->id == 0)
			continue;
		put32(b, g->id);
		put32(b, g->page_count);
		put(b, g->pfns, g->page_count * 8u);
	}
	for (i = 0, n = 0; i < MAX_PENDING_GPADLS; i++)
		n += c->pend[i].pfns != NULL;
	put32(b, n);
	for (i = 0; i < MAX_PENDING_GPADLS; i++) {
		const struct pending_gpadl *p = &c->pend[i];
		if (p->pfns == NULL)
			continue;
		put32(b, p->id);
		put32(b, p->chanid);
		put32(b, p->total);
		put32(b, p->got);
		put(b, p->pfns, p->got * 8u);
	}
	for (i = 0; i < h->noffers; i++) {
		struct host_chan *hc = &c->chans[i];
		uint8_t flags = (uint8_t)(hc->offered | hc->rescinded << 1 | hc->open << 2 |
					  hc->link.interrupt_mode << 3);
		put(b, &flags, 1);
		if (!hc->open)
			continue;
		put32(b, hc->ring_gpadl);
		put32(b, hc->txbr);
		put_fd(b, hc->link.wait_fd);
		put_fd(b, hc->link.signal_fd);
	}
}

/* The blackout: stop every open channel at once (one barrier wait, not one per channel), then
 * pause and save each, in pre-copy order. */
static int
save_all(struct vmb_bus_host *h, struct blob *b)
{
	uint32_t i, j;
	int rc = 0;

	for (i = 0; i < h->cfg.max_guests; i++) {
		struct vmb_bus_conn *c = h->conns[i];
		for (j = 0; c && j < h->noffers; j++)
			if (c->chans[j].open)
				vmb_channel_pause_begin(c->chans[j].ch);
	}
	for (i = 0; rc == 0 && i < h->cfg.max_guests; i++) {
		struct vmb_bus_conn *c = h->conns[i];
		for (j = 0; c && rc == 0 && j < h->noffers; j++)
			if (c->chans[j].open)
				rc = save_channel(c->chans[j].ch, b);
	}
	return rc ? rc : b->bad ? -ENOMEM : 0;
}

/* A failed hand-over: the channels we paused run again, and we keep serving. */
static void
resume_all(struct vmb_bus_host *h)
{
	uint32_t i, j;
	for (i = 0; i < h->cfg.max_guests; i++) {
		struct vmb_bus_conn *c = h->conns[i];
		for (j = 0; c && j < h->noffers; j++)
			if (c->chans[j].open)
				vmb_channel_start(c->chans[j].ch);
	}
}

static int
recv_word(int sock, uint32_t want)
{
	uint32_t w = 0;
	int rc = recv_all(sock, &w, sizeof(w));
	return rc ? rc : w == want ? 0 : -EPROTO;
}

int
vmb_bus_host_service_out(struct vmb_bus_host *h, int sock)
{
	struct blob b = {0}, streams = {0};
	struct svc_hdr hdr = {.magic = SVC_MAGIC, .version = SVC_VERSION};
	uint64_t len;
	uint32_t i;
	int rc;

	if (h == NULL || sock < 0)
		return -EINVAL;
	if (h->handed_off)
		return -EPERM;
	/* The successor announces itself first: its start-up (exec, loading) is no part of the
	 * blackout. */
	rc = recv_word(sock, SVC_READY);
	if (rc)
		return rc;

	/* Pre-copy: the control-plane state, while the channels run. */
	put_fd(&b, h->lsock);
	for (i = 0; i < h->noffers; i++) {
		const struct vmb_bus_offer *o = &h->offers[i];
		uint8_t live = h->offer_live[i];
		put(&b, o->type.b, 16);
		put(&b, o->instance.b, 16);
		put(&b, &o->subchannel, sizeof(o->subchannel));
		put(&b, o->user_data, sizeof(o->user_data));
		put(&b, &live, 1);
	}
	for (i = 0; i < h->cfg.max_guests; i++) {
		if (h->conns[i] == NULL)
			continue;
		hdr.nconns++;
		put_conn(h, h->conns[i], &b);
	}
	hdr.noffers = h->noffers;
	hdr.nfds = b.nfds;
	hdr.next_conn_id = h->next_conn_id;
	hdr.blob_len = b.len;
	rc = b.bad ? -ENOMEM : send_all(sock, &hdr, sizeof(hdr));
	for (i = 0; rc == 0 && i < b.nfds; i += SVC_FD_BATCH)
		rc = send_fds(sock, b.fds + i, b.nfds - i < SVC_FD_BATCH ? b.nfds - i : SVC_FD_BATCH);
	if (rc == 0)
		rc = send_all(sock, b.p, b.len);
	if (rc == 0)
		rc = recv_word(sock, SVC_PREPARED);
	blob_free(&b, false); /* the descriptors are ours: the blob only listed them */
	if (rc)
		return rc; /* nothing was paused: we simply keep serving */

	/* Blackout: stop, save, send the streams; the successor restores and acknowledges. */
	{
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		h->blackout_start_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	rc = save_all(h, &streams);
	len = rc ? SVC_ABORT : streams.len;
	if (send_all(sock, &len, sizeof(len)) != 0 && rc == 0)
		rc = -EPIPE;
	if (rc == 0)
		rc = send_all(sock, streams.p, streams.len);
	if (rc == 0)
		rc = recv_word(sock, SVC_MAGIC);
	blob_free(&streams, false);
	if (rc) {
		resume_all(h);
		return rc;
	}
	h->handed_off = true;
	return 0;
}

uint64_t
vmb_bus_host_blackout_start_ns(const struct vmb_bus_host *h)
{
	return h ? h->blackout_start_ns : 0;
}

void
vmb_bus_host_abandon(struct vmb_bus_host *h)
{
	uint32_t i, j;

	if (h == NULL)
		return;
	for (i = 0; i < h->cfg.max_guests; i++) {
		struct vmb_bus_conn *c = h->conns[i];
		if (c == NULL)
			continue;
		for (j = 0; j < h->noffers; j++) {
			struct host_chan *hc = &c->chans[j];
			struct vmb_channel *ch = hc->ch;
			if (!hc->open)
				continue;
			/* Saved and frozen: the VSP lets go of it without a word to the guest. */
			vmb_channel_detach_transport(ch);
			hc->open = false;
			hc->ch = NULL;
			hc->bound = NULL;
			if (h->offers[j].on_close)
				h->offers[j].on_close(h->offers[j].ctx, c, j, ch);
			vmb_bus_unmap_chan(hc);
		}
		/* our copies of the socket and memory go; the successor holds its own */
		vmb_bus_conn_free(c);
		h->conns[i] = NULL;
	}
	if (h->lsock >= 0)
		close(h->lsock);
	h->lsock = -1;
	h->path[0] = '\0'; /* the socket file belongs to the successor now */
	vmb_bus_host_destroy(h);
}

/* ---- in: the successor ---- */

/* Feed a channel save stream (concatenated chunks) to a fresh channel. */
static int
restore_stream(struct vmb_channel *ch, const uint8_t *p, size_t len)
{
	size_t off = 0;
	int rc = -EPROTO;

	while (off < len) {
		struct vmb_save_chunk_info ci;
		size_t n;
		if (len - off < VMB_SAVE_CHUNK_HEADER)
			return -EPROTO;
		vmb_save_chunk_info(p + off, VMB_SAVE_CHUNK_HEADER, &ci);
		n = VMB_SAVE_CHUNK_HEADER + (size_t)ci.payload_len;
		if (n > len - off)
			return -EPROTO;
		rc = vmb_channel_restore(ch, p + off, n);
		off += n;
		if (off < len ? rc != -EINPROGRESS : rc != 0)
			return rc == 0 ? -EPROTO : rc;
	}
	return rc;
}

/* Pre-copy: map the rings and have the VSP allocate and configure the channel. */
static int
take_chan(struct vmb_bus_host *h, struct vmb_bus_conn *c, uint32_t i, struct blob *b)
{
	struct host_chan *hc = &c->chans[i];
	const struct vmb_gpadl *g;
	struct vmb_channel *ch;
	int rc;

	hc->ring_gpadl = get32(b);
	hc->txbr = get32(b);
	hc->link.wait_fd = get_fd(b);
	hc->link.signal_fd = get_fd(b);
	if (b->bad)
		return -EPROTO;
	g = vmb_gpadl_find(&c->gpadls, hc->ring_gpadl);
	if (g == NULL || g->page_count < 4 || hc->txbr < 2 || hc->txbr > g->page_count - 2)
		return -EPROTO;
	rc = vmb_ring_map(&c->mem, g, 0, hc->txbr, &hc->link.incoming, &hc->m_in);
	if (rc == 0)
		rc = vmb_ring_map(&c->mem, g, hc->txbr, g->page_count - hc->txbr, &hc->link.outgoing,
				  &hc->m_out);
	if (rc)
		return rc;
	hc->link.guest_mem = &c->mem;
	ch = h->offers[i].on_open(h->offers[i].ctx, c, i);
	if (ch == NULL)
		return -ENOMEM;
	hc->ch = ch;
	hc->open = true;
	return vmb_channel_prepare(ch); /* tables now, not during the blackout */
}

/* Blackout: restore the channel from its stream, open it on the same rings, start it. */
static int
finish_chan(struct host_chan *hc, struct blob *b)
{
	uint32_t stream_len = get32(b);
	int rc;

	if (b->bad || stream_len > b->len - b->off)
		return -EPROTO;
	rc = restore_stream(hc->ch, b->p + b->off, stream_len);
	b->off += stream_len;
	if (rc == 0)
		rc = vmb_channel_set_transport(hc->ch, &vmb_bus_host_ops, hc);
	if (rc == 0)
		rc = vmb_channel_enable(hc->ch); /* link_open on the same rings */
	if (rc == 0)
		rc = vmb_channel_start(hc->ch);
	if (rc == 0)
		hc->bound = hc->ch;
	return rc;
}

static int
take_conn(struct vmb_bus_host *h, struct blob *b, uint32_t slot)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct vmb_bus_conn *c = vmb_bus_conn_alloc(h);
	uint32_t i, n, memfd;
	int fd, rc = 0;

	if (c == NULL)
		return -ENOMEM;
	h->conns[slot] = c; /* from here, a failure frees it with the host */
	c->id = get32(b);
	c->state = get32(b);
	c->version = get32(b);
	c->sock = get_fd(b);
	memfd = (uint32_t)get_fd(b);
	fd = (int)memfd;
	if (fd >= 0) {
		rc = vmb_mem_attach_fd(&c->mem, fd);
		close(fd);
		if (rc)
			return rc;
		c->have_mem = true;
	}
	c->rx.have = get32(b);
	if (c->rx.have > sizeof(c->rx.buf))
		return -EPROTO;
	get(b, c->rx.buf, c->rx.have);
	c->rx.nfds = get32(b);
	if (c->rx.nfds > VMB_BUS_MAX_FDS)
		return -EPROTO;
	for (i = 0; i < c->rx.nfds; i++)
		c->rx.fds[i] = get_fd(b);
	n = get32(b);
	for (i = 0; i < n && !b->bad; i++) {
		uint32_t id = get32(b), pages = get32(b);
		uint64_t *pfns;
		if (pages == 0 || pages > h->cfg.max_gpadl_pages || (size_t)pages * 8 > b->len - b->off)
			return -EPROTO;
		pfns = malloc(pages * 8u);
		if (pfns == NULL)
			return -ENOMEM;
		get(b, pfns, pages * 8u);
		/* every GPADL, rings and buffers alike (a VSP maps the latter by id); checked
		 * against the guest's memory, ids unique and not 0 */
		rc = c->have_mem ? vmb_bus_conn_gpadl_add(c, id, pfns, pages) : -EPROTO;
		free(pfns);
		if (rc)
			return -EPROTO;
	}
	n = get32(b);
	if (n > MAX_PENDING_GPADLS)
		return -EPROTO;
	for (i = 0; i < n && !b->bad; i++) {
		struct pending_gpadl *p = &c->pend[i];
		p->id = get32(b);
		p->chanid = get32(b);
		p->total = get32(b);
		p->got = get32(b);
		if (p->id == 0 || p->total == 0 || p->total > h->cfg.max_gpadl_pages ||
		    p->got > p->total)
			return -EPROTO;
		p->pfns = malloc(p->total * 8u);
		if (p->pfns == NULL)
			return -ENOMEM;
		get(b, p->pfns, p->got * 8u);
	}
	for (i = 0; i < h->noffers && !b->bad; i++) {
		struct host_chan *hc = &c->chans[i];
		uint8_t flags = 0;
		get(b, &flags, 1);
		hc->offered = flags & 1;
		hc->rescinded = (flags >> 1) & 1;
		hc->link.interrupt_mode = (flags >> 3) & 1;
		if (flags & 4) {
			rc = take_chan(h, c, i, b);
			if (rc)
				return rc;
		}
	}
	if (b->bad || c->sock < 0)
		return -EPROTO;
	ev.data.ptr = c;
	return epoll_ctl(h->epfd, EPOLL_CTL_ADD, c->sock, &ev) == 0 ? 0 : -errno;
}

int
vmb_bus_host_service_in(const struct vmb_bus_host_config *cfg, const struct vmb_bus_offer *offers,
			uint32_t noffers, int sock, struct vmb_bus_host **out)
{
	struct svc_hdr hdr;
	struct vmb_bus_host *h = NULL;
	struct blob b = {0};
	uint32_t i;
	int rc, lsock;

	if (cfg == NULL || out == NULL || sock < 0 || (noffers && offers == NULL))
		return -EINVAL;
	{
		uint32_t ready = SVC_READY;
		rc = send_all(sock, &ready, sizeof(ready));
		if (rc)
			return rc;
	}
	rc = recv_all(sock, &hdr, sizeof(hdr));
	if (rc)
		return rc;
	if (hdr.magic != SVC_MAGIC || hdr.version != SVC_VERSION || hdr.nfds > 1u << 20 ||
	    hdr.blob_len > 1ull << 32)
		return -EPROTO;
	b.fds = calloc(hdr.nfds + 1, sizeof(int));
	b.fd_cap = hdr.nfds + 1;
	b.p = malloc(hdr.blob_len + 1);
	if (b.fds == NULL || b.p == NULL) {
		blob_free(&b, false);
		return -ENOMEM;
	}
	for (i = 0; rc == 0 && i < hdr.nfds; i += SVC_FD_BATCH) {
		uint32_t n = hdr.nfds - i < SVC_FD_BATCH ? hdr.nfds - i : SVC_FD_BATCH;
		rc = recv_fds(sock, b.fds + i, n);
		if (rc == 0)
			b.nfds = i + n;
	}
	if (rc == 0)
		rc = recv_all(sock, b.p, hdr.blob_len);
	b.len = hdr.blob_len;
	if (rc == 0)
		rc = vmb_bus_host_alloc(cfg, &h);
	if (rc)
		goto fail;
	if (hdr.noffers != noffers || noffers > h->cfg.max_channels || hdr.nconns > h->cfg.max_guests) {
		rc = -EXDEV;
		goto fail;
	}
	lsock = get_fd(&b);
	if (lsock < 0 || (rc = vmb_bus_host_listen_on(h, lsock)) != 0) {
		if (lsock >= 0)
			close(lsock);
		rc = rc ? rc : -EPROTO;
		goto fail;
	}
	for (i = 0; i < noffers; i++) {
		struct vmb_bus_offer o = offers[i];
		uint8_t live = 0, t[16], inst[16];
		uint16_t sub = 0;
		get(&b, t, 16);
		get(&b, inst, 16);
		get(&b, &sub, sizeof(sub));
		get(&b, o.user_data, sizeof(o.user_data));
		get(&b, &live, 1);
		/* The successor must offer the same channels, in the same order. */
		if (o.on_open == NULL || memcmp(t, o.type.b, 16) || memcmp(inst, o.instance.b, 16) ||
		    sub != o.subchannel) {
			rc = -EXDEV;
			goto fail;
		}
		h->offers[i] = o;
		h->offer_live[i] = live;
	}
	h->noffers = noffers;
	h->next_conn_id = hdr.next_conn_id;
	for (i = 0; i < hdr.nconns; i++) {
		rc = take_conn(h, &b, i);
		if (rc)
			goto fail;
	}
	if (b.bad || b.off != b.len) {
		rc = -EPROTO;
		goto fail;
	}
	blob_free(&b, true); /* descriptors nobody took (none when the state adds up) */
	{
		uint32_t word = SVC_PREPARED;
		uint64_t len = 0;
		rc = send_all(sock, &word, sizeof(word));
		if (rc == 0)
			rc = recv_all(sock, &len, sizeof(len));
		if (rc == 0 && (len == SVC_ABORT || len > 1ull << 32))
			rc = len == SVC_ABORT ? -ECANCELED : -EPROTO;
		if (rc == 0 && (b.p = malloc(len + 1)) == NULL)
			rc = -ENOMEM;
		if (rc == 0)
			rc = recv_all(sock, b.p, len);
		b.len = len;
		b.off = 0;
	}
	/* the blackout: every open channel, in pre-copy order */
	for (i = 0; rc == 0 && i < hdr.nconns; i++) {
		struct vmb_bus_conn *c = h->conns[i];
		uint32_t j;
		for (j = 0; rc == 0 && j < h->noffers; j++)
			if (c->chans[j].open)
				rc = finish_chan(&c->chans[j], &b);
	}
	if (rc == 0 && b.off != b.len)
		rc = -EPROTO;
	if (rc == 0) {
		uint32_t ack = SVC_MAGIC;
		rc = send_all(sock, &ack, sizeof(ack));
	}
	if (rc)
		goto fail;
	blob_free(&b, false);
	*out = h;
	return 0;
fail:
	blob_free(&b, true);
	if (h) {
		h->path[0] = '\0'; /* never unlink the socket file we did not create */
		vmb_bus_host_destroy(h);
	}
	return rc;
}
