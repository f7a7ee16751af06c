#include "CKernels.h"

#if defined(__AVX2__)
#include <immintrin.h>

// 32 codes per step: vpsignb applies the query's signs to the codes, vpmaddubsw multiplies by
// |query| (unsigned) and adds pairs into 16 bits (|sum| ≤ 2·127² < 2^15), vpmaddwd widens to 32.
static inline int32_t dot_i8_avx2(const int8_t *a, const __m256i *qabs, const __m256i *qsgn, long blocks,
                                  const int8_t *tail_a, const int8_t *tail_q, long tail) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (long b = 0; b < blocks; b++) {
        const __m256i codes = _mm256_loadu_si256((const __m256i *)(a + 32 * b));
        const __m256i signed_codes = _mm256_sign_epi8(codes, qsgn[b]);
        const __m256i pairs = _mm256_maddubs_epi16(qabs[b], signed_codes);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    int32_t total = _mm_cvtsi128_si32(s);
    for (long j = 0; j < tail; j++) total += (int32_t)tail_a[j] * (int32_t)tail_q[j];
    return total;
}

static inline int32_t hsum_epi32(__m256i acc) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

void ek_dot_i8_rows(const int8_t *codes, long count, long dim, const int8_t *query, int32_t *out) {
    const long blocks = dim / 32, tail = dim % 32;
    // The query's absolute values and signs, once per scan (at most 4096 dimensions on the stack).
    __m256i qabs[128], qsgn[128];
    if (blocks > 128) {
        for (long i = 0; i < count; i++) {
            int32_t total = 0;
            for (long j = 0; j < dim; j++) total += (int32_t)codes[i * dim + j] * (int32_t)query[j];
            out[i] = total;
        }
        return;
    }
    for (long b = 0; b < blocks; b++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(query + 32 * b));
        qabs[b] = _mm256_abs_epi8(q);
        qsgn[b] = q;
    }
    const __m256i ones = _mm256_set1_epi16(1);
    long i = 0;
    // Four rows per step: each query block is loaded once for four rows (loads, not arithmetic,
    // limited the one-row loop), and four accumulators are independent.
    for (; i + 4 <= count; i += 4) {
        const int8_t *r0 = codes + i * dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
        // Prefetch two steps ahead (temporal hint: an agent queried again finds its codes in L3).
        for (long offset = 0; offset < 4 * dim; offset += 64) __builtin_prefetch(r0 + 8 * dim + offset, 0, 3);
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (long b = 0; b < blocks; b++) {
            const __m256i qa = qabs[b], qs = qsgn[b];
            const __m256i c0 = _mm256_loadu_si256((const __m256i *)(r0 + 32 * b));
            const __m256i c1 = _mm256_loadu_si256((const __m256i *)(r1 + 32 * b));
            const __m256i c2 = _mm256_loadu_si256((const __m256i *)(r2 + 32 * b));
            const __m256i c3 = _mm256_loadu_si256((const __m256i *)(r3 + 32 * b));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_maddubs_epi16(qa, _mm256_sign_epi8(c0, qs)), ones));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_maddubs_epi16(qa, _mm256_sign_epi8(c1, qs)), ones));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_maddubs_epi16(qa, _mm256_sign_epi8(c2, qs)), ones));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_maddubs_epi16(qa, _mm256_sign_epi8(c3, qs)), ones));
        }
        int32_t t0 = hsum_epi32(a0), t1 = hsum_epi32(a1), t2 = hsum_epi32(a2), t3 = hsum_epi32(a3);
        const int8_t *qt = query + 32 * blocks;
        for (long j = 0; j < tail; j++) {
            const int32_t q = qt[j];
            t0 += r0[32 * blocks + j] * q; t1 += r1[32 * blocks + j] * q;
            t2 += r2[32 * blocks + j] * q; t3 += r3[32 * blocks + j] * q;
        }
        out[i] = t0; out[i + 1] = t1; out[i + 2] = t2; out[i + 3] = t3;
    }
    for (; i < count; i++) {
        const int8_t *row = codes + i * dim;
        out[i] = dot_i8_avx2(row, qabs, qsgn, blocks, row + 32 * blocks, query + 32 * blocks, tail);
    }
}

#else

void ek_dot_i8_rows(const int8_t *codes, long count, long dim, const int8_t *query, int32_t *out) {
    for (long i = 0; i < count; i++) {
        const int8_t *row = codes + i * dim;
        int32_t total = 0;
        for (long j = 0; j < dim; j++) total += (int32_t)row[j] * (int32_t)query[j];
        out[i] = total;
    }
}

#endif

float ek_quantize_i8(const float *restrict x, long count, int8_t *restrict codes, double *residual_sq, double *code_norm_sq) {
    float max_abs = 0;
    for (long i = 0; i < count; i++) {
        const float a = x[i] < 0 ? -x[i] : x[i];
        max_abs = a > max_abs ? a : max_abs;
    }
    const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
    const float inverse = 1.0f / scale;
    double residual = 0, norm = 0;
    for (long i = 0; i < count; i++) {
        float q = __builtin_roundevenf(x[i] * inverse);
        q = q > 127.0f ? 127.0f : (q < -127.0f ? -127.0f : q);
        codes[i] = (int8_t)q;
        const double approx = (double)scale * (double)q;
        const double d = (double)x[i] - approx;
        residual += d * d;
        norm += approx * approx;
    }
    *residual_sq = residual;
    *code_norm_sq = norm;
    return scale;
}
