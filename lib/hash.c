/*
 * lib/hash.c - the hash of a byte string: SipHash-1-3 with an all-zero key (mv_siphash13(), for
 * the library's own uses such as header checksums), and on top of it the public hash of a
 * view's bytes, which is exactly CPython's hash(bytes) with PYTHONHASHSEED=0.
 *
 * CPython hashes bytes with SipHash-1-3 (one compression round per 8-byte word, three
 * finalisation rounds) keyed by its hash secret; PYTHONHASHSEED=0 makes that secret all zero,
 * which gives a hash that is stable across runs and machines and can be checked against Python.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <string.h>

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* Words are read little-endian whatever the host, as CPython does, so hashes match everywhere. */
static inline uint64_t load_le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

#define SIPROUND(v0, v1, v2, v3)         \
	do {                             \
		v0 += v1;                \
		v1 = rotl64(v1, 13);     \
		v1 ^= v0;                \
		v0 = rotl64(v0, 32);     \
		v2 += v3;                \
		v3 = rotl64(v3, 16);     \
		v3 ^= v2;                \
		v0 += v3;                \
		v3 = rotl64(v3, 21);     \
		v3 ^= v0;                \
		v2 += v1;                \
		v1 = rotl64(v1, 17);     \
		v1 ^= v2;                \
		v2 = rotl64(v2, 32);     \
	} while (0)

/* SipHash-1-3 with key (k0, k1). */
static uint64_t siphash13(uint64_t k0, uint64_t k1, const unsigned char *p, size_t len)
{
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
	uint64_t last = (uint64_t)len << 56;
	size_t words = len / 8;

	for (size_t i = 0; i < words; i++, p += 8) {
		uint64_t m = load_le64(p);

		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* The 0..7 trailing bytes, little-endian, under the length's low byte. */
	for (size_t i = 0; i < (len & 7); i++)
		last |= (uint64_t)p[i] << (8 * i);
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t mv_siphash13(const void *data, size_t len)
{
	return siphash13(0, 0, data, len);
}

int64_t mv_view_hash_bytes(const void *data, size_t len)
{
	uint64_t x;
	int64_t h;

	/* CPython: hash(b'') is 0, and -1 (its error marker) becomes -2. */
	if (len == 0 || !data)
		return 0;
	x = siphash13(0, 0, data, len);
	memcpy(&h, &x, sizeof(h));
	return h == -1 ? -2 : h;
}
