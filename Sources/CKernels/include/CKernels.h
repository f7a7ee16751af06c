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

/// Quantizes `count` floats to int8 codes with one symmetric scale (max |x| / 127; 1 for a zero
/// vector), rounding to nearest. Returns the scale; `residual_sq` receives ‖x − scale·codes‖² and
/// `code_norm_sq` ‖scale·codes‖², both summed in double.
float ek_quantize_i8(const float *x, long count, int8_t *codes, double *residual_sq, double *code_norm_sq);

/// What the candidate scan needs of one quantized row besides its codes: one 16-byte record per
/// row, so that the scan reads one extra stream rather than three (which cost it 10–20 %).
typedef struct {
    float scale;          ///< x ≈ scale · codes
    float residual_norm;  ///< ‖x − scale · codes‖₂ (rounded up)
    float code_norm;      ///< ‖scale · codes‖₂ (rounded up)
    float reserved;
} ek_row_bounds;

/// The rows of an int8 copy that may hold one of the `k` best exact scores against a query.
///
/// Row i's exact score lies in approx ± error, where, with b = rows[i],
/// approx = b.scale·query_scale·(codes_i·query) and error = b.residual_norm·query_norm +
/// b.code_norm·query_residual + slack·(b.code_norm + b.residual_norm). With T the k-th largest
/// lower bound (approx − error) over all rows, writes to `candidates` exactly the rows whose upper
/// bound reaches T, in no particular order, and their upper bounds to `uppers`, and returns their
/// number; both must hold `count` entries. Codes and query lie in [−127, 127]; requires
/// 1 ≤ k ≤ min(count, 4096) (else returns −1).
long ek_scan_candidates(const int8_t *codes, long count, long dim, const int8_t *query,
                        const ek_row_bounds *rows, float query_scale, float query_norm, float query_residual, float slack,
                        long k, int32_t *candidates, float *uppers);

/// Hints the CPU to fetch the cache line holding `p` (a no-op where unsupported). Inlined into
/// Swift callers: the packed GEMM prefetches the next weight panel while computing the current one.
static inline void ek_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
