// float32 products on 16-column panels: C[m × n] = A[m × k] · B[k × n] + bias, with B packed in
// panels of 16 columns, each k-major (`[panel][k][16]`, the last panel zero-padded) — the layout of
// PackedGemm (linear layers on CPUs without AVX-512, and the attention products everywhere).
//
// Blocked as BLIS blocks it: k in chunks of KC, so that a chunk of a panel (16 KB) stays in L1
// while every block of up to six rows multiplies it. The rows of a single text stay in L2 and each
// panel's chunks are visited in order (the weights stream contiguously); more rows go MC at a time,
// every panel visited per chunk, the rows' chunk staying in L2. The chunk visited two steps later
// is prefetched a line per k step, its lines shared among the blocks (without a prefetch, 10-row
// products ran ~15 % slower). A is read in
// place: copying it into blocks (as BLIS packs it) cost more than it saved once the threads split
// a product into pieces — each piece copied all of A, 16 % of a loaded server's time.
//
// One body, written with the compiler's generic vectors, compiled twice: for AVX2 + FMA (chosen at
// run time, also in a build for the baseline CPU) and for the build's own target. The Swift SIMD
// kernel it replaced ran as fast in a build for the host, but in a baseline build (`EPISODIC_PORTABLE=1`)
// Swift's `addingProduct` is a libm `fmaf` call per lane: 0.5 GFLOP/s against 35–65 for this one.
#include "CKernels.h"
#include <string.h>

#define PANEL 16
#define KC 256
// Rows of A per L2 block: their chunk of MC × KC floats is 240 KB.
#define MC 240
// Floats of A (m × k) up to which all of it stays in L2 (256 KB): each panel visited once.
#define WHOLE_A 65536
// Chunks between the one multiplied and the one prefetched (1, 2 and 3 measured alike at 10 rows).
#define PREFETCH_AHEAD 2

typedef float v8 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) v8 load8(const float *p) {
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }

static inline __attribute__((always_inline)) v8 splat8(float x) { return (v8){x, x, x, x, x, x, x, x}; }

/// `steps` k steps of R rows (R ≤ 6) into the sums of parity p = 0 … steps − 1: row r of A at
/// `a0 + r·lda` (r < 3) or `a3 + (r − 3)·lda`, the panel's 16 floats per step at `b`.
static inline __attribute__((always_inline)) void
multiply_steps(const int R, const int steps, v8 s[4][6][2], const float *a0, const float *a3, long lda, const float *b) {
    for (int p = 0; p < steps; p++) {
        const v8 w0 = load8(b + p * PANEL), w1 = load8(b + p * PANEL + 8);
        for (int r = 0; r < R; r++) {
            const v8 x = splat8(r < 3 ? a0[r * lda + p] : a3[(r - 3) * lda + p]);
            s[p][r][0] += x * w0;
            s[p][r][1] += x * w1;
        }
    }
}

/// One block of R rows times one 16-column panel over a chunk of kc steps: `a` is the block's first
/// row at the chunk (rows `lda` apart), `b` the panel's chunk (`[k][16]`). Starts from `init` (16
/// floats: the panel's bias, or zeros) when `first`, else from C. Rows of one and two keep sums for
/// several k parities, so that at least eight chains hide the FMA latency. Prefetches one line of
/// `prefetch` per k step, `prefetch_lines` in all.
///
/// Written for the instruction stream, which at six rows is about as long as the FMA ports need:
/// the rows are read through two pointers (rows 0–2 and 3–5) advancing with k, each row an `lda`
/// multiple away in the address mode, and the steps that prefetch run in a loop of their own
/// rather than testing every step. With a pointer per row and a test per step the compiler ran
/// out of registers and reloaded them in the loop (`episodic-bench gemm --rows 30`: 80 → 86 GFLOP/s).
static inline __attribute__((always_inline)) void
block_body(const int R, long kc, const float *a, long lda, const float *b, float *c, long ldc, const float *init, int first,
           const float *prefetch, long prefetch_lines) {
    const int P = R == 1 ? 4 : (R == 2 ? 2 : 1);
    v8 s[4][6][2];
    for (int r = 0; r < R; r++) {
        s[0][r][0] = first ? load8(init) : load8(c + r * ldc);
        s[0][r][1] = first ? load8(init + 8) : load8(c + r * ldc + 8);
        for (int p = 1; p < P; p++) s[p][r][0] = s[p][r][1] = splat8(0);
    }
    const float *a0 = a, *a3 = a + 3 * lda;
    long i = 0;
    const long prefetched = prefetch_lines < kc ? prefetch_lines : kc;
    for (; i + P <= prefetched; i += P, a0 += P, a3 += P, b += P * PANEL) {
        for (int p = 0; p < P; p++) __builtin_prefetch(prefetch + p * PANEL, 0, 3);
        prefetch += P * PANEL;
        multiply_steps(R, P, s, a0, a3, lda, b);
    }
    for (; i + P <= kc; i += P, a0 += P, a3 += P, b += P * PANEL) multiply_steps(R, P, s, a0, a3, lda, b);
    for (; i < kc; i++, a0++, a3++, b += PANEL) multiply_steps(R, 1, s, a0, a3, lda, b);
    for (int r = 0; r < R; r++) {
        for (int p = 1; p < P; p++) {
            s[0][r][0] += s[p][r][0];
            s[0][r][1] += s[p][r][1];
        }
        store8(c + r * ldc, s[0][r][0]);
        store8(c + r * ldc + 8, s[0][r][1]);
    }
    // The lines the unrolled loop did not reach (prefetch_lines past kc, or not a multiple of P).
    for (long line = prefetched / P * P; line < prefetch_lines; line++, prefetch += PANEL) __builtin_prefetch(prefetch, 0, 3);
}

typedef void (*block_fn)(long, const float *, long, const float *, float *, long, const float *, int, const float *, long);

#define EK_BLOCK(R, suffix, attribute)                                                                               \
    attribute static void block##R##suffix(long kc, const float *a, long lda, const float *b, float *c, long ldc,      \
                                           const float *init, int first, const float *prefetch, long lines) {          \
        block_body(R, kc, a, lda, b, c, ldc, init, first, prefetch, lines);                                            \
    }
// The six row counts' kernels for one target, and a table of them by row count.
#define EK_BLOCK_VARIANTS(suffix, attribute)                                                                         \
    EK_BLOCK(1, suffix, attribute)                                                                                    \
    EK_BLOCK(2, suffix, attribute)                                                                                    \
    EK_BLOCK(3, suffix, attribute)                                                                                    \
    EK_BLOCK(4, suffix, attribute)                                                                                    \
    EK_BLOCK(5, suffix, attribute)                                                                                    \
    EK_BLOCK(6, suffix, attribute)                                                                                    \
    static const block_fn blocks##suffix[7] = {0, block1##suffix, block2##suffix, block3##suffix,                    \
                                               block4##suffix, block5##suffix, block6##suffix};

EK_BLOCK_VARIANTS(_portable, )
#if defined(__x86_64__)
EK_BLOCK_VARIANTS(_avx2, __attribute__((target("avx2,fma"))))
#endif

int ek_f32p_path_supported(int path) {
    switch (path) {
    case EK_F32P_PORTABLE: return 1;
#if defined(__x86_64__)
    case EK_F32P_AVX2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

long ek_f32p_panels(long n) { return (n + PANEL - 1) / PANEL; }
long ek_f32p_packed_count(long k, long n) { return ek_f32p_panels(n) * k * PANEL; }

void ek_f32p_pack(const float *source, long k, long n, long row_stride, long column_stride, float *packed) {
    for (long panel = 0; panel < ek_f32p_panels(n); panel++) {
        float *out = packed + panel * k * PANEL;
        const long first = panel * PANEL;
        const long width = n - first < PANEL ? n - first : PANEL;
        for (long i = 0; i < k; i++) {
            const float *src = source + i * row_stride + first * column_stride;
            for (long j = 0; j < width; j++) out[i * PANEL + j] = src[j * column_stride];
            for (long j = width; j < PANEL; j++) out[i * PANEL + j] = 0;
        }
    }
}

/// Rows of an L2 block in blocks of six, then the rest: 7 and 8 rows become 4 + 3 and 4 + 4, not
/// 6 + 1 and 6 + 2 (a lone row would stream the chunk for one row). 6 + 4 measured faster at 10
/// rows than 5 + 5.
static long split_rows(long rows, int *block_rows) {
    long blocks = 0;
    while (rows > 0) {
        const int step = rows == 7 || rows == 8 ? 4 : (rows >= 6 ? 6 : (int)rows);
        block_rows[blocks++] = step;
        rows -= step;
    }
    return blocks;
}

/// What every block of a product shares.
typedef struct {
    const block_fn *kernels;
    const float *a; // the row block's first row
    long lda;
    const float *packed;
    long k, n;
    const float *bias;
    float *c; // the row block's first row
    long ldc;
    float *edge; // 16-column results of the last panel when it is narrower
    long last;   // the last panel of the matrix
    const int *block_rows;
    long blocks, rows;
} product;

/// Every block of rows times the chunk [k0, k0 + KC) of one panel; prefetches `next_lines` lines
/// from `next` meanwhile.
static void panel_chunk(const product *p, long panel, long k0, const float *next, long next_lines) {
    const long kc = p->k - k0 < KC ? p->k - k0 : KC;
    const long first = panel * PANEL;
    const long width = p->n - first < PANEL ? p->n - first : PANEL;
    float init[PANEL] = {0};
    if (p->bias) memcpy(init, p->bias + first, (size_t)width * sizeof(float));
    const float *b = p->packed + panel * p->k * PANEL + k0 * PANEL;
    const int narrow = panel == p->last && width < PANEL;
    float *out = narrow ? p->edge : p->c + first;
    const long ld = narrow ? PANEL : p->ldc;
    for (long j = 0, r = 0; j < p->blocks; j++) {
        // Each block prefetches its share of the lines, so that the memory bus stays busy throughout.
        const long share = (next_lines + p->blocks - 1) / p->blocks, from = j * share;
        const long count = next_lines - from < share ? next_lines - from : share;
        p->kernels[p->block_rows[j]](kc, p->a + r * p->lda + k0, p->lda, b, out + r * ld, ld, init, k0 == 0,
                                     next ? next + from * PANEL : NULL, count > 0 ? count : 0);
        r += p->block_rows[j];
    }
    if (narrow && k0 + KC >= p->k)
        for (long r = 0; r < p->rows; r++) memcpy(p->c + r * p->ldc + first, p->edge + r * PANEL, (size_t)width * sizeof(float));
}

static long chunk_lines(long k, long k0) { return k - k0 < KC ? k - k0 : KC; }

void ek_f32p_gemm(int path, long m, const float *a, long lda, const float *packed, long k, long n, const float *bias,
                  float *c, long ldc, long panel_begin, long panel_end) {
    const block_fn *kernels = blocks_portable;
#if defined(__x86_64__)
    if (path == EK_F32P_AVX2) kernels = blocks_avx2;
#else
    (void)path;
#endif
    if (m <= 0 || panel_begin >= panel_end) return;
    const long first = panel_begin * PANEL, end = panel_end * PANEL < n ? panel_end * PANEL : n;
    if (k == 0) {
        for (long r = 0; r < m; r++)
            for (long j = first; j < end; j++) c[r * ldc + j] = bias ? bias[j] : 0;
        return;
    }
    // The rows of a single text fit in L2: each panel is visited once, its chunks in order, so that
    // the weights stream from memory contiguously. More rows go MC at a time, every panel visited
    // per chunk, so that the rows' chunk stays in L2 while the panels stream past it.
    const int whole = m <= MC && m * k <= WHOLE_A;
    const long mc = m < MC ? m : MC;
    float edge[MC * PANEL];
    int block_rows[MC / 4 + 2];
    for (long row = 0; row < m; row += mc) {
        const long rows = m - row < mc ? m - row : mc;
        product p = {kernels, a + row * lda, lda, packed, k, n, bias, c + row * ldc, ldc, edge, ek_f32p_panels(n) - 1,
                     block_rows, 0, rows};
        p.blocks = split_rows(rows, block_rows);
        if (whole) {
            // The panels' chunks in the order visited; the one PREFETCH_AHEAD further is prefetched.
            const long chunks = (k + KC - 1) / KC, visits = (panel_end - panel_begin) * chunks;
            for (long visit = 0; visit < visits; visit++) {
                const long panel = panel_begin + visit / chunks, k0 = visit % chunks * KC;
                const long ahead = visit + PREFETCH_AHEAD;
                const float *next = ahead < visits ? packed + (panel_begin + ahead / chunks) * k * PANEL + ahead % chunks * KC * PANEL : NULL;
                const long lines = next ? chunk_lines(k, ahead % chunks * KC) : 0;
                panel_chunk(&p, panel, k0, next, lines);
            }
        } else {
            for (long k0 = 0; k0 < k; k0 += KC)
                for (long panel = panel_begin; panel < panel_end; panel++) {
                    // The chunk visited next: this chunk of the next panel, or the next chunk of the first.
                    const float *next = panel + 1 < panel_end ? packed + (panel + 1) * k * PANEL + k0 * PANEL
                                        : k0 + KC < k     ? packed + panel_begin * k * PANEL + (k0 + KC) * PANEL
                                                          : NULL;
                    const long lines = next ? chunk_lines(k, panel + 1 < panel_end ? k0 : k0 + KC) : 0;
                    panel_chunk(&p, panel, k0, next, lines);
                }
        }
    }
}
