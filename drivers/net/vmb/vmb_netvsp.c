/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Host (netvsp) control-plane engine: NVSP negotiation and buffer hand-over, subchannels, and
 * the RNDIS control requests with the OID answers a netvsc guest needs. Every message is a
 * private copy made by the owner; each field is read once with a bounds check and the
 * response is built in a local first, so a short response buffer or a hostile message leaves
 * the state as it was. See vmb_netvsp.h for the division of labour with the owner.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vmb_netvsp.h"

/* ---- policy constants ---- */

#define ETH_HDR_LEN 14u
/* The MTU when neither the owner nor the guest says otherwise (Ethernet). */
#define DEFAULT_MTU 1500u
/* IPv4's minimum MTU: smaller would not carry an IP packet. */
#define MIN_MTU 68u
/* vmswitch's limit: 9216-byte frames. */
#define MAX_MTU (9216u - ETH_HDR_LEN)
/* vmswitch treats an NDIS_CONF frame size below 1514 as "use the default", not as an MTU. */
#define MIN_GUEST_FRAME (DEFAULT_MTU + ETH_HDR_LEN)
/* Linux hosts' guests default to this receive section size for a 1500 MTU. */
#define DEFAULT_RX_SLOT 1728u
/* The largest RNDIS control completion this engine writes (supported list or multicast list
 * plus a query completion header) must fit one receive-buffer slot. */
#define MIN_RX_SLOT 256u
/* Section size of Windows hosts and of OpenVMM; Linux guests assume it too. */
#define DEFAULT_CHIM_SECTION 6144u
/* Windows hosts and OpenVMM accept 8 aggregated PACKET messages per transfer. */
#define DEFAULT_MAX_PKTS 8u
/* 10 Gbit/s in OID_GEN_LINK_SPEED units (100 bit/s). */
#define DEFAULT_LINK_SPEED 100000000ull
/* Aggregated PACKET messages start 8-byte aligned (1 << 3), as on Hyper-V. */
#define PKT_ALIGN_SHIFT 3u
/* What vmswitch reports as the largest transfer: no practical limit (the section size is). */
#define MAX_XFER_SIZE 0xEFFFFFFFu
/* INIT_RESP "max MDL chain length" of Windows hosts; guests ignore it. */
#define INIT_MDL_CHAIN 34u
/* vmswitch's largest LSO send and smallest segment count. */
#define LSO_MAX_SIZE 0xF53Cu
#define LSO_MIN_SEGS 2u
/* Indirection table entries advertised: DPDK misbehaves with 0 (OpenVMM's note). */
#define RSS_INDIR_ENTRIES 128u
/* Room for the longest OID answer (OID_802_3_MULTICAST_LIST: 32 * 6 bytes). */
#define QUERY_ANSWER_MAX 256u

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const uint32_t nvsp_versions[] = {
	NVSP_VERSION_1, NVSP_VERSION_2, NVSP_VERSION_4,
	NVSP_VERSION_5, NVSP_VERSION_6, NVSP_VERSION_61,
};

/* Answered by QUERY (and SET where noted in netvsp_set()). */
static const uint32_t supported_oids[] = {
	OID_GEN_SUPPORTED_LIST,
	OID_GEN_HARDWARE_STATUS,
	OID_GEN_MEDIA_SUPPORTED,
	OID_GEN_MEDIA_IN_USE,
	OID_GEN_MAXIMUM_LOOKAHEAD,
	OID_GEN_CURRENT_LOOKAHEAD,
	OID_GEN_MAXIMUM_FRAME_SIZE,
	OID_GEN_MAXIMUM_TOTAL_SIZE,
	OID_GEN_TRANSMIT_BLOCK_SIZE,
	OID_GEN_RECEIVE_BLOCK_SIZE,
	OID_GEN_LINK_SPEED,
	OID_GEN_VENDOR_ID,
	OID_GEN_VENDOR_DESCRIPTION,
	OID_GEN_VENDOR_DRIVER_VERSION,
	OID_GEN_DRIVER_VERSION,
	OID_GEN_CURRENT_PACKET_FILTER,
	OID_GEN_MAC_OPTIONS,
	OID_GEN_MEDIA_CONNECT_STATUS,
	OID_GEN_MAXIMUM_SEND_PACKETS,
	OID_802_3_PERMANENT_ADDRESS,
	OID_802_3_CURRENT_ADDRESS,
	OID_802_3_MULTICAST_LIST,
	OID_802_3_MAXIMUM_LIST_SIZE,
	OID_TCP_OFFLOAD_PARAMETERS,
	OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
	OID_TCP_OFFLOAD_CURRENT_CONFIG,
	OID_GEN_RECEIVE_SCALE_CAPABILITIES,
	OID_GEN_RECEIVE_SCALE_PARAMETERS,
	OID_GEN_RNDIS_CONFIG_PARAMETER,
};

static const char vendor_description[] = "vmbchan netvsp";

#define OFF_KNOWN                                                                               \
	(VMB_NETVSP_OFF_TX_IP4CSUM | VMB_NETVSP_OFF_TX_TCP4CSUM | VMB_NETVSP_OFF_TX_UDP4CSUM |  \
	 VMB_NETVSP_OFF_TX_TCP6CSUM | VMB_NETVSP_OFF_TX_UDP6CSUM | VMB_NETVSP_OFF_TX_LSO4 |     \
	 VMB_NETVSP_OFF_TX_LSO6 | VMB_NETVSP_OFF_RX_IP4CSUM | VMB_NETVSP_OFF_RX_TCP4CSUM |      \
	 VMB_NETVSP_OFF_RX_UDP4CSUM | VMB_NETVSP_OFF_RX_TCP6CSUM | VMB_NETVSP_OFF_RX_UDP6CSUM)

/* ---- byte access (messages are unaligned byte arrays) ---- */

static inline uint16_t
rd16(const uint8_t *p, uint32_t off)
{
	uint16_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static inline uint32_t
rd32(const uint8_t *p, uint32_t off)
{
	uint32_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static inline uint64_t
rd64(const uint8_t *p, uint32_t off)
{
	uint64_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static inline void
wr32(uint8_t *p, uint32_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static inline uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static void unmap_buffer(struct vmb_netvsp *s, bool rxbuf);

/* ---- setup ---- */

static void
cfg_apply_defaults(struct vmb_netvsp_config *c)
{
	if (c->mtu == 0)
		c->mtu = DEFAULT_MTU;
	if (c->mtu < MIN_MTU)
		c->mtu = MIN_MTU;
	if (c->mtu > MAX_MTU)
		c->mtu = MAX_MTU;
	if (c->max_queues == 0)
		c->max_queues = 1;
	if (c->max_queues > VMB_NETVSP_MAX_QUEUES)
		c->max_queues = VMB_NETVSP_MAX_QUEUES;
	if (c->rx_slot_size == 0) {
		/* A full frame with every per-packet info rndis_pkt_build() can write, rounded to
		 * a cache line, and never below what guests are used to. */
		uint32_t need = c->mtu + ETH_HDR_LEN + rndis_pkt_hdr_len(true, true) +
				2u * (uint32_t)RNDIS_PPI_SIZE_U32;

		need = (need + 63u) & ~63u;
		c->rx_slot_size = need > DEFAULT_RX_SLOT ? need : DEFAULT_RX_SLOT;
	}
	if (c->rx_slot_size < MIN_RX_SLOT)
		c->rx_slot_size = MIN_RX_SLOT;
	/* DPDK guests refuse a section size that is not a multiple of 4; keep 8 (alignment). */
	c->chim_section_size &= ~7u;
	if (c->chim_section_size == 0)
		c->chim_section_size = DEFAULT_CHIM_SECTION;
	if (c->link_speed_100bps == 0)
		c->link_speed_100bps = DEFAULT_LINK_SPEED;
	if (c->max_pkts_per_msg == 0)
		c->max_pkts_per_msg = DEFAULT_MAX_PKTS;
	c->offload_caps &= OFF_KNOWN;
}

/* Forget everything negotiated on the channel (subchannels stay: they are VMBus channels). */
static void
netvsp_reset(struct vmb_netvsp *s)
{
	if (s->rndis_state != RNDIS_UNINIT)
		s->changes |= VMB_NETVSP_CHG_RNDIS;
	s->nvsp_version = 0;
	s->ndis_major = s->ndis_minor = 0;
	s->ndis_inited = s->ndis_conf = false;
	s->ndis_caps = 0;
	s->mtu = min_u32(DEFAULT_MTU, s->cfg.mtu);
	s->rndis_state = RNDIS_UNINIT;
	s->packet_filter = 0;
	s->rss_hash_types = 0;
	s->rss_key_len = 0;
	s->rss_indir_count = 0;
	s->offloads = s->cfg.offload_caps;
	s->datapath = NVSP_DATAPATH_SYNTHETIC;
	s->mcast_count = 0;
}

void
vmb_netvsp_init(struct vmb_netvsp *s, const struct vmb_netvsp_config *cfg,
		const struct vmb_netvsp_ops *ops, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	cfg_apply_defaults(&s->cfg);
	s->ops = ops;
	s->ctx = ctx;
	s->link_up = true;
	netvsp_reset(s);
	s->changes = 0;
}

void
vmb_netvsp_fini(struct vmb_netvsp *s)
{
	if (s->rxbuf.connected)
		unmap_buffer(s, true);
	if (s->chim.connected)
		unmap_buffer(s, false);
	memset(&s->rxbuf, 0, sizeof(s->rxbuf));
	memset(&s->chim, 0, sizeof(s->chim));
	s->rx_slots = s->chim_sections = 0;
}

/* ---- NVSP ---- */

static int
bad_nvsp(struct vmb_netvsp *s)
{
	s->errors.bad_nvsp++;
	return -EPROTO;
}

static int
out_of_order(struct vmb_netvsp *s)
{
	s->errors.out_of_order++;
	return -EPROTO;
}

/* Responses are padded as the agreed version's guests expect. */
static uint32_t
nvsp_pad(const struct vmb_netvsp *s)
{
	return s->nvsp_version >= NVSP_VERSION_61 ? NVSP_MSG_SIZE : NVSP_MSG_SIZE_V1;
}

static uint32_t
reply_len(uint32_t body, uint32_t pad)
{
	return body > pad ? body : pad;
}

/* Copy @p body into @p resp zero-padded to @p total bytes (the caller checked the room). */
static int
reply(void *resp, const void *body, uint32_t n, uint32_t total)
{
	memcpy(resp, body, n);
	memset((uint8_t *)resp + n, 0, total - n);
	return (int)total;
}

static int
nvsp_init(struct vmb_netvsp *s, const uint8_t *m, uint32_t len, void *resp, uint32_t cap)
{
	struct nvsp_init_resp r;
	uint32_t vmin, vmax, chosen = 0, i;

	if (len < offsetof(struct nvsp_init, rsvd))
		return bad_nvsp(s);
	if (cap < NVSP_MSG_SIZE_V1)
		return -ENOSPC;
	if (s->nvsp_version != 0) {
		/* Renegotiation is only safe once the guest took its buffers back. */
		if (s->rxbuf.connected || s->chim.connected || s->rndis_state == RNDIS_INITIALIZED)
			return out_of_order(s);
		netvsp_reset(s);
	}
	vmin = rd32(m, offsetof(struct nvsp_init, ver_min));
	vmax = rd32(m, offsetof(struct nvsp_init, ver_max));
	for (i = ARRAY_SIZE(nvsp_versions); i-- > 0;) {
		if (nvsp_versions[i] >= vmin && nvsp_versions[i] <= vmax) {
			chosen = nvsp_versions[i];
			break;
		}
	}
	memset(&r, 0, sizeof(r));
	r.type = NVSP_MSG_INIT_RESP;
	/* The field is deprecated; Windows hosts fill it only for protocol 1. */
	r.ver = chosen == NVSP_VERSION_1 ? NVSP_VERSION_1 : 0xFFFFFFFFu;
	r.rsvd = INIT_MDL_CHAIN;
	r.status = chosen != 0 ? NVSP_STATUS_OK : NVSP_STATUS_FAILED;
	s->nvsp_version = chosen;
	/* Before the version is known, the legacy size (as Windows hosts send it). */
	return reply(resp, &r, sizeof(r), NVSP_MSG_SIZE_V1);
}

static int
nvsp_ndis_conf(struct vmb_netvsp *s, const uint8_t *m, uint32_t len)
{
	uint32_t frame, want;

	if (len < offsetof(struct nvsp_ndis_conf, rsvd1))
		return bad_nvsp(s);
	if (s->ndis_conf || s->rxbuf.connected)
		return out_of_order(s);
	frame = rd32(m, offsetof(struct nvsp_ndis_conf, mtu));
	/* As vmswitch: a frame size outside what Ethernet allows means the default. */
	if (frame < MIN_GUEST_FRAME || frame > MAX_MTU + ETH_HDR_LEN)
		want = DEFAULT_MTU;
	else
		want = frame - ETH_HDR_LEN;
	s->mtu = min_u32(want, s->cfg.mtu);
	s->ndis_caps = rd64(m, offsetof(struct nvsp_ndis_conf, caps));
	s->ndis_conf = true;
	return 0;
}

static int
nvsp_ndis_init(struct vmb_netvsp *s, const uint8_t *m, uint32_t len)
{
	if (len < offsetof(struct nvsp_ndis_init, rsvd))
		return bad_nvsp(s);
	if (s->ndis_inited)
		return out_of_order(s);
	s->ndis_major = rd32(m, offsetof(struct nvsp_ndis_init, ndis_major));
	s->ndis_minor = rd32(m, offsetof(struct nvsp_ndis_init, ndis_minor));
	s->ndis_inited = true;
	return 0;
}

/* Map a guest buffer and check what came back; false (nothing left mapped) on failure. */
static bool
map_buffer(struct vmb_netvsp *s, bool rxbuf, uint32_t gpadl, uint8_t **addr, uint64_t *len)
{
	if (s->ops == NULL || s->ops->map_buffer == NULL)
		return false;
	*addr = NULL;
	*len = 0;
	if (s->ops->map_buffer(s->ctx, rxbuf, gpadl, addr, len) != 0)
		return false;
	if (*addr == NULL || *len == 0) {
		if (s->ops->unmap_buffer != NULL)
			s->ops->unmap_buffer(s->ctx, rxbuf);
		return false;
	}
	return true;
}

static void
unmap_buffer(struct vmb_netvsp *s, bool rxbuf)
{
	if (s->ops != NULL && s->ops->unmap_buffer != NULL)
		s->ops->unmap_buffer(s->ctx, rxbuf);
}

/* Whole units of @p unit bytes in @p len, so that the end offset fits the u32 wire fields. */
static uint32_t
units_in(uint64_t len, uint32_t unit)
{
	uint64_t l = len > 0xFFFFFFFFull ? 0xFFFFFFFFull : len;

	return (uint32_t)(l / unit);
}

static int
nvsp_rxbuf_conn(struct vmb_netvsp *s, const uint8_t *m, uint32_t len, void *resp, uint32_t cap)
{
	struct nvsp_rxbuf_conn_resp r;
	uint32_t total = reply_len(sizeof(r), nvsp_pad(s)), gpadl, slots;
	uint16_t sig;
	uint8_t *addr;
	uint64_t blen;

	if (len < offsetof(struct nvsp_rxbuf_conn, rsvd))
		return bad_nvsp(s);
	if (!s->ndis_inited || s->rxbuf.connected)
		return out_of_order(s);
	if (cap < total)
		return -ENOSPC;
	gpadl = rd32(m, offsetof(struct nvsp_rxbuf_conn, gpadl));
	sig = rd16(m, offsetof(struct nvsp_rxbuf_conn, sig));

	memset(&r, 0, sizeof(r));
	r.type = NVSP_MSG_RXBUF_CONN_RESP;
	r.status = NVSP_STATUS_FAILED;
	if (sig != NVSP_RXBUF_SIG) {
		/* Guests take the id back from every receive packet: only the usual one works. */
		s->errors.bad_nvsp++;
	} else if (map_buffer(s, true, gpadl, &addr, &blen)) {
		slots = units_in(blen, s->cfg.rx_slot_size);
		if (slots == 0) {
			unmap_buffer(s, true);
		} else {
			s->rxbuf.addr = addr;
			s->rxbuf.len = blen;
			s->rxbuf.gpadl = gpadl;
			s->rxbuf.connected = true;
			s->rx_slots = slots;
			s->changes |= VMB_NETVSP_CHG_RXBUF;
			r.status = NVSP_STATUS_OK;
			r.nsect = 1;
			r.sect[0].start = 0;
			r.sect[0].slot_size = s->cfg.rx_slot_size;
			r.sect[0].slot_count = slots;
			r.sect[0].end = slots * s->cfg.rx_slot_size;
		}
	}
	return reply(resp, &r, sizeof(r), total);
}

static int
nvsp_rxbuf_disconn(struct vmb_netvsp *s, const uint8_t *m, uint32_t len)
{
	if (len < offsetof(struct nvsp_rxbuf_disconn, rsvd))
		return bad_nvsp(s);
	if (!s->rxbuf.connected)
		return out_of_order(s);
	if (rd16(m, offsetof(struct nvsp_rxbuf_disconn, sig)) != NVSP_RXBUF_SIG)
		return bad_nvsp(s);
	unmap_buffer(s, true);
	memset(&s->rxbuf, 0, sizeof(s->rxbuf));
	s->rx_slots = 0;
	s->changes |= VMB_NETVSP_CHG_RXBUF;
	return 0;
}

/* Linux guests name the send buffer 0, DPDK and FreeBSD guests 0xFACE. */
static bool
chim_sig_ok(uint16_t sig)
{
	return sig == NVSP_CHIM_SIG || sig == 0;
}

static int
nvsp_chim_conn(struct vmb_netvsp *s, const uint8_t *m, uint32_t len, void *resp, uint32_t cap)
{
	struct nvsp_chim_conn_resp r;
	uint32_t total = reply_len(sizeof(r), nvsp_pad(s)), gpadl, sections;
	uint16_t sig;
	uint8_t *addr;
	uint64_t blen;

	if (len < offsetof(struct nvsp_chim_conn, rsvd))
		return bad_nvsp(s);
	if (!s->ndis_inited || s->chim.connected)
		return out_of_order(s);
	if (cap < total)
		return -ENOSPC;
	gpadl = rd32(m, offsetof(struct nvsp_chim_conn, gpadl));
	sig = rd16(m, offsetof(struct nvsp_chim_conn, sig));

	memset(&r, 0, sizeof(r));
	r.type = NVSP_MSG_CHIM_CONN_RESP;
	r.status = NVSP_STATUS_FAILED;
	if (!chim_sig_ok(sig)) {
		s->errors.bad_nvsp++;
	} else if (map_buffer(s, false, gpadl, &addr, &blen)) {
		sections = units_in(blen, s->cfg.chim_section_size);
		if (sections == 0) {
			unmap_buffer(s, false);
		} else {
			s->chim.addr = addr;
			s->chim.len = blen;
			s->chim.gpadl = gpadl;
			s->chim.connected = true;
			s->chim_sections = sections;
			s->changes |= VMB_NETVSP_CHG_CHIM;
			r.status = NVSP_STATUS_OK;
			r.section_size = s->cfg.chim_section_size;
		}
	}
	return reply(resp, &r, sizeof(r), total);
}

static int
nvsp_chim_disconn(struct vmb_netvsp *s, const uint8_t *m, uint32_t len)
{
	if (len < offsetof(struct nvsp_chim_disconn, rsvd))
		return bad_nvsp(s);
	if (!s->chim.connected)
		return out_of_order(s);
	if (!chim_sig_ok(rd16(m, offsetof(struct nvsp_chim_disconn, sig))))
		return bad_nvsp(s);
	unmap_buffer(s, false);
	memset(&s->chim, 0, sizeof(s->chim));
	s->chim_sections = 0;
	s->changes |= VMB_NETVSP_CHG_CHIM;
	return 0;
}

static int
nvsp_set_datapath(struct vmb_netvsp *s, const uint8_t *m, uint32_t len)
{
	uint32_t path;

	if (len < offsetof(struct nvsp_set_datapath, rsvd))
		return bad_nvsp(s);
	path = rd32(m, offsetof(struct nvsp_set_datapath, active_path));
	if (path != NVSP_DATAPATH_SYNTHETIC && path != NVSP_DATAPATH_VF)
		return bad_nvsp(s);
	if (!s->ndis_inited)
		return out_of_order(s);
	s->datapath = path;
	s->changes |= VMB_NETVSP_CHG_DATAPATH;
	return 0;
}

static int
nvsp_subch(struct vmb_netvsp *s, const uint8_t *m, uint32_t len, void *resp, uint32_t cap)
{
	struct nvsp_subch_resp r;
	uint32_t total = reply_len(sizeof(r), nvsp_pad(s)), op, want, granted = 0;

	if (len < offsetof(struct nvsp_subch_req, rsvd))
		return bad_nvsp(s);
	if (!s->rxbuf.connected)
		return out_of_order(s);
	if (cap < total)
		return -ENOSPC;
	op = rd32(m, offsetof(struct nvsp_subch_req, op));
	want = min_u32(rd32(m, offsetof(struct nvsp_subch_req, nsubch)), s->cfg.max_queues - 1);

	memset(&r, 0, sizeof(r));
	r.type = NVSP_MSG_SUBCH;
	r.status = NVSP_STATUS_OK;
	if (op != NVSP_SUBCH_OP_ALLOC) {
		s->errors.bad_nvsp++;
		r.status = NVSP_STATUS_FAILED;
	} else if (want != 0 && s->ops != NULL && s->ops->alloc_subchannels != NULL) {
		if (s->ops->alloc_subchannels(s->ctx, want, &granted) != 0) {
			granted = 0;
			r.status = NVSP_STATUS_FAILED;
		}
		/* Never more than asked for, whatever the owner says. */
		granted = min_u32(granted, want);
	}
	if (r.status == NVSP_STATUS_OK) {
		uint32_t i;

		s->subchannels = granted;
		s->changes |= VMB_NETVSP_CHG_SUBCH;
		/* An RSS table naming queues that are gone is dropped, not left to the owner. */
		for (i = 0; i < s->rss_indir_count; i++) {
			if (s->rss_indir[i] > granted) {
				s->rss_hash_types = 0;
				s->rss_indir_count = 0;
				s->changes |= VMB_NETVSP_CHG_RSS;
				break;
			}
		}
	}
	r.nsubch = granted;
	return reply(resp, &r, sizeof(r), total);
}

int
vmb_netvsp_nvsp_ctl(struct vmb_netvsp *s, const void *msg, uint32_t len, void *resp,
		    uint32_t cap)
{
	const uint8_t *m = (const uint8_t *)msg;
	uint32_t type, since;

	if (len < sizeof(struct nvsp_hdr))
		return bad_nvsp(s);
	type = rd32(m, 0);

	/* The version that introduced each message the host accepts. */
	switch (type) {
	case NVSP_MSG_RNDIS:
	case NVSP_MSG_RNDIS_ACK:
		return -EINVAL;
	case NVSP_MSG_INIT:
		return nvsp_init(s, m, len, resp, cap);
	case NVSP_MSG_NDIS_INIT:
	case NVSP_MSG_RXBUF_CONN:
	case NVSP_MSG_RXBUF_DISCONN:
	case NVSP_MSG_CHIM_CONN:
	case NVSP_MSG_CHIM_DISCONN:
		since = NVSP_VERSION_1;
		break;
	case NVSP_MSG_NDIS_CONF:
		since = NVSP_VERSION_2;
		break;
	case NVSP_MSG_VF_ASSOC:
	case NVSP_MSG_SET_DATAPATH:
		since = NVSP_VERSION_4;
		break;
	case NVSP_MSG_SUBCH:
		since = NVSP_VERSION_5;
		break;
	default:
		/* Responses, host-to-guest messages and types nobody uses. */
		return bad_nvsp(s);
	}
	if (s->nvsp_version == 0)
		return out_of_order(s);
	if (s->nvsp_version < since)
		return bad_nvsp(s);

	switch (type) {
	case NVSP_MSG_NDIS_CONF:
		return nvsp_ndis_conf(s, m, len);
	case NVSP_MSG_NDIS_INIT:
		return nvsp_ndis_init(s, m, len);
	case NVSP_MSG_RXBUF_CONN:
		return nvsp_rxbuf_conn(s, m, len, resp, cap);
	case NVSP_MSG_RXBUF_DISCONN:
		return nvsp_rxbuf_disconn(s, m, len);
	case NVSP_MSG_CHIM_CONN:
		return nvsp_chim_conn(s, m, len, resp, cap);
	case NVSP_MSG_CHIM_DISCONN:
		return nvsp_chim_disconn(s, m, len);
	case NVSP_MSG_VF_ASSOC:
		/* A guest echoing the association: nothing to do (the owner completes it). */
		return 0;
	case NVSP_MSG_SET_DATAPATH:
		return nvsp_set_datapath(s, m, len);
	default: /* NVSP_MSG_SUBCH */
		return nvsp_subch(s, m, len, resp, cap);
	}
}

/* ---- RNDIS: answers to QUERY ---- */

/* Query answers are built here first, then copied behind the completion header. */
struct answer {
	uint8_t b[QUERY_ANSWER_MAX];
	uint32_t n;
};

static void
ans_put(struct answer *a, const void *p, uint32_t n)
{
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

static void
ans_u32(struct answer *a, uint32_t v)
{
	ans_put(a, &v, sizeof(v));
}

static void
offload_object(uint32_t off, struct ndis_offload *o)
{
	memset(o, 0, sizeof(*o));
	o->hdr.type = NDIS_OBJTYPE_OFFLOAD;
	o->hdr.rev = 3;
	o->hdr.size = (uint16_t)sizeof(*o);
	o->ip4_txenc = o->ip4_rxenc = o->ip6_txenc = o->ip6_rxenc = NDIS_OFFLOAD_ENCAP_8023;
	if (off & VMB_NETVSP_OFF_TX_IP4CSUM)
		o->ip4_txcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_IP4;
	if (off & VMB_NETVSP_OFF_TX_TCP4CSUM)
		o->ip4_txcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_TCPOPT | NDIS_CSUM_CAP_TCP;
	if (off & VMB_NETVSP_OFF_TX_UDP4CSUM)
		o->ip4_txcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_UDP;
	if (off & VMB_NETVSP_OFF_TX_TCP6CSUM)
		o->ip6_txcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_TCPOPT | NDIS_CSUM_CAP_TCP;
	if (off & VMB_NETVSP_OFF_TX_UDP6CSUM)
		o->ip6_txcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_UDP;
	if (off & VMB_NETVSP_OFF_RX_IP4CSUM)
		o->ip4_rxcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_IP4;
	if (off & VMB_NETVSP_OFF_RX_TCP4CSUM)
		o->ip4_rxcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_TCPOPT | NDIS_CSUM_CAP_TCP;
	if (off & VMB_NETVSP_OFF_RX_UDP4CSUM)
		o->ip4_rxcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_UDP;
	if (off & VMB_NETVSP_OFF_RX_TCP6CSUM)
		o->ip6_rxcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_TCPOPT | NDIS_CSUM_CAP_TCP;
	if (off & VMB_NETVSP_OFF_RX_UDP6CSUM)
		o->ip6_rxcsum |= NDIS_CSUM_CAP_IP4OPT | NDIS_CSUM_CAP_UDP;
	if (off & VMB_NETVSP_OFF_TX_LSO4) {
		o->lso2_ip4_encap = NDIS_OFFLOAD_ENCAP_8023;
		o->lso2_ip4_maxsz = LSO_MAX_SIZE;
		o->lso2_ip4_minsg = LSO_MIN_SEGS;
	}
	if (off & VMB_NETVSP_OFF_TX_LSO6) {
		o->lso2_ip6_encap = NDIS_OFFLOAD_ENCAP_8023;
		o->lso2_ip6_maxsz = LSO_MAX_SIZE;
		o->lso2_ip6_minsg = LSO_MIN_SEGS;
		o->lso2_ip6_opts = NDIS_LSOV2_CAP_IP6EXT | NDIS_LSOV2_CAP_TCP6OPT;
	}
}

/* Answer @p oid into @p a; RNDIS status. */
static uint32_t
netvsp_query(const struct vmb_netvsp *s, uint32_t oid, struct answer *a)
{
	a->n = 0;
	switch (oid) {
	case OID_GEN_SUPPORTED_LIST:
		ans_put(a, supported_oids, sizeof(supported_oids));
		break;
	case OID_GEN_HARDWARE_STATUS:
		ans_u32(a, 0); /* ready */
		break;
	case OID_GEN_MEDIA_SUPPORTED:
	case OID_GEN_MEDIA_IN_USE:
		ans_u32(a, RNDIS_MEDIUM_802_3);
		break;
	case OID_GEN_MAXIMUM_LOOKAHEAD:
	case OID_GEN_CURRENT_LOOKAHEAD:
	case OID_GEN_MAXIMUM_FRAME_SIZE:
		/* Guests read the frame size without header as their MTU. */
		ans_u32(a, s->mtu);
		break;
	case OID_GEN_MAXIMUM_TOTAL_SIZE:
	case OID_GEN_TRANSMIT_BLOCK_SIZE:
	case OID_GEN_RECEIVE_BLOCK_SIZE:
		ans_u32(a, s->mtu + ETH_HDR_LEN);
		break;
	case OID_GEN_LINK_SPEED:
		ans_u32(a, s->cfg.link_speed_100bps > 0xFFFFFFFFull
				   ? 0xFFFFFFFFu
				   : (uint32_t)s->cfg.link_speed_100bps);
		break;
	case OID_GEN_VENDOR_ID:
		/* The IEEE OUI of the adapter's address, as vmswitch reports Microsoft's. */
		ans_u32(a, (uint32_t)s->cfg.mac[0] << 16 | (uint32_t)s->cfg.mac[1] << 8 |
				   s->cfg.mac[2]);
		break;
	case OID_GEN_VENDOR_DESCRIPTION:
		ans_put(a, vendor_description, sizeof(vendor_description));
		break;
	case OID_GEN_VENDOR_DRIVER_VERSION:
		ans_u32(a, 1u << 16); /* 1.0 */
		break;
	case OID_GEN_DRIVER_VERSION: {
		uint16_t v = (uint16_t)((s->ndis_major & 0xFFu) << 8 | (s->ndis_minor & 0xFFu));

		ans_put(a, &v, sizeof(v));
		break;
	}
	case OID_GEN_CURRENT_PACKET_FILTER:
		ans_u32(a, s->packet_filter);
		break;
	case OID_GEN_MAC_OPTIONS:
		ans_u32(a, NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION_NO_LOOPBACK |
				   NDIS_MAC_OPTION_TRANSFERS_NOT_PEND);
		break;
	case OID_GEN_MEDIA_CONNECT_STATUS:
		ans_u32(a, s->link_up ? NDIS_MEDIA_STATE_CONNECTED : NDIS_MEDIA_STATE_DISCONNECTED);
		break;
	case OID_GEN_MAXIMUM_SEND_PACKETS:
		ans_u32(a, s->cfg.max_pkts_per_msg);
		break;
	case OID_802_3_PERMANENT_ADDRESS:
	case OID_802_3_CURRENT_ADDRESS:
		ans_put(a, s->cfg.mac, sizeof(s->cfg.mac));
		break;
	case OID_802_3_MULTICAST_LIST:
		ans_put(a, s->mcast, s->mcast_count * 6u);
		break;
	case OID_802_3_MAXIMUM_LIST_SIZE:
		ans_u32(a, VMB_NETVSP_MCAST_MAX);
		break;
	case OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
	case OID_TCP_OFFLOAD_CURRENT_CONFIG: {
		struct ndis_offload o;

		offload_object(oid == OID_TCP_OFFLOAD_CURRENT_CONFIG ? s->offloads
								     : s->cfg.offload_caps,
			       &o);
		ans_put(a, &o, sizeof(o));
		break;
	}
	case OID_GEN_RECEIVE_SCALE_CAPABILITIES: {
		struct ndis_rss_caps c;

		memset(&c, 0, sizeof(c));
		c.hdr.type = NDIS_OBJTYPE_RSS_CAPS;
		c.hdr.rev = 2;
		c.hdr.size = NDIS_RSS_CAPS_SIZE;
		c.caps = NDIS_RSS_CAP_TCP_IPV4 | NDIS_RSS_CAP_TCP_IPV6 |
			 NDIS_HASH_FUNCTION_TOEPLITZ;
		c.nmsi = 1;
		c.nrxq = s->cfg.max_queues;
		c.nindirect = RSS_INDIR_ENTRIES;
		/* Revision 2 is 18 bytes: DPDK refuses the padded 20. */
		ans_put(a, &c, NDIS_RSS_CAPS_SIZE);
		break;
	}
	default:
		return RNDIS_STATUS_NOT_SUPPORTED;
	}
	return RNDIS_STATUS_SUCCESS;
}

/* ---- RNDIS: SET ---- */

/* Apply an NDIS_OFFLOAD_PARAM_* checksum value to the tx/rx bit pair; false if invalid. */
static bool
csum_param(uint32_t *off, uint8_t v, uint32_t tx, uint32_t rx)
{
	switch (v) {
	case NDIS_OFFLOAD_PARAM_NOCHG:
		return true;
	case NDIS_OFFLOAD_PARAM_OFF:
		*off &= ~(tx | rx);
		return true;
	case NDIS_OFFLOAD_PARAM_TX:
		*off = (*off & ~rx) | tx;
		return true;
	case NDIS_OFFLOAD_PARAM_RX:
		*off = (*off & ~tx) | rx;
		return true;
	case NDIS_OFFLOAD_PARAM_TXRX:
		*off |= tx | rx;
		return true;
	default:
		return false;
	}
}

static bool
lso_param(uint32_t *off, uint8_t v, uint32_t bit)
{
	switch (v) {
	case NDIS_OFFLOAD_PARAM_NOCHG:
		return true;
	case NDIS_OFFLOAD_LSO_OFF:
		*off &= ~bit;
		return true;
	case NDIS_OFFLOAD_LSO_ON:
		*off |= bit;
		return true;
	default:
		return false;
	}
}

static uint32_t
set_offload(struct vmb_netvsp *s, const uint8_t *v, uint32_t n)
{
	struct ndis_offload_params p;
	uint32_t off = s->offloads;
	bool ok;

	if (n < NDIS_OFFLOAD_PARAMS_SIZE_REV1)
		return RNDIS_STATUS_INVALID_LENGTH;
	memset(&p, 0, sizeof(p));
	memcpy(&p, v, min_u32(n, sizeof(p)));
	if (p.hdr.type != NDIS_OBJTYPE_DEFAULT || p.hdr.rev < 1 ||
	    p.hdr.size < NDIS_OFFLOAD_PARAMS_SIZE_REV1 || p.hdr.size > n)
		return RNDIS_STATUS_INVALID_DATA;
	if (p.lsov1 == NDIS_OFFLOAD_LSO_ON)
		return RNDIS_STATUS_NOT_SUPPORTED; /* LSOv1 is older than any guest here */
	ok = p.lsov1 <= NDIS_OFFLOAD_LSO_ON &&
	     csum_param(&off, p.ip4_csum, VMB_NETVSP_OFF_TX_IP4CSUM,
			VMB_NETVSP_OFF_RX_IP4CSUM) &&
	     csum_param(&off, p.tcp4_csum, VMB_NETVSP_OFF_TX_TCP4CSUM,
			VMB_NETVSP_OFF_RX_TCP4CSUM) &&
	     csum_param(&off, p.udp4_csum, VMB_NETVSP_OFF_TX_UDP4CSUM,
			VMB_NETVSP_OFF_RX_UDP4CSUM) &&
	     csum_param(&off, p.tcp6_csum, VMB_NETVSP_OFF_TX_TCP6CSUM,
			VMB_NETVSP_OFF_RX_TCP6CSUM) &&
	     csum_param(&off, p.udp6_csum, VMB_NETVSP_OFF_TX_UDP6CSUM,
			VMB_NETVSP_OFF_RX_UDP6CSUM) &&
	     lso_param(&off, p.lsov2_ip4, VMB_NETVSP_OFF_TX_LSO4) &&
	     lso_param(&off, p.lsov2_ip6, VMB_NETVSP_OFF_TX_LSO6);
	if (!ok)
		return RNDIS_STATUS_INVALID_DATA;
	/* What the host cannot do stays off; guests check the capabilities before asking. */
	s->offloads = off & s->cfg.offload_caps;
	s->changes |= VMB_NETVSP_CHG_OFFLOAD;
	return RNDIS_STATUS_SUCCESS;
}

/* [off, off + len) inside an object of @p n bytes. */
static bool
span_ok(uint32_t n, uint32_t off, uint32_t len)
{
	return off <= n && len <= n - off;
}

static uint32_t
set_rss(struct vmb_netvsp *s, const uint8_t *v, uint32_t n)
{
	struct ndis_rss_params p;
	uint32_t types = s->rss_hash_types, count = s->rss_indir_count;
	uint32_t indir[NDIS_RSS_INDIR_MAX];
	uint8_t key[NDIS_RSS_KEY_SIZE];

	if (n < NDIS_RSS_PARAMS_SIZE_REV1)
		return RNDIS_STATUS_INVALID_LENGTH;
	/* The header is not checked: vmswitch does not either, and guests differ in it. */
	memset(&p, 0, sizeof(p));
	memcpy(&p, v, min_u32(n, sizeof(p)));
	if ((p.flags & NDIS_RSS_FLAG_DISABLE) != 0 ||
	    ((p.flags & NDIS_RSS_FLAG_HASH_UNCHG) == 0 &&
	     (p.hash_info & NDIS_HASH_FUNCTION_MASK) == 0)) {
		s->rss_hash_types = 0;
		s->changes |= VMB_NETVSP_CHG_RSS;
		return RNDIS_STATUS_SUCCESS;
	}
	if ((p.flags & NDIS_RSS_FLAG_HASH_UNCHG) == 0) {
		if ((p.hash_info & NDIS_HASH_FUNCTION_MASK) != NDIS_HASH_FUNCTION_TOEPLITZ)
			return RNDIS_STATUS_INVALID_DATA;
		types = p.hash_info & NDIS_HASH_TYPE_MASK;
	}
	if ((p.flags & NDIS_RSS_FLAG_KEY_UNCHG) == 0) {
		if (p.key_size != NDIS_RSS_KEY_SIZE || !span_ok(n, p.key_offset, p.key_size))
			return RNDIS_STATUS_INVALID_DATA;
		memcpy(key, v + p.key_offset, sizeof(key));
	} else if (s->rss_key_len == 0) {
		return RNDIS_STATUS_INVALID_DATA; /* "unchanged" but there is none */
	}
	if ((p.flags & NDIS_RSS_FLAG_IND_UNCHG) == 0) {
		uint32_t i, limit = s->subchannels + 1;

		count = p.indir_size / (uint32_t)sizeof(uint32_t);
		if (p.indir_size == 0 || p.indir_size % sizeof(uint32_t) != 0 ||
		    count > NDIS_RSS_INDIR_MAX || !span_ok(n, p.indir_offset, p.indir_size))
			return RNDIS_STATUS_INVALID_DATA;
		for (i = 0; i < count; i++) {
			indir[i] = rd32(v, p.indir_offset + i * (uint32_t)sizeof(uint32_t));
			if (indir[i] >= limit)
				return RNDIS_STATUS_INVALID_DATA;
		}
	} else if (s->rss_indir_count == 0) {
		return RNDIS_STATUS_INVALID_DATA;
	}
	/* A kept table names existing queues: nvsp_subch() drops it when they shrink. */

	/* All checked: commit. */
	if ((p.flags & NDIS_RSS_FLAG_KEY_UNCHG) == 0) {
		memcpy(s->rss_key, key, sizeof(key));
		s->rss_key_len = NDIS_RSS_KEY_SIZE;
	}
	if ((p.flags & NDIS_RSS_FLAG_IND_UNCHG) == 0) {
		memcpy(s->rss_indir, indir, count * sizeof(uint32_t));
		s->rss_indir_count = count;
	}
	s->rss_hash_types = types;
	s->changes |= VMB_NETVSP_CHG_RSS;
	return RNDIS_STATUS_SUCCESS;
}

static uint32_t
set_mcast(struct vmb_netvsp *s, const uint8_t *v, uint32_t n)
{
	if (n % 6u != 0)
		return RNDIS_STATUS_INVALID_LENGTH;
	if (n / 6u > VMB_NETVSP_MCAST_MAX)
		return RNDIS_STATUS_MULTICAST_FULL;
	if (n != 0)
		memcpy(s->mcast, v, n);
	s->mcast_count = n / 6u;
	s->changes |= VMB_NETVSP_CHG_MCAST;
	return RNDIS_STATUS_SUCCESS;
}

/* Checked for shape, then ignored: Linux changes the MAC through it ("NetworkAddress"), which
 * a host without that support may let pass as vmswitch does. */
static uint32_t
set_config_param(const uint8_t *v, uint32_t n)
{
	struct rndis_config_param c;

	if (n < sizeof(c))
		return RNDIS_STATUS_INVALID_LENGTH;
	memcpy(&c, v, sizeof(c));
	if (!span_ok(n, c.name_offset, c.name_len) || !span_ok(n, c.value_offset, c.value_len))
		return RNDIS_STATUS_INVALID_DATA;
	return RNDIS_STATUS_SUCCESS;
}

/* Apply SET @p oid with value @p v of @p n bytes; RNDIS status. */
static uint32_t
netvsp_set(struct vmb_netvsp *s, uint32_t oid, const uint8_t *v, uint32_t n)
{
	switch (oid) {
	case OID_GEN_CURRENT_PACKET_FILTER:
		if (n < sizeof(uint32_t))
			return RNDIS_STATUS_INVALID_LENGTH;
		s->packet_filter = rd32(v, 0);
		s->changes |= VMB_NETVSP_CHG_FILTER;
		return RNDIS_STATUS_SUCCESS;
	case OID_802_3_MULTICAST_LIST:
		return set_mcast(s, v, n);
	case OID_TCP_OFFLOAD_PARAMETERS:
		return set_offload(s, v, n);
	case OID_GEN_RECEIVE_SCALE_PARAMETERS:
		return set_rss(s, v, n);
	case OID_GEN_RNDIS_CONFIG_PARAMETER:
		return set_config_param(v, n);
	case OID_GEN_NETWORK_LAYER_ADDRESSES:
	case OID_OFFLOAD_ENCAPSULATION:
		/* Information for offloads this host does not do: accepted, as vmswitch does. */
		return RNDIS_STATUS_SUCCESS;
	default:
		return RNDIS_STATUS_NOT_SUPPORTED;
	}
}

/* ---- RNDIS: dispatch ---- */

static int
bad_rndis(struct vmb_netvsp *s)
{
	s->errors.bad_rndis++;
	return -EPROTO;
}

/* The information buffer [8 + off, 8 + off + len) lies after the request header and inside
 * the message. */
static bool
infobuf_ok(uint32_t mlen, uint32_t off, uint32_t len)
{
	const uint32_t min_off =
		(uint32_t)sizeof(struct rndis_query_req) - RNDIS_INFOBUF_OFFSET_BASE;

	return off >= min_off && span_ok(mlen - RNDIS_INFOBUF_OFFSET_BASE, off, len);
}

static void
count_status(struct vmb_netvsp *s, uint32_t status)
{
	switch (status) {
	case RNDIS_STATUS_SUCCESS:
	case RNDIS_STATUS_MULTICAST_FULL: /* a limit of this host, not a guest fault */
		break;
	case RNDIS_STATUS_NOT_SUPPORTED:
		s->errors.unsupported_oid++;
		break;
	default:
		s->errors.bad_rndis++;
		break;
	}
}

static int
rndis_init(struct vmb_netvsp *s, const uint8_t *m, void *resp, uint32_t cap)
{
	struct rndis_init_comp c;

	if (cap < sizeof(c))
		return -ENOSPC;
	memset(&c, 0, sizeof(c));
	c.type = RNDIS_MSG_INIT_C;
	c.len = sizeof(c);
	c.rid = rd32(m, offsetof(struct rndis_init_req, rid));
	c.status = RNDIS_STATUS_SUCCESS;
	if (s->rndis_state != RNDIS_UNINIT) {
		s->errors.out_of_order++;
		c.status = RNDIS_STATUS_FAILURE;
	} else {
		s->rndis_state = RNDIS_INITIALIZED;
		s->changes |= VMB_NETVSP_CHG_RNDIS;
	}
	c.ver_major = RNDIS_VERSION_MAJOR;
	c.ver_minor = RNDIS_VERSION_MINOR;
	c.dev_flags = RNDIS_DF_CONNECTIONLESS;
	c.medium = RNDIS_MEDIUM_802_3;
	c.max_pkts = s->cfg.max_pkts_per_msg;
	c.max_xfer_size = MAX_XFER_SIZE;
	c.align = PKT_ALIGN_SHIFT;
	memcpy(resp, &c, sizeof(c));
	return (int)sizeof(c);
}

static int
rndis_query(struct vmb_netvsp *s, const uint8_t *m, uint32_t mlen, void *resp, uint32_t cap)
{
	struct rndis_query_comp c;
	struct answer a;
	uint32_t oid, ilen, ioff, status;
	bool in_order = s->rndis_state == RNDIS_INITIALIZED, ok;

	oid = rd32(m, offsetof(struct rndis_query_req, oid));
	ilen = rd32(m, offsetof(struct rndis_query_req, infobuf_len));
	ioff = rd32(m, offsetof(struct rndis_query_req, infobuf_offset));
	/* The input (NDIS object headers of some OIDs) is not needed, but must be in bounds. */
	ok = ilen == 0 || infobuf_ok(mlen, ioff, ilen);
	a.n = 0;
	if (!in_order)
		status = RNDIS_STATUS_FAILURE;
	else if (!ok)
		status = RNDIS_STATUS_INVALID_DATA;
	else
		status = netvsp_query(s, oid, &a);
	if (cap < sizeof(c) + a.n)
		return -ENOSPC;
	if (!in_order)
		s->errors.out_of_order++;
	else
		count_status(s, status);

	memset(&c, 0, sizeof(c));
	c.type = RNDIS_MSG_QUERY_C;
	c.len = (uint32_t)sizeof(c) + a.n;
	c.rid = rd32(m, offsetof(struct rndis_query_req, rid));
	c.status = status;
	c.infobuf_len = a.n;
	c.infobuf_offset = (uint32_t)sizeof(c) - RNDIS_INFOBUF_OFFSET_BASE;
	memcpy(resp, &c, sizeof(c));
	memcpy((uint8_t *)resp + sizeof(c), a.b, a.n);
	return (int)c.len;
}

static int
rndis_set(struct vmb_netvsp *s, const uint8_t *m, uint32_t mlen, void *resp, uint32_t cap)
{
	struct rndis_set_comp c;
	uint32_t oid, ilen, ioff;

	if (cap < sizeof(c))
		return -ENOSPC;
	oid = rd32(m, offsetof(struct rndis_set_req, oid));
	ilen = rd32(m, offsetof(struct rndis_set_req, infobuf_len));
	ioff = rd32(m, offsetof(struct rndis_set_req, infobuf_offset));

	memset(&c, 0, sizeof(c));
	c.type = RNDIS_MSG_SET_C;
	c.len = sizeof(c);
	c.rid = rd32(m, offsetof(struct rndis_set_req, rid));
	if (s->rndis_state != RNDIS_INITIALIZED) {
		s->errors.out_of_order++;
		c.status = RNDIS_STATUS_FAILURE;
	} else if (ilen != 0 && !infobuf_ok(mlen, ioff, ilen)) {
		s->errors.bad_rndis++;
		c.status = RNDIS_STATUS_INVALID_DATA;
	} else {
		/* With no value, point at the (empty) end of the message, never outside it. */
		c.status = netvsp_set(s, oid, ilen != 0 ? m + RNDIS_INFOBUF_OFFSET_BASE + ioff
							 : m + mlen,
				      ilen);
		count_status(s, c.status);
	}
	memcpy(resp, &c, sizeof(c));
	return (int)sizeof(c);
}

int
vmb_netvsp_rndis_ctl(struct vmb_netvsp *s, const void *msg, uint32_t len, void *resp,
		     uint32_t cap)
{
	const uint8_t *m = (const uint8_t *)msg;
	uint32_t type, mlen, need;

	if (len < sizeof(struct rndis_msg_hdr))
		return bad_rndis(s);
	type = rd32(m, offsetof(struct rndis_msg_hdr, type));
	mlen = rd32(m, offsetof(struct rndis_msg_hdr, len));
	switch (type) {
	case RNDIS_MSG_INIT:
		need = sizeof(struct rndis_init_req);
		break;
	case RNDIS_MSG_HALT:
		need = sizeof(struct rndis_halt_req);
		break;
	case RNDIS_MSG_QUERY:
		need = sizeof(struct rndis_query_req);
		break;
	case RNDIS_MSG_SET:
		need = sizeof(struct rndis_set_req);
		break;
	case RNDIS_MSG_RESET:
		need = sizeof(struct rndis_reset_req);
		break;
	case RNDIS_MSG_KEEPALIVE:
		need = sizeof(struct rndis_keepalive_req);
		break;
	default:
		/* PACKET on the control channel, completions, indications: not requests. */
		return bad_rndis(s);
	}
	if (mlen < need || mlen > len)
		return bad_rndis(s);
	/* Completions travel in the receive buffer; HALT has none, and DPDK guests send it
	 * after revoking the buffer. */
	if (!s->rxbuf.connected && type != RNDIS_MSG_HALT)
		return out_of_order(s);

	switch (type) {
	case RNDIS_MSG_INIT:
		return rndis_init(s, m, resp, cap);
	case RNDIS_MSG_HALT:
		if (s->rndis_state != RNDIS_HALTED) {
			s->rndis_state = RNDIS_HALTED;
			s->changes |= VMB_NETVSP_CHG_RNDIS;
		}
		return 0;
	case RNDIS_MSG_QUERY:
		return rndis_query(s, m, mlen, resp, cap);
	case RNDIS_MSG_SET:
		return rndis_set(s, m, mlen, resp, cap);
	case RNDIS_MSG_RESET: {
		/* Filter and lists are kept, so the guest need not set them again. */
		struct rndis_reset_comp c = {
			.type = RNDIS_MSG_RESET_C,
			.len = sizeof(c),
			.status = RNDIS_STATUS_SUCCESS,
			.addressing_reset = 0,
		};

		if (cap < sizeof(c))
			return -ENOSPC;
		memcpy(resp, &c, sizeof(c));
		return (int)sizeof(c);
	}
	default: { /* RNDIS_MSG_KEEPALIVE */
		struct rndis_keepalive_comp c = {
			.type = RNDIS_MSG_KEEPALIVE_C,
			.len = sizeof(c),
			.rid = rd32(m, offsetof(struct rndis_keepalive_req, rid)),
			.status = RNDIS_STATUS_SUCCESS,
		};

		if (cap < sizeof(c))
			return -ENOSPC;
		memcpy(resp, &c, sizeof(c));
		return (int)sizeof(c);
	}
	}
}

/* ---- host-initiated messages ---- */

int
vmb_netvsp_rndis_status(uint32_t status, void *out, uint32_t cap)
{
	struct rndis_status_msg m = {
		.type = RNDIS_MSG_INDICATE,
		.len = sizeof(m),
		.status = status,
		.stbuf_len = 0,
		.stbuf_offset = 0,
	};

	if (cap < sizeof(m))
		return -ENOSPC;
	memcpy(out, &m, sizeof(m));
	return (int)sizeof(m);
}

int
vmb_netvsp_indirection_msg(const struct vmb_netvsp *s, void *out, uint32_t cap)
{
	struct nvsp_indirection_table h = {
		.type = NVSP_MSG_INDIRECTION_TABLE,
		.count = NVSP_INDIRECTION_ENTRIES,
		.offset = sizeof(h),
	};
	const uint32_t total = (uint32_t)sizeof(h) + NVSP_INDIRECTION_ENTRIES * sizeof(uint32_t);
	uint8_t *p = (uint8_t *)out;
	uint32_t i;

	if (s->nvsp_version < NVSP_VERSION_5)
		return 0;
	if (cap < total)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	for (i = 0; i < NVSP_INDIRECTION_ENTRIES; i++)
		wr32(p, (uint32_t)sizeof(h) + i * (uint32_t)sizeof(uint32_t),
		     i % (s->subchannels + 1));
	return (int)total;
}
