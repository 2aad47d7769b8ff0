// GEMM backends on this machine: oneDNN's dnnl_sgemm (through Porter's dlopen loader) against
// OpenBLAS's cblas_sgemm, on the transformer shapes of BERT-base / GPT-2 (row-major, x·Wᵀ),
// interleaved, with the given thread count. Built and run by bench/gemm_backends.sh.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "porter_runtime.h"
void openblas_set_num_threads(int);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, rounds = argc > 2 ? atoi(argv[2]) : 10;
    if (!porter_dnnl_available()) { fprintf(stderr, "libdnnl.so.2 not found\n"); return 1; }
    openblas_set_num_threads(threads);
    porter_dnnl_set_num_threads(threads);
    int shapes[][3] = {{1024, 768, 768}, {1024, 3072, 768}, {1024, 768, 3072}, {128, 768, 768}, {128, 2304, 768}, {1024, 50257, 768}, {2048, 2048, 2048}};
    int count = sizeof shapes / sizeof shapes[0];
    printf("oneDNN %d, threads %d, %d interleaved rounds; GFLOP/s median (min..max)\n", porter_dnnl_version(), threads, rounds);
    for (int s = 0; s < count; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * n * k), *c = malloc(sizeof(float) * m * n);
        for (long i = 0; i < (long)m * k; i++) a[i] = (float)((i * 7) % 13) / 13 - 0.5f;
        for (long i = 0; i < (long)n * k; i++) b[i] = (float)((i * 5) % 11) / 11 - 0.5f;
        double td[64], to[64], flop = 2.0 * m * n * k;
        for (int r = -1; r < rounds && r < 64; r++) {
            double t0 = now();
            porter_dnnl_sgemm(0, 1, m, n, k, 1, a, k, b, k, 0, c, n);
            double t1 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, c, n);
            double t2 = now();
            if (r >= 0) { td[r] = flop / (t1 - t0) / 1e9; to[r] = flop / (t2 - t1) / 1e9; }
        }
        qsort(td, rounds, sizeof(double), cmp);
        qsort(to, rounds, sizeof(double), cmp);
        printf("%5d x %5d x %5d: onednn %6.1f (%6.1f..%6.1f)  openblas %6.1f (%6.1f..%6.1f)  ratio %.2f\n", m, n, k,
               td[rounds / 2], td[0], td[rounds - 1], to[rounds / 2], to[0], to[rounds - 1], td[rounds / 2] / to[rounds / 2]);
        free(a); free(b); free(c);
    }
    return 0;
}
