// Rounding to the nearest integer, ties to even, without a library call.
//
// x86-64's baseline (SSE2) has no rounding instruction, so in a build for it (`EPISODIC_PORTABLE=1`)
// `rintf` / `roundevenf` were a libm call per element — every activation of an int8 layer, every
// code of a quantized search vector. SSE2's float-to-int conversion rounds to nearest even (the
// default rounding mode) and is exact for |x| < 2^31; floats of magnitude 2^23 and more are integers
// already. Builds with SSE4.1 (a host build) or on other CPUs keep the compiler's own instruction.
#ifndef EK_ROUND_EVEN_H
#define EK_ROUND_EVEN_H

#if defined(__x86_64__)
#include <emmintrin.h>
static inline __attribute__((always_inline)) float ek_round_even_sse2(float x) {
    const float a = x < 0 ? -x : x;
    return a < 8388608.0f ? (float)_mm_cvtss_si32(_mm_set_ss(x)) : x;
}
#endif

#if defined(__x86_64__) && !defined(__SSE4_1__)
static inline __attribute__((always_inline)) float ek_round_even(float x) { return ek_round_even_sse2(x); }
#else
static inline __attribute__((always_inline)) float ek_round_even(float x) { return __builtin_roundevenf(x); }
#endif

#endif
