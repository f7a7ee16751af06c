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

#include <stdint.h>

/// Integer dot products of `count` int8 rows of `dim` codes against one int8 query:
/// out[i] = Σ_j codes[i·dim + j] · query[j]. Codes and query must lie in [−127, 127] (the AVX2
/// path multiplies |query| by sign-adjusted codes, which cannot overflow 16 bits in that range).
void ek_dot_i8_rows(const int8_t *codes, long count, long dim, const int8_t *query, int32_t *out);

/// Quantizes `count` floats to int8 codes with one symmetric scale (max |x| / 127; 1 for a zero
/// vector), rounding to nearest. Returns the scale; `residual_sq` receives ‖x − scale·codes‖² and
/// `code_norm_sq` ‖scale·codes‖², both summed in double.
float ek_quantize_i8(const float *x, long count, int8_t *codes, double *residual_sq, double *code_norm_sq);

/// Per-row bounds of exact scores from the int8 pass, and the k-th largest lower bound.
/// For row i: approx = scale[i]·query_scale·dots[i]; error = residual[i]·query_norm +
/// code_norm[i]·query_residual + slack·(code_norm[i] + residual[i]); upper[i] = approx + error.
/// Returns the k-th largest (approx − error) over all rows (k ≤ count, k ≤ 4096).
float ek_score_bounds(const int32_t *dots, long count, const float *scale, const float *residual,
                      const float *code_norm, float query_scale, float query_norm, float query_residual,
                      float slack, long k, float *upper);

/// Hints the CPU to fetch the cache line holding `p` (a no-op where unsupported). Inlined into
/// Swift callers: the packed GEMM prefetches the next weight panel while computing the current one.
static inline void ek_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
