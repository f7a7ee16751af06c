#include "CKernels.h"

// Min-heap of the k largest values seen: heap[0] is the k-th largest.
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

float ek_score_bounds(const int32_t *restrict dots, long count, const float *restrict scale,
                      const float *restrict residual, const float *restrict code_norm, float query_scale,
                      float query_norm, float query_residual, float slack, long k, float *restrict upper) {
    float heap[4096];
    long filled = 0;
    // Blocks of 64 rows: bounds computed vectorized into a small buffer, then folded into the heap
    // (after warm-up almost every lower bound is below the heap's minimum: one compare each).
    float lower[64];
    for (long start = 0; start < count; start += 64) {
        const long n = count - start < 64 ? count - start : 64;
        for (long j = 0; j < n; j++) {
            const long i = start + j;
            const float approx = scale[i] * query_scale * (float)dots[i];
            const float error = residual[i] * query_norm + code_norm[i] * query_residual
                + slack * (code_norm[i] + residual[i]);
            upper[i] = approx + error;
            lower[j] = approx - error;
        }
        for (long j = 0; j < n; j++) {
            if (filled < k) {
                heap[filled++] = lower[j];
                if (filled == k) for (long h = k / 2 - 1; h >= 0; h--) sift_down(heap, k, h);
            } else if (lower[j] > heap[0]) {
                heap[0] = lower[j];
                sift_down(heap, k, 0);
            }
        }
    }
    if (filled < k) { // fewer rows than k: the smallest lower bound
        float m = heap[0];
        for (long j = 1; j < filled; j++) m = heap[j] < m ? heap[j] : m;
        return m;
    }
    return heap[0];
}
