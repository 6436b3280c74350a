/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Frames of the control-plane socket (internal). A frame is an 8-byte header, then one VMBus
 * channel message (at most 240 bytes, like a SynIC message payload), with up to four file
 * descriptors attached as SCM_RIGHTS to the same sendmsg(). The receiver is incremental and
 * never reads past the frame it is assembling, so a peer that sends half a frame can not stall
 * the reader, and descriptors always belong to exactly one frame.
 */
#ifndef VMB_BUS_WIRE_H
#define VMB_BUS_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_vmbus_reg.h>

#define VMB_BUS_FRAME_MAGIC 0x46424d56u /* "VMBF" */
#define VMB_BUS_MAX_PAYLOAD VMBUS_MSG_DSIZE_MAX
#define VMB_BUS_MAX_FDS 4u

/* Message types not named by rte_vmbus_reg.h. */
#define VMB_BUS_MSG_UNLOAD_RESPONSE 17u

struct vmb_bus_frame_hdr {
	uint32_t magic;
	uint16_t len;   /**< payload bytes (a channel message) */
	uint8_t nfds;   /**< descriptors attached */
	uint8_t rsvd;
} __attribute__((packed));

/* GPADL_TORNDOWN (12) body: not in rte_vmbus_reg.h. */
struct vmb_bus_msg_gpadl_torndown {
	struct vmbus_chanmsg_hdr hdr;
	uint32_t gpadl;
} __attribute__((packed));

/** A frame being received. */
struct vmb_bus_rx {
	uint8_t buf[sizeof(struct vmb_bus_frame_hdr) + VMB_BUS_MAX_PAYLOAD];
	uint32_t have;
	int fds[VMB_BUS_MAX_FDS];
	uint32_t nfds;
};

void vmb_bus_rx_init(struct vmb_bus_rx *rx);
/** Close descriptors not taken by the handler and start the next frame. */
void vmb_bus_rx_reset(struct vmb_bus_rx *rx);
/** Take descriptor @p i of the complete frame (the caller owns it then). */
int vmb_bus_rx_take_fd(struct vmb_bus_rx *rx, uint32_t i);

/**
 * Read what is available of the current frame (non-blocking socket).
 * @return 1 a whole frame is ready (vmb_bus_rx_msg/len), 0 more bytes needed, -ECONNRESET
 *         peer closed, -EPROTO malformed header or descriptors, or -errno.
 */
int vmb_bus_recv(int sock, struct vmb_bus_rx *rx);

static inline const void *
vmb_bus_rx_msg(const struct vmb_bus_rx *rx)
{
	return rx->buf + sizeof(struct vmb_bus_frame_hdr);
}

static inline uint32_t
vmb_bus_rx_len(const struct vmb_bus_rx *rx)
{
	struct vmb_bus_frame_hdr h;
	__builtin_memcpy(&h, rx->buf, sizeof(h));
	return h.len;
}

/** Message type of a complete frame (0 if shorter than a message header). */
uint32_t vmb_bus_rx_type(const struct vmb_bus_rx *rx);

/**
 * Send one frame without blocking: a peer that does not read is a failed peer.
 * @return 0, -EAGAIN (would block: the caller drops the peer), -EPIPE, -EINVAL, or -errno.
 */
int vmb_bus_send(int sock, const void *msg, uint32_t len, const int *fds, uint32_t nfds);

/**
 * Send one frame, waiting up to @p timeout_ms for room in the socket (and completing a partial
 * write): for a guest, whose host reads everything it is sent but may be slower than a burst of
 * frames (a large GPADL is hundreds). A host never uses this: a guest that stops reading must
 * not hold it up.
 * @return 0; -ETIMEDOUT (the frame may be partly sent: the stream is then unusable); -EINVAL;
 *         -EPIPE or -errno.
 */
int vmb_bus_send_wait(int sock, const void *msg, uint32_t len, const int *fds, uint32_t nfds,
		      int timeout_ms);

/** Smallest valid length of a message of @p type (0: unknown type). */
uint32_t vmb_bus_msg_min_len(uint32_t type);

/** Wait until @p sock is readable, up to @p timeout_ms. @return 1 readable, 0 timeout, -errno. */
int vmb_bus_wait_readable(int sock, int timeout_ms);

#endif /* VMB_BUS_WIRE_H */
