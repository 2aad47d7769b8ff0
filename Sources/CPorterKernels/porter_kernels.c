#include <math.h>
#include <stdint.h>
#include <string.h>
#include "porter_kernels.h"

// e^x for x <= 0: 2^n · p(r) with x = n·ln2 + r, |r| <= ln2/2; e^-87 below -87 (and for
// NaN, so the integer conversion below always sees n in [-126, 0]). n is rounded with the
// 1.5·2^23 trick rather than roundevenf so SSE2 can vectorise it.
static inline float exp_nonpositive(float x) {
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
        float y = 1.0f - poly * exp_nonpositive(-a * a);
        float erf_z = z < 0.0f ? -y : y;
        values[k] = 0.5f * x * (1.0f + erf_z);
    }
}
