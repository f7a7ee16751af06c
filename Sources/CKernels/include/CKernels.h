#ifndef EPISODIC_CKERNELS_H
#define EPISODIC_CKERNELS_H

// Element-wise transcendental kernels of the transformer, in C so that the compiler vectorizes
// them reliably: Swift's generic SIMD masks (`replacing(with:where:)`) lower to per-lane branches
// on AVX2, which made GELU 4 ns per element instead of < 1.

/// x[i] = GELU(x[i]) = x/2 · (1 + erf(x/√2)), erf with |error| < 6e-7.
void ek_gelu(float *x, long count);

/// Row-wise softmax of `rows × cols` scores `ld` apart, in place, of `scale · s + bias`
/// (`bias`, may be NULL, is `rows × cols` with leading dimension `cols`).
void ek_softmax_rows(float *s, long rows, long cols, long ld, float scale, const float *bias);

/// e^x for `count` values (relative error < 3e-7; 0 below −87.3), for tests.
void ek_exp(const float *x, float *y, long count);

/// erf(x) for `count` values, for tests.
void ek_erf(const float *x, float *y, long count);

/// Hints the CPU to fetch the cache line holding `p` (a no-op where unsupported). Inlined into
/// Swift callers: the packed GEMM prefetches the next weight panel while computing the current one.
static inline void ek_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
