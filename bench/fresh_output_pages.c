// The LM head's product (1024 × 50257 × 768, GPT-2 at batch 8 × seq 128) through Porter's packed
// GEMM on 2 threads, written into a warm output buffer and into a fresh 206 MB mapping each round,
// with 4 KB pages (MADV_NOHUGEPAGE) and with porter_advise_huge_pages; best of ROUNDS, interleaved.
// Shows what a fresh output's page faults cost (the runtime allocates each pass's logits anew).
//   clang -O2 -ISources/CPorterRuntime/include -ISources/CPorterKernels/include bench/fresh_output_pages.c \
//     Sources/CPorterRuntime/{porter_packed_gemm,porter_pool,porter_runtime_kernels,porter_gemm}.c \
//     -o /tmp/fresh_output_pages -lpthread -ldl -lm && /tmp/fresh_output_pages 6
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include "porter_runtime.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
typedef struct { size_t m, n, k, panels; int threads; const float *pa, *pb; float *c; } job;
static void task(void *ctx, size_t t) { const job *j = ctx; size_t p0 = j->panels * t / j->threads, p1 = j->panels * (t + 1) / j->threads;
  porter_packed_sgemm(j->m, j->n, j->k, j->pa, j->pb, p0, p1, j->c, j->n, 0, NULL, NULL); }
static float *alloc(size_t bytes, int huge) { void *p = mmap(NULL, bytes, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
  if (huge) porter_advise_huge_pages(p, bytes); else madvise(p, bytes, MADV_NOHUGEPAGE); return p; }
int main(int argc, char **argv) {
  size_t m = 1024, n = 50257, k = 768; int rounds = argc > 1 ? atoi(argv[1]) : 6;
  float *a = malloc(4 * m * k); for (size_t i = 0; i < m * k; i++) a[i] = (float)(i % 13) / 13;
  float *w = malloc(4 * n * k); for (size_t i = 0; i < n * k; i++) w[i] = (float)(i % 11) / 11;
  float *pa = malloc(4 * porter_packed_a_count(m, k)); porter_pack_a(a, m, k, k, 0, (m + 7) / 8, pa);
  size_t pbb = 4 * porter_packed_b_count(k, n);
  float *pb[2], *c[2]; double best[2][2] = {{1e9,1e9},{1e9,1e9}}; // [huge][fresh c]
  for (int h = 0; h < 2; h++) { pb[h] = alloc(pbb, h); porter_pack_b(w, k, n, 1, pb[h]); c[h] = alloc(4 * m * n, h); memset(c[h], 0, 4*m*n); }
  for (int r = 0; r < rounds; r++) for (int h = 0; h < 2; h++) {
    job j = {m, n, k, (n + 47) / 48, 2, pa, pb[h], c[h]};
    double t0 = now(); porter_pool_run(2, 2, task, &j); double t1 = now(); if (t1 - t0 < best[h][0]) best[h][0] = t1 - t0;
    float *fresh = alloc(4 * m * n, h); j.c = fresh;
    t0 = now(); porter_pool_run(2, 2, task, &j); t1 = now(); if (t1 - t0 < best[h][1]) best[h][1] = t1 - t0;
    munmap(fresh, 4 * m * n);
  }
  printf("4K pages: warm C %.1f ms, fresh C %.1f ms\nhuge pages: warm C %.1f ms, fresh C %.1f ms\n", best[0][0]*1e3, best[0][1]*1e3, best[1][0]*1e3, best[1][1]*1e3);
}
