/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * Helpers shared by the libFuzzer targets: a cursor over the fuzzer's input that never reads
 * past its end (missing bytes read as zero), an invariant check that aborts (so libFuzzer
 * records the input as a crash), and flat rings in exact-size heap blocks (so ASan catches any
 * access outside the control page or the data area).
 */
#ifndef VMB_FUZZ_COMMON_H
#define VMB_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmb/vmb_ring.h>

/** Abort with a message when an invariant of the code under test does not hold. */
#define FZ_CHECK(cond)                                                                          \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,    \
				#cond);                                                         \
			abort();                                                                \
		}                                                                               \
	} while (0)

/** Cursor over the fuzzer's input. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline void
fz_take(struct fz_in *in, void *out, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

static inline uint8_t
fz_u8(struct fz_in *in)
{
	uint8_t v;
	fz_take(in, &v, sizeof(v));
	return v;
}

static inline uint16_t
fz_u16(struct fz_in *in)
{
	uint16_t v;
	fz_take(in, &v, sizeof(v));
	return v;
}

static inline uint32_t
fz_u32(struct fz_in *in)
{
	uint32_t v;
	fz_take(in, &v, sizeof(v));
	return v;
}

static inline uint64_t
fz_u64(struct fz_in *in)
{
	uint64_t v;
	fz_take(in, &v, sizeof(v));
	return v;
}

/** A ring in two exact-size heap blocks: control page and data area (split-copy path). */
struct fz_flat_ring {
	struct vmb_ring_mem m;
	uint8_t *bounce;
	uint32_t bounce_size;
};

static inline void
fz_flat_ring_init(struct fz_flat_ring *r, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	r->m.ctl = aligned_alloc(VMB_RING_CTL_SIZE, VMB_RING_CTL_SIZE);
	r->m.data = malloc(size);
	r->bounce = malloc(size);
	if (r->m.ctl == NULL || r->m.data == NULL || r->bounce == NULL)
		abort();
	memset(r->m.data, 0, size);
	vmb_ring_format(r->m.ctl);
	r->m.size = size;
	r->m.flags = 0;
	r->bounce_size = size;
}

static inline void
fz_flat_ring_fini(struct fz_flat_ring *r)
{
	free(r->m.ctl);
	free(r->m.data);
	free(r->bounce);
	memset(r, 0, sizeof(*r));
}

#endif /* VMB_FUZZ_COMMON_H */
