// One BERT/GPT-2 attention layer's heads (12 × scores 128×128×64, softmax, context 128×64×128) through
// Porter's own kernels (oneDNN dnnl_sgemm + porter_softmax_rows), one thread, without and with a causal
// mask of the lowest float; CPU time per layer. Shows what subnormal softmax weights cost
// (docs/benchmarks.md, "Where GPT-2's time went").
//
//   clang -O2 -I Sources/CPorterRuntime/include -I Sources/CPorterKernels/include bench/attention_mask_subnormal.c \
//       Sources/CPorterRuntime/porter_runtime_kernels.c Sources/CPorterRuntime/porter_gemm.c -ldl -lpthread -lm \
//       -o /tmp/attention_mask_subnormal && /tmp/attention_mask_subnormal
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "porter_runtime.h"

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    if (!porter_dnnl_available()) { fprintf(stderr, "libdnnl.so.2 not found\n"); return 1; }
    enum { S = 128, T = 128, D = 64, H = 12, LD = H * D };
    float *q = malloc(sizeof(float) * S * LD), *k = malloc(sizeof(float) * T * LD), *v = malloc(sizeof(float) * T * LD);
    float *out = malloc(sizeof(float) * S * LD), *scores = malloc(sizeof(float) * S * T), *mask = malloc(sizeof(float) * S * T);
    size_t offsets[S];
    srand(1);
    for (int i = 0; i < S * LD; i++) q[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < T * LD; i++) { k[i] = (float)rand() / (float)RAND_MAX - 0.5f; v[i] = (float)rand() / (float)RAND_MAX - 0.5f; }
    for (int i = 0; i < S; i++) {
        offsets[i] = (size_t)i * T;
        for (int j = 0; j < T; j++) mask[i * T + j] = j > i ? -3.4028234663852886e38f : 0.0f;
    }
    porter_dnnl_set_num_threads(1);
    for (int round = 0; round < 4; round++) {
        for (int masked = 0; masked < 2; masked++) {
            double start = cpu_seconds();
            for (int it = 0; it < 10; it++)
                for (int h = 0; h < H; h++) {
                    porter_dnnl_sgemm(0, 1, S, T, D, 0.125f, q + h * D, LD, k + h * D, LD, 0, scores, T);
                    porter_softmax_rows(scores, S, T, T, 1, masked ? mask : NULL, masked ? offsets : NULL, 1);
                    porter_dnnl_sgemm(0, 0, S, D, T, 1, scores, T, v + h * D, LD, 0, out + h * D, LD);
                }
            if (round > 0) printf("round %d, %s: %.2f ms CPU per layer\n", round, masked ? "causal mask" : "no mask",
                                  (cpu_seconds() - start) * 100);
        }
    }
    return 0;
}
