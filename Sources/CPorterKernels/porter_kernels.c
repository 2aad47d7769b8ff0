#include <math.h>
#include <stdint.h>
#include <string.h>
#include "porter_kernels.h"
#include "porter_exp.h"
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define PORTER_HAVE_F16C_PATH 1
#endif


#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void porter_gelu_erf(float *values, size_t count) {
    for (size_t k = 0; k < count; k++) {
        float x = values[k];
        float z = x * 0.70710678118654752f;
        float a = fabsf(z);
        float t = 1.0f / (1.0f + 0.3275911f * a);
        float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
        float y = 1.0f - poly * porter_exp_nonpositive(-a * a);
        float erf_z = z < 0.0f ? -y : y;
        values[k] = 0.5f * x * (1.0f + erf_z);
    }
}

// One half → float, exactly: normal, subnormal (renormalised), zero, inf and NaN (payload kept).
static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    uint32_t bits;
    if (exponent == 0x1Fu) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        int shift = 0;
        while ((mantissa & 0x400u) == 0) { mantissa <<= 1; shift++; }
        bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3FFu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t load_le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

#ifdef PORTER_HAVE_F16C_PATH
__attribute__((target("avx,f16c")))
static void f16_to_f32_f16c(const unsigned char *src, float *dst, size_t count) {
    size_t k = 0;
    for (; k + 8 <= count; k += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * k));
        _mm256_storeu_ps(dst + k, _mm256_cvtph_ps(h));
    }
    for (; k < count; k++) dst[k] = half_to_float(load_le16(src + 2 * k));
}
#endif

void porter_f16_to_f32(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = (const unsigned char *)src;
#ifdef PORTER_HAVE_F16C_PATH
    if (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx")) {
        f16_to_f32_f16c(bytes, dst, count);
        return;
    }
#endif
    for (size_t k = 0; k < count; k++) dst[k] = half_to_float(load_le16(bytes + 2 * k));
}

static inline uint32_t load_le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void store_le16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }

// float bits → half bits, round to nearest even (the IEEE conversion, done by hand).
static inline uint16_t float_to_half(uint32_t f) {
    uint32_t sign = (f >> 16) & 0x8000u;
    uint32_t a = f & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return (uint16_t)(sign | 0x7C00u | 0x200u | ((a >> 13) & 0x1FFu));  // NaN, quieted
    if (a >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u);  // rounds to >= 65520: infinity
    if (a >= 0x38800000u) {  // normal half
        uint32_t rounded = a + 0xFFFu + ((a >> 13) & 1u);
        return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
    }
    if (a < 0x33000000u) return (uint16_t)sign;  // below half the smallest subnormal: ±0
    // Subnormal half: shift the full significand right, rounding to nearest even.
    uint32_t exponent = a >> 23;
    uint32_t mantissa = (a & 0x7FFFFFu) | 0x800000u;
    uint32_t shift = 126u - exponent;  // 14..24
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1u);
    uint32_t midpoint = 1u << (shift - 1u);
    if (rest > midpoint || (rest == midpoint && (half & 1u))) half += 1u;
    return (uint16_t)(sign | half);
}

static inline int is_overflow(uint32_t in, uint16_t out) {
    return (in & 0x7F800000u) != 0x7F800000u && (out & 0x7FFFu) == 0x7C00u;
}

#ifdef PORTER_HAVE_F16C_PATH
__attribute__((target("avx,f16c")))
static size_t f32_to_f16_f16c(const unsigned char *src, unsigned char *dst, size_t count) {
    size_t k = 0, overflow = 0;
    for (; k + 8 <= count; k += 8) {
        __m256 v = _mm256_loadu_ps((const float *)(const void *)(src + 4 * k));
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * k), h);
        uint16_t halves[8];
        memcpy(halves, dst + 2 * k, sizeof halves);
        for (int j = 0; j < 8; j++) overflow += (size_t)is_overflow(load_le32(src + 4 * (k + j)), halves[j]);
    }
    for (; k < count; k++) {
        uint32_t f = load_le32(src + 4 * k);
        uint16_t h = float_to_half(f);
        store_le16(dst + 2 * k, h);
        overflow += (size_t)is_overflow(f, h);
    }
    return overflow;
}
#endif

size_t porter_f32_to_f16(const void *src, void *dst, size_t count) {
    const unsigned char *in = (const unsigned char *)src;
    unsigned char *out = (unsigned char *)dst;
#ifdef PORTER_HAVE_F16C_PATH
    if (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx")) return f32_to_f16_f16c(in, out, count);
#endif
    size_t overflow = 0;
    for (size_t k = 0; k < count; k++) {
        uint32_t f = load_le32(in + 4 * k);
        uint16_t h = float_to_half(f);
        store_le16(out + 2 * k, h);
        overflow += (size_t)is_overflow(f, h);
    }
    return overflow;
}

size_t porter_f32_to_bf16(const void *src, void *dst, size_t count) {
    const unsigned char *in = (const unsigned char *)src;
    unsigned char *out = (unsigned char *)dst;
    size_t overflow = 0;
    for (size_t k = 0; k < count; k++) {
        uint32_t f = load_le32(in + 4 * k);
        uint16_t b;
        if ((f & 0x7FFFFFFFu) > 0x7F800000u) {
            b = (uint16_t)((f >> 16) | 0x0040u);
        } else {
            b = (uint16_t)((f + 0x7FFFu + ((f >> 16) & 1u)) >> 16);
        }
        store_le16(out + 2 * k, b);
        overflow += (size_t)((f & 0x7F800000u) != 0x7F800000u && (b & 0x7FFFu) == 0x7F80u);
    }
    return overflow;
}
