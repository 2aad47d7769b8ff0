// C = A·B (+ bias, + C, then an activation) with B packed once (a layer's weight, at load) and
// A packed per call, by an AVX-512 register-blocked kernel of 8 rows × 48 columns.
//
// Layouts (PORTER_PACK_MR = 8, PORTER_PACK_NR = 48):
//   packed B: panel p holds columns p·48 … p·48+47 of B for all k, k-major: pb[(p·K + k)·48 + j],
//             columns past n zero.
//   packed A: tile t holds rows t·8 … t·8+7 of A for all k: pa[(t·K + k)·8 + i], rows past m zero.
// A k-block of either is a contiguous run, so the kernel walks both with unit stride.
#include <stdint.h>
#include <string.h>
#include "porter_runtime.h"

#define MR PORTER_PACK_MR
#define NR PORTER_PACK_NR
// k is cut into equal blocks of at most KC: a B micro-panel (≤ 768 × 48 floats, 144 KB) and MC
// rows of A by the block (≤ 768 KB) stay in the 2 MB L2 while every row tile of A passes over
// the micro-panel; C is loaded and stored once per block. Measured on this machine (2 cores,
// AVX-512) against blocks of 192, 256, 384 and 512 (bench/packed_gemm.c): 768 was fastest or
// level on every BERT-base shape.
#define KC 768
#define MC 256

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define PORTER_HAVE_AVX512_KERNEL 1
#endif

int porter_packed_gemm_available(void) {
#if PORTER_HAVE_AVX512_KERNEL
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cached;
#else
    return 0;
#endif
}

size_t porter_packed_b_count(size_t k, size_t n) {
    size_t panels = (n + NR - 1) / NR;
    return panels * NR * k;
}

size_t porter_packed_a_count(size_t m, size_t k) {
    size_t tiles = (m + MR - 1) / MR;
    return tiles * MR * k;
}

void porter_pack_b(const float *b, size_t k, size_t n, int b_is_transposed, float *packed) {
    size_t panels = (n + NR - 1) / NR;
    for (size_t p = 0; p < panels; p++) {
        size_t j0 = p * NR, width = n - j0 < NR ? n - j0 : NR;
        float *dst = packed + p * k * NR;
        if (!b_is_transposed) {
            // B row-major k × n: row kk's slice is contiguous.
            for (size_t kk = 0; kk < k; kk++) {
                memcpy(dst + kk * NR, b + kk * n + j0, width * sizeof(float));
                if (width < NR) memset(dst + kk * NR + width, 0, (NR - width) * sizeof(float));
            }
        } else {
            // B given as Bᵀ (n × k, a linear layer's out × in weight): column j of B is row j.
            if (width < NR) memset(dst, 0, k * NR * sizeof(float));
            for (size_t j = 0; j < width; j++) {
                const float *row = b + (j0 + j) * k;
                for (size_t kk = 0; kk < k; kk++) dst[kk * NR + j] = row[kk];
            }
        }
    }
}

void porter_pack_a(const float *a, size_t m, size_t k, size_t lda, size_t tile_begin, size_t tile_end, float *packed) {
    for (size_t t = tile_begin; t < tile_end; t++) {
        size_t i0 = t * MR, rows = m - i0 < MR ? m - i0 : MR;
        float *dst = packed + t * k * MR;
        for (size_t kk = 0; kk < k; kk++) {
            size_t i = 0;
            for (; i < rows; i++) dst[kk * MR + i] = a[(i0 + i) * lda + kk];
            for (; i < MR; i++) dst[kk * MR + i] = 0;
        }
    }
}

void porter_packed_b_column(const float *packed, size_t k, size_t n, size_t column, float *out) {
    if (column >= n) return;
    const float *src = packed + (column / NR) * k * NR + column % NR;
    for (size_t kk = 0; kk < k; kk++) out[kk] = src[kk * NR];
}

#if PORTER_HAVE_AVX512_KERNEL
// One 8 × 48 tile over a k-block of `kc`: the accumulators start from the bias row (or 0) and
// take the block's products; the `rows` × `cols` valid part is then stored, or added to C
// (`add_to_c`: a residual, or the partial sums of earlier k-blocks). Products are summed from
// a small start and C is added once per block, so a large residual does not round every
// product (starting from C cost up to 10x the error of a separate sum on BERT-base).
__attribute__((target("avx512f")))
static void kernel_8x48(size_t kc, const float *pa, const float *pb, float *c, size_t ldc, size_t rows, size_t cols,
                        int add_to_c, const float *bias) {
    __m512 acc[MR][3];
    __mmask16 mask[3];
    for (int v = 0; v < 3; v++) {
        int left = (int)cols - v * 16;
        mask[v] = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
    }
    __m512 init[3];
#pragma clang loop unroll(full)
    for (int v = 0; v < 3; v++) init[v] = bias ? _mm512_maskz_loadu_ps(mask[v], bias + v * 16) : _mm512_setzero_ps();
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < 3; v++) acc[i][v] = init[v];
    }
    for (size_t kk = 0; kk < kc; kk++) {
        __m512 b0 = _mm512_loadu_ps(pb), b1 = _mm512_loadu_ps(pb + 16), b2 = _mm512_loadu_ps(pb + 32);
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(pa[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(ai, b2, acc[i][2]);
        }
        pa += MR;
        pb += NR;
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if ((size_t)i >= rows) break;
#pragma clang loop unroll(full)
        for (int v = 0; v < 3; v++) {
            float *dst = c + i * ldc + v * 16;
            __m512 y = add_to_c ? _mm512_add_ps(_mm512_maskz_loadu_ps(mask[v], dst), acc[i][v]) : acc[i][v];
            _mm512_mask_storeu_ps(dst, mask[v], y);
        }
    }
}
#endif

void porter_packed_sgemm(size_t m, size_t n, size_t k, const float *packed_a, const float *packed_b,
                         size_t panel_begin, size_t panel_end, float *c, size_t ldc, int accumulate, const float *bias,
                         void (*activation)(float *, size_t)) {
#if PORTER_HAVE_AVX512_KERNEL
    size_t tiles = (m + MR - 1) / MR;
    size_t tiles_per_block = MC / MR;
    for (size_t t0 = 0; t0 < tiles; t0 += tiles_per_block) {
        size_t t1 = t0 + tiles_per_block < tiles ? t0 + tiles_per_block : tiles;
        size_t blocks = k == 0 ? 1 : (k + KC - 1) / KC, step = k == 0 ? 0 : (k + blocks - 1) / blocks;
        for (size_t b = 0, k0 = 0; b < blocks; b++, k0 += step) {
            if (k > 0 && k0 >= k) break;
            size_t kc = k - k0 < step ? k - k0 : step;
            int first = k0 == 0, last = k0 + kc >= k;
            for (size_t p = panel_begin; p < panel_end; p++) {
                size_t j0 = p * NR, cols = n - j0 < NR ? n - j0 : NR;
                const float *pb = packed_b + (p * k + k0) * NR;
                for (size_t t = t0; t < t1; t++) {
                    size_t i0 = t * MR, rows = m - i0 < MR ? m - i0 : MR;
                    float *ct = c + i0 * ldc + j0;
                    kernel_8x48(kc, packed_a + (t * k + k0) * MR, pb, ct, ldc, rows, cols, !first || accumulate,
                                first && bias ? bias + j0 : NULL);
                    if (last && activation) {
                        for (size_t i = 0; i < rows; i++) activation(ct + i * ldc, cols);
                    }
                }
            }
        }
    }
#else
    (void)m; (void)n; (void)k; (void)packed_a; (void)packed_b; (void)panel_begin; (void)panel_end;
    (void)c; (void)ldc; (void)accumulate; (void)bias; (void)activation;
#endif
}

void porter_relu(float *values, size_t count) {
    for (size_t k = 0; k < count; k++) values[k] = values[k] <= 0.0f ? 0.0f : values[k];
}
