/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Control-plane frames: sending with descriptors, incremental receiving, message lengths.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vmb_bus_wire.h"

#define HDR sizeof(struct vmb_bus_frame_hdr)

void
vmb_bus_rx_init(struct vmb_bus_rx *rx)
{
	uint32_t i;

	rx->have = 0;
	rx->nfds = 0;
	for (i = 0; i < VMB_BUS_MAX_FDS; i++)
		rx->fds[i] = -1;
}

void
vmb_bus_rx_reset(struct vmb_bus_rx *rx)
{
	uint32_t i;

	for (i = 0; i < VMB_BUS_MAX_FDS; i++) {
		if (rx->fds[i] >= 0)
			close(rx->fds[i]);
		rx->fds[i] = -1;
	}
	rx->have = 0;
	rx->nfds = 0;
}

int
vmb_bus_rx_take_fd(struct vmb_bus_rx *rx, uint32_t i)
{
	int fd;

	if (i >= rx->nfds)
		return -1;
	fd = rx->fds[i];
	rx->fds[i] = -1;
	return fd;
}

uint32_t
vmb_bus_rx_type(const struct vmb_bus_rx *rx)
{
	struct vmbus_chanmsg_hdr h;

	if (vmb_bus_rx_len(rx) < sizeof(h))
		return 0;
	memcpy(&h, vmb_bus_rx_msg(rx), sizeof(h));
	return h.type;
}

/* Keep descriptors that came with the frame; anything beyond the limit is closed and makes
 * the frame malformed. */
static int
collect_fds(struct vmb_bus_rx *rx, struct msghdr *mh)
{
	struct cmsghdr *c;
	int rc = 0;

	if (mh->msg_flags & MSG_CTRUNC)
		rc = -EPROTO;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;
		int fd;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			rc = -EPROTO;
			continue;
		}
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (rx->nfds < VMB_BUS_MAX_FDS) {
				rx->fds[rx->nfds++] = fd;
			} else {
				close(fd);
				rc = -EPROTO;
			}
		}
	}
	return rc;
}

int
vmb_bus_recv(int sock, struct vmb_bus_rx *rx)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * VMB_BUS_MAX_FDS)];
	} ctl;

	for (;;) {
		struct vmb_bus_frame_hdr h;
		uint32_t want;
		struct iovec iov;
		struct msghdr mh;
		ssize_t n;
		int rc;

		if (rx->have < HDR) {
			want = HDR - rx->have;
		} else {
			memcpy(&h, rx->buf, HDR);
			want = HDR + h.len - rx->have;
			if (want == 0)
				return rx->nfds == h.nfds ? 1 : -EPROTO;
		}
		iov.iov_base = rx->buf + rx->have;
		iov.iov_len = want;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		rc = collect_fds(rx, &mh);
		if (rc)
			return rc;
		if (n == 0)
			return -ECONNRESET;
		rx->have += (uint32_t)n;
		if (rx->have == HDR) {
			memcpy(&h, rx->buf, HDR);
			if (h.magic != VMB_BUS_FRAME_MAGIC || h.len > VMB_BUS_MAX_PAYLOAD ||
			    h.nfds > VMB_BUS_MAX_FDS || h.rsvd != 0)
				return -EPROTO;
		}
	}
}

/* Attach @p nfds descriptors (SCM_RIGHTS) to @p mh, in @p buf of
 * CMSG_SPACE(sizeof(int) * VMB_BUS_MAX_FDS) bytes. */
static void
attach_fds(struct msghdr *mh, char *buf, const int *fds, uint32_t nfds)
{
	struct cmsghdr *c;

	memset(buf, 0, CMSG_SPACE(sizeof(int) * VMB_BUS_MAX_FDS));
	mh->msg_control = buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
}

int
vmb_bus_send(int sock, const void *msg, uint32_t len, const int *fds, uint32_t nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * VMB_BUS_MAX_FDS)];
	} ctl;
	struct vmb_bus_frame_hdr h = {.magic = VMB_BUS_FRAME_MAGIC, .len = (uint16_t)len,
				      .nfds = (uint8_t)nfds};
	struct iovec iov[2] = {{.iov_base = &h, .iov_len = HDR},
			       {.iov_base = (void *)(uintptr_t)msg, .iov_len = len}};
	struct msghdr mh;
	ssize_t n;

	if (len > VMB_BUS_MAX_PAYLOAD || nfds > VMB_BUS_MAX_FDS || (nfds && fds == NULL))
		return -EINVAL;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (nfds)
		attach_fds(&mh, ctl.buf, fds, nfds);
	n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* A frame is small; a partial write means the peer is not reading. */
	return (size_t)n == HDR + len ? 0 : -EAGAIN;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
vmb_bus_send_wait(int sock, const void *msg, uint32_t len, const int *fds, uint32_t nfds,
		  int timeout_ms)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * VMB_BUS_MAX_FDS)];
	} ctl;
	struct vmb_bus_frame_hdr h = {.magic = VMB_BUS_FRAME_MAGIC, .len = (uint16_t)len,
				      .nfds = (uint8_t)nfds};
	uint8_t frame[HDR + VMB_BUS_MAX_PAYLOAD];
	int64_t deadline = mono_ms() + timeout_ms;
	size_t total = HDR + len, done = 0;

	if (len > VMB_BUS_MAX_PAYLOAD || nfds > VMB_BUS_MAX_FDS || (nfds && fds == NULL) ||
	    (len && msg == NULL))
		return -EINVAL;
	memcpy(frame, &h, HDR);
	if (len)
		memcpy(frame + HDR, msg, len);
	while (done < total) {
		struct iovec iov = {.iov_base = frame + done, .iov_len = total - done};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;

		/* the descriptors travel with the frame's first byte */
		if (nfds && done == 0)
			attach_fds(&mh, ctl.buf, fds, nfds);
		n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EWOULDBLOCK) {
			struct pollfd p = {.fd = sock, .events = POLLOUT};
			int64_t left = deadline - mono_ms();
			int k;
			if (left <= 0)
				return -ETIMEDOUT;
			k = poll(&p, 1, (int)left);
			if (k < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

uint32_t
vmb_bus_msg_min_len(uint32_t type)
{
	switch (type) {
	case VMBUS_CHANMSG_TYPE_CHOFFER:
		return sizeof(struct vmbus_chanmsg_choffer);
	case VMBUS_CHANMSG_TYPE_CHRESCIND:
		return sizeof(struct vmbus_chanmsg_chrescind);
	case VMBUS_CHANMSG_TYPE_CHREQUEST:
	case VMBUS_CHANMSG_TYPE_CHOFFER_DONE:
	case VMBUS_CHANMSG_TYPE_DISCONNECT:
	case VMB_BUS_MSG_UNLOAD_RESPONSE:
		return sizeof(struct vmbus_chanmsg_hdr);
	case VMBUS_CHANMSG_TYPE_CHOPEN:
		return sizeof(struct vmbus_chanmsg_chopen);
	case VMBUS_CHANMSG_TYPE_CHOPEN_RESP:
		return sizeof(struct vmbus_chanmsg_chopen_resp);
	case VMBUS_CHANMSG_TYPE_CHCLOSE:
		return sizeof(struct vmbus_chanmsg_chclose);
	case VMBUS_CHANMSG_TYPE_GPADL_CONN:
		return sizeof(struct vmbus_chanmsg_gpadl_conn);
	case VMBUS_CHANMSG_TYPE_GPADL_SUBCONN:
		return sizeof(struct vmbus_chanmsg_gpadl_subconn) + sizeof(uint64_t);
	case VMBUS_CHANMSG_TYPE_GPADL_CONNRESP:
		return sizeof(struct vmbus_chanmsg_gpadl_connresp);
	case VMBUS_CHANMSG_TYPE_GPADL_DISCONN:
		return sizeof(struct vmbus_chanmsg_gpadl_disconn);
	case VMBUS_CHANMSG_TYPE_GPADL_DISCONNRESP:
		return sizeof(struct vmb_bus_msg_gpadl_torndown);
	case VMBUS_CHANMSG_TYPE_CHFREE:
		return sizeof(struct vmbus_chanmsg_chfree);
	case VMBUS_CHANMSG_TYPE_CONNECT:
		return sizeof(struct vmbus_chanmsg_connect);
	case VMBUS_CHANMSG_TYPE_CONNECT_RESP:
		return sizeof(struct vmbus_chanmsg_connect_resp);
	default:
		return 0;
	}
}

int
vmb_bus_wait_readable(int sock, int timeout_ms)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n > 0 ? 1 : 0;
}
