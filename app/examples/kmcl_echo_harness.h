/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * The echo protocol spoken by the sample VSP (kmcl_echo_vsp.c) and its emulated guest, and the
 * harness that plays the guest and the hypervisor (kmcl_echo_harness.c, native vmb_ API). The
 * VSP sees only this header and <kmcl/vmb_kmcl.h>.
 */
#ifndef KMCL_ECHO_HARNESS_H
#define KMCL_ECHO_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <kmcl/vmb_kmcl.h>

/* ---- protocol ---- */

/** Guest -> host: echo my payload back in the completion. */
#define ECHO_MSG_REQUEST 1u
/** Host -> guest: a notification the guest acknowledges with {ECHO_MSG_ACK, seq}. */
#define ECHO_MSG_NOTIFY 2u
/** Guest -> host, in the completion of a notification. */
#define ECHO_MSG_ACK 3u

/** Header of every message; @c len payload bytes follow. */
struct echo_msg {
	uint32_t type;
	uint32_t seq;
	uint32_t len;
	uint32_t check; /**< checksum of the payload */
};

/** Largest echo request (the completion carries it back: at most 256 bytes). */
#define ECHO_MAX_REQUEST 200u
/** Size of a notification on the wire (large, so the ring toward the guest fills up). */
#define ECHO_NOTIFY_SIZE 512u
/** Highest sequence number the harness tracks. */
#define ECHO_MAX_SEQ 4096u

/** The checksum carried in echo_msg.check. */
static inline uint32_t
echo_checksum(const uint8_t *p, uint32_t len)
{
	uint32_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* ---- harness: the emulated guest and hypervisor ---- */

struct echo_harness;

/** Guest memory, the in-process transport and an enabled-later guest channel end. */
int harness_create(struct echo_harness **out);
/** Bind the VSP's server channel (Disabled, configured) to the transport. */
int harness_attach(struct echo_harness *h, VMBCHANNEL server);
/** The guest enables its end: the channel opens once the server is enabled too. */
int harness_guest_enable(struct echo_harness *h);
/** Run @p rounds poll passes over the guest (unless stalled) and the server. The poll loop is
 *  the library's: in Windows it runs in KMCL's DPCs; here someone must drive it. */
void harness_pump(struct echo_harness *h, unsigned rounds);
/** Stalled guest: it neither reads its ring nor completes anything (a VM being saved). */
void harness_set_guest_stalled(struct echo_harness *h, bool stalled);
/** Servicing: the restored @p new_server takes over the rings from @p old_server. */
int harness_replace_server(struct echo_harness *h, VMBCHANNEL old_server, VMBCHANNEL new_server);
/** The guest sends echo request @p seq with @p len payload bytes (asks for a completion). */
int harness_guest_echo(struct echo_harness *h, uint32_t seq, uint32_t len);
/** Echo completions the guest received (verified) for @p seq. */
uint32_t harness_guest_echo_count(const struct echo_harness *h, uint32_t seq);
/** Notifications the guest received for @p seq. */
uint32_t harness_guest_notify_count(const struct echo_harness *h, uint32_t seq);
/** Echo requests the guest sent and has not seen completed. */
uint32_t harness_guest_echo_pending(const struct echo_harness *h);
/** Protocol violations the guest saw (bad payload, bad echo...). */
uint32_t harness_guest_errors(const struct echo_harness *h);
/** Disable the guest end (if still open) and free everything; the server must be Disabled. */
void harness_destroy(struct echo_harness *h);

#endif /* KMCL_ECHO_HARNESS_H */
