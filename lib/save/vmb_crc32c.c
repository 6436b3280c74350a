/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78): the SSE4.2 instruction when the build
 * targets it, a table otherwise. Used for save-stream integrity.
 */
#include <stdint.h>
#include <string.h>

#include <vmb/vmb_save.h>

#ifdef __SSE4_2__
#include <nmmintrin.h>

uint32_t
vmb_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t c = ~crc;

	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

#else

static uint32_t table[256];
static int table_ready;

static void
build_table(void)
{
	uint32_t i, j;
	for (i = 0; i < 256; i++) {
		uint32_t c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
		table[i] = c;
	}
	__atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t
vmb_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = ~crc;

	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		build_table();
	while (len--)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

#endif
