// Porter's packed-weight GEMM (porter_packed_gemm.c, run on Porter's thread pool as the runtime
// runs it) against oneDNN's dnnl_sgemm on BERT-base / GPT-2 shapes (row-major y = x·Wᵀ + b,
// W out × in), interleaved, best of ROUNDS each; packing A is timed in, packing W (done once at
// load) is not. Also checks the packed result against a double-precision loop. Built and run
// by bench/packed_gemm.sh.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "porter_runtime.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

typedef struct { size_t m, n, k, panels; int threads; const float *pa, *pb, *bias; float *c; } gemm_job;
static void gemm_task(void *ctx, size_t t) {
    const gemm_job *j = ctx;
    size_t p0 = j->panels * t / j->threads, p1 = j->panels * (t + 1) / j->threads;
    porter_packed_sgemm(j->m, j->n, j->k, j->pa, j->pb, p0, p1, j->c, j->n, 0, j->bias, NULL);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, rounds = argc > 2 ? atoi(argv[2]) : 100;
    if (!porter_packed_gemm_available()) { fprintf(stderr, "no AVX-512F: the packed GEMM is not used here\n"); return 1; }
    int dnnl = porter_dnnl_available();
    if (dnnl) porter_dnnl_set_num_threads(threads);
    int shapes[][3] = {{128, 768, 768}, {128, 3072, 768}, {128, 768, 3072}, {128, 2304, 768}, {1024, 768, 768}, {1024, 3072, 768}, {1024, 768, 3072}, {128, 50257, 768}, {1024, 2304, 768}, {1024, 50257, 768}};
    printf("threads %d, best of %d interleaved rounds, GFLOP/s (ms)\n", threads, rounds);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k), *bias = malloc(sizeof(float) * n);
        float *c = malloc(sizeof(float) * m * n), *c2 = malloc(sizeof(float) * m * n);
        for (size_t i = 0; i < m * k; i++) a[i] = (float)((i * 7) % 13) / 13 - 0.5f;
        for (size_t i = 0; i < n * k; i++) w[i] = (float)((i * 5) % 11) / 11 - 0.5f;
        for (size_t i = 0; i < n; i++) bias[i] = (float)i / (float)n;
        float *pb = malloc(sizeof(float) * porter_packed_b_count(k, n)), *pa = malloc(sizeof(float) * porter_packed_a_count(m, k));
        porter_pack_b(w, k, n, 1, pb);
        gemm_job job = {m, n, k, (n + PORTER_PACK_NR - 1) / PORTER_PACK_NR, threads, pa, pb, bias, c};
        double best_p = 1e9, best_d = 1e9;
        for (int r = 0; r < rounds; r++) {
            double t0 = now();
            porter_pack_a(a, m, k, k, 0, (m + PORTER_PACK_MR - 1) / PORTER_PACK_MR, pa);
            porter_pool_run((size_t)threads, threads, gemm_task, &job);
            double t1 = now();
            if (dnnl) {
                for (size_t i = 0; i < m; i++) for (size_t j = 0; j < n; j++) c2[i * n + j] = bias[j];
                porter_dnnl_sgemm(0, 1, (int64_t)m, (int64_t)n, (int64_t)k, 1, a, (int64_t)k, w, (int64_t)k, 1, c2, (int64_t)n);
            }
            double t2 = now();
            if (t1 - t0 < best_p) best_p = t1 - t0;
            if (t2 - t1 < best_d) best_d = t2 - t1;
        }
        double worst = 0;
        for (size_t i = 0; i < m; i += 7) for (size_t j = 0; j < n; j++) {
            double ref = bias[j];
            for (size_t q = 0; q < k; q++) ref += (double)a[i * k + q] * w[j * k + q];
            double e = fabs(ref - c[i * n + j]) / (1 + fabs(ref));
            if (e > worst) worst = e;
        }
        double flop = 2.0 * m * n * k;
        printf("%4zu x %4zu x %4zu  packed %5.0f (%6.3f)", m, n, k, flop / best_p / 1e9, best_p * 1e3);
        if (dnnl) printf("  oneDNN %5.0f (%6.3f)  packed/oneDNN %.2f", flop / best_d / 1e9, best_d * 1e3, best_p / best_d);
        printf("  max rel err %.1e\n", worst);
        free(a); free(w); free(bias); free(c); free(c2); free(pa); free(pb);
    }
    return 0;
}
