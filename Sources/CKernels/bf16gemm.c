// bf16 linear layers: C[m × n] = A[m × k] · W[k × n] + bias with A and W rounded to bfloat16
// (8 bits of mantissa, float32's range) and products summed in float32.
//
// Half the bytes of float32 weights, and on CPUs with AVX512_BF16 `vdpbf16ps` does 32
// multiply-adds an instruction (twice float32's FMA). Elsewhere a portable path converts back to
// float32 and gives the same values up to the order of the float32 sums.
#include "CKernels.h"
#include <immintrin.h>
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
    switch (rows) {
    case 6: bf16_rows(6, k2, a, lda, w, acc); break;
    case 5: bf16_rows(5, k2, a, lda, w, acc); break;
    case 4: bf16_rows(4, k2, a, lda, w, acc); break;
    case 3: bf16_rows(3, k2, a, lda, w, acc); break;
    case 2: bf16_rows(2, k2, a, lda, w, acc); break;
    default: bf16_rows(1, k2, a, lda, w, acc); break;
    }
}
#endif

int ek_bf16_hardware(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

void ek_bf16_gemm(int hardware, long m, const uint16_t *a, long lda, const uint16_t *packed, long k, long n,
                  const float *bias, float *c, long ldc, long tile_begin, long tile_end) {
    const long k2 = ek_bf16_padded_k(k) / 2;
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
            if (hardware) sums_avx512(rows, k2, a + r * lda, lda, w, acc);
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
