/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * libFuzzer target: a hostile guest's NVSP and RNDIS control messages and RNDIS PACKET
 * messages against one host control-plane engine (drivers/net/vmb/vmb_netvsp.c, vmb_rndis.h),
 * with an fake owner whose map_buffer() hands out exact-size heap buffers.
 *
 * Input: a 14-byte configuration (u16 mtu, u8 max_queues, u8 unused, u16 rx_slot_size,
 * u16 chim_section_size, u16 offload_caps, u16 receive-buffer KiB, u16 send-buffer KiB), then
 * records {u8 op, u16 len, len bytes} until the input ends. op & 7 selects:
 *   0 vmb_netvsp_nvsp_ctl(bytes), response room chosen by op >> 3
 *   1 vmb_netvsp_rndis_ctl(bytes), likewise
 *   2 rndis_pkt_parse(bytes); an accepted message is rebuilt with rndis_pkt_build() and
 *     parsed again: same frame, same per-packet info
 *   3 owner: flip link_up, build the status and indirection messages (room from op >> 3)
 *   4 fake owner: next map fails (op bit 3), returns no address (bit 4), alloc fails (bit 5),
 *     alloc grants extra (bit 6)
 *   5 owner: clear vmb_netvsp::changes
 *   6 channel closed and reopened: vmb_netvsp_fini() + vmb_netvsp_init()
 *   7 a well-formed RNDIS SET (op bit 3 clear) or QUERY (set) of OID = first 4 bytes with
 *     the rest as information buffer: reaches the OID parsers without guessing offsets
 * Every message is passed in an exact-size heap copy and every response buffer is exact
 * size, so any access outside them is an ASan report.
 *
 * Checks after every step: return values within the room given and well-formed responses;
 * the engine's state within its documented bounds (MTU, slots and sections inside the mapped
 * buffers, RSS table naming existing queues, offloads within the capabilities, ...); buffers
 * connected exactly when the fake owner has them mapped; error counters never decrease. At the end
 * vmb_netvsp_fini() must leave nothing mapped (and LeakSanitizer sees any buffer kept).
 * FUZZ_VERBOSE=1 prints the engine's final state and counters of each input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "vmb_netvsp.h"

/* Receive and send buffers stay small: the engine never touches their bytes. */
#define MAX_BUF_KIB 256u

struct fz_owner {
	uint8_t *buf[2];
	uint64_t len[2];
	bool fail_map, null_map, fail_alloc;
	uint32_t alloc_extra;
};

static int
fake_map(void *ctx, bool rxbuf, uint32_t gpadl, uint8_t **addr, uint64_t *len)
{
	struct fz_owner *st = ctx;

	(void)gpadl;
	FZ_CHECK(st->buf[rxbuf] == NULL); /* never mapped twice */
	if (st->fail_map)
		return -ENOMEM;
	st->buf[rxbuf] = malloc(st->len[rxbuf] ? st->len[rxbuf] : 1);
	FZ_CHECK(st->buf[rxbuf] != NULL);
	*addr = st->null_map ? NULL : st->buf[rxbuf];
	*len = st->len[rxbuf];
	return 0;
}

static void
fake_unmap(void *ctx, bool rxbuf)
{
	struct fz_owner *st = ctx;

	FZ_CHECK(st->buf[rxbuf] != NULL);
	free(st->buf[rxbuf]);
	st->buf[rxbuf] = NULL;
}

static int
fake_alloc(void *ctx, uint32_t requested, uint32_t *granted)
{
	struct fz_owner *st = ctx;

	if (st->fail_alloc)
		return -EBUSY;
	*granted = requested + st->alloc_extra;
	return 0;
}

static const struct vmb_netvsp_ops ops = {
	.map_buffer = fake_map,
	.unmap_buffer = fake_unmap,
	.alloc_subchannels = fake_alloc,
};

static const uint32_t nvsp_caps[8] = {512, 0, 12, 16, 27, 28, 39, 40};
static const uint32_t rndis_caps[8] = {512, 0, 15, 16, 23, 24, 52, 256};

static void
check_buffer(const struct fz_owner *st, bool rx, bool connected, const uint8_t *addr,
	     uint64_t len, uint32_t units, uint32_t unit)
{
	if (connected) {
		FZ_CHECK(st->buf[rx] != NULL && addr == st->buf[rx] && len == st->len[rx]);
		FZ_CHECK(units >= 1);
		FZ_CHECK((uint64_t)units * unit <= len && (uint64_t)units * unit <= 0xFFFFFFFFull);
	} else {
		FZ_CHECK(st->buf[rx] == NULL && units == 0);
	}
}

static void
check_state(const struct vmb_netvsp *s, const struct fz_owner *st)
{
	uint32_t i;

	FZ_CHECK(s->cfg.mtu >= 68 && s->cfg.mtu <= 9202);
	FZ_CHECK(s->cfg.max_queues >= 1 && s->cfg.max_queues <= VMB_NETVSP_MAX_QUEUES);
	FZ_CHECK(s->cfg.rx_slot_size >= 256);
	FZ_CHECK(s->cfg.chim_section_size >= 8 && s->cfg.chim_section_size % 8 == 0);
	FZ_CHECK(s->mtu >= 68 && s->mtu <= s->cfg.mtu);
	check_buffer(st, true, s->rxbuf.connected, s->rxbuf.addr, s->rxbuf.len, s->rx_slots,
		     s->cfg.rx_slot_size);
	check_buffer(st, false, s->chim.connected, s->chim.addr, s->chim.len, s->chim_sections,
		     s->cfg.chim_section_size);
	if (s->nvsp_version == 0)
		FZ_CHECK(!s->rxbuf.connected && !s->chim.connected && !s->ndis_inited);
	if (s->rxbuf.connected || s->chim.connected)
		FZ_CHECK(s->ndis_inited);
	FZ_CHECK(s->rndis_state == RNDIS_UNINIT || s->rndis_state == RNDIS_INITIALIZED ||
		 s->rndis_state == RNDIS_HALTED);
	FZ_CHECK(s->rss_key_len == 0 || s->rss_key_len == NDIS_RSS_KEY_SIZE);
	FZ_CHECK(s->rss_indir_count <= NDIS_RSS_INDIR_MAX);
	for (i = 0; i < s->rss_indir_count; i++)
		FZ_CHECK(s->rss_indir[i] <= s->subchannels);
	if (s->rss_hash_types != 0)
		FZ_CHECK(s->rss_indir_count > 0 && s->rss_key_len > 0);
	FZ_CHECK((s->rss_hash_types & ~NDIS_HASH_TYPE_MASK) == 0);
	FZ_CHECK(s->subchannels < s->cfg.max_queues);
	FZ_CHECK(s->mcast_count <= VMB_NETVSP_MCAST_MAX);
	FZ_CHECK((s->offloads & ~s->cfg.offload_caps) == 0);
	FZ_CHECK(s->datapath == NVSP_DATAPATH_SYNTHETIC || s->datapath == NVSP_DATAPATH_VF);
}

/* Responses: inside the room, with the header a guest expects. */
static void
check_nvsp_resp(int rc, const uint8_t *resp, uint32_t cap)
{
	uint32_t type;

	FZ_CHECK(rc == 0 || rc == -EPROTO || rc == -ENOSPC || rc == -EINVAL || rc > 0);
	if (rc <= 0)
		return;
	FZ_CHECK((uint32_t)rc <= cap && (uint32_t)rc >= NVSP_MSG_SIZE_V1);
	memcpy(&type, resp, 4);
	FZ_CHECK(type == NVSP_MSG_INIT_RESP || type == NVSP_MSG_RXBUF_CONN_RESP ||
		 type == NVSP_MSG_CHIM_CONN_RESP || type == NVSP_MSG_SUBCH);
}

static void
check_rndis_resp(int rc, const uint8_t *resp, uint32_t cap)
{
	struct rndis_msg_hdr h;

	FZ_CHECK(rc == 0 || rc == -EPROTO || rc == -ENOSPC || rc > 0);
	if (rc <= 0)
		return;
	FZ_CHECK((uint32_t)rc <= cap && rc >= 16);
	memcpy(&h, resp, sizeof(h));
	FZ_CHECK((h.type & RNDIS_MSG_COMPLETION) != 0 && h.len == (uint32_t)rc);
	if (h.type == RNDIS_MSG_QUERY_C) {
		struct rndis_query_comp c;

		memcpy(&c, resp, sizeof(c));
		FZ_CHECK(c.infobuf_offset + RNDIS_INFOBUF_OFFSET_BASE >= sizeof(c));
		FZ_CHECK(c.infobuf_offset + RNDIS_INFOBUF_OFFSET_BASE + c.infobuf_len ==
			 (uint32_t)rc);
	}
}

/* An accepted PACKET: consistent, and rebuilt from what was parsed it parses the same. */
static void
check_pkt(const uint8_t *msg, uint32_t avail, const struct rndis_pkt_info *in)
{
	struct rndis_pkt_info out, want = *in;
	uint32_t hl;
	uint8_t *b;

	FZ_CHECK(in->msg_len >= sizeof(struct rndis_packet_msg) && in->msg_len <= avail);
	FZ_CHECK(in->data_off >= sizeof(struct rndis_packet_msg) && in->data_len > 0);
	FZ_CHECK((uint64_t)in->data_off + in->data_len <= in->msg_len);

	/* A hash info without a hash value is not sent again (nor read back). */
	if (!want.has_hash)
		want.hash_info = 0;
	hl = rndis_pkt_build_len(&want);
	b = malloc(hl + in->data_len);
	FZ_CHECK(b != NULL);
	FZ_CHECK(rndis_pkt_build(b, in->data_len, &want) == hl);
	memcpy(b + hl, msg + in->data_off, in->data_len);
	FZ_CHECK(rndis_pkt_parse(b, hl + in->data_len, &out) == 0);
	FZ_CHECK(out.msg_len == hl + in->data_len && out.data_off == hl &&
		 out.data_len == in->data_len);
	FZ_CHECK(memcmp(b + out.data_off, msg + in->data_off, in->data_len) == 0);
	FZ_CHECK(out.has_hash == want.has_hash && out.has_vlan == want.has_vlan &&
		 out.has_csum == want.has_csum && out.has_lso == want.has_lso);
	if (want.has_hash)
		FZ_CHECK(out.hash_value == want.hash_value && out.hash_info == want.hash_info);
	if (want.has_vlan)
		FZ_CHECK(out.vlan_tci == want.vlan_tci);
	if (want.has_csum)
		FZ_CHECK(out.csum_info == want.csum_info);
	if (want.has_lso)
		FZ_CHECK(out.lso_info == want.lso_info);
	free(b);
}

static void
engine_start(struct vmb_netvsp *s, const struct vmb_netvsp_config *cfg, struct fz_owner *st)
{
	vmb_netvsp_init(s, cfg, &ops, st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	struct vmb_netvsp_config cfg;
	struct vmb_netvsp s;
	struct fz_owner st;
	uint32_t rxkib, chimkib;
	bool verbose = getenv("FUZZ_VERBOSE") != NULL;

	memset(&cfg, 0, sizeof(cfg));
	memset(&st, 0, sizeof(st));
	cfg.mac[0] = 0x02;
	cfg.mac[5] = 0x01;
	cfg.mtu = fz_u16(&in);
	cfg.max_queues = fz_u8(&in);
	(void)fz_u8(&in);
	cfg.rx_slot_size = fz_u16(&in);
	cfg.chim_section_size = fz_u16(&in);
	cfg.offload_caps = fz_u16(&in);
	rxkib = fz_u16(&in) % (MAX_BUF_KIB + 1);
	chimkib = fz_u16(&in) % (MAX_BUF_KIB + 1);
	st.len[1] = (uint64_t)rxkib * 1024u;
	st.len[0] = (uint64_t)chimkib * 1024u;
	engine_start(&s, &cfg, &st);
	check_state(&s, &st);

	while (in.n > 0) {
		uint8_t op = fz_u8(&in);
		uint32_t len = fz_u16(&in), sel = (op >> 3) & 7u;
		uint8_t *msg, *resp;
		uint64_t errs_before;
		int rc;

		if (len > in.n)
			len = (uint32_t)in.n;
		msg = malloc(len ? len : 1);
		FZ_CHECK(msg != NULL);
		fz_take(&in, msg, len);
		errs_before = s.errors.bad_nvsp + s.errors.bad_rndis + s.errors.unsupported_oid +
			      s.errors.out_of_order;

		switch (op & 7u) {
		case 0:
			resp = malloc(nvsp_caps[sel] ? nvsp_caps[sel] : 1);
			rc = vmb_netvsp_nvsp_ctl(&s, msg, len, resp, nvsp_caps[sel]);
			check_nvsp_resp(rc, resp, nvsp_caps[sel]);
			free(resp);
			break;
		case 1:
			resp = malloc(rndis_caps[sel] ? rndis_caps[sel] : 1);
			rc = vmb_netvsp_rndis_ctl(&s, msg, len, resp, rndis_caps[sel]);
			check_rndis_resp(rc, resp, rndis_caps[sel]);
			free(resp);
			break;
		case 2: {
			struct rndis_pkt_info pi;

			rc = rndis_pkt_parse(msg, len, &pi);
			FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EPROTO);
			if (rc == 0)
				check_pkt(msg, len, &pi);
			break;
		}
		case 3: {
			uint32_t cap = sel * 12u;

			s.link_up = !s.link_up;
			resp = malloc(cap ? cap : 1);
			rc = vmb_netvsp_rndis_status(s.link_up ? RNDIS_STATUS_MEDIA_CONNECT
							       : RNDIS_STATUS_MEDIA_DISCONNECT,
						     resp, cap);
			FZ_CHECK(rc == (cap >= 20 ? 20 : -ENOSPC));
			rc = vmb_netvsp_indirection_msg(&s, resp, cap);
			FZ_CHECK(rc == 0 || rc == -ENOSPC || rc == 76);
			if (rc == 76) {
				uint32_t i, v;

				for (i = 0; i < NVSP_INDIRECTION_ENTRIES; i++) {
					memcpy(&v, resp + 12 + 4 * i, 4);
					FZ_CHECK(v <= s.subchannels);
				}
			}
			free(resp);
			break;
		}
		case 4:
			st.fail_map = (op & 0x08) != 0;
			st.null_map = (op & 0x10) != 0;
			st.fail_alloc = (op & 0x20) != 0;
			st.alloc_extra = (op & 0x40) ? 1000u : 0u;
			break;
		case 5:
			s.changes = 0;
			break;
		case 6:
			vmb_netvsp_fini(&s);
			FZ_CHECK(st.buf[0] == NULL && st.buf[1] == NULL);
			engine_start(&s, &cfg, &st);
			errs_before = 0;
			break;
		default: {
			/* A well-formed QUERY or SET around the fuzzer's OID and value. */
			uint32_t oid = 0, vlen = len > 4 ? len - 4 : 0;
			uint32_t mlen = (uint32_t)sizeof(struct rndis_set_req) + vlen;
			struct rndis_set_req h;
			uint8_t *m = malloc(mlen);

			FZ_CHECK(m != NULL);
			memcpy(&oid, msg, len < 4 ? len : 4);
			h.type = (op & 0x08) ? RNDIS_MSG_QUERY : RNDIS_MSG_SET;
			h.len = mlen;
			h.rid = len;
			h.oid = oid;
			h.infobuf_len = vlen;
			h.infobuf_offset = (uint32_t)sizeof(h) - RNDIS_INFOBUF_OFFSET_BASE;
			h.vc_handle = 0;
			memcpy(m, &h, sizeof(h));
			if (vlen)
				memcpy(m + sizeof(h), msg + 4, vlen);
			resp = malloc(256);
			rc = vmb_netvsp_rndis_ctl(&s, m, mlen, resp, 256);
			check_rndis_resp(rc, resp, 256);
			free(resp);
			free(m);
			break;
		}
		}
		free(msg);
		check_state(&s, &st);
		FZ_CHECK(s.errors.bad_nvsp + s.errors.bad_rndis + s.errors.unsupported_oid +
				 s.errors.out_of_order >=
			 errs_before);
	}
	if (verbose)
		fprintf(stderr,
			"netvsp: version %#x rndis %d mtu %u rxbuf %d/%u chim %d/%u subch %u "
			"rss %#x/%u filter %#x offloads %#x mcast %u; errors nvsp %llu rndis %llu "
			"oid %llu order %llu\n",
			s.nvsp_version, (int)s.rndis_state, s.mtu, s.rxbuf.connected, s.rx_slots,
			s.chim.connected, s.chim_sections, s.subchannels, s.rss_hash_types,
			s.rss_indir_count, s.packet_filter, s.offloads, s.mcast_count,
			(unsigned long long)s.errors.bad_nvsp,
			(unsigned long long)s.errors.bad_rndis,
			(unsigned long long)s.errors.unsupported_oid,
			(unsigned long long)s.errors.out_of_order);
	vmb_netvsp_fini(&s);
	FZ_CHECK(st.buf[0] == NULL && st.buf[1] == NULL);
	return 0;
}
