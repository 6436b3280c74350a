/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * kmcl-echo-vsp: a sample VSP written against the KMCL face only (<kmcl/vmb_kmcl.h>; the
 * emulated guest and hypervisor live in kmcl_echo_harness.c).
 *
 * The VSP offers a server channel that
 *  - echoes every guest request back in the request's completion (EvtChannelProcessPacket ->
 *    VmbChannelPacketComplete);
 *  - sends notifications to the guest as packet objects with a completion routine
 *    (VmbPacketAllocate / VmbPacketSend with WAIT_FOR_COMPLETION); the guest's acknowledgement
 *    arrives in the completion;
 *  - saves and restores its pending notifications (EvtVmbChannelSavePacket /
 *    EvtVmbChannelRestorePacket / VmbPacketRestore).
 *
 * The run: traffic; the guest stalls (a VM being saved) while notifications back up in the ring
 * and in the channel's queue and echo completions wait for ring space; VmbChannelPause;
 * VmbChannelSaveBegin / SaveContinue loop (the KMCL loop: grow on STATUS_BUFFER_TOO_SMALL,
 * keep every chunk on STATUS_BUFFER_OVERFLOW) / SaveEnd; a new channel restored chunk by chunk
 * (STATUS_MORE_PROCESSING_REQUIRED until the last); the new channel takes over the rings;
 * Enable + Start; the guest resumes; more traffic. Every transaction must complete exactly
 * once. All KMCL calls go through the KMCL_SERVER_INTERFACE_V1 table, as a Windows 10 1803+
 * driver would use them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmcl/vmb_kmcl.h>

#include "kmcl_echo_harness.h"

static KMCL_SERVER_INTERFACE_V1 Kmcl; /* filled by VmbKmclQueryInterface() */

/* {8f1c2a64-5e0b-4bd8-9a1e-2f44c3b0e771}: the echo device's interface type */
static const GUID EchoInterfaceType = {
	0x8f1c2a64, 0x5e0b, 0x4bd8, {0x9a, 0x1e, 0x2f, 0x44, 0xc3, 0xb0, 0xe7, 0x71}};
/* {4a6d0c1e-93f7-4e52-b3c8-61d2f9a0b5c4}: this instance */
static const GUID EchoInterfaceInstance = {
	0x4a6d0c1e, 0x93f7, 0x4e52, {0xb3, 0xc8, 0x61, 0xd2, 0xf9, 0xa0, 0xb5, 0xc4}};

#define HELLO_SEQ_BASE 4000u /* notifications sent from EvtChannelPostStarted */
#define NOTIFY_TX_MAGIC 0x4e544659u

/* One channel instance of the device (A before servicing, B after). */
struct echo_instance {
	const char *name;
	VMBCHANNEL channel;
	BOOLEAN retired; /* its state went to a successor: cancellations are expected */
	unsigned opened, started, post_started, suspended, closed;
	unsigned echoed, batches, notifications, restored, handed_over;
	uint32_t hello_seq;
	NTSTATUS hello_status;
};

/* Per-transaction state of a notification (the VSP's own part of a packet object). */
struct notify_tx {
	uint32_t magic;
	uint32_t seq;
	struct echo_instance *inst;
};

/* What the VSP saves per pending packet. */
struct notify_saved {
	uint32_t magic;
	uint32_t seq;
};

static struct {
	unsigned notify_done[ECHO_MAX_SEQ]; /* acknowledged by the guest (any instance) */
	unsigned notify_sent, notify_acked, notify_handed_over;
	unsigned errors;
} Vsp;

#define VSP_FAIL(...)                                                                           \
	do {                                                                                    \
		fprintf(stderr, "kmcl-echo-vsp: " __VA_ARGS__);                                  \
		Vsp.errors++;                                                                   \
	} while (0)

/* ---- state-change callbacks (PASSIVE: may block) ---- */

static NTSTATUS
EvtChannelOpened(VMBCHANNEL Channel)
{
	struct echo_instance *inst = Kmcl.VmbChannelGetPointer(Channel);
	GUID instance;

	inst->opened++;
	Kmcl.VmbChannelGetInterfaceInstance(Channel, &instance);
	if (memcmp(&instance, &EchoInterfaceInstance, sizeof(instance)) != 0)
		VSP_FAIL("%s: wrong interface instance\n", inst->name);
	printf("[%s] EvtChannelOpened\n", inst->name);
	return STATUS_SUCCESS;
}

static VOID
EvtChannelClosed(VMBCHANNEL Channel)
{
	struct echo_instance *inst = Kmcl.VmbChannelGetPointer(Channel);

	inst->closed++;
	printf("[%s] EvtChannelClosed\n", inst->name);
}

static VOID
EvtChannelSuspend(VMBCHANNEL Channel)
{
	struct echo_instance *inst = Kmcl.VmbChannelGetPointer(Channel);

	inst->suspended++;
	printf("[%s] EvtChannelSuspend\n", inst->name);
}

static VOID
EvtChannelStarted(VMBCHANNEL Channel)
{
	struct echo_instance *inst = Kmcl.VmbChannelGetPointer(Channel);

	inst->started++;
	printf("[%s] EvtChannelStarted\n", inst->name);
}

/* The queue runs: say hello with a 0-timeout synchronous request (the only form a host may
 * use). It is not queued: when older packets still wait for ring space it answers
 * STATUS_BUFFER_OVERFLOW, which is fine for a hello. */
static VOID
EvtChannelPostStarted(VMBCHANNEL Channel)
{
	struct echo_instance *inst = Kmcl.VmbChannelGetPointer(Channel);
	uint8_t msg[ECHO_NOTIFY_SIZE] = {0};
	struct echo_msg m = {.type = ECHO_MSG_NOTIFY, .seq = inst->hello_seq};
	LARGE_INTEGER zero = {.QuadPart = 0};

	inst->post_started++;
	memcpy(msg, &m, sizeof(m));
	inst->hello_status = Kmcl.VmbChannelSendSynchronousRequest(Channel, msg, sizeof(msg), NULL, 0,
								   NULL, NULL, &zero);
	printf("[%s] EvtChannelPostStarted: hello -> 0x%08x\n", inst->name,
	       (unsigned)inst->hello_status);
	if (inst->hello_status != STATUS_SUCCESS && inst->hello_status != STATUS_BUFFER_OVERFLOW)
		VSP_FAIL("%s: hello failed\n", inst->name);
}

/* ---- incoming packets (must not block) ---- */

static VOID
EvtChannelProcessPacket(VMBCHANNEL Channel, VMBPACKETCOMPLETION Packet, PVOID Buffer,
			UINT32 BufferLength, UINT32 Flags)
{
	struct echo_instance *inst = Kmcl.VmbChannelGetPointer(Channel);
	struct echo_msg m;

	(void)Flags;
	if (BufferLength < sizeof(m)) {
		Kmcl.VmbChannelPacketFail(Packet); /* malformed guest input stops the queue */
		VSP_FAIL("%s: short packet\n", inst->name);
		return;
	}
	memcpy(&m, Buffer, sizeof(m)); /* read the shared buffer once */
	if (m.type != ECHO_MSG_REQUEST || m.len > ECHO_MAX_REQUEST ||
	    sizeof(m) + m.len > BufferLength) {
		Kmcl.VmbChannelPacketFail(Packet);
		VSP_FAIL("%s: bad request\n", inst->name);
		return;
	}
	inst->echoed++;
	/* The echo: the request itself is the completion payload. */
	Kmcl.VmbChannelPacketComplete(Packet, Buffer, (UINT32)sizeof(m) + m.len);
}

static VOID
EvtChannelProcessingComplete(VMBCHANNEL Channel, UINT32 PacketsProcessed)
{
	struct echo_instance *inst = Kmcl.VmbChannelGetPointer(Channel);

	(void)PacketsProcessed;
	inst->batches++;
}

/* ---- outgoing notifications ---- */

static VOID
NotifyCompletion(VMBPACKET Packet, NTSTATUS Status, PVOID Buffer, UINT32 BufferLength)
{
	struct notify_tx *tx = Kmcl.VmbPacketGetPointer(Packet);
	struct echo_msg ack;

	if (tx == NULL || tx->magic != NOTIFY_TX_MAGIC) {
		VSP_FAIL("completion of an unknown packet\n");
		return;
	}
	if (Status == STATUS_SUCCESS) {
		if (Buffer == NULL || BufferLength < sizeof(ack)) {
			VSP_FAIL("notification %u: no acknowledgement\n", tx->seq);
		} else {
			memcpy(&ack, Buffer, sizeof(ack));
			if (ack.type != ECHO_MSG_ACK || ack.seq != tx->seq)
				VSP_FAIL("notification %u: wrong acknowledgement\n", tx->seq);
		}
		Vsp.notify_done[tx->seq]++;
		Vsp.notify_acked++;
	} else if (Status == STATUS_CANCELLED && tx->inst->retired) {
		/* Handed over: the successor restored this transaction from the save stream. */
		tx->inst->handed_over++;
		Vsp.notify_handed_over++;
	} else {
		VSP_FAIL("notification %u: status 0x%08x\n", tx->seq, (unsigned)Status);
	}
	tx->magic = 0;
	free(tx);
	Kmcl.VmbPacketFree(Packet); /* our own completion routine: the packet is ours to free */
}

static NTSTATUS
SendNotification(struct echo_instance *inst, uint32_t seq)
{
	uint8_t msg[ECHO_NOTIFY_SIZE] = {0};
	struct echo_msg m = {.type = ECHO_MSG_NOTIFY, .seq = seq};
	struct notify_tx *tx;
	VMBPACKET packet;
	NTSTATUS st;

	packet = Kmcl.VmbPacketAllocate(inst->channel);
	tx = malloc(sizeof(*tx));
	if (packet == NULL || tx == NULL) {
		free(tx);
		if (packet)
			Kmcl.VmbPacketFree(packet);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	tx->magic = NOTIFY_TX_MAGIC;
	tx->seq = seq;
	tx->inst = inst;
	Kmcl.VmbPacketSetPointer(packet, tx);
	Kmcl.VmbPacketSetCompletionRoutine(packet, NotifyCompletion);
	memcpy(msg, &m, sizeof(m));
	st = Kmcl.VmbPacketSend(packet, msg, sizeof(msg), NULL,
				VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION);
	if (!NT_SUCCESS(st)) {
		free(tx);
		Kmcl.VmbPacketFree(packet);
		return st;
	}
	inst->notifications++;
	Vsp.notify_sent++;
	return STATUS_SUCCESS;
}

/* ---- save / restore of pending notifications (PASSIVE) ---- */

static NTSTATUS
EvtSavePacket(VMBCHANNEL Channel, VMBPACKET Packet, PVOID SaveBuf, UINT32 SaveBufSize,
	      PUINT32 BytesNeeded)
{
	struct notify_tx *tx = Kmcl.VmbPacketGetPointer(Packet);
	struct notify_saved s;

	(void)Channel;
	*BytesNeeded = sizeof(s);
	if (SaveBufSize < sizeof(s))
		return STATUS_BUFFER_TOO_SMALL; /* the size query */
	if (tx == NULL || tx->magic != NOTIFY_TX_MAGIC)
		return STATUS_INVALID_PARAMETER;
	s.magic = NOTIFY_TX_MAGIC;
	s.seq = tx->seq;
	memcpy(SaveBuf, &s, sizeof(s));
	return STATUS_SUCCESS;
}

static NTSTATUS
EvtRestorePacket(VMBCHANNEL Channel, PVOID LibBuf, UINT32 LibBufSize, PVOID SaveBuf,
		 UINT32 SaveBufSize)
{
	struct echo_instance *inst = Kmcl.VmbChannelGetPointer(Channel);
	struct notify_saved s;
	struct notify_tx *tx;
	VMBPACKET packet;
	NTSTATUS st;

	if (SaveBufSize != sizeof(s))
		return STATUS_INVALID_PARAMETER;
	memcpy(&s, SaveBuf, sizeof(s));
	if (s.magic != NOTIFY_TX_MAGIC || s.seq >= ECHO_MAX_SEQ)
		return STATUS_INVALID_PARAMETER;
	packet = Kmcl.VmbPacketAllocate(Channel);
	tx = malloc(sizeof(*tx));
	if (packet == NULL || tx == NULL) {
		free(tx);
		if (packet)
			Kmcl.VmbPacketFree(packet);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	st = Kmcl.VmbPacketRestore(packet, LibBuf, LibBufSize);
	if (!NT_SUCCESS(st)) {
		free(tx);
		Kmcl.VmbPacketFree(packet);
		return st;
	}
	/* Neither routines nor pointers survive a save: set them again. */
	tx->magic = NOTIFY_TX_MAGIC;
	tx->seq = s.seq;
	tx->inst = inst;
	Kmcl.VmbPacketSetPointer(packet, tx);
	Kmcl.VmbPacketSetCompletionRoutine(packet, NotifyCompletion);
	inst->restored++;
	return STATUS_SUCCESS;
}

/* ---- channel set-up ---- */

static NTSTATUS
CreateChannel(struct echo_instance *inst)
{
	static const uint16_t name[] = u"EchoVsp";
	UNICODE_STRING friendly = VMBKMCL_CONSTANT_STRING(name);
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS cb;
	VMBCHANNEL ch;
	NTSTATUS st;

	st = Kmcl.VmbChannelAllocate(NULL, TRUE, &ch);
	if (!NT_SUCCESS(st))
		return st;
	VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&cb);
	cb.EvtChannelOpened = EvtChannelOpened;
	cb.EvtChannelClosed = EvtChannelClosed;
	cb.EvtChannelSuspend = EvtChannelSuspend;
	cb.EvtChannelStarted = EvtChannelStarted;
	cb.EvtChannelPostStarted = EvtChannelPostStarted;
	if (!NT_SUCCESS(st = Kmcl.VmbChannelInitSetMaximumPacketSize(ch, 1024)) ||
	    !NT_SUCCESS(st = Kmcl.VmbChannelInitSetFriendlyName(ch, &friendly)) ||
	    !NT_SUCCESS(st = Kmcl.VmbServerChannelInitSetTargetInterfaceId(ch, EchoInterfaceType,
									    EchoInterfaceInstance)) ||
	    !NT_SUCCESS(st = Kmcl.VmbChannelInitSetStateChangeCallbacks(ch, &cb)) ||
	    !NT_SUCCESS(st = Kmcl.VmbChannelInitSetProcessPacketCallbacks(
				ch, EvtChannelProcessPacket, EvtChannelProcessingComplete)) ||
	    !NT_SUCCESS(st = Kmcl.VmbServerChannelInitSetSaveRestorePacketCallbacks(
				ch, EvtSavePacket, EvtRestorePacket))) {
		Kmcl.VmbChannelCleanup(ch);
		return st;
	}
	Kmcl.VmbChannelSetPointer(ch, inst);
	inst->channel = ch;
	return STATUS_SUCCESS;
}

/* ---- the run ---- */

struct chunk {
	uint8_t *data;
	ULONG len;
};

/* Pump the poll loop until nothing is outstanding (or give up). */
static void
Drain(struct echo_harness *h, unsigned limit)
{
	while (limit-- > 0) {
		harness_pump(h, 1);
		if (harness_guest_echo_pending(h) == 0 &&
		    Vsp.notify_acked + Vsp.notify_handed_over == Vsp.notify_sent)
			return;
	}
}

static int
Check(int cond, const char *what)
{
	printf("  %-64s %s\n", what, cond ? "ok" : "FAILED");
	if (!cond)
		Vsp.errors++;
	return cond;
}

/* Save the paused channel into chunks with the KMCL caller loop. */
static NTSTATUS
SaveChannel(VMBCHANNEL ch, struct chunk *chunks, unsigned max, unsigned *n, unsigned *too_small,
	    unsigned *overflows)
{
	ULONG cap = 64; /* deliberately small: shows STATUS_BUFFER_TOO_SMALL */
	uint8_t *buf = malloc(cap);
	NTSTATUS st;

	*n = *too_small = *overflows = 0;
	if (buf == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	st = Kmcl.VmbChannelSaveBegin(ch);
	if (!NT_SUCCESS(st)) {
		free(buf);
		return st;
	}
	for (;;) {
		ULONG filled = 0, required = 0;

		st = Kmcl.VmbChannelSaveContinue(ch, buf, cap, &filled, &required);
		if (st == STATUS_BUFFER_TOO_SMALL) { /* nothing written: grow and retry */
			uint8_t *nb = realloc(buf, required);
			(*too_small)++;
			if (nb == NULL) {
				st = STATUS_INSUFFICIENT_RESOURCES;
				break;
			}
			buf = nb;
			cap = required;
			continue;
		}
		if (st != STATUS_SUCCESS && st != STATUS_BUFFER_OVERFLOW)
			break; /* failure (BUFFER_OVERFLOW is not NT_SUCCESS: test it by value) */
		if (*n == max) {
			st = STATUS_INSUFFICIENT_RESOURCES;
			break;
		}
		/* Persist the chunk as is: restore takes whole chunks. */
		chunks[*n].data = malloc(filled);
		if (chunks[*n].data == NULL) {
			st = STATUS_INSUFFICIENT_RESOURCES;
			break;
		}
		memcpy(chunks[*n].data, buf, filled);
		chunks[(*n)++].len = filled;
		if (st == STATUS_SUCCESS)
			break;
		(*overflows)++;
		if (required > cap) {
			uint8_t *nb = realloc(buf, required);
			if (nb == NULL) {
				st = STATUS_INSUFFICIENT_RESOURCES;
				break;
			}
			buf = nb;
			cap = required;
		}
	}
	Kmcl.VmbChannelSaveEnd(ch);
	free(buf);
	return st;
}

int
main(void)
{
	static struct echo_instance A = {.name = "A", .hello_seq = HELLO_SEQ_BASE},
				    B = {.name = "B", .hello_seq = HELLO_SEQ_BASE + 1};
	static struct chunk chunks[1024];
	struct echo_harness *h;
	unsigned nchunks, too_small, overflows, more = 0, i;
	uint32_t seq, pending_notify;
	NTSTATUS st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	st = VmbKmclQueryInterface(&GUID_VMBKMCL_SERVER_INTERFACE, sizeof(Kmcl),
				   KMCL_SERVER_INTERFACE_VERSION_V1, &Kmcl);
	if (st != STATUS_SUCCESS) {
		fprintf(stderr, "kmcl-echo-vsp: query interface: 0x%08x\n", (unsigned)st);
		return 1;
	}
	if (harness_create(&h) != 0) {
		fprintf(stderr, "kmcl-echo-vsp: harness\n");
		return 1;
	}

	printf("== bring-up\n");
	st = CreateChannel(&A);
	if (!NT_SUCCESS(st) || harness_attach(h, A.channel) != 0) {
		fprintf(stderr, "kmcl-echo-vsp: channel A: 0x%08x\n", (unsigned)st);
		return 1;
	}
	Check(Kmcl.VmbChannelEnable(A.channel) == STATUS_SUCCESS, "VmbChannelEnable(A)");
	Kmcl.VmbChannelStart(A.channel); /* mandatory on a server */
	Check(harness_guest_enable(h) == 0, "guest opens the channel");
	Check(A.opened == 1 && A.started == 1 && A.post_started == 1,
	      "A: Opened, Started, PostStarted once each");

	printf("== traffic on A\n");
	for (seq = 0; seq < 100; seq++)
		if (harness_guest_echo(h, seq, (8 + seq * 37) % (ECHO_MAX_REQUEST + 1)) != 0)
			VSP_FAIL("guest: echo %u not sent\n", seq);
	for (seq = 0; seq < 20; seq++)
		if (SendNotification(&A, seq) != STATUS_SUCCESS)
			VSP_FAIL("notification %u not sent\n", seq);
	Drain(h, 1000);
	for (seq = 0; seq < 100 && harness_guest_echo_count(h, seq) == 1; seq++)
		;
	Check(seq == 100, "100 echo requests completed once each, bytes verified");
	for (seq = 0; seq < 20 && Vsp.notify_done[seq] == 1; seq++)
		;
	Check(seq == 20, "20 notifications acknowledged once each");

	printf("== the guest stalls; work backs up\n");
	harness_set_guest_stalled(h, true);
	for (seq = 20; seq < 60; seq++)
		if (SendNotification(&A, seq) != STATUS_SUCCESS)
			VSP_FAIL("notification %u not sent\n", seq);
	for (seq = 100; seq < 110; seq++)
		if (harness_guest_echo(h, seq, 100) != 0)
			VSP_FAIL("guest: echo %u not sent\n", seq);
	harness_pump(h, 8); /* the host runs: echoes answered, but the ring to the guest is full */
	pending_notify = Vsp.notify_sent - Vsp.notify_acked;
	printf("  %u notifications pending (in the ring or queued), %u echo completions owed\n",
	       pending_notify, harness_guest_echo_pending(h));

	printf("== pause and save A\n");
	Kmcl.VmbChannelPause(A.channel);
	Check(A.suspended == 1, "A: EvtChannelSuspend");
	st = SaveChannel(A.channel, chunks, 1024, &nchunks, &too_small, &overflows);
	printf("  save: %u chunks, %u x STATUS_BUFFER_TOO_SMALL, %u x STATUS_BUFFER_OVERFLOW -> "
	       "0x%08x\n",
	       nchunks, too_small, overflows, (unsigned)st);
	Check(st == STATUS_SUCCESS && too_small >= 1 && overflows >= 1 && nchunks == overflows + 1,
	      "SaveBegin / SaveContinue loop / SaveEnd");

	printf("== restore into a new channel B\n");
	st = CreateChannel(&B);
	Check(NT_SUCCESS(st), "B allocated and configured");
	for (i = 0; i < nchunks; i++) {
		st = Kmcl.VmbChannelRestoreFromBuffer(B.channel, chunks[i].data, chunks[i].len);
		if (st == STATUS_MORE_PROCESSING_REQUIRED)
			more++;
		else
			break;
	}
	printf("  restore: %u x STATUS_MORE_PROCESSING_REQUIRED, then 0x%08x\n", more,
	       (unsigned)st);
	Check(st == STATUS_SUCCESS && more + 1 == nchunks, "RestoreFromBuffer chunk by chunk");
	Check(B.restored == pending_notify, "every pending notification restored (VmbPacketRestore)");
	for (i = 0; i < nchunks; i++)
		free(chunks[i].data);

	printf("== hand over to B\n");
	Check(harness_replace_server(h, A.channel, B.channel) == 0, "B takes over the rings");
	A.retired = TRUE;
	Kmcl.VmbChannelDisable(A.channel);
	Check(A.handed_over == pending_notify, "A's pending transactions retired as handed over");
	Kmcl.VmbChannelCleanup(A.channel);
	Check(Kmcl.VmbChannelEnable(B.channel) == STATUS_SUCCESS, "VmbChannelEnable(B)");
	Kmcl.VmbChannelStart(B.channel);
	Check(B.opened == 1 && B.started == 1 && B.post_started == 1,
	      "B: Opened, Started, PostStarted once each");

	printf("== the guest resumes\n");
	harness_set_guest_stalled(h, false);
	Drain(h, 2000);
	for (seq = 0; seq < 60 && Vsp.notify_done[seq] == 1 && harness_guest_notify_count(h, seq) == 1;
	     seq++)
		;
	Check(seq == 60, "notifications 0..59: delivered and acknowledged exactly once");
	for (seq = 100; seq < 110 && harness_guest_echo_count(h, seq) == 1; seq++)
		;
	Check(seq == 110, "echoes owed across the save: completed exactly once");

	printf("== traffic on B\n");
	for (seq = 200; seq < 300; seq++)
		if (harness_guest_echo(h, seq, seq % (ECHO_MAX_REQUEST + 1)) != 0)
			VSP_FAIL("guest: echo %u not sent\n", seq);
	for (seq = 60; seq < 80; seq++)
		if (SendNotification(&B, seq) != STATUS_SUCCESS)
			VSP_FAIL("notification %u not sent\n", seq);
	Drain(h, 1000);
	for (seq = 200; seq < 300 && harness_guest_echo_count(h, seq) == 1; seq++)
		;
	Check(seq == 300, "100 more echoes completed once each");
	for (seq = 60; seq < 80 && Vsp.notify_done[seq] == 1; seq++)
		;
	Check(seq == 80, "20 more notifications acknowledged once each");

	printf("== teardown\n");
	Kmcl.VmbChannelDisable(B.channel);
	Check(B.closed == 1, "B: EvtChannelClosed");
	Kmcl.VmbChannelCleanup(B.channel);

	for (seq = 0; seq < 80; seq++)
		if (Vsp.notify_done[seq] != 1)
			VSP_FAIL("notification %u acknowledged %u times\n", seq, Vsp.notify_done[seq]);
	Check(Vsp.notify_sent == 80 && Vsp.notify_acked == 80 &&
		      Vsp.notify_handed_over == pending_notify,
	      "accounting: 80 sent, 80 acknowledged, the rest only handed over");
	Check(harness_guest_echo_pending(h) == 0, "no echo request left without completion");
	Check(harness_guest_notify_count(h, A.hello_seq) == (A.hello_status == STATUS_SUCCESS) &&
		      harness_guest_notify_count(h, B.hello_seq) == (B.hello_status == STATUS_SUCCESS),
	      "hellos delivered exactly when sent");
	Check(harness_guest_errors(h) == 0, "the guest saw no protocol error");
	harness_destroy(h);

	printf("A: echoed %u, notified %u, handed over %u; B: restored %u, echoed %u, notified %u\n",
	       A.echoed, A.notifications, A.handed_over, B.restored, B.echoed, B.notifications);
	printf("hello: A 0x%08x, B 0x%08x\n", (unsigned)A.hello_status, (unsigned)B.hello_status);
	if (Vsp.errors) {
		printf("kmcl-echo-vsp: %u error(s)\n", Vsp.errors);
		return 1;
	}
	printf("kmcl-echo-vsp: every transaction completed exactly once\n");
	return 0;
}
