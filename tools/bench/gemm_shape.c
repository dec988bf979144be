// Times the x86 int8 VNNI GEMM (swk_gemm_qs8_avx512vnni) alone on given shapes, the way a layer calls
// it (compensation made once, float32 requantization), so a kernel change can be weighed on one
// layer's shape without a model. Built and run by tools/bench/gemm-shape; a benchmark, not a test.
#include "CSwiftletKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: gemm_shape M N K [RUNS]\n");
        return 2;
    }
    const size_t m = strtoul(argv[1], 0, 10), n = strtoul(argv[2], 0, 10), k = strtoul(argv[3], 0, 10);
    const int runs = argc > 4 ? atoi(argv[4]) : 300;
    const size_t kq = (k + 3) / 4, block = 96 + 32 * kq, blocks = (n + 7) / 8;
    uint8_t *w = aligned_alloc(64, (blocks * block + 63) / 64 * 64);
    memset(w, 0, blocks * block);
    for (size_t b = 0; b < blocks; b++) {
        int32_t *bias = (int32_t *)(w + b * block);
        float *scale = (float *)(w + b * block + 32);
        for (int i = 0; i < 8; i++) {
            bias[i] = i * 1000 - 3000;
            scale[i] = 0.0013f * (i + 1);
        }
        for (size_t i = 0; i < 32 * kq; i++) w[b * block + 96 + i] = (uint8_t)(i * 7 + b);
    }
    int8_t *a = aligned_alloc(64, (m * k + 63) / 64 * 64 + 64), *c = aligned_alloc(64, (m * n + 63) / 64 * 64 + 64);
    for (size_t i = 0; i < m * k; i++) a[i] = (int8_t)(i * 13);
    int16_t *scratch = aligned_alloc(64, ((size_t)SWK_QS8_MR * kq * 8 + SWK_QS8_SLACK + 63) / 64 * 64);
    int32_t *comps = aligned_alloc(64, (blocks * 32 + 63) / 64 * 64);
    swk_gemm_qs8_vnni_compensation(n, k, w, comps);
    swk_qs8_output out = {.zero_point = 3, .lo = -128, .hi = 127, .input_zero_point = 0, .float32 = 1};
    double best = 1e9;
    for (int r = 0; r < runs; r++) {
        const double t0 = now();
        swk_gemm_qs8_avx512vnni(m, n, k, a, k, w, c, n, &out, scratch, comps);
        const double t = now() - t0;
        if (t < best) best = t;
    }
    printf("{\"m\": %zu, \"n\": %zu, \"k\": %zu, \"min_ms\": %.4f, \"gmacs\": %.1f}\n", m, n, k, best * 1e3,
           (double)m * n * k / best / 1e9);
    return 0;
}
