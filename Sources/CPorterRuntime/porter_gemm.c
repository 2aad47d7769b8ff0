// oneDNN's dnnl_sgemm, loaded at run time (dlopen) so Porter builds and runs without it:
// where libdnnl.so.2 is absent the runtime falls back to OpenBLAS's cblas_sgemm.
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "porter_runtime.h"

typedef int (*porter_dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float, const float *, int64_t,
                                    const float *, int64_t, float, float *, int64_t);
typedef void (*porter_omp_set_fn)(int);
typedef struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } porter_dnnl_version_t;
typedef const porter_dnnl_version_t *(*porter_dnnl_version_fn)(void);

static pthread_once_t dnnl_once = PTHREAD_ONCE_INIT;
static porter_dnnl_sgemm_fn dnnl_sgemm_ptr;
static porter_omp_set_fn omp_set_ptr;
static int dnnl_version_code;

static void dnnl_load(void) {
    // oneDNN's OpenMP workers sleep rather than spin once a product is done (the runtime's own
    // loops and OpenBLAS share the cores); a policy the user set is kept.
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    void *lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    porter_dnnl_sgemm_fn f = (porter_dnnl_sgemm_fn)dlsym(lib, "dnnl_sgemm");
    porter_dnnl_version_fn v = (porter_dnnl_version_fn)dlsym(lib, "dnnl_version");
    if (!f || !v) return;
    const porter_dnnl_version_t *ver = v();
    if (ver) dnnl_version_code = ver->major * 10000 + ver->minor * 100 + ver->patch;
    // libgomp comes with libdnnl (Debian's build uses the OpenMP runtime).
    omp_set_ptr = (porter_omp_set_fn)dlsym(lib, "omp_set_num_threads");
    if (!omp_set_ptr) omp_set_ptr = (porter_omp_set_fn)dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    dnnl_sgemm_ptr = f;
}

int porter_dnnl_available(void) {
    pthread_once(&dnnl_once, dnnl_load);
    return dnnl_sgemm_ptr != NULL;
}

int porter_dnnl_version(void) {
    pthread_once(&dnnl_once, dnnl_load);
    return dnnl_version_code;
}

void porter_dnnl_set_num_threads(int count) {
    pthread_once(&dnnl_once, dnnl_load);
    if (omp_set_ptr) omp_set_ptr(count < 1 ? 1 : count);
}

int porter_dnnl_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    pthread_once(&dnnl_once, dnnl_load);
    if (!dnnl_sgemm_ptr) return -1;
    return dnnl_sgemm_ptr(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
