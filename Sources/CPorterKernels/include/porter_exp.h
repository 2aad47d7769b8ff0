#ifndef PORTER_EXP_H
#define PORTER_EXP_H
#include <stdint.h>
#include <string.h>

/// e^x for x <= 0: 2^n · p(r) with x = n·ln2 + r, |r| <= ln2/2; e^-87 below -87 (and for NaN,
/// so the integer conversion below always sees n in [-126, 0]). n is rounded with the
/// 1.5·2^23 trick rather than roundevenf so SSE2 can vectorise it. Shared by CPorterKernels'
/// erf-GELU and CPorterRuntime's tanh-GELU and softmax.
static inline float porter_exp_nonpositive(float x) {
    x = x >= -87.0f ? x : -87.0f;
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

#endif
