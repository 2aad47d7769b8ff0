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

/// Keeps freed activation buffers in the process (glibc: blocks up to 32 MB from the heap,
/// trimmed back to the OS only past 256 MB free), so each op's output reuses pages already
/// faulted in instead of a fresh mmap a page fault per 4 KB (a run allocates and frees its
/// activations op by op). Once per process; skipped when MALLOC_MMAP_THRESHOLD_,
/// MALLOC_TRIM_THRESHOLD_ or GLIBC_TUNABLES is set. No-op off glibc.
void porter_malloc_keep_freed(void);

/// Asks the kernel for transparent huge pages over the whole 2 MB pages inside
/// [base, base + bytes) of a buffer not yet touched (glibc maps blocks over 32 MB on their own, so a
/// large output — GPT-2's 206 MB of logits at 8 × 128 — is otherwise faulted in 4 KB at a time,
/// 50 K faults a pass, and written through 4 KB TLB entries). Linux `madvise(MADV_HUGEPAGE)`;
/// a no-op elsewhere, below 4 MB, and when THP is off. Returns 0 when advised.
int porter_advise_huge_pages(void *base, size_t bytes);

/// The runtime's thread pool (porter_pool.c): runs fn(ctx, i) for i in [0, tasks) on up to
/// `threads` threads (the caller and threads − 1 persistent workers) and returns when all are
/// done. Workers poll for the next job for PORTER_POOL_SPIN_US microseconds (default 100)
/// after each one, then sleep. Runs the tasks inline, in order, when `tasks` or `threads` is
/// 1, when called from inside a task, or while another thread's job is running.
typedef void (*porter_task_fn)(void *ctx, size_t task);
void porter_pool_run(size_t tasks, int threads, porter_task_fn fn, void *ctx);

/// Packed-weight GEMM (porter_packed_gemm.c): B (a weight) packed once into panels of
/// PORTER_PACK_NR columns, A packed per call into tiles of PORTER_PACK_MR rows, multiplied by
/// an AVX-512 8 × 48 register-blocked kernel. `porter_packed_gemm_available` is 1 when this
/// CPU has AVX-512F (else the runtime keeps oneDNN / OpenBLAS and never calls the others).
#define PORTER_PACK_MR 8
#define PORTER_PACK_NR 48
int porter_packed_gemm_available(void);
/// Floats of packed B for a k × n B (n rounded up to whole panels), and of packed A for m × k.
size_t porter_packed_b_count(size_t k, size_t n);
size_t porter_packed_a_count(size_t m, size_t k);
/// Packs B (k × n row-major, or its transpose n × k when `b_is_transposed`: an out × in weight).
void porter_pack_b(const float *b, size_t k, size_t n, int b_is_transposed, float *packed);
/// Column `column` of packed B (k floats) into `out`: row `column` of an out × in weight.
void porter_packed_b_column(const float *packed, size_t k, size_t n, size_t column, float *out);
/// Packs row tiles [tile_begin, tile_end) of A (m × k, row stride lda) into `packed`.
void porter_pack_a(const float *a, size_t m, size_t k, size_t lda, size_t tile_begin, size_t tile_end, float *packed);
/// C[:, panels] = A·B (+ C when `accumulate`) (+ bias[n], may be NULL), then `activation` (may
/// be NULL) on each finished row segment, for B's panels [panel_begin, panel_end): threads
/// take disjoint panel ranges.
void porter_packed_sgemm(size_t m, size_t n, size_t k, const float *packed_a, const float *packed_b,
                         size_t panel_begin, size_t panel_end, float *c, size_t ldc, int accumulate, const float *bias,
                         void (*activation)(float *, size_t));
/// max(x, 0) in place (NaN kept), as an activation for `porter_packed_sgemm`.
void porter_relu(float *values, size_t count);

#endif
