#ifndef PORTER_CAST_H
#define PORTER_CAST_H
#include <stddef.h>

// Casts between bfloat16, float16 and float32 with the bits PyTorch's CPU kernels give
// (`Tensor.half()`, `.bfloat16()` in torch 2.13, checked by fixtures/cast): round to
// nearest even, NaN quieted. All pointers are little-endian bytes at any alignment.
// Each returns how many finite inputs became infinities (overflow).

/// bfloat16 → float16 through the exact float32 value (one rounding), as torch does:
/// NaN quieted with its payload truncated (F16C's rule). AVX2 + F16C where the CPU has them.
size_t porter_cast_bf16_to_f16(const void *src, void *dst, size_t count);

/// bfloat16 → float32, exactly (a 16-bit shift).
void porter_cast_bf16_to_f32(const void *src, float *dst, size_t count);

/// float32 → bfloat16, round to nearest even; every NaN becomes 0xFFFF, as torch's
/// vectorised CPU cast (`cvtfp32_bf16`) writes it. AVX2 where the CPU has it.
size_t porter_cast_f32_to_bf16(const void *src, void *dst, size_t count);

#endif
