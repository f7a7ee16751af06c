#include "CKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

// e^x: x = n·ln2 + r, |r| ≤ ln2/2, n rounded by adding 1.5·2^23; Taylor series of e^r to degree 7
// (< 5e-9 on the reduced range); 2^n assembled in the exponent bits. Branch-free so that loops
// calling it vectorize.
static inline float exp_approx(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    const float shifted = fmaf(x, 1.44269504f, 12582912.0f);
    const float n = shifted - 12582912.0f;
    float r = fmaf(n, -0.693145751953125f, x);
    r = fmaf(n, -1.428606765330187e-6f, r);
    float p = 1.0f / 5040;
    p = fmaf(p, r, 1.0f / 720);
    p = fmaf(p, r, 1.0f / 120);
    p = fmaf(p, r, 1.0f / 24);
    p = fmaf(p, r, 1.0f / 6);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    const int32_t exponent = (int32_t)((uint32_t)(bits - 0x4B400000 + 127) << 23);
    float scale;
    memcpy(&scale, &exponent, sizeof scale);
    return p * scale;
}

// erf(x), Abramowitz & Stegun 7.1.26 (1.5e-7 in exact arithmetic); erf is odd.
static inline float erf_approx(float x) {
    const float a = fabsf(x);
    const float t = 1.0f / fmaf(0.3275911f, a, 1.0f);
    float p = 1.061405429f;
    p = fmaf(p, t, -1.453152027f);
    p = fmaf(p, t, 1.421413741f);
    p = fmaf(p, t, -0.284496736f);
    p = fmaf(p, t, 0.254829592f);
    const float y = 1.0f - p * t * exp_approx(-a * a);
    return copysignf(y, x);
}

void ek_gelu(float *restrict x, long count) {
    for (long i = 0; i < count; i++) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + erf_approx(v * 0.70710678118654752f));
    }
}

void ek_softmax_rows(float *restrict s, long rows, long cols, long ld, float scale, const float *restrict bias) {
    for (long r = 0; r < rows; r++) {
        float *restrict row = s + r * ld;
        if (bias) {
            const float *restrict b = bias + r * cols;
            for (long c = 0; c < cols; c++) row[c] = fmaf(row[c], scale, b[c]);
        } else {
            for (long c = 0; c < cols; c++) row[c] *= scale;
        }
        float m = -INFINITY;
        for (long c = 0; c < cols; c++) m = row[c] > m ? row[c] : m;
        float sum = 0;
        for (long c = 0; c < cols; c++) {
            const float e = exp_approx(row[c] - m);
            row[c] = e;
            sum += e;
        }
        const float inv = 1.0f / sum;
        for (long c = 0; c < cols; c++) row[c] *= inv;
    }
}

void ek_exp(const float *restrict x, float *restrict y, long count) {
    for (long i = 0; i < count; i++) y[i] = exp_approx(x[i]);
}

void ek_erf(const float *restrict x, float *restrict y, long count) {
    for (long i = 0; i < count; i++) y[i] = erf_approx(x[i]);
}
