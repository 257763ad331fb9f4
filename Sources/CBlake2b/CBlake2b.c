// Lane-parallel BLAKE2b-256: Kernel.h twice, for AVX-512 (8 lanes) and AVX2 (4 lanes).
#include "CBlake2b.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

static const uint64_t IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

// The message schedule of rounds 0…9; rounds 10 and 11 repeat rounds 0 and 1.
static const uint8_t SIGMA[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

#define CONCAT_(a, b) a##b
#define CONCAT(a, b) CONCAT_(a, b)

// AVX-512: eight lanes, rotations are one instruction.
#define NAME blake2b256_avx512
#define TARGET "avx512f"
#define LANES 8
#define VEC __m512i
#define ADD(a, b) _mm512_add_epi64(a, b)
#define XOR(a, b) _mm512_xor_si512(a, b)
#define SPLAT(x) _mm512_set1_epi64((long long)(x))
// Absolute addresses as indices from a null base: each lane reads from its own message.
#define GATHER(a) _mm512_i64gather_epi64(a, (const void *)0, 1)
#define ROR32(x) _mm512_ror_epi64(x, 32)
#define ROR24(x) _mm512_ror_epi64(x, 24)
#define ROR16(x) _mm512_ror_epi64(x, 16)
#define ROR63(x) _mm512_ror_epi64(x, 63)
#define LOAD(p) _mm512_loadu_si512((const void *)(p))
#define STORE(p, x) _mm512_storeu_si512((void *)(p), x)
#include "Kernel.h"
#undef NAME
#undef TARGET
#undef LANES
#undef VEC
#undef ADD
#undef XOR
#undef SPLAT
#undef GATHER
#undef ROR32
#undef ROR24
#undef ROR16
#undef ROR63
#undef LOAD
#undef STORE

// AVX2: four lanes; rotations by whole bytes are byte shuffles, by 63 a shift and an add.
#define NAME blake2b256_avx2
#define TARGET "avx2"
#define LANES 4
#define VEC __m256i
#define ADD(a, b) _mm256_add_epi64(a, b)
#define XOR(a, b) _mm256_xor_si256(a, b)
#define SPLAT(x) _mm256_set1_epi64x((long long)(x))
#define GATHER(a) _mm256_i64gather_epi64((const long long *)0, a, 1)
#define ROR32(x) _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1))
#define ROR24(x) \
    _mm256_shuffle_epi8(x, _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10))
#define ROR16(x) \
    _mm256_shuffle_epi8(x, _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9))
#define ROR63(x) _mm256_or_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x))
#define LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define STORE(p, x) _mm256_storeu_si256((__m256i *)(p), x)
#include "Kernel.h"

int rookery_blake2b256_lanes(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 8;
    if (__builtin_cpu_supports("avx2")) return 4;
    return 0;
}

void rookery_blake2b256_many(int lanes, const uint8_t *const *messages, size_t length, uint8_t *digests) {
    switch (lanes) {
    case 8: blake2b256_avx512(messages, length, digests); break;
    case 4: blake2b256_avx2(messages, length, digests); break;
    default: __builtin_trap();  // callers ask rookery_blake2b256_lanes() what they may pass
    }
}

#else

int rookery_blake2b256_lanes(void) { return 0; }
void rookery_blake2b256_many(int lanes, const uint8_t *const *messages, size_t length, uint8_t *digests) {
    (void)lanes;
    (void)messages;
    (void)length;
    (void)digests;
    __builtin_trap();
}

#endif
