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
/// Rounds to the nearest integer, ties to even, as the quantizers do in a build for the baseline
/// CPU (on x86-64 without SSE4.1's rounding instruction: a conversion, not a libm call). For tests:
/// host builds compile the quantizers with the CPU's own rounding instruction.
float ek_round_even_baseline(float x);

/// What the candidate scan needs of one quantized row besides its codes: one 16-byte record per
/// row, so that the scan reads one extra stream rather than three (which cost it 10–20 %).
typedef struct {
    float scale;          ///< x ≈ scale · codes
    float residual_norm;  ///< ‖x − scale · codes‖₂ (rounded up)
    float code_norm;      ///< ‖scale · codes‖₂ (rounded up)
    float reserved;
} ek_row_bounds;

/// The kernels of the search index's float32 dot product and int8 candidate scan: AVX2 (+ FMA for
/// the dot), or the build's own target. Paths of the scan give identical results (int32 sums);
/// the dot's may differ in the last bits, but one path serves a whole process.
enum { EK_VEC_PORTABLE = 0, EK_VEC_AVX2 = 1 };
/// Whether this CPU can run the vector kernel `path`.
int ek_vec_path_supported(int path);
/// The inner product of two `n`-float vectors on `path` (one this CPU supports), in a fixed
/// summation order.
float ek_dot_f32(int path, const float *a, const float *b, long n);

/// The rows of an int8 copy that may hold one of the `k` best exact scores against a query.
///
/// Row i's exact score lies in approx ± error, where, with b = rows[i],
/// approx = b.scale·query_scale·(codes_i·query) and error = b.residual_norm·query_norm +
/// b.code_norm·query_residual + slack·(b.code_norm + b.residual_norm). With T the k-th largest
/// lower bound (approx − error) over all rows, writes to `candidates` exactly the rows whose upper
/// bound reaches T, in no particular order, and their upper bounds to `uppers`, and returns their
/// number; both must hold `count` entries. Codes and query lie in [−127, 127]; requires
/// 1 ≤ k ≤ min(count, 4096) (else returns −1). Runs on `path` (one this CPU supports).
long ek_scan_candidates(int path, const int8_t *codes, long count, long dim, const int8_t *query,
                        const ek_row_bounds *rows, float query_scale, float query_norm, float query_residual, float slack,
                        long k, int32_t *candidates, float *uppers);

// ---- int8 linear layers (int8gemm.c) --------------------------------------------------------

/// The kernels an int8 product can run on; all give bit-identical results.
enum { EK_I8_PORTABLE = 0, EK_I8_AVX2 = 1, EK_I8_VNNI = 2 };

/// The fastest path this CPU supports (cpuid).
int ek_i8_best_path(void);
/// Whether this CPU can run `path`.
int ek_i8_path_supported(int path);

/// k rounded up to a multiple of 4 (the bytes of one quantized activation row).
long ek_i8_padded_k(long k);
/// Tiles of 64 output columns.
long ek_i8_tiles(long n);
/// Bytes of the packed weights of an `[n × k]` layer.
long ek_i8_packed_bytes(long k, long n);

/// Quantizes a linear layer's row-major `[n × k]` weight per output channel (symmetric, max |w| /
/// 127) into the tiled layout of `ek_i8_gemm`: `packed` holds `ek_i8_packed_bytes(k, n)` bytes;
/// `scales` and `colsums` (Σ of each column's codes) hold `64 · ek_i8_tiles(n)` entries.
void ek_i8_pack_weights(const float *w, long n, long k, int8_t *packed, float *scales, int32_t *colsums);

/// Quantizes `rows` rows of `k` floats (`ldx` apart) to u8 with a per-row scale and zero point
/// (x ≈ scale · (q − zero); 0 is exact), rows `ldq ≥ ek_i8_padded_k(k)` bytes apart, padding = zero.
void ek_i8_quantize_rows(const float *x, long rows, long k, long ldx, uint8_t *q, long ldq, float *scales, int32_t *zeros);

/// C[m × n] (rows `ldc` apart) = the dequantized product of quantized rows `a` (`lda` bytes apart)
/// and packed weights, plus `bias` (may be NULL), for the 64-column tiles [tile_begin, tile_end).
void ek_i8_gemm(int path, long m, const uint8_t *a, long lda, const float *a_scales, const int32_t *a_zeros,
                const int8_t *packed, long k, long n, const float *w_scales, const int32_t *colsums, const float *bias,
                float *c, long ldc, long tile_begin, long tile_end);

// ---- bf16 linear layers (bf16gemm.c) --------------------------------------------------------

/// The bf16 kernels: AVX512_BF16 (`vdpbf16ps`), AVX2 + FMA (weights widened in registers), plain C.
enum { EK_BF16_PORTABLE = 0, EK_BF16_AVX512 = 1, EK_BF16_AVX2 = 2 };
/// Whether this CPU can run the bf16 kernel `path`.
int ek_bf16_path_supported(int path);
/// k rounded up to an even number (the bf16 values of one converted activation row).
long ek_bf16_padded_k(long k);
/// Tiles of 64 output columns.
long ek_bf16_tiles(long n);
/// bf16 values of the packed weights of an `[n × k]` layer.
long ek_bf16_packed_count(long k, long n);
/// Rounds a linear layer's row-major `[n × k]` weight to bf16 (nearest even) into the tiled layout
/// of `ek_bf16_gemm` (`ek_bf16_packed_count(k, n)` values).
void ek_bf16_pack_weights(const float *w, long n, long k, uint16_t *packed);
/// Rounds `rows` rows of `k` floats (`ldx` apart) to bf16, rows `ldo ≥ ek_bf16_padded_k(k)` apart.
void ek_bf16_convert_rows(const float *x, long rows, long k, long ldx, uint16_t *out, long ldo);
/// C[m × n] (rows `ldc` apart) = A · W + bias (may be NULL) for the 64-column tiles
/// [tile_begin, tile_end) on the kernel `path` (one `ek_bf16_path_supported` says this CPU runs).
void ek_bf16_gemm(int path, long m, const uint16_t *a, long lda, const uint16_t *packed, long k, long n,
                  const float *bias, float *c, long ldc, long tile_begin, long tile_end);

// ---- float32 products on 16-column panels (fp32panel.c) ---------------------------------------

/// The kernels of `ek_f32p_gemm`: AVX2 + FMA, or the build's own target.
enum { EK_F32P_PORTABLE = 0, EK_F32P_AVX2 = 1 };
/// Whether this CPU can run the panel kernel `path`.
int ek_f32p_path_supported(int path);
/// Panels of 16 columns.
long ek_f32p_panels(long n);
/// Floats of a packed `[k × n]` matrix (`[panel][k][16]`, the last panel zero-padded).
long ek_f32p_packed_count(long k, long n);
/// Packs B[k × n], element (i, j) at `source[i * row_stride + j * column_stride]`.
void ek_f32p_pack(const float *source, long k, long n, long row_stride, long column_stride, float *packed);
/// C[m × n] (rows `ldc` apart) = A (rows `lda` apart) · B + bias (may be NULL) for the panels
/// [panel_begin, panel_end) of the packed B, on the kernel `path` (one this CPU supports).
void ek_f32p_gemm(int path, long m, const float *a, long lda, const float *packed, long k, long n, const float *bias,
                  float *c, long ldc, long panel_begin, long panel_end);

// ---- float32 linear layers on AVX-512 (fp32gemm.c) -----------------------------------------

/// Whether this CPU has AVX-512F.
int ek_f32_avx512(void);
/// Tiles of 64 output columns.
long ek_f32_tiles(long n);
/// Floats of the packed weights of an `[n × k]` layer.
long ek_f32_packed_count(long k, long n);
/// Packs a linear layer's row-major `[n × k]` weight in tiles of 64 columns (`[tile][k][64]`).
void ek_f32_pack_weights(const float *w, long n, long k, float *packed);
/// C[m × n] (rows `ldc` apart) = A · W + bias (may be NULL) for the 64-column tiles
/// [tile_begin, tile_end); only where ek_f32_avx512().
void ek_f32_gemm(long m, const float *a, long lda, const float *packed, long k, long n, const float *bias, float *c, long ldc,
                 long tile_begin, long tile_end);

/// Hints the CPU to fetch the cache line holding `p` (a no-op where unsupported). Inlined into
/// Swift callers: the exact search prefetches the next candidate row while scoring the current one.
static inline void ek_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// Tells the CPU this thread is spin-waiting (`pause` on x86, `yield` on ARM): the wait costs
/// less power and leaves the core's shared resources to other work.
static inline void ek_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
