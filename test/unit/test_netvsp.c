/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * net_vmb host control plane (drivers/net/vmb/vmb_netvsp.c) and the RNDIS data-path helpers
 * (vmb_rndis.h): the whole negotiation a DPDK netvsc guest performs, checked the way that
 * guest checks each answer; a Linux-like guest; version negotiation; out-of-order and
 * malformed NVSP and RNDIS messages of every kind (counted, state untouched, never out of
 * bounds: the messages live in exact-size heap blocks, so the ASan build catches any stray
 * read); RSS, offload, filter and multicast SETs; and rndis_pkt_build()/rndis_pkt_parse()
 * round trips plus every malformed PACKET message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmb_netvsp.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Table-driven check: on mismatch, fail naming the case and the expression. */
#define EQ(name, got, want)                                                                     \
	do {                                                                                    \
		long long got_ = (long long)(got), want_ = (long long)(want);                   \
		if (got_ != want_)                                                              \
			fail_msg("[%s] %s = %lld, want %lld", (name), #got, got_, want_);       \
	} while (0)

/* ---- fake owner ---- */

static uint8_t fake_mem[2][64]; /* the engine never touches buffer memory */

struct fake_owner {
	uint64_t len[2]; /* length map_buffer reports: [0] send buffer, [1] receive buffer */
	int map_rc;
	bool map_null;
	bool mapped[2];
	int maps[2], unmaps[2];
	uint32_t gpadl[2];
	int alloc_rc;
	uint32_t alloc_extra; /* grant requested + extra (the engine must clamp) */
	uint32_t alloc_req;
	int allocs;
};

static int
fake_map(void *ctx, bool rxbuf, uint32_t gpadl, uint8_t **addr, uint64_t *len)
{
	struct fake_owner *st = ctx;

	if (st->map_rc != 0)
		return st->map_rc;
	assert_false(st->mapped[rxbuf]);
	st->mapped[rxbuf] = true;
	st->maps[rxbuf]++;
	st->gpadl[rxbuf] = gpadl;
	*addr = st->map_null ? NULL : fake_mem[rxbuf];
	*len = st->len[rxbuf];
	return 0;
}

static void
fake_unmap(void *ctx, bool rxbuf)
{
	struct fake_owner *st = ctx;

	assert_true(st->mapped[rxbuf]);
	st->mapped[rxbuf] = false;
	st->unmaps[rxbuf]++;
}

static int
fake_alloc(void *ctx, uint32_t requested, uint32_t *granted)
{
	struct fake_owner *st = ctx;

	st->allocs++;
	st->alloc_req = requested;
	if (st->alloc_rc != 0)
		return st->alloc_rc;
	*granted = requested + st->alloc_extra;
	return 0;
}

static const struct vmb_netvsp_ops fake_ops = {
	.map_buffer = fake_map,
	.unmap_buffer = fake_unmap,
	.alloc_subchannels = fake_alloc,
};

#define ALL_OFFLOADS                                                                            \
	(VMB_NETVSP_OFF_TX_IP4CSUM | VMB_NETVSP_OFF_TX_TCP4CSUM | VMB_NETVSP_OFF_TX_UDP4CSUM |  \
	 VMB_NETVSP_OFF_TX_TCP6CSUM | VMB_NETVSP_OFF_TX_UDP6CSUM | VMB_NETVSP_OFF_TX_LSO4 |     \
	 VMB_NETVSP_OFF_TX_LSO6 | VMB_NETVSP_OFF_RX_IP4CSUM | VMB_NETVSP_OFF_RX_TCP4CSUM |      \
	 VMB_NETVSP_OFF_RX_UDP4CSUM | VMB_NETVSP_OFF_RX_TCP6CSUM | VMB_NETVSP_OFF_RX_UDP6CSUM)

static const uint8_t MAC[6] = {0x00, 0x15, 0x5d, 0x01, 0x02, 0x03};

#define RX_LEN (1728u * 100u)
#define CHIM_LEN (6144u * 16u + 100u)

struct env {
	struct fake_owner st;
	struct vmb_netvsp s;
	uint8_t resp[512];
	uint32_t rid;
};

static struct vmb_netvsp_config
default_cfg(void)
{
	struct vmb_netvsp_config c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, MAC, sizeof(MAC));
	c.mtu = 1500;
	c.max_queues = 4;
	c.link_speed_100bps = 400000000ull; /* 40 Gbit/s */
	c.offload_caps = ALL_OFFLOADS;
	return c;
}

static void
env_init_cfg(struct env *e, const struct vmb_netvsp_config *cfg)
{
	memset(e, 0, sizeof(*e));
	e->st.len[0] = CHIM_LEN;
	e->st.len[1] = RX_LEN;
	vmb_netvsp_init(&e->s, cfg, &fake_ops, &e->st);
}

static void
env_init(struct env *e)
{
	struct vmb_netvsp_config c = default_cfg();

	env_init_cfg(e, &c);
}

/* Feed @p len bytes of @p m from an exact-size heap copy (ASan sees any read past it). */
static int
nvsp_raw(struct env *e, const void *m, uint32_t len, uint32_t cap)
{
	void *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, m, len);
	memset(e->resp, 0xA5, sizeof(e->resp));
	rc = vmb_netvsp_nvsp_ctl(&e->s, copy, len, e->resp, cap);
	free(copy);
	return rc;
}

static int
nvsp(struct env *e, const void *m, uint32_t len)
{
	return nvsp_raw(e, m, len, sizeof(e->resp));
}

static int
rndis_raw(struct env *e, const void *m, uint32_t len, uint32_t cap)
{
	void *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, m, len);
	memset(e->resp, 0xA5, sizeof(e->resp));
	rc = vmb_netvsp_rndis_ctl(&e->s, copy, len, e->resp, cap);
	free(copy);
	return rc;
}

static int
rndis(struct env *e, const void *m, uint32_t len)
{
	return rndis_raw(e, m, len, sizeof(e->resp));
}

static uint32_t
resp32(const struct env *e, uint32_t off)
{
	uint32_t v;

	memcpy(&v, e->resp + off, sizeof(v));
	return v;
}

/* ---- NVSP message builders (all padded to 40 bytes, as guests send them) ---- */

static int
send_init(struct env *e, uint32_t vmin, uint32_t vmax)
{
	struct nvsp_init m = {.type = NVSP_MSG_INIT, .ver_min = vmin, .ver_max = vmax};

	return nvsp(e, &m, sizeof(m));
}

static int
send_ndis_conf(struct env *e, uint32_t frame, uint64_t caps)
{
	struct nvsp_ndis_conf m = {.type = NVSP_MSG_NDIS_CONF, .mtu = frame, .caps = caps};

	return nvsp(e, &m, sizeof(m));
}

static int
send_ndis_init(struct env *e, uint32_t major, uint32_t minor)
{
	struct nvsp_ndis_init m = {
		.type = NVSP_MSG_NDIS_INIT, .ndis_major = major, .ndis_minor = minor};

	return nvsp(e, &m, sizeof(m));
}

static int
send_rxbuf(struct env *e, uint32_t gpadl, uint16_t sig)
{
	struct nvsp_rxbuf_conn m = {.type = NVSP_MSG_RXBUF_CONN, .gpadl = gpadl, .sig = sig};

	return nvsp(e, &m, sizeof(m));
}

static int
send_chim(struct env *e, uint32_t gpadl, uint16_t sig)
{
	struct nvsp_chim_conn m = {.type = NVSP_MSG_CHIM_CONN, .gpadl = gpadl, .sig = sig};

	return nvsp(e, &m, sizeof(m));
}

static int
send_rxbuf_disconn(struct env *e, uint16_t sig)
{
	struct nvsp_rxbuf_disconn m = {.type = NVSP_MSG_RXBUF_DISCONN, .sig = sig};

	return nvsp(e, &m, sizeof(m));
}

static int
send_chim_disconn(struct env *e, uint16_t sig)
{
	struct nvsp_chim_disconn m = {.type = NVSP_MSG_CHIM_DISCONN, .sig = sig};

	return nvsp(e, &m, sizeof(m));
}

static int
send_subch(struct env *e, uint32_t op, uint32_t n)
{
	struct nvsp_subch_req m = {.type = NVSP_MSG_SUBCH, .op = op, .nsubch = n};

	return nvsp(e, &m, sizeof(m));
}

/* ---- RNDIS message builders (DPDK layout: information buffer right after the header) ---- */

static uint32_t
rq_simple(uint8_t *b, uint32_t type, uint32_t rid)
{
	struct rndis_init_req r = {
		.type = type, .len = 12, .rid = rid, .ver_major = 1, .ver_minor = 0,
		.max_xfer_size = 0x4000};

	if (type == RNDIS_MSG_INIT)
		r.len = sizeof(r);
	memcpy(b, &r, r.len);
	return r.len;
}

static uint32_t
rq_query(uint8_t *b, uint32_t rid, uint32_t oid, const void *in, uint32_t inlen)
{
	struct rndis_query_req r = {
		.type = RNDIS_MSG_QUERY,
		.len = (uint32_t)sizeof(r) + inlen,
		.rid = rid,
		.oid = oid,
		.infobuf_len = inlen,
		.infobuf_offset = (uint32_t)sizeof(r) - RNDIS_INFOBUF_OFFSET_BASE,
	};

	memcpy(b, &r, sizeof(r));
	if (inlen)
		memcpy(b + sizeof(r), in, inlen);
	return r.len;
}

static uint32_t
rq_set(uint8_t *b, uint32_t rid, uint32_t oid, const void *val, uint32_t n)
{
	struct rndis_set_req r = {
		.type = RNDIS_MSG_SET,
		.len = (uint32_t)sizeof(r) + n,
		.rid = rid,
		.oid = oid,
		.infobuf_len = n,
		.infobuf_offset = (uint32_t)sizeof(r) - RNDIS_INFOBUF_OFFSET_BASE,
	};

	memcpy(b, &r, sizeof(r));
	if (n)
		memcpy(b + sizeof(r), val, n);
	return r.len;
}

/* Query @p oid; return the RNDIS status. On success, check the completion the way a DPDK
 * guest (hn_rndis_query) does with an output buffer of @p odlen bytes, and copy the answer
 * into @p out (@p outlen bytes). */
static uint32_t
query(struct env *e, uint32_t oid, const void *in, uint32_t inlen, void *out, uint32_t odlen,
      uint32_t *outlen)
{
	uint8_t b[1024];
	struct rndis_query_comp c;
	uint32_t rid = ++e->rid, n = rq_query(b, rid, oid, in, inlen), ofs;
	int rc = rndis(e, b, n);

	assert_true(rc >= (int)sizeof(c));
	memcpy(&c, e->resp, sizeof(c));
	assert_int_equal(c.type, RNDIS_MSG_QUERY_C);
	assert_int_equal(c.len, (uint32_t)rc);
	assert_int_equal(c.rid, rid);
	if (c.status != RNDIS_STATUS_SUCCESS)
		return c.status;
	if (outlen)
		*outlen = c.infobuf_len;
	if (c.infobuf_len == 0)
		return c.status; /* DPDK: "no data", not an error */
	assert_true(c.infobuf_offset != 0);
	ofs = c.infobuf_offset + RNDIS_INFOBUF_OFFSET_BASE;
	assert_true(ofs >= sizeof(c));
	assert_true(ofs + c.infobuf_len <= sizeof(c) + odlen); /* DPDK's bound */
	assert_true(ofs + c.infobuf_len <= (uint32_t)rc);
	memcpy(out, e->resp + ofs, c.infobuf_len);
	return c.status;
}

static uint32_t
query_u32(struct env *e, uint32_t oid)
{
	uint32_t v = 0xDEADBEEF, n = 0;

	assert_int_equal(query(e, oid, NULL, 0, &v, sizeof(v), &n), RNDIS_STATUS_SUCCESS);
	assert_int_equal(n, sizeof(v));
	return v;
}

/* SET @p oid; return the RNDIS status from the completion. */
static uint32_t
set(struct env *e, uint32_t oid, const void *val, uint32_t n)
{
	uint8_t b[2048];
	struct rndis_set_comp c;
	uint32_t rid = ++e->rid, len = rq_set(b, rid, oid, val, n);
	int rc = rndis(e, b, len);

	assert_int_equal(rc, sizeof(c));
	memcpy(&c, e->resp, sizeof(c));
	assert_int_equal(c.type, RNDIS_MSG_SET_C);
	assert_int_equal(c.len, sizeof(c));
	assert_int_equal(c.rid, rid);
	return c.status;
}

static uint32_t
set_u32(struct env *e, uint32_t oid, uint32_t v)
{
	return set(e, oid, &v, sizeof(v));
}

/* DPDK's RSS parameters (hn_rndis_conf_rss): revision 2 header, 128 entries, 40-byte key. */
struct rss_msg {
	struct ndis_rss_params p;
	uint32_t ind[NDIS_RSS_INDIR_MAX];
	uint8_t key[NDIS_RSS_KEY_SIZE];
};

#define RSS_LEN ((uint32_t)sizeof(struct rss_msg))

static void
rss_msg_init(struct rss_msg *r, uint16_t flags, uint32_t queues)
{
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->p.hdr.type = NDIS_OBJTYPE_RSS_PARAMS;
	r->p.hdr.rev = 2;
	r->p.hdr.size = sizeof(r->p);
	r->p.flags = flags;
	r->p.hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_IPV4 | NDIS_HASH_TCP_IPV4 |
			 NDIS_HASH_IPV6 | NDIS_HASH_TCP_IPV6;
	r->p.indir_size = sizeof(r->ind);
	r->p.indir_offset = offsetof(struct rss_msg, ind);
	r->p.key_size = NDIS_RSS_KEY_SIZE;
	r->p.key_offset = offsetof(struct rss_msg, key);
	for (i = 0; i < NDIS_RSS_INDIR_MAX; i++)
		r->ind[i] = i % queues;
	for (i = 0; i < NDIS_RSS_KEY_SIZE; i++)
		r->key[i] = (uint8_t)(0x6d + i * 3);
}

/* ---- the DPDK netvsc guest's negotiation ---- */

/* hn_nvs_attach(): versions newest first, NDIS_CONF, NDIS_INIT, RXBUF, CHIM. */
static void
dpdk_nvs_attach(struct env *e)
{
	struct nvsp_init_resp ir;
	struct nvsp_rxbuf_conn_resp rr;
	struct nvsp_chim_conn_resp cr;
	int rc;

	/* A version this host does not speak is refused; the guest then tries 6.1. */
	rc = send_init(e, 0x70000, 0x70000);
	assert_int_equal(rc, NVSP_MSG_SIZE_V1);
	memcpy(&ir, e->resp, sizeof(ir));
	assert_int_equal(ir.type, NVSP_MSG_INIT_RESP);
	assert_int_equal(ir.status, NVSP_STATUS_FAILED);
	assert_int_equal(e->s.nvsp_version, 0);

	rc = send_init(e, NVSP_VERSION_61, NVSP_VERSION_61);
	assert_int_equal(rc, NVSP_MSG_SIZE_V1);
	assert_true(rc >= (int)sizeof(ir)); /* DPDK reads the whole struct */
	memcpy(&ir, e->resp, sizeof(ir));
	assert_int_equal(ir.type, NVSP_MSG_INIT_RESP);
	assert_int_equal(ir.status, NVSP_STATUS_OK);
	assert_int_equal(e->s.nvsp_version, NVSP_VERSION_61);

	/* NDIS_CONF before NDIS_INIT, no responses. */
	assert_int_equal(send_ndis_conf(e, 1500 + 14, NVSP_NDIS_CONF_VLAN | NVSP_NDIS_CONF_SRIOV),
			 0);
	assert_int_equal(send_ndis_init(e, 6, 30), 0);
	assert_int_equal(e->s.mtu, 1500);
	assert_int_equal(e->s.ndis_caps, NVSP_NDIS_CONF_VLAN | NVSP_NDIS_CONF_SRIOV);

	rc = send_rxbuf(e, 0x1234, NVSP_RXBUF_SIG);
	assert_int_equal(rc, NVSP_MSG_SIZE);
	memcpy(&rr, e->resp, sizeof(rr));
	assert_int_equal(rr.type, NVSP_MSG_RXBUF_CONN_RESP);
	assert_int_equal(rr.status, NVSP_STATUS_OK);
	assert_int_equal(rr.nsect, 1); /* DPDK refuses anything else */
	assert_int_equal(rr.sect[0].start, 0); /* Linux refuses anything else */
	assert_int_equal(rr.sect[0].slot_size, e->s.cfg.rx_slot_size);
	assert_int_equal(rr.sect[0].slot_count, RX_LEN / e->s.cfg.rx_slot_size);
	assert_int_equal(rr.sect[0].end, rr.sect[0].slot_count * rr.sect[0].slot_size);
	assert_true((uint64_t)rr.sect[0].end <= RX_LEN); /* Linux: size * count <= buffer */
	assert_true(rr.sect[0].slot_size >= 68);
	assert_true(e->s.rxbuf.connected);
	assert_int_equal(e->st.gpadl[1], 0x1234);
	assert_int_equal(e->s.rx_slots, rr.sect[0].slot_count);

	rc = send_chim(e, 0x5678, NVSP_CHIM_SIG);
	assert_int_equal(rc, NVSP_MSG_SIZE);
	memcpy(&cr, e->resp, sizeof(cr));
	assert_int_equal(cr.type, NVSP_MSG_CHIM_CONN_RESP);
	assert_int_equal(cr.status, NVSP_STATUS_OK);
	assert_int_equal(cr.section_size, 6144);
	assert_true(cr.section_size != 0 && (cr.section_size & 3) == 0);
	assert_int_equal(e->s.chim_sections, CHIM_LEN / 6144);
	assert_int_equal(e->st.gpadl[0], 0x5678);
}

/* hn_rndis_init() */
static void
dpdk_rndis_init(struct env *e)
{
	uint8_t b[64];
	struct rndis_init_comp c;
	uint32_t rid = ++e->rid;
	int rc = rndis(e, b, rq_simple(b, RNDIS_MSG_INIT, rid));

	assert_int_equal(rc, sizeof(c));
	memcpy(&c, e->resp, sizeof(c));
	assert_int_equal(c.type, RNDIS_MSG_INIT_C);
	assert_int_equal(c.len, sizeof(c));
	assert_int_equal(c.rid, rid);
	assert_int_equal(c.status, RNDIS_STATUS_SUCCESS);
	assert_int_equal(c.ver_major, 1);
	assert_int_equal(c.ver_minor, 0);
	assert_int_equal(c.dev_flags, RNDIS_DF_CONNECTIONLESS);
	assert_int_equal(c.medium, RNDIS_MEDIUM_802_3);
	assert_int_equal(c.max_pkts, 8);
	assert_true(c.max_xfer_size >= 6144);
	assert_int_equal(1u << c.align, 8);
	assert_int_equal(e->s.rndis_state, RNDIS_INITIALIZED);
}

static void
check_offload_object(const struct ndis_offload *o, uint32_t n, uint32_t caps)
{
	assert_int_equal(o->hdr.type, NDIS_OBJTYPE_OFFLOAD);
	assert_true(o->hdr.rev >= 1);
	assert_true(o->hdr.size <= n && o->hdr.size >= NDIS_OFFLOAD_SIZE_REV1); /* DPDK */
	assert_int_equal(n, sizeof(*o));
	if (caps == ALL_OFFLOADS) {
		/* Everything DPDK's hn_rndis_get_offload() looks for. */
		assert_int_equal(o->ip4_txcsum & 0x101, 0x101);
		assert_int_equal(o->ip4_txcsum & 0x14, 0x14);
		assert_int_equal(o->ip6_txcsum & 0x15, 0x15);
		assert_int_equal(o->ip4_txcsum & 0x40, 0x40);
		assert_int_equal(o->ip6_txcsum & 0x41, 0x41);
		assert_true(o->lso2_ip4_encap & NDIS_OFFLOAD_ENCAP_8023);
		assert_int_equal(o->lso2_ip6_opts & 0x5, 0x5);
		assert_true(o->ip4_rxcsum & 0x100);
		assert_true((o->ip4_rxcsum & 0x10) && (o->ip6_rxcsum & 0x10));
		assert_true((o->ip4_rxcsum & 0x40) && (o->ip6_rxcsum & 0x40));
	} else if (caps == 0) {
		assert_int_equal(o->ip4_txcsum | o->ip6_txcsum | o->ip4_rxcsum | o->ip6_rxcsum, 0);
		assert_int_equal(o->lso2_ip4_encap | o->lso2_ip6_encap, 0);
	}
}

/* eth_hn_dev_init() and hn_dev_configure() after attach. */
static void
dpdk_rndis_queries_and_config(struct env *e)
{
	uint8_t mac[6];
	struct ndis_offload in, hw;
	struct ndis_rss_caps rin, caps;
	struct ndis_offload_params op;
	struct rss_msg rss;
	uint32_t n = 0;
	int rc;

	assert_int_equal(query(e, OID_802_3_PERMANENT_ADDRESS, NULL, 0, mac, 6, &n),
			 RNDIS_STATUS_SUCCESS);
	assert_int_equal(n, 6);
	assert_memory_equal(mac, MAC, 6);

	/* Queries with an NDIS object header as input (revision 3 offload, revision 2 RSS). */
	memset(&in, 0, sizeof(in));
	in.hdr.type = NDIS_OBJTYPE_OFFLOAD;
	in.hdr.rev = 3;
	in.hdr.size = sizeof(in);
	assert_int_equal(query(e, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &in, sizeof(in), &hw,
			       sizeof(hw), &n),
			 RNDIS_STATUS_SUCCESS);
	check_offload_object(&hw, n, ALL_OFFLOADS);

	memset(&rin, 0, sizeof(rin));
	rin.hdr.type = NDIS_OBJTYPE_RSS_CAPS;
	rin.hdr.rev = 2;
	rin.hdr.size = NDIS_RSS_CAPS_SIZE;
	memset(&caps, 0, sizeof(caps));
	assert_int_equal(query(e, OID_GEN_RECEIVE_SCALE_CAPABILITIES, &rin, NDIS_RSS_CAPS_SIZE,
			       &caps, NDIS_RSS_CAPS_SIZE, &n),
			 RNDIS_STATUS_SUCCESS);
	assert_int_equal(n, NDIS_RSS_CAPS_SIZE);
	assert_int_equal(caps.hdr.type, NDIS_OBJTYPE_RSS_CAPS);
	assert_true(caps.hdr.rev >= 2);
	assert_int_equal(caps.hdr.size, NDIS_RSS_CAPS_SIZE);
	assert_int_equal(caps.nrxq, 4);
	assert_true(caps.nindirect != 0 && caps.nindirect <= 128 &&
		    (caps.nindirect & (caps.nindirect - 1)) == 0);
	assert_true(caps.caps & 0x100); /* DPDK: IPv4 */
	assert_true(caps.caps & 0x200); /* DPDK: IPv6 */

	/* hn_dev_link_update() */
	assert_int_equal(query_u32(e, OID_GEN_MEDIA_CONNECT_STATUS), NDIS_MEDIA_STATE_CONNECTED);
	assert_int_equal(query_u32(e, OID_GEN_LINK_SPEED), 400000000u);

	/* hn_rndis_conf_offload(): TCP and UDP checksum both ways, TSO, revision 3 params. */
	memset(&op, 0, sizeof(op));
	op.hdr.type = NDIS_OBJTYPE_DEFAULT;
	op.hdr.rev = 3;
	op.hdr.size = sizeof(op);
	op.tcp4_csum = NDIS_OFFLOAD_PARAM_TXRX;
	op.tcp6_csum = NDIS_OFFLOAD_PARAM_TXRX;
	op.udp4_csum = NDIS_OFFLOAD_PARAM_TX;
	op.udp6_csum = NDIS_OFFLOAD_PARAM_TX;
	op.lsov2_ip4 = NDIS_OFFLOAD_LSO_ON;
	op.lsov2_ip6 = NDIS_OFFLOAD_LSO_ON;
	e->s.changes = 0;
	assert_int_equal(set(e, OID_TCP_OFFLOAD_PARAMETERS, &op, sizeof(op)), RNDIS_STATUS_SUCCESS);
	assert_true(e->s.changes & VMB_NETVSP_CHG_OFFLOAD);
	assert_true(e->s.offloads & VMB_NETVSP_OFF_TX_TCP4CSUM);
	assert_true(e->s.offloads & VMB_NETVSP_OFF_RX_TCP6CSUM);
	assert_true(e->s.offloads & VMB_NETVSP_OFF_TX_UDP4CSUM);
	assert_false(e->s.offloads & VMB_NETVSP_OFF_RX_UDP4CSUM);
	assert_true(e->s.offloads & VMB_NETVSP_OFF_TX_LSO6);

	/* hn_subchan_configure(): 3 subchannels for 4 queues. */
	rc = send_subch(e, NVSP_SUBCH_OP_ALLOC, 3);
	assert_int_equal(rc, NVSP_MSG_SIZE); /* DPDK reads 40 bytes */
	assert_int_equal(resp32(e, 0), NVSP_MSG_SUBCH);
	assert_int_equal(resp32(e, 4), NVSP_STATUS_OK);
	assert_int_equal(resp32(e, 8), 3);
	assert_int_equal(e->st.alloc_req, 3);
	assert_int_equal(e->s.subchannels, 3);

	/* RSS: disabled first, then the table i % 4. */
	rss_msg_init(&rss, NDIS_RSS_FLAG_DISABLE, 4);
	assert_int_equal(set(e, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss)),
			 RNDIS_STATUS_SUCCESS);
	assert_int_equal(e->s.rss_hash_types, 0);
	rss_msg_init(&rss, 0, 4);
	assert_int_equal(set(e, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss)),
			 RNDIS_STATUS_SUCCESS);
	assert_int_equal(e->s.rss_hash_types, NDIS_HASH_IPV4 | NDIS_HASH_TCP_IPV4 |
						      NDIS_HASH_IPV6 | NDIS_HASH_TCP_IPV6);
	assert_int_equal(e->s.rss_key_len, 40);
	assert_memory_equal(e->s.rss_key, rss.key, 40);
	assert_int_equal(e->s.rss_indir_count, 128);
	assert_memory_equal(e->s.rss_indir, rss.ind, sizeof(rss.ind));

	/* hn_dev_start(): filter. */
	assert_int_equal(set_u32(e, OID_GEN_CURRENT_PACKET_FILTER,
				 NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_ALL_MULTICAST |
					 NDIS_PACKET_TYPE_BROADCAST),
			 RNDIS_STATUS_SUCCESS);
	assert_int_equal(e->s.packet_filter, NDIS_PACKET_TYPE_DIRECTED |
						     NDIS_PACKET_TYPE_ALL_MULTICAST |
						     NDIS_PACKET_TYPE_BROADCAST);
	assert_int_equal(query_u32(e, OID_GEN_CURRENT_PACKET_FILTER), e->s.packet_filter);
}

static void
check_no_errors(const struct env *e)
{
	EQ("errors", e->s.errors.bad_nvsp, 0);
	EQ("errors", e->s.errors.bad_rndis, 0);
	EQ("errors", e->s.errors.unsupported_oid, 0);
	EQ("errors", e->s.errors.out_of_order, 0);
}

static void
test_dpdk_negotiation(void **state)
{
	struct env e;
	uint8_t b[64];
	uint8_t tab[128];
	int rc;

	(void)state;
	env_init(&e);
	dpdk_nvs_attach(&e);
	dpdk_rndis_init(&e);
	dpdk_rndis_queries_and_config(&e);

	/* Transmit spread after the subchannels opened: 16 entries, round robin over 4. */
	rc = vmb_netvsp_indirection_msg(&e.s, tab, sizeof(tab));
	assert_int_equal(rc, 12 + 16 * 4);
	{
		struct nvsp_indirection_table h;
		uint32_t i, v;

		memcpy(&h, tab, sizeof(h));
		assert_int_equal(h.type, NVSP_MSG_INDIRECTION_TABLE);
		assert_int_equal(h.count, 16);
		assert_int_equal(h.offset, 12);
		for (i = 0; i < 16; i++) {
			memcpy(&v, tab + h.offset + 4 * i, 4);
			assert_int_equal(v, i % 4);
		}
	}
	check_no_errors(&e);

	/* hn_detach(): buffers revoked (no responses), then HALT (no completion). */
	assert_int_equal(send_rxbuf_disconn(&e, NVSP_RXBUF_SIG), 0);
	assert_int_equal(send_chim_disconn(&e, NVSP_CHIM_SIG), 0);
	assert_false(e.s.rxbuf.connected);
	assert_false(e.s.chim.connected);
	assert_int_equal(e.st.unmaps[0], 1);
	assert_int_equal(e.st.unmaps[1], 1);
	/* HALT has no completion: fine without the receive buffer. Anything else is refused. */
	assert_int_equal(rndis(&e, b, rq_simple(b, RNDIS_MSG_KEEPALIVE, 98)), -EPROTO);
	assert_int_equal(e.s.errors.out_of_order, 1);
	assert_int_equal(rndis(&e, b, rq_simple(b, RNDIS_MSG_HALT, 99)), 0);
	assert_int_equal(e.s.rndis_state, RNDIS_HALTED);
	/* The same channel may now be negotiated again (a DPDK port re-attaching). */
	dpdk_nvs_attach(&e);
	dpdk_rndis_init(&e);
	vmb_netvsp_fini(&e.s);
	assert_false(e.st.mapped[0] || e.st.mapped[1]);
}

static void
test_halt_and_fini(void **state)
{
	struct env e;
	uint8_t b[64];

	(void)state;
	env_init(&e);
	dpdk_nvs_attach(&e);
	dpdk_rndis_init(&e);
	e.s.changes = 0;
	assert_int_equal(rndis(&e, b, rq_simple(b, RNDIS_MSG_HALT, 5)), 0);
	assert_int_equal(e.s.rndis_state, RNDIS_HALTED);
	assert_true(e.s.changes & VMB_NETVSP_CHG_RNDIS);
	/* After HALT: queries fail, INIT fails, keepalive still answered. */
	{
		uint32_t v;

		assert_int_equal(query(&e, OID_GEN_LINK_SPEED, NULL, 0, &v, 4, NULL),
				 RNDIS_STATUS_FAILURE);
	}
	assert_int_equal(rndis(&e, b, rq_simple(b, RNDIS_MSG_INIT, 6)),
			 sizeof(struct rndis_init_comp));
	assert_int_equal(resp32(&e, 12), RNDIS_STATUS_FAILURE);
	assert_int_equal(rndis(&e, b, rq_simple(b, RNDIS_MSG_KEEPALIVE, 7)),
			 sizeof(struct rndis_keepalive_comp));
	assert_int_equal(resp32(&e, 0), RNDIS_MSG_KEEPALIVE_C);
	assert_int_equal(resp32(&e, 8), 7);
	assert_int_equal(resp32(&e, 12), RNDIS_STATUS_SUCCESS);
	assert_int_equal(e.s.errors.out_of_order, 2);
	/* fini unmaps what the guest left connected. */
	vmb_netvsp_fini(&e.s);
	assert_false(e.st.mapped[0] || e.st.mapped[1]);
	assert_false(e.s.rxbuf.connected || e.s.chim.connected);
	vmb_netvsp_fini(&e.s); /* twice is harmless */
	assert_int_equal(e.st.unmaps[0], 1);
	assert_int_equal(e.st.unmaps[1], 1);
}

static void
test_renegotiate_after_detach(void **state)
{
	struct env e;
	uint8_t b[64];

	(void)state;
	env_init(&e);
	dpdk_nvs_attach(&e);
	dpdk_rndis_init(&e);
	/* INIT while buffers are connected: refused. */
	assert_int_equal(send_init(&e, NVSP_VERSION_61, NVSP_VERSION_61), -EPROTO);
	assert_int_equal(e.s.errors.out_of_order, 1);
	assert_int_equal(e.s.nvsp_version, NVSP_VERSION_61);
	assert_int_equal(send_rxbuf_disconn(&e, NVSP_RXBUF_SIG), 0);
	assert_int_equal(send_chim_disconn(&e, 0), 0); /* Linux's id is accepted too */
	/* RNDIS still initialized: refused. */
	assert_int_equal(send_init(&e, NVSP_VERSION_61, NVSP_VERSION_61), -EPROTO);
	assert_int_equal(e.s.errors.out_of_order, 2);
	vmb_netvsp_fini(&e.s);

	/* HALT before the revokes (Linux order) works as well as after (DPDK order). */

	env_init(&e);
	dpdk_nvs_attach(&e);
	dpdk_rndis_init(&e);
	assert_int_equal(rndis(&e, b, rq_simple(b, RNDIS_MSG_HALT, 9)), 0);
	assert_int_equal(send_rxbuf_disconn(&e, NVSP_RXBUF_SIG), 0);
	assert_int_equal(send_chim_disconn(&e, NVSP_CHIM_SIG), 0);
	/* Now a new attach on the same channel works from the start. */
	dpdk_nvs_attach(&e);
	dpdk_rndis_init(&e);
	check_no_errors(&e);
	assert_int_equal(e.st.maps[1], 2);
	assert_int_equal(e.st.unmaps[1], 1);
	vmb_netvsp_fini(&e.s);
}

/* A Linux-like guest: send buffer id 0, jumbo MTU, NDIS 6.30, config parameter SET. */
static void
test_linux_like_guest(void **state)
{
	static const struct {
		const char *name;
		uint32_t cfg_mtu, frame, want_mtu;
	} cases[] = {
		{"jumbo both", 9000, 9014, 9000},
		{"host smaller", 1500, 9014, 1500},
		{"guest smaller", 9000, 1514, 1500},
		{"frame too small: default", 9000, 100, 1500},
		{"frame 0: default", 9000, 0, 1500},
		{"frame too big: default", 9000, 0xFFFFFFFF, 1500},
		{"host below default", 1280, 1514, 1280},
		{"vmswitch max", 9202, 9216, 9202},
		{"over vmswitch max: default", 9202, 9217, 1500},
	};
	uint32_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vmb_netvsp_config c = default_cfg();
		struct env e;
		uint8_t name_val[20 + 32];
		struct rndis_config_param cp;
		uint32_t v;

		c.mtu = cases[i].cfg_mtu;
		env_init_cfg(&e, &c);
		EQ(cases[i].name, send_init(&e, NVSP_VERSION_61, NVSP_VERSION_61),
		   NVSP_MSG_SIZE_V1);
		EQ(cases[i].name, send_ndis_conf(&e, cases[i].frame, NVSP_NDIS_CONF_VLAN), 0);
		EQ(cases[i].name, send_ndis_init(&e, 6, 30), 0);
		EQ(cases[i].name, send_rxbuf(&e, 1, NVSP_RXBUF_SIG), NVSP_MSG_SIZE);
		EQ(cases[i].name, send_chim(&e, 2, 0), NVSP_MSG_SIZE);
		EQ(cases[i].name, resp32(&e, 4), NVSP_STATUS_OK);
		EQ(cases[i].name, e.s.mtu, cases[i].want_mtu);
		dpdk_rndis_init(&e);
		/* Linux reads MAXIMUM_FRAME_SIZE as its MTU. */
		EQ(cases[i].name, query_u32(&e, OID_GEN_MAXIMUM_FRAME_SIZE), cases[i].want_mtu);
		EQ(cases[i].name, query_u32(&e, OID_GEN_MAXIMUM_TOTAL_SIZE),
		   cases[i].want_mtu + 14);
		/* The default slot holds a whole frame with all per-packet info. */
		assert_true(e.s.cfg.rx_slot_size >= cases[i].cfg_mtu + 14 + 124);
		/* "NetworkAddress" as a string parameter (UTF-16). */
		memset(name_val, 0, sizeof(name_val));
		cp.name_offset = 20;
		cp.name_len = 16;
		cp.type = 2;
		cp.value_offset = 36;
		cp.value_len = 16;
		memcpy(name_val, &cp, sizeof(cp));
		EQ(cases[i].name,
		   set(&e, OID_GEN_RNDIS_CONFIG_PARAMETER, name_val, sizeof(name_val)),
		   RNDIS_STATUS_SUCCESS);
		v = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST |
		    NDIS_PACKET_TYPE_BROADCAST | NDIS_PACKET_TYPE_PROMISCUOUS;
		EQ(cases[i].name, set_u32(&e, OID_GEN_CURRENT_PACKET_FILTER, v), 0);
		check_no_errors(&e);
		vmb_netvsp_fini(&e.s);
	}
}

static void
test_version_negotiation(void **state)
{
	static const struct {
		const char *name;
		uint32_t vmin, vmax, want;
	} cases[] = {
		{"6.1 exactly", NVSP_VERSION_61, NVSP_VERSION_61, NVSP_VERSION_61},
		{"6 exactly", NVSP_VERSION_6, NVSP_VERSION_6, NVSP_VERSION_6},
		{"5 exactly", NVSP_VERSION_5, NVSP_VERSION_5, NVSP_VERSION_5},
		{"4 exactly", NVSP_VERSION_4, NVSP_VERSION_4, NVSP_VERSION_4},
		{"2 exactly", NVSP_VERSION_2, NVSP_VERSION_2, NVSP_VERSION_2},
		{"1 exactly", NVSP_VERSION_1, NVSP_VERSION_1, NVSP_VERSION_1},
		{"range 5..6.1", NVSP_VERSION_5, NVSP_VERSION_61, NVSP_VERSION_61},
		{"range 1..7", NVSP_VERSION_1, 0x70000, NVSP_VERSION_61},
		{"range 4..5.ffff", NVSP_VERSION_4, 0x5FFFF, NVSP_VERSION_5},
		{"range 0..max", 0, 0xFFFFFFFF, NVSP_VERSION_61},
		{"unknown 3", 3, 3, 0},
		{"unknown 7", 0x70000, 0x70000, 0},
		{"between 2 and 4", 0x30003, 0x3FFFF, 0},
		{"inverted range", NVSP_VERSION_61, NVSP_VERSION_1, 0},
		{"0..0", 0, 0, 0},
	};
	uint32_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct env e;
		struct nvsp_init_resp r;

		env_init(&e);
		EQ(cases[i].name, send_init(&e, cases[i].vmin, cases[i].vmax), NVSP_MSG_SIZE_V1);
		memcpy(&r, e.resp, sizeof(r));
		EQ(cases[i].name, r.type, NVSP_MSG_INIT_RESP);
		EQ(cases[i].name, r.status, cases[i].want ? NVSP_STATUS_OK : NVSP_STATUS_FAILED);
		EQ(cases[i].name, r.ver,
		   cases[i].want == NVSP_VERSION_1 ? NVSP_VERSION_1 : 0xFFFFFFFF);
		EQ(cases[i].name, e.s.nvsp_version, cases[i].want);
		/* Padding bytes are zero. */
		EQ(cases[i].name, resp32(&e, 16) | resp32(&e, 20) | resp32(&e, 24), 0);
		check_no_errors(&e);
	}
}

/* Response sizes follow the agreed version; messages newer than it are malformed. */
static void
test_version_gating(void **state)
{
	struct env e;
	struct nvsp_set_datapath dp = {.type = NVSP_MSG_SET_DATAPATH, .active_path = 1};
	struct nvsp_vf_assoc va = {.type = NVSP_MSG_VF_ASSOC};

	(void)state;
	/* Version 1: no NDIS_CONF, no SET_DATAPATH, no SUBCH; responses 28 bytes. */
	env_init(&e);
	send_init(&e, NVSP_VERSION_1, NVSP_VERSION_1);
	assert_int_equal(send_ndis_conf(&e, 1514, 0), -EPROTO);
	assert_int_equal(e.s.errors.bad_nvsp, 1);
	assert_int_equal(send_ndis_init(&e, 6, 1), 0);
	assert_int_equal(send_rxbuf(&e, 1, NVSP_RXBUF_SIG), NVSP_MSG_SIZE_V1);
	assert_int_equal(send_chim(&e, 2, NVSP_CHIM_SIG), NVSP_MSG_SIZE_V1);
	assert_int_equal(nvsp(&e, &dp, sizeof(dp)), -EPROTO);
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 1), -EPROTO);
	assert_int_equal(e.s.errors.bad_nvsp, 3);
	assert_int_equal(vmb_netvsp_indirection_msg(&e.s, e.resp, sizeof(e.resp)), 0);
	vmb_netvsp_fini(&e.s);

	/* Version 4: SET_DATAPATH and VF_ASSOC yes, SUBCH no. */
	env_init(&e);
	send_init(&e, NVSP_VERSION_4, NVSP_VERSION_4);
	send_ndis_conf(&e, 1514, NVSP_NDIS_CONF_SRIOV);
	send_ndis_init(&e, 6, 1);
	send_rxbuf(&e, 1, NVSP_RXBUF_SIG);
	e.s.changes = 0;
	assert_int_equal(nvsp(&e, &dp, sizeof(dp)), 0);
	assert_int_equal(e.s.datapath, NVSP_DATAPATH_VF);
	assert_true(e.s.changes & VMB_NETVSP_CHG_DATAPATH);
	assert_int_equal(nvsp(&e, &va, sizeof(va)), 0);
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 1), -EPROTO);
	assert_int_equal(e.s.errors.bad_nvsp, 1);
	vmb_netvsp_fini(&e.s);

	/* Version 5: SUBCH answered with 40 bytes even though responses pad to 28. */
	env_init(&e);
	send_init(&e, NVSP_VERSION_5, NVSP_VERSION_5);
	send_ndis_conf(&e, 1514, 0);
	send_ndis_init(&e, 6, 30);
	assert_int_equal(send_rxbuf(&e, 1, NVSP_RXBUF_SIG), NVSP_MSG_SIZE_V1);
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 2), NVSP_MSG_SIZE);
	assert_int_equal(vmb_netvsp_indirection_msg(&e.s, e.resp, sizeof(e.resp)), 76);
	check_no_errors(&e);
	vmb_netvsp_fini(&e.s);
}

static void
test_nvsp_out_of_order(void **state)
{
	struct env e;
	struct nvsp_set_datapath dp = {.type = NVSP_MSG_SET_DATAPATH, .active_path = 0};
	uint8_t b[64];

	(void)state;
	env_init(&e);
	/* Anything before INIT. */
	assert_int_equal(send_ndis_init(&e, 6, 30), -EPROTO);
	assert_int_equal(send_ndis_conf(&e, 1514, 0), -EPROTO);
	assert_int_equal(send_rxbuf(&e, 1, NVSP_RXBUF_SIG), -EPROTO);
	assert_int_equal(send_chim(&e, 1, NVSP_CHIM_SIG), -EPROTO);
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 1), -EPROTO);
	assert_int_equal(send_rxbuf_disconn(&e, NVSP_RXBUF_SIG), -EPROTO);
	assert_int_equal(e.s.errors.out_of_order, 6);
	/* A refused INIT leaves the engine where it was. */
	send_init(&e, 3, 3);
	assert_int_equal(send_ndis_init(&e, 6, 30), -EPROTO);
	assert_int_equal(e.s.errors.out_of_order, 7);

	send_init(&e, NVSP_VERSION_61, NVSP_VERSION_61);
	/* Buffers before NDIS_INIT. */
	assert_int_equal(send_rxbuf(&e, 1, NVSP_RXBUF_SIG), -EPROTO);
	assert_int_equal(send_chim(&e, 1, NVSP_CHIM_SIG), -EPROTO);
	assert_int_equal(nvsp(&e, &dp, sizeof(dp)), -EPROTO);
	assert_int_equal(e.s.errors.out_of_order, 10);
	assert_int_equal(e.st.maps[0] + e.st.maps[1], 0);
	assert_int_equal(send_ndis_conf(&e, 1514, 0), 0);
	assert_int_equal(send_ndis_conf(&e, 9014, 0), -EPROTO); /* twice */
	assert_int_equal(e.s.mtu, 1500);
	assert_int_equal(send_ndis_init(&e, 6, 30), 0);
	assert_int_equal(send_ndis_init(&e, 6, 1), -EPROTO); /* twice */
	assert_int_equal(e.s.ndis_minor, 30);
	/* SUBCH and RNDIS before the receive buffer. */
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 1), -EPROTO);
	assert_int_equal(rndis(&e, b, rq_simple(b, RNDIS_MSG_INIT, 1)), -EPROTO);
	assert_int_equal(e.s.errors.out_of_order, 14);
	assert_int_equal(send_rxbuf(&e, 1, NVSP_RXBUF_SIG), NVSP_MSG_SIZE);
	assert_int_equal(send_rxbuf(&e, 2, NVSP_RXBUF_SIG), -EPROTO); /* twice */
	assert_int_equal(e.s.rxbuf.gpadl, 1);
	assert_int_equal(send_ndis_conf(&e, 1514, 0), -EPROTO); /* after the buffer */
	assert_int_equal(send_chim(&e, 3, NVSP_CHIM_SIG), NVSP_MSG_SIZE);
	assert_int_equal(send_chim(&e, 4, NVSP_CHIM_SIG), -EPROTO);
	assert_int_equal(e.s.chim.gpadl, 3);
	assert_int_equal(send_chim_disconn(&e, NVSP_CHIM_SIG), 0);
	assert_int_equal(send_chim_disconn(&e, NVSP_CHIM_SIG), -EPROTO); /* not connected */
	assert_int_equal(e.s.errors.out_of_order, 18);
	/* QUERY and SET before RNDIS INIT: completed with FAILURE. */
	{
		uint32_t v;

		assert_int_equal(query(&e, OID_GEN_LINK_SPEED, NULL, 0, &v, 4, NULL),
				 RNDIS_STATUS_FAILURE);
		assert_int_equal(set_u32(&e, OID_GEN_CURRENT_PACKET_FILTER, 1),
				 RNDIS_STATUS_FAILURE);
		assert_int_equal(e.s.packet_filter, 0);
	}
	assert_int_equal(e.s.errors.out_of_order, 20);
	assert_int_equal(e.s.errors.bad_nvsp, 0);
	vmb_netvsp_fini(&e.s);
	assert_false(e.st.mapped[0] || e.st.mapped[1]);
}

/* Bring an engine to "buffers connected, RNDIS initialized" (6.1). */
static void
ready(struct env *e)
{
	send_init(e, NVSP_VERSION_61, NVSP_VERSION_61);
	send_ndis_conf(e, 1514, 0);
	send_ndis_init(e, 6, 30);
	assert_int_equal(send_rxbuf(e, 1, NVSP_RXBUF_SIG), NVSP_MSG_SIZE);
	assert_int_equal(send_chim(e, 2, NVSP_CHIM_SIG), NVSP_MSG_SIZE);
	dpdk_rndis_init(e);
	check_no_errors(e);
}

static void
test_nvsp_malformed(void **state)
{
	/* Each message type with one byte less than the fields read. */
	static const struct {
		uint32_t type, min;
	} shorts[] = {
		{NVSP_MSG_INIT, 12},        {NVSP_MSG_NDIS_CONF, 20},  {NVSP_MSG_NDIS_INIT, 12},
		{NVSP_MSG_RXBUF_CONN, 10},  {NVSP_MSG_RXBUF_DISCONN, 6}, {NVSP_MSG_CHIM_CONN, 10},
		{NVSP_MSG_CHIM_DISCONN, 6}, {NVSP_MSG_SET_DATAPATH, 8}, {NVSP_MSG_SUBCH, 12},
	};
	static const uint32_t bad_types[] = {0, 2, 3, 99, 102, 105, 109, 124, 126, 127, 130, 131,
					     132, 134, 135, 136, 0xFFFFFFFF, 0x80000001};
	uint8_t m[64];
	struct env e;
	uint32_t i, l;
	uint64_t bad;

	(void)state;
	env_init(&e);
	/* Less than a type. */
	for (l = 0; l < 4; l++)
		assert_int_equal(nvsp(&e, m, l), -EPROTO);
	assert_int_equal(e.s.errors.bad_nvsp, 4);

	/* Short messages, in a state where the full message would be accepted. */
	for (i = 0; i < ARRAY_SIZE(shorts); i++) {
		env_init(&e);
		if (shorts[i].type != NVSP_MSG_INIT) {
			send_init(&e, NVSP_VERSION_61, NVSP_VERSION_61);
			if (shorts[i].type != NVSP_MSG_NDIS_CONF &&
			    shorts[i].type != NVSP_MSG_NDIS_INIT) {
				send_ndis_init(&e, 6, 30);
				if (shorts[i].type == NVSP_MSG_RXBUF_DISCONN ||
				    shorts[i].type == NVSP_MSG_SUBCH)
					send_rxbuf(&e, 1, NVSP_RXBUF_SIG);
				if (shorts[i].type == NVSP_MSG_CHIM_DISCONN)
					send_chim(&e, 1, NVSP_CHIM_SIG);
			}
		}
		memset(m, 0, sizeof(m));
		memcpy(m, &shorts[i].type, 4);
		m[4] = 1;
		for (l = 4; l < shorts[i].min; l++) {
			char name[32];

			snprintf(name, sizeof(name), "type %u len %u", shorts[i].type, l);
			EQ(name, nvsp(&e, m, l), -EPROTO);
		}
		EQ("short", e.s.errors.bad_nvsp, shorts[i].min - 4);
		EQ("short", e.s.errors.out_of_order, 0);
		vmb_netvsp_fini(&e.s);
	}

	/* Unknown, response and host-to-guest types, before and after INIT. */
	env_init(&e);
	memset(m, 0, sizeof(m));
	for (i = 0; i < ARRAY_SIZE(bad_types); i++) {
		memcpy(m, &bad_types[i], 4);
		assert_int_equal(nvsp(&e, m, 40), -EPROTO);
	}
	send_init(&e, NVSP_VERSION_61, NVSP_VERSION_61);
	for (i = 0; i < ARRAY_SIZE(bad_types); i++) {
		memcpy(m, &bad_types[i], 4);
		assert_int_equal(nvsp(&e, m, 40), -EPROTO);
	}
	assert_int_equal(e.s.errors.bad_nvsp, 2 * ARRAY_SIZE(bad_types));
	/* RNDIS and its ACK are not control messages: owner error, not counted. */
	bad = e.s.errors.bad_nvsp;
	i = NVSP_MSG_RNDIS;
	memcpy(m, &i, 4);
	assert_int_equal(nvsp(&e, m, 40), -EINVAL);
	i = NVSP_MSG_RNDIS_ACK;
	memcpy(m, &i, 4);
	assert_int_equal(nvsp(&e, m, 40), -EINVAL);
	assert_int_equal(e.s.errors.bad_nvsp, bad);
	/* SET_DATAPATH with an unknown path. */
	send_ndis_init(&e, 6, 30);
	{
		struct nvsp_set_datapath dp = {.type = NVSP_MSG_SET_DATAPATH, .active_path = 2};

		assert_int_equal(nvsp(&e, &dp, sizeof(dp)), -EPROTO);
		assert_int_equal(e.s.datapath, 0);
	}
	assert_int_equal(e.s.errors.bad_nvsp, bad + 1);
	vmb_netvsp_fini(&e.s);
}

static void
test_nvsp_buffers(void **state)
{
	struct env e;
	struct nvsp_rxbuf_conn_resp rr;

	(void)state;
	/* Bad signatures: FAILED, counted, nothing mapped. */
	env_init(&e);
	send_init(&e, NVSP_VERSION_61, NVSP_VERSION_61);
	send_ndis_init(&e, 6, 30);
	assert_int_equal(send_rxbuf(&e, 1, 0xCAFF), NVSP_MSG_SIZE);
	memcpy(&rr, e.resp, sizeof(rr));
	assert_int_equal(rr.type, NVSP_MSG_RXBUF_CONN_RESP);
	assert_int_equal(rr.status, NVSP_STATUS_FAILED);
	assert_int_equal(rr.nsect, 0);
	assert_int_equal(send_chim(&e, 1, 0x1234), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_FAILED);
	assert_int_equal(e.s.errors.bad_nvsp, 2);
	assert_int_equal(e.st.maps[0] + e.st.maps[1], 0);
	assert_false(e.s.rxbuf.connected || e.s.chim.connected);

	/* Mapping fails: FAILED, the guest may try again. */
	e.st.map_rc = -ENOMEM;
	assert_int_equal(send_rxbuf(&e, 1, NVSP_RXBUF_SIG), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_FAILED);
	assert_int_equal(send_chim(&e, 1, NVSP_CHIM_SIG), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_FAILED);
	e.st.map_rc = 0;
	/* Mapping "succeeds" with no address: unmapped again, FAILED. */
	e.st.map_null = true;
	assert_int_equal(send_rxbuf(&e, 1, NVSP_RXBUF_SIG), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_FAILED);
	assert_int_equal(e.st.unmaps[1], 1);
	e.st.map_null = false;
	/* Buffers smaller than one slot / one section: unmapped, FAILED. */
	e.st.len[1] = e.s.cfg.rx_slot_size - 1;
	e.st.len[0] = 6143;
	assert_int_equal(send_rxbuf(&e, 1, NVSP_RXBUF_SIG), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_FAILED);
	assert_int_equal(send_chim(&e, 1, NVSP_CHIM_SIG), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_FAILED);
	assert_false(e.st.mapped[0] || e.st.mapped[1]);
	assert_false(e.s.rxbuf.connected || e.s.chim.connected);
	assert_int_equal(e.s.errors.out_of_order, 0);

	/* Huge buffers (more than 4 GiB): the section's end still fits 32 bits. */
	e.st.len[1] = 5ull << 30;
	e.st.len[0] = 5ull << 30;
	assert_int_equal(send_rxbuf(&e, 1, NVSP_RXBUF_SIG), NVSP_MSG_SIZE);
	memcpy(&rr, e.resp, sizeof(rr));
	assert_int_equal(rr.status, NVSP_STATUS_OK);
	assert_int_equal(rr.sect[0].slot_count, 0xFFFFFFFFull / e.s.cfg.rx_slot_size);
	assert_true((uint64_t)rr.sect[0].slot_count * rr.sect[0].slot_size <= 0xFFFFFFFFull);
	assert_int_equal(send_chim(&e, 1, NVSP_CHIM_SIG), NVSP_MSG_SIZE);
	assert_int_equal(e.s.chim_sections, 0xFFFFFFFFull / 6144);

	/* Revokes with a wrong id: refused, still connected. */
	assert_int_equal(send_rxbuf_disconn(&e, 0xFACE), -EPROTO);
	assert_int_equal(send_chim_disconn(&e, 0xCAFE), -EPROTO);
	assert_true(e.s.rxbuf.connected && e.s.chim.connected);
	e.s.changes = 0;
	assert_int_equal(send_rxbuf_disconn(&e, NVSP_RXBUF_SIG), 0);
	assert_int_equal(send_chim_disconn(&e, NVSP_CHIM_SIG), 0);
	assert_int_equal(e.s.changes, VMB_NETVSP_CHG_RXBUF | VMB_NETVSP_CHG_CHIM);
	assert_false(e.st.mapped[0] || e.st.mapped[1]);
	vmb_netvsp_fini(&e.s);

	/* No ops at all: buffers cannot be connected, subchannels none. */
	{
		struct vmb_netvsp s;
		struct vmb_netvsp_config c = default_cfg();
		struct vmb_netvsp_ops none = {0};
		uint8_t out[64];
		struct nvsp_init im = {.type = NVSP_MSG_INIT, .ver_min = 2, .ver_max = 0x60001};
		struct nvsp_ndis_init ni = {.type = NVSP_MSG_NDIS_INIT, .ndis_major = 6};
		struct nvsp_rxbuf_conn rc = {.type = NVSP_MSG_RXBUF_CONN, .sig = NVSP_RXBUF_SIG};

		vmb_netvsp_init(&s, &c, &none, NULL);
		assert_int_equal(vmb_netvsp_nvsp_ctl(&s, &im, sizeof(im), out, sizeof(out)), 28);
		assert_int_equal(vmb_netvsp_nvsp_ctl(&s, &ni, sizeof(ni), out, sizeof(out)), 0);
		assert_int_equal(vmb_netvsp_nvsp_ctl(&s, &rc, sizeof(rc), out, sizeof(out)), 40);
		{
			uint32_t st;

			memcpy(&st, out + 4, 4);
			assert_int_equal(st, NVSP_STATUS_FAILED);
		}
		vmb_netvsp_fini(&s);
	}
}

static void
test_nvsp_enospc(void **state)
{
	struct env e;
	struct nvsp_init im = {.type = NVSP_MSG_INIT, .ver_min = 0x60001, .ver_max = 0x60001};
	struct nvsp_rxbuf_conn rc = {.type = NVSP_MSG_RXBUF_CONN, .sig = NVSP_RXBUF_SIG};
	struct nvsp_chim_conn cc = {.type = NVSP_MSG_CHIM_CONN, .sig = NVSP_CHIM_SIG};
	struct nvsp_subch_req sr = {.type = NVSP_MSG_SUBCH, .op = 1, .nsubch = 2};

	(void)state;
	env_init(&e);
	assert_int_equal(nvsp_raw(&e, &im, sizeof(im), 27), -ENOSPC);
	assert_int_equal(e.s.nvsp_version, 0);
	assert_int_equal(nvsp_raw(&e, &im, sizeof(im), 28), 28);
	send_ndis_init(&e, 6, 30);
	assert_int_equal(nvsp_raw(&e, &rc, sizeof(rc), 39), -ENOSPC);
	assert_int_equal(nvsp_raw(&e, &cc, sizeof(cc), 0), -ENOSPC);
	assert_false(e.s.rxbuf.connected || e.s.chim.connected);
	assert_int_equal(e.st.maps[0] + e.st.maps[1], 0);
	assert_int_equal(nvsp_raw(&e, &rc, sizeof(rc), 40), 40);
	assert_int_equal(nvsp_raw(&e, &sr, sizeof(sr), 39), -ENOSPC);
	assert_int_equal(e.st.allocs, 0);
	assert_int_equal(e.s.subchannels, 0);
	assert_int_equal(nvsp_raw(&e, &sr, sizeof(sr), 40), 40);
	assert_int_equal(e.s.subchannels, 2);
	check_no_errors(&e);
	vmb_netvsp_fini(&e.s);
}

static void
test_nvsp_subchannels(void **state)
{
	struct env e;
	struct rss_msg rss;

	(void)state;
	env_init(&e); /* max_queues 4 */
	ready(&e);
	/* More than the host has: clamped to max_queues - 1 before asking the owner. */
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 1000), NVSP_MSG_SIZE);
	assert_int_equal(e.st.alloc_req, 3);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_OK);
	assert_int_equal(resp32(&e, 8), 3);
	/* An owner granting more than asked is clamped. */
	e.st.alloc_extra = 5;
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 2), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 8), 2);
	assert_int_equal(e.s.subchannels, 2);
	e.st.alloc_extra = 0;
	/* Owner failure: FAILED, count unchanged. */
	e.st.alloc_rc = -EBUSY;
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 3), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_FAILED);
	assert_int_equal(resp32(&e, 8), 0);
	assert_int_equal(e.s.subchannels, 2);
	e.st.alloc_rc = 0;
	/* Unknown operation: FAILED, counted. */
	assert_int_equal(send_subch(&e, 2, 3), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_FAILED);
	assert_int_equal(e.s.errors.bad_nvsp, 1);
	assert_int_equal(e.s.subchannels, 2);

	/* An RSS table over 3 queues, then a grant of 1 subchannel: RSS is turned off. */
	rss_msg_init(&rss, 0, 3);
	assert_int_equal(set(&e, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss)), 0);
	assert_true(e.s.rss_hash_types != 0);
	e.s.changes = 0;
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 1), NVSP_MSG_SIZE);
	assert_int_equal(e.s.subchannels, 1);
	assert_int_equal(e.s.rss_hash_types, 0);
	assert_int_equal(e.s.rss_indir_count, 0);
	assert_true(e.s.changes & VMB_NETVSP_CHG_RSS);
	/* Zero subchannels: granted 0 without asking the owner. */
	e.st.allocs = 0;
	assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 0), NVSP_MSG_SIZE);
	assert_int_equal(resp32(&e, 4), NVSP_STATUS_OK);
	assert_int_equal(e.st.allocs, 0);
	assert_int_equal(e.s.subchannels, 0);
	vmb_netvsp_fini(&e.s);

	/* A host with one queue grants none. */
	{
		struct vmb_netvsp_config c = default_cfg();

		c.max_queues = 1;
		env_init_cfg(&e, &c);
		ready(&e);
		assert_int_equal(send_subch(&e, NVSP_SUBCH_OP_ALLOC, 7), NVSP_MSG_SIZE);
		assert_int_equal(resp32(&e, 4), NVSP_STATUS_OK);
		assert_int_equal(resp32(&e, 8), 0);
		assert_int_equal(e.st.allocs, 0);
		vmb_netvsp_fini(&e.s);
	}
}

static void
test_rndis_queries(void **state)
{
	struct env e;
	uint8_t buf[256];
	uint32_t n, i;
	uint32_t list[64];

	(void)state;
	env_init(&e);
	ready(&e);

	assert_int_equal(query(&e, OID_GEN_SUPPORTED_LIST, NULL, 0, list, sizeof(list), &n),
			 RNDIS_STATUS_SUCCESS);
	assert_true(n % 4 == 0 && n / 4 >= 20);
	/* Every listed OID that can be queried answers. */
	for (i = 0; i < n / 4; i++) {
		uint32_t st, m;

		if (list[i] == OID_TCP_OFFLOAD_PARAMETERS ||
		    list[i] == OID_GEN_RECEIVE_SCALE_PARAMETERS ||
		    list[i] == OID_GEN_RNDIS_CONFIG_PARAMETER)
			continue; /* set only */
		st = query(&e, list[i], NULL, 0, buf, sizeof(buf), &m);
		if (st != RNDIS_STATUS_SUCCESS)
			fail_msg("OID 0x%08x: status 0x%08x", list[i], st);
		if (list[i] != OID_802_3_MULTICAST_LIST && m == 0)
			fail_msg("OID 0x%08x: empty answer", list[i]);
	}
	assert_int_equal(query_u32(&e, OID_GEN_MAXIMUM_FRAME_SIZE), 1500);
	assert_int_equal(query_u32(&e, OID_GEN_MAXIMUM_SEND_PACKETS), 8);
	assert_int_equal(query_u32(&e, OID_GEN_MEDIA_SUPPORTED), RNDIS_MEDIUM_802_3);
	assert_int_equal(query_u32(&e, OID_GEN_VENDOR_ID), 0x00155d);
	assert_int_equal(query_u32(&e, OID_GEN_VENDOR_DRIVER_VERSION), 0x10000);
	assert_int_equal(query_u32(&e, OID_802_3_MAXIMUM_LIST_SIZE), VMB_NETVSP_MCAST_MAX);
	assert_int_equal(query(&e, OID_802_3_CURRENT_ADDRESS, NULL, 0, buf, 6, &n), 0);
	assert_memory_equal(buf, MAC, 6);
	assert_int_equal(query(&e, OID_GEN_DRIVER_VERSION, NULL, 0, buf, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(buf[1] << 8 | buf[0], 6 << 8 | 30);
	assert_int_equal(query(&e, OID_GEN_VENDOR_DESCRIPTION, NULL, 0, buf, sizeof(buf), &n), 0);
	assert_int_equal(buf[n - 1], 0);

	/* Link state follows the owner's flag. */
	e.s.link_up = false;
	assert_int_equal(query_u32(&e, OID_GEN_MEDIA_CONNECT_STATUS),
			 NDIS_MEDIA_STATE_DISCONNECTED);
	e.s.link_up = true;
	/* Link speed saturates at 32 bits. */
	e.s.cfg.link_speed_100bps = 1ull << 40;
	assert_int_equal(query_u32(&e, OID_GEN_LINK_SPEED), 0xFFFFFFFFu);

	/* Current offload config follows SETs; a host without offloads offers none. */
	{
		struct ndis_offload o;

		assert_int_equal(query(&e, OID_TCP_OFFLOAD_CURRENT_CONFIG, NULL, 0, &o, sizeof(o),
				       &n),
				 0);
		check_offload_object(&o, n, e.s.offloads);
	}

	/* Unknown OIDs: NOT_SUPPORTED, counted. */
	{
		static const uint32_t unknown[] = {0, 0x00010117, 0x00020101, 0xFC01020F,
						   0xFFFFFFFF, OID_OFFLOAD_ENCAPSULATION};

		for (i = 0; i < ARRAY_SIZE(unknown); i++) {
			assert_int_equal(query(&e, unknown[i], NULL, 0, buf, sizeof(buf), &n),
					 RNDIS_STATUS_NOT_SUPPORTED);
			assert_int_equal(resp32(&e, 16), 0); /* infobuf_len */
		}
		assert_int_equal(e.s.errors.unsupported_oid, ARRAY_SIZE(unknown));
	}
	assert_int_equal(e.s.errors.bad_rndis, 0);
	vmb_netvsp_fini(&e.s);

	/* A host without offload capabilities. */
	{
		struct vmb_netvsp_config c = default_cfg();
		struct ndis_offload o;

		c.offload_caps = 0;
		env_init_cfg(&e, &c);
		ready(&e);
		assert_int_equal(query(&e, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, NULL, 0, &o,
				       sizeof(o), &n),
				 0);
		check_offload_object(&o, n, 0);
		vmb_netvsp_fini(&e.s);
	}
}

static void
test_rndis_set_offload(void **state)
{
	struct env e;
	struct ndis_offload_params op;
	uint32_t before;

	(void)state;
	env_init(&e);
	ready(&e);
	assert_int_equal(e.s.offloads, ALL_OFFLOADS); /* everything the host can do, at first */

	/* Revision 1 (20 bytes): everything off. */
	memset(&op, 0, sizeof(op));
	op.hdr.type = NDIS_OBJTYPE_DEFAULT;
	op.hdr.rev = 1;
	op.hdr.size = NDIS_OFFLOAD_PARAMS_SIZE_REV1;
	op.ip4_csum = op.tcp4_csum = op.udp4_csum = op.tcp6_csum = op.udp6_csum =
		NDIS_OFFLOAD_PARAM_OFF;
	op.lsov2_ip4 = op.lsov2_ip6 = NDIS_OFFLOAD_LSO_OFF;
	assert_int_equal(set(&e, OID_TCP_OFFLOAD_PARAMETERS, &op, NDIS_OFFLOAD_PARAMS_SIZE_REV1),
			 0);
	assert_int_equal(e.s.offloads, 0);
	/* RX only for IPv4 header checksum; no change elsewhere. */
	memset(&op.ip4_csum, 0, 11);
	op.ip4_csum = NDIS_OFFLOAD_PARAM_RX;
	assert_int_equal(set(&e, OID_TCP_OFFLOAD_PARAMETERS, &op, NDIS_OFFLOAD_PARAMS_SIZE_REV1),
			 0);
	assert_int_equal(e.s.offloads, VMB_NETVSP_OFF_RX_IP4CSUM);

	/* Refused: each leaves the offloads as they were. */
	before = e.s.offloads;
	{
		static const struct {
			const char *name;
			uint32_t field;  /* byte offset in the object */
			uint8_t value;
			uint32_t len;
			uint32_t status;
		} bad[] = {
			{"short", 0, 0, 19, RNDIS_STATUS_INVALID_LENGTH},
			{"type", 0, NDIS_OBJTYPE_OFFLOAD, 20, RNDIS_STATUS_INVALID_DATA},
			{"rev 0", 1, 0, 20, RNDIS_STATUS_INVALID_DATA},
			{"size < 20", 2, 19, 20, RNDIS_STATUS_INVALID_DATA},
			{"size > sent", 2, 21, 20, RNDIS_STATUS_INVALID_DATA},
			{"csum 5", 5, 5, 20, RNDIS_STATUS_INVALID_DATA},
			{"udp6 255", 8, 255, 20, RNDIS_STATUS_INVALID_DATA},
			{"lsov1 on", 9, NDIS_OFFLOAD_LSO_ON, 20, RNDIS_STATUS_NOT_SUPPORTED},
			{"lsov1 3", 9, 3, 20, RNDIS_STATUS_INVALID_DATA},
			{"lsov2 3", 11, 3, 20, RNDIS_STATUS_INVALID_DATA},
			{"lsov2v6 9", 12, 9, 20, RNDIS_STATUS_INVALID_DATA},
		};
		uint32_t i;

		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			uint8_t obj[28];

			memset(&op, 0, sizeof(op));
			op.hdr.type = NDIS_OBJTYPE_DEFAULT;
			op.hdr.rev = 2;
			op.hdr.size = 20;
			op.tcp4_csum = NDIS_OFFLOAD_PARAM_TXRX;
			memcpy(obj, &op, sizeof(obj));
			obj[bad[i].field] = bad[i].value;
			EQ(bad[i].name, set(&e, OID_TCP_OFFLOAD_PARAMETERS, obj, bad[i].len),
			   bad[i].status);
			EQ(bad[i].name, e.s.offloads, before);
		}
		assert_int_equal(e.s.errors.bad_rndis, ARRAY_SIZE(bad) - 1);
		assert_int_equal(e.s.errors.unsupported_oid, 1);
	}
	vmb_netvsp_fini(&e.s);

	/* A host that can do only TX TCP4: the rest stays off whatever the guest asks. */
	{
		struct vmb_netvsp_config c = default_cfg();

		/* Unknown bits are dropped. */
		c.offload_caps = VMB_NETVSP_OFF_TX_TCP4CSUM | 0xF0000000u;
		env_init_cfg(&e, &c);
		assert_int_equal(e.s.cfg.offload_caps, VMB_NETVSP_OFF_TX_TCP4CSUM);
		ready(&e);
		memset(&op, 0, sizeof(op));
		op.hdr.type = NDIS_OBJTYPE_DEFAULT;
		op.hdr.rev = 3;
		op.hdr.size = sizeof(op);
		op.ip4_csum = op.tcp4_csum = op.udp4_csum = op.tcp6_csum = op.udp6_csum =
			NDIS_OFFLOAD_PARAM_TXRX;
		op.lsov2_ip4 = op.lsov2_ip6 = NDIS_OFFLOAD_LSO_ON;
		assert_int_equal(set(&e, OID_TCP_OFFLOAD_PARAMETERS, &op, sizeof(op)), 0);
		assert_int_equal(e.s.offloads, VMB_NETVSP_OFF_TX_TCP4CSUM);
		vmb_netvsp_fini(&e.s);
	}
}

static void
test_rndis_set_rss(void **state)
{
	struct env e;
	struct rss_msg rss;
	uint32_t errs;
	uint32_t i;

	(void)state;
	env_init(&e);
	ready(&e);
	send_subch(&e, NVSP_SUBCH_OP_ALLOC, 3);
	assert_int_equal(e.s.subchannels, 3);

	/* Malformed parameter blocks: INVALID_DATA (or _LENGTH), counted, nothing changed. */
	{
		static const struct {
			const char *name;
			uint32_t off, val, width; /* patch: byte offset, value, 2 or 4 bytes */
			uint32_t len;             /* bytes sent */
		} bad[] = {
			{"short", 0, 0, 0, NDIS_RSS_PARAMS_SIZE_REV1 - 1},
			{"hash function 2", 8, 0x302, 4, RSS_LEN},
			{"key size 39", 20, 39, 2, RSS_LEN},
			{"key size 0", 20, 0, 2, RSS_LEN},
			{"key size 41", 20, 41, 2, RSS_LEN},
			{"key past end", 24, RSS_LEN - 39, 4, RSS_LEN},
			{"key offset huge", 24, 0xFFFFFFF0u, 4, RSS_LEN},
			{"table size 0", 12, 0, 2, RSS_LEN},
			{"table size 3", 12, 3, 2, RSS_LEN},
			{"table size 516", 12, 516, 2, RSS_LEN},
			{"table size 65532", 12, 65532, 2, RSS_LEN},
			{"table past end", 16, RSS_LEN - 511, 4, RSS_LEN},
			{"table offset huge", 16, 0xFFFFFFFCu, 4, RSS_LEN},
			{"queue 4", 40 + 4 * 77, 4, 4, RSS_LEN},
			{"queue huge", 40, 0xFFFFFFFFu, 4, RSS_LEN},
			{"truncated key", 0, 0, 0, RSS_LEN - 1},
		};

		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			uint8_t raw[sizeof(struct rss_msg)];

			rss_msg_init(&rss, 0, 4);
			memcpy(raw, &rss, sizeof(raw));
			if (bad[i].width)
				memcpy(raw + bad[i].off, &bad[i].val, bad[i].width);
			errs = (uint32_t)e.s.errors.bad_rndis;
			EQ(bad[i].name,
			   set(&e, OID_GEN_RECEIVE_SCALE_PARAMETERS, raw, bad[i].len) ==
				   RNDIS_STATUS_SUCCESS,
			   0);
			EQ(bad[i].name, e.s.errors.bad_rndis, errs + 1);
			EQ(bad[i].name, e.s.rss_hash_types, 0);
			EQ(bad[i].name, e.s.rss_indir_count, 0);
			EQ(bad[i].name, e.s.rss_key_len, 0);
		}
	}
	/* "Unchanged" key or table when there is none yet. */
	rss_msg_init(&rss, NDIS_RSS_FLAG_KEY_UNCHG, 4);
	assert_int_equal(set(&e, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss)),
			 RNDIS_STATUS_INVALID_DATA);
	rss_msg_init(&rss, NDIS_RSS_FLAG_IND_UNCHG, 4);
	assert_int_equal(set(&e, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss)),
			 RNDIS_STATUS_INVALID_DATA);

	/* A smaller table (16 entries, a revision 1 header) then "unchanged" parts. */
	{
		uint8_t raw[28 + 64 + 40];
		struct ndis_rss_params p;
		uint32_t v;

		memset(raw, 0, sizeof(raw));
		memset(&p, 0, sizeof(p));
		p.hdr.type = NDIS_OBJTYPE_RSS_PARAMS;
		p.hdr.rev = 1;
		p.hdr.size = 28;
		p.hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4;
		p.indir_size = 64;
		p.indir_offset = 28;
		p.key_size = 40;
		p.key_offset = 28 + 64;
		memcpy(raw, &p, 28);
		for (i = 0; i < 16; i++) {
			v = 3 - i % 4;
			memcpy(raw + 28 + 4 * i, &v, 4);
		}
		memset(raw + 92, 0x42, 40);
		assert_int_equal(set(&e, OID_GEN_RECEIVE_SCALE_PARAMETERS, raw, sizeof(raw)), 0);
		assert_int_equal(e.s.rss_indir_count, 16);
		assert_int_equal(e.s.rss_indir[0], 3);
		assert_int_equal(e.s.rss_hash_types, NDIS_HASH_TCP_IPV4);
		assert_int_equal(e.s.rss_key[39], 0x42);
	}
	rss_msg_init(&rss, NDIS_RSS_FLAG_KEY_UNCHG | NDIS_RSS_FLAG_HASH_UNCHG, 2);
	rss.p.key_size = 7;          /* ignored: unchanged */
	rss.p.hash_info = 0x12345678; /* ignored: unchanged */
	assert_int_equal(set(&e, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss)), 0);
	assert_int_equal(e.s.rss_indir_count, 128);
	assert_int_equal(e.s.rss_indir[1], 1);
	assert_int_equal(e.s.rss_key[0], 0x42);
	assert_int_equal(e.s.rss_hash_types, NDIS_HASH_TCP_IPV4);
	rss_msg_init(&rss, NDIS_RSS_FLAG_IND_UNCHG, 4);
	rss.p.indir_size = 3; /* ignored: unchanged */
	assert_int_equal(set(&e, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss)), 0);
	assert_int_equal(e.s.rss_indir_count, 128);
	assert_int_equal(e.s.rss_indir[3], 1);
	assert_int_equal(e.s.rss_key[0], rss.key[0]);

	/* Hash function 0 or the DISABLE flag: RSS off, table kept for a later "unchanged". */
	rss_msg_init(&rss, 0, 4);
	rss.p.hash_info = NDIS_HASH_IPV4; /* no function */
	assert_int_equal(set(&e, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, sizeof(rss)), 0);
	assert_int_equal(e.s.rss_hash_types, 0);
	/* Even a DISABLE with garbage around is fine. */
	rss_msg_init(&rss, NDIS_RSS_FLAG_DISABLE, 4);
	rss.p.indir_offset = 0xFFFFFFFF;
	rss.p.key_offset = 0xFFFFFFFF;
	assert_int_equal(set(&e, OID_GEN_RECEIVE_SCALE_PARAMETERS, &rss, 28), 0);
	vmb_netvsp_fini(&e.s);
}

static void
test_rndis_set_filter_mcast(void **state)
{
	struct env e;
	uint8_t list[6 * 33];
	uint8_t out[256];
	uint32_t n, i;

	(void)state;
	env_init(&e);
	ready(&e);
	for (i = 0; i < sizeof(list); i++)
		list[i] = (uint8_t)i;
	e.s.changes = 0;
	assert_int_equal(set(&e, OID_802_3_MULTICAST_LIST, list, 6 * 3), 0);
	assert_int_equal(e.s.mcast_count, 3);
	assert_memory_equal(e.s.mcast, list, 18);
	assert_true(e.s.changes & VMB_NETVSP_CHG_MCAST);
	assert_int_equal(query(&e, OID_802_3_MULTICAST_LIST, NULL, 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 18);
	assert_memory_equal(out, list, 18);
	assert_int_equal(set(&e, OID_802_3_MULTICAST_LIST, list, 6 * 32), 0);
	assert_int_equal(e.s.mcast_count, 32);
	/* Too many: MULTICAST_FULL, not a guest error; odd length: invalid. */
	assert_int_equal(set(&e, OID_802_3_MULTICAST_LIST, list, 6 * 33),
			 RNDIS_STATUS_MULTICAST_FULL);
	assert_int_equal(set(&e, OID_802_3_MULTICAST_LIST, list, 7), RNDIS_STATUS_INVALID_LENGTH);
	assert_int_equal(e.s.mcast_count, 32);
	assert_int_equal(e.s.errors.bad_rndis, 1);
	/* Empty list clears it. */
	assert_int_equal(set(&e, OID_802_3_MULTICAST_LIST, NULL, 0), 0);
	assert_int_equal(e.s.mcast_count, 0);

	/* Filter: 4 bytes needed; more are ignored. */
	assert_int_equal(set(&e, OID_GEN_CURRENT_PACKET_FILTER, list, 3),
			 RNDIS_STATUS_INVALID_LENGTH);
	assert_int_equal(set(&e, OID_GEN_CURRENT_PACKET_FILTER, NULL, 0),
			 RNDIS_STATUS_INVALID_LENGTH);
	assert_int_equal(e.s.packet_filter, 0);
	assert_int_equal(set(&e, OID_GEN_CURRENT_PACKET_FILTER, list, 8), 0);
	assert_int_equal(e.s.packet_filter, 0x03020100);
	assert_int_equal(set_u32(&e, OID_GEN_CURRENT_PACKET_FILTER, 0), 0);

	/* Accepted-and-ignored OIDs, unknown ones, config parameters out of bounds. */
	assert_int_equal(set(&e, OID_GEN_NETWORK_LAYER_ADDRESSES, list, 16), 0);
	assert_int_equal(set(&e, OID_OFFLOAD_ENCAPSULATION, list, 28), 0);
	assert_int_equal(set_u32(&e, OID_GEN_LINK_SPEED, 1), RNDIS_STATUS_NOT_SUPPORTED);
	assert_int_equal(set_u32(&e, 0xDEADBEEF, 1), RNDIS_STATUS_NOT_SUPPORTED);
	assert_int_equal(e.s.errors.unsupported_oid, 2);
	{
		struct rndis_config_param cp = {.name_offset = 20, .name_len = 4,
						.value_offset = 24, .value_len = 4};
		uint8_t raw[28];

		memset(raw, 0, sizeof(raw));
		memcpy(raw, &cp, sizeof(cp));
		assert_int_equal(set(&e, OID_GEN_RNDIS_CONFIG_PARAMETER, raw, 28), 0);
		assert_int_equal(set(&e, OID_GEN_RNDIS_CONFIG_PARAMETER, raw, 27),
				 RNDIS_STATUS_INVALID_DATA);
		assert_int_equal(set(&e, OID_GEN_RNDIS_CONFIG_PARAMETER, raw, 19),
				 RNDIS_STATUS_INVALID_LENGTH);
		cp.name_offset = 0xFFFFFFFF;
		memcpy(raw, &cp, sizeof(cp));
		assert_int_equal(set(&e, OID_GEN_RNDIS_CONFIG_PARAMETER, raw, 28),
				 RNDIS_STATUS_INVALID_DATA);
		cp.name_offset = 8;
		cp.name_len = 0xFFFFFFFC;
		memcpy(raw, &cp, sizeof(cp));
		assert_int_equal(set(&e, OID_GEN_RNDIS_CONFIG_PARAMETER, raw, 28),
				 RNDIS_STATUS_INVALID_DATA);
	}
	vmb_netvsp_fini(&e.s);
}

static void
test_rndis_malformed(void **state)
{
	static const struct {
		uint32_t type, need;
	} reqs[] = {
		{RNDIS_MSG_INIT, 24},  {RNDIS_MSG_HALT, 12},  {RNDIS_MSG_QUERY, 28},
		{RNDIS_MSG_SET, 28},   {RNDIS_MSG_RESET, 12}, {RNDIS_MSG_KEEPALIVE, 12},
	};
	static const uint32_t not_requests[] = {
		0, RNDIS_MSG_PACKET, RNDIS_MSG_INDICATE, RNDIS_MSG_INIT_C, RNDIS_MSG_QUERY_C,
		RNDIS_MSG_SET_C, RNDIS_MSG_RESET_C, RNDIS_MSG_KEEPALIVE_C, 9, 0xFF000001,
		0xFFFFFFFF};
	struct env e;
	uint8_t m[256];
	uint32_t i, l, hdr[2];
	enum vmb_netvsp_rndis_state st;

	(void)state;
	env_init(&e);
	ready(&e);
	st = e.s.rndis_state;
	/* Shorter than {type, len}. */
	for (l = 0; l < 8; l++)
		assert_int_equal(rndis(&e, m, l), -EPROTO);
	/* len field smaller than the request, or larger than what arrived. */
	for (i = 0; i < ARRAY_SIZE(reqs); i++) {
		memset(m, 0, sizeof(m));
		hdr[0] = reqs[i].type;
		for (l = 0; l < reqs[i].need; l++) {
			hdr[1] = l;
			memcpy(m, hdr, 8);
			assert_int_equal(rndis(&e, m, sizeof(m)), -EPROTO);
		}
		hdr[1] = reqs[i].need;
		memcpy(m, hdr, 8);
		assert_int_equal(rndis(&e, m, reqs[i].need - 1), -EPROTO);
		hdr[1] = 0xFFFFFFFF;
		memcpy(m, hdr, 8);
		assert_int_equal(rndis(&e, m, sizeof(m)), -EPROTO);
	}
	for (i = 0; i < ARRAY_SIZE(not_requests); i++) {
		hdr[0] = not_requests[i];
		hdr[1] = 64;
		memcpy(m, hdr, 8);
		assert_int_equal(rndis(&e, m, 64), -EPROTO);
	}
	EQ("bad_rndis", e.s.errors.bad_rndis,
	   8 + 24 + 12 + 28 + 28 + 12 + 12 + 2 * ARRAY_SIZE(reqs) + ARRAY_SIZE(not_requests));
	assert_int_equal(e.s.rndis_state, st);

	/* Information buffers outside the message: answered INVALID_DATA, counted. */
	{
		static const struct {
			const char *name;
			uint32_t off, len, extra; /* infobuf_offset, infobuf_len, bytes after hdr */
		} bad[] = {
			{"offset in header", 0, 4, 4},
			{"offset 19", 19, 4, 4},
			{"past end", 20, 5, 4},
			{"offset past end", 25, 1, 4},
			{"len overflow", 20, 0xFFFFFFFF, 4},
			{"offset overflow", 0xFFFFFFF0, 0x20, 4},
			{"both huge", 0xFFFFFFFF, 0xFFFFFFFF, 4},
		};
		uint64_t before = e.s.errors.bad_rndis;

		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			struct rndis_query_req q = {
				.type = RNDIS_MSG_QUERY, .len = 28 + bad[i].extra, .rid = 77,
				.oid = OID_GEN_LINK_SPEED, .infobuf_len = bad[i].len,
				.infobuf_offset = bad[i].off};
			struct rndis_set_req s = {
				.type = RNDIS_MSG_SET, .len = 28 + bad[i].extra, .rid = 78,
				.oid = OID_GEN_CURRENT_PACKET_FILTER, .infobuf_len = bad[i].len,
				.infobuf_offset = bad[i].off};

			memset(m, 0x11, sizeof(m));
			memcpy(m, &q, sizeof(q));
			EQ(bad[i].name, rndis(&e, m, q.len), 24);
			EQ(bad[i].name, resp32(&e, 12), RNDIS_STATUS_INVALID_DATA);
			EQ(bad[i].name, resp32(&e, 8), 77);
			memcpy(m, &s, sizeof(s));
			EQ(bad[i].name, rndis(&e, m, s.len), 16);
			EQ(bad[i].name, resp32(&e, 12), RNDIS_STATUS_INVALID_DATA);
			EQ(bad[i].name, e.s.packet_filter, 0);
		}
		assert_int_equal(e.s.errors.bad_rndis, before + 2 * ARRAY_SIZE(bad));
	}
	/* Trailing bytes after len are ignored; an infobuf there is outside the message. */
	{
		uint32_t v = 7;
		uint32_t n = rq_set(m, 5, OID_GEN_CURRENT_PACKET_FILTER, &v, 4);

		assert_int_equal(rndis(&e, m, n + 100), 16);
		assert_int_equal(resp32(&e, 12), 0);
		assert_int_equal(e.s.packet_filter, 7);
		v = 28; /* len without the value */
		memcpy(m + 4, &v, 4);
		assert_int_equal(rndis(&e, m, n), 16);
		assert_int_equal(resp32(&e, 12), RNDIS_STATUS_INVALID_DATA);
	}
	vmb_netvsp_fini(&e.s);
}

static void
test_rndis_enospc(void **state)
{
	struct env e;
	uint8_t m[64];
	uint32_t v = 3, n;

	(void)state;
	env_init(&e);
	send_init(&e, NVSP_VERSION_61, NVSP_VERSION_61);
	send_ndis_init(&e, 6, 30);
	send_rxbuf(&e, 1, NVSP_RXBUF_SIG);
	n = rq_simple(m, RNDIS_MSG_INIT, 1);
	assert_int_equal(rndis_raw(&e, m, n, 51), -ENOSPC);
	assert_int_equal(e.s.rndis_state, RNDIS_UNINIT);
	assert_int_equal(rndis_raw(&e, m, n, 52), 52);
	n = rq_query(m, 2, OID_802_3_PERMANENT_ADDRESS, NULL, 0);
	assert_int_equal(rndis_raw(&e, m, n, 29), -ENOSPC);
	assert_int_equal(rndis_raw(&e, m, n, 30), 30);
	n = rq_query(m, 3, 0x12345678, NULL, 0); /* unknown: counted only when answered */
	assert_int_equal(rndis_raw(&e, m, n, 23), -ENOSPC);
	assert_int_equal(e.s.errors.unsupported_oid, 0);
	n = rq_set(m, 4, OID_GEN_CURRENT_PACKET_FILTER, &v, 4);
	assert_int_equal(rndis_raw(&e, m, n, 15), -ENOSPC);
	assert_int_equal(e.s.packet_filter, 0);
	assert_int_equal(rndis_raw(&e, m, n, 16), 16);
	assert_int_equal(e.s.packet_filter, 3);
	n = rq_simple(m, RNDIS_MSG_KEEPALIVE, 5);
	assert_int_equal(rndis_raw(&e, m, n, 15), -ENOSPC);
	n = rq_simple(m, RNDIS_MSG_RESET, 6);
	assert_int_equal(rndis_raw(&e, m, n, 15), -ENOSPC);
	assert_int_equal(rndis_raw(&e, m, n, 16), 16);
	assert_int_equal(resp32(&e, 0), RNDIS_MSG_RESET_C);
	assert_int_equal(resp32(&e, 8), RNDIS_STATUS_SUCCESS);
	n = rq_simple(m, RNDIS_MSG_HALT, 7);
	assert_int_equal(rndis_raw(&e, m, n, 0), 0); /* no completion, needs no room */
	assert_int_equal(e.s.rndis_state, RNDIS_HALTED);
	check_no_errors(&e);
	vmb_netvsp_fini(&e.s);
}

static void
test_status_and_indirection(void **state)
{
	struct env e;
	uint8_t out[128];
	struct rndis_status_msg sm;
	uint32_t i, v;

	(void)state;
	assert_int_equal(vmb_netvsp_rndis_status(RNDIS_STATUS_MEDIA_DISCONNECT, out, 19), -ENOSPC);
	assert_int_equal(vmb_netvsp_rndis_status(RNDIS_STATUS_MEDIA_DISCONNECT, out, 20), 20);
	memcpy(&sm, out, sizeof(sm));
	assert_int_equal(sm.type, RNDIS_MSG_INDICATE);
	assert_int_equal(sm.len, 20);
	assert_int_equal(sm.status, RNDIS_STATUS_MEDIA_DISCONNECT);
	assert_int_equal(sm.stbuf_len, 0);
	assert_int_equal(sm.stbuf_offset, 0);

	env_init(&e);
	assert_int_equal(vmb_netvsp_indirection_msg(&e.s, out, sizeof(out)), 0); /* no version */
	ready(&e);
	assert_int_equal(vmb_netvsp_indirection_msg(&e.s, out, 75), -ENOSPC);
	assert_int_equal(vmb_netvsp_indirection_msg(&e.s, out, 76), 76);
	for (i = 0; i < 16; i++) {
		memcpy(&v, out + 12 + 4 * i, 4);
		assert_int_equal(v, 0); /* no subchannels: all on the primary */
	}
	send_subch(&e, NVSP_SUBCH_OP_ALLOC, 2);
	assert_int_equal(vmb_netvsp_indirection_msg(&e.s, out, 76), 76);
	for (i = 0; i < 16; i++) {
		memcpy(&v, out + 12 + 4 * i, 4);
		assert_int_equal(v, i % 3);
	}
	vmb_netvsp_fini(&e.s);
}

static void
test_config_defaults(void **state)
{
	struct env e;
	struct vmb_netvsp_config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	env_init_cfg(&e, &c);
	assert_int_equal(e.s.cfg.mtu, 1500);
	assert_int_equal(e.s.cfg.max_queues, 1);
	assert_int_equal(e.s.cfg.rx_slot_size, 1728);
	assert_int_equal(e.s.cfg.chim_section_size, 6144);
	assert_int_equal(e.s.cfg.max_pkts_per_msg, 8);
	assert_true(e.s.cfg.link_speed_100bps != 0);
	assert_int_equal(e.s.cfg.offload_caps, 0);
	assert_true(e.s.link_up);
	assert_int_equal(e.s.rndis_state, RNDIS_UNINIT);
	assert_int_equal(e.s.changes, 0);

	c.mtu = 20;
	c.max_queues = 1000;
	c.rx_slot_size = 100;
	c.chim_section_size = 6150;
	env_init_cfg(&e, &c);
	assert_int_equal(e.s.cfg.mtu, 68);
	assert_int_equal(e.s.cfg.max_queues, VMB_NETVSP_MAX_QUEUES);
	assert_int_equal(e.s.cfg.rx_slot_size, 256);
	assert_int_equal(e.s.cfg.chim_section_size, 6144);
	c.mtu = 100000;
	c.rx_slot_size = 0;
	c.chim_section_size = 7;
	env_init_cfg(&e, &c);
	assert_int_equal(e.s.cfg.mtu, 9202);
	assert_int_equal(e.s.cfg.chim_section_size, 6144);
	assert_true(e.s.cfg.rx_slot_size >= 9216 + 124);
}

/* ---- rndis_pkt_build / rndis_pkt_parse ---- */

static void
fill_frame(uint8_t *p, uint32_t n, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131u + i * 7u);
}

static void
test_pkt_roundtrip(void **state)
{
	static const struct {
		const char *name;
		struct rndis_pkt_info in;
		uint32_t nppi;
	} cases[] = {
		{"none", {0}, 0},
		{"hash value + info",
		 {.hash_value = 0x12345678, .hash_info = 0x201, .has_hash = 1},
		 2},
		{"hash value only", {.hash_value = 3, .has_hash = 1}, 1},
		{"vlan", {.vlan_tci = 0xA123, .has_vlan = 1}, 1},
		{"vlan max", {.vlan_tci = 0xFFFF, .has_vlan = 1}, 1},
		{"csum", {.csum_info = 0x00220015, .has_csum = 1}, 1},
		{"lso", {.lso_info = 0x40E005B4, .has_lso = 1}, 1},
		{"hash + vlan",
		 {.hash_value = 7, .hash_info = 0x101, .vlan_tci = 5, .has_hash = 1, .has_vlan = 1},
		 3},
		{"all",
		 {.hash_value = 0xFFFFFFFF, .hash_info = 0xFFFFFFFF, .csum_info = 0xFFFFFFFF,
		  .vlan_tci = 0x0FFF, .lso_info = 1, .has_hash = 1, .has_vlan = 1, .has_csum = 1,
		  .has_lso = 1},
		 5},
	};
	static const uint32_t frames[] = {1, 14, 60, 1514, 9014};
	uint32_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		for (j = 0; j < ARRAY_SIZE(frames); j++) {
			const struct rndis_pkt_info *in = &cases[i].in;
			uint32_t hl = rndis_pkt_build_len(in), flen = frames[j];
			uint8_t *buf = malloc(hl + flen);
			struct rndis_pkt_info out;
			uint32_t got;

			memset(buf, 0xEE, hl + flen);
			got = rndis_pkt_build(buf, flen, in);
			EQ(cases[i].name, got, hl);
			EQ(cases[i].name, got, 44 + 16 * cases[i].nppi);
			if (!in->has_csum && !in->has_lso && (!in->has_hash || in->hash_info))
				EQ(cases[i].name, got,
				   rndis_pkt_hdr_len(in->has_hash, in->has_vlan));
			assert_true(got <= rndis_pkt_hdr_len(in->has_hash, in->has_vlan) +
						   16u * (in->has_csum + in->has_lso));
			fill_frame(buf + got, flen, i * 10 + j);
			memset(&out, 0x5A, sizeof(out));
			EQ(cases[i].name, rndis_pkt_parse(buf, hl + flen, &out), 0);
			EQ(cases[i].name, out.msg_len, hl + flen);
			EQ(cases[i].name, out.data_off, hl);
			EQ(cases[i].name, out.data_len, flen);
			EQ(cases[i].name, out.has_hash, in->has_hash);
			EQ(cases[i].name, out.has_vlan, in->has_vlan);
			EQ(cases[i].name, out.has_csum, in->has_csum);
			EQ(cases[i].name, out.has_lso, in->has_lso);
			if (in->has_hash) {
				EQ(cases[i].name, out.hash_value, in->hash_value);
				EQ(cases[i].name, out.hash_info, in->hash_info);
			}
			if (in->has_vlan)
				EQ(cases[i].name, out.vlan_tci, in->vlan_tci);
			if (in->has_csum)
				EQ(cases[i].name, out.csum_info, in->csum_info);
			if (in->has_lso)
				EQ(cases[i].name, out.lso_info, in->lso_info);
			/* Frame bytes untouched by the header writer. */
			{
				uint8_t *want = malloc(flen);

				fill_frame(want, flen, i * 10 + j);
				assert_memory_equal(buf + out.data_off, want, flen);
				free(want);
			}
			free(buf);
		}
	}
	/* NULL info: a bare header. */
	{
		uint8_t buf[44 + 60];
		struct rndis_pkt_info out;
		struct rndis_packet_msg h;

		memset(&out, 0, sizeof(out));
		assert_int_equal(rndis_pkt_build(buf, 60, NULL), 44);
		memcpy(&h, buf, sizeof(h));
		assert_int_equal(h.ppi_offset, 36); /* Linux refuses 0 */
		assert_int_equal(h.ppi_len, 0);
		assert_int_equal(h.data_offset, 36);
		assert_int_equal(h.len, 104);
		assert_int_equal(rndis_pkt_parse(buf, sizeof(buf), &out), 0);
		assert_int_equal(out.has_hash | out.has_vlan | out.has_csum | out.has_lso, 0);
	}
	/* VLAN info conversion matches the NDIS layout (priority 0-2, CFI 3, id 4-15). */
	assert_int_equal(rndis_vlan_info_from_tci(0xA123), 5 | (0 << 3) | (0x123 << 4));
	assert_int_equal(rndis_vlan_info_from_tci(0x1001), (1 << 3) | (1 << 4));
	assert_int_equal(rndis_vlan_tci_from_info(5 | (1 << 3) | (0xABC << 4)), 0xBABC);
}

/* The layout DPDK's hn_encap() writes for TX (hash value = queue id, VLAN, checksum), and
 * aggregation of two such messages padded to 8 bytes in one send-buffer section. */
static void
test_pkt_parse_dpdk_layout(void **state)
{
	uint8_t sect[512];
	struct rndis_packet_msg h;
	struct rndis_ppi pi;
	struct rndis_pkt_info out;
	uint32_t off = 0, v, first, pad;

	(void)state;
	memset(sect, 0, sizeof(sect));
	memset(&h, 0, sizeof(h));
	h.type = RNDIS_MSG_PACKET;
	h.ppi_offset = 44; /* absolute while building, as hn_encap does */
	off = 44;
	pi.size = 16;
	pi.offset = 12;
	pi.type = RNDIS_PPI_HASH_VALUE;
	memcpy(sect + off, &pi, 12);
	v = 2;
	memcpy(sect + off + 12, &v, 4);
	off += 16;
	pi.type = RNDIS_PPI_VLAN;
	memcpy(sect + off, &pi, 12);
	v = 3 | (100 << 4);
	memcpy(sect + off + 12, &v, 4);
	off += 16;
	pi.type = RNDIS_PPI_CSUM;
	memcpy(sect + off, &pi, 12);
	v = NDIS_TXCSUM_INFO_IPV4 | NDIS_TXCSUM_INFO_TCPCS | (34u << 16);
	memcpy(sect + off + 12, &v, 4);
	off += 16;
	h.ppi_len = off - 44;
	h.data_len = 60;
	h.len = off + 60;
	h.data_offset = off - 8;
	h.ppi_offset = 44 - 8;
	memcpy(sect, &h, sizeof(h));
	fill_frame(sect + off, 60, 1);
	first = h.len;
	/* Pad to 8 (align factor 3) and place a second, bare message. */
	pad = (first + 7u) & ~7u;
	memcpy(&h.len, &pad, 4);
	memcpy(sect + 4, &pad, 4);
	rndis_pkt_build(sect + pad, 14, NULL);

	assert_int_equal(rndis_pkt_parse(sect, pad + 44 + 14, &out), 0);
	assert_int_equal(out.msg_len, pad);
	assert_int_equal(out.data_off, 92);
	assert_int_equal(out.data_len, 60);
	assert_true(out.has_hash && out.has_vlan && out.has_csum && !out.has_lso);
	assert_int_equal(out.hash_value, 2);
	assert_int_equal(out.hash_info, 0);
	assert_int_equal(out.vlan_tci, (3 << 13) | 100);
	assert_int_equal(out.csum_info, v);
	assert_int_equal(rndis_pkt_parse(sect + out.msg_len, 44 + 14, &out), 0);
	assert_int_equal(out.data_len, 14);
	assert_int_equal(out.data_off, 44);
}

/* A valid message with one PPI (csum), in a buffer of @p n bytes; returns its length. */
static uint32_t
pkt_template(uint8_t *b)
{
	struct rndis_pkt_info in = {.csum_info = 0x15, .has_csum = 1};
	uint32_t hl = rndis_pkt_build(b, 64, &in);

	fill_frame(b + hl, 64, 9);
	return hl + 64;
}

static void
test_pkt_parse_malformed(void **state)
{
	static const struct {
		const char *name;
		uint32_t off, val; /* u32 patch at byte off (0xFFFF: none) */
		int32_t avail_delta; /* avail = len + delta */
		int want;
	} cases[] = {
		{"valid", 0xFFFF, 0, 0, 0},
		{"valid with slack", 0xFFFF, 0, 100, 0},
		{"type init", 0, RNDIS_MSG_INIT, 0, -EPROTO},
		{"type 0", 0, 0, 0, -EPROTO},
		{"type completion", 0, 0x80000001u, 0, -EPROTO},
		{"len < header", 4, 43, 0, -EINVAL},
		{"len 0", 4, 0, 0, -EINVAL},
		{"len > avail", 4, 44 + 16 + 64 + 1, 0, -EINVAL},
		{"len huge", 4, 0xFFFFFFFF, 0, -EINVAL},
		{"avail short by one", 0xFFFF, 0, -1, -EINVAL},
		{"data len 0", 12, 0, 0, -EINVAL},
		{"data past end", 12, 65, 0, -EINVAL},
		{"data len huge", 12, 0xFFFFFFFF, 0, -EINVAL},
		{"data offset in header", 8, 35, 0, -EINVAL},
		{"data offset 0", 8, 0, 0, -EINVAL},
		{"data offset past end", 8, 44 + 16 + 64 - 8 + 1, 0, -EINVAL},
		{"data offset huge", 8, 0xFFFFFFF8, 0, -EINVAL},
		{"data offset at end", 8, 44 + 16 + 64 - 8, 0, -EINVAL},
		{"data shifted, still inside", 8, 44 + 16 - 8 - 1, 0, 0},
		{"oob len", 20, 1, 0, -EINVAL},
		{"oob count", 24, 1, 0, -EINVAL},
		{"oob offset alone is ignored", 16, 0xFFFFFFFF, 0, 0},
		{"ppi offset in header", 28, 35, 0, -EINVAL},
		{"ppi offset 0", 28, 0, 0, -EINVAL},
		{"ppi offset huge", 28, 0xFFFFFFFF, 0, -EINVAL},
		{"ppi len past end", 32, 16 + 64 + 1, 0, -EINVAL},
		{"ppi len huge", 32, 0xFFFFFFF0, 0, -EINVAL},
		{"ppi len short of element", 32, 11, 0, -EINVAL},
		{"ppi len cuts data", 32, 15, 0, -EINVAL},
		{"ppi len 0: none parsed", 32, 0, 0, 0},
		{"ppi size 0", 44, 0, 0, -EINVAL},
		{"ppi size 11", 44, 11, 0, -EINVAL},
		{"ppi size > ppi len", 44, 17, 0, -EINVAL},
		{"ppi size huge", 44, 0xFFFFFFFF, 0, -EINVAL},
		{"ppi offset 11", 52, 11, 0, -EINVAL},
		{"ppi offset > size", 52, 17, 0, -EINVAL},
		{"ppi offset = size (no data)", 52, 16, 0, -EINVAL},
		{"ppi data 3 bytes", 52, 13, 0, -EINVAL},
		{"ppi offset huge", 52, 0xFFFFFFFF, 0, -EINVAL},
		{"unknown type skipped", 48, 5, 0, 0},
		{"internal type skipped", 48, 0x80000000u, 0, 0},
		{"unknown type, no data", 52, 16, 0, -EINVAL},
	};
	uint32_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t tmpl[256];
		uint32_t len = pkt_template(tmpl), avail = (uint32_t)((int32_t)len +
								       cases[i].avail_delta);
		uint8_t *b = malloc(avail > len ? avail : len);
		struct rndis_pkt_info out;
		int rc;

		memset(b, 0, avail > len ? avail : len);
		memcpy(b, tmpl, len);
		if (cases[i].off != 0xFFFF)
			memcpy(b + cases[i].off, &cases[i].val, 4);
		/* Exact-size copy: a read past avail is an ASan report. */
		{
			uint8_t *x = malloc(avail);

			memcpy(x, b, avail);
			rc = rndis_pkt_parse(x, avail, &out);
			free(x);
		}
		EQ(cases[i].name, rc, cases[i].want);
		if (rc == 0) {
			assert_true(out.data_off >= 44);
			assert_true(out.data_len > 0);
			assert_true(out.data_off + out.data_len <= out.msg_len);
			assert_true(out.msg_len <= avail);
		}
		free(b);
	}
	/* Less than a header available. */
	{
		uint8_t b[44];
		struct rndis_pkt_info out;
		uint32_t a;

		memset(b, 0, sizeof(b));
		b[0] = 1;
		for (a = 0; a < 44; a++) {
			uint8_t *x = malloc(a ? a : 1);

			memcpy(x, b, a);
			assert_int_equal(rndis_pkt_parse(x, a, &out), -EINVAL);
			free(x);
		}
	}
	/* Many PPIs, the last one truncated by ppi_len (element header does not fit). */
	{
		uint8_t b[44 + 16 * 4 + 8 + 10];
		struct rndis_pkt_info in = {.hash_value = 1, .hash_info = 2, .vlan_tci = 3,
					    .csum_info = 4, .has_hash = 1, .has_vlan = 1,
					    .has_csum = 1};
		uint32_t hl = rndis_pkt_build(b, 10, &in), v;
		struct rndis_pkt_info out;

		assert_int_equal(hl, 44 + 64);
		/* Claim 8 more bytes of PPI: they are frame bytes, too short for an element. */
		v = 64 + 8;
		memcpy(b + 32, &v, 4);
		v = 36 + 64 + 8;
		memcpy(b + 8, &v, 4);
		v = 2;
		memcpy(b + 12, &v, 4);
		v = 44 + 64 + 8 + 2;
		memcpy(b + 4, &v, 4);
		assert_int_equal(rndis_pkt_parse(b, 44 + 64 + 8 + 2, &out), -EINVAL);
	}
}

/* Random messages, mostly near-valid: never out of bounds (ASan), results consistent. */
static void
test_pkt_parse_random(void **state)
{
	uint64_t rng = 0x1234567887654321ull;
	uint32_t iter, ok = 0;

	(void)state;
	for (iter = 0; iter < 200000; iter++) {
		uint8_t tmpl[256];
		uint32_t len = pkt_template(tmpl), avail, k, flips;
		uint8_t *x;
		struct rndis_pkt_info out;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		avail = (uint32_t)(rng >> 33) % (len + 16);
		flips = (uint32_t)(rng >> 20) % 4;
		for (k = 0; k < flips; k++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			tmpl[(rng >> 33) % 60] = (uint8_t)(rng >> 13);
		}
		x = malloc(avail ? avail : 1);
		memcpy(x, tmpl, avail < sizeof(tmpl) ? avail : sizeof(tmpl));
		if (rndis_pkt_parse(x, avail, &out) == 0) {
			ok++;
			assert_true(out.msg_len >= 44 && out.msg_len <= avail);
			assert_true(out.data_off >= 44 && out.data_len > 0);
			assert_true((uint64_t)out.data_off + out.data_len <= out.msg_len);
		}
		free(x);
	}
	assert_true(ok > 1000); /* the walk does reach valid messages */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpdk_negotiation),
		cmocka_unit_test(test_halt_and_fini),
		cmocka_unit_test(test_renegotiate_after_detach),
		cmocka_unit_test(test_linux_like_guest),
		cmocka_unit_test(test_version_negotiation),
		cmocka_unit_test(test_version_gating),
		cmocka_unit_test(test_nvsp_out_of_order),
		cmocka_unit_test(test_nvsp_malformed),
		cmocka_unit_test(test_nvsp_buffers),
		cmocka_unit_test(test_nvsp_enospc),
		cmocka_unit_test(test_nvsp_subchannels),
		cmocka_unit_test(test_rndis_queries),
		cmocka_unit_test(test_rndis_set_offload),
		cmocka_unit_test(test_rndis_set_rss),
		cmocka_unit_test(test_rndis_set_filter_mcast),
		cmocka_unit_test(test_rndis_malformed),
		cmocka_unit_test(test_rndis_enospc),
		cmocka_unit_test(test_status_and_indirection),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_pkt_roundtrip),
		cmocka_unit_test(test_pkt_parse_dpdk_layout),
		cmocka_unit_test(test_pkt_parse_malformed),
		cmocka_unit_test(test_pkt_parse_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
