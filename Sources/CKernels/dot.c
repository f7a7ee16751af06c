// The float32 inner product of the search index (exact scores, rescoring, the quality rerank).
//
// One body written with the compiler's generic vectors, compiled for AVX2 + FMA (chosen at run
// time, also in a build for the baseline CPU) and for the build's own target — as fp32panel.c, and
// for the same reason: Swift's `SIMD8.addingProduct` in a baseline build is a libm `fmaf` call per
// lane. The summation order is fixed per path (four 8-lane accumulators, then the lanes in pairs,
// then the tail), so that every caller in a process gets the same float for the same inputs.
#include "CKernels.h"
#include <string.h>

typedef float v8 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) v8 load8(const float *p) {
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) float dot_body(const float *a, const float *b, long n) {
    v8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 += load8(a + i) * load8(b + i);
        s1 += load8(a + i + 8) * load8(b + i + 8);
        s2 += load8(a + i + 16) * load8(b + i + 16);
        s3 += load8(a + i + 24) * load8(b + i + 24);
    }
    for (; i + 8 <= n; i += 8) s0 += load8(a + i) * load8(b + i);
    const v8 s = (s0 + s1) + (s2 + s3);
    float total = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; i++) total += a[i] * b[i];
    return total;
}

static float dot_portable(const float *a, const float *b, long n) { return dot_body(a, b, n); }

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, long n) {
    return dot_body(a, b, n);
}
#endif

int ek_vec_path_supported(int path) {
    switch (path) {
    case EK_VEC_PORTABLE: return 1;
#if defined(__x86_64__)
    case EK_VEC_AVX2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

float ek_dot_f32(int path, const float *a, const float *b, long n) {
#if defined(__x86_64__)
    if (path == EK_VEC_AVX2) return dot_avx2(a, b, n);
#else
    (void)path;
#endif
    return dot_portable(a, b, n);
}
