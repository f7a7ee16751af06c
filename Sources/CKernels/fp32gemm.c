// float32 linear layers on AVX-512: C[m × n] = A[m × k] · W[k × n] + bias, with W packed in tiles of
// 64 columns (`[tile][k][64]`). Six rows by 64 columns is 24 zmm accumulators; each k step loads
// four vectors of weights and broadcasts six activations for 24 FMAs — a quarter of the loads per
// multiply-add of a 6 × 16 kernel on 256-bit vectors, which left the FMA units waiting on loads.
// Used where the CPU has AVX-512F; the panel kernel of fp32panel.c serves the others.
#include "CKernels.h"
#include "row_dispatch.h"
#include <immintrin.h>
#include <string.h>

#define TILE 64

long ek_f32_tiles(long n) { return (n + TILE - 1) / TILE; }
long ek_f32_packed_count(long k, long n) { return ek_f32_tiles(n) * k * TILE; }

void ek_f32_pack_weights(const float *w, long n, long k, float *packed) {
    memset(packed, 0, (size_t)ek_f32_packed_count(k, n) * sizeof(float));
    for (long c = 0; c < n; c++) {
        float *tile = packed + (c / TILE) * k * TILE;
        for (long i = 0; i < k; i++) tile[i * TILE + (c % TILE)] = w[c * k + i];
    }
}

int ek_f32_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

#if defined(__x86_64__)
#define F32_TARGET __attribute__((target("avx512f")))

F32_TARGET static inline __attribute__((always_inline)) void
rows_avx512(const int R, long k, const float *a, long lda, const float *w, const float *bias, long first, long width,
            float *c, long ldc) {
    __m512 s[6][4];
    for (int j = 0; j < 4; j++) {
        // The bias of the tile's columns (zero past n and without a bias).
        float b[16];
        for (int t = 0; t < 16; t++) {
            const long col = 16 * j + t;
            b[t] = (bias && col < width) ? bias[first + col] : 0.0f;
        }
        const __m512 bv = _mm512_loadu_ps(b);
        for (int r = 0; r < R; r++) s[r][j] = bv;
    }
    for (long i = 0; i < k; i++) {
        const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
        const __m512 w2 = _mm512_loadu_ps(w + 32), w3 = _mm512_loadu_ps(w + 48);
        w += TILE;
        for (int r = 0; r < R; r++) {
            const __m512 x = _mm512_set1_ps(a[r * lda + i]);
            s[r][0] = _mm512_fmadd_ps(x, w0, s[r][0]);
            s[r][1] = _mm512_fmadd_ps(x, w1, s[r][1]);
            s[r][2] = _mm512_fmadd_ps(x, w2, s[r][2]);
            s[r][3] = _mm512_fmadd_ps(x, w3, s[r][3]);
        }
    }
    if (width == TILE) {
        for (int r = 0; r < R; r++)
            for (int j = 0; j < 4; j++) _mm512_storeu_ps(c + r * ldc + first + 16 * j, s[r][j]);
    } else {
        for (int r = 0; r < R; r++) {
            float out[TILE];
            for (int j = 0; j < 4; j++) _mm512_storeu_ps(out + 16 * j, s[r][j]);
            memcpy(c + r * ldc + first, out, (size_t)width * sizeof(float));
        }
    }
}

F32_TARGET static void block_avx512(int rows, long k, const float *a, long lda, const float *w, const float *bias, long first,
                                    long width, float *c, long ldc) {
    EK_FOR_ROWS(rows, rows_avx512, k, a, lda, w, bias, first, width, c, ldc)
}
#endif

void ek_f32_gemm(long m, const float *a, long lda, const float *packed, long k, long n, const float *bias, float *c, long ldc,
                 long tile_begin, long tile_end) {
#if defined(__x86_64__)
    // Rows in blocks of five or six (never a lone row: it would stream the tile for one row).
    const long blocks = (m + 5) / 6;
    for (long t = tile_begin; t < tile_end; t++) {
        const float *w = packed + t * k * TILE;
        const long first = t * TILE;
        const long width = n - first < TILE ? n - first : TILE;
        long row = 0;
        for (long b = 0; b < blocks; b++) {
            const long rows = (m - row) / (blocks - b) + ((m - row) % (blocks - b) ? 1 : 0);
            block_avx512((int)rows, k, a + row * lda, lda, w, bias, first, width, c + row * ldc, ldc);
            row += rows;
        }
    }
#else
    (void)m; (void)a; (void)lda; (void)packed; (void)k; (void)n; (void)bias; (void)c; (void)ldc; (void)tile_begin; (void)tile_end;
#endif
}
