#include "CKernels.h"
#include <math.h>

// The candidate scan: int8 dot products, score bounds and the running k-th largest lower bound in
// one pass, so that the rows are read once and nothing proportional to the row count is written
// but the (few) candidates.

// Min-heap of the k largest lower bounds seen: heap[0] is the k-th largest.
static void sift_down(float *heap, long k, long i) {
    for (;;) {
        long smallest = i, l = 2 * i + 1, r = l + 1;
        if (l < k && heap[l] < heap[smallest]) smallest = l;
        if (r < k && heap[r] < heap[smallest]) smallest = r;
        if (smallest == i) return;
        const float t = heap[i]; heap[i] = heap[smallest]; heap[smallest] = t;
        i = smallest;
    }
}

struct scan_state {
    const ek_row_bounds *rows;
    float query_scale, query_norm, query_residual, slack;
    long k, filled, found;
    float threshold; // the running k-th largest lower bound; −∞ until k rows are seen
    int32_t *candidates;
    float *uppers;
    float heap[4096];
};

// Adds a lower bound to the heap of the k largest (rare once the heap is full: out of line).
static __attribute__((noinline)) void push_lower(struct scan_state *s, float lower) {
    if (s->filled < s->k) {
        s->heap[s->filled++] = lower;
        if (s->filled == s->k) {
            for (long h = s->k / 2 - 1; h >= 0; h--) sift_down(s->heap, s->k, h);
            s->threshold = s->heap[0];
        }
    } else {
        s->heap[0] = lower;
        sift_down(s->heap, s->k, 0);
        s->threshold = s->heap[0];
    }
}

// Bounds of row `row`'s exact score from its int8 dot product; keeps the row if its upper bound
// reaches the running threshold. The threshold only rises, so a row dropped here stays below the
// final one.
static inline __attribute__((always_inline)) void consider(struct scan_state *s, long row, int32_t dot) {
    const ek_row_bounds b = s->rows[row];
    const float approx = b.scale * s->query_scale * (float)dot;
    const float r = b.residual_norm, n = b.code_norm;
    const float error = r * s->query_norm + n * s->query_residual + s->slack * (n + r);
    const float lower = approx - error, upper = approx + error;
    if (s->filled < s->k || lower > s->threshold) push_lower(s, lower);
    if (upper >= s->threshold) {
        s->candidates[s->found] = (int32_t)row;
        s->uppers[s->found] = upper;
        s->found++;
    }
}

static int32_t dot_i8_scalar(const int8_t *row, const int8_t *query, long dim) {
    int32_t total = 0;
    for (long j = 0; j < dim; j++) total += (int32_t)row[j] * (int32_t)query[j];
    return total;
}

static void scan_rows_portable(const int8_t *codes, long count, long dim, const int8_t *query, struct scan_state *s) {
    for (long i = 0; i < count; i++) consider(s, i, dot_i8_scalar(codes + i * dim, query, dim));
}

// The AVX2 path is compiled in every x86-64 build and chosen at run time: a build for the baseline
// CPU (`EPISODIC_PORTABLE=1`) ran the scalar loop, 5–7× slower.
#if defined(__x86_64__)
#include <immintrin.h>
#define SCAN_AVX2 __attribute__((target("avx2")))

SCAN_AVX2 static inline int32_t hsum_epi32(__m256i acc) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// Dot products of four rows with the query, 32 codes per step: vpsignb applies the query's signs
// to the codes, vpmaddubsw multiplies by |query| (unsigned) and adds pairs into 16 bits
// (|sum| ≤ 2·127² < 2^15), vpmaddwd widens to 32. Each query block is loaded once for four rows
// (loads, not arithmetic, limited a one-row loop) and the four accumulators are independent.
SCAN_AVX2 static inline __attribute__((always_inline)) void
dot4_avx2(const int8_t *r0, const int8_t *r1, const int8_t *r2, const int8_t *r3, const __m256i *qabs, const __m256i *qsgn,
          long blocks, const int8_t *query, long dim, int32_t out[4]) {
    const __m256i ones = _mm256_set1_epi16(1);
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
    out[0] = hsum_epi32(a0); out[1] = hsum_epi32(a1); out[2] = hsum_epi32(a2); out[3] = hsum_epi32(a3);
    for (long j = 32 * blocks; j < dim; j++) {
        const int32_t q = query[j];
        out[0] += r0[j] * q; out[1] += r1[j] * q; out[2] += r2[j] * q; out[3] += r3[j] * q;
    }
}

SCAN_AVX2 static void scan_rows_avx2(const int8_t *codes, long count, long dim, const int8_t *query, struct scan_state *s) {
    const long blocks = dim / 32;
    if (blocks > 128) { // the query's blocks live on the stack: at most 4096 dimensions
        for (long i = 0; i < count; i++) consider(s, i, dot_i8_scalar(codes + i * dim, query, dim));
        return;
    }
    __m256i qabs[128], qsgn[128];
    for (long b = 0; b < blocks; b++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(query + 32 * b));
        qabs[b] = _mm256_abs_epi8(q);
        qsgn[b] = q;
    }
    // One row from each quarter per step: four sequential streams keep more DRAM requests in
    // flight than one (one core here reads 18 GB/s from one stream, 29 GB/s from four).
    const long quarter = count / 4;
    int32_t dots[4];
    for (long i = 0; i < quarter; i++) {
        const int8_t *r0 = codes + i * dim, *r1 = r0 + quarter * dim, *r2 = r1 + quarter * dim, *r3 = r2 + quarter * dim;
        dot4_avx2(r0, r1, r2, r3, qabs, qsgn, blocks, query, dim, dots);
        consider(s, i, dots[0]);
        consider(s, i + quarter, dots[1]);
        consider(s, i + 2 * quarter, dots[2]);
        consider(s, i + 3 * quarter, dots[3]);
    }
    for (long i = 4 * quarter; i < count; i++) consider(s, i, dot_i8_scalar(codes + i * dim, query, dim));
}

#endif

long ek_scan_candidates(int path, const int8_t *codes, long count, long dim, const int8_t *query,
                        const ek_row_bounds *rows, float query_scale, float query_norm, float query_residual, float slack,
                        long k, int32_t *candidates, float *uppers) {
    if (k < 1 || k > 4096 || k > count) return -1;
    struct scan_state s = {
        .rows = rows,
        .query_scale = query_scale, .query_norm = query_norm, .query_residual = query_residual, .slack = slack,
        .k = k, .filled = 0, .found = 0, .threshold = -INFINITY, .candidates = candidates, .uppers = uppers,
    };
#if defined(__x86_64__)
    if (path == EK_VEC_AVX2) scan_rows_avx2(codes, count, dim, query, &s);
    else scan_rows_portable(codes, count, dim, query, &s);
#else
    (void)path;
    scan_rows_portable(codes, count, dim, query, &s);
#endif
    // Rows kept before the threshold reached its final value may now fall below it.
    const float threshold = s.heap[0];
    long kept = 0;
    for (long i = 0; i < s.found; i++) {
        if (uppers[i] >= threshold) { candidates[kept] = candidates[i]; uppers[kept] = uppers[i]; kept++; }
    }
    return kept;
}
