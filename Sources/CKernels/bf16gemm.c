// bf16 linear layers: C[m × n] = A[m × k] · W[k × n] + bias with A and W rounded to bfloat16
// (8 bits of mantissa, float32's range) and products summed in float32.
//
// Half the bytes of float32 weights, and on CPUs with AVX512_BF16 `vdpbf16ps` does 32
// multiply-adds an instruction (twice float32's FMA). On AVX2 + FMA the weights are widened to
// float32 (a shift or a mask per eight pairs) chunk by chunk into L1: float32's multiply-adds on
// half its weight traffic. Elsewhere a portable path converts back to float32. All give the same
// values up to the order of the float32 sums.
#include "CKernels.h"
#include "row_dispatch.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define TILE 64

long ek_bf16_padded_k(long k) { return (k + 1) / 2 * 2; }
long ek_bf16_tiles(long n) { return (n + TILE - 1) / TILE; }
long ek_bf16_packed_count(long k, long n) { return ek_bf16_tiles(n) * ek_bf16_padded_k(k) * TILE; }

/// float32 → bfloat16, rounding to nearest even (NaN stays NaN). Branch-free, so that loops over
/// it vectorize.
static inline uint16_t to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    const uint32_t rounded = (bits + 0x7fff + ((bits >> 16) & 1)) >> 16;
    const uint32_t quiet = (bits >> 16) | 0x40;
    return (uint16_t)((bits & 0x7fffffff) > 0x7f800000 ? quiet : rounded);
}

static inline float from_bf16(uint16_t h) {
    const uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void ek_bf16_pack_weights(const float *w, long n, long k, uint16_t *packed) {
    const long k2 = ek_bf16_padded_k(k) / 2;
    memset(packed, 0, (size_t)ek_bf16_packed_count(k, n) * sizeof(uint16_t));
    for (long c = 0; c < n; c++) {
        uint16_t *tile = packed + (c / TILE) * k2 * TILE * 2;
        for (long i = 0; i < k; i++) tile[(i / 2) * TILE * 2 + (c % TILE) * 2 + (i % 2)] = to_bf16(w[c * k + i]);
    }
}

void ek_bf16_convert_rows(const float *x, long rows, long k, long ldx, uint16_t *out, long ldo) {
    for (long r = 0; r < rows; r++) {
        for (long i = 0; i < k; i++) out[r * ldo + i] = to_bf16(x[r * ldx + i]);
        for (long i = k; i < ek_bf16_padded_k(k); i++) out[r * ldo + i] = 0;
    }
}

static void sums_portable(int rows, long k2, const uint16_t *a, long lda, const uint16_t *w, float *acc) {
    for (int r = 0; r < rows; r++) {
        float s[TILE] = {0};
        const uint16_t *x = a + r * lda;
        for (long step = 0; step < k2; step++) {
            const uint16_t *b = w + step * TILE * 2;
            const float x0 = from_bf16(x[2 * step]), x1 = from_bf16(x[2 * step + 1]);
            for (int c = 0; c < TILE; c++) s[c] += x0 * from_bf16(b[2 * c]) + x1 * from_bf16(b[2 * c + 1]);
        }
        memcpy(acc + r * TILE, s, sizeof s);
    }
}

#if defined(__x86_64__)
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

BF16_TARGET static inline __attribute__((always_inline)) void
bf16_rows(const int R, long k2, const uint16_t *a, long lda, const uint16_t *w, float *acc) {
    __m512 s[6][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) s[r][j] = _mm512_setzero_ps();
    for (long step = 0; step < k2; step++) {
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(w), w1 = (__m512bh)_mm512_loadu_si512(w + 32);
        const __m512bh w2 = (__m512bh)_mm512_loadu_si512(w + 64), w3 = (__m512bh)_mm512_loadu_si512(w + 96);
        w += 128;
        for (int r = 0; r < R; r++) {
            int32_t pair;
            memcpy(&pair, a + r * lda + 2 * step, 4);
            const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
            s[r][0] = _mm512_dpbf16_ps(s[r][0], x, w0);
            s[r][1] = _mm512_dpbf16_ps(s[r][1], x, w1);
            s[r][2] = _mm512_dpbf16_ps(s[r][2], x, w2);
            s[r][3] = _mm512_dpbf16_ps(s[r][3], x, w3);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) _mm512_storeu_ps(acc + r * TILE + 16 * j, s[r][j]);
}

BF16_TARGET static void sums_avx512(int rows, long k2, const uint16_t *a, long lda, const uint16_t *w, float *acc) {
    EK_FOR_ROWS(rows, bf16_rows, k2, a, lda, w, acc)
}

#define BF16_AVX2_TARGET __attribute__((target("avx2,fma")))
#define DIRECT_ROWS 2 // up to this many rows the weights are widened in registers, not in L1
#define BLOCK_ROWS 48 // rows multiplied by one widened chunk: their sums (12 KB) stay in L1
#define KC 128 // k values of a tile widened at a time: 4 panels × 128 × 16 floats = 32 KB, L1's size

/// Widens k values [2·p0, 2·p0 + 2·pairs) of one packed tile into four k-major panels of 16
/// float32 columns (`KC` × 16 each): each vector of eight weight pairs gives the even k's by a
/// shift and the odd k's by a mask.
BF16_AVX2_TARGET static void widen_avx2(const uint16_t *tile, long p0, long pairs, float *wide) {
    const __m256i high = _mm256_set1_epi32((int)0xffff0000u);
    for (long p = 0; p < pairs; p++) {
        const uint16_t *b = tile + (p0 + p) * TILE * 2;
        for (int g = 0; g < 8; g++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(b + 16 * g));
            float *out = wide + (g / 2) * KC * 16 + 2 * p * 16 + (g % 2) * 8;
            _mm256_storeu_ps(out, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
            _mm256_storeu_ps(out + 16, _mm256_castsi256_ps(_mm256_and_si256(v, high)));
        }
    }
}

/// R ≤ 6 rows × 16 columns over `kc` k's of one widened panel, accumulating into `acc` (rows
/// `TILE` apart; zero first when `first`): twelve accumulators, two weight vectors and a broadcast
/// fill fifteen of AVX2's sixteen registers.
BF16_AVX2_TARGET static inline __attribute__((always_inline)) void
panel_rows_avx2(const int R, long kc, const float *x, long ldx, const float *panel, float *acc, int first) {
    __m256 s[6][2];
    for (int r = 0; r < R; r++) {
        s[r][0] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(acc + r * TILE);
        s[r][1] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(acc + r * TILE + 8);
    }
    for (long i = 0; i < kc; i++) {
        const __m256 w0 = _mm256_loadu_ps(panel + 16 * i), w1 = _mm256_loadu_ps(panel + 16 * i + 8);
        for (int r = 0; r < R; r++) {
            const __m256 b = _mm256_broadcast_ss(x + r * ldx + i);
            s[r][0] = _mm256_fmadd_ps(b, w0, s[r][0]);
            s[r][1] = _mm256_fmadd_ps(b, w1, s[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm256_storeu_ps(acc + r * TILE, s[r][0]);
        _mm256_storeu_ps(acc + r * TILE + 8, s[r][1]);
    }
}

BF16_AVX2_TARGET static void panel_block_avx2(int R, long kc, const float *x, long ldx, const float *panel, float *acc,
                                              int first) {
    EK_FOR_ROWS(R, panel_rows_avx2, kc, x, ldx, panel, acc, first)
}

/// Few rows (a pass of one or two tokens streams the weights for almost no arithmetic): half a
/// tile (32 columns, four vectors) for R ≤ 2 rows straight from the packed pairs, widened in
/// registers — nothing stored, the weights read once.
BF16_AVX2_TARGET static inline __attribute__((always_inline)) void
direct_rows_avx2(const int R, long k2, const float *x, long ldx, const uint16_t *w, float *acc) {
    const __m256i high = _mm256_set1_epi32((int)0xffff0000u);
    __m256 s[2][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) s[r][j] = _mm256_setzero_ps();
    for (long step = 0; step < k2; step++, w += TILE * 2) {
        for (int j = 0; j < 4; j++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(w + 16 * j));
            const __m256 even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
            const __m256 odd = _mm256_castsi256_ps(_mm256_and_si256(v, high));
            for (int r = 0; r < R; r++) {
                s[r][j] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + r * ldx + 2 * step), even, s[r][j]);
                s[r][j] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + r * ldx + 2 * step + 1), odd, s[r][j]);
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) _mm256_storeu_ps(acc + r * TILE + 8 * j, s[r][j]);
}

/// Tiles [tile_begin, tile_end) on AVX2 + FMA: each tile's weights widened a chunk of `KC` k's at
/// a time into L1 and multiplied there by up to `BLOCK_ROWS` rows (each six rows' chunk of
/// activations widened beside them) — float32's register blocking and multiply-adds on half
/// float32's weight bytes; sums stay in `sums` (BLOCK_ROWS × 64, L1) until the tile's last chunk.
/// Up to `DIRECT_ROWS` rows the weights are widened in registers instead. Both ways add the same
/// products in the same order (k ascending, one float32 sum per element): the same values.
/// `scratch`: `avx2_scratch_floats(k2)` floats.
BF16_AVX2_TARGET static void gemm_avx2(long m, const uint16_t *a, long lda, const uint16_t *packed, long k2, long n,
                                       const float *bias, float *c, long ldc, long tile_begin, long tile_end,
                                       float *scratch) {
    float *wide = scratch, *sums = wide + 4 * KC * 16, *x = sums + BLOCK_ROWS * TILE;
    const long ldx = 2 * k2;
    if (m <= DIRECT_ROWS)
        for (long r = 0; r < m; r++)
            for (long i = 0; i < ldx; i++) x[r * ldx + i] = from_bf16(a[r * lda + i]);
    for (long t = tile_begin; t < tile_end; t++) {
        const uint16_t *tile = packed + t * k2 * TILE * 2;
        const long first = t * TILE;
        const long width = n - first < TILE ? n - first : TILE;
        for (long r0 = 0; r0 < m; r0 += BLOCK_ROWS) {
            const long rows = m - r0 < BLOCK_ROWS ? m - r0 : BLOCK_ROWS;
            if (m <= DIRECT_ROWS) {
                for (int half = 0; half < 2; half++) {
                    if (rows == 2) direct_rows_avx2(2, k2, x, ldx, tile + 64 * half, sums + 32 * half);
                    else direct_rows_avx2(1, k2, x, ldx, tile + 64 * half, sums + 32 * half);
                }
            }
            for (long p0 = 0; m > DIRECT_ROWS && p0 < k2; p0 += KC / 2) {
                const long pairs = k2 - p0 < KC / 2 ? k2 - p0 : KC / 2;
                widen_avx2(tile, p0, pairs, wide);
                for (long r = 0; r < rows; r += 6) {
                    const int R = rows - r < 6 ? (int)(rows - r) : 6;
                    for (int i = 0; i < R; i++)
                        for (long j = 0; j < 2 * pairs; j++) x[i * KC + j] = from_bf16(a[(r0 + r + i) * lda + 2 * p0 + j]);
                    for (int panel = 0; panel < 4; panel++)
                        panel_block_avx2(R, 2 * pairs, x, KC, wide + panel * KC * 16, sums + r * TILE + 16 * panel, p0 == 0);
                }
            }
            for (long r = 0; r < rows; r++) {
                float *out = c + (r0 + r) * ldc + first;
                const float *sum = sums + r * TILE;
                for (long j = 0; j < width; j++) out[j] = bias ? sum[j] + bias[first + j] : sum[j];
            }
        }
    }
}

static long avx2_scratch_floats(long k2) {
    const long activations = 6 * KC > DIRECT_ROWS * 2 * k2 ? 6 * KC : DIRECT_ROWS * 2 * k2;
    return 4 * KC * 16 + BLOCK_ROWS * TILE + activations;
}
#endif

int ek_bf16_path_supported(int path) {
    switch (path) {
    case EK_BF16_PORTABLE: return 1;
#if defined(__x86_64__)
    case EK_BF16_AVX2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case EK_BF16_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16");
#endif
    default: return 0;
    }
}

void ek_bf16_gemm(int path, long m, const uint16_t *a, long lda, const uint16_t *packed, long k, long n,
                  const float *bias, float *c, long ldc, long tile_begin, long tile_end) {
    const long k2 = ek_bf16_padded_k(k) / 2;
#if defined(__x86_64__)
    if (path == EK_BF16_AVX2) {
        float *scratch = malloc((size_t)avx2_scratch_floats(k2) * sizeof(float));
        if (scratch) {
            gemm_avx2(m, a, lda, packed, k2, n, bias, c, ldc, tile_begin, tile_end, scratch);
            free(scratch);
            return;
        }
        path = EK_BF16_PORTABLE; // out of memory: the same values, slower
    }
#endif
    float acc[6 * TILE];
    for (long t = tile_begin; t < tile_end; t++) {
        const uint16_t *w = packed + t * k2 * TILE * 2;
        const long first = t * TILE;
        const long width = n - first < TILE ? n - first : TILE;
        // Rows in blocks of five or six (never a lone row: it would stream the tile for one row).
        const long blocks = (m + 5) / 6;
        long r = 0;
        for (long b = 0; b < blocks; b++) {
            const int rows = (int)((m - r) / (blocks - b) + ((m - r) % (blocks - b) ? 1 : 0));
#if defined(__x86_64__)
            if (path == EK_BF16_AVX512) sums_avx512(rows, k2, a + r * lda, lda, w, acc);
            else
#endif
                sums_portable(rows, k2, a + r * lda, lda, w, acc);
            for (int i = 0; i < rows; i++) {
                float *out = c + (r + i) * ldc + first;
                const float *s = acc + i * TILE;
                for (long j = 0; j < width; j++) out[j] = bias ? s[j] + bias[first + j] : s[j];
            }
            r += rows;
        }
    }
}
