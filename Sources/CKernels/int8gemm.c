// int8 linear layers: C[m × n] = dequant(A_u8[m × k] · W_s8[k × n]) + bias.
//
// Weights are quantized per output channel (symmetric int8), activations per row (asymmetric u8
// with a zero point), and the products accumulate exactly in int32; each element is dequantized
// as a_scale[r] · w_scale[c] · (Σ a·w − a_zero[r] · Σ w) + bias[c]. Every path computes the same
// int32 sums, so results are bit-identical whichever one the CPU runs.
//
// Paths, chosen at run time (ek_i8_best_path): AVX-512 VNNI (vpdpbusd: 64 multiply-adds an
// instruction), AVX2 (vpmaddwd on operands widened to 16 bits — exact; vpmaddubsw would saturate
// at 255 · 127 · 2 > 32767), and portable C.
#include "CKernels.h"
#include "round_even.h"
#include "row_dispatch.h"
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TILE 64

long ek_i8_padded_k(long k) { return (k + 3) / 4 * 4; }
long ek_i8_tiles(long n) { return (n + TILE - 1) / TILE; }
long ek_i8_packed_bytes(long k, long n) { return ek_i8_tiles(n) * ek_i8_padded_k(k) * TILE; }

void ek_i8_pack_weights(const float *w, long n, long k, int8_t *packed, float *scales, int32_t *colsums) {
    const long k4 = ek_i8_padded_k(k) / 4, tiles = ek_i8_tiles(n);
    memset(packed, 0, (size_t)ek_i8_packed_bytes(k, n));
    for (long c = 0; c < tiles * TILE; c++) {
        scales[c] = 0;
        colsums[c] = 0;
        if (c >= n) continue;
        const float *row = w + c * k;
        float max_abs = 0;
        for (long i = 0; i < k; i++) max_abs = fmaxf(max_abs, fabsf(row[i]));
        const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
        const float inverse = 1.0f / scale;
        int8_t *tile = packed + (c / TILE) * k4 * TILE * 4;
        int32_t sum = 0;
        for (long i = 0; i < k; i++) {
            float q = ek_round_even(row[i] * inverse);
            q = q > 127.0f ? 127.0f : (q < -127.0f ? -127.0f : q);
            tile[(i / 4) * TILE * 4 + (c % TILE) * 4 + (i % 4)] = (int8_t)q;
            sum += (int32_t)q;
        }
        scales[c] = scale;
        colsums[c] = sum;
    }
}

void ek_i8_quantize_rows(const float *x, long rows, long k, long ldx, uint8_t *q, long ldq, float *scales, int32_t *zeros) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * ldx;
        // The range always holds 0, so that 0 is exact (padding, ReLU-like zeros). Eight running
        // minima and maxima, combined at the end: clang does not vectorize a single float min/max
        // reduction without -ffinite-math-only, and a scalar scan was ~4 % of an int8 pass. Compares
        // rather than fminf/fmaxf skip NaN alike in every lane, so the range is the scalar scan's.
        float lo8[8] = {0}, hi8[8] = {0};
        long i = 0;
        for (; i + 8 <= k; i += 8)
            for (int j = 0; j < 8; j++) {
                lo8[j] = row[i + j] < lo8[j] ? row[i + j] : lo8[j];
                hi8[j] = row[i + j] > hi8[j] ? row[i + j] : hi8[j];
            }
        for (; i < k; i++) {
            lo8[0] = row[i] < lo8[0] ? row[i] : lo8[0];
            hi8[0] = row[i] > hi8[0] ? row[i] : hi8[0];
        }
        float lo = 0, hi = 0;
        for (int j = 0; j < 8; j++) {
            lo = lo8[j] < lo ? lo8[j] : lo;
            hi = hi8[j] > hi ? hi8[j] : hi;
        }
        const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
        const float inverse = 1.0f / scale;
        float zero = ek_round_even(-lo * inverse);
        zero = zero < 0 ? 0 : (zero > 255 ? 255 : zero);
        uint8_t *out = q + r * ldq;
        for (i = 0; i < k; i++) {
            float v = ek_round_even(row[i] * inverse) + zero;
            v = v < 0 ? 0 : (v > 255 ? 255 : v);
            out[i] = (uint8_t)(int32_t)v;
        }
        for (i = k; i < ek_i8_padded_k(k); i++) out[i] = (uint8_t)zero;
        scales[r] = scale;
        zeros[r] = (int32_t)zero;
    }
}

// ---- int32 sums of up to 6 rows against one tile of 64 columns, into acc[rows × 64] ----------

static void sums_portable(int rows, long k4, const uint8_t *a, long lda, const int8_t *w, int32_t *acc) {
    for (int r = 0; r < rows; r++) {
        int32_t s[TILE] = {0};
        const uint8_t *x = a + r * lda;
        for (long step = 0; step < k4; step++) {
            const int8_t *b = w + step * TILE * 4;
            const int32_t x0 = x[4 * step], x1 = x[4 * step + 1], x2 = x[4 * step + 2], x3 = x[4 * step + 3];
            for (int c = 0; c < TILE; c++) s[c] += x0 * b[4 * c] + x1 * b[4 * c + 1] + x2 * b[4 * c + 2] + x3 * b[4 * c + 3];
        }
        memcpy(acc + r * TILE, s, sizeof s);
    }
}

#if defined(__x86_64__)
#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define AVX2_TARGET __attribute__((target("avx2")))

VNNI_TARGET static inline __attribute__((always_inline)) void
vnni_rows(const int R, long k4, const uint8_t *a, long lda, const int8_t *w, int32_t *acc) {
    __m512i s[6][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) s[r][j] = _mm512_setzero_si512();
    for (long step = 0; step < k4; step++) {
        const __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        const __m512i w2 = _mm512_loadu_si512(w + 128), w3 = _mm512_loadu_si512(w + 192);
        w += 256;
        for (int r = 0; r < R; r++) {
            int32_t four;
            memcpy(&four, a + r * lda + 4 * step, 4);
            const __m512i x = _mm512_set1_epi32(four);
            s[r][0] = _mm512_dpbusd_epi32(s[r][0], x, w0);
            s[r][1] = _mm512_dpbusd_epi32(s[r][1], x, w1);
            s[r][2] = _mm512_dpbusd_epi32(s[r][2], x, w2);
            s[r][3] = _mm512_dpbusd_epi32(s[r][3], x, w3);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 4; j++) _mm512_storeu_si512(acc + r * TILE + 16 * j, s[r][j]);
}

VNNI_TARGET static void sums_vnni(int rows, long k4, const uint8_t *a, long lda, const int8_t *w, int32_t *acc) {
    EK_FOR_ROWS(rows, vnni_rows, k4, a, lda, w, acc)
}

// Eight columns of a tile for R ≤ 6 rows: each 16 bytes of weights (4 columns × 4 k) widened to
// 16 bits once for all rows, multiplied with vpmaddwd by a row's 4 activations (already 16-bit,
// one broadcast load); each column keeps two partial sums (k0+k1, k2+k3) in adjacent lanes, added
// at the end. Twelve accumulators, two weight vectors and a broadcast fill 15 of 16 registers.
AVX2_TARGET static inline __attribute__((always_inline)) void
avx2_columns(const int R, long k4, const int16_t *x, long ldx, const int8_t *w, int32_t *acc) {
    __m256i s[6][2];
    for (int r = 0; r < R; r++) s[r][0] = s[r][1] = _mm256_setzero_si256();
    for (long step = 0; step < k4; step++) {
        const int8_t *b = w + step * TILE * 4;
        const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b));
        const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + 16)));
        for (int r = 0; r < R; r++) {
            long long four;
            memcpy(&four, x + r * ldx + 4 * step, 8);
            const __m256i xv = _mm256_set1_epi64x(four);
            s[r][0] = _mm256_add_epi32(s[r][0], _mm256_madd_epi16(xv, b0));
            s[r][1] = _mm256_add_epi32(s[r][1], _mm256_madd_epi16(xv, b1));
        }
    }
    for (int r = 0; r < R; r++) {
        int32_t lanes[16];
        _mm256_storeu_si256((__m256i *)lanes, s[r][0]);
        _mm256_storeu_si256((__m256i *)(lanes + 8), s[r][1]);
        for (int c = 0; c < 8; c++) acc[r * TILE + c] = lanes[2 * c] + lanes[2 * c + 1];
    }
}

/// `x16`: room for 6 rows of 4·k4 16-bit activations, widened here once per block of rows.
AVX2_TARGET static void sums_avx2(int rows, long k4, const uint8_t *a, long lda, const int8_t *w, int32_t *acc,
                                  int16_t *x16) {
    const long ldx = 4 * k4;
    for (int r = 0; r < rows; r++)
        for (long i = 0; i < ldx; i++) x16[r * ldx + i] = a[r * lda + i];
    for (int g = 0; g < TILE / 8; g++) {
        const int8_t *b = w + 8 * 4 * g;
        int32_t *out = acc + 8 * g;
        EK_FOR_ROWS(rows, avx2_columns, k4, x16, ldx, b, out)
    }
}
#endif

int ek_i8_best_path(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni"))
        return EK_I8_VNNI;
    if (__builtin_cpu_supports("avx2")) return EK_I8_AVX2;
#endif
    return EK_I8_PORTABLE;
}

int ek_i8_path_supported(int path) {
    switch (path) {
    case EK_I8_PORTABLE: return 1;
#if defined(__x86_64__)
    case EK_I8_AVX2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2");
    case EK_I8_VNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
#endif
    default: return 0;
    }
}

void ek_i8_gemm(int path, long m, const uint8_t *a, long lda, const float *a_scales, const int32_t *a_zeros,
                const int8_t *packed, long k, long n, const float *w_scales, const int32_t *colsums, const float *bias,
                float *c, long ldc, long tile_begin, long tile_end) {
    const long k4 = ek_i8_padded_k(k) / 4;
    int32_t acc[6 * TILE];
    int16_t *x16 = path == EK_I8_AVX2 ? malloc((size_t)(6 * 4 * k4) * sizeof(int16_t)) : NULL;
    if (path == EK_I8_AVX2 && !x16) path = EK_I8_PORTABLE; // out of memory: the same sums, slower
    for (long t = tile_begin; t < tile_end; t++) {
        const int8_t *w = packed + t * k4 * TILE * 4;
        const long first = t * TILE;
        const long width = n - first < TILE ? n - first : TILE;
        for (long r = 0; r < m; r += 6) {
            const int rows = m - r < 6 ? (int)(m - r) : 6;
            switch (path) {
#if defined(__x86_64__)
            case EK_I8_VNNI: sums_vnni(rows, k4, a + r * lda, lda, w, acc); break;
            case EK_I8_AVX2: sums_avx2(rows, k4, a + r * lda, lda, w, acc, x16); break;
#endif
            default: sums_portable(rows, k4, a + r * lda, lda, w, acc); break;
            }
            for (int i = 0; i < rows; i++) {
                const float sa = a_scales[r + i];
                const int32_t za = a_zeros[r + i];
                const int32_t *s = acc + i * TILE;
                float *out = c + (r + i) * ldc + first;
                for (long j = 0; j < width; j++) {
                    const float y = sa * w_scales[first + j] * (float)(s[j] - za * colsums[first + j]);
                    out[j] = bias ? y + bias[first + j] : y;
                }
            }
        }
    }
    free(x16);
}
