#include "CKernels.h"
#include "round_even.h"

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
        float q = ek_round_even(x[i] * inverse);
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

float ek_round_even_baseline(float x) {
#if defined(__x86_64__)
    return ek_round_even_sse2(x);
#else
    return ek_round_even(x);
#endif
}
