#include <stdint.h>
#include <string.h>
#include "porter_cast.h"
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define PORTER_CAST_X86 1
#endif

static inline uint16_t ld16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline void st16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static inline uint32_t ld32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

// float bits → half bits, round to nearest even; NaN quieted, payload truncated (as F16C).
static inline uint16_t f32_bits_to_f16(uint32_t f) {
    uint32_t sign = (f >> 16) & 0x8000u;
    uint32_t a = f & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return (uint16_t)(sign | 0x7C00u | 0x200u | ((a >> 13) & 0x1FFu));
    if (a >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u);
    if (a >= 0x38800000u) {
        uint32_t rounded = a + 0xFFFu + ((a >> 13) & 1u);
        return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
    }
    if (a < 0x33000000u) return (uint16_t)sign;
    uint32_t exponent = a >> 23;
    uint32_t mantissa = (a & 0x7FFFFFu) | 0x800000u;
    uint32_t shift = 126u - exponent;
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1u);
    uint32_t midpoint = 1u << (shift - 1u);
    if (rest > midpoint || (rest == midpoint && (half & 1u))) half += 1u;
    return (uint16_t)(sign | half);
}

static inline uint16_t f32_bits_to_bf16(uint32_t f) {
    if ((f & 0x7FFFFFFFu) > 0x7F800000u) return 0xFFFFu;
    return (uint16_t)((f + 0x7FFFu + ((f >> 16) & 1u)) >> 16);
}

static size_t bf16_to_f16_scalar(const unsigned char *in, unsigned char *out, size_t count) {
    size_t overflow = 0;
    for (size_t k = 0; k < count; k++) {
        uint16_t b = ld16(in + 2 * k);
        uint16_t h = f32_bits_to_f16((uint32_t)b << 16);
        st16(out + 2 * k, h);
        overflow += (size_t)((b & 0x7F80u) != 0x7F80u && (h & 0x7FFFu) == 0x7C00u);
    }
    return overflow;
}

static size_t f32_to_bf16_scalar(const unsigned char *in, unsigned char *out, size_t count) {
    size_t overflow = 0;
    for (size_t k = 0; k < count; k++) {
        uint32_t f = ld32(in + 4 * k);
        uint16_t b = f32_bits_to_bf16(f);
        st16(out + 2 * k, b);
        overflow += (size_t)((f & 0x7F800000u) != 0x7F800000u && (b & 0x7FFFu) == 0x7F80u);
    }
    return overflow;
}

#ifdef PORTER_CAST_X86
__attribute__((target("avx2,f16c")))
static size_t bf16_to_f16_avx2(const unsigned char *in, unsigned char *out, size_t count) {
    const __m128i absMask = _mm_set1_epi16(0x7FFF), infHalf = _mm_set1_epi16(0x7C00), expBF = _mm_set1_epi16((short)0x7F80);
    size_t k = 0, overflow = 0;
    for (; k + 8 <= count; k += 8) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(in + 2 * k));
        __m256 wide = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
        __m128i h = _mm256_cvtps_ph(wide, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(void *)(out + 2 * k), h);
        __m128i infOut = _mm_cmpeq_epi16(_mm_and_si128(h, absMask), infHalf);
        __m128i nonFinite = _mm_cmpeq_epi16(_mm_and_si128(b, expBF), expBF);
        int mask = _mm_movemask_epi8(_mm_andnot_si128(nonFinite, infOut));
        overflow += (size_t)__builtin_popcount((unsigned)mask) / 2;
    }
    return overflow + bf16_to_f16_scalar(in + 2 * k, out + 2 * k, count - k);
}

__attribute__((target("avx2")))
static size_t f32_to_bf16_avx2(const unsigned char *in, unsigned char *out, size_t count) {
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7FFF), nan = _mm256_set1_epi32(0xFFFF);
    const __m256i expF = _mm256_set1_epi32(0x7F800000), absBF = _mm256_set1_epi32(0x7FFF), infBF = _mm256_set1_epi32(0x7F80);
    size_t k = 0, overflow = 0;
    for (; k + 16 <= count; k += 16) {
        __m256i r[2];
        for (int j = 0; j < 2; j++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(in + 4 * (k + 8 * (size_t)j)));
            __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
            __m256i b = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, bias), lsb), 16);
            __m256 ordered = _mm256_cmp_ps(_mm256_castsi256_ps(x), _mm256_castsi256_ps(x), _CMP_ORD_Q);
            b = _mm256_blendv_epi8(nan, b, _mm256_castps_si256(ordered));
            __m256i finite = _mm256_xor_si256(_mm256_cmpeq_epi32(_mm256_and_si256(x, expF), expF), _mm256_set1_epi32(-1));
            __m256i infOut = _mm256_cmpeq_epi32(_mm256_and_si256(b, absBF), infBF);
            overflow += (size_t)__builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_and_si256(finite, infOut))));
            r[j] = b;
        }
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xD8);
        _mm256_storeu_si256((__m256i *)(void *)(out + 2 * k), packed);
    }
    return overflow + f32_to_bf16_scalar(in + 4 * k, out + 2 * k, count - k);
}
#endif

size_t porter_cast_bf16_to_f16(const void *src, void *dst, size_t count) {
#ifdef PORTER_CAST_X86
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c")) return bf16_to_f16_avx2(src, dst, count);
#endif
    return bf16_to_f16_scalar(src, dst, count);
}

size_t porter_cast_f32_to_bf16(const void *src, void *dst, size_t count) {
#ifdef PORTER_CAST_X86
    if (__builtin_cpu_supports("avx2")) return f32_to_bf16_avx2(src, dst, count);
#endif
    return f32_to_bf16_scalar(src, dst, count);
}

void porter_cast_bf16_to_f32(const void *src, float *dst, size_t count) {
    const unsigned char *in = (const unsigned char *)src;
    for (size_t k = 0; k < count; k++) {
        uint32_t bits = (uint32_t)ld16(in + 2 * k) << 16;
        memcpy(dst + k, &bits, sizeof bits);
    }
}
