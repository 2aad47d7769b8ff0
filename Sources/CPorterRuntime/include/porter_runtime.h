#ifndef PORTER_RUNTIME_H
#define PORTER_RUNTIME_H
#include <stddef.h>
#include <stdint.h>

// C kernels of PorterRuntime only (PorterCore's conversions live in CPorterKernels).

/// oneDNN's row-major sgemm, loaded on first use from libdnnl.so.2 (Debian libdnnl2, pulled in
/// by libdnnl-dev) with dlopen, so Porter needs it neither to build nor to run.
/// `porter_dnnl_available` is 1 when it loaded; `porter_dnnl_version` is major·10000 +
/// minor·100 + patch (0 when absent). Loading sets OMP_WAIT_POLICY=PASSIVE unless the
/// environment already sets it, so oneDNN's OpenMP workers sleep between products.
int porter_dnnl_available(void);
int porter_dnnl_version(void);
/// OpenMP threads oneDNN uses for products called from the calling thread.
void porter_dnnl_set_num_threads(int count);
/// C[m×n] = α·op(A)·op(B) + β·C, row-major (`dnnl_sgemm`). Returns oneDNN's status
/// (0 success), or -1 when oneDNN is absent.
int porter_dnnl_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/// GELU, tanh form, in place: x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))), with tanh from
/// the same range-reduced e^x polynomial as CPorterKernels' erf GELU, so the loop
/// vectorises (AVX2/FMA clone where the CPU has it). Max abs error against the libm
/// form ≈ 1e-7·max(1,|x|) (PorterRuntimeTests.geluTanhKernelMatchesScalar).
void porter_gelu_tanh(float *values, size_t count);

/// In-place softmax of `rows` rows of `length` floats each, `stride` floats apart, after
/// adding `mask` (may be NULL): row r adds mask[mask_offsets[r] + j·mask_step] (mask_offsets
/// NULL: offset 0 for all rows). A row whose maximum is -inf is treated as max 0 (as the
/// runtime's softmax does). e^x by the vectorisable polynomial.
void porter_softmax_rows(float *x, size_t rows, size_t length, size_t stride, float scale,
                         const float *mask, const size_t *mask_offsets, size_t mask_step);

/// Layer norm of `rows` rows of `width` floats: (x − mean) / √(var + ε) · γ + β (γ, β may
/// be NULL), mean and variance in float with 16 partial sums (two passes, as the runtime's
/// Swift loop did), so the reductions vectorise. `out` may equal `x`.
void porter_layer_norm_rows(const float *x, float *out, size_t rows, size_t width, const float *gamma, const float *beta,
                            float epsilon);

#endif
