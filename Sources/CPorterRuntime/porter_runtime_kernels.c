#include <malloc.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include "porter_runtime.h"
#include "porter_exp.h"


#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define PORTER_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define PORTER_CLONES
#endif

PORTER_CLONES
void porter_gelu_tanh(float *values, size_t count) {
    for (size_t k = 0; k < count; k++) {
        float x = values[k];
        float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
        // tanh(|u|) = (1 - e^{-2|u|}) / (1 + e^{-2|u|}); 1 + tanh(u) for the sign of u.
        float e = porter_exp_nonpositive(-2.0f * fabsf(u));
        float t = (1.0f - e) / (1.0f + e);
        float th = u < 0.0f ? -t : t;
        values[k] = 0.5f * x * (1.0f + th);
    }
}

// Sum of `n` floats in 16 partial sums (so the loop vectorises without reassociating a
// single chain), then the partials in a fixed order.
PORTER_CLONES
static float sum16(const float *x, size_t n) {
    float acc[16] = {0};
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) acc[l] += x[j + l];
    float total = 0;
    for (int l = 0; l < 16; l++) total += acc[l];
    for (; j < n; j++) total += x[j];
    return total;
}

// Largest of `n` floats (-inf when n = 0), in 16 lanes like sum16.
PORTER_CLONES
static float max16(const float *x, size_t n) {
    float lanes[16];
    for (int l = 0; l < 16; l++) lanes[l] = -INFINITY;
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) lanes[l] = x[j + l] > lanes[l] ? x[j + l] : lanes[l];
    float best = -INFINITY;
    for (int l = 0; l < 16; l++) best = lanes[l] > best ? lanes[l] : best;
    for (; j < n; j++) best = x[j] > best ? x[j] : best;
    return best;
}

PORTER_CLONES
static void softmax_row(float *o, size_t length, float scale, const float *mask, size_t step) {
    if (mask) {
        if (step == 1) {
            for (size_t j = 0; j < length; j++) o[j] = o[j] * scale + mask[j];
        } else {
            for (size_t j = 0; j < length; j++) o[j] = o[j] * scale + mask[j * step];
        }
    } else if (scale != 1.0f) {
        for (size_t j = 0; j < length; j++) o[j] *= scale;
    }
    // A single running max or sum is a serial chain (4 cycles per element) the compiler may not
    // reorder; 16 lanes combined in a fixed order vectorise.
    float maxValue = max16(o, length);
    if (maxValue == -INFINITY) maxValue = 0;
    // Below -87 the weight is exactly 0, as expf's underflow gives, not porter_exp_nonpositive's
    // e^-87 ≈ 1.6e-38: under a causal or padding mask (-3.4e38) that tiny value made every
    // masked product with V subnormal in the context GEMM, a microcode assist each (13× the
    // unmasked time per head on this CPU; docs/benchmarks.md).
    for (size_t j = 0; j < length; j++) {
        float x = o[j] - maxValue;
        o[j] = x < -87.0f ? 0.0f : porter_exp_nonpositive(x);
    }
    float sum = sum16(o, length);
    float inv = 1.0f / sum;
    for (size_t j = 0; j < length; j++) o[j] *= inv;
}

void porter_softmax_rows(float *x, size_t rows, size_t length, size_t stride, float scale,
                         const float *mask, const size_t *mask_offsets, size_t mask_step) {
    for (size_t r = 0; r < rows; r++) {
        const float *m = mask ? mask + (mask_offsets ? mask_offsets[r] : 0) : NULL;
        softmax_row(x + r * stride, length, scale, m, mask_step);
    }
}

PORTER_CLONES
static float squared_deviation16(const float *x, size_t n, float mean) {
    float acc[16] = {0};
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) { float d = x[j + l] - mean; acc[l] += d * d; }
    float total = 0;
    for (int l = 0; l < 16; l++) total += acc[l];
    for (; j < n; j++) { float d = x[j] - mean; total += d * d; }
    return total;
}

PORTER_CLONES
void porter_layer_norm_rows(const float *x, float *out, size_t rows, size_t width, const float *gamma, const float *beta,
                            float epsilon) {
    if (width == 0) return;
    for (size_t r = 0; r < rows; r++) {
        const float *p = x + r * width;
        float *o = out + r * width;
        float mean = sum16(p, width) / (float)width;
        float inv = 1.0f / sqrtf(squared_deviation16(p, width, mean) / (float)width + epsilon);
        if (gamma && beta) {
            for (size_t j = 0; j < width; j++) o[j] = (p[j] - mean) * inv * gamma[j] + beta[j];
        } else {
            for (size_t j = 0; j < width; j++) {
                float y = (p[j] - mean) * inv;
                if (gamma) y *= gamma[j];
                if (beta) y += beta[j];
                o[j] = y;
            }
        }
    }
}

void porter_malloc_keep_freed(void) {
#if defined(__GLIBC__)
    static int done = 0;
    if (done) return;
    done = 1;
    if (getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_") || getenv("GLIBC_TUNABLES")) return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

int porter_advise_huge_pages(void *base, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (bytes < ((size_t)4 << 20)) return -1;
    uintptr_t begin = ((uintptr_t)base + huge - 1) & ~(huge - 1), end = ((uintptr_t)base + bytes) & ~(huge - 1);
    if (end <= begin) return -1;
    return madvise((void *)begin, end - begin, MADV_HUGEPAGE);
#else
    (void)base; (void)bytes;
    return -1;
#endif
}
