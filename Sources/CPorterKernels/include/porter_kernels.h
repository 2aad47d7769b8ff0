#ifndef PORTER_KERNELS_H
#define PORTER_KERNELS_H
#include <stddef.h>

/// GELU, erf form, in place: x/2 · (1 + erf(x/√2)). erf by Abramowitz & Stegun 7.1.26
/// and e^x by a Cephes-style polynomial after range reduction, so the loop vectorises
/// (AVX2/FMA clone on x86-64 machines that have it). Max abs error against the exact
/// GELU ≈ 5e-7 over [-10, 10] (PorterRuntimeTests.geluKernelMatchesExactGELU).
void porter_gelu_erf(float *values, size_t count);

/// Widens `count` IEEE half-precision values (little-endian bytes at `src`, any
/// alignment) to float32 at `dst`, exactly (every half is a float). Uses F16C on x86-64
/// machines that have it, a bit-exact scalar loop elsewhere.
void porter_f16_to_f32(const void *src, float *dst, size_t count);

/// Narrows `count` float32 values (little-endian bytes at `src`, any alignment) to IEEE
/// half precision (little-endian at `dst`), rounding to nearest even; NaNs stay NaN
/// (quieted, payload truncated), as Swift's `Float16(Float)` does. Returns how many
/// finite inputs became infinities (overflow). F16C on x86-64 machines that have it.
size_t porter_f32_to_f16(const void *src, void *dst, size_t count);

/// Narrows float32 to bfloat16 (round to nearest even; NaN → quiet NaN keeping the top
/// payload bits), as `FloatConversion.floatToBF16`. Returns the overflow count.
size_t porter_f32_to_bf16(const void *src, void *dst, size_t count);

#endif
