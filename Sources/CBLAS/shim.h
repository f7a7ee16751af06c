// OpenBLAS's own copy of cblas.h (Debian multiarch include path). Plain <cblas.h> is an
// update-alternatives link that may point at another BLAS, and openblas_set_num_threads is
// declared only in OpenBLAS's header.
#include <openblas-pthread/cblas.h>
