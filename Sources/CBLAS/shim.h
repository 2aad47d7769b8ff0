// OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
#ifndef PORTER_CBLAS_SHIM_H
#define PORTER_CBLAS_SHIM_H
#include <cblas.h>
// Declared again so the shim compiles against any cblas.h the alternatives system picks;
// the symbol itself comes from libopenblas.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
